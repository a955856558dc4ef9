//! Events and event queues (`daos_event.h`): every operation's `daos_event_t *ev` argument.
//!
//! - `ev == NULL`: the call blocks on the calling thread's endpoint and returns the result.
//! - `ev` in an event queue: the call launches the operation and returns 0 (or a local
//!   error); the result lands in `ev->ev_error` (negative DER for `daos_*`, positive errno for
//!   `dfs_*`) and the event is returned by `daos_eq_poll` or `daos_event_test`.
//! - `ev` initialised with `DAOS_HDL_INVAL` and no parent: a standalone event, progressed by
//!   `daos_event_test` on one shared internal queue (ROMIO's non-blocking I/O).
//! - `ev` with a parent: runs on the parent's queue; never returned by poll; the parent
//!   completes (after `daos_event_parent_barrier`) once every launched child has.
//!
//! Clients embed events in their own structures and find them back with `container_of`, so
//! an event never moves and its state lives in its own `ev_private` words (see `Slot`); a
//! completed event is READY again once polled or tested, and can be reused without
//! `daos_event_fini`. Nothing progresses outside `daos_eq_poll`, `daos_event_test` and
//! blocking calls, as in DAOS.

use crate::types::{daos_event_t, daos_handle_t};
use crate::{guard, handle, inval};
use daos_client::{EventQueue, NetContext};
use daos_types::{Der, Error};
use std::collections::{HashSet, VecDeque};
use std::ffi::{c_int, c_void};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// `daos_ev_status_t`.
const READY: u64 = 0;
const RUNNING: u64 = 1;
const COMPLETED: u64 = 2;
const ABORTED: u64 = 3;

/// Words of `ev_private` (`[u64; 20]`) this library uses.
#[derive(Clone, Copy)]
enum Slot {
    /// [`MAGIC`] once `daos_event_init` ran.
    Magic = 0,
    /// Cookie of the event's queue (0: standalone).
    Queue = 1,
    /// Address of the parent event (0: none).
    Parent = 2,
    /// READY / RUNNING / COMPLETED / ABORTED.
    Status = 3,
    /// Parent: children launched since the last barrier completed.
    Launched = 4,
    /// Parent: of those, children completed.
    Done = 5,
    /// Parent: 1 once `daos_event_parent_barrier` was called.
    Barrier = 6,
    /// Parent: the first child error (as the children's `ev_error`).
    ChildError = 7,
    /// Completion callback (`daos_event_register_comp_cb`), 0 if none.
    Callback = 8,
    /// Its argument.
    CallbackArg = 9,
}

const MAGIC: u64 = u64::from_le_bytes(*b"daosrsEv");

/// Serialises every change to events' private words (completions run inside polls, which
/// may happen on several threads).
static EVENTS: Mutex<()> = Mutex::new(());

fn events_lock() -> MutexGuard<'static, ()> {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// An event's address, which may cross threads inside an operation's completion.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct EvPtr(*mut daos_event_t);
// SAFETY: the pointer is only dereferenced under the `EVENTS` lock, and the DAOS API requires
// the caller to keep an event alive and in place while it is in flight.
unsafe impl Send for EvPtr {}

impl EvPtr {
    fn get(self, slot: Slot) -> u64 {
        // SAFETY: see the `Send` impl; callers hold the `EVENTS` lock.
        unsafe { (*self.0).ev_private[slot as usize] }
    }

    fn set(self, slot: Slot, value: u64) {
        // SAFETY: as `get`.
        unsafe { (*self.0).ev_private[slot as usize] = value }
    }

    fn set_error(self, rc: c_int) {
        // SAFETY: as `get`.
        unsafe { (*self.0).ev_error = rc }
    }

    fn error(self) -> c_int {
        // SAFETY: as `get`.
        unsafe { (*self.0).ev_error }
    }
}

/// An event queue's state: the Rust queue that runs operations, the events launched on it
/// and not yet handed back, and those completed but not yet returned by a poll.
pub struct EqState {
    queue: EventQueue,
    launched: Mutex<HashSet<usize>>,
    completed: Mutex<VecDeque<usize>>,
}

