//! The supervised coordinator: owns the desired state and the cutover attempt, persists
//! every change before acting on it, and re-derives everything from the store when it
//! (re)starts. REST handlers talk to it by message only.
//!
//! Whether a begin, commit or abort may go ahead is not decided here: the handlers
//! gather plain facts, ask the functions in `attempt` (unit-tested without actix), do
//! the I/O the answer calls for, and turn a refusal into a [`Refused`] code.

use super::attempt::{
    decide_begin, finish_target, Attempt, BeginFacts, BeginProxy, BeginRefusal, Durations, Finish,
    FinishDecision, FinishRefusal, NoTarget,
};
use super::proxy_agent::{GetEntry, ProxyAgent, Push, Retire, Seen};
use super::store::{State, Store, StoreError, StoredProxy};
use super::trace::AttemptTrace;
use super::view::attempt_view;
use actix::prelude::*;
use molt_lms_api::cutover::{
    BeginRequest, CutoverAttempt, CutoverStatus, Deregistration, DesiredState, Directive,
    Heartbeat, HoldOrder, Liveness, OrchestratorStatus, Peer, ProxyReport, Registration,
    ReplicationCheck, TimeoutAction,
};
use molt_lms_api::{Dialect, SourceOfTruth};
use molt_lms_common::control::client::ControlClient;
use molt_lms_common::secret::constant_time_eq;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How much later than the orchestrator's last word a proxy may count its lease from: an
/// answer reaches the proxy within its request timeout of being sent.
const FENCE_MARGIN: Duration = Duration::from_secs(5);

/// A refused request: a stable code and a sentence. The REST layer chooses the HTTP
/// status from the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

fn store_refused(e: StoreError) -> Refused {
    match e {
        StoreError::NotInitialized => refused("not_initialized", e.to_string()),
        StoreError::Stale { .. } => refused(
            "stale_state",
            format!("{e}; this orchestrator reloads the persisted state: retry"),
        ),
        other => refused("store_unavailable", other.to_string()),
    }
}

#[derive(Debug, Clone)]
pub struct CoordinatorSettings {
    pub heartbeat_interval: Duration,
    pub lost_after: Duration,
    /// How long a proxy's last answer stays good (see `Directive::lease_ms`).
    pub lease: Duration,
    /// How long every proxy has to prepare its sessions before a commit is refused.
    pub prepare_timeout: Duration,
    /// A proxy silent this long is removed from the registry (memory and metadata).
    pub forget_after: Duration,
}

/// How often the registry writes who was heard from, and forgets the long silent.
const REGISTRY_SWEEP: Duration = Duration::from_secs(10);

pub struct Coordinator {
    store: Arc<Store>,
    settings: CoordinatorSettings,
    http: ControlClient,
    state: State,
    initialized: bool,
    /// False until the persisted state is loaded: until then the orchestrator answers no
    /// heartbeat and pushes nothing, so no proxy hears a default it would act on.
    loaded: bool,
    /// The current or most recent attempt.
    attempt: Option<Attempt>,
    terminate_blockers: bool,
    proxies: BTreeMap<String, (Addr<ProxyAgent>, Registration)>,
    /// When each proxy was last heard from (heartbeat, push answer, registration); one
    /// silent for longer than `lost_after` is lost (`is_lost`).
    last_seen: BTreeMap<String, std::time::Instant>,
    /// The SHA-256 of the key each registration was issued; heartbeats and
    /// deregistrations must carry the key.
    keys: BTreeMap<String, String>,
    /// The client certificate (SHA-256) each registration came with, under mutual TLS.
    certs: BTreeMap<String, String>,
    /// Proxies heard from since the registry last wrote `last_seen`.
    touched: std::collections::BTreeSet<String>,
    /// Timers already armed: the attempt whose begin deadline, the order whose prepare
    /// deadline.
    armed_begin: Option<u64>,
    armed_prepare: Option<u64>,
    /// A progress write failed; logged once until one succeeds.
    progress_failing: bool,
    /// A progress write is in flight; `progress_dirty` asks for one more when it ends.
    progress_writing: bool,
    progress_dirty: bool,
    /// Orders every attempt write (see `Store::save_attempt`); continues from the
    /// metadata's newest after a restart.
    write_version: u64,
    /// The attempt's trace while it runs (traces on); lost with the process.
    trace: Option<AttemptTrace>,
    /// Attempts that ended since this orchestrator started, by final status; the id of
    /// the newest one counted, so none is counted twice.
    ended: BTreeMap<&'static str, u64>,
    counted: Option<u64>,
}

