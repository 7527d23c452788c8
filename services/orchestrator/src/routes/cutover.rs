//! Cutover commands: initialize, begin, commit, abort, and attempt metadata.

use super::{bad_request, refused, unavailable};
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_api::cutover::{BeginRequest, CutoverStatus, FinishRequest, ReplicationCheck};
use molt_lms_api::ApiError;
use molt_lms_api::SourceOfTruth;
use molt_lms_orchestrator_actors::attempt::Finish;
use molt_lms_orchestrator_actors::coordinator::{
    Begin, BeginParticipants, FinishAttempt, GetAttempt, GetStatus, Initialize, PausedAttempt,
    RecordReplication,
};
use molt_lms_orchestrator_actors::gate::{GateError, GateReport, Sentinel};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the gate reads the target.
const GATE_POLL: Duration = Duration::from_millis(50);

pub async fn initialize(state: web::Data<AppState>) -> HttpResponse {
    match state.coordinator.send(Initialize).await {
        Ok(Ok(())) => {}
        Ok(Err(r)) => return refused(r),
        Err(_) => return unavailable(),
    }
    if let Some(sentinel) = &state.sentinel {
        if let Err(e) = sentinel.create_tables().await {
            return HttpResponse::ServiceUnavailable().json(ApiError::new(
                "sentinel_unavailable",
                format!(
                    "the metadata is initialized, but the replication sentinel ({}) is not: {e}",
                    sentinel.table()
                ),
            ));
        }
    }
    HttpResponse::Ok().json(serde_json::json!({
        "initialized": true,
        "replication_sentinel": state.sentinel.as_ref().map(|s| s.table()),
    }))
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
/// LSN check has no slot to wait for), each with the message `explain` gives.
async fn run_gate(
    state: &AppState,
    sentinel: &Sentinel,
    from: SourceOfTruth,
    check: ReplicationCheck,
    wait: Duration,
    explain: impl Fn(&GateError) -> String,
) -> Result<GateReport, HttpResponse> {
    match sentinel.wait(from, check, wait, GATE_POLL).await {
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
async fn lag_gate(state: &AppState, req: &BeginRequest, max_lag: Duration) -> Option<HttpResponse> {
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
    match run_gate(state, sentinel, from, check, max_lag, explain).await {
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
async fn replication_gate(state: &AppState, req: &FinishRequest) -> Option<HttpResponse> {
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
    match run_gate(state, sentinel, from, check, wait, explain).await {
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

/// The longest `begin_timeout_ms` taken: its deadline is persisted as a timestamp, which a
/// value near `u64::MAX` overflows (it panicked the coordinator).
const MAX_BEGIN_TIMEOUT_MS: u64 = 365 * 24 * 3600 * 1000;

/// Runs the cutover check first (unless `skip_check`), so a begin whose commit would fail
/// is refused before traffic pauses.
pub async fn begin(state: web::Data<AppState>, body: web::Json<BeginRequest>) -> HttpResponse {
    let req = body.into_inner();
    if req
        .begin_timeout_ms
        .is_some_and(|ms| ms > MAX_BEGIN_TIMEOUT_MS)
    {
        return bad_request(format!(
            "begin_timeout_ms: at most {MAX_BEGIN_TIMEOUT_MS} (one year)"
        ));
    }
    if let Some(ms) = req.max_lag_ms {
        if ms > MAX_BEGIN_TIMEOUT_MS {
            return bad_request("max_lag_ms: at most one year");
        }
        if let Some(refusal) = lag_gate(&state, &req, Duration::from_millis(ms)).await {
            return refusal;
        }
    }
    if !req.skip_check {
        // The coordinator's own refusals first; the check runs on the proxies it would
        // include.
        let participants = match state.coordinator.send(BeginParticipants(req.clone())).await {
            Ok(Ok(p)) => p,
            Ok(Err(r)) => return refused(r),
            Err(_) => return unavailable(),
        };
        if let Some(refusal) = super::check::refusal_before_begin(&state, participants).await {
            return refusal;
        }
    }
    match state.coordinator.send(Begin(req)).await {
        Ok(Ok(a)) => HttpResponse::Ok().json(a),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn get(state: web::Data<AppState>, id: web::Path<u64>) -> HttpResponse {
    match state.coordinator.send(GetAttempt(id.into_inner())).await {
        Ok(Ok(a)) => HttpResponse::Ok().json(a),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

/// Starts the finish, then answers once every proxy confirmed it (or the wait ends). A
/// commit first waits for its preparation: refused (409 `prepare_failed`) when a proxy
/// could not prepare a session, 503 when the point of no return could not be persisted.
async fn finish(state: web::Data<AppState>, req: FinishRequest, finish: Finish) -> HttpResponse {
    let id = match state
        .coordinator
        .send(FinishAttempt {
            finish,
            attempt_id: req.attempt_id,
        })
        .await
    {
        Ok(Ok(id)) => id,
        Ok(Err(r)) => return refused(r),
        Err(_) => return unavailable(),
    };
    let limit = req
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(state.finish_timeout);
    // The preparation has its own deadline, after which the coordinator refuses it.
    let prepare_limit = state.prepare_timeout + Duration::from_secs(5);
    let started = Instant::now();
    let mut deadline = started + limit;
    loop {
        let attempt = match state.coordinator.send(GetAttempt(id)).await {
            Ok(Ok(a)) => a,
            Ok(Err(r)) => return refused(r),
            Err(_) => return unavailable(),
        };
        if finish == Finish::Commit {
            match attempt.status {
                CutoverStatus::Preparing if attempt.error.is_empty() => {
                    deadline = deadline.max(started + prepare_limit + limit);
                    if Instant::now() < started + prepare_limit {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                }
                CutoverStatus::Preparing => {
                    return HttpResponse::ServiceUnavailable()
                        .json(ApiError::new("store_unavailable", attempt.error))
                }
                CutoverStatus::TrafficPaused => {
                    return HttpResponse::Conflict()
                        .json(ApiError::new("prepare_failed", attempt.error))
                }
                CutoverStatus::Error if attempt.end_time.is_none() => {
                    return HttpResponse::Conflict().json(ApiError::new(
                        "attempt_failed",
                        format!(
                            "cutover attempt {id} failed before its point of no return, so nothing was switched: {}; abort it",
                            attempt.error
                        ),
                    ))
                }
                _ => {}
            }
        }
        let settled = attempt.status.is_final()
            || (attempt.status == CutoverStatus::Error
                && attempt.proxies.iter().all(|p| {
                    matches!(
                        p.status,
                        CutoverStatus::CommitCompleted
                            | CutoverStatus::AbortCompleted
                            | CutoverStatus::Error
                    )
                }));
        if settled || Instant::now() >= deadline {
            return HttpResponse::Ok().json(attempt);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Commit and abort take a JSON body that parses (`{}` for the attempt in progress): a
/// form or text body, which a browser page can send anywhere, gets a 400 and does nothing.
pub async fn commit(state: web::Data<AppState>, body: web::Json<FinishRequest>) -> HttpResponse {
    let req = body.into_inner();
    if req
        .wait_for_replication_ms
        .is_some_and(|ms| ms > MAX_BEGIN_TIMEOUT_MS)
    {
        return bad_request("wait_for_replication_ms: at most one year");
    }
    if let Some(refusal) = replication_gate(&state, &req).await {
        return refusal;
    }
    finish(state, req, Finish::Commit).await
}

pub async fn abort(state: web::Data<AppState>, body: web::Json<FinishRequest>) -> HttpResponse {
    finish(state, body.into_inner(), Finish::Abort).await
}
