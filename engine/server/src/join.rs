//! Several servers in one system (DAOS's server join).
//!
//! One server runs the management service: the first of `mgmt_svc_replicas` (see
//! [`crate::setup::role`]). Every other server is a member server: before starting its
//! engines it asks the management service for their ranks ([`Ms::join`]); a rank stays with
//! the engine's identity (a UUID in its `scm_mount`) in `system.json` beside the pool
//! database. Its engines join the system's SWIM cluster through the management service's
//! member. From then on the member server reports each change of its engines (started,
//! stopped, died) in order, and re-sends their states every [`RESEND`] so that a management
//! service that restarted learns them again ([`start_reporter`]); its new SWIM member then
//! announces itself to each engine it learns of this way.
//!
//! The management service acts on those reports as on its own engines: an engine that died
//! or stopped is excluded from its pools (`self_heal`). When SWIM declares a member server's
//! engine down while nothing reported it (a hung engine, a host cut off), the management
//! service marks it errored, excludes it, and asks its server to kill that life of it until
//! the server says it no longer runs ([`Ms::remote_down`], [`Ms::fence`]), so that it cannot
//! serve from an old pool map once the partition heals; the verdict is kept in `system.json`.
//! A server that joins again ends the lives its engines had. `dmg system stop|start` pass a
//! member server's ranks on to it.
//!
//! Lock order: `condemned`, then `joiners`, then `members`.
//!
//! Not done: the management service itself is not replicated (DAOS runs it on every listed
//! replica under Raft); while it is down, `dmg` has no one to ask and nothing excludes
//! engines that fail, though the engines and their pools (whose services are replicated)
//! keep serving clients.

use crate::ms::{Member, Ms};
use daos_control::mgmt::mgmt_svc_client::MgmtSvcClient;
use daos_control::mgmt::*;
use daos_types::{Der, Error, Result};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often a member server re-sends the states of its engines.
pub const RESEND: Duration = Duration::from_secs(5);
/// Announces to a member server's engine that go unanswered before it counts as down (one
/// per report: about 30 s).
const ANNOUNCE_TRIES: u32 = 6;
/// How long a call to another server may take to connect.
const PEER_CONNECT: Duration = Duration::from_secs(2);
/// Pause between attempts to reach another server.
const PEER_RETRY: Duration = Duration::from_secs(1);
/// How long the management service waits for a member server's report after passing it a
/// stop or start.
const REPORT_WAIT: Duration = Duration::from_secs(30);

/// What the management service tells joining servers, and where their ranks start.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// The management service's SWIM member (UDP), which joining engines announce to.
    pub swim_seed: Option<SocketAddr>,
    /// About how many SWIM members the system has.
    pub swim_members: u32,
    /// Engines of the management service's own server: ranks `0..local_engines`.
    pub local_engines: u32,
}

/// `system.json`: what the management service keeps about other servers' engines.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SystemDb {
    /// Their ranks, by identity.
    joiners: Vec<Joiner>,
    /// Lives SWIM declared dead and their servers were asked to kill: rank, incarnation.
    condemned: Vec<(u32, u64)>,
}

/// An engine of a member server, as `system.json` records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Joiner {
    /// The engine's identity (UUID kept in its `scm_mount`).
    pub id: String,
    /// Its rank.
    pub rank: u32,
    /// Its server's fault domain.
    pub domain: String,
    /// Its server's control address (`host:port`).
    pub address: String,
}

/// A gRPC client for another server at `addr` (`host:port`), each call bounded by `timeout`.
///
/// Errors: `-DER_UNREACH` when it cannot be reached.
pub async fn peer(
    addr: &str,
    timeout: Duration,
) -> Result<MgmtSvcClient<tonic::transport::Channel>> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| Error::new(Der::Inval, format!("server address {addr:?}: {e}")))?
        .connect_timeout(PEER_CONNECT)
        .timeout(timeout);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| Error::new(Der::Unreach, format!("server {addr}: {e}")))?;
    Ok(MgmtSvcClient::new(channel))
}

fn unreach(addr: &str, status: tonic::Status) -> Error {
    Error::new(Der::Unreach, format!("server {addr}: {}", status.message()))
}

