//! The supervised coordinator: owns the desired state and the cutover attempt, persists
//! every change before acting on it, and re-derives everything from the store when it
//! (re)starts. REST handlers talk to it by message only.

use super::attempt::{Attempt, Finish};
use super::proxy_agent::{GetEntry, ProxyAgent, Push, Retire, Seen};
use super::store::{rfc3339, State, Store, StoreError};
use actix::prelude::*;
use molt_lms_api::cutover::{
    BeginRequest, CutoverAttempt, CutoverStatus, DesiredState, Directive, Heartbeat, HoldOrder,
    Liveness, OrchestratorStatus, ProxyAttempt, ProxyReport, Registration, TimeoutAction,
};
use molt_lms_api::{Dialect, ShadowMode, SourceOfTruth};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// A refused request: HTTP status, stable code, sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn refused(status: u16, code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        code,
        message: message.into(),
    }
}

fn store_refused(e: StoreError) -> Refused {
    match e {
        StoreError::NotInitialized => refused(409, "not_initialized", e.to_string()),
        other => refused(503, "store_unavailable", other.to_string()),
    }
}

#[derive(Debug, Clone)]
pub struct CoordinatorSettings {
    pub heartbeat_interval: Duration,
    pub lost_after: Duration,
}

pub struct Coordinator {
    store: Arc<Store>,
    settings: CoordinatorSettings,
    http: reqwest::Client,
    state: State,
    initialized: bool,
    /// The current or most recent attempt.
    attempt: Option<Attempt>,
    terminate_blockers: bool,
    proxies: BTreeMap<String, (Addr<ProxyAgent>, Registration)>,
    /// Proxies whose heartbeats stopped; left out of new cutovers until heard from.
    lost: BTreeSet<String>,
}

impl Coordinator {
    pub fn new(store: Arc<Store>, settings: CoordinatorSettings, http: reqwest::Client) -> Self {
        Self {
            store,
            settings,
            http,
            state: State {
                source_of_truth: SourceOfTruth::Source,
                epoch: 0,
                active_attempt: None,
            },
            initialized: false,
            attempt: None,
            terminate_blockers: false,
            proxies: BTreeMap::new(),
            lost: BTreeSet::new(),
        }
    }

    fn desired(&self) -> DesiredState {
        DesiredState {
            epoch: self.state.epoch,
            source_of_truth: self.state.source_of_truth,
            hold: self
                .attempt
                .as_ref()
                .filter(|a| a.holding())
                .map(|a| HoldOrder {
                    attempt_id: a.id,
                    terminate_blockers: self.terminate_blockers,
                    prepare_to: None,
                }),
        }
    }

    fn directive(&self) -> Directive {
        Directive {
            desired: self.desired(),
            heartbeat_interval_ms: self.settings.heartbeat_interval.as_millis() as u64,
        }
    }

    fn push_all(&self) {
        let d = self.desired();
        for (agent, _) in self.proxies.values() {
            agent.do_send(Push(d.clone()));
        }
    }

    /// Persists the attempt's progress in order; a store failure restarts the actor,
    /// which reloads what was persisted.
    fn persist_attempt(&mut self, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.clone() else {
            return;
        };
        let store = self.store.clone();
        ctx.wait(async move { store.save_attempt(&a).await }.into_actor(self).map(|r, _, ctx| {
            if let Err(e) = r {
                tracing::error!(error = %e, "persisting the attempt failed; restarting the coordinator");
                ctx.stop();
            }
        }));
    }

    fn dialects(&self) -> (Option<Dialect>, Option<Dialect>) {
        self.proxies
            .values()
            .next()
            .map(|(_, r)| (Some(r.source_dialect), Some(r.target_dialect)))
            .unwrap_or((None, None))
    }

