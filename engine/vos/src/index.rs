//! The in-DRAM, multi-version index of one VOS pool on one target.
//!
//! container → object shard → dkey → akey → single-value versions or array extents, every
//! version tagged with its epoch and the LSN of the log record that created it.
//!
//! Visibility (DAOS `src/vos/README.md`, MVCC): a read at epoch `E` sees, for each akey, the
//! versions with `floor < epoch ≤ E`, where `floor` is the latest punch at or below `E` on the
//! object, the dkey or the akey. Among visible single-value versions the highest
//! `(epoch, lsn)` wins; for arrays each record comes from the highest visible extent covering
//! it, and records no extent covers read as zeros. A punched extent ([`Stored::Hole`]) covers
//! records with zeros. A key exists at `E` when some record or value under it is visible and
//! not a hole.
//!
//! Invariants:
//! - Maps hold `Arc`s, so cloning the whole index is O(1) and a clone is an immutable snapshot
//!   (used by checkpoints) while the live index keeps changing by path copying.
//! - [`Index::apply`] never fails for a well-formed record: every check happens before a
//!   record is logged, and replay must reproduce the live state exactly.
//! - Punch lists and single-value version lists are sorted by `(epoch, lsn)`.

use crate::key::{KeyAnchor, OrdKey, PrefixRun};
use crate::record::{
    AggChange, DtxOp, ExtentEntry, IodEntry, PunchRecord, PunchTarget, Record, SingleEntry, Stored,
    UpdateRecord,
};
use daos_types::dtx::{DtxInfo, DtxState};
use daos_types::{Der, Epoch, Error, KeyOrder, ObjectId, ObjectType, Result, Uuid, EPOCH_MAX};
use imbl::{OrdMap, OrdSet};
use std::sync::Arc;

/// Block size of the blob; O_DIRECT alignment.
pub const BLOCK_SIZE: u64 = 4096;

/// Rounds down to a block boundary.
pub fn align_down(value: u64) -> u64 {
    value & !(BLOCK_SIZE - 1)
}

/// Rounds up to a block boundary.
pub fn align_up(value: u64) -> u64 {
    value.div_ceil(BLOCK_SIZE) * BLOCK_SIZE
}

/// A punch marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Punch {
    /// Epoch of the punch.
    pub epoch: Epoch,
    /// LSN of the record.
    pub lsn: u64,
}

/// One version of a single value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleVersion {
    /// Epoch written at.
    pub epoch: Epoch,
    /// LSN of the record.
    pub lsn: u64,
    /// Size in bytes (0 for a punch).
    pub size: u64,
    /// The bytes.
    pub data: Stored,
    /// CRC-32C of the value.
    pub csum: Option<u32>,
}

/// One array extent version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    /// First record index.
    pub lo: u64,
    /// One past the last record index.
    pub hi: u64,
    /// Epoch written at.
    pub epoch: Epoch,
    /// LSN of the record.
    pub lsn: u64,
    /// The bytes (or a hole).
    pub data: Stored,
    /// Chunk checksums of the bytes.
    pub csums: Arc<[u32]>,
    /// Chunk size of `csums` (0: none).
    pub csum_chunk: u64,
}

impl Extent {
    /// Byte range `[lo * rsize, hi * rsize)` in the array's byte space.
    pub fn byte_range(&self, rsize: u64) -> (u64, u64) {
        (self.lo * rsize, self.hi * rsize)
    }

    /// Blob address of byte `byte` of the array (which this extent must hold in the blob).
    pub fn phys_of(&self, rsize: u64, byte: u64) -> Option<u64> {
        match self.data {
            Stored::Blob { phys } => Some(phys + (byte - align_down(self.lo * rsize))),
            _ => None,
        }
    }

    /// Blob blocks this extent occupies: `(first byte address, length)`.
    pub fn blob_space(&self, rsize: u64) -> Option<(u64, u64)> {
        match self.data {
            Stored::Blob { phys } => Some(extent_blocks(phys, self.lo, self.hi, rsize)),
            _ => None,
        }
    }
}

/// Extents keyed by `(lo, epoch, lsn)`.
pub type ExtentKey = (u64, Epoch, u64);

/// An array akey's extents.
#[derive(Clone, Debug, Default)]
pub struct ArrayValue {
    /// Record size, bytes.
    pub rsize: u64,
    /// Extents.
    pub extents: OrdMap<ExtentKey, Arc<Extent>>,
    /// Longest extent ever inserted, records (bounds overlap queries).
    pub max_len: u64,
}

/// What an akey holds.
#[derive(Clone, Debug)]
pub enum Value {
    /// Nothing yet.
    None,
    /// Single-value versions, sorted by `(epoch, lsn)`.
    Single(Vec<SingleVersion>),
    /// Array extents.
    Array(ArrayValue),
}

/// An akey.
#[derive(Clone, Debug)]
pub struct AkeyIndex {
    /// Punches of this akey.
    pub punches: Vec<Punch>,
    /// Its value.
    pub value: Value,
}

/// A dkey.
#[derive(Clone, Debug, Default)]
pub struct DkeyIndex {
    /// Punches of this dkey.
    pub punches: Vec<Punch>,
    /// Its akeys.
    pub akeys: OrdMap<OrdKey, Arc<AkeyIndex>>,
}

/// An object shard.
#[derive(Clone, Debug)]
pub struct ObjectIndex {
    /// Key typing and order.
    pub otype: ObjectType,
    /// Punches of the whole object.
    pub punches: Vec<Punch>,
    /// Its dkeys.
    pub dkeys: OrdMap<OrdKey, Arc<DkeyIndex>>,
}

/// A container on this target.
#[derive(Clone, Debug, Default)]
pub struct ContainerIndex {
    /// Object shards by `(oid, shard)`.
    pub objects: OrdMap<(ObjectId, u32), Arc<ObjectIndex>>,
}

/// The whole index of one pool on one target.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Containers by UUID.
    pub containers: OrdMap<Uuid, Arc<ContainerIndex>>,
    /// LSN of the last applied record.
    pub last_lsn: u64,
    /// Bytes of values stored inline (counted against the pool's metadata space).
    pub inline_bytes: u64,
    /// Transactions of replicated updates this target takes part in: prepared ones, and the
    /// outcomes of finished ones until they are forgotten ([`crate::VosPool::forget_dtx`]).
    pub dtx: OrdMap<Uuid, DtxEntry>,
    /// The ids of `dtx` that are prepared (few: the transactions in flight).
    pub prepared: OrdSet<Uuid>,
}

