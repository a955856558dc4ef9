//! Pools (`daos_pool.h`): connect, disconnect, query, and sharing a connection with other
//! processes (`local2global` / `global2local`).

use crate::event::{submit, Family};
use crate::types::*;
use crate::{c_str, guard, handle, inval};
use daos_client::pool::PoolInfo;
use daos_client::Pool;
use daos_types::{Der, Error};
use std::ffi::{c_char, c_int, c_uint};

/// A raw output pointer carried into an operation's completion.
pub(crate) struct Out<T>(pub *mut T);
// SAFETY: the DAOS API requires output parameters to stay valid until the operation
// completes; completions write them once, under no other alias.
unsafe impl<T> Send for Out<T> {}

impl<T> Out<T> {
    /// Writes `value` if the pointer is non-NULL.
    pub fn write(&self, value: T) {
        if !self.0.is_null() {
            // SAFETY: non-NULL and valid until completion (see the `Send` impl).
            unsafe { self.0.write(value) };
        }
    }

    /// The raw pointer (a method, so closures capture the whole `Out`).
    pub fn ptr(&self) -> *mut T {
        self.0
    }

    /// Whether the caller passed the parameter.
    pub fn is_set(&self) -> bool {
        !self.0.is_null()
    }
}

/// Fills a `daos_pool_info_t` from a query, keeping the caller's `pi_bits`.
pub(crate) fn fill_info(info: &mut daos_pool_info_t, q: &PoolInfo) {
    let bits = info.pi_bits;
    *info = daos_pool_info_t {
        pi_uuid: *q.uuid.as_bytes(),
        pi_ntargets: q.targets,
        pi_nnodes: q.ranks,
        pi_ndisabled: q.disabled,
        pi_map_ver: q.map_version,
        pi_leader: q.leader,
        pi_bits: bits,
        ..Default::default()
    };
    let s = &mut info.pi_space;
    s.ps_space.s_total = [q.scm.total, q.nvme.total];
    s.ps_space.s_free = [q.scm.free, q.nvme.free];
    let targets = q.targets.max(1) as u64;
    let mean = [q.scm.free / targets, q.nvme.free / targets];
    s.ps_free_min = mean;
    s.ps_free_max = mean;
    s.ps_free_mean = mean;
    s.ps_ntargets = q.targets;
    info.pi_rebuild_st.rs_state = DAOS_REBUILD_STATUS_COMPLETED;
}

/// `int daos_pool_connect(const char *pool, const char *sys, unsigned int flags,
/// daos_handle_t *poh, daos_pool_info_t *info, daos_event_t *ev)`: connects to the pool
/// named by label or UUID string; `sys` NULL is the default system. `info`, when given, is
/// filled as by `daos_pool_query`.
///
/// Errors: `-DER_NONEXIST` for an unknown pool; `-DER_INVAL` for NULL `pool`/`poh` or bad
/// flags; `-DER_UNINIT` before `daos_init`.
///
/// # Safety
/// Pointers are NULL or valid as the DAOS API describes, until the operation completes.
#[no_mangle]
pub unsafe extern "C" fn daos_pool_connect2(
    pool: *const c_char,
    sys: *const c_char,
    flags: c_uint,
    poh: *mut daos_handle_t,
    info: *mut daos_pool_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    let _ = sys;
    let prep = (|| -> Result<(String, std::sync::Arc<daos_client::Client>), Error> {
        // SAFETY: the caller passes a string or NULL.
        let id = unsafe { c_str(pool, "pool") }?.to_string();
        if poh.is_null() {
            return Err(inval("poh is NULL"));
        }
        Ok((id, crate::client()?))
    })();
    let (id, client) = match prep {
        Ok(v) => v,
        Err(err) => return err.rc(),
    };
    let (poh, info) = (Out(poh), Out(info));
    let want_info = info.is_set();
    submit(
        ev,
        Family::Der,
        move |net| async move {
            let pool = Pool::connect(&client, &net, &id, flags).await?;
            let query = if want_info {
                Some(pool.query(&net).await?)
            } else {
                None
            };
            Ok::<_, Error>((pool, query))
        },
        move |(pool, query)| {
            if let Some(q) = query {
                // SAFETY: `info` is non-NULL when a query was made; valid until completion.
                let info = unsafe { &mut *info.ptr() };
                fill_info(info, &q);
            }
            poh.write(handle::insert(handle::Entry::Pool(pool)));
        },
    )
}

/// Un-suffixed alias of [`daos_pool_connect2`] (bound by name by ctypes users).
///
/// # Safety
/// As [`daos_pool_connect2`].
#[no_mangle]
pub unsafe extern "C" fn daos_pool_connect(
    pool: *const c_char,
    sys: *const c_char,
    flags: c_uint,
    poh: *mut daos_handle_t,
    info: *mut daos_pool_info_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: same contract.
    unsafe { daos_pool_connect2(pool, sys, flags, poh, info, ev) }
}

/// `int daos_pool_disconnect(daos_handle_t poh, daos_event_t *ev)`.
///
/// Errors: `-DER_NO_HDL` for a bad handle; `-DER_BUSY` while containers are open on it.
///
/// # Safety
/// `ev` is NULL or an initialised event.
#[no_mangle]
pub unsafe extern "C" fn daos_pool_disconnect(poh: daos_handle_t, ev: *mut daos_event_t) -> c_int {
    let pool = match handle::pool(poh) {
        Ok(p) => p,
        Err(err) => return err.rc(),
    };
    submit(
        ev,
        Family::Der,
        move |net| async move { pool.disconnect(&net).await },
        move |()| handle::remove(poh),
    )
}

