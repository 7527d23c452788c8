use super::*;
use molt_lms_api::cutover::HoldOrder;

fn desired(epoch: u64, sot: SourceOfTruth, hold: Option<u64>, terminate: bool) -> DesiredState {
    DesiredState {
        epoch,
        source_of_truth: sot,
        hold: hold.map(|attempt_id| HoldOrder {
            attempt_id,
            terminate_blockers: terminate,
            prepare_to: None,
        }),
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
