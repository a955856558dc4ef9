//! VOS against a reference model.
//!
//! The model keeps every operation with its epoch and answers reads by brute force straight
//! from DAOS's visibility rule; the real pool (index, log, checkpoints, reopen) must agree on
//! every read at every epoch, before and after recovery.

use common::open_pool;
use daos_types::{ObjectClass, ObjectId, ObjectType, Uuid};
use daos_vos::index::{FetchIod, KeyLevel, Source};
use daos_vos::record::{ExtentEntry, IodEntry, IodRecord, PunchTarget, SingleEntry, Stored};
use daos_vos::{UpdateIod, VosPool};

mod common;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Op {
    Single {
        dkey: u8,
        akey: u8,
        value: Option<Vec<u8>>,
    },
    Array {
        dkey: u8,
        akey: u8,
        lo: u64,
        data: Option<Vec<u8>>,
        len: u64,
    },
    PunchObject,
    PunchDkey {
        dkey: u8,
    },
    PunchAkey {
        dkey: u8,
        akey: u8,
    },
    Checkpoint,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..4;
    prop_oneof![
        4 => (key.clone(), key.clone(), proptest::option::weighted(0.85, proptest::collection::vec(any::<u8>(), 1..40)))
            .prop_map(|(dkey, akey, value)| Op::Single { dkey, akey: akey + 10, value }),
        4 => (key.clone(), key.clone(), 0u64..64, proptest::option::weighted(0.8, proptest::collection::vec(any::<u8>(), 1..24)), 1u64..24)
            .prop_map(|(dkey, akey, lo, data, len)| {
                let len = data.as_ref().map_or(len, |d| d.len() as u64);
                Op::Array { dkey, akey: akey + 20, lo, data, len }
            }),
        1 => Just(Op::PunchObject),
        1 => key.clone().prop_map(|dkey| Op::PunchDkey { dkey }),
        1 => (key.clone(), 0u8..8).prop_map(|(dkey, akey)| Op::PunchAkey { dkey, akey: if akey < 4 { akey + 10 } else { akey + 16 } }),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
    ]
}

/// Every applied operation with its epoch.
#[derive(Default)]
struct Model {
    ops: Vec<(u64, Op)>,
}

impl Model {
    fn floor(&self, dkey: u8, akey: u8, epoch: u64) -> u64 {
        self.ops
            .iter()
            .filter(|(e, _)| *e <= epoch)
            .filter(|(_, op)| match op {
                Op::PunchObject => true,
                Op::PunchDkey { dkey: d } => *d == dkey,
                Op::PunchAkey { dkey: d, akey: a } => *d == dkey && *a == akey,
                _ => false,
            })
            .map(|(e, _)| *e)
            .max()
            .unwrap_or(0)
    }

    fn single(&self, dkey: u8, akey: u8, epoch: u64) -> Option<Vec<u8>> {
        let floor = self.floor(dkey, akey, epoch);
        self.ops
            .iter()
            .rev()
            .filter(|(e, _)| *e > floor && *e <= epoch)
            .find_map(|(_, op)| match op {
                Op::Single {
                    dkey: d,
                    akey: a,
                    value,
                } if *d == dkey && *a == akey => Some(value.clone()),
                _ => None,
            })
            .flatten()
    }

    /// Bytes of records 0..80 (None = no data anywhere visible, i.e. the akey is absent).
    fn array(&self, dkey: u8, akey: u8, epoch: u64) -> (Vec<u8>, bool) {
        let floor = self.floor(dkey, akey, epoch);
        let mut out = vec![0u8; 100];
        let mut set = [false; 100];
        let mut any = false;
        for (e, op) in self.ops.iter().rev() {
            if *e <= floor || *e > epoch {
                continue;
            }
            if let Op::Array {
                dkey: d,
                akey: a,
                lo,
                data,
                len,
            } = op
            {
                if *d != dkey || *a != akey {
                    continue;
                }
                for i in *lo..lo + len {
                    let i = i as usize;
                    if !set[i] {
                        set[i] = true;
                        if let Some(data) = data {
                            out[i] = data[i - *lo as usize];
                            any = true;
                        }
                    }
                }
            }
        }
        (out, any)
    }
}