/// `int daos_pool_query(daos_handle_t poh, d_rank_list_t **ranks, daos_pool_info_t *info,
/// daos_prop_t *pool_prop, daos_event_t *ev)`: space, targets and map version into `info`;
/// with `ranks`, a `d_rank_list_t` of the pool's engines (free with `d_rank_list_free`);
/// with `pool_prop`, the pool's properties (as `daos_cont_query` fills them).
///
/// Errors: `-DER_NO_HDL`.
///
/// # Safety
/// Pointers are NULL or valid until the operation completes.
#[no_mangle]
pub unsafe extern "C" fn daos_pool_query(
    poh: daos_handle_t,
    ranks: *mut *mut d_rank_list_t,
    info: *mut daos_pool_info_t,
    pool_prop: *mut daos_prop_t,
    ev: *mut daos_event_t,
) -> c_int {
    let pool = match handle::pool(poh) {
        Ok(p) => p,
        Err(err) => return err.rc(),
    };
    let (ranks, info, prop) = (Out(ranks), Out(info), Out(pool_prop));
    let props = pool.props().clone();
    let engine_ranks: Vec<u32> = pool.map().ranks.iter().map(|r| r.rank).collect();
    submit(
        ev,
        Family::Der,
        move |net| async move { pool.query(&net).await },
        move |q| {
            if info.is_set() {
                // SAFETY: non-NULL and valid until completion.
                fill_info(unsafe { &mut *info.ptr() }, &q);
            }
            if prop.is_set() {
                // SAFETY: non-NULL and valid until completion.
                let _ = crate::prop::fill(unsafe { &mut *prop.ptr() }, &props);
            }
            if ranks.is_set() {
                ranks.write(rank_list_from(&engine_ranks));
            }
        },
    )
}

/// A `d_rank_list_t` allocated with libc (freed by `d_rank_list_free` or `free`).
fn rank_list_from(ranks: &[u32]) -> *mut d_rank_list_t {
    // SAFETY: calloc results are checked; the copy stays within the allocation.
    unsafe {
        let list = libc::calloc(1, std::mem::size_of::<d_rank_list_t>()) as *mut d_rank_list_t;
        if list.is_null() {
            return list;
        }
        let array = libc::calloc(ranks.len().max(1), 4) as *mut u32;
        if array.is_null() {
            libc::free(list as *mut libc::c_void);
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(ranks.as_ptr(), array, ranks.len());
        (*list).rl_ranks = array;
        (*list).rl_nr = ranks.len() as u32;
        list
    }
}

/// Writes `bytes` into `glob` with DAOS's two-pass protocol: a NULL `iov_buf` only learns the
/// size (`iov_buf_len`), a short buffer is `-DER_TRUNC`.
///
/// # Safety
/// `glob` is NULL or valid; its `iov_buf` is NULL or valid for `iov_buf_len` bytes.
pub(crate) unsafe fn to_global(glob: *mut d_iov_t, bytes: &[u8]) -> Result<(), Error> {
    if glob.is_null() {
        return Err(inval("glob is NULL"));
    }
    // SAFETY: checked non-NULL.
    let g = unsafe { &mut *glob };
    if g.iov_buf.is_null() {
        g.iov_buf_len = bytes.len();
        g.iov_len = bytes.len();
        return Ok(());
    }
    if g.iov_buf_len < bytes.len() {
        return Err(Error::new(
            Der::Trunc,
            format!(
                "global handle needs {} bytes, buffer has {}",
                bytes.len(),
                g.iov_buf_len
            ),
        ));
    }
    // SAFETY: the buffer holds `iov_buf_len >= bytes.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), g.iov_buf as *mut u8, bytes.len()) };
    g.iov_len = bytes.len();
    Ok(())
}

/// The bytes of a global handle. Errors: `-DER_INVAL` for an empty iov.
///
/// # Safety
/// `glob.iov_buf` is NULL or valid for `iov_len` bytes.
pub(crate) unsafe fn from_global<'a>(glob: &d_iov_t) -> Result<&'a [u8], Error> {
    if glob.iov_buf.is_null()
        || glob.iov_len == 0
        || glob.iov_len > glob.iov_buf_len.max(glob.iov_len)
    {
        return Err(inval("global handle iov is empty"));
    }
    // SAFETY: the caller's iov describes `iov_len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(glob.iov_buf as *const u8, glob.iov_len) })
}

/// `int daos_pool_local2global(daos_handle_t poh, d_iov_t *glob)`.
///
/// Errors: `-DER_NO_HDL`; `-DER_INVAL` for NULL `glob`; `-DER_TRUNC` for a short buffer.
///
/// # Safety
/// As [`to_global`].
#[no_mangle]
pub unsafe extern "C" fn daos_pool_local2global(poh: daos_handle_t, glob: *mut d_iov_t) -> c_int {
    guard("daos_pool_local2global", || {
        let pool = handle::pool(poh)?;
        pool.check_open()?;
        // SAFETY: forwarded contract.
        unsafe { to_global(glob, &pool.to_global()) }
    })
}

/// `int daos_pool_global2local(d_iov_t glob, daos_handle_t *poh)`: a working pool handle in
/// this process; disconnecting it is local only.
///
/// Errors: `-DER_INVAL` for bytes that are not a global pool handle or NULL `poh`.
///
/// # Safety
/// As [`from_global`]; `poh` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_pool_global2local(glob: d_iov_t, poh: *mut daos_handle_t) -> c_int {
    guard("daos_pool_global2local", || {
        if poh.is_null() {
            return Err(inval("poh is NULL"));
        }
        // SAFETY: forwarded contract.
        let bytes = unsafe { from_global(&glob) }?;
        let pool = Pool::from_global(&crate::client()?, bytes)?;
        // SAFETY: checked non-NULL.
        unsafe { *poh = handle::insert(handle::Entry::Pool(pool)) };
        Ok(())
    })
}
