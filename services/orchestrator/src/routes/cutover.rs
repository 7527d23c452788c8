//! Cutover commands: initialize, begin, commit, abort, and attempt metadata.

mod gate;

use super::{bad_request, refused, unavailable, Traceparent};
use crate::AppState;
use actix_web::{web, HttpResponse};
pub use gate::LiveGate;
use gate::{lag_gate, replication_gate};
use molt_lms_api::cutover::{BeginRequest, CutoverStatus, FinishRequest};
use molt_lms_api::ApiError;
use molt_lms_orchestrator_actors::attempt::Finish;
use molt_lms_orchestrator_actors::coordinator::{
    Begin, BeginParticipants, FinishAttempt, GetAttempt, Initialize,
};
use std::time::{Duration, Instant};

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

/// The longest `begin_timeout_ms` taken: its deadline is persisted as a timestamp, which a
/// value near `u64::MAX` overflows (it panicked the coordinator).
const MAX_BEGIN_TIMEOUT_MS: u64 = 365 * 24 * 3600 * 1000;

/// Runs the cutover check first (unless `skip_check`), so a begin whose commit would fail
/// is refused before traffic pauses.
pub async fn begin(
    state: web::Data<AppState>,
    trace: Traceparent,
    body: web::Json<BeginRequest>,
) -> HttpResponse {
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
    let begin = Begin {
        req,
        traceparent: trace.0,
    };
    match state.coordinator.send(begin).await {
        Ok(Ok(a)) => HttpResponse::Ok().json(a),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

/// The attempt, with the replication gate its commit waits for now, if any.
pub async fn get(state: web::Data<AppState>, id: web::Path<u64>) -> HttpResponse {
    match state.coordinator.send(GetAttempt(id.into_inner())).await {
        Ok(Ok(mut a)) => {
            a.replication_gate = gate::live(&state, a.id);
            HttpResponse::Ok().json(a)
        }
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

/// Starts the finish, then answers once every proxy confirmed it (or the wait ends). A
/// commit first waits for its preparation: refused (409 `prepare_failed`) when a proxy
/// could not prepare a session, 503 when the point of no return could not be persisted.
async fn finish(
    state: web::Data<AppState>,
    trace: Traceparent,
    req: FinishRequest,
    finish: Finish,
) -> HttpResponse {
    let id = match state
        .coordinator
        .send(FinishAttempt {
            finish,
            attempt_id: req.attempt_id,
            traceparent: trace.0,
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
pub async fn commit(
    state: web::Data<AppState>,
    trace: Traceparent,
    body: web::Json<FinishRequest>,
) -> HttpResponse {
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
    finish(state, trace, req, Finish::Commit).await
}

pub async fn abort(
    state: web::Data<AppState>,
    trace: Traceparent,
    body: web::Json<FinishRequest>,
) -> HttpResponse {
    finish(state, trace, body.into_inner(), Finish::Abort).await
}
