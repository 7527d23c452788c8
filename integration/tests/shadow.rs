//! Shadowing against a real source and target: what each mode returns to the client,
//! what reaches the shadow database, the comparison of answers, the shadow report over
//! HTTP and through the CLI, and shadow sessions closing with their clients.

use molt_lms_api::shadow::{ShadowReport, Verdict};
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::{shadow_entry as entry, shadow_report, ProxyEnv, Via};
use molt_lms_integration::pg::PgCluster;
use molt_lms_integration::proxy::ProxyConfig;
use molt_lms_integration::raw::RawConn;
use molt_lms_integration::{unique_name, wait_until, wait_until_async};
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

const WAIT: Duration = Duration::from_secs(20);

fn start(mode: &str) -> ProxyEnv {
    ProxyEnv::start_with(|c| ProxyConfig {
        shadow_mode: mode.to_owned(),
        ..c
    })
}

/// The env's role, logged in straight to `cluster` (no proxy).
async fn app_client(env: &ProxyEnv, cluster: &PgCluster) -> Client {
    let url = cluster.url(&env.user, &env.password, &env.db);
    let (c, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    c
}

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

fn report(env: &ProxyEnv) -> ShadowReport {
    shadow_report(env.proxy.control_addr())
}

/// Waits until the proxy has seen the shadow finish `n` requests of the fingerprint that
/// starts with `prefix` (async mode counts them as `unchecked`, sync modes as `matched`).
fn wait_shadow_done(env: &ProxyEnv, prefix: &str, n: u64) {
    let done = wait_until(WAIT, || {
        entry(&report(env), prefix).is_some_and(|f| f.counts.unchecked + f.counts.matched >= n)
    });
    assert!(
        done,
        "the shadow never finished {n} x {prefix:?}: {:?}",
        report(env)
    );
}

/// Every write reaches both databases; in async mode the test waits for the shadow
/// after each statement, since a request sent while the previous one runs is dropped.
async fn writes_land_on_both(mode: &str) {
    let env = start(mode);
    let proxy = env.client(Via::Proxy).await;
    let target = app_client(&env, &env.clusters.target).await;
    let source = app_client(&env, &env.clusters.source).await;
    proxy
        .batch_execute("CREATE TABLE w (id int PRIMARY KEY, v text)")
        .await
        .expect("create");
    // In async mode a request is only sent when the shadow is idle: wait for it each time.
    wait_shadow_done(&env, "create table w", 1);
    for i in 1..=3i32 {
        // One simple-protocol request per insert: a driver's prepare-then-execute is two
        // requests back to back, and async would drop the second one.
        proxy
            .batch_execute(&format!("INSERT INTO w VALUES ({i}, 'row {i}')"))
            .await
            .expect("insert");
        wait_shadow_done(&env, "insert into w", i as u64);
    }
    assert_eq!(count(&target, "SELECT count(*) FROM w").await, 3);
    assert_eq!(count(&source, "SELECT count(*) FROM w").await, 3);
    let r = report(&env);
    let insert = entry(&r, "insert into w").expect("insert fingerprint");
    let expected = if mode == "async" {
        insert.counts.unchecked
    } else {
        insert.counts.matched
    };
    assert_eq!(expected, 3, "{mode}: {insert:?}");
    assert_eq!(r.proxies[0].shadow_mode.as_str(), mode);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_writes_land_on_both_databases() {
    writes_land_on_both("async").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_land_on_both_databases() {
    writes_land_on_both("sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_sync_writes_land_on_both_databases() {
    writes_land_on_both("strict-sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_never_waits_for_a_stalled_shadow_and_counts_drops() {
    let env = start("async");
    let proxy = env.client(Via::Proxy).await;
    let target = app_client(&env, &env.clusters.target).await;
    let source = app_client(&env, &env.clusters.source).await;
    for (sql, prefix) in [
        (
            "CREATE TABLE s (id int PRIMARY KEY, n int)",
            "create table s",
        ),
        ("INSERT INTO s VALUES (1, 0)", "insert into s"),
    ] {
        proxy.batch_execute(sql).await.expect(sql);
        wait_shadow_done(&env, prefix, 1);
    }
    // Stall the shadow: hold the row's lock on the target.
    let locker = app_client(&env, &env.clusters.target).await;
    locker
        .batch_execute("BEGIN; SELECT * FROM s WHERE id = 1 FOR UPDATE")
        .await
        .expect("lock");
    // The lock is never released while these run, so finishing at all proves the
    // client did not wait for the shadow.
    for _ in 0..6 {
        tokio::time::timeout(
            Duration::from_secs(10),
            proxy.batch_execute("UPDATE s SET n = n + 1 WHERE id = 1"),
        )
        .await
        .expect("the client waited for the stalled shadow")
        .expect("update");
    }
    assert_eq!(
        source
            .query_one("SELECT n FROM s WHERE id = 1", &[])
            .await
            .expect("n")
            .get::<_, i32>(0),
        6
    );
    let update = entry(&report(&env), "update s set").expect("update fingerprint");
    assert_eq!(update.counts.dropped, 5, "{update:?}");
    let (_, metrics) = env.admin_get("/metrics");
    assert!(
        metrics.contains(&format!(
            "lms_shadow_requests_total{{fingerprint=\"{}\",outcome=\"dropped\",protocol=\"postgresql\"}} 5",
            update.id
        )),
        "{metrics}"
    );
    // Released, the shadow finishes the one update it was sent; the others stay dropped.
    locker.batch_execute("ROLLBACK").await.expect("unlock");
    assert!(
        wait_until_async(WAIT, || async {
            target
                .query_one("SELECT n FROM s WHERE id = 1", &[])
                .await
                .is_ok_and(|r| r.get::<_, i32>(0) == 1)
        })
        .await
    );
}

/// A bulk load bigger than the shadow backlog, into a shadow that cannot take it: the
/// shadow is abandoned at 64 MiB and the rest of the COPY costs the proxy nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_mb_copy_past_an_abandoned_shadow_keeps_the_proxy_small() {
    let env = start("async");
    let peak = copy_past_a_stalled_shadow(&env, 500).await;
    assert!(peak < 200, "the proxy grew by {peak} MiB");
}

/// With a process-wide shadow budget of 8 MiB the shadow is abandoned at that, not at the
/// session's 64 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shadow_budget_abandons_a_shadow_before_its_session_limit() {
    let env = ProxyEnv::start_with(|mut c| {
        c.shadow_mode = "async".into();
        c.extra_args
            .extend(["--shadow-budget".into(), "8MiB".into()]);
        c
    });
    let grown = copy_past_a_stalled_shadow(&env, 100).await;
    assert!(grown < 40, "the proxy grew by {grown} MiB");
    let (_, metrics) = env.admin_get("/metrics");
    assert!(
        metrics.contains("lms_shadow_buffered_bytes{protocol=\"postgresql\"} 0"),
        "{metrics}"
    );
}

/// COPYs `chunks` MiB through the proxy into a table the shadow cannot write (locked on
/// the target); checks the source got every row and the shadow was abandoned. Returns how
/// many MiB the proxy's peak resident memory grew.
async fn copy_past_a_stalled_shadow(env: &ProxyEnv, chunks: usize) -> u64 {
    use molt_lms_wire::pg::codec::{put_cstr, put_message};
    const MIB: usize = 1 << 20;
    let proxy = env.client(Via::Proxy).await;
    proxy
        .batch_execute("CREATE UNLOGGED TABLE big (id int, payload text)")
        .await
        .expect("create");
    wait_shadow_done(env, "create unlogged table big", 1);
    // The shadow's COPY waits for this lock, so it stops reading.
    let locker = app_client(env, &env.clusters.target).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let (_, peak_before) = env.proxy.memory_mib();
    let (addr, user, password, db) = (
        env.proxy.sql_addr(),
        env.user.clone(),
        env.password.clone(),
        env.db.clone(),
    );
    let rows = tokio::task::spawn_blocking(move || {
        let mut c = RawConn::login(addr, &user, &password, &db).expect("login");
        let mut q = Vec::new();
        put_message(&mut q, b'Q', |o| put_cstr(o, "COPY big FROM STDIN"));
        c.send(&q);
        let (tag, _) = c.read_message().expect("CopyInResponse");
        assert_eq!(tag, b'G');
        // One CopyData message of about 1 MiB of rows, sent 500 times.
        let mut text = Vec::with_capacity(MIB + 128);
        let mut n = 0;
        while text.len() < MIB {
            text.extend_from_slice(format!("{n}\t{}\n", "x".repeat(1000)).as_bytes());
            n += 1;
        }
        let mut chunk = Vec::new();
        put_message(&mut chunk, b'd', |o| o.extend_from_slice(&text));
        for _ in 0..chunks {
            c.send(&chunk);
        }
        let mut done = Vec::new();
        put_message(&mut done, b'c', |_| {});
        c.send(&done);
        let answer = c
            .until_ready()
            .expect("the COPY succeeds on the source of truth");
        assert!(
            answer
                .iter()
                .any(|(t, b)| *t == b'C' && b.starts_with(b"COPY ")),
            "{answer:?}"
        );
        n * chunks
    })
    .await
    .expect("copy task");
    let (rss, peak) = env.proxy.memory_mib();
    println!("COPY of {chunks} MiB: proxy peak RSS {peak_before} MiB before, {peak} MiB after ({rss} MiB now)");
    assert_eq!(count(&proxy, "SELECT count(*) FROM big").await, rows as i64);
    let (_, metrics) = env.admin_get("/metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("lms_shadow_sessions_lost_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
    locker.batch_execute("ROLLBACK").await.expect("unlock");
    peak.saturating_sub(peak_before)
}

/// A table whose CHECK constraints differ: `v = 1` fails on the source only, `v = 2` on
/// the target only, `v >= 100` on both.
async fn diverging_constraints(env: &ProxyEnv) -> (Client, Client) {
    let source = app_client(env, &env.clusters.source).await;
    let target = app_client(env, &env.clusters.target).await;
    source
        .batch_execute("CREATE TABLE m (v int CONSTRAINT src_chk CHECK (v <> 1 AND v < 100))")
        .await
        .expect("source table");
    target
        .batch_execute("CREATE TABLE m (v int CONSTRAINT tgt_chk CHECK (v <> 2 AND v < 100))")
        .await
        .expect("target table");
    (source, target)
}

async fn values(c: &Client) -> Vec<i32> {
    c.query("SELECT v FROM m ORDER BY v", &[])
        .await
        .expect("values")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_sync_returns_the_documented_error_for_each_outcome() {
    let env = start("strict-sync");
    let (source, target) = diverging_constraints(&env).await;
    let proxy = env.client(Via::Proxy).await;
    // Prepared once (a request of its own, which matches on both).
    let stmt = proxy
        .prepare("INSERT INTO m VALUES ($1)")
        .await
        .expect("prepare");
    let insert = |v: i32| {
        let (proxy, stmt) = (&proxy, &stmt);
        async move { proxy.execute(stmt, &[&v]).await }
    };
    // ok / ok
    assert_eq!(insert(0).await.expect("ok on both"), 1);
    // ok on the source of truth, error on the shadow: the shadow's error.
    let e = insert(2).await.expect_err("target error");
    let db = e.as_db_error().expect("db error");
    assert_eq!(db.code().code(), "23514");
    assert!(db.message().contains("tgt_chk"), "{db:?}");
    // error on the source of truth, ok on the shadow: the source of truth's error.
    let e = insert(1).await.expect_err("source error");
    assert!(
        e.as_db_error().expect("db").message().contains("src_chk"),
        "{e}"
    );
    // error on both: the source of truth's error.
    let e = insert(200).await.expect_err("both fail");
    assert!(
        e.as_db_error().expect("db").message().contains("src_chk"),
        "{e}"
    );
    // The session is still usable, and each database kept what it accepted.
    let one: i32 = proxy
        .query_one("SELECT 1", &[])
        .await
        .expect("select")
        .get(0);
    assert_eq!(one, 1);
    assert_eq!(values(&source).await, vec![0, 2]);
    assert_eq!(values(&target).await, vec![0, 1]);
    let r = report(&env);
    let f = entry(&r, "insert into m").expect("insert fingerprint");
    assert_eq!(f.verdict, Verdict::FailsOnShadow);
    assert_eq!(
        (
            f.counts.matched,
            f.counts.shadow_errors,
            f.counts.mismatched
        ),
        (3, 1, 1),
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_returns_the_source_of_truth_answer_when_only_the_shadow_fails_in_a_transaction() {
    let env = start("sync");
    let (source, target) = diverging_constraints(&env).await;
    let mut proxy = env.client(Via::Proxy).await;
    let stmt = proxy
        .prepare("INSERT INTO m VALUES ($1)")
        .await
        .expect("prepare");
    let tx = proxy.transaction().await.expect("begin");
    for v in [0, 2, 3] {
        tx.execute(&stmt, &[&v])
            .await
            .expect("sync returns the source of truth's answer");
    }
    tx.commit().await.expect("commit");
    assert_eq!(values(&source).await, vec![0, 2, 3]);
    // The shadow's transaction failed at v = 2, so its COMMIT rolled back.
    assert_eq!(values(&target).await, Vec::<i32>::new());
    let r = report(&env);
    let f = entry(&r, "insert into m").expect("insert fingerprint");
    // v = 2 fails on the shadow; v = 3 then fails there too (transaction aborted).
    assert_eq!(f.counts.shadow_errors, 2, "{f:?}");
    let sample = f.samples.first().expect("a sample");
    assert!(
        sample
            .shadow_value
            .as_deref()
            .unwrap_or_default()
            .contains("tgt_chk"),
        "{sample:?}"
    );
    let commit = entry(&r, "commit").expect("commit fingerprint");
    assert_eq!(commit.counts.mismatched, 1, "{commit:?}");
    assert_eq!(commit.samples[0].shadow_value.as_deref(), Some("ROLLBACK"));
}

/// The converse: `v = 1` fails on the source of truth only. Its transaction is then
/// failed, and the client's COMMIT becomes a rollback there; the shadow ran the insert
/// fine, so without help it would commit rows the source of truth rolled back.
async fn a_failure_on_the_source_of_truth_alone_fails_the_shadow_transaction(mode: &str) {
    let env = start(mode);
    let (source, target) = diverging_constraints(&env).await;
    let proxy = env.client(Via::Proxy).await;
    proxy.batch_execute("BEGIN").await.expect("begin");
    proxy
        .batch_execute("INSERT INTO m VALUES (0)")
        .await
        .expect("insert 0");
    let err = proxy
        .batch_execute("INSERT INTO m VALUES (1)")
        .await
        .expect_err("v = 1 fails on the source of truth");
    assert_eq!(
        err.as_db_error().and_then(|e| e.constraint()),
        Some("src_chk"),
        "{err:?}"
    );
    // Simple-protocol COMMIT of a failed transaction answers ROLLBACK, without an error.
    proxy.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(values(&source).await, Vec::<i32>::new());
    assert_eq!(values(&target).await, Vec::<i32>::new());
    // The session goes on, on both databases.
    proxy
        .batch_execute("INSERT INTO m VALUES (3)")
        .await
        .expect("insert 3");
    assert_eq!(values(&source).await, vec![3]);
    assert_eq!(values(&target).await, vec![3]);
    let f = entry(&report(&env), "insert into m").expect("insert fingerprint");
    assert_eq!(f.counts.mismatched, 1, "{f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_fails_the_shadow_transaction_when_only_the_source_of_truth_fails() {
    a_failure_on_the_source_of_truth_alone_fails_the_shadow_transaction("sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_sync_fails_the_shadow_transaction_when_only_the_source_of_truth_fails() {
    a_failure_on_the_source_of_truth_alone_fails_the_shadow_transaction("strict-sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_run_on_both_databases() {
    let env = start("sync");
    let proxy = env.client(Via::Proxy).await;
    proxy
        .batch_execute("CREATE TABLE p (id int PRIMARY KEY, label text)")
        .await
        .expect("create");
    let insert = proxy
        .prepare("INSERT INTO p VALUES ($1, $2)")
        .await
        .expect("prepare");
    let select = proxy
        .prepare("SELECT label FROM p WHERE id = $1")
        .await
        .expect("prepare");
    for i in 0..20i32 {
        proxy
            .execute(&insert, &[&i, &format!("label {i}")])
            .await
            .expect("insert");
        let row = proxy.query_one(&select, &[&i]).await.expect("select");
        assert_eq!(row.get::<_, String>(0), format!("label {i}"));
    }
    let target = app_client(&env, &env.clusters.target).await;
    assert_eq!(count(&target, "SELECT count(*) FROM p").await, 20);
    let r = report(&env);
    let f = entry(&r, "select label from p").expect("select fingerprint");
    assert_eq!(f.verdict, Verdict::Safe, "{f:?}");
    assert!(f.counts.matched >= 20, "{f:?}");
    assert_eq!(f.counts.mismatched + f.counts.shadow_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparison_reports_exactly_the_differing_row_and_the_cli_shows_it() {
    let mut env = CutoverEnv::start(0, &[]);
    let i = env.add_proxy_with(|c| ProxyConfig {
        shadow_mode: "sync".into(),
        ..c
    });
    for cluster in [&env.clusters.source, &env.clusters.target] {
        let url = cluster.url(&env.user, &env.password, &env.db);
        let (c, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
        tokio::spawn(conn);
        c.batch_execute(
            "CREATE TABLE diff (id int PRIMARY KEY, v text);
             INSERT INTO diff SELECT g, 'v' || g FROM generate_series(1, 50) g;
             CREATE TABLE same (id int PRIMARY KEY, v text);
             INSERT INTO same SELECT g, 'v' || g FROM generate_series(1, 50) g;",
        )
        .await
        .expect("tables");
        if std::ptr::eq(cluster, &env.clusters.target) {
            c.batch_execute("UPDATE diff SET v = 'changed' WHERE id = 17")
                .await
                .expect("diverge");
        }
    }
    let proxy = env.client(i).await;
    // Simple-protocol queries: one request each, with rows in text form.
    for sql in [
        "SELECT id, v FROM diff",
        "SELECT id, v FROM same ORDER BY id",
    ] {
        let rows = proxy.simple_query(sql).await.expect(sql);
        let n = rows
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count();
        assert_eq!(n, 50);
    }
    let out = env.orch.cli(&["shadow", "report", "-o", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: ShadowReport = serde_json::from_str(&text).expect("report json");
    let diff = entry(&r, "select id, v from diff").expect("diff fingerprint");
    assert_eq!(
        (diff.counts.mismatched, diff.counts.matched),
        (1, 0),
        "{diff:?}"
    );
    let s = &diff.samples[0];
    assert_eq!(s.differed, "rows");
    assert_eq!(s.source_of_truth_value.as_deref(), Some("('17', 'v17')"));
    assert_eq!(s.shadow_value.as_deref(), Some("('17', 'changed')"));
    let same = entry(&r, "select id, v from same").expect("same fingerprint");
    assert_eq!(
        (same.counts.matched, same.counts.mismatched),
        (1, 0),
        "{same:?}"
    );
    assert_eq!(same.verdict, Verdict::Safe);

    let out = env.orch.cli(&["shadow", "report"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    for want in ["DIFFERS", "select id, v from diff", "'changed'", "safe"] {
        assert!(table.contains(want), "table lacks {want:?}:\n{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_sessions_close_with_their_clients() {
    let env = start("sync");
    let app = unique_name("shadowed");
    let target = env.clusters.target.client("postgres").await;
    let sessions =
        format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'");
    let mut clients = Vec::new();
    for _ in 0..5 {
        let conninfo = format!("{} application_name={app}", env.conninfo(Via::Proxy));
        let (c, conn) = tokio_postgres::connect(&conninfo, NoTls)
            .await
            .expect("connect");
        let task = tokio::spawn(conn);
        c.batch_execute("SELECT 1").await.expect("query");
        clients.push((c, task));
    }
    assert_eq!(
        count(&target, &sessions).await,
        5,
        "one shadow session per client"
    );
    drop(clients);
    assert!(
        wait_until_async(WAIT, || async { count(&target, &sessions).await == 0 }).await,
        "shadow sessions leaked"
    );
    // A client that vanishes without Terminate is cleaned up too.
    let mut psql = env
        .pg_command("psql", Via::Proxy)
        .env("PGAPPNAME", &app)
        .args(["-X", "-c", "SELECT pg_sleep(0)", "-c", "\\! sleep 30"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");
    assert!(wait_until(WAIT, || {
        env.clusters.target.psql("postgres", &sessions).trim() == "1"
    }));
    psql.kill().expect("kill psql");
    let _ = psql.wait();
    assert!(
        wait_until_async(WAIT, || async { count(&target, &sessions).await == 0 }).await,
        "shadow session of a killed client leaked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cutover_the_shadow_is_the_old_source() {
    let mut env = CutoverEnv::start(1, &[]);
    env.pause();
    let done = env.commit().expect("commit");
    assert_eq!(
        done.status,
        molt_lms_api::cutover::CutoverStatus::CommitCompleted
    );
    let i = env.add_proxy_with(|c| ProxyConfig {
        shadow_mode: "sync".into(),
        ..c
    });
    let proxy = env.client(i).await;
    proxy
        .batch_execute("CREATE TABLE swapped (id int); INSERT INTO swapped VALUES (1), (2)")
        .await
        .expect("write");
    for cluster in [&env.clusters.source, &env.clusters.target] {
        let n = cluster.psql(&env.db, "SELECT count(*) FROM swapped");
        assert_eq!(n.trim(), "2");
    }
    let (_, body) =
        molt_lms_integration::fixture::http_get(env.proxies[i].control_addr(), "/api/v1/status");
    assert!(body.contains("\"target\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_is_not_replayed_on_the_shadow() {
    let env = start("sync");
    let proxy = env.client(Via::Proxy).await;
    proxy
        .batch_execute("CREATE TABLE k (id int)")
        .await
        .expect("create");
    let token = proxy.cancel_token();
    let source = env.clusters.source.client("postgres").await;
    let target = env.clusters.target.client("postgres").await;
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND pid <> pg_backend_pid()";
    // Inside a transaction, so the cancel leaves it failed on the source of truth.
    for sql in ["BEGIN", "INSERT INTO k VALUES (1)"] {
        proxy.batch_execute(sql).await.expect(sql);
    }
    let sleeper = tokio::spawn(async move {
        let r = proxy.batch_execute("SELECT pg_sleep(60)").await;
        let commit = proxy.batch_execute("COMMIT").await;
        (r, commit, proxy)
    });
    assert!(wait_until_async(WAIT, || async { count(&source, running).await == 1 }).await);
    token.cancel_query(NoTls).await.expect("cancel");
    // Replayed on the shadow, the sleep would keep the client waiting a full minute.
    let (r, commit, proxy) = tokio::time::timeout(Duration::from_secs(20), sleeper)
        .await
        .expect("the client waited for a replay of the cancelled request")
        .expect("join");
    let e = r.expect_err("cancelled");
    assert_eq!(e.code().map(|c| c.code()), Some("57014"), "{e}");
    assert_eq!(count(&target, running).await, 0);
    // COMMIT of the failed transaction rolls back on both databases alike.
    commit.expect("commit of a failed transaction answers ROLLBACK");
    for cluster in [&env.clusters.source, &env.clusters.target] {
        let n = cluster.psql(&env.db, "SELECT count(*) FROM k");
        assert_eq!(n.trim(), "0");
    }
    let r = report(&env);
    let commit = entry(&r, "commit").expect("commit fingerprint");
    assert_eq!(commit.counts.matched, 1, "{commit:?}");
    let sleep = entry(&r, "select pg_sleep").expect("sleep fingerprint");
    assert_eq!(sleep.counts.dropped, 1, "{sleep:?}");
    proxy.batch_execute("SELECT 1").await.expect("still usable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_shadow_leaves_sync_clients_served_and_strict_sync_refused() {
    // Nothing listens on port 1 of the loopback address.
    let dead = "postgresql://postgres:unused@127.0.0.1:1/postgres?sslmode=disable";
    let env = ProxyEnv::start_with(|c| ProxyConfig {
        target_url: dead.into(),
        shadow_mode: "sync".into(),
        ..c
    });
    for _ in 0..3 {
        let c = env.client(Via::Proxy).await;
        let one: i32 = c.query_one("SELECT 1", &[]).await.expect("served").get(0);
        assert_eq!(one, 1);
    }
    let (_, metrics) = env.admin_get("/metrics");
    assert!(
        metrics.contains("lms_shadow_sessions_failed_total{protocol=\"postgresql\"} 3"),
        "{metrics}"
    );

    let strict = ProxyEnv::start_with(|c| ProxyConfig {
        target_url: dead.into(),
        shadow_mode: "strict-sync".into(),
        ..c
    });
    let err = tokio_postgres::connect(&strict.conninfo(Via::Proxy), NoTls)
        .await
        .err()
        .expect("strict-sync refuses a client it cannot shadow");
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "08006");
    assert!(db.message().contains("strict-sync"), "{db:?}");
    assert!(!db.message().contains("unused"), "no secret in errors");
}

/// Clients that update the same row inside transactions: sent to both databases at once,
/// two of them could each win the row lock on a different database and wait for each
/// other forever. Every transaction must finish, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contended_transactions_never_deadlock_across_the_two_databases() {
    for mode in ["sync", "strict-sync"] {
        let env = start(mode);
        let setup = env.client(Via::Proxy).await;
        setup
            .batch_execute(
                "CREATE TABLE hot (id int PRIMARY KEY, n int); INSERT INTO hot VALUES (1, 0)",
            )
            .await
            .expect("setup");
        let (clients, rounds) = (8, 150);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let c = env.client(Via::Proxy).await;
            tasks.push(tokio::spawn(async move {
                for _ in 0..rounds {
                    for sql in [
                        "BEGIN",
                        "UPDATE hot SET n = n + 1 WHERE id = 1",
                        "UPDATE hot SET n = n + 0 WHERE id = 2",
                        "COMMIT",
                    ] {
                        c.batch_execute(sql).await.expect(sql);
                    }
                }
            }));
        }
        let all = futures_util::future::join_all(tasks);
        tokio::time::timeout(Duration::from_secs(60), all)
            .await
            .unwrap_or_else(|_| panic!("{mode}: transactions stalled across the databases"))
            .into_iter()
            .for_each(|r| r.expect("client task"));
        for cluster in [&env.clusters.source, &env.clusters.target] {
            let n = cluster.psql(&env.db, "SELECT n FROM hot WHERE id = 1");
            assert_eq!(n.trim(), (clients * rounds).to_string(), "{mode}");
        }
    }
}
