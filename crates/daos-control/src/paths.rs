//! Where things live by default, for a user without root.
//!
//! DAOS uses system paths (`/var/run/daos_agent`, `/var/run/daos_server`, `/mnt/daos`); a
//! newcomer on a laptop has no root, so the embedded defaults use per-user directories:
//! - data: `$DAOS_RS_HOME`, else `$XDG_DATA_HOME/daos-rs`, else `~/.local/share/daos-rs`;
//! - runtime (sockets): `$XDG_RUNTIME_DIR/daos-rs`, else `/tmp/daos-rs-<uid>`.
//!
//! Clients find the agent socket as DAOS clients do: `$DAOS_AGENT_DRPC_DIR`, else
//! `/var/run/daos_agent`, and, when that has no socket, the per-user runtime directory.

use std::path::{Path, PathBuf};

/// Name of the agent's socket file (DAOS's `daos_agent.sock`).
pub const AGENT_SOCKET: &str = "daos_agent.sock";
/// DAOS's default agent runtime directory.
pub const AGENT_DIR_SYSTEM: &str = "/var/run/daos_agent";

fn uid() -> u32 {
    // SAFETY-free alternative to libc::getuid: read it from /proc, which is always readable.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The per-user data directory.
pub fn data_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("DAOS_RS_HOME") {
        return PathBuf::from(home);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return Path::new(&xdg).join("daos-rs");
    }
    match std::env::var_os("HOME") {
        Some(home) => Path::new(&home).join(".local/share/daos-rs"),
        None => PathBuf::from(format!("/tmp/daos-rs-{}-data", uid())),
    }
}

/// The per-user runtime directory (sockets).
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DAOS_RS_RUNTIME_DIR") {
        return PathBuf::from(dir);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(xdg) => Path::new(&xdg).join("daos-rs"),
        None => PathBuf::from(format!("/tmp/daos-rs-{}", uid())),
    }
}

/// The agent's runtime directory when none is configured.
pub fn default_agent_dir() -> PathBuf {
    runtime_dir().join("agent")
}

/// Where a client looks for the agent socket, in order.
pub fn agent_socket_candidates() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("DAOS_AGENT_DRPC_DIR") {
        return vec![Path::new(&dir).join(AGENT_SOCKET)];
    }
    vec![
        Path::new(AGENT_DIR_SYSTEM).join(AGENT_SOCKET),
        default_agent_dir().join(AGENT_SOCKET),
    ]
}
