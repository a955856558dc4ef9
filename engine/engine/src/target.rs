//! A target: one thread, one fabric endpoint, one io_uring, its share of every pool.
//!
//! Shared nothing: a target's VOS pools, handle tables and buffers are touched only by its
//! own thread. Other threads talk to it through its [`Mailbox`] (the service thread creates
//! pools, propagates container handles and snapshots).
//!
//! The event loop, each turn: mailbox → new requests (each becomes a task) → ready tasks →
//! log flushes → io_uring submit → fabric progress → io_uring completions. When a turn finds
//! nothing to do it keeps spinning for the fabric's spin window, then blocks in `epoll` on
//! the fabric's wait fd, the ring's eventfd and the mailbox's eventfd at once, so an idle
//! target uses no CPU.

use crate::dma::DmaPool;
use crate::region::DataRegion;
use daos_bio::{open_direct, Durability, Uring};
use daos_fabric::{Executor, Incoming, NetContext};
use daos_placement::{PoolMap, TargetState};
use daos_types::{Der, Error, Hlc, Result, Uuid};
use daos_vos::{PoolMeta, VosPool};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A container handle as a target knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleInfo {
    /// The container it opens.
    pub cont: Uuid,
    /// Whether it may write.
    pub write: bool,
}

/// Messages from other threads.
pub enum TargetMsg {
    /// Create this target's share of a pool.
    CreatePool {
        /// Pool.
        uuid: Uuid,
        /// Blob bytes for this target.
        nvme_bytes: u64,
        /// Metadata bytes for this target.
        scm_bytes: u64,
        /// Completion.
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// Destroy this target's share of a pool.
    DestroyPool {
        /// Pool.
        uuid: Uuid,
        /// Completion.
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// Space figures.
    QuerySpace {
        /// Pool.
        uuid: Uuid,
        /// The answer.
        reply: crossbeam_channel::Sender<Result<daos_vos::Space>>,
    },
    /// Create (idempotently) or destroy a container.
    Container {
        /// Pool.
        pool: Uuid,
        /// Container.
        cont: Uuid,
        /// Destroy instead of create.
        destroy: bool,
        /// Completion.
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// Register (`Some`) or drop (`None`) a container handle.
    Handle {
        /// Pool.
        pool: Uuid,
        /// Handle.
        handle: Uuid,
        /// What it opens.
        info: Option<HandleInfo>,
        /// Completion.
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// The snapshot epochs of a container (for aggregation).
    Snapshots {
        /// Pool.
        pool: Uuid,
        /// Container.
        cont: Uuid,
        /// Epochs, ascending.
        epochs: Vec<u64>,
    },
    /// Containers that exist according to the pool service; others are removed.
    Reconcile {
        /// Pool.
        pool: Uuid,
        /// Live containers.
        containers: Vec<Uuid>,
        /// Completion.
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// The pool's current map (at start-up and after every change). A target that turns
    /// `Up` after being out first drops the stale shards rebuild will push back
    /// ([`crate::rebuild::drop_stale_shards`]).
    PoolMap {
        /// Pool.
        pool: Uuid,
        /// The map.
        map: Arc<PoolMap>,
        /// Completion (once the drops are durable).
        reply: crossbeam_channel::Sender<Result<()>>,
    },
    /// Prepare, start, stop or query this target's rebuild of a pool
    /// ([`crate::rebuild::control`]).
    Rebuild {
        /// Pool.
        pool: Uuid,
        /// `REBUILD_*` operation.
        op: u8,
        /// Map version of the job.
        version: u32,
        /// Handle of the job's pushes.
        handle: Uuid,
        /// Erasure-coded cell size (records) of each container, for rebuilding EC shards.
        cells: Arc<crate::rebuild::CellSizes>,
        /// The target's progress.
        reply: crossbeam_channel::Sender<Result<daos_proto::msg::RebuildStatus>>,
    },
    /// A background checkpoint finished.
    CheckpointDone {
        /// Pool.
        pool: Uuid,
        /// LSN it covers.
        lsn: u64,
        /// Its size, or why it failed.
        outcome: Result<u64>,
    },
    /// Stop after finishing work in flight.
    Shutdown,
}

/// Sending side of a target's mailbox.
#[derive(Clone)]
pub struct Mailbox {
    tx: crossbeam_channel::Sender<TargetMsg>,
    fd: Arc<OwnedFd>,
}

impl Mailbox {
    /// A mailbox and its receiving end.
    pub fn new() -> Result<(Mailbox, crossbeam_channel::Receiver<TargetMsg>)> {
        // SAFETY: eventfd takes no memory arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::from(std::io::Error::last_os_error()));
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok((
            Mailbox {
                tx,
                fd: Arc::new(fd),
            },
            rx,
        ))
    }

    /// Delivers a message and wakes the target.
    pub fn send(&self, msg: TargetMsg) {
        if self.tx.send(msg).is_ok() {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a local to our eventfd.
            unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Sends a message carrying a reply channel and waits for the answer.
    ///
    /// Errors: `-DER_TIMEDOUT` if the target does not answer in `timeout`; `-DER_SHUTDOWN` if
    /// it has stopped.
    pub fn call<T>(
        &self,
        timeout: Duration,
        make: impl FnOnce(crossbeam_channel::Sender<Result<T>>) -> TargetMsg,
    ) -> Result<T> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(make(tx));
        match rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                Err(Error::new(Der::Timedout, "target did not answer"))
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                Err(Error::new(Der::Shutdown, "target stopped"))
            }
        }
    }

    fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A pool's share on this target.
pub struct TargetPool {
    /// The VOS pool.
    pub vos: VosPool,
    /// The data file, opened `O_DIRECT | O_DSYNC`.
    pub blob: File,
    /// Container handles.
    pub handles: HashMap<Uuid, HandleInfo>,
    /// Tasks waiting for an LSN to become durable.
    waiters: Vec<(u64, Waker)>,
    /// Snapshot epochs per container.
    pub snapshots: HashMap<Uuid, Vec<u64>>,
    /// Aggregation progress: the containers left in this pass and the object to resume at.
    aggregation: Option<(Vec<Uuid>, Option<ShardCursor>)>,
    /// LSN applied when the last aggregation pass started.
    aggregated_lsn: u64,
    /// When the applied LSN was last seen to move (at a tick, so no earlier than the change).
    changed_at: Instant,
    /// When the last aggregation pass started.
    passed_at: Option<Instant>,
    /// An update is waiting for blob space: aggregate now, as under space pressure.
    pub starved: bool,
    /// The pool map as the engine's service last passed it on (`None` until then).
    pub map: Option<Arc<PoolMap>>,
    /// The handle of the current rebuild job's pushes: valid for every container.
    pub rebuild_handle: Option<Uuid>,
    /// The pool is short of space ([`short_of_space`]): set by updates as they consume it and
    /// recomputed by each aggregation step, which runs every [`URGENT_AGGREGATION_INTERVAL`]
    /// while it holds.
    pub pressure: bool,
    /// What the resolution of transactions left prepared keeps (see [`crate::dtx::tick`]).
    pub resolution: crate::dtx::Resolution,
}

impl TargetPool {
    fn new(vos: VosPool, blob: File) -> TargetPool {
        TargetPool {
            vos,
            blob,
            handles: HashMap::new(),
            waiters: Vec::new(),
            snapshots: HashMap::new(),
            aggregation: None,
            aggregated_lsn: 0,
            changed_at: Instant::now(),
            passed_at: None,
            starved: false,
            pressure: false,
            map: None,
            rebuild_handle: None,
            resolution: crate::dtx::Resolution::new(Instant::now()),
        }
    }
}

/// Mutable state of a target.
pub struct State {
    /// Pools by UUID.
    pub pools: HashMap<Uuid, TargetPool>,
    stopping: bool,
}

/// Everything a target's tasks share. Lives on the target's thread only.
pub struct Ctx {
    /// Target index within the engine.
    pub index: u32,
    /// The engine's rank.
    pub rank: u32,
    /// The target's endpoint.
    pub net: Arc<NetContext>,
    /// The target's ring.
    pub uring: Uring,
    /// Registered bulk buffers.
    pub dma: Arc<DmaPool>,
    /// The engine's clock.
    pub hlc: Arc<Hlc>,
    /// Mutable state; never borrowed across an `.await`.
    pub state: RefCell<State>,
    /// Rebuild jobs by pool.
    pub rebuilds: RefCell<HashMap<Uuid, crate::rebuild::Job>>,
    /// This target's data region.
    pub region: DataRegion,
    /// Metadata directory of the engine.
    pub meta_dir: PathBuf,
    /// Metadata budget of this target, bytes.
    pub scm_bytes: u64,
    mailbox: Mailbox,
}

/// Directory of a pool's share on target `index`.
pub fn pool_dir(meta_dir: &std::path::Path, pool: &Uuid, index: u32) -> PathBuf {
    meta_dir
        .join("pools")
        .join(pool.to_string())
        .join(format!("tgt-{index}"))
}

impl Ctx {
    /// Runs `f` on a pool, or fails with `-DER_NONEXIST`.
    pub fn with_pool<T>(
        &self,
        pool: &Uuid,
        f: impl FnOnce(&mut TargetPool) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.borrow_mut();
        let target_pool = state.pools.get_mut(pool).ok_or_else(|| {
            Error::new(
                Der::Nonexist,
                format!("pool {pool} has no target {} here", self.index),
            )
        })?;
        f(target_pool)
    }

    /// Waits until `lsn` of `pool` is durable.
    pub fn durable(self: &Rc<Self>, pool: Uuid, lsn: u64) -> WaitDurable {
        WaitDurable {
            ctx: self.clone(),
            pool,
            lsn,
        }
    }

    fn open_pools(&self) -> Result<()> {
        let pools_dir = self.meta_dir.join("pools");
        let Ok(entries) = std::fs::read_dir(&pools_dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let Ok(uuid) = entry.file_name().to_string_lossy().parse::<Uuid>() else {
                continue;
            };
            let dir = pool_dir(&self.meta_dir, &uuid, self.index);
            if !dir.join("pool.meta").exists() {
                continue;
            }
            let vos = VosPool::open(&dir).map_err(|e| {
                e.with_context(format!("opening pool {uuid} target {}", self.index))
            })?;
            let blob = open_direct(&vos.meta().blob.path, 0, false, Durability::Synchronous)?;
            tracing::info!(
                "target {}: pool {uuid} recovered (checkpoint LSN {})",
                self.index,
                vos.checkpoint_lsn()
            );
            self.state
                .borrow_mut()
                .pools
                .insert(uuid, TargetPool::new(vos, blob));
        }
        Ok(())
    }

    fn create_pool(&self, uuid: Uuid, nvme_bytes: u64, scm_bytes: u64) -> Result<()> {
        if self.state.borrow().pools.contains_key(&uuid) {
            return Err(Error::new(
                Der::Exist,
                format!("pool {uuid} exists on target {}", self.index),
            ));
        }
        let used_scm: u64 = self
            .state
            .borrow()
            .pools
            .values()
            .map(|p| p.vos.meta().scm_bytes)
            .sum();
        if used_scm + scm_bytes > self.scm_bytes {
            return Err(Error::new(
                Der::Nospace,
                format!(
                    "target {}: {scm_bytes} metadata bytes asked, {} left",
                    self.index,
                    self.scm_bytes.saturating_sub(used_scm)
                ),
            ));
        }
        let taken: Vec<(u64, u64)> = self
            .state
            .borrow()
            .pools
            .values()
            .map(|p| (p.vos.meta().blob.start, p.vos.meta().blob.len))
            .collect();
        let start = self.region.place(nvme_bytes, &taken)?;
        self.region.ensure_file()?;
        let meta = PoolMeta {
            uuid,
            blob: daos_vos::BlobRegion {
                path: self.region.path.clone(),
                start,
                len: daos_vos::index::align_up(nvme_bytes),
            },
            scm_bytes,
            log_segment_bytes: daos_vos::wal::SEGMENT_SIZE,
        };
        let blob = open_direct(&self.region.path, 0, false, Durability::Synchronous)?;
        // Reserve the blob's blocks now: a sparse data file would otherwise fail writes for
        // space long after the pool was granted, and every first write would pay for block
        // allocation in the file system (1.49 vs 1.76 GB/s measured on ext4).
        daos_bio::reserve(&blob, meta.blob.start, meta.blob.len).map_err(|e| {
            e.with_context(format!(
                "reserving pool {uuid}'s space on target {}",
                self.index
            ))
        })?;
        let vos = VosPool::create(&pool_dir(&self.meta_dir, &uuid, self.index), meta)?;
        self.state
            .borrow_mut()
            .pools
            .insert(uuid, TargetPool::new(vos, blob));
        Ok(())
    }

    fn destroy_pool(&self, uuid: Uuid) -> Result<()> {
        let removed = self.state.borrow_mut().pools.remove(&uuid);
        let Some(mut pool) = removed else {
            return Err(Error::new(
                Der::Nonexist,
                format!("pool {uuid} not on target {}", self.index),
            ));
        };
        for (_, waker) in pool.waiters.drain(..) {
            waker.wake();
        }
        let dir = pool.vos.dir().to_path_buf();
        let region = pool.vos.meta().blob.clone();
        let TargetPool { vos, blob, .. } = pool;
        drop(vos);
        std::fs::remove_dir_all(&dir).map_err(|e| Error::from(e).with_context(dir.display()))?;
        // The metadata is gone, so the blob's bytes are unreachable: return them to the host.
        if let Err(err) = daos_bio::release(&blob, region.start, region.len) {
            tracing::warn!(
                "target {}: pool {uuid}'s space not released: {err}",
                self.index
            );
        }
        Ok(())
    }

    fn wake_durable(&self, pool: &Uuid) {
        let wakers: Vec<Waker> = {
            let mut state = self.state.borrow_mut();
            let Some(p) = state.pools.get_mut(pool) else {
                return;
            };
            let durable = p.vos.durable_lsn();
            let failed = p.vos.log_failure().is_some();
            let (ready, waiting): (Vec<_>, Vec<_>) = p
                .waiters
                .drain(..)
                .partition(|(lsn, _)| failed || *lsn <= durable);
            p.waiters = waiting;
            ready.into_iter().map(|(_, w)| w).collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Future of [`Ctx::durable`].
pub struct WaitDurable {
    ctx: Rc<Ctx>,
    pool: Uuid,
    lsn: u64,
}

impl Future for WaitDurable {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut state = self.ctx.state.borrow_mut();
        let Some(pool) = state.pools.get_mut(&self.pool) else {
            return Poll::Ready(Err(Error::new(
                Der::Shutdown,
                "pool went away before the write was durable",
            )));
        };
        if let Some(err) = pool.vos.log_failure() {
            return Poll::Ready(Err(Error::new(
                Der::Io,
                format!("write not durable: {err}"),
            )));
        }
        if pool.vos.durable_lsn() >= self.lsn {
            return Poll::Ready(Ok(()));
        }
        pool.waiters.push((self.lsn, cx.waker().clone()));
        Poll::Pending
    }
}

type Task = dyn Future<Output = ()>;

/// How code outside the event loop hands a task to the target's executor.
pub type Spawn<'a> = &'a mut dyn FnMut(Pin<Box<Task>>);

/// A target keeps spinning this long after its last activity before it sleeps: a client's
/// next request usually arrives within a round trip, and waking from the fabric's wait object
/// costs ~75 us on tcp;ofi_rxm here (measured; see `daos_fabric::context`).
const TARGET_SPIN: Duration = Duration::from_micros(100);

/// Everything a target thread needs to start.
pub struct TargetSetup {
    /// Target index.
    pub index: u32,
    /// Engine rank.
    pub rank: u32,
    /// Endpoint.
    pub net: Arc<NetContext>,
    /// Engine clock.
    pub hlc: Arc<Hlc>,
    /// Data region.
    pub region: DataRegion,
    /// Metadata directory.
    pub meta_dir: PathBuf,
    /// Metadata budget, bytes.
    pub scm_bytes: u64,
    /// Bulk buffer slots.
    pub dma_slots: usize,
    /// Mailbox.
    pub mailbox: Mailbox,
    /// Receiving end of the mailbox.
    pub inbox: crossbeam_channel::Receiver<TargetMsg>,
    /// Reports start-up success or failure.
    pub ready: crossbeam_channel::Sender<Result<()>>,
}

/// Runs a target until it is told to shut down.
pub fn run(setup: TargetSetup) {
    let TargetSetup {
        index,
        rank,
        net,
        hlc,
        region,
        meta_dir,
        scm_bytes,
        dma_slots,
        mailbox,
        inbox,
        ready,
    } = setup;
    let started = (|| -> Result<Rc<Ctx>> {
        let uring = Uring::new(256)?;
        let dma = DmaPool::new(net.fabric(), dma_slots)?;
        let ctx = Rc::new(Ctx {
            index,
            rank,
            net,
            uring,
            dma,
            hlc,
            state: RefCell::new(State {
                pools: HashMap::new(),
                stopping: false,
            }),
            rebuilds: RefCell::new(HashMap::new()),
            region,
            meta_dir,
            scm_bytes,
            mailbox,
        });
        ctx.open_pools()?;
        Ok(ctx)
    })();
    let ctx = match started {
        Ok(ctx) => {
            let _ = ready.send(Ok(()));
            ctx
        }
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    ctx.net.enable_requests(128, daos_proto::MESSAGE_SIZE_MAX);
    if let Err(err) = event_loop(&ctx, &inbox) {
        tracing::error!("target {index} stopped: {err}");
    }
    shutdown(&ctx);
}

pub(crate) struct Poller {
    epoll: OwnedFd,
}

impl Poller {
    pub(crate) fn new(fds: &[RawFd]) -> Result<Poller> {
        // SAFETY: epoll_create1 takes no memory arguments.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(Error::from(std::io::Error::last_os_error()));
        }
        // SAFETY: raw is a fresh descriptor we own.
        let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
        for fd in fds {
            let mut event = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: *fd as u64,
            };
            // SAFETY: registers a valid fd with a valid event struct.
            if unsafe { libc::epoll_ctl(raw, libc::EPOLL_CTL_ADD, *fd, &mut event) } != 0 {
                return Err(Error::from(std::io::Error::last_os_error()));
            }
        }
        Ok(Poller { epoll })
    }

    pub(crate) fn wait(&self, timeout: Duration) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
        let ms = timeout.as_millis().clamp(1, 1000) as i32;
        // SAFETY: events has room for 8 entries.
        unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                ms,
            )
        };
    }
}

fn drain_eventfd(fd: RawFd) {
    let mut value = 0u64;
    // SAFETY: reads 8 bytes into a local from a non-blocking eventfd.
    unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
}

fn event_loop(ctx: &Rc<Ctx>, inbox: &crossbeam_channel::Receiver<TargetMsg>) -> Result<()> {
    let mut fds = vec![ctx.uring.event_fd(), ctx.mailbox.raw_fd()];
    let net_fd = ctx.net.wait_fd();
    fds.extend(net_fd);
    let poller = Poller::new(&fds)?;
    let mut exec: Executor<Task> = Executor::new();
    let mut last_busy = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_aggregate = Instant::now();
    let mut last_dtx_tick = Instant::now();
    loop {
        let mut busy = 0usize;
        while let Ok(msg) = inbox.try_recv() {
            busy += 1;
            handle_message(ctx, msg, &mut exec);
        }
        let stopping = ctx.state.borrow().stopping;
        if !stopping {
            while let Some(incoming) = ctx.net.take_request() {
                busy += 1;
                exec.spawn(Box::pin(serve(ctx.clone(), incoming)));
            }
        }
        busy += exec.run_ready();
        busy += start_flushes(ctx, &mut exec);
        busy += exec.run_ready();
        ctx.uring.submit()?;
        busy += ctx.net.progress();
        busy += ctx.uring.reap();
        if last_tick.elapsed() >= Duration::from_millis(250) {
            last_tick = Instant::now();
            start_checkpoints(ctx);
            aggregate(ctx);
            last_aggregate = Instant::now();
            if last_dtx_tick.elapsed() >= Duration::from_secs(1) {
                last_dtx_tick = Instant::now();
                crate::dtx::tick(ctx, &mut |task| exec.spawn(task));
            }
        } else if last_aggregate.elapsed() >= URGENT_AGGREGATION_INTERVAL
            && ctx
                .state
                .borrow()
                .pools
                .values()
                .any(|p| p.starved || p.pressure)
        {
            // Space runs low or an update waits for it: aggregate without waiting for the tick.
            aggregate(ctx);
            last_aggregate = Instant::now();
        }
        if stopping && exec.is_empty() && ctx.uring.in_flight() == 0 {
            return Ok(());
        }
        if busy > 0 || exec.has_ready() || ctx.uring.has_queued() {
            last_busy = Instant::now();
            continue;
        }
        let idle = last_busy.elapsed();
        // A prepared transaction's commit comes within a round trip or two: worth spinning
        // for, as for I/O in flight, rather than paying a wake-up.
        let io_pending = ctx.uring.in_flight() > 0
            || ctx.net.in_flight() > 0
            || ctx
                .state
                .borrow()
                .pools
                .values()
                .any(|p| p.vos.dtx_pending());
        if idle < ctx.net.spin().max(TARGET_SPIN) || (io_pending && idle < ctx.net.spin_in_flight())
        {
            // Yield rather than pause: on a machine with few cores the client and the other
            // targets may be waiting for this CPU. While I/O is in flight a completion is
            // imminent, and blocking would cost a wake-up.
            std::thread::yield_now();
            continue;
        }
        match net_fd {
            Some(_) if !ctx.net.try_wait() => continue,
            Some(_) => poller.wait(Duration::from_millis(250)),
            // No wait object (shm): poll with a short timeout instead of blocking for long.
            None => poller.wait(Duration::from_millis(1)),
        }
        drain_eventfd(ctx.uring.event_fd());
        drain_eventfd(ctx.mailbox.raw_fd());
    }
}

fn handle_message(ctx: &Rc<Ctx>, msg: TargetMsg, exec: &mut Executor<Task>) {
    match msg {
        TargetMsg::PoolMap { pool, map, reply } => match install_map(ctx, pool, map) {
            // Reply once the drops are durable: the service waits for it, and clients learn
            // the map only after every engine answered.
            Ok(Some(lsn)) => {
                let wait = ctx.durable(pool, lsn);
                exec.spawn(Box::pin(async move {
                    let _ = reply.send(wait.await);
                }));
            }
            Ok(None) => {
                let _ = reply.send(Ok(()));
            }
            Err(err) => {
                let _ = reply.send(Err(err));
            }
        },
        TargetMsg::Rebuild {
            pool,
            op,
            version,
            handle,
            cells,
            reply,
        } => {
            let mut spawn = |task: Pin<Box<Task>>| exec.spawn(task);
            let _ = reply.send(crate::rebuild::control(
                ctx, &mut spawn, pool, op, version, handle, cells,
            ));
        }
        TargetMsg::CreatePool {
            uuid,
            nvme_bytes,
            scm_bytes,
            reply,
        } => {
            let _ = reply.send(ctx.create_pool(uuid, nvme_bytes, scm_bytes));
        }
        TargetMsg::DestroyPool { uuid, reply } => {
            let _ = reply.send(ctx.destroy_pool(uuid));
        }
        TargetMsg::QuerySpace { uuid, reply } => {
            let _ = reply.send(ctx.with_pool(&uuid, |p| Ok(p.vos.space())));
        }
        TargetMsg::Container {
            pool,
            cont,
            destroy,
            reply,
        } => {
            let _ = reply.send(ctx.with_pool(&pool, |p| {
                if destroy {
                    p.vos.destroy_container(cont);
                    p.handles.retain(|_, h| h.cont != cont);
                    p.snapshots.remove(&cont);
                } else {
                    p.vos.create_container(cont);
                }
                Ok(())
            }));
        }
        TargetMsg::Handle {
            pool,
            handle,
            info,
            reply,
        } => {
            let _ = reply.send(ctx.with_pool(&pool, |p| {
                match info {
                    Some(info) => {
                        p.handles.insert(handle, info);
                    }
                    None => {
                        p.handles.remove(&handle);
                    }
                }
                Ok(())
            }));
        }
        TargetMsg::Snapshots { pool, cont, epochs } => {
            let _ = ctx.with_pool(&pool, |p| {
                p.snapshots.insert(cont, epochs);
                Ok(())
            });
        }
        TargetMsg::Reconcile {
            pool,
            containers,
            reply,
        } => {
            let _ = reply.send(ctx.with_pool(&pool, |p| {
                let stale: Vec<Uuid> = p
                    .vos
                    .index()
                    .containers
                    .keys()
                    .filter(|c| !containers.contains(c))
                    .copied()
                    .collect();
                for cont in stale {
                    tracing::info!(
                        "target {}: removing container {cont} that its pool no longer lists",
                        ctx.index
                    );
                    p.vos.destroy_container(cont);
                }
                Ok(())
            }));
        }
        TargetMsg::CheckpointDone { pool, lsn, outcome } => {
            let _ = ctx.with_pool(&pool, |p| {
                if let Err(err) = p.vos.end_checkpoint(lsn, outcome) {
                    tracing::warn!(
                        "target {}: checkpoint of pool {pool} failed: {err}",
                        ctx.index
                    );
                }
                Ok(())
            });
        }
        TargetMsg::Shutdown => {
            ctx.state.borrow_mut().stopping = true;
            ctx.net.close();
        }
    }
}

/// Takes a newer pool map; when this target returns to the pool (`Up` after any other state),
/// drops the stale shards first. Returns the LSN to wait for before answering, if any.
fn install_map(ctx: &Rc<Ctx>, pool: Uuid, map: Arc<PoolMap>) -> Result<Option<u64>> {
    let me = |m: &PoolMap| m.target(ctx.rank, ctx.index).map(|t| t.state);
    let before = ctx.with_pool(&pool, |p| {
        if p.map.as_ref().is_some_and(|m| m.version >= map.version) {
            return Ok(None);
        }
        let before = p.map.as_deref().and_then(me);
        p.map = Some(map.clone());
        Ok(Some(before))
    })?;
    let Some(before) = before else {
        return Ok(None);
    };
    // `before` may still be `UpIn` when this engine never saw its own exclusion (it was
    // unreachable then): what it holds is stale all the same.
    let returning = me(&map) == Some(TargetState::Up) && before != Some(TargetState::Up);
    if !returning {
        return Ok(None);
    }
    Ok(crate::rebuild::drop_stale_shards(ctx, &pool, &map)?
        .last()
        .copied())
}

/// Starts a log flush for every pool with records waiting and none in flight.
fn start_flushes(ctx: &Rc<Ctx>, exec: &mut Executor<Task>) -> usize {
    let mut jobs = Vec::new();
    {
        let mut state = ctx.state.borrow_mut();
        for (uuid, pool) in state.pools.iter_mut() {
            match pool.vos.take_flush() {
                Ok(Some(job)) => jobs.push((*uuid, job)),
                Ok(None) => {}
                Err(_) => {
                    // The log has failed; release anyone waiting so they report the error.
                    for (_, waker) in pool.waiters.drain(..) {
                        waker.wake();
                    }
                }
            }
        }
    }
    let count = jobs.len();
    for (uuid, job) in jobs {
        let ctx = ctx.clone();
        exec.spawn(Box::pin(async move {
            let expected = job.buf.len();
            let (written, _) = ctx.uring.write(job.fd, job.buf, job.offset).await;
            let outcome = match written {
                Ok(n) if n == expected => Ok(()),
                Ok(n) => Err(Error::new(
                    Der::Io,
                    format!("short log write: {n} of {expected} bytes"),
                )),
                Err(err) => Err(err),
            };
            let _ = ctx.with_pool(&uuid, |p| {
                p.vos.complete_flush(job.last_lsn, outcome);
                Ok(())
            });
            ctx.wake_durable(&uuid);
        }));
    }
    count
}

/// Where an aggregation pass resumes inside a container: an object id and shard.
type ShardCursor = (daos_types::ObjectId, u32);

/// How far behind the clock aggregation stays: recent history remains readable at any epoch
/// for this long (`DAOS_RS_AGG_DELAY_MS` overrides it).
fn aggregation_delay() -> Duration {
    std::env::var("DAOS_RS_AGG_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

/// Objects one aggregation step visits, so a step never stalls the target for long.
const AGGREGATION_BUDGET: usize = 256;

/// The aggregation delay under space pressure: when less than [`PRESSURE_FRACTION`] of a
/// target's blob or of its metadata space is free, aggregation closes in on the clock (as DAOS aggregates urgently when
/// space runs low) so that sustained overwrites reuse space instead of failing with
/// `-DER_NOSPACE`.
const PRESSURE_DELAY: Duration = Duration::from_millis(200);
/// Free fraction of the blob or metadata space (1/n) below which a pool is under space pressure.
const PRESSURE_FRACTION: u64 = 4;
/// How often aggregation steps run while a pool is under space pressure or an update waits
/// for space (instead of once per 250 ms tick: a burst of small overwrites fills the metadata
/// space within a few ticks).
const URGENT_AGGREGATION_INTERVAL: Duration = Duration::from_millis(10);

/// Whether a pool is under space pressure: less than 1/[`PRESSURE_FRACTION`] of its blob or
/// of its metadata space is free. Metadata space counts too: small values live inline there
/// while it lasts, and once it is spent they spill to the blob and every read of them goes
/// to disk.
pub fn short_of_space(vos: &VosPool) -> bool {
    let space = vos.space();
    space.nvme_free < space.nvme_total / PRESSURE_FRACTION
        || space.scm_free < space.scm_total / PRESSURE_FRACTION
}

/// Runs one bounded aggregation step on every pool with versions the last pass could not
/// reach: it changed since that pass started, or that pass's boundary fell before the last
/// change (so an idle pool's last writes are aggregated too, once they are old enough).
fn aggregate(ctx: &Rc<Ctx>) {
    let normal = aggregation_delay();
    let now = Instant::now();
    let clock = daos_types::epoch::hlc_to_nanos(ctx.hlc.now());
    let mut state = ctx.state.borrow_mut();
    for pool in state.pools.values_mut() {
        let pressure = std::mem::take(&mut pool.starved) || short_of_space(&pool.vos);
        pool.pressure = pressure;
        let delay = if pressure {
            normal.min(PRESSURE_DELAY)
        } else {
            normal
        };
        let boundary = clock.saturating_sub(delay.as_nanos() as u64);
        let applied = pool.vos.applied_lsn();
        if applied != pool.aggregated_lsn {
            pool.changed_at = now;
        }
        if pool.aggregation.is_none() {
            let reached = pool
                .passed_at
                .is_some_and(|passed| passed >= pool.changed_at + delay);
            if (applied == pool.aggregated_lsn && reached) || pool.vos.checkpoint_due() {
                continue;
            }
            pool.aggregated_lsn = applied;
            pool.passed_at = Some(now);
            pool.aggregation = Some((pool.vos.containers(), None));
        }
        let Some((containers, cursor)) = pool.aggregation.take() else {
            continue;
        };
        let Some(&cont) = containers.last() else {
            continue;
        };
        let snapshots = pool.snapshots.get(&cont).cloned().unwrap_or_default();
        let budget = if pressure {
            4 * AGGREGATION_BUDGET
        } else {
            AGGREGATION_BUDGET
        };
        let (logged, next) = pool
            .vos
            .aggregate(cont, &snapshots, boundary, cursor, budget);
        if !logged.is_empty() {
            tracing::debug!(
                "target {}: aggregation logged {} records in container {cont}",
                ctx.index,
                logged.len()
            );
        }
        let mut containers = containers;
        match next {
            Some(next) => pool.aggregation = Some((containers, Some(next))),
            None => {
                containers.pop();
                if !containers.is_empty() {
                    pool.aggregation = Some((containers, None));
                }
            }
        }
    }
}

/// Starts background checkpoints where the log has grown enough.
fn start_checkpoints(ctx: &Rc<Ctx>) {
    let mut state = ctx.state.borrow_mut();
    for (uuid, pool) in state.pools.iter_mut() {
        if !pool.vos.checkpoint_due() {
            continue;
        }
        let Some((dir, snapshot)) = pool.vos.begin_checkpoint() else {
            continue;
        };
        let mailbox = ctx.mailbox.clone();
        let pool_uuid = *uuid;
        let lsn = snapshot.last_lsn;
        let target = ctx.index;
        let spawned = std::thread::Builder::new()
            .name(format!("ckpt-{target}"))
            .spawn(move || {
                let outcome = daos_vos::checkpoint::write(&dir, &snapshot);
                mailbox.send(TargetMsg::CheckpointDone {
                    pool: pool_uuid,
                    lsn,
                    outcome,
                });
            });
        if let Err(err) = spawned {
            let _ = pool.vos.end_checkpoint(lsn, Err(Error::from(err)));
        }
    }
}

fn shutdown(ctx: &Rc<Ctx>) {
    let mut state = ctx.state.borrow_mut();
    for (uuid, pool) in state.pools.iter_mut() {
        if let Err(err) = pool.vos.checkpoint_blocking() {
            tracing::warn!(
                "target {}: final checkpoint of pool {uuid} failed: {err}",
                ctx.index
            );
        }
    }
    tracing::info!("target {} stopped", ctx.index);
}

async fn serve(ctx: Rc<Ctx>, incoming: Incoming) {
    use futures::FutureExt;
    let routed = daos_proto::header::salvage_route(&incoming.data);
    let outcome = std::panic::AssertUnwindSafe(crate::obj::handle(ctx.clone(), incoming))
        .catch_unwind()
        .await;
    if outcome.is_err() {
        tracing::error!(
            "target {}: request handler panicked; replying DER_MISC",
            ctx.index
        );
        if let Some(route) = routed {
            crate::obj::reply_error(&ctx, &route, Error::new(Der::Misc, "internal error")).await;
        }
    }
}
