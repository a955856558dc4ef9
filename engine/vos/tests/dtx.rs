//! Prepared, committed and aborted transactions in one VOS pool: visibility, space, and what
//! survives reopening (log replay) and checkpoints.

use daos_types::dtx::{DtxInfo, DtxPeer, DtxState};
use daos_types::{Der, ObjectClass, ObjectId, ObjectType, Uuid};
use daos_vos::index::FetchIod;
use daos_vos::record::{IodEntry, IodRecord, SingleEntry, Stored};
use daos_vos::{UpdateIod, VosPool};
use std::path::Path;

mod common;

const CONT: Uuid = Uuid::from_u128(1);

fn oid() -> ObjectId {
    ObjectId::new(42, 0).encode(ObjectType::MultiHashed, ObjectClass::S1)
}

fn open_pool(dir: &Path, create: bool) -> VosPool {
    let mut pool = common::open_pool(dir, create);
    if create {
        pool.create_container(CONT);
    }
    pool
}

fn info(id: u128) -> DtxInfo {
    let peer = |rank| DtxPeer {
        rank,
        target: 0,
        shard: rank,
    };
    DtxInfo {
        id: Uuid::from_u128(id),
        map_version: 1,
        leader: peer(0),
        peers: vec![peer(0), peer(1)],
    }
}

/// A 64 KiB single value in the blob (the bytes themselves are not written: the index and the
/// allocator are what is checked).
fn blob_value(pool: &mut VosPool) -> UpdateIod {
    let phys = pool.allocate(65536).unwrap();
    UpdateIod {
        record: IodRecord {
            akey: b"a".to_vec(),
            entry: IodEntry::Single(SingleEntry {
                size: 65536,
                data: Stored::Blob { phys },
                csum: None,
            }),
        },
        flags: 0,
    }
}

fn inline_value(bytes: &[u8]) -> UpdateIod {
    UpdateIod {
        record: IodRecord {
            akey: b"a".to_vec(),
            entry: IodEntry::Single(SingleEntry {
                size: bytes.len() as u64,
                data: Stored::Inline(bytes.into()),
                csum: None,
            }),
        },
        flags: 0,
    }
}

/// The value of dkey `d`, akey `a` at `epoch`: `None` if absent, else its size.
fn read(pool: &VosPool, epoch: u64) -> Option<u64> {
    let iod = FetchIod {
        akey: b"a",
        array: false,
        size: 0,
        recxs: &[],
    };
    let (plans, _) = pool.fetch(&CONT, oid(), 0, epoch, b"d", &[iod]).unwrap();
    (plans[0].size > 0).then_some(plans[0].size)
}

/// Writes the committed value `bytes` at epoch 50.
fn put(pool: &mut VosPool, bytes: &[u8]) {
    pool.update(
        None,
        CONT,
        oid(),
        0,
        50,
        0,
        b"d".to_vec(),
        vec![inline_value(bytes)],
        0,
    )
    .unwrap();
}

fn prepare(pool: &mut VosPool, id: u128, epoch: u64, iod: UpdateIod) -> daos_types::Result<u64> {
    pool.update(
        Some(info(id)),
        CONT,
        oid(),
        0,
        epoch,
        0,
        b"d".to_vec(),
        vec![iod],
        0,
    )
}

#[test]
fn a_prepared_update_is_invisible_until_committed_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    let free = pool.space().nvme_free;
    let iod = blob_value(&mut pool);
    prepare(&mut pool, 1, 100, iod).unwrap();
    pool.flush_blocking().unwrap();
    assert_eq!(read(&pool, u64::MAX), None, "prepared is invisible");
    assert!(pool.dtx_pending());
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(1)),
        Some(DtxState::Prepared)
    );

    // Reopened from the log: still prepared, its space still taken.
    drop(pool);
    let mut pool = open_pool(dir.path(), false);
    assert_eq!(pool.space().nvme_free, free - 65536);
    assert_eq!(pool.dtx_prepared().len(), 1);
    assert_eq!(read(&pool, u64::MAX), None);

    // Reopened from a checkpoint: the same.
    pool.checkpoint_blocking().unwrap();
    drop(pool);
    let mut pool = open_pool(dir.path(), false);
    assert_eq!(pool.space().nvme_free, free - 65536);
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(1)),
        Some(DtxState::Prepared)
    );

    // Committed: visible at its own epoch, not before.
    assert!(pool.dtx_pending(), "prepared after a checkpoint");
    assert!(pool.dtx_commit(Uuid::from_u128(1), 120).unwrap().is_some());
    assert!(!pool.dtx_pending());
    assert!(
        pool.dtx_commit(Uuid::from_u128(1), 120).unwrap().is_none(),
        "commit is idempotent"
    );
    pool.flush_blocking().unwrap();
    assert_eq!(read(&pool, u64::MAX), Some(65536));
    assert_eq!(read(&pool, 99), None);
    assert_eq!(
        pool.dtx_abort(Uuid::from_u128(1), 200).unwrap_err().der(),
        Der::Already
    );
    drop(pool);
    let pool = open_pool(dir.path(), false);
    assert_eq!(read(&pool, u64::MAX), Some(65536));
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(1)),
        Some(DtxState::Committed)
    );
    assert_eq!(pool.space().nvme_free, free - 65536);
}

