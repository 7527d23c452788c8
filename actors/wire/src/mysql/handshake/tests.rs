use super::*;
use crate::mysql::consts::{auth_plugin, charset, mariadb_capability, status};
use crate::mysql::packet::read_payload;

/// Decodes a hex fixture.
fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The first packet (header included) MariaDB 10.11.19 (Debian 12) sent on a plain TCP
/// connection to 127.0.0.1:3306.
const MARIADB_10_11_GREETING: &str = "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b\
    6465623132753100080000003d274877417a636200fef72d0200ff8115000000000000\
    1d00000043675c796a282625262e543f006d7973716c5f6e61746976655f7061737377\
    6f726400";

/// What the MariaDB 10.11 `mariadb` client (libmariadb 3.3.20) answered to a greeting
/// like the one above: `-u molt_fixture -pnot-a-secret -D fixture_db --skip-ssl`, a user
/// that does not exist, so the auth response is a scramble of a throwaway password.
const LIBMARIADB_RESPONSE: &str = "e30000018ca2bf000000100021000000000000000000000000\
    000000000000001d0000006d6f6c745f666978747572650014bc3aba7dc74772676\
    4fe310408b0a8ff266dfb91666978747572655f6462006d7973716c5f6e61746976\
    655f70617373776f7264007f035f6f73054c696e75780c5f636c69656e745f6e616d\
    650a6c69626d617269616462045f7069640533323538360f5f636c69656e745f7665\
    7273696f6e06332e332e3230095f706c6174666f726d067838365f36340c70726f67\
    72616d5f6e616d65056d7973716c0c5f7365727665725f686f7374093132372e302e\
    302e31";

/// MariaDB 10.11's answer when that client asked for `caching_sha2_password`.
const MARIADB_AUTH_SWITCH: &str = "2c000002fe6d7973716c5f6e61746976655f70617373776f7264\
    003d7142372b727c3c52672f553d71443d4629387e00";

/// The payload of a captured packet, checking its sequence id on the way.
fn payload(fixture: &str, seq: u8) -> Vec<u8> {
    let bytes = hex(&fixture.replace(char::is_whitespace, ""));
    let p = read_payload(&bytes, seq, 1 << 20)
        .expect("valid")
        .expect("complete");
    assert_eq!(p.consumed, bytes.len());
    p.bytes.into_owned()
}

fn assert_every_prefix_fails<T: fmt::Debug>(
    what: &str,
    full: &[u8],
    decode: fn(&[u8]) -> Result<T, MysqlError>,
) {
    for cut in 0..full.len() {
        let got = decode(&full[..cut]);
        assert!(
            got.is_err(),
            "{what} cut at {cut} of {} decoded: {got:?}",
            full.len()
        );
    }
}

fn full_response() -> HandshakeResponse41 {
    HandshakeResponse41 {
        capabilities: CLIENT_PROTOCOL_41
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
            | CLIENT_CONNECT_WITH_DB
            | CLIENT_PLUGIN_AUTH
            | CLIENT_CONNECT_ATTRS
            | CLIENT_ZSTD_COMPRESSION_ALGORITHM
            | CLIENT_DEPRECATE_EOF,
        max_packet_size: 1 << 24,
        character_set: charset::UTF8MB4_GENERAL_CI,
        mariadb_capabilities: mariadb_capability::MARIADB_CLIENT_PROGRESS,
        username: "app".into(),
        auth_response: (1..=32).collect(),
        database: "shop".into(),
        auth_plugin_name: auth_plugin::CACHING_SHA2_PASSWORD.into(),
        connect_attrs: vec![
            ("_client_name".into(), "libmysql".into()),
            ("program_name".into(), "molt".into()),
        ],
        zstd_compression_level: 3,
    }
}

