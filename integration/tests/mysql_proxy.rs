//! MySQL clients through the proxy (`--source-dialect mysql`) to a real MariaDB: the
//! `mariadb` client's output matches a direct run, logins are checked against the stored
//! hash, `KILL QUERY` with the proxy's connection id stops the right statement, and a
//! client that breaks the protocol loses only its own connection.

use molt_lms_integration::certs::{Leaf, TestCa};
use molt_lms_integration::fixture::http_get;
use molt_lms_integration::mariadb::{cli, MariaDb};
use molt_lms_integration::mysql_client::MyClient;
use molt_lms_integration::proxy::{ProxyConfig, ProxyProcess};
use molt_lms_integration::{wait_until, TempDir};
use molt_lms_wire::mysql::consts::capability::CLIENT_PROTOCOL_41;
use molt_lms_wire::mysql::consts::{command, header};
use molt_lms_wire::mysql::ErrPacket;
use std::io::Write;
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const APP_PASSWORD: &str = "app-s3cret";

/// One MariaDB and one proxy in front of it, shared by the tests of this file.
struct Env {
    db: MariaDb,
    proxy: ProxyProcess,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let db = MariaDb::start("mysqlproxy");
        db.create_user("lms", "lms-pw");
        db.create_user("app", APP_PASSWORD);
        let proxy = ProxyProcess::start(proxy_config(&db, None));
        Env { db, proxy }
    })
}

/// A MySQL-dialect proxy in front of `db` as the `lms` service user, with TLS for clients
/// when `tls` is given. The target is never dialled: MySQL sessions are not shadowed and
/// these tests commit no cutover.
fn proxy_config(db: &MariaDb, tls: Option<&Leaf>) -> ProxyConfig {
    let mut cfg = ProxyConfig {
        dialect: "mysql".into(),
        ..ProxyConfig::new(
            format!("mysql://lms:lms-pw@{}/", db.addr()),
            "postgresql://nobody@127.0.0.1:1/none",
        )
    };
    if let Some(leaf) = tls {
        cfg.env
            .push(("LMS_SSL_CERT".into(), leaf.cert_path.display().to_string()));
        cfg.env
            .push(("LMS_SSL_KEY".into(), leaf.key_path.display().to_string()));
    }
    cfg
}