#[test]
fn an_aborted_update_frees_its_space_and_refuses_a_late_prepare() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    let free = pool.space().nvme_free;
    put(&mut pool, b"old");
    let iod = blob_value(&mut pool);
    prepare(&mut pool, 1, 100, iod).unwrap();
    assert!(pool.dtx_abort(Uuid::from_u128(1), 150).unwrap().is_some());
    assert!(pool.dtx_abort(Uuid::from_u128(1), 160).unwrap().is_none());
    pool.flush_blocking().unwrap();
    assert_eq!(read(&pool, u64::MAX), Some(3), "the old value stays");
    assert_eq!(
        pool.space().nvme_free,
        free,
        "the prepared value's space is free"
    );
    assert_eq!(
        pool.dtx_commit(Uuid::from_u128(1), 120).unwrap_err().der(),
        Der::TxRestart
    );

    // Fencing: an abort of a transaction never seen here refuses its prepare later.
    pool.dtx_abort(Uuid::from_u128(2), 170).unwrap();
    let err = prepare(&mut pool, 2, 100, inline_value(b"late")).unwrap_err();
    assert_eq!(err.der(), Der::TxRestart);
    let err = prepare(&mut pool, 3, 100, inline_value(b"x"))
        .and_then(|_| prepare(&mut pool, 3, 100, inline_value(b"x")))
        .unwrap_err();
    assert_eq!(err.der(), Der::Already, "a duplicate prepare");
    assert_eq!(
        pool.dtx_commit(Uuid::from_u128(9), 120).unwrap_err().der(),
        Der::Nonexist
    );

    // Outcomes survive reopening, and are forgotten past the horizon.
    pool.flush_blocking().unwrap();
    drop(pool);
    let mut pool = open_pool(dir.path(), false);
    assert_eq!(pool.space().nvme_free, free);
    assert_eq!(pool.dtx_state(&Uuid::from_u128(2)), Some(DtxState::Aborted));
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(3)),
        Some(DtxState::Prepared)
    );
    pool.forget_dtx(165);
    assert_eq!(pool.dtx_state(&Uuid::from_u128(1)), None, "aborted at 150");
    assert_eq!(pool.dtx_state(&Uuid::from_u128(2)), Some(DtxState::Aborted));
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(3)),
        Some(DtxState::Prepared),
        "prepared ones are never forgotten"
    );

    // A forgotten id is unknown again: a prepare under it is taken, and replay (whose log
    // still holds the old outcome) agrees.
    prepare(&mut pool, 1, 300, inline_value(b"again")).unwrap();
    pool.flush_blocking().unwrap();
    drop(pool);
    let pool = open_pool(dir.path(), false);
    assert_eq!(
        pool.dtx_state(&Uuid::from_u128(1)),
        Some(DtxState::Prepared)
    );
    assert!(pool.dtx_pending());
}

#[test]
fn a_mistyped_key_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    let integer_keys = ObjectId::new(43, 0).encode(ObjectType::MultiUint64, ObjectClass::S1);
    let err = pool
        .update(
            None,
            CONT,
            integer_keys,
            0,
            50,
            0,
            b"d".to_vec(),
            vec![inline_value(b"v")],
            0,
        )
        .unwrap_err();
    assert_eq!(err.der(), Der::Inval, "{err}");
}

