//! Objects: update, fetch, punch, enumerate and query (`daos_obj_*`).
//!
//! Routing: the object's layout comes from the pool map (placement is algorithmic); a dkey's
//! group is its stable hash modulo the group count, and the request goes to the target of that
//! group's shard. Data of at most [`INLINE_DATA_MAX`] bytes travels inside the message; larger
//! data is registered and moved by the engine with RMA. With checksums on, the client computes
//! CRC-32C per chunk before an update and verifies the engine's checksums after a fetch.

use crate::buf::SgList;
use crate::cont::Container;
use crate::ec::EcShape;
use crate::pool::MAP_REFRESH_INTERVAL;
use daos_fabric::{MemoryRegion, NetContext};
use daos_placement::{Layout, ShardLocation};
use daos_proto::msg::*;
use daos_proto::Opcode;
use daos_types::csum::{chunk_count, ChunkHasher};
use daos_types::dtx::{DtxInfo, DtxPeer};
use daos_types::oclass::Redundancy;
use daos_types::{Der, Epoch, Error, KeyOrder, ObjectId, Result, Uuid, EPOCH_MAX};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long I/O waits for the pool map to drop an engine that stopped answering (the
/// control plane excludes a dead engine as soon as it sees the process exit).
const MAP_WAIT: Duration = Duration::from_secs(30);

/// How long a call may wait before the client checks whether its engine was excluded.
const SUSPECT_AFTER: Duration = Duration::from_secs(1);
/// Pause before sending again to an engine that has not installed the client's pool map yet.
const STALE_PAUSE: Duration = Duration::from_millis(20);
/// How long a fetch waits for the transactions over its data to be decided
/// (`-DER_INPROGRESS`) before it returns that error: longer than a dead client's transaction
/// takes its participants to resolve.
const INPROGRESS_WAIT: Duration = Duration::from_secs(40);
/// First and longest pause between fetches that met an undecided transaction.
const INPROGRESS_PAUSE_MIN: Duration = Duration::from_micros(500);
const INPROGRESS_PAUSE_MAX: Duration = Duration::from_millis(50);

/// Whether an error means the engine could not be reached (rather than refused the request).
pub(crate) fn is_unreachable(err: &Error) -> bool {
    matches!(err.der(), Der::Unreach | Der::Timedout)
}

pub use daos_proto::msg::Recx;

/// `DAOS_OO_RO`.
pub const OO_RO: u32 = 2;
/// `DAOS_OO_RW`.
pub const OO_RW: u32 = 4;

/// What an akey holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IodKind {
    /// A single value (`DAOS_IOD_SINGLE`).
    Single,
    /// An array of records (`DAOS_IOD_ARRAY`).
    Array,
}

/// One akey's I/O descriptor (`daos_iod_t`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iod {
    /// The akey.
    pub akey: Vec<u8>,
    /// Single value or array.
    pub kind: IodKind,
    /// Record size (single value: its size); 0 means punch on update and "any" on fetch.
    pub size: u64,
    /// Extents (arrays).
    pub recxs: Vec<Recx>,
    /// Per-akey conditions (`DAOS_COND_AKEY_*` with `DAOS_COND_PER_AKEY`).
    pub flags: u64,
}

impl Iod {
    /// A single value of `size` bytes.
    pub fn single(akey: impl Into<Vec<u8>>, size: u64) -> Iod {
        Iod {
            akey: akey.into(),
            kind: IodKind::Single,
            size,
            recxs: Vec::new(),
            flags: 0,
        }
    }

    /// An array with `size`-byte records over `recxs`.
    pub fn array(akey: impl Into<Vec<u8>>, size: u64, recxs: Vec<Recx>) -> Iod {
        Iod {
            akey: akey.into(),
            kind: IodKind::Array,
            size,
            recxs,
            flags: 0,
        }
    }

    /// Bytes of data this iod describes.
    pub fn data_len(&self) -> Result<u64> {
        match self.kind {
            IodKind::Single => Ok(self.size),
            IodKind::Array => self.recxs.iter().try_fold(0u64, |acc, r| {
                r.nr.checked_mul(self.size)
                    .and_then(|n| acc.checked_add(n))
                    .ok_or_else(|| Error::new(Der::Inval, "extent size overflows"))
            }),
        }
    }

    pub(crate) fn desc(&self) -> IodDesc {
        IodDesc {
            akey: Key(self.akey.clone()),
            kind: if self.kind == IodKind::Single {
                IOD_SINGLE
            } else {
                IOD_ARRAY
            },
            size: self.size,
            flags: self.flags,
            recxs: self.recxs.clone(),
        }
    }
}

/// What a fetch found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchResult {
    /// Per iod: the record size found (single value: its size); 0 when nothing is there.
    pub sizes: Vec<u64>,
    /// Per iod: bytes written into its buffer.
    pub lens: Vec<u64>,
    /// Per iod: extents holding data within the request (`daos_iom_t`).
    pub extents: Vec<Vec<Recx>>,
    /// Whether a value was larger than its buffer (`-DER_REC2BIG`; `sizes` says how large).
    pub too_big: bool,
}

/// A position in an enumeration (`daos_anchor_t`): the shard, and the engine's position
/// within it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchor {
    /// Shard (group) being enumerated (`da_shard`).
    pub shard: u32,
    /// The engine's position within the shard (`da_buf`).
    pub position: Vec<u8>,
    /// Whether the enumeration is over (`da_type == DAOS_ANCHOR_TYPE_EOF`).
    pub eof: bool,
}

/// A page of enumerated keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyList {
    /// Keys found.
    pub keys: Vec<Vec<u8>>,
    /// When no key fit: the size of the next key (`-DER_KEY2BIG`).
    pub key_size_needed: u64,
}

/// An open object.
#[derive(Clone)]
pub struct Object {
    cont: Arc<Container>,
    oid: ObjectId,
    /// The layout and the pool map version it was computed from.
    layout: Arc<RwLock<(u32, Arc<Layout>)>>,
    writable: bool,
    /// Cells and codec of an erasure-coded class.
    pub(crate) ec: Option<Arc<EcShape>>,
}

fn check_key(key: &[u8]) -> Result<()> {
    Key::check(key)
}

/// Which redundancy groups of an object one [`Object::fanout`] reaches.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Groups<'a> {
    /// Every group at once (a whole-object punch of an unredundant class).
    All,
    /// The group of a dkey.
    Of(&'a [u8]),
    /// One group by index, at a given epoch (else a new one from the client's clock).
    Index(usize, Option<Epoch>),
}

impl Object {
    /// Opens an object (`daos_obj_open`): computes its layout from the pool map; no message
    /// is sent.
    ///
    /// Errors: `-DER_INVAL` when the id carries no valid type or class; `-DER_NO_PERM` to
    /// open read-write through a read-only container handle; `-DER_INVAL` for an
    /// erasure-coded class when the container's `ec_cell_sz` is 0.
    pub fn open(cont: &Arc<Container>, oid: ObjectId, mode: u32) -> Result<Object> {
        cont.check_open()?;
        oid.object_type()
            .ok_or_else(|| Error::new(Der::Inval, format!("object {oid:?} has no valid type")))?;
        let writable = mode & OO_RW != 0;
        if writable && !cont.writable() {
            return Err(Error::new(
                Der::NoPerm,
                "read-write object open through a read-only container handle",
            ));
        }
        let ec = match oid.class().map(|c| c.redundancy) {
            Some(Redundancy::ErasureCoded { data, parity }) => {
                let cell = cont
                    .props()
                    .number(daos_types::prop::CO_EC_CELL_SZ)
                    .unwrap_or(daos_types::prop::EC_CELL_SIZE_DEFAULT);
                Some(Arc::new(EcShape::new(
                    data as usize,
                    parity as usize,
                    cell,
                )?))
            }
            _ => None,
        };
        let (version, placement) = cont.pool().placement();
        let layout = placement.layout(oid)?;
        Ok(Object {
            cont: cont.clone(),
            oid,
            layout: Arc::new(RwLock::new((version, Arc::new(layout)))),
            writable,
            ec,
        })
    }