/// A member server joins its engines (identities `engine_ids`) through the management
/// service at `manager`, retrying every second until it answers (servers may start in any
/// order). Returns the ranks and SWIM seed it gives.
///
/// Errors: a refusal from the management service (`-DER_INVAL` for a malformed request).
pub async fn join_manager(manager: SocketAddr, req: JoinReq) -> Result<JoinResp> {
    let addr = manager.to_string();
    let mut warned = false;
    loop {
        let reply = match peer(&addr, Duration::from_secs(10)).await {
            Ok(mut client) => client.join(req.clone()).await,
            Err(err) => Err(tonic::Status::unavailable(err.to_string())),
        };
        match reply {
            Ok(resp) => return Ok(resp.into_inner()),
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::FailedPrecondition
                ) =>
            {
                if !warned {
                    eprintln!(
                        "daos_server: waiting for the management service at {addr}: {}",
                        status.message()
                    );
                    warned = true;
                }
                tokio::time::sleep(PEER_RETRY).await;
            }
            Err(status) => {
                return Err(Error::new(
                    Der::Inval,
                    format!("joining at {addr}: {}", status.message()),
                ))
            }
        }
    }
}

/// Starts a member server's reporter: every report [`Ms::report`] queues reaches the
/// management service at `manager` in order (each retried while the service cannot be
/// reached, dropped with an error logged if it refuses it), and every [`RESEND`] the states
/// of all local engines are sent again.
pub fn start_reporter(ms: &Arc<Ms>, manager: SocketAddr) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<MemberUpdateReq>();
    *ms.reports.lock().expect("reports lock") = Some(tx);
    let ms = ms.clone();
    tokio::spawn(async move {
        let addr = manager.to_string();
        let mut client = None;
        let mut resend = tokio::time::interval(RESEND);
        resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let (batch, queued) = tokio::select! {
                next = rx.recv() => match next {
                    Some(report) => (vec![report], true),
                    None => return,
                },
                _ = resend.tick() => (ms.local_reports(), false),
            };
            for report in batch {
                let rank = report.member.as_ref().map_or(0, |m| m.rank);
                let mut warned = false;
                loop {
                    if client.is_none() {
                        client = peer(&addr, Duration::from_secs(5)).await.ok();
                    }
                    let sent = match client.as_mut() {
                        Some(c) => c.member_update(report.clone()).await.map(|_| ()),
                        None => Err(tonic::Status::unavailable("not connected")),
                    };
                    let status = match sent {
                        Ok(()) => break,
                        Err(status) => status,
                    };
                    if !matches!(
                        status.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Unknown
                            | tonic::Code::Cancelled
                    ) {
                        // Refused, not lost: retrying would hold every later report.
                        tracing::error!(
                            "the management service at {addr} refused the report of rank {rank}: {}",
                            status.message()
                        );
                        break;
                    }
                    client = None;
                    if !warned {
                        tracing::warn!(
                            "reporting rank {rank} to the management service at {addr}: {}",
                            status.message()
                        );
                        warned = true;
                    }
                    if ms.stopping.load(Ordering::Relaxed) && rx.is_closed() {
                        break;
                    }
                    tokio::time::sleep(PEER_RETRY).await;
                }
            }
            if queued {
                ms.reports_pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    });
}

impl Ms {
    /// Whether this server runs the management service.
    pub fn is_manager(&self) -> bool {
        self.manager.is_none()
    }

    /// Errors: `-DER_NOTLEADER` (a gRPC failed precondition) naming the management service
    /// when this server does not run it.
    pub fn require_manager(&self) -> Result<()> {
        match self.manager {
            None => Ok(()),
            Some(addr) => Err(Error::new(
                Der::Notleader,
                format!("this server does not run the management service: ask {addr}"),
            )),
        }
    }

