//! Files opened for direct, durable block I/O.

use daos_types::{Der, Error, Result};
use nix::errno::Errno;
use nix::fcntl::FallocateFlags;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `O_DIRECT | O_DSYNC`: every completed write is on stable storage.
    Synchronous,
    /// `O_DIRECT` only (reads, or writes followed by an explicit sync).
    Direct,
}

/// Opens (creating if asked) `path` for direct I/O, sized to at least `size` bytes with
/// `fallocate` so later writes do not fail for space.
///
/// Errors: `-DER_NOSPACE` if the space cannot be reserved; other I/O errors mapped by errno;
/// `-DER_NOTSUPPORTED` if the file system refuses `O_DIRECT`.
pub fn open_direct(path: &Path, size: u64, create: bool, durability: Durability) -> Result<File> {
    let mut flags = libc::O_DIRECT;
    if durability == Durability::Synchronous {
        flags |= libc::O_DSYNC;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .custom_flags(flags)
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::EINVAL) {
                Error::new(
                    Der::Notsupported,
                    format!("{}: file system does not support O_DIRECT", path.display()),
                )
            } else {
                Error::from(err).with_context(path.display())
            }
        })?;
    let current = file
        .metadata()
        .map_err(|e| Error::from(e).with_context(path.display()))?
        .len();
    if current < size {
        match nix::fcntl::fallocate(&file, FallocateFlags::empty(), 0, size as i64) {
            Ok(()) => {}
            Err(Errno::EOPNOTSUPP) => file
                .set_len(size)
                .map_err(|e| Error::from(e).with_context(path.display()))?,
            Err(errno) => {
                return Err(Error::from(std::io::Error::from(errno))
                    .with_context(format!("reserving {size} bytes for {}", path.display())))
            }
        }
    }
    Ok(file)
}

/// Reserves `[start, start + len)` of a regular file's blocks (`fallocate`, keeping its size),
/// so writes into that range can never fail for space and do not pay for block allocation.
/// Block devices need no reservation and are left alone.
///
/// Errors: `-DER_NOSPACE` if the file system lacks the space; other errors mapped by errno.
/// A file system without `fallocate` support is accepted (the range stays sparse).
pub fn reserve(file: &File, start: u64, len: u64) -> Result<()> {
    fallocate_range(
        file,
        FallocateFlags::FALLOC_FL_KEEP_SIZE,
        start,
        len,
        "reserving",
    )
}

/// Gives `[start, start + len)` of a regular file back to its file system (punches a hole),
/// so a destroyed pool's space is free on the host again. Block devices are left alone.
///
/// Errors: I/O errors mapped by errno; a file system that cannot punch holes is accepted.
pub fn release(file: &File, start: u64, len: u64) -> Result<()> {
    let flags = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
    fallocate_range(file, flags, start, len, "releasing")
}

fn fallocate_range(
    file: &File,
    flags: FallocateFlags,
    start: u64,
    len: u64,
    what: &str,
) -> Result<()> {
    if !file.metadata().map_err(Error::from)?.is_file() || len == 0 {
        return Ok(());
    }
    match nix::fcntl::fallocate(file, flags, start as i64, len as i64) {
        Ok(()) | Err(Errno::EOPNOTSUPP) => Ok(()),
        Err(errno) => Err(Error::from(std::io::Error::from(errno))
            .with_context(format!("{what} {len} bytes at {start}"))),
    }
}

/// Flushes a directory so a created or renamed file's entry is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::from(e).with_context(dir.display()))
}

/// Replaces `path` with `bytes` durably and atomically: writes a `.tmp` sibling, syncs it,
/// renames it over `path` and syncs the directory (creating it if needed), so a crash leaves
/// either the old content or the new one.
///
/// Errors: I/O errors mapped by errno, with the path as context.
pub fn replace_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::from(e).with_context(dir.display()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::from(e).with_context(tmp.display()))?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::from(e).with_context(tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::from(e).with_context(path.display()))?;
    sync_dir(dir)
}

/// Reads exactly `buf.len()` bytes at `offset` (synchronous; recovery and tools).
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset).map_err(Error::from)
}

/// Writes all of `buf` at `offset` (synchronous; tests and shutdown paths).
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(buf, offset).map_err(Error::from)
}
