//! The errors a command ends with, and the exit code each maps to.

use crate::client::ClientError;

/// A command's failure. Every message is one line and carries no credentials.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag combination that clap cannot check, such as a client cert without its key.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The orchestrator answered, but the attempt ended in a state the command did not want.
    #[error("cutover attempt {id} failed: {reason}")]
    Attempt { id: u64, reason: String },
    /// `cutover check` found problems; they are printed above the error line.
    #[error(
        "the cutover check found {problems} problem{}: a commit would fail",
        if *problems == 1 { "" } else { "s" }
    )]
    CheckFailed { problems: usize },
    /// `verify` found differences; the report is printed above the error line.
    #[error(
        "verification {id} found differences in {tables} table{}",
        if *tables == 1 { "" } else { "s" }
    )]
    VerifyDifferences { id: u64, tables: usize },
    #[error("verification {id} failed: {reason}")]
    VerifyFailed { id: u64, reason: String },
    /// Ctrl-C stopped `cutover consistent begin`; exit 130 like a shell does for SIGINT.
    #[error("interrupted")]
    Interrupted,
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot encode the output as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl CliError {
    /// 130 for an interrupt (128 + SIGINT), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Interrupted => 130,
            _ => 1,
        }
    }
}