impl Coordinator {
    pub fn new(store: Arc<Store>, settings: CoordinatorSettings, http: ControlClient) -> Self {
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
            loaded: false,
            attempt: None,
            terminate_blockers: false,
            proxies: BTreeMap::new(),
            last_seen: BTreeMap::new(),
            keys: BTreeMap::new(),
            touched: Default::default(),
            certs: BTreeMap::new(),
            armed_begin: None,
            armed_prepare: None,
            progress_failing: false,
            progress_writing: false,
            progress_dirty: false,
            write_version: 0,
            trace: None,
            ended: BTreeMap::new(),
            counted: None,
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
                    prepare: a.prepare_order(),
                }),
            traceparent: self
                .trace
                .as_ref()
                .filter(|t| {
                    self.attempt
                        .as_ref()
                        .is_some_and(|a| a.id == t.id && !a.settled())
                })
                .and_then(AttemptTrace::traceparent),
        }
    }

    /// Ends the attempt's trace once the attempt has ended (or another replaced it), and
    /// counts the ended attempt.
    fn settle_trace(&mut self) {
        if let Some(a) = self.attempt.as_ref().filter(|a| a.settled()) {
            if self.counted != Some(a.id) {
                self.counted = Some(a.id);
                *self.ended.entry(a.status.as_str()).or_default() += 1;
            }
        }
        let done = match (&self.trace, &self.attempt) {
            (Some(t), Some(a)) => a.id != t.id || a.settled(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if done {
            if let (Some(t), Some(a)) = (self.trace.take(), self.attempt.as_ref()) {
                if a.id == t.id {
                    t.end(a);
                }
            }
        }
    }

    /// Refuses a heartbeat or deregistration that does not carry the key `addr`'s
    /// registration was issued: a forged report (a pause-ack, say) never counts.
    fn check_key(&self, addr: &str, presented: &str) -> Result<(), Refused> {
        let presented = key_hash(presented);
        let ok = self
            .keys
            .get(addr)
            .is_some_and(|k| constant_time_eq(k.as_bytes(), presented.as_bytes()));
        if ok {
            return Ok(());
        }
        tracing::warn!(proxy = %addr, "refused a report without this proxy's key");
        Err(refused(
            "wrong_proxy_key",
            format!("the request does not carry the key issued to the proxy registered at {addr}"),
        ))
    }

    fn directive(&self) -> Directive {
        Directive {
            desired: self.desired(),
            heartbeat_interval_ms: self.settings.heartbeat_interval.as_millis() as u64,
            lease_ms: self.settings.lease.as_millis() as u64,
            proxy_key: None,
            peers: self
                .proxies
                .values()
                .map(|(_, r)| Peer {
                    lms_address: r.lms_address.clone(),
                    cancel_tag: r.cancel_tag,
                })
                .collect(),
        }
    }

    fn push_all(&self) {
        let d = self.desired();
        for (agent, _) in self.proxies.values() {
            agent.do_send(Push(d.clone()));
        }
    }

    fn dialects(&self) -> (Option<Dialect>, Option<Dialect>) {
        self.proxies
            .values()
            .next()
            .map(|(_, r)| (Some(r.source_dialect), Some(r.target_dialect)))
            .unwrap_or((None, None))
    }

    fn view(&self, a: &Attempt) -> CutoverAttempt {
        let mut v = attempt_view(a, self.dialects());
        v.traceparent = self
            .trace
            .as_ref()
            .filter(|t| t.id == a.id)
            .and_then(AttemptTrace::traceparent);
        v
    }

    /// A proxy silent for longer than `lost_after` (its agent reports it lost too).
    fn is_lost(&self, addr: &str) -> bool {
        self.last_seen
            .get(addr)
            .is_none_or(|t| t.elapsed() > self.settings.lost_after)
    }

    /// The desired state one epoch on, otherwise unchanged: what every transition starts
    /// from.
    fn next_state(&self) -> State {
        State {
            epoch: self.state.epoch + 1,
            ..self.state
        }
    }

    /// Refuses control traffic until the persisted state is loaded. It gates every
    /// message, not a cutover rule: until then there are no facts to decide on.
    fn ready(&self) -> Result<(), Refused> {
        if self.loaded {
            Ok(())
        } else {
            Err(refused(
                "loading",
                "the orchestrator has not loaded its persisted state yet; retry shortly",
            ))
        }
    }

    /// Persists the attempt's progress (rows, times). Only the desired state decides what
    /// proxies do, so a failed write here is logged and written again at the next change.
    /// The write does not hold up the mailbox: with many proxies, reports arrive in a
    /// burst, and each one waiting for its own write would serialize the pause-acks on
    /// the metadata database. Changes made while a write is in flight are written once,
    /// from the newest state, when it ends. The write runs as a task of its own, so a
    /// transition that holds the mailbox never waits on a write the mailbox holds up;
    /// each write carries a version, so an older snapshot landing last changes nothing.
    fn persist_attempt(&mut self, ctx: &mut Context<Self>) {
        self.settle_trace();
        if self.progress_writing {
            self.progress_dirty = true;
            return;
        }
        let Some(a) = self.attempt.clone() else {
            return;
        };
        let (store, version, me) = (self.store.clone(), self.next_version(), ctx.address());
        self.progress_writing = true;
        self.progress_dirty = false;
        actix_rt::spawn(async move {
            let r = store.save_attempt(&a, version).await;
            me.do_send(ProgressWritten(r.map_err(|e| e.to_string())));
        });
    }

    fn next_version(&mut self) -> u64 {
        self.write_version += 1;
        self.write_version
    }

    /// Persists `state` with `attempt` (a compare-and-set on the current epoch); only then
    /// makes both current, pushes the new desired state and arms the attempt's timers.
    /// On failure nothing changes here and nothing is pushed. A stale epoch means another
    /// writer moved on: the coordinator restarts and reloads.
    fn transition(
        &mut self,
        state: State,
        attempt: Attempt,
    ) -> ResponseActFuture<Self, Result<(), StoreError>> {
        let (store, expected, saved) = (self.store.clone(), self.state.epoch, attempt.clone());
        let version = self.next_version();
        Box::pin(
            async move { store.save(state, expected, &saved, version).await }
                .into_actor(self)
                .map(move |r, act, ctx| match r {
                    Ok(()) => {
                        act.state = state;
                        act.attempt = Some(attempt);
                        act.settle_trace();
                        act.push_all();
                        act.arm_timers(ctx);
                        Ok(())
                    }
                    Err(e) => {
                        if matches!(e, StoreError::Stale { .. }) {
                            tracing::error!(error = %e, "restarting the coordinator to reload the persisted state");
                            ctx.stop();
                        }
                        Err(e)
                    }
                }),
        )
    }

    /// Arms the begin and prepare deadlines of the attempt, once each; both are derived
    /// from persisted times, so they survive a restart.
    fn arm_timers(&mut self, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.as_ref().filter(|a| a.holding()) else {
            return;
        };
        let until = |t: SystemTime| t.duration_since(SystemTime::now()).unwrap_or_default();
        if let Some(deadline) = a.begin_deadline {
            if a.status == CutoverStatus::BeginStarted && self.armed_begin != Some(a.id) {
                self.armed_begin = Some(a.id);
                let id = a.id;
                ctx.run_later(until(deadline), move |act, ctx| {
                    act.on_begin_timeout(id, ctx)
                });
            }
        }
        if let (Some(order), Some((_, started))) = (a.prepare_order(), a.prepare) {
            if self.armed_prepare != Some(order.order) {
                self.armed_prepare = Some(order.order);
                let deadline = started + self.settings.prepare_timeout;
                ctx.run_later(until(deadline), move |act, ctx| {
                    act.on_prepare_timeout(order.order, ctx)
                });
            }
        }
    }

    fn apply_report(&mut self, addr: &str, report: &ProxyReport, ctx: &mut Context<Self>) {
        if let Some(t) = self.trace.as_mut() {
            t.on_report(addr, report);
        }
        let changed = self
            .attempt
            .as_mut()
            .is_some_and(|a| a.on_report(addr, report));
        if changed {
            self.persist_attempt(ctx);
        }
        self.decide_prepare(ctx);
    }

    /// Once every proxy reported its preparation: past the point of no return if all
    /// prepared, or the commit refused with every failure named.
    fn decide_prepare(&mut self, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.as_ref() else {
            return;
        };
        match a.prepare_outcome() {
            None => {}
            Some(Ok(())) => self.commit_point(ctx),
            Some(Err(failures)) => {
                let why = refusal(a, &failures.join("; "));
                self.refuse_commit(why, ctx);
            }
        }
    }

    /// Commit, phase two: persists the new source of truth (the point of no return),
    /// then orders the switch. A failed write leaves traffic paused and the attempt
    /// preparing; the next report or `commit` tries again.
    fn commit_point(&mut self, ctx: &mut Context<Self>) {
        let Some(mut a) = self.attempt.clone() else {
            return;
        };
        let state = State {
            source_of_truth: a.to,
            active_attempt: None,
            ..self.next_state()
        };
        a.error.clear();
        a.start_finish(Finish::Commit, state.epoch);
        let id = a.id;
        ctx.wait(self.transition(state, a).map(move |r, act, _| match r {
            Ok(()) => tracing::info!(attempt = id, "every proxy prepared: committed (point of no return passed)"),
            Err(e) => {
                if let Some(a) = act.attempt.as_mut() {
                    if a.error.is_empty() {
                        tracing::error!(attempt = id, error = %e, "persisting the commit failed; traffic stays paused");
                    }
                    a.error = format!("persisting the commit failed, so nothing was switched and traffic stays paused: {e}; run commit again once the metadata database accepts writes, or abort");
                }
            }
        }));
    }

    /// Refuses the commit before its point of no return: proxies close what they
    /// prepared and keep holding.
    fn refuse_commit(&mut self, why: String, ctx: &mut Context<Self>) {
        let Some(mut a) = self.attempt.clone() else {
            return;
        };
        let state = self.next_state();
        a.refuse_prepare(why);
        let id = a.id;
        ctx.wait(self.transition(state, a).map(move |r, act, _| match r {
            Ok(()) => tracing::warn!(attempt = id, "commit refused before the point of no return; traffic stays paused"),
            Err(e) => {
                if let Some(a) = act.attempt.as_mut() {
                    a.error = format!("the commit cannot succeed, and recording its refusal failed: {e}; traffic stays paused; abort once the metadata database accepts writes");
                }
            }
        }));
    }

    fn on_prepare_timeout(&mut self, order: u64, ctx: &mut Context<Self>) {
        let Some(a) = self
            .attempt
            .as_ref()
            .filter(|a| a.prepare_order().is_some_and(|o| o.order == order))
        else {
            return;
        };
        if a.prepare_outcome().is_some() {
            return;
        }
        let why = refusal(
            a,
            &format!(
                "proxies {:?} did not finish preparing within {}",
                a.unprepared(),
                humantime::format_duration(self.settings.prepare_timeout)
            ),
        );
        self.refuse_commit(why, ctx);
    }

    fn on_begin_timeout(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(a) = self.attempt.as_ref().filter(|a| a.id == id && a.holding()) else {
            return;
        };
        if a.status != CutoverStatus::BeginStarted && a.status != CutoverStatus::Error {
            return;
        }
        let mut a = a.clone();
        let mut state = self.next_state();
        match a.action {
            TimeoutAction::Abort => {
                a.error = begin_timeout_error(&a);
                tracing::warn!(attempt = id, error = %a.error, "aborting");
                state.active_attempt = None;
                a.start_finish(Finish::Abort, state.epoch);
            }
            TimeoutAction::Terminate => {
                if self.terminate_blockers {
                    return;
                }
                tracing::warn!(attempt = id, "begin timeout: terminating blocking sessions");
                self.terminate_blockers = true;
            }
        }
        ctx.wait(self.transition(state, a).map(move |r, act, ctx| {
            if let Err(e) = r {
                tracing::error!(attempt = id, error = %e, "recording the begin timeout failed; retrying in 1s");
                // Only a terminate set it: the order is not in force until persisted.
                act.terminate_blockers = false;
                ctx.run_later(Duration::from_secs(1), move |act, ctx| {
                    act.on_begin_timeout(id, ctx)
                });
            }
        }));
    }
}

/// The answer to a begin refused by [`decide_begin`].
fn begin_refused(why: BeginRefusal) -> Refused {
    match why {
        BeginRefusal::NotInitialized => store_refused(StoreError::NotInitialized),
        BeginRefusal::InProgress { id, status } => refused(
            "attempt_in_progress",
            format!("cutover attempt {id} is in progress ({})", status.as_str()),
        ),
        BeginRefusal::UnknownProxy(addr) => {
            refused("unknown_proxy", format!("no proxy registered at {addr}"))
        }
        BeginRefusal::ProxyLost(addr) => refused("proxy_lost",
            format!("proxy {addr} stopped sending heartbeats; it cannot take part in a cutover until it is heard from again"),
        ),
        BeginRefusal::Unreachable { addr, silent_for, until_out } => refused("proxy_unreachable",
            format!(
                "proxy {addr} has not been heard from for {}s and may still be serving; it holds its traffic itself once its lease runs out, so begin again in {}s or bring it back",
                silent_for.as_secs(),
                until_out.as_secs() + 1
            ),
        ),
        BeginRefusal::PartialCutover(addr) => refused("partial_cutover",
            format!(
                "proxy {addr} is live and not listed in lms_addresses: a consistent cutover switches every proxy, so list every live proxy or none"
            ),
        ),
        BeginRefusal::NoProxies => refused(
            "no_proxies",
            "no live proxy is registered with the orchestrator",
        ),
        BeginRefusal::Shadowing { addr, mode } => refused("shadowing",
            format!("proxy {addr} shadows traffic (mode {mode}); a consistent cutover needs shadow mode none"),
        ),
    }
}

/// The answer to a commit or abort that addresses no attempt (see [`finish_target`]).
fn no_target(why: NoTarget, verb: &str) -> Refused {
    match why {
        NoTarget::NotActive(id) => refused(
            "not_active",
            format!("cutover attempt {id} is not in progress; nothing to {verb}"),
        ),
        NoTarget::NoAttempt => refused(
            "no_attempt",
            format!("no cutover is in progress: run `cutover consistent begin` before {verb}"),
        ),
    }
}

/// The answer to a refused commit or abort.
fn finish_refused(why: FinishRefusal, a: &Attempt, verb: &str) -> Refused {
    let id = a.id;
    match why {
        FinishRefusal::AlreadyCommitted => refused("already_committed",
            format!("cutover attempt {id} was committed and cannot be aborted; run begin and commit again to switch back"),
        ),
        FinishRefusal::Finished => refused("no_attempt",
            format!("no cutover is in progress (attempt {id} finished): run `cutover consistent begin` before {verb}"),
        ),
        FinishRefusal::BeingAborted => refused("already_aborted",
            format!("cutover attempt {id} is being aborted"),
        ),
        FinishRefusal::NotPaused => refused("not_paused",
            format!("cutover attempt {id} has not paused traffic on every proxy yet"),
        ),
        FinishRefusal::Failed => refused("attempt_failed",
            format!("cutover attempt {id} failed ({}); abort it", a.error),
        ),
    }
}

/// The refused commit's message: what happened to traffic, why, and what to do.
fn refusal(a: &Attempt, why: &str) -> String {
    format!(
        "the commit was refused before its point of no return, so nothing was switched and traffic stays paused on the {from} database. \
         It would have failed: {why}. Fix the cause (a login that fails on the {to} database: `molt-lms-cli roles sync`; a statement: \
         create what it refers to there) and run commit again, or abort to resume traffic on the {from} database",
        from = a.from,
        to = a.to
    )
}

fn begin_timeout_error(a: &Attempt) -> String {
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
    format!(
        "begin timeout of {} expired before traffic paused; blocking connections: {}",
        humantime::format_duration(a.begin_timeout.unwrap_or_default()),
        if blockers.is_empty() {
            "none reported".to_owned()
        } else {
            blockers.join("; ")
        }
    )
}

impl Actor for Coordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.load(ctx);
        let every = REGISTRY_SWEEP.min(self.settings.forget_after / 4);
        ctx.run_interval(every, |act, _| act.sweep_registry());
    }
}

