//! The parts of DAOS's `libgurt` that clients call (`gurt/hash.h`, `gurt/common.h`,
//! `daos_errno.h`): the intrusive chained hash table, the DJB2 and MurmurHash64A hashes,
//! `d_getenv_*`, `d_errstr`/`d_errdesc` and rank lists, ABI-compatible with DAOS 2.8.
//!
//! Clients (IOR, mdtest, ROMIO ad_daos, pydaos' torch shim) cache pool, container and directory
//! handles in `d_hash_table`s whose records are their own structs with an embedded `d_list_t`
//! (the C API reference, §3a, §3b and §7 item 10). The table never allocates records: it links
//! the caller's `d_list_t` into a bucket and calls the caller's `d_hash_table_ops_t` callbacks.
//!
//! Invariants and behaviour, as DAOS's `src/gurt/hash.c`:
//! - `struct d_hash_table` has DAOS's layout (96 bytes on 64-bit glibc, see [`DHashTable`]):
//!   callers embed it and use the `*_inplace` calls.
//! - Bucket of a key = `hop_key_hash(key)` (default: DJB2, [`d_hash_string_u32`]) masked to
//!   `2^bits` buckets. ROMIO inserts `strlen+1` bytes and looks up `strlen` bytes; with DJB2 and
//!   `bits <= 5` the trailing NUL does not change the bucket (`33 ≡ 1 mod 32`).
//! - Reference counting: without `D_HASH_FT_EPHEMERAL` the table takes a reference on insert and
//!   drops it on delete (freeing the record when `hop_rec_decref` says it was the last); with
//!   `EPHEMERAL` it takes none, and the `d_hash_rec_decref` that drops the last reference also
//!   unlinks the record and frees it. `d_hash_rec_find` always takes a reference (if the table
//!   has `hop_rec_addref`); `d_hash_rec_first` takes none (clients drain with
//!   `first`/`decref`).
//! - `hop_rec_free` is called without the table lock held; every other callback with it held,
//!   so callbacks must not call back into the same table.
//! - Locking: `D_HASH_FT_NOLOCK` takes none; `D_HASH_FT_RWLOCK` one table-wide `pthread_rwlock_t`
//!   (read-locked for lookups without LRU, as DAOS); otherwise one table-wide `pthread_mutex_t`
//!   (DAOS's default is a spinlock per bucket; a mutex for the whole table keeps the same
//!   guarantees and needs no `hop_rec_hash`). Both live in `ht_lock`; `ht_locks` stays NULL.
//!
//! Where DAOS asserts (NULL table, NULL key, zero key size, a missing `hop_key_cmp`) these
//! functions return `-DER_INVAL`, NULL or false instead, and no panic crosses the C ABI.

use crate::guard;
use daos_types::{Der, Error};
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString, OsString};
use std::mem::size_of;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

/// Runs the body of an entry point that has no error code; a panic yields `fallback`.
fn shield<T>(name: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            tracing::error!("{name}: internal error (panic)");
            fallback
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Intrusive lists (gurt/list.h)
// ---------------------------------------------------------------------------------------------

/// `d_list_t` (`struct d_list_head`): a kernel-style intrusive doubly linked circular list
/// link. An empty list (or an unlinked record) points at itself.
#[repr(C)]
#[derive(Debug)]
pub struct DList {
    pub next: *mut DList,
    pub prev: *mut DList,
}

/// Makes `head` an empty list.
///
/// # Safety
/// `head` is valid for writes.
unsafe fn list_init(head: *mut DList) {
    // SAFETY: valid for writes by the caller's contract.
    unsafe {
        (*head).next = head;
        (*head).prev = head;
    }
}

/// True if `link` is an empty list head or an unlinked record. A zeroed link (never inserted)
/// counts as unlinked.
///
/// # Safety
/// `link` is valid for reads.
unsafe fn list_is_empty(link: *const DList) -> bool {
    // SAFETY: valid for reads by the caller's contract.
    let next = unsafe { (*link).next };
    next.is_null() || ptr::eq(next, link)
}

/// Links `new` between the adjacent links `prev` and `next`.
///
/// # Safety
/// All three are valid; `prev` and `next` are adjacent in one list.
unsafe fn list_link_between(new: *mut DList, prev: *mut DList, next: *mut DList) {
    // SAFETY: valid by the caller's contract.
    unsafe {
        (*next).prev = new;
        (*new).next = next;
        (*new).prev = prev;
        (*prev).next = new;
    }
}

/// Unlinks `link` from its list and makes it point at itself.
///
/// # Safety
/// `link` is in a well-formed list.
unsafe fn list_del_init(link: *mut DList) {
    // SAFETY: `link` and its neighbours are valid links of one list by the caller's contract.
    unsafe {
        let prev = (*link).prev;
        let next = (*link).next;
        (*next).prev = prev;
        (*prev).next = next;
        list_init(link);
    }
}

/// Moves `link` (in some list) to the front of the list `head`.
///
/// # Safety
/// `link` is in a well-formed list and `head` heads one.
unsafe fn list_move_head(link: *mut DList, head: *mut DList) {
    // SAFETY: by the caller's contract.
    unsafe {
        list_del_init(link);
        list_link_between(link, head, (*head).next);
    }
}

/// Moves `link` (in some list) to the back of the list `head`.
///
/// # Safety
/// `link` is in a well-formed list and `head` heads one.
unsafe fn list_move_tail(link: *mut DList, head: *mut DList) {
    // SAFETY: by the caller's contract.
    unsafe {
        list_del_init(link);
        list_link_between(link, (*head).prev, head);
    }
}

// ---------------------------------------------------------------------------------------------
// Hash table types (gurt/hash.h)
// ---------------------------------------------------------------------------------------------

/// `enum d_hash_feats`: no lock; the caller serialises access.
pub const D_HASH_FT_NOLOCK: u32 = 1 << 0;
/// Protect the table with a `pthread_mutex_t`.
pub const D_HASH_FT_MUTEX: u32 = 1 << 1;
/// Protect the table with a `pthread_rwlock_t` (read-mostly tables).
pub const D_HASH_FT_RWLOCK: u32 = 1 << 2;
/// The table takes no reference on insert; the last `d_hash_rec_decref` unlinks and frees.
pub const D_HASH_FT_EPHEMERAL: u32 = 1 << 3;
/// A found record moves to the front of its bucket.
pub const D_HASH_FT_LRU: u32 = 1 << 4;
/// One lock for the whole table instead of one per bucket (always the case here).
pub const D_HASH_FT_GLOCK: u32 = 1 << 15;

/// The largest `bits` accepted: 2^28 buckets are 4 GiB of bucket heads, far past any client's
/// use (IOR and ROMIO use 4, dfs 6, mpifileutils 16).
pub const D_HASH_BITS_MAX: u32 = 28;

/// `hop_key_cmp`: true if the record `link` has key `key` of `ksize` bytes.
pub type HopKeyCmp =
    unsafe extern "C" fn(*mut DHashTable, *mut DList, *const c_void, c_uint) -> bool;
/// `hop_key_init`: generate a key for an anonymous record (`d_hash_rec_insert_anonym`).
pub type HopKeyInit = unsafe extern "C" fn(*mut DHashTable, *mut DList, *mut c_void);
/// `hop_key_hash`: hash a key to 32 bits (DJB2 when absent).
pub type HopKeyHash = unsafe extern "C" fn(*mut DHashTable, *const c_void, c_uint) -> u32;
/// `hop_rec_hash`: the hash of a record's key (as `hop_key_hash` of it).
pub type HopRecHash = unsafe extern "C" fn(*mut DHashTable, *mut DList) -> u32;
/// `hop_rec_addref`: take a reference on a record.
pub type HopRecAddref = unsafe extern "C" fn(*mut DHashTable, *mut DList);
/// `hop_rec_decref`: drop a reference; true if it was the last and the record may be freed.
pub type HopRecDecref = unsafe extern "C" fn(*mut DHashTable, *mut DList) -> bool;
/// `hop_rec_ndecref(htable, link, count)`: drop `count` references; 1 if the record may be
/// freed, 0 if not, negative on error.
pub type HopRecNdecref = unsafe extern "C" fn(*mut DHashTable, *mut DList, c_int) -> c_int;
/// `hop_rec_free`: free a record (called without the table lock).
pub type HopRecFree = unsafe extern "C" fn(*mut DHashTable, *mut DList);
/// `d_hash_traverse_cb_t`: called on every record; non-zero stops the traversal.
pub type DHashTraverseCb = unsafe extern "C" fn(*mut DList, *mut c_void) -> c_int;

/// `d_hash_table_ops_t`: the caller's callbacks, in DAOS's order (64 bytes on 64-bit).
/// Only `hop_key_cmp` is mandatory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DHashTableOps {
    pub hop_key_cmp: Option<HopKeyCmp>,
    pub hop_key_init: Option<HopKeyInit>,
    pub hop_key_hash: Option<HopKeyHash>,
    pub hop_rec_hash: Option<HopRecHash>,
    pub hop_rec_addref: Option<HopRecAddref>,
    pub hop_rec_decref: Option<HopRecDecref>,
    pub hop_rec_ndecref: Option<HopRecNdecref>,
    pub hop_rec_free: Option<HopRecFree>,
}

/// `union d_hash_lock` (56 bytes on x86_64 and aarch64 glibc: the size of `pthread_rwlock_t`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union DHashLock {
    pub spin: libc::pthread_spinlock_t,
    pub mutex: libc::pthread_mutex_t,
    pub rwlock: libc::pthread_rwlock_t,
}

/// `struct d_hash_bucket` (`D_HASH_DEBUG` is 0 in DAOS's header, so just the list head).
#[repr(C)]
#[derive(Debug)]
pub struct DHashBucket {
    pub hb_head: DList,
}

