//! The PostgreSQL tracker: walks message headers in place in both directions and keeps
//! the session's place. A request (Query, Sync, FunctionCall) is answered by one
//! ReadyForQuery, whose status byte says whether a transaction is open; the session is
//! quiescent when nothing awaits an answer, no extended-protocol batch is open and the
//! status is idle. Named Parse messages are kept for a switch to replay; ParameterStatus
//! values for a switch to reconcile.

use super::parses::PendingParses;
use super::session_state::SessionState;
use crate::client_conn::session::Carry;
use crate::client_conn::session::SessionCtl;
use crate::conn_info::ConnInfo;
use crate::metrics::LocalSeries;
use crate::protocol::{ClientVerdict, Scan, Tracker, TxState, Violation};
use crate::query_trace::QueryTrace;
use crate::shared::Shared;
use molt_lms_api::ConnectionState;
use molt_lms_wire::pg::backend::{error_fields, parameter_status};
use molt_lms_wire::pg::codec::{put_message, HEADER_LEN, MAX_MESSAGE_LEN};
use molt_lms_wire::pg::frontend::{self, closed_statement, parse_statement, query_text};
use molt_lms_wire::pg::tag::{backend as be, frontend as fe, tx_status};
use molt_lms_wire::pg::{FrameScanner, ProtocolError, ScanControl, Want};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// How much of a Query the tracker reads: enough for `last_query` and the session-state
/// prefilter; the rest streams, so a huge Query costs the proxy no memory.
pub(crate) const QUERY_SHOWN: usize = 64 * 1024;

/// How much of each frontend message the tracker reads. Parse is held whole (up to
/// `max`): a named statement is kept to replay at a switch.
fn client_want(tag: u8, max: usize) -> Want {
    match tag {
        fe::QUERY => Want::Prefix(QUERY_SHOWN),
        fe::PARSE | fe::CLOSE => Want::Whole { max },
        _ => Want::Header,
    }
}

/// Backend messages whose body the tracker reads (the database is trusted with size);
/// CommandComplete too while the request is traced, for its row count.
fn backend_want(tag: u8, traced: bool) -> Want {
    match tag {
        be::READY_FOR_QUERY | be::ERROR_RESPONSE | be::PARAMETER_STATUS => Want::Whole {
            max: MAX_MESSAGE_LEN,
        },
        be::COMMAND_COMPLETE if traced => Want::Whole {
            max: MAX_MESSAGE_LEN,
        },
        _ => Want::Header,
    }
}

/// The text of a Query body, or of its first bytes when `whole` is false: bytes in the
/// session's client encoding, which is not always UTF-8. Neither validated nor copied
/// here; what shows it decodes it.
fn shown_query(body: &[u8], whole: bool) -> Option<&[u8]> {
    if whole {
        return query_text(body);
    }
    Some(body.split(|&b| b == 0).next().unwrap_or_default())
}

/// The key a prepared statement is kept by. A name is bytes in the client's encoding;
/// one that is not UTF-8 gets a form no UTF-8 name can have (names hold no NUL) and that
/// keeps two such names apart, which replacing their bytes would not.
fn statement_key(name: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(name) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(name.iter().fold(String::from("\0"), |mut key, b| {
            let _ = write!(key, "{b:02x}");
            key
        })),
    }
}

/// A ReadyForQuery status byte as a protocol-neutral state.
pub(crate) fn tx_state(status: u8) -> TxState {
    match status {
        tx_status::IN_TRANSACTION => TxState::InTransaction,
        tx_status::FAILED => TxState::Failed,
        _ => TxState::Idle,
    }
}

pub(crate) struct PgTracker {
    ctl: Rc<SessionCtl>,
    info: Arc<ConnInfo>,
    shared: Arc<Shared>,
    /// Requests sent that still await a ReadyForQuery (Query, Sync, FunctionCall).
    pending: Cell<u32>,
    /// Extended-protocol messages seen since the last Sync.
    in_batch: Cell<bool>,
    /// Transaction status of the last ReadyForQuery.
    tx: Cell<u8>,
    request_started: Cell<Option<Instant>>,
    /// This thread's writer of the request series.
    series: LocalSeries,
    saw_error: Cell<bool>,
    /// Parses awaiting the server's verdict; named ones are recorded once completed.
    parses: RefCell<PendingParses>,
    /// Role, LISTEN channels, advisory locks, temporary tables (published to `ctl`).
    state: RefCell<SessionState>,
    /// The current request is sampled for a query span (`--trace-queries`).
    traced: Cell<bool>,
    query: RefCell<Option<QueryTrace>>,
}

