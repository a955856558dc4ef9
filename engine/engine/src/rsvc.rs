//! The replicated pool service: Raft (the `openraft` crate) among a pool's service ranks,
//! as DAOS's rsvc keeps a pool's metadata in rdb, replicated by Raft over its service ranks
//! (`dmg pool create --nsvc`).
//!
//! What is replicated: every pool service request that changes state (connects and
//! disconnects, container create/open/close/destroy, snapshots, object id allocation, pool map
//! changes) becomes a log entry ([`SvcOp`]: opcode, request body, the leader's clock reading).
//! Each replica applies committed entries in log order through the same handlers that serve
//! requests, so the copies agree; the leader answers the client with its own result
//! ([`SvcApplied`]). Queries are answered by the leader from its applied state.
//!
//! Threads: openraft runs on a one-worker tokio runtime owned by the service context. The
//! service context's thread owns the state and the network endpoint, so the Raft side reaches
//! it through a [`Bridge`]: a channel plus an eventfd that wakes the service loop. Raft
//! messages to other replicas travel as `SvcRaft` RPCs over libfabric.
//!
//! Durability: the log ([`LogStore`]) is a file of CRC-checked records, synced before an
//! append is acknowledged (so a vote or an entry counted in a quorum survives a crash). The
//! state machine's image (`svc.meta`: metadata, open handles, the last applied log id and
//! membership) is rewritten atomically after each applied batch and is the snapshot a lagging
//! replica installs; at restart the replica reloads it and Raft replays the entries after it.

use daos_types::{Der, Error, Uuid};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    EmptyNode, LogState, OptionalSend, RaftLogReader, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, Vote,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;
use std::io::{Cursor, Read, Write};
use std::ops::RangeBounds;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

openraft::declare_raft_types!(
    /// Raft types of the pool service: entries carry [`SvcOp`]s, applying one gives an
    /// [`SvcApplied`]; nodes are engine ranks, addressed through the pool map.
    pub SvcTypes:
        D = SvcOp,
        R = SvcApplied,
        Node = EmptyNode,
);

/// A replica's Raft node id: its engine rank.
pub type NodeId = u64;
/// A log position (term, leader, index).
pub type LogId = openraft::LogId<NodeId>;
/// The replica set, as of a log position.
pub type Membership = openraft::StoredMembership<NodeId, EmptyNode>;
/// What a replica reports of its Raft state.
pub type Metrics = openraft::RaftMetrics<NodeId, EmptyNode>;
/// One pool's Raft node.
pub type SvcRaft = openraft::Raft<SvcTypes>;
/// A Raft log entry of the pool service.
pub type Entry = openraft::Entry<SvcTypes>;
type StoreResult<T> = std::result::Result<T, StorageError<NodeId>>;

/// A pool service change, as the leader put it in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvcOp {
    /// The request's opcode (`daos_proto::Opcode`).
    pub opcode: u16,
    /// The leader's HLC reading when it took the request: every replica stamps the change
    /// with it (container times, snapshot epochs).
    pub now: u64,
    /// The request body as the client sent it.
    pub body: Vec<u8>,
    /// The caller's operation key ([`daos_proto::msg::SvcKeyedReq`]), if it sent one: a
    /// change whose key was applied already is not applied again.
    pub key: Option<u128>,
}

/// What applying a [`SvcOp`] gave: a DER status (0 or negative) and the reply body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvcApplied {
    /// 0, or a negative DER code.
    pub status: i32,
    /// The reply body when `status` is 0.
    pub body: Vec<u8>,
    /// For a keyed change applied before (a retry): the clock reading it was applied at,
    /// which its forwards to the pool's other engines must carry again.
    #[serde(default)]
    pub repeated: Option<u64>,
}

/// Timing of the pool service's Raft. Elections wait 1-2 s without a heartbeat: longer than
/// openraft's defaults, because on a loaded 2-core machine a healthy leader can stall for
/// hundreds of milliseconds, and every needless election costs a round of NOTLEADER retries.
pub fn config(pool: &Uuid) -> Arc<openraft::Config> {
    let config = openraft::Config {
        cluster_name: pool.to_string(),
        heartbeat_interval: 200,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        install_snapshot_timeout: 2000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(512),
        max_in_snapshot_log_to_keep: 64,
        // A chunk and its envelope must fit one fabric message (64 KiB).
        snapshot_max_chunk_size: 32 * 1024,
        max_payload_entries: 64,
        ..Default::default()
    };
    Arc::new(
        config
            .validate()
            .expect("the pool service's Raft config is valid"),
    )
}

