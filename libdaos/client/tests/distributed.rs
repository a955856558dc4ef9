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

/// A three-engine system with pool "tank" over every engine (its service replicated on all
/// three) and container "bucket", opened read-write.
fn three_engines() -> (TestSystem, Arc<Client>, Arc<Pool>, Arc<Container>) {
    engines(3, 2, Props::new())
}

/// `count` engines of `targets` targets each, pool "tank" over all of them (the default
/// service replicas: the first three ranks) and container "bucket" with `props`, opened
/// read-write.
fn engines(
    count: u32,
    targets: u32,
    props: Props,
) -> (TestSystem, Arc<Client>, Arc<Pool>, Arc<Container>) {
    engines_with_nsvc(count, targets, props, None, false)
}

/// [`engines`] with the pool service on rank 0 alone, for tests that take two of ranks 1 and
/// 2 away: a service of three replicas (Raft) survives one loss, not two (as in DAOS, where
/// surviving two takes five replicas), and these tests are about the data.
fn engines_svc_on_0(
    count: u32,
    targets: u32,
    props: Props,
) -> (TestSystem, Arc<Client>, Arc<Pool>, Arc<Container>) {
    engines_with_nsvc(count, targets, props, Some(1), false)
}

fn engines_with_nsvc(
    count: u32,
    targets: u32,
    props: Props,
    nsvc: Option<u32>,
    netns: bool,
) -> (TestSystem, Arc<Client>, Arc<Pool>, Arc<Container>) {
    let system = TestSystem::start(Options {
        engines: count,
        targets,
        netns,
        ..Options::default()
    });
    let (client, pool, cont) = pool_on(&system, props, nsvc);
    (system, client, pool, cont)
}

