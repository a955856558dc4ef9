//! `daos_kv_*` and `daos_array_*` called as a C program calls them (through the rlib), against
//! a real engine over real libfabric: blocking and through an event queue, conditional KV
//! operations, size-only and too-small gets, zero-length values, listing to EOF, arrays across
//! chunk boundaries with multi-iov memory, holes, sizes, punches, global handles, and a DFS
//! file read and written as a byte array (C API reference §2.3, §3d, §4).
//!
//! One `#[test]`: the library state (`daos_init`, the agent directory in the environment) is
//! per process, and the test harness runs tests on threads.

use daos::cont::{daos_cont_close, daos_cont_create_with_label, daos_cont_open2};
use daos::event::{
    daos_eq_create, daos_eq_destroy, daos_eq_poll, daos_event_fini, daos_event_init,
};
use daos::kvarray::*;
use daos::obj::{daos_obj_close, daos_obj_generate_oid2, daos_oclass_name2id};
use daos::pool::{daos_pool_connect2, daos_pool_disconnect};
use daos::types::*;
use daos_client::{Client, Container, Pool, SgList};
use daos_dfs::{mode, Attr, Dfs, O_CREAT, O_RDWR};
use daos_testkit::{Options, TestSystem};
use daos_types::prop::{self, PropValue};
use daos_types::Der;
use std::collections::BTreeSet;
use std::ffi::{c_char, c_int, CString};
use std::ptr;
use std::sync::Arc;

const OO_RO: u32 = 2;
const OO_RW: u32 = 4;
const COND_PUNCH: u64 = 1;
const COND_KEY_INSERT: u64 = 2;
const COND_KEY_UPDATE: u64 = 4;
const COND_KEY_GET: u64 = 8;
const OT_MULTI_HASHED: c_int = 0;
const OT_KV_HASHED: c_int = 8;
const OT_ARRAY: c_int = 11;
const OT_ARRAY_BYTE: c_int = 13;
const TX_NONE: daos_handle_t = daos_handle_t { cookie: 0 };

fn der(d: Der) -> c_int {
    d.rc()
}

/// Runs calls blocking (`ev` NULL) or through an event on a queue, polled to completion.
struct Io {
    eq: Option<daos_handle_t>,
}

impl Io {
    /// Calls `f` with the event to use and returns the operation's result: the return code,
    /// or (event) the launch error or the event's `ev_error`.
    fn call(&self, f: impl FnOnce(*mut daos_event_t) -> c_int) -> c_int {
        let Some(eq) = self.eq else {
            return f(ptr::null_mut());
        };
        let mut ev = new_event();
        let evp: *mut daos_event_t = &mut *ev;
        // SAFETY: `ev` is boxed (it never moves) and outlives the operation, which is polled
        // to completion below.
        assert_eq!(unsafe { daos_event_init(evp, eq, ptr::null_mut()) }, 0);
        let launched = f(evp);
        if launched == 0 {
            let mut out = [ptr::null_mut(); 1];
            // SAFETY: `out` holds one slot.
            let n = unsafe { daos_eq_poll(eq, 0, -1, 1, out.as_mut_ptr()) };
            assert_eq!(n, 1, "daos_eq_poll returned {n}");
            assert_eq!(out[0], evp, "the polled event is not ours");
        }
        let rc = if launched == 0 { ev.ev_error } else { launched };
        // SAFETY: the event is initialised and not in flight.
        assert_eq!(unsafe { daos_event_fini(evp) }, 0);
        rc
    }

    fn name(&self) -> &'static str {
        if self.eq.is_some() {
            "event"
        } else {
            "blocking"
        }
    }
}

fn new_event() -> Box<daos_event_t> {
    Box::new(daos_event_t {
        ev_error: 0,
        ev_private: [0; 20],
        ev_debug: 0,
    })
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn iov(buf: &mut [u8]) -> d_iov_t {
    d_iov_t {
        iov_buf: buf.as_mut_ptr().cast(),
        iov_buf_len: buf.len(),
        iov_len: buf.len(),
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) | 1)
        .collect()
}

fn new_oid(coh: daos_handle_t, lo: u64, otype: c_int) -> daos_obj_id_t {
    let mut oid = daos_obj_id_t { lo, hi: 0 };
    let sx = cs("SX");
    // SAFETY: `sx` is a NUL-terminated string.
    let class = unsafe { daos_oclass_name2id(sx.as_ptr()) } as u32;
    // SAFETY: `oid` is a live local.
    let rc = unsafe { daos_obj_generate_oid2(coh, &mut oid, otype, class, 0, 0) };
    assert_eq!(rc, 0);
    oid
}

// ---------------------------------------------------------------------------------------------
// KV wrappers
// ---------------------------------------------------------------------------------------------

fn kv_open(io: &Io, coh: daos_handle_t, oid: daos_obj_id_t) -> Result<daos_handle_t, c_int> {
    let mut kh = daos_handle_t::default();
    let rc = io.call(|ev| {
        // SAFETY: `kh` outlives the call, which completes before `io.call` returns.
        unsafe { daos_kv_open(coh, oid, OO_RW, &mut kh, ev) }
    });
    if rc == 0 {
        Ok(kh)
    } else {
        Err(rc)
    }
}

fn kv_put(io: &Io, kh: daos_handle_t, flags: u64, key: &str, value: &[u8]) -> c_int {
    let key = cs(key);
    let buf = if value.is_empty() {
        ptr::null()
    } else {
        value.as_ptr().cast()
    };
    io.call(|ev| {
        // SAFETY: key and value outlive the call, which completes before `io.call` returns.
        unsafe {
            daos_kv_put(
                kh,
                TX_NONE,
                flags,
                key.as_ptr(),
                value.len() as u64,
                buf,
                ev,
            )
        }
    })
}

/// Gets `key` into a buffer of `capacity` bytes (`None`: size only). Returns the code, the
/// size reported, and the bytes read.
fn kv_get(
    io: &Io,
    kh: daos_handle_t,
    flags: u64,
    key: &str,
    capacity: Option<usize>,
) -> (c_int, u64, Vec<u8>) {
    let key = cs(key);
    let mut buf = vec![0xEEu8; capacity.unwrap_or(0)];
    // A size the call must overwrite.
    let mut size = capacity.map_or(12345, |c| c as u64);
    let bufp = if capacity.is_some() {
        buf.as_mut_ptr().cast()
    } else {
        ptr::null_mut()
    };
    let rc = io.call(|ev| {
        // SAFETY: key, size and buf outlive the call; buf holds `size` bytes.
        unsafe { daos_kv_get(kh, TX_NONE, flags, key.as_ptr(), &mut size, bufp, ev) }
    });
    let n = (size as usize).min(buf.len());
    buf.truncate(n);
    (rc, size, buf)
}

