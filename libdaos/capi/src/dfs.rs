//! `libdfs` entry points (`daos_fs.h`): the POSIX namespace of [`daos_dfs`] for C programs,
//! with DFS's conventions: positive errno returns (also in `ev_error` for non-blocking
//! calls), `dfs_t *` and `dfs_obj_t *` as opaque pointers.
//!
//! A pointer this library did not hand out, or one already released, is `EINVAL` rather than
//! a crash: live pointers are tracked in a set.

use crate::event::{submit, Family};
use crate::obj::{anchor_in, anchor_out, sgl_of};
use crate::pool::{from_global, to_global, Out};
use crate::types::*;
use crate::{handle, prop};
use daos_client::{IoVec, SgList};
use daos_dfs::{Dfs, DfsError, DfsObj};
use daos_types::{Der, Error};
use std::collections::HashSet;
use std::ffi::{c_char, c_int, CStr};
use std::sync::{Arc, Mutex};

/// What a `dfs_t *` points to.
pub struct DfsHandle {
    dfs: Arc<Dfs>,
    prefix: Mutex<Option<String>>,
    /// Pool and container handles `dfs_connect` opened (closed by `dfs_disconnect`).
    owned: Option<(daos_handle_t, daos_handle_t)>,
}

/// What a `dfs_obj_t *` points to.
pub struct ObjHandle {
    obj: Arc<DfsObj>,
    /// The open flags (`O_RDONLY`, `O_WRONLY`, `O_RDWR`): reads of a write-only and writes
    /// of a read-only object are `EPERM`, as in DFS.
    flags: c_int,
}

static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);
static INIT_REFS: Mutex<u32> = Mutex::new(0);

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<usize>>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

fn einval(message: impl Into<String>) -> DfsError {
    DfsError::new(libc::EINVAL, message.into())
}

fn remember<T>(b: Box<T>) -> *mut T {
    let p = Box::into_raw(b);
    live().get_or_insert_with(HashSet::new).insert(p as usize);
    p
}

fn is_live<T>(p: *const T) -> bool {
    !p.is_null() && live().as_ref().is_some_and(|s| s.contains(&(p as usize)))
}

/// Frees a pointer handed out by [`remember`]. Errors: `EINVAL` if it is not live.
fn forget<T>(p: *mut T) -> Result<Box<T>, DfsError> {
    if !live().as_mut().is_some_and(|s| s.remove(&(p as usize))) {
        return Err(einval("not a live DFS handle"));
    }
    // SAFETY: the pointer came from `Box::into_raw` in `remember` and was live until now.
    Ok(unsafe { Box::from_raw(p) })
}

fn dfs_of<'a>(p: *mut DfsHandle) -> Result<&'a DfsHandle, DfsError> {
    if !is_live(p) {
        return Err(einval("dfs is NULL, unmounted or not a mount"));
    }
    // SAFETY: live pointers point to boxed handles until `forget`.
    Ok(unsafe { &*p })
}

/// The object, or the root for NULL (`parent == NULL` means the root in DFS).
fn parent_of(dfs: &DfsHandle, p: *mut ObjHandle) -> Result<Arc<DfsObj>, DfsError> {
    if p.is_null() {
        return Ok(Arc::new(dfs.dfs.root().clone()));
    }
    obj_of(p)
}

fn obj_of(p: *mut ObjHandle) -> Result<Arc<DfsObj>, DfsError> {
    if !is_live(p) {
        return Err(einval("obj is NULL, released or not a DFS object"));
    }
    // SAFETY: live pointers point to boxed handles until `forget`.
    Ok(unsafe { (*p).obj.clone() })
}

fn run(name: &str, body: impl FnOnce() -> Result<(), DfsError>) -> c_int {
    crate::guard_errno(name, body)
}

fn errno_of(e: DfsError) -> c_int {
    e.errno()
}

fn der(e: Error) -> DfsError {
    DfsError::from(e)
}

