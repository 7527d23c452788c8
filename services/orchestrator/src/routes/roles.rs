//! `POST /api/v1/roles/sync`: forwarded to one live proxy, whose service sessions read the
//! source's verifiers and write them to the target.

use super::unavailable;
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use molt_lms_api::cutover::Liveness;
use molt_lms_api::roles::{RolesSyncReport, RolesSyncRequest};
use molt_lms_api::ApiError;
use molt_lms_orchestrator_actors::coordinator::Targets;
use std::time::Duration;

/// Syncing many roles takes one round trip each to both databases.
const SYNC_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn sync(state: web::Data<AppState>, body: web::Json<RolesSyncRequest>) -> HttpResponse {
    let Ok(mut targets) = state.coordinator.send(Targets(Vec::new())).await else {
        return unavailable();
    };
    targets.sort_by(|a, b| a.0.lms_address.cmp(&b.0.lms_address));
    let Some((proxy, _)) = targets.into_iter().find(|(_, l)| *l == Liveness::Live) else {
        return HttpResponse::Conflict().json(ApiError::new(
            "no_proxies",
            "no live proxy is registered with the orchestrator; roles sync runs on a proxy",
        ));
    };
    let url = format!("{}/api/v1/roles/sync", proxy.admin_url);
    let sent = state
        .http
        .post(&url)
        .json(&body.into_inner())
        .timeout(SYNC_TIMEOUT)
        .send()
        .await;
    let unreachable = |why: String| {
        HttpResponse::BadGateway().json(ApiError::new(
            "proxy_unreachable",
            format!("proxy {} did not answer: {why}", proxy.lms_address),
        ))
    };
    let resp = match sent {
        Ok(r) => r,
        Err(e) => return unreachable(e.without_url().to_string()),
    };
    let status = resp.status();
    let bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return unreachable(e.without_url().to_string()),
    };
    // The proxy's own answer, report or error, passes through; anything else is a 502.
    let passes = if status.is_success() {
        serde_json::from_slice::<RolesSyncReport>(&bytes).is_ok()
    } else {
        serde_json::from_slice::<ApiError>(&bytes).is_ok()
    };
    if !passes {
        return unreachable(format!("unexpected answer (HTTP {})", status.as_u16()));
    }
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    HttpResponse::build(status)
        .content_type("application/json")
        .body(bytes)
}