fn run(addr: &str, user: &str, password: &str, db: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = cli(addr, user, password, db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write script");
    child.wait_with_output().expect("mariadb output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SCRIPT: &str = r#"
CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(12,3), at DATETIME(6), raw VARBINARY(16), note TEXT);
INSERT INTO t VALUES (1, 'one', 1.5, '2026-01-02 03:04:05.123456', X'00FF10', NULL), (2, 'zwei ✓', -22.125, '1999-12-31 23:59:59', '', 'x');
INSERT INTO t VALUES (9223372036854775807, 'max', 0, NULL, NULL, REPEAT('long ', 2000));
SELECT id, name, amount, at, HEX(raw), LENGTH(note) FROM t ORDER BY id;
SELECT * FROM no_such_table;
START TRANSACTION;
UPDATE t SET amount = amount + 1 WHERE id = 1;
SELECT @@in_transaction;
ROLLBACK;
SELECT amount FROM t WHERE id = 1;
BEGIN;
DELETE FROM t WHERE id = 2;
COMMIT;
SELECT COUNT(*) FROM t;
DELIMITER //
SELECT 1 AS a; SELECT 2 AS b; UPDATE t SET name = 'uno' WHERE id = 1//
DELIMITER ;
SELECT name FROM t WHERE id = 1;
USE information_schema;
SELECT DATABASE();
"#;

#[test]
fn the_mariadb_client_sees_the_same_through_the_proxy_as_directly() {
    let env = env();
    env.db
        .sql("CREATE DATABASE direct_run; CREATE DATABASE proxied_run");
    let args = ["--force", "--table", "--verbose"];
    let direct = run(
        &env.db.addr(),
        "app",
        APP_PASSWORD,
        "direct_run",
        &args,
        SCRIPT,
    );
    let proxy_addr = env.proxy.sql_addr().to_string();
    let proxied = run(
        &proxy_addr,
        "app",
        APP_PASSWORD,
        "proxied_run",
        &args,
        SCRIPT,
    );
    let norm = |o: &Output| {
        (
            text(&o.stdout)
                .replace("direct_run", "DB")
                .replace("proxied_run", "DB"),
            text(&o.stderr)
                .replace("direct_run", "DB")
                .replace("proxied_run", "DB"),
        )
    };
    let (d, p) = (norm(&direct), norm(&proxied));
    assert!(
        d.1.contains("ERROR 1146 (42S02)"),
        "the script's error, directly: {}",
        d.1
    );
    assert_eq!(d.0, p.0, "stdout differs");
    assert_eq!(d.1, p.1, "stderr differs");
    assert_eq!(direct.status.code(), proxied.status.code());
    assert!(p.0.contains("zwei ✓") && p.0.contains("9223372036854775807"));
}

#[test]
fn logins_are_checked_against_the_stored_hash() {
    let env = env();
    let addr = env.proxy.sql_addr().to_string();
    let ok = run(
        &addr,
        "app",
        APP_PASSWORD,
        "",
        &["-N", "-e", "SELECT CURRENT_USER()"],
        "",
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "app@%");
    // Clients that open with another method (MySQL 8's caching_sha2_password, its
    // sha256_password, cleartext) are switched to mysql_native_password and log in.
    for plugin in [
        "caching_sha2_password",
        "sha256_password",
        "mysql_clear_password",
    ] {
        let auth = format!("--default-auth={plugin}");
        let out = run(
            &addr,
            "app",
            APP_PASSWORD,
            "",
            &[&auth, "-N", "-e", "SELECT CURRENT_USER()"],
            "",
        );
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "app@%", "{plugin}");
        let wrong = run(&addr, "app", "wrong", "", &[&auth, "-e", "SELECT 1"], "");
        assert!(
            text(&wrong.stderr).contains("ERROR 1045 (28000)"),
            "{plugin}: {}",
            text(&wrong.stderr)
        );
    }
    // The cleartext client sent its password in its first answer: the proxy never logs it.
    assert!(!env.proxy.stderr_log().contains(APP_PASSWORD));
    for (user, password) in [("app", "wrong"), ("nobody", "whatever"), ("app", "")] {
        let out = run(&addr, user, password, "", &["-e", "SELECT 1"], "");
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains("ERROR 1045 (28000)") && err.contains(&format!("'{user}'")),
            "{user}/{password}: {err}"
        );
        assert!(
            !err.contains(password) || password.is_empty(),
            "the password is not echoed"
        );
    }
}