/// A C string argument. Errors: `EINVAL` for NULL or non-UTF-8.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
unsafe fn text<'a>(s: *const c_char, what: &str) -> Result<&'a str, DfsError> {
    if s.is_null() {
        return Err(einval(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL, NUL-terminated by contract.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| einval(format!("{what} is not UTF-8")))
}

/// Blocking run of a DFS future on the calling thread's endpoint.
fn block<T>(
    f: impl AsyncFnOnce(&Arc<daos_client::NetContext>) -> Result<T, DfsError>,
) -> Result<T, DfsError> {
    let net = crate::client().map_err(der)?.thread_net().map_err(der)?;
    daos_fabric::block_on(&net, f(&net))
}

/// `int dfs_init(void)`: reference-counted `daos_init` for DFS users (`dfs_connect` needs it).
#[no_mangle]
pub extern "C" fn dfs_init() -> c_int {
    run("dfs_init", || {
        let rc = crate::daos_init();
        if rc != 0 {
            return Err(DfsError::new(
                Der::from_value(-rc).unwrap_or(Der::Misc).to_errno(),
                "daos_init failed",
            ));
        }
        *INIT_REFS.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(())
    })
}

/// `int dfs_fini(void)`. Errors: `EINVAL` without a matching `dfs_init`.
#[no_mangle]
pub extern "C" fn dfs_fini() -> c_int {
    run("dfs_fini", || {
        let mut refs = INIT_REFS.lock().unwrap_or_else(|p| p.into_inner());
        if *refs == 0 {
            return Err(einval("dfs_fini without dfs_init"));
        }
        *refs -= 1;
        crate::daos_fini();
        Ok(())
    })
}

fn attr_of(attr: *const dfs_attr_t) -> Result<daos_dfs::Attr, DfsError> {
    let mut out = daos_dfs::Attr::default();
    if attr.is_null() {
        return Ok(out);
    }
    // SAFETY: non-NULL; the caller passes a valid attribute struct.
    let a = unsafe { &*attr };
    out.chunk_size = a.da_chunk_size;
    out.oclass = a.da_oclass_id;
    out.dir_oclass = a.da_dir_oclass_id;
    out.file_oclass = a.da_file_oclass_id;
    // SAFETY: `da_props` is NULL or a valid list.
    out.props = unsafe { prop::to_props(a.da_props) }.map_err(der)?;
    Ok(out)
}

/// Creates a POSIX container, then optionally opens it (`coh`) and mounts it (`dfs`).
fn cont_create(
    poh: daos_handle_t,
    label: Option<&str>,
    attr: *const dfs_attr_t,
    uuid_out: *mut [u8; 16],
    coh: *mut daos_handle_t,
    dfs: *mut *mut DfsHandle,
) -> Result<(), DfsError> {
    let pool = handle::pool(poh).map_err(der)?;
    let mut a = attr_of(attr)?;
    if let Some(label) = label {
        a.props.set(
            daos_types::prop::CO_LABEL,
            daos_types::prop::PropValue::Text(label.to_string()),
        );
    }
    let (uuid, cont, mounted) = block(async |net| {
        let uuid = Dfs::create_container(&pool, net, None, a).await?;
        let (cont, mounted) = if !coh.is_null() || !dfs.is_null() {
            let cont = daos_client::Container::open(
                &pool,
                net,
                &uuid.to_string(),
                daos_client::cont::COO_RW,
            )
            .await
            .map_err(der)?;
            let mounted = if dfs.is_null() {
                None
            } else {
                Some(Dfs::mount(&cont, net, libc::O_RDWR).await?)
            };
            (Some(cont), mounted)
        } else {
            (None, None)
        };
        Ok((uuid, cont, mounted))
    })?;
    Out(uuid_out).write(*uuid.as_bytes());
    if let Some(cont) = cont {
        let h = handle::insert(handle::Entry::Cont(cont));
        Out(coh).write(h);
        if let Some(m) = mounted {
            Out(dfs).write(remember(Box::new(DfsHandle {
                dfs: m,
                prefix: Mutex::new(None),
                owned: if coh.is_null() {
                    Some((daos_handle_t::default(), h))
                } else {
                    None
                },
            })));
        }
    }
    Ok(())
}

/// `int dfs_cont_create(daos_handle_t poh, uuid_t *uuid, dfs_attr_t *attr, daos_handle_t
/// *coh, dfs_t **dfs)`: creates a POSIX container; writes its UUID to `uuid` (if given),
/// and opens it into `coh` and/or mounts it into `dfs` when those are given.
///
/// Errors: `EINVAL`; `EEXIST` for a taken label (in `attr->da_props`).
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_cont_create(
    poh: daos_handle_t,
    uuid: *mut [u8; 16],
    attr: *mut dfs_attr_t,
    coh: *mut daos_handle_t,
    dfs: *mut *mut DfsHandle,
) -> c_int {
    run("dfs_cont_create", || {
        cont_create(poh, None, attr, uuid, coh, dfs)
    })
}

/// `int dfs_cont_create_with_label(daos_handle_t poh, const char *label, dfs_attr_t *attr,
/// uuid_t *uuid, daos_handle_t *coh, dfs_t **dfs)`.
///
/// Errors: as [`dfs_cont_create`]; `EEXIST` if the label is taken.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_cont_create_with_label(
    poh: daos_handle_t,
    label: *const c_char,
    attr: *mut dfs_attr_t,
    uuid: *mut [u8; 16],
    coh: *mut daos_handle_t,
    dfs: *mut *mut DfsHandle,
) -> c_int {
    run("dfs_cont_create_with_label", || {
        // SAFETY: forwarded contract.
        let label = unsafe { text(label, "label") }?;
        cont_create(poh, Some(label), attr, uuid, coh, dfs)
    })
}

/// `int dfs_mount(daos_handle_t poh, daos_handle_t coh, int flags, dfs_t **dfs)`: `flags`
/// `O_RDONLY` or `O_RDWR`.
///
/// Errors: `EINVAL` for bad handles, a non-POSIX container or NULL `dfs`; `EPERM`.
///
/// # Safety
/// `dfs` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dfs_mount(
    poh: daos_handle_t,
    coh: daos_handle_t,
    flags: c_int,
    dfs: *mut *mut DfsHandle,
) -> c_int {
    run("dfs_mount", || {
        handle::pool(poh).map_err(|_| einval("bad pool handle"))?;
        let cont = handle::cont(coh).map_err(|_| einval("bad container handle"))?;
        if dfs.is_null() {
            return Err(einval("dfs is NULL"));
        }
        let mounted = block(async |net| Dfs::mount(&cont, net, flags & libc::O_ACCMODE).await)?;
        Out(dfs).write(remember(Box::new(DfsHandle {
            dfs: mounted,
            prefix: Mutex::new(None),
            owned: None,
        })));
        Ok(())
    })
}

/// `int dfs_umount(dfs_t *dfs)`. Errors: `EINVAL` for an unknown mount.
///
/// # Safety
/// `dfs` is any pointer.
#[no_mangle]
pub unsafe extern "C" fn dfs_umount(dfs: *mut DfsHandle) -> c_int {
    run("dfs_umount", || {
        let h = forget(dfs)?;
        if let Some((poh, coh)) = h.owned {
            // SAFETY: handles by value; NULL event = blocking.
            unsafe { crate::cont::daos_cont_close(coh, std::ptr::null_mut()) };
            if poh.cookie != 0 {
                // SAFETY: as above.
                unsafe { crate::pool::daos_pool_disconnect(poh, std::ptr::null_mut()) };
            }
        }
        Ok(())
    })
}

