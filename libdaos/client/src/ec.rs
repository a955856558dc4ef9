//! Erasure-coded objects (`EC_<k>P<p>G<n>`): how their arrays become cells and parity, and how
//! a fetch reads around lost shards.
//!
//! # Layout
//!
//! Each group has `k + p` shards: positions `0..k` hold data cells, `k..k + p` parity. With
//! `cell` the container's `ec_cell_sz` counted in records (as DAOS's `obj_ec_cell_rec_nr`;
//! for byte arrays, DFS files and IOR, records are bytes), record `x` of an array akey lies in
//! stripe `s = x / (k·cell)`, cell `j = (x mod k·cell) / cell`, at offset `o = x mod cell`:
//!
//! - data shard `j` keeps it at index `s·cell + o`;
//! - parity shard `i` keeps, at `s·cell + o`, parity `i` of the `k` records at offset `o` of
//!   the stripe's cells (holes count as zeros, which is also what a punched parity record
//!   reads as, and the parity of zeros is zero);
//! - every shard also keeps, for each update, a one-byte end mark at index `x_last` (the
//!   update's highest record) of a companion akey, the akey's name followed by
//!   [`END_MARK_SUFFIX`] (an array punch punches the marks in its range too). The size of an
//!   array is the highest mark, which any one shard can tell, degraded or not, and which
//!   rebuild copies like a replica's; enumeration does not show these akeys;
//! - single values are replicated on all `k + p` shards (DAOS splits large ones; here they
//!   cost `k + p` copies);
//! - so every shard holds every dkey and akey of its group, and enumeration reads any one.
//!
//! # Updates
//!
//! An update computes, per stripe it touches, the range `[a, b)` of cell offsets it writes.
//! When it covers `[a, b)` of every data cell (a full stripe is the widest case), parity comes
//! from the new records alone; otherwise the client first reads the stripe's other records over
//! `[a, b)` (degraded if need be) and encodes the merged stripe (read-modify-write). The data
//! shards get only the records written; the parity shards get the new parity for `[a, b)`; all
//! at one epoch from the client's clock, sent to every live shard of the group that gets a part at once, as one
//! transaction (DTX: prepared everywhere, then committed by its leader), so a writer that dies
//! midway leaves no stripe half-written.
//!
//! Writers of one stripe are ordered by the group's *guard*, its first readable parity shard
//! (every update of the stripe writes parity there). A read-modify-write first asks the guard
//! for the newest epoch over each range it will read ([`Opcode::EcNewest`]), then reads, then
//! sends at an epoch after those; the guard's part carries what it was told
//! (`ObjUpdateReq::ec_guard`), and the guard prepares it only if those ranges are unchanged,
//! nothing over its extents is as new, and no other transaction over them is undecided.
//! Reads of data a prepared transaction would change wait for it (`-DER_INPROGRESS`). So no
//! update encodes parity from a cell that another one changed after it was read, whichever
//! processes they come from; a refused update is read, encoded and sent again at a new epoch.
//! Punches (of dkeys, akeys, or the whole object group by group) are ordered by the guard the
//! same way.
//! DAOS gets the same safety differently: partial-stripe updates go to the parity shards as
//! replicas and EC aggregation computes parity later.
//!
//! # Fetch
//!
//! Records whose data shard is readable come from it; records of a lost or rebuilding data
//! shard are decoded, per stripe, from `k` readable shards read over the same offsets at one
//! epoch (the caller's, or the client clock's now for a read of the latest).
//!
//! Source: DAOS's `src/object/cli_ec.c` and `obj_ec.h` for the terms and the cell mapping.

use crate::buf::SgList;
use crate::obj::{FetchResult, Groups, Iod, IodKind, Object};
use daos_ec::Codec;
use daos_fabric::{MemoryRegion, NetContext};
use daos_placement::{Layout, ShardLocation};
use daos_proto::msg::*;
use daos_proto::Opcode;
use daos_types::{Der, Epoch, Error, Result, EPOCH_MAX};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use daos_ec::layout::{end_akey, is_end_akey, END_MARK_SUFFIX};

/// The shape of an erasure-coded object.
pub(crate) struct EcShape {
    /// Data cells per stripe.
    pub k: usize,
    /// Parity cells per stripe.
    pub p: usize,
    /// Records per cell (`ec_cell_sz`).
    pub cell: u64,
    codec: Arc<dyn Codec>,
}

impl std::fmt::Debug for EcShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EC {}+{} cell {}", self.k, self.p, self.cell)
    }
}

impl EcShape {
    /// The shape for `k + p` shards and `cell` records per cell.
    ///
    /// Errors: `-DER_INVAL` for an unsupported scheme or a zero cell.
    pub fn new(k: usize, p: usize, cell: u64) -> Result<EcShape> {
        if cell == 0 {
            return Err(Error::new(Der::Inval, "ec_cell_sz is 0"));
        }
        Ok(EcShape {
            k,
            p,
            cell,
            codec: daos_ec::codec(k, p)?,
        })
    }

    fn stripe_len(&self) -> u64 {
        self.k as u64 * self.cell
    }

    /// Splits extents of the object's index space into pieces that each lie in one cell.
    fn split(&self, recxs: &[Recx]) -> Result<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut user = 0u64;
        for recx in recxs {
            let end = recx.idx.checked_add(recx.nr).ok_or_else(|| {
                Error::new(
                    Der::Inval,
                    format!("extent [{}, +{}) overflows", recx.idx, recx.nr),
                )
            })?;
            let mut x = recx.idx;
            while x < end {
                let stripe = x / self.stripe_len();
                let within = x % self.stripe_len();
                let cell = (within / self.cell) as usize;
                let off = within % self.cell;
                let nr = (self.cell - off).min(end - x);
                pieces.push(Piece {
                    stripe,
                    cell,
                    off,
                    nr,
                    user,
                });
                user += nr;
                x += nr;
            }
        }
        Ok(pieces)
    }

    /// The object index of record `idx` of the shard at `position` (a data cell).
    fn to_object(&self, position: usize, idx: u64) -> u64 {
        let stripe = idx / self.cell;
        stripe * self.stripe_len() + position as u64 * self.cell + idx % self.cell
    }

    /// The object index of the first record of `cell` at offset `off` in `stripe`.
    fn object_index(&self, stripe: u64, cell: usize, off: u64) -> u64 {
        stripe * self.stripe_len() + cell as u64 * self.cell + off
    }
}

