//! What the VOS integration tests share.

use daos_types::Uuid;
use daos_vos::{BlobRegion, PoolMeta, VosPool};
use std::path::Path;

/// Creates (or reopens) the pool in `dir/pool`: a 1 MiB blob region (its bytes are never
/// written: the index and the allocator are what the tests check) and the smallest log
/// segments, so that rotation happens.
pub fn open_pool(dir: &Path, create: bool) -> VosPool {
    let meta = PoolMeta {
        uuid: Uuid::from_u128(7),
        blob: BlobRegion {
            path: dir.join("blob"),
            start: 0,
            len: 1 << 20,
        },
        scm_bytes: 1 << 30,
        log_segment_bytes: daos_vos::wal::SEGMENT_SIZE_MIN,
    };
    if create {
        VosPool::create(&dir.join("pool"), meta).unwrap()
    } else {
        VosPool::open(&dir.join("pool")).unwrap()
    }
}
