//! The cutover that matters: writers through three proxies, native logical replication
//! from source to target, begin, replication catch-up, commit. Nothing fails, nothing
//! acknowledged is lost, and every write after the commit lands on the target only.

use molt_lms_api::cutover::CutoverStatus;
use molt_lms_api::SourceOfTruth;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::load::{self, Load};
use molt_lms_integration::wait_until;
use std::time::{Duration, Instant};

const WRITERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_under_load_with_logical_replication_loses_nothing() {
    let env = CutoverEnv::start(3, &[]);
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let _replication = load::replicate_writes(&env);
    let writers = Load::start(&env, WRITERS);
    let count = |c: &molt_lms_integration::PgCluster| load::count(c, &env.db);
    assert!(
        wait_until(Duration::from_secs(20), || count(src) >= 300),
        "load did not start"
    );

    // Begin: every proxy pauses once its sessions are between transactions.
    let began = Instant::now();
    let out = env
        .orch
        .cli(&["cutover", "consistent", "begin", "-o", "json"]);
    assert!(
        out.status.success(),
        "begin: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.orch.log()
    );
    let attempt: molt_lms_api::cutover::CutoverAttempt =
        serde_json::from_slice(&out.stdout).expect("begin json");
    assert_eq!(attempt.status, CutoverStatus::TrafficPaused);
    let pause_took = began.elapsed();
    // Replication catches up while traffic is held.
    let caught_up = Instant::now();
    let at_pause = load::wait_caught_up(&env);
    assert_eq!(
        count(src),
        at_pause,
        "a write reached the source during the pause"
    );
    let catch_up_took = caught_up.elapsed();
    let committing = Instant::now();
    let out = env
        .orch
        .cli(&["cutover", "consistent", "commit", "-o", "json"]);
    assert!(
        out.status.success(),
        "commit: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        env.orch.log()
    );
    let committed_at = Instant::now();
    let commit_took = committing.elapsed();
    let done: molt_lms_api::cutover::CutoverAttempt =
        serde_json::from_slice(&out.stdout).expect("commit json");
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");

    // More writes on the new source of truth, then stop.
    let target_rows_at_commit = count(tgt);
    assert!(
        wait_until(Duration::from_secs(20), || count(tgt)
            >= target_rows_at_commit + 300),
        "no writes after the commit"
    );
    let ledger = writers.stop().await;
    load::stop_replication(&env);

    let l = ledger.lock().expect("ledger");
    let after_commit = l.assert_nothing_lost(&env, committed_at);
    let target_port = tgt.port().to_string();
    let served_by_target: usize = tgt
        .psql(
            &env.db,
            &format!("SELECT count(*) FROM writes WHERE server_port = {target_port}"),
        )
        .parse()
        .expect("count");
    assert!(served_by_target >= after_commit);
    for p in &env.proxies {
        let (_, body) = molt_lms_integration::fixture::http_get(p.control_addr(), "/api/v1/status");
        let st: molt_lms_api::ProxyStatus = serde_json::from_str(&body).expect("status");
        assert_eq!(st.source_of_truth, SourceOfTruth::Target);
    }
    let out = env.orch.cli(&["status", "-o", "json"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"target\""));

    let pauses: Vec<String> = done
        .proxies
        .iter()
        .map(|p| {
            let t = |s: &str| humantime::parse_rfc3339(s).expect("time");
            let paused = t(p.traffic_paused_time.as_deref().expect("paused"))
                .duration_since(t(&p.trigger_time))
                .unwrap_or_default();
            format!("{} {:?}", p.lms_address, paused)
        })
        .collect();
    eprintln!(
        "CUTOVER FIGURES: connections={WRITERS} proxies=3 acknowledged_writes={} after_commit={} errors={} \
         begin_to_all_paused={pause_took:?} per_proxy_pause=[{}] replication_catch_up={catch_up_took:?} \
         commit={commit_took:?} max_client_latency={:?}",
        l.acked.len(),
        after_commit,
        l.errors.len(),
        pauses.join(", "),
        l.max_latency
    );
}
