//! Rebuild on one target: after a pool map change, find the object shards this target must
//! copy to a new location and push their whole history there (DAOS `src/rebuild`, "scan" and
//! "migrate" in one pass; see `peers-and-guarantees.md` §3).
//!
//! Who pushes what, for each object shard this target stores, computed from the map of the
//! job (the same map on every engine, so every shard is pushed by exactly one target; the
//! rules are `daos_placement::rebuild`'s). Sources are readable places: a complete shard, or
//! a moving shard's shadow (its complete old place on a live target).
//! - **Replicated** (`RP_n`): in each group with shards marked `rebuilding`, the first
//!   readable place pushes its copy to every rebuilding shard of the group.
//! - **Unreplicated** (`S1`, `SX`): a moving shard's shadow (a draining target, or a live one
//!   holding a copy that moves back to a returning target) pushes it to its new place.
//! - **Erasure-coded** (`EC_kPp`): in each group with shards marked `rebuilding`, the first
//!   readable parity place pushes (or, when no parity place is readable, every readable data
//!   place, each for the stripes its own cell touched). What every shard keeps alike (single
//!   values, end marks, punches) is replayed as for a replica; each array extent of the
//!   pusher names a stripe range and the epoch of an update that wrote parity there, and the
//!   lost shard's cell over that range is decoded from `k` readable shards read at that epoch
//!   and pushed at it. Every update writes parity over the offsets it touches in any cell, so
//!   these epochs are exactly the versions of the lost cell that reads at a retained epoch
//!   (snapshots, and the aggregation boundary onward) can see; and a parity extent visible
//!   at such a read point means no update touched those offsets between its epoch and that
//!   point, so the sources read at its epoch are the versions aggregation keeps. Holes inside
//!   a decoded range come back as zeros (data), which only `daos_iom_t` extents can tell; the
//!   array size comes from the end marks (see `daos_client::ec`).
//!
//! A push replays the shard's history as ordinary `ObjUpdate` and `ObjPunch` requests at the
//! original epochs, in `(epoch, LSN)` order, so reads at any epoch or snapshot see on the new
//! location what they saw on the old one. The destination verifies checksums as for any
//! update and acknowledges once its log is durable. Requests carry the pool's rebuild handle
//! (valid for every container, set on every target before the job starts) and map version 0
//! (history is valid under any map).
//!
//! Writes that clients send while the job runs reach the rebuilding shard directly (the
//! client's layout lists it as writable), so the copy is complete once every push is
//! acknowledged. A target coming back (`Up` after `Down`/`DownOut`) first drops every stale
//! shard that a survivor will push again ([`drop_stale_shards`]), so versions that the
//! survivors aggregated away or punched while it was gone cannot reappear.

