//! Both codecs against each other and against reed-solomon-erasure itself: parity agreement,
//! every (or a random sample of) erasure pattern for every DAOS scheme, cross-decoding, the
//! coding matrix, and the error codes of bad calls.

use daos_ec::{
    codec, encoding_matrix, isal_codec, rust_codec, Codec, CELL_BYTES_MAX, DATA_CELLS_MAX,
    PARITY_CELLS_MAX,
};
use daos_types::Der;
use proptest::prelude::*;
use std::sync::Arc;

/// DAOS's EC schemes `(k, p)` (`daos_types::oclass::EC_SCHEMES`), as cell counts.
const SCHEMES: [(usize, usize); daos_types::oclass::EC_SCHEMES.len()] = {
    let mut out = [(0, 0); daos_types::oclass::EC_SCHEMES.len()];
    let mut i = 0;
    while i < out.len() {
        let (k, p) = daos_types::oclass::EC_SCHEMES[i];
        out[i] = (k as usize, p as usize);
        i += 1;
    }
    out
};

/// Most erasure patterns tried per case; past this a random sample is taken.
const PATTERNS_PER_CASE_MAX: usize = 48;

/// Every codec this build has for `(k, p)`: Rust, and ISA-L with the `isal` feature.
fn codecs(k: usize, p: usize) -> Vec<Arc<dyn Codec>> {
    let mut all = vec![rust_codec(k, p).unwrap()];
    if cfg!(feature = "isal") {
        all.push(isal_codec(k, p).unwrap());
    }
    all
}

/// Parity for `data` from `codec`.
fn encode(codec: &dyn Codec, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let len = data[0].len();
    // Garbage in the parity buffers: encode must overwrite every byte.
    let mut parity = vec![vec![0xA5u8; len]; codec.parity_cells()];
    let data_refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut parity_refs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
    codec.encode(&data_refs, &mut parity_refs).unwrap();
    parity
}

/// Every set of cell indices of size `1..=p` out of `k + p`, as bit masks.
fn erasure_patterns(k: usize, p: usize) -> Vec<u32> {
    (1u32..(1 << (k + p)))
        .filter(|m| m.count_ones() as usize <= p)
        .collect()
}

/// Up to `PATTERNS_PER_CASE_MAX` of `patterns`, chosen by `seed` (splitmix64), always
/// including the last one (the highest cells lost) so that large patterns are never skipped.
fn sample(mut patterns: Vec<u32>, seed: u64) -> Vec<u32> {
    if patterns.len() <= PATTERNS_PER_CASE_MAX {
        return patterns;
    }
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let last = patterns.pop().expect("more than the sample size");
    let mut chosen = vec![last];
    while chosen.len() < PATTERNS_PER_CASE_MAX {
        let i = (next() % patterns.len() as u64) as usize;
        chosen.push(patterns.swap_remove(i));
    }
    chosen
}

/// Drops the cells in `lost` from the full stripe, reconstructs with `codec` both ways
/// (allocating and into caller buffers), and checks every cell bit-exactly.
fn check_rebuild(codec: &dyn Codec, stripe: &[Vec<u8>], lost: u32) -> Result<(), TestCaseError> {
    let n = stripe.len();
    let mut cells: Vec<Option<Vec<u8>>> = (0..n)
        .map(|i| (lost & (1 << i) == 0).then(|| stripe[i].clone()))
        .collect();
    codec.reconstruct(&mut cells).unwrap();
    for (i, cell) in cells.iter().enumerate() {
        prop_assert_eq!(
            cell.as_deref(),
            Some(stripe[i].as_slice()),
            "{} cell {} of {}, lost mask {:#b}",
            codec.name(),
            i,
            n,
            lost
        );
    }

    let mut buffers: Vec<Vec<u8>> = stripe.to_vec();
    for (i, buffer) in buffers.iter_mut().enumerate() {
        if lost & (1 << i) != 0 {
            buffer.fill(0x5A);
        }
    }
    let present: Vec<bool> = (0..n).map(|i| lost & (1 << i) == 0).collect();
    let mut views: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
    codec.reconstruct_into(&mut views, &present).unwrap();
    prop_assert!(
        buffers == stripe,
        "{} reconstruct_into, lost mask {:#b}",
        codec.name(),
        lost
    );
    Ok(())
}

