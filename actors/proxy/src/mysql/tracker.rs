//! The MySQL tracker: walks packets in place in both directions (`PacketScanner`) and
//! follows each command's answer (`Exchange`), whose last OK or EOF carries the status
//! flags that say whether a transaction is open. The session is quiescent when no
//! command awaits its answer and no transaction is open; a held session's next command
//! waits before it is sent. It also rewrites `KILL <id>` to the source thread the id
//! stands for (see `kill`).

use super::kill::{kill_target, write_id};
use super::statements::{self, Statements};
use crate::client_conn::session::{Carry, SessionCtl};
use crate::conn_info::ConnInfo;
use crate::metrics::LocalSeries;
use crate::protocol::{ClientVerdict, Scan, Tracker, TxState, Violation};
use crate::shared::Shared;
use molt_lms_api::ConnectionState;
use molt_lms_wire::mysql::change_user::ChangeUser;
use molt_lms_wire::mysql::consts::command::*;
use molt_lms_wire::mysql::consts::header;
use molt_lms_wire::mysql::consts::status::{SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS};
use molt_lms_wire::mysql::exchange::{ClientStep, Exchange, ServerStep};
use molt_lms_wire::mysql::packet::{next_packet, PacketHeader, HEADER_LEN};
use molt_lms_wire::mysql::scanner::{Control, PacketScanner, Shown};
use molt_lms_wire::mysql::{ErrPacket, MysqlError};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// A status word as a protocol-neutral transaction state. MySQL has no failed state:
/// an error inside a transaction leaves it open.
pub(crate) fn tx_state(status: u16) -> TxState {
    if status & SERVER_STATUS_IN_TRANS != 0 {
        TxState::InTransaction
    } else {
        TxState::Idle
    }
}

pub(crate) struct MySqlTracker {
    ctl: Rc<SessionCtl>,
    info: Arc<ConnInfo>,
    shared: Arc<Shared>,
    exchange: RefCell<Exchange>,
    statements: RefCell<Statements>,
    caps: u32,
    /// The connection id this client was given, whose entry in the thread table goes
    /// with the session.
    client_id: u32,
    request_started: Cell<Option<Instant>>,
    /// This thread's writer of the request series.
    series: LocalSeries,
    saw_error: Cell<bool>,
    /// The text of the `COM_STMT_PREPARE` awaiting its answer, kept for a switch to
    /// prepare again (see [`replay_entry`]).
    preparing: RefCell<Option<Vec<u8>>>,
    /// `SERVER_STATUS_AUTOCOMMIT` as last answered, so a switch keeps `SET autocommit`.
    autocommit: Cell<bool>,
    mariadb_caps: u32,
    /// The id reserved for the last `COM_STMT_PREPARE` seen, for the shadow's copy.
    last_reserved: Cell<u32>,
    /// What the last client packet was to the exchange.
    last_step: Cell<Option<ClientStep>>,
    /// The user the session logged in as: the one the proxy holds a login for.
    login_user: String,
    /// The user and database of a `COM_CHANGE_USER` awaiting its answer.
    changing_user: RefCell<Option<(String, String)>>,
}

/// How the session control keeps a MySQL statement for a switch: the server id the
/// relay maps the client's id to (the new server prepares it under the same id, so the
/// mapping holds), then the text.
pub(crate) fn replay_entry(server_id: u32, text: &[u8]) -> Vec<u8> {
    let mut entry = server_id.to_le_bytes().to_vec();
    entry.extend_from_slice(text);
    entry
}

/// Reads an entry [`replay_entry`] made.
pub(crate) fn read_replay_entry(entry: &[u8]) -> Option<(u32, String)> {
    let id = statements::read_id(entry, 0)?;
    Some((id, String::from_utf8_lossy(&entry[4..]).into_owned()))
}

