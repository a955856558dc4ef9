//! `daos filesystem copy`: POSIX trees into and out of POSIX containers.
//!
//! A source directory's contents are copied into the destination directory (created if
//! needed), as DAOS's `daos filesystem copy --src /dir/ --dst daos://pool/cont` does. Both
//! sides can be a local path or `daos://<pool>/<cont>[/path]`. Directories are created first,
//! parents before children; files are then copied by worker threads, each with its own fabric
//! endpoint, reading and writing in pieces of [`PIECE`] bytes, with a progress bar.

use daos_client::{Anchor, Client, Container, NetContext, Pool, SgList};
use daos_dfs::{mode, Dfs, DfsObj, O_CREAT, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Bytes moved per read/write call.
const PIECE: u64 = 4 << 20;

/// One side of a copy.
pub enum Side {
    /// A local path.
    Posix(PathBuf),
    /// A path in a POSIX container.
    Daos {
        /// The mounted container.
        dfs: Arc<Dfs>,
        /// Absolute path inside it.
        path: String,
        /// For messages.
        url: String,
        /// Keeps the handles for unmounting.
        handles: (Arc<Pool>, Arc<Container>),
    },
}

/// What a copy did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Directories created.
    pub dirs: u64,
    /// Files copied.
    pub files: u64,
    /// Symlinks created.
    pub links: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Seconds taken.
    pub seconds: f64,
}

