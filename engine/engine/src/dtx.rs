//! Transactions of replicated and erasure-coded updates on a target (DAOS's DTX): commit,
//! abort, check, and the resolution of transactions left prepared.
//!
//! The client sends a replicated update to every replica of the dkey's group (an
//! erasure-coded one to every shard of the group that gets a part of it) with the same
//! [`DtxInfo`]; each target *prepares* it (data and record durable, nothing visible, see
//! `daos_vos::VosPool::update`). Once every replica answered, the client asks the
//! transaction's *leader* (one of the replicas) to commit. The leader logs its commit (the
//! decision point) and, while that record becomes durable, tells every other participant,
//! retrying until each one has durably committed or is excluded from the pool; then it
//! answers the client. So an acknowledged update is durable and visible on every live
//! replica, and an update is applied on all of them or on none. Dkey and akey punches of
//! replicated objects travel the same way (`daos_vos::VosPool::punch` prepares them).
//!
//! **One decider per pool map version.** Under a given map, the transaction's outcome is
//! decided by its *decider*: the leader while the leader *counts* for the transaction, else
//! the first participant (in the transaction's order) that does ([`decider`]). A participant
//! counts while its target is in the pool (not excluded) and has not failed since the
//! transaction was routed: a target that failed since and was reintegrated dropped what it
//! held of it. Every call between participants carries the sender's map version and is
//! refused (`-DER_STALE`) by a participant holding another one, a participant takes an
//! outcome only from the decider of the map they share, and a decider logs its decision only
//! if it still decides under the map it holds then. So two engines that disagree about the
//! map (an excluded leader that has not heard of its exclusion, say) never both decide.
//!
//! **Resolution.** A participant left holding a prepared update for [`RESOLVE_AFTER`] (the
//! client died between the phases, or the leader died):
//! - if it is the decider, asks every other participant that counts (`DtxCheck`): it commits
//!   if one has committed (an earlier decider's outcome that reached only some) or if every
//!   one holds it prepared (its client asked for nothing more, and an earlier decider, now
//!   out, may have committed it and been read from; DAOS's DTX resync does the same), and
//!   aborts if one aborted it or never saw it; then it tells them all;
//! - otherwise asks the decider, and follows its outcome once it has one.
//!
//! An abort is told like a commit: until every participant that counts has it durably.
//! Otherwise the rule above could commit a transaction its leader aborted (if the abort
//! reached no participant that counts before the leader stopped counting) after its client
//! was told the update failed: a conditional update sent again would then meet its own
//! write, and an erasure-coded update refused by its group's guard (whose parity was
//! encoded from an old read) would be applied. The client's `DtxAbort` names the
//! participants, so a leader that never prepared the transaction still tells those that did.
//!
//! A participant asked about a transaction it never saw records it aborted (fencing), so a
//! prepare still in flight from a dead client cannot revive a transaction decided without
//! it. Outcomes are remembered for a minute after they are reached (never forgotten in the
//! first minute after a target opens the pool), which covers every participant that can
//! still ask: one that missed the decider's message is excluded, or asks within seconds.
//!
//! The leader commits only under the pool map version the client routed the update by, a
//! target refuses to log a prepare if its map moved while the data was moving, and a rebuild
//! scan waits until the transactions prepared under older maps are resolved
//! ([`prepared_before`]), so no commit lands behind a scan that missed it.
//!
//! The protocol reaches its target only through [`Host`]: the engine's target context runs it
//! over libfabric and io_uring, the engine simulation (`tests/simulation.rs`) over a virtual
//! network, disk and clock.

use crate::target::{Ctx, Spawn};
use daos_placement::{PoolMap, TargetState};
use daos_proto::msg::{DtxCheckReply, DtxReq};
use daos_proto::{decode_body, Opcode, RequestHeader};
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::dtx::{DtxInfo, DtxPeer, DtxState};
use daos_types::{Der, Error, Result, Uuid};
use daos_vos::index::DtxEntry;
use daos_vos::pool::VosPool;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A transaction prepared this long without an outcome is resolved by its participants. Long
/// enough that a slow replica (a large transfer on a loaded machine) does not get a live
/// client's update aborted.
pub const RESOLVE_AFTER: Duration = Duration::from_secs(10);
/// Outcomes are remembered this long after they are reached, for participants that still
/// have to resolve the transaction (they do within seconds of the decider's change).
const OUTCOME_TTL: Duration = Duration::from_secs(60);
/// One transaction call between engines.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between attempts to tell a participant that does not answer.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A pool's share on a target, as the transaction protocol sees it.
pub struct DtxPool<'a> {
    /// The VOS pool: transaction entries and the log their outcomes go to.
    pub vos: &'a mut VosPool,
    /// The pool map this target holds (`None` until the service passed one on).
    pub map: Option<&'a PoolMap>,
    /// What resolution keeps for the pool.
    pub resolution: &'a mut Resolution,
}

