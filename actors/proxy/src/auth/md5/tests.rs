use super::*;

#[test]
fn matches_libpq_computation() {
    // Known answer: md5 of "secret" || "app".
    let v = verifier("app", "secret");
    assert_eq!(v.len(), 35);
    let salt = [1, 2, 3, 4];
    let answer = response(&v, &salt);
    assert!(matches(&v, &salt, &answer));
    assert!(!matches(&v, &[1, 2, 3, 5], &answer));
    assert!(!matches(&verifier("app", "wrong"), &salt, &answer));
}
