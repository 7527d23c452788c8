//! `cutover consistent begin|commit|abort`, `cutover check` and `cutover get_metadata`.

mod begin;
mod check;
mod progress;

use crate::cli::{ConsistentCommand, CutoverCommand, FinishArgs, OutputType};
use crate::client::Client;
use crate::output::{attempt_metadata, attempt_proxies, json, one_line, print, EndKind};
use crate::CliError;
use molt_lms_api::cutover::{CutoverAttempt, CutoverStatus, FinishRequest};

pub async fn run(client: &Client, cmd: &CutoverCommand) -> Result<(), CliError> {
    match cmd {
        CutoverCommand::Check(args) => check::run(client, args).await,
        CutoverCommand::GetMetadata(args) => {
            let attempt = client.attempt(args.cutover_id).await?;
            let text = match args.output.output_type {
                OutputType::Table => attempt_metadata(&attempt),
                OutputType::Json => json(&attempt)?,
            };
            print(&text)?;
            Ok(())
        }
        CutoverCommand::Consistent(ConsistentCommand::Begin(args)) => {
            begin::run(client, args).await
        }
        CutoverCommand::Consistent(ConsistentCommand::Commit(args)) => {
            finish(client, args, EndKind::Commit).await
        }
        CutoverCommand::Consistent(ConsistentCommand::Abort(args)) => {
            finish(client, args, EndKind::Abort).await
        }
    }
}

/// Commit or abort; the orchestrator answers once every proxy confirmed (or failed to).
async fn finish(client: &Client, args: &FinishArgs, end: EndKind) -> Result<(), CliError> {
    let req = FinishRequest {
        attempt_id: args.cutover_id,
        timeout_ms: None,
    };
    let attempt = match end {
        EndKind::Commit => client.commit(&req).await?,
        EndKind::Abort => client.abort(&req, None).await?,
    };
    print_finished(&attempt, end, args.output.output_type)?;
    if attempt.status == CutoverStatus::Error {
        return Err(failure(&attempt));
    }
    Ok(())
}

/// The per-LMS table (or the attempt as JSON) after a commit or abort.
fn print_finished(
    attempt: &CutoverAttempt,
    end: EndKind,
    output: OutputType,
) -> Result<(), CliError> {
    let text = match output {
        OutputType::Table => attempt_proxies(attempt, end),
        OutputType::Json => json(attempt)?,
    };
    print(&text)?;
    Ok(())
}

/// The attempt's own error, which names the blocking connections after a begin timeout.
fn failure(attempt: &CutoverAttempt) -> CliError {
    let reason = if attempt.error.trim().is_empty() {
        format!("the attempt ended with status {}", attempt.status.as_str())
    } else {
        one_line(&attempt.error)
    };
    CliError::Attempt {
        id: attempt.id,
        reason,
    }
}