/// `struct d_hash_table`, DAOS's layout with `D_HASH_DEBUG == 0`:
///
/// | field | offset | size |
/// |---|---|---|
/// | `ht_lock` (`union d_hash_lock`) | 0 | 56 |
/// | `ht_bits` (`uint32_t`) | 56 | 4 |
/// | `ht_feats` (`uint32_t`) | 60 | 4 |
/// | `ht_priv` (`void *`) | 64 | 8 |
/// | `ht_ops` (`d_hash_table_ops_t *`) | 72 | 8 |
/// | `ht_buckets` (`struct d_hash_bucket *`) | 80 | 8 |
/// | `ht_locks` (`union d_hash_lock *`) | 88 | 8 |
///
/// 96 bytes, alignment 8 (x86_64 and aarch64 glibc). `ht_ops` points at the caller's ops
/// struct, which must outlive the table (as in DAOS); `ht_locks` is always NULL here.
#[repr(C)]
pub struct DHashTable {
    pub ht_lock: DHashLock,
    pub ht_bits: u32,
    pub ht_feats: u32,
    pub ht_priv: *mut c_void,
    pub ht_ops: *mut DHashTableOps,
    pub ht_buckets: *mut DHashBucket,
    pub ht_locks: *mut DHashLock,
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
const _: () = {
    assert!(size_of::<DList>() == 16);
    assert!(size_of::<DHashTableOps>() == 64);
    assert!(size_of::<DHashLock>() == 56);
    assert!(size_of::<DHashTable>() == 96);
    assert!(std::mem::offset_of!(DHashTable, ht_bits) == 56);
    assert!(std::mem::offset_of!(DHashTable, ht_feats) == 60);
    assert!(std::mem::offset_of!(DHashTable, ht_priv) == 64);
    assert!(std::mem::offset_of!(DHashTable, ht_ops) == 72);
    assert!(std::mem::offset_of!(DHashTable, ht_buckets) == 80);
    assert!(std::mem::offset_of!(DHashTable, ht_locks) == 88);
};

// ---------------------------------------------------------------------------------------------
// Hash functions
// ---------------------------------------------------------------------------------------------

/// DJB2 over `bytes`: `h = 5381; h = h * 33 + byte` (wrapping, bytes unsigned).
pub fn djb2(bytes: &[u8]) -> u32 {
    bytes.iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    })
}

/// MurmurHash64A (Austin Appleby's 64-bit MurmurHash2), reading 8-byte blocks little-endian
/// as DAOS does on its (little-endian) platforms.
pub fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // DAOS takes the length as `unsigned int`; it is widened before the multiplication.
    let len = key.len() as u32;
    let mut h = u64::from(seed) ^ u64::from(len).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for block in &mut blocks {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        h ^= u64::from_le_bytes(word);
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `uint32_t d_hash_string_u32(const char *string, unsigned int len)`: DJB2 of the first `len`
/// bytes (NUL bytes included). A NULL `string` hashes as empty (5381).
///
/// # Safety
/// `string` is NULL or valid for `len` bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn d_hash_string_u32(string: *const c_char, len: c_uint) -> u32 {
    if string.is_null() || len == 0 {
        return djb2(&[]);
    }
    // SAFETY: non-NULL and valid for `len` bytes by the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(string.cast::<u8>(), len as usize) };
    djb2(bytes)
}

/// `uint64_t d_hash_murmur64(const unsigned char *key, unsigned int key_len, unsigned int
/// seed)`: MurmurHash64A. A NULL `key` hashes as empty.
///
/// # Safety
/// `key` is NULL or valid for `key_len` bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn d_hash_murmur64(key: *const u8, key_len: c_uint, seed: c_uint) -> u64 {
    if key.is_null() || key_len == 0 {
        return murmur64a(&[], seed);
    }
    // SAFETY: non-NULL and valid for `key_len` bytes by the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(key, key_len as usize) };
    murmur64a(bytes, seed)
}

// ---------------------------------------------------------------------------------------------
// Hash table internals
// ---------------------------------------------------------------------------------------------

/// Where a found record goes in its bucket (DAOS's `enum d_hash_lru`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lru {
    Stay,
    Head,
    Tail,
}

/// A validated table: the pointer plus copies of the fields every operation reads.
struct Table {
    ht: *mut DHashTable,
    feats: u32,
    buckets: *mut DHashBucket,
    nr: usize,
    mask: u32,
    ops: DHashTableOps,
    key_cmp: HopKeyCmp,
}

