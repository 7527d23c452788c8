use super::*;
use crate::output::json;
use molt_lms_api::cutover::{ProxyAttempt, TimeoutAction};
use molt_lms_api::{Dialect, SourceOfTruth};

fn proxy_attempt(addr: &str, status: CutoverStatus) -> ProxyAttempt {
    ProxyAttempt {
        lms_address: addr.to_owned(),
        source_of_truth: SourceOfTruth::Target,
        status,
        trigger_time: "2024-02-15T19:10:06.991048Z".to_owned(),
        traffic_paused_time: Some("2024-02-15T19:10:07.001000Z".to_owned()),
        prepared_time: None,
        end_time: Some("2024-02-15T19:14:22.951080Z".to_owned()),
        error: String::new(),
        held: 0,
        connections: 0,
        blockers: Vec::new(),
        prepare: None,
    }
}

fn committed_attempt() -> CutoverAttempt {
    CutoverAttempt {
        id: 7,
        from: SourceOfTruth::Source,
        to: SourceOfTruth::Target,
        source_of_truth: SourceOfTruth::Target,
        source_of_truth_dialect: Dialect::Cockroach,
        status: CutoverStatus::CommitCompleted,
        trigger_time: "2024-02-15T19:10:06.974503Z".to_owned(),
        traffic_paused_time: Some("2024-02-15T19:10:06.998836Z".to_owned()),
        prepare_started_time: None,
        end_time: Some("2024-02-15T19:14:22.951534Z".to_owned()),
        error: String::new(),
        begin_timeout_ms: Some(30_000),
        timeout_action: TimeoutAction::Abort,
        replication_lag_ms: None,
        replication_check: None,
        replication_gate: None,
        traceparent: None,
        proxies: vec![
            proxy_attempt("demo-lms-1:9043", CutoverStatus::CommitCompleted),
            proxy_attempt("demo-lms-2:9043", CutoverStatus::CommitCompleted),
        ],
    }
}

#[test]
fn metadata_has_heading_both_tables_and_captions() {
    let text = attempt_metadata(&committed_attempt());
    assert!(
        text.starts_with("cutover metadata for attempt id 7:\n"),
        "{text}"
    );
    for needle in [
        "SOURCE OF TRUTH",
        "STATUS",
        "TRIGGER TIME",
        "TRAFFIC PAUSED TIME",
        "COMMIT TIME",
        "ERROR",
        "LMS ADDRESS",
        "Summarized Consistent Cutover Metadata.\n",
        "LMS-Specific Consistent Cutover Metadata.\n",
        "| Cockroach ",
        "CommitCompleted",
        "2024-02-15T19:14:22.951534Z",
        "demo-lms-2:9043",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains("ABORT TIME"));
    // The summary comes before the per-LMS table.
    let summary = text.find("Summarized").expect("summary caption");
    assert!(summary < text.find("LMS ADDRESS").expect("per-LMS header"));
}

#[test]
fn aborted_attempt_names_its_end_column_abort_time() {
    let mut attempt = committed_attempt();
    attempt.status = CutoverStatus::AbortCompleted;
    attempt.source_of_truth = SourceOfTruth::Source;
    attempt.source_of_truth_dialect = Dialect::Mysql;
    for p in &mut attempt.proxies {
        p.status = CutoverStatus::AbortCompleted;
        p.source_of_truth = SourceOfTruth::Source;
    }
    attempt.proxies[1].error = "lost contact".to_owned();
    let text = attempt_metadata(&attempt);
    assert!(
        text.contains("ABORT TIME") && !text.contains("COMMIT TIME"),
        "{text}"
    );
    assert!(
        text.contains("| MySQL ") && text.contains("lost contact"),
        "{text}"
    );
    let per_lms = attempt_proxies(&attempt, EndKind::Abort);
    assert!(per_lms.ends_with("LMS-Specific Consistent Cutover Metadata.\n"));
}

#[test]
fn a_refused_preparation_shows_its_figures_and_names_each_failed_session() {
    use molt_lms_api::cutover::{PrepareFailure, PrepareReport, PrepareStage};
    let mut attempt = committed_attempt();
    attempt.status = CutoverStatus::TrafficPaused;
    attempt.proxies[0].prepared_time = Some("2024-02-15T19:14:22.900000Z".to_owned());
    attempt.proxies[0].prepare = Some(PrepareReport {
        attempt_id: 7,
        order: 9,
        to: SourceOfTruth::Target,
        done: true,
        sessions: 3,
        statements: 5,
        failures: vec![PrepareFailure {
            connection_id: 4,
            role: "app".to_owned(),
            database: "shop".to_owned(),
            stage: PrepareStage::Login,
            statement: None,
            message: "password authentication failed".to_owned(),
        }],
        millis: Some(21),
    });
    let text = attempt_proxies(&attempt, EndKind::Commit);
    for needle in [
        "PREPARED TIME",
        "2024-02-15T19:14:22.900000Z",
        "3 sessions, 5 statements in 21 ms; 1 FAILED",
        "demo-lms-1:9043: role app database shop (connection 4): login: password authentication failed",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn attempt_json_round_trips() {
    let attempt = committed_attempt();
    let text = json(&attempt).expect("json");
    let back: CutoverAttempt = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, attempt);
}

#[test]
fn metadata_shows_the_gate_a_commit_waits_for_and_the_check_that_passed() {
    let mut a = committed_attempt();
    a.status = CutoverStatus::TrafficPaused;
    a.replication_gate = Some(GateProgress {
        check: ReplicationCheck::Lsn,
        elapsed_ms: 2_345,
        polls: 41,
        timeout_ms: 60_000,
    });
    assert!(
        attempt_metadata(&a)
            .contains("The commit is waiting for replication (lsn check): 2.3s of 1m, 41 polls.\n"),
        "{}",
        attempt_metadata(&a)
    );
    a.replication_gate = None;
    a.replication_lag_ms = Some(120);
    a.replication_check = Some(ReplicationCheck::Lsn);
    assert!(attempt_metadata(&a).contains(
        "Replication caught up 120 ms after the gate read the WAL position (lsn check)."
    ));
}
