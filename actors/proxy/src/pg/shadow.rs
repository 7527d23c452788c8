//! PostgreSQL's half of shadowing: message framing, what each frontend message is to a
//! request, and where an answer ends (ReadyForQuery, with its transaction status).

use super::answer::PgAnswer;
use super::errors::sqlstate;
use super::tracker::tx_state;
use crate::protocol::shadow::{AnswerReader, AnswerStep, ClientMsg, Framer, ShadowCodec};
use crate::protocol::Violation;
use crate::shadow::result::{StmtEnd, StmtResult};
use molt_lms_wire::pg::codec::{header, put_cstr, put_message, HEADER_LEN};
use molt_lms_wire::pg::frontend::{bound_statement, parse_statement, query_text};
use molt_lms_wire::pg::tag::{backend as be, frontend as fe, tx_status};
use molt_lms_wire::pg::ProtocolError;

pub(crate) struct PgShadow;

impl AnswerReader for PgAnswer {
    fn observe(&mut self, msg: &[u8]) {
        PgAnswer::observe(self, msg[0], &msg[HEADER_LEN..]);
    }

    fn finish(&mut self) -> Vec<StmtResult> {
        PgAnswer::finish(self)
    }
}

/// A text or statement name as the shadow's labels show it. Texts in a client encoding
/// other than UTF-8 are still relayed and compared byte for byte; only their label is
/// generic (and such statement names share one label).
fn shown(text: &[u8]) -> &str {
    std::str::from_utf8(text).unwrap_or("(not UTF-8)")
}

fn malformed(what: &'static str) -> Violation {
    Violation::new(ProtocolError::Malformed(what))
}

/// PostgreSQL's answers end at ReadyForQuery, whatever was asked: no state.
pub(crate) struct PgFramer;

impl Framer for PgFramer {
    const STATEFUL: bool = false;

    fn request(&mut self, _msg: &[u8]) -> Result<(), Violation> {
        Ok(())
    }

    fn step(&mut self, msg: &[u8]) -> Result<AnswerStep, Violation> {
        Ok(match msg[0] {
            be::READY_FOR_QUERY => AnswerStep::End(tx_state(
                msg.get(HEADER_LEN).copied().unwrap_or(tx_status::IDLE),
            )),
            // CopyIn and CopyBoth responses: the client must send data before the end.
            be::COPY_IN_RESPONSE | be::COPY_BOTH_RESPONSE => AnswerStep::Part { client_now: true },
            _ => AnswerStep::Part { client_now: false },
        })
    }
}

impl ShadowCodec for PgShadow {
    type Answer = PgAnswer;
    type Framer = PgFramer;

    fn framer(_options: (u32, u32)) -> PgFramer {
        PgFramer
    }

    fn answer(budget: usize, errors_only: bool, _options: (u32, u32)) -> PgAnswer {
        PgAnswer::new(budget, errors_only)
    }

    fn next_message(buf: &[u8]) -> Result<Option<usize>, Violation> {
        Ok(header(buf)
            .map_err(Violation::new)?
            .filter(|&(_, total)| buf.len() >= total)
            .map(|(_, total)| total))
    }

    fn classify(msg: &[u8]) -> Result<ClientMsg<'_>, Violation> {
        let body = &msg[HEADER_LEN..];
        Ok(match msg[0] {
            fe::TERMINATE => ClientMsg::Quit,
            fe::COPY_DATA | fe::COPY_DONE | fe::COPY_FAIL => ClientMsg::CopyData,
            fe::QUERY => {
                ClientMsg::Query(shown(query_text(body).ok_or_else(|| malformed("Query"))?))
            }
            fe::PARSE => {
                let (name, text) = parse_statement(body).ok_or_else(|| malformed("Parse"))?;
                ClientMsg::Prepare {
                    name: shown(name),
                    text: shown(text),
                }
            }
            fe::BIND => ClientMsg::Execute {
                name: shown(bound_statement(body).ok_or_else(|| malformed("Bind"))?),
            },
            fe::FUNCTION_CALL => ClientMsg::FunctionCall,
            fe::FLUSH => ClientMsg::Flush,
            fe::SYNC => ClientMsg::End,
            _ => ClientMsg::Other,
        })
    }

    fn cancelled(result: &StmtResult) -> bool {
        matches!(&result.end, StmtEnd::Error { code, .. } if code == sqlstate::QUERY_CANCELED)
    }

    fn failing_request(why: &str) -> Vec<u8> {
        let mut q = Vec::new();
        put_message(&mut q, fe::QUERY, |o| {
            put_cstr(o, &format!("SELECT '{}'::int", why.replace('\'', "''")))
        });
        q
    }
}