/// A held table lock, released on drop (also when a panic unwinds).
struct Locked {
    ht: *mut DHashTable,
    kind: LockKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LockKind {
    None,
    Mutex,
    RwLock,
}

fn lock_kind(feats: u32) -> LockKind {
    if feats & D_HASH_FT_NOLOCK != 0 {
        LockKind::None
    } else if feats & D_HASH_FT_RWLOCK != 0 {
        LockKind::RwLock
    } else {
        LockKind::Mutex
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: `self.ht` is a live, created table whose lock of this kind we hold (taken in
        // `Table::lock`); the lock was initialised by `d_hash_table_create_inplace`.
        unsafe {
            match self.kind {
                LockKind::None => {}
                LockKind::Mutex => {
                    libc::pthread_mutex_unlock(ptr::addr_of_mut!((*self.ht).ht_lock.mutex));
                }
                LockKind::RwLock => {
                    libc::pthread_rwlock_unlock(ptr::addr_of_mut!((*self.ht).ht_lock.rwlock));
                }
            }
        }
    }
}

impl Table {
    /// Validates `ht` as a created table. `None` for NULL, a destroyed or never created table,
    /// or one without `hop_key_cmp`.
    ///
    /// # Safety
    /// `ht` is NULL or points to a `struct d_hash_table` that is zeroed, destroyed or created
    /// by `d_hash_table_create*` and not yet destroyed.
    unsafe fn new(ht: *mut DHashTable) -> Option<Table> {
        if ht.is_null() {
            return None;
        }
        // SAFETY: non-NULL and a table by the caller's contract.
        let (feats, bits, buckets, ops_ptr) = unsafe {
            (
                (*ht).ht_feats,
                (*ht).ht_bits,
                (*ht).ht_buckets,
                (*ht).ht_ops,
            )
        };
        if buckets.is_null() || ops_ptr.is_null() || bits > D_HASH_BITS_MAX {
            return None;
        }
        // SAFETY: `ht_ops` points at the caller's ops, which outlive the table (DAOS's
        // contract for `d_hash_table_create`).
        let ops = unsafe { *ops_ptr };
        let key_cmp = ops.hop_key_cmp?;
        Some(Table {
            ht,
            feats,
            buckets,
            nr: 1usize << bits,
            mask: (1u32 << bits) - 1,
            ops,
            key_cmp,
        })
    }

    fn has(&self, feature: u32) -> bool {
        self.feats & feature != 0
    }

    /// Takes the table lock: a read lock if `read_only` and the table is `RWLOCK`.
    fn lock(&self, read_only: bool) -> Locked {
        let kind = lock_kind(self.feats);
        // SAFETY: the table is live and its lock of this kind was initialised at creation.
        unsafe {
            match kind {
                LockKind::None => {}
                LockKind::Mutex => {
                    libc::pthread_mutex_lock(ptr::addr_of_mut!((*self.ht).ht_lock.mutex));
                }
                LockKind::RwLock => {
                    let rwlock = ptr::addr_of_mut!((*self.ht).ht_lock.rwlock);
                    if read_only {
                        libc::pthread_rwlock_rdlock(rwlock);
                    } else {
                        libc::pthread_rwlock_wrlock(rwlock);
                    }
                }
            }
        }
        Locked { ht: self.ht, kind }
    }

    /// The head of bucket `idx`.
    fn head(&self, idx: usize) -> *mut DList {
        debug_assert!(idx < self.nr);
        // SAFETY: `idx < nr` and `buckets` has `nr` elements (allocated at creation).
        unsafe { ptr::addr_of_mut!((*self.buckets.add(idx)).hb_head) }
    }

    /// The bucket head for `key`: `hop_key_hash` or DJB2, masked to the table size.
    ///
    /// # Safety
    /// `key` is valid for `ksize` bytes.
    unsafe fn key_head(&self, key: *const c_void, ksize: c_uint) -> *mut DList {
        let hash = match self.ops.hop_key_hash {
            // SAFETY: the caller's callback, called with the table and its key as DAOS does.
            Some(hash) => unsafe { hash(self.ht, key, ksize) },
            // SAFETY: `key` is valid for `ksize` bytes by our caller's contract.
            None => djb2(unsafe { std::slice::from_raw_parts(key.cast::<u8>(), ksize as usize) }),
        };
        self.head((hash & self.mask) as usize)
    }

    /// The head of the bucket that holds the linked record `link`: the first link reached
    /// from it that lies in the bucket array (so no `hop_rec_hash` is needed).
    ///
    /// # Safety
    /// `link` is linked into this table, and the lock is held.
    unsafe fn head_of(&self, link: *mut DList) -> *mut DList {
        let start = self.buckets as usize;
        let end = start + self.nr * size_of::<DHashBucket>();
        // SAFETY: `link` is linked into this table, so following `next` stays in the list
        // and reaches its bucket head.
        let mut p = unsafe { (*link).next };
        while !(start..end).contains(&(p as usize)) {
            // SAFETY: as above.
            p = unsafe { (*p).next };
        }
        p
    }

    /// Finds `key` in the bucket `head`, moving the hit as `lru` says (LRU tables only).
    ///
    /// # Safety
    /// The lock is held; `key` is valid for `ksize` bytes.
    unsafe fn find(
        &self,
        head: *mut DList,
        key: *const c_void,
        ksize: c_uint,
        lru: Lru,
    ) -> *mut DList {
        // SAFETY: `head` is a bucket head of this table and the lock is held, so the list is
        // well formed; `key_cmp` is the caller's callback.
        unsafe {
            let mut link = (*head).next;
            while link != head {
                if (self.key_cmp)(self.ht, link, key, ksize) {
                    if self.has(D_HASH_FT_LRU) {
                        if lru == Lru::Head && (*head).next != link {
                            list_move_head(link, head);
                        } else if lru == Lru::Tail && (*head).prev != link {
                            list_move_tail(link, head);
                        }
                    }
                    return link;
                }
                link = (*link).next;
            }
        }
        ptr::null_mut()
    }

    /// # Safety
    /// `link` is a record of this table's type.
    unsafe fn addref(&self, link: *mut DList) {
        if let Some(addref) = self.ops.hop_rec_addref {
            // SAFETY: the caller's callback on one of its records.
            unsafe { addref(self.ht, link) }
        }
    }

    /// True if the record may now be freed (false without `hop_rec_decref`).
    ///
    /// # Safety
    /// `link` is a record of this table's type.
    unsafe fn decref(&self, link: *mut DList) -> bool {
        match self.ops.hop_rec_decref {
            // SAFETY: the caller's callback on one of its records.
            Some(decref) => unsafe { decref(self.ht, link) },
            None => false,
        }
    }

    /// # Safety
    /// `link` is an unlinked record nobody references any more; the lock is not held.
    unsafe fn free(&self, link: *mut DList) {
        if let Some(free) = self.ops.hop_rec_free {
            // SAFETY: the caller's callback on one of its records.
            unsafe { free(self.ht, link) }
        }
    }

    /// Links `link` at the front of `head`, taking the table's reference unless `EPHEMERAL`.
    ///
    /// # Safety
    /// The lock is held; `link` is a record not in any table.
    unsafe fn insert(&self, head: *mut DList, link: *mut DList) {
        // SAFETY: by the caller's contract.
        unsafe {
            if !self.has(D_HASH_FT_EPHEMERAL) {
                self.addref(link);
            }
            list_link_between(link, head, (*head).next);
        }
    }

    /// Unlinks `link`, dropping the table's reference unless `EPHEMERAL`; true if the record
    /// must now be freed.
    ///
    /// # Safety
    /// The lock is held; `link` is linked into this table.
    unsafe fn unlink(&self, link: *mut DList) -> bool {
        // SAFETY: by the caller's contract.
        unsafe {
            list_del_init(link);
            !self.has(D_HASH_FT_EPHEMERAL) && self.decref(link)
        }
    }

    /// After the last reference went (`zombie`): makes sure the record is unlinked before
    /// it is freed. DAOS asserts that a non-ephemeral record was deleted before its last
    /// reference went; unlinking keeps the list sound instead.
    ///
    /// # Safety
    /// The lock is held; `link` is a record of this table.
    unsafe fn unlink_zombie(&self, link: *mut DList) {
        // SAFETY: by the caller's contract; a linked record is in this table's lists.
        unsafe {
            if !list_is_empty(link) {
                if !self.has(D_HASH_FT_EPHEMERAL) {
                    tracing::error!(
                        "d_hash: last reference of a linked record dropped; unlinking it"
                    );
                }
                list_del_init(link);
            }
        }
    }
}

/// Reads a key argument: `None` for NULL or zero size (DAOS asserts both).
fn key_ok(key: *const c_void, ksize: c_uint) -> bool {
    !key.is_null() && ksize != 0
}

fn uninit() -> Error {
    Error::new(
        Der::Inval,
        "hash table is NULL, not created or has no hop_key_cmp",
    )
}

// ---------------------------------------------------------------------------------------------
// Hash table entry points
// ---------------------------------------------------------------------------------------------

/// `int d_hash_table_create_inplace(uint32_t feats, uint32_t bits, void *priv,
/// d_hash_table_ops_t *hops, struct d_hash_table *htable)`: initialises a caller-allocated
/// table with `2^bits` buckets. `hops` must outlive the table.
///
/// Errors: `-DER_INVAL` for NULL `htable`/`hops`, no `hop_key_cmp`, or `bits >
/// D_HASH_BITS_MAX`; `-DER_NOMEM`.
///
/// # Safety
/// `htable` is NULL or valid for writes of a `struct d_hash_table`; `hops` is NULL or points
/// to a `d_hash_table_ops_t` that stays valid until the table is destroyed.
#[no_mangle]
pub unsafe extern "C" fn d_hash_table_create_inplace(
    feats: u32,
    bits: u32,
    priv_: *mut c_void,
    hops: *const DHashTableOps,
    htable: *mut DHashTable,
) -> c_int {
    guard("d_hash_table_create_inplace", || {
        if htable.is_null() || hops.is_null() {
            return Err(Error::new(Der::Inval, "htable or hops is NULL"));
        }
        // SAFETY: non-NULL, valid for reads by the caller's contract.
        if unsafe { (*hops).hop_key_cmp }.is_none() {
            return Err(Error::new(Der::Inval, "hop_key_cmp is mandatory"));
        }
        if bits > D_HASH_BITS_MAX {
            return Err(Error::new(
                Der::Inval,
                format!("bits {bits} > {D_HASH_BITS_MAX}"),
            ));
        }
        let nr = 1usize << bits;
        // SAFETY: plain allocation; checked for NULL below.
        let buckets = unsafe { libc::calloc(nr, size_of::<DHashBucket>()) }.cast::<DHashBucket>();
        if buckets.is_null() {
            return Err(Error::new(Der::Nomem, "hash buckets"));
        }
        // SAFETY: `buckets` has `nr` zeroed elements; `htable` is valid for writes.
        unsafe {
            for i in 0..nr {
                list_init(ptr::addr_of_mut!((*buckets.add(i)).hb_head));
            }
            ptr::write_bytes(htable, 0, 1);
            (*htable).ht_bits = bits;
            (*htable).ht_feats = feats;
            (*htable).ht_priv = priv_;
            (*htable).ht_ops = hops.cast_mut();
            (*htable).ht_locks = ptr::null_mut();
        }
        // SAFETY: the lock storage is in `htable`, valid for writes, and not yet in use.
        let rc = unsafe {
            match lock_kind(feats) {
                LockKind::None => 0,
                LockKind::Mutex => libc::pthread_mutex_init(
                    ptr::addr_of_mut!((*htable).ht_lock.mutex),
                    ptr::null(),
                ),
                LockKind::RwLock => libc::pthread_rwlock_init(
                    ptr::addr_of_mut!((*htable).ht_lock.rwlock),
                    ptr::null(),
                ),
            }
        };
        if rc != 0 {
            // SAFETY: allocated above with calloc and not published.
            unsafe { libc::free(buckets.cast()) };
            return Err(Error::new(Der::from_errno(rc), "hash table lock init"));
        }
        // SAFETY: `htable` is valid for writes; publishing the buckets makes the table live.
        unsafe { (*htable).ht_buckets = buckets };
        Ok(())
    })
}

/// `int d_hash_table_create(uint32_t feats, uint32_t bits, void *priv, d_hash_table_ops_t
/// *hops, struct d_hash_table **htable_pp)`: allocates and initialises a table; `*htable_pp`
/// is the table on success and NULL on failure. Errors as [`d_hash_table_create_inplace`].
///
/// # Safety
/// `htable_pp` is NULL or valid for writes; `hops` as for [`d_hash_table_create_inplace`].
#[no_mangle]
pub unsafe extern "C" fn d_hash_table_create(
    feats: u32,
    bits: u32,
    priv_: *mut c_void,
    hops: *const DHashTableOps,
    htable_pp: *mut *mut DHashTable,
) -> c_int {
    if htable_pp.is_null() {
        return Der::Inval.rc();
    }
    // SAFETY: plain allocation; checked for NULL below.
    let table = unsafe { libc::calloc(1, size_of::<DHashTable>()) }.cast::<DHashTable>();
    let rc = if table.is_null() {
        Der::Nomem.rc()
    } else {
        // SAFETY: `table` is a fresh allocation of the right size; `hops` per our contract.
        unsafe { d_hash_table_create_inplace(feats, bits, priv_, hops, table) }
    };
    if rc != 0 && !table.is_null() {
        // SAFETY: allocated above, never published.
        unsafe { libc::free(table.cast()) };
    }
    // SAFETY: non-NULL, valid for writes by the caller's contract.
    unsafe { *htable_pp = if rc == 0 { table } else { ptr::null_mut() } };
    rc
}

/// `int d_hash_table_destroy_inplace(struct d_hash_table *htable, bool force)`: finalises a
/// table without freeing `htable` itself, and zeroes it. Non-empty: `-DER_BUSY` unless
/// `force`, which deletes every record as [`d_hash_rec_delete_at`] does (dropping the table's
/// reference and freeing the record when that was the last; in `EPHEMERAL` tables records
/// are only unlinked, as in DAOS).
///
/// Errors: `-DER_INVAL` for NULL or an uncreated table; `-DER_BUSY`.
///
/// # Safety
/// `htable` is NULL or a table (see [`d_hash_table_create_inplace`]) no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn d_hash_table_destroy_inplace(
    htable: *mut DHashTable,
    force: bool,
) -> c_int {
    guard("d_hash_table_destroy_inplace", || {
        // SAFETY: NULL or a table by the caller's contract.
        let table = unsafe { Table::new(htable) }.ok_or_else(uninit)?;
        for idx in 0..table.nr {
            let head = table.head(idx);
            // SAFETY: bucket heads of a live table; `delete_at` unlinks one record per turn,
            // so the loop ends when the bucket is empty.
            unsafe {
                while !list_is_empty(head) {
                    if !force {
                        return Err(Error::new(Der::Busy, "hash table not empty"));
                    }
                    d_hash_rec_delete_at(htable, (*head).next);
                }
            }
        }
        // SAFETY: the table is live and unused by others (caller's contract); its lock was
        // initialised at creation and is not held; the buckets were allocated with calloc.
        unsafe {
            match lock_kind(table.feats) {
                LockKind::None => {}
                LockKind::Mutex => {
                    libc::pthread_mutex_destroy(ptr::addr_of_mut!((*htable).ht_lock.mutex));
                }
                LockKind::RwLock => {
                    libc::pthread_rwlock_destroy(ptr::addr_of_mut!((*htable).ht_lock.rwlock));
                }
            }
            libc::free(table.buckets.cast());
            ptr::write_bytes(htable, 0, 1);
        }
        Ok(())
    })
}

/// `int d_hash_table_destroy(struct d_hash_table *htable, bool force)`:
/// [`d_hash_table_destroy_inplace`], then frees a table made by [`d_hash_table_create`].
///
/// # Safety
/// `htable` is NULL or a table made by [`d_hash_table_create`] that no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn d_hash_table_destroy(htable: *mut DHashTable, force: bool) -> c_int {
    // SAFETY: forwarded contract.
    let rc = unsafe { d_hash_table_destroy_inplace(htable, force) };
    if rc == 0 {
        // SAFETY: allocated by `d_hash_table_create` with calloc, now finalised.
        unsafe { libc::free(htable.cast()) };
    }
    rc
}

