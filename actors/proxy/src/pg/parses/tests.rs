use super::*;

fn named(n: &str) -> Option<(String, Vec<u8>)> {
    Some((n.to_owned(), n.as_bytes().to_vec()))
}

fn name(p: Option<(String, Vec<u8>)>) -> Option<String> {
    p.map(|(n, _)| n)
}

#[test]
fn a_parse_counts_once_the_server_completes_it() {
    let mut p = PendingParses::default();
    p.parse(named("a"));
    p.parse(None);
    p.end();
    assert_eq!(name(p.parsed()), Some("a".into()));
    assert_eq!(name(p.parsed()), None, "the unnamed one");
    p.ready();
    assert_eq!(name(p.parsed()), None, "nothing left");
}

#[test]
fn a_failed_parse_and_the_rest_of_its_request_are_dropped() {
    let mut p = PendingParses::default();
    p.parse(named("ok"));
    p.parse(named("bad"));
    p.parse(named("skipped"));
    p.end();
    p.parse(named("next"));
    p.end();
    assert_eq!(name(p.parsed()), Some("ok".into()));
    p.failed(); // "bad" failed; "skipped" is skipped up to the Sync
    p.ready();
    assert_eq!(
        name(p.parsed()),
        Some("next".into()),
        "the next request is unaffected"
    );
    p.ready();
}

#[test]
fn a_query_answered_before_a_pipelined_parse_does_not_take_it_along() {
    let mut p = PendingParses::default();
    p.end(); // a simple Query
    p.parse(named("b"));
    p.end();
    p.ready(); // the Query's ReadyForQuery
    assert_eq!(name(p.parsed()), Some("b".into()));
    p.ready();
}

#[test]
fn an_error_in_a_simple_query_leaves_later_parses_alone() {
    let mut p = PendingParses::default();
    p.end();
    p.parse(named("c"));
    p.end();
    p.failed(); // the Query's error: no Parse at the front to drop
    p.ready();
    assert_eq!(name(p.parsed()), Some("c".into()));
}
