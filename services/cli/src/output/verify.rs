//! `verify`: a table per compared table, the differing rows, and a verdict caption; and
//! the one-line progress shown on stderr while a run goes on.

use super::{table, truncate};
use molt_lms_api::verify::{RowDiffKind, TableStatus, VerifyRun, VerifyStatus};

/// Longest value shown in a cell; JSON carries values whole.
const VALUE_CHARS: usize = 60;

fn status_name(s: TableStatus) -> &'static str {
    match s {
        TableStatus::Pending => "pending",
        TableStatus::Running => "running",
        TableStatus::Matched => "matched",
        TableStatus::Differences => "differences",
        TableStatus::MissingOnTarget => "missing on target",
        TableStatus::ExtraOnTarget => "extra on target",
        TableStatus::NoPrimaryKey => "no primary key (counts only)",
        TableStatus::Failed => "failed",
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn value(v: &Option<String>) -> String {
    v.as_deref()
        .map_or_else(|| "NULL".to_owned(), |v| truncate(v, VALUE_CHARS))
}

/// Whole seconds, or minutes and seconds past a minute.
fn seconds(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One line for stderr: tables done, rows checked, rate and ETA.
pub fn verify_progress(run: &VerifyRun) -> String {
    let mut line = format!(
        "verification {}: {}/{} tables, {} rows checked",
        run.id, run.tables_done, run.tables_total, run.rows_checked
    );
    if run.rows_per_second > 0.0 {
        line.push_str(&format!(", {:.0} rows/s", run.rows_per_second));
    }
    if let Some(eta) = run.eta_seconds {
        line.push_str(&format!(", about {} left", seconds(eta)));
    }
    if run.resumes > 0 {
        line.push_str(&format!(" (resumed {}×)", run.resumes));
    }
    line
}

/// The whole report as text, ending with the verdict line.
pub fn verify_table(run: &VerifyRun) -> String {
    let rows = run.tables.iter().map(|t| {
        vec![
            t.source_table.clone(),
            status_name(t.status).to_owned(),
            opt(t.source_rows),
            opt(t.target_rows),
            t.delta.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            t.rows_checked.to_string(),
            t.mismatched.to_string(),
            t.missing.to_string(),
            t.extra.to_string(),
            truncate(&t.error, VALUE_CHARS),
        ]
    });
    let headers = [
        "TABLE",
        "STATUS",
        "SOURCE ROWS",
        "TARGET ROWS",
        "DELTA",
        "ROWS CHECKED",
        "MISMATCHED",
        "MISSING",
        "EXTRA",
        "NOTE",
    ];
    let mut out = table(&headers, rows).to_string();
    out.push('\n');
    let diffs: Vec<Vec<String>> = run
        .tables
        .iter()
        .flat_map(|t| {
            t.rows.iter().flat_map(move |d| {
                let key = d
                    .key
                    .iter()
                    .map(|(c, v)| format!("{c}={}", value(v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let kind = match d.kind {
                    RowDiffKind::Missing => "missing on target",
                    RowDiffKind::Extra => "extra on target",
                    RowDiffKind::Mismatched => "mismatched",
                };
                let base = vec![t.source_table.clone(), kind.to_owned(), key];
                if d.columns.is_empty() {
                    vec![[base, vec![String::new(); 3]].concat()]
                } else {
                    d.columns
                        .iter()
                        .map(|c| {
                            [
                                base.clone(),
                                vec![c.column.clone(), value(&c.source), value(&c.target)],
                            ]
                            .concat()
                        })
                        .collect()
                }
            })
        })
        .collect();
    if !diffs.is_empty() {
        let headers = ["TABLE", "ROW", "KEY", "COLUMN", "SOURCE", "TARGET"];
        out.push('\n');
        out.push_str(&table(&headers, diffs).to_string());
        out.push('\n');
        out.push_str("(at most 100 rows listed per table; the counts above are complete)\n");
    }
    out.push_str(&verdict(run));
    out.push('\n');
    out
}

fn verdict(run: &VerifyRun) -> String {
    let rate = if run.rows_per_second > 0.0 {
        format!(" at {:.0} rows/s", run.rows_per_second)
    } else {
        String::new()
    };
    match run.status {
        VerifyStatus::Running => verify_progress(run),
        VerifyStatus::Matched => format!(
            "verification {}: {} tables match ({} rows compared{rate})",
            run.id, run.tables_total, run.rows_checked
        ),
        VerifyStatus::Differences => format!(
            "verification {}: {} of {} tables differ ({} rows compared{rate})",
            run.id,
            run.differing_tables(),
            run.tables_total,
            run.rows_checked
        ),
        VerifyStatus::Failed => format!("verification {} failed: {}", run.id, run.error),
    }
}
