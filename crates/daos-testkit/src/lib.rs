//! Test kit: real `daos_server` / `daos_engine` processes on unique ports and temporary
//! directories, stopped by the test itself (also when it panics).
//!
//! The binaries come from the same `target/<profile>` directory as the test; build them first
//! (`cargo build --workspace --bins`), as the project's test command does.
#![forbid(unsafe_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Directory holding the project's binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of a project binary; panics with a hint when it has not been built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// Options of a test system.
#[derive(Clone, Debug)]
pub struct Options {
    /// Engines (one process each, ranks 0..engines).
    pub engines: u32,
    /// Targets of each engine.
    pub targets: u32,
    /// Provider (`ofi+tcp`, `ofi+shm`).
    pub provider: String,
    /// Metadata budget, GiB.
    pub scm_gb: u64,
    /// Data file size, GiB (sparse).
    pub bdev_gb: u64,
    /// Extra environment for the server and its engines.
    pub env: Vec<(String, String)>,
    /// Run each engine in a network namespace of its own, behind a veth pair on a bridge
    /// (see [`Namespaces`]), so that their traffic crosses real interfaces and an engine
    /// can be cut off. Needs `ip netns` (root); see [`Namespaces::supported`].
    pub netns: bool,
    /// Several servers, as on separate hosts: the engines of each (their sum must be
    /// `engines`). Server 0 runs the management service and the agent; the others join it,
    /// their engines taking the next ranks in order. Each server has fault domain
    /// `/host<index>`; with [`Options::netns`], each server (and its engines) runs in a
    /// network namespace of its own, which [`Namespaces::cut`] cuts off as a whole.
    /// Empty: one server running every engine.
    pub hosts: Vec<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            engines: 1,
            targets: 2,
            provider: "ofi+tcp".into(),
            scm_gb: 1,
            bdev_gb: 4,
            env: Vec::new(),
            netns: false,
            hosts: Vec::new(),
        }
    }
}

/// A running system: one `daos_server` and its engines.
pub struct TestSystem {
    /// Temporary directory holding everything.
    pub dir: tempfile::TempDir,
    /// Control (gRPC) port.
    pub port: u16,
    /// First fabric port.
    pub fabric_port: u16,
    /// Options it was started with.
    pub options: Options,
    /// The engines' network namespaces (the servers', with [`Options::hosts`]), with
    /// [`Options::netns`].
    pub namespaces: Option<Namespaces>,
    server: Option<Child>,
    /// With [`Options::hosts`]: the servers after the first.
    members: Vec<Option<Child>>,
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A run of `count` consecutive free ports.
fn free_ports(count: u16) -> u16 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let mut seed = hasher.finish();
    loop {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let base = 20000 + (seed >> 33) as u16 % 30000;
        if (base..base + count).all(port_free) {
            return base;
        }
    }
}

