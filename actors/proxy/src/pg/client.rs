//! A PostgreSQL session the proxy drives itself, one message at a time: what serves
//! MySQL clients from the PostgreSQL-protocol target (`mysql::gateway`). Written on the
//! project's own codecs rather than tokio-postgres because the gateway needs what that
//! client hides: each ReadyForQuery's transaction status (a MySQL session's
//! `SERVER_STATUS_IN_TRANS`, which decides where a cutover may hold it), the simple
//! protocol's RowDescription with type OIDs (multi-statement `COM_QUERY` in one round
//! trip, typed), and result formats chosen per column.

use crate::pg::io::{read_message_within, ReadError};
use bytes::BytesMut;
use molt_lms_common::stream::Stream;
use molt_lms_wire::pg::backend as be;
use molt_lms_wire::pg::codec::{cstr, put_cstr, put_message};
use molt_lms_wire::pg::tag::{backend as tag_be, frontend as fe, tx_status};
use tokio::io::AsyncWriteExt;

/// The largest message the gateway reads from the target (a row of a result set).
const MAX_MESSAGE: usize = 1 << 30;

/// One message from the server, decoded as far as the gateway needs.
#[derive(Debug)]
pub(crate) enum PgMsg {
    /// `(name, type OID)` per column.
    RowDescription(Vec<(String, u32)>),
    /// The raw DataRow body; `be::data_row_fields` reads it.
    DataRow(BytesMut),
    /// The command tag (`INSERT 0 1`, `SELECT 3`, …).
    CommandComplete(String),
    EmptyQuery,
    /// SQLSTATE and message.
    Error {
        code: String,
        message: String,
    },
    ParseComplete,
    BindComplete,
    CloseComplete,
    ParameterDescription(Vec<u32>),
    NoData,
    PortalSuspended,
    /// The answer is over; the session's transaction status.
    Ready(TxStatus),
    /// The server wants COPY data, which the gateway never sends.
    CopyIn,
    /// Notices, parameter changes, notifications: nothing a MySQL client is told.
    Other,
}

/// A ReadyForQuery's transaction status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxStatus {
    Idle,
    InTransaction,
    Failed,
}

/// A logged-in session on a PostgreSQL-protocol database.
pub(crate) struct PgClient {
    stream: Stream,
    buf: BytesMut,
    /// Requests written but not yet sent.
    out: Vec<u8>,
}

