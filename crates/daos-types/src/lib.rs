//! Types every daos-rs crate shares, with DAOS's names, numbers and layouts.
//!
//! Pure logic: no I/O, no `unsafe`. What lives here:
//! - [`der`] and [`error`]: DAOS error numbers and the [`Error`] type carrying one;
//! - [`oid`] and [`oclass`]: object ids, object types and classes, bit-exact with DAOS API 2.8;
//! - [`epoch`]: epochs and the hybrid logical clock;
//! - [`dtx`]: the participants and states of replicated updates' transactions;
//! - [`prop`]: pool and container properties;
//! - [`label`] and [`size`]: the string forms users type;
//! - [`codec`]: the bounded little-endian codec under the wire protocol and VOS records;
//! - [`csum`] and [`hash`]: CRC-32C chunk checksums and the stable key hash.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod csum;
pub mod der;
pub mod dtx;
pub mod epoch;
pub mod error;
pub mod hash;
pub mod label;
pub mod oclass;
pub mod oid;
pub mod prop;
pub mod size;

pub use der::Der;
pub use epoch::{Epoch, Hlc, EPOCH_MAX};
pub use error::{fail, Error, Result};
pub use oclass::{ObjectClass, OclassId, Redundancy};
pub use oid::{KeyOrder, ObjectId, ObjectType};
pub use uuid::Uuid;
