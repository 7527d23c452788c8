//! The replication gate beyond PostgreSQL's token check (see `cutover_prepare.rs` for that):
//! the LSN check against real PostgreSQL logical replication, the CLI's progress while a
//! commit waits, and a MySQL source, whose token is written on MariaDB and read on the
//! PostgreSQL target.

use molt_lms_api::cutover::{CutoverStatus, ReplicationCheck};
use molt_lms_api::SourceOfTruth;
use molt_lms_integration::cutover_env::{gated_env, CutoverEnv, EnvSpec};
use molt_lms_integration::fixture::{http_get, http_request, server_port};
use molt_lms_integration::mariadb::MariaDb;
use molt_lms_integration::mysql_client::MyClient;
use molt_lms_integration::wait_until;
use mysql_async::prelude::Queryable;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The lag the CLI reported after "… in ", in milliseconds.
fn reported_lag_ms(out: &Output, after: &str) -> u64 {
    String::from_utf8_lossy(&out.stderr)
        .split(after)
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no lag reported: {}", text(out)))
}

/// The orchestrator's last measured replication lag, from its metrics.
fn lag_metric(env: &CutoverEnv) -> f64 {
    let (_, metrics) = http_get(env.orch.metrics_addr(), "/metrics");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("lms_orchestrator_replication_lag_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no lag metric:\n{metrics}"))
}

/// Rows in the gate's sentinel table on `db` of `cluster`: what the gate wrote there.
fn sentinel_rows(cluster: &molt_lms_integration::PgCluster, db: &str) -> String {
    cluster.psql(db, "SELECT count(*) FROM molt_lms.replication_sentinel")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lsn_check_commits_once_the_subscription_confirmed_the_source_position() {
    let (env, repl) = gated_env(&[]);
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    for c in [src, tgt] {
        c.psql(
            &env.db,
            &format!(
                "CREATE TABLE items (id int PRIMARY KEY, note text); ALTER TABLE items OWNER TO \"{}\"",
                env.user
            ),
        );
    }
    src.psql(
        &env.db,
        &format!("ALTER PUBLICATION {} ADD TABLE items", repl.publication),
    );
    tgt.psql(
        &env.db,
        &format!(
            "ALTER SUBSCRIPTION {} REFRESH PUBLICATION",
            repl.subscription
        ),
    );
    let unsynced = format!(
        "SELECT count(*) FILTER (WHERE srsubstate <> 'r') || '/' || count(*) FROM pg_subscription_rel \
         WHERE srsubid = (SELECT oid FROM pg_subscription WHERE subname = '{}')",
        repl.subscription
    );
    assert!(
        wait_until(Duration::from_secs(60), || tgt.psql(&env.db, &unsynced)
            == "0/2"),
        "the subscription's tables never became ready: {}",
        tgt.psql(&env.db, &unsynced)
    );

    // Nothing to replicate: WAL only for a table outside the publication, which the slot
    // confirms past through the walsender's keepalives (no transaction is sent for it).
    src.psql(
        &env.db,
        "CREATE TABLE not_published (id int); INSERT INTO not_published SELECT generate_series(1, 1000)",
    );
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "begin",
        "--max-lag",
        "20s",
        "--replication-check",
        "lsn",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out), env.orch.log());
    let idle_lag = lag_metric(&env);
    println!(
        "LSN check, nothing to replicate: confirmed in {:.0} ms",
        idle_lag * 1000.0
    );
    env.abort().expect("abort");

    // Writes acknowledged just before the pause: the check waits until they are applied.
    let client = env.client(0).await;
    for i in 0..200 {
        client
            .execute(
                "INSERT INTO items VALUES ($1, 'written before the pause')",
                &[&i],
            )
            .await
            .expect("insert");
    }
    env.pause();
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "commit",
        "--wait-for-replication=20s",
        "--replication-check",
        "lsn",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out), env.orch.log());
    let lag_ms = reported_lag_ms(&out, "confirmed the WAL position in ");
    println!("LSN check after 200 writes: confirmed in {lag_ms} ms");
    assert_eq!(
        tgt.psql(&env.db, "SELECT count(*) FROM items"),
        "200",
        "every write acknowledged before the pause is on the target at the commit"
    );
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);
    assert_eq!(server_port(&client).await, tgt.port() as i32);
    let latest = env.status().latest_attempt.expect("an attempt");
    let a = env.attempt(latest).expect("attempt");
    assert_eq!(a.replication_check, Some(ReplicationCheck::Lsn), "{a:#?}");
    assert_eq!(
        sentinel_rows(src, &env.db),
        "0",
        "the LSN check wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lsn_check_refuses_the_commit_while_the_subscription_is_disabled_showing_progress_then_abort_resumes(
) {
    let (env, repl) = gated_env(&["--replication-check", "lsn"]);
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    tgt.psql(
        &env.db,
        &format!("ALTER SUBSCRIPTION {} DISABLE", repl.subscription),
    );
    // Something for the subscription to miss.
    src.psql(
        &env.db,
        "CREATE TABLE after_disable (id int); INSERT INTO after_disable VALUES (1)",
    );
    let client = env.client(0).await;
    let a = env.pause();
    // Long enough for the CLI's progress lines, printed each second while it waits.
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "commit",
        "--wait-for-replication=3s",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("have not confirmed its WAL position") && said.contains(&repl.subscription),
        "the refusal names the lagging slot: {said}"
    );
    assert!(said.contains("abort") && said.contains("--force"), "{said}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let progress = stderr
        .find("waiting for replication (lsn check): ")
        .unwrap_or_else(|| panic!("no progress line while the gate waited: {said}"));
    let refusal = stderr.find("have not confirmed").expect("the refusal");
    assert!(progress < refusal, "progress, then the refusal: {said}");
    let progress_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("waiting for replication (lsn check): "))
        .collect();
    println!("CLI progress while the gate waited: {progress_lines:?}");
    assert!(
        progress_lines
            .iter()
            .all(|l| l.contains(" of 3s, ") && l.ends_with(" polls")),
        "{progress_lines:?}"
    );
    let still = env.attempt(a.id).expect("attempt");
    assert_eq!(still.status, CutoverStatus::TrafficPaused, "{still:#?}");
    assert_eq!(still.replication_gate, None, "the gate ended: {still:#?}");
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Source);
    let query = tokio::spawn(async move {
        let port = server_port(&client).await;
        (client, port)
    });
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted);
    let (_client, port) = query.await.expect("the held query");
    assert_eq!(port, src.port() as i32, "resumed on the source, no error");
    assert_eq!(
        sentinel_rows(src, &env.db),
        "0",
        "the LSN check wrote nothing"
    );
}

