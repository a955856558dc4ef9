//! Log records: every change to a VOS pool, as written to the WAL and applied to the index.
//!
//! The same record drives both the live update and crash recovery ([`crate::Index::apply`]),
//! so what is replayed is exactly what was acknowledged. Records carry explicit outcomes
//! (assigned epochs, allocated blob addresses, versions removed by aggregation), never
//! instructions to recompute them, so replay does not depend on code that may change.

use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::dtx::DtxInfo;
use daos_types::{Der, Epoch, Error, ObjectId, Result, Uuid};
use std::sync::Arc;

/// Where a value's bytes live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Nothing: a punched value or extent (reads as zeros / absent).
    Hole,
    /// In metadata (DRAM, WAL and checkpoints), for small values.
    Inline(Arc<[u8]>),
    /// In the pool's blob: byte address of the first 4 KiB block.
    Blob {
        /// Byte offset in the data file of the block holding the value's first byte.
        phys: u64,
    },
}

impl Stored {
    /// Whether the value was punched.
    pub fn is_hole(&self) -> bool {
        matches!(self, Stored::Hole)
    }
}

/// A single value written (or punched, with `size == 0` and [`Stored::Hole`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleEntry {
    /// Value size in bytes.
    pub size: u64,
    /// The bytes.
    pub data: Stored,
    /// CRC-32C of the whole value, when the container checksums.
    pub csum: Option<u32>,
}

/// An array extent written (or punched, with [`Stored::Hole`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtentEntry {
    /// First record index.
    pub lo: u64,
    /// One past the last record index.
    pub hi: u64,
    /// The bytes of records `lo..hi`.
    pub data: Stored,
    /// CRC-32C per checksum chunk slice of the bytes, empty when checksums are off.
    pub csums: Arc<[u32]>,
}

/// What one akey receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IodEntry {
    /// A single value.
    Single(SingleEntry),
    /// Array extents of one record size.
    Array {
        /// Record size, bytes.
        rsize: u64,
        /// The extents (non-overlapping).
        extents: Vec<ExtentEntry>,
    },
}

/// One akey of an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IodRecord {
    /// The akey.
    pub akey: Vec<u8>,
    /// What it receives.
    pub entry: IodEntry,
}

/// An applied update: one dkey, several akeys, one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateRecord {
    /// Container.
    pub cont: Uuid,
    /// Object.
    pub oid: ObjectId,
    /// Shard.
    pub shard: u32,
    /// Epoch assigned.
    pub epoch: Epoch,
    /// Checksum chunk size the extents' checksums use (0: none).
    pub csum_chunk: u64,
    /// The dkey.
    pub dkey: Vec<u8>,
    /// The akeys.
    pub iods: Vec<IodRecord>,
}

/// What a punch removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PunchTarget {
    /// The whole object.
    Object,
    /// These dkeys.
    Dkeys(Vec<Vec<u8>>),
    /// These akeys under one dkey.
    Akeys {
        /// The dkey.
        dkey: Vec<u8>,
        /// The akeys.
        akeys: Vec<Vec<u8>>,
    },
}

/// An applied punch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PunchRecord {
    /// Container.
    pub cont: Uuid,
    /// Object.
    pub oid: ObjectId,
    /// Shard.
    pub shard: u32,
    /// Epoch assigned.
    pub epoch: Epoch,
    /// What is punched.
    pub target: PunchTarget,
}

/// One change made by aggregation, naming versions by their LSN (unique per pool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggChange {
    /// Remove a single-value version.
    DropSingle {
        /// Dkey.
        dkey: Vec<u8>,
        /// Akey.
        akey: Vec<u8>,
        /// The version's LSN.
        lsn: u64,
    },
    /// Remove an extent.
    DropExtent {
        /// Dkey.
        dkey: Vec<u8>,
        /// Akey.
        akey: Vec<u8>,
        /// The extent's first index (its key, with epoch and LSN).
        lo: u64,
        /// The extent's epoch.
        epoch: Epoch,
        /// The extent's LSN.
        lsn: u64,
    },
    /// Remove a punch marker at some level (`None` keys mean object level).
    DropPunch {
        /// Dkey, for dkey and akey punches.
        dkey: Option<Vec<u8>>,
        /// Akey, for akey punches.
        akey: Option<Vec<u8>>,
        /// The punch epoch.
        epoch: Epoch,
    },
}

