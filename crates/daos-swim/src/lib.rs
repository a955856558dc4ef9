//! SWIM membership and failure detection for a DAOS system.
//!
//! DAOS's engines detect each other's failures with SWIM (over CART); here `daos_server` and
//! its engines run the same protocol over UDP, through the `foca` crate (SWIM with
//! infection-style dissemination and suspicion, "SWIM+Inf.+Susp."). This crate supplies what
//! foca leaves to its user: the identity of a member ([`SwimId`]: rank, UDP address and
//! incarnation), a socket, timers and a thread ([`Swim::start`]), and reports of members going
//! up and down ([`MemberEvent`]).
//!
//! Timing follows foca's LAN settings for the cluster's size: a probe every second with a
//! 500 ms round trip, three indirect probes, and a suspicion of at least three seconds before
//! a member is declared down, so a member that stops answering is reported down within about
//! six seconds (`tests/cluster.rs` prints the time it measures: 5.7 s on our machine).

#![forbid(unsafe_code)]

use foca::{AccumulatingRuntime, Config, Foca, Identity, OwnedNotification, PostcardCodec, Timer};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The rank that names `daos_server`'s own member (engines have ranks below it).
pub const CONTROL_RANK: u32 = u32::MAX;

/// Longest wait for a datagram between two timer checks.
const POLL: Duration = Duration::from_millis(100);
/// Shortest time a suspected member has to refute the suspicion before it is declared down.
const MIN_SUSPICION: Duration = Duration::from_secs(3);
/// Room for one datagram (foca keeps packets under 1,400 bytes on a LAN).
const DATAGRAM_MAX: usize = 2048;

/// A member of the system's SWIM cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SwimId {
    /// Engine rank, or [`CONTROL_RANK`] for `daos_server`.
    pub rank: u32,
    /// UDP address the member listens on.
    pub addr: SocketAddr,
    /// Distinguishes the lives of a member at one address: a restarted engine joins with a
    /// higher one (see [`incarnation_now`]), and wins over its old identity.
    pub incarnation: u64,
}

impl Identity for SwimId {
    type Addr = SocketAddr;

