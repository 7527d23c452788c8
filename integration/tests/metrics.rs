//! The metrics operators chart a migration with, scraped from real processes: requests and
//! latency by the database that answered, connections by state and source of truth, held
//! connections, cutover attempts by final status, and the orchestrator's API latency by
//! route and status.

use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::http_get;
use std::net::SocketAddr;

/// `name{labels}` with the labels sorted, so series compare whatever order they print in.
fn canonical(series: &str) -> String {
    match series.split_once('{') {
        Some((name, rest)) => {
            let mut labels: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
            labels.sort_unstable();
            format!("{name}{{{}}}", labels.join(","))
        }
        None => series.to_owned(),
    }
}

/// The value of one sample, by its series (`name{labels}`, labels in any order).
fn sample(addr: SocketAddr, series: &str) -> Option<f64> {
    let (code, body) = http_get(addr, "/metrics");
    assert_eq!(code, 200, "{body}");
    let want = canonical(series);
    let v = body.lines().find_map(|l| {
        let (s, v) = l.rsplit_once(' ')?;
        (canonical(s) == want).then(|| v.parse().ok())?
    });
    if v.is_none() {
        eprintln!("no {series} in:\n{body}");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_connections_attempts_and_api_calls_are_counted_where_they_happened() {
    let env = CutoverEnv::start(1, &[]);
    let proxy = env.proxies[0].admin_addr();
    let client = env.client(0).await;
    client
        .simple_query("SELECT 1")
        .await
        .expect("on the source");
    let ok = |backend: &str| {
        sample(
            proxy,
            &format!(
                "lms_queries_total{{backend=\"{backend}\",outcome=\"ok\",protocol=\"postgresql\"}}"
            ),
        )
        .unwrap_or(0.0)
    };
    let answered_by_source = ok("source");
    assert!(answered_by_source >= 1.0);
    assert_eq!(ok("target"), 0.0);
    assert_eq!(
        sample(
            proxy,
            "lms_connections{protocol=\"postgresql\",source_of_truth=\"source\",state=\"idle\"}"
        ),
        Some(1.0)
    );

    env.pause();
    assert_eq!(
        sample(
            proxy,
            "lms_connections{protocol=\"postgresql\",source_of_truth=\"source\",state=\"held\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(proxy, "lms_connections_held{protocol=\"postgresql\"}"),
        Some(1.0)
    );
    env.commit().expect("commit");
    client
        .simple_query("SELECT 2")
        .await
        .expect("on the target");
    assert_eq!(
        ok("source"),
        answered_by_source,
        "the source answered nothing more"
    );
    assert_eq!(ok("target"), 1.0);
    assert_eq!(
        sample(
            proxy,
            "lms_query_duration_seconds_count{backend=\"target\",protocol=\"postgresql\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            proxy,
            "lms_connections{protocol=\"postgresql\",source_of_truth=\"target\",state=\"idle\"}"
        ),
        Some(1.0)
    );

    let orch = env.orch.metrics_addr();
    assert_eq!(
        sample(
            orch,
            "lms_orchestrator_cutover_attempts_total{status=\"CommitCompleted\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            orch,
            "lms_orchestrator_cutover_attempts_total{status=\"AbortCompleted\"}"
        ),
        Some(0.0)
    );
    let begin = "lms_orchestrator_api_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/cutover/begin\",status=\"200\"}";
    assert_eq!(sample(orch, begin), Some(1.0));
    // A path with an id is counted under its pattern, not as a series of its own.
    let (code, _) = http_get(env.orch.api_addr(), "/api/v1/cutover/987654");
    assert_eq!(code, 404, "no such attempt");
    let (_, body) = http_get(orch, "/metrics");
    assert!(!body.contains("987654"), "{body}");
    assert!(
        body.contains("route=\"/api/v1/cutover/{id}\",status=\"404\""),
        "{body}"
    );
}
