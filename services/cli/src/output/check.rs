//! `cutover check`: the proxies, a table of roles, a table of named statements, and a
//! caption that says whether a commit is expected to succeed.

use super::{captioned, one_line, table, truncate};
use comfy_table::CellAlignment;
use molt_lms_api::check::{CheckReport, RoleCheck, SessionCheck, StatementCheck};

/// Longest statement text shown; JSON carries it whole.
const QUERY_CELL_CHARS: usize = 80;

/// The whole report as text, ending with the verdict line.
pub fn check_table(report: &CheckReport) -> String {
    let proxies = if report.proxies.is_empty() {
        "none answered".to_owned()
    } else {
        report.proxies.join(", ")
    };
    let mut out = format!("LMS proxies: {proxies}\n\n");
    if report.roles.is_empty() {
        out.push_str("No client session is open on the LMS proxies: no role to check.\n");
    } else {
        out.push_str(&roles_table(&report.roles));
    }
    if report.statements.is_empty() {
        out.push_str("No named prepared statement is held by a client session.\n");
    } else {
        out.push('\n');
        out.push_str(&statements_table(&report.statements));
    }
    if !report.sessions.is_empty() {
        out.push('\n');
        out.push_str(&sessions_table(&report.sessions));
    }
    out.push('\n');
    for u in &report.unreachable {
        out.push_str(&format!("Unreachable (not checked): {u}\n"));
    }
    out.push_str(&verdict_line(report));
    out.push('\n');
    out
}

fn roles_table(roles: &[RoleCheck]) -> String {
    let rows = roles.iter().map(|r| {
        vec![
            r.role.clone(),
            r.sessions.to_string(),
            r.verdict.as_str().to_owned(),
            one_line(&r.detail),
        ]
    });
    let mut t = table(&["ROLE", "SESSIONS", "VERDICT", "DETAIL"], rows);
    if let Some(col) = t.column_mut(1) {
        col.set_cell_alignment(CellAlignment::Right);
    }
    captioned(
        &t,
        "Roles with client sessions, checked on the database a commit switches to.",
    )
}

fn statements_table(statements: &[StatementCheck]) -> String {
    let rows = statements.iter().map(|s| {
        vec![
            s.role.clone(),
            s.database.clone(),
            s.name.clone(),
            truncate(&one_line(&s.query), QUERY_CELL_CHARS),
            s.verdict.as_str().to_owned(),
            one_line(&s.error),
        ]
    });
    let t = table(
        &["ROLE", "DATABASE", "NAME", "QUERY", "VERDICT", "ERROR"],
        rows,
    );
    captioned(
        &t,
        "Named prepared statements, prepared on the database a commit switches to.",
    )
}

fn sessions_table(sessions: &[SessionCheck]) -> String {
    let rows = sessions.iter().map(|s| {
        vec![
            s.lms_address.clone(),
            s.connection_id.to_string(),
            s.role.clone(),
            s.database.clone(),
            one_line(&s.reasons.join("; ")),
        ]
    });
    let t = table(&["LMS", "CONNECTION", "ROLE", "DATABASE", "WHY"], rows);
    captioned(
        &t,
        "Sessions a commit cannot move: end them, or release what they hold, first.",
    )
}

/// `check passed: …` or `check FAILED: N problems`.
pub fn verdict_line(report: &CheckReport) -> String {
    if report.passed {
        "check passed: a commit can log every session in to the target and prepare every \
         statement"
            .to_owned()
    } else {
        let n = report.problems().len();
        format!("check FAILED: {n} problem{}", if n == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests;