    /// The management service gives the engines of a joining server their ranks: the rank
    /// each identity had, or the next free one after every rank given so far. An engine that
    /// joins again while its rank is listed as joined had its earlier life end unreported
    /// (its server restarted): that life is marked errored and excluded, as a death is.
    ///
    /// Errors: `-DER_INVAL` for identities that are not UUIDs or repeat; `-DER_UNREACH` until
    /// the service's SWIM member runs; the database's errors.
    pub fn join(self: &Arc<Self>, req: JoinReq) -> Result<JoinResp> {
        self.require_manager()?;
        let cluster = self.cluster.lock().expect("cluster lock").clone();
        let Some(seed) = cluster.swim_seed else {
            return Err(Error::new(
                Der::Unreach,
                "the management service is starting",
            ));
        };
        for (i, id) in req.engine_ids.iter().enumerate() {
            daos_types::Uuid::parse_str(id)
                .map_err(|e| Error::new(Der::Inval, format!("engine id {id:?}: {e}")))?;
            if req.engine_ids[..i].contains(id) {
                return Err(Error::new(
                    Der::Inval,
                    format!("engine id {id} given twice"),
                ));
            }
        }
        if req.address.is_empty() {
            return Err(Error::new(
                Der::Inval,
                "a joining server must give its address",
            ));
        }
        // Lock order: condemned, then joiners (as in `remote_down`).
        let mut condemned = self.condemned.lock().expect("condemned lock");
        let mut joiners = self.joiners.lock().expect("joiners lock");
        let mut ranks = Vec::new();
        for id in &req.engine_ids {
            let next = joiners
                .iter()
                .map(|j| j.rank + 1)
                .max()
                .unwrap_or(0)
                .max(cluster.local_engines);
            let rank = match joiners.iter_mut().find(|j| &j.id == id) {
                Some(j) => {
                    j.domain = req.domain.clone();
                    j.address = req.address.clone();
                    j.rank
                }
                None => {
                    joiners.push(Joiner {
                        id: id.clone(),
                        rank: next,
                        domain: req.domain.clone(),
                        address: req.address.clone(),
                    });
                    next
                }
            };
            ranks.push(rank);
        }
        for rank in &ranks {
            // Whatever life of it was being fenced has ended with its server.
            condemned.remove(rank);
        }
        self.persist_system(&joiners, &condemned)?;
        drop(joiners);
        for &rank in &ranks {
            if self.member_state(rank).as_deref() == Some("joined") {
                tracing::error!("rank {rank}: its server joined again; its earlier life ended");
                self.member_down(rank, "errored", "its server restarted".into());
                if !self.stopping.load(Ordering::Relaxed) {
                    let ms = self.clone();
                    std::thread::spawn(move || ms.self_heal(rank));
                }
            }
        }
        drop(condemned);
        tracing::info!(
            "server {} ({}) joined with ranks {ranks:?}",
            req.address,
            req.domain
        );
        Ok(JoinResp {
            ranks,
            swim_seed: seed.to_string(),
            swim_members: cluster.swim_members.max(1) + req.engine_ids.len() as u32,
        })
    }

    /// The management service takes a member server's report about one of its engines. An
    /// engine that was joined (or not known since this service started) and is now stopped
    /// or errored is excluded from its pools.
    ///
    /// Errors: `-DER_INVAL` for a report without a member or with an unknown state;
    /// `-DER_NONEXIST` for a rank no server joined.
    pub fn member_update(self: &Arc<Self>, req: MemberUpdateReq) -> Result<()> {
        self.require_manager()?;
        let info = req
            .member
            .ok_or_else(|| Error::new(Der::Inval, "a report must name a member"))?;
        let rank = info.rank;
        let joined = self
            .joiners
            .lock()
            .expect("joiners lock")
            .iter()
            .any(|j| j.rank == rank);
        if !joined {
            return Err(Error::new(
                Der::Nonexist,
                format!("rank {rank} was not given to a joining server"),
            ));
        }
        // One lock orders this report against SWIM's verdicts ([`Ms::remote_down`]).
        let mut condemned = self.condemned.lock().expect("condemned lock");
        let before = self.member(rank);
        let swim_addr = info.swim_addr.parse::<SocketAddr>().ok();
        let member = Member {
            rank,
            host: info.host,
            state: info.state,
            service: info.service_uri,
            targets: info.target_uris,
            error: info.error,
            swim: req.swim,
            owner: Some(info.address.clone()),
        };
        let owner = info.address;
        let mut unreachable = false;
        match member.state.as_str() {
            "joined" => {
                if condemned.get(&rank) == Some(&req.swim) {
                    // The life SWIM declared dead: it is being fenced.
                    return Ok(());
                }
                if condemned.remove(&rank).is_some() {
                    let joiners = self.joiners.lock().expect("joiners lock");
                    self.persist_system(&joiners, &condemned)?;
                }
                self.set_member(member);
                unreachable = self.watch(rank, swim_addr, &owner);
            }
            "stopped" | "errored" => {
                // Unknown: it went down while the management service was down itself.
                let was_joined = before.is_none_or(|m| m.state == "joined");
                if was_joined {
                    tracing::error!("rank {rank} is {}: {}", member.state, member.error);
                }
                self.set_member(member);
                if was_joined && !self.stopping.load(Ordering::Relaxed) {
                    let ms = self.clone();
                    std::thread::spawn(move || ms.self_heal(rank));
                }
            }
            other => {
                return Err(Error::new(
                    Der::Inval,
                    format!("rank {rank}: unknown state {other:?}"),
                ))
            }
        }
        drop(condemned);
        if unreachable {
            self.remote_down(rank, req.swim, owner);
        }
        Ok(())
    }