impl Coordinator {
    /// Loads the persisted state; an active attempt resumes holding. Retries every second
    /// until the metadata database answers.
    fn load(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        ctx.wait(
            async move {
                let state = store.load_state().await?;
                let attempt = match state.active_attempt {
                    Some(id) => store.load_attempt(id).await?,
                    // A switch ordered before a restart whose end was not recorded: the
                    // proxies' reports complete it.
                    None => store.load_unfinished_attempt().await?,
                };
                let proxies = store.load_proxies().await?;
                let version = store.write_version().await?;
                Ok::<_, StoreError>((state, attempt, proxies, version))
            }
            .into_actor(self)
            .map(|r, act, ctx| match r {
                Ok((state, attempt, proxies, version)) => {
                    act.initialized = true;
                    act.loaded = true;
                    act.state = state;
                    act.write_version = act.write_version.max(version);
                    act.restore_registry(proxies, ctx);
                    if let Some(mut a) = attempt {
                        // Failures of a preparation are in the proxies' reports, which
                        // are not persisted: every proxy must report it again.
                        a.forget_prepared();
                        act.attempt = Some(a);
                    }
                    act.arm_timers(ctx);
                    tracing::info!(source_of_truth = %state.source_of_truth, epoch = state.epoch, "loaded state");
                }
                Err(StoreError::NotInitialized) => {
                    // Nothing was ever persisted: the defaults are the truth.
                    act.loaded = true;
                    tracing::warn!("metadata tables missing: run `molt-lms-cli initialize`");
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the persisted state; answering no proxy until it loads");
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
                }
            }),
        );
    }
}

