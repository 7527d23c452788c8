//! The admin HTTP API on the metrics port: Prometheus metrics, status, connections and
//! health probes. Unknown paths get a JSON 404.

use actix::Addr;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use molt_lms_actors::proxy_instance::{
    ApplyDesired, CheckCutover, GetReport, GetStatus, ListConnections, ProxyInstance,
};
use molt_lms_actors::rest;
use molt_lms_actors::shared::Shared;
use molt_lms_api::cutover::DesiredState;
use molt_lms_api::ApiError;
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
    use molt_lms_actors::roles_sync;
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

/// Serves the admin API on an already bound listener.
pub fn server(
    listener: std::net::TcpListener,
    instance: Addr<ProxyInstance>,
    shared: Arc<Shared>,
) -> std::io::Result<Server> {
    let state = web::Data::new(AdminState { instance, shared });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(rest::json_errors(64 * 1024))
            .route("/metrics", web::get().to(metrics))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/api/v1/status", web::get().to(status))
            .route("/api/v1/connections", web::get().to(connections))
            .route("/api/v1/cutover", web::get().to(report))
            .route("/api/v1/cutover/check", web::get().to(check))
            .route("/api/v1/shadow", web::get().to(shadow))
            .route("/api/v1/desired", web::post().to(desired))
            .route("/api/v1/roles/sync", web::post().to(roles_sync))
            .default_service(web::to(rest::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}
