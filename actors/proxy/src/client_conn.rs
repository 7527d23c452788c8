//! One client connection as an actor. The actor owns the session's lifecycle and takes
//! control messages (drain, kill); the bytes move in a plain async loop (`relay`) that
//! runs as a task of its own on the actor's worker thread, sharing `SessionCtl` with it.

pub(crate) mod handoff;
mod join_woken;
pub(crate) mod relay;
mod serve;
pub(crate) mod session;
pub(crate) mod shadow_relay;
mod signal;
#[cfg(test)]
mod test_waker;
mod waiting;

use crate::client_error::{ClientError, ClientErrorKind};
use crate::conn_info::ConnInfo;
use crate::protocol::{BackendSession, ClientKey, PrepareError, Prepared, Protocol, TxState};
use crate::proxy_instance::cutover::PrepareOutcome;
use crate::proxy_instance::{ConnClosed, PrepareDone, PrepareStarted, ProxyInstance, Quiescent};
use crate::shared::Shared;
use actix::prelude::*;
use handoff::{Handoff, Identity};
use molt_lms_api::cutover::PrepareFailure;
use molt_lms_api::{ConnectionState, SourceOfTruth};
use serve::Serve;
use session::{Ctl, SessionCtl};
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use tokio::net::TcpStream;

pub(crate) use serve::prepare_in_time;

/// One client connection, generic over its wire protocol (`P`), which supplies every
/// step that is not the same for all protocols.
pub(crate) struct ClientConn<P: Protocol> {
    /// Registered with this actor's own reactor when the actor starts on its worker.
    socket: Option<std::net::TcpStream>,
    shared: Arc<Shared>,
    instance: Addr<ProxyInstance>,
    info: Arc<ConnInfo>,
    session: Rc<SessionCtl>,
    /// The client's identity and the session prepared for a cutover's switch.
    handoff: Rc<Handoff<Prepared<P::Session>>>,
    /// The prepare order whose preparation this actor started.
    preparing: Option<u64>,
    /// The cancel key this proxy hands the client.
    cancel_key: ClientKey,
    /// The task that serves the connection; ended when the actor stops.
    task: Option<tokio::task::JoinHandle<()>>,
    protocol: PhantomData<fn() -> P>,
}

impl<P: Protocol> ClientConn<P> {
    pub(crate) fn new(
        socket: std::net::TcpStream,
        shared: Arc<Shared>,
        instance: Addr<ProxyInstance>,
        info: Arc<ConnInfo>,
        cancel_key: ClientKey,
    ) -> Self {
        Self {
            socket: Some(socket),
            shared,
            instance,
            info,
            session: Rc::new(SessionCtl::default()),
            handoff: Rc::new(Handoff::default()),
            preparing: None,
            cancel_key,
            task: None,
            protocol: PhantomData,
        }
    }

    /// Prepares this session on `to` for order `order`, unless already started; the
    /// instance hears `PrepareDone`. Runs beside the held relay, on this worker thread.
    fn start_prepare(&mut self, order: u64, to: SourceOfTruth, ctx: &mut Context<Self>) {
        let Some(identity) = self.handoff.identity() else {
            return;
        };
        if self.preparing == Some(order) {
            return;
        }
        self.preparing = Some(order);
        let (shared, session, handoff) = (
            self.shared.clone(),
            self.session.clone(),
            self.handoff.clone(),
        );
        let (instance, id) = (self.instance.clone(), self.info.id);
        let failure = {
            let identity = identity.clone();
            move |e: PrepareError| PrepareFailure {
                connection_id: id,
                role: identity.user.clone(),
                database: identity.database.clone(),
                stage: e.stage,
                statement: e.statement,
                message: e.message,
            }
        };
        ctx.spawn(
            async move {
                let prepared = prepare_in_time::<P>(&shared, to, &identity, &session).await;
                let outcome = match prepared {
                    Ok(p) => {
                        let statements = p.statements;
                        if let Err(mut p) = handoff.offer(order, to, p) {
                            // The order was cancelled or superseded meanwhile.
                            P::close(p.session.stream_mut()).await;
                        }
                        PrepareOutcome::Ready { statements }
                    }
                    Err(e) => PrepareOutcome::Failed(failure(e)),
                };
                instance.do_send(PrepareDone { id, order, outcome });
            }
            .into_actor(self),
        );
    }
}