/// `int dfs_connect(const char *pool, const char *sys, const char *cont, int flags,
/// dfs_attr_t *attr, dfs_t **dfs)`: connects to the pool, opens (with `O_CREAT`, creates
/// first if absent) the POSIX container and mounts it; `dfs_disconnect` undoes all three.
///
/// Errors: `EACCES` without `dfs_init`; `ENOENT` for an unknown pool or container; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_connect(
    pool: *const c_char,
    sys: *const c_char,
    cont: *const c_char,
    flags: c_int,
    attr: *mut dfs_attr_t,
    dfs: *mut *mut DfsHandle,
) -> c_int {
    let _ = sys;
    run("dfs_connect", || {
        if *INIT_REFS.lock().unwrap_or_else(|p| p.into_inner()) == 0 {
            return Err(DfsError::new(libc::EACCES, "dfs_connect needs dfs_init"));
        }
        // SAFETY: forwarded contract.
        let (pool_id, cont_id) = unsafe { (text(pool, "pool")?, text(cont, "cont")?) };
        if dfs.is_null() {
            return Err(einval("dfs is NULL"));
        }
        let a = attr_of(attr)?;
        let client = crate::client().map_err(der)?;
        let rw = flags & libc::O_ACCMODE == libc::O_RDWR;
        let (p, c, m) = block(async |net| {
            let pc = if rw {
                daos_client::pool::PC_RW
            } else {
                daos_client::pool::PC_RO
            };
            let p = daos_client::Pool::connect(&client, net, pool_id, pc)
                .await
                .map_err(der)?;
            let co = if rw {
                daos_client::cont::COO_RW
            } else {
                daos_client::cont::COO_RO
            };
            let c = match daos_client::Container::open(&p, net, cont_id, co).await {
                Ok(c) => c,
                Err(e) if e.der() == Der::Nonexist && flags & libc::O_CREAT != 0 => {
                    let mut a = a;
                    if daos_types::label::check_label(cont_id).is_ok() {
                        a.props.set(
                            daos_types::prop::CO_LABEL,
                            daos_types::prop::PropValue::Text(cont_id.to_string()),
                        );
                    }
                    let uuid = Dfs::create_container(&p, net, None, a).await?;
                    daos_client::Container::open(&p, net, &uuid.to_string(), co)
                        .await
                        .map_err(der)?
                }
                Err(e) => {
                    let _ = p.disconnect(net).await;
                    return Err(der(e));
                }
            };
            let m = Dfs::mount(&c, net, flags & libc::O_ACCMODE).await?;
            Ok((p, c, m))
        })?;
        let poh = handle::insert(handle::Entry::Pool(p));
        let coh = handle::insert(handle::Entry::Cont(c));
        Out(dfs).write(remember(Box::new(DfsHandle {
            dfs: m,
            prefix: Mutex::new(None),
            owned: Some((poh, coh)),
        })));
        Ok(())
    })
}

/// `int dfs_disconnect(dfs_t *dfs)`: unmounts, closes the container and disconnects the
/// pool that `dfs_connect` opened.
///
/// # Safety
/// `dfs` is any pointer.
#[no_mangle]
pub unsafe extern "C" fn dfs_disconnect(dfs: *mut DfsHandle) -> c_int {
    // SAFETY: same contract.
    unsafe { dfs_umount(dfs) }
}

/// `int dfs_set_prefix(dfs_t *dfs, const char *prefix)`: later absolute paths must start
/// with `prefix`, which is stripped; NULL removes it.
///
/// # Safety
/// `prefix` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn dfs_set_prefix(dfs: *mut DfsHandle, prefix: *const c_char) -> c_int {
    run("dfs_set_prefix", || {
        let h = dfs_of(dfs)?;
        let value = if prefix.is_null() {
            None
        } else {
            // SAFETY: forwarded contract.
            let p = unsafe { text(prefix, "prefix") }?;
            if !p.starts_with('/') {
                return Err(einval("prefix must be absolute"));
            }
            Some(p.trim_end_matches('/').to_string())
        };
        *h.prefix.lock().unwrap_or_else(|p| p.into_inner()) = value;
        Ok(())
    })
}

fn new_obj(obj: DfsObj, flags: c_int) -> *mut ObjHandle {
    remember(Box::new(ObjHandle {
        obj: Arc::new(obj),
        flags: flags & libc::O_ACCMODE,
    }))
}

/// Fills a `struct stat` from an entry's facts.
fn fill_stat(st: &mut libc::stat, s: &daos_dfs::Stat) {
    // SAFETY: `libc::stat` is plain old data; zeroes are valid.
    *st = unsafe { std::mem::zeroed() };
    st.st_mode = s.mode;
    st.st_size = s.size as i64;
    st.st_uid = s.uid;
    st.st_gid = s.gid;
    st.st_nlink = 1;
    st.st_blksize = 4096;
    st.st_blocks = s.size.div_ceil(512) as i64;
    st.st_ino = s.oid.lo ^ s.oid.hi.rotate_left(32);
    let (sec, nsec) = (
        (s.mtime_ns / 1_000_000_000) as i64,
        (s.mtime_ns % 1_000_000_000) as i64,
    );
    st.st_mtime = sec;
    st.st_mtime_nsec = nsec;
    st.st_atime = sec;
    st.st_atime_nsec = nsec;
    st.st_ctime = (s.ctime_ns / 1_000_000_000) as i64;
    st.st_ctime_nsec = (s.ctime_ns % 1_000_000_000) as i64;
}

/// `int dfs_lookup(dfs_t *dfs, const char *path, int flags, dfs_obj_t **obj, mode_t *mode,
/// struct stat *stbuf)`: opens an absolute path ("/" is the root); `mode` and `stbuf` are
/// optional outputs.
///
/// Errors: `EINVAL` for a relative path or one outside the prefix; `ENOENT`; `ENOTDIR`;
/// `ENOTSUP` for `O_APPEND`; `ELOOP`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_lookup(
    dfs: *mut DfsHandle,
    path: *const c_char,
    flags: c_int,
    obj: *mut *mut ObjHandle,
    mode: *mut u32,
    stbuf: *mut libc::stat,
) -> c_int {
    run("dfs_lookup", || {
        let h = dfs_of(dfs)?;
        // SAFETY: forwarded contract.
        let path = unsafe { text(path, "path") }?;
        if obj.is_null() {
            return Err(einval("obj is NULL"));
        }
        if flags & libc::O_APPEND != 0 {
            return Err(DfsError::new(libc::ENOTSUP, "O_APPEND is not supported"));
        }
        if !path.starts_with('/') {
            return Err(einval("path must be absolute"));
        }
        let prefix = h.prefix.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let path = match prefix {
            Some(p) if !p.is_empty() => match path.strip_prefix(p.as_str()) {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => return Err(einval("path is outside the prefix")),
            },
            _ => path,
        };
        let d = h.dfs.clone();
        let want_stat = !stbuf.is_null();
        let (found, stat) = block(async |net| {
            let found = d.lookup(net, path, flags).await?;
            let stat = if want_stat {
                Some(d.ostat(net, &found).await?)
            } else {
                None
            };
            Ok((found, stat))
        })?;
        if let Some(s) = stat {
            // SAFETY: non-NULL, valid by contract.
            fill_stat(unsafe { &mut *stbuf }, &s);
        }
        Out(mode).write(found.mode());
        Out(obj).write(new_obj(found, flags));
        Ok(())
    })
}