/// How long an erasure-coded update is read, encoded and sent again while its group's
/// guard refuses it (another update of its stripes came first or is undecided); longer
/// than a dead writer's transaction takes its participants to resolve.
const RESTART_WAIT: Duration = Duration::from_secs(40);
/// First and longest pause before an update the guard refused is tried again.
const RESTART_PAUSE_MIN: Duration = Duration::from_micros(500);
const RESTART_PAUSE_MAX: Duration = Duration::from_millis(50);

/// The guard of `group`: its first readable parity place, where every update of the group's
/// arrays writes parity, or, while no parity shard is readable (all being rebuilt), the first
/// parity place written. It orders the updates of each stripe (see
/// `daos_proto::msg::ObjUpdateReq::ec_guard`); `None` when the group has no parity place at
/// all (nothing to keep consistent).
fn ec_guard(ec: &EcShape, layout: &Layout, group: usize) -> Option<ShardLocation> {
    let g = ec.k + ec.p;
    layout.readable_places(group)[ec.k..]
        .iter()
        .find_map(|s| *s)
        .or_else(|| {
            layout
                .write_places(group)
                .into_iter()
                .filter(|s| s.shard as usize % g >= ec.k)
                .min_by_key(|s| s.shard)
        })
}

/// Whether `shard` is the place [`ec_guard`] picks.
fn is_guard(ec: &EcShape, layout: &Layout, group: usize, shard: &ShardLocation) -> bool {
    ec_guard(ec, layout, group).is_some_and(|at| {
        at.shard == shard.shard && at.rank == shard.rank && at.target == shard.target
    })
}

/// A run of records inside one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    stripe: u64,
    cell: usize,
    /// Offset within the cell, records.
    off: u64,
    nr: u64,
    /// Position in the iod's data, records.
    user: u64,
}

impl Piece {
    fn shard_recx(&self, cell: u64) -> Recx {
        Recx {
            idx: self.stripe * cell + self.off,
            nr: self.nr,
        }
    }
}

/// The range `[a, b)` of cell offsets that `pieces` (of one stripe) touch.
fn hull(pieces: &[Piece]) -> (u64, u64) {
    let a = pieces.iter().map(|p| p.off).min().unwrap_or(0);
    let b = pieces.iter().map(|p| p.off + p.nr).max().unwrap_or(0);
    (a, b)
}

/// Whether `pieces` (of one stripe) cover `[a, b)` of every one of `k` cells.
fn covers(pieces: &[Piece], k: usize, a: u64, b: u64) -> bool {
    (0..k).all(|cell| {
        let mut runs: Vec<(u64, u64)> = pieces
            .iter()
            .filter(|p| p.cell == cell)
            .map(|p| (p.off, p.off + p.nr))
            .collect();
        runs.sort_unstable();
        let mut reach = a;
        for (lo, hi) in runs {
            if lo > reach {
                return false;
            }
            reach = reach.max(hi);
        }
        reach >= b
    })
}

/// What one shard receives in an update: per akey an iod over its own index space, and the
/// bytes in iod order.
#[derive(Default)]
struct ShardUpdate {
    iods: Vec<Iod>,
    data: Vec<u8>,
}

impl ShardUpdate {
    fn push(&mut self, iod: Iod, bytes: &[u8]) {
        self.iods.push(iod);
        self.data.extend_from_slice(bytes);
    }
}

/// One request of a fetch plan: what to ask one shard, and where each iod's bytes go.
struct ShardRead {
    position: usize,
    iods: Vec<Iod>,
    /// Per iod: the user iod it serves.
    user_iod: Vec<usize>,
    /// Per iod: the pieces its extents stand for, in order (direct reads), or the stripes
    /// (degraded reads, one extent each).
    targets: Vec<Vec<ReadTarget>>,
}

#[derive(Clone, Copy)]
enum ReadTarget {
    /// Copy into the user's buffer at this record offset.
    User(Piece),
    /// A source cell of stripe number `index` of the degraded plan.
    Source(usize),
}

/// A stripe read around a lost data cell.
struct Degraded {
    iod: usize,
    stripe: u64,
    a: u64,
    b: u64,
    /// The pieces to fill from the decoded cells.
    pieces: Vec<Piece>,
    /// Per position: the cell's records over `[a, b)` as read.
    cells: Vec<Option<Vec<u8>>>,
    /// Whether any source held data there.
    found: bool,
}

impl Object {
    /// A shard holding every key of `group` (each does): a readable one, parity first (its
    /// engine serves no data reads while the group is healthy).
    pub(crate) fn ec_key_shards(
        &self,
        ec: &EcShape,
        layout: &Layout,
        group: usize,
    ) -> Vec<ShardLocation> {
        let places = layout.readable_places(group);
        places[ec.k..]
            .iter()
            .chain(&places[..ec.k])
            .find_map(|s| *s)
            .into_iter()
            .collect()
    }