#[test]
fn kill_query_with_the_proxy_connection_id_stops_that_statement_only() {
    let env = env();
    let addr = env.proxy.sql_addr().to_string();
    let mut victim = MyClient::login(&addr, "app", APP_PASSWORD);
    let mut bystander = MyClient::login(&addr, "app", APP_PASSWORD);
    let id = victim.greeting.connection_id;
    let backend_thread: u32 = victim
        .query_value("SELECT CONNECTION_ID()")
        .expect("CONNECTION_ID()")
        .parse()
        .expect("a number");
    assert_ne!(id, backend_thread, "the proxy gives its own connection ids");
    let sleeper = std::thread::spawn(move || {
        let r = victim.query_value("SELECT SLEEP(20) AS killed");
        (r, victim)
    });
    let other = std::thread::spawn(move || bystander.query_value("SELECT SLEEP(2) AS slept"));
    let running = || {
        env.db.sql(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(%'",
        ) == "2"
    };
    assert!(
        wait_until(Duration::from_secs(20), running),
        "both sleeps run on the source"
    );
    let out = run(
        &addr,
        "app",
        APP_PASSWORD,
        "",
        &["-e", &format!("KILL QUERY {id}")],
        "",
    );
    assert!(
        out.status.success(),
        "KILL QUERY {id}: {}",
        text(&out.stderr)
    );
    // SLEEP returns 1 when it was interrupted, 0 when it ran its course.
    let (killed, mut victim) = sleeper.join().expect("thread");
    let killed = killed.expect_err("the victim's statement was killed");
    assert_eq!(
        (killed.code, killed.sql_state),
        (1317, Some(*b"70100")),
        "{}",
        killed.message
    );
    assert_eq!(
        victim.query_value("SELECT 'alive'").expect("a value"),
        "alive",
        "only the statement ended"
    );
    // SLEEP returns 0 when it ran its course.
    assert_eq!(
        other.join().expect("thread").expect("a value"),
        "0",
        "the other session's statement ran on"
    );
    let unknown = run(
        &addr,
        "app",
        APP_PASSWORD,
        "",
        &["-e", "KILL QUERY 123456789"],
        "",
    );
    assert!(
        text(&unknown.stderr).contains("ERROR 1094"),
        "an id the proxy does not know reaches no thread: {}",
        text(&unknown.stderr)
    );
}

#[test]
fn a_malformed_packet_closes_only_its_own_connection() {
    let env = env();
    let addr = env.proxy.sql_addr().to_string();
    let mut healthy = MyClient::login(&addr, "app", APP_PASSWORD);

    // A handshake response that is not one.
    let mut bad = MyClient::connect(&addr);
    bad.send(&[0xFF; 40], 1);
    let answer = bad.read(2);
    if let Some((p, _)) = &answer {
        assert_eq!(p[0], header::ERR, "an ERR before closing");
    }
    assert!(bad.read(3).is_none(), "closed after a broken handshake");

    // A handshake response past the 64 KiB a client may send before it is logged in.
    let mut big = MyClient::connect(&addr);
    big.send(&vec![0x41; 70_000], 1);
    let (p, _) = big.read(2).expect("an ERR");
    let err = ErrPacket::decode(&p, CLIENT_PROTOCOL_41).expect("an ERR");
    assert!(err.message.contains("65536-byte limit"), "{}", err.message);
    assert!(big.read(3).is_none(), "closed");

    // A command with the wrong sequence id.
    let mut out_of_order = MyClient::login(&addr, "app", APP_PASSWORD);
    out_of_order.send(&[command::COM_QUERY, b'1'], 5);
    let (p, _) = out_of_order.read(1).expect("an ERR");
    let err = ErrPacket::decode(&p, CLIENT_PROTOCOL_41).expect("an ERR");
    assert_eq!(err.code, 1835, "{}", err.message);
    assert!(out_of_order.read(2).is_none(), "closed");

    assert_eq!(healthy.query_value("SELECT 40 + 2").expect("a value"), "42");
    let (code, metrics) = http_get(env.proxy.admin_addr(), "/metrics");
    assert_eq!(code, 200);
    let figure = |series: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
    };
    assert!(figure("lms_client_errors_total{kind=\"protocol_violation\",protocol=\"mysql\"}") >= 2);
    assert!(figure("lms_queries_total{backend=\"source\",outcome=\"ok\",protocol=\"mysql\"}") >= 1);
}

