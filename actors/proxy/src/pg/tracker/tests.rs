use super::*;

#[test]
fn query_texts_are_bytes_in_the_client_encoding() {
    assert_eq!(
        shown_query(b"SELECT 'caf\xe9'\0", true),
        Some(&b"SELECT 'caf\xe9'"[..])
    );
    // A prefix of a longer Query: up to the terminator if it is there, else all of it.
    assert_eq!(
        shown_query(b"SELECT 'caf\xe9", false),
        Some(&b"SELECT 'caf\xe9"[..])
    );
    assert_eq!(shown_query(b"SELECT 1\0", false), Some(&b"SELECT 1"[..]));
    assert_eq!(shown_query(b"SELECT 1", true), None);
}

#[test]
fn statement_keys_keep_names_that_are_not_utf8_apart() {
    assert_eq!(statement_key(b"s1"), "s1");
    let (a, b) = (statement_key(b"n\xe9"), statement_key(b"n\xe8"));
    assert_ne!(a, b);
    // No UTF-8 name can take that form: names hold no NUL.
    assert!(a.starts_with('\0'));
    assert_eq!(a, statement_key(b"n\xe9"));
}
