//! Checkpoints: the whole index of a pool on a target, as of one LSN, in one file.
//!
//! Written from an immutable snapshot of the index (an O(1) clone), on a background thread,
//! so the target keeps serving I/O meanwhile. Written to a temporary file, synced, renamed to
//! `ckpt-<lsn>.dat` and the directory synced: a checkpoint either exists whole or not at all.
//! After it is durable, log segments it covers are deleted, so restart replays only the tail.
//!
//! ```text
//! header: magic "VOSC" u32 | version u16 | pad u16 | lsn u64
//! body:   containers (count u32, then per container: uuid, objects …), see `write`;
//!         transactions (count u32, then per entry: uuid, kind u8, and for a prepared one
//!         its LSN, participants and update; otherwise its epoch)
//! tail:   crc32c u32 of everything before
//! ```

use crate::index::{
    AkeyIndex, ArrayValue, ContainerIndex, DkeyIndex, DtxEntry, Extent, Index, ObjectIndex, Punch,
    SingleVersion, Value,
};
use crate::key::OrdKey;
use crate::record::{DtxOp, Stored, UpdateRecord};
use daos_types::codec::{Decoder, Encoder, Wire};
use daos_types::dtx::{DtxInfo, DtxState};
use daos_types::{Der, Error, ObjectType, Result};
use imbl::{OrdMap, OrdSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: u32 = u32::from_le_bytes(*b"VOSC");
const VERSION: u16 = 3;
/// Checkpoints of version 2 prepare only updates (no kind byte before a prepared one).
const VERSION_UPDATES_ONLY: u16 = 2;
/// Checkpoints of version 1 have no transaction table.
const VERSION_NO_DTX: u16 = 1;

/// Path of the checkpoint for `lsn`.
pub fn path_for(dir: &Path, lsn: u64) -> PathBuf {
    dir.join(format!("ckpt-{lsn:016x}.dat"))
}

/// The newest checkpoint in `dir`: `(lsn, path)`.
pub fn latest(dir: &Path) -> Result<Option<(u64, PathBuf)>> {
    let mut best: Option<(u64, PathBuf)> = None;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::from(e).with_context(dir.display())),
    };
    for entry in entries {
        let name = entry
            .map_err(Error::from)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(lsn) = name
            .strip_prefix("ckpt-")
            .and_then(|n| n.strip_suffix(".dat"))
        {
            if let Ok(lsn) = u64::from_str_radix(lsn, 16) {
                if best.as_ref().is_none_or(|(b, _)| lsn > *b) {
                    best = Some((lsn, dir.join(&name)));
                }
            }
        }
    }
    Ok(best)
}

struct CrcWriter<W: Write> {
    inner: W,
    crc: u32,
    bytes: u64,
}

impl<W: Write> CrcWriter<W> {
    fn put(&mut self, e: &mut Encoder) -> std::io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, e.as_slice());
        self.bytes += e.len() as u64;
        self.inner.write_all(e.as_slice())?;
        e.clear();
        Ok(())
    }
}

fn put_stored(e: &mut Encoder, stored: &Stored) {
    match stored {
        Stored::Hole => {
            e.u8(0);
        }
        Stored::Inline(b) => {
            e.u8(1).bytes(b);
        }
        Stored::Blob { phys } => {
            e.u8(2).u64(*phys);
        }
    }
}

fn put_punches(e: &mut Encoder, punches: &[Punch]) {
    e.len_prefix(punches.len());
    for p in punches {
        e.u64(p.epoch).u64(p.lsn);
    }
}

