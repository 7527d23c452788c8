//! `verify` starts a verification run on the orchestrator and follows it; `verify status`
//! shows one. Progress goes to stderr, the report to stdout.

use crate::cli::{OutputType, VerifyArgs, VerifyCommand};
use crate::client::Client;
use crate::output::{json, print, verify_progress, verify_table};
use crate::CliError;
use molt_lms_api::verify::{VerifyRequest, VerifyRun, VerifyStatus};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(500);
/// Progress lines at most this often, so a fast run does not flood the terminal.
const PRINT_EVERY: Duration = Duration::from_secs(2);
/// How long an unreachable orchestrator is waited for before giving up on following.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

pub async fn run(client: &Client, args: &VerifyArgs) -> Result<(), CliError> {
    let (run, follow, output) = match &args.command {
        Some(VerifyCommand::Status(s)) => {
            let run = match s.id {
                Some(id) => client.verify_run(id).await?,
                None => client
                    .verify_runs()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| CliError::Usage("no verification has run yet".into()))?,
            };
            (run, !s.no_follow, s.output.output_type)
        }
        None => {
            let req = VerifyRequest {
                tables: args.tables.clone(),
                rows_per_second: args.rows_per_second,
                batch_rows: args.batch_rows,
                live: args.live,
            };
            let run = client.verify_start(&req).await?;
            eprintln!(
                "verification {} started; follow it with `molt-lms-cli verify status {}`",
                run.id, run.id
            );
            (run, !args.detach, args.output.output_type)
        }
    };
    let run = if follow {
        follow_run(client, run).await?
    } else {
        run
    };
    let text = match output {
        OutputType::Table => verify_table(&run),
        OutputType::Json => json(&run)?,
    };
    print(&text)?;
    match run.status {
        VerifyStatus::Differences => Err(CliError::VerifyDifferences {
            id: run.id,
            tables: run.differing_tables(),
        }),
        VerifyStatus::Failed => Err(CliError::VerifyFailed {
            id: run.id,
            reason: run.error.clone(),
        }),
        VerifyStatus::Matched | VerifyStatus::Running => Ok(()),
    }
}

/// Polls until the run ends, printing its progress now and then. A dropped request
/// (the orchestrator restarting) is retried: the run resumes there.
async fn follow_run(client: &Client, mut run: VerifyRun) -> Result<VerifyRun, CliError> {
    let mut last: Option<(Instant, String)> = None;
    let mut failing_since: Option<Instant> = None;
    while run.status == VerifyStatus::Running {
        let line = verify_progress(&run);
        let due = last
            .as_ref()
            .is_none_or(|(t, l)| *l != line && t.elapsed() >= PRINT_EVERY);
        if due {
            eprintln!("{line}");
            last = Some((Instant::now(), line));
        }
        tokio::time::sleep(POLL).await;
        match client.verify_run(run.id).await {
            Ok(r) => {
                run = r;
                failing_since = None;
            }
            Err(e) if e.is_retryable() => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= GIVE_UP_AFTER {
                    return Err(e.into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(run)
}
