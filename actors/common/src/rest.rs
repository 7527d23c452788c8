//! What the proxy's admin API and the orchestrator's REST API answer alike when a
//! request is wrong: JSON errors, never actix-web's plain-text defaults.

use actix_web::{web, HttpResponse};
use molt_lms_api::ApiError;

/// Malformed or oversized JSON bodies get a 400 with a JSON error.
pub fn json_errors(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| {
            let body = ApiError::new("bad_request", err.to_string());
            actix_web::error::InternalError::from_response(
                err,
                HttpResponse::BadRequest().json(body),
            )
            .into()
        })
}

/// Unknown paths get a JSON 404.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ApiError::new("not_found", "no such endpoint"))
}
