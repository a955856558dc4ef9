//! libgurt's C entry points (`d_hash_*`, `d_getenv_*`, `d_errstr`, rank lists), called as a C
//! client calls them: records are the caller's structs with an embedded `d_list_t` and
//! reference count, as in IOR's and ROMIO's handle caches (C API reference §3a, §3b).

use daos::gurt::*;
use daos_types::Der;
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// A client's record type and callbacks
// ---------------------------------------------------------------------------------------------

/// A cached handle as IOR/ROMIO keep them: the link first, so `container_of` is a cast.
#[repr(C)]
struct Rec {
    link: DList,
    refs: AtomicU32,
    /// How many times the table called `hop_rec_free` on this record.
    freed: AtomicU32,
    key: Vec<u8>,
}

// SAFETY: a record's link is changed only by the table under its lock (or by its one user in
// NOLOCK tables); its counts are atomics.
unsafe impl Send for Rec {}

impl Rec {
    /// A record holding its creator's reference (`refs == 1`), not in any table.
    fn new(key: &[u8]) -> Box<Rec> {
        Box::new(Rec {
            link: DList {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
            },
            refs: AtomicU32::new(1),
            freed: AtomicU32::new(0),
            key: key.to_vec(),
        })
    }

    fn link(&mut self) -> *mut DList {
        ptr::addr_of_mut!(self.link)
    }

    fn refs(&self) -> u32 {
        self.refs.load(Ordering::SeqCst)
    }

    fn freed(&self) -> u32 {
        self.freed.load(Ordering::SeqCst)
    }

    fn unlinked(&self) -> bool {
        // SAFETY: our own live link.
        unsafe { d_hash_rec_unlinked(ptr::addr_of!(self.link).cast_mut()) }
    }
}

/// The table's private data: counts `hop_rec_free` calls.
#[derive(Default)]
struct Stats {
    frees: AtomicUsize,
}

/// `container_of(link, Rec, link)`.
///
/// # Safety
/// `link` is the link of a live `Rec`.
unsafe fn rec<'a>(link: *mut DList) -> &'a Rec {
    // SAFETY: `link` is the first field of a live, `repr(C)` `Rec`.
    unsafe { &*link.cast::<Rec>() }
}

/// # Safety
/// `key` is valid for `ksize` bytes.
unsafe fn key_bytes<'a>(key: *const c_void, ksize: c_uint) -> &'a [u8] {
    // SAFETY: by the caller's contract.
    unsafe { std::slice::from_raw_parts(key.cast::<u8>(), ksize as usize) }
}

unsafe extern "C" fn key_cmp(
    _: *mut DHashTable,
    link: *mut DList,
    key: *const c_void,
    ksize: c_uint,
) -> bool {
    // SAFETY: the table passes one of our records and the caller's key.
    unsafe { rec(link).key == key_bytes(key, ksize) }
}

/// ROMIO's `key_cmp`: `strcmp(hdl->value, key)`, i.e. both sides end at their first NUL.
unsafe extern "C" fn key_cmp_cstr(
    _: *mut DHashTable,
    link: *mut DList,
    key: *const c_void,
    ksize: c_uint,
) -> bool {
    fn until_nul(bytes: &[u8]) -> &[u8] {
        bytes.split(|&b| b == 0).next().unwrap_or(bytes)
    }
    // SAFETY: the table passes one of our records and the caller's key.
    unsafe { until_nul(&rec(link).key) == until_nul(key_bytes(key, ksize)) }
}

unsafe extern "C" fn rec_hash(_: *mut DHashTable, link: *mut DList) -> u32 {
    // SAFETY: one of our records; its key is valid for its length.
    unsafe {
        let key = &rec(link).key;
        d_hash_string_u32(key.as_ptr().cast(), key.len() as c_uint)
    }
}

