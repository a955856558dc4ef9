//! Raw declarations of the `dfab` C shim over libfabric (`shim/dfab.h`).
//!
//! Only `daos-fabric` uses these; everything here is `unsafe` to call and mirrors the C
//! prototypes exactly. libfabric itself is linked dynamically (Debian's `libfabric-dev`).
#![allow(non_camel_case_types)]
#![allow(missing_docs)]

use libc::{c_char, c_int, c_void, size_t, ssize_t};

/// Bytes reserved per operation context (`struct fi_context2`).
pub const DFAB_CONTEXT_SIZE: usize = 64;
/// Most iovecs one send may carry.
pub const DFAB_IOV_MAX: usize = 4;
/// Most completions one `dfab_cq_read` returns.
pub const DFAB_CQ_BATCH: usize = 64;

#[repr(C)]
pub struct dfab_fabric {
    _private: [u8; 0],
}

#[repr(C)]
pub struct dfab_ep {
    _private: [u8; 0],
}

#[repr(C)]
pub struct fid_mr {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dfab_iov {
    pub base: *mut c_void,
    pub len: size_t,
    pub desc: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dfab_completion {
    pub op_context: *mut c_void,
    pub flags: u64,
    pub len: size_t,
    pub tag: u64,
    pub err: c_int,
    pub prov_errno: c_int,
    pub olen: size_t,
}

impl Default for dfab_completion {
    fn default() -> Self {
        dfab_completion {
            op_context: std::ptr::null_mut(),
            flags: 0,
            len: 0,
            tag: 0,
            err: 0,
            prov_errno: 0,
            olen: 0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct dfab_attrs {
    pub mr_mode: u64,
    pub mode: u64,
    pub caps: u64,
    pub inject_size: size_t,
    pub max_msg_size: size_t,
    pub mr_key_size: size_t,
    pub addr_format: u32,
    pub provider: [c_char; 64],
    pub domain: [c_char; 64],
}

pub const DFAB_CONST_MR_LOCAL: c_int = 1;
pub const DFAB_CONST_MR_VIRT_ADDR: c_int = 2;
pub const DFAB_CONST_MR_PROV_KEY: c_int = 3;
pub const DFAB_CONST_MR_ALLOCATED: c_int = 4;
pub const DFAB_CONST_READ: c_int = 5;
pub const DFAB_CONST_WRITE: c_int = 6;
pub const DFAB_CONST_REMOTE_READ: c_int = 7;
pub const DFAB_CONST_REMOTE_WRITE: c_int = 8;
pub const DFAB_CONST_SEND: c_int = 9;
pub const DFAB_CONST_RECV: c_int = 10;
pub const DFAB_CONST_RMA: c_int = 11;
pub const DFAB_CONST_ADDR_NOTAVAIL: c_int = 12;
pub const DFAB_CONST_ECANCELED: c_int = 13;
pub const DFAB_CONST_ETRUNC: c_int = 14;
pub const DFAB_CONST_EAGAIN: c_int = 15;

extern "C" {
    pub fn dfab_fabric_open(
        provider: *const c_char,
        node: *const c_char,
        out: *mut *mut dfab_fabric,
        errbuf: *mut c_char,
        errlen: size_t,
    ) -> c_int;
    pub fn dfab_fabric_close(fab: *mut dfab_fabric);
    pub fn dfab_fabric_attrs(fab: *const dfab_fabric, attrs: *mut dfab_attrs);

    pub fn dfab_ep_open(
        fab: *mut dfab_fabric,
        node: *const c_char,
        service: *const c_char,
        out: *mut *mut dfab_ep,
        errbuf: *mut c_char,
        errlen: size_t,
    ) -> c_int;
    pub fn dfab_ep_close(ep: *mut dfab_ep);
    pub fn dfab_ep_getname(ep: *mut dfab_ep, buf: *mut c_void, len: *mut size_t) -> c_int;
    pub fn dfab_ep_wait_fd(ep: *mut dfab_ep) -> c_int;
    pub fn dfab_ep_trywait(ep: *mut dfab_ep) -> c_int;

    pub fn dfab_av_insert(ep: *mut dfab_ep, addr: *const c_void, fi_addr: *mut u64) -> c_int;
    pub fn dfab_av_remove(ep: *mut dfab_ep, fi_addr: u64) -> c_int;

    pub fn dfab_trecv(
        ep: *mut dfab_ep,
        buf: *mut c_void,
        len: size_t,
        desc: *mut c_void,
        tag: u64,
        ignore: u64,
        ctx: *mut c_void,
    ) -> ssize_t;
    pub fn dfab_tsendv(
        ep: *mut dfab_ep,
        iov: *const dfab_iov,
        count: size_t,
        dest: u64,
        tag: u64,
        ctx: *mut c_void,
    ) -> ssize_t;
    pub fn dfab_tinject(
        ep: *mut dfab_ep,
        buf: *const c_void,
        len: size_t,
        dest: u64,
        tag: u64,
    ) -> ssize_t;
    pub fn dfab_read(
        ep: *mut dfab_ep,
        buf: *mut c_void,
        len: size_t,
        desc: *mut c_void,
        src: u64,
        addr: u64,
        key: u64,
        ctx: *mut c_void,
    ) -> ssize_t;
    pub fn dfab_write(
        ep: *mut dfab_ep,
        buf: *const c_void,
        len: size_t,
        desc: *mut c_void,
        dest: u64,
        addr: u64,
        key: u64,
        ctx: *mut c_void,
    ) -> ssize_t;
    pub fn dfab_cancel(ep: *mut dfab_ep, ctx: *mut c_void) -> c_int;

    pub fn dfab_mr_reg(
        fab: *mut dfab_fabric,
        buf: *const c_void,
        len: size_t,
        access: u64,
        requested_key: u64,
        mr: *mut *mut fid_mr,
        key: *mut u64,
        desc: *mut *mut c_void,
    ) -> c_int;
    pub fn dfab_mr_close(mr: *mut fid_mr) -> c_int;

    pub fn dfab_cq_read(ep: *mut dfab_ep, out: *mut dfab_completion, count: size_t) -> ssize_t;
    pub fn dfab_strerror(rc: c_int) -> *const c_char;
    pub fn dfab_const(which: c_int) -> u64;
}