/// The number after `label` in sysbench's summary (`ignored errors:  0  (0.00 per sec.)`).
fn sysbench_figure(out: &str, label: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// sysbench's default list of errors it retries: deadlock (1213), lock wait timeout (1205)
/// and 1020 (record changed). They are the database's answers to conflicting writers, which
/// four threads on small tables meet now and then, directly as through the proxy; any other
/// error fails sysbench.
const SYSBENCH_RETRIED: &str = "--mysql-ignore-errors=1213,1205,1020";

#[test]
fn sysbench_oltp_read_write_through_the_proxy_has_no_errors() {
    let env = env();
    env.db.sql("CREATE DATABASE sbtest");
    // A proxy of its own, so that its error counters hold this load only.
    let proxy = ProxyProcess::start(proxy_config(&env.db, None));
    let port = format!("--mysql-port={}", proxy.sql_port());
    let password = format!("--mysql-password={APP_PASSWORD}");
    let common = [
        "oltp_read_write",
        "--db-driver=mysql",
        "--mysql-host=127.0.0.1",
        &port,
        "--mysql-user=app",
        &password,
        "--mysql-db=sbtest",
        "--tables=2",
        "--table-size=2000",
        SYSBENCH_RETRIED,
    ];
    let sysbench = |extra: &[&str]| {
        let out = std::process::Command::new("sysbench")
            .args(common)
            .args(extra)
            .output()
            .expect("run sysbench (CI installs it)");
        let text = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "sysbench {extra:?}:\n{text}");
        text
    };
    sysbench(&["prepare"]);
    let run = sysbench(&["--threads=4", "--events=400", "--time=0", "run"]);
    assert_eq!(sysbench_figure(&run, "transactions:"), Some(400), "{run}");
    assert_eq!(sysbench_figure(&run, "reconnects:"), Some(0), "{run}");
    // Nothing the proxy answered by itself: every error a client saw came from the server.
    let (code, metrics) = http_get(proxy.admin_addr(), "/metrics");
    assert_eq!(code, 200);
    let proxy_errors: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("lms_client_errors_total{") && !l.ends_with(" 0"))
        .collect();
    assert!(proxy_errors.is_empty(), "{proxy_errors:?}\n{run}");
}

#[test]
fn tls_clients_verify_the_proxy_with_the_same_settings_as_postgresql_clients() {
    let env = env();
    let dir = TempDir::new("mysql-tls");
    let ca = TestCa::new(dir.path(), "mysqlproxy");
    let server = ca.issue(dir.path(), "proxy", "molt-lms", &["localhost", "127.0.0.1"]);
    let other = TestCa::new(dir.path(), "other");
    let proxy = ProxyProcess::start(proxy_config(&env.db, Some(&server)));
    let addr = proxy.sql_addr().to_string();
    let tls = |ca: &std::path::Path| {
        let ca = format!("--ssl-ca={}", ca.display());
        run(
            &addr,
            "app",
            APP_PASSWORD,
            "",
            &["--ssl", &ca, "--ssl-verify-server-cert", "-e", "status"],
            "",
        )
    };
    let ok = tls(&ca.cert_path);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("Cipher in use is"),
        "{}",
        text(&ok.stdout)
    );
    let refused = tls(&other.cert_path);
    assert!(!refused.status.success(), "a foreign CA must not verify");
    let plain = run(
        &addr,
        "app",
        APP_PASSWORD,
        "",
        &["-N", "-e", "SELECT 'plain'"],
        "",
    );
    assert_eq!(
        text(&plain.stdout).trim(),
        "plain",
        "{}",
        text(&plain.stderr)
    );

    // With --require-tls a plain login gets 3159, as from a server that requires secure
    // transport; a TLS login goes on.
    let mut cfg = proxy_config(&env.db, Some(&server));
    cfg.extra_args.push("--require-tls".into());
    let strict = ProxyProcess::start(cfg);
    let strict_addr = strict.sql_addr().to_string();
    let plain = run(
        &strict_addr,
        "app",
        APP_PASSWORD,
        "",
        &["--skip-ssl", "-e", "SELECT 1"],
        "",
    );
    let err = text(&plain.stderr);
    assert!(
        err.contains("ERROR 3159") && err.contains("requires TLS"),
        "{err}"
    );
    let ca_arg = format!("--ssl-ca={}", ca.cert_path.display());
    let ok = run(
        &strict_addr,
        "app",
        APP_PASSWORD,
        "",
        &["--ssl", &ca_arg, "-N", "-e", "SELECT 'tls'"],
        "",
    );
    assert_eq!(text(&ok.stdout).trim(), "tls", "{}", text(&ok.stderr));
}

