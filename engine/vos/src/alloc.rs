//! Blob space allocator: 4 KiB blocks within a pool's region of the data file.
//!
//! Best fit over free extents, coalescing on release. Space released by a change is *pending*
//! until (1) the log record that released it is durable — otherwise a crash could replay the
//! old owner over data written by a new one — and (2) every read that started before the
//! release has finished — otherwise a read could return the new owner's bytes. Only then does
//! it become allocatable. The free map is never persisted: recovery derives it from the index
//! (everything not referenced is free).

use crate::index::{align_up, BLOCK_SIZE};
use daos_types::{Der, Error, Result};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug)]
struct PendingFree {
    lsn: u64,
    read_generation: u64,
    start: u64,
    len: u64,
}

/// The allocator of one pool's blob on one target.
#[derive(Debug)]
pub struct Allocator {
    start: u64,
    end: u64,
    by_start: BTreeMap<u64, u64>,
    by_size: BTreeSet<(u64, u64)>,
    free_bytes: u64,
    pending: VecDeque<PendingFree>,
    pending_bytes: u64,
}

impl Allocator {
    /// An allocator over `[start, end)` with everything free.
    pub fn new(start: u64, end: u64) -> Allocator {
        assert!(start % BLOCK_SIZE == 0 && end % BLOCK_SIZE == 0 && start <= end);
        let mut alloc = Allocator {
            start,
            end,
            by_start: BTreeMap::new(),
            by_size: BTreeSet::new(),
            free_bytes: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
        };
        if end > start {
            alloc.insert_free(start, end - start);
        }
        alloc
    }

    /// An allocator over `[start, end)` where `used` ranges are taken (recovery).
    ///
    /// Errors: `-DER_DF_INVAL` if a used range lies outside the region or two overlap.
    pub fn with_used(start: u64, end: u64, mut used: Vec<(u64, u64)>) -> Result<Allocator> {
        used.sort_unstable();
        let mut alloc = Allocator::new(start, start);
        alloc.end = end;
        let mut cursor = start;
        for (at, len) in used {
            if at < cursor || at + len > end || at % BLOCK_SIZE != 0 {
                return Err(Error::new(
                    Der::DfInval,
                    format!("blob range {at:#x}+{len:#x} overlaps another or leaves the region"),
                ));
            }
            if at > cursor {
                alloc.insert_free(cursor, at - cursor);
            }
            cursor = at + align_up(len);
        }
        if cursor < end {
            alloc.insert_free(cursor, end - cursor);
        }
        Ok(alloc)
    }

    fn insert_free(&mut self, start: u64, len: u64) {
        self.by_start.insert(start, len);
        self.by_size.insert((len, start));
        self.free_bytes += len;
    }

    fn remove_free(&mut self, start: u64, len: u64) {
        self.by_start.remove(&start);
        self.by_size.remove(&(len, start));
        self.free_bytes -= len;
    }

    /// Total bytes managed.
    pub fn capacity(&self) -> u64 {
        self.end - self.start
    }

    /// Bytes allocatable now.
    pub fn free(&self) -> u64 {
        self.free_bytes
    }

    /// Bytes released but not yet allocatable.
    pub fn pending(&self) -> u64 {
        self.pending_bytes
    }

    /// Allocates `len` bytes (rounded up to blocks); returns the start address.
    ///
    /// Errors: `-DER_NOSPACE` when no free extent is large enough.
    pub fn allocate(&mut self, len: u64) -> Result<u64> {
        let len = align_up(len.max(1));
        let Some(&(found_len, found_start)) = self.by_size.range((len, 0)..).next() else {
            return Err(Error::new(
                Der::Nospace,
                format!(
                    "no {len}-byte extent free ({} free, {} pending)",
                    self.free_bytes, self.pending_bytes
                ),
            ));
        };
        self.remove_free(found_start, found_len);
        if found_len > len {
            self.insert_free(found_start + len, found_len - len);
        }
        Ok(found_start)
    }

    /// Returns space that was never referenced by a logged record (a failed update).
    pub fn release_now(&mut self, start: u64, len: u64) {
        self.coalesce_insert(start, align_up(len));
    }