    /// The object id.
    pub fn oid(&self) -> ObjectId {
        self.oid
    }

    /// The container.
    pub fn container(&self) -> &Arc<Container> {
        &self.cont
    }

    /// The layout in the newest pool map this client holds (recomputed when the map moved).
    pub fn layout(&self) -> Arc<Layout> {
        let pool = self.cont.pool();
        {
            let held = self.layout.read().expect("layout lock");
            if held.0 >= pool.map_version() {
                return held.1.clone();
            }
        }
        let (version, placement) = pool.placement();
        match placement.layout(self.oid) {
            Ok(layout) => {
                let layout = Arc::new(layout);
                *self.layout.write().expect("layout lock") = (version, layout.clone());
                layout
            }
            // The class was valid at open; a map too small for it now leaves the old layout,
            // whose shards then fail as unreachable.
            Err(_) => self.layout.read().expect("layout lock").1.clone(),
        }
    }

    pub(crate) fn live_shards(&self, layout: &Layout, group: usize) -> Result<Vec<ShardLocation>> {
        if !layout.group_is_available(group) {
            let lost: Vec<String> = layout.groups[group]
                .iter()
                .filter(|s| !s.available)
                .map(|s| format!("{}:{}", s.rank, s.target))
                .collect();
            return Err(Error::new(
                Der::DataLoss,
                format!(
                    "object {:?} (class {}): group {group} lost shards on targets {} beyond what the class tolerates; I/O refused until the engines return",
                    self.oid,
                    layout.class.name(),
                    lost.join(", ")
                ),
            ));
        }
        Ok(layout.groups[group]
            .iter()
            .filter(|s| s.available)
            .copied()
            .collect())
    }

    /// The shards to read `group` from, best first: complete replicas only, starting at one
    /// picked by `spread` so that readers share the load.
    fn read_order(&self, layout: &Layout, group: usize, spread: u64) -> Result<Vec<ShardLocation>> {
        self.live_shards(layout, group)?;
        let mut readable: Vec<ShardLocation> = layout
            .readable_places(group)
            .into_iter()
            .flatten()
            .collect();
        if readable.is_empty() {
            return Err(Error::new(
                Der::DataLoss,
                format!(
                    "object {:?}: every live shard of group {group} is still being rebuilt",
                    self.oid
                ),
            ));
        }
        let start = (spread % readable.len() as u64) as usize;
        readable.rotate_left(start);
        Ok(readable)
    }

    /// The first shard to read `dkey` from.
    fn shard_for(&self, dkey: &[u8]) -> Result<ShardLocation> {
        let layout = self.layout();
        let group = layout.group_of(dkey);
        Ok(self.read_order(&layout, group, daos_types::hash::key_hash(dkey))?[0])
    }

    /// The shards that together hold every key of `group`: one readable copy, or for an
    /// erasure-coded group its first readable parity shard (else its readable data shards).
    fn key_shards(&self, layout: &Layout, group: usize) -> Result<Vec<ShardLocation>> {
        match &self.ec {
            Some(ec) => {
                self.live_shards(layout, group)?;
                Ok(self.ec_key_shards(ec, layout, group))
            }
            None => Ok(vec![self.read_order(layout, group, 0)?[0]]),
        }
    }

    /// Sends one `ObjQueryKey` to `shard` (unversioned, as enumeration), ending with
    /// `-DER_UNREACH` if the shard's target is excluded while it waits.
    pub(crate) async fn query_one(
        &self,
        net: &Arc<NetContext>,
        shard: &ShardLocation,
        req: &ObjQueryKeyReq,
    ) -> Result<ObjQueryKeyReply> {
        let call =
            self.call::<ObjQueryKeyReply>(net, shard, Opcode::ObjQueryKey, req, 16 * 1024, 0);
        self.unless_excluded(net, std::slice::from_ref(shard), call)
            .await
    }

    /// Runs `op` again, on the next pool map, while it fails because an engine does not
    /// answer (for calls that choose their shards from the map each time).
    async fn retry_unreachable<T, F: std::future::Future<Output = Result<T>>>(
        &self,
        net: &Arc<NetContext>,
        op: impl Fn() -> F,
    ) -> Result<T> {
        loop {
            let version = self.cont.pool().map_version();
            match op().await {
                Err(err) if is_unreachable(&err) => self.await_new_map(net, version, err).await?,
                other => return other,
            }
        }
    }

    /// After an engine did not answer: waits until the pool map moves past `version` (the
    /// control plane excludes dead engines), up to [`MAP_WAIT`]; returns `err` if it does not.
    pub(crate) async fn await_new_map(
        &self,
        net: &Arc<NetContext>,
        version: u32,
        err: Error,
    ) -> Result<()> {
        let deadline = Instant::now() + MAP_WAIT;
        let pool = self.cont.pool();
        loop {
            if pool.map_version() > version {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(err.with_context("the pool map did not change"));
            }
            if let Err(query_err) = pool.refresh_map(net).await {
                tracing::debug!("pool map refresh failed: {query_err}");
            }
            net.sleep_until(Instant::now() + MAP_REFRESH_INTERVAL).await;
        }
    }

    /// Resolves (with `-DER_UNREACH`) once the pool map shows one of `shards`' targets as
    /// unavailable, checking every [`SUSPECT_AFTER`] while a call is outstanding: a dead
    /// engine's calls would otherwise wait for the full RPC timeout, while the control plane
    /// excludes it as soon as its process is gone.
    async fn watch_exclusion(&self, net: &Arc<NetContext>, shards: &[ShardLocation]) -> Error {
        let pool = self.cont.pool();
        loop {
            net.sleep_until(Instant::now() + SUSPECT_AFTER).await;
            if let Err(err) = pool.refresh_map(net).await {
                tracing::debug!("pool map refresh failed: {err}");
            }
            let map = pool.map();
            if let Some(s) = shards.iter().find(|s| {
                map.target(s.rank, s.target)
                    .is_none_or(|t| t.state.is_unavailable())
            }) {
                return Error::new(
                    Der::Unreach,
                    format!(
                        "target {}:{} was excluded from the pool while a call to it waited",
                        s.rank, s.target
                    ),
                );
            }
        }
    }

