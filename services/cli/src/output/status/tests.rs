use super::*;
use crate::output::json;
use molt_lms_api::cutover::{ProxyPhase, ProxyReport, Registration};
use molt_lms_api::ProxyStatus;

fn registration(addr: &str) -> Registration {
    Registration {
        lms_address: addr.to_owned(),
        admin_url: format!("http://{addr}"),
        version: "0.1.0".to_owned(),
        source_dialect: Dialect::Mysql,
        target_dialect: Dialect::Cockroach,
        shadow_mode: ShadowMode::StrictSync,
        source_address: "mysql:3306".to_owned(),
        target_address: "crdb:26257".to_owned(),
        cancel_tag: None,
    }
}

fn orchestrator_status() -> OrchestratorStatus {
    let entry = |addr: &str, liveness| ProxyEntry {
        registration: registration(addr),
        liveness,
        last_seen_secs: 1.5,
        report: Some(ProxyReport {
            epoch: 3,
            source_of_truth: SourceOfTruth::Source,
            phase: ProxyPhase::Serving,
            attempt_id: None,
            paused_at: None,
            connections: 4,
            held: 0,
            blockers: Vec::new(),
            error: String::new(),
            prepare: None,
            fenced: false,
            traceparent: None,
        }),
    };
    OrchestratorStatus {
        version: "0.1.0".to_owned(),
        initialized: true,
        source_dialect: Some(Dialect::Mysql),
        target_dialect: Some(Dialect::Cockroach),
        source_of_truth: SourceOfTruth::Source,
        epoch: 3,
        transitioning: false,
        active_attempt: None,
        latest_attempt: None,
        proxies: vec![
            entry("demo-lms-1:9043", Liveness::Live),
            entry("demo-lms-2:9043", Liveness::Lost),
        ],
    }
}

fn status_rows() -> Vec<ProxyStatusRow> {
    let live = ProxyStatus {
        version: "0.1.0".to_owned(),
        lms_address: "demo-lms-1:9043".to_owned(),
        admin_address: "demo-lms-1:9044".to_owned(),
        source_dialect: Dialect::Mysql,
        target_dialect: Dialect::Cockroach,
        shadow_mode: ShadowMode::None,
        source_address: "mysql:3306".to_owned(),
        target_address: "crdb:26257".to_owned(),
        source_of_truth: SourceOfTruth::Source,
        source_of_truth_dialect: Dialect::Mysql,
        transitioning: false,
        draining: false,
        open_connections: 2,
        error: String::new(),
    };
    vec![
        ProxyStatusRow {
            lms_address: "demo-lms-1:9043".to_owned(),
            status: Some(live),
            error: String::new(),
        },
        ProxyStatusRow {
            lms_address: "demo-lms-2:9043".to_owned(),
            status: None,
            error: "connection refused".to_owned(),
        },
    ]
}

#[test]
fn status_tables_show_settings_liveness_and_errors() {
    let view = status_view(&orchestrator_status(), &status_rows());
    let text = status_table(&view);
    for needle in [
        "SOURCE DIALECT",
        "TARGET DIALECT",
        "SOURCE OF TRUTH",
        "TRANSITIONING",
        "Proxy Settings Table.\n",
        "LMS ADDRESS",
        "SHADOW MODE",
        "SOURCE ADDRESS",
        "TARGET ADDRESS",
        "LIVENESS",
        "Individual LMS Proxy Status.\n",
        "| MySQL ",
        "| Cockroach ",
        "| false ",
        "| None ",
        "| live ",
        "mysql:3306",
        "crdb:26257",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // The unreachable proxy still shows its registered settings, liveness and error.
    let lost = text
        .lines()
        .find(|l| l.contains("demo-lms-2:9043"))
        .expect("row");
    for needle in ["Strict-Sync", "| lost ", "connection refused", "| MySQL "] {
        assert!(lost.contains(needle), "missing {needle:?} in {lost}");
    }
}

#[test]
fn status_json_is_one_stable_object() {
    let view = status_view(&orchestrator_status(), &status_rows());
    let text = json(&view).expect("json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("parse");
    assert_eq!(value["summary"]["source_dialect"], "mysql");
    assert_eq!(value["summary"]["source_of_truth_dialect"], "mysql");
    assert_eq!(value["proxies"][0]["shadow_mode"], "none");
    assert_eq!(value["proxies"][1]["liveness"], "lost");
    assert_eq!(value["proxies"][1]["error"], "connection refused");
    let back: StatusView = serde_json::from_value(value).expect("typed");
    assert_eq!(back, view);
}