unsafe extern "C" fn rec_addref(_: *mut DHashTable, link: *mut DList) {
    // SAFETY: one of our records.
    unsafe { rec(link) }.refs.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn rec_decref(_: *mut DHashTable, link: *mut DList) -> bool {
    // SAFETY: one of our records.
    let before = unsafe { rec(link) }.refs.fetch_sub(1, Ordering::SeqCst);
    assert!(before > 0, "decref below zero");
    before == 1
}

/// IOR's `rec_decref`: every decref is the last.
unsafe extern "C" fn rec_decref_always(_: *mut DHashTable, _: *mut DList) -> bool {
    true
}

unsafe extern "C" fn rec_free(ht: *mut DHashTable, link: *mut DList) {
    // SAFETY: the table passes one of our records and itself, whose `ht_priv` is our `Stats`.
    unsafe {
        assert!(d_hash_rec_unlinked(link), "rec_free on a linked record");
        rec(link).freed.fetch_add(1, Ordering::SeqCst);
        (*(*ht).ht_priv.cast::<Stats>())
            .frees
            .fetch_add(1, Ordering::SeqCst);
    }
}

const REFCOUNTED: DHashTableOps = DHashTableOps {
    hop_key_cmp: Some(key_cmp),
    hop_key_init: None,
    hop_key_hash: None,
    hop_rec_hash: Some(rec_hash),
    hop_rec_addref: Some(rec_addref),
    hop_rec_decref: Some(rec_decref),
    hop_rec_ndecref: None,
    hop_rec_free: Some(rec_free),
};

static REFCOUNTED_OPS: DHashTableOps = REFCOUNTED;

/// IOR's `hdl_hash_ops` (aiori-DFS.c): no addref, decref always true.
static IOR_OPS: DHashTableOps = DHashTableOps {
    hop_rec_addref: None,
    hop_rec_decref: Some(rec_decref_always),
    ..REFCOUNTED
};

/// ROMIO's `hdl_hash_ops` (ad_daos_hhash.c).
static ROMIO_OPS: DHashTableOps = DHashTableOps {
    hop_key_cmp: Some(key_cmp_cstr),
    ..REFCOUNTED
};

/// A table made by `d_hash_table_create`, with its stats.
struct Table {
    ht: *mut DHashTable,
    stats: Box<Stats>,
}

// SAFETY: the table pointer is used from several threads only in the locking test, whose
// tables have a lock; everything else uses it from one thread.
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

impl Table {
    fn new(feats: u32, bits: u32, ops: &'static DHashTableOps) -> Table {
        let mut stats = Box::<Stats>::default();
        let mut ht = ptr::null_mut();
        // SAFETY: valid out-pointer; `ops` is static; `stats` outlives the table.
        let rc = unsafe {
            d_hash_table_create(feats, bits, ptr::addr_of_mut!(*stats).cast(), ops, &mut ht)
        };
        assert_eq!(rc, 0);
        assert!(!ht.is_null());
        Table { ht, stats }
    }

    fn frees(&self) -> usize {
        self.stats.frees.load(Ordering::SeqCst)
    }

    fn insert(&self, key: &[u8], rec: &mut Rec, exclusive: bool) -> c_int {
        // SAFETY: live table, key valid for its length, record boxed (stable) and alive.
        unsafe {
            d_hash_rec_insert(
                self.ht,
                key.as_ptr().cast(),
                key.len() as c_uint,
                rec.link(),
                exclusive,
            )
        }
    }

    fn find(&self, key: &[u8]) -> *mut DList {
        // SAFETY: live table, key valid for its length.
        unsafe { d_hash_rec_find(self.ht, key.as_ptr().cast(), key.len() as c_uint) }
    }

    fn delete(&self, key: &[u8]) -> bool {
        // SAFETY: live table, key valid for its length.
        unsafe { d_hash_rec_delete(self.ht, key.as_ptr().cast(), key.len() as c_uint) }
    }

    fn evict(&self, key: &[u8]) -> bool {
        // SAFETY: live table, key valid for its length.
        unsafe { d_hash_rec_evict(self.ht, key.as_ptr().cast(), key.len() as c_uint) }
    }

    fn decref(&self, link: *mut DList) {
        // SAFETY: live table; `link` is one of our live records.
        unsafe { d_hash_rec_decref(self.ht, link) }
    }

    fn first(&self) -> *mut DList {
        // SAFETY: live table.
        unsafe { d_hash_rec_first(self.ht) }
    }

    /// Keys in traversal order.
    fn keys(&self) -> Vec<Vec<u8>> {
        unsafe extern "C" fn collect(link: *mut DList, arg: *mut c_void) -> c_int {
            // SAFETY: `arg` is the Vec below; `link` one of our records.
            unsafe { (*arg.cast::<Vec<Vec<u8>>>()).push(rec(link).key.clone()) };
            0
        }
        let mut keys: Vec<Vec<u8>> = Vec::new();
        // SAFETY: live table; the callback only reads the record.
        let rc = unsafe {
            d_hash_table_traverse(self.ht, Some(collect), ptr::addr_of_mut!(keys).cast())
        };
        assert_eq!(rc, 0);
        keys
    }

    /// The IOR/ROMIO finalize loop: `first` + `decref` until empty. Each record must go in one
    /// turn (it carries one reference); a loop that does not shrink the table fails.
    fn drain(&self) {
        let records = self.keys().len();
        for _ in 0..records {
            let link = self.first();
            assert!(!link.is_null(), "table emptied early");
            self.decref(link);
        }
        assert!(
            self.first().is_null(),
            "first + decref did not drain the table"
        );
    }

    fn destroy(&mut self, force: bool) -> c_int {
        // SAFETY: a table from `d_hash_table_create`, used by no other thread now.
        let rc = unsafe { d_hash_table_destroy(self.ht, force) };
        if rc == 0 {
            self.ht = ptr::null_mut();
        }
        rc
    }
}

fn link_of(rec: &mut Rec) -> *mut DList {
    rec.link()
}

// ---------------------------------------------------------------------------------------------
// Hash table behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn ephemeral_table_refcounts_like_daos() {
    let mut table = Table::new(
        D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK | D_HASH_FT_LRU,
        4,
        &REFCOUNTED_OPS,
    );
    let mut recs: Vec<Box<Rec>> = ["/a", "/b", "/c"]
        .iter()
        .map(|k| Rec::new(k.as_bytes()))
        .collect();
    for rec in recs.iter_mut() {
        let key = rec.key.clone();
        assert_eq!(table.insert(&key, rec, false), 0);
        // EPHEMERAL: the table takes no reference of its own.
        assert_eq!(rec.refs(), 1);
        assert!(!rec.unlinked());
    }

    // An exclusive insert of a present key fails and leaves the newcomer unlinked.
    let mut dup = Rec::new(b"/a");
    assert_eq!(table.insert(b"/a", &mut dup, true), Der::Exist.rc());
    assert!(dup.unlinked());
    assert_eq!(dup.refs(), 1);

    // find takes a reference; decref drops it without freeing.
    let found = table.find(b"/a");
    assert_eq!(found, link_of(&mut recs[0]));
    assert_eq!(recs[0].refs(), 2);
    table.decref(found);
    assert_eq!(recs[0].refs(), 1);
    assert_eq!(table.frees(), 0);
    assert!(table.find(b"/missing").is_null());
    assert!(
        table.find(b"/a\0").is_null(),
        "exact key_cmp: a longer key is another key"
    );

    // Not empty: destroy without force refuses.
    assert_eq!(table.destroy(false), Der::Busy.rc());

    // delete unlinks but, EPHEMERAL, does not drop the creator's reference or free.
    assert!(table.delete(b"/b"));
    assert!(recs[1].unlinked());
    assert_eq!(recs[1].refs(), 1);
    assert_eq!(recs[1].freed(), 0);
    assert!(!table.delete(b"/b"));
    assert!(table.find(b"/b").is_null());
    // The creator's last decref frees it, even though it is no longer in the table.
    table.decref(link_of(&mut recs[1]));
    assert_eq!(recs[1].freed(), 1);

    // first takes no reference; the IOR/ROMIO drain loop is first + decref.
    let mut drained = 0;
    loop {
        let link = table.first();
        if link.is_null() {
            break;
        }
        // SAFETY: one of our live records.
        assert_eq!(
            // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
            unsafe { rec(link) }.refs(),
            1,
            "d_hash_rec_first took a reference"
        );
        table.decref(link);
        drained += 1;
        assert!(drained <= 2, "drain loop does not end");
    }
    assert_eq!(drained, 2);
    // SAFETY: live table.
    assert!(unsafe { d_hash_table_is_empty(table.ht) });
    assert_eq!(table.destroy(false), 0);
    for rec in &recs {
        assert_eq!(rec.freed(), 1, "rec_free exactly once for {:?}", rec.key);
        assert!(rec.unlinked());
    }
    assert_eq!(dup.freed(), 0);
    assert_eq!(table.frees(), 3);
}

#[test]
fn ior_pattern_without_addref() {
    let mut table = Table::new(
        D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK | D_HASH_FT_LRU,
        4,
        &IOR_OPS,
    );
    let mut recs: Vec<Box<Rec>> = (0..20)
        .map(|i| Rec::new(format!("/dir{i}").as_bytes()))
        .collect();
    for rec in recs.iter_mut() {
        let key = rec.key.clone();
        assert_eq!(table.insert(&key, rec, false), 0);
    }
    for rec in recs.iter_mut() {
        let key = rec.key.clone();
        assert_eq!(table.find(&key), rec.link());
    }
    assert_eq!(table.keys().len(), 20);
    assert_eq!(table.destroy(false), Der::Busy.rc());
    table.drain();
    assert_eq!(table.destroy(false), 0);
    assert!(recs.iter().all(|r| r.freed() == 1));
    assert_eq!(table.frees(), 20);
}