/// What a target holds of one transaction (see [`daos_types::dtx`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtxEntry {
    /// Prepared: the update's data is stored, the update waits for the outcome.
    Prepared {
        /// LSN of the prepare record.
        lsn: u64,
        /// Participants.
        info: DtxInfo,
        /// What is applied on commit.
        op: Arc<DtxOp>,
    },
    /// Committed (clock reading when it was).
    Committed {
        /// When.
        epoch: Epoch,
    },
    /// Aborted, or fenced before anything was prepared (clock reading when it was).
    Aborted {
        /// When.
        epoch: Epoch,
    },
}

impl DtxEntry {
    /// The wire state.
    pub fn state(&self) -> DtxState {
        match self {
            DtxEntry::Prepared { .. } => DtxState::Prepared,
            DtxEntry::Committed { .. } => DtxState::Committed,
            DtxEntry::Aborted { .. } => DtxState::Aborted,
        }
    }
}

/// The blob ranges a prepared transaction holds (a punch holds none).
pub fn op_space(op: &DtxOp, out: &mut Freed) {
    if let DtxOp::Update(update) = op {
        update_space(update, out);
    }
}

/// Blob blocks an update's values occupy: `(first byte address, length)` each.
pub fn update_space(update: &UpdateRecord, out: &mut Freed) {
    for iod in &update.iods {
        match &iod.entry {
            IodEntry::Single(SingleEntry {
                size,
                data: Stored::Blob { phys },
                ..
            }) => out.push((*phys, align_up(*size))),
            IodEntry::Single(_) => {}
            IodEntry::Array { rsize, extents } => {
                for x in extents {
                    if let Stored::Blob { phys } = x.data {
                        out.push(extent_blocks(phys, x.lo, x.hi, *rsize));
                    }
                }
            }
        }
    }
}

/// Blob blocks holding records `lo..hi` of `rsize` bytes stored from `phys` (the block of
/// the first byte): `(first byte address, length)`.
fn extent_blocks(phys: u64, lo: u64, hi: u64, rsize: u64) -> (u64, u64) {
    (phys, align_up(hi * rsize) - align_down(lo * rsize))
}

/// Blob space released by a change: `(byte address, length)`.
pub type Freed = Vec<(u64, u64)>;

/// Whether punch `p` removes something under `dkey` of an akey `akey` selects.
fn punch_covers(p: &PunchRecord, dkey: &[u8], akey: impl Fn(&[u8]) -> bool) -> bool {
    match &p.target {
        PunchTarget::Object => true,
        PunchTarget::Dkeys(dkeys) => dkeys.iter().any(|d| d == dkey),
        PunchTarget::Akeys { dkey: d, akeys } => d == dkey && akeys.iter().any(|a| akey(a)),
    }
}

fn floor_of(punches: &[Punch], epoch: Epoch) -> Punch {
    let i = punches.partition_point(|p| p.epoch <= epoch);
    if i == 0 {
        Punch { epoch: 0, lsn: 0 }
    } else {
        punches[i - 1]
    }
}

fn insert_sorted<T: Ord + Copy>(list: &mut Vec<T>, value: T) {
    let i = list.partition_point(|p| *p <= value);
    list.insert(i, value);
}

/// The otype of an object id, or `-DER_INVAL`.
pub fn object_type(oid: ObjectId) -> Result<ObjectType> {
    oid.object_type()
        .ok_or_else(|| Error::new(Der::Inval, format!("object {oid:?} has an undefined type")))
}

/// Positions a dkey of `oid`.
pub fn dkey_of(oid: ObjectId, dkey: &[u8]) -> Result<OrdKey> {
    OrdKey::new(object_type(oid)?.dkey_order(), dkey)
}

/// Positions an akey of `oid`.
pub fn akey_of(oid: ObjectId, akey: &[u8]) -> Result<OrdKey> {
    OrdKey::new(object_type(oid)?.akey_order(), akey)
}

/// Where a piece of fetched data comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Zeros (a hole).
    Zero,
    /// Bytes of an extent, starting `offset` bytes into the extent.
    Extent {
        /// The extent.
        extent: Arc<Extent>,
        /// Record size.
        rsize: u64,
        /// Offset into the extent's bytes.
        offset: u64,
    },
    /// Bytes of a single value, starting `offset` bytes in.
    Single {
        /// The version.
        version: SingleVersion,
        /// Offset into the value.
        offset: u64,
    },
}

/// A contiguous run of fetched bytes.
#[derive(Clone, Debug)]
pub struct Piece {
    /// Offset in this iod's output, bytes.
    pub out: u64,
    /// Length, bytes.
    pub len: u64,
    /// Where it comes from.
    pub source: Source,
}

/// What a fetch of one akey returns.
#[derive(Clone, Debug, Default)]
pub struct IodPlan {
    /// Record size (single value: its size); 0 when nothing is there.
    pub size: u64,
    /// Output bytes for this iod.
    pub len: u64,
    /// The pieces, covering `0..len` in order.
    pub pieces: Vec<Piece>,
    /// Non-hole visible extents within the request (arrays).
    pub extents: Vec<(u64, u64)>,
}

/// A fetch request for one akey.
#[derive(Clone, Debug)]
pub struct FetchIod<'a> {
    /// The akey.
    pub akey: &'a [u8],
    /// Array (true) or single value.
    pub array: bool,
    /// Record size asked for; 0 is "any".
    pub size: u64,
    /// Extents (arrays): `(idx, nr)`.
    pub recxs: &'a [(u64, u64)],
}

/// What a visible-extent resolution yields for one record range.
#[derive(Clone, Debug)]
struct Fragment {
    lo: u64,
    hi: u64,
    extent: Option<Arc<Extent>>,
}

impl ArrayValue {
    fn overlapping(&self, lo: u64, hi: u64) -> impl Iterator<Item = &Arc<Extent>> {
        let start = lo.saturating_sub(self.max_len);
        self.extents
            .range((start, 0, 0)..(hi, 0, 0))
            .map(|(_, x)| x)
            .filter(move |x| x.lo < hi && x.hi > lo)
    }

