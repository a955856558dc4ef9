//! A VOS pool on one target: index, blob allocator, write-ahead log and checkpoints.
//!
//! The pool is *sans-I/O* on the data path: it plans, allocates and records, and the target's
//! event loop moves bytes (RMA, io_uring) and writes the log flushes it hands out. Recovery
//! and checkpoints do their own (synchronous) file I/O.
//!
//! Update protocol (the order is what makes acknowledged writes survive a crash):
//! 1. [`VosPool::check_update`] validates and evaluates conditions early (cheap failure);
//! 2. the caller allocates blob space ([`VosPool::allocate`]) and writes bulk data there with
//!    `O_DSYNC`, verifying the client's checksums;
//! 3. [`VosPool::update`] re-checks conditions, then logs and applies the record in
//!    one synchronous step, so no other operation can interleave between check and apply;
//! 4. the reply waits until [`VosPool::durable_lsn`] covers the record's LSN.
//!
//! Reads call [`VosPool::fetch`] and must not reply before the returned LSN is durable, so
//! nobody ever observes a write that a crash could still take back.

use crate::alloc::Allocator;
use crate::index::{DtxEntry, FetchIod, Index, IodPlan, KeyLevel, KeyPage};
use crate::record::{DtxOp, IodEntry, IodRecord, PunchRecord, PunchTarget, Record, UpdateRecord};
use crate::wal::{FlushJob, Wal};
use daos_types::dtx::{DtxInfo, DtxState};
use daos_types::{Der, Epoch, Error, ObjectId, Result, Uuid};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest value stored inline in metadata rather than in the blob, bytes.
pub const INLINE_VALUE_MAX: u64 = 4096;
/// Checkpoint when this much log was written since the last one (or more, see
/// [`VosPool::checkpoint_due`]).
pub const CHECKPOINT_LOG_BYTES: u64 = 64 << 20;

/// `DAOS_COND_PUNCH`.
pub const COND_PUNCH: u64 = 1;
/// `DAOS_COND_DKEY_INSERT`.
pub const COND_DKEY_INSERT: u64 = 2;
/// `DAOS_COND_DKEY_UPDATE`.
pub const COND_DKEY_UPDATE: u64 = 4;
/// `DAOS_COND_DKEY_FETCH`.
pub const COND_DKEY_FETCH: u64 = 8;
/// `DAOS_COND_AKEY_INSERT`.
pub const COND_AKEY_INSERT: u64 = 16;
/// `DAOS_COND_AKEY_UPDATE`.
pub const COND_AKEY_UPDATE: u64 = 32;
/// `DAOS_COND_AKEY_FETCH`.
pub const COND_AKEY_FETCH: u64 = 64;
/// `DAOS_COND_PER_AKEY`.
pub const COND_PER_AKEY: u64 = 128;

/// The region of a data file a pool's blob occupies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRegion {
    /// The data file.
    pub path: PathBuf,
    /// First byte (block aligned).
    pub start: u64,
    /// Length (block aligned).
    pub len: u64,
}

/// Identity and limits of a pool on a target, stored in `pool.meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolMeta {
    /// Pool UUID.
    pub uuid: Uuid,
    /// Blob region.
    pub blob: BlobRegion,
    /// Metadata (inline value) budget, bytes.
    pub scm_bytes: u64,
    /// Bytes per write-ahead log segment ([`crate::wal::SEGMENT_SIZE`] normally; tests use
    /// small ones to exercise rotation).
    pub log_segment_bytes: u64,
}

impl PoolMeta {
    fn encode(&self) -> String {
        format!(
            "uuid={}\nblob_path={}\nblob_start={}\nblob_len={}\nscm_bytes={}\nlog_segment_bytes={}\n",
            self.uuid,
            self.blob.path.display(),
            self.blob.start,
            self.blob.len,
            self.scm_bytes,
            self.log_segment_bytes,
        )
    }