    fn view(&self, a: &Attempt) -> CutoverAttempt {
        let (src, tgt) = self.dialects();
        let sot = if a.finish == Some(Finish::Commit) {
            a.to
        } else {
            a.from
        };
        let dialect = match sot {
            SourceOfTruth::Source => src,
            SourceOfTruth::Target => tgt,
        };
        CutoverAttempt {
            id: a.id,
            from: a.from,
            to: a.to,
            source_of_truth: sot,
            source_of_truth_dialect: dialect.unwrap_or(Dialect::Postgres),
            status: a.status,
            trigger_time: rfc3339(a.trigger),
            traffic_paused_time: a.paused.map(rfc3339),
            prepare_started_time: None,
            end_time: a.end.map(rfc3339),
            error: a.error.clone(),
            begin_timeout_ms: a.begin_timeout.map(|d| d.as_millis() as u64),
            timeout_action: a.action,
            proxies: a
                .rows
                .iter()
                .map(|(addr, r)| ProxyAttempt {
                    lms_address: addr.clone(),
                    source_of_truth: r.source_of_truth,
                    status: r.status,
                    trigger_time: rfc3339(r.trigger),
                    traffic_paused_time: r.paused.map(rfc3339),
                    prepared_time: None,
                    end_time: r.end.map(rfc3339),
                    error: r.error.clone(),
                    held: r.report.as_ref().map_or(0, |p| p.held),
                    connections: r.report.as_ref().map_or(0, |p| p.connections),
                    blockers: r
                        .report
                        .as_ref()
                        .map(|p| p.blockers.clone())
                        .unwrap_or_default(),
                    prepare: None,
                })
                .collect(),
        }
    }

    fn apply_report(&mut self, addr: &str, report: &ProxyReport, ctx: &mut Context<Self>) {
        let changed = self
            .attempt
            .as_mut()
            .is_some_and(|a| a.on_report(addr, report));
        if changed {
            self.persist_attempt(ctx);
        }
    }

    fn on_begin_timeout(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.as_mut().filter(|a| a.id == id && a.holding()) else {
            return;
        };
        if a.status == CutoverStatus::TrafficPaused {
            return;
        }
        let timeout = a.begin_timeout.unwrap_or_default();
        match a.action {
            TimeoutAction::Abort => {
                let blockers: Vec<String> = a
                    .rows
                    .iter()
                    .flat_map(|(addr, r)| {
                        r.report
                            .iter()
                            .flat_map(|p| p.blockers.iter())
                            .map(move |b| {
                                format!(
                                "{addr} client {} ({:?}, transaction open {:.1}s, last query: {})",
                                b.client_address,
                                b.state,
                                b.transaction_age_secs.unwrap_or(0.0),
                                b.last_query.chars().take(80).collect::<String>()
                            )
                            })
                    })
                    .collect();
                a.error = format!(
                    "begin timeout of {} expired before traffic paused; blocking connections: {}",
                    humantime::format_duration(timeout),
                    if blockers.is_empty() {
                        "none reported".to_owned()
                    } else {
                        blockers.join("; ")
                    }
                );
                tracing::warn!(attempt = id, error = %a.error, "aborting");
                self.start_finish(Finish::Abort, ctx);
            }
            TimeoutAction::Terminate => {
                tracing::warn!(attempt = id, "begin timeout: terminating blocking sessions");
                self.terminate_blockers = true;
                self.state.epoch += 1;
                self.save_and_push(ctx);
            }
        }
    }

    /// Persists the desired state with the attempt, then pushes it.
    fn save_and_push(&mut self, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.clone() else {
            return;
        };
        let (store, state) = (self.store.clone(), self.state);
        ctx.wait(async move { store.save(state, &a).await }.into_actor(self).map(|r, act, ctx| match r {
            Ok(()) => act.push_all(),
            Err(e) => {
                tracing::error!(error = %e, "persisting the desired state failed; restarting the coordinator");
                ctx.stop();
            }
        }));
    }

    fn start_finish(&mut self, finish: Finish, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.as_mut() else {
            return;
        };
        self.state.epoch += 1;
        if finish == Finish::Commit {
            self.state.source_of_truth = a.to;
        }
        self.state.active_attempt = None;
        a.start_finish(finish, self.state.epoch);
        // Lost proxies cannot confirm; their rows are already Error.
        self.save_and_push(ctx);
    }
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    /// Loads the persisted state; an active attempt resumes holding.
    fn started(&mut self, ctx: &mut Self::Context) {
        let store = self.store.clone();
        ctx.wait(
            async move {
                let state = store.load_state().await?;
                let attempt = match state.active_attempt {
                    Some(id) => store.load_attempt(id).await?,
                    None => None,
                };
                Ok::<_, StoreError>((state, attempt))
            }
            .into_actor(self)
            .map(|r, act, _| match r {
                Ok((state, attempt)) => {
                    act.initialized = true;
                    act.state = state;
                    if attempt.is_some() {
                        act.attempt = attempt;
                    }
                    tracing::info!(source_of_truth = %state.source_of_truth, epoch = state.epoch, "loaded state");
                }
                Err(StoreError::NotInitialized) => {
                    tracing::warn!("metadata tables missing: run `molt-lms-cli initialize`");
                }
                Err(e) => tracing::error!(error = %e, "cannot load the persisted state; serving defaults until it loads"),
            }),
        );
    }
}

