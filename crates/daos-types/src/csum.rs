//! Chunked CRC-32C checksums, as DAOS computes them for array extents and single values.
//!
//! DAOS (`docs/overview/data_integrity.md`): the client computes a checksum for every chunk of
//! `cksum_size` bytes, with chunk boundaries aligned to absolute offsets in the array (byte
//! offset = record index × record size), so an extent that starts or ends mid-chunk has a
//! shorter first or last slice. A single value has one checksum over the whole value.
//! DAOS's `crc32` is CRC-32C, and so is this.

/// CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// The chunk slices an extent `[start, end)` (absolute bytes) divides into.
pub fn chunk_slices(start: u64, end: u64, chunk_size: u64) -> impl Iterator<Item = (u64, u64)> {
    assert!(chunk_size > 0, "checksum chunk size must be positive");
    let mut position = start;
    std::iter::from_fn(move || {
        if position >= end {
            return None;
        }
        let boundary = (position / chunk_size + 1).saturating_mul(chunk_size);
        let slice = (position, boundary.min(end));
        position = slice.1;
        Some(slice)
    })
}

/// Number of chunk slices of `[start, end)`.
pub fn chunk_count(start: u64, end: u64, chunk_size: u64) -> usize {
    if end <= start {
        return 0;
    }
    ((end - 1) / chunk_size - start / chunk_size + 1) as usize
}

/// Streams bytes of an extent that begins at absolute offset `start` and yields one CRC per
/// chunk slice, whatever the buffer boundaries of the input.
#[derive(Debug)]
pub struct ChunkHasher {
    chunk_size: u64,
    position: u64,
    crc: u32,
    in_slice: bool,
    out: Vec<u32>,
}

impl ChunkHasher {
    /// A hasher for an extent starting at absolute byte `start`.
    pub fn new(start: u64, chunk_size: u64) -> ChunkHasher {
        assert!(chunk_size > 0, "checksum chunk size must be positive");
        ChunkHasher {
            chunk_size,
            position: start,
            crc: 0,
            in_slice: false,
            out: Vec::new(),
        }
    }

    /// Feeds the next bytes of the extent.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let boundary = (self.position / self.chunk_size + 1) * self.chunk_size;
            let take = ((boundary - self.position) as usize).min(data.len());
            self.crc = crc32c::crc32c_append(self.crc, &data[..take]);
            self.in_slice = true;
            self.position += take as u64;
            data = &data[take..];
            if self.position == boundary {
                self.out.push(self.crc);
                self.crc = 0;
                self.in_slice = false;
            }
        }
    }

    /// The checksums, one per chunk slice.
    pub fn finish(mut self) -> Vec<u32> {
        if self.in_slice {
            self.out.push(self.crc);
        }
        self.out
    }
}

/// Checksums of a contiguous extent.
pub fn chunk_checksums(data: &[u8], start: u64, chunk_size: u64) -> Vec<u32> {
    let mut hasher = ChunkHasher::new(start, chunk_size);
    hasher.update(data);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // CRC-32C check value from RFC 3720.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn slices_align_to_absolute_offsets() {
        let slices: Vec<_> = chunk_slices(100, 300, 128).collect();
        assert_eq!(slices, vec![(100, 128), (128, 256), (256, 300)]);
        assert_eq!(chunk_count(100, 300, 128), 3);
        assert_eq!(chunk_count(0, 128, 128), 1);
        assert_eq!(chunk_count(5, 5, 128), 0);
    }

    #[test]
    fn streaming_matches_one_shot_for_any_split() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let expected = chunk_checksums(&data, 77, 64);
        assert_eq!(expected.len(), chunk_count(77, 1077, 64));
        for split in [1, 7, 63, 64, 65, 500, 999] {
            let mut hasher = ChunkHasher::new(77, 64);
            for piece in data.chunks(split) {
                hasher.update(piece);
            }
            assert_eq!(hasher.finish(), expected, "split {split}");
        }
        for (i, (lo, hi)) in chunk_slices(77, 1077, 64).enumerate() {
            assert_eq!(
                expected[i],
                crc32c(&data[(lo - 77) as usize..(hi - 77) as usize])
            );
        }
    }
}
