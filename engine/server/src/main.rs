//! `daos_server start [-o daos_server.yml]`: starts the engines of this host, serves the
//! management API (gRPC) that `dmg` and `daos_agent` use, and stops everything cleanly on
//! SIGINT or SIGTERM. With no config file it runs the embedded default (one engine on
//! 127.0.0.1, per-user data directory) and an embedded agent, so a newcomer needs nothing
//! else.

mod join;
mod ms;
mod setup;

use clap::{Parser, Subcommand};
use daos_control::config::{EngineConfig, ServerConfig};
use daos_control::mgmt::mgmt_svc_server::MgmtSvcServer;
use ms::{Member, MgmtService, Ms};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The daos-rs control plane server.
#[derive(Parser)]
#[command(name = "daos_server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the engines and the management service.
    Start(StartArgs),
}

#[derive(Parser)]
struct StartArgs {
    /// Server configuration (DAOS's daos_server.yml keys). Without it, the embedded default.
    #[arg(short = 'o', long = "config")]
    config: Option<PathBuf>,
    /// Skip TLS checks (the only mode daos-rs implements).
    #[arg(short = 'i', long)]
    insecure: bool,
    /// Also serve clients on this host as daos_agent would (on by default without a config).
    #[arg(long)]
    agent: bool,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("daos_server: {message}");
    std::process::exit(1);
}

fn engine_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAOS_RS_ENGINE_BIN") {
        return PathBuf::from(path);
    }
    let exe =
        std::env::current_exe().unwrap_or_else(|e| fail(format!("cannot locate myself: {e}")));
    exe.with_file_name("daos_engine")
}

struct EngineProcess {
    rank: u32,
    pid: u32,
}

/// Starts one engine process and waits until it serves; watches it afterwards (an
/// unexpected exit marks it errored and excludes it from its pools).
async fn start_engine(
    ms: Arc<Ms>,
    config: EngineConfig,
    config_path: PathBuf,
    stopping: Arc<AtomicBool>,
) -> Result<EngineProcess, String> {
    let rank = config.rank;
    let mut command = tokio::process::Command::new(engine_binary());
    command
        .arg("--config")
        .arg(&config_path)
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    match &config.log_file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("engine {rank} log file {}: {e}", path.display()))?;
            command.stderr(Stdio::from(file));
        }
        None => {
            command.stderr(Stdio::inherit());
        }
    }
    // An engine configured with `fabric_netns` runs in that network namespace.
    let netns = match &config.netns {
        Some(name) => Some(setup::netns::open(name).map_err(|e| format!("engine {rank}: {e}"))?),
        None => None,
    };
    // Engines must not outlive a server that dies abruptly.
    // SAFETY: pre_exec runs in the forked child before exec; prctl and setns are
    // async-signal-safe system calls, and the namespace descriptor was opened before the fork.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)?;
            if let Some(fd) = &netns {
                setup::netns::enter(fd)?;
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", engine_binary().display()))?;
    let pid = child.id().unwrap_or(0);
    ms.record_engine(rank, config.clone(), config_path.clone(), pid);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(600), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(json) = line.strip_prefix(daos_engine::READY_PREFIX) {
                return serde_json::from_str::<daos_engine::ReadyInfo>(json)
                    .map_err(|e| e.to_string());
            }
        }
        Err("engine exited before it was ready".to_string())
    })
    .await;
    let ready = match ready {
        Ok(Ok(ready)) => ready,
        Ok(Err(err)) => {
            let status = child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_default();
            let log = config
                .log_file
                .as_ref()
                .map(|p| format!(" (see {})", p.display()))
                .unwrap_or_default();
            return Err(format!(
                "engine {rank} failed to start: {err}, {status}{log}"
            ));
        }
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!("engine {rank} did not become ready in time"));
        }
    };
    let decode = |hex: &str| daos_engine::unhex(hex).map_err(|e| e.to_string());
    ms.set_member(Member {
        rank,
        host: config.host.clone(),
        state: "joined".into(),
        service: decode(&ready.service)?,
        targets: ready
            .targets
            .iter()
            .map(|t| decode(t))
            .collect::<Result<_, _>>()?,
        error: String::new(),
        swim: ready.swim,
        owner: None,
    });
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!("engine {rank}: {line}");
        }
        let status = child.wait().await;
        ms.pids.lock().expect("pids lock").remove(&rank);
        if stopping.load(Ordering::Relaxed) {
            ms.member_down(rank, "stopped", String::new());
        } else if ms.take_stop_request(rank) {
            // `dmg system stop`: not a failure, but its pools must stop waiting for it.
            tracing::info!("engine {rank} stopped on request");
            ms.member_down(rank, "stopped", String::new());
            if ms.is_manager() {
                let ms = ms.clone();
                tokio::task::spawn_blocking(move || ms.self_heal(rank));
            }
        } else {
            let mut text = status
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            if ms.take_fenced(rank) {
                text = format!("unresponsive, killed after SWIM declared it down ({text})");
            }
            tracing::error!("engine {rank} exited unexpectedly: {text}");
            eprintln!("daos_server: engine {rank} exited unexpectedly: {text}");
            // A member server reports it; the management service excludes it.
            ms.member_down(rank, "errored", format!("exited: {text}"));
            if ms.is_manager() {
                let ms = ms.clone();
                tokio::task::spawn_blocking(move || ms.self_heal(rank));
            }
        }
    });
    Ok(EngineProcess { rank, pid })
}