impl Supervised for Coordinator {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("coordinator restarting: reloading persisted state");
        self.attempt = None;
        self.terminate_blockers = false;
    }
}

#[derive(Message)]
#[rtype(result = "Directive")]
pub struct Register(pub Registration);

impl Handler<Register> for Coordinator {
    type Result = MessageResult<Register>;
    fn handle(&mut self, msg: Register, ctx: &mut Self::Context) -> Self::Result {
        let reg = msg.0;
        let addr = reg.lms_address.clone();
        if let Some((old, _)) = self.proxies.remove(&addr) {
            old.do_send(Retire);
        }
        let agent = ProxyAgent::new(
            reg.clone(),
            self.settings.lost_after,
            ctx.address(),
            self.http.clone(),
        )
        .start();
        self.proxies.insert(addr.clone(), (agent, reg));
        self.lost.remove(&addr);
        tracing::info!(proxy = %addr, "proxy registered");
        if let Some(a) = self.attempt.as_mut().filter(|a| a.holding()) {
            a.join(&addr);
            self.persist_attempt(ctx);
        }
        MessageResult(self.directive())
    }
}

#[derive(Message)]
#[rtype(result = "Option<Directive>")]
pub struct HeartbeatMsg(pub Heartbeat);

impl Handler<HeartbeatMsg> for Coordinator {
    type Result = Option<Directive>;
    fn handle(&mut self, msg: HeartbeatMsg, ctx: &mut Self::Context) -> Self::Result {
        let Heartbeat {
            lms_address,
            report,
        } = msg.0;
        let (agent, _) = self.proxies.get(&lms_address)?;
        agent.do_send(Seen(report.clone()));
        self.lost.remove(&lms_address);
        self.apply_report(&lms_address, &report, ctx);
        Some(self.directive())
    }
}

/// A report that came back from a push.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReportFrom {
    pub lms_address: String,
    pub report: ProxyReport,
}

impl Handler<ReportFrom> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: ReportFrom, ctx: &mut Self::Context) {
        self.apply_report(&msg.lms_address, &msg.report, ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ProxyLost {
    pub lms_address: String,
}

impl Handler<ProxyLost> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: ProxyLost, ctx: &mut Self::Context) {
        if self
            .attempt
            .as_mut()
            .is_some_and(|a| a.on_lost(&msg.lms_address))
        {
            self.persist_attempt(ctx);
        }
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), Refused>")]
pub struct Initialize;

impl Handler<Initialize> for Coordinator {
    type Result = AtomicResponse<Self, Result<(), Refused>>;
    fn handle(&mut self, _: Initialize, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                store.initialize().await?;
                store.load_state().await
            }
            .into_actor(self)
            .map(|r, act, _| match r {
                Ok(state) => {
                    if !act.initialized {
                        act.state = state;
                    }
                    act.initialized = true;
                    Ok(())
                }
                Err(e) => Err(store_refused(e)),
            }),
        ))
    }
}

#[derive(Message)]
#[rtype(result = "Result<CutoverAttempt, Refused>")]
pub struct Begin(pub BeginRequest);

