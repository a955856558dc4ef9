//! Flat key-value objects (`daos_kv.h`) and one-dimensional arrays (`daos_array.h`), built on
//! the object calls of [`daos_client::Object`], as DAOS builds them on `daos_obj_*`.
//!
//! KV layout (object type `DAOS_OT_KV_*`):
//! - a key is a dkey: the C string's bytes, without the NUL;
//! - its value is a single value under the akey `"0"` (one ASCII digit, as DAOS's KV);
//! - a zero-length value cannot be a single value of size 0 (writing size 0 punches, in DAOS
//!   as here), so it is the value akey punched plus a one-byte marker (`0x01`) under the akey
//!   [`KV_EMPTY_AKEY`]. A value under `"0"` always wins over the marker, so a later non-empty
//!   put needs no second akey; a get reads both akeys in one fetch.
//!
//! Array layout (object types `DAOS_OT_ARRAY`, `DAOS_OT_ARRAY_ATTR`, `DAOS_OT_ARRAY_BYTE`),
//! the same as DFS files (`daos-dfs`), so a DFS file opened as a byte array with the file's
//! chunk size reads the same bytes:
//! - cell `i` (an element of `cell_size` bytes) lives in dkey `i / chunk_size` as a
//!   little-endian u64, akey `"\0"` (one zero byte), array record `i % chunk_size`, record
//!   size `cell_size`;
//! - the size (in cells) is the end of the highest extent of the highest chunk holding data;
//!   extending with `daos_array_set_size` writes one zero cell at the new end (as DFS does);
//! - `DAOS_OT_ARRAY` keeps its cell and chunk sizes in the object, so `daos_array_open` can
//!   return them: dkey [`ARRAY_META_DKEY`] (`u64::MAX`, little-endian: array dkeys are u64
//!   keys, 8 bytes exactly, so the metadata key must be one; no cell index reaches it, since
//!   a range must end at or below `u64::MAX`), akey [`ARRAY_META_AKEY`], a single value:
//!   magic u64, version u16, cell size u64, chunk size u64, CRC-32C u32 of the rest, all
//!   little-endian. Size queries ask for the akey `"\0"` only, so they never see it.
//!   `DAOS_OT_ARRAY_ATTR` and `DAOS_OT_ARRAY_BYTE` store nothing: their users give the sizes
//!   at every open (`daos_array_open_with_attr`).
//!
//! DAOS's own array keeps metadata in dkey 0 and data from dkey 1; here data starts at dkey 0
//! because DFS files do. Transactions are not implemented: `th` must be `DAOS_TX_NONE`.

use crate::event::{submit, submit_rc, Family};
use crate::handle::{self, Entry};
use crate::obj::{list_keys, local, no_tx, sgl_of, ArrayHandle};
use crate::pool::{from_global, to_global, Out};
use crate::types::*;
use crate::{guard, inval};
use daos_client::obj::OO_RW;
use daos_client::{Anchor, Container, IoVec, Iod, NetContext, Object, Recx, SgList};
use daos_proto::msg::{GET_DKEY, GET_MAX, GET_RECX};
use daos_types::codec::{Decoder, Encoder};
use daos_types::csum::crc32c;
use daos_types::{Der, Error, ObjectId, ObjectType, EPOCH_MAX};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

/// `DAOS_COND_PUNCH` (= `DAOS_COND_KEY_REMOVE`).
const COND_PUNCH: u64 = 1;
/// `DAOS_COND_DKEY_INSERT` (= `DAOS_COND_KEY_INSERT`).
const COND_DKEY_INSERT: u64 = 2;
/// `DAOS_COND_DKEY_UPDATE` (= `DAOS_COND_KEY_UPDATE`).
const COND_DKEY_UPDATE: u64 = 4;
/// `DAOS_COND_DKEY_FETCH` (= `DAOS_COND_KEY_GET`).
const COND_DKEY_FETCH: u64 = 8;
/// `DAOS_COND_AKEY_FETCH`.
const COND_AKEY_FETCH: u64 = 64;

/// The akey holding a KV value.
pub const KV_VALUE_AKEY: &[u8] = b"0";
/// The akey whose one-byte marker says "this key holds a zero-length value".
pub const KV_EMPTY_AKEY: &[u8] = b"daos_rs_kv_empty";
/// The marker byte under [`KV_EMPTY_AKEY`].
const KV_EMPTY_MARKER: u8 = 1;

/// The akey holding an array's cells in each chunk dkey (as DFS files).
pub const ARRAY_DATA_AKEY: &[u8] = b"\0";
/// The dkey holding a `DAOS_OT_ARRAY`'s cell and chunk sizes (`u64::MAX`, little-endian).
pub const ARRAY_META_DKEY: [u8; 8] = u64::MAX.to_le_bytes();
/// The akey of the metadata single value.
pub const ARRAY_META_AKEY: &[u8] = b"daos_array_md";
/// Magic of the metadata value (DAOS's array magic).
const ARRAY_META_MAGIC: u64 = 0xdaca_55a9_daca_55a9;
/// Version of the metadata value.
const ARRAY_META_VERSION: u16 = 1;
/// Bytes of the metadata value: magic, version, cell size, chunk size, CRC-32C.
const ARRAY_META_LEN: usize = 8 + 2 + 8 + 8 + 4;

/// Magic of a global array handle (`daos_array_local2global`).
const ARRAY_GLOBAL_MAGIC: u32 = 0xdaca_0387;
/// Version of a global array handle.
const ARRAY_GLOBAL_VERSION: u16 = 1;

/// Object I/Os one array call keeps in flight.
const JOBS_IN_FLIGHT: usize = 16;
/// Extents per object I/O (the engine takes up to 4096 per iod).
const RECXS_PER_IO_MAX: usize = 1024;
/// A punch or truncation touching more chunks than this lists the chunks that exist and
/// punches only those, instead of one message per chunk in the range.
const PUNCH_DIRECT_CHUNKS_MAX: u64 = 64;
/// Dkeys asked for per enumeration message when listing an array's chunks.
const LIST_CHUNKS_PER_CALL: u32 = 512;

/// `daos_array_iod_t` (32 bytes): ranges in cells; the read counts are outputs.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_array_iod_t {
    /// Entries in `arr_rgs`.
    pub arr_nr: u64,
    /// Ranges (`rg_idx`, `rg_len` in cells).
    pub arr_rgs: *mut daos_range_t,
    /// Read: cells requested beyond the array's end.
    pub arr_nr_short_read: u64,
    /// Read: cells read below the array's end.
    pub arr_nr_read: u64,
}

/// `daos_array_stbuf_t` (16 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_array_stbuf_t {
    /// Size in cells.
    pub st_size: u64,
    /// Last modification epoch (0: not tracked by this implementation).
    pub st_max_epoch: u64,
}

/// Modes (`DAOS_OO_*`) array handles were opened with, by cookie, for
/// `daos_array_local2global` (the client's object does not say).
static ARRAY_MODES: Mutex<BTreeMap<u64, u32>> = Mutex::new(BTreeMap::new());

fn modes() -> std::sync::MutexGuard<'static, BTreeMap<u64, u32>> {
    ARRAY_MODES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers an open array; returns its handle.