async fn stop_engines(engines: &[EngineProcess]) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    for engine in engines {
        let _ = kill(Pid::from_raw(engine.pid as i32), Signal::SIGTERM);
    }
    // Engines write a final checkpoint per pool; give them time, then insist.
    for _ in 0..600 {
        if engines
            .iter()
            .all(|e| kill(Pid::from_raw(e.pid as i32), None).is_err())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for engine in engines {
        eprintln!(
            "daos_server: engine {} did not stop; killing it",
            engine.rank
        );
        let _ = kill(Pid::from_raw(engine.pid as i32), Signal::SIGKILL);
    }
}

/// Resolves once SIGINT or SIGTERM arrives (taken with sigwait, see daos_control::signals).
async fn shutdown_signal() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    daos_control::signals::on_termination(move |_| {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

fn main() {
    // Before libfabric or any thread starts: see daos_control::signals.
    if let Err(err) = daos_control::signals::block_termination() {
        fail(err);
    }
    let cli = Cli::parse();
    let Command::Start(args) = cli.command;
    let embedded = args.config.is_none();
    let data_dir = daos_control::paths::data_dir();
    let runtime_dir = daos_control::paths::runtime_dir();
    let config: ServerConfig = match &args.config {
        Some(path) => ServerConfig::load(path).unwrap_or_else(|e| fail(e)),
        None => setup::default_config(&data_dir, &runtime_dir),
    };
    let mut checked = config.clone();
    if args.insecure {
        checked.transport_config.allow_insecure = true;
    }
    if let Err(err) = checked.validate() {
        fail(err);
    }
    let log_target = config.control_log_file.clone();
    let filter = tracing_subscriber::EnvFilter::try_from_env("DAOS_RS_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match log_target.as_ref().and_then(|p| {
        p.parent().map(std::fs::create_dir_all);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    }) {
        Some(file) => builder.with_writer(Arc::new(file)).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
    for key in config.unused_keys() {
        eprintln!("daos_server: warning: config key {key:?} is accepted but not used by daos-rs");
        tracing::warn!("config key {key:?} is accepted but not used");
    }
    let mut engines = setup::engine_configs(&config).unwrap_or_else(|e| fail(e));
    let socket_dir = config
        .socket_dir
        .clone()
        .unwrap_or_else(|| runtime_dir.join("server"));
    if let Err(err) = std::fs::create_dir_all(&socket_dir) {
        fail(format!(
            "cannot create socket_dir {}: {err}",
            socket_dir.display()
        ));
    }
    let bind_host = if embedded { "127.0.0.1" } else { "0.0.0.0" };
    // One server runs the management service; the others join their engines through it.
    let manager = match setup::role(&config).unwrap_or_else(|e| fail(e)) {
        setup::Role::Manager => {
            if config.replicas().len() > 1 {
                eprintln!(
                    "daos_server: warning: daos-rs runs the management service on the first of \
                     mgmt_svc_replicas only; the other servers join it"
                );
            }
            None
        }
        setup::Role::Member(addr) => Some(addr),
    };
    let address = match manager {
        None => format!(
            "{}:{}",
            if embedded { "localhost" } else { "0.0.0.0" },
            config.port
        ),
        // The address the management service reaches this server at.
        Some(manager) => format!(
            "{}:{}",
            setup::local_address_towards(&manager.ip().to_string()).unwrap_or_else(|| fail(
                format!("no route to the management service at {manager}")
            )),
            config.port
        ),
    };
    let db = setup::control_dir(&engines).join("pools.json");
    let ms = Arc::new(
        Ms::new(
            config.name.clone(),
            config.provider.clone(),
            address,
            db,
            manager,
        )
        .unwrap_or_else(|e| fail(e)),
    );
    // The system's SWIM cluster: the management service's member, which every engine joins
    // through, on the management port number (UDP) at the address this host reaches the
    // first engine from (the engine's own address, unless engines run in network
    // namespaces). A member server's engines learn it when they join.
    let _swim = if manager.is_none() {
        if let Err(err) = ms.load_system(engines.len() as u32) {
            fail(err);
        }
        let swim_host = engines
            .first()
            .map(|e| e.node.clone())
            .map(|node| setup::local_address_towards(&node).unwrap_or(node))
            .unwrap_or_default();
        let swim_addr =
            daos_swim::member_addr(&swim_host, config.port).unwrap_or_else(|e| fail(e.to_string()));
        let swim = {
            let ms = ms.clone();
            let me = daos_swim::SwimId {
                rank: daos_swim::CONTROL_RANK,
                addr: swim_addr,
                incarnation: daos_swim::incarnation_now(),
            };
            daos_swim::Swim::start(me, None, engines.len() as u32 + 1, move |event| {
                ms.swim_event(event)
            })
            .unwrap_or_else(|e| fail(format!("cannot run SWIM on UDP {swim_addr}: {e}")))
        };
        for engine in &mut engines {
            engine.swim_seed = Some(swim_addr);
        }
        ms.set_announcer(swim.announcer());
        ms.set_cluster(join::Cluster {
            swim_seed: Some(swim_addr),
            swim_members: engines.len() as u32 + 1,
            local_engines: engines.len() as u32,
        });
        Some(swim)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(ms::BLOCKING_KEEP_ALIVE)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("tokio runtime: {e}")));
    runtime.block_on(async move {
        ms.set_runtime(tokio::runtime::Handle::current());
        if manager.is_none() {
            ms.resume_fencing();
        }
        let listener = tokio::net::TcpListener::bind((bind_host, config.port))
            .await
            .unwrap_or_else(|e| fail(format!("cannot listen on {bind_host}:{}: {e}", config.port)));
        let (stop_grpc, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = MgmtSvcServer::new(MgmtService(ms.clone()));
        let grpc = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        let stopping = ms.stopping.clone();
        if let Some(manager) = manager {
            join::start_reporter(&ms, manager);
            let engine_ids = engines
                .iter()
                .map(|e| setup::engine_id(&e.meta_dir))
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|e| fail(e));
            let request = daos_control::mgmt::JoinReq {
                domain: setup::fault_domain(&config),
                address: ms.address.clone(),
                engine_ids,
            };
            let joined = join::join_manager(manager, request)
                .await
                .unwrap_or_else(|e| fail(e));
            let seed: std::net::SocketAddr = joined.swim_seed.parse().unwrap_or_else(|e| {
                fail(format!("management service gave SWIM seed {:?}: {e}", joined.swim_seed))
            });
            if joined.ranks.len() != engines.len() {
                fail(format!(
                    "management service gave {} ranks for {} engines",
                    joined.ranks.len(),
                    engines.len()
                ));
            }
            for (engine, rank) in engines.iter_mut().zip(&joined.ranks) {
                engine.rank = *rank;
                engine.swim_seed = Some(seed);
                engine.swim_members = joined.swim_members;
            }
            println!(
                "daos_server: joined system {} through the management service at {manager}: ranks {:?}",
                config.name, joined.ranks
            );
        }
        let mut processes = Vec::new();
        for engine in &engines {
            let path = socket_dir.join(format!("engine{}.json", engine.rank));
            let json = serde_json::to_vec_pretty(engine).expect("engine config serialises");
            if let Err(err) = std::fs::write(&path, json) {
                fail(format!("cannot write {}: {err}", path.display()));
            }
            match start_engine(ms.clone(), engine.clone(), path, stopping.clone()).await {
                Ok(process) => {
                    println!(
                        "daos_server: engine {} started on rank {} ({} targets, {} provider)",
                        engine.rank, process.rank, engine.targets, engine.provider
                    );
                    processes.push(process);
                }
                Err(err) => {
                    stopping.store(true, Ordering::Relaxed);
                    stop_engines(&processes).await;
                    ms.flush_reports(Duration::from_secs(3)).await;
                    fail(err);
                }
            }
        }
        let agent = if embedded || args.agent {
            let access_point = match manager {
                Some(manager) => format!("http://{manager}"),
                None => format!("http://127.0.0.1:{}", config.port),
            };
            let settings = daos_agent::AgentSettings {
                system: config.name.clone(),
                access_points: vec![access_point],
                runtime_dir: daos_control::paths::default_agent_dir(),
            };
            let socket = daos_agent::socket_path(&settings.runtime_dir);
            println!("daos_server: serving clients through {}", socket.display());
            Some(tokio::spawn(async move {
                if let Err(err) = daos_agent::serve(settings).await {
                    eprintln!("daos_server: embedded agent: {err}");
                }
            }))
        } else {
            None
        };
        println!(
            "daos_server: system {} ready: {} engine(s), management on port {}",
            config.name,
            processes.len(),
            config.port
        );
        shutdown_signal().await;
        println!("daos_server: stopping");
        stopping.store(true, Ordering::Relaxed);
        // Engines started again by `dmg system start` have new process ids.
        let running: Vec<EngineProcess> = ms
            .pids
            .lock()
            .expect("pids lock")
            .iter()
            .map(|(&rank, &pid)| EngineProcess { rank, pid })
            .collect();
        drop(processes);
        stop_engines(&running).await;
        // A member server tells the management service its engines stopped.
        ms.flush_reports(Duration::from_secs(3)).await;
        if let Some(agent) = agent {
            agent.abort();
            let _ = std::fs::remove_file(daos_agent::socket_path(
                &daos_control::paths::default_agent_dir(),
            ));
        }
        let _ = stop_grpc.send(());
        let _ = grpc.await;
        println!("daos_server: stopped");
    });
    // A rebuild driver may still be between calls on a blocking thread: the engines are
    // stopped, so it has nothing left to do, and the process need not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
}
