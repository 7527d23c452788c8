use super::*;
use crate::mysql::consts::status::{
    SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS,
};
use crate::mysql::packet::read_payload;

const CAPS_41: u32 = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;

fn ok_bytes(ok: &OkPacket, caps: u32) -> Vec<u8> {
    let mut out = Vec::new();
    ok.encode(&mut out, caps);
    out
}

/// MariaDB 10.11's answer to a login as a user that does not exist (packet header
/// included).
const MARIADB_ACCESS_DENIED: &[u8] = b"\x50\x00\x00\x02\xff\x15\x04#28000Access denied for \
    user 'molt_fixture'@'127.0.0.1' (using password: YES)";

#[test]
fn documented_ok_example_decodes() {
    // dev.mysql.com OK_Packet example: `07 00 00 02 00 00 00 02 00 00 00`.
    let p = read_payload(b"\x07\0\0\x02\0\0\0\x02\0\0\0", 2, 64)
        .expect("valid")
        .expect("complete");
    let ok = OkPacket::decode(&p.bytes, CAPS_41).expect("decodes");
    assert_eq!(
        ok,
        OkPacket {
            status_flags: SERVER_STATUS_AUTOCOMMIT,
            ..OkPacket::default()
        }
    );
    assert_eq!(ok_bytes(&ok, CAPS_41), &*p.bytes);
}

#[test]
fn ok_round_trips_under_each_capability_set() {
    let full = OkPacket {
        eof_header: false,
        affected_rows: 300,
        last_insert_id: 0x1_0000_0000,
        status_flags: SERVER_STATUS_IN_TRANS | SERVER_SESSION_STATE_CHANGED,
        warnings: 2,
        info: b"Rows matched: 1  Changed: 1  Warnings: 0".to_vec(),
        session_state: b"\x01\x05\x04shop".to_vec(),
    };
    let tracked = CAPS_41 | CLIENT_SESSION_TRACK;
    assert_eq!(
        OkPacket::decode(&ok_bytes(&full, tracked), tracked),
        Ok(full.clone())
    );

    // State changed but nothing to say: the info is still written (empty) before it.
    let quiet = OkPacket {
        info: Vec::new(),
        ..full.clone()
    };
    assert_eq!(
        OkPacket::decode(&ok_bytes(&quiet, tracked), tracked),
        Ok(quiet)
    );

    // Without session tracking the info is still lenenc, the state block is not sent.
    let untracked = OkPacket {
        session_state: Vec::new(),
        ..full.clone()
    };
    let bytes = ok_bytes(&untracked, CAPS_41);
    assert_eq!(bytes[bytes.len() - untracked.info.len() - 1], 40);
    assert_eq!(OkPacket::decode(&bytes, CAPS_41), Ok(untracked));

    // Nothing after the warnings when there is no info.
    let bare = OkPacket {
        affected_rows: 1,
        status_flags: SERVER_STATUS_AUTOCOMMIT,
        ..OkPacket::default()
    };
    assert_eq!(ok_bytes(&bare, tracked), [0, 1, 0, 2, 0, 0, 0]);

    // Pre-4.1: status only with CLIENT_TRANSACTIONS, no warnings.
    let old = OkPacket {
        status_flags: SERVER_STATUS_IN_TRANS,
        ..bare.clone()
    };
    assert_eq!(ok_bytes(&old, CLIENT_TRANSACTIONS), [0, 1, 0, 1, 0]);
    assert_eq!(
        OkPacket::decode(&ok_bytes(&old, CLIENT_TRANSACTIONS), CLIENT_TRANSACTIONS),
        Ok(old)
    );
    assert_eq!(ok_bytes(&bare, 0), [0, 1, 0]);
}

#[test]
fn ok_with_eof_header_round_trips() {
    let ok = OkPacket {
        eof_header: true,
        status_flags: SERVER_STATUS_AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS,
        ..OkPacket::default()
    };
    let caps = CAPS_41 | CLIENT_DEPRECATE_EOF;
    let bytes = ok_bytes(&ok, caps);
    assert_eq!(bytes, [0xFE, 0, 0, 0x0A, 0, 0, 0]);
    assert_eq!(OkPacket::decode(&bytes, caps), Ok(ok));
}

