//! Message framing: request and reply headers, version check, and the trailing CRC.
//!
//! ```text
//! request:  magic u32 | version u16 | opcode u16 | rpc_id u64 | reply_capacity u32
//!           | map_version u32 | hlc u64 | sender (u32 len + bytes) | body … | crc32c u32
//! reply:    magic u32 | version u16 | opcode u16 | rpc_id u64 | status i32
//!           | map_version u32 | hlc u64 | body … | crc32c u32
//! ```
//! All integers little-endian. The CRC-32C covers every byte before it, so a truncated or
//! corrupted message is rejected before its body is looked at. `magic` and `version` come
//! first and keep their place in every version, so a peer speaking another version can always
//! be told so (`-DER_PROTO`).

use crate::opcode::Opcode;
use daos_types::codec::{Decoder, Encoder};
use daos_types::{Der, Error, Result};

/// First four bytes of every message: `"DRS\x01"` read as little-endian.
pub const MAGIC: u32 = u32::from_le_bytes(*b"DRS\x01");
/// Wire protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Size of every request receive buffer an engine posts, bytes; larger requests are refused.
pub const MESSAGE_SIZE_MAX: usize = 64 * 1024;
/// Largest sender address carried in a request, bytes.
pub const SENDER_LEN_MAX: usize = 256;
/// Bytes of a request header before the sender address.
const REQUEST_FIXED: usize = 4 + 2 + 2 + 8 + 4 + 4 + 8;
/// Bytes of a reply header.
pub const REPLY_HEADER_SIZE: usize = 4 + 2 + 2 + 8 + 4 + 4 + 8;
/// Bytes of the trailing CRC.
pub const TRAILER_SIZE: usize = 4;

/// A decoded request header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// What is asked.
    pub opcode: Opcode,
    /// The reply's tag.
    pub rpc_id: u64,
    /// Bytes the sender posted for the reply; replies must fit.
    pub reply_capacity: u32,
    /// Pool map version the sender knows (0 if none).
    pub map_version: u32,
    /// Sender's hybrid logical clock.
    pub hlc: u64,
    /// Sender's fabric address, for the reply and bulk transfers.
    pub sender: Vec<u8>,
}

/// A decoded reply header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// Echo of the request's opcode.
    pub opcode: u16,
    /// Echo of the request's RPC id.
    pub rpc_id: u64,
    /// 0 or a negative DER code.
    pub status: i32,
    /// The replier's pool map version (0 if not pool-scoped).
    pub map_version: u32,
    /// The replier's hybrid logical clock.
    pub hlc: u64,
}

/// Starts a request: writes the header; the caller appends the body, then calls [`seal`].
pub fn begin_request(header: &RequestHeader) -> Encoder {
    let mut e = Encoder::with_capacity(256);
    e.u32(MAGIC)
        .u16(PROTOCOL_VERSION)
        .u16(header.opcode as u16)
        .u64(header.rpc_id)
        .u32(header.reply_capacity)
        .u32(header.map_version)
        .u64(header.hlc)
        .bytes(&header.sender);
    e
}

/// Starts a reply: writes the header; the caller appends the body, then calls [`seal`].
pub fn begin_reply(header: &ReplyHeader) -> Encoder {
    let mut e = Encoder::with_capacity(128);
    e.u32(MAGIC)
        .u16(PROTOCOL_VERSION)
        .u16(header.opcode)
        .u64(header.rpc_id)
        .i32(header.status)
        .u32(header.map_version)
        .u64(header.hlc);
    e
}

/// Appends the CRC and returns the finished message.
pub fn seal(mut e: Encoder) -> Vec<u8> {
    let crc = daos_types::csum::crc32c(e.as_slice());
    e.u32(crc);
    e.finish()
}

fn check_frame(msg: &[u8], fixed: usize) -> Result<&[u8]> {
    if msg.len() < fixed + TRAILER_SIZE {
        return Err(Error::new(
            Der::Proto,
            format!("message of {} bytes is too short", msg.len()),
        ));
    }
    let magic = u32::from_le_bytes(msg[0..4].try_into().expect("4 bytes"));
    if magic != MAGIC {
        return Err(Error::new(Der::Proto, format!("bad magic {magic:#010x}")));
    }
    let version = u16::from_le_bytes(msg[4..6].try_into().expect("2 bytes"));
    if version != PROTOCOL_VERSION {
        return Err(Error::new(
            Der::Proto,
            format!("protocol version {version} is not supported (this build speaks {PROTOCOL_VERSION})"),
        ));
    }
    let (payload, trailer) = msg.split_at(msg.len() - TRAILER_SIZE);
    let crc = u32::from_le_bytes(trailer.try_into().expect("4 bytes"));
    if crc != daos_types::csum::crc32c(payload) {
        return Err(Error::new(
            Der::Proto,
            "message checksum mismatch (truncated or corrupted)",
        ));
    }
    Ok(payload)
}