fn insert_array(array: ArrayHandle, mode: u32) -> daos_handle_t {
    let h = handle::insert(Entry::Array(Arc::new(array)));
    modes().insert(h.cookie, mode);
    h
}

/// The KV object behind `oh`. Errors: `-DER_NO_HDL` if unknown or not a KV handle.
fn kv(oh: daos_handle_t) -> Result<Arc<Object>, Error> {
    match handle::get(oh)? {
        Entry::Kv(o) => Ok(o),
        _ => Err(Error::new(
            Der::NoHdl,
            format!("handle {:#x} is not a KV handle", oh.cookie),
        )),
    }
}

/// The array behind `oh`. Errors: `-DER_NO_HDL` if unknown or not an array handle.
fn array(oh: daos_handle_t) -> Result<Arc<ArrayHandle>, Error> {
    match handle::get(oh)? {
        Entry::Array(a) => Ok(a),
        _ => Err(Error::new(
            Der::NoHdl,
            format!("handle {:#x} is not an array handle", oh.cookie),
        )),
    }
}

/// The type bits of an oid. Errors: `-DER_INVAL` for none.
fn type_of(oid: daos_obj_id_t) -> Result<ObjectType, Error> {
    ObjectId::new(oid.lo, oid.hi)
        .object_type()
        .ok_or_else(|| inval("object id carries no valid type"))
}

/// A KV key: the C string's bytes without the NUL (any bytes, not only UTF-8).
/// Errors: `-DER_INVAL` for NULL or an empty string.
///
/// # Safety
/// `key` is NULL or NUL-terminated.
unsafe fn key_of(key: *const c_char) -> Result<Vec<u8>, Error> {
    if key.is_null() {
        return Err(inval("key is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(key) }.to_bytes();
    if bytes.is_empty() {
        return Err(inval("key is empty"));
    }
    Ok(bytes.to_vec())
}

/// Checks that `flags` holds only `allowed` condition bits. Errors: `-DER_INVAL`.
fn only_flags(flags: u64, allowed: u64, call: &str) -> Result<(), Error> {
    if flags & !allowed != 0 {
        return Err(inval(format!(
            "{call}: flags {flags:#x} hold bits other than {allowed:#x}"
        )));
    }
    Ok(())
}

fn bytes_len(n: u64, what: &str) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| inval(format!("{what} does not fit in memory")))
}

// ---------------------------------------------------------------------------------------------
// KV
// ---------------------------------------------------------------------------------------------

/// `int daos_kv_open(daos_handle_t coh, daos_obj_id_t oid, unsigned int mode, daos_handle_t
/// *oh, daos_event_t *ev)`: opens a flat KV object (no message: the layout is computed
/// locally). `oid` must have a KV type (`DAOS_OT_KV_HASHED`, `_UINT64`, `_LEXICAL`); `mode`
/// is `DAOS_OO_RO` or `DAOS_OO_RW`.
///
/// Errors: `-DER_NO_HDL` for a bad container handle; `-DER_INVAL` for NULL `oh` or an oid
/// that is not a KV; `-DER_NO_PERM` for `DAOS_OO_RW` through a read-only container handle.
///
/// # Safety
/// `oh` is NULL or valid for writes until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_open(
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    mode: c_uint,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let opened = (|| {
        let cont = handle::cont(coh)?;
        if oh.is_null() {
            return Err(inval("oh is NULL"));
        }
        match type_of(oid)? {
            ObjectType::KvHashed | ObjectType::KvUint64 | ObjectType::KvLexical => {}
            other => {
                return Err(inval(format!(
                    "daos_kv_open needs a DAOS_OT_KV_* object id, not {other:?}"
                )))
            }
        }
        Object::open(&cont, ObjectId::new(oid.lo, oid.hi), mode)
    })();
    let oh = Out(oh);
    local(ev, opened, move |o| {
        oh.write(handle::insert(Entry::Kv(Arc::new(o))))
    })
}

/// `int daos_kv_close(daos_handle_t oh, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL` for anything but an open KV handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_close(oh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    let found = kv(oh).map(drop);
    local(ev, found, move |()| handle::remove(oh))
}

/// `int daos_kv_destroy(daos_handle_t oh, daos_handle_t th, daos_event_t *ev)`: punches the
/// whole object (every key); the handle stays open.
///
/// Errors: `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_destroy(
    oh: daos_handle_t,
    th: daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let obj = match no_tx(th).and_then(|()| kv(oh)) {
        Ok(o) => o,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.punch(&net, 0).await },
        |()| {},
    )
}

/// `int daos_kv_put(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
/// daos_size_t size, const void *buf, daos_event_t *ev)`: stores `size` bytes of `buf` as
/// the value of `key`, replacing any previous value. `size` 0 (with any `buf`, NULL too)
/// stores a zero-length value. `flags`: 0, `DAOS_COND_KEY_INSERT` (fail if the key exists)
/// or `DAOS_COND_KEY_UPDATE` (fail if it does not).
///
/// Errors: `-DER_EXIST` / `-DER_NONEXIST` for failed conditions; `-DER_INVAL` for a NULL or
/// empty key, NULL `buf` with `size > 0`, or other flags; `-DER_KEY2BIG` for a key over the
/// key size limit; `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `key` is NULL or NUL-terminated; `buf` is NULL or holds `size` bytes until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_put(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    key: *const c_char,
    size: u64,
    buf: *const c_void,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = kv(oh)?;
        only_flags(flags, COND_DKEY_INSERT | COND_DKEY_UPDATE, "daos_kv_put")?;
        // SAFETY: forwarded contract.
        let key = unsafe { key_of(key) }?;
        if size == 0 {
            // Punch the value akey and set the marker, in one update (atomic on the engine).
            let iods = vec![Iod::single(KV_VALUE_AKEY, 0), Iod::single(KV_EMPTY_AKEY, 1)];
            let sgls = vec![
                SgList::from_vecs(Vec::new()),
                SgList::from_vec(vec![KV_EMPTY_MARKER]),
            ];
            return Ok((obj, key, iods, sgls));
        }
        if buf.is_null() {
            return Err(inval("buf is NULL with a non-zero size"));
        }
        let len = bytes_len(size, "size")?;
        // SAFETY: the caller keeps `size` readable bytes at `buf` until completion (the DAOS
        // rule for event calls); updates only read them.
        let sgl = unsafe {
            SgList::from_raw(vec![IoVec {
                ptr: buf as *mut u8,
                len,
            }])
        };
        Ok((obj, key, vec![Iod::single(KV_VALUE_AKEY, size)], vec![sgl]))
    })();
    let (obj, key, iods, sgls) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.update(&net, flags, &key, &iods, sgls).await.map(drop) },
        |()| {},
    )
}

