//! `daos_agent [-o daos_agent.yml]`.
#![forbid(unsafe_code)]

use clap::Parser;
use daos_control::config::AgentConfig;
use std::path::PathBuf;

/// The daos-rs client-node agent.
#[derive(Parser)]
#[command(name = "daos_agent", version)]
struct Args {
    /// Agent configuration (DAOS's daos_agent.yml keys).
    #[arg(short = 'o', long = "config-path")]
    config: Option<PathBuf>,
    /// Runtime directory for the socket (overrides the config).
    #[arg(short = 's', long = "runtime_dir")]
    runtime_dir: Option<PathBuf>,
    /// Skip TLS (the only mode daos-rs implements).
    #[arg(short = 'i', long)]
    insecure: bool,
    /// Log file.
    #[arg(short = 'l', long = "logfile")]
    log_file: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => match AgentConfig::load(path) {
            Ok(config) => Some(config),
            Err(err) => {
                eprintln!("daos_agent: {err}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    let log_file = args
        .log_file
        .clone()
        .or_else(|| config.as_ref().and_then(|c| c.log_file.clone()));
    let filter = tracing_subscriber::EnvFilter::try_from_env("DAOS_RS_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match log_file.and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    }) {
        Some(file) => builder.with_writer(std::sync::Arc::new(file)).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
    let (system, port, points, runtime_dir) = match &config {
        Some(c) => {
            if !args.insecure {
                if let Err(err) = c.transport_config.check() {
                    eprintln!("daos_agent: {err}");
                    std::process::exit(2);
                }
            }
            for key in c.other.keys() {
                tracing::warn!("daos_agent.yml: key {key:?} is accepted but not used by daos-rs");
            }
            (
                c.name.clone(),
                c.port,
                c.access_points.clone(),
                c.runtime_dir.clone(),
            )
        }
        None => (
            daos_types::label::SYSTEM_NAME_DEFAULT.to_string(),
            10001,
            Vec::new(),
            None,
        ),
    };
    let points = if points.is_empty() {
        vec!["localhost".to_string()]
    } else {
        points
    };
    let access_points = points
        .iter()
        .map(|p| {
            let (host, port) = daos_control::host_port(p, port);
            format!("http://{host}:{port}")
        })
        .collect();
    let runtime_dir = args
        .runtime_dir
        .or(runtime_dir)
        .unwrap_or_else(daos_control::paths::default_agent_dir);
    let settings = daos_agent::AgentSettings {
        system,
        access_points,
        runtime_dir,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(err) = runtime.block_on(daos_agent::serve(settings)) {
        eprintln!("daos_agent: {err}");
        std::process::exit(1);
    }
}
