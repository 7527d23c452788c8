use super::*;

fn report(epoch: u64, phase: ProxyPhase, attempt: Option<u64>, sot: SourceOfTruth) -> ProxyReport {
    ProxyReport {
        epoch,
        source_of_truth: sot,
        phase,
        attempt_id: attempt,
        paused_at: None,
        connections: 0,
        held: 0,
        blockers: vec![],
        error: String::new(),
        prepare: None,
        fenced: false,
        traceparent: None,
    }
}

/// The same report from both proxies of [`two`].
fn report_all(a: &mut Attempt, r: &ProxyReport) {
    for p in ["a:1", "b:1"] {
        a.on_report(p, r);
    }
}

fn two() -> Attempt {
    Attempt::begin(
        1,
        SourceOfTruth::Source,
        ["a:1".to_owned(), "b:1".to_owned()],
        None,
        TimeoutAction::Abort,
    )
}

#[test]
fn pauses_when_every_proxy_acks_then_commits() {
    let mut a = two();
    a.on_report(
        "a:1",
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::BeginStarted);
    // A pause-ack for another attempt does not count.
    a.on_report(
        "b:1",
        &report(1, ProxyPhase::Paused, Some(9), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::BeginStarted);
    a.on_report(
        "b:1",
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    a.start_finish(Finish::Commit, 2);
    assert_eq!(a.status, CutoverStatus::CommitStarted);
    // A report from before the commit epoch is not a confirmation.
    a.on_report(
        "a:1",
        &report(1, ProxyPhase::Serving, None, SourceOfTruth::Source),
    );
    assert_eq!(a.rows["a:1"].status, CutoverStatus::CommitStarted);
    a.on_report(
        "a:1",
        &report(2, ProxyPhase::Serving, None, SourceOfTruth::Target),
    );
    a.on_report(
        "b:1",
        &report(2, ProxyPhase::Serving, None, SourceOfTruth::Target),
    );
    assert_eq!(a.status, CutoverStatus::CommitCompleted);
    assert!(a.settled());
    assert_eq!(a.rows["b:1"].source_of_truth, SourceOfTruth::Target);
}

#[test]
fn a_lost_proxy_errors_the_attempt_and_abort_releases_the_rest() {
    let mut a = two();
    a.on_report(
        "a:1",
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert!(a.on_lost("b:1"));
    assert_eq!(a.status, CutoverStatus::Error);
    assert!(a.holding());
    a.start_finish(Finish::Abort, 3);
    a.on_report(
        "a:1",
        &report(3, ProxyPhase::Serving, None, SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::AbortCompleted);
    assert_eq!(a.rows["b:1"].status, CutoverStatus::Error);
}

#[test]
fn a_switch_error_reported_by_a_proxy_fails_the_commit() {
    let mut a = two();
    report_all(
        &mut a,
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    a.start_finish(Finish::Commit, 2);
    a.on_report(
        "a:1",
        &report(2, ProxyPhase::Serving, None, SourceOfTruth::Target),
    );
    let mut bad = report(2, ProxyPhase::Serving, None, SourceOfTruth::Target);
    bad.error = "session 4: restoring session state failed".into();
    a.on_report("b:1", &bad);
    assert_eq!(a.status, CutoverStatus::Error);
    assert!(a.error.contains("b:1"), "{}", a.error);
}

#[test]
fn a_proxy_joining_during_the_pause_must_ack_too() {
    let mut a = two();
    report_all(
        &mut a,
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    a.join("c:1");
    assert_eq!(a.rows.len(), 3);
    a.on_report(
        "c:1",
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.rows["c:1"].status, CutoverStatus::TrafficPaused);
}

fn prepared(epoch: u64, order: u64, failures: usize) -> ProxyReport {
    let mut r = report(epoch, ProxyPhase::Prepared, Some(1), SourceOfTruth::Source);
    r.prepare = Some(molt_lms_api::cutover::PrepareReport {
        attempt_id: 1,
        order,
        to: SourceOfTruth::Target,
        done: true,
        sessions: 4,
        statements: 2,
        failures: (0..failures)
            .map(|i| molt_lms_api::cutover::PrepareFailure {
                connection_id: i as u64,
                role: "app".into(),
                database: "appdb".into(),
                stage: molt_lms_api::cutover::PrepareStage::Login,
                statement: None,
                message: "SCRAM verifier differs".into(),
            })
            .collect(),
        millis: Some(12),
    });
    r
}

fn paused_two() -> Attempt {
    let mut a = two();
    report_all(
        &mut a,
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    a
}

#[test]
fn commit_waits_for_every_proxy_to_prepare_before_the_point_of_no_return() {
    let mut a = paused_two();
    a.start_prepare(2);
    assert_eq!(a.status, CutoverStatus::Preparing);
    assert_eq!(a.prepare_order().map(|o| o.order), Some(2));
    assert!(a.holding(), "preparing is before the point of no return");
    assert_eq!(a.prepare_outcome(), None);
    // A report for an older order does not count.
    a.on_report("a:1", &prepared(2, 1, 0));
    assert_eq!(a.rows["a:1"].status, CutoverStatus::Preparing);
    a.on_report("a:1", &prepared(2, 2, 0));
    assert_eq!(a.rows["a:1"].status, CutoverStatus::Prepared);
    assert!(a.rows["a:1"].prepared.is_some());
    assert_eq!(a.prepare_outcome(), None, "b:1 has not reported");
    assert_eq!(a.unprepared(), vec!["b:1".to_owned()]);
    a.on_report("b:1", &prepared(2, 2, 0));
    assert_eq!(a.prepare_outcome(), Some(Ok(())));
    a.start_finish(Finish::Commit, 3);
    assert_eq!(a.status, CutoverStatus::CommitStarted);
    assert_eq!(a.prepare_order(), None);
}

#[test]
fn a_failed_preparation_names_each_session_and_returns_to_paused() {
    let mut a = paused_two();
    a.start_prepare(2);
    a.on_report("a:1", &prepared(2, 2, 0));
    a.on_report("b:1", &prepared(2, 2, 2));
    let Some(Err(lines)) = a.prepare_outcome() else {
        panic!("expected failures: {:?}", a.prepare_outcome());
    };
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains("b:1") && lines[0].contains("role app"),
        "{lines:?}"
    );
    a.refuse_prepare(lines.join("; "));
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    assert!(a
        .rows
        .values()
        .all(|r| r.status == CutoverStatus::TrafficPaused));
    assert!(a.holding());
    // Commit again after the cause is fixed.
    a.start_prepare(4);
    assert!(a.error.is_empty());
    assert!(a.rows.values().all(|r| r.prepared.is_none()));
    a.on_report("a:1", &prepared(4, 4, 0));
    a.on_report("b:1", &prepared(4, 4, 0));
    assert_eq!(a.prepare_outcome(), Some(Ok(())));
    // After a restart every proxy must report its preparation again.
    a.forget_prepared();
    assert_eq!(a.prepare_outcome(), None);
}

#[test]
fn a_proxy_lost_while_preparing_fails_the_attempt_but_abort_still_works() {
    let mut a = paused_two();
    a.start_prepare(2);
    a.on_report("a:1", &prepared(2, 2, 0));
    assert!(a.on_lost("b:1"));
    assert_eq!(a.status, CutoverStatus::Error);
    assert_eq!(a.prepare_outcome(), None);
    a.start_finish(Finish::Abort, 3);
    a.on_report(
        "a:1",
        &report(3, ProxyPhase::Serving, None, SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::AbortCompleted);
}

fn paused() -> Attempt {
    let mut a = two();
    report_all(
        &mut a,
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    a
}

#[test]
fn commit_waits_for_the_pause_and_abort_is_always_allowed_before_the_point_of_no_return() {
    let a = two();
    assert_eq!(
        a.decide_finish(Finish::Commit),
        Err(FinishRefusal::NotPaused)
    );
    assert_eq!(a.decide_finish(Finish::Abort), Ok(FinishDecision::Start));
    let mut a = paused();
    assert_eq!(a.decide_finish(Finish::Commit), Ok(FinishDecision::Start));
    assert_eq!(a.decide_finish(Finish::Abort), Ok(FinishDecision::Start));
    // Preparing: a repeated commit waits; an abort still goes ahead.
    a.start_prepare(2);
    assert_eq!(a.decide_finish(Finish::Commit), Ok(FinishDecision::Repeat));
    assert_eq!(a.decide_finish(Finish::Abort), Ok(FinishDecision::Start));
}

#[test]
fn a_failed_attempt_can_only_be_aborted() {
    let mut a = paused();
    assert!(a.on_lost("b:1"));
    assert_eq!(a.decide_finish(Finish::Commit), Err(FinishRefusal::Failed));
    assert_eq!(a.decide_finish(Finish::Abort), Ok(FinishDecision::Start));
}

#[test]
fn past_the_point_of_no_return_abort_is_refused_and_commit_repeats() {
    let mut a = paused();
    a.start_finish(Finish::Commit, 3);
    assert_eq!(
        a.decide_finish(Finish::Abort),
        Err(FinishRefusal::AlreadyCommitted)
    );
    assert_eq!(a.decide_finish(Finish::Commit), Ok(FinishDecision::Repeat));
    report_all(
        &mut a,
        &report(3, ProxyPhase::Serving, None, SourceOfTruth::Target),
    );
    assert!(a.settled());
    // Settled: still no abort of a commit, and nothing left to commit.
    assert_eq!(
        a.decide_finish(Finish::Abort),
        Err(FinishRefusal::AlreadyCommitted)
    );
    assert_eq!(
        a.decide_finish(Finish::Commit),
        Err(FinishRefusal::Finished)
    );
}

#[test]
fn an_abort_under_way_refuses_a_commit_and_repeats_itself() {
    let mut a = paused();
    a.start_finish(Finish::Abort, 3);
    assert_eq!(
        a.decide_finish(Finish::Commit),
        Err(FinishRefusal::BeingAborted)
    );
    assert_eq!(a.decide_finish(Finish::Abort), Ok(FinishDecision::Repeat));
    report_all(
        &mut a,
        &report(3, ProxyPhase::Serving, None, SourceOfTruth::Source),
    );
    assert!(a.settled());
    assert_eq!(a.decide_finish(Finish::Abort), Err(FinishRefusal::Finished));
    assert_eq!(
        a.decide_finish(Finish::Commit),
        Err(FinishRefusal::Finished)
    );
}

/// A lost proxy surely holds its traffic by itself this long after its last word.
const LEASE_OUT: Duration = Duration::from_secs(35);

fn proxy(lost: bool, silent_secs: u64, shadow_mode: ShadowMode) -> BeginProxy {
    BeginProxy {
        lost,
        silent_for: Some(Duration::from_secs(silent_secs)),
        shadow_mode,
    }
}

fn live() -> BeginProxy {
    proxy(false, 1, ShadowMode::None)
}

fn lost_for(secs: u64) -> BeginProxy {
    proxy(true, secs, ShadowMode::None)
}

/// An initialized orchestrator with these proxies and no attempt.
fn facts<'a>(requested: &'a [String], proxies: &[(&str, BeginProxy)]) -> BeginFacts<'a> {
    BeginFacts {
        initialized: true,
        attempt: None,
        requested,
        proxies: proxies
            .iter()
            .map(|(a, p)| ((*a).to_owned(), p.clone()))
            .collect(),
        lease_out: LEASE_OUT,
    }
}

fn addrs(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| (*a).to_owned()).collect()
}

#[test]
fn begin_takes_every_live_proxy_listed_or_not() {
    let both = [("a:1", live()), ("b:1", live())];
    assert_eq!(decide_begin(&facts(&[], &both)), Ok(addrs(&["a:1", "b:1"])));
    let listed = addrs(&["b:1", "a:1"]);
    assert_eq!(
        decide_begin(&facts(&listed, &both)),
        Ok(addrs(&["a:1", "b:1"]))
    );
}

#[test]
fn begin_is_refused_before_the_metadata_is_initialized() {
    // The first check: nothing else is looked at.
    let listed = addrs(&["x:1"]);
    let mut f = facts(&listed, &[]);
    f.initialized = false;
    assert_eq!(decide_begin(&f), Err(BeginRefusal::NotInitialized));
}

#[test]
fn begin_waits_until_the_latest_attempt_settled() {
    let proxies = [("a:1", live()), ("b:1", live())];
    let begin = |a: &Attempt| {
        decide_begin(&BeginFacts {
            attempt: Some(a),
            ..facts(&[], &proxies)
        })
    };
    let mut a = paused();
    assert_eq!(
        begin(&a),
        Err(BeginRefusal::InProgress {
            id: 1,
            status: CutoverStatus::TrafficPaused
        })
    );
    // Committed but not yet confirmed by every proxy: still in progress.
    a.start_finish(Finish::Commit, 3);
    assert_eq!(
        begin(&a),
        Err(BeginRefusal::InProgress {
            id: 1,
            status: CutoverStatus::CommitStarted
        })
    );
    // Settled: a new attempt (a revert, here) may begin.
    report_all(
        &mut a,
        &report(3, ProxyPhase::Serving, None, SourceOfTruth::Target),
    );
    assert!(a.settled());
    assert_eq!(begin(&a), Ok(addrs(&["a:1", "b:1"])));
}

#[test]
fn begin_refuses_a_listed_proxy_that_is_unknown_or_lost() {
    let proxies = [("a:1", live()), ("b:1", lost_for(60))];
    let listed = addrs(&["a:1", "x:1"]);
    assert_eq!(
        decide_begin(&facts(&listed, &proxies)),
        Err(BeginRefusal::UnknownProxy("x:1".into()))
    );
    let listed = addrs(&["b:1", "x:1"]);
    assert_eq!(
        decide_begin(&facts(&listed, &proxies)),
        Err(BeginRefusal::ProxyLost("b:1".into())),
        "each listed proxy is checked in the order listed"
    );
}

#[test]
fn begin_waits_for_a_lost_proxy_until_its_lease_surely_ran_out() {
    let proxies = [("a:1", live()), ("b:1", lost_for(35))];
    assert_eq!(
        decide_begin(&facts(&[], &proxies)),
        Err(BeginRefusal::Unreachable {
            addr: "b:1".into(),
            silent_for: LEASE_OUT,
            until_out: Duration::ZERO,
        })
    );
    let proxies = [("a:1", live()), ("b:1", lost_for(10))];
    assert_eq!(
        decide_begin(&facts(&[], &proxies)),
        Err(BeginRefusal::Unreachable {
            addr: "b:1".into(),
            silent_for: Duration::from_secs(10),
            until_out: Duration::from_secs(25),
        })
    );
    // Past the lease, or never heard from: left out, the rest take part.
    let mut never = lost_for(0);
    never.silent_for = None;
    let proxies = [("a:1", live()), ("b:1", lost_for(36)), ("c:1", never)];
    assert_eq!(decide_begin(&facts(&[], &proxies)), Ok(addrs(&["a:1"])));
}

#[test]
fn begin_refuses_a_list_that_leaves_out_a_live_proxy() {
    let proxies = [("a:1", live()), ("b:1", live())];
    let listed = addrs(&["a:1"]);
    assert_eq!(
        decide_begin(&facts(&listed, &proxies)),
        Err(BeginRefusal::PartialCutover("b:1".into()))
    );
}

#[test]
fn begin_refuses_without_a_live_proxy() {
    assert_eq!(decide_begin(&facts(&[], &[])), Err(BeginRefusal::NoProxies));
    let gone = [("a:1", lost_for(60))];
    assert_eq!(
        decide_begin(&facts(&[], &gone)),
        Err(BeginRefusal::NoProxies)
    );
}

#[test]
fn begin_refuses_a_live_proxy_that_shadows_traffic() {
    let proxies = [
        ("a:1", live()),
        ("b:1", proxy(false, 1, ShadowMode::Async)),
        // A lost one is left out, shadowing or not.
        ("c:1", proxy(true, 60, ShadowMode::Sync)),
    ];
    assert_eq!(
        decide_begin(&facts(&[], &proxies)),
        Err(BeginRefusal::Shadowing {
            addr: "b:1".into(),
            mode: ShadowMode::Async
        })
    );
}

#[test]
fn begin_answers_with_the_first_failing_check() {
    // Unknown listed proxy before the registry-wide checks.
    let listed = addrs(&["x:1"]);
    assert_eq!(
        decide_begin(&facts(&listed, &[])),
        Err(BeginRefusal::UnknownProxy("x:1".into()))
    );
    // Unreachable before partial and shadowing.
    let proxies = [
        ("a:1", live()),
        ("b:1", proxy(false, 1, ShadowMode::Async)),
        ("c:1", lost_for(10)),
    ];
    let listed = addrs(&["b:1"]);
    assert!(matches!(
        decide_begin(&facts(&listed, &proxies)),
        Err(BeginRefusal::Unreachable { .. })
    ));
    // Partial before shadowing.
    let proxies = [("a:1", live()), ("b:1", proxy(false, 1, ShadowMode::Async))];
    assert_eq!(
        decide_begin(&facts(&listed, &proxies)),
        Err(BeginRefusal::PartialCutover("a:1".into()))
    );
}

#[test]
fn a_commit_or_abort_addresses_the_current_attempt() {
    let a = two();
    assert_eq!(finish_target(Some(&a), None), Ok(&a));
    assert_eq!(finish_target(Some(&a), Some(1)), Ok(&a));
    assert_eq!(
        finish_target(Some(&a), Some(2)),
        Err(NoTarget::NotActive(2))
    );
    assert_eq!(finish_target(None, Some(1)), Err(NoTarget::NotActive(1)));
    assert_eq!(finish_target(None, None), Err(NoTarget::NoAttempt));
}

#[test]
fn durations_cover_the_phases_that_happened() {
    let mut a = two();
    assert_eq!(a.durations(), Durations::default());
    let t = a.trigger;
    a.paused = Some(t + Duration::from_millis(300));
    a.start_prepare(7);
    let started = a.prepare.expect("preparing").1;
    a.rows.get_mut("a:1").expect("a").prepared = Some(started + Duration::from_millis(40));
    // One proxy still preparing: no preparation time yet.
    assert_eq!(a.durations().prepare, None);
    a.rows.get_mut("b:1").expect("b").prepared = Some(started + Duration::from_millis(90));
    a.end = Some(t + Duration::from_secs(2));
    let d = a.durations();
    assert_eq!(d.pause, Some(Duration::from_millis(300)));
    assert_eq!(d.prepare, Some(Duration::from_millis(90)));
    assert_eq!(d.total, Some(Duration::from_secs(2)));
}
