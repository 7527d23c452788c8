//! The proxy instance as an actor: it owns the listener, the registry of client
//! connections (and their cancel keys), the source-of-truth setting and the
//! worker threads that connections run on.

mod conn_addr;
pub mod cutover;
mod trace;
mod worker;
use worker::Worker;

use crate::client_conn::{
    Describe, Drain, Hold, Kill, Prepare, Release, Switch, TerminateBlocker, Unprepare,
};
use crate::client_error::{ClientError, ClientErrorKind};
use crate::conn_info::ConnInfo;
use crate::pg::Pg;
use crate::protocol::{BackendKey, ClientKey, Protocol};
use crate::shared::Shared;
use actix::prelude::*;
use conn_addr::ConnAddr;
use cutover::{Action, CutoverState, PrepareOutcome, Stale};
use molt_lms_api::cutover::{Blocker, DesiredState, ProxyPhase, ProxyReport};
use molt_lms_api::{ConnectionInfo, ProxyStatus, SourceOfTruth};
use molt_lms_telemetry::KeyValue;
use rand::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use trace::CutoverSpans;

struct Entry {
    addr: ConnAddr,
    info: Arc<ConnInfo>,
    cancel: Option<SessionKey>,
}

pub struct ProxyInstance {
    shared: Arc<Shared>,
    listener: Option<TcpListener>,
    /// One thread per worker; connections are spread round-robin.
    workers: Vec<Worker>,
    next_worker: usize,
    conns: HashMap<u64, Entry>,
    open: watch::Sender<usize>,
    draining: bool,
    cutover: CutoverState,
    /// The orchestrator's state at registration, applied before accepting clients.
    initial: Option<DesiredState>,
    /// This proxy's spans of the cutover trace.
    spans: CutoverSpans,
}

impl ProxyInstance {
    /// Fails when a worker thread cannot be started (the system's thread limit, say).
    pub fn new(
        shared: Arc<Shared>,
        listener: TcpListener,
        initial: Option<DesiredState>,
    ) -> std::io::Result<Self> {
        let workers = (0..shared.settings.workers.max(1))
            .map(|i| Worker::start(format!("molt-lms-worker-{i}")))
            .collect::<std::io::Result<_>>()?;
        Ok(Self {
            shared,
            listener: Some(listener),
            workers,
            next_worker: 0,
            conns: HashMap::new(),
            open: watch::channel(0).0,
            draining: false,
            cutover: CutoverState::new(0),
            initial,
            spans: CutoverSpans::new(),
        })
    }

