//! Transactions of replicated updates on a target (DAOS's DTX): commit, abort, check, and
//! the resolution of transactions left prepared.
//!
//! The client sends a replicated update to every replica of the dkey's group with the same
//! [`DtxInfo`]; each target *prepares* it (data and record durable, nothing visible, see
//! `daos_vos::VosPool::update`). Once every replica answered, the client asks the
//! transaction's *leader* (one of the replicas) to commit. The leader decides: it logs its
//! commit (the decision point) and, while that record becomes durable, tells every other
//! participant, retrying until each one has applied it or is excluded from the pool; then it
//! answers the client. So an acknowledged update is visible on every live replica, and an
//! update is applied on all of them or on none. A participant's own commit record need not
//! be durable before it answers: if a crash loses it, the update is still prepared there and
//! resolving it finds the leader's durable commit (and reads wait for durability anyway).
//!
//! A participant left holding a prepared update for [`RESOLVE_AFTER`] (the client died
//! between the phases, or the leader died) resolves it:
//! - the leader aborts it (the client never asked for the commit in time), unless another
//!   participant has committed it (the leader tells the others while its own decision becomes
//!   durable, so a crash of the whole system can lose the leader's record of it);
//! - another participant asks the leader (`DtxCheck`) and follows its answer;
//! - once the leader's target is excluded, it asks the other live participants: if one has
//!   committed or aborted, it does the same; if all hold it prepared, it commits (every
//!   participant prepared, so the leader may have committed, and nobody has aborted).
//!
//! A participant asked about a transaction it never saw records it aborted (fencing), so a
//! prepare still in flight from a dead client cannot revive a transaction the others
//! aborted. The leader commits only under the pool map version the client routed the update
//! by, and a rebuild scan waits until the transactions prepared under older maps are
//! resolved ([`prepared_before`]), so no commit lands behind a scan that missed it.

use crate::target::Ctx;
use daos_fabric::FiAddr;
use daos_proto::msg::{DtxCheckReply, DtxReq};
use daos_proto::{decode_body, Opcode};
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::dtx::{DtxInfo, DtxPeer, DtxState};
use daos_types::{Der, Error, Result, Uuid};
use daos_vos::index::DtxEntry;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A transaction prepared this long without an outcome is resolved by its participants. Long
/// enough that a slow replica (a large transfer on a loaded machine) does not get a live
/// client's update aborted.
pub const RESOLVE_AFTER: Duration = Duration::from_secs(10);
/// Outcomes are remembered this long after the transaction's epoch, for participants that
/// still have to resolve it (they do within seconds of the leader's exclusion).
const OUTCOME_TTL: Duration = Duration::from_secs(60);
/// One transaction call between engines.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between attempts to tell a participant that does not answer.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

fn is_me(ctx: &Ctx, peer: &DtxPeer, shard: u32) -> bool {
    peer.rank == ctx.rank && peer.target == ctx.index && peer.shard == shard
}

/// Checks a prepare's participants: this target must be one of them, and so must the leader.
///
/// Errors: `-DER_INVAL`.
pub fn check_info(ctx: &Ctx, info: &DtxInfo, shard: u32, map_version: u32) -> Result<()> {
    if !info.peers.iter().any(|p| is_me(ctx, p, shard)) || !info.peers.contains(&info.leader) {
        return Err(Error::new(
            Der::Inval,
            format!(
                "transaction {}: this shard or the leader is not a participant",
                info.id
            ),
        ));
    }
    if map_version != 0 && info.map_version != map_version {
        return Err(Error::new(
            Der::Inval,
            "transaction routed by another pool map version than its request",
        ));
    }
    Ok(())
}

/// The transaction's participants, if it is prepared here and this target leads it.
fn leading(ctx: &Ctx, req: &DtxReq) -> Result<Option<DtxInfo>> {
    ctx.with_pool(&req.pool, |p| {
        Ok(match p.vos.index().dtx.get(&req.id) {
            Some(DtxEntry::Prepared { info, .. }) if is_me(ctx, &info.leader, req.shard) => {
                Some(info.clone())
            }
            _ => None,
        })
    })
}

