//! A wake-up flag between loops joined in one task. The shadow relay hands work between
//! its loops once or twice per request; tokio's `Notify` is built for threads and costs
//! a lock, waiter-list bookkeeping and a waker clone each time, where a flag and one
//! stored waker do.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// One waiter at a time; a notification with nobody waiting is kept for the next wait,
/// as `Notify::notify_one` does.
#[derive(Default)]
pub(super) struct Signal {
    set: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    pub(super) fn notify(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Completes at the first notification since the last wait completed.
    pub(super) async fn notified(&self) {
        poll_fn(|cx| {
            if self.set.replace(false) {
                return Poll::Ready(());
            }
            let w = match self.waker.take() {
                Some(w) if w.will_wake(cx.waker()) => w,
                _ => cx.waker().clone(),
            };
            self.waker.set(Some(w));
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests;
