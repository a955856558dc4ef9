//! Deterministic simulation of engines under crashes, restarts and partitions (seeded;
//! network, disk and clock virtual; a failing seed is printed with its replay command).
//!
//! What runs is the engine's own code: the transaction protocol of replicated updates
//! (`daos_engine::dtx`: commit, abort, check, the decider rules and the resolution of
//! transactions left prepared) through its [`Host`] seam, over real VOS pools
//! (`daos_vos::VosPool`: prepares, outcomes, visibility, `-DER_INPROGRESS`, log recovery) whose
//! log flushes reach a real file only when the simulated disk completes them, and the real
//! wire encoding of every transaction call. Around it, the simulation provides:
//! - **a clock**: virtual nanoseconds; timers, call timeouts, the resolution delay
//!   ([`dtx::RESOLVE_AFTER`]) and every latency run on it, so the 85 s of virtual time of one
//!   seed take about 0.07 s here (the log writes are real `O_DIRECT | O_DSYNC` writes);
//! - **a network**: every message is delayed by a random latency (now and then by seconds, so
//!   messages overtake each other and a prepare may arrive after its transaction was
//!   resolved), and dropped when its link is down at sending or at delivery (an isolated
//!   engine, a cut link between two engines, a dead receiver); one message in 200 is lost
//!   anyway, and outcomes told between engines one in 20 (the sender's call times out); no
//!   message is duplicated;
//! - **a disk**: each target's log flushes complete after a random latency; an engine crash
//!   loses what was not complete, and leaves the flush in flight written whole, torn (only
//!   its first blocks) or not at all; some crashes are aimed at a flush in flight; a restart
//!   reopens the pool from its files (VOS log replay);
//! - **the pool service, modeled**: an engine unreachable for [`EXCLUDE_AFTER`] is excluded
//!   from the pool map (DAOS's `self_heal`), up to one or two engines per seed (no rebuild
//!   refills their copies here), the new map is passed on to the engines it reaches, and an
//!   excluded engine that becomes reachable again is fenced (killed), as `daos_server` does;
//!   an administrator sometimes restarts and reintegrates a fenced engine (`Up`), which then
//!   drops the shards survivors would push back (aborting what it had prepared on them) and
//!   is written to but never read, since rebuild is not simulated here (see
//!   `crates/daos-placement/tests/simulation.rs` for its rules), and counts as failed;
//! - **clients** following `daos_client`'s protocol for replicated updates (prepare on every
//!   write place of the group with one transaction, commit through the leader, abort after a
//!   failed prepare; after an engine that does not answer or leaves the pool, send again
//!   once the pool map changed; after `-DER_STALE`, again by a fresh map; always at the same
//!   epoch; its per-call timeout and pauses), and reads from a readable replica, waiting
//!   while a transaction covers the value; a client may die between the phases, and a leader
//!   is sometimes cut off for long while it decides a commit or an abort, or just after.
//!
//! Objects are `RP_3G1` (redundancy factor 2) over five engines of one target each. Faults
//! (engine crashes and restarts, isolated engines, cut links, lost messages, client deaths)
//! are drawn from the seed, with at most two engines failed (crashed, isolated, excluded or
//! reintegrating) at any time.
//!
//! Checked during the run: a read returns a version at least as new as every update
//! acknowledged before the read started, and one that some client wrote; no transaction
//! whose leader confirmed its client's abort is committed on an engine of the pool (checked
//! whenever the protocol touches an engine's pool, in what deciders tell, and at the end). Reads go by the
//! service's current map: a client reading by an old map from an excluded engine that
//! nothing fenced yet is not covered. Checked at the end, once clients stopped, every engine
//! that was not excluded is back, every link is up and resolution had time to run: no
//! transaction is left prepared, every readable replica of every key holds the same version,
//! at least the latest acknowledged one, and every readable replica holds every acknowledged
//! version and every version a read returned at its epoch. The counts of each fault and of
//! each protocol path taken (resolution checks, outcomes told by a decider other than the
//! leader, reads that waited for a transaction) are printed and must not be zero.
//!
//! Not simulated: the engine's object I/O handlers (bulk transfers, the erasure-coded guard;
//! the prepare and fetch here are the handlers' VOS calls and map checks, with a pause for
//! the data's movement between them), rebuild, the Raft pool service, SWIM. Those run in the
//! integration tests with real processes.
//!
//! `DAOS_SIM_SEED=<n>` replays one seed (`DAOS_SIM_TRACE=1` prints its last events);
//! `DAOS_SIM_SEEDS=<n>` runs that many (default 500).

use daos_engine::dtx::{self, DtxPool, Host, Resolution};
use daos_placement::{Layout, PoolMap, RankEntry, ShardLocation, TargetEntry, TargetState};
use daos_proto::msg::DtxReq;
use daos_proto::{Opcode, ReplyHeader, RequestHeader};
use daos_types::dtx::{DtxInfo, DtxPeer};
use daos_types::{Der, Error, ObjectClass, ObjectId, ObjectType, Result, Uuid, EPOCH_MAX};
use daos_vos::index::{DtxEntry, FetchIod, Source};
use daos_vos::record::{IodEntry, IodRecord, SingleEntry, Stored};
use daos_vos::wal::FlushJob;
use daos_vos::{BlobRegion, PoolMeta, UpdateIod, VosPool};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

const ENGINES: u32 = 5;
/// `RP_3G1`'s redundancy factor: engines that may be failed at once.
const RF: usize = 2;
const CLIENTS: u32 = 4;
const OBJECTS: u64 = 4;
const DKEYS: u32 = 3;
/// Virtual time with faults.
const FAULT_PHASE: Duration = Duration::from_secs(40);
/// Virtual time after the last fault healed, before the final check: resolution runs
/// [`dtx::RESOLVE_AFTER`] after a transaction was left, and may need a second round.
const SETTLE: Duration = Duration::from_secs(45);
/// The modeled pool service excludes an engine it has not reached for this long.
const EXCLUDE_AFTER: Duration = Duration::from_secs(5);
/// A client call's timeout: `daos_client`'s per-RPC timeout (`CRT_TIMEOUT`, 60 s by default; the
/// engine's transaction calls have their own, in `dtx`).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// `daos_client`'s pauses and limits (libdaos/client/src/obj.rs, pool.rs).
const MAP_WAIT: Duration = Duration::from_secs(30);
const SUSPECT_AFTER: Duration = Duration::from_secs(1);
const STALE_PAUSE: Duration = Duration::from_millis(20);
const MAP_REFRESH_INTERVAL: Duration = Duration::from_millis(200);
const INPROGRESS_PAUSE_MIN: Duration = Duration::from_micros(500);
const INPROGRESS_PAUSE_MAX: Duration = Duration::from_millis(50);
const POOL: Uuid = Uuid::from_u128(0x5157);
/// Events a failure report ends with.
const TRACE_LINES: usize = 2000;
const CONT: Uuid = Uuid::from_u128(0xC0);

/// xorshift64*: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = (hi - lo).as_nanos() as u64;
        lo + Duration::from_nanos(self.below(span + 1))
    }
}

/// A node of the simulated network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Addr {
    Engine(u32),
    Client(u32),
}

/// The fabric address of an engine's target in the pool map.
fn target_addr(rank: u32) -> Vec<u8> {
    vec![b'e', rank as u8, 0]
}

fn addr_of(bytes: &[u8]) -> Option<Addr> {
    match bytes {
        [b'e', rank, 0] => Some(Addr::Engine(u32::from(*rank))),
        [b'c', id] => Some(Addr::Client(u32::from(*id))),
        _ => None,
    }
}

fn client_addr(id: u32) -> Vec<u8> {
    vec![b'c', id as u8]
}

/// What a client or an engine asks an engine.
#[derive(Clone, Debug)]
enum Request {
    /// A wire message of the engine's protocol (the transaction calls).
    Rpc(Vec<u8>),
    /// Prepare a replicated update of one single value (the VOS part of `ObjUpdate`).
    Prepare {
        version: u32,
        info: DtxInfo,
        oid: ObjectId,
        shard: u32,
        epoch: u64,
        dkey: Vec<u8>,
        value: Vec<u8>,
    },
    /// Read a single value at the latest epoch (the VOS part of `ObjFetch`).
    Fetch {
        version: u32,
        oid: ObjectId,
        shard: u32,
        dkey: Vec<u8>,
    },
}

/// What comes back.
#[derive(Clone, Debug)]
enum Reply {
    Rpc(Vec<u8>),
    Done(Result<()>),
    Value(Result<Option<Version>>),
}

/// Who a task belongs to: its death goes with its owner's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Engine { rank: u32, life: u64 },
    Client { id: u32, life: u64 },
}

enum Event {
    Wake(Waker),
    Deliver {
        from: Addr,
        to: Addr,
        call: u64,
        request: Request,
    },
    Answer {
        from: Addr,
        to: Addr,
        call: u64,
        reply: Reply,
    },
    FlushDone {
        rank: u32,
        life: u64,
        job: FlushJob,
    },
    Tick {
        rank: u32,
        life: u64,
    },
    Repair(Repair),
    Crash {
        rank: u32,
        life: u64,
    },
    /// Cut an engine off for longer than the pool service waits before excluding it.
    Isolate {
        rank: u32,
    },
}

