use super::*;

#[test]
fn parses_postgres_verifiers_and_hides_them() {
    let v = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let Some(Verifier::Scram(k)) = Verifier::parse(v) else {
        panic!("scram verifier not parsed")
    };
    assert_eq!(k.iterations, 4096);
    assert_eq!(k.salt, b"saltsaltsalt");
    assert_eq!(k.server_key, [1u8; 32]);
    assert!(matches!(
        Verifier::parse("md5f5a3c0ca8cb6a85e9e2aa6cd39e1e2e5"),
        Some(Verifier::Md5(_))
    ));
    assert_eq!(Verifier::parse("plaintext"), None);
    assert_eq!(
        format!("{:?}", Verifier::parse(v)),
        "Some(Verifier::Scram(***))"
    );
}
