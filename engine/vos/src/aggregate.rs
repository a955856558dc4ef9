//! Aggregation: reclaiming versions no retained epoch can see.
//!
//! Rule (DAOS `src/vos/README.md`, aggregation): versions newer than the boundary `B` are
//! untouched. A version at or below `B` is kept only if it is what a read sees at some
//! retained read point: each snapshot at or below `B`, and `B` itself (which stands for every
//! later read). Everything else is dropped and its blob space released. Tombstones (punched
//! values and extents) and punch markers are dropped once nothing older remains for them to
//! hide. Reads at any snapshot, and at any epoch at or above `B`, return exactly what they
//! returned before.
//!
//! Aggregation only plans: it returns [`AggregateRecord`]s naming what to drop, which the pool
//! logs and applies like any other change, so recovery never re-runs this logic.

use crate::index::{AkeyIndex, ArrayValue, Index, ObjectIndex, Punch, Value};
use crate::record::{AggChange, AggregateRecord};
use daos_types::{Epoch, ObjectId, Uuid};
use std::collections::BTreeSet;
use std::ops::Bound;

fn floor_at(levels: &[&[Punch]], point: Epoch) -> Epoch {
    levels
        .iter()
        .filter_map(|punches| {
            punches
                .iter()
                .rev()
                .find(|p| p.epoch <= point)
                .map(|p| p.epoch)
        })
        .max()
        .unwrap_or(0)
}

/// Versions of one akey to drop, and punches of it to drop.
fn plan_akey(
    akey: &AkeyIndex,
    ancestors: &[&[Punch]],
    points: &[Epoch],
    boundary: Epoch,
    dkey: &[u8],
    akey_bytes: &[u8],
    out: &mut Vec<AggChange>,
) {
    let mut levels: Vec<&[Punch]> = ancestors.to_vec();
    levels.push(&akey.punches);
    match &akey.value {
        Value::None => {}
        Value::Single(versions) => {
            let mut kept = BTreeSet::new();
            for &point in points {
                let floor = floor_at(&levels, point);
                if let Some(v) = versions
                    .iter()
                    .rev()
                    .find(|v| v.epoch > floor && v.epoch <= point)
                {
                    kept.insert(v.lsn);
                }
            }
            // The oldest kept version, if a tombstone, hides nothing older (all older ones
            // are dropped), so it can go too.
            let oldest_kept = versions.iter().find(|v| kept.contains(&v.lsn));
            if let Some(v) = oldest_kept {
                if v.data.is_hole() && v.epoch <= boundary {
                    kept.remove(&v.lsn);
                }
            }
            for v in versions
                .iter()
                .filter(|v| v.epoch <= boundary && !kept.contains(&v.lsn))
            {
                out.push(AggChange::DropSingle {
                    dkey: dkey.to_vec(),
                    akey: akey_bytes.to_vec(),
                    lsn: v.lsn,
                });
            }
        }
        Value::Array(array) => plan_array(array, &levels, points, boundary, dkey, akey_bytes, out),
    }
}

fn plan_array(
    array: &ArrayValue,
    levels: &[&[Punch]],
    points: &[Epoch],
    boundary: Epoch,
    dkey: &[u8],
    akey: &[u8],
    out: &mut Vec<AggChange>,
) {
    let old: Vec<_> = array
        .extents
        .values()
        .filter(|x| x.epoch <= boundary)
        .collect();
    if old.is_empty() {
        return;
    }
    let (lo, hi) = (
        old.iter().map(|x| x.lo).min().unwrap_or(0),
        array.extents.values().map(|x| x.hi).max().unwrap_or(0),
    );
    // An extent is visible at a point if it supplies some record there.
    let mut kept: BTreeSet<(u64, Epoch, u64)> = BTreeSet::new();
    let mut hole_needed: BTreeSet<(u64, Epoch, u64)> = BTreeSet::new();
    for &point in points {
        let floor = floor_at(levels, point);
        for x in array.visible_extents(lo, hi, floor, point) {
            kept.insert((x.lo, x.epoch, x.lsn));
        }
    }
    // A visible hole is needed only if some older kept data extent lies under it.
    for x in old
        .iter()
        .filter(|x| x.data.is_hole() && kept.contains(&(x.lo, x.epoch, x.lsn)))
    {
        let hides = old.iter().any(|y| {
            !y.data.is_hole()
                && y.epoch < x.epoch
                && y.lo < x.hi
                && y.hi > x.lo
                && kept.contains(&(y.lo, y.epoch, y.lsn))
        });
        if hides {
            hole_needed.insert((x.lo, x.epoch, x.lsn));
        }
    }
    for x in old {
        let key = (x.lo, x.epoch, x.lsn);
        let keep = if x.data.is_hole() {
            hole_needed.contains(&key)
        } else {
            kept.contains(&key)
        };
        if !keep {
            out.push(AggChange::DropExtent {
                dkey: dkey.to_vec(),
                akey: akey.to_vec(),
                lo: x.lo,
                epoch: x.epoch,
                lsn: x.lsn,
            });
        }
    }
}

