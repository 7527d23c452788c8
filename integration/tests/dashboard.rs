//! The Grafana dashboard the Helm chart ships (`helm/molt-lms/dashboards/molt-lms.json`)
//! queries only metrics the binaries export: every `lms_*` name in its queries is a series
//! on the `/metrics` of a real proxy or orchestrator, so renaming a metric fails here.

use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::http_get;
use molt_lms_integration::proxy::ProxyConfig;
use molt_lms_integration::wait_until;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Series that exist only after an event this test does not cause, each with the source
/// file that writes it (relative to the repository root) and the event. The name must still
/// be exported there, as `# TYPE <name> `, so a rename fails this test all the same.
const AFTER_AN_EVENT: &[(&str, &str, &str)] = &[(
    "lms_orchestrator_replication_lag_seconds",
    "services/orchestrator/src/routes/status.rs",
    // A commit or revert that waited for replication (--wait-for-replication) needs logical
    // replication between the clusters: cutover_prepare.rs checks that one appears then.
    "once a replication gate has run",
)];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the integration crate is in the repository")
        .to_path_buf()
}

/// Every PromQL string of the dashboard: panel and annotation `expr`s, variable queries.
fn queries(node: &serde_json::Value, key: Option<&str>, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                queries(v, Some(k), out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                queries(v, key, out);
            }
        }
        serde_json::Value::String(s) if matches!(key, Some("expr" | "query" | "definition")) => {
            out.push(s.clone());
        }
        _ => {}
    }
}

/// The identifiers in a query that start with `lms_` (not inside a longer name such as
/// `my_lms_x`); any identifier, not only `lms_[a-z_]+`, so none escapes the check.
fn metric_names(query: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut rest = query;
    while let Some(start) = rest.find(|c: char| ident(c)) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !ident(c)).unwrap_or(tail.len());
        let word = &tail[..end];
        if word.len() > "lms_".len() && word.starts_with("lms_") {
            names.insert(word.to_owned());
        }
        rest = &tail[end..];
    }
    names
}

/// Names of the samples in a Prometheus text exposition (histograms give `_bucket`,
/// `_sum` and `_count`; `# HELP`/`# TYPE` lines are not samples).
fn series_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The base names of the metric families the exposition declares (`# TYPE name kind`).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

fn scrape(addr: std::net::SocketAddr, what: &str) -> String {
    let (code, body) = http_get(addr, "/metrics");
    assert_eq!(code, 200, "{what} /metrics: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_queries_only_metrics_the_binaries_export() {
    let path = repo().join("helm/molt-lms/dashboards/molt-lms.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut all = Vec::new();
    queries(&dashboard, None, &mut all);
    let wanted: BTreeSet<String> = all.iter().flat_map(|q| metric_names(q)).collect();
    // A parser that finds nothing would pass everything: the dashboard has one query or
    // more for each of the 21 metric families.
    assert!(all.len() >= 30, "{} queries found: {all:?}", all.len());
    assert!(
        wanted.len() >= 20,
        "{} metric names found: {wanted:?}",
        wanted.len()
    );

    // A proxy that shadows (async), so lms_shadow_requests_total has series: a labelled
    // counter shows none until a request is mirrored.
    let mut env = CutoverEnv::start(0, &[]);
    let i = env.add_proxy_with(|c| ProxyConfig {
        shadow_mode: "async".into(),
        ..c
    });
    let client = env.client(i).await;
    client
        .simple_query("SELECT 1")
        .await
        .expect("a query through the proxy");
    let proxy = env.proxies[i].admin_addr();
    let mirrored = wait_until(Duration::from_secs(20), || {
        scrape(proxy, "proxy").contains("lms_shadow_requests_total{")
    });
    assert!(
        mirrored,
        "no lms_shadow_requests_total series after a mirrored query:\n{}",
        scrape(proxy, "proxy")
    );
    let proxy_text = scrape(proxy, "proxy");
    let orch_text = scrape(env.orch.metrics_addr(), "orchestrator");
    let mut exported = series_names(&proxy_text);
    exported.extend(series_names(&orch_text));

    let mut missing = Vec::new();
    for name in &wanted {
        if exported.contains(name) {
            continue;
        }
        if let Some((_, file, event)) = AFTER_AN_EVENT.iter().find(|(n, ..)| n == name) {
            let source = std::fs::read_to_string(repo().join(file))
                .unwrap_or_else(|e| panic!("read {file}: {e}"));
            assert!(
                source.contains(&format!("# TYPE {name} ")),
                "{name} (exported {event}) is no longer written by {file}"
            );
            continue;
        }
        missing.push(if families(&proxy_text).contains(name) {
            // A classic histogram has no series of its own name: PromQL would find nothing.
            format!("{name} (a histogram: query {name}_bucket, _sum or _count)")
        } else {
            name.clone()
        });
    }
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics the binaries do not export: {missing:?}\n\
         --- proxy /metrics ---\n{proxy_text}\n--- orchestrator /metrics ---\n{orch_text}"
    );

    // Not a failure, a reminder: exported families no panel shows.
    let mut unused: Vec<String> = families(&proxy_text)
        .into_iter()
        .chain(families(&orch_text))
        .filter(|f| {
            !wanted.iter().any(|w| {
                w == f
                    || w.strip_prefix(f.as_str())
                        .is_some_and(|s| matches!(s, "_bucket" | "_sum" | "_count"))
            })
        })
        .collect();
    unused.sort();
    if !unused.is_empty() {
        eprintln!("metrics on no dashboard panel: {unused:?}");
    }
    println!(
        "dashboard: {} queries, {} metric names, all exported",
        all.len(),
        wanted.len()
    );
}

#[test]
fn metric_names_are_whole_identifiers() {
    let q = r#"histogram_quantile(0.99, sum by (le) (rate(lms_query_duration_seconds_bucket{pod=~"$pod"}[$__rate_interval]))) / my_lms_x + lms_ + lms_up2"#;
    assert_eq!(
        metric_names(q).into_iter().collect::<Vec<_>>(),
        ["lms_query_duration_seconds_bucket", "lms_up2"]
    );
    let text = "# HELP lms_a A.\n# TYPE lms_a gauge\nlms_a{protocol=\"mysql\"} 1\nlms_b 2\n";
    assert_eq!(
        series_names(text).into_iter().collect::<Vec<_>>(),
        ["lms_a", "lms_b"]
    );
}
