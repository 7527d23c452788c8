use super::*;

const SCRAM: &str = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const OTHER_SCRAM: &str = "SCRAM-SHA-256$4096:b3RoZXJzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const MD5: &str = "md5f5a3c0ca8cb6a85e9e2aa6cd39e1e2e5";

fn secret(s: &str) -> Secret {
    Secret::new(s)
}

fn present(can_login: bool, verifier: Option<&str>) -> TargetRole {
    TargetRole::Present {
        can_login,
        verifier: verifier.map(secret),
    }
}

fn service() -> ServiceUsers {
    ServiceUsers {
        source: "lms_source".to_owned(),
        target: "lms_target".to_owned(),
    }
}

fn role(name: &str, superuser: bool) -> SourceRole {
    SourceRole {
        name: name.to_owned(),
        superuser,
    }
}

#[test]
fn a_role_missing_on_the_target_is_created() {
    let v = secret(SCRAM);
    assert_eq!(decide(Some(&v), &TargetRole::Missing), Change::Create);
    let m = secret(MD5);
    assert_eq!(decide(Some(&m), &TargetRole::Missing), Change::Create);
    let line = Change::Create.line("app");
    assert_eq!(line.action, RoleAction::Created);
    assert!(line.reason.contains("LOGIN"), "{line:?}");
}

#[test]
fn an_equal_verifier_is_left_unchanged() {
    let v = secret(SCRAM);
    assert_eq!(
        decide(Some(&v), &present(true, Some(SCRAM))),
        Change::Unchanged
    );
    assert_eq!(Change::Unchanged.line("app").action, RoleAction::Unchanged);
    assert_eq!(Change::Unchanged.statement("app", &v), None);
}

#[test]
fn another_or_no_verifier_on_the_target_is_updated() {
    let v = secret(SCRAM);
    let differs = decide(Some(&v), &present(true, Some(OTHER_SCRAM)));
    assert_eq!(
        differs,
        Change::Update {
            login: false,
            password: true,
            had_verifier: true
        }
    );
    assert!(differs
        .line("app")
        .reason
        .contains("another password verifier"));
    let none = decide(Some(&v), &present(true, None));
    assert_eq!(
        none,
        Change::Update {
            login: false,
            password: true,
            had_verifier: false
        }
    );
    assert!(none.line("app").reason.contains("no password verifier"));
    // md5 on the target, SCRAM on the source: the source's wins.
    let method = decide(Some(&v), &present(true, Some(MD5)));
    assert!(matches!(method, Change::Update { password: true, .. }));
}

#[test]
fn a_target_role_without_login_gets_login() {
    let v = secret(SCRAM);
    // The default auth query returns no row for a role without LOGIN.
    let c = decide(Some(&v), &present(false, None));
    assert_eq!(
        c,
        Change::Update {
            login: true,
            password: true,
            had_verifier: false
        }
    );
    let line = c.line("app");
    assert_eq!(line.action, RoleAction::Updated);
    assert!(line.reason.contains("LOGIN granted"), "{line:?}");
    // Same verifier (a custom auth query may return it), only LOGIN missing.
    let c = decide(Some(&v), &present(false, Some(SCRAM)));
    assert_eq!(
        c.statement("app", &v).map(|s| s.expose().to_owned()),
        Some("ALTER ROLE \"app\" LOGIN".to_owned())
    );
}

#[test]
fn no_usable_verifier_on_the_source_is_skipped() {
    for source in [None, Some(secret("plaintext")), Some(secret(""))] {
        let c = decide(source.as_ref(), &TargetRole::Missing);
        let line = c.line("app");
        assert_eq!(line.action, RoleAction::Skipped, "{source:?}");
        assert!(line.reason.contains("no SCRAM-SHA-256 or md5"), "{line:?}");
    }
}

#[test]
fn service_users_and_unnamed_superusers_are_skipped() {
    let s = service();
    let why = pre_skip(&role("lms_source", false), true, &s).expect("skipped");
    assert!(why.contains("service user of INIT_SOURCE"), "{why}");
    let why = pre_skip(&role("lms_target", true), false, &s).expect("skipped");
    assert!(why.contains("service user of INIT_TARGET"), "{why}");
    let why = pre_skip(&role("admin", true), false, &s).expect("skipped");
    assert!(why.contains("--role"), "{why}");
    assert_eq!(pre_skip(&role("admin", true), true, &s), None);
    assert_eq!(pre_skip(&role("app", false), false, &s), None);
}

#[test]
fn statements_quote_the_name_and_the_verifier() {
    let v = secret(SCRAM);
    let sql = Change::Create
        .statement("we\"ird 'name'", &v)
        .expect("a statement");
    assert_eq!(
        sql.expose(),
        format!("CREATE ROLE \"we\"\"ird 'name'\" LOGIN PASSWORD '{SCRAM}'")
    );
    let update = Change::Update {
        login: false,
        password: true,
        had_verifier: true,
    };
    let sql = update.statement("app", &v).expect("a statement");
    assert_eq!(
        sql.expose(),
        format!("ALTER ROLE \"app\" PASSWORD '{SCRAM}'")
    );
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}

#[test]
fn no_verifier_shows_in_debug_output_errors_or_lines() {
    let v = secret(SCRAM);
    let sql = Change::Create.statement("app", &v).expect("a statement");
    assert_eq!(format!("{sql:?}"), "***");
    assert_eq!(format!("{sql}"), "***");
    let target = present(true, Some(SCRAM));
    assert!(!format!("{target:?}").contains("SCRAM-SHA-256$"));
    for c in [
        decide(Some(&v), &TargetRole::Missing),
        decide(Some(&v), &present(true, Some(OTHER_SCRAM))),
        decide(Some(&v), &target),
    ] {
        let line = c.line("app");
        assert!(!format!("{line:?}").contains("SCRAM"), "{line:?}");
    }
    let scrubbed = scrub(&format!("syntax error near '{SCRAM}'"), Some(&v));
    assert!(
        !scrubbed.contains(SCRAM) && scrubbed.contains("***"),
        "{scrubbed}"
    );
    let e = RolesSyncError::UnknownRoles(vec!["ghost".into(), "gone".into()]);
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("ghost, gone"), "{e}");
    assert!(e.to_string().contains("nothing was changed"), "{e}");
}

#[test]
fn named_roles_lose_blanks_and_repeats() {
    let names = ["b", " a ", "", "b"].map(String::from);
    assert_eq!(dedup(&names), vec!["b".to_owned(), "a".to_owned()]);
}
