//! Block-aligned heap buffers, as O_DIRECT and DMA-style transfers need.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every [`AlignedBuf`], bytes.
pub const ALIGNMENT: usize = 4096;

/// A zero-initialised, 4 KiB-aligned heap buffer whose address never changes.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    capacity: usize,
}

// SAFETY: the buffer is uniquely owned heap memory, like Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes (capacity rounded up to the alignment, at least one
    /// block).
    pub fn zeroed(len: usize) -> AlignedBuf {
        let capacity = len.div_ceil(ALIGNMENT).max(1) * ALIGNMENT;
        let layout = Layout::from_size_align(capacity, ALIGNMENT).expect("buffer size overflows");
        // SAFETY: layout has non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(layout)
        };
        AlignedBuf { ptr, len, capacity }
    }

    /// Bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allocated bytes (a multiple of [`ALIGNMENT`]).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the length within the capacity; new bytes keep whatever they held (zeros
    /// initially).
    pub fn set_len(&mut self, len: usize) {
        assert!(
            len <= self.capacity,
            "length {len} beyond capacity {}",
            self.capacity
        );
        self.len = len;
    }

    /// The start address.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The start address, mutable.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The whole capacity as a slice.
    pub fn full_mut(&mut self) -> &mut [u8] {
        // SAFETY: the allocation holds `capacity` initialised (zeroed) bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.capacity) }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: len <= capacity, all initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: len <= capacity, all initialised, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.capacity, ALIGNMENT).expect("layout was valid");
        // SAFETY: allocated with this layout in `zeroed`.
        unsafe { dealloc(self.ptr.as_ptr(), layout) };
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} of {} bytes)", self.len, self.capacity)
    }
}

/// Memory an I/O may target: its address must stay fixed while the value lives.
///
/// # Safety
/// `io_ptr()` must be valid for `io_len()` bytes for the value's whole life, even after moves.
pub unsafe trait IoBuf: Send + 'static {
    /// Start address.
    fn io_ptr(&mut self) -> *mut u8;
    /// Length, bytes.
    fn io_len(&self) -> usize;
}

// SAFETY: the heap allocation never moves and lives until drop.
unsafe impl IoBuf for AlignedBuf {
    fn io_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    fn io_len(&self) -> usize {
        self.len
    }
}