    /// Visible fragments covering `[lo, hi)` at epoch in `(floor, epoch]`, in index order;
    /// uncovered ranges have no extent.
    fn resolve(&self, lo: u64, hi: u64, floor: Epoch, epoch: Epoch) -> Vec<Fragment> {
        let mut candidates: Vec<&Arc<Extent>> = self
            .overlapping(lo, hi)
            .filter(|x| x.epoch > floor && x.epoch <= epoch)
            .collect();
        candidates.sort_by_key(|x| std::cmp::Reverse((x.epoch, x.lsn)));
        // Holes still to fill, as sorted disjoint ranges; filled newest extent first.
        let mut holes = vec![(lo, hi)];
        let mut filled: Vec<Fragment> = Vec::new();
        for x in candidates {
            if holes.is_empty() {
                break;
            }
            let mut next = Vec::with_capacity(holes.len() + 1);
            for (h_lo, h_hi) in holes {
                let (c_lo, c_hi) = (h_lo.max(x.lo), h_hi.min(x.hi));
                if c_lo >= c_hi {
                    next.push((h_lo, h_hi));
                    continue;
                }
                filled.push(Fragment {
                    lo: c_lo,
                    hi: c_hi,
                    extent: Some(x.clone()),
                });
                if h_lo < c_lo {
                    next.push((h_lo, c_lo));
                }
                if c_hi < h_hi {
                    next.push((c_hi, h_hi));
                }
            }
            holes = next;
        }
        filled.extend(holes.into_iter().map(|(lo, hi)| Fragment {
            lo,
            hi,
            extent: None,
        }));
        filled.sort_by_key(|f| f.lo);
        filled
    }

    /// The extents (holes included) that supply some record of `[lo, hi)` at `epoch`.
    pub fn visible_extents(
        &self,
        lo: u64,
        hi: u64,
        floor: Epoch,
        epoch: Epoch,
    ) -> Vec<Arc<Extent>> {
        self.resolve(lo, hi, floor, epoch)
            .into_iter()
            .filter_map(|f| f.extent)
            .collect()
    }

    /// Whether any non-hole record is visible.
    fn has_data(&self, floor: Epoch, epoch: Epoch) -> bool {
        let visible = |x: &&Arc<Extent>| x.epoch > floor && x.epoch <= epoch;
        if !self
            .extents
            .values()
            .filter(visible)
            .any(|x| x.data.is_hole())
        {
            return self
                .extents
                .values()
                .any(|x| visible(&x) && !x.data.is_hole());
        }
        let (Some(first), Some(last)) = (
            self.extents.get_min(),
            self.extents.values().map(|x| x.hi).max(),
        ) else {
            return false;
        };
        self.resolve(first.1.lo, last, floor, epoch)
            .iter()
            .any(|f| f.extent.as_ref().is_some_and(|x| !x.data.is_hole()))
    }

    /// Visible non-hole fragments over everything, in index order.
    fn data_fragments(&self, floor: Epoch, epoch: Epoch) -> Vec<(u64, u64, Arc<Extent>)> {
        let (Some(first), Some(last)) = (
            self.extents.get_min(),
            self.extents.values().map(|x| x.hi).max(),
        ) else {
            return Vec::new();
        };
        self.resolve(first.1.lo, last, floor, epoch)
            .into_iter()
            .filter_map(|f| match f.extent {
                Some(x) if !x.data.is_hole() => Some((f.lo, f.hi, x)),
                _ => None,
            })
            .collect()
    }
}

impl AkeyIndex {
    fn visible_single(&self, floor: Epoch, epoch: Epoch) -> Option<&SingleVersion> {
        match &self.value {
            Value::Single(versions) => versions
                .iter()
                .rev()
                .find(|v| v.epoch > floor && v.epoch <= epoch)
                .filter(|v| !v.data.is_hole()),
            _ => None,
        }
    }

    /// Whether the akey has visible data at `epoch`, given the floor from its ancestors.
    fn exists(&self, parent_floor: Epoch, epoch: Epoch) -> bool {
        let floor = parent_floor.max(floor_of(&self.punches, epoch).epoch);
        match &self.value {
            Value::None => false,
            Value::Single(_) => self.visible_single(floor, epoch).is_some(),
            Value::Array(array) => array.has_data(floor, epoch),
        }
    }
}

impl DkeyIndex {
    fn exists(&self, parent_floor: Epoch, epoch: Epoch) -> bool {
        let floor = parent_floor.max(floor_of(&self.punches, epoch).epoch);
        self.akeys.values().any(|a| a.exists(floor, epoch))
    }
}

/// Extents found by [`Index::list_recxs`]: `(lo, hi, epoch)` each, the record size, and
/// whether the end was reached.
pub type RecxPage = (Vec<(u64, u64, Epoch)>, u64, bool);

/// What [`Index::query_key`] found: dkey, akey and extent `(idx, nr)`.
pub type QueryKeyResult = (Option<Vec<u8>>, Option<Vec<u8>>, Option<(u64, u64)>);

/// Which key level an enumeration lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLevel {
    /// Dkeys of the object.
    Dkeys,
    /// Akeys of one dkey.
    Akeys,
}

/// A page of enumerated keys.
#[derive(Clone, Debug, Default)]
pub struct KeyPage {
    /// Keys, in order.
    pub keys: Vec<Vec<u8>>,
    /// Resume point (empty at the end).
    pub anchor: Vec<u8>,
    /// Whether the end was reached.
    pub eof: bool,
    /// When no key fit: the size of the next key.
    pub next_key_size: u64,
}

impl Index {
    /// The object shard, if present.
    pub fn object(&self, cont: &Uuid, oid: ObjectId, shard: u32) -> Option<&Arc<ObjectIndex>> {
        self.containers.get(cont)?.objects.get(&(oid, shard))
    }

    /// Whether a container exists on this target.
    pub fn has_container(&self, cont: &Uuid) -> bool {
        self.containers.contains_key(cont)
    }

    /// The akey entry and the floor from its ancestors at `epoch`.
    fn akey_path(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &OrdKey,
        akey: &OrdKey,
        epoch: Epoch,
    ) -> Option<(&Arc<AkeyIndex>, Punch)> {
        let object = self.object(cont, oid, shard)?;
        let dk = object.dkeys.get(dkey)?;
        let ak = dk.akeys.get(akey)?;
        let floor = [
            floor_of(&object.punches, epoch),
            floor_of(&dk.punches, epoch),
            floor_of(&ak.punches, epoch),
        ]
        .into_iter()
        .max()
        .expect("three floors");
        Some((ak, floor))
    }

    /// Whether a dkey has visible data at `epoch`.
    pub fn dkey_exists(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        epoch: Epoch,
    ) -> Result<bool> {
        let key = dkey_of(oid, dkey)?;
        let Some(object) = self.object(cont, oid, shard) else {
            return Ok(false);
        };
        let Some(dk) = object.dkeys.get(&key) else {
            return Ok(false);
        };
        Ok(dk.exists(floor_of(&object.punches, epoch).epoch, epoch))
    }