impl EqState {
    fn new() -> Result<EqState, Error> {
        Ok(EqState {
            queue: EventQueue::new(&*crate::client()?)?,
            launched: Mutex::new(HashSet::new()),
            completed: Mutex::new(VecDeque::new()),
        })
    }
}

static STANDALONE: Mutex<Option<Arc<EqState>>> = Mutex::new(None);

/// The queue that progresses standalone events, created on first use.
fn standalone() -> Result<Arc<EqState>, Error> {
    let mut q = STANDALONE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(q) = q.as_ref() {
        return Ok(q.clone());
    }
    let state = Arc::new(EqState::new()?);
    *q = Some(state.clone());
    Ok(state)
}

/// Forgets the standalone queue (last `daos_fini`).
pub(crate) fn reset() {
    *STANDALONE.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

fn queue_of(ev: EvPtr) -> Result<Arc<EqState>, Error> {
    match ev.get(Slot::Queue) {
        0 => standalone(),
        cookie => handle::eq(daos_handle_t { cookie }),
    }
}

fn check_init(ev: EvPtr) -> Result<(), Error> {
    if ev.0.is_null() {
        return Err(inval("event is NULL"));
    }
    if ev.get(Slot::Magic) != MAGIC {
        return Err(inval("event was not initialised with daos_event_init"));
    }
    Ok(())
}

/// Which error family an entry point reports in: `daos_*` (negative DER) or `dfs_*`/`duns_*`
/// (positive errno).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Negative DER codes.
    Der,
    /// Positive errno values.
    Errno,
}

impl Family {
    /// `err` as this family's return code.
    pub fn rc(self, err: &Error) -> c_int {
        match self {
            Family::Der => err.rc(),
            Family::Errno => err.der().to_errno(),
        }
    }
}

/// An operation's error: a [`daos_types::Error`], which the entry point's [`Family`] turns
/// into its return code, or a return code already chosen (`dfs_*` operations map their own
/// errors to errno).
pub(crate) trait OpError: Send + 'static {
    /// The entry point's return code for this error.
    fn into_rc(self, family: Family) -> c_int;
}

impl OpError for Error {
    fn into_rc(self, family: Family) -> c_int {
        family.rc(&self)
    }
}

impl OpError for c_int {
    fn into_rc(self, _: Family) -> c_int {
        self
    }
}

/// Runs or launches an operation for an entry point that takes `daos_event_t *ev`.
///
/// `op` builds the operation's future on the endpoint it must use; its error becomes the
/// entry point's return code (`family`). `finish` writes the output parameters and runs only
/// on success, so outputs are written only on success. Returns the blocking result, or 0
/// once launched (the result then goes to `ev->ev_error`), or a local error.
pub(crate) fn submit<T, E, Fut>(
    ev: *mut daos_event_t,
    family: Family,
    op: impl FnOnce(Arc<NetContext>) -> Fut,
    finish: impl FnOnce(T) + Send + 'static,
) -> c_int
where
    T: Send + 'static,
    E: OpError,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    submit_rc(ev, family, op, move |value| {
        finish(value);
        0
    })
}

