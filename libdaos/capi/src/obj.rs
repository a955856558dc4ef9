//! Objects (`daos_obj.h`, `daos_obj_class.h`): object ids and classes, open/close, update,
//! fetch, punch and enumeration.
//!
//! Memory: the caller's `d_sg_list_t` buffers are used in place (registered for bulk
//! transfer by the client, never copied here); they must stay valid until the operation
//! completes, as DAOS requires. Transactions are not implemented yet: `th` must be
//! `DAOS_TX_NONE`, anything else is an unknown handle (`-DER_NO_HDL`).

use crate::event::{submit, submit_rc, Family};
use crate::pool::Out;
use crate::types::*;
use crate::{c_str, guard, handle, inval};
use daos_client::{Anchor, IoVec, Iod, IodKind, Object, Recx, SgList};
use daos_types::oclass::{self, OclassId};
use daos_types::{Der, Error, ObjectId, ObjectType, EPOCH_MAX};
use std::ffi::{c_char, c_int, c_uint};
use std::sync::Arc;

/// An open array (`daos_array_*`): the object plus its cell and chunk sizes.
pub struct ArrayHandle {
    /// The array object.
    pub object: Arc<Object>,
    /// Bytes per cell.
    pub cell_size: u64,
    /// Cells per dkey.
    pub chunk_size: u64,
}

pub(crate) fn no_tx(th: daos_handle_t) -> Result<(), Error> {
    if th.cookie != 0 {
        return Err(Error::new(
            Der::NoHdl,
            "transaction handles are not supported yet; pass DAOS_TX_NONE",
        ));
    }
    Ok(())
}

/// The bytes of a key iov (`iov_len` of them).
///
/// # Safety
/// `key` is NULL or a valid iov whose buffer holds `iov_len` bytes.
pub(crate) unsafe fn key_bytes(key: *const d_iov_t, what: &str) -> Result<Vec<u8>, Error> {
    if key.is_null() {
        return Err(inval(format!("{what} is NULL")));
    }
    // SAFETY: valid by contract.
    let k = unsafe { &*key };
    if k.iov_len == 0 || k.iov_buf.is_null() {
        return Err(inval(format!("{what} is empty")));
    }
    // SAFETY: `iov_len` readable bytes by contract.
    Ok(unsafe { std::slice::from_raw_parts(k.iov_buf as *const u8, k.iov_len) }.to_vec())
}

/// Converts C iods. Errors: `-DER_INVAL` for NULL or malformed descriptors.
///
/// # Safety
/// `iods` is NULL or valid for `nr` entries whose names and extents are valid.
unsafe fn to_iods(nr: c_uint, iods: *const daos_iod_t) -> Result<Vec<Iod>, Error> {
    if nr == 0 || iods.is_null() {
        return Err(inval("no iods"));
    }
    let mut out = Vec::with_capacity(nr as usize);
    for i in 0..nr as usize {
        // SAFETY: `nr` entries by contract.
        let d = unsafe { &*iods.add(i) };
        // SAFETY: the name is a valid iov by contract.
        let akey = unsafe { key_bytes(&d.iod_name, "iod_name") }?;
        let mut iod = match d.iod_type {
            DAOS_IOD_SINGLE => Iod::single(akey, d.iod_size),
            DAOS_IOD_ARRAY => {
                if d.iod_nr > 0 && d.iod_recxs.is_null() {
                    return Err(inval("iod_recxs is NULL"));
                }
                let recxs = (0..d.iod_nr as usize)
                    .map(|j| {
                        // SAFETY: `iod_nr` extents by contract.
                        let r = unsafe { &*d.iod_recxs.add(j) };
                        Recx {
                            idx: r.rx_idx,
                            nr: r.rx_nr,
                        }
                    })
                    .collect();
                Iod::array(akey, d.iod_size, recxs)
            }
            other => return Err(inval(format!("iod_type {other} is not SINGLE or ARRAY"))),
        };
        iod.flags = d.iod_flags;
        out.push(iod);
    }
    Ok(out)
}