    /// Carries out what the cutover state asks for.
    fn carry_out(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::HoldAll => {
                    self.shared.gate.send_replace(false);
                    for e in self.conns.values() {
                        e.addr.do_send(Hold);
                    }
                }
                Action::TerminateBlockers(ids) => {
                    for id in ids {
                        if let (Some(e), Some(attempt_id)) =
                            (self.conns.get(&id), self.cutover.attempt)
                        {
                            e.addr.do_send(TerminateBlocker { attempt_id });
                        }
                    }
                }
                Action::PrepareAll { order, to } => {
                    tracing::info!(order, %to, sessions = self.conns.len(), "preparing sessions on the new source of truth");
                    for e in self.conns.values() {
                        e.addr.do_send(Prepare { order, to });
                    }
                }
                Action::UnprepareAll => {
                    for e in self.conns.values() {
                        e.addr.do_send(Unprepare);
                    }
                }
                Action::ReleaseAll => {
                    for e in self.conns.values() {
                        e.addr.do_send(Release);
                    }
                    self.shared.gate.send_replace(true);
                }
                Action::SwitchAll(to) => {
                    // New sessions pick the new database from here on.
                    self.shared.set_source_of_truth(to);
                    self.shared.gate.send_replace(true);
                    for e in self.conns.values() {
                        e.addr.do_send(Switch { to });
                    }
                }
                Action::Report => {
                    let prepare = self.cutover.prepare.as_ref().map(|p| p.report());
                    tracing::info!(
                        phase = ?self.cutover.phase,
                        attempt = ?self.cutover.attempt,
                        prepared = prepare.as_ref().map(|p| p.sessions),
                        prepare_failures = prepare.as_ref().map(|p| p.failures.len()),
                        prepare_ms = prepare.as_ref().and_then(|p| p.millis),
                        "cutover phase"
                    );
                    // Before the report goes out, so it names this phase's span.
                    self.observe_phase();
                    self.shared.report_changed.send_modify(|n| *n += 1);
                }
            }
        }
        self.observe_phase();
    }

    fn report(&self) -> ProxyReport {
        let addr = &self.shared.settings.advertise_address;
        let mut blockers: Vec<Blocker> = self
            .cutover
            .waiting
            .iter()
            .filter_map(|id| self.conns.get(id))
            .map(|e| {
                let c = e.info.snapshot(addr);
                Blocker {
                    connection_id: c.id,
                    client_address: c.source_address,
                    state: c.state,
                    transaction_age_secs: c.transaction_age_secs,
                    last_query: c.last_query,
                }
            })
            .collect();
        blockers.sort_by_key(|b| b.connection_id);
        let holding = self.cutover.holding();
        ProxyReport {
            epoch: self.cutover.epoch,
            source_of_truth: self.shared.source_of_truth(),
            phase: self.cutover.phase,
            attempt_id: self.cutover.attempt,
            paused_at: self
                .cutover
                .paused_at
                .map(|t| humantime::format_rfc3339_micros(t).to_string()),
            connections: self.conns.len() as u64,
            held: if holding {
                (self.conns.len() - self.cutover.waiting.len()) as u64
            } else {
                0
            },
            blockers,
            error: self.cutover.errors.join("; "),
            prepare: self.cutover.prepare.as_ref().map(|p| p.report()),
            fenced: self.cutover.fenced,
            traceparent: self.spans.last(),
        }
    }

    /// Turns the phase the cutover state is now in into the trace's spans.
    fn observe_phase(&mut self) {
        let phase = self.cutover.phase;
        let (shared, cutover, n) = (&self.shared, &self.cutover, self.conns.len());
        self.spans.observe(phase, || {
            let mut attrs = vec![
                KeyValue::new("lms.proxy", shared.settings.advertise_address.clone()),
                KeyValue::new("lms.connections", n as i64),
                KeyValue::new("lms.source_of_truth", shared.source_of_truth().to_string()),
            ];
            if let Some(a) = cutover.attempt {
                attrs.push(KeyValue::new("cutover.attempt", a as i64));
            }
            if let Some(p) = cutover.prepare.as_ref().map(|p| p.report()) {
                attrs.push(KeyValue::new("lms.prepared_sessions", p.sessions as i64));
                attrs.push(KeyValue::new(
                    "lms.prepare_failures",
                    p.failures.len() as i64,
                ));
            }
            if !cutover.errors.is_empty() {
                attrs.push(KeyValue::new(
                    "lms.switch_errors",
                    cutover.errors.len() as i64,
                ));
            }
            attrs
        });
    }

    fn apply(&mut self, desired: &DesiredState) -> Result<ProxyReport, Stale> {
        self.spans.set_parent(desired.traceparent.as_deref());
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        let actions =
            self.cutover
                .apply(desired, self.shared.source_of_truth(), ids.into_iter())?;
        self.carry_out(actions);
        Ok(self.report())
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
            transitioning: self.cutover.phase != ProxyPhase::Serving,
            draining: self.draining,
            open_connections: self.conns.len() as u64,
            error: String::new(),
        }
    }
}

impl Actor for ProxyInstance {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(initial) = self.initial.take() {
            if let Err(e) = self.apply(&initial) {
                tracing::warn!(?e, "initial state is stale");
            }
        }
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
        let max = self.shared.settings.max_client_connections;
        let refusal = if self.draining {
            Some(ClientError::new(
                ClientErrorKind::CannotConnectNow,
                "the molt-lms proxy is shutting down",
            ))
        } else if self.conns.len() >= max {
            Some(ClientError::too_many_connections(max))
        } else {
            None
        };
        if let Some(e) = refusal {
            self.shared.metrics.client_error(e.kind);
            let shared = self.shared.clone();
            match shared.settings.source_dialect {
                molt_lms_api::Dialect::Mysql => {
                    actix_rt::spawn(crate::mysql::MySql::refuse_unopened(msg.socket, shared, e))
                }
                _ => actix_rt::spawn(Pg::refuse_unopened(msg.socket, shared, e)),
            };
            return;
        }
        let id = self.shared.next_conn_id();
        let info = Arc::new(ConnInfo::new(id, msg.peer, self.shared.source_of_truth()));
        let worker = &self.workers[self.next_worker % self.workers.len()];
        self.next_worker = self.next_worker.wrapping_add(1);
        let (shared, me, info2) = (self.shared.clone(), ctx.address(), info.clone());
        // Both halves random: the process id's lower half is not the connection id, so a
        // client cannot guess its neighbours' keys from its own.
        let key = ClientKey {
            pid: self.shared.peers.key_pid(rand::rng().random()),
            secret: rand::rng().random(),
        };
        // Deregistered here and registered again on the worker: a socket stays bound to
        // the reactor that accepted it, which would cost a cross-thread wakeup per read.
        let socket = match msg.socket.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand over an accepted socket");
                return;
            }
        };
        let addr = ConnAddr::start(worker, socket, shared, me, info2, key);
        // A connection accepted while a commit prepares is prepared once logged in.
        if let Some((order, to)) = self.cutover.prepare_order() {
            addr.do_send(Prepare { order, to });
        }
        self.cutover.opened(id);
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
        let actions = self.cutover.closed(msg.id);
        self.carry_out(actions);
    }
}

/// A held session became quiet.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Quiescent {
    pub id: u64,
}

impl Handler<Quiescent> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: Quiescent, _: &mut Self::Context) {
        let actions = self.cutover.quiescent(msg.id);
        self.carry_out(actions);
    }
}

