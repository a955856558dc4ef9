//! The engine's service context: pool and container metadata, handles, and the management
//! calls `daos_server` makes (pool create, destroy, query; ping).
//!
//! Pool service metadata (label, properties, pool map, containers, snapshots, object id
//! allocation) lives in `<scm_mount>/pools/<uuid>/svc.meta`, rewritten atomically (temporary
//! file, fsync, rename, directory fsync) on every change. Handles are volatile, as DAOS pool
//! and container handles do not survive an engine restart here: clients reconnect.
//!
//! Changes that targets must see (container create and destroy, handle open and close,
//! snapshots) are sent to every local target and acknowledged before the client gets its
//! reply, so a client can never race ahead of its own handle.

use crate::rsvc::{self, SvcApplied, SvcOp, ToService};
use crate::target::{HandleInfo, Mailbox, TargetMsg};
use daos_fabric::{rpc, Executor, Incoming, NetContext};
use daos_proto::header::decode_request;
use daos_proto::msg::*;
use daos_proto::{decode_body, Opcode};
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::label::EntityRef;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, Error, Hlc, ObjectId, Result, Uuid};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MAGIC: u32 = u32::from_le_bytes(*b"SVCM");
const VERSION: u16 = 1;
const TARGET_TIMEOUT: Duration = Duration::from_secs(60);

/// Appends the CRC-32C of everything encoded so far: how `svc.meta` and the metadata inside
/// it end (after a magic number and a version at the start).
fn seal(mut e: Encoder) -> Vec<u8> {
    let crc = daos_types::csum::crc32c(e.as_slice());
    e.u32(crc);
    e.finish()
}

/// Checks what [`seal`] ended: the CRC, then `magic` and `version`; returns a decoder over
/// what follows them (up to the CRC).
///
/// Errors: `-DER_DF_INVAL` for a short, corrupt or foreign file.
fn unseal(bytes: &[u8], magic: u32, version: u16) -> Result<Decoder<'_>> {
    let bad = |what: &str| Error::new(Der::DfInval, format!("svc.meta: {what}"));
    if bytes.len() < 10 {
        return Err(bad("too short"));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 4);
    if daos_types::csum::crc32c(body) != u32::from_le_bytes(tail.try_into().expect("4 bytes")) {
        return Err(bad("checksum mismatch"));
    }
    let mut d = Decoder::new(body);
    if d.u32("magic")? != magic || d.u16("version")? != version {
        return Err(bad("unknown format"));
    }
    Ok(d)
}

/// A container in the pool service.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ContMeta {
    uuid: Uuid,
    label: String,
    props: Props,
    snapshots: Vec<SnapEntry>,
    next_oid: u64,
    created: u64,
    modified: u64,
}

/// Persistent state of a pool service.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SvcMeta {
    uuid: Uuid,
    label: String,
    props: Props,
    map: daos_placement::PoolMap,
    svc_ranks: Vec<u32>,
    owner: Credential,
    containers: BTreeMap<Uuid, ContMeta>,
}

impl SvcMeta {
    fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(MAGIC).u16(VERSION).uuid(&self.uuid).str(&self.label);
        WireProps(self.props.clone()).encode(&mut e);
        WireMap(self.map.clone()).encode(&mut e);
        self.svc_ranks.encode(&mut e);
        self.owner.encode(&mut e);
        e.len_prefix(self.containers.len());
        for c in self.containers.values() {
            e.uuid(&c.uuid).str(&c.label);
            WireProps(c.props.clone()).encode(&mut e);
            c.snapshots.encode(&mut e);
            e.u64(c.next_oid).u64(c.created).u64(c.modified);
        }
        seal(e)
    }

    fn decode(bytes: &[u8]) -> Result<SvcMeta> {
        let mut d = unseal(bytes, MAGIC, VERSION)?;
        let uuid = d.uuid("uuid")?;
        let label = d.str(256, "label")?.to_string();
        let props = WireProps::decode(&mut d)?.0;
        let map = WireMap::decode(&mut d)?.0;
        let svc_ranks = Vec::<u32>::decode(&mut d)?;
        let owner = Credential::decode(&mut d)?;
        let mut containers = BTreeMap::new();
        for _ in 0..d.len_prefix(1 << 24, 16, "containers")? {
            let uuid = d.uuid("container")?;
            let label = d.str(256, "label")?.to_string();
            let props = WireProps::decode(&mut d)?.0;
            let snapshots = Vec::<SnapEntry>::decode(&mut d)?;
            let (next_oid, created, modified) =
                (d.u64("next oid")?, d.u64("created")?, d.u64("modified")?);
            containers.insert(
                uuid,
                ContMeta {
                    uuid,
                    label,
                    props,
                    snapshots,
                    next_oid,
                    created,
                    modified,
                },
            );
        }
        d.finish()?;
        Ok(SvcMeta {
            uuid,
            label,
            props,
            map,
            svc_ranks,
            owner,
            containers,
        })
    }
}

struct PoolHandle {
    cont_handles: usize,
}

struct ContHandle {
    cont: Uuid,
    pool_handle: Uuid,
    write: bool,
}

struct PoolSvc {
    meta: SvcMeta,
    path: PathBuf,
    pool_handles: HashMap<Uuid, PoolHandle>,
    cont_handles: HashMap<Uuid, ContHandle>,
    /// The last Raft log entry applied (service replicas only).
    applied: Option<rsvc::LogId>,
    /// The replica set as of `applied`.
    membership: rsvc::Membership,
    /// While applying log entries: [`PoolSvc::persist`] writes nothing (see there).
    deferred: bool,
    /// The outcomes of the last [`OPS_KEPT`] keyed changes, oldest first (replicated: every
    /// replica applies the same entries in the same order; other engines keep those
    /// forwarded to them).
    ops: std::collections::VecDeque<KeptOp>,
}

/// The outcome of a keyed change, kept so that a retry of it answers the same.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct KeptOp {
    /// The operation key.
    key: u128,
    /// The request's opcode.
    opcode: u16,
    /// The clock reading the change was applied at.
    now: u64,
    /// 0 or a negative DER code.
    status: i32,
    /// The reply body; `None` when it is larger than [`KEPT_BODY_MAX`] and the reply can be
    /// made again from the current state ([`Service::replay`]).
    body: Option<Vec<u8>>,
}

/// How many keyed changes' outcomes a pool service keeps. A client retries a change for at
/// most 30 s (`daos_client`'s `SVC_RETRY`), so this covers 34 changes a second over that
/// window; a retry older than that is applied again.
const OPS_KEPT: usize = 1024;
/// Largest reply body kept with a change whose reply can be made again (connects and opens,
/// whose replies carry the pool map or the properties; creates; pool map changes).
const KEPT_BODY_MAX: usize = 256;

const IMAGE_MAGIC: u32 = u32::from_le_bytes(*b"SVCI");
const IMAGE_VERSION: u16 = 2;
/// Largest image read back (metadata of many containers with large properties).
const IMAGE_META_MAX: usize = 1 << 30;

impl PoolSvc {
    /// Writes the service's image (`svc.meta`): metadata, open handles, and the Raft log
    /// position and membership they reflect, replaced atomically. While a batch of log
    /// entries is being applied, the handlers' writes are deferred to one at its end, so
    /// no image ever records an entry as applied with only part of its change in it.
    fn persist(&self) -> Result<()> {
        if self.deferred {
            return Ok(());
        }
        daos_bio::replace_durably(&self.path, &self.image())
    }

    /// The image: also the snapshot a lagging replica installs. Not bounded by the fabric's
    /// message size (snapshots travel in chunks).
    fn image(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(IMAGE_MAGIC).u16(IMAGE_VERSION);
        e.bytes(&self.meta.encode());
        e.len_prefix(self.pool_handles.len());
        for h in self.pool_handles.keys() {
            e.uuid(h);
        }
        let state = self.state();
        e.len_prefix(state.cont_handles.len());
        for h in &state.cont_handles {
            h.encode(&mut e);
        }
        let raft = postcard::to_stdvec(&(self.applied, &self.membership, &self.ops))
            .expect("log ids, memberships and kept outcomes encode");
        e.bytes(&raft);
        seal(e)
    }

    /// Reads an image written by [`PoolSvc::image`].
    fn from_image(bytes: &[u8], path: PathBuf) -> Result<PoolSvc> {
        let bad = |what: &str| Error::new(Der::DfInval, format!("svc.meta: {what}"));
        let mut d = unseal(bytes, IMAGE_MAGIC, IMAGE_VERSION)?;
        let meta = SvcMeta::decode(d.bytes(IMAGE_META_MAX, "metadata")?)?;
        let mut state = SvcState {
            meta: Blob(Vec::new()),
            pool_handles: Vec::new(),
            cont_handles: Vec::new(),
        };
        for _ in 0..d.len_prefix(1 << 24, 16, "pool handles")? {
            state.pool_handles.push(d.uuid("pool handle")?);
        }
        for _ in 0..d.len_prefix(1 << 24, 16, "container handles")? {
            state.cont_handles.push(SyncHandle::decode(&mut d)?);
        }
        let raft = d.bytes(IMAGE_META_MAX, "raft state")?;
        d.finish()?;
        type Raft = (
            Option<rsvc::LogId>,
            rsvc::Membership,
            std::collections::VecDeque<KeptOp>,
        );
        let (applied, membership, ops): Raft =
            postcard::from_bytes(raft).map_err(|e| bad(&format!("raft state: {e}")))?;
        let mut svc = PoolSvc {
            meta,
            path,
            pool_handles: HashMap::new(),
            cont_handles: HashMap::new(),
            applied,
            membership,
            deferred: false,
            ops,
        };
        svc.set_handles(&state);
        Ok(svc)
    }

    /// Replaces the open handles with those of `state`.
    fn set_handles(&mut self, state: &SvcState) {
        self.pool_handles = state
            .pool_handles
            .iter()
            .map(|h| (*h, PoolHandle { cont_handles: 0 }))
            .collect();
        self.cont_handles.clear();
        for h in &state.cont_handles {
            self.cont_handles.insert(
                h.handle,
                ContHandle {
                    cont: h.cont,
                    pool_handle: h.pool_handle,
                    write: h.write.0,
                },
            );
            if let Some(ph) = self.pool_handles.get_mut(&h.pool_handle) {
                ph.cont_handles += 1;
            }
        }
    }

    /// Metadata and open handles (what a returning engine or a lagging replica takes).
    fn state(&self) -> SvcState {
        SvcState {
            meta: Blob(self.meta.encode()),
            pool_handles: self.pool_handles.keys().copied().collect(),
            cont_handles: self
                .cont_handles
                .iter()
                .map(|(h, c)| SyncHandle {
                    handle: *h,
                    cont: c.cont,
                    pool_handle: c.pool_handle,
                    write: Flag(c.write),
                })
                .collect(),
        }
    }

    /// Whether `rank` is one of the pool's service replicas.
    fn is_replica(&self, rank: u32) -> bool {
        self.meta.svc_ranks.contains(&rank)
    }

    fn find_container(&self, cont: &EntityRef) -> Result<&ContMeta> {
        let found = match cont {
            EntityRef::Uuid(uuid) => self.meta.containers.get(uuid),
            EntityRef::Label(label) => self.meta.containers.values().find(|c| &c.label == label),
        };
        found.ok_or_else(|| Error::new(Der::Nonexist, format!("container {cont} does not exist")))
    }

    fn check_pool_handle(&self, handle: &Uuid) -> Result<()> {
        if self.pool_handles.contains_key(handle) {
            Ok(())
        } else {
            Err(Error::new(
                Der::NoHdl,
                format!("pool handle {handle} is not connected"),
            ))
        }
    }
}