    /// `daos_obj_update` on an erasure-coded object (see the module documentation). Read,
    /// encoded and sent again (at a new epoch) while the group's guard refuses it because
    /// another update of its stripes came first.
    pub(crate) async fn ec_update(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &[SgList],
    ) -> Result<Epoch> {
        let arrays = iods.iter().any(|i| i.kind == IodKind::Array);
        if arrays && (flags != 0 || iods.iter().any(|i| i.flags != 0)) {
            return Err(Error::new(
                Der::Notsupported,
                "conditional updates of erasure-coded arrays are not supported",
            ));
        }
        self.ec_retry(net, || {
            self.ec_update_once(net, ec, flags, dkey, iods, sgls)
        })
        .await
    }

    /// Runs `attempt` (an update or punch of an erasure-coded group) again, after a growing
    /// pause, while the group's guard refuses it (`-DER_TX_RESTART`: another update of its
    /// stripes came first; `-DER_INPROGRESS`: one is undecided), for up to [`RESTART_WAIT`].
    ///
    /// Errors: `-DER_BUSY` when the guard still refuses it then; those of `attempt`.
    pub(crate) async fn ec_retry<T, F: std::future::Future<Output = Result<T>>>(
        &self,
        net: &Arc<NetContext>,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T> {
        let started = Instant::now();
        let mut pause = RESTART_PAUSE_MIN;
        loop {
            match attempt().await {
                Err(err) if matches!(err.der(), Der::TxRestart | Der::Inprogress) => {
                    if started.elapsed() >= RESTART_WAIT {
                        return Err(Error::new(
                            Der::Busy,
                            format!(
                                "{:?}: other updates of the same stripes kept this one out \
                                 for {RESTART_WAIT:?}: {err}",
                                self.oid()
                            ),
                        ));
                    }
                    tracing::debug!("erasure-coded update of {:?} again: {err}", self.oid());
                    net.sleep_until(Instant::now() + pause).await;
                    pause = (pause * 2).min(RESTART_PAUSE_MAX);
                }
                result => return result,
            }
        }
    }

    /// Whether `shard` is the guard of `dkey`'s group under `layout` (never, for an object
    /// that is not erasure-coded).
    pub(crate) fn is_ec_guard(&self, layout: &Layout, dkey: &[u8], shard: &ShardLocation) -> bool {
        self.is_ec_guard_in(layout, layout.group_of(dkey), shard)
    }

    /// Whether `shard` is the guard of group `group` under `layout` (never, for an object
    /// that is not erasure-coded).
    pub(crate) fn is_ec_guard_in(
        &self,
        layout: &Layout,
        group: usize,
        shard: &ShardLocation,
    ) -> bool {
        self.ec
            .as_ref()
            .is_some_and(|ec| is_guard(ec, layout, group, shard))
    }

    /// One attempt of [`Object::ec_update`].
    async fn ec_update_once(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &[SgList],
    ) -> Result<Epoch> {
        let g = ec.k + ec.p;
        let mut shards: Vec<ShardUpdate> = (0..g).map(|_| ShardUpdate::default()).collect();
        // Per array iod: its pieces by stripe, and the record size its parity is encoded
        // with (a punch's is the one already stored).
        let mut plans = Vec::new();
        // Per array akey: the stripe ranges (in parity index space) this update must read.
        let mut to_read: Vec<Iod> = Vec::new();
        for iod in iods.iter().filter(|i| i.kind == IodKind::Array) {
            let mut by_stripe: BTreeMap<u64, Vec<Piece>> = BTreeMap::new();
            for piece in ec.split(&iod.recxs)? {
                by_stripe.entry(piece.stripe).or_default().push(piece);
            }
            let rsize = if iod.size == 0 {
                self.ec_record_size(net, ec, dkey, &iod.akey, &iod.recxs)
                    .await?
            } else {
                iod.size
            };
            let read: Vec<Recx> = by_stripe
                .iter()
                .filter_map(|(stripe, pieces)| {
                    let (a, b) = hull(pieces);
                    (rsize > 0 && !covers(pieces, ec.k, a, b)).then_some(Recx {
                        idx: stripe * ec.cell + a,
                        nr: b - a,
                    })
                })
                .collect();
            if !read.is_empty() {
                to_read.push(Iod::array(iod.akey.clone(), rsize, read));
            }
            plans.push((by_stripe, rsize));
        }
        // What the guard holds over the stripes about to be read, asked before reading them:
        // the update is refused if any of it changes before the update is prepared there.
        let expect = if to_read.is_empty() {
            Vec::new()
        } else {
            self.ec_newest(net, ec, dkey, &to_read).await?
        };
        if let Some(newest) = expect.iter().flat_map(|e| e.newest.iter().copied()).max() {
            // The update's epoch must be later than what it read.
            self.container().pool().client().hlc_observe(newest);
        }
        let mut plans = plans.into_iter();
        for (i, iod) in iods.iter().enumerate() {
            let len = iod.data_len()? as usize;
            let copied;
            let bytes: &[u8] = match sgls[i].contiguous(len) {
                Some(bytes) => bytes,
                None => {
                    let mut buf = vec![0u8; len];
                    sgls[i].read_at(0, &mut buf);
                    copied = buf;
                    &copied
                }
            };
            if iod.kind == IodKind::Single {
                for shard in &mut shards {
                    shard.push(iod.clone(), bytes);
                }
                continue;
            }
            let (by_stripe, rsize) = plans.next().expect("one plan per array iod");
            let punch = iod.size == 0;
            for (stripe, pieces) in &by_stripe {
                let (a, b) = hull(pieces);
                let width = ((b - a) * rsize) as usize;
                let recx = Recx {
                    idx: stripe * ec.cell + a,
                    nr: b - a,
                };
                if let Some(runs) = whole_cells(pieces, ec.k, a, b).filter(|_| !punch && rsize > 0)
                {
                    // Each cell is one run of the caller's bytes: encode from them and into
                    // the parity shards' buffers, with no stripe copy.
                    let data: Vec<&[u8]> = runs
                        .iter()
                        .map(|p| {
                            let from = (p.user * rsize) as usize;
                            &bytes[from..from + width]
                        })
                        .collect();
                    encode_parity(ec, &mut shards, &iod.akey, rsize, recx, &data)?;
                    for (cell, run) in data.iter().enumerate() {
                        let iod = Iod::array(
                            iod.akey.clone(),
                            rsize,
                            vec![runs[cell].shard_recx(ec.cell)],
                        );
                        merge_into(&mut shards[cell], iod, run);
                    }
                    continue;
                }
                let mut cells: Vec<Vec<u8>> = if rsize == 0 || covers(pieces, ec.k, a, b) {
                    vec![vec![0u8; width]; ec.k]
                } else {
                    self.ec_read_stripe(net, ec, dkey, &iod.akey, rsize, *stripe, a, b)
                        .await?
                };
                for piece in pieces {
                    let at = ((piece.off - a) * rsize) as usize;
                    let n = (piece.nr * rsize) as usize;
                    let cell = &mut cells[piece.cell][at..at + n];
                    if punch {
                        cell.fill(0);
                    } else {
                        let from = (piece.user * rsize) as usize;
                        cell.copy_from_slice(&bytes[from..from + n]);
                    }
                    let shard_iod =
                        Iod::array(iod.akey.clone(), iod.size, vec![piece.shard_recx(ec.cell)]);
                    let data: &[u8] = if punch {
                        &[]
                    } else {
                        &cells[piece.cell][at..at + n]
                    };
                    merge_into(&mut shards[piece.cell], shard_iod, data);
                }
                if rsize == 0 {
                    continue;
                }
                let data: Vec<&[u8]> = cells.iter().map(Vec::as_slice).collect();
                encode_parity(ec, &mut shards, &iod.akey, rsize, recx, &data)?;
            }
            // End marks: set one at the update's end; a punch removes those in its range.
            let marks = end_akey(&iod.akey);
            let last = iod.recxs.iter().map(|r| r.idx + r.nr).max().unwrap_or(0);
            for shard in &mut shards {
                if punch {
                    shard.push(Iod::array(marks.clone(), 0, iod.recxs.clone()), &[]);
                } else if last > 0 {
                    let mark = Recx {
                        idx: last - 1,
                        nr: 1,
                    };
                    shard.push(Iod::array(marks.clone(), 1, vec![mark]), &[0]);
                }
            }
        }
        if !to_read.is_empty() && crate::fault::active(crate::fault::Fault::EcSlowReadModifyWrite) {
            net.sleep_until(Instant::now() + Duration::from_millis(20))
                .await;
        }
        let epoch = self
            .ec_send(net, ec, dkey, flags, shards, Some(expect))
            .await?;
        // A punch that removed an array's last records leaves the end mark of the record below
        // it, if that one holds data.
        for iod in iods
            .iter()
            .filter(|i| i.kind == IodKind::Array && i.size == 0)
        {
            let first = iod.recxs.iter().map(|r| r.idx).min().unwrap_or(0);
            if first > 0 {
                self.ec_mark_below(net, ec, dkey, &iod.akey, first).await?;
            }
        }
        Ok(epoch)
    }

    /// Asks the guard of `dkey`'s group (its first readable parity shard) for the newest
    /// epoch over each range of `ranges` (array iods in parity index space), following pool
    /// map changes. Empty if the group has no readable parity shard (nothing to keep
    /// consistent).
    ///
    /// Errors: `-DER_INPROGRESS` (an update of these stripes is undecided), transport and
    /// handle errors.
    async fn ec_newest(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        ranges: &[Iod],
    ) -> Result<Vec<EcExpect>> {
        let since = Instant::now();
        loop {
            let version = self.container().pool().map_version();
            let layout = self.layout();
            let Some(guard) = ec_guard(ec, &layout, layout.group_of(dkey)) else {
                return Ok(Vec::new());
            };
            let req = EcNewestReq {
                target: self.target(&guard),
                dkey: Key(dkey.to_vec()),
                iods: ranges.iter().map(Iod::desc).collect(),
            };
            let count: usize = ranges.iter().map(|r| r.recxs.len()).sum();
            let capacity = 64 + 8 * ranges.len() + 8 * count;
            let reply: EcNewestReply = match self
                .call(net, &guard, Opcode::EcNewest, &req, capacity, version)
                .await
            {
                Ok(reply) => reply,
                Err(err) if crate::obj::is_unreachable(&err) => {
                    self.await_new_map(net, version, err).await?;
                    continue;
                }
                Err(err) if err.der() == Der::Stale => {
                    self.after_stale(net, version, since, err).await?;
                    continue;
                }
                Err(err) => return Err(err),
            };
            let shaped = reply.newest.len() == ranges.len()
                && reply
                    .newest
                    .iter()
                    .zip(ranges)
                    .all(|(n, r)| n.len() == r.recxs.len());
            if !shaped {
                return Err(Error::new(
                    Der::Proto,
                    "EcNewest reply does not match the request",
                ));
            }
            let expect = ranges
                .iter()
                .zip(reply.newest)
                .map(|(range, newest)| EcExpect {
                    akey: Key(range.akey.clone()),
                    recxs: range.recxs.clone(),
                    newest,
                })
                .collect();
            return Ok(expect);
        }
    }

    /// Sends each shard its part of an update at one epoch, as one transaction. With
    /// `guard`, the group's guard also checks the update's order and what its writer read
    /// (`ObjUpdateReq::ec_guard`).
    async fn ec_send(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        flags: u64,
        shards: Vec<ShardUpdate>,
        guard: Option<Vec<EcExpect>>,
    ) -> Result<Epoch> {
        let chunk = self.container().csum_chunk();
        let mut regions: Vec<MemoryRegion> = Vec::new();
        // Per position: iods, checksums and payload, or nothing to send.
        type Body = (Vec<IodDesc>, Vec<Vec<u32>>, Payload);
        let mut bodies: Vec<Option<Body>> = Vec::new();
        let mut buffers = Vec::new();
        for shard in shards {
            if shard.iods.is_empty() {
                bodies.push(None);
                continue;
            }
            let sgl = SgList::from_vec(shard.data);
            let mut csums = Vec::new();
            if chunk > 0 {
                let mut at = 0u64;
                for iod in &shard.iods {
                    csums.push(Object::iod_checksums(iod, &sgl, at, chunk));
                    at += iod.data_len()?;
                }
            }
            let data = sgl.into_vecs().expect("owned buffer").remove(0);
            let payload = if data.len() <= INLINE_DATA_MAX {
                Payload::Inline(data)
            } else {
                // SAFETY: `data` moves into `buffers`, which outlives the sends below; a Vec's
                // heap memory does not move when the Vec does.
                let mr = unsafe {
                    self.container().pool().client().fabric().register_raw(
                        data.as_ptr() as *mut u8,
                        data.len(),
                        daos_fabric::Access::remote_read() | daos_fabric::Access::local(),
                    )?
                };
                let r = mr.remote(0, data.len());
                regions.push(mr);
                buffers.push(data);
                Payload::Bulk(vec![BulkDesc {
                    addr: r.addr,
                    len: r.len,
                    key: r.key,
                }])
            };
            let descs = shard.iods.iter().map(Iod::desc).collect();
            bodies.push(Some((descs, csums, payload)));
        }
        let g = bodies.len() as u32;
        let result = self
            .fanout(
                net,
                Groups::Of(dkey),
                Opcode::ObjUpdate,
                |layout, shard, target, epoch, dtx| {
                    let (iods, csums, data) = bodies[(shard.shard % g) as usize].clone()?;
                    let guarded = is_guard(ec, layout, layout.group_of(dkey), shard);
                    Some(ObjUpdateReq {
                        target,
                        epoch,
                        flags,
                        dkey: Key(dkey.to_vec()),
                        iods,
                        csum_chunk: if csums.is_empty() { 0 } else { chunk },
                        csums,
                        data,
                        dtx: dtx.cloned(),
                        ec_guard: guard.clone().filter(|_| guarded),
                    })
                },
                |reply: &ObjUpdateReply| reply.epoch,
            )
            .await;
        drop(regions);
        drop(buffers);
        result
    }

    /// Reads the `k` data cells of `stripe` over offsets `[a, b)` (latest epoch), decoding
    /// lost ones: the "read" of read-modify-write.
    #[allow(clippy::too_many_arguments)]
    async fn ec_read_stripe(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        akey: &[u8],
        rsize: u64,
        stripe: u64,
        a: u64,
        b: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let recxs: Vec<Recx> = (0..ec.k)
            .map(|cell| Recx {
                idx: ec.object_index(stripe, cell, a),
                nr: b - a,
            })
            .collect();
        let iod = Iod::array(akey.to_vec(), rsize, recxs);
        let width = ((b - a) * rsize) as usize;
        let (_, all) = self
            .ec_fetch_latest(net, ec, dkey, iod, width * ec.k)
            .await?;
        Ok(all
            .chunks(width.max(1))
            .take(ec.k)
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// The record size stored for `akey` over `recxs` (0 if nothing is there).
    async fn ec_record_size(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        akey: &[u8],
        recxs: &[Recx],
    ) -> Result<u64> {
        let iod = Iod::array(akey.to_vec(), 0, recxs.to_vec());
        let (found, _) = self.ec_fetch_latest(net, ec, dkey, iod, 0).await?;
        Ok(found.sizes.first().copied().unwrap_or(0))
    }

    /// Fetches one iod at the latest epoch into a new buffer of `len` bytes.
    async fn ec_fetch_latest(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        iod: Iod,
        len: usize,
    ) -> Result<(FetchResult, Vec<u8>)> {
        let mut sgls = [SgList::from_vec(vec![0u8; len])];
        let found = self
            .ec_fetch(net, ec, EPOCH_MAX, 0, dkey, &[iod], &mut sgls)
            .await?;
        let [sgl] = sgls;
        Ok((found, sgl.into_vecs().expect("owned buffer").remove(0)))
    }

    /// After a punch from record `first` on: sets an end mark at `first - 1` when that record
    /// holds data, so that the size stays known without the data shards.
    async fn ec_mark_below(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        dkey: &[u8],
        akey: &[u8],
        first: u64,
    ) -> Result<()> {
        let below = [Recx {
            idx: first - 1,
            nr: 1,
        }];
        let rsize = self.ec_record_size(net, ec, dkey, akey, &below).await?;
        if rsize == 0 {
            return Ok(());
        }
        let g = ec.k + ec.p;
        let mut shards: Vec<ShardUpdate> = (0..g).map(|_| ShardUpdate::default()).collect();
        for shard in &mut shards {
            let mark = Recx {
                idx: first - 1,
                nr: 1,
            };
            shard.push(Iod::array(end_akey(akey), 1, vec![mark]), &[0]);
        }
        self.ec_send(net, ec, dkey, 0, shards, None).await?;
        Ok(())
    }

    /// `daos_obj_fetch` on an erasure-coded object, following pool map changes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn ec_fetch(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &mut [SgList],
    ) -> Result<FetchResult> {
        self.check_fetch(dkey, iods, sgls)?;
        if flags != 0 && iods.iter().any(|i| i.kind == IodKind::Array) {
            return Err(Error::new(
                Der::Notsupported,
                "conditional fetches of erasure-coded arrays are not supported",
            ));
        }
        let mut stale_since: Option<Instant> = None;
        loop {
            let version = self.container().pool().map_version();
            let layout = self.layout();
            let group = layout.group_of(dkey);
            // Refuses a group past its fault tolerance.
            self.live_shards(&layout, group)?;
            let positions = layout.readable_places(group);
            let all: Vec<ShardLocation> = positions.iter().flatten().copied().collect();
            let attempt =
                self.ec_fetch_at(net, ec, version, &positions, epoch, flags, dkey, iods, sgls);
            match self.unless_excluded(net, &all, attempt).await {
                Err(err) if err.der() == Der::Stale => {
                    let since = *stale_since.get_or_insert_with(Instant::now);
                    self.after_stale(net, version, since, err).await?;
                }
                Err(err) if matches!(err.der(), Der::Unreach | Der::Timedout) => {
                    if self.container().pool().map_version() == version {
                        self.await_new_map(net, version, err).await?;
                    }
                }
                other => return other,
            }
        }
    }

    /// One attempt of [`Object::ec_fetch`] with the readable shards `positions`.
    #[allow(clippy::too_many_arguments)]
    async fn ec_fetch_at(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        version: u32,
        positions: &[Option<ShardLocation>],
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[Iod],
        sgls: &mut [SgList],
    ) -> Result<FetchResult> {
        let g = ec.k + ec.p;
        let mut reads: Vec<ShardRead> = (0..g)
            .map(|position| ShardRead {
                position,
                iods: Vec::new(),
                user_iod: Vec::new(),
                targets: Vec::new(),
            })
            .collect();
        let mut degraded: Vec<Degraded> = Vec::new();
        let mut result = FetchResult {
            sizes: vec![0; iods.len()],
            lens: vec![0; iods.len()],
            extents: vec![Vec::new(); iods.len()],
            too_big: false,
        };
        // Single values: from the first readable shard, data shards first.
        let single_from = positions
            .iter()
            .flatten()
            .next()
            .map(|s| (s.shard as usize) % g)
            .ok_or_else(|| Error::new(Der::DataLoss, "no readable shard"))?;
        for (i, iod) in iods.iter().enumerate() {
            if iod.kind == IodKind::Single {
                let read = &mut reads[single_from];
                read.iods.push(iod.clone());
                read.user_iod.push(i);
                read.targets.push(Vec::new());
                continue;
            }
            let mut direct: Vec<Vec<Piece>> = vec![Vec::new(); ec.k];
            let mut lost: BTreeMap<u64, Vec<Piece>> = BTreeMap::new();
            for piece in ec.split(&iod.recxs)? {
                if positions[piece.cell].is_some() {
                    direct[piece.cell].push(piece);
                } else {
                    lost.entry(piece.stripe).or_default().push(piece);
                }
            }
            for (cell, pieces) in direct.into_iter().enumerate() {
                if pieces.is_empty() {
                    continue;
                }
                let recxs = pieces.iter().map(|p| p.shard_recx(ec.cell)).collect();
                let read = &mut reads[cell];
                read.iods
                    .push(Iod::array(iod.akey.clone(), iod.size, recxs));
                read.user_iod.push(i);
                read.targets
                    .push(pieces.into_iter().map(ReadTarget::User).collect());
            }
            for (stripe, pieces) in lost {
                let (a, b) = hull(&pieces);
                degraded.push(Degraded {
                    iod: i,
                    stripe,
                    a,
                    b,
                    pieces,
                    cells: vec![None; g],
                    found: false,
                });
            }
        }
        // Decoding reads `k` readable shards, data shards first, at one epoch.
        let mut epoch = epoch;
        if !degraded.is_empty() {
            let sources: Vec<usize> = (0..g)
                .filter(|&p| positions[p].is_some())
                .take(ec.k)
                .collect();
            if sources.len() < ec.k {
                return Err(Error::new(
                    Der::DataLoss,
                    format!(
                        "object {:?}: fewer than {} readable shards to decode from",
                        self.oid(),
                        ec.k
                    ),
                ));
            }
            if epoch == EPOCH_MAX || epoch == 0 {
                epoch = self.container().pool().client().hlc_now();
            }
            for (index, d) in degraded.iter().enumerate() {
                let size = iods[d.iod].size;
                for &position in &sources {
                    let read = &mut reads[position];
                    read.iods.push(Iod::array(
                        iods[d.iod].akey.clone(),
                        size,
                        vec![Recx {
                            idx: d.stripe * ec.cell + d.a,
                            nr: d.b - d.a,
                        }],
                    ));
                    read.user_iod.push(d.iod);
                    read.targets.push(vec![ReadTarget::Source(index)]);
                }
            }
        }
        // A shard with both direct pieces and decoding sources of one akey gets one request per
        // role, so that no request names an akey twice.
        let mut requests = Vec::new();
        for read in reads {
            let mut split: Vec<ShardRead> = Vec::new();
            for ((iod, user), targets) in read.iods.into_iter().zip(read.user_iod).zip(read.targets)
            {
                let slot = split
                    .iter_mut()
                    .find(|r| r.iods.iter().all(|i| i.akey != iod.akey));
                let slot = match slot {
                    Some(slot) => slot,
                    None => {
                        split.push(ShardRead {
                            position: read.position,
                            iods: Vec::new(),
                            user_iod: Vec::new(),
                            targets: Vec::new(),
                        });
                        split.last_mut().expect("just pushed")
                    }
                };
                slot.iods.push(iod);
                slot.user_iod.push(user);
                slot.targets.push(targets);
            }
            requests.extend(split);
        }
        let calls = requests.iter().map(|read| {
            let shard = positions[read.position].expect("requests go to readable shards");
            let mut bufs: Vec<SgList> = read
                .iods
                .iter()
                .zip(&read.user_iod)
                .map(|(iod, &user)| {
                    let len = if iod.kind == IodKind::Single {
                        sgls[user].len() as usize
                    } else if iod.size == 0 {
                        0
                    } else {
                        iod.data_len().unwrap_or(0) as usize
                    };
                    SgList::from_vec(vec![0u8; len])
                })
                .collect();
            async move {
                let found = self
                    .fetch_once(
                        net, &shard, version, epoch, flags, dkey, &read.iods, &mut bufs,
                    )
                    .await?;
                Ok::<_, Error>((found, bufs))
            }
        });
        let replies = futures::future::try_join_all(calls).await?;
        for (read, (found, bufs)) in requests.iter().zip(replies) {
            for (n, buf) in bufs.into_iter().enumerate() {
                let user = read.user_iod[n];
                let iod = &read.iods[n];
                let size = found.sizes[n];
                let bytes = buf.into_vecs().expect("owned buffer").remove(0);
                if iod.kind == IodKind::Single {
                    result.sizes[user] = size;
                    result.lens[user] = found.lens[n];
                    result.too_big |= found.too_big;
                    sgls[user].write_at(0, &bytes[..found.lens[n] as usize]);
                    continue;
                }
                result.sizes[user] = result.sizes[user].max(size);
                match read.targets[n].as_slice() {
                    [ReadTarget::Source(index)] => {
                        let d = &mut degraded[*index];
                        d.found |= size > 0;
                        d.cells[read.position] = Some(bytes);
                    }
                    targets => {
                        let rsize = iod.size.max(size);
                        let mut at = 0usize;
                        for target in targets {
                            let ReadTarget::User(piece) = target else {
                                continue;
                            };
                            let n = (piece.nr * rsize) as usize;
                            if rsize > 0 && at + n <= bytes.len() {
                                sgls[user].write_at(piece.user * rsize, &bytes[at..at + n]);
                            }
                            at += n;
                        }
                        for recx in &found.extents[n] {
                            // A shard extent lies in one cell only when written so; map it
                            // record run by record run.
                            result.extents[user].extend(shard_extent_to_object(
                                ec,
                                read.position,
                                recx,
                            ));
                        }
                    }
                }
            }
        }
        for d in degraded {
            let size = iods[d.iod].size;
            if size == 0 {
                continue;
            }
            if !d.found {
                // Holes read as zeros, as the engines fill them.
                for piece in &d.pieces {
                    let zeros = vec![0u8; (piece.nr * size) as usize];
                    sgls[d.iod].write_at(piece.user * size, &zeros);
                }
                continue;
            }
            let width = ((d.b - d.a) * size) as usize;
            let mut cells = d.cells;
            for cell in cells.iter_mut().flatten() {
                cell.resize(width, 0);
            }
            ec.codec.reconstruct(&mut cells)?;
            for piece in &d.pieces {
                let cell = cells[piece.cell].as_ref().expect("reconstructed");
                let at = ((piece.off - d.a) * size) as usize;
                let n = (piece.nr * size) as usize;
                sgls[d.iod].write_at(piece.user * size, &cell[at..at + n]);
                result.extents[d.iod].push(Recx {
                    idx: ec.object_index(piece.stripe, piece.cell, piece.off),
                    nr: piece.nr,
                });
            }
        }
        for (i, iod) in iods.iter().enumerate() {
            if iod.kind == IodKind::Array {
                let extents = &mut result.extents[i];
                extents.sort_by_key(|r| r.idx);
                let mut merged: Vec<Recx> = Vec::with_capacity(extents.len());
                for r in extents.drain(..) {
                    match merged.last_mut() {
                        Some(last) if last.idx + last.nr >= r.idx => {
                            last.nr = last.nr.max(r.idx + r.nr - last.idx);
                        }
                        _ => merged.push(r),
                    }
                }
                *extents = merged;
                if iod.size > 0 && result.sizes[i] > 0 {
                    result.lens[i] = iod.data_len()?;
                }
            }
        }
        Ok(result)
    }

    /// `daos_obj_query_key` for `GET_RECX` on an erasure-coded array: the highest record of
    /// `akey` under `dkey` from the end marks of one shard, or the lowest from the data shards
    /// (refused while one is lost).
    pub(crate) async fn ec_query_recx(
        &self,
        net: &Arc<NetContext>,
        ec: &EcShape,
        epoch: Epoch,
        flags: u32,
        dkey: &[u8],
        akey: &[u8],
    ) -> Result<Option<Recx>> {
        let layout = self.layout();
        let group = layout.group_of(dkey);
        self.live_shards(&layout, group)?;
        let shards = &layout.groups[group];
        let want_max = flags & GET_MIN == 0;
        let ask = |shard: ShardLocation| ObjQueryKeyReq {
            target: self.target(&shard),
            epoch: if epoch == 0 { EPOCH_MAX } else { epoch },
            flags: GET_RECX | if want_max { GET_MAX } else { GET_MIN },
            dkey: Some(Key(dkey.to_vec())),
            akey: Some(Key(akey.to_vec())),
        };
        if !want_max {
            if !shards[..ec.k].iter().all(|s| s.is_readable()) {
                return Err(Error::new(
                    Der::Notsupported,
                    "the lowest extent of an erasure-coded array is not known while a data shard is lost",
                ));
            }
            let mut best: Option<u64> = None;
            for (position, shard) in shards[..ec.k].iter().enumerate() {
                match self.query_one(net, shard, &ask(*shard)).await {
                    Ok(reply) => {
                        let Some(recx) = reply.recx else { continue };
                        let x = ec.to_object(position, recx.idx);
                        best = Some(best.map_or(x, |b: u64| b.min(x)));
                    }
                    Err(err) if err.der() == Der::Nonexist => {}
                    Err(err) => return Err(err),
                }
            }
            return Ok(best.map(|idx| Recx { idx, nr: 1 }));
        }
        let shard = self
            .ec_key_shards(ec, &layout, group)
            .pop()
            .ok_or_else(|| Error::new(Der::DataLoss, "no readable shard for the array size"))?;
        let mut req = ask(shard);
        req.akey = Some(Key(end_akey(akey)));
        match self.query_one(net, &shard, &req).await {
            Ok(ObjQueryKeyReply {
                recx: Some(recx), ..
            }) => Ok(Some(Recx {
                idx: recx.idx + recx.nr - 1,
                nr: 1,
            })),
            Ok(_) => Ok(None),
            Err(err) if err.der() == Der::Nonexist => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Object extents covering a shard extent of the data cell at `position`, one per cell run.
fn shard_extent_to_object(ec: &EcShape, position: usize, recx: &Recx) -> Vec<Recx> {
    let mut out = Vec::new();
    let mut idx = recx.idx;
    let end = recx.idx + recx.nr;
    while idx < end {
        let nr = (ec.cell - idx % ec.cell).min(end - idx);
        out.push(Recx {
            idx: ec.to_object(position, idx),
            nr,
        });
        idx += nr;
    }
    out
}

/// The piece of each of the `k` cells when every cell is exactly one piece over `[a, b)` (a
/// full stripe, or the same offsets of every cell), in cell order.
fn whole_cells(pieces: &[Piece], k: usize, a: u64, b: u64) -> Option<Vec<Piece>> {
    let mut runs: Vec<Option<Piece>> = vec![None; k];
    for p in pieces {
        if p.off != a || p.off + p.nr != b || runs[p.cell].replace(*p).is_some() {
            return None;
        }
    }
    runs.into_iter().collect()
}

/// Encodes the parity of the `k` cell runs `data` (each `recx.nr` records of `rsize` bytes,
/// at shard index `recx`) straight into the parity shards' updates.
fn encode_parity(
    ec: &EcShape,
    shards: &mut [ShardUpdate],
    akey: &[u8],
    rsize: u64,
    recx: Recx,
    data: &[&[u8]],
) -> Result<()> {
    let width = (recx.nr * rsize) as usize;
    let parity = &mut shards[ec.k..];
    let starts: Vec<usize> = parity
        .iter_mut()
        .map(|shard| append_zeroed(shard, Iod::array(akey.to_vec(), rsize, vec![recx]), width))
        .collect();
    let mut out: Vec<&mut [u8]> = parity
        .iter_mut()
        .zip(&starts)
        .map(|(shard, &at)| &mut shard.data[at..at + width])
        .collect();
    ec.codec.encode(data, &mut out)
}

/// Adds `iod` (one extent) to a shard's update with `len` zero bytes to fill in; returns where
/// they start in the shard's data.
fn append_zeroed(shard: &mut ShardUpdate, iod: Iod, len: usize) -> usize {
    let at = shard.data.len();
    merge_into(shard, iod, &[]);
    shard.data.resize(at + len, 0);
    at
}

/// Adds `iod` (one extent) and its bytes to a shard's update, extending the shard's iod of the
/// same akey and record size when there is one.
fn merge_into(shard: &mut ShardUpdate, iod: Iod, bytes: &[u8]) {
    // Iod data is laid out in iod order, so only the last iod can grow in place.
    if let Some(last) = shard.iods.last_mut() {
        if last.akey == iod.akey && last.size == iod.size && last.kind == IodKind::Array {
            last.recxs.extend(iod.recxs);
            shard.data.extend_from_slice(bytes);
            return;
        }
    }
    shard.push(iod, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> EcShape {
        EcShape::new(2, 1, 4).unwrap()
    }

    #[test]
    fn pieces_stay_inside_cells_and_keep_the_user_order() {
        let ec = shape();
        // Records 3..13 over cells of 4, stripes of 8.
        let pieces = ec.split(&[Recx { idx: 3, nr: 10 }]).unwrap();
        let got: Vec<(u64, usize, u64, u64, u64)> = pieces
            .iter()
            .map(|p| (p.stripe, p.cell, p.off, p.nr, p.user))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 0, 3, 1, 0),
                (0, 1, 0, 4, 1),
                (1, 0, 0, 4, 5),
                (1, 1, 0, 1, 9)
            ]
        );
        for p in &pieces {
            let x = ec.object_index(p.stripe, p.cell, p.off);
            let shard = p.shard_recx(ec.cell);
            assert_eq!(ec.to_object(p.cell, shard.idx), x);
        }
    }

    #[test]
    fn coverage_needs_every_cell_over_the_hull() {
        let ec = shape();
        let full = ec.split(&[Recx { idx: 8, nr: 8 }]).unwrap();
        let (a, b) = hull(&full);
        assert_eq!((a, b), (0, 4));
        assert!(covers(&full, 2, a, b));
        let part = ec.split(&[Recx { idx: 9, nr: 6 }]).unwrap();
        let (a, b) = hull(&part);
        assert_eq!((a, b), (0, 4));
        assert!(!covers(&part, 2, a, b));
        // Offsets 1..3 of both cells: covered over its own hull.
        let middle = ec
            .split(&[Recx { idx: 1, nr: 2 }, Recx { idx: 5, nr: 2 }])
            .unwrap();
        let (a, b) = hull(&middle);
        assert_eq!((a, b), (1, 3));
        assert!(covers(&middle, 2, a, b));
    }

    #[test]
    fn shard_extents_map_back_cell_by_cell() {
        let ec = shape();
        // Shard 1's records 2..6: stripe 0 offsets 2..4, stripe 1 offsets 0..2.
        let got = shard_extent_to_object(&ec, 1, &Recx { idx: 2, nr: 4 });
        assert_eq!(got, vec![Recx { idx: 6, nr: 2 }, Recx { idx: 12, nr: 2 }]);
    }
}