/// A batch of aggregation changes within one object shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateRecord {
    /// Container.
    pub cont: Uuid,
    /// Object.
    pub oid: ObjectId,
    /// Shard.
    pub shard: u32,
    /// The changes.
    pub changes: Vec<AggChange>,
}

/// Any logged change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A container was created on this target.
    ContCreate(Uuid),
    /// A container and all its objects were destroyed on this target.
    ContDestroy(Uuid),
    /// An update.
    Update(UpdateRecord),
    /// A punch.
    Punch(PunchRecord),
    /// Aggregation removed versions.
    Aggregate(AggregateRecord),
    /// A replicated update prepared under a transaction: its data is durable, it is not
    /// visible until [`Record::DtxCommit`] (see [`daos_types::dtx`]).
    DtxPrepare {
        /// The transaction.
        info: DtxInfo,
        /// The update it applies when committed.
        update: UpdateRecord,
    },
    /// A replicated punch prepared under a transaction: not applied until
    /// [`Record::DtxCommit`].
    DtxPreparePunch {
        /// The transaction.
        info: DtxInfo,
        /// The punch it applies when committed.
        punch: PunchRecord,
    },
    /// A transaction committed: its prepared update is applied (at this record's LSN).
    DtxCommit {
        /// The transaction.
        id: Uuid,
        /// Clock reading when committed (ages the outcome).
        epoch: Epoch,
    },
    /// A transaction aborted (or fenced, when nothing was prepared here): its prepared
    /// update's space is freed and a late prepare is refused.
    DtxAbort {
        /// The transaction.
        id: Uuid,
        /// Clock reading when aborted (ages the tombstone).
        epoch: Epoch,
    },
    /// An object shard and its whole history were removed from this target (rebuild: a
    /// reintegrating target drops its stale copy before the survivors push the current one).
    DropShard {
        /// Container.
        cont: Uuid,
        /// Object.
        oid: ObjectId,
        /// Shard.
        shard: u32,
    },
}

impl PunchRecord {
    /// Appends the encoding (also the body of a prepared punch's record).
    pub fn encode(&self, e: &mut Encoder) {
        e.uuid(&self.cont)
            .oid(self.oid)
            .u32(self.shard)
            .u64(self.epoch);
        match &self.target {
            PunchTarget::Object => {
                e.u8(0);
            }
            PunchTarget::Dkeys(dkeys) => {
                e.u8(1);
                encode_keys(e, dkeys);
            }
            PunchTarget::Akeys { dkey, akeys } => {
                e.u8(2).bytes(dkey);
                encode_keys(e, akeys);
            }
        }
    }

    /// Reads what [`PunchRecord::encode`] wrote.
    pub fn decode(d: &mut Decoder<'_>) -> Result<PunchRecord> {
        let cont = d.uuid("container")?;
        let oid = d.oid("oid")?;
        let shard = d.u32("shard")?;
        let epoch = d.u64("epoch")?;
        let target = match d.u8("punch kind")? {
            0 => PunchTarget::Object,
            1 => PunchTarget::Dkeys(decode_keys(d)?),
            2 => PunchTarget::Akeys {
                dkey: d.bytes(KEY_MAX, "dkey")?.to_vec(),
                akeys: decode_keys(d)?,
            },
            other => return Err(Error::new(Der::DfInval, format!("bad punch kind {other}"))),
        };
        Ok(PunchRecord {
            cont,
            oid,
            shard,
            epoch,
            target,
        })
    }
}

