//! OpenTelemetry traces from the real binaries, received over OTLP/HTTP inside the test:
//! a cutover (CLI begin, pause, CLI commit, prepare, switch on two proxies) is one trace
//! with the expected names and parent links, and no span holds a password or a query's
//! literal.

use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::otlp::{OtlpReceiver, ReceivedSpan};
use molt_lms_integration::wait_until;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every process this test starts exports here, quickly.
fn export_to(receiver: &OtlpReceiver) {
    // Set before any child process starts (they inherit it); this binary has one test.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    // Every request of the proxies becomes a span (the default is 1 %).
    std::env::set_var("LMS_TRACE_QUERIES", "1");
}

fn tree(spans: &[ReceivedSpan]) -> String {
    let by_parent: BTreeMap<&str, Vec<&ReceivedSpan>> =
        spans.iter().fold(BTreeMap::new(), |mut m, s| {
            m.entry(s.parent_span_id.as_str()).or_default().push(s);
            m
        });
    fn walk(
        out: &mut String,
        by_parent: &BTreeMap<&str, Vec<&ReceivedSpan>>,
        id: &str,
        depth: usize,
    ) {
        let mut kids = by_parent.get(id).cloned().unwrap_or_default();
        kids.sort_by_key(|s| (s.start_unix_nano, s.name.clone()));
        for s in kids {
            let proxy = s
                .attr("lms.proxy")
                .map(|p| format!(" [{p}]"))
                .unwrap_or_default();
            let links = if s.links.is_empty() {
                String::new()
            } else {
                format!(" (links {})", s.links.len())
            };
            out.push_str(&format!(
                "{}{} <{}>{proxy}{links}\n",
                "  ".repeat(depth),
                s.name,
                s.service
            ));
            walk(out, by_parent, &s.span_id, depth + 1);
        }
    }
    let mut out = String::new();
    walk(&mut out, &by_parent, "", 0);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cutover_is_one_trace_across_the_cli_the_orchestrator_and_every_proxy() {
    let receiver = OtlpReceiver::start();
    export_to(&receiver);
    let env = CutoverEnv::start(2, &[]);
    let client = env.client(0).await;
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS traced (v text); INSERT INTO traced VALUES ('literal-do-not-trace')")
        .await
        .expect("insert through the proxy");
    let missing = client
        .simple_query("SELECT * FROM no_such_table_here")
        .await
        .expect_err("no such table");
    assert_eq!(
        missing.as_db_error().map(|d| d.code().code()),
        Some("42P01"),
        "{missing:?}"
    );
    let _second = env.client(1).await;

    for verb in ["begin", "commit"] {
        let out = env.orch.cli(&["cutover", "consistent", verb]);
        assert!(
            out.status.success(),
            "{verb}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            env.orch.log()
        );
    }
    client
        .simple_query("SELECT 41 + 1 AS after_commit")
        .await
        .expect("the held session goes on on the target");

    let wanted = |spans: &[ReceivedSpan]| {
        let count = |name: &str| spans.iter().filter(|s| s.name == name).count();
        count("molt-lms-cli cutover consistent begin") == 1
            && count("molt-lms-cli cutover consistent commit") == 1
            && spans.iter().any(|s| s.name.starts_with("cutover attempt "))
            && count("lms.pause") == 2
            && count("lms.prepare") == 2
            && count("lms.switch") == 2
            && spans.iter().any(|s| {
                s.attr("db.query.summary")
                    .is_some_and(|q| q.contains("after_commit"))
            })
    };
    let mut spans = Vec::new();
    assert!(
        wait_until(Duration::from_secs(20), || {
            spans = receiver.spans();
            wanted(&spans)
        }),
        "the cutover's spans did not all arrive:\n{}",
        tree(&spans)
    );
    let one = |name: &str| -> &ReceivedSpan {
        let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "one {name}:\n{}", tree(&spans));
        found[0]
    };
    let begin = one("molt-lms-cli cutover consistent begin");
    assert_eq!(begin.service, "molt-lms-cli");
    assert_eq!(begin.parent_span_id, "", "the CLI's begin is the root");
    let trace = begin.trace_id.clone();
    let cutover: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == trace)
        .cloned()
        .collect();
    println!("the cutover's trace as received:\n{}", tree(&cutover));

    let attempt = cutover
        .iter()
        .find(|s| s.name.starts_with("cutover attempt "))
        .expect("the attempt's span in the begin's trace");
    assert_eq!(attempt.service, "molt-lms-orchestrator");
    assert_eq!(attempt.parent_span_id, begin.span_id);
    assert_eq!(attempt.attr("cutover.status"), Some("CommitCompleted"));
    let children_of = |parent: &ReceivedSpan, name: &str| -> Vec<ReceivedSpan> {
        cutover
            .iter()
            .filter(|s| s.parent_span_id == parent.span_id && s.name == name)
            .cloned()
            .collect()
    };
    let pause = children_of(attempt, "cutover.pause");
    assert_eq!(pause.len(), 1, "{}", tree(&cutover));
    let acks = children_of(&pause[0], "cutover.pause_ack");
    assert_eq!(acks.len(), 2, "a pause-ack per proxy:\n{}", tree(&cutover));
    assert_eq!(children_of(attempt, "cutover.prepare").len(), 1);
    let commit = children_of(attempt, "cutover.commit");
    assert_eq!(commit.len(), 1, "{}", tree(&cutover));
    let cli_commit = one("molt-lms-cli cutover consistent commit");
    assert_eq!(
        (
            cli_commit.trace_id.as_str(),
            cli_commit.parent_span_id.as_str()
        ),
        (trace.as_str(), attempt.span_id.as_str()),
        "the CLI's commit joins the attempt's trace"
    );
    assert_eq!(
        commit[0].links,
        vec![(trace.clone(), cli_commit.span_id.clone())],
        "the orchestrator's commit links to the CLI's request"
    );
    let proxies: Vec<String> = env
        .proxies
        .iter()
        .map(|p| p.sql_addr().to_string())
        .collect();
    for name in ["lms.pause", "lms.prepare", "lms.switch"] {
        let mut seen: Vec<String> = children_of(attempt, name)
            .iter()
            .map(|s| {
                assert_eq!(s.service, "molt-lms", "{name}");
                s.attr("lms.proxy").unwrap_or_default().to_owned()
            })
            .collect();
        seen.sort();
        let mut want = proxies.clone();
        want.sort();
        assert_eq!(seen, want, "{name} from every proxy:\n{}", tree(&cutover));
    }
    // Each pause-ack links back to the pause span its proxy reported.
    for ack in &acks {
        let proxy = ack.attr("lms.proxy").expect("proxy");
        let theirs = children_of(attempt, "lms.pause")
            .into_iter()
            .find(|s| s.attr("lms.proxy") == Some(proxy))
            .expect("the proxy's pause");
        assert_eq!(
            ack.links,
            vec![(trace.clone(), theirs.span_id.clone())],
            "{proxy}"
        );
    }

    // Client queries: by fingerprint, with the database that answered, rows and SQLSTATE.
    let query = |needle: &str| -> ReceivedSpan {
        spans
            .iter()
            .find(|s| {
                s.attr("db.query.summary")
                    .is_some_and(|q| q.contains(needle))
            })
            .unwrap_or_else(|| panic!("no query span for {needle}"))
            .clone()
    };
    let insert = query("insert into traced");
    assert_eq!(insert.service, "molt-lms");
    assert_eq!(insert.name, "CREATE", "named by its first statement");
    assert_eq!(insert.attr("db.system.name"), Some("postgresql"));
    assert_eq!(insert.attr("lms.backend"), Some("source"));
    assert_eq!(insert.attr("db.response.returned_rows"), Some("1"));
    assert_eq!(
        insert.attr("db.query.summary"),
        Some("create table if not exists traced (v text); insert into traced values (?)")
    );
    let failed = query("no_such_table_here");
    assert_eq!(failed.attr("error.type"), Some("42P01"));
    let after = query("after_commit");
    assert_eq!(after.attr("lms.backend"), Some("target"), "{after:?}");
    assert_eq!(after.attr("db.response.returned_rows"), Some("1"));
    assert_ne!(after.trace_id, trace, "a query is a trace of its own");

    let everything = format!("{:?}", receiver.spans());
    for secret in [env.password.as_str(), "literal-do-not-trace", "S3cret"] {
        assert!(!everything.contains(secret), "a span holds {secret:?}");
    }
}

#[test]
fn an_otlp_protocol_this_build_cannot_speak_stops_the_start_naming_the_key() {
    let out =
        std::process::Command::new(molt_lms_integration::bins::lms_bin("molt-lms-orchestrator"))
            .env("CRDB_URL", "postgresql://u@127.0.0.1:1/db")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .args([
                "--insecure-control-plane",
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
            ])
            .output()
            .expect("run the orchestrator");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL: \"grpc\""),
        "{stderr}"
    );
}
