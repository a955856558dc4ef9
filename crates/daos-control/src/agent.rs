//! The client ↔ agent protocol over the agent's Unix socket (DAOS uses dRPC here).
//!
//! Frames: request `method u32 | length u32 | protobuf`, reply `status i32 | length u32 |
//! protobuf`, little-endian. `status` is 0 or a negative DER code. Frames are bounded by
//! [`FRAME_SIZE_MAX`].

use daos_types::{Der, Error, Result};
use prost::Message;

/// Largest frame body, bytes.
pub const FRAME_SIZE_MAX: usize = 4 << 20;

/// `GetAttachInfo`: the system's ranks and fabric addresses.
pub const METHOD_GET_ATTACH_INFO: u32 = 1;
/// `PoolFind`: a pool's UUID and service ranks from its label or UUID.
pub const METHOD_POOL_FIND: u32 = 2;

/// Encodes a request frame.
pub fn encode_request(method: u32, body: &impl Message) -> Vec<u8> {
    let bytes = body.encode_to_vec();
    let mut out = Vec::with_capacity(8 + bytes.len());
    out.extend_from_slice(&method.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&bytes);
    out
}

/// Encodes a reply frame.
pub fn encode_reply(status: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits an 8-byte frame head into `(method or status, length)`.
///
/// Errors: `-DER_PROTO` for an oversized frame.
pub fn decode_head(head: [u8; 8]) -> Result<(u32, usize)> {
    let first = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(head[4..].try_into().expect("4 bytes")) as usize;
    if len > FRAME_SIZE_MAX {
        return Err(Error::new(
            Der::Proto,
            format!("agent frame of {len} bytes"),
        ));
    }
    Ok((first, len))
}

/// Sends one request over a blocking socket and waits for the reply body.
///
/// Errors: `-DER_AGENT_COMM` on socket failures; the agent's status when negative.
pub fn call_blocking<T: Message + Default>(
    stream: &mut std::os::unix::net::UnixStream,
    method: u32,
    body: &impl Message,
) -> Result<T> {
    use std::io::{Read, Write};
    let comm =
        |e: std::io::Error| Error::new(Der::AgentComm, format!("talking to daos_agent: {e}"));
    stream
        .write_all(&encode_request(method, body))
        .map_err(comm)?;
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).map_err(comm)?;
    let (status, len) = decode_head(head)?;
    let mut reply = vec![0u8; len];
    stream.read_exact(&mut reply).map_err(comm)?;
    let status = status as i32;
    if status != 0 {
        let der = Der::from_value(-status).unwrap_or(Der::Misc);
        let message = String::from_utf8_lossy(&reply).into_owned();
        return Err(Error::new(der, message));
    }
    T::decode(reply.as_slice()).map_err(|e| Error::new(Der::Proto, format!("bad agent reply: {e}")))
}
