//! The proxy-wide record of shadow outcomes: counts per fingerprint (also as Prometheus
//! counters) and the latest samples of each difference, for `GET /api/v1/shadow`.

use super::compare::Comparison;
use super::fingerprint::{cut, Fingerprint};
use molt_lms_api::shadow::{
    FingerprintReport, ShadowCounts, ShadowOutcome, ShadowProxy, ShadowReport, ShadowSample,
};
use molt_lms_api::{ShadowMode, SourceOfTruth};
use prometheus::IntCounterVec;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinct fingerprints tracked; later ones share one overflow entry, which bounds
/// memory and the metrics' label cardinality.
const MAX_FINGERPRINTS: usize = 2000;
const OVERFLOW_ID: &str = "overflow";
/// Longest query text kept in a sample.
const SAMPLE_QUERY_BYTES: usize = 1024;

struct Entry {
    fingerprint: String,
    counts: ShadowCounts,
    samples: VecDeque<ShadowSample>,
}

pub struct ShadowLedger {
    mode: ShadowMode,
    lms_address: String,
    max_samples: usize,
    requests: IntCounterVec,
    entries: Mutex<HashMap<String, Entry>>,
}

/// One recorded request.
pub struct Record<'a> {
    pub fingerprint: &'a Fingerprint,
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

    pub fn record(&self, r: Record<'_>) {
        let sample = r.comparison.and_then(|c| {
            let worth = matches!(
                r.outcome,
                ShadowOutcome::Mismatched | ShadowOutcome::ShadowError | ShadowOutcome::Benign
            );
            worth.then(|| ShadowSample {
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
            })
        });
        let id = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let full = entries.len() >= MAX_FINGERPRINTS;
            let (id, text) = if full && !entries.contains_key(&r.fingerprint.id) {
                (OVERFLOW_ID, "(other statements: fingerprint limit reached)")
            } else {
                (r.fingerprint.id.as_str(), r.fingerprint.text.as_str())
            };
            let e = entries.entry(id.to_owned()).or_insert_with(|| Entry {
                fingerprint: text.to_owned(),
                counts: ShadowCounts::default(),
                samples: VecDeque::new(),
            });
            e.counts.add(r.outcome, 1);
            if let Some(s) = sample {
                if e.samples.len() == self.max_samples {
                    e.samples.pop_front();
                }
                if self.max_samples > 0 {
                    e.samples.push_back(s);
                }
            }
            id.to_owned()
        };
        self.requests
            .with_label_values(&[outcome_label(r.outcome), &id])
            .inc();
    }

    pub fn report(&self) -> ShadowReport {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut totals = ShadowCounts::default();
        let fingerprints = entries
            .iter()
            .map(|(id, e)| {
                totals.merge(&e.counts);
                FingerprintReport {
                    id: id.clone(),
                    fingerprint: e.fingerprint.clone(),
                    verdict: e.counts.verdict(),
                    counts: e.counts.clone(),
                    samples: e.samples.iter().cloned().collect(),
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