/// The end of a fault.
#[derive(Clone, Copy, Debug)]
enum Repair {
    Restart(u32),
    Reconnect(u32),
    Restore((u32, u32)),
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

struct ReadyQueue(Mutex<VecDeque<u64>>);

struct TaskWaker {
    id: u64,
    queue: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.0.lock().unwrap().push_back(self.id);
    }
}

/// A pending call's reply slot.
#[derive(Default)]
struct Slot {
    reply: Option<Reply>,
    waker: Option<Waker>,
}

/// One life of an engine (one target): what dies with it.
struct Engine {
    world: Rc<World>,
    rank: u32,
    life: u64,
    pool: RefCell<EnginePool>,
    waiters: RefCell<Vec<Waker>>,
    hlc: Cell<u64>,
}

struct EnginePool {
    vos: VosPool,
    map: Option<PoolMap>,
    resolution: Resolution,
}

/// What clients did and were told.
#[derive(Default)]
struct Model {
    /// Every acknowledged update: object, key, epoch.
    history: BTreeSet<(u64, u32, u64)>,
    /// Every version a read returned: object, key, epoch.
    read: BTreeSet<(u64, u32, u64)>,
    /// Per key and epoch, the value some client sent (acknowledged or not).
    written: BTreeMap<(u64, u32, u64), Vec<u8>>,
    acks: u64,
    reads: u64,
    gave_up: u64,
    /// Transactions whose leader confirmed the client's `DtxAbort` (answered it with
    /// success): none may be committed anywhere. (A commit refused with `-DER_TX_RESTART`
    /// only tells the client to send again: a leader fenced by a resolving participant's
    /// check answers so without knowing the participants.)
    told_aborted: BTreeSet<Uuid>,
}

impl Model {
    /// The newest acknowledged epoch of a key (0: none).
    fn newest_acked(&self, object: u64, key: u32) -> u64 {
        self.history
            .range((object, key, 0)..=(object, key, u64::MAX))
            .next_back()
            .map_or(0, |&(_, _, epoch)| epoch)
    }
}

struct World {
    seed: u64,
    rng: RefCell<Rng>,
    now: Cell<u64>,
    base: Instant,
    seq: Cell<u64>,
    events: RefCell<BTreeMap<(u64, u64), Event>>,
    tasks: RefCell<BTreeMap<u64, (Owner, Task)>>,
    ready: Arc<ReadyQueue>,
    slots: RefCell<BTreeMap<u64, Slot>>,
    engines: RefCell<Vec<Option<Rc<Engine>>>>,
    lives: RefCell<Vec<u64>>,
    /// Each engine's pool map as its service image keeps it (survives restarts).
    kept_maps: RefCell<Vec<PoolMap>>,
    dirs: Vec<PathBuf>,
    isolated: RefCell<BTreeSet<u32>>,
    cut: RefCell<BTreeSet<(u32, u32)>>,
    /// The pool service's map.
    map: RefCell<PoolMap>,
    max_excluded: usize,
    unreachable_since: RefCell<Vec<Option<u64>>>,
    client_lives: RefCell<Vec<u64>>,
    /// Whether clients start new operations.
    clients_run: Cell<bool>,
    /// Whether faults are injected.
    faults_on: Cell<bool>,
    model: RefCell<Model>,
    /// The last [`TRACE_LINES`] events.
    trace: RefCell<VecDeque<String>>,
    /// How many of each kind of fault happened.
    counts: RefCell<BTreeMap<&'static str, u64>>,
    /// A digest of every trace line, to compare replays.
    digest: Cell<u64>,
    failure: RefCell<Option<String>>,
    _tmp: tempfile::TempDir,
}

impl World {
    fn new(seed: u64) -> Rc<World> {
        let tmp = tempfile::Builder::new()
            .prefix("daos-sim")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let dirs: Vec<PathBuf> = (0..ENGINES)
            .map(|rank| tmp.path().join(format!("rank{rank}")))
            .collect();
        let ranks = (0..ENGINES)
            .map(|rank| RankEntry {
                rank,
                domain: format!("host{rank}"),
                service_addr: vec![b's', rank as u8],
                targets: vec![TargetEntry {
                    index: 0,
                    addr: target_addr(rank),
                    state: TargetState::UpIn,
                    fseq: 0,
                    drained: false,
                }],
            })
            .collect();
        let map = PoolMap {
            version: 1,
            ranks,
            base: None,
        };
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let max_excluded = 1 + rng.below(2) as usize;
        Rc::new(World {
            seed,
            rng: RefCell::new(rng),
            now: Cell::new(0),
            base: Instant::now(),
            seq: Cell::new(0),
            events: RefCell::new(BTreeMap::new()),
            tasks: RefCell::new(BTreeMap::new()),
            ready: Arc::new(ReadyQueue(Mutex::new(VecDeque::new()))),
            slots: RefCell::new(BTreeMap::new()),
            engines: RefCell::new((0..ENGINES).map(|_| None).collect()),
            lives: RefCell::new(vec![0; ENGINES as usize]),
            kept_maps: RefCell::new(vec![map.clone(); ENGINES as usize]),
            dirs,
            isolated: RefCell::new(BTreeSet::new()),
            cut: RefCell::new(BTreeSet::new()),
            map: RefCell::new(map),
            max_excluded,
            unreachable_since: RefCell::new(vec![None; ENGINES as usize]),
            client_lives: RefCell::new(vec![0; CLIENTS as usize]),
            clients_run: Cell::new(true),
            faults_on: Cell::new(true),
            model: RefCell::new(Model::default()),
            trace: RefCell::new(VecDeque::new()),
            counts: RefCell::new(BTreeMap::new()),
            digest: Cell::new(0xcbf2_9ce4_8422_2325),
            failure: RefCell::new(None),
            _tmp: tmp,
        })
    }

    fn now(&self) -> u64 {
        self.now.get()
    }

