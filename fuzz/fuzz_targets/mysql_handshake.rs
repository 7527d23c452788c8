//! The MySQL connection phase: every `decode(payload)` of `mysql::handshake` on
//! arbitrary bytes.
//!
//! Invariants: what decodes re-encodes (where the encoder can carry it) to a payload
//! that decodes to the same packet; the greeting's scramble comes back padded with NULs
//! to 20 bytes as its encoder documents; AuthSwitchRequest and AuthMoreData re-encode
//! byte for byte; `ClientHandshake` tells the two client packets apart by length alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_wire::mysql::consts::capability::{CLIENT_SECURE_CONNECTION, CLIENT_SSL};
use molt_lms_wire::mysql::handshake::SSL_REQUEST_LEN;
use molt_lms_wire::mysql::{
    AuthMoreData, AuthSwitchRequest, ClientHandshake, HandshakeResponse41, HandshakeV10, SslRequest,
};

fuzz_target!(|payload: &[u8]| {
    if let Ok(greeting) = HandshakeV10::decode(payload) {
        assert!(greeting.auth_plugin_data.len() >= 8);
        let mut out = Vec::new();
        if greeting.encode(&mut out).is_ok() {
            let again = HandshakeV10::decode(&out).expect("greeting round trip");
            let mut expected = greeting.clone();
            if greeting.capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let n = expected.auth_plugin_data.len().max(20);
                expected.auth_plugin_data.resize(n, 0);
            }
            assert_eq!(again, expected);
        }
    }

    let ssl = SslRequest::decode(payload);
    if let Ok(req) = &ssl {
        assert_eq!(payload.len(), SSL_REQUEST_LEN);
        assert!(req.capabilities & CLIENT_SSL != 0);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(out.len(), SSL_REQUEST_LEN);
        assert_eq!(SslRequest::decode(&out).as_ref(), Ok(req));
    }

    let response = HandshakeResponse41::decode(payload);
    if let Ok(resp) = &response {
        let mut out = Vec::new();
        resp.encode(&mut out).expect("a decoded response encodes");
        assert!(out.len() <= payload.len());
        assert_eq!(HandshakeResponse41::decode(&out).as_ref(), Ok(resp));
    }

    match ClientHandshake::decode(payload) {
        Ok(ClientHandshake::SslRequest(req)) => assert_eq!(ssl, Ok(req)),
        Ok(ClientHandshake::Response(resp)) => {
            assert_ne!(payload.len(), SSL_REQUEST_LEN);
            assert_eq!(response, Ok(resp));
        }
        Err(e) if payload.len() == SSL_REQUEST_LEN => assert_eq!(ssl, Err(e)),
        Err(e) => assert_eq!(response, Err(e)),
    }

    if let Ok(switch) = AuthSwitchRequest::decode(payload) {
        let mut out = Vec::new();
        switch.encode(&mut out).expect("a decoded switch encodes");
        assert_eq!(out, payload);
    }
    if let Ok(more) = AuthMoreData::decode(payload) {
        let mut out = Vec::new();
        more.encode(&mut out);
        assert_eq!(out, payload);
    }
});
