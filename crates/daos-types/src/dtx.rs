//! Distributed transactions of replicated updates (DAOS's DTX), as engines record them.
//!
//! An update of a replicated object is *prepared* on every replica of the dkey's group (the
//! data is durable but invisible), then *committed* by the group's DTX leader, one of those
//! replicas, which decides the outcome and tells the others. A replica left holding a prepared
//! update (the client or the leader died) resolves it with the leader, or, once the leader's
//! target is excluded, with the other participants. See `engine/engine/src/dtx.rs`.

use crate::codec::{Decoder, Encoder, Wire};
use crate::{Result, Uuid};

/// One participant of a transaction: an object shard on a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DtxPeer {
    /// The engine's rank.
    pub rank: u32,
    /// The target index within the engine.
    pub target: u32,
    /// The object shard that target holds.
    pub shard: u32,
}

impl Wire for DtxPeer {
    const ENCODED_SIZE_MIN: usize = 12;
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.rank).u32(self.target).u32(self.shard);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(DtxPeer {
            rank: d.u32("dtx rank")?,
            target: d.u32("dtx target")?,
            shard: d.u32("dtx shard")?,
        })
    }
}

/// A transaction's identity and participants, sent with each replica's update and logged
/// with the prepared update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DtxInfo {
    /// Random id chosen by the client, fresh for every attempt.
    pub id: Uuid,
    /// The pool map version the client routed the update by. The leader commits only under
    /// that version, and a rebuild for a newer map waits until the transactions prepared
    /// under older ones are resolved, so none lands behind a rebuild scan.
    pub map_version: u32,
    /// The participant that decides the outcome.
    pub leader: DtxPeer,
    /// Every participant, the leader included.
    pub peers: Vec<DtxPeer>,
}

/// Most participants of one transaction (a replicated group of DAOS's widest class, with
/// shadows of moving shards).
pub const DTX_PEERS_MAX: usize = 64;

impl Wire for DtxInfo {
    const ENCODED_SIZE_MIN: usize = 16 + 4 + DtxPeer::ENCODED_SIZE_MIN + 4;
    fn encode(&self, e: &mut Encoder) {
        e.uuid(&self.id).u32(self.map_version);
        self.leader.encode(e);
        self.peers.encode(e);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let id = d.uuid("dtx id")?;
        let map_version = d.u32("dtx map version")?;
        let leader = DtxPeer::decode(d)?;
        let n = d.len_prefix(DTX_PEERS_MAX, DtxPeer::ENCODED_SIZE_MIN, "dtx peers")?;
        let peers = (0..n).map(|_| DtxPeer::decode(d)).collect::<Result<_>>()?;
        Ok(DtxInfo {
            id,
            map_version,
            leader,
            peers,
        })
    }
}

/// What a replica knows of a transaction (the `state` of `DtxCheck` replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DtxState {
    /// Prepared here; the outcome is not known yet.
    Prepared = 1,
    /// Committed: the update is visible.
    Committed = 2,
    /// Aborted, or fenced: never applied here, and a late prepare is refused.
    Aborted = 3,
}

impl DtxState {
    /// The state for a wire value.
    pub fn from_u8(value: u8) -> Option<DtxState> {
        match value {
            1 => Some(DtxState::Prepared),
            2 => Some(DtxState::Committed),
            3 => Some(DtxState::Aborted),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_and_bounds_its_peers() {
        let peer = |rank| DtxPeer {
            rank,
            target: 1,
            shard: rank + 2,
        };
        let info = DtxInfo {
            id: Uuid::from_u128(7),
            map_version: 3,
            leader: peer(0),
            peers: vec![peer(0), peer(3)],
        };
        let mut e = Encoder::new();
        info.encode(&mut e);
        let bytes = e.finish();
        assert_eq!(DtxInfo::decode(&mut Decoder::new(&bytes)).unwrap(), info);
        let too_many = DtxInfo {
            peers: vec![peer(1); DTX_PEERS_MAX + 1],
            ..info
        };
        let mut e = Encoder::new();
        too_many.encode(&mut e);
        let bytes = e.finish();
        assert!(DtxInfo::decode(&mut Decoder::new(&bytes)).is_err());
    }
}
