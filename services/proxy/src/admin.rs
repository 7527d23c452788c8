//! The proxy's two HTTP listeners: the metrics port (Prometheus metrics and health
//! probes, open to anyone) and the control API (desired-state pushes and everything that
//! reveals queries or rows, behind the control plane's credentials). Unknown paths get a
//! JSON 404.

use actix::Addr;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use molt_lms_api::cutover::DesiredState;
use molt_lms_api::ApiError;
use molt_lms_common::control::{guard, server_tls, ControlAuth};
use molt_lms_common::rest;
use molt_lms_proxy_actors::proxy_instance::{
    ApplyDesired, CheckCutover, GetReport, GetStatus, ListConnections, ProxyInstance, UpdateGauges,
};
use molt_lms_proxy_actors::shared::Shared;
use std::sync::Arc;

struct AdminState {
    instance: Addr<ProxyInstance>,
    shared: Arc<Shared>,
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(ApiError::new(
        "unavailable",
        "the proxy instance is stopping",
    ))
}

async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    // A stopping instance cannot count its connections; the rest of the page still helps.
    let _ = state.instance.send(UpdateGauges).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.shared.metrics.render())
}

async fn status(state: web::Data<AdminState>) -> HttpResponse {
    match state.instance.send(GetStatus).await {
        Ok(s) => HttpResponse::Ok().json(s),
        Err(_) => unavailable(),
    }
}

async fn connections(state: web::Data<AdminState>) -> HttpResponse {
    match state.instance.send(ListConnections).await {
        Ok(list) => HttpResponse::Ok().json(list),
        Err(_) => unavailable(),
    }
}

/// The orchestrator pushes its desired state here; the answer is this proxy's report.
async fn desired(state: web::Data<AdminState>, body: web::Json<DesiredState>) -> HttpResponse {
    match state.instance.send(ApplyDesired(body.into_inner())).await {
        Ok(Ok(report)) => HttpResponse::Ok().json(report),
        Ok(Err(stale)) => HttpResponse::Conflict().json(ApiError::new(
            "stale_epoch",
            format!("this proxy has applied epoch {} already", stale.current),
        )),
        Err(_) => unavailable(),
    }
}

async fn report(state: web::Data<AdminState>) -> HttpResponse {
    match state.instance.send(GetReport).await {
        Ok(r) => HttpResponse::Ok().json(r),
        Err(_) => unavailable(),
    }
}

/// `cutover check` on this proxy: can a commit log its sessions in to the other
/// database and prepare their statements there.
async fn check(state: web::Data<AdminState>) -> HttpResponse {
    match state.instance.send(CheckCutover).await {
        Ok(c) => HttpResponse::Ok().json(c),
        Err(_) => unavailable(),
    }
}

/// The shadow report: outcomes by statement fingerprint, with recent samples.
async fn shadow(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(state.shared.shadow.report())
}

/// `roles sync`: copies the source's login roles' password verifiers to the target
/// (or, in a dry run, says what it would change). The answer never carries a verifier.
async fn roles_sync(
    state: web::Data<AdminState>,
    body: web::Json<molt_lms_api::roles::RolesSyncRequest>,
) -> HttpResponse {
    use molt_lms_proxy_actors::roles_sync;
    let req = body.into_inner();
    match roles_sync::sync(&state.shared, &req).await {
        Ok(roles) => HttpResponse::Ok().json(molt_lms_api::roles::RolesSyncReport {
            dry_run: req.dry_run,
            lms_address: state.shared.settings.advertise_address.clone(),
            roles,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "roles sync failed");
            let status = actix_web::http::StatusCode::from_u16(e.status())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            HttpResponse::build(status).json(ApiError::new(e.code(), e.to_string()))
        }
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready while accepting clients; not ready once draining.
async fn readyz(state: web::Data<AdminState>) -> HttpResponse {
    match state.instance.send(GetStatus).await {
        Ok(s) if !s.draining => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Ok(_) => HttpResponse::ServiceUnavailable().json(ApiError::new(
            "draining",
            "the proxy instance is shutting down",
        )),
        Err(_) => unavailable(),
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` to anyone: nothing here reveals a query
/// or changes anything.
pub fn metrics_server(
    listener: std::net::TcpListener,
    instance: Addr<ProxyInstance>,
    shared: Arc<Shared>,
) -> std::io::Result<Server> {
    let state = web::Data::new(AdminState { instance, shared });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .default_service(web::to(rest::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

/// Serves the control API (`/api/v1/...`) behind the control plane's credentials: the
/// token is checked per request; with mutual TLS the handshake already required a
/// certificate signed by the configured CA.
pub fn control_server(
    listener: std::net::TcpListener,
    instance: Addr<ProxyInstance>,
    shared: Arc<Shared>,
    auth: ControlAuth,
) -> anyhow::Result<Server> {
    let tls = auth
        .tls
        .as_ref()
        .map(server_tls::server_config)
        .transpose()
        .context("LMS_CONTROL_TLS_CERT")?;
    let state = web::Data::new(AdminState { instance, shared });
    let auth = web::Data::new(auth);
    let server = HttpServer::new(move || {
        let api = web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(guard::require))
            .route("/status", web::get().to(status))
            .route("/connections", web::get().to(connections))
            .route("/cutover", web::get().to(report))
            .route("/cutover/check", web::get().to(check))
            .route("/shadow", web::get().to(shadow))
            .route("/desired", web::post().to(desired))
            .route("/roles/sync", web::post().to(roles_sync))
            .default_service(web::to(rest::not_found));
        App::new()
            .app_data(state.clone())
            .app_data(auth.clone())
            .app_data(rest::json_errors(64 * 1024))
            .route("/healthz", web::get().to(healthz))
            .service(api)
            .default_service(web::to(rest::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1);
    Ok(match tls {
        Some(cfg) => server.listen_rustls_0_23(listener, cfg)?,
        None => server.listen(listener)?,
    }
    .run())
}