/// The service context's state.
pub struct Service {
    rank: u32,
    meta_dir: PathBuf,
    hlc: Arc<Hlc>,
    targets: Vec<Mailbox>,
    pools: HashMap<Uuid, PoolSvc>,
    /// While replaying a forwarded request: the leader's clock reading, used instead of ours.
    forced_now: Option<u64>,
    /// While applying Raft log entries: what targets fail to do is logged, not returned, so
    /// every replica's metadata takes the same change (targets are brought in line with the
    /// metadata again when the engine restarts).
    applying: bool,
    /// The Raft runtime of the pool service replicas on this engine (see [`crate::rsvc`]).
    raft_rt: tokio::runtime::Runtime,
    /// Their Raft nodes, by pool.
    rafts: rsvc::Registry,
    /// The Raft side's way into this context.
    bridge: rsvc::Bridge,
    bridge_rx: crossbeam_channel::Receiver<ToService>,
    bell: Arc<rsvc::Doorbell>,
    /// Pools whose replica set this engine, as their leader, is changing now.
    reconfiguring: std::collections::HashSet<Uuid>,
    /// Ranks that failed to join a pool's replicas, and when (chosen last for a while).
    reconf_failed: HashMap<(Uuid, u32), std::time::Instant>,
    /// Replicas told to start their replica because the leader did not reach them, and when.
    reconf_nudged: HashMap<(Uuid, u32), std::time::Instant>,
    /// Pools whose replica this engine started (and did not stop) in this life: a replica
    /// is started once, so two Raft nodes never share a log, and one that stopped on a
    /// storage error stays stopped.
    started: std::collections::HashSet<Uuid>,
}

fn svc_path(meta_dir: &Path, pool: &Uuid) -> PathBuf {
    meta_dir
        .join("pools")
        .join(pool.to_string())
        .join("svc.meta")
}

impl Service {
    /// Loads every pool service found in `meta_dir` and reconciles the targets with it.
    pub fn new(
        rank: u32,
        meta_dir: PathBuf,
        hlc: Arc<Hlc>,
        targets: Vec<Mailbox>,
    ) -> Result<Service> {
        let raft_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("svc-raft")
            .enable_all()
            .build()
            .map_err(|e| Error::new(Der::Misc, format!("cannot start the Raft runtime: {e}")))?;
        let bell = Arc::new(rsvc::Doorbell::new()?);
        let (bridge, bridge_rx) = rsvc::Bridge::new(bell.clone());
        let mut service = Service {
            rank,
            meta_dir,
            hlc,
            targets,
            pools: HashMap::new(),
            forced_now: None,
            applying: false,
            raft_rt,
            rafts: Default::default(),
            bridge,
            bridge_rx,
            reconfiguring: Default::default(),
            reconf_failed: Default::default(),
            reconf_nudged: Default::default(),
            started: Default::default(),
            bell,
        };
        let pools_dir = service.meta_dir.join("pools");
        if let Ok(entries) = std::fs::read_dir(&pools_dir) {
            for entry in entries.flatten() {
                let Ok(uuid) = entry.file_name().to_string_lossy().parse::<Uuid>() else {
                    continue;
                };
                let path = svc_path(&service.meta_dir, &uuid);
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let svc = PoolSvc::from_image(&bytes, path.clone())
                    .map_err(|e| e.with_context(path.display()))?;
                let meta = &svc.meta;
                let containers: Vec<Uuid> = meta.containers.keys().copied().collect();
                for target in &service.targets {
                    let _ = target.call(TARGET_TIMEOUT, |reply| TargetMsg::Reconcile {
                        pool: uuid,
                        containers: containers.clone(),
                        reply,
                    });
                    for c in meta.containers.values() {
                        if !c.snapshots.is_empty() {
                            target.send(TargetMsg::Snapshots {
                                pool: uuid,
                                cont: c.uuid,
                                epochs: c.snapshots.iter().map(|s| s.epoch).collect(),
                            });
                        }
                    }
                }
                service.pass_map(&uuid, &meta.map)?;
                // Handles are part of the replicated state: the targets check them again.
                for (handle, h) in &svc.cont_handles {
                    let info = HandleInfo {
                        cont: h.cont,
                        write: h.write,
                    };
                    service.register_handle(uuid, *handle, info)?;
                }
                let replica = svc.is_replica(rank);
                service.pools.insert(uuid, svc);
                if replica {
                    service.start_replica(uuid, None);
                }
            }
        }
        Ok(service)
    }

    /// The clock reading a change is stamped with: the leader's when replaying its change.
    fn now(&self) -> u64 {
        self.forced_now.unwrap_or_else(|| self.hlc.now())
    }

    /// Service addresses of the pool's other engines, to which the leader forwards changes.
    fn peers(&self, pool: &Uuid) -> Vec<Vec<u8>> {
        self.pools.get(pool).map_or_else(Vec::new, |svc| {
            svc.meta
                .map
                .ranks
                .iter()
                // Service replicas learn changes from the Raft log.
                .filter(|r| r.rank != self.rank && !r.is_excluded() && !svc.is_replica(r.rank))
                .map(|r| r.service_addr.clone())
                .collect()
        })
    }

    /// Applies a change the pool's leader forwarded, with the leader's clock reading.
    fn serve_forwarded(&mut self, req: SvcForwardReq) -> Result<Vec<u8>> {
        let opcode = u16::try_from(req.opcode)
            .ok()
            .and_then(Opcode::from_u16)
            .filter(|op| forwarded_as(*op) == Some(*op) || *op == Opcode::MgmtPoolMap)
            .ok_or_else(|| {
                Error::new(
                    Der::Proto,
                    format!("opcode {} cannot be forwarded", req.opcode),
                )
            })?;
        self.hlc.observe(req.now);
        if opcode == Opcode::MgmtPoolMap {
            return self.mgmt_pool_map(decode_body(Decoder::new(&req.body.0))?);
        }
        if !req.key.is_nil() {
            // A keyed change is applied here once too: a retry's forward is answered from
            // what the first one did.
            let pool = request_pool(&Decoder::new(&req.body.0))
                .ok_or_else(|| Error::new(Der::Proto, "forward without a pool"))?;
            // One image write for the change and its kept outcome, as a replica writes one
            // per batch of log entries.
            let deferred = std::mem::replace(&mut self.pool(&pool)?.deferred, true);
            let applied = self.apply_keyed(
                &pool,
                SvcOp {
                    opcode: opcode as u16,
                    now: req.now,
                    body: req.body.0,
                    key: Some(req.key.as_u128()),
                },
            );
            let svc = self.pool(&pool)?;
            svc.deferred = deferred;
            svc.persist()?;
            return if applied.status == 0 {
                Ok(applied.body)
            } else {
                Err(Error::new(
                    Der::from_value(-applied.status).unwrap_or(Der::Misc),
                    "applying a forwarded change",
                ))
            };
        }
        self.forced_now = Some(req.now);
        let result = self.serve(opcode, Decoder::new(&req.body.0));
        self.forced_now = None;
        result
    }

    /// Takes the leader's pool map if it is newer than this engine's copy.
    fn mgmt_pool_map(&mut self, req: MgmtPoolMapReq) -> Result<Vec<u8>> {
        let rank = self.rank;
        let svc = self.pool(&req.pool)?;
        let map = req.map.0;
        if map.version > svc.meta.map.version {
            let up = |m: &daos_placement::PoolMap| {
                m.rank(rank).is_some_and(|r| {
                    r.targets
                        .iter()
                        .any(|t| t.state == daos_placement::TargetState::Up)
                })
            };
            let returning = up(&map) && !up(&svc.meta.map);
            if returning && !req.state.0.is_empty() {
                let state: SvcState = decode_body(Decoder::new(&req.state.0))?;
                self.merge_state(&req.pool, state)?;
            }
            let svc = self.pool(&req.pool)?;
            let old = std::mem::replace(&mut svc.meta.map, map.clone());
            if let Err(err) = svc.persist() {
                svc.meta.map = old;
                return Err(err);
            }
            self.pass_map(&req.pool, &map)?;
        }
        Ok(Vec::new())
    }

    /// Makes a container handle valid on every target of this engine.
    fn register_handle(&self, pool: Uuid, handle: Uuid, info: HandleInfo) -> Result<()> {
        self.broadcast(|reply| TargetMsg::Handle {
            pool,
            handle,
            info: Some(info),
            reply,
        })
    }

    /// Makes a container handle invalid on every target of this engine.
    fn unregister_handle(&self, pool: Uuid, handle: Uuid) -> Result<()> {
        self.broadcast(|reply| TargetMsg::Handle {
            pool,
            handle,
            info: None,
            reply,
        })
    }

    /// The state a returning engine needs from the leader (see [`SvcState`]).
    fn state_of(&self, pool: &Uuid) -> Option<SvcState> {
        Some(self.pools.get(pool)?.state())
    }

    /// Starts this engine's Raft replica of `pool`'s service; with `members`, it initialises
    /// the replica set (the first service rank does, at pool create).
    /// `SvcStart`: starts this engine's Raft replica of `pool`, which the leader then
    /// brings up to date and makes a voter (see [`Service::reconf_plans`]).
    ///
    /// Errors: `-DER_NONEXIST` for a pool that has no storage on this engine.
    fn svc_start(&mut self, req: SvcStartReq) -> Result<Vec<u8>> {
        self.pool(&req.pool)?;
        if !self.started.contains(&req.pool) {
            tracing::info!(
                "rank {}: pool {}: starting a service replica",
                self.rank,
                req.pool
            );
            self.start_replica(req.pool, None);
        }
        Ok(Vec::new())
    }

