//! The management service: system membership, the pool database, and the gRPC service that
//! `dmg` and `daos_agent` call.
//!
//! The pool database (`<scm_mount of engine 0>/control/pools.json`) records each pool's UUID,
//! label, ranks and service ranks; it is rewritten atomically on every change. Engines hold
//! everything else. Pool operations go to the engines over the fabric (management opcodes on
//! each engine's service context).

use daos_client::{AttachInfo, Client, RankAttach};
use daos_control::mgmt::mgmt_svc_server::MgmtSvc;
use daos_control::mgmt::*;
use daos_placement::{PoolMap, RankEntry, TargetEntry, TargetState};
use daos_proto::msg::{
    Blob, Credential, Empty, Flag, MgmtPoolCreateReq, MgmtPoolDestroyReq, MgmtPoolQueryReply,
    MgmtPoolQueryReq, MgmtPoolUpdateReply, MgmtPoolUpdateReq, MgmtRebuildReq, RebuildStatus,
    WireMap, WireProps, POOL_UPDATE_DRAIN, POOL_UPDATE_EXCLUDE, POOL_UPDATE_EXTEND,
    POOL_UPDATE_REBUILD_CLEAN, POOL_UPDATE_REBUILD_DONE, POOL_UPDATE_REINTEGRATE, REBUILD_BUSY,
    REBUILD_DONE, REBUILD_FAILED, REBUILD_IDLE, REBUILD_PREPARE, REBUILD_QUERY, REBUILD_START,
    REBUILD_STOP, REBUILD_STOPPED,
};
use daos_proto::Opcode;
use daos_types::label::EntityRef;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, Error, Result, Uuid};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// A system member (one engine).
#[derive(Clone, Debug)]
pub struct Member {
    /// Rank.
    pub rank: u32,
    /// Host name.
    pub host: String,
    /// `joined`, `stopped`, `errored` or `starting`.
    pub state: String,
    /// Service endpoint address.
    pub service: Vec<u8>,
    /// Target endpoint addresses.
    pub targets: Vec<Vec<u8>>,
    /// Why the engine stopped, if it did.
    pub error: String,
    /// Incarnation of the engine's SWIM member (0: none).
    pub swim: u64,
    /// The control address of the member server running it (`None`: this server).
    pub owner: Option<String>,
}

impl Member {
    /// This engine's entry in a pool map, every target in `state`.
    fn rank_entry(&self, state: TargetState) -> RankEntry {
        RankEntry {
            rank: self.rank,
            domain: self.host.clone(),
            service_addr: self.service.clone(),
            targets: self
                .targets
                .iter()
                .enumerate()
                .map(|(i, addr)| TargetEntry {
                    index: i as u32,
                    addr: addr.clone(),
                    state,
                    fseq: 0,
                    drained: false,
                })
                .collect(),
        }
    }
}

/// A pool in the database.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PoolRecord {
    /// UUID.
    pub uuid: Uuid,
    /// Label.
    pub label: String,
    /// Ranks holding targets.
    pub ranks: Vec<u32>,
    /// Ranks holding the pool service.
    pub svc_ranks: Vec<u32>,
    /// Metadata bytes in total.
    pub scm_bytes: u64,
    /// Data bytes in total.
    pub nvme_bytes: u64,
}

/// Shared state of the management service.
pub struct Ms {
    /// System name.
    pub system: String,
    /// Fabric provider.
    pub provider: String,
    /// Control-plane address of this server (`host:port`).
    pub address: String,
    /// Members by rank.
    pub members: Mutex<Vec<Member>>,
    pools: Mutex<Vec<PoolRecord>>,
    db: PathBuf,
    client: Mutex<Option<Arc<Client>>>,
    /// The last rebuild job of each pool.
    rebuilds: Mutex<std::collections::HashMap<Uuid, RebuildJob>>,
    /// How to start each engine again (`dmg system start`): its config and config file.
    launch: Mutex<std::collections::HashMap<u32, (daos_control::config::EngineConfig, PathBuf)>>,
    /// Engine process ids by rank, while running.
    pub pids: Mutex<std::collections::HashMap<u32, u32>>,
    /// Ranks `dmg system stop` asked to stop (their exit is not a failure to report).
    stop_requested: Mutex<std::collections::HashSet<u32>>,
    /// Ranks killed because SWIM declared them down while their process ran.
    fenced: Mutex<std::collections::HashSet<u32>>,
    /// Set when the whole server stops.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Where the management service runs: `None` on its own server, else its control
    /// address (this is a member server, see [`crate::join`]).
    pub manager: Option<std::net::SocketAddr>,
    /// Management service: what joining servers are told, and where their ranks start.
    pub(crate) cluster: Mutex<crate::join::Cluster>,
    /// Management service: the engines of member servers (`system.json`).
    pub(crate) joiners: Mutex<Vec<crate::join::Joiner>>,
    /// Member server: the queue of reports to the management service.
    pub(crate) reports: Mutex<Option<tokio::sync::mpsc::UnboundedSender<MemberUpdateReq>>>,
    /// Member server: reports queued and not yet delivered.
    pub(crate) reports_pending: std::sync::atomic::AtomicUsize,
    /// Management service: member servers' ranks SWIM declared down, with the life
    /// (incarnation) declared down; reports from that life are ignored.
    pub(crate) condemned: Mutex<std::collections::HashMap<u32, u64>>,
    /// The server's async runtime, for work started from the SWIM thread.
    pub(crate) runtime: Mutex<Option<tokio::runtime::Handle>>,
    /// Management service: its SWIM member's announcer, to reach the engines of member
    /// servers that joined through an earlier life of it.
    pub(crate) announcer: Mutex<Option<daos_swim::Announcer>>,
    /// Management service: announces sent to member servers' engines its SWIM member does
    /// not hold, by rank.
    pub(crate) announces: Mutex<std::collections::HashMap<u32, u32>>,
}

/// How often a rebuild driver polls the engines, at most (see [`rebuild_poll`]).
const REBUILD_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// How long a rebuild driver waits before polling the engines again, `elapsed` into a pass:
/// an eighth of it, from 10 ms to [`REBUILD_POLL`], so a short pass is not measured (nor
/// the map recorded) a whole poll late and a long one costs few calls.
fn rebuild_poll(elapsed: std::time::Duration) -> std::time::Duration {
    (elapsed / 8).clamp(std::time::Duration::from_millis(10), REBUILD_POLL)
}

/// How long the management service's blocking threads stay idle before they end; each keeps
/// its fabric endpoint (see [`Ms::start_rebuild`]).
pub const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(600);
/// A pool's space and state as `dmg pool query|list` show them.
struct PoolSpace {
    summary: PoolSummary,
    targets: Vec<TargetSummary>,
    /// Connected pool handles, as the service leader counts them.
    handles: u32,
    /// The leader's pool map.
    map: PoolMap,
    /// The pool service leader the query went to.
    leader: u32,
}

/// How long a pool operation waits for the pool service's replicas to elect a leader.
const SVC_LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// Pause between rounds of asking the replicas who leads.
const SVC_LEADER_POLL: std::time::Duration = std::time::Duration::from_millis(200);
/// How often to check whether an engine being called has stopped.
const MEMBER_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// Attempts of one rebuild job before it is reported failed.
const REBUILD_ATTEMPTS: u32 = 5;
/// Passes of one rebuild job at most (see `Ms::drive_rebuild`).
const REBUILD_PASSES: u32 = 4;

/// A rebuild job as the control plane drives it (DAOS: the pool service leader's rebuild
/// global status).
#[derive(Clone, Debug)]
struct RebuildJob {
    /// Distinguishes jobs: a driver whose job was replaced stops.
    id: u64,
    /// Map version of the running pass (engines know the job by it).
    version: u32,
    /// Map version of the change that started the job, as `dmg pool query` reports it: a
    /// job of several passes is the rebuild of that change.
    reported: u32,
    /// `busy`, `done`, `stopped` or `failed`.
    state: &'static str,
    /// Sums over the engines.
    progress: RebuildStatus,
    started: std::time::Instant,
    ended: Option<std::time::Instant>,
}

