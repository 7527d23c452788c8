//! MySQL sessions shadowed to the PostgreSQL-protocol target (a MariaDB source, a
//! PostgreSQL standing in for CockroachDB): writes land on both in every mode; `sync`
//! compares answers after the gateway's type mapping and names the one row changed on
//! the target, in the text and the binary protocol; a statement that fails only on the
//! target is a `shadow_error` in `sync` (the client gets the source's answer) and the
//! client's error in `strict-sync`; a consistent cutover is refused while shadowing, as
//! for PostgreSQL clients.

use molt_lms_api::shadow::ShadowReport;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::{shadow_entry as entry, shadow_report};
use molt_lms_integration::mariadb::MariaDb;
use molt_lms_integration::mysql_client::{mysql_async_conn, MyClient};
use molt_lms_integration::proxy::ProxyConfig;
use molt_lms_integration::wait_until;
use mysql_async::prelude::Queryable;
use std::time::Duration;

const PASSWORD: &str = "app-pw";
const WAIT: Duration = Duration::from_secs(20);

/// `shop.items` (50 rows) and `shop.same` (50 rows) on MariaDB and on the target, with
/// row 17 of `items` changed on the target; a MySQL proxy shadowing in `mode`.
fn start(name: &str, mode: &str) -> (MariaDb, CutoverEnv) {
    let db = MariaDb::start(name);
    db.create_user("app", PASSWORD);
    db.create_user("lms", "lms-pw");
    let rows: Vec<String> = (1..=50).map(|i| format!("({i}, 'v{i}')")).collect();
    let rows = rows.join(",");
    db.sql(&format!(
        "CREATE DATABASE shop CHARACTER SET utf8mb4;
         CREATE TABLE shop.items (id BIGINT PRIMARY KEY, name VARCHAR(50));
         CREATE TABLE shop.same (id BIGINT PRIMARY KEY, name VARCHAR(50));
         INSERT INTO shop.items VALUES {rows};
         INSERT INTO shop.same VALUES {rows};"
    ));
    let mut env = CutoverEnv::start(0, &[]);
    env.clusters.target.psql(
        &env.db,
        &format!(
            "CREATE SCHEMA shop;
             CREATE TABLE shop.items (id int8 PRIMARY KEY, name varchar(50));
             CREATE TABLE shop.same (id int8 PRIMARY KEY, name varchar(50));
             INSERT INTO shop.items VALUES {rows};
             INSERT INTO shop.same VALUES {rows};
             UPDATE shop.items SET name = 'changed' WHERE id = 17;
             CREATE UNIQUE INDEX only_on_the_target ON shop.same (name);"
        ),
    );
    let source = format!("mysql://lms:lms-pw@{}/", db.addr());
    let target = env.clusters.target.superuser_url(&env.db);
    env.add_proxy_with(|c| ProxyConfig {
        source_url: source,
        target_url: target,
        dialect: "mysql".into(),
        shadow_mode: mode.into(),
        ..c
    });
    (db, env)
}

fn report(env: &CutoverEnv) -> ShadowReport {
    shadow_report(env.proxies[0].control_addr())
}

fn on_target(env: &CutoverEnv, sql: &str) -> String {
    env.clusters.target.psql(&env.db, sql)
}

#[test]
fn sync_names_the_row_changed_on_the_target_in_both_protocols_and_writes_reach_both() {
    let (db, env) = start("myshsync", "sync");
    let port = env.proxies[0].sql_port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut c = mysql_async_conn(port, "app", PASSWORD, "shop").await;
        // The source of truth's answer is what the client gets.
        let rows: Vec<(i64, String)> = c
            .query("SELECT id, name FROM shop.items")
            .await
            .expect("text protocol");
        assert_eq!(rows.len(), 50);
        assert!(rows.contains(&(17, "v17".to_owned())));
        let same: Vec<(i64, String)> = c
            .query("SELECT id, name FROM shop.same ORDER BY id")
            .await
            .expect("text protocol");
        assert_eq!(same.len(), 50);
        let stmt = c
            .prep("SELECT id, name FROM shop.items WHERE id = ?")
            .await
            .expect("prepare on both");
        for id in [16, 17, 18] {
            let row: Option<(i64, String)> = c.exec_first(&stmt, (id,)).await.expect("execute");
            assert_eq!(row, Some((id, format!("v{id}"))));
        }
        c.query_drop("INSERT INTO shop.items VALUES (100, 'new')")
            .await
            .expect("insert");
        c.query_drop("START TRANSACTION").await.expect("begin");
        c.query_drop("UPDATE shop.same SET name = 'w1' WHERE id = 1")
            .await
            .expect("update");
        c.query_drop("COMMIT").await.expect("commit");
        c.disconnect().await.expect("disconnect");
    });
    assert_eq!(db.sql("SELECT name FROM shop.items WHERE id = 100"), "new");
    assert_eq!(
        on_target(&env, "SELECT name FROM shop.items WHERE id = 100"),
        "new"
    );
    assert_eq!(
        on_target(&env, "SELECT name FROM shop.same WHERE id = 1"),
        "w1"
    );

    let r = report(&env);
    let text = r
        .fingerprints
        .iter()
        .find(|f| f.fingerprint == "select id, name from shop.items")
        .expect("the full scan");
    assert_eq!(
        (text.counts.mismatched, text.counts.matched),
        (1, 0),
        "{text:?}"
    );
    let s = &text.samples[0];
    assert_eq!(s.differed, "rows", "{s:?}");
    assert_eq!(s.source_of_truth_value.as_deref(), Some("('17', 'v17')"));
    assert_eq!(s.shadow_value.as_deref(), Some("('17', 'changed')"));
    let same = entry(&r, "select id, name from shop.same").expect("the same table");
    assert_eq!(
        (same.counts.matched, same.counts.mismatched),
        (1, 0),
        "{same:?}"
    );
    let by_id = entry(&r, "select id, name from shop.items where id = ").expect("prepared");
    assert_eq!(
        (by_id.counts.matched, by_id.counts.mismatched),
        (3, 1),
        "the prepare and ids 16 and 18 match, 17 differs: {by_id:?}"
    );
    let differs = by_id
        .samples
        .iter()
        .find(|s| s.differed == "rows")
        .expect("the differing execution");
    assert_eq!(differs.shadow_value.as_deref(), Some("('17', 'changed')"));
    for write in ["insert into shop.items", "update shop.same", "commit"] {
        let f = entry(&r, write).unwrap_or_else(|| panic!("{write}: {r:?}"));
        assert_eq!((f.counts.matched, f.counts.shadow_errors), (1, 0), "{f:?}");
    }
}