    /// DAOS's pool service reconfiguration: for each pool whose service this engine leads,
    /// when some replicas are on excluded engines and healthy engines of the pool are not
    /// replicas, the replica set that replaces the former by as many of the latter (from
    /// fault domains the replica set does not use yet first; a rank that failed to join in
    /// the last [`RECONF_BACKOFF`] last), and the new ranks with their service addresses.
    /// A membership change left joint (its leader lost leadership between its two steps) is
    /// finished first. Marks those pools as being reconfigured. Also returns the voters the
    /// leader has not replicated to (their engine restarted before it learned it was a
    /// replica, say), to be told to start their replica.
    fn reconf_plans(&mut self) -> (Vec<ReconfPlan>, Vec<Nudge>) {
        let now = std::time::Instant::now();
        self.reconf_failed
            .retain(|_, at| now.duration_since(*at) < RECONF_BACKOFF);
        let mut plans = Vec::new();
        let mut nudges = Vec::new();
        for (uuid, svc) in &self.pools {
            if self.reconfiguring.contains(uuid) {
                continue;
            }
            let Some(raft) = self
                .raft(uuid)
                .filter(|raft| rsvc::leader(raft) == Some(self.rank))
            else {
                continue;
            };
            let map = &svc.meta.map;
            let configs = svc.membership.membership().get_joint_config().clone();
            if configs.len() > 1 {
                let last = configs.last().expect("a joint membership has configs");
                let voters: Vec<u32> = last
                    .iter()
                    .filter_map(|id| u32::try_from(*id).ok())
                    .collect();
                tracing::info!(
                    "pool {uuid}: finishing the change of service replicas to {voters:?}"
                );
                plans.push(ReconfPlan {
                    pool: *uuid,
                    raft,
                    voters,
                    added: Vec::new(),
                });
                continue;
            }
            let live = |rank: u32| map.rank(rank).is_some_and(|r| !r.is_excluded());
            let kept: Vec<u32> = svc
                .meta
                .svc_ranks
                .iter()
                .copied()
                .filter(|r| live(*r))
                .collect();
            // Voters on live engines the leader has not replicated to since the last check
            // (`nudged` remembers when each was told).
            let metrics = raft.metrics().borrow().clone();
            let last = metrics.last_log_index.unwrap_or(0);
            if let Some(replication) = &metrics.replication {
                for &rank in kept.iter().filter(|r| **r != self.rank) {
                    let matched = replication
                        .get(&u64::from(rank))
                        .and_then(|m| m.map(|l| l.index));
                    let behind = matched.is_none_or(|m| m + RECONF_LAG < last);
                    let recently = self
                        .reconf_nudged
                        .get(&(*uuid, rank))
                        .is_some_and(|at| now.duration_since(*at) < RECONF_BACKOFF);
                    if behind && !recently {
                        if let Some(r) = map.rank(rank) {
                            nudges.push((*uuid, rank, r.service_addr.clone()));
                        }
                    }
                }
            }
            let lost = svc.meta.svc_ranks.len() - kept.len();
            if lost == 0 {
                continue;
            }
            let mut used: Vec<String> = kept
                .iter()
                .filter_map(|r| map.rank(*r).map(|e| e.domain.clone()))
                .collect();
            let mut candidates: Vec<&daos_placement::RankEntry> = map
                .ranks
                .iter()
                .filter(|r| r.is_healthy() && !svc.meta.svc_ranks.contains(&r.rank))
                .collect();
            let mut added: Vec<(u32, Vec<u8>)> = Vec::new();
            while added.len() < lost && !candidates.is_empty() {
                let failed = |r: &daos_placement::RankEntry| {
                    self.reconf_failed.contains_key(&(*uuid, r.rank))
                };
                let (i, _) = candidates
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, r)| (failed(r), used.contains(&r.domain), r.rank))
                    .expect("a candidate is left");
                let chosen = candidates.remove(i);
                used.push(chosen.domain.clone());
                added.push((chosen.rank, chosen.service_addr.clone()));
            }
            if added.is_empty() {
                continue;
            }
            let mut voters = kept;
            voters.extend(added.iter().map(|(r, _)| *r));
            tracing::info!(
                "pool {uuid}: replacing service replicas {:?} on excluded engines with {:?}",
                svc.meta
                    .svc_ranks
                    .iter()
                    .filter(|r| !voters.contains(r))
                    .collect::<Vec<_>>(),
                added.iter().map(|(r, _)| r).collect::<Vec<_>>()
            );
            plans.push(ReconfPlan {
                pool: *uuid,
                raft,
                voters,
                added,
            });
        }
        for plan in &plans {
            self.reconfiguring.insert(plan.pool);
        }
        for (pool, rank, _) in &nudges {
            self.reconf_nudged.insert((*pool, *rank), now);
        }
        (plans, nudges)
    }

    fn start_replica(&mut self, pool: Uuid, members: Option<Vec<u32>>) {
        if !self.started.insert(pool) {
            return;
        }
        let log = self
            .meta_dir
            .join("pools")
            .join(pool.to_string())
            .join("rdb.log");
        let members = members.map(|m| m.into_iter().map(u64::from).collect());
        rsvc::start(
            self.raft_rt.handle(),
            &self.rafts,
            &self.bridge,
            pool,
            self.rank,
            log,
            members,
        );
    }

    /// This engine's Raft node of `pool`, when it is a replica whose node has started.
    fn raft(&self, pool: &Uuid) -> Option<rsvc::SvcRaft> {
        self.rafts.lock().expect("raft registry").get(pool).cloned()
    }

    /// Serves a request from the Raft side (see [`rsvc::ToService`]). Calls to other
    /// replicas come back as a future to run on this context's executor.
    fn serve_raft_side(
        &mut self,
        msg: ToService,
        net: &Arc<NetContext>,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> {
        match msg {
            ToService::AppliedState { pool, reply } => {
                let state = self
                    .pools
                    .get(&pool)
                    .map(|svc| (svc.applied, svc.membership.clone()))
                    .unwrap_or_default();
                let _ = reply.send(state);
            }
            ToService::Apply {
                pool,
                entries,
                reply,
            } => {
                let _ = reply.send(self.apply(&pool, entries));
            }
            ToService::Image { pool, reply } => {
                let image = self
                    .pools
                    .get(&pool)
                    .map(|svc| (svc.image(), svc.applied, svc.membership.clone()))
                    .ok_or_else(|| Error::new(Der::Nonexist, format!("pool {pool}")));
                let _ = reply.send(image);
            }
            ToService::Install {
                pool,
                last,
                membership,
                image,
                reply,
            } => {
                let _ = reply.send(self.install(&pool, last, membership, &image));
            }
            ToService::Call {
                pool,
                rank,
                kind,
                payload,
                timeout,
                reply,
            } => {
                let addr = self
                    .pools
                    .get(&pool)
                    .and_then(|svc| svc.meta.map.rank(rank).map(|r| r.service_addr.clone()));
                let Some(addr) = addr else {
                    let _ = reply.send(Err(Error::new(
                        Der::Nonexist,
                        format!("rank {rank} is not in pool {pool}"),
                    )));
                    return None;
                };
                let net = net.clone();
                let req = SvcRaftReq {
                    pool,
                    kind,
                    payload: Blob(payload),
                };
                return Some(Box::pin(async move {
                    let outcome = call_engine(&net, &addr, Opcode::SvcRaft, &req, 0, timeout)
                        .await
                        .and_then(|bytes| decode_body::<Blob>(Decoder::new(&bytes)))
                        .map(|b| b.0);
                    let _ = reply.send(outcome);
                }));
            }
        }
        None
    }

    /// Applies committed log entries of `pool` in order, through the handlers that serve
    /// requests, with the leader's clock reading; persists the image once for the batch.
    fn apply(&mut self, pool: &Uuid, entries: Vec<rsvc::Entry>) -> Result<Vec<SvcApplied>> {
        self.pool(pool)?.deferred = true;
        self.applying = true;
        let results = self.apply_entries(pool, entries);
        self.applying = false;
        let svc = self.pool(pool)?;
        svc.deferred = false;
        // A replica that cannot record what it applied must stop (the error is fatal to its
        // Raft node): its image would otherwise fall behind what it answered.
        svc.persist()?;
        results
    }

    fn apply_entries(&mut self, pool: &Uuid, entries: Vec<rsvc::Entry>) -> Result<Vec<SvcApplied>> {
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let svc = self.pool(pool)?;
            svc.applied = Some(entry.log_id);
            let applied = match entry.payload {
                openraft::EntryPayload::Blank => SvcApplied::default(),
                openraft::EntryPayload::Membership(m) => {
                    // The service ranks are the voters: kept in their order, new ones after.
                    let voters: Vec<u32> = m
                        .voter_ids()
                        .filter_map(|id| u32::try_from(id).ok())
                        .collect();
                    let mut ranks: Vec<u32> = svc
                        .meta
                        .svc_ranks
                        .iter()
                        .copied()
                        .filter(|r| voters.contains(r))
                        .collect();
                    let new: Vec<u32> = voters
                        .iter()
                        .copied()
                        .filter(|r| !ranks.contains(r))
                        .collect();
                    ranks.extend(new);
                    if ranks != svc.meta.svc_ranks {
                        tracing::info!(
                            "pool {pool}: service replicas {:?} -> {ranks:?}",
                            svc.meta.svc_ranks
                        );
                        svc.meta.svc_ranks = ranks;
                    }
                    svc.membership = rsvc::Membership::new(Some(entry.log_id), m);
                    SvcApplied::default()
                }
                openraft::EntryPayload::Normal(op) => self.apply_keyed(pool, op),
            };
            results.push(applied);
        }
        Ok(results)
    }

    /// Applies a change once per operation key: a retry of a change already applied answers
    /// what the first one did, and says when it was applied (`repeated`). The caller writes
    /// the image afterwards (once per batch of log entries, or per forwarded change).
    fn apply_keyed(&mut self, pool: &Uuid, op: SvcOp) -> SvcApplied {
        let Some(key) = op.key else {
            return self.apply_op(op);
        };
        let kept = self
            .pools
            .get(pool)
            .and_then(|svc| svc.ops.iter().find(|k| k.key == key).cloned());
        if let Some(kept) = kept {
            tracing::debug!("pool {pool}: change {key:032x} was applied already");
            let (status, body) = match kept.body {
                Some(body) => (kept.status, body),
                None if kept.status != 0 => (kept.status, Vec::new()),
                None => match self.replay(pool, &op) {
                    Ok(body) => (0, body),
                    Err(err) => (err.rc(), Vec::new()),
                },
            };
            return SvcApplied {
                status,
                body,
                repeated: Some(kept.now),
            };
        }
        let (opcode, now) = (op.opcode, op.now);
        let applied = self.apply_op(op);
        let replayable = [
            Opcode::PoolConnect as u16,
            Opcode::ContOpen as u16,
            Opcode::ContCreate as u16,
            Opcode::MgmtPoolUpdate as u16,
        ];
        let body = (applied.body.len() <= KEPT_BODY_MAX || !replayable.contains(&opcode))
            .then(|| applied.body.clone());
        if let Some(svc) = self.pools.get_mut(pool) {
            svc.ops.push_back(KeptOp {
                key,
                opcode,
                now,
                status: applied.status,
                body,
            });
            if svc.ops.len() > OPS_KEPT {
                svc.ops.pop_front();
            }
        }
        applied
    }

    /// The reply to a retried change whose first reply was too large to keep, made from the
    /// current state: a connect or an open is served again if its handle is still open (it
    /// is idempotent by its handle; a closed one is not reopened), a create answers with the
    /// container, a pool map change with the current map.
    ///
    /// Errors: `-DER_NO_HDL` for a handle closed since; `-DER_NONEXIST` for a container
    /// destroyed since; `-DER_PROTO` for a request that cannot be replayed.
    fn replay(&mut self, pool: &Uuid, op: &SvcOp) -> Result<Vec<u8>> {
        let opcode =
            Opcode::from_u16(op.opcode).ok_or_else(|| Error::new(Der::Proto, "unknown opcode"))?;
        let body = Decoder::new(&op.body);
        let svc = self.pool(pool)?;
        let open = match opcode {
            Opcode::PoolConnect => {
                let req: PoolConnectReq = decode_body(body)?;
                svc.pool_handles.contains_key(&req.handle)
            }
            Opcode::ContOpen => {
                let req: ContOpenReq = decode_body(body)?;
                svc.cont_handles.contains_key(&req.handle)
            }
            Opcode::ContCreate => {
                let req: ContCreateReq = decode_body(body)?;
                if !svc.meta.containers.contains_key(&req.cont) {
                    return Err(Error::new(
                        Der::Nonexist,
                        format!("container {} was destroyed", req.cont),
                    ));
                }
                let svc = &self.pools[pool];
                return Ok(self.cont_reply(svc, &svc.meta.containers[&req.cont]));
            }
            Opcode::MgmtPoolUpdate => {
                return Ok(encode(&MgmtPoolUpdateReply {
                    map_version: svc.meta.map.version,
                    map: WireMap(svc.meta.map.clone()),
                }))
            }
            other => {
                return Err(Error::new(
                    Der::Proto,
                    format!("{other:?} cannot be replayed"),
                ))
            }
        };
        if !open {
            return Err(Error::new(Der::NoHdl, "the handle was closed since"));
        }
        let again = self.apply_op(op.clone());
        if again.status != 0 {
            return Err(Error::new(
                Der::from_value(-again.status).unwrap_or(Der::Misc),
                "serving the retried request again",
            ));
        }
        Ok(again.body)
    }

    fn apply_op(&mut self, op: SvcOp) -> SvcApplied {
        let Some(opcode) = Opcode::from_u16(op.opcode).filter(|o| forwarded_as(*o).is_some())
        else {
            return SvcApplied {
                status: Der::Proto.rc(),
                ..SvcApplied::default()
            };
        };
        self.hlc.observe(op.now);
        self.forced_now = Some(op.now);
        let result = self.serve(opcode, Decoder::new(&op.body));
        self.forced_now = None;
        match result {
            Ok(body) => SvcApplied {
                status: 0,
                body,
                repeated: None,
            },
            Err(err) => {
                tracing::debug!("applying {opcode:?}: {err}");
                SvcApplied {
                    status: err.rc(),
                    ..SvcApplied::default()
                }
            }
        }
    }

    /// Replaces `pool`'s state with a leader's image (a lagging replica's snapshot install):
    /// the image is made durable first, in one write, then the targets are brought in line
    /// with it (containers, snapshots, handles, the map).
    fn install(
        &mut self,
        pool: &Uuid,
        last: Option<rsvc::LogId>,
        membership: rsvc::Membership,
        image: &[u8],
    ) -> Result<()> {
        let path = self.pool(pool)?.path.clone();
        let mut new = PoolSvc::from_image(image, path)?;
        new.applied = last;
        new.membership = membership;
        new.persist()?;
        let state = new.state();
        let mut meta = new.meta.clone();
        let old = self
            .pools
            .insert(*pool, new)
            .expect("the pool was found above");
        // A replica that never applied the log (just added, see `reconfigure`) holds what
        // the leader forwarded to it, which may be newer than the image: changes after the
        // image reach it again through the log. Until then its targets keep those containers
        // and handles rather than drop data written since.
        let fresh = old.applied.is_none();
        let closed: Vec<Uuid> = if fresh {
            for (uuid, cont) in &old.meta.containers {
                meta.containers.entry(*uuid).or_insert_with(|| cont.clone());
            }
            Vec::new()
        } else {
            old.cont_handles
                .keys()
                .filter(|h| !state.cont_handles.iter().any(|s| s.handle == **h))
                .copied()
                .collect()
        };
        self.applying = true;
        let outcome = (|| {
            for handle in closed {
                self.unregister_handle(*pool, handle)?;
            }
            self.sync_targets(*pool, &meta, &state.cont_handles)?;
            self.pass_map(pool, &meta.map)
        })();
        self.applying = false;
        outcome?;
        tracing::info!("pool {pool}: installed the leader's service image at {last:?}");
        Ok(())
    }

    /// Brings this engine's targets in line with `meta`: containers (creating missing ones,
    /// removing others), their snapshots, and the open container handles.
    fn sync_targets(&self, pool: Uuid, meta: &SvcMeta, handles: &[SyncHandle]) -> Result<()> {
        let containers: Vec<Uuid> = meta.containers.keys().copied().collect();
        self.broadcast(|reply| TargetMsg::Reconcile {
            pool,
            containers: containers.clone(),
            reply,
        })?;
        for cont in meta.containers.values() {
            let uuid = cont.uuid;
            self.broadcast(|reply| TargetMsg::Container {
                pool,
                cont: uuid,
                destroy: false,
                reply,
            })?;
            for target in &self.targets {
                target.send(TargetMsg::Snapshots {
                    pool,
                    cont: uuid,
                    epochs: cont.snapshots.iter().map(|s| s.epoch).collect(),
                });
            }
        }
        for h in handles {
            let info = HandleInfo {
                cont: h.cont,
                write: h.write.0,
            };
            self.register_handle(pool, h.handle, info)?;
        }
        Ok(())
    }

    /// Merges the leader's state into this engine's copy when it returns to the pool: takes
    /// the leader's containers and snapshots (removing containers destroyed meanwhile from
    /// the targets, creating new ones), and registers every open handle on the targets.
    fn merge_state(&mut self, pool: &Uuid, state: SvcState) -> Result<()> {
        let leader = SvcMeta::decode(&state.meta.0)?;
        let pool = *pool;
        self.sync_targets(pool, &leader, &state.cont_handles)?;
        let rank = self.rank;
        let svc = self.pool(&pool)?;
        svc.meta.containers = leader.containers;
        svc.meta.props = leader.props;
        svc.meta.label = leader.label;
        svc.meta.owner = leader.owner;
        // Replaced while it was out: it no longer serves the pool service.
        let replaced = svc.meta.svc_ranks.contains(&rank) && !leader.svc_ranks.contains(&rank);
        svc.meta.svc_ranks = leader.svc_ranks;
        for h in state.pool_handles {
            svc.pool_handles
                .entry(h)
                .or_insert(PoolHandle { cont_handles: 0 });
        }
        for h in state.cont_handles {
            svc.cont_handles.entry(h.handle).or_insert(ContHandle {
                cont: h.cont,
                pool_handle: h.pool_handle,
                write: h.write.0,
            });
        }
        svc.persist()?;
        if replaced {
            tracing::info!("rank {rank}: pool {pool}: no longer a service replica");
            rsvc::stop(&self.raft_rt, &self.rafts, &pool);
            self.started.remove(&pool);
        }
        let svc = self.pool(&pool)?;
        tracing::info!(
            "rank {}: pool {pool}: took the leader's state on returning ({} containers, {} handles)",
            rank,
            svc.meta.containers.len(),
            svc.cont_handles.len()
        );
        Ok(())
    }

    /// Gives every target the pool's map: they check the version clients route by, compute
    /// rebuild work from it, and drop stale shards when they return to the pool.
    fn pass_map(&self, pool: &Uuid, map: &daos_placement::PoolMap) -> Result<()> {
        let map = Arc::new(map.clone());
        for (i, target) in self.targets.iter().enumerate() {
            let outcome = target.call(TARGET_TIMEOUT, |reply| TargetMsg::PoolMap {
                pool: *pool,
                map: map.clone(),
                reply,
            });
            match outcome {
                Err(err) if self.applying => {
                    tracing::error!("target {i} did not take pool map {}: {err}", map.version)
                }
                outcome => outcome?,
            }
        }
        Ok(())
    }

    /// Prepares, starts, stops or queries the rebuild of a pool on this engine's targets and
    /// sums their progress (see [`crate::rebuild`]). The control plane drives the job: it
    /// prepares every engine, starts them, polls them, and records `rebuild done` in the map
    /// once all report done.
    ///
    /// Errors: `-DER_NONEXIST` for a pool not on this engine; `-DER_STALE` when a target does
    /// not hold the job's map version.
    fn mgmt_rebuild(&mut self, req: MgmtRebuildReq) -> Result<Vec<u8>> {
        let cells: crate::rebuild::CellSizes = self
            .pools
            .get(&req.pool)
            .map(|svc| {
                svc.meta
                    .containers
                    .values()
                    .map(|c| {
                        let cell = c
                            .props
                            .number(prop::CO_EC_CELL_SZ)
                            .unwrap_or(prop::EC_CELL_SIZE_DEFAULT);
                        (c.uuid, cell)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let cells = Arc::new(cells);
        let parts = self
            .targets
            .iter()
            .map(|target| {
                target.call(TARGET_TIMEOUT, |reply| TargetMsg::Rebuild {
                    pool: req.pool,
                    op: req.op,
                    version: req.map_version,
                    handle: req.handle,
                    cells: cells.clone(),
                    reply,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(encode(&RebuildStatus::combine(parts)))
    }

    fn pool(&mut self, uuid: &Uuid) -> Result<&mut PoolSvc> {
        self.pools.get_mut(uuid).ok_or_else(|| {
            Error::new(
                Der::Nonexist,
                format!("pool {uuid} has no service on rank {}", self.rank),
            )
        })
    }

    /// Sends a message to every target and waits for all of them.
    fn broadcast(
        &self,
        make: impl Fn(crossbeam_channel::Sender<Result<()>>) -> TargetMsg,
    ) -> Result<()> {
        for (i, target) in self.targets.iter().enumerate() {
            match target.call(TARGET_TIMEOUT, &make) {
                Err(err) if self.applying => {
                    tracing::error!("target {i} did not take a pool service change: {err}")
                }
                outcome => outcome?,
            }
        }
        Ok(())
    }

    /// Serves one request; returns the status and encoded body.
    fn serve(&mut self, opcode: Opcode, body: Decoder<'_>) -> Result<Vec<u8>> {
        match opcode {
            Opcode::PoolConnect => self.pool_connect(decode_body(body)?),
            Opcode::PoolDisconnect => self.pool_disconnect(decode_body(body)?),
            Opcode::PoolQuery => self.pool_query(decode_body(body)?),
            Opcode::ContCreate => self.cont_create(decode_body(body)?),
            Opcode::ContOpen => self.cont_open(decode_body(body)?),
            Opcode::ContClose => self.cont_close(decode_body(body)?),
            Opcode::ContDestroy => self.cont_destroy(decode_body(body)?),
            Opcode::ContQuery => self.cont_query(decode_body(body)?),
            Opcode::ContList => self.cont_list(decode_body(body)?),
            Opcode::ContSnapCreate => self.snap_create(decode_body(body)?),
            Opcode::ContSnapList => self.snap_list(decode_body(body)?),
            Opcode::ContSnapDestroy => self.snap_destroy(decode_body(body)?),
            Opcode::ContAllocOids => self.alloc_oids(decode_body(body)?),
            Opcode::SvcForward => self.serve_forwarded(decode_body(body)?),
            Opcode::MgmtPoolCreate => self.mgmt_pool_create(decode_body(body)?),
            Opcode::MgmtPoolDestroy => self.mgmt_pool_destroy(decode_body(body)?),
            Opcode::MgmtPoolQuery => self.mgmt_pool_query(decode_body(body)?),
            Opcode::MgmtPoolUpdate => self.mgmt_pool_update(decode_body(body)?),
            Opcode::MgmtRebuild => self.mgmt_rebuild(decode_body(body)?),
            Opcode::SvcStart => self.svc_start(decode_body(body)?),
            Opcode::MgmtPing => Ok(encode(&PingReply {
                rank: self.rank,
                targets: self.targets.len() as u32,
                pools: self.pools.keys().copied().collect(),
            })),
            other => Err(Error::new(
                Der::Nosys,
                format!("{other:?} is served by targets, not the service"),
            )),
        }
    }

    fn pool_connect(&mut self, req: PoolConnectReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        svc.pool_handles
            .entry(req.handle)
            .or_insert(PoolHandle { cont_handles: 0 });
        Ok(encode(&PoolConnectReply {
            label: svc.meta.label.clone(),
            map: WireMap(svc.meta.map.clone()),
            props: WireProps(svc.meta.props.clone()),
        }))
    }

    fn pool_disconnect(&mut self, req: PoolHandleReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        match svc.pool_handles.get(&req.handle) {
            None => Err(Error::new(Der::NoHdl, "pool handle is not connected")),
            Some(h) if h.cont_handles > 0 => Err(Error::new(
                Der::Busy,
                format!("{} container handles are still open", h.cont_handles),
            )),
            Some(_) => {
                svc.pool_handles.remove(&req.handle);
                Ok(Vec::new())
            }
        }
    }

    fn space(&self, pool: &Uuid) -> Result<Vec<daos_vos::Space>> {
        self.targets
            .iter()
            .map(|t| {
                t.call(TARGET_TIMEOUT, |reply| TargetMsg::QuerySpace {
                    uuid: *pool,
                    reply,
                })
            })
            .collect()
    }

    fn pool_query(&mut self, req: PoolHandleReq) -> Result<Vec<u8>> {
        self.pool(&req.pool)?.check_pool_handle(&req.handle)?;
        let spaces = self.space(&req.pool)?;
        let svc = &self.pools[&req.pool];
        let sum = |f: fn(&daos_vos::Space) -> (u64, u64)| -> Space {
            let pairs: Vec<(u64, u64)> = spaces.iter().map(f).collect();
            Space {
                total: pairs.iter().map(|p| p.0).sum(),
                free: pairs.iter().map(|p| p.1).sum(),
                free_min: pairs.iter().map(|p| p.1).min().unwrap_or(0),
                free_max: pairs.iter().map(|p| p.1).max().unwrap_or(0),
            }
        };
        Ok(encode(&PoolQueryReply {
            label: svc.meta.label.clone(),
            map: WireMap(svc.meta.map.clone()),
            scm: sum(|s| (s.scm_total, s.scm_free)),
            nvme: sum(|s| (s.nvme_total, s.nvme_free)),
            leader: self.rank,
            props: WireProps(svc.meta.props.clone()),
        }))
    }

    fn cont_reply(&self, svc: &PoolSvc, cont: &ContMeta) -> Vec<u8> {
        let handles = svc
            .cont_handles
            .values()
            .filter(|h| h.cont == cont.uuid)
            .count() as u32;
        encode(&ContReply {
            info: ContInfo {
                uuid: cont.uuid,
                latest_snapshot: cont.snapshots.last().map_or(0, |s| s.epoch),
                handles,
                snapshots: cont.snapshots.len() as u32,
                open_time: cont.modified,
                modify_time: cont.modified,
            },
            props: WireProps(cont.props.clone()),
            snapshots: cont.snapshots.iter().map(|s| s.epoch).collect(),
        })
    }

    fn cont_create(&mut self, req: ContCreateReq) -> Result<Vec<u8>> {
        let now = self.now();
        let svc = self.pool(&req.pool)?;
        svc.check_pool_handle(&req.pool_handle)?;
        if req.cont.is_nil() {
            return Err(Error::new(Der::Inval, "container UUID must not be nil"));
        }
        if svc.meta.containers.contains_key(&req.cont) {
            return Err(Error::new(
                Der::Exist,
                format!("container {} exists", req.cont),
            ));
        }
        let mut props = req.props.0;
        let label = props.text(prop::CO_LABEL).unwrap_or("").to_string();
        if !label.is_empty() {
            daos_types::label::check_label(&label)?;
            if svc.meta.containers.values().any(|c| c.label == label) {
                return Err(Error::new(
                    Der::Exist,
                    format!("a container labelled {label:?} exists"),
                ));
            }
        }
        fill_container_defaults(&mut props, &svc.meta.props, &req.cred)?;
        let cont = ContMeta {
            uuid: req.cont,
            label,
            props,
            snapshots: Vec::new(),
            next_oid: 1,
            created: now,
            modified: now,
        };
        svc.meta.containers.insert(req.cont, cont);
        if let Err(err) = svc.persist() {
            svc.meta.containers.remove(&req.cont);
            return Err(err);
        }
        let (pool, cont) = (req.pool, req.cont);
        self.broadcast(|reply| TargetMsg::Container {
            pool,
            cont,
            destroy: false,
            reply,
        })?;
        let svc = &self.pools[&pool];
        Ok(self.cont_reply(svc, &svc.meta.containers[&cont]))
    }

    fn cont_open(&mut self, req: ContOpenReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        svc.check_pool_handle(&req.pool_handle)?;
        let cont = svc.find_container(&req.cont)?.uuid;
        const COO_RO: u32 = 1;
        const COO_RW: u32 = 2;
        const COO_EX: u32 = 4;
        if req.flags & (COO_RO | COO_RW | COO_EX) == 0 {
            return Err(Error::new(
                Der::Inval,
                "open flags need DAOS_COO_RO, RW or EX",
            ));
        }
        let open_elsewhere = svc
            .cont_handles
            .iter()
            .any(|(h, c)| c.cont == cont && *h != req.handle);
        if req.flags & COO_EX != 0 && open_elsewhere {
            return Err(Error::new(
                Der::Busy,
                "container is open elsewhere; exclusive open refused",
            ));
        }
        let info = HandleInfo {
            cont,
            write: req.flags & (COO_RW | COO_EX) != 0,
        };
        let (pool, handle) = (req.pool, req.handle);
        self.register_handle(pool, handle, info)?;
        let svc = self.pool(&pool)?;
        if svc
            .cont_handles
            .insert(
                handle,
                ContHandle {
                    cont,
                    pool_handle: req.pool_handle,
                    write: info.write,
                },
            )
            .is_none()
        {
            if let Some(ph) = svc.pool_handles.get_mut(&req.pool_handle) {
                ph.cont_handles += 1;
            }
        }
        let svc = &self.pools[&pool];
        Ok(self.cont_reply(svc, &svc.meta.containers[&cont]))
    }

    fn cont_handle(&mut self, req: &ContHandleReq) -> Result<&mut PoolSvc> {
        let svc = self.pool(&req.pool)?;
        match svc.cont_handles.get(&req.handle) {
            Some(h) if h.cont == req.cont => Ok(svc),
            _ => Err(Error::new(
                Der::NoHdl,
                format!("container handle {} is not open", req.handle),
            )),
        }
    }

    fn cont_close(&mut self, req: ContHandleReq) -> Result<Vec<u8>> {
        self.cont_handle(&req)?;
        let (pool, handle) = (req.pool, req.handle);
        self.unregister_handle(pool, handle)?;
        let svc = self.pool(&pool)?;
        if let Some(h) = svc.cont_handles.remove(&handle) {
            if let Some(ph) = svc.pool_handles.get_mut(&h.pool_handle) {
                ph.cont_handles = ph.cont_handles.saturating_sub(1);
            }
        }
        Ok(Vec::new())
    }

    fn cont_destroy(&mut self, req: ContDestroyReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        svc.check_pool_handle(&req.pool_handle)?;
        let cont = svc.find_container(&req.cont)?.uuid;
        let open: Vec<Uuid> = svc
            .cont_handles
            .iter()
            .filter(|(_, c)| c.cont == cont)
            .map(|(h, _)| *h)
            .collect();
        if !open.is_empty() && !req.force.0 {
            return Err(Error::new(
                Der::Busy,
                format!("container has {} open handles", open.len()),
            ));
        }
        let removed = svc.meta.containers.remove(&cont).expect("found above");
        if let Err(err) = svc.persist() {
            svc.meta.containers.insert(cont, removed);
            return Err(err);
        }
        for handle in &open {
            if let Some(h) = svc.cont_handles.remove(handle) {
                if let Some(ph) = svc.pool_handles.get_mut(&h.pool_handle) {
                    ph.cont_handles = ph.cont_handles.saturating_sub(1);
                }
            }
        }
        let pool = req.pool;
        self.broadcast(|reply| TargetMsg::Container {
            pool,
            cont,
            destroy: true,
            reply,
        })?;
        Ok(Vec::new())
    }

    fn cont_query(&mut self, req: ContHandleReq) -> Result<Vec<u8>> {
        let svc = self.cont_handle(&req)?;
        let cont = svc
            .meta
            .containers
            .get(&req.cont)
            .ok_or_else(|| Error::new(Der::Nonexist, "container was destroyed"))?
            .clone();
        let svc = &self.pools[&req.pool];
        Ok(self.cont_reply(svc, &cont))
    }

    fn cont_list(&mut self, req: PoolHandleReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        svc.check_pool_handle(&req.handle)?;
        Ok(encode(&ContListReply {
            containers: svc
                .meta
                .containers
                .values()
                .map(|c| ContEntry {
                    uuid: c.uuid,
                    label: c.label.clone(),
                })
                .collect(),
        }))
    }

    fn push_snapshots(&self, pool: Uuid, cont: &ContMeta) {
        for target in &self.targets {
            target.send(TargetMsg::Snapshots {
                pool,
                cont: cont.uuid,
                epochs: cont.snapshots.iter().map(|s| s.epoch).collect(),
            });
        }
    }

    fn snap_create(&mut self, req: SnapCreateReq) -> Result<Vec<u8>> {
        let epoch = self.now();
        let svc = self.cont_handle(&req.handle)?;
        let cont = svc
            .meta
            .containers
            .get_mut(&req.handle.cont)
            .ok_or_else(|| Error::new(Der::Nonexist, "container"))?;
        let max = cont.props.number(prop::CO_SNAPSHOT_MAX).unwrap_or(0);
        if max > 0 && cont.snapshots.len() as u64 >= max {
            // DAOS's max_snapshot retention: the oldest goes.
            cont.snapshots.remove(0);
        }
        cont.snapshots.push(SnapEntry {
            epoch,
            name: req.name.clone(),
        });
        cont.modified = epoch;
        svc.persist()?;
        let cont = svc.meta.containers[&req.handle.cont].clone();
        self.push_snapshots(req.handle.pool, &cont);
        Ok(encode(&U64Reply { value: epoch }))
    }

    fn snap_list(&mut self, req: ContHandleReq) -> Result<Vec<u8>> {
        let svc = self.cont_handle(&req)?;
        let cont = svc
            .meta
            .containers
            .get(&req.cont)
            .ok_or_else(|| Error::new(Der::Nonexist, "container"))?;
        Ok(encode(&SnapListReply {
            snapshots: cont.snapshots.clone(),
        }))
    }

    fn snap_destroy(&mut self, req: SnapDestroyReq) -> Result<Vec<u8>> {
        let svc = self.cont_handle(&req.handle)?;
        let cont = svc
            .meta
            .containers
            .get_mut(&req.handle.cont)
            .ok_or_else(|| Error::new(Der::Nonexist, "container"))?;
        let before = cont.snapshots.len();
        cont.snapshots
            .retain(|s| s.epoch < req.epoch_lo || s.epoch > req.epoch_hi);
        if cont.snapshots.len() == before {
            return Err(Error::new(Der::Nonexist, "no snapshot in that epoch range"));
        }
        svc.persist()?;
        let cont = svc.meta.containers[&req.handle.cont].clone();
        self.push_snapshots(req.handle.pool, &cont);
        Ok(Vec::new())
    }

    fn alloc_oids(&mut self, req: AllocOidsReq) -> Result<Vec<u8>> {
        if req.count == 0 || req.count > 1 << 40 {
            return Err(Error::new(Der::Inval, "object id count must be 1..2^40"));
        }
        let svc = self.cont_handle(&req.handle)?;
        let cont = svc
            .meta
            .containers
            .get_mut(&req.handle.cont)
            .ok_or_else(|| Error::new(Der::Nonexist, "container"))?;
        let first = cont.next_oid;
        cont.next_oid = first
            .checked_add(req.count)
            .ok_or_else(|| Error::new(Der::Overflow, "object ids exhausted"))?;
        svc.persist()?;
        Ok(encode(&U64Reply { value: first }))
    }

    fn mgmt_pool_create(&mut self, req: MgmtPoolCreateReq) -> Result<Vec<u8>> {
        if self.pools.contains_key(&req.pool) {
            return Err(Error::new(Der::Exist, format!("pool {} exists", req.pool)));
        }
        for (created, target) in self.targets.iter().enumerate() {
            let outcome = target.call(TARGET_TIMEOUT, |reply| TargetMsg::CreatePool {
                uuid: req.pool,
                nvme_bytes: req.nvme_per_target,
                scm_bytes: req.scm_per_target,
                reply,
            });
            if let Err(err) = outcome {
                for undo in &self.targets[..created] {
                    let _ = undo.call(TARGET_TIMEOUT, |reply| TargetMsg::DestroyPool {
                        uuid: req.pool,
                        reply,
                    });
                }
                let _ =
                    std::fs::remove_dir_all(self.meta_dir.join("pools").join(req.pool.to_string()));
                return Err(err);
            }
        }
        // Every engine of the pool keeps a copy of its metadata (the leader forwards each
        // change), so its targets can check handles; `svc_ranks` are those that may lead.
        self.pass_map(&req.pool, &req.map.0)?;
        {
            let svc = PoolSvc {
                meta: SvcMeta {
                    uuid: req.pool,
                    label: req.label.clone(),
                    props: req.props.0.clone(),
                    map: req.map.0.clone(),
                    svc_ranks: req.svc_ranks.clone(),
                    owner: req.owner.clone(),
                    containers: BTreeMap::new(),
                },
                path: svc_path(&self.meta_dir, &req.pool),
                pool_handles: HashMap::new(),
                cont_handles: HashMap::new(),
                applied: None,
                membership: Default::default(),
                deferred: false,
                ops: Default::default(),
            };
            svc.persist()?;
            self.pools.insert(req.pool, svc);
        }
        if req.svc_ranks.contains(&self.rank) {
            let init = (req.svc_ranks.first() == Some(&self.rank)).then(|| req.svc_ranks.clone());
            self.start_replica(req.pool, init);
        }
        tracing::info!(
            "rank {}: pool {} ({}) created",
            self.rank,
            req.pool,
            req.label
        );
        Ok(Vec::new())
    }

    fn mgmt_pool_destroy(&mut self, req: MgmtPoolDestroyReq) -> Result<Vec<u8>> {
        if let Some(svc) = self.pools.get(&req.pool) {
            if !svc.pool_handles.is_empty() && !req.force.0 {
                return Err(Error::new(
                    Der::Busy,
                    format!("pool has {} connected handles", svc.pool_handles.len()),
                ));
            }
        }
        rsvc::stop(&self.raft_rt, &self.rafts, &req.pool);
        self.started.remove(&req.pool);
        let mut found = self.pools.remove(&req.pool).is_some();
        for target in &self.targets {
            match target.call(TARGET_TIMEOUT, |reply| TargetMsg::DestroyPool {
                uuid: req.pool,
                reply,
            }) {
                Ok(()) => found = true,
                Err(err) if err.der() == Der::Nonexist => {}
                Err(err) => return Err(err),
            }
        }
        let dir = self.meta_dir.join("pools").join(req.pool.to_string());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::from(e).with_context(dir.display()))?;
            found = true;
        }
        if !found {
            return Err(Error::new(
                Der::Nonexist,
                format!("pool {} is not on rank {}", req.pool, self.rank),
            ));
        }
        Ok(Vec::new())
    }

    /// Changes target states in the pool map (exclude, drain, reintegrate, extend), bumping
    /// its version. Follows DAOS's `dmg pool exclude|drain|reintegrate|extend` and
    /// `self_heal`.
    ///
    /// Errors: `-DER_NONEXIST` for an unknown pool, rank or target; `-DER_INVAL` for an
    /// unknown operation or a change the target's state does not allow.
    fn mgmt_pool_update(&mut self, req: MgmtPoolUpdateReq) -> Result<Vec<u8>> {
        let svc = self.pool(&req.pool)?;
        let mut map = svc.meta.map.clone();
        if req.op == POOL_UPDATE_REBUILD_DONE || req.op == POOL_UPDATE_REBUILD_CLEAN {
            if map.version != req.map_version {
                return Err(Error::new(
                    Der::Stale,
                    format!(
                        "rebuild finished for map version {}, the map is at {}",
                        req.map_version, map.version
                    ),
                ));
            }
            let changed = if req.op == POOL_UPDATE_REBUILD_CLEAN {
                map.rebuild_clean()
            } else {
                map.rebuild_done()
            };
            if !changed {
                // Nothing to record: the map (and its version) stay as they are.
                return Ok(encode(&MgmtPoolUpdateReply {
                    map_version: map.version,
                    map: WireMap(map),
                }));
            }
        } else if req.op == POOL_UPDATE_EXTEND {
            let entry: daos_placement::RankEntry = decode_body(Decoder::new(&req.rank_entry.0))?;
            let rank = entry.rank;
            map.extend(entry)?;
            map.reintegrate_rank(rank)?;
        } else if req.targets.is_empty() {
            match req.op {
                POOL_UPDATE_EXCLUDE => map.exclude_rank(req.rank)?,
                POOL_UPDATE_DRAIN => map.drain_rank(req.rank)?,
                POOL_UPDATE_REINTEGRATE => map.reintegrate_rank(req.rank)?,
                op => return Err(Error::new(Der::Inval, format!("unknown pool update {op}"))),
            }
        }
        for &target in &req.targets {
            match req.op {
                POOL_UPDATE_EXCLUDE => map.exclude_target(req.rank, target)?,
                POOL_UPDATE_DRAIN => map.drain_target(req.rank, target)?,
                POOL_UPDATE_REINTEGRATE => map.reintegrate_target(req.rank, target)?,
                op => return Err(Error::new(Der::Inval, format!("unknown pool update {op}"))),
            }
        }
        let old = std::mem::replace(&mut svc.meta.map, map.clone());
        if let Err(err) = svc.persist() {
            svc.meta.map = old;
            return Err(err);
        }
        self.pass_map(&req.pool, &map)?;
        let svc = self.pool(&req.pool)?;
        tracing::info!(
            "pool {}: map version {} after update {} of rank {}",
            req.pool,
            svc.meta.map.version,
            req.op,
            req.rank
        );
        Ok(encode(&MgmtPoolUpdateReply {
            map_version: svc.meta.map.version,
            map: WireMap(svc.meta.map.clone()),
        }))
    }

    fn mgmt_pool_query(&mut self, req: MgmtPoolQueryReq) -> Result<Vec<u8>> {
        let spaces = self.space(&req.pool)?;
        let handles = self
            .pools
            .get(&req.pool)
            .map_or(0, |s| s.pool_handles.len() as u32);
        let map = self
            .pools
            .get(&req.pool)
            .map(|s| s.meta.map.clone())
            .unwrap_or_default();
        Ok(encode(&MgmtPoolQueryReply {
            map: WireMap(map),
            targets: spaces
                .iter()
                .enumerate()
                .map(|(i, s)| TargetSpace {
                    target: i as u32,
                    scm_total: s.scm_total,
                    scm_free: s.scm_free,
                    nvme_total: s.nvme_total,
                    nvme_free: s.nvme_free,
                })
                .collect(),
            handles,
            leader: self
                .raft(&req.pool)
                .and_then(|raft| rsvc::leader(&raft))
                .unwrap_or(u32::MAX),
            svc_ranks: self
                .pools
                .get(&req.pool)
                .map(|s| s.meta.svc_ranks.clone())
                .unwrap_or_default(),
        }))
    }
}

fn encode<T: Wire>(body: &T) -> Vec<u8> {
    let mut e = Encoder::new();
    body.encode(&mut e);
    e.finish()
}

/// Fills the properties DAOS sets on every new container.
fn fill_container_defaults(props: &mut Props, pool_props: &Props, cred: &Credential) -> Result<()> {
    for entry in props.entries() {
        if entry.kind < prop::CO_MIN || entry.kind >= prop::CO_MAX {
            return Err(Error::new(
                Der::Inval,
                format!("property {} is not a container property", entry.kind),
            ));
        }
    }
    if let Some(csum) = props.number(prop::CO_CSUM) {
        let kind = prop::ChecksumType::from_value(csum)
            .ok_or_else(|| Error::new(Der::Inval, format!("unknown checksum type {csum}")))?;
        if !kind.is_supported() {
            return Err(Error::new(
                Der::Notsupported,
                format!("checksum {} is not supported", kind.name()),
            ));
        }
    }
    if let Some(chunk) = props.number(prop::CO_CSUM_CHUNK_SIZE) {
        if chunk == 0 || chunk > 1 << 30 {
            return Err(Error::new(
                Der::Inval,
                "checksum chunk size must be 1 byte to 1 GiB",
            ));
        }
    }
    let rf = pool_props.number(prop::PO_REDUN_FAC).unwrap_or(0);
    props.set_default(
        prop::CO_LAYOUT_TYPE,
        PropValue::Number(prop::layout::UNKNOWN),
    );
    props.set_default(prop::CO_LAYOUT_VER, PropValue::Number(1));
    props.set_default(
        prop::CO_CSUM,
        PropValue::Number(prop::ChecksumType::Crc32 as u64),
    );
    props.set_default(
        prop::CO_CSUM_CHUNK_SIZE,
        PropValue::Number(prop::CSUM_CHUNK_SIZE_DEFAULT),
    );
    props.set_default(prop::CO_CSUM_SERVER_VERIFY, PropValue::Number(0));
    props.set_default(prop::CO_REDUN_FAC, PropValue::Number(rf));
    props.set_default(prop::CO_REDUN_LVL, PropValue::Number(1));
    props.set_default(prop::CO_SNAPSHOT_MAX, PropValue::Number(0));
    props.set_default(prop::CO_COMPRESS, PropValue::Number(0));
    props.set_default(prop::CO_ENCRYPT, PropValue::Number(0));
    props.set_default(prop::CO_DEDUP, PropValue::Number(0));
    props.set_default(prop::CO_OWNER, PropValue::Text(format!("{}@", cred.user)));
    props.set_default(
        prop::CO_OWNER_GROUP,
        PropValue::Text(format!("{}@", cred.group)),
    );
    props.set_default(prop::CO_ROOTS, PropValue::Roots([ObjectId::default(); 4]));
    props.set_default(prop::CO_STATUS, PropValue::Number(0));
    props.set_default(
        prop::CO_EC_CELL_SZ,
        PropValue::Number(
            pool_props
                .number(prop::PO_EC_CELL_SZ)
                .unwrap_or(prop::EC_CELL_SIZE_DEFAULT),
        ),
    );
    Ok(())
}

/// How a service request that changes state the pool's other engines must share travels to
/// them, or `None` for requests that change nothing shared. Their targets check container
/// handles and snapshots locally, as DAOS's do (DAOS propagates them with IV broadcasts from
/// the pool service leader). Container and handle changes are replayed as they came; a pool
/// map change travels as the resulting map (`MgmtPoolMap`).
fn forwarded_as(opcode: Opcode) -> Option<Opcode> {
    match opcode {
        Opcode::PoolConnect
        | Opcode::PoolDisconnect
        | Opcode::ContCreate
        | Opcode::ContOpen
        | Opcode::ContClose
        | Opcode::ContDestroy
        | Opcode::ContSnapCreate
        | Opcode::ContSnapDestroy
        | Opcode::ContAllocOids => Some(opcode),
        Opcode::MgmtPoolUpdate => Some(Opcode::MgmtPoolMap),
        _ => None,
    }
}

/// How long the leader waits for another engine to apply a forwarded change. An engine that
/// does not answer is dead or cut off; it is excluded from the pool by failure handling.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest pool service state carried in a forwarded map (it shares one message with the map).
const STATE_MAX: usize = 40 * 1024;

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// Runs the service context until `stop` is set.
pub fn run(net: Arc<NetContext>, service: Service, stop: Arc<AtomicBool>) {
    net.enable_requests(64, daos_proto::MESSAGE_SIZE_MAX);
    let bell = service.bell.clone();
    let from_raft = service.bridge_rx.clone();
    let service = Rc::new(RefCell::new(service));
    let mut fds = vec![bell.fd()];
    fds.extend(net.wait_fd());
    let poller = match crate::target::Poller::new(&fds) {
        Ok(poller) => poller,
        Err(err) => {
            tracing::error!("service context cannot poll: {err}");
            return;
        }
    };
    let mut exec: Executor<dyn std::future::Future<Output = ()>> = Executor::new();
    let mut reconf_checked = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if reconf_checked.elapsed() >= RECONF_CHECK {
            reconf_checked = std::time::Instant::now();
            let (plans, nudges) = service.borrow_mut().reconf_plans();
            for plan in plans {
                exec.spawn(Box::pin(reconfigure(net.clone(), service.clone(), plan)));
            }
            for (pool, rank, addr) in nudges {
                let (net, hlc) = (net.clone(), service.borrow().hlc.now());
                exec.spawn(Box::pin(async move {
                    let req = SvcStartReq { pool };
                    if let Err(err) =
                        call_engine(&net, &addr, Opcode::SvcStart, &req, hlc, FORWARD_TIMEOUT).await
                    {
                        tracing::debug!("pool {pool}: rank {rank} not told to start: {err}");
                    }
                }));
            }
        }
        let mut busy = net.progress();
        while let Ok(msg) = from_raft.try_recv() {
            busy += 1;
            let task = service.borrow_mut().serve_raft_side(msg, &net);
            if let Some(task) = task {
                exec.spawn(task);
            }
        }
        while let Some(incoming) = net.take_request() {
            busy += 1;
            if let Some(task) = serve_one(&net, &service, incoming) {
                exec.spawn(task);
            }
        }
        busy += exec.run_ready();
        if busy > 0 || exec.has_ready() {
            continue;
        }
        if net.spinning() {
            std::thread::yield_now();
            continue;
        }
        let mut limit = Duration::from_millis(100).min(RECONF_CHECK);
        if let Some(deadline) = net.next_deadline() {
            limit = limit.min(deadline.saturating_duration_since(std::time::Instant::now()));
        }
        match net.wait_fd() {
            Some(_) if !net.try_wait() => continue,
            Some(_) => poller.wait(limit),
            None => poller.wait(Duration::from_millis(1)),
        }
        bell.clear();
    }
    // Let replies already queued go out.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !exec.is_empty() && std::time::Instant::now() < deadline {
        net.progress();
        exec.run_ready();
        net.wait(Some(Duration::from_millis(10)));
    }
    let service = service.borrow();
    let rafts: Vec<rsvc::SvcRaft> = service
        .rafts
        .lock()
        .expect("raft registry")
        .drain()
        .map(|(_, raft)| raft)
        .collect();
    for raft in rafts {
        // Bounded: a replica waiting on this (stopped) context cannot finish its work.
        let _ = service.raft_rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), raft.shutdown()).await
        });
    }
}

