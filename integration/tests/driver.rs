//! A Rust driver (tokio-postgres) through the proxy: prepared statements, pipelining,
//! cancel requests and many concurrent connections.

use futures_util::future::join_all;
use molt_lms_integration::fixture::{ProxyEnv, Via};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_and_pipelined_queries_match_direct() {
    let env = ProxyEnv::start();
    let proxy = env.client(Via::Proxy).await;
    let direct = env.client(Via::Direct).await;
    proxy
        .batch_execute("CREATE TABLE items (id int PRIMARY KEY, label text, price numeric)")
        .await
        .expect("create");
    let insert = proxy
        .prepare("INSERT INTO items VALUES ($1, $2, $3::text::numeric)")
        .await
        .expect("prepare");
    // Pipelined: all inserts are in flight on one connection at once.
    let inserts = (0..200).map(|i| {
        let (label, price) = (format!("item {i}"), format!("{}.25", i * 3));
        let (proxy, insert) = (&proxy, &insert);
        async move { proxy.execute(insert, &[&i, &label, &price]).await }
    });
    for r in join_all(inserts).await {
        assert_eq!(r.expect("insert"), 1);
    }
    let select = "SELECT id, label, price::text FROM items WHERE id % $1 = 0 ORDER BY id";
    let stmt = proxy.prepare(select).await.expect("prepare select");
    for _ in 0..3 {
        // Reusing the named statement many times, as drivers that cache statements do.
        let via_proxy: Vec<(i32, String, String)> = proxy
            .query(&stmt, &[&7i32])
            .await
            .expect("query")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let via_direct: Vec<(i32, String, String)> = direct
            .query(select, &[&7i32])
            .await
            .expect("query")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert_eq!(via_proxy.len(), 29);
        assert_eq!(via_proxy, via_direct);
    }
    // An error inside a pipeline fails only its own statement.
    let results = join_all([
        proxy.query_one("SELECT 1::int", &[]),
        proxy.query_one("SELECT 1/0", &[]),
        proxy.query_one("SELECT 3::int", &[]),
    ])
    .await;
    assert_eq!(
        results[0].as_ref().map(|r| r.get::<_, i32>(0)).ok(),
        Some(1)
    );
    let err = results[1].as_ref().expect_err("division by zero");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO)
    );
    assert_eq!(
        results[2].as_ref().map(|r| r.get::<_, i32>(0)).ok(),
        Some(3)
    );
    // Transactions work through the extended protocol.
    let mut proxy = proxy;
    let tx = proxy.transaction().await.expect("begin");
    tx.execute("DELETE FROM items WHERE id < 100", &[])
        .await
        .expect("delete");
    tx.rollback().await.expect("rollback");
    let n: i64 = direct
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_reaches_the_right_backend_session() {
    let env = ProxyEnv::start();
    let busy = env.client(Via::Proxy).await;
    let bystander = env.client(Via::Proxy).await;
    let bystander_pid: i32 = bystander
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    let token = busy.cancel_token();
    let started = Instant::now();
    let sleeper = tokio::spawn(async move { busy.execute("SELECT pg_sleep(30)", &[]).await });
    // Cancel once the sleep is visibly running on the source.
    let source = env.clusters.source.client("postgres").await;
    let running = molt_lms_integration::wait_until_async(Duration::from_secs(10), || async {
        source
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0) == 1)
            .unwrap_or(false)
    })
    .await;
    assert!(running, "pg_sleep never started");
    let cancel_sent = Instant::now();
    token
        .cancel_query(tokio_postgres::NoTls)
        .await
        .expect("send cancel");
    let err = sleeper.await.expect("join").expect_err("cancelled");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{err}"
    );
    assert!(
        cancel_sent.elapsed() < Duration::from_secs(1),
        "cancel took {:?}",
        cancel_sent.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // The other session was not touched.
    let still: i32 = bystander
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("bystander alive")
        .get(0);
    assert_eq!(still, bystander_pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_connections() {
    let env = ProxyEnv::start();
    let clients = join_all((0..200).map(|_| env.client(Via::Proxy))).await;
    let results = join_all(clients.iter().enumerate().map(|(i, c)| async move {
        c.query_one("SELECT $1::int + 1, pg_backend_pid()", &[&(i as i32)])
            .await
            .map(|r| (r.get::<_, i32>(0), r.get::<_, i32>(1)))
    }))
    .await;
    let mut pids = std::collections::HashSet::new();
    for (i, r) in results.into_iter().enumerate() {
        let (v, pid) = r.expect("query on one of 200 connections");
        assert_eq!(v, i as i32 + 1);
        pids.insert(pid);
    }
    assert_eq!(pids.len(), 200, "each client has its own backend session");
    let (status, body) = env.admin_get("/api/v1/connections");
    assert_eq!(status, 200);
    let list: Vec<molt_lms_api::ConnectionInfo> = serde_json::from_str(&body).expect("json");
    assert_eq!(list.len(), 200);
    drop(clients);
    assert!(
        molt_lms_integration::wait_until(Duration::from_secs(10), || {
            let (_, body) = env.admin_get("/api/v1/connections");
            body.trim() == "[]"
        }),
        "connections not released after clients closed"
    );
}