use crate::dma::{DmaBuf, SLOT_SIZE};
use crate::target::Ctx;
use daos_ec::layout::is_end_akey;
use daos_ec::Codec;
use daos_placement::rebuild::{destinations, ec_sources};
use daos_placement::{Layout, PoolMap, ShardLocation};
use daos_proto::msg::*;
use daos_proto::{Opcode, RequestHeader};
use daos_types::codec::Wire;
use daos_types::csum::chunk_count;
use daos_types::oclass::Redundancy;
use daos_types::{Der, Error, ObjectId, Result, Uuid};
use daos_vos::index::{align_down, align_up, Extent, ObjectIndex, SingleVersion, Value};
use daos_vos::Stored;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::os::unix::io::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Object shards pushed at once by one target. Each holds the slots of one piece of at most
/// [`PIECE_MAX`] bytes (three slots with block alignment), so rebuild takes at most 12 of a
/// target's 32 slots: incoming updates, including other targets' pushes, need the rest.
const PUSHES_IN_FLIGHT: usize = 4;
/// Largest extent piece one push request carries; longer extents are split at record and
/// checksum-chunk boundaries (same epoch, same bytes, same checksums).
const PIECE_MAX: u64 = 2 << 20;
/// Data smaller than this travels inside the request instead of by RMA.
const INLINE_MAX: u64 = 16 * 1024;
/// Checksum chunk a rebuild asks its decoding sources for: the bytes they return are
/// verified against it, whatever the container's own chunk size.
const SOURCE_CSUM_CHUNK: u64 = 32 * 1024;
/// How long one push waits for its destination.
const PUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// A pause before each job's scan, for tests that need a rebuild still running when they act
/// on it (`DAOS_RS_REBUILD_PAUSE_MS`, as DAOS's rebuild `fail_loc` delays; no pause unless
/// set).
fn scan_pause() -> Option<Duration> {
    std::env::var("DAOS_RS_REBUILD_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

/// Erasure-coded cell size, in records, of each container of a pool (its `ec_cell_sz`).
pub type CellSizes = BTreeMap<Uuid, u64>;

/// One rebuild job on this target.
#[derive(Clone)]
pub struct Job {
    /// Pool map version the job rebuilds for.
    pub version: u32,
    cells: Arc<CellSizes>,
    stop: Rc<Cell<bool>>,
    status: Rc<RefCell<RebuildStatus>>,
}

impl Job {
    /// The job's progress.
    pub fn status(&self) -> RebuildStatus {
        self.status.borrow().clone()
    }
}

/// Starts, stops or reports the rebuild of `pool` on this target (see [`MgmtRebuildReq`]).
/// Starting a job for the version already running or done only reports it.
///
/// Errors: `-DER_NONEXIST` if the pool is not here; `-DER_STALE` if the target does not hold
/// map version `version` (the control plane retries with the current one).
pub fn control(
    ctx: &Rc<Ctx>,
    spawn: crate::target::Spawn<'_>,
    pool: Uuid,
    op: u8,
    version: u32,
    handle: Uuid,
    cells: Arc<CellSizes>,
) -> Result<RebuildStatus> {
    let mut jobs = ctx.rebuilds.borrow_mut();
    match op {
        REBUILD_QUERY => Ok(jobs.get(&pool).map(Job::status).unwrap_or_default()),
        REBUILD_STOP => {
            let Some(job) = jobs.get(&pool) else {
                return Ok(RebuildStatus::default());
            };
            job.stop.set(true);
            let mut status = job.status.borrow_mut();
            if status.state == REBUILD_BUSY {
                status.state = REBUILD_STOPPED;
            }
            Ok(status.clone())
        }
        REBUILD_PREPARE | REBUILD_START => {
            let held = ctx.with_pool(&pool, |p| {
                p.rebuild_handle = Some(handle);
                Ok(p.map.as_ref().map_or(0, |m| m.version))
            })?;
            if held != version {
                return Err(Error::new(
                    Der::Stale,
                    format!("target holds pool map version {held}, rebuild asks for {version}"),
                ));
            }
            if op == REBUILD_PREPARE {
                return Ok(jobs.get(&pool).map(Job::status).unwrap_or_default());
            }
            if let Some(job) = jobs.get(&pool) {
                let state = job.status.borrow().state;
                if job.version == version && matches!(state, REBUILD_BUSY | REBUILD_DONE) {
                    return Ok(job.status());
                }
                job.stop.set(true);
            }
            let job = Job {
                version,
                cells,
                stop: Rc::new(Cell::new(false)),
                status: Rc::new(RefCell::new(RebuildStatus {
                    map_version: version,
                    state: REBUILD_BUSY,
                    ..RebuildStatus::default()
                })),
            };
            jobs.insert(pool, job.clone());
            let status = job.status();
            spawn(Box::pin(run(ctx.clone(), pool, handle, job)));
            Ok(status)
        }
        other => Err(Error::new(
            Der::Inval,
            format!("unknown rebuild op {other}"),
        )),
    }
}

async fn run(ctx: Rc<Ctx>, pool: Uuid, handle: Uuid, job: Job) {
    tracing::info!(
        "target {}: rebuild of pool {pool} for map version {} started",
        ctx.index,
        job.version
    );
    let outcome = scan_and_push(&ctx, pool, handle, &job).await;
    let mut status = job.status.borrow_mut();
    if job.stop.get() {
        if status.state == REBUILD_BUSY {
            status.state = REBUILD_STOPPED;
        }
        return;
    }
    match outcome {
        Ok(()) => {
            status.state = REBUILD_DONE;
            tracing::info!(
                "target {}: rebuild of pool {pool} v{} done: {} shards scanned, {} pushed, {} records, {} bytes",
                ctx.index,
                job.version,
                status.scanned,
                status.objects,
                status.records,
                status.bytes
            );
        }
        Err(err) => {
            tracing::warn!("target {}: rebuild of pool {pool} failed: {err}", ctx.index);
            status.state = REBUILD_FAILED;
            status.der = err.rc().unsigned_abs();
            status.error = err.to_string();
        }
    }
}

/// One object shard to push: from our `(cont, oid, shard)` to `dest`.
struct Work {
    cont: Uuid,
    oid: ObjectId,
    shard: u32,
    dest: ShardLocation,
    /// The object's layout in the job's map (computed once by the scan).
    layout: Arc<Layout>,
}

async fn scan_and_push(ctx: &Rc<Ctx>, pool: Uuid, handle: Uuid, job: &Job) -> Result<()> {
    if let Some(pause) = scan_pause() {
        ctx.net.sleep_until(Instant::now() + pause).await;
    }
    // A transaction prepared under an older map may still be committed (its leader decided
    // before installing this map); the scan would miss it, so it waits for every such one to
    // be resolved (within `dtx::RESOLVE_AFTER` when its client or leader died).
    while crate::dtx::prepared_before(ctx.as_ref(), &pool, job.version)? {
        if job.stop.get() {
            return Ok(());
        }
        ctx.net
            .sleep_until(Instant::now() + Duration::from_millis(50))
            .await;
    }
    let (map, index) = ctx.with_pool(&pool, |p| {
        let map = p
            .map
            .clone()
            .ok_or_else(|| Error::new(Der::Stale, "target has no pool map"))?;
        Ok((map, p.vos.index().clone()))
    })?;
    if map.version != job.version {
        return Err(Error::new(Der::Stale, "pool map changed before the scan"));
    }
    let placement = map.placement();
    let me = (ctx.rank, ctx.index);
    let reclaims = map
        .target(ctx.rank, ctx.index)
        .is_some_and(|t| t.state == daos_placement::TargetState::UpIn);
    let mut work = Vec::new();
    let mut orphans = Vec::new();
    for (cont, container) in index.containers.iter() {
        for &(oid, shard) in container.objects.keys() {
            job.status.borrow_mut().scanned += 1;
            let Ok(layout) = placement.layout(oid) else {
                continue;
            };
            let layout = Arc::new(layout);
            let g = layout.class.redundancy.group_size().max(1);
            let group = (shard / g) as usize;
            if !layout.shadows.is_empty() || layout.groups[group].iter().any(|s| !s.is_readable()) {
                job.status.borrow_mut().unclean += 1;
            }
            if reclaims && daos_placement::rebuild::orphaned(&layout, shard, me) {
                orphans.push((*cont, oid, shard));
            }
            for dest in destinations(&layout, shard, me) {
                work.push(Work {
                    cont: *cont,
                    oid,
                    shard,
                    dest,
                    layout: layout.clone(),
                });
            }
        }
    }
    drop(index);
    use futures::StreamExt;
    let mut pushes = futures::stream::iter(work)
        .map(|w| push_shard(ctx, pool, handle, &map, job, w))
        .buffer_unordered(PUSHES_IN_FLIGHT);
    while let Some(result) = pushes.next().await {
        if job.stop.get() {
            return Ok(());
        }
        result?;
        job.status.borrow_mut().objects += 1;
    }
    drop(pushes);
    // Reclaim (DAOS's rebuild reclaim): copies the layout no longer places here, whose groups
    // are whole elsewhere. Only while the target still holds the job's map, checked in the
    // same step as the drops (no client write by a newer map can come in between).
    let reclaimed = ctx.with_pool(&pool, |p| {
        if p.map.as_ref().map(|m| m.version) != Some(job.version) {
            return Ok(0);
        }
        Ok(orphans
            .iter()
            .filter_map(|&(cont, oid, shard)| p.vos.drop_shard(cont, oid, shard))
            .count() as u64)
    })?;
    if reclaimed > 0 {
        tracing::info!(
            "target {}: reclaimed {reclaimed} object shards of pool {pool} placed elsewhere",
            ctx.index
        );
    }
    job.status.borrow_mut().reclaimed += reclaimed;
    Ok(())
}

/// Drops this target's copy of every object shard that a survivor will push back to it
/// ([`daos_placement::rebuild::refilled`]). Called when the target turns `Up` after being
/// out. Returns the LSNs logged.
pub fn drop_stale_shards(ctx: &Ctx, pool: &Uuid, map: &PoolMap) -> Result<Vec<u64>> {
    let placement = map.placement();
    let me = (ctx.rank, ctx.index);
    ctx.with_pool(pool, |p| {
        let index = p.vos.index().clone();
        let mut lsns = Vec::new();
        for (cont, container) in index.containers.iter() {
            for &(oid, shard) in container.objects.keys() {
                let Ok(layout) = placement.layout(oid) else {
                    continue;
                };
                if daos_placement::rebuild::refilled(&layout, shard, me) {
                    lsns.extend(p.vos.drop_shard(*cont, oid, shard));
                }
            }
        }
        if !lsns.is_empty() {
            tracing::info!(
                "target {}: dropped {} stale shards of pool {pool} before reintegration",
                ctx.index,
                lsns.len()
            );
        }
        Ok(lsns)
    })
}

/// One step of a shard's history.
enum Step {
    Punch {
        epoch: u64,
        lsn: u64,
        kind: u8,
        dkey: Option<Vec<u8>>,
        akey: Option<Vec<u8>>,
    },
    Single {
        dkey: Arc<[u8]>,
        akey: Arc<[u8]>,
        version: SingleVersion,
    },
    Extent {
        dkey: Arc<[u8]>,
        akey: Arc<[u8]>,
        rsize: u64,
        extent: Arc<Extent>,
    },
}

impl Step {
    fn order(&self) -> (u64, u64) {
        match self {
            Step::Punch { epoch, lsn, .. } => (*epoch, *lsn),
            Step::Single { version, .. } => (version.epoch, version.lsn),
            Step::Extent { extent, .. } => (extent.epoch, extent.lsn),
        }
    }
}

/// A shard's history in `(epoch, LSN)` order.
fn history(object: &ObjectIndex) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut punches =
        |list: &[daos_vos::index::Punch], kind: u8, dkey: Option<&[u8]>, akey: Option<&[u8]>| {
            steps.extend(list.iter().map(|p| Step::Punch {
                epoch: p.epoch,
                lsn: p.lsn,
                kind,
                dkey: dkey.map(<[u8]>::to_vec),
                akey: akey.map(<[u8]>::to_vec),
            }))
        };
    punches(&object.punches, PUNCH_OBJECT, None, None);
    for (dkey, dk) in object.dkeys.iter() {
        punches(&dk.punches, PUNCH_DKEYS, Some(&*dkey.bytes), None);
        for (akey, ak) in dk.akeys.iter() {
            punches(
                &ak.punches,
                PUNCH_AKEYS,
                Some(&*dkey.bytes),
                Some(&*akey.bytes),
            );
        }
    }
    for (dkey, dk) in object.dkeys.iter() {
        for (akey, ak) in dk.akeys.iter() {
            match &ak.value {
                Value::Single(versions) => {
                    for v in versions {
                        steps.push(Step::Single {
                            dkey: dkey.bytes.clone(),
                            akey: akey.bytes.clone(),
                            version: v.clone(),
                        });
                    }
                }
                Value::Array(array) => {
                    for x in array.extents.values() {
                        steps.push(Step::Extent {
                            dkey: dkey.bytes.clone(),
                            akey: akey.bytes.clone(),
                            rsize: array.rsize,
                            extent: x.clone(),
                        });
                    }
                }
                Value::None => {}
            }
        }
    }
    steps.sort_by_key(Step::order);
    steps
}

/// Ends a registered read when dropped, so freed space is reused only after the push.
struct ReadGuard<'a> {
    ctx: &'a Ctx,
    pool: Uuid,
    generation: u64,
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        let generation = self.generation;
        let _ = self.ctx.with_pool(&self.pool, |p| {
            p.vos.end_read(generation);
            Ok(())
        });
    }
}