/// `d_list_t *d_hash_rec_find(struct d_hash_table *htable, const void *key, unsigned int
/// ksize)`: the record with `key`, with a reference taken through `hop_rec_addref` (if set);
/// LRU tables move it to the front of its bucket. NULL if absent or on bad arguments.
///
/// # Safety
/// `htable` is NULL or a live table; `key` is NULL or valid for `ksize` bytes.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_find(
    htable: *mut DHashTable,
    key: *const c_void,
    ksize: c_uint,
) -> *mut DList {
    shield("d_hash_rec_find", ptr::null_mut(), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return ptr::null_mut();
        };
        if !key_ok(key, ksize) {
            return ptr::null_mut();
        }
        // SAFETY: `key` is valid for `ksize` bytes; the lock is held around the lookup.
        unsafe {
            let head = table.key_head(key, ksize);
            let _locked = table.lock(!table.has(D_HASH_FT_LRU));
            let link = table.find(head, key, ksize, Lru::Head);
            if !link.is_null() {
                table.addref(link);
            }
            link
        }
    })
}

/// `int d_hash_rec_insert(struct d_hash_table *htable, const void *key, unsigned int ksize,
/// d_list_t *link, bool exclusive)`: links the record `link` under `key` at the front of its
/// bucket, taking the table's reference unless `EPHEMERAL`.
///
/// Errors: `-DER_EXIST` if `exclusive` and a record with an equal key is present;
/// `-DER_INVAL` for bad arguments.
///
/// # Safety
/// `htable` is NULL or a live table; `key` NULL or valid for `ksize` bytes; `link` NULL or a
/// record (of the table's type) not in any table, valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_insert(
    htable: *mut DHashTable,
    key: *const c_void,
    ksize: c_uint,
    link: *mut DList,
    exclusive: bool,
) -> c_int {
    guard("d_hash_rec_insert", || {
        // SAFETY: NULL or a live table by the caller's contract.
        let table = unsafe { Table::new(htable) }.ok_or_else(uninit)?;
        if !key_ok(key, ksize) || link.is_null() {
            return Err(Error::new(
                Der::Inval,
                "NULL key, zero key size or NULL link",
            ));
        }
        // SAFETY: arguments valid by the caller's contract; the lock is held.
        unsafe {
            let head = table.key_head(key, ksize);
            let _locked = table.lock(false);
            if exclusive && !table.find(head, key, ksize, Lru::Stay).is_null() {
                return Err(Error::new(Der::Exist, "key already in the hash table"));
            }
            table.insert(head, link);
        }
        Ok(())
    })
}

/// `d_list_t *d_hash_rec_find_insert(struct d_hash_table *htable, const void *key, unsigned
/// int ksize, d_list_t *link)`: the record with `key` if present (with a reference taken, as
/// [`d_hash_rec_find`]); otherwise inserts `link` (as [`d_hash_rec_insert`]) and returns it.
/// NULL on bad arguments.
///
/// # Safety
/// As [`d_hash_rec_insert`].
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_find_insert(
    htable: *mut DHashTable,
    key: *const c_void,
    ksize: c_uint,
    link: *mut DList,
) -> *mut DList {
    shield("d_hash_rec_find_insert", ptr::null_mut(), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return ptr::null_mut();
        };
        if !key_ok(key, ksize) || link.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: arguments valid by the caller's contract; the lock is held.
        unsafe {
            let head = table.key_head(key, ksize);
            let _locked = table.lock(false);
            let found = table.find(head, key, ksize, Lru::Head);
            if !found.is_null() {
                table.addref(found);
                return found;
            }
            table.insert(head, link);
            link
        }
    })
}

/// `int d_hash_rec_insert_anonym(struct d_hash_table *htable, d_list_t *link, void *arg)`:
/// inserts a record without a key: `hop_key_init(link, arg)` makes one (under the table lock)
/// and `hop_rec_hash` picks the bucket (bucket 0 without it).
///
/// Errors: `-DER_INVAL` without `hop_key_init` or for bad arguments.
///
/// # Safety
/// As [`d_hash_rec_insert`]; `arg` is whatever `hop_key_init` expects.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_insert_anonym(
    htable: *mut DHashTable,
    link: *mut DList,
    arg: *mut c_void,
) -> c_int {
    guard("d_hash_rec_insert_anonym", || {
        // SAFETY: NULL or a live table by the caller's contract.
        let table = unsafe { Table::new(htable) }.ok_or_else(uninit)?;
        let Some(key_init) = table.ops.hop_key_init else {
            return Err(Error::new(Der::Inval, "hop_key_init is not set"));
        };
        if link.is_null() {
            return Err(Error::new(Der::Inval, "NULL link"));
        }
        let _locked = table.lock(false);
        // SAFETY: the caller's callbacks on its record; the lock is held for the insert.
        unsafe {
            key_init(htable, link, arg);
            let hash = match table.ops.hop_rec_hash {
                Some(rec_hash) => rec_hash(htable, link),
                None => 0,
            };
            table.insert(table.head((hash & table.mask) as usize), link);
        }
        Ok(())
    })
}

/// `bool d_hash_rec_delete(struct d_hash_table *htable, const void *key, unsigned int
/// ksize)`: unlinks the record with `key`, dropping the table's reference unless `EPHEMERAL`
/// (and freeing the record if that was the last). False if absent or on bad arguments.
///
/// # Safety
/// As [`d_hash_rec_find`].
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_delete(
    htable: *mut DHashTable,
    key: *const c_void,
    ksize: c_uint,
) -> bool {
    shield("d_hash_rec_delete", false, || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return false;
        };
        if !key_ok(key, ksize) {
            return false;
        }
        // SAFETY: arguments valid by the caller's contract; the lock is held while the lists
        // change and released before `hop_rec_free`.
        unsafe {
            let head = table.key_head(key, ksize);
            let (link, zombie) = {
                let _locked = table.lock(false);
                let link = table.find(head, key, ksize, Lru::Stay);
                if link.is_null() {
                    return false;
                }
                (link, table.unlink(link))
            };
            if zombie {
                table.free(link);
            }
        }
        true
    })
}

/// `bool d_hash_rec_delete_at(struct d_hash_table *htable, d_list_t *link)`: unlinks the
/// record `link`, as [`d_hash_rec_delete`]. False if it was not linked.
///
/// # Safety
/// `htable` is NULL or a live table; `link` is NULL or a record that is either unlinked or
/// linked into `htable`.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_delete_at(htable: *mut DHashTable, link: *mut DList) -> bool {
    shield("d_hash_rec_delete_at", false, || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return false;
        };
        if link.is_null() {
            return false;
        }
        // SAFETY: `link` is unlinked or in this table; the lock is held while the lists
        // change and released before `hop_rec_free`.
        unsafe {
            let zombie = {
                let _locked = table.lock(false);
                if list_is_empty(link) {
                    return false;
                }
                table.unlink(link)
            };
            if zombie {
                table.free(link);
            }
        }
        true
    })
}

/// `bool d_hash_rec_evict(struct d_hash_table *htable, const void *key, unsigned int ksize)`:
/// in an LRU table, moves the record with `key` to the back of its bucket. False if absent,
/// the table is not LRU, or on bad arguments.
///
/// # Safety
/// As [`d_hash_rec_find`].
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_evict(
    htable: *mut DHashTable,
    key: *const c_void,
    ksize: c_uint,
) -> bool {
    shield("d_hash_rec_evict", false, || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return false;
        };
        if !table.has(D_HASH_FT_LRU) || !key_ok(key, ksize) {
            return false;
        }
        // SAFETY: arguments valid by the caller's contract; the lock is held.
        unsafe {
            let head = table.key_head(key, ksize);
            let _locked = table.lock(false);
            !table.find(head, key, ksize, Lru::Tail).is_null()
        }
    })
}

/// `bool d_hash_rec_evict_at(struct d_hash_table *htable, d_list_t *link)`: in an LRU table,
/// moves the linked record `link` to the back of its bucket. True if it moved; false if it
/// was already last, is unlinked, or the table is not LRU.
///
/// # Safety
/// As [`d_hash_rec_delete_at`].
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_evict_at(htable: *mut DHashTable, link: *mut DList) -> bool {
    shield("d_hash_rec_evict_at", false, || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return false;
        };
        if !table.has(D_HASH_FT_LRU) || link.is_null() {
            return false;
        }
        let _locked = table.lock(false);
        // SAFETY: `link` is unlinked or in this table, and the lock is held.
        unsafe {
            if list_is_empty(link) {
                return false;
            }
            let head = table.head_of(link);
            if (*head).prev == link {
                return false;
            }
            list_move_tail(link, head);
        }
        true
    })
}

/// `void d_hash_rec_promote(struct d_hash_table *htable, const void *key, unsigned int ksize,
/// d_list_t *link)`: moves the linked record `link` to the front of its bucket (LRU order on
/// a non-LRU table). `key` is not needed here; an unlinked `link` is left alone.
///
/// # Safety
/// As [`d_hash_rec_delete_at`].
///
/// Not exported: DAOS's headers do not declare it (Rust callers and tests use it).
pub unsafe extern "C" fn d_hash_rec_promote(
    htable: *mut DHashTable,
    _key: *const c_void,
    _ksize: c_uint,
    link: *mut DList,
) {
    shield("d_hash_rec_promote", (), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return;
        };
        if link.is_null() {
            return;
        }
        let _locked = table.lock(false);
        // SAFETY: `link` is unlinked or in this table, and the lock is held.
        unsafe {
            if !list_is_empty(link) {
                let head = table.head_of(link);
                if (*head).next != link {
                    list_move_head(link, head);
                }
            }
        }
    })
}

/// `void d_hash_rec_addref(struct d_hash_table *htable, d_list_t *link)`: takes a reference
/// through `hop_rec_addref` (if set), under the table lock.
///
/// # Safety
/// `htable` is NULL or a live table; `link` is NULL or one of its records.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_addref(htable: *mut DHashTable, link: *mut DList) {
    shield("d_hash_rec_addref", (), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return;
        };
        if link.is_null() {
            return;
        }
        let _locked = table.lock(true);
        // SAFETY: a record of this table.
        unsafe { table.addref(link) };
    })
}

