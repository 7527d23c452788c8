use super::*;

#[test]
fn startup_round_trips_and_keeps_parameter_order() {
    let params = vec![
        ("user".to_owned(), "app".to_owned()),
        ("database".to_owned(), "shop".to_owned()),
        ("application_name".to_owned(), "psql".to_owned()),
    ];
    let bytes = startup_message(&params);
    let (p, n) = decode_startup(&bytes).expect("valid").expect("complete");
    assert_eq!(n, bytes.len());
    assert_eq!(p, StartupPacket::Startup { params });
    assert_eq!(decode_startup(&bytes[..bytes.len() - 1]), Ok(None));
}

#[test]
fn garbage_startup_packets_are_errors_not_panics() {
    assert!(decode_startup(b"GET / HTTP/1.1\r\n").is_err());
    assert!(decode_startup(&[0, 0, 0, 3]).is_err());
    let mut v = startup_message(&[("user".into(), "x".into())]);
    v[7] = 1; // protocol 3.1 is fine, 4.x is not
    assert!(decode_startup(&v).expect("3.1 ok").is_some());
    v[5] = 4;
    assert!(matches!(
        decode_startup(&v),
        Err(ProtocolError::UnsupportedProtocol { major: 4, .. })
    ));
    // A name without a value.
    let mut bad = startup_message(&[]);
    bad.truncate(8);
    bad.extend_from_slice(b"user\0");
    let len = bad.len() as u32;
    bad[..4].copy_from_slice(&len.to_be_bytes());
    assert!(decode_startup(&bad).is_err());
}

#[test]
fn cancel_and_ssl_requests_decode() {
    let c = cancel_request(42, -7);
    assert_eq!(
        decode_startup(&c),
        Ok(Some((
            StartupPacket::Cancel {
                pid: 42,
                secret: -7
            },
            16
        )))
    );
    assert_eq!(
        decode_startup(&ssl_request()),
        Ok(Some((StartupPacket::SslRequest, 8)))
    );
}

#[test]
fn parse_and_close_bodies() {
    assert_eq!(
        parse_statement(b"s1\0select $1\0\0\0"),
        Some((&b"s1"[..], &b"select $1"[..]))
    );
    assert_eq!(closed_statement(b"Ss1\0"), Some(&b"s1"[..]));
    assert_eq!(closed_statement(b"Pp1\0"), None);
    assert_eq!(bound_statement(b"\0s1\0\0\0\0\0\0\0"), Some(&b"s1"[..]));
}

#[test]
fn texts_in_a_client_encoding_other_than_utf8_are_read_as_bytes() {
    // 'café' in LATIN1: 0xE9 is not UTF-8 on its own.
    assert_eq!(
        query_text(b"SELECT 'caf\xe9'\0"),
        Some(&b"SELECT 'caf\xe9'"[..])
    );
    assert_eq!(
        parse_statement(b"n\xe9\0SELECT 'caf\xe9'\0\0\0"),
        Some((&b"n\xe9"[..], &b"SELECT 'caf\xe9'"[..]))
    );
    assert_eq!(closed_statement(b"Sn\xe9\0"), Some(&b"n\xe9"[..]));
    // Still malformed without the terminator.
    assert_eq!(query_text(b"SELECT 1"), None);
}

#[test]
fn a_repeated_startup_parameter_is_a_protocol_violation() {
    let twice = startup_message(&[
        ("user".into(), "app".into()),
        ("database".into(), "shop".into()),
        ("user".into(), "postgres".into()),
    ]);
    assert_eq!(
        decode_startup(&twice),
        Err(ProtocolError::DuplicateStartupParameter("user".into()))
    );
    let long = "x".repeat(1000);
    let twice = startup_message(&[(long.clone(), "1".into()), (long, "2".into())]);
    match decode_startup(&twice) {
        Err(ProtocolError::DuplicateStartupParameter(name)) => assert_eq!(name.len(), 64),
        other => panic!("{other:?}"),
    }
}
