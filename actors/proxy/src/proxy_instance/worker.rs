//! The threads client connections run on: each a current-thread Tokio runtime with a
//! `LocalSet`, as an actix `Arbiter` is, so connection actors and their relay tasks run
//! there unchanged.
//!
//! Why not an `Arbiter`: a `LocalSet` polls the future its thread blocks on at every
//! wake-up of any task on the thread, and an arbiter blocks on its command channel. Every
//! request through the proxy woke its thread twice (the query, then the answer), so the
//! channel was polled and its waker registered again twice per request, about 400
//! instructions for nothing. Here the thread blocks on a flag whose poll is a load and a
//! waker comparison, and commands are read by a task of their own, which runs only when a
//! command arrives and sets the flag when the channel closes.

#[cfg(test)]
mod tests;

use actix::dev::channel;
use actix::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use tokio::sync::mpsc;

/// Mailbox capacity of actors started here, as actix gives them.
const MAILBOX: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// One connection thread; stopped (its tasks dropped) when this handle is dropped.
pub(crate) struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
}

/// Set by the command task when the last handle is gone; the thread then ends.
#[derive(Default)]
struct Closed {
    done: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Closed {
    fn close(&self) {
        self.done.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// What the thread blocks on: cheap to poll, since it is polled at every wake-up.
struct UntilClosed(Rc<Closed>);

impl Future for UntilClosed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0.done.get() {
            return Poll::Ready(());
        }
        let mut waker = self.0.waker.borrow_mut();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Worker {
    /// Starts the thread. It belongs to the calling thread's actix `System`.
    pub(crate) fn start(name: String) -> io::Result<Self> {
        let system = actix_rt::System::current();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        // Not joined: the thread ends by itself once the handle is dropped, and a drop
        // must not block an actor.
        std::thread::Builder::new().name(name).spawn(move || {
            actix_rt::System::set_current(system);
            let local = tokio::task::LocalSet::new();
            let closed = Rc::new(Closed::default());
            let on_close = closed.clone();
            local.spawn_local(async move {
                while let Some(job) = queue.recv().await {
                    job();
                }
                on_close.close();
            });
            local.block_on(&runtime, UntilClosed(closed));
        })?;
        Ok(Self { jobs })
    }

    /// Starts an actor on this thread, as `Actor::start_in_arbiter` does on an arbiter.
    pub(crate) fn start_actor<A, F>(&self, make: F) -> Addr<A>
    where
        A: Actor<Context = Context<A>>,
        F: FnOnce(&mut Context<A>) -> A + Send + 'static,
    {
        let (tx, rx) = channel::channel(MAILBOX);
        self.run(move || {
            let mut ctx = Context::with_receiver(rx);
            let actor = make(&mut ctx);
            actix_rt::spawn(ctx.into_future(actor));
        });
        Addr::new(tx)
    }

    /// Runs `job` on this thread. Dropped unrun if the thread has stopped: an actor
    /// started then never runs, and its address reports it closed.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) {
        let _ = self.jobs.send(Box::new(job));
    }
}