/// Per pool on a target: what the resolution of transactions left prepared keeps.
#[derive(Debug)]
pub struct Resolution {
    /// When this target opened the pool.
    pub opened: Instant,
    /// When each prepared transaction was first seen prepared (see [`tick`]).
    pub seen: HashMap<Uuid, Instant>,
    /// Prepared transactions being resolved now.
    pub resolving: HashSet<Uuid>,
}

impl Resolution {
    /// Nothing seen yet, for a pool opened at `opened`.
    pub fn new(opened: Instant) -> Resolution {
        Resolution {
            opened,
            seen: HashMap::new(),
            resolving: HashSet::new(),
        }
    }
}

/// What the transaction protocol needs of the target it runs on: who it is, its pools, its
/// clocks, durability of its log, and calls to other participants.
///
/// The engine's target context ([`Ctx`]) implements it over libfabric, io_uring and the
/// system clocks; the engine simulation (`engine/engine/tests/simulation.rs`) over a virtual
/// network, disk and clock, so that the same protocol code runs under both.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The engine's rank.
    fn rank(&self) -> u32;
    /// The target's index within its engine.
    fn target(&self) -> u32;
    /// Runs `f` on a pool's share here.
    ///
    /// Errors: `-DER_NONEXIST` when the pool has no share here.
    fn with_pool<T>(&self, pool: &Uuid, f: impl FnOnce(DtxPool<'_>) -> Result<T>) -> Result<T>;
    /// The pools with a share here.
    fn pools(&self) -> Vec<Uuid>;
    /// A new reading of the engine's hybrid logical clock (an epoch).
    fn hlc_now(&self) -> u64;
    /// The monotonic clock.
    fn now(&self) -> Instant;
    /// Whether `addr` (a target's fabric address from the pool map) names a peer this target
    /// can call; one it cannot is treated as excluded.
    fn resolves(&self, addr: &[u8]) -> bool;
    /// Waits until `lsn` of `pool`'s log is durable.
    ///
    /// Errors: those of the log's device.
    async fn durable(self: &Rc<Self>, pool: Uuid, lsn: u64) -> Result<()>;
    /// Sends `req` to the target at fabric address `addr` under pool map `version`, and
    /// returns the whole reply message once its status is 0.
    ///
    /// Errors: the reply's status as a DER code; `-DER_TIMEDOUT` after `timeout`.
    async fn call(
        self: &Rc<Self>,
        addr: &[u8],
        opcode: Opcode,
        req: &DtxReq,
        timeout: Duration,
        version: u32,
    ) -> Result<Vec<u8>>;
    /// Waits for `duration` without holding the target's thread.
    async fn sleep(self: &Rc<Self>, duration: Duration);
}

fn is_me<H: Host>(host: &H, peer: &DtxPeer, shard: u32) -> bool {
    peer.rank == host.rank() && peer.target == host.target() && peer.shard == shard
}

/// Checks a prepare's participants: this target and the leader must be among them, and no
/// target may appear twice (a target keeps one entry per transaction).
///
/// Errors: `-DER_INVAL`.
pub fn check_info<H: Host>(host: &H, info: &DtxInfo, shard: u32, map_version: u32) -> Result<()> {
    let bad = |what: &str| {
        Err(Error::new(
            Der::Inval,
            format!("transaction {}: {what}", info.id),
        ))
    };
    if !info.peers.iter().any(|p| is_me(host, p, shard)) || !info.peers.contains(&info.leader) {
        return bad("this shard or the leader is not a participant");
    }
    let mut targets: Vec<(u32, u32)> = info.peers.iter().map(|p| (p.rank, p.target)).collect();
    targets.sort_unstable();
    if targets.windows(2).any(|w| w[0] == w[1]) {
        return bad("two participants on one target");
    }
    if map_version != 0 && info.map_version != map_version {
        return bad("routed by another pool map version than its request");
    }
    Ok(())
}

/// The participant that decides a transaction's outcome under `map`: its leader while the
/// leader counts for it ([`counts`]), else the first participant that does.
pub fn decider(map: &PoolMap, info: &DtxInfo) -> Option<DtxPeer> {
    std::iter::once(&info.leader)
        .chain(&info.peers)
        .find(|p| counts(map, info, p))
        .copied()
}

/// Whether a participant's word counts for a transaction under `map`: its target is in the
/// pool (not excluded; a draining target still serves) and has not failed since the
/// transaction was routed. A target that failed since and is being (or was) reintegrated
/// dropped what it held of the transaction when it returned (its shards are pushed back by
/// rebuild), so neither what it says of it nor a decision of its own may count.
fn counts(map: &PoolMap, info: &DtxInfo, peer: &DtxPeer) -> bool {
    map.target(peer.rank, peer.target).is_some_and(|t| {
        let returned =
            t.fseq > info.map_version && matches!(t.state, TargetState::Up | TargetState::UpIn);
        !t.state.is_excluded() && !returned
    })
}

/// What this target holds of a request's transaction, under which map.
struct Known {
    /// The entry's state (`None`: unknown here).
    state: Option<DtxState>,
    /// The participants, when it is prepared here.
    info: Option<DtxInfo>,
    /// This target's pool map version (0: none yet).
    version: u32,
    /// The decider under that map, when prepared here.
    decider: Option<DtxPeer>,
    /// The decider's fabric address.
    decider_addr: Option<Vec<u8>>,
}

fn known<H: Host>(host: &H, req: &DtxReq) -> Result<Known> {
    host.with_pool(&req.pool, |p| {
        let (info, state) = match p.vos.index().dtx.get(&req.id) {
            Some(DtxEntry::Prepared { info, .. }) => (Some(info.clone()), Some(DtxState::Prepared)),
            Some(entry) => (None, Some(entry.state())),
            None => (None, None),
        };
        let map = p.map;
        let decider = map.zip(info.as_ref()).and_then(|(m, i)| decider(m, i));
        let decider_addr = map
            .zip(decider)
            .and_then(|(m, d)| m.target_addr(d.rank, d.target))
            .map(<[u8]>::to_vec);
        Ok(Known {
            state,
            info,
            version: map.map_or(0, |m| m.version),
            decider,
            decider_addr,
        })
    })
}

/// Refuses a call from a participant holding another pool map.
fn same_map(header: &RequestHeader, known: &Known) -> Result<()> {
    if header.map_version != known.version {
        return Err(Error::new(
            Der::Stale,
            format!(
                "transaction call under pool map version {}, this target holds {}",
                header.map_version, known.version
            ),
        ));
    }
    Ok(())
}

/// Logs the outcome here; returns the LSN to wait for, if a record was logged.
fn log_outcome<H: Host>(host: &H, req: &DtxReq, commit: bool) -> Result<Option<u64>> {
    let now = host.hlc_now();
    host.with_pool(&req.pool, |p| {
        if commit {
            p.vos.dtx_commit(req.id, now)
        } else {
            p.vos.dtx_abort(req.id, now)
        }
    })
}

async fn durable<H: Host>(host: &Rc<H>, pool: Uuid, lsn: Option<u64>) -> Result<()> {
    match lsn {
        Some(lsn) => host.durable(pool, lsn).await,
        None => Ok(()),
    }
}

/// Records the outcome here and waits until it is durable.
async fn record<H: Host>(host: &Rc<H>, req: &DtxReq, commit: bool) -> Result<()> {
    let lsn = log_outcome(host.as_ref(), req, commit)?;
    durable(host, req.pool, lsn).await
}

/// The decider's decision: logs it, then tells every other participant while it becomes
/// durable, until each one that counts has it durably.
///
/// Errors: `-DER_STALE` when this target stopped being the decider before every live
/// participant had the outcome (the next decider completes the transaction).
async fn decide<H: Host>(
    host: &Rc<H>,
    req: &DtxReq,
    info: &DtxInfo,
    commit: bool,
    version: u32,
) -> Result<()> {
    // The decision is taken under pool map `version`; logged only if this target still
    // decides under the map it holds now (a resolution waited for answers meanwhile).
    let (now, decider) = decider_now(host.as_ref(), &req.pool, info);
    if now != version || !decider.is_some_and(|d| is_me(host.as_ref(), &d, req.shard)) {
        return Err(Error::new(
            Der::Stale,
            format!(
                "transaction {}: decided under pool map version {version}, no longer its \
                 decider under version {now}",
                req.id
            ),
        ));
    }
    let lsn = log_outcome(host.as_ref(), req, commit)?;
    let opcode = if commit {
        Opcode::DtxCommit
    } else {
        Opcode::DtxAbort
    };
    let tells = info
        .peers
        .iter()
        .filter(|peer| !is_me(host.as_ref(), peer, req.shard))
        .map(|peer| tell(host, req, info, *peer, opcode));
    let (durable, told) = futures::future::join(
        durable(host, req.pool, lsn),
        futures::future::join_all(tells),
    )
    .await;
    durable?;
    told.into_iter().collect()
}

/// This target's pool map version (0: none yet) and `info`'s decider under it.
fn decider_now<H: Host>(host: &H, pool: &Uuid, info: &DtxInfo) -> (u32, Option<DtxPeer>) {
    host.with_pool(pool, |p| {
        Ok(p.map.map_or((0, None), |m| (m.version, decider(m, info))))
    })
    .unwrap_or((0, None))
}

/// The fabric address of a participant's target, or `None` when its word no longer counts
/// for the transaction ([`counts`]).
fn peer_addr<H: Host>(host: &H, pool: &Uuid, info: &DtxInfo, peer: &DtxPeer) -> Option<Vec<u8>> {
    host.with_pool(pool, |p| {
        Ok(p.map
            .filter(|m| counts(m, info, peer))
            .and_then(|m| m.target_addr(peer.rank, peer.target))
            .map(<[u8]>::to_vec))
    })
    .ok()?
}

/// Sends one transaction call to a participant under this target's pool map version.
async fn call_peer<H: Host>(
    host: &Rc<H>,
    req: &DtxReq,
    peer: &DtxPeer,
    addr: &[u8],
    version: u32,
    opcode: Opcode,
) -> Result<Vec<u8>> {
    let req = DtxReq {
        shard: peer.shard,
        info: None,
        ..req.clone()
    };
    host.call(addr, opcode, &req, CALL_TIMEOUT, version).await
}

/// Tells a participant the outcome until it has it, no longer counts, or this target is no
/// longer the decider (`-DER_STALE`).
async fn tell<H: Host>(
    host: &Rc<H>,
    req: &DtxReq,
    info: &DtxInfo,
    peer: DtxPeer,
    opcode: Opcode,
) -> Result<()> {
    loop {
        let (version, decider) = decider_now(host.as_ref(), &req.pool, info);
        if !decider.is_some_and(|d| is_me(host.as_ref(), &d, req.shard)) {
            return Err(Error::new(
                Der::Stale,
                format!(
                    "transaction {}: no longer its decider under pool map version {version}",
                    req.id
                ),
            ));
        }
        let Some(addr) =
            peer_addr(host.as_ref(), &req.pool, info, &peer).filter(|addr| host.resolves(addr))
        else {
            return Ok(());
        };
        match call_peer(host, req, &peer, &addr, version, opcode).await {
            Ok(_) => return Ok(()),
            Err(err)
                if matches!(
                    err.der(),
                    Der::TxRestart | Der::Already | Der::Nonexist | Der::Inval
                ) =>
            {
                tracing::warn!(
                    "target {}: transaction {}: participant {}:{} refused {opcode:?}: {err}",
                    host.target(),
                    req.id,
                    peer.rank,
                    peer.target
                );
                // A participant that committed what this target aborts (it took an earlier
                // decider's commit), or one that holds other participants: the abort is not
                // everyone's outcome, and nobody may be told it is.
                let refuted = err.der() == Der::Inval
                    || (opcode == Opcode::DtxAbort && err.der() == Der::Already);
                return if refuted { Err(err) } else { Ok(()) };
            }
            Err(err) => {
                tracing::debug!("target {}: {opcode:?} retried: {err}", host.target());
                host.sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// Handles `DtxCommit` or `DtxAbort`: from the client to the leader, which decides; from the
/// decider to another participant, which takes the outcome.
async fn outcome<H: Host>(
    host: &Rc<H>,
    header: &RequestHeader,
    body: Decoder<'_>,
    commit: bool,
) -> Result<Vec<u8>> {
    let req: DtxReq = decode_body(body)?;
    let known = known(host.as_ref(), &req)?;
    match (known.state, commit) {
        (Some(DtxState::Committed), true) => return Ok(Vec::new()),
        // Aborted here (fenced by a resolving participant's check, say): the client still
        // hears the abort only once the participants that prepared have it.
        (Some(DtxState::Aborted), false) if req.info.is_some() => {
            return abort_unprepared(host, header, &req).await
        }
        (Some(DtxState::Aborted), false) => return Ok(Vec::new()),
        (Some(DtxState::Committed), false) => {
            return Err(Error::new(
                Der::Already,
                format!("transaction {} is committed", req.id),
            ))
        }
        (Some(DtxState::Aborted), true) => {
            return Err(Error::new(
                Der::TxRestart,
                format!("transaction {} was aborted", req.id),
            ))
        }
        // Commit what was never prepared here: refused. Abort it: fenced (a decider's abort
        // that overtook the prepare).
        (None, true) => {
            return Err(Error::new(
                Der::Nonexist,
                format!("transaction {} is not known here", req.id),
            ))
        }
        (None, false) => return abort_unprepared(host, header, &req).await,
        (Some(DtxState::Prepared), _) => {}
    }
    let info = known
        .info
        .clone()
        .expect("prepared entries carry their info");
    let me_deciding = known
        .decider
        .is_some_and(|d| is_me(host.as_ref(), &d, req.shard));
    if is_me(host.as_ref(), &info.leader, req.shard) && info.map_version == header.map_version {
        // The client, routed by the map the update was prepared under (under which the
        // leader decides: the client picks a live replica).
        if header.map_version != known.version || !me_deciding {
            // The map moved since: abort if this target still decides (the client sends the
            // update again by the new map, and a rebuild need not wait for this one).
            if me_deciding {
                decide(host, &req, &info, false, known.version).await?;
            }
            return Err(Error::new(
                Der::Stale,
                format!(
                    "transaction {} was routed by pool map version {}, this target holds {}",
                    req.id, header.map_version, known.version
                ),
            ));
        }
        decide(host, &req, &info, commit, known.version).await?;
        return Ok(Vec::new());
    }
    // The decider telling a participant.
    same_map(header, &known)?;
    let sender_decides = !me_deciding
        && known
            .decider_addr
            .as_ref()
            .is_some_and(|addr| *addr == header.sender);
    if !sender_decides {
        // Same map, so the same decider unless the sender's participants are not the ones
        // prepared here (a forged transaction): refused for good, not until maps agree.
        return Err(Error::new(
            Der::Inval,
            format!(
                "transaction {}: the sender does not decide it under pool map version {}",
                req.id, known.version
            ),
        ));
    }
    record(host, &req, commit).await?;
    Ok(Vec::new())
}

/// `DtxAbort` of a transaction this target never prepared (or already aborted: fenced by a
/// participant's check). From its client to its leader (whose prepare was refused or has
/// not arrived, or came after the fence), naming the participants: the leader
/// decides the abort if it decides under its map, telling the participants that prepared;
/// else it fences its own prepare and answers `-DER_STALE` (the client does not learn the
/// outcome; the decider resolves it). From anyone else: fenced here.
async fn abort_unprepared<H: Host>(
    host: &Rc<H>,
    header: &RequestHeader,
    req: &DtxReq,
) -> Result<Vec<u8>> {
    let client_to_leader = req.info.as_ref().filter(|info| {
        is_me(host.as_ref(), &info.leader, req.shard) && info.map_version == header.map_version
    });
    let Some(info) = client_to_leader else {
        record(host, req, false).await?;
        return Ok(Vec::new());
    };
    if info.id != req.id {
        return Err(Error::new(
            Der::Inval,
            format!("transaction {}: participants of another one", req.id),
        ));
    }
    check_info(host.as_ref(), info, req.shard, header.map_version)?;
    let (version, decider) = decider_now(host.as_ref(), &req.pool, info);
    if version == 0 || !decider.is_some_and(|d| is_me(host.as_ref(), &d, req.shard)) {
        record(host, req, false).await?;
        return Err(Error::new(
            Der::Stale,
            format!(
                "transaction {}: the leader does not decide it under pool map version {version}",
                req.id
            ),
        ));
    }
    decide(host, req, info, false, version).await?;
    Ok(Vec::new())
}

/// `DtxCommit` (see [`outcome`]).
///
/// Errors: `-DER_STALE` when the leader's pool map moved since the update was routed (it
/// aborts instead; the client sends the update again by the new map), or the sender holds
/// another map; `-DER_INVAL` when the sender, under the same map, is not the decider of the
/// participants prepared here; `-DER_TX_RESTART` when the transaction was already aborted;
/// `-DER_NONEXIST` when it is unknown here.
pub async fn commit<H: Host>(
    host: &Rc<H>,
    header: &RequestHeader,
    body: Decoder<'_>,
) -> Result<Vec<u8>> {
    outcome(host, header, body, true).await
}

/// `DtxAbort` (see [`outcome`]): the client tells the leader that a replica failed to
/// prepare; the decider tells the others.
///
/// Errors: `-DER_ALREADY` when the transaction was committed, or (from the leader) when a
/// participant had committed it; `-DER_STALE` and `-DER_INVAL` as for commits.
pub async fn abort<H: Host>(
    host: &Rc<H>,
    header: &RequestHeader,
    body: Decoder<'_>,
) -> Result<Vec<u8>> {
    outcome(host, header, body, false).await
}

/// `DtxCheck`: what this target knows of a transaction, asked by a participant holding the
/// same pool map; one it never saw is recorded aborted first (fencing a late prepare).
///
/// Errors: `-DER_STALE` when the asker holds another map.
pub async fn check<H: Host>(
    host: &Rc<H>,
    header: &RequestHeader,
    body: Decoder<'_>,
) -> Result<Vec<u8>> {
    let req: DtxReq = decode_body(body)?;
    let known = known(host.as_ref(), &req)?;
    same_map(header, &known)?;
    let state = match known.state {
        Some(state) => state,
        None => {
            record(host, &req, false).await?;
            DtxState::Aborted
        }
    };
    let mut e = Encoder::new();
    DtxCheckReply { state: state as u8 }.encode(&mut e);
    Ok(e.finish())
}

/// Whether transactions prepared on this target under a pool map older than `version` are
/// still unresolved (a rebuild scan for `version` waits for them).
pub fn prepared_before<H: Host>(host: &H, pool: &Uuid, version: u32) -> Result<bool> {
    host.with_pool(pool, |p| {
        Ok(p.vos.index().dtx.values().any(
            |entry| matches!(entry, DtxEntry::Prepared { info, .. } if info.map_version < version),
        ))
    })
}

/// Once a second on every target: forgets old outcomes and starts resolving transactions
/// prepared for longer than [`RESOLVE_AFTER`].
pub fn tick<H: Host + 'static>(host: &Rc<H>, spawn: Spawn<'_>) {
    let now = host.now();
    let horizon = host.hlc_now().saturating_sub(OUTCOME_TTL.as_nanos() as u64);
    for pool in host.pools() {
        let due = host
            .with_pool(&pool, |p| {
                // Not in the first minute after opening: participants that restarted with
                // a whole system may still ask about outcomes logged long ago.
                if now.duration_since(p.resolution.opened) >= OUTCOME_TTL {
                    p.vos.forget_dtx(horizon);
                }
                let prepared = p.vos.dtx_prepared();
                let ids: HashSet<Uuid> = prepared.iter().map(|(id, ..)| *id).collect();
                let r = &mut *p.resolution;
                r.seen.retain(|id, _| ids.contains(id));
                let mut due = Vec::new();
                for (id, info, op) in prepared {
                    let seen = *r.seen.entry(id).or_insert(now);
                    if now.duration_since(seen) >= RESOLVE_AFTER && r.resolving.insert(id) {
                        let req = DtxReq {
                            pool,
                            cont: op.cont(),
                            oid: op.oid(),
                            shard: op.shard(),
                            id,
                            info: None,
                        };
                        due.push((req, info));
                    }
                }
                Ok(due)
            })
            .unwrap_or_default();
        for (req, info) in due {
            let host = host.clone();
            spawn(Box::pin(async move {
                if let Err(err) = resolve(&host, &req, &info).await {
                    tracing::debug!(
                        "target {}: transaction {} not resolved yet: {err}",
                        host.target(),
                        req.id
                    );
                }
                let _ = host.with_pool(&req.pool, |p| {
                    p.resolution.resolving.remove(&req.id);
                    Ok(())
                });
            }));
        }
    }
}

async fn ask<H: Host>(
    host: &Rc<H>,
    req: &DtxReq,
    peer: &DtxPeer,
    addr: &[u8],
    version: u32,
) -> Result<DtxState> {
    let reply = call_peer(host, req, peer, addr, version, Opcode::DtxCheck).await?;
    let (_, body) = daos_proto::header::decode_reply(&reply)?;
    let reply: DtxCheckReply = decode_body(body)?;
    DtxState::from_u8(reply.state)
        .ok_or_else(|| Error::new(Der::Proto, "bad transaction state in a DtxCheck reply"))
}

/// Resolves one transaction left prepared here (see the module's rules).
async fn resolve<H: Host>(host: &Rc<H>, req: &DtxReq, info: &DtxInfo) -> Result<()> {
    let (version, Some(decider)) = decider_now(host.as_ref(), &req.pool, info) else {
        return Ok(());
    };
    if is_me(host.as_ref(), &decider, req.shard) {
        let mut committed = false;
        let mut all_prepared = true;
        for peer in &info.peers {
            if is_me(host.as_ref(), peer, req.shard) {
                continue;
            }
            let Some(addr) = peer_addr(host.as_ref(), &req.pool, info, peer) else {
                continue;
            };
            if !host.resolves(&addr) {
                return Err(Error::new(
                    Der::Unreach,
                    format!(
                        "participant {}:{} has no usable address",
                        peer.rank, peer.target
                    ),
                ));
            }
            match ask(host, req, peer, &addr, version).await? {
                DtxState::Committed => {
                    committed = true;
                    break;
                }
                DtxState::Aborted => all_prepared = false,
                DtxState::Prepared => {}
            }
        }
        // Every participant that counts prepared it: commit, as DAOS's DTX resync does. Its
        // client asked for nothing more (it died, or its commit is on the way), and an
        // earlier decider, now out, may have committed it and been read from.
        let commit = committed || all_prepared;
        tracing::info!(
            "target {}: transaction {} was left prepared; {}",
            host.target(),
            req.id,
            if commit { "committing" } else { "aborting" }
        );
        return decide(host, req, info, commit, version).await;
    }
    let Some(addr) =
        peer_addr(host.as_ref(), &req.pool, info, &decider).filter(|addr| host.resolves(addr))
    else {
        return Ok(());
    };
    let commit = match ask(host, req, &decider, &addr, version).await? {
        DtxState::Prepared => return Ok(()),
        state => state == DtxState::Committed,
    };
    tracing::info!(
        "target {}: transaction {} resolved: {}",
        host.target(),
        req.id,
        if commit { "committed" } else { "aborted" }
    );
    record(host, req, commit).await
}

/// A target of the engine runs the protocol over libfabric, its log's io_uring flushes and
/// the system clocks.
impl Host for Ctx {
    fn rank(&self) -> u32 {
        self.rank
    }

    fn target(&self) -> u32 {
        self.index
    }

    fn with_pool<T>(&self, pool: &Uuid, f: impl FnOnce(DtxPool<'_>) -> Result<T>) -> Result<T> {
        Ctx::with_pool(self, pool, |p| {
            f(DtxPool {
                vos: &mut p.vos,
                map: p.map.as_deref(),
                resolution: &mut p.resolution,
            })
        })
    }

    fn pools(&self) -> Vec<Uuid> {
        self.state.borrow().pools.keys().copied().collect()
    }

    fn hlc_now(&self) -> u64 {
        self.hlc.now()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn resolves(&self, addr: &[u8]) -> bool {
        self.net.resolve(addr).is_ok()
    }

    async fn durable(self: &Rc<Self>, pool: Uuid, lsn: u64) -> Result<()> {
        Ctx::durable(self, pool, lsn).await
    }

    async fn call(
        self: &Rc<Self>,
        addr: &[u8],
        opcode: Opcode,
        req: &DtxReq,
        timeout: Duration,
        version: u32,
    ) -> Result<Vec<u8>> {
        let peer = self.net.resolve(addr)?;
        crate::rebuild::call(self, peer, opcode, req, 64, timeout, version).await
    }

    async fn sleep(self: &Rc<Self>, duration: Duration) {
        self.net.sleep_until(Instant::now() + duration).await
    }
}
