use super::*;

#[test]
fn entries_and_the_fallback() {
    let l = TargetLogins::parse(
        r#"{"app": {"user": "app_pg", "password": "s3cret"}, "*": {"user": "ro", "password": "x"}}"#,
        "logins.json",
    )
    .expect("parses");
    assert_eq!(l.get("app").map(|l| l.user.as_str()), Some("app_pg"));
    assert_eq!(l.get("app").map(|l| l.password.expose()), Some("s3cret"));
    assert_eq!(l.get("other").map(|l| l.user.as_str()), Some("ro"));
    let strict =
        TargetLogins::parse(r#"{"app": {"user": "a", "password": ""}}"#, "f").expect("parses");
    assert!(strict.get("other").is_none());
}

#[test]
fn a_bad_file_is_refused_without_showing_its_values() {
    let e = TargetLogins::parse(r#"{"app": {"user": "a", "pasword": "hunter2"}}"#, "f")
        .expect_err("unknown field");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = TargetLogins::parse(r#"{"app": {"user": "", "password": "p"}}"#, "f")
        .expect_err("empty user");
    assert!(e.to_string().contains("empty target user"), "{e}");
    assert!(TargetLogins::parse("[]", "f").is_err());
}
