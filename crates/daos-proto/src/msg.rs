//! Message bodies. Each struct's fields are encoded in declaration order with the bounded
//! codec of `daos_types::codec`; the field order is the wire format.

use daos_placement::PoolMap;
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::dtx::DtxInfo;
use daos_types::label::EntityRef;
use daos_types::prop::{Prop, PropValue, Props};
use daos_types::{Der, Error, ObjectId, Result, Uuid};

/// Longest dkey or akey, bytes. Longer keys are refused with `-DER_KEY2BIG`.
pub const KEY_SIZE_MAX: usize = 4096;
/// Largest anchor payload, bytes (the size of `daos_anchor_t::da_buf`).
pub const ANCHOR_SIZE_MAX: usize = 104;
/// Data up to this size travels inside the request or reply; larger data moves by RMA.
pub const INLINE_DATA_MAX: usize = 16 * 1024;

macro_rules! wire_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }

        impl Wire for $name {
            const ENCODED_SIZE_MIN: usize = 0 $(+ <$ty as Wire>::ENCODED_SIZE_MIN)*;
            fn encode(&self, e: &mut Encoder) {
                $( Wire::encode(&self.$field, e); )*
            }
            fn decode(d: &mut Decoder<'_>) -> Result<Self> {
                Ok($name { $( $field: <$ty as Wire>::decode(d)? ),* })
            }
        }
    };
}

/// A wire-encodable bool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Wire for Flag {
    const ENCODED_SIZE_MIN: usize = 1;
    fn encode(&self, e: &mut Encoder) {
        e.bool(self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(Flag(d.bool("flag")?))
    }
}

/// A wire-encodable i32 (status codes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status(pub i32);

impl Wire for Status {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.i32(self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(Status(d.i32("status")?))
    }
}

/// Opaque bytes, bounded by the message size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Wire for Blob {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(Blob(
            d.bytes(crate::header::MESSAGE_SIZE_MAX, "blob")?.to_vec(),
        ))
    }
}

/// A dkey or akey. Decoding a key longer than [`KEY_SIZE_MAX`] fails with `-DER_KEY2BIG`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub Vec<u8>);

impl Key {
    /// Checks the size limits. Errors: `-DER_KEY2BIG` if too long, `-DER_INVAL` if empty.
    pub fn check(bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::new(Der::Inval, "keys must not be empty"));
        }
        if bytes.len() > KEY_SIZE_MAX {
            return Err(Error::new(
                Der::Key2big,
                format!(
                    "key of {} bytes exceeds the {KEY_SIZE_MAX}-byte limit",
                    bytes.len()
                ),
            ));
        }
        Ok(())
    }
}

impl Wire for Key {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let bytes = d.bytes(crate::header::MESSAGE_SIZE_MAX, "key")?;
        Key::check(bytes)?;
        Ok(Key(bytes.to_vec()))
    }
}

/// An enumeration anchor: engine-defined position, at most [`ANCHOR_SIZE_MAX`] bytes.
/// Empty means "from the start".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchor(pub Vec<u8>);

impl Wire for Anchor {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(Anchor(d.bytes(ANCHOR_SIZE_MAX, "anchor")?.to_vec()))
    }
}

/// `daos_recx_t`: `nr` records starting at index `idx`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Recx {
    /// First record index.
    pub idx: u64,
    /// Number of records.
    pub nr: u64,
}

impl Recx {
    /// One past the last index.
    pub fn end(&self) -> u64 {
        self.idx.saturating_add(self.nr)
    }
}

impl Wire for Recx {
    const ENCODED_SIZE_MIN: usize = 16;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.idx).u64(self.nr);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let recx = Recx {
            idx: d.u64("recx idx")?,
            nr: d.u64("recx nr")?,
        };
        if recx.idx.checked_add(recx.nr).is_none() {
            return Err(Error::new(
                Der::Inval,
                "extent runs past the end of the index space",
            ));
        }
        Ok(recx)
    }
}

/// A piece of a peer's registered memory (what `RemoteRegion` is on the fabric side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkDesc {
    /// Address or offset to pass to `fi_read`/`fi_write`.
    pub addr: u64,
    /// Length, bytes.
    pub len: u64,
    /// Registration key.
    pub key: u64,
}

impl Wire for BulkDesc {
    const ENCODED_SIZE_MIN: usize = 24;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.addr).u64(self.len).u64(self.key);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(BulkDesc {
            addr: d.u64("bulk addr")?,
            len: d.u64("bulk len")?,
            key: d.u64("bulk key")?,
        })
    }
}

/// Where data of an update comes from, or where fetched data goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// In the message itself.
    Inline(Vec<u8>),
    /// In the peer's registered memory, as a stream over these pieces in order.
    Bulk(Vec<BulkDesc>),
}

