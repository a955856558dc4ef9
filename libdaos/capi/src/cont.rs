//! Containers (`daos_cont.h`): create, open, close, destroy, query, object id ranges, and
//! sharing an open handle with other processes.

use crate::event::{submit, Family};
use crate::pool::{from_global, to_global, Out};
use crate::types::*;
use crate::{c_str, guard, handle, inval};
use daos_client::Container;
use daos_types::prop::{self, PropValue};
use daos_types::{Error, Uuid};
use std::ffi::{c_char, c_int, c_uint};

/// Creates a container with `props` (and `label`, if given) and an optional caller-chosen
/// UUID; writes the UUID to `out_uuid`.
unsafe fn create(
    poh: daos_handle_t,
    label: Option<String>,
    uuid_in: Option<Uuid>,
    cont_prop: *const daos_prop_t,
    out_uuid: *mut [u8; 16],
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        let pool = handle::pool(poh)?;
        // SAFETY: the caller passes a valid list or NULL.
        let mut props = unsafe { crate::prop::to_props(cont_prop) }?;
        if let Some(label) = label {
            props.set(prop::CO_LABEL, PropValue::Text(label));
        }
        Ok((pool, props))
    })();
    let (pool, props) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let out = Out(out_uuid);
    submit(
        ev,
        Family::Der,
        move |net| async move { Container::create(&pool, &net, uuid_in, props).await },
        move |uuid| out.write(*uuid.as_bytes()),
    )
}

/// `int daos_cont_create(daos_handle_t poh, uuid_t *uuid, daos_prop_t *cont_prop,
/// daos_event_t *ev)`: creates a container (label, layout and other properties from
/// `cont_prop`; a root object id goes into `DAOS_PROP_CO_ROOTS` when none is given) and
/// writes its generated UUID to `uuid` if non-NULL.
///
/// Errors: `-DER_NO_HDL`; `-DER_EXIST` for a taken label; `-DER_INVAL` for bad properties.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_create2(
    poh: daos_handle_t,
    uuid: *mut [u8; 16],
    cont_prop: *const daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { create(poh, None, None, cont_prop, uuid, ev) }
}

/// Un-suffixed alias of [`daos_cont_create2`].
///
/// # Safety
/// As [`daos_cont_create2`].
#[no_mangle]
pub unsafe extern "C" fn daos_cont_create(
    poh: daos_handle_t,
    uuid: *mut [u8; 16],
    cont_prop: *const daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { create(poh, None, None, cont_prop, uuid, ev) }
}

/// `int daos_cont_create_with_label(daos_handle_t poh, const char *label, daos_prop_t
/// *cont_prop, uuid_t *uuid, daos_event_t *ev)`.
///
/// Errors: as [`daos_cont_create2`]; `-DER_INVAL` for an invalid label.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_create_with_label(
    poh: daos_handle_t,
    label: *const c_char,
    cont_prop: *const daos_prop_t,
    uuid: *mut [u8; 16],
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: the caller passes a string or NULL.
    let label = match unsafe { c_str(label, "label") } {
        Ok(l) => l.to_string(),
        Err(err) => return err.rc(),
    };
    // SAFETY: forwarded contract.
    unsafe { create(poh, Some(label), None, cont_prop, uuid, ev) }
}

fn fill_info(info: &mut daos_cont_info_t, c: &daos_proto::msg::ContInfo) {
    *info = daos_cont_info_t {
        ci_uuid: *c.uuid.as_bytes(),
        ci_lsnapshot: c.latest_snapshot,
        ci_nhandles: c.handles,
        ci_nsnapshots: c.snapshots,
        ci_md_otime: c.open_time,
        ci_md_mtime: c.modify_time,
    };
}

/// `int daos_cont_open(daos_handle_t poh, const char *cont, unsigned int flags,
/// daos_handle_t *coh, daos_cont_info_t *info, daos_event_t *ev)`: opens by label or UUID
/// string with `DAOS_COO_*` flags; `info`, when given, is filled as by `daos_cont_query`.
///
/// Errors: `-DER_NONEXIST` if absent; `-DER_NO_HDL` for a bad pool handle; `-DER_INVAL`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_open2(
    poh: daos_handle_t,
    cont: *const c_char,
    flags: c_uint,
    coh: *mut daos_handle_t,
    info: *mut daos_cont_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        let pool = handle::pool(poh)?;
        // SAFETY: string or NULL by contract.
        let id = unsafe { c_str(cont, "cont") }?.to_string();
        if coh.is_null() {
            return Err(inval("coh is NULL"));
        }
        Ok((pool, id))
    })();
    let (pool, id) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (coh, info) = (Out(coh), Out(info));
    let want_info = info.is_set();
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let c = Container::open(&pool, &net, &id, flags).await?;
            let q = if want_info {
                Some(c.query(&net).await?.0)
            } else {
                None
            };
            Ok::<_, Error>((c, q))
        },
        move |(c, q)| {
            if let Some(q) = q {
                // SAFETY: non-NULL when queried; valid until completion.
                fill_info(unsafe { &mut *info.ptr() }, &q);
            }
            coh.write(handle::insert(handle::Entry::Cont(c)));
        },
    )
}