impl Handler<Begin> for Coordinator {
    type Result = AtomicResponse<Self, Result<CutoverAttempt, Refused>>;
    fn handle(&mut self, msg: Begin, ctx: &mut Self::Context) -> Self::Result {
        match self.begin_check(&msg.0, ctx) {
            Err(e) => AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
            Ok(participants) => {
                let store = self.store.clone();
                let req = msg.0;
                AtomicResponse::new(Box::pin(
                    async move { store.next_attempt_id().await }
                        .into_actor(self)
                        .then(move |id, act, _| {
                            let attempt = id.map(|id| {
                                Attempt::begin(
                                    id,
                                    act.state.source_of_truth,
                                    participants,
                                    req.begin_timeout_ms.map(Duration::from_millis),
                                    req.timeout_action,
                                )
                            });
                            let mut state = act.state;
                            state.epoch += 1;
                            if let Ok(a) = &attempt {
                                state.active_attempt = Some(a.id);
                            }
                            let store = act.store.clone();
                            async move {
                                let a = attempt?;
                                store.save(state, &a).await?;
                                Ok::<_, StoreError>((state, a))
                            }
                            .into_actor(act)
                        })
                        .map(|r, act, ctx| {
                            let (state, attempt) = r.map_err(store_refused)?;
                            tracing::info!(
                                attempt = attempt.id,
                                proxies = attempt.rows.len(),
                                "cutover begin"
                            );
                            if let Some(t) = attempt.begin_timeout {
                                let id = attempt.id;
                                ctx.run_later(t, move |act, ctx| act.on_begin_timeout(id, ctx));
                            }
                            act.state = state;
                            act.terminate_blockers = false;
                            act.attempt = Some(attempt);
                            act.push_all();
                            Ok(act.view(act.attempt.as_ref().expect("just set")))
                        }),
                ))
            }
        }
    }
}

impl Coordinator {
    fn begin_check(
        &self,
        req: &BeginRequest,
        _: &mut Context<Self>,
    ) -> Result<Vec<String>, Refused> {
        if !self.initialized {
            return Err(store_refused(StoreError::NotInitialized));
        }
        if let Some(a) = self.attempt.as_ref().filter(|a| !a.settled()) {
            return Err(refused(
                409,
                "attempt_in_progress",
                format!(
                    "cutover attempt {} is in progress ({})",
                    a.id,
                    a.status.as_str()
                ),
            ));
        }
        let live: Vec<&Registration> = self
            .proxies
            .values()
            .map(|(_, r)| r)
            .filter(|r| req.lms_addresses.is_empty() || req.lms_addresses.contains(&r.lms_address))
            .collect();
        for wanted in &req.lms_addresses {
            if !self.proxies.contains_key(wanted) {
                return Err(refused(
                    400,
                    "unknown_proxy",
                    format!("no proxy registered at {wanted}"),
                ));
            }
        }
        if live.is_empty() {
            return Err(refused(
                409,
                "no_proxies",
                "no proxy is registered with the orchestrator",
            ));
        }
        if let Some(r) = live.iter().find(|r| r.shadow_mode != ShadowMode::None) {
            return Err(refused(
                409,
                "shadowing",
                format!("proxy {} shadows traffic (mode {}); a consistent cutover needs shadow mode none", r.lms_address, r.shadow_mode),
            ));
        }
        Ok(live.iter().map(|r| r.lms_address.clone()).collect())
    }
}

/// Commit or abort; answers with the attempt id once the finish is persisted and pushed.
#[derive(Message)]
#[rtype(result = "Result<u64, Refused>")]
pub struct FinishAttempt {
    pub finish: Finish,
    pub attempt_id: Option<u64>,
}