impl Payload {
    /// Total bytes described.
    pub fn len(&self) -> u64 {
        match self {
            Payload::Inline(data) => data.len() as u64,
            Payload::Bulk(descs) => descs.iter().map(|d| d.len).sum(),
        }
    }

    /// Whether no bytes are described.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Wire for Payload {
    const ENCODED_SIZE_MIN: usize = 5;
    fn encode(&self, e: &mut Encoder) {
        match self {
            Payload::Inline(data) => {
                e.u8(0).bytes(data);
            }
            Payload::Bulk(descs) => {
                e.u8(1).put(descs);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        match d.u8("payload kind")? {
            0 => Ok(Payload::Inline(
                d.bytes(crate::header::MESSAGE_SIZE_MAX, "inline data")?
                    .to_vec(),
            )),
            1 => {
                let count = d.len_prefix(4096, BulkDesc::ENCODED_SIZE_MIN, "bulk descriptors")?;
                let mut descs = Vec::with_capacity(count);
                for _ in 0..count {
                    descs.push(d.get()?);
                }
                Ok(Payload::Bulk(descs))
            }
            other => Err(Error::new(Der::Proto, format!("bad payload kind {other}"))),
        }
    }
}

/// Wire form of a property list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireProps(pub Props);

impl Wire for WireProps {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.len_prefix(self.0.len());
        for prop in self.0.entries() {
            e.u32(prop.kind);
            match &prop.value {
                PropValue::Number(n) => {
                    e.u8(0).u64(*n);
                }
                PropValue::Text(s) => {
                    e.u8(1).str(s);
                }
                PropValue::Roots(roots) => {
                    e.u8(2);
                    for oid in roots {
                        e.oid(*oid);
                    }
                }
                PropValue::Bytes(b) => {
                    e.u8(3).bytes(b);
                }
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let count = d.len_prefix(128, 5, "properties")?;
        let mut props = Props::new();
        for _ in 0..count {
            let kind = d.u32("property type")?;
            let value = match d.u8("property value kind")? {
                0 => PropValue::Number(d.u64("property number")?),
                1 => PropValue::Text(d.str(4096, "property text")?.to_string()),
                2 => {
                    let mut roots = [ObjectId::default(); 4];
                    for root in &mut roots {
                        *root = d.oid("root oid")?;
                    }
                    PropValue::Roots(roots)
                }
                3 => PropValue::Bytes(d.bytes(64 * 1024, "property bytes")?.to_vec()),
                other => {
                    return Err(Error::new(
                        Der::Proto,
                        format!("bad property value kind {other}"),
                    ))
                }
            };
            if props.get(kind).is_some() {
                return Err(Error::new(
                    Der::Inval,
                    format!("property {kind} given twice"),
                ));
            }
            props.push(Prop { kind, value });
        }
        Ok(WireProps(props))
    }
}

/// Wire form of a pool map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireMap(pub PoolMap);

impl Wire for WireMap {
    const ENCODED_SIZE_MIN: usize = PoolMap::ENCODED_SIZE_MIN;
    fn encode(&self, e: &mut Encoder) {
        self.0.encode(e);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(WireMap(PoolMap::decode(d)?))
    }
}

wire_struct! {
    /// Who is asking (AUTH_SYS-style; the agent vouches for it in DAOS).
    pub struct Credential {
        /// User id.
        pub uid: u32,
        /// Group id.
        pub gid: u32,
        /// User name.
        pub user: String,
        /// Group name.
        pub group: String,
    }
}

// ---------------------------------------------------------------- pool service

wire_struct! {
    /// `PoolConnect` request.
    pub struct PoolConnectReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle the client chose.
        pub handle: Uuid,
        /// `DAOS_PC_*` flags.
        pub flags: u32,
        /// Who connects.
        pub cred: Credential,
    }
}

wire_struct! {
    /// `PoolConnect` reply.
    pub struct PoolConnectReply {
        /// The pool's label ("" if none).
        pub label: String,
        /// The pool map.
        pub map: WireMap,
        /// Pool properties.
        pub props: WireProps,
    }
}

wire_struct! {
    /// Request naming a pool handle (`PoolDisconnect`, `PoolQuery`, `ContList`).
    pub struct PoolHandleReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle.
        pub handle: Uuid,
    }
}

wire_struct! {
    /// Space of one medium.
    pub struct Space {
        /// Bytes in total.
        pub total: u64,
        /// Bytes free.
        pub free: u64,
        /// Smallest per-target free bytes.
        pub free_min: u64,
        /// Largest per-target free bytes.
        pub free_max: u64,
    }
}

wire_struct! {
    /// `PoolQuery` reply.
    pub struct PoolQueryReply {
        /// Pool label.
        pub label: String,
        /// Pool map (version, ranks and target states).
        pub map: WireMap,
        /// Metadata (DRAM / SCM) space.
        pub scm: Space,
        /// Bulk data space.
        pub nvme: Space,
        /// Rank of the pool service leader.
        pub leader: u32,
        /// Pool properties.
        pub props: WireProps,
    }
}

// ---------------------------------------------------------------- containers

wire_struct! {
    /// `ContCreate` request.
    pub struct ContCreateReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle.
        pub pool_handle: Uuid,
        /// The new container's UUID (chosen by the caller, as DAOS allows).
        pub cont: Uuid,
        /// Initial properties (label, layout, checksums, redundancy…).
        pub props: WireProps,
        /// Who creates it (becomes the owner).
        pub cred: Credential,
    }
}

