//! The daos-rs control plane's shared pieces: configuration files with DAOS's keys, the gRPC
//! protocol between `dmg`/`daos_agent` and `daos_server`, the agent's socket protocol, and
//! default paths.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod paths;
pub mod signals;

/// Generated gRPC types and services (`proto/mgmt.proto`).
#[allow(missing_docs, clippy::all)]
pub mod mgmt {
    tonic::include_proto!("daosrs.mgmt");
}

use daos_types::{Der, Error, Result};

/// Checks a provider name is one daos-rs knows.
///
/// Errors: `-DER_INVAL` naming the accepted forms.
pub fn fabric_provider_check(provider: &str) -> Result<()> {
    let name = provider.strip_prefix("ofi+").unwrap_or(provider);
    match name {
        "tcp" | "tcp;ofi_rxm" | "shm" | "sm" | "verbs" | "verbs;ofi_rxm" | "cxi" | "sockets" => {
            Ok(())
        }
        _ => Err(Error::new(
            Der::Inval,
            format!(
                "unknown provider {provider:?} (expected ofi+tcp, ofi+shm, ofi+verbs or ofi+cxi)"
            ),
        )),
    }
}

/// The IPv4 address of a network interface (`lo` → `127.0.0.1`).
///
/// Errors: `-DER_NONEXIST` if the interface does not exist or has no IPv4 address.
pub fn interface_address(iface: &str) -> Result<String> {
    let addrs = if_addrs::get_if_addrs()
        .map_err(|e| Error::new(Der::Io, format!("listing interfaces: {e}")))?;
    addrs
        .iter()
        .find(|a| a.name == iface && a.ip().is_ipv4())
        .map(|a| a.ip().to_string())
        .ok_or_else(|| {
            Error::new(
                Der::Nonexist,
                format!("network interface {iface:?} has no IPv4 address"),
            )
        })
}

/// Splits `host[:port]`, using `default_port` when absent.
pub fn host_port(entry: &str, default_port: u16) -> (String, u16) {
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => match port.parse() {
            Ok(port) => (host.to_string(), port),
            Err(_) => (entry.to_string(), default_port),
        },
        _ => (entry.to_string(), default_port),
    }
}