#[test]
fn mariadb_10_11_greeting_decodes_and_reencodes_byte_for_byte() {
    let bytes = payload(MARIADB_10_11_GREETING, 0);
    let g = HandshakeV10::decode(&bytes).expect("decodes");
    assert_eq!(g.server_version, "5.5.5-10.11.19-MariaDB-0+deb12u1");
    assert_eq!(g.connection_id, 8);
    assert_eq!(g.auth_plugin_data, b"=\'HwAzcbCg\\yj(&%&.T?");
    assert_eq!(g.capabilities, 0x81FF_F7FE);
    // A MariaDB server: CLIENT_MYSQL clear, extended flags in the reserved bytes.
    assert_eq!(g.capabilities & CLIENT_MYSQL, 0);
    assert_ne!(g.capabilities & CLIENT_PLUGIN_AUTH, 0);
    assert_ne!(g.capabilities & CLIENT_DEPRECATE_EOF, 0);
    assert_eq!(g.capabilities & CLIENT_SSL, 0);
    assert_eq!(g.mariadb_capabilities, 0x1D);
    assert_eq!(g.character_set, charset::UTF8MB4_GENERAL_CI);
    assert_eq!(g.status_flags, status::SERVER_STATUS_AUTOCOMMIT);
    assert_eq!(g.auth_plugin_name, auth_plugin::MYSQL_NATIVE_PASSWORD);
    let mut out = Vec::new();
    g.encode(&mut out).expect("encodes");
    assert_eq!(out, bytes);
}

#[test]
fn greeting_truncated_at_every_length_is_an_error() {
    let bytes = payload(MARIADB_10_11_GREETING, 0);
    assert_every_prefix_fails("greeting", &bytes, HandshakeV10::decode);
}

#[test]
fn mysql_style_greeting_round_trips() {
    let g = HandshakeV10 {
        server_version: "8.0.36".into(),
        connection_id: 0xDEAD_BEEF,
        auth_plugin_data: (b'a'..=b't').collect(),
        capabilities: CLIENT_MYSQL
            | CLIENT_PROTOCOL_41
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH
            | CLIENT_SSL,
        character_set: charset::UTF8MB4_0900_AI_CI,
        status_flags: status::SERVER_STATUS_AUTOCOMMIT,
        mariadb_capabilities: 0,
        auth_plugin_name: auth_plugin::CACHING_SHA2_PASSWORD.into(),
    };
    let mut out = Vec::new();
    g.encode(&mut out).expect("encodes");
    assert_eq!(HandshakeV10::decode(&out), Ok(g.clone()));
    // Without CLIENT_PLUGIN_AUTH: length byte 0, part 2 still 13 bytes, no plugin name.
    let old = HandshakeV10 {
        capabilities: CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        auth_plugin_name: String::new(),
        ..g
    };
    let mut out = Vec::new();
    old.encode(&mut out).expect("encodes");
    assert_eq!(HandshakeV10::decode(&out), Ok(old));
}

#[test]
fn greeting_of_another_protocol_version_or_an_err_is_refused() {
    let mut bytes = payload(MARIADB_10_11_GREETING, 0);
    bytes[0] = 9;
    assert_eq!(
        HandshakeV10::decode(&bytes),
        Err(MysqlError::UnsupportedProtocolVersion(9))
    );
    // "Too many connections" arrives as an ERR packet in place of the greeting.
    assert_eq!(
        HandshakeV10::decode(b"\xff\x10\x04Too many connections"),
        Err(MysqlError::UnsupportedProtocolVersion(0xFF))
    );
}

#[test]
fn greeting_encoder_refuses_what_the_wire_cannot_carry() {
    let mut out = Vec::new();
    let short = HandshakeV10 {
        auth_plugin_data: vec![1; 7],
        ..HandshakeV10::default()
    };
    assert!(matches!(
        short.encode(&mut out),
        Err(MysqlError::Unencodable(_))
    ));
    let nul = HandshakeV10 {
        server_version: "8.0\0evil".into(),
        auth_plugin_data: vec![1; 20],
        ..HandshakeV10::default()
    };
    assert!(nul.encode(&mut out).is_err());
    let no_room = HandshakeV10 {
        auth_plugin_data: vec![1; 20],
        capabilities: CLIENT_PROTOCOL_41,
        ..HandshakeV10::default()
    };
    assert!(no_room.encode(&mut out).is_err());
}

