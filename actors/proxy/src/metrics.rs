//! Prometheus metrics of one proxy instance. Every series carries `protocol` (`postgresql`
//! or `mysql`, the wire protocol this proxy speaks to clients), so one dashboard serves both
//! kinds of deployment. Handles are resolved once, so the data path touches no lookup; its
//! own series (bytes, requests, durations) are per-thread shards (`hot`), so it touches no
//! atomic another core writes either.

mod hot;

use crate::client_error::ClientErrorKind;
use hot::HotSeries;
pub use hot::{Direction, LocalSeries};
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::sync::Arc;

pub struct ProxyMetrics {
    pub registry: Registry,
    pub connections_open: IntGauge,
    pub connections_total: IntCounter,
    /// Bytes relayed, requests answered and their durations.
    hot: Arc<HotSeries>,
    /// Set at each scrape from the connection registry.
    pub connections_by_state: IntGaugeVec,
    pub connections_held: IntGauge,
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
        let hot = Arc::new(HotSeries::new().expect("metric"));
        registry
            .register(Box::new(HotCollector(hot.clone())))
            .expect("register");
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
            hot,
            connections_by_state,
            connections_held: gauge(
                "lms_connections_held",
                "Client connections held now by a cutover pause or a drain.",
            ),
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

    /// The calling thread's writer of the data path's series (bytes, requests answered);
    /// a relay or tracker takes it once, on the thread it runs on.
    pub fn local(&self) -> LocalSeries {
        self.hot.local()
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

/// Registers the shared series with the registry, which takes collectors by value.
struct HotCollector(Arc<HotSeries>);

impl prometheus::core::Collector for HotCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.0.collect()
    }
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self::new("postgresql")
    }
}
