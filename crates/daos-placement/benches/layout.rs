//! What a layout costs against the depth of the pool map's base chain, at 1,000 targets
//! (100 hosts x 2 engines x 5 targets). Each finished rebuild adds a level to the chain
//! while targets stay out (`PoolMap::rebuild_done`); it is dropped once every target is in
//! again and a pass finds every group complete (`PoolMap::rebuild_clean`), and capped at 64.
//!
//! Two costs per depth: a layout from a placement built once (what the client does since it
//! caches one placement per map version in `Pool::placement`, and what a rebuild scan does),
//! and building the placement then one layout (what every object open paid before). Depth 0
//! is the same-run baseline.
//!
//! Run: `cargo bench -p daos-placement --bench layout`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use daos_placement::{PoolMap, RankEntry, TargetEntry, TargetState};
use daos_types::oclass::ObjectClass;
use daos_types::{ObjectId, ObjectType};
use std::hint::black_box;

fn pool_map() -> PoolMap {
    let ranks = (0..200u32)
        .map(|rank| RankEntry {
            rank,
            domain: format!("host{}", rank / 2),
            service_addr: vec![rank as u8; 16],
            targets: (0..5)
                .map(|index| TargetEntry {
                    index,
                    addr: vec![index as u8; 16],
                    state: TargetState::UpIn,
                    fseq: 0,
                    drained: false,
                })
                .collect(),
        })
        .collect();
    PoolMap {
        version: 1,
        ranks,
        base: None,
    }
}

/// A map whose base chain is `depth` levels deep: `depth` engines excluded one after the
/// other, each exclusion's rebuild recorded.
fn map_with_chain(depth: u32) -> PoolMap {
    let mut map = pool_map();
    for rank in 0..depth {
        map.exclude_rank(rank * 3).expect("exclude");
        assert!(map.rebuild_done());
    }
    map
}

fn layouts(c: &mut Criterion) {
    let classes: Vec<ObjectClass> = ["RP_3G1", "EC_4P2G1", "S1"]
        .iter()
        .map(|n| ObjectClass::from_name(n).expect("class"))
        .collect();
    let oid =
        |i: u64| ObjectId::new(i, 0).encode(ObjectType::MultiHashed, classes[(i % 3) as usize]);
    let mut group = c.benchmark_group("layout at 1,000 targets");
    for depth in [0u32, 8, 63] {
        let map = map_with_chain(depth);
        let placement = map.placement();
        let mut i = 0u64;
        group.bench_with_input(
            BenchmarkId::new("placement built once", depth),
            &depth,
            |b, _| {
                b.iter(|| {
                    i += 1;
                    black_box(placement.layout(oid(i)).expect("layout"))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("placement built per layout", depth),
            &depth,
            |b, _| {
                b.iter(|| {
                    i += 1;
                    black_box(map.layout(oid(i)).expect("layout"))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, layouts);
criterion_main!(benches);
