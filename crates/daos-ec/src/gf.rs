//! GF(2^8) arithmetic and the coding matrices, in Rust so that both codecs use the same ones.
//!
//! The field is GF(2)[x] / (x^8 + x^4 + x^3 + x^2 + 1), polynomial 0x11D, generator 2: the field
//! ISA-L's tables and reed-solomon-erasure's `galois_8` both use. Matrices are row-major `u8`
//! slices; an `r × c` matrix has `r * c` entries.
//!
//! Invariants:
//! - [`encoding_matrix`] is systematic: its first `k` rows are the identity, so data cells are
//!   stored as they are and only the last `p` rows (the parity rows) are ever multiplied.
//! - Any `k` of its `k + p` rows form an invertible matrix (it is a Vandermonde matrix times
//!   the inverse of its own top square), which is what makes any `k` cells enough to decode.

/// The reducing polynomial, with the x^8 term.
const POLYNOMIAL: u16 = 0x11D;

/// `EXP[i] = 2^i`, doubled in length so that `EXP[log a + log b]` needs no reduction mod 255.
/// `LOG[a]` is the discrete log of `a != 0` (and 0 for `a == 0`, never read).
struct Tables {
    exp: [u8; 512],
    log: [u8; 256],
}

const TABLES: Tables = build_tables();

const fn build_tables() -> Tables {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        exp[i + 255] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLYNOMIAL;
        }
        i += 1;
    }
    Tables { exp, log }
}

/// `a · b` in the field.
pub(crate) fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    TABLES.exp[TABLES.log[a as usize] as usize + TABLES.log[b as usize] as usize]
}

/// `1 / a`; `a` must not be 0 (callers pick non-zero pivots).
fn inverse(a: u8) -> u8 {
    debug_assert!(a != 0, "0 has no inverse");
    TABLES.exp[255 - TABLES.log[a as usize] as usize]
}

/// `a^n`, with `0^0 = 1` as in a Vandermonde matrix's first column.
fn pow(a: u8, n: usize) -> u8 {
    if n == 0 {
        return 1;
    }
    if a == 0 {
        return 0;
    }
    TABLES.exp[(TABLES.log[a as usize] as usize * n) % 255]
}

/// `a × b` for an `rows × inner` matrix `a` and an `inner × cols` matrix `b`.
pub(crate) fn multiply(a: &[u8], b: &[u8], rows: usize, inner: usize, cols: usize) -> Vec<u8> {
    debug_assert_eq!(a.len(), rows * inner);
    debug_assert_eq!(b.len(), inner * cols);
    let mut out = vec![0u8; rows * cols];
    for r in 0..rows {
        for i in 0..inner {
            let factor = a[r * inner + i];
            if factor == 0 {
                continue;
            }
            for c in 0..cols {
                out[r * cols + c] ^= mul(factor, b[i * cols + c]);
            }
        }
    }
    out
}

/// The inverse of the `n × n` matrix `m` by Gauss-Jordan elimination, or `None` if it is
/// singular.
pub(crate) fn invert(m: &[u8], n: usize) -> Option<Vec<u8>> {
    debug_assert_eq!(m.len(), n * n);
    let mut work = m.to_vec();
    let mut inv = vec![0u8; n * n];
    for i in 0..n {
        inv[i * n + i] = 1;
    }
    for col in 0..n {
        let pivot = (col..n).find(|&r| work[r * n + col] != 0)?;
        if pivot != col {
            for c in 0..n {
                work.swap(pivot * n + c, col * n + c);
                inv.swap(pivot * n + c, col * n + c);
            }
        }
        let scale = inverse(work[col * n + col]);
        for c in 0..n {
            work[col * n + c] = mul(work[col * n + c], scale);
            inv[col * n + c] = mul(inv[col * n + c], scale);
        }
        for r in 0..n {
            let factor = work[r * n + col];
            if r == col || factor == 0 {
                continue;
            }
            for c in 0..n {
                work[r * n + c] ^= mul(factor, work[col * n + c]);
                inv[r * n + c] ^= mul(factor, inv[col * n + c]);
            }
        }
    }
    Some(inv)
}

/// The `(k + p) × k` systematic encoding matrix: `V · T⁻¹`, where `V[r][c] = r^c` is the
/// `(k + p) × k` Vandermonde matrix over the elements `0, 1, …, k + p - 1` and `T` its top
/// `k × k` square. This is the matrix reed-solomon-erasure 6 builds (`tests/roundtrip.rs`
/// checks it entry by entry), so its codec and ISA-L fed with these rows agree.
///
/// `k + p` must be at most 256 (the caller validates the scheme first).
pub(crate) fn encoding_matrix(k: usize, p: usize) -> Vec<u8> {
    let rows = k + p;
    debug_assert!(k >= 1 && rows <= 256);
    let mut vandermonde = vec![0u8; rows * k];
    for r in 0..rows {
        for c in 0..k {
            vandermonde[r * k + c] = pow(r as u8, c);
        }
    }
    let top_inverse = invert(&vandermonde[..k * k], k)
        .expect("a Vandermonde matrix over distinct elements is invertible");
    multiply(&vandermonde, &top_inverse, rows, k, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_matches_the_0x11d_polynomial() {
        // x^8 = x^4 + x^3 + x^2 + 1 = 0x1D.
        assert_eq!(mul(0x80, 2), 0x1D);
        assert_eq!(pow(2, 8), 0x1D);
        assert_eq!(pow(2, 255), 1);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "a = {a}");
            assert_eq!(mul(a, 1), a);
            assert_eq!(mul(a, 0), 0);
        }
        // Multiplication distributes over addition (xor): a spot check against carry-less
        // multiplication reduced by hand.
        let slow = |a: u8, b: u8| {
            let (mut a, mut b, mut out) = (a as u16, b, 0u16);
            while b != 0 {
                if b & 1 != 0 {
                    out ^= a;
                }
                a <<= 1;
                if a & 0x100 != 0 {
                    a ^= POLYNOMIAL;
                }
                b >>= 1;
            }
            out as u8
        };
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn encoding_matrix_is_systematic_and_every_k_rows_invert() {
        for (k, p) in [(2, 1), (4, 2), (8, 3), (16, 3)] {
            let m = encoding_matrix(k, p);
            for r in 0..k {
                for c in 0..k {
                    assert_eq!(m[r * k + c], u8::from(r == c), "k={k} p={p} [{r}][{c}]");
                }
            }
            // Every choice of k rows out of k + p, by bit mask.
            for mask in 0u32..(1 << (k + p)) {
                if mask.count_ones() as usize != k {
                    continue;
                }
                let rows: Vec<u8> = (0..k + p)
                    .filter(|r| mask & (1 << r) != 0)
                    .flat_map(|r| m[r * k..(r + 1) * k].to_vec())
                    .collect();
                let inv = invert(&rows, k).expect("any k rows invert");
                let identity = multiply(&rows, &inv, k, k, k);
                for r in 0..k {
                    for c in 0..k {
                        assert_eq!(identity[r * k + c], u8::from(r == c));
                    }
                }
            }
        }
    }

    #[test]
    fn singular_matrix_has_no_inverse() {
        assert_eq!(invert(&[1, 2, 1, 2], 2), None);
        assert_eq!(invert(&[0], 1), None);
    }
}
