use super::*;
use prometheus::{Encoder, Registry, TextEncoder};

fn render(series: HotSeries) -> String {
    let registry = Registry::new();
    registry.register(Box::new(series)).expect("register");
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .expect("encode");
    String::from_utf8(out).expect("utf-8")
}

fn line<'a>(text: &'a str, series: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[test]
fn counts_from_several_threads_add_up() {
    let series = Arc::new(HotSeries::new().expect("series"));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let series = series.clone();
            s.spawn(move || {
                let mine = series.local();
                for _ in 0..1000 {
                    mine.relayed(Direction::ClientToBackend, 3);
                    mine.answered(SourceOfTruth::Source, false, Duration::from_micros(300));
                }
                mine.answered(SourceOfTruth::Target, true, Duration::from_secs(40));
            });
        }
    });
    let series = Arc::into_inner(series).expect("threads done");
    let text = render(series);
    let bytes = r#"lms_bytes_relayed_total{direction="client_to_backend"}"#;
    assert_eq!(line(&text, bytes), format!("{bytes} 12000"));
    let ok = r#"lms_queries_total{backend="source",outcome="ok"}"#;
    assert_eq!(line(&text, ok), format!("{ok} 4000"));
    let err = r#"lms_queries_total{backend="target",outcome="error"}"#;
    assert_eq!(line(&text, err), format!("{err} 4"));
    // 300 µs falls in the 0.0005 bucket, not the 0.00025 one; 40 s in none but +Inf.
    let b = |le: &str, backend: &str| {
        format!(r#"lms_query_duration_seconds_bucket{{backend="{backend}",le="{le}"}}"#)
    };
    assert!(line(&text, &b("0.00025", "source")).ends_with(" 0"));
    assert!(line(&text, &b("0.0005", "source")).ends_with(" 4000"));
    assert!(line(&text, &b("30", "target")).ends_with(" 0"));
    assert!(line(&text, &b("+Inf", "target")).ends_with(" 4"));
    let sum = r#"lms_query_duration_seconds_sum{backend="source"}"#;
    let value: f64 = line(&text, sum)[sum.len() + 1..].parse().expect("number");
    assert!((value - 1.2).abs() < 1e-9, "{value}");
}

#[test]
fn a_thread_gets_the_same_shard_each_time_and_one_per_series() {
    let a = HotSeries::new().expect("series");
    let b = HotSeries::new().expect("series");
    let (a1, a2, b1) = (a.local(), a.local(), b.local());
    assert!(Arc::ptr_eq(&a1.shard, &a2.shard));
    assert!(!Arc::ptr_eq(&a1.shard, &b1.shard));
    assert_eq!(a.lock().len(), 1);
}

#[test]
fn a_dropped_series_leaves_no_shard_behind_on_the_thread() {
    let before = MINE.with(|m| m.borrow().len());
    for _ in 0..10 {
        let s = HotSeries::new().expect("series");
        drop(s.local());
    }
    // Each new series prunes the shards of those dropped before it.
    assert!(MINE.with(|m| m.borrow().len()) <= before + 1);
}