wire_struct! {
    /// Container facts (`daos_cont_info_t`).
    pub struct ContInfo {
        /// Container UUID.
        pub uuid: Uuid,
        /// Latest snapshot epoch (0 if none).
        pub latest_snapshot: u64,
        /// Open handles.
        pub handles: u32,
        /// Number of snapshots.
        pub snapshots: u32,
        /// Metadata open time (HLC).
        pub open_time: u64,
        /// Metadata modify time (HLC).
        pub modify_time: u64,
    }
}

wire_struct! {
    /// `ContCreate` / `ContOpen` / `ContQuery` reply.
    pub struct ContReply {
        /// Container facts.
        pub info: ContInfo,
        /// All properties.
        pub props: WireProps,
        /// Snapshot epochs, ascending.
        pub snapshots: Vec<u64>,
    }
}

wire_struct! {
    /// `ContOpen` request.
    pub struct ContOpenReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle.
        pub pool_handle: Uuid,
        /// The container, by label or UUID.
        pub cont: EntityRef,
        /// The container handle the client chose.
        pub handle: Uuid,
        /// `DAOS_COO_*` flags.
        pub flags: u32,
    }
}

wire_struct! {
    /// Request naming an open container handle (`ContClose`, `ContQuery`, snapshots).
    pub struct ContHandleReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle.
        pub pool_handle: Uuid,
        /// The container.
        pub cont: Uuid,
        /// The container handle.
        pub handle: Uuid,
    }
}

wire_struct! {
    /// `ContDestroy` request.
    pub struct ContDestroyReq {
        /// The pool.
        pub pool: Uuid,
        /// The pool handle.
        pub pool_handle: Uuid,
        /// The container, by label or UUID.
        pub cont: EntityRef,
        /// Destroy even if handles are open.
        pub force: Flag,
    }
}

wire_struct! {
    /// One container in a listing.
    pub struct ContEntry {
        /// UUID.
        pub uuid: Uuid,
        /// Label ("" if none).
        pub label: String,
    }
}

wire_struct! {
    /// `ContList` reply.
    pub struct ContListReply {
        /// The containers.
        pub containers: Vec<ContEntry>,
    }
}

wire_struct! {
    /// `ContSnapCreate` reply and `ContAllocOids` reply.
    pub struct U64Reply {
        /// The value (snapshot epoch; first allocated object id).
        pub value: u64,
    }
}

wire_struct! {
    /// `ContSnapDestroy` request.
    pub struct SnapDestroyReq {
        /// The container handle.
        pub handle: ContHandleReq,
        /// Lowest epoch to destroy, inclusive.
        pub epoch_lo: u64,
        /// Highest epoch to destroy, inclusive.
        pub epoch_hi: u64,
    }
}

wire_struct! {
    /// `ContSnapCreate` request.
    pub struct SnapCreateReq {
        /// The container handle.
        pub handle: ContHandleReq,
        /// Optional name.
        pub name: String,
    }
}

wire_struct! {
    /// One snapshot.
    pub struct SnapEntry {
        /// Snapshot epoch.
        pub epoch: u64,
        /// Name ("" if none).
        pub name: String,
    }
}

wire_struct! {
    /// `ContSnapList` reply.
    pub struct SnapListReply {
        /// Snapshots, ascending epoch.
        pub snapshots: Vec<SnapEntry>,
    }
}

wire_struct! {
    /// `ContAllocOids` request.
    pub struct AllocOidsReq {
        /// The container handle.
        pub handle: ContHandleReq,
        /// How many ids.
        pub count: u64,
    }
}

// ---------------------------------------------------------------- management

wire_struct! {
    /// `MgmtPoolCreate` request (control plane to each engine of the pool).
    pub struct MgmtPoolCreateReq {
        /// New pool UUID.
        pub pool: Uuid,
        /// Label.
        pub label: String,
        /// Metadata bytes per target.
        pub scm_per_target: u64,
        /// Bulk data bytes per target.
        pub nvme_per_target: u64,
        /// Ranks that host the pool service.
        pub svc_ranks: Vec<u32>,
        /// Initial pool map.
        pub map: WireMap,
        /// Pool properties.
        pub props: WireProps,
        /// Owner.
        pub owner: Credential,
    }
}