/// `int daos_kv_get(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
/// daos_size_t *size, void *buf, daos_event_t *ev)`: reads the value of `key` into `buf`,
/// which holds `*size` bytes, and sets `*size` to the value's size (bytes). With `buf` NULL,
/// only the size is returned. A missing key gives `*size` 0 and 0, or `-DER_NONEXIST` with
/// `flags` = `DAOS_COND_KEY_GET`.
///
/// Errors: `-DER_REC2BIG` when the value is larger than `*size` (then `*size` is set to the
/// size needed); `-DER_NONEXIST` (conditional get); `-DER_INVAL` for NULL `size`, a NULL or
/// empty key, or other flags; `-DER_NO_HDL`.
///
/// # Safety
/// `key` is NULL or NUL-terminated; `size` is NULL or valid until completion; `buf` is NULL
/// or holds `*size` writable bytes until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_get(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    key: *const c_char,
    size: *mut u64,
    buf: *mut c_void,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = kv(oh)?;
        only_flags(flags, COND_DKEY_FETCH, "daos_kv_get")?;
        // SAFETY: forwarded contract.
        let key = unsafe { key_of(key) }?;
        if size.is_null() {
            return Err(inval("size is NULL"));
        }
        // SAFETY: checked non-NULL; valid by contract.
        let capacity = if buf.is_null() { 0 } else { unsafe { *size } };
        let value = if capacity == 0 {
            SgList::from_vecs(Vec::new())
        } else {
            let len = bytes_len(capacity, "*size")?;
            // SAFETY: the caller keeps `*size` writable bytes at `buf`, used by nothing else,
            // until completion.
            unsafe {
                SgList::from_raw(vec![IoVec {
                    ptr: buf as *mut u8,
                    len,
                }])
            }
        };
        Ok((obj, key, capacity, value))
    })();
    let (obj, key, capacity, value) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let size = Out(size);
    let want_data = !buf.is_null();
    submit_rc(
        ev,
        Family::Der,
        move |net| async move {
            let iods = [Iod::single(KV_VALUE_AKEY, 0), Iod::single(KV_EMPTY_AKEY, 0)];
            // The marker is one byte: give it room so it never makes the fetch too big.
            let sgls = vec![value, SgList::from_vec(vec![0u8])];
            let (found, _) = obj.fetch(&net, EPOCH_MAX, flags, &key, &iods, sgls).await?;
            Ok::<_, Error>(found.sizes.first().copied().unwrap_or(0))
        },
        move |value_size| {
            size.write(value_size);
            if want_data && value_size > capacity {
                Der::Rec2big.rc()
            } else {
                0
            }
        },
    )
}

/// `int daos_kv_remove(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
/// daos_event_t *ev)`: removes `key` (punches its dkey). `flags`: 0 (removing a missing key
/// succeeds) or `DAOS_COND_KEY_REMOVE` (`DAOS_COND_PUNCH`: fail if it is missing).
///
/// Errors: `-DER_NONEXIST` (conditional remove); `-DER_INVAL` for a NULL or empty key or
/// other flags; `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `key` is NULL or NUL-terminated; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_kv_remove(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    key: *const c_char,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = kv(oh)?;
        only_flags(flags, COND_PUNCH, "daos_kv_remove")?;
        // SAFETY: forwarded contract.
        Ok((obj, unsafe { key_of(key) }?))
    })();
    let (obj, key) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.punch_dkeys(&net, flags, &[key]).await },
        |()| {},
    )
}

/// `int daos_kv_list(daos_handle_t oh, daos_handle_t th, uint32_t *nr, daos_key_desc_t
/// *kds, d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev)`: up to `*nr` keys,
/// packed back to back (not NUL-terminated) into `sgl`, their lengths in `kds`; `*nr` is set
/// to the count; `daos_anchor_is_eof(anchor)` once every key was returned. As
/// `daos_obj_list_dkey`.
///
/// Errors: `-DER_KEY2BIG` when the next key does not fit `sgl` (`kds[0].kd_key_len` says
/// how big it is); `-DER_INVAL` for NULL arguments or `*nr` 0; `-DER_NO_HDL`.
///
/// # Safety
/// Pointers are NULL or valid until completion (`kds` for `*nr` entries).
#[no_mangle]
pub unsafe extern "C" fn daos_kv_list(
    oh: daos_handle_t,
    th: daos_handle_t,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    if let Err(err) = kv(oh) {
        return err.rc();
    }
    // SAFETY: forwarded contract.
    unsafe { list_keys(oh, th, None, nr, kds, sgl, anchor, ev) }
}

// ---------------------------------------------------------------------------------------------
// Arrays: layout helpers
// ---------------------------------------------------------------------------------------------

fn chunk_key(chunk: u64) -> [u8; 8] {
    chunk.to_le_bytes()
}

/// The chunk index of an 8-byte chunk dkey; `None` for the metadata key or anything else.
fn chunk_of(dkey: &[u8]) -> Option<u64> {
    let key: [u8; 8] = dkey.try_into().ok()?;
    (key != ARRAY_META_DKEY).then(|| u64::from_le_bytes(key))
}

fn encode_meta(cell_size: u64, chunk_size: u64) -> Vec<u8> {
    let mut e = Encoder::new();
    e.u64(ARRAY_META_MAGIC)
        .u16(ARRAY_META_VERSION)
        .u64(cell_size)
        .u64(chunk_size);
    let crc = crc32c(e.as_slice());
    e.u32(crc);
    e.finish()
}

/// `(cell_size, chunk_size)` from a metadata value. Errors: `-DER_NO_PERM` (as DAOS) when
/// the value is not array metadata.
fn decode_meta(bytes: &[u8]) -> Result<(u64, u64), Error> {
    let bad = || Error::new(Der::NoPerm, "object holds no valid array metadata");
    if bytes.len() != ARRAY_META_LEN
        || crc32c(&bytes[..ARRAY_META_LEN - 4]).to_le_bytes() != bytes[ARRAY_META_LEN - 4..]
    {
        return Err(bad());
    }
    let mut d = Decoder::new(bytes);
    let magic = d.u64("magic").map_err(|_| bad())?;
    let version = d.u16("version").map_err(|_| bad())?;
    let cell = d.u64("cell size").map_err(|_| bad())?;
    let chunk = d.u64("chunk size").map_err(|_| bad())?;
    if magic != ARRAY_META_MAGIC || version != ARRAY_META_VERSION || cell == 0 || chunk == 0 {
        return Err(bad());
    }
    Ok((cell, chunk))
}

/// Checks cell and chunk sizes. Errors: `-DER_INVAL` for 0, or a chunk of more than 2^64
/// bytes.
fn check_attrs(cell_size: u64, chunk_size: u64) -> Result<(), Error> {
    if cell_size == 0 || chunk_size == 0 {
        return Err(inval("cell and chunk sizes must not be 0"));
    }
    if cell_size.checked_mul(chunk_size).is_none() {
        return Err(inval("a chunk of cell_size * chunk_size bytes overflows"));
    }
    Ok(())
}

/// One object I/O of an array call: extents of one chunk and the bytes of the caller's
/// memory stream they map to (consecutive in the stream).
struct ChunkIo {
    chunk: u64,
    recxs: Vec<Recx>,
    cells: u64,
}