/// Whether anything at or below `epoch` remains under an akey after `drops`.
fn akey_has_old(akey: &AkeyIndex, epoch: Epoch, dropped: &BTreeSet<u64>) -> bool {
    match &akey.value {
        Value::None => false,
        Value::Single(v) => v
            .iter()
            .any(|v| v.epoch <= epoch && !dropped.contains(&v.lsn)),
        Value::Array(a) => a
            .extents
            .values()
            .any(|x| x.epoch <= epoch && !dropped.contains(&x.lsn)),
    }
}

/// Plans aggregation of one object shard. `snapshots` are the container's snapshot epochs;
/// `boundary` is the highest epoch that may be aggregated.
pub fn plan_object(
    cont: Uuid,
    oid: ObjectId,
    shard: u32,
    object: &ObjectIndex,
    snapshots: &[Epoch],
    boundary: Epoch,
) -> Option<AggregateRecord> {
    let mut points: Vec<Epoch> = snapshots
        .iter()
        .copied()
        .filter(|s| *s <= boundary)
        .collect();
    points.push(boundary);
    points.sort_unstable();
    points.dedup();
    let mut changes = Vec::new();
    let mut dropped_lsns = BTreeSet::new();
    for (dkey, dk) in &object.dkeys {
        let ancestors: [&[Punch]; 2] = [&object.punches, &dk.punches];
        for (akey, ak) in &dk.akeys {
            let start = changes.len();
            plan_akey(
                ak,
                &ancestors,
                &points,
                boundary,
                &dkey.bytes,
                &akey.bytes,
                &mut changes,
            );
            for change in &changes[start..] {
                match change {
                    AggChange::DropSingle { lsn, .. } | AggChange::DropExtent { lsn, .. } => {
                        dropped_lsns.insert(*lsn);
                    }
                    AggChange::DropPunch { .. } => {}
                }
            }
            // Akey punches at or below the boundary that hide nothing any more.
            for punch in ak.punches.iter().filter(|p| p.epoch <= boundary) {
                if !akey_has_old(ak, punch.epoch, &dropped_lsns) {
                    changes.push(AggChange::DropPunch {
                        dkey: Some(dkey.bytes.to_vec()),
                        akey: Some(akey.bytes.to_vec()),
                        epoch: punch.epoch,
                    });
                }
            }
        }
        for punch in dk.punches.iter().filter(|p| p.epoch <= boundary) {
            let hides = dk
                .akeys
                .values()
                .any(|ak| akey_has_old(ak, punch.epoch, &dropped_lsns));
            if !hides {
                changes.push(AggChange::DropPunch {
                    dkey: Some(dkey.bytes.to_vec()),
                    akey: None,
                    epoch: punch.epoch,
                });
            }
        }
    }
    for punch in object.punches.iter().filter(|p| p.epoch <= boundary) {
        let hides = object.dkeys.values().any(|dk| {
            dk.akeys
                .values()
                .any(|ak| akey_has_old(ak, punch.epoch, &dropped_lsns))
        });
        if !hides {
            changes.push(AggChange::DropPunch {
                dkey: None,
                akey: None,
                epoch: punch.epoch,
            });
        }
    }
    (!changes.is_empty()).then_some(AggregateRecord {
        cont,
        oid,
        shard,
        changes,
    })
}

/// Plans aggregation of a container's objects starting at `cursor` (inclusive), visiting at
/// most `budget` objects. Returns the records and where to continue (`None` when done).
pub fn plan_container(
    index: &Index,
    cont: Uuid,
    snapshots: &[Epoch],
    boundary: Epoch,
    cursor: Option<(ObjectId, u32)>,
    budget: usize,
) -> (Vec<AggregateRecord>, Option<(ObjectId, u32)>) {
    let Some(container) = index.containers.get(&cont) else {
        return (Vec::new(), None);
    };
    let mut records = Vec::new();
    let start = cursor.map_or(Bound::Unbounded, Bound::Included);
    let objects = container.objects.range((start, Bound::Unbounded));
    for (visited, (&(oid, shard), object)) in objects.enumerate() {
        if visited == budget {
            return (records, Some((oid, shard)));
        }
        if let Some(record) = plan_object(cont, oid, shard, object, snapshots, boundary) {
            records.push(record);
        }
    }
    (records, None)
}
