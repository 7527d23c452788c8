//! Cutover attempt tables: the summary of `get_metadata` and the per-LMS table that
//! `commit`, `abort` and `get_metadata` share.

use super::{captioned, table, Dialects};
use molt_lms_api::cutover::{
    CutoverAttempt, CutoverStatus, GateProgress, PrepareReport, ReplicationCheck,
};

/// Which end an attempt's `end_time` records; it names the last time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    Commit,
    Abort,
}

impl EndKind {
    /// An aborting or aborted attempt ended by abort; any other by commit (or not yet).
    pub fn of(attempt: &CutoverAttempt) -> Self {
        match attempt.status {
            CutoverStatus::AbortStarted | CutoverStatus::AbortCompleted => EndKind::Abort,
            _ => EndKind::Commit,
        }
    }

    fn header(self) -> &'static str {
        match self {
            EndKind::Commit => "COMMIT TIME",
            EndKind::Abort => "ABORT TIME",
        }
    }
}

/// The attempt only knows the dialect of its current source of truth.
fn dialects(attempt: &CutoverAttempt) -> Dialects {
    let mut d = Dialects::default();
    match attempt.source_of_truth {
        molt_lms_api::SourceOfTruth::Source => d.source = Some(attempt.source_of_truth_dialect),
        molt_lms_api::SourceOfTruth::Target => d.target = Some(attempt.source_of_truth_dialect),
    }
    d
}

fn time_cell(t: &Option<String>) -> String {
    t.clone().unwrap_or_default()
}

/// A proxy's preparation (commit, phase one) in one cell: what it prepared, in how
/// long, and how many sessions failed.
fn prepare_cell(p: &Option<PrepareReport>) -> String {
    let Some(p) = p else {
        return String::new();
    };
    let mut cell = format!("{} sessions, {} statements", p.sessions, p.statements);
    match p.millis {
        Some(ms) => cell.push_str(&format!(" in {ms} ms")),
        None => cell.push_str(" so far"),
    }
    if !p.failures.is_empty() {
        cell.push_str(&format!("; {} FAILED", p.failures.len()));
    }
    cell
}

/// "LMS-Specific Consistent Cutover Metadata.": one row per proxy in the attempt, then
/// each session that could not be prepared.
pub fn attempt_proxies(attempt: &CutoverAttempt, end: EndKind) -> String {
    let dialects = dialects(attempt);
    let rows = attempt.proxies.iter().map(|p| {
        vec![
            p.lms_address.clone(),
            dialects.name(p.source_of_truth),
            p.status.as_str().to_owned(),
            p.trigger_time.clone(),
            time_cell(&p.traffic_paused_time),
            time_cell(&p.prepared_time),
            prepare_cell(&p.prepare),
            time_cell(&p.end_time),
            p.error.clone(),
        ]
    });
    let t = table(
        &[
            "LMS ADDRESS",
            "SOURCE OF TRUTH",
            "STATUS",
            "TRIGGER TIME",
            "TRAFFIC PAUSED TIME",
            "PREPARED TIME",
            "PREPARED",
            end.header(),
            "ERROR",
        ],
        rows,
    );
    let mut out = captioned(&t, "LMS-Specific Consistent Cutover Metadata.");
    let failures: Vec<String> = attempt
        .proxies
        .iter()
        .flat_map(|p| {
            p.prepare
                .iter()
                .flat_map(|r| r.failures.iter())
                .map(move |f| format!("  {}: {f}", p.lms_address))
        })
        .collect();
    if !failures.is_empty() {
        out.push_str("Sessions that could not be prepared on the new source of truth:\n");
        out.push_str(&failures.join("\n"));
        out.push('\n');
    }
    out
}

/// A replication gate that waits now: the check, time waited of the most, polls so far.
pub fn gate_waiting(g: &GateProgress) -> String {
    format!(
        "waiting for replication ({} check): {:.1}s of {}, {} polls",
        g.check.as_str(),
        g.elapsed_ms as f64 / 1000.0,
        humantime::format_duration(std::time::Duration::from_millis(g.timeout_ms)),
        g.polls
    )
}

/// `cutover get_metadata`: a heading, the summary table, then the per-LMS table.
pub fn attempt_metadata(attempt: &CutoverAttempt) -> String {
    let end = EndKind::of(attempt);
    let summary = table(
        &[
            "SOURCE OF TRUTH",
            "STATUS",
            "TRIGGER TIME",
            "TRAFFIC PAUSED TIME",
            end.header(),
            "ERROR",
        ],
        [vec![
            attempt.source_of_truth_dialect.display_name().to_owned(),
            attempt.status.as_str().to_owned(),
            attempt.trigger_time.clone(),
            time_cell(&attempt.traffic_paused_time),
            time_cell(&attempt.end_time),
            attempt.error.clone(),
        ]],
    );
    let gate = attempt
        .replication_lag_ms
        .map(|ms| match attempt.replication_check {
            Some(ReplicationCheck::Lsn) => format!(
                "Replication caught up {ms} ms after the gate read the WAL position (lsn check).\n"
            ),
            _ => format!("Replication caught up {ms} ms after the gate's token was written.\n"),
        })
        .unwrap_or_default();
    let waiting = attempt
        .replication_gate
        .map(|g| format!("The commit is {}.\n", gate_waiting(&g)))
        .unwrap_or_default();
    format!("cutover metadata for attempt id {}:\n", attempt.id)
        + &captioned(&summary, "Summarized Consistent Cutover Metadata.")
        + &gate
        + &waiting
        + &attempt_proxies(attempt, end)
}

#[cfg(test)]
mod tests;
