use super::*;
use molt_lms_api::SourceOfTruth;

fn connection(query: &str) -> ConnectionInfo {
    ConnectionInfo {
        id: 11,
        remote_address: "10.42.0.2:9043".to_owned(),
        source_address: "10.42.0.5:36676".to_owned(),
        connected_at: "2024-02-15T19:00:00Z".to_owned(),
        state: ConnectionState::InTransaction,
        user: "app".to_owned(),
        database: "shop".to_owned(),
        last_query: query.to_owned(),
        error: String::new(),
        source_of_truth: SourceOfTruth::Source,
        transaction_age_secs: Some(3.2),
    }
}

#[test]
fn connections_table_shows_one_line_truncated_queries() {
    let long = format!("SELECT *\n  FROM orders WHERE note = '{}'", "é".repeat(200));
    let dialects = Dialects {
        source: Some(Dialect::Mysql),
        target: Some(Dialect::Cockroach),
    };
    let text = connections_table(&[connection(&long)], &dialects);
    assert!(text.ends_with("Connections Details.\n"), "{text}");
    for needle in [
        "CLIENT ADDRESS",
        "STATE",
        "USER",
        "DATABASE",
        "LAST QUERY",
        "10.42.0.2:9043",
        "10.42.0.5:36676",
        "in_transaction",
        "| MySQL ",
        "SELECT * FROM orders",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let cell = truncate(&one_line(&long), 80);
    assert_eq!(cell.chars().count(), 80);
    assert!(text.contains(&cell));
}

#[test]
fn connections_json_keeps_the_reference_keys() {
    let conns = [connection("SELECT 1")];
    let views = connections_json(&conns, &Dialects::default());
    let value = serde_json::to_value(&views).expect("json");
    let obj = &value[0];
    for key in [
        "error",
        "last_query",
        "remote_address",
        "source_address",
        "source_of_truth",
    ] {
        assert!(obj.get(key).is_some(), "missing {key} in {obj}");
    }
    assert_eq!(obj["source_of_truth"], "source");
    let back: Vec<ConnectionView> = serde_json::from_value(value).expect("typed");
    assert_eq!(back, views);
    assert_eq!(back[0].info, conns[0]);
}