/// `int dfs_open(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode, int flags,
/// daos_oclass_id_t cid, daos_size_t chunk_size, const char *value, dfs_obj_t **obj)`:
/// `parent` NULL is the root; `mode` carries the type (`S_IFREG`, `S_IFDIR`, `S_IFLNK`)
/// and permissions; `cid`/`chunk_size` 0 are the container's defaults; `value` is a new
/// symlink's target.
///
/// Errors: `EEXIST` for `O_CREAT|O_EXCL` on an existing name; `ENOENT`; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_open(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    mode: u32,
    flags: c_int,
    cid: u32,
    chunk_size: u64,
    value: *const c_char,
    obj: *mut *mut ObjHandle,
) -> c_int {
    run("dfs_open", || {
        let h = dfs_of(dfs)?;
        let parent = parent_of(h, parent)?;
        // SAFETY: forwarded contract.
        let name = unsafe { text(name, "name") }?;
        let link = if value.is_null() {
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { text(value, "value") }?.as_bytes().to_vec())
        };
        if obj.is_null() {
            return Err(einval("obj is NULL"));
        }
        let d = h.dfs.clone();
        let opened = block(async |net| {
            d.open(
                net,
                &parent,
                name.as_bytes(),
                mode,
                flags,
                cid,
                chunk_size,
                link.as_deref(),
            )
            .await
        })?;
        Out(obj).write(new_obj(opened, flags));
        Ok(())
    })
}

/// `int dfs_release(dfs_obj_t *obj)`. Errors: `EINVAL` for an unknown object.
///
/// # Safety
/// `obj` is any pointer.
#[no_mangle]
pub unsafe extern "C" fn dfs_release(obj: *mut ObjHandle) -> c_int {
    run("dfs_release", || forget(obj).map(drop))
}

/// `int dfs_mkdir(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode,
/// daos_oclass_id_t cid)`.
///
/// Errors: `EEXIST` if the name exists; `ENOENT`; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_mkdir(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    mode: u32,
    cid: u32,
) -> c_int {
    run("dfs_mkdir", || {
        let h = dfs_of(dfs)?;
        let parent = parent_of(h, parent)?;
        // SAFETY: forwarded contract.
        let name = unsafe { text(name, "name") }?;
        let d = h.dfs.clone();
        block(async |net| {
            d.mkdir(net, &parent, name.as_bytes(), mode | libc::S_IFDIR, cid)
                .await
        })
        .map(drop)
    })
}

/// `int dfs_remove(dfs_t *dfs, dfs_obj_t *parent, const char *name, bool force,
/// daos_obj_id_t *oid)`: unlink or rmdir; a non-empty directory only with `force`; the
/// removed object's id goes to `oid` if given.
///
/// Errors: `ENOENT`; `ENOTEMPTY`; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_remove(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    force: bool,
    oid: *mut daos_obj_id_t,
) -> c_int {
    run("dfs_remove", || {
        let h = dfs_of(dfs)?;
        let parent = parent_of(h, parent)?;
        // SAFETY: forwarded contract.
        let name = unsafe { text(name, "name") }?;
        let d = h.dfs.clone();
        let removed = block(async |net| {
            let entry = d.entry(net, &parent, name.as_bytes()).await?;
            d.remove(net, &parent, name.as_bytes(), force).await?;
            Ok(entry)
        })?;
        if let Some(e) = removed {
            Out(oid).write(daos_obj_id_t {
                lo: e.oid.lo,
                hi: e.oid.hi,
            });
        }
        Ok(())
    })
}

/// `int dfs_move(dfs_t *dfs, dfs_obj_t *parent, const char *name, dfs_obj_t *new_parent,
/// const char *new_name, daos_obj_id_t *oid)`: rename, replacing an existing target.
///
/// Errors: `ENOENT`; `ENOTEMPTY` for a non-empty target directory; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_move(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    new_parent: *mut ObjHandle,
    new_name: *const c_char,
    oid: *mut daos_obj_id_t,
) -> c_int {
    let _ = oid;
    run("dfs_move", || {
        let h = dfs_of(dfs)?;
        let (p, np) = (parent_of(h, parent)?, parent_of(h, new_parent)?);
        // SAFETY: forwarded contract.
        let (name, new_name) = unsafe { (text(name, "name")?, text(new_name, "new_name")?) };
        let d = h.dfs.clone();
        block(async |net| {
            d.rename(net, &p, name.as_bytes(), &np, new_name.as_bytes())
                .await
        })
    })
}

/// `int dfs_stat(dfs_t *dfs, dfs_obj_t *parent, const char *name, struct stat *stbuf)`:
/// `name` NULL stats `parent` itself.
///
/// Errors: `ENOENT`; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_stat(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    stbuf: *mut libc::stat,
) -> c_int {
    run("dfs_stat", || {
        let h = dfs_of(dfs)?;
        let parent = parent_of(h, parent)?;
        let name = if name.is_null() {
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { text(name, "name") }?.as_bytes().to_vec())
        };
        if stbuf.is_null() {
            return Err(einval("stbuf is NULL"));
        }
        let d = h.dfs.clone();
        let s = block(async |net| d.stat(net, &parent, name.as_deref()).await)?;
        // SAFETY: non-NULL, valid by contract.
        fill_stat(unsafe { &mut *stbuf }, &s);
        Ok(())
    })
}

/// `int dfs_ostat(dfs_t *dfs, dfs_obj_t *obj, struct stat *stbuf)`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_ostat(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    stbuf: *mut libc::stat,
) -> c_int {
    run("dfs_ostat", || {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        if stbuf.is_null() {
            return Err(einval("stbuf is NULL"));
        }
        let d = h.dfs.clone();
        let s = block(async |net| d.ostat(net, &o).await)?;
        // SAFETY: non-NULL, valid by contract.
        fill_stat(unsafe { &mut *stbuf }, &s);
        Ok(())
    })
}

/// `int dfs_get_size(dfs_t *dfs, dfs_obj_t *obj, daos_size_t *size)`.
///
/// Errors: `EINVAL` for a non-file or NULL `size`.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_get_size(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    size: *mut u64,
) -> c_int {
    run("dfs_get_size", || {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        if size.is_null() {
            return Err(einval("size is NULL"));
        }
        let d = h.dfs.clone();
        let n = block(async |net| d.get_size(net, &o).await)?;
        Out(size).write(n);
        Ok(())
    })
}

