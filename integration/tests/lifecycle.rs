//! The admin API, and graceful shutdown: SIGTERM stops new logins, lets an open
//! transaction commit, closes idle sessions with a clean error, then exits.

use molt_lms_api::{ConnectionInfo, ConnectionState, ProxyStatus, ShadowMode, SourceOfTruth};
use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::raw::RawConn;
use molt_lms_integration::{wait_until, wait_until_async};
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::frontend::startup_message;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_reports_status_connections_metrics_and_health() {
    let env = ProxyEnv::start();
    let (code, body) = env.admin_get("/api/v1/status");
    assert_eq!(code, 200, "{body}");
    let status: ProxyStatus = serde_json::from_str(&body).expect("status json");
    assert_eq!(status.source_of_truth, SourceOfTruth::Source);
    assert_eq!(status.shadow_mode, ShadowMode::None);
    assert_eq!(status.target_dialect.as_str(), "cockroach");
    assert_eq!(status.lms_address, env.proxy.sql_addr().to_string());
    assert_eq!(
        status.target_address,
        format!("127.0.0.1:{}", env.clusters.target.port())
    );
    assert!(!status.draining);

    let client = env.client(Via::Proxy).await;
    client
        .batch_execute("BEGIN; SELECT 'tracked query'")
        .await
        .expect("begin");
    let (code, body) = env.admin_get("/api/v1/connections");
    assert_eq!(code, 200);
    let list: Vec<ConnectionInfo> = serde_json::from_str(&body).expect("connections json");
    assert_eq!(list.len(), 1, "{body}");
    let c = &list[0];
    assert_eq!(c.state, ConnectionState::InTransaction);
    assert_eq!(c.last_query, "BEGIN; SELECT 'tracked query'");
    assert_eq!(c.user, env.user);
    assert_eq!(c.database, env.db);
    assert_eq!(c.remote_address, env.proxy.sql_addr().to_string());
    assert!(c.source_address.starts_with("127.0.0.1:"));
    assert!(c.transaction_age_secs.is_some());
    let _ = client.batch_execute("SELECT 1/0").await;
    // The driver returns at the ErrorResponse; the ReadyForQuery that says the
    // transaction failed may reach the proxy a moment later.
    let mut list: Vec<ConnectionInfo> = Vec::new();
    let failed = wait_until(Duration::from_secs(5), || {
        let (_, body) = env.admin_get("/api/v1/connections");
        list = serde_json::from_str(&body).expect("json");
        list[0].state == ConnectionState::FailedTransaction
    });
    assert!(failed, "{list:#?}");
    assert_eq!(list[0].error, "22012: division by zero");
    client.batch_execute("ROLLBACK").await.expect("rollback");

    let (code, metrics) = env.admin_get("/metrics");
    assert_eq!(code, 200);
    for name in [
        "lms_connections_open{protocol=\"postgresql\"} 1",
        "lms_queries_total{backend=\"source\",outcome=\"error\",protocol=\"postgresql\"} 1",
        "lms_query_duration_seconds_count{backend=\"source\",protocol=\"postgresql\"}",
        "lms_bytes_relayed_total{direction=\"backend_to_client\",protocol=\"postgresql\"}",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}:\n{metrics}");
    }
    assert_eq!(env.admin_get("/healthz").0, 200);
    assert_eq!(env.admin_get("/readyz").0, 200);
    let (code, body) = env.admin_get("/api/v1/nope");
    assert_eq!(code, 404);
    let err: molt_lms_api::ApiError = serde_json::from_str(&body).expect("json error body");
    assert_eq!(err.code, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_idle_sessions_and_lets_transactions_finish() {
    let mut env = ProxyEnv::start_with(|mut c| {
        c.extra_args
            .extend(["--shutdown-timeout".into(), "20s".into()]);
        c
    });
    env.psql(Via::Direct, "CREATE TABLE drained (id int)");
    let idle = env.client(Via::Proxy).await;
    let busy = env.client(Via::Proxy).await;
    busy.batch_execute("BEGIN; INSERT INTO drained VALUES (1)")
        .await
        .expect("begin");

    env.proxy.terminate();
    assert!(
        wait_until_async(Duration::from_secs(10), || async { idle.is_closed() }).await,
        "idle session was not closed on SIGTERM"
    );
    // Draining: not ready, and new logins are refused with 57P03.
    assert!(
        wait_until_async(Duration::from_secs(5), || async {
            env.admin_get("/readyz").0 == 503
        })
        .await,
        "readyz still 200 while draining"
    );
    let mut fresh = RawConn::connect(env.proxy.sql_addr());
    fresh.send(&startup_message(&[("user".into(), env.user.clone())]));
    let (tag, body) = fresh.read_message().expect("an answer");
    assert_eq!(tag, b'E');
    assert_eq!(error_fields(&body).0, "57P03");
    // libpq's default sslmode=prefer starts with an SSLRequest; it must see the error too.
    let out = env
        .pg_command("psql", Via::Proxy)
        .env("PGSSLMODE", "prefer")
        .args(["-X", "-c", "SELECT 1"])
        .output()
        .expect("psql");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the molt-lms proxy is shutting down"),
        "{stderr}"
    );
    // The open transaction keeps working and commits.
    busy.batch_execute("INSERT INTO drained VALUES (2)")
        .await
        .expect("insert during drain");
    busy.batch_execute("COMMIT")
        .await
        .expect("commit during drain");
    assert!(
        wait_until_async(Duration::from_secs(10), || async { busy.is_closed() }).await,
        "session not closed after its transaction ended"
    );
    let status = env
        .proxy
        .wait_exit(Duration::from_secs(10))
        .expect("proxy exits");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        env.psql(
            Via::Direct,
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM drained"
        ),
        "1,2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_timeout_closes_transactions_that_do_not_finish() {
    let mut env = ProxyEnv::start_with(|mut c| {
        c.extra_args
            .extend(["--shutdown-timeout".into(), "1s".into()]);
        c
    });
    let busy = env.client(Via::Proxy).await;
    busy.batch_execute("BEGIN; SELECT 1").await.expect("begin");
    env.proxy.terminate();
    let status = env
        .proxy
        .wait_exit(Duration::from_secs(10))
        .expect("proxy exits after its timeout");
    assert!(status.success(), "{status:?}");
    assert!(busy.batch_execute("SELECT 1").await.is_err());
}
