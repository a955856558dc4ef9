//! `dmg`: the administrator's tool, with DAOS's syntax.
//!
//! `dmg [-o daos_control.yml] [-j] [-l host[:port],…] system query | pool create --size=<N>
//! <label> | pool list | pool query <pool> | pool destroy <pool>`. `-j` prints DAOS's JSON
//! envelope `{"response": …, "error": null, "status": 0}`.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use daos_control::config::ControlConfig;
use daos_control::mgmt::mgmt_svc_client::MgmtSvcClient;
use daos_control::mgmt::*;
use daos_types::size::{format_size, parse_size};
use daos_types::{Der, Error, Result};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Administer a daos-rs system.
#[derive(Parser)]
#[command(name = "dmg", version)]
struct Cli {
    /// Control configuration (DAOS's daos_control.yml keys).
    #[arg(short = 'o', long = "config-path", global = true)]
    config: Option<PathBuf>,
    /// Print JSON (DAOS's envelope).
    #[arg(short = 'j', long, global = true)]
    json: bool,
    /// Skip TLS (the only mode daos-rs implements).
    #[arg(short = 'i', long, global = true)]
    insecure: bool,
    /// Servers to contact, overriding the config (`host[:port],…`).
    #[arg(short = 'l', long = "host-list", global = true)]
    host_list: Option<String>,
    /// Debug output.
    #[arg(short = 'd', long, global = true)]
    debug: bool,
    /// Log file (accepted for compatibility).
    #[arg(long = "log-file", global = true)]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// System-wide operations.
    System {
        #[command(subcommand)]
        command: SystemCommand,
    },
    /// Pool operations.
    Pool {
        #[command(subcommand)]
        command: PoolCommand,
    },
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Show the ranks and their states.
    Query {
        /// Show more columns.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Stop engines (all, or `--ranks`); their pools exclude them.
    Stop {
        /// Ranks to stop (`1,2`); all when absent.
        #[arg(long, value_delimiter = ',')]
        ranks: Vec<u32>,
        /// Accepted for compatibility (stops are always forced).
        #[arg(long)]
        force: bool,
    },
    /// Start stopped engines (all, or `--ranks`); `dmg pool reintegrate` returns them to pools.
    Start {
        /// Ranks to start (`1,2`); all stopped ones when absent.
        #[arg(long, value_delimiter = ',')]
        ranks: Vec<u32>,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum PoolCommand {
    /// Create a pool.
    Create {
        /// Total size (`N[K|M|G|T]`, DAOS's units).
        #[arg(short = 'z', long)]
        size: Option<String>,
        /// Metadata (SCM) size.
        #[arg(short = 's', long = "scm-size")]
        scm_size: Option<String>,
        /// Data (NVMe) size.
        #[arg(short = 'n', long = "nvme-size")]
        nvme_size: Option<String>,
        /// Number of ranks to use.
        #[arg(short = 'k', long)]
        nranks: Option<u32>,
        /// Ranks to use (`0,1,2`).
        #[arg(short = 'r', long)]
        ranks: Option<String>,
        /// Number of pool service replicas.
        #[arg(short = 'v', long)]
        nsvc: Option<u32>,
        /// Properties (`k:v,…`: rd_fac, svc_rf, ec_cell_sz, space_rb, self_heal, reclaim).
        #[arg(short = 'P', long)]
        properties: Option<String>,
        /// Owner user.
        #[arg(short = 'u', long)]
        user: Option<String>,
        /// Owner group.
        #[arg(short = 'g', long)]
        group: Option<String>,
        /// System name (accepted for compatibility).
        #[arg(long = "sys")]
        system: Option<String>,
        /// Pool label.
        label: String,
    },
    /// List pools.
    #[command(alias = "ls")]
    List {
        /// Show more columns.
        #[arg(short, long)]
        verbose: bool,
        /// Do not query space.
        #[arg(short = 'n', long = "no-query")]
        no_query: bool,
    },
    /// Show a pool's space and targets.
    Query {
        /// Pool label or UUID.
        pool: String,
    },
    /// Exclude a rank's targets from a pool (their data is rebuilt elsewhere).
    Exclude(PoolTargetsArgs),
    /// Drain a rank's targets: move their data elsewhere, then exclude them.
    Drain(PoolTargetsArgs),
    /// Return excluded targets to a pool (rebuild copies their data back).
    Reintegrate(PoolTargetsArgs),
    /// Add engines to a pool (rebuild moves onto them the shards placement gives them).
    Extend {
        /// Ranks of the joining engines (`2,3`).
        #[arg(long, value_delimiter = ',', required = true)]
        ranks: Vec<u32>,
        /// Pool label or UUID.
        pool: String,
    },
    /// Stop or restart the pool's rebuild.
    Rebuild {
        #[command(subcommand)]
        action: RebuildAction,
    },
    /// Destroy a pool.
    Destroy {
        /// Destroy even with connected handles.
        #[arg(short, long)]
        force: bool,
        /// Destroy even if it holds containers.
        #[arg(short, long)]
        recursive: bool,
        /// Pool label or UUID.
        pool: String,
    },
}

/// `dmg pool rebuild stop|start`.
#[derive(Subcommand)]
enum RebuildAction {
    /// Stop the running rebuild; the targets it was rebuilding stay as they are.
    Stop {
        /// Pool label or UUID.
        pool: String,
    },
    /// Start rebuilding again for the current pool map.
    Start {
        /// Pool label or UUID.
        pool: String,
    },
}

/// Which targets `dmg pool exclude|drain|reintegrate` changes.
#[derive(clap::Args)]
struct PoolTargetsArgs {
    /// The engine's rank.
    #[arg(long)]
    rank: u32,
    /// Target indexes within the engine (`0,1`); all when absent.
    #[arg(long = "target-idx", value_delimiter = ',')]
    target_idx: Vec<u32>,
    /// Pool label or UUID.
    pool: String,
}

impl PoolTargetsArgs {
    fn request(&self, op: &str) -> PoolUpdateReq {
        PoolUpdateReq {
            id: self.pool.clone(),
            op: op.into(),
            rank: self.rank,
            targets: self.target_idx.clone(),
        }
    }
}

fn rebuild_request(pool: &str, op: &str) -> PoolUpdateReq {
    PoolUpdateReq {
        id: pool.to_string(),
        op: op.into(),
        rank: 0,
        targets: Vec::new(),
    }
}

fn status_error(status: tonic::Status) -> Error {
    let der = status
        .metadata()
        .get("daos-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .and_then(|rc| Der::from_value(-rc))
        .unwrap_or(match status.code() {
            tonic::Code::Unavailable => Der::Unreach,
            tonic::Code::NotFound => Der::Nonexist,
            tonic::Code::AlreadyExists => Der::Exist,
            tonic::Code::InvalidArgument => Der::Inval,
            _ => Der::Misc,
        });
    Error::new(der, status.message().to_string())
}

/// A member's fault domain as DAOS prints it: a path (a server's `fault_path`, or `/<host>`).
fn fault_domain(host: &str) -> String {
    if host.starts_with('/') {
        host.to_string()
    } else {
        format!("/{host}")
    }
}

async fn connect(cli: &Cli) -> Result<MgmtSvcClient<tonic::transport::Channel>> {
    let config = match &cli.config {
        Some(path) => Some(ControlConfig::load(path)?),
        None => None,
    };
    if let Some(config) = &config {
        if !cli.insecure {
            config.transport_config.check()?;
        }
    }
    let port = config.as_ref().map_or(10001, |c| c.port);
    let hosts: Vec<String> = match &cli.host_list {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => config
            .as_ref()
            .map(|c| c.hostlist.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| vec!["localhost".into()]),
    };
    let mut last = Error::new(Der::Unreach, "no hosts to contact");
    for host in hosts {
        let (host, port) = daos_control::host_port(&host, port);
        let endpoint = format!("http://{host}:{port}");
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .map_err(|e| Error::new(Der::Inval, e.to_string()))?
            .connect_timeout(std::time::Duration::from_secs(5));
        match channel.connect().await {
            Ok(channel) => return Ok(MgmtSvcClient::new(channel)),
            Err(err) => {
                last = Error::new(
                    Der::Unreach,
                    format!("cannot reach daos_server at {endpoint}: {err}"),
                )
            }
        }
    }
    Err(last)
}

fn pool_summary_json(p: &PoolSummary) -> Value {
    json!({
        "uuid": p.uuid,
        "label": p.label,
        "svc_reps": p.svc_reps,
        "state": p.state,
        "total_targets": p.targets_total,
        "disabled_targets": p.targets_disabled,
        "tier_stats": [
            {"total": p.scm_total, "free": p.scm_free, "media_type": "scm"},
            {"total": p.nvme_total, "free": p.nvme_free, "media_type": "nvme"},
        ],
        "error": if p.error.is_empty() { Value::Null } else { Value::String(p.error.clone()) },
    })
}

async fn run(cli: &Cli) -> Result<(Value, String)> {
    let mut client = connect(cli).await?;
    match &cli.command {
        Command::System {
            command: SystemCommand::Query { verbose },
        } => {
            let reply = client
                .system_query(SystemQueryReq {})
                .await
                .map_err(status_error)?
                .into_inner();
            let members: Vec<Value> = reply
                .members
                .iter()
                .map(|m| {
                    json!({"rank": m.rank, "state": m.state, "addr": m.address, "fabric_uri": m.fabric_uri,
                           "fault_domain": fault_domain(&m.host), "targets": m.targets,
                           "info": if m.error.is_empty() { Value::Null } else { Value::String(m.error.clone()) }})
                })
                .collect();
            let mut text = String::new();
            if *verbose {
                text.push_str("Rank Host       State    Targets Fabric URI\n---- ----       -----    ------- ----------\n");
                for m in &reply.members {
                    text.push_str(&format!(
                        "{:<4} {:<10} {:<8} {:<7} {}\n",
                        m.rank,
                        m.host,
                        capital(&m.state),
                        m.targets,
                        m.fabric_uri
                    ));
                }
            } else {
                text.push_str("Rank State\n---- -----\n");
                for m in &reply.members {
                    text.push_str(&format!("[{}]  {}\n", m.rank, capital(&m.state)));
                }
            }
            Ok((
                json!({"members": members, "providers": [reply.provider]}),
                text,
            ))
        }
        Command::System {
            command: SystemCommand::Stop { ranks, .. } | SystemCommand::Start { ranks },
        } => {
            let req = SystemRanksReq {
                ranks: ranks.clone(),
                ..SystemRanksReq::default()
            };
            let (reply, verb) = match &cli.command {
                Command::System {
                    command: SystemCommand::Stop { .. },
                } => (client.system_stop(req).await, "stop"),
                _ => (client.system_start(req).await, "start"),
            };
            let reply = reply.map_err(status_error)?.into_inner();
            let mut text = String::from("Rank Operation Result\n---- --------- ------\n");
            for r in &reply.results {
                let result = if r.error.is_empty() {
                    "OK"
                } else {
                    r.error.as_str()
                };
                text.push_str(&format!("{:<4} {:<9} {}\n", r.rank, verb, result));
            }
            let results: Vec<Value> = reply
                .results
                .iter()
                .map(|r| {
                    json!({"rank": r.rank, "state": r.state, "action": verb,
                                "errored": !r.error.is_empty(), "msg": r.error})
                })
                .collect();
            if let Some(failed) = reply.results.iter().find(|r| !r.error.is_empty()) {
                return Err(Error::new(
                    Der::Misc,
                    format!("rank {}: {}", failed.rank, failed.error),
                ));
            }
            Ok((json!({"results": results}), text))
        }
        Command::Pool { command } => pool(&mut client, command).await,
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

async fn pool(
    client: &mut MgmtSvcClient<tonic::transport::Channel>,
    command: &PoolCommand,
) -> Result<(Value, String)> {
    match command {
        PoolCommand::Create {
            size,
            scm_size,
            nvme_size,
            nranks,
            ranks,
            nsvc,
            properties,
            user,
            group,
            system: _,
            label,
        } => {
            let parse = |v: &Option<String>| {
                v.as_deref()
                    .map(parse_size)
                    .transpose()
                    .map(|o| o.unwrap_or(0))
            };
            let total = parse(size)?;
            let (scm, nvme) = (parse(scm_size)?, parse(nvme_size)?);
            let ranks = match ranks {
                Some(list) => list
                    .split(',')
                    .map(|r| {
                        r.trim()
                            .parse::<u32>()
                            .map_err(|_| Error::new(Der::Inval, format!("bad rank {r:?}")))
                    })
                    .collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            let mut props = Vec::new();
            if let Some(text) = properties {
                for item in text.split(',').filter(|s| !s.is_empty()) {
                    let (k, v) = item.split_once(':').ok_or_else(|| {
                        Error::new(Der::Inval, format!("property {item:?} is not key:value"))
                    })?;
                    props.push(PropEntry {
                        name: k.trim().into(),
                        value: v.trim().into(),
                    });
                }
            }
            let req = PoolCreateReq {
                label: label.clone(),
                total_bytes: total,
                scm_bytes: scm,
                nvme_bytes: nvme,
                ranks,
                nranks: nranks.unwrap_or(0),
                nsvc: nsvc.unwrap_or(0),
                properties: props,
                user: user.clone().unwrap_or_default(),
                group: group.clone().unwrap_or_default(),
                uuid: String::new(),
            };
            let reply = client
                .pool_create(req)
                .await
                .map_err(status_error)?
                .into_inner();
            let tier = |i: usize| reply.tier_bytes.get(i).copied().unwrap_or(0);
            let per_rank = |i: usize| tier(i) / reply.tgt_ranks.len().max(1) as u64;
            let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let text = format!(
                "Pool created with {:.2}%,{:.2}% storage tier ratio\n\
                 --------------------------------------------------\n\
                 \x20 UUID                 : {}\n\
                 \x20 Service Leader       : {}\n\
                 \x20 Service Ranks        : [{}]\n\
                 \x20 Storage Ranks        : [{}]\n\
                 \x20 Total Size           : {}\n\
                 \x20 Storage tier 0 (SCM) : {} ({} / rank)\n\
                 \x20 Storage tier 1 (NVMe): {} ({} / rank)\n",
                tier(0) as f64 * 100.0 / (tier(0) + tier(1)).max(1) as f64,
                tier(1) as f64 * 100.0 / (tier(0) + tier(1)).max(1) as f64,
                reply.uuid,
                reply.svc_ldr,
                join(&reply.svc_reps),
                join(&reply.tgt_ranks),
                format_size(tier(0) + tier(1)),
                format_size(tier(0)),
                format_size(per_rank(0)),
                format_size(tier(1)),
                format_size(per_rank(1)),
            );
            Ok((
                json!({"uuid": reply.uuid, "svc_ldr": reply.svc_ldr, "svc_reps": reply.svc_reps,
                       "tgt_ranks": reply.tgt_ranks, "tier_bytes": reply.tier_bytes,
                       "mem_file_bytes": 0, "md_on_ssd_active": false}),
                text,
            ))
        }
        PoolCommand::List {
            verbose,
            no_query: _,
        } => {
            let reply = client
                .pool_list(PoolListReq {})
                .await
                .map_err(status_error)?
                .into_inner();
            let mut text = String::new();
            if reply.pools.is_empty() {
                text.push_str("no pools in system\n");
            } else {
                if *verbose {
                    text.push_str("Label UUID                                 State SvcReps SCM Size SCM Used NVMe Size NVMe Used Disabled\n");
                    text.push_str("----- ----                                 ----- ------- -------- -------- --------- --------- --------\n");
                } else {
                    text.push_str("Pool Size State Used Imbalance Disabled\n---- ---- ----- ---- --------- --------\n");
                }
                for p in &reply.pools {
                    let total = p.scm_total + p.nvme_total;
                    let used = total - (p.scm_free + p.nvme_free).min(total);
                    let pct = used * 100 / total.max(1);
                    if *verbose {
                        text.push_str(&format!(
                            "{} {} {} {:?} {} {} {} {} {}/{}\n",
                            p.label,
                            p.uuid,
                            p.state,
                            p.svc_reps,
                            format_size(p.scm_total),
                            format_size(p.scm_total - p.scm_free.min(p.scm_total)),
                            format_size(p.nvme_total),
                            format_size(p.nvme_total - p.nvme_free.min(p.nvme_total)),
                            p.targets_disabled,
                            p.targets_total
                        ));
                    } else {
                        text.push_str(&format!(
                            "{} {} {} {}% 0% {}/{}\n",
                            p.label,
                            format_size(total),
                            p.state,
                            pct,
                            p.targets_disabled,
                            p.targets_total
                        ));
                    }
                }
            }
            Ok((
                json!({"pools": reply.pools.iter().map(pool_summary_json).collect::<Vec<_>>()}),
                text,
            ))
        }
        PoolCommand::Query { pool } => {
            let reply = client
                .pool_query(PoolQueryReq { id: pool.clone() })
                .await
                .map_err(status_error)?
                .into_inner();
            let p = reply.pool.clone().unwrap_or_default();
            let rebuild = reply.rebuild.clone().unwrap_or_default();
            let targets = reply.targets.len().max(1) as u64;
            let mut text = format!(
                "Pool {}, ntarget={}, disabled={}, leader={}, version={}, state={}\n\
                 Pool health info:\n- Rebuild {}, {} objs, {} recs\n\
                 Pool space info:\n- Target count:{}\n\
                 - Storage tier 0 (SCM):\n  Total size: {}\n  Free: {}, min:{}, max:{}, mean:{}\n\
                 - Storage tier 1 (NVMe):\n  Total size: {}\n  Free: {}, min:{}, max:{}, mean:{}\n",
                p.uuid,
                p.targets_total,
                p.targets_disabled,
                reply.leader,
                reply.map_version,
                p.state,
                rebuild.state,
                rebuild.objects,
                rebuild.records,
                p.targets_total,
                format_size(p.scm_total),
                format_size(p.scm_free),
                format_size(reply.scm_min_free),
                format_size(reply.scm_max_free),
                format_size(p.scm_free / targets),
                format_size(p.nvme_total),
                format_size(p.nvme_free),
                format_size(reply.nvme_min_free),
                format_size(reply.nvme_max_free),
                format_size(p.nvme_free / targets),
            );
            // Targets not healthy, one line each (DAOS lists them with `query-targets`).
            for t in reply.targets.iter().filter(|t| t.state != "upin") {
                text.push_str(&format!(
                    "- Target {}:{} is {}\n",
                    t.rank, t.target, t.state
                ));
            }
            let mut value = pool_summary_json(&p);
            value["targets"] = reply
                .targets
                .iter()
                .map(|t| json!({"rank": t.rank, "target": t.target, "state": t.state}))
                .collect();
            value["leader"] = json!(reply.leader);
            value["version"] = json!(reply.map_version);
            value["active_targets"] = json!(p.targets_total - p.targets_disabled);
            value["connected_handles"] = json!(reply.connected_handles);
            value["enabled_ranks"] = json!(reply.enabled_ranks);
            value["disabled_ranks"] = json!(reply.disabled_ranks);
            value["rebuild"] = json!({
                "status": rebuild.status,
                "state": rebuild.state,
                "objects": rebuild.objects,
                "records": rebuild.records,
                "bytes": rebuild.bytes,
                "scanned": rebuild.scanned,
                "reclaimed": rebuild.reclaimed,
                "map_version": rebuild.map_version,
                "seconds": rebuild.seconds,
                "error": rebuild.error,
            });
            if !rebuild.error.is_empty() {
                text.push_str(&format!("- Rebuild error: {}\n", rebuild.error));
            }
            Ok((value, text))
        }
        PoolCommand::Exclude(_)
        | PoolCommand::Drain(_)
        | PoolCommand::Reintegrate(_)
        | PoolCommand::Rebuild { .. } => {
            let (req, verb) = match command {
                PoolCommand::Exclude(a) => (a.request("exclude"), "Exclude"),
                PoolCommand::Drain(a) => (a.request("drain"), "Drain"),
                PoolCommand::Reintegrate(a) => (a.request("reintegrate"), "Reintegration"),
                PoolCommand::Rebuild {
                    action: RebuildAction::Stop { pool },
                } => (rebuild_request(pool, "rebuild_stop"), "Rebuild stop"),
                PoolCommand::Rebuild {
                    action: RebuildAction::Start { pool },
                } => (rebuild_request(pool, "rebuild_start"), "Rebuild start"),
                _ => unreachable!("matched above"),
            };
            let reply = client
                .pool_update(req)
                .await
                .map_err(status_error)?
                .into_inner();
            Ok((
                json!({"map_version": reply.map_version}),
                format!(
                    "{verb} command succeeded (pool map version {})\n",
                    reply.map_version
                ),
            ))
        }
        PoolCommand::Extend { ranks, pool } => {
            let mut version = 0;
            for rank in ranks {
                let req = PoolUpdateReq {
                    id: pool.clone(),
                    op: "extend".into(),
                    rank: *rank,
                    targets: Vec::new(),
                };
                let reply = client
                    .pool_update(req)
                    .await
                    .map_err(status_error)?
                    .into_inner();
                version = reply.map_version;
            }
            Ok((
                json!({"map_version": version}),
                format!(
                    "Extend command succeeded (pool map version {version})
"
                ),
            ))
        }
        PoolCommand::Destroy {
            force,
            recursive,
            pool,
        } => {
            client
                .pool_destroy(PoolDestroyReq {
                    id: pool.clone(),
                    force: *force,
                    recursive: *recursive,
                })
                .await
                .map_err(status_error)?;
            Ok((Value::Null, "Pool-destroy command succeeded\n".to_string()))
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(run(&cli));
    match outcome {
        Ok((value, text)) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"response": value, "error": null, "status": 0})
                    )
                    .expect("json")
                );
            } else {
                print!("{text}");
            }
        }
        Err(err) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"response": null, "error": err.to_string(), "status": err.rc()})
                    )
                    .expect("json")
                );
            } else {
                eprintln!("ERROR: dmg: {err}");
            }
            std::process::exit(1);
        }
    }
}
