//! Orchestrator API latency by route and status, measured around every request of the
//! API port. The route is the pattern the request matched (`/api/v1/cutover/{id}`), never
//! the raw path, so ids and probes do not make new series.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use prometheus::{HistogramOpts, HistogramVec, Registry};
use std::time::Instant;

pub struct ApiMetrics {
    registry: Registry,
    seconds: HistogramVec,
}

impl ApiMetrics {
    #[allow(clippy::expect_used)] // Static metric definitions; a failure is a programming error.
    pub fn new() -> Self {
        let registry = Registry::new();
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                "lms_orchestrator_api_request_duration_seconds",
                "Orchestrator API requests by route pattern, method and HTTP status, and how long they took.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                60.0, 120.0,
            ]),
            &["route", "method", "status"],
        )
        .expect("metric");
        registry
            .register(Box::new(seconds.clone()))
            .expect("register");
        Self { registry, seconds }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }

    fn observe(&self, route: &str, method: &str, status: u16, started: Instant) {
        self.seconds
            .with_label_values(&[route, method, &status.to_string()])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Default for ApiMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The middleware: times the request and counts it under its route.
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let metrics = req
        .app_data::<actix_web::web::Data<crate::AppState>>()
        .cloned();
    let res = next.call(req).await;
    if let Some(m) = metrics {
        let status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        m.api_metrics.observe(&route, &method, status, started);
    }
    res
}
