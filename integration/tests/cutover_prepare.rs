//! Commit only what is sure to work: the check before begin, the preparation before the
//! point of no return, and the metadata write before any proxy acts. Each failure here
//! must leave traffic paused on the old source, give no client an error, and let abort
//! resume it (or a fixed cause let commit succeed).

use molt_lms_api::check::{CheckReport, StatementVerdict};
use molt_lms_api::cutover::{BeginRequest, CutoverAttempt, CutoverStatus, ProxyPhase, ProxyReport};
use molt_lms_api::SourceOfTruth;
use molt_lms_integration::cutover_env::{gated_env, CutoverEnv, EnvSpec};
use molt_lms_integration::fixture::http_get;
use molt_lms_integration::load::{self, Load};
use molt_lms_integration::wait_until;
use std::process::Output;
use std::time::{Duration, Instant};

const WRITERS: usize = 12;

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The port of the server that answered: tells source from target.
async fn server_port(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT inet_server_port()", &[])
        .await
        .expect("server port")
        .get(0)
}

/// Every proxy's own report.
fn proxy_reports(env: &CutoverEnv) -> Vec<ProxyReport> {
    env.proxies
        .iter()
        .map(|p| {
            let (code, body) = http_get(p.control_addr(), "/api/v1/cutover");
            assert_eq!(code, 200, "{body}");
            serde_json::from_str(&body).expect("report json")
        })
        .collect()
}

/// The persisted source of truth, read from the metadata database itself.
fn persisted_source_of_truth(env: &CutoverEnv) -> String {
    env.meta_cluster()
        .psql(&env.meta_db, "SELECT source_of_truth FROM molt_lms.state")
}

