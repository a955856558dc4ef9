//! Containers: create, open, close, destroy, query, snapshots, object ids (`daos_cont_*`).

use crate::pool::Pool;
use daos_fabric::NetContext;
use daos_proto::msg::*;
use daos_proto::Opcode;
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::label::EntityRef;
use daos_types::oclass::{ObjectClass, OclassId, OC_UNKNOWN};
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, Error, ObjectId, ObjectType, Result, Uuid};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `DAOS_COO_RO`.
pub const COO_RO: u32 = 1;
/// `DAOS_COO_RW`.
pub const COO_RW: u32 = 2;
/// `DAOS_COO_EX`.
pub const COO_EX: u32 = 4;

/// An open container handle.
pub struct Container {
    pool: Arc<Pool>,
    uuid: Uuid,
    label: String,
    handle: Uuid,
    flags: u32,
    props: Props,
    closed: AtomicBool,
    imported: bool,
}

/// The root object id DAOS puts in `DAOS_PROP_CO_ROOTS` when the creator gives none.
fn root_oid(redundancy_factor: u32) -> ObjectId {
    ObjectId::new(0, 1).encode(
        ObjectType::MultiHashed,
        daos_placement::default_class(false, redundancy_factor, 0),
    )
}

impl Container {
    /// Creates a container (`daos_cont_create`): `uuid` is chosen by the caller or generated;
    /// the label, layout and other properties come from `props`. A root object id is put in
    /// `DAOS_PROP_CO_ROOTS` when none is given, as DAOS does.
    ///
    /// Errors: `-DER_EXIST` if the UUID or label is taken; `-DER_INVAL` for bad properties.
    pub async fn create(
        pool: &Arc<Pool>,
        net: &Arc<NetContext>,
        uuid: Option<Uuid>,
        mut props: Props,
    ) -> Result<Uuid> {
        let uuid = uuid.unwrap_or_else(Uuid::new_v4);
        if let Some(label) = props.text(prop::CO_LABEL) {
            daos_types::label::check_label(label)?;
        }
        if props.get(prop::CO_ROOTS).is_none() {
            let rf = props.number(prop::CO_REDUN_FAC).unwrap_or(0) as u32;
            props.set(
                prop::CO_ROOTS,
                PropValue::Roots([
                    root_oid(rf),
                    ObjectId::default(),
                    ObjectId::default(),
                    ObjectId::default(),
                ]),
            );
        }
        let req = ContCreateReq {
            pool: pool.uuid(),
            pool_handle: pool.handle(),
            cont: uuid,
            props: WireProps(props),
            cred: pool.client().credential().clone(),
        };
        let _: ContReply = pool
            .call_service(net, Opcode::ContCreate, &req, 64 * 1024)
            .await?;
        Ok(uuid)
    }

    /// Opens a container by label or UUID with `DAOS_COO_*` flags (`daos_cont_open`).
    ///
    /// Errors: `-DER_NONEXIST` if absent; `-DER_BUSY` for an exclusive open of a busy one.
    pub async fn open(
        pool: &Arc<Pool>,
        net: &Arc<NetContext>,
        id: &str,
        flags: u32,
    ) -> Result<Arc<Container>> {
        let cont = EntityRef::parse(id)?;
        let handle = Uuid::new_v4();
        let req = ContOpenReq {
            pool: pool.uuid(),
            pool_handle: pool.handle(),
            cont,
            handle,
            flags,
        };
        let reply: ContReply = pool
            .call_service(net, Opcode::ContOpen, &req, 64 * 1024)
            .await?;
        pool.open_containers.fetch_add(1, Ordering::AcqRel);
        let label = reply.props.0.text(prop::CO_LABEL).unwrap_or("").to_string();
        Ok(Arc::new(Container {
            pool: pool.clone(),
            uuid: reply.info.uuid,
            label,
            handle,
            flags,
            props: reply.props.0,
            closed: AtomicBool::new(false),
            imported: false,
        }))
    }

    /// Destroys a container (`daos_cont_destroy`).
    ///
    /// Errors: `-DER_NONEXIST` if absent; `-DER_BUSY` if open and `force` is false.
    pub async fn destroy(
        pool: &Arc<Pool>,
        net: &Arc<NetContext>,
        id: &str,
        force: bool,
    ) -> Result<()> {
        let req = ContDestroyReq {
            pool: pool.uuid(),
            pool_handle: pool.handle(),
            cont: EntityRef::parse(id)?,
            force: Flag(force),
        };
        pool.call_service::<Empty>(net, Opcode::ContDestroy, &req, 64)
            .await
            .map(drop)
    }

