use super::*;

/// Runs each request in autocommit: observed, then answered idle without error.
fn run(s: &mut SessionState, requests: &[&str]) {
    for r in requests {
        s.observe(r);
        s.request_done(true, false);
    }
}

#[test]
fn set_role_outside_a_transaction_is_carried_and_reset_role_drops_it() {
    let mut s = SessionState::default();
    run(&mut s, &["SELECT 1", "SET ROLE tenant_x"]);
    assert!(s.take_changed());
    assert_eq!(s.replay(), vec!["SET ROLE tenant_x"]);
    assert!(s.blockers().is_empty());
    run(&mut s, &["set role to none"]);
    assert!(s.replay().is_empty());
    run(&mut s, &["SET SESSION ROLE 'b'", "RESET ROLE"]);
    assert!(s.replay().is_empty());
    // Transaction-local: gone with its transaction.
    run(&mut s, &["SET LOCAL ROLE tenant_y"]);
    assert!(s.replay().is_empty());
}

#[test]
fn session_authorization_comes_first_and_resets_the_role() {
    let mut s = SessionState::default();
    run(&mut s, &["SET ROLE a", "SET SESSION AUTHORIZATION bob"]);
    assert_eq!(s.replay(), vec!["SET SESSION AUTHORIZATION bob"]);
    run(&mut s, &["SET ROLE c"]);
    assert_eq!(
        s.replay(),
        vec!["SET SESSION AUTHORIZATION bob", "SET ROLE c"]
    );
    run(&mut s, &["SET SESSION AUTHORIZATION DEFAULT"]);
    assert!(s.replay().is_empty());
}

#[test]
fn a_failed_request_changes_nothing() {
    let mut s = SessionState::default();
    s.observe("SET ROLE nobody_here");
    s.request_done(true, true);
    assert!(s.replay().is_empty());
    assert!(s.blockers().is_empty());
}

#[test]
fn a_change_inside_a_transaction_counts_only_once_it_commits() {
    let mut s = SessionState::default();
    s.observe("BEGIN");
    s.request_done(false, false);
    s.observe("SET ROLE a");
    s.request_done(false, false);
    assert!(s.replay().is_empty(), "not committed yet");
    s.observe("COMMIT");
    s.request_done(true, false);
    assert_eq!(s.replay(), vec!["SET ROLE a"]);

    // Rolled back: dropped.
    for (sql, idle) in [("BEGIN", false), ("SET ROLE b", false), ("ROLLBACK", true)] {
        s.observe(sql);
        s.request_done(idle, false);
    }
    assert_eq!(s.replay(), vec!["SET ROLE a"]);

    // Failed, then COMMIT (which rolls back): dropped.
    for (sql, idle, error) in [
        ("BEGIN", false, false),
        ("SET ROLE c", false, false),
        ("SELECT 1/0", false, true),
        ("COMMIT", true, false),
    ] {
        s.observe(sql);
        s.request_done(idle, error);
    }
    assert_eq!(s.replay(), vec!["SET ROLE a"]);
    assert!(s.blockers().is_empty());
}

#[test]
fn outcomes_the_proxy_cannot_tell_block_the_session() {
    let mut s = SessionState::default();
    for (sql, idle) in [
        ("BEGIN", false),
        ("SAVEPOINT p", false),
        ("SET ROLE a", false),
        ("ROLLBACK TO SAVEPOINT p", false),
        ("COMMIT", true),
    ] {
        s.observe(sql);
        s.request_done(idle, false);
    }
    assert_eq!(s.blockers().len(), 1, "{:?}", s.blockers());
    assert!(s.blockers()[0].contains("ROLLBACK TO SAVEPOINT"));

    let mut s = SessionState::default();
    s.observe("SET ROLE a; COMMIT; SELECT 1/0");
    s.request_done(true, true);
    assert_eq!(s.blockers().len(), 1, "{:?}", s.blockers());

    let mut s = SessionState::default();
    run(&mut s, &["SET ROLE a", "RESET ALL"]);
    assert!(s.blockers()[0].contains("RESET ALL"));
    run(&mut s, &["DISCARD ALL"]);
    assert!(s.blockers().is_empty());
    assert!(s.replay().is_empty());
}