/// `void d_hash_rec_decref(struct d_hash_table *htable, d_list_t *link)`: drops a reference
/// through `hop_rec_decref`. If it was the last, the record is unlinked (EPHEMERAL tables;
/// DAOS asserts otherwise, this logs and unlinks) and freed with `hop_rec_free` after the
/// lock is released. Always takes the write lock (DAOS read-locks non-ephemeral tables), so
/// that unlinking is never done under a read lock.
///
/// # Safety
/// `htable` is NULL or a live table; `link` is NULL or one of its records on which the
/// caller holds a reference.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_decref(htable: *mut DHashTable, link: *mut DList) {
    shield("d_hash_rec_decref", (), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return;
        };
        if link.is_null() {
            return;
        }
        // SAFETY: a record of this table; the lock is held while it is unlinked and released
        // before `hop_rec_free`.
        unsafe {
            let zombie = {
                let _locked = table.lock(false);
                let zombie = table.decref(link);
                if zombie {
                    table.unlink_zombie(link);
                }
                zombie
            };
            if zombie {
                table.free(link);
            }
        }
    })
}

/// `int d_hash_rec_ndecref(struct d_hash_table *htable, int count, d_list_t *link)` (note the
/// argument order): drops `count` references, through `hop_rec_ndecref` if set, else by
/// calling `hop_rec_decref` up to `count` times. The last reference unlinks and frees as
/// [`d_hash_rec_decref`]; `count == 0` does nothing.
///
/// Errors: `-DER_INVAL` if fewer than `count` references were held (the record is still
/// freed if its last one went), for `count < 0` or bad arguments; a negative value from
/// `hop_rec_ndecref` is returned as is.
///
/// # Safety
/// As [`d_hash_rec_decref`], with `count` references held.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_ndecref(
    htable: *mut DHashTable,
    count: c_int,
    link: *mut DList,
) -> c_int {
    let mut rc: c_int = 0;
    let outer = guard("d_hash_rec_ndecref", || {
        // SAFETY: NULL or a live table by the caller's contract.
        let table = unsafe { Table::new(htable) }.ok_or_else(uninit)?;
        if link.is_null() || count < 0 {
            return Err(Error::new(Der::Inval, "NULL link or negative count"));
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: a record of this table; the lock is held while it is unlinked and released
        // before `hop_rec_free`.
        unsafe {
            let zombie = {
                let _locked = table.lock(false);
                let zombie = if let Some(ndecref) = table.ops.hop_rec_ndecref {
                    let ret = ndecref(htable, link, count);
                    if ret < 0 {
                        rc = ret;
                    }
                    ret >= 1
                } else {
                    let mut left = count;
                    let mut zombie = false;
                    while left > 0 && !zombie {
                        zombie = table.decref(link);
                        left -= 1;
                    }
                    if left != 0 {
                        rc = Der::Inval.rc();
                    }
                    zombie
                };
                if zombie {
                    table.unlink_zombie(link);
                }
                zombie
            };
            if zombie {
                table.free(link);
            }
        }
        Ok(())
    });
    if outer != 0 {
        outer
    } else {
        rc
    }
}

/// `bool d_hash_rec_unlinked(d_list_t *link)`: true if `link` is not in a table (it points
/// at itself, or is zeroed or NULL).
///
/// # Safety
/// `link` is NULL or valid for reads.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_unlinked(link: *mut DList) -> bool {
    // SAFETY: non-NULL and valid for reads by the caller's contract.
    link.is_null() || unsafe { list_is_empty(link) }
}

/// `d_list_t *d_hash_rec_first(struct d_hash_table *htable)`: some record of the table (the
/// first of the first non-empty bucket), or NULL if empty or on bad arguments. Takes **no**
/// reference (as DAOS): clients drain a table with `first` + `decref` (EPHEMERAL) or
/// `first` + `delete_at`.
///
/// # Safety
/// `htable` is NULL or a live table.
#[no_mangle]
pub unsafe extern "C" fn d_hash_rec_first(htable: *mut DHashTable) -> *mut DList {
    shield("d_hash_rec_first", ptr::null_mut(), || {
        // SAFETY: NULL or a live table by the caller's contract.
        let Some(table) = (unsafe { Table::new(htable) }) else {
            return ptr::null_mut();
        };
        let _locked = table.lock(true);
        for idx in 0..table.nr {
            let head = table.head(idx);
            // SAFETY: a bucket head of a live table, read under the lock.
            unsafe {
                if !list_is_empty(head) {
                    return (*head).next;
                }
            }
        }
        ptr::null_mut()
    })
}

/// `int d_hash_table_traverse(struct d_hash_table *htable, d_hash_traverse_cb_t cb, void
/// *arg)`: calls `cb(link, arg)` on every record, bucket by bucket, under the table lock
/// (read lock for RWLOCK tables); stops at the first non-zero return and returns it. The
/// next record is read before `cb` runs, so in a NOLOCK table `cb` may delete its record.
///
/// Errors: `-DER_INVAL` for a NULL table or `cb`; `-DER_UNINIT` for an uncreated table.
///
/// # Safety
/// `htable` is NULL or a live table; `cb` is NULL or a function that does not touch the table
/// (except deleting its own record in a NOLOCK table).
#[no_mangle]
pub unsafe extern "C" fn d_hash_table_traverse(
    htable: *mut DHashTable,
    cb: Option<DHashTraverseCb>,
    arg: *mut c_void,
) -> c_int {
    let mut rc: c_int = 0;
    let outer = guard("d_hash_table_traverse", || {
        if htable.is_null() {
            return Err(Error::new(Der::Inval, "NULL htable"));
        }
        // SAFETY: a table by the caller's contract.
        let table = unsafe { Table::new(htable) }
            .ok_or_else(|| Error::new(Der::Uninit, "hash table not initialised"))?;
        let Some(cb) = cb else {
            return Err(Error::new(Der::Inval, "NULL traverse callback"));
        };
        let _locked = table.lock(true);
        'buckets: for idx in 0..table.nr {
            let head = table.head(idx);
            // SAFETY: a bucket of a live table under the lock; `next` is read before the
            // callback may unlink `link`.
            unsafe {
                let mut link = (*head).next;
                while link != head {
                    let next = (*link).next;
                    rc = cb(link, arg);
                    if rc != 0 {
                        break 'buckets;
                    }
                    link = next;
                }
            }
        }
        Ok(())
    });
    if outer != 0 {
        outer
    } else {
        rc
    }
}

/// `bool d_hash_table_is_empty(struct d_hash_table *htable)`: true if the table has no
/// records (or is NULL or not created). DAOS keeps this function static, so it is not
/// exported from the C library; Rust callers and tests use it.
///
/// # Safety
/// `htable` is NULL or a live table.
pub unsafe extern "C" fn d_hash_table_is_empty(htable: *mut DHashTable) -> bool {
    // SAFETY: forwarded contract.
    unsafe { d_hash_rec_first(htable) }.is_null()
}

/// `void d_hash_table_debug(struct d_hash_table *htable)`: prints statistics in DAOS builds
/// with `D_HASH_DEBUG`; nothing here.
#[no_mangle]
pub extern "C" fn d_hash_table_debug(_htable: *mut DHashTable) {}

// ---------------------------------------------------------------------------------------------
// Environment (gurt/common.h)
// ---------------------------------------------------------------------------------------------

/// The value of the environment variable `name`. Errors: `-DER_INVAL` for NULL `name`,
/// `-DER_NONEXIST` if unset.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
unsafe fn env_value(name: *const c_char) -> Result<OsString, Error> {
    if name.is_null() {
        return Err(Error::new(Der::Inval, "NULL environment variable name"));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let name = unsafe { CStr::from_ptr(name) };
    let name = std::ffi::OsStr::from_bytes(name.to_bytes());
    if name.is_empty() || name.as_bytes().contains(&b'=') {
        return Err(Error::new(Der::Inval, "invalid environment variable name"));
    }
    std::env::var_os(name).ok_or_else(|| Error::new(Der::Nonexist, "environment variable unset"))
}

/// True for `[+-]?[0-9]+`.
fn is_integer(value: &[u8]) -> bool {
    let digits = value
        .strip_prefix(b"+")
        .or_else(|| value.strip_prefix(b"-"))
        .unwrap_or(value);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// An unsigned integer in decimal or `0x` hexadecimal, at most `max`.
fn parse_unsigned(value: &[u8], max: u64) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()?
        }
        None => return None,
    };
    (parsed <= max).then_some(parsed)
}

/// `int d_getenv_bool(const char *name, bool *bool_val)`: an integer value (`[+-]?[0-9]+`)
/// sets `*bool_val` to whether it is non-zero; any other value (also empty) sets it true.
///
/// Errors: `-DER_NONEXIST` if unset (`*bool_val` untouched); `-DER_INVAL` for NULL
/// arguments.
///
/// # Safety
/// `name` is NULL or NUL-terminated; `bool_val` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn d_getenv_bool(name: *const c_char, bool_val: *mut bool) -> c_int {
    guard("d_getenv_bool", || {
        if bool_val.is_null() {
            return Err(Error::new(Der::Inval, "NULL bool_val"));
        }
        // SAFETY: forwarded contract.
        let value = unsafe { env_value(name) }?;
        let value = value.as_bytes();
        let truth = !is_integer(value) || value.iter().any(|&b| (b'1'..=b'9').contains(&b));
        // SAFETY: non-NULL, valid for writes by the caller's contract.
        unsafe { *bool_val = truth };
        Ok(())
    })
}

/// Reads an unsigned environment variable of at most `max` into `write`.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
unsafe fn getenv_unsigned(
    name: *const c_char,
    max: u64,
    write: impl FnOnce(u64),
) -> Result<(), Error> {
    // SAFETY: forwarded contract.
    let value = unsafe { env_value(name) }?;
    let parsed = parse_unsigned(value.as_bytes(), max).ok_or_else(|| {
        Error::new(
            Der::Inval,
            "environment variable is not an unsigned integer in range",
        )
    })?;
    write(parsed);
    Ok(())
}