/// Wraps the caller's sgls; `use_len` takes `iov_len` (update) or `iov_buf_len` (fetch).
///
/// # Safety
/// `sgls` is NULL or valid for `nr` lists whose iovs are valid until completion.
pub(crate) unsafe fn to_sgls(
    nr: usize,
    sgls: *const d_sg_list_t,
    use_len: bool,
) -> Result<Vec<SgList>, Error> {
    if sgls.is_null() {
        return Err(inval("sgls is NULL"));
    }
    (0..nr)
        .map(|i| {
            // SAFETY: `nr` lists by contract.
            let s = unsafe { &*sgls.add(i) };
            // SAFETY: forwarded contract.
            unsafe { sgl_of(s, use_len) }
        })
        .collect()
}

/// One C sgl as an [`SgList`] over the caller's memory.
///
/// # Safety
/// `s`'s iovs are valid for their lengths until the operation completes.
pub(crate) unsafe fn sgl_of(s: &d_sg_list_t, use_len: bool) -> Result<SgList, Error> {
    if s.sg_nr > 0 && s.sg_iovs.is_null() {
        return Err(inval("sg_iovs is NULL"));
    }
    let iovs = (0..s.sg_nr as usize)
        .map(|j| {
            // SAFETY: `sg_nr` iovs by contract.
            let v = unsafe { &*s.sg_iovs.add(j) };
            IoVec {
                ptr: v.iov_buf as *mut u8,
                len: if v.iov_buf.is_null() {
                    0
                } else if use_len {
                    v.iov_len
                } else {
                    v.iov_buf_len
                },
            }
        })
        .collect();
    // SAFETY: the caller keeps the memory valid and unused until completion (DAOS's rule).
    Ok(unsafe { SgList::from_raw(iovs) })
}

/// Sets `iov_len` of each iov and `sg_nr_out` after `bytes` were written into `s`.
///
/// # Safety
/// `s` is a valid sgl.
pub(crate) unsafe fn set_lens(s: &mut d_sg_list_t, mut bytes: u64) {
    let mut used = 0;
    for j in 0..s.sg_nr as usize {
        // SAFETY: `sg_nr` iovs.
        let v = unsafe { &mut *s.sg_iovs.add(j) };
        let take = bytes.min(v.iov_buf_len as u64);
        v.iov_len = take as usize;
        bytes -= take;
        if take > 0 {
            used = j as u32 + 1;
        }
    }
    s.sg_nr_out = used;
}

/// `int daos_oclass_name2id(const char *name)`: DAOS's exact class names (`"SX"`,
/// `"RP_2G1"`, `"EC_4P2GX"`); 0 (`OC_UNKNOWN`) for anything else.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn daos_oclass_name2id(name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { c_str(name, "name") } {
        Ok(n) => oclass::name_to_id(n) as c_int,
        Err(_) => 0,
    }
}

/// `MAX_OBJ_CLASS_NAME_LEN`.
const CLASS_NAME_MAX: usize = 24;

/// `int daos_oclass_id2name(daos_oclass_id_t oc_id, char *name)`: writes the class name
/// (at most `MAX_OBJ_CLASS_NAME_LEN` bytes with the NUL); 0, or -1 for an unknown id.
///
/// # Safety
/// `name` is NULL or valid for `MAX_OBJ_CLASS_NAME_LEN` bytes.
#[no_mangle]
pub unsafe extern "C" fn daos_oclass_id2name(oc_id: OclassId, name: *mut c_char) -> c_int {
    let Some(text) = oclass::id_to_name(oc_id) else {
        return -1;
    };
    if name.is_null() || text.len() >= CLASS_NAME_MAX {
        return -1;
    }
    // SAFETY: `name` holds CLASS_NAME_MAX bytes; we write text + NUL, fewer than that.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), name as *mut u8, text.len());
        *name.add(text.len()) = 0;
    }
    0
}