/// Closes a prepared session nobody will use, in the background.
fn discard<P: Protocol>(prepared: Option<Prepared<P::Session>>) {
    if let Some(mut p) = prepared {
        actix_rt::spawn(async move { P::close(p.session.stream_mut()).await });
    }
}

impl<P: Protocol> Actor for ClientConn<P> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(socket) = self.socket.take().and_then(|s| TcpStream::from_std(s).ok()) else {
            ctx.stop();
            return;
        };
        self.shared.metrics.connections_open.inc();
        self.shared.metrics.connections_total.inc();
        let conn = Serve::<P> {
            shared: self.shared.clone(),
            instance: self.instance.clone(),
            me: ctx.address(),
            info: self.info.clone(),
            session: self.session.clone(),
            handoff: self.handoff.clone(),
            cancel_key: self.cancel_key,
            keys: Cell::new(None),
            shadow_key: Cell::new(None),
        };
        // A task of its own rather than a future in the actor's context: the context
        // would poll its mailbox and its other futures at every wake-up of the data path.
        let served = ServedOnDrop(ctx.address());
        self.task = Some(actix_rt::spawn(async move {
            let _served = served;
            conn.run(socket).await;
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        discard::<P>(self.handoff.cancel());
        self.shared.metrics.connections_open.dec();
        self.instance.do_send(ConnClosed { id: self.info.id });
    }
}

/// The serving task ended: the connection is closed.
#[derive(Message)]
#[rtype(result = "()")]
struct Served;

/// Tells the actor its serving task ended however it ended: returned, or unwound by a
/// panic, which the runtime would otherwise swallow, leaving a connection in the registry
/// that a cutover would wait for.
struct ServedOnDrop<P: Protocol>(Addr<ClientConn<P>>);

impl<P: Protocol> Drop for ServedOnDrop<P> {
    fn drop(&mut self) {
        self.0.do_send(Served);
    }
}

impl<P: Protocol> Handler<Served> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Served, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// Finish in-flight work, then close (graceful shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Drain;

impl<P: Protocol> Handler<Drain> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Drain, _: &mut Self::Context) {
        if self.session.quiescent() {
            self.info.set_state(ConnectionState::Held);
        }
        self.session.request(Ctl::Drain);
    }
}

/// Close now, whatever is in flight (shutdown timeout).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Kill;

impl<P: Protocol> Handler<Kill> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Kill, ctx: &mut Self::Context) {
        self.session.kill(ClientError::shutting_down());
        // A connection still in start-up has no relay to stop.
        if self.info.state() == ConnectionState::Startup {
            tracing::info!(conn = self.info.id, peer = %self.info.client_addr, "closing a connection still in start-up: the proxy is shutting down");
            ctx.stop();
        }
    }
}

/// Cutover begin: finish in-flight work and any open transaction, then hold. The
/// instance hears `Quiescent` once the session is held.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Hold;

impl<P: Protocol> Handler<Hold> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Hold, ctx: &mut Self::Context) {
        self.session.request(Ctl::Hold);
        let (session, instance, info) = (
            self.session.clone(),
            self.instance.clone(),
            self.info.clone(),
        );
        ctx.spawn(
            async move {
                session.wait_quiescent().await;
                if session.ctl() != Ctl::Run {
                    if info.state() != ConnectionState::Startup {
                        info.set_state(ConnectionState::Held);
                    }
                    instance.do_send(Quiescent { id: info.id });
                }
            }
            .into_actor(self),
        );
    }
}