/// What a prepared transaction applies when it commits: an update of a replicated object,
/// or a punch of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtxOp {
    /// An update.
    Update(UpdateRecord),
    /// A punch.
    Punch(PunchRecord),
}

impl DtxOp {
    /// The container.
    pub fn cont(&self) -> Uuid {
        match self {
            DtxOp::Update(u) => u.cont,
            DtxOp::Punch(p) => p.cont,
        }
    }

    /// The object.
    pub fn oid(&self) -> ObjectId {
        match self {
            DtxOp::Update(u) => u.oid,
            DtxOp::Punch(p) => p.oid,
        }
    }

    /// The object shard.
    pub fn shard(&self) -> u32 {
        match self {
            DtxOp::Update(u) => u.shard,
            DtxOp::Punch(p) => p.shard,
        }
    }

    /// The epoch it applies at.
    pub fn epoch(&self) -> Epoch {
        match self {
            DtxOp::Update(u) => u.epoch,
            DtxOp::Punch(p) => p.epoch,
        }
    }

    /// The prepare record that logs it under `info`.
    pub fn prepare_record(self, info: DtxInfo) -> Record {
        match self {
            DtxOp::Update(update) => Record::DtxPrepare { info, update },
            DtxOp::Punch(punch) => Record::DtxPreparePunch { info, punch },
        }
    }

    /// Appends the encoding: a kind byte (1 update, 2 punch), then the record's body.
    pub fn encode(&self, e: &mut Encoder) {
        match self {
            DtxOp::Update(u) => {
                e.u8(1);
                u.encode(e);
            }
            DtxOp::Punch(p) => {
                e.u8(2);
                p.encode(e);
            }
        }
    }

    /// Reads what [`DtxOp::encode`] wrote.
    pub fn decode(d: &mut Decoder<'_>) -> Result<DtxOp> {
        match d.u8("transaction kind")? {
            1 => Ok(DtxOp::Update(UpdateRecord::decode(d)?)),
            2 => Ok(DtxOp::Punch(PunchRecord::decode(d)?)),
            other => Err(Error::new(
                Der::DfInval,
                format!("bad transaction kind {other}"),
            )),
        }
    }
}

impl UpdateRecord {
    /// Appends the encoding (also the body of a prepared update's record).
    pub fn encode(&self, e: &mut Encoder) {
        e.uuid(&self.cont)
            .oid(self.oid)
            .u32(self.shard)
            .u64(self.epoch)
            .u64(self.csum_chunk)
            .bytes(&self.dkey);
        e.len_prefix(self.iods.len());
        for iod in &self.iods {
            e.bytes(&iod.akey);
            match &iod.entry {
                IodEntry::Single(s) => {
                    e.u8(1).u64(s.size);
                    encode_stored(e, &s.data);
                    match s.csum {
                        None => e.u8(0),
                        Some(c) => e.u8(1).u32(c),
                    };
                }
                IodEntry::Array { rsize, extents } => {
                    e.u8(2).u64(*rsize).len_prefix(extents.len());
                    for x in extents {
                        e.u64(x.lo).u64(x.hi);
                        encode_stored(e, &x.data);
                        encode_u32s(e, &x.csums);
                    }
                }
            }
        }
    }