#[test]
fn non_ephemeral_table_holds_its_own_reference() {
    let mut table = Table::new(0, 3, &REFCOUNTED_OPS);
    let mut a = Rec::new(b"a");
    let mut b = Rec::new(b"b");
    let mut c = Rec::new(b"c");
    assert_eq!(table.insert(b"a", &mut a, true), 0);
    assert_eq!(table.insert(b"b", &mut b, true), 0);
    assert_eq!(table.insert(b"c", &mut c, true), 0);
    assert_eq!((a.refs(), b.refs(), c.refs()), (2, 2, 2));

    // delete drops the table's reference; the creator still holds one.
    assert!(table.delete(b"a"));
    assert_eq!((a.refs(), a.freed()), (1, 0));
    table.decref(link_of(&mut a));
    assert_eq!((a.refs(), a.freed()), (0, 1));

    // The creator drops its reference first; delete_at then frees.
    table.decref(link_of(&mut b));
    assert_eq!((b.refs(), b.freed()), (1, 0));
    // SAFETY: live table and record.
    assert!(unsafe { d_hash_rec_delete_at(table.ht, link_of(&mut b)) });
    assert_eq!((b.refs(), b.freed()), (0, 1));
    // SAFETY: live table and (unlinked) record.
    assert!(!unsafe { d_hash_rec_delete_at(table.ht, link_of(&mut b)) });

    // ndecref drops several; find + addref add them.
    let found = table.find(b"c");
    // SAFETY: live table and record.
    unsafe { d_hash_rec_addref(table.ht, found) };
    assert_eq!(c.refs(), 4);
    // SAFETY: live table and record; we hold the references we drop.
    assert_eq!(unsafe { d_hash_rec_ndecref(table.ht, 2, found) }, 0);
    assert_eq!(c.refs(), 2);

    // force destroy deletes what is left, dropping the table's reference.
    assert_eq!(table.destroy(false), Der::Busy.rc());
    table.decref(link_of(&mut c));
    assert_eq!(table.destroy(true), 0);
    assert_eq!((c.refs(), c.freed()), (0, 1));
    assert_eq!(table.frees(), 3);
}

#[test]
fn ndecref_with_too_few_references_is_inval_and_frees_once() {
    let mut table = Table::new(D_HASH_FT_EPHEMERAL, 2, &REFCOUNTED_OPS);
    let mut r = Rec::new(b"k");
    assert_eq!(table.insert(b"k", &mut r, true), 0);
    // SAFETY: live table and record.
    assert_eq!(
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        unsafe { d_hash_rec_ndecref(table.ht, 3, link_of(&mut r)) },
        Der::Inval.rc()
    );
    assert_eq!(r.freed(), 1);
    assert!(r.unlinked());
    // SAFETY: live table.
    assert!(unsafe { d_hash_table_is_empty(table.ht) });
    assert_eq!(table.destroy(false), 0);
}

#[test]
fn lru_moves_hits_to_the_front_and_evictions_to_the_back() {
    // One bucket, so traversal order is the bucket order.
    let mut table = Table::new(
        D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK | D_HASH_FT_LRU,
        0,
        &IOR_OPS,
    );
    let mut recs: Vec<Box<Rec>> = ["a", "b", "c"]
        .iter()
        .map(|k| Rec::new(k.as_bytes()))
        .collect();
    for rec in recs.iter_mut() {
        let key = rec.key.clone();
        assert_eq!(table.insert(&key, rec, true), 0);
    }
    let order = |t: &Table| {
        t.keys()
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(&table), ["c", "b", "a"], "inserts go to the front");
    table.find(b"a");
    assert_eq!(order(&table), ["a", "c", "b"]);
    assert!(table.evict(b"a"));
    assert_eq!(order(&table), ["c", "b", "a"]);
    assert!(!table.evict(b"zz"));
    // SAFETY: live table and records.
    unsafe {
        assert!(d_hash_rec_evict_at(table.ht, link_of(&mut recs[2])));
        assert_eq!(order(&table), ["b", "a", "c"]);
        assert!(
            !d_hash_rec_evict_at(table.ht, link_of(&mut recs[2])),
            "already last"
        );
        d_hash_rec_promote(table.ht, ptr::null(), 0, link_of(&mut recs[2]));
        assert_eq!(order(&table), ["c", "b", "a"]);
    }
    table.drain();
    assert_eq!(table.destroy(false), 0);

    // Without LRU, hits stay where they are and evict does nothing.
    let mut plain = Table::new(D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK, 0, &IOR_OPS);
    let mut recs: Vec<Box<Rec>> = ["a", "b"].iter().map(|k| Rec::new(k.as_bytes())).collect();
    for rec in recs.iter_mut() {
        let key = rec.key.clone();
        assert_eq!(plain.insert(&key, rec, true), 0);
    }
    plain.find(b"a");
    assert_eq!(order(&plain), ["b", "a"]);
    assert!(!plain.evict(b"b"));
    assert_eq!(plain.destroy(true), 0);
}

#[test]
fn romio_inserts_with_nul_and_finds_without() {
    // ROMIO inserts pool labels with `strlen + 1` bytes and looks them up with `strlen`.
    let mut table = Table::new(D_HASH_FT_EPHEMERAL | D_HASH_FT_LRU, 4, &ROMIO_OPS);
    let mut pool = Rec::new(b"pool\0");
    assert_eq!(table.insert(b"pool\0", &mut pool, true), 0);
    let found = table.find(b"pool");
    assert_eq!(found, link_of(&mut pool));
    table.decref(found);

    // The same holds for any key at bits <= 5: DJB2's h*33 + 0 keeps the low 5 bits.
    let mut seed = 0x1234_5678_u64;
    for _ in 0..500 {
        let len = (xorshift(&mut seed) % 24) as usize;
        let key: Vec<u8> = (0..len)
            .map(|_| b'a' + (xorshift(&mut seed) % 26) as u8)
            .collect();
        let with_nul: Vec<u8> = key.iter().copied().chain([0]).collect();
        // SAFETY: both buffers are valid for their lengths.
        let (h, h_nul) = unsafe {
            (
                d_hash_string_u32(key.as_ptr().cast(), key.len() as c_uint),
                d_hash_string_u32(with_nul.as_ptr().cast(), with_nul.len() as c_uint),
            )
        };
        for bits in 0..=5 {
            let mask = (1u32 << bits) - 1;
            assert_eq!(h & mask, h_nul & mask, "{key:?} bits {bits}");
        }
    }

    // ROMIO's finalize drains with first + decref (its records carry one reference).
    table.drain();
    assert_eq!(table.destroy(false), 0);
    assert_eq!(pool.freed(), 1);
}