// ---------------------------------------------------------------------------------------------
// Bridge to the service context's thread
// ---------------------------------------------------------------------------------------------

/// An eventfd that wakes the service context's loop.
pub struct Doorbell(OwnedFd);

impl Doorbell {
    /// A new doorbell.
    pub fn new() -> daos_types::Result<Doorbell> {
        // SAFETY: eventfd takes no memory arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::from(std::io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(Doorbell(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Wakes the loop.
    pub fn ring(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local to our eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears the doorbell (after waking).
    pub fn clear(&self) {
        let mut value = 0u64;
        // SAFETY: reads 8 bytes into a local from a non-blocking eventfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A state machine image: its bytes, and the log id and membership it reflects.
pub type Image = (Vec<u8>, Option<LogId>, Membership);

/// Requests from the Raft side to the service context, which owns the state and the network.
/// Each carries its pool and a channel for the answer.
#[allow(missing_docs)]
pub enum ToService {
    /// The last applied log id and membership of a pool's state machine.
    AppliedState {
        pool: Uuid,
        reply: tokio::sync::oneshot::Sender<(Option<LogId>, Membership)>,
    },
    /// Apply committed entries in order; one result per entry.
    Apply {
        pool: Uuid,
        entries: Vec<Entry>,
        reply: tokio::sync::oneshot::Sender<daos_types::Result<Vec<SvcApplied>>>,
    },
    /// The state machine's image, with the log id and membership it reflects.
    Image {
        pool: Uuid,
        reply: tokio::sync::oneshot::Sender<daos_types::Result<Image>>,
    },
    /// Replace the state machine with a leader's image.
    Install {
        pool: Uuid,
        last: Option<LogId>,
        membership: Membership,
        image: Vec<u8>,
        reply: tokio::sync::oneshot::Sender<daos_types::Result<()>>,
    },
    /// Send a Raft message to another replica (an `SvcRaft` RPC); the reply's payload.
    Call {
        pool: Uuid,
        rank: u32,
        kind: u32,
        payload: Vec<u8>,
        timeout: Duration,
        reply: tokio::sync::oneshot::Sender<daos_types::Result<Vec<u8>>>,
    },
}

/// The Raft side's way into the service context.
#[derive(Clone)]
pub struct Bridge {
    tx: crossbeam_channel::Sender<ToService>,
    bell: Arc<Doorbell>,
}

impl Bridge {
    /// A bridge, and the receiving end the service context drains.
    pub fn new(bell: Arc<Doorbell>) -> (Bridge, crossbeam_channel::Receiver<ToService>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Bridge { tx, bell }, rx)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> ToService,
    ) -> daos_types::Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(make(tx))
            .map_err(|_| Error::new(Der::Shutdown, "the service context stopped"))?;
        self.bell.ring();
        rx.await
            .map_err(|_| Error::new(Der::Shutdown, "the service context stopped"))
    }
}

fn sm_error(err: impl std::fmt::Display) -> StorageError<NodeId> {
    StorageError::from_io_error(
        openraft::ErrorSubject::StateMachine,
        openraft::ErrorVerb::Write,
        std::io::Error::other(err.to_string()),
    )
}

// ---------------------------------------------------------------------------------------------
// Log storage
// ---------------------------------------------------------------------------------------------

/// One record of the log file.
#[derive(Serialize, Deserialize)]
enum Record {
    Entry(Entry),
    Vote(Vote<NodeId>),
    Committed(Option<LogId>),
    /// Entries from this index on are removed (a new leader overwrote them).
    Truncate(u64),
    /// Entries up to this log id are removed (covered by the state machine's image).
    Purge(LogId),
}

struct LogInner {
    path: PathBuf,
    file: std::fs::File,
    len: u64,
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

/// A pool service replica's Raft log: `rdb.log` in the pool's directory, an append-only file of
/// records framed as `[length u32][CRC-32C u32][record]` (little-endian). A torn tail (a
/// record cut short or failing its CRC) is dropped at open; appends and votes are synced
/// before they are acknowledged. Purges and truncations are records too; once the file
/// outgrows [`LOG_REWRITE_BYTES`], a purge rewrites it with only what is live.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

/// Size past which a purge rewrites the log file.
const LOG_REWRITE_BYTES: u64 = 1 << 20;
/// Largest record accepted when reading the log back.
const RECORD_MAX: usize = 16 << 20;

fn frame(record: &Record, out: &mut Vec<u8>) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(record).map_err(std::io::Error::other)?;
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&daos_types::csum::crc32c(&bytes).to_le_bytes());
    out.extend_from_slice(&bytes);
    Ok(())
}

impl LogStore {
    /// Opens (or creates) the log at `path`, replaying its records.
    pub fn open(path: &Path) -> std::io::Result<LogStore> {
        let mut bytes = Vec::new();
        if let Ok(mut f) = std::fs::File::open(path) {
            f.read_to_end(&mut bytes)?;
        }
        let mut inner = LogInner {
            path: path.to_path_buf(),
            file: std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
            len: 0,
            entries: BTreeMap::new(),
            vote: None,
            committed: None,
            purged: None,
        };
        let mut at = 0usize;
        while bytes.len() - at >= 8 {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            if len > RECORD_MAX || bytes.len() - at - 8 < len {
                break;
            }
            let body = &bytes[at + 8..at + 8 + len];
            if daos_types::csum::crc32c(body) != crc {
                break;
            }
            // A whole record (its checksum matches) that does not decode was written in
            // another format: refuse it rather than drop the log from there.
            let record = postcard::from_bytes::<Record>(body).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: record at byte {at} is in an unknown format ({e}); \
                         the log was written by another version",
                        path.display()
                    ),
                )
            })?;
            inner.replay(record);
            at += 8 + len;
        }
        if at < bytes.len() {
            tracing::warn!(
                "{}: dropping a torn tail of {} bytes",
                path.display(),
                bytes.len() - at
            );
            inner.file.set_len(at as u64)?;
            inner.file.sync_all()?;
        }
        inner.len = at as u64;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(inner)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner.lock().expect("raft log lock")
    }
}