    /// Runs `call` (I/O to `shards`) unless one of their targets is excluded from the pool
    /// while it waits, which ends it with `-DER_UNREACH` (see [`Object::watch_exclusion`]).
    pub(crate) async fn unless_excluded<T>(
        &self,
        net: &Arc<NetContext>,
        shards: &[ShardLocation],
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let call = std::pin::pin!(call);
        let watch = std::pin::pin!(self.watch_exclusion(net, shards));
        match futures::future::select(call, watch).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right((err, _)) => Err(err),
        }
    }

    /// Sends one request (built by `make` from each shard, its address, the change's epoch and
    /// its transaction; `None` sends nothing to that shard) to every live shard of `groups`
    /// and to the shadows of moving ones, at once, and waits for all. The shards of a
    /// redundant class (replicas, erasure-coded cells) all get one epoch (the one
    /// [`Groups::Index`] gives, else one from the client's HLC); otherwise (0) each engine
    /// picks its own. An engine that does not answer makes it wait for a new pool map and
    /// send again, with the same epoch: a replay rewrites the same version. Returns the
    /// highest epoch the engines reported.
    ///
    /// An update or a punch of one group of a replicated or erasure-coded class runs as a
    /// transaction (DAOS's DTX, see the engine's `dtx` module): every shard that gets a
    /// message prepares it, then the first one, the leader, commits it on all of them, so it
    /// is applied everywhere or nowhere. Each attempt has a fresh id. `make` also gets the
    /// layout the attempt is routed by. An erasure-coded update's or punch's
    /// `-DER_TX_RESTART` (its group's guard refused it) is returned, for the caller to read,
    /// encode or send again (`Object::ec_retry`).
    pub(crate) async fn fanout<Q: daos_types::codec::Wire, R: daos_types::codec::Wire>(
        &self,
        net: &Arc<NetContext>,
        groups: Groups<'_>,
        opcode: Opcode,
        make: impl Fn(&Layout, &ShardLocation, ObjTarget, u64, Option<&DtxInfo>) -> Option<Q>,
        reply_epoch: impl Fn(&R) -> u64,
    ) -> Result<u64> {
        let class = self.oid.class();
        let redundant = class.is_some_and(|c| c.redundancy != Redundancy::None);
        let epoch = match groups {
            Groups::Index(_, Some(epoch)) => epoch,
            _ if redundant => self.cont.pool().client().hlc_now(),
            _ => 0,
        };
        // Updates and punches of one redundant group. Reaching every group at once (a
        // whole-object punch of an unredundant class), shards may share targets: that is not
        // a transaction.
        let erasure = matches!(
            class.map(|c| c.redundancy),
            Some(Redundancy::ErasureCoded { .. })
        );
        let transactional = matches!(opcode, Opcode::ObjUpdate | Opcode::ObjPunch)
            && !matches!(groups, Groups::All)
            && redundant;
        let mut stale_since: Option<Instant> = None;
        loop {
            let version = self.cont.pool().map_version();
            let layout = self.layout();
            // Every available shard, and the old place of each moving one (its shadow).
            let indexes = match groups {
                Groups::Of(dkey) => vec![layout.group_of(dkey)],
                Groups::Index(g, _) if g < layout.groups.len() => vec![g],
                Groups::Index(g, _) => {
                    return Err(Error::new(
                        Der::Inval,
                        format!("{:?} has no group {g}", self.oid),
                    ))
                }
                Groups::All => (0..layout.groups.len()).collect(),
            };
            let mut shards = Vec::new();
            for g in indexes {
                self.live_shards(&layout, g)?;
                shards.extend(layout.write_places(g));
            }
            // A shard `make` has nothing for (an erasure-coded stripe's untouched cell) gets
            // no message and takes no part in the transaction.
            let (mut shards, mut bodies): (Vec<ShardLocation>, Vec<Q>) = shards
                .iter()
                .filter_map(|shard| {
                    Some((
                        *shard,
                        make(&layout, shard, self.target(shard), epoch, None)?,
                    ))
                })
                .unzip();
            // One live replica needs no transaction.
            let dtx = (transactional && shards.len() > 1).then(|| {
                let peer = |s: &ShardLocation| DtxPeer {
                    rank: s.rank,
                    target: s.target,
                    shard: s.shard,
                };
                DtxInfo {
                    id: Uuid::new_v4(),
                    map_version: version,
                    leader: peer(&shards[0]),
                    peers: shards.iter().map(peer).collect(),
                }
            });
            if let Some(info) = &dtx {
                (shards, bodies) = shards
                    .iter()
                    .filter_map(|shard| {
                        let body = make(&layout, shard, self.target(shard), epoch, Some(info))?;
                        Some((*shard, body))
                    })
                    .unzip();
            }
            let calls = shards
                .iter()
                .zip(&bodies)
                .map(|(shard, body)| self.call::<R>(net, shard, opcode, body, 64, version));
            let all = async { Ok(futures::future::join_all(calls).await) };
            let results = self
                .unless_excluded(net, &shards, all)
                .await
                .unwrap_or_else(|err| vec![Err(err)]);
            let mut applied = 0;
            let mut unreachable = None;
            let mut stale = None;
            let mut failed = None;
            for result in results {
                match result {
                    Ok(reply) => applied = applied.max(reply_epoch(&reply)),
                    Err(err) if is_unreachable(&err) => unreachable = Some(err),
                    Err(err) if err.der() == Der::Stale => stale = Some(err),
                    Err(err) => failed = Some(err),
                }
            }
            let outcome = match (&dtx, failed, unreachable, stale) {
                (Some(info), None, None, None) => self.dtx_commit(net, &shards[0], info).await,
                (None, None, None, None) => Ok(()),
                (dtx, failed, unreachable, stale) => {
                    if let Some(info) = dtx {
                        self.dtx_abort(net, &shards[0], info).await;
                    }
                    Err(failed.or(unreachable).or(stale).expect("one error"))
                }
            };
            // Send again to the layout of the next map (same epoch: a replay rewrites the
            // same version on the engines that took it).
            match outcome {
                Ok(()) => return Ok(applied),
                Err(err) if is_unreachable(&err) => self.await_new_map(net, version, err).await?,
                // Erasure-coded updates and punches are read (and encoded) again by their
                // callers, at a new epoch (`Object::ec_retry`).
                Err(err) if erasure && err.der() == Der::TxRestart => return Err(err),
                Err(err) if matches!(err.der(), Der::Stale | Der::TxRestart) => {
                    let since = *stale_since.get_or_insert_with(Instant::now);
                    self.after_stale(net, version, since, err).await?
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Asks a transaction's leader to commit it on every replica (`DtxCommit`).
    ///
    /// Errors: `-DER_STALE` (the pool map moved: the leader aborted; send again),
    /// `-DER_TX_RESTART` (the leader aborted it meanwhile; send again), `-DER_UNREACH`.
    async fn dtx_commit(
        &self,
        net: &Arc<NetContext>,
        leader: &ShardLocation,
        info: &DtxInfo,
    ) -> Result<()> {
        if crate::fault::active(crate::fault::Fault::DtxSkipCommit) {
            return Err(Error::new(
                Der::Io,
                format!("fault injected: transaction {} left prepared", info.id),
            ));
        }
        let req = self.dtx_req(leader, info);
        let call = self.call::<Empty>(net, leader, Opcode::DtxCommit, &req, 64, info.map_version);
        self.unless_excluded(net, std::slice::from_ref(leader), call)
            .await
            .map(drop)
    }

    /// Tells a transaction's leader that a replica failed to prepare it (`DtxAbort`, naming
    /// the participants). The leader answers success once every replica that counts has the
    /// abort durably. Best effort: the answer is not used (when the leader is gone or no
    /// longer decides, the participants resolve the transaction by themselves, see
    /// `daos_engine::dtx`, and may commit it).
    async fn dtx_abort(&self, net: &Arc<NetContext>, leader: &ShardLocation, info: &DtxInfo) {
        let req = DtxReq {
            info: Some(info.clone()),
            ..self.dtx_req(leader, info)
        };
        let call = self.call::<Empty>(net, leader, Opcode::DtxAbort, &req, 64, info.map_version);
        if let Err(err) = self
            .unless_excluded(net, std::slice::from_ref(leader), call)
            .await
        {
            tracing::debug!("transaction {} not aborted by its leader: {err}", info.id);
        }
    }

    fn dtx_req(&self, leader: &ShardLocation, info: &DtxInfo) -> DtxReq {
        DtxReq {
            pool: self.cont.pool().uuid(),
            cont: self.cont.uuid(),
            oid: self.oid,
            shard: leader.shard,
            id: info.id,
            info: None,
        }
    }

    pub(crate) fn target(&self, shard: &ShardLocation) -> ObjTarget {
        ObjTarget {
            pool: self.cont.pool().uuid(),
            cont: self.cont.uuid(),
            handle: self.cont.handle(),
            oid: self.oid,
            shard: shard.shard,
        }
    }

    fn addr(&self, shard: &ShardLocation) -> Result<Vec<u8>> {
        self.cont
            .pool()
            .map()
            .target_addr(shard.rank, shard.target)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                Error::new(
                    Der::Unreach,
                    format!(
                        "target {}:{} is not in the pool map",
                        shard.rank, shard.target
                    ),
                )
            })
    }

    /// Sends one request to `shard`, routed by pool map version `version` (0: unchecked,
    /// for enumeration, which reads any complete copy).
    pub(crate) async fn call<T: daos_types::codec::Wire>(
        &self,
        net: &Arc<NetContext>,
        shard: &ShardLocation,
        opcode: Opcode,
        body: &impl daos_types::codec::Wire,
        capacity: usize,
        version: u32,
    ) -> Result<T> {
        self.cont.check_open()?;
        let addr = self.addr(shard)?;
        self.cont
            .pool()
            .client()
            .call_at(net, &addr, opcode, body, capacity, version)
            .await
    }

    /// After an engine answered `-DER_STALE` to a request routed by map `version`: reads the
    /// pool map again; if it did not move, the engine has not installed the newest map yet,
    /// so waits a moment. Gives up with `err` after [`MAP_WAIT`] from `since` (the first
    /// `-DER_STALE` of the operation).
    pub(crate) async fn after_stale(
        &self,
        net: &Arc<NetContext>,
        version: u32,
        since: Instant,
        err: Error,
    ) -> Result<()> {
        if since.elapsed() >= MAP_WAIT {
            return Err(err.with_context("engines did not agree on a pool map"));
        }
        let pool = self.cont.pool();
        if let Err(query_err) = pool.query(net).await {
            tracing::debug!("pool map refresh failed: {query_err}");
        }
        if pool.map_version() == version {
            net.sleep_until(Instant::now() + STALE_PAUSE).await;
        }
        Ok(())
    }

    fn checksums(&self, iods: &[Iod], sgls: &[SgList]) -> (u64, Vec<Vec<u32>>) {
        let chunk = self.cont.csum_chunk();
        if chunk == 0 {
            return (0, Vec::new());
        }
        let mut all = Vec::with_capacity(iods.len());
        for (iod, sgl) in iods.iter().zip(sgls) {
            all.push(Self::iod_checksums(iod, sgl, 0, chunk));
        }
        (chunk, all)
    }

    /// CRC-32C per `chunk` of the data of `iod`, read from `sgl` at stream offset `at`.
    pub(crate) fn iod_checksums(iod: &Iod, sgl: &SgList, at: u64, chunk: u64) -> Vec<u32> {
        {
            let mut csums = Vec::new();
            match iod.kind {
                IodKind::Single => {
                    if iod.size > 0 {
                        let mut crc = 0u32;
                        sgl.for_each_range(at, iod.size, |b| crc = crc32c::crc32c_append(crc, b));
                        csums.push(crc);
                    }
                }
                IodKind::Array => {
                    if iod.size > 0 {
                        let mut offset = at;
                        for recx in &iod.recxs {
                            let len = recx.nr * iod.size;
                            let mut hasher = ChunkHasher::new(recx.idx * iod.size, chunk);
                            sgl.for_each_range(offset, len, |b| hasher.update(b));
                            csums.extend(hasher.finish());
                            offset += len;
                        }
                    }
                }
            }
            csums
        }
    }

    /// Checks a fetch's arguments: the keys and descriptors, one list per iod, and buffers
    /// that hold every array iod of known record size (`-DER_REC2BIG` otherwise).
    pub(crate) fn check_fetch(&self, dkey: &[u8], iods: &[Iod], sgls: &[SgList]) -> Result<()> {
        self.validate(dkey, iods, None)?;
        if sgls.len() != iods.len() {
            return Err(Error::new(
                Der::Inval,
                "one scatter-gather list per iod is required",
            ));
        }
        for (i, (iod, sgl)) in iods.iter().zip(sgls).enumerate() {
            if iod.kind == IodKind::Array && iod.size > 0 && sgl.len() < iod.data_len()? {
                return Err(Error::new(
                    Der::Rec2big,
                    format!("iod {i}: buffers smaller than the extents"),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn validate(
        &self,
        dkey: &[u8],
        iods: &[Iod],
        sgls: Option<&[SgList]>,
    ) -> Result<Vec<u64>> {
        check_key(dkey)?;
        if iods.is_empty() {
            return Err(Error::new(Der::Inval, "no iods"));
        }
        let mut lens = Vec::with_capacity(iods.len());
        for (i, iod) in iods.iter().enumerate() {
            check_key(&iod.akey)?;
            if iod.kind == IodKind::Array && iod.recxs.is_empty() {
                return Err(Error::new(Der::Inval, "array iod without extents"));
            }
            if iod.kind == IodKind::Single && !iod.recxs.is_empty() {
                return Err(Error::new(Der::Inval, "single value iod with extents"));
            }
            let len = iod.data_len()?;
            if let Some(sgls) = sgls {
                if sgls.len() != iods.len() {
                    return Err(Error::new(
                        Der::Inval,
                        "one scatter-gather list per iod is required",
                    ));
                }
                if sgls[i].len() < len {
                    return Err(Error::new(
                        Der::Inval,
                        format!(
                            "iod {i} describes {len} bytes but its buffers hold {}",
                            sgls[i].len()
                        ),
                    ));
                }
            }
            lens.push(len);
        }
        Ok(lens)
    }

    /// Writes `iods` under `dkey` from `sgls` (one list per iod) (`daos_obj_update`).
    /// `flags` are `DAOS_COND_*`. Returns the epoch the update was applied at.
    ///
    /// Errors: `-DER_EXIST`/`-DER_NONEXIST` for failed conditions; `-DER_KEY2BIG` for keys
    /// over the limit; `-DER_INVAL` for inconsistent descriptors; `-DER_NO_PERM` through a
    /// read-only handle; `-DER_CSUM` if data was corrupted in transfer.
    pub async fn update(
        &self,
        net: &Arc<NetContext>,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: Vec<SgList>,
    ) -> Result<Epoch> {
        if !self.writable {
            return Err(Error::new(Der::NoPerm, "object is open read-only"));
        }
        let lens = self.validate(dkey, iods, Some(&sgls))?;
        if let Some(ec) = &self.ec {
            return self.ec_update(net, ec, flags, dkey, iods, &sgls).await;
        }
        let total: u64 = lens.iter().sum();
        let (csum_chunk, csums) = self.checksums(iods, &sgls);
        let mut regions: Vec<MemoryRegion> = Vec::new();
        let data = if total as usize <= INLINE_DATA_MAX {
            let mut bytes = vec![0u8; total as usize];
            let mut at = 0usize;
            for (sgl, len) in sgls.iter().zip(&lens) {
                sgl.read_at(0, &mut bytes[at..at + *len as usize]);
                at += *len as usize;
            }
            Payload::Inline(bytes)
        } else {
            let mut descs = Vec::new();
            for (sgl, len) in sgls.iter().zip(&lens) {
                let mut left = *len;
                for iov in sgl.iovs() {
                    if left == 0 {
                        break;
                    }
                    if iov.len == 0 {
                        continue;
                    }
                    // SAFETY: the SgList's contract keeps the memory valid while this call
                    // runs; `regions` is dropped before `sgls` at the end of the call.
                    let mr = unsafe {
                        self.cont.pool().client().fabric().register_raw(
                            iov.ptr,
                            iov.len,
                            daos_fabric::Access::remote_read() | daos_fabric::Access::local(),
                        )?
                    };
                    let take = (iov.len as u64).min(left);
                    let r = mr.remote(0, take as usize);
                    descs.push(BulkDesc {
                        addr: r.addr,
                        len: r.len,
                        key: r.key,
                    });
                    regions.push(mr);
                    left -= take;
                }
            }
            Payload::Bulk(descs)
        };
        let iods = iods.iter().map(Iod::desc).collect::<Vec<_>>();
        // Every replica pulls the same bytes from these buffers.
        let result = self
            .fanout(
                net,
                Groups::Of(dkey),
                Opcode::ObjUpdate,
                |_, _, target, epoch, dtx| {
                    Some(ObjUpdateReq {
                        target,
                        epoch,
                        flags,
                        dkey: Key(dkey.to_vec()),
                        iods: iods.clone(),
                        csum_chunk,
                        csums: csums.clone(),
                        data: data.clone(),
                        dtx: dtx.cloned(),
                        ec_guard: None,
                    })
                },
                |reply: &ObjUpdateReply| reply.epoch,
            )
            .await;
        drop(regions);
        drop(sgls);
        result
    }

    /// Reads `iods` under `dkey` at `epoch` (`DAOS_EPOCH_MAX` for the latest) into `sgls`
    /// (`daos_obj_fetch`). Returns the sizes found, the bytes written per iod and the
    /// buffers. A single value larger than its buffer sets [`FetchResult::too_big`].
    ///
    /// An array iod of size 0 (`DAOS_REC_ANY`) with buffers reads with the record size found:
    /// a first round trip learns the size, a second reads the data.
    ///
    /// Errors: `-DER_NONEXIST` for failed `DAOS_COND_*_FETCH`; `-DER_CSUM` when data fails
    /// its checksum; `-DER_REC_SIZE` for a wrong array record size.
    pub async fn fetch(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: Vec<SgList>,
    ) -> Result<(FetchResult, Vec<SgList>)> {
        let any_size = |(iod, sgl): (&Iod, &SgList)| {
            iod.kind == IodKind::Array && iod.size == 0 && !sgl.is_empty()
        };
        let mut sgls = sgls;
        if !iods.iter().zip(&sgls).any(any_size) {
            let result = self
                .fetch_routed(net, epoch, flags, dkey, iods, &mut sgls)
                .await?;
            return Ok((result, sgls));
        }
        let mut probes: Vec<SgList> = iods.iter().map(|_| SgList::from_vecs(Vec::new())).collect();
        let found = self
            .fetch_routed(net, epoch, flags, dkey, iods, &mut probes)
            .await?;
        let sized: Vec<Iod> = iods
            .iter()
            .zip(&found.sizes)
            .map(|(iod, &size)| {
                let mut iod = iod.clone();
                if iod.kind == IodKind::Array && iod.size == 0 {
                    iod.size = size;
                }
                iod
            })
            .collect();
        let result = self
            .fetch_routed(net, epoch, flags, dkey, &sized, &mut sgls)
            .await?;
        Ok((result, sgls))
    }

    /// Reads `iods` under `dkey` at `epoch` from one replica of the dkey's group: the
    /// `replica`-th of its readable places, in layout order (record sizes must be given).
    /// For consistency checks that compare replicas, as DAOS's `daos_obj_verify` does;
    /// ordinary reads use [`Object::fetch`], which picks a replica itself.
    ///
    /// Errors: `-DER_NONEXIST` when the group has no such readable replica, or the object is
    /// not replicated; otherwise those of [`Object::fetch`], without moving on to another
    /// replica (a map change makes it pick the replica again under the new map).
    pub async fn fetch_replica(
        &self,
        net: &Arc<NetContext>,
        replica: usize,
        epoch: Epoch,
        dkey: &[u8],
        iods: &[Iod],
        sgls: Vec<SgList>,
    ) -> Result<(FetchResult, Vec<SgList>)> {
        let mut sgls = sgls;
        let mut stale_since: Option<Instant> = None;
        loop {
            let version = self.cont.pool().map_version();
            let layout = self.layout();
            let group = layout.group_of(dkey);
            let shard = match layout.class.redundancy {
                Redundancy::Replicated { .. } => layout
                    .readable_places(group)
                    .into_iter()
                    .flatten()
                    .nth(replica),
                _ => None,
            }
            .ok_or_else(|| {
                Error::new(
                    Der::Nonexist,
                    format!(
                        "object {:?}: group {group} has no readable replica {replica}",
                        self.oid
                    ),
                )
            })?;
            let fetch = self.fetch_once(net, &shard, version, epoch, 0, dkey, iods, &mut sgls);
            match self
                .unless_excluded(net, std::slice::from_ref(&shard), fetch)
                .await
            {
                // Routed by an old map: read the map again and pick the replica anew.
                Err(err) if err.der() == Der::Stale => {
                    let since = *stale_since.get_or_insert_with(Instant::now);
                    self.after_stale(net, version, since, err).await?;
                }
                result => return Ok((result?, sgls)),
            }
        }
    }

    /// Fetches from one complete replica of the dkey's group, going on to the next when an
    /// engine does not answer, and waiting for a new pool map when none does.
    async fn fetch_routed(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &mut [SgList],
    ) -> Result<FetchResult> {
        if let Some(ec) = &self.ec {
            return self.ec_fetch(net, ec, epoch, flags, dkey, iods, sgls).await;
        }
        let mut stale_since: Option<Instant> = None;
        loop {
            let version = self.cont.pool().map_version();
            let layout = self.layout();
            let group = layout.group_of(dkey);
            let order = self.read_order(&layout, group, daos_types::hash::key_hash(dkey))?;
            let mut unreachable = None;
            for shard in &order {
                let fetch = self.fetch_once(net, shard, version, epoch, flags, dkey, iods, sgls);
                match self
                    .unless_excluded(net, std::slice::from_ref(shard), fetch)
                    .await
                {
                    Err(err) if err.der() == Der::Stale => {
                        let since = *stale_since.get_or_insert_with(Instant::now);
                        self.after_stale(net, version, since, err).await?;
                        break;
                    }
                    Err(err) if is_unreachable(&err) => {
                        tracing::debug!("shard {}:{} unreachable: {err}", shard.rank, shard.target);
                        unreachable = Some(err);
                        if self.cont.pool().map_version() > version {
                            break;
                        }
                    }
                    other => return other,
                }
            }
            if let Some(err) = unreachable {
                self.await_new_map(net, version, err).await?;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fetch_once(
        &self,
        net: &Arc<NetContext>,
        shard: &ShardLocation,
        version: u32,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &mut [SgList],
    ) -> Result<FetchResult> {
        self.check_fetch(dkey, iods, sgls)?;
        let capacities: Vec<u64> = sgls.iter().map(SgList::len).collect();
        let total: u64 = capacities.iter().sum();
        let chunk = self.cont.csum_chunk();
        let inline = total as usize <= INLINE_DATA_MAX;
        let mut regions = Vec::new();
        let sink = if inline {
            Payload::Inline(Vec::new())
        } else {
            let mut descs = Vec::new();
            for sgl in sgls.iter() {
                for iov in sgl.iovs().iter().filter(|v| v.len > 0) {
                    // SAFETY: as in `update`; regions drop before the buffers are returned.
                    let mr = unsafe {
                        self.cont.pool().client().fabric().register_raw(
                            iov.ptr,
                            iov.len,
                            daos_fabric::Access::remote_write() | daos_fabric::Access::local(),
                        )?
                    };
                    let r = mr.remote(0, iov.len);
                    descs.push(BulkDesc {
                        addr: r.addr,
                        len: r.len,
                        key: r.key,
                    });
                    regions.push(mr);
                }
            }
            Payload::Bulk(descs)
        };
        let req = ObjFetchReq {
            target: self.target(shard),
            epoch: if epoch == 0 { EPOCH_MAX } else { epoch },
            flags,
            dkey: Key(dkey.to_vec()),
            iods: iods.iter().map(Iod::desc).collect(),
            capacities: capacities.clone(),
            csum_chunk: chunk,
            sink,
        };
        let extents_guess: usize = iods.iter().map(|i| i.recxs.len() * 2 + 4).sum();
        let csum_guess: usize = if chunk > 0 {
            iods.iter()
                .map(|i| {
                    i.recxs
                        .iter()
                        .map(|r| chunk_count(r.idx * i.size, (r.idx + r.nr) * i.size, chunk))
                        .sum::<usize>()
                        + 1
                })
                .sum()
        } else {
            0
        };
        let mut capacity = 512
            + iods.len() * 64
            + extents_guess * 16
            + csum_guess * 4
            + if inline { total as usize } else { 0 };
        let addr = self.addr(shard)?;
        let client = self.cont.pool().client().clone();
        self.cont.check_open()?;
        let started = Instant::now();
        let mut pause = INPROGRESS_PAUSE_MIN;
        let (status, body) = loop {
            let (status, body) = client
                .call_raw_at(net, &addr, Opcode::ObjFetch, &req, capacity, version)
                .await?;
            // Heavily fragmented arrays can return more extents than guessed: ask again.
            if status == Der::Overflow.rc() && capacity < 8 << 20 {
                capacity *= 8;
                continue;
            }
            // A transaction over this data is being decided: ask again once it is (a dead
            // client's is resolved by its participants within `RESOLVE_AFTER`, 10 s).
            if status == Der::Inprogress.rc() && started.elapsed() < INPROGRESS_WAIT {
                net.sleep_until(Instant::now() + pause).await;
                pause = (pause * 2).min(INPROGRESS_PAUSE_MAX);
                continue;
            }
            break (status, body);
        };
        if status != 0 && status != Der::Rec2big.rc() {
            crate::client::status_to_result(status)?;
        }
        let reply: ObjFetchReply = daos_proto::decode_body(daos_types::codec::Decoder::new(&body))?;
        drop(regions);
        if reply.iods.len() != iods.len() {
            return Err(Error::new(
                Der::Proto,
                "fetch reply does not match the request",
            ));
        }
        let mut result = FetchResult {
            too_big: status == Der::Rec2big.rc(),
            ..FetchResult::default()
        };
        let mut inline_at = 0usize;
        for (i, got) in reply.iods.iter().enumerate() {
            if got.data_len > capacities[i] {
                return Err(Error::new(
                    Der::Proto,
                    "engine returned more data than the buffer holds",
                ));
            }
            if inline && got.data_len > 0 {
                let end = inline_at + got.data_len as usize;
                let bytes = reply
                    .data
                    .0
                    .get(inline_at..end)
                    .ok_or_else(|| Error::new(Der::Proto, "short inline data"))?;
                sgls[i].write_at(0, bytes);
                inline_at = end;
            }
            if chunk > 0 && got.data_len > 0 {
                let mut computed = Vec::new();
                match iods[i].kind {
                    IodKind::Single => {
                        let mut crc = 0u32;
                        sgls[i].for_each_range(0, got.data_len, |b| {
                            crc = crc32c::crc32c_append(crc, b)
                        });
                        computed.push(crc);
                    }
                    IodKind::Array => {
                        let rsize = got.size.max(iods[i].size);
                        let mut offset = 0u64;
                        for recx in &iods[i].recxs {
                            let len = recx.nr * rsize;
                            let mut hasher = ChunkHasher::new(recx.idx * rsize, chunk);
                            sgls[i].for_each_range(offset, len, |b| hasher.update(b));
                            computed.extend(hasher.finish());
                            offset += len;
                        }
                    }
                }
                if computed != got.csums {
                    return Err(Error::new(
                        Der::Csum,
                        format!("fetched data of iod {i} fails its checksum"),
                    ));
                }
            }
            result.sizes.push(got.size);
            result.lens.push(got.data_len);
            result.extents.push(got.extents.clone());
        }
        Ok(result)
    }

    /// Punches the whole object, on every shard (`daos_obj_punch`). An object of a
    /// redundant class is punched one redundancy group at a time, each group's shards as one
    /// transaction and every group at one epoch (an erasure-coded group whose guard refuses
    /// the punch sends it again at a newer epoch); so each group is punched on all of its
    /// shards or on none, as DAOS does for the whole object at once.
    pub async fn punch(&self, net: &Arc<NetContext>, flags: u64) -> Result<()> {
        if !self.writable {
            return Err(Error::new(Der::NoPerm, "object is open read-only"));
        }
        let request = |groups: Groups<'static>| {
            self.fanout(
                net,
                groups,
                Opcode::ObjPunch,
                move |layout, shard, target, epoch, dtx| {
                    let guard = match groups {
                        Groups::Index(g, _) => self.is_ec_guard_in(layout, g, shard),
                        _ => false,
                    };
                    Some(ObjPunchReq {
                        target,
                        epoch,
                        flags,
                        kind: PUNCH_OBJECT,
                        dkeys: Vec::new(),
                        akeys: Vec::new(),
                        dtx: dtx.cloned(),
                        ec_guard: Flag(guard),
                    })
                },
                |_: &Empty| 0,
            )
        };
        let redundant = self
            .oid
            .class()
            .is_some_and(|c| c.redundancy != Redundancy::None);
        if !redundant {
            request(Groups::All).await?;
            return Ok(());
        }
        // The group count is fixed by the object id (`GX` classes fix it when the id is
        // generated). Every group's transaction runs to its end, even after another failed:
        // none is left prepared by an early return.
        let epoch = self.cont.pool().client().hlc_now();
        let groups = (0..self.layout().groups.len()).map(|g| {
            let first = std::cell::Cell::new(true);
            self.ec_retry(net, move || {
                let at = first.replace(false).then_some(epoch);
                request(Groups::Index(g, at))
            })
        });
        futures::future::join_all(groups)
            .await
            .into_iter()
            .find(Result::is_err)
            .unwrap_or(Ok(0))
            .map(drop)
    }

    /// Punches dkeys (`daos_obj_punch_dkeys`).
    ///
    /// Errors: `-DER_NONEXIST` for `DAOS_COND_PUNCH` on a missing dkey.
    pub async fn punch_dkeys(
        &self,
        net: &Arc<NetContext>,
        flags: u64,
        dkeys: &[Vec<u8>],
    ) -> Result<()> {
        if !self.writable {
            return Err(Error::new(Der::NoPerm, "object is open read-only"));
        }
        for dkey in dkeys {
            check_key(dkey)?;
            self.punch_keys(net, flags, PUNCH_DKEYS, dkey, &[]).await?;
        }
        Ok(())
    }

    /// Punches `dkey` (`PUNCH_DKEYS`, no `akeys`) or `akeys` under it (`PUNCH_AKEYS`) in
    /// its group, as one transaction of a redundant group. An erasure-coded group's guard
    /// refuses a punch older than what it punches, which is then sent again.
    async fn punch_keys(
        &self,
        net: &Arc<NetContext>,
        flags: u64,
        kind: u8,
        dkey: &[u8],
        akeys: &[Vec<u8>],
    ) -> Result<()> {
        let punch = || {
            self.fanout(
                net,
                Groups::Of(dkey),
                Opcode::ObjPunch,
                |layout, shard, target, epoch, dtx| {
                    Some(ObjPunchReq {
                        target,
                        epoch,
                        flags,
                        kind,
                        dkeys: vec![Key(dkey.to_vec())],
                        akeys: akeys.iter().cloned().map(Key).collect(),
                        dtx: dtx.cloned(),
                        ec_guard: Flag(self.is_ec_guard(layout, dkey, shard)),
                    })
                },
                |_: &Empty| 0,
            )
        };
        self.ec_retry(net, punch).await.map(drop)
    }

    /// Punches akeys under one dkey (`daos_obj_punch_akeys`).
    pub async fn punch_akeys(
        &self,
        net: &Arc<NetContext>,
        flags: u64,
        dkey: &[u8],
        akeys: &[Vec<u8>],
    ) -> Result<()> {
        if !self.writable {
            return Err(Error::new(Der::NoPerm, "object is open read-only"));
        }
        check_key(dkey)?;
        for akey in akeys {
            check_key(akey)?;
        }
        // Erasure-coded arrays keep end marks under a companion akey (crate::ec).
        let mut akeys = akeys.to_vec();
        if self.ec.is_some() {
            let marks: Vec<Vec<u8>> = akeys.iter().map(|a| crate::ec::end_akey(a)).collect();
            akeys.extend(marks);
        }
        self.punch_keys(net, flags, PUNCH_AKEYS, dkey, &akeys).await
    }

    /// Lists up to `count_max` dkeys totalling at most `bytes_max` bytes, resuming at
    /// `anchor` and advancing it (`daos_obj_list_dkey`). Walks the shards in order.
    ///
    /// When the next key alone exceeds `bytes_max`, the page is empty and
    /// [`KeyList::key_size_needed`] gives its size (what `daos_obj_list_dkey` reports as
    /// `-DER_KEY2BIG` with `kds[0].kd_key_len`); the anchor does not move.
    pub async fn list_dkeys(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        anchor: &mut Anchor,
        count_max: u32,
        bytes_max: u64,
    ) -> Result<KeyList> {
        let layout = self.layout();
        let shards = (0..layout.groups.len())
            .map(|g| self.key_shards(&layout, g))
            .collect::<Result<Vec<Vec<ShardLocation>>>>()?
            .concat();
        self.list_keys(
            net, epoch, LIST_DKEYS, None, &shards, anchor, count_max, bytes_max,
        )
        .await
    }

    /// Lists akeys of `dkey` (`daos_obj_list_akey`); an oversize next key is reported as in
    /// [`Object::list_dkeys`].
    pub async fn list_akeys(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        dkey: &[u8],
        anchor: &mut Anchor,
        count_max: u32,
        bytes_max: u64,
    ) -> Result<KeyList> {
        check_key(dkey)?;
        let layout = self.layout();
        let shards = self.key_shards(&layout, layout.group_of(dkey))?;
        self.list_keys(
            net,
            epoch,
            LIST_AKEYS,
            Some(dkey),
            &shards,
            anchor,
            count_max,
            bytes_max,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn list_keys(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        kind: u8,
        dkey: Option<&[u8]>,
        shards: &[ShardLocation],
        anchor: &mut Anchor,
        count_max: u32,
        bytes_max: u64,
    ) -> Result<KeyList> {
        let mut out = KeyList::default();
        let mut bytes_left = bytes_max;
        let mut count_left = count_max;
        while !anchor.eof && count_left > 0 {
            let Some(shard) = shards.get(anchor.shard as usize) else {
                anchor.eof = true;
                break;
            };
            let capacity = (bytes_left as usize)
                .saturating_add(count_left as usize * 8 + 512)
                .min(4 << 20);
            let req = ObjListReq {
                target: self.target(shard),
                epoch: if epoch == 0 { EPOCH_MAX } else { epoch },
                kind,
                dkey: dkey.map(|d| Key(d.to_vec())),
                akey: None,
                anchor: daos_proto::msg::Anchor(anchor.position.clone()),
                count_max: count_left,
                bytes_max: bytes_left,
            };
            let call = self.call(net, shard, Opcode::ObjList, &req, capacity, 0);
            let reply: ObjListReply = self
                .unless_excluded(net, std::slice::from_ref(shard), call)
                .await?;
            for key in reply.keys {
                if self.ec.is_some() && kind == LIST_AKEYS && crate::ec::is_end_akey(&key.0) {
                    continue;
                }
                bytes_left = bytes_left.saturating_sub(key.0.len() as u64);
                count_left -= 1;
                out.keys.push(key.0);
            }
            if reply.eof.0 {
                anchor.shard += 1;
                anchor.position.clear();
                if anchor.shard as usize >= shards.len() {
                    anchor.eof = true;
                }
            } else {
                anchor.position = reply.anchor.0;
                if out.keys.is_empty() {
                    out.key_size_needed = reply.key_size_needed;
                }
                break;
            }
        }
        Ok(out)
    }

    /// Lists extents of an array akey: `(recx, epoch)` pairs and the record size
    /// (`daos_obj_list_recx`).
    pub async fn list_recxs(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        dkey: &[u8],
        akey: &[u8],
        anchor: &mut Anchor,
        count_max: u32,
    ) -> Result<(Vec<(Recx, Epoch)>, u64)> {
        check_key(dkey)?;
        check_key(akey)?;
        if self.ec.is_some() {
            return Err(Error::new(
                Der::Notsupported,
                "listing the extents of an erasure-coded array is not supported",
            ));
        }
        if anchor.eof {
            return Ok((Vec::new(), 0));
        }
        let shard = self.shard_for(dkey)?;
        let req = ObjListReq {
            target: self.target(&shard),
            epoch: if epoch == 0 { EPOCH_MAX } else { epoch },
            kind: LIST_RECXS,
            dkey: Some(Key(dkey.to_vec())),
            akey: Some(Key(akey.to_vec())),
            anchor: daos_proto::msg::Anchor(anchor.position.clone()),
            count_max,
            bytes_max: 0,
        };
        let capacity = count_max as usize * 32 + 512;
        let reply: ObjListReply = self
            .call(net, &shard, Opcode::ObjList, &req, capacity, 0)
            .await?;
        anchor.position = reply.anchor.0;
        anchor.eof = reply.eof.0;
        Ok((
            reply.recxs.into_iter().map(|r| (r.recx, r.epoch)).collect(),
            reply.record_size,
        ))
    }

    /// `daos_obj_query_key`: with `GET_MAX` (default) or `GET_MIN`, the highest or lowest
    /// dkey (over all shards), akey and extent. Returns `(dkey, akey, recx)`.
    ///
    /// Errors: `-DER_NONEXIST` when the object holds no matching key.
    pub async fn query_key(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        flags: u32,
        dkey: Option<&[u8]>,
        akey: Option<&[u8]>,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Recx>)> {
        self.retry_unreachable(net, || self.query_key_once(net, epoch, flags, dkey, akey))
            .await
    }

    async fn query_key_once(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        flags: u32,
        dkey: Option<&[u8]>,
        akey: Option<&[u8]>,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Recx>)> {
        if let Some(ec) = self.ec.clone() {
            return self.ec_query_key(net, &ec, epoch, flags, dkey, akey).await;
        }
        let shards: Vec<ShardLocation> = match dkey {
            Some(d) if flags & GET_DKEY == 0 => vec![self.shard_for(d)?],
            _ => {
                let layout = self.layout();
                (0..layout.groups.len())
                    .map(|g| Ok(self.read_order(&layout, g, 0)?[0]))
                    .collect::<Result<_>>()?
            }
        };
        self.query_key_on(net, epoch, flags, dkey, akey, &shards)
            .await
    }

    /// [`Object::query_key`] on an erasure-coded object: keys from the shards holding every
    /// key, the extent from the cells (see [`crate::ec`]).
    async fn ec_query_key(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        epoch: Epoch,
        flags: u32,
        dkey: Option<&[u8]>,
        akey: Option<&[u8]>,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Recx>)> {
        let mut found = (None, None);
        let key_flags = flags & !GET_RECX;
        if key_flags & (GET_DKEY | GET_AKEY) != 0 {
            let layout = self.layout();
            let shards = match dkey {
                Some(d) if flags & GET_DKEY == 0 => self.key_shards(&layout, layout.group_of(d))?,
                _ => (0..layout.groups.len())
                    .map(|g| self.key_shards(&layout, g))
                    .collect::<Result<Vec<_>>>()?
                    .concat(),
            };
            let (d, a, _) = self
                .query_key_on(net, epoch, key_flags, dkey, akey, &shards)
                .await?;
            found = (d, a);
        }
        let mut recx = None;
        if flags & GET_RECX != 0 {
            let d = found.0.as_deref().or(dkey).ok_or_else(|| {
                Error::new(Der::Inval, "an extent query needs a dkey or DAOS_GET_DKEY")
            })?;
            let a = found.1.as_deref().or(akey).ok_or_else(|| {
                Error::new(Der::Inval, "an extent query needs an akey or DAOS_GET_AKEY")
            })?;
            recx = Some(
                self.ec_query_recx(net, ec, epoch, flags, d, a)
                    .await?
                    .ok_or_else(|| Error::new(Der::Nonexist, "no extent matches the query"))?,
            );
        }
        Ok((found.0, found.1, recx))
    }

    /// Asks `shards` and keeps the best answer for `flags`.
    async fn query_key_on(
        &self,
        net: &Arc<NetContext>,
        epoch: Epoch,
        flags: u32,
        dkey: Option<&[u8]>,
        akey: Option<&[u8]>,
        shards: &[ShardLocation],
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Recx>)> {
        let order = self
            .oid
            .object_type()
            .map_or(KeyOrder::Hashed, |t| t.dkey_order());
        let want_max = flags & GET_MIN == 0;
        let mut best: Option<ObjQueryKeyReply> = None;
        for shard in shards {
            let req = ObjQueryKeyReq {
                target: self.target(shard),
                epoch: if epoch == 0 { EPOCH_MAX } else { epoch },
                flags,
                dkey: dkey.map(|d| Key(d.to_vec())),
                akey: akey.map(|a| Key(a.to_vec())),
            };
            match self.query_one(net, shard, &req).await {
                Ok(reply) => {
                    let better = match (&best, &reply.dkey) {
                        (None, _) => true,
                        (Some(b), Some(k)) => {
                            let current = b.dkey.as_ref().map_or(&[][..], |k| &k.0);
                            let ord = compare_keys(order, &k.0, current);
                            if want_max {
                                ord.is_gt()
                            } else {
                                ord.is_lt()
                            }
                        }
                        _ => false,
                    };
                    if better {
                        best = Some(reply);
                    }
                }
                Err(err) if err.der() == Der::Nonexist => {}
                Err(err) => return Err(err),
            }
        }
        let best = best.ok_or_else(|| Error::new(Der::Nonexist, "no key matches the query"))?;
        Ok((best.dkey.map(|k| k.0), best.akey.map(|k| k.0), best.recx))
    }
}

impl Object {
    /// Blocking [`Object::update`] from borrowed slices (one per iod), on the calling
    /// thread's endpoint.
    pub fn update_blocking(
        &self,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        data: &[&[u8]],
    ) -> Result<Epoch> {
        let client = self.cont.pool().client().clone();
        let net = client.thread_net()?;
        let sgls = data
            .iter()
            .map(|d| {
                // SAFETY: block_on drives the update to completion (or drops it) before this
                // function returns, so the borrowed slices outlive every use; updates only read.
                unsafe {
                    SgList::from_raw(vec![crate::buf::IoVec {
                        ptr: d.as_ptr() as *mut u8,
                        len: d.len(),
                    }])
                }
            })
            .collect();
        daos_fabric::block_on(&net, self.update(&net, flags, dkey, iods, sgls))
    }

    /// Blocking [`Object::fetch`] into borrowed buffers (one per iod).
    pub fn fetch_blocking(
        &self,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        bufs: &mut [&mut [u8]],
    ) -> Result<FetchResult> {
        let client = self.cont.pool().client().clone();
        let net = client.thread_net()?;
        let sgls = bufs
            .iter_mut()
            .map(|b| {
                // SAFETY: as in `update_blocking`; the buffers are borrowed mutably for the
                // whole call, so nothing else touches them while the engine writes.
                unsafe {
                    SgList::from_raw(vec![crate::buf::IoVec {
                        ptr: b.as_mut_ptr(),
                        len: b.len(),
                    }])
                }
            })
            .collect();
        daos_fabric::block_on(&net, self.fetch(&net, epoch, flags, dkey, iods, sgls))
            .map(|(r, _)| r)
    }
}

/// Orders two dkeys the way the object's key space does.
pub fn compare_keys(order: KeyOrder, a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match order {
        KeyOrder::Uint64 => {
            let value = |k: &[u8]| k.try_into().map(u64::from_le_bytes).unwrap_or(0);
            value(a).cmp(&value(b))
        }
        KeyOrder::Lexical => a.cmp(b),
        KeyOrder::Hashed => daos_types::hash::key_hash(a)
            .cmp(&daos_types::hash::key_hash(b))
            .then(a.cmp(b)),
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Object({:?})", self.oid)
    }
}