wire_struct! {
    /// `MgmtPoolDestroy` request.
    pub struct MgmtPoolDestroyReq {
        /// The pool.
        pub pool: Uuid,
        /// Destroy even with connected handles.
        pub force: Flag,
    }
}

wire_struct! {
    /// `MgmtPoolQuery` request.
    pub struct MgmtPoolQueryReq {
        /// The pool.
        pub pool: Uuid,
    }
}

wire_struct! {
    /// Space of one target.
    pub struct TargetSpace {
        /// Target index.
        pub target: u32,
        /// Metadata bytes total.
        pub scm_total: u64,
        /// Metadata bytes free.
        pub scm_free: u64,
        /// Bulk bytes total.
        pub nvme_total: u64,
        /// Bulk bytes free.
        pub nvme_free: u64,
    }
}

wire_struct! {
    /// `MgmtPoolQuery` reply.
    pub struct MgmtPoolQueryReply {
        /// Per-target space.
        pub targets: Vec<TargetSpace>,
        /// Open pool handles on this engine's service.
        pub handles: u32,
        /// This engine's copy of the pool map.
        pub map: WireMap,
        /// The pool service leader this engine knows of, or `u32::MAX` (none known, or the
        /// engine is not a service replica).
        pub leader: u32,
        /// The service replicas as this engine knows them (current on the leader: they
        /// change when the leader replaces the replicas of excluded engines).
        pub svc_ranks: Vec<u32>,
    }
}

wire_struct! {
    /// `MgmtPing` reply.
    pub struct PingReply {
        /// The engine's rank.
        pub rank: u32,
        /// Number of targets.
        pub targets: u32,
        /// Pools with targets on this engine.
        pub pools: Vec<Uuid>,
    }
}

// ---------------------------------------------------------------- objects

wire_struct! {
    /// Which object shard, in which container, through which handle.
    pub struct ObjTarget {
        /// The pool.
        pub pool: Uuid,
        /// The container.
        pub cont: Uuid,
        /// The open container handle.
        pub handle: Uuid,
        /// The object.
        pub oid: ObjectId,
        /// The shard of the object this target holds.
        pub shard: u32,
    }
}

/// `DAOS_IOD_SINGLE`.
pub const IOD_SINGLE: u8 = 1;
/// `DAOS_IOD_ARRAY`.
pub const IOD_ARRAY: u8 = 2;

wire_struct! {
    /// One akey's I/O descriptor (`daos_iod_t`).
    pub struct IodDesc {
        /// The akey.
        pub akey: Key,
        /// [`IOD_SINGLE`] or [`IOD_ARRAY`].
        pub kind: u8,
        /// Record size in bytes (single value: its size). 0 on update punches; 0 on fetch
        /// means "any" (`DAOS_REC_ANY`).
        pub size: u64,
        /// Per-akey conditional flags (`DAOS_COND_AKEY_*` with `DAOS_COND_PER_AKEY`).
        pub flags: u64,
        /// Extents (arrays only).
        pub recxs: Vec<Recx>,
    }
}

wire_struct! {
    /// `ObjUpdate` request.
    pub struct ObjUpdateReq {
        /// Where.
        pub target: ObjTarget,
        /// Epoch to write at; 0 lets the engine assign one.
        pub epoch: u64,
        /// `DAOS_COND_*` flags.
        pub flags: u64,
        /// The dkey.
        pub dkey: Key,
        /// The akeys.
        pub iods: Vec<IodDesc>,
        /// Checksum chunk size in bytes; 0 when the container has checksums off.
        pub csum_chunk: u64,
        /// Per iod, the CRC-32C of each chunk slice of its data (see `daos_types::csum`).
        pub csums: Vec<Vec<u32>>,
        /// The data: iods in order, each single value or extent's bytes in order.
        pub data: Payload,
        /// For a replicated or erasure-coded update: its transaction. The target then
        /// prepares the update (durable, invisible) and waits for the leader's
        /// [`crate::Opcode::DtxCommit`].
        pub dtx: Option<DtxInfo>,
        /// Only to the guard of an erasure-coded group (its first readable parity shard, see
        /// the client's `ec` module): what the writer read before computing parity. The
        /// guard prepares the update only if each range still has the newest epoch listed,
        /// if nothing newer than the update is written over its array extents
        /// (`-DER_TX_RESTART` otherwise) and if no other transaction over them is undecided
        /// (`-DER_INPROGRESS`), so the updates of a stripe apply in epoch order and a
        /// read-modify-write never encodes over a stale cell.
        pub ec_guard: Option<Vec<EcExpect>>,
    }
}

wire_struct! {
    /// Ranges of one akey an erasure-coded read-modify-write read, through the guard
    /// ([`ObjUpdateReq::ec_guard`]).
    pub struct EcExpect {
        /// The array akey.
        pub akey: Key,
        /// Records of the guard's shard (parity index space).
        pub recxs: Vec<Recx>,
        /// Per extent, the newest epoch written over it when read ([`EcNewestReply`]).
        pub newest: Vec<u64>,
    }
}

