//! Proxy registration and heartbeats, and requests fanned out to the proxies.

use super::{bad_request, refused, unavailable};
use crate::AppState;
use actix_web::{web, HttpResponse};
use molt_lms_api::cutover::{Deregistration, Heartbeat, Liveness, Registration};
use molt_lms_api::proxy::ProxyStatusRow;
use molt_lms_api::shadow::ShadowReport;
use molt_lms_api::{ApiError, ConnectionInfo, ProxyStatus};
use molt_lms_common::control::client::ControlClient;
use molt_lms_common::control::peer::PeerCert;
use molt_lms_orchestrator_actors::coordinator::{Deregister, HeartbeatMsg, Register, Targets};
use serde::Deserialize;
use std::time::Duration;
use tokio::task::JoinSet;

/// Samples the merged shadow report keeps per fingerprint (the newest ones).
const SHADOW_SAMPLES_PER_FINGERPRINT: usize = 10;

/// Whether `admin_url` is a base URL the orchestrator can call: `http://` or `https://`
/// with a host. Anything else would only fail later, at every push and fan-out.
pub(crate) fn callable(admin_url: &str) -> bool {
    reqwest::Url::parse(admin_url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Under mutual TLS the registration is bound to the client certificate that made it.
pub async fn register(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Json<Registration>,
) -> HttpResponse {
    if !callable(&body.admin_url) {
        return bad_request(
            "admin_url: must be an http:// or https:// URL with a host, e.g. http://10.0.0.5:9045",
        );
    }
    let cert = req.conn_data::<PeerCert>().map(|p| p.0.clone());
    let msg = Register {
        registration: body.into_inner(),
        cert,
    };
    match state.coordinator.send(msg).await {
        Ok(Ok(d)) => HttpResponse::Ok().json(d),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn deregister(
    state: web::Data<AppState>,
    body: web::Json<Deregistration>,
) -> HttpResponse {
    match state.coordinator.send(Deregister(body.into_inner())).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "deregistered": true })),
        Ok(Err(r)) => refused(r),
        Err(_) => unavailable(),
    }
}

pub async fn heartbeat(state: web::Data<AppState>, body: web::Json<Heartbeat>) -> HttpResponse {
    match state
        .coordinator
        .send(HeartbeatMsg(body.into_inner()))
        .await
    {
        Ok(Ok(Some(d))) => HttpResponse::Ok().json(d),
        Ok(Err(r)) => refused(r),
        Ok(Ok(None)) => HttpResponse::NotFound().json(ApiError::new(
            "not_registered",
            "unknown proxy: register first",
        )),
        Err(_) => unavailable(),
    }
}

#[derive(Deserialize)]
pub struct Filter {
    /// Comma-separated SQL addresses.
    #[serde(default)]
    lms_addresses: String,
}

pub(crate) fn addresses(f: &Filter) -> Vec<String> {
    f.lms_addresses
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How long one proxy may take to answer a fan-out; a slow proxy costs this, not more,
/// and never delays the others.
const FAN_OUT_TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from every proxy in `targets` at once, each with its own timeout, and
/// returns every answer or why there is none, in the order of `targets`.
async fn fan_out<T>(
    http: &ControlClient,
    targets: Vec<(Registration, Liveness)>,
    path: &'static str,
) -> Vec<(Registration, Liveness, Result<T, String>)>
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let mut calls = JoinSet::new();
    for (i, (reg, liveness)) in targets.into_iter().enumerate() {
        let (http, url) = (http.clone(), format!("{}{path}", reg.admin_url));
        calls.spawn(async move {
            let got = async {
                http.get(&url)
                    .timeout(FAN_OUT_TIMEOUT)
                    .send()
                    .await?
                    .error_for_status()?
                    .json::<T>()
                    .await
            }
            .await
            .map_err(|e| e.without_url().to_string());
            (i, reg, liveness, got)
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = calls.join_next().await {
        if let Ok(answer) = joined {
            answers.push(answer);
        }
    }
    answers.sort_by_key(|(i, ..)| *i);
    answers
        .into_iter()
        .map(|(_, r, l, got)| (r, l, got))
        .collect()
}

/// `GET /api/v1/proxies/status`: each proxy's own status, fetched now.
pub async fn proxy_status(state: web::Data<AppState>, q: web::Query<Filter>) -> HttpResponse {
    let wanted = addresses(&q);
    let Ok(targets) = state.coordinator.send(Targets(wanted.clone())).await else {
        return unavailable();
    };
    let mut rows = Vec::new();
    for w in wanted
        .iter()
        .filter(|w| !targets.iter().any(|(r, _)| &r.lms_address == *w))
    {
        rows.push(ProxyStatusRow {
            lms_address: w.clone(),
            status: None,
            error: "not registered with the orchestrator".into(),
        });
    }
    for (reg, liveness, got) in fan_out::<ProxyStatus>(&state.http, targets, "/api/v1/status").await
    {
        rows.push(match got {
            Ok(s) => ProxyStatusRow {
                lms_address: reg.lms_address,
                status: Some(s),
                error: String::new(),
            },
            Err(e) => ProxyStatusRow {
                lms_address: reg.lms_address,
                status: None,
                error: match liveness {
                    Liveness::Lost => "lost: no heartbeat".to_owned(),
                    Liveness::Live => format!("status unavailable: {e}"),
                },
            },
        });
    }
    rows.sort_by(|a, b| a.lms_address.cmp(&b.lms_address));
    HttpResponse::Ok().json(rows)
}

/// `GET /api/v1/connections`: every proxy's client connections.
pub async fn connections(state: web::Data<AppState>, q: web::Query<Filter>) -> HttpResponse {
    let Ok(targets) = state.coordinator.send(Targets(addresses(&q))).await else {
        return unavailable();
    };
    let mut all: Vec<ConnectionInfo> = Vec::new();
    for (reg, _, got) in
        fan_out::<Vec<ConnectionInfo>>(&state.http, targets, "/api/v1/connections").await
    {
        match got {
            Ok(list) => all.extend(list),
            Err(e) => {
                tracing::warn!(proxy = %reg.lms_address, error = %e, "connections unavailable")
            }
        }
    }
    HttpResponse::Ok().json(all)
}

/// `GET /api/v1/shadow`: every proxy's shadow report, merged per fingerprint. A proxy
/// that does not answer is listed in `unreachable`, so partial totals are never silent.
pub async fn shadow(state: web::Data<AppState>, q: web::Query<Filter>) -> HttpResponse {
    let Ok(targets) = state.coordinator.send(Targets(addresses(&q))).await else {
        return unavailable();
    };
    let mut merged = ShadowReport::default();
    for (reg, _, got) in fan_out::<ShadowReport>(&state.http, targets, "/api/v1/shadow").await {
        match got {
            Ok(report) => merged.merge(report, SHADOW_SAMPLES_PER_FINGERPRINT),
            Err(e) => {
                tracing::warn!(proxy = %reg.lms_address, error = %e, "shadow report unavailable");
                merged.unreachable.push(reg.lms_address);
            }
        }
    }
    merged
        .proxies
        .sort_by(|a, b| a.lms_address.cmp(&b.lms_address));
    merged.unreachable.sort();
    HttpResponse::Ok().json(merged)
}
