use super::*;
use crate::auth::credential::ScramKeys;

fn keys(salt: &[u8]) -> ScramKeys {
    ScramKeys {
        iterations: 4096,
        salt: salt.to_vec(),
        stored_key: [1; 32],
        server_key: [2; 32],
    }
}

#[test]
fn verdicts_compare_what_the_proxy_holds_with_what_the_target_stores() {
    let held = Credential::ScramKey {
        client_key: [0; 32],
        keys: keys(b"salt-a"),
    };
    let to = SourceOfTruth::Target;
    let scram = |salt: &[u8]| Stored::Verifier(Verifier::Scram(keys(salt)));
    assert_eq!(
        role_verdict(&held, &scram(b"salt-a"), to).0,
        RoleVerdict::Ok
    );
    assert_eq!(
        role_verdict(&held, &scram(b"salt-b"), to).0,
        RoleVerdict::VerifierDiffers
    );
    assert_eq!(
        role_verdict(&held, &Stored::Missing, to).0,
        RoleVerdict::RoleMissing
    );
    // CockroachDB's pg_authid shows stars: only the trial login can tell.
    let hidden = Stored::from_text(Some("********"));
    assert!(matches!(hidden, Stored::Hidden));
    assert_eq!(role_verdict(&held, &hidden, to).0, RoleVerdict::Ok);
    let md5 = Stored::from_text(Some(&("md5".to_owned() + &"0".repeat(32))));
    let (v, detail) = role_verdict(&held, &md5, to);
    assert_eq!(v, RoleVerdict::MethodMismatch);
    assert!(
        detail.contains("SCRAM-SHA-256") && detail.contains("md5"),
        "{detail}"
    );
    assert!(
        !detail.contains("00000000"),
        "no verifier in the detail: {detail}"
    );
}

#[test]
fn a_named_parse_is_tried_unnamed_with_its_types() {
    let mut raw = Vec::new();
    put_message(&mut raw, fe::PARSE, |o| {
        put_cstr(o, "stmt_7");
        put_cstr(o, "SELECT $1::int");
        o.extend_from_slice(&1i16.to_be_bytes());
        o.extend_from_slice(&23i32.to_be_bytes());
    });
    let unnamed = unnamed_parse(&raw).expect("parse");
    assert_eq!(
        parse_statement(&unnamed[5..]),
        Some((&b""[..], &b"SELECT $1::int"[..]))
    );
    assert!(unnamed.ends_with(&[0, 1, 0, 0, 0, 23]));
    assert_eq!(statement_label(&raw).0, "stmt_7");
}