impl PgClient {
    pub(crate) fn new(stream: Stream) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(8192),
            out: Vec::with_capacity(1024),
        }
    }

    /// Queues a simple-protocol Query.
    pub(crate) fn query(&mut self, sql: &str) {
        put_message(&mut self.out, fe::QUERY, |o| put_cstr(o, sql));
    }

    /// Queues Parse of `sql` as the statement `name`, with no parameter types given (the
    /// server infers them), and a Describe of it.
    pub(crate) fn parse_describe(&mut self, name: &str, sql: &str) {
        put_message(&mut self.out, fe::PARSE, |o| {
            put_cstr(o, name);
            put_cstr(o, sql);
            o.extend_from_slice(&0i16.to_be_bytes());
        });
        put_message(&mut self.out, fe::DESCRIBE, |o| {
            o.push(molt_lms_wire::pg::tag::target::STATEMENT);
            put_cstr(o, name);
        });
    }

    /// Queues Bind of the statement `name` to the unnamed portal with parameters in text
    /// format (`None`: NULL) and results in the formats given (0 text, 1 binary), then
    /// Execute of all its rows.
    pub(crate) fn bind_execute(&mut self, name: &str, params: &[Option<Vec<u8>>], formats: &[i16]) {
        put_message(&mut self.out, fe::BIND, |o| {
            put_cstr(o, "");
            put_cstr(o, name);
            o.extend_from_slice(&0i16.to_be_bytes());
            o.extend_from_slice(&(params.len() as i16).to_be_bytes());
            for p in params {
                match p {
                    None => o.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        o.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        o.extend_from_slice(v);
                    }
                }
            }
            o.extend_from_slice(&(formats.len() as i16).to_be_bytes());
            for f in formats {
                o.extend_from_slice(&f.to_be_bytes());
            }
        });
        put_message(&mut self.out, fe::EXECUTE, |o| {
            put_cstr(o, "");
            o.extend_from_slice(&0i32.to_be_bytes());
        });
    }

    /// Queues Close of the statement `name`.
    pub(crate) fn close_statement(&mut self, name: &str) {
        put_message(&mut self.out, fe::CLOSE, |o| {
            o.push(molt_lms_wire::pg::tag::target::STATEMENT);
            put_cstr(o, name);
        });
    }

    /// Queues CopyFail: the gateway has no COPY data to give a server that asks for it.
    pub(crate) fn copy_fail(&mut self, why: &str) {
        put_message(&mut self.out, fe::COPY_FAIL, |o| put_cstr(o, why));
    }

    /// Queues Sync, which ends an extended-protocol request.
    pub(crate) fn sync(&mut self) {
        put_message(&mut self.out, fe::SYNC, |_| {});
    }

    /// Sends what is queued.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// The next message of the answer.
    pub(crate) async fn next(&mut self) -> Result<PgMsg, ReadError> {
        let (tag, body) = read_message_within(&mut self.stream, &mut self.buf, MAX_MESSAGE).await?;
        Ok(decode(tag, body))
    }

    /// Ends the session politely.
    pub(crate) async fn terminate(mut self) {
        put_message(&mut self.out, fe::TERMINATE, |_| {});
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }
}

fn decode(tag: u8, body: BytesMut) -> PgMsg {
    match tag {
        tag_be::ROW_DESCRIPTION => {
            PgMsg::RowDescription(be::row_description(&body).unwrap_or_default())
        }
        tag_be::DATA_ROW => PgMsg::DataRow(body),
        tag_be::COMMAND_COMPLETE => {
            PgMsg::CommandComplete(cstr(&body).map(|(s, _)| s.to_owned()).unwrap_or_default())
        }
        tag_be::EMPTY_QUERY_RESPONSE => PgMsg::EmptyQuery,
        tag_be::ERROR_RESPONSE => {
            let (code, message) = be::error_fields(&body);
            PgMsg::Error { code, message }
        }
        tag_be::PARSE_COMPLETE => PgMsg::ParseComplete,
        tag_be::BIND_COMPLETE => PgMsg::BindComplete,
        tag_be::CLOSE_COMPLETE => PgMsg::CloseComplete,
        tag_be::PARAMETER_DESCRIPTION => PgMsg::ParameterDescription(parameter_types(&body)),
        tag_be::NO_DATA => PgMsg::NoData,
        tag_be::PORTAL_SUSPENDED => PgMsg::PortalSuspended,
        tag_be::COPY_IN_RESPONSE => PgMsg::CopyIn,
        tag_be::READY_FOR_QUERY => PgMsg::Ready(match body.first().copied() {
            Some(tx_status::IN_TRANSACTION) => TxStatus::InTransaction,
            Some(tx_status::FAILED) => TxStatus::Failed,
            _ => TxStatus::Idle,
        }),
        _ => PgMsg::Other,
    }
}

/// The type OIDs of a ParameterDescription body.
fn parameter_types(body: &[u8]) -> Vec<u32> {
    let n = body
        .get(..2)
        .map_or(0, |b| i16::from_be_bytes([b[0], b[1]]).max(0) as usize);
    (0..n)
        .filter_map(|i| {
            let b = body.get(2 + 4 * i..6 + 4 * i)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        })
        .collect()
}

/// The rows a command tag reports (`INSERT 0 5` → 5, `UPDATE 2` → 2), 0 without a count.
pub(crate) fn affected_rows(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
