//! Command-line flags. Every flag has an environment variable; flags win over variables,
//! variables over `config.json`.

use clap::Parser;
use molt_lms_api::{Dialect, ShadowMode};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "molt-lms",
    version,
    about = "molt-lms proxy: serves PostgreSQL-protocol clients from the current source of truth \
             (the source database, or the target after a cutover).",
    long_about = "molt-lms proxy: serves PostgreSQL-protocol clients from the current source of truth \
                  (the source database, or the target after a cutover).\n\n\
                  Connection URLs come from config.json (--config) as INIT_SOURCE and INIT_TARGET, or \
                  from the environment variables of the same names, which override the file. The \
                  users in those URLs are service users: they look up the password verifier of each \
                  client's role (see --auth-query). Clients log in with their own user and password."
)]
pub struct Args {
    /// JSON file with INIT_SOURCE and INIT_TARGET (optionally AUTH_QUERY).
    #[arg(long, env = "LMS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log lines on stderr as `text` or `json` (one object per line, with `conn` on a
    /// connection's lines); `RUST_LOG` sets the level (default info). Never a password.
    #[arg(
        long,
        env = "LMS_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: molt_lms_common::process::LogFormat,

    /// Address the SQL listener binds.
    #[arg(
        long,
        env = "LMS_LISTEN",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:9043"
    )]
    pub listen: SocketAddr,

    /// Address of /metrics, /healthz and /readyz, served to anyone (Prometheus, probes).
    #[arg(
        long,
        env = "LMS_METRICS_LISTEN",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:9044"
    )]
    pub metrics_listen: SocketAddr,

    /// Address of the control API (/api/v1/...): the orchestrator's desired-state push,
    /// status, connections (with their last query), shadow samples, cutover check and
    /// roles sync. It needs the control token or a client certificate (see
    /// --control-token-file, --control-tls-ca).
    #[arg(
        long,
        env = "LMS_CONTROL_LISTEN",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:9045"
    )]
    pub control_listen: SocketAddr,

    /// HOST:PORT the orchestrator calls the control API at [default: the advertised SQL
    /// host with the control port]. Set it when the certificate names another host.
    #[arg(long, env = "LMS_CONTROL_ADVERTISE_ADDRESS", value_name = "HOST:PORT")]
    pub control_advertise_address: Option<String>,

    /// File holding the shared control-plane token (one line, at least 16 characters,
    /// e.g. a mounted Kubernetes Secret): required on the control API and presented to
    /// the orchestrator. Re-read when the file changes or on SIGHUP.
    #[arg(long, env = "LMS_CONTROL_TOKEN_FILE", value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,

    /// The control API's TLS certificate, also presented to the orchestrator as this
    /// proxy's client certificate [default: --ssl-cert].
    #[arg(long, env = "LMS_CONTROL_TLS_CERT", value_name = "FILE")]
    pub control_tls_cert: Option<PathBuf>,

    /// The private key of --control-tls-cert [default: --ssl-key].
    #[arg(long, env = "LMS_CONTROL_TLS_KEY", value_name = "FILE")]
    pub control_tls_key: Option<PathBuf>,

    /// CA that signs the orchestrator's certificate: the control API then requires it
    /// as a client certificate (mutual TLS), and the proxy checks the orchestrator
    /// against it [default: --ssl-ca].
    #[arg(long, env = "LMS_CONTROL_TLS_CA", value_name = "FILE")]
    pub control_tls_ca: Option<PathBuf>,

    /// Serve the control API without authentication (no token, no mutual TLS). Anyone
    /// who reaches it can then switch this proxy's source of truth: for a laptop only.
    #[arg(long, env = "LMS_INSECURE_CONTROL_PLANE")]
    pub insecure_control_plane: bool,

    /// Dialect of the source database: postgres, mysql or cockroach.
    #[arg(
        long,
        env = "LMS_SOURCE_DIALECT",
        value_name = "DIALECT",
        default_value = "postgres"
    )]
    pub source_dialect: Dialect,

    /// Dialect of the target database. The product targets CockroachDB; a PostgreSQL
    /// server stands in for it in tests.
    #[arg(
        long,
        env = "LMS_TARGET_DIALECT",
        value_name = "DIALECT",
        default_value = "cockroach"
    )]
    pub target_dialect: Dialect,

    /// Shadowing of traffic to the database that is not the source of truth (the
    /// shadow): none; async (mirror without waiting, drop a request while the previous
    /// one is still running there); sync (wait for both, return the source of truth's
    /// answer, compare the two); strict-sync (like sync, but a shadow error is returned
    /// when the source of truth succeeded). A consistent cutover needs none.
    #[arg(
        long,
        env = "LMS_SHADOW_MODE",
        value_name = "MODE",
        default_value = "none"
    )]
    pub shadow_mode: ShadowMode,

    /// Bytes of one statement's answer kept per side for comparison (sync, strict-sync):
    /// half for whole rows (to show a differing row), half for row hashes. Past it, rows
    /// are compared by aggregate hash only. Accepts KiB/MiB suffixes.
    #[arg(long, env = "LMS_SHADOW_COMPARE_BUDGET", value_name = "BYTES", default_value = "1MiB", value_parser = parse_bytes)]
    pub shadow_compare_budget: usize,

    /// Difference samples kept per statement fingerprint for the shadow report.
    #[arg(
        long,
        env = "LMS_SHADOW_SAMPLES",
        value_name = "N",
        default_value = "10"
    )]
    pub shadow_samples: usize,

    /// URL of the molt-lms orchestrator to register with (optional).
    #[arg(long, env = "LMS_ORCHESTRATOR_URL", value_name = "URL")]
    pub orchestrator_url: Option<String>,

    /// SQL address that status output and other components show for this instance
    /// [default: the listen address; in Kubernetes POD_IP with the listen port].
    #[arg(long, env = "LMS_ADVERTISE_ADDRESS", value_name = "HOST:PORT")]
    pub advertise_address: Option<String>,

    /// Query returning a role's password verifier as its last column, with the role name as $1
    /// [default: reads pg_catalog.pg_authid, which needs a superuser service user].
    #[arg(long, env = "LMS_AUTH_QUERY", value_name = "SQL")]
    pub auth_query: Option<String>,

    /// JSON secret file naming the PostgreSQL login each MySQL user gets on the target
    /// once it serves MySQL clients: {"mysql_user": {"user": "...", "password": "..."},
    /// "*": {...}} ("*": every other user). Only with --source-dialect mysql
    /// [default: every MySQL user logs in to the target as INIT_TARGET's user].
    #[arg(long, env = "LMS_MYSQL_TARGET_LOGINS", value_name = "FILE")]
    pub mysql_target_logins: Option<PathBuf>,

    /// How long a shutdown (SIGTERM) waits for open transactions before closing them.
    #[arg(long, env = "LMS_SHUTDOWN_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Worker threads that run client connections [default: one per core].
    #[arg(long, env = "LMS_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// PEM certificate for TLS with clients (needs --ssl-key).
    #[arg(long, env = "LMS_SSL_CERT", value_name = "FILE")]
    pub ssl_cert: Option<PathBuf>,

    /// PEM private key for TLS with clients.
    #[arg(long, env = "LMS_SSL_KEY", value_name = "FILE")]
    pub ssl_key: Option<PathBuf>,

    /// PEM CA certificate; when set, clients must present a certificate it signed (and
    /// TLS is required, as with --require-tls).
    #[arg(long, env = "LMS_SSL_CA", value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,

    /// Refuse clients that do not use TLS: PostgreSQL clients get 28000, MySQL clients
    /// 3159, each with a message saying TLS is required. Needs --ssl-cert and --ssl-key.
    #[arg(long, env = "LMS_REQUIRE_TLS")]
    pub require_tls: bool,

    /// Client connections this proxy holds at most, logged in or not; the next one is
    /// refused (PostgreSQL clients get 53300, MySQL clients 1040) until one closes.
    #[arg(
        long,
        env = "LMS_MAX_CLIENT_CONNECTIONS",
        value_name = "N",
        default_value_t = 20_000
    )]
    pub max_client_connections: usize,

    /// Cancel requests accepted per second from one source address (twice that as a
    /// burst); the rest are dropped and counted, so cancel keys cannot be guessed at the
    /// speed of connecting.
    #[arg(
        long,
        env = "LMS_CANCEL_RATE_LIMIT",
        value_name = "N",
        default_value_t = 100
    )]
    pub cancel_rate_limit: u32,

    /// How long opening a session on a database may take once TCP is connected (TLS,
    /// login, first answer). A database that accepts connections and then says nothing
    /// fails that login, a shadow session or a commit's preparation instead of stalling it.
    #[arg(long, env = "LMS_BACKEND_LOGIN_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub backend_login_timeout: Duration,

    /// How long a client may take from connecting to being logged in (TLS, start-up
    /// message, authentication), as PostgreSQL's authentication_timeout. A client that
    /// sends its start-up a byte at a time is closed when it runs out. Waiting at a
    /// cutover's gate does not count.
    #[arg(long, env = "LMS_CLIENT_LOGIN_TIMEOUT", value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub client_login_timeout: Duration,

    /// Share of client requests (a simple query, or an extended-protocol batch up to its
    /// Sync) traced as spans, from 0 (none) to 1 (all), while OpenTelemetry traces are
    /// exported (OTEL_EXPORTER_OTLP_ENDPOINT). A span names its statement by fingerprint
    /// (literals replaced), the database that answered, the rows and any SQLSTATE.
    #[arg(
        long,
        env = "LMS_TRACE_QUERIES",
        value_name = "RATIO",
        default_value_t = 0.01
    )]
    pub trace_queries: f64,

    /// Largest client message the proxy holds whole in memory: a PostgreSQL Parse (kept
    /// to replay at a cutover) or Close, and any message while shadowing. A larger one
    /// closes that connection (SQLSTATE 54000) as soon as its header arrives. Everything
    /// else streams through whatever its size; of a Query only the first 64 KiB are read.
    /// Accepts KiB/MiB suffixes.
    #[arg(long, env = "LMS_MAX_BUFFERED_MESSAGE", value_name = "BYTES", default_value = "8MiB", value_parser = parse_bytes)]
    pub max_buffered_message: usize,

    /// Bytes all client connections together may hold for messages that do not fit a
    /// few reads (64 KiB each, free). A connection that would pass it is closed (SQLSTATE
    /// 53200); the others go on. Accepts KiB/MiB suffixes.
    #[arg(long, env = "LMS_BUFFER_BUDGET", value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub buffer_budget: usize,

    /// Bytes all shadowing sessions together may hold for shadows that fall behind (each
    /// session also stops at 64 MiB, and its first 64 KiB are free). A session whose
    /// backlog would pass it stops being shadowed (strict-sync: the session ends), as when
    /// its own backlog passes 64 MiB. Accepts KiB/MiB suffixes.
    #[arg(long, env = "LMS_SHADOW_BUDGET", value_name = "BYTES", default_value = "512MiB", value_parser = parse_bytes)]
    pub shadow_budget: usize,
}

fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("MiB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("KiB") {
        (n, 1 << 10)
    } else if let Some(n) = t.strip_suffix('B') {
        (n, 1)
    } else {
        (t, 1)
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a size (examples: 1048576, 512KiB, 4MiB)"))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 500ms)"))
}