/// Splits `ranges` (`(index, length)` in cells) at chunk boundaries into object I/Os, in
/// stream order. Consecutive pieces of one chunk share an I/O when they do not overlap.
fn plan(ranges: &[(u64, u64)], chunk_size: u64) -> Vec<ChunkIo> {
    let mut ios: Vec<ChunkIo> = Vec::new();
    for &(mut at, mut left) in ranges {
        while left > 0 {
            let chunk = at / chunk_size;
            let idx = at % chunk_size;
            let nr = (chunk_size - idx).min(left);
            let joins = ios.last().is_some_and(|io| {
                io.chunk == chunk
                    && io.recxs.len() < RECXS_PER_IO_MAX
                    && io.recxs.last().is_some_and(|r| r.idx + r.nr <= idx)
            });
            match ios.last_mut() {
                Some(io) if joins => {
                    io.recxs.push(Recx { idx, nr });
                    io.cells += nr;
                }
                _ => ios.push(ChunkIo {
                    chunk,
                    recxs: vec![Recx { idx, nr }],
                    cells: nr,
                }),
            }
            at += nr;
            left -= nr;
        }
    }
    ios
}

/// Cells touched by `ranges` in chunks, counted per range (an upper bound on the chunks).
fn chunk_span(ranges: &[(u64, u64)], chunk_size: u64) -> u64 {
    ranges
        .iter()
        .filter(|(_, len)| *len > 0)
        .map(|&(at, len)| (at + len - 1) / chunk_size - at / chunk_size + 1)
        .fold(0u64, u64::saturating_add)
}

/// Walks the caller's memory stream in order, handing out consecutive pieces.
struct Cursor {
    iovs: Vec<IoVec>,
    index: usize,
    offset: usize,
}

impl Cursor {
    /// The next `len` bytes of the stream (the caller checked the stream is long enough).
    fn take(&mut self, len: u64) -> Vec<IoVec> {
        let mut left = len as usize;
        let mut out = Vec::new();
        while left > 0 && self.index < self.iovs.len() {
            let v = self.iovs[self.index];
            let n = (v.len - self.offset).min(left);
            if n > 0 {
                out.push(IoVec {
                    ptr: v.ptr.wrapping_add(self.offset),
                    len: n,
                });
            }
            left -= n;
            self.offset += n;
            if self.offset == v.len {
                self.index += 1;
                self.offset = 0;
            }
        }
        out
    }
}

/// Reads a `daos_array_iod_t`'s ranges. Errors: `-DER_INVAL` for NULL, NULL ranges, or a
/// range ending beyond `u64::MAX`. Returns the ranges and their total cells.
///
/// # Safety
/// `iod` is NULL or valid, with `arr_nr` ranges.
unsafe fn ranges_of(iod: *const daos_array_iod_t) -> Result<(Vec<(u64, u64)>, u64), Error> {
    if iod.is_null() {
        return Err(inval("iod is NULL"));
    }
    // SAFETY: valid by contract.
    let d = unsafe { &*iod };
    if d.arr_nr > 0 && d.arr_rgs.is_null() {
        return Err(inval("arr_rgs is NULL"));
    }
    let count = bytes_len(d.arr_nr, "arr_nr")?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for i in 0..count {
        // SAFETY: `arr_nr` ranges by contract.
        let r = unsafe { *d.arr_rgs.add(i) };
        if r.rg_idx.checked_add(r.rg_len).is_none() {
            return Err(inval("a range ends beyond the largest array index"));
        }
        total = total
            .checked_add(r.rg_len)
            .ok_or_else(|| inval("ranges total more than 2^64 cells"))?;
        out.push((r.rg_idx, r.rg_len));
    }
    Ok((out, total))
}

/// The caller's memory stream (each iov's `iov_len` bytes, as DAOS's array I/O), checked to
/// hold exactly `bytes`. Errors: `-DER_INVAL` for NULL, a size mismatch, or (`read`) an
/// `iov_len` beyond its `iov_buf_len`.
///
/// # Safety
/// `sgl` is NULL or a valid sgl whose iovs stay valid until completion.
unsafe fn stream_of(sgl: *const d_sg_list_t, bytes: u64, read: bool) -> Result<Cursor, Error> {
    if sgl.is_null() {
        return Err(inval("sgl is NULL"));
    }
    // SAFETY: valid by contract.
    let s = unsafe { &*sgl };
    if read && !s.sg_iovs.is_null() {
        for j in 0..s.sg_nr as usize {
            // SAFETY: `sg_nr` iovs by contract; checked non-NULL.
            let v = unsafe { &*s.sg_iovs.add(j) };
            if v.iov_len > v.iov_buf_len {
                return Err(inval("an iov's iov_len exceeds its iov_buf_len"));
            }
        }
    }
    // SAFETY: forwarded contract.
    let list = unsafe { sgl_of(s, true) }?;
    if list.len() != bytes {
        return Err(inval(format!(
            "ranges describe {bytes} bytes but the sgl holds {}",
            list.len()
        )));
    }
    Ok(Cursor {
        iovs: list.iovs().to_vec(),
        index: 0,
        offset: 0,
    })
}

type Job<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// Runs `jobs` with at most [`JOBS_IN_FLIGHT`] at once; returns their outputs in order, or
/// the first error once every started job has finished (so none still uses the caller's
/// memory when the call completes).
async fn run_all<T: Send>(jobs: Vec<Job<T>>) -> Result<Vec<T>, Error> {
    let count = jobs.len();
    let mut waiting = jobs.into_iter().enumerate();
    let mut running: Vec<(usize, Job<T>)> = Vec::new();
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut failed: Option<Error> = None;
    std::future::poll_fn(|cx| loop {
        while failed.is_none() && running.len() < JOBS_IN_FLIGHT {
            match waiting.next() {
                Some(job) => running.push(job),
                None => break,
            }
        }
        let mut finished = false;
        let mut i = 0;
        while i < running.len() {
            match running[i].1.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    let (index, _) = running.swap_remove(i);
                    finished = true;
                    match result {
                        Ok(value) => out[index] = Some(value),
                        Err(err) => {
                            failed.get_or_insert(err);
                        }
                    }
                }
                Poll::Pending => i += 1,
            }
        }
        if running.is_empty() && (failed.is_some() || waiting.len() == 0) {
            return Poll::Ready(());
        }
        if !finished {
            return Poll::Pending;
        }
    })
    .await;
    if let Some(err) = failed {
        return Err(err);
    }
    Ok(out.into_iter().flatten().collect())
}

/// The array's size in cells: the end of the highest extent of the highest chunk holding
/// data (`daos_array_get_size`), found with one `query_key` (`DAOS_GET_MAX`) over the data
/// akey, as DFS's `get_size`.
async fn size_of(obj: &Object, net: &Arc<NetContext>, chunk_size: u64) -> Result<u64, Error> {
    let flags = GET_DKEY | GET_RECX | GET_MAX;
    match obj
        .query_key(net, EPOCH_MAX, flags, None, Some(ARRAY_DATA_AKEY))
        .await
    {
        Ok((Some(dkey), _, Some(recx))) => {
            let chunk = chunk_of(&dkey)
                .ok_or_else(|| Error::new(Der::Proto, "array chunk dkey is not 8 bytes"))?;
            chunk
                .checked_mul(chunk_size)
                .and_then(|start| start.checked_add(recx.idx))
                .and_then(|end| end.checked_add(recx.nr))
                .ok_or_else(|| Error::new(Der::Overflow, "array size overflows"))
        }
        Ok(_) => Ok(0),
        Err(err) if err.der() == Der::Nonexist => Ok(0),
        Err(err) => Err(err),
    }
}