fn oid() -> ObjectId {
    ObjectId::new(42, 0).encode(ObjectType::MultiUint64, ObjectClass::S1)
}

fn key(k: u8) -> Vec<u8> {
    u64::from(k).to_le_bytes().to_vec()
}

fn read_plan_bytes(plan: &daos_vos::IodPlan) -> Vec<u8> {
    let mut out = vec![0u8; plan.len as usize];
    for piece in &plan.pieces {
        let dst = &mut out[piece.out as usize..(piece.out + piece.len) as usize];
        match &piece.source {
            Source::Zero => dst.fill(0),
            Source::Single { version, offset } => match &version.data {
                Stored::Inline(b) => {
                    dst.copy_from_slice(&b[*offset as usize..*offset as usize + dst.len()])
                }
                other => panic!("unexpected {other:?}"),
            },
            Source::Extent { extent, offset, .. } => match &extent.data {
                Stored::Inline(b) => {
                    dst.copy_from_slice(&b[*offset as usize..*offset as usize + dst.len()])
                }
                other => panic!("unexpected {other:?}"),
            },
        }
    }
    out
}

fn check(pool: &VosPool, model: &Model, cont: &Uuid, epochs: &[u64]) -> Result<(), TestCaseError> {
    for &epoch in epochs {
        let mut present_dkeys = BTreeSet::new();
        for d in 0..4u8 {
            for a in 10..14u8 {
                let iod = FetchIod {
                    akey: &key(a),
                    array: false,
                    size: 0,
                    recxs: &[],
                };
                let (plans, _) = pool.fetch(cont, oid(), 0, epoch, &key(d), &[iod]).unwrap();
                let expected = model.single(d, a, epoch);
                let got = (plans[0].size > 0).then(|| read_plan_bytes(&plans[0]));
                prop_assert_eq!(&got, &expected, "single d{} a{} at {}", d, a, epoch);
                if expected.is_some() {
                    present_dkeys.insert(d);
                }
            }
            for a in 20..24u8 {
                let recxs = [(0u64, 100u64)];
                let iod = FetchIod {
                    akey: &key(a),
                    array: true,
                    size: 1,
                    recxs: &recxs,
                };
                let (plans, _) = pool.fetch(cont, oid(), 0, epoch, &key(d), &[iod]).unwrap();
                let (expected, any) = model.array(d, a, epoch);
                prop_assert_eq!(
                    read_plan_bytes(&plans[0]),
                    expected,
                    "array d{} a{} at {}",
                    d,
                    a,
                    epoch
                );
                if any {
                    present_dkeys.insert(d);
                }
                prop_assert_eq!(
                    pool.akey_exists(cont, oid(), 0, &key(d), &key(a), epoch)
                        .unwrap(),
                    any,
                    "akey exists d{} a{} at {}",
                    d,
                    a,
                    epoch
                );
            }
        }
        // Enumerate dkeys two at a time; the union must be exactly the dkeys with data.
        let mut anchor = Vec::new();
        let mut listed = BTreeSet::new();
        loop {
            let page = pool
                .list_keys(
                    cont,
                    oid(),
                    0,
                    epoch,
                    KeyLevel::Dkeys,
                    None,
                    &anchor,
                    2,
                    1 << 20,
                )
                .unwrap();
            for k in &page.keys {
                prop_assert!(listed.insert(k[0]), "dkey listed twice");
            }
            if page.eof {
                break;
            }
            anchor = page.anchor;
        }
        prop_assert_eq!(listed, present_dkeys, "dkey listing at {}", epoch);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn pool_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let cont = Uuid::from_u128(1);
        let mut pool = open_pool(dir.path(), true);
        pool.create_container(cont);
        let mut model = Model::default();
        let mut epoch = 100u64;
        let mut epochs = vec![50u64];
        for op in ops {
            epoch += 10;
            match &op {
                Op::Single { dkey, akey, value } => {
                    let entry = match value {
                        Some(v) => SingleEntry { size: v.len() as u64, data: Stored::Inline(Arc::from(&v[..])), csum: None },
                        None => SingleEntry { size: 0, data: Stored::Hole, csum: None },
                    };
                    let iod = UpdateIod { record: IodRecord { akey: key(*akey), entry: IodEntry::Single(entry) }, flags: 0 };
                    pool.update(None, cont, oid(), 0, epoch, 0, key(*dkey), vec![iod], 0).unwrap();
                }
                Op::Array { dkey, akey, lo, data, len } => {
                    let stored = match data {
                        Some(d) => Stored::Inline(Arc::from(&d[..])),
                        None => Stored::Hole,
                    };
                    let entry = IodEntry::Array {
                        rsize: 1,
                        extents: vec![ExtentEntry { lo: *lo, hi: lo + len, data: stored, csums: Arc::from(&[][..]) }],
                    };
                    let iod = UpdateIod { record: IodRecord { akey: key(*akey), entry }, flags: 0 };
                    pool.update(None, cont, oid(), 0, epoch, 0, key(*dkey), vec![iod], 0).unwrap();
                }
                Op::PunchObject => {
                    pool.punch(None,cont, oid(), 0, epoch, 0, PunchTarget::Object).unwrap();
                }
                Op::PunchDkey { dkey } => {
                    pool.punch(None,cont, oid(), 0, epoch, 0, PunchTarget::Dkeys(vec![key(*dkey)])).unwrap();
                }
                Op::PunchAkey { dkey, akey } => {
                    pool.punch(None,cont, oid(), 0, epoch, 0, PunchTarget::Akeys { dkey: key(*dkey), akeys: vec![key(*akey)] }).unwrap();
                }
                Op::Checkpoint => pool.checkpoint_blocking().unwrap(),
                Op::Reopen => {
                    pool.flush_blocking().unwrap();
                    drop(pool);
                    pool = open_pool(dir.path(), false);
                }
            }
            model.ops.push((epoch, op));
            epochs.push(epoch);
            epochs.push(epoch + 5);
        }
        epochs.push(u64::MAX);
        check(&pool, &model, &cont, &epochs)?;
        pool.flush_blocking().unwrap();
        drop(pool);
        let pool = open_pool(dir.path(), false);
        check(&pool, &model, &cont, &epochs)?;
    }
}