impl Coordinator {
    /// Starts the agent of a registered proxy (replacing any earlier one at its address),
    /// counting it as heard from now.
    fn add_agent(&mut self, reg: Registration, key_hash: String, ctx: &mut Context<Self>) {
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
        self.last_seen
            .insert(addr.clone(), std::time::Instant::now());
        self.keys.insert(addr, key_hash);
    }

    /// The persisted registry after a restart. Each proxy counts as heard from at load
    /// time, later than the truth: so a begin waits a whole lease for one that is really
    /// gone, and never leaves out one that may still be serving. Proxies go on
    /// heartbeating with the key they hold, without registering again.
    fn restore_registry(&mut self, proxies: Vec<StoredProxy>, ctx: &mut Context<Self>) {
        for p in proxies {
            let addr = p.registration.lms_address.clone();
            if p.silent_for > self.settings.forget_after {
                tracing::info!(proxy = %addr, silent_secs = p.silent_for.as_secs(), "forgetting a proxy silent for too long");
                self.unpersist(addr);
                continue;
            }
            tracing::info!(proxy = %addr, silent_secs = p.silent_for.as_secs(), "proxy restored from the registry");
            self.add_agent(p.registration, p.key_hash, ctx);
        }
    }

    fn unpersist(&self, addr: String) {
        let store = self.store.clone();
        actix_rt::spawn(async move {
            if let Err(e) = store.delete_proxy(&addr).await {
                tracing::warn!(proxy = %addr, error = %e, "cannot remove a proxy from the persisted registry");
            }
        });
    }