    /// Queues space released by the record at `lsn`, read generation `generation`.
    pub fn release_later(&mut self, lsn: u64, generation: u64, start: u64, len: u64) {
        let len = align_up(len);
        self.pending_bytes += len;
        self.pending.push_back(PendingFree {
            lsn,
            read_generation: generation,
            start,
            len,
        });
    }

    /// Makes pending space allocatable once its record is durable (`lsn <= durable_lsn`) and
    /// no read older than its release is running (`generation < oldest_read`).
    pub fn settle(&mut self, durable_lsn: u64, oldest_read: u64) {
        while let Some(front) = self.pending.front() {
            if front.lsn > durable_lsn || front.read_generation >= oldest_read {
                break;
            }
            let front = self.pending.pop_front().expect("non-empty");
            self.pending_bytes -= front.len;
            self.coalesce_insert(front.start, front.len);
        }
    }

    fn coalesce_insert(&mut self, mut start: u64, mut len: u64) {
        debug_assert!(
            start >= self.start && start + len <= self.end,
            "release outside the region"
        );
        if let Some((&prev_start, &prev_len)) = self.by_start.range(..start).next_back() {
            debug_assert!(prev_start + prev_len <= start, "double free at {start:#x}");
            if prev_start + prev_len == start {
                self.remove_free(prev_start, prev_len);
                start = prev_start;
                len += prev_len;
            }
        }
        if let Some((&next_start, &next_len)) = self.by_start.range(start + len..).next() {
            if next_start == start + len {
                self.remove_free(next_start, next_len);
                len += next_len;
            }
        }
        self.insert_free(start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allocate_release_coalesce() {
        let mut a = Allocator::new(0, 16 * BLOCK_SIZE);
        let x = a.allocate(1).unwrap();
        let y = a.allocate(3 * BLOCK_SIZE).unwrap();
        assert_eq!(a.free(), 12 * BLOCK_SIZE);
        a.release_later(5, 1, x, 1);
        assert_eq!(a.free(), 12 * BLOCK_SIZE);
        a.settle(4, 10);
        assert_eq!(a.pending(), BLOCK_SIZE, "record not durable yet");
        a.settle(5, 1);
        assert_eq!(
            a.pending(),
            BLOCK_SIZE,
            "a read older than the release still runs"
        );
        a.settle(5, 2);
        assert_eq!(a.pending(), 0);
        a.release_now(y, 3 * BLOCK_SIZE);
        assert_eq!(a.free(), 16 * BLOCK_SIZE);
        assert_eq!(a.allocate(16 * BLOCK_SIZE).unwrap(), 0, "fully coalesced");
        assert_eq!(a.allocate(1).unwrap_err().der(), Der::Nospace);
    }

    #[test]
    fn recovery_marks_used() {
        let a = Allocator::with_used(
            0,
            8 * BLOCK_SIZE,
            vec![(BLOCK_SIZE, 100), (4 * BLOCK_SIZE, 2 * BLOCK_SIZE)],
        )
        .unwrap();
        assert_eq!(a.free(), 5 * BLOCK_SIZE);
        assert!(Allocator::with_used(
            0,
            8 * BLOCK_SIZE,
            vec![(0, 2 * BLOCK_SIZE), (BLOCK_SIZE, 1)]
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn never_hands_out_overlapping_space(ops in proptest::collection::vec((1u64..6, any::<bool>()), 1..200)) {
            let mut a = Allocator::new(0, 64 * BLOCK_SIZE);
            let mut held: Vec<(u64, u64)> = Vec::new();
            for (blocks, free) in ops {
                if free && !held.is_empty() {
                    let (s, l) = held.swap_remove(0);
                    a.release_now(s, l);
                } else if let Ok(s) = a.allocate(blocks * BLOCK_SIZE) {
                    for (hs, hl) in &held {
                        prop_assert!(s + blocks * BLOCK_SIZE <= *hs || hs + hl <= s);
                    }
                    held.push((s, blocks * BLOCK_SIZE));
                }
                let used: u64 = held.iter().map(|h| h.1).sum();
                prop_assert_eq!(a.free() + used, 64 * BLOCK_SIZE);
            }
        }
    }
}