/// `int d_getenv_uint(const char *name, unsigned int *uint_val)`: a decimal (or `0x` hex)
/// value up to `UINT_MAX`.
///
/// Errors: `-DER_NONEXIST` if unset; `-DER_INVAL` if not such a number or for NULL arguments.
/// `*uint_val` is written only on success.
///
/// # Safety
/// `name` is NULL or NUL-terminated; `uint_val` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn d_getenv_uint(name: *const c_char, uint_val: *mut c_uint) -> c_int {
    guard("d_getenv_uint", || {
        if uint_val.is_null() {
            return Err(Error::new(Der::Inval, "NULL uint_val"));
        }
        // SAFETY: `name` forwarded; `uint_val` non-NULL and valid for writes.
        unsafe { getenv_unsigned(name, u64::from(u32::MAX), |v| *uint_val = v as c_uint) }
    })
}

/// `int d_getenv_int(const char *name, unsigned int *int_val)`: DAOS's older name for
/// [`d_getenv_uint`] (it returned `void` before DAOS 2.6; callers that ignore the result are
/// unaffected).
///
/// # Safety
/// As [`d_getenv_uint`].
#[no_mangle]
pub unsafe extern "C" fn d_getenv_int(name: *const c_char, int_val: *mut c_uint) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { d_getenv_uint(name, int_val) }
}

/// `int d_getenv_uint32_t(const char *name, uint32_t *uint32_val)`: as [`d_getenv_uint`].
///
/// # Safety
/// As [`d_getenv_uint`].
#[no_mangle]
pub unsafe extern "C" fn d_getenv_uint32_t(name: *const c_char, uint32_val: *mut u32) -> c_int {
    // SAFETY: forwarded contract (`unsigned int` is `uint32_t` here).
    unsafe { d_getenv_uint(name, uint32_val) }
}

/// `int d_getenv_uint64_t(const char *name, uint64_t *uint64_val)`: as [`d_getenv_uint`], up
/// to `UINT64_MAX`.
///
/// # Safety
/// `name` is NULL or NUL-terminated; `uint64_val` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn d_getenv_uint64_t(name: *const c_char, uint64_val: *mut u64) -> c_int {
    guard("d_getenv_uint64_t", || {
        if uint64_val.is_null() {
            return Err(Error::new(Der::Inval, "NULL uint64_val"));
        }
        // SAFETY: `name` forwarded; `uint64_val` non-NULL and valid for writes.
        unsafe { getenv_unsigned(name, u64::MAX, |v| *uint64_val = v) }
    })
}

/// `int d_getenv_char(const char *name, char *char_val)`: a one-character value.
///
/// Errors: `-DER_NONEXIST` if unset; `-DER_INVAL` if not exactly one byte or for NULL
/// arguments.
///
/// # Safety
/// `name` is NULL or NUL-terminated; `char_val` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn d_getenv_char(name: *const c_char, char_val: *mut c_char) -> c_int {
    guard("d_getenv_char", || {
        if char_val.is_null() {
            return Err(Error::new(Der::Inval, "NULL char_val"));
        }
        // SAFETY: forwarded contract.
        let value = unsafe { env_value(name) }?;
        let [byte] = value.as_bytes() else {
            return Err(Error::new(
                Der::Inval,
                "environment variable is not one character",
            ));
        };
        // SAFETY: non-NULL, valid for writes by the caller's contract.
        unsafe { *char_val = *byte as c_char };
        Ok(())
    })
}

/// `int d_getenv_str(char *str, size_t len, const char *name)`: copies the value into `str`
/// (`len` bytes including the NUL), truncating if needed.
///
/// Errors: `-DER_NONEXIST` if unset (`str` untouched); `-DER_TRUNC` if the value did not fit
/// (`str` holds its first `len - 1` bytes); `-DER_INVAL` for NULL arguments or `len == 0`.
///
/// # Safety
/// `str` is NULL or valid for `len` bytes of writes; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn d_getenv_str(str: *mut c_char, len: usize, name: *const c_char) -> c_int {
    guard("d_getenv_str", || {
        if str.is_null() || len == 0 {
            return Err(Error::new(Der::Inval, "NULL buffer or zero length"));
        }
        // SAFETY: forwarded contract.
        let value = unsafe { env_value(name) }?;
        let value = value.as_bytes();
        let copy = value.len().min(len - 1);
        // SAFETY: `str` is valid for `len > copy` bytes of writes; `value` is ours.
        unsafe {
            ptr::copy_nonoverlapping(value.as_ptr(), str.cast::<u8>(), copy);
            *str.add(copy) = 0;
        }
        if copy < value.len() {
            return Err(Error::new(Der::Trunc, "environment value truncated"));
        }
        Ok(())
    })
}

/// `int d_agetenv_str(char **str, const char *name)`: a `malloc`ed copy of the value in
/// `*str` (free it with [`d_freeenv_str`] or `free`); `*str` is NULL on error.
///
/// Errors: `-DER_NONEXIST` if unset; `-DER_NOMEM`; `-DER_INVAL` for NULL arguments.
///
/// # Safety
/// `str` is NULL or valid for writes; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn d_agetenv_str(str: *mut *mut c_char, name: *const c_char) -> c_int {
    if str.is_null() {
        return Der::Inval.rc();
    }
    // SAFETY: non-NULL, valid for writes by the caller's contract.
    unsafe { *str = ptr::null_mut() };
    guard("d_agetenv_str", || {
        // SAFETY: forwarded contract.
        let value = unsafe { env_value(name) }?;
        let copy = malloc_cstring(value.as_bytes());
        if copy.is_null() {
            return Err(Error::new(Der::Nomem, "environment value copy"));
        }
        // SAFETY: non-NULL, valid for writes by the caller's contract.
        unsafe { *str = copy };
        Ok(())
    })
}

/// A `malloc`ed, NUL-terminated copy of `bytes` (which hold no NUL), or NULL if out of memory.
fn malloc_cstring(bytes: &[u8]) -> *mut c_char {
    // SAFETY: plain allocation of `len + 1` bytes, checked for NULL, then filled in bounds.
    unsafe {
        let copy = libc::malloc(bytes.len() + 1).cast::<u8>();
        if !copy.is_null() {
            ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len());
            *copy.add(bytes.len()) = 0;
        }
        copy.cast()
    }
}

/// `void d_freeenv_str(char **str)`: frees a [`d_agetenv_str`] result and sets `*str` NULL.
///
/// # Safety
/// `str` is NULL or points to NULL or to a string from [`d_agetenv_str`].
#[no_mangle]
pub unsafe extern "C" fn d_freeenv_str(str: *mut *mut c_char) {
    if str.is_null() {
        return;
    }
    // SAFETY: `*str` is NULL or malloc'ed by `d_agetenv_str` (caller's contract).
    unsafe {
        libc::free((*str).cast());
        *str = ptr::null_mut();
    }
}

/// Sets `errno` to `EINVAL` and returns -1, as `setenv(3)` does for a bad name.
fn einval() -> c_int {
    // SAFETY: `__errno_location` returns this thread's errno.
    unsafe { *libc::__errno_location() = libc::EINVAL };
    -1
}

/// A valid variable name (`setenv(3)`'s rule: non-empty, no `=`), or `None`.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
unsafe fn env_name<'a>(name: *const c_char) -> Option<&'a std::ffi::OsStr> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(name) }.to_bytes();
    (!bytes.is_empty() && !bytes.contains(&b'=')).then(|| std::ffi::OsStr::from_bytes(bytes))
}

/// `int d_setenv(const char *name, const char *value, int overwrite)`: `setenv(3)` under the
/// same lock the `d_getenv_*` readers take: 0, or -1 with `errno` `EINVAL` for a NULL, empty
/// or `=`-containing name or a NULL value. With `overwrite == 0` an existing value is kept.
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn d_setenv(
    name: *const c_char,
    value: *const c_char,
    overwrite: c_int,
) -> c_int {
    shield("d_setenv", -1, || {
        // SAFETY: forwarded contract.
        let Some(name) = (unsafe { env_name(name) }) else {
            return einval();
        };
        if value.is_null() {
            return einval();
        }
        if overwrite == 0 && std::env::var_os(name).is_some() {
            return 0;
        }
        // SAFETY: non-NULL and NUL-terminated by the caller's contract.
        let value = std::ffi::OsStr::from_bytes(unsafe { CStr::from_ptr(value) }.to_bytes());
        std::env::set_var(name, value);
        0
    })
}

/// `int d_unsetenv(const char *name)`: `unsetenv(3)` under the `d_getenv_*` lock: 0, or -1
/// with `errno` `EINVAL` for a NULL, empty or `=`-containing name.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn d_unsetenv(name: *const c_char) -> c_int {
    shield("d_unsetenv", -1, || {
        // SAFETY: forwarded contract.
        let Some(name) = (unsafe { env_name(name) }) else {
            return einval();
        };
        std::env::remove_var(name);
        0
    })
}

// ---------------------------------------------------------------------------------------------
// More hashes (gurt/common.h)
// ---------------------------------------------------------------------------------------------

/// `uint64_t d_hash_mix64(uint64_t key)`: Thomas Wang's 64-bit integer mix.
#[no_mangle]
pub extern "C" fn d_hash_mix64(key: u64) -> u64 {
    let mut k = (!key).wrapping_add(key << 21);
    k ^= k >> 24;
    k = k.wrapping_add(k << 3).wrapping_add(k << 8);
    k ^= k >> 14;
    k = k.wrapping_add(k << 2).wrapping_add(k << 4);
    k ^= k >> 28;
    k.wrapping_add(k << 31)
}

/// `uint32_t d_hash_mix96(uint32_t a, uint32_t b, uint32_t c)`: Bob Jenkins' 96-bit mix
/// (lookup2's `mix`), returning `c`.
#[no_mangle]
pub extern "C" fn d_hash_mix96(a: u32, b: u32, c: u32) -> u32 {
    let (mut a, mut b, mut c) = (a, b, c);
    // Three rounds of (subtract, subtract, xor-shift) over a, b, c with these shifts.
    for (sa, sb, sc) in [(13, 8, 13), (12, 16, 5), (3, 10, 15)] {
        a = a.wrapping_sub(b).wrapping_sub(c) ^ (c >> sa);
        b = b.wrapping_sub(c).wrapping_sub(a) ^ (a << sb);
        c = c.wrapping_sub(a).wrapping_sub(b) ^ (b >> sc);
    }
    c
}

