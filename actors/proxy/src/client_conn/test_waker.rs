//! Unit-test support for the hand-written waits of this module (`SessionCtl`, `Signal`):
//! a waker that counts its wake-ups, so a test can tell whether and how often a wait was
//! woken, and a single poll with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

#[derive(Default)]
pub(crate) struct CountingWaker(AtomicUsize);

impl CountingWaker {
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `f` once with `waker`.
pub(crate) fn poll_once<F: Future>(f: Pin<&mut F>, waker: &Arc<CountingWaker>) -> Poll<F::Output> {
    let waker = Waker::from(waker.clone());
    f.poll(&mut Context::from_waker(&waker))
}