#[test]
fn listen_channels_are_carried_until_unlistened() {
    let mut s = SessionState::default();
    run(&mut s, &["LISTEN jobs", "listen \"Other\""]);
    assert_eq!(s.replay(), vec!["LISTEN \"Other\"", "LISTEN jobs"]);
    run(&mut s, &["UNLISTEN jobs"]);
    assert_eq!(s.replay(), vec!["LISTEN \"Other\""]);
    run(&mut s, &["UNLISTEN *"]);
    assert!(s.replay().is_empty());
}

#[test]
fn advisory_locks_and_temporary_tables_block_until_released() {
    let mut s = SessionState::default();
    run(&mut s, &["SELECT pg_advisory_lock(42)"]);
    assert!(s.take_changed());
    assert!(s.blockers()[0].contains("advisory"));
    run(&mut s, &["SELECT pg_advisory_xact_lock(1)"]);
    run(&mut s, &["SELECT pg_advisory_unlock(42)"]);
    assert!(s.blockers().is_empty());
    assert!(s.take_changed());
    run(
        &mut s,
        &["SELECT pg_try_advisory_lock(1), pg_advisory_lock_shared(2)"],
    );
    run(&mut s, &["SELECT PG_ADVISORY_UNLOCK_ALL()"]);
    assert!(s.blockers().is_empty());

    run(&mut s, &["CREATE TEMP TABLE t (id int)"]);
    assert!(s.blockers()[0].contains("temporary"));
    run(&mut s, &["DISCARD TEMP"]);
    assert!(s.blockers().is_empty());
    run(
        &mut s,
        &["create temporary table d (id int) on commit drop"],
    );
    assert!(s.blockers().is_empty());
    run(&mut s, &["CREATE GLOBAL TEMPORARY TABLE g (id int)"]);
    assert_eq!(s.blockers().len(), 1);
}

#[test]
fn statements_split_outside_quotes_comments_and_dollar_quotes() {
    assert_eq!(
        statements("SELECT 'a;b'; SET ROLE x ; -- c;\nSELECT $$;$$, $t$;$t$, \"q;\"; /* ; */ ;"),
        vec![
            "SELECT 'a;b'",
            " SET ROLE x ",
            " -- c;\nSELECT $$;$$, $t$;$t$, \"q;\"",
            " /* ; */ "
        ]
    );
    assert_eq!(
        statements("SELECT $1; SELECT E'\\';'"),
        vec!["SELECT $1", " SELECT E'\\';'"]
    );
    // Text that hides a SET ROLE in a literal or comment does not change the role.
    let mut s = SessionState::default();
    run(
        &mut s,
        &[
            "SELECT 'x'; SELECT '; SET ROLE a'",
            "/* SET ROLE b */ SELECT 1",
        ],
    );
    assert!(s.replay().is_empty());
    // A leading comment is skipped.
    run(&mut s, &["/* app */ SET ROLE c"]);
    assert_eq!(s.replay(), vec!["SET ROLE c"]);
}

#[test]
fn the_prefilter_passes_only_texts_that_may_matter() {
    for sql in [
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
        "UPDATE t SET n = 1",
        "  select 1 ;  ",
    ] {
        assert!(!prefilter(sql.as_bytes(), false), "{sql}");
    }
    for sql in [
        "set role a",
        "SELECT 1; SELECT 2",
        "select pg_advisory_lock(1)",
        "-- x\nselect 1",
        "select pg_Advisory_unlock_all()",
    ] {
        assert!(prefilter(sql.as_bytes(), false), "{sql}");
    }
    // Transaction statements only while a change waits for its commit.
    assert!(!prefilter(b"COMMIT", false));
    assert!(prefilter(b"COMMIT", true));
}

#[test]
fn a_rebuilt_state_replays_the_same() {
    let mut s = SessionState::default();
    run(
        &mut s,
        &["SET SESSION AUTHORIZATION bob", "SET ROLE c", "LISTEN jobs"],
    );
    let again = SessionState::rebuilt(&s.replay());
    assert_eq!(again.replay(), s.replay());
    assert!(again.blockers().is_empty());
}
