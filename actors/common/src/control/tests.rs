use super::token::{TokenError, TokenFile};
use super::*;
use std::path::Path;

const KEYS: Keys = Keys {
    token: "X_CONTROL_TOKEN_FILE",
    cert: "X_TLS_CERT",
    key: "X_TLS_KEY",
    ca: "X_CA_TLS_CERT",
    insecure: "--insecure-control-plane",
};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("molt-control-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("should succeed");
        Dir(p)
    }
    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).expect("should succeed");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bump_mtime(_: &Path) {
    // Same length and maybe the same second: a SIGHUP-style forced reload is what the
    // stamp's generation is for.
    files::force_reload();
}

#[test]
fn no_credentials_is_refused_unless_insecure() {
    let err = ControlAuth::new(KEYS, None, None, None, None, false).expect_err("should fail");
    let msg = err.to_string();
    assert!(
        msg.contains("X_CONTROL_TOKEN_FILE") && msg.contains("--insecure-control-plane"),
        "{msg}"
    );
    let ok = ControlAuth::new(KEYS, None, None, None, None, true).expect("should succeed");
    assert!(!ok.authenticates());
    assert_eq!(ok.describe(), "unauthenticated");
}

#[test]
fn half_a_tls_setting_names_the_missing_key() {
    let d = Dir::new("half");
    let cert = d.file("c.pem", "x");
    let err = ControlAuth::new(KEYS, Some(cert), None, None, None, true).expect_err("should fail");
    assert!(
        err.to_string()
            .contains("X_TLS_CERT: set without X_TLS_KEY"),
        "{err}"
    );
    let ca = d.file("ca.pem", "x");
    let err = ControlAuth::new(KEYS, None, None, Some(ca), None, true).expect_err("should fail");
    assert!(err.to_string().starts_with("X_CA_TLS_CERT"), "{err}");
}

#[test]
fn unreadable_certificate_names_key_and_file() {
    let d = Dir::new("badcert");
    let cert = d.file("c.pem", "not a certificate");
    let key = d.file("k.pem", "not a key");
    let err =
        ControlAuth::new(KEYS, Some(cert), Some(key), None, None, false).expect_err("should fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with("X_TLS_CERT:") && msg.contains("c.pem"),
        "{msg}"
    );
}

#[test]
fn short_or_binary_tokens_are_refused() {
    let d = Dir::new("short");
    let p = d.file("t", "short\n");
    assert!(matches!(
        TokenFile::open(p),
        Err(TokenError::TooShort { len: 5, .. })
    ));
    let p = d.file("t2", "0123456789abcdef 0123");
    assert!(matches!(
        TokenFile::open(p),
        Err(TokenError::NotPrintable { .. })
    ));
    let err = ControlAuth::new(KEYS, None, None, None, Some(d.0.join("missing")), false)
        .expect_err("should fail");
    assert!(
        err.to_string()
            .starts_with("X_CONTROL_TOKEN_FILE: cannot read"),
        "{err}"
    );
}

#[test]
fn token_matches_and_reloads_keeping_the_last_good_one() {
    let d = Dir::new("reload");
    let p = d.file("t", "0123456789abcdef\n");
    let t = TokenFile::open(p.clone()).expect("should succeed");
    assert!(t.matches("0123456789abcdef"));
    assert!(!t.matches("0123456789abcdeF"));
    assert!(!t.matches("0123456789abcde"));
    assert!(!t.matches(""));
    std::fs::write(&p, "fedcba9876543210").expect("should succeed");
    bump_mtime(&p);
    assert!(t.matches("fedcba9876543210"));
    assert!(!t.matches("0123456789abcdef"));
    // A half-written file does not lock everyone out.
    std::fs::write(&p, "x").expect("should succeed");
    bump_mtime(&p);
    assert!(t.matches("fedcba9876543210"));
    // Debug never shows it.
    assert!(!format!("{t:?}").contains("fedcba"));
}

#[test]
fn token_auth_describes_itself_without_the_token() {
    let d = Dir::new("describe");
    let p = d.file("t", "0123456789abcdef");
    let a = ControlAuth::new(KEYS, None, None, None, Some(p), false).expect("should succeed");
    assert!(a.authenticates());
    assert_eq!(a.describe(), "token");
    assert_eq!(a.scheme(), "http");
}
