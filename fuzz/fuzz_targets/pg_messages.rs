//! PostgreSQL message bodies: every parser in `pg::backend` and `pg::frontend` on the
//! same arbitrary body, and the encoders the proxy answers clients with.
//!
//! Invariants: a parser never reports more bytes than the body has; a DataRow it accepts
//! holds the bytes its lengths name; what the encoders write frames correctly and parses
//! back to what went in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::take_u8;
use molt_lms_wire::pg::backend::{self, Severity};
use molt_lms_wire::pg::codec::{cstr, header, put_message, HEADER_LEN};
use molt_lms_wire::pg::frontend;

/// The body of the one message `out` holds, checking its header.
fn body_of(out: &[u8], tag: u8) -> &[u8] {
    let (t, total) = header(out).expect("valid header").expect("complete");
    assert_eq!(t, tag);
    assert_eq!(
        total,
        out.len(),
        "length field disagrees with what was written"
    );
    &out[HEADER_LEN..]
}

/// `s` as text without NULs, as the encoders' callers must give it.
fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).replace('\0', "")
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = take_u8(data);

    // Parsers, on arbitrary bytes.
    let (code, message) = backend::error_fields(body);
    // Read in the client's encoding: a byte that is not UTF-8 becomes one replacement
    // character, so each character the fields hold took at least one byte of the body.
    assert!(code.chars().count() + message.chars().count() <= body.len());
    if let Some((name, value)) = backend::parameter_status(body) {
        assert!(name.len() + value.len() + 2 <= body.len());
    }
    if let Some(fields) = backend::row_description(body) {
        // Characters, not bytes: a name byte that is not UTF-8 reads as one replacement
        // character.
        let names: usize = fields.iter().map(|(n, _)| n.chars().count() + 19).sum();
        assert!(2 + names <= body.len());
    }
    if let Some(fields) = backend::data_row_fields(body) {
        // A negative count reads as no fields, any negative length as NULL.
        let count = i16::from_be_bytes([body[0], body[1]]);
        assert_eq!(fields.len(), count.max(0) as usize);
        let mut at = 2;
        for f in &fields {
            let len = i32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
            at += 4;
            match f {
                None => assert!(len < 0),
                Some(v) => {
                    assert_eq!(len as usize, v.len());
                    assert_eq!(&body[at..at + v.len()], *v, "DataRow read other bytes");
                    at += v.len();
                }
            }
        }
    }
    if let Some((code, payload)) = backend::authentication_code(body) {
        assert_eq!(payload.len() + 4, body.len());
        let mut out = Vec::new();
        backend::authentication(&mut out, code, payload);
        assert_eq!(body_of(&out, b'R'), body);
    }
    if let Ok((mech, data)) = frontend::sasl_initial_response(body) {
        assert_eq!(mech.len() + 1 + 4 + data.len(), body.len());
    }
    if let Some(q) = frontend::query_text(body) {
        assert!(q.len() < body.len());
    }
    if let Some((name, query)) = frontend::parse_statement(body) {
        assert!(name.len() + query.len() + 2 <= body.len());
    }
    if let Some(name) = frontend::bound_statement(body) {
        assert!(name.len() + 2 <= body.len());
    }
    if let Some(name) = frontend::closed_statement(body) {
        assert!(name.len() + 2 <= body.len());
    }

    // Encoders, on values taken from the same bytes.
    let (left, right) = body.split_at(usize::from(selector) % (body.len() + 1));
    let (code, message) = (text(left), text(right));
    let severity = if selector & 1 == 0 {
        Severity::Error
    } else {
        Severity::Fatal
    };
    let mut out = Vec::new();
    backend::error_response(&mut out, severity, &code, &message);
    assert_eq!(
        backend::error_fields(body_of(&out, b'E')),
        (code.clone(), message.clone())
    );

    let mut out = Vec::new();
    let mechanisms: Vec<&str> = [code.as_str(), message.as_str()]
        .into_iter()
        .filter(|m| !m.is_empty())
        .collect();
    backend::authentication_sasl(&mut out, &mechanisms);
    let (auth, mut list) = backend::authentication_code(body_of(&out, b'R')).expect("auth code");
    assert_eq!(auth, backend::auth::SASL);
    for m in &mechanisms {
        let (got, n) = cstr(list).expect("mechanism");
        assert_eq!(got, *m);
        list = &list[n..];
    }
    assert_eq!(list, b"\0");

    let mut out = Vec::new();
    put_message(&mut out, selector, |o| o.extend_from_slice(body));
    assert_eq!(body_of(&out, selector), body);

    let mut out = Vec::new();
    let pid = i32::from_be_bytes([selector, 1, 2, 3]);
    backend::backend_key_data(&mut out, pid, !pid);
    assert_eq!(body_of(&out, b'K').len(), 8);
    let mut out = Vec::new();
    backend::ready_for_query(&mut out, selector);
    assert_eq!(body_of(&out, b'Z'), [selector]);
});
