//! A target's share of the engine's data files, and where pools' blobs go in it.
//!
//! `class: file` tiers list data files of `bdev_size` each; target `i` uses file
//! `i % files` and an equal slice of it. A pool gets one contiguous blob per target, placed
//! first-fit among the blobs of other pools; the layout is recorded in each pool's
//! `pool.meta`, so nothing else needs persisting.

use daos_types::{Der, Error, Result};
use daos_vos::index::{align_down, align_up};
use std::path::PathBuf;

/// A target's slice of a data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRegion {
    /// The data file.
    pub path: PathBuf,
    /// Size of the whole file, bytes.
    pub file_size: u64,
    /// Whether to reserve the file's space when creating it (otherwise sparse).
    pub preallocate: bool,
    /// First byte of this target's slice.
    pub start: u64,
    /// One past the last byte of this target's slice.
    pub end: u64,
}

impl DataRegion {
    /// The slice of `files` for target `index` of `targets`.
    pub fn for_target(
        files: &[daos_control::config::DataFile],
        index: u32,
        targets: u32,
    ) -> DataRegion {
        let file_index = index as usize % files.len();
        let file = &files[file_index];
        let sharing = (0..targets)
            .filter(|t| *t as usize % files.len() == file_index)
            .count() as u64;
        let position = (index as usize / files.len()) as u64;
        let share = align_down(file.size / sharing.max(1));
        DataRegion {
            path: file.path.clone(),
            file_size: file.size,
            preallocate: file.preallocate,
            start: position * share,
            end: (position + 1) * share,
        }
    }

    /// Bytes in this slice.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// First-fit placement of `len` bytes among `taken` `(start, len)` blobs.
    ///
    /// Errors: `-DER_NOSPACE` if no gap is large enough.
    pub fn place(&self, len: u64, taken: &[(u64, u64)]) -> Result<u64> {
        let len = align_up(len.max(1));
        let mut taken = taken.to_vec();
        taken.sort_unstable();
        let mut cursor = self.start;
        for (start, used) in taken {
            if start >= cursor + len {
                break;
            }
            cursor = cursor.max(start + align_up(used));
        }
        if cursor + len <= self.end {
            Ok(cursor)
        } else {
            let free = self.len().saturating_sub(cursor - self.start);
            Err(Error::new(
                Der::Nospace,
                format!(
                    "target region has no {len}-byte gap left ({free} bytes after the last pool)"
                ),
            ))
        }
    }

    /// Creates the data file at its configured size if it does not exist yet.
    pub fn ensure_file(&self) -> Result<()> {
        if self.path.exists() {
            return Ok(());
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::from(e).with_context(parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
            .map_err(|e| Error::from(e).with_context(self.path.display()))?;
        if self.preallocate {
            daos_bio::open_direct(
                &self.path,
                self.file_size,
                false,
                daos_bio::Durability::Direct,
            )?;
        } else {
            file.set_len(self.file_size)
                .map_err(|e| Error::from(e).with_context(self.path.display()))?;
        }
        file.sync_all().map_err(Error::from)?;
        if let Some(parent) = self.path.parent() {
            daos_bio::sync_dir(parent)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daos_control::config::DataFile;

    #[test]
    fn slices_and_placement() {
        let files = vec![DataFile {
            path: "/d".into(),
            size: 8 << 20,
            preallocate: false,
        }];
        let a = DataRegion::for_target(&files, 0, 2);
        let b = DataRegion::for_target(&files, 1, 2);
        assert_eq!(
            (a.start, a.end, b.start, b.end),
            (0, 4 << 20, 4 << 20, 8 << 20)
        );
        assert_eq!(a.place(1 << 20, &[]).unwrap(), 0);
        assert_eq!(a.place(1 << 20, &[(0, 1 << 20)]).unwrap(), 1 << 20);
        assert_eq!(a.place(1 << 20, &[(1 << 20, 1 << 20)]).unwrap(), 0);
        assert_eq!(a.place(5 << 20, &[]).unwrap_err().der(), Der::Nospace);
    }
}
