//! Object I/O on a target: update, fetch, punch, enumerate, query.
//!
//! Every request is validated completely before it touches state: a malformed, truncated or
//! hostile request gets an error reply (and a log line), never a crash or a hang. Bulk data
//! moves between the client's registered memory and the data file through a DMA slot, never
//! copied in our code. Checksums (CRC-32C per chunk) are verified on update before the data
//! is committed, and on fetch before data leaves the engine; fetched data carries fresh
//! checksums the client verifies again.

use crate::dma::{DmaBuf, SLOT_SIZE};
use crate::target::{Ctx, TargetPool};
use daos_fabric::{rpc, FiAddr, Incoming, RemoteRegion};
use daos_proto::header::{decode_request, ReplyRoute};
use daos_proto::msg::*;
use daos_proto::{decode_body, Opcode, RequestHeader};
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::csum::{chunk_count, ChunkHasher};
use daos_types::{Der, Epoch, Error, Result, Uuid, EPOCH_MAX};
use daos_vos::index::{align_down, align_up, FetchIod, KeyLevel, Source};
use daos_vos::pool::{COND_AKEY_FETCH, COND_DKEY_FETCH, COND_PER_AKEY};
use daos_vos::{ExtentEntry, IodEntry, IodRecord, PunchTarget, SingleEntry, Stored, UpdateIod};
use std::collections::VecDeque;
use std::os::unix::io::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most iods in one request.
const IODS_MAX: usize = 1024;
/// Most extents in one iod.
const RECXS_MAX: usize = 4096;
/// Largest single value or total update, bytes.
const VALUE_SIZE_MAX: u64 = 1 << 36;

/// Sends an error reply to whoever a (possibly malformed) request came from.
pub async fn reply_error(ctx: &Rc<Ctx>, route: &ReplyRoute, err: Error) {
    let Ok(peer) = ctx.net.resolve(&route.sender) else {
        return;
    };
    let msg = reply_bytes(
        ctx,
        route.opcode,
        route.rpc_id,
        route.reply_capacity,
        err.rc(),
        &[],
    );
    let _ = rpc::send(&ctx.net, peer, route.rpc_id, msg).await;
}

fn reply_bytes(
    ctx: &Ctx,
    opcode: u16,
    rpc_id: u64,
    capacity: u32,
    status: i32,
    body: &[u8],
) -> Vec<u8> {
    let header = daos_proto::ReplyHeader {
        opcode,
        rpc_id,
        status,
        map_version: 0,
        hlc: ctx.hlc.now(),
    };
    let mut e = daos_proto::header::begin_reply(&header);
    e.raw(body);
    let msg = daos_proto::header::seal(e);
    if msg.len() <= capacity as usize || status != 0 && body.is_empty() {
        return msg;
    }
    // The reply does not fit what the client posted: tell it so instead.
    let header = daos_proto::ReplyHeader {
        status: Der::Overflow.rc(),
        ..header
    };
    daos_proto::header::seal(daos_proto::header::begin_reply(&header))
}

fn encode<T: Wire>(body: &T) -> Vec<u8> {
    let mut e = Encoder::new();
    body.encode(&mut e);
    e.finish()
}

/// Decodes, serves and answers one request.
pub async fn handle(ctx: Rc<Ctx>, incoming: Incoming) {
    let Incoming { data, truncated } = incoming;
    let route = daos_proto::header::salvage_route(&data);
    if truncated {
        tracing::warn!(
            "target {}: request larger than {} bytes refused",
            ctx.index,
            daos_proto::MESSAGE_SIZE_MAX
        );
        if let Some(route) = &route {
            reply_error(&ctx, route, Error::new(Der::Overflow, "request too large")).await;
        }
        return;
    }
    let (header, body) = match decode_request(&data) {
        Ok(decoded) => decoded,
        Err(err) => {
            tracing::warn!("target {}: malformed request: {err}", ctx.index);
            if let Some(route) = &route {
                reply_error(&ctx, route, err).await;
            }
            return;
        }
    };
    ctx.hlc.observe(header.hlc);
    let peer = match ctx.net.resolve(&header.sender) {
        Ok(peer) => peer,
        Err(err) => {
            tracing::warn!(
                "target {}: request from an unusable address: {err}",
                ctx.index
            );
            return;
        }
    };
    let outcome = match header.opcode {
        Opcode::ObjUpdate => update(&ctx, &header, peer, body).await.map(|b| (0, b)),
        Opcode::ObjFetch => fetch(&ctx, &header, peer, body).await,
        Opcode::ObjPunch => punch(&ctx, &header, body).await.map(|b| (0, b)),
        Opcode::ObjList => list(&ctx, &header, body).await.map(|b| (0, b)),
        Opcode::ObjQueryKey => query_key(&ctx, &header, body).await.map(|b| (0, b)),
        Opcode::EcNewest => ec_newest(&ctx, &header, body).map(|b| (0, b)),
        Opcode::DtxCommit => crate::dtx::commit(&ctx, &header, body)
            .await
            .map(|b| (0, b)),
        Opcode::DtxAbort => crate::dtx::abort(&ctx, &header, body).await.map(|b| (0, b)),
        Opcode::DtxCheck => crate::dtx::check(&ctx, &header, body).await.map(|b| (0, b)),
        Opcode::MgmtPing => Ok((0, Vec::new())),
        other => Err(Error::new(
            Der::Nosys,
            format!("{other:?} is not served by a target"),
        )),
    };
    let (status, body) = match outcome {
        Ok(reply) => reply,
        Err(err) => {
            let expected = matches!(
                err.der(),
                Der::Nonexist | Der::Exist | Der::Rec2big | Der::Key2big
            );
            if expected {
                tracing::debug!("target {}: {:?} failed: {err}", ctx.index, header.opcode);
            } else {
                tracing::warn!("target {}: {:?} failed: {err}", ctx.index, header.opcode);
            }
            (err.rc(), Vec::new())
        }
    };
    let msg = reply_bytes(
        &ctx,
        header.opcode as u16,
        header.rpc_id,
        header.reply_capacity,
        status,
        &body,
    );
    ctx.net.recycle(data);
    if let Err(err) = rpc::send(&ctx.net, peer, header.rpc_id, msg).await {
        tracing::warn!("target {}: reply not delivered: {err}", ctx.index);
    }
}

