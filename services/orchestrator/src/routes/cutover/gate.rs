//! The replication gate's part of begin (`max_lag_ms`) and commit (`wait_for_replication_ms`).

use crate::routes::{bad_request, unavailable};
use crate::AppState;
use actix_web::HttpResponse;
use molt_lms_api::cutover::{BeginRequest, FinishRequest, GateProgress, ReplicationCheck};
use molt_lms_api::ApiError;
use molt_lms_api::SourceOfTruth;
use molt_lms_orchestrator_actors::coordinator::{GetStatus, PausedAttempt, RecordReplication};
use molt_lms_orchestrator_actors::gate::{GateError, GateReport, Progress, Sentinel};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the gate reads the target.
const GATE_POLL: Duration = Duration::from_millis(50);

/// A gate a commit waits for: what `GET /api/v1/cutover/{id}` shows while it runs.
pub struct LiveGate {
    attempt_id: u64,
    check: ReplicationCheck,
    started: Instant,
    timeout: Duration,
    progress: Progress,
}

/// The gate attempt `id`'s commit waits for now, if any.
pub(super) fn live(state: &AppState, id: u64) -> Option<GateProgress> {
    let live = state.live_gate.lock().unwrap_or_else(|p| p.into_inner());
    live.as_ref()
        .filter(|g| g.attempt_id == id)
        .map(|g| GateProgress {
            check: g.check,
            elapsed_ms: g.started.elapsed().as_millis() as u64,
            polls: g.progress.polls(),
            timeout_ms: g.timeout.as_millis() as u64,
        })
}

/// Shows a gate on its attempt until dropped (the gate ended, or its request went away).
struct Showing<'a> {
    state: &'a AppState,
    gate: Arc<LiveGate>,
}

impl<'a> Showing<'a> {
    fn start(state: &'a AppState, gate: LiveGate) -> Self {
        let gate = Arc::new(gate);
        *state.live_gate.lock().unwrap_or_else(|p| p.into_inner()) = Some(gate.clone());
        Self { state, gate }
    }
}

impl Drop for Showing<'_> {
    fn drop(&mut self) {
        let mut live = self
            .state
            .live_gate
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if live.as_ref().is_some_and(|g| Arc::ptr_eq(g, &self.gate)) {
            *live = None;
        }
    }
}

/// The 400 for a request naming `field` when SOURCE_URL (the gate's sentinel) is not set.
fn no_sentinel(field: &str) -> HttpResponse {
    bad_request(format!(
        "{field}: the orchestrator has no SOURCE_URL, where the replication gate writes its token"
    ))
}

/// Runs the gate's `check` away from `from` for at most `wait`. On success the lag is
/// kept for the metric and returned; otherwise the refusal: 409 `replication_lagging` when
/// the target did not catch up in time, 400 when the check cannot run against these
/// databases, 503 `replication_check_failed` when a database could not be asked (or the
/// LSN check has no slot to wait for), each with the message `explain` gives. A gate run
/// for a commit (`attempt`) is shown on that attempt while it waits.
async fn run_gate(
    state: &AppState,
    sentinel: &Sentinel,
    from: SourceOfTruth,
    attempt: Option<u64>,
    check: ReplicationCheck,
    wait: Duration,
    explain: impl Fn(&GateError) -> String,
) -> Result<GateReport, HttpResponse> {
    let own = Progress::default();
    let showing = attempt.map(|attempt_id| {
        Showing::start(
            state,
            LiveGate {
                attempt_id,
                check,
                started: Instant::now(),
                timeout: wait,
                progress: Progress::default(),
            },
        )
    });
    let progress = showing.as_ref().map_or(&own, |s| &s.gate.progress);
    let result = sentinel.wait(from, check, wait, GATE_POLL, progress).await;
    drop(showing);
    match result {
        Ok(report) => {
            state
                .replication_lag_ms
                .store(report.lag.as_millis() as u64, Ordering::Relaxed);
            Ok(report)
        }
        Err(e @ GateError::Timeout { .. }) => {
            Err(HttpResponse::Conflict().json(ApiError::new("replication_lagging", explain(&e))))
        }
        Err(e @ GateError::Unsupported(_)) => {
            Err(bad_request(format!("replication_check: {}", explain(&e))))
        }
        Err(e) => Err(HttpResponse::ServiceUnavailable()
            .json(ApiError::new("replication_check_failed", explain(&e)))),
    }
}

