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
    for p in ["a:1", "b:1"] {
        a.on_report(
            p,
            &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
        );
    }
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
    for p in ["a:1", "b:1"] {
        a.on_report(
            p,
            &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
        );
    }
    assert_eq!(a.status, CutoverStatus::TrafficPaused);
    a.join("c:1");
    assert_eq!(a.rows.len(), 3);
    a.on_report(
        "c:1",
        &report(1, ProxyPhase::Paused, Some(1), SourceOfTruth::Source),
    );
    assert_eq!(a.rows["c:1"].status, CutoverStatus::TrafficPaused);
}