/// `int daos_obj_generate_oid(daos_handle_t coh, daos_obj_id_t *oid, enum daos_otype_t type,
/// daos_oclass_id_t cid, daos_oclass_hints_t hints, uint32_t args)`: encodes type and class
/// into the reserved bits of `oid->hi`, keeping the caller's 96 bits. `OC_UNKNOWN` picks a
/// class from the container's redundancy factor; group counts are fitted to the pool.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `oid`, an unknown type or class.
///
/// # Safety
/// `oid` is NULL or valid for reads and writes.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_generate_oid2(
    coh: daos_handle_t,
    oid: *mut daos_obj_id_t,
    otype: c_int,
    cid: OclassId,
    hints: u16,
    args: u32,
) -> c_int {
    let _ = (hints, args);
    guard("daos_obj_generate_oid", || {
        let cont = handle::cont(coh)?;
        if oid.is_null() {
            return Err(inval("oid is NULL"));
        }
        let otype = u8::try_from(otype)
            .ok()
            .and_then(ObjectType::from_u8)
            .ok_or_else(|| inval(format!("unknown object type {otype}")))?;
        // SAFETY: checked non-NULL.
        let o = unsafe { &mut *oid };
        let user = ObjectId::new(o.lo, o.hi & 0xFFFF_FFFF);
        let out = cont.generate_oid(user, otype, cid)?;
        o.lo = out.lo;
        o.hi = out.hi;
        Ok(())
    })
}

/// Un-suffixed alias of [`daos_obj_generate_oid2`].
///
/// # Safety
/// As [`daos_obj_generate_oid2`].
#[no_mangle]
pub unsafe extern "C" fn daos_obj_generate_oid(
    coh: daos_handle_t,
    oid: *mut daos_obj_id_t,
    otype: c_int,
    cid: OclassId,
    hints: u16,
    args: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { daos_obj_generate_oid2(coh, oid, otype, cid, hints, args) }
}

/// Completes an operation that needs no message (open, close) in the event's way.
pub(crate) fn local<T: Send + 'static>(
    ev: *mut daos_event_t,
    value: Result<T, Error>,
    finish: impl FnOnce(T) + Send + 'static,
) -> c_int {
    submit(ev, Family::Der, move |_| async move { value }, finish)
}

/// `int daos_obj_open(daos_handle_t coh, daos_obj_id_t oid, unsigned int mode,
/// daos_handle_t *oh, daos_event_t *ev)`: computes the layout locally (no message).
/// `mode` is `DAOS_OO_RO` or `DAOS_OO_RW`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `oh`, or an oid without a class.
///
/// # Safety
/// `oh` is NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_open(
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
        Object::open(&cont, ObjectId::new(oid.lo, oid.hi), mode)
    })();
    let oh = Out(oh);
    local(ev, opened, move |o| {
        oh.write(handle::insert(handle::Entry::Obj(Arc::new(o))))
    })
}

/// `int daos_obj_close(daos_handle_t oh, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_close(oh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    let found = match handle::get(oh) {
        Ok(handle::Entry::Obj(_)) => Ok(()),
        Ok(_) => Err(Error::new(Der::NoHdl, "not an object handle")),
        Err(e) => Err(e),
    };
    local(ev, found, move |()| handle::remove(oh))
}