/// Checks the pool map version and the handle of an object request.
///
/// `version` is the pool map version the client used to route the request (0: unchecked,
/// for enumeration and rebuild pushes). It must equal this target's: a client behind learns
/// that it must refresh its map, a client ahead that this engine has not installed the map
/// yet; either retries (DAOS: `DER_STALE` and the map version on every RPC). So no update
/// lands on a target by a layout the engines no longer agree on, and a rebuild scan that
/// starts after every engine installed a map sees every write routed by older maps.
///
/// Errors: `-DER_STALE` (map version differs), `-DER_NONEXIST` (pool not here), `-DER_NO_HDL`
/// (unknown handle, or a handle of another container), `-DER_NO_PERM` (write through a
/// read-only handle).
fn check_handle(ctx: &Ctx, target: &ObjTarget, write: bool, version: u32) -> Result<()> {
    ctx.with_pool(&target.pool, |p| {
        check_map_version(p, version)?;
        // The rebuild job's handle is valid for every container of the pool.
        if p.rebuild_handle != Some(target.handle) {
            let handle = p.handles.get(&target.handle).ok_or_else(|| {
                Error::new(
                    Der::NoHdl,
                    format!("container handle {} is not open", target.handle),
                )
            })?;
            if handle.cont != target.cont {
                return Err(Error::new(
                    Der::NoHdl,
                    "container handle belongs to another container",
                ));
            }
            if write && !handle.write {
                return Err(Error::new(Der::NoPerm, "container handle is read-only"));
            }
        }
        if !p.vos.has_container(&target.cont) {
            return Err(Error::new(
                Der::Nonexist,
                format!("container {} does not exist", target.cont),
            ));
        }
        daos_vos::index::object_type(target.oid)?;
        Ok(())
    })
}

/// Checks that a request routed by pool map `version` (0: unchecked) meets the map this
/// target holds.
///
/// Errors: `-DER_STALE`.
pub(crate) fn check_map_version(p: &TargetPool, version: u32) -> Result<()> {
    let held = p.map.as_ref().map_or(0, |m| m.version);
    if version != 0 && held != 0 && version != held {
        return Err(Error::new(
            Der::Stale,
            format!("request routed by pool map version {version}, target holds {held}"),
        ));
    }
    Ok(())
}

/// Where an update's bytes go.
#[derive(Clone, Copy, Debug)]
enum Storage {
    Hole,
    Inline,
    Blob { phys: u64, alloc: u64 },
}

/// One value or extent of an update.
#[derive(Clone, Debug)]
struct Entry {
    iod: usize,
    recx: Option<Recx>,
    stream: u64,
    len: u64,
    byte_start: u64,
    storage: Storage,
    csum_index: usize,
    csum_count: usize,
}

fn checked(value: Option<u64>, what: &str) -> Result<u64> {
    value
        .filter(|v| *v <= VALUE_SIZE_MAX)
        .ok_or_else(|| Error::new(Der::Inval, format!("{what} is too large")))
}

/// Validates an update and lays out its entries in the payload stream.
fn plan_update(req: &ObjUpdateReq) -> Result<Vec<Entry>> {
    if req.iods.is_empty() || req.iods.len() > IODS_MAX {
        return Err(Error::new(
            Der::Inval,
            format!("{} iods (1-{IODS_MAX} allowed)", req.iods.len()),
        ));
    }
    let mut akeys: Vec<&[u8]> = req.iods.iter().map(|i| i.akey.0.as_slice()).collect();
    akeys.sort_unstable();
    if akeys.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::new(
            Der::Inval,
            "an akey appears twice in one update",
        ));
    }
    let with_csums = req.csum_chunk > 0;
    if with_csums && req.csums.len() != req.iods.len() {
        return Err(Error::new(
            Der::Inval,
            "checksum list does not match the iods",
        ));
    }
    let mut entries = Vec::new();
    let mut stream = 0u64;
    for (i, iod) in req.iods.iter().enumerate() {
        let mut csum_index = 0usize;
        match iod.kind {
            IOD_SINGLE => {
                if !iod.recxs.is_empty() {
                    return Err(Error::new(Der::Inval, "single value iod with extents"));
                }
                let len = checked(Some(iod.size), "single value")?;
                let count = usize::from(with_csums && len > 0);
                entries.push(Entry {
                    iod: i,
                    recx: None,
                    stream,
                    len,
                    byte_start: 0,
                    storage: Storage::Hole,
                    csum_index: 0,
                    csum_count: count,
                });
                csum_index += count;
                stream = checked(stream.checked_add(len), "update")?;
            }
            IOD_ARRAY => {
                if iod.recxs.is_empty() || iod.recxs.len() > RECXS_MAX {
                    return Err(Error::new(
                        Der::Inval,
                        format!("array iod with {} extents", iod.recxs.len()),
                    ));
                }
                let mut sorted = iod.recxs.clone();
                sorted.sort_by_key(|r| r.idx);
                for w in sorted.windows(2) {
                    if w[0].end() > w[1].idx {
                        return Err(Error::new(Der::Inval, "overlapping extents in one iod"));
                    }
                }
                for recx in &iod.recxs {
                    if recx.nr == 0 {
                        return Err(Error::new(Der::Inval, "empty extent"));
                    }
                    let len = checked(recx.nr.checked_mul(iod.size), "extent")?;
                    let byte_start =
                        checked(recx.idx.checked_mul(iod.size.max(1)), "extent offset")?;
                    checked(byte_start.checked_add(len), "extent end")?;
                    let count = if with_csums && len > 0 {
                        chunk_count(byte_start, byte_start + len, req.csum_chunk)
                    } else {
                        0
                    };
                    entries.push(Entry {
                        iod: i,
                        recx: Some(*recx),
                        stream,
                        len,
                        byte_start,
                        storage: Storage::Hole,
                        csum_index,
                        csum_count: count,
                    });
                    csum_index += count;
                    stream = checked(stream.checked_add(len), "update")?;
                }
            }
            other => return Err(Error::new(Der::Inval, format!("bad iod type {other}"))),
        }
        if with_csums && req.csums[i].len() != csum_index {
            return Err(Error::new(
                Der::Inval,
                format!(
                    "iod {i}: {} checksums for {csum_index} chunks",
                    req.csums[i].len()
                ),
            ));
        }
    }
    if req.data.len() != stream {
        return Err(Error::new(
            Der::Inval,
            format!(
                "update describes {stream} bytes but carries {}",
                req.data.len()
            ),
        ));
    }
    Ok(entries)
}

/// Copies `len` payload bytes at stream offset `stream` into `buf[at..]`.
async fn pull(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    data: &Payload,
    stream: u64,
    len: u64,
    mut buf: DmaBuf,
    at: usize,
) -> Result<DmaBuf> {
    match data {
        Payload::Inline(bytes) => {
            let (s, l) = (stream as usize, len as usize);
            buf.as_mut_slice()[at..at + l].copy_from_slice(&bytes[s..s + l]);
            Ok(buf)
        }
        Payload::Bulk(descs) => {
            let mut position = 0u64;
            let (want_lo, want_hi) = (stream, stream + len);
            for desc in descs {
                let (lo, hi) = (position, position + desc.len);
                position = hi;
                let (from, to) = (want_lo.max(lo), want_hi.min(hi));
                if from >= to {
                    continue;
                }
                let remote = RemoteRegion {
                    addr: desc.addr + (from - lo),
                    len: to - from,
                    key: desc.key,
                };
                buf = rpc::rma_read(&ctx.net, buf, at + (from - want_lo) as usize, peer, remote)
                    .await?;
            }
            Ok(buf)
        }
    }
}

