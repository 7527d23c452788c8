//! The session's waits: what wakes them, and what they must not miss.

use super::super::test_waker::{poll_once, CountingWaker};
use super::*;
use std::pin::pin;
use std::sync::Arc;

#[test]
fn a_change_between_the_call_and_the_first_poll_is_not_missed() {
    let s = SessionCtl::default();
    let w = Arc::new(CountingWaker::default());
    let mut changed = pin!(s.changed());
    s.request(Ctl::Hold);
    assert!(poll_once(changed.as_mut(), &w).is_ready());
}

#[test]
fn a_change_wakes_a_pending_wait_once_and_it_then_resolves() {
    let s = SessionCtl::default();
    let w = Arc::new(CountingWaker::default());
    let mut changed = pin!(s.changed());
    assert!(poll_once(changed.as_mut(), &w).is_pending());
    // Polled again by the same task: registered once, so woken once.
    assert!(poll_once(changed.as_mut(), &w).is_pending());
    s.request(Ctl::Drain);
    assert_eq!(w.wakes(), 1);
    assert!(poll_once(changed.as_mut(), &w).is_ready());
}

#[test]
fn stop_all_wakes_and_resolves_stopped_and_a_second_stop_wakes_nobody() {
    let s = SessionCtl::default();
    let w = Arc::new(CountingWaker::default());
    let mut stopped = pin!(s.stopped());
    assert!(poll_once(stopped.as_mut(), &w).is_pending());
    s.stop_all();
    assert_eq!(w.wakes(), 1);
    assert!(poll_once(stopped.as_mut(), &w).is_ready());
    s.stop_all();
    assert_eq!(w.wakes(), 1);
    assert!(s.is_stopped());
}

#[test]
fn a_held_session_is_released_by_run_and_switched_by_switch() {
    let s = SessionCtl::default();
    let w = Arc::new(CountingWaker::default());
    s.request(Ctl::Hold);
    let mut wait = pin!(s.wait_release());
    assert!(poll_once(wait.as_mut(), &w).is_pending());
    s.request(Ctl::Switch(SourceOfTruth::Target));
    assert!(w.wakes() >= 1);
    assert_eq!(
        poll_once(wait.as_mut(), &w),
        Poll::Ready(Release::Switch(SourceOfTruth::Target))
    );
}

#[test]
fn stopped_or_changed_says_which_and_a_stop_wins_over_a_change() {
    let s = SessionCtl::default();
    let w = Arc::new(CountingWaker::default());
    let mut either = pin!(s.stopped_or_changed());
    assert!(poll_once(either.as_mut(), &w).is_pending());
    s.request(Ctl::Hold);
    assert_eq!(w.wakes(), 1);
    assert_eq!(poll_once(either.as_mut(), &w), Poll::Ready(Event::Changed));

    let mut both = pin!(s.stopped_or_changed());
    s.request(Ctl::Run);
    s.stop_all();
    assert_eq!(poll_once(both.as_mut(), &w), Poll::Ready(Event::Stopped));
}