#[test]
fn malformed_ok_packets_are_errors() {
    let bytes = ok_bytes(
        &OkPacket {
            info: b"x".to_vec(),
            ..OkPacket::default()
        },
        CAPS_41,
    );
    for cut in 0..bytes.len() - 2 {
        assert!(
            OkPacket::decode(&bytes[..cut], CAPS_41).is_err(),
            "cut {cut}"
        );
    }
    assert_eq!(
        OkPacket::decode(&[0xFF, 0, 0, 0, 0, 0, 0], CAPS_41),
        Err(MysqlError::Malformed("OK packet"))
    );
    // Affected rows may not be NULL.
    assert!(OkPacket::decode(&[0, 0xFB, 0, 0, 0, 0, 0], CAPS_41).is_err());
}

#[test]
fn mariadb_access_denied_decodes_and_reencodes_byte_for_byte() {
    let p = read_payload(MARIADB_ACCESS_DENIED, 2, 1024)
        .expect("valid")
        .expect("complete");
    let err = ErrPacket::decode(&p.bytes, CAPS_41).expect("decodes");
    assert_eq!(err.code, error_code::ER_ACCESS_DENIED_ERROR);
    assert_eq!(err.sql_state, Some(error_code::STATE_ACCESS_DENIED));
    assert_eq!(
        err.message,
        "Access denied for user 'molt_fixture'@'127.0.0.1' (using password: YES)"
    );
    let mut out = Vec::new();
    err.encode(&mut out, CAPS_41);
    assert_eq!(out, &*p.bytes);
}

#[test]
fn err_without_sql_state() {
    // Sent before capabilities are agreed: no marker even to a 4.1 client.
    let e = ErrPacket::decode(b"\xff\x10\x04Too many connections", CAPS_41).expect("decodes");
    assert_eq!(e.code, error_code::ER_CON_COUNT_ERROR);
    assert_eq!(e.sql_state, None);
    assert_eq!(e.message, "Too many connections");
    let mut out = Vec::new();
    e.encode(&mut out, 0);
    assert_eq!(out, b"\xff\x10\x04Too many connections");
    // Under 4.1 a missing state is sent as HY000.
    let mut out = Vec::new();
    e.encode(&mut out, CAPS_41);
    assert_eq!(&out[3..9], b"#HY000");
    assert!(ErrPacket::decode(b"\xff\x10", CAPS_41).is_err());
    assert!(ErrPacket::decode(b"\xff\x10\x04#280", CAPS_41).is_err());
    assert!(ErrPacket::decode(b"\x00\x10\x04", CAPS_41).is_err());
    // Non-UTF-8 message bytes are replaced, not refused.
    let latin1 = ErrPacket::decode(b"\xff\x10\x04caf\xe9", 0).expect("decodes");
    assert_eq!(latin1.message, "caf\u{FFFD}");
}

#[test]
fn err_for_a_protocol_error_carries_its_code_and_state() {
    let e = ErrPacket::from(&MysqlError::OutOfOrder {
        expected: 1,
        got: 3,
    });
    assert_eq!(e.code, error_code::ER_NET_PACKETS_OUT_OF_ORDER);
    assert_eq!(e.sql_state, Some(*b"08S01"));
    assert_eq!(
        e.message,
        "packets out of order: expected sequence id 1, got 3"
    );
    let e = ErrPacket::from(&MysqlError::PayloadTooLarge {
        len: 70_000_000,
        limit: 67_108_864,
    });
    assert_eq!(e.code, error_code::ER_NET_PACKET_TOO_LARGE);
}

#[test]
fn eof_round_trips_and_is_told_from_rows() {
    // dev.mysql.com EOF_Packet example: `05 00 00 05 fe 00 00 02 00`.
    let p = read_payload(b"\x05\0\0\x05\xfe\0\0\x02\0", 5, 64)
        .expect("valid")
        .expect("complete");
    let eof = EofPacket::decode(&p.bytes, CAPS_41).expect("decodes");
    assert_eq!(
        eof,
        EofPacket {
            warnings: 0,
            status_flags: SERVER_STATUS_AUTOCOMMIT
        }
    );
    let mut out = Vec::new();
    eof.encode(&mut out, CAPS_41);
    assert_eq!(out, &*p.bytes);
    assert!(is_eof(&out));
    let mut old = Vec::new();
    eof.encode(&mut old, 0);
    assert_eq!(old, [0xFE]);
    assert_eq!(EofPacket::decode(&old, 0), Ok(EofPacket::default()));
    assert!(EofPacket::decode(&old, CAPS_41).is_err());

    // A text row whose first column is long: 0xFE then an 8-byte length.
    let row = [0xFE, 0, 0, 0, 1, 0, 0, 0, 0];
    assert!(!is_eof(&row));
    assert!(EofPacket::decode(&row, CAPS_41).is_err());
    assert!(!is_eof(&[]));
    assert!(!is_eof(&[0x00, 0, 0, 2, 0, 0, 0]));
}

