//! OpenTelemetry traces for the three binaries.
//!
//! Tracing is on when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and not turned off (`OTEL_SDK_DISABLED=true`,
//! `OTEL_TRACES_EXPORTER=none`); otherwise nothing is set up and every span call is a
//! no-op. The SDK reads the other standard variables itself: `OTEL_SERVICE_NAME` and
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`
//! (default: follow the parent, sample roots), `OTEL_BSP_*` for batching.
//!
//! Spans are made with the OpenTelemetry API directly, not through `tracing`: a cutover's
//! spans outlive the actor messages that start and end them, and a sampled-out query
//! must cost nothing.

pub mod context;

use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

pub use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
pub use opentelemetry::{global, Context, KeyValue};

static ENABLED: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Error)]
pub enum TelemetryError {
    /// A variable holds a value this build cannot use; the message names it.
    #[error("{key}: {message}")]
    Setting { key: &'static str, message: String },
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(String),
}

/// The installed provider, flushed and shut down by [`Telemetry::shutdown`].
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the environment asks for traces, and refuses what this build cannot do.
fn wanted() -> Result<bool, TelemetryError> {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(false);
    }
    match var("OTEL_TRACES_EXPORTER").as_deref() {
        None | Some("otlp") => {}
        Some("none") => return Ok(false),
        Some(other) => {
            return Err(TelemetryError::Setting {
                key: "OTEL_TRACES_EXPORTER",
                message: format!("{other:?}: only otlp (or none) is supported"),
            })
        }
    }
    for key in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(p) = var(key) {
            if p != "http/protobuf" {
                return Err(TelemetryError::Setting {
                    key: if key.contains("TRACES") {
                        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
                    } else {
                        "OTEL_EXPORTER_OTLP_PROTOCOL"
                    },
                    message: format!(
                        "{p:?}: this build exports http/protobuf only (Jaeger and the OpenTelemetry Collector accept it, by default on port 4318)"
                    ),
                });
            }
            break;
        }
    }
    Ok(var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some())
}

/// Sets up the exporter when the environment asks for it. `service` is the default
/// `service.name` (`OTEL_SERVICE_NAME` overrides it).
pub fn init(service: &'static str) -> Result<Telemetry, TelemetryError> {
    if !wanted()? {
        return Ok(Telemetry { provider: None });
    }
    // The exporter's blocking HTTP client must not be built on an async runtime's
    // thread: build everything on a plain one.
    let provider = std::thread::spawn(move || -> Result<SdkTracerProvider, TelemetryError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let mut resource = Resource::builder();
        if var("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name(service);
        }
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build())
    })
    .join()
    .map_err(|_| TelemetryError::Exporter("the set-up thread panicked".into()))??;
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    ENABLED.store(true, Ordering::Release);
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// True once traces are exported: spans are worth building.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The tracer every span of this process comes from.
pub fn tracer() -> global::BoxedTracer {
    global::tracer("molt-lms")
}

impl Telemetry {
    /// Exports what is still batched. Blocking: from an async context call it through
    /// `spawn_blocking` (on the actix thread it would wait on itself).
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            ENABLED.store(false, Ordering::Release);
            if let Err(e) = p.shutdown() {
                eprintln!("traces: {e}");
            }
        }
    }

    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }
}
