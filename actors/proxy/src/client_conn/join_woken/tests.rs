use super::join_woken;
use crate::client_conn::test_waker::{poll_once, CountingWaker};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Poll, Waker};

/// A future that counts its polls, keeps its latest waker, and finishes with `value` once
/// `done` is set.
struct Probe {
    polls: Cell<usize>,
    waker: RefCell<Option<Waker>>,
    done: Cell<bool>,
}

impl Probe {
    fn new() -> Self {
        Self {
            polls: Cell::new(0),
            waker: RefCell::new(None),
            done: Cell::new(false),
        }
    }

    async fn run(&self, value: u32) -> u32 {
        poll_fn(|cx| {
            self.polls.set(self.polls.get() + 1);
            if self.done.get() {
                return Poll::Ready(value);
            }
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    fn wake(&self) {
        self.waker
            .borrow()
            .as_ref()
            .expect("polled once")
            .wake_by_ref();
    }
}

#[test]
fn only_the_woken_branch_is_polled_again() {
    let (a, b) = (Probe::new(), Probe::new());
    let parent = Arc::new(CountingWaker::default());
    let mut j = pin!(join_woken(a.run(1), b.run(2)));
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!(
        (a.polls.get(), b.polls.get()),
        (1, 1),
        "each polled once at first"
    );

    a.wake();
    assert_eq!(
        parent.wakes(),
        1,
        "a branch's wake-up wakes the joining task"
    );
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!((a.polls.get(), b.polls.get()), (2, 1), "b was not woken");

    // A poll of the joining task with nothing woken polls neither branch.
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!((a.polls.get(), b.polls.get()), (2, 1));

    b.wake();
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!((a.polls.get(), b.polls.get()), (2, 2));
}

#[test]
fn both_outputs_once_both_finish_and_a_finished_branch_is_not_polled_again() {
    let (a, b) = (Probe::new(), Probe::new());
    let parent = Arc::new(CountingWaker::default());
    let mut j = pin!(join_woken(a.run(1), b.run(2)));
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    b.done.set(true);
    b.wake();
    assert!(
        poll_once(j.as_mut(), &parent).is_pending(),
        "a is still running"
    );
    assert_eq!(b.polls.get(), 2);
    // A stale wake-up of the finished branch does not poll it again.
    b.wake();
    a.done.set(true);
    a.wake();
    assert_eq!(poll_once(j.as_mut(), &parent), Poll::Ready((1, 2)));
    assert_eq!((a.polls.get(), b.polls.get()), (2, 2));
}

#[test]
fn a_wake_up_during_the_branchs_own_poll_is_not_lost() {
    let polls = Cell::new(0);
    let parent = Arc::new(CountingWaker::default());
    // Wakes itself while being polled, as a future does when it yields.
    let yields = poll_fn(|cx| {
        polls.set(polls.get() + 1);
        if polls.get() == 3 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    });
    let mut j = pin!(join_woken(yields, async { 7 }));
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!(parent.wakes(), 1);
    assert!(poll_once(j.as_mut(), &parent).is_pending());
    assert_eq!(poll_once(j.as_mut(), &parent), Poll::Ready(((), 7)));
    assert_eq!(polls.get(), 3);
}