    /// Writes who was heard from since the last sweep, and forgets proxies silent for
    /// longer than `forget_after` that no holding attempt counts on.
    fn sweep_registry(&mut self) {
        if !self.loaded {
            return;
        }
        let touched: Vec<String> = std::mem::take(&mut self.touched).into_iter().collect();
        if !touched.is_empty() {
            let store = self.store.clone();
            actix_rt::spawn(async move {
                if let Err(e) = store.touch_proxies(&touched).await {
                    tracing::debug!(error = %e, "cannot record when proxies were last seen");
                }
            });
        }
        let holding: Vec<String> = self
            .attempt
            .as_ref()
            .filter(|a| a.holding())
            .map(|a| a.rows.keys().cloned().collect())
            .unwrap_or_default();
        let forget: Vec<String> = self
            .last_seen
            .iter()
            .filter(|(a, t)| t.elapsed() > self.settings.forget_after && !holding.contains(a))
            .map(|(a, _)| a.clone())
            .collect();
        for addr in forget {
            tracing::info!(proxy = %addr, "forgetting a proxy silent for longer than --forget-proxy-after");
            if let Some((agent, _)) = self.proxies.remove(&addr) {
                agent.do_send(Retire);
            }
            self.last_seen.remove(&addr);
            self.keys.remove(&addr);
            self.certs.remove(&addr);
            self.unpersist(addr);
        }
    }
}