#[test]
fn conditional_updates() {
    let dir = tempfile::tempdir().unwrap();
    let cont = Uuid::from_u128(1);
    let mut pool = open_pool(dir.path(), true);
    let single = |v: &[u8]| UpdateIod {
        record: IodRecord {
            akey: key(10),
            entry: IodEntry::Single(SingleEntry {
                size: v.len() as u64,
                data: Stored::Inline(Arc::from(v)),
                csum: None,
            }),
        },
        flags: 0,
    };
    use daos_types::Der;
    use daos_vos::pool::{COND_AKEY_UPDATE, COND_DKEY_INSERT, COND_DKEY_UPDATE, COND_PUNCH};
    let err = pool
        .update(
            None,
            cont,
            oid(),
            0,
            10,
            COND_DKEY_UPDATE,
            key(1),
            vec![single(b"x")],
            0,
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);
    pool.update(
        None,
        cont,
        oid(),
        0,
        20,
        COND_DKEY_INSERT,
        key(1),
        vec![single(b"x")],
        0,
    )
    .unwrap();
    let err = pool
        .update(
            None,
            cont,
            oid(),
            0,
            30,
            COND_DKEY_INSERT,
            key(1),
            vec![single(b"y")],
            0,
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Exist);
    pool.update(
        None,
        cont,
        oid(),
        0,
        40,
        COND_AKEY_UPDATE,
        key(1),
        vec![single(b"z")],
        0,
    )
    .unwrap();
    let err = pool
        .punch(
            None,
            cont,
            oid(),
            0,
            50,
            COND_PUNCH,
            PunchTarget::Dkeys(vec![key(2)]),
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);
    pool.punch(
        None,
        cont,
        oid(),
        0,
        60,
        COND_PUNCH,
        PunchTarget::Dkeys(vec![key(1)]),
    )
    .unwrap();
    assert!(!pool
        .dkey_exists(&cont, oid(), 0, &key(1), u64::MAX)
        .unwrap());
    assert!(
        pool.dkey_exists(&cont, oid(), 0, &key(1), 45).unwrap(),
        "history stays readable"
    );
    // A single value cannot become an array.
    let array = UpdateIod {
        record: IodRecord {
            akey: key(10),
            entry: IodEntry::Array {
                rsize: 1,
                extents: vec![ExtentEntry {
                    lo: 0,
                    hi: 1,
                    data: Stored::Inline(Arc::from(&b"a"[..])),
                    csums: Arc::from(&[][..]),
                }],
            },
        },
        flags: 0,
    };
    assert_eq!(
        pool.update(None, cont, oid(), 0, 70, 0, key(3), vec![single(b"s")], 0)
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(
        pool.update(None, cont, oid(), 0, 80, 0, key(3), vec![array], 0)
            .unwrap_err()
            .der(),
        Der::Inval
    );
}

fn apply_ops(pool: &mut VosPool, cont: Uuid, ops: &[Op], model: &mut Model, epochs: &mut Vec<u64>) {
    let mut epoch = 100u64;
    for op in ops {
        epoch += 10;
        match op {
            Op::Single { dkey, akey, value } => {
                let entry = match value {
                    Some(v) => SingleEntry {
                        size: v.len() as u64,
                        data: Stored::Inline(Arc::from(&v[..])),
                        csum: None,
                    },
                    None => SingleEntry {
                        size: 0,
                        data: Stored::Hole,
                        csum: None,
                    },
                };
                let iod = UpdateIod {
                    record: IodRecord {
                        akey: key(*akey),
                        entry: IodEntry::Single(entry),
                    },
                    flags: 0,
                };
                pool.update(None, cont, oid(), 0, epoch, 0, key(*dkey), vec![iod], 0)
                    .unwrap();
            }
            Op::Array {
                dkey,
                akey,
                lo,
                data,
                len,
            } => {
                let stored = match data {
                    Some(d) => Stored::Inline(Arc::from(&d[..])),
                    None => Stored::Hole,
                };
                let entry = IodEntry::Array {
                    rsize: 1,
                    extents: vec![ExtentEntry {
                        lo: *lo,
                        hi: lo + len,
                        data: stored,
                        csums: Arc::from(&[][..]),
                    }],
                };
                let iod = UpdateIod {
                    record: IodRecord {
                        akey: key(*akey),
                        entry,
                    },
                    flags: 0,
                };
                pool.update(None, cont, oid(), 0, epoch, 0, key(*dkey), vec![iod], 0)
                    .unwrap();
            }
            Op::PunchObject => {
                pool.punch(None, cont, oid(), 0, epoch, 0, PunchTarget::Object)
                    .unwrap();
            }
            Op::PunchDkey { dkey } => {
                pool.punch(
                    None,
                    cont,
                    oid(),
                    0,
                    epoch,
                    0,
                    PunchTarget::Dkeys(vec![key(*dkey)]),
                )
                .unwrap();
            }
            Op::PunchAkey { dkey, akey } => {
                pool.punch(
                    None,
                    cont,
                    oid(),
                    0,
                    epoch,
                    0,
                    PunchTarget::Akeys {
                        dkey: key(*dkey),
                        akeys: vec![key(*akey)],
                    },
                )
                .unwrap();
            }
            Op::Checkpoint | Op::Reopen => continue,
        }
        model.ops.push((epoch, op.clone()));
        epochs.push(epoch);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn aggregation_keeps_every_retained_read(
        ops in proptest::collection::vec(op(), 1..50),
        snapshot_picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        boundary_pick in any::<proptest::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cont = Uuid::from_u128(1);
        let mut pool = open_pool(dir.path(), true);
        pool.create_container(cont);
        let mut model = Model::default();
        let mut epochs = Vec::new();
        apply_ops(&mut pool, cont, &ops, &mut model, &mut epochs);
        prop_assume!(!epochs.is_empty());
        let mut snapshots: Vec<u64> = snapshot_picks.iter().map(|i| *i.get(&epochs) + 5).collect();
        snapshots.sort_unstable();
        snapshots.dedup();
        let boundary = *boundary_pick.get(&epochs) + 5;
        let (lsns, next) = pool.aggregate(cont, &snapshots, boundary, None, usize::MAX);
        prop_assert!(next.is_none());
        // Every snapshot and every epoch from the boundary on still reads the same.
        let mut points: Vec<u64> = snapshots.clone();
        points.extend(epochs.iter().copied().filter(|e| *e >= boundary));
        points.push(boundary);
        points.push(u64::MAX);
        check(&pool, &model, &cont, &points)?;
        // A second pass finds nothing more to do.
        let (again, _) = pool.aggregate(cont, &snapshots, boundary, None, usize::MAX);
        prop_assert!(again.is_empty() || !lsns.is_empty());
        pool.flush_blocking().unwrap();
        drop(pool);
        let pool = open_pool(dir.path(), false);
        check(&pool, &model, &cont, &points)?;
    }
}

#[test]
fn aggregation_reclaims_overwritten_blob_space() {
    use daos_vos::record::Stored;
    let dir = tempfile::tempdir().unwrap();
    let cont = Uuid::from_u128(1);
    let mut pool = open_pool(dir.path(), true);
    pool.create_container(cont);
    let free_at_start = pool.space().nvme_free;
    // Ten overwrites of a 64 KiB value stored in the blob (no real data file needed: the
    // index and allocator are what is checked here).
    for i in 0..10u64 {
        let phys = pool.allocate(65536).unwrap();
        let entry = SingleEntry {
            size: 65536,
            data: Stored::Blob { phys },
            csum: None,
        };
        let iod = UpdateIod {
            record: IodRecord {
                akey: key(10),
                entry: IodEntry::Single(entry),
            },
            flags: 0,
        };
        pool.update(None, cont, oid(), 0, 100 + i, 0, key(1), vec![iod], 0)
            .unwrap();
    }
    pool.flush_blocking().unwrap();
    assert_eq!(pool.space().nvme_free, free_at_start - 10 * 65536);
    let (lsns, _) = pool.aggregate(cont, &[], 1000, None, usize::MAX);
    assert_eq!(lsns.len(), 1);
    pool.flush_blocking().unwrap();
    assert_eq!(
        pool.space().nvme_free,
        free_at_start - 65536,
        "nine overwritten values reclaimed"
    );
    // With a snapshot in the middle, the version it sees is kept.
    for i in 0..3u64 {
        let phys = pool.allocate(65536).unwrap();
        let entry = SingleEntry {
            size: 65536,
            data: Stored::Blob { phys },
            csum: None,
        };
        let iod = UpdateIod {
            record: IodRecord {
                akey: key(10),
                entry: IodEntry::Single(entry),
            },
            flags: 0,
        };
        pool.update(None, cont, oid(), 0, 2000 + i, 0, key(1), vec![iod], 0)
            .unwrap();
    }
    pool.aggregate(cont, &[2000], 3000, None, usize::MAX);
    pool.flush_blocking().unwrap();
    assert_eq!(
        pool.space().nvme_free,
        free_at_start - 2 * 65536,
        "snapshot's version and the latest remain"
    );
}