wire_struct! {
    /// `EcNewest` request: array ranges of one shard under one dkey.
    pub struct EcNewestReq {
        /// Where.
        pub target: ObjTarget,
        /// The dkey.
        pub dkey: Key,
        /// The array akeys and their ranges (record size ignored).
        pub iods: Vec<IodDesc>,
    }
}

wire_struct! {
    /// `EcNewest` reply: per iod, per extent, the newest epoch written or punched over it
    /// (0: never). `-DER_INPROGRESS` instead while a transaction over them is undecided.
    pub struct EcNewestReply {
        /// Newest epochs, in request order.
        pub newest: Vec<Vec<u64>>,
    }
}

wire_struct! {
    /// `DtxCommit`, `DtxAbort` and `DtxCheck` request, to the target holding `shard`.
    pub struct DtxReq {
        /// The pool.
        pub pool: Uuid,
        /// The container.
        pub cont: Uuid,
        /// The object.
        pub oid: ObjectId,
        /// The shard of the object this target holds.
        pub shard: u32,
        /// The transaction.
        pub id: Uuid,
        /// Its participants, in a client's `DtxAbort` only: the leader may never have
        /// prepared it (its prepare was refused or is still on its way), and must still
        /// tell the participants that did before the client hears the abort.
        pub info: Option<DtxInfo>,
    }
}

wire_struct! {
    /// `DtxCheck` reply.
    pub struct DtxCheckReply {
        /// A `daos_types::dtx::DtxState` value.
        pub state: u8,
    }
}

wire_struct! {
    /// `ObjUpdate` reply.
    pub struct ObjUpdateReply {
        /// Epoch the update was applied at.
        pub epoch: u64,
    }
}

wire_struct! {
    /// `ObjFetch` request.
    pub struct ObjFetchReq {
        /// Where.
        pub target: ObjTarget,
        /// Epoch to read at (`DAOS_EPOCH_MAX` for the latest).
        pub epoch: u64,
        /// `DAOS_COND_*` flags.
        pub flags: u64,
        /// The dkey.
        pub dkey: Key,
        /// The akeys.
        pub iods: Vec<IodDesc>,
        /// Per iod, the bytes the caller's buffers hold for it; data for iod `i` starts at the
        /// sum of the capacities before it.
        pub capacities: Vec<u64>,
        /// Checksum chunk size wanted for returned checksums; 0 for none.
        pub csum_chunk: u64,
        /// Where to put data: `Inline(empty)` asks for it in the reply.
        pub sink: Payload,
    }
}

wire_struct! {
    /// What a fetch found for one akey.
    pub struct FetchedIod {
        /// Record size found (0: nothing there).
        pub size: u64,
        /// Bytes of data returned for this iod.
        pub data_len: u64,
        /// CRC-32C per chunk slice of the returned data.
        pub csums: Vec<u32>,
        /// Extents actually holding data within the request (arrays), for `daos_iom_t`.
        pub extents: Vec<Recx>,
    }
}

wire_struct! {
    /// `ObjFetch` reply (also the body of a `-DER_REC2BIG` reply, without data).
    pub struct ObjFetchReply {
        /// Epoch the read was served at.
        pub epoch: u64,
        /// Per iod.
        pub iods: Vec<FetchedIod>,
        /// Inline data, if the request asked for it.
        pub data: Blob,
    }
}

/// Punch the whole object.
pub const PUNCH_OBJECT: u8 = 0;
/// Punch the listed dkeys.
pub const PUNCH_DKEYS: u8 = 1;
/// Punch the listed akeys under one dkey.
pub const PUNCH_AKEYS: u8 = 2;

wire_struct! {
    /// `ObjPunch` request.
    pub struct ObjPunchReq {
        /// Where.
        pub target: ObjTarget,
        /// Epoch; 0 lets the engine assign one.
        pub epoch: u64,
        /// `DAOS_COND_PUNCH` and friends.
        pub flags: u64,
        /// [`PUNCH_OBJECT`], [`PUNCH_DKEYS`] or [`PUNCH_AKEYS`].
        pub kind: u8,
        /// Dkeys (one for akey punches).
        pub dkeys: Vec<Key>,
        /// Akeys.
        pub akeys: Vec<Key>,
        /// For a punch of a replicated or erasure-coded object: its transaction, as for
        /// [`ObjUpdateReq::dtx`] (prepared, applied on the leader's commit). A whole-object
        /// punch runs one per redundancy group.
        pub dtx: Option<DtxInfo>,
        /// Only to the guard of an erasure-coded group (see [`ObjUpdateReq::ec_guard`]): the
        /// guard prepares the punch only if nothing under what it punches is as new
        /// (`-DER_TX_RESTART`) and no transaction over it is undecided (`-DER_INPROGRESS`),
        /// so a punch never lands under an update whose parity covered what it removes.
        pub ec_guard: Flag,
    }
}