#[test]
fn the_lsn_check_without_a_subscription_says_what_it_needs_and_pauses_nothing() {
    let (env, _) = CutoverEnv::start_spec(
        1,
        &[],
        EnvSpec {
            replication_gate: true,
            ..EnvSpec::default()
        },
    );
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "begin",
        "--max-lag",
        "5s",
        "--replication-check",
        "lsn",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("no logical replication slot") && said.contains("nothing was paused"),
        "{said}"
    );
    assert_eq!(env.status().active_attempt, None);
}

/// An orchestrator whose SOURCE_URL is database `shop` on `my` (TARGET_URL: the test
/// database on the shared PostgreSQL target), with one MySQL-dialect proxy in front of
/// `my`. Returns the env and SOURCE_URL.
fn mysql_gated_env(my: &MariaDb, orch_args: &[&str]) -> (CutoverEnv, String) {
    my.create_user("gate", "gate-pw");
    my.sql("CREATE DATABASE shop");
    let source = format!("mysql://gate:gate-pw@{}/shop", my.addr());
    let (mut env, _) =
        CutoverEnv::start_configured(0, orch_args, EnvSpec::default(), |config, clusters, db| {
            config["SOURCE_URL"] = source.clone().into();
            config["TARGET_URL"] = clusters.target.superuser_url(db).into();
        });
    env.add_mysql_proxy(my);
    (env, source)
}

