//! Real libfabric over loopback: calls, replies, bulk RMA both ways, timeouts, idle waiting.

use daos_fabric::{block_on, rpc, Access, Fabric, FiAddr, NetContext, RmaBuffer, REQUEST_TAG};
use daos_types::Der;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A registered heap buffer for tests.
struct Registered {
    data: Vec<u8>,
    mr: daos_fabric::MemoryRegion,
}

// SAFETY: data's heap allocation never moves or shrinks while `mr` covers it.
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

fn registered(fabric: &Arc<Fabric>, data: Vec<u8>) -> Registered {
    // SAFETY: the region is dropped with the buffer (field order: data outlives mr's use).
    let mr = unsafe {
        fabric.register_raw(
            data.as_ptr(),
            data.len(),
            Access::local() | Access::remote_read() | Access::remote_write(),
        )
    }
    .unwrap();
    Registered { data, mr }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Server: echoes requests; a request of "PULL <len>" pulls bulk from the client, then
/// pushes it back incremented by one.
fn serve(ctx: Arc<NetContext>, stop: Arc<AtomicBool>) {
    ctx.enable_requests(8, 4096);
    let fabric = ctx.fabric().clone();
    while !stop.load(Ordering::Relaxed) {
        ctx.progress();
        let Some(request) = ctx.take_request() else {
            ctx.wait(Some(Duration::from_millis(20)));
            continue;
        };
        let data = request.data;
        let addr_len = data[0] as usize;
        let peer = ctx.resolve(&data[1..1 + addr_len]).unwrap();
        let rpc_id = u64::from_le_bytes(data[1 + addr_len..9 + addr_len].try_into().unwrap());
        let body = data[9 + addr_len..].to_vec();
        let reply = if body.starts_with(b"PULL") {
            let remote = daos_fabric::RemoteRegion {
                addr: u64::from_le_bytes(body[4..12].try_into().unwrap()),
                len: u64::from_le_bytes(body[12..20].try_into().unwrap()),
                key: u64::from_le_bytes(body[20..28].try_into().unwrap()),
            };
            let local = registered(&fabric, vec![0u8; remote.len as usize]);
            let mut local = block_on(&ctx, rpc::rma_read(&ctx, local, 0, peer, remote)).unwrap();
            for b in &mut local.data {
                *b = b.wrapping_add(1);
            }
            block_on(&ctx, rpc::rma_write(&ctx, local, 0, peer, remote)).unwrap();
            b"PULLED".to_vec()
        } else {
            body
        };
        block_on(&ctx, rpc::send(&ctx, peer, rpc_id, reply)).unwrap();
    }
}

fn request(client: &NetContext, rpc_id: u64, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![client.name().len() as u8];
    msg.extend_from_slice(client.name());
    msg.extend_from_slice(&rpc_id.to_le_bytes());
    msg.extend_from_slice(body);
    msg
}

#[test]
fn calls_and_bulk_over_tcp() {
    let port = free_port().to_string();
    let fabric = Fabric::open("ofi+tcp", Some("127.0.0.1")).unwrap();
    let server = NetContext::open(&fabric, Some("127.0.0.1"), Some(&port)).unwrap();
    let server_name = server.name().to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || serve(server, stop))
    };

    let client = NetContext::open(&fabric, Some("127.0.0.1"), None).unwrap();
    let dest = client.resolve(&server_name).unwrap();
    for i in 0..100u32 {
        let rpc_id = client.next_rpc_id();
        let body = format!("hello {i}");
        let reply = block_on(
            &client,
            rpc::call(
                &client,
                dest,
                rpc_id,
                request(&client, rpc_id, body.as_bytes()),
                256,
                Duration::from_secs(10),
            ),
        )
        .unwrap();
        assert_eq!(reply, body.as_bytes());
    }

    // Bulk: 3 MiB pulled by the server and pushed back incremented.
    let data: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    let buf = registered(&fabric, data.clone());
    let remote = buf.mr.remote(0, buf.data.len());
    let mut body = b"PULL".to_vec();
    body.extend_from_slice(&remote.addr.to_le_bytes());
    body.extend_from_slice(&remote.len.to_le_bytes());
    body.extend_from_slice(&remote.key.to_le_bytes());
    let rpc_id = client.next_rpc_id();
    let reply = block_on(
        &client,
        rpc::call(
            &client,
            dest,
            rpc_id,
            request(&client, rpc_id, &body),
            64,
            Duration::from_secs(30),
        ),
    )
    .unwrap();
    assert_eq!(reply, b"PULLED");
    assert!(buf
        .data
        .iter()
        .zip(&data)
        .all(|(got, sent)| *got == sent.wrapping_add(1)));

    // A reply larger than the posted buffer is reported, not silently cut.
    let rpc_id = client.next_rpc_id();
    let err = block_on(
        &client,
        rpc::call(
            &client,
            dest,
            rpc_id,
            request(&client, rpc_id, &[7u8; 600]),
            100,
            Duration::from_secs(5),
        ),
    )
    .unwrap_err();
    assert_eq!(err.der(), Der::Overflow);

    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
}