#[test]
fn inplace_table_and_bad_arguments() {
    // A table embedded in the caller's memory, as dfs' dcache does.
    let stats = Stats::default();
    let mut storage = std::mem::MaybeUninit::<DHashTable>::uninit();
    let ht = storage.as_mut_ptr();
    // SAFETY: `ht` is valid for writes of a table; the ops are static; `stats` outlives it.
    unsafe {
        assert_eq!(
            d_hash_table_create_inplace(
                D_HASH_FT_RWLOCK,
                5,
                ptr::addr_of!(stats).cast_mut().cast(),
                &REFCOUNTED_OPS,
                ht
            ),
            0
        );
        assert_eq!((*ht).ht_bits, 5);
        assert_eq!((*ht).ht_feats, D_HASH_FT_RWLOCK);
        assert!(!(*ht).ht_buckets.is_null());
        let mut r = Rec::new(b"x");
        assert_eq!(
            d_hash_rec_insert(ht, b"x".as_ptr().cast(), 1, r.link(), true),
            0
        );
        // Bad arguments are errors, not crashes.
        assert_eq!(
            d_hash_rec_insert(ht, ptr::null(), 1, r.link(), true),
            Der::Inval.rc()
        );
        assert_eq!(
            d_hash_rec_insert(ht, b"x".as_ptr().cast(), 0, r.link(), true),
            Der::Inval.rc()
        );
        assert_eq!(
            d_hash_rec_insert(ht, b"y".as_ptr().cast(), 1, ptr::null_mut(), true),
            Der::Inval.rc()
        );
        assert!(d_hash_rec_find(ptr::null_mut(), b"x".as_ptr().cast(), 1).is_null());
        assert!(d_hash_rec_find(ht, ptr::null(), 1).is_null());
        assert!(!d_hash_rec_delete(ptr::null_mut(), b"x".as_ptr().cast(), 1));
        assert_eq!(
            d_hash_table_traverse(ht, None, ptr::null_mut()),
            Der::Inval.rc()
        );
        assert_eq!(d_hash_table_destroy_inplace(ht, false), Der::Busy.rc());
        assert_eq!(d_hash_table_destroy_inplace(ht, true), 0);
        assert_eq!(r.freed(), 0, "the creator still holds a reference");
        assert_eq!(r.refs(), 1);
        assert!(r.unlinked());
        // Destroyed tables are zeroed and refuse further use.
        assert!((*ht).ht_buckets.is_null());
        assert!(d_hash_rec_find(ht, b"x".as_ptr().cast(), 1).is_null());
        assert_eq!(
            d_hash_table_traverse(ht, None, ptr::null_mut()),
            Der::Uninit.rc()
        );

        // create refuses what DAOS would assert on.
        let no_cmp = DHashTableOps::default();
        let mut out = ptr::NonNull::<DHashTable>::dangling().as_ptr();
        assert_eq!(
            d_hash_table_create(0, 4, ptr::null_mut(), &no_cmp, &mut out),
            Der::Inval.rc()
        );
        assert!(out.is_null());
        assert_eq!(
            d_hash_table_create(0, 4, ptr::null_mut(), ptr::null(), &mut out),
            Der::Inval.rc()
        );
        assert_eq!(
            d_hash_table_create(0, 40, ptr::null_mut(), &REFCOUNTED_OPS, &mut out),
            Der::Inval.rc()
        );
        assert_eq!(
            d_hash_table_create(0, 4, ptr::null_mut(), &REFCOUNTED_OPS, ptr::null_mut()),
            Der::Inval.rc()
        );
        assert_eq!(
            d_hash_table_destroy(ptr::null_mut(), false),
            Der::Inval.rc()
        );
        assert!(d_hash_rec_unlinked(ptr::null_mut()));
    }
}

#[test]
fn find_insert_and_anonymous_insert() {
    unsafe extern "C" fn key_init(_: *mut DHashTable, link: *mut DList, arg: *mut c_void) {
        // SAFETY: our record, and `arg` is a `u8` we passed.
        unsafe {
            let r = link.cast::<Rec>();
            (*r).key = vec![*arg.cast::<u8>()];
        }
    }
    static ANON_OPS: DHashTableOps = DHashTableOps {
        hop_key_init: Some(key_init),
        ..REFCOUNTED
    };
    let mut table = Table::new(0, 4, &ANON_OPS);
    let mut first = Rec::new(b"k");
    let mut second = Rec::new(b"k");
    // SAFETY: live table; records boxed and alive.
    unsafe {
        let got = d_hash_rec_find_insert(table.ht, b"k".as_ptr().cast(), 1, first.link());
        assert_eq!(got, first.link());
        assert_eq!(first.refs(), 2, "inserted: the table's reference");
        let got = d_hash_rec_find_insert(table.ht, b"k".as_ptr().cast(), 1, second.link());
        assert_eq!(
            got,
            first.link(),
            "found: the present record, with a reference"
        );
        assert_eq!(first.refs(), 3);
        assert!(second.unlinked());
        table.decref(got);

        let mut anon = Rec::new(b"");
        let mut tag = b'z';
        assert_eq!(
            d_hash_rec_insert_anonym(table.ht, anon.link(), ptr::addr_of_mut!(tag).cast()),
            0
        );
        assert_eq!(anon.key, b"z");
        assert_eq!(table.find(b"z"), anon.link(), "rec_hash and key_hash agree");
        table.decref(anon.link());

        let mut no_init = Table::new(0, 4, &REFCOUNTED_OPS);
        assert_eq!(
            d_hash_rec_insert_anonym(no_init.ht, anon.link(), ptr::null_mut()),
            Der::Inval.rc()
        );
        assert_eq!(no_init.destroy(false), 0);

        table.decref(first.link());
        table.decref(anon.link());
        assert_eq!(table.destroy(true), 0);
        assert_eq!((first.freed(), anon.freed(), second.freed()), (1, 1, 0));
    }
}

#[test]
fn locked_tables_survive_concurrent_use() {
    for feats in [
        0,
        D_HASH_FT_MUTEX,
        D_HASH_FT_RWLOCK,
        D_HASH_FT_MUTEX | D_HASH_FT_LRU,
    ] {
        let mut table = Table::new(feats, 3, &REFCOUNTED_OPS);
        let mut recs: Vec<Vec<Box<Rec>>> = (0..4)
            .map(|t| {
                (0..200)
                    .map(|i| Rec::new(format!("t{t}-{i}").as_bytes()))
                    .collect()
            })
            .collect();
        std::thread::scope(|s| {
            for mine in recs.iter_mut() {
                let table = &table;
                s.spawn(move || {
                    for rec in mine.iter_mut() {
                        let key = rec.key.clone();
                        assert_eq!(table.insert(&key, rec, true), 0);
                        let found = table.find(&key);
                        assert_eq!(found, rec.link());
                        table.decref(found);
                    }
                    for rec in mine.iter_mut().step_by(2) {
                        let key = rec.key.clone();
                        assert!(table.delete(&key));
                    }
                });
            }
        });
        assert_eq!(table.keys().len(), 400);
        for rec in recs.iter_mut().flatten() {
            table.decref(rec.link());
        }
        assert_eq!(table.frees(), 400);
        assert_eq!(table.destroy(true), 0);
        assert!(recs.iter().flatten().all(|r| r.freed() == 1));
    }
}

