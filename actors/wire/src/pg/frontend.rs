//! Messages a client (frontend) sends: the untyped startup packets, password/SASL
//! responses, and the typed messages the relay inspects.

use super::codec::{cstr, cstr_bytes, put_cstr, MAX_STARTUP_LEN};
use super::error::ProtocolError;

/// `SSLRequest` code (protocol-flow.html#PROTOCOL-FLOW-SSL).
pub const SSL_REQUEST: u32 = 80_877_103;
/// `GSSENCRequest` code.
pub const GSSENC_REQUEST: u32 = 80_877_104;
/// `CancelRequest` code.
pub const CANCEL_REQUEST: u32 = 80_877_102;
/// Protocol 3.0.
pub const PROTOCOL_V3: u32 = 196_608;

/// Every typed message tag a frontend may send after start-up.
pub const TAGS: &[u8] = b"BCcdDEFfHPpQSX";

/// The first, untyped packet of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket {
    SslRequest,
    GssEncRequest,
    Cancel {
        pid: i32,
        secret: i32,
    },
    /// Protocol 3.x start-up with its parameters in the order the client sent them.
    Startup {
        params: Vec<(String, String)>,
    },
}

/// Decodes a startup packet at the start of `buf`: `Ok(None)` until it is complete.
pub fn decode_startup(buf: &[u8]) -> Result<Option<(StartupPacket, usize)>, ProtocolError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if !(8..=MAX_STARTUP_LEN).contains(&len) {
        return Err(ProtocolError::BadStartupLength(len));
    }
    if buf.len() < len {
        return Ok(None);
    }
    let code = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let body = &buf[8..len];
    let packet = match code {
        SSL_REQUEST => StartupPacket::SslRequest,
        GSSENC_REQUEST => StartupPacket::GssEncRequest,
        CANCEL_REQUEST => {
            if body.len() != 8 {
                return Err(ProtocolError::Malformed("CancelRequest"));
            }
            StartupPacket::Cancel {
                pid: i32::from_be_bytes([body[0], body[1], body[2], body[3]]),
                secret: i32::from_be_bytes([body[4], body[5], body[6], body[7]]),
            }
        }
        c if c >> 16 == 3 => StartupPacket::Startup {
            params: startup_params(body)?,
        },
        c => {
            return Err(ProtocolError::UnsupportedProtocol {
                major: (c >> 16) as u16,
                minor: (c & 0xffff) as u16,
            })
        }
    };
    Ok(Some((packet, len)))
}

/// Longest parameter name an error repeats back.
const MAX_NAME_SHOWN: usize = 64;

fn startup_params(mut body: &[u8]) -> Result<Vec<(String, String)>, ProtocolError> {
    let mut params = Vec::new();
    loop {
        let (name, n) = cstr(body).ok_or(ProtocolError::Malformed("StartupMessage"))?;
        body = &body[n..];
        if name.is_empty() {
            break;
        }
        let (value, n) = cstr(body).ok_or(ProtocolError::Malformed("StartupMessage"))?;
        body = &body[n..];
        if params.iter().any(|(n, _)| n == name) {
            let shown: String = name.chars().take(MAX_NAME_SHOWN).collect();
            return Err(ProtocolError::DuplicateStartupParameter(shown));
        }
        params.push((name.to_owned(), value.to_owned()));
    }
    Ok(params)
}

/// Encodes a protocol 3.0 StartupMessage with `params` in the given order.
pub fn startup_message(params: &[(String, String)]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0];
    out.extend_from_slice(&PROTOCOL_V3.to_be_bytes());
    for (k, v) in params {
        put_cstr(&mut out, k);
        put_cstr(&mut out, v);
    }
    out.push(0);
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Encodes an SSLRequest.
pub fn ssl_request() -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&8u32.to_be_bytes());
    out[4..].copy_from_slice(&SSL_REQUEST.to_be_bytes());
    out
}

/// Encodes a CancelRequest for a backend's key.
pub fn cancel_request(pid: i32, secret: i32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&16u32.to_be_bytes());
    out[4..8].copy_from_slice(&CANCEL_REQUEST.to_be_bytes());
    out[8..12].copy_from_slice(&pid.to_be_bytes());
    out[12..].copy_from_slice(&secret.to_be_bytes());
    out
}

/// Body of a SASLInitialResponse: `(mechanism, client-first-message)`.
pub fn sasl_initial_response(body: &[u8]) -> Result<(&str, &[u8]), ProtocolError> {
    let bad = ProtocolError::Malformed("SASLInitialResponse");
    let (mech, n) = cstr(body).ok_or(bad.clone())?;
    let rest = &body[n..];
    if rest.len() < 4 {
        return Err(bad);
    }
    let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let data = &rest[4..];
    if len < 0 || len as usize != data.len() {
        return Err(bad);
    }
    Ok((mech, data))
}

// Query texts and statement names below are bytes in the session's client_encoding,
// which need not be UTF-8: a client on LATIN1 sends 'é' as one byte 0xE9. Rejecting
// them would close a valid session; the caller decides how to show them.

/// The query text of a simple `Query` body.
pub fn query_text(body: &[u8]) -> Option<&[u8]> {
    cstr_bytes(body).map(|(s, _)| s)
}

/// `(statement name, query text)` of a `Parse` body.
pub fn parse_statement(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, n) = cstr_bytes(body)?;
    let (query, _) = cstr_bytes(&body[n..])?;
    Some((name, query))
}

/// The statement name a `Bind` body binds (empty for the unnamed statement).
pub fn bound_statement(body: &[u8]) -> Option<&[u8]> {
    let (_portal, n) = cstr_bytes(body)?;
    cstr_bytes(&body[n..]).map(|(s, _)| s)
}

/// The name of the statement a `Close` body closes, if it closes a statement ('S').
pub fn closed_statement(body: &[u8]) -> Option<&[u8]> {
    match body.split_first() {
        Some((b'S', rest)) => cstr_bytes(rest).map(|(s, _)| s),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