/// `DFS_MAX_FSIZE`.
const MAX_FSIZE: u64 = u64::MAX;

/// `int dfs_punch(dfs_t *dfs, dfs_obj_t *obj, daos_off_t offset, daos_size_t len)`: with
/// `len == DFS_MAX_FSIZE`, truncates (or extends) the file to `offset`; otherwise zeroes the
/// range (reads as a hole).
///
/// Errors: `EINVAL`; `EPERM` on a read-only mount.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_punch(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    offset: u64,
    len: u64,
) -> c_int {
    run("dfs_punch", || {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        let d = h.dfs.clone();
        if len == MAX_FSIZE {
            return block(async |net| d.set_size(net, &o, offset).await);
        }
        if len == 0 {
            return Ok(());
        }
        let end = offset
            .checked_add(len)
            .ok_or_else(|| einval("range overflows"))?;
        block(async |net| {
            let size = d.get_size(net, &o).await?;
            let stop = end.min(size);
            let mut at = offset;
            while at < stop {
                let n = (stop - at).min(1 << 20);
                d.write(net, &o, at, SgList::from_vec(vec![0u8; n as usize]))
                    .await?;
                at += n;
            }
            Ok(())
        })
    })
}

/// The part `[at, at + len)` of an sgl's byte stream, as iovs.
fn slice_stream(iovs: &[IoVec], mut at: u64, mut len: u64) -> Vec<IoVec> {
    let mut out = Vec::new();
    for v in iovs {
        if len == 0 {
            break;
        }
        let vlen = v.len as u64;
        if at >= vlen {
            at -= vlen;
            continue;
        }
        let take = (vlen - at).min(len);
        // SAFETY: `at + take <= v.len`, inside the iov.
        out.push(IoVec {
            // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
            ptr: unsafe { v.ptr.add(at as usize) },
            len: take as usize,
        });
        len -= take;
        at = 0;
    }
    out
}

/// Ranges of a `dfs_iod_t`. Errors: `EINVAL` for NULL ranges.
///
/// # Safety
/// `iod` is NULL or valid with `iod_nr` ranges.
unsafe fn ranges_of(iod: *const dfs_iod_t) -> Result<Vec<(u64, u64)>, DfsError> {
    if iod.is_null() {
        return Err(einval("iod is NULL"));
    }
    // SAFETY: valid by contract.
    let d = unsafe { &*iod };
    if d.iod_nr > 0 && d.iod_rgs.is_null() {
        return Err(einval("iod_rgs is NULL"));
    }
    // SAFETY: `iod_nr` ranges by contract.
    Ok((0..d.iod_nr as usize)
        .map(|i| unsafe {
            let r = &*d.iod_rgs.add(i);
            (r.rg_idx, r.rg_len)
        })
        .collect())
}

/// Shared body of the four I/O calls: `ranges` of the file against the sgl's stream.
///
/// # Safety
/// `sgl` is valid and its memory stays valid until completion.
unsafe fn io(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    sgl: *mut d_sg_list_t,
    ranges: Option<Vec<(u64, u64)>>,
    offset: u64,
    read_size: *mut u64,
    write: bool,
    ev: *mut daos_event_t,
) -> c_int {
    let prep = (|| -> Result<_, DfsError> {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        // SAFETY: `obj_of` checked that the pointer is live.
        let mode = unsafe { (*obj).flags };
        if (write && mode == libc::O_RDONLY) || (!write && mode == libc::O_WRONLY) {
            return Err(DfsError::new(
                libc::EPERM,
                if write {
                    "object is open read-only"
                } else {
                    "object is open write-only"
                },
            ));
        }
        if sgl.is_null() {
            return Err(einval("sgl is NULL"));
        }
        if !write && read_size.is_null() {
            return Err(einval("read_size is NULL"));
        }
        // SAFETY: forwarded contract.
        let list = unsafe { sgl_of(&*sgl, write) }.map_err(der)?;
        let total = list.len();
        let ranges = ranges.unwrap_or_else(|| vec![(offset, total)]);
        let wanted: u64 = ranges.iter().map(|r| r.1).sum();
        if wanted > total {
            return Err(einval("the ranges hold more bytes than the buffers"));
        }
        Ok((h.dfs.clone(), o, Arc::new(list), ranges))
    })();
    let (d, o, list, ranges) = match prep {
        Ok(v) => v,
        Err(e) => return errno_of(e),
    };
    let out = Out(read_size);
    submit(
        ev,
        Family::Errno,
        move |net| async move {
            let mut at = 0u64;
            let mut done = 0u64;
            for (off, len) in ranges {
                if len == 0 {
                    continue;
                }
                let part = SgList::sub_list(list.clone(), slice_stream(list.iovs(), at, len));
                at += len;
                if write {
                    d.write(&net, &o, off, part).await.map_err(errno_of)?;
                } else {
                    let (n, _) = d.read(&net, &o, off, part).await.map_err(errno_of)?;
                    done += n;
                }
            }
            Ok::<_, c_int>(done)
        },
        move |n| {
            if !write {
                out.write(n);
            }
        },
    )
}

/// `int dfs_write(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off,
/// daos_event_t *ev)`: writes the sgl's bytes (`iov_len`s) at `off`. With `ev`, the result
/// (a positive errno) goes to `ev->ev_error`.
///
/// Errors: `EINVAL`; `EPERM` on a read-only mount or an object opened `O_RDONLY`.
///
/// # Safety
/// Pointers are NULL or valid; the buffers stay valid until completion.
#[no_mangle]
pub unsafe extern "C" fn dfs_write(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    sgl: *mut d_sg_list_t,
    off: u64,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { io(dfs, obj, sgl, None, off, std::ptr::null_mut(), true, ev) }
}

/// `int dfs_read(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off, daos_size_t
/// *read_size, daos_event_t *ev)`: reads up to the sgl's capacity (`iov_buf_len`s) at
/// `off`; `*read_size` is short at end of file; holes read as zeros.
///
/// Errors: `EINVAL`; `EPERM` on an object opened `O_WRONLY`.
///
/// # Safety
/// Pointers are NULL or valid; the buffers stay valid until completion.
#[no_mangle]
pub unsafe extern "C" fn dfs_read(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    sgl: *mut d_sg_list_t,
    off: u64,
    read_size: *mut u64,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { io(dfs, obj, sgl, None, off, read_size, false, ev) }
}

