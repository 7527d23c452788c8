//! The cutover protocol between the orchestrator and the proxies, and the attempt
//! metadata the CLI shows.
//!
//! The protocol is level-triggered: the orchestrator owns a [`DesiredState`] (persisted,
//! fenced by a monotonically increasing `epoch`) and pushes it to every proxy; each
//! proxy converges to it and answers with a [`ProxyReport`], which it also sends as its
//! heartbeat and whenever its phase changes. A report in phase `Paused` is the
//! pause-ack. A lost message therefore never strands a proxy: the next heartbeat
//! carries the same desired state.

use crate::connection::ConnectionState;
use crate::proxy::{Dialect, ShadowMode, SourceOfTruth};
use serde::{Deserialize, Serialize};

/// What happens when `--begin-timeout` expires before every proxy paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TimeoutAction {
    /// Release traffic on the unchanged source of truth and fail `begin`.
    #[default]
    Abort,
    /// End the blocking sessions with an error so the pause completes.
    Terminate,
}

/// How the replication gate tells that the database traffic moves to has caught up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplicationCheck {
    /// A fresh token written into the sentinel table on one database, awaited on the
    /// other: works with any replication tool that carries the table.
    #[default]
    Token,
    /// The WAL insert position of the database traffic leaves, awaited in what its
    /// logical replication slots confirmed: PostgreSQL logical replication, and nothing
    /// is written.
    Lsn,
}

impl ReplicationCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicationCheck::Token => "token",
            ReplicationCheck::Lsn => "lsn",
        }
    }
}

/// A replication gate a commit is waiting for now, as its attempt shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateProgress {
    pub check: ReplicationCheck,
    /// Since the gate started.
    pub elapsed_ms: u64,
    /// Reads of the target (token) or of the slots (lsn) so far.
    pub polls: u64,
    /// How long it waits at most before the commit is refused.
    pub timeout_ms: u64,
}

/// An order to hold traffic for a cutover attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldOrder {
    pub attempt_id: u64,
    /// Set once `--begin-timeout` expired with action `terminate`: end blocking sessions.
    #[serde(default)]
    pub terminate_blockers: bool,
    /// Set by `commit` before its point of no return: while still holding, open, log in and
    /// prepare every held session on the new database, and report the outcome.
    #[serde(default)]
    pub prepare: Option<PrepareOrder>,
}

/// Commit, phase one: prepare every held session on `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareOrder {
    /// Names this preparation (the epoch that first carried it); a new commit after a
    /// refused one gets a new order, so no proxy mistakes old results for new ones.
    pub order: u64,
    pub to: SourceOfTruth,
}

/// Where every proxy should be. Proxies ignore a state with a lower epoch than one they
/// have already applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredState {
    pub epoch: u64,
    pub source_of_truth: SourceOfTruth,
    pub hold: Option<HoldOrder>,
    /// W3C `traceparent` of the cutover attempt's trace, while one is in progress: the
    /// proxies' pause, prepare and switch spans are its children, whichever way (push
    /// or heartbeat answer) the state reaches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// A proxy's cutover phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyPhase {
    /// Relaying traffic to its source of truth.
    Serving,
    /// Holding new work, waiting for open transactions to end.
    Pausing,
    /// Every session is held (the pause-ack).
    Paused,
    /// Held, and opening every session on the new source of truth (commit, phase one).
    Preparing,
    /// Held, and every session's preparation ended; see the report's `prepare`.
    Prepared,
    /// Moving held sessions to a new source of truth.
    Switching,
}

/// A session that keeps a proxy from pausing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub connection_id: u64,
    pub client_address: String,
    pub state: ConnectionState,
    pub transaction_age_secs: Option<f64>,
    pub last_query: String,
}

/// A proxy's own account of itself: heartbeat, pause-ack and push answer in one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyReport {
    /// The highest epoch the proxy has applied.
    pub epoch: u64,
    pub source_of_truth: SourceOfTruth,
    pub phase: ProxyPhase,
    /// The attempt the proxy is holding for, if any.
    pub attempt_id: Option<u64>,
    /// RFC 3339 time the pause completed, while paused.
    pub paused_at: Option<String>,
    pub connections: u64,
    pub held: u64,
    pub blockers: Vec<Blocker>,
    /// Sessions that could not be moved at the last switch.
    #[serde(default)]
    pub error: String,
    /// The latest preparation (commit, phase one) of the attempt held for.
    #[serde(default)]
    pub prepare: Option<PrepareReport>,
    /// The lease ran out without word from the orchestrator: new transactions are held.
    #[serde(default)]
    pub fenced: bool,
    /// W3C `traceparent` of the proxy's latest cutover span (its pause, preparation or
    /// switch), so the orchestrator's spans can link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// A proxy's account of preparing its held sessions on the new source of truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareReport {
    pub attempt_id: u64,
    /// The order this preparation answers (`PrepareOrder::order`).
    pub order: u64,
    pub to: SourceOfTruth,
    /// True once every session's preparation ended (ready or failed).
    pub done: bool,
    /// Sessions logged in, with parameters and statements restored, on `to`.
    pub sessions: u64,
    /// Named prepared statements prepared again on `to`.
    pub statements: u64,
    pub failures: Vec<PrepareFailure>,
    /// How long the preparation took, once done.
    pub millis: Option<u64>,
}

