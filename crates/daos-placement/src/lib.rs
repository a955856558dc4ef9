//! Pool maps and object placement. Pure logic: no I/O, no `unsafe`.
//!
//! A pool map lists the engines (ranks) a pool spans, grouped by fault domain (host), and the
//! targets of each engine, each with its fabric address and state. Placement maps an object
//! (its id and class) to shards on targets, deterministically, so every client and engine
//! computes the same layout from the same map without asking anyone (DAOS's algorithmic
//! placement, `src/placement/`).
//!
//! Algorithm: shards are laid out on a ring of targets ordered so that consecutive positions
//! fall in different fault domains (round-robin over domains, then ranks, then targets). An
//! object starts at a position chosen by jump consistent hashing of its id, and its shards
//! take consecutive ring positions. Consecutive positions are in distinct fault domains, so
//! the shards of a group never share a domain while there are enough domains. Dkeys pick
//! their group by hash.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::oclass::{ObjectClass, Redundancy, GROUPS_MAX};
use daos_types::{Der, Error, ObjectId, Result};

/// State of a target in the pool map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TargetState {
    /// Serving I/O.
    Up = 0,
    /// Failed and excluded; its shards are unavailable.
    Down = 1,
    /// Being rebuilt into (reintegration or extension).
    UpIn = 2,
    /// Added to the map but holding no data yet.
    New = 3,
    /// Being drained.
    Drain = 4,
}

impl TargetState {
    fn from_u8(value: u8) -> Result<TargetState> {
        Ok(match value {
            0 => TargetState::Up,
            1 => TargetState::Down,
            2 => TargetState::UpIn,
            3 => TargetState::New,
            4 => TargetState::Drain,
            _ => return Err(Error::new(Der::Proto, format!("bad target state {value}"))),
        })
    }

    /// The name `dmg pool query` prints.
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Up => "up",
            TargetState::Down => "down",
            TargetState::UpIn => "upin",
            TargetState::New => "new",
            TargetState::Drain => "drain",
        }
    }
}

/// A target of one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetEntry {
    /// Target index within its engine (0-based).
    pub index: u32,
    /// Fabric address of the target's endpoint.
    pub addr: Vec<u8>,
    /// State in this pool.
    pub state: TargetState,
}

/// An engine in the pool map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankEntry {
    /// The engine's rank in the system.
    pub rank: u32,
    /// Fault domain (host name) the engine runs in.
    pub domain: String,
    /// Fabric address of the engine's service endpoint (pool and container service).
    pub service_addr: Vec<u8>,
    /// The engine's targets, in index order.
    pub targets: Vec<TargetEntry>,
}

/// A pool map: which engines and targets a pool spans, versioned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolMap {
    /// Bumped on every change; carried on every RPC so stale peers notice.
    pub version: u32,
    /// Engines, sorted by rank.
    pub ranks: Vec<RankEntry>,
}

/// Where one shard of an object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardLocation {
    /// Shard index within the object (`group * group_size + position`).
    pub shard: u32,
    /// Rank of the engine holding it.
    pub rank: u32,
    /// Target index within that engine.
    pub target: u32,
}

/// The layout of one object: its groups, each a list of shard locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The class the layout was computed for (group count resolved).
    pub class: ObjectClass,
    /// One entry per redundancy group.
    pub groups: Vec<Vec<ShardLocation>>,
}

impl Layout {
    /// The group a dkey belongs to (by its stable hash).
    pub fn group_of(&self, dkey: &[u8]) -> usize {
        group_for_hash(daos_types::hash::key_hash(dkey), self.groups.len())
    }

    /// Every shard, in shard order.
    pub fn shards(&self) -> impl Iterator<Item = &ShardLocation> {
        self.groups.iter().flatten()
    }
}

/// The group index for a dkey hash among `groups` groups.
pub fn group_for_hash(hash: u64, groups: usize) -> usize {
    debug_assert!(groups > 0);
    // Multiply-shift range reduction: unbiased enough and stable.
    ((u128::from(hash) * groups as u128) >> 64) as usize
}

/// Jump consistent hash (Lamping & Veach): a bucket in `0..buckets` for `key`, moving only
/// `1/n` of keys when a bucket is added.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    assert!(buckets > 0);
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

impl PoolMap {
    /// Total targets across all ranks.
    pub fn target_count(&self) -> usize {
        self.ranks.iter().map(|r| r.targets.len()).sum()
    }

    /// The entry of a rank.
    pub fn rank(&self, rank: u32) -> Option<&RankEntry> {
        self.ranks.iter().find(|r| r.rank == rank)
    }

