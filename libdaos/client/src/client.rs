//! The client library instance: what `daos_init` sets up.
//!
//! A client asks the local agent (through its socket, found as DAOS clients find it) for the
//! system's attach info: provider and the fabric addresses of every engine. It opens the
//! fabric once; every thread that makes blocking calls gets its own endpoint, and every event
//! queue has its own, so calls from many threads never contend on one completion queue.

use daos_control::agent::{call_blocking, METHOD_GET_ATTACH_INFO, METHOD_POOL_FIND};
use daos_control::mgmt::{GetAttachInfoReq, GetAttachInfoResp, PoolFindReq, PoolFindResp};
use daos_fabric::{rpc, Fabric, NetContext};
use daos_proto::header::decode_reply;
use daos_proto::msg::Credential;
use daos_proto::{header, Opcode, RequestHeader};
use daos_types::codec::{Decoder, Wire};
use daos_types::{Der, Error, Hlc, Result, Uuid};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long [`Client::call_service`] keeps looking for a pool service leader: long enough
/// for the replicas to notice a dead leader and elect another (a few seconds).
pub const SVC_RETRY: Duration = Duration::from_secs(30);
/// How long [`Client::call_service`] waits for one replica before trying the next: a dead
/// leader's address does not refuse calls at once over tcp. The pool service's calls take
/// milliseconds, or up to 5 s when the leader waits for a dead engine not yet excluded; a
/// change whose answer is lost (the leader died after taking it) is sent again to the next
/// leader under the same operation key, which answers what the first attempt did.
pub const SVC_ATTEMPT: Duration = Duration::from_secs(10);
/// Pause between rounds over a pool's service replicas while none leads.
pub const SVC_ROUND_PAUSE: Duration = Duration::from_millis(200);

/// One engine as the client knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankAttach {
    /// Rank.
    pub rank: u32,
    /// Service endpoint address.
    pub service: Vec<u8>,
    /// Target endpoint addresses.
    pub targets: Vec<Vec<u8>>,
}

/// What the agent tells a client about the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachInfo {
    /// System name.
    pub system: String,
    /// Fabric provider.
    pub provider: String,
    /// Engines.
    pub ranks: Vec<RankAttach>,
}

/// Decodes a hex fabric address from the control plane.
fn unhex(text: &str) -> Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        return Err(Error::new(Der::Proto, "bad fabric address from the agent"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| Error::new(Der::Proto, "bad fabric address"))
        })
        .collect()
}

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_NETS: RefCell<Vec<(u64, Arc<NetContext>)>> = const { RefCell::new(Vec::new()) };
}

/// A connected client library instance.
pub struct Client {
    id: u64,
    attach: AttachInfo,
    fabric: Arc<Fabric>,
    node: Option<String>,
    hlc: Hlc,
    cred: Credential,
    timeout_ms: AtomicU64,
    agent: PathBuf,
}

fn credential() -> Credential {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name);
    let group = nix::unistd::Group::from_gid(gid)
        .ok()
        .flatten()
        .map_or_else(|| gid.to_string(), |g| g.name);
    Credential {
        uid: uid.as_raw(),
        gid: gid.as_raw(),
        user,
        group,
    }
}

/// Whether a tcp address (`struct sockaddr_in`) is on the loopback network.
// sin_family is in host byte order by definition, so reading it natively is right here.
#[allow(clippy::host_endian_bytes)]
fn is_loopback(addr: &[u8]) -> bool {
    addr.len() >= 8 && u16::from_ne_bytes([addr[0], addr[1]]) == 2 && addr[4] == 127
}

impl Client {
    /// Connects through the local `daos_agent` (`daos_init`).
    ///
    /// Looks for the agent socket in `$DAOS_AGENT_DRPC_DIR`, then `/var/run/daos_agent`, then
    /// the per-user runtime directory. The system is `$DAOS_SYSTEM` or the default.
    ///
    /// Errors: `-DER_AGENT_COMM` when no agent answers; `-DER_HG` when the fabric cannot open.
    pub fn connect() -> Result<Arc<Client>> {
        Self::connect_with_agent(None)
    }