/// `int daos_obj_update(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t
/// *dkey, unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_event_t *ev)`: writes
/// single values and array extents under `dkey` (`DAOS_COND_*` in `flags`). Each sgl's
/// `iov_len`s give the bytes.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL`; `-DER_EXIST`/`-DER_NONEXIST` for failed
/// conditions; `-DER_KEY2BIG` for oversize keys; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// Pointers are NULL or valid as DAOS describes, until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_update(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut d_iov_t,
    nr: c_uint,
    iods: *mut daos_iod_t,
    sgls: *mut d_sg_list_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = handle::object(oh)?;
        // SAFETY: forwarded contract (all three).
        let dkey = unsafe { key_bytes(dkey, "dkey") }?;
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        let iods = unsafe { to_iods(nr, iods) }?;
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        let sgls = unsafe { to_sgls(nr as usize, sgls, true) }?;
        Ok((obj, dkey, iods, sgls))
    })();
    let (obj, dkey, iods, sgls) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.update(&net, flags, &dkey, &iods, sgls).await.map(drop) },
        |()| {},
    )
}

/// `int daos_obj_fetch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
/// unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_iom_t *ioms, daos_event_t
/// *ev)`: reads into the sgls (their `iov_buf_len`s are the capacity; `iov_len` and
/// `sg_nr_out` are set to what was read). An `iod_size` of `DAOS_REC_ANY` (0) asks for the
/// size, which is written back; a missing value reads as nothing (size 0). With `sgls` NULL,
/// only sizes are returned.
///
/// Errors: `-DER_REC2BIG` when a value is larger than its buffer (`iod_size` then holds its
/// size); `-DER_NONEXIST` for failed `DAOS_COND_*_FETCH`; `-DER_CSUM` for corrupted data;
/// `-DER_NO_HDL`; `-DER_INVAL`.
///
/// # Safety
/// Pointers are NULL or valid as DAOS describes, until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_fetch(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut d_iov_t,
    nr: c_uint,
    iods: *mut daos_iod_t,
    sgls: *mut d_sg_list_t,
    ioms: *mut daos_iom_t,
    ev: *mut daos_event_t,
) -> c_int {
    let _ = ioms;
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = handle::object(oh)?;
        // SAFETY: forwarded contract (all three).
        let dkey = unsafe { key_bytes(dkey, "dkey") }?;
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        let rust_iods = unsafe { to_iods(nr, iods) }?;
        let lists = if sgls.is_null() {
            (0..nr).map(|_| SgList::from_vecs(Vec::new())).collect()
        } else {
            // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
            unsafe { to_sgls(nr as usize, sgls, false) }?
        };
        Ok((obj, dkey, rust_iods, lists))
    })();
    let (obj, dkey, rust_iods, lists) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (iods, sgls) = (Out(iods), Out(sgls));
    let n = nr as usize;
    let any: Vec<bool> = rust_iods.iter().map(|i| i.size == 0).collect();
    submit_rc(
        ev,
        Family::Der,
        move |net| async move {
            let (result, _) = obj
                .fetch(&net, EPOCH_MAX, flags, &dkey, &rust_iods, lists)
                .await?;
            // Sizes are an output even when a buffer was too small.
            let sizes = result.sizes.clone();
            let kinds: Vec<IodKind> = rust_iods.iter().map(|i| i.kind).collect();
            Ok::<_, Error>((result, sizes, kinds))
        },
        move |(result, sizes, kinds)| {
            for i in 0..n {
                // SAFETY: `nr` iods, valid until completion.
                let d = unsafe { &mut *iods.ptr().add(i) };
                if any[i] || kinds[i] == IodKind::Single {
                    d.iod_size = sizes[i];
                }
                if sgls.is_set() {
                    // SAFETY: `nr` sgls, valid until completion.
                    unsafe { set_lens(&mut *sgls.ptr().add(i), result.lens[i]) };
                }
            }
            // Without buffers the call only asks for sizes (vol-daos relies on this).
            if result.too_big && sgls.is_set() {
                Der::Rec2big.rc()
            } else {
                0
            }
        },
    )
}

/// `int daos_obj_punch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_event_t
/// *ev)`: punches the whole object.
///
/// Errors: `-DER_NO_HDL`; `-DER_NO_PERM` on a read-only handle.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_punch(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    ev: *mut daos_event_t,
) -> c_int {
    let obj = match no_tx(th).and_then(|()| handle::object(oh)) {
        Ok(o) => o,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.punch(&net, flags).await },
        |()| {},
    )
}