// ---------------------------------------------------------------------------------------------
// Property test: random operations against a model
// ---------------------------------------------------------------------------------------------

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs `steps` random operations on a table with `feats` and checks each result against a
/// model: key → records with that key, front first (the one `find` returns).
fn run_model(seed: u64, feats: u32, bits: u32, steps: usize) {
    let ephemeral = feats & D_HASH_FT_EPHEMERAL != 0;
    let lru = feats & D_HASH_FT_LRU != 0;
    let mut rng = seed | 1;
    let mut table = Table::new(feats, bits, &REFCOUNTED_OPS);
    let mut recs: Vec<Box<Rec>> = Vec::new();
    let mut model: HashMap<Vec<u8>, VecDeque<usize>> = HashMap::new();
    let mut expected_frees = 0usize;
    let key_of = |n: u64| format!("key-{n}").into_bytes();
    // Drops the creator's reference on a record the table holds (non-ephemeral tables keep
    // only the table's own); ephemeral records keep the creator's as their only one.
    let settle = |table: &Table, r: &mut Rec| {
        if !ephemeral {
            table.decref(r.link());
        }
    };
    // Frees a record that just left the table: non-ephemeral tables already freed it;
    // ephemeral ones leave that to the holder's last decref.
    let release = |table: &Table, r: &mut Rec, expected_frees: &mut usize| {
        assert!(r.unlinked());
        if ephemeral {
            assert_eq!(r.freed(), 0);
            table.decref(r.link());
        }
        *expected_frees += 1;
        assert_eq!(r.freed(), 1);
    };

    for step in 0..steps {
        let key = key_of(xorshift(&mut rng) % 24);
        let present = model.get(&key).and_then(|q| q.front().copied());
        match xorshift(&mut rng) % 8 {
            0 | 1 => {
                let exclusive = xorshift(&mut rng) & 1 == 0;
                recs.push(Rec::new(&key));
                let idx = recs.len() - 1;
                let rc = table.insert(&key, &mut recs[idx], exclusive);
                if exclusive && present.is_some() {
                    assert_eq!(rc, Der::Exist.rc(), "step {step}");
                    assert!(recs[idx].unlinked());
                } else {
                    assert_eq!(rc, 0, "step {step}");
                    settle(&table, &mut recs[idx]);
                    assert_eq!(recs[idx].refs(), 1);
                    model.entry(key).or_default().push_front(idx);
                }
            }
            2 => {
                let found = table.find(&key);
                match present {
                    Some(idx) => {
                        assert_eq!(found, recs[idx].link(), "step {step}");
                        assert_eq!(recs[idx].refs(), 2);
                        table.decref(found);
                        assert_eq!(recs[idx].refs(), 1);
                    }
                    None => assert!(found.is_null(), "step {step}"),
                }
            }
            3 => {
                assert_eq!(table.delete(&key), present.is_some(), "step {step}");
                if let Some(idx) = present {
                    model.get_mut(&key).unwrap().pop_front();
                    release(&table, &mut recs[idx], &mut expected_frees);
                }
            }
            4 => {
                // delete_at on a random record: linked or not.
                if recs.is_empty() {
                    continue;
                }
                let idx = (xorshift(&mut rng) % recs.len() as u64) as usize;
                let key = recs[idx].key.clone();
                let queue = model.entry(key).or_default();
                let pos = queue.iter().position(|&i| i == idx);
                if let Some(pos) = pos {
                    queue.remove(pos);
                }
                // A record that was freed stays allocated here, so asking is safe.
                // SAFETY: live table and record.
                let deleted = unsafe { d_hash_rec_delete_at(table.ht, recs[idx].link()) };
                assert_eq!(deleted, pos.is_some(), "step {step}");
                if deleted {
                    release(&table, &mut recs[idx], &mut expected_frees);
                }
            }
            5 => {
                let moved = table.evict(&key);
                assert_eq!(moved, lru && present.is_some(), "step {step}");
                if moved {
                    model.get_mut(&key).unwrap().rotate_left(1);
                }
            }
            6 => {
                recs.push(Rec::new(&key));
                let idx = recs.len() - 1;
                // SAFETY: live table; the record is boxed and alive.
                let got = unsafe {
                    d_hash_rec_find_insert(
                        table.ht,
                        key.as_ptr().cast(),
                        key.len() as c_uint,
                        recs[idx].link(),
                    )
                };
                match present {
                    Some(old) => {
                        assert_eq!(got, recs[old].link(), "step {step}");
                        table.decref(got);
                        assert!(recs[idx].unlinked());
                    }
                    None => {
                        assert_eq!(got, recs[idx].link(), "step {step}");
                        settle(&table, &mut recs[idx]);
                        model.entry(key).or_default().push_front(idx);
                    }
                }
            }
            _ => {
                let total: usize = model.values().map(VecDeque::len).sum();
                assert_eq!(table.keys().len(), total, "step {step}");
                // SAFETY: live table.
                assert_eq!(unsafe { d_hash_table_is_empty(table.ht) }, total == 0);
                assert_eq!(table.first().is_null(), total == 0);
            }
        }
        assert_eq!(table.frees(), expected_frees, "step {step}");
    }

    // Tear down: refuse while non-empty, then drain as the client would.
    let total: usize = model.values().map(VecDeque::len).sum();
    if total > 0 {
        assert_eq!(table.destroy(false), Der::Busy.rc());
    }
    if ephemeral {
        table.drain();
        assert_eq!(table.destroy(false), 0);
    } else {
        assert_eq!(table.destroy(true), 0);
    }
    assert_eq!(table.frees(), expected_frees + total);
    for (idx, r) in recs.iter().enumerate() {
        let in_table = model.values().any(|q| q.contains(&idx));
        assert!(r.unlinked());
        assert!(r.freed() <= 1, "record {idx} freed twice");
        if in_table {
            assert_eq!(r.freed(), 1, "record {idx} left in the table was not freed");
        }
    }
}