/// Writes a checkpoint of `index` into `dir`; returns its size in bytes.
///
/// Errors: I/O failures (the previous checkpoint stays valid).
pub fn write(dir: &Path, index: &Index) -> Result<u64> {
    let lsn = index.last_lsn;
    let final_path = path_for(dir, lsn);
    let tmp_path = dir.join(format!("ckpt-{lsn:016x}.tmp"));
    let file = std::fs::File::create(&tmp_path)
        .map_err(|e| Error::from(e).with_context(tmp_path.display()))?;
    let mut w = CrcWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        crc: 0,
        bytes: 0,
    };
    let io = |e: std::io::Error| Error::from(e).with_context("writing checkpoint");
    let mut e = Encoder::with_capacity(1 << 16);
    e.u32(MAGIC).u16(VERSION).u16(0).u64(lsn);
    e.len_prefix(index.containers.len());
    w.put(&mut e).map_err(io)?;
    for (uuid, container) in &index.containers {
        e.uuid(uuid).len_prefix(container.objects.len());
        for ((oid, shard), object) in &container.objects {
            e.oid(*oid).u32(*shard).u8(object.otype as u8);
            put_punches(&mut e, &object.punches);
            e.len_prefix(object.dkeys.len());
            for (dkey, dk) in &object.dkeys {
                e.bytes(&dkey.bytes);
                put_punches(&mut e, &dk.punches);
                e.len_prefix(dk.akeys.len());
                for (akey, ak) in &dk.akeys {
                    e.bytes(&akey.bytes);
                    put_punches(&mut e, &ak.punches);
                    match &ak.value {
                        Value::None => {
                            e.u8(0);
                        }
                        Value::Single(versions) => {
                            e.u8(1).len_prefix(versions.len());
                            for v in versions {
                                e.u64(v.epoch).u64(v.lsn).u64(v.size);
                                put_stored(&mut e, &v.data);
                                match v.csum {
                                    None => e.u8(0),
                                    Some(c) => e.u8(1).u32(c),
                                };
                            }
                        }
                        Value::Array(array) => {
                            e.u8(2)
                                .u64(array.rsize)
                                .u64(array.max_len)
                                .len_prefix(array.extents.len());
                            for x in array.extents.values() {
                                e.u64(x.lo)
                                    .u64(x.hi)
                                    .u64(x.epoch)
                                    .u64(x.lsn)
                                    .u64(x.csum_chunk);
                                put_stored(&mut e, &x.data);
                                e.len_prefix(x.csums.len());
                                for c in x.csums.iter() {
                                    e.u32(*c);
                                }
                            }
                        }
                    }
                    if e.len() > 1 << 16 {
                        w.put(&mut e).map_err(io)?;
                    }
                }
            }
        }
        w.put(&mut e).map_err(io)?;
    }
    e.len_prefix(index.dtx.len());
    for (id, entry) in &index.dtx {
        e.uuid(id).u8(entry.state() as u8);
        match entry {
            DtxEntry::Prepared { lsn, info, op } => {
                e.u64(*lsn);
                info.encode(&mut e);
                op.encode(&mut e);
            }
            DtxEntry::Committed { epoch } | DtxEntry::Aborted { epoch } => {
                e.u64(*epoch);
            }
        }
        if e.len() > 1 << 16 {
            w.put(&mut e).map_err(io)?;
        }
    }
    w.put(&mut e).map_err(io)?;
    let crc = w.crc;
    e.u32(crc);
    w.inner.write_all(e.as_slice()).map_err(io)?;
    let size = w.bytes + 4;
    let file = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp_path, &final_path).map_err(io)?;
    daos_bio::sync_dir(dir)?;
    // Older checkpoints are now redundant.
    for entry in std::fs::read_dir(dir).map_err(Error::from)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(other) = name
            .strip_prefix("ckpt-")
            .and_then(|n| n.strip_suffix(".dat"))
        {
            if u64::from_str_radix(other, 16).is_ok_and(|o| o < lsn) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(size)
}

fn get_stored(d: &mut Decoder<'_>) -> Result<Stored> {
    Ok(match d.u8("stored")? {
        0 => Stored::Hole,
        1 => Stored::Inline(d.bytes(usize::MAX, "inline")?.into()),
        2 => Stored::Blob {
            phys: d.u64("phys")?,
        },
        other => {
            return Err(Error::new(
                Der::DfInval,
                format!("bad stored kind {other} in checkpoint"),
            ))
        }
    })
}

fn get_punches(d: &mut Decoder<'_>) -> Result<Vec<Punch>> {
    let n = d.len_prefix(usize::MAX, 16, "punches")?;
    (0..n)
        .map(|_| {
            Ok(Punch {
                epoch: d.u64("epoch")?,
                lsn: d.u64("lsn")?,
            })
        })
        .collect()
}