    fn log(&self, what: String) {
        let line = format!("{:>12.6}s {what}", self.now() as f64 / 1e9);
        let digest = line.bytes().fold(self.digest.get(), |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        self.digest.set(digest);
        let mut trace = self.trace.borrow_mut();
        if trace.len() >= TRACE_LINES {
            trace.pop_front();
        }
        trace.push_back(line);
    }

    fn count(&self, what: &'static str) {
        *self.counts.borrow_mut().entry(what).or_insert(0) += 1;
    }

    fn fail(&self, what: String) {
        self.log(format!("FAILED: {what}"));
        self.failure.borrow_mut().get_or_insert(what);
    }

    fn rand(&self, n: u64) -> u64 {
        self.rng.borrow_mut().below(n)
    }

    fn chance(&self, percent: u64) -> bool {
        self.rng.borrow_mut().chance(percent)
    }

    fn between(&self, lo: Duration, hi: Duration) -> Duration {
        self.rng.borrow_mut().between(lo, hi)
    }

    fn uuid(&self) -> Uuid {
        let mut rng = self.rng.borrow_mut();
        Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()))
    }

    fn schedule(&self, after: Duration, event: Event) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let at = self.now() + after.as_nanos() as u64;
        self.events.borrow_mut().insert((at, seq), event);
    }

    fn spawn(&self, owner: Owner, task: Task) {
        let id = self.seq.get() + 1;
        self.seq.set(id);
        self.tasks.borrow_mut().insert(id, (owner, task));
        self.ready.0.lock().unwrap().push_back(id);
    }

    /// Drops every task of `owner` (its process died).
    fn kill_tasks(&self, owner: Owner) {
        let dead: Vec<(Owner, Task)> = {
            let mut tasks = self.tasks.borrow_mut();
            let ids: Vec<u64> = tasks
                .iter()
                .filter(|(_, (o, _))| *o == owner)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| tasks.remove(id)).collect()
        };
        drop(dead);
    }

    fn run_ready(&self) {
        loop {
            let Some(id) = self.ready.0.lock().unwrap().pop_front() else {
                return;
            };
            let Some((owner, mut task)) = self.tasks.borrow_mut().remove(&id) else {
                continue;
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                queue: self.ready.clone(),
            }));
            let mut cx = Context::from_waker(&waker);
            if task.as_mut().poll(&mut cx).is_pending() {
                self.tasks.borrow_mut().insert(id, (owner, task));
            }
        }
    }

    fn engine(&self, rank: u32) -> Option<Rc<Engine>> {
        self.engines.borrow()[rank as usize].clone()
    }

    fn excluded(&self, rank: u32) -> bool {
        self.map
            .borrow()
            .rank(rank)
            .is_some_and(|r| r.is_excluded())
    }

    fn excluded_count(&self) -> usize {
        (0..ENGINES).filter(|r| self.excluded(*r)).count()
    }

    /// Engines crashed, isolated, excluded, or reintegrating (`Up`: holding nothing complete
    /// until a rebuild, which is not simulated).
    fn failed(&self) -> BTreeSet<u32> {
        let reintegrating = |r: u32| {
            self.map
                .borrow()
                .target(r, 0)
                .is_some_and(|t| t.state == TargetState::Up)
        };
        (0..ENGINES)
            .filter(|r| {
                self.engine(*r).is_none()
                    || self.isolated.borrow().contains(r)
                    || self.excluded(*r)
                    || reintegrating(*r)
            })
            .collect()
    }

    fn link_up(&self, a: Addr, b: Addr) -> bool {
        let engine = |x: Addr| match x {
            Addr::Engine(r) => Some(r),
            Addr::Client(_) => None,
        };
        let isolated = self.isolated.borrow();
        if [a, b]
            .iter()
            .filter_map(|x| engine(*x))
            .any(|r| isolated.contains(&r))
            && a != b
        {
            return false;
        }
        match (engine(a), engine(b)) {
            (Some(x), Some(y)) => !self.cut.borrow().contains(&(x.min(y), x.max(y))),
            _ => true,
        }
    }

    fn latency(&self) -> Duration {
        // Rarely, a message stuck for seconds (a congested queue, a peer's retransmits): a
        // prepare may then arrive after its transaction was resolved without it.
        if self.rand(400) == 0 {
            self.between(Duration::from_secs(2), Duration::from_secs(15))
        } else if self.chance(2) {
            self.between(Duration::from_millis(5), Duration::from_millis(40))
        } else {
            self.between(Duration::from_micros(20), Duration::from_micros(800))
        }
    }

    /// Whether a message on a working link is lost anyway (a glitch: its call times out).
    fn lost(&self) -> bool {
        self.faults_on.get() && self.rand(200) == 0
    }

    fn send(&self, from: Addr, to: Addr, call: u64, request: Request) {
        if self.link_up(from, to) && !self.lost() {
            let after = self.latency();
            self.schedule(
                after,
                Event::Deliver {
                    from,
                    to,
                    call,
                    request,
                },
            );
        }
    }

    fn answer(&self, from: Addr, to: Addr, call: u64, reply: Reply) {
        if self.link_up(from, to) && !self.lost() {
            let after = self.latency();
            self.schedule(
                after,
                Event::Answer {
                    from,
                    to,
                    call,
                    reply,
                },
            );
        }
    }

    /// Sends `request` and waits for its reply, or `-DER_TIMEDOUT`.
    async fn call(
        self: &Rc<Self>,
        from: Addr,
        to: Addr,
        request: Request,
        timeout: Duration,
    ) -> Result<Reply> {
        let id = self.seq.get() + 1;
        self.seq.set(id);
        self.slots.borrow_mut().insert(id, Slot::default());
        let _guard = SlotGuard(self.clone(), id);
        self.send(from, to, id, request);
        let wait = WaitReply(self.clone(), id);
        let sleep = sleep(self, timeout);
        match futures::future::select(std::pin::pin!(wait), std::pin::pin!(sleep)).await {
            futures::future::Either::Left((reply, _)) => Ok(reply),
            futures::future::Either::Right(_) => Err(Error::new(
                Der::Timedout,
                format!("no answer from {to:?} in {timeout:?}"),
            )),
        }
    }

    fn deliver(self: &Rc<Self>, from: Addr, to: Addr, call: u64, request: Request) {
        if !self.link_up(from, to) {
            return;
        }
        let Addr::Engine(rank) = to else {
            return;
        };
        let Some(engine) = self.engine(rank) else {
            return;
        };
        let owner = Owner::Engine {
            rank,
            life: engine.life,
        };
        let world = self.clone();
        self.spawn(
            owner,
            Box::pin(async move {
                let reply = engine.serve(request).await;
                world.answer(to, from, call, reply);
            }),
        );
    }

    fn receive(&self, from: Addr, to: Addr, call: u64, reply: Reply) {
        if !self.link_up(from, to) {
            return;
        }
        if let Some(slot) = self.slots.borrow_mut().get_mut(&call) {
            slot.reply = Some(reply);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        }
    }

    /// Starts (or restarts) an engine: opens its pool from its files.
    fn start_engine(self: &Rc<Self>, rank: u32, create: bool) {
        let dir = &self.dirs[rank as usize];
        let vos = if create {
            std::fs::create_dir_all(dir).unwrap();
            let meta = PoolMeta {
                uuid: POOL,
                blob: BlobRegion {
                    path: dir.join("blob"),
                    start: 0,
                    len: 1 << 20,
                },
                scm_bytes: 1 << 30,
                log_segment_bytes: daos_vos::wal::SEGMENT_SIZE_MIN,
            };
            let mut vos = VosPool::create(&dir.join("pool"), meta).unwrap();
            vos.create_container(CONT);
            vos.flush_blocking().unwrap();
            vos
        } else {
            match VosPool::open(&dir.join("pool")) {
                Ok(vos) => vos,
                Err(err) => {
                    self.fail(format!("rank {rank} cannot reopen its pool: {err}"));
                    return;
                }
            }
        };
        let life = {
            let mut lives = self.lives.borrow_mut();
            lives[rank as usize] += 1;
            lives[rank as usize]
        };
        let engine = Rc::new(Engine {
            world: self.clone(),
            rank,
            life,
            pool: RefCell::new(EnginePool {
                vos,
                map: Some(self.kept_maps.borrow()[rank as usize].clone()),
                resolution: Resolution::new(self.instant()),
            }),
            waiters: RefCell::new(Vec::new()),
            hlc: Cell::new(0),
        });
        self.engines.borrow_mut()[rank as usize] = Some(engine);
        self.schedule(Duration::from_millis(1000), Event::Tick { rank, life });
        self.log(format!("rank {rank} started (life {life})"));
    }

    /// Kills an engine: its tasks and memory go; of its log, what the disk completed stays,
    /// and the flush in flight is left whole, torn or unwritten.
    fn crash_engine(&self, rank: u32) {
        let Some(engine) = self.engines.borrow_mut()[rank as usize].take() else {
            return;
        };
        let life = engine.life;
        let in_flight = {
            let mut events = self.events.borrow_mut();
            let key = events
                .iter()
                .find(|(_, e)| {
                    matches!(e, Event::FlushDone { rank: r, life: l, .. } if *r == rank && *l == life)
                })
                .map(|(k, _)| *k);
            key.and_then(|k| events.remove(&k))
        };
        let mut what = "nothing in flight".to_string();
        if let Some(Event::FlushDone { job, .. }) = in_flight {
            let blocks = job.buf.len() / daos_vos::BLOCK_SIZE as usize;
            let written = match self.rand(3) {
                0 => 0,
                1 => self.rand(blocks as u64) as usize,
                _ => blocks,
            };
            what = format!("flush in flight: {written} of {blocks} blocks written");
            self.count(match written {
                0 => "crashes losing a log flush",
                w if w < blocks => "crashes tearing a log flush",
                _ => "crashes after a log flush reached the disk",
            });
            if written > 0 {
                let len = written * daos_vos::BLOCK_SIZE as usize;
                engine.pool.borrow().vos.write_flush(&job, len).unwrap();
            }
        }
        self.kill_tasks(Owner::Engine { rank, life });
        self.log(format!("rank {rank} crashed ({what})"));
        self.count("engine crashes");
        assert_eq!(
            Rc::strong_count(&engine),
            1,
            "seed {}: a dead engine's state is still referenced",
            self.seed
        );
        drop(engine);
    }

    fn flush_in_flight(&self, rank: u32) -> bool {
        let life = self.lives.borrow()[rank as usize];
        self.events.borrow().values().any(
            |e| matches!(e, Event::FlushDone { rank: r, life: l, .. } if *r == rank && *l == life),
        )
    }

    fn instant(&self) -> Instant {
        self.base + Duration::from_nanos(self.now())
    }

    /// Writes each live engine's next log flush to its disk queue.
    fn pump_disks(&self) {
        for rank in 0..ENGINES {
            let Some(engine) = self.engine(rank) else {
                continue;
            };
            let job = engine.pool.borrow_mut().vos.take_flush();
            match job {
                Ok(Some(job)) => {
                    let blocks = job.buf.len() / daos_vos::BLOCK_SIZE as usize;
                    let after = if self.chance(3) {
                        self.between(Duration::from_millis(2), Duration::from_millis(20))
                    } else {
                        self.between(Duration::from_micros(30), Duration::from_micros(400))
                    };
                    self.schedule(
                        after,
                        Event::FlushDone {
                            rank,
                            life: engine.life,
                            job,
                        },
                    );
                    // Sometimes the engine dies while this flush is on its way to the disk;
                    // more often when the flush spans blocks, so that a crash can tear it.
                    let odds = if blocks > 1 { 30 } else { 2 };
                    if self.faults_on.get() && self.chance(odds) {
                        let at = self.between(Duration::ZERO, after);
                        let life = engine.life;
                        self.schedule(at, Event::Crash { rank, life });
                    }
                }
                Ok(None) => {}
                Err(err) => self.fail(format!("rank {rank}: log failed: {err}")),
            }
        }
    }

    fn flush_done(&self, rank: u32, life: u64, job: FlushJob) {
        let Some(engine) = self.engine(rank).filter(|e| e.life == life) else {
            return;
        };
        let outcome = engine.pool.borrow().vos.write_flush(&job, job.buf.len());
        engine
            .pool
            .borrow_mut()
            .vos
            .complete_flush(job.last_lsn, outcome);
        for waker in engine.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    fn tick(self: &Rc<Self>, rank: u32, life: u64) {
        let Some(engine) = self.engine(rank).filter(|e| e.life == life) else {
            return;
        };
        let owner = Owner::Engine { rank, life };
        dtx::tick(&engine, &mut |task| self.spawn(owner, task));
        self.schedule(Duration::from_millis(1000), Event::Tick { rank, life });
    }

    /// The modeled pool service, twice a second: excludes engines it has not reached for
    /// [`EXCLUDE_AFTER`] while failures stay within the redundancy factor, fences excluded
    /// engines it reaches, and passes its map on to the engines behind it.
    fn pool_service(self: &Rc<Self>) {
        for rank in 0..ENGINES {
            let reachable = self.engine(rank).is_some() && !self.isolated.borrow().contains(&rank);
            if self.excluded(rank) {
                if reachable {
                    self.log(format!("rank {rank} is excluded and reachable: fenced"));
                    self.count("fenced engines");
                    self.crash_engine(rank);
                }
                continue;
            }
            let since = {
                let mut u = self.unreachable_since.borrow_mut();
                let slot = &mut u[rank as usize];
                if reachable {
                    *slot = None;
                } else if slot.is_none() {
                    *slot = Some(self.now());
                }
                *slot
            };
            let overdue = since.is_some_and(|s| self.now() - s >= EXCLUDE_AFTER.as_nanos() as u64);
            if overdue && self.excluded_count() < self.max_excluded {
                let version = {
                    let mut map = self.map.borrow_mut();
                    map.exclude_rank(rank).unwrap();
                    map.version
                };
                self.log(format!("rank {rank} excluded: pool map version {version}"));
                self.count("exclusions");
            }
        }
        let map = self.map.borrow().clone();
        for rank in 0..ENGINES {
            if self.excluded(rank) {
                continue;
            }
            let Some(engine) = self.engine(rank) else {
                continue;
            };
            let held = engine.pool.borrow().map.as_ref().map_or(0, |m| m.version);
            if held < map.version && !self.isolated.borrow().contains(&rank) {
                let delay = self.latency();
                let owner = Owner::Engine {
                    rank,
                    life: engine.life,
                };
                let world = self.clone();
                let map = map.clone();
                self.spawn(
                    owner,
                    Box::pin(async move {
                        sleep(&world, delay).await;
                        engine.install(map);
                    }),
                );
            }
        }
    }

    /// One random fault, keeping failed engines within the redundancy factor; its repair
    /// is scheduled with it (mostly before the pool service would exclude the engine,
    /// sometimes after).
    fn fault(self: &Rc<Self>) {
        let failed = self.failed();
        let healthy: Vec<u32> = (0..ENGINES).filter(|r| !failed.contains(r)).collect();
        let pick = |v: &[u32]| v[self.rand(v.len() as u64) as usize];
        match self.rand(10) {
            0..=3 if failed.len() < RF && !healthy.is_empty() => {
                // Half the time, an engine in the middle of a log flush.
                let flushing: Vec<u32> = healthy
                    .iter()
                    .copied()
                    .filter(|r| self.flush_in_flight(*r))
                    .collect();
                let rank = if !flushing.is_empty() && self.chance(50) {
                    pick(&flushing)
                } else {
                    pick(&healthy)
                };
                self.crash_engine(rank);
                let after = self.outage();
                self.schedule(after, Event::Repair(Repair::Restart(rank)));
            }
            4 | 5 if failed.len() < RF && !healthy.is_empty() => {
                let outage = self.outage();
                self.isolate(pick(&healthy), outage);
            }
            6 | 7 => {
                let a = self.rand(u64::from(ENGINES)) as u32;
                let b = (a + 1 + self.rand(u64::from(ENGINES) - 1) as u32) % ENGINES;
                let link = (a.min(b), a.max(b));
                self.cut.borrow_mut().insert(link);
                self.log(format!("link {}-{} cut", link.0, link.1));
                self.count("cut links");
                let after = self.outage();
                self.schedule(after, Event::Repair(Repair::Restore(link)));
            }
            8 => {
                let id = self.rand(u64::from(CLIENTS)) as u32;
                self.restart_client(id);
            }
            9 => {
                // An administrator reintegrates an excluded engine that is down (fenced).
                let out: Vec<u32> = (0..ENGINES)
                    .filter(|r| self.excluded(*r) && self.engine(*r).is_none())
                    .collect();
                if !out.is_empty() {
                    self.reintegrate(pick(&out));
                }
            }
            _ => {}
        }
    }

    /// Cuts an engine off from every other node for an outage, if failures stay within the
    /// redundancy factor.
    fn isolate(&self, rank: u32, outage: Duration) {
        let failed = self.failed();
        if failed.contains(&rank) || failed.len() >= RF {
            return;
        }
        self.isolated.borrow_mut().insert(rank);
        self.log(format!("rank {rank} isolated for {outage:?}"));
        self.count("isolated engines");
        self.schedule(outage, Event::Repair(Repair::Reconnect(rank)));
    }

    /// How long a fault lasts: mostly less than the pool service waits before excluding.
    fn outage(&self) -> Duration {
        if self.chance(15) {
            self.between(Duration::from_secs(6), Duration::from_secs(20))
        } else {
            self.between(Duration::from_millis(20), Duration::from_secs(4))
        }
    }

    /// Restarts an excluded engine and reintegrates it (`Down` → `Up`); with no rebuild here,
    /// it stays `Up`: written to, never read, and counted among the failed engines.
    fn reintegrate(self: &Rc<Self>, rank: u32) {
        let version = {
            let mut map = self.map.borrow_mut();
            map.reintegrate_rank(rank).unwrap();
            map.version
        };
        self.log(format!(
            "rank {rank} reintegrated: pool map version {version}"
        ));
        self.count("reintegrations");
        self.unreachable_since.borrow_mut()[rank as usize] = None;
        self.start_engine(rank, false);
    }

    fn repair(self: &Rc<Self>, repair: Repair) {
        match repair {
            Repair::Restart(rank) => {
                // An excluded engine stays down (fenced) until reintegrated.
                if self.engine(rank).is_none() && !self.excluded(rank) {
                    self.start_engine(rank, false);
                }
            }
            Repair::Reconnect(rank) => {
                if self.isolated.borrow_mut().remove(&rank) {
                    self.log(format!("rank {rank} reachable again"));
                }
            }
            Repair::Restore(link) => {
                if self.cut.borrow_mut().remove(&link) {
                    self.log(format!("link {}-{} restored", link.0, link.1));
                }
            }
        }
    }

    /// Kills a client process (whatever it was doing is left as it is) and starts a new one.
    fn restart_client(self: &Rc<Self>, id: u32) {
        let life = self.client_lives.borrow()[id as usize];
        self.kill_tasks(Owner::Client { id, life });
        self.log(format!("client {id} died"));
        self.count("client deaths");
        self.start_client(id);
    }

    fn start_client(self: &Rc<Self>, id: u32) {
        let life = {
            let mut lives = self.client_lives.borrow_mut();
            lives[id as usize] += 1;
            lives[id as usize]
        };
        let client = Rc::new(Client {
            world: self.clone(),
            id,
            map: RefCell::new(self.map.borrow().clone()),
            hlc: Cell::new(0),
        });
        self.spawn(
            Owner::Client { id, life },
            Box::pin(async move { client.run().await }),
        );
    }

    /// Runs until virtual time `until`, or a failure.
    fn run_until(self: &Rc<Self>, until: u64, mut on_event: impl FnMut(&Rc<World>)) {
        loop {
            self.run_ready();
            self.pump_disks();
            if self.failure.borrow().is_some() {
                return;
            }
            if !self.ready.0.lock().unwrap().is_empty() {
                continue;
            }
            let first = self.events.borrow().first_key_value().map(|(k, _)| *k);
            let Some((at, seq)) = first.filter(|(at, _)| *at <= until) else {
                self.now.set(until.max(self.now()));
                return;
            };
            let event = self
                .events
                .borrow_mut()
                .remove(&(at, seq))
                .expect("first event");
            self.now.set(at.max(self.now()));
            match event {
                Event::Wake(waker) => waker.wake(),
                Event::Deliver {
                    from,
                    to,
                    call,
                    request,
                } => self.deliver(from, to, call, request),
                Event::Answer {
                    from,
                    to,
                    call,
                    reply,
                } => self.receive(from, to, call, reply),
                Event::FlushDone { rank, life, job } => self.flush_done(rank, life, job),
                Event::Tick { rank, life } => self.tick(rank, life),
                Event::Repair(repair) => self.repair(repair),
                Event::Isolate { rank } if self.faults_on.get() => {
                    let after = self.between(Duration::from_secs(6), Duration::from_secs(20));
                    self.isolate(rank, after);
                }
                Event::Isolate { .. } => {}
                Event::Crash { rank, life } if self.faults_on.get() => {
                    let alive = self.engine(rank).is_some_and(|e| e.life == life);
                    let failed = self.failed();
                    if alive && !failed.contains(&rank) && failed.len() < RF {
                        self.crash_engine(rank);
                        let after = self.outage();
                        self.schedule(after, Event::Repair(Repair::Restart(rank)));
                    }
                }
                Event::Crash { .. } => {}
            }
            on_event(self);
        }
    }

    /// Drops every task and engine (their files stay in the temporary directory).
    fn shut_down(&self) {
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        drop(tasks);
        self.events.borrow_mut().clear();
        for engine in self.engines.borrow_mut().iter_mut() {
            engine.take();
        }
    }
}

