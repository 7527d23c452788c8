//! The REST API, one file per resource.

pub mod check;
pub mod cutover;
pub mod proxies;
pub mod roles;
pub mod status;

use actix_web::HttpResponse;
use molt_lms_actors::orchestrator::coordinator::Refused;
use molt_lms_api::ApiError;

/// A refused request as its JSON error.
pub fn refused(r: Refused) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(r.status)
        .unwrap_or(actix_web::http::StatusCode::CONFLICT);
    HttpResponse::build(status).json(ApiError::new(r.code, r.message))
}

/// The coordinator is restarting (it reloads persisted state); try again.
pub fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(ApiError::new(
        "unavailable",
        "the orchestrator is restarting; retry",
    ))
}
