//! Registered, block-aligned bulk buffers: the engine end of every RMA and block I/O.
//!
//! One arena per target, registered with the fabric once, split into fixed slots. Bulk data
//! moves client memory → slot (RMA read) → data file (io_uring) and back, never copied in our
//! code. Memory per target is bounded by the slot count; when every slot is busy, requests
//! wait for one. A request waits for a slot only while it holds none, and takes further slots
//! (to pipeline its transfers) only with [`DmaPool::try_acquire`], so slot waits cannot
//! deadlock.

use daos_bio::{AlignedBuf, IoBuf};
use daos_fabric::{Access, Fabric, MemoryRegion, RmaBuffer};
use daos_types::Result;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Bytes per slot.
pub const SLOT_SIZE: usize = 1 << 20;

struct Shared {
    free: Vec<usize>,
    waiters: VecDeque<Waker>,
}

/// A target's arena of registered slots.
pub struct DmaPool {
    // Field order matters: the registration is dropped before the memory it covers.
    mr: MemoryRegion,
    arena: AlignedBuf,
    shared: Mutex<Shared>,
}

impl DmaPool {
    /// An arena of `slots` slots registered with `fabric`.
    ///
    /// Errors: `-DER_HG` if registration fails.
    pub fn new(fabric: &Arc<Fabric>, slots: usize) -> Result<Arc<DmaPool>> {
        let arena = AlignedBuf::zeroed(slots * SLOT_SIZE);
        // SAFETY: the arena moves into the DmaPool with its registration, and the struct's
        // field order drops the registration before the arena.
        let mr = unsafe {
            fabric.register_raw(
                arena.as_ptr(),
                arena.capacity(),
                Access::local() | Access::remote_read() | Access::remote_write(),
            )?
        };
        Ok(Arc::new(DmaPool {
            mr,
            arena,
            shared: Mutex::new(Shared {
                free: (0..slots).rev().collect(),
                waiters: VecDeque::new(),
            }),
        }))
    }

    /// Waits for a free slot.
    pub fn acquire(self: &Arc<Self>) -> Acquire {
        Acquire { pool: self.clone() }
    }

    /// A free slot now, if one is free and no request is waiting for one (waiters hold no
    /// slot, so they go first; a request that already holds slots uses this for more, which
    /// keeps slot waits free of deadlock).
    pub fn try_acquire(self: &Arc<Self>) -> Option<DmaBuf> {
        let mut shared = self.shared.lock().expect("dma pool poisoned");
        if !shared.waiters.is_empty() {
            return None;
        }
        shared.free.pop().map(|slot| DmaBuf {
            pool: self.clone(),
            slot,
            len: SLOT_SIZE,
        })
    }

    /// Slots free now.
    pub fn free_slots(&self) -> usize {
        self.shared.lock().expect("dma pool poisoned").free.len()
    }
}

/// Future of [`DmaPool::acquire`].
pub struct Acquire {
    pool: Arc<DmaPool>,
}

impl Future for Acquire {
    type Output = DmaBuf;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DmaBuf> {
        let mut shared = self.pool.shared.lock().expect("dma pool poisoned");
        match shared.free.pop() {
            Some(slot) => Poll::Ready(DmaBuf {
                pool: self.pool.clone(),
                slot,
                len: SLOT_SIZE,
            }),
            None => {
                shared.waiters.push_back(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// One slot, of adjustable length (at most [`SLOT_SIZE`]).
pub struct DmaBuf {
    pool: Arc<DmaPool>,
    slot: usize,
    len: usize,
}

impl DmaBuf {
    /// Sets the length used for the next transfer.
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= SLOT_SIZE, "{len} bytes exceed a DMA slot");
        self.len = len;
    }

    /// Length in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn base(&self) -> *mut u8 {
        // SAFETY: slot < slots, so the offset stays inside the arena allocation.
        unsafe { (self.pool.arena.as_ptr() as *mut u8).add(self.slot * SLOT_SIZE) }
    }

    /// How a peer reads or writes bytes `range` of this buffer by RMA.
    pub fn remote(&self, range: std::ops::Range<usize>) -> daos_fabric::RemoteRegion {
        assert!(range.end <= self.len, "range outside the buffer");
        self.pool
            .mr
            .remote(self.slot * SLOT_SIZE + range.start, range.len())
    }

    /// The bytes in use.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: this slot is exclusively ours while the DmaBuf lives; len <= SLOT_SIZE.
        unsafe { std::slice::from_raw_parts(self.base(), self.len) }
    }

    /// The bytes in use, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees no other borrow.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.len) }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        let waker = {
            let mut shared = self.pool.shared.lock().expect("dma pool poisoned");
            shared.free.push(self.slot);
            shared.waiters.pop_front()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

// SAFETY: the slot's address is fixed inside the arena for as long as the DmaBuf (which holds
// an Arc to the arena) lives; the registration covers the whole arena.
unsafe impl RmaBuffer for DmaBuf {
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.base()
    }
    fn len(&self) -> usize {
        self.len
    }
    fn desc(&self) -> *mut std::ffi::c_void {
        self.pool.mr.desc()
    }
}

// SAFETY: as above; the kernel reads or writes `len` bytes at a fixed address.
unsafe impl IoBuf for DmaBuf {
    fn io_ptr(&mut self) -> *mut u8 {
        self.base()
    }
    fn io_len(&self) -> usize {
        self.len
    }
}