impl PgTracker {
    /// A tracker for a session that is idle (just logged in, or just switched).
    pub(crate) fn new(ctl: Rc<SessionCtl>, info: Arc<ConnInfo>, shared: Arc<Shared>) -> Self {
        // After a switch the replayed statements rebuilt the state on the new session.
        let state = SessionState::rebuilt(&ctl.carry().replay);
        let series = shared.metrics.local();
        Self {
            ctl,
            info,
            shared,
            pending: Cell::new(0),
            in_batch: Cell::new(false),
            tx: Cell::new(tx_status::IDLE),
            request_started: Cell::new(None),
            series,
            saw_error: Cell::new(false),
            parses: RefCell::new(PendingParses::default()),
            state: RefCell::new(state),
            traced: Cell::new(false),
            query: RefCell::new(None),
        }
    }

    fn trace_statement(&self, text: &[u8]) {
        if self.traced.get() {
            if let Some(q) = self.query.borrow_mut().as_mut() {
                q.statement(&String::from_utf8_lossy(text));
            }
        }
    }

    fn quiet(&self) -> bool {
        self.pending.get() == 0 && !self.in_batch.get() && self.tx.get() == tx_status::IDLE
    }

    /// Accounts for one client message (`whole`: `body` is all of it, not a prefix);
    /// decides whether to hold before it.
    pub(crate) fn on_client_message(
        &self,
        tag: u8,
        body: Option<&[u8]>,
        whole: bool,
    ) -> Result<ScanControl, ProtocolError> {
        if !frontend::TAGS.contains(&tag) {
            return Err(ProtocolError::UnknownFrontendMessage(tag));
        }
        if self.ctl.hold_next_request() && tag != fe::TERMINATE {
            return Ok(ScanControl::HoldBefore);
        }
        if self.pending.get() == 0 && !self.in_batch.get() && self.request_started.get().is_none() {
            self.request_started.set(Some(Instant::now()));
            self.saw_error.set(false);
            if let Some(q) = QueryTrace::sample(self.shared.settings.trace_queries) {
                *self.query.borrow_mut() = Some(q);
                self.traced.set(true);
            }
        }
        let body = body.unwrap_or_default();
        match tag {
            fe::QUERY => {
                let text = shown_query(body, whole).ok_or(ProtocolError::Malformed("Query"))?;
                self.trace_statement(text);
                self.state.borrow_mut().observe(text);
                self.info.set_last_query(text);
                self.pending.set(self.pending.get() + 1);
                self.parses.borrow_mut().end();
            }
            fe::PARSE => {
                let (name, query) =
                    parse_statement(body).ok_or(ProtocolError::Malformed("Parse"))?;
                self.info.set_last_query(query);
                self.trace_statement(query);
                self.state.borrow_mut().observe(query);
                let named = (!name.is_empty()).then(|| {
                    let mut raw = Vec::with_capacity(body.len() + 5);
                    put_message(&mut raw, fe::PARSE, |o| o.extend_from_slice(body));
                    (statement_key(name).into_owned(), raw)
                });
                self.parses.borrow_mut().parse(named);
                self.in_batch.set(true);
            }
            fe::CLOSE => {
                if let Some(name) = closed_statement(body) {
                    self.ctl.forget_prepared(&statement_key(name));
                }
                self.in_batch.set(true);
            }
            fe::BIND | fe::DESCRIBE | fe::EXECUTE | fe::FLUSH => self.in_batch.set(true),
            fe::SYNC => {
                self.in_batch.set(false);
                self.pending.set(self.pending.get() + 1);
                self.parses.borrow_mut().end();
            }
            fe::FUNCTION_CALL => {
                self.pending.set(self.pending.get() + 1);
                self.parses.borrow_mut().end();
            }
            fe::TERMINATE => self.ctl.set_client_quit(),
            _ => {} // CopyData, CopyDone, CopyFail, password messages: part of a request.
        }
        self.ctl.set_quiet(self.quiet());
        if self.pending.get() > 0 || self.in_batch.get() {
            self.info.set_state(ConnectionState::InQuery);
        }
        Ok(ScanControl::Continue)
    }