    /// Whether an akey has visible data at `epoch`.
    pub fn akey_exists(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        akey: &[u8],
        epoch: Epoch,
    ) -> Result<bool> {
        let (dkey, akey) = (dkey_of(oid, dkey)?, akey_of(oid, akey)?);
        Ok(
            match self.akey_path(cont, oid, shard, &dkey, &akey, epoch) {
                Some((ak, floor)) => ak.exists(floor.epoch, epoch),
                None => false,
            },
        )
    }

    /// The kind and record size an akey currently holds: `Some((is_array, rsize))`.
    pub fn akey_kind(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        akey: &[u8],
    ) -> Option<(bool, u64)> {
        let (dkey, akey) = (dkey_of(oid, dkey).ok()?, akey_of(oid, akey).ok()?);
        let ak = self
            .object(cont, oid, shard)?
            .dkeys
            .get(&dkey)?
            .akeys
            .get(&akey)?;
        match &ak.value {
            Value::None => None,
            Value::Single(v) if v.is_empty() => None,
            Value::Single(_) => Some((false, 0)),
            Value::Array(a) if a.extents.is_empty() => None,
            Value::Array(a) => Some((true, a.rsize)),
        }
    }

    /// The prepared transaction, if any, whose commit would change what a read of `iods` under
    /// `dkey` at `epoch` returns: an update of one of the akeys (arrays: over one of the
    /// extents) or a punch covering one of them, at an epoch no later than `epoch`. The read
    /// must wait for its outcome (DAOS's `-DER_INPROGRESS`), so that readers of different
    /// shards of one group (erasure-coded cells above all) never see a transaction committed
    /// on some and not yet on others.
    pub fn prepared_conflict(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        dkey: &[u8],
        iods: &[FetchIod<'_>],
    ) -> Option<Uuid> {
        let wanted = |akey: &[u8]| iods.iter().find(|i| i.akey == akey);
        let overlaps = |iod: &FetchIod<'_>, entry: &IodEntry| match entry {
            IodEntry::Array { extents, .. } if iod.array => extents.iter().any(|x| {
                iod.recxs
                    .iter()
                    .any(|&(idx, nr)| x.lo < idx.saturating_add(nr) && x.hi > idx)
            }),
            _ => true,
        };
        self.prepared_on(cont, oid, shard, |op| {
            op.epoch() <= epoch
                && match op {
                    DtxOp::Update(u) => {
                        u.dkey == dkey
                            && u.iods.iter().any(|rec| {
                                wanted(&rec.akey).is_some_and(|iod| overlaps(iod, &rec.entry))
                            })
                    }
                    DtxOp::Punch(p) => punch_covers(p, dkey, |a| wanted(a).is_some()),
                }
        })
    }

    /// The first prepared transaction on object shard `(cont, oid, shard)` whose operation
    /// `hit` selects.
    fn prepared_on(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        hit: impl Fn(&DtxOp) -> bool,
    ) -> Option<Uuid> {
        self.prepared.iter().copied().find(|id| {
            matches!(
                self.dtx.get(id),
                Some(DtxEntry::Prepared { op, .. })
                    if op.cont() == *cont && op.oid() == oid && op.shard() == shard && hit(op)
            )
        })
    }

    /// The newest epoch at which anything visible at the latest epoch over records `recxs`
    /// (`(idx, nr)`) of array `akey` under `dkey` was written or punched; 0 if nothing was.
    /// Erasure-coded objects use it to order a read-modify-write after everything it read.
    pub fn newest_epoch(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        akey: &[u8],
        recxs: &[(u64, u64)],
    ) -> Result<Epoch> {
        let (dkey, akey) = (dkey_of(oid, dkey)?, akey_of(oid, akey)?);
        let Some((ak, floor)) = self.akey_path(cont, oid, shard, &dkey, &akey, EPOCH_MAX) else {
            return Ok(0);
        };
        let mut newest = floor.epoch;
        if let Value::Array(array) = &ak.value {
            for &(idx, nr) in recxs {
                for x in array.overlapping(idx, idx.saturating_add(nr)) {
                    newest = newest.max(x.epoch);
                }
            }
        }
        Ok(newest)
    }

    /// For a punch of `dkey` (all its akeys when `akeys` is `None`), or of the whole shard
    /// when `dkey` is `None`: the prepared transaction that changes something it would punch,
    /// if any, and the newest epoch at which anything under it was written or punched (0 if
    /// nothing was). Erasure-coded objects use them to order a punch after the updates of
    /// what it punches.
    ///
    /// Errors: `-DER_INVAL` for a dkey of the wrong type.
    pub fn punch_view(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: Option<&[u8]>,
        akeys: Option<&[Vec<u8>]>,
    ) -> Result<(Option<Uuid>, Epoch)> {
        let covered = |akey: &[u8]| akeys.is_none_or(|list| list.iter().any(|a| a == akey));
        let prepared = self.prepared_on(cont, oid, shard, |op| match (op, dkey) {
            (_, None) => true,
            (DtxOp::Update(u), Some(dkey)) => {
                u.dkey == dkey && u.iods.iter().any(|r| covered(&r.akey))
            }
            (DtxOp::Punch(p), Some(dkey)) => punch_covers(p, dkey, covered),
        });
        let key = dkey.map(|d| dkey_of(oid, d)).transpose()?;
        let Some(object) = self.object(cont, oid, shard) else {
            return Ok((prepared, 0));
        };
        let mut newest = object.punches.last().map_or(0, |p| p.epoch);
        let mut visit = |dk: &DkeyIndex| {
            newest = newest.max(dk.punches.last().map_or(0, |p| p.epoch));
            for (akey, ak) in dk.akeys.iter() {
                if !covered(&akey.bytes) {
                    continue;
                }
                newest = newest.max(ak.punches.last().map_or(0, |p| p.epoch));
                newest = newest.max(match &ak.value {
                    Value::None => 0,
                    Value::Single(versions) => versions.iter().map(|v| v.epoch).max().unwrap_or(0),
                    Value::Array(array) => array.extents.keys().map(|k| k.1).max().unwrap_or(0),
                });
            }
        };
        match &key {
            Some(key) => object.dkeys.get(key).into_iter().for_each(|dk| visit(dk)),
            None => object.dkeys.values().for_each(|dk| visit(dk)),
        }
        Ok((prepared, newest))
    }

