//! Orchestrator status, version, the OpenAPI document, health and metrics.

use super::unavailable;
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_api::cutover::Liveness;
use molt_lms_api::SourceOfTruth;
use molt_lms_orchestrator_actors::coordinator::{EndedAttempts, GetStatus, LastAttempt};

pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    match state.coordinator.send(GetStatus).await {
        Ok(s) => HttpResponse::Ok().json(s),
        Err(_) => unavailable(),
    }
}

pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../../openapi.json"))
}

/// Alive while the coordinator runs (the process exits soon after it stops).
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    if !state.coordinator.connected() {
        return HttpResponse::ServiceUnavailable().json(molt_lms_api::ApiError::new(
            "coordinator_stopped",
            "the coordinator stopped; the process is exiting",
        ));
    }
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready once the persisted state has loaded (the metadata tables exist).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.coordinator.send(GetStatus).await {
        Ok(s) if s.initialized => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Ok(_) => HttpResponse::ServiceUnavailable().json(molt_lms_api::ApiError::new(
            "not_initialized",
            "metadata tables missing: run `molt-lms-cli initialize`",
        )),
        Err(_) => unavailable(),
    }
}

/// Prometheus text format, derived from the coordinator's status.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let Ok(s) = state.coordinator.send(GetStatus).await else {
        return unavailable();
    };
    let live = s
        .proxies
        .iter()
        .filter(|p| p.liveness == Liveness::Live)
        .count();
    let mut body = format!(
        "# HELP lms_orchestrator_proxies Registered proxies by liveness.\n# TYPE lms_orchestrator_proxies gauge\n\
         lms_orchestrator_proxies{{liveness=\"live\"}} {live}\nlms_orchestrator_proxies{{liveness=\"lost\"}} {}\n\
         # HELP lms_orchestrator_epoch Epoch of the desired state.\n# TYPE lms_orchestrator_epoch gauge\nlms_orchestrator_epoch {}\n\
         # HELP lms_orchestrator_source_of_truth_target 1 when the target is the source of truth.\n# TYPE lms_orchestrator_source_of_truth_target gauge\n\
         lms_orchestrator_source_of_truth_target {}\n\
         # HELP lms_orchestrator_transitioning 1 while a cutover attempt is unsettled.\n# TYPE lms_orchestrator_transitioning gauge\n\
         lms_orchestrator_transitioning {}\n",
        s.proxies.len() - live,
        s.epoch,
        u8::from(s.source_of_truth == SourceOfTruth::Target),
        u8::from(s.transitioning),
    );
    if let Ok(Some((id, status, d))) = state.coordinator.send(LastAttempt).await {
        body.push_str(&format!(
            "# HELP lms_orchestrator_last_cutover_id The newest cutover attempt since this orchestrator started.\n# TYPE lms_orchestrator_last_cutover_id gauge\nlms_orchestrator_last_cutover_id {id}\n\
             # HELP lms_orchestrator_last_cutover_status 1 for the newest attempt's status.\n# TYPE lms_orchestrator_last_cutover_status gauge\nlms_orchestrator_last_cutover_status{{status=\"{}\"}} 1\n",
            status.as_str()
        ));
        for (name, help, value) in [
            ("pause", "Begin until every proxy paused", d.pause),
            (
                "prepare",
                "The commit's preparation on every proxy",
                d.prepare,
            ),
            ("total", "Begin until the attempt ended", d.total),
        ] {
            if let Some(v) = value {
                body.push_str(&format!(
                    "# HELP lms_orchestrator_last_cutover_{name}_seconds {help}, newest attempt.\n# TYPE lms_orchestrator_last_cutover_{name}_seconds gauge\nlms_orchestrator_last_cutover_{name}_seconds {}\n",
                    v.as_secs_f64()
                ));
            }
        }
    }
    if let Ok(ended) = state.coordinator.send(EndedAttempts).await {
        body.push_str("# HELP lms_orchestrator_cutover_attempts_total Cutover attempts that ended since this orchestrator started, by final status.\n# TYPE lms_orchestrator_cutover_attempts_total counter\n");
        for status in ["CommitCompleted", "AbortCompleted", "Error"] {
            let n = ended
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            body.push_str(&format!(
                "lms_orchestrator_cutover_attempts_total{{status=\"{status}\"}} {n}\n"
            ));
        }
    }
    body.push_str(&state.api_metrics.render());
    let lag = state
        .replication_lag_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    if lag != u64::MAX {
        body.push_str(&format!(
            "# HELP lms_orchestrator_replication_lag_seconds How long the last replication gate's token took to reach the target.\n# TYPE lms_orchestrator_replication_lag_seconds gauge\nlms_orchestrator_replication_lag_seconds {}\n",
            lag as f64 / 1000.0
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