fn kv_remove(io: &Io, kh: daos_handle_t, flags: u64, key: &str) -> c_int {
    let key = cs(key);
    io.call(|ev| {
        // SAFETY: key outlives the call.
        unsafe { daos_kv_remove(kh, TX_NONE, flags, key.as_ptr(), ev) }
    })
}

/// Lists every key, `per_call` at a time into a `buf_len`-byte buffer, until the anchor is
/// at EOF.
fn kv_list_all(io: &Io, kh: daos_handle_t, per_call: u32, buf_len: usize) -> Vec<Vec<u8>> {
    let mut anchor = daos_anchor_t {
        da_type: 0,
        da_shard: 0,
        da_flags: 0,
        da_sub_anchors: 0,
        da_buf: [0; ANCHOR_BUF],
    };
    let mut keys = Vec::new();
    let mut rounds = 0;
    while anchor.da_type != DAOS_ANCHOR_TYPE_EOF {
        rounds += 1;
        assert!(rounds < 1000, "listing does not reach EOF");
        let mut nr = per_call;
        let mut kds = vec![daos_key_desc_t::default(); per_call as usize];
        let mut buf = vec![0u8; buf_len];
        let mut v = iov(&mut buf);
        let mut sgl = d_sg_list_t {
            sg_nr: 1,
            sg_nr_out: 0,
            sg_iovs: &mut v,
        };
        let rc = io.call(|ev| {
            // SAFETY: every pointer is a live local; kds holds `nr` entries.
            unsafe {
                daos_kv_list(
                    kh,
                    TX_NONE,
                    &mut nr,
                    kds.as_mut_ptr(),
                    &mut sgl,
                    &mut anchor,
                    ev,
                )
            }
        });
        assert_eq!(rc, 0);
        assert!(nr <= per_call);
        let mut at = 0usize;
        for kd in &kds[..nr as usize] {
            let len = kd.kd_key_len as usize;
            keys.push(buf[at..at + len].to_vec());
            at += len;
        }
    }
    keys
}

fn kv_close(io: &Io, kh: daos_handle_t) -> c_int {
    io.call(|ev| {
        // SAFETY: no pointers.
        unsafe { daos_kv_close(kh, ev) }
    })
}

// ---------------------------------------------------------------------------------------------
// Array wrappers
// ---------------------------------------------------------------------------------------------

fn array_create(
    io: &Io,
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    cell: u64,
    chunk: u64,
) -> Result<daos_handle_t, c_int> {
    let mut ah = daos_handle_t::default();
    let rc = io.call(|ev| {
        // SAFETY: `ah` outlives the call.
        unsafe { daos_array_create(coh, oid, TX_NONE, cell, chunk, &mut ah, ev) }
    });
    if rc == 0 {
        Ok(ah)
    } else {
        Err(rc)
    }
}

fn array_open(
    io: &Io,
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    mode: u32,
) -> Result<(daos_handle_t, u64, u64), c_int> {
    let (mut ah, mut cell, mut chunk) = (daos_handle_t::default(), 0u64, 0u64);
    let rc = io.call(|ev| {
        // SAFETY: the outputs outlive the call.
        unsafe { daos_array_open(coh, oid, TX_NONE, mode, &mut cell, &mut chunk, &mut ah, ev) }
    });
    if rc == 0 {
        Ok((ah, cell, chunk))
    } else {
        Err(rc)
    }
}

fn array_open_attr(
    io: &Io,
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    mode: u32,
    cell: u64,
    chunk: u64,
) -> Result<daos_handle_t, c_int> {
    let mut ah = daos_handle_t::default();
    let rc = io.call(|ev| {
        // SAFETY: `ah` outlives the call.
        unsafe { daos_array_open_with_attr(coh, oid, TX_NONE, mode, cell, chunk, &mut ah, ev) }
    });
    if rc == 0 {
        Ok(ah)
    } else {
        Err(rc)
    }
}

fn empty_iod() -> daos_array_iod_t {
    daos_array_iod_t {
        arr_nr: 0,
        arr_rgs: ptr::null_mut(),
        arr_nr_short_read: 0,
        arr_nr_read: 0,
    }
}

/// Reads or writes `ranges` (cells) from/into `bufs`, one iov each. Returns the code and the
/// iod's read counts `(arr_nr_read, arr_nr_short_read)`.
fn array_rw(
    io: &Io,
    ah: daos_handle_t,
    write: bool,
    ranges: &[(u64, u64)],
    bufs: &mut [Vec<u8>],
) -> (c_int, u64, u64) {
    let mut rgs: Vec<daos_range_t> = ranges
        .iter()
        .map(|&(rg_idx, rg_len)| daos_range_t { rg_idx, rg_len })
        .collect();
    let mut aiod = daos_array_iod_t {
        arr_nr: rgs.len() as u64,
        arr_rgs: rgs.as_mut_ptr(),
        arr_nr_short_read: 777,
        arr_nr_read: 777,
    };
    let mut iovs: Vec<d_iov_t> = bufs.iter_mut().map(|b| iov(b)).collect();
    let mut sgl = d_sg_list_t {
        sg_nr: iovs.len() as u32,
        sg_nr_out: 0,
        sg_iovs: iovs.as_mut_ptr(),
    };
    let rc = io.call(|ev| {
        // SAFETY: ranges, iovs, buffers and the iod outlive the call.
        unsafe {
            if write {
                daos_array_write(ah, TX_NONE, &mut aiod, &mut sgl, ev)
            } else {
                daos_array_read(ah, TX_NONE, &mut aiod, &mut sgl, ev)
            }
        }
    });
    (rc, aiod.arr_nr_read, aiod.arr_nr_short_read)
}