/// What can be salvaged from a request that failed to decode: enough to send an error reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRoute {
    /// Raw opcode.
    pub opcode: u16,
    /// RPC id to reply with.
    pub rpc_id: u64,
    /// Reply capacity the sender posted.
    pub reply_capacity: u32,
    /// Where to send the reply.
    pub sender: Vec<u8>,
}

/// Reads the routing fields of a request without trusting its CRC or version, so that a
/// malformed request can still get an error reply. `None` if even these are unreadable.
pub fn salvage_route(msg: &[u8]) -> Option<ReplyRoute> {
    let mut d = Decoder::new(msg);
    if d.u32("magic").ok()? != MAGIC {
        return None;
    }
    d.u16("version").ok()?;
    let opcode = d.u16("opcode").ok()?;
    let rpc_id = d.u64("rpc id").ok()?;
    let reply_capacity = d.u32("reply capacity").ok()?;
    d.u32("map version").ok()?;
    d.u64("hlc").ok()?;
    let sender = d.bytes(SENDER_LEN_MAX, "sender").ok()?.to_vec();
    if rpc_id & (1 << 63) != 0 || sender.len() < 4 {
        return None;
    }
    Some(ReplyRoute {
        opcode,
        rpc_id,
        reply_capacity,
        sender,
    })
}

/// Decodes a request header and returns it with a decoder positioned at the body.
///
/// Errors: `-DER_PROTO` for bad magic, version, CRC or truncation; `-DER_NOSYS` for an
/// unknown opcode.
pub fn decode_request(msg: &[u8]) -> Result<(RequestHeader, Decoder<'_>)> {
    let payload = check_frame(msg, REQUEST_FIXED)?;
    let mut d = Decoder::new(payload);
    d.u32("magic")?;
    d.u16("version")?;
    let raw_opcode = d.u16("opcode")?;
    let header = RequestHeader {
        opcode: Opcode::from_u16(raw_opcode)
            .ok_or_else(|| Error::new(Der::Nosys, format!("unknown opcode {raw_opcode}")))?,
        rpc_id: d.u64("rpc id")?,
        reply_capacity: d.u32("reply capacity")?,
        map_version: d.u32("map version")?,
        hlc: d.u64("hlc")?,
        sender: d.bytes(SENDER_LEN_MAX, "sender")?.to_vec(),
    };
    Ok((header, d))
}

/// Decodes a reply header and returns it with a decoder positioned at the body.
///
/// Errors: `-DER_PROTO` for bad magic, version, CRC or truncation.
pub fn decode_reply(msg: &[u8]) -> Result<(ReplyHeader, Decoder<'_>)> {
    let payload = check_frame(msg, REPLY_HEADER_SIZE)?;
    let mut d = Decoder::new(payload);
    d.u32("magic")?;
    d.u16("version")?;
    let header = ReplyHeader {
        opcode: d.u16("opcode")?,
        rpc_id: d.u64("rpc id")?,
        status: d.i32("status")?,
        map_version: d.u32("map version")?,
        hlc: d.u64("hlc")?,
    };
    Ok((header, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RequestHeader {
        RequestHeader {
            opcode: Opcode::ObjFetch,
            rpc_id: 42,
            reply_capacity: 4096,
            map_version: 3,
            hlc: 99,
            sender: vec![1, 2, 3, 4, 5, 6, 7, 8],
        }
    }

    #[test]
    fn request_round_trip_and_corruption() {
        let mut e = begin_request(&header());
        e.str("body");
        let msg = seal(e);
        let (decoded, mut d) = decode_request(&msg).unwrap();
        assert_eq!(decoded, header());
        assert_eq!(d.str(10, "body").unwrap(), "body");
        d.finish().unwrap();

        for cut in 0..msg.len() {
            assert_eq!(
                decode_request(&msg[..cut]).unwrap_err().der(),
                Der::Proto,
                "cut {cut}"
            );
        }
        for i in 0..msg.len() {
            let mut bad = msg.clone();
            bad[i] ^= 0x40;
            assert!(decode_request(&bad).is_err(), "flip at {i}");
        }
        // A truncated request can still be answered.
        let route = salvage_route(&msg[..msg.len() - 3]).unwrap();
        assert_eq!(route.rpc_id, 42);
    }

    #[test]
    fn other_versions_are_refused_with_proto() {
        let mut msg = seal(begin_request(&header()));
        msg[4] = 9;
        let err = decode_request(&msg).unwrap_err();
        assert_eq!(err.der(), Der::Proto);
        assert!(err.context().contains("version 9"));
    }

    #[test]
    fn unknown_opcode_is_nosys() {
        let mut e = begin_request(&header());
        e.as_mut_slice()[6..8].copy_from_slice(&999u16.to_le_bytes());
        assert_eq!(decode_request(&seal(e)).unwrap_err().der(), Der::Nosys);
    }
}