    /// Decodes one update.
    ///
    /// Errors: `-DER_DF_INVAL` or `-DER_PROTO` for malformed bytes.
    pub fn decode(d: &mut Decoder<'_>) -> Result<UpdateRecord> {
        let cont = d.uuid("container")?;
        let oid = d.oid("oid")?;
        let shard = d.u32("shard")?;
        let epoch = d.u64("epoch")?;
        let csum_chunk = d.u64("checksum chunk")?;
        let dkey = d.bytes(KEY_MAX, "dkey")?.to_vec();
        let n = d.len_prefix(1 << 16, 6, "iods")?;
        let mut iods = Vec::with_capacity(n);
        for _ in 0..n {
            let akey = d.bytes(KEY_MAX, "akey")?.to_vec();
            let entry = match d.u8("iod kind")? {
                1 => {
                    let size = d.u64("size")?;
                    let data = decode_stored(d)?;
                    let csum = if d.bool("csum present")? {
                        Some(d.u32("csum")?)
                    } else {
                        None
                    };
                    IodEntry::Single(SingleEntry { size, data, csum })
                }
                2 => {
                    let rsize = d.u64("record size")?;
                    let m = d.len_prefix(1 << 20, 21, "extents")?;
                    let mut extents = Vec::with_capacity(m);
                    for _ in 0..m {
                        let lo = d.u64("lo")?;
                        let hi = d.u64("hi")?;
                        let data = decode_stored(d)?;
                        let csums = decode_u32s(d)?;
                        if hi <= lo {
                            return Err(Error::new(Der::DfInval, "empty extent in record"));
                        }
                        extents.push(ExtentEntry {
                            lo,
                            hi,
                            data,
                            csums,
                        });
                    }
                    IodEntry::Array { rsize, extents }
                }
                other => return Err(Error::new(Der::DfInval, format!("bad iod kind {other}"))),
            };
            iods.push(IodRecord { akey, entry });
        }
        Ok(UpdateRecord {
            cont,
            oid,
            shard,
            epoch,
            csum_chunk,
            dkey,
            iods,
        })
    }
}

const KEY_MAX: usize = 64 * 1024;
const VALUE_MAX: usize = 64 * 1024 * 1024;

fn encode_stored(e: &mut Encoder, stored: &Stored) {
    match stored {
        Stored::Hole => {
            e.u8(0);
        }
        Stored::Inline(bytes) => {
            e.u8(1).bytes(bytes);
        }
        Stored::Blob { phys } => {
            e.u8(2).u64(*phys);
        }
    }
}

fn decode_stored(d: &mut Decoder<'_>) -> Result<Stored> {
    Ok(match d.u8("stored kind")? {
        0 => Stored::Hole,
        1 => Stored::Inline(d.bytes(VALUE_MAX, "inline value")?.into()),
        2 => Stored::Blob {
            phys: d.u64("blob address")?,
        },
        other => return Err(Error::new(Der::DfInval, format!("bad stored kind {other}"))),
    })
}

fn encode_u32s(e: &mut Encoder, values: &[u32]) {
    e.len_prefix(values.len());
    for v in values {
        e.u32(*v);
    }
}

fn decode_u32s(d: &mut Decoder<'_>) -> Result<Arc<[u32]>> {
    let n = d.len_prefix(1 << 24, 4, "checksums")?;
    (0..n)
        .map(|_| d.u32("checksum"))
        .collect::<Result<Vec<_>>>()
        .map(Into::into)
}

fn encode_keys(e: &mut Encoder, keys: &[Vec<u8>]) {
    e.len_prefix(keys.len());
    for key in keys {
        e.bytes(key);
    }
}

fn decode_keys(d: &mut Decoder<'_>) -> Result<Vec<Vec<u8>>> {
    let n = d.len_prefix(1 << 20, 4, "keys")?;
    (0..n)
        .map(|_| Ok(d.bytes(KEY_MAX, "key")?.to_vec()))
        .collect()
}

fn encode_opt_key(e: &mut Encoder, key: &Option<Vec<u8>>) {
    match key {
        None => {
            e.u8(0);
        }
        Some(key) => {
            e.u8(1).bytes(key);
        }
    }
}

fn decode_opt_key(d: &mut Decoder<'_>) -> Result<Option<Vec<u8>>> {
    Ok(if d.bool("key present")? {
        Some(d.bytes(KEY_MAX, "key")?.to_vec())
    } else {
        None
    })
}