async fn push_shard(
    ctx: &Rc<Ctx>,
    pool: Uuid,
    handle: Uuid,
    map: &PoolMap,
    job: &Job,
    work: Work,
) -> Result<()> {
    if job.stop.get() {
        return Ok(());
    }
    let (object, generation, blob_fd) = ctx.with_pool(&pool, |p| {
        let object = p
            .vos
            .index()
            .object(&work.cont, work.oid, work.shard)
            .cloned();
        Ok((object, p.vos.begin_read(), p.blob.as_raw_fd()))
    })?;
    let _guard = ReadGuard {
        ctx,
        pool,
        generation,
    };
    let Some(object) = object else {
        // Removed since the scan (container destroyed): nothing to push.
        return Ok(());
    };
    let addr = map
        .target_addr(work.dest.rank, work.dest.target)
        .ok_or_else(|| Error::new(Der::Nonexist, "rebuild destination not in the pool map"))?
        .to_vec();
    let peer = ctx.net.resolve(&addr)?;
    let target = ObjTarget {
        pool,
        cont: work.cont,
        handle,
        oid: work.oid,
        shard: work.dest.shard,
    };
    let ec = EcPlan::new(job, &work)?;
    for step in history(&object) {
        if job.stop.get() {
            return Ok(());
        }
        match step {
            Step::Punch {
                epoch,
                kind,
                dkey,
                akey,
                ..
            } => {
                let req = ObjPunchReq {
                    target: target.clone(),
                    epoch,
                    flags: 0,
                    kind,
                    dkeys: dkey.into_iter().map(Key).collect(),
                    akeys: akey.into_iter().map(Key).collect(),
                    dtx: None,
                    ec_guard: Flag(false),
                };
                send(ctx, peer, Opcode::ObjPunch, &req).await?;
                job.status.borrow_mut().records += 1;
            }
            Step::Extent {
                dkey,
                akey,
                rsize,
                extent,
            } if ec.is_some() && !is_end_akey(&akey) => {
                let ec = ec.as_ref().expect("checked");
                let array = ArrayKey {
                    dkey: &dkey,
                    akey: &akey,
                    rsize,
                };
                ec.push_extent(ctx, map, peer, &target, array, &extent, job)
                    .await?
            }
            value => push_value(ctx, peer, blob_fd, &target, &value, job).await?,
        }
    }
    Ok(())
}

