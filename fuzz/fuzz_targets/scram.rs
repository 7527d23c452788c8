//! SCRAM-SHA-256 as the proxy runs it (`molt_lms_proxy_actors::auth::scram`): the server
//! side on an arbitrary client-first and client-final message, the client side on an
//! arbitrary server-first message, stored verifiers (`Verifier::parse`), and a complete
//! exchange between the two sides with a password and salt taken from the input.
//!
//! The server's and client's nonces are random, which a fuzzer cannot guess: `@N` in a
//! fuzzed message stands for the other side's nonce, and a client-final ending in
//! `,p=@P` gets the proof a client holding the password would send for it.
//!
//! Invariants: server-first echoes the client's nonce and adds 24 characters; a
//! client-final with a correct binding, nonce and proof is accepted and gives back the
//! client's key (and never for a mock exchange), any other is refused; a complete honest
//! exchange succeeds; a parsed SCRAM verifier prints back to itself.
#![no_main]

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::take_u8;
use molt_lms_proxy_actors::auth::credential::ScramKeys;
use molt_lms_proxy_actors::auth::scram::{
    keys_from_password, ScramClient, ScramError, ScramServer,
};
use molt_lms_proxy_actors::auth::{Credential, Verifier};
use sha2::{Digest, Sha256};

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// The `key=value` attribute of a comma-separated SCRAM message.
fn attr(msg: &str, key: char) -> Option<&str> {
    msg.split(',')
        .find_map(|p| p.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn replace(msg: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len());
    let mut rest = msg;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

fn verifier(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match Verifier::parse(s) {
        Some(Verifier::Scram(k)) => {
            let printed = format!(
                "SCRAM-SHA-256${}:{}${}:{}",
                k.iterations,
                B64.encode(&k.salt),
                B64.encode(k.stored_key),
                B64.encode(k.server_key)
            );
            assert!(Verifier::parse(&printed) == Some(Verifier::Scram(k)));
        }
        Some(Verifier::Md5(m)) => assert_eq!(m, s),
        Some(Verifier::MysqlNative(_)) => panic!("parsed a MySQL verifier"),
        None => {}
    }
}

/// The server side on fuzzed messages.
fn server(mock: bool, client_first: &[u8], client_final: &[u8]) {
    let (keys, client_key) = keys_from_password("pencil", b"salty", 1);
    let (stored_key, server_key) = (keys.stored_key, keys.server_key);
    let mut server = if mock {
        ScramServer::mock(b"secret", "user")
    } else {
        ScramServer::new(keys)
    };
    let Ok(server_first) = server.server_first(client_first) else {
        return;
    };
    // The client's nonce, as the server read it.
    let cf = std::str::from_utf8(client_first).expect("accepted as UTF-8");
    let (_gs2, rest) = cf.split_once(',').expect("gs2 header");
    let (_authzid, bare) = rest.split_once(',').expect("gs2 header");
    let client_nonce = attr(bare, 'r').expect("client nonce");
    let nonce = attr(&server_first, 'r').expect("server-first nonce");
    assert!(server_first.starts_with("r="));
    assert!(nonce.starts_with(client_nonce) && nonce.len() == client_nonce.len() + 24);
    assert!(attr(&server_first, 'i').is_some_and(|i| i.parse::<u32>().is_ok()));

    let mut client_final = replace(client_final, b"@N", nonce.as_bytes());
    let mut proof_of = None;
    if let Some(without) = client_final.strip_suffix(b",p=@P") {
        let auth_message = [bare.as_bytes(), server_first.as_bytes(), without].join(&b',');
        let proof: Vec<u8> = client_key
            .iter()
            .zip(hmac(&stored_key, &auth_message))
            .map(|(k, s)| k ^ s)
            .collect();
        proof_of = Some(auth_message);
        client_final = [without, b",p=", B64.encode(proof).as_bytes()].concat();
    }
    let result = server.server_final(&client_final);
    if let Ok((server_final, key)) = &result {
        assert!(!mock, "a mock exchange accepted a proof");
        assert_eq!(*key, client_key);
        let auth_message = proof_of
            .as_deref()
            .expect("accepted a proof it was not given");
        let sig = B64.encode(hmac(&server_key, auth_message));
        assert_eq!(*server_final, format!("v={sig}"));
    }
    // With a right proof, only the binding or the nonce can fail.
    if let (Some(_), Ok(msg)) = (&proof_of, std::str::from_utf8(&client_final)) {
        let (without, _) = msg.rsplit_once(",p=").expect("proof");
        let expected = match attr(without, 'c') {
            None => Err(ScramError::Malformed),
            Some("biws" | "eSws") if attr(without, 'r') != Some(nonce) => Err(ScramError::Nonce),
            Some("biws" | "eSws") if mock => Err(ScramError::BadProof),
            Some("biws" | "eSws") => Ok(()),
            Some(_) => Err(ScramError::ChannelBinding),
        };
        assert_eq!(result.as_ref().map(|_| ()).map_err(Clone::clone), expected);
    }
}

/// The client side on a fuzzed server-first message, then an honest exchange.
fn client(password: &[u8], salt: &[u8], iterations: u32, server_first: &[u8]) {
    let password = String::from_utf8_lossy(password);
    let (keys, client_key) = keys_from_password(&password, salt, iterations);
    let credential = Credential::ScramKey {
        client_key,
        keys: keys.clone(),
    };

    let mut client = ScramClient::new(&credential).expect("SCRAM credential");
    let first = client.client_first();
    let nonce = first.strip_prefix("n,,n=,r=").expect("client-first form");
    let server_first = replace(server_first, b"@N", nonce.as_bytes());
    if let Ok(client_final) = client.client_final(&server_first) {
        let sf = std::str::from_utf8(&server_first).expect("accepted as UTF-8");
        let server_nonce = attr(sf, 'r').expect("nonce");
        assert!(server_nonce.starts_with(nonce));
        assert!(client_final.starts_with(&format!("c=biws,r={server_nonce},p=")));
        let _ = client.verify_server_final(b"v=AAAA");
    }

    let mut server = ScramServer::new(keys);
    let mut client = ScramClient::new(&credential).expect("SCRAM credential");
    let server_first = server
        .server_first(client.client_first().as_bytes())
        .expect("server-first");
    let client_final = client
        .client_final(server_first.as_bytes())
        .expect("client-final");
    let (server_final, key) = server
        .server_final(client_final.as_bytes())
        .expect("an honest proof is accepted");
    assert_eq!(key, client_key);
    client
        .verify_server_final(server_final.as_bytes())
        .expect("an honest server signature verifies");
    assert!(server
        .keys()
        .is_some_and(|k: &ScramKeys| k.stored_key == <[u8; 32]>::from(Sha256::digest(client_key))));
}

fuzz_target!(|data: &[u8]| {
    let (selector, data) = take_u8(data);
    let (split, data) = take_u8(data);
    let split = usize::from(split).min(data.len());
    let (first, second) = data.split_at(split);

    verifier(data);
    server(selector & 1 != 0, first, second);
    client(first, second, u32::from(selector >> 6) + 1, data);
});
