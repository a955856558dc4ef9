//! Reed-Solomon erasure coding for DAOS's erasure-coded object classes (`EC_<k>P<p>…`).
//!
//! # DAOS terms
//!
//! - A **cell** is the run of bytes an EC object keeps on one shard of a stripe. Its size is
//!   the container's `ec_cell_sz` property (bytes), inherited from the pool's: 64 KiB
//!   (`1 << 16`) by default in earlier 2.x releases, 128 KiB in 2.8
//!   ([`daos_types::prop::EC_CELL_SIZE_DEFAULT`]); it may be set between 1 KiB and 1 GiB
//!   (`DAOS_PROP_PO_EC_CELL_SZ_MIN`/`_MAX` in `include/daos_prop.h`).
//! - A **stripe** is `k` data cells, `k * ec_cell_sz` bytes of the object's data, plus `p`
//!   parity cells computed from them. The `k + p` cells go to `k + p` shards on different
//!   fault domains; any `k` of them rebuild the others, so a stripe survives `p` lost shards.
//! - DAOS 2.8 defines the schemes 2P1 2P2 4P1 4P2 8P1 8P2 16P1 16P2 4P3 8P3 16P3
//!   (`OR_RS_2P1` … in `daos_obj_class.h`; `daos_types::oclass::EC_SCHEMES`). DAOS encodes
//!   them with ISA-L.
//!
//! This crate computes parity and rebuilds lost cells; how partial stripes are handled belongs
//! to the client (`daos_client::ec`) and engine rebuild. The [`layout`] module holds what
//! both must agree on: where a record of an object lives on its shards. Cell contents are
//! opaque bytes; every codec function takes lengths in bytes.
//!
//! # Two codecs, one code
//!
//! [`Codec`] has two implementations: Intel ISA-L through a few hand-written FFI declarations
//! (feature `isal`, on by default, linking the system `libisal`), and the pure-Rust
//! [`reed-solomon-erasure`](https://docs.rs/reed-solomon-erasure) crate. [`codec`] picks
//! ISA-L when it is compiled in; [`isal_codec`] and [`rust_codec`] name one explicitly.
//!
//! Both give the **same parity bytes** for the same data, so a client with either can read a
//! stripe that a client with the other wrote. Parity is stored, so the coding matrix is part
//! of the on-disk format: changing it makes existing parity undecodable.
//!
//! # The matrix, and why
//!
//! ISA-L multiplies by whatever matrix it is given; reed-solomon-erasure builds its own and
//! offers no way to change it. So both use reed-solomon-erasure's matrix: with `V` the
//! `(k + p) × k` Vandermonde matrix `V[r][c] = r^c` over GF(2^8) (polynomial 0x11D, the field
//! both libraries use), the encoding matrix is `V · T⁻¹` where `T` is `V`'s top `k × k`
//! square. Its top `k` rows are the identity (data cells are stored unchanged) and any `k` of
//! its rows are invertible. [`encoding_matrix`] builds it here in Rust; the tests check it
//! entry by entry against what reed-solomon-erasure encodes for every supported `(k, p)`, and
//! pin a few parity bytes so that a dependency update changing the matrix fails loudly.
//!
//! Real DAOS feeds ISA-L `gf_gen_cauchy1_matrix` instead. daos-rs has its own wire format and
//! engines, so the parity bytes need not match real DAOS's; the choice above lets the Rust
//! fallback be a well-kept crate instead of GF(2^8) kernels of our own.
//!
//! # Limits and errors
//!
//! - `k` in `1..=16` ([`DATA_CELLS_MAX`]), `p` in `1..=3` ([`PARITY_CELLS_MAX`]); every cell of
//!   one call has the same length, in `1..=`[`CELL_BYTES_MAX`] bytes.
//! - Shape errors (wrong cell count or length, unsupported `k`/`p`) are `-DER_INVAL`; fewer
//!   than `k` surviving cells is `-DER_DATA_LOSS` ("Data lost or not recoverable"), the code
//!   DAOS's client gives when a stripe has lost more shards than it has parity
//!   (`obj_ec_recov_tgt_recx_nrs`). Nothing is written unless the whole call is valid.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod gf;
#[cfg(feature = "isal")]
mod isal;
pub mod layout;
mod rust;

use daos_types::{Der, Error, Result};
use std::fmt;
use std::sync::Arc;

/// Most data cells in a stripe: DAOS's widest scheme is 16+P.
pub const DATA_CELLS_MAX: usize = 16;
/// Most parity cells in a stripe: DAOS's schemes go up to P3 (added in 2.6.3).
pub const PARITY_CELLS_MAX: usize = 3;
/// Longest cell, bytes: DAOS's largest `ec_cell_sz` (`DAOS_PROP_PO_EC_CELL_SZ_MAX`, 1 GiB),
/// which also fits ISA-L's `int` lengths.
pub const CELL_BYTES_MAX: usize = 1 << 30;
/// A Reed-Solomon code with `k` data cells and `p` parity cells per stripe.
///
/// Cells are indexed `0..k` for data and `k..k + p` for parity. Implementations are immutable
/// after construction and may be shared between threads.
pub trait Codec: Send + Sync + fmt::Debug {
    /// `k`: data cells per stripe.
    fn data_cells(&self) -> usize;

