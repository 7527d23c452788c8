//! A connection's async body, detached from the actor's `&mut self`: start-up, the wait
//! at a cutover's gate, the relay, switches, and the end of the session. Protocol-neutral:
//! every protocol step is a call on `P`.

use super::handoff::{Handoff, Identity};
use super::relay::{self, End, Finished};
use super::session::{Ctl, SessionCtl};
use super::shadow_relay::{self, Shadowing};
use super::{discard, ClientConn, LoggedIn};
use crate::client_error::{ClientError, ClientErrorKind};
use crate::conn_info::ConnInfo;
use crate::protocol::{
    BackendError, BackendKey, BackendSession, ClientKey, Opening, PrepareError, Prepared, Protocol,
    Refusal, StartupError,
};
use crate::proxy_instance::{LookupCancel, ProxyInstance, SessionKey, SwitchDone};
use crate::shared::Shared;
use actix::Addr;
use bytes::BytesMut;
use molt_lms_api::cutover::PrepareStage;
use molt_lms_api::{ConnectionState, ShadowMode, SourceOfTruth};
use molt_lms_common::stream::Stream;
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long preparing one session on the new source of truth may take: connect, log
/// in, restore parameters and statements.
pub(crate) const PREPARE_TIMEOUT: Duration = Duration::from_secs(20);

/// [`Protocol::prepare`] bounded by [`PREPARE_TIMEOUT`]: a database that accepts TCP and
/// then stalls fails the preparation (stage `timeout`) instead of stalling the commit.
pub(crate) async fn prepare_in_time<P: Protocol>(
    shared: &Shared,
    to: SourceOfTruth,
    identity: &Identity,
    session: &SessionCtl,
) -> Result<Prepared<P::Session>, PrepareError> {
    tokio::time::timeout(PREPARE_TIMEOUT, P::prepare(shared, to, identity, session))
        .await
        .unwrap_or_else(|_| {
            Err(PrepareError::new(
                PrepareStage::Timeout,
                format!(
                    "the {to} database did not finish the session's preparation within {}",
                    humantime::format_duration(PREPARE_TIMEOUT)
                ),
            ))
        })
}