/// `int dfs_writex(dfs_t *dfs, dfs_obj_t *obj, dfs_iod_t *iod, d_sg_list_t *sgl,
/// daos_event_t *ev)`: list I/O: the file ranges of `iod`, in order, take consecutive bytes
/// of the sgl (whose pieces need not line up with the ranges).
///
/// Errors: `EINVAL` (also when the ranges hold more bytes than the buffers).
///
/// # Safety
/// Pointers are NULL or valid; the buffers stay valid until completion.
#[no_mangle]
pub unsafe extern "C" fn dfs_writex(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    iod: *mut dfs_iod_t,
    sgl: *mut d_sg_list_t,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { ranges_of(iod) } {
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        Ok(r) => unsafe { io(dfs, obj, sgl, Some(r), 0, std::ptr::null_mut(), true, ev) },
        Err(e) => errno_of(e),
    }
}

/// `int dfs_readx(dfs_t *dfs, dfs_obj_t *obj, dfs_iod_t *iod, d_sg_list_t *sgl, daos_size_t
/// *read_size, daos_event_t *ev)`: list I/O as [`dfs_writex`]; `*read_size` counts bytes
/// read (short ranges at end of file).
///
/// # Safety
/// Pointers are NULL or valid; the buffers stay valid until completion.
#[no_mangle]
pub unsafe extern "C" fn dfs_readx(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    iod: *mut dfs_iod_t,
    sgl: *mut d_sg_list_t,
    read_size: *mut u64,
    ev: *mut daos_event_t,
) -> c_int {
    // SAFETY: forwarded contract.
    match unsafe { ranges_of(iod) } {
        // SAFETY: forwarded contract: the caller passes valid pointers, as DAOS requires.
        Ok(r) => unsafe { io(dfs, obj, sgl, Some(r), 0, read_size, false, ev) },
        Err(e) => errno_of(e),
    }
}

/// `int dfs_readdir(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr, struct
/// dirent *dirs)`: up to `*nr` entry names (in `d_name`) after `anchor`; `*nr` is set to the
/// count; `daos_anchor_is_eof(anchor)` at the end.
///
/// Errors: `ENOTDIR`; `EINVAL`.
///
/// # Safety
/// Pointers are NULL or valid; `dirs` holds `*nr` entries.
#[no_mangle]
pub unsafe extern "C" fn dfs_readdir(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    anchor: *mut daos_anchor_t,
    nr: *mut u32,
    dirs: *mut libc::dirent,
) -> c_int {
    run("dfs_readdir", || {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        if anchor.is_null() || nr.is_null() || dirs.is_null() {
            return Err(einval("anchor, nr and dirs are required"));
        }
        // SAFETY: valid by contract.
        let (count, mut a) = unsafe { (*nr, anchor_in(&*anchor)) };
        let d = h.dfs.clone();
        let names: Vec<Vec<u8>> = block(async |net| d.readdir(net, &o, &mut a, count).await)?;
        // SAFETY: valid by contract.
        anchor_out(unsafe { &mut *anchor }, &a).map_err(der)?;
        for (i, n) in names.iter().enumerate() {
            // SAFETY: `dirs` holds `*nr >= names.len()` entries.
            let e = unsafe { &mut *dirs.add(i) };
            // SAFETY: plain old data.
            *e = unsafe { std::mem::zeroed() };
            let len = n.len().min(e.d_name.len() - 1);
            for (dst, src) in e.d_name.iter_mut().zip(&n[..len]) {
                *dst = *src as c_char;
            }
        }
        Out(nr).write(names.len() as u32);
        Ok(())
    })
}

/// `int dfs_query(dfs_t *dfs, dfs_attr_t *attr)`: the mount's defaults (chunk size,
/// classes) and the container's layout mode.
///
/// # Safety
/// `attr` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_query(dfs: *mut DfsHandle, attr: *mut dfs_attr_t) -> c_int {
    run("dfs_query", || {
        let h = dfs_of(dfs)?;
        if attr.is_null() {
            return Err(einval("attr is NULL"));
        }
        // SAFETY: plain old data; then filled.
        let mut a: dfs_attr_t = unsafe { std::mem::zeroed() };
        a.da_chunk_size = h.dfs.chunk_size();
        a.da_oclass_id = h.dfs.root().entry().oclass;
        Out(attr).write(a);
        Ok(())
    })
}

/// `int dfs_sync(dfs_t *dfs)`: every acknowledged write is already durable, so this only
/// checks the mount: 0 on a read-write mount, `EPERM` read-only, `EINVAL` for a bad mount.
///
/// # Safety
/// `dfs` is any pointer.
#[no_mangle]
pub unsafe extern "C" fn dfs_sync(dfs: *mut DfsHandle) -> c_int {
    run("dfs_sync", || {
        let h = dfs_of(dfs)?;
        if !h.dfs.writable() {
            return Err(DfsError::new(libc::EPERM, "read-only mount"));
        }
        Ok(())
    })
}

/// A `*_local2global` error in DFS's terms: a short buffer is `EOVERFLOW`.
fn global_err(e: Error) -> DfsError {
    if e.der() == Der::Trunc {
        DfsError::new(libc::EOVERFLOW, "buffer too small")
    } else {
        der(e)
    }
}

const GLOBAL_DFS_MAGIC: u32 = u32::from_le_bytes(*b"GDF1");

/// `int dfs_local2global(dfs_t *dfs, d_iov_t *glob)`: the mount's mode, for
/// `dfs_global2local` in another process (two-pass size protocol as the pool's).
///
/// Errors: `EINVAL`.
///
/// # Safety
/// As `daos_pool_local2global`.
#[no_mangle]
pub unsafe extern "C" fn dfs_local2global(dfs: *mut DfsHandle, glob: *mut d_iov_t) -> c_int {
    run("dfs_local2global", || {
        let h = dfs_of(dfs)?;
        let mut bytes = GLOBAL_DFS_MAGIC.to_le_bytes().to_vec();
        bytes.extend_from_slice(&(h.dfs.writable() as u32).to_le_bytes());
        // SAFETY: forwarded contract.
        unsafe { to_global(glob, &bytes) }.map_err(global_err)
    })
}