struct SlotGuard(Rc<World>, u64);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.slots.borrow_mut().remove(&self.1);
    }
}

struct WaitReply(Rc<World>, u64);

impl Future for WaitReply {
    type Output = Reply;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let mut slots = self.0.slots.borrow_mut();
        let slot = slots
            .get_mut(&self.1)
            .expect("slot lives as long as its call");
        match slot.reply.take() {
            Some(reply) => Poll::Ready(reply),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct Sleep {
    world: Rc<World>,
    at: u64,
    armed: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.world.now() >= self.at {
            return Poll::Ready(());
        }
        if !self.armed {
            self.armed = true;
            let after = Duration::from_nanos(self.at - self.world.now());
            self.world.schedule(after, Event::Wake(cx.waker().clone()));
        }
        Poll::Pending
    }
}

fn sleep(world: &Rc<World>, duration: Duration) -> Sleep {
    Sleep {
        world: world.clone(),
        at: world.now() + duration.as_nanos() as u64,
        armed: false,
    }
}

/// A hybrid logical clock over the virtual clock: unique per owner through its low bits.
fn hlc_next(clock: &Cell<u64>, now: u64, id: u64) -> u64 {
    let physical = (now + (1 << 40)) & !0xFFFF;
    let mut next = physical.max(clock.get() + 1);
    next = (next & !0xF) | id;
    if next <= clock.get() {
        next += 0x10;
    }
    clock.set(next);
    next
}

fn inline_value(bytes: &[u8]) -> UpdateIod {
    UpdateIod {
        record: IodRecord {
            akey: b"a".to_vec(),
            entry: IodEntry::Single(SingleEntry {
                size: bytes.len() as u64,
                data: Stored::Inline(bytes.into()),
                csum: None,
            }),
        },
        flags: 0,
    }
}

/// A single value and the epoch it was written at.
type Version = (u64, Vec<u8>);

/// The single value of (`oid`, `shard`, `dkey`, akey "a") visible at `epoch`, with the epoch
/// it was written at.
fn visible(
    vos: &VosPool,
    oid: ObjectId,
    shard: u32,
    dkey: &[u8],
    epoch: u64,
) -> Result<Option<Version>> {
    read_at(vos, oid, shard, dkey, epoch).map(|(value, _)| value)
}

/// [`visible`], with the LSN the read depends on (answered once it is durable).
fn read_at(
    vos: &VosPool,
    oid: ObjectId,
    shard: u32,
    dkey: &[u8],
    epoch: u64,
) -> Result<(Option<Version>, u64)> {
    let iod = FetchIod {
        akey: b"a",
        array: false,
        size: 0,
        recxs: &[],
    };
    let (plans, lsn) = vos.fetch(&CONT, oid, shard, epoch, dkey, &[iod])?;
    let plan = &plans[0];
    if plan.size == 0 {
        return Ok((None, lsn));
    }
    match plan.pieces.first().map(|p| &p.source) {
        Some(Source::Single { version, .. }) => match &version.data {
            Stored::Inline(bytes) => Ok((Some((version.epoch, bytes.to_vec())), lsn)),
            other => Err(Error::new(
                Der::Inval,
                format!("unexpected storage {other:?}"),
            )),
        },
        other => Err(Error::new(
            Der::Inval,
            format!("unexpected piece {other:?}"),
        )),
    }
}

impl Engine {
    fn check_version(&self, version: u32) -> Result<()> {
        let held = self.pool.borrow().map.as_ref().map_or(0, |m| m.version);
        if version != 0 && held != 0 && version != held {
            return Err(Error::new(
                Der::Stale,
                format!("request routed by pool map version {version}, target holds {held}"),
            ));
        }
        Ok(())
    }