/// Loads a checkpoint.
///
/// Errors: `-DER_DF_INVAL` if the file is damaged or not a checkpoint.
pub fn read(path: &Path) -> Result<Index> {
    let data = std::fs::read(path).map_err(|e| Error::from(e).with_context(path.display()))?;
    let bad = |what: &str| {
        Error::new(
            Der::DfInval,
            format!("checkpoint {}: {what}", path.display()),
        )
    };
    if data.len() < 20 {
        return Err(bad("too short"));
    }
    let (body, tail) = data.split_at(data.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(tail.try_into().expect("4 bytes")) {
        return Err(bad("checksum mismatch"));
    }
    let mut d = Decoder::new(body);
    if d.u32("magic")? != MAGIC {
        return Err(bad("not a checkpoint"));
    }
    let version = d.u16("version")?;
    if ![VERSION, VERSION_UPDATES_ONLY, VERSION_NO_DTX].contains(&version) {
        return Err(bad("not a checkpoint of this version"));
    }
    d.u16("pad")?;
    let mut index = Index {
        last_lsn: d.u64("lsn")?,
        containers: OrdMap::new(),
        inline_bytes: 0,
        dtx: OrdMap::new(),
        prepared: OrdSet::new(),
    };
    let containers = d.len_prefix(usize::MAX, 20, "containers")?;
    for _ in 0..containers {
        let uuid = d.uuid("container")?;
        let mut container = ContainerIndex::default();
        let objects = d.len_prefix(usize::MAX, 25, "objects")?;
        for _ in 0..objects {
            let oid = d.oid("oid")?;
            let shard = d.u32("shard")?;
            let otype =
                ObjectType::from_u8(d.u8("otype")?).ok_or_else(|| bad("bad object type"))?;
            let punches = get_punches(&mut d)?;
            let mut dkeys = OrdMap::new();
            for _ in 0..d.len_prefix(usize::MAX, 12, "dkeys")? {
                let dkey = OrdKey::new(otype.dkey_order(), d.bytes(usize::MAX, "dkey")?)?;
                let dk_punches = get_punches(&mut d)?;
                let mut akeys = OrdMap::new();
                for _ in 0..d.len_prefix(usize::MAX, 9, "akeys")? {
                    let akey = OrdKey::new(otype.akey_order(), d.bytes(usize::MAX, "akey")?)?;
                    let ak_punches = get_punches(&mut d)?;
                    let value = match d.u8("value kind")? {
                        0 => Value::None,
                        1 => {
                            let n = d.len_prefix(usize::MAX, 26, "versions")?;
                            let mut versions = Vec::with_capacity(n);
                            for _ in 0..n {
                                let epoch = d.u64("epoch")?;
                                let lsn = d.u64("lsn")?;
                                let size = d.u64("size")?;
                                let data = get_stored(&mut d)?;
                                let csum = if d.bool("csum")? {
                                    Some(d.u32("csum")?)
                                } else {
                                    None
                                };
                                versions.push(SingleVersion {
                                    epoch,
                                    lsn,
                                    size,
                                    data,
                                    csum,
                                });
                            }
                            Value::Single(versions)
                        }
                        2 => {
                            let rsize = d.u64("rsize")?;
                            let max_len = d.u64("max len")?;
                            let mut extents = OrdMap::new();
                            for _ in 0..d.len_prefix(usize::MAX, 45, "extents")? {
                                let (lo, hi, epoch, lsn, csum_chunk) = (
                                    d.u64("lo")?,
                                    d.u64("hi")?,
                                    d.u64("epoch")?,
                                    d.u64("lsn")?,
                                    d.u64("chunk")?,
                                );
                                let data = get_stored(&mut d)?;
                                let n = d.len_prefix(usize::MAX, 4, "csums")?;
                                let csums: Arc<[u32]> = (0..n)
                                    .map(|_| d.u32("csum"))
                                    .collect::<Result<Vec<_>>>()?
                                    .into();
                                extents.insert(
                                    (lo, epoch, lsn),
                                    Arc::new(Extent {
                                        lo,
                                        hi,
                                        epoch,
                                        lsn,
                                        data,
                                        csums,
                                        csum_chunk,
                                    }),
                                );
                            }
                            Value::Array(ArrayValue {
                                rsize,
                                extents,
                                max_len,
                            })
                        }
                        other => return Err(bad(&format!("bad value kind {other}"))),
                    };
                    akeys.insert(
                        akey,
                        Arc::new(AkeyIndex {
                            punches: ak_punches,
                            value,
                        }),
                    );
                }
                dkeys.insert(
                    dkey,
                    Arc::new(DkeyIndex {
                        punches: dk_punches,
                        akeys,
                    }),
                );
            }
            container.objects.insert(
                (oid, shard),
                Arc::new(ObjectIndex {
                    otype,
                    punches,
                    dkeys,
                }),
            );
        }
        index.containers.insert(uuid, Arc::new(container));
    }
    if version != VERSION_NO_DTX {
        let entries = d.len_prefix(usize::MAX, 25, "transactions")?;
        for _ in 0..entries {
            let id = d.uuid("dtx id")?;
            let entry = match DtxState::from_u8(d.u8("dtx state")?) {
                Some(DtxState::Prepared) => DtxEntry::Prepared {
                    lsn: d.u64("lsn")?,
                    info: DtxInfo::decode(&mut d)?,
                    // Version 2 prepared only updates, without a kind byte.
                    op: Arc::new(if version == VERSION_UPDATES_ONLY {
                        DtxOp::Update(UpdateRecord::decode(&mut d)?)
                    } else {
                        DtxOp::decode(&mut d)?
                    }),
                },
                Some(DtxState::Committed) => DtxEntry::Committed {
                    epoch: d.u64("epoch")?,
                },
                Some(DtxState::Aborted) => DtxEntry::Aborted {
                    epoch: d.u64("epoch")?,
                },
                None => return Err(bad("bad transaction state")),
            };
            if entry.state() == DtxState::Prepared {
                index.prepared.insert(id);
            }
            index.dtx.insert(id, entry);
        }
    }
    d.finish().map_err(|_| bad("trailing bytes"))?;
    index.inline_bytes = index.count_inline_bytes();
    Ok(index)
}