#[test]
fn dropping_a_shard_aborts_its_prepared_updates() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    let free = pool.space().nvme_free;
    put(&mut pool, b"v");
    let iod = blob_value(&mut pool);
    prepare(&mut pool, 1, 100, iod).unwrap();
    pool.drop_shard(CONT, oid(), 0).unwrap();
    pool.flush_blocking().unwrap();
    assert_eq!(pool.space().nvme_free, free);
    assert_eq!(pool.dtx_state(&Uuid::from_u128(1)), Some(DtxState::Aborted));
    let iod = blob_value(&mut pool);
    prepare(&mut pool, 2, 100, iod).unwrap();
    pool.destroy_container(CONT).unwrap();
    pool.flush_blocking().unwrap();
    drop(pool);
    let pool = open_pool(dir.path(), false);
    assert_eq!(pool.space().nvme_free, free);
    assert!(pool.dtx_prepared().is_empty());
    assert!(!pool.dtx_pending());
}

fn prepare_punch(pool: &mut VosPool, id: u128, epoch: u64) -> daos_types::Result<u64> {
    pool.punch(
        Some(info(id)),
        CONT,
        oid(),
        0,
        epoch,
        0,
        daos_vos::PunchTarget::Akeys {
            dkey: b"d".to_vec(),
            akeys: vec![b"a".to_vec()],
        },
    )
}

/// A replicated punch is a transaction too: prepared, it hides nothing (across reopening
/// from the log and from a checkpoint); committed, it punches at its own epoch; aborted, it
/// never does, and a late prepare of it is refused.
#[test]
fn a_prepared_punch_punches_nothing_until_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    put(&mut pool, b"value");
    prepare_punch(&mut pool, 1, 100).unwrap();
    prepare_punch(&mut pool, 2, 110).unwrap();
    pool.flush_blocking().unwrap();
    assert_eq!(
        read(&pool, u64::MAX),
        Some(5),
        "a prepared punch hides nothing"
    );
    assert_eq!(
        prepare_punch(&mut pool, 1, 100).unwrap_err().der(),
        Der::Already
    );

    drop(pool);
    let mut pool = open_pool(dir.path(), false);
    assert_eq!(pool.dtx_prepared().len(), 2);
    pool.checkpoint_blocking().unwrap();
    drop(pool);
    let mut pool = open_pool(dir.path(), false);
    assert_eq!(
        pool.dtx_prepared().len(),
        2,
        "prepared punches are in the checkpoint"
    );
    assert_eq!(read(&pool, u64::MAX), Some(5));

    // Punch 2 aborted, punch 1 committed: the value is gone from epoch 100 on.
    pool.dtx_abort(Uuid::from_u128(2), 120).unwrap();
    assert!(pool.dtx_commit(Uuid::from_u128(1), 121).unwrap().is_some());
    pool.flush_blocking().unwrap();
    assert_eq!(read(&pool, u64::MAX), None);
    assert_eq!(
        read(&pool, 99),
        Some(5),
        "older epochs still read the value"
    );
    assert_eq!(
        prepare_punch(&mut pool, 2, 110).unwrap_err().der(),
        Der::TxRestart
    );
    assert!(!pool.dtx_pending());
    drop(pool);
    let pool = open_pool(dir.path(), false);
    assert_eq!(read(&pool, u64::MAX), None);
    assert_eq!(read(&pool, 99), Some(5));
    assert_eq!(pool.dtx_state(&Uuid::from_u128(2)), Some(DtxState::Aborted));
}

/// Records `[lo, hi)` of array akey `a`, stored inline.
fn array_value(lo: u64, hi: u64) -> UpdateIod {
    UpdateIod {
        record: IodRecord {
            akey: b"a".to_vec(),
            entry: IodEntry::Array {
                rsize: 1,
                extents: vec![daos_vos::ExtentEntry {
                    lo,
                    hi,
                    data: Stored::Inline(vec![7u8; (hi - lo) as usize].into()),
                    csums: std::sync::Arc::from(&[][..]),
                }],
            },
        },
        flags: 0,
    }
}

/// The prepared transaction a read of records `recx` of array `akey` at `epoch` waits for.
fn conflict(pool: &VosPool, epoch: u64, akey: &[u8], recx: (u64, u64)) -> Option<Uuid> {
    let recxs = [recx];
    let iod = FetchIod {
        akey,
        array: true,
        size: 1,
        recxs: &recxs,
    };
    pool.prepared_conflict(&CONT, oid(), 0, epoch, b"d", &[iod])
}

