//! Who pushes what in a rebuild, computed from one layout (the same map on every engine, so
//! every shard is pushed by exactly one target): pure rules shared by the engine's rebuild
//! (`daos_engine::rebuild`) and the deterministic simulation in `tests/simulation.rs`.
//!
//! Sources are *readable places* ([`Layout::readable_places`]): a shard's own place when it is
//! complete, else its shadow (where the base layout held it, on a live target).
//! - **Replicated** (`RP_n`): in each group with shards marked `rebuilding`, the first
//!   readable place pushes its copy to every rebuilding shard of the group.
//! - **Erasure-coded** (`EC_kPp`): the first readable parity place (or, when none is
//!   readable, every readable data place) decodes every rebuilding shard of the group from
//!   `k` readable places ([`ec_sources`]).
//! - **Unreplicated** (`S1`, `SX`): a moving shard's shadow (its old place on a live target,
//!   draining or holding a copy that moves back to a returning target) hands it over.
//! - A target returning to the pool drops each copy that will be pushed back to it
//!   ([`refilled`]).
//!
//! A finished job makes every shard its layouts place count as complete, so every shard a
//! layout marks `rebuilding` must have a pusher: placement's rule 6 makes a rebuilding shard
//! of a group without enough readable places unavailable instead (except a returning last
//! copy, which needs no push). The property test `every_rebuilding_shard_is_refilled` in the
//! crate checks this over random histories.

use crate::{Layout, ShardLocation};
use daos_types::oclass::Redundancy;

/// Where the target `me` must push its copy of `shard`: nowhere unless `me` holds the
/// shard's readable copy in `layout` (its own place when readable, else its shadow; see
/// [`Layout::readable_places`]) and the rules of the module documentation make that copy the
/// group's pusher.
pub fn destinations(layout: &Layout, shard: u32, me: (u32, u32)) -> Vec<ShardLocation> {
    let g = layout.class.redundancy.group_size().max(1);
    let index = (shard / g) as usize;
    let Some(group) = layout.groups.get(index) else {
        return Vec::new();
    };
    let Some(position) = group.iter().position(|s| s.shard == shard) else {
        return Vec::new();
    };
    let places = layout.readable_places(index);
    if places[position].is_none_or(|p| (p.rank, p.target) != me) {
        return Vec::new();
    }
    let pushes = match layout.class.redundancy {
        // The first readable copy, be it a shard's place or its shadow.
        Redundancy::Replicated { .. } => places.iter().position(Option::is_some) == Some(position),
        Redundancy::ErasureCoded { data, .. } => {
            let k = (data as usize).min(group.len());
            match places[k..].iter().position(Option::is_some) {
                Some(parity) => position == k + parity,
                None => position < k,
            }
        }
        // The holder of a moving shard's old place hands it over.
        Redundancy::None => true,
    };
    if !pushes {
        return Vec::new();
    }
    group
        .iter()
        .filter(|s| s.rebuilding && s.available)
        .copied()
        .collect()
}

/// Up to `k` readable places of erasure-coded `group` to decode from, by position: each
/// shard's own place when readable, else its shadow (its complete place before the move,
/// which keeps receiving writes until the rebuild finishes; see `Layout::shadows`). A group
/// with fewer than `k` has lost data beyond what rebuild can restore now, and the job fails
/// rather than guess.
pub fn ec_sources(layout: &Layout, group: usize, k: usize) -> Vec<(usize, ShardLocation)> {
    layout
        .readable_places(group)
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .take(k)
        .collect()
}

/// Whether a rebuild of `layout` will push `shard` to the target `me`: the shard is placed
/// there, rebuilding, and [`destinations`] makes some readable shard of its group, or the live
/// holder of its old place, push to it (for an erasure-coded group, from `k` readable places,
/// [`ec_sources`]). A returning target drops each such copy before the job (its own is stale;
/// versions the survivors aggregated away or punched must not reappear).
pub fn refilled(layout: &Layout, shard: u32, me: (u32, u32)) -> bool {
    let g = layout.class.redundancy.group_size().max(1);
    let Some(group) = layout.groups.get((shard / g) as usize) else {
        return false;
    };
    let Some(mine) = group.iter().find(|s| s.shard == shard) else {
        return false;
    };
    if (mine.rank, mine.target) != me || !mine.rebuilding || !mine.available {
        return false;
    }
    if let Redundancy::ErasureCoded { data, .. } = layout.class.redundancy {
        if ec_sources(layout, (shard / g) as usize, data as usize).len() < data as usize {
            return false;
        }
    }
    layout
        .readable_places((shard / g) as usize)
        .into_iter()
        .flatten()
        .any(|s| {
            destinations(layout, s.shard, (s.rank, s.target))
                .iter()
                .any(|d| d.shard == shard)
        })
}

/// Whether `me`'s copy of object shard `shard` is an orphan to reclaim (DAOS's rebuild
/// reclaim): the layout places that shard on another target, no shard of the object is moving
/// (so no copy off its place is anyone's shadow or source), and every shard of its group is
/// readable at its place. Clients route by the layout, engines refuse another map version,
/// and rebuild reads only places and shadows, so nothing reads this copy again; if a later
/// map sends the shard back here, the base chain counts it incomplete and rebuild refills it.
/// Only for a target that is `UpIn` (a returning target's copies are handled by
/// [`refilled`]; a failed one's may be the last).
pub fn orphaned(layout: &Layout, shard: u32, me: (u32, u32)) -> bool {
    let g = layout.class.redundancy.group_size().max(1);
    let Some(group) = layout.groups.get((shard / g) as usize) else {
        return false;
    };
    let Some(mine) = group.iter().find(|s| s.shard == shard) else {
        return false;
    };
    (mine.rank, mine.target) != me
        && layout.shadows.is_empty()
        && group.iter().all(|s| s.is_readable())
}