    fn install(&self, map: PoolMap) {
        let mut pool = self.pool.borrow_mut();
        if pool.map.as_ref().is_none_or(|m| m.version < map.version) {
            self.world.kept_maps.borrow_mut()[self.rank as usize] = map.clone();
            self.world.log(format!(
                "rank {} installed map version {}",
                self.rank, map.version
            ));
            // A target returning to the pool drops the shards survivors will push back
            // (the engine's `drop_stale_shards`; here, every shard it holds), which aborts
            // the transactions it had prepared on them.
            let state = |m: &PoolMap| m.target(self.rank, 0).map(|t| t.state);
            let returning = state(&map) == Some(TargetState::Up)
                && pool.map.as_ref().and_then(state) != Some(TargetState::Up);
            if returning {
                let shards: Vec<(Uuid, ObjectId, u32)> = pool
                    .vos
                    .index()
                    .containers
                    .iter()
                    .flat_map(|(cont, c)| {
                        c.objects.keys().map(|(oid, shard)| (*cont, *oid, *shard))
                    })
                    .collect();
                for (cont, oid, shard) in &shards {
                    pool.vos.drop_shard(*cont, *oid, *shard);
                }
                self.world.log(format!(
                    "rank {} returns to the pool: dropped {} shards",
                    self.rank,
                    shards.len()
                ));
            }
            pool.map = Some(map);
        }
    }

    async fn serve(self: &Rc<Self>, request: Request) -> Reply {
        match request {
            Request::Rpc(msg) => Reply::Rpc(self.serve_rpc(&msg).await),
            Request::Prepare {
                version,
                info,
                oid,
                shard,
                epoch,
                dkey,
                value,
            } => Reply::Done(
                self.prepare(version, info, oid, shard, epoch, dkey, value)
                    .await,
            ),
            Request::Fetch {
                version,
                oid,
                shard,
                dkey,
            } => Reply::Value(self.fetch(version, oid, shard, &dkey).await),
        }
    }