/// `uint32_t d_hash_jump(uint64_t key, uint32_t num_buckets)`: Lamping and Veach's jump
/// consistent hash, a bucket in `0..num_buckets` (`UINT32_MAX`, i.e. DAOS's -1, for 0
/// buckets).
#[no_mangle]
pub extern "C" fn d_hash_jump(key: u64, num_buckets: u32) -> u32 {
    let mut key = key;
    let (mut bucket, mut next): (i64, i64) = (-1, 0);
    while next < i64::from(num_buckets) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        next = ((bucket + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    bucket as u32
}

// ---------------------------------------------------------------------------------------------
// Error strings (daos_errno.h)
// ---------------------------------------------------------------------------------------------

/// Every DER code's name and description as C strings, built once.
fn der_strings() -> &'static HashMap<i32, (CString, CString)> {
    static STRINGS: OnceLock<HashMap<i32, (CString, CString)>> = OnceLock::new();
    STRINGS.get_or_init(|| {
        Der::ALL
            .iter()
            .map(|der| {
                let name = CString::new(der.name()).unwrap_or_default();
                let description = CString::new(der.description()).unwrap_or_default();
                (der.value(), (name, description))
            })
            .collect()
    })
}

/// `const char *d_errstr(int rc)`: the symbolic name of a DER code of either sign
/// (`"DER_NONEXIST"` for -1005); `"DER_SUCCESS"` for 0 and `"DER_UNKNOWN"` for codes outside
/// the table. (DAOS names only negative codes; a positive one is looked up here too.) The
/// string is static.
#[no_mangle]
pub extern "C" fn d_errstr(rc: c_int) -> *const c_char {
    shield("d_errstr", c"DER_UNKNOWN".as_ptr(), || {
        if rc == 0 {
            return c"DER_SUCCESS".as_ptr();
        }
        der_strings()
            .get(&rc.saturating_abs())
            .map_or(c"DER_UNKNOWN".as_ptr(), |(name, _)| name.as_ptr())
    })
}

/// `const char *d_errdesc(int rc)`: the description of a DER code of either sign;
/// `"Success"` for 0 and `"Unknown error"` (DER_UNKNOWN's) for codes outside the table. The
/// string is static.
#[no_mangle]
pub extern "C" fn d_errdesc(rc: c_int) -> *const c_char {
    shield("d_errdesc", c"Unknown error".as_ptr(), || {
        if rc == 0 {
            return c"Success".as_ptr();
        }
        der_strings()
            .get(&rc.saturating_abs())
            .map_or(c"Unknown error".as_ptr(), |(_, description)| {
                description.as_ptr()
            })
    })
}

// ---------------------------------------------------------------------------------------------
// Rank lists (gurt/types.h, gurt/common.h)
// ---------------------------------------------------------------------------------------------

/// `d_rank_list_t`: `{ d_rank_t *rl_ranks; uint32_t rl_nr; }` (16 bytes on 64-bit). Lists
/// from these functions are `malloc`ed, so C callers may also free them with `free`.
#[repr(C)]
#[derive(Debug)]
pub struct DRankList {
    pub rl_ranks: *mut u32,
    pub rl_nr: u32,
}

/// The ranks of `list` (empty for NULL, `rl_nr == 0` or NULL `rl_ranks`).
///
/// # Safety
/// `list` is NULL or a list with `rl_nr` readable ranks, not changed while the slice lives.
unsafe fn ranks<'a>(list: *const DRankList) -> &'a [u32] {
    if list.is_null() {
        return &[];
    }
    // SAFETY: a valid list by the caller's contract.
    unsafe {
        let (ranks, nr) = ((*list).rl_ranks, (*list).rl_nr);
        if ranks.is_null() || nr == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(ranks, nr as usize)
        }
    }
}

/// A `malloc`ed copy of `ranks` (NULL for none), or `Err` if out of memory.
fn malloc_ranks(ranks: &[u32]) -> Result<*mut u32, Error> {
    if ranks.is_empty() {
        return Ok(ptr::null_mut());
    }
    // SAFETY: plain allocation, checked for NULL, then filled in bounds.
    unsafe {
        let array = libc::malloc(std::mem::size_of_val(ranks)).cast::<u32>();
        if array.is_null() {
            return Err(Error::new(Der::Nomem, "rank list ranks"));
        }
        ptr::copy_nonoverlapping(ranks.as_ptr(), array, ranks.len());
        Ok(array)
    }
}

/// Replaces the ranks of `list` with a copy of `new`. On error `list` is unchanged.
///
/// # Safety
/// `list` is a valid list whose ranks came from `malloc`; `new` does not alias them.
unsafe fn set_ranks(list: *mut DRankList, new: &[u32]) -> Result<(), Error> {
    let array = malloc_ranks(new)?;
    // SAFETY: a valid list with malloc'ed ranks by the caller's contract.
    unsafe {
        libc::free((*list).rl_ranks.cast());
        (*list).rl_ranks = array;
        (*list).rl_nr = new.len() as u32;
    }
    Ok(())
}

/// A new `malloc`ed list holding a copy of `ranks`, or NULL if out of memory.
fn new_list(ranks: &[u32]) -> *mut DRankList {
    let Ok(array) = malloc_ranks(ranks) else {
        return ptr::null_mut();
    };
    // SAFETY: plain allocation, checked for NULL before it is written.
    unsafe {
        let list = libc::malloc(size_of::<DRankList>()).cast::<DRankList>();
        if list.is_null() {
            libc::free(array.cast());
            return ptr::null_mut();
        }
        list.write(DRankList {
            rl_ranks: array,
            rl_nr: ranks.len() as u32,
        });
        list
    }
}

/// `d_rank_list_t *d_rank_list_alloc(uint32_t size)`: a list of `size` ranks set to
/// `0, 1, …, size - 1` (as DAOS); `rl_ranks` is NULL when `size` is 0. NULL if out of
/// memory.
#[no_mangle]
pub extern "C" fn d_rank_list_alloc(size: u32) -> *mut DRankList {
    shield("d_rank_list_alloc", ptr::null_mut(), || {
        let ranks: Vec<u32> = (0..size).collect();
        new_list(&ranks)
    })
}

/// `d_rank_list_t *d_rank_list_realloc(d_rank_list_t *ptr, uint32_t size)`: resizes `ptr`
/// to `size` ranks, keeping the first ones and zeroing new ones. NULL `ptr` allocates as
/// [`d_rank_list_alloc`]; `size == 0` frees `ptr` and returns NULL. NULL if out of memory
/// (`ptr` unchanged).
///
/// # Safety
/// `ptr` is NULL or a list from these functions.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_realloc(ptr: *mut DRankList, size: u32) -> *mut DRankList {
    if ptr.is_null() {
        return d_rank_list_alloc(size);
    }
    if size == 0 {
        // SAFETY: forwarded contract.
        unsafe { d_rank_list_free(ptr) };
        return ptr::null_mut();
    }
    shield("d_rank_list_realloc", ptr::null_mut(), || {
        // SAFETY: a valid list by the caller's contract.
        let mut new = unsafe { ranks(ptr) }.to_vec();
        new.resize(size as usize, 0);
        // SAFETY: a valid list; `new` is our own vector.
        match unsafe { set_ranks(ptr, &new) } {
            Ok(()) => ptr,
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `void d_rank_list_free(d_rank_list_t *rank_list)`: frees the ranks and the list; NULL is
/// a no-op.
///
/// # Safety
/// `rank_list` is NULL or a list whose memory came from `malloc`/`calloc` (these functions,
/// or the caller's own allocation with `malloc`).
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_free(rank_list: *mut DRankList) {
    if rank_list.is_null() {
        return;
    }
    // SAFETY: malloc'ed list and ranks by the caller's contract.
    unsafe {
        libc::free((*rank_list).rl_ranks.cast());
        libc::free(rank_list.cast());
    }
}

/// `int d_rank_list_copy(d_rank_list_t *dst, d_rank_list_t *src)`: makes `dst`'s ranks a
/// copy of `src`'s. (DAOS frees `dst` itself when `src` is empty; here `dst` just becomes
/// empty.)
///
/// Errors: `-DER_INVAL` for NULL arguments; `-DER_NOMEM` (`dst` unchanged).
///
/// # Safety
/// `dst` and `src` are NULL or valid lists; `dst`'s ranks came from `malloc`.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_copy(dst: *mut DRankList, src: *mut DRankList) -> c_int {
    guard("d_rank_list_copy", || {
        if dst.is_null() || src.is_null() {
            return Err(Error::new(Der::Inval, "NULL dst or src"));
        }
        if ptr::eq(dst, src) {
            return Ok(());
        }
        // SAFETY: valid lists by the caller's contract; the copy is taken before `dst`'s
        // ranks are freed.
        unsafe {
            let new = ranks(src).to_vec();
            set_ranks(dst, &new)
        }
    })
}

/// `int d_rank_list_dup(d_rank_list_t **dst, const d_rank_list_t *src)`: a copy of `src` in
/// `*dst` (NULL if `src` is NULL, as DAOS).
///
/// Errors: `-DER_INVAL` for NULL `dst`; `-DER_NOMEM`. `*dst` is written only on success.
///
/// # Safety
/// `dst` is NULL or valid for writes; `src` is NULL or a list with `rl_nr` readable ranks.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_dup(dst: *mut *mut DRankList, src: *const DRankList) -> c_int {
    guard("d_rank_list_dup", || {
        if dst.is_null() {
            return Err(Error::new(Der::Inval, "NULL dst"));
        }
        let copy = if src.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: a valid list by the caller's contract.
            let copy = new_list(unsafe { ranks(src) });
            if copy.is_null() {
                return Err(Error::new(Der::Nomem, "rank list"));
            }
            copy
        };
        // SAFETY: non-NULL, valid for writes by the caller's contract.
        unsafe { *dst = copy };
        Ok(())
    })
}