impl MySqlTracker {
    /// A tracker for a session that logged in with `caps` and is idle with `status`.
    pub(crate) fn new(
        ctl: Rc<SessionCtl>,
        info: Arc<ConnInfo>,
        shared: Arc<Shared>,
        (caps, mariadb_caps): (u32, u32),
        (client_id, thread): (u32, u32),
    ) -> Self {
        // Registered before the first command is relayed; the client learnt its id from
        // the greeting, and a KILL naming it from another connection finds the thread.
        shared.mysql_threads.insert(client_id, thread);
        let login_user = info.user();
        let series = shared.metrics.local();
        Self {
            ctl,
            info,
            shared,
            exchange: RefCell::new(Exchange::new(caps, 0).with_mariadb_caps(mariadb_caps)),
            statements: RefCell::new(Statements::default()),
            caps,
            client_id,
            request_started: Cell::new(None),
            series,
            saw_error: Cell::new(false),
            preparing: RefCell::new(None),
            autocommit: Cell::new(true),
            mariadb_caps,
            last_reserved: Cell::new(0),
            last_step: Cell::new(None),
            login_user,
            changing_user: RefCell::new(None),
        }
    }

    /// A client's `COM_CHANGE_USER`: on the source, the method it names is masked so that
    /// the source asks the client for a proof of its own (the one in the packet answers
    /// the proxy's scramble); the user is noted for the answer.
    fn change_user(&self, shown: Shown<'_>) {
        let Shown::Whole(payload) = shown else {
            return; // Past the relay's window: relayed as sent; the server decides.
        };
        match ChangeUser::decode(payload, self.caps) {
            Ok(cu) => {
                if self.info.source_of_truth() == molt_lms_api::SourceOfTruth::Source {
                    cu.mask_method(payload);
                }
                *self.changing_user.borrow_mut() = Some((cu.user, cu.database));
            }
            Err(e) => {
                tracing::info!(error = %e, "a COM_CHANGE_USER the proxy cannot read, relayed as sent")
            }
        }
    }

    /// The server accepted a `COM_CHANGE_USER`. The session now runs as `user`, for whom
    /// the proxy holds no login (the source checked the password), so a cutover cannot
    /// move it until it changes back or reconnects.
    fn user_changed(&self, user: &str, database: &str) {
        self.info.set_identity(user, database);
        let blockers = if user == self.login_user {
            Vec::new()
        } else {
            vec![format!(
                "it changed its MySQL user from '{}' to '{user}' with COM_CHANGE_USER, and the proxy holds no login for that user; reconnect as '{user}' instead",
                self.login_user
            )]
        };
        self.ctl.set_carry(Carry {
            replay: Vec::new(),
            blockers,
        });
    }

    fn quiet(ex: &Exchange) -> bool {
        ex.idle() && !ex.in_transaction()
    }

    /// Accounts for one client payload; decides whether to hold before it.
    pub(crate) fn on_client(
        &self,
        h: PacketHeader,
        shown: Shown<'_>,
    ) -> Result<Control, MysqlError> {
        let mut ex = self.exchange.borrow_mut();
        let bytes = shown.bytes();
        if ex.idle() && self.ctl.hold_next_request() && bytes.first() != Some(&COM_QUIT) {
            return Ok(Control::HoldBefore);
        }
        if ex.idle() && self.request_started.get().is_none() {
            self.request_started.set(Some(Instant::now()));
            self.saw_error.set(false);
        }
        let step = ex.from_client(bytes)?;
        self.last_step.set(Some(step));
        if let ClientStep::Command(c) | ClientStep::Unanswered(c) = step {
            if h.seq != 0 {
                return Err(MysqlError::OutOfOrder {
                    expected: 0,
                    got: h.seq,
                });
            }
            match c {
                COM_QUERY => {
                    let text = bytes.get(1..).unwrap_or_default();
                    self.info.set_last_query(text);
                    if let Shown::Whole(payload) = shown {
                        self.map_kill(&mut payload[1..]);
                    }
                }
                COM_STMT_PREPARE => {
                    let text = bytes.get(1..).unwrap_or_default();
                    self.info.set_last_query(text);
                    // A statement text past the relay's window (`Shown::Large`) is not
                    // kept: a switch then refuses to move the session rather than guess.
                    *self.preparing.borrow_mut() = match shown {
                        Shown::Whole(p) => Some(p.get(1..).unwrap_or_default().to_vec()),
                        Shown::Large { .. } => Some(Vec::new()),
                    };
                    self.last_reserved
                        .set(self.statements.borrow_mut().reserve());
                }
                COM_STMT_EXECUTE
                | COM_STMT_SEND_LONG_DATA
                | COM_STMT_CLOSE
                | COM_STMT_RESET
                | COM_STMT_FETCH => self.map_statement(c, shown)?,
                COM_RESET_CONNECTION | COM_CHANGE_USER => {
                    self.statements.borrow_mut().clear();
                    self.ctl.forget_all_prepared();
                    if c == COM_CHANGE_USER {
                        self.change_user(shown);
                    }
                }
                COM_QUIT => self.ctl.set_client_quit(),
                _ => {}
            }
        }
        self.ctl.set_quiet(Self::quiet(&ex));
        if !ex.idle() {
            self.info.set_state(ConnectionState::InQuery);
        }
        Ok(Control::Continue)
    }

