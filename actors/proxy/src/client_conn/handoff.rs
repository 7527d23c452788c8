//! What a cutover's switch needs from one connection, shared by its actor (which
//! prepares) and its serving task (which switches): who the client is, so a session can
//! be opened for it elsewhere, and the session prepared on the new source of truth.
//! Single-threaded: both live on the connection's arbiter.

use crate::auth::Credential;
use molt_lms_api::SourceOfTruth;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// An authenticated client's identity: enough to log in for it anywhere that stores the
/// same verifier.
#[derive(Clone)]
pub struct Identity {
    pub user: String,
    pub database: String,
    pub params: Vec<(String, String)>,
    pub credential: Credential,
}

/// The prepare order in force and its outcome. `T` is the prepared session; generic so
/// the ordering rules are tested without sockets.
pub struct Handoff<T> {
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
    pub fn set_identity(&self, identity: Identity) -> Rc<Identity> {
        let identity = Rc::new(identity);
        *self.identity.borrow_mut() = Some(identity.clone());
        identity
    }

    pub fn identity(&self) -> Option<Rc<Identity>> {
        self.identity.borrow().clone()
    }

    /// The order in force, if any.
    pub fn order(&self) -> Option<(u64, SourceOfTruth)> {
        self.order.get()
    }

    /// A new order; returns a session prepared for an older one, to be closed.
    pub fn order_prepare(&self, order: u64, to: SourceOfTruth) -> Option<T> {
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
    pub fn cancel(&self) -> Option<T> {
        self.order.set(None);
        self.ready.take().map(|(_, _, s)| s)
    }

    /// Keeps a finished preparation while its order is still in force; otherwise hands
    /// it back, to be closed.
    pub fn offer(&self, order: u64, to: SourceOfTruth, session: T) -> Result<(), T> {
        if self.order.get() != Some((order, to)) || self.ready.borrow().is_some() {
            return Err(session);
        }
        *self.ready.borrow_mut() = Some((order, to, session));
        Ok(())
    }

    /// The session prepared for `to`, for the switch. Ends the order either way, so a
    /// preparation still running is closed when it finishes.
    pub fn take(&self, to: SourceOfTruth) -> Option<T> {
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
    pub fn leftover(&self) -> Option<T> {
        self.ready.take().map(|(_, _, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SourceOfTruth::{Source, Target};

    #[test]
    fn a_preparation_is_kept_only_for_the_order_in_force() {
        let h: Handoff<u32> = Handoff::default();
        assert_eq!(h.offer(1, Target, 10), Err(10), "no order yet");
        assert_eq!(h.order_prepare(1, Target), None);
        assert_eq!(h.offer(1, Target, 11), Ok(()));
        assert_eq!(h.offer(1, Target, 12), Err(12), "one session per order");
        assert_eq!(h.take(Target), Some(11));
        assert_eq!(h.offer(1, Target, 13), Err(13), "a switch ended the order");
    }

    #[test]
    fn cancel_and_a_newer_order_hand_back_what_was_prepared() {
        let h: Handoff<u32> = Handoff::default();
        h.order_prepare(1, Target);
        h.offer(1, Target, 1).expect("kept");
        assert_eq!(h.order_prepare(1, Target), None, "same order keeps it");
        assert_eq!(h.order_prepare(2, Target), Some(1), "newer order");
        assert_eq!(
            h.offer(1, Target, 2),
            Err(2),
            "late result of the old order"
        );
        h.offer(2, Target, 3).expect("kept");
        assert_eq!(h.cancel(), Some(3));
        assert_eq!(h.order(), None);
        assert_eq!(h.offer(2, Target, 4), Err(4), "cancelled");
    }

    #[test]
    fn take_returns_only_a_session_for_the_database_asked() {
        let h: Handoff<u32> = Handoff::default();
        h.order_prepare(1, Target);
        h.offer(1, Target, 7).expect("kept");
        assert_eq!(h.take(Source), None);
        assert_eq!(h.leftover(), Some(7));
    }
}
