//! `roles sync`: one row per role with what was (or would be) done, and a count caption.

use super::{captioned, table};
use molt_lms_api::roles::{RoleAction, RolesSyncReport};

/// The table and its caption; an empty report says there was nothing to sync.
pub fn roles_table(report: &RolesSyncReport) -> String {
    let dry = if report.dry_run {
        " (dry run: nothing was changed)"
    } else {
        ""
    };
    if report.roles.is_empty() {
        return format!(
            "No login role to sync on the source (through LMS proxy {}){dry}.\n",
            report.lms_address
        );
    }
    let rows = report.roles.iter().map(|r| {
        vec![
            r.role.clone(),
            r.action.as_str().to_owned(),
            r.reason.clone(),
        ]
    });
    let t = table(&["ROLE", "ACTION", "REASON"], rows);
    captioned(&t, &format!("{}{dry}", counts(report)))
}

/// `2 created, 1 updated, 3 unchanged, 1 skipped`.
fn counts(report: &RolesSyncReport) -> String {
    let n = |a: RoleAction| report.roles.iter().filter(|r| r.action == a).count();
    [
        RoleAction::Created,
        RoleAction::Updated,
        RoleAction::Unchanged,
        RoleAction::Skipped,
    ]
    .map(|a| format!("{} {}", n(a), a.as_str()))
    .join(", ")
}

#[cfg(test)]
mod tests;