#[derive(Clone, Debug)]
enum Kind {
    Dir,
    File(u64),
    Link(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Item {
    rel: String,
    kind: Kind,
    mode: u32,
}

fn err(message: impl std::fmt::Display) -> daos_types::Error {
    daos_types::Error::new(daos_types::Der::Io, message.to_string())
}

fn dfs_err(e: daos_dfs::DfsError) -> daos_types::Error {
    daos_types::Error::new(daos_types::Der::from_errno(e.errno()), e.to_string())
}

fn run<T>(
    client: &Arc<Client>,
    op: impl AsyncFnOnce(&Arc<NetContext>) -> daos_dfs::Result<T>,
) -> daos_types::Result<T> {
    let net = client.thread_net()?;
    daos_fabric::block_on(&net, op(&net)).map_err(dfs_err)
}

/// Parses `daos://pool/cont[/path]`.
pub fn parse_url(text: &str) -> Option<(String, String, String)> {
    let rest = text.strip_prefix("daos://")?;
    let mut parts = rest.splitn(3, '/');
    let pool = parts.next().filter(|p| !p.is_empty())?.to_string();
    let cont = parts.next().filter(|c| !c.is_empty())?.to_string();
    let path = format!("/{}", parts.next().unwrap_or("").trim_end_matches('/'));
    Some((
        pool,
        cont,
        if path == "/" {
            path
        } else {
            path.trim_end_matches('/').to_string()
        },
    ))
}

/// Opens one side of a copy.
pub fn open_side(client: &Arc<Client>, text: &str, write: bool) -> daos_types::Result<Side> {
    let Some((pool_id, cont_id, path)) = parse_url(text) else {
        return Ok(Side::Posix(PathBuf::from(text)));
    };
    let pool = client.run(async |net| {
        Pool::connect(
            client,
            net,
            &pool_id,
            if write {
                daos_client::pool::PC_RW
            } else {
                daos_client::pool::PC_RO
            },
        )
        .await
    })?;
    let flags = if write {
        daos_client::cont::COO_RW
    } else {
        daos_client::cont::COO_RO
    };
    // A failed open or mount releases what was already acquired, so a refused copy leaves no
    // handle on the engine (an open handle would make `container destroy` report DER_BUSY).
    let cont = match client.run(async |net| Container::open(&pool, net, &cont_id, flags).await) {
        Ok(cont) => cont,
        Err(e) => {
            let _ = client.run(async |net| pool.disconnect(net).await);
            return Err(e);
        }
    };
    let mounted = run(client, async |net| {
        Dfs::mount(&cont, net, if write { O_RDWR } else { O_RDONLY }).await
    });
    let dfs = match mounted {
        Ok(dfs) => dfs,
        Err(e) => {
            let _ = client.run(async |net| cont.close(net).await);
            let _ = client.run(async |net| pool.disconnect(net).await);
            return Err(e);
        }
    };
    Ok(Side::Daos {
        dfs,
        path,
        url: text.to_string(),
        handles: (pool, cont),
    })
}

/// Releases a side's handles.
pub fn close_side(client: &Arc<Client>, side: Side) -> daos_types::Result<()> {
    if let Side::Daos {
        dfs,
        handles: (pool, cont),
        ..
    } = side
    {
        drop(dfs);
        client.run(async |net| cont.close(net).await)?;
        client.run(async |net| pool.disconnect(net).await)?;
    }
    Ok(())
}

impl Side {
    fn describe(&self) -> String {
        match self {
            Side::Posix(p) => p.display().to_string(),
            Side::Daos { url, .. } => url.clone(),
        }
    }

    /// Everything under the side's path, parents before children.
    fn walk(&self, client: &Arc<Client>) -> daos_types::Result<Vec<Item>> {
        match self {
            Side::Posix(root) => {
                let meta = std::fs::symlink_metadata(root)
                    .map_err(|e| err(format!("{}: {e}", root.display())))?;
                if !meta.is_dir() {
                    return Ok(vec![Item {
                        rel: String::new(),
                        kind: Kind::File(meta.len()),
                        mode: mode_of(&meta),
                    }]);
                }
                let mut items = Vec::new();
                for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
                    let entry =
                        entry.map_err(|e| err(format!("walking {}: {e}", root.display())))?;
                    let rel = entry
                        .path()
                        .strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned();
                    let meta = entry
                        .metadata()
                        .map_err(|e| err(format!("{}: {e}", entry.path().display())))?;
                    let kind = if entry.file_type().is_dir() {
                        Kind::Dir
                    } else if entry.file_type().is_symlink() {
                        let target =
                            std::fs::read_link(entry.path()).map_err(|e| err(e.to_string()))?;
                        Kind::Link(target.to_string_lossy().into_owned().into_bytes())
                    } else if entry.file_type().is_file() {
                        Kind::File(meta.len())
                    } else {
                        continue; // sockets, devices, fifos: not copied, as DAOS's tool skips them
                    };
                    items.push(Item {
                        rel,
                        kind,
                        mode: mode_of(&meta),
                    });
                }
                Ok(items)
            }
            Side::Daos { dfs, path, .. } => {
                let top = run(client, async |net| dfs.lookup(net, path, O_NOFOLLOW).await)?;
                if top.entry().is_file() {
                    let size = run(client, async |net| dfs.get_size(net, &top).await)?;
                    return Ok(vec![Item {
                        rel: String::new(),
                        kind: Kind::File(size),
                        mode: top.mode(),
                    }]);
                }
                let mut items = Vec::new();
                let mut queue: Vec<(String, DfsObj)> = vec![(String::new(), top)];
                while let Some((prefix, dir)) = queue.pop() {
                    let mut anchor = Anchor::default();
                    let mut names = Vec::new();
                    while !anchor.eof {
                        names.extend(run(client, async |net| {
                            dfs.readdir(net, &dir, &mut anchor, 4096).await
                        })?);
                    }
                    names.sort();
                    let entries = run(client, async |net| {
                        let lookups = names.iter().map(|n| dfs.entry(net, &dir, n));
                        futures::future::try_join_all(lookups).await
                    })?;
                    for (name, entry) in names.iter().zip(entries) {
                        let Some(entry) = entry else { continue };
                        let rel = if prefix.is_empty() {
                            String::from_utf8_lossy(name).into_owned()
                        } else {
                            format!("{prefix}/{}", String::from_utf8_lossy(name))
                        };
                        if entry.is_dir() {
                            items.push(Item {
                                rel: rel.clone(),
                                kind: Kind::Dir,
                                mode: entry.mode,
                            });
                            let obj = run(client, async |net| {
                                dfs.open(net, &dir, name, mode::S_IFDIR, O_RDONLY, 0, 0, None)
                                    .await
                            })?;
                            queue.push((rel, obj));
                        } else if entry.is_symlink() {
                            items.push(Item {
                                rel,
                                kind: Kind::Link(entry.symlink.clone()),
                                mode: entry.mode,
                            });
                        } else {
                            items.push(Item {
                                rel,
                                kind: Kind::File(u64::MAX),
                                mode: entry.mode,
                            });
                        }
                    }
                }
                items.sort_by(|a, b| a.rel.cmp(&b.rel));
                Ok(items)
            }
        }
    }
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

fn join(base: &str, rel: &str) -> String {
    match (base.trim_end_matches('/'), rel.is_empty()) {
        (b, true) => {
            if b.is_empty() {
                "/".to_string()
            } else {
                b.to_string()
            }
        }
        ("", false) => format!("/{rel}"),
        (b, false) => format!("{b}/{rel}"),
    }
}

/// Directory handles created on a DFS destination, by relative path.
type DirCache = Mutex<HashMap<String, DfsObj>>;

fn dfs_dir(
    client: &Arc<Client>,
    dfs: &Dfs,
    cache: &DirCache,
    base: &str,
    rel: &str,
) -> daos_types::Result<DfsObj> {
    if let Some(dir) = cache.lock().expect("dir cache").get(rel) {
        return Ok(dir.clone());
    }
    let dir = run(client, async |net| {
        dfs.lookup(net, &join(base, rel), 0).await
    })?;
    cache
        .lock()
        .expect("dir cache")
        .insert(rel.to_string(), dir.clone());
    Ok(dir)
}

fn split(rel: &str) -> (&str, &str) {
    match rel.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", rel),
    }
}

/// Makes sure the destination directory (and its parents) exists.
fn make_base(client: &Arc<Client>, dst: &Side) -> daos_types::Result<()> {
    match dst {
        Side::Posix(path) => {
            std::fs::create_dir_all(path).map_err(|e| err(format!("{}: {e}", path.display())))
        }
        Side::Daos { dfs, path, .. } => {
            let mut current = dfs.root().clone();
            for part in path.split('/').filter(|p| !p.is_empty()) {
                current = match run(client, async |net| {
                    dfs.mkdir(net, &current, part.as_bytes(), 0o755, 0).await
                }) {
                    Ok(dir) => dir,
                    Err(e) if e.der() == daos_types::Der::Exist => run(client, async |net| {
                        dfs.open(
                            net,
                            &current,
                            part.as_bytes(),
                            mode::S_IFDIR,
                            O_RDWR,
                            0,
                            0,
                            None,
                        )
                        .await
                    })?,
                    Err(e) => return Err(e),
                };
            }
            Ok(())
        }
    }
}

fn create_dir(
    client: &Arc<Client>,
    dst: &Side,
    cache: &DirCache,
    rel: &str,
    mode_bits: u32,
) -> daos_types::Result<()> {
    match dst {
        Side::Posix(base) => {
            let path = base.join(rel);
            match std::fs::create_dir(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(err(format!("{}: {e}", path.display()))),
            }
        }
        Side::Daos { dfs, path, .. } => {
            let (parent_rel, name) = split(rel);
            let parent = dfs_dir(client, dfs, cache, path, parent_rel)?;
            let dir = match run(client, async |net| {
                dfs.mkdir(net, &parent, name.as_bytes(), mode_bits, 0).await
            }) {
                Ok(dir) => dir,
                Err(e) if e.der() == daos_types::Der::Exist => run(client, async |net| {
                    dfs.open(
                        net,
                        &parent,
                        name.as_bytes(),
                        mode::S_IFDIR,
                        O_RDWR,
                        0,
                        0,
                        None,
                    )
                    .await
                })?,
                Err(e) => return Err(e),
            };
            cache
                .lock()
                .expect("dir cache")
                .insert(rel.to_string(), dir);
            Ok(())
        }
    }
}

fn create_link(
    client: &Arc<Client>,
    dst: &Side,
    cache: &DirCache,
    rel: &str,
    target: &[u8],
) -> daos_types::Result<()> {
    match dst {
        Side::Posix(base) => {
            let path = base.join(rel);
            let _ = std::fs::remove_file(&path);
            std::os::unix::fs::symlink(String::from_utf8_lossy(target).as_ref(), &path)
                .map_err(|e| err(format!("{}: {e}", path.display())))
        }
        Side::Daos { dfs, path, .. } => {
            let (parent_rel, name) = split(rel);
            let parent = dfs_dir(client, dfs, cache, path, parent_rel)?;
            match run(client, async |net| {
                dfs.open(
                    net,
                    &parent,
                    name.as_bytes(),
                    mode::S_IFLNK | 0o777,
                    O_CREAT | daos_dfs::O_EXCL | O_RDWR,
                    0,
                    0,
                    Some(target),
                )
                .await
            }) {
                Ok(_) => Ok(()),
                Err(e) if e.der() == daos_types::Der::Exist => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

/// Copies one file; returns the bytes copied.
fn copy_file(
    client: &Arc<Client>,
    src: &Side,
    dst: &Side,
    cache: &DirCache,
    item: &Item,
    buf: &mut Vec<u8>,
    progress: &AtomicU64,
) -> daos_types::Result<u64> {
    // Source: local file or DFS object, and its size.
    enum Reader {
        Posix(std::fs::File),
        Daos(Arc<Dfs>, DfsObj),
    }
    let (mut reader, size) = match src {
        Side::Posix(base) => {
            let path = if item.rel.is_empty() {
                base.clone()
            } else {
                base.join(&item.rel)
            };
            let file =
                std::fs::File::open(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
            let size = file.metadata().map_err(|e| err(e.to_string()))?.len();
            (Reader::Posix(file), size)
        }
        Side::Daos { dfs, path, .. } => {
            let (parent_rel, name) = split(&item.rel);
            let obj = if item.rel.is_empty() {
                run(client, async |net| dfs.lookup(net, path, 0).await)?
            } else {
                let parent = dfs_dir(client, dfs, cache, path, parent_rel)?;
                run(client, async |net| {
                    dfs.open(
                        net,
                        &parent,
                        name.as_bytes(),
                        mode::S_IFREG,
                        O_RDONLY,
                        0,
                        0,
                        None,
                    )
                    .await
                })?
            };
            let size = run(client, async |net| dfs.get_size(net, &obj).await)?;
            (Reader::Daos(dfs.clone(), obj), size)
        }
    };
    enum Writer {
        Posix(std::fs::File, PathBuf),
        Daos(Arc<Dfs>, DfsObj),
    }
    let mut writer = match dst {
        Side::Posix(base) => {
            let path = if item.rel.is_empty() && !base.is_dir() {
                base.clone()
            } else {
                base.join(&item.rel)
            };
            let file = std::fs::File::create(&path)
                .map_err(|e| err(format!("{}: {e}", path.display())))?;
            Writer::Posix(file, path)
        }
        Side::Daos { dfs, path, .. } => {
            let (parent_rel, name) = split(&item.rel);
            let parent = dfs_dir(client, dfs, cache, path, parent_rel)?;
            let obj = run(client, async |net| {
                dfs.open(
                    net,
                    &parent,
                    name.as_bytes(),
                    mode::S_IFREG | item.mode,
                    O_CREAT | O_TRUNC | O_RDWR,
                    0,
                    0,
                    None,
                )
                .await
            })?;
            Writer::Daos(dfs.clone(), obj)
        }
    };
    let mut offset = 0u64;
    while offset < size {
        let n = (size - offset).min(PIECE) as usize;
        let mut data = std::mem::take(buf);
        data.resize(n, 0);
        let data = match &mut reader {
            Reader::Posix(file) => {
                file.read_exact(&mut data)
                    .map_err(|e| err(format!("reading {}: {e}", item.rel)))?;
                data
            }
            Reader::Daos(dfs, obj) => {
                let (got, list) = run(client, async |net| {
                    dfs.read_known(net, obj, offset, SgList::from_vec(data), n as u64)
                        .await
                })?;
                if got != n as u64 {
                    return Err(err(format!("short read of {}", item.rel)));
                }
                list.into_vecs()
                    .and_then(|mut v| v.pop())
                    .unwrap_or_default()
            }
        };
        let data = match &mut writer {
            Writer::Posix(file, path) => {
                file.write_all(&data)
                    .map_err(|e| err(format!("writing {}: {e}", path.display())))?;
                data
            }
            Writer::Daos(dfs, obj) => {
                let list = SgList::from_vec(data);
                let (dfs, obj) = (dfs.clone(), obj.clone());
                run(client, async |net| dfs.write(net, &obj, offset, list).await)?;
                Vec::with_capacity(PIECE as usize)
            }
        };
        *buf = data;
        offset += n as u64;
        progress.fetch_add(n as u64, Ordering::Relaxed);
    }
    if let Writer::Posix(file, path) = writer {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(item.mode & 0o7777));
        drop(path);
    }
    Ok(size)
}

/// Copies `src` to `dst` with `jobs` worker threads.
///
/// Errors: the first failure (the copy stops).
pub fn copy(
    client: &Arc<Client>,
    src: &Side,
    dst: &Side,
    jobs: usize,
    show_progress: bool,
) -> daos_types::Result<Summary> {
    let started = Instant::now();
    let items = src.walk(client)?;
    let cache: DirCache = Mutex::new(HashMap::new());
    let single_file = items.len() == 1 && items[0].rel.is_empty();
    if !single_file {
        make_base(client, dst)?;
    }
    let mut summary = Summary::default();
    let mut files = Vec::new();
    for item in &items {
        match &item.kind {
            Kind::Dir => {
                create_dir(client, dst, &cache, &item.rel, item.mode)?;
                summary.dirs += 1;
            }
            Kind::Link(target) => {
                create_link(client, dst, &cache, &item.rel, target)?;
                summary.links += 1;
            }
            Kind::File(size) => files.push((item.clone(), *size)),
        }
    }
    let total: u64 = files
        .iter()
        .map(|(_, s)| if *s == u64::MAX { 0 } else { *s })
        .sum();
    let bar = if show_progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("progress template")
        .progress_chars("=> "),
    );
    let bytes = Arc::new(AtomicU64::new(0));
    let done_files = AtomicU64::new(0);
    let queue = Mutex::new(files.into_iter());
    let failure: Mutex<Option<daos_types::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = Vec::with_capacity(PIECE as usize);
                    while failure.lock().expect("failure").is_none() {
                        let Some((item, _)) = queue.lock().expect("queue").next() else {
                            return;
                        };
                        match copy_file(client, src, dst, &cache, &item, &mut buf, &bytes) {
                            Ok(_) => {
                                done_files.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                failure
                                    .lock()
                                    .expect("failure")
                                    .get_or_insert(e.with_context(format!("copying {}", item.rel)));
                            }
                        }
                    }
                })
            })
            .collect();
        while workers.iter().any(|w| !w.is_finished()) {
            bar.set_position(bytes.load(Ordering::Relaxed));
            bar.set_message(format!("{} files", done_files.load(Ordering::Relaxed)));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure.into_inner().expect("failure") {
        return Err(e);
    }
    summary.files = done_files.load(Ordering::Relaxed);
    summary.bytes = bytes.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// "Successfully copied to DAOS: …" or "… to POSIX: …", as DAOS prints it.
pub fn describe_destination(dst: &Side) -> String {
    match dst {
        Side::Posix(_) => format!("POSIX: {}", dst.describe()),
        Side::Daos { .. } => format!("DAOS: {}", dst.describe()),
    }
}
