//! MySQL clients served from the PostgreSQL-protocol target after a cutover from a MySQL
//! source (here MariaDB, with a PostgreSQL standing in for CockroachDB):
//!
//! - `mysql_async` and the `mariadb` command-line client keep working through the proxy;
//!   the type mapping is checked column by column in the text and binary protocols,
//!   NULLs and edge values included; a statement prepared before the cutover runs after
//!   it with its old id;
//! - a cutover under a MySQL write load loses nothing: replication for the test is a
//!   copy the test makes while traffic is paused, before the commit;
//! - `cutover check` names the target login each MySQL user gets, and a user without one
//!   blocks the commit before the point of no return;
//! - a revert moves MySQL sessions back to MariaDB, except that a session holding a
//!   prepared statement refuses it before the point of no return (and keeps working).

use molt_lms_api::cutover::{BeginRequest, CutoverStatus};
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::mariadb::{cli, MariaDb};
use molt_lms_integration::mysql_client::{ledger_writers, mysql_async_conn, MyClient};
use molt_lms_integration::proxy::ProxyConfig;
use molt_lms_integration::{wait_until, TempDir};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "app-pw";

/// A MariaDB source with the user `app` and the database `shop`, the same tables on the
/// target (schema `shop` in the test database), an orchestrator and one MySQL proxy
/// whose target URL is the test database. `logins`: a `--mysql-target-logins` file.
fn start(name: &str, logins: Option<&str>) -> (MariaDb, CutoverEnv, Option<TempDir>) {
    let db = MariaDb::start(name);
    db.create_user("app", PASSWORD);
    db.sql(
        "CREATE DATABASE shop CHARACTER SET utf8mb4;
         CREATE TABLE shop.items (id BIGINT PRIMARY KEY, name VARCHAR(50));
         INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear');
         CREATE TABLE shop.ledger (writer INT, n INT, part INT, PRIMARY KEY (writer, n, part))",
    );
    let mut env = CutoverEnv::start(0, &[]);
    let target = &env.clusters.target;
    target.psql(
        &env.db,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.items (id int8 PRIMARY KEY, name varchar(50));
         INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear');
         CREATE TABLE shop.ledger (writer int4, n int4, part int4, PRIMARY KEY (writer, n, part));
         CREATE TABLE shop.kinds (
            id int8 PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric(30,10), f4 float4,
            f8 float8, b bool, t text, vc varchar(20), ch char(3), by bytea, d date,
            tm time, ts timestamp, tz timestamptz, j json, jb jsonb, u uuid, iv interval,
            arr int4[], tarr text[]);
         INSERT INTO shop.kinds VALUES
           (1, -32768, -2147483648, -9223372036854775808, -12345678901234567890.0123456789,
            1.5, -2.25, true, 'héllo ✓', 'v', 'abc', '\\x00ff7f'::bytea, '1999-12-31',
            '23:59:59.123456', '2024-02-29 12:34:56.5', '2000-01-01 00:00:00+00',
            '{\"a\": [1, 2]}', '{\"k\": \"v\"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '1 year 2 mons 3 days 04:05:06', '{1,NULL,3}', '{\"a b\",c}'),
           (2, 32767, 2147483647, 9223372036854775807, 0.0000000001, -0, 1e300, false,
            '', '', '   ', ''::bytea, '0001-01-01', '00:00:00', '1970-01-01 00:00:00',
            '2038-01-19 03:14:07+00', 'null', '[]', '00000000-0000-0000-0000-000000000000',
            '-00:00:01', '{}', '{}'),
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    );
    let file = logins.map(|text| {
        let dir = TempDir::new("logins");
        std::fs::write(dir.path().join("logins.json"), text).expect("write logins");
        dir
    });
    db.create_user("lms", "lms-pw");
    let source = format!("mysql://lms:lms-pw@{}/", db.addr());
    let target_url = env.clusters.target.superuser_url(&env.db);
    let logins_arg = file
        .as_ref()
        .map(|d| d.path().join("logins.json").to_string_lossy().into_owned());
    env.add_proxy_with(|c| {
        let mut c = ProxyConfig {
            source_url: source,
            target_url,
            dialect: "mysql".into(),
            ..c
        };
        if let Some(path) = logins_arg {
            c.extra_args.extend(["--mysql-target-logins".into(), path]);
        }
        c
    });
    (db, env, file)
}

async fn connect(port: u16) -> Conn {
    mysql_async_conn(port, "app", PASSWORD, "shop").await
}

/// Pauses, commits and waits for the commit to complete.
fn cut_over(env: &CutoverEnv) {
    let a = env.begin(BeginRequest::default()).expect("begin");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(30));
    env.commit().expect("commit");
    env.wait_status(
        a.id,
        CutoverStatus::CommitCompleted,
        Duration::from_secs(30),
    );
}

fn bytes(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

const KINDS: &str = "SELECT i2, i4, i8, num, f4, f8, b, t, vc, ch, by, d, tm, ts, tz, j, jb, u, iv, arr, tarr FROM shop.kinds WHERE id = ?";

#[test]
fn after_a_cutover_mysql_async_is_served_from_the_target_with_every_type_mapped() {
    let (_db, env, _) = start("mytarget", None);
    let port = env.proxies[0].sql_port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut conn = connect(port).await;
        // Prepared on MariaDB, before the cutover.
        let before = conn
            .prep("SELECT name FROM shop.items WHERE id = ?")
            .await
            .expect("prepare on the source");
        let on_source: Vec<String> = conn
            .exec(&before, (1,))
            .await
            .expect("execute on the source");
        assert_eq!(on_source, vec!["apple".to_owned()]);

        // The cutover runs while the session is idle (blocking this thread is fine: the
        // driver has nothing to do meanwhile); the check passes first.
        cut_over(&env);

        // The old statement id still runs, now on the target.
        let after: Vec<String> = conn
            .exec(&before, (2,))
            .await
            .expect("old statement after the cutover");
        assert_eq!(after, vec!["pear".to_owned()]);
        conn.query_drop("UPDATE shop.items SET name = 'quince' WHERE id = 2")
            .await
            .expect("update on the target");
        assert_eq!(conn.affected_rows(), 1);

        // Binary protocol.
        let rows: Vec<Row> = conn.exec(KINDS, (1,)).await.expect("binary select");
        let v = rows.into_iter().next().expect("a row").unwrap();
        let expected_binary = vec![
            Value::Int(-32768),
            Value::Int(-2147483648),
            Value::Int(i64::MIN),
            bytes("-12345678901234567890.0123456789"),
            Value::Float(1.5),
            Value::Double(-2.25),
            Value::Int(1),
            bytes("héllo ✓"),
            bytes("v"),
            bytes("abc"),
            Value::Bytes(vec![0, 0xff, 0x7f]),
            Value::Date(1999, 12, 31, 0, 0, 0, 0),
            Value::Time(false, 0, 23, 59, 59, 123_456),
            Value::Date(2024, 2, 29, 12, 34, 56, 500_000),
            Value::Date(2000, 1, 1, 0, 0, 0, 0),
            bytes("{\"a\": [1, 2]}"),
            bytes("{\"k\": \"v\"}"),
            bytes("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            bytes("1 year 2 mons 3 days 04:05:06"),
            bytes("{1,NULL,3}"),
            bytes("{\"a b\",c}"),
        ];
        assert_eq!(v, expected_binary, "binary protocol, row 1");

        let rows: Vec<Row> = conn.exec(KINDS, (2,)).await.expect("binary select");
        let v = rows.into_iter().next().expect("a row").unwrap();
        assert_eq!(v[0], Value::Int(32767));
        assert_eq!(v[2], Value::Int(i64::MAX));
        assert_eq!(v[3], bytes("0.0000000001"));
        assert_eq!(v[5], Value::Double(1e300));
        assert_eq!(v[6], Value::Int(0));
        assert_eq!(v[7], bytes(""));
        assert_eq!(v[10], Value::Bytes(Vec::new()));
        assert_eq!(v[11], Value::Date(1, 1, 1, 0, 0, 0, 0));
        assert_eq!(v[18], bytes("-00:00:01"));

        let rows: Vec<Row> = conn.exec(KINDS, (3,)).await.expect("binary select");
        let v = rows.into_iter().next().expect("a row").unwrap();
        assert!(
            v.iter().all(|x| *x == Value::NULL),
            "row 3 is all NULL: {v:?}"
        );

        // Text protocol: every value as text.
        let rows: Vec<Row> = conn
            .query(KINDS.replace('?', "1"))
            .await
            .expect("text select");
        let v = rows.into_iter().next().expect("a row").unwrap();
        let expected_text = [
            "-32768",
            "-2147483648",
            "-9223372036854775808",
            "-12345678901234567890.0123456789",
            "1.5",
            "-2.25",
            "1",
            "héllo ✓",
            "v",
            "abc",
            "\0\u{ff}\u{7f}",
            "1999-12-31",
            "23:59:59.123456",
            "2024-02-29 12:34:56.5",
            "2000-01-01 00:00:00",
            "{\"a\": [1, 2]}",
            "{\"k\": \"v\"}",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "1 year 2 mons 3 days 04:05:06",
            "{1,NULL,3}",
            "{\"a b\",c}",
        ];
        for (i, (got, want)) in v.iter().zip(expected_text).enumerate() {
            let want = if i == 10 {
                Value::Bytes(vec![0, 0xff, 0x7f])
            } else {
                bytes(want)
            };
            assert_eq!(*got, want, "text protocol, column {i}");
        }
        let rows: Vec<Row> = conn
            .query(KINDS.replace('?', "3"))
            .await
            .expect("text select of NULLs");
        let v = rows.into_iter().next().expect("a row").unwrap();
        assert!(v.iter().all(|x| *x == Value::NULL), "{v:?}");

        // Errors carry MySQL's errno and PostgreSQL's SQLSTATE.
        let e = conn
            .query_drop("INSERT INTO shop.items VALUES (1, 'dup')")
            .await
            .expect_err("duplicate key");
        match e {
            mysql_async::Error::Server(s) => {
                assert_eq!(s.code, 1062, "{s:?}");
                assert_eq!(s.state, "23505", "{s:?}");
            }
            other => panic!("expected a server error, got {other:?}"),
        }
        let e = conn
            .query_drop("SELECT * FROM shop.nowhere")
            .await
            .expect_err("no table");
        assert!(
            matches!(e, mysql_async::Error::Server(ref s) if s.code == 1146),
            "{e:?}"
        );

        // A transaction: the status flags follow it, and a rollback undoes.
        conn.query_drop("START TRANSACTION").await.expect("begin");
        conn.query_drop("INSERT INTO shop.items VALUES (3, 'fig')")
            .await
            .expect("insert");
        conn.query_drop("ROLLBACK").await.expect("rollback");
        let n: Option<i64> = conn
            .query_first("SELECT COUNT(*) FROM shop.items")
            .await
            .expect("count");
        assert_eq!(n, Some(2));
        conn.disconnect().await.expect("disconnect");
    });
    // New sessions after the cutover log in and land on the target too.
    let mut c = MyClient::login(&env.proxies[0].sql_addr().to_string(), "app", PASSWORD);
    assert_eq!(
        c.query_value("SELECT name FROM shop.items WHERE id = 2")
            .expect("select"),
        "quince"
    );
}

#[test]
fn the_mariadb_client_runs_a_script_against_the_target() {
    let (_db, env, _) = start("mycli", None);
    cut_over(&env);
    let addr = env.proxies[0].sql_addr().to_string();
    let script = "CREATE TABLE shop.notes (id int8 PRIMARY KEY, body text);
INSERT INTO shop.notes VALUES (1, 'one'), (2, 'two');
SELECT id, body FROM shop.notes ORDER BY id;
SELECT nope FROM shop.notes;
";
    let mut child = cli(&addr, "app", PASSWORD, "shop")
        .arg("--skip-auto-rehash")
        .arg("--force")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mariadb client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    let out = child.wait_with_output().expect("client ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "id\tbody\n1\tone\n2\ttwo\n", "stderr: {stderr}");
    assert!(
        stderr.contains("ERROR 1054 (42703)"),
        "the undefined column is MySQL's 1054 with PostgreSQL's SQLSTATE: {stderr}"
    );
    // A transaction and a multi-statement line.
    let out = cli(&addr, "app", PASSWORD, "shop")
        .arg("--skip-auto-rehash")
        .arg("-e")
        .arg("START TRANSACTION; INSERT INTO shop.notes VALUES (3, 'three'); COMMIT; SELECT COUNT(*) AS n FROM shop.notes")
        .output()
        .expect("client ran");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "n\n3\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const WRITERS: usize = 4;

#[test]
fn a_cutover_under_a_mysql_write_load_loses_no_write_and_leaves_none_on_the_source() {
    let (db, env, _) = start("myload", None);
    let target = |sql: &str| env.clusters.target.psql(&env.db, sql);
    let on_source = || -> usize {
        db.sql("SELECT COUNT(*) FROM shop.ledger")
            .parse()
            .expect("count")
    };
    let on_target = || -> usize {
        target("SELECT COUNT(*) FROM shop.ledger")
            .parse()
            .expect("count")
    };
    let stop = Arc::new(AtomicBool::new(false));
    let handles = ledger_writers(
        &env.proxies[0].sql_addr().to_string(),
        ("app", PASSWORD),
        WRITERS,
        &stop,
    );
    assert!(
        wait_until(Duration::from_secs(20), || on_source() >= 40),
        "writers run"
    );

    let a = env
        .begin(BeginRequest::default())
        .expect("begin (the check passes)");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(30));
    // Replication, for this test: the rows on the source, copied while nothing writes.
    let paused = on_source();
    assert_eq!(paused % 2, 0, "paused between transactions");
    let rows = db.sql("SELECT CONCAT('(', writer, ',', n, ',', part, ')') FROM shop.ledger");
    let values: Vec<&str> = rows.lines().collect();
    target(&format!(
        "INSERT INTO shop.ledger VALUES {}",
        values.join(",")
    ));
    assert_eq!(on_target(), paused);

    let commit_started = std::time::Instant::now();
    env.commit().expect("commit");
    env.wait_status(
        a.id,
        CutoverStatus::CommitCompleted,
        Duration::from_secs(30),
    );
    eprintln!("commit to CommitCompleted: {:?}", commit_started.elapsed());
    assert!(
        wait_until(Duration::from_secs(20), || on_target() > paused + 20),
        "writers go on, on the target"
    );
    stop.store(true, Ordering::Relaxed);
    let mut committed = 0;
    for h in handles {
        committed += h.join().expect("writer thread").expect("no client error");
    }
    eprintln!(
        "rows at the pause {paused}; transactions acknowledged {committed}; rows on the target {}",
        on_target()
    );
    assert_eq!(
        on_target(),
        committed * 2,
        "every acknowledged write is on the target"
    );
    assert_eq!(
        on_source(),
        paused,
        "nothing written to the source after the pause"
    );
}

#[test]
fn a_mysql_user_without_a_target_login_blocks_the_commit_before_the_point_of_no_return() {
    let (db, env, _file) = start(
        "mylogins",
        Some(r#"{"someone_else": {"user": "postgres", "password": ""}}"#),
    );
    let addr = env.proxies[0].sql_addr().to_string();
    let mut c = MyClient::login(&addr, "app", PASSWORD);
    assert_eq!(
        c.query_value("SELECT name FROM shop.items WHERE id = 1")
            .expect("select"),
        "apple"
    );
    let refused = env
        .begin(BeginRequest::default())
        .expect_err("the check refuses");
    assert!(refused.1.contains("--mysql-target-logins"), "{}", refused.1);
    // Forced past the check, the commit's preparation fails and nothing moves.
    let a = env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(30));
    let e = env.commit().expect_err("commit refused");
    assert!(e.1.contains("--mysql-target-logins"), "{}", e.1);
    env.abort().expect("abort");
    env.wait_status(a.id, CutoverStatus::AbortCompleted, Duration::from_secs(30));
    assert_eq!(
        c.query_value("SELECT name FROM shop.items WHERE id = 1")
            .expect("still served by the source"),
        "apple"
    );
    drop(db);
}

#[test]
fn a_revert_moves_mysql_sessions_back_to_the_source_unless_they_hold_prepared_statements() {
    let (db, env, _) = start("myrevert", None);
    let addr = env.proxies[0].sql_addr().to_string();
    let mut plain = MyClient::login(&addr, "app", PASSWORD);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut driver = rt.block_on(connect(env.proxies[0].sql_port()));
    cut_over(&env);
    // Tell the two databases apart by a row only the target has.
    env.clusters.target.psql(
        &env.db,
        "INSERT INTO shop.items VALUES (9, 'on the target')",
    );
    let on_target = "SELECT COUNT(*) FROM shop.items WHERE id = 9";
    assert_eq!(plain.query_value(on_target).expect("select"), "1");
    let stmt = rt
        .block_on(driver.prep("SELECT name FROM shop.items WHERE id = ?"))
        .expect("prepare on the target");

    // A session holding a prepared statement cannot move back yet: the revert's
    // preparation fails, before the point of no return, and both stay on the target.
    let (_, refused) = env
        .begin(BeginRequest::default())
        .expect_err("the check names the session");
    assert!(refused.contains("prepared statements"), "{refused}");
    let a = env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin past the check");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(30));
    let e = env.commit().expect_err("revert refused");
    assert!(e.1.contains("prepared statements"), "{}", e.1);
    env.abort().expect("abort");
    env.wait_status(a.id, CutoverStatus::AbortCompleted, Duration::from_secs(30));
    assert_eq!(plain.query_value(on_target).expect("still the target"), "1");
    let name: Option<String> = rt
        .block_on(driver.exec_first(&stmt, (9,)))
        .expect("the statement still runs");
    assert_eq!(name.as_deref(), Some("on the target"));

    // Without it, the revert moves every session back to MariaDB, with no client error.
    rt.block_on(driver.close(stmt))
        .expect("close the statement");
    let a = env
        .begin(BeginRequest::default())
        .expect("begin the revert");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(30));
    env.commit().expect("revert");
    env.wait_status(
        a.id,
        CutoverStatus::CommitCompleted,
        Duration::from_secs(30),
    );
    assert_eq!(plain.query_value(on_target).expect("on the source"), "0");
    let n: Option<i64> = rt
        .block_on(driver.query_first(on_target))
        .expect("driver on the source");
    assert_eq!(n, Some(0));
    assert_eq!(db.sql("SELECT COUNT(*) FROM shop.items"), "2");
}

#[test]
fn kill_query_with_the_proxy_connection_id_cancels_a_statement_running_on_the_target() {
    let (_db, env, _) = start("mykill", None);
    cut_over(&env);
    let addr = env.proxies[0].sql_addr().to_string();
    let mut victim = MyClient::login(&addr, "app", PASSWORD);
    let mut bystander = MyClient::login(&addr, "app", PASSWORD);
    let id = victim.greeting.connection_id;
    let started = std::time::Instant::now();
    let sleeper = std::thread::spawn(move || {
        let r = victim.query_value("SELECT pg_sleep(20)");
        (r, victim)
    });
    let running = || {
        env.clusters.target.psql(
            &env.db,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)' AND state = 'active'",
        ) == "1"
    };
    assert!(
        wait_until(Duration::from_secs(20), running),
        "the sleep runs on the target"
    );
    bystander
        .exec(&format!("KILL QUERY {id}"))
        .expect("KILL QUERY with the id the proxy greeted the victim with");
    let (r, mut victim) = sleeper.join().expect("thread");
    let e = r.expect_err("the statement was cancelled");
    assert_eq!(e.code, 1317, "57014 is MySQL's 1317: {}", e.message);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cancelled, not run to its end"
    );
    assert_eq!(
        victim.query_value("SELECT 1").expect("the session goes on"),
        "1"
    );
    let e = bystander
        .exec("KILL QUERY 4000000000")
        .expect_err("an id no session has");
    assert_eq!(e.code, 1094, "{}", e.message);
    let e = bystander
        .exec(&format!("KILL {id}"))
        .expect_err("KILL CONNECTION on the target");
    assert_eq!(e.code, 1235, "{}", e.message);
}