/// [`submit`] where `finish` also decides the result (for calls such as `daos_obj_fetch`
/// whose `-DER_REC2BIG` comes with outputs: the sizes).
pub(crate) fn submit_rc<T, E, Fut>(
    ev: *mut daos_event_t,
    family: Family,
    op: impl FnOnce(Arc<NetContext>) -> Fut,
    finish: impl FnOnce(T) -> c_int + Send + 'static,
) -> c_int
where
    T: Send + 'static,
    E: OpError,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    let launched = (|| -> Result<c_int, Error> {
        if ev.is_null() {
            let net = crate::client()?.thread_net()?;
            return Ok(match daos_fabric::block_on(&net, op(net.clone())) {
                Ok(value) => finish(value),
                Err(err) => err.into_rc(family),
            });
        }
        let ev = EvPtr(ev);
        let queue = {
            let _lock = events_lock();
            check_init(ev)?;
            if ev.get(Slot::Status) == RUNNING {
                return Err(inval("event is already in flight"));
            }
            queue_of(ev)?
        };
        let op = op(queue.queue.net().clone());
        let future = async move { op.await.map_err(|err| err.into_rc(family)) };
        {
            let _lock = events_lock();
            ev.set(Slot::Status, RUNNING);
            ev.set_error(0);
            let parent = ev.get(Slot::Parent);
            if parent != 0 {
                let parent = EvPtr(parent as *mut daos_event_t);
                parent.set(Slot::Launched, parent.get(Slot::Launched) + 1);
            }
        }
        queue
            .launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ev.0 as usize);
        queue.queue.launch(ev.0 as u64, future, move |result| {
            let _lock = events_lock();
            let aborted = ev.get(Slot::Status) == ABORTED;
            match result {
                Ok(_) if aborted => ev.set_error(match family {
                    Family::Der => Der::Canceled.rc(),
                    Family::Errno => libc::ECANCELED,
                }),
                Ok(value) => ev.set_error(finish(value)),
                Err(rc) => ev.set_error(rc),
            }
        });
        Ok(0)
    })();
    launched.unwrap_or_else(|err| family.rc(&err))
}

/// Handles one completion token from a queue: marks the event complete and, for a child,
/// counts it toward its parent. Returns the event a poll should hand to the user: the event
/// itself, a parent whose barrier is now met, or nothing (a child).
fn complete(queue: &EqState, token: u64) -> Option<EvPtr> {
    let (visible, callbacks) = {
        let _lock = events_lock();
        let ev = EvPtr(token as *mut daos_event_t);
        queue
            .launched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(token as usize));
        let mut finished = vec![ev];
        let parent = ev.get(Slot::Parent);
        let visible = if parent == 0 {
            ev.set(Slot::Status, COMPLETED);
            Some(ev)
        } else {
            ev.set(Slot::Status, READY);
            let parent = EvPtr(parent as *mut daos_event_t);
            if ev.error() != 0 && parent.get(Slot::ChildError) == 0 {
                parent.set(Slot::ChildError, ev.error() as i64 as u64);
            }
            parent.set(Slot::Done, parent.get(Slot::Done) + 1);
            let met = barrier_met(parent);
            if met {
                finished.push(parent);
            }
            met.then_some(parent)
        };
        (
            visible,
            finished
                .into_iter()
                .filter_map(callback_of)
                .collect::<Vec<_>>(),
        )
    };
    // Callbacks run without the lock: they may call back into the library.
    for (cb, arg, ev) in callbacks {
        // SAFETY: the callback and its argument were registered by the caller for this event
        // (`daos_event_register_comp_cb`), which is still alive while it completes.
        unsafe { cb(arg, ev.0, (*ev.0).ev_error) };
    }
    visible
}

/// A registered completion callback of `ev`. Called with the `EVENTS` lock held.
fn callback_of(ev: EvPtr) -> Option<(CompCb, *mut c_void, EvPtr)> {
    let cb = ev.get(Slot::Callback);
    if cb == 0 {
        return None;
    }
    // SAFETY: a non-zero slot holds a function pointer stored by
    // `daos_event_register_comp_cb`.
    let cb: CompCb = unsafe { std::mem::transmute::<usize, CompCb>(cb as usize) };
    Some((cb, ev.get(Slot::CallbackArg) as *mut c_void, ev))
}

/// `daos_event_comp_cb_t`.
pub type CompCb = unsafe extern "C" fn(arg: *mut c_void, ev: *mut daos_event_t, rc: c_int) -> c_int;