impl Supervised for Coordinator {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("coordinator restarting: reloading persisted state");
        self.attempt = None;
        self.loaded = false;
        self.terminate_blockers = false;
        self.armed_begin = None;
        self.armed_prepare = None;
        self.progress_writing = false;
        self.progress_dirty = false;
    }
}

/// A progress write ended (see `persist_attempt`).
#[derive(Message)]
#[rtype(result = "()")]
struct ProgressWritten(Result<(), String>);

impl Handler<ProgressWritten> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: ProgressWritten, ctx: &mut Self::Context) {
        self.progress_writing = false;
        match msg.0 {
            Ok(()) => self.progress_failing = false,
            Err(e) => {
                if !self.progress_failing {
                    tracing::error!(error = %e, "persisting the attempt's progress failed");
                }
                self.progress_failing = true;
            }
        }
        if self.progress_dirty {
            self.persist_attempt(ctx);
        }
    }
}

#[derive(Message)]
#[rtype(result = "Result<Directive, Refused>")]
pub struct Register {
    pub registration: Registration,
    /// The SHA-256 of the client certificate it came with (mutual TLS).
    pub cert: Option<String>,
}

impl Handler<Register> for Coordinator {
    type Result = ResponseActFuture<Self, Result<Directive, Refused>>;
    fn handle(&mut self, msg: Register, _: &mut Self::Context) -> Self::Result {
        match self.accept_registration(msg) {
            Ok(fut) => fut,
            Err(refusal) => Box::pin(fut::ready(Err(refusal))),
        }
    }
}

impl Coordinator {
    /// Checks a registration, then persists it before answering: a proxy the orchestrator
    /// acknowledged is in the registry a restart loads, so a begin after a crash waits for
    /// it instead of pausing the others while it goes on serving unseen.
    fn accept_registration(
        &mut self,
        msg: Register,
    ) -> Result<ResponseActFuture<Self, Result<Directive, Refused>>, Refused> {
        self.ready()?;
        let Register {
            registration: reg,
            cert,
        } = msg;
        let addr = reg.lms_address.clone();
        // A live proxy's address is not taken over with another certificate: one proxy
        // cannot register, and then report, in another's name.
        if let Some(bound) = self.certs.get(&addr) {
            if Some(bound) != cert.as_ref() && !self.is_lost(&addr) {
                tracing::warn!(proxy = %addr, "refused a registration with another certificate than the live proxy's");
                return Err(refused(
                    "address_taken",
                    format!("a live proxy is registered at {addr} with another client certificate"),
                ));
            }
        }
        match cert {
            Some(c) => self.certs.insert(addr.clone(), c),
            None => self.certs.remove(&addr),
        };
        let key = new_proxy_key();
        let hash = key_hash(&key);
        let store = self.store.clone();
        let (saved_reg, saved_hash) = (reg.clone(), hash.clone());
        let save = async move { store.save_proxy(&saved_reg, &saved_hash).await };
        Ok(Box::pin(save.into_actor(self).map(move |saved, act, ctx| {
            if let Err(e) = saved {
                tracing::warn!(proxy = %addr, error = %e, "cannot persist a registration; it lasts until a restart");
            }
            act.add_agent(reg, hash, ctx);
            tracing::info!(proxy = %addr, "proxy registered");
            if let Some(a) = act.attempt.as_mut().filter(|a| a.holding()) {
                a.join(&addr);
                act.persist_attempt(ctx);
            }
            Ok(Directive {
                proxy_key: Some(key),
                ..act.directive()
            })
        })))
    }
}

/// A proxy left after a graceful drain: forget it. One that leaves during a pause counts
/// as lost for the attempt (its sessions were ended, not moved), so commit is refused.
#[derive(Message)]
#[rtype(result = "Result<(), Refused>")]
pub struct Deregister(pub Deregistration);

impl Handler<Deregister> for Coordinator {
    type Result = Result<(), Refused>;
    fn handle(&mut self, msg: Deregister, ctx: &mut Self::Context) -> Self::Result {
        self.ready()?;
        let Deregistration {
            lms_address: addr,
            proxy_key,
        } = msg.0;
        if !self.proxies.contains_key(&addr) {
            return Err(refused(
                "not_registered",
                format!("no proxy registered at {addr}"),
            ));
        }
        self.check_key(&addr, &proxy_key)?;
        if let Some((agent, _)) = self.proxies.remove(&addr) {
            agent.do_send(Retire);
        }
        self.last_seen.remove(&addr);
        self.keys.remove(&addr);
        self.certs.remove(&addr);
        self.unpersist(addr.clone());
        tracing::info!(proxy = %addr, "proxy deregistered");
        if self
            .attempt
            .as_mut()
            .filter(|a| a.holding())
            .is_some_and(|a| a.on_lost(&addr))
        {
            self.persist_attempt(ctx);
        }
        Ok(())
    }
}

/// A heartbeat; `Ok(None)` when the proxy is not registered (it registers again).
#[derive(Message)]
#[rtype(result = "Result<Option<Directive>, Refused>")]
pub struct HeartbeatMsg(pub Heartbeat);