/// Names one array akey of a pushed erasure-coded shard.
#[derive(Clone, Copy)]
struct ArrayKey<'a> {
    dkey: &'a [u8],
    akey: &'a [u8],
    rsize: u64,
}

/// One array extent (or hole, with record size 0) sent to a rebuild destination at its epoch.
struct ArrayPush<'a> {
    target: &'a ObjTarget,
    epoch: u64,
    array: ArrayKey<'a>,
    recx: Recx,
    chunk: u64,
    csums: Vec<Vec<u32>>,
}

impl ArrayPush<'_> {
    /// Sends the extent with the bytes of `stream` and counts it in the job's progress.
    async fn send(
        self,
        ctx: &Rc<Ctx>,
        peer: daos_fabric::FiAddr,
        stream: &mut Stream,
        job: &Job,
    ) -> Result<()> {
        let bytes = self.recx.nr * self.array.rsize;
        let req = ObjUpdateReq {
            target: self.target.clone(),
            epoch: self.epoch,
            flags: 0,
            dkey: Key(self.array.dkey.to_vec()),
            iods: vec![IodDesc {
                akey: Key(self.array.akey.to_vec()),
                kind: IOD_ARRAY,
                size: self.array.rsize,
                flags: 0,
                recxs: vec![self.recx],
            }],
            csum_chunk: self.chunk,
            csums: self.csums,
            data: stream.payload(),
            dtx: None,
            ec_guard: None,
        };
        send(ctx, peer, Opcode::ObjUpdate, &req).await?;
        let mut status = job.status.borrow_mut();
        status.records += 1;
        status.bytes += bytes;
        Ok(())
    }
}

