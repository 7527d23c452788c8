//! Messages a server (backend) sends: the ones the proxy builds itself when it answers a
//! client directly, and field access for the ones the relay inspects.

use super::codec::{cstr, cstr_bytes, put_cstr, put_message};

/// Authentication request codes (`AuthenticationXXX` messages).
pub mod auth {
    pub const OK: i32 = 0;
    pub const CLEARTEXT: i32 = 3;
    pub const MD5: i32 = 5;
    pub const SASL: i32 = 10;
    pub const SASL_CONTINUE: i32 = 11;
    pub const SASL_FINAL: i32 = 12;
}

/// Severity of an ErrorResponse the proxy builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Fatal,
}

/// An ErrorResponse with severity, SQLSTATE and message (fields S, V, C, M).
pub fn error_response(out: &mut Vec<u8>, severity: Severity, code: &str, message: &str) {
    let sev = match severity {
        Severity::Error => "ERROR",
        Severity::Fatal => "FATAL",
    };
    put_message(out, b'E', |o| {
        for (field, value) in [(b'S', sev), (b'V', sev), (b'C', code), (b'M', message)] {
            o.push(field);
            put_cstr(o, value);
        }
        o.push(0);
    });
}

/// An `AuthenticationXXX` message with an extra payload.
pub fn authentication(out: &mut Vec<u8>, code: i32, payload: &[u8]) {
    put_message(out, b'R', |o| {
        o.extend_from_slice(&code.to_be_bytes());
        o.extend_from_slice(payload);
    });
}

/// AuthenticationSASL offering the given mechanisms.
pub fn authentication_sasl(out: &mut Vec<u8>, mechanisms: &[&str]) {
    let mut payload = Vec::new();
    for m in mechanisms {
        put_cstr(&mut payload, m);
    }
    payload.push(0);
    authentication(out, auth::SASL, &payload);
}

/// BackendKeyData: the key a client later uses to cancel a query.
pub fn backend_key_data(out: &mut Vec<u8>, pid: i32, secret: i32) {
    put_message(out, b'K', |o| {
        o.extend_from_slice(&pid.to_be_bytes());
        o.extend_from_slice(&secret.to_be_bytes());
    });
}

/// ReadyForQuery with a transaction status byte.
pub fn ready_for_query(out: &mut Vec<u8>, status: u8) {
    put_message(out, b'Z', |o| o.push(status));
}

/// `(SQLSTATE, message)` of an ErrorResponse or NoticeResponse body.
pub fn error_fields(body: &[u8]) -> (String, String) {
    let (mut code, mut message) = (String::new(), String::new());
    let mut rest = body;
    while let Some((&field, tail)) = rest.split_first() {
        if field == 0 {
            break;
        }
        // In the client's encoding (a localized message need not be UTF-8).
        let Some((value, n)) = cstr_bytes(tail) else {
            break;
        };
        match field {
            b'C' => code = String::from_utf8_lossy(value).into_owned(),
            b'M' => message = String::from_utf8_lossy(value).into_owned(),
            _ => {}
        }
        rest = &tail[n..];
    }
    (code, message)
}

/// `(name, value)` of a ParameterStatus body.
pub fn parameter_status(body: &[u8]) -> Option<(&str, &str)> {
    let (name, n) = cstr(body)?;
    let (value, _) = cstr(&body[n..])?;
    Some((name, value))
}

/// `(name, type OID)` of each field of a RowDescription body.
pub fn row_description(body: &[u8]) -> Option<Vec<(String, u32)>> {
    let n = i16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    let mut rest = &body[2..];
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        // A column name is in the client's encoding, which need not be UTF-8.
        let (name, len) = cstr_bytes(rest)?;
        // table OID (4), column number (2), then the type OID.
        let oid = u32::from_be_bytes(rest.get(len + 6..len + 10)?.try_into().ok()?);
        out.push((String::from_utf8_lossy(name).into_owned(), oid));
        rest = rest.get(len + 18..)?;
    }
    Some(out)
}

/// The fields of a DataRow body, `None` for NULL; `None` overall when malformed.
pub fn data_row_fields(body: &[u8]) -> Option<Vec<Option<&[u8]>>> {
    let n = i16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    let mut rest = &body[2..];
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        rest = &rest[4..];
        if len < 0 {
            out.push(None);
        } else {
            let len = len as usize;
            out.push(Some(rest.get(..len)?));
            rest = &rest[len..];
        }
    }
    Some(out)
}

/// `(code, payload)` of an Authentication body.
pub fn authentication_code(body: &[u8]) -> Option<(i32, &[u8])> {
    let code = i32::from_be_bytes(body.get(..4)?.try_into().ok()?);
    Some((code, &body[4..]))
}

#[cfg(test)]
mod tests;
