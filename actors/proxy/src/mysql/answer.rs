//! Builds the statement results of one MySQL answer from its packets, for comparing the
//! source's answer with the shadow gateway's. Both are MySQL packets, so what is compared
//! is what a MySQL client would read from each, after the gateway's type mapping:
//!
//! - a column is a type class (integer, decimal, float, double, date, time, datetime,
//!   binary, text), not its exact MySQL type: MariaDB's `TEXT` is a `BLOB` column with a
//!   text charset where the gateway sends `VAR_STRING` for PostgreSQL's `text`, and
//!   `JSON` is text on MariaDB. Column names are not compared: the two databases name
//!   expressions differently (`COUNT(*)` and `count`);
//! - values are text: binary-protocol rows are decoded by their column types, and the
//!   fraction of a time value loses its trailing zeros (`DATETIME(6)` prints six digits,
//!   PostgreSQL only what it needs);
//! - an error is its errno (the gateway maps SQLSTATEs to MySQL's numbers), with the
//!   SQLSTATE and message shown;
//! - an OK is `OK <affected rows>`; a prepared statement's answer is `prepared`.

use crate::shadow::result::{Column, StmtEnd, StmtResult};
use molt_lms_wire::mysql::codec::{Reader, LENENC_NULL};
use molt_lms_wire::mysql::consts::capability::{CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41};
use molt_lms_wire::mysql::consts::header;
use molt_lms_wire::mysql::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA;
use molt_lms_wire::mysql::packet::HEADER_LEN;
use molt_lms_wire::mysql::translate::types::*;
use molt_lms_wire::mysql::ErrPacket;

/// Type classes, spelled as the PostgreSQL OIDs the comparison knows (700 and 701 are
/// compared with a float tolerance).
const INTEGER: u32 = 20;
const DECIMAL: u32 = 1700;
const FLOAT: u32 = 700;
const DOUBLE: u32 = 701;
const DATE: u32 = 1082;
const TIME: u32 = 1083;
const DATETIME: u32 = 1114;
const BINARY: u32 = 17;
const TEXT: u32 = 25;

/// MySQL's binary charset: a string column with it holds bytes.
const CHARSET_BINARY: u16 = 63;
/// An internal date type a server may still report; the type table does not map to it.
const MYSQL_TYPE_NEWDATE: u8 = 14;

/// A result column as the reader needs it.
#[derive(Debug, Clone, Copy)]
struct Col {
    code: u8,
    unsigned: bool,
    class: u32,
}

#[derive(Debug)]
enum State {
    /// Before a statement's first packet.
    Start,
    /// Reading `left` column definitions.
    Columns {
        left: u64,
    },
    /// The EOF after the definitions (without `CLIENT_DEPRECATE_EOF`).
    ColumnsEof,
    Rows,
    /// Skipping the rest of a prepared statement's answer: `left` packets.
    Prepared {
        left: u64,
    },
}

#[derive(Debug)]
pub(crate) struct MySqlAnswer {
    done: Vec<StmtResult>,
    current: StmtResult,
    cols: Vec<Col>,
    state: State,
    budget: usize,
    errors_only: bool,
    deprecate_eof: bool,
    cache_metadata: bool,
}

impl MySqlAnswer {
    /// A reader for a session that agreed `(caps, mariadb_caps)` with its client.
    pub(crate) fn new(budget: usize, errors_only: bool, (caps, mariadb_caps): (u32, u32)) -> Self {
        Self {
            done: Vec::new(),
            current: StmtResult::default(),
            cols: Vec::new(),
            state: State::Start,
            budget,
            errors_only,
            deprecate_eof: caps & CLIENT_DEPRECATE_EOF != 0,
            cache_metadata: mariadb_caps & MARIADB_CLIENT_CACHE_METADATA != 0,
        }
    }

    fn end(&mut self, end: StmtEnd) {
        let mut s = std::mem::take(&mut self.current);
        s.end = end;
        self.done.push(s);
        self.cols.clear();
        self.state = State::Start;
    }

    fn error(&mut self, packet: &[u8], payload: &[u8]) {
        let (code, message) = match ErrPacket::decode(payload, CLIENT_PROTOCOL_41) {
            Ok(e) => {
                let state = e
                    .sql_state
                    .map(|s| String::from_utf8_lossy(&s).into_owned())
                    .unwrap_or_default();
                (e.code.to_string(), format!("({state}) {}", e.message))
            }
            Err(_) => ("malformed".into(), "a malformed ERR packet".into()),
        };
        self.end(StmtEnd::Error {
            code,
            message,
            raw: packet.to_vec(),
        });
    }

    fn after_columns(&self) -> State {
        if self.deprecate_eof {
            State::Rows
        } else {
            State::ColumnsEof
        }
    }