impl Record {
    /// Appends the encoding.
    pub fn encode(&self, e: &mut Encoder) {
        match self {
            Record::ContCreate(cont) => {
                e.u8(1).uuid(cont);
            }
            Record::ContDestroy(cont) => {
                e.u8(2).uuid(cont);
            }
            Record::Update(u) => {
                e.u8(3);
                u.encode(e);
            }
            Record::DtxPrepare { info, update } => {
                e.u8(7);
                info.encode(e);
                update.encode(e);
            }
            Record::DtxCommit { id, epoch } => {
                e.u8(8).uuid(id).u64(*epoch);
            }
            Record::DtxAbort { id, epoch } => {
                e.u8(9).uuid(id).u64(*epoch);
            }
            Record::Punch(p) => {
                e.u8(4);
                p.encode(e);
            }
            Record::DtxPreparePunch { info, punch } => {
                e.u8(10);
                info.encode(e);
                punch.encode(e);
            }
            Record::DropShard { cont, oid, shard } => {
                e.u8(6).uuid(cont).oid(*oid).u32(*shard);
            }
            Record::Aggregate(a) => {
                e.u8(5)
                    .uuid(&a.cont)
                    .oid(a.oid)
                    .u32(a.shard)
                    .len_prefix(a.changes.len());
                for change in &a.changes {
                    match change {
                        AggChange::DropSingle { dkey, akey, lsn } => {
                            e.u8(1).bytes(dkey).bytes(akey).u64(*lsn);
                        }
                        AggChange::DropExtent {
                            dkey,
                            akey,
                            lo,
                            epoch,
                            lsn,
                        } => {
                            e.u8(2)
                                .bytes(dkey)
                                .bytes(akey)
                                .u64(*lo)
                                .u64(*epoch)
                                .u64(*lsn);
                        }
                        AggChange::DropPunch { dkey, akey, epoch } => {
                            e.u8(3);
                            encode_opt_key(e, dkey);
                            encode_opt_key(e, akey);
                            e.u64(*epoch);
                        }
                    }
                }
            }
        }
    }