/// Creates pool `tank` on every engine of `system` (`nsvc` service replicas, or the default)
/// and container `bucket` with `props`, and connects and opens them.
fn pool_on(
    system: &TestSystem,
    mut props: Props,
    nsvc: Option<u32>,
) -> (Arc<Client>, Arc<Pool>, Arc<Container>) {
    let size = format!("--size={}G", system.options.engines);
    let nsvc = nsvc.map(|n| format!("--nsvc={n}"));
    let mut args = vec!["pool", "create", size.as_str()];
    args.extend(nsvc.as_deref());
    args.push("tank");
    let value = system.dmg_json(&args);
    assert_eq!(value["status"], 0, "pool create failed: {value}");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    props.set(prop::CO_LABEL, PropValue::Text("bucket".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = open(&client, &pool, daos_client::cont::COO_RW);
    (client, pool, cont)
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

/// Rank `rank`'s entry in `dmg system query`.
fn member(system: &TestSystem, rank: u32) -> serde_json::Value {
    member_entry(system, rank).unwrap_or_else(|| panic!("rank {rank} is not a member"))
}

/// Rank `rank`'s entry in `dmg system query`, if it is listed.
fn member_entry(system: &TestSystem, rank: u32) -> Option<serde_json::Value> {
    let value = system.dmg_json(&["system", "query"]);
    value["response"]["members"]
        .as_array()?
        .iter()
        .find(|m| m["rank"] == rank)
        .cloned()
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
    (write(cont, 1..=12, "RP_2G1"), write(cont, 100..=111, "S1"))
}

/// Objects of `class` with ids `range`, each with both values written.
fn write(cont: &Arc<Container>, range: std::ops::RangeInclusive<u64>, class: &str) -> Vec<Written> {
    range
        .map(|lo| Written::new(object(cont, lo, class), lo))
        .collect()
}

#[test]
fn objects_spread_over_every_engine_of_a_pool() {
    let (_system, client, pool, cont) = three_engines();

    let objects: Vec<Written> = write(&cont, 1..=24, "S1");
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
fn a_hung_engine_is_declared_down_by_swim_and_excluded() {
    let (system, client, pool, cont) = three_engines();
    let objects: Vec<Written> = write(&cont, 1..=12, "RP_2G1");
    let (v0, _) = rank_states(&system, 0);

    // Rank 2 hangs: its process lives on (so no exit to notice) and answers nothing.
    system.pause_engine(2);
    let paused = Instant::now();
    let member = |rank: u32| member(&system, rank);
    let deadline = paused + Duration::from_secs(60);
    let found = loop {
        let m = member(2);
        if m["state"] != "joined" {
            break m;
        }
        assert!(Instant::now() < deadline, "rank 2 still joined: {m}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = paused.elapsed();
    println!(
        "hung rank 2 detected and fenced {:.1} s after it stopped answering",
        took.as_secs_f64()
    );
    assert_eq!(found["state"], "errored", "{found}");
    assert!(
        found.to_string().contains("SWIM"),
        "the reason names SWIM: {found}"
    );
    assert!(system.engine_pid(2).is_none(), "the hung engine was killed");

    // Its pools excluded it and rebuilt; every replicated object reads back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rank_states(&system, 2).1.iter().all(|s| s == "downout") {
        assert!(Instant::now() < deadline, "rank 2 not excluded");
        std::thread::sleep(Duration::from_millis(100));
    }
    await_rebuild(&system, v0);
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in &objects {
        w.check(&w.obj);
    }
    // The healthy engines were not suspected meanwhile.
    assert_eq!(member(0)["state"], "joined");
    assert_eq!(member(1)["state"], "joined");
}

#[test]
fn rebuild_restores_redundancy_with_the_whole_history() {
    let (system, client, _pool, cont) = engines_svc_on_0(3, 2, Props::new());
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
    // Each rebuild job pauses before its scan, so the last one still runs when `dmg pool
    // rebuild stop` comes.
    let system = TestSystem::start(Options {
        engines: 3,
        targets: 2,
        env: vec![("DAOS_RS_REBUILD_PAUSE_MS".into(), "1000".into())],
        ..Options::default()
    });
    let (client, pool, cont) = pool_on(&system, Props::new(), None);
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

    // `dmg pool rebuild stop` stops the running rebuild, `start` resumes it, and it ends.
    let stop = system.dmg_json(&["pool", "rebuild", "stop", "tank"]);
    assert_eq!(stop["status"], 0, "stop: {stop}");
    let stopped = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(
        stopped["response"]["rebuild"]["state"], "stopped",
        "{stopped}"
    );
    let start = system.dmg_json(&["pool", "rebuild", "start", "tank"]);
    assert_eq!(start["status"], 0, "start: {start}");
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
    let member = |rank: u32| member(&system, rank)["state"].as_str().unwrap().to_string();

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

/// Waits until every target of `ranks` is `downout` (excluded and rebuilt around), then for
/// the rebuild after `after` to be reported done; returns the map version.
fn await_out(system: &TestSystem, ranks: &[u32], after: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ranks
        .iter()
        .all(|&r| rank_states(system, r).1.iter().all(|s| s == "downout"))
    {
        assert!(
            Instant::now() < deadline,
            "ranks {ranks:?} not excluded: {}",
            system.dmg_json(&["pool", "query", "tank"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    await_rebuild(system, after).1
}

#[test]
fn a_returning_last_copy_refills_its_group() {
    let (system, client, pool, cont) = engines_svc_on_0(4, 2, Props::new());
    // RP_2G1 objects; those with both replicas on ranks 1 and 2 lose both at once.
    let objects: Vec<Written> = write(&cont, 1..=64, "RP_2G1");
    let on_1_and_2 = |w: &Written| {
        let ranks: BTreeSet<u32> = w.obj.layout().shards().map(|s| s.rank).collect();
        ranks == BTreeSet::from([1, 2])
    };
    let both: Vec<&Written> = objects.iter().filter(|w| on_1_and_2(w)).collect();
    assert!(
        !both.is_empty(),
        "no object has its replicas on ranks 1 and 2"
    );
    let (v0, _) = rank_states(&system, 0);

    // Ranks 1 and 2 crash together: beyond the redundancy of those objects, which are
    // refused with -DER_DATA_LOSS (not read empty); every other object reads back.
    system.kill_engines(&[1, 2]);
    let v1 = await_out(&system, &[1, 2], v0);
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in &objects {
        if on_1_and_2(w) {
            let err = get(&w.obj, b"small", 200).unwrap_err();
            assert_eq!(err.der(), Der::DataLoss, "{err}");
        } else {
            w.check(&w.obj);
        }
    }

    // The engine excluded last holds the last copy of those objects (the other one's copy
    // may miss writes made in between); it returns. Its reintegration makes that copy
    // readable only when the first pass is recorded; a second pass then copies it to the
    // group's other place, so the objects are replicated again.
    let map = pool.map();
    let last = *[1u32, 2]
        .iter()
        .max_by_key(|&&r| map.target(r, 0).unwrap().fseq)
        .unwrap();
    let rank = last.to_string();
    let start = system.dmg_json(&["system", "start", "--ranks", &rank]);
    assert_eq!(start["status"], 0, "{start}");
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", &rank, "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let (rebuild, v2) = await_rebuild(&system, v1);
    assert_eq!(
        rank_states(&system, last),
        (v2, vec!["upin".to_string(); 2]),
        "{rebuild}"
    );
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in &objects {
        w.check(&w.obj);
    }

    // It crashes again: those objects read from the copies the second pass made.
    system.kill_engine(last);
    await_out(&system, &[last], v2);
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in &objects {
        w.check(&w.obj);
    }
}

/// Cell size of the erasure-coded tests' containers: small, so that a few KiB span stripes.
const EC_CELL: u64 = 4096;
/// Bytes of each erasure-coded test array that the tests write into and read back.
const EC_SPAN: usize = 160 << 10;

/// A container property list with `ec_cell_sz` [`EC_CELL`] and checksums on.
fn ec_props(rd_fac: u64) -> Props {
    let mut props = Props::new();
    props.set(prop::CO_EC_CELL_SZ, PropValue::Number(EC_CELL));
    props.set(prop::CO_REDUN_FAC, PropValue::Number(rd_fac));
    props.set(
        prop::CO_CSUM,
        PropValue::Number(prop::ChecksumType::Crc32 as u64),
    );
    props
}

/// A byte array (akey "a" under dkey "d") and a single value ("s") of an erasure-coded
/// object, and what they must read back as.
struct EcArray {
    obj: Object,
    dkey: Vec<u8>,
    bytes: Vec<u8>,
    written: Vec<bool>,
    single: Vec<u8>,
    /// A snapshot's epoch and the array's bytes then.
    snapshot: Option<(u64, Vec<u8>)>,
}

impl EcArray {
    /// Writes full stripes, a large unaligned run (moved by RMA), small unaligned pieces
    /// (read-modify-write of partial stripes) and a single value.
    fn new(obj: Object, seed: u64) -> EcArray {
        // Array types take 8-byte integer dkeys.
        let dkey = if obj.oid().object_type().is_some_and(|t| t.is_array()) {
            7u64.to_le_bytes().to_vec()
        } else {
            b"d".to_vec()
        };
        let mut a = EcArray {
            obj,
            dkey,
            bytes: vec![0; EC_SPAN],
            written: vec![false; EC_SPAN],
            single: pattern(3000, seed + 5),
            snapshot: None,
        };
        a.write(0, &pattern(4 * EC_CELL as usize, seed));
        a.write(20_000 + seed * 13, &pattern(70_000, seed + 1));
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for i in 0..8u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = x % (EC_SPAN as u64 - 6000);
            a.write(at, &pattern(1 + (x >> 40) as usize % 5000, seed + 10 + i));
        }
        a.obj
            .update_blocking(
                0,
                &a.dkey,
                &[Iod::single(b"s".to_vec(), 3000)],
                &[&a.single],
            )
            .unwrap();
        a
    }

    fn write(&mut self, at: u64, data: &[u8]) {
        let recx = daos_client::Recx {
            idx: at,
            nr: data.len() as u64,
        };
        self.obj
            .update_blocking(
                0,
                &self.dkey,
                &[Iod::array(b"a".to_vec(), 1, vec![recx])],
                &[data],
            )
            .unwrap();
        let at = at as usize;
        self.bytes[at..at + data.len()].copy_from_slice(data);
        self.written[at..at + data.len()].fill(true);
    }

    /// Punches `[at, at + len)` (an update with record size 0).
    fn punch(&mut self, at: u64, len: u64) {
        let recx = daos_client::Recx { idx: at, nr: len };
        self.obj
            .update_blocking(
                0,
                &self.dkey,
                &[Iod::array(b"a".to_vec(), 0, vec![recx])],
                &[&[]],
            )
            .unwrap();
        let (at, len) = (at as usize, len as usize);
        self.bytes[at..at + len].fill(0);
        self.written[at..at + len].fill(false);
    }

    fn end(&self) -> u64 {
        self.written
            .iter()
            .rposition(|w| *w)
            .map_or(0, |i| i as u64 + 1)
    }

    /// Reads the whole span, the array's size and the single value back through `obj`.
    fn check(&self, client: &Arc<Client>, what: &str) {
        let obj = &self.obj;
        let mut back = vec![0xEEu8; EC_SPAN];
        let recx = daos_client::Recx {
            idx: 0,
            nr: EC_SPAN as u64,
        };
        let found = obj
            .fetch_blocking(
                0,
                0,
                &self.dkey,
                &[Iod::array(b"a".to_vec(), 1, vec![recx])],
                &mut [&mut back],
            )
            .unwrap_or_else(|e| panic!("{what}: fetch of {:?}: {e}", obj.oid()));
        assert_eq!(found.sizes[0], 1, "{what}");
        if let Some(i) = (0..EC_SPAN).find(|&i| back[i] != self.bytes[i]) {
            panic!(
                "{what}: {:?} differs first at byte {i} (stripe {}, cell {}): {} != {}; layout {:?}",
                obj.oid(),
                i as u64 / (2 * EC_CELL),
                (i as u64 / EC_CELL) % 2,
                back[i],
                self.bytes[i],
                obj.layout().groups
            );
        }
        let (_, _, last) = client
            .run(async |net| {
                obj.query_key(
                    net,
                    0,
                    daos_proto::msg::GET_RECX | daos_proto::msg::GET_MAX,
                    Some(&self.dkey[..]),
                    Some(b"a"),
                )
                .await
            })
            .unwrap_or_else(|e| panic!("{what}: query of {:?}: {e}", obj.oid()));
        let last = last.expect("an extent");
        assert_eq!(
            last.idx + last.nr,
            self.end(),
            "{what}: size of {:?}",
            obj.oid()
        );
        let mut single = vec![0u8; 3000];
        obj.fetch_blocking(
            0,
            0,
            &self.dkey,
            &[Iod::single(b"s".to_vec(), 0)],
            &mut [&mut single],
        )
        .unwrap();
        assert!(
            single == self.single,
            "{what}: single value of {:?}",
            obj.oid()
        );
        if let Some((epoch, bytes)) = &self.snapshot {
            let mut back = vec![0xEEu8; EC_SPAN];
            obj.fetch_blocking(
                *epoch,
                0,
                &self.dkey,
                &[Iod::array(b"a".to_vec(), 1, vec![recx])],
                &mut [&mut back],
            )
            .unwrap_or_else(|e| panic!("{what}: snapshot fetch of {:?}: {e}", obj.oid()));
            if let Some(i) = (0..EC_SPAN).find(|&i| back[i] != bytes[i]) {
                panic!(
                    "{what}: {:?} at the snapshot {epoch} differs first at byte {i}: {} != {}",
                    obj.oid(),
                    back[i],
                    bytes[i]
                );
            }
        }
    }
}

/// Erasure-coded objects of `class` in a pool of `count` one-target engines: written, a
/// snapshot taken and the arrays changed after it; one engine killed (degraded reads), the
/// lost shards rebuilt on a spare engine (the whole history: the snapshot reads as before),
/// a second engine killed (reads now decode with the rebuilt shards); with `reintegrate`,
/// both engines restarted and reintegrated, their shards rebuilt back.
fn erasure_coded_objects_survive_two_failures(
    count: u32,
    class: &str,
    rd_fac: u64,
    reintegrate: bool,
) {
    let (system, client, pool, cont) = engines_svc_on_0(count, 1, ec_props(rd_fac));
    let mut arrays: Vec<EcArray> = (1..=6u64)
        .map(|lo| EcArray::new(object(&cont, lo, class), lo))
        .collect();
    let snap = client
        .run(async |net| cont.create_snapshot(net, "before").await)
        .unwrap();
    for (i, a) in arrays.iter_mut().enumerate() {
        a.snapshot = Some((snap, a.bytes.clone()));
        let i = i as u64;
        a.write(1000 + i * 311, &pattern(9000, 500 + i));
        a.punch(40_000 + i * 97, 5000);
        a.write(2 * EC_CELL * 3 + 17, &pattern(100, 600 + i));
    }
    let check_all = |arrays: &[EcArray], what: &str| {
        for a in arrays {
            a.check(&client, what);
        }
    };
    check_all(&arrays, "healthy");
    let (v0, _) = rank_states(&system, 0);

    // First failure: an engine holding a data cell of the first object (not rank 0, which
    // runs the pool service).
    let victim1 = arrays[0].obj.layout().groups[0][..2]
        .iter()
        .map(|s| s.rank)
        .find(|r| *r != 0)
        .unwrap();
    system.kill_engine(victim1);
    check_all(&arrays, "degraded");
    let (rebuild, v1) = await_rebuild(&system, v0);
    assert!(
        rebuild["objects"].as_u64().unwrap() > 0 && rebuild["bytes"].as_u64().unwrap() > 0,
        "rebuild pushed nothing: {rebuild}"
    );
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for a in &arrays {
        let group = &a.obj.layout().groups[0];
        assert!(
            group.iter().all(|s| s.is_readable() && s.rank != victim1),
            "{:?} not rebuilt: {group:?}",
            a.obj.oid()
        );
    }
    check_all(&arrays, "rebuilt");

    // Second failure: another engine of the first object (not rank 0); the cell rebuilt
    // there is now read directly or used to decode.
    let victim2 = arrays[0].obj.layout().groups[0]
        .iter()
        .map(|s| s.rank)
        .find(|r| *r != 0 && *r != victim1)
        .unwrap();
    system.kill_engine(victim2);
    check_all(&arrays, "rebuilt, then degraded");
    let (_, v2) = await_rebuild(&system, v1);
    if !reintegrate {
        return;
    }

    // Both engines come back: their shards are decoded again onto them, replacing what they
    // held before (the arrays changed meanwhile).
    for a in arrays.iter_mut() {
        a.write(3 * EC_CELL + 5, &pattern(7000, 800 + a.obj.oid().lo));
    }
    // Last failed, first back: each step moves at most one shard of a group, which its
    // readable shards can decode.
    let mut after = v2;
    for rank in [victim2, victim1] {
        let start = system.dmg_json(&["system", "start", "--ranks", &rank.to_string()]);
        assert_eq!(start["status"], 0, "{start}");
        let value = system.dmg_json(&["pool", "reintegrate", "--rank", &rank.to_string(), "tank"]);
        assert_eq!(value["status"], 0, "{value}");
        let (_, v) = await_rebuild(&system, after);
        after = v;
        assert_eq!(rank_states(&system, rank), (v, vec!["upin".to_string()]));
    }
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    assert!(arrays
        .iter()
        .any(|a| a.obj.layout().groups[0].iter().any(|s| s.rank == victim1)));
    check_all(&arrays, "reintegrated");
    // The returned engines' cells are current: lose an engine that served while they were
    // out (not rank 0, which runs the pool service: it has no replica to take over yet).
    let third = (1..count)
        .rev()
        .find(|r| ![victim1, victim2].contains(r))
        .unwrap();
    system.kill_engine(third);
    check_all(&arrays, "reintegrated, then degraded");
}

#[test]
fn erasure_coded_2p1_objects_are_rebuilt_and_reintegrated() {
    erasure_coded_objects_survive_two_failures(4, "EC_2P1G1", 1, true);
}

#[test]
fn erasure_coded_4p2_objects_survive_a_second_failure_after_rebuild() {
    erasure_coded_objects_survive_two_failures(7, "EC_4P2G1", 2, false);
}

#[test]
fn erasure_coded_arrays_read_back_through_the_loss_of_an_engine() {
    let (system, client, _pool, cont) = engines(3, 1, ec_props(1));
    let victim = 2u32;
    let mut arrays: Vec<EcArray> = (1..=9u64)
        .map(|lo| EcArray::new(object(&cont, lo, "EC_2P1G1"), lo))
        .collect();
    // OC_UNKNOWN protects arrays with erasure code at rd_fac 1 (EC_2P1GX), as DAOS does.
    let oid = cont
        .generate_oid(
            ObjectId::new(10, 0),
            ObjectType::ArrayByte,
            daos_types::oclass::OC_UNKNOWN,
        )
        .unwrap();
    // EC_2P1GX, its group count fitted to the pool's 3 targets when the id is generated.
    assert_eq!(oid.class().unwrap().name(), "EC_2P1G1");
    arrays.push(EcArray::new(Object::open(&cont, oid, OO_RW).unwrap(), 10));
    for a in &arrays {
        let ranks: BTreeSet<u32> = a.obj.layout().groups[0].iter().map(|s| s.rank).collect();
        assert_eq!(ranks.len(), 3, "the cells of a stripe share an engine");
        a.check(&client, "healthy");
    }
    // The victim holds a data cell of some objects and the parity of others.
    let position = |a: &EcArray| {
        a.obj.layout().groups[0]
            .iter()
            .position(|s| s.rank == victim)
            .unwrap()
    };
    assert!(arrays.iter().any(|a| position(a) < 2));
    assert!(arrays.iter().any(|a| position(a) == 2));

    system.kill_engine(victim);
    for a in &arrays {
        a.check(&client, "degraded");
    }
    // Degraded writes: partial stripes (read-modify-write decoding the lost cell), full
    // stripes, and a punch of the array's tail.
    for (i, a) in arrays.iter_mut().enumerate() {
        let i = i as u64;
        a.write(100 + i * 777, &pattern(3000, 900 + i));
        a.write(8 * EC_CELL, &pattern(4 * EC_CELL as usize, 950 + i));
        let end = a.end();
        a.punch(end - 2000 - i * 100, 2000 + i * 100);
        a.write(EC_SPAN as u64 - 10, &pattern(10, 990 + i));
        a.punch(EC_SPAN as u64 - 10, 10);
    }
    for a in &arrays {
        a.check(&client, "degraded, after degraded writes");
    }
    let (_, states) = rank_states(&system, victim);
    assert!(states.iter().all(|s| s.starts_with("down")), "{states:?}");
}

/// Two writers (two clients, each with its own clock and handles, as two processes have)
/// rewrite different cells of the same stripes at once, so every update is a
/// read-modify-write of a stripe the other is changing. The group's guard orders them: the
/// parity always matches the cells, and once the engine of the first cell is killed, its
/// degraded reads (decoded from the other cell and the parity) return what its writer wrote
/// last.
#[test]
fn concurrent_writers_of_one_stripe_leave_its_parity_consistent() {
    use daos_client::fault::{self, Fault};
    let (system, _client, _pool, cont) = engines(3, 1, ec_props(1));
    let oid = object(&cont, 1, "EC_2P1G1").oid();
    let other = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let other_pool = other
        .run(async |net| Pool::connect(&other, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let other_cont = open(&other, &other_pool, daos_client::cont::COO_RW);
    const STRIPES: u64 = 2;
    const ROUNDS: u64 = 30;
    const LEN: u64 = 3000;
    // Writer `cell` rewrites records [500, 3500) of its cell of each stripe.
    let at = |cell: u64, stripe: u64| stripe * 2 * EC_CELL + cell * EC_CELL + 500;
    let seed = |cell: u64, round: u64, stripe: u64| 1 + cell * 10_000 + round * 100 + stripe;
    // Each writer pauses between reading a stripe and sending its update, so the other's
    // update of that stripe nearly always lands in between.
    fault::set(Some(Fault::EcSlowReadModifyWrite));
    std::thread::scope(|s| {
        for (cell, cont) in [(0u64, cont.clone()), (1, other_cont.clone())] {
            s.spawn(move || {
                let obj = Object::open(&cont, oid, OO_RW).unwrap();
                for round in 0..ROUNDS {
                    for stripe in 0..STRIPES {
                        let recx = daos_client::Recx {
                            idx: at(cell, stripe),
                            nr: LEN,
                        };
                        let data = pattern(LEN as usize, seed(cell, round, stripe));
                        obj.update_blocking(
                            0,
                            b"d",
                            &[Iod::array(b"a".to_vec(), 1, vec![recx])],
                            &[&data],
                        )
                        .unwrap_or_else(|e| panic!("writer {cell}, round {round}: {e}"));
                    }
                }
            });
        }
    });
    fault::set(None);
    let obj = Object::open(&cont, oid, OO_RW).unwrap();
    let check = |what: &str| {
        for stripe in 0..STRIPES {
            for cell in 0..2 {
                let recx = daos_client::Recx {
                    idx: at(cell, stripe),
                    nr: LEN,
                };
                let mut back = vec![0u8; LEN as usize];
                obj.fetch_blocking(
                    0,
                    0,
                    b"d",
                    &[Iod::array(b"a".to_vec(), 1, vec![recx])],
                    &mut [&mut back],
                )
                .unwrap_or_else(|e| panic!("{what}: fetch of stripe {stripe} cell {cell}: {e}"));
                assert!(
                    back == pattern(LEN as usize, seed(cell, ROUNDS - 1, stripe)),
                    "{what}: stripe {stripe}, cell {cell} does not read its writer's last bytes"
                );
            }
        }
    };
    check("healthy");
    // The first cell's engine: its records are now decoded from the second cell and the
    // parity, which must have been encoded from both writers' last bytes.
    let victim = obj.layout().groups[0][0].rank;
    system.kill_engine(victim);
    check("degraded");
}

#[test]
fn dmg_pool_extend_moves_data_onto_the_new_engine() {
    let system = TestSystem::start(Options {
        engines: 3,
        ..Options::default()
    });
    let value = system.dmg_json(&["pool", "create", "--size=2G", "--ranks=0,1", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
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
    let (replicated, s1) = replicated_and_not(&cont);
    // SX is fitted to the pool's four targets when its id is generated, so extending the
    // pool moves its shards but keeps its dkeys' groups.
    let sx: Vec<Written> = write(&cont, 200..=205, "SX");
    assert!(s1
        .iter()
        .all(|w| w.obj.layout().shards().all(|s| s.rank < 2)));
    let (v0, _) = rank_states(&system, 0);

    let value = system.dmg_json(&["pool", "extend", "--ranks=2", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let twice = system.dmg_json(&["pool", "extend", "--ranks=2", "tank"]);
    assert_ne!(
        twice["status"], 0,
        "extending with a pool rank is refused: {twice}"
    );
    let (rebuild, v1) = await_rebuild(&system, v0);
    assert!(rebuild["bytes"].as_u64().unwrap() > 0, "{rebuild}");
    // Every shard that moved left a copy at its old place; once the move is recorded, a
    // second pass reclaims each of them (and nothing else).
    assert_eq!(
        rebuild["reclaimed"], rebuild["objects"],
        "old copies reclaimed: {rebuild}"
    );
    assert_eq!(rank_states(&system, 2), (v1, vec!["upin".to_string(); 2]));
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    let all: Vec<&Written> = replicated.iter().chain(&s1).chain(&sx).collect();
    let on_2 = |w: &&Written| w.obj.layout().shards().any(|s| s.rank == 2);
    assert!(s1.iter().any(|w| on_2(&w)), "no S1 object moved to rank 2");
    assert!(
        replicated.iter().any(|w| on_2(&w)),
        "no replica moved to rank 2"
    );
    assert!(
        sx.iter().all(|w| on_2(&w)),
        "SX objects should cover rank 2"
    );
    for w in &all {
        assert!(w.obj.layout().shards().all(|s| s.is_readable()));
        w.check(&w.obj);
    }
    // The copies on rank 2 are real: with rank 1 excluded, replicated objects that kept a
    // copy there read it, and unreplicated objects that moved there still read.
    let value = system.dmg_json(&["pool", "exclude", "--rank", "1", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    client.run(async |net| pool.refresh_map(net).await).unwrap();
    for w in replicated.iter().chain(s1.iter().filter(|w| on_2(w))) {
        w.check(&w.obj);
    }
}

/// Reads akey `v` of `obj` from every readable replica, retrying while the client's pool map
/// catches up with exclusions. Returns what each replica holds.
fn replica_values(obj: &Object, deadline: Instant) -> Vec<Vec<u8>> {
    loop {
        let values: daos_types::Result<Vec<Vec<u8>>> = (0..replica_count(obj, b"d"))
            .map(|r| Ok(replica_value(obj, b"d", r)?.unwrap_or_default()))
            .collect();
        match values {
            Ok(values) if !values.is_empty() => return values,
            Ok(_) => {}
            Err(err) => assert!(Instant::now() < deadline, "replicas unreadable: {err}"),
        }
        assert!(Instant::now() < deadline, "no readable replica");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many readable replicas the group of `dkey` has.
fn replica_count(obj: &Object, dkey: &[u8]) -> usize {
    let layout = obj.layout();
    layout
        .readable_places(layout.group_of(dkey))
        .into_iter()
        .flatten()
        .count()
}

/// The value of akey "v" (at most 16 bytes) under `dkey` on the `r`-th readable replica of
/// its group: `None` where it is absent (never written, or punched).
fn replica_value(obj: &Object, dkey: &[u8], r: usize) -> daos_types::Result<Option<Vec<u8>>> {
    let sgl = daos_client::SgList::from_vecs(vec![vec![0u8; 16]]);
    let (found, sgls) = obj.container().pool().client().run(async |net| {
        obj.fetch_replica(
            net,
            r,
            u64::MAX,
            dkey,
            &[Iod::single(b"v".to_vec(), 16)],
            vec![sgl],
        )
        .await
    })?;
    let mut bytes = sgls
        .into_iter()
        .next()
        .unwrap()
        .into_vecs()
        .unwrap()
        .remove(0);
    bytes.truncate(found.sizes[0] as usize);
    Ok((found.sizes[0] > 0).then_some(bytes))
}

/// Waits until every readable replica of `obj` holds `expected`.
fn await_replicas(obj: &Object, expected: &[u8], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let values = replica_values(obj, deadline);
        if values.iter().all(|v| v == expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}: replicas hold {values:?}, expected {expected:?} everywhere",
            obj.oid()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first object (from id `from`) of class RP_3G1 whose transactions rank `rank` leads.
fn led_by(cont: &Arc<Container>, from: u64, rank: u32) -> Object {
    (from..from + 1000)
        .map(|lo| object(cont, lo, "RP_3G1"))
        .find(|obj| obj.layout().write_places(0)[0].rank == rank)
        .expect("some object is led by every rank")
}

#[test]
fn a_replicated_update_is_applied_on_every_replica_or_on_none() {
    use daos_client::fault::{self, Fault};
    let (system, _client, _pool, cont) = engines_svc_on_0(3, 2, Props::new());
    // RP_3G1: a copy on every engine. Rank 0 serves the pool and stays up; `a`'s
    // transactions are led by rank 1, `b`'s by rank 2.
    let a = led_by(&cont, 1, 1);
    let b = led_by(&cont, 1, 2);
    // `c` and `d` get punches instead of updates, led by ranks 1 and 2 as well.
    let c = led_by(&cont, 2000, 1);
    let d = led_by(&cont, 2000, 2);
    for obj in [&a, &b, &c, &d] {
        put(obj, b"v", b"old");
    }
    let punch = |obj: &Object| {
        obj.container()
            .pool()
            .client()
            .run(async |net| obj.punch_akeys(net, 0, b"d", &[b"v".to_vec()]).await)
    };

    // The client "dies" between the phases: every replica prepared the update, nobody was
    // asked to commit it. Nothing is visible anywhere.
    fault::set(Some(Fault::DtxSkipCommit));
    for obj in [&a, &b] {
        let err = obj
            .update_blocking(0, b"d", &[Iod::single(b"v".to_vec(), 3)], &[b"new"])
            .unwrap_err();
        assert_eq!(err.der(), Der::Io, "{err}");
    }
    for obj in [&c, &d] {
        let err = punch(obj).unwrap_err();
        assert_eq!(err.der(), Der::Io, "{err}");
    }
    fault::set(None);

    // Readers wait for the outcome (`-DER_INPROGRESS`), so nothing half-done is visible; the
    // outcomes come from resolution, 10 s after the transactions were left. `a`'s and `c`'s
    // leader lives and finds every replica prepared: it commits (its client asked for nothing
    // more), as DAOS's DTX resync does. `b`'s and `d`'s leader dies before that: under the new
    // pool map the next live participant decides, by the same rule (the dead leader might
    // even have committed and been read from). The rebuild for the new map waits until every
    // transaction prepared under the old one is resolved on every target, so its end proves
    // that all were.
    let after_resolution = |obj: &Object| -> &[u8] {
        if std::ptr::eq(obj, &a) || std::ptr::eq(obj, &b) {
            b"new"
        } else {
            b""
        }
    };
    let (v0, _) = rank_states(&system, 2);
    system.kill_engine(2);
    let (_, v1) = await_rebuild(&system, v0);
    for obj in [&a, &b, &c, &d] {
        await_replicas(obj, after_resolution(obj), Duration::from_secs(30));
        assert_eq!(
            replica_values(obj, Instant::now() + Duration::from_secs(30)).len(),
            2
        );
    }

    // `a`'s leader dies too: its last copy, and `b`'s, still agree.
    system.kill_engine(1);
    await_rebuild(&system, v1);
    for obj in [&a, &b, &c, &d] {
        await_replicas(obj, after_resolution(obj), Duration::from_secs(30));
    }

    // The transactions are finished: updates and punches go on, on the last copy.
    for obj in [&a, &b, &c, &d] {
        put(obj, b"v", b"after");
        assert_eq!(get(obj, b"v", 5).unwrap(), b"after");
    }
    for obj in [&c, &d] {
        punch(obj).unwrap();
        assert_eq!(
            replica_values(obj, Instant::now() + Duration::from_secs(5)),
            vec![Vec::<u8>::new()]
        );
    }
}

/// The value of akey "v" under `dkey` on every readable replica of its group: `None` where
/// it is absent (never written, or punched).
fn replica_reads(obj: &Object, dkey: &[u8]) -> Vec<Option<Vec<u8>>> {
    (0..replica_count(obj, dkey))
        .map(|r| {
            replica_value(obj, dkey, r)
                .unwrap_or_else(|e| panic!("replica {r} of {:?}: {e}", obj.oid()))
        })
        .collect()
}

/// A whole-object punch of a redundant object runs as one transaction per redundancy group,
/// every group at one epoch. A client that dies between the phases leaves no group
/// half-punched: readers wait for the outcome, and each group's leader completes it. A
/// completed punch empties every replica of every group. An erasure-coded object's punch passes each
/// group's guard, and its arrays and single values then read as absent, also degraded.
#[test]
fn a_whole_object_punch_is_one_transaction_per_group() {
    use daos_client::fault::{self, Fault};
    let (system, client, _pool, cont) = engines_svc_on_0(3, 2, ec_props(1));
    let rp = object(&cont, 1, "RP_2GX");
    assert!(rp.layout().groups.len() > 1, "{:?}", rp.layout().groups);
    let dkeys: Vec<Vec<u8>> = (0..12).map(|i| format!("d{i}").into_bytes()).collect();
    let groups: BTreeSet<usize> = dkeys.iter().map(|d| rp.layout().group_of(d)).collect();
    assert!(groups.len() > 1, "every dkey in one group");
    for dkey in &dkeys {
        rp.update_blocking(0, dkey, &[Iod::single(b"v".to_vec(), 3)], &[b"old"])
            .unwrap();
    }

    // The client "dies" between the phases of every group's transaction. Readers wait for
    // the outcome; each group's leader then finds every replica prepared and commits.
    fault::set(Some(Fault::DtxSkipCommit));
    let err = client.run(async |net| rp.punch(net, 0).await).unwrap_err();
    assert_eq!(err.der(), Der::Io, "{err}");
    fault::set(None);
    for dkey in &dkeys {
        assert_eq!(
            replica_reads(&rp, dkey),
            vec![None; 2],
            "{}",
            String::from_utf8_lossy(dkey)
        );
    }

    // A punch that completes: absent on every replica of every group.
    for dkey in &dkeys {
        rp.update_blocking(0, dkey, &[Iod::single(b"v".to_vec(), 5)], &[b"again"])
            .unwrap();
        assert_eq!(replica_reads(&rp, dkey), vec![Some(b"again".to_vec()); 2]);
    }
    client.run(async |net| rp.punch(net, 0).await).unwrap();
    for dkey in &dkeys {
        assert_eq!(replica_reads(&rp, dkey), vec![None; 2]);
    }
    // Writes after it are visible again.
    rp.update_blocking(0, &dkeys[0], &[Iod::single(b"v".to_vec(), 3)], &[b"new"])
        .unwrap();
    assert_eq!(
        replica_reads(&rp, &dkeys[0]),
        vec![Some(b"new".to_vec()); 2]
    );

    // Erasure-coded (two groups; the arrays live in one): each group punched through its
    // guard.
    let mut ec: Vec<EcArray> = (10..13u64)
        .map(|lo| EcArray::new(object(&cont, lo, "EC_2P1GX"), lo))
        .collect();
    for a in &ec {
        a.check(&client, "written");
    }
    for a in &mut ec {
        client.run(async |net| a.obj.punch(net, 0).await).unwrap();
        a.bytes.fill(0);
        a.written.fill(false);
    }
    let absent = |a: &EcArray, what: &str| {
        let mut back = vec![0xEEu8; EC_SPAN];
        let mut single = vec![0xEEu8; 3000];
        let recx = daos_client::Recx {
            idx: 0,
            nr: EC_SPAN as u64,
        };
        let found = a
            .obj
            .fetch_blocking(
                0,
                0,
                &a.dkey,
                &[
                    Iod::array(b"a".to_vec(), 1, vec![recx]),
                    Iod::single(b"s".to_vec(), 0),
                ],
                &mut [back.as_mut_slice(), single.as_mut_slice()],
            )
            .unwrap_or_else(|e| panic!("{what}: fetch of {:?}: {e}", a.obj.oid()));
        assert_eq!(found.sizes, vec![0, 0], "{what}: {:?}", a.obj.oid());
    };
    for a in &ec {
        absent(a, "punched");
    }
    system.kill_engine(2);
    for a in &ec {
        absent(a, "punched, degraded");
    }
}

/// The pool service leader `dmg pool query` reports.
fn service_leader(system: &TestSystem) -> u32 {
    let value = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(value["status"], 0, "pool query failed: {value}");
    value["response"]["leader"].as_u64().unwrap() as u32
}

/// The service replicas `dmg pool query` reports.
fn service_replicas(system: &TestSystem) -> Vec<u64> {
    let value = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(value["status"], 0, "pool query failed: {value}");
    value["response"]["svc_reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect()
}

/// Three service replicas over four engines. When a replica's engine dies and is excluded,
/// the leader replaces it by the fourth engine (DAOS's pool service reconfiguration: the new
/// replica catches up as a learner, then the voters change), so the service then survives
/// the loss of a second original replica, which three replicas alone do not. A client
/// connected before the change finds the new leader, and the management service records
/// the new replicas.
#[test]
fn the_pool_service_replaces_replicas_on_excluded_engines() {
    let (system, client, pool, _cont) = engines_with_nsvc(4, 1, Props::new(), Some(3), false);
    assert_eq!(service_replicas(&system), vec![0, 1, 2]);
    // Not the leader: the survivors keep their leader, which reconfigures.
    let first = [1u32, 2]
        .into_iter()
        .find(|r| *r != service_leader(&system))
        .unwrap();
    system.kill_engine(first);
    let deadline = Instant::now() + Duration::from_secs(60);
    let replaced = loop {
        let replicas = service_replicas(&system);
        if replicas.contains(&3) && !replicas.contains(&u64::from(first)) {
            break replicas;
        }
        assert!(
            Instant::now() < deadline,
            "replicas not replaced: {replicas:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(replaced.len(), 3, "{replaced:?}");
    // The new replica started from the leader's snapshot, not by replaying the log from the
    // pool's creation onto the state it already held.
    let log = system.dir.path().join(TestSystem::engine_log_name(3));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("installed the leader's service image"),
        "rank 3 did not install a snapshot: {}",
        log.display()
    );
    // Now a second original replica: two of the three current ones remain.
    let second = 3 - first;
    system.kill_engine(second);
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("after".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = client
        .run(async |net| Container::open(&pool, net, "after", daos_client::cont::COO_RW).await)
        .unwrap();
    // One replica of each RP_3G1 group at least lives on rank 0 or 3.
    Written::new(object(&cont, 1, "RP_3G1"), 77).check(&object(&cont, 1, "RP_3G1"));
    let leader = service_leader(&system);
    assert!(leader == 0 || leader == 3, "leader {leader}");
    // The second loss is excluded through the service too; with no engine left to take its
    // place, the replicas stay as they are.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rank_states(&system, second)
        .1
        .iter()
        .all(|s| s.starts_with("down"))
    {
        assert!(Instant::now() < deadline, "rank {second} not excluded");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(service_replicas(&system), replaced);

    // The first engine returns: reintegrated, it learns it was replaced and stops its stale
    // replica; then, being the only engine that can, it replaces the second loss.
    let start = system.dmg_json(&["system", "start", "--ranks", &first.to_string()]);
    assert_eq!(start["status"], 0, "{start}");
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", &first.to_string(), "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let log = system.dir.path().join(TestSystem::engine_log_name(first));
    let deadline = Instant::now() + Duration::from_secs(60);
    let readded = loop {
        let mut replicas = service_replicas(&system);
        replicas.sort_unstable();
        if replicas == [0, u64::from(first), 3] {
            break replicas;
        }
        assert!(
            Instant::now() < deadline,
            "replicas not replaced: {replicas:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("no longer a service replica"),
        "rank {first} kept its old replica: {}",
        log.display()
    );
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("last".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    // The re-added replica votes with the others: the service survives losing rank 0 now.
    system.kill_engine(0);
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("later".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while service_leader(&system) == 0 {
        assert!(Instant::now() < deadline, "no new leader");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(readded.contains(&u64::from(service_leader(&system))));
}

/// The pool service is replicated by Raft over the first three engines. When its leader
/// dies, the others elect a new one: pool and container calls go on, handles opened before
/// stay valid, snapshots taken before are still listed, and the dead engine is excluded
/// through the new leader. The restarted engine's replica catches up (from a snapshot: the
/// others compacted their logs meanwhile), so the service then survives the loss of the
/// second leader as well.
#[test]
fn the_pool_service_survives_the_loss_of_its_leader() {
    let (system, client, pool, cont) = three_engines();
    let value = system.dmg_json(&["pool", "query", "tank"]);
    let replicas: Vec<u64> = value["response"]["svc_reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    assert_eq!(replicas, vec![0, 1, 2], "{value}");
    let mut objects = write(&cont, 1..=12, "RP_3G1");
    let snap = client
        .run(async |net| cont.create_snapshot(net, "before").await)
        .unwrap();
    let (mut after, _) = rank_states(&system, 0);

    for (round, seed) in [(0u32, 100u64), (1, 200)] {
        let leader = service_leader(&system);
        system.kill_engine(leader);
        // Container calls reach the new leader (the client tries the replicas in turn).
        let label = format!("after-{round}");
        let mut props = Props::new();
        props.set(prop::CO_LABEL, PropValue::Text(label.clone()));
        client
            .run(async |net| Container::create(&pool, net, None, props).await)
            .unwrap();
        let other = client
            .run(async |net| Container::open(&pool, net, &label, daos_client::cont::COO_RW).await)
            .unwrap();
        // A handle opened under the new leader works on every live engine (each replica
        // applied the open before the leader answered).
        Written::new(object(&other, 1, "RP_3G1"), seed).check(&object(&other, 1, "RP_3G1"));
        if round == 0 {
            // Enough changes while the old leader is out that the others compact their logs
            // past what it holds: it catches up by installing a snapshot when it returns.
            let mut last = 0;
            for _ in 0..700 {
                let first = client
                    .run(async |net| cont.alloc_oids(net, 1).await)
                    .unwrap();
                assert!(first > last);
                last = first;
            }
        }
        client.run(async |net| other.close(net).await).unwrap();
        let snaps = client
            .run(async |net| cont.list_snapshots(net).await)
            .unwrap();
        assert!(snaps.iter().any(|(e, _)| *e == snap), "{snaps:?}");
        // The handle opened before still works on every engine; the data reads back.
        for w in objects.iter_mut() {
            w.check(&w.obj);
            w.small = pattern(200, seed + w.obj.oid().lo);
            put(&w.obj, b"small", &w.small);
        }
        let new_leader = service_leader(&system);
        assert_ne!(new_leader, leader);
        assert!(replicas.contains(&u64::from(new_leader)));
        // The dead engine is excluded (through the new leader) and rebuilt around.
        let (_, v1) = await_rebuild(&system, after);
        after = v1;
        assert!(rank_states(&system, leader)
            .1
            .iter()
            .all(|s| s == "downout"));
        if round == 0 {
            // Back, reintegrated: its replica catches up, so the next loss is survivable.
            let rank = leader.to_string();
            let start = system.dmg_json(&["system", "start", "--ranks", &rank]);
            assert_eq!(start["status"], 0, "{start}");
            let value = system.dmg_json(&["pool", "reintegrate", "--rank", &rank, "tank"]);
            assert_eq!(value["status"], 0, "{value}");
            after = await_rebuild(&system, v1).1;
        }
    }
    for w in &objects {
        w.check(&w.obj);
    }
}

/// Engines in network namespaces of their own (`ip netns`), so their traffic crosses veth
/// interfaces and a bridge. The pool service leader is cut off from everyone: SWIM declares
/// it down and `daos_server` fences it (kills it: cut off, it could only serve an old map),
/// the other replicas elect a new leader, the pool excludes its targets and rebuilds, and
/// the client carries on. Reconnected and restarted, it is reintegrated with current data.
#[test]
fn a_partitioned_service_leader_is_replaced_fenced_and_rebuilt_around() {
    if !daos_testkit::Namespaces::supported() {
        eprintln!("skipped: this machine does not let tests make network namespaces");
        return;
    }
    let (system, client, pool, cont) = engines_with_nsvc(3, 2, Props::new(), None, true);
    let namespaces = system.namespaces.as_ref().unwrap();
    let mut objects = write(&cont, 1..=12, "RP_3G1");
    let (v0, _) = rank_states(&system, 0);
    let leader = service_leader(&system);
    // The engines really are behind their own interfaces: the fabric address (a sockaddr,
    // in hex) holds the engine's address in its namespace.
    let ip_hex: String = namespaces
        .engine_addr(leader)
        .split('.')
        .map(|o| format!("{:02x}", o.parse::<u8>().unwrap()))
        .collect();
    let entry = member(&system, leader);
    assert!(
        entry["fabric_uri"].as_str().unwrap().contains(&ip_hex),
        "{entry}"
    );

    namespaces.cut(leader);
    let cut_at = Instant::now();
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("during".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    // Fenced: SWIM's verdict, then the kill, then the exclusion and rebuild.
    let (_, v1) = await_rebuild(&system, v0);
    let fenced = cut_at.elapsed();
    let state = member(&system, leader);
    assert_ne!(state["state"], "joined", "{state}");
    assert!(rank_states(&system, leader)
        .1
        .iter()
        .all(|s| s == "downout"));
    let new_leader = service_leader(&system);
    assert_ne!(new_leader, leader);
    for w in objects.iter_mut() {
        w.check(&w.obj);
        w.small = pattern(200, 4000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
    }
    eprintln!("rank {leader} cut off: excluded and rebuilt around after {fenced:?}");

    namespaces.heal(leader);
    let rank = leader.to_string();
    let start = system.dmg_json(&["system", "start", "--ranks", &rank]);
    assert_eq!(start["status"], 0, "{start}");
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", &rank, "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    await_rebuild(&system, v1);
    let during = client
        .run(async |net| Container::open(&pool, net, "during", daos_client::cont::COO_RW).await)
        .unwrap();
    client.run(async |net| during.close(net).await).unwrap();
    for w in &objects {
        w.check(&w.obj);
    }
}

/// Waits (up to `within`) until rank `rank` shows `state` in `dmg system query`.
fn await_member(
    system: &TestSystem,
    rank: u32,
    state: &str,
    within: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let entry = member_entry(system, rank).unwrap_or_default();
        if entry["state"] == state {
            return entry;
        }
        assert!(
            Instant::now() < deadline,
            "rank {rank} not {state}: {entry}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (up to 40 s) until rank `rank`'s server reports it killed for SWIM's verdict
/// (fenced), and checks that its process is gone.
fn await_fenced(system: &TestSystem, rank: u32) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let entry = member(system, rank);
        if entry["info"].as_str().unwrap_or("").contains("killed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rank {rank} was not fenced: {entry}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(system.engine_pid(rank).is_none());
}

#[test]
fn servers_on_separate_hosts_form_one_system_and_heal_it() {
    // Each server runs in a network namespace of its own where the machine allows (so that
    // each has its own address and a whole host can be cut off), else on loopback.
    let netns = daos_testkit::Namespaces::supported();
    let system = TestSystem::start(Options {
        engines: 3,
        targets: 2,
        netns,
        hosts: vec![1, 1, 1],
        ..Options::default()
    });
    // Servers 1 and 2 joined through server 0: their engines took ranks 1 and 2, in their
    // own fault domains, served by their own control planes.
    for rank in 0..3u32 {
        let entry = member(&system, rank);
        assert_eq!(entry["state"], "joined", "{entry}");
        assert_eq!(entry["fault_domain"], format!("/host{rank}"), "{entry}");
        if let Some(ns) = &system.namespaces {
            let ip_hex: String = ns
                .engine_addr(rank)
                .split('.')
                .map(|o| format!("{:02x}", o.parse::<u8>().unwrap()))
                .collect();
            assert!(
                entry["fabric_uri"].as_str().unwrap().contains(&ip_hex),
                "{entry}"
            );
            if rank > 0 {
                assert_eq!(
                    entry["addr"],
                    format!("{}:{}", ns.engine_addr(rank), system.port + rank as u16),
                    "{entry}"
                );
            }
        }
    }
    // A member server answers only for its own engines.
    let elsewhere = std::process::Command::new(daos_testkit::bin("dmg"))
        .arg("-l")
        .arg(member(&system, 1)["addr"].as_str().unwrap())
        .args(["system", "query"])
        .output()
        .unwrap();
    assert!(!elsewhere.status.success());
    assert!(
        String::from_utf8_lossy(&elsewhere.stderr).contains("management service"),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );

    // The service's replicas: 2 * svc_rf + 1 by default, one per host while hosts last.
    let value = system.dmg_json(&["pool", "create", "--size=1G", "spread"]);
    assert_eq!(
        value["response"]["svc_reps"],
        serde_json::json!([0, 1, 2]),
        "{value}"
    );
    let value = system.dmg_json(&[
        "pool",
        "create",
        "--size=1G",
        "--properties=svc_rf:0",
        "one",
    ]);
    assert_eq!(
        value["response"]["svc_reps"],
        serde_json::json!([0]),
        "{value}"
    );
    let value = system.dmg_json(&[
        "pool",
        "create",
        "--size=1G",
        "--properties=svc_rf:5",
        "bad",
    ]);
    assert_ne!(value["status"], 0, "{value}");
    for label in ["spread", "one"] {
        let value = system.dmg_json(&["pool", "destroy", label]);
        assert_eq!(value["status"], 0, "{value}");
    }

    // The pool service on rank 0: the test takes the other servers away.
    let (client, pool, cont) = pool_on(&system, Props::new(), Some(1));
    let mut objects = write(&cont, 1..=12, "RP_2G1");
    for w in &objects {
        let places = w.obj.layout().write_places(0);
        assert_ne!(places[0].rank, places[1].rank, "{places:?}");
    }

    // An engine of a member server dies: its server reports it, the management service
    // excludes it and the pool rebuilds around it.
    let (v0, _) = rank_states(&system, 1);
    system.kill_engine(1);
    let (_, v1) = await_rebuild(&system, v0);
    let entry = member(&system, 1);
    assert_eq!(entry["state"], "errored", "{entry}");
    assert!(
        entry["info"].as_str().unwrap().contains("exited"),
        "{entry}"
    );
    assert!(rank_states(&system, 1).1.iter().all(|s| s == "downout"));
    for w in &objects {
        w.check(&w.obj);
    }
    // dmg system start passes the rank on to its server.
    let start = system.dmg_json(&["system", "start", "--ranks", "1"]);
    assert_eq!(start["status"], 0, "{start}");
    assert_eq!(member(&system, 1)["state"], "joined");
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", "1", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    let (_, v2) = await_rebuild(&system, v1);
    for w in &objects {
        w.check(&w.obj);
    }

    let Some(namespaces) = system.namespaces.as_ref() else {
        eprintln!(
            "partition part skipped: this machine does not let tests make network namespaces"
        );
        return;
    };
    // A whole host is cut off: nobody reports its engine, SWIM declares it down, the
    // management service excludes it and the pool rebuilds around it.
    namespaces.cut(2);
    let cut_at = Instant::now();
    let (_, v3) = await_rebuild(&system, v2);
    eprintln!(
        "host 2 cut off: excluded and rebuilt around after {:?}",
        cut_at.elapsed()
    );
    let entry = member(&system, 2);
    assert_eq!(entry["state"], "errored", "{entry}");
    assert!(rank_states(&system, 2).1.iter().all(|s| s == "downout"));
    for w in objects.iter_mut() {
        w.check(&w.obj);
        w.small = pattern(200, 7000 + w.obj.oid().lo);
        put(&w.obj, b"small", &w.small);
    }
    // Healed: the management service reaches the host's server, which kills the engine
    // (fenced: it must not serve from its old pool map); it then starts again and returns.
    namespaces.heal(2);
    // Its server reports the kill once the link is back.
    await_fenced(&system, 2);
    let start = system.dmg_json(&["system", "start", "--ranks", "2"]);
    assert_eq!(start["status"], 0, "{start}");
    await_member(&system, 2, "joined", Duration::from_secs(10));
    let value = system.dmg_json(&["pool", "reintegrate", "--rank", "2", "tank"]);
    assert_eq!(value["status"], 0, "{value}");
    await_rebuild(&system, v3);
    for w in &objects {
        w.check(&w.obj);
    }
    drop((cont, pool, client));
}

#[test]
fn a_retried_service_change_is_applied_once() {
    use daos_proto::msg::{
        ContCreateReq, ContHandleReq, ContReply, SnapCreateReq, SvcKeyedReq, U64Reply, WireProps,
    };
    use daos_proto::Opcode;
    // The service on rank 0; rank 1 is told of each change by a forward, which a retry
    // sends again and which it must not apply twice either.
    let (_system, client, pool, cont) = engines_with_nsvc(2, 1, Props::new(), Some(1), false);
    let service = client.service_addr(0).unwrap().to_vec();
    // What a client sends again when its leader died before answering: the same request
    // under the same operation key.
    let send = |keyed: &SvcKeyedReq| -> daos_types::Result<Vec<u8>> {
        client.run(async |net| {
            let (status, body) = client
                .call_raw_at(net, &service, Opcode::SvcKeyed, keyed, 64 * 1024, 0)
                .await?;
            daos_client::client::status_to_result(status)?;
            Ok(body)
        })
    };
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("again".into()));
    let create = ContCreateReq {
        pool: pool.uuid(),
        pool_handle: pool.handle(),
        cont: daos_types::Uuid::new_v4(),
        props: WireProps(props),
        cred: client.credential().clone(),
    };
    let keyed = SvcKeyedReq::wrap(daos_types::Uuid::new_v4(), Opcode::ContCreate, &create);
    let first = send(&keyed).unwrap();
    let again = send(&keyed).unwrap();
    assert_eq!(first, again, "a retry answers what the first attempt did");
    let reply: ContReply =
        daos_proto::decode_body(daos_types::codec::Decoder::new(&first)).unwrap();
    assert_eq!(reply.info.uuid, create.cont);
    // The same request under a new key is a new request: the container exists.
    let other = SvcKeyedReq::wrap(daos_types::Uuid::new_v4(), Opcode::ContCreate, &create);
    assert_eq!(send(&other).unwrap_err().der(), Der::Exist);
    // A refusal is kept too: its retry is refused the same way.
    assert_eq!(send(&other).unwrap_err().der(), Der::Exist);

    // A snapshot taken twice by one keyed request is one snapshot, at one epoch.
    let snap = SnapCreateReq {
        handle: ContHandleReq {
            pool: pool.uuid(),
            pool_handle: pool.handle(),
            cont: cont.uuid(),
            handle: cont.handle(),
        },
        name: "once".into(),
    };
    let keyed = SvcKeyedReq::wrap(daos_types::Uuid::new_v4(), Opcode::ContSnapCreate, &snap);
    let decode = |bytes: Vec<u8>| -> u64 {
        daos_proto::decode_body::<U64Reply>(daos_types::codec::Decoder::new(&bytes))
            .unwrap()
            .value
    };
    let epoch = decode(send(&keyed).unwrap());
    assert_eq!(decode(send(&keyed).unwrap()), epoch);
    let listed = client
        .run(async |net| cont.list_snapshots(net).await)
        .unwrap();
    assert_eq!(listed, vec![(epoch, "once".to_string())]);
    // A keyed request must wrap a known, unkeyed request.
    let nested = SvcKeyedReq::wrap(daos_types::Uuid::new_v4(), Opcode::SvcKeyed, &keyed);
    assert_eq!(send(&nested).unwrap_err().der(), Der::Proto);
    let mut unknown = keyed.clone();
    unknown.opcode = 9999;
    assert_eq!(send(&unknown).unwrap_err().der(), Der::Proto);
}

#[test]
fn a_restarted_management_service_still_watches_other_hosts() {
    let mut system = TestSystem::start(Options {
        engines: 3,
        targets: 1,
        netns: daos_testkit::Namespaces::supported(),
        hosts: vec![1, 1, 1],
        ..Options::default()
    });
    // The management service's server restarts (its own engine with it); the other servers
    // and their engines run on.
    let before = member(&system, 2)["fabric_uri"].clone();
    system.restart_server(0);
    await_member(&system, 0, "joined", Duration::from_secs(10));
    // Their servers' reports bring them back into the membership...
    for rank in [1, 2] {
        await_member(&system, rank, "joined", Duration::from_secs(15));
    }
    assert_eq!(member(&system, 2)["fabric_uri"], before);
    // ...and SWIM watches them again: a hang is found, excluded and fenced.
    system.pause_engine(2);
    await_fenced(&system, 2);
    assert_eq!(member(&system, 1)["state"], "joined");
}