/// Calls another engine's service context; returns the reply body's bytes.
async fn call_engine(
    net: &Arc<NetContext>,
    addr: &[u8],
    opcode: Opcode,
    body: &impl Wire,
    hlc: u64,
    timeout: Duration,
) -> Result<Vec<u8>> {
    let rpc_id = net.next_rpc_id();
    let capacity = daos_proto::MESSAGE_SIZE_MAX;
    let header = daos_proto::RequestHeader {
        opcode,
        rpc_id,
        reply_capacity: capacity as u32,
        map_version: 0,
        hlc,
        sender: net.name().to_vec(),
    };
    let msg = daos_proto::encode_request(&header, body);
    let peer = net.resolve(addr)?;
    let reply = rpc::call(net, peer, rpc_id, msg, capacity, timeout).await?;
    let (header, body) = daos_proto::header::decode_reply(&reply)?;
    if header.status != 0 {
        return Err(Error::new(
            Der::from_value(-header.status).unwrap_or(Der::Misc),
            format!("{opcode:?} refused by another engine"),
        ));
    }
    let mut body = body;
    Ok(body.raw(body.remaining(), "reply body")?.to_vec())
}

/// Sends forwarded changes to the pool's other engines, all at once, and waits for them.
/// An engine that cannot be reached is skipped (failure handling excludes it); an engine
/// that refuses the change fails the whole request, since its targets would then disagree.
async fn forward_all(net: &Arc<NetContext>, forwards: Vec<(Vec<u8>, SvcForwardReq)>) -> Result<()> {
    let calls = forwards.into_iter().map(|(addr, forward)| {
        let net = net.clone();
        async move {
            let hlc = forward.now;
            match call_engine(
                &net,
                &addr,
                Opcode::SvcForward,
                &forward,
                hlc,
                FORWARD_TIMEOUT,
            )
            .await
            {
                Ok(_) => Ok(()),
                Err(err) if matches!(err.der(), Der::Unreach | Der::Timedout) => {
                    tracing::warn!("forwarded change not delivered: {err}");
                    Ok(())
                }
                Err(err) => Err(err),
            }
        }
    });
    for result in futures::future::join_all(calls).await {
        result?;
    }
    Ok(())
}

