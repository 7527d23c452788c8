//! Fault injection with real processes: orchestrator restarts and outages, proxies
//! killed or cut off from the orchestrator (an in-test TCP relay that can be cut), each
//! under a write load that records every acknowledged write.

use molt_lms_api::cutover::{BeginRequest, CutoverAttempt, CutoverStatus, Liveness};
use molt_lms_api::SourceOfTruth;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::load::{count, pairs, replicate_writes, wait_caught_up, Ledger, Load};
use molt_lms_integration::relay::Relay;
use molt_lms_integration::wait_until;
use std::time::{Duration, Instant};

/// Begins (skipping the check), retrying while the orchestrator still waits for a lost
/// proxy's lease to run out; returns the attempt id.
fn begin_when_allowed(env: &CutoverEnv, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        match env.begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        }) {
            Ok(a) => return a.id,
            Err((409, body)) if body.contains("proxy_unreachable") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("begin: {e:?}\n{}", env.orch.log()),
        }
    }
}

/// Begins (see [`begin_when_allowed`]) and waits for the pause. A proxy that misses its
/// heartbeats for a moment on a loaded machine fails the attempt as it should ("lost
/// during the pause"); that attempt is aborted and begun again, at most three times.
fn pause_once_allowed(env: &CutoverEnv) -> CutoverAttempt {
    for _ in 0..3 {
        let id = begin_when_allowed(env, Duration::from_secs(20));
        let mut last = None;
        wait_until(Duration::from_secs(15), || {
            last = env.attempt(id).ok();
            last.as_ref().is_some_and(|a| {
                matches!(
                    a.status,
                    CutoverStatus::TrafficPaused | CutoverStatus::Error
                )
            })
        });
        match last {
            Some(a) if a.status == CutoverStatus::TrafficPaused => return a,
            Some(a) if a.status == CutoverStatus::Error && a.error.contains("lost") => {
                eprintln!(
                    "attempt {id} lost a proxy during the pause ({}); aborting and beginning again",
                    a.error
                );
                env.abort().expect("abort the failed attempt");
            }
            other => panic!("attempt {id} never paused: {other:#?}\n{}", env.orch.log()),
        }
    }
    panic!(
        "three attempts in a row lost a proxy during the pause\n{}",
        env.orch.log()
    );
}

/// A cutover committed by [`commit_once_allowed`].
struct Committed {
    /// Proxies that took part.
    participants: usize,
    /// When the commit was answered.
    at: Instant,
    /// Rows on the source then: the old source gets no write after the commit.
    source_rows: usize,
}

/// Begins once every lost proxy is surely fenced, waits for the pause and for
/// replication to catch up, and commits.
fn commit_once_allowed(env: &CutoverEnv) -> Committed {
    let a = pause_once_allowed(env);
    wait_caught_up(env);
    let done = env.commit().expect("commit");
    let at = Instant::now();
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    Committed {
        participants: a.proxies.len(),
        at,
        source_rows: count(&env.clusters.source, &env.db),
    }
}

/// No write reached the old source after the commit, through any proxy.
fn assert_source_untouched_since(env: &CutoverEnv, c: &Committed) {
    assert_eq!(
        count(&env.clusters.source, &env.db),
        c.source_rows,
        "a write reached the old source after the commit"
    );
}

fn liveness(env: &CutoverEnv, addr: &str) -> Option<Liveness> {
    env.status()
        .proxies
        .iter()
        .find(|p| p.registration.lms_address == addr)
        .map(|p| p.liveness)
}