#[test]
fn unanswered_call_times_out() {
    let fabric = Fabric::open("ofi+tcp", Some("127.0.0.1")).unwrap();
    let port = free_port().to_string();
    // A server endpoint that never posts request buffers and never replies.
    let silent = NetContext::open(&fabric, Some("127.0.0.1"), Some(&port)).unwrap();
    let client = NetContext::open(&fabric, Some("127.0.0.1"), None).unwrap();
    let dest = client.resolve(silent.name()).unwrap();
    let started = Instant::now();
    let rpc_id = client.next_rpc_id();
    let err = block_on(
        &client,
        rpc::call(
            &client,
            dest,
            rpc_id,
            request(&client, rpc_id, b"anyone?"),
            64,
            Duration::from_millis(300),
        ),
    )
    .unwrap_err();
    assert_eq!(err.der(), Der::Timedout);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let _ = (silent, REQUEST_TAG, FiAddr(0));
}

/// Drives `ctx` until nothing it posted is in flight (or fails after a second).
fn settle(ctx: &Arc<NetContext>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while ctx.in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} operations never completed",
            ctx.in_flight()
        );
        ctx.progress();
    }
}

#[test]
fn in_flight_counts_what_is_posted_until_it_completes() {
    // Waiters spin instead of blocking while this count is non-zero, so it must rise with
    // every posted operation and fall with its completion, cancelled ones included.
    let fabric = Fabric::open("ofi+tcp", Some("127.0.0.1")).unwrap();
    let ctx = NetContext::open(&fabric, Some("127.0.0.1"), None).unwrap();
    assert_eq!(ctx.in_flight(), 0);
    let first = ctx.post_recv(vec![0u8; 64], 17).unwrap();
    let second = ctx.post_recv(vec![0u8; 64], 18).unwrap();
    assert_eq!(ctx.in_flight(), 2);
    first.cancel();
    second.cancel();
    settle(&ctx);
    let (done, _) = block_on(&ctx, first);
    assert_eq!(done.err, libc::ECANCELED);
    drop(second);
    // Request buffers are not counted: an idle server must be able to block.
    ctx.enable_requests(4, 1024);
    ctx.progress();
    assert_eq!(ctx.in_flight(), 0);
}

/// Process CPU time (user + system), to check that waiting does not spin.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct for RUSAGE_THREAD.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr());
        usage.assume_init()
    };
    let to = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    to(usage.ru_utime) + to(usage.ru_stime)
}

#[test]
fn idle_wait_uses_no_cpu() {
    let fabric = Fabric::open("ofi+tcp", Some("127.0.0.1")).unwrap();
    let ctx = NetContext::open(&fabric, Some("127.0.0.1"), None).unwrap();
    ctx.enable_requests(4, 1024);
    let before = cpu_time();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        ctx.progress();
        ctx.wait(Some(Duration::from_millis(100)));
    }
    let used = cpu_time() - before;
    assert!(
        used < Duration::from_millis(50),
        "idle waiting burned {used:?} of CPU in 500 ms"
    );
}
