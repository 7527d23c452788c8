//! `cutover consistent begin|commit|abort`, `cutover check` and `cutover get_metadata`.

mod begin;
mod check;
mod gate;
mod progress;

use crate::cli::{CommitArgs, ConsistentCommand, CutoverCommand, FinishArgs, OutputType};
use crate::client::Client;
use crate::output::{attempt_metadata, attempt_proxies, json, one_line, print, EndKind};
use crate::CliError;
use molt_lms_api::cutover::{CutoverAttempt, CutoverStatus, FinishRequest, ReplicationCheck};
use std::time::Duration;

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
        CutoverCommand::Consistent(ConsistentCommand::Commit(args)) => commit(client, args).await,
        CutoverCommand::Consistent(ConsistentCommand::Abort(args)) => {
            finish(client, args, EndKind::Abort).await
        }
    }
}

/// Commit or abort; the orchestrator answers once every proxy confirmed (or failed to).
async fn commit(client: &Client, args: &CommitArgs) -> Result<(), CliError> {
    let req = FinishRequest {
        attempt_id: args.finish.cutover_id,
        wait_for_replication_ms: args.wait_for_replication.map(|d| d.as_millis() as u64),
        force: args.force,
        replication_check: args.replication_check.map(Into::into),
        ..FinishRequest::default()
    };
    if let Some(d) = args.wait_for_replication {
        eprintln!(
            "waiting up to {} for replication to catch up, then committing",
            humantime::format_duration(d)
        );
    }
    let commit = client.commit(&req, args.wait_for_replication.unwrap_or_default());
    // The orchestrator may run the gate by default: follow it unless forced past it.
    let attempt = if args.force {
        commit.await?
    } else {
        tokio::select! {
            answer = commit => answer?,
            never = gate::show_progress(client, args.finish.cutover_id) => match never {},
        }
    };
    if let Some(ms) = attempt.replication_lag_ms {
        eprintln!("replication caught up: {}", caught_up(&attempt, ms));
    }
    print_finished(&attempt, EndKind::Commit, args.finish.output.output_type)?;
    if attempt.status == CutoverStatus::Error {
        return Err(failure(&attempt));
    }
    Ok(())
}

/// How the gate saw replication catch up, in `ms`.
fn caught_up(attempt: &CutoverAttempt, ms: u64) -> String {
    match attempt.replication_check {
        Some(ReplicationCheck::Lsn) => {
            format!("the replication slots confirmed the WAL position in {ms} ms (lsn check)")
        }
        _ => format!("the token reached the target in {ms} ms"),
    }
}

async fn finish(client: &Client, args: &FinishArgs, end: EndKind) -> Result<(), CliError> {
    let req = FinishRequest {
        attempt_id: args.cutover_id,
        ..FinishRequest::default()
    };
    let attempt = match end {
        EndKind::Commit => client.commit(&req, Duration::ZERO).await?,
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
