//! Property lists (`daos_prop.h`): `daos_prop_t` in C, [`Props`] in Rust.
//!
//! Memory follows DAOS: the list, its entries, strings (`dpe_str`) and pointer values
//! (`dpe_val_ptr`: `DAOS_PROP_CO_ROOTS`, ACLs) are allocated with libc `malloc`, so
//! `daos_prop_free` frees them, and so may a C caller who set them with `strdup`.

use crate::types::*;
use crate::{c_str, guard, inval};
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Error, ObjectId};
use std::ffi::{c_char, c_int, c_void, CString};

/// `DAOS_PROP_ENTRIES_MAX_NR`.
const ENTRIES_MAX: u32 = 128;

/// Whether an entry type carries a string (`dpe_str`).
fn is_text(kind: u32) -> bool {
    matches!(
        kind,
        prop::PO_LABEL
            | prop::PO_OWNER
            | prop::PO_OWNER_GROUP
            | prop::CO_LABEL
            | prop::CO_OWNER
            | prop::CO_OWNER_GROUP
    )
}

/// Whether an entry type carries a pointer to a structure (`dpe_val_ptr`).
fn is_pointer(kind: u32) -> bool {
    matches!(
        kind,
        prop::PO_ACL | prop::CO_ACL | prop::CO_ROOTS | prop::PO_SVC_LIST
    )
}

fn strdup(s: &str) -> *mut c_char {
    let c = CString::new(s.replace('\0', "")).unwrap_or_default();
    // SAFETY: `c` is a valid NUL-terminated string; libc copies it.
    unsafe { libc::strdup(c.as_ptr()) }
}

fn malloc_copy(bytes: &[u8]) -> *mut c_void {
    // SAFETY: malloc of at least one byte; the copy stays inside it.
    unsafe {
        let p = libc::malloc(bytes.len().max(1));
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p as *mut u8, bytes.len());
        }
        p
    }
}

/// Frees what an entry's value points to (if anything) and clears it.
fn free_value(entry: &mut daos_prop_entry) {
    if (is_text(entry.dpe_type) || is_pointer(entry.dpe_type)) && entry.dpe_val != 0 {
        // SAFETY: text and pointer values are malloc'd (by us or by the caller, as DAOS
        // requires), and owned by the list.
        unsafe { libc::free(entry.dpe_val as *mut c_void) };
    }
    entry.dpe_val = 0;
}

/// Sets a C entry from a Rust value (freeing what it held).
fn set_value(entry: &mut daos_prop_entry, value: &PropValue) {
    free_value(entry);
    entry.dpe_flags &= !DAOS_PROP_ENTRY_NOT_SET;
    entry.dpe_val = match value {
        PropValue::Number(n) => *n,
        PropValue::Text(s) => strdup(s) as u64,
        PropValue::Roots(roots) => {
            let mut c = daos_prop_co_roots::default();
            for (slot, oid) in c.cr_oids.iter_mut().zip(roots) {
                *slot = daos_obj_id_t {
                    lo: oid.lo,
                    hi: oid.hi,
                };
            }
            // SAFETY: `c` is plain old data of its own size.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    &c as *const daos_prop_co_roots as *const u8,
                    std::mem::size_of::<daos_prop_co_roots>(),
                )
            };
            malloc_copy(bytes) as u64
        }
        PropValue::Bytes(b) => malloc_copy(b) as u64,
    };
}

