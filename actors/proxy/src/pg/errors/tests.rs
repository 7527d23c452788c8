use super::*;
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::tag::backend::ERROR_RESPONSE;

#[test]
fn sqlstates_are_postgresqls_own() {
    for (kind, code) in [
        (ClientErrorKind::AuthFailed, "28P01"),
        (ClientErrorKind::AuthRejected, "28000"),
        (ClientErrorKind::ProtocolViolation, "08P01"),
        (ClientErrorKind::Unsupported, "0A000"),
        (ClientErrorKind::BackendUnreachable, "08006"),
        (ClientErrorKind::BackendLost, "08006"),
        (ClientErrorKind::SwitchFailed, "08006"),
        (ClientErrorKind::ShuttingDown, "57P01"),
        (ClientErrorKind::Terminated, "57P01"),
        (ClientErrorKind::CannotConnectNow, "57P03"),
    ] {
        assert_eq!(sqlstate(kind), code, "{kind:?}");
    }
}

#[test]
fn a_client_error_is_one_fatal_error_response() {
    let mut out = Vec::new();
    encode_fatal(
        &ClientError::new(ClientErrorKind::BackendLost, "lost it"),
        &mut out,
    );
    assert_eq!(out[0], ERROR_RESPONSE);
    let len = u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize;
    assert_eq!(len + 1, out.len());
    assert_eq!(
        error_fields(&out[5..]),
        ("08006".to_owned(), "lost it".to_owned())
    );
}