    /// Accounts for one backend message.
    pub(crate) fn on_backend_message(
        &self,
        tag: u8,
        body: Option<&[u8]>,
    ) -> Result<ScanControl, ProtocolError> {
        match (tag, body) {
            (be::READY_FOR_QUERY, Some(body)) => {
                let status = *body
                    .first()
                    .ok_or(ProtocolError::Malformed("ReadyForQuery"))?;
                self.tx.set(status);
                self.pending.set(self.pending.get().saturating_sub(1));
                self.parses.borrow_mut().ready();
                let mut state = self.state.borrow_mut();
                state.request_done(
                    status == tx_status::IDLE,
                    status == tx_status::FAILED || self.saw_error.get(),
                );
                if state.take_changed() {
                    self.ctl.set_carry(Carry {
                        replay: state.replay(),
                        blockers: state.blockers(),
                    });
                }
                drop(state);
                if let Some(t) = self.request_started.take() {
                    self.series.answered(
                        self.info.source_of_truth(),
                        self.saw_error.replace(false),
                        t.elapsed(),
                    );
                    if self.traced.replace(false) {
                        if let Some(q) = self.query.borrow_mut().take() {
                            q.end(self.info.source_of_truth(), "postgresql");
                        }
                    }
                    if self.pending.get() > 0 {
                        self.request_started.set(Some(Instant::now()));
                    }
                }
                self.info.ready(tx_state(status));
                self.ctl.answered(&self.info, self.quiet());
            }
            (be::PARAMETER_STATUS, Some(body)) => {
                if let Some((name, value)) = parameter_status(body) {
                    self.ctl.note_param(name, value);
                }
            }
            (be::PARSE_COMPLETE, _) => {
                if let Some((name, raw)) = self.parses.borrow_mut().parsed() {
                    self.ctl.note_prepared(&name, raw);
                }
            }
            (be::COMMAND_COMPLETE, Some(body)) if self.traced.get() => {
                if let Some(q) = self.query.borrow_mut().as_mut() {
                    q.completed(
                        std::str::from_utf8(body)
                            .unwrap_or_default()
                            .trim_end_matches('\0'),
                    );
                }
            }
            (be::ERROR_RESPONSE, Some(body)) => {
                self.parses.borrow_mut().failed();
                self.saw_error.set(true);
                let (code, message) = error_fields(body);
                if self.traced.get() {
                    if let Some(q) = self.query.borrow_mut().as_mut() {
                        q.failed(&code);
                    }
                }
                self.info.set_last_error(&format!("{code}: {message}"));
            }
            _ => {}
        }
        Ok(ScanControl::Continue)
    }
}

fn violation(e: ProtocolError) -> Violation {
    match e {
        ProtocolError::TooLarge { .. } => Violation::too_large(e),
        e => Violation::new(e),
    }
}

fn scan(s: molt_lms_wire::pg::Scan) -> Scan {
    Scan {
        forward: s.forward,
        held: s.held,
    }
}

impl Tracker for PgTracker {
    type Framing = FrameScanner;

    fn scan_client(&self, framing: &mut FrameScanner, buf: &mut [u8]) -> Result<Scan, Violation> {
        let max = self.shared.settings.max_buffered_message;
        framing
            .scan(
                buf,
                |t| client_want(t, max),
                |t, b, whole| self.on_client_message(t, b, whole),
            )
            .map(scan)
            .map_err(violation)
    }

    fn scan_backend(&self, framing: &mut FrameScanner, buf: &mut [u8]) -> Result<Scan, Violation> {
        framing
            .scan(
                buf,
                |t| backend_want(t, self.traced.get()),
                |t, b, _| self.on_backend_message(t, b),
            )
            .map(scan)
            .map_err(violation)
    }

    fn at_boundary(framing: &FrameScanner) -> bool {
        framing.at_boundary()
    }

    fn client_message(&self, msg: &mut [u8]) -> Result<ClientVerdict, Violation> {
        self.on_client_message(msg[0], Some(&msg[HEADER_LEN..]), true)
            .map(|c| ClientVerdict {
                hold: c == ScanControl::HoldBefore,
                ..ClientVerdict::default()
            })
            .map_err(Violation::new)
    }

    fn backend_message(&self, msg: &mut [u8]) -> Result<(), Violation> {
        self.on_backend_message(msg[0], Some(&msg[HEADER_LEN..]))
            .map(|_| ())
            .map_err(Violation::new)
    }
}

#[cfg(test)]
mod tests;
