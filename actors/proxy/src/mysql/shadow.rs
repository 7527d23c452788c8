//! MySQL's half of shadowing: a MySQL source's sessions shadowed to the target through
//! a gateway session (`gateway`), which answers in MySQL packets too, so both answers
//! are read the same way and compared after the gateway's type mapping.
//!
//! - Framing: one packet is one message. A payload that needs continuation packets
//!   (16 MiB or more) is refused as too large: shadowing holds every message whole.
//! - Where an answer ends depends on what was asked, so each direction has a framer:
//!   an `Exchange` told every request as it goes out.
//! - Statement ids: the shadow gets the ids the client knows. A `COM_STMT_PREPARE` goes
//!   to it as the gateway's own [`COM_STMT_PREPARE_AS`], with the id the proxy reserved
//!   for the statement, so the gateway numbers it as the client will.
//! - The shadow is always the target: a session served from the target after a cutover
//!   is not shadowed back to the MySQL source (whose statement ids the proxy cannot
//!   choose).

use super::answer::MySqlAnswer;
use super::statements::read_id;
use super::tracker::tx_state;
use crate::protocol::shadow::{AnswerStep, ClientMsg, Framer, ShadowCodec};
use crate::protocol::Violation;
use crate::shadow::result::{StmtEnd, StmtResult};
use molt_lms_wire::mysql::consts::command::*;
use molt_lms_wire::mysql::exchange::{Exchange, ServerStep};
use molt_lms_wire::mysql::packet::{put_packet, HEADER_LEN};
use molt_lms_wire::mysql::{MysqlError, MAX_PAYLOAD};

/// The gateway's own command: prepare the statement under the id that follows (4 bytes,
/// little-endian), then its text. Never accepted from a client: the relay refuses a
/// command it does not know.
pub(crate) const COM_STMT_PREPARE_AS: u8 = 0xF0;

/// What the shadow is sent for a client's `COM_STMT_PREPARE` of `text`, given the id the
/// proxy reserved for it.
pub(crate) fn prepare_as(id: u32, text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 9);
    put_packet(&mut out, 0, |o| {
        o.push(COM_STMT_PREPARE_AS);
        o.extend_from_slice(&id.to_le_bytes());
        o.extend_from_slice(text);
    });
    out
}

/// `ER_QUERY_INTERRUPTED`: answers are compared by errno, and the gateway gives a
/// cancelled statement on the target this number too.
const CANCELLED: &str = "1317";

pub(crate) struct MySqlShadow;

/// Follows one direction's answers with an [`Exchange`].
pub(crate) struct MySqlFramer {
    exchange: Exchange,
}

impl Framer for MySqlFramer {
    const STATEFUL: bool = true;

    fn request(&mut self, msg: &[u8]) -> Result<(), Violation> {
        let payload = msg.get(HEADER_LEN..).unwrap_or_default();
        let step = if payload.first() == Some(&COM_STMT_PREPARE_AS) {
            self.exchange.from_client(&[COM_STMT_PREPARE])
        } else {
            self.exchange.from_client(payload)
        };
        step.map(|_| ()).map_err(Violation::new)
    }

    fn step(&mut self, msg: &[u8]) -> Result<AnswerStep, Violation> {
        let payload = msg.get(HEADER_LEN..).unwrap_or_default();
        Ok(
            match self.exchange.from_server(payload).map_err(Violation::new)? {
                ServerStep::Done(status) => {
                    AnswerStep::End(tx_state(status.unwrap_or(self.exchange.status())))
                }
                ServerStep::AwaitClient => AnswerStep::Part { client_now: true },
                ServerStep::More => AnswerStep::Part { client_now: false },
            },
        )
    }
}

impl ShadowCodec for MySqlShadow {
    type Answer = MySqlAnswer;
    type Framer = MySqlFramer;

    fn framer((caps, mariadb_caps): (u32, u32)) -> MySqlFramer {
        MySqlFramer {
            exchange: Exchange::new(caps, 0).with_mariadb_caps(mariadb_caps),
        }
    }

    fn answer(budget: usize, errors_only: bool, options: (u32, u32)) -> MySqlAnswer {
        MySqlAnswer::new(budget, errors_only, options)
    }

    fn next_message(buf: &[u8]) -> Result<Option<usize>, Violation> {
        let Some(h) = molt_lms_wire::mysql::next_packet(buf) else {
            return Ok(None);
        };
        if h.payload_len >= MAX_PAYLOAD {
            return Err(Violation::too_large(MysqlError::PayloadTooLarge {
                len: h.payload_len,
                limit: MAX_PAYLOAD - 1,
            }));
        }
        let total = HEADER_LEN + h.payload_len;
        Ok((buf.len() >= total).then_some(total))
    }

    fn classify(msg: &[u8]) -> Result<ClientMsg<'_>, Violation> {
        let payload = msg.get(HEADER_LEN..).unwrap_or_default();
        let Some((&command, body)) = payload.split_first() else {
            return Err(Violation::new(MysqlError::Malformed(
                "empty command packet",
            )));
        };
        let id = || {
            read_id(body, 0).ok_or_else(|| Violation::new(MysqlError::Truncated("statement id")))
        };
        Ok(match command {
            COM_QUIT => ClientMsg::Quit,
            COM_QUERY => match std::str::from_utf8(body) {
                Ok(text) => ClientMsg::Query(text),
                Err(_) => ClientMsg::End,
            },
            COM_STMT_PREPARE_AS => ClientMsg::PrepareId {
                id: id()?,
                text: std::str::from_utf8(&body[4..]).unwrap_or("(not UTF-8)"),
            },
            COM_STMT_EXECUTE => ClientMsg::ExecuteId { id: id()? },
            // No answer: part of the next request.
            COM_STMT_CLOSE | COM_STMT_SEND_LONG_DATA => ClientMsg::Other,
            _ => ClientMsg::End,
        })
    }

    fn cancelled(result: &StmtResult) -> bool {
        matches!(&result.end, StmtEnd::Error { code, .. } if code == CANCELLED)
    }

    /// Never needed: a MySQL source's transaction survives a failed statement, so the
    /// source of truth never reports one failed. Kept failing on PostgreSQL and
    /// CockroachDB alike, should a MySQL-protocol shadow ever need it.
    fn failing_request(why: &str) -> Vec<u8> {
        let mut out = Vec::new();
        put_packet(&mut out, 0, |o| {
            o.push(COM_QUERY);
            o.extend_from_slice(
                format!("SELECT CAST('{}' AS INTEGER)", why.replace('\'', "''")).as_bytes(),
            );
        });
        out
    }

    fn error_replaces_end() -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
