//! Pools spanning several engines (one process each) over real libfabric (tcp): the pool
//! service leader forwards container, handle and pool-map changes to the other engines,
//! objects are placed on every engine's targets, replicas survive the loss of an engine, and
//! `dmg pool exclude|drain|reintegrate` change the pool map.

use daos_client::obj::{OO_RO, OO_RW};
use daos_client::{Client, Container, Iod, Object, Pool};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, ObjectId, ObjectType};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64).wrapping_mul(31).wrapping_add(seed * 7919)) as u8)
        .collect()
}

/// A three-engine system with pool "tank" over every engine and container "bucket", opened
/// read-write.
fn three_engines() -> (TestSystem, Arc<Client>, Arc<Pool>, Arc<Container>) {
    let system = TestSystem::start(Options {
        engines: 3,
        ..Options::default()
    });
    system.create_pool("tank", "3G");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("bucket".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = open(&client, &pool, daos_client::cont::COO_RW);
    (system, client, pool, cont)
}

fn open(client: &Arc<Client>, pool: &Arc<Pool>, flags: u32) -> Arc<Container> {
    client
        .run(async |net| Container::open(pool, net, "bucket", flags).await)
        .unwrap()
}

fn object(cont: &Arc<Container>, lo: u64, class: &str) -> Object {
    let oid = cont
        .generate_oid(
            ObjectId::new(lo, 0),
            ObjectType::MultiHashed,
            name_to_id(class),
        )
        .unwrap();
    Object::open(cont, oid, OO_RW).unwrap()
}

fn put(obj: &Object, akey: &[u8], value: &[u8]) {
    obj.update_blocking(
        0,
        b"d",
        &[Iod::single(akey.to_vec(), value.len() as u64)],
        &[value],
    )
    .unwrap();
}

fn get(obj: &Object, akey: &[u8], len: usize) -> daos_types::Result<Vec<u8>> {
    let mut back = vec![0u8; len];
    obj.fetch_blocking(
        0,
        0,
        b"d",
        &[Iod::single(akey.to_vec(), 0)],
        &mut [&mut back],
    )?;
    Ok(back)
}

/// An object with one value sent inline in the message and one moved by RMA bulk.
struct Written {
    obj: Object,
    small: Vec<u8>,
    big: Vec<u8>,
}

impl Written {
    fn new(obj: Object, seed: u64) -> Written {
        let written = Written {
            obj,
            small: pattern(200, seed),
            big: pattern(200 << 10, seed + 77),
        };
        put(&written.obj, b"small", &written.small);
        put(&written.obj, b"big", &written.big);
        written
    }

    /// Reads both values back (through `obj`, or another handle's object of the same id).
    fn check(&self, obj: &Object) {
        assert_eq!(
            get(obj, b"small", 200).unwrap(),
            self.small,
            "{:?}",
            obj.oid()
        );
        assert_eq!(
            get(obj, b"big", self.big.len()).unwrap(),
            self.big,
            "{:?}",
            obj.oid()
        );
    }
}

/// The pool map version and the states of rank `rank`'s targets, as `dmg pool query` shows.
fn rank_states(system: &TestSystem, rank: u32) -> (u64, Vec<String>) {
    let value = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(value["status"], 0, "pool query failed: {value}");
    let version = value["response"]["version"].as_u64().unwrap();
    let states: Vec<String> = value["response"]["targets"]
        .as_array()
        .expect("pool query lists the targets")
        .iter()
        .filter(|t| t["rank"].as_u64() == Some(u64::from(rank)))
        .map(|t| t["state"].as_str().unwrap().to_string())
        .collect();
    assert!(!states.is_empty(), "rank {rank} has no targets in {value}");
    (version, states)
}

#[test]
fn objects_spread_over_every_engine_of_a_pool() {
    let (_system, client, pool, cont) = three_engines();

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

    let objects: Vec<Written> = (1..=24u64)
        .map(|lo| Written::new(object(&cont, lo, "S1"), lo))
        .collect();
    let ranks: BTreeSet<u32> = objects
        .iter()
        .flat_map(|w| w.obj.layout().shards().map(|s| s.rank).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        ranks,
        BTreeSet::from([0, 1, 2]),
        "24 objects should land on all three engines"
    );
    for w in &objects {
        w.check(&w.obj);
    }

    // A new handle works on every engine: the leader forwarded the open (without it, the
    // engines other than the leader answer -DER_NO_HDL).
    client.run(async |net| cont.close(net).await).unwrap();
    let ro = open(&client, &pool, daos_client::cont::COO_RO);
    for w in &objects {
        w.check(&Object::open(&ro, w.obj.oid(), OO_RO).unwrap());
    }
}

#[test]
fn replicated_objects_survive_the_loss_of_an_engine() {
    let (system, _client, _pool, cont) = three_engines();
    let (version_before, states) = rank_states(&system, 2);
    assert!(states.iter().all(|s| s == "upin"), "{states:?}");

    let victim = 2u32;
    let mut objects = Vec::new();
    let mut s1_on_victim = Vec::new();
    for lo in 1..=30u64 {
        for class in ["RP_2G1", "RP_3G1", "S1"] {
            let obj = object(&cont, lo, class);
            let layout = obj.layout();
            let replicas: BTreeSet<u32> = layout.groups[0].iter().map(|s| s.rank).collect();
            assert_eq!(
                replicas.len(),
                layout.groups[0].len(),
                "replicas share an engine"
            );
            let written = Written::new(obj, lo);
            if class == "S1" {
                if replicas.contains(&victim) {
                    s1_on_victim.push(written.obj);
                }
            } else {
                objects.push((written, replicas.contains(&victim)));
            }
        }
    }
    assert!(
        objects.iter().any(|o| o.1),
        "some replicated object must have a copy on rank 2"
    );
    assert!(!s1_on_victim.is_empty());

    system.kill_engine(victim);

    // Degraded reads: every replicated object reads back bit-exact, at once, while the
    // control plane is still excluding the dead engine.
    for (w, _) in &objects {
        w.check(&w.obj);
    }

    // self_heal: the dead engine's targets are excluded from the pool.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (version, states) = rank_states(&system, victim);
        if version > version_before && states.iter().all(|s| s == "down") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rank {victim} not excluded: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let members = system.dmg_json(&["system", "query"]).to_string();
    assert!(
        members.contains("errored"),
        "dmg system query shows the dead rank: {members}"
    );

    // Writes go on to the surviving replicas (and to the shards' new homes), and read back.
    for (w, _) in objects.iter_mut() {
        w.small = pattern(200, 9000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
    }
    for (w, _) in &objects {
        w.check(&w.obj);
    }

    // An unreplicated object whose only shard was on the dead engine: a clear error, not
    // wrong or empty data.
    for obj in &s1_on_victim {
        let err = get(obj, b"small", 200).unwrap_err();
        assert_eq!(err.der(), Der::DataLoss, "{err}");
    }
}

#[test]
fn dmg_exclude_drain_and_reintegrate_change_the_pool_map() {
    let (system, client, pool, cont) = three_engines();
    let objects: Vec<Written> = (1..=12u64)
        .map(|lo| Written::new(object(&cont, lo, "RP_3G1"), lo))
        .collect();
    let (v0, _) = rank_states(&system, 1);
    let update = |op: &str, rank: &str| {
        let value = system.dmg_json(&["pool", op, "--rank", rank, "tank"]);
        assert_eq!(value["status"], 0, "dmg pool {op} --rank {rank}: {value}");
        value["response"]["map_version"].as_u64().unwrap()
    };

    // Excluding a live engine by hand.
    let v1 = update("exclude", "1");
    assert!(v1 > v0);
    assert_eq!(rank_states(&system, 1), (v1, vec!["down".to_string(); 2]));
    let twice = system.dmg_json(&["pool", "exclude", "--rank", "1", "tank"]);
    assert_ne!(
        twice["status"], 0,
        "excluding an excluded rank is refused: {twice}"
    );

    // Draining another: its targets stay in the map, marked as draining.
    let v2 = update("drain", "2");
    assert!(v2 > v1);
    assert_eq!(rank_states(&system, 2).1, vec!["drain".to_string(); 2]);

    // Reintegrating the excluded engine: the map (not the operation) travels to it, so its
    // copy, which never saw its own exclusion, takes the new one and the command succeeds.
    let v3 = update("reintegrate", "1");
    assert!(v3 > v2);
    assert_eq!(rank_states(&system, 1), (v3, vec!["up".to_string(); 2]));

    // The client follows the map, and every object still reads back from rank 0, the one
    // engine whose copies are complete (rank 1 is being reintegrated, rank 2 drained).
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    assert_eq!(u64::from(pool.map_version()), v3);
    for w in &objects {
        w.check(&w.obj);
    }

    // Excluding one target of an engine leaves its other targets serving.
    let one = system.dmg_json(&[
        "pool",
        "exclude",
        "--rank",
        "0",
        "--target-idx",
        "1",
        "tank",
    ]);
    assert_eq!(one["status"], 0, "{one}");
    assert_eq!(rank_states(&system, 0).1, vec!["upin", "down"]);

    // Objects with a copy on that target now have no complete copy the map can vouch for
    // (there is no rebuild yet): they are refused with -DER_DATA_LOSS, never read wrong;
    // the others still read back.
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    let mut refused = 0;
    for w in &objects {
        let unreadable = w.obj.layout().groups[0].iter().all(|s| !s.is_readable());
        match get(&w.obj, b"small", 200) {
            Ok(bytes) => {
                assert!(!unreadable);
                assert_eq!(bytes, w.small);
            }
            Err(err) => {
                assert!(unreadable, "{err}");
                assert_eq!(err.der(), Der::DataLoss, "{err}");
                refused += 1;
            }
        }
    }
    assert!(
        refused < objects.len(),
        "objects without a copy on 0:1 still read"
    );
}
