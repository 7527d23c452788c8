//! Cutover commands: initialize, begin, commit, abort, and attempt metadata.

use super::{refused, unavailable};
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_actors::orchestrator::attempt::Finish;
use molt_lms_actors::orchestrator::coordinator::{Begin, FinishAttempt, GetAttempt, Initialize};
use molt_lms_api::cutover::{BeginRequest, CutoverStatus, FinishRequest};
use std::time::{Duration, Instant};

pub async fn initialize(state: web::Data<AppState>) -> HttpResponse {
    match state.coordinator.send(Initialize).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "initialized": true })),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn begin(state: web::Data<AppState>, body: web::Json<BeginRequest>) -> HttpResponse {
    match state.coordinator.send(Begin(body.into_inner())).await {
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

/// Starts the finish, then answers once every proxy confirmed it (or the wait ends).
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
    let deadline = Instant::now() + limit;
    loop {
        let attempt = match state.coordinator.send(GetAttempt(id)).await {
            Ok(Ok(a)) => a,
            Ok(Err(r)) => return refused(r),
            Err(_) => return unavailable(),
        };
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

pub async fn commit(
    state: web::Data<AppState>,
    body: Option<web::Json<FinishRequest>>,
) -> HttpResponse {
    finish(
        state,
        body.map(|b| b.into_inner()).unwrap_or_default(),
        Finish::Commit,
    )
    .await
}

pub async fn abort(
    state: web::Data<AppState>,
    body: Option<web::Json<FinishRequest>>,
) -> HttpResponse {
    finish(
        state,
        body.map(|b| b.into_inner()).unwrap_or_default(),
        Finish::Abort,
    )
    .await
}