#[test]
fn the_registry_survives_a_restart_and_a_proxy_lost_meanwhile_is_waited_for_then_forgotten() {
    let mut env = CutoverEnv::start(
        2,
        &[
            "--heartbeat-interval",
            "200ms",
            "--proxy-lost-after",
            "3s",
            "--proxy-lease",
            "3s",
            "--forget-proxy-after",
            "8s",
        ],
    );
    let gone = env.proxies[1].sql_addr().to_string();
    let registered_before = env.orch.full_log().matches("proxy registered").count();
    env.orch.kill();
    env.proxies[1].kill();
    env.orch.restart();

    // Both are back from the registry; the live one heartbeats with the key it holds and
    // does not register again.
    assert_eq!(env.status().proxies.len(), 2, "{}", env.orch.log());
    let live = env.proxies[0].sql_addr().to_string();
    assert!(wait_until(Duration::from_secs(10), || liveness(
        &env, &gone
    ) == Some(
        Liveness::Lost
    )));
    assert_eq!(liveness(&env, &live), Some(Liveness::Live));
    assert_eq!(
        env.orch.full_log().matches("proxy registered").count(),
        registered_before,
        "{}",
        env.orch.log()
    );
    assert!(env
        .orch
        .full_log()
        .contains("proxy restored from the registry"));

    // The dead proxy may, for all the orchestrator knows, still be serving: begin waits
    // for its lease, counted from the restart, then leaves it out.
    let (code, body) = env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect_err("begin right after the restart must wait for the lost proxy's lease");
    assert_eq!(code, 409, "{body}");
    assert!(
        body.contains("proxy_unreachable") && body.contains(&gone),
        "{body}"
    );
    let id = begin_when_allowed(&env, Duration::from_secs(15));
    let a = env.wait_status(id, CutoverStatus::TrafficPaused, Duration::from_secs(10));
    assert_eq!(a.proxies.len(), 1, "{a:#?}");
    env.abort().expect("abort");

    // Silent past --forget-proxy-after: forgotten, in memory and in the metadata.
    assert!(
        wait_until(Duration::from_secs(15), || env.status().proxies.len() == 1),
        "{:#?}",
        env.status()
    );
    env.orch.restart();
    let after = env.status();
    assert_eq!(after.proxies.len(), 1, "{after:#?}");
    assert_eq!(after.proxies[0].registration.lms_address, live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_down_for_15s_outside_a_cutover_holds_nothing_and_a_cutover_follows() {
    let mut env = CutoverEnv::start(2, &["--heartbeat-interval", "200ms"]);
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);
    env.orch.kill();
    let down = Instant::now();
    // The outage's length is the scenario itself, not a wait for some condition.
    tokio::time::sleep(Duration::from_secs(15)).await;
    // Writes were acknowledged all along: no gap of a second during the outage.
    let mut times: Vec<Instant> = {
        let l = load.ledger.lock().expect("ledger");
        assert!(
            l.errors.is_empty(),
            "client errors during the outage: {:?}",
            l.errors
        );
        l.acked
            .iter()
            .map(|(_, _, t)| *t)
            .filter(|t| *t >= down)
            .collect()
    };
    times.sort();
    times.insert(0, down);
    let gap = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let last = down.elapsed() - (*times.last().expect("acks") - down);
    assert!(
        times.len() > 100,
        "only {} writes in the 15 s outage",
        times.len()
    );
    // A held proxy would show a gap of the whole outage; 2 s leaves room for a busy machine.
    assert!(
        gap < Duration::from_secs(2) && last < Duration::from_secs(2),
        "writes stalled during the outage: longest gap {gap:?}, {last:?} since the last"
    );
    env.orch.restart();
    assert!(wait_until(Duration::from_secs(10), || env
        .status()
        .proxies
        .iter()
        .all(|p| p.liveness == Liveness::Live)));

    // A cutover succeeds afterwards, losing nothing.
    let a = env.pause();
    wait_caught_up(&env);
    let done = env.commit().expect("commit");
    let committed_at = Instant::now();
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    load.wait_for_more(50);
    let ledger = load.stop().await;
    let ledger = ledger.lock().expect("ledger");
    assert!(
        ledger.errors.is_empty(),
        "client errors: {:?}",
        ledger.errors
    );
    assert!(
        ledger.max_latency < Duration::from_secs(10),
        "{:?}",
        ledger.max_latency
    );
    let after = ledger.assert_nothing_lost(&env, committed_at);
    assert!(after > 0);
    eprintln!(
        "orchestrator down 15 s: {} writes acknowledged, {after} after the commit, none lost",
        ledger.acked.len()
    );
    assert_eq!(
        env.attempt(a.id).expect("metadata").status,
        CutoverStatus::CommitCompleted
    );
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);
}

