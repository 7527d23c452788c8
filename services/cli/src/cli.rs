//! Command-line flags and subcommands. Names, short flags and environment variables
//! follow the reference `molt-lms-cli`, so its documented invocations work unchanged.

use crate::orchestrator_url::OrchestratorUrl;
use crate::CliError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use molt_lms_api::cutover::{ReplicationCheck, TimeoutAction};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "molt-lms-cli",
    version,
    about = "Inspect the molt-lms proxies and perform a consistent cutover through the orchestrator.",
    long_about = "Inspect the molt-lms proxies (LMS instances) and perform a consistent cutover \
                  through the molt-lms orchestrator.\n\n\
                  Every command talks to the orchestrator's REST API at --orchestrator-url. With \
                  TLS, use an https:// URL together with --tls-ca-cert and, for mutual TLS, \
                  --tls-client-cert and --tls-client-key. Exit status: 0 on success, 1 on any \
                  failure (with one `error:` line on stderr), 130 when Ctrl-C interrupted a \
                  cutover begin."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts, before or after its name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// URL of the orchestrator, e.g. https://orchestrator:4200. A value without a scheme
    /// (localhost:4200) means http://. Required by every command except `version`.
    // Kept as text, so a malformed URL with a password in it is never echoed back by clap.
    #[arg(
        long,
        env = "CLI_ORCHESTRATOR_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub orchestrator_url: Option<String>,

    /// PEM file with the CA certificate(s) that signed the orchestrator's certificate;
    /// replaces the system roots.
    #[arg(
        long,
        env = "CLI_TLS_CA_CERT",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub tls_ca_cert: Option<PathBuf>,

    /// PEM file with the client certificate for mutual TLS (needs --tls-client-key).
    #[arg(
        long,
        env = "CLI_TLS_CLIENT_CERT",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub tls_client_cert: Option<PathBuf>,

    /// PEM file with the private key of --tls-client-cert.
    #[arg(
        long,
        env = "CLI_TLS_CLIENT_KEY",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub tls_client_key: Option<PathBuf>,

    /// File holding the control-plane token the orchestrator requires (its
    /// --control-token-file), sent as `Authorization: Bearer`.
    #[arg(
        long,
        env = "CLI_CONTROL_TOKEN_FILE",
        global = true,
        value_name = "FILE",
        hide_env_values = true
    )]
    pub control_token_file: Option<PathBuf>,
}