/// Why a held session could not be moved at a cutover's commit.
#[derive(Debug, Error)]
enum SwitchError {
    #[error("{0}")]
    Prepare(#[from] PrepareError),
    #[error("client write failed: {0}")]
    ClientWrite(std::io::Error),
}

/// A logged-in session: both streams and what a switch needs to log in again.
struct Login<H> {
    client: Stream,
    buf: BytesMut,
    backend: Stream,
    /// The session on the other database, when this proxy shadows.
    shadow: Option<Stream>,
    identity: Rc<Identity>,
    hello: H,
}

pub(super) struct Serve<P: Protocol> {
    pub(super) shared: Arc<Shared>,
    pub(super) instance: Addr<ProxyInstance>,
    /// This connection's actor, told when the client has logged in.
    pub(super) me: Addr<ClientConn<P>>,
    pub(super) info: Arc<ConnInfo>,
    pub(super) session: Rc<SessionCtl>,
    pub(super) handoff: Rc<Handoff<Prepared<P::Session>>>,
    pub(super) cancel_key: ClientKey,
    /// The backend keys a client's cancel request is forwarded to: the source of
    /// truth's session, and the shadow's when there is one.
    pub(super) keys: Cell<Option<(SourceOfTruth, BackendKey)>>,
    pub(super) shadow_key: Cell<Option<BackendKey>>,
}

impl<P: Protocol> Serve<P> {
    pub(super) async fn run(self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let peer = self.info.client_addr;
        let Some(mut login) = self.start(tcp).await else {
            return;
        };
        let tracker = P::tracker(
            self.session.clone(),
            self.info.clone(),
            self.shared.clone(),
            &login.hello,
        );
        loop {
            let fin = match login.shadow.take() {
                Some(stream) => {
                    let shadowing = Shadowing {
                        mode: self.shared.settings.shadow_mode,
                        stream,
                        sot: self.info.source_of_truth(),
                        ledger: &self.shared.shadow,
                        budget: self.shared.settings.shadow_compare_budget,
                        buffers: &self.shared.buffers,
                        shadow_buffers: &self.shared.shadow_buffers,
                        max_message: self.shared.settings.max_buffered_message,
                    };
                    shadow_relay::run::<P::Shadow, P::Tracker>(
                        login.client,
                        login.backend,
                        shadowing,
                        &tracker,
                        &self.session,
                        &self.shared.metrics,
                        login.buf,
                    )
                    .await
                }
                None => {
                    relay::run(
                        login.client,
                        login.backend,
                        &tracker,
                        &self.session,
                        &self.shared.metrics,
                        &self.shared.buffers,
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
                        P::close(&mut stale).await;
                        login.shadow = self.open_shadow(to.other(), &login.identity).await;
                    }
                    self.instance.do_send(SwitchDone {
                        id: self.info.id,
                        error: None,
                    });
                    self.session.rearm();
                    self.session.request(Ctl::Run);
                    self.info.ready(crate::protocol::TxState::Idle);
                    login.client = client;
                    login.backend = backend;
                    login.buf = fin.client_buf;
                }
                Err(e) => {
                    tracing::warn!(conn = self.info.id, %peer, error = %e, %to, "cutover could not move a session");
                    self.instance.do_send(SwitchDone {
                        id: self.info.id,
                        error: Some(e.to_string()),
                    });
                    let err = ClientError::new(
                        ClientErrorKind::SwitchFailed,
                        format!("molt-lms: the cutover could not move this session to the {to} database: {e}"),
                    );
                    self.shared.metrics.client_error(err.kind);
                    let mut out = Vec::new();
                    P::encode_error(&err, None, &mut out);
                    let _ = client.write_all(&out).await;
                    let _ = client.shutdown().await;
                    let _ = old.shutdown().await;
                    if let Some(mut shadow) = login.shadow.take() {
                        P::close(&mut shadow).await;
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
    ) -> Result<Stream, SwitchError> {
        let prepared = match self.handoff.take(to) {
            Some(p) => p,
            None => prepare_in_time::<P>(&self.shared, to, identity, &self.session).await?,
        };
        discard::<P>(self.handoff.leftover());
        let Prepared {
            session: new,
            changes,
            ..
        } = prepared;
        P::complete(client, old, &changes, &self.session)
            .await
            .map_err(SwitchError::ClientWrite)?;
        self.info.set_source_of_truth(to);
        self.keys.set(Some((to, new.key())));
        self.publish_keys();
        Ok(new.into_stream())
    }

    /// Sends a refusal, counts it, and closes the stream. `hello`: where start-up stands,
    /// when it got that far.
    async fn refuse(&self, stream: &mut Stream, refusal: &Refusal, hello: Option<&P::Hello>) {
        if let Refusal::Client(e) = refusal {
            self.shared.metrics.client_error(e.kind);
        }
        let _ = stream.write_all(&P::encode_refusal(refusal, hello)).await;
        let _ = stream.shutdown().await;
    }

    /// Start-up through to a relayable session; `None` when it ended (errors answered).
    /// Only negotiation and authentication count towards the start-up timeout: waiting
    /// at a cutover's gate does not.
    async fn start(&self, tcp: TcpStream) -> Option<Login<P::Hello>> {
        let peer = self.info.client_addr;
        let limit = self.shared.settings.client_login_timeout;
        let authed = tokio::time::timeout(limit, self.authenticate(tcp)).await;
        let (mut stream, buf, identity, hello) = match authed {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(_) => {
                tracing::info!(conn = self.info.id, %peer, "client did not finish start-up in time");
                self.shared.metrics.login_timeouts.inc();
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
                let reason = self.session.kill_reason().unwrap_or_else(ClientError::shutting_down);
                self.refuse(&mut stream, &Refusal::Client(reason), Some(&hello))
                    .await;
                return None;
            }
        }
        match self.open_backend(&mut stream, &identity, &hello).await {
            Ok(Ok((backend, shadow))) => Some(Login {
                client: stream,
                buf,
                backend,
                shadow,
                identity,
                hello,
            }),
            Ok(Err(refusal)) => {
                self.refuse(&mut stream, &refusal, Some(&hello)).await;
                None
            }
            Err(e) => {
                self.startup_failed(Some(stream), e, peer, Some(&hello))
                    .await;
                None
            }
        }
    }

    /// Negotiation and authentication.
    async fn authenticate(&self, tcp: TcpStream) -> Option<(Stream, BytesMut, Identity, P::Hello)> {
        let peer = self.info.client_addr;
        let opened = P::open(&self.shared, tcp, self.client_key()).await;
        let (mut stream, mut buf, params, mut hello) = match opened {
            Ok(Opening::Session {
                stream,
                buf,
                params,
                hello,
            }) => (stream, buf, params, hello),
            Ok(Opening::Cancel(key)) => {
                self.forward_cancel(key).await;
                return None;
            }
            Err((stream, e)) => {
                self.startup_failed(stream, e, peer, None).await;
                return None;
            }
        };
        if self.shared.settings.require_tls && matches!(stream, Stream::Tcp(_)) {
            let e = ClientError::tls_required();
            tracing::info!(conn = self.info.id, %peer, "plain login refused: TLS is required");
            self.refuse(&mut stream, &Refusal::Client(e), Some(&hello))
                .await;
            return None;
        }
        match self.login(&mut stream, &mut buf, &mut hello, params).await {
            Ok(Ok(identity)) => Some((stream, buf, identity, hello)),
            Ok(Err(refusal)) => {
                self.refuse(&mut stream, &refusal, Some(&hello)).await;
                None
            }
            Err(e) => {
                self.startup_failed(Some(stream), e, peer, Some(&hello))
                    .await;
                None
            }
        }
    }

    async fn startup_failed(
        &self,
        stream: Option<Stream>,
        e: StartupError,
        peer: SocketAddr,
        hello: Option<&P::Hello>,
    ) {
        match &e {
            StartupError::Closed => {
                tracing::debug!(conn = self.info.id, %peer, "client left during start-up")
            }
            StartupError::Protocol(p) => {
                self.shared.metrics.protocol_errors.inc();
                tracing::info!(conn = self.info.id, %peer, error = %p, "closing connection: protocol violation");
                if let Some(mut s) = stream {
                    let refusal =
                        Refusal::client(ClientErrorKind::ProtocolViolation, p.to_string());
                    self.refuse(&mut s, &refusal, hello).await;
                }
            }
            _ => tracing::info!(conn = self.info.id, %peer, error = %e, "start-up failed"),
        }
    }

    /// Authenticates the client against its role's verifier on the source of truth.
    async fn login(
        &self,
        stream: &mut Stream,
        buf: &mut BytesMut,
        hello: &mut P::Hello,
        params: Vec<(String, String)>,
    ) -> Result<Result<Identity, Refusal>, StartupError> {
        let (user, database) = match P::login_request(&params) {
            Ok(who) => who,
            Err(e) => return Ok(Err(Refusal::Client(e))),
        };
        self.info.set_identity(&user, &database);
        let sot = self.shared.source_of_truth();
        let verifier = match P::verifier(&self.shared, sot, &user).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "role lookup failed");
                self.shared.metrics.backend_errors.inc();
                return Ok(Err(Refusal::client(
                    ClientErrorKind::BackendUnreachable,
                    format!("molt-lms: cannot verify the login on the {sot} database"),
                )));
            }
        };
        match P::authenticate(&self.shared, stream, buf, hello, &user, verifier).await? {
            Ok(credential) => Ok(Ok(Identity {
                user,
                database,
                params,
                credential,
            })),
            Err(refusal) => {
                self.shared.metrics.auth_failures.inc();
                tracing::info!(conn = self.info.id, peer = %self.info.client_addr, %user, "authentication failed");
                Ok(Err(refusal))
            }
        }
    }

    /// Opens the shadow session on `role` for a client that already has its main
    /// session; `None` (counted and logged) when it cannot be opened.
    async fn open_shadow(&self, role: SourceOfTruth, identity: &Identity) -> Option<Stream> {
        if !P::can_shadow_to(role) {
            self.shadow_key.set(None);
            self.publish_keys();
            tracing::info!(conn = self.info.id, shadow = %role, "this protocol's sessions are not shadowed to the {role} database");
            return None;
        }
        match P::prepare(&self.shared, role, identity, &self.session).await {
            Ok(Prepared { session: s, .. }) => {
                self.shadow_key.set(Some(s.key()));
                self.publish_keys();
                Some(s.into_stream())
            }
            Err(e) => {
                self.shadow_key.set(None);
                self.publish_keys();
                self.shared.metrics.shadow_sessions_failed.inc();
                tracing::warn!(conn = self.info.id, peer = %self.info.client_addr, shadow = %role, error = %e, "shadow session failed; this connection is not shadowed");
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
        hello: &P::Hello,
    ) -> Result<Result<(Stream, Option<Stream>), Refusal>, StartupError> {
        let sot = self.shared.source_of_truth();
        let mode = self.shared.settings.shadow_mode;
        // A client that logged in during a cutover's preparation has its session ready.
        let prepared = self.handoff.take(sot);
        discard::<P>(self.handoff.leftover());
        let main = async {
            match prepared {
                Some(p) => Ok(p.session),
                None => P::open_session(&self.shared, sot, identity).await,
            }
        };
        let skip = mode == ShadowMode::None
            || !P::can_shadow_to(sot.other())
            || (mode != ShadowMode::StrictSync && !self.shared.shadow_worth_trying());
        let (main, shadow) = if skip {
            if mode != ShadowMode::None && P::can_shadow_to(sot.other()) {
                self.shared.metrics.shadow_sessions_failed.inc();
            }
            (main.await, None)
        } else {
            let other = P::open_session(&self.shared, sot.other(), identity);
            let (m, o) = tokio::join!(main, other);
            (m, Some(o))
        };
        let shadow = match shadow {
            None => None,
            Some(Ok(s)) => {
                self.shadow_key.set(Some(s.key()));
                Some(s.into_stream())
            }
            Some(Err(e)) if mode == ShadowMode::StrictSync => {
                if !matches!(e, BackendError::Rejected { .. }) {
                    self.shared.shadow_unreachable();
                }
                tracing::warn!(error = %e, "shadow session failed; strict-sync refuses the client");
                self.shared.metrics.shadow_sessions_failed.inc();
                if let Ok(mut m) = main {
                    P::close(m.stream_mut()).await;
                }
                return Ok(Err(Refusal::client(
                    ClientErrorKind::BackendUnreachable,
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
                tracing::warn!(conn = self.info.id, peer = %self.info.client_addr, error = %e, "shadow session failed; this connection is not shadowed");
                None
            }
        };
        let session = match main {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "backend session failed");
                if let Some(mut s) = shadow {
                    P::close(&mut s).await;
                }
                return Ok(Err(match e {
                    BackendError::Rejected { raw, .. } => Refusal::Backend(raw),
                    other => {
                        self.shared.metrics.backend_errors.inc();
                        Refusal::client(ClientErrorKind::BackendUnreachable, other.client_message())
                    }
                }));
            }
        };
        let tx = P::greet(stream, &session, self.client_key(), &self.session, hello).await?;
        self.info.set_source_of_truth(sot);
        self.info.ready(tx);
        if self.session.ctl() != Ctl::Run {
            self.info.set_state(ConnectionState::Held);
        }
        self.keys.set(Some((sot, session.key())));
        self.publish_keys();
        Ok(Ok((session.into_stream(), shadow)))
    }

    /// The cancel key this connection is issued; its process id names the proxy.
    fn client_key(&self) -> ClientKey {
        self.cancel_key
    }

    /// Tells the instance which backend sessions this client's cancel key stands for.
    fn publish_keys(&self) {
        if let Some((backend, key)) = self.keys.get() {
            self.instance.do_send(SessionKey {
                id: self.info.id,
                client: self.cancel_key,
                backend,
                key,
                shadow: self.shadow_key.get(),
            });
        }
    }

    async fn forward_cancel(&self, key: ClientKey) {
        let pid = key.pid;
        let ip = self.info.client_addr.ip();
        if !self
            .shared
            .cancel_limiter
            .allow(ip, std::time::Instant::now())
        {
            self.shared.metrics.cancels_limited.inc();
            tracing::debug!(%ip, "cancel request dropped: too many from this address");
            return;
        }
        if !self.shared.peers.owns(pid) {
            let own = &self.shared.settings.advertise_address;
            let sent = self.shared.peers.forward(pid, key.secret, own).await;
            tracing::debug!(
                pid,
                peers = sent,
                "cancel request passed on to the proxy that owns the key"
            );
            return;
        }
        let Ok(Some(found)) = self.instance.send(LookupCancel { key }).await else {
            tracing::debug!(pid, "cancel request for an unknown key ignored");
            return;
        };
        let role = found.backend;
        let main = P::cancel(&self.shared, role, found.key);
        // The shadow's copy of the query is cancelled too: in sync modes the client
        // would otherwise wait for it.
        let shadow = async {
            match found.shadow {
                Some(k) => P::cancel(&self.shared, role.other(), k).await,
                None => Ok(()),
            }
        };
        let (a, b) = tokio::join!(main, shadow);
        if let Err(e) = a.and(b) {
            tracing::warn!(error = %e, "forwarding a cancel request failed");
        }
    }

    /// Tells the client why its session ended, when it still can, and closes both sides.
    async fn finish(&self, fin: Finished, peer: SocketAddr) {
        let Finished {
            end,
            mut client,
            mut backend,
            client_at_boundary,
            shadow,
            ..
        } = fin;
        if let Some(mut shadow) = shadow {
            P::close(&mut shadow).await;
        }
        let sot = self.info.source_of_truth();
        let (to_client, tell_backend): (Option<ClientError>, bool) = match &end {
            End::ClientClosed => (None, true),
            End::ClientIo(e) => {
                tracing::debug!(conn = self.info.id, %peer, error = %e, "client connection failed");
                (None, true)
            }
            End::ClientTerminated => (None, false),
            End::ClientProtocol(e) if e.is_too_large() => {
                tracing::info!(conn = self.info.id, %peer, error = %e, "closing connection: message too large");
                (
                    Some(ClientError::new(
                        ClientErrorKind::MessageTooLarge,
                        format!("molt-lms: {e} (--max-buffered-message)"),
                    )),
                    true,
                )
            }
            End::OutOfBuffers => {
                let limit = self.shared.buffers.limit();
                tracing::warn!(conn = self.info.id, %peer, limit, "closing connection: buffer budget in use");
                (
                    Some(ClientError::new(
                        ClientErrorKind::OutOfMemory,
                        format!("molt-lms: the proxy cannot hold this message now: its buffer budget of {limit} bytes for large messages (--buffer-budget) is in use"),
                    )),
                    true,
                )
            }
            End::ClientProtocol(e) => {
                self.shared.metrics.protocol_errors.inc();
                tracing::info!(conn = self.info.id, %peer, error = %e, "closing connection: protocol violation");
                (
                    Some(ClientError::new(
                        ClientErrorKind::ProtocolViolation,
                        e.to_string(),
                    )),
                    true,
                )
            }
            End::BackendClosed | End::BackendIo(_) | End::BackendProtocol(_) => {
                self.shared.metrics.backend_errors.inc();
                let why = match &end {
                    End::BackendIo(e) => e.to_string(),
                    End::BackendProtocol(e) => format!("protocol violation: {e}"),
                    _ => "closed by the database".to_owned(),
                };
                tracing::warn!(conn = self.info.id, %peer, error = %why, "lost the backend session");
                (
                    Some(ClientError::new(
                        ClientErrorKind::BackendLost,
                        format!("molt-lms: lost the connection to the {sot} database"),
                    )),
                    false,
                )
            }
            End::Drained => (Some(ClientError::shutting_down()), true),
            End::Killed(reason) => (Some(reason.clone()), true),
            End::Stopped | End::Switch(_) => (None, true),
        };
        if let Some(e) = &to_client {
            self.shared.metrics.client_error(e.kind);
            if client_at_boundary {
                let mut out = Vec::new();
                P::encode_error(e, None, &mut out);
                let _ = client.write_all(&out).await;
            }
        }
        let _ = client.shutdown().await;
        if tell_backend {
            P::close(&mut backend).await;
        } else {
            let _ = backend.shutdown().await;
        }
    }
}