#[test]
fn libmariadb_response_decodes_and_reencodes_byte_for_byte() {
    let bytes = payload(LIBMARIADB_RESPONSE, 1);
    let r = match ClientHandshake::decode(&bytes).expect("decodes") {
        ClientHandshake::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    };
    assert_eq!(r.capabilities, 0x00BF_A28C);
    assert_eq!(r.max_packet_size, 1 << 20);
    assert_eq!(r.character_set, 33);
    assert_eq!(r.mariadb_capabilities, 0x1D);
    assert_eq!(r.username, "molt_fixture");
    assert_eq!(r.auth_response.len(), 20);
    assert_eq!(r.database, "fixture_db");
    assert_eq!(r.auth_plugin_name, auth_plugin::MYSQL_NATIVE_PASSWORD);
    let attrs: Vec<(&str, &str)> = r
        .connect_attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(attrs[0], ("_os", "Linux"));
    assert_eq!(attrs[1], ("_client_name", "libmariadb"));
    assert_eq!(attrs.len(), 7);
    assert_eq!(attrs[6], ("_server_host", "127.0.0.1"));
    let mut out = Vec::new();
    r.encode(&mut out).expect("encodes");
    assert_eq!(out, bytes);
}

#[test]
fn full_response_round_trips_and_every_truncation_fails() {
    let resp = full_response();
    let mut out = Vec::new();
    resp.encode(&mut out).expect("encodes");
    assert_eq!(HandshakeResponse41::decode(&out), Ok(resp));
    assert_every_prefix_fails("response", &out, HandshakeResponse41::decode);
    assert_every_prefix_fails("client handshake", &out, ClientHandshake::decode);
    let captured = payload(LIBMARIADB_RESPONSE, 1);
    assert_every_prefix_fails("captured response", &captured, HandshakeResponse41::decode);
}

#[test]
fn auth_response_has_three_encodings() {
    let base = HandshakeResponse41 {
        capabilities: CLIENT_PROTOCOL_41,
        username: "u".into(),
        auth_response: b"pw".to_vec(),
        ..HandshakeResponse41::default()
    };
    let prefix = SSL_REQUEST_LEN + 2; // fixed part, "u\0"
    for (extra, wire) in [
        (CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, &b"\x02pw"[..]),
        (CLIENT_SECURE_CONNECTION, b"\x02pw"),
        (0, b"pw\0"),
    ] {
        let r = HandshakeResponse41 {
            capabilities: base.capabilities | extra,
            ..base.clone()
        };
        let mut out = Vec::new();
        r.encode(&mut out).expect("encodes");
        assert_eq!(&out[prefix..], wire, "flags {extra:#x}");
        assert_eq!(HandshakeResponse41::decode(&out), Ok(r));
    }
    // A lenenc auth response may pass 250 bytes (prefix 0xFC); the 1-byte form may not
    // pass 255.
    let long = HandshakeResponse41 {
        capabilities: CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
        auth_response: vec![7; 300],
        ..base.clone()
    };
    let mut out = Vec::new();
    long.encode(&mut out).expect("encodes");
    assert_eq!(HandshakeResponse41::decode(&out), Ok(long.clone()));
    let short_form = HandshakeResponse41 {
        capabilities: CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        ..long
    };
    assert!(short_form.encode(&mut Vec::new()).is_err());
    let nul = HandshakeResponse41 {
        auth_response: b"p\0w".to_vec(),
        ..base
    };
    assert!(nul.encode(&mut Vec::new()).is_err());
}