/// Waits until the pool's other live service replicas have applied the log up to `index`
/// (`SvcSync`), so that their targets know what the leader's reply promises (a handle
/// opened, a map installed). A replica that does not answer is dead or cut off and is
/// skipped, as for forwards.
async fn sync_all(
    net: &Arc<NetContext>,
    pool: Uuid,
    addrs: Vec<Vec<u8>>,
    index: u64,
) -> Result<()> {
    let calls = addrs.into_iter().map(|addr| {
        let net = net.clone();
        async move {
            let req = SvcSyncReq { pool, index };
            match call_engine(&net, &addr, Opcode::SvcSync, &req, 0, FORWARD_TIMEOUT).await {
                Ok(_) => Ok(()),
                Err(err) if matches!(err.der(), Der::Unreach | Der::Timedout) => {
                    tracing::warn!("pool {pool}: a replica did not apply index {index}: {err}");
                    Ok(())
                }
                Err(err) => Err(err),
            }
        }
    });
    for result in futures::future::join_all(calls).await {
        result?;
    }
    Ok(())
}

/// The reply message for a request.
fn reply_message(
    route: &daos_proto::header::ReplyRoute,
    status: i32,
    body: &[u8],
    hlc: u64,
) -> Vec<u8> {
    let header = daos_proto::ReplyHeader {
        opcode: route.opcode,
        rpc_id: route.rpc_id,
        status,
        map_version: 0,
        hlc,
    };
    let mut e = daos_proto::header::begin_reply(&header);
    e.raw(body);
    let msg = daos_proto::header::seal(e);
    if msg.len() > route.reply_capacity as usize {
        let header = daos_proto::ReplyHeader {
            status: Der::Overflow.rc(),
            ..header
        };
        return daos_proto::header::seal(daos_proto::header::begin_reply(&header));
    }
    msg
}

