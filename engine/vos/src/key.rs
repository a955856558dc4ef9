//! Ordered keys and enumeration anchors.
//!
//! A key's position is `(order, bytes)`: `order` is the stable hash for hashed key spaces, the
//! integer value for `UINT64` key spaces, and the first 8 bytes big-endian for lexical ones;
//! ties break on the bytes. Anchors record the last position returned, so enumeration resumes
//! strictly after it; they must fit DAOS's 104-byte `da_buf`.

use daos_types::{Der, Error, KeyOrder, Result};
use std::cmp::Ordering;
use std::sync::Arc;

/// A key with its position in its key space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrdKey {
    /// Primary sort value.
    pub order: u64,
    /// The key bytes.
    pub bytes: Arc<[u8]>,
}

impl Ord for OrdKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order
            .cmp(&other.order)
            .then_with(|| self.bytes.cmp(&other.bytes))
    }
}

impl PartialOrd for OrdKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl OrdKey {
    /// The positioned form of `bytes` in a key space ordered by `order`.
    ///
    /// Errors: `-DER_INVAL` for a `UINT64` key that is not exactly 8 bytes.
    pub fn new(order: KeyOrder, bytes: &[u8]) -> Result<OrdKey> {
        let value = match order {
            KeyOrder::Hashed => daos_types::hash::key_hash(bytes),
            KeyOrder::Uint64 => {
                let array: [u8; 8] = bytes.try_into().map_err(|_| {
                    Error::new(
                        Der::Inval,
                        format!("integer keys are 8 bytes, got {}", bytes.len()),
                    )
                })?;
                u64::from_le_bytes(array)
            }
            KeyOrder::Lexical => {
                let mut prefix = [0u8; 8];
                let n = bytes.len().min(8);
                prefix[..n].copy_from_slice(&bytes[..n]);
                u64::from_be_bytes(prefix)
            }
        };
        Ok(OrdKey {
            order: value,
            bytes: bytes.into(),
        })
    }
}

/// Bytes of a key prefix an anchor can hold (104 minus order, run count and cut flag).
pub const ANCHOR_PREFIX_MAX: usize = 104 - 8 - 2 - 1;

/// Where a key enumeration stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAnchor {
    /// Order of the last key returned.
    pub order: u64,
    /// The last key returned, or its first bytes when it is too long to store.
    pub prefix: Vec<u8>,
    /// When the key was cut: how many keys sharing `(order, prefix)` were already returned.
    pub skip: u16,
    /// Whether `prefix` is a cut key.
    pub cut: bool,
}

impl KeyAnchor {
    /// The anchor positioned after `key`. For a key too long to store, `run` is how many keys
    /// sharing its `(order, prefix)` have been returned so far, this one included.
    pub fn after(key: &OrdKey, run: u16) -> KeyAnchor {
        if key.bytes.len() <= ANCHOR_PREFIX_MAX {
            KeyAnchor {
                order: key.order,
                prefix: key.bytes.to_vec(),
                skip: 0,
                cut: false,
            }
        } else {
            KeyAnchor {
                order: key.order,
                prefix: key.bytes[..ANCHOR_PREFIX_MAX].to_vec(),
                skip: run,
                cut: true,
            }
        }
    }