/// Fills `out` from `props`, as `daos_cont_query`/`daos_pool_query` do: an empty list
/// (`dpp_nr == 0`) receives every property (entries allocated here); otherwise each entry's
/// `dpe_type` says what to fill, and types the object lacks get `DAOS_PROP_ENTRY_NOT_SET`.
pub(crate) fn fill(out: &mut daos_prop_t, props: &Props) -> Result<(), Error> {
    if out.dpp_nr == 0 {
        let entries = props.entries();
        if entries.is_empty() {
            return Ok(());
        }
        // SAFETY: calloc of `len` zeroed entries.
        let p = unsafe { libc::calloc(entries.len(), std::mem::size_of::<daos_prop_entry>()) }
            as *mut daos_prop_entry;
        if p.is_null() {
            return Err(Error::new(daos_types::Der::Nomem, "allocating properties"));
        }
        for (i, e) in entries.iter().enumerate() {
            // SAFETY: `p` holds `entries.len()` zeroed entries.
            let slot = unsafe { &mut *p.add(i) };
            slot.dpe_type = e.kind;
            set_value(slot, &e.value);
        }
        out.dpp_entries = p;
        out.dpp_nr = entries.len() as u32;
        return Ok(());
    }
    if out.dpp_entries.is_null() {
        return Err(inval("property list has entries but no array"));
    }
    for i in 0..out.dpp_nr as usize {
        // SAFETY: the caller's list holds `dpp_nr` entries.
        let slot = unsafe { &mut *out.dpp_entries.add(i) };
        match props.get(slot.dpe_type) {
            Some(value) => set_value(slot, value),
            None => {
                free_value(slot);
                slot.dpe_flags |= DAOS_PROP_ENTRY_NOT_SET;
            }
        }
    }
    Ok(())
}

/// Reads a C property list into [`Props`]. Errors: `-DER_INVAL` for malformed entries.
///
/// # Safety
/// `p` is NULL or a valid list whose text entries are NUL-terminated strings.
pub(crate) unsafe fn to_props(p: *const daos_prop_t) -> Result<Props, Error> {
    let mut props = Props::new();
    if p.is_null() {
        return Ok(props);
    }
    // SAFETY: non-NULL, valid by contract.
    let list = unsafe { &*p };
    if list.dpp_nr > ENTRIES_MAX || (list.dpp_nr > 0 && list.dpp_entries.is_null()) {
        return Err(inval("malformed property list"));
    }
    for i in 0..list.dpp_nr as usize {
        // SAFETY: `dpp_nr` entries.
        let e = unsafe { &*list.dpp_entries.add(i) };
        if e.dpe_flags & DAOS_PROP_ENTRY_NOT_SET != 0 {
            continue;
        }
        let value = if is_text(e.dpe_type) {
            // SAFETY: text entries hold strings by contract.
            let s = unsafe { c_str(e.dpe_val as *const c_char, "property string") }?;
            PropValue::Text(s.to_string())
        } else if e.dpe_type == prop::CO_ROOTS {
            if e.dpe_val == 0 {
                return Err(inval("DAOS_PROP_CO_ROOTS without a value"));
            }
            // SAFETY: a CO_ROOTS entry points to a `daos_prop_co_roots`.
            let r = unsafe { &*(e.dpe_val as *const daos_prop_co_roots) };
            PropValue::Roots(r.cr_oids.map(|o| ObjectId::new(o.lo, o.hi)))
        } else if is_pointer(e.dpe_type) {
            return Err(Error::new(
                daos_types::Der::Notsupported,
                format!(
                    "property {:#x} (ACL or service list) cannot be set here",
                    e.dpe_type
                ),
            ));
        } else {
            PropValue::Number(e.dpe_val)
        };
        props.set(e.dpe_type, value);
    }
    Ok(props)
}