    /// Connects through the agent socket at `agent`, or the usual places when `None`.
    ///
    /// Errors: as [`Client::connect`].
    pub fn connect_with_agent(agent: Option<PathBuf>) -> Result<Arc<Client>> {
        let candidates = match agent {
            Some(path) => vec![path],
            None => daos_control::paths::agent_socket_candidates(),
        };
        let agent = candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
            Error::new(
                Der::AgentComm,
                format!(
                    "no daos_agent socket found (looked at {}); is daos_agent running? set DAOS_AGENT_DRPC_DIR",
                    candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let system = std::env::var("DAOS_SYSTEM").unwrap_or_default();
        let reply: GetAttachInfoResp =
            Self::agent_call(&agent, METHOD_GET_ATTACH_INFO, &GetAttachInfoReq { system })?;
        let mut ranks = Vec::new();
        for rank in reply.ranks {
            ranks.push(RankAttach {
                rank: rank.rank,
                service: rank.service_uri.clone(),
                targets: rank.target_uris.clone(),
            });
        }
        if ranks.is_empty() {
            return Err(Error::new(
                Der::Unreach,
                "the system has no running engines",
            ));
        }
        let attach = AttachInfo {
            system: reply.system,
            provider: reply.provider,
            ranks,
        };
        Self::with_attach(attach, agent)
    }

    /// A client for a known system (the agent is still used to find pools).
    ///
    /// Errors: `-DER_HG` when the fabric cannot open.
    pub fn with_attach(attach: AttachInfo, agent: PathBuf) -> Result<Arc<Client>> {
        let node = match std::env::var("D_INTERFACE") {
            Ok(iface) if !iface.is_empty() => Some(daos_control::interface_address(&iface)?),
            _ => {
                let tcp = !attach.provider.contains("shm");
                let loopback = attach.ranks.iter().all(|r| is_loopback(&r.service));
                (tcp && loopback).then(|| "127.0.0.1".to_string())
            }
        };
        let fabric = Fabric::open(&attach.provider, node.as_deref())?;
        let timeout = std::env::var("CRT_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_secs(60), Duration::from_secs);
        Ok(Arc::new(Client {
            id: NEXT_CLIENT.fetch_add(1, Ordering::Relaxed),
            attach,
            fabric,
            node,
            hlc: Hlc::new(),
            cred: credential(),
            timeout_ms: AtomicU64::new(timeout.as_millis() as u64),
            agent,
        }))
    }

    fn agent_call<T: prost::Message + Default>(
        agent: &PathBuf,
        method: u32,
        body: &impl prost::Message,
    ) -> Result<T> {
        let mut stream = std::os::unix::net::UnixStream::connect(agent).map_err(|e| {
            Error::new(
                Der::AgentComm,
                format!("connecting to daos_agent at {}: {e}", agent.display()),
            )
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        call_blocking(&mut stream, method, body)
    }

    /// The system's attach info.
    pub fn attach(&self) -> &AttachInfo {
        &self.attach
    }

    /// Who this client acts as.
    pub fn credential(&self) -> &Credential {
        &self.cred
    }

    /// The per-RPC timeout (`CRT_TIMEOUT`, default 60 s).
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed))
    }

    /// Changes the per-RPC timeout for calls made from now on.
    pub fn set_timeout(&self, timeout: Duration) {
        self.timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    /// The calling thread's endpoint, created on first use.
    ///
    /// Errors: `-DER_HG` if the endpoint cannot open.
    pub fn thread_net(&self) -> Result<Arc<NetContext>> {
        THREAD_NETS.with(|nets| {
            let mut nets = nets.borrow_mut();
            if let Some((_, net)) = nets.iter().find(|(id, _)| *id == self.id) {
                return Ok(net.clone());
            }
            let net = self.new_net()?;
            nets.push((self.id, net.clone()));
            Ok(net)
        })
    }

    /// A new endpoint (for an event queue).
    ///
    /// Errors: `-DER_HG` if the endpoint cannot open.
    pub fn new_net(&self) -> Result<Arc<NetContext>> {
        NetContext::open(&self.fabric, self.node.as_deref(), None)
    }

    /// The fabric.
    pub fn fabric(&self) -> &Arc<Fabric> {
        &self.fabric
    }

    /// Looks a pool up by label or UUID through the agent: `(uuid, label, service ranks)`.
    ///
    /// Errors: `-DER_NONEXIST` for an unknown pool; `-DER_AGENT_COMM` if the agent is gone.
    pub fn pool_find(&self, id: &str) -> Result<(Uuid, String, Vec<u32>)> {
        daos_types::label::EntityRef::parse(id)?;
        let reply: PoolFindResp = Self::agent_call(
            &self.agent,
            METHOD_POOL_FIND,
            &PoolFindReq {
                system: self.attach.system.clone(),
                id: id.to_string(),
            },
        )?;
        let uuid = reply
            .uuid
            .parse()
            .map_err(|_| Error::new(Der::Proto, "agent returned a bad pool UUID"))?;
        Ok((uuid, reply.label, reply.svc_ranks))
    }

    /// The service address of a rank.
    pub fn service_addr(&self, rank: u32) -> Result<&[u8]> {
        self.attach
            .ranks
            .iter()
            .find(|r| r.rank == rank)
            .map(|r| r.service.as_slice())
            .ok_or_else(|| Error::new(Der::Unreach, format!("rank {rank} is not in the system")))
    }

    /// A reading of the client's hybrid logical clock: the epoch of a replicated update, so
    /// that every replica applies it at the same epoch (DAOS clients pick transaction epochs
    /// from their HLC the same way).
    pub fn hlc_now(&self) -> u64 {
        self.hlc.now()
    }

    /// Advances the client's clock past `epoch` (an epoch an engine reported), so that the
    /// next [`Client::hlc_now`] is later.
    pub(crate) fn hlc_observe(&self, epoch: u64) {
        self.hlc.observe(epoch);
    }

    /// Sends a request and returns the reply's status and body (even for errors, since some
    /// error replies carry a body, like `-DER_REC2BIG`).
    ///
    /// Errors: transport failures (`-DER_TIMEDOUT`, `-DER_UNREACH`, `-DER_PROTO`).
    pub async fn call_raw(
        &self,
        net: &Arc<NetContext>,
        dest: &[u8],
        opcode: Opcode,
        body: &impl Wire,
        reply_capacity: usize,
    ) -> Result<(i32, Vec<u8>)> {
        self.call_raw_at(net, dest, opcode, body, reply_capacity, 0)
            .await
    }

    /// [`Client::call_raw`] for a request routed by pool map version `map_version`, which
    /// the engine checks (`-DER_STALE` when its map differs; 0 is not checked).
    pub async fn call_raw_at(
        &self,
        net: &Arc<NetContext>,
        dest: &[u8],
        opcode: Opcode,
        body: &impl Wire,
        reply_capacity: usize,
        map_version: u32,
    ) -> Result<(i32, Vec<u8>)> {
        let rpc_id = net.next_rpc_id();
        let reply_capacity = reply_capacity + header::REPLY_HEADER_SIZE + header::TRAILER_SIZE;
        let header = RequestHeader {
            opcode,
            rpc_id,
            reply_capacity: reply_capacity as u32,
            map_version,
            hlc: self.hlc.now(),
            sender: net.name().to_vec(),
        };
        let msg = daos_proto::encode_request(&header, body);
        if msg.len() > daos_proto::MESSAGE_SIZE_MAX {
            return Err(Error::new(
                Der::Overflow,
                format!(
                    "request of {} bytes exceeds the {}-byte message limit",
                    msg.len(),
                    daos_proto::MESSAGE_SIZE_MAX
                ),
            ));
        }
        let peer = net.resolve(dest)?;
        let reply = rpc::call(net, peer, rpc_id, msg, reply_capacity, self.timeout()).await?;
        let (header, mut d) = decode_reply(&reply)?;
        if header.rpc_id != rpc_id {
            return Err(Error::new(Der::Proto, "reply for another call"));
        }
        self.hlc.observe(header.hlc);
        let body = d.raw(d.remaining(), "body")?.to_vec();
        Ok((header.status, body))
    }

    /// Sends a request and decodes a successful reply.
    ///
    /// Errors: the engine's status, or transport failures.
    pub async fn call<T: Wire>(
        &self,
        net: &Arc<NetContext>,
        dest: &[u8],
        opcode: Opcode,
        body: &impl Wire,
        reply_capacity: usize,
    ) -> Result<T> {
        self.call_at(net, dest, opcode, body, reply_capacity, 0)
            .await
    }

    /// Calls a pool's replicated service: the replica that last answered as leader first
    /// (`hint`, an index into `svc_ranks`), then the others in turn, until one answers as
    /// the leader, as DAOS's rsvc client does. Replicas answer `-DER_NOTLEADER` (and the
    /// pool's other engines `-DER_NOTREPLICA`) when they do not lead; during an election
    /// none does, so after each round it waits [`SVC_ROUND_PAUSE`] and tries again, for up
    /// to [`SVC_RETRY`]. `svc_ranks` may list engines that are not replicas after the
    /// recorded ones (see [`crate::Pool`]): the leader replaces replicas on excluded engines.
    /// Those from index `pool_engines` on may not hold the pool at all: their
    /// `-DER_NONEXIST` only moves on to the next. Every attempt carries one operation key
    /// (`SvcKeyed`), so a change is applied once however often it is retried.
    ///
    /// Errors: the request's own error, or the last replica's after [`SVC_RETRY`].
    #[allow(clippy::too_many_arguments)]
    pub async fn call_service<T: Wire>(
        &self,
        net: &Arc<NetContext>,
        svc_ranks: &[u32],
        pool_engines: usize,
        hint: &AtomicUsize,
        opcode: Opcode,
        body: &impl Wire,
        reply_capacity: usize,
    ) -> Result<T> {
        if svc_ranks.is_empty() {
            return Err(Error::new(Der::NoService, "the pool has no service ranks"));
        }
        let deadline = std::time::Instant::now() + SVC_RETRY;
        let first = hint.load(Ordering::Relaxed);
        // One operation key for every attempt: a change the last leader applied before it
        // died is not applied again by the next one, which answers what it answered.
        let keyed = daos_proto::msg::SvcKeyedReq::wrap(Uuid::new_v4(), opcode, body);
        let mut attempt = 0usize;
        loop {
            let index = (first + attempt) % svc_ranks.len();
            let outcome = match self.service_addr(svc_ranks[index]) {
                Ok(addr) => {
                    let addr = addr.to_vec();
                    let call = std::pin::pin!(self.call(
                        net,
                        &addr,
                        Opcode::SvcKeyed,
                        &keyed,
                        reply_capacity
                    ));
                    let limit = self.timeout().min(SVC_ATTEMPT);
                    let late = std::pin::pin!(net.sleep_until(std::time::Instant::now() + limit));
                    match futures::future::select(call, late).await {
                        futures::future::Either::Left((outcome, _)) => outcome,
                        futures::future::Either::Right(_) => Err(Error::new(
                            Der::Timedout,
                            format!("rank {} did not answer in {limit:?}", svc_ranks[index]),
                        )),
                    }
                }
                Err(err) => Err(err),
            };
            match outcome {
                Ok(reply) => {
                    hint.store(index, Ordering::Relaxed);
                    return Ok(reply);
                }
                Err(err)
                    if (matches!(
                        err.der(),
                        Der::Notleader | Der::Notreplica | Der::Unreach | Der::Timedout
                    ) || (index >= pool_engines && err.der() == Der::Nonexist))
                        && std::time::Instant::now() < deadline =>
                {
                    tracing::debug!("rank {}: {err}; trying the next replica", svc_ranks[index]);
                }
                Err(err) => return Err(err),
            }
            attempt += 1;
            if attempt % svc_ranks.len() == 0 {
                net.sleep_until(std::time::Instant::now() + SVC_ROUND_PAUSE)
                    .await;
            }
        }
    }

    /// [`Client::call`] for a request routed by pool map version `map_version` (see
    /// [`Client::call_raw_at`]).
    pub async fn call_at<T: Wire>(
        &self,
        net: &Arc<NetContext>,
        dest: &[u8],
        opcode: Opcode,
        body: &impl Wire,
        reply_capacity: usize,
        map_version: u32,
    ) -> Result<T> {
        let (status, bytes) = self
            .call_raw_at(net, dest, opcode, body, reply_capacity, map_version)
            .await?;
        status_to_result(status)?;
        daos_proto::decode_body(Decoder::new(&bytes))
    }
}

/// Turns a reply status into a result.
pub fn status_to_result(status: i32) -> Result<()> {
    if status == 0 {
        return Ok(());
    }
    let der = Der::from_value(-status).unwrap_or(Der::Misc);
    Err(Error::new(der, "reported by the engine"))
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Client(system {}, {} ranks)",
            self.attach.system,
            self.attach.ranks.len()
        )
    }
}

/// Parses the hex addresses of a control-plane rank entry.
pub fn rank_from_control(rank: &daos_control::mgmt::RankInfo) -> Result<RankAttach> {
    Ok(RankAttach {
        rank: rank.rank,
        service: if rank.service_uri.is_empty() {
            unhex(&rank.fabric_uri)?
        } else {
            rank.service_uri.clone()
        },
        targets: rank.target_uris.clone(),
    })
}
