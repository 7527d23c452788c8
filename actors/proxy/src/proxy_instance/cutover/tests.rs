use super::*;
use molt_lms_api::cutover::HoldOrder;

fn desired(epoch: u64, sot: SourceOfTruth, hold: Option<u64>, terminate: bool) -> DesiredState {
    DesiredState {
        epoch,
        source_of_truth: sot,
        hold: hold.map(|attempt_id| HoldOrder {
            attempt_id,
            terminate_blockers: terminate,
            prepare: None,
        }),
        traceparent: None,
    }
}

#[test]
fn pause_completes_when_the_last_session_is_quiet_then_commit_switches() {
    let mut c = CutoverState::new(0);
    let a = c
        .apply(
            &desired(1, SourceOfTruth::Source, Some(7), false),
            SourceOfTruth::Source,
            [1, 2].into_iter(),
        )
        .expect("fresh");
    assert_eq!(a, vec![Action::HoldAll, Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Pausing);
    assert!(c.quiescent(1).is_empty());
    assert_eq!(c.quiescent(2), vec![Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Paused);
    assert!(c.paused_at.is_some());
    // Re-sending the same order (a heartbeat) changes nothing.
    let again = c
        .apply(
            &desired(1, SourceOfTruth::Source, Some(7), false),
            SourceOfTruth::Source,
            [1, 2].into_iter(),
        )
        .expect("same epoch");
    assert!(again.is_empty());
    let a = c
        .apply(
            &desired(2, SourceOfTruth::Target, None, false),
            SourceOfTruth::Source,
            [1, 2].into_iter(),
        )
        .expect("commit");
    assert_eq!(
        a,
        vec![Action::SwitchAll(SourceOfTruth::Target), Action::Report]
    );
    assert!(c.switched(1, None).is_empty());
    assert_eq!(c.switched(2, Some("boom".into())), vec![Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Serving);
    assert_eq!(c.errors, vec!["session 2: boom".to_owned()]);
}

#[test]
fn stale_epochs_are_refused_and_abort_releases() {
    let mut c = CutoverState::new(5);
    assert_eq!(
        c.apply(
            &desired(4, SourceOfTruth::Source, Some(1), false),
            SourceOfTruth::Source,
            std::iter::empty()
        ),
        Err(Stale { current: 5 })
    );
    let a = c
        .apply(
            &desired(6, SourceOfTruth::Source, Some(2), false),
            SourceOfTruth::Source,
            std::iter::empty(),
        )
        .expect("begin");
    assert_eq!(a, vec![Action::HoldAll, Action::Report, Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Paused, "no sessions: paused at once");
    let a = c
        .apply(
            &desired(7, SourceOfTruth::Source, None, false),
            SourceOfTruth::Source,
            std::iter::empty(),
        )
        .expect("abort");
    assert_eq!(a, vec![Action::ReleaseAll, Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Serving);
}

#[test]
fn terminate_targets_only_the_blockers_once() {
    let mut c = CutoverState::new(0);
    c.apply(
        &desired(1, SourceOfTruth::Source, Some(3), false),
        SourceOfTruth::Source,
        [1, 2, 3].into_iter(),
    )
    .expect("begin");
    c.quiescent(2);
    let a = c
        .apply(
            &desired(2, SourceOfTruth::Source, Some(3), true),
            SourceOfTruth::Source,
            [1, 2, 3].into_iter(),
        )
        .expect("terminate");
    assert_eq!(a, vec![Action::TerminateBlockers(vec![1, 3])]);
    let a = c
        .apply(
            &desired(2, SourceOfTruth::Source, Some(3), true),
            SourceOfTruth::Source,
            [1, 2, 3].into_iter(),
        )
        .expect("again");
    assert!(a.is_empty());
    c.closed(1);
    assert_eq!(c.closed(3), vec![Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Paused);
}

fn preparing(epoch: u64, attempt: u64, order: Option<u64>) -> DesiredState {
    DesiredState {
        epoch,
        source_of_truth: SourceOfTruth::Source,
        hold: Some(HoldOrder {
            attempt_id: attempt,
            terminate_blockers: false,
            prepare: order.map(|order| molt_lms_api::cutover::PrepareOrder {
                order,
                to: SourceOfTruth::Target,
            }),
        }),
        traceparent: None,
    }
}

fn failure(id: u64) -> molt_lms_api::cutover::PrepareFailure {
    molt_lms_api::cutover::PrepareFailure {
        connection_id: id,
        role: "app".into(),
        database: "app".into(),
        stage: molt_lms_api::cutover::PrepareStage::Login,
        statement: None,
        message: "password authentication failed".into(),
    }
}

#[test]
fn prepare_reports_counts_and_failures_and_a_refusal_returns_to_paused() {
    let mut c = CutoverState::new(0);
    let sot = SourceOfTruth::Source;
    c.apply(&preparing(1, 7, None), sot, [1, 2].into_iter())
        .expect("begin");
    c.quiescent(1);
    c.quiescent(2);
    assert_eq!(c.phase, ProxyPhase::Paused);
    let a = c
        .apply(&preparing(2, 7, Some(2)), sot, [1, 2].into_iter())
        .expect("prepare");
    let order = 2;
    assert_eq!(
        a,
        vec![
            Action::PrepareAll {
                order,
                to: SourceOfTruth::Target
            },
            Action::Report
        ]
    );
    assert_eq!(c.phase, ProxyPhase::Preparing);
    assert_eq!(c.prepare_order(), Some((order, SourceOfTruth::Target)));
    // A result for another order is ignored.
    assert!(c
        .prepared(1, 99, PrepareOutcome::Ready { statements: 3 })
        .is_empty());
    assert!(c
        .prepared(1, order, PrepareOutcome::Ready { statements: 3 })
        .is_empty());
    assert_eq!(
        c.prepared(2, order, PrepareOutcome::Failed(failure(2))),
        vec![Action::Report]
    );
    assert_eq!(c.phase, ProxyPhase::Prepared);
    let r = c.prepare.as_ref().expect("prepare").report();
    assert!(r.done);
    assert_eq!((r.sessions, r.statements, r.failures.len()), (1, 3, 1));
    assert_eq!(r.order, order);
    // The commit is refused: the order is dropped, prepared sessions are closed.
    let a = c
        .apply(&preparing(3, 7, None), sot, [1, 2].into_iter())
        .expect("refused");
    assert_eq!(a, vec![Action::UnprepareAll, Action::Report]);
    assert_eq!(c.phase, ProxyPhase::Paused);
    assert_eq!(c.prepare_order(), None);
    assert_eq!(
        c.prepare.as_ref().expect("kept").failures.len(),
        1,
        "why it was refused"
    );
    // Commit again: a new order prepares again; abort closes it and releases.
    let a = c
        .apply(&preparing(4, 7, Some(4)), sot, [1, 2].into_iter())
        .expect("again");
    assert_eq!(
        a[0],
        Action::PrepareAll {
            order: 4,
            to: SourceOfTruth::Target
        }
    );
    let a = c
        .apply(&desired(5, sot, None, false), sot, [1, 2].into_iter())
        .expect("abort");
    assert_eq!(
        a,
        vec![Action::UnprepareAll, Action::ReleaseAll, Action::Report]
    );
    assert_eq!(c.phase, ProxyPhase::Serving);
}

#[test]
fn a_newer_order_replaces_the_running_one_and_late_logins_are_waited_for() {
    let mut c = CutoverState::new(0);
    let sot = SourceOfTruth::Source;
    // The order arrives while still pausing: it starts once the pause completes.
    c.apply(&preparing(1, 7, Some(1)), sot, [1, 2].into_iter())
        .expect("begin");
    assert_eq!(c.phase, ProxyPhase::Pausing);
    c.quiescent(1);
    let a = c.quiescent(2);
    assert_eq!(
        a,
        vec![
            Action::Report,
            Action::PrepareAll {
                order: 1,
                to: SourceOfTruth::Target
            },
            Action::Report
        ]
    );
    // Connection 2 was still in start-up; 3 is accepted during the preparation.
    c.opened(3);
    assert!(c.prepared(2, 1, PrepareOutcome::NotLoggedIn).is_empty());
    c.prepare_started(2, 1);
    assert!(c
        .prepared(1, 1, PrepareOutcome::Ready { statements: 0 })
        .is_empty());
    assert_eq!(c.phase, ProxyPhase::Preparing, "2 logged in and prepares");
    assert_eq!(
        c.prepared(2, 1, PrepareOutcome::Ready { statements: 1 }),
        vec![Action::Report]
    );
    assert_eq!(c.phase, ProxyPhase::Prepared);
    // A newer order (the orchestrator's retry) prepares again from scratch.
    let a = c
        .apply(&preparing(2, 7, Some(2)), sot, [1, 2, 3].into_iter())
        .expect("newer");
    assert_eq!(
        a,
        vec![
            Action::UnprepareAll,
            Action::Report,
            Action::PrepareAll {
                order: 2,
                to: SourceOfTruth::Target
            },
            Action::Report
        ]
    );
    assert_eq!(c.prepare.as_ref().expect("p").pending.len(), 3);
    // A session that closes no longer holds it up.
    c.closed(3);
    c.prepared(1, 2, PrepareOutcome::Ready { statements: 0 });
    assert_eq!(
        c.prepared(2, 2, PrepareOutcome::Ready { statements: 0 }),
        vec![Action::Report]
    );
    // Commit, phase two: the switch.
    let a = c
        .apply(
            &desired(3, SourceOfTruth::Target, None, false),
            sot,
            [1, 2].into_iter(),
        )
        .expect("switch");
    assert_eq!(
        a,
        vec![Action::SwitchAll(SourceOfTruth::Target), Action::Report]
    );
}

#[test]
fn a_fence_holds_until_word_comes_and_a_switch_is_never_preceded_by_a_release() {
    let mut c = CutoverState::new(1);
    let sot = SourceOfTruth::Source;
    assert_eq!(c.fence(), vec![Action::HoldAll, Action::Report]);
    assert!(c.fence().is_empty(), "once");
    // Word comes: the same source of truth, no hold: release.
    assert!(c
        .apply(&desired(1, sot, None, false), sot, [1].into_iter())
        .expect("apply")
        .is_empty());
    assert_eq!(c.unfence(), vec![Action::ReleaseAll, Action::Report]);
    // Fenced again, and the word is a commit it missed: the switch moves the held
    // sessions; unfencing then releases nothing on the old database.
    c.fence();
    let a = c
        .apply(
            &desired(3, SourceOfTruth::Target, None, false),
            sot,
            [1].into_iter(),
        )
        .expect("apply");
    assert_eq!(
        a,
        vec![Action::SwitchAll(SourceOfTruth::Target), Action::Report]
    );
    assert_eq!(c.unfence(), vec![Action::Report]);
    // Fenced during a pause: the pause already holds; word keeps holding.
    let mut c = CutoverState::new(1);
    c.apply(&desired(2, sot, Some(7), false), sot, [1].into_iter())
        .expect("hold");
    assert_eq!(c.fence(), vec![Action::Report]);
    assert_eq!(c.unfence(), vec![Action::Report]);
}
