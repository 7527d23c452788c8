use super::*;
use crate::auth::mysql_native::{client_token, key_from_password, stored_hash};

#[test]
fn a_proof_matching_any_stored_row_reveals_the_key() {
    let scramble = scramble();
    let token = client_token(&key_from_password("pw"), &scramble);
    let rows = [Some(stored_hash("other")), Some(stored_hash("pw"))];
    let key = check(&rows, &scramble, &token)
        .expect("accepted")
        .expect("a key");
    assert_eq!(key, key_from_password("pw"));
    assert_eq!(check(&rows[..1], &scramble, &token), None);
}

#[test]
fn the_empty_password_is_an_empty_answer_to_an_empty_row() {
    let scramble = scramble();
    assert_eq!(check(&[None], &scramble, &[]), Some(None));
    assert_eq!(check(&[Some(stored_hash("pw"))], &scramble, &[]), None);
    let token = client_token(&key_from_password("pw"), &scramble);
    assert_eq!(check(&[None], &scramble, &token), None);
}

#[test]
fn scrambles_have_no_nul_and_differ() {
    let (a, b) = (scramble(), scramble());
    assert!(a.iter().all(|&x| (1..=127).contains(&x)));
    assert_ne!(a, b);
}

#[test]
fn the_offer_follows_the_source_and_tls() {
    let source = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS;
    let caps = offered(source, false);
    assert_eq!(
        caps & CLIENT_DEPRECATE_EOF,
        0,
        "not offered when the source lacks it"
    );
    assert_eq!(caps & CLIENT_SSL, 0);
    assert_ne!(
        caps & CLIENT_PLUGIN_AUTH,
        0,
        "a per-hop capability the proxy always has"
    );
    assert_eq!(caps & CLIENT_COMPRESS, 0);
    let caps = offered(source | CLIENT_DEPRECATE_EOF, true);
    assert_ne!(caps & CLIENT_DEPRECATE_EOF, 0);
    assert_ne!(caps & CLIENT_SSL, 0);
}
