//! The pure-Rust codec: reed-solomon-erasure 6 over its `galois_8` field.
//!
//! The crate builds the matrix described in the crate docs itself; `tests/roundtrip.rs`
//! checks that it equals [`crate::encoding_matrix`]. Validation is ours (so both codecs reject
//! the same calls with the same codes) and runs before the library is called, so its own
//! errors can only mean a bug here.

use crate::{check_encode, check_reconstruct, Codec};
use daos_types::{Der, Error, Result};
use reed_solomon_erasure::galois_8::ReedSolomon;

/// reed-solomon-erasure's encoder/decoder for one `(k, p)`. It caches decode matrices per
/// erasure pattern behind a mutex, so one instance serves many threads.
#[derive(Debug)]
pub(crate) struct RustCodec {
    k: usize,
    p: usize,
    rs: ReedSolomon,
}

impl RustCodec {
    /// A codec for a scheme the caller has validated.
    pub(crate) fn new(k: usize, p: usize) -> Result<RustCodec> {
        let rs = ReedSolomon::new(k, p).map_err(|e| library_error("new", e))?;
        Ok(RustCodec { k, p, rs })
    }
}

fn library_error(what: &str, e: reed_solomon_erasure::Error) -> Error {
    Error::new(Der::Inval, format!("reed-solomon-erasure {what}: {e:?}"))
}

impl Codec for RustCodec {
    fn data_cells(&self) -> usize {
        self.k
    }

    fn parity_cells(&self) -> usize {
        self.p
    }

    fn name(&self) -> &'static str {
        "reed-solomon-erasure"
    }

    fn encode(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<()> {
        check_encode(self.k, self.p, data, parity)?;
        self.rs
            .encode_sep(data, parity)
            .map_err(|e| library_error("encode", e))
    }

    fn reconstruct_into(&self, cells: &mut [&mut [u8]], present: &[bool]) -> Result<()> {
        let (_, any_missing) = check_reconstruct(self.k, self.p, cells, present)?;
        if !any_missing {
            return Ok(());
        }
        // The library's `(buffer, present)` shards write missing cells into the caller's
        // buffers instead of allocating.
        let mut shards: Vec<(&mut [u8], bool)> = cells
            .iter_mut()
            .zip(present)
            .map(|(cell, &here)| (&mut **cell, here))
            .collect();
        self.rs
            .reconstruct(&mut shards)
            .map_err(|e| library_error("reconstruct", e))
    }
}
