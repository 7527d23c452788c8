//! Prometheus metrics of one proxy instance. Handles are resolved once, so the data
//! path only touches atomics. Every series carries `protocol` (`postgresql` or `mysql`,
//! the wire protocol this proxy speaks to clients), so one dashboard serves both kinds
//! of deployment.

use crate::client_error::ClientErrorKind;
use molt_lms_api::SourceOfTruth;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// One backend's request series, resolved once so a request touches only atomics.
pub struct BackendQueries {
    pub ok: IntCounter,
    pub error: IntCounter,
    pub seconds: Histogram,
}

pub struct ProxyMetrics {
    pub registry: Registry,
    pub connections_open: IntGauge,
    pub connections_total: IntCounter,
    /// Requests answered by the source (`[0]`) and by the target (`[1]`).
    queries: [BackendQueries; 2],
    /// Set at each scrape from the connection registry.
    pub connections_by_state: IntGaugeVec,
    pub connections_held: IntGauge,
    pub bytes_client_to_backend: IntCounter,
    pub bytes_backend_to_client: IntCounter,
    pub auth_failures: IntCounter,
    pub protocol_errors: IntCounter,
    pub backend_errors: IntCounter,
    /// Mirrored requests by outcome and fingerprint id (see the shadow report).
    pub shadow_requests: IntCounterVec,
    pub shadow_sessions_failed: IntCounter,
    pub shadow_sessions_lost: IntCounter,
    /// Cancel requests dropped by the per-address rate limit.
    pub cancels_limited: IntCounter,
    /// Clients closed for not logging in within `--client-login-timeout`.
    pub login_timeouts: IntCounter,
    /// Bytes held for large client messages, over all connections (`--buffer-budget`).
    pub buffered_bytes: IntGauge,
    /// Bytes held for shadows behind their sessions, over all sessions (`--shadow-budget`).
    pub shadow_buffered_bytes: IntGauge,
    /// Errors the proxy itself gave clients, by kind (`ClientErrorKind::as_str`).
    client_errors: IntCounterVec,
}

impl ProxyMetrics {
    #[allow(clippy::expect_used)] // Static metric definitions; a failure is a programming error.
    pub fn new(protocol: &str) -> Self {
        let labels = [("protocol".to_owned(), protocol.to_owned())].into();
        let registry = Registry::new_custom(None, Some(labels)).expect("registry");
        let gauge = |n: &str, h: &str| {
            let g = IntGauge::new(n, h).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let counter = |n: &str, h: &str| {
            let c = IntCounter::new(n, h).expect("metric");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let vec = |n: &str, h: &str, label: &str| {
            let v = IntCounterVec::new(Opts::new(n, h), &[label]).expect("metric");
            registry.register(Box::new(v.clone())).expect("register");
            v
        };
        let queries = IntCounterVec::new(
            Opts::new(
                "lms_queries_total",
                "Client requests answered, by outcome and by the database that answered (backend: source or target).",
            ),
            &["outcome", "backend"],
        )
        .expect("metric");
        registry
            .register(Box::new(queries.clone()))
            .expect("register");
        let bytes = vec(
            "lms_bytes_relayed_total",
            "Bytes relayed, by direction.",
            "direction",
        );
        let query_seconds = HistogramVec::new(
            HistogramOpts::new(
                "lms_query_duration_seconds",
                "Time from a client request to the end of its answer (ReadyForQuery; MySQL: the last packet), by the database that answered.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["backend"],
        )
        .expect("metric");
        registry
            .register(Box::new(query_seconds.clone()))
            .expect("register");
        let backend = |b: &str| BackendQueries {
            ok: queries.with_label_values(&["ok", b]),
            error: queries.with_label_values(&["error", b]),
            seconds: query_seconds.with_label_values(&[b]),
        };
        let connections_by_state = IntGaugeVec::new(
            Opts::new(
                "lms_connections",
                "Client connections now, by state and by the database serving them (source_of_truth).",
            ),
            &["state", "source_of_truth"],
        )
        .expect("metric");
        registry
            .register(Box::new(connections_by_state.clone()))
            .expect("register");
        let shadow_requests = IntCounterVec::new(
            Opts::new(
                "lms_shadow_requests_total",
                "Requests mirrored to the shadow database, by outcome and statement fingerprint id.",
            ),
            &["outcome", "fingerprint"],
        )
        .expect("metric");
        registry
            .register(Box::new(shadow_requests.clone()))
            .expect("register");
        let client_errors = vec(
            "lms_client_errors_total",
            "Sessions the proxy refused or ended with an error of its own, by kind.",
            "kind",
        );
        for kind in ClientErrorKind::ALL {
            client_errors.with_label_values(&[kind.as_str()]);
        }
        Self {
            client_errors,
            shadow_requests,
            shadow_sessions_failed: counter(
                "lms_shadow_sessions_failed_total",
                "Client sessions whose shadow session could not be opened.",
            ),
            buffered_bytes: gauge(
                "lms_client_buffered_bytes",
                "Bytes client connections hold for messages larger than a few reads, over all connections (bounded by --buffer-budget).",
            ),
            login_timeouts: counter(
                "lms_client_login_timeouts_total",
                "Client connections closed for not finishing start-up within --client-login-timeout.",
            ),
            shadow_buffered_bytes: gauge(
                "lms_shadow_buffered_bytes",
                "Bytes held for shadow sessions behind their client sessions, over all sessions (bounded by --shadow-budget).",
            ),
            cancels_limited: counter(
                "lms_cancel_requests_limited_total",
                "Cancel requests dropped because their source address sent too many.",
            ),
            shadow_sessions_lost: counter(
                "lms_shadow_sessions_lost_total",
                "Shadow sessions lost or abandoned while their client session went on.",
            ),
            connections_open: gauge("lms_connections_open", "Client connections open now."),
            connections_total: counter("lms_connections_total", "Client connections accepted."),
            queries: [backend("source"), backend("target")],
            connections_by_state,
            connections_held: gauge(
                "lms_connections_held",
                "Client connections held now by a cutover pause or a drain.",
            ),
            bytes_client_to_backend: bytes.with_label_values(&["client_to_backend"]),
            bytes_backend_to_client: bytes.with_label_values(&["backend_to_client"]),
            auth_failures: counter("lms_auth_failures_total", "Client logins refused."),
            protocol_errors: counter(
                "lms_protocol_errors_total",
                "Client connections closed for a protocol violation.",
            ),
            backend_errors: counter(
                "lms_backend_errors_total",
                "Sessions that failed because a backend was unreachable or lost.",
            ),
            registry,
        }
    }

    /// The series of requests `backend` answers.
    #[inline]
    pub fn backend(&self, backend: SourceOfTruth) -> &BackendQueries {
        &self.queries[usize::from(backend == SourceOfTruth::Target)]
    }

    /// Counts an error the proxy gave a client.
    pub fn client_error(&self, kind: ClientErrorKind) {
        self.client_errors.with_label_values(&[kind.as_str()]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self::new("postgresql")
    }
}
