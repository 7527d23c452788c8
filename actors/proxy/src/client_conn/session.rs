//! State one client session shares between its two relay directions and its actor:
//! where the protocol stands (requests in flight, transaction status) and what the
//! control plane asks (hold, drain, kill). Single-threaded: it lives on one arbiter.

use crate::conn_info::ConnInfo;
use crate::metrics::ProxyMetrics;
use molt_lms_api::SourceOfTruth;
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::codec::put_message;
use molt_lms_wire::pg::frontend::{self, closed_statement, parse_statement, query_text};
use molt_lms_wire::pg::{ProtocolError, ScanControl};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::task::{Poll, Waker};
use std::time::Instant;

/// What the control plane asks of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctl {
    /// Relay freely.
    Run,
    /// Finish what is in flight (and any open transaction), then hold the next request.
    Hold,
    /// Like `Hold`, then close the session (graceful shutdown).
    Drain,
    /// Like `Hold`, then move the session to this database and run again.
    Switch(SourceOfTruth),
}

/// How a held relay was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    Go,
    Drain,
    Switch(SourceOfTruth),
    Stopped,
}

pub struct SessionCtl {
    ctl: Cell<Ctl>,
    /// Bumped when `ctl` changes, and when a session that is not running goes quiet.
    changes: Cell<u64>,
    stopped: Cell<bool>,
    /// The tasks waiting for a change or a stop.
    waiters: Waiters,
    /// Why the session was killed, for the client's error message.
    killed: RefCell<Option<String>>,
    /// Requests sent that still await a ReadyForQuery (Query, Sync, FunctionCall).
    pending: Cell<u32>,
    /// Extended-protocol messages seen since the last Sync.
    in_batch: Cell<bool>,
    /// Transaction status of the last ReadyForQuery.
    tx: Cell<u8>,
    request_started: Cell<Option<Instant>>,
    saw_error: Cell<bool>,
    terminate_seen: Cell<bool>,
    /// Named prepared statements: name → the raw Parse message, to re-prepare elsewhere.
    prepared: RefCell<HashMap<String, Vec<u8>>>,
    /// Latest value of each ParameterStatus the client has seen.
    params: RefCell<Vec<(String, String)>>,
}

impl Default for SessionCtl {
    fn default() -> Self {
        Self {
            ctl: Cell::new(Ctl::Run),
            changes: Cell::new(0),
            stopped: Cell::new(false),
            waiters: Waiters::default(),
            killed: RefCell::new(None),
            pending: Cell::new(0),
            in_batch: Cell::new(false),
            tx: Cell::new(b'I'),
            request_started: Cell::new(None),
            saw_error: Cell::new(false),
            terminate_seen: Cell::new(false),
            prepared: RefCell::new(HashMap::new()),
            params: RefCell::new(Vec::new()),
        }
    }
}

/// Wakers of the tasks that wait on one session. The session lives on one thread, so a
/// plain list does: the relay waits on every read, and tokio's `Notify` would take a lock
/// to link a waiter on each poll and again to unlink it on each drop. Registering the same
/// task twice is a `will_wake` check; a waker whose future is gone costs one spurious poll
/// at the next change, and the list is emptied at every wake.
#[derive(Default)]
struct Waiters(RefCell<Vec<Waker>>);

impl Waiters {
    fn register(&self, waker: &Waker) {
        let mut list = self.0.borrow_mut();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    fn wake_all(&self) {
        let list = self.0.take();
        for w in list {
            w.wake();
        }
    }
}

/// Frontend messages whose body the relay reads.
pub fn client_wants_body(tag: u8) -> bool {
    matches!(tag, b'Q' | b'P' | b'C')
}

/// Backend messages whose body the relay reads.
pub fn backend_wants_body(tag: u8) -> bool {
    matches!(tag, b'Z' | b'E' | b'S')
}

impl SessionCtl {
    /// Nothing in flight and no transaction open: the session can be held or switched.
    pub fn quiescent(&self) -> bool {
        self.pending.get() == 0 && !self.in_batch.get() && self.tx.get() == b'I'
    }

    pub fn ctl(&self) -> Ctl {
        self.ctl.get()
    }

    pub fn request(&self, ctl: Ctl) {
        self.ctl.set(ctl);
        self.signal_change();
    }

    fn signal_change(&self) {
        self.changes.set(self.changes.get().wrapping_add(1));
        self.waiters.wake_all();
    }

    /// Ends both relay directions now, wherever they are.
    pub fn stop_all(&self) {
        if !self.stopped.replace(true) {
            self.waiters.wake_all();
        }
    }

    /// Ends the session now; `reason` goes to the client as a FATAL 57P01.
    pub fn kill(&self, reason: impl Into<String>) {
        self.killed
            .borrow_mut()
            .get_or_insert_with(|| reason.into());
        self.stop_all();
    }

    /// Re-arms the stop signal for the next relay round (after a switch).
    pub fn rearm(&self) {
        self.stopped.set(false);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub fn kill_reason(&self) -> Option<String> {
        self.killed.borrow().clone()
    }

    pub fn terminate_seen(&self) -> bool {
        self.terminate_seen.get()
    }

    /// Resolves when the relay must stop (after `stop_all`).
    pub fn stopped(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.stopped.get() {
                return Poll::Ready(());
            }
            self.waiters.register(cx.waker());
            Poll::Pending
        })
    }

