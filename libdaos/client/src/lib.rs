//! `daos-client`: the daos-rs client library in Rust, which the C libraries (`libdaos`,
//! `libdfs`) and the tools are built on.
//!
//! Reading order: [`client`] (attaching to a system through the agent; endpoints; calls) →
//! [`pool`] → [`cont`] → [`obj`] (update, fetch, punch, enumerate, query) → [`buf`] (the
//! memory of an I/O) → [`eq`] (event queues).
//!
//! Every operation is a future that owns what it needs (`'static`), so it can run blocking on
//! the caller's thread ([`Client::run`]) or be launched on an [`eq::EventQueue`] and polled,
//! the two modes of DAOS's `daos_event_t *ev` argument. Errors are [`daos_types::Error`]:
//! a DER code plus context.
#![warn(missing_docs)]

pub mod buf;
pub mod client;
pub mod cont;
pub mod ec;
pub mod eq;
pub mod fault;
pub mod obj;
pub mod pool;

pub use buf::{IoVec, SgList};
pub use client::{AttachInfo, Client, RankAttach};
pub use cont::Container;
pub use eq::EventQueue;
pub use obj::{Anchor, FetchResult, Iod, IodKind, KeyList, Object, Recx};
pub use pool::{Pool, PoolInfo};

pub use daos_fabric::NetContext;
pub use daos_types::{Der, Error, ObjectId, ObjectType, Result, Uuid};

use std::sync::Arc;

impl Client {
    /// Runs an operation to completion on the calling thread's endpoint.
    ///
    /// Errors: whatever the operation returns, or `-DER_HG` if the endpoint cannot open.
    ///
    /// ```ignore
    /// let pool = client.run(async |net| Pool::connect(&client, net, "tank", PC_RW).await)?;
    /// ```
    pub fn run<T>(&self, operation: impl AsyncFnOnce(&Arc<NetContext>) -> Result<T>) -> Result<T> {
        let net = self.thread_net()?;
        daos_fabric::block_on(&net, operation(&net))
    }
}