/// Pushes `buf[range]` to fetch-output stream offset `stream`.
async fn push(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    sink: &mut OutSink,
    stream: u64,
    buf: DmaBuf,
    range: std::ops::Range<usize>,
) -> Result<DmaBuf> {
    match sink {
        OutSink::Inline(out) => {
            let s = stream as usize;
            out[s..s + range.len()].copy_from_slice(&buf.as_slice()[range]);
            Ok(buf)
        }
        OutSink::Bulk(descs) => {
            let mut buf = buf;
            let mut position = 0u64;
            let (want_lo, want_hi) = (stream, stream + range.len() as u64);
            for desc in descs.iter() {
                let (lo, hi) = (position, position + desc.len);
                position = hi;
                let (from, to) = (want_lo.max(lo), want_hi.min(hi));
                if from >= to {
                    continue;
                }
                let remote = RemoteRegion {
                    addr: desc.addr + (from - lo),
                    len: to - from,
                    key: desc.key,
                };
                buf = rpc::rma_write(
                    &ctx.net,
                    buf,
                    range.start + (from - want_lo) as usize,
                    peer,
                    remote,
                )
                .await?;
            }
            Ok(buf)
        }
    }
}

fn release(ctx: &Ctx, pool: &Uuid, entries: &[Entry]) {
    let _ = ctx.with_pool(pool, |p| {
        for entry in entries {
            if let Storage::Blob { phys, alloc } = entry.storage {
                p.vos.release_unlogged(phys, alloc);
            }
        }
        Ok(())
    });
}

/// How long an update waits for aggregation to free space before failing with
/// `-DER_NOSPACE`.
const SPACE_WAIT: Duration = Duration::from_secs(2);

/// Decides where each entry's bytes go (hole, inline, or blob space it allocates). When the
/// blob is full, the pool is marked starved, which makes aggregation run at once and close in
/// on the clock; the allocation is retried until [`SPACE_WAIT`] has passed, so a burst of
/// overwrites waits for the space its own old versions free instead of failing.
///
/// Errors: `-DER_NOSPACE` if no space frees up in time.
async fn allocate_storage(ctx: &Rc<Ctx>, req: &ObjUpdateReq, entries: &mut [Entry]) -> Result<()> {
    let pool = req.target.pool;
    let deadline = Instant::now() + SPACE_WAIT;
    loop {
        let allocated = ctx.with_pool(&pool, |p| {
            for entry in entries.iter_mut() {
                let size = req.iods[entry.iod].size;
                entry.storage = if size == 0 || entry.len == 0 {
                    Storage::Hole
                } else if p.vos.store_inline(entry.len) {
                    Storage::Inline
                } else {
                    let window =
                        align_up(entry.byte_start + entry.len) - align_down(entry.byte_start);
                    match p.vos.allocate(window) {
                        Ok(phys) => Storage::Blob {
                            phys,
                            alloc: window,
                        },
                        Err(err) => {
                            entry.storage = Storage::Hole;
                            return Err(err);
                        }
                    }
                };
            }
            Ok(())
        });
        let Err(err) = allocated else {
            // Let aggregation know at once when this update left the pool short of space,
            // rather than at its next periodic step.
            ctx.with_pool(&pool, |p| {
                p.pressure |= crate::target::short_of_space(&p.vos);
                Ok(())
            })?;
            return Ok(());
        };
        // Give back this attempt's space and forget it, so a retry starts clean.
        release(ctx, &pool, entries);
        for entry in entries.iter_mut() {
            entry.storage = Storage::Hole;
        }
        if err.der() != Der::Nospace || Instant::now() >= deadline {
            return Err(err);
        }
        ctx.with_pool(&pool, |p| {
            p.starved = true;
            Ok(())
        })?;
        ctx.net
            .sleep_until(Instant::now() + Duration::from_millis(5))
            .await;
    }
}

async fn update(
    ctx: &Rc<Ctx>,
    header: &RequestHeader,
    peer: FiAddr,
    body: Decoder<'_>,
) -> Result<Vec<u8>> {
    let req: ObjUpdateReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, true, header.map_version)?;
    if let Some(info) = &req.dtx {
        crate::dtx::check_info(ctx.as_ref(), info, t.shard, header.map_version)?;
    }
    // An erasure-coded guard refuses early what it would refuse at prepare time, before any
    // data moves; the check that counts is the one made with the prepare, below.
    if let Some(expect) = &req.ec_guard {
        let epoch = req.epoch;
        ctx.with_pool(&t.pool, |p| check_ec_guard(p, &req, epoch, expect))?;
    }
    let mut entries = plan_update(&req)?;
    allocate_storage(ctx, &req, &mut entries).await?;
    match move_update_data(ctx, peer, &req, &entries).await {
        Ok(inline) => {
            let records = build_records(&req, &entries, inline);
            let epoch = if req.epoch == 0 {
                ctx.hlc.now()
            } else {
                req.epoch
            };
            // A replicated update is only prepared: the leader's commit makes it visible. The
            // map may have changed while the data moved: a rebuild scan that started since
            // must not miss this update, so it is refused and sent again by the new map.
            let committed = ctx.with_pool(&t.pool, |p| {
                check_map_version(p, header.map_version)?;
                if let Some(expect) = &req.ec_guard {
                    check_ec_guard(p, &req, epoch, expect)?;
                }
                p.vos.update(
                    req.dtx.clone(),
                    t.cont,
                    t.oid,
                    t.shard,
                    epoch,
                    req.flags,
                    req.dkey.0.clone(),
                    records,
                    req.csum_chunk,
                )
            });
            match committed {
                Ok(lsn) => {
                    ctx.durable(t.pool, lsn).await?;
                    Ok(encode(&ObjUpdateReply { epoch }))
                }
                Err(err) => {
                    release(ctx, &t.pool, &entries);
                    Err(err)
                }
            }
        }
        Err(err) => {
            release(ctx, &t.pool, &entries);
            Err(err)
        }
    }
}

/// An array akey and ranges of its records, `(idx, nr)`.
type AkeyRanges<'a> = (&'a [u8], Vec<(u64, u64)>);

/// The akeys and record ranges of `iods`.
fn ranges_of<'a>(iods: impl Iterator<Item = &'a IodDesc>) -> Vec<AkeyRanges<'a>> {
    iods.map(|i| {
        let recxs = i.recxs.iter().map(|r| (r.idx, r.nr)).collect();
        (i.akey.0.as_slice(), recxs)
    })
    .collect()
}

/// The array ranges of `iods` other than erasure-coded end marks: what the guard of an
/// erasure-coded group orders updates over.
fn guarded_ranges(iods: &[IodDesc]) -> Vec<AkeyRanges<'_>> {
    ranges_of(
        iods.iter()
            .filter(|i| i.kind == IOD_ARRAY && !daos_ec::layout::is_end_akey(&i.akey.0)),
    )
}