impl LogInner {
    fn replay(&mut self, record: Record) {
        match record {
            Record::Entry(entry) => {
                self.entries.insert(entry.log_id.index, entry);
            }
            Record::Vote(vote) => self.vote = Some(vote),
            Record::Committed(committed) => self.committed = committed,
            Record::Truncate(index) => {
                self.entries.split_off(&index);
            }
            Record::Purge(log_id) => {
                self.entries = self.entries.split_off(&(log_id.index + 1));
                self.purged = Some(log_id);
            }
        }
    }

    /// Appends records, applies them, and syncs the file if `sync`.
    fn write(&mut self, records: Vec<Record>, sync: bool) -> std::io::Result<()> {
        let mut out = Vec::new();
        for record in &records {
            frame(record, &mut out)?;
        }
        self.file.write_all(&out)?;
        if sync {
            self.file.sync_data()?;
        }
        self.len += out.len() as u64;
        for record in records {
            self.replay(record);
        }
        Ok(())
    }

    /// Rewrites the file with only what is live (vote, committed, purge point, entries).
    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut out = Vec::new();
        if let Some(vote) = self.vote {
            frame(&Record::Vote(vote), &mut out)?;
        }
        frame(&Record::Committed(self.committed), &mut out)?;
        if let Some(purged) = self.purged {
            frame(&Record::Purge(purged), &mut out)?;
        }
        for entry in self.entries.values() {
            frame(&Record::Entry(entry.clone()), &mut out)?;
        }
        daos_bio::replace_durably(&self.path, &out).map_err(std::io::Error::other)?;
        self.file = std::fs::OpenOptions::new().append(true).open(&self.path)?;
        self.len = out.len() as u64;
        Ok(())
    }
}

fn log_error(err: std::io::Error) -> StorageError<NodeId> {
    StorageError::from_io_error(
        openraft::ErrorSubject::Logs,
        openraft::ErrorVerb::Write,
        err,
    )
}