impl Handler<HeartbeatMsg> for Coordinator {
    type Result = Result<Option<Directive>, Refused>;
    fn handle(&mut self, msg: HeartbeatMsg, ctx: &mut Self::Context) -> Self::Result {
        self.ready()?;
        let Heartbeat {
            lms_address,
            report,
            proxy_key,
        } = msg.0;
        if !self.proxies.contains_key(&lms_address) {
            return Ok(None);
        }
        self.check_key(&lms_address, &proxy_key)?;
        let Some((agent, _)) = self.proxies.get(&lms_address) else {
            return Ok(None);
        };
        agent.do_send(Seen(report.clone()));
        self.last_seen
            .insert(lms_address.clone(), std::time::Instant::now());
        self.touched.insert(lms_address.clone());
        self.apply_report(&lms_address, &report, ctx);
        Ok(Some(self.directive()))
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
        self.last_seen
            .insert(msg.lms_address.clone(), std::time::Instant::now());
        self.touched.insert(msg.lms_address.clone());
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
        self.decide_prepare(ctx);
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

/// The proxies a begin would include, or why it would be refused; asks nothing of the
/// proxies and changes nothing (the cutover check runs on these before the begin).
#[derive(Message)]
#[rtype(result = "Result<Vec<String>, Refused>")]
pub struct BeginParticipants(pub BeginRequest);

impl Handler<BeginParticipants> for Coordinator {
    type Result = Result<Vec<String>, Refused>;
    fn handle(&mut self, msg: BeginParticipants, _: &mut Self::Context) -> Self::Result {
        self.begin_check(&msg.0)
    }
}

#[derive(Message)]
#[rtype(result = "Result<CutoverAttempt, Refused>")]
pub struct Begin {
    pub req: BeginRequest,
    /// The caller's W3C `traceparent`: the attempt's trace hangs from it.
    pub traceparent: Option<String>,
}

impl Handler<Begin> for Coordinator {
    type Result = AtomicResponse<Self, Result<CutoverAttempt, Refused>>;
    fn handle(&mut self, msg: Begin, _: &mut Self::Context) -> Self::Result {
        match self.begin_check(&msg.req) {
            Err(e) => AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
            Ok(participants) => {
                let store = self.store.clone();
                let (req, parent) = (msg.req, msg.traceparent);
                AtomicResponse::new(Box::pin(
                    async move { store.next_attempt_id().await }
                        .into_actor(self)
                        .then(move |id, act, _| -> ResponseActFuture<Self, _> {
                            let id = match id {
                                Ok(id) => id,
                                Err(e) => return Box::pin(fut::ready(Err(store_refused(e)))),
                            };
                            let attempt = Attempt::begin(
                                id,
                                act.state.source_of_truth,
                                participants,
                                req.begin_timeout_ms.map(Duration::from_millis),
                                req.timeout_action,
                            );
                            let state = State {
                                active_attempt: Some(id),
                                ..act.next_state()
                            };
                            let proxies = attempt.rows.len();
                            act.terminate_blockers = false;
                            // Before the transition pushes the state that carries it.
                            act.trace = AttemptTrace::start(&attempt, parent.as_deref());
                            Box::pin(act.transition(state, attempt).map(move |r, act, _| {
                                r.map_err(store_refused)?;
                                tracing::info!(attempt = id, proxies, "cutover begin");
                                Ok(act.view(act.attempt.as_ref().expect("just set")))
                            }))
                        }),
                ))
            }
        }
    }
}

impl Coordinator {
    /// Whether a begin may go ahead, and the proxies that would take part.
    fn begin_check(&self, req: &BeginRequest) -> Result<Vec<String>, Refused> {
        self.ready()?;
        let proxies = self
            .proxies
            .iter()
            .map(|(addr, (_, reg))| {
                let proxy = BeginProxy {
                    lost: self.is_lost(addr),
                    silent_for: self.last_seen.get(addr).map(|t| t.elapsed()),
                    shadow_mode: reg.shadow_mode,
                };
                (addr.clone(), proxy)
            })
            .collect();
        decide_begin(&BeginFacts {
            initialized: self.initialized,
            attempt: self.attempt.as_ref(),
            requested: &req.lms_addresses,
            proxies,
            lease_out: self.settings.lease + FENCE_MARGIN,
        })
        .map_err(begin_refused)
    }
}

/// Commit or abort; answers with the attempt id once its first step is persisted and
/// pushed: for a commit, the preparation (phase one); for an abort, the release. A
/// failed write answers 503 and changes nothing.
#[derive(Message)]
#[rtype(result = "Result<u64, Refused>")]
pub struct FinishAttempt {
    pub finish: Finish,
    pub attempt_id: Option<u64>,
    /// The caller's W3C `traceparent`: linked from the commit's or abort's span.
    pub traceparent: Option<String>,
}

impl Handler<FinishAttempt> for Coordinator {
    type Result = AtomicResponse<Self, Result<u64, Refused>>;
    fn handle(&mut self, msg: FinishAttempt, ctx: &mut Self::Context) -> Self::Result {
        let (state, attempt) = match self.finish_plan(&msg, ctx) {
            Ok(Some(plan)) => plan,
            Ok(None) => {
                let id = self.attempt.as_ref().map_or(0, |a| a.id);
                return AtomicResponse::new(Box::pin(fut::ready(Ok(id))));
            }
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        };
        let id = attempt.id;
        AtomicResponse::new(Box::pin(self.transition(state, attempt).map(
            move |r, _, _| {
                r.map(|()| id).map_err(|e| {
                    tracing::error!(attempt = id, error = %e, "persisting the finish failed; nothing was pushed");
                    store_refused(e)
                })
            },
        )))
    }
}

impl Coordinator {
    /// Whether a commit or abort may go ahead, and the state and attempt it persists;
    /// `None` when there is nothing new to persist (a repeat).
    fn finish_plan(
        &mut self,
        msg: &FinishAttempt,
        ctx: &mut Context<Self>,
    ) -> Result<Option<(State, Attempt)>, Refused> {
        self.ready()?;
        let verb = match msg.finish {
            Finish::Commit => "commit",
            Finish::Abort => "abort",
        };
        let a = finish_target(self.attempt.as_ref(), msg.attempt_id)
            .map_err(|why| no_target(why, verb))?;
        match a.decide_finish(msg.finish) {
            Ok(FinishDecision::Start) => {}
            Ok(FinishDecision::Repeat) => return Ok(None),
            Ok(FinishDecision::RetryCommitPoint) => {
                self.commit_point(ctx);
                return Ok(None);
            }
            Err(why) => return Err(finish_refused(why, a, verb)),
        }
        let mut a = a.clone();
        tracing::info!(attempt = a.id, "cutover {verb}");
        if let Some(t) = self.trace.as_mut().filter(|t| t.id == a.id) {
            t.finish_requested(msg.finish, msg.traceparent.as_deref());
        }
        let mut state = self.next_state();
        match msg.finish {
            Finish::Commit => a.start_prepare(state.epoch),
            Finish::Abort => {
                state.active_attempt = None;
                a.start_finish(Finish::Abort, state.epoch);
            }
        }
        Ok(Some((state, a)))
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
                        "not_found",
                        format!("no cutover attempt with id {}", msg.0),
                    )),
                    Err(e) => Err(store_refused(e)),
                }),
        )
    }
}

