use super::*;
use SourceOfTruth::{Source, Target};

#[test]
fn a_preparation_is_kept_only_for_the_order_in_force() {
    let h: Handoff<u32> = Handoff::default();
    assert_eq!(h.offer(1, Target, 10), Err(10), "no order yet");
    assert_eq!(h.order_prepare(1, Target), None);
    assert_eq!(h.offer(1, Target, 11), Ok(()));
    assert_eq!(h.offer(1, Target, 12), Err(12), "one session per order");
    assert_eq!(h.take(Target), Some(11));
    assert_eq!(h.offer(1, Target, 13), Err(13), "a switch ended the order");
}

#[test]
fn cancel_and_a_newer_order_hand_back_what_was_prepared() {
    let h: Handoff<u32> = Handoff::default();
    h.order_prepare(1, Target);
    h.offer(1, Target, 1).expect("kept");
    assert_eq!(h.order_prepare(1, Target), None, "same order keeps it");
    assert_eq!(h.order_prepare(2, Target), Some(1), "newer order");
    assert_eq!(
        h.offer(1, Target, 2),
        Err(2),
        "late result of the old order"
    );
    h.offer(2, Target, 3).expect("kept");
    assert_eq!(h.cancel(), Some(3));
    assert_eq!(h.order(), None);
    assert_eq!(h.offer(2, Target, 4), Err(4), "cancelled");
}

#[test]
fn take_returns_only_a_session_for_the_database_asked() {
    let h: Handoff<u32> = Handoff::default();
    h.order_prepare(1, Target);
    h.offer(1, Target, 7).expect("kept");
    assert_eq!(h.take(Source), None);
    assert_eq!(h.leftover(), Some(7));
}
