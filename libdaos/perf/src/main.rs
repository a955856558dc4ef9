//! `daos_perf`: object I/O figures against a running system, each beside a baseline measured
//! in the same run (like DAOS's `daos_perf`).
//!
//! daos-rs: 1 MiB update bandwidth into fresh space (a new pool) and into reused space (after
//! the pool has written more than its whole blob, so aggregation has reclaimed space), 1 MiB
//! fetch bandwidth, 4 KiB update/fetch IOPS at queue depth 1 and 16 (through an event queue),
//! and 4 KiB fetch latency p50/p99.
//! Baselines: raw libfabric with the same provider (a peer process; 4 KiB round trip, 1 MiB
//! RMA both ways), and raw `O_DIRECT` on the file system the engine's data lives on, over a
//! file as large as a target's blob (1 MiB and 4 KiB, writes with `O_DSYNC` since the engine
//! acknowledges durable writes only, and into freshly reserved space for the fresh-space row).
//! Each disk baseline runs right before and right after the figure it is compared with, with
//! a pause between runs, and the mean is reported: the devices seen here drift by tens of
//! percent over minutes.

use clap::Parser;
use daos_client::obj::OO_RW;
use daos_client::{Client, Container, EventQueue, Iod, NetContext, Object, Pool, Recx, SgList};
use daos_fabric::{rpc, Access, Fabric, MemoryRegion, RemoteRegion, RmaBuffer};
use daos_types::oclass::name_to_id;
use daos_types::prop::{self, PropValue, Props};
use daos_types::{ObjectId, ObjectType, Result};
use hdrhistogram::Histogram;
use std::ffi::c_void;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Measure object I/O and its baselines.
#[derive(Parser)]
#[command(name = "daos_perf", version)]
struct Args {
    /// Pool to use (label or UUID); a temporary container is created in it.
    #[arg(long)]
    pool: Option<String>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Directory on the file system to measure raw O_DIRECT on (the engine's data file system).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Provider for the raw libfabric baseline (default: the system's).
    #[arg(long)]
    provider: Option<String>,
    /// Object class of the test objects.
    #[arg(long, default_value = "SX")]
    oclass: String,
    /// Rebuild benchmark instead: write `--rebuild-bytes` of 1 MiB values in `RP_2G1`
    /// objects, exclude this rank with `dmg pool exclude`, and time the rebuild that
    /// `dmg pool query` reports, beside the raw 1 MiB O_DIRECT+O_DSYNC write rate.
    #[arg(long)]
    rebuild_rank: Option<u32>,
    /// Bytes written before the rebuild benchmark excludes a rank.
    #[arg(long, default_value_t = 1 << 30)]
    rebuild_bytes: u64,
    /// Class comparison instead: 1 MiB update and fetch bandwidth (QD8) of each listed
    /// object class (comma-separated), beside the first one measured before and after the
    /// others, e.g. `S1,RP_2G1,EC_4P2G1`.
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Internal: serve as the raw libfabric peer.
    #[arg(long, hide = true)]
    fabric_peer: Option<String>,
}

const KIB4: usize = 4096;
const MIB: usize = 1 << 20;

fn rate(ops: u64, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}

struct Figures {
    rows: Vec<(String, String, String, String)>,
}

impl Figures {
    fn add(&mut self, test: &str, ours: String, baseline: String, ratio: String) {
        println!("{test:<34} {ours:>14}   {baseline:<44} {ratio}");
        self.rows.push((test.into(), ours, baseline, ratio));
    }
}

fn gbps(bytes_per_sec: f64) -> String {
    format!("{:.2} GB/s", bytes_per_sec / 1e9)
}

fn format_bytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

fn kiops(ops_per_sec: f64) -> String {
    format!("{:.1} kIOPS", ops_per_sec / 1e3)
}

// ------------------------------------------------------------------ daos-rs measurements

/// Runs `make_op(i, slot)` with `depth` operations in flight on an event queue for `seconds`.
/// An operation may use its slot's buffer: a slot is reused only after its operation is done.
fn eq_run<F>(
    eq: &EventQueue,
    depth: usize,
    seconds: f64,
    make_op: impl Fn(u64, usize) -> F,
) -> Result<(u64, Duration, Histogram<u64>)>
where
    F: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let errors: Arc<Mutex<Option<daos_types::Error>>> = Arc::new(Mutex::new(None));
    let started_at: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(vec![Instant::now(); depth]));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut issued = 0u64;
    let mut done = 0u64;
    let launch = |slot: usize, i: u64| {
        started_at.lock().expect("slots")[slot] = Instant::now();
        let (errors, started_at, latencies) =
            (errors.clone(), started_at.clone(), latencies.clone());
        eq.launch(slot as u64, make_op(i, slot), move |outcome: Result<()>| {
            let began = started_at.lock().expect("slots")[slot];
            let _ = latencies
                .lock()
                .expect("latencies")
                .record(began.elapsed().as_nanos() as u64);
            if let Err(e) = outcome {
                errors.lock().expect("errors").get_or_insert(e);
            }
        });
    };
    for slot in 0..depth {
        launch(slot, issued);
        issued += 1;
    }
    while eq.in_flight() > 0 {
        for token in eq.poll(true, None, depth) {
            done += 1;
            if Instant::now() < deadline {
                launch(token as usize, issued);
                issued += 1;
            }
        }
        if let Some(e) = errors.lock().expect("errors").take() {
            return Err(e);
        }
    }
    let elapsed = start.elapsed();
    let histogram = latencies.lock().expect("latencies").clone();
    Ok((done, elapsed, histogram))
}

