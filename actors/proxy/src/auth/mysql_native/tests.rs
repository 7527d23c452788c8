use super::*;

/// `SELECT PASSWORD('s3cret')` on MariaDB 10.11.
const STORED: &str = "*B865CAE8F340F6CE1485A06F4492BB49718DF1EC";

fn scramble() -> Vec<u8> {
    (1..=20).collect()
}

#[test]
fn the_stored_hash_is_the_servers() {
    assert_eq!(parse_stored(STORED), Some(stored_hash("s3cret")));
    assert_eq!(
        parse_stored(&STORED.to_ascii_lowercase()),
        Some(stored_hash("s3cret"))
    );
    assert_eq!(
        parse_stored("B865CAE8F340F6CE1485A06F4492BB49718DF1EC"),
        None
    );
    assert_eq!(parse_stored("*B865"), None);
    assert_eq!(
        parse_stored("*Z865CAE8F340F6CE1485A06F4492BB49718DF1EC"),
        None
    );
    assert_eq!(parse_stored(""), None);
}

#[test]
fn a_client_token_matches_an_independent_computation() {
    // Python: h1 = sha1(pw); h2 = sha1(h1); h1 XOR sha1(scramble + h2).
    let token = client_token(&key_from_password("s3cret"), &scramble());
    let hex: String = token.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "f66fdd3ff855d9349a0ddb50c4a1a535fb412465");
}

#[test]
fn verifying_a_proof_reveals_the_key_that_answers_any_other_scramble() {
    let stored = stored_hash("s3cret");
    let token = client_token(&key_from_password("s3cret"), &scramble());
    let key = verify(&stored, &scramble(), &token).expect("the right password verifies");
    assert_eq!(key, key_from_password("s3cret"));
    // The backend's scramble differs; the revealed key answers it as the password would.
    let other: Vec<u8> = (100..120).collect();
    assert_eq!(
        client_token(&key, &other),
        client_token(&key_from_password("s3cret"), &other)
    );
}

#[test]
fn a_wrong_password_or_a_malformed_token_does_not_verify() {
    let stored = stored_hash("s3cret");
    let wrong = client_token(&key_from_password("guess"), &scramble());
    assert!(verify(&stored, &scramble(), &wrong).is_none());
    let token = client_token(&key_from_password("s3cret"), &scramble());
    assert!(verify(&stored, &scramble(), &token[..19]).is_none());
    assert!(verify(&stored, &scramble(), &[]).is_none());
    let other: Vec<u8> = (100..120).collect();
    assert!(
        verify(&stored, &other, &token).is_none(),
        "a proof for one scramble does not pass for another"
    );
}

#[test]
fn the_key_never_prints() {
    assert_eq!(
        format!("{:?}", key_from_password("s3cret")),
        "NativeKey(<secret>)"
    );
}
