//! A minimal single-threaded executor for operation futures, driven by a [`NetContext`].
//!
//! DAOS semantics: there is no background progress thread; work advances only inside the
//! caller's poll, test or blocking call (`daos_eq_poll`, `daos_event_test`). The executor
//! keeps futures and a ready queue; wakers only push a task id, so waking from the reactor
//! never runs user code re-entrantly.

use crate::context::NetContext;
use slab::Slab;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct ReadyQueue {
    ids: Mutex<Vec<usize>>,
}

struct TaskWaker {
    id: usize,
    queue: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.queue
            .ids
            .lock()
            .expect("ready queue poisoned")
            .push(self.id);
    }
}

/// Runs many futures on the calling thread. `F` is `dyn Future<Output = ()>` (optionally
/// `+ Send`, which makes the executor `Send`).
pub struct Executor<F: ?Sized> {
    tasks: Slab<Pin<Box<F>>>,
    queue: Arc<ReadyQueue>,
}

impl<F: Future<Output = ()> + ?Sized> Default for Executor<F> {
    fn default() -> Self {
        Executor {
            tasks: Slab::new(),
            queue: Arc::new(ReadyQueue::default()),
        }
    }
}

impl<F: Future<Output = ()> + ?Sized> Executor<F> {
    /// An empty executor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task; it is polled at the next [`Executor::run_ready`].
    pub fn spawn(&mut self, task: Pin<Box<F>>) {
        let id = self.tasks.insert(task);
        self.queue
            .ids
            .lock()
            .expect("ready queue poisoned")
            .push(id);
    }

    /// Number of unfinished tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether every task finished.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Whether some task was woken and waits to be polled.
    pub fn has_ready(&self) -> bool {
        !self
            .queue
            .ids
            .lock()
            .expect("ready queue poisoned")
            .is_empty()
    }

    /// Polls every woken task once (tasks woken meanwhile wait for the next call); returns
    /// how many were polled.
    pub fn run_ready(&mut self) -> usize {
        let ids = std::mem::take(&mut *self.queue.ids.lock().expect("ready queue poisoned"));
        let mut polled = 0;
        for id in ids {
            let Some(task) = self.tasks.get_mut(id) else {
                continue;
            };
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                queue: self.queue.clone(),
            }));
            polled += 1;
            if task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
            {
                self.tasks.remove(id);
            }
        }
        polled
    }
}

struct FlagWaker(AtomicBool);

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs one future to completion on the calling thread, driving `ctx` while it waits.
pub fn block_on<T>(ctx: &Arc<NetContext>, future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let flag = Arc::new(FlagWaker(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if flag.0.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
        if ctx.progress() == 0 && !flag.0.load(Ordering::Acquire) {
            ctx.wait(None);
        }
    }
}

/// Drives `ctx` and `executor` until every task finished or `timeout` passed (`None`: no
/// limit). Returns whether the executor is empty.
pub fn run_until_idle<F: Future<Output = ()> + ?Sized>(
    ctx: &Arc<NetContext>,
    executor: &mut Executor<F>,
    timeout: Option<Duration>,
) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        executor.run_ready();
        if executor.is_empty() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        if ctx.progress() == 0 && !executor.has_ready() {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            ctx.wait(remaining);
        }
    }
}