/// `int d_rank_list_dup_sort_uniq(d_rank_list_t **dst, const d_rank_list_t *src)`: as
/// [`d_rank_list_dup`], with the copy sorted ascending and duplicates removed.
///
/// # Safety
/// As [`d_rank_list_dup`].
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_dup_sort_uniq(
    dst: *mut *mut DRankList,
    src: *const DRankList,
) -> c_int {
    guard("d_rank_list_dup_sort_uniq", || {
        if dst.is_null() {
            return Err(Error::new(Der::Inval, "NULL dst"));
        }
        let copy = if src.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: a valid list by the caller's contract.
            let mut sorted = unsafe { ranks(src) }.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            let copy = new_list(&sorted);
            if copy.is_null() {
                return Err(Error::new(Der::Nomem, "rank list"));
            }
            copy
        };
        // SAFETY: non-NULL, valid for writes by the caller's contract.
        unsafe { *dst = copy };
        Ok(())
    })
}

/// `void d_rank_list_sort(d_rank_list_t *rank_list)`: sorts the ranks ascending in place.
///
/// # Safety
/// `rank_list` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_sort(rank_list: *mut DRankList) {
    shield("d_rank_list_sort", (), || {
        // SAFETY: a valid list by the caller's contract; nothing else uses it meanwhile.
        let ranks = unsafe { ranks(rank_list) };
        if !ranks.is_empty() {
            // SAFETY: the same non-empty array, which the caller lets us change.
            unsafe { std::slice::from_raw_parts_mut((*rank_list).rl_ranks, ranks.len()) }
                .sort_unstable();
        }
    })
}

/// `bool d_rank_list_find(d_rank_list_t *rank_list, d_rank_t rank, int *idx)`: true if
/// `rank` is in the list, with its first index in `*idx` (if `idx` is not NULL).
///
/// # Safety
/// `rank_list` is NULL or a valid list; `idx` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_find(
    rank_list: *mut DRankList,
    rank: u32,
    idx: *mut c_int,
) -> bool {
    // SAFETY: a valid list by the caller's contract.
    match unsafe { ranks(rank_list) }.iter().position(|&r| r == rank) {
        Some(pos) => {
            if !idx.is_null() {
                // SAFETY: non-NULL, valid for writes by the caller's contract.
                unsafe { *idx = pos as c_int };
            }
            true
        }
        None => false,
    }
}

/// `bool d_rank_in_rank_list(d_rank_list_t *rank_list, d_rank_t rank)`.
///
/// # Safety
/// `rank_list` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn d_rank_in_rank_list(rank_list: *mut DRankList, rank: u32) -> bool {
    // SAFETY: a valid list by the caller's contract.
    unsafe { ranks(rank_list) }.contains(&rank)
}

/// `int d_rank_list_del(d_rank_list_t *rank_list, d_rank_t rank)`: removes the first
/// occurrence of `rank` (absent: nothing to do). (DAOS frees the list itself when its last
/// rank goes; here it just becomes empty.)
///
/// Errors: `-DER_INVAL` for NULL; `-DER_NOMEM` (list unchanged).
///
/// # Safety
/// `rank_list` is NULL or a valid list whose ranks came from `malloc`.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_del(rank_list: *mut DRankList, rank: u32) -> c_int {
    guard("d_rank_list_del", || {
        if rank_list.is_null() {
            return Err(Error::new(Der::Inval, "NULL rank list"));
        }
        // SAFETY: a valid list by the caller's contract.
        let mut new = unsafe { ranks(rank_list) }.to_vec();
        let Some(pos) = new.iter().position(|&r| r == rank) else {
            return Ok(());
        };
        new.remove(pos);
        // SAFETY: a valid list; `new` is our own vector.
        unsafe { set_ranks(rank_list, &new) }
    })
}

/// `int d_rank_list_append(d_rank_list_t *rank_list, d_rank_t rank)`: appends `rank`.
///
/// Errors: `-DER_INVAL` for NULL; `-DER_NOMEM` (list unchanged).
///
/// # Safety
/// `rank_list` is NULL or a valid list whose ranks came from `malloc`.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_append(rank_list: *mut DRankList, rank: u32) -> c_int {
    guard("d_rank_list_append", || {
        if rank_list.is_null() {
            return Err(Error::new(Der::Inval, "NULL rank list"));
        }
        // SAFETY: a valid list by the caller's contract.
        let mut new = unsafe { ranks(rank_list) }.to_vec();
        new.push(rank);
        // SAFETY: a valid list; `new` is our own vector.
        unsafe { set_ranks(rank_list, &new) }
    })
}

/// `bool d_rank_list_identical(d_rank_list_t *rank_list1, d_rank_list_t *rank_list2)`: true
/// if both hold the same ranks in any order (or are the same pointer). Neither list is
/// changed (DAOS sorts `rank_list1` in place and compares it with `rank_list2` as given).
///
/// # Safety
/// Both are NULL or valid lists.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_identical(
    rank_list1: *mut DRankList,
    rank_list2: *mut DRankList,
) -> bool {
    if ptr::eq(rank_list1, rank_list2) {
        return true;
    }
    if rank_list1.is_null() || rank_list2.is_null() {
        return false;
    }
    shield("d_rank_list_identical", false, || {
        // SAFETY: valid lists by the caller's contract.
        let (mut a, mut b) = unsafe { (ranks(rank_list1).to_vec(), ranks(rank_list2).to_vec()) };
        a.sort_unstable();
        b.sort_unstable();
        a == b
    })
}

/// `char *d_rank_list_to_str(d_rank_list_t *rank_list)`: the ranks as sorted ranges,
/// `"[0-3,5,7-8]"` (`"[]"` for none or NULL), in memory to `free`. NULL if out of memory.
/// The list is not changed (DAOS sorts it in place).
///
/// # Safety
/// `rank_list` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn d_rank_list_to_str(rank_list: *mut DRankList) -> *mut c_char {
    shield("d_rank_list_to_str", ptr::null_mut(), || {
        // SAFETY: a valid list by the caller's contract.
        let mut sorted = unsafe { ranks(rank_list) }.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for rank in sorted {
            match ranges.last_mut() {
                Some((_, hi)) if hi.checked_add(1) == Some(rank) => *hi = rank,
                _ => ranges.push((rank, rank)),
            }
        }
        let text: Vec<String> = ranges
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect();
        malloc_cstring(format!("[{}]", text.join(",")).as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_daos() {
        assert_eq!(size_of::<DList>(), 16);
        assert_eq!(size_of::<DHashTableOps>(), 64);
        assert_eq!(size_of::<DHashBucket>(), 16);
        assert_eq!(size_of::<DRankList>(), 16);
        #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
        {
            assert_eq!(size_of::<DHashTable>(), 96);
            assert_eq!(std::mem::align_of::<DHashTable>(), 8);
        }
    }

    #[test]
    fn djb2_by_hand() {
        assert_eq!(djb2(b""), 5381);
        assert_eq!(djb2(b"a"), 5381 * 33 + 97);
        assert_eq!(djb2(b"ab"), (5381 * 33 + 97) * 33 + 98);
        // Bytes are unsigned: 0xff adds 255, not -1.
        assert_eq!(djb2(&[0xff]), 5381 * 33 + 255);
    }

    #[test]
    fn djb2_trailing_nul_keeps_small_buckets() {
        // h*33 + 0 ≡ h (mod 32), so up to 2^5 buckets a trailing NUL changes nothing.
        for key in ["pool", "cont", "a", "", "0123456789abcdef"] {
            let with_nul: Vec<u8> = key.bytes().chain([0]).collect();
            for bits in 0..=5 {
                let mask = (1u32 << bits) - 1;
                assert_eq!(
                    djb2(key.as_bytes()) & mask,
                    djb2(&with_nul) & mask,
                    "{key} {bits}"
                );
            }
        }
    }

    #[test]
    fn murmur64a_published_vectors() {
        // Values published with other MurmurHash64A implementations (the mmhash2 README, the
        // Python `murmurhash` package's tests, cetech's tests).
        assert_eq!(murmur64a(b"zhenhao", 0x1234), 0xe232_aca9_9097_2561);
        assert_eq!(murmur64a(b"fransisco", 1), 0x083f_daf4_a6d0_d3d9);
        assert_eq!(murmur64a(b"aaaa", 0x9747_b28c), 0x41da_53fd_abaf_04c8);
        assert_eq!(murmur64a(b"hash me", 22), 15_828_218_858_260_124_487);
        assert_eq!(murmur64a(b"hash me", 330), 11_490_980_199_443_804_233);
        assert_eq!(murmur64a(b"", 0), 0);
    }

    #[test]
    fn integer_and_unsigned_parsing() {
        for yes in [
            "0",
            "00",
            "+0",
            "-0",
            "1",
            "-12",
            "+7",
            "123456789012345678901234567890",
        ] {
            assert!(is_integer(yes.as_bytes()), "{yes}");
        }
        for no in ["", "+", "-", " 0", "0 ", "1a", "0x1", "true", "1.0"] {
            assert!(!is_integer(no.as_bytes()), "{no}");
        }
        assert_eq!(parse_unsigned(b"42", 100), Some(42));
        assert_eq!(parse_unsigned(b"0x2a", 100), Some(42));
        assert_eq!(parse_unsigned(b"0X2A", 100), Some(42));
        assert_eq!(parse_unsigned(b"101", 100), None);
        assert_eq!(
            parse_unsigned(b"4294967295", u64::from(u32::MAX)),
            Some(u64::from(u32::MAX))
        );
        assert_eq!(parse_unsigned(b"4294967296", u64::from(u32::MAX)), None);
        for bad in [
            "",
            "-1",
            "+1",
            "0x",
            "0xg",
            " 1",
            "1 ",
            "abc",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_unsigned(bad.as_bytes(), u64::MAX), None, "{bad}");
        }
    }

    #[test]
    fn error_strings_cover_every_code() {
        for der in Der::ALL {
            // SAFETY: d_errstr/d_errdesc return static NUL-terminated strings.
            let (name, desc) = unsafe {
                (
                    CStr::from_ptr(d_errstr(der.rc())),
                    CStr::from_ptr(d_errdesc(der.rc())),
                )
            };
            assert_eq!(name.to_str(), Ok(der.name()));
            assert_eq!(desc.to_str(), Ok(der.description()));
        }
    }
}
