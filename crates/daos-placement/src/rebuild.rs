//! Who pushes what in a rebuild, computed from one layout (the same map on every engine, so
//! every shard is pushed by exactly one target): pure rules shared by the engine's rebuild
//! (`daos_engine::rebuild`) and the deterministic simulation in `tests/simulation.rs`.
//!
//! - **Replicated** (`RP_n`): in each group with shards marked `rebuilding`, the readable
//!   shard with the lowest index pushes its copy to every rebuilding shard of the group.
//! - **Erasure-coded** (`EC_kPp`): the first readable parity shard (or, when none is
//!   readable, every readable data shard) decodes every rebuilding shard of the group from
//!   `k` readable shards ([`ec_sources`]).
//! - **A shard that moved away from a live target** (`Drain`, or `UpIn` holding a copy that
//!   moves elsewhere) when its group has no readable shard: the target holding it pushes its
//!   own copy.
//! - A target returning to the pool drops each copy that will be pushed back to it
//!   ([`refilled`]).
//! - A group with shards to rebuild but fewer complete places than it needs to rebuild them
//!   from ([`cannot_rebuild`]) fails the job: a finished job makes every shard its layout
//!   places count as complete, so it must not finish over a shard it could not fill.

use crate::{Layout, PoolMap, ShardLocation, TargetState};
use daos_types::oclass::Redundancy;

/// Where the target `me` (in state `my_state`) must push its copy of `shard`.
pub fn destinations(
    layout: &Layout,
    shard: u32,
    me: (u32, u32),
    my_state: Option<TargetState>,
) -> Vec<ShardLocation> {
    let g = layout.class.redundancy.group_size().max(1);
    let Some(group) = layout.groups.get((shard / g) as usize) else {
        return Vec::new();
    };
    let Some(mine) = group.iter().find(|s| s.shard == shard).copied() else {
        return Vec::new();
    };
    let on_me = (mine.rank, mine.target) == me;
    let readable: Vec<&ShardLocation> = group.iter().filter(|s| s.is_readable()).collect();
    match layout.class.redundancy {
        Redundancy::Replicated { .. } => {
            if on_me && mine.is_readable() && readable.first().map(|s| s.shard) == Some(shard) {
                return group
                    .iter()
                    .filter(|s| s.rebuilding && s.available)
                    .copied()
                    .collect();
            }
        }
        Redundancy::None => {}
        Redundancy::ErasureCoded { data, .. } => {
            let k = (data as usize).min(group.len());
            let pushes = match group[k..].iter().find(|s| s.is_readable()) {
                Some(parity) => parity.shard == shard,
                None => shard < g * (shard / g) + k as u32,
            };
            if on_me && mine.is_readable() && pushes {
                return group
                    .iter()
                    .filter(|s| s.rebuilding && s.available)
                    .copied()
                    .collect();
            }
        }
    }
    // A shard that moved away from a live target (draining, or healthy and moving back to a
    // returning target) with no readable copy in its group is handed over by its holder.
    let alive = matches!(my_state, Some(TargetState::Drain | TargetState::UpIn));
    if !on_me && alive && readable.is_empty() && mine.available && mine.rebuilding {
        return vec![mine];
    }
    Vec::new()
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

/// Whether the target `me`, returning to the pool, will get `shard` pushed back: the shard is
/// placed there, rebuilding, and its group has a readable copy (for an erasure-coded group,
/// `k` readable shards) that [`destinations`] makes push. Its own copy is then stale and is
/// dropped first, so that versions the survivors aggregated away or punched cannot reappear.
pub fn refilled(layout: &Layout, shard: u32, me: (u32, u32)) -> bool {
    let g = layout.class.redundancy.group_size().max(1);
    let Some(group) = layout.groups.get((shard / g) as usize) else {
        return false;
    };
    let Some(mine) = group.iter().find(|s| s.shard == shard) else {
        return false;
    };
    if (mine.rank, mine.target) != me || !mine.rebuilding {
        return false;
    }
    match layout.class.redundancy {
        Redundancy::Replicated { .. } => group.iter().any(|s| s.is_readable()),
        Redundancy::ErasureCoded { data, .. } => {
            let k = data as usize;
            ec_sources(layout, (shard / g) as usize, k).len() >= k
        }
        Redundancy::None => false,
    }
}

/// Whether `group` has shards to rebuild but fewer readable places (shards or shadows) than
/// rebuilding them needs: one copy for replicated and unreplicated classes, `k` for `EC_kPp`.
/// A shard returning with its own target (`Up`) keeps its copy when nothing can refill it
/// (the last copy of a group that lost the others comes back this way), so only shards
/// placed elsewhere count. A rebuild job seeing such a group fails rather than finish
/// without filling them.
pub fn cannot_rebuild(map: &PoolMap, layout: &Layout, group: usize) -> bool {
    let shards = &layout.groups[group];
    let returning = |s: &ShardLocation| {
        map.target(s.rank, s.target)
            .is_some_and(|t| t.state == TargetState::Up)
    };
    if !shards
        .iter()
        .any(|s| s.available && s.rebuilding && !returning(s))
    {
        return false;
    }
    let needed = match layout.class.redundancy {
        Redundancy::ErasureCoded { data, .. } => data as usize,
        _ => 1,
    };
    layout.readable_places(group).iter().flatten().count() < needed
}
