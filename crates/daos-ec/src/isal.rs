//! The ISA-L codec: [`crate::encoding_matrix`]'s parity rows expanded once into ISA-L's
//! multiplication tables, and `ec_encode_data` to apply them.
//!
//! Decoding follows ISA-L's own recipe, as DAOS's `obj_ec_recov_init` does: take the first `k`
//! surviving cells, invert the `k × k` submatrix of their rows, and express every missing cell
//! (data: a row of the inverse; parity: its encoding row times the inverse) as a combination
//! of the survivors, so one `ec_encode_data` pass rebuilds data and parity together.

use crate::{check_encode, check_reconstruct, gf, Codec};
use daos_types::Result;
use std::fmt;

/// ISA-L encoder/decoder for one `(k, p)`.
pub(crate) struct IsalCodec {
    k: usize,
    p: usize,
    /// The `(k + p) × k` encoding matrix, kept to build decode matrices.
    matrix: Vec<u8>,
    /// Tables for the `p` parity rows, built once.
    encode_tables: ffi::Tables,
}

impl fmt::Debug for IsalCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsalCodec")
            .field("k", &self.k)
            .field("p", &self.p)
            .finish_non_exhaustive()
    }
}

impl IsalCodec {
    /// A codec for a scheme the caller has validated.
    pub(crate) fn new(k: usize, p: usize) -> IsalCodec {
        let matrix = gf::encoding_matrix(k, p);
        let encode_tables = ffi::Tables::new(k, p, &matrix[k * k..]);
        IsalCodec {
            k,
            p,
            matrix,
            encode_tables,
        }
    }
}

impl Codec for IsalCodec {
    fn data_cells(&self) -> usize {
        self.k
    }

    fn parity_cells(&self) -> usize {
        self.p
    }

    fn name(&self) -> &'static str {
        "isa-l"
    }

    fn encode(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<()> {
        check_encode(self.k, self.p, data, parity)?;
        self.encode_tables.apply(data, parity);
        Ok(())
    }

    fn reconstruct_into(&self, cells: &mut [&mut [u8]], present: &[bool]) -> Result<()> {
        let (_, any_missing) = check_reconstruct(self.k, self.p, cells, present)?;
        if !any_missing {
            return Ok(());
        }
        let k = self.k;
        let survivors: Vec<usize> = (0..cells.len()).filter(|&i| present[i]).take(k).collect();
        let missing: Vec<usize> = (0..cells.len()).filter(|&i| !present[i]).collect();

        let row = |r: usize| &self.matrix[r * k..(r + 1) * k];
        let survivor_rows: Vec<u8> = survivors.iter().flat_map(|&r| row(r)).copied().collect();
        // data = inverse · survivors.
        let inverse = gf::invert(&survivor_rows, k)
            .expect("any k rows of the encoding matrix are invertible (gf.rs tests every choice)");
        let mut decode_rows = Vec::with_capacity(missing.len() * k);
        for &m in &missing {
            if m < k {
                decode_rows.extend_from_slice(&inverse[m * k..(m + 1) * k]);
            } else {
                decode_rows.extend(gf::multiply(row(m), &inverse, 1, k, k));
            }
        }
        let tables = ffi::Tables::new(k, missing.len(), &decode_rows);

        // Survivors in index order, matching `survivors`, and the missing cells as outputs.
        let mut sources: Vec<&[u8]> = Vec::with_capacity(k);
        let mut outputs: Vec<&mut [u8]> = Vec::with_capacity(missing.len());
        for (cell, &here) in cells.iter_mut().zip(present) {
            if !here {
                outputs.push(&mut **cell);
            } else if sources.len() < k {
                sources.push(&**cell);
            }
        }
        tables.apply(&sources, &mut outputs);
        Ok(())
    }
}

/// The two ISA-L functions used, declared by hand from `isa-l/erasure_code.h` (ISA-L 2.30),
/// behind a safe wrapper that checks everything their soundness depends on.
#[allow(unsafe_code)]
mod ffi {
    use std::os::raw::{c_int, c_uchar};