/// Writes `data` at cell `at`, split into iovs of the given byte sizes (the rest last).
fn array_write(io: &Io, ah: daos_handle_t, cell: u64, at: u64, data: &[u8], splits: &[usize]) {
    let mut bufs = Vec::new();
    let mut rest = data;
    for &n in splits {
        let n = n.min(rest.len());
        bufs.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    bufs.push(rest.to_vec());
    let cells = data.len() as u64 / cell;
    let (rc, _, _) = array_rw(io, ah, true, &[(at, cells)], &mut bufs);
    assert_eq!(rc, 0, "array write at {at} of {cells} cells");
}

/// Reads `cells` cells at `at` into two iovs (split at `split` bytes), pre-filled with 0xEE.
fn array_read(io: &Io, ah: daos_handle_t, cell: u64, at: u64, cells: u64, split: usize) -> Vec<u8> {
    let bytes = (cells * cell) as usize;
    let split = split.min(bytes);
    let mut bufs = vec![vec![0xEE; split], vec![0xEE; bytes - split]];
    let (rc, _, _) = array_rw(io, ah, false, &[(at, cells)], &mut bufs);
    assert_eq!(rc, 0, "array read at {at} of {cells} cells");
    bufs.concat()
}

fn array_size(io: &Io, ah: daos_handle_t) -> u64 {
    let mut size = u64::MAX;
    let rc = io.call(|ev| {
        // SAFETY: `size` outlives the call.
        unsafe { daos_array_get_size(ah, TX_NONE, &mut size, ev) }
    });
    assert_eq!(rc, 0);
    size
}

fn array_set_size(io: &Io, ah: daos_handle_t, size: u64) {
    let rc = io.call(|ev| {
        // SAFETY: no pointers.
        unsafe { daos_array_set_size(ah, TX_NONE, size, ev) }
    });
    assert_eq!(rc, 0, "set_size {size}");
}

fn array_punch(io: &Io, ah: daos_handle_t, ranges: &[(u64, u64)]) -> c_int {
    let mut rgs: Vec<daos_range_t> = ranges
        .iter()
        .map(|&(rg_idx, rg_len)| daos_range_t { rg_idx, rg_len })
        .collect();
    let mut aiod = daos_array_iod_t {
        arr_nr: rgs.len() as u64,
        arr_rgs: rgs.as_mut_ptr(),
        ..empty_iod()
    };
    io.call(|ev| {
        // SAFETY: the iod and its ranges outlive the call.
        unsafe { daos_array_punch(ah, TX_NONE, &mut aiod, ev) }
    })
}

fn array_stat(io: &Io, ah: daos_handle_t) -> daos_array_stbuf_t {
    let mut st = daos_array_stbuf_t {
        st_size: u64::MAX,
        st_max_epoch: u64::MAX,
    };
    let rc = io.call(|ev| {
        // SAFETY: `st` outlives the call.
        unsafe { daos_array_stat(ah, TX_NONE, &mut st, ev) }
    });
    assert_eq!(rc, 0);
    st
}

fn array_close(io: &Io, ah: daos_handle_t) -> c_int {
    io.call(|ev| {
        // SAFETY: no pointers.
        unsafe { daos_array_close(ah, ev) }
    })
}

fn array_destroy(io: &Io, ah: daos_handle_t) -> c_int {
    io.call(|ev| {
        // SAFETY: no pointers.
        unsafe { daos_array_destroy(ah, TX_NONE, ev) }
    })
}

// ---------------------------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------------------------

fn kv_suite(io: &Io, coh: daos_handle_t, lo: u64) {
    let what = io.name();
    let oid = new_oid(coh, lo, OT_KV_HASHED);
    let kh = kv_open(io, coh, oid).unwrap();

    assert_eq!(kv_put(io, kh, 0, "key1", b"value-1"), 0, "{what}");
    // Size only (buf NULL).
    assert_eq!(kv_get(io, kh, 0, "key1", None), (0, 7, vec![]));
    // Too small: -DER_REC2BIG and the size needed.
    let (rc, size, _) = kv_get(io, kh, 0, "key1", Some(3));
    assert_eq!((rc, size), (der(Der::Rec2big), 7));
    assert_eq!(
        kv_get(io, kh, 0, "key1", Some(64)),
        (0, 7, b"value-1".to_vec())
    );
    assert_eq!(
        kv_get(io, kh, 0, "key1", Some(7)),
        (0, 7, b"value-1".to_vec())
    );

    // Conditions.
    assert_eq!(
        kv_put(io, kh, COND_KEY_INSERT, "key1", b"abc"),
        der(Der::Exist)
    );
    assert_eq!(kv_put(io, kh, COND_KEY_INSERT, "key2", b"abc"), 0);
    assert_eq!(
        kv_put(io, kh, COND_KEY_UPDATE, "nokey", b"abc"),
        der(Der::Nonexist)
    );
    assert_eq!(kv_put(io, kh, COND_KEY_UPDATE, "key2", b"abcd"), 0);
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "nokey", Some(64)).0,
        der(Der::Nonexist)
    );
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "key2", Some(64)),
        (0, 4, b"abcd".to_vec())
    );
    // A missing key without a condition: size 0.
    assert_eq!(kv_get(io, kh, 0, "nokey", Some(64)), (0, 0, vec![]));
    assert_eq!(kv_get(io, kh, 0, "nokey", None), (0, 0, vec![]));
    // The value did not change on failed conditions.
    assert_eq!(kv_get(io, kh, 0, "key1", Some(64)).2, b"value-1".to_vec());

    // Zero-length values: stored, present, and read back as size 0.
    assert_eq!(kv_put(io, kh, 0, "empty", b""), 0);
    assert_eq!(kv_get(io, kh, 0, "empty", Some(64)), (0, 0, vec![]));
    assert_eq!(kv_get(io, kh, 0, "empty", None), (0, 0, vec![]));
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "empty", Some(64)),
        (0, 0, vec![])
    );
    assert_eq!(
        kv_put(io, kh, COND_KEY_INSERT, "empty", b"x"),
        der(Der::Exist)
    );
    assert_eq!(kv_put(io, kh, COND_KEY_UPDATE, "empty", b""), 0);
    // Empty → value → empty again; a non-NULL buffer with size 0 is a zero-length value too.
    assert_eq!(kv_put(io, kh, 0, "flip", b""), 0);
    assert_eq!(kv_put(io, kh, 0, "flip", b"full"), 0);
    assert_eq!(kv_get(io, kh, 0, "flip", Some(8)), (0, 4, b"full".to_vec()));
    let key = cs("flip");
    let rc = io.call(|ev| {
        // SAFETY: key and the (unused) buffer outlive the call.
        unsafe {
            daos_kv_put(
                kh,
                TX_NONE,
                0,
                key.as_ptr(),
                0,
                b"ignored".as_ptr().cast(),
                ev,
            )
        }
    });
    assert_eq!(rc, 0);
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "flip", Some(8)),
        (0, 0, vec![])
    );

    // Remove.
    assert_eq!(kv_remove(io, kh, 0, "key2"), 0);
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "key2", Some(64)).0,
        der(Der::Nonexist)
    );
    assert_eq!(kv_remove(io, kh, COND_PUNCH, "key2"), der(Der::Nonexist));
    assert_eq!(kv_remove(io, kh, 0, "key2"), 0, "removing a missing key");
    assert_eq!(kv_put(io, kh, 0, "key3", b"x"), 0);
    assert_eq!(kv_remove(io, kh, COND_PUNCH, "key3"), 0);
    assert_eq!(kv_remove(io, kh, 0, "flip"), 0);
    assert_eq!(
        kv_get(io, kh, COND_KEY_GET, "flip", Some(8)).0,
        der(Der::Nonexist)
    );

    // List every key with an anchor, a few per call, to EOF.
    let mut expect: BTreeSet<Vec<u8>> = [b"key1".to_vec(), b"empty".to_vec()].into();
    for i in 0..30 {
        let k = format!("kv_{i:02}");
        assert_eq!(kv_put(io, kh, 0, &k, format!("value of {i}").as_bytes()), 0);
        expect.insert(k.into_bytes());
    }
    let listed = kv_list_all(io, kh, 7, 2048);
    assert_eq!(
        listed.len(),
        expect.len(),
        "{what}: a key listed twice or missed"
    );
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expect);
    // One key per call, into a buffer just large enough.
    assert_eq!(kv_list_all(io, kh, 1, 5).len(), expect.len());
    assert_eq!(
        kv_get(io, kh, 0, "kv_17", Some(64)),
        (0, 11, b"value of 17".to_vec())
    );

    // A buffer too small for any key: -DER_KEY2BIG with the size needed in kds[0].
    let mut nr = 4u32;
    let mut kds = [daos_key_desc_t::default(); 4];
    let mut tiny = [0u8; 2];
    let mut v = iov(&mut tiny);
    let mut sgl = d_sg_list_t {
        sg_nr: 1,
        sg_nr_out: 0,
        sg_iovs: &mut v,
    };
    let mut anchor = daos_anchor_t {
        da_type: 0,
        da_shard: 0,
        da_flags: 0,
        da_sub_anchors: 0,
        da_buf: [0; ANCHOR_BUF],
    };
    let rc = io.call(|ev| {
        // SAFETY: live locals; kds holds `nr` entries.
        unsafe {
            daos_kv_list(
                kh,
                TX_NONE,
                &mut nr,
                kds.as_mut_ptr(),
                &mut sgl,
                &mut anchor,
                ev,
            )
        }
    });
    assert_eq!(rc, der(Der::Key2big));
    assert!(kds[0].kd_key_len > 2);

    // Destroy punches every key; the handle stays usable until closed.
    let rc = io.call(|ev| {
        // SAFETY: no pointers.
        unsafe { daos_kv_destroy(kh, TX_NONE, ev) }
    });
    assert_eq!(rc, 0);
    assert_eq!(kv_get(io, kh, 0, "key1", Some(64)), (0, 0, vec![]));
    assert!(kv_list_all(io, kh, 7, 2048).is_empty());
    assert_eq!(kv_close(io, kh), 0);
    assert_eq!(kv_close(io, kh), der(Der::NoHdl));
    assert_eq!(kv_put(io, kh, 0, "k", b"x"), der(Der::NoHdl));
}