#[test]
fn ssl_request_is_told_apart_by_its_length() {
    let req = SslRequest {
        capabilities: CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        max_packet_size: 1 << 24,
        character_set: charset::UTF8MB4_GENERAL_CI,
        mariadb_capabilities: 0x1D,
    };
    let mut out = Vec::new();
    req.encode(&mut out);
    assert_eq!(out.len(), SSL_REQUEST_LEN);
    let expected = SslRequest {
        capabilities: req.capabilities | CLIENT_SSL,
        ..req
    };
    assert_eq!(
        ClientHandshake::decode(&out),
        Ok(ClientHandshake::SslRequest(expected))
    );
    assert_every_prefix_fails("SSLRequest", &out, SslRequest::decode);
    // The full response that follows over TLS also has CLIENT_SSL.
    let resp = HandshakeResponse41 {
        capabilities: full_response().capabilities | CLIENT_SSL,
        ..full_response()
    };
    let mut out = Vec::new();
    resp.encode(&mut out).expect("encodes");
    assert_eq!(
        ClientHandshake::decode(&out),
        Ok(ClientHandshake::Response(resp))
    );
    // 32 bytes without CLIENT_SSL is neither.
    let mut plain = Vec::new();
    SslRequest::default().encode(&mut plain);
    plain[1] &= !((CLIENT_SSL >> 8) as u8);
    plain[1] |= (CLIENT_PROTOCOL_41 >> 8) as u8;
    assert_eq!(
        ClientHandshake::decode(&plain),
        Err(MysqlError::Malformed("SSLRequest packet"))
    );
}

#[test]
fn pre_41_clients_are_refused() {
    // HandshakeResponse320: 2-byte capabilities without CLIENT_PROTOCOL_41.
    let old = b"\x85\x24\x00\x00\x00old\0GDSCQYR_";
    assert_eq!(
        ClientHandshake::decode(old),
        Err(MysqlError::Protocol41Required)
    );
}

#[test]
fn debug_hides_the_auth_response() {
    let r = HandshakeResponse41 {
        auth_response: b"hunter2".to_vec(),
        ..full_response()
    };
    let shown = format!("{r:?}");
    assert!(!shown.contains("104, 117"), "{shown}"); // "hu"
    assert!(shown.contains("<7 bytes>"), "{shown}");
}

#[test]
fn mariadb_auth_switch_decodes_and_round_trips() {
    let bytes = payload(MARIADB_AUTH_SWITCH, 2);
    let sw = AuthSwitchRequest::decode(&bytes).expect("decodes");
    assert_eq!(sw.plugin_name, auth_plugin::MYSQL_NATIVE_PASSWORD);
    assert_eq!(sw.data.len(), 21);
    assert_eq!(sw.data.last(), Some(&0));
    let mut out = Vec::new();
    sw.encode(&mut out).expect("encodes");
    assert_eq!(out, bytes);
    assert_every_prefix_fails(
        "auth switch",
        &bytes[..bytes.len() - sw.data.len()],
        AuthSwitchRequest::decode,
    );
    // The pre-4.1 "use the old password" form is a lone 0xFE.
    assert!(AuthSwitchRequest::decode(&[header::AUTH_SWITCH]).is_err());
    assert!(AuthSwitchRequest::decode(b"\x01x\0").is_err());
}

#[test]
fn auth_more_data_round_trips() {
    let more = AuthMoreData {
        data: vec![crate::mysql::consts::caching_sha2::FAST_AUTH_SUCCESS],
    };
    let mut out = Vec::new();
    more.encode(&mut out);
    assert_eq!(out, [0x01, 0x03]);
    assert_eq!(AuthMoreData::decode(&out), Ok(more));
    assert!(AuthMoreData::decode(&[]).is_err());
    assert!(AuthMoreData::decode(&[0x00, 0x03]).is_err());
}

/// A small deterministic generator, so the garbage below is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn decoders_survive_garbage_and_bit_flips() {
    let decode_all = |b: &[u8]| {
        let _ = HandshakeV10::decode(b);
        let _ = ClientHandshake::decode(b);
        let _ = HandshakeResponse41::decode(b);
        let _ = SslRequest::decode(b);
        let _ = AuthSwitchRequest::decode(b);
        let _ = AuthMoreData::decode(b);
    };
    let mut rng = Lcg(7);
    for _ in 0..5_000 {
        let len = (rng.next() % 300) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        decode_all(&garbage);
    }
    let fixtures = [
        payload(MARIADB_10_11_GREETING, 0),
        payload(LIBMARIADB_RESPONSE, 1),
        payload(MARIADB_AUTH_SWITCH, 2),
    ];
    for fixture in fixtures {
        for _ in 0..5_000 {
            let mut m = fixture.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % m.len();
                m[at] ^= 1 << (rng.next() % 8);
            }
            decode_all(&m);
        }
    }
}