    /// The address of a target.
    pub fn target_addr(&self, rank: u32, target: u32) -> Option<&[u8]> {
        self.rank(rank)?
            .targets
            .get(target as usize)
            .map(|t| t.addr.as_slice())
    }

    /// Number of distinct fault domains.
    pub fn domain_count(&self) -> usize {
        let mut domains: Vec<&str> = self.ranks.iter().map(|r| r.domain.as_str()).collect();
        domains.sort_unstable();
        domains.dedup();
        domains.len()
    }

    /// Targets in ring order: round-robin over fault domains, then over each domain's ranks,
    /// then over each rank's targets, so neighbours are in different domains when possible.
    pub fn ring(&self) -> Vec<(u32, u32)> {
        let mut domains: Vec<(&str, Vec<&RankEntry>)> = Vec::new();
        let mut ranks: Vec<&RankEntry> = self.ranks.iter().collect();
        ranks.sort_by_key(|r| r.rank);
        for rank in ranks {
            match domains.iter_mut().find(|(d, _)| *d == rank.domain) {
                Some((_, list)) => list.push(rank),
                None => domains.push((rank.domain.as_str(), vec![rank])),
            }
        }
        domains.sort_by(|a, b| a.0.cmp(b.0));
        // Per domain: its targets interleaved across its ranks.
        let per_domain: Vec<Vec<(u32, u32)>> = domains
            .iter()
            .map(|(_, ranks)| {
                let deepest = ranks.iter().map(|r| r.targets.len()).max().unwrap_or(0);
                let mut list = Vec::new();
                for t in 0..deepest {
                    for rank in ranks {
                        if let Some(target) = rank.targets.get(t) {
                            list.push((rank.rank, target.index));
                        }
                    }
                }
                list
            })
            .collect();
        let deepest = per_domain.iter().map(Vec::len).max().unwrap_or(0);
        let mut ring = Vec::with_capacity(self.target_count());
        for i in 0..deepest {
            for list in &per_domain {
                if let Some(entry) = list.get(i) {
                    ring.push(*entry);
                }
            }
        }
        ring
    }

    /// The layout of `oid` in this map.
    ///
    /// Errors: `-DER_INVAL` if the id carries no valid class; `-DER_NOSPACE` if the pool has
    /// fewer targets than one group needs.
    pub fn layout(&self, oid: ObjectId) -> Result<Layout> {
        let class = oid
            .class()
            .ok_or_else(|| Error::new(Der::Inval, format!("object {oid:?} has no valid class")))?;
        self.layout_for(oid, class)
    }

    /// The layout of `oid` for an explicit class (group count `X` resolved to the pool).
    pub fn layout_for(&self, oid: ObjectId, class: ObjectClass) -> Result<Layout> {
        let ring = self.ring();
        let targets = ring.len() as u32;
        let group_size = class.redundancy.group_size();
        if targets == 0 || group_size > targets {
            return Err(Error::new(
                Der::Nospace,
                format!("class needs {group_size} targets per group, pool has {targets}"),
            ));
        }
        let groups = if class.groups == GROUPS_MAX {
            (targets / group_size).max(1)
        } else {
            class.groups.min((targets / group_size).max(1))
        };
        let start = jump_hash(daos_types::hash::oid_hash(oid), targets);
        let mut layout = Vec::with_capacity(groups as usize);
        for group in 0..groups {
            let mut shards = Vec::with_capacity(group_size as usize);
            for position in 0..group_size {
                let shard = group * group_size + position;
                let (rank, target) = ring[((start + shard) % targets) as usize];
                shards.push(ShardLocation {
                    shard,
                    rank,
                    target,
                });
            }
            layout.push(shards);
        }
        Ok(Layout {
            class: ObjectClass {
                redundancy: class.redundancy,
                groups,
            },
            groups: layout,
        })
    }
}

/// The class `OC_UNKNOWN` resolves to (`daos_obj_generate_oid` with no class): arrays and
/// byte arrays stripe over every target; other objects use one shard. With a redundancy
/// factor, objects are replicated `rf + 1` ways.
pub fn default_class(is_array: bool, redundancy_factor: u32) -> ObjectClass {
    let redundancy = if redundancy_factor == 0 {
        Redundancy::None
    } else {
        Redundancy::Replicated {
            replicas: redundancy_factor + 1,
        }
    };
    ObjectClass {
        redundancy,
        groups: if is_array { GROUPS_MAX } else { 1 },
    }
}

const ADDR_LEN_MAX: usize = 256;

impl Wire for TargetEntry {
    const ENCODED_SIZE_MIN: usize = 9;
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.index).bytes(&self.addr).u8(self.state as u8);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(TargetEntry {
            index: d.u32("target index")?,
            addr: d.bytes(ADDR_LEN_MAX, "target address")?.to_vec(),
            state: TargetState::from_u8(d.u8("target state")?)?,
        })
    }
}

