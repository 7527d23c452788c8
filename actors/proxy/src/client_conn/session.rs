//! State one client session shares between its relay and its actor, whatever the
//! protocol: what the control plane asks (hold, drain, switch, kill), whether the session
//! is quiescent (the protocol's tracker says so), and what a switch must carry over
//! (named statements, reported parameters). Single-threaded: it lives on one worker thread.

use crate::client_error::ClientError;
use crate::conn_info::ConnInfo;
use molt_lms_api::{ConnectionState, SourceOfTruth};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::task::{Poll, Waker};

/// What the control plane asks of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctl {
    /// Relay freely.
    Run,
    /// Finish what is in flight (and any open transaction), then hold the next request.
    Hold,
    /// Like `Hold`, then close the session (graceful shutdown).
    Drain,
    /// Like `Hold`, then move the session to this database and run again.
    Switch(SourceOfTruth),
}

/// What `stopped_or_changed` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Stopped,
    Changed,
}

/// How a held relay was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    Go,
    Drain,
    Switch(SourceOfTruth),
    Stopped,
}

pub(crate) struct SessionCtl {
    ctl: Cell<Ctl>,
    /// Bumped when `ctl` changes, and when a session that is not running goes quiet.
    changes: Cell<u64>,
    stopped: Cell<bool>,
    /// The tasks waiting for a change or a stop.
    waiters: Waiters,
    /// Why the session was killed, for the client's error message.
    killed: RefCell<Option<ClientError>>,
    /// Nothing in flight and no transaction open, as the protocol's tracker last said.
    quiet: Cell<bool>,
    /// The client said goodbye (PostgreSQL's Terminate), and it was passed on.
    client_quit: Cell<bool>,
    /// Named prepared statements: name → the protocol's own request that prepared it,
    /// which a switch replays on the new database.
    prepared: RefCell<HashMap<String, Vec<u8>>>,
    /// Latest value of each session parameter the client has been told about.
    params: RefCell<Vec<(String, String)>>,
    /// Session state outside parameters and statements, as the tracker last read it.
    carry: RefCell<Carry>,
}

/// What a switch must do about session state the server does not report: statements that
/// rebuild it on the new session, and reasons it cannot be moved at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    pub replay: Vec<String>,
    pub blockers: Vec<String>,
}

