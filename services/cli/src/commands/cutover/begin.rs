//! `cutover consistent begin`: start an attempt, follow it until traffic is paused,
//! and abort it when Ctrl-C comes first.

use super::progress::Progress;
use super::{failure, print_finished};
use crate::cli::{BeginArgs, OutputType};
use crate::client::{Client, ClientError};
use crate::output::{json, one_line, print, EndKind};
use crate::CliError;
use molt_lms_api::cutover::{BeginRequest, CutoverAttempt, CutoverStatus, FinishRequest};
use std::time::{Duration, Instant};

const POLL_INTERVAL: Duration = Duration::from_millis(300);
/// Polls that may fail in a row (about 5 s) before the command gives up on the orchestrator.
const MAX_POLL_FAILURES: u32 = 16;
/// Added to --abort-begin-timeout for the HTTP round trip around the orchestrator's wait.
const ABORT_SLACK: Duration = Duration::from_secs(1);

pub async fn run(client: &Client, args: &BeginArgs) -> Result<(), CliError> {
    let req = BeginRequest {
        lms_addresses: args.lms.addresses(),
        begin_timeout_ms: args.begin_timeout.map(millis),
        timeout_action: args.begin_timeout_action.into(),
        skip_check: args.skip_check,
        max_lag_ms: args.max_lag.map(millis),
        replication_check: args.replication_check.map(Into::into),
    };
    if args.skip_check {
        eprintln!("Pausing traffic, press Ctrl-C to exit cutover and resume the traffic.");
    } else {
        eprintln!(
            "Running the cutover check, then pausing traffic if it passes (--skip-check skips \
             it); press Ctrl-C to exit cutover and resume the traffic."
        );
    }
    // Created once, so the handler is installed before the begin request is sent.
    let interrupt = interrupted();
    tokio::pin!(interrupt);
    let started = tokio::select! {
        answer = client.begin(&req) => answer?,
        () = &mut interrupt => return abort_after_interrupt(client, None, args).await,
    };
    let id = started.id;
    let paused = tokio::select! {
        result = wait_for_pause(client, started) => result?,
        () = &mut interrupt => return abort_after_interrupt(client, Some(id), args).await,
    };
    let text = match args.output.output_type {
        OutputType::Table => format!(
            "Successfully began consistent cutover with ID {id}.\n\n\
             To check the status of this command, please run:\n\
             molt-lms-cli cutover get_metadata -i {id}\n"
        ),
        OutputType::Json => json(&paused)?,
    };
    print(&text)?;
    Ok(())
}

/// Resolves on Ctrl-C; never, if the handler cannot be installed (then Ctrl-C kills us).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Polls the attempt until every proxy paused, showing progress on stderr.
/// Cancel safe: dropping it mid-poll leaves nothing half done.
async fn wait_for_pause(
    client: &Client,
    mut attempt: CutoverAttempt,
) -> Result<CutoverAttempt, CliError> {
    let mut progress = Progress::default();
    let mut failures = 0;
    loop {
        match attempt.status {
            CutoverStatus::BeginStarted => {}
            // Someone may commit as soon as the pause completes; the begin still succeeded.
            CutoverStatus::TrafficPaused
            | CutoverStatus::Preparing
            | CutoverStatus::Prepared
            | CutoverStatus::CommitStarted
            | CutoverStatus::CommitCompleted => return Ok(attempt),
            CutoverStatus::AbortStarted | CutoverStatus::AbortCompleted | CutoverStatus::Error => {
                return Err(failure(&attempt))
            }
        }
        if let Some(block) = progress.update(&attempt, Instant::now()) {
            eprint!("{block}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
        match client.attempt(attempt.id).await {
            Ok(next) => {
                attempt = next;
                failures = 0;
            }
            Err(e) if e.is_retryable() && failures < MAX_POLL_FAILURES => failures += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Asks the orchestrator to resume traffic, reports how that went, and ends the command
/// with [`CliError::Interrupted`] either way.
async fn abort_after_interrupt(
    client: &Client,
    id: Option<u64>,
    args: &BeginArgs,
) -> Result<(), CliError> {
    match id {
        Some(id) => eprintln!("Aborting cutover {id}…"),
        None => eprintln!("Aborting the cutover in progress…"),
    }
    let req = FinishRequest {
        attempt_id: id,
        timeout_ms: Some(millis(args.abort_begin_timeout)),
        ..FinishRequest::default()
    };
    let limit = args.abort_begin_timeout + ABORT_SLACK;
    match client.abort(&req, Some(limit)).await {
        Ok(attempt) => {
            report_abort(&attempt, args.abort_begin_timeout);
            print_finished(&attempt, EndKind::Abort, args.output.output_type)?;
        }
        Err(ClientError::Api { body, .. }) if id.is_none() && body.code == "no_attempt" => {
            eprintln!("No cutover was in progress; traffic was not paused.");
        }
        Err(e) => {
            let retry = id.map(|i| format!(" -i {i}")).unwrap_or_default();
            eprintln!(
                "error: the abort did not complete: {e}; retry with \
                 `molt-lms-cli cutover consistent abort{retry}`"
            );
        }
    }
    Err(CliError::Interrupted)
}

/// One line on how the abort ended. The orchestrator answers when every proxy confirmed
/// or its wait ran out, so an unfinished abort is reported, not treated as a failure.
fn report_abort(attempt: &CutoverAttempt, waited: Duration) {
    let id = attempt.id;
    let error = one_line(&attempt.error);
    let error = if error.is_empty() {
        String::new()
    } else {
        format!(": {error}")
    };
    match attempt.status {
        CutoverStatus::AbortCompleted => eprintln!(
            "Aborted cutover {id}; traffic resumed on {}.",
            attempt.source_of_truth_dialect.display_name()
        ),
        CutoverStatus::AbortStarted => eprintln!(
            "Cutover {id} is still aborting: not every LMS instance confirmed within {}{error}",
            humantime::format_duration(waited)
        ),
        status => eprintln!("Cutover {id} is {} after the abort{error}", status.as_str()),
    }
}

/// Milliseconds for the API, saturating instead of wrapping for absurd durations.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