/// A session finished moving to the new source of truth (or failed to).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SwitchDone {
    pub id: u64,
    pub error: Option<String>,
}

impl Handler<SwitchDone> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: SwitchDone, _: &mut Self::Context) {
        let actions = self.cutover.switched(msg.id, msg.error);
        self.carry_out(actions);
    }
}

/// A session's preparation on the new source of truth ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PrepareDone {
    pub id: u64,
    pub order: u64,
    pub outcome: PrepareOutcome,
}

impl Handler<PrepareDone> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: PrepareDone, _: &mut Self::Context) {
        if let PrepareOutcome::Failed(f) = &msg.outcome {
            tracing::warn!(connection = msg.id, role = %f.role, database = %f.database, stage = f.stage.as_str(), error = %f.message, "a session could not be prepared on the new source of truth");
        }
        let actions = self.cutover.prepared(msg.id, msg.order, msg.outcome);
        self.carry_out(actions);
    }
}

/// A session that logged in during a preparation started preparing.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PrepareStarted {
    pub id: u64,
    pub order: u64,
}

impl Handler<PrepareStarted> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: PrepareStarted, _: &mut Self::Context) {
        self.cutover.prepare_started(msg.id, msg.order);
    }
}

/// The orchestrator's desired state (pushed, or from a heartbeat answer).
#[derive(Message)]
#[rtype(result = "Result<ProxyReport, Stale>")]
pub struct ApplyDesired(pub DesiredState);

impl Handler<ApplyDesired> for ProxyInstance {
    type Result = Result<ProxyReport, Stale>;
    fn handle(&mut self, msg: ApplyDesired, _: &mut Self::Context) -> Self::Result {
        self.apply(&msg.0)
    }
}

/// `cutover check`: whether a commit could log every session in to the other database
/// and prepare its named statements there.
#[derive(Message)]
#[rtype(result = "molt_lms_api::check::ProxyCheck")]
pub struct CheckCutover;

impl Handler<CheckCutover> for ProxyInstance {
    type Result = ResponseFuture<molt_lms_api::check::ProxyCheck>;
    fn handle(&mut self, _: CheckCutover, _: &mut Self::Context) -> Self::Result {
        let addrs: Vec<ConnAddr> = self.conns.values().map(|e| e.addr.clone()).collect();
        let shared = self.shared.clone();
        Box::pin(async move {
            let mut sketches = Vec::new();
            for a in addrs {
                if let Ok(Some(s)) = a.send(Describe).await {
                    sketches.push(s);
                }
            }
            crate::cutover_check::check(&shared, sketches).await
        })
    }
}

/// The lease ran out (`true`), or word came again and was applied (`false`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fence(pub bool);

impl Handler<Fence> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, msg: Fence, _: &mut Self::Context) {
        let actions = if msg.0 {
            tracing::warn!("orchestrator lease ran out: holding new transactions until it answers");
            self.cutover.fence()
        } else {
            tracing::info!("orchestrator answered again: lease renewed");
            self.cutover.unfence()
        };
        self.carry_out(actions);
    }
}

/// The instance's cutover report.
#[derive(Message)]
#[rtype(result = "ProxyReport")]
pub struct GetReport;

impl Handler<GetReport> for ProxyInstance {
    type Result = MessageResult<GetReport>;
    fn handle(&mut self, _: GetReport, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.report())
    }
}

/// A session's cancel key and the backend key it stands for.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct SessionKey {
    pub id: u64,
    /// The key the proxy issued the client.
    pub client: ClientKey,
    pub backend: SourceOfTruth,
    pub key: BackendKey,
    /// The shadow session's key, so a cancel stops the query there too.
    pub shadow: Option<BackendKey>,
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
#[rtype(result = "Option<SessionKey>")]
pub struct LookupCancel {
    pub key: ClientKey,
}

impl Handler<LookupCancel> for ProxyInstance {
    type Result = Option<SessionKey>;
    fn handle(&mut self, msg: LookupCancel, _: &mut Self::Context) -> Self::Result {
        self.conns
            .values()
            .filter_map(|e| e.cancel)
            .find(|k| k.client == msg.key)
    }
}

/// Sets the connection gauges from the registry, just before a scrape renders them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateGauges;

impl Handler<UpdateGauges> for ProxyInstance {
    type Result = ();
    fn handle(&mut self, _: UpdateGauges, _: &mut Self::Context) {
        use molt_lms_api::ConnectionState as S;
        let m = &self.shared.metrics;
        m.connections_by_state.reset();
        for e in self.conns.values() {
            let state = match e.info.state() {
                S::Startup => "startup",
                S::Idle => "idle",
                S::InQuery => "in_query",
                S::InTransaction => "in_transaction",
                S::FailedTransaction => "failed_transaction",
                S::Held => "held",
            };
            let sot = e.info.source_of_truth().to_string();
            m.connections_by_state
                .with_label_values(&[state, sot.as_str()])
                .inc();
        }
        m.connections_held.set(self.report().held as i64);
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
