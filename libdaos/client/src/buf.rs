//! Scatter-gather lists: the memory an I/O reads from or writes into.
//!
//! An operation keeps its [`SgList`] until it completes, and the list keeps its memory alive:
//! owned lists own their buffers; raw lists (the C ABI's `d_sg_list_t`, and blocking calls on
//! borrowed slices) carry the caller's promise that the memory outlives the operation. Bulk
//! transfers register the memory with the fabric for the operation's duration.

use daos_fabric::{Access, Fabric, MemoryRegion};
use daos_types::Result;
use std::sync::Arc;

/// One contiguous piece of memory.
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    /// Start address.
    pub ptr: *mut u8,
    /// Length, bytes.
    pub len: usize,
}

/// A list of memory pieces, treated as one stream.
pub struct SgList {
    iovs: Vec<IoVec>,
    _owner: Option<Box<dyn std::any::Any + Send>>,
}

// SAFETY: an SgList either owns its memory (moved with it) or carries the caller's promise
// (see `from_raw`) that the memory stays valid and is not used elsewhere during the operation,
// wherever the operation runs.
unsafe impl Send for SgList {}
// SAFETY: shared access only reads through the raw pointers (or hands them to the fabric for
// an operation that owns the list); disjoint sub-lists may be written concurrently, and
// `sub_list` checks that they lie inside the parent.
unsafe impl Sync for SgList {}

impl SgList {
    /// A list over owned buffers.
    pub fn from_vecs(mut buffers: Vec<Vec<u8>>) -> SgList {
        let iovs = buffers
            .iter_mut()
            .map(|b| IoVec {
                ptr: b.as_mut_ptr(),
                len: b.len(),
            })
            .collect();
        SgList {
            iovs,
            _owner: Some(Box::new(buffers)),
        }
    }

    /// A list over one owned buffer.
    pub fn from_vec(buffer: Vec<u8>) -> SgList {
        Self::from_vecs(vec![buffer])
    }

    /// A list over memory the caller owns.
    ///
    /// # Safety
    /// Every piece must be valid for reads (updates) or writes (fetches) of its length until
    /// the operation using the list has completed or been dropped, and must not be accessed
    /// otherwise meanwhile.
    pub unsafe fn from_raw(iovs: Vec<IoVec>) -> SgList {
        SgList { iovs, _owner: None }
    }

    /// A list over pieces of `parent`'s memory, keeping `parent` alive.
    ///
    /// Panics if a piece is not inside one of the parent's pieces.
    pub fn sub_list(parent: Arc<SgList>, iovs: Vec<IoVec>) -> SgList {
        for iov in &iovs {
            let inside = parent.iovs.iter().any(|p| {
                let (start, end) = (p.ptr as usize, p.ptr as usize + p.len);
                iov.ptr as usize >= start && iov.ptr as usize + iov.len <= end
            });
            assert!(inside, "sub-list piece outside its parent");
        }
        SgList {
            iovs,
            _owner: Some(Box::new(parent)),
        }
    }

    /// The pieces.
    pub fn iovs(&self) -> &[IoVec] {
        &self.iovs
    }

    /// Total bytes.
    pub fn len(&self) -> u64 {
        self.iovs.iter().map(|v| v.len as u64).sum()
    }

    /// Whether the list holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes back the owned buffers of a list made by [`SgList::from_vecs`].
    pub fn into_vecs(self) -> Option<Vec<Vec<u8>>> {
        self._owner?.downcast::<Vec<Vec<u8>>>().ok().map(|b| *b)
    }

    /// The first `len` bytes of the stream when they lie in its first piece (no copy).
    pub fn contiguous(&self, len: usize) -> Option<&[u8]> {
        if len == 0 {
            return Some(&[]);
        }
        let first = self.iovs.first()?;
        if first.len < len {
            return None;
        }
        // SAFETY: the list's contract makes `first` valid for reads of its length for as long
        // as the list lives, and the returned slice borrows the list.
        Some(unsafe { std::slice::from_raw_parts(first.ptr, len) })
    }

    /// Copies `len` bytes at stream offset `offset` into `out`.
    pub fn read_at(&self, mut offset: u64, out: &mut [u8]) {
        let mut done = 0usize;
        for iov in &self.iovs {
            if done == out.len() {
                break;
            }
            if offset >= iov.len as u64 {
                offset -= iov.len as u64;
                continue;
            }
            let n = (iov.len - offset as usize).min(out.len() - done);
            // SAFETY: the list's contract makes iov valid for reads of its length.
            let src = unsafe { std::slice::from_raw_parts(iov.ptr.add(offset as usize), n) };
            out[done..done + n].copy_from_slice(src);
            done += n;
            offset = 0;
        }
    }

    /// Copies `data` into the stream at `offset`.
    pub fn write_at(&mut self, mut offset: u64, data: &[u8]) {
        let mut done = 0usize;
        for iov in &self.iovs {
            if done == data.len() {
                break;
            }
            if offset >= iov.len as u64 {
                offset -= iov.len as u64;
                continue;
            }
            let n = (iov.len - offset as usize).min(data.len() - done);
            // SAFETY: the list's contract makes iov valid for writes of its length, and we
            // hold the list mutably.
            let dst = unsafe { std::slice::from_raw_parts_mut(iov.ptr.add(offset as usize), n) };
            dst.copy_from_slice(&data[done..done + n]);
            done += n;
            offset = 0;
        }
    }

    /// Feeds the bytes of `[offset, offset + len)` to `f`, piece by piece.
    pub fn for_each_range(&self, mut offset: u64, mut len: u64, mut f: impl FnMut(&[u8])) {
        for iov in &self.iovs {
            if len == 0 {
                break;
            }
            if offset >= iov.len as u64 {
                offset -= iov.len as u64;
                continue;
            }
            let n = ((iov.len as u64 - offset).min(len)) as usize;
            // SAFETY: as in `read_at`.
            f(unsafe { std::slice::from_raw_parts(iov.ptr.add(offset as usize), n) });
            len -= n as u64;
            offset = 0;
        }
    }

    /// Registers every non-empty piece for remote access.
    ///
    /// Errors: `-DER_HG` if registration fails.
    pub fn register(&self, fabric: &Arc<Fabric>, remote_write: bool) -> Result<Vec<MemoryRegion>> {
        let access = if remote_write {
            Access::remote_write()
        } else {
            Access::remote_read()
        } | Access::local();
        self.iovs
            .iter()
            .filter(|v| v.len > 0)
            // SAFETY: the list's contract keeps the memory valid while the operation (which
            // holds both the list and these regions, dropping regions first) runs.
            .map(|v| unsafe { fabric.register_raw(v.ptr, v.len, access) })
            .collect()
    }
}

impl std::fmt::Debug for SgList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SgList({} pieces, {} bytes)",
            self.iovs.len(),
            self.len()
        )
    }
}