    /// Plans a fetch of `iods` under `dkey` at `epoch`. Returns the plans and the highest LSN
    /// among the versions and punches consulted (the read must not be answered before that
    /// LSN is durable).
    ///
    /// Errors: `-DER_REC_SIZE` when an array is read with a record size other than its own.
    pub fn fetch(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        dkey: &[u8],
        iods: &[FetchIod<'_>],
    ) -> Result<(Vec<IodPlan>, u64)> {
        let dkey = dkey_of(oid, dkey)?;
        let mut lsn_max = 0;
        let mut plans = Vec::with_capacity(iods.len());
        for iod in iods {
            let akey = akey_of(oid, iod.akey)?;
            let Some((ak, floor)) = self.akey_path(cont, oid, shard, &dkey, &akey, epoch) else {
                plans.push(empty_plan(iod));
                continue;
            };
            lsn_max = lsn_max.max(floor.lsn);
            let plan = match (&ak.value, iod.array) {
                (Value::Single(versions), false) => {
                    match versions
                        .iter()
                        .rev()
                        .find(|v| v.epoch > floor.epoch && v.epoch <= epoch)
                    {
                        Some(v) => {
                            lsn_max = lsn_max.max(v.lsn);
                            if v.data.is_hole() {
                                IodPlan::default()
                            } else {
                                IodPlan {
                                    size: v.size,
                                    len: v.size,
                                    pieces: vec![Piece {
                                        out: 0,
                                        len: v.size,
                                        source: Source::Single {
                                            version: v.clone(),
                                            offset: 0,
                                        },
                                    }],
                                    extents: Vec::new(),
                                }
                            }
                        }
                        None => IodPlan::default(),
                    }
                }
                (Value::Array(array), true) => {
                    if iod.size != 0 && array.rsize != 0 && iod.size != array.rsize {
                        return Err(Error::new(
                            Der::RecSize,
                            format!(
                                "array has {}-byte records, fetch asked for {}",
                                array.rsize, iod.size
                            ),
                        ));
                    }
                    let rsize = if array.rsize != 0 {
                        array.rsize
                    } else {
                        iod.size
                    };
                    let mut plan = IodPlan {
                        size: 0,
                        ..IodPlan::default()
                    };
                    let mut out = 0u64;
                    for &(idx, nr) in iod.recxs {
                        let hi = idx.saturating_add(nr);
                        for fragment in array.resolve(idx, hi, floor.epoch, epoch) {
                            let len = (fragment.hi - fragment.lo) * rsize;
                            let source = match &fragment.extent {
                                Some(x) => {
                                    lsn_max = lsn_max.max(x.lsn);
                                    if x.data.is_hole() {
                                        Source::Zero
                                    } else {
                                        plan.size = rsize;
                                        plan.extents.push((fragment.lo, fragment.hi));
                                        Source::Extent {
                                            extent: x.clone(),
                                            rsize,
                                            offset: (fragment.lo - x.lo) * rsize,
                                        }
                                    }
                                }
                                None => Source::Zero,
                            };
                            plan.pieces.push(Piece { out, len, source });
                            out += len;
                        }
                    }
                    plan.len = out;
                    merge_extents(&mut plan.extents);
                    plan
                }
                // Asking for the other kind finds nothing, as in DAOS.
                _ => empty_plan(iod),
            };
            plans.push(plan);
        }
        Ok((plans, lsn_max))
    }

    /// Lists keys after `anchor`, at most `count_max` keys and `bytes_max` key bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn list_keys(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        level: KeyLevel,
        dkey: Option<&[u8]>,
        anchor: &[u8],
        count_max: usize,
        bytes_max: u64,
    ) -> Result<KeyPage> {
        let anchor = KeyAnchor::decode(anchor)?;
        let Some(object) = self.object(cont, oid, shard) else {
            return Ok(KeyPage {
                eof: true,
                ..KeyPage::default()
            });
        };
        let object_floor = floor_of(&object.punches, epoch).epoch;
        let start = anchor.as_ref().map(KeyAnchor::scan_start);
        let keys: Box<dyn Iterator<Item = (&OrdKey, bool)>> = match level {
            KeyLevel::Dkeys => {
                let iter: Box<dyn Iterator<Item = (&OrdKey, &Arc<DkeyIndex>)>> = match start {
                    Some(start) => Box::new(object.dkeys.range(start..)),
                    None => Box::new(object.dkeys.iter()),
                };
                Box::new(iter.map(move |(k, d)| (k, d.exists(object_floor, epoch))))
            }
            KeyLevel::Akeys => {
                let dkey =
                    dkey.ok_or_else(|| Error::new(Der::Inval, "listing akeys needs a dkey"))?;
                let Some(dk) = object.dkeys.get(&dkey_of(oid, dkey)?) else {
                    return Ok(KeyPage {
                        eof: true,
                        ..KeyPage::default()
                    });
                };
                let floor = object_floor.max(floor_of(&dk.punches, epoch).epoch);
                let iter: Box<dyn Iterator<Item = (&OrdKey, &Arc<AkeyIndex>)>> = match start {
                    Some(start) => Box::new(dk.akeys.range(start..)),
                    None => Box::new(dk.akeys.iter()),
                };
                Box::new(iter.map(move |(k, a)| (k, a.exists(floor, epoch))))
            }
        };
        let mut page = KeyPage::default();
        let mut bytes = 0u64;
        let mut shared_seen = 0u16;
        let mut run = PrefixRun::resume(anchor.as_ref());
        let mut last: Option<(OrdKey, u16)> = None;
        for (key, exists) in keys {
            if let Some(anchor) = &anchor {
                if !anchor.is_after(key, &mut shared_seen) {
                    continue;
                }
            }
            if !exists {
                continue;
            }
            if page.keys.len() >= count_max || bytes + key.bytes.len() as u64 > bytes_max {
                page.anchor = match &last {
                    Some((last_key, count)) => KeyAnchor::after(last_key, *count).encode(),
                    None => {
                        // Nothing fit: report the size needed and keep the caller's place.
                        page.next_key_size = key.bytes.len() as u64;
                        anchor.map(|a| a.encode()).unwrap_or_default()
                    }
                };
                return Ok(page);
            }
            bytes += key.bytes.len() as u64;
            page.keys.push(key.bytes.to_vec());
            let count = run.push(key);
            last = Some((key.clone(), count));
        }
        page.eof = true;
        Ok(page)
    }

    /// Lists visible data extents of an array akey after record index `after` (exclusive of
    /// extents ending at or before it): `(lo, hi, epoch)`.
    #[allow(clippy::too_many_arguments)]
    pub fn list_recxs(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        dkey: &[u8],
        akey: &[u8],
        after: u64,
        count_max: usize,
    ) -> Result<RecxPage> {
        let (dkey, akey) = (dkey_of(oid, dkey)?, akey_of(oid, akey)?);
        let Some((ak, floor)) = self.akey_path(cont, oid, shard, &dkey, &akey, epoch) else {
            return Ok((Vec::new(), 0, true));
        };
        let Value::Array(array) = &ak.value else {
            return Ok((Vec::new(), 0, true));
        };
        let fragments = array.data_fragments(floor.epoch, epoch);
        let mut out = Vec::new();
        for (lo, hi, x) in fragments {
            if hi <= after {
                continue;
            }
            if out.len() >= count_max {
                return Ok((out, array.rsize, false));
            }
            out.push((lo.max(after), hi, x.epoch));
        }
        Ok((out, array.rsize, true))
    }

