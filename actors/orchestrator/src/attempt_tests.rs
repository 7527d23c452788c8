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