/// Queries answered by the service leader from its applied state.
fn is_leader_read(opcode: Opcode) -> bool {
    matches!(
        opcode,
        Opcode::PoolQuery | Opcode::ContQuery | Opcode::ContList | Opcode::ContSnapList
    )
}

/// How one request is handled.
enum Route {
    /// Served at once on this thread.
    Now(Result<Vec<u8>>),
    /// A change: replicated through the pool's Raft log, then answered.
    Replicate {
        pool: Uuid,
        raft: rsvc::SvcRaft,
        op: SvcOp,
    },
    /// A query: answered once the leader has confirmed with a quorum that it still leads
    /// and has applied everything committed before (a linearizable read).
    Read {
        raft: rsvc::SvcRaft,
        opcode: Opcode,
        body: Vec<u8>,
    },
    /// A Raft message from another replica.
    Raft {
        raft: rsvc::SvcRaft,
        req: SvcRaftReq,
    },
    /// Wait until the pool's log is applied up to an index.
    Sync(SvcSyncReq),
}

/// Largest request body a replicated change may have: its log entry, Raft envelope and
/// message header must fit one fabric message.
const REPLICATED_BODY_MAX: usize = daos_proto::MESSAGE_SIZE_MAX - 2048;

/// The pool a pool service request is about: every such request starts with its UUID.
fn request_pool(body: &Decoder<'_>) -> Option<Uuid> {
    Uuid::decode(&mut body.clone()).ok()
}