impl TestSystem {
    /// Starts a system; panics (after showing the logs) if it does not come up.
    pub fn start(options: Options) -> TestSystem {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(options.clone()) {
                Ok(system) => return system,
                Err(err) => last = err,
            }
        }
        panic!("test system did not start: {last}");
    }

    fn try_start(options: Options) -> Result<TestSystem, String> {
        let dir = tempfile::Builder::new()
            .prefix("daos-rs-test")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if !options.hosts.is_empty() {
            assert_eq!(
                options.hosts.iter().sum::<u32>(),
                options.engines,
                "Options::hosts must share out Options::engines"
            );
        }
        let servers = options.hosts.len().max(1) as u16;
        let ports = free_ports(servers + options.engines as u16 * (options.targets as u16 + 1));
        let (port, fabric_port) = (ports, ports + servers);
        let spaces = if options.hosts.is_empty() {
            options.engines
        } else {
            u32::from(servers)
        };
        let namespaces = options
            .netns
            .then(|| Namespaces::create(spaces))
            .transpose()?;
        let mut system = TestSystem {
            dir,
            port,
            fabric_port,
            options,
            namespaces,
            server: None,
            members: Vec::new(),
        };
        system.write_config();
        system.spawn()?;
        Ok(system)
    }

    /// How many servers the system has.
    pub fn servers(&self) -> u32 {
        self.options.hosts.len().max(1) as u32
    }

    /// The server running engine `rank` (with [`Options::hosts`]; else 0).
    pub fn host_of(&self, rank: u32) -> u32 {
        let mut first = 0;
        for (host, count) in self.options.hosts.iter().enumerate() {
            if rank < first + count {
                return host as u32;
            }
            first += count;
        }
        0
    }

    /// The address `dmg` reaches the management service at.
    pub fn manager_host(&self) -> String {
        match (&self.namespaces, self.options.hosts.is_empty()) {
            (Some(ns), false) => ns.engine_addr(0),
            _ => "localhost".into(),
        }
    }

    fn write_config(&self) {
        for host in 0..self.servers() {
            self.write_server_config(host);
        }
    }

    fn write_server_config(&self, host: u32) {
        let d = self.dir.path().display();
        let suffix = if host == 0 {
            String::new()
        } else {
            host.to_string()
        };
        let mut yaml = format!(
            "name: daos_server\nport: {port}\nprovider: {provider}\nsocket_dir: {d}/run/server{suffix}\n\
             control_log_file: {d}/server{suffix}.log\ntransport_config:\n  allow_insecure: true\n",
            port = self.port + host as u16,
            provider = self.options.provider,
        );
        let hosts = !self.options.hosts.is_empty();
        if hosts {
            let manager = match &self.namespaces {
                Some(ns) => ns.engine_addr(0),
                None => "127.0.0.1".into(),
            };
            yaml += &format!(
                "mgmt_svc_replicas: ['{manager}:{}']\nfault_path: /host{host}\n",
                self.port
            );
        }
        yaml += "engines:\n";
        for rank in (0..self.options.engines).filter(|&r| self.host_of(r) == host) {
            let iface = match &self.namespaces {
                // The whole server runs in its host's namespace.
                Some(ns) if hosts => ns.engine_iface(host),
                Some(ns) => format!(
                    "{}\n  fabric_netns: {}",
                    ns.engine_iface(rank),
                    ns.netns(rank)
                ),
                None => "lo".to_string(),
            };
            yaml += &format!(
                "- targets: {targets}\n  fabric_iface: {iface}\n  fabric_iface_port: {fabric}\n\
                 \x20 log_file: {log}\n  log_mask: DEBUG\n  storage:\n  - class: ram\n    scm_mount: {scm}\n\
                 \x20   scm_size: {scm_gb}\n  - class: file\n    bdev_list: [{bdev}]\n    bdev_size: {bdev_gb}\n",
                targets = self.options.targets,
                fabric = self.fabric_port + rank as u16 * (self.options.targets as u16 + 1),
                log = self.dir.path().join(Self::engine_log_name(rank)).display(),
                scm = self.scm_path_of(rank).display(),
                bdev = self.bdev_path_of(rank).display(),
                scm_gb = self.options.scm_gb,
                bdev_gb = self.options.bdev_gb,
            );
        }
        std::fs::write(self.server_config_path(host), yaml).expect("writing server config");
    }

    /// The log file name of an engine (`engine.log` for rank 0, `engine<rank>.log` after).
    pub fn engine_log_name(rank: u32) -> String {
        if rank == 0 {
            "engine.log".into()
        } else {
            format!("engine{rank}.log")
        }
    }

    /// The metadata directory of an engine.
    pub fn scm_path_of(&self, rank: u32) -> PathBuf {
        if rank == 0 {
            self.dir.path().join("scm")
        } else {
            self.dir.path().join(format!("scm{rank}"))
        }
    }

    /// The data file of an engine.
    pub fn bdev_path_of(&self, rank: u32) -> PathBuf {
        if rank == 0 {
            self.dir.path().join("bdev")
        } else {
            self.dir.path().join(format!("bdev{rank}"))
        }
    }

    /// The server config file.
    pub fn config_path(&self) -> PathBuf {
        self.server_config_path(0)
    }

    /// The config file of server `host` (see [`Options::hosts`]).
    pub fn server_config_path(&self, host: u32) -> PathBuf {
        if host == 0 {
            self.dir.path().join("daos_server.yml")
        } else {
            self.dir.path().join(format!("daos_server{host}.yml"))
        }
    }

    /// The output file of server `host`.
    pub fn server_out(host: u32) -> String {
        if host == 0 {
            "server.out".into()
        } else {
            format!("server{host}.out")
        }
    }

    /// Environment a client process needs: where the agent socket is.
    pub fn client_env(&self) -> Vec<(String, String)> {
        vec![(
            "DAOS_AGENT_DRPC_DIR".into(),
            self.agent_dir().display().to_string(),
        )]
    }

    /// The agent's runtime directory.
    pub fn agent_dir(&self) -> PathBuf {
        self.dir.path().join("run/agent")
    }

    /// The agent socket.
    pub fn agent_socket(&self) -> PathBuf {
        self.agent_dir().join("daos_agent.sock")
    }

    fn spawn(&mut self) -> Result<(), String> {
        // The management service's server first; then each member server in turn, so that
        // their engines take ranks in server order. Servers left from a failed attempt go
        // first.
        self.stop();
        self.members.clear();
        let child = self.spawn_server(0)?;
        self.server = Some(child);
        self.await_ready(0)?;
        for host in 1..self.servers() {
            let child = self.spawn_server(host)?;
            self.members.push(Some(child));
            self.await_ready(host)?;
        }
        Ok(())
    }

    /// Waits until server `host` is ready (and, for server 0, its agent serves).
    fn await_ready(&mut self, host: u32) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.log(&Self::server_out(host)).contains("ready:")
                && (host > 0 || self.agent_socket().exists())
            {
                return Ok(());
            }
            let slot = if host == 0 {
                &mut self.server
            } else {
                &mut self.members[host as usize - 1]
            };
            let exited = slot.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                *slot = None;
                let text = format!(
                    "daos_server {host} exited ({status}):\n{}\n{}",
                    self.log(&Self::server_out(host)),
                    self.log("engine.log")
                );
                self.stop();
                return Err(text);
            }
            if Instant::now() > deadline {
                let text = format!(
                    "daos_server {host} not ready in time:\n{}",
                    self.log(&Self::server_out(host))
                );
                self.stop();
                return Err(text);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn spawn_server(&self, host: u32) -> Result<Child, String> {
        let out = std::fs::File::create(self.dir.path().join(Self::server_out(host)))
            .map_err(|e| e.to_string())?;
        let mut command = match (&self.namespaces, self.options.hosts.is_empty()) {
            (Some(ns), false) => {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", &ns.netns(host)])
                    .arg(bin("daos_server"));
                command
            }
            _ => Command::new(bin("daos_server")),
        };
        command.arg("start");
        if host == 0 {
            command.arg("--agent");
        }
        command
            .arg("-o")
            .arg(self.server_config_path(host))
            .env("DAOS_RS_RUNTIME_DIR", self.dir.path().join("run"))
            .env("DAOS_RS_HOME", self.dir.path().join("home"))
            .envs(self.options.env.iter().map(|(k, v)| (k.clone(), v.clone())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out);
        command.spawn().map_err(|e| e.to_string())
    }

    /// Contents of a log file in the system's directory ("" if absent).
    pub fn log(&self, name: &str) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join(name)) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Runs `dmg` against this system.
    pub fn dmg(&self, args: &[&str]) -> Output {
        Command::new(bin("dmg"))
            .arg("-l")
            .arg(format!("{}:{}", self.manager_host(), self.port))
            .args(args)
            .output()
            .expect("running dmg")
    }

    /// Runs `dmg -j` and returns the parsed envelope.
    pub fn dmg_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.dmg(&all);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "dmg {args:?} printed no JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Creates a pool; returns its UUID.
    pub fn create_pool(&self, label: &str, size: &str) -> String {
        let value = self.dmg_json(&["pool", "create", &format!("--size={size}"), label]);
        assert_eq!(value["status"], 0, "pool create failed: {value}");
        value["response"]["uuid"]
            .as_str()
            .expect("uuid")
            .to_string()
    }

    /// A command for a project binary with the client environment set.
    pub fn command(&self, name: &str) -> Command {
        let mut command = Command::new(bin(name));
        command.envs(self.client_env());
        command
    }

    /// PIDs of this system's engines.
    pub fn engine_pids(&self) -> Vec<i32> {
        (0..self.options.engines)
            .filter_map(|rank| self.engine_pid(rank))
            .collect()
    }

    /// PID of one engine, if it runs.
    pub fn engine_pid(&self, rank: u32) -> Option<i32> {
        let host = self.host_of(rank);
        let suffix = if host == 0 {
            String::new()
        } else {
            host.to_string()
        };
        let config = self
            .dir
            .path()
            .join(format!("run/server{suffix}/engine{rank}.json"));
        let config = config.to_string_lossy().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_engine = args
                .first()
                .is_some_and(|a| String::from_utf8_lossy(a).ends_with("daos_engine"));
            if is_engine && args.contains(&config.as_bytes()) {
                return Some(pid);
            }
        }
        None
    }

    /// Kills one engine with SIGKILL, as a crash of its node would, and waits until it is gone.
    pub fn kill_engine(&self, rank: u32) {
        self.kill_engines(&[rank]);
    }

    /// Stops one engine with SIGSTOP, as a hang would: its process lives on and answers
    /// nothing (SWIM is what can tell).
    pub fn pause_engine(&self, rank: u32) {
        let Some(pid) = self.engine_pid(rank) else {
            panic!("engine {rank} is not running");
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGSTOP,
        );
    }

    /// Kills several engines with SIGKILL at once (every signal is sent before waiting), as
    /// overlapping crashes would, and waits until all are gone.
    pub fn kill_engines(&self, ranks: &[u32]) {
        for &rank in ranks {
            let Some(pid) = self.engine_pid(rank) else {
                panic!("engine {rank} is not running");
            };
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while ranks.iter().any(|&r| self.engine_pid(r).is_some()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops server `host` (see [`Options::hosts`]) and its engines cleanly (SIGTERM).
    pub fn stop_server(&mut self, host: u32) {
        let slot = if host == 0 {
            &mut self.server
        } else {
            &mut self.members[host as usize - 1]
        };
        if let Some(mut child) = slot.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Stops server `host` cleanly and starts it again on the same directories and ports,
    /// waiting until it is ready (see [`Options::hosts`]).
    pub fn restart_server(&mut self, host: u32) {
        self.stop_server(host);
        if host == 0 {
            let _ = std::fs::remove_file(self.agent_socket());
        }
        let child = self.spawn_server(host).expect("restarting a server");
        if host == 0 {
            self.server = Some(child);
        } else {
            self.members[host as usize - 1] = Some(child);
        }
        self.await_ready(host).expect("restarted server ready");
    }

    /// Kills the server and its engine with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        for pid in self.engine_pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for mut child in self.members.drain(..).flatten().chain(self.server.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.engine_pids().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same directories and ports (after [`TestSystem::kill9`]
    /// or [`TestSystem::stop`]).
    pub fn restart(&mut self) {
        let _ = std::fs::remove_file(self.agent_socket());
        let mut last = String::new();
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(err) => {
                    last = err;
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        panic!("restart failed: {last}");
    }

    /// Stops the system cleanly (SIGTERM; engines checkpoint and exit): member servers
    /// first, then the management service's.
    pub fn stop(&mut self) {
        for host in (0..self.servers()).rev() {
            if host == 0 || self.members.len() >= host as usize {
                self.stop_server(host);
            }
        }
        for pid in self.engine_pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// The data file (for corruption tests).
    pub fn bdev_path(&self) -> PathBuf {
        self.bdev_path_of(0)
    }

    /// The directory of the metadata.
    pub fn scm_path(&self) -> PathBuf {
        self.scm_path_of(0)
    }
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        self.stop();
        // After the engines stopped: their namespaces go with them.
        drop(self.namespaces.take());
        if std::thread::panicking() {
            let mut names: Vec<String> = (0..self.servers()).map(Self::server_out).collect();
            names.extend((0..self.options.engines).map(Self::engine_log_name));
            for name in &names {
                let text = self.log(name);
                let tail: String = text
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                eprintln!("---- {name} (last 40 lines) ----\n{tail}");
            }
        }
    }
}

/// Creates a directory tree of files with deterministic contents for copy tests.
pub fn make_tree(root: &Path, files: usize, size_max: usize, seed: u64) -> u64 {
    let mut total = 0;
    let mut state = seed | 1;
    for i in 0..files {
        let dir = root.join(format!("d{}", i % 7)).join(format!("e{}", i % 3));
        std::fs::create_dir_all(&dir).expect("creating tree");
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let size = (state as usize) % (size_max + 1);
        let data: Vec<u8> = (0..size)
            .map(|j| (j as u64).wrapping_mul(state) as u8)
            .collect();
        std::fs::write(dir.join(format!("f{i}.bin")), &data).expect("writing tree file");
        total += size as u64;
    }
    total
}

/// Network namespaces for a test system's engines (or servers, with [`Options::hosts`]; the
/// methods' `rank` is then the server's index): a bridge in this namespace with address
/// `10.A.B.1/24`, and per engine a namespace holding one end of a veth pair (address
/// `10.A.B.(10 + rank)`, default route via the bridge), whose other end is on the bridge.
/// Cutting an engine off takes its bridge-side link down. Removed on drop.
#[derive(Debug)]
pub struct Namespaces {
    tag: u32,
    engines: u32,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Namespaces {
    /// Whether this machine lets tests make network namespaces (root, `ip` installed).
    pub fn supported() -> bool {
        let probe = format!("drsprobe{}", std::process::id());
        let made = ip(&["netns", "add", &probe]).is_ok();
        if made {
            let _ = ip(&["netns", "del", &probe]);
        }
        made
    }

    fn create(engines: u32) -> Result<Namespaces, String> {
        use std::collections::hash_map::RandomState;
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let tag = (hasher.finish() % 60000) as u32 + 1;
        let ns = Namespaces { tag, engines };
        let (bridge, subnet) = (ns.bridge(), ns.subnet());
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{subnet}.1/24"), "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for rank in 0..engines {
            let (netns, host, inner) = (ns.netns(rank), ns.host_link(rank), ns.engine_iface(rank));
            ip(&["netns", "add", &netns])?;
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &netns])?;
            ip(&["link", "set", &host, "master", &bridge, "up"])?;
            let addr = format!("{subnet}.{}/24", 10 + rank);
            ip(&["-n", &netns, "addr", "add", &addr, "dev", &inner])?;
            ip(&["-n", &netns, "link", "set", &inner, "up"])?;
            ip(&["-n", &netns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &netns,
                "route",
                "add",
                "default",
                "via",
                &format!("{subnet}.1"),
            ])?;
        }
        Ok(ns)
    }

    fn subnet(&self) -> String {
        format!("10.{}.{}", 100 + self.tag / 256 % 150, self.tag % 256)
    }

    /// The bridge's name.
    pub fn bridge(&self) -> String {
        format!("drb{}", self.tag)
    }

    /// Engine `rank`'s namespace.
    pub fn netns(&self, rank: u32) -> String {
        format!("drs{}e{rank}", self.tag)
    }

    /// The bridge-side end of engine `rank`'s link.
    pub fn host_link(&self, rank: u32) -> String {
        format!("drv{}h{rank}", self.tag)
    }

    /// Engine `rank`'s interface, inside its namespace.
    pub fn engine_iface(&self, rank: u32) -> String {
        format!("drv{}e{rank}", self.tag)
    }

    /// Engine `rank`'s address.
    pub fn engine_addr(&self, rank: u32) -> String {
        format!("{}.{}", self.subnet(), 10 + rank)
    }

    /// Cuts engine `rank` off from every other party (its link to the bridge goes down).
    pub fn cut(&self, rank: u32) {
        ip(&["link", "set", &self.host_link(rank), "down"]).unwrap();
    }

    /// Reconnects engine `rank`.
    pub fn heal(&self, rank: u32) {
        ip(&["link", "set", &self.host_link(rank), "up"]).unwrap();
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for rank in 0..self.engines {
            let _ = ip(&["netns", "del", &self.netns(rank)]);
            let _ = ip(&["link", "del", &self.host_link(rank)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}
