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
fn error_fields_in_a_client_encoding_other_than_utf8_are_still_read() {
    // A localized server in LATIN1: the severity and message hold bytes that are not UTF-8.
    let body = b"SERREUR\0C42601\0Merreur de syntaxe pr\xe8s\0\0";
    let (code, msg) = error_fields(body);
    assert_eq!(code, "42601");
    assert_eq!(msg, "erreur de syntaxe pr\u{fffd}s");
    let body = b"SF\xc9HLER\0C42601\0Mx\0\0";
    assert_eq!(error_fields(body).0, "42601");
}

#[test]
fn sasl_offer_is_nul_terminated_list() {
    let mut out = Vec::new();
    authentication_sasl(&mut out, &["SCRAM-SHA-256"]);
    assert_eq!(&out[5..9], &10i32.to_be_bytes());
    assert_eq!(&out[9..], b"SCRAM-SHA-256\0\0");
}
