//! DFS through a real engine: namespace operations, chunked files, errors as errno.

use daos_client::{Anchor, Client, Container, Pool, SgList};
use daos_dfs::{mode, Attr, Dfs, DfsObj, O_CREAT, O_EXCL, O_RDWR, O_TRUNC};
use daos_testkit::{Options, TestSystem};
use daos_types::der::libc_errno as errno;
use daos_types::prop::{self, PropValue};
use std::sync::Arc;

fn mounted(system: &TestSystem, chunk: u64) -> (Arc<Client>, Arc<Dfs>) {
    system.create_pool("tank", "1G");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let mut attr = Attr {
        chunk_size: chunk,
        ..Attr::default()
    };
    attr.props.set(prop::CO_LABEL, PropValue::Text("fs".into()));
    client
        .run(async |net| {
            Dfs::create_container(&pool, net, None, attr)
                .await
                .map_err(|e| daos_types::Error::new(daos_types::Der::Misc, e.to_string()))
        })
        .unwrap();
    let cont = client
        .run(async |net| Container::open(&pool, net, "fs", daos_client::cont::COO_RW).await)
        .unwrap();
    let dfs = client
        .run(async |net| {
            Dfs::mount(&cont, net, O_RDWR)
                .await
                .map_err(|e| daos_types::Error::new(daos_types::Der::Misc, e.to_string()))
        })
        .unwrap();
    (client, dfs)
}

/// Runs a DFS operation blocking on the thread's endpoint.
fn run<T>(
    client: &Arc<Client>,
    op: impl AsyncFnOnce(&Arc<daos_client::NetContext>) -> daos_dfs::Result<T>,
) -> daos_dfs::Result<T> {
    let net = client.thread_net().unwrap();
    daos_fabric::block_on(&net, op(&net))
}

fn write(client: &Arc<Client>, dfs: &Dfs, obj: &DfsObj, offset: u64, data: &[u8]) {
    run(client, async |net| {
        dfs.write(net, obj, offset, SgList::from_vec(data.to_vec()))
            .await
    })
    .unwrap();
}

fn read_all(client: &Arc<Client>, dfs: &Dfs, obj: &DfsObj) -> Vec<u8> {
    let size = run(client, async |net| dfs.get_size(net, obj).await).unwrap();
    let (n, buf) = run(client, async |net| {
        dfs.read(net, obj, 0, SgList::from_vec(vec![0; size as usize]))
            .await
    })
    .unwrap();
    assert_eq!(n, size);
    buf.into_vecs().unwrap().pop().unwrap()
}