/// A DAOS scheme, a cell length in 1..=4096 and random data cells for it.
fn stripe_strategy() -> impl Strategy<Value = (usize, usize, Vec<Vec<u8>>)> {
    (0..SCHEMES.len(), 1usize..=4096).prop_flat_map(|(s, len)| {
        let (k, p) = SCHEMES[s];
        (
            Just(k),
            Just(p),
            prop::collection::vec(prop::collection::vec(any::<u8>(), len), k),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every DAOS scheme: losing any set of at most `p` cells (all sets for the narrow schemes,
    /// a random sample including the highest `p` for the wide ones) rebuilds every lost cell
    /// bit-exactly, with both codecs.
    #[test]
    fn every_erasure_pattern_reconstructs((k, p, data) in stripe_strategy(), seed in any::<u64>()) {
        for codec in codecs(k, p) {
            let mut stripe = data.clone();
            stripe.extend(encode(&*codec, &data));
            for lost in sample(erasure_patterns(k, p), seed) {
                check_rebuild(&*codec, &stripe, lost)?;
            }
        }
    }

    /// ISA-L and reed-solomon-erasure compute the same parity bytes.
    #[cfg(feature = "isal")]
    #[test]
    fn isal_parity_equals_rust_parity((k, p, data) in stripe_strategy()) {
        let all = codecs(k, p);
        prop_assert_eq!(encode(&*all[0], &data), encode(&*all[1], &data));
    }

    /// A stripe encoded by one codec is rebuilt by the other, each way round.
    #[cfg(feature = "isal")]
    #[test]
    fn cross_decoding((k, p, data) in stripe_strategy(), seed in any::<u64>()) {
        let all = codecs(k, p);
        for (writer, reader) in [(&all[0], &all[1]), (&all[1], &all[0])] {
            let mut stripe = data.clone();
            stripe.extend(encode(&**writer, &data));
            for lost in sample(erasure_patterns(k, p), seed).into_iter().take(8) {
                check_rebuild(&**reader, &stripe, lost)?;
            }
        }
    }
}

/// The matrix handed to ISA-L is the one reed-solomon-erasure uses, for every (k, p) this
/// crate accepts: encoding the unit vector e_j with reed-solomon-erasure yields column j of
/// the parity rows.
#[test]
fn encoding_matrix_matches_reed_solomon_erasure() {
    for k in 1..=DATA_CELLS_MAX {
        for p in 1..=PARITY_CELLS_MAX {
            let matrix = encoding_matrix(k, p).unwrap();
            assert_eq!(matrix.len(), (k + p) * k);
            let rs = reed_solomon_erasure::galois_8::ReedSolomon::new(k, p).unwrap();
            for j in 0..k {
                let data: Vec<[u8; 1]> = (0..k).map(|i| [u8::from(i == j)]).collect();
                let mut parity = vec![[0u8; 1]; p];
                rs.encode_sep(&data, &mut parity).unwrap();
                for i in 0..p {
                    assert_eq!(
                        parity[i][0],
                        matrix[(k + i) * k + j],
                        "{k}+{p}: parity row {i} column {j}"
                    );
                }
            }
            for r in 0..k {
                for c in 0..k {
                    assert_eq!(matrix[r * k + c], u8::from(r == c), "{k}+{p} is systematic");
                }
            }
        }
    }
}

/// The parity bytes are a stored format: pin them for two schemes so that any change of
/// matrix (ours or a reed-solomon-erasure update) fails here, whatever both codecs agree on.
#[test]
fn parity_bytes_are_pinned() {
    let data: Vec<Vec<u8>> = (0..4u8)
        .map(|i| vec![1 + i, 0x10 * (i + 1), 0xFF])
        .collect();
    for codec in codecs(4, 2) {
        assert_eq!(
            encode(&*codec, &data),
            vec![vec![69, 36, 255], vec![94, 137, 255]],
            "{}",
            codec.name()
        );
    }
    // Computed independently of both libraries (GF(2^8) by hand in a scratch script).
    assert_eq!(
        encoding_matrix(4, 2).unwrap()[16..],
        [27, 28, 18, 20, 28, 27, 20, 18],
        "4+2 parity rows"
    );
    assert_eq!(
        encoding_matrix(2, 1).unwrap(),
        vec![1, 0, 0, 1, 3, 2],
        "2+1: identity, then parity = 3·d0 + 2·d1"
    );
}

#[test]
fn codec_prefers_isal_when_built_with_it() {
    let chosen = codec(4, 2).unwrap();
    let want = if cfg!(feature = "isal") {
        "isa-l"
    } else {
        "reed-solomon-erasure"
    };
    assert_eq!(chosen.name(), want);
    assert_eq!((chosen.data_cells(), chosen.parity_cells()), (4, 2));
    if !cfg!(feature = "isal") {
        assert_eq!(isal_codec(4, 2).unwrap_err().der(), Der::Notsupported);
    }
}

#[test]
fn unsupported_schemes_are_inval() {
    for (k, p) in [(0, 1), (17, 1), (4, 0), (4, 4), (0, 0), (usize::MAX, 2)] {
        assert_eq!(codec(k, p).unwrap_err().der(), Der::Inval, "{k}+{p}");
        assert_eq!(rust_codec(k, p).unwrap_err().der(), Der::Inval, "{k}+{p}");
        assert_eq!(
            encoding_matrix(k, p).unwrap_err().der(),
            Der::Inval,
            "{k}+{p}"
        );
        if cfg!(feature = "isal") {
            assert_eq!(isal_codec(k, p).unwrap_err().der(), Der::Inval, "{k}+{p}");
        }
    }
    // Every scheme DAOS defines, and the extremes, are accepted.
    for (k, p) in SCHEMES.into_iter().chain([(1, 1), (16, 3), (1, 3)]) {
        for codec in codecs(k, p) {
            assert_eq!((codec.data_cells(), codec.parity_cells()), (k, p));
        }
    }
}

#[test]
fn encode_shape_errors_are_inval() {
    for codec in codecs(4, 2) {
        let d = [[1u8; 8]; 5];
        let d4: Vec<&[u8]> = d[..4].iter().map(|c| c.as_slice()).collect();
        let d3: Vec<&[u8]> = d[..3].iter().map(|c| c.as_slice()).collect();
        let d5: Vec<&[u8]> = d.iter().map(|c| c.as_slice()).collect();
        let mut p = [[0u8; 8]; 3];
        let mut short = [0u8; 7];
        let name = codec.name();

        let mut two: Vec<&mut [u8]> = p[..2].iter_mut().map(|c| c.as_mut_slice()).collect();
        assert_eq!(
            codec.encode(&d3, &mut two).unwrap_err().der(),
            Der::Inval,
            "{name}: 3 data"
        );
        assert_eq!(
            codec.encode(&d5, &mut two).unwrap_err().der(),
            Der::Inval,
            "{name}: 5 data"
        );
        codec.encode(&d4, &mut two).unwrap();

        let mut three: Vec<&mut [u8]> = p.iter_mut().map(|c| c.as_mut_slice()).collect();
        assert_eq!(
            codec.encode(&d4, &mut three).unwrap_err().der(),
            Der::Inval,
            "{name}: 3 parity"
        );
        assert_eq!(
            codec.encode(&d4, &mut three[..1]).unwrap_err().der(),
            Der::Inval,
            "{name}: 1 parity"
        );

        let mut mixed: Vec<&mut [u8]> = vec![&mut p[0], &mut short];
        assert_eq!(
            codec.encode(&d4, &mut mixed).unwrap_err().der(),
            Der::Inval,
            "{name}: short parity"
        );

        let mut uneven = d4.clone();
        uneven[2] = &d[2][..5];
        let mut two: Vec<&mut [u8]> = p[..2].iter_mut().map(|c| c.as_mut_slice()).collect();
        assert_eq!(
            codec.encode(&uneven, &mut two).unwrap_err().der(),
            Der::Inval,
            "{name}: short data"
        );

        let empty: Vec<&[u8]> = vec![&[]; 4];
        let mut none: Vec<&mut [u8]> = vec![&mut [], &mut []];
        assert_eq!(
            codec.encode(&empty, &mut none).unwrap_err().der(),
            Der::Inval,
            "{name}: empty"
        );
    }
}

#[test]
fn reconstruct_shape_errors_are_inval_and_change_nothing() {
    for codec in codecs(4, 2) {
        let name = codec.name();
        let cell = |b: u8, len: usize| Some(vec![b; len]);

        let mut five = vec![cell(1, 8), cell(2, 8), cell(3, 8), cell(4, 8), None];
        assert_eq!(
            codec.reconstruct(&mut five).unwrap_err().der(),
            Der::Inval,
            "{name}: 5 cells"
        );
        let mut seven = vec![
            cell(1, 8),
            cell(2, 8),
            cell(3, 8),
            cell(4, 8),
            None,
            None,
            None,
        ];
        assert_eq!(
            codec.reconstruct(&mut seven).unwrap_err().der(),
            Der::Inval,
            "{name}: 7 cells"
        );

        let mut uneven = vec![cell(1, 8), cell(2, 8), cell(3, 7), cell(4, 8), None, None];
        let before = uneven.clone();
        assert_eq!(
            codec.reconstruct(&mut uneven).unwrap_err().der(),
            Der::Inval,
            "{name}: uneven"
        );
        assert_eq!(uneven, before, "{name}: nothing written on error");

        let mut empty = vec![cell(1, 0), cell(2, 0), cell(3, 0), cell(4, 0), None, None];
        assert_eq!(
            codec.reconstruct(&mut empty).unwrap_err().der(),
            Der::Inval,
            "{name}: empty"
        );

        // reconstruct_into: every buffer, present or not, must have the one length.
        let mut buffers = vec![vec![0u8; 8]; 6];
        buffers[5].truncate(4);
        let mut views: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
        let present = [true, true, true, true, true, false];
        assert_eq!(
            codec
                .reconstruct_into(&mut views, &present)
                .unwrap_err()
                .der(),
            Der::Inval,
            "{name}: short output"
        );
        assert_eq!(
            codec
                .reconstruct_into(&mut views, &present[..5])
                .unwrap_err()
                .der(),
            Der::Inval,
            "{name}: 5 flags"
        );
        assert_eq!(
            codec
                .reconstruct_into(&mut views[..5], &present[..5])
                .unwrap_err()
                .der(),
            Der::Inval,
            "{name}: 5 cells"
        );
    }
}

#[test]
fn fewer_than_k_cells_is_data_loss() {
    for (k, p) in SCHEMES {
        for codec in codecs(k, p) {
            let data = vec![vec![7u8; 16]; k];
            let mut stripe: Vec<Option<Vec<u8>>> = data.iter().cloned().map(Some).collect();
            stripe.extend(encode(&*codec, &data).into_iter().map(Some));
            // Lose p + 1 cells: the first, the last and those between from the end.
            for i in 0..=p {
                stripe[if i == 0 { 0 } else { k + p - i }] = None;
            }
            let before = stripe.clone();
            let err = codec.reconstruct(&mut stripe).unwrap_err();
            assert_eq!(err.der(), Der::DataLoss, "{} {k}+{p}: {err}", codec.name());
            assert_eq!(stripe, before, "nothing written on error");

            let mut all_lost: Vec<Option<Vec<u8>>> = vec![None; k + p];
            assert_eq!(
                codec.reconstruct(&mut all_lost).unwrap_err().der(),
                Der::DataLoss
            );

            let mut buffers = vec![vec![0u8; 16]; k + p];
            let mut views: Vec<&mut [u8]> = buffers.iter_mut().map(Vec::as_mut_slice).collect();
            let mut present = vec![true; k + p];
            present[..=p].fill(false);
            assert_eq!(
                codec
                    .reconstruct_into(&mut views, &present)
                    .unwrap_err()
                    .der(),
                Der::DataLoss
            );
        }
    }
}

#[test]
fn nothing_missing_is_a_no_op() {
    for codec in codecs(2, 1) {
        // Not a valid stripe, but with nothing missing there is nothing to check or write.
        let mut cells = vec![Some(vec![1u8; 3]), Some(vec![2u8; 3]), Some(vec![9u8; 3])];
        let before = cells.clone();
        codec.reconstruct(&mut cells).unwrap();
        assert_eq!(cells, before);
    }
}

#[test]
fn cell_length_limit_is_daos_largest_cell() {
    assert_eq!(CELL_BYTES_MAX, 1 << 30);
    assert!(
        i32::try_from(CELL_BYTES_MAX).is_ok(),
        "fits ISA-L's int lengths"
    );
}

#[test]
fn codec_is_built_once_per_scheme() {
    let a = daos_ec::codec(4, 2).unwrap();
    let b = daos_ec::codec(4, 2).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "codec(4, 2) built twice");
    let c = daos_ec::codec(2, 1).unwrap();
    assert_eq!((c.data_cells(), c.parity_cells()), (2, 1));
    assert_eq!(
        daos_ec::codec(17, 1).unwrap_err().der(),
        daos_types::Der::Inval
    );
}
