//! Encode throughput of each codec for EC_4P2 with 1 MiB cells (a 4 MiB stripe), in GB/s of
//! data cells encoded (10^9 bytes per second), single-threaded. Also times rebuilding two lost
//! data cells. Run with `cargo run --release -p daos-ec --example ec_speed`.

use daos_ec::{isal_codec, rust_codec, Codec};
use std::time::{Duration, Instant};

const K: usize = 4;
const P: usize = 2;
const CELL_BYTES: usize = 1 << 20;
/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(2);

fn main() {
    let data: Vec<Vec<u8>> = (0..K)
        .map(|c| {
            (0..CELL_BYTES)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> (c + 3)) as u8)
                .collect()
        })
        .collect();
    let mut codecs = vec![rust_codec(K, P).expect("4+2 is supported")];
    match isal_codec(K, P) {
        Ok(codec) => codecs.push(codec),
        Err(e) => println!("ISA-L: {e}"),
    }
    for codec in codecs {
        let (encode, stripe) = time_encode(&*codec, &data);
        let rebuild = time_rebuild(&*codec, &stripe);
        println!(
            "{:>22}: EC_{K}P{P}, {} KiB cells: encode {encode:.2} GB/s, rebuild 2 data cells {rebuild:.2} GB/s",
            codec.name(),
            CELL_BYTES / 1024
        );
    }
}

/// GB/s of data encoded, and the full stripe.
fn time_encode(codec: &dyn Codec, data: &[Vec<u8>]) -> (f64, Vec<Vec<u8>>) {
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut parity = vec![vec![0u8; CELL_BYTES]; P];
    let mut rounds = 0u64;
    let start = Instant::now();
    while start.elapsed() < RUN {
        let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        codec.encode(&refs, &mut outs).expect("valid shapes");
        rounds += 1;
    }
    let rate = (rounds * (K * CELL_BYTES) as u64) as f64 / start.elapsed().as_secs_f64() / 1e9;
    let mut stripe = data.to_vec();
    stripe.extend(parity);
    (rate, stripe)
}

/// GB/s of stripe data (k cells' worth read) when rebuilding cells 0 and 1 into caller buffers.
fn time_rebuild(codec: &dyn Codec, stripe: &[Vec<u8>]) -> f64 {
    let mut cells = stripe.to_vec();
    let present: Vec<bool> = (0..K + P).map(|i| i >= 2).collect();
    let mut rounds = 0u64;
    let start = Instant::now();
    while start.elapsed() < RUN {
        let mut views: Vec<&mut [u8]> = cells.iter_mut().map(Vec::as_mut_slice).collect();
        codec
            .reconstruct_into(&mut views, &present)
            .expect("k cells present");
        rounds += 1;
    }
    assert!(cells == stripe, "rebuilt cells match");
    (rounds * (K * CELL_BYTES) as u64) as f64 / start.elapsed().as_secs_f64() / 1e9
}
