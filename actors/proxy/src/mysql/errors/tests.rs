use super::*;
use molt_lms_wire::mysql::read_payload;

#[test]
fn every_kind_has_a_nonzero_errno_and_a_five_character_sqlstate() {
    for kind in ClientErrorKind::ALL {
        let (errno, state) = code(kind);
        assert!(errno >= 1000, "{kind:?}");
        assert!(state.iter().all(u8::is_ascii_alphanumeric), "{kind:?}");
    }
    assert_eq!(code(ClientErrorKind::AuthFailed).0, 1045);
    assert_eq!(&code(ClientErrorKind::BackendLost).1, b"08S01");
}

#[test]
fn the_err_packet_decodes_with_its_sequence_id_and_message() {
    let mut out = Vec::new();
    let e = ClientError::new(ClientErrorKind::Terminated, "ended by cutover attempt 7");
    encode(&e, 3, &mut out);
    let p = read_payload(&out, 3, 1 << 20).expect("ok").expect("ok");
    assert_eq!(p.consumed, out.len());
    let err = ErrPacket::decode(&p.bytes, CLIENT_PROTOCOL_41).expect("ok");
    assert_eq!(err.code, 1927);
    assert_eq!(err.sql_state, Some(*b"70100"));
    assert_eq!(err.message, "ended by cutover attempt 7");
}