/// Reads `nr` key iovs.
///
/// # Safety
/// `keys` is NULL or valid for `nr` iovs.
unsafe fn keys_of(nr: c_uint, keys: *const d_iov_t, what: &str) -> Result<Vec<Vec<u8>>, Error> {
    if nr == 0 || keys.is_null() {
        return Err(inval(format!("no {what}s")));
    }
    // SAFETY: `nr` iovs by contract.
    (0..nr as usize)
        .map(|i| unsafe { key_bytes(keys.add(i), what) })
        .collect()
}

/// `int daos_obj_punch_dkeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, unsigned int
/// nr, daos_key_t *dkeys, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL`; `-DER_NONEXIST` for `DAOS_COND_PUNCH` on a missing key.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_punch_dkeys(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    nr: c_uint,
    dkeys: *mut d_iov_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        // SAFETY: forwarded contract.
        Ok((handle::object(oh)?, unsafe { keys_of(nr, dkeys, "dkey") }?))
    })();
    let (obj, dkeys) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.punch_dkeys(&net, flags, &dkeys).await },
        |()| {},
    )
}

/// `int daos_obj_punch_akeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t
/// *dkey, unsigned int nr, daos_key_t *akeys, daos_event_t *ev)`.
///
/// Errors: as [`daos_obj_punch_dkeys`].
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_punch_akeys(
    oh: daos_handle_t,
    th: daos_handle_t,
    flags: u64,
    dkey: *mut d_iov_t,
    nr: c_uint,
    akeys: *mut d_iov_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = handle::object(oh)?;
        // SAFETY: forwarded contract.
        let dkey = unsafe { key_bytes(dkey, "dkey") }?;
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        let akeys = unsafe { keys_of(nr, akeys, "akey") }?;
        Ok((obj, dkey, akeys))
    })();
    let (obj, dkey, akeys) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { obj.punch_akeys(&net, flags, &dkey, &akeys).await },
        |()| {},
    )
}

/// The Rust anchor a C anchor holds (zeroed = start).
pub(crate) fn anchor_in(a: &daos_anchor_t) -> Anchor {
    let len = (a.da_sub_anchors as usize).min(ANCHOR_BUF);
    Anchor {
        shard: a.da_shard as u32,
        position: a.da_buf[..len].to_vec(),
        eof: a.da_type == DAOS_ANCHOR_TYPE_EOF,
    }
}

/// Stores a Rust anchor into a C anchor. Errors: `-DER_OVERFLOW` if the engine's position
/// does not fit the anchor.
pub(crate) fn anchor_out(a: &mut daos_anchor_t, r: &Anchor) -> Result<(), Error> {
    if r.position.len() > ANCHOR_BUF || r.shard > u16::MAX as u32 {
        return Err(Error::new(
            Der::Overflow,
            "enumeration position does not fit an anchor",
        ));
    }
    a.da_type = if r.eof {
        DAOS_ANCHOR_TYPE_EOF
    } else {
        ANCHOR_TYPE_POSITION
    };
    a.da_shard = r.shard as u16;
    a.da_sub_anchors = r.position.len() as u64;
    a.da_buf = [0; ANCHOR_BUF];
    a.da_buf[..r.position.len()].copy_from_slice(&r.position);
    Ok(())
}