/// Cutover abort: run again on the same database.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Release;

impl<P: Protocol> Handler<Release> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Release, _: &mut Self::Context) {
        if self.info.state() == ConnectionState::Held {
            self.info.ready(TxState::Idle);
        }
        self.session.request(Ctl::Run);
    }
}

/// Cutover commit: move the held session to `to`, then run. The instance hears
/// `SwitchDone`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Switch {
    pub to: SourceOfTruth,
}

impl<P: Protocol> Handler<Switch> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, msg: Switch, _: &mut Self::Context) {
        // A session still in start-up acts on this once its relay starts; if it opened
        // its backend after the switch, that is already the new source of truth.
        self.session.request(Ctl::Switch(msg.to));
    }
}

/// Commit, phase one: prepare this session on `to` while it is held. A session not yet
/// logged in answers `NotLoggedIn` now and prepares once it is (`LoggedIn`).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Prepare {
    pub order: u64,
    pub to: SourceOfTruth,
}

impl<P: Protocol> Handler<Prepare> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, msg: Prepare, ctx: &mut Self::Context) {
        discard::<P>(self.handoff.order_prepare(msg.order, msg.to));
        if self.handoff.identity().is_some() {
            self.start_prepare(msg.order, msg.to, ctx);
        } else {
            self.instance.do_send(PrepareDone {
                id: self.info.id,
                order: msg.order,
                outcome: PrepareOutcome::NotLoggedIn,
            });
        }
    }
}

/// The preparation was called off (abort, or a commit refused): close what was prepared.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Unprepare;

impl<P: Protocol> Handler<Unprepare> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: Unprepare, _: &mut Self::Context) {
        self.preparing = None;
        discard::<P>(self.handoff.cancel());
    }
}

/// The client authenticated: a prepare order in force applies to it now.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct LoggedIn;

impl<P: Protocol> Handler<LoggedIn> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, _: LoggedIn, ctx: &mut Self::Context) {
        // Only a preparation not started yet: had `Prepare` found the identity already
        // and started it, the instance may have counted its outcome, and a second
        // `PrepareStarted` would leave the session pending for good.
        if let Some((order, to)) = self
            .handoff
            .order()
            .filter(|(o, _)| self.preparing != Some(*o))
        {
            self.instance.do_send(PrepareStarted {
                id: self.info.id,
                order,
            });
            self.start_prepare(order, to, ctx);
        }
    }
}

/// What the cutover check needs of a logged-in session: who it is and the requests that
/// prepared its named statements (PostgreSQL: raw Parse messages). Owned copies: it
/// crosses threads.
pub(crate) struct SketchData {
    pub connection_id: u64,
    pub identity: Identity,
    pub statements: Vec<Vec<u8>>,
    /// Why the session cannot be moved (see `SessionCtl::carry`); empty when it can.
    pub blockers: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "Option<SketchData>")]
pub(crate) struct Describe;

impl<P: Protocol> Handler<Describe> for ClientConn<P> {
    type Result = Option<SketchData>;
    fn handle(&mut self, _: Describe, _: &mut Self::Context) -> Self::Result {
        Some(SketchData {
            connection_id: self.info.id,
            identity: (*self.handoff.identity()?).clone(),
            statements: self.session.prepared_statements(),
            blockers: self.session.carry().blockers,
        })
    }
}

/// Cutover begin-timeout with action `terminate`: end this blocking session.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct TerminateBlocker {
    pub attempt_id: u64,
}

impl<P: Protocol> Handler<TerminateBlocker> for ClientConn<P> {
    type Result = ();
    fn handle(&mut self, msg: TerminateBlocker, _: &mut Self::Context) {
        self.session.kill(ClientError::new(
            ClientErrorKind::Terminated,
            format!(
                "terminating connection: molt-lms cutover attempt {} needed this session to be idle and --begin-timeout expired",
                msg.attempt_id
            ),
        ));
    }
}