    /// Decodes one record.
    ///
    /// Errors: `-DER_DF_INVAL` (invalid data format) or `-DER_PROTO` for malformed bytes.
    pub fn decode(d: &mut Decoder<'_>) -> Result<Record> {
        Ok(match d.u8("record kind")? {
            1 => Record::ContCreate(d.uuid("container")?),
            2 => Record::ContDestroy(d.uuid("container")?),
            3 => Record::Update(UpdateRecord::decode(d)?),
            4 => Record::Punch(PunchRecord::decode(d)?),
            5 => {
                let cont = d.uuid("container")?;
                let oid = d.oid("oid")?;
                let shard = d.u32("shard")?;
                let n = d.len_prefix(1 << 24, 9, "changes")?;
                let mut changes = Vec::with_capacity(n);
                for _ in 0..n {
                    changes.push(match d.u8("change kind")? {
                        1 => AggChange::DropSingle {
                            dkey: d.bytes(KEY_MAX, "dkey")?.to_vec(),
                            akey: d.bytes(KEY_MAX, "akey")?.to_vec(),
                            lsn: d.u64("lsn")?,
                        },
                        2 => AggChange::DropExtent {
                            dkey: d.bytes(KEY_MAX, "dkey")?.to_vec(),
                            akey: d.bytes(KEY_MAX, "akey")?.to_vec(),
                            lo: d.u64("lo")?,
                            epoch: d.u64("epoch")?,
                            lsn: d.u64("lsn")?,
                        },
                        3 => AggChange::DropPunch {
                            dkey: decode_opt_key(d)?,
                            akey: decode_opt_key(d)?,
                            epoch: d.u64("epoch")?,
                        },
                        other => {
                            return Err(Error::new(
                                Der::DfInval,
                                format!("bad change kind {other}"),
                            ))
                        }
                    });
                }
                Record::Aggregate(AggregateRecord {
                    cont,
                    oid,
                    shard,
                    changes,
                })
            }
            6 => Record::DropShard {
                cont: d.uuid("container")?,
                oid: d.oid("oid")?,
                shard: d.u32("shard")?,
            },
            7 => Record::DtxPrepare {
                info: DtxInfo::decode(d)?,
                update: UpdateRecord::decode(d)?,
            },
            8 => Record::DtxCommit {
                id: d.uuid("dtx id")?,
                epoch: d.u64("epoch")?,
            },
            9 => Record::DtxAbort {
                id: d.uuid("dtx id")?,
                epoch: d.u64("epoch")?,
            },
            10 => Record::DtxPreparePunch {
                info: DtxInfo::decode(d)?,
                punch: PunchRecord::decode(d)?,
            },
            other => return Err(Error::new(Der::DfInval, format!("bad record kind {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let records = vec![
            Record::ContCreate(Uuid::new_v4()),
            Record::Update(UpdateRecord {
                cont: Uuid::new_v4(),
                oid: ObjectId::new(1, 2),
                shard: 0,
                epoch: 77,
                csum_chunk: 32768,
                dkey: b"d".to_vec(),
                iods: vec![
                    IodRecord {
                        akey: b"s".to_vec(),
                        entry: IodEntry::Single(SingleEntry {
                            size: 3,
                            data: Stored::Inline(Arc::from(&b"abc"[..])),
                            csum: Some(9),
                        }),
                    },
                    IodRecord {
                        akey: b"a".to_vec(),
                        entry: IodEntry::Array {
                            rsize: 1,
                            extents: vec![ExtentEntry {
                                lo: 0,
                                hi: 10,
                                data: Stored::Blob { phys: 4096 },
                                csums: Arc::from(&[1u32, 2][..]),
                            }],
                        },
                    },
                ],
            }),
            Record::Punch(PunchRecord {
                cont: Uuid::new_v4(),
                oid: ObjectId::new(3, 4),
                shard: 1,
                epoch: 5,
                target: PunchTarget::Akeys {
                    dkey: b"d".to_vec(),
                    akeys: vec![b"a".to_vec()],
                },
            }),
            Record::Aggregate(AggregateRecord {
                cont: Uuid::new_v4(),
                oid: ObjectId::new(3, 4),
                shard: 1,
                changes: vec![
                    AggChange::DropSingle {
                        dkey: b"d".to_vec(),
                        akey: b"a".to_vec(),
                        lsn: 4,
                    },
                    AggChange::DropPunch {
                        dkey: None,
                        akey: None,
                        epoch: 3,
                    },
                ],
            }),
            Record::DtxPrepare {
                info: DtxInfo {
                    id: Uuid::new_v4(),
                    map_version: 1,
                    leader: daos_types::dtx::DtxPeer {
                        rank: 2,
                        target: 1,
                        shard: 0,
                    },
                    peers: Vec::new(),
                },
                update: UpdateRecord {
                    cont: Uuid::new_v4(),
                    oid: ObjectId::new(1, 2),
                    shard: 0,
                    epoch: 78,
                    csum_chunk: 0,
                    dkey: b"d".to_vec(),
                    iods: Vec::new(),
                },
            },
            Record::DtxPreparePunch {
                info: DtxInfo {
                    id: Uuid::new_v4(),
                    map_version: 3,
                    leader: daos_types::dtx::DtxPeer {
                        rank: 1,
                        target: 0,
                        shard: 1,
                    },
                    peers: Vec::new(),
                },
                punch: PunchRecord {
                    cont: Uuid::new_v4(),
                    oid: ObjectId::new(1, 2),
                    shard: 1,
                    epoch: 79,
                    target: PunchTarget::Akeys {
                        dkey: b"d".to_vec(),
                        akeys: vec![b"a".to_vec()],
                    },
                },
            },
            Record::DtxCommit {
                id: Uuid::new_v4(),
                epoch: 11,
            },
            Record::DtxAbort {
                id: Uuid::new_v4(),
                epoch: 12,
            },
        ];
        for record in records {
            let mut e = Encoder::new();
            record.encode(&mut e);
            let bytes = e.finish();
            let mut d = Decoder::new(&bytes);
            assert_eq!(Record::decode(&mut d).unwrap(), record);
            d.finish().unwrap();
        }
    }
}