    /// `daos_obj_query_key`: the highest (or lowest) dkey with data, then within it (or the
    /// given dkey) the highest (or lowest) akey, then the highest (or lowest) extent of the
    /// given (or found) akey.
    #[allow(clippy::too_many_arguments)]
    pub fn query_key(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        want_max: bool,
        dkey: Option<&[u8]>,
        akey: Option<&[u8]>,
        want_recx: bool,
    ) -> Result<QueryKeyResult> {
        let Some(object) = self.object(cont, oid, shard) else {
            return Ok((None, None, None));
        };
        let object_floor = floor_of(&object.punches, epoch).epoch;
        let akey_key = akey.map(|a| akey_of(oid, a)).transpose()?;
        let candidates: Vec<(&OrdKey, &Arc<DkeyIndex>)> = match dkey {
            Some(d) => object
                .dkeys
                .get_key_value(&dkey_of(oid, d)?)
                .into_iter()
                .collect(),
            None => {
                if want_max {
                    object.dkeys.iter().rev().collect()
                } else {
                    object.dkeys.iter().collect()
                }
            }
        };
        for (dk_key, dk) in candidates {
            let floor = object_floor.max(floor_of(&dk.punches, epoch).epoch);
            let akeys: Vec<(&OrdKey, &Arc<AkeyIndex>)> = match &akey_key {
                Some(a) => dk.akeys.get_key_value(a).into_iter().collect(),
                None => {
                    if want_max {
                        dk.akeys.iter().rev().collect()
                    } else {
                        dk.akeys.iter().collect()
                    }
                }
            };
            for (ak_key, ak) in akeys {
                if !ak.exists(floor, epoch) {
                    continue;
                }
                let mut recx = None;
                if want_recx {
                    let floor = floor.max(floor_of(&ak.punches, epoch).epoch);
                    if let Value::Array(array) = &ak.value {
                        let fragments = array.data_fragments(floor, epoch);
                        let pick = if want_max {
                            fragments.last()
                        } else {
                            fragments.first()
                        };
                        recx = pick.map(|(lo, hi, _)| (*lo, *hi - *lo));
                    }
                }
                return Ok((
                    Some(dk_key.bytes.to_vec()),
                    Some(ak_key.bytes.to_vec()),
                    recx,
                ));
            }
        }
        Ok((None, None, None))
    }

    /// Applies a logged record. Returns blob space the change released.
    pub fn apply(&mut self, lsn: u64, record: &Record) -> Freed {
        debug_assert!(lsn > self.last_lsn, "records apply in LSN order");
        self.last_lsn = lsn;
        let mut freed = Vec::new();
        match record {
            Record::ContCreate(cont) => {
                if !self.containers.contains_key(cont) {
                    self.containers
                        .insert(*cont, Arc::new(ContainerIndex::default()));
                }
            }
            Record::ContDestroy(cont) => {
                self.abort_prepared(&mut freed, |op| op.cont() == *cont);
                if let Some(container) = self.containers.remove(cont) {
                    for object in container.objects.values() {
                        object_space(object, &mut freed);
                        self.inline_bytes = self.inline_bytes.saturating_sub(object_inline(object));
                    }
                }
            }
            Record::Update(u) => self.apply_update(lsn, u, &mut freed),
            Record::DtxPrepare { info, update } => {
                self.prepare(lsn, info, DtxOp::Update(update.clone()))
            }
            Record::DtxPreparePunch { info, punch } => {
                self.prepare(lsn, info, DtxOp::Punch(punch.clone()))
            }
            Record::DtxCommit { id, epoch } => {
                if let Some(DtxEntry::Prepared { op, .. }) = self.dtx.get(id).cloned() {
                    self.prepared.remove(id);
                    match &*op {
                        DtxOp::Update(update) => self.apply_update(lsn, update, &mut freed),
                        DtxOp::Punch(punch) => self.apply_punch(lsn, punch),
                    }
                    self.dtx.insert(*id, DtxEntry::Committed { epoch: *epoch });
                }
            }
            Record::DtxAbort { id, epoch } => match self.dtx.get(id) {
                Some(DtxEntry::Committed { .. } | DtxEntry::Aborted { .. }) => {}
                Some(DtxEntry::Prepared { op, .. }) => {
                    op_space(op, &mut freed);
                    self.prepared.remove(id);
                    self.dtx.insert(*id, DtxEntry::Aborted { epoch: *epoch });
                }
                None => {
                    self.dtx.insert(*id, DtxEntry::Aborted { epoch: *epoch });
                }
            },
            Record::Punch(p) => self.apply_punch(lsn, p),
            Record::Aggregate(a) => self.apply_aggregate(a, &mut freed),
            Record::DropShard { cont, oid, shard } => {
                self.abort_prepared(&mut freed, |op| {
                    op.cont() == *cont && op.oid() == *oid && op.shard() == *shard
                });
                if let Some(container) = self.containers.get_mut(cont) {
                    if let Some(object) = Arc::make_mut(container).objects.remove(&(*oid, *shard)) {
                        object_space(&object, &mut freed);
                        self.inline_bytes =
                            self.inline_bytes.saturating_sub(object_inline(&object));
                    }
                }
            }
        }
        freed
    }

    /// Applies an update (a plain one, or a committed transaction's) at `lsn`.
    fn apply_update(&mut self, lsn: u64, u: &UpdateRecord, freed: &mut Freed) {
        let Ok(otype) = object_type(u.oid) else {
            return;
        };
        let container = Arc::make_mut(self.containers.entry(u.cont).or_default());
        let object = Arc::make_mut(container.objects.entry((u.oid, u.shard)).or_insert_with(
            || {
                Arc::new(ObjectIndex {
                    otype,
                    punches: Vec::new(),
                    dkeys: OrdMap::new(),
                })
            },
        ));
        let Ok(dkey) = OrdKey::new(otype.dkey_order(), &u.dkey) else {
            return;
        };
        let dk = Arc::make_mut(object.dkeys.entry(dkey).or_default());
        for iod in &u.iods {
            let Ok(akey) = OrdKey::new(otype.akey_order(), &iod.akey) else {
                continue;
            };
            let ak = Arc::make_mut(dk.akeys.entry(akey).or_insert_with(|| {
                Arc::new(AkeyIndex {
                    punches: Vec::new(),
                    value: Value::None,
                })
            }));
            apply_iod(
                ak,
                u.epoch,
                lsn,
                u.csum_chunk,
                &iod.entry,
                freed,
                &mut self.inline_bytes,
            );
        }
    }

