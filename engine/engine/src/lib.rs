//! `daos_engine`: the storage server process. One engine runs N targets (one thread each,
//! shared nothing) plus a service context that hosts pool and container metadata.
//!
//! Reading order: [`target`] (a target's thread, state and event loop) → [`obj`] (object I/O
//! handlers: the data path) → [`dtx`] (replicated updates' transactions) → [`service`] (pool and container service, management calls) → [`rsvc`] (the service's Raft replicas) →
//! [`rebuild`] (scan and push after a pool map change) → [`dma`] and [`region`] (bulk buffers,
//! data-file space) → [`run`] (start-up and shutdown).
//!
//! Contexts and addresses: context 0 (the service) listens on `port`, target `i` on
//! `port + 1 + i`; for providers that name endpoints themselves (shm) the names are reported
//! instead. `daos_server` learns them from the line the engine prints when ready.
#![warn(missing_docs)]

pub mod dma;
pub mod dtx;
pub mod obj;
pub mod rebuild;
pub mod region;
pub mod rsvc;
pub mod service;
pub mod target;

use daos_control::config::EngineConfig;
use daos_fabric::{Fabric, NetContext};
use daos_types::{Der, Error, Hlc, Result};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What an engine reports on stdout once it serves requests, as one JSON line after
/// [`READY_PREFIX`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ReadyInfo {
    /// The engine's rank.
    pub rank: u32,
    /// Service endpoint address, hex.
    pub service: String,
    /// Target endpoint addresses, hex, by target index.
    pub targets: Vec<String>,
    /// Process id.
    pub pid: u32,
    /// Incarnation of the engine's SWIM member (0: none), so that `daos_server` acts only on
    /// reports about this life of the engine.
    #[serde(default)]
    pub swim: u64,
}

/// Prefix of the readiness line.
pub const READY_PREFIX: &str = "DAOS_ENGINE_READY ";

/// Hex encoding of fabric addresses.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes [`hex`].
///
/// Errors: `-DER_INVAL` for odd length or non-hex characters.
pub fn unhex(text: &str) -> Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        return Err(Error::new(Der::Inval, "odd-length hex address"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| Error::new(Der::Inval, "bad hex address"))
        })
        .collect()
}

fn uses_ports(provider: &str) -> bool {
    !matches!(
        provider.strip_prefix("ofi+").unwrap_or(provider),
        "shm" | "sm"
    )
}

/// Takes an exclusive lock on the metadata directory so two engines never share it.
fn lock_meta_dir(config: &EngineConfig) -> Result<std::fs::File> {
    std::fs::create_dir_all(&config.meta_dir)
        .map_err(|e| Error::from(e).with_context(config.meta_dir.display()))?;
    let path = config.meta_dir.join("engine.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::from(e).with_context(path.display()))?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(Error::new(
            Der::Busy,
            format!("another engine is using {}", config.meta_dir.display()),
        ));
    }
    Ok(file)
}

/// Runs an engine until `stop` is set. `on_ready` is called once every context serves.
///
/// Errors: start-up failures (fabric, storage, corrupted metadata) with their DER codes.
pub fn run(
    config: EngineConfig,
    stop: Arc<AtomicBool>,
    on_ready: impl FnOnce(ReadyInfo),
) -> Result<()> {
    let _lock = lock_meta_dir(&config)?;
    if config.data_files.is_empty() {
        return Err(Error::new(Der::Inval, "engine has no data file"));
    }
    let node = (!config.node.is_empty()).then_some(config.node.as_str());
    let fabric = Fabric::open(&config.provider, node)?;
    let ports = uses_ports(&config.provider);
    let port = |i: u32| ports.then(|| (u32::from(config.port) + i).to_string());
    let service_net = NetContext::open(&fabric, node, port(0).as_deref())?;
    let hlc = Arc::new(Hlc::new());
    let dma_slots = std::env::var("DAOS_RS_DMA_SLOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32usize);
    let mut mailboxes = Vec::new();
    let mut threads = Vec::new();
    let mut target_addrs = Vec::new();
    for index in 0..config.targets {
        let net = NetContext::open(&fabric, node, port(1 + index).as_deref())?;
        target_addrs.push(hex(net.name()));
        let (mailbox, inbox) = target::Mailbox::new()?;
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let setup = target::TargetSetup {
            index,
            rank: config.rank,
            net,
            hlc: hlc.clone(),
            region: region::DataRegion::for_target(&config.data_files, index, config.targets),
            meta_dir: config.meta_dir.clone(),
            scm_bytes: config.scm_bytes / u64::from(config.targets),
            dma_slots,
            mailbox: mailbox.clone(),
            inbox,
            ready: ready_tx,
        };
        let thread = std::thread::Builder::new()
            .name(format!("tgt-{index}"))
            .spawn(move || target::run(setup))
            .map_err(|e| Error::from(e).with_context("starting target thread"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err.with_context(format!("target {index}"))),
            Err(_) => {
                return Err(Error::new(
                    Der::Misc,
                    format!("target {index} died while starting"),
                ))
            }
        }
        mailboxes.push(mailbox);
        threads.push(thread);
    }
    let service =
        service::Service::new(config.rank, config.meta_dir.clone(), hlc, mailboxes.clone())?;
    let swim = start_swim(&config)?;
    on_ready(ReadyInfo {
        rank: config.rank,
        service: hex(service_net.name()),
        targets: target_addrs,
        pid: std::process::id(),
        swim: swim.as_ref().map_or(0, |s| s.id().incarnation),
    });
    tracing::info!(
        "engine rank {} ready with {} targets",
        config.rank,
        config.targets
    );
    service::run(service_net, service, stop);
    tracing::info!("engine rank {} stopping", config.rank);
    for mailbox in &mailboxes {
        mailbox.send(target::TargetMsg::Shutdown);
    }
    for thread in threads {
        let _ = thread.join();
    }
    drop(swim);
    Ok(())
}

/// Joins the system's SWIM cluster through `config.swim_seed`, as rank `config.rank`, on UDP
/// at the engine's fabric address and port (`127.0.0.1` for providers without one). The
/// engine only answers probes and gossips; `daos_server` acts on what SWIM concludes.
///
/// Errors: `-DER_INVAL` for a node that is not an IP address; the socket's error, mapped from
/// its errno (a port already taken, say).
fn start_swim(config: &EngineConfig) -> Result<Option<daos_swim::Swim>> {
    let Some(seed) = config.swim_seed else {
        return Ok(None);
    };
    let addr = daos_swim::member_addr(&config.node, config.port)?;
    let me = daos_swim::SwimId {
        rank: config.rank,
        addr,
        incarnation: daos_swim::incarnation_now(),
    };
    daos_swim::Swim::start(me, Some(seed), config.swim_members, |event| {
        tracing::debug!("membership: {event:?}");
    })
    .map(Some)
    .map_err(|e| Error::from(e).with_context(format!("SWIM member on UDP {addr}")))
}
