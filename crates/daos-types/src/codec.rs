//! A small, bounded, little-endian binary codec for the wire protocol and on-disk records.
//!
//! Why our own: the wire and VOS formats are what this project exists for, and their decoders
//! face hostile input. Every length read from input is checked against the bytes remaining
//! *before* anything is allocated, so a forged length can never make us allocate more than the
//! message itself holds. Integers are little-endian regardless of host (enforced by clippy's
//! `host_endian_bytes` lint).
//!
//! Errors: decoding failures are `-DER_PROTO` ("Incompatible protocol") with the field name.

use crate::der::Der;
use crate::error::{Error, Result};
use crate::oid::ObjectId;
use uuid::Uuid;

/// Appends encoded values to a byte vector.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// An encoder that appends to an existing buffer.
    pub fn from_vec(buf: Vec<u8>) -> Encoder {
        Encoder { buf }
    }

    /// An encoder with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Encoder {
        Encoder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Forgets what was written, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The encoded bytes so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Mutable access for patching fields written earlier (lengths, checksums).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Writes one byte.
    pub fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    /// Writes a bool as one byte.
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.u8(u8::from(value))
    }

    /// Writes a little-endian u16.
    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Writes a little-endian u32.
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Writes a little-endian i32.
    pub fn i32(&mut self, value: i32) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Writes a little-endian u64.
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// Writes raw bytes with no length prefix.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Writes a u32 length prefix and the bytes.
    ///
    /// Panics if `bytes` is longer than `u32::MAX`; callers bound sizes far below that.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).expect("encoded field longer than 4 GiB");
        self.u32(len);
        self.raw(bytes)
    }

    /// Writes a UTF-8 string with a u32 length prefix.
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.bytes(text.as_bytes())
    }

    /// Writes a UUID as 16 bytes.
    pub fn uuid(&mut self, uuid: &Uuid) -> &mut Self {
        self.raw(uuid.as_bytes())
    }

    /// Writes an object id (`lo`, then `hi`).
    pub fn oid(&mut self, oid: ObjectId) -> &mut Self {
        self.u64(oid.lo).u64(oid.hi)
    }

    /// Writes a sequence length as u32.
    pub fn len_prefix(&mut self, len: usize) -> &mut Self {
        self.u32(u32::try_from(len).expect("sequence longer than u32::MAX"))
    }

    /// Writes a value implementing [`Wire`].
    pub fn put<T: Wire>(&mut self, value: &T) -> &mut Self {
        value.encode(self);
        self
    }
}