/// List dkeys.
pub const LIST_DKEYS: u8 = 0;
/// List akeys under a dkey.
pub const LIST_AKEYS: u8 = 1;
/// List extents of an array akey.
pub const LIST_RECXS: u8 = 2;

wire_struct! {
    /// `ObjList` request.
    pub struct ObjListReq {
        /// Where.
        pub target: ObjTarget,
        /// Epoch to enumerate at.
        pub epoch: u64,
        /// [`LIST_DKEYS`], [`LIST_AKEYS`] or [`LIST_RECXS`].
        pub kind: u8,
        /// The dkey (akeys and extents).
        pub dkey: Option<Key>,
        /// The akey (extents).
        pub akey: Option<Key>,
        /// Where to resume.
        pub anchor: Anchor,
        /// At most this many entries.
        pub count_max: u32,
        /// At most this many key bytes in total.
        pub bytes_max: u64,
    }
}

wire_struct! {
    /// An extent and the epoch it was written at.
    pub struct RecxEpoch {
        /// The extent.
        pub recx: Recx,
        /// Its epoch.
        pub epoch: u64,
    }
}

wire_struct! {
    /// `ObjList` reply.
    pub struct ObjListReply {
        /// Keys found, in order.
        pub keys: Vec<Key>,
        /// Extents found (for [`LIST_RECXS`]).
        pub recxs: Vec<RecxEpoch>,
        /// Record size of the listed extents.
        pub record_size: u64,
        /// Where to resume.
        pub anchor: Anchor,
        /// Whether the enumeration reached the end.
        pub eof: Flag,
        /// When nothing fit: the size of the next key (for `-DER_KEY2BIG`).
        pub key_size_needed: u64,
    }
}

/// `DAOS_GET_DKEY`.
pub const GET_DKEY: u32 = 1 << 0;
/// `DAOS_GET_AKEY`.
pub const GET_AKEY: u32 = 1 << 1;
/// `DAOS_GET_RECX`.
pub const GET_RECX: u32 = 1 << 2;
/// `DAOS_GET_MAX`.
pub const GET_MAX: u32 = 1 << 3;
/// `DAOS_GET_MIN`.
pub const GET_MIN: u32 = 1 << 4;

wire_struct! {
    /// `ObjQueryKey` request.
    pub struct ObjQueryKeyReq {
        /// Where.
        pub target: ObjTarget,
        /// Epoch to look at.
        pub epoch: u64,
        /// `DAOS_GET_*` flags.
        pub flags: u32,
        /// The dkey, when only akeys or extents are asked for.
        pub dkey: Option<Key>,
        /// The akey, when only extents are asked for.
        pub akey: Option<Key>,
    }
}

wire_struct! {
    /// `ObjQueryKey` reply. Absent fields mean nothing was found.
    pub struct ObjQueryKeyReply {
        /// The dkey found.
        pub dkey: Option<Key>,
        /// The akey found.
        pub akey: Option<Key>,
        /// The extent found.
        pub recx: Option<Recx>,
    }
}

/// An empty body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Empty;

impl Wire for Empty {
    const ENCODED_SIZE_MIN: usize = 0;
    fn encode(&self, _: &mut Encoder) {}
    fn decode(_: &mut Decoder<'_>) -> Result<Self> {
        Ok(Empty)
    }
}

wire_struct! {
    /// `SvcForward` request: a pool service request the leader has applied, replayed on
    /// another engine of the pool with the leader's clock reading, so that the copies agree
    /// on timestamps and snapshot epochs.
    pub struct SvcForwardReq {
        /// The original opcode.
        pub opcode: u32,
        /// The leader's HLC reading when it applied the request.
        pub now: u64,
        /// The original request body.
        pub body: Blob,
        /// The caller's operation key ([`SvcKeyedReq`]; nil for none): an engine that
        /// applied a change under this key does not apply it again.
        pub key: Uuid,
    }
}

wire_struct! {
    /// `SvcRaft` request: one Raft message for a pool's service replica.
    pub struct SvcRaftReq {
        /// The pool.
        pub pool: Uuid,
        /// Which message: [`SVC_RAFT_VOTE`], [`SVC_RAFT_APPEND`] or [`SVC_RAFT_SNAPSHOT`].
        pub kind: u32,
        /// The message, encoded by the Raft layer.
        pub payload: Blob,
    }
}

/// `SvcRaftReq::kind`: a vote request.
pub const SVC_RAFT_VOTE: u32 = 1;
/// `SvcRaftReq::kind`: append entries (or a heartbeat).
pub const SVC_RAFT_APPEND: u32 = 2;
/// `SvcRaftReq::kind`: one chunk of a snapshot.
pub const SVC_RAFT_SNAPSHOT: u32 = 3;

