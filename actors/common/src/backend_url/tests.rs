use super::*;

#[test]
fn parses_full_url_and_redacts_password() {
    let u = BackendUrl::parse(
        "postgresql://app:s%40cret@db.example:6543/shop?sslmode=verify-full?sslrootcert=/ca.crt",
    )
    .expect("valid");
    assert_eq!(u.user, "app");
    assert_eq!(u.password.as_ref().map(|p| p.expose()), Some("s@cret"));
    assert_eq!(u.address(), "db.example:6543");
    assert_eq!(u.database, "shop");
    assert_eq!(u.ssl.mode, SslMode::VerifyFull);
    assert_eq!(u.ssl.root_cert, Some(PathBuf::from("/ca.crt")));
    assert_eq!(u.redacted(), "postgresql://app:***@db.example:6543/shop");
    assert!(!format!("{u:?}").contains("s@cret"));
}

#[test]
fn errors_do_not_echo_the_url() {
    let e = BackendUrl::parse("postgresql://app:hunter2@/x").expect_err("no host");
    assert!(!e.to_string().contains("hunter2"));
    let e = BackendUrl::parse("postgresql://app:hunter2@h/x?sslmode=maybe").expect_err("mode");
    assert!(!e.to_string().contains("hunter2"));
    assert!(BackendUrl::parse("redis://a@h").is_err());
    assert!(BackendUrl::parse("postgresql://h:5432/x").is_err());
}

#[test]
fn defaults_follow_libpq() {
    let u = BackendUrl::parse("postgres://app@h").expect("valid");
    assert_eq!(u.port, 5432);
    assert_eq!(u.database, "app");
    assert_eq!(u.ssl.mode, SslMode::Prefer);
}
