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
pub struct Signal {
    set: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Completes at the first notification since the last wait completed.
    pub async fn notified(&self) {
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
mod tests {
    use super::Signal;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_notification_before_the_wait_is_kept() {
        let s = Signal::default();
        s.notify();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(pin!(s.notified()).poll(&mut cx), Poll::Ready(()));
        // Consumed: the next wait waits.
        assert_eq!(pin!(s.notified()).poll(&mut cx), Poll::Pending);
    }

    #[test]
    fn notify_wakes_the_waiter_once_and_completes_its_wait() {
        let s = Signal::default();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut wait = pin!(s.notified());
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Pending);
        s.notify();
        s.notify();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}
