use super::*;
use molt_lms_common::secret::Secret;

fn exchange(server: &mut ScramServer, cred: &Credential) -> Result<[u8; 32], ScramError> {
    let mut client = ScramClient::new(cred)?;
    let sf = server.server_first(client.client_first().as_bytes())?;
    let cf = client.client_final(sf.as_bytes())?;
    let (final_msg, key) = server.server_final(cf.as_bytes())?;
    client.verify_server_final(final_msg.as_bytes())?;
    Ok(key)
}

#[test]
fn password_login_recovers_the_client_key_which_logs_in_again() {
    let (keys, client_key) = keys_from_password("s3cret", b"0123456789abcdef", 4096);
    let recovered = exchange(
        &mut ScramServer::new(keys.clone()),
        &Credential::Password(Secret::new("s3cret")),
    )
    .expect("password accepted");
    assert_eq!(recovered, client_key);
    // The recovered key alone logs in to a server holding the same verifier.
    let cred = Credential::ScramKey {
        client_key: recovered,
        keys: keys.clone(),
    };
    assert_eq!(exchange(&mut ScramServer::new(keys), &cred), Ok(client_key));
}

#[test]
fn wrong_password_and_mock_exchanges_fail_at_the_proof() {
    let (keys, _) = keys_from_password("s3cret", b"salt", 4096);
    let wrong = Credential::Password(Secret::new("nope"));
    assert_eq!(
        exchange(&mut ScramServer::new(keys), &wrong),
        Err(ScramError::BadProof)
    );
    assert_eq!(
        exchange(&mut ScramServer::mock(b"secret", "nobody"), &wrong),
        Err(ScramError::BadProof)
    );
}

#[test]
fn a_key_for_another_salt_is_refused_before_sending_a_proof() {
    let (keys, ck) = keys_from_password("pw", b"salt-one", 4096);
    let (other, _) = keys_from_password("pw", b"salt-two", 4096);
    let cred = Credential::ScramKey {
        client_key: ck,
        keys,
    };
    assert_eq!(
        exchange(&mut ScramServer::new(other), &cred),
        Err(ScramError::VerifierMismatch)
    );
}

#[test]
fn channel_binding_and_garbage_are_rejected() {
    let mut s = ScramServer::mock(b"secret", "nobody");
    assert_eq!(
        s.server_first(b"p=tls-server-end-point,,n=,r=abc"),
        Err(ScramError::ChannelBinding)
    );
    assert_eq!(s.server_first(b"garbage"), Err(ScramError::Malformed));
    assert_eq!(s.server_first(&[0xff, 0xfe]), Err(ScramError::Malformed));
}

#[test]
fn rfc7677_test_vector() {
    // RFC 7677 section 3: user "user", password "pencil".
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("b64");
    let (keys, _) = keys_from_password("pencil", &salt, 4096);
    let mut server = ScramServer::new(keys);
    server.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
    server.client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO".into();
    server.server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
            .into();
    let (final_msg, _) = server
        .server_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        .expect("rfc proof");
    assert_eq!(final_msg, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

/// The salt in a server-first message.
fn salt_of(server: &mut ScramServer) -> String {
    let first = server
        .server_first(b"n,,n=,r=clientnonce")
        .expect("server-first");
    first
        .split(',')
        .find_map(|f| f.strip_prefix("s="))
        .expect("a salt")
        .to_owned()
}

#[test]
fn an_unknown_role_gets_the_same_salt_every_time_and_on_every_proxy() {
    let a = salt_of(&mut ScramServer::mock(b"deployment secret", "nobody"));
    let b = salt_of(&mut ScramServer::mock(b"deployment secret", "nobody"));
    assert_eq!(a, b, "asking twice must not show that the role is missing");
    let other = salt_of(&mut ScramServer::mock(b"deployment secret", "someone"));
    assert_ne!(a, other, "roles differ as real ones do");
    let elsewhere = salt_of(&mut ScramServer::mock(b"another deployment", "nobody"));
    assert_ne!(
        a, elsewhere,
        "the salt depends on a secret clients do not know"
    );
}