    /// Resolves at the first control change, or quiescence change while not running,
    /// after this call (not after the first poll), so a check between the call and the
    /// await cannot miss one.
    pub fn changed(&self) -> impl Future<Output = ()> + '_ {
        let seen = self.changes.get();
        poll_fn(move |cx| {
            if self.changes.get() != seen {
                return Poll::Ready(());
            }
            self.waiters.register(cx.waker());
            Poll::Pending
        })
    }

    /// Waits while held.
    pub async fn wait_release(&self) -> Release {
        loop {
            let changed = self.changed();
            if self.stopped.get() {
                return Release::Stopped;
            }
            match self.ctl.get() {
                Ctl::Run => return Release::Go,
                Ctl::Drain => return Release::Drain,
                Ctl::Switch(to) => return Release::Switch(to),
                Ctl::Hold => {}
            }
            tokio::select! {
                _ = changed => {}
                _ = self.stopped() => return Release::Stopped,
            }
        }
    }

    /// Waits until the session is quiescent (for a pause acknowledgement).
    pub async fn wait_quiescent(&self) {
        loop {
            let changed = self.changed();
            if self.quiescent() || self.stopped.get() {
                return;
            }
            changed.await;
        }
    }

    /// The raw Parse messages of the named statements the client has prepared.
    pub fn prepared_statements(&self) -> Vec<Vec<u8>> {
        self.prepared.borrow().values().cloned().collect()
    }

    /// The ParameterStatus values the client has seen, latest first-class.
    pub fn reported_params(&self) -> Vec<(String, String)> {
        self.params.borrow().clone()
    }

    /// Records a ParameterStatus value the client has been sent.
    pub fn note_param(&self, name: &str, value: &str) {
        let mut params = self.params.borrow_mut();
        match params.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) if v == value => {}
            Some((_, v)) => *v = value.to_owned(),
            None => params.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Accounts for one client message; decides whether to hold before it.
    pub fn on_client_message(
        &self,
        info: &ConnInfo,
        tag: u8,
        body: Option<&[u8]>,
    ) -> Result<ScanControl, ProtocolError> {
        if !frontend::TAGS.contains(&tag) {
            return Err(ProtocolError::UnknownFrontendMessage(tag));
        }
        if self.ctl.get() != Ctl::Run && self.quiescent() && !matches!(tag, b'X') {
            return Ok(ScanControl::HoldBefore);
        }
        if self.pending.get() == 0 && !self.in_batch.get() && self.request_started.get().is_none() {
            self.request_started.set(Some(Instant::now()));
            self.saw_error.set(false);
        }
        let body = body.unwrap_or_default();
        match tag {
            b'Q' => {
                info.set_last_query(query_text(body).ok_or(ProtocolError::Malformed("Query"))?);
                self.pending.set(self.pending.get() + 1);
            }
            b'P' => {
                let (name, query) =
                    parse_statement(body).ok_or(ProtocolError::Malformed("Parse"))?;
                info.set_last_query(query);
                if !name.is_empty() {
                    let mut raw = Vec::with_capacity(body.len() + 5);
                    put_message(&mut raw, b'P', |o| o.extend_from_slice(body));
                    self.prepared.borrow_mut().insert(name.to_owned(), raw);
                }
                self.in_batch.set(true);
            }
            b'C' => {
                if let Some(name) = closed_statement(body) {
                    self.prepared.borrow_mut().remove(name);
                }
                self.in_batch.set(true);
            }
            b'B' | b'D' | b'E' | b'H' => self.in_batch.set(true),
            b'S' => {
                self.in_batch.set(false);
                self.pending.set(self.pending.get() + 1);
            }
            b'F' => self.pending.set(self.pending.get() + 1),
            b'X' => self.terminate_seen.set(true),
            _ => {} // CopyData, CopyDone, CopyFail, password messages: part of a request.
        }
        if self.pending.get() > 0 || self.in_batch.get() {
            info.set_state(molt_lms_api::ConnectionState::InQuery);
        }
        Ok(ScanControl::Continue)
    }

    /// Accounts for one backend message.
    pub fn on_backend_message(
        &self,
        info: &ConnInfo,
        metrics: &ProxyMetrics,
        tag: u8,
        body: Option<&[u8]>,
    ) -> Result<ScanControl, ProtocolError> {
        match (tag, body) {
            (b'Z', Some(body)) => {
                let status = *body
                    .first()
                    .ok_or(ProtocolError::Malformed("ReadyForQuery"))?;
                self.tx.set(status);
                self.pending.set(self.pending.get().saturating_sub(1));
                if let Some(t) = self.request_started.take() {
                    metrics.query_seconds.observe(t.elapsed().as_secs_f64());
                    if self.saw_error.replace(false) {
                        metrics.queries_error.inc();
                    } else {
                        metrics.queries_ok.inc();
                    }
                    if self.pending.get() > 0 {
                        self.request_started.set(Some(Instant::now()));
                    }
                }
                info.ready(status);
                if self.ctl.get() != Ctl::Run {
                    if self.quiescent() {
                        info.set_state(molt_lms_api::ConnectionState::Held);
                    }
                    self.signal_change();
                }
            }
            (b'S', Some(body)) => {
                if let Some((name, value)) = molt_lms_wire::pg::backend::parameter_status(body) {
                    self.note_param(name, value);
                }
            }
            (b'E', Some(body)) => {
                self.saw_error.set(true);
                let (code, message) = error_fields(body);
                info.set_last_error(&format!("{code}: {message}"));
            }
            _ => {}
        }
        Ok(ScanControl::Continue)
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