/// Adds a proxy that reaches the orchestrator through one relay and is reached through
/// another (its control API advertised at the second relay's address), so a test can
/// cut it off both ways. Its SQL identity is `127.0.0.3:5999`.
fn add_partitionable_proxy(env: &mut CutoverEnv) -> (usize, Relay, Relay) {
    let to_orch = Relay::start(env.orch.api_addr());
    let to_proxy = Relay::start_on("127.0.0.3:0".parse().expect("addr"), env.orch.api_addr());
    let orch_url = format!("http://{}", to_orch.addr());
    let advertised = to_proxy.addr().to_string();
    let i = env.add_proxy_with(|mut c| {
        c.extra_args = vec![
            "--orchestrator-url".into(),
            orch_url,
            "--advertise-address".into(),
            "127.0.0.3:5999".into(),
            "--control-advertise-address".into(),
            advertised,
        ];
        c
    });
    to_proxy.set_target(env.proxies[i].control_addr());
    (i, to_orch, to_proxy)
}

/// One plain proxy and one [`add_partitionable_proxy`]; lost after 3 s, not 1, so that a
/// healthy proxy on a busy CI machine never looks lost.
fn partition_env() -> (CutoverEnv, usize, Relay, Relay) {
    let short = [
        "--heartbeat-interval",
        "200ms",
        "--proxy-lost-after",
        "3s",
        "--proxy-lease",
        "3s",
    ];
    let mut env = CutoverEnv::start(1, &short);
    let (i, to_orch, to_proxy) = add_partitionable_proxy(&mut env);
    (env, i, to_orch, to_proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_cut_off_from_the_orchestrator_never_serves_the_old_source_after_the_commit() {
    let (env, i, to_orch, to_proxy) = partition_env();
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);

    // The partition: proxy 1 hears nothing; once its lease runs out it holds new
    // transactions itself, and the orchestrator leaves it out once that is certain.
    to_orch.cut();
    to_proxy.cut();
    let cut_off = "127.0.0.3:5999".to_owned();
    assert!(wait_until(Duration::from_secs(10), || liveness(
        &env, &cut_off
    ) == Some(
        Liveness::Lost
    )));
    let committed = commit_once_allowed(&env);
    assert_eq!(committed.participants, 1);
    let committed_at = committed.at;

    // Healed, it learns the commit and its held writes run on the target.
    to_orch.heal();
    to_proxy.heal();
    load.wait_for_more(100);
    let ledger = load.stop().await;
    let ledger = ledger.lock().expect("ledger");
    let after = ledger.assert_nothing_lost(&env, committed_at);
    assert!(after > 0);
    eprintln!(
        "proxy cut off before begin: {} writes acknowledged, {after} after the commit, none lost",
        ledger.acked.len()
    );
    assert_source_untouched_since(&env, &committed);
    assert!(env.proxies[i]
        .stderr_log()
        .contains("orchestrator lease ran out"));
    assert!(
        wait_until(Duration::from_secs(10), || env.proxies[i]
            .stderr_log()
            .contains("lease renewed")),
        "{}",
        env.proxies[i].stderr_log()
    );
    assert_eq!(liveness(&env, &cut_off), Some(Liveness::Live));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_killed_while_proxies_are_paused_under_load_loses_nothing() {
    let mut env = CutoverEnv::start(2, &["--heartbeat-interval", "200ms"]);
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);
    let a = env.pause();
    // Every session is quiet: the source's row count holds still until the commit. (The
    // ledger may still record a few acknowledgements the clients had not read yet.)
    let rows_at_pause = count(&env.clusters.source, &env.db);
    env.orch.kill();
    env.orch.restart();
    env.wait_status(a.id, CutoverStatus::TrafficPaused, Duration::from_secs(10));
    assert_eq!(
        count(&env.clusters.source, &env.db),
        rows_at_pause,
        "writes ran while the cutover was paused"
    );
    wait_caught_up(&env);
    let done = env.commit().expect("commit after the restart");
    let committed_at = Instant::now();
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    load.wait_for_more(50);
    let ledger = load.stop().await;
    let after = ledger
        .lock()
        .expect("ledger")
        .assert_nothing_lost(&env, committed_at);
    assert!(after >= 50);
    eprintln!(
        "orchestrator killed while paused: {after} writes acknowledged after the commit, none lost"
    );
    env.orch.restart();
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Target);
}

/// Lost after 3 s and a 3 s lease: a killed proxy fails the attempt quickly and is left
/// out of the next one 8 s after it was last heard from. (2 s was seen to mark a live
/// proxy lost on a loaded 2-core CI machine.)
const KILL_ARGS: &[&str] = &[
    "--heartbeat-interval",
    "200ms",
    "--proxy-lost-after",
    "3s",
    "--proxy-lease",
    "3s",
];