    /// A member declared down while it still runs (paused, cut off) may come back under the
    /// next incarnation; whoever watches the cluster decides what that means for it.
    fn renew(&self) -> Option<Self> {
        Some(SwimId {
            incarnation: self.incarnation + 1,
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

/// The UDP address of a member at `host` (an IPv4 address; empty for a provider without one,
/// which means this host only: `127.0.0.1`) and `port`.
///
/// Errors: `InvalidInput` for a host that is not an IP address.
pub fn member_addr(host: &str, port: u16) -> io::Result<SocketAddr> {
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let ip: std::net::IpAddr = host.parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("SWIM host {host}: {e}"),
        )
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// An incarnation for a member starting now: nanoseconds since the Unix epoch, so that a
/// restarted member outranks its earlier life.
pub fn incarnation_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

/// A change of membership, as SWIM concluded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    /// The member joined, or came back (a new incarnation replaces an old one).
    Up(SwimId),
    /// The member stopped answering probes, direct and indirect, past its suspicion time (or
    /// left).
    Down(SwimId),
}

/// A running SWIM member: a thread serving one UDP socket. Stopped (without announcing a
/// leave: the others detect it) when dropped.
pub struct Swim {
    me: SwimId,
    stop: Arc<AtomicBool>,
    members: Arc<Mutex<Vec<SwimId>>>,
    thread: Option<JoinHandle<()>>,
    announce: std::sync::mpsc::Sender<SocketAddr>,
}

/// Asks a running [`Swim`] member to announce itself to the member at an address, as a
/// joining member does to its seed: how a restarted seed (the management service) finds the
/// members that joined through its earlier life. Cheap to clone; does nothing once the
/// member stopped.
#[derive(Clone, Debug)]
pub struct Announcer {
    tx: std::sync::mpsc::Sender<SocketAddr>,
    members: Arc<Mutex<Vec<SwimId>>>,
}

impl Announcer {
    /// Announces to the member listening at `addr` (UDP).
    pub fn announce(&self, addr: SocketAddr) {
        let _ = self.tx.send(addr);
    }

    /// Whether the member holds one at `addr` alive or suspect.
    pub fn knows(&self, addr: SocketAddr) -> bool {
        self.members
            .lock()
            .expect("members lock")
            .iter()
            .any(|m| m.addr == addr)
    }
}

impl Swim {
    /// Binds `me.addr` (UDP; port 0 picks a free one, see [`Swim::id`]), joins the cluster through `seed` (`None` for the first member,
    /// which the others join through) and runs the protocol on its own thread, for a cluster
    /// of about `cluster_size` members (it tunes the timing). Every membership change is
    /// passed to `on_event` on that thread.
    ///
    /// Errors: the socket's (`EADDRINUSE` when the address is taken).
    pub fn start(
        me: SwimId,
        seed: Option<SocketAddr>,
        cluster_size: u32,
        on_event: impl FnMut(MemberEvent) + Send + 'static,
    ) -> io::Result<Swim> {
        let socket = UdpSocket::bind(me.addr)?;
        // Port 0 asks for any free port: the identity carries the one bound.
        let me = SwimId {
            addr: socket.local_addr()?,
            ..me
        };
        let mut config = Config::new_lan(NonZeroU32::new(cluster_size.max(2)).expect("nonzero"));
        // A loaded two-core machine can delay a busy member's answers by a second or two;
        // suspecting a member a little longer costs seconds of detection, while a false
        // "down" costs a healthy engine.
        config.suspect_to_down_after = config.suspect_to_down_after.max(MIN_SUSPICION);
        let rng = SmallRng::seed_from_u64(me.incarnation ^ u64::from(me.rank));
        let foca = Foca::new(me.clone(), config, rng, PostcardCodec);
        let stop = Arc::new(AtomicBool::new(false));
        let members = Arc::new(Mutex::new(Vec::new()));
        let (announce, announcements) = std::sync::mpsc::channel();
        let mut member = Member {
            announcements,
            foca,
            socket,
            runtime: AccumulatingRuntime::new(),
            timers: Vec::new(),
            members: members.clone(),
            on_event: Box::new(on_event),
        };
        if let Some(seed) = seed {
            member.announce(seed);
        }
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("swim-{}", me.rank))
            .spawn(move || member.run(&flag))?;
        Ok(Swim {
            me,
            stop,
            members,
            thread: Some(thread),
            announce,
        })
    }

    /// An [`Announcer`] for this member.
    pub fn announcer(&self) -> Announcer {
        Announcer {
            tx: self.announce.clone(),
            members: self.members.clone(),
        }
    }

    /// This member's identity.
    pub fn id(&self) -> &SwimId {
        &self.me
    }

    /// The other members this one currently holds alive or suspect.
    pub fn members(&self) -> Vec<SwimId> {
        self.members.lock().expect("members lock").clone()
    }
}

impl Drop for Swim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The state of the protocol thread.
struct Member {
    foca: Foca<SwimId, PostcardCodec, SmallRng, foca::NoCustomBroadcast>,
    socket: UdpSocket,
    runtime: AccumulatingRuntime<SwimId>,
    /// Timers foca asked for, with when they are due (a handful at a time).
    timers: Vec<(Instant, Timer<SwimId>)>,
    members: Arc<Mutex<Vec<SwimId>>>,
    on_event: Box<dyn FnMut(MemberEvent) + Send>,
    /// Addresses to announce to ([`Announcer`]).
    announcements: std::sync::mpsc::Receiver<SocketAddr>,
}

impl Member {
    /// Announces this member to whoever listens at `addr`.
    fn announce(&mut self, addr: SocketAddr) {
        // Foca accepts an announce addressed to any identity at its address.
        let dst = SwimId {
            rank: CONTROL_RANK,
            addr,
            incarnation: 0,
        };
        if let Err(err) = self.foca.announce(dst, &mut self.runtime) {
            tracing::warn!("swim: announce to {addr}: {err}");
        }
        self.flush();
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut buf = vec![0u8; DATAGRAM_MAX];
        while !stop.load(Ordering::Relaxed) {
            while let Ok(addr) = self.announcements.try_recv() {
                self.announce(addr);
            }
            let now = Instant::now();
            let mut due = Vec::new();
            self.timers.retain(|(at, timer)| {
                if *at <= now {
                    due.push(timer.clone());
                    false
                } else {
                    true
                }
            });
            for timer in due {
                if let Err(err) = self.foca.handle_timer(timer, &mut self.runtime) {
                    tracing::debug!("swim: timer: {err}");
                }
            }
            self.flush();
            let wait = self
                .timers
                .iter()
                .map(|(at, _)| at.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(POLL)
                .clamp(Duration::from_millis(1), POLL);
            if self.socket.set_read_timeout(Some(wait)).is_err() {
                std::thread::sleep(wait);
                continue;
            }
            match self.socket.recv_from(&mut buf) {
                Ok((len, _from)) => {
                    // Bad or foreign datagrams are refused by foca's decoder; nothing else
                    // to do about them.
                    if let Err(err) = self.foca.handle_data(&buf[..len], &mut self.runtime) {
                        tracing::debug!("swim: datagram refused: {err}");
                    }
                    self.flush();
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                // ICMP "port unreachable" from a member that is gone surfaces here on Linux.
                Err(err) => tracing::debug!("swim: receive: {err}"),
            }
        }
    }

    /// Sends what foca queued, schedules its timers and reports its notifications.
    fn flush(&mut self) {
        while let Some((to, data)) = self.runtime.to_send() {
            if let Err(err) = self.socket.send_to(&data, to.addr) {
                tracing::debug!("swim: send to rank {} at {}: {err}", to.rank, to.addr);
            }
        }
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.timers.push((Instant::now() + after, timer));
        }
        let mut events = Vec::new();
        while let Some(notification) = self.runtime.to_notify() {
            events.push(match notification {
                OwnedNotification::MemberUp(id) => MemberEvent::Up(id),
                OwnedNotification::Rename(_, id) => MemberEvent::Up(id),
                OwnedNotification::MemberDown(id) => MemberEvent::Down(id),
                _ => continue,
            });
        }
        // The member list first, so that whoever handles an event finds it up to date.
        if !events.is_empty() {
            *self.members.lock().expect("members lock") =
                self.foca.iter_members().map(|m| m.id().clone()).collect();
        }
        for event in events {
            tracing::info!("swim: {event:?}");
            (self.on_event)(event);
        }
    }
}