#[test]
fn random_operations_match_a_model() {
    let feature_sets = [
        D_HASH_FT_NOLOCK,
        D_HASH_FT_NOLOCK | D_HASH_FT_LRU,
        D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK | D_HASH_FT_LRU,
        D_HASH_FT_EPHEMERAL,
        D_HASH_FT_MUTEX | D_HASH_FT_LRU,
        D_HASH_FT_RWLOCK | D_HASH_FT_EPHEMERAL,
        0,
    ];
    for seed in 1..=40u64 {
        let feats = feature_sets[(seed as usize) % feature_sets.len()];
        let bits = (seed % 6) as u32;
        run_model(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), feats, bits, 600);
    }
}

// ---------------------------------------------------------------------------------------------
// Hashes
// ---------------------------------------------------------------------------------------------

fn djb2(s: &[u8]) -> u32 {
    // SAFETY: valid for its length.
    unsafe { d_hash_string_u32(s.as_ptr().cast(), s.len() as c_uint) }
}

#[test]
fn djb2_known_values() {
    assert_eq!(djb2(b""), 5381);
    // SAFETY: NULL hashes as empty.
    assert_eq!(unsafe { d_hash_string_u32(ptr::null(), 7) }, 5381);
    assert_eq!(djb2(b"a"), 177_670); // 5381 * 33 + 97
    assert_eq!(djb2(b"ab"), 5_863_208); // 177670 * 33 + 98
    assert_eq!(djb2(b"\xff"), 177_828); // bytes are unsigned: 5381 * 33 + 255
    assert_eq!(djb2(b"a\0"), 177_670 * 33, "the NUL is hashed");
}

