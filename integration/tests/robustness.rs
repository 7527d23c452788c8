//! Bad input and failures stay contained: garbage closes one connection, a lost backend
//! gives a clear error, bad configuration fails at start-up naming the key, and no
//! password shows up in logs or status output.

use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::raw::RawConn;
use molt_lms_integration::{shared, wait_until, ProxyConfig, ProxyProcess, TempDir};
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::codec::put_message;
use molt_lms_wire::pg::frontend::startup_message;
use std::io::Write;
use std::time::{Duration, Instant};

fn expect_fatal(c: &mut RawConn, code: &str) -> String {
    loop {
        match c.read_message() {
            Some((b'E', body)) => {
                let (got, msg) = error_fields(&body);
                assert_eq!(got, code, "{msg}");
                assert!(
                    c.read_message().is_none(),
                    "connection stays open after {code}"
                );
                return msg;
            }
            Some(_) => continue,
            None => panic!("connection closed without an ErrorResponse {code}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_malformed_messages_close_only_that_connection() {
    let env = ProxyEnv::start();
    let bystander = env.client(Via::Proxy).await;
    // Random bytes instead of a startup packet.
    let mut c = RawConn::connect(env.proxy.sql_addr());
    c.send(b"\x16\x03\x01 this is not PostgreSQL \xff\xfe\x00\x01 GET / HTTP/1.1\r\n\r\n");
    expect_fatal(&mut c, "08P01");
    // A valid session, then a message whose length field is impossible.
    let mut c =
        RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db).expect("login");
    c.send(b"Q\x00\x00\x00\x02");
    expect_fatal(&mut c, "08P01");
    // A valid session, then an unknown message type.
    let mut c =
        RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db).expect("login");
    let mut msg = Vec::new();
    put_message(&mut msg, b'z', |o| o.extend_from_slice(b"junk"));
    c.send(&msg);
    let text = expect_fatal(&mut c, "08P01");
    assert!(text.contains("invalid frontend message type"), "{text}");
    // A startup packet that names the user twice: PostgreSQL would log in the last one,
    // so the proxy must not authenticate the first.
    let mut c = RawConn::connect(env.proxy.sql_addr());
    c.send(&startup_message(&[
        ("user".into(), env.user.clone()),
        ("database".into(), env.db.clone()),
        ("user".into(), "postgres".into()),
    ]));
    let text = expect_fatal(&mut c, "08P01");
    assert!(text.contains("\"user\" given more than once"), "{text}");
    // An authentication answer past PostgreSQL's 64 KiB token limit, before any login.
    let mut c = RawConn::connect(env.proxy.sql_addr());
    c.send(&startup_message(&[
        ("user".into(), env.user.clone()),
        ("database".into(), env.db.clone()),
    ]));
    let (tag, _) = c.read_message().expect("an authentication request");
    assert_eq!(tag, b'R');
    let mut huge = vec![b'p'];
    huge.extend_from_slice(&(100_004u32).to_be_bytes());
    huge.extend_from_slice(&[b'x'; 100_000]);
    c.send(&huge);
    let text = expect_fatal(&mut c, "08P01");
    assert!(text.contains("length"), "{text}");
    // A truncated message followed by a hang-up.
    let mut c =
        RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db).expect("login");
    c.send(b"Q\x00\x00\x10\x00SELECT");
    c.stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    assert!(c.read_message().is_none());
    // Everyone else is fine.
    let v: i32 = bystander
        .query_one("SELECT 41 + 1", &[])
        .await
        .expect("bystander")
        .get(0);
    assert_eq!(v, 42);
    assert_eq!(
        env.psql(Via::Proxy, "SELECT 'still serving'"),
        "still serving"
    );
    let (_, metrics) = env.admin_get("/metrics");
    let protocol_errors = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lms_protocol_errors_total{protocol=\"postgresql\"} "))
        .expect("protocol error metric");
    assert_eq!(protocol_errors, "5");
    let client_errors = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "lms_client_errors_total{kind=\"protocol_violation\",protocol=\"postgresql\"} ",
            )
        })
        .expect("client error metric");
    assert_eq!(client_errors, "5");
}

#[test]
fn an_unreachable_backend_is_a_clear_error_not_a_hang() {
    let clusters = shared();
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = dead.local_addr().expect("addr").port();
    drop(dead);
    let proxy = ProxyProcess::start(ProxyConfig::new(
        format!("postgresql://postgres:postgres@127.0.0.1:{dead_port}/postgres"),
        clusters.target.superuser_url("postgres"),
    ));
    let started = Instant::now();
    let err = RawConn::login(proxy.sql_addr(), "postgres", "postgres", "postgres")
        .err()
        .expect("refused");
    assert_eq!(err.0, "08006");
    assert!(err.1.contains("source database"), "{}", err.1);
    assert!(
        !err.1.contains(&dead_port.to_string()),
        "client message leaks the address: {}",
        err.1
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, _) = molt_lms_integration::fixture::http_get(proxy.admin_addr(), "/healthz");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_session_killed_on_the_server_ends_only_that_client() {
    let env = ProxyEnv::start();
    let victim = env.client(Via::Proxy).await;
    let other = env.client(Via::Proxy).await;
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    env.clusters
        .source
        .psql("postgres", &format!("SELECT pg_terminate_backend({pid})"));
    let err = victim
        .query_one("SELECT 1", &[])
        .await
        .expect_err("terminated");
    assert!(
        err.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN) || err.is_closed(),
        "{err}"
    );
    let v: i32 = other
        .query_one("SELECT 7", &[])
        .await
        .expect("other session")
        .get(0);
    assert_eq!(v, 7);
}