/// Every chunk index holding a dkey, over all shards (bounded by the object's dkeys).
async fn chunks_of(obj: &Object, net: &Arc<NetContext>) -> Result<Vec<u64>, Error> {
    let mut anchor = Anchor::default();
    let mut chunks = Vec::new();
    while !anchor.eof {
        let page = obj
            .list_dkeys(
                net,
                EPOCH_MAX,
                &mut anchor,
                LIST_CHUNKS_PER_CALL,
                u64::from(LIST_CHUNKS_PER_CALL) * 8,
            )
            .await?;
        if page.keys.is_empty() && page.key_size_needed > 0 {
            return Err(Error::new(Der::Proto, "array dkey longer than 8 bytes"));
        }
        chunks.extend(page.keys.iter().filter_map(|k| chunk_of(k)));
    }
    Ok(chunks)
}

/// Punches `ranges` (cells): whole chunks by punching their dkey, parts by punching
/// extents. When the ranges span more than [`PUNCH_DIRECT_CHUNKS_MAX`] chunks, only the
/// chunks that exist are visited.
async fn punch_cells(
    obj: &Arc<Object>,
    net: &Arc<NetContext>,
    chunk_size: u64,
    ranges: &[(u64, u64)],
) -> Result<(), Error> {
    let ios = if chunk_span(ranges, chunk_size) <= PUNCH_DIRECT_CHUNKS_MAX {
        plan(ranges, chunk_size)
    } else {
        let mut ios = Vec::new();
        for chunk in chunks_of(obj, net).await? {
            // Chunks come from the object; saturate rather than trust their range.
            let lo = chunk.saturating_mul(chunk_size);
            let hi = lo.saturating_add(chunk_size - 1);
            let clipped: Vec<(u64, u64)> = ranges
                .iter()
                .filter(|&&(at, len)| len > 0 && at <= hi && at + (len - 1) >= lo)
                .map(|&(at, len)| {
                    let start = at.max(lo);
                    let end = (at + (len - 1)).min(hi);
                    (start, end - start + 1)
                })
                .collect();
            ios.extend(plan(&clipped, chunk_size));
        }
        ios
    };
    let jobs: Vec<Job<()>> = ios
        .into_iter()
        .map(|io| {
            let (obj, net) = (obj.clone(), net.clone());
            let whole = io.recxs.len() == 1 && io.recxs[0].idx == 0 && io.recxs[0].nr == chunk_size;
            Box::pin(async move {
                let dkey = chunk_key(io.chunk);
                if whole {
                    return obj.punch_dkeys(&net, 0, &[dkey.to_vec()]).await;
                }
                // An array update of record size 0 punches its extents.
                let iods = [Iod::array(ARRAY_DATA_AKEY, 0, io.recxs)];
                obj.update(&net, 0, &dkey, &iods, vec![SgList::from_vecs(Vec::new())])
                    .await
                    .map(drop)
            }) as Job<()>
        })
        .collect();
    run_all(jobs).await.map(drop)
}

// ---------------------------------------------------------------------------------------------
// Arrays: entry points
// ---------------------------------------------------------------------------------------------

/// `int daos_array_create(daos_handle_t coh, daos_obj_id_t oid, daos_handle_t th,
/// daos_size_t cell_size, daos_size_t chunk_size, daos_handle_t *oh, daos_event_t *ev)`:
/// creates an array of `cell_size`-byte cells, `chunk_size` cells per dkey, and opens it
/// read-write. For `DAOS_OT_ARRAY` the sizes are stored in the object (conditional insert of
/// the metadata dkey); `DAOS_OT_ARRAY_ATTR` and `DAOS_OT_ARRAY_BYTE` store nothing, and the
/// call only opens the handle.
///
/// Errors: `-DER_EXIST` if the `DAOS_OT_ARRAY` already holds metadata; `-DER_INVAL` for an
/// oid that is not an array, zero sizes, or NULL `oh`; `-DER_NO_HDL`; `-DER_NO_PERM`
/// through a read-only container handle.
///
/// # Safety
/// `oh` is NULL or valid until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_create(
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    th: daos_handle_t,
    cell_size: u64,
    chunk_size: u64,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let cont = handle::cont(coh)?;
        if oh.is_null() {
            return Err(inval("oh is NULL"));
        }
        let otype = type_of(oid)?;
        if !otype.is_array() {
            return Err(inval(format!(
                "daos_array_create needs an array object id, not {otype:?}"
            )));
        }
        check_attrs(cell_size, chunk_size)?;
        let obj = Object::open(&cont, ObjectId::new(oid.lo, oid.hi), OO_RW)?;
        Ok((Arc::new(obj), otype))
    })();
    let (obj, otype) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let oh = Out(oh);
    let handle_of = move |object: Arc<Object>| ArrayHandle {
        object,
        cell_size,
        chunk_size,
    };
    if otype != ObjectType::Array {
        return local(ev, Ok(obj), move |o| {
            oh.write(insert_array(handle_of(o), OO_RW))
        });
    }
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let iods = [Iod::single(ARRAY_META_AKEY, ARRAY_META_LEN as u64)];
            let meta = SgList::from_vec(encode_meta(cell_size, chunk_size));
            obj.update(&net, COND_DKEY_INSERT, &ARRAY_META_DKEY, &iods, vec![meta])
                .await?;
            Ok::<_, Error>(obj)
        },
        move |o| oh.write(insert_array(handle_of(o), OO_RW)),
    )
}