/// MurmurHash64A written independently of the library: byte-by-byte block assembly and a
/// tail switch that falls through, as in Appleby's reference.
fn murmur_reference(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    let mut h: u64 = u64::from(seed) ^ (data.len() as u64).wrapping_mul(M);
    let nblocks = data.len() / 8;
    for b in 0..nblocks {
        let mut k: u64 = 0;
        for i in (0..8).rev() {
            k = (k << 8) | u64::from(data[b * 8 + i]);
        }
        k = k.wrapping_mul(M);
        k ^= k >> 47;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = &data[nblocks * 8..];
    let rest = tail.len();
    let mut i = rest;
    while i > 0 {
        i -= 1;
        h ^= u64::from(tail[i]) << (8 * i);
    }
    if rest > 0 {
        h = h.wrapping_mul(M);
    }
    h ^= h >> 47;
    h = h.wrapping_mul(M);
    h ^= h >> 47;
    h
}

fn murmur(s: &[u8], seed: u32) -> u64 {
    // SAFETY: valid for its length.
    unsafe { d_hash_murmur64(s.as_ptr(), s.len() as c_uint, seed) }
}

#[test]
fn murmur64_matches_published_vectors_and_a_reference() {
    // Published with other MurmurHash64A implementations (mmhash2's README, the Python
    // `murmurhash` package's tests, cetech's tests).
    assert_eq!(murmur(b"zhenhao", 0x1234), 16_299_279_845_682_521_441);
    assert_eq!(murmur(b"fransisco", 1), 0x083f_daf4_a6d0_d3d9);
    assert_eq!(murmur(b"aaaa", 0x9747_b28c), 0x41da_53fd_abaf_04c8);
    assert_eq!(murmur(b"hash me", 22), 15_828_218_858_260_124_487);
    assert_eq!(murmur(b"hash me", 330), 11_490_980_199_443_804_233);
    assert_eq!(murmur(b"", 0), 0);
    let mut rng = 0xdead_beef_u64;
    for len in 0..70 {
        let data: Vec<u8> = (0..len).map(|_| xorshift(&mut rng) as u8).collect();
        let seed = xorshift(&mut rng) as u32;
        assert_eq!(
            murmur(&data, seed),
            murmur_reference(&data, seed),
            "len {len}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// Sets (or unsets) a variable private to one test and returns its name as a C string.
fn env(name: &str, value: Option<&str>) -> CString {
    let name = format!("DAOS_RS_GURT_TEST_{name}");
    match value {
        Some(v) => std::env::set_var(&name, v),
        None => std::env::remove_var(&name),
    }
    CString::new(name).unwrap()
}

fn getenv_bool(name: &CStr, initial: bool) -> (c_int, bool) {
    let mut value = initial;
    // SAFETY: NUL-terminated name, valid out-pointer.
    let rc = unsafe { d_getenv_bool(name.as_ptr(), &mut value) };
    (rc, value)
}

#[test]
fn getenv_bool_cases() {
    let unset = env("BOOL_UNSET", None);
    assert_eq!(
        getenv_bool(&unset, true),
        (Der::Nonexist.rc(), true),
        "untouched when unset"
    );
    assert_eq!(getenv_bool(&unset, false), (Der::Nonexist.rc(), false));
    let cases = [
        ("0", false),
        ("00", false),
        ("+0", false),
        ("-0", false),
        ("1", true),
        ("-1", true),
        ("42", true),
        ("yes", true),
        ("false", true),
        ("no", true),
        ("", true),
        (" 0", true),
        ("0x0", true),
    ];
    for (i, (value, expected)) in cases.iter().enumerate() {
        let name = env(&format!("BOOL_{i}"), Some(value));
        assert_eq!(
            getenv_bool(&name, !expected),
            (0, *expected),
            "value {value:?}"
        );
    }
    // SAFETY: NULL arguments are rejected.
    unsafe {
        let mut b = false;
        assert_eq!(d_getenv_bool(ptr::null(), &mut b), Der::Inval.rc());
        assert_eq!(
            d_getenv_bool(unset.as_ptr(), ptr::null_mut()),
            Der::Inval.rc()
        );
    }
}

#[test]
fn getenv_int_str_char_cases() {
    // SAFETY: NUL-terminated names and valid out-pointers throughout.
    unsafe {
        let mut v: c_uint = 7;
        assert_eq!(
            d_getenv_int(env("INT_UNSET", None).as_ptr(), &mut v),
            Der::Nonexist.rc()
        );
        assert_eq!(v, 7);
        assert_eq!(d_getenv_int(env("INT_42", Some("42")).as_ptr(), &mut v), 0);
        assert_eq!(v, 42);
        assert_eq!(
            d_getenv_uint(env("INT_HEX", Some("0x10")).as_ptr(), &mut v),
            0
        );
        assert_eq!(v, 16);
        for (i, bad) in ["abc", "-1", "4294967296", "", "1 "].iter().enumerate() {
            v = 7;
            assert_eq!(
                d_getenv_int(env(&format!("INT_BAD{i}"), Some(bad)).as_ptr(), &mut v),
                Der::Inval.rc(),
                "{bad:?}"
            );
            assert_eq!(v, 7, "untouched on error");
        }
        let mut w: u64 = 0;
        assert_eq!(
            d_getenv_uint64_t(env("U64", Some("18446744073709551615")).as_ptr(), &mut w),
            0
        );
        assert_eq!(w, u64::MAX);
        let mut u: u32 = 0;
        assert_eq!(
            d_getenv_uint32_t(env("U32", Some("4294967295")).as_ptr(), &mut u),
            0
        );
        assert_eq!(u, u32::MAX);

        let mut c: c_char = 0;
        assert_eq!(d_getenv_char(env("CHAR", Some("y")).as_ptr(), &mut c), 0);
        assert_eq!(c as u8, b'y');
        assert_eq!(
            d_getenv_char(env("CHAR_LONG", Some("yes")).as_ptr(), &mut c),
            Der::Inval.rc()
        );

        let name = env("STR", Some("hello"));
        let mut buf = [0x55 as c_char; 16];
        assert_eq!(d_getenv_str(buf.as_mut_ptr(), buf.len(), name.as_ptr()), 0);
        assert_eq!(CStr::from_ptr(buf.as_ptr()).to_bytes(), b"hello");
        let mut small = [0x55 as c_char; 4];
        assert_eq!(
            d_getenv_str(small.as_mut_ptr(), small.len(), name.as_ptr()),
            Der::Trunc.rc()
        );
        assert_eq!(CStr::from_ptr(small.as_ptr()).to_bytes(), b"hel");
        let mut exact = [0x55 as c_char; 6];
        assert_eq!(
            d_getenv_str(exact.as_mut_ptr(), exact.len(), name.as_ptr()),
            0
        );
        let mut untouched = [0x55 as c_char; 4];
        assert_eq!(
            d_getenv_str(untouched.as_mut_ptr(), 4, env("STR_UNSET", None).as_ptr()),
            Der::Nonexist.rc()
        );
        assert_eq!(untouched, [0x55 as c_char; 4]);
        assert_eq!(
            d_getenv_str(buf.as_mut_ptr(), 0, name.as_ptr()),
            Der::Inval.rc()
        );

        let mut owned: *mut c_char = ptr::null_mut();
        assert_eq!(d_agetenv_str(&mut owned, name.as_ptr()), 0);
        assert_eq!(CStr::from_ptr(owned).to_bytes(), b"hello");
        d_freeenv_str(&mut owned);
        assert!(owned.is_null());
        assert_eq!(
            d_agetenv_str(&mut owned, env("ASTR_UNSET", None).as_ptr()),
            Der::Nonexist.rc()
        );
        assert!(owned.is_null());
    }
}

// ---------------------------------------------------------------------------------------------
// Error strings and rank lists
// ---------------------------------------------------------------------------------------------

fn cstr(p: *const c_char) -> &'static str {
    // SAFETY: d_errstr/d_errdesc return static NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

#[test]
fn errstr_and_errdesc() {
    assert_eq!(cstr(d_errstr(-1005)), "DER_NONEXIST");
    assert_eq!(cstr(d_errstr(Der::Busy.rc())), "DER_BUSY");
    assert_eq!(cstr(d_errstr(1003)), "DER_INVAL");
    assert_eq!(cstr(d_errstr(0)), "DER_SUCCESS");
    assert_eq!(cstr(d_errstr(-999_999)), "DER_UNKNOWN");
    assert_eq!(cstr(d_errstr(i32::MIN)), "DER_UNKNOWN");
    assert_eq!(cstr(d_errdesc(-1005)), Der::Nonexist.description());
    assert_eq!(cstr(d_errdesc(0)), "Success");
    assert_eq!(cstr(d_errdesc(-501_000)), "Unknown error");
    assert_eq!(
        d_errstr(-1005),
        d_errstr(-1005),
        "static strings, built once"
    );
}

#[test]
fn rank_lists() {
    let list = d_rank_list_alloc(3);
    assert!(!list.is_null());
    // SAFETY: lists from d_rank_list_alloc/dup, freed once each.
    unsafe {
        assert_eq!((*list).rl_nr, 3);
        assert_eq!(std::slice::from_raw_parts((*list).rl_ranks, 3), [0, 1, 2]);
        *(*list).rl_ranks.add(1) = 42;

        let mut copy = ptr::null_mut();
        assert_eq!(d_rank_list_dup(&mut copy, list), 0);
        assert_ne!(copy, list);
        assert_ne!((*copy).rl_ranks, (*list).rl_ranks);
        assert_eq!(std::slice::from_raw_parts((*copy).rl_ranks, 3), [0, 42, 2]);
        d_rank_list_free(list);
        // C callers may free with plain free().
        libc::free((*copy).rl_ranks.cast());
        libc::free(copy.cast());

        let empty = d_rank_list_alloc(0);
        assert_eq!(((*empty).rl_nr, (*empty).rl_ranks.is_null()), (0, true));
        let mut copy = ptr::NonNull::<DRankList>::dangling().as_ptr();
        assert_eq!(d_rank_list_dup(&mut copy, empty), 0);
        assert_eq!(((*copy).rl_nr, (*copy).rl_ranks.is_null()), (0, true));
        d_rank_list_free(copy);
        d_rank_list_free(empty);

        assert_eq!(d_rank_list_dup(&mut copy, ptr::null()), 0);
        assert!(copy.is_null());
        assert_eq!(
            d_rank_list_dup(ptr::null_mut(), ptr::null()),
            Der::Inval.rc()
        );
        d_rank_list_free(ptr::null_mut());
    }
}

#[test]
fn more_rank_list_utilities() {
    /// A list of the given ranks, made through the C API.
    fn list(ranks: &[u32]) -> *mut DRankList {
        let l = d_rank_list_alloc(ranks.len() as u32);
        assert!(!l.is_null());
        // SAFETY: `l` has `ranks.len()` ranks.
        unsafe {
            for (i, &r) in ranks.iter().enumerate() {
                *(*l).rl_ranks.add(i) = r;
            }
        }
        l
    }
    /// # Safety
    /// `l` is a valid list.
    unsafe fn get(l: *const DRankList) -> Vec<u32> {
        // SAFETY: by the caller's contract.
        unsafe {
            if (*l).rl_nr == 0 {
                return Vec::new();
            }
            std::slice::from_raw_parts((*l).rl_ranks, (*l).rl_nr as usize).to_vec()
        }
    }
    /// # Safety
    /// `l` is NULL or a valid list.
    unsafe fn text(l: *mut DRankList) -> String {
        // SAFETY: by the caller's contract; the result is malloc'ed and freed here.
        unsafe {
            let s = d_rank_list_to_str(l);
            let out = CStr::from_ptr(s).to_str().unwrap().to_owned();
            libc::free(s.cast());
            out
        }
    }

    // SAFETY: every list comes from the API above and is freed once.
    unsafe {
        let l = list(&[5, 3, 3, 9, 1]);
        assert!(d_rank_in_rank_list(l, 9));
        assert!(!d_rank_in_rank_list(l, 4));
        let mut idx: c_int = -1;
        assert!(d_rank_list_find(l, 3, &mut idx));
        assert_eq!(idx, 1, "first occurrence");
        assert!(!d_rank_list_find(l, 4, &mut idx));
        assert!(d_rank_list_find(l, 5, ptr::null_mut()));

        assert_eq!(text(l), "[1,3,5,9]");
        assert_eq!(get(l), [5, 3, 3, 9, 1], "to_str leaves the list alone");

        let mut uniq = ptr::null_mut();
        assert_eq!(d_rank_list_dup_sort_uniq(&mut uniq, l), 0);
        assert_eq!(get(uniq), [1, 3, 5, 9]);

        let other = list(&[9, 3, 1, 5, 3]);
        assert!(d_rank_list_identical(l, other));
        assert!(!d_rank_list_identical(l, uniq));
        assert!(d_rank_list_identical(l, l));
        assert!(!d_rank_list_identical(l, ptr::null_mut()));

        d_rank_list_sort(l);
        assert_eq!(get(l), [1, 3, 3, 5, 9]);
        assert_eq!(d_rank_list_del(l, 3), 0);
        assert_eq!(get(l), [1, 3, 5, 9]);
        assert_eq!(d_rank_list_del(l, 42), 0);
        assert_eq!(d_rank_list_append(l, 10), 0);
        assert_eq!(d_rank_list_append(l, 11), 0);
        assert_eq!(text(l), "[1,3,5,9-11]");

        assert_eq!(d_rank_list_copy(other, l), 0);
        assert_eq!(get(other), [1, 3, 5, 9, 10, 11]);
        assert_eq!(d_rank_list_copy(ptr::null_mut(), l), Der::Inval.rc());

        let l = d_rank_list_realloc(l, 2);
        assert_eq!(get(l), [1, 3]);
        let l = d_rank_list_realloc(l, 4);
        assert_eq!(get(l), [1, 3, 0, 0], "new ranks are zeroed");
        assert!(d_rank_list_realloc(l, 0).is_null(), "size 0 frees");
        let fresh = d_rank_list_realloc(ptr::null_mut(), 3);
        assert_eq!(get(fresh), [0, 1, 2]);

        // Deleting the last rank leaves an empty list, still usable.
        let single = list(&[7]);
        assert_eq!(d_rank_list_del(single, 7), 0);
        assert_eq!(((*single).rl_nr, (*single).rl_ranks.is_null()), (0, true));
        assert_eq!(text(single), "[]");
        assert_eq!(text(ptr::null_mut()), "[]");
        assert_eq!(d_rank_list_append(single, u32::MAX), 0);
        assert_eq!(d_rank_list_append(single, 0), 0);
        assert_eq!(text(single), "[0,4294967295]");
        assert_eq!(d_rank_list_del(ptr::null_mut(), 1), Der::Inval.rc());
        assert_eq!(d_rank_list_append(ptr::null_mut(), 1), Der::Inval.rc());

        for l in [uniq, other, fresh, single] {
            d_rank_list_free(l);
        }
    }
}

#[test]
fn setenv_and_unsetenv() {
    let name = env("SETENV", None);
    // SAFETY: NUL-terminated strings throughout.
    unsafe {
        assert_eq!(d_setenv(name.as_ptr(), c"one".as_ptr(), 0), 0);
        assert_eq!(std::env::var(name.to_str().unwrap()).as_deref(), Ok("one"));
        assert_eq!(d_setenv(name.as_ptr(), c"two".as_ptr(), 0), 0);
        assert_eq!(
            std::env::var(name.to_str().unwrap()).as_deref(),
            Ok("one"),
            "kept"
        );
        assert_eq!(d_setenv(name.as_ptr(), c"two".as_ptr(), 1), 0);
        let mut b = false;
        assert_eq!(d_getenv_bool(name.as_ptr(), &mut b), 0);
        assert!(b);
        assert_eq!(d_unsetenv(name.as_ptr()), 0);
        assert_eq!(d_getenv_bool(name.as_ptr(), &mut b), Der::Nonexist.rc());
        assert_eq!(d_setenv(c"A=B".as_ptr(), c"x".as_ptr(), 1), -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINVAL)
        );
        assert_eq!(d_setenv(ptr::null(), c"x".as_ptr(), 1), -1);
        assert_eq!(d_setenv(name.as_ptr(), ptr::null(), 1), -1);
        assert_eq!(d_unsetenv(c"".as_ptr()), -1);
    }
}

/// Bob Jenkins' `mix` written out line by line, to check the library's loop form.
fn mix96_reference(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    a = a.wrapping_sub(b);
    a = a.wrapping_sub(c);
    a ^= c >> 13;
    b = b.wrapping_sub(c);
    b = b.wrapping_sub(a);
    b ^= a << 8;
    c = c.wrapping_sub(a);
    c = c.wrapping_sub(b);
    c ^= b >> 13;
    a = a.wrapping_sub(b);
    a = a.wrapping_sub(c);
    a ^= c >> 12;
    b = b.wrapping_sub(c);
    b = b.wrapping_sub(a);
    b ^= a << 16;
    c = c.wrapping_sub(a);
    c = c.wrapping_sub(b);
    c ^= b >> 5;
    a = a.wrapping_sub(b);
    a = a.wrapping_sub(c);
    a ^= c >> 3;
    b = b.wrapping_sub(c);
    b = b.wrapping_sub(a);
    b ^= a << 10;
    c = c.wrapping_sub(a);
    c = c.wrapping_sub(b);
    c ^= b >> 15;
    c
}

#[test]
fn mix_and_jump_hashes() {
    let mut rng = 0x5eed_u64;
    for _ in 0..1000 {
        let (a, b, c) = (
            xorshift(&mut rng) as u32,
            xorshift(&mut rng) as u32,
            xorshift(&mut rng) as u32,
        );
        assert_eq!(d_hash_mix96(a, b, c), mix96_reference(a, b, c));
    }
    // Wang's mix is a bijection on u64: distinct inputs give distinct outputs.
    let outputs: std::collections::HashSet<u64> = (0..10_000u64).map(|k| d_hash_mix64(k)).collect();
    assert_eq!(outputs.len(), 10_000);
    assert_ne!(d_hash_mix64(0), 0);

    // Jump hash: in range, 0 with one bucket, and consistent: growing n -> n + 1 moves a
    // key only into the new bucket.
    assert_eq!(d_hash_jump(12345, 0), u32::MAX);
    for _ in 0..2000 {
        let key = xorshift(&mut rng);
        assert_eq!(d_hash_jump(key, 1), 0);
        let mut prev = 0;
        for n in 2..40 {
            let b = d_hash_jump(key, n);
            assert!(b < n);
            assert!(
                b == prev || b == n - 1,
                "key {key} moved from {prev} to {b} at {n}"
            );
            prev = b;
        }
    }
}