/// A name the target's unique index refuses: MariaDB has no such index.
const DUPLICATE: &str = "INSERT INTO shop.same VALUES (99, 'v5')";

#[test]
fn a_statement_that_fails_only_on_the_target_is_a_shadow_error_in_sync() {
    let (db, env) = start("myshsyncerr", "sync");
    let mut c = MyClient::login(&env.proxies[0].sql_addr().to_string(), "app", PASSWORD);
    c.exec(DUPLICATE)
        .expect("sync gives the client the source of truth's answer");
    assert_eq!(db.sql("SELECT COUNT(*) FROM shop.same"), "51");
    let f = entry(&report(&env), "insert into shop.same").expect("the insert");
    assert_eq!(f.counts.shadow_errors, 1, "{f:?}");
    let value = f.samples[0].shadow_value.clone().unwrap_or_default();
    assert!(
        value.starts_with("1062:"),
        "errno of the target's 23505: {value}"
    );
    assert!(value.contains("23505"), "{value}");
    assert_eq!(c.query_value("SELECT 1").expect("goes on"), "1");
}

#[test]
fn a_statement_that_fails_only_on_the_target_is_the_clients_error_in_strict_sync() {
    let (db, env) = start("myshstrict", "strict-sync");
    let mut c = MyClient::login(&env.proxies[0].sql_addr().to_string(), "app", PASSWORD);
    let e = c
        .exec(DUPLICATE)
        .expect_err("strict-sync returns the shadow's error");
    assert_eq!(e.code, 1062, "{}", e.message);
    // As for PostgreSQL clients: the source of truth ran it; the client is told it
    // failed on the shadow.
    assert_eq!(db.sql("SELECT COUNT(*) FROM shop.same"), "51");
    assert_eq!(
        c.query_value("SELECT COUNT(*) FROM shop.same")
            .expect("goes on"),
        "51"
    );
    let f = entry(&report(&env), "insert into shop.same").expect("the insert");
    assert_eq!(f.counts.shadow_errors, 1, "{f:?}");
}

#[test]
fn async_writes_land_on_both_databases_and_the_client_never_waits() {
    let (db, env) = start("myshasync", "async");
    let mut c = MyClient::login(&env.proxies[0].sql_addr().to_string(), "app", PASSWORD);
    for i in 0..5 {
        c.exec(&format!(
            "INSERT INTO shop.items VALUES ({}, 'a{i}')",
            200 + i
        ))
        .expect("insert");
        // A request sent while the shadow still runs the last one is dropped: wait.
        assert!(
            wait_until(WAIT, || on_target(
                &env,
                &format!("SELECT COUNT(*) FROM shop.items WHERE id = {}", 200 + i)
            ) == "1"),
            "insert {i} reached the target"
        );
    }
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM shop.items WHERE id >= 200"),
        "5"
    );
    let f = entry(&report(&env), "insert into shop.items").expect("the inserts");
    assert_eq!(f.counts.unchecked, 5, "{f:?}");
}

#[test]
fn a_consistent_cutover_is_refused_while_mysql_sessions_are_shadowed() {
    let (_db, env) = start("myshcut", "sync");
    let mut c = MyClient::login(&env.proxies[0].sql_addr().to_string(), "app", PASSWORD);
    assert_eq!(
        c.query_value("SELECT name FROM shop.items WHERE id = 17")
            .expect("on MariaDB"),
        "v17"
    );
    // As for PostgreSQL clients: shadowing is switched off (a rolling restart with
    // --shadow-mode none) before a consistent cutover.
    let (code, body) = env
        .begin(molt_lms_api::cutover::BeginRequest::default())
        .expect_err("refused");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("\"shadowing\""), "{body}");
    assert_eq!(
        c.query_value("SELECT name FROM shop.items WHERE id = 17")
            .expect("still served"),
        "v17"
    );
}