/// How one lost shard of an erasure-coded group is decoded (see the module documentation).
struct EcPlan {
    codec: Arc<dyn Codec>,
    /// Records per cell.
    cell: u64,
    /// The lost shard's position in its group.
    lost: usize,
    /// `k` readable shards of the group, by position.
    sources: Vec<(usize, ShardLocation)>,
    oid: ObjectId,
}

impl EcPlan {
    /// The plan for `work`, or `None` when its object is not erasure-coded.
    ///
    /// Errors: `-DER_DATA_LOSS` with fewer than `k` readable shards in the group.
    fn new(job: &Job, work: &Work) -> Result<Option<EcPlan>> {
        let layout = &work.layout;
        let Redundancy::ErasureCoded { data, parity } = layout.class.redundancy else {
            return Ok(None);
        };
        let (k, p) = (data as usize, parity as usize);
        let g = (k + p) as u32;
        let lost = (work.dest.shard % g) as usize;
        let sources = ec_sources(layout, (work.dest.shard / g) as usize, k);
        if sources.len() < k {
            return Err(Error::new(
                Der::DataLoss,
                format!(
                    "object {:?}: fewer than {k} readable shards to decode shard {} from",
                    work.oid, work.dest.shard
                ),
            ));
        }
        let cell = job
            .cells
            .get(&work.cont)
            .copied()
            .unwrap_or(daos_types::prop::EC_CELL_SIZE_DEFAULT)
            .max(1);
        Ok(Some(EcPlan {
            codec: daos_ec::codec(k, p)?,
            cell,
            lost,
            sources,
            oid: work.oid,
        }))
    }

    /// Decodes the lost cell over the stripe ranges `extent` covers, at its epoch, and pushes
    /// it, in pieces of at most [`PIECE_MAX`] bytes.
    #[allow(clippy::too_many_arguments)]
    async fn push_extent(
        &self,
        ctx: &Rc<Ctx>,
        map: &PoolMap,
        peer: daos_fabric::FiAddr,
        target: &ObjTarget,
        array: ArrayKey<'_>,
        extent: &Extent,
        job: &Job,
    ) -> Result<()> {
        let rsize = array.rsize;
        if rsize == 0 {
            return Ok(());
        }
        let chunk = if extent.csums.is_empty() {
            0
        } else {
            extent.csum_chunk
        };
        let piece = (PIECE_MAX / rsize).max(1);
        let mut idx = extent.lo;
        while idx < extent.hi {
            if job.stop.get() {
                return Ok(());
            }
            // One stripe's range at a time: shard index s·cell + o is offset o of stripe s.
            let stripe_end = (idx / self.cell + 1) * self.cell;
            let end = extent.hi.min(stripe_end).min(idx + piece);
            let recx = Recx { idx, nr: end - idx };
            let reads = self
                .sources
                .iter()
                .map(|(_, source)| self.read(ctx, map, target, source, array, recx, extent.epoch));
            let mut cells: Vec<Option<Vec<u8>>> =
                vec![None; self.codec.data_cells() + self.codec.parity_cells()];
            for ((position, _), bytes) in self
                .sources
                .iter()
                .zip(futures::future::try_join_all(reads).await?)
            {
                cells[*position] = Some(bytes);
            }
            self.codec.reconstruct(&mut cells)?;
            let data = cells[self.lost].take().expect("reconstructed");
            let csums = if chunk > 0 {
                let mut hasher = daos_types::csum::ChunkHasher::new(idx * rsize, chunk);
                hasher.update(&data);
                vec![hasher.finish()]
            } else {
                Vec::new()
            };
            let mut stream = Stream::default();
            stream
                .bytes(ctx, data.len() as u64 > INLINE_MAX, &data)
                .await;
            let push = ArrayPush {
                target,
                epoch: extent.epoch,
                array,
                recx,
                chunk,
                csums,
            };
            push.send(ctx, peer, &mut stream, job).await?;
            idx = end;
        }
        Ok(())
    }

