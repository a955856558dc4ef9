//! Object I/O through a real engine over real libfabric (tcp), with real files.

use daos_client::obj::{OO_RO, OO_RW};
use daos_client::{Anchor, Client, Container, Iod, Object, Pool, Recx};
use daos_testkit::{Options, TestSystem};
use daos_types::oclass::{name_to_id, OC_UNKNOWN};
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, ObjectId, ObjectType};
use std::sync::Arc;

struct Setup {
    system: TestSystem,
    client: Arc<Client>,
    pool: Arc<Pool>,
    cont: Arc<Container>,
}

fn setup(props: Props) -> Setup {
    setup_with(Options::default(), props)
}

fn setup_with(options: Options, props: Props) -> Setup {
    let system = TestSystem::start(options);
    system.create_pool("tank", "1G");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let mut props = props;
    props.set(prop::CO_LABEL, PropValue::Text("bucket".into()));
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = client
        .run(async |net| Container::open(&pool, net, "bucket", daos_client::cont::COO_RW).await)
        .unwrap();
    Setup {
        system,
        client,
        pool,
        cont,
    }
}

fn object(cont: &Arc<Container>, lo: u64, otype: ObjectType, class: &str) -> Object {
    let id = if class.is_empty() {
        OC_UNKNOWN
    } else {
        name_to_id(class)
    };
    let oid = cont.generate_oid(ObjectId::new(lo, 0), otype, id).unwrap();
    Object::open(cont, oid, OO_RW).unwrap()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn single_values_arrays_and_enumeration() {
    let s = setup(Props::new());
    let obj = object(&s.cont, 1, ObjectType::MultiHashed, "SX");

    // Small single value (inline in the message and in metadata).
    let small = pattern(100, 1);
    obj.update_blocking(
        0,
        b"dkey-a",
        &[Iod::single(b"akey".to_vec(), 100)],
        &[&small],
    )
    .unwrap();
    let mut back = vec![0u8; 100];
    let got = obj
        .fetch_blocking(
            0,
            0,
            b"dkey-a",
            &[Iod::single(b"akey".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
    assert_eq!(got.sizes, vec![100]);
    assert_eq!(back, small);

    // Large single value: bulk transfer, stored in the blob.
    let big = pattern(3 << 20, 7);
    obj.update_blocking(
        0,
        b"dkey-b",
        &[Iod::single(b"big".to_vec(), big.len() as u64)],
        &[&big],
    )
    .unwrap();
    let mut back = vec![0u8; big.len()];
    obj.fetch_blocking(
        0,
        0,
        b"dkey-b",
        &[Iod::single(b"big".to_vec(), 0)],
        &mut [&mut back],
    )
    .unwrap();
    assert!(back == big, "large single value differs");

    // A too-small buffer reports the size (DAOS_REC_ANY semantics).
    let mut tiny = vec![0u8; 10];
    let got = obj
        .fetch_blocking(
            0,
            0,
            b"dkey-b",
            &[Iod::single(b"big".to_vec(), 0)],
            &mut [&mut tiny],
        )
        .unwrap();
    assert!(got.too_big);
    assert_eq!(got.sizes, vec![big.len() as u64]);

    // Arrays: unaligned extents, overwrites, holes read as zeros.
    let rec = |idx, nr| Recx { idx, nr };
    let a = pattern(200_000, 3);
    obj.update_blocking(
        0,
        b"dkey-c",
        &[Iod::array(b"arr".to_vec(), 1, vec![rec(1000, 200_000)])],
        &[&a],
    )
    .unwrap();
    let patch = pattern(5000, 9);
    obj.update_blocking(
        0,
        b"dkey-c",
        &[Iod::array(b"arr".to_vec(), 1, vec![rec(51_000, 5000)])],
        &[&patch],
    )
    .unwrap();
    let mut back = vec![0xAAu8; 250_000];
    let got = obj
        .fetch_blocking(
            0,
            0,
            b"dkey-c",
            &[Iod::array(b"arr".to_vec(), 1, vec![rec(0, 250_000)])],
            &mut [&mut back],
        )
        .unwrap();
    let mut expected = vec![0u8; 250_000];
    expected[1000..201_000].copy_from_slice(&a);
    expected[51_000..56_000].copy_from_slice(&patch);
    assert!(back == expected, "array contents differ");
    assert_eq!(got.extents[0], vec![rec(1000, 200_000)]);

    // Enumerate dkeys across the SX shards, two at a time.
    for i in 0..20u32 {
        let key = format!("many-{i}");
        obj.update_blocking(
            0,
            key.as_bytes(),
            &[Iod::single(b"v".to_vec(), 4)],
            &[&i.to_le_bytes()],
        )
        .unwrap();
    }
    let mut anchor = Anchor::default();
    let mut keys = Vec::new();
    while !anchor.eof {
        let page = s
            .client
            .run(async |net| obj.list_dkeys(net, 0, &mut anchor, 2, 1 << 20).await)
            .unwrap();
        keys.extend(page.keys);
    }
    keys.sort();
    assert_eq!(
        keys.len(),
        23,
        "{:?}",
        keys.iter()
            .map(|k| String::from_utf8_lossy(k))
            .collect::<Vec<_>>()
    );
    assert_eq!(keys.iter().filter(|k| k.starts_with(b"many-")).count(), 20);

    // A buffer too small for the next key: an empty page saying how big it is, and the
    // anchor stays put, so a retry with that size gets the key.
    let mut anchor = Anchor::default();
    let page = s
        .client
        .run(async |net| obj.list_dkeys(net, 0, &mut anchor, 1, 3).await)
        .unwrap();
    assert!(page.keys.is_empty());
    assert!(page.key_size_needed > 3, "{page:?}");
    let needed = page.key_size_needed;
    let page = s
        .client
        .run(async |net| obj.list_dkeys(net, 0, &mut anchor, 1, needed).await)
        .unwrap();
    assert_eq!(page.keys.len(), 1);
    assert_eq!(page.keys[0].len() as u64, needed);

    // Punch a dkey: gone now, but still visible at a snapshot taken before.
    let snap = s
        .client
        .run(async |net| s.cont.create_snapshot(net, "before").await)
        .unwrap();
    s.client
        .run(async |net| obj.punch_dkeys(net, 0, &[b"dkey-a".to_vec()]).await)
        .unwrap();
    let mut back = vec![0u8; 100];
    let got = obj
        .fetch_blocking(
            0,
            0,
            b"dkey-a",
            &[Iod::single(b"akey".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
    assert_eq!(got.sizes, vec![0], "punched value is gone");
    let got = obj
        .fetch_blocking(
            snap,
            0,
            b"dkey-a",
            &[Iod::single(b"akey".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
    assert_eq!(got.sizes, vec![100], "snapshot still sees it");
    assert_eq!(back, small);
}

#[test]
fn conditional_operations_and_bad_input() {
    let s = setup(Props::new());
    let obj = object(&s.cont, 2, ObjectType::KvHashed, "S1");
    // A replicated class on one engine: the replicas land on distinct targets, and both
    // copies read back.
    let oid = s
        .cont
        .generate_oid(
            ObjectId::new(9, 0),
            ObjectType::KvHashed,
            name_to_id("RP_2G1"),
        )
        .unwrap();
    let rp = Object::open(&s.cont, oid, OO_RW).unwrap();
    let layout = rp.layout();
    assert_ne!(layout.groups[0][0].target, layout.groups[0][1].target);
    rp.update_blocking(0, b"k", &[Iod::single(b"a".to_vec(), 3)], &[b"two"])
        .unwrap();
    let mut back = [0u8; 3];
    rp.fetch_blocking(
        0,
        0,
        b"k",
        &[Iod::single(b"a".to_vec(), 0)],
        &mut [&mut back],
    )
    .unwrap();
    assert_eq!(&back, b"two");
    use daos_vos_flags::*;
    let v = b"value";
    obj.update_blocking(
        COND_DKEY_INSERT,
        b"k",
        &[Iod::single(b"a".to_vec(), 5)],
        &[v],
    )
    .unwrap();
    let err = obj
        .update_blocking(
            COND_DKEY_INSERT,
            b"k",
            &[Iod::single(b"a".to_vec(), 5)],
            &[v],
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Exist);
    let err = obj
        .update_blocking(
            COND_DKEY_UPDATE,
            b"missing",
            &[Iod::single(b"a".to_vec(), 5)],
            &[v],
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);
    let mut back = vec![0u8; 5];
    let err = obj
        .fetch_blocking(
            0,
            COND_DKEY_FETCH,
            b"missing",
            &[Iod::single(b"a".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);

    // Oversize key: refused with -DER_KEY2BIG before anything is sent.
    let huge = vec![b'k'; 5000];
    let err = obj
        .update_blocking(0, &huge, &[Iod::single(b"a".to_vec(), 5)], &[v])
        .unwrap_err();
    assert_eq!(err.der(), Der::Key2big);

    // Read-only handle: writes refused.
    let ro = s
        .client
        .run(async |net| Container::open(&s.pool, net, "bucket", daos_client::cont::COO_RO).await)
        .unwrap();
    let err = Object::open(&ro, obj.oid(), OO_RW).unwrap_err();
    assert_eq!(err.der(), Der::NoPerm);
    let reader = Object::open(&ro, obj.oid(), OO_RO).unwrap();
    reader
        .fetch_blocking(
            0,
            0,
            b"k",
            &[Iod::single(b"a".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
    assert_eq!(&back, v);

    // A closed handle is refused; unknown labels are DER_NONEXIST.
    s.client.run(async |net| ro.close(net).await).unwrap();
    let err = reader
        .fetch_blocking(
            0,
            0,
            b"k",
            &[Iod::single(b"a".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::NoHdl);
    let err = s
        .client
        .run(async |net| {
            Container::open(&s.pool, net, "no-such-container", daos_client::cont::COO_RW).await
        })
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);
    let err = s
        .client
        .run(async |net| {
            Pool::connect(&s.client, net, "no-such-pool", daos_client::pool::PC_RW).await
        })
        .unwrap_err();
    assert_eq!(err.der(), Der::Nonexist);
    // Disconnect refused while a container is open.
    let err = s
        .client
        .run(async |net| s.pool.disconnect(net).await)
        .unwrap_err();
    assert_eq!(err.der(), Der::Busy);
    drop(s.system);
}

/// DAOS_COND_* values (daos_obj.h).
mod daos_vos_flags {
    pub const COND_DKEY_INSERT: u64 = 2;
    pub const COND_DKEY_UPDATE: u64 = 4;
    pub const COND_DKEY_FETCH: u64 = 8;
}

#[test]
fn shared_memory_provider_end_to_end() {
    // ofi+shm: no ports, endpoints named by the provider, bulk by cross-memory attach.
    let options = Options {
        provider: "ofi+shm".into(),
        ..Options::default()
    };
    let s = setup_with(options, Props::new());
    let obj = object(&s.cont, 3, ObjectType::MultiHashed, "SX");
    for (n, len) in [(0u8, 100usize), (1, 3 << 20)] {
        let value = pattern(len, n);
        let dkey = [b'd', n];
        obj.update_blocking(
            0,
            &dkey,
            &[Iod::single(b"a".to_vec(), len as u64)],
            &[&value],
        )
        .unwrap();
        let mut back = vec![0u8; len];
        obj.fetch_blocking(
            0,
            0,
            &dkey,
            &[Iod::single(b"a".to_vec(), 0)],
            &mut [&mut back],
        )
        .unwrap();
        assert_eq!(back, value, "{len}-byte value over shm");
    }
}
