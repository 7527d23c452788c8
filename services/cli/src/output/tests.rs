use super::*;

#[test]
fn tables_use_plain_ascii_rules_and_centred_headers() {
    let t = table(
        &["LMS ADDRESS", "STATUS"],
        [vec![
            "demo-lms-1:9043".to_owned(),
            "TrafficPaused".to_owned(),
        ]],
    );
    let text = captioned(&t, "Caption.");
    let first = text.lines().next().expect("a line");
    assert!(first.starts_with("+-") && first.ends_with("-+"), "{first}");
    assert!(!text.contains('='), "{text}");
    assert!(text.contains("|   LMS ADDRESS   |"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with('+')).count(),
        3,
        "{text}"
    );
    assert!(text.ends_with("-+\nCaption.\n"), "{text}");
}

#[test]
fn dialects_fall_back_to_the_role_name() {
    let d = Dialects {
        source: Some(Dialect::Mysql),
        target: None,
    };
    assert_eq!(d.name(SourceOfTruth::Source), "MySQL");
    assert_eq!(d.name(SourceOfTruth::Target), "target");
    assert_eq!(shadow_mode_name(ShadowMode::StrictSync), "Strict-Sync");
}

#[test]
fn truncate_counts_characters_not_bytes() {
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "ab…");
    assert_eq!(truncate("ééééé", 4), "ééé…");
    assert_eq!(one_line(" a\n\tb  c "), "a b c");
}