/// `int daos_array_open(daos_handle_t coh, daos_obj_id_t oid, daos_handle_t th, unsigned int
/// mode, daos_size_t *cell_size, daos_size_t *chunk_size, daos_handle_t *oh, daos_event_t
/// *ev)`: opens a `DAOS_OT_ARRAY` made by `daos_array_create` and returns its cell size
/// (bytes) and chunk size (cells). `mode` is `DAOS_OO_RO` or `DAOS_OO_RW`.
///
/// Errors: `-DER_NONEXIST` if the array was never created (or was destroyed);
/// `-DER_INVAL` for another object type (`DAOS_OT_ARRAY_ATTR`/`_BYTE` need
/// `daos_array_open_with_attr`) or NULL outputs; `-DER_NO_PERM` if the object holds no valid
/// array metadata; `-DER_NO_HDL`.
///
/// # Safety
/// Output pointers are NULL or valid until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_open(
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    th: daos_handle_t,
    mode: c_uint,
    cell_size: *mut u64,
    chunk_size: *mut u64,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let cont = handle::cont(coh)?;
        if oh.is_null() || cell_size.is_null() || chunk_size.is_null() {
            return Err(inval("oh, cell_size and chunk_size are required"));
        }
        let otype = type_of(oid)?;
        if otype != ObjectType::Array {
            return Err(inval(format!(
                "daos_array_open needs a DAOS_OT_ARRAY object id, not {otype:?} \
                 (use daos_array_open_with_attr)"
            )));
        }
        Ok(Arc::new(Object::open(
            &cont,
            ObjectId::new(oid.lo, oid.hi),
            mode,
        )?))
    })();
    let obj = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (cell_out, chunk_out, oh) = (Out(cell_size), Out(chunk_size), Out(oh));
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let iods = [Iod::single(ARRAY_META_AKEY, 0)];
            let room = SgList::from_vec(vec![0u8; ARRAY_META_LEN]);
            let flags = COND_DKEY_FETCH | COND_AKEY_FETCH;
            let (found, mut lists) = obj
                .fetch(&net, EPOCH_MAX, flags, &ARRAY_META_DKEY, &iods, vec![room])
                .await?;
            if found.too_big || found.sizes.first() != Some(&(ARRAY_META_LEN as u64)) {
                return Err(Error::new(
                    Der::NoPerm,
                    "the object holds no array metadata (not created by daos_array_create)",
                ));
            }
            let bytes = lists
                .pop()
                .and_then(SgList::into_vecs)
                .and_then(|mut v| v.pop())
                .unwrap_or_default();
            let (cell, chunk) = decode_meta(&bytes)?;
            Ok((obj, cell, chunk))
        },
        move |(object, cell, chunk)| {
            cell_out.write(cell);
            chunk_out.write(chunk);
            oh.write(insert_array(
                ArrayHandle {
                    object,
                    cell_size: cell,
                    chunk_size: chunk,
                },
                mode,
            ));
        },
    )
}

/// `int daos_array_open_with_attr(daos_handle_t coh, daos_obj_id_t oid, daos_handle_t th,
/// unsigned int mode, daos_size_t cell_size, daos_size_t chunk_size, daos_handle_t *oh,
/// daos_event_t *ev)`: opens a `DAOS_OT_ARRAY_ATTR` or `DAOS_OT_ARRAY_BYTE` array with the
/// caller's cell size (bytes) and chunk size (cells); nothing is read (no message). A DFS
/// file is a byte array: cell size 1, chunk size the file's.
///
/// Errors: `-DER_INVAL` for `DAOS_OT_ARRAY` (use `daos_array_open`) or another type, zero
/// sizes, or NULL `oh`; `-DER_NO_HDL`; `-DER_NO_PERM` for `DAOS_OO_RW` through a read-only
/// container handle.
///
/// # Safety
/// `oh` is NULL or valid until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_open_with_attr(
    coh: daos_handle_t,
    oid: daos_obj_id_t,
    th: daos_handle_t,
    mode: c_uint,
    cell_size: u64,
    chunk_size: u64,
    oh: *mut daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let opened = (|| {
        no_tx(th)?;
        let cont = handle::cont(coh)?;
        if oh.is_null() {
            return Err(inval("oh is NULL"));
        }
        match type_of(oid)? {
            ObjectType::ArrayAttr | ObjectType::ArrayByte => {}
            other => {
                return Err(inval(format!(
                    "daos_array_open_with_attr needs a DAOS_OT_ARRAY_ATTR or _BYTE object id, \
                     not {other:?}"
                )))
            }
        }
        check_attrs(cell_size, chunk_size)?;
        Object::open(&cont, ObjectId::new(oid.lo, oid.hi), mode)
    })();
    let oh = Out(oh);
    local(ev, opened, move |o| {
        oh.write(insert_array(
            ArrayHandle {
                object: Arc::new(o),
                cell_size,
                chunk_size,
            },
            mode,
        ))
    })
}

/// `int daos_array_close(daos_handle_t oh, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL` for anything but an open array handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_close(oh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    let found = array(oh).map(drop);
    local(ev, found, move |()| {
        handle::remove(oh);
        modes().remove(&oh.cookie);
    })
}

/// `int daos_array_destroy(daos_handle_t oh, daos_handle_t th, daos_event_t *ev)`: punches
/// the whole object (data and metadata); the handle stays open.
///
/// Errors: `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_destroy(
    oh: daos_handle_t,
    th: daos_handle_t,
    ev: *mut daos_event_t,
) -> c_int {
    let a = match no_tx(th).and_then(|()| array(oh)) {
        Ok(a) => a,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { a.object.punch(&net, 0).await },
        |()| {},
    )
}

/// `int daos_array_write(daos_handle_t oh, daos_handle_t th, daos_array_iod_t *iod,
/// d_sg_list_t *sgl, daos_event_t *ev)`: writes the cells of `iod`'s ranges (index and
/// length in cells) from `sgl`, read as one stream of each iov's `iov_len` bytes, which
/// must total the ranges' cells times the cell size. Chunks are written in parallel.
///
/// Errors: `-DER_INVAL` for NULL `iod`/`sgl`, NULL ranges, or a memory size that differs
/// from the ranges'; `-DER_REC_SIZE` if the object holds records of another size;
/// `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `iod` and `sgl` are NULL or valid, and the sgl's memory stays valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_array_write(
    oh: daos_handle_t,
    th: daos_handle_t,
    iod: *mut daos_array_iod_t,
    sgl: *mut d_sg_list_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { array_io(oh, th, iod, sgl, false, ev) }
}

/// `int daos_array_read(daos_handle_t oh, daos_handle_t th, daos_array_iod_t *iod,
/// d_sg_list_t *sgl, daos_event_t *ev)`: reads the cells of `iod`'s ranges into `sgl` (as
/// [`daos_array_write`]); holes read as zeros. Sets `iod->arr_nr_read` and
/// `iod->arr_nr_short_read`: for byte arrays, the cells below and at or beyond the array's
/// size (one more size query); for other arrays, all cells and 0, as DAOS does not detect
/// short reads there.
///
/// Errors: as [`daos_array_write`] (no `-DER_NO_PERM`).
///
/// # Safety
/// As [`daos_array_write`]; the sgl's memory is written.
#[no_mangle]
pub unsafe extern "C" fn daos_array_read(
    oh: daos_handle_t,
    th: daos_handle_t,
    iod: *mut daos_array_iod_t,
    sgl: *mut d_sg_list_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { array_io(oh, th, iod, sgl, true, ev) }
}

