//! Pools spanning several engines (one process each) over real libfabric (tcp): the pool
//! service leader forwards container, handle and snapshot changes to the other engines, and
//! objects are placed on every engine's targets.

use daos_client::obj::{OO_RO, OO_RW};
use daos_client::{Client, Container, Iod, Object, Pool};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, ObjectId, ObjectType};
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

    // Erasure-coded classes are refused rather than silently stored without parity.
    for class in ["EC_2P1G1", "EC_4P2GX"] {
        let oid = cont
            .generate_oid(
                ObjectId::new(99, 0),
                ObjectType::MultiHashed,
                name_to_id(class),
            )
            .unwrap();
        let Err(err) = Object::open(&cont, oid, OO_RW) else {
            panic!("{class} opened");
        };
        assert_eq!(err.der(), Der::Notsupported, "{class}: {err}");
    }

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

/// The pool map version and the states of rank `rank`'s targets, as `dmg pool query` shows.
fn rank_states(system: &TestSystem, rank: u64) -> (u64, Vec<String>) {
    let value = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(value["status"], 0, "pool query failed: {value}");
    let version = value["response"]["version"].as_u64().unwrap();
    let states = value["response"]["targets"]
        .as_array()
        .map(|targets| {
            targets
                .iter()
                .filter(|t| t["rank"].as_u64() == Some(rank))
                .map(|t| t["state"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    (version, states)
}

#[test]
fn replicated_objects_survive_the_loss_of_an_engine() {
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
    let (version_before, states) = rank_states(&system, 2);
    assert!(states.iter().all(|s| s == "upin"), "{states:?}");

    let victim = 2u32;
    let mut objects = Vec::new();
    let mut s1_on_victim = Vec::new();
    for lo in 1..=30u64 {
        for class in ["RP_2G1", "RP_3G1", "S1"] {
            let oid = cont
                .generate_oid(
                    ObjectId::new(lo, 0),
                    ObjectType::MultiHashed,
                    name_to_id(class),
                )
                .unwrap();
            let obj = Object::open(&cont, oid, OO_RW).unwrap();
            let layout = obj.layout();
            let replicas: BTreeSet<u32> = layout.groups[0].iter().map(|s| s.rank).collect();
            assert_eq!(
                replicas.len(),
                layout.groups[0].len(),
                "replicas share an engine"
            );
            let small = pattern(200, lo);
            let big = pattern(200 << 10, lo + 77);
            obj.update_blocking(0, b"d", &[Iod::single(b"small".to_vec(), 200)], &[&small])
                .unwrap();
            obj.update_blocking(
                0,
                b"d",
                &[Iod::single(b"big".to_vec(), big.len() as u64)],
                &[&big],
            )
            .unwrap();
            if class == "S1" {
                if replicas.contains(&victim) {
                    s1_on_victim.push(obj);
                }
            } else {
                objects.push((obj, small, big, replicas.contains(&victim)));
            }
        }
    }
    assert!(
        objects.iter().any(|o| o.3),
        "some replicated object must have a copy on rank 2"
    );
    assert!(!s1_on_victim.is_empty());

    system.kill_engine(victim);

    // Degraded reads: every replicated object reads back bit-exact, at once, while the
    // control plane is still excluding the dead engine.
    let read_all = |objects: &[(Object, Vec<u8>, Vec<u8>, bool)]| {
        for (obj, small, big, _) in objects {
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
            assert_eq!(&a, small, "{:?}", obj.oid());
            assert_eq!(&b, big, "{:?}", obj.oid());
        }
    };
    read_all(&objects);

    // self_heal: the dead engine's targets are excluded from the pool within seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (version, states) = rank_states(&system, u64::from(victim));
        if version > version_before && states.iter().all(|s| s == "down") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rank {victim} not excluded: {states:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let members = system.dmg_json(&["system", "query"]);
    let text = members.to_string();
    assert!(
        text.contains("errored"),
        "dmg system query shows the dead rank: {text}"
    );

    // Writes go on to the surviving replicas (and to the shards' new homes), and read back.
    for (obj, small, _, _) in objects.iter_mut() {
        *small = pattern(200, 9000 + obj.oid().lo);
        obj.update_blocking(0, b"d", &[Iod::single(b"small".to_vec(), 200)], &[small])
            .unwrap();
    }
    read_all(&objects);

    // An unreplicated object whose only shard was on the dead engine: a clear error, not
    // wrong or empty data.
    for obj in &s1_on_victim {
        let mut a = vec![0u8; 200];
        let err = obj
            .fetch_blocking(
                0,
                0,
                b"d",
                &[Iod::single(b"small".to_vec(), 0)],
                &mut [&mut a],
            )
            .unwrap_err();
        assert_eq!(err.der(), Der::DataLoss, "{err}");
    }
}
