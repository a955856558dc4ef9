//! The fabric (provider + domain), endpoints and memory regions.

use crate::{fi_error, Result};
use daos_types::{Der, Error};
use fabric_sys as sys;
use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Attributes the provider granted when the fabric was opened.
#[derive(Clone, Debug)]
pub struct FabricAttrs {
    /// libfabric provider name, such as `tcp;ofi_rxm` or `shm`.
    pub provider: String,
    /// Domain name (the interface for tcp).
    pub domain: String,
    /// Granted `FI_MR_*` bits.
    pub mr_mode: u64,
    /// Largest message the provider accepts, bytes.
    pub max_msg_size: usize,
    /// Largest `fi_inject` payload, bytes.
    pub inject_size: usize,
}

/// An open fabric and domain for one provider (`fi_fabric` + `fi_domain`).
///
/// Opened with `FI_THREAD_SAFE`, so endpoints and memory registrations may be used from any
/// thread; each endpoint's completion queue is still read by one thread at a time.
pub struct Fabric {
    raw: *mut sys::dfab_fabric,
    attrs: FabricAttrs,
    local_mr: bool,
    virt_addr: bool,
    prov_key: bool,
    next_key: AtomicU64,
}

// SAFETY: the domain is opened FI_THREAD_SAFE; the raw pointer is only freed in Drop.
unsafe impl Send for Fabric {}
// SAFETY: as above; every shared use goes through thread-safe libfabric calls.
unsafe impl Sync for Fabric {}

/// Maps DAOS's provider names (`ofi+tcp`, `ofi+tcp;ofi_rxm`, `ofi+shm`, `ofi+verbs`, `ofi+cxi`)
/// to libfabric provider strings.
pub fn provider_name(daos_provider: &str) -> Result<String> {
    let name = daos_provider.strip_prefix("ofi+").unwrap_or(daos_provider);
    let mapped = match name {
        "tcp" | "tcp;ofi_rxm" => "tcp;ofi_rxm",
        "shm" | "sm" => "shm",
        "verbs" | "verbs;ofi_rxm" => "verbs;ofi_rxm",
        "cxi" => "cxi",
        "sockets" => "sockets",
        other => {
            return Err(Error::new(
                Der::Inval,
                format!(
                    "unknown provider {other:?} (expected ofi+tcp, ofi+shm, ofi+verbs or ofi+cxi)"
                ),
            ))
        }
    };
    Ok(mapped.to_string())
}

fn cstring(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error::new(Der::Inval, format!("{what} contains a NUL byte")))
}

