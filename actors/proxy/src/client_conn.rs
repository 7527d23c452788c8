//! One client connection as an actor. The actor owns the session's lifecycle and takes
//! control messages (drain, kill); the bytes move in a plain async loop (`relay`) that
//! runs as a task of its own on the actor's arbiter, sharing `SessionCtl` with it.

pub mod handoff;
pub mod relay;
pub mod session;
pub mod shadow_relay;
mod signal;
pub mod startup;
pub mod switch;
#[cfg(test)]
mod test_waker;
mod waiting;

use crate::backend::BackendError;
use crate::conn_info::ConnInfo;
use crate::proxy_instance::cutover::PrepareOutcome;
use crate::proxy_instance::{
    ConnClosed, LookupCancel, PrepareDone, PrepareStarted, ProxyInstance, Quiescent, SessionKey,
    SwitchDone,
};
use crate::shared::Shared;
use actix::prelude::*;
use handoff::{Handoff, Identity};
use molt_lms_api::cutover::PrepareFailure;
use molt_lms_api::{ConnectionState, ShadowMode, SourceOfTruth};
use molt_lms_common::stream::Stream;
use molt_lms_wire::pg::backend::{self as be, Severity};
use relay::End;
use session::{Ctl, SessionCtl};
use startup::{Opening, Refusal, StartupError};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use switch::{PrepareError, Prepared};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// PostgreSQL's default `authentication_timeout`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// A Terminate message, sent to a backend whose client left.
const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