impl Default for SessionCtl {
    fn default() -> Self {
        Self {
            ctl: Cell::new(Ctl::Run),
            changes: Cell::new(0),
            stopped: Cell::new(false),
            waiters: Waiters::default(),
            killed: RefCell::new(None),
            quiet: Cell::new(true),
            client_quit: Cell::new(false),
            prepared: RefCell::new(HashMap::new()),
            params: RefCell::new(Vec::new()),
            carry: RefCell::default(),
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

impl SessionCtl {
    /// Nothing in flight and no transaction open: the session can be held or switched.
    pub(crate) fn quiescent(&self) -> bool {
        self.quiet.get()
    }

    /// The tracker's word on quiescence after a client request.
    pub(crate) fn set_quiet(&self, quiet: bool) {
        self.quiet.set(quiet);
    }

    /// The tracker saw an answer end (`quiet`: the session is quiescent now). A session
    /// asked to hold shows as held, and whoever waits for quiescence is woken.
    pub(crate) fn answered(&self, info: &ConnInfo, quiet: bool) {
        self.quiet.set(quiet);
        if self.ctl.get() != Ctl::Run {
            if quiet {
                info.set_state(ConnectionState::Held);
            }
            self.signal_change();
        }
    }

    /// The next client request must wait: the control plane asked for a hold and the
    /// session is quiescent.
    pub(crate) fn hold_next_request(&self) -> bool {
        self.ctl.get() != Ctl::Run && self.quiet.get()
    }

    pub(crate) fn ctl(&self) -> Ctl {
        self.ctl.get()
    }

    pub(crate) fn request(&self, ctl: Ctl) {
        self.ctl.set(ctl);
        self.signal_change();
    }

    fn signal_change(&self) {
        self.changes.set(self.changes.get().wrapping_add(1));
        self.waiters.wake_all();
    }

    /// Ends both relay directions now, wherever they are.
    pub(crate) fn stop_all(&self) {
        if !self.stopped.replace(true) {
            self.waiters.wake_all();
        }
    }

    /// Ends the session now; `reason` goes to the client.
    pub(crate) fn kill(&self, reason: ClientError) {
        self.killed.borrow_mut().get_or_insert(reason);
        self.stop_all();
    }

    /// Re-arms the stop signal for the next relay round (after a switch).
    pub(crate) fn rearm(&self) {
        self.stopped.set(false);
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    pub(crate) fn kill_reason(&self) -> Option<ClientError> {
        self.killed.borrow().clone()
    }

    /// The client ended its session itself (its goodbye already passed on).
    pub(crate) fn client_quit(&self) -> bool {
        self.client_quit.get()
    }

    pub(crate) fn set_client_quit(&self) {
        self.client_quit.set(true);
    }

    /// Resolves when the relay must stop (after `stop_all`).
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + '_ {
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
    pub(crate) fn changed(&self) -> impl Future<Output = ()> + '_ {
        let seen = self.changes.get();
        poll_fn(move |cx| {
            if self.changes.get() != seen {
                return Poll::Ready(());
            }
            self.waiters.register(cx.waker());
            Poll::Pending
        })
    }

    /// `stopped()` and `changed()` in one wait, the stop first: a relay's read and a held
    /// session wait on both, and one registration per poll costs half of two. Like
    /// `changed()`, it counts changes from this call on.
    pub(crate) fn stopped_or_changed(&self) -> impl Future<Output = Event> + '_ {
        let seen = self.changes.get();
        poll_fn(move |cx| {
            if self.stopped.get() {
                return Poll::Ready(Event::Stopped);
            }
            if self.changes.get() != seen {
                return Poll::Ready(Event::Changed);
            }
            self.waiters.register(cx.waker());
            Poll::Pending
        })
    }

    /// Waits while held.
    pub(crate) async fn wait_release(&self) -> Release {
        loop {
            let event = self.stopped_or_changed();
            if self.stopped.get() {
                return Release::Stopped;
            }
            match self.ctl.get() {
                Ctl::Run => return Release::Go,
                Ctl::Drain => return Release::Drain,
                Ctl::Switch(to) => return Release::Switch(to),
                Ctl::Hold => {}
            }
            if event.await == Event::Stopped {
                return Release::Stopped;
            }
        }
    }

    /// Waits until the session is quiescent (for a pause acknowledgement).
    pub(crate) async fn wait_quiescent(&self) {
        loop {
            let changed = self.changed();
            if self.quiescent() || self.stopped.get() {
                return;
            }
            changed.await;
        }
    }

    /// The requests that prepared the client's named statements (PostgreSQL: Parse).
    pub(crate) fn prepared_statements(&self) -> Vec<Vec<u8>> {
        self.prepared.borrow().values().cloned().collect()
    }

    /// Remembers the request that prepared a named statement, for a switch to replay.
    pub(crate) fn note_prepared(&self, name: &str, request: Vec<u8>) {
        self.prepared.borrow_mut().insert(name.to_owned(), request);
    }

    pub(crate) fn forget_prepared(&self, name: &str) {
        self.prepared.borrow_mut().remove(name);
    }

    /// The server dropped every statement of the session (MySQL's
    /// `COM_RESET_CONNECTION`).
    pub(crate) fn forget_all_prepared(&self) {
        self.prepared.borrow_mut().clear();
    }

    /// The session parameters the client has been told about, latest values.
    pub(crate) fn reported_params(&self) -> Vec<(String, String)> {
        self.params.borrow().clone()
    }

    pub(crate) fn carry(&self) -> Carry {
        self.carry.borrow().clone()
    }

    pub(crate) fn set_carry(&self, carry: Carry) {
        *self.carry.borrow_mut() = carry;
    }

    /// Records a session parameter value the client has been sent.
    pub(crate) fn note_param(&self, name: &str, value: &str) {
        let mut params = self.params.borrow_mut();
        match params.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) if v == value => {}
            Some((_, v)) => *v = value.to_owned(),
            None => params.push((name.to_owned(), value.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests;
