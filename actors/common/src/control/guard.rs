//! The check in front of every control endpoint. Mutual TLS is enforced by the TLS
//! layer before a request exists; the token is checked here. A refusal is a JSON 401
//! that never echoes what was presented.

use super::ControlAuth;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use molt_lms_api::ApiError;

/// The bearer token in `Authorization`, if any.
fn bearer(req: &ServiceRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Whether the request carries what this side's settings require.
pub fn allowed(auth: &ControlAuth, req: &ServiceRequest) -> bool {
    match &auth.token {
        Some(t) => bearer(req).is_some_and(|b| t.matches(b)),
        None => true,
    }
}

/// Middleware (`actix_web::middleware::from_fn`): needs `web::Data<ControlAuth>`.
pub async fn require(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let ok = req
        .app_data::<web::Data<ControlAuth>>()
        .is_some_and(|a| allowed(a, &req));
    if !ok {
        tracing::warn!(path = %req.path(), peer = ?req.peer_addr(), "control request refused: no valid token");
        let resp = HttpResponse::Unauthorized()
            .insert_header(("www-authenticate", "Bearer"))
            .json(ApiError::new(
                "unauthorized",
                "this endpoint needs the control-plane token (Authorization: Bearer …)",
            ));
        return Ok(req.into_response(resp).map_into_right_body());
    }
    next.call(req).await.map(|r| r.map_into_left_body())
}