/// Un-suffixed alias of [`daos_cont_open2`].
///
/// # Safety
/// As [`daos_cont_open2`].
#[no_mangle]
pub unsafe extern "C" fn daos_cont_open(
    poh: daos_handle_t,
    cont: *const c_char,
    flags: c_uint,
    coh: *mut daos_handle_t,
    info: *mut daos_cont_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { daos_cont_open2(poh, cont, flags, coh, info, ev) }
}

/// `int daos_cont_close(daos_handle_t coh, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL`.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_close(coh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    let cont = match handle::cont(coh) {
        Ok(c) => c,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { cont.close(&net).await },
        move |()| handle::remove(coh),
    )
}

/// `int daos_cont_destroy(daos_handle_t poh, const char *cont, int force, daos_event_t
/// *ev)`: by label or UUID string; `force` destroys it even while open.
///
/// Errors: `-DER_NONEXIST`; `-DER_BUSY` if open and not forced; `-DER_NO_HDL`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_destroy2(
    poh: daos_handle_t,
    cont: *const c_char,
    force: c_int,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, Error> {
        let pool = handle::pool(poh)?;
        // SAFETY: string or NULL by contract.
        let id = unsafe { c_str(cont, "cont") }?.to_string();
        Ok((pool, id))
    })();
    let (pool, id) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { Container::destroy(&pool, &net, &id, force != 0).await },
        |()| {},
    )
}

/// Un-suffixed alias of [`daos_cont_destroy2`].
///
/// # Safety
/// As [`daos_cont_destroy2`].
#[no_mangle]
pub unsafe extern "C" fn daos_cont_destroy(
    poh: daos_handle_t,
    cont: *const c_char,
    force: c_int,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { daos_cont_destroy2(poh, cont, force, ev) }
}

/// `int daos_cont_query(daos_handle_t coh, daos_cont_info_t *info, daos_prop_t *cont_prop,
/// daos_event_t *ev)`: an empty `cont_prop` (`dpp_nr == 0`) receives every property;
/// otherwise the listed types are filled. Free with `daos_prop_free`.
///
/// Errors: `-DER_NO_HDL`.
///
/// # Safety
/// Pointers are NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_query(
    coh: daos_handle_t,
    info: *mut daos_cont_info_t,
    cont_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    let cont = match handle::cont(coh) {
        Ok(c) => c,
        Err(err) => return err.rc(),
    };
    let (info, prop) = (Out(info), Out(cont_prop));
    submit(
        ev,
        Family::Der,
        move |net| async move { cont.query(&net).await },
        move |(i, props)| {
            if info.is_set() {
                // SAFETY: non-NULL, valid until completion.
                fill_info(unsafe { &mut *info.ptr() }, &i);
            }
            if prop.is_set() {
                // SAFETY: non-NULL, valid until completion.
                let _ = crate::prop::fill(unsafe { &mut *prop.ptr() }, &props);
            }
        },
    )
}

/// `int daos_cont_alloc_oids(daos_handle_t coh, daos_size_t num_oids, uint64_t *oid,
/// daos_event_t *ev)`: reserves `num_oids` consecutive object id `lo` values unique in the
/// container; writes the first to `oid`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `oid` or zero `num_oids`.
///
/// # Safety
/// `oid` is NULL or valid until completion.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_alloc_oids(
    coh: daos_handle_t,
    num_oids: u64,
    oid: *mut u64,
    ev: *mut daos_event_t,
) -> c_int {
    let cont = match handle::cont(coh) {
        Ok(c) => c,
        Err(err) => return err.rc(),
    };
    if oid.is_null() || num_oids == 0 {
        return inval("oid is NULL or num_oids is 0").rc();
    }
    let out = Out(oid);
    submit(
        ev,
        Family::Der,
        move |net| async move { cont.alloc_oids(&net, num_oids).await },
        move |first| out.write(first),
    )
}

/// `int daos_cont_local2global(daos_handle_t coh, d_iov_t *glob)`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL`; `-DER_TRUNC` for a short buffer.
///
/// # Safety
/// As `daos_pool_local2global`.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_local2global(coh: daos_handle_t, glob: *mut d_iov_t) -> c_int {
    guard("daos_cont_local2global", || {
        let cont = handle::cont(coh)?;
        cont.check_open()?;
        // SAFETY: forwarded contract.
        unsafe { to_global(glob, &cont.to_global()) }
    })
}

/// `int daos_cont_global2local(daos_handle_t poh, d_iov_t glob, daos_handle_t *coh)`: an
/// open container handle in this process; closing it is local only.
///
/// Errors: `-DER_NO_HDL` for a bad pool handle; `-DER_INVAL` for foreign bytes.
///
/// # Safety
/// As `daos_pool_global2local`.
#[no_mangle]
pub unsafe extern "C" fn daos_cont_global2local(
    poh: daos_handle_t,
    glob: d_iov_t,
    coh: *mut daos_handle_t,
) -> c_int {
    guard("daos_cont_global2local", || {
        let pool = handle::pool(poh)?;
        if coh.is_null() {
            return Err(inval("coh is NULL"));
        }
        // SAFETY: forwarded contract.
        let bytes = unsafe { from_global(&glob) }?;
        let cont = Container::from_global(&pool, bytes)?;
        // SAFETY: checked non-NULL.
        unsafe { *coh = handle::insert(handle::Entry::Cont(cont)) };
        Ok(())
    })
}