    fn decode(text: &str) -> Result<PoolMeta> {
        let bad = |what: &str| Error::new(Der::DfInval, format!("pool.meta: {what}"));
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.to_string(), v.to_string());
            }
        }
        let get = |k: &str| {
            fields
                .get(k)
                .cloned()
                .ok_or_else(|| bad(&format!("missing {k}")))
        };
        let num = |k: &str| get(k)?.parse::<u64>().map_err(|_| bad(&format!("bad {k}")));
        Ok(PoolMeta {
            uuid: get("uuid")?.parse().map_err(|_| bad("bad uuid"))?,
            blob: BlobRegion {
                path: get("blob_path")?.into(),
                start: num("blob_start")?,
                len: num("blob_len")?,
            },
            scm_bytes: num("scm_bytes")?,
            log_segment_bytes: num("log_segment_bytes")?,
        })
    }
}

/// One akey of an update, before logging.
#[derive(Clone, Debug)]
pub struct UpdateIod {
    /// The akey and what it receives.
    pub record: IodRecord,
    /// Per-akey condition flags (with `DAOS_COND_PER_AKEY`).
    pub flags: u64,
}

/// Space figures of a pool on a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Space {
    /// Metadata budget, bytes.
    pub scm_total: u64,
    /// Metadata budget left, bytes.
    pub scm_free: u64,
    /// Blob bytes.
    pub nvme_total: u64,
    /// Blob bytes free (including space pending release).
    pub nvme_free: u64,
}

/// A VOS pool on one target.
pub struct VosPool {
    meta: PoolMeta,
    dir: PathBuf,
    index: Index,
    alloc: Allocator,
    wal: Wal,
    read_generation: u64,
    active_reads: BTreeMap<u64, usize>,
    checkpointing: bool,
    checkpoint_lsn: u64,
    checkpoint_bytes: u64,
    log_bytes_at_checkpoint: u64,
}

impl VosPool {
    /// Creates a new, empty pool in `dir` (which must not hold one).
    ///
    /// Errors: `-DER_EXIST` if `dir` already holds a pool; I/O errors.
    pub fn create(dir: &Path, meta: PoolMeta) -> Result<VosPool> {
        if dir.join("pool.meta").exists() {
            return Err(Error::new(
                Der::Exist,
                format!("{} already holds a pool", dir.display()),
            ));
        }
        daos_bio::replace_durably(&dir.join("pool.meta"), meta.encode().as_bytes())?;
        if let Some(parent) = dir.parent() {
            daos_bio::sync_dir(parent)?;
        }
        Self::open(dir)
    }