/// Every acknowledged write is on the source; errors come only from writers on the
/// proxies in `killed` (writer i runs on proxy i % proxies).
fn assert_all_on_source(env: &CutoverEnv, ledger: &Ledger, proxies: usize, killed: &[usize]) {
    for e in &ledger.errors {
        let writer: usize = e
            .strip_prefix("writer ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|w| w.parse().ok())
            .unwrap_or(usize::MAX);
        assert!(
            killed.contains(&(writer % proxies)),
            "a client of a surviving proxy got an error: {e}"
        );
    }
    let on_source = pairs(&env.clusters.source, &env.db);
    for (w, s, _) in &ledger.acked {
        assert!(
            on_source.contains(&(*w, *s)),
            "acknowledged write ({w}, {s}) missing on the source"
        );
    }
}

/// After an aborted attempt: a fresh proxy joins and a cutover commits, losing nothing.
async fn a_new_cutover_succeeds(env: &mut CutoverEnv) {
    let i = env.add_proxy();
    let load = Load::start_on(env, &[i], 2);
    load.wait_for_more(20);
    // The killed proxy is waited for until its lease has surely run out.
    let committed_at = commit_once_allowed(env).at;
    load.wait_for_more(20);
    let ledger = load.stop().await;
    let after = ledger
        .lock()
        .expect("ledger")
        .assert_nothing_lost(env, committed_at);
    assert!(after > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_killed_during_begin_fails_the_attempt_and_abort_resumes_on_the_source() {
    let mut env = CutoverEnv::start(2, KILL_ARGS);
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);
    // A transaction left open on proxy 0 keeps the pause from completing.
    let blocker = env.client(0).await;
    blocker
        .batch_execute("BEGIN; SELECT 1")
        .await
        .expect("open a transaction");
    let a = env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin");
    env.proxies[1].kill();
    let failed = env.wait_status(a.id, CutoverStatus::Error, Duration::from_secs(15));
    assert!(failed.error.contains("lost"), "{failed:#?}");
    let (code, body) = env.commit().expect_err("commit after a lost proxy");
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    blocker
        .batch_execute("COMMIT")
        .await
        .expect("commit the blocker");
    load.wait_for_more(50);
    let ledger = load.stop().await;
    {
        let ledger = ledger.lock().expect("ledger");
        assert_all_on_source(&env, &ledger, 2, &[1]);
        eprintln!(
            "proxy killed during begin: {} writes acknowledged, all on the source, none lost",
            ledger.acked.len()
        );
    }
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Source);
    a_new_cutover_succeeds(&mut env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_killed_during_the_commit_refuses_it_and_abort_resumes_on_the_source() {
    let mut env = CutoverEnv::start(1, KILL_ARGS);
    // Proxy 1 reaches the target through a relay that can hang, so its preparation
    // hangs and the commit sits in its first phase when the proxy is killed.
    let target = Relay::start(
        format!("127.0.0.1:{}", env.clusters.target.port())
            .parse()
            .expect("addr"),
    );
    let target_url = env.clusters.target.superuser_url("postgres").replace(
        &format!(":{}/", env.clusters.target.port()),
        &format!(":{}/", target.addr().port()),
    );
    let i = env.add_proxy_with(|mut c| {
        c.target_url = target_url;
        c
    });
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);
    let a = env.pause();
    wait_caught_up(&env);
    target.stall();
    let commit = {
        let api = env.orch.api_addr();
        std::thread::spawn(move || {
            molt_lms_integration::fixture::http_request(
                api,
                "POST",
                "/api/v1/cutover/commit",
                Some("{}"),
            )
        })
    };
    env.wait_status(a.id, CutoverStatus::Preparing, Duration::from_secs(10));
    env.proxies[i].kill();
    let (code, body) = commit.join().expect("commit thread");
    assert_eq!(code, 409, "{body}");
    assert_eq!(env.status().source_of_truth, SourceOfTruth::Source);
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    target.heal();
    load.wait_for_more(50);
    let ledger = load.stop().await;
    {
        let ledger = ledger.lock().expect("ledger");
        assert_all_on_source(&env, &ledger, 2, &[1]);
        eprintln!(
            "proxy killed during the commit: {} writes acknowledged, all on the source, none lost",
            ledger.acked.len()
        );
    }
    a_new_cutover_succeeds(&mut env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_cut_off_during_the_pause_stays_paused_and_learns_the_next_commit() {
    let (env, i, to_orch, to_proxy) = partition_env();
    let _replication = replicate_writes(&env);
    let load = Load::start(&env, 4);
    load.wait_for_more(50);
    let a = env.pause();
    to_orch.cut();
    to_proxy.cut();
    // Lost during the pause: this attempt cannot commit. The cut-off proxy keeps its
    // sessions held; it never resumes on the source on its own.
    let failed = env.wait_status(a.id, CutoverStatus::Error, Duration::from_secs(15));
    assert!(failed.error.contains("lost"), "{failed:#?}");
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    // The next attempt leaves it out once its lease has surely run out, and commits.
    let held_on_cut_off = load.acked();
    let committed = commit_once_allowed(&env);
    assert_eq!(committed.participants, 1);
    let committed_at = committed.at;
    // Healed, it learns the outcome: its held writes run on the target.
    to_orch.heal();
    to_proxy.heal();
    let cut_off_writers = || {
        load.ledger
            .lock()
            .expect("ledger")
            .acked
            .iter()
            .filter(|(w, _, t)| w % 2 == 1 && *t > committed_at)
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(15), || cut_off_writers() > 10),
        "the cut-off proxy's writers did not resume after the heal\n{}",
        env.proxies[i].stderr_log()
    );
    assert!(load.acked() > held_on_cut_off);
    let ledger = load.stop().await;
    let ledger = ledger.lock().expect("ledger");
    let after = ledger.assert_nothing_lost(&env, committed_at);
    assert_source_untouched_since(&env, &committed);
    eprintln!("proxy cut off during the pause: {} writes acknowledged, {after} after the commit, none lost", ledger.acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_proxy_loses_nothing_and_a_cutover_follows() {
    let mut env = CutoverEnv::start(2, &["--heartbeat-interval", "200ms"]);
    let _replication = replicate_writes(&env);
    // The Service: new connections spread over the proxies in turn.
    let service = Relay::round_robin(env.proxies.iter().map(|p| p.sql_addr()).collect());
    let load = Load::start_reconnecting(&env.conninfo_at(service.addr().port()), 4);
    load.wait_for_more(50);
    // As a Deployment's rolling update does: start a new pod, take the old one out of
    // the Service, then stop it (SIGTERM: drain, deregister).
    for old in 0..2 {
        env.add_proxy();
        let serving: Vec<_> = (old + 1..env.proxies.len())
            .map(|i| env.proxies[i].sql_addr())
            .collect();
        service.set_targets(serving);
        env.proxies[old].terminate();
        let exit = env.proxies[old].wait_exit(Duration::from_secs(30));
        assert!(
            exit.is_some_and(|s| s.success()),
            "proxy {old} did not drain: {exit:?}"
        );
        load.wait_for_more(50);
        assert!(env
            .status()
            .proxies
            .iter()
            .all(|p| p.registration.lms_address != env.proxies[old].sql_addr().to_string()));
    }
    assert_eq!(env.status().proxies.len(), 2);
    {
        let l = load.ledger.lock().expect("ledger");
        assert!(
            l.errors.is_empty(),
            "client errors during the rolling restart: {:?}",
            l.errors
        );
        let on_source = pairs(&env.clusters.source, &env.db);
        assert!(l
            .acked
            .iter()
            .all(|(w, s, _)| on_source.contains(&(*w, *s))));
        eprintln!("rolling restart: {} writes acknowledged, {} sessions closed by a draining proxy and reopened, none lost", l.acked.len(), l.reconnects);
    }
    // A cutover right after: the drained proxies are gone, not waited for.
    let a = env.pause();
    wait_caught_up(&env);
    let done = env.commit().expect("commit after the rolling restart");
    let committed_at = Instant::now();
    assert_eq!(done.status, CutoverStatus::CommitCompleted, "{done:#?}");
    assert_eq!(a.proxies.len(), 2);
    load.wait_for_more(50);
    let ledger = load.stop().await;
    let after = ledger
        .lock()
        .expect("ledger")
        .assert_nothing_lost(&env, committed_at);
    assert!(after > 0);
}
