use super::*;

fn target(sql: &str) -> Option<(String, u64)> {
    kill_target(sql.as_bytes()).map(|(r, id)| (sql[r].to_owned(), id))
}

#[test]
fn kill_statements_name_their_id() {
    assert_eq!(target("KILL 42"), Some(("42".into(), 42)));
    assert_eq!(
        target("  kill query 1234567 ;  "),
        Some(("1234567".into(), 1234567))
    );
    assert_eq!(target("KILL CONNECTION 7"), Some(("7".into(), 7)));
    assert_eq!(target("KILL HARD QUERY 9"), Some(("9".into(), 9)));
    assert_eq!(target("kill\tQuery\n88;"), Some(("88".into(), 88)));
}

#[test]
fn other_statements_are_left_alone() {
    for sql in [
        "SELECT 1",
        "KILL",
        "KILL QUERY",
        "KILL QUERY ID 5",
        "KILL USER bob",
        "KILLQUERY 5",
        "KILL 5, 6",
        "KILL 5; SELECT 1",
        "KILL 99999999999999999999",
        "killer 5",
    ] {
        assert_eq!(target(sql), None, "{sql}");
    }
}

#[test]
fn ids_are_written_in_place_zero_padded_or_as_zero() {
    let mut d = *b"123456789";
    write_id(&mut d, Some(42));
    assert_eq!(&d, b"000000042");
    write_id(&mut d, Some(4_000_000_000));
    assert_eq!(&d, b"000000000", "a thread id wider than the client's id");
    let mut d = *b"77";
    write_id(&mut d, None);
    assert_eq!(&d, b"00");
}

#[test]
fn threads_resolve_client_ids_and_pass_known_thread_ids() {
    let t = Threads::default();
    t.insert(900_001, 17);
    assert_eq!(t.resolve(900_001), Some(17));
    assert_eq!(t.resolve(17), Some(17), "an id from CONNECTION_ID()");
    assert_eq!(t.resolve(18), None);
    assert_eq!(t.resolve(u64::MAX), None);
    t.remove(900_001);
    assert_eq!(t.resolve(900_001), None);
}