struct Target {
    client: Arc<Client>,
    pool: Arc<Pool>,
    cont: Arc<Container>,
    label: String,
}

fn open_target(pool_id: &str) -> Result<Target> {
    let client = Client::connect()?;
    let pool = client
        .run(async |net| Pool::connect(&client, net, pool_id, daos_client::pool::PC_RW).await)?;
    let label = format!("daos_perf-{}", std::process::id());
    let mut props = Props::new();
    props.set(prop::CO_LABEL, PropValue::Text(label.clone()));
    client.run(async |net| Container::create(&pool, net, None, props).await)?;
    let cont = client
        .run(async |net| Container::open(&pool, net, &label, daos_client::cont::COO_RW).await)?;
    Ok(Target {
        client,
        pool,
        cont,
        label,
    })
}

fn close_target(t: Target) -> Result<()> {
    t.client.run(async |net| t.cont.close(net).await)?;
    t.client
        .run(async |net| Container::destroy(&t.pool, net, &t.label, true).await)?;
    t.client.run(async |net| t.pool.disconnect(net).await)
}

fn dkey(i: u64) -> Vec<u8> {
    i.to_le_bytes().to_vec()
}

/// Per-slot buffers for in-flight operations, reused as operations complete (as an
/// application would), so the measurement does not time allocation.
struct Slots {
    buffers: Vec<Vec<u8>>,
}

impl Slots {
    fn new(depth: usize, size: usize) -> Slots {
        Slots {
            buffers: (0..depth).map(|i| vec![(i % 251) as u8; size]).collect(),
        }
    }

    fn list(&self, slot: usize) -> SgList {
        let buf = &self.buffers[slot];
        // SAFETY: `eq_run` reuses a slot only after its operation completed, and every
        // measurement finishes (all operations polled out) before `Slots` is dropped.
        unsafe {
            SgList::from_raw(vec![daos_client::IoVec {
                ptr: buf.as_ptr() as *mut u8,
                len: buf.len(),
            }])
        }
    }
}

fn update_op(
    obj: &Object,
    net: &Arc<NetContext>,
    i: u64,
    size: usize,
    keys: u64,
    data: SgList,
) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
    let (obj, net) = (obj.clone(), net.clone());
    async move {
        let iods = [Iod::array(
            b"a".to_vec(),
            1,
            vec![Recx {
                idx: 0,
                nr: size as u64,
            }],
        )];
        obj.update(&net, 0, &dkey(i % keys), &iods, vec![data])
            .await
            .map(drop)
    }
}

fn fetch_op(
    obj: &Object,
    net: &Arc<NetContext>,
    i: u64,
    size: usize,
    keys: u64,
    buf: SgList,
) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
    let (obj, net) = (obj.clone(), net.clone());
    async move {
        let iods = [Iod::array(
            b"a".to_vec(),
            1,
            vec![Recx {
                idx: 0,
                nr: size as u64,
            }],
        )];
        obj.fetch(&net, 0, 0, &dkey(i % keys), &iods, vec![buf])
            .await
            .map(drop)
    }
}