#[test]
fn local_infile_ping_and_statistics_are_relayed() {
    let env = env();
    env.db
        .sql("CREATE DATABASE loaded; CREATE TABLE loaded.t (id INT, name VARCHAR(20))");
    let dir = TempDir::new("mysql-infile");
    let csv = dir.path().join("rows.csv");
    let body: String = (0..5000).map(|i| format!("{i},name-{i}\n")).collect();
    std::fs::write(&csv, body).expect("write csv");
    let addr = env.proxy.sql_addr().to_string();
    let load = format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE t FIELDS TERMINATED BY ','; SELECT COUNT(*), SUM(id) FROM t",
        csv.display()
    );
    let out = run(
        &addr,
        "app",
        APP_PASSWORD,
        "loaded",
        &["--local-infile=1", "-N", "-e", &load],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "5000\t12497500");

    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let admin = |cmd: &str| {
        std::process::Command::new("mariadb-admin")
            .args([
                "--no-defaults",
                "--protocol=TCP",
                "-h",
                host,
                "-P",
                port,
                "-u",
                "app",
            ])
            .arg(format!("--password={APP_PASSWORD}"))
            .arg(cmd)
            .output()
            .expect("run mariadb-admin")
    };
    let ping = admin("ping");
    assert!(
        text(&ping.stdout).contains("is alive"),
        "{}",
        text(&ping.stderr)
    );
    let status = admin("status");
    assert!(
        text(&status.stdout).contains("Uptime:"),
        "{}",
        text(&status.stderr)
    );
}

/// A client that sends its TLS ClientHello in the same write as its SSLRequest, as MySQL
/// clients may (they do not wait for an answer): the proxy must hand those bytes to TLS.
#[test]
fn a_tls_handshake_sent_right_behind_the_ssl_request_is_accepted() {
    use molt_lms_proxy_actors::auth::mysql_native::{client_token, key_from_password};
    use molt_lms_wire::mysql::consts::capability::*;
    use molt_lms_wire::mysql::{HandshakeResponse41, HandshakeV10, SslRequest};
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write as _};

    let env = env();
    let dir = TempDir::new("mysql-tls-pipelined");
    let ca = TestCa::new(dir.path(), "pipelined");
    let server = ca.issue(dir.path(), "proxy", "molt-lms", &["localhost"]);
    let proxy = ProxyProcess::start(proxy_config(&env.db, Some(&server)));

    let mut tcp = std::net::TcpStream::connect(proxy.sql_addr()).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = Vec::new();
    let mut read_packet = |s: &mut dyn Read, seq: u8| loop {
        if let Some(p) = molt_lms_wire::mysql::read_payload(&buf, seq, 1 << 20).expect("framed") {
            let out = p.bytes.into_owned();
            buf.drain(..p.consumed);
            return out;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    let greeting = HandshakeV10::decode(&read_packet(&mut tcp, 0)).expect("greeting");
    assert!(greeting.capabilities & CLIENT_SSL != 0);
    let caps = CLIENT_PROTOCOL_41
        | CLIENT_SECURE_CONNECTION
        | CLIENT_PLUGIN_AUTH
        | CLIENT_TRANSACTIONS
        | CLIENT_SSL;
    let mut first = Vec::new();
    let request = SslRequest {
        capabilities: caps,
        max_packet_size: 1 << 24,
        character_set: 45,
        mariadb_capabilities: 0,
    };
    molt_lms_wire::mysql::packet::put_packet(&mut first, 1, |o| request.encode(o));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_file(&ca.cert_path).expect("ca pem"))
        .expect("root");
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("tls");
    conn.write_tls(&mut first).expect("client hello");
    tcp.write_all(&first)
        .expect("SSLRequest and ClientHello in one write");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let token = client_token(
        &key_from_password(APP_PASSWORD),
        &greeting.auth_plugin_data[..20],
    );
    let response = HandshakeResponse41 {
        capabilities: caps,
        max_packet_size: 1 << 24,
        character_set: 45,
        username: "app".into(),
        auth_response: token.to_vec(),
        auth_plugin_name: "mysql_native_password".into(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut encoded = Ok(());
    molt_lms_wire::mysql::packet::put_packet(&mut out, 2, |o| encoded = response.encode(o));
    encoded.expect("encodable");
    tls.write_all(&out).expect("response over TLS");
    let ok = read_packet(&mut tls, 3);
    assert_eq!(ok[0], 0x00, "logged in over TLS: {ok:?}");
}