pub struct ClientConn {
    /// Registered with this actor's own reactor when the actor starts on its worker.
    socket: Option<std::net::TcpStream>,
    shared: Arc<Shared>,
    instance: Addr<ProxyInstance>,
    info: Arc<ConnInfo>,
    session: Rc<SessionCtl>,
    /// The client's identity and the session prepared for a cutover's switch.
    handoff: Rc<Handoff<Prepared>>,
    /// The prepare order whose preparation this actor started.
    preparing: Option<u64>,
    /// The secret of the cancel key this proxy hands the client.
    cancel_secret: i32,
    /// The task that serves the connection; ended when the actor stops.
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ClientConn {
    pub fn new(
        socket: std::net::TcpStream,
        shared: Arc<Shared>,
        instance: Addr<ProxyInstance>,
        info: Arc<ConnInfo>,
        cancel_secret: i32,
    ) -> Self {
        Self {
            socket: Some(socket),
            shared,
            instance,
            info,
            session: Rc::new(SessionCtl::default()),
            handoff: Rc::new(Handoff::default()),
            preparing: None,
            cancel_secret,
            task: None,
        }
    }

    /// Prepares this session on `to` for order `order`, unless already started; the
    /// instance hears `PrepareDone`. Runs beside the held relay, on this arbiter.
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
                let prepared =
                    switch::prepare_in_time(shared.backend(to), &identity, &session).await;
                let outcome = match prepared {
                    Ok(p) => {
                        let statements = p.statements;
                        if let Err(mut p) = handoff.offer(order, to, p) {
                            // The order was cancelled or superseded meanwhile.
                            close_backend(&mut p.session.stream).await;
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
fn discard(prepared: Option<Prepared>) {
    if let Some(mut p) = prepared {
        actix_rt::spawn(async move { close_backend(&mut p.session.stream).await });
    }
}

impl Actor for ClientConn {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(socket) = self.socket.take().and_then(|s| TcpStream::from_std(s).ok()) else {
            ctx.stop();
            return;
        };
        self.shared.metrics.connections_open.inc();
        self.shared.metrics.connections_total.inc();
        let conn = Serve {
            shared: self.shared.clone(),
            instance: self.instance.clone(),
            me: ctx.address(),
            info: self.info.clone(),
            session: self.session.clone(),
            handoff: self.handoff.clone(),
            cancel_secret: self.cancel_secret,
            keys: Cell::new(None),
            shadow_key: Cell::new(None),
        };
        // A task of its own rather than a future in the actor's context: the context
        // would poll its mailbox and its other futures at every wake-up of the data path.
        let addr = ctx.address();
        self.task = Some(actix_rt::spawn(async move {
            conn.run(socket).await;
            addr.do_send(Served);
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        discard(self.handoff.cancel());
        self.shared.metrics.connections_open.dec();
        self.instance.do_send(ConnClosed { id: self.info.id });
    }
}

/// The serving task ended: the connection is closed.
#[derive(Message)]
#[rtype(result = "()")]
struct Served;

impl Handler<Served> for ClientConn {
    type Result = ();
    fn handle(&mut self, _: Served, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// Finish in-flight work, then close (graceful shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for ClientConn {
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
pub struct Kill;

impl Handler<Kill> for ClientConn {
    type Result = ();
    fn handle(&mut self, _: Kill, ctx: &mut Self::Context) {
        self.session
            .kill("terminating connection because molt-lms is shutting down");
        // A connection still in start-up has no relay to stop.
        if self.info.state() == ConnectionState::Startup {
            ctx.stop();
        }
    }
}

/// Cutover begin: finish in-flight work and any open transaction, then hold. The
/// instance hears `Quiescent` once the session is held.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Hold;

impl Handler<Hold> for ClientConn {
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
pub struct Release;

impl Handler<Release> for ClientConn {
    type Result = ();
    fn handle(&mut self, _: Release, _: &mut Self::Context) {
        if self.info.state() == ConnectionState::Held {
            self.info.ready(b'I');
        }
        self.session.request(Ctl::Run);
    }
}

/// Cutover commit: move the held session to `to`, then run. The instance hears
/// `SwitchDone`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Switch {
    pub to: SourceOfTruth,
}

impl Handler<Switch> for ClientConn {
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
pub struct Prepare {
    pub order: u64,
    pub to: SourceOfTruth,
}

impl Handler<Prepare> for ClientConn {
    type Result = ();
    fn handle(&mut self, msg: Prepare, ctx: &mut Self::Context) {
        discard(self.handoff.order_prepare(msg.order, msg.to));
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
pub struct Unprepare;

impl Handler<Unprepare> for ClientConn {
    type Result = ();
    fn handle(&mut self, _: Unprepare, _: &mut Self::Context) {
        self.preparing = None;
        discard(self.handoff.cancel());
    }
}

/// The client authenticated: a prepare order in force applies to it now.
#[derive(Message)]
#[rtype(result = "()")]
struct LoggedIn;

impl Handler<LoggedIn> for ClientConn {
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

/// What the cutover check needs of a logged-in session: who it is and the named
/// statements it holds (raw Parse messages). Owned copies: it crosses threads.
pub struct SketchData {
    pub identity: Identity,
    pub statements: Vec<Vec<u8>>,
}

#[derive(Message)]
#[rtype(result = "Option<SketchData>")]
pub struct Describe;

impl Handler<Describe> for ClientConn {
    type Result = Option<SketchData>;
    fn handle(&mut self, _: Describe, _: &mut Self::Context) -> Self::Result {
        Some(SketchData {
            identity: (*self.handoff.identity()?).clone(),
            statements: self.session.prepared_statements(),
        })
    }
}

/// Cutover begin-timeout with action `terminate`: end this blocking session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TerminateBlocker {
    pub attempt_id: u64,
}

impl Handler<TerminateBlocker> for ClientConn {
    type Result = ();
    fn handle(&mut self, msg: TerminateBlocker, _: &mut Self::Context) {
        self.session.kill(format!(
            "terminating connection: molt-lms cutover attempt {} needed this session to be idle and --begin-timeout expired",
            msg.attempt_id
        ));
    }
}

/// Ends a backend session politely: Terminate, then close.
pub(crate) async fn close_backend(stream: &mut Stream) {
    let _ = stream.write_all(&TERMINATE).await;
    let _ = stream.shutdown().await;
}

/// A logged-in session: both streams and what a switch needs to log in again.
struct Login {
    client: Stream,
    buf: bytes::BytesMut,
    backend: Stream,
    /// The session on the other database, when this proxy shadows.
    shadow: Option<Stream>,
    identity: Rc<Identity>,
}

/// The connection's async body, detached from the actor's `&mut self`.
struct Serve {
    shared: Arc<Shared>,
    instance: Addr<ProxyInstance>,
    /// This connection's actor, told when the client has logged in.
    me: Addr<ClientConn>,
    info: Arc<ConnInfo>,
    session: Rc<SessionCtl>,
    handoff: Rc<Handoff<Prepared>>,
    cancel_secret: i32,
    /// The backend keys a client's cancel request is forwarded to: the source of
    /// truth's session, and the shadow's when there is one.
    keys: Cell<Option<(SourceOfTruth, i32, i32)>>,
    shadow_key: Cell<Option<(i32, i32)>>,
}

impl Serve {
    async fn run(self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let peer = self.info.client_addr;
        let Some(mut login) = self.start(tcp).await else {
            return;
        };
        loop {
            let fin = match login.shadow.take() {
                Some(stream) => {
                    let shadowing = shadow_relay::Shadowing {
                        mode: self.shared.settings.shadow_mode,
                        stream,
                        sot: self.info.source_of_truth(),
                        ledger: &self.shared.shadow,
                        budget: self.shared.settings.shadow_compare_budget,
                    };
                    shadow_relay::run(
                        login.client,
                        login.backend,
                        shadowing,
                        &self.session,
                        &self.info,
                        &self.shared.metrics,
                        login.buf,
                    )
                    .await
                }
                None => {
                    relay::run(
                        login.client,
                        login.backend,
                        &self.session,
                        &self.info,
                        &self.shared.metrics,
                        login.buf,
                    )
                    .await
                }
            };
            let End::Switch(to) = fin.end else {
                self.finish(fin, peer).await;
                return;
            };
            let (mut client, mut old) = (fin.client, fin.backend);
            login.shadow = fin.shadow;
            if self.info.source_of_truth() == to {
                self.instance.do_send(SwitchDone {
                    id: self.info.id,
                    error: None,
                });
                self.session.rearm();
                self.session.request(Ctl::Run);
                (login.client, login.backend, login.buf) = (client, old, fin.client_buf);
                continue;
            }
            match self
                .switch(to, &login.identity, &mut client, &mut old)
                .await
            {
                Ok(backend) => {
                    // Roles swap: the shadow now goes to the database just left.
                    if let Some(mut stale) = login.shadow.take() {
                        close_backend(&mut stale).await;
                        login.shadow = self.open_shadow(to.other(), &login.identity).await;
                    }
                    self.instance.do_send(SwitchDone {
                        id: self.info.id,
                        error: None,
                    });
                    self.session.rearm();
                    self.session.request(Ctl::Run);
                    self.info.ready(b'I');
                    login.client = client;
                    login.backend = backend;
                    login.buf = fin.client_buf;
                }
                Err(e) => {
                    tracing::warn!(%peer, error = %e, %to, "cutover could not move a session");
                    self.instance.do_send(SwitchDone {
                        id: self.info.id,
                        error: Some(e.clone()),
                    });
                    let mut out = Vec::new();
                    be::error_response(
                        &mut out,
                        Severity::Fatal,
                        "08006",
                        &format!("molt-lms: the cutover could not move this session to the {to} database: {e}"),
                    );
                    let _ = client.write_all(&out).await;
                    let _ = client.shutdown().await;
                    let _ = old.shutdown().await;
                    if let Some(mut shadow) = login.shadow.take() {
                        close_backend(&mut shadow).await;
                    }
                    return;
                }
            }
        }
    }

    /// Moves a held session to `to`; returns the new backend stream. Uses the session
    /// prepared before the point of no return; prepares one now only for a session that
    /// missed the preparation (it logged in after its proxy reported prepared).
    async fn switch(
        &self,
        to: SourceOfTruth,
        identity: &Identity,
        client: &mut Stream,
        old: &mut Stream,
    ) -> Result<Stream, String> {
        let prepared = match self.handoff.take(to) {
            Some(p) => p,
            None => switch::prepare_in_time(self.shared.backend(to), identity, &self.session)
                .await
                .map_err(|e| e.to_string())?,
        };
        discard(self.handoff.leftover());
        let Prepared {
            session: new,
            changes,
            ..
        } = prepared;
        switch::complete(client, old, &changes, &self.session)
            .await
            .map_err(|e| format!("client write failed: {e}"))?;
        self.info.set_source_of_truth(to);
        self.keys.set(Some((to, new.pid, new.secret)));
        self.publish_keys();
        Ok(new.stream)
    }

    /// Start-up through to a relayable session; `None` when it ended (errors answered).
    /// Only negotiation and authentication count towards the start-up timeout: waiting
    /// at a cutover's gate does not.
    async fn start(&self, tcp: TcpStream) -> Option<Login> {
        let peer = self.info.client_addr;
        let authed = tokio::time::timeout(STARTUP_TIMEOUT, self.authenticate(tcp)).await;
        let (mut stream, buf, identity) = match authed {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(_) => {
                tracing::info!(%peer, "client did not finish start-up in time");
                return None;
            }
        };
        let identity = self.handoff.set_identity(identity);
        // A commit preparing while this client waits at the gate prepares it too.
        self.me.do_send(LoggedIn);
        // A cutover pause holds new sessions here, before any backend is chosen.
        let mut gate = self.shared.gate.subscribe();
        if !*gate.borrow_and_update() {
            self.info.set_state(ConnectionState::Held);
        }
        tokio::select! {
            _ = gate.wait_for(|open| *open) => {}
            _ = self.session.stopped() => {
                let reason = self.session.kill_reason().unwrap_or_default();
                Refusal::fatal("57P01", reason).send(&mut stream).await;
                return None;
            }
        }
        match self.open_backend(&mut stream, &identity).await {
            Ok(Ok((backend, shadow))) => Some(Login {
                client: stream,
                buf,
                backend,
                shadow,
                identity,
            }),
            Ok(Err(refusal)) => {
                refusal.send(&mut stream).await;
                None
            }
            Err(e) => {
                self.startup_failed(Some(stream), e, peer).await;
                None
            }
        }
    }

    /// Negotiation and authentication.
    async fn authenticate(&self, tcp: TcpStream) -> Option<(Stream, bytes::BytesMut, Identity)> {
        let peer = self.info.client_addr;
        let (mut stream, mut buf, params) = match startup::open(tcp, self.shared.tls.as_ref()).await
        {
            Ok(Opening::Session {
                stream,
                buf,
                params,
            }) => (stream, buf, params),
            Ok(Opening::Cancel { pid, secret }) => {
                self.forward_cancel(pid, secret).await;
                return None;
            }
            Err((stream, e)) => {
                self.startup_failed(stream, e, peer).await;
                return None;
            }
        };
        match self.login(&mut stream, &mut buf, params).await {
            Ok(Ok(identity)) => Some((stream, buf, identity)),
            Ok(Err(refusal)) => {
                refusal.send(&mut stream).await;
                None
            }
            Err(e) => {
                self.startup_failed(Some(stream), e, peer).await;
                None
            }
        }
    }

    async fn startup_failed(&self, stream: Option<Stream>, e: StartupError, peer: SocketAddr) {
        match &e {
            StartupError::Closed => tracing::debug!(%peer, "client left during start-up"),
            StartupError::Protocol(p) => {
                self.shared.metrics.protocol_errors.inc();
                tracing::info!(%peer, error = %p, "closing connection: protocol violation");
                if let Some(mut s) = stream {
                    Refusal::fatal("08P01", p.to_string()).send(&mut s).await;
                }
            }
            _ => tracing::info!(%peer, error = %e, "start-up failed"),
        }
    }

    /// Authenticates the client against its role's verifier on the source of truth.
    async fn login(
        &self,
        stream: &mut Stream,
        buf: &mut bytes::BytesMut,
        params: Vec<(String, String)>,
    ) -> Result<Result<Identity, Refusal>, StartupError> {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let Some(user) = get("user") else {
            return Ok(Err(Refusal::fatal(
                "28000",
                "no PostgreSQL user name specified in startup packet",
            )));
        };
        if get("replication").is_some_and(|v| v != "false" && v != "0" && v != "off") {
            return Ok(Err(Refusal::fatal(
                "0A000",
                "replication connections are not supported through molt-lms",
            )));
        }
        let database = get("database").unwrap_or_else(|| user.clone());
        self.info.set_identity(&user, &database);
        let sot = self.shared.source_of_truth();
        let verifier = match self.shared.lookup(sot).verifier(&user).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "role lookup failed");
                self.shared.metrics.backend_errors.inc();
                return Ok(Err(Refusal::fatal(
                    "08006",
                    format!("molt-lms: cannot verify the login on the {sot} database"),
                )));
            }
        };
        match startup::authenticate(stream, buf, &user, verifier).await? {
            Ok(credential) => Ok(Ok(Identity {
                user,
                database,
                params,
                credential,
            })),
            Err(refusal) => {
                self.shared.metrics.auth_failures.inc();
                tracing::info!(peer = %self.info.client_addr, %user, "authentication failed");
                Ok(Err(refusal))
            }
        }
    }

    /// Opens the shadow session on `role` for a client that already has its main
    /// session; `None` (counted and logged) when it cannot be opened.
    async fn open_shadow(&self, role: SourceOfTruth, identity: &Identity) -> Option<Stream> {
        let backend = self.shared.backend(role);
        match switch::prepare(backend, identity, &self.session).await {
            Ok(Prepared { session: s, .. }) => {
                self.shadow_key.set(Some((s.pid, s.secret)));
                self.publish_keys();
                Some(s.stream)
            }
            Err(e) => {
                self.shadow_key.set(None);
                self.publish_keys();
                self.shared.metrics.shadow_sessions_failed.inc();
                tracing::warn!(peer = %self.info.client_addr, shadow = %role, error = %e, "shadow session failed; this connection is not shadowed");
                None
            }
        }
    }

    /// Opens the backend session on the source of truth (and, when shadowing, the
    /// shadow session on the other database) and greets the client.
    async fn open_backend(
        &self,
        stream: &mut Stream,
        identity: &Identity,
    ) -> Result<Result<(Stream, Option<Stream>), Refusal>, StartupError> {
        let (params, credential) = (&identity.params, &identity.credential);
        let sot = self.shared.source_of_truth();
        let mode = self.shared.settings.shadow_mode;
        // A client that logged in during a cutover's preparation has its session ready.
        let prepared = self.handoff.take(sot);
        discard(self.handoff.leftover());
        let main = async {
            match prepared {
                Some(p) => Ok(p.session),
                None => {
                    self.shared
                        .backend(sot)
                        .open_session(params, credential)
                        .await
                }
            }
        };
        let skip = mode == ShadowMode::None
            || (mode != ShadowMode::StrictSync && !self.shared.shadow_worth_trying());
        let (main, shadow) = if skip {
            if mode != ShadowMode::None {
                self.shared.metrics.shadow_sessions_failed.inc();
            }
            (main.await, None)
        } else {
            let other = self
                .shared
                .backend(sot.other())
                .open_session(params, credential);
            let (m, o) = tokio::join!(main, other);
            (m, Some(o))
        };
        let shadow = match shadow {
            None => None,
            Some(Ok(s)) => {
                self.shadow_key.set(Some((s.pid, s.secret)));
                Some(s.stream)
            }
            Some(Err(e)) if mode == ShadowMode::StrictSync => {
                if !matches!(e, BackendError::Rejected { .. }) {
                    self.shared.shadow_unreachable();
                }
                tracing::warn!(error = %e, "shadow session failed; strict-sync refuses the client");
                self.shared.metrics.shadow_sessions_failed.inc();
                if let Ok(mut m) = main {
                    close_backend(&mut m.stream).await;
                }
                return Ok(Err(Refusal::fatal(
                    "08006",
                    format!(
                        "molt-lms: shadow mode strict-sync needs a session on the {} database too: {}",
                        sot.other(),
                        e.client_message()
                    ),
                )));
            }
            Some(Err(e)) => {
                if !matches!(e, BackendError::Rejected { .. }) {
                    self.shared.shadow_unreachable();
                }
                self.shared.metrics.shadow_sessions_failed.inc();
                tracing::warn!(peer = %self.info.client_addr, error = %e, "shadow session failed; this connection is not shadowed");
                None
            }
        };
        let session = match main {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "backend session failed");
                if let Some(mut s) = shadow {
                    close_backend(&mut s).await;
                }
                return Ok(Err(match e {
                    BackendError::Rejected { raw, .. } => Refusal::Backend(raw),
                    other => {
                        self.shared.metrics.backend_errors.inc();
                        Refusal::fatal("08006", other.client_message())
                    }
                }));
            }
        };
        for (name, value) in &session.params {
            self.session.note_param(name, value);
        }
        let mut out = Vec::with_capacity(session.greeting.len() + 64);
        be::authentication(&mut out, be::auth::OK, &[]);
        out.extend_from_slice(&session.greeting);
        be::backend_key_data(&mut out, self.cancel_pid(), self.cancel_secret);
        be::ready_for_query(&mut out, session.status);
        stream.write_all(&out).await?;
        self.info.set_source_of_truth(sot);
        self.info.ready(session.status);
        if self.session.ctl() != Ctl::Run {
            self.info.set_state(ConnectionState::Held);
        }
        self.keys.set(Some((sot, session.pid, session.secret)));
        self.publish_keys();
        Ok(Ok((session.stream, shadow)))
    }

    /// Tells the instance which backend sessions this client's cancel key stands for.
    fn publish_keys(&self) {
        if let Some((backend, pid, secret)) = self.keys.get() {
            self.instance.do_send(SessionKey {
                id: self.info.id,
                secret: self.cancel_secret,
                backend,
                backend_pid: pid,
                backend_secret: secret,
                shadow: self.shadow_key.get(),
            });
        }
    }

    fn cancel_pid(&self) -> i32 {
        self.shared.peers.key_pid(self.info.id)
    }

    async fn forward_cancel(&self, pid: i32, secret: i32) {
        if !self.shared.peers.owns(pid) {
            let own = &self.shared.settings.advertise_address;
            let sent = self.shared.peers.forward(pid, secret, own).await;
            tracing::debug!(
                pid,
                peers = sent,
                "cancel request passed on to the proxy that owns the key"
            );
            return;
        }
        let Ok(Some(key)) = self.instance.send(LookupCancel { pid, secret }).await else {
            tracing::debug!(pid, "cancel request for an unknown key ignored");
            return;
        };
        let role = key.backend;
        let main = self
            .shared
            .backend(role)
            .cancel(key.backend_pid, key.backend_secret);
        // The shadow's copy of the query is cancelled too: in sync modes the client
        // would otherwise wait for it.
        let shadow = async {
            match key.shadow {
                Some((p, s)) => self.shared.backend(role.other()).cancel(p, s).await,
                None => Ok(()),
            }
        };
        let (a, b) = tokio::join!(main, shadow);
        if let Err(e) = a.and(b) {
            tracing::warn!(error = %e, "forwarding a cancel request failed");
        }
    }

    /// Tells the client why its session ended, when it still can, and closes both sides.
    async fn finish(&self, fin: relay::Finished, peer: SocketAddr) {
        let relay::Finished {
            end,
            mut client,
            mut backend,
            client_at_boundary,
            shadow,
            ..
        } = fin;
        if let Some(mut shadow) = shadow {
            close_backend(&mut shadow).await;
        }
        let sot = self.info.source_of_truth();
        let (to_client, tell_backend): (Option<(&str, String)>, bool) = match &end {
            End::ClientClosed | End::ClientIo(_) => (None, true),
            End::ClientTerminated => (None, false),
            End::ClientProtocol(e) => {
                self.shared.metrics.protocol_errors.inc();
                tracing::info!(%peer, error = %e, "closing connection: protocol violation");
                (Some(("08P01", e.to_string())), true)
            }
            End::BackendClosed | End::BackendIo(_) | End::BackendProtocol(_) => {
                self.shared.metrics.backend_errors.inc();
                tracing::warn!(%peer, ?end, "lost the backend session");
                (
                    Some((
                        "08006",
                        format!("molt-lms: lost the connection to the {sot} database"),
                    )),
                    false,
                )
            }
            End::Drained => (
                Some((
                    "57P01",
                    "terminating connection because molt-lms is shutting down".to_owned(),
                )),
                true,
            ),
            End::Killed(reason) => (Some(("57P01", reason.clone())), true),
            End::Stopped | End::Switch(_) => (None, true),
        };
        if let (Some((code, msg)), true) = (to_client, client_at_boundary) {
            let mut out = Vec::new();
            be::error_response(&mut out, Severity::Fatal, code, &msg);
            let _ = client.write_all(&out).await;
        }
        let _ = client.shutdown().await;
        if tell_backend {
            close_backend(&mut backend).await;
        } else {
            let _ = backend.shutdown().await;
        }
    }
}