struct Ours {
    mib_update_fresh: f64,
    mib_update: f64,
    /// Bytes written before the reused-space measurement (at least the pool's blob space).
    cycled: u64,
    mib_fetch: f64,
    update_qd1: f64,
    update_qd16: f64,
    fetch_qd1: f64,
    fetch_qd16: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Runs `ours` between two runs of `baseline` and returns its result with the mean of the
/// two baseline figures: a shared or virtual device drifts by tens of percent over minutes, so
/// a baseline is only comparable when measured right beside its subject. A pause before each
/// run lets the device (or a hypervisor's write-back cache) settle, so no run pays for the
/// previous one's writes.
fn bracket<T>(
    baseline: impl Fn() -> Result<f64>,
    ours: impl FnOnce() -> Result<T>,
) -> Result<(T, f64)> {
    let settle = || std::thread::sleep(SETTLE);
    settle();
    let before = baseline()?;
    settle();
    let value = ours()?;
    settle();
    let after = baseline()?;
    Ok((value, (before + after) / 2.0))
}

/// Pause between measurements (see [`bracket`]).
const SETTLE: Duration = Duration::from_secs(1);

fn measure_daos(
    pool: &str,
    oclass: &str,
    seconds: f64,
    dir: &std::path::Path,
) -> Result<(Ours, DiskFigures)> {
    let t = open_target(pool)?;
    let class = name_to_id(oclass);
    let oid = t
        .cont
        .generate_oid(ObjectId::new(1, 0), ObjectType::DkeyUint64, class)?;
    let obj = Object::open(&t.cont, oid, OO_RW)?;
    let eq = EventQueue::new(&t.client)?;
    let net = eq.net().clone();
    let keys_big = 256u64;
    let keys_small = 4096u64;
    let big = Slots::new(8, MIB);
    let small = Slots::new(16, KIB4);
    let blob_bytes = t
        .client
        .run(async |net| t.pool.query(net).await)?
        .nvme
        .total;
    let mib = MIB as f64;
    // The raw baseline spreads its I/O over as much space as one target's blob (within
    // 1..8 GiB), as the engine does: a small file would be served from the hypervisor's or
    // the device's cache and flatter the baseline.
    let disk = Disk::new(dir, blob_bytes.clamp(1 << 30, 8 << 30), seconds)?;
    // First: updates into space the pool has never written (the file system converts its
    // reserved blocks on first write). Overwritten versions are not reclaimed yet
    // (aggregation waits), so every update here lands in fresh space.
    let ((n, e, _), write_mib_fresh_dsync) = bracket(
        || disk.fresh(),
        || {
            eq_run(&eq, 8, seconds, |i, s| {
                update_op(&obj, &net, i, MIB, keys_big, big.list(s))
            })
        },
    )?;
    let mib_update_fresh = rate(n, e) * mib;
    // Then keep overwriting the same 256 MiB until the pool has written more than its whole
    // blob, so aggregation has had to reclaim space and the engine reuses it: the steady state
    // of a long-running engine.
    let mut cycled = n * MIB as u64;
    let give_up = Instant::now() + Duration::from_secs(120);
    while cycled < blob_bytes + blob_bytes / 8 && Instant::now() < give_up {
        let (n, _, _) = eq_run(&eq, 8, 1.0, |i, s| {
            update_op(&obj, &net, i, MIB, keys_big, big.list(s))
        })?;
        cycled += n * MIB as u64;
    }
    let ((n, e, _), write_mib_dsync) = bracket(
        || Ok(disk.run(MIB, 8, true, true)? * mib),
        || {
            eq_run(&eq, 8, seconds, |i, s| {
                update_op(&obj, &net, i, MIB, keys_big, big.list(s))
            })
        },
    )?;
    let mib_update = rate(n, e) * mib;
    let ((n, e, _), read_mib) = bracket(
        || Ok(disk.run(MIB, 8, false, false)? * mib),
        || {
            eq_run(&eq, 8, seconds, |i, s| {
                fetch_op(&obj, &net, i, MIB, keys_big.min(n), big.list(s))
            })
        },
    )?;
    let mib_fetch = rate(n, e) * mib;
    let ((n, e, _), write_4k_qd1_dsync) = bracket(
        || disk.run(KIB4, 1, true, true),
        || {
            eq_run(&eq, 1, seconds, |i, s| {
                update_op(&obj, &net, i, KIB4, keys_small, small.list(s))
            })
        },
    )?;
    let update_qd1 = rate(n, e);
    let ((n16, e16, _), write_4k_qd16_dsync) = bracket(
        || disk.run(KIB4, 16, true, true),
        || {
            eq_run(&eq, 16, seconds, |i, s| {
                update_op(&obj, &net, i, KIB4, keys_small, small.list(s))
            })
        },
    )?;
    let update_qd16 = rate(n16, e16);
    let written = keys_small.min(n + n16);
    let (n, e, latency) = eq_run(&eq, 1, seconds, |i, s| {
        fetch_op(&obj, &net, i, KIB4, written, small.list(s))
    })?;
    let fetch_qd1 = rate(n, e);
    let ((n, e, _), read_4k_qd16) = bracket(
        || disk.run(KIB4, 16, false, false),
        || {
            eq_run(&eq, 16, seconds, |i, s| {
                fetch_op(&obj, &net, i, KIB4, written, small.list(s))
            })
        },
    )?;
    let fetch_qd16 = rate(n, e);
    drop(eq);
    close_target(t)?;
    let ours = Ours {
        mib_update_fresh,
        mib_update,
        cycled,
        mib_fetch,
        update_qd1,
        update_qd16,
        fetch_qd1,
        fetch_qd16,
        p50_us: latency.value_at_quantile(0.5) as f64 / 1e3,
        p99_us: latency.value_at_quantile(0.99) as f64 / 1e3,
    };
    let figures = DiskFigures {
        write_mib_fresh_dsync,
        write_mib: disk.run(MIB, 8, true, false)? * mib,
        write_mib_dsync,
        read_mib,
        write_4k_qd1_dsync,
        write_4k_qd16_dsync,
        read_4k_qd1: disk.run(KIB4, 1, false, false)?,
        read_4k_qd16,
    };
    Ok((ours, figures))
}

// ------------------------------------------------------------------ raw libfabric baseline

struct Registered {
    data: Vec<u8>,
    mr: MemoryRegion,
}

// SAFETY: the Vec's heap buffer never moves or shrinks while `mr` covers it.
unsafe impl RmaBuffer for Registered {
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }
    fn len(&self) -> usize {
        self.data.len()
    }
    fn desc(&self) -> *mut c_void {
        self.mr.desc()
    }
}

fn registered(fabric: &Arc<Fabric>, len: usize) -> Result<Registered> {
    let data = vec![0x5Au8; len];
    // SAFETY: the region is dropped together with the buffer it covers.
    let mr = unsafe {
        fabric.register_raw(
            data.as_ptr(),
            data.len(),
            Access::local() | Access::remote_read() | Access::remote_write(),
        )?
    };
    Ok(Registered { data, mr })
}