    /// `p`: parity cells per stripe.
    fn parity_cells(&self) -> usize;

    /// Which implementation this is: `"isa-l"` or `"reed-solomon-erasure"`.
    fn name(&self) -> &'static str;

    /// Computes the `p` parity cells of a stripe from its `k` data cells:
    /// `parity[i] = Σ_j M[k + i][j] · data[j]` over GF(2^8), with `M` the [`encoding_matrix`].
    /// Every parity byte is overwritten, whatever it held.
    ///
    /// Errors: `-DER_INVAL` unless there are exactly `k` data and `p` parity slices, all of
    /// one length in `1..=CELL_BYTES_MAX`.
    fn encode(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<()>;

    /// Rebuilds, in place, every cell whose `present` flag is false, from the cells whose flag
    /// is true; present cells are only read. This form lets the caller own every buffer (for
    /// example a fetch's destination).
    ///
    /// Errors: `-DER_INVAL` unless `cells` and `present` both have `k + p` entries and every
    /// cell (present or not) has one length in `1..=CELL_BYTES_MAX`; `-DER_DATA_LOSS` if fewer
    /// than `k` cells are present. On error no cell is changed.
    fn reconstruct_into(&self, cells: &mut [&mut [u8]], present: &[bool]) -> Result<()>;

    /// Rebuilds every missing (`None`) cell of `cells`, `k + p` entries, data then parity,
    /// allocating it; present cells are left as they are.
    ///
    /// Errors: `-DER_INVAL` unless there are `k + p` entries and the present cells share one
    /// length in `1..=CELL_BYTES_MAX`; `-DER_DATA_LOSS` if fewer than `k` are present. On error
    /// `cells` is unchanged.
    fn reconstruct(&self, cells: &mut [Option<Vec<u8>>]) -> Result<()> {
        let (k, p) = (self.data_cells(), self.parity_cells());
        let Some(len) = check_optional_cells(k, p, cells)? else {
            return Ok(());
        };
        let mut rebuilt: Vec<Vec<u8>> = cells
            .iter()
            .filter(|c| c.is_none())
            .map(|_| vec![0u8; len])
            .collect();
        let present: Vec<bool> = cells.iter().map(Option::is_some).collect();
        {
            let mut fresh = rebuilt.iter_mut();
            let mut views: Vec<&mut [u8]> = cells
                .iter_mut()
                .map(|c| match c {
                    Some(cell) => cell.as_mut_slice(),
                    None => fresh
                        .next()
                        .expect("one fresh buffer per missing cell")
                        .as_mut_slice(),
                })
                .collect();
            self.reconstruct_into(&mut views, &present)?;
        }
        let mut fresh = rebuilt.into_iter();
        for cell in cells.iter_mut().filter(|c| c.is_none()) {
            *cell = fresh.next();
        }
        Ok(())
    }
}

/// The best codec compiled in for `k` data and `p` parity cells: ISA-L with the `isal`
/// feature, else reed-solomon-erasure. Building one inverts a `k × k` matrix, so each scheme
/// is built once per process and shared (callers open objects often).
///
/// Errors: `-DER_INVAL` unless `k` is in `1..=16` and `p` in `1..=3`.
pub fn codec(k: usize, p: usize) -> Result<Arc<dyn Codec>> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(usize, usize), Arc<dyn Codec>>>;
    static CODECS: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let mut codecs = CODECS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(codec) = codecs.get(&(k, p)) {
        return Ok(codec.clone());
    }
    #[cfg(feature = "isal")]
    let codec = isal_codec(k, p)?;
    #[cfg(not(feature = "isal"))]
    let codec = rust_codec(k, p)?;
    codecs.insert((k, p), codec.clone());
    Ok(codec)
}

/// The pure-Rust codec (reed-solomon-erasure) for `k` data and `p` parity cells.
///
/// Errors: `-DER_INVAL` unless `k` is in `1..=16` and `p` in `1..=3`.
pub fn rust_codec(k: usize, p: usize) -> Result<Arc<dyn Codec>> {
    check_scheme(k, p)?;
    Ok(Arc::new(rust::RustCodec::new(k, p)?))
}

/// The ISA-L codec for `k` data and `p` parity cells.
///
/// Errors: `-DER_INVAL` unless `k` is in `1..=16` and `p` in `1..=3`; `-DER_NOTSUPPORTED` if
/// this build lacks the `isal` feature.
pub fn isal_codec(k: usize, p: usize) -> Result<Arc<dyn Codec>> {
    check_scheme(k, p)?;
    #[cfg(feature = "isal")]
    {
        Ok(Arc::new(isal::IsalCodec::new(k, p)))
    }
    #[cfg(not(feature = "isal"))]
    {
        Err(Error::new(
            Der::Notsupported,
            "daos-ec was built without the `isal` feature",
        ))
    }
}

