//! The proxy instance as an actor: it owns the listener, the registry of client
//! connections (and their cancel keys), the source-of-truth setting and the worker
//! arbiters that connections run on.

use crate::client_conn::{ClientConn, Drain, Kill};
use crate::conn_info::ConnInfo;
use crate::shared::Shared;
use actix::prelude::*;
use molt_lms_api::{ConnectionInfo, ProxyStatus, SourceOfTruth};
use rand::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

struct Entry {
    addr: Addr<ClientConn>,
    info: Arc<ConnInfo>,
    cancel: Option<SessionKey>,
}

pub struct ProxyInstance {
    shared: Arc<Shared>,
    listener: Option<TcpListener>,
    /// One arbiter (thread) per worker; connections are spread round-robin.
    workers: Vec<Arbiter>,
    next_worker: usize,
    conns: HashMap<u64, Entry>,
    open: watch::Sender<usize>,
    draining: bool,
}

impl ProxyInstance {
    pub fn new(shared: Arc<Shared>, listener: TcpListener) -> Self {
        let workers = (0..shared.settings.workers.max(1))
            .map(|_| Arbiter::new())
            .collect();
        Self {
            shared,
            listener: Some(listener),
            workers,
            next_worker: 0,
            conns: HashMap::new(),
            open: watch::channel(0).0,
            draining: false,
        }
    }

    fn status(&self) -> ProxyStatus {
        let s = &self.shared.settings;
        let sot = self.shared.source_of_truth();
        ProxyStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            lms_address: s.advertise_address.clone(),
            admin_address: s.admin_address.clone(),
            source_dialect: s.source_dialect,
            target_dialect: s.target_dialect,
            shadow_mode: s.shadow_mode,
            source_address: s.source.address(),
            target_address: s.target.address(),
            source_of_truth: sot,
            source_of_truth_dialect: match sot {
                SourceOfTruth::Source => s.source_dialect,
                SourceOfTruth::Target => s.target_dialect,
            },
            transitioning: false,
            draining: self.draining,
            open_connections: self.conns.len() as u64,
            error: String::new(),
        }
    }
}

impl Actor for ProxyInstance {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let me = ctx.address();
        actix_rt::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((socket, peer)) => me.do_send(Accepted { socket, peer }),
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Accepted {
    socket: TcpStream,
    peer: SocketAddr,
}

impl Handler<Accepted> for ProxyInstance {
    type Result = ();

    fn handle(&mut self, msg: Accepted, ctx: &mut Self::Context) {
        if self.draining {
            actix_rt::spawn(refuse_shutting_down(msg.socket));
            return;
        }
        let id = self.shared.next_conn_id();
        let info = Arc::new(ConnInfo::new(id, msg.peer, self.shared.source_of_truth()));
        let worker = &self.workers[self.next_worker % self.workers.len()];
        self.next_worker = self.next_worker.wrapping_add(1);
        let (shared, me, info2) = (self.shared.clone(), ctx.address(), info.clone());
        let secret: i32 = rand::rng().random();
        let socket = msg.socket;
        let addr = ClientConn::start_in_arbiter(&worker.handle(), move |_| {
            ClientConn::new(socket, shared, me, info2, secret)
        });
        self.conns.insert(
            id,
            Entry {
                addr,
                info,
                cancel: None,
            },
        );
        self.open.send_replace(self.conns.len());
    }
}

async fn refuse_shutting_down(mut socket: TcpStream) {
    let mut out = Vec::new();
    crate::wire::pg::backend::error_response(
        &mut out,
        crate::wire::pg::backend::Severity::Fatal,
        "57P03",
        "the molt-lms proxy is shutting down",
    );
    // The client's startup packet is not read: an error is valid in place of any answer.
    let _ = socket.write_all(&out).await;
    let _ = socket.shutdown().await;
}

/// A connection ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnClosed {
    pub id: u64,
}

impl Handler<ConnClosed> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: ConnClosed, _: &mut Self::Context) {
        self.conns.remove(&msg.id);
        self.open.send_replace(self.conns.len());
    }
}

/// A session's cancel key and the backend key it stands for.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct SessionKey {
    pub id: u64,
    pub secret: i32,
    pub backend: SourceOfTruth,
    pub backend_pid: i32,
    pub backend_secret: i32,
}

impl Handler<SessionKey> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: SessionKey, _: &mut Self::Context) {
        if let Some(e) = self.conns.get_mut(&msg.id) {
            e.cancel = Some(msg);
        }
    }
}

/// Which backend session a client's cancel key points at.
#[derive(Message)]
#[rtype(result = "Option<(SourceOfTruth, i32, i32)>")]
pub struct LookupCancel {
    pub pid: i32,
    pub secret: i32,
}

impl Handler<LookupCancel> for ProxyInstance {
    type Result = Option<(SourceOfTruth, i32, i32)>;
    fn handle(&mut self, msg: LookupCancel, _: &mut Self::Context) -> Self::Result {
        let key = self.conns.get(&(msg.pid as u64))?.cancel?;
        (key.secret == msg.secret).then_some((key.backend, key.backend_pid, key.backend_secret))
    }
}

#[derive(Message)]
#[rtype(result = "ProxyStatus")]
pub struct GetStatus;

impl Handler<GetStatus> for ProxyInstance {
    type Result = MessageResult<GetStatus>;
    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.status())
    }
}

#[derive(Message)]
#[rtype(result = "Vec<ConnectionInfo>")]
pub struct ListConnections;

impl Handler<ListConnections> for ProxyInstance {
    type Result = MessageResult<ListConnections>;
    fn handle(&mut self, _: ListConnections, _: &mut Self::Context) -> Self::Result {
        let addr = &self.shared.settings.advertise_address;
        let mut list: Vec<_> = self.conns.values().map(|e| e.info.snapshot(addr)).collect();
        list.sort_by_key(|c| c.id);
        MessageResult(list)
    }
}

/// Graceful shutdown: stop accepting, let open transactions finish within `timeout`,
/// close idle sessions with a clean error, then close whatever remains.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown {
    pub timeout: Duration,
}

impl Handler<Shutdown> for ProxyInstance {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, msg: Shutdown, _: &mut Self::Context) -> Self::Result {
        // The listener stays open so new logins get PostgreSQL's 57P03 "shutting down"
        // rather than a refused connection.
        self.draining = true;
        tracing::info!(connections = self.conns.len(), "draining connections");
        for e in self.conns.values() {
            e.addr.do_send(Drain);
        }
        let addrs: Vec<_> = self.conns.values().map(|e| e.addr.clone()).collect();
        let mut open = self.open.subscribe();
        Box::pin(async move {
            let drained = tokio::time::timeout(msg.timeout, open.wait_for(|n| *n == 0))
                .await
                .is_ok();
            if !drained {
                tracing::warn!("shutdown timeout: closing the remaining connections");
                for a in &addrs {
                    a.do_send(Kill);
                }
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), open.wait_for(|n| *n == 0)).await;
            }
        })
    }
}