    /// Opens the pool in `dir`: loads the newest checkpoint, replays the log after it and
    /// rebuilds the free-space map.
    ///
    /// Errors: `-DER_NONEXIST` if there is no pool; `-DER_DF_INVAL` for damaged metadata.
    pub fn open(dir: &Path) -> Result<VosPool> {
        let meta_path = dir.join("pool.meta");
        let text = match std::fs::read_to_string(&meta_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    Der::Nonexist,
                    format!("no pool in {}", dir.display()),
                ))
            }
            Err(e) => return Err(Error::from(e).with_context(meta_path.display())),
        };
        let meta = PoolMeta::decode(&text)?;
        let (mut index, checkpoint_lsn, checkpoint_bytes) = match crate::checkpoint::latest(dir)? {
            Some((lsn, path)) => {
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                (crate::checkpoint::read(&path)?, lsn, bytes)
            }
            None => (Index::default(), 0, 0),
        };
        index.inline_bytes = index.count_inline_bytes();
        let (wal, records) = Wal::open(dir, checkpoint_lsn, meta.log_segment_bytes)?;
        let replayed = records.len();
        for (lsn, record) in &records {
            index.apply(*lsn, record);
        }
        if index.last_lsn < wal.last_lsn() {
            index.last_lsn = wal.last_lsn();
        }
        let used = index.blob_space();
        let alloc = Allocator::with_used(meta.blob.start, meta.blob.start + meta.blob.len, used)?;
        tracing::debug!(
            "opened pool {} in {}: checkpoint at LSN {checkpoint_lsn}, {replayed} records replayed",
            meta.uuid,
            dir.display()
        );
        Ok(VosPool {
            meta,
            dir: dir.to_path_buf(),
            index,
            alloc,
            wal,
            read_generation: 1,
            active_reads: BTreeMap::new(),
            checkpointing: false,
            checkpoint_lsn,
            checkpoint_bytes,
            log_bytes_at_checkpoint: 0,
        })
    }

    /// The pool's identity and limits.
    pub fn meta(&self) -> &PoolMeta {
        &self.meta
    }

    /// The metadata directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index (read-only).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Space figures.
    pub fn space(&self) -> Space {
        Space {
            scm_total: self.meta.scm_bytes,
            scm_free: self.meta.scm_bytes.saturating_sub(self.index.inline_bytes),
            nvme_total: self.alloc.capacity(),
            nvme_free: self.alloc.free() + self.alloc.pending(),
        }
    }

    /// Whether a value of `len` bytes should be stored inline (small, and metadata space
    /// remains).
    pub fn store_inline(&self, len: u64) -> bool {
        len <= INLINE_VALUE_MAX && self.index.inline_bytes + len <= self.meta.scm_bytes
    }

    /// Allocates blob space for `len` bytes. Errors: `-DER_NOSPACE`.
    pub fn allocate(&mut self, len: u64) -> Result<u64> {
        self.alloc.allocate(len)
    }

    /// Returns space allocated for an update that was then not logged.
    pub fn release_unlogged(&mut self, phys: u64, len: u64) {
        self.alloc.release_now(phys, len);
    }

    /// Evaluates conditions and validates an update against the current state.
    #[allow(clippy::too_many_arguments)]
    ///
    /// Errors: `-DER_EXIST` / `-DER_NONEXIST` for failed conditions (`DAOS_COND_*`);
    /// `-DER_INVAL` for a key of the wrong size for an integer-keyed object, or a single
    /// value written to an array akey or the reverse;
    /// `-DER_REC_SIZE` for an array written with another record size.
    pub fn check_update(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        flags: u64,
        dkey: &[u8],
        iods: &[UpdateIod],
    ) -> Result<()> {
        let index = &self.index;
        // Key typing (integer keys are 8 bytes): the index could not hold a mistyped key, so
        // an update with one must fail here rather than be acknowledged and dropped.
        crate::index::dkey_of(oid, dkey)?;
        for iod in iods {
            crate::index::akey_of(oid, &iod.record.akey)?;
        }
        if flags & (COND_DKEY_INSERT | COND_DKEY_UPDATE) != 0 {
            let exists = index.dkey_exists(cont, oid, shard, dkey, epoch)?;
            if flags & COND_DKEY_INSERT != 0 && exists {
                return Err(Error::new(Der::Exist, "conditional insert: dkey exists"));
            }
            if flags & COND_DKEY_UPDATE != 0 && !exists {
                return Err(Error::new(
                    Der::Nonexist,
                    "conditional update: dkey does not exist",
                ));
            }
        }
        for iod in iods {
            let akey_flags = if flags & COND_PER_AKEY != 0 {
                iod.flags
            } else {
                flags
            };
            if akey_flags & (COND_AKEY_INSERT | COND_AKEY_UPDATE) != 0 {
                let exists = index.akey_exists(cont, oid, shard, dkey, &iod.record.akey, epoch)?;
                if akey_flags & COND_AKEY_INSERT != 0 && exists {
                    return Err(Error::new(Der::Exist, "conditional insert: akey exists"));
                }
                if akey_flags & COND_AKEY_UPDATE != 0 && !exists {
                    return Err(Error::new(
                        Der::Nonexist,
                        "conditional update: akey does not exist",
                    ));
                }
            }
            if let Some((is_array, rsize)) =
                index.akey_kind(cont, oid, shard, dkey, &iod.record.akey)
            {
                match &iod.record.entry {
                    IodEntry::Single(_) if is_array => {
                        return Err(Error::new(
                            Der::Inval,
                            "single value written to an array akey",
                        ))
                    }
                    IodEntry::Array { .. } if !is_array => {
                        return Err(Error::new(
                            Der::Inval,
                            "array written to a single-value akey",
                        ))
                    }
                    IodEntry::Array { rsize: new, .. } if *new != rsize && *new != 0 => {
                        return Err(Error::new(
                            Der::RecSize,
                            format!(
                                "akey holds {rsize}-byte records, update writes {new}-byte records"
                            ),
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Checks conditions again and, if they hold, logs and applies the update. With a
    /// transaction (`dtx`, DAOS's DTX) it only prepares the update: the record is logged, its
    /// data stays allocated, and nothing is visible until [`VosPool::dtx_commit`]. Returns
    /// the record's LSN; the caller replies once it is durable.
    ///
    /// Errors: those of [`VosPool::check_update`]; `-DER_TX_RESTART` when the transaction
    /// was already aborted or fenced here (a late or replayed prepare); `-DER_ALREADY` when it
    /// is already prepared or committed here.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        dtx: Option<DtxInfo>,
        cont: Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        flags: u64,
        dkey: Vec<u8>,
        iods: Vec<UpdateIod>,
        csum_chunk: u64,
    ) -> Result<u64> {
        self.check_new_dtx(dtx.as_ref())?;
        self.check_update(&cont, oid, shard, epoch, flags, &dkey, &iods)?;
        let update = UpdateRecord {
            cont,
            oid,
            shard,
            epoch,
            csum_chunk,
            dkey,
            iods: iods.into_iter().map(|i| i.record).collect(),
        };
        Ok(self.log(match dtx {
            Some(info) => DtxOp::Update(update).prepare_record(info),
            None => Record::Update(update),
        }))
    }

    /// Refuses a transaction this target already took part in: `-DER_TX_RESTART` when it
    /// was aborted or fenced here (a late or replayed prepare), `-DER_ALREADY` when it is
    /// prepared or committed here.
    fn check_new_dtx(&self, dtx: Option<&DtxInfo>) -> Result<()> {
        match dtx.and_then(|info| self.index.dtx.get(&info.id)) {
            None => Ok(()),
            Some(DtxEntry::Aborted { .. }) => {
                Err(Error::new(Der::TxRestart, "transaction was aborted here"))
            }
            Some(_) => Err(Error::new(
                Der::Already,
                "transaction is already prepared here",
            )),
        }
    }

    /// Commits a prepared transaction: its update becomes visible. `now` is the clock reading
    /// that ages the outcome. Returns the LSN logged, or `None` when it was already committed
    /// here (commits are idempotent).
    ///
    /// Errors: `-DER_TX_RESTART` when it was aborted here; `-DER_NONEXIST` when it is unknown.
    pub fn dtx_commit(&mut self, id: Uuid, now: Epoch) -> Result<Option<u64>> {
        match self.index.dtx.get(&id) {
            Some(DtxEntry::Prepared { .. }) => {
                Ok(Some(self.log(Record::DtxCommit { id, epoch: now })))
            }
            Some(DtxEntry::Committed { .. }) => Ok(None),
            Some(DtxEntry::Aborted { .. }) => Err(Error::new(
                Der::TxRestart,
                format!("transaction {id} was aborted"),
            )),
            None => Err(Error::new(
                Der::Nonexist,
                format!("transaction {id} is not known here"),
            )),
        }
    }

    /// Aborts a transaction: a prepared update's space is freed; an unknown one is recorded
    /// aborted (fenced) so a late prepare is refused. `now` is the clock reading that ages the
    /// record. Returns the LSN logged, or `None` when it was already aborted here.
    ///
    /// Errors: `-DER_ALREADY` when it was committed here.
    pub fn dtx_abort(&mut self, id: Uuid, now: Epoch) -> Result<Option<u64>> {
        match self.index.dtx.get(&id) {
            Some(DtxEntry::Committed { .. }) => Err(Error::new(
                Der::Already,
                format!("transaction {id} is committed"),
            )),
            Some(DtxEntry::Aborted { .. }) => Ok(None),
            Some(DtxEntry::Prepared { .. }) | None => {
                Ok(Some(self.log(Record::DtxAbort { id, epoch: now })))
            }
        }
    }

    /// Whether a transaction is prepared here (its commit is due soon).
    pub fn dtx_pending(&self) -> bool {
        !self.index.prepared.is_empty()
    }

    /// What this target knows of a transaction, if anything.
    pub fn dtx_state(&self, id: &Uuid) -> Option<DtxState> {
        self.index.dtx.get(id).map(DtxEntry::state)
    }

    /// The prepared transactions here: `(id, participants, what commit applies)`.
    pub fn dtx_prepared(&self) -> Vec<(Uuid, DtxInfo, Arc<DtxOp>)> {
        self.index
            .dtx
            .iter()
            .filter_map(|(id, entry)| match entry {
                DtxEntry::Prepared { info, op, .. } => Some((*id, info.clone(), op.clone())),
                _ => None,
            })
            .collect()
    }

    /// Forgets the outcomes of transactions finished before `horizon` (a clock reading): by
    /// then every live participant has resolved them. Not logged: a forgotten outcome that a
    /// replay brings back is still true.
    pub fn forget_dtx(&mut self, horizon: Epoch) {
        let old: Vec<Uuid> = self
            .index
            .dtx
            .iter()
            .filter(|(_, entry)| match entry {
                DtxEntry::Committed { epoch } | DtxEntry::Aborted { epoch } => *epoch < horizon,
                DtxEntry::Prepared { .. } => false,
            })
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.index.dtx.remove(&id);
        }
    }

    /// Checks `DAOS_COND_PUNCH`, then logs and applies a punch; with a transaction (`dtx`),
    /// only prepares it, as [`VosPool::update`] does. Returns its LSN.
    ///
    /// Errors: `-DER_NONEXIST` when a conditional punch finds nothing to punch; those of
    /// [`VosPool::update`] for a transaction this target already saw.
    #[allow(clippy::too_many_arguments)]
    pub fn punch(
        &mut self,
        dtx: Option<DtxInfo>,
        cont: Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        flags: u64,
        target: PunchTarget,
    ) -> Result<u64> {
        self.check_new_dtx(dtx.as_ref())?;
        if flags & COND_PUNCH != 0 {
            let missing = match &target {
                PunchTarget::Object => false,
                PunchTarget::Dkeys(dkeys) => dkeys
                    .iter()
                    .map(|d| self.index.dkey_exists(&cont, oid, shard, d, epoch))
                    .collect::<Result<Vec<_>>>()?
                    .contains(&false),
                PunchTarget::Akeys { dkey, akeys } => akeys
                    .iter()
                    .map(|a| self.index.akey_exists(&cont, oid, shard, dkey, a, epoch))
                    .collect::<Result<Vec<_>>>()?
                    .contains(&false),
            };
            if missing {
                return Err(Error::new(
                    Der::Nonexist,
                    "conditional punch: key does not exist",
                ));
            }
        }
        // Validate key typing before logging, so apply never meets a bad key.
        match &target {
            PunchTarget::Object => {
                crate::index::object_type(oid)?;
            }
            PunchTarget::Dkeys(dkeys) => {
                for d in dkeys {
                    crate::index::dkey_of(oid, d)?;
                }
            }
            PunchTarget::Akeys { dkey, akeys } => {
                crate::index::dkey_of(oid, dkey)?;
                for a in akeys {
                    crate::index::akey_of(oid, a)?;
                }
            }
        }
        let punch = PunchRecord {
            cont,
            oid,
            shard,
            epoch,
            target,
        };
        Ok(self.log(match dtx {
            Some(info) => DtxOp::Punch(punch).prepare_record(info),
            None => Record::Punch(punch),
        }))
    }

    /// Creates a container on this target (idempotent). Returns the LSN, or `None` if it
    /// existed.
    pub fn create_container(&mut self, cont: Uuid) -> Option<u64> {
        (!self.index.has_container(&cont)).then(|| self.log(Record::ContCreate(cont)))
    }

    /// Destroys a container and frees its space. Returns the LSN, or `None` if absent.
    pub fn destroy_container(&mut self, cont: Uuid) -> Option<u64> {
        self.index
            .has_container(&cont)
            .then(|| self.log(Record::ContDestroy(cont)))
    }

    /// Removes an object shard with its whole history and frees its space. Returns the LSN,
    /// or `None` if the shard is not here.
    pub fn drop_shard(&mut self, cont: Uuid, oid: ObjectId, shard: u32) -> Option<u64> {
        self.index
            .object(&cont, oid, shard)
            .is_some()
            .then(|| self.log(Record::DropShard { cont, oid, shard }))
    }

    /// Whether a container exists on this target.
    pub fn has_container(&self, cont: &Uuid) -> bool {
        self.index.has_container(cont)
    }

    fn log(&mut self, record: Record) -> u64 {
        let lsn = self.wal.append(&record);
        let freed = self.index.apply(lsn, &record);
        for (phys, len) in freed {
            self.alloc
                .release_later(lsn, self.read_generation, phys, len);
        }
        // Later reads are younger than this release.
        self.read_generation += 1;
        lsn
    }

    /// Aggregates a container: logs and applies the removal of versions no retained epoch can
    /// see (see [`crate::aggregate`]), visiting at most `budget` objects from `cursor`.
    /// Returns the LSNs logged and where to continue.
    pub fn aggregate(
        &mut self,
        cont: Uuid,
        snapshots: &[Epoch],
        boundary: Epoch,
        cursor: Option<(ObjectId, u32)>,
        budget: usize,
    ) -> (Vec<u64>, Option<(ObjectId, u32)>) {
        let (records, next) = crate::aggregate::plan_container(
            &self.index,
            cont,
            snapshots,
            boundary,
            cursor,
            budget,
        );
        let lsns = records
            .into_iter()
            .map(|r| self.log(Record::Aggregate(r)))
            .collect();
        (lsns, next)
    }

    /// Container UUIDs on this target.
    pub fn containers(&self) -> Vec<Uuid> {
        self.index.containers.keys().copied().collect()
    }

    /// Registers a read in progress; space released from now on is not reused until it ends.
    pub fn begin_read(&mut self) -> u64 {
        let generation = self.read_generation;
        *self.active_reads.entry(generation).or_default() += 1;
        generation
    }

    /// Ends a read registered with [`VosPool::begin_read`].
    pub fn end_read(&mut self, generation: u64) {
        if let Some(count) = self.active_reads.get_mut(&generation) {
            *count -= 1;
            if *count == 0 {
                self.active_reads.remove(&generation);
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        let oldest = self.active_reads.keys().next().copied().unwrap_or(u64::MAX);
        self.alloc.settle(self.wal.durable_lsn(), oldest);
    }

    /// Plans a fetch; see [`Index::fetch`].
    pub fn fetch(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        dkey: &[u8],
        iods: &[FetchIod<'_>],
    ) -> Result<(Vec<IodPlan>, u64)> {
        self.index.fetch(cont, oid, shard, epoch, dkey, iods)
    }

    /// The prepared transaction a read must wait for; see [`Index::prepared_conflict`].
    pub fn prepared_conflict(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        epoch: Epoch,
        dkey: &[u8],
        iods: &[FetchIod<'_>],
    ) -> Option<Uuid> {
        self.index
            .prepared_conflict(cont, oid, shard, epoch, dkey, iods)
    }

    /// The newest epoch written or punched over array records; see [`Index::newest_epoch`].
    pub fn newest_epoch(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        akey: &[u8],
        recxs: &[(u64, u64)],
    ) -> Result<Epoch> {
        self.index.newest_epoch(cont, oid, shard, dkey, akey, recxs)
    }

    /// What orders an erasure-coded punch; see [`Index::punch_view`].
    pub fn punch_view(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: Option<&[u8]>,
        akeys: Option<&[Vec<u8>]>,
    ) -> Result<(Option<Uuid>, Epoch)> {
        self.index.punch_view(cont, oid, shard, dkey, akeys)
    }

    /// Whether a dkey has data at `epoch`.
    pub fn dkey_exists(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        epoch: Epoch,
    ) -> Result<bool> {
        self.index.dkey_exists(cont, oid, shard, dkey, epoch)
    }

    /// Whether an akey has data at `epoch`.
    #[allow(clippy::too_many_arguments)]
    pub fn akey_exists(
        &self,
        cont: &Uuid,
        oid: ObjectId,
        shard: u32,
        dkey: &[u8],
        akey: &[u8],
        epoch: Epoch,
    ) -> Result<bool> {
        self.index.akey_exists(cont, oid, shard, dkey, akey, epoch)
    }

    /// Lists keys; see [`Index::list_keys`].
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
        self.index.list_keys(
            cont, oid, shard, epoch, level, dkey, anchor, count_max, bytes_max,
        )
    }

    /// The LSN a read answered from the current state must wait for (enumerations consult
    /// too much state to track precisely, so they wait for everything applied).
    pub fn applied_lsn(&self) -> u64 {
        self.index.last_lsn
    }

    /// Highest durable LSN.
    pub fn durable_lsn(&self) -> u64 {
        self.wal.durable_lsn()
    }

    /// The next log flush to write, if any.
    ///
    /// Errors: the log has failed; nothing more can be made durable.
    pub fn take_flush(&mut self) -> Result<Option<FlushJob>> {
        self.wal.take_flush()
    }

    /// Reports a flush's outcome.
    pub fn complete_flush(&mut self, last_lsn: u64, outcome: Result<()>) {
        self.wal.complete_flush(last_lsn, outcome);
        self.settle();
    }

    /// Writes the first `len` bytes of a flush; see [`crate::wal::Wal::write_flush`].
    pub fn write_flush(&self, job: &FlushJob, len: usize) -> Result<()> {
        self.wal.write_flush(job, len)
    }

    /// Writes every pending log record synchronously (shutdown and tests).
    pub fn flush_blocking(&mut self) -> Result<()> {
        self.wal.flush_blocking()?;
        self.settle();
        Ok(())
    }

    /// The error that stopped the log, if any.
    pub fn log_failure(&self) -> Option<&Error> {
        self.wal.failure()
    }

    /// Whether a checkpoint should start: none running, and the log grew by at least
    /// [`CHECKPOINT_LOG_BYTES`] and by at least the last checkpoint's size since the last one
    /// (bounding write amplification to about 2×).
    pub fn checkpoint_due(&self) -> bool {
        let grown = self.wal.bytes_written() - self.log_bytes_at_checkpoint;
        !self.checkpointing && grown >= CHECKPOINT_LOG_BYTES.max(self.checkpoint_bytes)
    }

    /// Starts a checkpoint: returns the directory and an immutable snapshot of the index to
    /// write (with [`crate::checkpoint::write`], typically on another thread). Only records
    /// already durable may be covered, so the caller must pass a snapshot taken when
    /// `durable_lsn() == applied_lsn()`, or accept that `write` happens after those records
    /// are durable; this method flushes nothing itself.
    pub fn begin_checkpoint(&mut self) -> Option<(PathBuf, Index)> {
        if self.checkpointing {
            return None;
        }
        self.checkpointing = true;
        self.log_bytes_at_checkpoint = self.wal.bytes_written();
        Some((self.dir.clone(), self.index.clone()))
    }

    /// Finishes a checkpoint started with [`VosPool::begin_checkpoint`]: on success, deletes
    /// log segments it covers.
    pub fn end_checkpoint(&mut self, lsn: u64, outcome: Result<u64>) -> Result<()> {
        self.checkpointing = false;
        let bytes = outcome?;
        self.checkpoint_lsn = lsn;
        self.checkpoint_bytes = bytes;
        self.wal.release_through(lsn.min(self.wal.durable_lsn()))
    }

    /// LSN covered by the newest checkpoint.
    pub fn checkpoint_lsn(&self) -> u64 {
        self.checkpoint_lsn
    }

    /// Writes a checkpoint synchronously on the calling thread (clean shutdown), after
    /// flushing the log.
    pub fn checkpoint_blocking(&mut self) -> Result<()> {
        self.flush_blocking()?;
        let Some((dir, snapshot)) = self.begin_checkpoint() else {
            return Ok(());
        };
        let lsn = snapshot.last_lsn;
        let outcome = crate::checkpoint::write(&dir, &snapshot);
        self.end_checkpoint(lsn, outcome)
    }
}