    /// Applies a punch logged at `lsn`.
    fn apply_punch(&mut self, lsn: u64, p: &PunchRecord) {
        let Ok(otype) = object_type(p.oid) else {
            return;
        };
        let container = Arc::make_mut(self.containers.entry(p.cont).or_default());
        let object = Arc::make_mut(container.objects.entry((p.oid, p.shard)).or_insert_with(
            || {
                Arc::new(ObjectIndex {
                    otype,
                    punches: Vec::new(),
                    dkeys: OrdMap::new(),
                })
            },
        ));
        let punch = Punch {
            epoch: p.epoch,
            lsn,
        };
        match &p.target {
            PunchTarget::Object => insert_sorted(&mut object.punches, punch),
            PunchTarget::Dkeys(dkeys) => {
                for dkey in dkeys {
                    let Ok(dkey) = OrdKey::new(otype.dkey_order(), dkey) else {
                        continue;
                    };
                    let dk = Arc::make_mut(object.dkeys.entry(dkey).or_default());
                    insert_sorted(&mut dk.punches, punch);
                }
            }
            PunchTarget::Akeys { dkey, akeys } => {
                let Ok(dkey) = OrdKey::new(otype.dkey_order(), dkey) else {
                    return;
                };
                let dk = Arc::make_mut(object.dkeys.entry(dkey).or_default());
                for akey in akeys {
                    let Ok(akey) = OrdKey::new(otype.akey_order(), akey) else {
                        continue;
                    };
                    let ak = Arc::make_mut(dk.akeys.entry(akey).or_insert_with(|| {
                        Arc::new(AkeyIndex {
                            punches: Vec::new(),
                            value: Value::None,
                        })
                    }));
                    insert_sorted(&mut ak.punches, punch);
                }
            }
        }
    }

    /// Records a prepared transaction. Logged only for an id unknown in memory, which may be
    /// a forgotten outcome that replay brought back: the prepare replaces it, as it did live.
    fn prepare(&mut self, lsn: u64, info: &DtxInfo, op: DtxOp) {
        if !matches!(self.dtx.get(&info.id), Some(DtxEntry::Prepared { .. })) {
            self.prepared.insert(info.id);
            self.dtx.insert(
                info.id,
                DtxEntry::Prepared {
                    lsn,
                    info: info.clone(),
                    op: Arc::new(op),
                },
            );
        }
    }

    /// Drops the prepared transactions matching `which` (their container or shard is
    /// destroyed), freeing their space; they count as aborted.
    fn abort_prepared(&mut self, freed: &mut Freed, which: impl Fn(&DtxOp) -> bool) {
        let doomed: Vec<(Uuid, Epoch)> = self
            .prepared
            .iter()
            .filter_map(|id| match self.dtx.get(id) {
                Some(DtxEntry::Prepared { op, .. }) if which(op) => {
                    op_space(op, freed);
                    Some((*id, op.epoch()))
                }
                _ => None,
            })
            .collect();
        for (id, epoch) in doomed {
            self.prepared.remove(&id);
            self.dtx.insert(id, DtxEntry::Aborted { epoch });
        }
    }

    fn apply_aggregate(&mut self, a: &crate::record::AggregateRecord, freed: &mut Freed) {
        let inline_bytes = &mut self.inline_bytes;
        let Some(container) = self.containers.get_mut(&a.cont) else {
            return;
        };
        let container = Arc::make_mut(container);
        let Some(object) = container.objects.get_mut(&(a.oid, a.shard)) else {
            return;
        };
        let object = Arc::make_mut(object);
        let otype = object.otype;
        for change in &a.changes {
            match change {
                AggChange::DropSingle { dkey, akey, lsn } => {
                    with_akey(object, otype, dkey, akey, |ak| {
                        if let Value::Single(versions) = &mut ak.value {
                            if let Some(i) = versions.iter().position(|v| v.lsn == *lsn) {
                                let v = versions.remove(i);
                                match v.data {
                                    Stored::Blob { phys } => freed.push((phys, align_up(v.size))),
                                    Stored::Inline(b) => {
                                        *inline_bytes = inline_bytes.saturating_sub(b.len() as u64)
                                    }
                                    Stored::Hole => {}
                                }
                            }
                        }
                    });
                }
                AggChange::DropExtent {
                    dkey,
                    akey,
                    lo,
                    epoch,
                    lsn,
                } => {
                    with_akey(object, otype, dkey, akey, |ak| {
                        if let Value::Array(array) = &mut ak.value {
                            if let Some(x) = array.extents.remove(&(*lo, *epoch, *lsn)) {
                                if let Some(space) = x.blob_space(array.rsize) {
                                    freed.push(space);
                                }
                                if let Stored::Inline(b) = &x.data {
                                    *inline_bytes = inline_bytes.saturating_sub(b.len() as u64);
                                }
                            }
                        }
                    });
                }
                AggChange::DropPunch { dkey, akey, epoch } => match (dkey, akey) {
                    (None, _) => object.punches.retain(|p| p.epoch != *epoch),
                    (Some(dkey), None) => {
                        if let Ok(key) = OrdKey::new(otype.dkey_order(), dkey) {
                            if let Some(dk) = object.dkeys.get_mut(&key) {
                                Arc::make_mut(dk).punches.retain(|p| p.epoch != *epoch);
                            }
                        }
                    }
                    (Some(dkey), Some(akey)) => with_akey(object, otype, dkey, akey, |ak| {
                        ak.punches.retain(|p| p.epoch != *epoch)
                    }),
                },
            }
        }
        // Drop keys the changes left with nothing.
        let mut touched: Vec<&[u8]> = a
            .changes
            .iter()
            .filter_map(|c| match c {
                AggChange::DropSingle { dkey, .. } | AggChange::DropExtent { dkey, .. } => {
                    Some(dkey.as_slice())
                }
                AggChange::DropPunch { dkey, .. } => dkey.as_deref(),
            })
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for dkey in touched {
            let Ok(key) = OrdKey::new(otype.dkey_order(), dkey) else {
                continue;
            };
            let Some(dk) = object.dkeys.get_mut(&key) else {
                continue;
            };
            let dk = Arc::make_mut(dk);
            let empty: Vec<OrdKey> = dk
                .akeys
                .iter()
                .filter(|(_, ak)| ak.punches.is_empty() && value_is_empty(&ak.value))
                .map(|(k, _)| k.clone())
                .collect();
            for k in empty {
                dk.akeys.remove(&k);
            }
            if dk.akeys.is_empty() && dk.punches.is_empty() {
                object.dkeys.remove(&key);
            }
        }
        if object.dkeys.is_empty() && object.punches.is_empty() {
            container.objects.remove(&(a.oid, a.shard));
        }
    }