    /// Reads `recx` of the array `cell` from the shard `source` at `epoch` (holes as zeros),
    /// verifying the checksums the source returns.
    #[allow(clippy::too_many_arguments)]
    async fn read(
        &self,
        ctx: &Rc<Ctx>,
        map: &PoolMap,
        target: &ObjTarget,
        source: &ShardLocation,
        array: ArrayKey<'_>,
        recx: Recx,
        epoch: u64,
    ) -> Result<Vec<u8>> {
        let addr = map
            .target_addr(source.rank, source.target)
            .ok_or_else(|| Error::new(Der::Nonexist, "rebuild source not in the pool map"))?;
        let peer = ctx.net.resolve(addr)?;
        let len = recx.nr * array.rsize;
        let inline = len <= INLINE_MAX;
        let mut slots = Vec::new();
        let sink = if inline {
            Payload::Inline(Vec::new())
        } else {
            let mut left = len as usize;
            while left > 0 {
                let mut buf = ctx.dma.acquire().await;
                let n = left.min(SLOT_SIZE);
                buf.set_len(n);
                slots.push(buf);
                left -= n;
            }
            Payload::Bulk(
                slots
                    .iter()
                    .map(|buf| {
                        let r = buf.remote(0..buf.as_slice().len());
                        BulkDesc {
                            addr: r.addr,
                            len: r.len,
                            key: r.key,
                        }
                    })
                    .collect(),
            )
        };
        let chunk = SOURCE_CSUM_CHUNK;
        let req = ObjFetchReq {
            target: ObjTarget {
                shard: source.shard,
                ..target.clone()
            },
            epoch,
            flags: 0,
            dkey: Key(array.dkey.to_vec()),
            iods: vec![IodDesc {
                akey: Key(array.akey.to_vec()),
                kind: IOD_ARRAY,
                size: array.rsize,
                flags: 0,
                recxs: vec![recx],
            }],
            capacities: vec![len],
            csum_chunk: chunk,
            sink,
        };
        let capacity = 1024
            + chunk_count(
                recx.idx * array.rsize,
                (recx.idx + recx.nr) * array.rsize,
                chunk,
            ) * 4
            + if inline { len as usize } else { 0 };
        // A source holding a transaction over this range undecided answers -DER_INPROGRESS
        // until its participants decide it (within `dtx::RESOLVE_AFTER` if its client died).
        let started = Instant::now();
        let message = loop {
            let message =
                call(ctx, peer, Opcode::ObjFetch, &req, capacity, PUSH_TIMEOUT, 0).await?;
            match daos_proto::header::decode_reply(&message) {
                Err(err)
                    if err.der() == Der::Inprogress
                        && started.elapsed() < 4 * crate::dtx::RESOLVE_AFTER =>
                {
                    ctx.net
                        .sleep_until(Instant::now() + Duration::from_millis(20))
                        .await;
                }
                _ => break message,
            }
        };
        let (_, body) = daos_proto::header::decode_reply(&message)?;
        let reply: ObjFetchReply = daos_proto::decode_body(body)?;
        let got = reply
            .iods
            .first()
            .ok_or_else(|| Error::new(Der::Proto, "fetch reply without its iod"))?;
        let mut bytes = vec![0u8; len as usize];
        if got.size > 0 {
            if inline {
                let n = (got.data_len as usize).min(bytes.len());
                let data = reply
                    .data
                    .0
                    .get(..n)
                    .ok_or_else(|| Error::new(Der::Proto, "short inline data"))?;
                bytes[..n].copy_from_slice(data);
            } else {
                let mut at = 0;
                for buf in &slots {
                    let part = buf.as_slice();
                    bytes[at..at + part.len()].copy_from_slice(part);
                    at += part.len();
                }
            }
            let mut hasher = daos_types::csum::ChunkHasher::new(recx.idx * array.rsize, chunk);
            hasher.update(&bytes);
            if hasher.finish() != got.csums {
                return Err(Error::new(
                    Der::Csum,
                    format!(
                        "rebuild source {}:{} returned data of object {:?} failing its checksum",
                        source.rank, source.target, self.oid
                    ),
                ));
            }
        }
        Ok(bytes)
    }
}