/// The newest epoch over each range of each iod, or `-DER_INPROGRESS` while a transaction
/// prepared here covers one of them.
fn ranges_newest(
    p: &TargetPool,
    t: &ObjTarget,
    dkey: &[u8],
    ranges: &[AkeyRanges<'_>],
) -> Result<Vec<Vec<u64>>> {
    let iods: Vec<FetchIod<'_>> = ranges
        .iter()
        .map(|(akey, recxs)| FetchIod {
            akey,
            array: true,
            size: 0,
            recxs,
        })
        .collect();
    if let Some(id) = p
        .vos
        .prepared_conflict(&t.cont, t.oid, t.shard, EPOCH_MAX, dkey, &iods)
    {
        return Err(Error::new(
            Der::Inprogress,
            format!("transaction {id} over this stripe is not decided yet"),
        ));
    }
    ranges
        .iter()
        .map(|(akey, recxs)| {
            recxs
                .iter()
                .map(|&r| {
                    p.vos
                        .newest_epoch(&t.cont, t.oid, t.shard, dkey, akey, &[r])
                })
                .collect()
        })
        .collect()
}

/// The guard's rules for an erasure-coded update at `epoch` (see `ObjUpdateReq::ec_guard`):
/// nothing undecided over its extents (`-DER_INPROGRESS`), nothing written there at `epoch`
/// or later, and every range its writer read unchanged (`-DER_TX_RESTART`: read, encode and
/// send again at a new epoch).
fn check_ec_guard(
    p: &TargetPool,
    req: &ObjUpdateReq,
    epoch: Epoch,
    expect: &[EcExpect],
) -> Result<()> {
    let t = &req.target;
    let dkey = &req.dkey.0;
    let ranges = guarded_ranges(&req.iods);
    for ((akey, recxs), newest) in ranges.iter().zip(ranges_newest(p, t, dkey, &ranges)?) {
        for (recx, newest) in recxs.iter().zip(newest) {
            if newest >= epoch {
                return Err(Error::new(
                    Der::TxRestart,
                    format!(
                        "erasure-coded update at epoch {epoch} of akey {:?} records [{}, +{}) is \
                         not newer than what is there (epoch {newest})",
                        String::from_utf8_lossy(akey),
                        recx.0,
                        recx.1
                    ),
                ));
            }
        }
    }
    for e in expect {
        if e.recxs.len() != e.newest.len() {
            return Err(Error::new(
                Der::Inval,
                "erasure-coded guard: one newest epoch per extent expected",
            ));
        }
        for (recx, &then) in e.recxs.iter().zip(&e.newest) {
            let now = p.vos.newest_epoch(
                &t.cont,
                t.oid,
                t.shard,
                dkey,
                &e.akey.0,
                &[(recx.idx, recx.nr)],
            )?;
            if now != then {
                return Err(Error::new(
                    Der::TxRestart,
                    format!(
                        "stripe records [{}, +{}) changed since they were read (epoch {then} \
                         then, {now} now)",
                        recx.idx, recx.nr
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The guard's rules for an erasure-coded punch (of keys or of the whole object) at `epoch` (see
/// `ObjPunchReq::ec_guard`): nothing undecided under what it punches (`-DER_INPROGRESS`)
/// and nothing there written or punched at `epoch` or later (`-DER_TX_RESTART`).
fn check_ec_punch(p: &TargetPool, req: &ObjPunchReq, epoch: Epoch) -> Result<()> {
    let t = &req.target;
    let akeys: Vec<Vec<u8>> = req.akeys.iter().map(|k| k.0.clone()).collect();
    // A whole-object punch is ordered after everything in the shard.
    let dkeys: Vec<Option<&[u8]>> = if req.kind == PUNCH_OBJECT {
        vec![None]
    } else {
        req.dkeys.iter().map(|k| Some(k.0.as_slice())).collect()
    };
    for dkey in dkeys {
        let akeys = (req.kind == PUNCH_AKEYS).then_some(akeys.as_slice());
        let (prepared, newest) = p.vos.punch_view(&t.cont, t.oid, t.shard, dkey, akeys)?;
        if let Some(id) = prepared {
            return Err(Error::new(
                Der::Inprogress,
                format!("transaction {id} under this punch is not decided yet"),
            ));
        }
        if newest >= epoch {
            return Err(Error::new(
                Der::TxRestart,
                format!(
                    "erasure-coded punch at epoch {epoch} is not newer than what it punches \
                     (epoch {newest})"
                ),
            ));
        }
    }
    Ok(())
}

/// `EcNewest`: the newest epochs over ranges of this shard (the first step of an
/// erasure-coded read-modify-write, see `ObjUpdateReq::ec_guard`).
///
/// Errors: those of a handle check, `-DER_INPROGRESS` while a transaction over the ranges is
/// undecided.
fn ec_newest(ctx: &Rc<Ctx>, header: &RequestHeader, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: EcNewestReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, true, header.map_version)?;
    let ranges = ranges_of(req.iods.iter());
    let newest = ctx.with_pool(&t.pool, |p| ranges_newest(p, &t, &req.dkey.0, &ranges))?;
    Ok(encode(&EcNewestReply { newest }))
}

/// Moves an update's bytes to their storage and verifies checksums. Returns the bytes of
/// inline-stored entries, by entry index.
async fn move_update_data(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    req: &ObjUpdateReq,
    entries: &[Entry],
) -> Result<Vec<Option<Arc<[u8]>>>> {
    let pool = req.target.pool;
    let blob_fd = ctx.with_pool(&pool, |p| Ok(p.blob.as_raw_fd()))?;
    let mut inline = vec![None; entries.len()];
    for (n, entry) in entries.iter().enumerate() {
        let expected = if req.csum_chunk > 0 {
            &req.csums[entry.iod][entry.csum_index..entry.csum_index + entry.csum_count]
        } else {
            &[][..]
        };
        let single = entry.recx.is_none();
        let mut hasher = (req.csum_chunk > 0).then(|| {
            ChunkHasher::new(
                entry.byte_start,
                if single { u64::MAX } else { req.csum_chunk },
            )
        });
        match entry.storage {
            Storage::Hole => continue,
            Storage::Inline => {
                let mut buf = ctx.dma.acquire().await;
                buf.set_len(entry.len as usize);
                let buf = pull(ctx, peer, &req.data, entry.stream, entry.len, buf, 0).await?;
                if let Some(h) = hasher.as_mut() {
                    h.update(buf.as_slice());
                }
                inline[n] = Some(Arc::from(buf.as_slice()));
            }
            Storage::Blob { phys, alloc } => {
                // Piece by piece: pull a piece while the previous ones are being written.
                let mut writes = VecDeque::new();
                let moved = write_pieces(
                    ctx,
                    peer,
                    req,
                    entry,
                    blob_fd,
                    phys,
                    alloc,
                    hasher.as_mut(),
                    &mut writes,
                )
                .await;
                // Whatever happened, no write may still be in flight when this returns: on
                // failure the caller frees the space, and a late write would land in space
                // already given to another update.
                let drained = drain_writes(&mut writes).await;
                moved?;
                drained?;
            }
        }
        if let Some(hasher) = hasher {
            let got = hasher.finish();
            if got.as_slice() != expected {
                return Err(Error::new(
                    Der::Csum,
                    format!(
                        "checksum mismatch in update of iod {} (data corrupted in transfer)",
                        entry.iod
                    ),
                ));
            }
        }
    }
    Ok(inline)
}

/// Bytes per piece of a pipelined blob write (pulled, then written while the next pulls).
const UPDATE_PIECE: u64 = 256 << 10;
/// Most piece writes of one request in flight at once.
const UPDATE_PIPELINE: usize = 4;

type PieceWrite = (daos_bio::IoFuture<DmaBuf>, usize);

/// Pulls `entry`'s bytes piece by piece into DMA slots, hashing them in order, and starts each
/// piece's write as soon as it is pulled; the writes are left in `writes`.
#[allow(clippy::too_many_arguments)]
async fn write_pieces(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    req: &ObjUpdateReq,
    entry: &Entry,
    blob_fd: i32,
    phys: u64,
    alloc: u64,
    mut hasher: Option<&mut ChunkHasher>,
    writes: &mut VecDeque<PieceWrite>,
) -> Result<()> {
    let window_start = align_down(entry.byte_start);
    let (data_lo, data_hi) = (entry.byte_start, entry.byte_start + entry.len);
    let mut w_lo = window_start;
    while w_lo < window_start + alloc {
        let w_hi = (w_lo + UPDATE_PIECE).min(window_start + alloc);
        // A further slot only if one is free; otherwise reuse the oldest piece's slot once
        // its write is done (see the dma module on deadlock freedom).
        let spare = if writes.len() < UPDATE_PIPELINE {
            ctx.dma.try_acquire()
        } else {
            None
        };
        let mut buf = match spare {
            Some(buf) => buf,
            None => match writes.pop_front() {
                Some(write) => finish_write(write).await?,
                None => ctx.dma.acquire().await,
            },
        };
        buf.set_len((w_hi - w_lo) as usize);
        let (d_lo, d_hi) = (data_lo.max(w_lo), data_hi.min(w_hi));
        let slice = buf.as_mut_slice();
        slice[..(d_lo - w_lo) as usize].fill(0);
        slice[(d_hi - w_lo) as usize..].fill(0);
        let buf = pull(
            ctx,
            peer,
            &req.data,
            entry.stream + (d_lo - data_lo),
            d_hi - d_lo,
            buf,
            (d_lo - w_lo) as usize,
        )
        .await?;
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf.as_slice()[(d_lo - w_lo) as usize..(d_hi - w_lo) as usize]);
        }
        let expected = buf.len();
        let write = ctx.uring.write(blob_fd, buf, phys + (w_lo - window_start));
        writes.push_back((write, expected));
        w_lo = w_hi;
    }
    Ok(())
}

/// Waits for one piece write; returns its slot for reuse.
async fn finish_write((write, expected): PieceWrite) -> Result<DmaBuf> {
    let (written, buf) = write.await;
    if written? != expected {
        return Err(Error::new(Der::Io, "short write to the data file"));
    }
    Ok(buf)
}

/// Waits for every piece write; the first failure is returned after all have finished.
async fn drain_writes(writes: &mut VecDeque<PieceWrite>) -> Result<()> {
    let mut outcome = Ok(());
    while let Some(write) = writes.pop_front() {
        if let Err(err) = finish_write(write).await {
            if outcome.is_ok() {
                outcome = Err(err);
            }
        }
    }
    outcome
}

fn build_records(
    req: &ObjUpdateReq,
    entries: &[Entry],
    mut inline: Vec<Option<Arc<[u8]>>>,
) -> Vec<UpdateIod> {
    let mut out: Vec<UpdateIod> = Vec::with_capacity(req.iods.len());
    for (i, iod) in req.iods.iter().enumerate() {
        let parts: Vec<(usize, &Entry)> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.iod == i)
            .collect();
        let stored = |n: usize, e: &Entry, inline: &mut Vec<Option<Arc<[u8]>>>| match e.storage {
            Storage::Hole => Stored::Hole,
            Storage::Inline => Stored::Inline(inline[n].take().expect("inline bytes moved")),
            Storage::Blob { phys, .. } => Stored::Blob { phys },
        };
        let entry = if iod.kind == IOD_SINGLE {
            let (n, e) = parts[0];
            let csum = (req.csum_chunk > 0 && e.csum_count == 1).then(|| req.csums[i][0]);
            IodEntry::Single(SingleEntry {
                size: iod.size,
                data: stored(n, e, &mut inline),
                csum,
            })
        } else {
            let extents = parts
                .iter()
                .map(|&(n, e)| {
                    let recx = e.recx.expect("array entry has an extent");
                    let csums: Arc<[u32]> = if req.csum_chunk > 0 && iod.size > 0 {
                        Arc::from(&req.csums[i][e.csum_index..e.csum_index + e.csum_count])
                    } else {
                        Arc::from(&[][..])
                    };
                    ExtentEntry {
                        lo: recx.idx,
                        hi: recx.end(),
                        data: stored(n, e, &mut inline),
                        csums,
                    }
                })
                .collect();
            IodEntry::Array {
                rsize: iod.size,
                extents,
            }
        };
        out.push(UpdateIod {
            record: IodRecord {
                akey: iod.akey.0.clone(),
                entry,
            },
            flags: iod.flags,
        });
    }
    out
}

/// `value` rounded down to a multiple of `step` (non-zero).
fn round_down(value: u64, step: u64) -> u64 {
    value - value % step
}

enum OutSink {
    Inline(Vec<u8>),
    Bulk(Vec<BulkDesc>),
}

/// Streams fresh chunk checksums over one iod's output.
struct OutHasher {
    chunk: u64,
    /// Output offset where each recx starts, and its absolute byte start.
    bounds: Vec<(u64, u64)>,
    current: usize,
    hasher: Option<ChunkHasher>,
    out: Vec<u32>,
}

impl OutHasher {
    fn new(chunk: u64, bounds: Vec<(u64, u64)>) -> OutHasher {
        OutHasher {
            chunk,
            bounds,
            current: 0,
            hasher: None,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, mut out_offset: u64, mut bytes: &[u8]) {
        if self.chunk == 0 {
            return;
        }
        while !bytes.is_empty() {
            while self.current + 1 < self.bounds.len()
                && out_offset >= self.bounds[self.current + 1].0
            {
                if let Some(h) = self.hasher.take() {
                    self.out.extend(h.finish());
                }
                self.current += 1;
            }
            let (start_out, start_abs) = self.bounds[self.current];
            let hasher = self.hasher.get_or_insert_with(|| {
                ChunkHasher::new(start_abs + (out_offset - start_out), self.chunk)
            });
            let next = self.bounds.get(self.current + 1).map_or(u64::MAX, |b| b.0);
            let take = ((next - out_offset) as usize).min(bytes.len());
            hasher.update(&bytes[..take]);
            bytes = &bytes[take..];
            out_offset += take as u64;
        }
    }

    fn finish(mut self) -> Vec<u32> {
        if let Some(h) = self.hasher.take() {
            self.out.extend(h.finish());
        }
        self.out
    }
}

/// Releases a read registration when the fetch ends, however it ends.
struct ReadGuard {
    ctx: Rc<Ctx>,
    pool: Uuid,
    generation: u64,
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        let _ = self.ctx.with_pool(&self.pool, |p| {
            p.vos.end_read(self.generation);
            Ok(())
        });
    }
}

fn check_slices(
    data: &[u8],
    data_abs: u64,
    extent_abs: u64,
    chunk: u64,
    csums: &[u32],
) -> Result<()> {
    for (lo, hi) in daos_types::csum::chunk_slices(data_abs, data_abs + data.len() as u64, chunk) {
        let k = chunk_count(extent_abs, lo, chunk);
        let crc =
            daos_types::csum::crc32c(&data[(lo - data_abs) as usize..(hi - data_abs) as usize]);
        if csums.get(k) != Some(&crc) {
            return Err(Error::new(
                Der::Csum,
                "stored data fails its checksum (media corruption)",
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn emit_piece(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    blob_fd: i32,
    sink: &mut OutSink,
    base: u64,
    out: u64,
    len: u64,
    source: &Source,
    hasher: &mut OutHasher,
) -> Result<()> {
    match source {
        Source::Zero => {
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(SLOT_SIZE as u64) as usize;
                let mut buf = ctx.dma.acquire().await;
                buf.set_len(n);
                buf.as_mut_slice().fill(0);
                hasher.feed(out + done, buf.as_slice());
                push(ctx, peer, sink, base + out + done, buf, 0..n).await?;
                done += n as u64;
            }
        }
        Source::Single { version, offset } => {
            let size = version.size;
            match &version.data {
                Stored::Inline(bytes) => {
                    if let Some(csum) = version.csum {
                        if daos_types::csum::crc32c(bytes) != csum {
                            return Err(Error::new(Der::Csum, "stored value fails its checksum"));
                        }
                    }
                    emit_bytes(
                        ctx,
                        peer,
                        sink,
                        base + out,
                        &bytes[*offset as usize..(*offset + len) as usize],
                        hasher,
                        out,
                    )
                    .await?;
                }
                Stored::Blob { phys } => {
                    // Read the whole value window by window, hashing as we go.
                    let mut crc = 0u32;
                    let mut at = 0u64;
                    while at < size {
                        let w = (align_up(size) - at).min(SLOT_SIZE as u64);
                        let mut buf = ctx.dma.acquire().await;
                        buf.set_len(w as usize);
                        let (read, buf) = ctx.uring.read(blob_fd, buf, phys + at).await;
                        if read? != w as usize {
                            return Err(Error::new(Der::Io, "short read from the data file"));
                        }
                        let valid = (size - at).min(w) as usize;
                        crc = crc32c::crc32c_append(crc, &buf.as_slice()[..valid]);
                        hasher.feed(out + at, &buf.as_slice()[..valid]);
                        push(ctx, peer, sink, base + out + at, buf, 0..valid).await?;
                        at += w;
                    }
                    if version.csum.is_some_and(|c| c != crc) {
                        return Err(Error::new(
                            Der::Csum,
                            "stored value fails its checksum (media corruption)",
                        ));
                    }
                }
                Stored::Hole => {}
            }
        }
        Source::Extent {
            extent,
            rsize,
            offset,
        } => {
            let extent_abs = extent.lo * rsize;
            let extent_end = extent.hi * rsize;
            let chunk = if extent.csums.is_empty() {
                0
            } else {
                extent.csum_chunk
            };
            match &extent.data {
                Stored::Inline(bytes) => {
                    let piece = &bytes[*offset as usize..(*offset + len) as usize];
                    if chunk > 0 {
                        // Verify whole slices around the piece.
                        let lo = round_down(extent_abs + offset, chunk);
                        let lo = lo.max(extent_abs);
                        let hi = (extent_abs + offset + len)
                            .div_ceil(chunk)
                            .saturating_mul(chunk)
                            .min(extent_end);
                        check_slices(
                            &bytes[(lo - extent_abs) as usize..(hi - extent_abs) as usize],
                            lo,
                            extent_abs,
                            chunk,
                            &extent.csums,
                        )?;
                    }
                    emit_bytes(ctx, peer, sink, base + out, piece, hasher, out).await?;
                }
                Stored::Blob { .. } => {
                    let mut done = 0u64;
                    while done < len {
                        let abs_lo = extent_abs + offset + done;
                        // Grow the sub-piece while its verified, aligned window fits a slot.
                        let mut take = (len - done).min(SLOT_SIZE as u64);
                        let window = |take: u64| {
                            let (v_lo, v_hi) = if chunk > 0 {
                                (
                                    round_down(abs_lo, chunk).max(extent_abs),
                                    (abs_lo + take)
                                        .div_ceil(chunk)
                                        .saturating_mul(chunk)
                                        .min(extent_end),
                                )
                            } else {
                                (abs_lo, abs_lo + take)
                            };
                            (v_lo, v_hi, align_down(v_lo), align_up(v_hi))
                        };
                        while {
                            let (_, _, w_lo, w_hi) = window(take);
                            w_hi - w_lo > SLOT_SIZE as u64
                        } {
                            take = take
                                .saturating_sub(64 * 1024)
                                .max(4096)
                                .min(take - 1)
                                .max(1);
                        }
                        let (v_lo, v_hi, w_lo, w_hi) = window(take);
                        let phys = extent
                            .phys_of(*rsize, w_lo.max(align_down(extent_abs)))
                            .expect("blob extent");
                        let mut buf = ctx.dma.acquire().await;
                        buf.set_len((w_hi - w_lo) as usize);
                        let expected = buf.len();
                        let (read, buf) = ctx.uring.read(blob_fd, buf, phys).await;
                        if read? != expected {
                            return Err(Error::new(Der::Io, "short read from the data file"));
                        }
                        if chunk > 0 {
                            let data =
                                &buf.as_slice()[(v_lo - w_lo) as usize..(v_hi - w_lo) as usize];
                            check_slices(data, v_lo, extent_abs, chunk, &extent.csums)?;
                        }
                        let range = (abs_lo - w_lo) as usize..(abs_lo - w_lo + take) as usize;
                        hasher.feed(out + done, &buf.as_slice()[range.clone()]);
                        push(ctx, peer, sink, base + out + done, buf, range).await?;
                        done += take;
                    }
                }
                Stored::Hole => unreachable!("holes resolve to zero pieces"),
            }
        }
    }
    Ok(())
}

async fn emit_bytes(
    ctx: &Rc<Ctx>,
    peer: FiAddr,
    sink: &mut OutSink,
    stream: u64,
    bytes: &[u8],
    hasher: &mut OutHasher,
    out: u64,
) -> Result<()> {
    hasher.feed(out, bytes);
    match sink {
        OutSink::Inline(vec) => {
            vec[stream as usize..stream as usize + bytes.len()].copy_from_slice(bytes);
            Ok(())
        }
        OutSink::Bulk(_) => {
            let mut buf = ctx.dma.acquire().await;
            buf.set_len(bytes.len());
            buf.as_mut_slice().copy_from_slice(bytes);
            push(ctx, peer, sink, stream, buf, 0..bytes.len())
                .await
                .map(drop)
        }
    }
}

async fn fetch(
    ctx: &Rc<Ctx>,
    header: &RequestHeader,
    peer: FiAddr,
    body: Decoder<'_>,
) -> Result<(i32, Vec<u8>)> {
    let req: ObjFetchReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, false, header.map_version)?;
    if req.iods.is_empty() || req.iods.len() > IODS_MAX || req.capacities.len() != req.iods.len() {
        return Err(Error::new(
            Der::Inval,
            "fetch iods and capacities do not match",
        ));
    }
    for iod in &req.iods {
        match iod.kind {
            IOD_SINGLE if iod.recxs.is_empty() => {}
            IOD_ARRAY if !iod.recxs.is_empty() && iod.recxs.len() <= RECXS_MAX => {
                for recx in &iod.recxs {
                    checked(recx.nr.checked_mul(iod.size.max(1)), "extent")?;
                }
            }
            _ => return Err(Error::new(Der::Inval, "bad fetch iod")),
        }
    }
    let epoch: Epoch = if req.epoch == 0 { EPOCH_MAX } else { req.epoch };
    let per_akey = req.flags & COND_PER_AKEY != 0;
    let recxs: Vec<Vec<(u64, u64)>> = req
        .iods
        .iter()
        .map(|i| i.recxs.iter().map(|r| (r.idx, r.nr)).collect())
        .collect();
    let (plans, lsn, generation, blob_fd) = ctx.with_pool(&t.pool, |p| {
        if req.flags & COND_DKEY_FETCH != 0
            && !p
                .vos
                .dkey_exists(&t.cont, t.oid, t.shard, &req.dkey.0, epoch)?
        {
            return Err(Error::new(
                Der::Nonexist,
                "conditional fetch: dkey does not exist",
            ));
        }
        for iod in &req.iods {
            let flags = if per_akey { iod.flags } else { req.flags };
            if flags & COND_AKEY_FETCH != 0
                && !p
                    .vos
                    .akey_exists(&t.cont, t.oid, t.shard, &req.dkey.0, &iod.akey.0, epoch)?
            {
                return Err(Error::new(
                    Der::Nonexist,
                    "conditional fetch: akey does not exist",
                ));
            }
        }
        let iods: Vec<FetchIod<'_>> = req
            .iods
            .iter()
            .zip(&recxs)
            .map(|(iod, recxs)| FetchIod {
                akey: &iod.akey.0,
                array: iod.kind == IOD_ARRAY,
                size: iod.size,
                recxs,
            })
            .collect();
        // What a transaction prepared here would change is not read until it is decided,
        // so no reader sees it applied on some shards of a group and not on others.
        if let Some(id) =
            p.vos
                .prepared_conflict(&t.cont, t.oid, t.shard, epoch, &req.dkey.0, &iods)
        {
            return Err(Error::new(
                Der::Inprogress,
                format!("transaction {id} over this data is not decided yet"),
            ));
        }
        let (plans, lsn) = p
            .vos
            .fetch(&t.cont, t.oid, t.shard, epoch, &req.dkey.0, &iods)?;
        Ok((plans, lsn, p.vos.begin_read(), p.blob.as_raw_fd()))
    })?;
    let guard = ReadGuard {
        ctx: ctx.clone(),
        pool: t.pool,
        generation,
    };
    // Sizes first: a single value larger than its buffer is -DER_REC2BIG with the size.
    let mut fetched: Vec<FetchedIod> = Vec::with_capacity(plans.len());
    let mut too_big = false;
    for (i, plan) in plans.iter().enumerate() {
        let fits = plan.len <= req.capacities[i];
        let want_data = !(req.iods[i].kind == IOD_ARRAY && req.iods[i].size == 0);
        too_big |= !fits && want_data;
        fetched.push(FetchedIod {
            size: plan.size,
            data_len: if want_data && fits { plan.len } else { 0 },
            csums: Vec::new(),
            extents: plan
                .extents
                .iter()
                .map(|&(lo, hi)| Recx {
                    idx: lo,
                    nr: hi - lo,
                })
                .collect(),
        });
    }
    if too_big {
        drop(guard);
        ctx.durable(t.pool, lsn).await?;
        let body = encode(&ObjFetchReply {
            epoch,
            iods: fetched,
            data: Blob::default(),
        });
        return Ok((Der::Rec2big.rc(), body));
    }
    let total: u64 = fetched.iter().map(|f| f.data_len).sum();
    let mut sink = match &req.sink {
        Payload::Inline(_) => {
            if total > u64::from(header.reply_capacity) {
                return Err(Error::new(
                    Der::Overflow,
                    "fetched data does not fit the reply; use bulk",
                ));
            }
            OutSink::Inline(vec![0u8; total as usize])
        }
        Payload::Bulk(descs) => {
            let room: u64 = descs.iter().map(|d| d.len).sum();
            if room < req.capacities.iter().sum::<u64>() {
                return Err(Error::new(
                    Der::Inval,
                    "bulk descriptors smaller than the declared capacities",
                ));
            }
            OutSink::Bulk(descs.clone())
        }
    };
    let mut base = 0u64;
    for (i, plan) in plans.iter().enumerate() {
        let iod = &req.iods[i];
        let bounds: Vec<(u64, u64)> = if iod.kind == IOD_ARRAY {
            let mut at = 0u64;
            iod.recxs
                .iter()
                .map(|r| {
                    let b = (at, r.idx * plan.size.max(iod.size));
                    at += r.nr * plan.size.max(iod.size);
                    b
                })
                .collect()
        } else {
            vec![(0, 0)]
        };
        let chunk = if iod.kind == IOD_SINGLE {
            u64::MAX
        } else {
            req.csum_chunk
        };
        let mut hasher = OutHasher::new(if req.csum_chunk > 0 { chunk } else { 0 }, bounds);
        if fetched[i].data_len > 0 {
            for piece in &plan.pieces {
                emit_piece(
                    ctx,
                    peer,
                    blob_fd,
                    &mut sink,
                    base,
                    piece.out,
                    piece.len,
                    &piece.source,
                    &mut hasher,
                )
                .await?;
            }
        }
        fetched[i].csums = if fetched[i].data_len > 0 {
            hasher.finish()
        } else {
            Vec::new()
        };
        base += match &sink {
            OutSink::Inline(_) => fetched[i].data_len,
            OutSink::Bulk(_) => req.capacities[i],
        };
    }
    drop(guard);
    ctx.durable(t.pool, lsn).await?;
    let data = match sink {
        OutSink::Inline(data) => Blob(data),
        OutSink::Bulk(_) => Blob::default(),
    };
    Ok((
        0,
        encode(&ObjFetchReply {
            epoch,
            iods: fetched,
            data,
        }),
    ))
}

async fn punch(ctx: &Rc<Ctx>, header: &RequestHeader, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: ObjPunchReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, true, header.map_version)?;
    if let Some(info) = &req.dtx {
        crate::dtx::check_info(ctx.as_ref(), info, t.shard, header.map_version)?;
    }
    let target = match req.kind {
        PUNCH_OBJECT => PunchTarget::Object,
        PUNCH_DKEYS if !req.dkeys.is_empty() => {
            PunchTarget::Dkeys(req.dkeys.iter().map(|k| k.0.clone()).collect())
        }
        PUNCH_AKEYS if req.dkeys.len() == 1 && !req.akeys.is_empty() => PunchTarget::Akeys {
            dkey: req.dkeys[0].0.clone(),
            akeys: req.akeys.iter().map(|k| k.0.clone()).collect(),
        },
        _ => return Err(Error::new(Der::Inval, "bad punch request")),
    };
    let epoch = if req.epoch == 0 {
        ctx.hlc.now()
    } else {
        req.epoch
    };
    // A replicated punch is only prepared (see `update`), under the map it was routed by.
    let lsn = ctx.with_pool(&t.pool, |p| {
        if req.dtx.is_some() {
            check_map_version(p, header.map_version)?;
        }
        if req.ec_guard.0 {
            check_ec_punch(p, &req, epoch)?;
        }
        p.vos.punch(
            req.dtx.clone(),
            t.cont,
            t.oid,
            t.shard,
            epoch,
            req.flags,
            target,
        )
    })?;
    ctx.durable(t.pool, lsn).await?;
    Ok(Vec::new())
}

async fn list(ctx: &Rc<Ctx>, header: &RequestHeader, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: ObjListReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, false, header.map_version)?;
    let epoch = if req.epoch == 0 { EPOCH_MAX } else { req.epoch };
    // Keep the reply within what the client posted, with room for framing.
    let budget = u64::from(header.reply_capacity).saturating_sub(256);
    let count_max = (req.count_max as usize).clamp(1, 16 * 1024);
    let (reply, lsn) = ctx.with_pool(&t.pool, |p| {
        let lsn = p.vos.applied_lsn();
        let reply = match req.kind {
            LIST_DKEYS | LIST_AKEYS => {
                let level = if req.kind == LIST_DKEYS {
                    KeyLevel::Dkeys
                } else {
                    KeyLevel::Akeys
                };
                // Each key costs its length plus a 4-byte length prefix on the wire.
                let bytes_max = req
                    .bytes_max
                    .min(budget.saturating_sub(count_max as u64 * 4));
                let page = p.vos.list_keys(
                    &t.cont,
                    t.oid,
                    t.shard,
                    epoch,
                    level,
                    req.dkey.as_ref().map(|k| k.0.as_slice()),
                    &req.anchor.0,
                    count_max,
                    bytes_max,
                )?;
                ObjListReply {
                    keys: page.keys.into_iter().map(Key).collect(),
                    recxs: Vec::new(),
                    record_size: 0,
                    anchor: Anchor(page.anchor),
                    eof: Flag(page.eof),
                    key_size_needed: page.next_key_size,
                }
            }
            LIST_RECXS => {
                let (Some(dkey), Some(akey)) = (&req.dkey, &req.akey) else {
                    return Err(Error::new(
                        Der::Inval,
                        "listing extents needs a dkey and an akey",
                    ));
                };
                let after = match req.anchor.0.len() {
                    0 => 0,
                    8 => u64::from_le_bytes(req.anchor.0[..8].try_into().expect("8 bytes")),
                    _ => return Err(Error::new(Der::Inval, "corrupted extent anchor")),
                };
                let count = count_max.min((budget / 24) as usize).max(1);
                let (recxs, rsize, eof) = p.vos.index().list_recxs(
                    &t.cont, t.oid, t.shard, epoch, &dkey.0, &akey.0, after, count,
                )?;
                let next = recxs.last().map_or(after, |r| r.1);
                ObjListReply {
                    keys: Vec::new(),
                    recxs: recxs
                        .into_iter()
                        .map(|(lo, hi, e)| RecxEpoch {
                            recx: Recx {
                                idx: lo,
                                nr: hi - lo,
                            },
                            epoch: e,
                        })
                        .collect(),
                    record_size: rsize,
                    anchor: Anchor(if eof {
                        Vec::new()
                    } else {
                        next.to_le_bytes().to_vec()
                    }),
                    eof: Flag(eof),
                    key_size_needed: 0,
                }
            }
            other => return Err(Error::new(Der::Inval, format!("bad list kind {other}"))),
        };
        Ok((reply, lsn))
    })?;
    ctx.durable(t.pool, lsn).await?;
    Ok(encode(&reply))
}

async fn query_key(ctx: &Rc<Ctx>, header: &RequestHeader, body: Decoder<'_>) -> Result<Vec<u8>> {
    let req: ObjQueryKeyReq = decode_body(body)?;
    let t = req.target.clone();
    check_handle(ctx, &t, false, header.map_version)?;
    let epoch = if req.epoch == 0 { EPOCH_MAX } else { req.epoch };
    if req.flags & (GET_DKEY | GET_AKEY | GET_RECX) == 0 {
        return Err(Error::new(Der::Inval, "query asks for nothing"));
    }
    if req.flags & GET_DKEY == 0 && req.dkey.is_none() {
        return Err(Error::new(
            Der::Inval,
            "query needs a dkey or DAOS_GET_DKEY",
        ));
    }
    if req.flags & GET_RECX != 0 && req.flags & GET_AKEY == 0 && req.akey.is_none() {
        return Err(Error::new(
            Der::Inval,
            "extent query needs an akey or DAOS_GET_AKEY",
        ));
    }
    let want_max = req.flags & GET_MIN == 0;
    let (reply, lsn) = ctx.with_pool(&t.pool, |p| {
        let (dkey, akey, recx) = p.vos.index().query_key(
            &t.cont,
            t.oid,
            t.shard,
            epoch,
            want_max,
            if req.flags & GET_DKEY != 0 {
                None
            } else {
                req.dkey.as_ref().map(|k| k.0.as_slice())
            },
            if req.flags & GET_AKEY != 0 {
                None
            } else {
                req.akey.as_ref().map(|k| k.0.as_slice())
            },
            req.flags & GET_RECX != 0,
        )?;
        Ok((
            ObjQueryKeyReply {
                dkey: dkey.map(Key),
                akey: akey.map(Key),
                recx: recx.map(|(idx, nr)| Recx { idx, nr }),
            },
            p.vos.applied_lsn(),
        ))
    })?;
    ctx.durable(t.pool, lsn).await?;
    if reply.dkey.is_none() {
        return Err(Error::new(Der::Nonexist, "no key matches the query"));
    }
    Ok(encode(&reply))
}