fn route_request(
    service: &mut Service,
    opcode: Opcode,
    body: Decoder<'_>,
    now: u64,
    key: Option<u128>,
) -> Route {
    let replicated = forwarded_as(opcode).is_some();
    if opcode == Opcode::SvcKeyed {
        if key.is_some() {
            return Route::Now(Err(Error::new(
                Der::Proto,
                "a keyed request inside another",
            )));
        }
        let req = match decode_body::<SvcKeyedReq>(body) {
            Ok(req) => req,
            Err(err) => return Route::Now(Err(err)),
        };
        // Only pool service requests take keys: a change, or a read served by the leader.
        let Some(inner) = u16::try_from(req.opcode)
            .ok()
            .and_then(Opcode::from_u16)
            .filter(|op| forwarded_as(*op).is_some() || is_leader_read(*op))
        else {
            return Route::Now(Err(Error::new(
                Der::Proto,
                format!("opcode {} is not a pool service request", req.opcode),
            )));
        };
        return route_request(
            service,
            inner,
            Decoder::new(&req.body.0),
            now,
            Some(req.key.as_u128()),
        );
    }
    if opcode == Opcode::SvcRaft {
        return match decode_body::<SvcRaftReq>(body) {
            Err(err) => Route::Now(Err(err)),
            Ok(req) => match service.raft(&req.pool) {
                Some(raft) => Route::Raft { raft, req },
                None => Route::Now(Err(Error::new(
                    Der::Notreplica,
                    format!("no service replica of pool {} runs here", req.pool),
                ))),
            },
        };
    }
    if opcode == Opcode::SvcSync {
        return match decode_body::<SvcSyncReq>(body) {
            Err(err) => Route::Now(Err(err)),
            Ok(req) => Route::Sync(req),
        };
    }
    if !(replicated || is_leader_read(opcode)) {
        service.forced_now = Some(now);
        let result = service.serve(opcode, body);
        service.forced_now = None;
        return Route::Now(result);
    }
    let Some(pool) = request_pool(&body) else {
        return Route::Now(Err(Error::new(Der::Proto, "request without a pool")));
    };
    let Some(svc) = service.pools.get(&pool) else {
        return Route::Now(Err(Error::new(
            Der::Nonexist,
            format!("pool {pool} has no service on rank {}", service.rank),
        )));
    };
    if !svc.is_replica(service.rank) {
        return Route::Now(Err(Error::new(
            Der::Notreplica,
            format!(
                "rank {} is not a service replica of pool {pool}",
                service.rank
            ),
        )));
    }
    let leader = service
        .raft(&pool)
        .filter(|raft| rsvc::leader(raft) == Some(service.rank));
    let Some(raft) = leader else {
        return Route::Now(Err(Error::new(
            Der::Notleader,
            format!("rank {} does not lead pool {pool}'s service", service.rank),
        )));
    };
    let Ok(bytes) = body
        .clone()
        .raw(body.remaining(), "body")
        .map(<[u8]>::to_vec)
    else {
        return Route::Now(Err(Error::new(Der::Proto, "request body")));
    };
    if replicated && bytes.len() > REPLICATED_BODY_MAX {
        // A log entry travels in one fabric message with its Raft envelope.
        return Route::Now(Err(Error::new(
            Der::Overflow,
            format!(
                "a pool service change of {} bytes exceeds the {REPLICATED_BODY_MAX}-byte limit",
                bytes.len()
            ),
        )));
    }
    if !replicated {
        return Route::Read {
            raft,
            opcode,
            body: bytes,
        };
    }
    Route::Replicate {
        pool,
        raft,
        op: SvcOp {
            opcode: opcode as u16,
            now,
            body: bytes,
            key,
        },
    }
}

/// A replica to tell to start its replica: pool, rank, service address.
type Nudge = (Uuid, u32, Vec<u8>);

/// A change of a pool's service replicas (see [`Service::reconf_plans`]).
struct ReconfPlan {
    pool: Uuid,
    raft: rsvc::SvcRaft,
    /// The new replica set.
    voters: Vec<u32>,
    /// Ranks joining it, with their service addresses.
    added: Vec<(u32, Vec<u8>)>,
}

/// How long a new service replica may take to catch up before the leader gives up on it
/// (and tries again at its next check).
const RECONF_CATCH_UP: Duration = Duration::from_secs(30);
/// How often a leader checks whether its pools' replicas need replacing.
const RECONF_CHECK: Duration = Duration::from_secs(1);
/// How long a rank that failed to join a pool's replicas is chosen last, and how long a
/// replica told to start its replica is left before it is told again.
const RECONF_BACKOFF: Duration = Duration::from_secs(60);
/// Log entries a replica may lag behind the leader before the leader tells it to start.
const RECONF_LAG: u64 = 128;

/// Carries out a [`ReconfPlan`]: starts a replica on each new rank, waits until each has
/// caught up as a learner, then makes the new set the voters (openraft's joint consensus:
/// the old and new majorities both agree). Every replica then takes the new service ranks
/// when it applies the membership entry.
async fn reconfigure(net: Arc<NetContext>, service: Rc<RefCell<Service>>, plan: ReconfPlan) {
    let pool = plan.pool;
    let growing = !plan.added.is_empty();
    // A rank that could not start a replica or catch up (a failed change of the voters
    // is no rank's fault: the same ranks are tried again).
    let failed: std::cell::Cell<Option<u32>> = std::cell::Cell::new(None);
    let outcome: Result<()> = async {
        let hlc = service.borrow().hlc.now();
        for (rank, addr) in &plan.added {
            let req = SvcStartReq { pool };
            if let Err(err) =
                call_engine(&net, addr, Opcode::SvcStart, &req, hlc, FORWARD_TIMEOUT).await
            {
                failed.set(Some(*rank));
                return Err(err.with_context(format!("starting a replica on rank {rank}")));
            }
        }
        let raft = plan.raft.clone();
        let learners: Vec<u64> = plan.added.iter().map(|(r, _)| u64::from(*r)).collect();
        let voters: std::collections::BTreeSet<u64> =
            plan.voters.iter().map(|r| u64::from(*r)).collect();
        on_raft(&service, async move {
            // A new replica must start from a snapshot of the current state, not replay the
            // log from the pool's creation onto the state forwards gave it: snapshot now and
            // drop the log the snapshot covers.
            let applied = raft.metrics().borrow().last_applied.map(|l| l.index);
            if let Some(index) = applied.filter(|_| growing) {
                // Waits until the log id `at` picks from the metrics reaches `index`.
                let wait = |what: &'static str, at: fn(&rsvc::Metrics) -> Option<u64>| {
                    let raft = raft.clone();
                    async move {
                        raft.wait(Some(RECONF_CATCH_UP))
                            .metrics(move |m| at(m).is_some_and(|i| i >= index), what)
                            .await
                            .map(drop)
                            .map_err(|err| {
                                (None, format!("waiting for the {what} at {index}: {err}"))
                            })
                    }
                };
                raft.trigger()
                    .snapshot()
                    .await
                    .map_err(|err| (None, format!("snapshot: {err}")))?;
                wait("snapshot", |m| m.snapshot.map(|l| l.index)).await?;
                raft.trigger()
                    .purge_log(index)
                    .await
                    .map_err(|err| (None, format!("purge: {err}")))?;
                wait("purge", |m| m.purged.map(|l| l.index)).await?;
            }
            for id in learners {
                match tokio::time::timeout(
                    RECONF_CATCH_UP,
                    raft.add_learner(id, openraft::EmptyNode {}, true),
                )
                .await
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => return Err((Some(id), format!("adding rank {id}: {err}"))),
                    Err(_) => return Err((Some(id), format!("rank {id} did not catch up"))),
                }
            }
            raft.change_membership(voters, false)
                .await
                .map(drop)
                .map_err(|err| (None, format!("changing the replicas: {err}")))
        })
        .await?
        .map_err(|(rank, err)| {
            failed.set(rank.and_then(|r| u32::try_from(r).ok()));
            Error::new(Der::Misc, err)
        })
    }
    .await;
    let mut service = service.borrow_mut();
    match outcome {
        Ok(()) => tracing::info!("pool {pool}: service replicas are now {:?}", plan.voters),
        Err(err) => {
            tracing::warn!("pool {pool}: replacing service replicas: {err}");
            if let Some(rank) = failed.get() {
                service
                    .reconf_failed
                    .insert((pool, rank), std::time::Instant::now());
            }
        }
    }
    service.reconfiguring.remove(&pool);
}

