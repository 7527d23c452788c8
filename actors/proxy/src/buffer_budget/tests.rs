use super::*;

fn gauge() -> IntGauge {
    IntGauge::new("g", "test").expect("gauge")
}

#[test]
fn charges_only_past_the_free_part_and_gives_back_on_drop() {
    let b = BufferBudget::new(100_000, gauge());
    let mut c = Charge::new(&b);
    assert!(c.fit(FREE));
    assert_eq!(b.used(), 0);
    assert!(!c.is_charged());
    assert!(c.fit(FREE + 60_000));
    assert_eq!(b.used(), 60_000);
    assert_eq!(b.gauge.get(), 60_000);
    // Shrinking within a message keeps the charge; only reset gives it back.
    assert!(c.fit(FREE + 10));
    assert_eq!(b.used(), 60_000);
    drop(c);
    assert_eq!(b.used(), 0);
    assert_eq!(b.gauge.get(), 0);
}

#[test]
fn resize_follows_a_backlog_both_ways() {
    let b = BufferBudget::new(100_000, gauge());
    let mut c = Charge::new(&b);
    assert!(c.resize(FREE + 80_000));
    assert!(c.resize(FREE + 20_000));
    assert_eq!(b.used(), 20_000);
    assert!(!c.resize(FREE + 100_001));
    assert_eq!(b.used(), 20_000);
    assert!(c.resize(0));
    assert_eq!(b.used(), 0);
}

#[test]
fn a_connection_that_does_not_fit_is_refused_and_others_keep_theirs() {
    let b = BufferBudget::new(100_000, gauge());
    let mut first = Charge::new(&b);
    let mut second = Charge::new(&b);
    assert!(first.fit(FREE + 70_000));
    assert!(!second.fit(FREE + 40_000));
    assert_eq!(b.used(), 70_000);
    assert!(second.fit(FREE + 30_000));
    assert_eq!(b.used(), 100_000);
    first.reset();
    assert!(!first.is_charged());
    assert_eq!(b.used(), 30_000);
    assert!(second.fit(FREE + 100_000));
}
