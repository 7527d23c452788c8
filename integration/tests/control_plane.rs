//! Only the control plane's own parts can drive it: calls without the token or a client
//! certificate are refused, a proxy cannot report in another's name, credentials rotate
//! without a restart, and a component without credentials refuses to start.

use molt_lms_api::cutover::{BeginRequest, CutoverStatus, ProxyPhase, ProxyReport};
use molt_lms_integration::bins::lms_bin;
use molt_lms_integration::certs::TestCa;
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::fixture::{http_request, http_request_with, server_port};
use molt_lms_integration::orchestrator::OrchestratorProcess;
use molt_lms_integration::pg::shared;
use molt_lms_integration::proxy::{ProxyConfig, ProxyProcess};
use molt_lms_integration::{unique_name, wait_until, TempDir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const JSON: &str = "application/json";

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_the_token_and_reports_in_another_proxys_name_are_refused() {
    let env = CutoverEnv::start(2, &[]);
    let orch = env.orch.api_addr();
    let c = env.client(0).await;
    let source = env.clusters.source.port() as i32;
    assert_eq!(server_port(&c).await, source);

    // The orchestrator: every endpoint but version, the OpenAPI document and health
    // needs the token; a wrong one is as good as none, and is never echoed.
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789abcdef"),
        Some("Basic x"),
    ] {
        let (code, body) =
            http_request_with(orch, "POST", "/api/v1/cutover/begin", JSON, "{}", auth);
        assert_eq!(code, 401, "{auth:?}: {body}");
        assert!(
            body.contains("unauthorized") && !body.contains("wrong-token"),
            "{body}"
        );
        let (code, _) = http_request_with(orch, "GET", "/api/v1/status", JSON, "", auth);
        assert_eq!(code, 401);
        let (code, _) = http_request_with(orch, "GET", "/api/v1/connections", JSON, "", auth);
        assert_eq!(code, 401);
    }
    for open in ["/api/v1/version", "/api/v1/openapi.json", "/healthz"] {
        let (code, body) = http_request_with(orch, "GET", open, JSON, "", None);
        assert_eq!(code, 200, "{open}: {body}");
    }
    assert!(env.status().active_attempt.is_none());

    // A proxy's control API: an unauthenticated push is refused and changes nothing.
    let p = &env.proxies[0];
    let push = r#"{"epoch": 18446744073709551615, "source_of_truth": "target", "hold": null}"#;
    let (code, body) = http_request_with(
        p.control_addr(),
        "POST",
        "/api/v1/desired",
        JSON,
        push,
        None,
    );
    assert_eq!(code, 401, "{body}");
    let (code, body) = http_request_with(
        p.control_addr(),
        "GET",
        "/api/v1/connections",
        JSON,
        "",
        None,
    );
    assert_eq!(code, 401, "{body}");
    let (_, report) = http_request(p.control_addr(), "GET", "/api/v1/cutover", None);
    let report: ProxyReport = serde_json::from_str(&report).expect("report");
    assert_eq!(report.epoch, 0);
    assert_eq!(server_port(&c).await, source);
    // The metrics port serves metrics and health only.
    for (path, want) in [
        ("/metrics", 200),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/api/v1/status", 404),
        ("/api/v1/connections", 404),
        ("/api/v1/desired", 404),
    ] {
        let (code, _) = http_request_with(p.admin_addr(), "GET", path, JSON, "", None);
        assert_eq!(code, want, "{path} on the metrics port");
    }

    // A pause-ack forged for a proxy that has not paused (it is stopped) does not count.
    let stopped = env.proxies[1].pid();
    signal(stopped, "STOP");
    let attempt = env
        .begin(BeginRequest {
            skip_check: true,
            ..BeginRequest::default()
        })
        .expect("begin");
    let mut forged = report.clone();
    forged.phase = ProxyPhase::Paused;
    forged.attempt_id = Some(attempt.id);
    forged.epoch = attempt_epoch(&env);
    let beat = serde_json::json!({
        "lms_address": env.proxies[1].sql_addr().to_string(),
        "report": forged,
        "proxy_key": "0".repeat(64),
    });
    let (code, body) = http_request(
        orch,
        "POST",
        "/api/v1/proxies/heartbeat",
        Some(&beat.to_string()),
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("wrong_proxy_key"), "{body}");
    let without_key = serde_json::json!({
        "lms_address": env.proxies[1].sql_addr().to_string(),
        "report": forged,
    });
    let (code, _) = http_request(
        orch,
        "POST",
        "/api/v1/proxies/heartbeat",
        Some(&without_key.to_string()),
    );
    assert_eq!(code, 403);
    let leave =
        serde_json::json!({"lms_address": env.proxies[1].sql_addr().to_string(), "proxy_key": "x"});
    let (code, body) = http_request(
        orch,
        "POST",
        "/api/v1/proxies/deregister",
        Some(&leave.to_string()),
    );
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        env.status().proxies.len(),
        2,
        "a forged deregistration removed a proxy"
    );
    // Proxy 0 pauses; the attempt still waits for proxy 1.
    assert!(wait_until(Duration::from_secs(10), || {
        env.attempt(attempt.id)
            .expect("attempt")
            .proxies
            .iter()
            .any(|p| p.status == CutoverStatus::TrafficPaused)
    }));
    assert_ne!(
        env.attempt(attempt.id).expect("attempt").status,
        CutoverStatus::TrafficPaused
    );
    // Resumed, the real proxy acknowledges, and the attempt can be aborted.
    signal(stopped, "CONT");
    env.wait_status(
        attempt.id,
        CutoverStatus::TrafficPaused,
        Duration::from_secs(20),
    );
    assert_eq!(
        env.abort().expect("abort").status,
        CutoverStatus::AbortCompleted
    );
    assert_eq!(server_port(&c).await, source);

    // The CLI without the token gets the orchestrator's refusal.
    let out = env
        .orch
        .cli_command(&["status"])
        .env_remove("CLI_CONTROL_TOKEN_FILE")
        .output()
        .expect("cli");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("control-plane token"), "{err}");
}