/// What a read waits for (DAOS's `-DER_INPROGRESS`) is exactly what a prepared transaction
/// would change if committed: its akey, its extents, at or after its epoch; a prepared punch
/// covers its whole akey. Once decided, nothing waits, and the newest epoch over the
/// extents (what an erasure-coded guard orders updates by) is the committed one's, across
/// reopening.
#[test]
fn a_read_waits_only_for_prepared_changes_it_would_see() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = open_pool(dir.path(), true);
    let id = Uuid::from_u128(7);
    assert_eq!(
        pool.newest_epoch(&CONT, oid(), 0, b"d", b"a", &[(0, 100)])
            .unwrap(),
        0
    );
    pool.update(
        None,
        CONT,
        oid(),
        0,
        40,
        0,
        b"d".to_vec(),
        vec![array_value(0, 10)],
        0,
    )
    .unwrap();
    prepare(&mut pool, 7, 60, array_value(100, 200)).unwrap();
    pool.flush_blocking().unwrap();
    for reopened in [false, true] {
        assert_eq!(conflict(&pool, 60, b"a", (150, 10)), Some(id), "{reopened}");
        assert_eq!(conflict(&pool, u64::MAX, b"a", (199, 5)), Some(id));
        // Before its epoch, outside its extents, another akey: nothing to wait for.
        assert_eq!(conflict(&pool, 59, b"a", (150, 10)), None);
        assert_eq!(conflict(&pool, 60, b"a", (0, 100)), None);
        assert_eq!(conflict(&pool, 60, b"a", (200, 10)), None);
        assert_eq!(conflict(&pool, 60, b"b", (150, 10)), None);
        // Prepared, it is not the newest over its extents yet.
        assert_eq!(
            pool.newest_epoch(&CONT, oid(), 0, b"d", b"a", &[(0, 300)])
                .unwrap(),
            40
        );
        drop(pool);
        pool = open_pool(dir.path(), false);
    }
    pool.dtx_commit(id, 70).unwrap();
    pool.flush_blocking().unwrap();
    assert_eq!(conflict(&pool, u64::MAX, b"a", (150, 10)), None);
    let newest = |pool: &VosPool, r| {
        pool.newest_epoch(&CONT, oid(), 0, b"d", b"a", &[r])
            .unwrap()
    };
    assert_eq!(newest(&pool, (150, 1)), 60);
    assert_eq!(newest(&pool, (5, 1)), 40);
    assert_eq!(newest(&pool, (10, 90)), 0);
    // A prepared punch of the akey: every range of it waits, and no other akey does.
    prepare_punch(&mut pool, 8, 80).unwrap();
    assert_eq!(
        conflict(&pool, 80, b"a", (500, 1)),
        Some(Uuid::from_u128(8))
    );
    assert_eq!(conflict(&pool, 79, b"a", (500, 1)), None);
    assert_eq!(conflict(&pool, 80, b"b", (500, 1)), None);
    // What orders an erasure-coded punch: the prepared punch is undecided under the dkey and
    // under akey `a`, not under akey `b`.
    let view = |pool: &VosPool, akeys: Option<&[Vec<u8>]>| {
        pool.punch_view(&CONT, oid(), 0, Some(b"d"), akeys).unwrap()
    };
    assert_eq!(view(&pool, None), (Some(Uuid::from_u128(8)), 60));
    assert_eq!(
        view(&pool, Some(&[b"a".to_vec()])).0,
        Some(Uuid::from_u128(8))
    );
    assert_eq!(view(&pool, Some(&[b"b".to_vec()])), (None, 0));
    // A whole-object punch is ordered after everything in the shard.
    let whole = |pool: &VosPool| pool.punch_view(&CONT, oid(), 0, None, None).unwrap();
    assert_eq!(whole(&pool), (Some(Uuid::from_u128(8)), 60));
    pool.dtx_commit(Uuid::from_u128(8), 90).unwrap();
    assert_eq!(view(&pool, None), (None, 80));
    assert_eq!(whole(&pool), (None, 80));
    assert_eq!(conflict(&pool, u64::MAX, b"a", (500, 1)), None);
    // The punch is now the newest thing over every range of the akey.
    assert_eq!(newest(&pool, (10, 90)), 80);
}
