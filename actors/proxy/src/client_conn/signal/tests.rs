use super::super::test_waker::{poll_once, CountingWaker};
use super::Signal;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

#[test]
fn a_notification_before_the_wait_is_kept() {
    let s = Signal::default();
    let w = Arc::new(CountingWaker::default());
    s.notify();
    assert_eq!(poll_once(pin!(s.notified()), &w), Poll::Ready(()));
    // Consumed: the next wait waits.
    assert_eq!(poll_once(pin!(s.notified()), &w), Poll::Pending);
}

#[test]
fn notify_wakes_the_waiter_once_and_completes_its_wait() {
    let s = Signal::default();
    let w = Arc::new(CountingWaker::default());
    let mut wait = pin!(s.notified());
    assert_eq!(poll_once(wait.as_mut(), &w), Poll::Pending);
    assert_eq!(poll_once(wait.as_mut(), &w), Poll::Pending);
    s.notify();
    s.notify();
    assert_eq!(w.wakes(), 1);
    assert_eq!(poll_once(wait.as_mut(), &w), Poll::Ready(()));
}
