//! One client connection as an actor. The actor owns the session's lifecycle and takes
//! control messages (drain, kill); the bytes move in a plain async loop (`relay`) that
//! the actor spawns on its own arbiter, sharing `SessionCtl` with it.

pub mod relay;
pub mod session;
pub mod startup;

use crate::conn_info::ConnInfo;
use crate::proxy_instance::{ConnClosed, LookupCancel, ProxyInstance, SessionKey};
use crate::shared::Shared;
use crate::stream::Stream;
use crate::wire::pg::backend::{self as be, Severity};
use actix::prelude::*;
use molt_lms_api::ConnectionState;
use relay::End;
use session::{Ctl, SessionCtl};
use startup::{Opening, Refusal, StartupError};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// PostgreSQL's default `authentication_timeout`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// A Terminate message, sent to a backend whose client left.
const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

pub struct ClientConn {
    socket: Option<TcpStream>,
    shared: Arc<Shared>,
    instance: Addr<ProxyInstance>,
    info: Arc<ConnInfo>,
    session: Rc<SessionCtl>,
    /// The secret of the cancel key this proxy hands the client.
    cancel_secret: i32,
}

impl ClientConn {
    pub fn new(
        socket: TcpStream,
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
            cancel_secret,
        }
    }
}

impl Actor for ClientConn {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(socket) = self.socket.take() else {
            ctx.stop();
            return;
        };
        self.shared.metrics.connections_open.inc();
        self.shared.metrics.connections_total.inc();
        let conn = Serve {
            shared: self.shared.clone(),
            instance: self.instance.clone(),
            info: self.info.clone(),
            session: self.session.clone(),
            cancel_secret: self.cancel_secret,
        };
        ctx.spawn(
            conn.run(socket)
                .into_actor(self)
                .map(|_, _, ctx| ctx.stop()),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.shared.metrics.connections_open.dec();
        self.instance.do_send(ConnClosed { id: self.info.id });
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
        self.session.kill();
        // A connection still in start-up has no relay to stop.
        if self.info.state() == ConnectionState::Startup {
            ctx.stop();
        }
    }
}

/// The connection's async body, detached from the actor's `&mut self`.
struct Serve {
    shared: Arc<Shared>,
    instance: Addr<ProxyInstance>,
    info: Arc<ConnInfo>,
    session: Rc<SessionCtl>,
    cancel_secret: i32,
}

impl Serve {
    async fn run(self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let peer = self.info.client_addr;
        let opened = tokio::time::timeout(STARTUP_TIMEOUT, self.start(tcp)).await;
        let (client, cbuf, backend) = match opened {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(_) => {
                tracing::info!(%peer, "client did not finish start-up in time");
                return;
            }
        };
        let fin = relay::run(
            client,
            backend,
            &self.session,
            &self.info,
            &self.shared.metrics,
            cbuf,
        )
        .await;
        self.finish(fin, peer).await;
    }

    /// Start-up through to a relayable session; `None` when it ended (errors answered).
    async fn start(&self, tcp: TcpStream) -> Option<(Stream, bytes::BytesMut, Stream)> {
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
            Ok(Ok(backend)) => Some((stream, buf, backend)),
            Ok(Err(refusal)) => {
                let _ = stream.write_all(&refusal.encode()).await;
                let _ = stream.shutdown().await;
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
                    let refusal = Refusal::fatal("08P01", p.to_string());
                    let _ = s.write_all(&refusal.encode()).await;
                    let _ = s.shutdown().await;
                }
            }
            _ => tracing::info!(%peer, error = %e, "start-up failed"),
        }
    }

    /// Authenticates the client and opens its backend session on the source of truth.
    async fn login(
        &self,
        stream: &mut Stream,
        buf: &mut bytes::BytesMut,
        params: Vec<(String, String)>,
    ) -> Result<Result<Stream, Refusal>, StartupError> {
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
        let credential = match startup::authenticate(stream, buf, &user, verifier).await? {
            Ok(c) => c,
            Err(refusal) => {
                self.shared.metrics.auth_failures.inc();
                tracing::info!(peer = %self.info.client_addr, %user, "authentication failed");
                return Ok(Err(refusal));
            }
        };
        let backend = self.shared.backend(sot);
        let session = match backend.open_session(&params, &credential).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, %user, "backend session failed");
                return Ok(Err(match e {
                    crate::backend::BackendError::Rejected { raw, .. } => Refusal::Backend(raw),
                    other => {
                        self.shared.metrics.backend_errors.inc();
                        Refusal::fatal("08006", other.client_message())
                    }
                }));
            }
        };
        let mut out = Vec::with_capacity(session.greeting.len() + 64);
        be::authentication(&mut out, be::auth::OK, &[]);
        out.extend_from_slice(&session.greeting);
        be::backend_key_data(&mut out, self.cancel_pid(), self.cancel_secret);
        be::ready_for_query(&mut out, session.status);
        stream.write_all(&out).await?;
        self.info.set_source_of_truth(sot);
        self.info.ready(session.status);
        self.instance.do_send(SessionKey {
            id: self.info.id,
            secret: self.cancel_secret,
            backend: sot,
            backend_pid: session.pid,
            backend_secret: session.secret,
        });
        Ok(Ok(session.stream))
    }

    fn cancel_pid(&self) -> i32 {
        (self.info.id % i32::MAX as u64) as i32
    }

    async fn forward_cancel(&self, pid: i32, secret: i32) {
        let Ok(Some((role, bpid, bsecret))) =
            self.instance.send(LookupCancel { pid, secret }).await
        else {
            tracing::debug!(pid, "cancel request for an unknown key ignored");
            return;
        };
        if let Err(e) = self.shared.backend(role).cancel(bpid, bsecret).await {
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
        } = fin;
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
            End::Drained | End::Killed => (
                Some((
                    "57P01",
                    "terminating connection because molt-lms is shutting down".to_owned(),
                )),
                true,
            ),
            End::Stopped => (None, true),
        };
        if let (Some((code, msg)), true) = (to_client, client_at_boundary) {
            let mut out = Vec::new();
            be::error_response(&mut out, Severity::Fatal, code, &msg);
            let _ = client.write_all(&out).await;
        }
        let _ = client.shutdown().await;
        if tell_backend {
            let _ = backend.write_all(&TERMINATE).await;
        }
        let _ = backend.shutdown().await;
    }
}