/// `int dfs_global2local(daos_handle_t poh, daos_handle_t coh, int flags, d_iov_t glob,
/// dfs_t **dfs)`: mounts the same container in this process (`flags` 0: the original mode).
///
/// Errors: `EINVAL` for bad handles or bytes.
///
/// # Safety
/// As `daos_pool_global2local`.
#[no_mangle]
pub unsafe extern "C" fn dfs_global2local(
    poh: daos_handle_t,
    coh: daos_handle_t,
    flags: c_int,
    glob: d_iov_t,
    dfs: *mut *mut DfsHandle,
) -> c_int {
    run("dfs_global2local", || {
        // SAFETY: forwarded contract.
        let bytes = unsafe { from_global(&glob) }.map_err(der)?;
        if bytes.len() != 8 || bytes[..4] != GLOBAL_DFS_MAGIC.to_le_bytes() {
            return Err(einval("not a global DFS mount"));
        }
        let writable = bytes[4] != 0;
        let mode = if flags != 0 {
            flags & libc::O_ACCMODE
        } else if writable {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        // SAFETY: forwarded contract.
        match unsafe { dfs_mount(poh, coh, mode, dfs) } {
            0 => Ok(()),
            rc => Err(DfsError::new(rc, "mounting the container")),
        }
    })
}

/// `int dfs_obj_local2global(dfs_t *dfs, dfs_obj_t *obj, d_iov_t *glob)`.
///
/// Errors: `EINVAL`.
///
/// # Safety
/// As `daos_pool_local2global`.
#[no_mangle]
pub unsafe extern "C" fn dfs_obj_local2global(
    dfs: *mut DfsHandle,
    obj: *mut ObjHandle,
    glob: *mut d_iov_t,
) -> c_int {
    run("dfs_obj_local2global", || {
        let h = dfs_of(dfs)?;
        let o = obj_of(obj)?;
        // SAFETY: `obj_of` checked that the pointer is live.
        let mut bytes = unsafe { (*obj).flags }.to_le_bytes().to_vec();
        bytes.extend_from_slice(&h.dfs.obj_to_global(&o));
        // SAFETY: forwarded contract.
        unsafe { to_global(glob, &bytes) }.map_err(global_err)
    })
}

/// `int dfs_obj_global2local(dfs_t *dfs, int flags, d_iov_t glob, dfs_obj_t **obj)`: the
/// same file or directory, open in this process (no message is sent), with `flags`
/// (`O_RDONLY`/`O_RDWR`), or 0 for the mode it was opened with.
///
/// Errors: `EINVAL`.
///
/// # Safety
/// As `daos_pool_global2local`.
#[no_mangle]
pub unsafe extern "C" fn dfs_obj_global2local(
    dfs: *mut DfsHandle,
    flags: c_int,
    glob: d_iov_t,
    obj: *mut *mut ObjHandle,
) -> c_int {
    run("dfs_obj_global2local", || {
        let h = dfs_of(dfs)?;
        if obj.is_null() {
            return Err(einval("obj is NULL"));
        }
        // SAFETY: forwarded contract.
        let bytes = unsafe { from_global(&glob) }.map_err(der)?;
        let (mode, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| einval("not a global DFS object"))?;
        let o = h.dfs.obj_from_global(rest)?;
        let mode = if flags != 0 {
            flags
        } else {
            c_int::from_le_bytes(*mode)
        };
        Out(obj).write(new_obj(o, mode));
        Ok(())
    })
}

/// `DUNS_NO_PREFIX`: the path is `/<pool uuid>/<cont uuid>[/rel]`.
const DUNS_NO_PREFIX: u32 = 1;
/// `DUNS_NO_CHECK_PATH`: parse the path directly, never look at the file system.
const DUNS_NO_CHECK_PATH: u32 = 4;
/// `DUNS_XATTR_NAME`.
const DUNS_XATTR: &CStr = c"user.daos";

fn copy_name(dst: &mut [c_char; DUNS_NAME_BUF], src: &str) -> Result<(), DfsError> {
    if src.is_empty() || src.len() >= DUNS_NAME_BUF {
        return Err(einval("pool or container name is empty or too long"));
    }
    *dst = [0; DUNS_NAME_BUF];
    for (d, s) in dst.iter_mut().zip(src.bytes()) {
        *d = s as c_char;
    }
    Ok(())
}

fn malloc_str(s: &str) -> *mut c_char {
    let c = std::ffi::CString::new(s).unwrap_or_default();
    // SAFETY: `c` is NUL-terminated; libc copies it (freed by duns_destroy_attr or free()).
    unsafe { libc::strdup(c.as_ptr()) }
}

/// Fills pool, container and relative path from `pool`/`cont`/`rest`.
fn fill_attr(
    a: &mut duns_attr_t,
    pool: &str,
    cont: &str,
    rest: &str,
    layout: u16,
) -> Result<(), DfsError> {
    copy_name(&mut a.da_pool, pool)?;
    copy_name(&mut a.da_cont, cont)?;
    if let Ok(u) = daos_types::Uuid::parse_str(pool) {
        a.da_puuid = *u.as_bytes();
    }
    if let Ok(u) = daos_types::Uuid::parse_str(cont) {
        a.da_cuuid = *u.as_bytes();
    }
    a.da_type = layout;
    a.da_sys = std::ptr::null_mut();
    let rest = rest.trim_end_matches('/');
    a.da_rel_path = if rest.is_empty() {
        std::ptr::null_mut()
    } else {
        malloc_str(rest)
    };
    Ok(())
}

/// Splits `pool/cont[/rest]`.
fn split3(s: &str) -> Option<(&str, &str, &str)> {
    let (pool, after) = s.split_once('/')?;
    let (cont, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    (!pool.is_empty() && !cont.is_empty()).then_some((pool, cont, rest))
}

/// The `user.daos` attribute of `path`, if it has one.
fn xattr_of(path: &std::path::Path) -> Result<Option<String>, DfsError> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| einval("path holds NUL"))?;
    let mut buf = [0u8; 512];
    // SAFETY: valid C strings; `buf` holds `buf.len()` bytes.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            DUNS_XATTR.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    if n < 0 {
        let err = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return match err {
            libc::ENODATA => Ok(None),
            e => Err(DfsError::new(e, "reading the user.daos attribute")),
        };
    }
    Ok(Some(
        String::from_utf8_lossy(&buf[..n as usize])
            .trim_end_matches('\0')
            .to_string(),
    ))
}