    /// Encodes into at most 104 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(11 + self.prefix.len());
        out.extend_from_slice(&self.order.to_le_bytes());
        out.extend_from_slice(&self.skip.to_le_bytes());
        out.push(u8::from(self.cut));
        out.extend_from_slice(&self.prefix);
        out
    }

    /// Decodes; an empty buffer is the start.
    ///
    /// Errors: `-DER_INVAL` for a buffer that is not an anchor we made.
    pub fn decode(bytes: &[u8]) -> Result<Option<KeyAnchor>> {
        if bytes.is_empty() {
            return Ok(None);
        }
        if bytes.len() < 11 || bytes.len() > 104 || bytes[10] > 1 {
            return Err(Error::new(Der::Inval, "corrupted enumeration anchor"));
        }
        Ok(Some(KeyAnchor {
            order: u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
            skip: u16::from_le_bytes(bytes[8..10].try_into().expect("2 bytes")),
            cut: bytes[10] == 1,
            prefix: bytes[11..].to_vec(),
        }))
    }

    /// Whether `key` comes strictly after this anchor, given the count of keys sharing the
    /// anchor's cut prefix that were seen so far in this scan (for cut anchors).
    pub fn is_after(&self, key: &OrdKey, shared_seen: &mut u16) -> bool {
        match key.order.cmp(&self.order) {
            Ordering::Less => false,
            Ordering::Greater => true,
            Ordering::Equal if !self.cut => key.bytes[..] > self.prefix[..],
            Ordering::Equal => {
                if key.bytes.starts_with(&self.prefix) && key.bytes.len() > self.prefix.len() {
                    *shared_seen += 1;
                    *shared_seen > self.skip
                } else {
                    key.bytes[..] > self.prefix[..]
                }
            }
        }
    }

    /// The lowest position a scan resuming from this anchor must start at.
    pub fn scan_start(&self) -> OrdKey {
        OrdKey {
            order: self.order,
            bytes: Arc::from(&self.prefix[..]),
        }
    }
}

/// Counts returned keys that share a cut anchor prefix, so the next anchor can skip them.
#[derive(Debug, Default)]
pub struct PrefixRun {
    run: Option<(u64, Vec<u8>, u16)>,
}

impl PrefixRun {
    /// Continues a run from the anchor a page resumed at.
    pub fn resume(anchor: Option<&KeyAnchor>) -> PrefixRun {
        PrefixRun {
            run: anchor
                .filter(|a| a.cut)
                .map(|a| (a.order, a.prefix.clone(), a.skip)),
        }
    }

    /// Records a returned key; returns the run count to store if the page ends at it.
    pub fn push(&mut self, key: &OrdKey) -> u16 {
        if key.bytes.len() <= ANCHOR_PREFIX_MAX {
            self.run = None;
            return 0;
        }
        let prefix = &key.bytes[..ANCHOR_PREFIX_MAX];
        let count = match &self.run {
            Some((order, run_prefix, count))
                if *order == key.order && run_prefix[..] == prefix[..] =>
            {
                count + 1
            }
            _ => 1,
        };
        self.run = Some((key.order, prefix.to_vec(), count));
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        let a = OrdKey::new(KeyOrder::Uint64, &5u64.to_le_bytes()).unwrap();
        let b = OrdKey::new(KeyOrder::Uint64, &300u64.to_le_bytes()).unwrap();
        assert!(a < b);
        assert_eq!(
            OrdKey::new(KeyOrder::Uint64, b"abc").unwrap_err().der(),
            Der::Inval
        );
        let x = OrdKey::new(KeyOrder::Lexical, b"ab").unwrap();
        let y = OrdKey::new(KeyOrder::Lexical, b"ab\0").unwrap();
        let z = OrdKey::new(KeyOrder::Lexical, b"abcdefghij").unwrap();
        let w = OrdKey::new(KeyOrder::Lexical, b"b").unwrap();
        assert!(x < y && y < z && z < w);
    }

    #[test]
    fn anchors_round_trip_and_fit() {
        let long = OrdKey::new(KeyOrder::Hashed, &[b'x'; 500]).unwrap();
        let anchor = KeyAnchor::after(&long, 0);
        let bytes = anchor.encode();
        assert!(bytes.len() <= 104);
        assert_eq!(KeyAnchor::decode(&bytes).unwrap(), Some(anchor));
        assert_eq!(KeyAnchor::decode(&[]).unwrap(), None);
        assert!(KeyAnchor::decode(&[1, 2, 3]).is_err());
    }
}
