//! molt-lms-cli against a real orchestrator and proxies: table and JSON output, exit
//! codes, and Ctrl-C during begin aborting the attempt.

use molt_lms_api::cutover::CutoverStatus;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::wait_until;
use std::process::Stdio;
use std::time::Duration;

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_connections_and_metadata_in_table_and_json() {
    let env = CutoverEnv::start(2, &[]);
    let _client = env.client(0).await;
    let (out, err) = text(&env.orch.cli(&["status"]));
    for want in [
        "Proxy Settings Table.",
        "Individual LMS Proxy Status.",
        "PostgreSQL",
        "Cockroach",
        "SOURCE ADDRESS",
    ] {
        assert!(
            out.contains(want),
            "status table lacks {want:?}:\n{out}{err}"
        );
    }
    assert!(
        out.contains(&env.proxies[1].sql_addr().to_string()),
        "{out}"
    );
    let (out, _) = text(&env.orch.cli(&["status", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("status json");
    assert_eq!(v["proxies"].as_array().map(Vec::len), Some(2), "{out}");

    let (out, _) = text(&env.orch.cli(&["connections", "list"]));
    assert!(out.contains("Connections Details."), "{out}");
    let (out, _) = text(&env.orch.cli(&["connections", "list", "-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("connections json");
    let first = &v.as_array().expect("array")[0];
    for key in [
        "error",
        "last_query",
        "remote_address",
        "source_address",
        "source_of_truth",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }

    let out = env.orch.cli(&["cutover", "consistent", "commit"]);
    assert_eq!(out.status.code(), Some(1), "commit without begin must fail");
    assert!(text(&out).1.starts_with("error: "), "{}", text(&out).1);
    let out = env.orch.cli(&["cutover", "consistent", "begin"]);
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.contains("Successfully began consistent cutover with ID"),
        "{o}"
    );
    assert!(
        e.contains("pausing traffic") && e.contains("press Ctrl-C"),
        "{e}"
    );
    let out = env.orch.cli(&["cutover", "consistent", "commit"]);
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(
        o.contains("LMS-Specific Consistent Cutover Metadata.") && o.contains("CommitCompleted"),
        "{o}"
    );
    let attempt = serde_json::from_str::<molt_lms_api::cutover::CutoverAttempt>(
        &text(
            &env.orch
                .cli(&["cutover", "get_metadata", "-i", "1", "-o", "json"]),
        )
        .0,
    )
    .expect("metadata json");
    assert_eq!(attempt.status, CutoverStatus::CommitCompleted);
    let (o, _) = text(&env.orch.cli(&["cutover", "get_metadata", "-i", "1"]));
    for want in [
        "cutover metadata for attempt id 1:",
        "Summarized Consistent Cutover Metadata.",
        "COMMIT TIME",
        "CommitCompleted",
    ] {
        assert!(o.contains(want), "get_metadata lacks {want:?}:\n{o}");
    }
    let out = env.orch.cli(&["cutover", "get_metadata", "-i", "99"]);
    assert_eq!(out.status.code(), Some(1));
    let out = env.orch.cli(&["cutover", "consistent", "abort"]);
    assert_eq!(out.status.code(), Some(1), "abort after commit must fail");
    let (o, _) = text(&env.orch.cli(&["version"]));
    assert!(o.contains("molt-lms-cli "), "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_begin_aborts_the_attempt() {
    let env = CutoverEnv::start(1, &[]);
    let mut blocker = env.client(0).await;
    let tx = blocker.transaction().await.expect("tx");
    tx.execute("SELECT 'holding the pause open'", &[])
        .await
        .expect("query");
    let begin = env
        .orch
        .cli_command(&["cutover", "consistent", "begin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn begin");
    assert!(
        wait_until(Duration::from_secs(10), || env
            .status()
            .active_attempt
            .is_some()),
        "begin never started"
    );
    let id = env.status().active_attempt.expect("attempt");
    let killed = std::process::Command::new("sh")
        .args(["-c", "kill -INT \"$1\"", "sh", &begin.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = begin.wait_with_output().expect("begin exits");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = env.wait_status(id, CutoverStatus::AbortCompleted, Duration::from_secs(10));
    assert_eq!(a.status, CutoverStatus::AbortCompleted);
    tx.execute("SELECT 1", &[])
        .await
        .expect("the transaction goes on");
    tx.commit().await.expect("commit");
}
