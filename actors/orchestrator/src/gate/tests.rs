use super::lsn::{verdict, Slot, Verdict};
use super::GateError;
use std::time::Duration;

fn slot(name: &str, caught_up: bool) -> Slot {
    Slot {
        name: name.into(),
        active: true,
        confirmed: Some("0/1A2B3C0".into()),
        caught_up,
        behind: Some(if caught_up { 0 } else { 4096 }),
    }
}

#[test]
fn every_logical_slot_counts_when_none_is_named() {
    assert_eq!(
        verdict(vec![slot("sub_a", true), slot("sub_b", true)], &[]),
        Verdict::CaughtUp
    );
    assert_eq!(
        verdict(vec![slot("sub_a", true), slot("sub_b", false)], &[]),
        Verdict::Behind(vec![slot("sub_b", false)])
    );
}

#[test]
fn named_slots_alone_count_and_a_missing_one_is_named() {
    let named = ["sub_a".to_owned()];
    assert_eq!(
        verdict(vec![slot("sub_a", true), slot("abandoned", false)], &named),
        Verdict::CaughtUp
    );
    match verdict(vec![slot("abandoned", false)], &named) {
        Verdict::Missing(why) => assert!(why.contains("sub_a"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_slot_at_all_says_what_the_check_needs() {
    match verdict(Vec::new(), &[]) {
        Verdict::Missing(why) => {
            assert!(
                why.contains("subscription") && why.contains("token"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_lagging_slot_is_described_with_its_position_and_consumer() {
    let mut s = slot("gate_sub", false);
    s.active = false;
    assert_eq!(
        s.to_string(),
        "slot gate_sub at 0/1A2B3C0 (4096 bytes behind, no consumer connected)"
    );
    s.confirmed = None;
    s.behind = None;
    s.active = true;
    assert_eq!(s.to_string(), "slot gate_sub (nothing confirmed yet)");
}

#[test]
fn the_token_timeout_reads_as_before() {
    let e = GateError::Timeout {
        what: "the sentinel token has not been replicated".into(),
        waited: Duration::from_secs(1),
        polls: 20,
        detail: String::new(),
    };
    assert_eq!(
        e.to_string(),
        "the sentinel token has not been replicated within 1s (20 polls)"
    );
}