/// Bytes of one update being assembled: inline bytes or DMA slots, in stream order.
#[derive(Default)]
struct Stream {
    inline: Vec<u8>,
    slots: Vec<(DmaBuf, std::ops::Range<usize>)>,
    len: u64,
}

impl Stream {
    /// The request's payload: the inline bytes (moved out), or bulk descriptors of the
    /// slots, which the stream keeps until the request is answered.
    fn payload(&mut self) -> Payload {
        if self.slots.is_empty() {
            Payload::Inline(std::mem::take(&mut self.inline))
        } else {
            Payload::Bulk(
                self.slots
                    .iter()
                    .map(|(buf, range)| {
                        let r = buf.remote(range.clone());
                        BulkDesc {
                            addr: r.addr,
                            len: r.len,
                            key: r.key,
                        }
                    })
                    .collect(),
            )
        }
    }

    /// Appends bytes held in memory.
    async fn bytes(&mut self, ctx: &Ctx, bulk: bool, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if !bulk {
            self.inline.extend_from_slice(bytes);
            return;
        }
        for part in bytes.chunks(SLOT_SIZE) {
            let mut buf = ctx.dma.acquire().await;
            buf.set_len(part.len());
            buf.as_mut_slice().copy_from_slice(part);
            let n = part.len();
            self.slots.push((buf, 0..n));
        }
    }

    /// Appends bytes `[lo, hi)` of a value whose block holding byte `base` is stored at blob
    /// address `phys`, reading whole blocks.
    #[allow(clippy::too_many_arguments)]
    async fn blob(
        &mut self,
        ctx: &Ctx,
        bulk: bool,
        fd: i32,
        phys: u64,
        base: u64,
        lo: u64,
        hi: u64,
    ) -> Result<()> {
        let mut at = align_down(lo);
        let end = align_up(hi);
        while at < end {
            let w = (end - at).min(SLOT_SIZE as u64);
            let mut buf = ctx.dma.acquire().await;
            buf.set_len(w as usize);
            let (read, buf) = ctx
                .uring
                .read(fd, buf, phys + (at - align_down(base)))
                .await;
            if read? != w as usize {
                return Err(Error::new(Der::Io, "short read from the data file"));
            }
            let from = (lo.max(at) - at) as usize;
            let to = (hi.min(at + w) - at) as usize;
            if bulk {
                self.len += (to - from) as u64;
                self.slots.push((buf, from..to));
            } else {
                self.bytes(ctx, false, &buf.as_slice()[from..to]).await;
            }
            at += w;
        }
        Ok(())
    }
}