/// Logs the outcome here; returns the LSN to wait for, if a record was logged.
fn log_outcome(ctx: &Ctx, req: &DtxReq, commit: bool) -> Result<Option<u64>> {
    ctx.with_pool(&req.pool, |p| {
        if commit {
            p.vos.dtx_commit(req.id)
        } else {
            p.vos.dtx_abort(req.id, ctx.hlc.now())
        }
    })
}

async fn durable(ctx: &Rc<Ctx>, pool: Uuid, lsn: Option<u64>) -> Result<()> {
    match lsn {
        Some(lsn) => ctx.durable(pool, lsn).await,
        None => Ok(()),
    }
}

/// Records the outcome here and waits until it is durable.
async fn record(ctx: &Rc<Ctx>, req: &DtxReq, commit: bool) -> Result<()> {
    let lsn = log_outcome(ctx, req, commit)?;
    durable(ctx, req.pool, lsn).await
}

/// The leader's decision: logs it, then tells every other participant while it becomes
/// durable. A commit is told until each participant has applied it or is excluded; an abort
/// is told once (participants that miss it resolve it by asking).
async fn decide(ctx: &Rc<Ctx>, req: &DtxReq, info: &DtxInfo, commit: bool) -> Result<()> {
    let lsn = log_outcome(ctx, req, commit)?;
    let opcode = if commit {
        Opcode::DtxCommit
    } else {
        Opcode::DtxAbort
    };
    let tells = info
        .peers
        .iter()
        .filter(|peer| !is_me(ctx, peer, req.shard))
        .map(|peer| tell(ctx, req, *peer, opcode, commit));
    let (durable, _) = futures::future::join(
        durable(ctx, req.pool, lsn),
        futures::future::join_all(tells),
    )
    .await;
    durable
}

/// The address of a participant's target, or `None` when the pool map no longer has it
/// available (excluded: its copy no longer counts).
fn peer_addr(ctx: &Ctx, pool: &Uuid, peer: &DtxPeer) -> Option<FiAddr> {
    let addr = ctx
        .with_pool(pool, |p| {
            let map = p.map.as_ref();
            Ok(map
                .and_then(|m| m.target(peer.rank, peer.target))
                .filter(|t| !t.state.is_unavailable())
                .and_then(|_| map?.target_addr(peer.rank, peer.target))
                .map(<[u8]>::to_vec))
        })
        .ok()??;
    ctx.net.resolve(&addr).ok()
}

fn peer_req(req: &DtxReq, peer: &DtxPeer) -> DtxReq {
    DtxReq {
        shard: peer.shard,
        ..req.clone()
    }
}

async fn tell(ctx: &Rc<Ctx>, req: &DtxReq, peer: DtxPeer, opcode: Opcode, persist: bool) {
    let body = peer_req(req, &peer);
    loop {
        let Some(addr) = peer_addr(ctx, &req.pool, &peer) else {
            return;
        };
        match crate::rebuild::call(ctx, addr, opcode, &body, 64, CALL_TIMEOUT).await {
            Ok(_) => return,
            Err(err) if matches!(err.der(), Der::TxRestart | Der::Already | Der::Nonexist) => {
                tracing::warn!(
                    "target {}: transaction {}: participant {}:{} refused {opcode:?}: {err}",
                    ctx.index,
                    req.id,
                    peer.rank,
                    peer.target
                );
                return;
            }
            Err(err) if !persist => {
                tracing::debug!("target {}: {opcode:?} not delivered: {err}", ctx.index);
                return;
            }
            Err(err) => {
                tracing::debug!("target {}: {opcode:?} retried: {err}", ctx.index);
                ctx.net.sleep_until(Instant::now() + RETRY_PAUSE).await;
            }
        }
    }
}