/// What part of a session's preparation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepareStage {
    /// Connecting or logging in to the new database.
    Login,
    /// Re-applying the session parameters the client has seen.
    SessionParameters,
    /// Preparing one of the client's named statements again.
    PreparedStatement,
    /// Session state the server does not report: replaying `SET ROLE`, `SET SESSION
    /// AUTHORIZATION` or `LISTEN`, or state that cannot move (advisory locks, temporary
    /// tables).
    SessionState,
    /// The preparation did not finish in time.
    Timeout,
}

impl PrepareStage {
    pub fn as_str(self) -> &'static str {
        match self {
            PrepareStage::Login => "login",
            PrepareStage::SessionParameters => "session parameters",
            PrepareStage::PreparedStatement => "prepared statement",
            PrepareStage::SessionState => "session state",
            PrepareStage::Timeout => "timeout",
        }
    }
}

/// One session that could not be prepared. Never carries a secret; `statement` is the
/// statement's name and its text with literals replaced by `?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareFailure {
    pub connection_id: u64,
    pub role: String,
    pub database: String,
    pub stage: PrepareStage,
    #[serde(default)]
    pub statement: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PrepareFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "role {} database {} (connection {}): {}",
            self.role,
            self.database,
            self.connection_id,
            self.stage.as_str()
        )?;
        if let Some(s) = &self.statement {
            write!(f, " {s}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// `POST /api/v1/proxies/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The SQL address clients use; also the proxy's identity for `-l/--lms-addresses`.
    pub lms_address: String,
    /// Base URL of the proxy's admin API, e.g. `http://10.0.0.5:9044`.
    pub admin_url: String,
    pub version: String,
    pub source_dialect: Dialect,
    pub target_dialect: Dialect,
    pub shadow_mode: ShadowMode,
    pub source_address: String,
    pub target_address: String,
    /// The tag in the process ids of this proxy's cancel keys (see [`Peer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_tag: Option<u16>,
}

/// Another registered proxy, for passing on cancel requests: a client's CancelRequest
/// may reach any proxy behind a Service, and the key's tag says which one owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub lms_address: String,
    pub cancel_tag: Option<u16>,
}

/// `POST /api/v1/proxies/deregister`: a proxy leaving after its graceful shutdown drained
/// its sessions, so it is neither waited for nor counted as lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deregistration {
    pub lms_address: String,
    /// The key the registration's answer issued (see [`Directive::proxy_key`]).
    #[serde(default)]
    pub proxy_key: String,
}

/// Answer to a registration or heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directive {
    pub desired: DesiredState,
    pub heartbeat_interval_ms: u64,
    /// How long this answer stays good: a proxy that hears nothing from the orchestrator
    /// for this long holds new transactions until it does (0: no lease). The orchestrator
    /// leaves a proxy out of a cutover only once its lease has surely run out.
    #[serde(default)]
    pub lease_ms: u64,
    /// Issued by a registration's answer only: a random key the proxy presents with its
    /// heartbeats and deregistration, so that no other caller (another proxy included)
    /// can report or leave in its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_key: Option<String>,
    /// Every registered proxy's SQL address and cancel tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<Peer>,
}

/// Status of an attempt, and of each proxy within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CutoverStatus {
    BeginStarted,
    TrafficPaused,
    /// Commit, phase one: every proxy prepares its held sessions on the new source of
    /// truth. Not yet the point of no return: a failure returns to `TrafficPaused`.
    Preparing,
    /// A proxy's row only: its sessions are prepared and wait for the switch.
    Prepared,
    CommitStarted,
    CommitCompleted,
    AbortStarted,
    AbortCompleted,
    Error,
}

impl CutoverStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CutoverStatus::BeginStarted => "BeginStarted",
            CutoverStatus::TrafficPaused => "TrafficPaused",
            CutoverStatus::Preparing => "Preparing",
            CutoverStatus::Prepared => "Prepared",
            CutoverStatus::CommitStarted => "CommitStarted",
            CutoverStatus::CommitCompleted => "CommitCompleted",
            CutoverStatus::AbortStarted => "AbortStarted",
            CutoverStatus::AbortCompleted => "AbortCompleted",
            CutoverStatus::Error => "Error",
        }
    }

    /// True once the attempt can change no more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CutoverStatus::CommitCompleted | CutoverStatus::AbortCompleted
        )
    }
}

impl std::str::FromStr for CutoverStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use CutoverStatus::*;
        [
            BeginStarted,
            TrafficPaused,
            Preparing,
            Prepared,
            CommitStarted,
            CommitCompleted,
            AbortStarted,
            AbortCompleted,
            Error,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| format!("unknown cutover status {s}"))
    }
}

