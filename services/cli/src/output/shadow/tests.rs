use super::*;
use crate::output::json;
use molt_lms_api::shadow::{ShadowCounts, ShadowProxy};
use molt_lms_api::{ShadowMode, SourceOfTruth};

fn counts(matched: u64, benign: u64, mismatched: u64, shadow_errors: u64) -> ShadowCounts {
    ShadowCounts {
        matched,
        benign,
        mismatched,
        shadow_errors,
        unchecked: 0,
        dropped: 2,
    }
}

fn fingerprint(id: &str, text: &str, counts: ShadowCounts) -> FingerprintReport {
    FingerprintReport {
        id: id.to_owned(),
        fingerprint: text.to_owned(),
        verdict: counts.verdict(),
        counts,
        samples: Vec::new(),
    }
}

fn mismatch() -> ShadowSample {
    ShadowSample {
        at_unix_ms: 1_700_000_000_123,
        proxy: "10.42.0.2:9043".to_owned(),
        outcome: ShadowOutcome::Mismatched,
        query: "SELECT price FROM items WHERE id = 7".to_owned(),
        source_of_truth: SourceOfTruth::Source,
        differed: "rows".to_owned(),
        detail: "row 1 differs in column price".to_owned(),
        source_of_truth_value: Some("(7, 9.99)".to_owned()),
        shadow_value: Some("(7,  9.990)".to_owned()),
        benign_reason: None,
    }
}

fn report() -> ShadowReport {
    let mut differs = fingerprint(
        "a1b2",
        "SELECT price FROM items WHERE id = ?",
        counts(40, 0, 3, 0),
    );
    differs.samples.push(mismatch());
    let mut report = ShadowReport {
        proxies: vec![
            ShadowProxy {
                lms_address: "10.42.0.2:9043".to_owned(),
                shadow_mode: ShadowMode::Sync,
            },
            ShadowProxy {
                lms_address: "10.42.0.3:9043".to_owned(),
                shadow_mode: ShadowMode::StrictSync,
            },
        ],
        unreachable: vec!["10.42.0.4:9043".to_owned()],
        totals: counts(140, 5, 3, 1),
        fingerprints: vec![
            fingerprint("c3d4", "SELECT 1", counts(100, 0, 0, 0)),
            differs,
            fingerprint("e5f6", "INSERT INTO log VALUES (?)", counts(0, 0, 0, 1)),
            fingerprint("0a0b", "SELECT now()", counts(0, 5, 0, 0)),
            fingerprint(
                "0c0d",
                &format!("SELECT {}", "x, ".repeat(60)),
                counts(0, 0, 0, 0),
            ),
        ],
    };
    report.sort();
    report
}

#[test]
fn shadow_table_shows_verdicts_counts_and_proxies() {
    let text = shadow_table(&report());
    for needle in [
        "10.42.0.2:9043 (Sync), 10.42.0.3:9043 (Strict-Sync)",
        "Unreachable (not included): 10.42.0.4:9043",
        "Totals: requests 151, matched 140, benign 5, mismatched 3, shadow errors 1, \
         unchecked 0, dropped 2",
        "VERDICT",
        "SHADOW ERRORS",
        "FINGERPRINT",
        "| safe ",
        "| benign differences only ",
        "| DIFFERS ",
        "| FAILS ON SHADOW ",
        "| unverified ",
        "SELECT price FROM items WHERE id = ?",
        "Shadow Comparison per Statement Fingerprint.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // Requests count every outcome: 40 matched + 3 mismatched + 2 dropped.
    let row = text
        .lines()
        .find(|l| l.contains("| DIFFERS "))
        .expect("a DIFFERS row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(
        cells[1..8],
        ["DIFFERS", "45", "40", "0", "3", "0", "2"],
        "{row}"
    );
    // Worst verdict first.
    let fails = text.find("| FAILS ON SHADOW ").expect("fails row");
    let safe = text.find("| safe ").expect("safe row");
    assert!(fails < safe, "{text}");
    let long = format!("SELECT {}", "x, ".repeat(60));
    let cell = truncate(&one_line(&long), 80);
    assert!(cell.ends_with('…') && text.contains(&cell), "{text}");
}

#[test]
fn shadow_table_lists_the_samples_with_both_sides() {
    let text = shadow_table(&report());
    let samples = &text[text.find("Samples of a1b2 (DIFFERS)").expect("section")..];
    for needle in [
        "2023-11-14T22:13:20.123Z",
        "10.42.0.2:9043",
        "mismatched",
        "differed: rows",
        "row 1 differs in column price",
        "SELECT price FROM items WHERE id = 7",
        "source of truth (source): (7, 9.99)",
        // Spaces are kept: they may be the difference.
        "shadow (target):          (7,  9.990)",
    ] {
        assert!(samples.contains(needle), "missing {needle:?} in\n{samples}");
    }
    assert!(!samples.contains("benign reason"), "{samples}");
    assert_eq!(text.matches("Samples of ").count(), 1, "{text}");
}

#[test]
fn shadow_samples_show_benign_reasons_and_escape_line_breaks() {
    let mut f = fingerprint("0a0b", "SELECT now()", counts(0, 1, 0, 0));
    f.samples.push(ShadowSample {
        outcome: ShadowOutcome::Benign,
        source_of_truth: SourceOfTruth::Target,
        source_of_truth_value: Some("a\nb".to_owned()),
        benign_reason: Some("now() differs between servers".to_owned()),
        ..mismatch()
    });
    let text = samples_section(&f);
    assert!(text.contains("benign difference"), "{text}");
    assert!(text.contains("source of truth (target): a\\nb"), "{text}");
    assert!(text.contains("shadow (source):"), "{text}");
    assert!(
        text.contains("benign reason:            now() differs between servers"),
        "{text}"
    );
}

#[test]
fn empty_shadow_report_explains_how_to_get_one() {
    let mut report = ShadowReport {
        proxies: vec![ShadowProxy {
            lms_address: "10.42.0.2:9043".to_owned(),
            shadow_mode: ShadowMode::None,
        }],
        ..Default::default()
    };
    let text = shadow_table(&report);
    assert!(text.contains("Nothing has been shadowed yet"), "{text}");
    assert!(text.contains("--shadow-mode sync or strict-sync"), "{text}");
    assert!(text.contains("10.42.0.2:9043 (None)"), "{text}");
    assert!(!text.contains("VERDICT"), "{text}");

    report.unreachable = vec![report.proxies.remove(0).lms_address];
    let text = shadow_table(&report);
    assert!(text.contains("No LMS proxy answered"), "{text}");
    let text = shadow_table(&ShadowReport::default());
    assert!(text.contains("No LMS proxy is registered"), "{text}");
}

#[test]
fn shadow_json_is_the_report_itself() {
    let report = report();
    let text = json(&report).expect("json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid");
    assert_eq!(value["unreachable"][0], "10.42.0.4:9043");
    assert_eq!(value["proxies"][1]["shadow_mode"], "strict-sync");
    assert_eq!(value["fingerprints"][0]["verdict"], "fails_on_shadow");
    let back: ShadowReport = serde_json::from_str(&text).expect("typed");
    assert_eq!(back, report);
}