/// Sends one value or extent at its epoch, splitting long extents into pieces of at most
/// [`PIECE_MAX`] bytes that start on record and checksum-chunk boundaries (so each piece's
/// checksums are a run of the extent's).
async fn push_value(
    ctx: &Rc<Ctx>,
    peer: daos_fabric::FiAddr,
    blob_fd: i32,
    target: &ObjTarget,
    step: &Step,
    job: &Job,
) -> Result<()> {
    match step {
        Step::Single {
            dkey,
            akey,
            version,
        } => {
            let size = if version.data.is_hole() {
                0
            } else {
                version.size
            };
            let bulk = size > INLINE_MAX;
            let mut stream = Stream::default();
            match &version.data {
                Stored::Inline(bytes) => stream.bytes(ctx, bulk, bytes).await,
                Stored::Blob { phys } => {
                    stream
                        .blob(ctx, bulk, blob_fd, *phys, 0, 0, version.size)
                        .await?
                }
                Stored::Hole => {}
            }
            let req = ObjUpdateReq {
                target: target.clone(),
                epoch: version.epoch,
                flags: 0,
                dkey: Key(dkey.to_vec()),
                iods: vec![IodDesc {
                    akey: Key(akey.to_vec()),
                    kind: IOD_SINGLE,
                    size,
                    flags: 0,
                    recxs: Vec::new(),
                }],
                // A single value has one checksum whatever the chunk size.
                csum_chunk: u64::from(version.csum.is_some() && size > 0),
                csums: match version.csum {
                    Some(c) if size > 0 => vec![vec![c]],
                    _ => Vec::new(),
                },
                data: stream.payload(),
                dtx: None,
                ec_guard: None,
            };
            send(ctx, peer, Opcode::ObjUpdate, &req).await?;
            let mut status = job.status.borrow_mut();
            status.records += 1;
            status.bytes += size;
        }
        Step::Extent {
            dkey,
            akey,
            rsize,
            extent,
        } => {
            let rsize = *rsize;
            let hole = extent.data.is_hole() || rsize == 0;
            let chunk = if extent.csums.is_empty() || hole {
                0
            } else {
                extent.csum_chunk
            };
            let ext_lo = extent.lo * rsize;
            let piece = if hole {
                u64::MAX
            } else {
                let unit = lcm(rsize, chunk.max(1));
                (PIECE_MAX / unit).max(1) * unit
            };
            let mut lo_rec = extent.lo;
            while lo_rec < extent.hi {
                let lo = lo_rec * rsize;
                let hi_rec = if hole {
                    extent.hi
                } else {
                    ((lo / piece + 1) * piece / rsize).min(extent.hi)
                };
                let hi = hi_rec * rsize;
                let bulk = !hole && hi - lo > INLINE_MAX;
                let mut stream = Stream::default();
                match &extent.data {
                    Stored::Inline(bytes) if !hole => {
                        let range = (lo - ext_lo) as usize..(hi - ext_lo) as usize;
                        stream.bytes(ctx, bulk, &bytes[range]).await
                    }
                    Stored::Blob { phys } if !hole => {
                        stream
                            .blob(ctx, bulk, blob_fd, *phys, ext_lo, lo, hi)
                            .await?
                    }
                    _ => {}
                }
                let csums = if chunk > 0 {
                    // `lo` is the extent's start or a multiple of `chunk`: the slices before
                    // it are exactly those of [ext_lo, lo).
                    let first = chunk_count(ext_lo, lo, chunk);
                    let n = chunk_count(lo, hi, chunk);
                    let run = extent.csums.get(first..first + n).ok_or_else(|| {
                        Error::new(Der::Misc, "stored extent has too few checksums")
                    })?;
                    vec![run.to_vec()]
                } else {
                    Vec::new()
                };
                let push = ArrayPush {
                    target,
                    epoch: extent.epoch,
                    array: ArrayKey {
                        dkey,
                        akey,
                        rsize: if hole { 0 } else { rsize },
                    },
                    recx: Recx {
                        idx: lo_rec,
                        nr: hi_rec - lo_rec,
                    },
                    chunk,
                    csums,
                };
                push.send(ctx, peer, &mut stream, job).await?;
                lo_rec = hi_rec;
            }
        }
        Step::Punch { .. } => unreachable!("punches are not values"),
    }
    Ok(())
}

fn lcm(a: u64, b: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    a / gcd(a, b) * b
}

/// Sends one push request from this target and waits for the destination's answer.
async fn send(
    ctx: &Rc<Ctx>,
    peer: daos_fabric::FiAddr,
    opcode: Opcode,
    body: &impl Wire,
) -> Result<()> {
    call(ctx, peer, opcode, body, 256, PUSH_TIMEOUT, 0)
        .await
        .map(drop)
}

/// Sends one request from this target to another engine's target, routed by pool map
/// `map_version` (0 for rebuild traffic, valid under any map), and returns the whole reply
/// message once its status is 0; its body holds at most `capacity` bytes. Fails with the
/// reply's status as a DER code, or the transport's error (`-DER_TIMEDOUT` after `timeout`).
pub(crate) async fn call(
    ctx: &Rc<Ctx>,
    peer: daos_fabric::FiAddr,
    opcode: Opcode,
    body: &impl Wire,
    capacity: usize,
    timeout: Duration,
    map_version: u32,
) -> Result<Vec<u8>> {
    let rpc_id = ctx.net.next_rpc_id();
    let capacity =
        capacity + daos_proto::header::REPLY_HEADER_SIZE + daos_proto::header::TRAILER_SIZE;
    let header = RequestHeader {
        opcode,
        rpc_id,
        reply_capacity: capacity as u32,
        map_version,
        hlc: ctx.hlc.now(),
        sender: ctx.net.name().to_vec(),
    };
    let msg = daos_proto::encode_request(&header, body);
    let reply = daos_fabric::rpc::call(&ctx.net, peer, rpc_id, msg, capacity, timeout).await?;
    let (header, _) = daos_proto::header::decode_reply(&reply)?;
    if header.status != 0 {
        let der = Der::from_value(-header.status).unwrap_or(Der::Misc);
        return Err(Error::new(der, format!("{opcode:?} refused by a peer")));
    }
    Ok(reply)
}