impl Wire for RankEntry {
    const ENCODED_SIZE_MIN: usize = 16;
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.rank)
            .str(&self.domain)
            .bytes(&self.service_addr)
            .put(&self.targets);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(RankEntry {
            rank: d.u32("rank")?,
            domain: d.str(256, "domain")?.to_string(),
            service_addr: d.bytes(ADDR_LEN_MAX, "service address")?.to_vec(),
            targets: d.get()?,
        })
    }
}

impl Wire for PoolMap {
    const ENCODED_SIZE_MIN: usize = 8;
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.version).put(&self.ranks);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let map = PoolMap {
            version: d.u32("map version")?,
            ranks: d.get()?,
        };
        let mut seen: Vec<u32> = map.ranks.iter().map(|r| r.rank).collect();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != map.ranks.len() {
            return Err(Error::new(Der::Proto, "pool map lists a rank twice"));
        }
        for rank in &map.ranks {
            for (i, target) in rank.targets.iter().enumerate() {
                if target.index as usize != i {
                    return Err(Error::new(Der::Proto, "pool map targets out of order"));
                }
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daos_types::oid::ObjectType;
    use proptest::prelude::*;

    fn map(hosts: u32, engines_per_host: u32, targets: u32) -> PoolMap {
        let mut ranks = Vec::new();
        for h in 0..hosts {
            for e in 0..engines_per_host {
                let rank = h * engines_per_host + e;
                ranks.push(RankEntry {
                    rank,
                    domain: format!("host{h}"),
                    service_addr: vec![rank as u8; 16],
                    targets: (0..targets)
                        .map(|t| TargetEntry {
                            index: t,
                            addr: vec![t as u8; 16],
                            state: TargetState::Up,
                        })
                        .collect(),
                });
            }
        }
        PoolMap { version: 1, ranks }
    }

    fn oid(lo: u64, class: ObjectClass) -> ObjectId {
        ObjectId::new(lo, 0).encode(ObjectType::MultiHashed, class)
    }

    #[test]
    fn jump_hash_is_consistent() {
        // Growing from n to n+1 buckets moves about 1/(n+1) of keys, and only into the new one.
        let mut moved = 0;
        for key in 0..10_000u64 {
            let a = jump_hash(key.wrapping_mul(0x9E37_79B9_7F4A_7C15), 10);
            let b = jump_hash(key.wrapping_mul(0x9E37_79B9_7F4A_7C15), 11);
            if a != b {
                assert_eq!(b, 10);
                moved += 1;
            }
        }
        assert!((700..1100).contains(&moved), "moved {moved}");
    }

    #[test]
    fn sx_covers_every_target_once() {
        let map = map(2, 2, 4);
        let layout = map.layout(oid(5, ObjectClass::SX)).unwrap();
        assert_eq!(layout.groups.len(), 16);
        let mut seen: Vec<(u32, u32)> = layout.shards().map(|s| (s.rank, s.target)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn too_few_targets_is_nospace() {
        let map = map(1, 1, 2);
        let rp3 = ObjectClass {
            redundancy: Redundancy::Replicated { replicas: 3 },
            groups: 1,
        };
        assert_eq!(map.layout(oid(1, rp3)).unwrap_err().der(), Der::Nospace);
    }

    proptest! {
        #[test]
        fn group_shards_land_in_distinct_domains(lo in any::<u64>(), hosts in 3u32..8, targets in 1u32..6) {
            let map = map(hosts, 2, targets);
            let class = ObjectClass { redundancy: Redundancy::Replicated { replicas: 3 }, groups: GROUPS_MAX };
            let layout = map.layout(oid(lo, class)).unwrap();
            for group in &layout.groups {
                let mut domains: Vec<&str> =
                    group.iter().map(|s| map.rank(s.rank).unwrap().domain.as_str()).collect();
                domains.sort_unstable();
                domains.dedup();
                prop_assert_eq!(domains.len(), group.len());
            }
        }

        #[test]
        fn layout_is_deterministic_and_map_round_trips(lo in any::<u64>(), hi in any::<u32>()) {
            let map = map(3, 1, 3);
            let id = ObjectId::new(lo, u64::from(hi)).encode(ObjectType::ArrayByte, ObjectClass::SX);
            prop_assert_eq!(map.layout(id).unwrap(), map.layout(id).unwrap());
            let mut e = Encoder::new();
            e.put(&map);
            let bytes = e.finish();
            let decoded: PoolMap = Decoder::new(&bytes).get().unwrap();
            prop_assert_eq!(decoded, map);
        }
    }
}
