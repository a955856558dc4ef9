//! The daos-rs wire protocol between clients, engines and the control plane's engine calls.
//! Pure logic: no I/O, no `unsafe`.
//!
//! Every message is a header ([`header`]), a body (one of [`msg`]) and a CRC-32C trailer. The
//! protocol is versioned ([`header::PROTOCOL_VERSION`]); peers of another version get
//! `-DER_PROTO`. Decoders are bounded: lengths are checked against the bytes present before
//! anything is allocated, so hostile input costs at most its own size. Bulk data never travels
//! in messages beyond [`msg::INLINE_DATA_MAX`]: larger payloads are described by
//! [`msg::BulkDesc`] and moved by RMA.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod header;
pub mod msg;
pub mod opcode;

pub use header::{ReplyHeader, RequestHeader, MESSAGE_SIZE_MAX, PROTOCOL_VERSION};
pub use opcode::Opcode;

use daos_types::codec::Wire;

/// Encodes a whole request.
pub fn encode_request(header: &RequestHeader, body: &impl Wire) -> Vec<u8> {
    let mut e = header::begin_request(header);
    body.encode(&mut e);
    header::seal(e)
}

/// Encodes a whole reply.
pub fn encode_reply(header: &ReplyHeader, body: &impl Wire) -> Vec<u8> {
    let mut e = header::begin_reply(header);
    body.encode(&mut e);
    header::seal(e)
}

/// Decodes a body that must fill the rest of the message.
///
/// Errors: `-DER_PROTO` on malformed or trailing bytes (and any field-level error).
pub fn decode_body<T: Wire>(mut d: daos_types::codec::Decoder<'_>) -> daos_types::Result<T> {
    let body = T::decode(&mut d)?;
    d.finish()?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use daos_types::codec::Decoder;
    use daos_types::{Der, ObjectId, Uuid};
    use msg::*;

    fn update() -> ObjUpdateReq {
        ObjUpdateReq {
            target: ObjTarget {
                pool: Uuid::new_v4(),
                cont: Uuid::new_v4(),
                handle: Uuid::new_v4(),
                oid: ObjectId::new(1, 2),
                shard: 3,
            },
            epoch: 0,
            flags: 2,
            dkey: Key(b"dkey".to_vec()),
            iods: vec![IodDesc {
                akey: Key(b"akey".to_vec()),
                kind: IOD_ARRAY,
                size: 1,
                flags: 0,
                recxs: vec![Recx { idx: 0, nr: 4 }],
            }],
            csum_chunk: 32768,
            csums: vec![vec![0xdead]],
            data: Payload::Inline(b"data".to_vec()),
            dtx: Some(daos_types::dtx::DtxInfo {
                id: Uuid::new_v4(),
                map_version: 2,
                leader: daos_types::dtx::DtxPeer {
                    rank: 1,
                    target: 0,
                    shard: 3,
                },
                peers: Vec::new(),
            }),
            ec_guard: Some(vec![EcExpect {
                akey: Key(b"akey".to_vec()),
                recxs: vec![Recx { idx: 8, nr: 4 }],
                newest: vec![11],
            }]),
        }
    }

    fn header() -> RequestHeader {
        RequestHeader {
            opcode: Opcode::ObjUpdate,
            rpc_id: 7,
            reply_capacity: 512,
            map_version: 1,
            hlc: 5,
            sender: vec![9; 16],
        }
    }

    #[test]
    fn update_round_trips() {
        let request = update();
        let msg = encode_request(&header(), &request);
        let (h, d) = header::decode_request(&msg).unwrap();
        assert_eq!(h, header());
        assert_eq!(decode_body::<ObjUpdateReq>(d).unwrap(), request);
    }

    #[test]
    fn oversize_key_is_key2big() {
        let mut req = update();
        req.dkey = Key(vec![b'k'; KEY_SIZE_MAX + 1]);
        let msg = encode_request(&header(), &req);
        let (_, d) = header::decode_request(&msg).unwrap();
        assert_eq!(
            decode_body::<ObjUpdateReq>(d).unwrap_err().der(),
            Der::Key2big
        );
    }

    #[test]
    fn every_truncated_body_is_refused() {
        let mut e = daos_types::codec::Encoder::new();
        update().encode(&mut e);
        let body = e.finish();
        for cut in 0..body.len() {
            let err = decode_body::<ObjUpdateReq>(Decoder::new(&body[..cut])).unwrap_err();
            assert!(
                matches!(err.der(), Der::Proto | Der::Inval),
                "cut {cut}: {err}"
            );
        }
    }
}