/// Packs keys back to back into `sgl` and fills `kds` and `*nr` (DAOS's list format).
///
/// # Safety
/// `sgl`, `kds` (for `*nr` entries) and `nr` are valid.
unsafe fn pack_keys(
    keys: &[Vec<u8>],
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
) {
    // SAFETY: valid by contract.
    let s = unsafe { &mut *sgl };
    let mut stream = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        // SAFETY: `kds` holds at least `*nr >= keys.len()` entries.
        unsafe {
            *kds.add(i) = daos_key_desc_t {
                kd_key_len: k.len() as u64,
                kd_val_type: 0,
            }
        };
        stream.extend_from_slice(k);
    }
    let mut at = 0usize;
    for j in 0..s.sg_nr as usize {
        // SAFETY: `sg_nr` iovs, each valid for `iov_buf_len` bytes.
        let v = unsafe { &mut *s.sg_iovs.add(j) };
        let take = (stream.len() - at).min(v.iov_buf_len);
        // SAFETY: `take <= iov_buf_len`.
        unsafe { std::ptr::copy_nonoverlapping(stream[at..].as_ptr(), v.iov_buf as *mut u8, take) };
        v.iov_len = take;
        at += take;
    }
    s.sg_nr_out = s.sg_nr;
    // SAFETY: valid by contract.
    unsafe { *nr = keys.len() as u32 };
}

/// Shared body of `daos_obj_list_dkey` and `daos_obj_list_akey`.
///
/// # Safety
/// As those functions.
pub(crate) unsafe fn list_keys(
    oh: daos_handle_t,
    th: daos_handle_t,
    dkey: Option<*const d_iov_t>,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = handle::object(oh)?;
        if nr.is_null() || kds.is_null() || sgl.is_null() || anchor.is_null() {
            return Err(inval("nr, kds, sgl and anchor are required"));
        }
        // SAFETY: valid by contract.
        let (count, s, a) = unsafe { (*nr, &*sgl, &*anchor) };
        if count == 0 {
            return Err(inval("*nr is 0"));
        }
        if s.sg_nr == 0 || s.sg_iovs.is_null() {
            return Err(inval("sgl has no buffers"));
        }
        let bytes: u64 = (0..s.sg_nr as usize)
            // SAFETY: `sg_nr` iovs.
            .map(|j| unsafe { (*s.sg_iovs.add(j)).iov_buf_len as u64 })
            .sum();
        let dkey = match dkey {
            // SAFETY: forwarded contract.
            Some(d) => Some(unsafe { key_bytes(d, "dkey") }?),
            None => None,
        };
        Ok((obj, dkey, count, bytes, anchor_in(a)))
    })();
    let (obj, dkey, count, bytes, mut rust_anchor) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (nr, kds, sgl, anchor) = (Out(nr), Out(kds), Out(sgl), Out(anchor));
    submit_rc(
        ev,
        Family::Der,
        move |net| async move {
            let list = match &dkey {
                Some(d) => {
                    obj.list_akeys(&net, 0, d, &mut rust_anchor, count, bytes)
                        .await
                }
                None => {
                    obj.list_dkeys(&net, 0, &mut rust_anchor, count, bytes)
                        .await
                }
            };
            list.map(|list| (list, rust_anchor))
        },
        move |(list, a)| {
            if list.keys.is_empty() && list.key_size_needed > 0 {
                // DAOS reports the size the next key needs in kds[0].
                // SAFETY: `kds` holds at least one entry (checked non-NULL, *nr > 0).
                unsafe { (*kds.ptr()).kd_key_len = list.key_size_needed };
                return Der::Key2big.rc();
            }
            // SAFETY: `anchor` valid until completion.
            if let Err(e) = anchor_out(unsafe { &mut *anchor.ptr() }, &a) {
                return e.rc();
            }
            // SAFETY: checked non-NULL above; valid until completion.
            unsafe { pack_keys(&list.keys, nr.ptr(), kds.ptr(), sgl.ptr()) };
            0
        },
    )
}

/// `int daos_obj_list_dkey(daos_handle_t oh, daos_handle_t th, uint32_t *nr, daos_key_desc_t
/// *kds, d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev)`: up to `*nr` dkeys,
/// packed back to back (not NUL-terminated) into `sgl`, their lengths in `kds`; `*nr` is set
/// to the count; `daos_anchor_is_eof(anchor)` once the enumeration is over.
///
/// Errors: `-DER_KEY2BIG` when the next key does not fit (`kds[0].kd_key_len` says how
/// big it is); `-DER_NO_HDL`; `-DER_INVAL`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_list_dkey(
    oh: daos_handle_t,
    th: daos_handle_t,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { list_keys(oh, th, None, nr, kds, sgl, anchor, ev) }
}

