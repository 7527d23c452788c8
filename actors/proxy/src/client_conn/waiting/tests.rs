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
fn a_deep_pipeline_keeps_order_and_the_buffer_stays_bounded() {
    let mut w = Waiting::default();
    let request = |i: usize| format!("Q{i:06}").into_bytes();
    for i in 0..1000 {
        w.start(&request(i));
    }
    let (mut next_out, mut next_in) = (0, 1000);
    let mut out = Vec::new();
    for _ in 0..20_000 {
        out.clear();
        assert_eq!(w.pop_front(Some(&mut out)), Some(7));
        assert_eq!(out, request(next_out), "oldest first");
        next_out += 1;
        w.start(&request(next_in));
        next_in += 1;
        let live = 1000 * 7;
        // Taken bytes are dropped once they are half the buffer: never more than the
        // live ones plus as much again.
        assert!(
            w.bytes.len() <= 2 * live + 7,
            "{} bytes held",
            w.bytes.len()
        );
        assert!(w.head <= w.bytes.len());
    }
}
