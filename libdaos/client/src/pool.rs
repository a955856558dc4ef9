//! Pools: connect, disconnect, query, list containers (`daos_pool_*`).

use crate::client::Client;
use daos_fabric::NetContext;
use daos_placement::{Placement, PoolMap};
use daos_proto::msg::{
    ContListReply, PoolConnectReply, PoolConnectReq, PoolHandleReq, PoolQueryReply, Space,
};
use daos_proto::Opcode;
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::prop::Props;
use daos_types::{Der, Error, Result, Uuid};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The shortest time between two pool-map queries of one handle made by [`Pool::refresh_map`].
pub const MAP_REFRESH_INTERVAL: Duration = Duration::from_millis(200);

/// `DAOS_PC_RO`.
pub const PC_RO: u32 = 1;
/// `DAOS_PC_RW`.
pub const PC_RW: u32 = 2;
/// `DAOS_PC_EX`.
pub const PC_EX: u32 = 4;

/// What `daos_pool_query` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// Pool UUID.
    pub uuid: Uuid,
    /// Label.
    pub label: String,
    /// Pool map version.
    pub map_version: u32,
    /// Targets in the pool.
    pub targets: u32,
    /// Engines in the pool.
    pub ranks: u32,
    /// Targets not up.
    pub disabled: u32,
    /// Pool service leader rank.
    pub leader: u32,
    /// Metadata space.
    pub scm: Space,
    /// Data space.
    pub nvme: Space,
}

/// A connected pool handle.
pub struct Pool {
    client: Arc<Client>,
    uuid: Uuid,
    label: String,
    handle: Uuid,
    svc_ranks: Vec<u32>,
    /// Index in `svc_ranks` of the replica that last answered as the service leader.
    svc_leader: AtomicUsize,
    map: RwLock<PoolMap>,
    /// The placement of `map` and its version, built on first use (see [`Pool::placement`]).
    placement: RwLock<Option<(u32, Arc<Placement>)>>,
    /// When [`Pool::refresh_map`] last asked the pool service.
    last_map_refresh: Mutex<Option<std::time::Instant>>,
    props: Props,
    flags: u32,
    pub(crate) open_containers: AtomicUsize,
    disconnected: AtomicBool,
    imported: bool,
}

impl Pool {
    /// Connects to the pool named by `id` (label or UUID) with `DAOS_PC_*` flags
    /// (`daos_pool_connect`).
    ///
    /// Errors: `-DER_NONEXIST` for an unknown pool; `-DER_INVAL` for bad flags or name.
    pub async fn connect(
        client: &Arc<Client>,
        net: &Arc<NetContext>,
        id: &str,
        flags: u32,
    ) -> Result<Arc<Pool>> {
        if (flags & (PC_RO | PC_RW | PC_EX)).count_ones() != 1
            || flags & !(PC_RO | PC_RW | PC_EX) != 0
        {
            return Err(Error::new(
                Der::Inval,
                "pool connect flags need exactly one of DAOS_PC_RO, RW or EX",
            ));
        }
        let (uuid, _, svc_ranks) = client.pool_find(id)?;
        let handle = Uuid::new_v4();
        let req = PoolConnectReq {
            pool: uuid,
            handle,
            flags,
            cred: client.credential().clone(),
        };
        let svc_leader = AtomicUsize::new(0);
        // The replicas daos_server recorded, then every other engine: the leader may have
        // replaced replicas since daos_server last heard from it.
        let mut candidates = svc_ranks.clone();
        candidates.extend(
            client
                .attach()
                .ranks
                .iter()
                .map(|r| r.rank)
                .filter(|r| !svc_ranks.contains(r)),
        );
        let reply: PoolConnectReply = client
            .call_service(
                net,
                &candidates,
                svc_ranks.len(),
                &svc_leader,
                Opcode::PoolConnect,
                &req,
                64 * 1024,
            )
            .await
            .map_err(|e| e.with_context(format!("connecting to pool {id}")))?;
        Ok(Arc::new(Pool {
            client: client.clone(),
            uuid,
            label: reply.label,
            handle,
            svc_ranks,
            svc_leader,
            map: RwLock::new(reply.map.0),
            placement: RwLock::new(None),
            last_map_refresh: Mutex::new(None),
            props: reply.props.0,
            flags,
            open_containers: AtomicUsize::new(0),
            disconnected: AtomicBool::new(false),
            imported: false,
        }))
    }

    /// The client this handle belongs to.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// Pool UUID.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// Pool label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The handle's UUID.
    pub fn handle(&self) -> Uuid {
        self.handle
    }

