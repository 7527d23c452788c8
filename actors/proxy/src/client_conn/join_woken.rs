//! Joins a relay's two directions, polling on each wake-up only the direction whose
//! waker fired. `tokio::join!` polls every unfinished branch whenever the task wakes;
//! in a relay the two directions take turns, so every message would also poll the idle
//! direction, re-registering its wakers and re-checking its socket for nothing.

use futures_util::task::AtomicWaker;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// What both branches share: the joining task's waker.
#[derive(Default)]
struct Parent(AtomicWaker);

/// One branch's waker: marks the branch due and wakes the joining task.
struct Branch {
    due: AtomicBool,
    parent: Arc<Parent>,
}

impl Wake for Branch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.due.store(true, Ordering::Release);
        self.parent.0.wake();
    }
}

fn branch(parent: &Arc<Parent>) -> (Arc<Branch>, Waker) {
    let b = Arc::new(Branch {
        // Due at first, so that each branch is polled once to register its interest.
        due: AtomicBool::new(true),
        parent: parent.clone(),
    });
    let w = Waker::from(b.clone());
    (b, w)
}

/// Polls `f` if its branch is due (clearing the mark first, so that a wake-up during
/// the poll is not lost) and it has not finished.
fn poll_due<F: Future>(
    f: std::pin::Pin<&mut F>,
    out: &mut Option<F::Output>,
    b: &Branch,
    w: &Waker,
) {
    if out.is_none() && b.due.swap(false, Ordering::AcqRel) {
        if let Poll::Ready(v) = f.poll(&mut Context::from_waker(w)) {
            *out = Some(v);
        }
    }
}

/// Both outputs, once both futures have finished.
pub(crate) async fn join_woken<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let parent = Arc::new(Parent::default());
    let (ba, wa) = branch(&parent);
    let (bb, wb) = branch(&parent);
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut oa, mut ob) = (None, None);
    poll_fn(|cx| {
        parent.0.register(cx.waker());
        poll_due(a.as_mut(), &mut oa, &ba, &wa);
        poll_due(b.as_mut(), &mut ob, &bb, &wb);
        if oa.is_some() && ob.is_some() {
            Poll::Ready((oa.take().expect("a"), ob.take().expect("b")))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests;
