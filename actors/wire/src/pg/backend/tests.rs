use super::*;

#[test]
fn error_response_fields_read_back() {
    let mut out = Vec::new();
    error_response(
        &mut out,
        Severity::Fatal,
        "28P01",
        "password authentication failed",
    );
    assert_eq!(out[0], b'E');
    let (code, msg) = error_fields(&out[5..]);
    assert_eq!(code, "28P01");
    assert_eq!(msg, "password authentication failed");
}

#[test]
fn sasl_offer_is_nul_terminated_list() {
    let mut out = Vec::new();
    authentication_sasl(&mut out, &["SCRAM-SHA-256"]);
    assert_eq!(&out[5..9], &10i32.to_be_bytes());
    assert_eq!(&out[9..], b"SCRAM-SHA-256\0\0");
}