    /// Keeps a member server's running engine under SWIM's watch: when the management
    /// service's SWIM member does not hold it (it joined through an earlier life of this
    /// service), announces to it, again at each report; an engine that has not answered
    /// [`ANNOUNCE_TRIES`] announces cannot be watched (hung, or cut off from this host
    /// though its server is not): the answer is `true`, and it is treated as declared down.
    fn watch(&self, rank: u32, addr: Option<SocketAddr>, owner: &str) -> bool {
        let owner_loopback = owner
            .parse::<SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback());
        // An engine without an address of its own (shm) is not reachable from elsewhere.
        let Some(addr) = addr.filter(|a| !a.ip().is_loopback() || owner_loopback) else {
            return false;
        };
        let Some(announcer) = self.announcer.lock().expect("announcer lock").clone() else {
            return false;
        };
        let mut announces = self.announces.lock().expect("announces lock");
        if announcer.knows(addr) {
            announces.remove(&rank);
            return false;
        }
        let tries = announces.entry(rank).or_insert(0);
        *tries += 1;
        if *tries > ANNOUNCE_TRIES {
            announces.remove(&rank);
            tracing::error!("rank {rank}: its SWIM member at {addr} never answered");
            return true;
        }
        tracing::info!("rank {rank}: announcing to its SWIM member at {addr}");
        announcer.announce(addr);
        false
    }

    /// The management service acts on SWIM declaring a member server's engine down (its life
    /// `incarnation`) when that server did not report it: marks it errored, excludes it from
    /// its pools, and has its server kill that life ([`Ms::fence`]). The verdict is recorded
    /// in `system.json`, so that a management service restarted before the fence took still
    /// refuses that life's reports and fences it.
    pub fn remote_down(self: &Arc<Self>, rank: u32, incarnation: u64, owner: String) {
        let mut condemned = self.condemned.lock().expect("condemned lock");
        // A report may have replaced that life since SWIM's verdict was taken.
        let current = self
            .member(rank)
            .is_some_and(|m| m.state == "joined" && m.swim == incarnation);
        if !current {
            return;
        }
        tracing::error!(
            "rank {rank} (server {owner}): declared down by SWIM (no answer to direct or indirect probes)"
        );
        eprintln!("daos_server: engine {rank} on {owner} unresponsive (SWIM declared it down)");
        condemned.insert(rank, incarnation);
        let joiners = self.joiners.lock().expect("joiners lock");
        if let Err(err) = self.persist_system(&joiners, &condemned) {
            tracing::error!("recording rank {rank}'s fencing: {err}");
        }
        drop(joiners);
        self.member_down(rank, "errored", "declared down by SWIM".into());
        drop(condemned);
        let ms = self.clone();
        std::thread::spawn(move || ms.self_heal(rank));
        self.fence(rank, incarnation, owner);
    }

    /// Asks the server at `owner` to kill life `incarnation` of rank `rank`, until it says
    /// that life no longer runs there, that life stops being condemned (a new life or its
    /// server joined), or this server stops. Waits between attempts from 1 s up to 30 s.
    fn fence(self: &Arc<Self>, rank: u32, incarnation: u64, owner: String) {
        let Some(handle) = self.runtime.lock().expect("runtime lock").clone() else {
            return;
        };
        let ms = self.clone();
        handle.spawn(async move {
            let request = SystemRanksReq {
                ranks: vec![rank],
                local: true,
                force: true,
                incarnation,
            };
            let mut pause = PEER_RETRY;
            for attempt in 1u32.. {
                let condemned =
                    ms.condemned.lock().expect("condemned lock").get(&rank) == Some(&incarnation);
                if ms.stopping.load(Ordering::Relaxed) || !condemned {
                    return;
                }
                let outcome = match peer(&owner, Duration::from_secs(70)).await {
                    Ok(mut client) => client
                        .system_stop(request.clone())
                        .await
                        .map_err(|s| s.message().to_string())
                        .map(|reply| reply.into_inner().results),
                    Err(err) => Err(err.to_string()),
                };
                let outcome = outcome.and_then(|results| {
                    match results.into_iter().find(|r| r.rank == rank) {
                        Some(r) if r.error.is_empty() => Ok(()),
                        Some(r) => Err(r.error),
                        None => Err("no answer for the rank".into()),
                    }
                });
                match outcome {
                    Ok(()) => {
                        tracing::info!("rank {rank}: fenced by its server {owner}");
                        return;
                    }
                    Err(err) if attempt == 1 || attempt % 10 == 0 => tracing::warn!(
                        "rank {rank}: its server {owner} has not fenced it yet (attempt {attempt}): {err}"
                    ),
                    Err(_) => {}
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// The management service, once its runtime runs, fences again the lives it condemned
    /// before it restarted.
    pub fn resume_fencing(self: &Arc<Self>) {
        let condemned = self.condemned.lock().expect("condemned lock").clone();
        let joiners = self.joiners.lock().expect("joiners lock").clone();
        for (rank, incarnation) in condemned {
            if let Some(owner) = joiners.iter().find(|j| j.rank == rank) {
                self.fence(rank, incarnation, owner.address.clone());
            }
        }
    }

    /// The control address of the member server running rank `rank`, or `None` for this
    /// server's own engines (from the rank's last report, else from its join).
    pub(crate) fn owner_of(&self, rank: u32) -> Option<String> {
        if let Some(member) = self.member(rank) {
            return member.owner;
        }
        self.joiners
            .lock()
            .expect("joiners lock")
            .iter()
            .find(|j| j.rank == rank)
            .map(|j| j.address.clone())
    }

    /// A member server queues a report of rank `rank`'s current state for the management
    /// service (nothing on the management service's own server).
    pub fn report(&self, rank: u32) {
        let Some(member) = self.member(rank) else {
            return;
        };
        if let Some(tx) = self.reports.lock().expect("reports lock").as_ref() {
            self.reports_pending.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(MemberUpdateReq {
                swim: member.swim,
                member: Some(self.rank_info(&member)),
            });
        }
    }

    /// Reports of every local engine's state.
    fn local_reports(&self) -> Vec<MemberUpdateReq> {
        let members = self.members.lock().expect("members lock").clone();
        members
            .iter()
            .filter(|m| m.owner.is_none())
            .map(|m| MemberUpdateReq {
                swim: m.swim,
                member: Some(self.rank_info(m)),
            })
            .collect()
    }

    /// A member server waits (up to `limit`) until the management service has its queued
    /// reports, as when it stops.
    pub async fn flush_reports(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.reports_pending.load(Ordering::Relaxed) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The management service passes `dmg system stop|start` for rank `rank` on to the
    /// member server at `owner`, then waits until that server's report shows the outcome.
    pub async fn forward_ranks(&self, owner: &str, rank: u32, start: bool) -> RankResult {
        let request = SystemRanksReq {
            ranks: vec![rank],
            local: true,
            ..SystemRanksReq::default()
        };
        let reply = match peer(owner, Duration::from_secs(660)).await {
            Ok(mut client) if start => client
                .system_start(request)
                .await
                .map_err(|s| unreach(owner, s)),
            Ok(mut client) => client
                .system_stop(request)
                .await
                .map_err(|s| unreach(owner, s)),
            Err(err) => Err(err),
        };
        let mut result = match reply {
            Ok(reply) => reply
                .into_inner()
                .results
                .into_iter()
                .find(|r| r.rank == rank)
                .unwrap_or_else(|| RankResult {
                    rank,
                    state: String::new(),
                    error: format!("server {owner} did not answer for rank {rank}"),
                }),
            Err(err) => RankResult {
                rank,
                state: String::new(),
                error: err.to_string(),
            },
        };
        if result.error.is_empty() {
            let deadline = tokio::time::Instant::now() + REPORT_WAIT;
            let settled = |state: Option<String>| match state.as_deref() {
                Some("joined") => start,
                Some("stopped" | "errored") => !start,
                _ => false,
            };
            while !settled(self.member_state(rank)) {
                if tokio::time::Instant::now() >= deadline {
                    result.error = format!(
                        "server {owner} did {} rank {rank}, but has not reported it {} within {REPORT_WAIT:?}",
                        if start { "start" } else { "stop" },
                        if start { "joined" } else { "stopped" },
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        result.state = self.member_state(rank).unwrap_or(result.state);
        result
    }

    fn persist_system(
        &self,
        joiners: &[Joiner],
        condemned: &std::collections::HashMap<u32, u64>,
    ) -> Result<()> {
        let db = SystemDb {
            joiners: joiners.to_vec(),
            condemned: condemned.clone().into_iter().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&db).expect("system database serialises");
        daos_bio::replace_durably(&self.system_db(), &bytes)
    }

    /// Reads `system.json` (the ranks given to member servers' engines and the lives being
    /// fenced).
    ///
    /// Errors: `-DER_DF_INVAL` for an unreadable file, or when a rank given to another
    /// server's engine is one of this server's own (`0..local_engines`: its config gained
    /// engines).
    pub fn load_system(&self, local_engines: u32) -> Result<()> {
        let path = self.system_db();
        let db: SystemDb = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::new(Der::DfInval, format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SystemDb::default(),
            Err(e) => return Err(Error::from(e).with_context(path.display())),
        };
        if let Some(j) = db.joiners.iter().find(|j| j.rank < local_engines) {
            return Err(Error::new(
                Der::DfInval,
                format!(
                    "{}: rank {} belongs to an engine of server {}, but this server now runs \
                     {local_engines} engines (ranks 0..{local_engines})",
                    path.display(),
                    j.rank,
                    j.address
                ),
            ));
        }
        *self.joiners.lock().expect("joiners lock") = db.joiners;
        *self.condemned.lock().expect("condemned lock") = db.condemned.into_iter().collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(dir: &std::path::Path) -> Arc<Ms> {
        let ms = Ms::new(
            "daos_server".into(),
            "ofi+tcp".into(),
            "127.0.0.1:10001".into(),
            dir.join("control/pools.json"),
            None,
        )
        .unwrap();
        ms.load_system(2).unwrap();
        ms.set_cluster(Cluster {
            swim_seed: Some("127.0.0.1:10001".parse().unwrap()),
            swim_members: 3,
            local_engines: 2,
        });
        Arc::new(ms)
    }

    fn join(ms: &Arc<Ms>, address: &str, ids: &[&str]) -> Result<JoinResp> {
        ms.join(JoinReq {
            domain: format!("/{address}"),
            address: address.into(),
            engine_ids: ids.iter().map(|s| s.to_string()).collect(),
        })
    }

    const A: &str = "6f1c2a7e-3b1d-4c55-9a51-0c7f4b1e2d01";
    const B: &str = "6f1c2a7e-3b1d-4c55-9a51-0c7f4b1e2d02";
    const C: &str = "6f1c2a7e-3b1d-4c55-9a51-0c7f4b1e2d03";

    #[test]
    fn joining_engines_keep_their_ranks_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let ms = manager(dir.path());
        // Ranks after the management service's own engines, in request order.
        let first = join(&ms, "10.0.0.2:10001", &[A, B]).unwrap();
        assert_eq!(first.ranks, vec![2, 3]);
        assert_eq!(first.swim_seed, "127.0.0.1:10001");
        assert_eq!(join(&ms, "10.0.0.3:10001", &[C]).unwrap().ranks, vec![4]);
        // The same engine joining again (its server restarted, maybe at a new address)
        // keeps its rank; so it does after the management service restarts.
        assert_eq!(join(&ms, "10.0.0.9:10001", &[B]).unwrap().ranks, vec![3]);
        drop(ms);
        let ms = manager(dir.path());
        assert_eq!(
            join(&ms, "10.0.0.3:10001", &[C, A]).unwrap().ranks,
            vec![4, 2]
        );
        let joiners = ms.joiners.lock().unwrap().clone();
        assert_eq!(
            joiners.iter().find(|j| j.id == B).unwrap().address,
            "10.0.0.9:10001"
        );
    }

    #[test]
    fn bad_joins_and_reports_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ms = manager(dir.path());
        let err = join(&ms, "10.0.0.2:10001", &["not-a-uuid"]).unwrap_err();
        assert_eq!(err.der(), Der::Inval, "{err}");
        let err = join(&ms, "10.0.0.2:10001", &[A, A]).unwrap_err();
        assert_eq!(err.der(), Der::Inval, "{err}");
        let err = join(&ms, "", &[A]).unwrap_err();
        assert_eq!(err.der(), Der::Inval, "{err}");
        assert!(ms.joiners.lock().unwrap().is_empty());
        // Reports name a rank a server joined with: not the manager's own engines.
        let report = |rank: u32, state: &str| MemberUpdateReq {
            member: Some(RankInfo {
                rank,
                state: state.into(),
                address: "10.0.0.2:10001".into(),
                ..RankInfo::default()
            }),
            swim: 7,
        };
        let err = ms.member_update(report(0, "joined")).unwrap_err();
        assert_eq!(err.der(), Der::Nonexist, "{err}");
        assert!(ms.member(0).is_none());
        join(&ms, "10.0.0.2:10001", &[A]).unwrap();
        let err = ms.member_update(report(2, "dancing")).unwrap_err();
        assert_eq!(err.der(), Der::Inval, "{err}");
        assert!(ms.member(2).is_none());
        ms.member_update(report(2, "joined")).unwrap();
        assert_eq!(
            ms.member(2).unwrap().owner.as_deref(),
            Some("10.0.0.2:10001")
        );
        // A life SWIM declared dead does not come back by reporting itself joined, not even
        // after the management service restarts.
        ms.remote_down(2, 6, "10.0.0.2:10001".into());
        assert_eq!(
            ms.member(2).unwrap().state,
            "joined",
            "another life: left alone"
        );
        ms.remote_down(2, 7, "10.0.0.2:10001".into());
        assert_eq!(ms.member(2).unwrap().state, "errored");
        drop(ms);
        let ms = manager(dir.path());
        ms.member_update(report(2, "joined")).unwrap();
        assert!(ms.member(2).is_none());
        let mut next = report(2, "joined");
        next.swim = 8;
        ms.member_update(next).unwrap();
        assert_eq!(ms.member(2).unwrap().state, "joined");
        assert!(ms.condemned.lock().unwrap().is_empty());
        // Its server joining again ends the life it had: it is marked down.
        join(&ms, "10.0.0.2:10001", &[A]).unwrap();
        let entry = ms.member(2).unwrap();
        assert_eq!(entry.state, "errored");
        assert!(entry.error.contains("restarted"), "{}", entry.error);
    }

    #[test]
    fn a_rank_given_away_cannot_become_a_local_one() {
        let dir = tempfile::tempdir().unwrap();
        let ms = manager(dir.path());
        join(&ms, "10.0.0.2:10001", &[A]).unwrap();
        drop(ms);
        let ms = Ms::new(
            "daos_server".into(),
            "ofi+tcp".into(),
            "127.0.0.1:10001".into(),
            dir.path().join("control/pools.json"),
            None,
        )
        .unwrap();
        let err = ms.load_system(3).unwrap_err();
        assert_eq!(err.der(), Der::DfInval);
        assert!(err.to_string().contains("rank 2"), "{err}");
    }

    #[test]
    fn a_member_server_refuses_the_management_services_calls() {
        let dir = tempfile::tempdir().unwrap();
        let ms = Arc::new(
            Ms::new(
                "daos_server".into(),
                "ofi+tcp".into(),
                "10.0.0.2:10001".into(),
                dir.path().join("control/pools.json"),
                Some("10.0.0.1:10001".parse().unwrap()),
            )
            .unwrap(),
        );
        let err = ms.join(JoinReq::default()).unwrap_err();
        assert_eq!(err.der(), Der::Notleader);
        assert!(err.to_string().contains("10.0.0.1:10001"), "{err}");
    }
}