impl GlobalArgs {
    /// The normalized orchestrator URL; clap cannot require a global flag itself.
    pub fn orchestrator_url(&self) -> Result<OrchestratorUrl, CliError> {
        let raw = self.orchestrator_url.as_deref().ok_or_else(|| {
            CliError::Usage("--orchestrator-url (or CLI_ORCHESTRATOR_URL) is required".to_owned())
        })?;
        OrchestratorUrl::parse(raw).map_err(CliError::Usage)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the orchestrator's metadata tables (run once, before the first cutover).
    Initialize(OutputArgs),
    /// Display the current configuration of the LMS instances: dialects, shadow mode,
    /// database addresses, source of truth, liveness and errors.
    Status(ListArgs),
    /// Inspect client connections to the LMS instances.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Compare the answers of the shadow database with the source of truth's, for the
    /// statements the LMS instances mirror to it (--shadow-mode).
    #[command(subcommand)]
    Shadow(ShadowCommand),
    /// Copy the password verifiers of the source database's login roles to the target,
    /// so every client can be logged in to the target at cutover.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Perform a consistent cutover, check that one would succeed, or inspect a past
    /// cutover attempt.
    #[command(subcommand)]
    Cutover(CutoverCommand),
    /// Compare the source and target databases table by table: tables missing on either
    /// side, row counts, and contents by primary-key ranges down to the differing rows.
    /// Runs as a job on the orchestrator (it needs the orchestrator's SOURCE_URL and
    /// survives its restarts); this command starts one and follows it. Exit status 1 when
    /// differences are found or the run failed.
    Verify(VerifyArgs),
    /// Print the CLI version and warn when the orchestrator runs a different one.
    Version(OutputArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// List all client connections to the LMS and their most recent queries.
    List(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum ShadowCommand {
    /// Show, per statement fingerprint, how the shadow database's answers compared with
    /// the source of truth's.
    ///
    /// Each fingerprint (the statement with its literals replaced by `?`) gets a verdict:
    /// safe, benign differences only, DIFFERS, FAILS ON SHADOW, or unverified (never
    /// compared). Then come its requests per outcome and its latest samples that differed,
    /// with both databases' values. Only --shadow-mode sync and strict-sync compare
    /// results; async mirrors statements without comparing them.
    Report(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Copy the stored password verifiers of the source's login roles to the target.
    ///
    /// The LMS instances log clients in to the database with a key derived from the role's
    /// stored password verifier, so a commit can log a client in to the target only when
    /// the target stores the same verifier as the source. This command copies the
    /// SCRAM-SHA-256 or md5 verifier (pg_authid.rolpassword, never a cleartext password) of
    /// every login role of the source, or only of the roles given with --role, through one
    /// LMS instance's service sessions: a role missing on the target is created with LOGIN
    /// and nothing else, a role with another or no verifier gets the source's. Roles whose
    /// name starts with pg_ are left out; superusers (unless named with --role), roles
    /// without a SCRAM-SHA-256 or md5 verifier and the service users of INIT_SOURCE and
    /// INIT_TARGET are skipped, with the reason shown.
    ///
    /// No verifier is ever printed, logged or returned: the output lists only role names,
    /// what was done and why. The target's service user needs CREATEROLE (admin on
    /// CockroachDB).
    Sync(RolesSyncArgs),
}

#[derive(Debug, Args)]
pub struct RolesSyncArgs {
    /// Show what would be created or updated, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Only this role (repeat for more). A role that is not a login role on the source is
    /// an error, and then nothing is changed. Default: every login role of the source.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum CutoverCommand {
    /// Consistent cutover: `begin` pauses traffic, then `commit` switches the source of
    /// truth to the target (or `abort` resumes on the unchanged source of truth).
    #[command(subcommand)]
    Consistent(ConsistentCommand),
    /// Check, without pausing traffic, that a commit could log every client session in to
    /// the database it switches to and prepare every named statement there.
    ///
    /// Each LMS instance checks, for every role with sessions, that the database a commit
    /// switches to stores the same password verifier as the current source of truth and
    /// accepts a login, and prepares the clients' named statements there. Exits with
    /// status 1 when a role or statement would fail or an LMS instance did not answer.
    /// `cutover consistent begin` runs this check first (see its --skip-check).
    Check(ListArgs),
    /// Display the metadata of a cutover attempt, e.g. `cutover get_metadata -i 1`.
    #[command(name = "get_metadata")]
    GetMetadata(MetadataArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConsistentCommand {
    /// Begin a consistent cutover: pause traffic once every connection is free of
    /// transactions and queries, showing what still blocks the pause. Ctrl-C before the
    /// pause completes aborts the attempt and resumes traffic.
    ///
    /// Every live LMS instance takes part (the source of truth is one for all of them):
    /// a -l list that leaves a live instance out is refused. An instance that stopped
    /// sending heartbeats is left out once its lease has run out (it then holds its
    /// traffic itself); until then begin is refused.
    Begin(BeginArgs),
    /// Commit the paused cutover: traffic resumes on the target database, which becomes
    /// the source of truth. Only effective after `cutover consistent begin`.
    ///
    /// With --wait-for-replication the orchestrator first writes a token on the source
    /// and commits only once the target shows it (or, with --replication-check lsn, once
    /// the source's replication slots confirmed its WAL position), so nothing acknowledged
    /// before the pause is missing there; if replication does not catch up in time the
    /// commit is refused and traffic stays paused (then: fix replication and commit again,
    /// abort, or --force).
    Commit(CommitArgs),
    /// Abort the cutover after `begin` (not after `commit`): traffic resumes on the
    /// unchanged source of truth.
    Abort(FinishArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifyArgs {
    #[command(subcommand)]
    pub command: Option<VerifyCommand>,
    /// Tables to compare, as NAME or SCHEMA.NAME, comma-separated or repeated. Default:
    /// every table of the source and the target.
    #[arg(long = "table", value_delimiter = ',', value_name = "TABLES")]
    pub tables: Vec<String>,
    /// Read at most this many rows per second from each database, to spare a busy
    /// source. Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_per_second: Option<u64>,
    /// Rows per primary-key range: each range is read from both databases, checksummed,
    /// and compared row by row only when the checksums differ. Default 5000.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_rows: Option<u64>,
    /// The databases are live (replication running): re-read differing rows three times,
    /// 0.5 s, 1 s and 2 s apart, and report only rows that still differ.
    #[arg(long)]
    pub live: bool,
    /// Print the run's id and return without following it.
    #[arg(long)]
    pub detach: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Show a verification run (default: the newest), following it while it runs.
    Status(VerifyStatusArgs),
}

#[derive(Debug, Args)]
pub struct VerifyStatusArgs {
    /// The run's id, as `verify` printed it. Default: the newest run.
    #[arg(value_name = "ID")]
    pub id: Option<u64>,
    /// Show the run as it stands now instead of following it to its end.
    #[arg(long)]
    pub no_follow: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    /// Human-readable tables, each followed by a caption line.
    Table,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Format of the output: table or json.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputType::Table)]
    pub output_type: OutputType,
}

#[derive(Debug, Args)]
pub struct LmsArgs {
    /// LMS instances to run the command against, as a comma-separated list of SQL
    /// addresses (e.g. demo-lms-1:9043,demo-lms-2:9043). Default: all of them.
    #[arg(short = 'l', long, value_delimiter = ',', value_name = "ADDRESSES")]
    pub lms_addresses: Vec<String>,
}

impl LmsArgs {
    /// The addresses without blanks, so `-l "a, b,"` means `a` and `b`.
    pub fn addresses(&self) -> Vec<String> {
        self.lms_addresses
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub lms: LmsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What to do when `--begin-timeout` expires; mirrors [`TimeoutAction`] for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BeginTimeoutAction {
    /// Resume traffic on the unchanged source of truth and fail the begin.
    Abort,
    /// End the sessions that block the pause, with an error to their clients.
    Terminate,
}

impl From<BeginTimeoutAction> for TimeoutAction {
    fn from(a: BeginTimeoutAction) -> Self {
        match a {
            BeginTimeoutAction::Abort => TimeoutAction::Abort,
            BeginTimeoutAction::Terminate => TimeoutAction::Terminate,
        }
    }
}

#[derive(Debug, Args)]
pub struct BeginArgs {
    /// Maximum time to wait for every connection to be free of transactions and queries
    /// (e.g. 30s, 2m); about the length of the longest transaction. Default: no limit.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub begin_timeout: Option<Duration>,

    /// What happens when --begin-timeout expires.
    #[arg(long, value_enum, value_name = "ACTION", default_value_t = BeginTimeoutAction::Abort)]
    pub begin_timeout_action: BeginTimeoutAction,

    /// After Ctrl-C, how long the orchestrator waits for every LMS instance to confirm
    /// the abort (and how long this command waits for its answer).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "2s")]
    pub abort_begin_timeout: Duration,

    /// Begin without running `cutover check` first. By default begin refuses to pause
    /// traffic when the check finds that a commit would fail.
    #[arg(long)]
    pub skip_check: bool,

    /// Refuse to begin unless replication is at most this far behind: the orchestrator
    /// writes a token on the source and waits this long for it on the target (or, with
    /// --replication-check lsn, for the source's replication slots to confirm its WAL
    /// position), before any traffic is paused (needs SOURCE_URL in the orchestrator's
    /// config).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_lag: Option<Duration>,

    /// How --max-lag measures the lag (default: the orchestrator's --replication-check).
    #[arg(long, value_enum, value_name = "CHECK", requires = "max_lag")]
    pub replication_check: Option<CheckArg>,

    #[command(flatten)]
    pub lms: LmsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// ID of the cutover attempt. Default: the attempt in progress.
    #[arg(short = 'i', long, value_name = "ID")]
    pub cutover_id: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    #[command(flatten)]
    pub finish: FinishArgs,
    /// Wait at most TIMEOUT (default 60s when given without a value) for the target to
    /// catch up with the source after the pause (the replication gate; see
    /// --replication-check), printing the wait every second. Needs SOURCE_URL in the
    /// orchestrator's config; the orchestrator's --wait-for-replication makes it the
    /// default.
    #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "60s", value_parser = humantime::parse_duration)]
    pub wait_for_replication: Option<Duration>,
    /// Commit without waiting for replication, even when the orchestrator waits by
    /// default. Only when you have checked the target yourself.
    #[arg(long, conflicts_with = "wait_for_replication")]
    pub force: bool,
    /// How the gate tells that the target caught up (default: the orchestrator's
    /// --replication-check): `token` waits for a token written into the sentinel table on
    /// the source to reach the target; `lsn` waits until the source's logical replication
    /// slots confirmed its WAL position (PostgreSQL subscriptions; writes nothing).
    #[arg(long, value_enum, value_name = "CHECK", conflicts_with = "force")]
    pub replication_check: Option<CheckArg>,
}

/// The replication gate's check; mirrors [`ReplicationCheck`] for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckArg {
    /// A token written on the source, awaited on the target.
    Token,
    /// The source's WAL position, awaited in its replication slots.
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

#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// ID of the cutover attempt, as printed by `cutover consistent begin`.
    #[arg(short = 'i', long, value_name = "ID")]
    pub cutover_id: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[cfg(test)]
mod tests;
