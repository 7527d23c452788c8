use super::Waiting;

#[test]
fn requests_leave_whole_and_in_order() {
    let mut w = Waiting::default();
    assert!(!w.extend(b"orphan"), "no request to extend");
    w.start(b"P1");
    assert!(w.extend(b"S1"));
    w.start(b"Q2");
    let mut out = Vec::new();
    assert_eq!(w.pop_front(Some(&mut out)), Some(4));
    assert_eq!(out, b"P1S1");
    assert!(!w.is_empty());
    assert_eq!(w.pop_front(None), Some(2), "skipped, not sent");
    assert_eq!(out, b"P1S1");
    assert!(w.is_empty());
    assert_eq!(w.pop_front(Some(&mut out)), None);
}

#[test]
fn clear_forgets_everything() {
    let mut w = Waiting::default();
    w.start(b"Q1");
    w.clear();
    assert!(w.is_empty());
    w.start(b"Q2");
    let mut out = Vec::new();
    w.pop_front(Some(&mut out));
    assert_eq!(out, b"Q2");
}