/// The `(k + p) × k` encoding matrix both codecs use, row-major: rows `0..k` are the identity,
/// row `k + i` holds the coefficients of parity cell `i`. See the crate docs for how it is
/// built.
///
/// Errors: `-DER_INVAL` unless `k` is in `1..=16` and `p` in `1..=3`.
pub fn encoding_matrix(k: usize, p: usize) -> Result<Vec<u8>> {
    check_scheme(k, p)?;
    Ok(gf::encoding_matrix(k, p))
}

/// Checks `k` and `p` against what this crate supports.
fn check_scheme(k: usize, p: usize) -> Result<()> {
    if !(1..=DATA_CELLS_MAX).contains(&k) || !(1..=PARITY_CELLS_MAX).contains(&p) {
        return Err(Error::new(
            Der::Inval,
            format!(
                "EC scheme {k}+{p}: data cells must be 1..={DATA_CELLS_MAX} and parity cells \
                 1..={PARITY_CELLS_MAX}"
            ),
        ));
    }
    Ok(())
}

/// Checks one cell length.
fn check_cell_len(len: usize) -> Result<()> {
    if len == 0 || len > CELL_BYTES_MAX {
        return Err(Error::new(
            Der::Inval,
            format!("EC cell of {len} bytes: must be 1..={CELL_BYTES_MAX}"),
        ));
    }
    Ok(())
}

/// Validates an [`Codec::encode`] call; returns the cell length in bytes.
pub(crate) fn check_encode(
    k: usize,
    p: usize,
    data: &[&[u8]],
    parity: &[&mut [u8]],
) -> Result<usize> {
    if data.len() != k || parity.len() != p {
        return Err(Error::new(
            Der::Inval,
            format!(
                "EC {k}+{p} encode given {} data and {} parity cells",
                data.len(),
                parity.len()
            ),
        ));
    }
    let len = data[0].len();
    check_cell_len(len)?;
    let lens = data
        .iter()
        .map(|c| c.len())
        .chain(parity.iter().map(|c| c.len()));
    if let Some((index, other)) = lens.enumerate().find(|&(_, l)| l != len) {
        return Err(Error::new(
            Der::Inval,
            format!("EC encode: cell {index} has {other} bytes, cell 0 has {len}"),
        ));
    }
    Ok(len)
}

/// Validates a [`Codec::reconstruct_into`] call; returns the cell length in bytes and whether
/// any cell is missing.
pub(crate) fn check_reconstruct(
    k: usize,
    p: usize,
    cells: &[&mut [u8]],
    present: &[bool],
) -> Result<(usize, bool)> {
    if cells.len() != k + p || present.len() != k + p {
        return Err(Error::new(
            Der::Inval,
            format!(
                "EC {k}+{p} reconstruct given {} cells and {} present flags, wants {}",
                cells.len(),
                present.len(),
                k + p
            ),
        ));
    }
    let len = cells[0].len();
    check_cell_len(len)?;
    if let Some((index, other)) = cells
        .iter()
        .map(|c| c.len())
        .enumerate()
        .find(|&(_, l)| l != len)
    {
        return Err(Error::new(
            Der::Inval,
            format!("EC reconstruct: cell {index} has {other} bytes, cell 0 has {len}"),
        ));
    }
    check_survivors(k, p, present.iter().filter(|&&here| here).count())?;
    Ok((len, present.contains(&false)))
}

/// Validates [`Codec::reconstruct`]'s cells; returns the cell length, or `None` when no cell
/// is missing and there is nothing to do.
fn check_optional_cells(k: usize, p: usize, cells: &[Option<Vec<u8>>]) -> Result<Option<usize>> {
    if cells.len() != k + p {
        return Err(Error::new(
            Der::Inval,
            format!(
                "EC {k}+{p} reconstruct given {} cells, wants {}",
                cells.len(),
                k + p
            ),
        ));
    }
    let mut len = None;
    for (index, cell) in cells.iter().enumerate() {
        let Some(cell) = cell else { continue };
        check_cell_len(cell.len())?;
        match len {
            None => len = Some(cell.len()),
            Some(l) if l != cell.len() => {
                return Err(Error::new(
                    Der::Inval,
                    format!(
                        "EC reconstruct: cell {index} has {} bytes, others {l}",
                        cell.len()
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    check_survivors(k, p, cells.iter().filter(|c| c.is_some()).count())?;
    Ok(len.filter(|_| cells.iter().any(Option::is_none)))
}

/// Fewer than `k` surviving cells cannot be decoded.
fn check_survivors(k: usize, p: usize, survivors: usize) -> Result<()> {
    if survivors < k {
        return Err(Error::new(
            Der::DataLoss,
            format!("EC {k}+{p} stripe has {survivors} cells left, needs {k}"),
        ));
    }
    Ok(())
}