impl RaftLogReader<SvcTypes> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry>> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<SvcTypes> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StoreResult<LogState<SvcTypes>> {
        let inner = self.lock();
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(inner.purged);
        Ok(LogState {
            last_purged_log_id: inner.purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        let log = self.clone();
        tokio::task::block_in_place(|| log.lock().write(vec![Record::Vote(*vote)], true)).map_err(
            |e| {
                StorageError::from_io_error(
                    openraft::ErrorSubject::Vote,
                    openraft::ErrorVerb::Write,
                    e,
                )
            },
        )
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> StoreResult<()> {
        // Not synced: a lost commit point is learned again from the leader.
        self.lock()
            .write(vec![Record::Committed(committed)], false)
            .map_err(log_error)
    }

    async fn read_committed(&mut self) -> StoreResult<Option<LogId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<SvcTypes>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let records = entries.into_iter().map(Record::Entry).collect();
        // Syncing blocks: let the runtime's other tasks (heartbeats) move to another thread.
        let outcome = tokio::task::block_in_place(|| self.lock().write(records, true));
        match outcome {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(err) => {
                callback.log_io_completed(Err(std::io::Error::new(err.kind(), err.to_string())));
                Err(log_error(err))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> StoreResult<()> {
        tokio::task::block_in_place(|| {
            self.lock()
                .write(vec![Record::Truncate(log_id.index)], true)
        })
        .map_err(log_error)
    }

    async fn purge(&mut self, log_id: LogId) -> StoreResult<()> {
        tokio::task::block_in_place(|| {
            let mut inner = self.lock();
            inner.write(vec![Record::Purge(log_id)], false)?;
            if inner.len > LOG_REWRITE_BYTES {
                inner.rewrite()?;
            }
            Ok(())
        })
        .map_err(log_error)
    }
}

// ---------------------------------------------------------------------------------------------
// State machine (applied by the service context)
// ---------------------------------------------------------------------------------------------

/// The pool service state machine: entries are applied by the service context, which owns
/// the metadata and the targets' mailboxes.
#[derive(Clone)]
pub struct StateMachine {
    pool: Uuid,
    bridge: Bridge,
}

impl RaftSnapshotBuilder<SvcTypes> for StateMachine {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<SvcTypes>> {
        let pool = self.pool;
        let (image, last, membership) = self
            .bridge
            .ask(|reply| ToService::Image { pool, reply })
            .await
            .map_err(sm_error)?
            .map_err(sm_error)?;
        let snapshot_id = last.map_or_else(
            || "0-0".to_string(),
            |l| format!("{}-{}", l.leader_id.term, l.index),
        );
        Ok(Snapshot {
            meta: SnapshotMeta {
                last_log_id: last,
                last_membership: membership,
                snapshot_id,
            },
            snapshot: Box::new(Cursor::new(image)),
        })
    }
}

impl RaftStateMachine<SvcTypes> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> StoreResult<(Option<LogId>, Membership)> {
        let pool = self.pool;
        self.bridge
            .ask(|reply| ToService::AppliedState { pool, reply })
            .await
            .map_err(sm_error)
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<SvcApplied>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let pool = self.pool;
        let entries: Vec<Entry> = entries.into_iter().collect();
        self.bridge
            .ask(|reply| ToService::Apply {
                pool,
                entries,
                reply,
            })
            .await
            .map_err(sm_error)?
            .map_err(sm_error)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, EmptyNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let pool = self.pool;
        let (last, membership) = (meta.last_log_id, meta.last_membership.clone());
        self.bridge
            .ask(|reply| ToService::Install {
                pool,
                last,
                membership,
                image: snapshot.into_inner(),
                reply,
            })
            .await
            .map_err(sm_error)?
            .map_err(sm_error)
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<SvcTypes>>> {
        let snapshot = self.build_snapshot().await?;
        Ok(snapshot.meta.last_log_id.is_some().then_some(snapshot))
    }
}

// ---------------------------------------------------------------------------------------------
// Network: Raft messages as SvcRaft RPCs, sent by the service context
// ---------------------------------------------------------------------------------------------

/// Largest Raft message payload sent: one fabric message with room for the envelope.
const RAFT_MESSAGE_MAX: usize = daos_proto::MESSAGE_SIZE_MAX - 1024;

/// Makes a [`Peer`] per replica.
pub struct Network {
    pool: Uuid,
    bridge: Bridge,
}

/// Another replica of the pool's service.
pub struct Peer {
    pool: Uuid,
    rank: NodeId,
    bridge: Bridge,
}

impl openraft::RaftNetworkFactory<SvcTypes> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, _node: &EmptyNode) -> Peer {
        Peer {
            pool: self.pool,
            rank: target,
            bridge: self.bridge.clone(),
        }
    }
}

impl Peer {
    async fn call<Req, Resp, E>(
        &self,
        kind: u32,
        req: &Req,
        option: &RPCOption,
    ) -> std::result::Result<Resp, RPCError<NodeId, EmptyNode, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let payload =
            postcard::to_stdvec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let (pool, rank) = (self.pool, self.rank as u32);
        let timeout = option.hard_ttl();
        let reply = self
            .bridge
            .ask(|reply| ToService::Call {
                pool,
                rank,
                kind,
                payload,
                timeout,
                reply,
            })
            .await
            .and_then(|r| r)
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        let outcome: std::result::Result<Resp, E> =
            postcard::from_bytes(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        outcome.map_err(|e| RPCError::RemoteError(RemoteError::new(self.rank, e)))
    }
}

impl openraft::RaftNetwork<SvcTypes> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<SvcTypes>,
        option: RPCOption,
    ) -> std::result::Result<
        AppendEntriesResponse<NodeId>,
        RPCError<NodeId, EmptyNode, RaftError<NodeId>>,
    > {
        // One fabric message carries the entries: ask for fewer when they would not fit.
        let entries = rpc.entries.len() as u64;
        if entries > 1 {
            let size = postcard::experimental::serialized_size(&rpc)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
            if size > RAFT_MESSAGE_MAX {
                let hint = (entries * RAFT_MESSAGE_MAX as u64 / size as u64).clamp(1, entries - 1);
                return Err(openraft::error::PayloadTooLarge::new_entries_hint(hint).into());
            }
        }
        self.call(daos_proto::msg::SVC_RAFT_APPEND, &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<SvcTypes>,
        option: RPCOption,
    ) -> std::result::Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, EmptyNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(daos_proto::msg::SVC_RAFT_SNAPSHOT, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> std::result::Result<VoteResponse<NodeId>, RPCError<NodeId, EmptyNode, RaftError<NodeId>>>
    {
        self.call(daos_proto::msg::SVC_RAFT_VOTE, &rpc, &option)
            .await
    }
}

/// Serves a Raft message from another replica on `raft` (run on the Raft runtime); the
/// reply payload is the encoded outcome, or an error for a message that does not decode.
pub async fn serve(raft: SvcRaft, kind: u32, payload: Vec<u8>) -> daos_types::Result<Vec<u8>> {
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> daos_types::Result<T> {
        postcard::from_bytes(bytes)
            .map_err(|e| Error::new(Der::Proto, format!("bad Raft message: {e}")))
    }
    fn encode<T: Serialize>(value: &T) -> daos_types::Result<Vec<u8>> {
        postcard::to_stdvec(value).map_err(|e| Error::new(Der::Proto, e.to_string()))
    }
    match kind {
        daos_proto::msg::SVC_RAFT_VOTE => encode(&raft.vote(decode(&payload)?).await),
        daos_proto::msg::SVC_RAFT_APPEND => encode(&raft.append_entries(decode(&payload)?).await),
        daos_proto::msg::SVC_RAFT_SNAPSHOT => {
            encode(&raft.install_snapshot(decode(&payload)?).await)
        }
        other => Err(Error::new(
            Der::Proto,
            format!("unknown Raft message {other}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Replicas
// ---------------------------------------------------------------------------------------------

/// The Raft nodes this engine runs, by pool; a node appears once it has started.
pub type Registry = Arc<Mutex<HashMap<Uuid, SvcRaft>>>;

/// Starts the Raft node of `pool` on the runtime. With `members`, the node initialises the
/// replica set (done once, by the first service rank, at pool create).
pub fn start(
    rt: &tokio::runtime::Handle,
    registry: &Registry,
    bridge: &Bridge,
    pool: Uuid,
    rank: u32,
    log_path: PathBuf,
    members: Option<BTreeSet<NodeId>>,
) {
    let registry = registry.clone();
    let bridge = bridge.clone();
    rt.spawn(async move {
        let log = match LogStore::open(&log_path) {
            Ok(log) => log,
            Err(err) => {
                tracing::error!("pool {pool}: cannot open {}: {err}", log_path.display());
                return;
            }
        };
        let network = Network {
            pool,
            bridge: bridge.clone(),
        };
        let sm = StateMachine { pool, bridge };
        let raft = match SvcRaft::new(u64::from(rank), config(&pool), network, log, sm).await {
            Ok(raft) => raft,
            Err(err) => {
                tracing::error!("pool {pool}: the service replica did not start: {err}");
                return;
            }
        };
        registry
            .lock()
            .expect("raft registry")
            .insert(pool, raft.clone());
        if let Some(members) = members {
            if let Err(err) = raft.initialize(members).await {
                tracing::warn!("pool {pool}: initialising the service replicas: {err}");
            }
        }
        tracing::info!("pool {pool}: service replica on rank {rank} started");
        // Report leadership changes (openraft's own logging is off: see daos_engine's main).
        let mut metrics = raft.metrics();
        let mut known = None;
        loop {
            let (leader, term, failed) = {
                let m = metrics.borrow();
                (
                    m.current_leader,
                    m.current_term,
                    m.running_state.clone().err(),
                )
            };
            if let Some(err) = failed {
                // Storage failed (a log write, or applying to the image): this replica is
                // out; the others carry the service while a quorum of them lives.
                if matches!(err, openraft::error::Fatal::Stopped) {
                    tracing::info!("pool {pool}: the service replica on rank {rank} stopped");
                } else {
                    tracing::error!(
                        "pool {pool}: the service replica on rank {rank} failed: {err}"
                    );
                }
                registry.lock().expect("raft registry").remove(&pool);
                break;
            }
            if leader != known {
                match leader {
                    Some(l) => {
                        tracing::info!("pool {pool}: service leader is rank {l} (term {term})")
                    }
                    None => tracing::info!("pool {pool}: no service leader known (term {term})"),
                }
                known = leader;
            }
            if metrics.changed().await.is_err() {
                break;
            }
        }
    });
}

/// Stops the Raft node of `pool`, if it runs, and waits (up to a second) until it has: a
/// node started again for the pool must not share its log with a stopping one. Called from
/// outside the runtime (the service context's thread).
pub fn stop(rt: &tokio::runtime::Runtime, registry: &Registry, pool: &Uuid) {
    let raft = registry.lock().expect("raft registry").remove(pool);
    if let Some(raft) = raft {
        let stopped = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), raft.shutdown()).await
        });
        if stopped.is_err() {
            tracing::warn!("pool {pool}: the service replica did not stop within a second");
        }
    }
}

/// The leader `raft` knows of.
pub fn leader(raft: &SvcRaft) -> Option<u32> {
    raft.metrics()
        .borrow()
        .current_leader
        .and_then(|l| u32::try_from(l).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(term, 0), index),
            payload: openraft::EntryPayload::Normal(SvcOp {
                opcode: 10,
                now: index,
                body: vec![index as u8; 3],
                key: (index % 2 == 0).then_some(u128::from(index) << 64),
            }),
        }
    }

    #[test]
    fn the_log_survives_reopen_and_drops_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rdb.log");
        {
            let log = LogStore::open(&path).unwrap();
            let mut inner = log.lock();
            inner
                .write((1..=5).map(|i| Record::Entry(entry(1, i))).collect(), true)
                .unwrap();
            inner.write(vec![Record::Truncate(4)], true).unwrap();
            inner.write(vec![Record::Entry(entry(2, 4))], true).unwrap();
            inner
                .write(vec![Record::Purge(entry(1, 1).log_id)], true)
                .unwrap();
        }
        // A torn record at the end.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, 5]).unwrap();
        drop(f);
        let log = LogStore::open(&path).unwrap();
        let inner = log.lock();
        let ids: Vec<(u64, u64)> = inner
            .entries
            .values()
            .map(|e| (e.log_id.leader_id.term, e.log_id.index))
            .collect();
        assert_eq!(ids, vec![(1, 2), (1, 3), (2, 4)]);
        assert_eq!(inner.purged.map(|p| p.index), Some(1));
        let len = inner.len;
        drop(inner);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        // A rewrite keeps exactly what is live.
        log.lock().rewrite().unwrap();
        let again = LogStore::open(&path).unwrap();
        let ids: Vec<u64> = again.lock().entries.keys().copied().collect();
        assert_eq!(ids, vec![2, 3, 4]);
    }
}
