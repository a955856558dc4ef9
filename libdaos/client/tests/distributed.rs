//! Pools spanning several engines (one process each) over real libfabric (tcp): the pool
//! service leader forwards container, handle and pool-map changes to the other engines,
//! objects are placed on every engine's targets, replicas survive the loss of an engine,
//! rebuild restores redundancy with the whole history, and `dmg pool
//! exclude|drain|reintegrate` move data as the map changes.

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

/// Waits until `dmg pool query` reports the rebuild for a map newer than `after` done, and
/// returns the pool's `rebuild` status and the map version.
fn await_rebuild(system: &TestSystem, after: u64) -> (serde_json::Value, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = system.dmg_json(&["pool", "query", "tank"]);
        assert_eq!(value["status"], 0, "pool query failed: {value}");
        let rebuild = value["response"]["rebuild"].clone();
        let version = value["response"]["version"].as_u64().unwrap();
        assert_ne!(rebuild["state"], "failed", "rebuild failed: {rebuild}");
        let rebuilt_for = rebuild["map_version"].as_u64().unwrap_or(0);
        if rebuild["state"] == "done" && rebuilt_for > after && version > rebuilt_for {
            return (rebuild, version);
        }
        assert!(
            Instant::now() < deadline,
            "rebuild not done in time: {value}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fetch_at(obj: &Object, epoch: u64, akey: &[u8], len: usize) -> (u64, Vec<u8>) {
    let mut back = vec![0u8; len];
    let result = obj
        .fetch_blocking(
            epoch,
            0,
            b"d",
            &[Iod::single(akey.to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
    back.truncate(result.lens[0] as usize);
    (result.sizes[0], back)
}

/// Twelve `RP_2G1` objects and twelve `S1` objects, written.
fn replicated_and_not(cont: &Arc<Container>) -> (Vec<Written>, Vec<Written>) {
    let write = |range: std::ops::RangeInclusive<u64>, class: &str| -> Vec<Written> {
        range
            .map(|lo| Written::new(object(cont, lo, class), lo))
            .collect()
    };
    (write(1..=12, "RP_2G1"), write(100..=111, "S1"))
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

    // self_heal: the dead engine's targets are excluded from the pool ("down", then
    // "downout" once rebuild finished).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (version, states) = rank_states(&system, victim);
        if version > version_before && states.iter().all(|s| s == "down" || s == "downout") {
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
fn rebuild_restores_redundancy_with_the_whole_history() {
    let (system, client, _pool, cont) = three_engines();
    // RP_2 objects with history: a value overwritten after a snapshot, a punched akey.
    let mut objects = Vec::new();
    for lo in 1..=24u64 {
        let obj = object(&cont, lo, "RP_2G1");
        put(&obj, b"gone", b"soon punched");
        objects.push(Written::new(obj, lo));
    }
    let snap = client
        .run(async |net| cont.create_snapshot(net, "before").await)
        .unwrap();
    for w in objects.iter_mut() {
        w.small = pattern(200, 5000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
        client
            .run(async |net| w.obj.punch_akeys(net, 0, b"d", &[b"gone".to_vec()]).await)
            .unwrap();
    }
    let check_all = |objects: &[Written]| {
        for w in objects {
            w.check(&w.obj);
            let old = pattern(200, w.obj.oid().lo);
            assert_eq!(
                fetch_at(&w.obj, snap, b"small", 200).1,
                old,
                "snapshot read"
            );
            assert_eq!(
                fetch_at(&w.obj, snap, b"gone", 64),
                (12, b"soon punched".to_vec())
            );
            assert_eq!(
                fetch_at(&w.obj, 0, b"gone", 64).0,
                0,
                "punched akey is gone"
            );
        }
    };
    let (v0, _) = rank_states(&system, 0);

    // First failure: degraded reads at once, then rebuild onto the two survivors.
    system.kill_engine(2);
    check_all(&objects);
    let (rebuild, v1) = await_rebuild(&system, v0);
    assert!(
        rebuild["objects"].as_u64().unwrap() > 0 && rebuild["bytes"].as_u64().unwrap() > 0,
        "rebuild pushed nothing: {rebuild}"
    );
    assert_eq!(
        rank_states(&system, 2),
        (v1, vec!["downout".to_string(); 2])
    );
    let text = String::from_utf8(system.dmg(&["pool", "query", "tank"]).stdout).unwrap();
    assert!(text.contains("Rebuild done"), "{text}");
    for w in &objects {
        let layout = w.obj.layout();
        let ranks: BTreeSet<u32> = layout.groups[0].iter().map(|s| s.rank).collect();
        assert_eq!(ranks, BTreeSet::from([0, 1]), "{:?}", w.obj.oid());
        assert!(layout.groups[0].iter().all(|s| s.is_readable()));
    }
    check_all(&objects);

    // Second failure: every object now has one copy left, on rank 0; for the objects that
    // lived on ranks 1 and 2 that copy is the one rebuild made.
    system.kill_engine(1);
    check_all(&objects);
    await_rebuild(&system, v1);
    check_all(&objects);
}

#[test]
fn dmg_exclude_drain_and_reintegrate_move_data() {
    let (system, client, pool, cont) = three_engines();
    let (mut objects, s1) = replicated_and_not(&cont);
    let (v0, _) = rank_states(&system, 1);
    let update = |op: &str, rank: &str| {
        let value = system.dmg_json(&["pool", op, "--rank", rank, "tank"]);
        assert_eq!(value["status"], 0, "dmg pool {op} --rank {rank}: {value}");
        value["response"]["map_version"].as_u64().unwrap()
    };

    // Excluding a live engine by hand: rebuild copies its replicas to the others.
    let v1 = update("exclude", "1");
    assert!(v1 > v0);
    let twice = system.dmg_json(&["pool", "exclude", "--rank", "1", "tank"]);
    assert_ne!(
        twice["status"], 0,
        "excluding an excluded rank is refused: {twice}"
    );
    let (_, v2) = await_rebuild(&system, v0);
    assert_eq!(
        rank_states(&system, 1),
        (v2, vec!["downout".to_string(); 2])
    );

    // Writes while rank 1 is out: its copies are now stale.
    for w in objects.iter_mut() {
        w.small = pattern(200, 7000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
    }

    // Reintegrating it: the map (not the operation) travels to it, it drops its stale
    // replicas, and rebuild copies the current ones back.
    let v3 = update("reintegrate", "1");
    assert!(v3 > v2);
    let (_, v4) = await_rebuild(&system, v2);
    assert_eq!(rank_states(&system, 1), (v4, vec!["upin".to_string(); 2]));

    // Draining rank 2 moves even the unreplicated objects off it, while it still serves.
    update("drain", "2");
    let (_, v5) = await_rebuild(&system, v4);
    assert_eq!(
        rank_states(&system, 2),
        (v5, vec!["downout".to_string(); 2])
    );
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in objects.iter().chain(&s1) {
        assert!(w.obj.layout().shards().all(|s| s.rank != 2));
        w.check(&w.obj);
    }

    // Stopping rank 0 now leaves one copy of each replicated object, and some of those are
    // on rank 1: they read back the values written while rank 1 was out, so its copies were
    // really replaced.
    let back_from_1 = objects
        .iter()
        .filter(|w| w.obj.layout().groups[0].iter().any(|s| s.rank == 1))
        .count();
    assert!(back_from_1 > 0);
    update("exclude", "0");
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in &objects {
        w.check(&w.obj);
    }

    // `dmg pool rebuild stop|start` answer, and a rebuild that has nothing left to do ends.
    let stop = system.dmg_json(&["pool", "rebuild", "stop", "tank"]);
    let start = system.dmg_json(&["pool", "rebuild", "start", "tank"]);
    assert!(
        stop["status"] == 0 || start["status"] == 0,
        "stop: {stop}\nstart: {start}"
    );
    let (rebuild, _) = await_rebuild(&system, v5);
    assert_eq!(rebuild["status"], 0, "{rebuild}");
}

#[test]
fn a_stopped_engine_restarts_and_is_reintegrated_with_current_data() {
    let (system, client, pool, cont) = three_engines();
    let (mut objects, s1) = replicated_and_not(&cont);
    let s1_on_2: Vec<&Written> = s1
        .iter()
        .filter(|w| w.obj.layout().groups[0][0].rank == 2)
        .collect();
    assert!(!s1_on_2.is_empty());
    let (v0, _) = rank_states(&system, 0);
    let member = |rank: u32| {
        let value = system.dmg_json(&["system", "query"]);
        value["response"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["rank"] == rank)
            .map(|m| m["state"].as_str().unwrap().to_string())
            .unwrap()
    };

    // dmg system stop --ranks 2: the engine stops, its pools exclude it and rebuild.
    let stop = system.dmg_json(&["system", "stop", "--ranks", "2"]);
    assert_eq!(stop["status"], 0, "{stop}");
    assert_eq!(member(2), "stopped");
    let (_, v1) = await_rebuild(&system, v0);
    for w in objects.iter_mut() {
        w.small = pattern(200, 3000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
    }
    for w in &s1_on_2 {
        let err = get(&w.obj, b"small", 200).unwrap_err();
        assert_eq!(err.der(), Der::DataLoss, "{err}");
    }

    // dmg system start --ranks 2, then dmg pool reintegrate: the restarted engine takes the
    // leader's handles (the client's open handle works on it), drops its stale replicas and
    // gets the current ones; its unreplicated objects come back.
    let start = system.dmg_json(&["system", "start", "--ranks", "2"]);
    assert_eq!(start["status"], 0, "{start}");
    assert_eq!(member(2), "joined");
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", "2", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let (_, v2) = await_rebuild(&system, v1);
    assert_eq!(rank_states(&system, 2), (v2, vec!["upin".to_string(); 2]));
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in s1_on_2.iter() {
        w.check(&w.obj);
    }

    // Rank 2's copies are current: take the other engines' copies away one by one (rank 1
    // excluded, its replicas rebuilt from rank 2 where it holds the last one; then rank 2
    // stopped) and every object still reads the values written while rank 2 was out.
    let value = system.dmg_json(&["pool", "exclude", "--rank", "1", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let (_, v3) = await_rebuild(&system, v2);
    let stop = system.dmg_json(&["system", "stop", "--ranks", "2"]);
    assert_eq!(stop["status"], 0, "{stop}");
    await_rebuild(&system, v3);
    for w in &objects {
        w.check(&w.obj);
    }
}
