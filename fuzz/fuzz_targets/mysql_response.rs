//! MySQL generic responses: OK, ERR and EOF packets decoded under arbitrary capabilities,
//! and the checks a relay makes without decoding (`is_eof`, `ends_rows`, `status_flags`).
//!
//! Invariants: what decodes re-encodes under the same capabilities to a payload that
//! decodes to the same packet (an ERR's missing SQLSTATE becomes HY000 under 4.1, as the
//! encoder documents); `status_flags` agrees with the decoded OK or EOF packet; an EOF
//! is never longer than 8 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::take_u32;
use molt_lms_wire::mysql::consts::capability::{
    CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41, CLIENT_TRANSACTIONS,
};
use molt_lms_wire::mysql::consts::error_code::STATE_GENERAL;
use molt_lms_wire::mysql::response::EOF_MAX_LEN;
use molt_lms_wire::mysql::{ends_rows, is_eof, status_flags, EofPacket, ErrPacket, OkPacket};
use molt_lms_wire::mysql::{MysqlError, MAX_PAYLOAD};

fuzz_target!(|data: &[u8]| {
    let (caps, payload) = take_u32(data);
    let status = status_flags(payload, caps);
    let eof = is_eof(payload);
    if eof {
        assert!(payload.len() <= EOF_MAX_LEN);
    }
    let ends = ends_rows(payload, caps);
    if caps & CLIENT_DEPRECATE_EOF == 0 {
        assert_eq!(ends, eof);
    } else {
        assert!(!ends || payload.len() < MAX_PAYLOAD);
    }

    if let Ok(ok) = OkPacket::decode(payload, caps) {
        let mut out = Vec::new();
        ok.encode(&mut out, caps);
        assert_eq!(
            OkPacket::decode(&out, caps).as_ref(),
            Ok(&ok),
            "OK round trip"
        );
        let has_status = caps & (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS) != 0;
        if !ok.eof_header {
            assert_eq!(status, has_status.then_some(ok.status_flags));
        } else if caps & CLIENT_DEPRECATE_EOF != 0 {
            assert_eq!(status, has_status.then_some(ok.status_flags));
        }
        if !has_status {
            assert_eq!((ok.status_flags, ok.warnings), (0, 0));
        }
    }

    if let Ok(err) = ErrPacket::decode(payload, caps) {
        let mut out = Vec::new();
        err.encode(&mut out, caps);
        let mut expected = err.clone();
        if caps & CLIENT_PROTOCOL_41 != 0 {
            expected.sql_state = Some(err.sql_state.unwrap_or(STATE_GENERAL));
        } else {
            assert_eq!(err.sql_state, None);
        }
        assert_eq!(
            ErrPacket::decode(&out, caps),
            Ok(expected),
            "ERR round trip"
        );
    }

    match EofPacket::decode(payload, caps) {
        Ok(e) => {
            assert!(eof);
            let mut out = Vec::new();
            e.encode(&mut out, caps);
            assert_eq!(EofPacket::decode(&out, caps), Ok(e), "EOF round trip");
            if caps & CLIENT_DEPRECATE_EOF == 0 {
                let expected = (caps & CLIENT_PROTOCOL_41 != 0).then_some(e.status_flags);
                assert_eq!(status, expected);
            }
        }
        Err(e) => assert!(!eof || matches!(e, MysqlError::Truncated(_))),
    }
});
