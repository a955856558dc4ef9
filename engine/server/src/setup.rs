//! Turning a `daos_server.yml` (or the embedded default) into engine configurations.

use daos_control::config::{gb, DataFile, EngineConfig, ServerConfig};
use daos_types::{Der, Error, Result};
use std::path::{Path, PathBuf};

/// Default first fabric port, as in DAOS examples.
pub const FABRIC_PORT_DEFAULT: u16 = 31416;

/// Targets of the embedded default: one per CPU, minus one left for clients and the system
/// (at least one, at most 16). Measured on 2 CPUs: one target beats two on every
/// `daos_perf` figure, because spinning targets and the client otherwise share one core.
pub fn default_targets() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    cpus.saturating_sub(1).clamp(1, 16)
}

/// The embedded default configuration: one engine on 127.0.0.1 ([`default_targets`] targets),
/// metadata and a sparse 16 GiB data file under the per-user data directory; no root,
/// hugepages or SPDK.
pub fn default_config(data_dir: &Path, runtime_dir: &Path) -> ServerConfig {
    let yaml = format!(
        r#"
name: daos_server
port: 10001
provider: ofi+tcp
socket_dir: {runtime}/server
transport_config:
  allow_insecure: true
mgmt_svc_replicas: ['localhost:10001']
control_log_file: {data}/daos_server.log
engines:
- targets: {targets}
  fabric_iface: lo
  fabric_iface_port: {port}
  log_file: {data}/daos_engine.0.log
  log_mask: INFO
  storage:
  - class: ram
    scm_mount: {data}/scm0
    scm_size: 4
  - class: file
    bdev_list: [{data}/bdev0.img]
    bdev_size: 16
"#,
        runtime = runtime_dir.display(),
        data = data_dir.display(),
        port = FABRIC_PORT_DEFAULT,
        targets = default_targets(),
    );
    ServerConfig::from_yaml(&yaml).expect("embedded default config is valid")
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The configuration of each engine, by rank (engine index on this host).
///
/// Errors: `-DER_NONEXIST` for an interface without an IPv4 address; `-DER_INVAL` for storage
/// the engine cannot use.
pub fn engine_configs(config: &ServerConfig) -> Result<Vec<EngineConfig>> {
    let host = hostname();
    let uses_ports = !matches!(
        config
            .provider
            .strip_prefix("ofi+")
            .unwrap_or(&config.provider),
        "shm" | "sm"
    );
    let mut out = Vec::new();
    for (i, engine) in config.engines.iter().enumerate() {
        let iface = engine.fabric_iface.as_deref().unwrap_or("lo");
        let node = match (&engine.fabric_netns, uses_ports) {
            (_, false) => String::new(),
            (Some(netns), true) => netns::interface_address(netns, iface)?,
            (None, true) => daos_control::interface_address(iface)?,
        };
        let port = engine
            .fabric_iface_port
            .unwrap_or(FABRIC_PORT_DEFAULT + 1000 * i as u16);
        let ram = engine
            .storage
            .iter()
            .find(|t| t.class == "ram")
            .ok_or_else(|| Error::new(Der::Inval, format!("engines[{i}] has no class ram tier")))?;
        let meta_dir: PathBuf = ram.scm_mount.clone().expect("validated");
        let scm_bytes = gb(ram.scm_size.unwrap_or(4));
        let mut data_files: Vec<DataFile> = Vec::new();
        for tier in engine.storage.iter().filter(|t| t.class == "file") {
            let size = gb(tier.bdev_size.unwrap_or(16));
            for path in &tier.bdev_list {
                data_files.push(DataFile {
                    path: PathBuf::from(path),
                    size,
                    preallocate: false,
                });
            }
        }
        if data_files.is_empty() {
            // A RAM-only engine keeps bulk data in a file on its scm_mount.
            data_files.push(DataFile {
                path: meta_dir.join("daos_ram.bdev"),
                size: scm_bytes,
                preallocate: false,
            });
        }
        out.push(EngineConfig {
            rank: i as u32,
            system: config.name.clone(),
            provider: config.provider.clone(),
            node,
            port,
            targets: engine.targets,
            meta_dir,
            data_files,
            scm_bytes,
            log_file: engine.log_file.clone(),
            log_mask: engine.log_mask.clone(),
            host: host.clone(),
            // Set by daos_server once its own SWIM member is bound.
            swim_seed: None,
            swim_members: config.engines.len() as u32 + 1,
            netns: engine.fabric_netns.clone(),
        });
    }
    Ok(out)
}

/// The directory of the management service's database: beside the first engine's metadata.
pub fn control_dir(configs: &[EngineConfig]) -> PathBuf {
    configs
        .first()
        .map_or_else(|| PathBuf::from("."), |c| c.meta_dir.join("control"))
}

/// The local address the kernel would send from to reach `host` (a UDP socket "connected"
/// to it sends nothing), or `None` when there is no route.
pub fn local_address_towards(host: &str) -> Option<String> {
    let ip: std::net::Ipv4Addr = host.parse().ok()?;
    let socket = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    socket.connect((ip, 9)).ok()?;
    Some(socket.local_addr().ok()?.ip().to_string())
}

/// Named network namespaces (`ip netns`), for engines configured with `fabric_netns`.
pub mod netns {
    use daos_types::{Der, Error, Result};
    use std::os::fd::{AsFd, OwnedFd};

    /// Opens the namespace `name` (`/var/run/netns/<name>`).
    ///
    /// Errors: `-DER_NONEXIST` when there is no such namespace.
    pub fn open(name: &str) -> Result<OwnedFd> {
        let path = format!("/var/run/netns/{name}");
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| Error::new(Der::Nonexist, format!("network namespace {path}: {e}")))
    }

    /// Moves the calling thread into the namespace behind `fd`.
    pub fn enter(fd: &impl AsFd) -> std::io::Result<()> {
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
    }

    /// The IPv4 address of interface `iface` inside namespace `name`, read from a thread
    /// that enters the namespace (a namespace is a per-thread setting).
    ///
    /// Errors: those of [`open`]; `-DER_NONEXIST` for an interface without an IPv4 address.
    pub fn interface_address(name: &str, iface: &str) -> Result<String> {
        let fd = open(name)?;
        let iface = iface.to_string();
        std::thread::spawn(move || {
            enter(&fd).map_err(|e| Error::new(Der::Io, format!("entering a namespace: {e}")))?;
            daos_control::interface_address(&iface)
        })
        .join()
        .map_err(|_| Error::new(Der::Misc, "namespace probe thread panicked"))?
    }
}