/// The epoch of the desired state now (it moves with every order).
fn attempt_epoch(env: &CutoverEnv) -> u64 {
    env.status().epoch
}

#[test]
fn a_rotated_token_takes_effect_without_a_restart() {
    let dir = TempDir::new("rotate");
    let file = dir.path().join("token");
    let (old, new) = (
        "first-token-0123456789abcdef",
        "second-token-0123456789abcdef",
    );
    std::fs::write(&file, old).expect("token");
    let file_arg = file.to_str().expect("utf-8 path");
    let meta = unique_name("meta");
    let t = &shared().target;
    t.create_database(&meta);
    let orch = OrchestratorProcess::start(
        &t.superuser_url(&meta),
        &[
            "--control-token-file",
            file_arg,
            "--proxy-lost-after",
            "2s",
            "--heartbeat-interval",
            "200ms",
        ],
    );
    let bearer = |t: &str| format!("Bearer {t}");
    let (code, body) = http_request_with(
        orch.api_addr(),
        "POST",
        "/api/v1/initialize",
        JSON,
        "",
        Some(&bearer(old)),
    );
    assert_eq!(code, 200, "{body}");
    let mut cfg = ProxyConfig::new(
        shared().source.superuser_url("postgres"),
        t.superuser_url("postgres"),
    );
    cfg.extra_args = vec![
        "--orchestrator-url".into(),
        orch.url(),
        "--control-token-file".into(),
        file_arg.into(),
    ];
    let proxy = ProxyProcess::start(cfg);

    std::fs::write(&file, new).expect("rotate");
    let status = |token: &str| {
        http_request_with(
            orch.api_addr(),
            "GET",
            "/api/v1/status",
            JSON,
            "",
            Some(&bearer(token)),
        )
    };
    assert_eq!(
        status(old).0,
        401,
        "the old token still works after the rotation"
    );
    assert_eq!(status(new).0, 200);
    let proxy_status = |token: &str| {
        http_request_with(
            proxy.control_addr(),
            "GET",
            "/api/v1/status",
            JSON,
            "",
            Some(&bearer(token)),
        )
        .0
    };
    assert_eq!(proxy_status(old), 401);
    assert_eq!(proxy_status(new), 200);
    // The proxy reads the new token too: it stays live well past the lost-after time.
    let live = || {
        let (code, body) = status(new);
        code == 200 && body.contains("\"liveness\":\"live\"")
    };
    let seen_at = std::time::Instant::now();
    assert!(wait_until(Duration::from_secs(10), || seen_at.elapsed()
        > Duration::from_secs(3)
        && live()));
    // A half-written token file keeps the last good token; SIGHUP forces a re-read.
    std::fs::write(&file, "short").expect("truncate");
    signal(orch.pid(), "HUP");
    assert_eq!(status(new).0, 200);
    assert!(
        orch.full_log()
            .contains("keeping the previous control token"),
        "{}",
        orch.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_between_the_cli_the_orchestrator_and_the_proxies() {
    let dir = TempDir::new("mtls");
    let d = dir.path();
    let ca = TestCa::new(d, "control");
    let orch_leaf = ca.issue(d, "orch", "orchestrator", &["127.0.0.1", "localhost"]);
    let proxy_leaf = ca.issue(d, "proxy", "proxy", &["127.0.0.1"]);
    let cli_leaf = ca.issue(d, "cli", "operator", &[]);
    let other = TestCa::new(d, "other");
    let rogue = other.issue(d, "rogue", "rogue", &["127.0.0.1"]);
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let (ca_pem, orch_cert, orch_key) = (
        path(&ca.cert_path),
        path(&orch_leaf.cert_path),
        path(&orch_leaf.key_path),
    );

    let meta = unique_name("meta");
    let t = &shared().target;
    t.create_database(&meta);
    // The orchestrator's client CA in a file of its own, rotated at the end.
    let client_ca = d.join("orchestrator-client-ca.crt");
    std::fs::copy(&ca.cert_path, &client_ca).expect("copy the CA");
    let client_ca_arg = path(&client_ca);
    let orch = OrchestratorProcess::start(
        &t.superuser_url(&meta),
        &[
            "--tls-cert",
            &orch_cert,
            "--tls-key",
            &orch_key,
            "--tls-ca-cert",
            &client_ca_arg,
        ],
    );
    assert!(orch.url().starts_with("https://"));
    let cli_tls = [
        "--tls-ca-cert".to_owned(),
        ca_pem.clone(),
        "--tls-client-cert".to_owned(),
        path(&cli_leaf.cert_path),
        "--tls-client-key".to_owned(),
        path(&cli_leaf.key_path),
    ];
    let cli = |args: &[&str]| {
        let mut all: Vec<&str> = cli_tls.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        orch.cli(&all)
    };
    let out = cli(&["initialize"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Plain HTTP is not served, and a CLI without a client certificate is refused.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/api/v1/status", orch.api_addr()))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
    let out = orch.cli(&["--tls-ca-cert", &ca_pem, "status"]);
    assert!(
        !out.status.success(),
        "a CLI without a client certificate got in"
    );

    // A proxy with a certificate from this CA registers over HTTPS and serves.
    let proxy_args = |leaf_cert: &str, leaf_key: &str| {
        vec![
            "--orchestrator-url".to_owned(),
            orch.url(),
            "--control-tls-cert".into(),
            leaf_cert.to_owned(),
            "--control-tls-key".into(),
            leaf_key.to_owned(),
            "--control-tls-ca".into(),
            ca_pem.clone(),
        ]
    };
    let mut cfg = ProxyConfig::new(
        shared().source.superuser_url("postgres"),
        t.superuser_url("postgres"),
    );
    cfg.extra_args = proxy_args(&path(&proxy_leaf.cert_path), &path(&proxy_leaf.key_path));
    let proxy = ProxyProcess::start(cfg);

    // Its control API needs a client certificate from the CA too.
    let roots =
        reqwest::Certificate::from_pem(&std::fs::read(&ca.cert_path).expect("ca")).expect("ca pem");
    let url = format!(
        "https://127.0.0.1:{}/api/v1/status",
        proxy.control_addr().port()
    );
    let anonymous = reqwest::Client::builder()
        .tls_certs_only([roots.clone()])
        .build()
        .expect("client");
    assert!(
        anonymous.get(&url).send().await.is_err(),
        "the control API answered without a client certificate"
    );
    let mut pem = std::fs::read(&orch_leaf.cert_path).expect("cert");
    pem.extend(std::fs::read(&orch_leaf.key_path).expect("key"));
    let orchestrator_like = reqwest::Client::builder()
        .tls_certs_only([roots])
        .identity(reqwest::Identity::from_pem(&pem).expect("identity"))
        .build()
        .expect("client");
    let resp = orchestrator_like
        .get(&url)
        .send()
        .await
        .expect("control API over mutual TLS");
    assert_eq!(resp.status(), 200);

    // A cutover runs over mutual TLS end to end: pushes, heartbeats and the CLI.
    let out = cli(&["cutover", "consistent", "begin", "--skip-check"]);
    assert!(
        out.status.success(),
        "begin: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        orch.log()
    );
    let out = cli(&["cutover", "consistent", "abort"]);
    assert!(
        out.status.success(),
        "abort: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A proxy whose certificate another CA signed never registers.
    let rogue_args = proxy_args(&path(&rogue.cert_path), &path(&rogue.key_path));
    let log = registration_refused(&rogue_args, &t.superuser_url("postgres"));
    assert!(
        log.contains("cannot register with the orchestrator"),
        "{log}"
    );
    // Nor does a proxy with a good certificate that claims the live proxy's address.
    let other = ca.issue(d, "proxy2", "proxy2", &["127.0.0.1"]);
    let mut claim = proxy_args(&path(&other.cert_path), &path(&other.key_path));
    claim.extend([
        "--advertise-address".to_owned(),
        proxy.sql_addr().to_string(),
    ]);
    let log = registration_refused(&claim, &t.superuser_url("postgres"));
    assert!(log.contains("address_taken"), "{log}");
    let status: molt_lms_api::cutover::OrchestratorStatus = orchestrator_like
        .get(format!("{}/api/v1/status", orch.url()))
        .send()
        .await
        .expect("status over mutual TLS")
        .json()
        .await
        .expect("status json");
    let registered: Vec<_> = status
        .proxies
        .iter()
        .map(|p| p.registration.lms_address.clone())
        .collect();
    assert_eq!(registered, vec![proxy.sql_addr().to_string()]);

    // The client CA rotated on disk takes effect without a restart: certificates the old
    // CA signed are refused from the next connection on.
    let out = cli(&["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(&other.cert_path, &client_ca).expect("rotate the CA");
    let out = cli(&["status"]);
    assert!(
        !out.status.success(),
        "a certificate of the replaced CA still got in"
    );
    assert!(
        orch.full_log().contains("control-plane client CA reloaded"),
        "{}",
        orch.log()
    );
}

#[test]
fn components_without_credentials_refuse_to_start() {
    let meta = shared().target.superuser_url("postgres");
    let out = Command::new(lms_bin("molt-lms-orchestrator"))
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .env("CRDB_URL", &meta)
        .env_remove("ORCH_CONTROL_TOKEN_FILE")
        .output()
        .expect("orchestrator");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ORCH_CONTROL_TOKEN_FILE") && err.contains("--insecure-control-plane"),
        "{err}"
    );
    assert!(!err.contains("postgres:postgres"), "{err}");

    let url = shared().source.superuser_url("postgres");
    let err = proxy_start_fails(&[], &url);
    assert!(
        err.contains("LMS_CONTROL_TOKEN_FILE") && err.contains("LMS_INSECURE_CONTROL_PLANE"),
        "{err}"
    );

    // A token that is too short names the file, not the token.
    let dir = TempDir::new("short");
    let short = dir.path().join("token");
    std::fs::write(&short, "abc").expect("write");
    let err = proxy_start_fails(
        &["--control-token-file", short.to_str().expect("utf-8")],
        &url,
    );
    assert!(
        err.contains("LMS_CONTROL_TOKEN_FILE")
            && err.contains("at least 16")
            && !err.contains("abc"),
        "{err}"
    );
}

/// Starts a proxy that must refuse to start (exit code 2); returns its stderr.
fn proxy_start_fails(extra: &[&str], url: &str) -> String {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--control-listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let env = [
        ("INIT_SOURCE".to_owned(), url.to_owned()),
        ("INIT_TARGET".to_owned(), url.to_owned()),
    ];
    let mut proxy = ProxyProcess::spawn_raw(args, &env);
    let status = proxy.wait().expect("wait");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut proxy.stderr.take().expect("stderr"), &mut err)
        .expect("read");
    assert_eq!(status.code(), Some(2), "{err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_landing_on_another_proxy_reaches_the_session() {
    use molt_lms_integration::relay::Relay;
    let mut env = CutoverEnv::start(1, &["--heartbeat-interval", "200ms"]);
    env.add_proxy();
    // Proxy 0 has heard from the orchestrator since proxy 1 registered, so it knows it.
    let since = std::time::Instant::now();
    let p0 = env.proxies[0].sql_addr().to_string();
    assert!(wait_until(Duration::from_secs(10), || env
        .status()
        .proxies
        .iter()
        .any(|p| p.registration.lms_address == p0
            && p.last_seen_secs < since.elapsed().as_secs_f64())));
    let service = Relay::round_robin(vec![env.proxies[0].sql_addr(), env.proxies[1].sql_addr()]);
    let conninfo = env.conninfo_at(service.addr().port());
    // Four sessions, alternately on proxy 0 and proxy 1, each in a long sleep.
    let mut sessions = Vec::new();
    for _ in 0..4 {
        let (c, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .expect("connect through the relay");
        tokio::spawn(conn);
        let token = c.cancel_token();
        let sleeping =
            tokio::spawn(async move { c.simple_query("SELECT pg_sleep(60)").await.map(|_| ()) });
        sessions.push((token, sleeping));
    }
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'";
    let source = &env.clusters.source;
    assert!(wait_until(Duration::from_secs(10), || source
        .psql(&env.db, running)
        == "4"));
    // One more connection shifts the turn: every cancel now lands on the proxy that does
    // not hold the session, which must pass it on.
    drop(std::net::TcpStream::connect(service.addr()).expect("shift the turn"));
    for (i, (token, sleeping)) in sessions.into_iter().enumerate() {
        let started = std::time::Instant::now();
        token
            .cancel_query(tokio_postgres::NoTls)
            .await
            .expect("send the cancel request");
        let outcome = tokio::time::timeout(Duration::from_secs(10), sleeping)
            .await
            .unwrap_or_else(|_| panic!("session {i} was not cancelled"))
            .expect("task");
        let err = outcome.expect_err("a cancelled sleep fails");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
            "session {i}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert!(wait_until(Duration::from_secs(10), || source
        .psql(&env.db, running)
        == "0"));
}

/// Starts a proxy with `args` that must fail to register; returns its log up to the
/// first refusal (the proxy keeps retrying, so it is killed then).
fn registration_refused(args: &[String], target_url: &str) -> String {
    let mut child = Command::new(lms_bin("molt-lms"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--control-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .env("INIT_SOURCE", shared().source.superuser_url("postgres"))
        .env("INIT_TARGET", target_url)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn proxy");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        log.push_str(&line);
        log.push('\n');
        if line.contains("cannot register with the orchestrator") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    log
}