    // The header declares `a`, `gftbls` and `data` without `const`, but ISA-L only reads them;
    // const pointers have the same ABI.
    extern "C" {
        /// Expands the `rows × k` coefficient matrix `a` (row-major) into `32 * k * rows` bytes
        /// of lookup tables at `gftbls`.
        fn ec_init_tables(k: c_int, rows: c_int, a: *const c_uchar, gftbls: *mut c_uchar);

        /// For each of `rows` outputs, `coding[r][i] = Σ_j a[r][j] · data[j][i]` for `i` in
        /// `0..len`, overwriting `coding[r]`. `data` holds `k` pointers, `coding` `rows`, each
        /// to at least `len` bytes.
        fn ec_encode_data(
            len: c_int,
            k: c_int,
            rows: c_int,
            gftbls: *const c_uchar,
            data: *const *const c_uchar,
            coding: *const *mut c_uchar,
        );
    }

    /// ISA-L's tables for multiplying `k` inputs by a `rows × k` matrix.
    pub(super) struct Tables {
        k: usize,
        rows: usize,
        /// `32 * k * rows` bytes. ISA-L's kernels load them (and the cells) with unaligned
        /// instructions (`vmovdqu`; `objdump -d libisal.so` shows no aligned load from memory
        /// in the `*dot_prod*`/`*mad*` kernels), so a plain `Vec` is enough.
        bytes: Vec<u8>,
    }

    impl Tables {
        /// Tables for the `rows × k` row-major `matrix`.
        ///
        /// Panics if `matrix` is not `rows × k` or either is 0 or past 255 (callers pass at
        /// most 16 × 3).
        pub(super) fn new(k: usize, rows: usize, matrix: &[u8]) -> Tables {
            assert!(
                (1..=255).contains(&k) && (1..=255).contains(&rows),
                "ISA-L tables for {rows} × {k}"
            );
            assert_eq!(matrix.len(), k * rows, "matrix must be rows × k");
            let mut bytes = vec![0u8; 32 * k * rows];
            // SAFETY: `matrix` holds `rows * k` readable bytes and `bytes` `32 * k * rows`
            // writable ones, exactly what ec_init_tables reads and writes for these `k` and
            // `rows` (both fit `c_int`); neither is aliased during the call.
            unsafe {
                ec_init_tables(
                    k as c_int,
                    rows as c_int,
                    matrix.as_ptr(),
                    bytes.as_mut_ptr(),
                )
            };
            Tables { k, rows, bytes }
        }

        /// `outputs[r] = Σ_j matrix[r][j] · sources[j]`, bytewise over GF(2^8).
        ///
        /// Panics unless there are `k` sources and `rows` outputs, all of one length in
        /// `1..=i32::MAX` (callers validate shapes first; these checks keep the FFI sound).
        pub(super) fn apply(&self, sources: &[&[u8]], outputs: &mut [&mut [u8]]) {
            assert_eq!(sources.len(), self.k, "one source per column");
            assert_eq!(outputs.len(), self.rows, "one output per row");
            let len = sources[0].len();
            assert!(
                len >= 1 && c_int::try_from(len).is_ok(),
                "cell length {len} out of ISA-L's range"
            );
            assert!(
                sources.iter().all(|s| s.len() == len) && outputs.iter().all(|o| o.len() == len),
                "all cells must have the same length"
            );
            let source_ptrs: Vec<*const c_uchar> = sources.iter().map(|s| s.as_ptr()).collect();
            let output_ptrs: Vec<*mut c_uchar> =
                outputs.iter_mut().map(|o| o.as_mut_ptr()).collect();
            // SAFETY: `self.bytes` is `32 * k * rows` bytes built by ec_init_tables for this
            // `k` and `rows`; `source_ptrs` holds `k` pointers to at least `len` readable bytes
            // and `output_ptrs` `rows` pointers to at least `len` writable bytes (all lengths
            // checked above, `len` fits `c_int`). The outputs are `&mut` borrows, so they
            // overlap neither each other nor the shared-borrowed sources and tables, and all
            // of them outlive the call. ISA-L keeps no pointer after returning.
            unsafe {
                ec_encode_data(
                    len as c_int,
                    self.k as c_int,
                    self.rows as c_int,
                    self.bytes.as_ptr(),
                    source_ptrs.as_ptr(),
                    output_ptrs.as_ptr(),
                )
            };
        }
    }
}