/// `int daos_obj_list_akey(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, uint32_t
/// *nr, daos_key_desc_t *kds, d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev)`:
/// as [`daos_obj_list_dkey`], for the akeys under `dkey`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_list_akey(
    oh: daos_handle_t,
    th: daos_handle_t,
    dkey: *mut d_iov_t,
    nr: *mut u32,
    kds: *mut daos_key_desc_t,
    sgl: *mut d_sg_list_t,
    anchor: *mut daos_anchor_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { list_keys(oh, th, Some(dkey), nr, kds, sgl, anchor, ev) }
}

/// `daos_epoch_range_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_epoch_range_t {
    /// Low epoch.
    pub epr_lo: u64,
    /// High epoch.
    pub epr_hi: u64,
}

/// `int daos_obj_list_recx(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, daos_key_t
/// *akey, daos_size_t *size, uint32_t *nr, daos_recx_t *recxs, daos_epoch_range_t *eprs,
/// daos_anchor_t *anchor, bool incr_order, daos_event_t *ev)`: up to `*nr` extents of an
/// array akey (with their epochs in `eprs`, if given) and the record size in `*size`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_obj_list_recx(
    oh: daos_handle_t,
    th: daos_handle_t,
    dkey: *mut d_iov_t,
    akey: *mut d_iov_t,
    size: *mut u64,
    nr: *mut u32,
    recxs: *mut daos_recx_t,
    eprs: *mut daos_epoch_range_t,
    anchor: *mut daos_anchor_t,
    incr_order: bool,
    ev: *mut daos_event_t,
) -> c_int {
    let _ = incr_order;
    let prep = (|| -> Result<_, Error> {
        no_tx(th)?;
        let obj = handle::object(oh)?;
        if nr.is_null() || recxs.is_null() || anchor.is_null() {
            return Err(inval("nr, recxs and anchor are required"));
        }
        // SAFETY: forwarded contract.
        let dkey = unsafe { key_bytes(dkey, "dkey") }?;
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        let akey = unsafe { key_bytes(akey, "akey") }?;
        // SAFETY: valid by contract.
        let (count, a) = unsafe { (*nr, anchor_in(&*anchor)) };
        if count == 0 {
            return Err(inval("*nr is 0"));
        }
        Ok((obj, dkey, akey, count, a))
    })();
    let (obj, dkey, akey, count, mut a) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (size, nr, recxs, eprs, anchor) = (Out(size), Out(nr), Out(recxs), Out(eprs), Out(anchor));
    submit_rc(
        ev,
        Family::Der,
        move |net| async move {
            let (found, rec_size) = obj.list_recxs(&net, 0, &dkey, &akey, &mut a, count).await?;
            Ok::<_, Error>((found, rec_size, a))
        },
        move |(found, rec_size, a)| {
            // SAFETY: valid until completion.
            if let Err(e) = anchor_out(unsafe { &mut *anchor.ptr() }, &a) {
                return e.rc();
            }
            for (i, (r, epoch)) in found.iter().enumerate() {
                // SAFETY: `recxs` (and `eprs`, if set) hold `*nr >= found.len()` entries.
                unsafe {
                    *recxs.ptr().add(i) = daos_recx_t {
                        rx_idx: r.idx,
                        rx_nr: r.nr,
                    };
                    if eprs.is_set() {
                        *eprs.ptr().add(i) = daos_epoch_range_t {
                            epr_lo: *epoch,
                            epr_hi: EPOCH_MAX,
                        };
                    }
                }
            }
            size.write(rec_size);
            nr.write(found.len() as u32);
            0
        },
    )
}
