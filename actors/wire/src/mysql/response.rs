//! The generic server responses: OK, ERR and EOF packets, and the checks a relay needs
//! to find where a response ends and what transaction state it reports.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_response_packets.html>;
//! MariaDB: <https://mariadb.com/docs/server/reference/clientserver-protocol/4-server-response-packets>

use super::codec::{put_lenenc_int, put_lenenc_str, Reader};
use super::consts::capability::{
    CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41, CLIENT_SESSION_TRACK, CLIENT_TRANSACTIONS,
};
use super::consts::status::SERVER_SESSION_STATE_CHANGED;
use super::consts::{error_code, header};
use super::error::MysqlError;
use super::packet::MAX_PAYLOAD;

/// An EOF packet is shorter than this; a 0xFE-led row or lenenc value is not.
pub const EOF_MAX_LEN: usize = 8;
/// Marks the SQLSTATE in an ERR packet.
pub const SQL_STATE_MARKER: u8 = b'#';

const OK: &str = "OK packet";
const ERR: &str = "ERR packet";
const EOF: &str = "EOF packet";

/// `OK_Packet`: a command succeeded, or (header 0xFE) a result set ended under
/// `CLIENT_DEPRECATE_EOF`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OkPacket {
    /// Sent with the 0xFE header, in place of an EOF packet.
    pub eof_header: bool,
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status_flags: u16,
    pub warnings: u16,
    /// Human-readable status ("Rows matched: 1  Changed: 1  Warnings: 0").
    pub info: Vec<u8>,
    /// The session-state-change block, unparsed; only with `CLIENT_SESSION_TRACK` and
    /// `SERVER_SESSION_STATE_CHANGED`.
    pub session_state: Vec<u8>,
}

impl OkPacket {
    /// Decodes an OK payload under the negotiated capabilities. The info string is
    /// length-encoded and may be absent, whatever `CLIENT_SESSION_TRACK` says: MySQL's
    /// docs call it `string<EOF>` without that flag, but MySQL and MariaDB servers both
    /// send it length-encoded, only when non-empty, and their clients read it so.
    pub fn decode(payload: &[u8], caps: u32) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, OK);
        let eof_header = match r.u8()? {
            header::OK => false,
            header::EOF => true,
            _ => return Err(r.malformed()),
        };
        let affected_rows = r.lenenc_int()?;
        let last_insert_id = r.lenenc_int()?;
        let (status_flags, warnings) = if caps & CLIENT_PROTOCOL_41 != 0 {
            (r.u16()?, r.u16()?)
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            (r.u16()?, 0)
        } else {
            (0, 0)
        };
        let info = if r.is_empty() {
            Vec::new()
        } else {
            r.lenenc_bytes()?.to_vec()
        };
        let tracks_state =
            caps & CLIENT_SESSION_TRACK != 0 && status_flags & SERVER_SESSION_STATE_CHANGED != 0;
        let session_state = if tracks_state && !r.is_empty() {
            r.lenenc_bytes()?.to_vec()
        } else {
            Vec::new()
        };
        Ok(Self {
            eof_header,
            affected_rows,
            last_insert_id,
            status_flags,
            warnings,
            info,
            session_state,
        })
    }

    /// Appends the payload as a server would send it under `caps`.
    pub fn encode(&self, out: &mut Vec<u8>, caps: u32) {
        out.push(if self.eof_header {
            header::EOF
        } else {
            header::OK
        });
        put_lenenc_int(out, self.affected_rows);
        put_lenenc_int(out, self.last_insert_id);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            out.extend_from_slice(&self.status_flags.to_le_bytes());
            out.extend_from_slice(&self.warnings.to_le_bytes());
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            out.extend_from_slice(&self.status_flags.to_le_bytes());
        }
        let tracks_state = caps & CLIENT_SESSION_TRACK != 0
            && self.status_flags & SERVER_SESSION_STATE_CHANGED != 0;
        if tracks_state || !self.info.is_empty() {
            put_lenenc_str(out, &self.info);
        }
        if tracks_state {
            put_lenenc_str(out, &self.session_state);
        }
    }
}

/// `ERR_Packet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrPacket {
    pub code: u16,
    /// Absent before capabilities are agreed (an ERR in place of the greeting) and from
    /// pre-4.1 peers.
    pub sql_state: Option<[u8; 5]>,
    /// The server writes it in `character_set_results`; bytes that are not UTF-8 are
    /// replaced when decoding.
    pub message: String,
}

impl ErrPacket {
    pub fn new(code: u16, sql_state: [u8; 5], message: impl Into<String>) -> Self {
        Self {
            code,
            sql_state: Some(sql_state),
            message: message.into(),
        }
    }

