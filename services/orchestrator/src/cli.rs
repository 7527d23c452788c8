//! Command-line flags; each has an environment variable.

use clap::{Parser, ValueEnum};
use molt_lms_api::cutover::ReplicationCheck;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "molt-lms-orchestrator",
    version,
    about = "molt-lms orchestrator: registers the proxies and coordinates the consistent cutover.",
    long_about = "molt-lms orchestrator: registers the proxies and coordinates the consistent cutover.\n\n\
                  config.json (--config) holds CRDB_URL, the target database where cutover metadata \
                  and the current source of truth are stored (schema molt_lms, created by \
                  `molt-lms-cli initialize`), and optionally LMS_URL, a SQL URL through the proxies. \
                  Environment variables of the same names override the file."
)]
pub struct Args {
    /// JSON file with CRDB_URL (and optionally LMS_URL; SOURCE_URL and TARGET_URL for the
    /// replication gate).
    #[arg(long, env = "ORCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log lines on stderr as `text` or `json` (one object per line, with `attempt` on a
    /// cutover's lines); `RUST_LOG` sets the level (default info). Never a password.
    #[arg(
        long,
        env = "ORCH_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: molt_lms_common::process::LogFormat,

    /// Address of the REST API (/api/v1/...).
    #[arg(
        long,
        env = "ORCH_LISTEN",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:4200"
    )]
    pub listen: SocketAddr,

    /// Address of /metrics, /healthz and /readyz.
    #[arg(
        long,
        env = "ORCH_METRICS_LISTEN",
        value_name = "HOST:PORT",
        default_value = "0.0.0.0:4201"
    )]
    pub metrics_listen: SocketAddr,

    /// How often proxies report.
    #[arg(long, env = "ORCH_HEARTBEAT_INTERVAL", value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,

    /// A proxy silent this long is marked lost and left out of new cutovers.
    #[arg(long, env = "ORCH_PROXY_LOST_AFTER", value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub proxy_lost_after: Duration,

    /// How long a proxy may go without an answer from the orchestrator before it holds
    /// new transactions itself, in case a commit it never heard of happened. A proxy
    /// silent for longer than this (plus a 5 s margin) is left out of a new cutover;
    /// one silent for less makes begin wait. Keep it above how long an orchestrator
    /// restart takes: outside a cutover, a restart shorter than the lease holds nothing.
    #[arg(long, env = "ORCH_PROXY_LEASE", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub proxy_lease: Duration,

    /// A proxy silent this long is removed from the registry, which is kept in the
    /// metadata database and survives a restart. Until then it is listed as lost.
    #[arg(long, env = "ORCH_FORGET_PROXY_AFTER", value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub forget_proxy_after: Duration,

    /// How long commit and abort wait for every proxy to confirm before answering.
    #[arg(long, env = "ORCH_FINISH_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub finish_timeout: Duration,

    /// How long a commit's first phase may take: every proxy opens, logs in and prepares
    /// each held session on the new source of truth. A proxy that has not reported by
    /// then gets the commit refused, and traffic stays paused on the old source of truth.
    #[arg(long, env = "ORCH_PREPARE_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub prepare_timeout: Duration,

    /// Commits wait, by default, this long at most for the target to catch up with the
    /// source once traffic is paused (the replication gate, by --replication-check);
    /// `commit --wait-for-replication`/`--force` override it. Needs SOURCE_URL in the
    /// config. Unset: a commit waits only when asked.
    #[arg(long, env = "ORCH_WAIT_FOR_REPLICATION", value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_replication: Option<Duration>,

    /// How the replication gate tells that the target caught up, unless a request says:
    /// `token` writes a token into the sentinel table on the source and polls the target
    /// for it (any replication tool that carries the table); `lsn` reads the source's WAL
    /// position and waits until its logical replication slots confirmed it (PostgreSQL
    /// source and subscriber; nothing is written).
    #[arg(
        long,
        env = "ORCH_REPLICATION_CHECK",
        value_name = "CHECK",
        value_enum,
        default_value_t = CheckArg::Token
    )]
    pub replication_check: CheckArg,

    /// The logical replication slots on the source the `lsn` check waits for
    /// (comma-separated). Default: every logical slot of SOURCE_URL's database.
    #[arg(
        long,
        env = "ORCH_REPLICATION_SLOTS",
        value_name = "SLOT,...",
        value_delimiter = ','
    )]
    pub replication_slots: Vec<String>,

    /// The API's TLS certificate (PEM). With --tls-key the API serves HTTPS only.
    #[arg(long, env = "ORCH_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "ORCH_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// CA certificate (PEM) for mutual TLS: the CLI and every proxy must present a
    /// client certificate it signed. The orchestrator also presents --tls-cert to the
    /// proxies and checks their certificates against this CA.
    #[arg(long, env = "ORCH_CA_TLS_CERT", value_name = "FILE")]
    pub tls_ca_cert: Option<PathBuf>,

    /// File holding the shared control-plane token (one line, at least 16 characters,
    /// e.g. a mounted Kubernetes Secret). Every API call except /api/v1/version,
    /// /api/v1/openapi.json and /healthz must present it as `Authorization: Bearer`
    /// (the dashboard page at / sends it from its URL's #token=), and the orchestrator
    /// presents it to the proxies. Re-read when the file changes
    /// or on SIGHUP.
    #[arg(long, env = "ORCH_CONTROL_TOKEN_FILE", value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,

    /// Serve the API without authentication (no token, no mutual TLS). Anyone who can
    /// reach it can then pause, switch or resume every proxy: for a laptop only.
    #[arg(long, env = "ORCH_INSECURE_CONTROL_PLANE")]
    pub insecure_control_plane: bool,
}

/// [`ReplicationCheck`] for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckArg {
    Token,
    Lsn,
}

impl From<CheckArg> for ReplicationCheck {
    fn from(c: CheckArg) -> Self {
        match c {
            CheckArg::Token => ReplicationCheck::Token,
            CheckArg::Lsn => ReplicationCheck::Lsn,
        }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 1s, 500ms, 2m)"))
}