/// The pool service's replicas among a pool's engines: `nsvc` ranks taken across fault
/// domains in turn (the first rank of each domain, domains in order of their lowest rank,
/// then the second of each…), so that losing one host loses as few replicas as it can.
fn service_ranks(members: &[Member], nsvc: usize) -> Vec<u32> {
    let mut domains: Vec<(&str, Vec<u32>)> = Vec::new();
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by_key(|m| m.rank);
    for m in sorted {
        match domains.iter_mut().find(|(d, _)| *d == m.host) {
            Some((_, ranks)) => ranks.push(m.rank),
            None => domains.push((&m.host, vec![m.rank])),
        }
    }
    let mut chosen = Vec::with_capacity(nsvc);
    for depth in 0.. {
        if chosen.len() == nsvc || domains.iter().all(|(_, r)| r.len() <= depth) {
            break;
        }
        for (_, ranks) in &domains {
            if chosen.len() < nsvc {
                if let Some(&rank) = ranks.get(depth) {
                    chosen.push(rank);
                }
            }
        }
    }
    chosen
}

/// Whether a map has targets whose data is still to be rebuilt (`Down`, `Drain`, `Up`).
fn needs_rebuild(map: &PoolMap) -> bool {
    map.ranks.iter().flat_map(|r| &r.targets).any(|t| {
        matches!(
            t.state,
            TargetState::Down | TargetState::Drain | TargetState::Up
        )
    })
}

fn status(err: Error) -> Status {
    let code = match err.der() {
        Der::Nonexist => tonic::Code::NotFound,
        Der::Exist => tonic::Code::AlreadyExists,
        Der::Inval => tonic::Code::InvalidArgument,
        Der::Busy | Der::Notleader => tonic::Code::FailedPrecondition,
        Der::Nospace => tonic::Code::ResourceExhausted,
        Der::Timedout => tonic::Code::DeadlineExceeded,
        Der::Unreach => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    let mut s = Status::new(code, err.context().to_string());
    if let Ok(value) = err.rc().to_string().parse() {
        s.metadata_mut().insert("daos-status", value);
    }
    s
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> std::result::Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("worker failed: {e}")))?
        .map_err(status)
}