    /// Every blob range referenced by the index: what is *not* free in the allocator.
    pub fn blob_space(&self) -> Freed {
        let mut used = Vec::new();
        for container in self.containers.values() {
            for object in container.objects.values() {
                object_space(object, &mut used);
            }
        }
        for entry in self.dtx.values() {
            if let DtxEntry::Prepared { op, .. } = entry {
                op_space(op, &mut used);
            }
        }
        used
    }

    /// Recounts inline bytes from scratch (after loading a checkpoint).
    pub fn count_inline_bytes(&self) -> u64 {
        self.containers
            .values()
            .flat_map(|c| c.objects.values())
            .map(|o| object_inline(o))
            .sum()
    }
}

fn value_is_empty(value: &Value) -> bool {
    match value {
        Value::None => true,
        Value::Single(v) => v.is_empty(),
        Value::Array(a) => a.extents.is_empty(),
    }
}

fn with_akey(
    object: &mut ObjectIndex,
    otype: ObjectType,
    dkey: &[u8],
    akey: &[u8],
    f: impl FnOnce(&mut AkeyIndex),
) {
    let (Ok(dkey), Ok(akey)) = (
        OrdKey::new(otype.dkey_order(), dkey),
        OrdKey::new(otype.akey_order(), akey),
    ) else {
        return;
    };
    if let Some(dk) = object.dkeys.get_mut(&dkey) {
        if let Some(ak) = Arc::make_mut(dk).akeys.get_mut(&akey) {
            f(Arc::make_mut(ak));
        }
    }
}

fn object_space(object: &ObjectIndex, out: &mut Freed) {
    for dk in object.dkeys.values() {
        for ak in dk.akeys.values() {
            match &ak.value {
                Value::Single(versions) => {
                    for v in versions {
                        if let Stored::Blob { phys } = v.data {
                            out.push((phys, align_up(v.size)));
                        }
                    }
                }
                Value::Array(array) => {
                    for x in array.extents.values() {
                        if let Some(space) = x.blob_space(array.rsize) {
                            out.push(space);
                        }
                    }
                }
                Value::None => {}
            }
        }
    }
}

fn object_inline(object: &ObjectIndex) -> u64 {
    let inline = |data: &Stored| {
        if let Stored::Inline(b) = data {
            b.len() as u64
        } else {
            0
        }
    };
    let mut total = 0;
    for dk in object.dkeys.values() {
        for ak in dk.akeys.values() {
            total += match &ak.value {
                Value::Single(vs) => vs.iter().map(|v| inline(&v.data)).sum::<u64>(),
                Value::Array(a) => a.extents.values().map(|x| inline(&x.data)).sum::<u64>(),
                Value::None => 0,
            };
        }
    }
    total
}

fn stored_inline_len(data: &Stored) -> u64 {
    if let Stored::Inline(b) = data {
        b.len() as u64
    } else {
        0
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_iod(
    ak: &mut AkeyIndex,
    epoch: Epoch,
    lsn: u64,
    csum_chunk: u64,
    entry: &IodEntry,
    freed: &mut Freed,
    inline_bytes: &mut u64,
) {
    match entry {
        IodEntry::Single(SingleEntry { size, data, csum }) => {
            if !matches!(ak.value, Value::Single(_)) {
                if let Value::Array(array) = &ak.value {
                    // A kind change is refused before logging; if one is replayed anyway, the
                    // old value's space must not leak.
                    for x in array.extents.values() {
                        freed.extend(x.blob_space(array.rsize));
                    }
                }
                ak.value = Value::Single(Vec::new());
            }
            let Value::Single(versions) = &mut ak.value else {
                unreachable!()
            };
            *inline_bytes += stored_inline_len(data);
            let version = SingleVersion {
                epoch,
                lsn,
                size: *size,
                data: data.clone(),
                csum: *csum,
            };
            let i = versions.partition_point(|v| (v.epoch, v.lsn) <= (epoch, lsn));
            versions.insert(i, version);
        }
        IodEntry::Array { rsize, extents } => {
            if !matches!(ak.value, Value::Array(_)) {
                if let Value::Single(versions) = &ak.value {
                    for v in versions {
                        if let Stored::Blob { phys } = v.data {
                            freed.push((phys, align_up(v.size)));
                        }
                    }
                }
                ak.value = Value::Array(ArrayValue {
                    rsize: *rsize,
                    ..ArrayValue::default()
                });
            }
            let Value::Array(array) = &mut ak.value else {
                unreachable!()
            };
            if array.extents.is_empty() || array.rsize == 0 {
                array.rsize = *rsize;
            }
            for ExtentEntry {
                lo,
                hi,
                data,
                csums,
            } in extents
            {
                *inline_bytes += stored_inline_len(data);
                array.max_len = array.max_len.max(hi - lo);
                array.extents.insert(
                    (*lo, epoch, lsn),
                    Arc::new(Extent {
                        lo: *lo,
                        hi: *hi,
                        epoch,
                        lsn,
                        data: data.clone(),
                        csums: csums.clone(),
                        csum_chunk,
                    }),
                );
            }
        }
    }
}

fn empty_plan(iod: &FetchIod<'_>) -> IodPlan {
    if !iod.array {
        return IodPlan::default();
    }
    // Missing arrays read as zeros over the requested extents.
    let len: u64 = iod.recxs.iter().map(|(_, nr)| nr * iod.size).sum();
    IodPlan {
        size: 0,
        len,
        pieces: if len > 0 {
            vec![Piece {
                out: 0,
                len,
                source: Source::Zero,
            }]
        } else {
            Vec::new()
        },
        extents: Vec::new(),
    }
}

fn merge_extents(extents: &mut Vec<(u64, u64)>) {
    extents.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(extents.len());
    for &(lo, hi) in extents.iter() {
        match merged.last_mut() {
            Some(last) if last.1 >= lo => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    *extents = merged;
}

/// Key order of dkeys for `oid`.
pub fn dkey_order(oid: ObjectId) -> Result<KeyOrder> {
    Ok(object_type(oid)?.dkey_order())
}
