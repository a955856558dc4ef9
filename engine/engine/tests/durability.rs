//! Durability against real processes: kill -9 mid-stream, media corruption, recovery,
//! space reclaim, and many operations in flight.

use daos_client::obj::OO_RW;
use daos_client::{Client, Container, EventQueue, Iod, Object, Pool, SgList};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, ObjectId, ObjectType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn connect(system: &TestSystem, create: bool) -> (Arc<Client>, Arc<Pool>, Arc<Container>) {
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    if create {
        let mut props = Props::new();
        props.set(prop::CO_LABEL, PropValue::Text("c".into()));
        client
            .run(async |net| Container::create(&pool, net, None, props).await)
            .unwrap();
    }
    let cont = client
        .run(async |net| Container::open(&pool, net, "c", daos_client::cont::COO_RW).await)
        .unwrap();
    (client, pool, cont)
}

fn object(cont: &Arc<Container>) -> Object {
    let oid = cont
        .generate_oid(
            ObjectId::new(7, 0),
            ObjectType::MultiHashed,
            name_to_id("SX"),
        )
        .unwrap();
    Object::open(cont, oid, OO_RW).unwrap()
}

/// The value written for key (writer, index): small ones stay inline, large ones go to the
/// blob, so both recovery paths are exercised.
fn value(writer: u64, index: u64) -> Vec<u8> {
    let len = if index % 3 == 0 {
        100 * 1024
    } else {
        200 + (index % 50) as usize
    };
    let seed = writer.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index;
    (0..len)
        .map(|i| (seed.wrapping_add(i as u64).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn key(writer: u64, index: u64) -> Vec<u8> {
    format!("w{writer}-{index}").into_bytes()
}

fn read(obj: &Object, k: &[u8], max: usize) -> Result<Vec<u8>, daos_types::Error> {
    let mut buf = vec![0u8; max];
    let got = obj.fetch_blocking(0, 0, k, &[Iod::single(b"v".to_vec(), 0)], &mut [&mut buf])?;
    buf.truncate(got.lens[0] as usize);
    Ok(buf)
}

#[test]
fn acknowledged_updates_survive_kill_9() {
    let mut system = TestSystem::start(Options::default());
    system.create_pool("tank", "2G");
    let (client, _pool, cont) = connect(&system, true);
    // Writers blocked on a dead engine give up after this instead of the default 60 s.
    client.set_timeout(Duration::from_secs(5));
    let writers = 3u64;
    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let attempted: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(vec![0; writers as usize]));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let (cont, acked, attempted, stop) =
                (cont.clone(), acked.clone(), attempted.clone(), stop.clone());
            std::thread::spawn(move || {
                let obj = object(&cont);
                for i in 1.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    attempted.lock().unwrap()[w as usize] = i;
                    let v = value(w, i);
                    match obj.update_blocking(
                        0,
                        &key(w, i),
                        &[Iod::single(b"v".to_vec(), v.len() as u64)],
                        &[&v],
                    ) {
                        Ok(_) => acked.lock().unwrap().push((w, i)),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Let a stream build up, then crash the server and engine at an arbitrary moment.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    system.kill9();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    drop(client);
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "the stream ran ({} acknowledged)",
        acked.len()
    );

    system.restart();
    let (_client, _pool, cont) = connect(&system, false);
    let obj = object(&cont);
    for (w, i) in &acked {
        let got = read(&obj, &key(*w, *i), 200 * 1024).unwrap();
        assert!(
            got == value(*w, *i),
            "acknowledged update w{w}-{i} lost or damaged after kill -9"
        );
    }
    for w in 0..writers {
        let last = attempted[w as usize];
        // Not acknowledged: present whole, or absent; never partial.
        let got = read(&obj, &key(w, last), 200 * 1024).unwrap();
        assert!(
            got.is_empty() || got == value(w, last),
            "in-flight update w{w}-{last} is partial"
        );
        // Never sent: absent.
        for i in last + 1..last + 4 {
            assert!(
                read(&obj, &key(w, i), 200 * 1024).unwrap().is_empty(),
                "w{w}-{i} was never sent"
            );
        }
    }
}

#[test]
fn corrupted_data_on_disk_is_der_csum() {
    let mut system = TestSystem::start(Options {
        targets: 1,
        ..Options::default()
    });
    system.create_pool("tank", "1G");
    let (client, pool, cont) = connect(&system, true);
    let obj = object(&cont);
    let victim: Vec<u8> = (0..256 * 1024u32)
        .map(|i| 0xA0 ^ (i.wrapping_mul(7919) >> 5) as u8)
        .collect();
    obj.update_blocking(
        0,
        b"victim",
        &[Iod::single(b"v".to_vec(), victim.len() as u64)],
        &[&victim],
    )
    .unwrap();
    obj.update_blocking(0, b"control", &[Iod::single(b"v".to_vec(), 5)], &[b"hello"])
        .unwrap();
    client.run(async |net| cont.close(net).await).unwrap();
    client.run(async |net| pool.disconnect(net).await).unwrap();
    drop(client);
    system.stop();

    // Find the value in the data file and flip one bit in the middle of it.
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(system.bdev_path())
        .unwrap();
    let mut block = vec![0u8; 4096];
    let mut found = None;
    for offset in (0..256u64 << 20).step_by(4096) {
        file.read_exact_at(&mut block, offset).unwrap();
        if block == victim[..4096] {
            found = Some(offset);
            break;
        }
    }
    let at = found.expect("value found in the data file") + 100_000;
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, at).unwrap();
    file.write_all_at(&[byte[0] ^ 0x10], at).unwrap();
    file.sync_all().unwrap();
    drop(file);

    system.restart();
    let (_client, _pool, cont) = connect(&system, false);
    let obj = object(&cont);
    let err = read(&obj, b"victim", 256 * 1024).unwrap_err();
    assert_eq!(
        err.der(),
        Der::Csum,
        "corrupted data must fail with DER_CSUM, never return wrong bytes"
    );
    assert_eq!(read(&obj, b"control", 16).unwrap(), b"hello");
}

#[test]
fn hundreds_in_flight_on_one_event_queue() {
    let system = TestSystem::start(Options::default());
    system.create_pool("tank", "1G");
    let (client, _pool, cont) = connect(&system, true);
    let obj = object(&cont);
    let eq = EventQueue::new(&client).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let count = 500u64;
    for i in 0..count {
        let (obj, net, failures) = (obj.clone(), eq.net().clone(), failures.clone());
        let v = value(9, i);
        eq.launch(
            i,
            async move {
                let iods = [Iod::single(b"v".to_vec(), v.len() as u64)];
                obj.update(&net, 0, &key(9, i), &iods, vec![SgList::from_vec(v)])
                    .await
            },
            move |outcome| {
                if let Err(err) = outcome {
                    failures.lock().unwrap().push(err);
                }
            },
        );
    }
    assert_eq!(eq.in_flight(), count as usize);
    let mut done = 0;
    while done < count as usize {
        done += eq.poll(true, Some(Duration::from_secs(30)), 64).len();
    }
    assert!(
        failures.lock().unwrap().is_empty(),
        "{:?}",
        failures.lock().unwrap()
    );
    // Nothing in flight: poll with wait_running returns at once (pydaos drain loops rely on it).
    let started = Instant::now();
    assert!(eq.poll(true, None, 16).is_empty());
    assert!(started.elapsed() < Duration::from_millis(100));
    for i in (0..count).step_by(37) {
        assert!(read(&obj, &key(9, i), 200 * 1024).unwrap() == value(9, i));
    }
}

#[test]
fn aggregation_reclaims_overwritten_space() {
    let options = Options {
        targets: 1,
        env: vec![("DAOS_RS_AGG_DELAY_MS".into(), "0".into())],
        ..Options::default()
    };
    let system = TestSystem::start(options);
    system.create_pool("tank", "1G");
    let (client, pool, cont) = connect(&system, true);
    let obj = object(&cont);
    let free = |pool: &Arc<Pool>| {
        client
            .run(async |net| pool.query(net).await)
            .unwrap()
            .nvme
            .free
    };
    let before = free(&pool);
    let data = vec![0x42u8; 1 << 20];
    for _ in 0..100 {
        obj.update_blocking(
            0,
            b"hot",
            &[Iod::single(b"v".to_vec(), data.len() as u64)],
            &[&data],
        )
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = free(&pool);
        if before - now <= 2 << 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "space not reclaimed: {} bytes still used",
            before - now
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        read(&obj, b"hot", 1 << 20).unwrap() == data,
        "the latest version survives aggregation"
    );
}

#[test]
fn overwrites_wait_for_reclaimed_space_and_full_pools_say_nospace() {
    // Aggregation normally stays a minute behind the clock here, so only the space-pressure
    // path can free the old versions in time.
    let options = Options {
        targets: 1,
        env: vec![("DAOS_RS_AGG_DELAY_MS".into(), "60000".into())],
        ..Options::default()
    };
    let system = TestSystem::start(options);
    system.create_pool("tank", "512M");
    let (client, pool, cont) = connect(&system, true);
    let obj = object(&cont);
    let blob = client
        .run(async |net| pool.query(net).await)
        .unwrap()
        .nvme
        .total;
    let iod = [Iod::single(b"v".to_vec(), 1 << 20)];
    let mut last = [0u8; 4];
    let mut written = 0u64;
    let mut i = 0u64;
    while written < 3 * blob {
        let k = (i % 4) as usize;
        let data = vec![i as u8; 1 << 20];
        obj.update_blocking(0, format!("k{k}").as_bytes(), &iod, &[&data])
            .unwrap_or_else(|e| panic!("overwrite {i} after {written} bytes: {e}"));
        last[k] = i as u8;
        written += 1 << 20;
        i += 1;
    }
    for (k, byte) in last.iter().enumerate() {
        let got = read(&obj, format!("k{k}").as_bytes(), 1 << 20).unwrap();
        assert!(
            got.len() == 1 << 20 && got.iter().all(|b| b == byte),
            "key k{k}"
        );
    }
    // Live data that truly does not fit fails cleanly, and the engine keeps serving.
    let mut filled = 0u64;
    let err = loop {
        let data = vec![7u8; 1 << 20];
        match obj.update_blocking(0, format!("fill{filled}").as_bytes(), &iod, &[&data]) {
            Ok(_) => filled += 1,
            Err(e) => break e,
        }
        assert!(filled << 20 <= blob, "more live data than the blob holds");
    };
    assert_eq!(err.der(), Der::Nospace, "{err}");
    assert!(
        filled << 20 >= blob / 2,
        "only {filled} MiB fitted in a {blob}-byte blob"
    );
    assert_eq!(read(&obj, b"fill0", 1 << 20).unwrap(), vec![7u8; 1 << 20]);
}

#[test]
fn small_overwrites_reclaim_metadata_space_under_pressure() {
    // Small values live inline in the metadata space. Sustained overwrites must have their old
    // versions reclaimed as that space runs low; otherwise later values spill to the blob and
    // every read of them goes to disk. Aggregation normally stays a minute behind here, so only
    // the pressure path can free the space within the test.
    let options = Options {
        targets: 1,
        env: vec![("DAOS_RS_AGG_DELAY_MS".into(), "60000".into())],
        ..Options::default()
    };
    let system = TestSystem::start(options);
    system.create_pool("tank", "256M");
    let (client, pool, cont) = connect(&system, true);
    let obj = object(&cont);
    let space = || client.run(async |net| pool.query(net).await).unwrap();
    let total = space().scm.total;
    let iod = [Iod::single(b"v".to_vec(), 4096)];
    let mut written = 0u64;
    let mut i = 0u64;
    while written < 3 * total {
        let data = vec![i as u8; 4096];
        obj.update_blocking(0, format!("k{}", i % 16).as_bytes(), &iod, &[&data])
            .unwrap();
        written += 4096;
        i += 1;
    }
    let info = space();
    assert_eq!(
        info.nvme.free, info.nvme.total,
        "4 KiB values spilled to the blob after {written} bytes of overwrites (metadata space {} of {total} free)",
        info.scm.free
    );
    assert!(info.scm.free > 0);
    for k in 0..16 {
        let last = (i - 1) - ((i - 1 - k) % 16);
        let got = read(&obj, format!("k{k}").as_bytes(), 4096).unwrap();
        assert_eq!(got, vec![last as u8; 4096], "key k{k}");
    }
}