    fn handle_req(&self) -> ContHandleReq {
        ContHandleReq {
            pool: self.pool.uuid(),
            pool_handle: self.pool.handle(),
            cont: self.uuid,
            handle: self.handle,
        }
    }

    /// Fails with `-DER_NO_HDL` once closed.
    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(Der::NoHdl, "container handle was closed"));
        }
        self.pool.check_open()
    }

    /// Closes the handle (`daos_cont_close`); an imported handle closes locally only.
    ///
    /// Errors: `-DER_NO_HDL` if already closed.
    pub async fn close(&self, net: &Arc<NetContext>) -> Result<()> {
        self.check_open()?;
        if !self.imported {
            let result = self
                .pool
                .call_service::<Empty>(net, Opcode::ContClose, &self.handle_req(), 64)
                .await;
            match result {
                Ok(_) => {}
                Err(err) if err.der() == Der::NoHdl => {}
                Err(err) => return Err(err),
            }
        }
        self.closed.store(true, Ordering::Release);
        self.pool.open_containers.fetch_sub(1, Ordering::AcqRel);
        Ok(())
    }

    /// Facts and properties (`daos_cont_query`).
    ///
    /// Errors: `-DER_NO_HDL` for a stale handle.
    pub async fn query(&self, net: &Arc<NetContext>) -> Result<(ContInfo, Props)> {
        self.check_open()?;
        let reply: ContReply = self
            .pool
            .call_service(net, Opcode::ContQuery, &self.handle_req(), 64 * 1024)
            .await?;
        Ok((reply.info, reply.props.0))
    }

    /// Takes a snapshot; returns its epoch (`daos_cont_create_snap_opt`).
    pub async fn create_snapshot(&self, net: &Arc<NetContext>, name: &str) -> Result<u64> {
        self.check_open()?;
        let req = SnapCreateReq {
            handle: self.handle_req(),
            name: name.to_string(),
        };
        let reply: U64Reply = self
            .pool
            .call_service(net, Opcode::ContSnapCreate, &req, 64)
            .await?;
        Ok(reply.value)
    }

    /// Snapshots, ascending epoch: `(epoch, name)` (`daos_cont_list_snap`).
    pub async fn list_snapshots(&self, net: &Arc<NetContext>) -> Result<Vec<(u64, String)>> {
        self.check_open()?;
        let reply: SnapListReply = self
            .pool
            .call_service(net, Opcode::ContSnapList, &self.handle_req(), 1 << 20)
            .await?;
        Ok(reply
            .snapshots
            .into_iter()
            .map(|s| (s.epoch, s.name))
            .collect())
    }

    /// Destroys snapshots with epochs in `[lo, hi]` (`daos_cont_destroy_snap`).
    ///
    /// Errors: `-DER_NONEXIST` when none is in the range.
    pub async fn destroy_snapshots(&self, net: &Arc<NetContext>, lo: u64, hi: u64) -> Result<()> {
        self.check_open()?;
        let req = SnapDestroyReq {
            handle: self.handle_req(),
            epoch_lo: lo,
            epoch_hi: hi,
        };
        self.pool
            .call_service::<Empty>(net, Opcode::ContSnapDestroy, &req, 64)
            .await
            .map(drop)
    }

    /// Reserves `count` object ids; returns the first (`daos_cont_alloc_oids`).
    pub async fn alloc_oids(&self, net: &Arc<NetContext>, count: u64) -> Result<u64> {
        self.check_open()?;
        let req = AllocOidsReq {
            handle: self.handle_req(),
            count,
        };
        let reply: U64Reply = self
            .pool
            .call_service(net, Opcode::ContAllocOids, &req, 64)
            .await?;
        Ok(reply.value)
    }

    /// The pool handle.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// Container UUID.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// Label ("" if none).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The handle's UUID.
    pub fn handle(&self) -> Uuid {
        self.handle
    }

    /// Open flags.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether the handle may write.
    pub fn writable(&self) -> bool {
        self.flags & (COO_RW | COO_EX) != 0
    }

    /// Properties as of open.
    pub fn props(&self) -> &Props {
        &self.props
    }

    /// The redundancy factor (`rd_fac`).
    pub fn redundancy_factor(&self) -> u32 {
        self.props.number(prop::CO_REDUN_FAC).unwrap_or(0) as u32
    }

    /// Checksum chunk size, or 0 when checksums are off.
    pub fn csum_chunk(&self) -> u64 {
        match self
            .props
            .number(prop::CO_CSUM)
            .and_then(prop::ChecksumType::from_value)
        {
            Some(prop::ChecksumType::Off) | None => 0,
            Some(_) => self
                .props
                .number(prop::CO_CSUM_CHUNK_SIZE)
                .unwrap_or(prop::CSUM_CHUNK_SIZE_DEFAULT),
        }
    }

    /// `daos_obj_generate_oid`: encodes type and class into `oid` (keeping its user bits).
    /// `OC_UNKNOWN` picks a class from the container's redundancy factor and the type; the
    /// group count is fitted to the pool (`GX`: every target the pool has now).
    ///
    /// Errors: `-DER_INVAL` for an unknown class id or one the pool cannot hold.
    pub fn generate_oid(
        &self,
        oid: ObjectId,
        otype: ObjectType,
        class: OclassId,
    ) -> Result<ObjectId> {
        let class = if class == OC_UNKNOWN {
            daos_placement::default_class(
                otype.is_array(),
                self.redundancy_factor(),
                self.pool.rank_count(),
            )
        } else {
            ObjectClass::from_id(class)
                .ok_or_else(|| Error::new(Der::Inval, format!("unknown object class {class:#x}")))?
        };
        let targets = self.pool.target_count() as u32;
        if class.redundancy.group_size() > targets {
            return Err(Error::new(
                Der::Inval,
                format!(
                    "class {} needs {} targets, the pool has {targets}",
                    class.name(),
                    class.redundancy.group_size()
                ),
            ));
        }
        // "GX" is fixed to the pool's size now (as DAOS's `daos_oclass_fit_max`), so that
        // extending the pool later moves shards without regrouping the object's dkeys.
        let groups = class
            .groups
            .min((targets / class.redundancy.group_size()).max(1));
        Ok(oid.encode(
            otype,
            ObjectClass {
                redundancy: class.redundancy,
                groups,
            },
        ))
    }

    /// Serialises the handle for another process (`daos_cont_local2global`).
    pub fn to_global(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(GLOBAL_MAGIC)
            .uuid(&self.pool.uuid())
            .uuid(&self.uuid)
            .str(&self.label)
            .uuid(&self.handle)
            .u32(self.flags);
        WireProps(self.props.clone()).encode(&mut e);
        e.finish()
    }

    /// A handle from [`Container::to_global`] bytes under `pool` (`daos_cont_global2local`).
    ///
    /// Errors: `-DER_INVAL` for bytes that are not a container handle of this pool.
    pub fn from_global(pool: &Arc<Pool>, bytes: &[u8]) -> Result<Arc<Container>> {
        let bad = |_| Error::new(Der::Inval, "not a global container handle");
        let mut d = Decoder::new(bytes);
        if d.u32("magic").map_err(bad)? != GLOBAL_MAGIC {
            return Err(Error::new(Der::Inval, "not a global container handle"));
        }
        if d.uuid("pool").map_err(bad)? != pool.uuid() {
            return Err(Error::new(
                Der::Inval,
                "global container handle belongs to another pool",
            ));
        }
        let uuid = d.uuid("uuid").map_err(bad)?;
        let label = d.str(256, "label").map_err(bad)?.to_string();
        let handle = d.uuid("handle").map_err(bad)?;
        let flags = d.u32("flags").map_err(bad)?;
        let props = WireProps::decode(&mut d).map_err(bad)?.0;
        d.finish().map_err(bad)?;
        pool.open_containers.fetch_add(1, Ordering::AcqRel);
        Ok(Arc::new(Container {
            pool: pool.clone(),
            uuid,
            label,
            handle,
            flags,
            props,
            closed: AtomicBool::new(false),
            imported: true,
        }))
    }
}

const GLOBAL_MAGIC: u32 = u32::from_le_bytes(*b"GCH1");

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Container({} {:?})", self.uuid, self.label)
    }
}