/// One proxy's row of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyAttempt {
    pub lms_address: String,
    pub source_of_truth: SourceOfTruth,
    pub status: CutoverStatus,
    pub trigger_time: String,
    pub traffic_paused_time: Option<String>,
    /// When this proxy reported its sessions prepared on the new source of truth.
    #[serde(default)]
    pub prepared_time: Option<String>,
    /// Commit or abort time.
    pub end_time: Option<String>,
    pub error: String,
    /// The proxy's latest preparation: sessions and statements prepared, failures, time.
    #[serde(default)]
    pub prepare: Option<PrepareReport>,
    /// Live, while the attempt is pausing.
    #[serde(default)]
    pub held: u64,
    #[serde(default)]
    pub connections: u64,
    #[serde(default)]
    pub blockers: Vec<Blocker>,
}

/// `GET /api/v1/cutover/{id}`: the summary and the per-proxy rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutoverAttempt {
    pub id: u64,
    /// The source of truth when the attempt began.
    pub from: SourceOfTruth,
    /// The source of truth a commit switches to.
    pub to: SourceOfTruth,
    /// The source of truth now (after a commit, `to`).
    pub source_of_truth: SourceOfTruth,
    pub source_of_truth_dialect: Dialect,
    pub status: CutoverStatus,
    pub trigger_time: String,
    pub traffic_paused_time: Option<String>,
    /// When the latest commit's preparation (phase one) started.
    #[serde(default)]
    pub prepare_started_time: Option<String>,
    pub end_time: Option<String>,
    pub error: String,
    pub begin_timeout_ms: Option<u64>,
    pub timeout_action: TimeoutAction,
    /// How long the replication gate took to see the target caught up, when a commit
    /// waited for it.
    #[serde(default)]
    pub replication_lag_ms: Option<u64>,
    /// The check that measured `replication_lag_ms`.
    #[serde(default)]
    pub replication_check: Option<ReplicationCheck>,
    /// The replication gate while a commit waits for it (live, not stored).
    #[serde(default)]
    pub replication_gate: Option<GateProgress>,
    pub proxies: Vec<ProxyAttempt>,
    /// W3C `traceparent` of the attempt's trace while it runs (traces on): a CLI that
    /// commits or aborts puts its own span in the same trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// `POST /api/v1/cutover/begin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BeginRequest {
    /// Restrict the cutover to these proxies (SQL addresses); empty means all live ones.
    #[serde(default)]
    pub lms_addresses: Vec<String>,
    pub begin_timeout_ms: Option<u64>,
    #[serde(default)]
    pub timeout_action: TimeoutAction,
    /// Begin without running the cutover check first.
    #[serde(default)]
    pub skip_check: bool,
    /// Refuse to begin unless a token written on the source of truth now reaches the other
    /// database within this long (replication lag, measured with traffic flowing), so the
    /// pause that follows is short.
    #[serde(default)]
    pub max_lag_ms: Option<u64>,
    /// The check `max_lag_ms` runs (the orchestrator's `--replication-check` when unset).
    #[serde(default)]
    pub replication_check: Option<ReplicationCheck>,
}

/// `POST /api/v1/cutover/commit` and `/abort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FinishRequest {
    /// Defaults to the attempt in progress.
    pub attempt_id: Option<u64>,
    /// How long to wait for every proxy to confirm.
    pub timeout_ms: Option<u64>,
    /// Commit only once the target has replicated a token written on the source now,
    /// waiting at most this long (the orchestrator's `--wait-for-replication` when unset).
    #[serde(default)]
    pub wait_for_replication_ms: Option<u64>,
    /// Commit without the replication gate, even if the orchestrator's default asks for it.
    #[serde(default)]
    pub force: bool,
    /// The check the gate runs (the orchestrator's `--replication-check` when unset).
    #[serde(default)]
    pub replication_check: Option<ReplicationCheck>,
}

/// Liveness of a registered proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    Live,
    Lost,
}

/// A registered proxy as the orchestrator's `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyEntry {
    pub registration: Registration,
    pub liveness: Liveness,
    pub last_seen_secs: f64,
    pub report: Option<ProxyReport>,
}

/// `GET /api/v1/status` of the orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrchestratorStatus {
    pub version: String,
    pub initialized: bool,
    pub source_dialect: Option<Dialect>,
    pub target_dialect: Option<Dialect>,
    pub source_of_truth: SourceOfTruth,
    pub epoch: u64,
    /// True while an attempt holds traffic.
    pub transitioning: bool,
    pub active_attempt: Option<u64>,
    /// The newest attempt this orchestrator knows, held or ended: where a dashboard
    /// opened after a cutover finds it.
    #[serde(default)]
    pub latest_attempt: Option<u64>,
    pub proxies: Vec<ProxyEntry>,
}

/// `POST /api/v1/proxies/heartbeat`: a proxy's periodic (and on-change) report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub lms_address: String,
    pub report: ProxyReport,
    /// The key this proxy's registration was issued.
    #[serde(default)]
    pub proxy_key: String,
}