/// Plays the replication tool for the sentinel table alone. No MySQL → PostgreSQL
/// replication tool can be installed on the machines these tests run on, so this loop
/// reads the sentinel's row on MariaDB every 50 ms and copies it to the target when it
/// changed, as a tool that has the table in its table list would.
struct SentinelCopier {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl SentinelCopier {
    fn start(source_url: &str, target_url: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (source, target, flag) = (source_url.to_owned(), target_url.to_owned(), stop.clone());
        let task = tokio::spawn(async move {
            let opts = mysql_async::Opts::from_url(&source).expect("source url");
            let mut my = mysql_async::Conn::new(opts).await.expect("connect MariaDB");
            let (pg, conn) = tokio_postgres::connect(&target, tokio_postgres::NoTls)
                .await
                .expect("connect the target");
            tokio::spawn(conn);
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let (mut last, mut copies) = (None, 0);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                let row: Option<(String, String)> = my
                    .query_first(
                        "SELECT token, DATE_FORMAT(written_at, '%Y-%m-%d %H:%i:%s.%f') \
                         FROM molt_lms_replication_sentinel WHERE id = 1",
                    )
                    .await
                    .expect("read the sentinel on MariaDB");
                if row.is_some() && row != last {
                    let (token, at) = row.clone().expect("a row");
                    pg.execute(
                        "INSERT INTO molt_lms_replication_sentinel (id, token, written_at) \
                         VALUES (1, $1, $2::text::timestamp) ON CONFLICT (id) DO UPDATE \
                         SET token = excluded.token, written_at = excluded.written_at",
                        &[&token, &at],
                    )
                    .await
                    .expect("copy the sentinel to the target");
                    copies += 1;
                    last = row;
                }
            }
            copies
        });
        Self { stop, task }
    }

    /// Stops the loop; how many rows it copied.
    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the copier")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_source_gate_commits_once_the_token_reaches_the_postgresql_target() {
    let my = MariaDb::start("gatego");
    let (env, source) = mysql_gated_env(&my, &[]);
    let tgt = &env.clusters.target;
    // initialize created the sentinel in the MySQL database and in the target's schema.
    assert_eq!(
        my.sql(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = 'shop' AND table_name = 'molt_lms_replication_sentinel'"
        ),
        "1"
    );
    assert_eq!(
        tgt.psql(
            &env.db,
            "SELECT to_regclass('public.molt_lms_replication_sentinel') IS NOT NULL"
        ),
        "t"
    );
    let copier = SentinelCopier::start(&source, &tgt.superuser_url(&env.db));
    env.pause();
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "commit",
        "--wait-for-replication=20s",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out), env.orch.log());
    let lag_ms = reported_lag_ms(&out, "the token reached the target in ");
    println!("MySQL source gate: token replicated in {lag_ms} ms");
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);
    assert!(copier.stop().await >= 1);
    let on_source = my.sql("SELECT token FROM shop.molt_lms_replication_sentinel WHERE id = 1");
    assert_eq!(on_source.len(), 32, "{on_source}");
    assert_eq!(
        tgt.psql(
            &env.db,
            "SELECT token FROM molt_lms_replication_sentinel WHERE id = 1"
        ),
        on_source
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_source_gate_refuses_the_commit_when_nothing_replicates_and_abort_resumes() {
    let my = MariaDb::start("gatestop");
    // The gate on by default, which a MySQL source used to refuse at start-up.
    let (env, _) = mysql_gated_env(&my, &["--wait-for-replication", "1s"]);
    my.sql("CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)");
    let addr = env.proxies[0].sql_addr().to_string();
    let mut client = MyClient::login(&addr, "gate", "gate-pw");
    assert_eq!(
        client.query_value("SELECT COUNT(*) FROM shop.t").ok(),
        Some("1".into())
    );
    let a = env.pause_skipping_check();
    let (code, body) = http_request(
        env.orch.api_addr(),
        "POST",
        "/api/v1/cutover/commit",
        Some(r#"{"wait_for_replication_ms": 1000, "replication_check": "lsn"}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("needs a PostgreSQL source"), "{body}");
    let (code, body) = env.commit().expect_err("nothing copies the token");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("replication_lagging") && body.contains("molt_lms_replication_sentinel"),
        "{body}"
    );
    let still = env.attempt(a.id).expect("attempt");
    assert_eq!(still.status, CutoverStatus::TrafficPaused, "{still:#?}");
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Source);
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    assert_eq!(
        client.query_value("SELECT COUNT(*) FROM shop.t").ok(),
        Some("1".into()),
        "the session held through the pause goes on on the source"
    );
}
