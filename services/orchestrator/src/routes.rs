//! The REST API, one file per resource.

pub mod check;
pub mod cutover;
pub mod proxies;
pub mod roles;
pub mod status;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use molt_lms_api::ApiError;
use molt_lms_orchestrator_actors::coordinator::Refused;

/// The HTTP status of a coordinator's refusal: the request conflicts with the cutover's
/// state (409) unless the code says otherwise.
pub fn refusal_status(code: &str) -> StatusCode {
    match code {
        "unknown_proxy" => StatusCode::BAD_REQUEST,
        "wrong_proxy_key" => StatusCode::FORBIDDEN,
        "not_found" | "not_registered" => StatusCode::NOT_FOUND,
        "loading" | "store_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::CONFLICT,
    }
}

/// A refused request as its JSON error.
pub fn refused(r: Refused) -> HttpResponse {
    HttpResponse::build(refusal_status(r.code)).json(ApiError::new(r.code, r.message))
}

/// The coordinator is restarting (it reloads persisted state); try again.
pub fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(ApiError::new(
        "unavailable",
        "the orchestrator is restarting; retry",
    ))
}

#[cfg(test)]
mod tests;
