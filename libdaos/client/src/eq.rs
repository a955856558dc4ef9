//! Event queues: many operations in flight from one thread, completion by polling
//! (`daos_eq_*`, `daos_event_*`).
//!
//! An event queue owns an endpoint and runs the futures launched on it. As in DAOS, nothing
//! progresses in the background: operations advance only inside [`EventQueue::poll`] (or a
//! blocking call on the same queue). Polling with `wait_running` returns at once when nothing
//! is in flight, which drain loops rely on.

use crate::client::Client;
use daos_fabric::{Executor, NetContext};
use daos_types::Result;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Task = dyn Future<Output = ()> + Send;

struct Inner {
    exec: Executor<Task>,
    in_flight: usize,
}

/// An event queue.
pub struct EventQueue {
    net: Arc<NetContext>,
    inner: Mutex<Inner>,
    done: Arc<Mutex<VecDeque<u64>>>,
}

impl EventQueue {
    /// A queue with its own endpoint (`daos_eq_create`).
    ///
    /// Errors: `-DER_HG` if the endpoint cannot open.
    pub fn new(client: &Client) -> Result<EventQueue> {
        Ok(EventQueue {
            net: client.new_net()?,
            inner: Mutex::new(Inner {
                exec: Executor::new(),
                in_flight: 0,
            }),
            done: Arc::new(Mutex::new(VecDeque::new())),
        })
    }

    /// The endpoint operations launched on this queue must use.
    pub fn net(&self) -> &Arc<NetContext> {
        &self.net
    }

    /// Launches an operation. When it finishes, `complete` receives its output and `token`
    /// becomes available to [`EventQueue::poll`].
    pub fn launch<T: Send + 'static>(
        &self,
        token: u64,
        operation: impl Future<Output = T> + Send + 'static,
        complete: impl FnOnce(T) + Send + 'static,
    ) {
        let done = self.done.clone();
        let task = async move {
            let output = operation.await;
            complete(output);
            done.lock().expect("event queue poisoned").push_back(token);
        };
        let mut inner = self.inner.lock().expect("event queue poisoned");
        inner.in_flight += 1;
        inner.exec.spawn(Box::pin(task));
    }

    /// Operations launched and not yet returned by `poll`.
    pub fn in_flight(&self) -> usize {
        self.inner.lock().expect("event queue poisoned").in_flight
    }

    fn take_done(&self, inner: &mut Inner, max: usize) -> Vec<u64> {
        let mut done = self.done.lock().expect("event queue poisoned");
        let n = done.len().min(max);
        let out: Vec<u64> = done.drain(..n).collect();
        inner.in_flight -= out.len();
        out
    }

    /// Drives the queue and returns up to `max` completed tokens (`daos_eq_poll`). Waits up
    /// to `timeout` (`None`: forever, zero: not at all) for at least one. With
    /// `wait_running`, returns at once when nothing is in flight.
    pub fn poll(&self, wait_running: bool, timeout: Option<Duration>, max: usize) -> Vec<u64> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut inner = self.inner.lock().expect("event queue poisoned");
            inner.exec.run_ready();
            let done = self.take_done(&mut inner, max);
            if !done.is_empty() || max == 0 {
                return done;
            }
            if wait_running && inner.in_flight == 0 {
                return done;
            }
            let ready = inner.exec.has_ready();
            drop(inner);
            let progressed = self.net.progress();
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let mut inner = self.inner.lock().expect("event queue poisoned");
                inner.exec.run_ready();
                return self.take_done(&mut inner, max);
            }
            if progressed == 0 && !ready {
                let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                self.net.wait(
                    remaining
                        .map(|r| r.min(Duration::from_millis(100)))
                        .or(Some(Duration::from_millis(100))),
                );
            }
        }
    }
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventQueue({} in flight)", self.in_flight())
    }
}
