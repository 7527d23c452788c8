//! `mysql_async`, a real driver, through the proxy (`--source-dialect mysql`) to MariaDB:
//! prepared statements over every common column type and NULLs give the same values as
//! directly; a value past 16 MiB (sent as long data and read back over continuation
//! packets) arrives intact; a statement prepared before a cutover's pause runs after it;
//! the control API lists the session with its user, database and last statement;
//! `COM_CHANGE_USER` is checked by the source and holds back a cutover until changed back.

use molt_lms_api::cutover::{BeginRequest, CutoverStatus};
use molt_lms_api::{ConnectionInfo, ConnectionState};
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::http_request;
use molt_lms_integration::mariadb::MariaDb;
use molt_lms_integration::mysql_client::mysql_async_conn;
use molt_lms_integration::wait_until_async;
use mysql_async::prelude::Queryable;
use mysql_async::{ChangeUserOpts, Conn, Row, Value};
use std::time::Duration;

const PASSWORD: &str = "drv-pw";

struct Env {
    db: MariaDb,
    env: CutoverEnv,
}

fn start(name: &str) -> Env {
    let db = MariaDb::start(name);
    db.create_user("drv", PASSWORD);
    db.sql("CREATE DATABASE drv CHARACTER SET utf8mb4");
    let mut env = CutoverEnv::start(0, &[]);
    env.add_mysql_proxy(&db);
    Env { db, env }
}

async fn connect(port: u16) -> Conn {
    mysql_async_conn(port, "drv", PASSWORD, "drv").await
}

fn values(rows: Vec<Row>) -> Vec<Vec<Value>> {
    rows.into_iter().map(Row::unwrap).collect()
}

const TABLE: &str = "CREATE TABLE drv.types (
    id INT PRIMARY KEY, t TINYINT, s SMALLINT, i INT, b BIGINT, u BIGINT UNSIGNED,
    f FLOAT, d DOUBLE, n DECIMAL(30,8), c CHAR(3), v VARCHAR(50), tx MEDIUMTEXT, bl BLOB,
    dt DATE, tm TIME(6), ts DATETIME(6), y YEAR, e ENUM('a','b'), j JSON, bt BIT(8))";

const INSERT: &str = "INSERT INTO drv.types VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