/// Completes `parent` if its barrier was called and all its launched children are done.
/// Called with the `EVENTS` lock held.
fn barrier_met(parent: EvPtr) -> bool {
    if parent.get(Slot::Barrier) == 0 || parent.get(Slot::Done) < parent.get(Slot::Launched) {
        return false;
    }
    parent.set_error(parent.get(Slot::ChildError) as i64 as c_int);
    for slot in [Slot::Barrier, Slot::Launched, Slot::Done, Slot::ChildError] {
        parent.set(slot, 0);
    }
    parent.set(Slot::Status, COMPLETED);
    true
}

fn timeout_of(us: i64) -> Option<Duration> {
    (us >= 0).then(|| Duration::from_micros(us as u64))
}

/// `int daos_eq_create(daos_handle_t *eqh)`: a queue with its own endpoint.
///
/// Errors: `-DER_INVAL` for NULL; `-DER_UNINIT` before `daos_init`.
///
/// # Safety
/// `eqh` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_eq_create(eqh: *mut daos_handle_t) -> c_int {
    guard("daos_eq_create", || {
        if eqh.is_null() {
            return Err(inval("eqh is NULL"));
        }
        let h = handle::insert(handle::Entry::Eq(Arc::new(EqState::new()?)));
        // SAFETY: checked non-NULL; the caller passes a writable handle.
        unsafe { *eqh = h };
        Ok(())
    })
}

/// `DAOS_EQ_DESTROY_FORCE`.
pub const DAOS_EQ_DESTROY_FORCE: c_int = 1;

/// `int daos_eq_destroy(daos_handle_t eqh, int flags)`: with events in flight, fails with
/// `-DER_BUSY` unless `flags` has `DAOS_EQ_DESTROY_FORCE`, which abandons them (their
/// events are never completed).
///
/// Errors: `-DER_NO_HDL`, `-DER_BUSY`.
#[no_mangle]
pub extern "C" fn daos_eq_destroy(eqh: daos_handle_t, flags: c_int) -> c_int {
    guard("daos_eq_destroy", || {
        let q = handle::eq(eqh)?;
        let in_flight = q.launched.lock().unwrap_or_else(|p| p.into_inner()).len();
        if in_flight > 0 && flags & DAOS_EQ_DESTROY_FORCE == 0 {
            return Err(Error::new(
                Der::Busy,
                format!("{in_flight} events are still in flight on this queue"),
            ));
        }
        handle::remove(eqh);
        Ok(())
    })
}