/// `DtxCommit`: from the client to the leader, which decides and tells the others; from the
/// leader to a participant, which commits.
///
/// Errors: `-DER_STALE` when the leader's pool map moved since the update was routed (it
/// aborts instead; the client sends the update again by the new map); `-DER_TX_RESTART` when
/// the transaction was already aborted; `-DER_NONEXIST` when it is unknown here.
pub async fn commit(ctx: &Rc<Ctx>, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: DtxReq = decode_body(body)?;
    if let Some(info) = leading(ctx, &req)? {
        let held = ctx.with_pool(&req.pool, |p| Ok(p.map.as_ref().map_or(0, |m| m.version)))?;
        if info.map_version != held {
            decide(ctx, &req, &info, false).await?;
            return Err(Error::new(
                Der::Stale,
                format!(
                    "transaction {} was routed by pool map version {}, the leader holds {held}; aborted",
                    req.id, info.map_version
                ),
            ));
        }
        decide(ctx, &req, &info, true).await?;
    } else {
        // Told by the leader, whose decision is durable before the client hears of it: if
        // this record is lost in a crash, the update is still prepared here and resolving it
        // finds the commit. Reads wait for it to be durable anyway.
        log_outcome(ctx, &req, true)?;
    }
    Ok(Vec::new())
}

/// `DtxAbort`: from the client to the leader (some replica failed to prepare), which aborts
/// and tells the others; from the leader to a participant.
///
/// Errors: `-DER_ALREADY` when the transaction was committed.
pub async fn abort(ctx: &Rc<Ctx>, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: DtxReq = decode_body(body)?;
    match leading(ctx, &req)? {
        Some(info) => decide(ctx, &req, &info, false).await?,
        None => record(ctx, &req, false).await?,
    }
    Ok(Vec::new())
}

/// `DtxCheck`: what this target knows of a transaction; one it never saw is recorded aborted
/// first (fencing a late prepare).
pub async fn check(ctx: &Rc<Ctx>, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: DtxReq = decode_body(body)?;
    let (state, lsn) = ctx.with_pool(&req.pool, |p| match p.vos.dtx_state(&req.id) {
        Some(state) => Ok((state, None)),
        None => Ok((DtxState::Aborted, p.vos.dtx_abort(req.id, ctx.hlc.now())?)),
    })?;
    if let Some(lsn) = lsn {
        ctx.durable(req.pool, lsn).await?;
    }
    let mut e = Encoder::new();
    DtxCheckReply { state: state as u8 }.encode(&mut e);
    Ok(e.finish())
}

/// Whether transactions prepared on this target under a pool map older than `version` are
/// still unresolved (a rebuild scan for `version` waits for them).
pub fn prepared_before(ctx: &Ctx, pool: &Uuid, version: u32) -> Result<bool> {
    ctx.with_pool(pool, |p| {
        Ok(p.vos.index().dtx.values().any(
            |entry| matches!(entry, DtxEntry::Prepared { info, .. } if info.map_version < version),
        ))
    })
}

/// A task the target's executor runs.
pub type Spawn<'a> = &'a mut dyn FnMut(Pin<Box<dyn std::future::Future<Output = ()>>>);