/// The attempt a commit would finish, if traffic is paused for it and no commit has
/// started: what the replication gate runs for.
#[derive(Message)]
#[rtype(result = "Option<(u64, SourceOfTruth)>")]
pub struct PausedAttempt(pub Option<u64>);

impl Handler<PausedAttempt> for Coordinator {
    type Result = Option<(u64, SourceOfTruth)>;
    /// The attempt's id and the database it switches away from.
    fn handle(&mut self, msg: PausedAttempt, _: &mut Self::Context) -> Self::Result {
        self.attempt
            .as_ref()
            .filter(|a| msg.0.is_none_or(|id| id == a.id))
            .filter(|a| a.status == CutoverStatus::TrafficPaused && a.finish.is_none())
            .map(|a| (a.id, a.from))
    }
}

/// The newest attempt this orchestrator knows (since its start): id, status and how long
/// its phases took, for the metrics.
#[derive(Message)]
#[rtype(result = "Option<(u64, CutoverStatus, Durations)>")]
pub struct LastAttempt;

impl Handler<LastAttempt> for Coordinator {
    type Result = Option<(u64, CutoverStatus, Durations)>;
    fn handle(&mut self, _: LastAttempt, _: &mut Self::Context) -> Self::Result {
        self.attempt
            .as_ref()
            .map(|a| (a.id, a.status, a.durations()))
    }
}

/// Attempts that ended since this orchestrator started, by final status.
#[derive(Message)]
#[rtype(result = "Vec<(&'static str, u64)>")]
pub struct EndedAttempts;

impl Handler<EndedAttempts> for Coordinator {
    type Result = MessageResult<EndedAttempts>;
    fn handle(&mut self, _: EndedAttempts, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.ended.iter().map(|(k, v)| (*k, *v)).collect())
    }
}

/// The replication gate passed for an attempt: its lag and check are kept with it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordReplication {
    pub attempt_id: u64,
    pub lag: Duration,
    pub check: ReplicationCheck,
}

impl Handler<RecordReplication> for Coordinator {
    type Result = ();
    fn handle(&mut self, msg: RecordReplication, ctx: &mut Self::Context) {
        if let Some(a) = self.attempt.as_mut().filter(|a| a.id == msg.attempt_id) {
            a.replication_lag = Some(msg.lag);
            a.replication_check = Some(msg.check);
            if let Some(t) = self.trace.as_mut().filter(|t| t.id == msg.attempt_id) {
                t.gate_passed(msg.lag);
            }
            self.persist_attempt(ctx);
        }
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
            latest_attempt: self.attempt.as_ref().map(|a| a.id),
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

/// 256 random bits, hex-encoded: a registration's key.
fn new_proxy_key() -> String {
    molt_lms_common::hex::hex(&rand::random::<[u8; 32]>())
}

/// What the registry keeps of a key: its SHA-256, hex-encoded.
fn key_hash(key: &str) -> String {
    use sha2::Digest;
    molt_lms_common::hex::hex(&sha2::Sha256::digest(key.as_bytes()))
}
