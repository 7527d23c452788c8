use super::*;

fn role(name: &str, n: u64, v: RoleVerdict) -> RoleCheck {
    RoleCheck {
        role: name.into(),
        sessions: n,
        verdict: v,
        detail: v.as_str().into(),
    }
}

#[test]
fn merge_sums_sessions_and_keeps_the_worst_verdict() {
    let a = ProxyCheck {
        lms_address: "a:1".into(),
        to: crate::SourceOfTruth::Target,
        roles: vec![role("app", 2, RoleVerdict::Ok)],
        statements: vec![],
        sessions: vec![],
    };
    let b = ProxyCheck {
        lms_address: "b:1".into(),
        to: crate::SourceOfTruth::Target,
        roles: vec![
            role("app", 3, RoleVerdict::VerifierDiffers),
            role("ro", 1, RoleVerdict::Ok),
        ],
        statements: vec![StatementCheck {
            role: "ro".into(),
            database: "db".into(),
            name: "s1".into(),
            query: "SELECT ? FROM t".into(),
            verdict: StatementVerdict::Fails,
            error: "42P01: relation \"t\" does not exist".into(),
        }],
        sessions: vec![SessionCheck {
            lms_address: "b:1".into(),
            connection_id: 7,
            role: "app".into(),
            database: "db".into(),
            reasons: vec!["it created temporary tables".into()],
        }],
    };
    let m = CheckReport::merge(vec![b, a], vec![]);
    assert!(!m.passed);
    assert_eq!(m.proxies, vec!["a:1", "b:1"]);
    assert_eq!(m.roles[0].role, "app");
    assert_eq!(m.roles[0].sessions, 5);
    assert_eq!(m.roles[0].verdict, RoleVerdict::VerifierDiffers);
    let p = m.problems();
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p[1].contains("s1") && p[1].contains("42P01"), "{p:?}");
    assert!(
        p[2].contains("session 7 on b:1") && p[2].contains("temporary"),
        "{p:?}"
    );
    let ok = CheckReport::merge(vec![], vec![]);
    assert!(ok.passed);
    assert!(!CheckReport::merge(vec![], vec!["c:1: timed out".into()]).passed);
}
