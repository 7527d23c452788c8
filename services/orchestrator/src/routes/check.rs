//! `GET /api/v1/cutover/check`: asks every live proxy (or those named) whether a commit
//! could log its sessions in to the new source of truth and prepare their statements, and
//! merges the answers. `begin` runs it first, so it refuses before pausing traffic.

use super::proxies::{addresses, Filter};
use super::unavailable;
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_api::check::{CheckReport, ProxyCheck};
use molt_lms_api::cutover::Liveness;
use molt_lms_api::ApiError;
use molt_lms_orchestrator_actors::coordinator::{GetStatus, Targets};
use std::time::Duration;
use tokio::task::JoinSet;

/// A proxy's check opens a session per role on the other database, so it gets longer than
/// the usual admin request.
const PROXY_CHECK_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn check(state: web::Data<AppState>, q: web::Query<Filter>) -> HttpResponse {
    if state.coordinator.send(GetStatus).await.is_err() {
        return unavailable();
    }
    HttpResponse::Ok().json(run_check(&state, addresses(&q)).await)
}

/// Every live proxy's check (all, or those in `addresses`), asked at once and merged. A
/// proxy that is lost, unregistered or does not answer is listed in `unreachable`, which
/// fails the check.
pub async fn run_check(state: &AppState, addresses: Vec<String>) -> CheckReport {
    let Ok(targets) = state.coordinator.send(Targets(addresses.clone())).await else {
        let why = "the orchestrator is restarting; retry".to_owned();
        return CheckReport::merge(Vec::new(), vec![why]);
    };
    let mut unreachable: Vec<String> = addresses
        .iter()
        .filter(|a| !targets.iter().any(|(r, _)| &r.lms_address == *a))
        .map(|a| format!("{a} (not registered with the orchestrator)"))
        .collect();
    let mut asks = JoinSet::new();
    for (reg, liveness) in targets {
        if liveness == Liveness::Lost {
            unreachable.push(format!("{} (lost: no heartbeat)", reg.lms_address));
            continue;
        }
        let http = state.http.clone();
        let url = format!("{}/api/v1/cutover/check", reg.admin_url);
        asks.spawn(async move { (reg.lms_address, ask(&http, &url).await) });
    }
    let mut checks = Vec::new();
    while let Some(joined) = asks.join_next().await {
        match joined {
            Ok((_, Ok(c))) => checks.push(c),
            Ok((address, Err(why))) => {
                tracing::warn!(proxy = %address, error = %why, "cutover check unavailable");
                unreachable.push(format!("{address} ({why})"));
            }
            Err(e) => unreachable.push(format!("a proxy's check did not finish: {e}")),
        }
    }
    unreachable.sort();
    CheckReport::merge(checks, unreachable)
}

/// One proxy's check, or why there is none.
async fn ask(
    http: &molt_lms_common::control::client::ControlClient,
    url: &str,
) -> Result<ProxyCheck, String> {
    let resp = http
        .get(url)
        .timeout(PROXY_CHECK_TIMEOUT)
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| format!("unreadable answer to the check: {e}"));
    }
    Err(match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(body) => format!("HTTP {}: {}", status.as_u16(), body.error),
        Err(_) => format!("HTTP {}", status.as_u16()),
    })
}

fn transport(e: reqwest::Error) -> String {
    if e.is_timeout() {
        format!(
            "no answer within {}",
            humantime::format_duration(PROXY_CHECK_TIMEOUT)
        )
    } else {
        e.without_url().to_string()
    }
}

/// Runs the check on the proxies a begin would include, and answers the refusal when it
/// fails.
pub async fn refusal_before_begin(
    state: &AppState,
    participants: Vec<String>,
) -> Option<HttpResponse> {
    let report = run_check(state, participants).await;
    if report.passed {
        return None;
    }
    let problems: Vec<String> = report
        .problems()
        .iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    tracing::warn!(
        problems = problems.len(),
        "begin refused: the cutover check failed"
    );
    Some(HttpResponse::Conflict().json(ApiError::new(
        "check_failed",
        format!(
            "the cutover check failed, so a commit would fail; traffic was not paused: {} \
             (fix the cause, e.g. run `molt-lms-cli roles sync`, then begin again, or begin \
             with --skip-check)",
            problems.join("; ")
        ),
    )))
}