/// Many puts and gets in flight on one queue at once (pydaos's `bput`/`bget`).
fn kv_batch(eq: daos_handle_t, coh: daos_handle_t, lo: u64) {
    const N: usize = 24;
    let io = Io { eq: Some(eq) };
    let kh = kv_open(&io, coh, new_oid(coh, lo, OT_KV_HASHED)).unwrap();
    let keys: Vec<CString> = (0..N).map(|i| cs(&format!("batch-{i}"))).collect();
    let values: Vec<Vec<u8>> = (0..N).map(|i| pattern(100 + i * 700, i as u8)).collect();
    let mut events: Vec<Box<daos_event_t>> = (0..N).map(|_| new_event()).collect();
    let wait_all = |events: &Vec<Box<daos_event_t>>| {
        let mut seen = BTreeSet::new();
        while seen.len() < N {
            let mut out = [ptr::null_mut(); N];
            // SAFETY: `out` holds N slots.
            let n = unsafe { daos_eq_poll(eq, 1, -1, N as u32, out.as_mut_ptr()) };
            assert!(n > 0, "poll returned {n}");
            for ev in &out[..n as usize] {
                let i = events
                    .iter()
                    .position(|e| ptr::eq(&**e, *ev))
                    .expect("a polled event is one of ours");
                assert_eq!(events[i].ev_error, 0, "operation {i}");
                assert!(seen.insert(i));
            }
        }
    };
    for i in 0..N {
        let evp: *mut daos_event_t = &mut *events[i];
        // SAFETY: boxed events, keys and values outlive the operations (polled below).
        unsafe {
            assert_eq!(daos_event_init(evp, eq, ptr::null_mut()), 0);
            let rc = daos_kv_put(
                kh,
                TX_NONE,
                0,
                keys[i].as_ptr(),
                values[i].len() as u64,
                values[i].as_ptr().cast(),
                evp,
            );
            assert_eq!(rc, 0);
        }
    }
    wait_all(&events);
    let mut bufs: Vec<Vec<u8>> = (0..N).map(|_| vec![0u8; 32 * 1024]).collect();
    let mut sizes: Vec<u64> = vec![32 * 1024; N];
    for i in 0..N {
        let evp: *mut daos_event_t = &mut *events[i];
        let (buf, size) = (bufs[i].as_mut_ptr(), &mut sizes[i] as *mut u64);
        // SAFETY: completed events are reusable; buffers and sizes outlive the operations.
        let rc = unsafe { daos_kv_get(kh, TX_NONE, 0, keys[i].as_ptr(), size, buf.cast(), evp) };
        assert_eq!(rc, 0);
    }
    wait_all(&events);
    for i in 0..N {
        assert_eq!(sizes[i], values[i].len() as u64);
        assert_eq!(&bufs[i][..values[i].len()], &values[i][..]);
        // SAFETY: the event is initialised and completed.
        assert_eq!(unsafe { daos_event_fini(&mut *events[i]) }, 0);
    }
    assert_eq!(kv_close(&io, kh), 0);
}

