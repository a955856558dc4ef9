//! `daos_engine`: started by `daos_server` with an engine configuration file.

use clap::Parser;
use daos_control::config::EngineConfig;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The daos-rs storage engine. Normally started by `daos_server`, not by hand.
#[derive(Parser)]
#[command(name = "daos_engine", version)]
struct Args {
    /// Engine configuration (JSON written by daos_server).
    #[arg(long)]
    config: PathBuf,
}

fn level(mask: Option<&str>) -> &'static str {
    match mask.map(str::to_ascii_uppercase).as_deref() {
        Some("DEBUG" | "DBUG") => "debug",
        Some("INFO") => "info",
        Some("ERR" | "ERROR" | "CRIT" | "EMRG" | "ALRT") => "error",
        Some("WARN" | "WARNING" | "NOTE") => "warn",
        _ => "info",
    }
}

fn main() {
    // Before libfabric or any thread starts: see daos_control::signals.
    if let Err(err) = daos_control::signals::block_termination() {
        eprintln!("daos_engine: {err}");
        std::process::exit(2);
    }
    let args = Args::parse();
    let config: EngineConfig = match std::fs::read(&args.config)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(config) => config,
        Err(err) => {
            eprintln!("daos_engine: cannot read {}: {err}", args.config.display());
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DAOS_RS_LOG").unwrap_or_else(|_| {
        // openraft reports every election step, and every retry to a dead replica as an
        // error; the service context logs what matters (see daos_engine::rsvc).
        let level = level(config.log_mask.as_deref());
        tracing_subscriber::EnvFilter::new(format!("{level},openraft=off"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_thread_names(true);
    match &config.log_file {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => builder.with_writer(Arc::new(file)).init(),
            Err(err) => {
                eprintln!(
                    "daos_engine: cannot open log file {}: {err}",
                    path.display()
                );
                std::process::exit(2);
            }
        },
        None => builder.with_writer(std::io::stderr).init(),
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    daos_control::signals::on_termination(move |signal| {
        tracing::info!("received {signal}, shutting down");
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let outcome = daos_engine::run(config, stop, |ready| {
        let line = serde_json::to_string(&ready).expect("ready info serialises");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}{line}", daos_engine::READY_PREFIX);
        let _ = out.flush();
    });
    if let Err(err) = outcome {
        tracing::error!("engine failed: {err}");
        eprintln!("daos_engine: {err}");
        std::process::exit(1);
    }
}