/// Once a second on every target: forgets old outcomes and starts resolving transactions
/// prepared for longer than [`RESOLVE_AFTER`].
pub fn tick(ctx: &Rc<Ctx>, spawn: Spawn<'_>) {
    let now = Instant::now();
    let horizon = ctx.hlc.now().saturating_sub(OUTCOME_TTL.as_nanos() as u64);
    let mut state = ctx.state.borrow_mut();
    for (pool, p) in state.pools.iter_mut() {
        // Not in the first minute after opening: participants that restarted with a whole
        // system may still ask about outcomes logged long ago.
        if now.duration_since(p.opened) >= OUTCOME_TTL {
            p.vos.forget_dtx(horizon);
        }
        let prepared = p.vos.dtx_prepared();
        p.dtx_seen
            .retain(|id, _| prepared.iter().any(|(prepared, ..)| prepared == id));
        for (id, info, update) in prepared {
            let seen = *p.dtx_seen.entry(id).or_insert(now);
            if now.duration_since(seen) >= RESOLVE_AFTER && p.dtx_resolving.insert(id) {
                let req = DtxReq {
                    pool: *pool,
                    cont: update.cont,
                    oid: update.oid,
                    shard: update.shard,
                    id,
                };
                let ctx = ctx.clone();
                spawn(Box::pin(async move {
                    if let Err(err) = resolve(&ctx, &req, &info).await {
                        tracing::debug!(
                            "target {}: transaction {id} not resolved yet: {err}",
                            ctx.index
                        );
                    }
                    let _ = ctx.with_pool(&req.pool, |p| {
                        p.dtx_resolving.remove(&id);
                        Ok(())
                    });
                }));
            }
        }
    }
}

async fn ask(ctx: &Rc<Ctx>, req: &DtxReq, peer: &DtxPeer, addr: FiAddr) -> Result<DtxState> {
    let reply = crate::rebuild::call(
        ctx,
        addr,
        Opcode::DtxCheck,
        &peer_req(req, peer),
        64,
        CALL_TIMEOUT,
    )
    .await?;
    let (_, body) = daos_proto::header::decode_reply(&reply)?;
    let reply: DtxCheckReply = decode_body(body)?;
    DtxState::from_u8(reply.state)
        .ok_or_else(|| Error::new(Der::Proto, "bad transaction state in a DtxCheck reply"))
}

/// What the other live participants (not this one, not the leader) know: `Some(true)` if one
/// has committed, `Some(false)` if one has aborted (or was fenced by the question), `None` if
/// all hold it prepared.
async fn ask_peers(ctx: &Rc<Ctx>, req: &DtxReq, info: &DtxInfo) -> Result<Option<bool>> {
    for peer in &info.peers {
        if is_me(ctx, peer, req.shard) || *peer == info.leader {
            continue;
        }
        let Some(addr) = peer_addr(ctx, &req.pool, peer) else {
            continue;
        };
        match ask(ctx, req, peer, addr).await? {
            DtxState::Prepared => {}
            state => return Ok(Some(state == DtxState::Committed)),
        }
    }
    Ok(None)
}

/// Resolves one transaction left prepared here (see the module's rules).
async fn resolve(ctx: &Rc<Ctx>, req: &DtxReq, info: &DtxInfo) -> Result<()> {
    let leader_live = peer_addr(ctx, &req.pool, &info.leader);
    if is_me(ctx, &info.leader, req.shard) {
        if leader_live.is_none() {
            // Excluded (this engine restarted, say): the live participants decide.
            return Ok(());
        }
        // Normally the client never asked for the commit, and this aborts it. But a
        // participant may hold a commit this leader's log lost (the decision is told while
        // it becomes durable, and a whole-system crash can come in between): follow it.
        let commit = ask_peers(ctx, req, info).await?.unwrap_or(false);
        tracing::info!(
            "target {}: transaction {} was left prepared by its client; {}",
            ctx.index,
            req.id,
            if commit { "committing" } else { "aborting" }
        );
        return decide(ctx, req, info, commit).await;
    }
    let commit = match leader_live {
        Some(addr) => match ask(ctx, req, &info.leader, addr).await? {
            DtxState::Prepared => return Ok(()),
            state => state == DtxState::Committed,
        },
        // The leader is excluded: the live participants decide together; if all hold it
        // prepared, the leader may have committed and nobody aborted.
        None => ask_peers(ctx, req, info).await?.unwrap_or(true),
    };
    tracing::info!(
        "target {}: transaction {} resolved: {}",
        ctx.index,
        req.id,
        if commit { "committed" } else { "aborted" }
    );
    record(ctx, req, commit).await
}