/// A byte model of an array: what every read must return.
struct Model {
    cell: u64,
    bytes: Vec<u8>,
}

impl Model {
    fn cells(&self) -> u64 {
        self.bytes.len() as u64 / self.cell
    }
    fn write(&mut self, at: u64, data: &[u8]) {
        let start = (at * self.cell) as usize;
        if self.bytes.len() < start + data.len() {
            self.bytes.resize(start + data.len(), 0);
        }
        self.bytes[start..start + data.len()].copy_from_slice(data);
    }
    fn punch(&mut self, at: u64, cells: u64) {
        let start = ((at * self.cell) as usize).min(self.bytes.len());
        let end = (((at + cells) * self.cell) as usize).min(self.bytes.len());
        self.bytes[start..end].fill(0);
    }
    fn set_size(&mut self, cells: u64) {
        self.bytes.resize((cells * self.cell) as usize, 0);
    }
    /// Checks size and content (read in one call, into two iovs).
    fn check(&self, io: &Io, ah: daos_handle_t, step: &str) {
        assert_eq!(
            array_size(io, ah),
            self.cells(),
            "{}: size after {step}",
            io.name()
        );
        let back = array_read(io, ah, self.cell, 0, self.cells(), 12345);
        if let Some(i) = back.iter().zip(&self.bytes).position(|(a, b)| a != b) {
            panic!(
                "{}: after {step}, byte {i} is {:#x}, expected {:#x}",
                io.name(),
                back[i],
                self.bytes[i]
            );
        }
    }
}

fn array_suite(io: &Io, coh: daos_handle_t, lo: u64) {
    const CELL: u64 = 4;
    const CHUNK: u64 = 8192; // cells: 32 KiB per dkey, so chunk I/O goes by bulk transfer
    let oid = new_oid(coh, lo, OT_ARRAY);

    // Never created: nothing to open.
    assert_eq!(
        array_open(io, coh, oid, OO_RW).unwrap_err(),
        der(Der::Nonexist)
    );
    let ah = array_create(io, coh, oid, CELL, CHUNK).unwrap();
    assert_eq!(
        array_create(io, coh, oid, CELL, CHUNK).unwrap_err(),
        der(Der::Exist)
    );
    let mut model = Model {
        cell: CELL,
        bytes: Vec::new(),
    };
    model.check(io, ah, "create");

    // 2 full chunks and part of a third, from three iovs whose edges split cells.
    let n = 2 * CHUNK + 3000;
    let data = pattern((n * CELL) as usize, 7);
    array_write(io, ah, CELL, 0, &data, &[1001, 40_003]);
    model.write(0, &data);
    model.check(io, ah, "write across chunks");

    // Several ranges in one call, each straddling a chunk boundary; short-read counts.
    let ranges = [(CHUNK - 10, 20), (2 * CHUNK - 5, 10), (3, 2)];
    let mut bufs = vec![vec![0u8; 50], vec![0u8; 78]];
    let (rc, read, short) = array_rw(io, ah, false, &ranges, &mut bufs);
    assert_eq!((rc, read, short), (0, 32, 0));
    let got = bufs.concat();
    let mut want = Vec::new();
    for (at, len) in ranges {
        want.extend_from_slice(&model.bytes[(at * CELL) as usize..((at + len) * CELL) as usize]);
    }
    assert_eq!(got, want);

    // A hole: cells written past the end; the gap reads as zeros.
    let far = pattern((10 * CELL) as usize, 99);
    array_write(io, ah, CELL, n + 5000, &far, &[]);
    model.write(n + 5000, &far);
    model.check(io, ah, "write past a hole");
    let st = array_stat(io, ah);
    assert_eq!(st.st_size, n + 5010);

    // Punches: part of a chunk, then a whole chunk; the size stays.
    assert_eq!(array_punch(io, ah, &[(100, 200)]), 0);
    model.punch(100, 200);
    model.check(io, ah, "punch inside a chunk");
    assert_eq!(array_punch(io, ah, &[(CHUNK, CHUNK), (CHUNK - 1, 1)]), 0);
    model.punch(CHUNK, CHUNK);
    model.punch(CHUNK - 1, 1);
    model.check(io, ah, "punch a whole chunk");

    // set_size: shrink onto data, shrink onto a hole, extend, to zero.
    array_set_size(io, ah, 2 * CHUNK + 100);
    model.set_size(2 * CHUNK + 100);
    model.check(io, ah, "shrink onto data");
    array_set_size(io, ah, CHUNK + 10);
    model.set_size(CHUNK + 10);
    model.check(io, ah, "shrink onto a hole");
    array_set_size(io, ah, 3 * CHUNK + 7);
    model.set_size(3 * CHUNK + 7);
    model.check(io, ah, "extend");
    assert_eq!(array_stat(io, ah).st_size, 3 * CHUNK + 7);
    array_set_size(io, ah, 3 * CHUNK + 7);
    model.check(io, ah, "set the same size");

    // A punch over more chunks than are punched one by one: only existing chunks are visited.
    let bit = pattern(CELL as usize, 3);
    array_write(io, ah, CELL, 100 * CHUNK + 1, &bit, &[]);
    model.write(100 * CHUNK + 1, &bit);
    array_write(io, ah, CELL, 1000 * CHUNK, &bit, &[]);
    assert_eq!(array_size(io, ah), 1000 * CHUNK + 1);
    assert_eq!(array_punch(io, ah, &[(50 * CHUNK, 951 * CHUNK)]), 0);
    model.punch(50 * CHUNK, 951 * CHUNK);
    model.set_size(3 * CHUNK + 7);
    model.check(io, ah, "a punch across 951 chunks");

    // Zero-length I/O is fine; memory that does not match the ranges is not.
    let mut none: Vec<Vec<u8>> = Vec::new();
    assert_eq!(array_rw(io, ah, true, &[], &mut none).0, 0);
    assert_eq!(array_rw(io, ah, false, &[(0, 0)], &mut none).0, 0);
    let mut short_buf = vec![vec![0u8; 7]];
    assert_eq!(
        array_rw(io, ah, true, &[(0, 2)], &mut short_buf).0,
        der(Der::Inval)
    );

    // Attributes come back from the object.
    let (mut chunk_out, mut cell_out) = (0u64, 0u64);
    // SAFETY: live locals.
    let rc = unsafe { daos_array_get_attr(ah, &mut chunk_out, &mut cell_out) };
    assert_eq!(rc, 0);
    assert_eq!((cell_out, chunk_out), (CELL, CHUNK));
    assert_eq!(array_close(io, ah), 0);
    assert_eq!(array_close(io, ah), der(Der::NoHdl));

    let (ah, cell, chunk) = array_open(io, coh, oid, OO_RW).unwrap();
    assert_eq!((cell, chunk), (CELL, CHUNK));
    model.check(io, ah, "reopen");
    // A read-only open reads but does not write.
    let (ro, _, _) = array_open(io, coh, oid, OO_RO).unwrap();
    model.check(io, ro, "read-only open");
    let mut one = vec![vec![0u8; CELL as usize]];
    assert_eq!(
        array_rw(io, ro, true, &[(0, 1)], &mut one).0,
        der(Der::NoPerm)
    );
    assert_eq!(array_close(io, ro), 0);

    // Destroy removes data and metadata; the handle stays open.
    assert_eq!(array_destroy(io, ah), 0);
    assert_eq!(array_size(io, ah), 0);
    assert_eq!(array_close(io, ah), 0);
    assert_eq!(
        array_open(io, coh, oid, OO_RW).unwrap_err(),
        der(Der::Nonexist)
    );
    // ... and the array can be created again.
    let ah = array_create(io, coh, oid, 1, 16).unwrap();
    assert_eq!(array_close(io, ah), 0);

    // A byte array: attributes from the caller; short reads counted against its size.
    let boid = new_oid(coh, lo + 1, OT_ARRAY_BYTE);
    assert_eq!(
        array_open(io, coh, boid, OO_RW).unwrap_err(),
        der(Der::Inval)
    );
    assert_eq!(
        array_open_attr(io, coh, oid, OO_RW, 1, 4096).unwrap_err(),
        der(Der::Inval)
    );
    let bh = array_open_attr(io, coh, boid, OO_RW, 1, 4096).unwrap();
    let bytes = pattern(10_000, 11);
    array_write(io, bh, 1, 5000, &bytes, &[4000]);
    assert_eq!(array_size(io, bh), 15_000);
    let mut bufs = vec![vec![0xEE; 12_000], vec![0xEE; 8_000]];
    let (rc, read, short) = array_rw(io, bh, false, &[(0, 20_000)], &mut bufs);
    assert_eq!((rc, read, short), (0, 15_000, 5_000));
    let got = bufs.concat();
    assert!(got[..5000].iter().all(|&b| b == 0), "hole before the data");
    assert_eq!(&got[5000..15_000], &bytes[..]);
    assert_eq!(array_close(io, bh), 0);
}