    /// Decodes an ERR payload. The SQLSTATE is read when `CLIENT_PROTOCOL_41` is set and
    /// the `#` marker is there, as libmysql does.
    pub fn decode(payload: &[u8], caps: u32) -> Result<Self, MysqlError> {
        let mut r = Reader::new(payload, ERR);
        if r.u8()? != header::ERR {
            return Err(r.malformed());
        }
        let code = r.u16()?;
        let sql_state =
            if caps & CLIENT_PROTOCOL_41 != 0 && r.remaining().first() == Some(&SQL_STATE_MARKER) {
                r.u8()?;
                Some(r.array()?)
            } else {
                None
            };
        let message = String::from_utf8_lossy(r.rest()).into_owned();
        Ok(Self {
            code,
            sql_state,
            message,
        })
    }

    /// Appends the payload. Under `CLIENT_PROTOCOL_41` a missing SQLSTATE is sent as
    /// `HY000`; pass `caps` 0 before the handshake response, when none may be sent.
    pub fn encode(&self, out: &mut Vec<u8>, caps: u32) {
        out.push(header::ERR);
        out.extend_from_slice(&self.code.to_le_bytes());
        if caps & CLIENT_PROTOCOL_41 != 0 {
            out.push(SQL_STATE_MARKER);
            out.extend_from_slice(&self.sql_state.unwrap_or(error_code::STATE_GENERAL));
        }
        out.extend_from_slice(self.message.as_bytes());
    }
}

impl From<&MysqlError> for ErrPacket {
    /// The ERR a client is sent when its connection ends on this error.
    fn from(e: &MysqlError) -> Self {
        Self::new(e.code(), e.sql_state(), e.to_string())
    }
}

/// `EOF_Packet` (without `CLIENT_DEPRECATE_EOF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EofPacket {
    pub warnings: u16,
    pub status_flags: u16,
}

impl EofPacket {
    /// Decodes an EOF payload; before 4.1 it is the header byte alone.
    pub fn decode(payload: &[u8], caps: u32) -> Result<Self, MysqlError> {
        if !is_eof(payload) {
            return Err(MysqlError::Malformed(EOF));
        }
        let mut r = Reader::new(payload, EOF);
        r.u8()?;
        if caps & CLIENT_PROTOCOL_41 == 0 {
            return Ok(Self::default());
        }
        Ok(Self {
            warnings: r.u16()?,
            status_flags: r.u16()?,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>, caps: u32) {
        out.push(header::EOF);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            out.extend_from_slice(&self.warnings.to_le_bytes());
            out.extend_from_slice(&self.status_flags.to_le_bytes());
        }
    }
}

/// True for an EOF packet: 0xFE and shorter than 9 bytes. A text row whose first column
/// is 2^24 bytes or longer also starts with 0xFE (its lenenc prefix), but is longer.
pub fn is_eof(payload: &[u8]) -> bool {
    payload.first() == Some(&header::EOF) && payload.len() <= EOF_MAX_LEN
}

/// True for the packet that ends a result set's rows: an EOF packet, or under
/// `CLIENT_DEPRECATE_EOF` an OK packet with the 0xFE header. That OK may pass 8 bytes
/// (info, session state), but a row led by 0xFE needs a 2^24-byte column, so its
/// payload is at least [`MAX_PAYLOAD`]. Call it on rows only: 0xFE during
/// authentication is an auth switch.
pub fn ends_rows(payload: &[u8], caps: u32) -> bool {
    if caps & CLIENT_DEPRECATE_EOF != 0 {
        payload.first() == Some(&header::EOF) && payload.len() < MAX_PAYLOAD
    } else {
        is_eof(payload)
    }
}

/// The server status of an OK or EOF packet (an OK led by 0xFE under
/// `CLIENT_DEPRECATE_EOF`), read without allocating; `None` for any other packet, or
/// when the capabilities leave the status out. Call it only where a response may end:
/// a binary-protocol row also starts with 0x00. The proxy reads the transaction state
/// from `SERVER_STATUS_IN_TRANS` here.
pub fn status_flags(payload: &[u8], caps: u32) -> Option<u16> {
    let mut r = Reader::new(payload, OK);
    match r.u8().ok()? {
        header::OK => {}
        header::EOF if caps & CLIENT_DEPRECATE_EOF != 0 && payload.len() < MAX_PAYLOAD => {}
        header::EOF if is_eof(payload) => {
            return if caps & CLIENT_PROTOCOL_41 != 0 {
                r.u16().ok()?;
                r.u16().ok()
            } else {
                None
            };
        }
        _ => return None,
    }
    r.lenenc_int().ok()?;
    r.lenenc_int().ok()?;
    if caps & (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS) != 0 {
        r.u16().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