const OP_PING: u8 = 1;
const OP_PUSH: u8 = 2;
const OP_PULL: u8 = 3;

/// The peer: answers pings with 4 KiB, and pushes or pulls 1 MiB by RMA before replying.
fn fabric_peer(spec: &str) -> Result<()> {
    let (provider, node) = spec.split_once('@').unwrap_or((spec, ""));
    let node = (!node.is_empty()).then_some(node);
    let fabric = Fabric::open(provider, node)?;
    let net = NetContext::open(&fabric, node, None)?;
    net.enable_requests(64, 4096);
    println!(
        "{}",
        net.name()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    std::io::stdout().flush().ok();
    let mut buffers: Vec<Registered> = (0..16)
        .map(|_| registered(&fabric, MIB))
        .collect::<Result<_>>()?;
    let mut exec: daos_fabric::Executor<dyn std::future::Future<Output = ()>> =
        daos_fabric::Executor::new();
    let idle_limit = Duration::from_secs(60);
    let mut last = Instant::now();
    let pool: Arc<Mutex<Vec<Registered>>> = Arc::new(Mutex::new(std::mem::take(&mut buffers)));
    loop {
        let mut busy = net.progress();
        while let Some(req) = net.take_request() {
            busy += 1;
            last = Instant::now();
            let data = req.data;
            if data.len() < 34 {
                return Ok(());
            }
            let addr_len = data[1] as usize;
            let peer = net.resolve(&data[2..2 + addr_len])?;
            let mut d = &data[2 + addr_len..];
            let mut take = |n: usize| {
                let (a, b) = d.split_at(n);
                d = b;
                u64::from_le_bytes(a.try_into().expect("8 bytes"))
            };
            let rpc_id = take(8);
            let remote = RemoteRegion {
                addr: take(8),
                len: take(8),
                key: take(8),
            };
            let (op, net2, pool2) = (data[0], net.clone(), pool.clone());
            exec.spawn(Box::pin(async move {
                let reply = match op {
                    OP_PING => vec![0u8; KIB4],
                    OP_PUSH | OP_PULL => {
                        let buf = pool2
                            .lock()
                            .expect("buffers")
                            .pop()
                            .expect("enough buffers");
                        let outcome = if op == OP_PUSH {
                            rpc::rma_write(&net2, buf, 0, peer, remote).await
                        } else {
                            rpc::rma_read(&net2, buf, 0, peer, remote).await
                        };
                        if let Ok(buf) = outcome {
                            pool2.lock().expect("buffers").push(buf);
                        }
                        vec![0u8; 8]
                    }
                    _ => vec![],
                };
                let _ = rpc::send(&net2, peer, rpc_id, reply).await;
            }));
        }
        busy += exec.run_ready();
        if busy == 0 {
            if last.elapsed() > idle_limit {
                return Ok(());
            }
            net.wait(Some(Duration::from_millis(100)));
        }
    }
}

struct FabricFigures {
    rtt_p50_us: f64,
    push: f64,
    pull: f64,
}

fn measure_fabric(provider: &str, node: Option<&str>, seconds: f64) -> Result<FabricFigures> {
    let exe = std::env::current_exe().map_err(daos_types::Error::from)?;
    let spec = format!("{provider}@{}", node.unwrap_or(""));
    let mut child = std::process::Command::new(exe)
        .args(["--fabric-peer", &spec])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(daos_types::Error::from)?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .map_err(daos_types::Error::from)?;
    let peer_name: Vec<u8> = (0..line.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line.trim()[i..i + 2], 16).unwrap_or(0))
        .collect();
    let outcome = (|| -> Result<FabricFigures> {
        let fabric = Fabric::open(provider, node)?;
        let net = NetContext::open(&fabric, node, None)?;
        let peer = net.resolve(&peer_name)?;
        let request = |op: u8, rpc_id: u64, remote: RemoteRegion| {
            let mut msg = vec![op, net.name().len() as u8];
            msg.extend_from_slice(net.name());
            for v in [rpc_id, remote.addr, remote.len, remote.key] {
                msg.extend_from_slice(&v.to_le_bytes());
            }
            msg
        };
        // Warm up the connection.
        for _ in 0..100 {
            let id = net.next_rpc_id();
            daos_fabric::block_on(
                &net,
                rpc::call(
                    &net,
                    peer,
                    id,
                    request(
                        OP_PING,
                        id,
                        RemoteRegion {
                            addr: 0,
                            len: 0,
                            key: 0,
                        },
                    ),
                    KIB4,
                    Duration::from_secs(10),
                ),
            )?;
        }
        let mut hist = Histogram::<u64>::new(3).expect("histogram");
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < deadline {
            let id = net.next_rpc_id();
            let began = Instant::now();
            daos_fabric::block_on(
                &net,
                rpc::call(
                    &net,
                    peer,
                    id,
                    request(
                        OP_PING,
                        id,
                        RemoteRegion {
                            addr: 0,
                            len: 0,
                            key: 0,
                        },
                    ),
                    KIB4,
                    Duration::from_secs(10),
                ),
            )?;
            let _ = hist.record(began.elapsed().as_nanos() as u64);
        }
        let bulk = |op: u8| -> Result<f64> {
            let buffers: Vec<Registered> = (0..8)
                .map(|_| registered(&fabric, MIB))
                .collect::<Result<_>>()?;
            let remotes: Vec<RemoteRegion> = buffers.iter().map(|b| b.mr.remote(0, MIB)).collect();
            let done = AtomicU64::new(0);
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let start = Instant::now();
            let calls = remotes.iter().map(|remote| {
                let (net, done) = (&net, &done);
                async move {
                    while Instant::now() < deadline {
                        let id = net.next_rpc_id();
                        rpc::call(
                            net,
                            peer,
                            id,
                            request(op, id, *remote),
                            64,
                            Duration::from_secs(10),
                        )
                        .await?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<(), daos_types::Error>(())
                }
            });
            daos_fabric::block_on(&net, futures::future::try_join_all(calls))?;
            drop(buffers);
            Ok(rate(done.load(Ordering::Relaxed), start.elapsed()) * MIB as f64)
        };
        let push = bulk(OP_PUSH)?;
        let pull = bulk(OP_PULL)?;
        Ok(FabricFigures {
            rtt_p50_us: hist.value_at_quantile(0.5) as f64 / 1e3,
            push,
            pull,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

// ------------------------------------------------------------------ raw O_DIRECT baseline

struct DiskFigures {
    write_mib_fresh_dsync: f64,
    write_mib: f64,
    write_mib_dsync: f64,
    read_mib: f64,
    write_4k_qd1_dsync: f64,
    write_4k_qd16_dsync: f64,
    read_4k_qd1: f64,
    read_4k_qd16: f64,
}

/// `depth` threads doing `block`-byte direct I/O at random aligned offsets for `seconds`, or,
/// if `sequential`, at consecutive offsets until the deadline or the end of the file (each
/// block written once).
#[allow(clippy::too_many_arguments)]
fn disk_run(
    path: &std::path::Path,
    file_size: u64,
    block: usize,
    depth: usize,
    write: bool,
    dsync: bool,
    sequential: bool,
    seconds: f64,
) -> Result<f64> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let mut flags = libc::O_DIRECT;
    if dsync {
        flags |= libc::O_DSYNC;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags)
        .open(path)
        .map_err(daos_types::Error::from)?;
    let ops = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..depth {
            let (file, ops, next) = (&file, &ops, &next);
            scope.spawn(move || {
                let layout = std::alloc::Layout::from_size_align(block, 4096).expect("layout");
                // SAFETY: the layout is non-zero; freed below with the same layout.
                let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
                assert!(!ptr.is_null());
                // SAFETY: ptr is a fresh allocation of `block` bytes owned by this thread.
                let buf = unsafe { std::slice::from_raw_parts_mut(ptr, block) };
                let blocks = file_size / block as u64;
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ t as u64;
                while Instant::now() < deadline {
                    let offset = if sequential {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= blocks {
                            break;
                        }
                        n * block as u64
                    } else {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        (seed % blocks) * block as u64
                    };
                    let ok = if write {
                        file.write_all_at(buf, offset).is_ok()
                    } else {
                        file.read_exact_at(buf, offset).is_ok()
                    };
                    if ok {
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // SAFETY: allocated above with this layout.
                unsafe { std::alloc::dealloc(ptr, layout) };
            });
        }
    });
    Ok(rate(ops.load(Ordering::Relaxed), start.elapsed()))
}

/// A file on the file system under test, written once so later writes are overwrites (as in a
/// warmed-up engine); removed on drop.
struct Disk {
    dir: PathBuf,
    path: PathBuf,
    size: u64,
    seconds: f64,
}

impl Disk {
    fn new(dir: &std::path::Path, size: u64, seconds: f64) -> Result<Disk> {
        let disk = Disk {
            dir: dir.to_path_buf(),
            path: dir.join(format!(".daos_perf-{}.dat", std::process::id())),
            size: size / MIB as u64 * MIB as u64,
            seconds,
        };
        let fill = std::fs::File::create(&disk.path).map_err(daos_types::Error::from)?;
        let chunk = vec![0u8; MIB];
        for i in 0..(disk.size / MIB as u64) {
            use std::os::unix::fs::FileExt;
            fill.write_all_at(&chunk, i * MIB as u64)
                .map_err(daos_types::Error::from)?;
        }
        fill.sync_all().map_err(daos_types::Error::from)?;
        Ok(disk)
    }

    /// Operations per second of `block`-byte direct I/O at queue depth `depth`.
    fn run(&self, block: usize, depth: usize, write: bool, dsync: bool) -> Result<f64> {
        disk_run(
            &self.path,
            self.size,
            block,
            depth,
            write,
            dsync,
            false,
            self.seconds,
        )
    }

    /// Bytes per second of 1 MiB durable writes into reserved, never-written space.
    fn fresh(&self) -> Result<f64> {
        measure_fresh_writes(&self.dir, self.seconds)
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// 1 MiB `O_DIRECT | O_DSYNC` writes, QD8, each into reserved (`fallocate`d) space never
/// written before: what the engine does in a fresh pool, whose blob it reserves at creation.
fn measure_fresh_writes(dir: &std::path::Path, seconds: f64) -> Result<f64> {
    use std::os::unix::io::AsRawFd;
    let path = dir.join(format!(".daos_perf-{}.fresh", std::process::id()));
    let size = 4u64 << 30;
    let outcome = (|| {
        let file = std::fs::File::create(&path).map_err(daos_types::Error::from)?;
        // SAFETY: fallocate on a descriptor we own; no memory is passed.
        if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, size as libc::off_t) } != 0 {
            return Err(daos_types::Error::from(std::io::Error::last_os_error()));
        }
        drop(file);
        Ok(disk_run(&path, size, MIB, 8, true, true, true, seconds)? * MIB as f64)
    })();
    let _ = std::fs::remove_file(&path);
    outcome
}

/// Runs `dmg -j <args>` (the `dmg` next to this program) and returns its `response`.
fn dmg_json(args: &[&str]) -> Result<serde_json::Value> {
    let dmg = std::env::current_exe()
        .map_err(daos_types::Error::from)?
        .with_file_name("dmg");
    let out = std::process::Command::new(&dmg)
        .arg("-j")
        .args(args)
        .output()
        .map_err(|e| daos_types::Error::from(e).with_context(dmg.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| daos_types::Error::new(daos_types::Der::Misc, format!("dmg {args:?}: {e}")))?;
    if value["status"] != 0 {
        return Err(daos_types::Error::new(
            daos_types::Der::Misc,
            format!("dmg {args:?} failed: {value}"),
        ));
    }
    Ok(value["response"].clone())
}

/// The rebuild benchmark (`--rebuild-rank`): bytes rebuilt per second, from the control
/// plane's own account of the job, beside the file system's raw durable write rate.
fn measure_rebuild(
    pool: &str,
    rank: u32,
    bytes: u64,
    seconds: f64,
    dir: &std::path::Path,
) -> Result<()> {
    let t = open_target(pool)?;
    let eq = EventQueue::new(&t.client)?;
    let net = eq.net().clone();
    const PER_OBJECT: u64 = 16;
    let ops = bytes.div_ceil(MIB as u64);
    let objects: Vec<Object> = (0..ops.div_ceil(PER_OBJECT))
        .map(|i| {
            let oid = t.cont.generate_oid(
                ObjectId::new(i + 1, 0),
                ObjectType::DkeyUint64,
                name_to_id("RP_2G1"),
            )?;
            Object::open(&t.cont, oid, OO_RW)
        })
        .collect::<Result<_>>()?;
    let depth = 8;
    let slots = Slots::new(depth, MIB);
    let started = Instant::now();
    let mut issued = 0u64;
    let errors: Arc<Mutex<Option<daos_types::Error>>> = Arc::new(Mutex::new(None));
    let launch = |slot: usize, i: u64| {
        let obj = &objects[(i / PER_OBJECT) as usize];
        let op = update_op(obj, &net, i % PER_OBJECT, MIB, PER_OBJECT, slots.list(slot));
        let errors = errors.clone();
        eq.launch(slot as u64, op, move |outcome: Result<()>| {
            if let Err(e) = outcome {
                errors.lock().expect("errors").get_or_insert(e);
            }
        });
    };
    for slot in 0..depth.min(ops as usize) {
        launch(slot, issued);
        issued += 1;
    }
    while eq.in_flight() > 0 {
        for token in eq.poll(true, None, depth) {
            if issued < ops {
                launch(token as usize, issued);
                issued += 1;
            }
        }
        if let Some(e) = errors.lock().expect("errors").take() {
            return Err(e);
        }
    }
    let written = ops * MIB as u64;
    println!(
        "wrote {} in {} RP_2G1 objects at {} (QD{depth})",
        format_bytes(written),
        objects.len(),
        gbps(written as f64 / started.elapsed().as_secs_f64())
    );
    let before = dmg_json(&["pool", "query", pool])?;
    let version = before["version"].as_u64().unwrap_or(0);
    let rank_arg = rank.to_string();
    dmg_json(&["pool", "exclude", "--rank", &rank_arg, pool])?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    let rebuild = loop {
        let now = dmg_json(&["pool", "query", pool])?;
        let rebuild = now["rebuild"].clone();
        if rebuild["state"] == "failed" {
            return Err(daos_types::Error::new(
                daos_types::Der::Misc,
                format!("rebuild failed: {rebuild}"),
            ));
        }
        if rebuild["state"] == "done" && rebuild["map_version"].as_u64().unwrap_or(0) > version {
            break rebuild;
        }
        if Instant::now() > deadline {
            return Err(daos_types::Error::new(
                daos_types::Der::Timedout,
                "rebuild did not finish",
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let rebuilt = rebuild["bytes"].as_u64().unwrap_or(0);
    let secs = rebuild["seconds"].as_f64().unwrap_or(f64::NAN);
    let ours = rebuilt as f64 / secs;
    // Baseline right after, on the same file system: 1 MiB O_DIRECT+O_DSYNC writes at QD8,
    // what a rebuild's pushes become on the receiving targets.
    let disk = Disk::new(dir, 2 << 30, seconds)?;
    let raw = disk.run(MIB, 8, true, true)? * MIB as f64;
    let read = disk.run(MIB, 8, false, false)? * MIB as f64;
    drop(disk);
    // Where every engine's storage is one file system (as in this benchmark), each rebuilt
    // byte is read from it and written to it again: the two share the device, so no
    // rebuild can move more than 1 / (1/read + 1/write) bytes per second there.
    let ceiling = 1.0 / (1.0 / read + 1.0 / raw);
    println!(
        "{:<34} {:>14}   {:<44} ratio",
        "test", "daos-rs", "baseline (same run)"
    );
    println!(
        "{:<34} {:>14}   {:<44} {:.0}%",
        format!("rebuild, rank {rank} of RP_2G1"),
        gbps(ours),
        format!("O_DIRECT+O_DSYNC 1 MiB write QD8 {}", gbps(raw)),
        100.0 * ours / raw
    );
    println!(
        "{:<34} {:>14}   {:<44} {:.0}%",
        "",
        "",
        format!("O_DIRECT 1 MiB read QD8 {}", gbps(read)),
        100.0 * ours / read
    );
    println!(
        "{:<34} {:>14}   {:<44} {:.0}%",
        "",
        "",
        format!("read+write on one device: 1/(1/r+1/w) {}", gbps(ceiling)),
        100.0 * ours / ceiling
    );
    println!(
        "rebuild: {} in {} object shards ({} records, {} scanned) in {secs:.2} s; aim >= 50% of raw disk write: {}",
        format_bytes(rebuilt),
        rebuild["objects"],
        rebuild["records"],
        rebuild["scanned"],
        if ours >= 0.5 * raw { "met" } else { "NOT met" }
    );
    close_target(t)
}

/// 1 MiB update then fetch bandwidth at QD8 of one object of `class` (user bytes per
/// second), over 64 dkeys.
fn class_bandwidth(
    t: &Target,
    eq: &EventQueue,
    lo: u64,
    class: &str,
    seconds: f64,
) -> Result<(f64, f64)> {
    let id = name_to_id(class);
    if id == daos_types::oclass::OC_UNKNOWN {
        return Err(daos_types::Error::new(
            daos_types::Der::Inval,
            format!("unknown object class {class}"),
        ));
    }
    let oid = t
        .cont
        .generate_oid(ObjectId::new(lo, 0), ObjectType::DkeyUint64, id)?;
    let obj = Object::open(&t.cont, oid, OO_RW)?;
    let net = eq.net().clone();
    let slots = Slots::new(8, MIB);
    let keys = 64u64;
    let (n, e, _) = eq_run(eq, 8, seconds, |i, s| {
        update_op(&obj, &net, i, MIB, keys, slots.list(s))
    })?;
    let update = rate(n, e) * MIB as f64;
    let (n, e, _) = eq_run(eq, 8, seconds, |i, s| {
        fetch_op(&obj, &net, i, MIB, keys, slots.list(s))
    })?;
    Ok((update, rate(n, e) * MIB as f64))
}

/// Prints each class's 1 MiB update and fetch bandwidth beside the first class's, measured
/// before and after all the others (mean of both), with a pause between runs (see
/// [`bracket`]).
fn measure_classes(pool: &str, classes: &[String], seconds: f64) -> Result<()> {
    let t = open_target(pool)?;
    let eq = EventQueue::new(&t.client)?;
    let cell = t
        .cont
        .props()
        .number(prop::CO_EC_CELL_SZ)
        .unwrap_or(prop::EC_CELL_SIZE_DEFAULT);
    println!(
        "daos_perf: pool {pool}, 1 MiB values at QD8, {seconds} s per test, ec_cell_sz {} KiB",
        cell >> 10
    );
    let base = &classes[0];
    let mut results = Vec::new();
    let mut lo = 1;
    let mut run = |class: &str| -> Result<(f64, f64)> {
        std::thread::sleep(SETTLE);
        lo += 1;
        class_bandwidth(&t, &eq, lo, class, seconds)
    };
    let first = run(base)?;
    for class in &classes[1..] {
        results.push((class.clone(), run(class)?));
    }
    let last = run(base)?;
    let (bu, bf) = ((first.0 + last.0) / 2.0, (first.1 + last.1) / 2.0);
    println!(
        "{:<12} {:>12} {:>12}   {:>14} {:>14}",
        "class",
        "update",
        "fetch",
        format!("update/{base}"),
        format!("fetch/{base}")
    );
    println!(
        "{base:<12} {:>12} {:>12}   (runs {} and {}, {} and {})",
        gbps(bu),
        gbps(bf),
        gbps(first.0),
        gbps(last.0),
        gbps(first.1),
        gbps(last.1)
    );
    for (class, (u, f)) in &results {
        println!(
            "{class:<12} {:>12} {:>12}   {:>13.0}% {:>13.0}%",
            gbps(*u),
            gbps(*f),
            100.0 * u / bu,
            100.0 * f / bf
        );
        if class.starts_with("EC_4P2") {
            println!(
                "aim: {class} writes >= 85% of {base}: {}",
                if *u >= 0.85 * bu { "met" } else { "NOT met" }
            );
        }
    }
    drop(eq);
    close_target(t)
}

fn main() {
    let args = Args::parse();
    if let Some(spec) = &args.fabric_peer {
        if let Err(e) = fabric_peer(spec) {
            eprintln!("daos_perf peer: {e}");
            std::process::exit(1);
        }
        return;
    }
    let Some(pool) = args.pool.clone() else {
        eprintln!("daos_perf: --pool <label> is required");
        std::process::exit(2);
    };
    if !args.classes.is_empty() {
        if let Err(e) = measure_classes(&pool, &args.classes, args.seconds) {
            eprintln!("daos_perf: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(rank) = args.rebuild_rank {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        if let Err(e) = measure_rebuild(&pool, rank, args.rebuild_bytes, args.seconds, &dir) {
            eprintln!("daos_perf: {e}");
            std::process::exit(1);
        }
        return;
    }
    let outcome = (|| -> Result<()> {
        let client = Client::connect()?;
        let provider = args
            .provider
            .clone()
            .unwrap_or_else(|| client.attach().provider.clone());
        let node = (!provider.contains("shm")).then_some("127.0.0.1");
        drop(client);
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        println!("daos_perf: pool {pool}, class {}, {} s per test, provider {provider}, O_DIRECT baseline in {}", args.oclass, args.seconds, dir.display());
        println!(
            "{:<34} {:>14}   {:<44} ratio",
            "test", "daos-rs", "baseline (same run)"
        );
        let fab = measure_fabric(&provider, node, args.seconds)?;
        let (ours, disk) = measure_daos(&pool, &args.oclass, args.seconds, &dir)?;
        let mut f = Figures { rows: Vec::new() };
        let fresh_base = fab.pull.min(disk.write_mib_fresh_dsync);
        f.add(
            "1 MiB update, QD8, fresh space",
            gbps(ours.mib_update_fresh),
            format!(
                "min(fabric pull {}, O_DSYNC write to reserved space {})",
                gbps(fab.pull),
                gbps(disk.write_mib_fresh_dsync)
            ),
            format!("{:.0}%", 100.0 * ours.mib_update_fresh / fresh_base),
        );
        let update_base = fab.pull.min(disk.write_mib_dsync);
        f.add(
            "1 MiB update, QD8, reused space",
            gbps(ours.mib_update),
            format!(
                "min(fabric pull {}, O_DIRECT+O_DSYNC write {})",
                gbps(fab.pull),
                gbps(disk.write_mib_dsync)
            ),
            format!("{:.0}%", 100.0 * ours.mib_update / update_base),
        );
        let fetch_base = fab.push.min(disk.read_mib);
        f.add(
            "1 MiB fetch, QD8",
            gbps(ours.mib_fetch),
            format!(
                "min(fabric push {}, O_DIRECT read {})",
                gbps(fab.push),
                gbps(disk.read_mib)
            ),
            format!("{:.0}%", 100.0 * ours.mib_fetch / fetch_base),
        );
        f.add(
            "4 KiB update IOPS, QD1",
            kiops(ours.update_qd1),
            format!(
                "O_DIRECT+O_DSYNC write QD1 {}",
                kiops(disk.write_4k_qd1_dsync)
            ),
            format!("{:.0}%", 100.0 * ours.update_qd1 / disk.write_4k_qd1_dsync),
        );
        f.add(
            "4 KiB update IOPS, QD16",
            kiops(ours.update_qd16),
            format!(
                "O_DIRECT+O_DSYNC write QD16 {}",
                kiops(disk.write_4k_qd16_dsync)
            ),
            format!(
                "{:.0}%",
                100.0 * ours.update_qd16 / disk.write_4k_qd16_dsync
            ),
        );
        f.add(
            "4 KiB fetch IOPS, QD1",
            kiops(ours.fetch_qd1),
            format!("fabric 4 KiB round trip {}", kiops(1e6 / fab.rtt_p50_us)),
            format!("{:.0}%", 100.0 * ours.fetch_qd1 * fab.rtt_p50_us / 1e6),
        );
        f.add(
            "4 KiB fetch IOPS, QD16",
            kiops(ours.fetch_qd16),
            format!("O_DIRECT read QD16 {}", kiops(disk.read_4k_qd16)),
            format!("{:.0}%", 100.0 * ours.fetch_qd16 / disk.read_4k_qd16),
        );
        f.add(
            "4 KiB fetch latency p50 / p99",
            format!("{:.1} / {:.1} us", ours.p50_us, ours.p99_us),
            format!("fabric 4 KiB round trip p50 {:.1} us", fab.rtt_p50_us),
            format!("{:.2}x", ours.p50_us / fab.rtt_p50_us),
        );
        println!(
            "also: O_DIRECT 1 MiB write without O_DSYNC {}, 4 KiB read QD1 {}; {} written before the reused-space run",
            gbps(disk.write_mib),
            kiops(disk.read_4k_qd1),
            format_bytes(ours.cycled),
        );
        println!(
            "aims: 1 MiB >= 80% of the lower baseline: update {} (fresh space {}), fetch {}; 4 KiB fetch p50 <= 2x fabric round trip: {}",
            if ours.mib_update >= 0.8 * update_base { "met" } else { "NOT met" },
            if ours.mib_update_fresh >= 0.8 * fresh_base { "met" } else { "NOT met" },
            if ours.mib_fetch >= 0.8 * fetch_base { "met" } else { "NOT met" },
            if ours.p50_us <= 2.0 * fab.rtt_p50_us { "met" } else { "NOT met" },
        );
        Ok(())
    })();
    if let Err(e) = outcome {
        eprintln!("daos_perf: {e}");
        std::process::exit(1);
    }
}