/// Reads values from a byte slice, checking every bound.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn short(field: &str) -> Error {
    Error::new(Der::Proto, format!("message truncated in {field}"))
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf`.
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Error::new(
                Der::Proto,
                format!("{} trailing bytes in message", self.remaining()),
            ))
        }
    }

    /// Takes exactly `len` raw bytes.
    pub fn raw(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(short(field));
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let bytes = self.raw(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a bool; any value other than 0 or 1 is an error.
    pub fn bool(&mut self, field: &str) -> Result<bool> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::new(
                Der::Proto,
                format!("bad bool {other} in {field}"),
            )),
        }
    }

    /// Reads a little-endian u16.
    pub fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian u32.
    pub fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian i32.
    pub fn i32(&mut self, field: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian u64.
    pub fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Reads length-prefixed bytes of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, field: &str) -> Result<&'a [u8]> {
        let len = self.u32(field)? as usize;
        if len > max {
            return Err(Error::new(
                Der::Proto,
                format!("{field} of {len} bytes exceeds {max}"),
            ));
        }
        self.raw(len, field)
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: usize, field: &str) -> Result<&'a str> {
        let bytes = self.bytes(max, field)?;
        std::str::from_utf8(bytes)
            .map_err(|_| Error::new(Der::Proto, format!("{field} is not UTF-8")))
    }

    /// Reads a UUID.
    pub fn uuid(&mut self, field: &str) -> Result<Uuid> {
        Ok(Uuid::from_bytes(self.array(field)?))
    }

    /// Reads an object id.
    pub fn oid(&mut self, field: &str) -> Result<ObjectId> {
        let lo = self.u64(field)?;
        let hi = self.u64(field)?;
        Ok(ObjectId { lo, hi })
    }

    /// Reads a sequence length, rejecting counts whose minimal encoding could not fit in the
    /// bytes that remain, or that exceed `max`. This bounds allocation by input size.
    pub fn len_prefix(&mut self, max: usize, item_size_min: usize, field: &str) -> Result<usize> {
        let count = self.u32(field)? as usize;
        if count > max {
            return Err(Error::new(
                Der::Proto,
                format!("{field}: {count} items exceed {max}"),
            ));
        }
        if count.saturating_mul(item_size_min.max(1)) > self.remaining() {
            return Err(short(field));
        }
        Ok(count)
    }

    /// Reads a value implementing [`Wire`].
    pub fn get<T: Wire>(&mut self) -> Result<T> {
        T::decode(self)
    }
}

/// A type with a wire encoding.
pub trait Wire: Sized {
    /// The fewest bytes any value encodes to; used to bound sequence lengths.
    const ENCODED_SIZE_MIN: usize;
    /// Appends the encoding.
    fn encode(&self, e: &mut Encoder);
    /// Reads one value.
    fn decode(d: &mut Decoder<'_>) -> Result<Self>;
}

impl Wire for u8 {
    const ENCODED_SIZE_MIN: usize = 1;
    fn encode(&self, e: &mut Encoder) {
        e.u8(*self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        d.u8("u8")
    }
}

impl Wire for u32 {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.u32(*self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        d.u32("u32")
    }
}

impl Wire for u64 {
    const ENCODED_SIZE_MIN: usize = 8;
    fn encode(&self, e: &mut Encoder) {
        e.u64(*self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        d.u64("u64")
    }
}

impl Wire for Uuid {
    const ENCODED_SIZE_MIN: usize = 16;
    fn encode(&self, e: &mut Encoder) {
        e.uuid(self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        d.uuid("uuid")
    }
}

impl Wire for ObjectId {
    const ENCODED_SIZE_MIN: usize = 16;
    fn encode(&self, e: &mut Encoder) {
        e.oid(*self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        d.oid("oid")
    }
}

/// Strings on the wire are bounded by this many bytes unless a field says otherwise.
pub const STRING_LEN_MAX: usize = 4096;

impl Wire for String {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.str(self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        Ok(d.str(STRING_LEN_MAX, "string")?.to_string())
    }
}

/// Sequences on the wire are bounded by this many items unless a field says otherwise.
pub const SEQUENCE_LEN_MAX: usize = 1 << 20;

impl<T: Wire> Wire for Vec<T> {
    const ENCODED_SIZE_MIN: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.len_prefix(self.len());
        for item in self {
            item.encode(e);
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let count = d.len_prefix(SEQUENCE_LEN_MAX, T::ENCODED_SIZE_MIN, "sequence")?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(T::decode(d)?);
        }
        Ok(out)
    }
}

impl<T: Wire> Wire for Option<T> {
    const ENCODED_SIZE_MIN: usize = 1;
    fn encode(&self, e: &mut Encoder) {
        match self {
            None => {
                e.u8(0);
            }
            Some(value) => {
                e.u8(1);
                value.encode(e);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        if d.bool("option")? {
            Ok(Some(T::decode(d)?))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut e = Encoder::new();
        e.u8(7)
            .u16(300)
            .u32(70_000)
            .u64(u64::MAX)
            .str("héllo")
            .bytes(b"\x00\x01")
            .bool(true);
        e.put(&vec![1u64, 2, 3])
            .put(&Some(Uuid::nil()))
            .oid(ObjectId::new(1, 2));
        let buf = e.finish();
        let mut d = Decoder::new(&buf);
        assert_eq!(d.u8("a").unwrap(), 7);
        assert_eq!(d.u16("b").unwrap(), 300);
        assert_eq!(d.u32("c").unwrap(), 70_000);
        assert_eq!(d.u64("d").unwrap(), u64::MAX);
        assert_eq!(d.str(100, "e").unwrap(), "héllo");
        assert_eq!(d.bytes(10, "f").unwrap(), b"\x00\x01");
        assert!(d.bool("g").unwrap());
        assert_eq!(d.get::<Vec<u64>>().unwrap(), vec![1, 2, 3]);
        assert_eq!(d.get::<Option<Uuid>>().unwrap(), Some(Uuid::nil()));
        assert_eq!(d.oid("h").unwrap(), ObjectId::new(1, 2));
        d.finish().unwrap();
    }

    #[test]
    fn forged_lengths_are_rejected_before_allocating() {
        let mut e = Encoder::new();
        e.u32(u32::MAX); // a sequence claiming 4 billion items
        let buf = e.finish();
        let err = Decoder::new(&buf).get::<Vec<u64>>().unwrap_err();
        assert_eq!(err.der(), Der::Proto);
        let mut e = Encoder::new();
        e.u32(1000).raw(b"short");
        let buf = e.finish();
        assert_eq!(
            Decoder::new(&buf).bytes(10_000, "x").unwrap_err().der(),
            Der::Proto
        );
        assert_eq!(
            Decoder::new(&buf).bytes(10, "x").unwrap_err().der(),
            Der::Proto
        );
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let mut e = Encoder::new();
        e.str("key").u64(9).put(&vec![Uuid::new_v4(); 3]);
        let buf = e.finish();
        for cut in 0..buf.len() {
            let mut d = Decoder::new(&buf[..cut]);
            let result = (|| -> Result<()> {
                d.str(100, "s")?;
                d.u64("n")?;
                d.get::<Vec<Uuid>>()?;
                Ok(())
            })();
            assert_eq!(result.unwrap_err().der(), Der::Proto, "cut at {cut}");
        }
    }
}
