//! `libdaos` (and, through ELF filters, `libdfs`, `libduns`, `libgurt`, `libdaos_common`):
//! DAOS's C API, version 2.8, over [`daos_client`] and [`daos_dfs`].
//!
//! Every entry point here is a thin layer: it checks its arguments, turns C types into the
//! Rust client's types, runs the operation blocking (NULL event) or launches it on an event
//! queue (non-NULL event), and writes output parameters only on success. The headers these
//! functions match are in `include/`; the conventions for C users are in `libdaos/README.md`
//! ("API conventions").
//!
//! Reading order: this file (library state, the panic guard) → [`types`] (the C layouts) →
//! [`handle`] (handle cookies) → [`event`] (events and event queues) → [`pool`] → [`cont`] →
//! [`prop`] → [`obj`] → [`kvarray`] → [`dfs`] → [`gurt`].
//!
//! `unsafe` lives here because C hands us raw pointers; every block says why it is sound in
//! a `// SAFETY:` comment, which in this layer almost always reads "the caller passed a valid
//! pointer, as the DAOS API requires, and we checked it for NULL".

// C signatures dictate argument counts.
#![allow(clippy::too_many_arguments)]

pub mod cont;
pub mod dfs;
pub mod event;
pub mod gurt;
pub mod handle;
pub mod kvarray;
pub mod obj;
pub mod pool;
pub mod prop;
pub mod types;

use daos_client::Client;
use daos_types::{Der, Error};
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// The library's state between `daos_init` and the matching `daos_fini`.
struct Library {
    /// `daos_init` calls not yet matched by `daos_fini`.
    refs: u32,
    client: Arc<Client>,
}

static LIBRARY: Mutex<Option<Library>> = Mutex::new(None);

/// The client `daos_init` attached, or `-DER_UNINIT`.
pub(crate) fn client() -> Result<Arc<Client>, Error> {
    LIBRARY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|l| l.client.clone())
        .ok_or_else(|| Error::new(Der::Uninit, "daos_init has not been called"))
}

/// Runs a `daos_*` entry point: 0 on success, the negative DER code of an error, and
/// `-DER_MISC` if the body panicked (no panic crosses the C ABI).
pub(crate) fn guard(name: &str, body: impl FnOnce() -> Result<(), Error>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            tracing::debug!("{name}: {err}");
            err.rc()
        }
        Err(_) => {
            tracing::error!("{name}: internal error (panic); returning -DER_MISC");
            Der::Misc.rc()
        }
    }
}

/// Runs a `dfs_*`/`duns_*` entry point: 0 on success, a positive errno on error, and `EIO`
/// if the body panicked.
pub(crate) fn guard_errno(
    name: &str,
    body: impl FnOnce() -> Result<(), daos_dfs::DfsError>,
) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            tracing::debug!("{name}: {err}");
            err.errno()
        }
        Err(_) => {
            tracing::error!("{name}: internal error (panic); returning EIO");
            libc::EIO
        }
    }
}

/// `-DER_INVAL` with a message.
pub(crate) fn inval(message: impl Into<String>) -> Error {
    Error::new(Der::Inval, message.into())
}

/// Reads a C string argument. Errors: `-DER_INVAL` for NULL or invalid UTF-8.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn c_str<'a>(s: *const c_char, what: &str) -> Result<&'a str, Error> {
    if s.is_null() {
        return Err(inval(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| inval(format!("{what} is not valid UTF-8")))
}

/// `int daos_init(void)`: attaches to the system through the agent. Reference counted:
/// every call must be matched by a `daos_fini`; calls after the first return 0 at once.
///
/// Errors: `-DER_AGENT_COMM` when no agent answers; `-DER_UNREACH` when no engine runs.
#[no_mangle]
pub extern "C" fn daos_init() -> c_int {
    guard("daos_init", || {
        let mut library = LIBRARY.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(library) = library.as_mut() {
            library.refs += 1;
            return Ok(());
        }
        init_tracing();
        let client = Client::connect()?;
        *library = Some(Library { refs: 1, client });
        Ok(())
    })
}

/// `int daos_fini(void)`: drops one `daos_init` reference; the last one detaches.
///
/// Errors: `-DER_UNINIT` without a matching `daos_init`.
#[no_mangle]
pub extern "C" fn daos_fini() -> c_int {
    guard("daos_fini", || {
        let mut library = LIBRARY.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = library.as_mut() else {
            return Err(Error::new(Der::Uninit, "daos_fini without daos_init"));
        };
        state.refs -= 1;
        if state.refs == 0 {
            *library = None;
            handle::clear();
            event::reset();
        }
        Ok(())
    })
}

/// `int daos_reinit(void)`: after `fork()`, re-attaches the child (handles opened before the
/// fork stay usable; endpoints are per process and reopen on first use).
#[no_mangle]
pub extern "C" fn daos_reinit() -> c_int {
    guard("daos_reinit", || {
        let mut library = LIBRARY.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = library.as_mut() else {
            return Err(Error::new(Der::Uninit, "daos_reinit without daos_init"));
        };
        state.client = Client::connect()?;
        Ok(())
    })
}

/// Logs go to stderr at the level `D_LOG_MASK` names (`ERR` by default), as DAOS's `D_LOG_MASK`.
fn init_tracing() {
    let level = match std::env::var("D_LOG_MASK")
        .unwrap_or_default()
        .to_ascii_uppercase()
        .as_str()
    {
        "DEBUG" | "DBUG" => tracing::Level::DEBUG,
        "INFO" => tracing::Level::INFO,
        "WARN" => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    };
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .finish(),
    );
}