/// Shared body of `daos_array_read` and `daos_array_write`.
///
/// # Safety
/// As those functions.
unsafe fn array_io(
    oh: daos_handle_t,
    th: daos_handle_t,
    iod: *mut daos_array_iod_t,
    sgl: *mut d_sg_list_t,
    read: bool,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let a = array(oh)?;
        // SAFETY: forwarded contract.
        let (ranges, cells) = unsafe { ranges_of(iod) }?;
        let bytes = cells
            .checked_mul(a.cell_size)
            .ok_or_else(|| inval("ranges describe more than 2^64 bytes"))?;
        // SAFETY: forwarded contract.
        let mut cursor = unsafe { stream_of(sgl, bytes, read) }?;
        let ios: Vec<(u64, Vec<Recx>, SgList)> = plan(&ranges, a.chunk_size)
            .into_iter()
            .map(|io| {
                let memory = cursor.take(io.cells * a.cell_size);
                // SAFETY: the pieces lie inside the caller's sgl, which the caller keeps
                // valid (and, for reads, unused) until completion; pieces of different I/Os
                // do not overlap, and `run_all` returns only once every I/O has finished.
                let list = unsafe { SgList::from_raw(memory) };
                (io.chunk, io.recxs, list)
            })
            .collect();
        Ok((a, ranges, cells, ios))
    })();
    let (a, ranges, cells, ios) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let byte_array = a.object.oid().object_type() == Some(ObjectType::ArrayByte);
    let (iod, sgl) = (Out(iod), Out(sgl));
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let jobs: Vec<Job<()>> = ios
                .into_iter()
                .map(|(chunk, recxs, list)| {
                    let (obj, net) = (a.object.clone(), net.clone());
                    let cell_size = a.cell_size;
                    Box::pin(async move {
                        let iods = [Iod::array(ARRAY_DATA_AKEY, cell_size, recxs)];
                        let dkey = chunk_key(chunk);
                        if read {
                            obj.fetch(&net, EPOCH_MAX, 0, &dkey, &iods, vec![list])
                                .await
                                .map(drop)
                        } else {
                            obj.update(&net, 0, &dkey, &iods, vec![list])
                                .await
                                .map(drop)
                        }
                    }) as Job<()>
                })
                .collect();
            run_all(jobs).await?;
            if !read || !byte_array || cells == 0 {
                return Ok::<_, Error>((cells, 0));
            }
            let size = size_of(&a.object, &net, a.chunk_size).await?;
            let (mut done, mut short) = (0u64, 0u64);
            for (at, len) in ranges {
                let below = size.saturating_sub(at).min(len);
                done += below;
                short += len - below;
            }
            Ok((done, short))
        },
        move |(done, short)| {
            if read {
                // SAFETY: `iod` and `sgl` were checked non-NULL and stay valid until
                // completion.
                unsafe {
                    (*iod.ptr()).arr_nr_read = done;
                    (*iod.ptr()).arr_nr_short_read = short;
                    let s = &mut *sgl.ptr();
                    s.sg_nr_out = s.sg_nr;
                }
            }
        },
    )
}

/// `int daos_array_punch(daos_handle_t oh, daos_handle_t th, daos_array_iod_t *iod,
/// daos_event_t *ev)`: punches the cells of `iod`'s ranges (they then read as zeros; the
/// size does not change unless the punch removes the last cells). Whole chunks are punched
/// as dkeys.
///
/// Errors: `-DER_INVAL` for NULL `iod` or ranges; `-DER_NO_HDL`; `-DER_NO_PERM` on a
/// read-only handle.
///
/// # Safety
/// `iod` is NULL or valid; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_punch(
    oh: daos_handle_t,
    th: daos_handle_t,
    iod: *mut daos_array_iod_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let a = array(oh)?;
        // SAFETY: forwarded contract.
        let (ranges, _) = unsafe { ranges_of(iod) }?;
        Ok((a, ranges))
    })();
    let (a, ranges) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { punch_cells(&a.object, &net, a.chunk_size, &ranges).await },
        |()| {},
    )
}

/// `int daos_array_get_size(daos_handle_t oh, daos_handle_t th, daos_size_t *size,
/// daos_event_t *ev)`: the array's size in cells (one past the last cell written or
/// set by `daos_array_set_size`).
///
/// Errors: `-DER_INVAL` for NULL `size`; `-DER_NO_HDL`.
///
/// # Safety
/// `size` is NULL or valid until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_get_size(
    oh: daos_handle_t,
    th: daos_handle_t,
    size: *mut u64,
    ev: *mut daos_event_t,
) -> c_int {
    let a = match no_tx(th).and_then(|()| array(oh)) {
        Ok(a) => a,
        Err(err) => return err.rc(),
    };
    if size.is_null() {
        return inval("size is NULL").rc();
    }
    let size = Out(size);
    submit(
        ev,
        Family::Der,
        move |net| async move { size_of(&a.object, &net, a.chunk_size).await },
        move |cells| size.write(cells),
    )
}

/// `int daos_array_stat(daos_handle_t oh, daos_handle_t th, daos_array_stbuf_t *stbuf,
/// daos_event_t *ev)`: `st_size` as `daos_array_get_size` (cells); `st_max_epoch` is 0
/// (modification epochs are not tracked by this implementation).
///
/// Errors: `-DER_INVAL` for NULL `stbuf`; `-DER_NO_HDL`.
///
/// # Safety
/// `stbuf` is NULL or valid until completion; `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_stat(
    oh: daos_handle_t,
    th: daos_handle_t,
    stbuf: *mut daos_array_stbuf_t,
    ev: *mut daos_event_t,
) -> c_int {
    let a = match no_tx(th).and_then(|()| array(oh)) {
        Ok(a) => a,
        Err(err) => return err.rc(),
    };
    if stbuf.is_null() {
        return inval("stbuf is NULL").rc();
    }
    let stbuf = Out(stbuf);
    submit(
        ev,
        Family::Der,
        move |net| async move { size_of(&a.object, &net, a.chunk_size).await },
        move |cells| {
            stbuf.write(daos_array_stbuf_t {
                st_size: cells,
                st_max_epoch: 0,
            })
        },
    )
}

/// `int daos_array_set_size(daos_handle_t oh, daos_handle_t th, daos_size_t size,
/// daos_event_t *ev)`: makes the array `size` cells long. Shrinking punches every cell from
/// `size` on; growing writes one zero cell at `size - 1` (the cells between read as zeros),
/// as DFS's `set_size`.
///
/// Errors: `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_array_set_size(
    oh: daos_handle_t,
    th: daos_handle_t,
    size: u64,
    ev: *mut daos_event_t,
) -> c_int {
    let a = match no_tx(th).and_then(|()| array(oh)) {
        Ok(a) => a,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let (obj, chunk) = (&a.object, a.chunk_size);
            let current = size_of(obj, &net, chunk).await?;
            if size < current {
                punch_cells(obj, &net, chunk, &[(size, current - size)]).await?;
            }
            // The size is where the last cell with data ends: if the cell at `size - 1`
            // holds none (growing, or shrinking onto a hole), write a zero cell there.
            if size > 0 && size_of(obj, &net, chunk).await? != size {
                let last = size - 1;
                let cell = bytes_len(a.cell_size, "cell size")?;
                let iods = [Iod::array(
                    ARRAY_DATA_AKEY,
                    a.cell_size,
                    vec![Recx {
                        idx: last % chunk,
                        nr: 1,
                    }],
                )];
                obj.update(
                    &net,
                    0,
                    &chunk_key(last / chunk),
                    &iods,
                    vec![SgList::from_vec(vec![0u8; cell])],
                )
                .await?;
            }
            Ok::<_, Error>(())
        },
        |()| {},
    )
}

