use super::*;

fn fp(id: &str, outcome: ShadowOutcome, n: u64, sample_at: &[u64]) -> FingerprintReport {
    let mut counts = ShadowCounts::default();
    counts.add(outcome, n);
    FingerprintReport {
        id: id.into(),
        fingerprint: format!("select {id}"),
        verdict: counts.verdict(),
        counts,
        samples: sample_at
            .iter()
            .map(|&at| ShadowSample {
                at_unix_ms: at,
                proxy: "p".into(),
                outcome,
                query: "q".into(),
                source_of_truth: SourceOfTruth::Source,
                differed: "rows".into(),
                detail: String::new(),
                source_of_truth_value: None,
                shadow_value: None,
                benign_reason: None,
            })
            .collect(),
    }
}

#[test]
fn merge_adds_counts_and_keeps_newest_samples() {
    let mut a = ShadowReport {
        fingerprints: vec![fp("x", ShadowOutcome::Matched, 3, &[])],
        ..Default::default()
    };
    let b = ShadowReport {
        fingerprints: vec![
            fp("x", ShadowOutcome::Mismatched, 1, &[5, 1, 9]),
            fp("y", ShadowOutcome::Matched, 10, &[]),
        ],
        ..Default::default()
    };
    a.merge(b, 2);
    assert_eq!(a.fingerprints[0].id, "x");
    assert_eq!(a.fingerprints[0].verdict, Verdict::Differs);
    assert_eq!(a.fingerprints[0].counts.matched, 3);
    assert_eq!(a.fingerprints[0].counts.mismatched, 1);
    let at: Vec<u64> = a.fingerprints[0]
        .samples
        .iter()
        .map(|s| s.at_unix_ms)
        .collect();
    assert_eq!(at, vec![5, 9]);
    assert_eq!(a.fingerprints[1].id, "y");
}

#[test]
fn worst_outcome_decides_the_verdict() {
    let mut c = ShadowCounts::default();
    assert_eq!(c.verdict(), Verdict::Unverified);
    c.add(ShadowOutcome::Matched, 5);
    assert_eq!(c.verdict(), Verdict::Safe);
    c.add(ShadowOutcome::Benign, 1);
    assert_eq!(c.verdict(), Verdict::Benign);
    c.add(ShadowOutcome::Mismatched, 1);
    assert_eq!(c.verdict(), Verdict::Differs);
    c.add(ShadowOutcome::ShadowError, 1);
    assert_eq!(c.verdict(), Verdict::FailsOnShadow);
}
