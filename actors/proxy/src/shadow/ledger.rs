//! The proxy-wide record of shadow outcomes: counts per fingerprint (also as Prometheus
//! counters) and the latest samples of each difference, for `GET /api/v1/shadow`.

use super::compare::Comparison;
use super::fingerprint::{cut, Fingerprint};
use molt_lms_api::shadow::{
    FingerprintReport, ShadowCounts, ShadowOutcome, ShadowProxy, ShadowReport, ShadowSample,
};
use molt_lms_api::{ShadowMode, SourceOfTruth};
use prometheus::{IntCounter, IntCounterVec};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinct fingerprints tracked; later ones share one overflow entry, which bounds
/// memory and the metrics' label cardinality.
const MAX_FINGERPRINTS: usize = 2000;
const OVERFLOW_ID: &str = "overflow";
/// Longest query text kept in a sample.
const SAMPLE_QUERY_BYTES: usize = 1024;

const OUTCOMES: [ShadowOutcome; 6] = [
    ShadowOutcome::Matched,
    ShadowOutcome::Benign,
    ShadowOutcome::Mismatched,
    ShadowOutcome::ShadowError,
    ShadowOutcome::Unchecked,
    ShadowOutcome::Dropped,
];

fn slot(o: ShadowOutcome) -> usize {
    OUTCOMES.iter().position(|x| *x == o).unwrap_or(0)
}

/// One fingerprint's counters. Connections hold it, so counting a request touches only
/// atomics; the ledger's lock is taken to find it once, and for samples.
pub struct FingerprintStats {
    id: String,
    text: String,
    counts: [AtomicU64; 6],
    metrics: [IntCounter; 6],
    samples: Mutex<VecDeque<ShadowSample>>,
}

impl FingerprintStats {
    fn counts(&self) -> ShadowCounts {
        let mut c = ShadowCounts::default();
        for (o, n) in OUTCOMES.iter().zip(&self.counts) {
            c.add(*o, n.load(Ordering::Relaxed));
        }
        c
    }
}

pub struct ShadowLedger {
    mode: ShadowMode,
    lms_address: String,
    max_samples: usize,
    requests: IntCounterVec,
    entries: Mutex<HashMap<String, Arc<FingerprintStats>>>,
}

/// One recorded request.
pub struct Record<'a> {
    pub query: &'a str,
    pub source_of_truth: SourceOfTruth,
    pub outcome: ShadowOutcome,
    /// Details, for outcomes worth a sample.
    pub comparison: Option<&'a Comparison>,
}

impl ShadowLedger {
    pub fn new(
        mode: ShadowMode,
        lms_address: String,
        max_samples: usize,
        requests: IntCounterVec,
    ) -> Self {
        Self {
            mode,
            lms_address,
            max_samples,
            requests,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The counters of `fp`, created on first use (past the limit: the overflow entry).
    pub fn stats(&self, fp: &Fingerprint) -> Arc<FingerprintStats> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = entries.get(&fp.id) {
            return s.clone();
        }
        let (id, text) = if entries.len() >= MAX_FINGERPRINTS {
            (OVERFLOW_ID, "(other statements: fingerprint limit reached)")
        } else {
            (fp.id.as_str(), fp.text.as_str())
        };
        entries
            .entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(FingerprintStats {
                    id: id.to_owned(),
                    text: text.to_owned(),
                    counts: Default::default(),
                    metrics: OUTCOMES
                        .map(|o| self.requests.with_label_values(&[outcome_label(o), id])),
                    samples: Mutex::new(VecDeque::new()),
                })
            })
            .clone()
    }

    pub fn record(&self, stats: &FingerprintStats, r: Record<'_>) {
        let i = slot(r.outcome);
        stats.counts[i].fetch_add(1, Ordering::Relaxed);
        stats.metrics[i].inc();
        let worth = matches!(
            r.outcome,
            ShadowOutcome::Mismatched | ShadowOutcome::ShadowError | ShadowOutcome::Benign
        );
        let Some(c) = r.comparison.filter(|_| worth && self.max_samples > 0) else {
            return;
        };
        let sample = ShadowSample {
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            proxy: self.lms_address.clone(),
            outcome: r.outcome,
            query: cut(r.query, SAMPLE_QUERY_BYTES),
            source_of_truth: r.source_of_truth,
            differed: c.differed.to_owned(),
            detail: c.detail.clone(),
            source_of_truth_value: c.sot_value.clone(),
            shadow_value: c.shadow_value.clone(),
            benign_reason: c.benign_reason.map(str::to_owned),
        };
        let mut samples = stats.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() == self.max_samples {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    pub fn report(&self) -> ShadowReport {
        let entries: Vec<Arc<FingerprintStats>> = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut totals = ShadowCounts::default();
        let fingerprints = entries
            .iter()
            .map(|e| {
                let counts = e.counts();
                totals.merge(&counts);
                FingerprintReport {
                    id: e.id.clone(),
                    fingerprint: e.text.clone(),
                    verdict: counts.verdict(),
                    counts,
                    samples: e
                        .samples
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter()
                        .cloned()
                        .collect(),
                }
            })
            .collect();
        let mut report = ShadowReport {
            proxies: vec![ShadowProxy {
                lms_address: self.lms_address.clone(),
                shadow_mode: self.mode,
            }],
            unreachable: Vec::new(),
            totals,
            fingerprints,
        };
        report.sort();
        report
    }
}

fn outcome_label(o: ShadowOutcome) -> &'static str {
    match o {
        ShadowOutcome::Matched => "matched",
        ShadowOutcome::Benign => "benign",
        ShadowOutcome::Mismatched => "mismatched",
        ShadowOutcome::ShadowError => "shadow_error",
        ShadowOutcome::Unchecked => "unchecked",
        ShadowOutcome::Dropped => "dropped",
    }
}