impl Ms {
    /// A management service with its database at `db` (`manager`: `None` when this server
    /// runs it, else where it runs).
    ///
    /// Errors: `-DER_DF_INVAL` for an unreadable database.
    pub fn new(
        system: String,
        provider: String,
        address: String,
        db: PathBuf,
        manager: Option<std::net::SocketAddr>,
    ) -> Result<Ms> {
        let pools = match std::fs::read(&db) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::new(Der::DfInval, format!("{}: {e}", db.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::from(e).with_context(db.display())),
        };
        Ok(Ms {
            system,
            provider,
            address,
            members: Mutex::new(Vec::new()),
            pools: Mutex::new(pools),
            db,
            client: Mutex::new(None),
            rebuilds: Mutex::new(std::collections::HashMap::new()),
            launch: Mutex::new(std::collections::HashMap::new()),
            pids: Mutex::new(std::collections::HashMap::new()),
            stop_requested: Mutex::new(std::collections::HashSet::new()),
            fenced: Mutex::new(std::collections::HashSet::new()),
            stopping: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            manager,
            cluster: Mutex::new(crate::join::Cluster::default()),
            joiners: Mutex::new(Vec::new()),
            reports: Mutex::new(None),
            reports_pending: std::sync::atomic::AtomicUsize::new(0),
            condemned: Mutex::new(std::collections::HashMap::new()),
            runtime: Mutex::new(None),
            announcer: Mutex::new(None),
            announces: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Where member servers' ranks are recorded: `system.json` beside the pool database.
    pub(crate) fn system_db(&self) -> PathBuf {
        self.db.with_file_name("system.json")
    }

    /// Sets what joining servers are told (the management service's SWIM member and the
    /// cluster size) and how many engines this server runs, then serves joins.
    pub fn set_cluster(&self, cluster: crate::join::Cluster) {
        *self.cluster.lock().expect("cluster lock") = cluster;
    }

    /// Gives the management service its SWIM member's announcer.
    pub fn set_announcer(&self, announcer: daos_swim::Announcer) {
        *self.announcer.lock().expect("announcer lock") = Some(announcer);
    }

    /// Gives the management service the runtime for work started from other threads.
    pub fn set_runtime(&self, handle: tokio::runtime::Handle) {
        *self.runtime.lock().expect("runtime lock") = Some(handle);
    }

    fn persist(&self, pools: &[PoolRecord]) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(pools).expect("pool records serialise");
        daos_bio::replace_durably(&self.db, &bytes)
    }

    /// Records (or updates) a member; a member server reports it to the management service.
    pub fn set_member(&self, member: Member) {
        let rank = member.rank;
        let mut members = self.members.lock().expect("members lock");
        let changed = match members.iter_mut().find(|m| m.rank == member.rank) {
            Some(m) => {
                let changed = (&m.state, &m.service, &m.targets)
                    != (&member.state, &member.service, &member.targets);
                *m = member;
                changed
            }
            None => {
                members.push(member);
                true
            }
        };
        members.sort_by_key(|m| m.rank);
        drop(members);
        if changed {
            // The fabric client addresses joined members only.
            *self.client.lock().expect("client lock") = None;
        }
        self.report(rank);
    }

    /// Member `rank`, if known.
    pub(crate) fn member(&self, rank: u32) -> Option<Member> {
        self.members
            .lock()
            .expect("members lock")
            .iter()
            .find(|m| m.rank == rank)
            .cloned()
    }

    /// Records how engine `rank` was started and its process id.
    pub fn record_engine(
        &self,
        rank: u32,
        config: daos_control::config::EngineConfig,
        path: PathBuf,
        pid: u32,
    ) {
        self.launch
            .lock()
            .expect("launch lock")
            .insert(rank, (config, path));
        self.pids.lock().expect("pids lock").insert(rank, pid);
    }

    /// Whether `dmg system stop` asked rank `rank` to stop (and forgets the request).
    pub fn take_stop_request(&self, rank: u32) -> bool {
        self.stop_requested.lock().expect("stop lock").remove(&rank)
    }

    /// Whether rank `rank` was fenced after SWIM declared it down (and forgets it).
    pub fn take_fenced(&self, rank: u32) -> bool {
        self.fenced.lock().expect("fenced lock").remove(&rank)
    }

    /// Acts on what the system's SWIM cluster concluded. An engine declared down while its
    /// process still runs (hung, paused, or cut off from the others) is fenced: killed, so
    /// that it can serve nothing from an old pool map, after which its exit excludes it from
    /// its pools as a crash would (DAOS's engines exclude a rank SWIM declares dead). Reports
    /// about an earlier life of the rank (another incarnation), the server itself, or an
    /// engine already stopping are ignored.
    pub fn swim_event(self: &Arc<Self>, event: daos_swim::MemberEvent) {
        let daos_swim::MemberEvent::Down(id) = event else {
            return;
        };
        if id.rank == daos_swim::CONTROL_RANK
            || self.stopping.load(std::sync::atomic::Ordering::Relaxed)
            || self
                .stop_requested
                .lock()
                .expect("stop lock")
                .contains(&id.rank)
        {
            return;
        }
        let Some(current) = self
            .member(id.rank)
            .filter(|m| m.state == "joined" && m.swim == id.incarnation)
        else {
            return;
        };
        if let Some(owner) = current.owner {
            // A member server's engine: that server cannot be told to fence it before it
            // reports, so the management service acts at once.
            self.remote_down(id.rank, id.incarnation, owner);
            return;
        }
        let pid = self.pids.lock().expect("pids lock").get(&id.rank).copied();
        let Some(pid) = pid else {
            return;
        };
        tracing::error!(
            "rank {}: declared down by SWIM (no answer to direct or indirect probes); fencing process {pid}",
            id.rank
        );
        eprintln!(
            "daos_server: engine {} unresponsive (SWIM declared it down), killing it",
            id.rank
        );
        self.fenced.lock().expect("fenced lock").insert(id.rank);
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    pub(crate) fn member_state(&self, rank: u32) -> Option<String> {
        self.member(rank).map(|m| m.state)
    }

    /// `dmg system stop [--ranks]`: SIGTERM to each engine, then waits (up to a minute) for it
    /// to exit. Its pools exclude it, as for any engine that leaves (DAOS's `self_heal`).
    /// The management service passes a member server's ranks on to it; with `local`, only
    /// this server's engines are acted on, and `force` kills them (fencing): only their
    /// life `incarnation` when it is not 0.
    pub async fn system_stop(
        self: &Arc<Self>,
        ranks: Vec<u32>,
        local: bool,
        force: bool,
        incarnation: u64,
    ) -> Vec<RankResult> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let ranks = if ranks.is_empty() {
            self.joined()
                .iter()
                .filter(|m| !local || m.owner.is_none())
                .map(|m| m.rank)
                .collect()
        } else {
            ranks
        };
        let mut results = Vec::new();
        for rank in ranks {
            if let (Some(owner), false) = (self.owner_of(rank), local) {
                results.push(self.forward_ranks(&owner, rank, false).await);
                continue;
            }
            let pid = self.pids.lock().expect("pids lock").get(&rank).copied();
            let other_life = force
                && incarnation != 0
                && self.member(rank).is_some_and(|m| m.swim != incarnation);
            let error = match (pid, self.member_state(rank).as_deref()) {
                // The life to fence is gone already.
                _ if other_life => String::new(),
                (_, None) => format!("rank {rank} is not a member"),
                (Some(pid), Some("joined")) => {
                    if force {
                        tracing::error!(
                            "rank {rank}: fenced (killed) at the management service's request"
                        );
                        self.fenced.lock().expect("fenced lock").insert(rank);
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    } else {
                        self.stop_requested.lock().expect("stop lock").insert(rank);
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                    }
                    let mut left = 600;
                    while self.member_state(rank).as_deref() == Some("joined") && left > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        left -= 1;
                    }
                    if left == 0 {
                        format!("rank {rank} did not stop in time")
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            };
            results.push(RankResult {
                rank,
                state: self.member_state(rank).unwrap_or_default(),
                error,
            });
        }
        results
    }

    /// `dmg system start [--ranks]`: starts each engine that is not running, with the config
    /// it first started with, and waits until it serves. Pools keep it excluded until
    /// `dmg pool reintegrate`. The management service passes a member server's ranks on to
    /// it; with `local`, only this server's engines are acted on.
    pub async fn system_start(self: &Arc<Self>, ranks: Vec<u32>, local: bool) -> Vec<RankResult> {
        let mut ranks: Vec<u32> = if ranks.is_empty() {
            let mut all: Vec<u32> = self
                .launch
                .lock()
                .expect("launch lock")
                .keys()
                .copied()
                .collect();
            if !local {
                all.extend(
                    self.members
                        .lock()
                        .expect("members lock")
                        .iter()
                        .filter(|m| m.owner.is_some())
                        .map(|m| m.rank),
                );
            }
            all
        } else {
            ranks
        };
        ranks.sort_unstable();
        let mut results = Vec::new();
        for rank in ranks {
            if let (Some(owner), false) = (self.owner_of(rank), local) {
                results.push(self.forward_ranks(&owner, rank, true).await);
                continue;
            }
            let launch = self.launch.lock().expect("launch lock").get(&rank).cloned();
            // Its process may have exited a moment before its exit was handled.
            let running = self.pids.lock().expect("pids lock").contains_key(&rank);
            let error = match (launch, self.member_state(rank).as_deref()) {
                (None, _) => format!("rank {rank} is not an engine of this server"),
                (Some(_), Some("joined")) if running => String::new(),
                (Some((config, path)), _) => {
                    // Let the exit of the last life be handled first, so that it cannot
                    // mark the new one down.
                    for _ in 0..50 {
                        if self.member_state(rank).as_deref() != Some("joined") {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    match crate::start_engine(self.clone(), config, path, self.stopping.clone())
                        .await
                    {
                        Ok(_) => String::new(),
                        Err(err) => err,
                    }
                }
            };
            results.push(RankResult {
                rank,
                state: self.member_state(rank).unwrap_or_default(),
                error,
            });
        }
        results
    }

    /// Marks a member stopped or errored (a member server reports it).
    pub fn member_down(&self, rank: u32, state: &str, error: String) {
        if let Some(m) = self
            .members
            .lock()
            .expect("members lock")
            .iter_mut()
            .find(|m| m.rank == rank)
        {
            m.state = state.to_string();
            m.error = error;
        }
        *self.client.lock().expect("client lock") = None;
        self.report(rank);
    }

    fn joined(&self) -> Vec<Member> {
        self.members
            .lock()
            .expect("members lock")
            .iter()
            .filter(|m| m.state == "joined")
            .cloned()
            .collect()
    }

    /// A fabric client for calls to the engines.
    fn engine_client(&self) -> Result<Arc<Client>> {
        let mut slot = self.client.lock().expect("client lock");
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let ranks: Vec<RankAttach> = self
            .joined()
            .into_iter()
            .map(|m| RankAttach {
                rank: m.rank,
                service: m.service,
                targets: m.targets,
            })
            .collect();
        if ranks.is_empty() {
            return Err(Error::new(Der::Unreach, "no engine has joined the system"));
        }
        let attach = AttachInfo {
            system: self.system.clone(),
            provider: self.provider.clone(),
            ranks,
        };
        let client = Client::with_attach(attach, PathBuf::new())?;
        *slot = Some(client.clone());
        Ok(client)
    }

    fn engine_call<T: daos_types::codec::Wire>(
        &self,
        rank: u32,
        opcode: Opcode,
        body: &impl daos_types::codec::Wire,
    ) -> Result<T> {
        let client = self.engine_client()?;
        let addr = client.service_addr(rank)?.to_vec();
        client
            .run(async |net| {
                // An engine that stops or dies will not answer: end the call when its member
                // state says so rather than at the RPC timeout.
                let call = std::pin::pin!(client.call(net, &addr, opcode, body, 1 << 20));
                let gone = std::pin::pin!(async {
                    while !matches!(
                        self.member_state(rank).as_deref(),
                        Some("stopped" | "errored")
                    ) {
                        net.sleep_until(std::time::Instant::now() + MEMBER_POLL)
                            .await;
                    }
                });
                match futures::future::select(call, gone).await {
                    futures::future::Either::Left((result, _)) => result,
                    futures::future::Either::Right(((), _)) => Err(Error::new(
                        Der::Unreach,
                        "the engine stopped during the call",
                    )),
                }
            })
            .map_err(|e| e.with_context(format!("rank {rank}")))
    }

    fn find_pool(&self, id: &str) -> Result<PoolRecord> {
        let id = EntityRef::parse(id)?;
        let pools = self.pools.lock().expect("pools lock");
        pools
            .iter()
            .find(|p| match &id {
                EntityRef::Uuid(u) => p.uuid == *u,
                EntityRef::Label(l) => p.label == *l,
            })
            .cloned()
            .ok_or_else(|| Error::new(Der::Nonexist, format!("pool {id} does not exist")))
    }

    fn pool_create(&self, req: PoolCreateReq) -> Result<PoolCreateResp> {
        daos_types::label::check_label(&req.label)?;
        if self
            .pools
            .lock()
            .expect("pools lock")
            .iter()
            .any(|p| p.label == req.label)
        {
            return Err(Error::new(
                Der::Exist,
                format!("a pool labelled {:?} exists", req.label),
            ));
        }
        let joined = self.joined();
        let chosen: Vec<Member> = if !req.ranks.is_empty() {
            req.ranks
                .iter()
                .map(|r| {
                    joined
                        .iter()
                        .find(|m| m.rank == *r)
                        .cloned()
                        .ok_or_else(|| Error::new(Der::Inval, format!("rank {r} has not joined")))
                })
                .collect::<Result<_>>()?
        } else if req.nranks > 0 {
            if req.nranks as usize > joined.len() {
                return Err(Error::new(
                    Der::Inval,
                    format!("{} ranks asked, {} joined", req.nranks, joined.len()),
                ));
            }
            joined[..req.nranks as usize].to_vec()
        } else {
            joined
        };
        if chosen.is_empty() {
            return Err(Error::new(Der::Unreach, "no engine has joined the system"));
        }
        let (scm, nvme) = if req.scm_bytes > 0 || req.nvme_bytes > 0 {
            (req.scm_bytes, req.nvme_bytes)
        } else if req.total_bytes > 0 {
            // DAOS's default tier ratio: 6% metadata, 94% data.
            let scm = req.total_bytes * 6 / 100;
            (scm, req.total_bytes - scm)
        } else {
            return Err(Error::new(
                Der::Inval,
                "pool size required (--size, or --scm-size/--nvme-size)",
            ));
        };
        let targets: u64 = chosen.iter().map(|m| m.targets.len() as u64).sum();
        let scm_per_target = (scm / targets).max(1 << 20);
        let nvme_per_target = (nvme / targets).div_ceil(4096) * 4096;
        if nvme_per_target == 0 {
            return Err(Error::new(Der::Inval, "pool size too small"));
        }
        let uuid = if req.uuid.is_empty() {
            Uuid::new_v4()
        } else {
            req.uuid
                .parse()
                .map_err(|_| Error::new(Der::Inval, format!("bad pool UUID {:?}", req.uuid)))?
        };
        let mut props = Props::new();
        props.set(prop::PO_LABEL, PropValue::Text(req.label.clone()));
        for p in &req.properties {
            let value = p.value.trim();
            let bad = || {
                Error::new(
                    Der::Inval,
                    format!("bad value {value:?} for pool property {:?}", p.name),
                )
            };
            match p.name.as_str() {
                "label" => {
                    if value != req.label {
                        return Err(Error::new(
                            Der::Inval,
                            "label property disagrees with the pool label",
                        ));
                    }
                }
                "rd_fac" => {
                    let rf: u64 = value.parse().map_err(|_| bad())?;
                    if rf > 4 {
                        return Err(bad());
                    }
                    props.set(prop::PO_REDUN_FAC, PropValue::Number(rf));
                }
                "svc_rf" => {
                    let rf: u64 = value.parse().map_err(|_| bad())?;
                    if rf > prop::PO_SVC_REDUN_FAC_MAX {
                        return Err(bad());
                    }
                    props.set(prop::PO_SVC_REDUN_FAC, PropValue::Number(rf));
                }
                "ec_cell_sz" => props.set(
                    prop::PO_EC_CELL_SZ,
                    PropValue::Number(daos_types::size::parse_size(value)?),
                ),
                "space_rb" => props.set(
                    prop::PO_SPACE_RB,
                    PropValue::Number(value.parse().map_err(|_| bad())?),
                ),
                "self_heal" => props.set(prop::PO_SELF_HEAL, PropValue::Text(value.to_string())),
                "reclaim" => props.set(prop::PO_RECLAIM, PropValue::Text(value.to_string())),
                other => {
                    return Err(Error::new(
                        Der::Inval,
                        format!("unknown pool property {other:?}"),
                    ))
                }
            }
        }
        // DAOS: `2 * svc_rf + 1` replicas, as many as the pool has engines for (an odd
        // number: a Raft group of 2k replicas survives no more losses than one of 2k - 1).
        let svc_rf = props
            .number(prop::PO_SVC_REDUN_FAC)
            .unwrap_or(prop::PO_SVC_REDUN_FAC_DEFAULT);
        props.set(prop::PO_SVC_REDUN_FAC, PropValue::Number(svc_rf));
        let nsvc = if req.nsvc == 0 {
            let n = (2 * svc_rf as usize + 1).min(chosen.len());
            n - (1 - n % 2)
        } else {
            req.nsvc as usize
        };
        if nsvc > chosen.len() {
            return Err(Error::new(
                Der::Inval,
                format!("--nsvc {nsvc} exceeds the {} pool ranks", chosen.len()),
            ));
        }
        let svc_ranks = service_ranks(&chosen, nsvc);
        let map = PoolMap {
            version: 1,
            ranks: chosen
                .iter()
                .map(|m| m.rank_entry(TargetState::UpIn))
                .collect(),
            base: None,
        };
        let owner = Credential {
            uid: 0,
            gid: 0,
            user: if req.user.is_empty() {
                "root".into()
            } else {
                req.user.clone()
            },
            group: if req.group.is_empty() {
                "root".into()
            } else {
                req.group.clone()
            },
        };
        let create = MgmtPoolCreateReq {
            pool: uuid,
            label: req.label.clone(),
            scm_per_target,
            nvme_per_target,
            svc_ranks: svc_ranks.clone(),
            map: WireMap(map),
            props: WireProps(props),
            owner,
        };
        let mut done = Vec::new();
        for member in &chosen {
            if let Err(err) =
                self.engine_call::<Empty>(member.rank, Opcode::MgmtPoolCreate, &create)
            {
                for rank in done {
                    let _ = self.engine_call::<Empty>(
                        rank,
                        Opcode::MgmtPoolDestroy,
                        &MgmtPoolDestroyReq {
                            pool: uuid,
                            force: Flag(true),
                        },
                    );
                }
                return Err(err);
            }
            done.push(member.rank);
        }
        let record = PoolRecord {
            uuid,
            label: req.label.clone(),
            ranks: chosen.iter().map(|m| m.rank).collect(),
            svc_ranks: svc_ranks.clone(),
            scm_bytes: scm_per_target * targets,
            nvme_bytes: nvme_per_target * targets,
        };
        // The pool is usable once its service replicas have elected a leader.
        let leader = match self.pool_leader(&record) {
            Ok(leader) => leader,
            Err(err) => {
                for rank in &record.ranks {
                    let _ = self.engine_call::<Empty>(
                        *rank,
                        Opcode::MgmtPoolDestroy,
                        &MgmtPoolDestroyReq {
                            pool: uuid,
                            force: Flag(true),
                        },
                    );
                }
                return Err(err);
            }
        };
        let mut pools = self.pools.lock().expect("pools lock");
        pools.push(record.clone());
        self.persist(&pools)?;
        tracing::info!(
            "pool {} ({}) created on ranks {:?}, service leader rank {leader}",
            uuid,
            req.label,
            record.ranks
        );
        Ok(PoolCreateResp {
            uuid: uuid.to_string(),
            svc_ldr: leader,
            svc_reps: svc_ranks,
            tgt_ranks: record.ranks.clone(),
            tier_bytes: vec![record.scm_bytes, record.nvme_bytes],
        })
    }

    fn pool_destroy(&self, req: PoolDestroyReq) -> Result<PoolDestroyResp> {
        let pool = self.find_pool(&req.id)?;
        let destroy = MgmtPoolDestroyReq {
            pool: pool.uuid,
            force: Flag(req.force || req.recursive),
        };
        for rank in &pool.ranks {
            match self.engine_call::<Empty>(*rank, Opcode::MgmtPoolDestroy, &destroy) {
                Ok(_) => {}
                Err(err) if err.der() == Der::Nonexist => {}
                Err(err) => return Err(err),
            }
        }
        let mut pools = self.pools.lock().expect("pools lock");
        pools.retain(|p| p.uuid != pool.uuid);
        self.persist(&pools)?;
        tracing::info!("pool {} ({}) destroyed", pool.uuid, pool.label);
        Ok(PoolDestroyResp {})
    }

    /// The pool service's leader: the replicas (its service ranks, run by openraft in the
    /// engines) each report the leader they know of; waits up to [`SVC_LEADER_WAIT`] for
    /// one to be elected (after pool create, or when the leader died). The leader replaces
    /// replicas on excluded engines by others (see the engine's `service` module), so when
    /// none of the recorded replicas knows a leader, the pool's other running engines are
    /// asked too; the replicas the leader reports are recorded.
    ///
    /// Errors: `-DER_NO_SERVICE` when no running replica knows a running leader in time.
    fn pool_leader(&self, pool: &PoolRecord) -> Result<u32> {
        let deadline = std::time::Instant::now() + SVC_LEADER_WAIT;
        loop {
            let joined = self.joined();
            let running = |rank: u32| joined.iter().any(|m| m.rank == rank);
            let recorded = self
                .pools
                .lock()
                .expect("pools lock")
                .iter()
                .find(|p| p.uuid == pool.uuid)
                .map_or_else(|| pool.svc_ranks.clone(), |p| p.svc_ranks.clone());
            let others = pool.ranks.iter().copied().filter(|r| !recorded.contains(r));
            let query = MgmtPoolQueryReq { pool: pool.uuid };
            let ask = |rank: u32| {
                self.engine_call::<MgmtPoolQueryReply>(rank, Opcode::MgmtPoolQuery, &query)
                    .inspect_err(|err| tracing::debug!("pool {}: rank {rank}: {err}", pool.label))
                    .ok()
            };
            for rank in recorded
                .iter()
                .copied()
                .chain(others)
                .filter(|r| running(*r))
            {
                let Some(reply) = ask(rank) else { continue };
                let leader = reply.leader;
                if leader == u32::MAX || !running(leader) {
                    continue;
                }
                // The leader's own answer names the current replicas.
                let from_leader = if leader == rank {
                    Some(reply)
                } else {
                    ask(leader)
                };
                if let Some(reply) = from_leader.filter(|r| r.leader == leader) {
                    self.record_svc_ranks(pool.uuid, reply.svc_ranks);
                }
                return Ok(leader);
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::new(
                    Der::NoService,
                    format!(
                        "pool {}: no service replica ({recorded:?}) knows a running leader",
                        pool.label
                    ),
                ));
            }
            std::thread::sleep(SVC_LEADER_POLL);
        }
    }

    /// Records a pool's service replicas as its leader reports them, when they changed.
    fn record_svc_ranks(&self, pool: Uuid, ranks: Vec<u32>) {
        if ranks.is_empty() {
            return;
        }
        let mut pools = self.pools.lock().expect("pools lock");
        let Some(record) = pools.iter_mut().find(|p| p.uuid == pool) else {
            return;
        };
        if record.svc_ranks == ranks {
            return;
        }
        tracing::info!(
            "pool {}: service replicas {:?} -> {ranks:?}",
            record.label,
            record.svc_ranks
        );
        record.svc_ranks = ranks;
        if let Err(err) = self.persist(&pools) {
            tracing::error!("pool {pool}: recording its service replicas: {err}");
        }
    }

    /// Sends a request to the pool service leader, finding it again if leadership moves
    /// (`-DER_NOTLEADER`) or the leader stops answering, for up to [`SVC_LEADER_WAIT`].
    fn svc_call<T: daos_types::codec::Wire>(
        &self,
        pool: &PoolRecord,
        opcode: Opcode,
        body: &impl daos_types::codec::Wire,
    ) -> Result<T> {
        let deadline = std::time::Instant::now() + SVC_LEADER_WAIT;
        // One operation key for every attempt (see `Client::call_service`).
        let keyed = daos_proto::msg::SvcKeyedReq::wrap(Uuid::new_v4(), opcode, body);
        loop {
            let leader = self.pool_leader(pool)?;
            match self.engine_call(leader, Opcode::SvcKeyed, &keyed) {
                Err(err)
                    if matches!(
                        err.der(),
                        Der::Notleader | Der::Notreplica | Der::Unreach | Der::Timedout
                    ) && std::time::Instant::now() < deadline =>
                {
                    tracing::debug!("pool {}: {err}; finding the leader again", pool.label);
                    std::thread::sleep(SVC_LEADER_POLL);
                }
                outcome => return outcome,
            }
        }
    }

    /// Changes one rank's target states in a pool's map through its leader.
    fn pool_update(
        &self,
        pool: &PoolRecord,
        op: u32,
        rank: u32,
        targets: Vec<u32>,
    ) -> Result<MgmtPoolUpdateReply> {
        if !pool.ranks.contains(&rank) {
            return Err(Error::new(
                Der::Nonexist,
                format!("rank {rank} is not in pool {}", pool.label),
            ));
        }
        self.leader_update(
            pool,
            MgmtPoolUpdateReq {
                pool: pool.uuid,
                op,
                rank,
                targets,
                map_version: 0,
                rank_entry: Blob(Vec::new()),
            },
        )
    }

    /// Sends a pool map change to the pool service leader; returns the map after it.
    fn leader_update(
        &self,
        pool: &PoolRecord,
        req: MgmtPoolUpdateReq,
    ) -> Result<MgmtPoolUpdateReply> {
        self.svc_call(pool, Opcode::MgmtPoolUpdate, &req)
    }

    /// Adds engine `rank` to `pool` (`dmg pool extend`): creates the pool's storage (at the
    /// pool's size per target) and a copy of its service on the engine, then has the leader
    /// add the engine to the map and start integrating its targets; the rebuild that follows
    /// moves there the shards placement now gives it (the map's base marks them rebuilding
    /// until it finishes). The new engine takes the leader's containers and handles with the
    /// map, as a returning engine does.
    ///
    /// Errors: `-DER_EXIST` if the rank is already in the pool; `-DER_NONEXIST` if it is not
    /// a joined engine of this system.
    fn pool_extend(&self, pool: &PoolRecord, rank: u32) -> Result<MgmtPoolUpdateReply> {
        if pool.ranks.contains(&rank) {
            return Err(Error::new(
                Der::Exist,
                format!("rank {rank} is already in pool {}", pool.label),
            ));
        }
        let member = self
            .joined()
            .into_iter()
            .find(|m| m.rank == rank)
            .ok_or_else(|| {
                Error::new(
                    Der::Nonexist,
                    format!("rank {rank} is not a joined engine of the system"),
                )
            })?;
        let map = self.pool_space(pool)?.map;
        let targets = (map.target_count() as u64).max(1);
        let (scm_per_target, nvme_per_target) =
            (pool.scm_bytes / targets, pool.nvme_bytes / targets);
        let create = MgmtPoolCreateReq {
            pool: pool.uuid,
            label: pool.label.clone(),
            scm_per_target,
            nvme_per_target,
            svc_ranks: pool.svc_ranks.clone(),
            // The map before the extension: the engine then counts as returning when the
            // leader's next map reaches it, and takes the leader's state with it.
            map: WireMap(map),
            props: WireProps(Props::new()),
            owner: Credential {
                uid: 0,
                gid: 0,
                user: "root".into(),
                group: "root".into(),
            },
        };
        self.engine_call::<Empty>(rank, Opcode::MgmtPoolCreate, &create)?;
        let entry = member.rank_entry(TargetState::New);
        let mut e = daos_types::codec::Encoder::new();
        e.put(&entry);
        let reply = self.leader_update(
            pool,
            MgmtPoolUpdateReq {
                pool: pool.uuid,
                op: POOL_UPDATE_EXTEND,
                rank,
                targets: Vec::new(),
                map_version: 0,
                rank_entry: Blob(e.finish()),
            },
        );
        let reply = match reply {
            Ok(reply) => reply,
            Err(err) => {
                let _ = self.engine_call::<Empty>(
                    rank,
                    Opcode::MgmtPoolDestroy,
                    &MgmtPoolDestroyReq {
                        pool: pool.uuid,
                        force: Flag(true),
                    },
                );
                return Err(err);
            }
        };
        let mut pools = self.pools.lock().expect("pools lock");
        if let Some(record) = pools.iter_mut().find(|p| p.uuid == pool.uuid) {
            record.ranks.push(rank);
            let added = member.targets.len() as u64;
            record.scm_bytes += scm_per_target * added;
            record.nvme_bytes += nvme_per_target * added;
        }
        self.persist(&pools)?;
        Ok(reply)
    }

    /// Starts rebuilding `pool` for `map` if some target needs it, replacing any job for an
    /// older map (DAOS starts a rebuild for every map change that excludes, drains or
    /// reintegrates). A map no newer than the last job's is ignored: replies to concurrent
    /// map changes can arrive out of order.
    pub fn start_rebuild(self: &Arc<Self>, pool: &PoolRecord, map: &PoolMap) {
        if !needs_rebuild(map) {
            return;
        }
        let id = {
            let mut jobs = self.rebuilds.lock().expect("rebuilds lock");
            if jobs
                .get(&pool.uuid)
                .is_some_and(|j| j.version >= map.version)
            {
                return;
            }
            let id = jobs.get(&pool.uuid).map_or(1, |j| j.id + 1);
            jobs.insert(
                pool.uuid,
                RebuildJob {
                    id,
                    version: map.version,
                    reported: map.version,
                    state: "busy",
                    progress: RebuildStatus {
                        map_version: map.version,
                        state: REBUILD_BUSY,
                        ..RebuildStatus::default()
                    },
                    started: std::time::Instant::now(),
                    ended: None,
                },
            );
            id
        };
        let ms = self.clone();
        let record = pool.clone();
        let map = map.clone();
        let drive = move || ms.drive_rebuild(&record, map, id);
        // On the runtime's blocking pool when there is one: its idle threads (kept for
        // `BLOCKING_KEEP_ALIVE`) already hold fabric endpoints, whose opening costs a few
        // hundred milliseconds on a busy machine, which a short rebuild would wait for.
        let runtime = self.runtime.lock().expect("runtime lock").clone();
        let spawned = match runtime {
            Some(handle) => {
                drop(handle.spawn_blocking(drive));
                Ok(())
            }
            None => std::thread::Builder::new()
                .name(format!("rebuild-{}", pool.label))
                .spawn(drive)
                .map(drop),
        };
        if let Err(err) = spawned {
            tracing::error!(
                "pool {}: cannot start the rebuild driver: {err}",
                pool.label
            );
        }
    }

    /// Whether job `id` is still the pool's current one.
    fn rebuild_current(&self, pool: &Uuid, id: u64) -> bool {
        self.rebuilds
            .lock()
            .expect("rebuilds lock")
            .get(pool)
            .is_some_and(|j| j.id == id && j.state == "busy")
    }

    /// Applies `change` to job `id` of `pool`, if it is still the pool's job.
    fn update_job(&self, pool: &Uuid, id: u64, change: impl FnOnce(&mut RebuildJob)) {
        let mut jobs = self.rebuilds.lock().expect("rebuilds lock");
        if let Some(job) = jobs.get_mut(pool).filter(|j| j.id == id) {
            change(job);
        }
    }

    fn rebuild_finish(&self, pool: &Uuid, id: u64, state: &'static str, progress: RebuildStatus) {
        self.update_job(pool, id, |job| {
            job.state = state;
            job.progress = progress;
            job.ended = Some(std::time::Instant::now());
        });
    }

    /// Runs one rebuild job in passes. Each pass prepares every live engine of the pool (so
    /// each knows the pass's handle before any pushes to it), starts them, polls their
    /// progress, and once every one reports done records `rebuild done` in the map through
    /// the leader. Recording can make more shards fillable (a returning engine's last copy
    /// becomes readable, so its group-mates can be filled from it), so a pass that moved
    /// objects is followed by another on the new map, recorded only if it moves something
    /// too, up to [`REBUILD_PASSES`]. A later pass that moves nothing and finds every group
    /// complete while every target is in records the map clean, dropping its base chain. A failed attempt is retried; a newer map change or `dmg
    /// pool rebuild stop` ends the job. Progress and the final status sum the passes.
    fn drive_rebuild(self: Arc<Self>, pool: &PoolRecord, mut map: PoolMap, id: u64) {
        let mut earlier: Option<RebuildStatus> = None;
        for pass in 1..=REBUILD_PASSES {
            let Some((done, next)) = self.rebuild_pass(pool, &map, id, pass, earlier.as_ref())
            else {
                return;
            };
            let total = match earlier.take() {
                Some(e) => RebuildStatus::combine([e, done.clone()]),
                None => done.clone(),
            };
            match next {
                // Another pass if this one moved data (more may be fillable now), or if
                // every target is in again and a scan may find the base chain unneeded.
                Some(next)
                    if pass < REBUILD_PASSES
                        && (done.objects > 0 || (next.all_in() && next.base.is_some())) =>
                {
                    map = next;
                    self.update_job(&pool.uuid, id, |job| {
                        job.version = map.version;
                        job.progress = total.clone();
                    });
                    earlier = Some(total);
                }
                _ => {
                    self.rebuild_finish(&pool.uuid, id, "done", total);
                    return;
                }
            }
        }
    }

    /// One pass of job `id` for `map` (see [`Ms::drive_rebuild`]). Returns its
    /// status and the map after recording it (`None` for a later pass that moved nothing and
    /// was not recorded), or `None` when the job ended (replaced, or failed and finished).
    fn rebuild_pass(
        &self,
        pool: &PoolRecord,
        map: &PoolMap,
        id: u64,
        pass: u32,
        earlier: Option<&RebuildStatus>,
    ) -> Option<(RebuildStatus, Option<PoolMap>)> {
        let engines: Vec<u32> = map
            .ranks
            .iter()
            .filter(|r| !r.is_excluded())
            .map(|r| r.rank)
            .collect();
        let handle = Uuid::new_v4();
        let request = |op: u8| MgmtRebuildReq {
            pool: pool.uuid,
            op,
            map_version: map.version,
            handle,
        };
        tracing::info!(
            "pool {}: rebuild pass {pass} for map version {} on ranks {engines:?}",
            pool.label,
            map.version
        );
        let mut last = RebuildStatus::default();
        for attempt in 1..=REBUILD_ATTEMPTS {
            if !self.rebuild_current(&pool.uuid, id) {
                return None;
            }
            let outcome = (|| -> Result<RebuildStatus> {
                for op in [REBUILD_PREPARE, REBUILD_START] {
                    for &rank in &engines {
                        self.engine_call::<RebuildStatus>(rank, Opcode::MgmtRebuild, &request(op))?;
                    }
                }
                let started = std::time::Instant::now();
                loop {
                    std::thread::sleep(rebuild_poll(started.elapsed()));
                    if !self.rebuild_current(&pool.uuid, id) {
                        return Ok(RebuildStatus::default());
                    }
                    let mut parts = Vec::with_capacity(engines.len());
                    for &rank in &engines {
                        let mut s: RebuildStatus =
                            self.engine_call(rank, Opcode::MgmtRebuild, &request(REBUILD_QUERY))?;
                        if !s.error.is_empty() {
                            s.error = format!("rank {rank}: {}", s.error);
                        }
                        parts.push(s);
                    }
                    let total = RebuildStatus::combine(parts);
                    let shown = match earlier {
                        Some(e) => RebuildStatus::combine([e.clone(), total.clone()]),
                        None => total.clone(),
                    };
                    self.update_job(&pool.uuid, id, |job| job.progress = shown);
                    match total.state {
                        REBUILD_DONE => return Ok(total),
                        REBUILD_FAILED => {
                            return Err(Error::new(
                                Der::from_value(total.der as i32).unwrap_or(Der::Misc),
                                total.error,
                            ))
                        }
                        // An engine without the job (restarted, or stopped by hand while
                        // this job is current): start the attempt again.
                        REBUILD_IDLE | REBUILD_STOPPED => {
                            return Err(Error::new(
                                Der::Again,
                                "an engine of the pool has no running rebuild job",
                            ))
                        }
                        _ => {}
                    }
                }
            })();
            match outcome {
                Ok(done) => {
                    if !self.rebuild_current(&pool.uuid, id) {
                        return None;
                    }
                    if pass > 1 && done.objects == 0 {
                        if done.unclean == 0 {
                            self.record_clean(pool, map);
                        }
                        return Some((done, None));
                    }
                    return match self.record_rebuild(pool, map, POOL_UPDATE_REBUILD_DONE) {
                        Ok(reply) => {
                            tracing::info!(
                                "pool {}: rebuild pass {pass} of map version {} done ({} objects, {} records, {} bytes); map version {}",
                                pool.label,
                                map.version,
                                done.objects,
                                done.records,
                                done.bytes,
                                reply.map_version
                            );
                            let moved = reply.map_version != map.version;
                            Some((done, moved.then_some(reply.map.0)))
                        }
                        // The map moved on: the driver of the newer change takes over.
                        Err(err) => {
                            tracing::info!(
                                "pool {}: rebuild result not recorded: {err}",
                                pool.label
                            );
                            self.rebuild_finish(
                                &pool.uuid,
                                id,
                                "failed",
                                RebuildStatus {
                                    der: err.rc().unsigned_abs(),
                                    error: err.to_string(),
                                    ..done
                                },
                            );
                            None
                        }
                    };
                }
                Err(err) => {
                    tracing::warn!(
                        "pool {}: rebuild attempt {attempt} for map version {} failed: {err}",
                        pool.label,
                        map.version
                    );
                    last = RebuildStatus {
                        map_version: map.version,
                        state: REBUILD_FAILED,
                        der: err.rc().unsigned_abs(),
                        error: err.to_string(),
                        ..RebuildStatus::default()
                    };
                    std::thread::sleep(REBUILD_POLL * 5);
                }
            }
        }
        self.rebuild_finish(&pool.uuid, id, "failed", last);
        None
    }

    /// Records the outcome `op` (`POOL_UPDATE_REBUILD_DONE` or `_CLEAN`) of a pass over `map`
    /// through the pool service leader, which refuses it with `-DER_STALE` if the map moved on.
    fn record_rebuild(
        &self,
        pool: &PoolRecord,
        map: &PoolMap,
        op: u32,
    ) -> Result<MgmtPoolUpdateReply> {
        self.leader_update(
            pool,
            MgmtPoolUpdateReq {
                pool: pool.uuid,
                op,
                rank: 0,
                targets: Vec::new(),
                map_version: map.version,
                rank_entry: Blob(Vec::new()),
            },
        )
    }

    /// Tells the leader that a pass over `map` found every group complete, so that a map
    /// with every target `UpIn` drops its base chain (`POOL_UPDATE_REBUILD_CLEAN`). Best
    /// effort: the chain is only kept longer if this fails.
    fn record_clean(&self, pool: &PoolRecord, map: &PoolMap) {
        match self.record_rebuild(pool, map, POOL_UPDATE_REBUILD_CLEAN) {
            Ok(reply) => tracing::info!(
                "pool {}: every group complete at map version {}; map version {}",
                pool.label,
                map.version,
                reply.map_version
            ),
            Err(err) => tracing::info!("pool {}: clean map not recorded: {err}", pool.label),
        }
    }

    /// `dmg pool rebuild stop`: stops the running job on every engine (the map keeps its
    /// `Down`/`Up` targets; `dmg pool rebuild start` resumes).
    fn stop_rebuild(&self, pool: &PoolRecord) -> Result<u32> {
        let job = {
            let mut jobs = self.rebuilds.lock().expect("rebuilds lock");
            let Some(job) = jobs.get_mut(&pool.uuid).filter(|j| j.state == "busy") else {
                return Err(Error::new(Der::Nonexist, "no rebuild is running"));
            };
            job.state = "stopped";
            job.progress.state = REBUILD_STOPPED;
            job.ended = Some(std::time::Instant::now());
            job.clone()
        };
        for rank in &pool.ranks {
            let req = MgmtRebuildReq {
                pool: pool.uuid,
                op: REBUILD_STOP,
                map_version: job.version,
                handle: Uuid::nil(),
            };
            if let Err(err) = self.engine_call::<RebuildStatus>(*rank, Opcode::MgmtRebuild, &req) {
                tracing::debug!("rank {rank}: rebuild stop: {err}");
            }
        }
        Ok(job.version)
    }

    /// DAOS's `self_heal` (exclude): a rank that died is excluded from every pool it
    /// serves, so that clients stop waiting for it and rebuild can start.
    pub fn self_heal(self: &Arc<Self>, rank: u32) {
        let pools = self.pools.lock().expect("pools lock").clone();
        for pool in pools.iter().filter(|p| p.ranks.contains(&rank)) {
            match self.pool_update(pool, POOL_UPDATE_EXCLUDE, rank, Vec::new()) {
                Ok(reply) => {
                    tracing::info!(
                        "pool {}: rank {rank} excluded, map version {}",
                        pool.label,
                        reply.map_version
                    );
                    self.start_rebuild(pool, &reply.map.0);
                }
                Err(err) => tracing::error!("pool {}: excluding rank {rank}: {err}", pool.label),
            }
        }
    }

    fn pool_space(&self, pool: &PoolRecord) -> Result<PoolSpace> {
        let leader = self.pool_leader(pool)?;
        let joined = self.joined();
        let mut targets = Vec::new();
        let mut handles = 0;
        let mut map = PoolMap::default();
        let mut spaces = std::collections::HashMap::new();
        let mut svc_reps = pool.svc_ranks.clone();
        for rank in &pool.ranks {
            if !joined.iter().any(|m| m.rank == *rank) {
                continue;
            }
            let reply: MgmtPoolQueryReply = match self.engine_call(
                *rank,
                Opcode::MgmtPoolQuery,
                &MgmtPoolQueryReq { pool: pool.uuid },
            ) {
                Ok(reply) => reply,
                // An engine that died since `joined` was read: its targets show no space
                // (and their state, from the leader's map); only the leader must answer.
                Err(err) if *rank != leader => {
                    tracing::debug!(
                        "pool {}: rank {rank} did not answer a query: {err}",
                        pool.label
                    );
                    continue;
                }
                Err(err) => return Err(err),
            };
            if *rank == leader {
                handles = reply.handles;
                map = reply.map.0.clone();
                svc_reps = reply.svc_ranks.clone();
            }
            for t in reply.targets {
                spaces.insert((*rank, t.target), t);
            }
        }
        for rank in &map.ranks {
            for t in &rank.targets {
                let space = spaces.get(&(rank.rank, t.index));
                targets.push(TargetSummary {
                    rank: rank.rank,
                    target: t.index,
                    state: t.state.name().to_lowercase(),
                    scm_total: space.map_or(0, |s| s.scm_total),
                    scm_free: space.map_or(0, |s| s.scm_free),
                    nvme_total: space.map_or(0, |s| s.nvme_total),
                    nvme_free: space.map_or(0, |s| s.nvme_free),
                });
            }
        }
        let disabled = map
            .ranks
            .iter()
            .flat_map(|r| &r.targets)
            .filter(|t| t.state.is_excluded())
            .count() as u32;
        let summary = PoolSummary {
            uuid: pool.uuid.to_string(),
            label: pool.label.clone(),
            svc_reps,
            scm_total: targets.iter().map(|t| t.scm_total).sum(),
            scm_free: targets.iter().map(|t| t.scm_free).sum(),
            nvme_total: targets.iter().map(|t| t.nvme_total).sum(),
            nvme_free: targets.iter().map(|t| t.nvme_free).sum(),
            state: if disabled > 0 { "Degraded" } else { "Ready" }.into(),
            targets_total: targets.len() as u32,
            targets_disabled: disabled,
            error: String::new(),
        };
        Ok(PoolSpace {
            summary,
            targets,
            handles,
            map,
            leader,
        })
    }

    fn pool_list(&self) -> Result<PoolListResp> {
        let pools = self.pools.lock().expect("pools lock").clone();
        let mut out = Vec::new();
        for pool in &pools {
            match self.pool_space(pool) {
                Ok(space) => out.push(space.summary),
                Err(err) => out.push(PoolSummary {
                    uuid: pool.uuid.to_string(),
                    label: pool.label.clone(),
                    svc_reps: pool.svc_ranks.clone(),
                    state: "Unknown".into(),
                    error: err.to_string(),
                    ..PoolSummary::default()
                }),
            }
        }
        Ok(PoolListResp { pools: out })
    }

    fn pool_query(&self, req: PoolQueryReq) -> Result<PoolQueryResp> {
        let pool = self.find_pool(&req.id)?;
        // The job's state is read before the map: a job reported done has recorded its
        // passes, so the map read next includes them.
        let rebuild = match self.rebuilds.lock().expect("rebuilds lock").get(&pool.uuid) {
            None => PoolRebuildStatus {
                state: "idle".into(),
                ..PoolRebuildStatus::default()
            },
            Some(job) => PoolRebuildStatus {
                state: job.state.into(),
                map_version: job.reported,
                objects: job.progress.objects,
                records: job.progress.records,
                bytes: job.progress.bytes,
                scanned: job.progress.scanned,
                reclaimed: job.progress.reclaimed,
                status: job.progress.der,
                error: job.progress.error.clone(),
                seconds: job
                    .ended
                    .unwrap_or_else(std::time::Instant::now)
                    .duration_since(job.started)
                    .as_secs_f64(),
            },
        };
        let PoolSpace {
            summary,
            targets,
            handles,
            map,
            leader,
        } = self.pool_space(&pool)?;
        let min = |f: fn(&TargetSummary) -> u64| targets.iter().map(f).min().unwrap_or(0);
        let max = |f: fn(&TargetSummary) -> u64| targets.iter().map(f).max().unwrap_or(0);
        Ok(PoolQueryResp {
            scm_min_free: min(|t| t.scm_free),
            scm_max_free: max(|t| t.scm_free),
            nvme_min_free: min(|t| t.nvme_free),
            nvme_max_free: max(|t| t.nvme_free),
            pool: Some(summary),
            targets,
            map_version: map.version,
            leader,
            connected_handles: handles,
            rebuild_state: rebuild.state.clone(),
            rebuild: Some(rebuild),
            enabled_ranks: map
                .ranks
                .iter()
                .filter(|r| !r.is_excluded())
                .map(|r| r.rank)
                .collect(),
            disabled_ranks: map
                .ranks
                .iter()
                .filter(|r| r.is_excluded())
                .map(|r| r.rank)
                .collect(),
        })
    }

    fn attach_info(&self, req: GetAttachInfoReq) -> Result<GetAttachInfoResp> {
        if !req.system.is_empty() && req.system != self.system {
            return Err(Error::new(
                Der::Inval,
                format!("this is system {:?}, not {:?}", self.system, req.system),
            ));
        }
        Ok(GetAttachInfoResp {
            system: self.system.clone(),
            provider: self.provider.clone(),
            ranks: self.joined().iter().map(|m| self.rank_info(m)).collect(),
            access_points: vec![self.address.clone()],
        })
    }

    pub(crate) fn rank_info(&self, m: &Member) -> RankInfo {
        RankInfo {
            rank: m.rank,
            state: m.state.clone(),
            address: m.owner.clone().unwrap_or_else(|| self.address.clone()),
            fabric_uri: m.service.iter().map(|b| format!("{b:02x}")).collect(),
            targets: m.targets.len() as u32,
            host: m.host.clone(),
            target_uris: m.targets.clone(),
            service_uri: m.service.clone(),
            error: m.error.clone(),
            swim_addr: self
                .launch
                .lock()
                .expect("launch lock")
                .get(&m.rank)
                .and_then(|(config, _)| daos_swim::member_addr(&config.node, config.port).ok())
                .map(|a| a.to_string())
                .unwrap_or_default(),
        }
    }

    fn pool_update_cmd(self: &Arc<Self>, req: PoolUpdateReq) -> Result<PoolUpdateResp> {
        let pool = self.find_pool(&req.id)?;
        match req.op.as_str() {
            "rebuild_stop" => {
                let version = self.stop_rebuild(&pool)?;
                return Ok(PoolUpdateResp {
                    map_version: version,
                });
            }
            "rebuild_start" => {
                let map = self.pool_space(&pool)?.map;
                if !needs_rebuild(&map) {
                    return Err(Error::new(
                        Der::Inval,
                        "no target of the pool needs rebuild",
                    ));
                }
                if let Some(job) = self
                    .rebuilds
                    .lock()
                    .expect("rebuilds lock")
                    .get_mut(&pool.uuid)
                {
                    if job.state == "busy" {
                        return Err(Error::new(Der::Busy, "a rebuild is already running"));
                    }
                    // Let start_rebuild replace it.
                    job.version = 0;
                }
                self.start_rebuild(&pool, &map);
                return Ok(PoolUpdateResp {
                    map_version: map.version,
                });
            }
            "extend" => {
                let reply = self.pool_extend(&pool, req.rank)?;
                let pool = self.find_pool(&req.id)?;
                self.start_rebuild(&pool, &reply.map.0);
                tracing::info!(
                    "pool {}: extended with rank {}, map version {}",
                    pool.label,
                    req.rank,
                    reply.map_version
                );
                return Ok(PoolUpdateResp {
                    map_version: reply.map_version,
                });
            }
            _ => {}
        }
        let op = match req.op.as_str() {
            "exclude" => POOL_UPDATE_EXCLUDE,
            "drain" => POOL_UPDATE_DRAIN,
            "reintegrate" => POOL_UPDATE_REINTEGRATE,
            other => {
                return Err(Error::new(
                    Der::Inval,
                    format!("unknown pool update {other:?}"),
                ))
            }
        };
        let reply = self.pool_update(&pool, op, req.rank, req.targets)?;
        self.start_rebuild(&pool, &reply.map.0);
        tracing::info!(
            "pool {}: {} rank {}, map version {}",
            pool.label,
            req.op,
            req.rank,
            reply.map_version
        );
        Ok(PoolUpdateResp {
            map_version: reply.map_version,
        })
    }

    fn pool_find(&self, req: PoolFindReq) -> Result<PoolFindResp> {
        let pool = self.find_pool(&req.id)?;
        Ok(PoolFindResp {
            uuid: pool.uuid.to_string(),
            label: pool.label,
            svc_ranks: pool.svc_ranks,
        })
    }
}

/// The gRPC face of the management service.
#[derive(Clone)]
pub struct MgmtService(pub Arc<Ms>);

#[tonic::async_trait]
impl MgmtSvc for MgmtService {
    async fn system_query(
        &self,
        _: Request<SystemQueryReq>,
    ) -> std::result::Result<Response<SystemQueryResp>, Status> {
        let ms = &self.0;
        ms.require_manager().map_err(status)?;
        let members = ms
            .members
            .lock()
            .expect("members lock")
            .iter()
            .map(|m| ms.rank_info(m))
            .collect();
        Ok(Response::new(SystemQueryResp {
            system: ms.system.clone(),
            members,
            provider: ms.provider.clone(),
        }))
    }

    async fn system_stop(
        &self,
        req: Request<SystemRanksReq>,
    ) -> std::result::Result<Response<SystemRanksResp>, Status> {
        let req = req.into_inner();
        if !req.local {
            self.0.require_manager().map_err(status)?;
        }
        let results = self
            .0
            .system_stop(req.ranks, req.local, req.force, req.incarnation)
            .await;
        Ok(Response::new(SystemRanksResp { results }))
    }

    async fn system_start(
        &self,
        req: Request<SystemRanksReq>,
    ) -> std::result::Result<Response<SystemRanksResp>, Status> {
        let req = req.into_inner();
        if !req.local {
            self.0.require_manager().map_err(status)?;
        }
        let results = self.0.system_start(req.ranks, req.local).await;
        Ok(Response::new(SystemRanksResp { results }))
    }

    async fn pool_create(
        &self,
        req: Request<PoolCreateReq>,
    ) -> std::result::Result<Response<PoolCreateResp>, Status> {
        let ms = self.0.clone();
        let req = req.into_inner();
        blocking(move || {
            ms.require_manager()?;
            ms.pool_create(req)
        })
        .await
        .map(Response::new)
    }

    async fn pool_destroy(
        &self,
        req: Request<PoolDestroyReq>,
    ) -> std::result::Result<Response<PoolDestroyResp>, Status> {
        let ms = self.0.clone();
        let req = req.into_inner();
        blocking(move || {
            ms.require_manager()?;
            ms.pool_destroy(req)
        })
        .await
        .map(Response::new)
    }

    async fn pool_list(
        &self,
        _: Request<PoolListReq>,
    ) -> std::result::Result<Response<PoolListResp>, Status> {
        let ms = self.0.clone();
        blocking(move || {
            ms.require_manager()?;
            ms.pool_list()
        })
        .await
        .map(Response::new)
    }

    async fn pool_query(
        &self,
        req: Request<PoolQueryReq>,
    ) -> std::result::Result<Response<PoolQueryResp>, Status> {
        let ms = self.0.clone();
        let req = req.into_inner();
        blocking(move || {
            ms.require_manager()?;
            ms.pool_query(req)
        })
        .await
        .map(Response::new)
    }

    async fn get_attach_info(
        &self,
        req: Request<GetAttachInfoReq>,
    ) -> std::result::Result<Response<GetAttachInfoResp>, Status> {
        self.0.require_manager().map_err(status)?;
        self.0
            .attach_info(req.into_inner())
            .map(Response::new)
            .map_err(status)
    }

    async fn pool_update(
        &self,
        req: Request<PoolUpdateReq>,
    ) -> std::result::Result<Response<PoolUpdateResp>, Status> {
        let ms = self.0.clone();
        let req = req.into_inner();
        blocking(move || {
            ms.require_manager()?;
            ms.pool_update_cmd(req)
        })
        .await
        .map(Response::new)
    }

    async fn pool_find(
        &self,
        req: Request<PoolFindReq>,
    ) -> std::result::Result<Response<PoolFindResp>, Status> {
        self.0.require_manager().map_err(status)?;
        self.0
            .pool_find(req.into_inner())
            .map(Response::new)
            .map_err(status)
    }

    async fn join(&self, req: Request<JoinReq>) -> std::result::Result<Response<JoinResp>, Status> {
        self.0
            .join(req.into_inner())
            .map(Response::new)
            .map_err(status)
    }

    async fn member_update(
        &self,
        req: Request<MemberUpdateReq>,
    ) -> std::result::Result<Response<MemberUpdateResp>, Status> {
        self.0
            .member_update(req.into_inner())
            .map(|()| Response::new(MemberUpdateResp {}))
            .map_err(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(rank: u32, host: &str) -> Member {
        Member {
            rank,
            host: host.into(),
            state: "joined".into(),
            service: Vec::new(),
            targets: Vec::new(),
            error: String::new(),
            swim: 0,
            owner: None,
        }
    }

    #[test]
    fn service_replicas_spread_over_fault_domains() {
        // Two hosts of two engines, one of one: one replica per host first.
        let members = [
            member(0, "/a"),
            member(1, "/a"),
            member(2, "/b"),
            member(3, "/b"),
            member(4, "/c"),
        ];
        assert_eq!(service_ranks(&members, 3), vec![0, 2, 4]);
        assert_eq!(service_ranks(&members, 5), vec![0, 2, 4, 1, 3]);
        assert_eq!(service_ranks(&members, 1), vec![0]);
        // One host: rank order.
        let one: Vec<Member> = (0..4).map(|r| member(r, "/a")).collect();
        assert_eq!(service_ranks(&one, 3), vec![0, 1, 2]);
    }
}