fn row(id: i32, null: bool) -> Vec<Value> {
    if null {
        let mut v = vec![Value::Int(id.into())];
        v.extend(std::iter::repeat_n(Value::NULL, 19));
        return v;
    }
    vec![
        Value::Int(id.into()),
        Value::Int(-128),
        Value::Int(-32768),
        Value::Int(i32::MIN.into()),
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Float(1.5),
        Value::Double(-2.25e300),
        Value::Bytes(b"-1234567890123456789012.12345678".to_vec()),
        Value::Bytes(b"abc".to_vec()),
        Value::Bytes("zwölf ✓ 中文".as_bytes().to_vec()),
        Value::Bytes(vec![b'x'; 70_000]),
        Value::Bytes(vec![0, 255, 1, 254, 0]),
        Value::Date(1999, 12, 31, 0, 0, 0, 0),
        Value::Time(true, 1, 2, 3, 4, 5),
        Value::Date(2026, 12, 6, 7, 8, 9, 123_456),
        Value::Int(2155),
        Value::Bytes(b"b".to_vec()),
        Value::Bytes(br#"{"k": [1, 2, null]}"#.to_vec()),
        Value::Bytes(vec![0xA5]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_through_the_proxy_match_a_direct_session() {
    let e = start("mydriver");
    e.db.sql(TABLE);
    let mut via = connect(e.env.proxies[0].sql_port()).await;
    let mut direct = connect(e.db.port()).await;
    let insert = via.prep(INSERT).await.expect("prepare insert");
    via.exec_drop(&insert, row(1, false))
        .await
        .expect("insert 1");
    via.exec_drop(&insert, row(2, true))
        .await
        .expect("insert NULLs");
    let select = "SELECT * FROM drv.types WHERE id > ? ORDER BY id";
    let through: Vec<Row> = via.exec(select, (0,)).await.expect("select via proxy");
    let straight: Vec<Row> = direct.exec(select, (0,)).await.expect("select directly");
    let (through, straight) = (values(through), values(straight));
    assert_eq!(through.len(), 2);
    assert_eq!(
        through, straight,
        "the same values through the proxy as directly"
    );
    assert!(
        through[1][1..].iter().all(|v| *v == Value::NULL),
        "NULLs stay NULL"
    );
    assert_eq!(through[0][5], Value::UInt(u64::MAX));

    // An error from a prepared statement, and the session goes on.
    let dup = via
        .exec_drop(&insert, row(1, false))
        .await
        .expect_err("duplicate key");
    assert!(dup.to_string().contains("1062"), "{dup}");
    let n: Option<i64> = via
        .query_first("SELECT COUNT(*) FROM drv.types")
        .await
        .expect("count");
    assert_eq!(n, Some(2));

    // Past 16 MiB: long data one way, continuation packets both ways.
    e.db.sql("CREATE TABLE drv.big (id INT PRIMARY KEY, b LONGBLOB)");
    let big: Vec<u8> = (0..17 * 1024 * 1024 + 7)
        .map(|i: usize| (i % 251) as u8)
        .collect();
    via.exec_drop("INSERT INTO drv.big VALUES (?, ?)", (1, big.clone()))
        .await
        .expect("insert 17 MiB");
    let back: Option<Vec<u8>> = via
        .exec_first("SELECT b FROM drv.big WHERE id = ?", (1,))
        .await
        .expect("read 17 MiB back");
    assert!(back.as_deref() == Some(&big[..]), "17 MiB arrive intact");

    let (code, body) = http_request(
        e.env.proxies[0].control_addr(),
        "GET",
        "/api/v1/connections",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let conns: Vec<ConnectionInfo> = serde_json::from_str(&body).expect("connections json");
    let me = conns
        .iter()
        .find(|c| c.last_query.starts_with("SELECT b FROM drv.big"))
        .unwrap_or_else(|| panic!("the session is listed: {body}"));
    assert_eq!((me.user.as_str(), me.database.as_str()), ("drv", "drv"));
    let (code, body) = http_request(
        e.env.proxies[0].control_addr(),
        "GET",
        "/api/v1/status",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("status json");
    assert_eq!(status["source_dialect"], "mysql", "{body}");
    via.disconnect().await.expect("disconnect");
    direct.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_prepared_before_a_pause_runs_after_it() {
    let e = start("myprepause");
    e.db.sql("CREATE TABLE drv.t (id INT PRIMARY KEY, v VARCHAR(10))");
    let port = e.env.proxies[0].sql_port();
    let mut conn = connect(port).await;
    let insert = conn
        .prep("INSERT INTO drv.t VALUES (?, ?)")
        .await
        .expect("prepare");
    conn.exec_drop(&insert, (1, "before"))
        .await
        .expect("before the pause");

    let a = e
        .env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin");
    e.env
        .wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    let held = tokio::spawn(async move {
        let r = conn.exec_drop(&insert, (2, "during")).await;
        (r, conn, insert)
    });
    let control = e.env.proxies[0].control_addr();
    let waiting = wait_until_async(Duration::from_secs(10), || async {
        let (_, body) = http_request(control, "GET", "/api/v1/connections", None);
        let conns: Vec<ConnectionInfo> = serde_json::from_str(&body).unwrap_or_default();
        conns.iter().any(|c| c.state == ConnectionState::Held)
    })
    .await;
    assert!(waiting, "the session is shown as held");
    assert_eq!(
        e.db.sql("SELECT COUNT(*) FROM drv.t"),
        "1",
        "nothing ran while paused"
    );

    e.env.abort().expect("abort");
    let (r, mut conn, insert) = held.await.expect("task");
    r.expect("the held execute ran after the pause, with no error");
    conn.exec_drop(&insert, (3, "after"))
        .await
        .expect("and again");
    assert_eq!(
        e.db.sql("SELECT GROUP_CONCAT(v ORDER BY id) FROM drv.t"),
        "before,during,after"
    );
    conn.disconnect().await.expect("disconnect");
}

/// `COM_CHANGE_USER` as a pool sends it: the source checks the new user's password (the
/// proxy asks it to challenge the client itself), and a session running as a user the
/// proxy holds no login for is named by the cutover check until it changes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_user_is_checked_by_the_source_and_holds_back_a_cutover_until_changed_back() {
    let e = start("mychuser");
    e.db.create_user("other", "other-pw");
    let port = e.env.proxies[0].sql_port();
    let as_user = |user: &str, pass: &str| {
        ChangeUserOpts::default()
            .with_user(Some(user.to_owned()))
            .with_pass(Some(pass.to_owned()))
    };

    let mut wrong = connect(port).await;
    let err = wrong
        .change_user(as_user("other", "wrong"))
        .await
        .expect_err("a wrong password is refused");
    assert!(
        matches!(&err, mysql_async::Error::Server(s) if s.code == 1045),
        "{err}"
    );

    let mut conn = connect(port).await;
    conn.change_user(as_user("other", "other-pw"))
        .await
        .expect("the source accepts the new user's password");
    let who: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .expect("query");
    assert_eq!(who.as_deref(), Some("other@%"));
    let control = e.env.proxies[0].control_addr();
    let (_, body) = http_request(control, "GET", "/api/v1/connections", None);
    let conns: Vec<ConnectionInfo> = serde_json::from_str(&body).expect("connections");
    assert!(
        conns.iter().any(|c| c.user == "other"),
        "listed as the new user: {body}"
    );

    let (code, why) = e
        .env
        .begin(BeginRequest::default())
        .expect_err("the check names the session");
    assert_eq!(code, 409, "{why}");
    assert!(
        why.contains("COM_CHANGE_USER") && why.contains("'other'"),
        "{why}"
    );

    conn.change_user(as_user("drv", PASSWORD))
        .await
        .expect("back to the user the session logged in as");
    let a = e
        .env
        .begin(BeginRequest::default())
        .expect("the check passes again");
    e.env
        .wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    e.env.abort().expect("abort");
    let one: Option<i64> = conn.query_first("SELECT 1").await.expect("resumed");
    assert_eq!(one, Some(1));
    conn.disconnect().await.expect("disconnect");
}
