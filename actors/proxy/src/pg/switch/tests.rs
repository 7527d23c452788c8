use super::*;

#[test]
fn a_failing_statement_is_named_without_its_literals() {
    let mut raw = Vec::new();
    put_message(&mut raw, fe::PARSE, |o| {
        put_cstr(o, "s1");
        put_cstr(o, "SELECT * FROM missing WHERE secret = 'hunter2'");
        o.extend_from_slice(&0i16.to_be_bytes());
    });
    let d = describe_statement(&raw);
    assert!(d.starts_with("s1 ("), "{d}");
    assert!(d.contains("missing"), "{d}");
    assert!(!d.contains("hunter2"), "{d}");
    let e = PrepareError {
        stage: PrepareStage::PreparedStatement,
        statement: Some(d),
        message: "42P01: relation \"missing\" does not exist".into(),
    };
    assert!(e.to_string().starts_with("prepared statement s1 ("), "{e}");
}
