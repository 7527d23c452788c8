//! Consistent cutover across proxies: pause, commit, abort, revert, refusals, cached
//! prepared statements and session settings across the switch, begin timeouts.

use molt_lms_api::cutover::{BeginRequest, CutoverStatus, TimeoutAction};
use molt_lms_api::SourceOfTruth;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::server_port;
use std::time::Duration;

/// Orchestrator flags for tests that lose a proxy or the orchestrator: fast heartbeats, a
/// proxy lost after 1 s, and a 1 s lease.
const SHORT_LEASE: &[&str] = &[
    "--heartbeat-interval",
    "200ms",
    "--proxy-lost-after",
    "1s",
    "--proxy-lease",
    "1s",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_abort_revert_and_refusals_with_cached_statements() {
    let env = CutoverEnv::start(2, &[]);
    let (source, target) = (
        env.clusters.source.port() as i32,
        env.clusters.target.port() as i32,
    );
    let refused = env.commit().expect_err("commit without begin");
    assert_eq!(refused.0, 409);
    assert!(refused.1.contains("no_attempt"), "{}", refused.1);
    let refused = env.abort().expect_err("abort without begin");
    assert_eq!(refused.0, 409);

    // A driver that caches a prepared statement, and a session setting.
    let c = env.client(0).await;
    let cached = c
        .prepare("SELECT inet_server_port(), current_setting('application_name')")
        .await
        .expect("prepare");
    c.batch_execute("SET application_name = 'kept across cutover'")
        .await
        .expect("set");
    let other = env.client(1).await;
    assert_eq!(server_port(&other).await, source);

    // Abort: traffic resumes on the source.
    let a = env.pause();
    assert_eq!(a.proxies.len(), 2);
    assert!(a
        .proxies
        .iter()
        .all(|p| p.status == CutoverStatus::TrafficPaused && p.traffic_paused_time.is_some()));
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    let row = c.query_one(&cached, &[]).await.expect("after abort");
    assert_eq!(row.get::<_, i32>(0), source);

    // Commit: the same cached statement now runs on the target, the setting survives.
    let a = env.pause();
    let refused = env.abort().map(|_| ()).err();
    assert!(refused.is_none(), "abort during pause is allowed");
    let a2 = env.begin(BeginRequest::default()).expect("begin again");
    assert!(a2.id > a.id);
    env.wait_status(a2.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    let done = env.commit().expect("commit");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert_eq!(done.source_of_truth, SourceOfTruth::Target);
    assert!(done
        .proxies
        .iter()
        .all(|p| p.status == CutoverStatus::CommitCompleted && p.end_time.is_some()));
    let row = c
        .query_one(&cached, &[])
        .await
        .expect("cached statement after commit");
    assert_eq!(row.get::<_, i32>(0), target);
    assert_eq!(row.get::<_, String>(1), "kept across cutover");
    assert_eq!(server_port(&other).await, target);
    let fresh = env.client(1).await;
    assert_eq!(
        server_port(&fresh).await,
        target,
        "new sessions open on the target"
    );
    let refused = env.abort().expect_err("abort after commit");
    assert!(refused.1.contains("already_committed"), "{}", refused.1);
    let refused = env.commit().expect_err("a second commit without a begin");
    assert!(refused.1.contains("no_attempt"), "{}", refused.1);
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);

    // Revert: a second begin/commit switches back to the source.
    env.pause();
    let back = env.commit().expect("revert commit");
    assert_eq!(back.status, CutoverStatus::CommitCompleted);
    assert_eq!(back.source_of_truth, SourceOfTruth::Source);
    assert_eq!(
        c.query_one(&cached, &[])
            .await
            .expect("after revert")
            .get::<_, i32>(0),
        source
    );
    let (_, body) =
        molt_lms_integration::fixture::http_get(env.proxies[0].control_addr(), "/api/v1/status");
    let st: molt_lms_api::ProxyStatus = serde_json::from_str(&body).expect("status");
    assert_eq!(st.source_of_truth, SourceOfTruth::Source);
    assert!(!st.transitioning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_timeout_abort_names_the_blocker_and_terminate_ends_it() {
    let env = CutoverEnv::start(1, &[]);
    let mut blocker = env.client(0).await;
    let tx = blocker.transaction().await.expect("begin tx");
    tx.execute("SELECT 'the blocking query'", &[])
        .await
        .expect("query in tx");
    let a = env
        .begin(BeginRequest {
            begin_timeout_ms: Some(1000),
            timeout_action: TimeoutAction::Abort,
            ..BeginRequest::default()
        })
        .expect("begin");
    // While waiting, the blocker is visible.
    assert!(molt_lms_integration::wait_until(
        Duration::from_secs(5),
        || {
            env.attempt(a.id).is_ok_and(|a| {
                a.proxies[0]
                    .blockers
                    .iter()
                    .any(|b| b.last_query.contains("the blocking query"))
            })
        }
    ));
    let done = env.wait_status(a.id, CutoverStatus::AbortCompleted, Duration::from_secs(20));
    assert!(done.error.contains("begin timeout"), "{}", done.error);
    assert!(done.error.contains("the blocking query"), "{}", done.error);
    // Traffic resumed on the source: the transaction goes on and commits.
    tx.execute("SELECT 1", &[])
        .await
        .expect("still in the transaction");
    tx.commit().await.expect("commit");

    let tx = blocker.transaction().await.expect("begin tx 2");
    tx.execute("SELECT 'blocking again'", &[])
        .await
        .expect("query");
    let a = env
        .begin(BeginRequest {
            begin_timeout_ms: Some(1000),
            timeout_action: TimeoutAction::Terminate,
            ..BeginRequest::default()
        })
        .expect("begin terminate");
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(20));
    let err = tx.execute("SELECT 1", &[]).await.expect_err("terminated");
    let msg = err
        .as_db_error()
        .map(|d| (d.code().code().to_owned(), d.message().to_owned()));
    if let Some((code, text)) = msg {
        assert_eq!(code, "57P01");
        assert!(
            text.contains(&format!("cutover attempt {}", a.id)),
            "{text}"
        );
    } else {
        assert!(err.is_closed(), "{err}");
    }
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    let again = env.client(0).await;
    assert_eq!(server_port(&again).await, env.clusters.source.port() as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_killed_during_the_pause_errors_the_attempt_and_abort_releases_the_rest() {
    let mut env = CutoverEnv::start(
        2,
        &["--heartbeat-interval", "200ms", "--proxy-lost-after", "1s"],
    );
    let survivor = env.client(0).await;
    let a = env.pause();
    env.proxies[1].kill();
    let failed = env.wait_status(a.id, CutoverStatus::Error, Duration::from_secs(10));
    assert!(failed.error.contains("lost"), "{}", failed.error);
    let refused = env
        .begin(BeginRequest {
            lms_addresses: vec![env.proxies[1].sql_addr().to_string()],
            ..BeginRequest::default()
        })
        .expect_err("a second attempt while one is in progress");
    assert_eq!(refused.0, 409);
    let refused = env.commit().expect_err("commit of a failed attempt");
    assert!(refused.1.contains("attempt_failed"), "{}", refused.1);
    // The survivor is still held until abort releases it.
    let held = tokio::time::timeout(Duration::from_millis(500), server_port(&survivor)).await;
    assert!(held.is_err(), "traffic must stay paused");
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    assert_eq!(
        server_port(&survivor).await,
        env.clusters.source.port() as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_orchestrator_keeps_proxies_paused_and_a_restart_keeps_everything() {
    let mut env = CutoverEnv::start(
        1,
        &["--heartbeat-interval", "200ms", "--proxy-lost-after", "1s"],
    );
    let c = env.client(0).await;
    let a = env.pause();
    env.orch.kill();
    // The proxy cannot reach the orchestrator: it stays paused, it does not resume.
    let waiting = tokio::spawn(async move {
        let port = server_port(&c).await;
        (c, port)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !waiting.is_finished(),
        "a query ran while the orchestrator was gone"
    );
    env.orch.restart();
    let resumed = env.attempt(a.id).expect("attempt survives a restart");
    assert!(
        matches!(
            resumed.status,
            CutoverStatus::TrafficPaused | CutoverStatus::BeginStarted
        ),
        "{resumed:#?}"
    );
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(10));
    assert!(!waiting.is_finished());
    let done = env.commit().expect("commit after restart");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    let (_c, port) = waiting.await.expect("held query");
    assert_eq!(
        port,
        env.clusters.target.port() as i32,
        "the held query ran on the new source of truth"
    );

    env.orch.restart();
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);
    // The switch to the target is persisted before the commit answers; the attempt's
    // completion is a progress write that a kill right after the answer may lose, and the
    // restarted orchestrator completes it again from the proxies' reports.
    env.wait_status(
        a.id,
        CutoverStatus::CommitCompleted,
        Duration::from_secs(10),
    );
    // A proxy started now learns the source of truth before serving.
    let i = env.add_proxy();
    let fresh = env.client(i).await;
    assert_eq!(server_port(&fresh).await, env.clusters.target.port() as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_proxies_are_left_out_and_partial_or_malformed_orders_are_refused() {
    use molt_lms_api::cutover::Liveness;
    use molt_lms_integration::fixture::http_request_as;
    let mut env = CutoverEnv::start(2, SHORT_LEASE);
    let c = env.client(0).await;
    // A list that leaves a live proxy out would switch it without its taking part.
    let (code, body) = env
        .begin(BeginRequest {
            lms_addresses: vec![env.proxies[0].sql_addr().to_string()],
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect_err("a partial cutover must be refused");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("partial_cutover"), "{body}");
    assert!(env.status().active_attempt.is_none());

    // A form-encoded commit, as any web page could send, does nothing.
    let a = env.pause();
    for ct in ["application/x-www-form-urlencoded", "text/plain"] {
        let (code, body) = http_request_as(
            env.orch.api_addr(),
            "POST",
            "/api/v1/cutover/commit",
            ct,
            "attempt_id=1",
        );
        assert_eq!(code, 400, "{ct}: {body}");
        assert!(body.contains("bad_request"), "{body}");
    }
    assert_eq!(
        env.attempt(a.id).expect("attempt").status,
        CutoverStatus::TrafficPaused
    );
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );

    // A proxy lost before begin is left out: the attempt does not wait for it, and
    // its abort settles.
    env.proxies[1].kill();
    assert!(
        molt_lms_integration::wait_until(Duration::from_secs(10), || env
            .status()
            .proxies
            .iter()
            .any(|p| p.liveness == Liveness::Lost)),
        "the killed proxy was never marked lost"
    );
    let lost = env.proxies[1].sql_addr().to_string();
    let (code, body) = env
        .begin(BeginRequest {
            lms_addresses: vec![lost],
            ..BeginRequest::default()
        })
        .expect_err("a lost proxy cannot take part");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("proxy_lost"), "{body}");
    // Until its lease has surely run out it may still be serving: begin waits.
    let (code, body) = env
        .begin(BeginRequest::default())
        .expect_err("a proxy that may still serve must not be left out");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("proxy_unreachable"), "{body}");
    let mut began = None;
    assert!(
        molt_lms_integration::wait_until(Duration::from_secs(15), || {
            began = env
                .begin(BeginRequest {
                    skip_check: true,
                    ..BeginRequest::default()
                })
                .ok();
            began.is_some()
        }),
        "begin never left the fenced proxy out"
    );
    let a = env.wait_status(
        began.expect("began").id,
        CutoverStatus::TrafficPaused,
        Duration::from_secs(20),
    );
    assert_eq!(a.proxies.len(), 1, "{a:#?}");
    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    assert_eq!(server_port(&c).await, env.clusters.source.port() as i32);
    let a = env.pause();
    assert_eq!(
        env.commit().expect("commit").status,
        CutoverStatus::CommitCompleted
    );
    assert_eq!(server_port(&c).await, env.clusters.target.port() as i32);
    let _ = a;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_whose_lease_runs_out_holds_its_traffic_until_the_orchestrator_answers() {
    let mut env = CutoverEnv::start(1, SHORT_LEASE);
    let c = env.client(0).await;
    let source = env.clusters.source.port() as i32;
    assert_eq!(server_port(&c).await, source);
    let fenced = |env: &CutoverEnv| {
        let (_, body) = molt_lms_integration::fixture::http_get(
            env.proxies[0].control_addr(),
            "/api/v1/cutover",
        );
        serde_json::from_str::<molt_lms_api::cutover::ProxyReport>(&body)
            .expect("report")
            .fenced
    };
    env.orch.kill();
    assert!(
        molt_lms_integration::wait_until(Duration::from_secs(10), || fenced(&env)),
        "the proxy never fenced itself"
    );
    // A commit may have happened that this proxy never heard of: nothing runs.
    let waiting = tokio::spawn(async move {
        let port = server_port(&c).await;
        (c, port)
    });
    let held = tokio::time::timeout(Duration::from_millis(500), async {
        while !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(held.is_err(), "a query ran while the proxy was fenced");
    env.orch.restart();
    let (_c, port) = waiting.await.expect("held query");
    assert_eq!(port, source, "released on the unchanged source of truth");
    assert!(!fenced(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_shuts_down_gracefully_deregisters_and_does_not_hold_up_begin() {
    let mut env = CutoverEnv::start(2, &[]);
    let c = env.client(0).await;
    env.proxies[1].terminate();
    assert!(
        env.proxies[1].wait_exit(Duration::from_secs(20)).is_some(),
        "the proxy did not exit on SIGTERM"
    );
    assert!(
        molt_lms_integration::wait_until(Duration::from_secs(10), || env.status().proxies.len()
            == 1),
        "the proxy did not deregister: {:#?}",
        env.status().proxies
    );
    // With the default 30 s lease, a proxy merely gone silent would hold begin up.
    let a = env.pause();
    assert_eq!(a.proxies.len(), 1, "{a:#?}");
    assert_eq!(
        env.commit().expect("commit").status,
        CutoverStatus::CommitCompleted
    );
    assert_eq!(server_port(&c).await, env.clusters.target.port() as i32);
}