/// `daos_prop_t *daos_prop_alloc(uint32_t entries_nr)`: a list of zeroed entries (0 allowed),
/// or NULL for more than `DAOS_PROP_ENTRIES_MAX_NR` or out of memory.
#[no_mangle]
pub extern "C" fn daos_prop_alloc(entries_nr: u32) -> *mut daos_prop_t {
    if entries_nr > ENTRIES_MAX {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc results are checked before use.
    unsafe {
        let p = libc::calloc(1, std::mem::size_of::<daos_prop_t>()) as *mut daos_prop_t;
        if p.is_null() || entries_nr == 0 {
            return p;
        }
        let e = libc::calloc(entries_nr as usize, std::mem::size_of::<daos_prop_entry>())
            as *mut daos_prop_entry;
        if e.is_null() {
            libc::free(p as *mut c_void);
            return std::ptr::null_mut();
        }
        (*p).dpp_nr = entries_nr;
        (*p).dpp_entries = e;
        p
    }
}

/// `void daos_prop_fini(daos_prop_t *prop)`: frees the entries and their values, not the list.
///
/// # Safety
/// `prop` is NULL or a list whose memory is malloc'd as described in this module.
#[no_mangle]
pub unsafe extern "C" fn daos_prop_fini(prop: *mut daos_prop_t) {
    if prop.is_null() {
        return;
    }
    // SAFETY: valid by contract.
    let list = unsafe { &mut *prop };
    if !list.dpp_entries.is_null() {
        for i in 0..list.dpp_nr as usize {
            // SAFETY: `dpp_nr` entries.
            free_value(unsafe { &mut *list.dpp_entries.add(i) });
        }
        // SAFETY: malloc'd array.
        unsafe { libc::free(list.dpp_entries as *mut c_void) };
    }
    list.dpp_entries = std::ptr::null_mut();
    list.dpp_nr = 0;
}

/// `void daos_prop_free(daos_prop_t *prop)`: frees the list, its entries and their values.
///
/// # Safety
/// `prop` is NULL or came from `daos_prop_alloc` (or is malloc'd likewise).
#[no_mangle]
pub unsafe extern "C" fn daos_prop_free(prop: *mut daos_prop_t) {
    if prop.is_null() {
        return;
    }
    // SAFETY: forwarded contract; the list itself is malloc'd.
    unsafe {
        daos_prop_fini(prop);
        libc::free(prop as *mut c_void);
    }
}

/// `struct daos_prop_entry *daos_prop_entry_get(daos_prop_t *prop, uint32_t type)`: the
/// entry of that type, or NULL.
///
/// # Safety
/// `prop` is NULL or a valid list.
#[no_mangle]
pub unsafe extern "C" fn daos_prop_entry_get(
    prop: *mut daos_prop_t,
    kind: u32,
) -> *mut daos_prop_entry {
    if prop.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: valid by contract.
    let list = unsafe { &*prop };
    if list.dpp_entries.is_null() {
        return std::ptr::null_mut();
    }
    (0..list.dpp_nr as usize)
        // SAFETY: `dpp_nr` entries.
        .map(|i| unsafe { list.dpp_entries.add(i) })
        // SAFETY: as above.
        .find(|e| unsafe { (**e).dpe_type } == kind)
        .unwrap_or(std::ptr::null_mut())
}

/// `int daos_prop_from_str(const char *str, daos_size_t len, daos_prop_t **prop)`: parses
/// creation-time container properties written as `name:value` pairs separated by `;`
/// (DAOS's form; `,` is accepted too), e.g. `"label:x;cksum:crc32;rd_fac:1"`.
///
/// Errors: `-DER_INVAL` for NULL arguments or an unknown property or value.
///
/// # Safety
/// `s` is NULL or valid for `len` bytes; `prop` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn daos_prop_from_str(
    s: *const c_char,
    len: u64,
    prop: *mut *mut daos_prop_t,
) -> c_int {
    guard("daos_prop_from_str", || {
        if s.is_null() || prop.is_null() {
            return Err(inval("NULL argument"));
        }
        // SAFETY: `len` readable bytes by contract.
        let bytes = unsafe { std::slice::from_raw_parts(s as *const u8, len as usize) };
        let bytes = bytes.split(|b| *b == 0).next().unwrap_or_default();
        let text = std::str::from_utf8(bytes).map_err(|_| inval("properties are not UTF-8"))?;
        let text = text.trim_end_matches(';').replace(';', ",");
        let props = prop::parse_container_properties(&text)?;
        let out = daos_prop_alloc(0);
        if out.is_null() {
            return Err(Error::new(daos_types::Der::Nomem, "allocating properties"));
        }
        // SAFETY: freshly allocated list.
        if let Err(err) = fill(unsafe { &mut *out }, &props) {
            // SAFETY: ours to free.
            unsafe { daos_prop_free(out) };
            return Err(err);
        }
        // SAFETY: checked non-NULL.
        unsafe { *prop = out };
        Ok(())
    })
}