wire_struct! {
    /// `SvcStart` request, from a pool service leader to an engine of the pool that is to
    /// become a service replica: start its Raft replica, which then catches up as a learner
    /// before the leader makes it a voter.
    pub struct SvcStartReq {
        /// The pool.
        pub pool: Uuid,
    }
}

wire_struct! {
    /// `SvcSync` request: wait until the pool's Raft log is applied up to `index`.
    pub struct SvcSyncReq {
        /// The pool.
        pub pool: Uuid,
        /// The log index to wait for.
        pub index: u64,
    }
}

wire_struct! {
    /// `SvcKeyed` request: a pool service request (`opcode`, `body` as sent alone) under an
    /// operation key the caller keeps across its retries of that request.
    pub struct SvcKeyedReq {
        /// The operation key: unique per request, the same for each retry of it.
        pub key: Uuid,
        /// The request's opcode.
        pub opcode: u32,
        /// The request's body.
        pub body: Blob,
    }
}

impl SvcKeyedReq {
    /// Wraps request `body` of `opcode` under `key`.
    pub fn wrap(key: Uuid, opcode: crate::Opcode, body: &impl Wire) -> SvcKeyedReq {
        let mut e = Encoder::new();
        body.encode(&mut e);
        SvcKeyedReq {
            key,
            opcode: opcode as u32,
            body: Blob(e.finish()),
        }
    }
}

/// `MgmtPoolUpdateReq::op`: exclude targets (DAOS `dmg pool exclude`, and `self_heal`).
pub const POOL_UPDATE_EXCLUDE: u32 = 1;
/// `MgmtPoolUpdateReq::op`: drain targets (`dmg pool drain`).
pub const POOL_UPDATE_DRAIN: u32 = 2;
/// `MgmtPoolUpdateReq::op`: reintegrate targets (`dmg pool reintegrate`).
pub const POOL_UPDATE_REINTEGRATE: u32 = 3;
/// `MgmtPoolUpdateReq::op`: the rebuild of map version `map_version` finished on every engine
/// (`Down`/`Drain` → `DownOut`, `Up` → `UpIn`); refused with `-DER_STALE` if the map moved on.
pub const POOL_UPDATE_REBUILD_DONE: u32 = 4;
/// `MgmtPoolUpdateReq::op`: add the engine of `rank_entry` to the pool and start integrating
/// its targets (`dmg pool extend`).
pub const POOL_UPDATE_EXTEND: u32 = 5;
/// `MgmtPoolUpdateReq::op`: a rebuild pass over map version `map_version` found every object
/// shard's group complete and moved nothing; if every target is `UpIn`, the map forgets its
/// base chain (`PoolMap::rebuild_clean`). Refused with `-DER_STALE` if the map moved on.
pub const POOL_UPDATE_REBUILD_CLEAN: u32 = 6;

wire_struct! {
    /// `MgmtPoolUpdate` request: one rank's targets change state in a pool's map.
    pub struct MgmtPoolUpdateReq {
        /// The pool.
        pub pool: Uuid,
        /// One of `POOL_UPDATE_*`.
        pub op: u32,
        /// The engine.
        pub rank: u32,
        /// Target indexes within the engine; empty means all of them.
        pub targets: Vec<u32>,
        /// For [`POOL_UPDATE_REBUILD_DONE`]: the map version whose rebuild finished (else 0).
        pub map_version: u32,
        /// For [`POOL_UPDATE_EXTEND`]: the joining engine, an encoded
        /// `daos_placement::RankEntry` (else empty).
        pub rank_entry: Blob,
    }
}

wire_struct! {
    /// `MgmtPoolMap` request: the leader's pool map after a change.
    pub struct MgmtPoolMapReq {
        /// The pool.
        pub pool: Uuid,
        /// The map; taken only if newer than the engine's copy.
        pub map: WireMap,
        /// The leader's pool service state ([`SvcState`], encoded), which an engine
        /// returning to the pool (its targets `Up` again) merges into its own copy: it missed
        /// containers, snapshots and handles while it was out, and lost its handles if it
        /// restarted. Empty when not sent.
        pub state: Blob,
    }
}

wire_struct! {
    /// An open container handle, as the pool service leader passes it on.
    pub struct SyncHandle {
        /// The container handle.
        pub handle: Uuid,
        /// The container it opens.
        pub cont: Uuid,
        /// The pool handle it was opened through.
        pub pool_handle: Uuid,
        /// Whether it may write.
        pub write: Flag,
    }
}

wire_struct! {
    /// A pool service's state for a returning engine (inside [`MgmtPoolMapReq`]).
    pub struct SvcState {
        /// The leader's `svc.meta` bytes (label, properties, map, containers, snapshots).
        pub meta: Blob,
        /// Connected pool handles.
        pub pool_handles: Vec<Uuid>,
        /// Open container handles.
        pub cont_handles: Vec<SyncHandle>,
    }
}

