//! A cutover's pause with MySQL clients: `begin` under a write load holds every session
//! at a transaction boundary, and `abort` resumes traffic on the source with no client
//! error and no write lost (`mysql_target.rs` commits). A session that
//! keeps a transaction open past `--begin-timeout` with action terminate gets an ERR
//! naming the attempt.

use molt_lms_api::cutover::{BeginRequest, CutoverStatus, TimeoutAction};
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::mariadb::MariaDb;
use molt_lms_integration::mysql_client::{ledger_writers, MyClient};
use molt_lms_integration::wait_until;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "writer-pw";
const WRITERS: usize = 4;

/// An orchestrator (metadata on the PostgreSQL target) and one MySQL-dialect proxy in
/// front of a MariaDB of the test's own.
fn start(db: &MariaDb) -> CutoverEnv {
    db.create_user("writer", PASSWORD);
    db.sql("CREATE DATABASE shop; CREATE TABLE shop.ledger (writer INT, n INT, part INT, PRIMARY KEY (writer, n, part))");
    let mut env = CutoverEnv::start(0, &[]);
    env.add_mysql_proxy(db);
    env
}

fn rows(db: &MariaDb) -> usize {
    db.sql("SELECT COUNT(*) FROM shop.ledger")
        .parse()
        .expect("a count")
}

#[test]
fn begin_holds_mysql_writers_between_transactions_and_abort_loses_nothing() {
    let db = MariaDb::start("mycutover");
    let env = start(&db);
    let addr = env.proxies[0].sql_addr().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let handles = ledger_writers(&addr, ("writer", PASSWORD), WRITERS, &stop);
    assert!(
        wait_until(Duration::from_secs(20), || rows(&db) >= 40),
        "writers run"
    );

    // The check's trial logs the MySQL user in to the target as the gateway would.
    let a = env.begin(BeginRequest::default()).expect("begin");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    // Paused at a transaction boundary: nothing open on the source, every pair whole.
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM information_schema.innodb_trx"),
        "0",
        "no transaction open on the source while paused"
    );
    let paused_rows = rows(&db);
    assert_eq!(paused_rows % 2, 0, "only whole transactions");

    let still = env.attempt(a.id).expect("attempt");
    assert_eq!(still.status, CutoverStatus::TrafficPaused, "{still:#?}");

    env.abort().expect("abort");
    env.wait_status(a.id, CutoverStatus::AbortCompleted, Duration::from_secs(20));
    assert!(
        wait_until(Duration::from_secs(20), || rows(&db) > paused_rows + 20),
        "traffic resumed on the source"
    );
    stop.store(true, Ordering::Relaxed);
    let mut committed = 0;
    for h in handles {
        committed += h.join().expect("writer thread").expect("no client error");
    }
    assert_eq!(
        rows(&db),
        committed * 2,
        "every acknowledged write is on the source"
    );
}

#[test]
fn an_open_transaction_past_the_begin_timeout_is_terminated_with_the_attempt_named() {
    let db = MariaDb::start("myterminate");
    let env = start(&db);
    let addr = env.proxies[0].sql_addr().to_string();
    let mut blocker = MyClient::login(&addr, "writer", PASSWORD);
    blocker.exec("START TRANSACTION").expect("begin");
    blocker
        .exec("INSERT INTO shop.ledger VALUES (99, 0, 1)")
        .expect("insert");
    let mut idle = MyClient::login(&addr, "writer", PASSWORD);
    let a = env
        .begin(BeginRequest {
            begin_timeout_ms: Some(1000),
            timeout_action: TimeoutAction::Terminate,
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    let err = blocker.exec("COMMIT").expect_err("terminated");
    assert_eq!(err.code, 1927, "{}", err.message);
    assert!(
        err.message.contains(&format!("attempt {}", a.id)),
        "{}",
        err.message
    );
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM shop.ledger WHERE writer = 99"),
        "0",
        "the terminated transaction was rolled back, not committed"
    );
    env.abort().expect("abort");
    env.wait_status(a.id, CutoverStatus::AbortCompleted, Duration::from_secs(20));
    assert_eq!(
        idle.exec("INSERT INTO shop.ledger VALUES (1, 1, 1)")
            .map_err(|e| e.message),
        Ok(2),
        "an idle session rides through the pause (status: autocommit)"
    );
}
