use super::*;
use molt_lms_api::cutover::{CutoverStatus, ProxyAttempt, TimeoutAction};
use molt_lms_api::{ConnectionState, Dialect, SourceOfTruth};

fn pausing(held: u64, age: f64, query: &str) -> CutoverAttempt {
    CutoverAttempt {
        id: 3,
        from: SourceOfTruth::Source,
        to: SourceOfTruth::Target,
        source_of_truth: SourceOfTruth::Source,
        source_of_truth_dialect: Dialect::Postgres,
        status: CutoverStatus::BeginStarted,
        trigger_time: "2024-02-15T19:10:06Z".to_owned(),
        traffic_paused_time: None,
        prepare_started_time: None,
        end_time: None,
        error: String::new(),
        begin_timeout_ms: None,
        timeout_action: TimeoutAction::Abort,
        replication_lag_ms: None,
        replication_check: None,
        replication_gate: None,
        traceparent: None,
        proxies: vec![ProxyAttempt {
            lms_address: "lms-1:9043".to_owned(),
            source_of_truth: SourceOfTruth::Source,
            status: CutoverStatus::BeginStarted,
            trigger_time: "2024-02-15T19:10:06Z".to_owned(),
            traffic_paused_time: None,
            prepared_time: None,
            end_time: None,
            error: String::new(),
            held,
            connections: 5,
            blockers: vec![Blocker {
                connection_id: 9,
                client_address: "10.0.0.5:5555".to_owned(),
                state: ConnectionState::InTransaction,
                transaction_age_secs: Some(age),
                last_query: query.to_owned(),
            }],
            prepare: None,
        }],
    }
}

#[test]
fn block_shows_held_counts_and_blockers() {
    let query = format!("UPDATE accounts\n SET balance = {}", "9".repeat(100));
    let text = render(&pausing(3, 12.4, &query), true);
    assert!(text.contains("lms-1:9043: held 3/5 connections"), "{text}");
    assert!(
        text.contains(
            "blocked by 10.0.0.5:5555 (in_transaction, transaction open 12s): UPDATE accounts SET"
        ),
        "{text}"
    );
    let line = text.lines().last().expect("blocker line");
    let shown = line.split_once("): ").expect("query").1;
    assert_eq!(shown.chars().count(), 80, "{shown}");
    assert!(!render(&pausing(3, 12.4, "x"), false).contains("transaction open"));
}

#[test]
fn only_changes_other_than_ages_print_a_new_block() {
    let mut progress = Progress::default();
    let t0 = Instant::now();
    assert!(progress.update(&pausing(3, 1.0, "SELECT 1"), t0).is_some());
    // Same state a poll later, only older: nothing new.
    let t1 = t0 + Duration::from_secs(2);
    assert!(progress.update(&pausing(3, 3.0, "SELECT 1"), t1).is_none());
    // A change shows, but no sooner than a second after the last block.
    let t2 = t1 + Duration::from_millis(300);
    assert!(progress.update(&pausing(4, 3.3, "SELECT 1"), t2).is_some());
    let t3 = t2 + Duration::from_millis(300);
    assert!(progress.update(&pausing(5, 3.6, "SELECT 1"), t3).is_none());
    let t4 = t2 + Duration::from_secs(1);
    let block = progress
        .update(&pausing(5, 4.0, "SELECT 1"), t4)
        .expect("held back change");
    assert!(block.contains("held 5/5"), "{block}");
}

#[test]
fn long_blocker_lists_are_cut_with_a_count() {
    let mut attempt = pausing(0, 1.0, "SELECT 1");
    let one = attempt.proxies[0].blockers[0].clone();
    attempt.proxies[0].blockers = vec![one; BLOCKERS_SHOWN + 4];
    let text = render(&attempt, true);
    assert_eq!(text.matches("blocked by").count(), BLOCKERS_SHOWN);
    assert!(
        text.contains("… and 4 more blocking connection(s)"),
        "{text}"
    );
}
