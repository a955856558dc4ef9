//! A network context: one endpoint, its in-flight operations, timers and progress.
//!
//! Invariants:
//! - Every posted operation owns an `Arc<OpCell>` whose address is the libfabric context; the
//!   reference passed to libfabric is reclaimed exactly once, when the completion (or error
//!   completion) for it is read. Buffers an operation uses live in its cell until then, so
//!   dropping a future early never frees memory the provider may still touch.
//! - Progress (reading the completion queue) only records results and wakes tasks; it never
//!   runs handlers, so it is never re-entered from inside itself.
//! - Idle waiting spins for [`NetContext::spin`] after the last activity, or for up to
//!   [`NetContext::spin_in_flight`] while operations are in flight (a completion is coming),
//!   then blocks on the completion queue's wait object after `fi_trywait` says it is safe. On
//!   this project's machines, blocking costs ~75-85 µs per wake-up while spinning keeps
//!   request latency at the busy-polling figure, and idle contexts use no CPU. Spinning
//!   yields the CPU on every turn, so it never starves a peer on a machine with few cores.

use crate::fabric::{Endpoint, Fabric, RemoteRegion};
use crate::{fi_error, FiAddr, Result};
use daos_types::{Der, Error};
use fabric_sys as sys;
use std::any::Any;
use std::cell::UnsafeCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Tag bit that marks a request (replies use the caller's RPC id, which never has it set).
pub const REQUEST_TAG: u64 = 1 << 63;
/// Largest number of cached peer addresses before the least recently used are removed.
const ADDRESS_CACHE_MAX: usize = 16 * 1024;
/// Default spin window after activity before blocking.
const SPIN_DEFAULT: Duration = Duration::from_micros(50);
/// How long to keep spinning while operations are in flight (a completion is imminent, and
/// blocking costs a wake-up of ~75 us on tcp;ofi_rxm here).
pub const SPIN_IN_FLIGHT: Duration = Duration::from_millis(2);

/// What an operation completed with.
#[derive(Clone, Copy, Debug, Default)]
pub struct Completion {
    /// 0, or the positive `FI_E*` error.
    pub err: i32,
    /// Bytes transferred (received length for receives).
    pub len: usize,
    /// Tag of a received message.
    pub tag: u64,
    /// Bytes that did not fit, for truncation errors.
    pub overflow: usize,
}

/// Memory an operation keeps alive until it completes.
pub enum Hold {
    /// Nothing.
    None,
    /// A byte buffer (message buffers).
    Bytes(Vec<u8>),
    /// Anything else, such as a registered bulk buffer.
    Other(Box<dyn Any + Send>),
}

/// What posting a send or an RMA gave: the operation, or, when the provider answered
/// `-FI_EAGAIN` for [`POST_ATTEMPTS`] attempts in a row, the memory it would have held, to be
/// posted again once other tasks have run (see `rpc`).
pub enum Posted {
    /// Posted; completes as a future.
    Op(OpHandle),
    /// Not posted: the provider stayed busy.
    Busy(Hold),
}

/// Attempts of a send or RMA post that the provider answers `-FI_EAGAIN` (progress is driven
/// between them) before the caller gets [`Posted::Busy`].
pub const POST_ATTEMPTS: u32 = 512;
/// Attempts of a receive post before it fails: receives do not depend on a peer, so busy
/// here means the receive queue itself is full.
const RECV_ATTEMPTS: u32 = 2_000_000;

impl Hold {
    /// The byte buffer, if this holds one.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Hold::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Normal,
    Request,
}

struct OpState {
    result: Option<Completion>,
    waker: Option<Waker>,
    hold: Hold,
}

/// One in-flight operation. `repr(C)` with the libfabric context first, so the context
/// pointer libfabric hands back is the cell's address.
#[repr(C)]
struct OpCell {
    fi_context: UnsafeCell<[u64; sys::DFAB_CONTEXT_SIZE / 8]>,
    kind: OpKind,
    state: Mutex<OpState>,
}

// SAFETY: fi_context is only touched by libfabric between post and completion; all Rust-side
// state is behind the Mutex.
unsafe impl Sync for OpCell {}

impl OpCell {
    fn context_ptr(self: &Arc<Self>) -> *mut c_void {
        Arc::as_ptr(self) as *mut c_void
    }
}

/// A posted operation; resolves to its completion and the memory it held.
pub struct OpHandle {
    cell: Arc<OpCell>,
    ctx: Arc<NetContext>,
}

impl OpHandle {
    /// Asks the provider to cancel the operation (`fi_cancel`). It still completes, with
    /// `FI_ECANCELED`, and only then is its memory released.
    pub fn cancel(&self) {
        // SAFETY: the endpoint is alive (we hold an Arc to its context) and the context pointer
        // is that of an operation posted on it; cancelling a finished op is a harmless no-op.
        unsafe { sys::dfab_cancel(self.ctx.ep.raw, self.cell.context_ptr()) };
    }
}

impl Future for OpHandle {
    type Output = (Completion, Hold);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.cell.state.lock().expect("op state poisoned");
        match state.result {
            Some(done) => Poll::Ready((done, std::mem::replace(&mut state.hold, Hold::None))),
            None => {
                if !state
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    state.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Pending timers by `(deadline, id)`; a dropped timer removes its entry, so the map holds
/// only live timers and its first key is the next deadline.
struct Timers {
    pending: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

struct AddressCache {
    map: HashMap<Vec<u8>, (FiAddr, u64)>,
    clock: u64,
}

/// A received request.
#[derive(Debug)]
pub struct Incoming {
    /// The bytes received (as many as fit in the buffer).
    pub data: Vec<u8>,
    /// Whether the message was larger than the receive buffer and was cut short.
    pub truncated: bool,
}

struct RequestPool {
    enabled: bool,
    size: usize,
    to_post: usize,
    incoming: VecDeque<Incoming>,
    spare: Vec<Vec<u8>>,
}

/// One endpoint and everything in flight on it. See the module docs for the invariants.
pub struct NetContext {
    pub(crate) ep: Endpoint,
    poll_lock: Mutex<()>,
    addresses: Mutex<AddressCache>,
    rpc_seq: AtomicU64,
    timers: Mutex<Timers>,
    requests: Mutex<RequestPool>,
    last_activity_ns: AtomicU64,
    in_flight: std::sync::atomic::AtomicUsize,
    start: Instant,
    spin: Duration,
    spin_in_flight: Duration,
    closing: AtomicBool,
}

/// Attempts to open an endpoint on an ephemeral port that the system reports taken.
pub const EPHEMERAL_OPEN_ATTEMPTS: u32 = 8;

fn micros_from_env(name: &str, default: Duration) -> Duration {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, Duration::from_micros)
}

impl NetContext {
    /// Opens an endpoint bound to `node:service` (`None` for any address / an ephemeral port).
    ///
    /// An ephemeral port can still be refused as taken: Linux may hand out, for a listening
    /// socket with `SO_REUSEADDR` (the tcp provider's), a port that an outgoing connection
    /// uses, and `listen` then fails. Such an open is tried again with a fresh port, up to
    /// [`EPHEMERAL_OPEN_ATTEMPTS`] times.
    ///
    /// Errors: `-DER_BUSY` when the port is taken, `-DER_HG` for other libfabric failures.
    pub fn open(
        fabric: &Arc<Fabric>,
        node: Option<&str>,
        service: Option<&str>,
    ) -> Result<Arc<NetContext>> {
        let mut attempt = 1;
        let ep = loop {
            match Endpoint::open(fabric, node, service) {
                Err(err)
                    if err.der() == Der::Busy
                        && service.is_none()
                        && attempt < EPHEMERAL_OPEN_ATTEMPTS =>
                {
                    tracing::debug!("endpoint open retried: {err}");
                    attempt += 1;
                }
                other => break other?,
            }
        };
        Ok(Arc::new(NetContext {
            ep,
            poll_lock: Mutex::new(()),
            addresses: Mutex::new(AddressCache {
                map: HashMap::new(),
                clock: 0,
            }),
            // Start RPC ids at a random point so a restarted client does not reuse ids that a
            // slow reply from its previous life might still carry.
            rpc_seq: AtomicU64::new(rand_seed() & (REQUEST_TAG - 1) >> 8),
            timers: Mutex::new(Timers {
                pending: BTreeMap::new(),
                next_id: 0,
            }),
            requests: Mutex::new(RequestPool {
                enabled: false,
                size: 0,
                to_post: 0,
                incoming: VecDeque::new(),
                spare: Vec::new(),
            }),
            last_activity_ns: AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            start: Instant::now(),
            spin: micros_from_env("DAOS_RS_SPIN_US", SPIN_DEFAULT),
            spin_in_flight: micros_from_env("DAOS_RS_SPIN_IN_FLIGHT_US", SPIN_IN_FLIGHT),
            closing: AtomicBool::new(false),
        }))
    }

    /// This endpoint's address, as peers insert it into their address vectors.
    pub fn name(&self) -> &[u8] {
        &self.ep.name
    }

    /// The fabric this context belongs to.
    pub fn fabric(&self) -> &Arc<Fabric> {
        &self.ep.fabric
    }

    /// The spin window used before blocking (`DAOS_RS_SPIN_US`, default 50 µs).
    pub fn spin(&self) -> Duration {
        self.spin
    }

    /// How long to keep spinning while operations are in flight (`DAOS_RS_SPIN_IN_FLIGHT_US`,
    /// default [`SPIN_IN_FLIGHT`]).
    pub fn spin_in_flight(&self) -> Duration {
        self.spin_in_flight
    }

    /// A fresh RPC id (the tag the reply will carry).
    pub fn next_rpc_id(&self) -> u64 {
        self.rpc_seq.fetch_add(1, Ordering::Relaxed) & (REQUEST_TAG - 1)
    }

    /// The fabric address for a peer's raw name, inserting it into the address vector once.
    ///
    /// Errors: `-DER_INVAL` if the provider rejects the name.
    pub fn resolve(&self, name: &[u8]) -> Result<FiAddr> {
        let mut cache = self.addresses.lock().expect("address cache poisoned");
        cache.clock += 1;
        let clock = cache.clock;
        if let Some(entry) = cache.map.get_mut(name) {
            entry.1 = clock;
            return Ok(entry.0);
        }
        if name.len() < 4 || name.len() > 256 {
            return Err(Error::new(
                Der::Inval,
                format!("peer address of {} bytes", name.len()),
            ));
        }
        if cache.map.len() >= ADDRESS_CACHE_MAX {
            self.evict_addresses(&mut cache);
        }
        let mut raw = 0u64;
        // SAFETY: name is a readable buffer of an address in this provider's format (the
        // provider validates its contents); raw is a valid out-pointer.
        let rc = unsafe { sys::dfab_av_insert(self.ep.raw, name.as_ptr().cast(), &mut raw) };
        if rc != 0 {
            return Err(Error::new(
                Der::Inval,
                format!("peer address rejected: {}", fi_error(rc, "fi_av_insert")),
            ));
        }
        cache.map.insert(name.to_vec(), (FiAddr(raw), clock));
        Ok(FiAddr(raw))
    }

    fn evict_addresses(&self, cache: &mut AddressCache) {
        let mut ages: Vec<u64> = cache.map.values().map(|(_, used)| *used).collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() / 4];
        let ep = self.ep.raw;
        cache.map.retain(|_, (addr, used)| {
            if *used > cutoff {
                return true;
            }
            // SAFETY: addr was inserted into this endpoint's AV and is removed once.
            unsafe { sys::dfab_av_remove(ep, addr.0) };
            false
        });
    }

    fn touch(&self) {
        self.last_activity_ns
            .store(self.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_nanos() as u64;
        Duration::from_nanos(now.saturating_sub(self.last_activity_ns.load(Ordering::Relaxed)))
    }

    /// Posts one operation: `post` receives the libfabric context pointer. Retries on
    /// `-FI_EAGAIN` while driving progress, as libfabric requires, up to `attempts` times;
    /// then gives the operation's memory back as [`Posted::Busy`], so that an async caller
    /// can let other tasks run and post again (a peer that is gone keeps the provider busy
    /// for a long time: blocking here would freeze every task of the thread).
    fn submit(
        self: &Arc<Self>,
        kind: OpKind,
        hold: Hold,
        what: &'static str,
        attempts: u32,
        mut post: impl FnMut(*mut c_void) -> isize,
    ) -> Result<Posted> {
        if self.closing.load(Ordering::Relaxed) {
            return Err(Error::new(Der::Shutdown, "network context is closing"));
        }
        let cell = Arc::new(OpCell {
            fi_context: UnsafeCell::new([0; sys::DFAB_CONTEXT_SIZE / 8]),
            kind,
            state: Mutex::new(OpState {
                result: None,
                waker: None,
                hold,
            }),
        });
        let ptr = Arc::into_raw(cell.clone()) as *mut c_void;
        let mut tried: u32 = 0;
        loop {
            let rc = post(ptr);
            if rc == 0 {
                self.touch();
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                return Ok(Posted::Op(OpHandle {
                    cell,
                    ctx: self.clone(),
                }));
            }
            if rc != -(libc::EAGAIN as isize) {
                // SAFETY: the post failed, so libfabric holds no reference; reclaim ours.
                drop(unsafe { Arc::from_raw(ptr as *const OpCell) });
                return Err(fi_error(rc as i32, what));
            }
            tried += 1;
            if tried >= attempts {
                // SAFETY: as above, the post never succeeded.
                drop(unsafe { Arc::from_raw(ptr as *const OpCell) });
                let hold = std::mem::replace(
                    &mut cell.state.lock().expect("op state poisoned").hold,
                    Hold::None,
                );
                return Ok(Posted::Busy(hold));
            }
            if self.progress() == 0 && tried % 64 == 0 {
                // Connection set-up in progress: let the provider's own threads run.
                std::thread::yield_now();
            }
        }
    }

    /// Posts a tagged receive into `buf` for messages with exactly `tag`.
    pub fn post_recv(self: &Arc<Self>, mut buf: Vec<u8>, tag: u64) -> Result<OpHandle> {
        let (ptr, len) = (buf.as_mut_ptr(), buf.len());
        let ep = self.ep.raw;
        let posted = self.submit(
            OpKind::Normal,
            Hold::Bytes(buf),
            "fi_trecv",
            RECV_ATTEMPTS,
            |ctx| {
                // SAFETY: buf lives in the op's Hold until completion; ep is valid.
                unsafe { sys::dfab_trecv(ep, ptr.cast(), len, std::ptr::null_mut(), tag, 0, ctx) }
            },
        )?;
        match posted {
            Posted::Op(op) => Ok(op),
            Posted::Busy(_) => Err(Error::new(Der::Timedout, "fi_trecv: provider stayed busy")),
        }
    }

    /// Sends `msg` to `dest` with `tag`; [`Posted::Busy`] gives `msg` back (as
    /// `Hold::Bytes`) when the provider stays busy.
    pub fn post_send(self: &Arc<Self>, dest: FiAddr, tag: u64, msg: Vec<u8>) -> Result<Posted> {
        let iov = sys::dfab_iov {
            base: msg.as_ptr() as *mut c_void,
            len: msg.len(),
            desc: std::ptr::null_mut(),
        };
        let ep = self.ep.raw;
        self.submit(
            OpKind::Normal,
            Hold::Bytes(msg),
            "fi_tsend",
            POST_ATTEMPTS,
            |ctx| {
                // SAFETY: the message lives in the op's Hold until completion.
                unsafe { sys::dfab_tsendv(ep, &iov, 1, dest.0, tag, ctx) }
            },
        )
    }

    /// Reads `remote` from `peer` into local registered memory.
    ///
    /// # Safety
    /// `local` must be valid for writes of `remote.len` bytes and `desc` must be the descriptor
    /// of a registration covering it (or null when the provider does not need one); `hold` must
    /// keep that memory alive, since it is released only at completion.
    pub unsafe fn post_read(
        self: &Arc<Self>,
        local: *mut u8,
        desc: *mut c_void,
        peer: FiAddr,
        remote: RemoteRegion,
        hold: Hold,
    ) -> Result<Posted> {
        let ep = self.ep.raw;
        self.submit(OpKind::Normal, hold, "fi_read", POST_ATTEMPTS, |ctx| {
            // SAFETY: guaranteed by the caller.
            unsafe {
                sys::dfab_read(
                    ep,
                    local.cast(),
                    remote.len as usize,
                    desc,
                    peer.0,
                    remote.addr,
                    remote.key,
                    ctx,
                )
            }
        })
    }

    /// Writes local registered memory to `remote` at `peer`.
    ///
    /// # Safety
    /// As [`NetContext::post_read`], with `local` valid for reads.
    pub unsafe fn post_write(
        self: &Arc<Self>,
        local: *const u8,
        desc: *mut c_void,
        peer: FiAddr,
        remote: RemoteRegion,
        hold: Hold,
    ) -> Result<Posted> {
        let ep = self.ep.raw;
        self.submit(OpKind::Normal, hold, "fi_write", POST_ATTEMPTS, |ctx| {
            // SAFETY: guaranteed by the caller.
            unsafe {
                sys::dfab_write(
                    ep,
                    local.cast(),
                    remote.len as usize,
                    desc,
                    peer.0,
                    remote.addr,
                    remote.key,
                    ctx,
                )
            }
        })
    }

    /// Starts receiving requests: keeps `count` buffers of `size` bytes posted for any message
    /// with [`REQUEST_TAG`]; received ones queue for [`NetContext::take_request`].
    pub fn enable_requests(self: &Arc<Self>, count: usize, size: usize) {
        {
            let mut pool = self.requests.lock().expect("request pool poisoned");
            pool.enabled = true;
            pool.size = size;
            pool.to_post += count;
        }
        self.repost_requests();
    }

    /// The next received request, if any.
    pub fn take_request(&self) -> Option<Incoming> {
        self.requests
            .lock()
            .expect("request pool poisoned")
            .incoming
            .pop_front()
    }

    /// Returns a request buffer for reuse.
    pub fn recycle(&self, mut buf: Vec<u8>) {
        let mut pool = self.requests.lock().expect("request pool poisoned");
        if buf.capacity() >= pool.size && pool.spare.len() < 64 {
            buf.clear();
            pool.spare.push(buf);
        }
    }

    fn repost_requests(self: &Arc<Self>) {
        loop {
            let buf = {
                let mut pool = self.requests.lock().expect("request pool poisoned");
                if !pool.enabled || pool.to_post == 0 || self.closing.load(Ordering::Relaxed) {
                    return;
                }
                pool.to_post -= 1;
                let size = pool.size;
                let mut buf = pool.spare.pop().unwrap_or_default();
                buf.resize(size, 0);
                buf
            };
            let (ptr, len) = (buf.as_ptr() as *mut u8, buf.len());
            let ep = self.ep.raw;
            let cell = Arc::new(OpCell {
                fi_context: UnsafeCell::new([0; sys::DFAB_CONTEXT_SIZE / 8]),
                kind: OpKind::Request,
                state: Mutex::new(OpState {
                    result: None,
                    waker: None,
                    hold: Hold::Bytes(buf),
                }),
            });
            let ctx = Arc::into_raw(cell) as *mut c_void;
            // SAFETY: the buffer lives in the cell's Hold until completion.
            let rc = unsafe {
                sys::dfab_trecv(
                    ep,
                    ptr.cast(),
                    len,
                    std::ptr::null_mut(),
                    REQUEST_TAG,
                    REQUEST_TAG - 1,
                    ctx,
                )
            };
            if rc != 0 {
                // SAFETY: the post failed; reclaim the reference we gave it.
                drop(unsafe { Arc::from_raw(ctx as *const OpCell) });
                self.requests.lock().expect("request pool poisoned").to_post += 1;
                if rc != -(libc::EAGAIN as isize) {
                    tracing::error!(
                        "cannot post request buffer: {}",
                        fi_error(rc as i32, "fi_trecv")
                    );
                }
                return;
            }
        }
    }

    /// Reads completions and fires due timers; returns how many events were handled.
    /// Never blocks, and returns 0 at once if another thread is already progressing.
    pub fn progress(self: &Arc<Self>) -> usize {
        let Ok(guard) = self.poll_lock.try_lock() else {
            return 0;
        };
        let mut handled = 0;
        let mut entries = [sys::dfab_completion::default(); sys::DFAB_CQ_BATCH];
        loop {
            // SAFETY: entries has DFAB_CQ_BATCH writable slots.
            let n = unsafe { sys::dfab_cq_read(self.ep.raw, entries.as_mut_ptr(), entries.len()) };
            if n < 0 {
                tracing::error!(
                    "completion queue error: {}",
                    fi_error(n as i32, "fi_cq_read")
                );
                break;
            }
            for entry in &entries[..n as usize] {
                self.complete(entry);
            }
            handled += n as usize;
            if (n as usize) < entries.len() {
                break;
            }
        }
        drop(guard);
        handled += self.fire_timers();
        if handled > 0 {
            self.touch();
            self.repost_requests();
        }
        handled
    }

    fn complete(&self, entry: &sys::dfab_completion) {
        if entry.op_context.is_null() {
            return;
        }
        // SAFETY: every context we post is Arc::into_raw of an OpCell, and libfabric reports
        // each exactly once; this reclaims that reference.
        let cell = unsafe { Arc::from_raw(entry.op_context as *const OpCell) };
        let done = Completion {
            err: entry.err,
            len: entry.len,
            tag: entry.tag,
            overflow: entry.olen,
        };
        if cell.kind == OpKind::Request {
            let hold = std::mem::replace(
                &mut cell.state.lock().expect("op state poisoned").hold,
                Hold::None,
            );
            let mut pool = self.requests.lock().expect("request pool poisoned");
            pool.to_post += 1;
            if let Hold::Bytes(mut data) = hold {
                let truncated = done.err == libc::EMSGSIZE || done.err == 265 || done.overflow > 0;
                if done.err == 0 || truncated {
                    data.truncate(done.len.min(data.len()));
                    pool.incoming.push_back(Incoming { data, truncated });
                } else if done.err != libc::ECANCELED {
                    tracing::warn!("request receive failed: FI error {}", done.err);
                }
            }
            return;
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let waker = {
            let mut state = cell.state.lock().expect("op state poisoned");
            state.result = Some(done);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn fire_timers(&self) -> usize {
        let now = Instant::now();
        let due: Vec<Waker> = {
            let mut timers = self.timers.lock().expect("timers poisoned");
            let later = timers.pending.split_off(&(now, u64::MAX));
            std::mem::replace(&mut timers.pending, later)
                .into_values()
                .collect()
        };
        let count = due.len();
        for waker in due {
            waker.wake();
        }
        count
    }

    /// The earliest pending timer deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers
            .lock()
            .expect("timers poisoned")
            .pending
            .keys()
            .next()
            .map(|(deadline, _)| *deadline)
    }

    /// A future that completes at `deadline` (driven by this context's progress).
    pub fn sleep_until(self: &Arc<Self>, deadline: Instant) -> Sleep {
        Sleep {
            ctx: self.clone(),
            deadline,
            id: None,
        }
    }

    /// The wait object's file descriptor, if the provider has one.
    pub fn wait_fd(&self) -> Option<i32> {
        self.ep.wait_fd
    }

    /// Whether it is safe to block on [`NetContext::wait_fd`] now (`fi_trywait`).
    pub fn try_wait(&self) -> bool {
        // SAFETY: the endpoint is valid.
        unsafe { sys::dfab_ep_trywait(self.ep.raw) == 0 }
    }

    /// Operations posted and not yet completed (request buffers excluded).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether to keep spinning rather than block: within the spin window after the last
    /// activity, or while operations are in flight (up to [`SPIN_IN_FLIGHT`]).
    pub fn spinning(&self) -> bool {
        let idle = self.idle_for();
        idle < self.spin || (self.in_flight() > 0 && idle < self.spin_in_flight)
    }

    /// Waits for something to happen: returns at once while spinning, otherwise blocks on the
    /// wait object (or sleeps with back-off for providers without one) for at most `timeout`
    /// or until the next timer.
    pub fn wait(&self, timeout: Option<Duration>) {
        let idle = self.idle_for();
        if self.spinning() {
            // Yield rather than pause, so spinning never starves a peer sharing the CPU.
            std::thread::yield_now();
            return;
        }
        let mut limit = timeout.unwrap_or(Duration::from_secs(1));
        if let Some(deadline) = self.next_deadline() {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
        }
        match self.ep.wait_fd {
            Some(fd) => {
                if !self.try_wait() {
                    return;
                }
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = limit.as_millis().clamp(0, i32::MAX as u128) as i32;
                // Round sub-millisecond waits up so a near timer does not turn into a spin.
                let ms = if ms == 0 && !limit.is_zero() { 1 } else { ms };
                // SAFETY: pfd is a valid pollfd for one descriptor.
                unsafe { libc::poll(&mut pfd, 1, ms) };
            }
            None => {
                // No wait object (shm): back off from 10 µs to 1 ms as idleness grows.
                let backoff =
                    (idle / 16).clamp(Duration::from_micros(10), Duration::from_millis(1));
                std::thread::sleep(backoff.min(limit));
            }
        }
    }

    /// Stops posting new operations and cancels the request buffers; in-flight operations
    /// still complete. Call before dropping the last reference on a shutting-down engine.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }
}

impl Drop for NetContext {
    fn drop(&mut self) {
        // Closing the endpoint makes the provider drop every posted operation without a
        // completion; their OpCells (and the buffers they hold) are intentionally leaked
        // rather than freed while the provider might still hold pointers into them.
        tracing::trace!("closing network context");
    }
}

/// A timer future from [`NetContext::sleep_until`].
pub struct Sleep {
    ctx: Arc<NetContext>,
    deadline: Instant,
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        if Instant::now() >= deadline {
            if let Some(id) = self.id.take() {
                self.ctx
                    .timers
                    .lock()
                    .expect("timers poisoned")
                    .pending
                    .remove(&(deadline, id));
            }
            return Poll::Ready(());
        }
        let mut timers = self.ctx.timers.lock().expect("timers poisoned");
        let id = match self.id {
            Some(id) => id,
            None => {
                timers.next_id += 1;
                timers.next_id
            }
        };
        timers
            .pending
            .insert((self.deadline, id), cx.waker().clone());
        drop(timers);
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.ctx
                .timers
                .lock()
                .expect("timers poisoned")
                .pending
                .remove(&(self.deadline, id));
        }
    }
}

fn rand_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id() as u64);
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish()
}
