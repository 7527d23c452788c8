//! An attempt as the REST API shows it.

use super::attempt::{Attempt, Finish};
use super::store::rfc3339;
use molt_lms_api::cutover::{CutoverAttempt, ProxyAttempt};
use molt_lms_api::{Dialect, SourceOfTruth};

/// The attempt with its per-proxy rows; `dialects` are the source's and the target's.
pub(crate) fn attempt_view(
    a: &Attempt,
    dialects: (Option<Dialect>, Option<Dialect>),
) -> CutoverAttempt {
    let sot = if a.finish == Some(Finish::Commit) {
        a.to
    } else {
        a.from
    };
    let dialect = match sot {
        SourceOfTruth::Source => dialects.0,
        SourceOfTruth::Target => dialects.1,
    };
    CutoverAttempt {
        id: a.id,
        from: a.from,
        to: a.to,
        source_of_truth: sot,
        source_of_truth_dialect: dialect.unwrap_or(Dialect::Postgres),
        status: a.status,
        trigger_time: rfc3339(a.trigger),
        traffic_paused_time: a.paused.map(rfc3339),
        prepare_started_time: a.prepare.map(|(_, t)| rfc3339(t)),
        end_time: a.end.map(rfc3339),
        error: a.error.clone(),
        begin_timeout_ms: a.begin_timeout.map(|d| d.as_millis() as u64),
        timeout_action: a.action,
        replication_lag_ms: a.replication_lag.map(|d| d.as_millis() as u64),
        replication_check: a.replication_check,
        replication_gate: None,
        proxies: a
            .rows
            .iter()
            .map(|(addr, r)| ProxyAttempt {
                lms_address: addr.clone(),
                source_of_truth: r.source_of_truth,
                status: r.status,
                trigger_time: rfc3339(r.trigger),
                traffic_paused_time: r.paused.map(rfc3339),
                prepared_time: r.prepared.map(rfc3339),
                end_time: r.end.map(rfc3339),
                error: r.error.clone(),
                held: r.report.as_ref().map_or(0, |p| p.held),
                connections: r.report.as_ref().map_or(0, |p| p.connections),
                blockers: r
                    .report
                    .as_ref()
                    .map(|p| p.blockers.clone())
                    .unwrap_or_default(),
                prepare: r.report.as_ref().and_then(|p| p.prepare.clone()),
            })
            .collect(),
        traceparent: None,
    }
}
