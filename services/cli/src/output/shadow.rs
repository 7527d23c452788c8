//! `shadow report`: a summary, one row per statement fingerprint, then the samples of
//! each fingerprint that has any.

use super::{captioned, one_line, shadow_mode_name, table, truncate};
use comfy_table::CellAlignment;
use molt_lms_api::shadow::{FingerprintReport, ShadowOutcome, ShadowReport, ShadowSample, Verdict};
use std::time::{Duration, UNIX_EPOCH};

/// Longest fingerprint shown in the table; JSON always carries the whole text.
const FINGERPRINT_CELL_CHARS: usize = 80;
/// Longest query or value shown in a sample; enough for a row, short enough for a terminal.
const SAMPLE_VALUE_CHARS: usize = 200;

/// The columns that hold counts, aligned right so the digits line up.
const COUNT_COLUMNS: std::ops::Range<usize> = 1..7;

/// The whole report as text; an empty one says why it is empty.
pub fn shadow_table(report: &ShadowReport) -> String {
    let mut out = summary(report);
    if report.fingerprints.is_empty() {
        out.push_str(empty_reason(report));
        out.push('\n');
        return out;
    }
    out.push('\n');
    out.push_str(&fingerprints_table(&report.fingerprints));
    for f in report.fingerprints.iter().filter(|f| !f.samples.is_empty()) {
        out.push('\n');
        out.push_str(&samples_section(f));
    }
    out
}

/// Words a user reads at a glance; the alarming ones in capitals.
pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Safe => "safe",
        Verdict::Benign => "benign differences only",
        Verdict::Differs => "DIFFERS",
        Verdict::FailsOnShadow => "FAILS ON SHADOW",
        Verdict::Unverified => "unverified",
    }
}

fn outcome_name(o: ShadowOutcome) -> &'static str {
    match o {
        ShadowOutcome::Matched => "matched",
        ShadowOutcome::Benign => "benign difference",
        ShadowOutcome::Mismatched => "mismatched",
        ShadowOutcome::ShadowError => "shadow error",
        ShadowOutcome::Unchecked => "unchecked",
        ShadowOutcome::Dropped => "dropped",
    }
}

fn summary(report: &ShadowReport) -> String {
    let proxies = if report.proxies.is_empty() {
        "none".to_owned()
    } else {
        let named: Vec<String> = report
            .proxies
            .iter()
            .map(|p| format!("{} ({})", p.lms_address, shadow_mode_name(p.shadow_mode)))
            .collect();
        named.join(", ")
    };
    let mut text = format!("LMS proxies: {proxies}\n");
    if !report.unreachable.is_empty() {
        text.push_str(&format!(
            "Unreachable (not included): {}\n",
            report.unreachable.join(", ")
        ));
    }
    let t = &report.totals;
    text.push_str(&format!(
        "Totals: requests {}, matched {}, benign {}, mismatched {}, shadow errors {}, \
         unchecked {}, dropped {}\n",
        t.total(),
        t.matched,
        t.benign,
        t.mismatched,
        t.shadow_errors,
        t.unchecked,
        t.dropped
    ));
    text
}

fn empty_reason(report: &ShadowReport) -> &'static str {
    if !report.proxies.is_empty() {
        "Nothing has been shadowed yet: no statement was mirrored to the shadow database. \
         To compare results, run the proxies with --shadow-mode sync or strict-sync."
    } else if !report.unreachable.is_empty() {
        "No LMS proxy answered, so there is nothing to report."
    } else {
        "No LMS proxy is registered with the orchestrator (or none matches --lms-addresses)."
    }
}

fn fingerprints_table(fingerprints: &[FingerprintReport]) -> String {
    let rows = fingerprints.iter().map(|f| {
        let c = &f.counts;
        vec![
            verdict_name(f.verdict).to_owned(),
            c.total().to_string(),
            c.matched.to_string(),
            c.benign.to_string(),
            c.mismatched.to_string(),
            c.shadow_errors.to_string(),
            c.dropped.to_string(),
            truncate(&one_line(&f.fingerprint), FINGERPRINT_CELL_CHARS),
        ]
    });
    let mut t = table(
        &[
            "VERDICT",
            "REQUESTS",
            "MATCHED",
            "BENIGN",
            "MISMATCHED",
            "SHADOW ERRORS",
            "DROPPED",
            "FINGERPRINT",
        ],
        rows,
    );
    for i in COUNT_COLUMNS {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    captioned(&t, "Shadow Comparison per Statement Fingerprint.")
}

/// One block per sample: a heading line, then labelled lines for what it carries.
fn samples_section(f: &FingerprintReport) -> String {
    let mut text = format!(
        "Samples of {} ({}): {}\n",
        f.id,
        verdict_name(f.verdict),
        truncate(&one_line(&f.fingerprint), FINGERPRINT_CELL_CHARS)
    );
    for s in &f.samples {
        text.push_str(&sample(s));
    }
    text
}

fn sample(s: &ShadowSample) -> String {
    let at = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(s.at_unix_ms));
    let mut text = format!(
        "  {at}  {}  {}  differed: {}\n",
        s.proxy,
        outcome_name(s.outcome),
        s.differed
    );
    // Values keep their spaces: a difference may be only whitespace.
    let lines = [
        ("detail".to_owned(), Some(&s.detail)),
        ("query".to_owned(), Some(&s.query)),
        (
            format!("source of truth ({})", s.source_of_truth),
            s.source_of_truth_value.as_ref(),
        ),
        (
            format!("shadow ({})", s.source_of_truth.other()),
            s.shadow_value.as_ref(),
        ),
        ("benign reason".to_owned(), s.benign_reason.as_ref()),
    ];
    for (label, value) in lines {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = truncate(&escape_line_breaks(value), SAMPLE_VALUE_CHARS);
        text.push_str(&format!("    {:<26}{value}\n", format!("{label}:")));
    }
    text
}

/// The value on one line with its spaces intact: line breaks and tabs are spelled out.
fn escape_line_breaks(text: &str) -> String {
    text.replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
}

#[cfg(test)]
mod tests;