    /// Accounts for one packet (header included) of the answer.
    pub(crate) fn observe_packet(&mut self, packet: &[u8]) {
        let payload = packet.get(HEADER_LEN..).unwrap_or_default();
        let first = payload.first().copied();
        match self.state {
            State::Start | State::Rows if first == Some(header::ERR) => self.error(packet, payload),
            State::Start if first == Some(header::OK) => match prepare_ok(payload) {
                Some((columns, params)) => {
                    let eofs = if self.deprecate_eof {
                        0
                    } else {
                        u64::from(columns > 0) + u64::from(params > 0)
                    };
                    let left = u64::from(columns) + u64::from(params) + eofs;
                    if left == 0 {
                        self.end(StmtEnd::Complete("prepared".into()));
                    } else {
                        self.state = State::Prepared { left };
                    }
                }
                None => {
                    let affected = Reader::new(&payload[1..], "OK").lenenc_int().unwrap_or(0);
                    self.end(StmtEnd::Complete(format!("OK {affected}")));
                }
            },
            State::Start => {
                let mut r = Reader::new(payload, "column count");
                let count = r.lenenc_int().unwrap_or(0);
                self.current.columns = Some(Vec::new());
                let defs_follow = !self.cache_metadata || r.u8() != Ok(0);
                self.state = if count == 0 || !defs_follow {
                    self.after_columns()
                } else {
                    State::Columns { left: count }
                };
            }
            State::Columns { left } => {
                let col = column(payload);
                if let Some(cols) = self.current.columns.as_mut() {
                    cols.push(Column {
                        name: String::new(),
                        type_id: col.class,
                    });
                }
                self.cols.push(col);
                self.state = match left - 1 {
                    0 => self.after_columns(),
                    left => State::Columns { left },
                };
            }
            State::ColumnsEof => self.state = State::Rows,
            State::Rows if first == Some(header::EOF) && payload.len() < MAX_ROW_END => {
                self.end(StmtEnd::Complete("rows".into()))
            }
            State::Rows => {
                if !self.errors_only {
                    let fields = row(payload, &self.cols);
                    self.current
                        .rows
                        .push(fields.iter().map(|f| f.as_deref()), self.budget);
                }
            }
            State::Prepared { left } => match left - 1 {
                0 => self.end(StmtEnd::Complete("prepared".into())),
                left => self.state = State::Prepared { left },
            },
        }
    }

    pub(crate) fn finish(&mut self) -> Vec<StmtResult> {
        let cur = std::mem::take(&mut self.current);
        if !cur.is_blank() {
            self.done.push(cur);
        }
        self.cols.clear();
        self.state = State::Start;
        std::mem::take(&mut self.done)
    }
}

impl crate::protocol::shadow::AnswerReader for MySqlAnswer {
    fn observe(&mut self, msg: &[u8]) {
        self.observe_packet(msg);
    }

    fn finish(&mut self) -> Vec<StmtResult> {
        MySqlAnswer::finish(self)
    }
}

/// An EOF, or an OK packet with the EOF header (`CLIENT_DEPRECATE_EOF`), ends rows; a
/// row never starts with 0xFE unless its first value is over 16 MiB, which shadowing
/// refuses.
const MAX_ROW_END: usize = 0xFF_FFFF;

/// `(columns, params)` of a `COM_STMT_PREPARE` answer's first packet: 12 bytes, the
/// filler byte 0.
fn prepare_ok(payload: &[u8]) -> Option<(u16, u16)> {
    if payload.len() != 12 || payload[9] != 0 {
        return None;
    }
    let columns = u16::from_le_bytes([payload[5], payload[6]]);
    let params = u16::from_le_bytes([payload[7], payload[8]]);
    (columns < 4096 && params < 4096).then_some((columns, params))
}

/// A column definition's type, unsigned flag and class.
fn column(payload: &[u8]) -> Col {
    let mut r = Reader::new(payload, "column definition");
    for _ in 0..6 {
        if r.lenenc_bytes().is_err() {
            return Col {
                code: MYSQL_TYPE_VAR_STRING,
                unsigned: false,
                class: TEXT,
            };
        }
    }
    let _fixed = r.lenenc_int();
    let charset = r.u16().unwrap_or(0);
    let _length = r.u32();
    let code = r.u8().unwrap_or(MYSQL_TYPE_VAR_STRING);
    let flags = r.u16().unwrap_or(0);
    let class = match code {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => INTEGER,
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => DECIMAL,
        MYSQL_TYPE_FLOAT => FLOAT,
        MYSQL_TYPE_DOUBLE => DOUBLE,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => DATE,
        MYSQL_TYPE_TIME => TIME,
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => DATETIME,
        MYSQL_TYPE_BIT => BINARY,
        MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_VARCHAR
            if charset == CHARSET_BINARY =>
        {
            BINARY
        }
        _ => TEXT,
    };
    Col {
        code,
        unsigned: flags & UNSIGNED_FLAG != 0,
        class,
    }
}

