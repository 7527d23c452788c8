use super::*;
use crate::output::json;
use molt_lms_api::roles::RoleSync;

fn line(role: &str, action: RoleAction, reason: &str) -> RoleSync {
    RoleSync {
        role: role.to_owned(),
        action,
        reason: reason.to_owned(),
    }
}

fn report(dry_run: bool) -> RolesSyncReport {
    RolesSyncReport {
        dry_run,
        lms_address: "10.42.0.2:9043".to_owned(),
        roles: vec![
            line("app", RoleAction::Created, "missing on the target"),
            line("web", RoleAction::Created, "missing on the target"),
            line("ro", RoleAction::Updated, "another password verifier"),
            line("batch", RoleAction::Unchanged, "the same password verifier"),
            line("admin", RoleAction::Skipped, "a superuser on the source"),
        ],
    }
}

#[test]
fn roles_table_lists_each_role_with_its_action_and_reason() {
    let text = roles_table(&report(false));
    for needle in ["ROLE", "ACTION", "REASON", "another password verifier"] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let row = text
        .lines()
        .find(|l| l.contains("| ro "))
        .expect("a row for ro");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[1..4], ["ro", "updated", "another password verifier"]);
    assert!(
        text.ends_with("\n2 created, 1 updated, 1 unchanged, 1 skipped\n"),
        "{text}"
    );
}

#[test]
fn a_dry_run_says_nothing_was_changed() {
    let text = roles_table(&report(true));
    assert!(
        text.ends_with(
            "\n2 created, 1 updated, 1 unchanged, 1 skipped (dry run: nothing was changed)\n"
        ),
        "{text}"
    );
    let empty = RolesSyncReport {
        roles: Vec::new(),
        ..report(true)
    };
    let text = roles_table(&empty);
    assert!(text.starts_with("No login role to sync"), "{text}");
    assert!(text.contains("10.42.0.2:9043"), "{text}");
    assert!(text.contains("dry run: nothing was changed"), "{text}");
}

#[test]
fn roles_json_is_the_report_itself() {
    let report = report(true);
    let text = json(&report).expect("json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid");
    assert_eq!(value["dry_run"], true);
    assert_eq!(value["roles"][2]["action"], "updated");
    let back: RolesSyncReport = serde_json::from_str(&text).expect("typed");
    assert_eq!(back, report);
}