/// `int daos_array_get_attr(daos_handle_t oh, daos_size_t *chunk_size, daos_size_t
/// *cell_size)`: the open array's chunk size (cells) and cell size (bytes). Local.
///
/// Errors: `-DER_INVAL` for NULL outputs; `-DER_NO_HDL`.
///
/// # Safety
/// `chunk_size` and `cell_size` are NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_array_get_attr(
    oh: daos_handle_t,
    chunk_size: *mut u64,
    cell_size: *mut u64,
) -> c_int {
    guard("daos_array_get_attr", || {
        if chunk_size.is_null() || cell_size.is_null() {
            return Err(inval("chunk_size and cell_size are required"));
        }
        let a = array(oh)?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe {
            *chunk_size = a.chunk_size;
            *cell_size = a.cell_size;
        }
        Ok(())
    })
}

/// `int daos_array_local2global(daos_handle_t oh, d_iov_t *glob)`: the open array as bytes
/// another process can turn back into a handle with `daos_array_global2local` (two-pass: a
/// NULL `iov_buf` returns the size in `iov_buf_len`). The bytes: magic, version, open mode,
/// object id, cell and chunk sizes, container UUID, CRC-32C; little-endian.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `glob`; `-DER_TRUNC` for a short buffer.
///
/// # Safety
/// `glob` is NULL or a valid iov whose buffer (if any) holds `iov_buf_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn daos_array_local2global(oh: daos_handle_t, glob: *mut d_iov_t) -> c_int {
    guard("daos_array_local2global", || {
        let a = array(oh)?;
        let cont: &Arc<Container> = a.object.container();
        cont.check_open()?;
        let mode = modes().get(&oh.cookie).copied().unwrap_or(OO_RW);
        let mut e = Encoder::new();
        e.u32(ARRAY_GLOBAL_MAGIC)
            .u16(ARRAY_GLOBAL_VERSION)
            .u32(mode)
            .oid(a.object.oid())
            .u64(a.cell_size)
            .u64(a.chunk_size)
            .uuid(&cont.uuid());
        let crc = crc32c(e.as_slice());
        e.u32(crc);
        // SAFETY: forwarded contract.
        unsafe { to_global(glob, &e.finish()) }
    })
}

/// `int daos_array_global2local(daos_handle_t coh, d_iov_t glob, unsigned int mode,
/// daos_handle_t *oh)`: an array handle from `daos_array_local2global` bytes, in the same
/// container (`coh`); `mode` 0 keeps the original open mode. Local (no message).
///
/// Errors: `-DER_INVAL` for bytes that are not a global array handle, one of another
/// container, or NULL `oh`; `-DER_NO_HDL` for a bad container handle.
///
/// # Safety
/// `glob.iov_buf` is NULL or holds `iov_len` bytes; `oh` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_array_global2local(
    coh: daos_handle_t,
    glob: d_iov_t,
    mode: c_uint,
    oh: *mut daos_handle_t,
) -> c_int {
    guard("daos_array_global2local", || {
        let cont = handle::cont(coh)?;
        if oh.is_null() {
            return Err(inval("oh is NULL"));
        }
        // SAFETY: forwarded contract.
        let bytes = unsafe { from_global(&glob) }?;
        let bad = || inval("not a global array handle");
        if bytes.len() < 4
            || crc32c(&bytes[..bytes.len() - 4]).to_le_bytes() != bytes[bytes.len() - 4..]
        {
            return Err(bad());
        }
        let mut d = Decoder::new(&bytes[..bytes.len() - 4]);
        if d.u32("magic").map_err(|_| bad())? != ARRAY_GLOBAL_MAGIC
            || d.u16("version").map_err(|_| bad())? != ARRAY_GLOBAL_VERSION
        {
            return Err(bad());
        }
        let glob_mode = d.u32("mode").map_err(|_| bad())?;
        let oid = d.oid("oid").map_err(|_| bad())?;
        let cell_size = d.u64("cell size").map_err(|_| bad())?;
        let chunk_size = d.u64("chunk size").map_err(|_| bad())?;
        let uuid = d.uuid("container").map_err(|_| bad())?;
        d.finish().map_err(|_| bad())?;
        if uuid != cont.uuid() {
            return Err(inval("global array handle belongs to another container"));
        }
        check_attrs(cell_size, chunk_size)?;
        let mode = if mode == 0 { glob_mode } else { mode };
        let object = Arc::new(Object::open(&cont, oid, mode)?);
        let h = insert_array(
            ArrayHandle {
                object,
                cell_size,
                chunk_size,
            },
            mode,
        );
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { *oh = h };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_daos() {
        assert_eq!(size_of::<daos_array_iod_t>(), 32);
        assert_eq!(offset_of!(daos_array_iod_t, arr_rgs), 8);
        assert_eq!(offset_of!(daos_array_iod_t, arr_nr_short_read), 16);
        assert_eq!(offset_of!(daos_array_iod_t, arr_nr_read), 24);
        assert_eq!(size_of::<daos_array_stbuf_t>(), 16);
    }

    #[test]
    fn plan_splits_at_chunks_and_joins_in_order() {
        let ios = plan(&[(5, 10), (15, 2), (1, 1)], 8);
        type Shape = (u64, Vec<(u64, u64)>, u64);
        let shape: Vec<Shape> = ios
            .iter()
            .map(|io| {
                (
                    io.chunk,
                    io.recxs.iter().map(|r| (r.idx, r.nr)).collect(),
                    io.cells,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, vec![(5, 3)], 3),
                (1, vec![(0, 7), (7, 1)], 8),
                (2, vec![(0, 1)], 1),
                (0, vec![(1, 1)], 1),
            ]
        );
        assert_eq!(chunk_span(&[(5, 10), (15, 2), (1, 1), (9, 0)], 8), 5);
    }

    #[test]
    fn metadata_round_trips_and_rejects_damage() {
        let meta = encode_meta(3, 1 << 20);
        assert_eq!(meta.len(), ARRAY_META_LEN);
        assert_eq!(decode_meta(&meta).unwrap(), (3, 1 << 20));
        let mut bad = meta.clone();
        bad[12] ^= 1;
        assert_eq!(decode_meta(&bad).unwrap_err().der(), Der::NoPerm);
        assert_eq!(decode_meta(&meta[1..]).unwrap_err().der(), Der::NoPerm);
        assert_eq!(chunk_of(&ARRAY_META_DKEY), None);
        assert_eq!(chunk_of(&chunk_key(7)), Some(7));
    }

    #[test]
    fn cursor_hands_out_consecutive_pieces() {
        let mut a = [0u8; 5];
        let mut b = [0u8; 7];
        let mut c = Cursor {
            iovs: vec![
                IoVec {
                    ptr: a.as_mut_ptr(),
                    len: 5,
                },
                IoVec {
                    ptr: b.as_mut_ptr(),
                    len: 7,
                },
            ],
            index: 0,
            offset: 0,
        };
        let first = c.take(3);
        assert_eq!((first.len(), first[0].len), (1, 3));
        let second = c.take(6);
        assert_eq!(second.len(), 2);
        assert_eq!(
            (second[0].ptr, second[0].len),
            (a.as_mut_ptr().wrapping_add(3), 2)
        );
        assert_eq!((second[1].ptr, second[1].len), (b.as_mut_ptr(), 4));
        let third = c.take(3);
        assert_eq!(
            (third[0].ptr, third[0].len),
            (b.as_mut_ptr().wrapping_add(4), 3)
        );
    }
}