/// Bad arguments and wrong handle kinds (blocking).
fn bad_input(coh: daos_handle_t, lo: u64) {
    let io = Io { eq: None };
    let kh = kv_open(&io, coh, new_oid(coh, lo, OT_KV_HASHED)).unwrap();
    assert_eq!(
        kv_open(&io, coh, new_oid(coh, lo + 1, OT_MULTI_HASHED)).unwrap_err(),
        der(Der::Inval)
    );
    let oid = new_oid(coh, lo + 2, OT_KV_HASHED);
    // SAFETY: NULL `oh` is what is tested.
    let rc = unsafe { daos_kv_open(coh, oid, OO_RW, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, der(Der::Inval));
    let k = cs("k");
    let empty = cs("");
    // SAFETY: NULL and empty keys, NULL buffers are what is tested; the rest are live locals.
    unsafe {
        let put = |key: *const c_char, size: u64, buf: *const u8, flags: u64| {
            daos_kv_put(kh, TX_NONE, flags, key, size, buf.cast(), ptr::null_mut())
        };
        assert_eq!(put(ptr::null(), 1, b"x".as_ptr(), 0), der(Der::Inval));
        assert_eq!(put(empty.as_ptr(), 1, b"x".as_ptr(), 0), der(Der::Inval));
        assert_eq!(put(k.as_ptr(), 5, ptr::null(), 0), der(Der::Inval));
        assert_eq!(
            put(k.as_ptr(), 1, b"x".as_ptr(), COND_KEY_GET),
            der(Der::Inval)
        );
        let big = cs(&"q".repeat(100_000));
        assert_eq!(put(big.as_ptr(), 1, b"x".as_ptr(), 0), der(Der::Key2big));
        let rc = daos_kv_put(
            kh,
            daos_handle_t { cookie: 0x1234 },
            0,
            k.as_ptr(),
            1,
            b"x".as_ptr().cast(),
            ptr::null_mut(),
        );
        assert_eq!(rc, der(Der::NoHdl), "transactions are not supported");
        let mut buf = [0u8; 8];
        let rc = daos_kv_get(
            kh,
            TX_NONE,
            0,
            k.as_ptr(),
            ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            ptr::null_mut(),
        );
        assert_eq!(rc, der(Der::Inval));
        assert_eq!(
            daos_kv_remove(kh, TX_NONE, 0, ptr::null(), ptr::null_mut()),
            der(Der::Inval)
        );
        let mut kds = [daos_key_desc_t::default(); 2];
        let mut sgl = d_sg_list_t {
            sg_nr: 0,
            sg_nr_out: 0,
            sg_iovs: ptr::null_mut(),
        };
        let rc = daos_kv_list(
            kh,
            TX_NONE,
            ptr::null_mut(),
            kds.as_mut_ptr(),
            &mut sgl,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, der(Der::Inval));
        // A KV handle is not an object or array handle, and the reverse.
        assert_eq!(daos_obj_close(kh, ptr::null_mut()), der(Der::NoHdl));
        let mut size = 0u64;
        assert_eq!(
            daos_array_get_size(kh, TX_NONE, &mut size, ptr::null_mut()),
            der(Der::NoHdl)
        );
    }

    // Arrays.
    assert_eq!(
        array_create(&io, coh, new_oid(coh, lo + 3, OT_MULTI_HASHED), 1, 1024).unwrap_err(),
        der(Der::Inval)
    );
    let aoid = new_oid(coh, lo + 4, OT_ARRAY);
    assert_eq!(
        array_create(&io, coh, aoid, 0, 1024).unwrap_err(),
        der(Der::Inval)
    );
    assert_eq!(
        array_create(&io, coh, aoid, 1, 0).unwrap_err(),
        der(Der::Inval)
    );
    assert_eq!(
        array_create(&io, coh, aoid, u64::MAX, 2).unwrap_err(),
        der(Der::Inval)
    );
    // SAFETY: NULL outputs are what is tested.
    unsafe {
        let rc = daos_array_create(
            coh,
            aoid,
            TX_NONE,
            1,
            1024,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, der(Der::Inval));
    }
    let ah = array_create(&io, coh, aoid, 1, 1024).unwrap();
    assert_eq!(kv_put(&io, ah, 0, "k", b"x"), der(Der::NoHdl));
    let mut buf = [0u8; 16];
    let mut v = iov(&mut buf);
    let mut sgl = d_sg_list_t {
        sg_nr: 1,
        sg_nr_out: 0,
        sg_iovs: &mut v,
    };
    let mut rg = daos_range_t {
        rg_idx: 0,
        rg_len: 16,
    };
    let mut aiod = daos_array_iod_t {
        arr_nr: 1,
        arr_rgs: &mut rg,
        ..empty_iod()
    };
    // SAFETY: NULL arguments are what is tested; the rest are live locals.
    unsafe {
        assert_eq!(
            daos_array_read(ah, TX_NONE, ptr::null_mut(), &mut sgl, ptr::null_mut()),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_write(ah, TX_NONE, &mut aiod, ptr::null_mut(), ptr::null_mut()),
            der(Der::Inval)
        );
        aiod.arr_rgs = ptr::null_mut();
        assert_eq!(
            daos_array_write(ah, TX_NONE, &mut aiod, &mut sgl, ptr::null_mut()),
            der(Der::Inval)
        );
        aiod.arr_rgs = &mut rg;
        (*aiod.arr_rgs).rg_idx = u64::MAX - 3;
        assert_eq!(
            daos_array_write(ah, TX_NONE, &mut aiod, &mut sgl, ptr::null_mut()),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_punch(ah, TX_NONE, &mut aiod, ptr::null_mut()),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_get_size(ah, TX_NONE, ptr::null_mut(), ptr::null_mut()),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_stat(ah, TX_NONE, ptr::null_mut(), ptr::null_mut()),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_set_size(ah, daos_handle_t { cookie: 0x1234 }, 0, ptr::null_mut()),
            der(Der::NoHdl)
        );
        let mut x = 0u64;
        assert_eq!(
            daos_array_get_attr(ah, ptr::null_mut(), &mut x),
            der(Der::Inval)
        );
        assert_eq!(daos_kv_close(ah, ptr::null_mut()), der(Der::NoHdl));
        let (mut cell, mut chunk, mut h) = (0u64, 0u64, daos_handle_t::default());
        assert_eq!(
            daos_array_open(
                coh,
                aoid,
                TX_NONE,
                OO_RW,
                ptr::null_mut(),
                &mut chunk,
                &mut h,
                ptr::null_mut()
            ),
            der(Der::Inval)
        );
        assert_eq!(
            daos_array_open(
                coh,
                aoid,
                TX_NONE,
                OO_RW,
                &mut cell,
                &mut chunk,
                ptr::null_mut(),
                ptr::null_mut()
            ),
            der(Der::Inval)
        );
    }
    assert_eq!(array_close(&io, ah), 0);
    assert_eq!(array_size_rc(ah), der(Der::NoHdl));
    assert_eq!(kv_close(&io, kh), 0);
}

fn array_size_rc(ah: daos_handle_t) -> c_int {
    let mut size = 0u64;
    // SAFETY: `size` is a live local.
    unsafe { daos_array_get_size(ah, TX_NONE, &mut size, ptr::null_mut()) }
}

/// An array handle shared as bytes (`local2global` / `global2local`).
fn global_handles(coh: daos_handle_t, lo: u64) {
    let io = Io { eq: None };
    let oid = new_oid(coh, lo, OT_ARRAY);
    let ah = array_create(&io, coh, oid, 2, 100).unwrap();
    let data = pattern(2 * 250, 5);
    array_write(&io, ah, 2, 0, &data, &[]);
    let mut glob = d_iov_t {
        iov_buf: ptr::null_mut(),
        iov_buf_len: 0,
        iov_len: 0,
    };
    // SAFETY: `glob` is a live local; first pass with a NULL buffer asks for the size.
    assert_eq!(unsafe { daos_array_local2global(ah, &mut glob) }, 0);
    assert!(glob.iov_buf_len > 0);
    let mut bytes = vec![0u8; glob.iov_buf_len];
    let mut small = [0u8; 4];
    let mut short = iov(&mut small);
    // SAFETY: as above, with a buffer of `iov_buf_len` bytes.
    let rc = unsafe { daos_array_local2global(ah, &mut short) };
    assert_eq!(rc, der(Der::Trunc));
    glob = iov(&mut bytes);
    // SAFETY: as above.
    assert_eq!(unsafe { daos_array_local2global(ah, &mut glob) }, 0);
    let mut copy = daos_handle_t::default();
    // SAFETY: `glob` describes `bytes`; `copy` is a live local.
    let rc = unsafe { daos_array_global2local(coh, glob, 0, &mut copy) };
    assert_eq!(rc, 0);
    assert_ne!(copy, ah);
    assert_eq!(array_size(&io, copy), 250);
    assert_eq!(array_read(&io, copy, 2, 0, 250, 77), data);
    let (mut chunk, mut cell) = (0u64, 0u64);
    // SAFETY: live locals.
    let rc = unsafe { daos_array_get_attr(copy, &mut chunk, &mut cell) };
    assert_eq!(rc, 0);
    assert_eq!((cell, chunk), (2, 100));
    assert_eq!(array_close(&io, copy), 0);
    // A read-only copy cannot write.
    // SAFETY: as above.
    let rc = unsafe { daos_array_global2local(coh, glob, OO_RO, &mut copy) };
    assert_eq!(rc, 0);
    let mut one = vec![vec![0u8; 2]];
    assert_eq!(
        array_rw(&io, copy, true, &[(0, 1)], &mut one).0,
        der(Der::NoPerm)
    );
    assert_eq!(array_close(&io, copy), 0);
    // Damaged bytes are refused.
    bytes[9] ^= 0xFF;
    let glob = iov(&mut bytes);
    // SAFETY: as above.
    let rc = unsafe { daos_array_global2local(coh, glob, 0, &mut copy) };
    assert_eq!(rc, der(Der::Inval));
    assert_eq!(array_close(&io, ah), 0);
}

/// A DFS file is a byte array: what DFS wrote reads the same through `daos_array_*`, and
/// the reverse.
fn dfs_file_as_byte_array(system: &TestSystem, pool_label: &str, poh: daos_handle_t) {
    const CHUNK: u64 = 64 * 1024;
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, pool_label, daos_client::pool::PC_RW).await)
        .unwrap();
    let mut attr = Attr {
        chunk_size: CHUNK,
        ..Attr::default()
    };
    attr.props.set(prop::CO_LABEL, PropValue::Text("fs".into()));
    let dfs_err = |e: daos_dfs::DfsError| daos_types::Error::new(Der::Misc, e.to_string());
    client
        .run(async |net| {
            Dfs::create_container(&pool, net, None, attr)
                .await
                .map_err(dfs_err)
        })
        .unwrap();
    let cont: Arc<Container> = client
        .run(async |net| Container::open(&pool, net, "fs", daos_client::cont::COO_RW).await)
        .unwrap();
    let dfs = client
        .run(async |net| Dfs::mount(&cont, net, O_RDWR).await.map_err(dfs_err))
        .unwrap();
    let root = dfs.root().clone();
    let file = client
        .run(async |net| {
            dfs.open(
                net,
                &root,
                b"file",
                mode::S_IFREG | 0o644,
                O_CREAT | O_RDWR,
                0,
                0,
                None,
            )
            .await
            .map_err(dfs_err)
        })
        .unwrap();
    let data = pattern(200 * 1024 + 17, 21);
    client
        .run(async |net| {
            dfs.write(net, &file, 0, SgList::from_vec(data.clone()))
                .await
                .map_err(dfs_err)
        })
        .unwrap();

    let io = Io { eq: None };
    let label = cs("fs");
    let mut coh = daos_handle_t::default();
    // SAFETY: live locals.
    let rc = unsafe {
        daos_cont_open2(
            poh,
            label.as_ptr(),
            2,
            &mut coh,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0);
    let oid = file.oid();
    let oid = daos_obj_id_t {
        lo: oid.lo,
        hi: oid.hi,
    };
    let ah = array_open_attr(&io, coh, oid, OO_RW, 1, CHUNK).unwrap();
    assert_eq!(array_size(&io, ah), data.len() as u64);
    assert_eq!(array_read(&io, ah, 1, 0, data.len() as u64, 70_000), data);
    // Written through the array, read through DFS.
    let more = pattern(10_000, 33);
    array_write(&io, ah, 1, data.len() as u64, &more, &[3333]);
    let size = client
        .run(async |net| dfs.get_size(net, &file).await.map_err(dfs_err))
        .unwrap();
    assert_eq!(size, (data.len() + more.len()) as u64);
    let (n, back) = client
        .run(async |net| {
            dfs.read(
                net,
                &file,
                data.len() as u64,
                SgList::from_vec(vec![0; more.len()]),
            )
            .await
            .map_err(dfs_err)
        })
        .unwrap();
    assert_eq!(n, more.len() as u64);
    assert_eq!(back.into_vecs().unwrap().pop().unwrap(), more);
    // Truncated through the array, seen by DFS.
    array_set_size(&io, ah, 1000);
    let size = client
        .run(async |net| dfs.get_size(net, &file).await.map_err(dfs_err))
        .unwrap();
    assert_eq!(size, 1000);
    assert_eq!(array_close(&io, ah), 0);
    // SAFETY: no pointers.
    assert_eq!(unsafe { daos_cont_close(coh, ptr::null_mut()) }, 0);
}

