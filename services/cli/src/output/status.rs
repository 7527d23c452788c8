//! `status`: the orchestrator's summary and one row per proxy, as one view that renders
//! both as tables and as JSON.

use super::{captioned, dialect_cell, shadow_mode_name, table, Dialects};
use molt_lms_api::cutover::{Liveness, OrchestratorStatus, ProxyEntry};
use molt_lms_api::proxy::ProxyStatusRow;
use molt_lms_api::{Dialect, ShadowMode, SourceOfTruth};
use serde::{Deserialize, Serialize};

/// The JSON of `status -o json`: `{"summary": {...}, "proxies": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub summary: SummaryView,
    pub proxies: Vec<ProxyView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryView {
    pub version: String,
    pub initialized: bool,
    pub source_dialect: Option<Dialect>,
    pub target_dialect: Option<Dialect>,
    pub source_of_truth: SourceOfTruth,
    pub source_of_truth_dialect: Option<Dialect>,
    pub transitioning: bool,
    pub active_attempt: Option<u64>,
    pub epoch: u64,
}

/// One proxy. Fields are `None` when neither the proxy nor its registration knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyView {
    pub lms_address: String,
    pub liveness: Option<Liveness>,
    pub shadow_mode: Option<ShadowMode>,
    pub source_dialect: Option<Dialect>,
    pub target_dialect: Option<Dialect>,
    pub source_address: Option<String>,
    pub target_address: Option<String>,
    pub source_of_truth: Option<SourceOfTruth>,
    pub source_of_truth_dialect: Option<Dialect>,
    pub transitioning: Option<bool>,
    pub open_connections: Option<u64>,
    pub version: Option<String>,
    pub error: String,
}

/// Joins each proxy's own status with its registration at the orchestrator, so an
/// unreachable proxy still shows its settings and its liveness.
pub fn status_view(status: &OrchestratorStatus, rows: &[ProxyStatusRow]) -> StatusView {
    let dialects = Dialects {
        source: status.source_dialect,
        target: status.target_dialect,
    };
    let summary = SummaryView {
        version: status.version.clone(),
        initialized: status.initialized,
        source_dialect: status.source_dialect,
        target_dialect: status.target_dialect,
        source_of_truth: status.source_of_truth,
        source_of_truth_dialect: dialects.get(status.source_of_truth),
        transitioning: status.transitioning,
        active_attempt: status.active_attempt,
        epoch: status.epoch,
    };
    let proxies = rows
        .iter()
        .map(|row| {
            let entry = status
                .proxies
                .iter()
                .find(|e| e.registration.lms_address == row.lms_address);
            proxy_view(row, entry)
        })
        .collect();
    StatusView { summary, proxies }
}

fn proxy_view(row: &ProxyStatusRow, entry: Option<&ProxyEntry>) -> ProxyView {
    let liveness = entry.map(|e| e.liveness);
    let mut errors: Vec<&str> = vec![row.error.as_str()];
    let mut view = if let Some(s) = &row.status {
        errors.push(s.error.as_str());
        ProxyView {
            lms_address: row.lms_address.clone(),
            liveness,
            shadow_mode: Some(s.shadow_mode),
            source_dialect: Some(s.source_dialect),
            target_dialect: Some(s.target_dialect),
            source_address: Some(s.source_address.clone()),
            target_address: Some(s.target_address.clone()),
            source_of_truth: Some(s.source_of_truth),
            source_of_truth_dialect: Some(s.source_of_truth_dialect),
            transitioning: Some(s.transitioning),
            open_connections: Some(s.open_connections),
            version: Some(s.version.clone()),
            error: String::new(),
        }
    } else {
        let reg = entry.map(|e| &e.registration);
        let report = entry.and_then(|e| e.report.as_ref());
        let sot = report.map(|r| r.source_of_truth);
        let dialects = Dialects {
            source: reg.map(|r| r.source_dialect),
            target: reg.map(|r| r.target_dialect),
        };
        ProxyView {
            lms_address: row.lms_address.clone(),
            liveness,
            shadow_mode: reg.map(|r| r.shadow_mode),
            source_dialect: dialects.source,
            target_dialect: dialects.target,
            source_address: reg.map(|r| r.source_address.clone()),
            target_address: reg.map(|r| r.target_address.clone()),
            source_of_truth: sot,
            source_of_truth_dialect: sot.and_then(|s| dialects.get(s)),
            transitioning: None,
            open_connections: report.map(|r| r.connections),
            version: reg.map(|r| r.version.clone()),
            error: String::new(),
        }
    };
    errors.retain(|e| !e.is_empty());
    view.error = errors.join("; ");
    view
}

/// The summary table and the per-proxy table, each with its caption.
pub fn status_table(view: &StatusView) -> String {
    let s = &view.summary;
    let dialects = Dialects {
        source: s.source_dialect,
        target: s.target_dialect,
    };
    let summary = table(
        &[
            "SOURCE DIALECT",
            "TARGET DIALECT",
            "SOURCE OF TRUTH",
            "TRANSITIONING",
        ],
        [vec![
            dialect_cell(s.source_dialect),
            dialect_cell(s.target_dialect),
            dialects.name(s.source_of_truth),
            s.transitioning.to_string(),
        ]],
    );
    let rows = view.proxies.iter().map(|p| {
        vec![
            p.lms_address.clone(),
            p.shadow_mode
                .map(shadow_mode_name)
                .unwrap_or_default()
                .to_owned(),
            dialect_cell(p.source_dialect),
            dialect_cell(p.target_dialect),
            p.source_address.clone().unwrap_or_default(),
            p.target_address.clone().unwrap_or_default(),
            source_of_truth_cell(p),
            liveness_cell(p.liveness).to_owned(),
            p.error.clone(),
        ]
    });
    let proxies = table(
        &[
            "LMS ADDRESS",
            "SHADOW MODE",
            "SOURCE DIALECT",
            "TARGET DIALECT",
            "SOURCE ADDRESS",
            "TARGET ADDRESS",
            "SOURCE OF TRUTH",
            "LIVENESS",
            "ERROR",
        ],
        rows,
    );
    captioned(&summary, "Proxy Settings Table.")
        + &captioned(&proxies, "Individual LMS Proxy Status.")
}

fn source_of_truth_cell(p: &ProxyView) -> String {
    match (p.source_of_truth_dialect, p.source_of_truth) {
        (Some(d), _) => d.display_name().to_owned(),
        (None, Some(sot)) => sot.to_string(),
        (None, None) => String::new(),
    }
}

/// Empty for a proxy the orchestrator has no registration of.
fn liveness_cell(l: Option<Liveness>) -> &'static str {
    match l {
        Some(Liveness::Live) => "live",
        Some(Liveness::Lost) => "lost",
        None => "",
    }
}

#[cfg(test)]
mod tests;