/// One row's values as text, whichever protocol carried it.
fn row(payload: &[u8], cols: &[Col]) -> Vec<Option<Vec<u8>>> {
    if payload.first() == Some(&0) {
        if let Some(fields) = binary_row(payload, cols) {
            return fields;
        }
    }
    text_row(payload, cols).unwrap_or_else(|| vec![Some(payload.to_vec())])
}

fn text_row(payload: &[u8], cols: &[Col]) -> Option<Vec<Option<Vec<u8>>>> {
    let mut r = Reader::new(payload, "row");
    let mut out = Vec::with_capacity(cols.len());
    for c in cols {
        if r.remaining().first() == Some(&LENENC_NULL) {
            r.u8().ok()?;
            out.push(None);
        } else {
            let v = r.lenenc_bytes().ok()?;
            out.push(Some(normalize(c.class, v.to_vec())));
        }
    }
    r.is_empty().then_some(out)
}

fn binary_row(payload: &[u8], cols: &[Col]) -> Option<Vec<Option<Vec<u8>>>> {
    let mut r = Reader::new(payload, "binary row");
    r.u8().ok()?;
    let bitmap = r.bytes((cols.len() + 7 + 2) / 8).ok()?.to_vec();
    let mut out = Vec::with_capacity(cols.len());
    for (i, c) in cols.iter().enumerate() {
        let bit = i + 2;
        if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
            out.push(None);
            continue;
        }
        let text = match c.code {
            MYSQL_TYPE_TINY => int(r.uint(1).ok()?, 1, c.unsigned),
            MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => int(r.uint(2).ok()?, 2, c.unsigned),
            MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => int(r.uint(4).ok()?, 4, c.unsigned),
            MYSQL_TYPE_LONGLONG => int(r.uint(8).ok()?, 8, c.unsigned),
            MYSQL_TYPE_FLOAT => f32::from_bits(r.u32().ok()?).to_string(),
            MYSQL_TYPE_DOUBLE => f64::from_bits(r.uint(8).ok()?).to_string(),
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => {
                let len = r.u8().ok()?;
                let b = r.bytes(usize::from(len)).ok()?;
                datetime(b, c.class == DATE)?
            }
            MYSQL_TYPE_TIME => {
                let len = r.u8().ok()?;
                time(r.bytes(usize::from(len)).ok()?)?
            }
            _ => {
                out.push(Some(normalize(c.class, r.lenenc_bytes().ok()?.to_vec())));
                continue;
            }
        };
        out.push(Some(text.into_bytes()));
    }
    r.is_empty().then_some(out)
}

/// An integer of `width` bytes as decimal text, signed unless `unsigned`.
fn int(v: u64, width: u32, unsigned: bool) -> String {
    if unsigned {
        return v.to_string();
    }
    let shift = 64 - 8 * width;
    (((v << shift) as i64) >> shift).to_string()
}

fn datetime(b: &[u8], date_only: bool) -> Option<String> {
    let mut v = [0u8; 11];
    v.get_mut(..b.len())?.copy_from_slice(b);
    let year = u16::from_le_bytes([v[0], v[1]]);
    let mut s = format!("{year:04}-{:02}-{:02}", v[2], v[3]);
    if !date_only {
        s.push_str(&format!(" {:02}:{:02}:{:02}", v[4], v[5], v[6]));
        let micros = u32::from_le_bytes([v[7], v[8], v[9], v[10]]);
        push_fraction(&mut s, micros);
    }
    Some(s)
}

fn time(b: &[u8]) -> Option<String> {
    let mut v = [0u8; 12];
    v.get_mut(..b.len())?.copy_from_slice(b);
    let days = u32::from_le_bytes([v[1], v[2], v[3], v[4]]);
    let hours = u64::from(days) * 24 + u64::from(v[5]);
    let sign = if v[0] == 1 { "-" } else { "" };
    let mut s = format!("{sign}{hours:02}:{:02}:{:02}", v[6], v[7]);
    push_fraction(&mut s, u32::from_le_bytes([v[8], v[9], v[10], v[11]]));
    Some(s)
}

fn push_fraction(s: &mut String, micros: u32) {
    if micros != 0 {
        let f = format!("{micros:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
}

/// Text values of time classes lose trailing fractional zeros (and a bare dot).
fn normalize(class: u32, mut v: Vec<u8>) -> Vec<u8> {
    if matches!(class, TIME | DATETIME) && v.contains(&b'.') {
        while v.last() == Some(&b'0') {
            v.pop();
        }
        if v.last() == Some(&b'.') {
            v.pop();
        }
    }
    v
}

#[cfg(test)]
mod tests;
