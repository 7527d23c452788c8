//! The proxy's validated settings, built once at start-up by the binary and passed down.

use molt_lms_api::{Dialect, ShadowMode, SourceOfTruth};
use molt_lms_common::backend_url::BackendUrl;
use std::path::PathBuf;
use std::time::Duration;

/// Client-side TLS files (`LMS_SSL_CERT`, `LMS_SSL_KEY`, `LMS_SSL_CA`).
#[derive(Debug, Clone)]
pub struct ServerTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Who may call the control endpoint, and how this proxy calls the orchestrator.
    pub control: molt_lms_common::control::ControlAuth,
    pub source: BackendUrl,
    pub target: BackendUrl,
    pub source_dialect: Dialect,
    pub target_dialect: Dialect,
    pub shadow_mode: ShadowMode,
    /// Bytes of one statement's answer kept for comparison (half rows, half row hashes).
    pub shadow_compare_budget: usize,
    /// Samples kept per fingerprint in the shadow report.
    pub shadow_samples: usize,
    /// The SQL address shown to other components.
    pub advertise_address: String,
    /// The admin/metrics address, for status output.
    pub admin_address: String,
    pub auth_query: Option<String>,
    /// Target logins for MySQL users (`--mysql-target-logins`); `None`: the target URL's
    /// own user for everyone.
    pub mysql_target_logins: Option<std::sync::Arc<crate::mysql::gateway::logins::TargetLogins>>,
    /// How long a shutdown waits for open transactions.
    pub shutdown_timeout: Duration,
    pub tls: Option<ServerTlsFiles>,
    /// Plain logins are refused (`--require-tls`, and always with client certificates).
    pub require_tls: bool,
    /// Client connections held at most; the next is refused.
    pub max_client_connections: usize,
    /// Cancel requests accepted per second and source address.
    pub cancel_rate_limit: u32,
    /// How long opening a backend session may take after the TCP connect.
    pub backend_login_timeout: Duration,
    /// How long a client may take from connecting to being logged in.
    pub client_login_timeout: Duration,
    /// Share of client requests traced as spans while traces are exported (0 to 1).
    pub trace_queries: f64,
    /// Largest client message held whole (PostgreSQL Parse and Close; any message while
    /// shadowing); a larger one closes its connection.
    pub max_buffered_message: usize,
    /// Bytes all client connections together may hold past a few reads' worth each.
    pub buffer_budget: usize,
    /// Bytes all shadowing sessions together may hold for their shadows.
    pub shadow_budget: usize,
    /// Worker threads that run client connections (`proxy_instance/worker.rs`).
    pub workers: usize,
    pub initial_source_of_truth: SourceOfTruth,
}