    /// Connect flags.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Pool properties.
    pub fn props(&self) -> &Props {
        &self.props
    }

    /// A copy of the current pool map.
    pub fn map(&self) -> PoolMap {
        self.map.read().expect("pool map lock").clone()
    }

    /// Takes `map` if it is newer than the one held (pool maps only move forward).
    pub fn update_map(&self, map: PoolMap) -> bool {
        let mut held = self.map.write().expect("pool map lock");
        if map.version > held.version {
            tracing::debug!(
                "pool {}: map version {} -> {}",
                self.uuid,
                held.version,
                map.version
            );
            *held = map;
            true
        } else {
            false
        }
    }

    /// Asks the pool service for the current pool map (after an engine stopped answering).
    /// Calls from every waiting operation of this handle share one query per
    /// [`MAP_REFRESH_INTERVAL`]: the others return at once and read [`Pool::map`].
    ///
    /// Errors: those of `daos_pool_query`.
    pub async fn refresh_map(&self, net: &Arc<NetContext>) -> Result<()> {
        {
            let mut last = self.last_map_refresh.lock().expect("refresh lock");
            if last.is_some_and(|t| t.elapsed() < MAP_REFRESH_INTERVAL) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        self.query(net).await.map(drop)
    }

    /// The placement of the pool map held, and that map's version. Built once per map version
    /// and shared by every object of this handle: building one walks every target, once per
    /// level of the map's base chain, which is far more than computing a layout from it
    /// (`cargo bench -p daos-placement` measures both).
    pub fn placement(&self) -> (u32, Arc<Placement>) {
        let version = self.map_version();
        if let Some((held, placement)) = &*self.placement.read().expect("placement lock") {
            if *held == version {
                return (*held, placement.clone());
            }
        }
        let (version, placement) = {
            let map = self.map.read().expect("pool map lock");
            (map.version, Arc::new(map.placement()))
        };
        let mut cached = self.placement.write().expect("placement lock");
        if cached.as_ref().is_none_or(|(held, _)| *held < version) {
            *cached = Some((version, placement.clone()));
        }
        (version, placement)
    }

    /// Engines in the pool map held (without copying the map).
    pub fn rank_count(&self) -> usize {
        self.map.read().expect("pool map lock").ranks.len()
    }

    /// Targets in the pool map held (without copying the map).
    pub fn target_count(&self) -> usize {
        self.map.read().expect("pool map lock").target_count()
    }

    /// The version of the pool map held.
    pub fn map_version(&self) -> u32 {
        self.map.read().expect("pool map lock").version
    }

    /// Fails with `-DER_NO_HDL` once disconnected.
    pub fn check_open(&self) -> Result<()> {
        if self.disconnected.load(Ordering::Acquire) {
            Err(Error::new(Der::NoHdl, "pool handle was disconnected"))
        } else {
            Ok(())
        }
    }

    /// Where to look for the pool service leader: the service ranks known at connect, then
    /// the pool's other engines that are in the pool map (the leader replaces replicas on
    /// excluded engines by others, see the engine's `service` module).
    fn service_candidates(&self) -> Vec<u32> {
        let mut ranks = self.svc_ranks.clone();
        let map = self.map.read().expect("pool map lock");
        ranks.extend(
            map.ranks
                .iter()
                .filter(|r| !r.is_excluded() && !self.svc_ranks.contains(&r.rank))
                .map(|r| r.rank),
        );
        ranks
    }

    /// Sends a request to the pool service.
    pub(crate) async fn call_service<T: Wire>(
        &self,
        net: &Arc<NetContext>,
        opcode: Opcode,
        body: &impl Wire,
        capacity: usize,
    ) -> Result<T> {
        self.check_open()?;
        let candidates = self.service_candidates();
        self.client
            .call_service(
                net,
                &candidates,
                candidates.len(),
                &self.svc_leader,
                opcode,
                body,
                capacity,
            )
            .await
    }

    /// Disconnects (`daos_pool_disconnect`). An imported handle (global2local) disconnects
    /// locally only, as in DAOS.
    ///
    /// Errors: `-DER_BUSY` while containers are open on this handle; `-DER_NO_HDL` if already
    /// disconnected.
    pub async fn disconnect(&self, net: &Arc<NetContext>) -> Result<()> {
        self.check_open()?;
        let open = self.open_containers.load(Ordering::Acquire);
        if open > 0 {
            return Err(Error::new(
                Der::Busy,
                format!("{open} containers are still open on this pool handle"),
            ));
        }
        if !self.imported {
            let req = PoolHandleReq {
                pool: self.uuid,
                handle: self.handle,
            };
            let outcome = self
                .client
                .call_service::<daos_proto::msg::Empty>(
                    net,
                    &self.service_candidates(),
                    usize::MAX,
                    &self.svc_leader,
                    Opcode::PoolDisconnect,
                    &req,
                    64,
                )
                .await;
            match outcome {
                // A service that lost the handle: it is gone either way.
                Err(err) if err.der() != Der::NoHdl => return Err(err),
                _ => {}
            }
        }
        self.disconnected.store(true, Ordering::Release);
        Ok(())
    }

    /// Space, map and service facts (`daos_pool_query`).
    ///
    /// Errors: `-DER_NO_HDL` for a stale handle.
    pub async fn query(&self, net: &Arc<NetContext>) -> Result<PoolInfo> {
        let reply: PoolQueryReply = self
            .call_service(
                net,
                Opcode::PoolQuery,
                &PoolHandleReq {
                    pool: self.uuid,
                    handle: self.handle,
                },
                256 * 1024,
            )
            .await?;
        let map = reply.map.0;
        self.update_map(map.clone());
        let targets = map.target_count() as u32;
        let disabled = map
            .ranks
            .iter()
            .flat_map(|r| r.targets.iter())
            .filter(|t| t.state.is_excluded())
            .count() as u32;
        let info = PoolInfo {
            uuid: self.uuid,
            label: reply.label,
            map_version: map.version,
            targets,
            ranks: map.ranks.len() as u32,
            disabled,
            leader: reply.leader,
            scm: reply.scm,
            nvme: reply.nvme,
        };
        *self.map.write().expect("pool map lock") = map;
        Ok(info)
    }

    /// Containers of the pool: `(uuid, label)`.
    ///
    /// Errors: `-DER_NO_HDL` for a stale handle.
    pub async fn list_containers(&self, net: &Arc<NetContext>) -> Result<Vec<(Uuid, String)>> {
        let reply: ContListReply = self
            .call_service(
                net,
                Opcode::ContList,
                &PoolHandleReq {
                    pool: self.uuid,
                    handle: self.handle,
                },
                1 << 20,
            )
            .await?;
        Ok(reply
            .containers
            .into_iter()
            .map(|c| (c.uuid, c.label))
            .collect())
    }

    /// Serialises the handle for another process (`daos_pool_local2global`).
    pub fn to_global(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(GLOBAL_MAGIC)
            .uuid(&self.uuid)
            .str(&self.label)
            .uuid(&self.handle)
            .u32(self.flags);
        self.svc_ranks.encode(&mut e);
        daos_proto::msg::WireMap(self.map()).encode(&mut e);
        daos_proto::msg::WireProps(self.props.clone()).encode(&mut e);
        e.finish()
    }

    /// A handle from [`Pool::to_global`] bytes (`daos_pool_global2local`). Disconnecting it
    /// is local-only.
    ///
    /// Errors: `-DER_INVAL` for bytes that are not a pool handle.
    pub fn from_global(client: &Arc<Client>, bytes: &[u8]) -> Result<Arc<Pool>> {
        let bad = |_| Error::new(Der::Inval, "not a global pool handle");
        let mut d = Decoder::new(bytes);
        if d.u32("magic").map_err(bad)? != GLOBAL_MAGIC {
            return Err(Error::new(Der::Inval, "not a global pool handle"));
        }
        let uuid = d.uuid("uuid").map_err(bad)?;
        let label = d.str(256, "label").map_err(bad)?.to_string();
        let handle = d.uuid("handle").map_err(bad)?;
        let flags = d.u32("flags").map_err(bad)?;
        let svc_ranks = Vec::<u32>::decode(&mut d).map_err(bad)?;
        let map = daos_proto::msg::WireMap::decode(&mut d).map_err(bad)?.0;
        let props = daos_proto::msg::WireProps::decode(&mut d).map_err(bad)?.0;
        d.finish().map_err(bad)?;
        Ok(Arc::new(Pool {
            client: client.clone(),
            uuid,
            label,
            handle,
            svc_ranks,
            svc_leader: AtomicUsize::new(0),
            map: RwLock::new(map),
            placement: RwLock::new(None),
            last_map_refresh: Mutex::new(None),
            props,
            flags,
            open_containers: AtomicUsize::new(0),
            disconnected: AtomicBool::new(false),
            imported: true,
        }))
    }
}

const GLOBAL_MAGIC: u32 = u32::from_le_bytes(*b"GPH1");

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} {:?})", self.uuid, self.label)
    }
}
