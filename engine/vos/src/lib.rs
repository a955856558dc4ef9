//! VOS, the versioned object store of one target: what DAOS calls `src/vos`.
//!
//! Reading order: [`record`] (what a change is) → [`index`] (the MVCC index a change is
//! applied to, and how reads resolve) → [`key`] (key order and anchors) → [`alloc`] (blob
//! space) → [`wal`] (durability and group commit) → [`checkpoint`] (bounded recovery) →
//! [`pool`] (the API a target thread uses, and the update protocol that keeps acknowledged
//! writes) → [`aggregate`] (reclaiming what no retained epoch can see).
//!
//! Metadata lives in DRAM; the log is synced before an update is acknowledged; checkpoints
//! bound recovery to the log tail. Bulk data lives in a blob region of a data file, written by
//! the engine with `O_DIRECT | O_DSYNC` before the record that references it is logged.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod alloc;
pub mod checkpoint;
pub mod index;
pub mod key;
pub mod pool;
pub mod record;
pub mod wal;

pub use index::{FetchIod, Index, IodPlan, KeyLevel, KeyPage, Piece, Source, BLOCK_SIZE};
pub use pool::{BlobRegion, PoolMeta, Space, UpdateIod, VosPool};
pub use record::{
    DtxOp, ExtentEntry, IodEntry, IodRecord, PunchRecord, PunchTarget, Record, SingleEntry, Stored,
};