/// Asserts that nothing was switched: the orchestrator, its metadata and every proxy
/// still name the source, and traffic is still held for `attempt`.
fn assert_still_paused_on_source(env: &CutoverEnv, attempt: u64) {
    let st = env.status();
    assert_eq!(st.source_of_truth, SourceOfTruth::Source);
    assert_eq!(st.active_attempt, Some(attempt));
    assert_eq!(persisted_source_of_truth(env), "source");
    let a = env.attempt(attempt).expect("attempt");
    assert_eq!(a.status, CutoverStatus::TrafficPaused, "{a:#?}");
    for r in proxy_reports(env) {
        assert_eq!(r.source_of_truth, SourceOfTruth::Source);
        assert_eq!(r.phase, ProxyPhase::Paused, "{r:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_cannot_log_in_on_the_target_is_refused_before_the_point_of_no_return() {
    let (env, _) = CutoverEnv::start_spec(
        3,
        &[],
        EnvSpec {
            independent_target_role: true,
            ..EnvSpec::default()
        },
    );
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let _replication = load::replicate_writes(&env);
    let writers = Load::start(&env, WRITERS);
    writers.wait_for_more(300);

    // The check finds that the target stores another verifier: begin pauses nothing.
    let out = env.orch.cli(&["cutover", "consistent", "begin"]);
    assert!(
        !out.status.success(),
        "begin passed the check: {}",
        text(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&env.user),
        "the role is not named: {}",
        text(&out)
    );
    assert!(!err.contains("SCRAM-SHA-256$"), "{err}");
    assert!(
        env.status().active_attempt.is_none(),
        "begin paused traffic"
    );
    writers.wait_for_more(100);

    // Forced past the check, the commit is refused at preparation.
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "begin",
        "--skip-check",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "begin --skip-check: {}", text(&out));
    let paused: CutoverAttempt = serde_json::from_slice(&out.stdout).expect("begin json");
    let at_pause = load::wait_caught_up(&env);
    let out = env.orch.cli(&["cutover", "consistent", "commit"]);
    assert!(!out.status.success(), "commit went through: {}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("point of no return") && err.contains(&env.user),
        "the refusal does not name the role: {}",
        text(&out)
    );
    assert!(!err.contains("SCRAM-SHA-256$"), "{err}");
    assert_still_paused_on_source(&env, paused.id);
    let a = env.attempt(paused.id).expect("attempt");
    assert!(a.prepare_started_time.is_some());
    assert!(
        a.proxies
            .iter()
            .all(|p| p.prepare.as_ref().is_some_and(|r| !r.failures.is_empty())),
        "{a:#?}"
    );
    assert_eq!(
        load::count(src, &env.db),
        at_pause,
        "a write ran during the pause"
    );

    // Abort resumes on the source, with no client error.
    let out = env.orch.cli(&["cutover", "consistent", "abort"]);
    assert!(out.status.success(), "abort: {}", text(&out));
    writers.wait_for_more(300);

    // Fixed: copy the verifier, and the same cutover succeeds.
    let out = env
        .orch
        .cli(&["roles", "sync", "--role", &env.user, "-o", "json"]);
    assert!(out.status.success(), "roles sync: {}", text(&out));
    assert_eq!(tgt.role_verifier(&env.user), src.role_verifier(&env.user));
    let out = env
        .orch
        .cli(&["cutover", "consistent", "begin", "-o", "json"]);
    assert!(
        out.status.success(),
        "begin after roles sync: {}",
        text(&out)
    );
    load::wait_caught_up(&env);
    let committing = Instant::now();
    let out = env
        .orch
        .cli(&["cutover", "consistent", "commit", "-o", "json"]);
    assert!(
        out.status.success(),
        "commit: {}\n{}",
        text(&out),
        env.orch.log()
    );
    let committed_at = Instant::now();
    let done: CutoverAttempt = serde_json::from_slice(&out.stdout).expect("commit json");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert!(done.proxies.iter().all(|p| p.prepared_time.is_some()));
    writers.wait_for_more(300);
    let ledger = writers.stop().await;
    load::stop_replication(&env);

    let l = ledger.lock().expect("ledger");
    l.assert_nothing_lost(&env, committed_at);
    let prepare_ms: Vec<u64> = done
        .proxies
        .iter()
        .filter_map(|p| p.prepare.as_ref().and_then(|r| r.millis))
        .collect();
    eprintln!(
        "PREPARE FIGURES: writers={WRITERS} acknowledged={} commit={:?} per_proxy_prepare_ms={prepare_ms:?} max_client_latency={:?}",
        l.acked.len(),
        committed_at - committing,
        l.max_latency
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_on_a_table_missing_from_the_target_is_named_and_refuses_the_commit() {
    let env = CutoverEnv::start(1, &[]);
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let (source, target) = (src.port() as i32, tgt.port() as i32);
    src.psql(
        &env.db,
        &format!(
            "CREATE TABLE only_on_source (id int); INSERT INTO only_on_source VALUES (1); ALTER TABLE only_on_source OWNER TO \"{}\"",
            env.user
        ),
    );
    let c = env.client(0).await;
    let st = c
        .prepare("SELECT count(*), inet_server_port() FROM only_on_source WHERE id > $1")
        .await
        .expect("prepare");
    assert_eq!(
        c.query_one(&st, &[&0i32])
            .await
            .expect("query")
            .get::<_, i32>(1),
        source
    );

    let out = env.orch.cli(&["cutover", "check", "-o", "json"]);
    assert!(!out.status.success(), "check passed: {}", text(&out));
    let report: CheckReport = serde_json::from_slice(&out.stdout).expect("check json");
    let failing = report
        .statements
        .iter()
        .find(|s| s.query.contains("only_on_source"))
        .unwrap_or_else(|| panic!("statement not named: {report:#?}"));
    assert_eq!(failing.verdict, StatementVerdict::Fails);
    assert!(failing.error.starts_with("42P01"), "{failing:#?}");
    assert!(
        !failing.query.contains('0'),
        "literals stay out: {failing:#?}"
    );

    let a = env.pause_skipping_check();
    let (code, body) = env.commit().expect_err("commit must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("prepare_failed") && body.contains("only_on_source"),
        "{body}"
    );
    assert!(body.contains("42P01"), "{body}");
    assert_still_paused_on_source(&env, a.id);

    // Abort: the client's cached statement runs on the source, no error.
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted);
    let row = c.query_one(&st, &[&0i32]).await.expect("after abort");
    assert_eq!(row.get::<_, i32>(1), source);

    // The table created on the target: the same statement now carries across.
    tgt.psql(
        &env.db,
        &format!(
            "CREATE TABLE only_on_source (id int); INSERT INTO only_on_source VALUES (1); ALTER TABLE only_on_source OWNER TO \"{}\"",
            env.user
        ),
    );
    let out = env.orch.cli(&["cutover", "check"]);
    assert!(out.status.success(), "check: {}", text(&out));
    env.pause();
    let done = env.commit().expect("commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    let prepared = done.proxies[0].prepare.as_ref().expect("prepare report");
    assert_eq!(
        (prepared.sessions, prepared.statements),
        (1, 1),
        "{prepared:#?}"
    );
    let row = c.query_one(&st, &[&0i32]).await.expect("after commit");
    assert_eq!(row.get::<_, i32>(1), target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_stopped_at_commit_refuses_the_commit_and_abort_resumes_on_the_source() {
    let (env, _) = CutoverEnv::start_spec(
        2,
        &[],
        EnvSpec {
            private_clusters: true,
            ..EnvSpec::default()
        },
    );
    let source = env.clusters.source.port() as i32;
    let clients = [env.client(0).await, env.client(1).await];
    for c in &clients {
        assert_eq!(server_port(c).await, source);
    }
    let a = env.pause();
    env.clusters.target.stop_server();
    let (code, body) = env.commit().expect_err("commit must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("prepare_failed") && body.contains("login"),
        "{body}"
    );
    assert_still_paused_on_source(&env, a.id);
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    for c in &clients {
        assert_eq!(
            server_port(c).await,
            source,
            "no client error, still on the source"
        );
    }
    env.clusters.target.start_server();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_metadata_write_pushes_nothing_and_commit_succeeds_once_it_is_restored() {
    let (env, role) = CutoverEnv::start_spec(
        2,
        &[],
        EnvSpec {
            own_metadata_role: true,
            ..EnvSpec::default()
        },
    );
    let role = role.expect("metadata role");
    let (source, target) = (
        env.clusters.source.port() as i32,
        env.clusters.target.port() as i32,
    );
    let c = env.client(0).await;
    assert_eq!(server_port(&c).await, source);
    let a = env.pause();
    let epoch = env.status().epoch;
    let meta = env.meta_cluster();
    meta.psql(
        &env.meta_db,
        &format!("REVOKE UPDATE ON molt_lms.state FROM \"{}\"", role.name),
    );
    let (code, body) = env.commit().expect_err("commit must fail");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("store_unavailable") && body.contains("permission denied"),
        "{body}"
    );
    // Nothing was pushed: same epoch everywhere, traffic still paused on the source.
    assert_eq!(env.status().epoch, epoch);
    assert!(env.status().transitioning);
    assert_still_paused_on_source(&env, a.id);
    assert!(proxy_reports(&env).iter().all(|r| r.epoch == epoch));
    // So does an abort's write: it fails the same way and changes nothing.
    let (code, _) = env.abort().expect_err("abort must fail while writes fail");
    assert_eq!(code, 503);
    assert_still_paused_on_source(&env, a.id);

    meta.psql(
        &env.meta_db,
        &format!("GRANT UPDATE ON molt_lms.state TO \"{}\"", role.name),
    );
    let done = env.commit().expect("commit after the privilege is back");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert_eq!(persisted_source_of_truth(&env), "target");
    assert_eq!(server_port(&c).await, target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_logs_in_during_the_pause_is_prepared_at_the_gate_and_lands_on_the_target() {
    let env = CutoverEnv::start(1, &[]);
    let target = env.clusters.target.port() as i32;
    let held = env.client(0).await;
    let st = held
        .prepare("SELECT inet_server_port()")
        .await
        .expect("prepare");
    env.pause();
    // A new client logs in and waits at the gate: its connect does not return yet.
    let conninfo = env.conninfo(0);
    let late = tokio::spawn(async move {
        let (c, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connect during the pause");
        tokio::spawn(conn);
        server_port(&c).await
    });
    let admin = env.proxies[0].control_addr();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let (_, body) = http_get(admin, "/api/v1/connections");
            let list: Vec<molt_lms_api::ConnectionInfo> =
                serde_json::from_str(&body).expect("connections json");
            list.len() == 2
                && list
                    .iter()
                    .all(|c| c.state == molt_lms_api::ConnectionState::Held)
        }),
        "the late client never reached the gate"
    );
    let done = env.commit().expect("commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    let prepared = done.proxies[0].prepare.as_ref().expect("prepare report");
    assert_eq!(
        (prepared.sessions, prepared.statements),
        (2, 1),
        "both the held session and the one at the gate were prepared: {prepared:#?}"
    );
    assert_eq!(late.await.expect("late client"), target);
    let row = held.query_one(&st, &[]).await.expect("held client");
    assert_eq!(row.get::<_, i32>(0), target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_writer_cannot_overwrite_a_newer_epoch_and_reloads_instead() {
    let env = CutoverEnv::start(1, &[]);
    let before = env.status().epoch;
    // Another writer (a second orchestrator) moves the persisted epoch on.
    env.meta_cluster().psql(
        &env.meta_db,
        &format!("UPDATE molt_lms.state SET epoch = {}", before + 10),
    );
    let (code, body) = env
        .begin(BeginRequest::default())
        .expect_err("a write from a stale epoch must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("stale_state"), "{body}");
    assert_eq!(
        env.meta_cluster()
            .psql(&env.meta_db, "SELECT epoch FROM molt_lms.state"),
        (before + 10).to_string(),
        "the newer epoch was overwritten"
    );
    // The orchestrator reloaded the newer state, and a begin now builds on it.
    assert!(
        wait_until(Duration::from_secs(10), || env.status().epoch
            == before + 10),
        "the orchestrator did not reload: {:?}",
        env.status().epoch
    );
    let a = env.pause();
    assert!(env.status().epoch > before + 10);
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    let _ = a;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_accepts_tcp_and_never_answers_refuses_the_commit_within_the_login_timeout() {
    let mut env = CutoverEnv::start(0, &[]);
    let stalled = molt_lms_integration::stalled_listener();
    env.add_proxy_with(|mut c| {
        c.target_url =
            format!("postgresql://postgres@127.0.0.1:{stalled}/postgres?sslmode=disable");
        c.extra_args
            .extend(["--backend-login-timeout".into(), "1s".into()]);
        c
    });
    let client = env.client(0).await;
    let source = env.clusters.source.port() as i32;
    assert_eq!(server_port(&client).await, source);
    let a = env.pause_skipping_check();
    let started = Instant::now();
    let (code, body) = env.commit().expect_err("commit must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("did not finish the login within 1s"),
        "the reason names the stall: {body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "refused at the login timeout, not at the preparation's 20 s bound"
    );
    assert_still_paused_on_source(&env, a.id);
    env.abort().expect("abort");
    assert_eq!(server_port(&client).await, source, "no client error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_statement_that_failed_to_prepare_is_not_replayed_at_commit() {
    let env = CutoverEnv::start(1, &[]);
    let client = env.client(0).await;
    let good = client.prepare("SELECT 40 + 2").await.expect("prepare");
    let bad = client
        .prepare("SELEC nothing")
        .await
        .expect_err("a syntax error");
    assert!(bad.as_db_error().is_some(), "{bad}");
    // A failed Parse in a pipeline skips the rest of its request on the server, too.
    let a = env.pause();
    let done = env
        .commit()
        .expect("the failed statement does not refuse the commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert_eq!(done.id, a.id);
    assert_eq!(
        server_port(&client).await,
        env.clusters.target.port() as i32,
        "the session moved"
    );
    let v: i32 = client.query_one(&good, &[]).await.expect("replayed").get(0);
    assert_eq!(v, 42);
}

/// `current_user` and the listening channels of a session, as its server sees them.
async fn role_and_channels(c: &tokio_postgres::Client) -> (String, Vec<String>) {
    let user: String = c
        .query_one("SELECT current_user::text", &[])
        .await
        .expect("current_user")
        .get(0);
    let channels = c
        .query("SELECT pg_listening_channels()::text ORDER BY 1", &[])
        .await
        .expect("channels")
        .iter()
        .map(|r| r.get(0))
        .collect();
    (user, channels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_role_and_listen_channels_are_carried_across_the_switch() {
    let env = CutoverEnv::start(1, &[]);
    for cluster in [&env.clusters.source, &env.clusters.target] {
        cluster.psql(
            &env.db,
            &format!(
                "CREATE ROLE tenant_x NOLOGIN; GRANT tenant_x TO \"{}\"",
                env.user
            ),
        );
    }
    let client = env.client(0).await;
    let other = env.client(0).await;
    client
        .batch_execute("SET ROLE tenant_x; LISTEN jobs")
        .await
        .expect("set role, listen");
    // Changed and changed back: nothing to carry for this one.
    other
        .batch_execute("BEGIN; SET ROLE tenant_x; ROLLBACK")
        .await
        .expect("rolled back");
    let before = role_and_channels(&client).await;
    assert_eq!(before, ("tenant_x".to_owned(), vec!["jobs".to_owned()]));
    let out = env.orch.cli(&["cutover", "check"]);
    assert!(out.status.success(), "check: {}", text(&out));

    env.pause();
    let done = env.commit().expect("commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert_eq!(
        server_port(&client).await,
        env.clusters.target.port() as i32
    );
    assert_eq!(role_and_channels(&client).await, before, "carried");
    assert_eq!(
        role_and_channels(&other).await,
        (env.user.clone(), vec![]),
        "a rolled-back SET ROLE is not replayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_holding_an_advisory_lock_or_a_temporary_table_blocks_the_commit() {
    let env = CutoverEnv::start(1, &[]);
    let locker = env.client(0).await;
    let temp = env.client(0).await;
    locker
        .batch_execute("SELECT pg_advisory_lock(42)")
        .await
        .expect("lock");
    temp.batch_execute("CREATE TEMP TABLE scratch (id int)")
        .await
        .expect("temp table");

    let out = env.orch.cli(&["cutover", "check", "-o", "json"]);
    assert!(!out.status.success(), "check passed: {}", text(&out));
    let report: CheckReport = serde_json::from_slice(&out.stdout).expect("check json");
    assert_eq!(report.sessions.len(), 2, "{report:#?}");
    assert!(
        report.sessions[0].reasons[0].contains("advisory"),
        "{report:#?}"
    );
    assert!(
        report.sessions[1].reasons[0].contains("temporary"),
        "{report:#?}"
    );
    let table = env.orch.cli(&["cutover", "check"]);
    assert!(
        text(&table).contains("Sessions a commit cannot move"),
        "{}",
        text(&table)
    );

    let a = env.pause_skipping_check();
    let (code, body) = env.commit().expect_err("commit must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("session state") || body.contains("session_state"),
        "{body}"
    );
    assert!(
        body.contains("advisory") && body.contains("temporary"),
        "{body}"
    );
    assert_still_paused_on_source(&env, a.id);
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted);

    // Released, the sessions move, and keep working on the target.
    let source = env.clusters.source.port() as i32;
    assert_eq!(server_port(&locker).await, source);
    locker
        .batch_execute("SELECT pg_advisory_unlock(42)")
        .await
        .expect("unlock");
    temp.batch_execute("DISCARD TEMP").await.expect("discard");
    let out = env.orch.cli(&["cutover", "check"]);
    assert!(out.status.success(), "check: {}", text(&out));
    env.pause();
    let done = env.commit().expect("commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    let target = env.clusters.target.port() as i32;
    assert_eq!(server_port(&locker).await, target);
    assert_eq!(server_port(&temp).await, target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_waiting_for_replication_goes_ahead_once_the_token_arrives() {
    let (env, _) = gated_env(&[]);
    let client = env.client(0).await;
    env.pause();
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "commit",
        "--wait-for-replication=20s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    let lag_ms: u64 = said
        .split("the token reached the target in ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no lag reported: {}", text(&out)));
    println!("replication gate: token replicated in {lag_ms} ms");
    let status = env.status();
    assert_eq!(status.source_of_truth, SourceOfTruth::Target);
    assert_eq!(
        server_port(&client).await,
        env.clusters.target.port() as i32
    );
    let (_, metrics) = http_get(env.orch.metrics_addr(), "/metrics");
    for series in [
        "lms_orchestrator_replication_lag_seconds ",
        "lms_orchestrator_last_cutover_status{status=\"CommitCompleted\"} 1",
        "lms_orchestrator_last_cutover_pause_seconds ",
        "lms_orchestrator_last_cutover_prepare_seconds ",
        "lms_orchestrator_last_cutover_total_seconds ",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_replication_lags_is_refused_and_abort_resumes_on_the_source() {
    let (env, repl) = gated_env(&[]);
    let subscription = repl.subscription;
    env.clusters.target.psql(
        &env.db,
        &format!("ALTER SUBSCRIPTION {subscription} DISABLE"),
    );
    let client = env.client(0).await;
    let a = env.pause();
    let out = env.orch.cli(&[
        "cutover",
        "consistent",
        "commit",
        "--wait-for-replication=1s",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("replication_lagging") || said.contains("has not been replicated"),
        "{said}"
    );
    assert!(said.contains("abort") && said.contains("--force"), "{said}");
    assert_still_paused_on_source(&env, a.id);
    // The client held during all this gets no error once traffic resumes.
    let query = tokio::spawn(async move {
        let port = server_port(&client).await;
        (client, port)
    });
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted);
    let (_client, port) = query.await.expect("the held query");
    assert_eq!(port, env.clusters.source.port() as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_with_max_lag_pauses_nothing_while_replication_lags() {
    let (env, repl) = gated_env(&[]);
    let subscription = repl.subscription;
    let tgt = &env.clusters.target;
    tgt.psql(
        &env.db,
        &format!("ALTER SUBSCRIPTION {subscription} DISABLE"),
    );
    let out = env
        .orch
        .cli(&["cutover", "consistent", "begin", "--max-lag", "1s"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing was paused"), "{}", text(&out));
    let st = env.status();
    assert_eq!(st.active_attempt, None, "{st:#?}");
    tgt.psql(
        &env.db,
        &format!("ALTER SUBSCRIPTION {subscription} ENABLE"),
    );
    let out = env
        .orch
        .cli(&["cutover", "consistent", "begin", "--max-lag", "30s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.status().active_attempt.is_some());
    env.abort().expect("abort");
}