#[test]
fn bad_configuration_fails_at_start_up_naming_the_key_without_secrets() {
    let dir = TempDir::new("badcfg");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        // Defaults first, so a case's own value for the same variable wins.
        let mut all_env = vec![
            ("LMS_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("LMS_METRICS_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ];
        all_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut child = ProxyProcess::spawn_raw(args, &all_env);
        let exited = wait_until(Duration::from_secs(15), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        if !exited {
            let _ = child.kill();
        }
        let out = child.wait_with_output().expect("run");
        assert!(
            exited,
            "molt-lms {args:?} {env:?} started instead of failing"
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let good = "postgresql://svc:pw@127.0.0.1:5/db";
    /// Flags, environment, and the text the error must contain.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], vec![], "INIT_SOURCE: missing"),
        (vec![], vec![("INIT_SOURCE", good)], "INIT_TARGET: missing"),
        (
            vec![],
            vec![("INIT_SOURCE", "postgresql://svc:hunter2@/db"), ("INIT_TARGET", good)],
            "INIT_SOURCE: not a valid URL (empty host)",
        ),
        (
            vec![],
            vec![("INIT_SOURCE", "mysql://svc:hunter2@h/db"), ("INIT_TARGET", good)],
            "INIT_SOURCE: mysql URL does not match dialect 'postgres'",
        ),
        (
            vec![],
            vec![("INIT_SOURCE", "postgresql://svc:hunter2@h/db?sslmode=sometimes"), ("INIT_TARGET", good)],
            "INIT_SOURCE: invalid sslmode",
        ),
        (
            vec![],
            vec![("INIT_SOURCE", "postgresql://svc:hunter2@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"), ("INIT_TARGET", good)],
            "INIT_SOURCE: cannot read certificate file /nonexistent/ca.crt",
        ),
        (
            vec![],
            vec![("INIT_SOURCE", good), ("INIT_TARGET", good), ("LMS_SSL_CERT", "/nonexistent/cert.pem"), ("LMS_SSL_KEY", "/nonexistent/key.pem")],
            "LMS_SSL_CERT: cannot read certificate file",
        ),
        (vec!["--shadow-mode", "sideways"], vec![], "--shadow-mode"),
        (
            vec!["--require-tls"],
            vec![("INIT_SOURCE", good), ("INIT_TARGET", good)],
            "LMS_REQUIRE_TLS: needs LMS_SSL_CERT and LMS_SSL_KEY",
        ),
        (
            vec!["--cancel-rate-limit", "0"],
            vec![("INIT_SOURCE", good), ("INIT_TARGET", good)],
            "LMS_CANCEL_RATE_LIMIT: must be at least 1",
        ),
        (
            vec!["--max-client-connections", "0"],
            vec![("INIT_SOURCE", good), ("INIT_TARGET", good)],
            "LMS_MAX_CLIENT_CONNECTIONS: must be at least 1",
        ),
        (
            vec!["--mysql-target-logins", "/nonexistent/logins.json"],
            vec![("INIT_SOURCE", good), ("INIT_TARGET", good)],
            "LMS_MYSQL_TARGET_LOGINS: only applies with source dialect mysql",
        ),
        (
            vec!["--source-dialect", "mysql", "--mysql-target-logins", "/nonexistent/logins.json"],
            vec![("INIT_SOURCE", "mysql://svc:hunter2@h/"), ("INIT_TARGET", good)],
            "LMS_MYSQL_TARGET_LOGINS: cannot read /nonexistent/logins.json",
        ),
        (vec![], vec![("INIT_SOURCE", good), ("INIT_TARGET", good), ("LMS_LISTEN", "nowhere")], "--listen"),
    ];
    for (args, env, expected) in cases {
        let (code, stderr) = run(&args, &env);
        assert_eq!(code, Some(2), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    }
    // Unknown keys in config.json are named.
    let path = dir.path().join("config.json");
    let mut f = std::fs::File::create(&path).expect("config");
    write!(
        f,
        r#"{{"INIT_SOURCE": "{good}", "INIT_TARGET": "{good}", "INIT_TAGRET": "x"}}"#
    )
    .expect("write");
    let (code, stderr) = run(&["--config", path.to_str().expect("utf8")], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("INIT_TAGRET: unknown key in config.json"),
        "{stderr}"
    );
}

#[test]
fn passwords_never_appear_in_logs_status_or_connection_lists() {
    let clusters = shared();
    let secret = "Sv3-Service-S3cret";
    clusters.source.psql(
        "postgres",
        &format!(
            "CREATE ROLE lms_service_{} SUPERUSER LOGIN PASSWORD '{secret}'",
            std::process::id()
        ),
    );
    let svc = format!("lms_service_{}", std::process::id());
    let env = ProxyEnv::start_with(|mut c| {
        c.source_url = clusters.source.url(&svc, secret, "postgres");
        c.env.push(("RUST_LOG".into(), "debug".into()));
        c.extra_args.extend(["--log-format".into(), "json".into()]);
        c
    });
    assert_eq!(env.psql(Via::Proxy, "SELECT 1"), "1");
    let _ = RawConn::login(env.proxy.sql_addr(), &env.user, "wrong-Pa55word", &env.db);
    let (_, status) = env.admin_get("/api/v1/status");
    let (_, conns) = env.admin_get("/api/v1/connections");
    let (_, metrics) = env.admin_get("/metrics");
    let log = env.proxy.stderr_log();
    // --log-format json: every line one object; a connection's lines carry its id.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l.get("level").is_some() && l.get("timestamp").is_some()));
    assert!(
        lines.iter().any(|l| l.get("conn").is_some()),
        "no line names its connection:\n{log}"
    );
    for (what, text) in [
        ("status", &status),
        ("connections", &conns),
        ("metrics", &metrics),
        ("log", &log),
    ] {
        for s in [secret, env.password.as_str(), "wrong-Pa55word"] {
            assert!(!text.contains(s), "{what} contains a password:\n{text}");
        }
    }
    let status: molt_lms_api::ProxyStatus = serde_json::from_str(&status).expect("status json");
    assert_eq!(
        status.source_address,
        format!("127.0.0.1:{}", clusters.source.port())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_database_that_never_answers_does_not_stall_logins() {
    let stalled = molt_lms_integration::stalled_listener();
    let env = ProxyEnv::start_with(|mut c| {
        c.target_url =
            format!("postgresql://postgres@127.0.0.1:{stalled}/postgres?sslmode=disable");
        c.shadow_mode = "async".into();
        c.extra_args
            .extend(["--backend-login-timeout".into(), "1s".into()]);
        c
    });
    let login = tokio::time::timeout(Duration::from_secs(20), env.client(Via::Proxy)).await;
    let client = login.expect("the login finishes without its shadow");
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(one, 1);
    let (_, metrics) = env.admin_get("/metrics");
    let failed = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lms_shadow_sessions_failed_total{protocol=\"postgresql\"} "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("shadow failure metric");
    assert!(failed >= 1, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_maximum_are_refused_with_53300_until_one_closes() {
    let env = ProxyEnv::start_with(|mut c| {
        c.extra_args
            .extend(["--max-client-connections".into(), "2".into()]);
        c
    });
    let first = env.client(Via::Proxy).await;
    let _second = env.client(Via::Proxy).await;
    let conninfo = env.conninfo(Via::Proxy);
    let connect = || tokio_postgres::connect(&conninfo, tokio_postgres::NoTls);
    let err = connect()
        .await
        .err()
        .expect("a third connection is refused");
    let code = err.as_db_error().map(|d| d.code().code().to_owned());
    assert_eq!(code.as_deref(), Some("53300"), "{err}");
    drop(first);
    let freed = molt_lms_integration::wait_until_async(Duration::from_secs(10), || async {
        connect().await.is_ok()
    })
    .await;
    assert!(freed, "a slot frees when a connection closes");
    let (_, metrics) = env.admin_get("/metrics");
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "lms_client_errors_total{kind=\"too_many_connections\",protocol=\"postgresql\"} "
        ) && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_requests_past_the_per_address_rate_are_dropped_and_counted() {
    use std::io::Read;
    let env = ProxyEnv::start_with(|mut c| {
        c.extra_args
            .extend(["--cancel-rate-limit".into(), "5".into()]);
        c
    });
    // Guesses at keys, as fast as one address can connect.
    for guess in 0..40 {
        let mut s = std::net::TcpStream::connect(env.proxy.sql_addr()).expect("connect");
        s.write_all(&molt_lms_wire::pg::frontend::cancel_request(1, guess))
            .expect("cancel request");
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    let (_, metrics) = env.admin_get("/metrics");
    let limited: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lms_cancel_requests_limited_total{protocol=\"postgresql\"} "))
        .and_then(|v| v.parse().ok())
        .expect("the limit's metric");
    assert!(
        limited >= 20,
        "a burst of 10, then 5 a second: {limited} of 40 dropped"
    );
    assert_eq!(env.psql(Via::Proxy, "SELECT 'served'"), "served");
    // Keys of connections opened one after the other share the proxy's tag (the upper
    // half) and nothing else: the lower half is random, not the connection's number.
    let pids: Vec<i32> = (0..4)
        .map(|_| {
            let c = RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db)
                .expect("login");
            c.key.expect("a cancel key").0
        })
        .collect();
    assert!(pids.iter().all(|p| p >> 16 == pids[0] >> 16), "{pids:?}");
    let lows: Vec<i32> = pids.iter().map(|p| p & 0xFFFF).collect();
    assert!(
        lows.windows(2).any(|w| w[1] - w[0] != 1),
        "sequential process ids: {pids:?}"
    );
}
