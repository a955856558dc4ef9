//! Operation codes. Numbers are part of the wire format: never reuse or renumber one.

/// Every operation an engine serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Opcode {
    /// Connect to a pool (service context).
    PoolConnect = 1,
    /// Disconnect a pool handle.
    PoolDisconnect = 2,
    /// Pool space, targets and map version.
    PoolQuery = 3,
    /// Create a container.
    ContCreate = 10,
    /// Open a container.
    ContOpen = 11,
    /// Close a container handle.
    ContClose = 12,
    /// Destroy a container.
    ContDestroy = 13,
    /// Container properties and info.
    ContQuery = 14,
    /// List a pool's containers.
    ContList = 15,
    /// Create a snapshot.
    ContSnapCreate = 16,
    /// List snapshots.
    ContSnapList = 17,
    /// Destroy snapshots in an epoch range.
    ContSnapDestroy = 18,
    /// Reserve object ids.
    ContAllocOids = 19,
    /// A pool service change forwarded by the service leader to the pool's other engines,
    /// so that every engine's targets know the pool's containers, handles and snapshots.
    SvcForward = 20,
    /// A Raft message between a pool's service replicas (vote, append entries, snapshot
    /// chunk), as DAOS's rdb sends between rsvc replicas.
    SvcRaft = 21,
    /// From the pool service leader to another replica: answer once the replica has applied
    /// the Raft log up to an index, so its targets know what the leader's reply promises.
    SvcSync = 22,
    /// A pool service request carrying the caller's operation key ([`crate::msg::SvcKeyedReq`]):
    /// a change retried after its leader died is applied once, and the retry answers what
    /// the first attempt did (DAOS's client operation keys in the pool service).
    SvcKeyed = 23,
    /// From a pool service leader to an engine it chose to replace a replica on an excluded
    /// engine: start a Raft replica of the pool (DAOS's pool service reconfiguration).
    SvcStart = 24,
    /// Create a pool's targets on an engine (from the control plane).
    MgmtPoolCreate = 40,
    /// Destroy a pool's targets on an engine.
    MgmtPoolDestroy = 41,
    /// Space used and free on an engine's targets of a pool.
    MgmtPoolQuery = 42,
    /// Liveness check and engine facts.
    MgmtPing = 43,
    /// Change targets' states in a pool map: exclude, drain, reintegrate (from the control
    /// plane, to the pool service leader, which forwards it to the pool's other engines).
    MgmtPoolUpdate = 44,
    /// Install a newer pool map: how the leader passes a map change on to the pool's other
    /// engines (only inside `SvcForward`). The map, not the operation, travels, so an engine
    /// whose copy missed changes while it was excluded catches up when it returns.
    MgmtPoolMap = 45,
    /// Start, stop or query a pool's rebuild on an engine's targets (from the control plane).
    MgmtRebuild = 46,
    /// Update (write) akeys under one dkey.
    ObjUpdate = 60,
    /// Fetch (read) akeys under one dkey.
    ObjFetch = 61,
    /// Punch an object, dkeys or akeys.
    ObjPunch = 62,
    /// Enumerate dkeys, akeys or extents.
    ObjList = 63,
    /// Highest or lowest dkey, akey or extent.
    ObjQueryKey = 64,
    /// Commit a prepared replicated update (DAOS's `DTX_COMMIT`): from the client to the
    /// transaction's leader, which decides, then from the leader to the other participants.
    DtxCommit = 65,
    /// Abort a prepared replicated update (`DTX_ABORT`), same routes as [`Opcode::DtxCommit`].
    DtxAbort = 66,
    /// What a participant knows of a transaction (`DTX_CHECK`); a participant that never
    /// heard of it records it aborted, so a late prepare cannot revive it.
    DtxCheck = 67,
    /// The newest epoch written over ranges of an erasure-coded object's parity shard (the
    /// group's guard): the first step of a read-modify-write, whose update then carries what
    /// it saw ([`crate::msg::EcExpect`]) and is refused if anything changed since.
    EcNewest = 68,
}

impl Opcode {
    /// The opcode for a wire value.
    pub fn from_u16(value: u16) -> Option<Opcode> {
        use Opcode::*;
        Some(match value {
            1 => PoolConnect,
            2 => PoolDisconnect,
            3 => PoolQuery,
            10 => ContCreate,
            11 => ContOpen,
            12 => ContClose,
            13 => ContDestroy,
            14 => ContQuery,
            15 => ContList,
            16 => ContSnapCreate,
            17 => ContSnapList,
            18 => ContSnapDestroy,
            19 => ContAllocOids,
            20 => SvcForward,
            21 => SvcRaft,
            22 => SvcSync,
            23 => SvcKeyed,
            24 => SvcStart,
            40 => MgmtPoolCreate,
            41 => MgmtPoolDestroy,
            42 => MgmtPoolQuery,
            43 => MgmtPing,
            44 => MgmtPoolUpdate,
            45 => MgmtPoolMap,
            46 => MgmtRebuild,
            60 => ObjUpdate,
            61 => ObjFetch,
            62 => ObjPunch,
            63 => ObjList,
            64 => ObjQueryKey,
            65 => DtxCommit,
            66 => DtxAbort,
            67 => DtxCheck,
            68 => EcNewest,
            _ => return None,
        })
    }

    /// Whether the operation is served by a target context (object I/O) rather than the
    /// engine's service context.
    pub fn is_target_op(self) -> bool {
        (self as u16) >= 60
    }
}
