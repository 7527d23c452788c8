use super::*;
use std::time::Duration;

#[test]
fn a_burst_passes_then_the_rate_applies_per_address() {
    let l = CancelLimiter::new(10);
    let (a, b): (IpAddr, IpAddr) = (
        "10.0.0.1".parse().expect("ip"),
        "10.0.0.2".parse().expect("ip"),
    );
    let t0 = Instant::now();
    let allowed = (0..50).filter(|_| l.allow(a, t0)).count();
    assert_eq!(allowed, 20, "the burst is twice the rate");
    assert!(l.allow(b, t0), "another address has its own bucket");
    assert!(
        !l.allow(a, t0 + Duration::from_millis(50)),
        "half a token refilled"
    );
    assert!(
        l.allow(a, t0 + Duration::from_millis(150)),
        "a token after 100 ms"
    );
    let later = t0 + Duration::from_secs(60);
    assert_eq!(
        (0..50).filter(|_| l.allow(a, later)).count(),
        20,
        "refilled, never past the burst"
    );
}