impl Handler<FinishAttempt> for Coordinator {
    type Result = Result<u64, Refused>;
    fn handle(&mut self, msg: FinishAttempt, ctx: &mut Self::Context) -> Self::Result {
        let verb = match msg.finish {
            Finish::Commit => "commit",
            Finish::Abort => "abort",
        };
        let Some(a) = self
            .attempt
            .as_ref()
            .filter(|a| msg.attempt_id.is_none_or(|id| id == a.id))
        else {
            return Err(match msg.attempt_id {
                Some(id) => refused(
                    409,
                    "not_active",
                    format!("cutover attempt {id} is not in progress; nothing to {verb}"),
                ),
                None => refused(
                    409,
                    "no_attempt",
                    format!(
                        "no cutover is in progress: run `cutover consistent begin` before {verb}"
                    ),
                ),
            });
        };
        let no_attempt = || {
            refused(
                409,
                "no_attempt",
                format!("no cutover is in progress (attempt {} finished): run `cutover consistent begin` before {verb}", a.id),
            )
        };
        match (msg.finish, a.finish, a.status) {
            (Finish::Abort, Some(Finish::Commit), _) => {
                return Err(refused(
                    409,
                    "already_committed",
                    format!("cutover attempt {} was committed and cannot be aborted; run begin and commit again to switch back", a.id),
                ))
            }
            // Repeating the finish in progress is harmless; once settled there is nothing to finish.
            (_, Some(_), _) if a.settled() => return Err(no_attempt()),
            (_, Some(done), _) if done == msg.finish => return Ok(a.id),
            (Finish::Commit, Some(Finish::Abort), _) => {
                return Err(refused(409, "already_aborted", format!("cutover attempt {} is being aborted", a.id)))
            }
            (Finish::Commit, None, CutoverStatus::BeginStarted) => {
                return Err(refused(409, "not_paused", format!("cutover attempt {} has not paused traffic on every proxy yet", a.id)))
            }
            (Finish::Commit, None, CutoverStatus::Error) => {
                return Err(refused(409, "attempt_failed", format!("cutover attempt {} failed ({}); abort it", a.id, a.error)))
            }
            _ => {}
        }
        let id = a.id;
        tracing::info!(attempt = id, "cutover {verb}");
        self.start_finish(msg.finish, ctx);
        Ok(id)
    }
}

#[derive(Message)]
#[rtype(result = "Result<CutoverAttempt, Refused>")]
pub struct GetAttempt(pub u64);

impl Handler<GetAttempt> for Coordinator {
    type Result = ResponseActFuture<Self, Result<CutoverAttempt, Refused>>;
    fn handle(&mut self, msg: GetAttempt, _: &mut Self::Context) -> Self::Result {
        if let Some(a) = self.attempt.as_ref().filter(|a| a.id == msg.0) {
            return Box::pin(fut::ready(Ok(self.view(a))));
        }
        let store = self.store.clone();
        Box::pin(
            async move { store.load_attempt(msg.0).await }
                .into_actor(self)
                .map(move |r, act, _| match r {
                    Ok(Some(a)) => Ok(act.view(&a)),
                    Ok(None) => Err(refused(
                        404,
                        "not_found",
                        format!("no cutover attempt with id {}", msg.0),
                    )),
                    Err(e) => Err(store_refused(e)),
                }),
        )
    }
}

#[derive(Message)]
#[rtype(result = "OrchestratorStatus")]
pub struct GetStatus;

impl Handler<GetStatus> for Coordinator {
    type Result = ResponseFuture<OrchestratorStatus>;
    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        let agents: Vec<Addr<ProxyAgent>> = self.proxies.values().map(|(a, _)| a.clone()).collect();
        let (src, tgt) = self.dialects();
        let active = self.attempt.as_ref().filter(|a| a.holding()).map(|a| a.id);
        let mut status = OrchestratorStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            initialized: self.initialized,
            source_dialect: src,
            target_dialect: tgt,
            source_of_truth: self.state.source_of_truth,
            epoch: self.state.epoch,
            transitioning: self.attempt.as_ref().is_some_and(|a| !a.settled()),
            active_attempt: active,
            proxies: Vec::new(),
        };
        Box::pin(async move {
            for a in agents {
                if let Ok(e) = a.send(GetEntry).await {
                    status.proxies.push(e);
                }
            }
            status
        })
    }
}

/// Registrations of the proxies a fan-out request goes to (all, or those named).
#[derive(Message)]
#[rtype(result = "Vec<(Registration, Liveness)>")]
pub struct Targets(pub Vec<String>);

impl Handler<Targets> for Coordinator {
    type Result = ResponseFuture<Vec<(Registration, Liveness)>>;
    fn handle(&mut self, msg: Targets, _: &mut Self::Context) -> Self::Result {
        let agents: Vec<(Addr<ProxyAgent>, Registration)> = self
            .proxies
            .values()
            .filter(|(_, r)| msg.0.is_empty() || msg.0.contains(&r.lms_address))
            .cloned()
            .collect();
        Box::pin(async move {
            let mut out = Vec::new();
            for (a, r) in agents {
                let liveness = a
                    .send(GetEntry)
                    .await
                    .map_or(Liveness::Lost, |e| e.liveness);
                out.push((r, liveness));
            }
            out
        })
    }
}
