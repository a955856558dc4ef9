//! Configuration files, with DAOS's keys so a DAOS user's files work unchanged.
//!
//! - `daos_server.yml` ([`ServerConfig`]): `name`, `port`, `provider`, `socket_dir`,
//!   `transport_config`, `mgmt_svc_replicas` (or the older `access_points`), `fault_path`,
//!   `control_log_file`,
//!   and `engines` with `targets`, `fabric_iface`, `fabric_iface_port`, `log_file`, `log_mask`,
//!   `storage` (`class: ram` with `scm_mount`/`scm_size`, `class: file` with
//!   `bdev_list`/`bdev_size`). Keys daos-rs does not use yet are accepted and reported by
//!   [`ServerConfig::unused_keys`], so the server can warn about them.
//! - `daos_agent.yml` ([`AgentConfig`]): `name`, `access_points`, `port`, `runtime_dir`,
//!   `log_file`, `transport_config`.
//! - `daos_control.yml` ([`ControlConfig`], for `dmg`): `name`, `port`, `hostlist`,
//!   `transport_config`.
//!
//! Sizes follow DAOS: `scm_size` and `bdev_size` are in GB (we read them as GiB, 2^30 bytes).

use daos_types::{Der, Error, Result};
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `transport_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct TransportConfig {
    /// Skip TLS between control-plane components.
    #[serde(default)]
    pub allow_insecure: bool,
    /// CA certificate.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// This component's certificate.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// This component's key.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Directory of client certificates (server side).
    #[serde(default)]
    pub client_cert_dir: Option<PathBuf>,
}

impl TransportConfig {
    /// Checks that the transport can be honoured.
    ///
    /// Errors: `-DER_NOTSUPPORTED` when TLS is requested: daos-rs does not implement the
    /// certificate-based control plane yet.
    pub fn check(&self) -> Result<()> {
        if self.allow_insecure {
            Ok(())
        } else {
            Err(Error::new(
                Der::Notsupported,
                "TLS for the control plane is not implemented in daos-rs yet: set transport_config.allow_insecure: true",
            ))
        }
    }
}

/// One `storage` tier of an engine.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct StorageTier {
    /// `ram`, `dcpm`, `file` or `nvme`.
    pub class: String,
    /// Directory for metadata (`ram`/`dcpm`).
    #[serde(default)]
    pub scm_mount: Option<PathBuf>,
    /// Size of the RAM tier, GB.
    #[serde(default)]
    pub scm_size: Option<u64>,
    /// `dcpm` devices (not supported).
    #[serde(default)]
    pub scm_list: Option<Vec<String>>,
    /// Backing files (`file`) or PCI addresses (`nvme`).
    #[serde(default)]
    pub bdev_list: Vec<String>,
    /// Size of each backing file, GB.
    #[serde(default)]
    pub bdev_size: Option<u64>,
    /// Roles (`wal`, `meta`, `data`); accepted, all roles share the file.
    #[serde(default)]
    pub bdev_roles: Option<Vec<String>>,
    /// Keys not used by daos-rs.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One entry of `engines`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct EngineSection {
    /// Target count (one thread each).
    #[serde(default = "default_targets")]
    pub targets: u32,
    /// Network interface to bind (its IPv4 address is used).
    #[serde(default)]
    pub fabric_iface: Option<String>,
    /// First fabric port; contexts use consecutive ports from here.
    #[serde(default)]
    pub fabric_iface_port: Option<u16>,
    /// daos-rs extension, not a DAOS key: run the engine in this named network namespace
    /// (`/var/run/netns/<name>`, as `ip netns add` makes), where `fabric_iface` lives. Tests
    /// use it to put engines behind real interfaces and cut them off (partitions).
    #[serde(default)]
    pub fabric_netns: Option<String>,
    /// Engine log file.
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    /// Engine log level (`ERR`, `WARN`, `INFO`, `DEBUG`).
    #[serde(default)]
    pub log_mask: Option<String>,
    /// Storage tiers.
    #[serde(default)]
    pub storage: Vec<StorageTier>,
    /// Environment for the engine process (`KEY=VALUE`).
    #[serde(default)]
    pub env_vars: Vec<String>,
    /// Keys not used by daos-rs (`nr_xs_helpers`, `first_core`, `pinned_numa_node`…).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

fn default_targets() -> u32 {
    2
}

fn default_name() -> String {
    daos_types::label::SYSTEM_NAME_DEFAULT.to_string()
}

fn default_port() -> u16 {
    10001
}

fn default_provider() -> String {
    "ofi+tcp".to_string()
}

/// `daos_server.yml`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ServerConfig {
    /// System name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Control-plane (gRPC) port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Fabric provider (`ofi+tcp`, `ofi+shm`, `ofi+verbs`, `ofi+cxi`).
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Directory for sockets between server and engines.
    #[serde(default)]
    pub socket_dir: Option<PathBuf>,
    /// TLS settings.
    #[serde(default)]
    pub transport_config: TransportConfig,
    /// Management service replicas (`host[:port]`).
    #[serde(default)]
    pub mgmt_svc_replicas: Vec<String>,
    /// Older name of `mgmt_svc_replicas`.
    #[serde(default)]
    pub access_points: Vec<String>,
    /// This server's fault domain (`/rack1/host2`, say): the domain its engines have in pool
    /// maps, which the shards of one object group never share. Default: the host name.
    #[serde(default)]
    pub fault_path: Option<String>,
    /// Control-plane log file.
    #[serde(default)]
    pub control_log_file: Option<PathBuf>,
    /// Control-plane log level.
    #[serde(default)]
    pub control_log_mask: Option<String>,
    /// Engines to run.
    #[serde(default)]
    pub engines: Vec<EngineSection>,
    /// Keys not used by daos-rs.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl ServerConfig {
    /// Parses YAML text.
    ///
    /// Errors: `-DER_INVAL` with the parser's message and location.
    pub fn from_yaml(text: &str) -> Result<ServerConfig> {
        serde_yaml_ng::from_str(text)
            .map_err(|e| Error::new(Der::Inval, format!("invalid server config: {e}")))
    }

    /// Reads a file. Errors: `-DER_NONEXIST` if missing, `-DER_INVAL` if invalid.
    pub fn load(path: &Path) -> Result<ServerConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from(e).with_context(path.display()))?;
        Self::from_yaml(&text).map_err(|e| e.with_context(path.display()))
    }

    /// Keys present in the file that daos-rs accepts but does not act on, as `section.key`.
    pub fn unused_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.other.keys().cloned().collect();
        for (i, engine) in self.engines.iter().enumerate() {
            keys.extend(engine.other.keys().map(|k| format!("engines[{i}].{k}")));
            for (j, tier) in engine.storage.iter().enumerate() {
                keys.extend(
                    tier.other
                        .keys()
                        .map(|k| format!("engines[{i}].storage[{j}].{k}")),
                );
                if tier.bdev_roles.is_some() {
                    keys.push(format!("engines[{i}].storage[{j}].bdev_roles"));
                }
            }
            if !engine.env_vars.is_empty() {
                // Passed through to the engine process, so not unused.
            }
        }
        if self.control_log_mask.is_some() {
            keys.push("control_log_mask".into());
        }
        keys
    }

    /// The management service replicas, whichever key was used.
    pub fn replicas(&self) -> Vec<String> {
        if self.mgmt_svc_replicas.is_empty() {
            self.access_points.clone()
        } else {
            self.mgmt_svc_replicas.clone()
        }
    }

    /// Checks what daos-rs cannot run.
    ///
    /// Errors: `-DER_INVAL` for an empty engine list, zero targets, a missing or unsupported
    /// storage class; `-DER_NOTSUPPORTED` for TLS.
    pub fn validate(&self) -> Result<()> {
        self.transport_config.check()?;
        if self.engines.is_empty() {
            return Err(Error::new(Der::Inval, "config lists no engines"));
        }
        if self.name.is_empty() || self.name.len() > daos_types::label::SYSTEM_NAME_LEN_MAX {
            return Err(Error::new(
                Der::Inval,
                format!("system name {:?} must be 1-15 characters", self.name),
            ));
        }
        crate::fabric_provider_check(&self.provider)?;
        for (i, engine) in self.engines.iter().enumerate() {
            if engine.targets == 0 || engine.targets > 64 {
                return Err(Error::new(
                    Der::Inval,
                    format!("engines[{i}].targets must be 1-64"),
                ));
            }
            let mut meta = false;
            for tier in &engine.storage {
                match tier.class.as_str() {
                    "ram" => {
                        if tier.scm_mount.is_none() {
                            return Err(Error::new(Der::Inval, format!("engines[{i}]: class ram needs scm_mount")));
                        }
                        meta = true;
                    }
                    "file" => {
                        if tier.bdev_list.is_empty() {
                            return Err(Error::new(Der::Inval, format!("engines[{i}]: class file needs bdev_list")));
                        }
                    }
                    "dcpm" | "nvme" => {
                        return Err(Error::new(
                            Der::Notsupported,
                            format!(
                                "engines[{i}]: storage class {} needs hardware daos-rs cannot drive here (SPDK/PMem); use class ram and class file",
                                tier.class
                            ),
                        ))
                    }
                    other => return Err(Error::new(Der::Inval, format!("engines[{i}]: unknown storage class {other:?}"))),
                }
            }
            if !meta {
                return Err(Error::new(
                    Der::Inval,
                    format!("engines[{i}]: a class ram tier (scm_mount) is required"),
                ));
            }
        }
        let mut ports: Vec<u16> = Vec::new();
        for (i, engine) in self.engines.iter().enumerate() {
            let base = engine.fabric_iface_port.unwrap_or(31416);
            for p in base..=base + engine.targets as u16 {
                if ports.contains(&p) {
                    return Err(Error::new(
                        Der::Inval,
                        format!("engines[{i}]: fabric ports overlap another engine's"),
                    ));
                }
                ports.push(p);
            }
        }
        Ok(())
    }
}

/// `daos_agent.yml`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct AgentConfig {
    /// System name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Servers to ask (`host[:port]`).
    #[serde(default)]
    pub access_points: Vec<String>,
    /// Default port of the access points.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Directory holding `daos_agent.sock`.
    #[serde(default)]
    pub runtime_dir: Option<PathBuf>,
    /// Log file.
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    /// TLS settings.
    #[serde(default)]
    pub transport_config: TransportConfig,
    /// Keys not used by daos-rs.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl AgentConfig {
    /// Reads a file. Errors: `-DER_NONEXIST` if missing, `-DER_INVAL` if invalid.
    pub fn load(path: &Path) -> Result<AgentConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from(e).with_context(path.display()))?;
        serde_yaml_ng::from_str(&text).map_err(|e| {
            Error::new(
                Der::Inval,
                format!("invalid agent config {}: {e}", path.display()),
            )
        })
    }
}

/// `daos_control.yml` (dmg).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ControlConfig {
    /// System name.
    #[serde(default = "default_name")]
    pub name: String,
    /// Default port of the hosts.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Servers to contact (`host[:port]`).
    #[serde(default)]
    pub hostlist: Vec<String>,
    /// TLS settings.
    #[serde(default)]
    pub transport_config: TransportConfig,
    /// Keys not used by daos-rs.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl ControlConfig {
    /// Reads a file. Errors: `-DER_NONEXIST` if missing, `-DER_INVAL` if invalid.
    pub fn load(path: &Path) -> Result<ControlConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::from(e).with_context(path.display()))?;
        serde_yaml_ng::from_str(&text).map_err(|e| {
            Error::new(
                Der::Inval,
                format!("invalid control config {}: {e}", path.display()),
            )
        })
    }
}

/// A data file and the targets that share it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct DataFile {
    /// Path.
    pub path: PathBuf,
    /// Size, bytes.
    pub size: u64,
    /// Whether to reserve the space up front (`false`: sparse).
    pub preallocate: bool,
}

/// What `daos_server` passes to one `daos_engine` (JSON, internal).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct EngineConfig {
    /// The engine's rank.
    pub rank: u32,
    /// System name.
    pub system: String,
    /// Fabric provider (DAOS form).
    pub provider: String,
    /// Address to bind (interface IPv4, or empty for providers that name endpoints).
    pub node: String,
    /// Port of context 0; target `i` uses `port + 1 + i`.
    pub port: u16,
    /// Number of targets.
    pub targets: u32,
    /// Metadata directory (`scm_mount`).
    pub meta_dir: PathBuf,
    /// Data files; target `i` uses file `i % len`, split evenly among its targets.
    pub data_files: Vec<DataFile>,
    /// Metadata budget for the whole engine, bytes.
    pub scm_bytes: u64,
    /// Log file (stderr if absent).
    pub log_file: Option<PathBuf>,
    /// Log level.
    pub log_mask: Option<String>,
    /// Fault domain (host name).
    pub host: String,
    /// UDP address of `daos_server`'s SWIM member, which the engine joins through (none: the
    /// engine runs no failure detection).
    #[serde(default)]
    pub swim_seed: Option<std::net::SocketAddr>,
    /// Members of the SWIM cluster (engines plus the server), which tunes its timing.
    #[serde(default)]
    pub swim_members: u32,
    /// The network namespace `daos_server` starts the engine in (`fabric_netns`).
    #[serde(default)]
    pub netns: Option<String>,
}

/// Rounds a GB figure from a DAOS config to bytes (read as GiB).
pub fn gb(value: u64) -> u64 {
    value << 30
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of DAOS's `utils/config/examples/daos_server_local.yml`, plus keys we ignore.
    const DAOS_LOCAL: &str = r#"
name: daos_server
port: 10001
provider: ofi+tcp
socket_dir: /tmp/daos_server
nr_hugepages: 4096
control_log_mask: INFO
control_log_file: /tmp/daos_server.log
disable_vmd: true
transport_config:
  allow_insecure: true
mgmt_svc_replicas: ['localhost']
engines:
- targets: 1
  nr_xs_helpers: 0
  first_core: 0
  fabric_iface: lo
  fabric_iface_port: 31416
  log_file: /tmp/daos_engine.0.log
  log_mask: INFO
  env_vars:
    - FI_SOCKETS_MAX_CONN_RETRY=1
  storage:
  - class: ram
    scm_mount: /mnt/daos
    scm_size: 8
  - class: file
    bdev_list: [/tmp/daos-bdev]
    bdev_size: 16
"#;

    #[test]
    fn daos_example_parses_and_reports_unused_keys() {
        let config = ServerConfig::from_yaml(DAOS_LOCAL).unwrap();
        config.validate().unwrap();
        assert_eq!(config.engines[0].storage[1].bdev_size, Some(16));
        assert_eq!(config.replicas(), vec!["localhost".to_string()]);
        let unused = config.unused_keys();
        for key in [
            "nr_hugepages",
            "disable_vmd",
            "engines[0].nr_xs_helpers",
            "engines[0].first_core",
        ] {
            assert!(
                unused.iter().any(|k| k == key),
                "{key} missing from {unused:?}"
            );
        }
    }

    #[test]
    fn bad_configs_are_refused_clearly() {
        let err = ServerConfig::from_yaml("engines: 7").unwrap_err();
        assert_eq!(err.der(), Der::Inval);
        let mut config = ServerConfig::from_yaml(DAOS_LOCAL).unwrap();
        config.transport_config.allow_insecure = false;
        assert_eq!(config.validate().unwrap_err().der(), Der::Notsupported);
        let no_scm = DAOS_LOCAL.replace("class: ram", "class: nvme");
        assert_eq!(
            ServerConfig::from_yaml(&no_scm)
                .unwrap()
                .validate()
                .unwrap_err()
                .der(),
            Der::Notsupported
        );
    }
}