fn errbuf_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Fabric {
    /// Opens `provider` (a DAOS name such as `ofi+tcp`) on the interface owning `node`
    /// (an address such as `127.0.0.1`; `None` lets the provider choose).
    ///
    /// Errors: `-DER_INVAL` for an unknown provider; `-DER_HG` naming the libfabric failure.
    pub fn open(provider: &str, node: Option<&str>) -> Result<Arc<Fabric>> {
        let prov = cstring(&provider_name(provider)?, "provider")?;
        let node_c = node.map(|n| cstring(n, "node")).transpose()?;
        let mut raw = std::ptr::null_mut();
        let mut errbuf = [0u8; 256];
        // SAFETY: all pointers are valid for the call; errbuf is writable for its length.
        let rc = unsafe {
            sys::dfab_fabric_open(
                prov.as_ptr(),
                node_c.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                &mut raw,
                errbuf.as_mut_ptr().cast(),
                errbuf.len(),
            )
        };
        if rc != 0 {
            return Err(Error::new(
                Der::Hg,
                format!(
                    "cannot open provider {provider} on {}: {}",
                    node.unwrap_or("any"),
                    errbuf_text(&errbuf)
                ),
            ));
        }
        // SAFETY: dfab_attrs is plain old data; dfab_fabric_attrs fills it from a valid fabric.
        let attrs = unsafe {
            let mut attrs: sys::dfab_attrs = std::mem::zeroed();
            sys::dfab_fabric_attrs(raw, &mut attrs);
            attrs
        };
        // SAFETY: the shim NUL-terminates both names within their arrays.
        let (prov_name, domain) = unsafe {
            (
                CStr::from_ptr(attrs.provider.as_ptr())
                    .to_string_lossy()
                    .into_owned(),
                CStr::from_ptr(attrs.domain.as_ptr())
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        // SAFETY: dfab_const only reads a switch table.
        let (local, virt, prov_key) = unsafe {
            (
                sys::dfab_const(sys::DFAB_CONST_MR_LOCAL),
                sys::dfab_const(sys::DFAB_CONST_MR_VIRT_ADDR),
                sys::dfab_const(sys::DFAB_CONST_MR_PROV_KEY),
            )
        };
        Ok(Arc::new(Fabric {
            raw,
            local_mr: attrs.mr_mode & local != 0,
            virt_addr: attrs.mr_mode & virt != 0,
            prov_key: attrs.mr_mode & prov_key != 0,
            attrs: FabricAttrs {
                provider: prov_name,
                domain,
                mr_mode: attrs.mr_mode,
                max_msg_size: attrs.max_msg_size,
                inject_size: attrs.inject_size,
            },
            next_key: AtomicU64::new(1),
        }))
    }

    /// What the provider granted.
    pub fn attrs(&self) -> &FabricAttrs {
        &self.attrs
    }

    /// Whether local buffers must be registered (`FI_MR_LOCAL`).
    pub fn needs_local_mr(&self) -> bool {
        self.local_mr
    }

    pub(crate) fn raw(&self) -> *mut sys::dfab_fabric {
        self.raw
    }

    /// Registers `len` bytes at `ptr` for the given access (`Access::*` bits).
    ///
    /// # Safety
    /// The memory must stay valid and must not be freed until the returned region is dropped;
    /// remote peers may read or write it (as `access` allows) at any time until then.
    pub unsafe fn register_raw(
        self: &Arc<Self>,
        ptr: *const u8,
        len: usize,
        access: u64,
    ) -> Result<MemoryRegion> {
        let mut mr = std::ptr::null_mut();
        let mut key = 0u64;
        let mut desc = std::ptr::null_mut();
        let requested = if self.prov_key {
            0
        } else {
            self.next_key.fetch_add(1, Ordering::Relaxed)
        };
        // SAFETY: the caller guarantees ptr/len; the out-pointers are valid locals.
        let rc = unsafe {
            sys::dfab_mr_reg(
                self.raw,
                ptr.cast(),
                len,
                access,
                requested,
                &mut mr,
                &mut key,
                &mut desc,
            )
        };
        if rc != 0 {
            return Err(fi_error(rc, "fi_mr_reg"));
        }
        Ok(MemoryRegion {
            fabric: self.clone(),
            mr,
            key,
            desc,
            base: ptr as u64,
            len,
        })
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        // SAFETY: raw came from dfab_fabric_open and every endpoint/MR holds an Arc to us,
        // so nothing else refers to the fabric any more.
        unsafe { sys::dfab_fabric_close(self.raw) };
    }
}

/// Access bits for memory registration.
pub struct Access;

impl Access {
    /// Peers may read this memory with RMA (`FI_REMOTE_READ`).
    pub fn remote_read() -> u64 {
        // SAFETY: dfab_const only reads a switch table.
        unsafe { sys::dfab_const(sys::DFAB_CONST_REMOTE_READ) }
    }
    /// Peers may write this memory with RMA (`FI_REMOTE_WRITE`).
    pub fn remote_write() -> u64 {
        // SAFETY: dfab_const only reads a switch table.
        unsafe { sys::dfab_const(sys::DFAB_CONST_REMOTE_WRITE) }
    }
    /// Local buffer of RMA reads and writes, sends and receives.
    pub fn local() -> u64 {
        // SAFETY: dfab_const only reads a switch table.
        unsafe {
            sys::dfab_const(sys::DFAB_CONST_READ)
                | sys::dfab_const(sys::DFAB_CONST_WRITE)
                | sys::dfab_const(sys::DFAB_CONST_SEND)
                | sys::dfab_const(sys::DFAB_CONST_RECV)
        }
    }
}

/// A registered memory region (`fi_mr_reg`); deregistered on drop.
pub struct MemoryRegion {
    fabric: Arc<Fabric>,
    mr: *mut sys::fid_mr,
    key: u64,
    desc: *mut c_void,
    base: u64,
    len: usize,
}

// SAFETY: the region handle is used only through thread-safe libfabric calls.
unsafe impl Send for MemoryRegion {}
// SAFETY: as above; fields are immutable after creation.
unsafe impl Sync for MemoryRegion {}

/// How a peer addresses a piece of registered memory: what travels in RPC bulk descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteRegion {
    /// The address to pass to `fi_read`/`fi_write` (virtual address, or offset from the start of
    /// the region when the provider lacks `FI_MR_VIRT_ADDR`).
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// The region's key.
    pub key: u64,
}

impl MemoryRegion {
    /// The local descriptor to pass with operations on this memory.
    pub fn desc(&self) -> *mut c_void {
        self.desc
    }

    /// The remote key.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Registered length, bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How a peer addresses `len` bytes starting `offset` bytes into this region.
    pub fn remote(&self, offset: usize, len: usize) -> RemoteRegion {
        debug_assert!(offset + len <= self.len);
        let addr = if self.fabric.virt_addr {
            self.base + offset as u64
        } else {
            offset as u64
        };
        RemoteRegion {
            addr,
            len: len as u64,
            key: self.key,
        }
    }
}

impl Drop for MemoryRegion {
    fn drop(&mut self) {
        // SAFETY: mr came from dfab_mr_reg and is closed exactly once.
        unsafe { sys::dfab_mr_close(self.mr) };
    }
}

/// A raw libfabric endpoint with its completion queue and address vector.
pub(crate) struct Endpoint {
    pub(crate) fabric: Arc<Fabric>,
    pub(crate) raw: *mut sys::dfab_ep,
    pub(crate) name: Vec<u8>,
    pub(crate) wait_fd: Option<i32>,
}

// SAFETY: FI_THREAD_SAFE domain; the pointer is freed only in Drop.
unsafe impl Send for Endpoint {}
// SAFETY: as above.
unsafe impl Sync for Endpoint {}

impl Endpoint {
    pub(crate) fn open(
        fabric: &Arc<Fabric>,
        node: Option<&str>,
        service: Option<&str>,
    ) -> Result<Endpoint> {
        let node_c = node.map(|n| cstring(n, "node")).transpose()?;
        let service_c = service.map(|s| cstring(s, "service")).transpose()?;
        let mut raw = std::ptr::null_mut();
        let mut errbuf = [0u8; 256];
        // SAFETY: pointers are valid for the call.
        let rc = unsafe {
            sys::dfab_ep_open(
                fabric.raw(),
                node_c.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                service_c.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                &mut raw,
                errbuf.as_mut_ptr().cast(),
                errbuf.len(),
            )
        };
        if rc != 0 {
            let der = if rc == -98 || rc == -(libc::EADDRINUSE) {
                Der::Busy
            } else {
                Der::Hg
            };
            return Err(Error::new(
                der,
                format!(
                    "cannot open endpoint on {}:{}: {}",
                    node.unwrap_or("*"),
                    service.unwrap_or("*"),
                    errbuf_text(&errbuf)
                ),
            ));
        }
        let mut name = vec![0u8; 256];
        let mut len = name.len();
        // SAFETY: raw is a valid endpoint; name has len writable bytes.
        let rc = unsafe { sys::dfab_ep_getname(raw, name.as_mut_ptr().cast(), &mut len) };
        if rc != 0 {
            // SAFETY: raw is valid and closed once here.
            unsafe { sys::dfab_ep_close(raw) };
            return Err(fi_error(rc, "fi_getname"));
        }
        name.truncate(len);
        // SAFETY: raw is a valid endpoint.
        let fd = unsafe { sys::dfab_ep_wait_fd(raw) };
        Ok(Endpoint {
            fabric: fabric.clone(),
            raw,
            name,
            wait_fd: (fd >= 0).then_some(fd),
        })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: raw came from dfab_ep_open; closed exactly once.
        unsafe { sys::dfab_ep_close(self.raw) };
    }
}