    /// Rewrites the client's statement id (after the command byte) to the server's.
    fn map_statement(&self, command: u8, mut shown: Shown<'_>) -> Result<(), MysqlError> {
        let payload = match &mut shown {
            Shown::Whole(p) => &mut **p,
            Shown::Large { prefix, .. } => &mut **prefix,
        };
        let client =
            statements::read_id(payload, 1).ok_or(MysqlError::Truncated("statement command"))?;
        let mut ids = self.statements.borrow_mut();
        let server = ids.server_id(client);
        statements::write_id(payload, 1, server);
        if command == COM_STMT_CLOSE {
            ids.closed(client);
            self.ctl.forget_prepared(&server.to_string());
        }
        Ok(())
    }

    /// Rewrites a `KILL <id>`'s id to the source thread it stands for.
    fn map_kill(&self, sql: &mut [u8]) {
        let Some((digits, id)) = kill_target(sql) else {
            return;
        };
        // On the target the gateway knows the proxy's own ids: it gets them as written.
        if self.info.source_of_truth() == molt_lms_api::SourceOfTruth::Target {
            return;
        }
        let thread = self.shared.mysql_threads.resolve(id);
        if thread.is_none() {
            tracing::info!(id, "KILL for a connection id this proxy does not know");
        }
        write_id(&mut sql[digits], thread);
    }

    /// Accounts for one server payload.
    pub(crate) fn on_server(&self, mut shown: Shown<'_>) -> Result<Control, MysqlError> {
        let mut ex = self.exchange.borrow_mut();
        let prepare_ok = ex.awaiting_prepare();
        let step = match &shown {
            Shown::Whole(p) => ex.from_server(p)?,
            Shown::Large { .. } => ex.from_server_large()?,
        };
        if let (true, Shown::Whole(p)) = (prepare_ok, &mut shown) {
            if p.first() == Some(&header::ERR) {
                self.statements.borrow_mut().refused();
            }
            if p.first() == Some(&header::OK) {
                // COM_STMT_PREPARE_OK: 0x00, then the statement id.
                let server = statements::read_id(p, 1)
                    .ok_or(MysqlError::Truncated("COM_STMT_PREPARE answer"))?;
                let client = self.statements.borrow_mut().prepared(server);
                statements::write_id(p, 1, client);
                if let Some(text) = self.preparing.borrow_mut().take() {
                    self.ctl
                        .note_prepared(&server.to_string(), replay_entry(server, &text));
                }
            }
        }
        let ServerStep::Done(_) = step else {
            return Ok(Control::Continue);
        };
        if let (Some((user, database)), Shown::Whole(p)) = (self.changing_user.take(), &shown) {
            if p.first() == Some(&header::OK) {
                self.user_changed(&user, &database);
            }
        }
        if let Shown::Whole(p) = &shown {
            if p.first() == Some(&header::ERR) {
                self.saw_error.set(true);
                if let Ok(e) = ErrPacket::decode(p, self.caps) {
                    let state = e
                        .sql_state
                        .map(|s| String::from_utf8_lossy(&s).into_owned());
                    self.info.set_last_error(&format!(
                        "{} ({}): {}",
                        e.code,
                        state.unwrap_or_default(),
                        e.message
                    ));
                }
            }
        }
        if ex.idle() {
            if let Some(t) = self.request_started.take() {
                self.series.answered(
                    self.info.source_of_truth(),
                    self.saw_error.replace(false),
                    t.elapsed(),
                );
            }
            let autocommit = ex.status() & SERVER_STATUS_AUTOCOMMIT != 0;
            if autocommit != self.autocommit.replace(autocommit) {
                self.ctl
                    .note_param("autocommit", if autocommit { "1" } else { "0" });
            }
            self.info.ready(tx_state(ex.status()));
            self.ctl.answered(&self.info, Self::quiet(&ex));
        }
        Ok(Control::Continue)
    }
}

