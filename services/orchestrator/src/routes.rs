//! The REST API, one file per resource.

pub mod check;
pub mod cutover;
pub mod dashboard;
pub mod proxies;
pub mod roles;
pub mod status;
pub mod verify;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use molt_lms_api::ApiError;
use molt_lms_orchestrator_actors::coordinator::Refused;

/// The HTTP status of a coordinator's refusal: the request conflicts with the cutover's
/// state (409) unless the code says otherwise.
pub fn refusal_status(code: &str) -> StatusCode {
    match code {
        "unknown_proxy" | "no_source_url" => StatusCode::BAD_REQUEST,
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

/// A path segment that does not parse (`/api/v1/cutover/abc`) names nothing: a JSON 404,
/// not actix-web's plain-text one.
pub fn path_errors() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        let body = ApiError::new("not_found", err.to_string());
        actix_web::error::InternalError::from_response(err, HttpResponse::NotFound().json(body))
            .into()
    })
}

/// A query string that does not parse (e.g. `lms_addresses` twice): a JSON 400.
pub fn query_errors() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let body = ApiError::new("bad_request", err.to_string());
        actix_web::error::InternalError::from_response(err, HttpResponse::BadRequest().json(body))
            .into()
    })
}

/// The caller's W3C trace context (`traceparent` header), if it sent a plausible one.
pub struct Traceparent(pub Option<String>);

impl actix_web::FromRequest for Traceparent {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let value = req
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 128)
            .map(str::to_owned);
        std::future::ready(Ok(Traceparent(value)))
    }
}

/// A request body that parsed but asks for something the server cannot do: a JSON 400.
pub fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(ApiError::new("bad_request", message.into()))
}

#[cfg(test)]
mod tests;
