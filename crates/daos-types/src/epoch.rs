//! Epochs and the hybrid logical clock that assigns them.
//!
//! Every update and punch carries an epoch; a fetch at epoch `E` sees exactly the versions
//! with epoch `≤ E` (DAOS `docs/overview/transaction.md`). Epochs come from a hybrid logical
//! clock (HLC): physical nanoseconds in the high bits, a logical counter in the low
//! [`HLC_LOGICAL_BITS`] bits. Every RPC carries the sender's clock and every receiver
//! advances its own past it, so an update acknowledged before a snapshot request is sent
//! always has a smaller epoch than the snapshot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `daos_epoch_t`.
pub type Epoch = u64;

/// `DAOS_EPOCH_MAX`: "the latest", for reads.
pub const EPOCH_MAX: Epoch = u64::MAX;

/// Bits of an HLC value used by the logical counter.
pub const HLC_LOGICAL_BITS: u32 = 16;
const HLC_LOGICAL_MASK: u64 = (1 << HLC_LOGICAL_BITS) - 1;

/// `daos_epoch_range_t`: an inclusive range of epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EpochRange {
    /// Lowest epoch, inclusive.
    pub lo: Epoch,
    /// Highest epoch, inclusive.
    pub hi: Epoch,
}

/// A hybrid logical clock, shared by every thread of one process.
#[derive(Debug, Default)]
pub struct Hlc {
    last: AtomicU64,
}

impl Hlc {
    /// A clock that starts at the current physical time.
    pub const fn new() -> Hlc {
        Hlc {
            last: AtomicU64::new(0),
        }
    }

    fn physical() -> u64 {
        let ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        ns & !HLC_LOGICAL_MASK
    }

    /// A new timestamp, strictly greater than every value this clock returned or observed.
    pub fn now(&self) -> u64 {
        let physical = Self::physical();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = if physical > last { physical } else { last + 1 };
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Advances the clock past a remote timestamp; returns the clock's value afterwards.
    pub fn observe(&self, remote: u64) -> u64 {
        if remote == EPOCH_MAX {
            return self.last.load(Ordering::Acquire);
        }
        let previous = self.last.fetch_max(remote, Ordering::AcqRel);
        previous.max(remote)
    }

    /// The latest value returned or observed, without advancing.
    pub fn peek(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }
}

/// Converts an HLC value to nanoseconds since the Unix epoch (`d_hlc2nsec`).
pub const fn hlc_to_nanos(hlc: u64) -> u64 {
    hlc & !HLC_LOGICAL_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_and_observes_remote() {
        let clock = Hlc::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b > a);
        let far = b + (1 << 40);
        clock.observe(far);
        assert!(clock.now() > far);
        assert_eq!(clock.observe(EPOCH_MAX), clock.peek());
    }

    #[test]
    fn monotonic_across_threads() {
        let clock = std::sync::Arc::new(Hlc::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let clock = clock.clone();
                std::thread::spawn(move || (0..10_000).map(|_| clock.now()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "no timestamp handed out twice");
    }
}
