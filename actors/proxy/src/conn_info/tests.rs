use super::*;

fn info() -> ConnInfo {
    ConnInfo::new(
        1,
        "127.0.0.1:5000".parse().expect("address"),
        SourceOfTruth::Source,
    )
}

#[test]
fn a_query_in_another_client_encoding_is_shown_with_its_other_bytes_replaced() {
    let i = info();
    i.set_last_query(b"SELECT 'caf\xe9'");
    assert_eq!(i.snapshot("x").last_query, "SELECT 'caf\u{fffd}'");
    i.set_last_query("SELECT 'café'");
    assert_eq!(i.snapshot("x").last_query, "SELECT 'café'");
}

#[test]
fn a_long_utf8_query_is_cut_before_the_character_it_would_split() {
    let i = info();
    // 'é' is two bytes; the limit falls inside the last one kept whole or cut.
    for pad in 0..4 {
        let q = format!("{}{}", "x".repeat(pad), "é".repeat(MAX_QUERY_TEXT));
        i.set_last_query(&q);
        let shown = i.snapshot("x").last_query;
        assert!(!shown.contains('\u{fffd}'), "pad {pad}");
        assert!(shown.len() <= MAX_QUERY_TEXT && shown.len() >= MAX_QUERY_TEXT - 3);
        assert!(q.starts_with(&shown));
    }
}