impl Drop for MySqlTracker {
    fn drop(&mut self) {
        self.shared.mysql_threads.remove(self.client_id);
    }
}

fn scan(s: molt_lms_wire::mysql::scanner::Scan) -> Scan {
    Scan {
        forward: s.forward,
        held: s.held,
    }
}

/// The header of one whole single-packet payload handed over by a relay that frames
/// messages itself (the shadow relay refuses payloads that need continuation packets).
fn whole(msg: &[u8]) -> Result<PacketHeader, Violation> {
    let h = next_packet(msg).ok_or_else(|| Violation::new(MysqlError::Truncated("packet")))?;
    if msg.len() != HEADER_LEN + h.payload_len {
        return Err(Violation::new(MysqlError::Malformed(
            "a packet cut from its payload",
        )));
    }
    Ok(h)
}

impl Tracker for MySqlTracker {
    type Framing = PacketScanner;

    fn scan_client(&self, framing: &mut PacketScanner, buf: &mut [u8]) -> Result<Scan, Violation> {
        framing
            .scan(buf, |h, shown| self.on_client(h, shown))
            .map(scan)
            .map_err(Violation::new)
    }

    fn scan_backend(&self, framing: &mut PacketScanner, buf: &mut [u8]) -> Result<Scan, Violation> {
        framing
            .scan(buf, |_, shown| self.on_server(shown))
            .map(scan)
            .map_err(Violation::new)
    }

    fn at_boundary(framing: &PacketScanner) -> bool {
        framing.at_boundary()
    }

    fn client_message(&self, msg: &mut [u8]) -> Result<ClientVerdict, Violation> {
        let h = whole(msg)?;
        // Kept only for the commands whose bytes the scan rewrites: statement ids, and
        // a KILL's connection id.
        let payload = &msg[HEADER_LEN..];
        let may_rewrite = match payload.first() {
            Some(
                &(COM_STMT_EXECUTE
                | COM_STMT_SEND_LONG_DATA
                | COM_STMT_CLOSE
                | COM_STMT_RESET
                | COM_STMT_FETCH),
            ) => true,
            Some(&COM_QUERY) => kill_target(&payload[1..]).is_some(),
            _ => false,
        };
        let original = may_rewrite.then(|| msg.to_vec());
        self.last_step.set(None);
        let control = self
            .on_client(h, Shown::Whole(&mut msg[HEADER_LEN..]))
            .map_err(Violation::new)?;
        if control == Control::HoldBefore {
            return Ok(ClientVerdict {
                hold: true,
                ..ClientVerdict::default()
            });
        }
        let shadow = match self.last_step.get() {
            // The statement text is never rewritten.
            Some(ClientStep::Command(COM_STMT_PREPARE)) => Some(super::shadow::prepare_as(
                self.last_reserved.get(),
                &msg[HEADER_LEN + 1..],
            )),
            // The shadow's server knows the client's statement and connection ids.
            _ => original.filter(|o| o[..] != *msg),
        };
        Ok(ClientVerdict {
            hold: false,
            data: self.last_step.get() == Some(ClientStep::Data),
            shadow,
        })
    }

    fn backend_message(&self, msg: &mut [u8]) -> Result<(), Violation> {
        whole(msg)?;
        self.on_server(Shown::Whole(&mut msg[HEADER_LEN..]))
            .map(|_| ())
            .map_err(Violation::new)
    }

    fn wire_options(&self) -> (u32, u32) {
        (self.caps, self.mariadb_caps)
    }
}