#[test]
fn namespace_and_files() {
    let system = TestSystem::start(Options::default());
    // A small chunk size so files span many chunks (and both targets).
    let (client, dfs) = mounted(&system, 64 * 1024);
    let root = dfs.root().clone();

    let dir = run(&client, async |net| {
        dfs.mkdir(net, &root, b"dir", 0o755, 0).await
    })
    .unwrap();
    let err = run(&client, async |net| {
        dfs.mkdir(net, &root, b"dir", 0o755, 0).await
    })
    .unwrap_err();
    assert_eq!(err.errno(), errno::EEXIST);

    // A multi-chunk file with an unaligned overwrite and a hole.
    let file = run(&client, async |net| {
        dfs.open(
            net,
            &dir,
            b"f",
            mode::S_IFREG | 0o644,
            O_CREAT | O_EXCL | O_RDWR,
            0,
            0,
            None,
        )
        .await
    })
    .unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    write(&client, &dfs, &file, 0, &data);
    write(&client, &dfs, &file, 100_000, &[7u8; 50_000]);
    write(&client, &dfs, &file, 400_000, b"end");
    let mut expected = data.clone();
    expected[100_000..150_000].fill(7);
    expected.resize(400_000, 0);
    expected.extend_from_slice(b"end");
    assert!(
        read_all(&client, &dfs, &file) == expected,
        "file contents differ"
    );
    let err = run(&client, async |net| {
        dfs.open(
            net,
            &dir,
            b"f",
            mode::S_IFREG | 0o644,
            O_CREAT | O_EXCL | O_RDWR,
            0,
            0,
            None,
        )
        .await
    })
    .unwrap_err();
    assert_eq!(err.errno(), errno::EEXIST);

    // Truncate down, then extend.
    run(&client, async |net| dfs.set_size(net, &file, 70_000).await).unwrap();
    assert!(
        read_all(&client, &dfs, &file) == expected[..70_000],
        "truncated contents differ"
    );
    run(&client, async |net| dfs.set_size(net, &file, 200_000).await).unwrap();
    let mut extended = expected[..70_000].to_vec();
    extended.resize(200_000, 0);
    assert!(
        read_all(&client, &dfs, &file) == extended,
        "extended contents differ"
    );
    // O_TRUNC empties it.
    let file = run(&client, async |net| {
        dfs.open(net, &dir, b"f", mode::S_IFREG, O_RDWR | O_TRUNC, 0, 0, None)
            .await
    })
    .unwrap();
    assert_eq!(
        run(&client, async |net| dfs.get_size(net, &file).await).unwrap(),
        0
    );

    // Lookup, symlinks, stat, errors.
    let found = run(&client, async |net| dfs.lookup(net, "/dir/f", O_RDWR).await).unwrap();
    assert_eq!(found.oid(), file.oid());
    run(&client, async |net| {
        dfs.open(
            net,
            &root,
            b"link",
            mode::S_IFLNK | 0o777,
            O_CREAT | O_RDWR,
            0,
            0,
            Some(b"/dir/f"),
        )
        .await
    })
    .unwrap();
    let via_link = run(&client, async |net| dfs.lookup(net, "/link", O_RDWR).await).unwrap();
    assert_eq!(via_link.oid(), file.oid());
    assert_eq!(
        run(&client, async |net| dfs
            .lookup(net, "relative", O_RDWR)
            .await)
        .unwrap_err()
        .errno(),
        errno::EINVAL
    );
    assert_eq!(
        run(&client, async |net| dfs.lookup(net, "/nope", O_RDWR).await)
            .unwrap_err()
            .errno(),
        errno::ENOENT
    );
    assert_eq!(
        run(&client, async |net| dfs
            .lookup(net, "/dir/f/x", O_RDWR)
            .await)
        .unwrap_err()
        .errno(),
        errno::ENOTDIR
    );
    let st = run(&client, async |net| dfs.stat(net, &dir, Some(b"f")).await).unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFREG);

    // readdir, rename, remove.
    for i in 0..30 {
        run(&client, async |net| {
            dfs.open(
                net,
                &dir,
                format!("n{i}").as_bytes(),
                mode::S_IFREG | 0o600,
                O_CREAT | O_RDWR,
                0,
                0,
                None,
            )
            .await
        })
        .unwrap();
    }
    let mut anchor = Anchor::default();
    let mut names = Vec::new();
    while !anchor.eof {
        names.extend(
            run(&client, async |net| {
                dfs.readdir(net, &dir, &mut anchor, 7).await
            })
            .unwrap(),
        );
    }
    assert_eq!(names.len(), 31);
    run(&client, async |net| {
        dfs.rename(net, &dir, b"n0", &root, b"moved").await
    })
    .unwrap();
    assert!(run(&client, async |net| dfs.lookup(net, "/moved", O_RDWR).await).is_ok());
    assert_eq!(
        run(&client, async |net| dfs
            .lookup(net, "/dir/n0", O_RDWR)
            .await)
        .unwrap_err()
        .errno(),
        errno::ENOENT
    );
    assert_eq!(
        run(&client, async |net| dfs
            .remove(net, &root, b"dir", false)
            .await)
        .unwrap_err()
        .errno(),
        errno::ENOTEMPTY
    );
    run(&client, async |net| {
        dfs.remove(net, &root, b"dir", true).await
    })
    .unwrap();
    assert_eq!(
        run(&client, async |net| dfs.lookup(net, "/dir", O_RDWR).await)
            .unwrap_err()
            .errno(),
        errno::ENOENT
    );
    assert_eq!(
        run(&client, async |net| dfs
            .remove(net, &root, b"dir", true)
            .await)
        .unwrap_err()
        .errno(),
        errno::ENOENT
    );
}

#[test]
fn mount_refuses_non_posix_containers() {
    let system = TestSystem::start(Options::default());
    system.create_pool("tank", "1G");
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let pool = client
        .run(async |net| Pool::connect(&client, net, "tank", daos_client::pool::PC_RW).await)
        .unwrap();
    let mut props = daos_types::prop::Props::new();
    props.set(prop::CO_LABEL, PropValue::Text("py".into()));
    props.set(
        prop::CO_LAYOUT_TYPE,
        PropValue::Number(prop::layout::PYTHON),
    );
    client
        .run(async |net| Container::create(&pool, net, None, props).await)
        .unwrap();
    let cont = client
        .run(async |net| Container::open(&pool, net, "py", daos_client::cont::COO_RW).await)
        .unwrap();
    let err = run(&client, async |net| {
        Dfs::mount(&cont, net, O_RDWR).await.map(drop)
    })
    .unwrap_err();
    assert_eq!(err.errno(), errno::EINVAL);
}
