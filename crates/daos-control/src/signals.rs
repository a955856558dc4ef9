//! Termination signals, taken synchronously.
//!
//! libfabric's shm provider installs SIGINT/SIGTERM handlers that end the process, and
//! handler-based signal libraries chain to them, so a daemon relying on a handler never gets
//! to shut down cleanly. Instead, daemons block both signals in every thread before anything
//! else starts (the mask is inherited by threads created later), then take them with
//! `sigwait` on a thread of their own: no handler, libfabric's included, ever runs for them.

use daos_types::{Der, Error, Result};
use nix::sys::signal::{SigSet, Signal};

/// Blocks SIGINT and SIGTERM for the calling thread and all threads it creates afterwards.
/// Call first thing in `main`.
///
/// Errors: `-DER_MISC` if the mask cannot be changed.
pub fn block_termination() -> Result<()> {
    termination_set()
        .thread_block()
        .map_err(|e| Error::new(Der::Misc, format!("blocking signals: {e}")))
}

fn termination_set() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// Waits for SIGINT or SIGTERM (which must be blocked, see [`block_termination`]).
pub fn wait_termination() -> Signal {
    loop {
        if let Ok(signal) = termination_set().wait() {
            return signal;
        }
    }
}

/// Spawns a thread that calls `on_signal` once SIGINT or SIGTERM arrives.
pub fn on_termination(on_signal: impl FnOnce(Signal) + Send + 'static) {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || on_signal(wait_termination()))
        .expect("spawning the signal thread");
}