#[test]
fn kv_and_arrays_through_the_c_api() {
    let system = TestSystem::start(Options::default());
    system.create_pool("tank", "1G");
    // The library finds the agent through the environment, as a C program does; this is the
    // only test in this binary, so no other thread reads the environment meanwhile.
    std::env::set_var("DAOS_AGENT_DRPC_DIR", system.agent_dir());
    assert_eq!(daos::daos_init(), 0);

    let (pool, cont) = (cs("tank"), cs("kvarray"));
    let (mut poh, mut coh) = (daos_handle_t::default(), daos_handle_t::default());
    // SAFETY: live locals and NUL-terminated strings.
    unsafe {
        let rc = daos_pool_connect2(
            pool.as_ptr(),
            ptr::null(),
            2,
            &mut poh,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, 0);
        let rc = daos_cont_create_with_label(
            poh,
            cont.as_ptr(),
            ptr::null(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, 0);
        let rc = daos_cont_open2(
            poh,
            cont.as_ptr(),
            2,
            &mut coh,
            ptr::null_mut(),
            ptr::null_mut(),
        );
        assert_eq!(rc, 0);
    }
    let mut eq = daos_handle_t::default();
    // SAFETY: `eq` is a live local.
    assert_eq!(unsafe { daos_eq_create(&mut eq) }, 0);

    let blocking = Io { eq: None };
    let events = Io { eq: Some(eq) };
    kv_suite(&blocking, coh, 1000);
    kv_suite(&events, coh, 2000);
    kv_batch(eq, coh, 3000);
    array_suite(&blocking, coh, 4000);
    array_suite(&events, coh, 5000);
    bad_input(coh, 6000);
    global_handles(coh, 7000);
    dfs_file_as_byte_array(&system, "tank", poh);

    assert_eq!(daos_eq_destroy(eq, 0), 0);
    // SAFETY: no pointers.
    assert_eq!(unsafe { daos_cont_close(coh, ptr::null_mut()) }, 0);
    // SAFETY: no pointers.
    assert_eq!(unsafe { daos_pool_disconnect(poh, ptr::null_mut()) }, 0);
    assert_eq!(daos::daos_fini(), 0);
}