wire_struct! {
    /// `MgmtPoolUpdate` reply.
    pub struct MgmtPoolUpdateReply {
        /// The pool map version after the change.
        pub map_version: u32,
        /// The pool map after the change.
        pub map: WireMap,
    }
}

/// `MgmtRebuildReq::op`: start rebuilding for the map version given (stopping any older job).
pub const REBUILD_START: u8 = 0;
/// `MgmtRebuildReq::op`: stop the job in progress (`dmg pool rebuild stop`).
pub const REBUILD_STOP: u8 = 1;
/// `MgmtRebuildReq::op`: report progress only.
pub const REBUILD_QUERY: u8 = 2;
/// `MgmtRebuildReq::op`: accept pushes with the job's handle (sent to every engine before any
/// engine starts, so no push meets a target that does not know the handle yet).
pub const REBUILD_PREPARE: u8 = 3;

/// `RebuildStatus::state`: no rebuild ever ran on this engine for the pool.
pub const REBUILD_IDLE: u8 = 0;
/// `RebuildStatus::state`: scanning and pushing.
pub const REBUILD_BUSY: u8 = 1;
/// `RebuildStatus::state`: every target finished the job without error.
pub const REBUILD_DONE: u8 = 2;
/// `RebuildStatus::state`: stopped on request before it finished.
pub const REBUILD_STOPPED: u8 = 3;
/// `RebuildStatus::state`: a target failed (see `der` and `error`); the job can be restarted.
pub const REBUILD_FAILED: u8 = 4;

impl RebuildStatus {
    /// The progress of several parts (an engine's targets, a pool's engines): map version
    /// the highest, counters summed, the first failure kept, and the state `FAILED` if any
    /// part failed, else `STOPPED` if any stopped, else `BUSY` if any is busy, else `DONE`
    /// if every part is done, else `IDLE` (some part has no job).
    pub fn combine(parts: impl IntoIterator<Item = RebuildStatus>) -> RebuildStatus {
        let mut total = RebuildStatus::default();
        let mut states = Vec::new();
        for part in parts {
            total.map_version = total.map_version.max(part.map_version);
            total.scanned += part.scanned;
            total.objects += part.objects;
            total.records += part.records;
            total.bytes += part.bytes;
            total.unclean += part.unclean;
            total.reclaimed += part.reclaimed;
            if total.der == 0 && part.der != 0 {
                total.der = part.der;
                total.error = part.error;
            }
            states.push(part.state);
        }
        let any = |s: u8| states.contains(&s);
        total.state = if any(REBUILD_FAILED) {
            REBUILD_FAILED
        } else if any(REBUILD_STOPPED) {
            REBUILD_STOPPED
        } else if any(REBUILD_BUSY) {
            REBUILD_BUSY
        } else if !states.is_empty() && states.iter().all(|s| *s == REBUILD_DONE) {
            REBUILD_DONE
        } else {
            REBUILD_IDLE
        };
        total
    }
}

wire_struct! {
    /// `MgmtRebuild` request (control plane → each engine of a pool): start, stop or query
    /// the rebuild of one pool map version on this engine's targets.
    pub struct MgmtRebuildReq {
        /// The pool.
        pub pool: Uuid,
        /// `REBUILD_PREPARE`, `REBUILD_START`, `REBUILD_STOP` or `REBUILD_QUERY`.
        pub op: u8,
        /// The pool map version to rebuild for; the engine must hold exactly this version.
        pub map_version: u32,
        /// The handle rebuild pushes use on other engines (a container handle for every
        /// container of the pool, valid for this job only).
        pub handle: Uuid,
    }
}

wire_struct! {
    #[derive(Default)]
    /// Rebuild progress of one engine (the reply to every `MgmtRebuild` request).
    pub struct RebuildStatus {
        /// Map version of the job (0: none).
        pub map_version: u32,
        /// One of `REBUILD_IDLE`, `REBUILD_BUSY`, `REBUILD_DONE`, `REBUILD_STOPPED`,
        /// `REBUILD_FAILED`.
        pub state: u8,
        /// Object shards scanned so far.
        pub scanned: u64,
        /// Object shards pushed to a new location.
        pub objects: u64,
        /// Records (values, extents and punches) pushed.
        pub records: u64,
        /// Bytes of data pushed.
        pub bytes: u64,
        /// Object shards scanned whose group is not complete everywhere in the job's layout
        /// (a shard not readable at its place, or a shadow).
        pub unclean: u64,
        /// Object shards deleted because the layout places them elsewhere and their group is
        /// whole there (`daos_placement::rebuild::orphaned`).
        pub reclaimed: u64,
        /// 0, or the DER number of the first failure (positive: 1013 for `DER_AGAIN`).
        pub der: u32,
        /// What failed, for the administrator.
        pub error: String,
    }
}
