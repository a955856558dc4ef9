//! Pools spanning several engines (one process each) over real libfabric (tcp): the pool
//! service leader forwards container, handle and snapshot changes to the other engines, and
//! objects are placed on every engine's targets.

use daos_client::obj::{OO_RO, OO_RW};
use daos_client::{Client, Container, Iod, Object, Pool};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{ObjectId, ObjectType};
use std::collections::BTreeSet;
use std::sync::Arc;

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64).wrapping_mul(31).wrapping_add(seed * 7919)) as u8)
        .collect()
}

fn connect(system: &TestSystem) -> (Arc<Client>, Arc<Pool>) {
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    (client, pool)
}

fn open(client: &Arc<Client>, pool: &Arc<Pool>, flags: u32) -> Arc<Container> {
    client
        .run(async |net| Container::open(pool, net, "bucket", flags).await)
        .unwrap()
}

#[test]
fn objects_spread_over_every_engine_of_a_pool() {
    let system = TestSystem::start(Options {
        engines: 3,
        ..Options::default()
    });
    system.create_pool("tank", "3G");
    let (client, pool) = connect(&system);
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("bucket".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = open(&client, &pool, daos_client::cont::COO_RW);

    let mut ranks = BTreeSet::new();
    let mut objects = Vec::new();
    for lo in 1..=24u64 {
        let oid = cont
            .generate_oid(
                ObjectId::new(lo, 0),
                ObjectType::MultiHashed,
                name_to_id("S1"),
            )
            .unwrap();
        let obj = Object::open(&cont, oid, OO_RW).unwrap();
        ranks.extend(obj.layout().shards().map(|s| s.rank));
        // One value through the message, one through RMA bulk.
        let small = pattern(200, lo);
        let big = pattern(300 << 10, lo + 1000);
        obj.update_blocking(0, b"d", &[Iod::single(b"small".to_vec(), 200)], &[&small])
            .unwrap();
        obj.update_blocking(
            0,
            b"d",
            &[Iod::single(b"big".to_vec(), big.len() as u64)],
            &[&big],
        )
        .unwrap();
        objects.push((obj, small, big));
    }
    assert_eq!(
        ranks,
        BTreeSet::from([0, 1, 2]),
        "24 objects should land on all three engines"
    );
    for (obj, small, big) in &objects {
        let mut a = vec![0u8; small.len()];
        let mut b = vec![0u8; big.len()];
        obj.fetch_blocking(
            0,
            0,
            b"d",
            &[Iod::single(b"small".to_vec(), 0)],
            &mut [&mut a],
        )
        .unwrap();
        obj.fetch_blocking(
            0,
            0,
            b"d",
            &[Iod::single(b"big".to_vec(), 0)],
            &mut [&mut b],
        )
        .unwrap();
        assert_eq!(&a, small);
        assert_eq!(&b, big);
    }

    // A new handle works on every engine: the leader forwarded the open (without it, the
    // engines other than the leader answer -DER_NO_HDL).
    client.run(async |net| cont.close(net).await).unwrap();
    let ro = open(&client, &pool, daos_client::cont::COO_RO);
    for (obj, small, _) in &objects {
        let obj = Object::open(&ro, obj.oid(), OO_RO).unwrap();
        let mut a = vec![0u8; small.len()];
        obj.fetch_blocking(
            0,
            0,
            b"d",
            &[Iod::single(b"small".to_vec(), 0)],
            &mut [&mut a],
        )
        .unwrap();
        assert_eq!(&a, small);
    }
}
