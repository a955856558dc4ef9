//! Fault injection for tests, as DAOS's `fail_loc` (`daos_fail_loc_set`): a process-wide
//! fault point that makes the client misbehave in one precise way, so that tests can show
//! what the engines do about it. Off unless a test sets it.

use std::sync::atomic::{AtomicU32, Ordering};

/// A fault the client can be told to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Fault {
    /// A replicated update is prepared on every replica, then the client stops, as if it died
    /// before asking the transaction's leader to commit: the call fails with `-DER_IO` and
    /// the engines are left to resolve the transaction.
    DtxSkipCommit = 1,
    /// An erasure-coded read-modify-write pauses 20 ms between reading its stripes and
    /// sending the update, as a preempted writer would: another writer's update of the same
    /// stripes then nearly always lands in between.
    EcSlowReadModifyWrite = 2,
}

static ACTIVE: AtomicU32 = AtomicU32::new(0);

/// Sets the fault to inject from now on (`None`: none).
pub fn set(fault: Option<Fault>) {
    ACTIVE.store(fault.map_or(0, |f| f as u32), Ordering::SeqCst);
}

/// Whether `fault` is set.
pub(crate) fn active(fault: Fault) -> bool {
    ACTIVE.load(Ordering::SeqCst) == fault as u32
}