#[test]
fn rows_end_at_eof_or_at_an_ok_with_the_eof_header() {
    let deprecate = CAPS_41 | CLIENT_DEPRECATE_EOF;
    let eof_ok = ok_bytes(
        &OkPacket {
            eof_header: true,
            status_flags: SERVER_SESSION_STATE_CHANGED,
            session_state: b"\x00\x0e\x0aautocommit\x02ON".to_vec(),
            ..OkPacket::default()
        },
        deprecate | CLIENT_SESSION_TRACK,
    );
    assert!(eof_ok.len() > EOF_MAX_LEN);
    assert!(ends_rows(&eof_ok, deprecate));
    assert!(!ends_rows(&eof_ok, CAPS_41));
    assert!(ends_rows(&[0xFE, 0, 0, 2, 0], CAPS_41));
    let mut huge_row = vec![0u8; MAX_PAYLOAD];
    huge_row[0] = 0xFE;
    assert!(!ends_rows(&huge_row, deprecate));
    assert!(!ends_rows(b"\x011", deprecate));
}

#[test]
fn status_flags_of_ok_eof_and_others() {
    let in_trans = SERVER_STATUS_IN_TRANS | SERVER_STATUS_AUTOCOMMIT;
    let ok = OkPacket {
        affected_rows: 70_000,
        last_insert_id: 5,
        status_flags: in_trans,
        info: b"Records: 2  Duplicates: 0  Warnings: 0".to_vec(),
        ..OkPacket::default()
    };
    assert_eq!(
        status_flags(&ok_bytes(&ok, CAPS_41), CAPS_41),
        Some(in_trans)
    );
    assert_eq!(
        status_flags(&ok_bytes(&ok, CLIENT_TRANSACTIONS), CLIENT_TRANSACTIONS),
        Some(in_trans)
    );
    assert_eq!(status_flags(&ok_bytes(&ok, 0), 0), None);

    let mut eof = Vec::new();
    EofPacket {
        warnings: 1,
        status_flags: in_trans,
    }
    .encode(&mut eof, CAPS_41);
    assert_eq!(status_flags(&eof, CAPS_41), Some(in_trans));
    assert_eq!(status_flags(&[0xFE], 0), None);

    let deprecate = CAPS_41 | CLIENT_DEPRECATE_EOF;
    let eof_ok = OkPacket {
        eof_header: true,
        ..ok
    };
    assert_eq!(
        status_flags(&ok_bytes(&eof_ok, deprecate), deprecate),
        Some(in_trans)
    );

    assert_eq!(
        status_flags(MARIADB_ACCESS_DENIED.get(4..).expect("payload"), CAPS_41),
        None
    );
    assert_eq!(
        status_flags(&[0xFE, 0, 0, 0, 1, 0, 0, 0, 0, b'x'], CAPS_41),
        None
    );
    assert_eq!(status_flags(&[], CAPS_41), None);
    assert_eq!(status_flags(&[0, 0, 0, 2], CAPS_41), None);
}

#[test]
fn decoders_survive_every_short_input() {
    // All payloads of up to 3 bytes, and 0xFE/0x00/0xFF-led ones of up to 12 under
    // every capability mix that changes the layout.
    let caps = [
        0,
        CLIENT_TRANSACTIONS,
        CAPS_41,
        CAPS_41 | CLIENT_SESSION_TRACK,
        CAPS_41 | CLIENT_DEPRECATE_EOF | CLIENT_SESSION_TRACK,
    ];
    let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
    for a in 0..=255u8 {
        inputs.push(vec![a]);
        for b in [0u8, 0x40, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF] {
            inputs.push(vec![a, b]);
            inputs.push(vec![a, b, 0xFE]);
        }
    }
    for lead in [0x00u8, 0xFE, 0xFF] {
        for len in 1..=12 {
            for fill in [0x00u8, 0x23, 0xFC, 0xFE, 0xFF] {
                let mut v = vec![fill; len];
                v[0] = lead;
                inputs.push(v);
            }
        }
    }
    for input in &inputs {
        for &c in &caps {
            let _ = OkPacket::decode(input, c);
            let _ = ErrPacket::decode(input, c);
            let _ = EofPacket::decode(input, c);
            let _ = status_flags(input, c);
            let _ = ends_rows(input, c);
        }
    }
}
