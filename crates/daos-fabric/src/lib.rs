//! daos-rs networking over libfabric: fabric and endpoints, memory registration, tagged
//! request/reply, RMA bulk transfers, idle waiting that uses no CPU, and a small executor.
//!
//! Reading order: [`fabric`] (provider, domain, memory regions) → [`context`] (one endpoint
//! with its in-flight operations and progress) → [`rpc`] (calls, replies, bulk) → [`exec`]
//! (running futures on the caller's thread, as DAOS event queues require).
//!
//! This crate holds all of the project's `unsafe` networking code; each block carries a
//! `// SAFETY:` comment. Message formats live in `daos-proto`, not here.
#![warn(missing_docs)]

pub mod context;
pub mod exec;
pub mod fabric;
pub mod rpc;

pub use context::{Completion, Hold, Incoming, NetContext, OpHandle, Posted, REQUEST_TAG};
pub use exec::{block_on, run_until_idle, Executor};
pub use fabric::{provider_name, Access, Fabric, FabricAttrs, MemoryRegion, RemoteRegion};
pub use rpc::RmaBuffer;

pub use daos_types::{Error, Result};

/// A peer's index in an endpoint's address vector (`fi_addr_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FiAddr(pub u64);

/// Converts a negative libfabric return code into a DAOS error (`-DER_HG`).
pub(crate) fn fi_error(rc: i32, what: &str) -> Error {
    // SAFETY: fi_strerror returns a static NUL-terminated string for any code.
    let text = unsafe { std::ffi::CStr::from_ptr(fabric_sys::dfab_strerror(rc)) }
        .to_string_lossy()
        .into_owned();
    Error::new(daos_types::Der::Hg, format!("{what}: {text} ({rc})"))
}
