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
    let host = fault_domain(config);
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

/// This server's fault domain: `fault_path` when the config gives one, else the host name.
pub fn fault_domain(config: &ServerConfig) -> String {
    config.fault_path.clone().unwrap_or_else(hostname)
}

/// Where the management service runs, as this server sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// This server runs it: the first of `mgmt_svc_replicas` names one of this host's
    /// addresses and this server's port (or the list is empty).
    Manager,
    /// Another server runs it, at this control address: this one joins its engines there.
    Member(std::net::SocketAddr),
}

/// Decides this server's [`Role`]. Only the first of `mgmt_svc_replicas` runs the management
/// service in daos-rs (DAOS replicates it over all of them by Raft).
///
/// Errors: `-DER_NONEXIST` when the first replica's host name does not resolve.
pub fn role(config: &ServerConfig) -> Result<Role> {
    use std::net::ToSocketAddrs;
    let Some(first) = config.replicas().into_iter().next() else {
        return Ok(Role::Manager);
    };
    let (host, port) = daos_control::host_port(&first, config.port);
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.is_ipv4()))
        .ok_or_else(|| {
            Error::new(
                Der::Nonexist,
                format!("mgmt_svc_replicas: cannot resolve {first:?}"),
            )
        })?;
    // An address is this host's when a socket can be bound to it.
    let local = std::net::UdpSocket::bind((addr.ip(), 0)).is_ok();
    Ok(if local && port == config.port {
        Role::Manager
    } else {
        Role::Member(addr)
    })
}

/// The identity of the engine whose metadata lives in `meta_dir`: a UUID kept in
/// `<meta_dir>/engine.id`, made on first use. The management service gives a joining engine
/// the rank it gave that identity before.
///
/// Errors: `-DER_IO` (or the errno's code) when the file cannot be read or written.
pub fn engine_id(meta_dir: &Path) -> Result<String> {
    let path = meta_dir.join("engine.id");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            daos_types::Uuid::parse_str(id)
                .map_err(|e| Error::new(Der::DfInval, format!("{}: {e}", path.display())))?;
            Ok(id.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = daos_types::Uuid::new_v4().to_string();
            daos_bio::replace_durably(&path, id.as_bytes())?;
            Ok(id)
        }
        Err(e) => Err(Error::from(e).with_context(path.display())),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(port: u16, replicas: &[&str]) -> ServerConfig {
        let mut config = ServerConfig::from_yaml(&format!("port: {port}\nengines: []\n")).unwrap();
        config.mgmt_svc_replicas = replicas.iter().map(|s| s.to_string()).collect();
        config
    }

    #[test]
    fn the_first_replica_on_this_host_and_port_runs_the_management_service() {
        assert_eq!(role(&config(10001, &[])).unwrap(), Role::Manager);
        assert_eq!(
            role(&config(10001, &["127.0.0.1:10001", "10.255.255.1:10001"])).unwrap(),
            Role::Manager
        );
        assert_eq!(role(&config(10001, &["localhost"])).unwrap(), Role::Manager);
        // Another port of this host, or another host: join it.
        assert_eq!(
            role(&config(10002, &["127.0.0.1:10001"])).unwrap(),
            Role::Member("127.0.0.1:10001".parse().unwrap())
        );
        assert_eq!(
            role(&config(10001, &["10.255.255.1"])).unwrap(),
            Role::Member("10.255.255.1:10001".parse().unwrap())
        );
    }

    #[test]
    fn an_engine_keeps_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let id = engine_id(dir.path()).unwrap();
        assert_eq!(engine_id(dir.path()).unwrap(), id);
        std::fs::write(dir.path().join("engine.id"), "garbage").unwrap();
        assert_eq!(engine_id(dir.path()).unwrap_err().der(), Der::DfInval);
    }
}