/// Runs `work` on the Raft runtime and waits for it on this context (the doorbell wakes the
/// loop when it is done).
async fn on_raft<T: Send + 'static>(
    service: &Rc<RefCell<Service>>,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = futures::channel::oneshot::channel();
    let bell = service.borrow().bell.clone();
    service.borrow().raft_rt.spawn(async move {
        let _ = tx.send(work.await);
        bell.ring();
    });
    rx.await
        .map_err(|_| Error::new(Der::Shutdown, "the Raft runtime stopped"))
}

/// Replicates a change through the pool's Raft log, then makes the pool's other engines
/// apply it (replicas: `SvcSync`; other engines: `SvcForward`) before answering, as the
/// forwarding leader did before: a client never races ahead of its own handle.
async fn replicate(
    net: Arc<NetContext>,
    service: Rc<RefCell<Service>>,
    pool: Uuid,
    raft: rsvc::SvcRaft,
    op: SvcOp,
) -> Result<Vec<u8>> {
    let (opcode, now, body, key) = (op.opcode, op.now, op.body.clone(), op.key);
    let written = on_raft(&service, async move { raft.client_write(op).await }).await?;
    let written = written.map_err(|err| match err {
        openraft::error::RaftError::APIError(
            openraft::error::ClientWriteError::ForwardToLeader(_),
        ) => Error::new(Der::Notleader, format!("pool {pool}: leadership moved")),
        // The replica failed (its Raft node stopped): whether the change will commit is not
        // known, so it is not one to retry blindly.
        other => Error::new(Der::NoService, format!("pool {pool}: {other}")),
    })?;
    let applied = written.data;
    // A retry goes to the other engines as the first attempt did, at its clock reading.
    let now = applied.repeated.unwrap_or(now);
    if applied.status != 0 {
        return Err(Error::new(
            Der::from_value(-applied.status).unwrap_or(Der::Misc),
            "the pool service refused the change",
        ));
    }
    let (forwards, replicas) = {
        let service = service.borrow();
        let opcode = Opcode::from_u16(opcode).expect("a replicated opcode");
        let forwards = forward_requests(&service, opcode, Decoder::new(&body), now, key);
        let replicas: Vec<Vec<u8>> = service
            .pools
            .get(&pool)
            .map(|svc| {
                svc.meta
                    .map
                    .ranks
                    .iter()
                    .filter(|r| {
                        r.rank != service.rank && !r.is_excluded() && svc.is_replica(r.rank)
                    })
                    .map(|r| r.service_addr.clone())
                    .collect()
            })
            .unwrap_or_default();
        (forwards, replicas)
    };
    let (forwarded, synced) = futures::future::join(
        forward_all(&net, forwards),
        sync_all(&net, pool, replicas, written.log_id.index),
    )
    .await;
    forwarded?;
    synced?;
    Ok(applied.body)
}

/// Answers `SvcSync` once the pool's log is applied up to the index, or `-DER_TIMEDOUT`.
async fn wait_applied(
    net: Arc<NetContext>,
    service: Rc<RefCell<Service>>,
    req: SvcSyncReq,
) -> Result<Vec<u8>> {
    let deadline = std::time::Instant::now() + FORWARD_TIMEOUT;
    loop {
        let applied = {
            let service = service.borrow();
            let svc = service.pools.get(&req.pool).ok_or_else(|| {
                Error::new(Der::Nonexist, format!("pool {} is not here", req.pool))
            })?;
            svc.applied.map_or(0, |l| l.index)
        };
        if applied >= req.index {
            return Ok(Vec::new());
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::new(
                Der::Timedout,
                format!(
                    "pool {}: log applied to {applied}, not {}",
                    req.pool, req.index
                ),
            ));
        }
        net.sleep_until(std::time::Instant::now() + Duration::from_millis(1))
            .await;
    }
}

/// Sends a request's reply (its message is built at once, from `result`).
fn answer(
    net: &Arc<NetContext>,
    service: &Rc<RefCell<Service>>,
    route: &daos_proto::header::ReplyRoute,
    peer: daos_fabric::FiAddr,
    result: Result<Vec<u8>>,
) -> impl std::future::Future<Output = ()> + 'static {
    let (status, body) = match result {
        Ok(body) => (0, body),
        Err(err) => (err.rc(), Vec::new()),
    };
    let hlc = service.borrow().hlc.now();
    let msg = reply_message(route, status, &body, hlc);
    let net = net.clone();
    let rpc_id = route.rpc_id;
    async move {
        if let Err(err) = rpc::send(&net, peer, rpc_id, msg).await {
            tracing::warn!("service reply not delivered: {err}");
        }
    }
}

fn serve_one(
    net: &Arc<NetContext>,
    service: &Rc<RefCell<Service>>,
    incoming: Incoming,
) -> Option<Task> {
    let data = incoming.data;
    let route = daos_proto::header::salvage_route(&data)?;
    let peer = match net.resolve(&route.sender) {
        Ok(peer) => peer,
        Err(err) => {
            tracing::warn!("service request from an unusable address: {err}");
            return None;
        }
    };
    let decision = if incoming.truncated {
        Route::Now(Err(Error::new(Der::Overflow, "request truncated")))
    } else {
        match decode_request(&data) {
            Err(err) => {
                tracing::warn!("malformed service request: {err}");
                Route::Now(Err(err))
            }
            Ok((header, body)) => {
                let mut service = service.borrow_mut();
                service.hlc.observe(header.hlc);
                // A change is stamped with one clock reading, which every replica uses.
                let now = service.hlc.now();
                let decision = route_request(&mut service, header.opcode, body, now, None);
                if let Route::Now(Err(err)) = &decision {
                    if matches!(
                        err.der(),
                        Der::Nonexist | Der::Exist | Der::Busy | Der::Notleader | Der::Notreplica
                    ) {
                        tracing::debug!("{:?}: {err}", header.opcode);
                    } else {
                        tracing::warn!("{:?}: {err}", header.opcode);
                    }
                }
                decision
            }
        }
    };
    net.recycle(data);
    let net = net.clone();
    let service = service.clone();
    let task: Task = match decision {
        Route::Now(result) => Box::pin(answer(&net, &service, &route, peer, result)),
        Route::Replicate { pool, raft, op } => Box::pin(async move {
            let opcode = op.opcode;
            let result = replicate(net.clone(), service.clone(), pool, raft, op).await;
            if let Err(err) = &result {
                tracing::debug!("pool {pool}: replicated request {opcode}: {err}");
            }
            answer(&net, &service, &route, peer, result).await;
        }),
        Route::Read { raft, opcode, body } => Box::pin(async move {
            let pool = request_pool(&Decoder::new(&body));
            let confirmed = on_raft(&service, async move { raft.ensure_linearizable().await })
                .await
                .and_then(|r| {
                    r.map_err(|err| Error::new(Der::Notleader, format!("pool {pool:?}: {err}")))
                });
            let result = match confirmed {
                Ok(_) => service.borrow_mut().serve(opcode, Decoder::new(&body)),
                Err(err) => Err(err),
            };
            answer(&net, &service, &route, peer, result).await;
        }),
        Route::Raft { raft, req } => Box::pin(async move {
            let (kind, payload) = (req.kind, req.payload.0);
            let result = on_raft(&service, rsvc::serve(raft, kind, payload))
                .await
                .and_then(|r| r)
                .map(|bytes| encode(&Blob(bytes)));
            answer(&net, &service, &route, peer, result).await;
        }),
        Route::Sync(req) => Box::pin(async move {
            let result = wait_applied(net.clone(), service.clone(), req).await;
            answer(&net, &service, &route, peer, result).await;
        }),
    };
    Some(task)
}

/// The `SvcForward` requests that pass a change the leader just applied on to the pool's
/// other engines, or none for requests that change nothing shared.
fn forward_requests(
    service: &Service,
    opcode: Opcode,
    mut body: Decoder<'_>,
    now: u64,
    key: Option<u128>,
) -> Vec<(Vec<u8>, SvcForwardReq)> {
    let Some(forwarded) = forwarded_as(opcode) else {
        return Vec::new();
    };
    let Ok(bytes) = body.raw(body.remaining(), "body") else {
        return Vec::new();
    };
    // Every request forwarded starts with the pool's UUID.
    let Ok(pool) = Uuid::decode(&mut Decoder::new(bytes)) else {
        return Vec::new();
    };
    let body = if forwarded == Opcode::MgmtPoolMap {
        let Some(svc) = service.pools.get(&pool) else {
            return Vec::new();
        };
        encode(&MgmtPoolMapReq {
            pool,
            map: WireMap(svc.meta.map.clone()),
            state: Blob(
                service
                    .state_of(&pool)
                    .map(|s| encode(&s))
                    .filter(|bytes| {
                        // Forwards are single messages; a state too large for one is left out
                        // (a returning engine then misses handles opened while it was out).
                        let fits = bytes.len() <= STATE_MAX;
                        if !fits {
                            tracing::warn!(
                                "pool {pool}: service state of {} bytes not forwarded",
                                bytes.len()
                            );
                        }
                        fits
                    })
                    .unwrap_or_default(),
            ),
        })
    } else {
        bytes.to_vec()
    };
    let forward = SvcForwardReq {
        opcode: u32::from(forwarded as u16),
        now,
        body: Blob(body),
        // A map change travels as the resulting map, which is taken only if newer.
        key: match (forwarded, key) {
            (Opcode::MgmtPoolMap, _) | (_, None) => Uuid::nil(),
            (_, Some(key)) => Uuid::from_u128(key),
        },
    };
    service
        .peers(&pool)
        .into_iter()
        .map(|addr| (addr, forward.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image holds metadata larger than one fabric message (many containers), and its
    /// handles and Raft position, and reads back as it was written.
    #[test]
    fn a_large_image_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut containers = BTreeMap::new();
        for i in 0..3000u64 {
            let uuid = Uuid::new_v4();
            containers.insert(
                uuid,
                ContMeta {
                    uuid,
                    label: format!("container-{i:05}"),
                    props: Props::new(),
                    snapshots: Vec::new(),
                    next_oid: i,
                    created: i,
                    modified: i,
                },
            );
        }
        let meta = SvcMeta {
            uuid: Uuid::new_v4(),
            label: "tank".into(),
            props: Props::new(),
            map: daos_placement::PoolMap::default(),
            svc_ranks: vec![0, 1, 2],
            owner: Credential {
                uid: 1,
                gid: 2,
                user: "u".into(),
                group: "g".into(),
            },
            containers,
        };
        assert!(meta.encode().len() > daos_proto::MESSAGE_SIZE_MAX);
        let (pool_handle, cont) = (Uuid::new_v4(), *meta.containers.keys().next().unwrap());
        let mut svc = PoolSvc {
            meta,
            path: dir.path().join("svc.meta"),
            pool_handles: HashMap::new(),
            cont_handles: HashMap::new(),
            applied: Some(openraft::LogId::new(
                openraft::CommittedLeaderId::new(3, 1),
                42,
            )),
            membership: Default::default(),
            deferred: false,
            ops: [KeptOp {
                key: 7,
                opcode: Opcode::ContCreate as u16,
                now: 99,
                status: 0,
                body: Some(vec![1, 2, 3]),
            }]
            .into(),
        };
        svc.pool_handles
            .insert(pool_handle, PoolHandle { cont_handles: 1 });
        svc.cont_handles.insert(
            Uuid::new_v4(),
            ContHandle {
                cont,
                pool_handle,
                write: true,
            },
        );
        svc.persist().unwrap();
        let back =
            PoolSvc::from_image(&std::fs::read(&svc.path).unwrap(), svc.path.clone()).unwrap();
        assert_eq!(back.meta, svc.meta);
        assert_eq!(back.applied, svc.applied);
        assert_eq!(back.pool_handles[&pool_handle].cont_handles, 1);
        assert_eq!(back.cont_handles.len(), 1);
        assert_eq!(back.ops, svc.ops);
        // While applying a batch, handlers' writes are deferred.
        svc.deferred = true;
        svc.meta.label = "changed".into();
        svc.persist().unwrap();
        let again =
            PoolSvc::from_image(&std::fs::read(&svc.path).unwrap(), svc.path.clone()).unwrap();
        assert_eq!(again.meta.label, "tank");
    }
}