/// What to look at when the gate timed out, by check.
fn lagging_hint(sentinel: &Sentinel, check: ReplicationCheck, to: SourceOfTruth) -> String {
    match check {
        ReplicationCheck::Token => format!(
            "check replication into the {to} ({} must be replicated with your tables)",
            sentinel.table()
        ),
        ReplicationCheck::Lsn => format!(
            "check the subscription on the {to} (enabled? pg_stat_subscription there) and that every slot named has a consumer"
        ),
    }
}

/// `begin --max-lag`: the gate run with traffic still flowing, before anything pauses.
pub(super) async fn lag_gate(
    state: &AppState,
    req: &BeginRequest,
    max_lag: Duration,
) -> Option<HttpResponse> {
    let Some(sentinel) = state.sentinel.as_deref() else {
        return Some(no_sentinel("max_lag_ms"));
    };
    let check = req.replication_check.unwrap_or(state.replication_check);
    let from = match state.coordinator.send(GetStatus).await {
        Ok(s) => s.source_of_truth,
        Err(_) => return Some(unavailable()),
    };
    let explain = |e: &GateError| {
        match e {
        GateError::Timeout { .. } => format!(
            "begin refused, nothing was paused: {e}, above the --max-lag of {}; {}, wait for replication to catch up and begin again",
            humantime::format_duration(max_lag),
            lagging_hint(sentinel, check, from.other())
        ),
        e => format!("begin refused, nothing was paused: {e}"),
    }
    };
    match run_gate(state, sentinel, from, None, check, max_lag, explain).await {
        Ok(report) => {
            tracing::info!(
                lag_ms = report.lag.as_millis() as u64,
                check = check.as_str(),
                "replication lag within --max-lag"
            );
            None
        }
        Err(refusal) => Some(refusal),
    }
}

/// The replication gate before a commit, when asked for (or on by default) and traffic is
/// paused for the attempt: `Some` answer when the commit must not go ahead.
pub(super) async fn replication_gate(
    state: &AppState,
    req: &FinishRequest,
) -> Option<HttpResponse> {
    let wait = match (req.force, req.wait_for_replication_ms) {
        (true, _) => return None,
        (false, Some(ms)) => Duration::from_millis(ms),
        (false, None) => state.wait_for_replication?,
    };
    let Some(sentinel) = state.sentinel.as_deref() else {
        return Some(no_sentinel("wait_for_replication_ms"));
    };
    let check = req.replication_check.unwrap_or(state.replication_check);
    // Only a paused attempt whose commit has not started: a repeated commit goes on.
    let (id, from) = match state.coordinator.send(PausedAttempt(req.attempt_id)).await {
        Ok(Some(paused)) => paused,
        Ok(None) => return None,
        Err(_) => return Some(unavailable()),
    };
    let explain = |e: &GateError| {
        match e {
        GateError::Timeout { .. } => format!(
            "cutover attempt {id}: {e}, so nothing was committed and traffic stays paused; {}, then commit again, `abort` to resume on the {from}, or `commit --force` to commit without the check",
            lagging_hint(sentinel, check, from.other())
        ),
        e => format!("cutover attempt {id}: {e}; nothing was committed and traffic stays paused; commit again, `abort`, or `commit --force`"),
    }
    };
    match run_gate(state, sentinel, from, Some(id), check, wait, explain).await {
        Ok(report) => {
            tracing::info!(
                attempt = id,
                lag_ms = report.lag.as_millis() as u64,
                polls = report.polls,
                check = check.as_str(),
                "replication caught up"
            );
            state
                .coordinator
                .send(RecordReplication {
                    attempt_id: id,
                    lag: report.lag,
                    check,
                })
                .await
                .ok()?;
            None
        }
        Err(refusal) => Some(refusal),
    }
}