    /// A transaction call, decoded and answered as the engine's dispatcher does.
    async fn serve_rpc(self: &Rc<Self>, msg: &[u8]) -> Vec<u8> {
        let (header, body) = match daos_proto::header::decode_request(msg) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.world.fail(format!("undecodable request: {err}"));
                return Vec::new();
            }
        };
        let req = daos_proto::decode_body::<DtxReq>(body.clone()).ok();
        if let Some(req) = &req {
            self.observe(&header, req);
        }
        let result = match header.opcode {
            Opcode::DtxCommit => dtx::commit(self, &header, body).await,
            Opcode::DtxAbort => dtx::abort(self, &header, body).await,
            Opcode::DtxCheck => dtx::check(self, &header, body).await,
            other => Err(Error::new(Der::Proto, format!("{other:?} not simulated"))),
        };
        let (status, body) = match result {
            Ok(body) => (0, body),
            Err(err) => (err.rc(), Vec::new()),
        };
        if let Some(req) = &req {
            self.world.log(format!(
                "rank {} served {:?} of tx {} from {:?}: status {status}",
                self.rank,
                header.opcode,
                req.id,
                addr_of(&header.sender)
            ));
        }
        let reply = ReplyHeader {
            opcode: header.opcode as u16,
            rpc_id: header.rpc_id,
            status,
            map_version: 0,
            hlc: self.hlc_now(),
        };
        let mut e = daos_proto::header::begin_reply(&reply);
        e.raw(&body);
        daos_proto::header::seal(e)
    }

    /// Counts which paths of the protocol a call takes, and sometimes cuts a leader off
    /// for long while it decides a client's commit or abort (before, between or after telling the
    /// other participants) or just after it answered: the next decider must then complete
    /// the transaction from what they hold.
    fn observe(&self, header: &RequestHeader, req: &DtxReq) {
        let world = &self.world;
        let leader = match self.pool.borrow().vos.index().dtx.get(&req.id) {
            Some(DtxEntry::Prepared { info, .. }) => Some(info.leader),
            _ => None,
        };
        let from = addr_of(&header.sender);
        if header.opcode == Opcode::DtxCommit
            && matches!(from, Some(Addr::Engine(_)))
            && world.model.borrow().told_aborted.contains(&req.id)
        {
            world.fail(format!(
                "transaction {} is committed after its leader told its client it was aborted",
                req.id
            ));
        }
        match (header.opcode, from) {
            (Opcode::DtxCheck, _) => world.count("transactions checked by a resolving participant"),
            (Opcode::DtxCommit | Opcode::DtxAbort, Some(Addr::Engine(sender)))
                if leader.is_some_and(|l| l.rank != sender) =>
            {
                world.count("outcomes told by a decider other than the leader")
            }
            (Opcode::DtxCommit | Opcode::DtxAbort, Some(Addr::Client(_)))
                if leader.is_some() && world.faults_on.get() && world.chance(3) =>
            {
                // Half the time while it decides, half the time once it answered.
                let after = if world.chance(50) {
                    world.between(Duration::ZERO, Duration::from_millis(2))
                } else {
                    world.between(Duration::from_millis(2), Duration::from_millis(100))
                };
                world.schedule(after, Event::Isolate { rank: self.rank });
            }
            _ => {}
        }
    }

    /// The VOS part of a replicated `ObjUpdate` (see `daos_engine::obj`): map version and
    /// participants checked, the update prepared, the reply sent once it is durable.
    #[allow(clippy::too_many_arguments)]
    async fn prepare(
        self: &Rc<Self>,
        version: u32,
        info: DtxInfo,
        oid: ObjectId,
        shard: u32,
        epoch: u64,
        dkey: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<()> {
        self.check_version(version)?;
        dtx::check_info(self.as_ref(), &info, shard, version)?;
        // The data moving (an RMA pull into DMA slots and a blob write in the engine); the
        // map may change meanwhile, and the prepare is then refused.
        let moving = self.world.between(Duration::ZERO, Duration::from_millis(2));
        sleep(&self.world, moving).await;
        self.check_version(version)?;
        let lsn = self.pool.borrow_mut().vos.update(
            Some(info),
            CONT,
            oid,
            shard,
            epoch,
            0,
            dkey,
            vec![inline_value(&value)],
            0,
        )?;
        Host::durable(self, POOL, lsn).await
    }

    /// The VOS part of `ObjFetch`: `-DER_INPROGRESS` while a prepared transaction covers
    /// the value, else the visible version, answered once what it read is durable.
    async fn fetch(
        self: &Rc<Self>,
        version: u32,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
    ) -> Result<Option<Version>> {
        self.check_version(version)?;
        let (value, lsn) = {
            let pool = self.pool.borrow();
            let iod = FetchIod {
                akey: b"a",
                array: false,
                size: 0,
                recxs: &[],
            };
            if let Some(id) = pool
                .vos
                .prepared_conflict(&CONT, oid, shard, EPOCH_MAX, dkey, &[iod])
            {
                return Err(Error::new(
                    Der::Inprogress,
                    format!("transaction {id} is not decided yet"),
                ));
            }
            read_at(&pool.vos, oid, shard, dkey, EPOCH_MAX)?
        };
        Host::durable(self, POOL, lsn).await?;
        Ok(value)
    }
}

impl Host for Engine {
    fn rank(&self) -> u32 {
        self.rank
    }

    fn target(&self) -> u32 {
        0
    }