/// `int daos_eq_poll(daos_handle_t eqh, int wait_running, int64_t timeout, unsigned int
/// nevents, daos_event_t **events)`: progresses the queue and returns how many completed
/// events it wrote to `events` (up to `nevents`). `timeout` is in microseconds
/// (`DAOS_EQ_WAIT` = -1: until one completes; `DAOS_EQ_NOWAIT` = 0). With `wait_running`,
/// returns 0 at once when nothing is in flight.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `events` or `nevents == 0`.
///
/// # Safety
/// `events` is NULL or valid for `nevents` writes.
#[no_mangle]
pub unsafe extern "C" fn daos_eq_poll(
    eqh: daos_handle_t,
    wait_running: c_int,
    timeout: i64,
    nevents: u32,
    events: *mut *mut daos_event_t,
) -> c_int {
    let mut count = 0;
    let rc = guard("daos_eq_poll", || {
        let q = handle::eq(eqh)?;
        if events.is_null() || nevents == 0 {
            return Err(inval("events is NULL or nevents is 0"));
        }
        let max = nevents as usize;
        let mut out: Vec<EvPtr> = Vec::new();
        {
            let mut done = q.completed.lock().unwrap_or_else(|p| p.into_inner());
            while out.len() < max {
                let Some(ev) = done.pop_front() else { break };
                out.push(EvPtr(ev as *mut daos_event_t));
            }
        }
        let deadline = timeout_of(timeout).map(|t| Instant::now() + t);
        while out.len() < max {
            let idle = q
                .launched
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty();
            if !out.is_empty() || (wait_running != 0 && idle) {
                break;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            for token in q.queue.poll(wait_running != 0, left, max - out.len()) {
                if let Some(ev) = complete(&q, token) {
                    out.push(ev);
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        let _lock = events_lock();
        for (i, ev) in out.iter().enumerate() {
            ev.set(Slot::Status, READY);
            // SAFETY: `events` holds `nevents` slots and `out.len() <= nevents`.
            unsafe { *events.add(i) = ev.0 };
        }
        count = out.len() as c_int;
        Ok(())
    });
    if rc == 0 {
        count
    } else {
        rc
    }
}

/// `daos_eq_query_t`.
const DAOS_EQR_COMPLETED: c_int = 1;
const DAOS_EQR_WAITING: c_int = 2;

/// `int daos_eq_query(daos_handle_t eqh, daos_eq_query_t query, unsigned int nevents,
/// daos_event_t **events)`: counts completed-but-unpolled (`DAOS_EQR_COMPLETED`) and/or
/// in-flight (`DAOS_EQR_WAITING`) events; with `events`, also returns up to `nevents` of
/// them without changing their state.
///
/// Errors: `-DER_NO_HDL`.
///
/// # Safety
/// `events` is NULL or valid for `nevents` writes.
#[no_mangle]
pub unsafe extern "C" fn daos_eq_query(
    eqh: daos_handle_t,
    query: c_int,
    nevents: u32,
    events: *mut *mut daos_event_t,
) -> c_int {
    let mut count = 0;
    let rc = guard("daos_eq_query", || {
        let q = handle::eq(eqh)?;
        let mut found: Vec<usize> = Vec::new();
        if query & DAOS_EQR_COMPLETED != 0 {
            found.extend(q.completed.lock().unwrap_or_else(|p| p.into_inner()).iter());
        }
        if query & DAOS_EQR_WAITING != 0 {
            found.extend(q.launched.lock().unwrap_or_else(|p| p.into_inner()).iter());
        }
        if !events.is_null() {
            for (i, ev) in found.iter().take(nevents as usize).enumerate() {
                // SAFETY: `events` holds `nevents` slots.
                unsafe { *events.add(i) = *ev as *mut daos_event_t };
            }
        }
        count = found.len() as c_int;
        Ok(())
    });
    if rc == 0 {
        count
    } else {
        rc
    }
}

/// `int daos_event_init(daos_event_t *ev, daos_handle_t eqh, daos_event_t *parent)`: zeroes
/// `ev` and ties it to `eqh`, to `parent`'s queue, or (neither) to the standalone queue.
///
/// Errors: `-DER_INVAL` for NULL `ev` or an uninitialised/busy parent; `-DER_NO_PERM` for a
/// parent that is itself a child; `-DER_NO_HDL` for a bad `eqh`.
///
/// # Safety
/// `ev` is NULL or valid for writes; `parent` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_event_init(
    ev: *mut daos_event_t,
    eqh: daos_handle_t,
    parent: *mut daos_event_t,
) -> c_int {
    guard("daos_event_init", || {
        if ev.is_null() {
            return Err(inval("event is NULL"));
        }
        let _lock = events_lock();
        let queue = if !parent.is_null() {
            let p = EvPtr(parent);
            check_init(p)?;
            if p.get(Slot::Parent) != 0 {
                return Err(Error::new(Der::NoPerm, "events nest one level only"));
            }
            if p.get(Slot::Status) != READY {
                return Err(inval("parent event is not ready"));
            }
            p.get(Slot::Queue)
        } else if eqh.cookie != 0 {
            handle::eq(eqh)?;
            eqh.cookie
        } else {
            0
        };
        // SAFETY: checked non-NULL; the caller owns the event memory.
        unsafe {
            std::ptr::write_bytes(ev, 0, 1);
        }
        let e = EvPtr(ev);
        e.set(Slot::Magic, MAGIC);
        e.set(Slot::Queue, queue);
        e.set(Slot::Parent, parent as u64);
        let mut table = children();
        let table = table.get_or_insert_with(Default::default);
        // Re-initialising an event (parent or child) drops what it was before.
        table.remove(&(ev as usize));
        for list in table.values_mut() {
            list.retain(|&c| c != ev as usize);
        }
        if !parent.is_null() {
            table.entry(parent as usize).or_default().push(ev as usize);
        }
        Ok(())
    })
}

/// `int daos_event_fini(daos_event_t *ev)`.
///
/// Errors: `-DER_INVAL` for an uninitialised event; `-DER_BUSY` while it is in flight.
///
/// # Safety
/// `ev` is NULL or points to an event.
#[no_mangle]
pub unsafe extern "C" fn daos_event_fini(ev: *mut daos_event_t) -> c_int {
    guard("daos_event_fini", || {
        let _lock = events_lock();
        let e = EvPtr(ev);
        check_init(e)?;
        if matches!(e.get(Slot::Status), RUNNING | ABORTED) {
            return Err(Error::new(Der::Busy, "event is in flight"));
        }
        e.set(Slot::Magic, 0);
        if let Some(table) = children().as_mut() {
            table.remove(&(ev as usize));
            for list in table.values_mut() {
                list.retain(|&c| c != ev as usize);
            }
        }
        Ok(())
    })
}

/// `int daos_event_test(daos_event_t *ev, int64_t timeout, bool *flag)`: progresses the
/// event's queue for up to `timeout` microseconds (`DAOS_EQ_WAIT`: until done) and sets
/// `*flag` once the event has completed (it is then READY again, and removed from its
/// queue's completed list).
///
/// Errors: `-DER_INVAL` for NULL arguments or an uninitialised event; `-DER_NO_PERM` for a
/// child event.
///
/// # Safety
/// `ev` is NULL or points to an event; `flag` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_event_test(
    ev: *mut daos_event_t,
    timeout: i64,
    flag: *mut bool,
) -> c_int {
    guard("daos_event_test", || {
        if flag.is_null() {
            return Err(inval("flag is NULL"));
        }
        let e = EvPtr(ev);
        let q = {
            let _lock = events_lock();
            check_init(e)?;
            if e.get(Slot::Parent) != 0 {
                return Err(Error::new(
                    Der::NoPerm,
                    "daos_event_test cannot be called on a child event",
                ));
            }
            queue_of(e)?
        };
        let deadline = timeout_of(timeout).map(|t| Instant::now() + t);
        let done = loop {
            let status = {
                let _lock = events_lock();
                e.get(Slot::Status)
            };
            if status != RUNNING && status != ABORTED {
                break true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            // Short slices: another thread polling the same queue may take this event's
            // completion, and then only its status word tells.
            let slice = left.map_or(Duration::from_millis(10), |l| {
                l.min(Duration::from_millis(10))
            });
            for token in q.queue.poll(false, Some(slice), usize::MAX) {
                if let Some(other) = complete(&q, token) {
                    if other != e && e.get(Slot::Queue) != 0 {
                        q.completed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push_back(other.0 as usize);
                    }
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _lock = events_lock();
                let status = e.get(Slot::Status);
                break status != RUNNING && status != ABORTED;
            }
        };
        if done {
            let _lock = events_lock();
            e.set(Slot::Status, READY);
            q.completed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|&x| x != e.0 as usize);
        }
        // SAFETY: checked non-NULL.
        unsafe { *flag = done };
        Ok(())
    })
}

/// `int daos_event_parent_barrier(daos_event_t *ev)`: the parent completes once every child
/// launched so far has (at once if they all have); its `ev_error` is the first child error.
///
/// Errors: `-DER_INVAL` for an uninitialised, busy or child event, or one without children.
///
/// # Safety
/// `ev` is NULL or points to an event.
#[no_mangle]
pub unsafe extern "C" fn daos_event_parent_barrier(ev: *mut daos_event_t) -> c_int {
    guard("daos_event_parent_barrier", || {
        let e = EvPtr(ev);
        let queue = {
            let _lock = events_lock();
            check_init(e)?;
            if e.get(Slot::Parent) != 0 || e.get(Slot::Status) != READY {
                return Err(inval("barrier needs a ready parent event"));
            }
            if e.get(Slot::Launched) == 0 {
                return Err(inval("the parent event has no launched children"));
            }
            e.set(Slot::Barrier, 1);
            e.set(Slot::Status, RUNNING);
            if !barrier_met(e) {
                return Ok(());
            }
            (e.get(Slot::Queue), callback_of(e))
        };
        let (queue, callback) = queue;
        if let Some((cb, arg, ev)) = callback {
            // SAFETY: as in `complete`.
            unsafe { cb(arg, ev.0, (*ev.0).ev_error) };
        }
        if queue != 0 {
            let q = handle::eq(daos_handle_t { cookie: queue })?;
            q.completed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back(e.0 as usize);
        }
        Ok(())
    })
}

/// `int daos_event_abort(daos_event_t *ev)`: the operation's outputs are discarded and the
/// event completes with `-DER_CANCELED` (or `ECANCELED` for DFS calls). The request may
/// still have taken effect on the engine, as in DAOS.
///
/// Errors: `-DER_INVAL` for an uninitialised event or one not in flight.
///
/// # Safety
/// `ev` is NULL or points to an event.
#[no_mangle]
pub unsafe extern "C" fn daos_event_abort(ev: *mut daos_event_t) -> c_int {
    guard("daos_event_abort", || {
        let _lock = events_lock();
        let e = EvPtr(ev);
        check_init(e)?;
        if e.get(Slot::Status) != RUNNING {
            return Err(inval("event is not in flight"));
        }
        e.set(Slot::Status, ABORTED);
        Ok(())
    })
}

/// `int daos_event_register_comp_cb(daos_event_t *ev, daos_event_comp_cb_t cb, void *arg)`:
/// `cb(arg, ev, rc)` runs when the event completes, inside the poll, test or barrier that
/// completes it, before it is returned. One callback per event (a new one replaces it); it
/// stays registered until `daos_event_fini` or `daos_event_init`.
///
/// Errors: `-DER_INVAL` for an uninitialised event or a NULL callback; `-DER_BUSY` while the
/// event is in flight.
///
/// # Safety
/// `ev` is NULL or points to an event; `cb` is a valid function for the event's lifetime.
#[no_mangle]
pub unsafe extern "C" fn daos_event_register_comp_cb(
    ev: *mut daos_event_t,
    cb: Option<CompCb>,
    arg: *mut c_void,
) -> c_int {
    guard("daos_event_register_comp_cb", || {
        let _lock = events_lock();
        let e = EvPtr(ev);
        check_init(e)?;
        let cb = cb.ok_or_else(|| inval("callback is NULL"))?;
        if e.get(Slot::Status) == RUNNING {
            return Err(Error::new(Der::Busy, "event is in flight"));
        }
        e.set(Slot::Callback, cb as usize as u64);
        e.set(Slot::CallbackArg, arg as u64);
        Ok(())
    })
}

/// Children of parent events, in `daos_event_init` order (for `daos_event_next`).
static CHILDREN: Mutex<Option<std::collections::HashMap<usize, Vec<usize>>>> = Mutex::new(None);

fn children() -> MutexGuard<'static, Option<std::collections::HashMap<usize, Vec<usize>>>> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// `daos_event_t *daos_event_next(daos_event_t *parent, daos_event_t *child)`: the first
/// child of `parent` (`child` NULL) or the one after `child`; NULL at the end or for a
/// parent without children.
///
/// # Safety
/// `parent` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_event_next(
    parent: *mut daos_event_t,
    child: *mut daos_event_t,
) -> *mut daos_event_t {
    let table = children();
    let Some(list) = table.as_ref().and_then(|t| t.get(&(parent as usize))) else {
        return std::ptr::null_mut();
    };
    let next = if child.is_null() {
        list.first()
    } else {
        list.iter()
            .position(|&c| c == child as usize)
            .and_then(|i| list.get(i + 1))
    };
    next.map_or(std::ptr::null_mut(), |&c| c as *mut daos_event_t)
}
