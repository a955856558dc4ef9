//! Block I/O for the engine: aligned buffers, O_DIRECT files and io_uring.
//!
//! Data lives in files (`class: file` bdevs, or a file in `scm_mount` for `class: ram`),
//! opened `O_DIRECT`, written and read through one io_uring per target thread. SPDK is not
//! packaged on the project's machines, so there is no SPDK backend yet (see `engine/README.md`).
#![warn(missing_docs)]

pub mod buf;
pub mod file;
pub mod uring;

pub use buf::{AlignedBuf, IoBuf, ALIGNMENT};
pub use file::{
    open_direct, read_exact_at, release, replace_durably, reserve, sync_dir, write_all_at,
    Durability,
};
pub use uring::{IoFuture, Uring};