    fn with_pool<T>(&self, pool: &Uuid, f: impl FnOnce(DtxPool<'_>) -> Result<T>) -> Result<T> {
        if *pool != POOL {
            return Err(Error::new(Der::Nonexist, "no such pool here"));
        }
        let mut p = self.pool.borrow_mut();
        let p = &mut *p;
        let result = f(DtxPool {
            vos: &mut p.vos,
            map: p.map.as_ref(),
            resolution: &mut p.resolution,
        });
        // Every outcome is logged through here: a transaction whose abort was confirmed to
        // its client must not be committed on an engine of the pool, even one with nobody
        // left to tell. (An excluded engine deciding by a map it has not replaced yet is
        // not read from, and is fenced.)
        if !self.world.excluded(self.rank) {
            for id in &self.world.model.borrow().told_aborted {
                if let Some(DtxEntry::Committed { .. }) = p.vos.index().dtx.get(id) {
                    self.world.fail(format!(
                        "rank {}: transaction {id} is committed, its client was told it aborted",
                        self.rank
                    ));
                }
            }
        }
        result
    }

    fn pools(&self) -> Vec<Uuid> {
        vec![POOL]
    }

    fn hlc_now(&self) -> u64 {
        hlc_next(&self.hlc, self.world.now(), u64::from(self.rank))
    }

    fn now(&self) -> Instant {
        self.world.instant()
    }

    fn resolves(&self, addr: &[u8]) -> bool {
        addr_of(addr).is_some()
    }

    async fn durable(self: &Rc<Self>, _pool: Uuid, lsn: u64) -> Result<()> {
        std::future::poll_fn(|cx| {
            let pool = self.pool.borrow();
            if let Some(err) = pool.vos.log_failure() {
                return Poll::Ready(Err(err.clone()));
            }
            if pool.vos.durable_lsn() >= lsn {
                return Poll::Ready(Ok(()));
            }
            self.waiters.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    async fn call(
        self: &Rc<Self>,
        addr: &[u8],
        opcode: Opcode,
        req: &DtxReq,
        timeout: Duration,
        version: u32,
    ) -> Result<Vec<u8>> {
        let to = addr_of(addr).ok_or_else(|| Error::new(Der::Inval, "not a simulated address"))?;
        let header = RequestHeader {
            opcode,
            rpc_id: 0,
            reply_capacity: 4096,
            map_version: version,
            hlc: self.hlc_now(),
            sender: target_addr(self.rank),
        };
        let msg = daos_proto::encode_request(&header, req);
        let world = self.world.clone();
        // Outcomes between engines are lost more often than other messages: some
        // participants have an outcome, others must ask for it or get it again.
        if opcode != Opcode::DtxCheck && world.faults_on.get() && world.chance(5) {
            world.log(format!("rank {}: {opcode:?} to {to:?} lost", self.rank));
            world.count("outcome messages lost");
            sleep(&world, timeout).await;
            return Err(Error::new(Der::Timedout, "lost"));
        }
        match world
            .call(Addr::Engine(self.rank), to, Request::Rpc(msg), timeout)
            .await?
        {
            Reply::Rpc(reply) => rpc_status(reply, opcode),
            other => Err(Error::new(Der::Proto, format!("unexpected {other:?}"))),
        }
    }

    async fn sleep(self: &Rc<Self>, duration: Duration) {
        sleep(&self.world, duration).await
    }
}

/// The reply message if its status is 0, else its status as an error.
fn rpc_status(reply: Vec<u8>, opcode: Opcode) -> Result<Vec<u8>> {
    let (header, _) = daos_proto::header::decode_reply(&reply)?;
    if header.status != 0 {
        let der = Der::from_value(-header.status).unwrap_or(Der::Misc);
        return Err(Error::new(der, format!("{opcode:?} refused")));
    }
    Ok(reply)
}

/// A client process.
struct Client {
    world: Rc<World>,
    id: u32,
    map: RefCell<PoolMap>,
    hlc: Cell<u64>,
}

fn oid(index: u64) -> ObjectId {
    ObjectId::new(index + 1, 0).encode(
        ObjectType::MultiHashed,
        ObjectClass::from_name("RP_3G1").unwrap(),
    )
}

fn dkey(index: u32) -> Vec<u8> {
    format!("dkey{index}").into_bytes()
}

fn peer(s: &ShardLocation) -> DtxPeer {
    DtxPeer {
        rank: s.rank,
        target: s.target,
        shard: s.shard,
    }
}

impl Client {
    async fn run(self: &Rc<Self>) {
        let mut op = 0u64;
        while self.world.clients_run.get() {
            op += 1;
            let object = self.world.rand(OBJECTS);
            let key = self.world.rand(u64::from(DKEYS)) as u32;
            if self.world.chance(30) {
                self.read(object, key).await;
            } else {
                self.update(object, key, op).await;
            }
            let pause = self
                .world
                .between(Duration::from_millis(1), Duration::from_millis(300));
            sleep(&self.world, pause).await;
        }
    }

    fn refresh_map(&self) {
        *self.map.borrow_mut() = self.world.map.borrow().clone();
    }

    fn layout(&self, object: u64) -> Layout {
        self.map.borrow().layout(oid(object)).unwrap()
    }

    async fn call(&self, to: u32, request: Request) -> Result<Reply> {
        self.world
            .call(
                Addr::Client(self.id),
                Addr::Engine(to),
                request,
                CALL_TIMEOUT,
            )
            .await
    }

    async fn dtx_call(
        &self,
        leader: &ShardLocation,
        opcode: Opcode,
        req: &DtxReq,
        version: u32,
    ) -> Result<()> {
        let header = RequestHeader {
            opcode,
            rpc_id: 0,
            reply_capacity: 4096,
            map_version: version,
            hlc: hlc_next(&self.hlc, self.world.now(), 8 + u64::from(self.id)),
            sender: client_addr(self.id),
        };
        let msg = daos_proto::encode_request(&header, req);
        match self.call(leader.rank, Request::Rpc(msg)).await? {
            Reply::Rpc(reply) => rpc_status(reply, opcode).map(drop),
            other => Err(Error::new(Der::Proto, format!("unexpected {other:?}"))),
        }
    }

    /// Races `call` against the pool map: ends with `-DER_UNREACH` once the service's map
    /// shows one of `ranks` unavailable, checked every second (`daos_client`'s
    /// `unless_excluded`).
    async fn unless_excluded<T>(
        &self,
        ranks: &[u32],
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let watch = async {
            loop {
                sleep(&self.world, SUSPECT_AFTER).await;
                self.refresh_map();
                let map = self.map.borrow();
                if let Some(rank) = ranks
                    .iter()
                    .find(|r| map.target(**r, 0).is_none_or(|t| t.state.is_unavailable()))
                {
                    return Error::new(Der::Unreach, format!("rank {rank} left the pool"));
                }
            }
        };
        match futures::future::select(std::pin::pin!(call), std::pin::pin!(watch)).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right((err, _)) => Err(err),
        }
    }

    /// Waits until the pool map is newer than `version` (`daos_client`'s `await_new_map`).
    /// Returns false after [`MAP_WAIT`].
    async fn await_new_map(&self, version: u32) -> bool {
        let deadline = self.world.now() + MAP_WAIT.as_nanos() as u64;
        loop {
            if self.map.borrow().version > version {
                return true;
            }
            if self.world.now() >= deadline {
                return false;
            }
            self.refresh_map();
            sleep(&self.world, MAP_REFRESH_INTERVAL).await;
        }
    }

    /// A replicated update as `daos_client`'s fanout sends it: prepared on every write place
    /// of the group under one transaction, committed through the first; after an engine
    /// that did not answer, sent again once the pool map changed; after `-DER_STALE` or
    /// `-DER_TX_RESTART`, sent again by a fresh map; every attempt at the same epoch.
    async fn update(self: &Rc<Self>, object: u64, key: u32, op: u64) {
        let world = &self.world;
        let epoch = hlc_next(&self.hlc, world.now(), 8 + u64::from(self.id));
        let mut value = format!("client {} op {op} epoch {epoch:#x} ", self.id).into_bytes();
        value.resize(64 + world.rand(4000) as usize, b'.');
        world
            .model
            .borrow_mut()
            .written
            .insert((object, key, epoch), value.clone());
        let dkey = dkey(key);
        let mut stale_since: Option<u64> = None;
        loop {
            let version = self.map.borrow().version;
            let layout = self.layout(object);
            let group = layout.group_of(&dkey);
            if !layout.group_is_available(group) {
                world.fail(format!(
                    "object {object}: group unavailable with failures within the redundancy factor (map {version})"
                ));
                return;
            }
            let places = layout.write_places(group);
            let ranks: Vec<u32> = places.iter().map(|s| s.rank).collect();
            let info = DtxInfo {
                id: world.uuid(),
                map_version: version,
                leader: peer(&places[0]),
                peers: places.iter().map(peer).collect(),
            };
            let prepares = places.iter().map(|s| {
                self.call(
                    s.rank,
                    Request::Prepare {
                        version,
                        info: info.clone(),
                        oid: oid(object),
                        shard: s.shard,
                        epoch,
                        dkey: dkey.clone(),
                        value: value.clone(),
                    },
                )
            });
            let all = async { Ok(futures::future::join_all(prepares).await) };
            let results = self
                .unless_excluded(&ranks, all)
                .await
                .unwrap_or_else(|err| vec![Err(err)]);
            world.log(format!(
                "client {} prepared tx {} (object {object} key {key} epoch {epoch:#x}) on ranks {ranks:?}: {results:?}",
                self.id, info.id
            ));
            let (mut failed, mut unreachable, mut stale) = (None, None, None);
            for result in results {
                let result = match result {
                    Ok(Reply::Done(r)) => r,
                    Ok(other) => Err(Error::new(Der::Proto, format!("unexpected {other:?}"))),
                    Err(err) => Err(err),
                };
                match result {
                    Ok(()) => {}
                    Err(err) if is_unreachable(&err) => unreachable = Some(err),
                    Err(err) if err.der() == Der::Stale => stale = Some(err),
                    Err(err) => failed = Some(err),
                }
            }
            let req = DtxReq {
                pool: POOL,
                cont: CONT,
                oid: oid(object),
                shard: places[0].shard,
                id: info.id,
                info: None,
            };
            let outcome = match (failed, unreachable, stale) {
                (None, None, None) => {
                    let commit = self.dtx_call(&places[0], Opcode::DtxCommit, &req, version);
                    self.unless_excluded(&ranks[..1], commit).await
                }
                (failed, unreachable, stale) => {
                    let req = DtxReq {
                        info: Some(info.clone()),
                        ..req
                    };
                    let abort = self.dtx_call(&places[0], Opcode::DtxAbort, &req, version);
                    if self.unless_excluded(&ranks[..1], abort).await.is_ok() {
                        world.count("transactions aborted by their leader for the client");
                        world.model.borrow_mut().told_aborted.insert(info.id);
                    }
                    Err(failed.or(unreachable).or(stale).expect("one error"))
                }
            };
            world.log(format!("client {} tx {}: {outcome:?}", self.id, info.id));
            match outcome {
                Ok(()) => {
                    let mut model = world.model.borrow_mut();
                    model.history.insert((object, key, epoch));
                    model.acks += 1;
                    drop(model);
                    world.log(format!(
                        "client {} acknowledged object {object} key {key} epoch {epoch:#x} (tx {})",
                        self.id, info.id
                    ));
                    return;
                }
                Err(err) if is_unreachable(&err) => {
                    if !self.await_new_map(version).await {
                        world.model.borrow_mut().gave_up += 1;
                        return;
                    }
                }
                Err(err) if matches!(err.der(), Der::Stale | Der::TxRestart) => {
                    let since = *stale_since.get_or_insert(world.now());
                    if world.now() - since >= MAP_WAIT.as_nanos() as u64 {
                        world.model.borrow_mut().gave_up += 1;
                        return;
                    }
                    self.refresh_map();
                    if self.map.borrow().version == version {
                        sleep(world, STALE_PAUSE).await;
                    }
                }
                Err(err) => {
                    // Nothing else can come back from a correct engine here (a commit the
                    // leader does not know means it lost a prepare it acknowledged).
                    world.fail(format!(
                        "client {}: update of object {object} key {key}: {err}",
                        self.id
                    ));
                    return;
                }
            }
        }
    }

    /// A read from a readable replica: at least as new as every update acknowledged before it
    /// started, and one some client wrote (checked again at the end: what a read returned
    /// was committed, so every readable replica must hold it).
    async fn read(self: &Rc<Self>, object: u64, key: u32) {
        let world = &self.world;
        // A client reading by an old map may meet an excluded engine that nothing fenced yet
        // (clients learn maps lazily), which this check does not cover: it reads by the
        // service's current map.
        self.refresh_map();
        let floor = world.model.borrow().newest_acked(object, key);
        let dkey = dkey(key);
        let deadline = world.now() + MAP_WAIT.as_nanos() as u64;
        let mut attempt = world.rand(3) as usize;
        let mut pause = INPROGRESS_PAUSE_MIN;
        while world.now() < deadline {
            let version = self.map.borrow().version;
            let layout = self.layout(object);
            let group = layout.group_of(&dkey);
            let readable: Vec<ShardLocation> = layout
                .readable_places(group)
                .into_iter()
                .flatten()
                .collect();
            let Some(place) = readable.get(attempt % readable.len().max(1)).copied() else {
                world.fail(format!("object {object}: no readable replica"));
                return;
            };
            let fetch = self.call(
                place.rank,
                Request::Fetch {
                    version,
                    oid: oid(object),
                    shard: place.shard,
                    dkey: dkey.clone(),
                },
            );
            let result = match self.unless_excluded(&[place.rank], fetch).await {
                Ok(Reply::Value(r)) => r,
                Ok(other) => Err(Error::new(Der::Proto, format!("unexpected {other:?}"))),
                Err(err) => Err(err),
            };
            match result {
                Ok(value) => {
                    let epoch = value.as_ref().map_or(0, |(e, _)| *e);
                    world.log(format!(
                        "client {} read object {object} key {key} from rank {}: epoch {epoch:#x}",
                        self.id, place.rank
                    ));
                    let mut model = world.model.borrow_mut();
                    model.reads += 1;
                    if epoch < floor {
                        world.fail(format!(
                            "client {}: object {object} key {key} read epoch {epoch:#x} from rank {}, older than acknowledged {floor:#x}",
                            self.id, place.rank
                        ));
                    }
                    if let Some((epoch, bytes)) = value {
                        if model.written.get(&(object, key, epoch)) != Some(&bytes) {
                            world.fail(format!(
                                "client {}: object {object} key {key} read a value at epoch {epoch:#x} no client wrote",
                                self.id
                            ));
                        }
                        model.read.insert((object, key, epoch));
                    }
                    return;
                }
                Err(err) if err.der() == Der::Inprogress => {
                    world.count("reads waiting for a transaction");
                    sleep(world, pause).await;
                    pause = (pause * 2).min(INPROGRESS_PAUSE_MAX);
                }
                Err(err) if is_unreachable(&err) || err.der() == Der::Stale => {
                    attempt += 1;
                    sleep(world, STALE_PAUSE).await;
                    self.refresh_map();
                }
                Err(err) => {
                    world.fail(format!("client {}: read: {err}", self.id));
                    return;
                }
            }
        }
    }
}

/// Errors by which a client learns that an engine did not answer.
fn is_unreachable(err: &Error) -> bool {
    matches!(err.der(), Der::Timedout | Der::Unreach)
}

/// The end state: every engine not excluded is up and resolved everything; every readable
/// replica of every key holds one version, at least the latest acknowledged one.
fn check_end(world: &World) {
    let map = world.map.borrow().clone();
    for rank in 0..ENGINES {
        if world.excluded(rank) {
            continue;
        }
        let engine = world
            .engine(rank)
            .expect("every engine not excluded is back");
        let pool = engine.pool.borrow();
        let model = world.model.borrow();
        for (id, entry) in pool.vos.index().dtx.iter() {
            match entry {
                DtxEntry::Prepared { .. } => {
                    world.fail(format!("rank {rank}: transaction {id} is still prepared"))
                }
                DtxEntry::Committed { .. } if model.told_aborted.contains(id) => {
                    world.fail(format!(
                        "rank {rank}: transaction {id} is committed, its client was told it aborted"
                    ))
                }
                _ => {}
            }
        }
    }
    let model = world.model.borrow();
    for object in 0..OBJECTS {
        let layout = map.layout(oid(object)).unwrap();
        for key in 0..DKEYS {
            let dkey = dkey(key);
            let group = layout.group_of(&dkey);
            let mut seen: Vec<(u32, Option<Version>)> = Vec::new();
            for place in layout.readable_places(group).into_iter().flatten() {
                let engine = world.engine(place.rank).expect("readable places are up");
                let vos = &engine.pool.borrow().vos;
                let value = visible(vos, oid(object), place.shard, &dkey, EPOCH_MAX).unwrap();
                // Every acknowledged version is there, not only the latest, and so is every
                // version a read returned (it was committed).
                let range = (object, key, 0)..=(object, key, u64::MAX);
                for (what, versions) in [("acknowledged", &model.history), ("read", &model.read)] {
                    for &(_, _, epoch) in versions.range(range.clone()) {
                        let at = visible(vos, oid(object), place.shard, &dkey, epoch).unwrap();
                        if at.as_ref().map(|(e, _)| *e) != Some(epoch) {
                            world.fail(format!(
                                "object {object} key {key}: rank {} lacks the version {what} at epoch {epoch:#x}",
                                place.rank
                            ));
                        }
                    }
                }
                seen.push((place.rank, value));
            }
            let floor = model.newest_acked(object, key);
            let first = &seen[0].1;
            if seen.iter().any(|(_, v)| v != first) {
                let epochs: Vec<(u32, u64)> = seen
                    .iter()
                    .map(|(r, v)| (*r, v.as_ref().map_or(0, |(e, _)| *e)))
                    .collect();
                world.fail(format!(
                    "object {object} key {key}: replicas disagree (rank, epoch): {epochs:x?}"
                ));
                continue;
            }
            let epoch = first.as_ref().map_or(0, |(e, _)| *e);
            if epoch < floor {
                world.fail(format!(
                    "object {object} key {key}: acknowledged epoch {floor:#x} lost, replicas hold {epoch:#x}"
                ));
            }
            if let Some((epoch, bytes)) = first {
                if model.written.get(&(object, key, *epoch)) != Some(bytes) {
                    world.fail(format!(
                        "object {object} key {key}: epoch {epoch:#x} holds bytes no client wrote"
                    ));
                }
            }
        }
    }
}

/// What one seed did.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Acknowledged updates, reads, faults by kind.
    counts: BTreeMap<&'static str, u64>,
    /// A digest of the whole trace.
    digest: u64,
}

/// One seed: what it did, or a failure description with the trace's tail.
fn run_seed(seed: u64) -> std::result::Result<Outcome, String> {
    let world = World::new(seed);
    for rank in 0..ENGINES {
        world.start_engine(rank, true);
    }
    for id in 0..CLIENTS {
        world.start_client(id);
    }
    // Faults and the pool service run as periodic steps between events.
    let fault_end = FAULT_PHASE.as_nanos() as u64;
    let mut next_fault = 0u64;
    let mut next_service = 0u64;
    let step = |world: &Rc<World>, next_fault: &mut u64, next_service: &mut u64, faults: bool| {
        let now = world.now();
        if now >= *next_service {
            world.pool_service();
            *next_service = now + Duration::from_millis(500).as_nanos() as u64;
        }
        if faults && now >= *next_fault {
            world.fault();
            *next_fault = now
                + world
                    .between(Duration::from_millis(100), Duration::from_millis(1500))
                    .as_nanos() as u64;
        }
    };
    // Keeps the clock moving while nothing else is scheduled.
    let mut t = 0u64;
    while t < fault_end && world.failure.borrow().is_none() {
        t += Duration::from_millis(100).as_nanos() as u64;
        world.run_until(t, |w| step(w, &mut next_fault, &mut next_service, true));
        step(&world, &mut next_fault, &mut next_service, true);
    }
    // Heal: every link up, every engine not excluded back; clients stop starting operations.
    world.clients_run.set(false);
    world.faults_on.set(false);
    for id in 0..CLIENTS {
        let life = world.client_lives.borrow()[id as usize];
        world.kill_tasks(Owner::Client { id, life });
    }
    world.isolated.borrow_mut().clear();
    world.cut.borrow_mut().clear();
    for rank in 0..ENGINES {
        if world.engine(rank).is_none() && !world.excluded(rank) {
            world.start_engine(rank, false);
        }
    }
    world.log("healed".into());
    let end = fault_end + SETTLE.as_nanos() as u64;
    while t < end && world.failure.borrow().is_none() {
        t += Duration::from_millis(100).as_nanos() as u64;
        world.run_until(t, |w| step(w, &mut next_fault, &mut next_service, false));
        step(&world, &mut next_fault, &mut next_service, false);
    }
    if world.failure.borrow().is_none() {
        check_end(&world);
    }
    let failure = world.failure.borrow().clone();
    let mut counts = world.counts.borrow().clone();
    let model = world.model.borrow();
    counts.insert("updates acknowledged", model.acks);
    counts.insert("updates given up", model.gave_up);
    counts.insert("reads checked", model.reads);
    drop(model);
    let outcome = Outcome {
        counts,
        digest: world.digest.get(),
    };
    let trace = Vec::from(world.trace.borrow().clone()).join("\n");
    world.shut_down();
    assert_eq!(
        Rc::strong_count(&world),
        1,
        "seed {seed}: the world is still referenced"
    );
    match failure {
        None => {
            if std::env::var_os("DAOS_SIM_TRACE").is_some() {
                println!("{trace}");
            }
            Ok(outcome)
        }
        Some(what) => Err(format!("{what}\n--- last events ---\n{trace}")),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn acknowledged_updates_survive_engine_crashes_restarts_and_partitions() {
    let seeds: Vec<u64> = match env_u64("DAOS_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("DAOS_SIM_SEEDS").unwrap_or(500)).collect(),
    };
    let mut total: BTreeMap<&'static str, u64> = BTreeMap::new();
    for seed in seeds.iter().copied() {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_seed(seed)))
            .unwrap_or_else(|panic| {
                eprintln!(
                    "engine simulation panicked with seed {seed} (replay: DAOS_SIM_SEED={seed} cargo test -p daos-engine --test simulation)"
                );
                std::panic::resume_unwind(panic)
            });
        match result {
            Ok(outcome) => {
                if seeds.len() == 1 {
                    println!("seed {seed}: {outcome:?}");
                }
                for (what, n) in outcome.counts {
                    *total.entry(what).or_insert(0) += n;
                }
            }
            Err(failure) => panic!(
                "engine simulation failed with seed {seed} (replay: DAOS_SIM_SEED={seed} cargo test -p daos-engine --test simulation): {failure}"
            ),
        }
    }
    println!("{} seeds: {total:#?}", seeds.len());
    if seeds.len() < 50 {
        return;
    }
    // A run in which nothing is acknowledged, or no fault of a kind happens, checks nothing
    // about it.
    let acked = total.get("updates acknowledged").copied().unwrap_or(0);
    assert!(
        acked >= seeds.len() as u64 * 5,
        "too few updates acknowledged: {acked}"
    );
    for kind in [
        "crashes losing a log flush",
        "crashes tearing a log flush",
        "crashes after a log flush reached the disk",
        "exclusions",
        "fenced engines",
        "reintegrations",
        "isolated engines",
        "cut links",
        "client deaths",
        "outcome messages lost",
        "outcomes told by a decider other than the leader",
        "transactions checked by a resolving participant",
        "transactions aborted by their leader for the client",
        "reads waiting for a transaction",
        "reads checked",
    ] {
        assert!(
            total.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} in {} seeds",
            seeds.len()
        );
    }
}

#[test]
fn a_replayed_seed_does_the_same_thing() {
    let a = run_seed(7);
    let b = run_seed(7);
    assert_eq!(a, b);
}
