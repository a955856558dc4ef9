//! An idle system uses no CPU: engines block on their wait objects (fabric, io_uring, mailbox)
//! instead of spinning, even with a pool, a container and open handles, and after traffic.

use daos_client::obj::OO_RW;
use daos_client::{Client, Container, Iod, Object, Pool};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{ObjectId, ObjectType};
use std::time::Duration;

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_time(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // /proc counts in USER_HZ ticks, which Linux fixes at 100 per second on x86 and arm64.
    Duration::from_millis(ticks * 10)
}

#[test]
fn an_idle_engine_uses_no_cpu() {
    let system = TestSystem::start(Options::default());
    system.create_pool("tank", "1G");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("c".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = client
        .run(async |net| Container::open(&pool, net, "c", daos_client::cont::COO_RW).await)
        .unwrap();
    let oid = cont
        .generate_oid(
            ObjectId::new(1, 0),
            ObjectType::MultiHashed,
            name_to_id("SX"),
        )
        .unwrap();
    let obj = Object::open(&cont, oid, OO_RW).unwrap();
    for i in 0..100u32 {
        let value = vec![i as u8; 64 << 10];
        obj.update_blocking(
            0,
            &i.to_le_bytes(),
            &[Iod::single(b"v".to_vec(), 64 << 10)],
            &[&value],
        )
        .unwrap();
    }
    let pids = system.engine_pids();
    assert_eq!(pids.len(), 1, "one engine");
    // Let spin windows, flushes and the first aggregation passes settle, then measure.
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_time(pids[0]);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_time(pids[0]) - before;
    assert!(
        used < Duration::from_millis(100),
        "an idle engine with two targets used {used:?} of CPU in 2 s"
    );
}
