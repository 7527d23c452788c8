//! What a cutover's switch needs from one connection, shared by its actor (which
//! prepares) and its serving task (which switches): who the client is, so a session can
//! be opened for it elsewhere, and the session prepared on the new source of truth.
//! Single-threaded: both live on the connection's worker thread.

use crate::auth::Credential;
use molt_lms_api::SourceOfTruth;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// An authenticated client's identity: enough to log in for it anywhere that stores the
/// same verifier.
#[derive(Clone)]
pub(crate) struct Identity {
    pub user: String,
    pub database: String,
    pub params: Vec<(String, String)>,
    pub credential: Credential,
}

/// The prepare order in force and its outcome. `T` is the prepared session; generic so
/// the ordering rules are tested without sockets.
pub(crate) struct Handoff<T> {
    identity: RefCell<Option<Rc<Identity>>>,
    /// `(order, database)`: the order is the desired-state epoch that asked for it.
    order: Cell<Option<(u64, SourceOfTruth)>>,
    ready: RefCell<Option<(u64, SourceOfTruth, T)>>,
}

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Self {
            identity: RefCell::new(None),
            order: Cell::new(None),
            ready: RefCell::new(None),
        }
    }
}

impl<T> Handoff<T> {
    /// Records who logged in; returns the shared identity.
    pub(crate) fn set_identity(&self, identity: Identity) -> Rc<Identity> {
        let identity = Rc::new(identity);
        *self.identity.borrow_mut() = Some(identity.clone());
        identity
    }

    pub(crate) fn identity(&self) -> Option<Rc<Identity>> {
        self.identity.borrow().clone()
    }

    /// The order in force, if any.
    pub(crate) fn order(&self) -> Option<(u64, SourceOfTruth)> {
        self.order.get()
    }

    /// A new order; returns a session prepared for an older one, to be closed.
    pub(crate) fn order_prepare(&self, order: u64, to: SourceOfTruth) -> Option<T> {
        self.order.set(Some((order, to)));
        let stale = self
            .ready
            .borrow()
            .as_ref()
            .is_some_and(|(o, t, _)| (*o, *t) != (order, to));
        if stale {
            self.ready.take().map(|(_, _, s)| s)
        } else {
            None
        }
    }

    /// Ends the order; returns the session prepared for it, to be closed.
    pub(crate) fn cancel(&self) -> Option<T> {
        self.order.set(None);
        self.ready.take().map(|(_, _, s)| s)
    }

    /// Keeps a finished preparation while its order is still in force; otherwise hands
    /// it back, to be closed.
    pub(crate) fn offer(&self, order: u64, to: SourceOfTruth, session: T) -> Result<(), T> {
        if self.order.get() != Some((order, to)) || self.ready.borrow().is_some() {
            return Err(session);
        }
        *self.ready.borrow_mut() = Some((order, to, session));
        Ok(())
    }

    /// The session prepared for `to`, for the switch. Ends the order either way, so a
    /// preparation still running is closed when it finishes.
    pub(crate) fn take(&self, to: SourceOfTruth) -> Option<T> {
        self.order.set(None);
        match self.ready.take() {
            Some((_, t, s)) if t == to => Some(s),
            Some(other) => {
                // Prepared for the other database: the caller did not ask for it.
                *self.ready.borrow_mut() = Some(other);
                None
            }
            None => None,
        }
    }

    /// A session prepared for a database other than `to`, left over; to be closed.
    pub(crate) fn leftover(&self) -> Option<T> {
        self.ready.take().map(|(_, _, s)| s)
    }
}

#[cfg(test)]
mod tests;
