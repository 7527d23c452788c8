//! The shadow report: how the statements a proxy mirrored to the other database
//! compared with the source of truth's answers, grouped by statement fingerprint.

use crate::proxy::{ShadowMode, SourceOfTruth};
use serde::{Deserialize, Serialize};

/// How one mirrored request (a simple query, or an extended-protocol batch up to Sync)
/// turned out on the shadow database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowOutcome {
    /// Same command tags, columns and rows (or the same SQLSTATE on both sides).
    Matched,
    /// Different, but only in a documented, harmless way (float text, `now()`).
    Benign,
    /// A real difference: command tag, row count, columns, rows, or which side failed.
    Mismatched,
    /// The source of truth answered, the shadow database returned an error.
    ShadowError,
    /// Ran on the shadow without error, not compared (`async` mode compares nothing).
    Unchecked,
    /// Not sent to the shadow: its previous request was still running (`async`).
    Dropped,
}

/// Requests per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowCounts {
    pub matched: u64,
    pub benign: u64,
    pub mismatched: u64,
    pub shadow_errors: u64,
    pub unchecked: u64,
    pub dropped: u64,
}

impl ShadowCounts {
    pub fn add(&mut self, outcome: ShadowOutcome, n: u64) {
        let slot = match outcome {
            ShadowOutcome::Matched => &mut self.matched,
            ShadowOutcome::Benign => &mut self.benign,
            ShadowOutcome::Mismatched => &mut self.mismatched,
            ShadowOutcome::ShadowError => &mut self.shadow_errors,
            ShadowOutcome::Unchecked => &mut self.unchecked,
            ShadowOutcome::Dropped => &mut self.dropped,
        };
        *slot += n;
    }

    pub fn merge(&mut self, other: &ShadowCounts) {
        self.matched += other.matched;
        self.benign += other.benign;
        self.mismatched += other.mismatched;
        self.shadow_errors += other.shadow_errors;
        self.unchecked += other.unchecked;
        self.dropped += other.dropped;
    }

    /// Every request counted once, whatever its outcome.
    pub fn total(&self) -> u64 {
        self.matched
            + self.benign
            + self.mismatched
            + self.shadow_errors
            + self.unchecked
            + self.dropped
    }

    /// What these counts say about the statement: the worst outcome wins.
    pub fn verdict(&self) -> Verdict {
        if self.shadow_errors > 0 {
            Verdict::FailsOnShadow
        } else if self.mismatched > 0 {
            Verdict::Differs
        } else if self.benign > 0 {
            Verdict::Benign
        } else if self.matched > 0 {
            Verdict::Safe
        } else {
            Verdict::Unverified
        }
    }
}

/// The summary for one fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Compared and always identical.
    Safe,
    /// Compared; differences were all benign.
    Benign,
    /// At least one real difference.
    Differs,
    /// At least one error on the shadow database where the source of truth succeeded.
    FailsOnShadow,
    /// Never compared (async mode, or every request dropped).
    Unverified,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Benign => "benign",
            Verdict::Differs => "differs",
            Verdict::FailsOnShadow => "fails_on_shadow",
            Verdict::Unverified => "unverified",
        }
    }
}

/// One recorded difference or shadow error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowSample {
    /// Milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The proxy (its SQL address) that saw it.
    pub proxy: String,
    pub outcome: ShadowOutcome,
    /// The request's text, cut to 1 KiB.
    pub query: String,
    /// Which database served the client (the other one was the shadow).
    pub source_of_truth: SourceOfTruth,
    /// What differed: `command_tag`, `row_count`, `columns`, `rows`, `error` or `statements`.
    pub differed: String,
    /// A one-line explanation.
    pub detail: String,
    /// The source of truth's side of the first difference (a row, tag or error).
    pub source_of_truth_value: Option<String>,
    /// The shadow's side of the first difference.
    pub shadow_value: Option<String>,
    /// For a benign difference: which rule excused it.
    pub benign_reason: Option<String>,
}

/// One statement fingerprint: the query text with literals replaced by `?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintReport {
    /// Short stable id of the normalized text (used as the metrics label).
    pub id: String,
    pub fingerprint: String,
    pub verdict: Verdict,
    pub counts: ShadowCounts,
    /// The latest samples, newest last.
    pub samples: Vec<ShadowSample>,
}

/// `GET /api/v1/shadow` on a proxy, and aggregated over all proxies by the orchestrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowReport {
    /// Proxies (SQL addresses) whose reports are included, with their shadow modes.
    pub proxies: Vec<ShadowProxy>,
    /// Proxies that could not be asked (orchestrator only).
    #[serde(default)]
    pub unreachable: Vec<String>,
    pub totals: ShadowCounts,
    /// Worst verdict first, then by request count.
    pub fingerprints: Vec<FingerprintReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowProxy {
    pub lms_address: String,
    pub shadow_mode: ShadowMode,
}

impl ShadowReport {
    /// Folds another proxy's report into this one: counts add up per fingerprint and
    /// each fingerprint keeps its newest `max_samples` samples.
    pub fn merge(&mut self, other: ShadowReport, max_samples: usize) {
        self.proxies.extend(other.proxies);
        self.unreachable.extend(other.unreachable);
        self.totals.merge(&other.totals);
        for f in other.fingerprints {
            match self.fingerprints.iter_mut().find(|m| m.id == f.id) {
                Some(mine) => {
                    mine.counts.merge(&f.counts);
                    mine.verdict = mine.counts.verdict();
                    mine.samples.extend(f.samples);
                }
                None => self.fingerprints.push(f),
            }
        }
        for f in &mut self.fingerprints {
            f.samples.sort_by_key(|s| s.at_unix_ms);
            let excess = f.samples.len().saturating_sub(max_samples);
            f.samples.drain(..excess);
        }
        self.sort();
    }

    /// Worst verdict first, then the busiest fingerprint.
    pub fn sort(&mut self) {
        fn rank(v: Verdict) -> u8 {
            match v {
                Verdict::FailsOnShadow => 0,
                Verdict::Differs => 1,
                Verdict::Benign => 2,
                Verdict::Unverified => 3,
                Verdict::Safe => 4,
            }
        }
        self.fingerprints.sort_by(|a, b| {
            rank(a.verdict)
                .cmp(&rank(b.verdict))
                .then(b.counts.total().cmp(&a.counts.total()))
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
    }
}

#[cfg(test)]
mod tests;