/// `int duns_resolve_path(const char *path, struct duns_attr_t *attr)`: finds the pool and
/// container a path names: `daos://<pool>/<cont>[/rel]` (labels or UUIDs) directly; with
/// `DUNS_NO_PREFIX` in `attr->da_flags`, `/<pool uuid>/<cont uuid>[/rel]`; otherwise the
/// nearest directory up the path with a `user.daos` attribute (`DAOS.<type>://<pool>/<cont>`),
/// the rest of the path becoming `da_rel_path` (malloc'd; free with `duns_destroy_attr`).
///
/// Errors: `EINVAL` for a malformed path; `ENODATA` when nothing up the path is linked to a
/// container; `ENOENT` for a missing path; `ENOTSUP` where the file system has no xattrs.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `attr` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn duns_resolve_path(path: *const c_char, attr: *mut duns_attr_t) -> c_int {
    run("duns_resolve_path", || {
        // SAFETY: forwarded contract.
        let path = unsafe { text(path, "path") }?;
        if attr.is_null() {
            return Err(einval("attr is NULL"));
        }
        // SAFETY: non-NULL, valid by contract.
        let a = unsafe { &mut *attr };
        if let Some(rest) = path.strip_prefix("daos://") {
            let (pool, cont, rel) =
                split3(rest).ok_or_else(|| einval("expected daos://<pool>/<cont>[/path]"))?;
            return fill_attr(a, pool, cont, rel, 0);
        }
        if a.da_flags & DUNS_NO_PREFIX != 0 || a.da_flags & DUNS_NO_CHECK_PATH != 0 {
            let trimmed = path.trim_start_matches('/');
            let (pool, cont, rel) = split3(trimmed)
                .ok_or_else(|| einval("expected /<pool uuid>/<cont uuid>[/path]"))?;
            if a.da_flags & DUNS_NO_PREFIX != 0
                && (daos_types::Uuid::parse_str(pool).is_err()
                    || daos_types::Uuid::parse_str(cont).is_err())
            {
                return Err(einval("with DUNS_NO_PREFIX the path must hold UUIDs"));
            }
            return fill_attr(a, pool, cont, rel, 0);
        }
        let full = std::path::absolute(path).map_err(|e| {
            DfsError::new(
                e.raw_os_error().unwrap_or(libc::EINVAL),
                "resolving the path",
            )
        })?;
        let mut dir = full.as_path();
        loop {
            if let Some(value) = xattr_of(dir)? {
                let (kind, target) = value
                    .strip_prefix("DAOS.")
                    .and_then(|v| v.split_once("://"))
                    .ok_or_else(|| einval("malformed user.daos attribute"))?;
                let (pool, cont, _) =
                    split3(target).ok_or_else(|| einval("malformed user.daos attribute"))?;
                let layout = daos_types::prop::layout::from_name(kind).unwrap_or(0) as u16;
                let rel = full
                    .strip_prefix(dir)
                    .map(|r| r.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let rel = if rel.is_empty() {
                    String::new()
                } else {
                    format!("/{rel}")
                };
                return fill_attr(a, pool, cont, &rel, layout);
            }
            match dir.parent() {
                Some(p) => dir = p,
                None => {
                    return Err(DfsError::new(
                        libc::ENODATA,
                        "no container is linked on this path",
                    ))
                }
            }
        }
    })
}

/// `void duns_destroy_attr(struct duns_attr_t *attr)`: frees `da_rel_path` (and `da_sys`).
///
/// # Safety
/// `attr` is NULL or filled by `duns_resolve_path` (or zeroed).
#[no_mangle]
pub unsafe extern "C" fn duns_destroy_attr(attr: *mut duns_attr_t) {
    if attr.is_null() {
        return;
    }
    // SAFETY: valid by contract; the strings are malloc'd or NULL.
    unsafe {
        let a = &mut *attr;
        libc::free(a.da_rel_path as *mut libc::c_void);
        a.da_rel_path = std::ptr::null_mut();
        libc::free(a.da_sys as *mut libc::c_void);
        a.da_sys = std::ptr::null_mut();
    }
}

/// `int dfs_access(dfs_t *dfs, dfs_obj_t *parent, const char *name, int mask)`: checks
/// `mask` (`F_OK`, or `R_OK|W_OK|X_OK`) for the calling user against the entry's owner,
/// group and mode bits, as DFS does on the client; `name` NULL checks `parent`, which must
/// then be the root (NULL or the root object).
///
/// Errors: `ENOENT` if the entry is absent; `EACCES` if a permission is missing; `EPERM` for
/// `W_OK` on a read-only mount; `EINVAL` for a NULL name with a parent other than the root.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn dfs_access(
    dfs: *mut DfsHandle,
    parent: *mut ObjHandle,
    name: *const c_char,
    mask: c_int,
) -> c_int {
    run("dfs_access", || {
        let h = dfs_of(dfs)?;
        let p = parent_of(h, parent)?;
        let name = if name.is_null() {
            if p.oid() != h.dfs.root().oid() {
                return Err(einval(
                    "a NULL name is only allowed with the root as parent",
                ));
            }
            None
        } else {
            // SAFETY: forwarded contract.
            Some(unsafe { text(name, "name") }?.as_bytes().to_vec())
        };
        if mask & libc::W_OK != 0 && !h.dfs.writable() {
            return Err(DfsError::new(libc::EPERM, "read-only mount"));
        }
        let d = h.dfs.clone();
        let st = block(async |net| d.stat(net, &p, name.as_deref()).await)?;
        let want = (mask & (libc::R_OK | libc::W_OK | libc::X_OK)) as u32;
        if want == 0 {
            return Ok(());
        }
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let granted = if uid == 0 {
            // root: read and write always; execute if anyone may.
            let any_x = if st.mode & 0o111 != 0 { 1 } else { 0 };
            0o6 | any_x
        } else if uid == st.uid {
            (st.mode >> 6) & 0o7
        } else if gid == st.gid {
            (st.mode >> 3) & 0o7
        } else {
            st.mode & 0o7
        };
        if granted & want != want {
            return Err(DfsError::new(libc::EACCES, "permission denied"));
        }
        Ok(())
    })
}
