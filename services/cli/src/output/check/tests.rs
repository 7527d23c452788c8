use super::*;
use crate::output::json;
use molt_lms_api::check::{ProxyCheck, RoleVerdict, StatementVerdict};
use molt_lms_api::SourceOfTruth;

fn role(name: &str, sessions: u64, verdict: RoleVerdict, detail: &str) -> RoleCheck {
    RoleCheck {
        role: name.to_owned(),
        sessions,
        verdict,
        detail: detail.to_owned(),
    }
}

fn statement(name: &str, verdict: StatementVerdict, error: &str) -> StatementCheck {
    StatementCheck {
        role: "app".to_owned(),
        database: "shop".to_owned(),
        name: name.to_owned(),
        query: "SELECT price\n  FROM items WHERE id = ?".to_owned(),
        verdict,
        error: error.to_owned(),
    }
}

fn proxy(address: &str, roles: Vec<RoleCheck>, statements: Vec<StatementCheck>) -> ProxyCheck {
    ProxyCheck {
        lms_address: address.to_owned(),
        to: SourceOfTruth::Target,
        roles,
        statements,
        sessions: vec![],
    }
}

fn failing() -> CheckReport {
    CheckReport::merge(
        vec![
            proxy(
                "10.42.0.2:9043",
                vec![
                    role("app", 3, RoleVerdict::Ok, "same verifier"),
                    role("ro", 1, RoleVerdict::VerifierDiffers, "another salt"),
                ],
                vec![
                    statement("s1", StatementVerdict::Ok, ""),
                    statement(
                        "s2",
                        StatementVerdict::Fails,
                        "42P01: relation \"items\" does not exist",
                    ),
                ],
            ),
            proxy(
                "10.42.0.3:9043",
                vec![role("app", 2, RoleVerdict::Ok, "same verifier")],
                vec![],
            ),
        ],
        vec!["10.42.0.4:9043 (no answer within 20s)".to_owned()],
    )
}

#[test]
fn check_table_shows_roles_statements_and_unreachable_proxies() {
    let text = check_table(&failing());
    for needle in [
        "LMS proxies: 10.42.0.2:9043, 10.42.0.3:9043",
        "Unreachable (not checked): 10.42.0.4:9043 (no answer within 20s)",
        "SESSIONS",
        "DETAIL",
        "DATABASE",
        "QUERY",
        "ERROR",
        "SELECT price FROM items WHERE id = ?",
        "42P01: relation \"items\" does not exist",
        "Roles with client sessions",
        "Named prepared statements",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let row = text
        .lines()
        .find(|l| l.contains("| ro "))
        .expect("a row for ro");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[1..5], ["ro", "1", "verifier differs", "another salt"]);
    // Sessions are summed over the proxies.
    let row = text
        .lines()
        .find(|l| l.contains("| app ") && l.contains("same verifier"))
        .expect("a row for app");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "5", "{row}");
    let row = text.lines().find(|l| l.contains("| s2 ")).expect("s2 row");
    assert!(row.contains("| FAILS "), "{row}");
    // Unreachable proxy, role ro, statement s2.
    assert!(text.ends_with("\ncheck FAILED: 3 problems\n"), "{text}");
}

#[test]
fn a_passing_check_says_a_commit_can_succeed() {
    let report = CheckReport::merge(
        vec![proxy(
            "10.42.0.2:9043",
            vec![role("app", 1, RoleVerdict::Ok, "same verifier")],
            vec![],
        )],
        vec![],
    );
    let text = check_table(&report);
    assert!(text.contains("No named prepared statement"), "{text}");
    assert!(
        text.ends_with(
            "\ncheck passed: a commit can log every session in to the target and prepare \
             every statement\n"
        ),
        "{text}"
    );
    let empty = check_table(&CheckReport::merge(vec![], vec![]));
    assert!(empty.contains("LMS proxies: none answered"), "{empty}");
    assert!(empty.contains("no role to check"), "{empty}");
}

#[test]
fn one_problem_is_singular() {
    let report = CheckReport::merge(vec![], vec!["10.42.0.4:9043 (lost)".to_owned()]);
    assert_eq!(verdict_line(&report), "check FAILED: 1 problem");
}

#[test]
fn check_json_is_the_report_itself() {
    let report = failing();
    let text = json(&report).expect("json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid");
    assert_eq!(value["passed"], false);
    assert_eq!(value["roles"][0]["verdict"], "verifier_differs");
    let back: CheckReport = serde_json::from_str(&text).expect("typed");
    assert_eq!(back, report);
}
