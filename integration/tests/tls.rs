//! TLS with clients (server certificate, optional client certificates) and with backends
//! (`sslmode=verify-full` verifies).

use molt_lms_integration::certs::TestCa;
use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::{shared, PgCluster, PgOptions, ProxyConfig, ProxyProcess, TempDir};
use std::process::Command;

fn psql_tls(env: &ProxyEnv, conn: &str) -> Result<String, String> {
    let out = env
        .pg_command("psql", Via::Proxy)
        .env_remove("PGSSLMODE")
        .env_remove("PGHOST")
        .args([
            "-X",
            "-At",
            "-d",
            conn,
            "-c",
            "SELECT 'over tls'",
            "-c",
            "\\conninfo",
        ])
        .output()
        .expect("psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn clients_connect_over_tls_and_verify_the_proxy() {
    let dir = TempDir::new("tls-client");
    let ca = TestCa::new(dir.path(), "proxy");
    let server = ca.issue(dir.path(), "proxy", "molt-lms", &["localhost", "127.0.0.1"]);
    let other_ca = TestCa::new(dir.path(), "other");
    let env = ProxyEnv::start_with(|mut c| {
        c.env.push((
            "LMS_SSL_CERT".into(),
            server.cert_path.display().to_string(),
        ));
        c.env
            .push(("LMS_SSL_KEY".into(), server.key_path.display().to_string()));
        c
    });
    let port = env.proxy.sql_port();
    let ok = psql_tls(
        &env,
        &format!(
            "host=localhost port={port} sslmode=verify-full sslrootcert={}",
            ca.cert_path.display()
        ),
    )
    .expect("verify-full against the proxy's CA");
    assert!(ok.contains("over tls"));
    assert!(ok.contains("SSL connection (protocol: TLSv1."), "{ok}");
    let err = psql_tls(
        &env,
        &format!(
            "host=localhost port={port} sslmode=verify-full sslrootcert={}",
            other_ca.cert_path.display()
        ),
    )
    .expect_err("a foreign CA must not verify");
    assert!(err.contains("certificate verify failed"), "{err}");
    // Plain connections still work when the client does not ask for TLS.
    assert_eq!(env.psql(Via::Proxy, "SELECT 'plain'"), "plain");
}

#[test]
fn client_certificates_are_required_when_a_ca_is_configured() {
    let dir = TempDir::new("tls-mtls");
    let ca = TestCa::new(dir.path(), "mtls");
    let server = ca.issue(dir.path(), "proxy", "molt-lms", &["localhost"]);
    let client = ca.issue(dir.path(), "client", "app", &["app"]);
    let env = ProxyEnv::start_with(|mut c| {
        c.env.push((
            "LMS_SSL_CERT".into(),
            server.cert_path.display().to_string(),
        ));
        c.env
            .push(("LMS_SSL_KEY".into(), server.key_path.display().to_string()));
        c.env
            .push(("LMS_SSL_CA".into(), ca.cert_path.display().to_string()));
        c
    });
    let base = format!(
        "host=localhost port={} sslmode=verify-full sslrootcert={}",
        env.proxy.sql_port(),
        ca.cert_path.display()
    );
    assert!(
        psql_tls(&env, &base).is_err(),
        "no client certificate must be refused"
    );
    // Client certificates are checked over TLS only, so a plain login is refused.
    let plain = psql_tls(
        &env,
        &format!(
            "host=localhost port={} sslmode=disable",
            env.proxy.sql_port()
        ),
    )
    .expect_err("a plain login with a CA configured");
    assert!(plain.contains("requires TLS"), "{plain}");
    let with_cert = format!(
        "{base} sslcert={} sslkey={}",
        client.cert_path.display(),
        client.key_path.display()
    );
    assert!(psql_tls(&env, &with_cert)
        .expect("client certificate accepted")
        .contains("over tls"));
}

#[test]
fn backend_tls_verify_full_verifies_the_server() {
    let dir = TempDir::new("tls-backend");
    let ca = TestCa::new(dir.path(), "db");
    let leaf = ca.issue(
        dir.path(),
        "server",
        "localhost",
        &["localhost", "127.0.0.1"],
    );
    let wrong_ca = TestCa::new(dir.path(), "wrong");
    // The server reads its key as the postgres user.
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir.path())
        .status()
        .expect("chown");
    assert!(status.success() || !is_root());
    let db = PgCluster::start(
        "tlsdb",
        PgOptions {
            extra_conf: vec![
                "ssl = on".into(),
                format!("ssl_cert_file = '{}'", leaf.cert_path.display()),
                format!("ssl_key_file = '{}'", leaf.key_path.display()),
            ],
            ..PgOptions::default()
        },
    );
    let url = |ca: &std::path::Path| {
        format!(
            "postgresql://postgres:postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
            db.port(),
            ca.display()
        )
    };
    let proxy = ProxyProcess::start(ProxyConfig::new(
        url(&ca.cert_path),
        shared().target.superuser_url("postgres"),
    ));
    let out = Command::new(molt_lms_integration::bins::pg_bin("psql"))
        .env("PGPASSWORD", "postgres")
        .args([
            "-X",
            "-At",
            "-h",
            "127.0.0.1",
            "-p",
            &proxy.sql_port().to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args([
            "-c",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        proxy.stderr_log()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "t",
        "backend session is encrypted"
    );

    let proxy = ProxyProcess::start(ProxyConfig::new(
        url(&wrong_ca.cert_path),
        shared().target.superuser_url("postgres"),
    ));
    let err = molt_lms_integration::raw::RawConn::login(
        proxy.sql_addr(),
        "postgres",
        "postgres",
        "postgres",
    )
    .err()
    .expect("an unverifiable server is refused");
    assert_eq!(err.0, "08006");
    assert!(
        proxy.stderr_log().to_lowercase().contains("certificate"),
        "{}",
        proxy.stderr_log()
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn require_tls_refuses_plain_logins_with_28000() {
    let dir = TempDir::new("tls-require");
    let ca = TestCa::new(dir.path(), "require");
    let server = ca.issue(dir.path(), "proxy", "molt-lms", &["localhost"]);
    let env = ProxyEnv::start_with(|mut c| {
        c.env.push((
            "LMS_SSL_CERT".into(),
            server.cert_path.display().to_string(),
        ));
        c.env
            .push(("LMS_SSL_KEY".into(), server.key_path.display().to_string()));
        c.extra_args.push("--require-tls".into());
        c
    });
    let port = env.proxy.sql_port();
    let plain = psql_tls(&env, &format!("host=localhost port={port} sslmode=disable"))
        .expect_err("a plain login under --require-tls");
    assert!(plain.contains("requires TLS"), "{plain}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let conninfo = format!(
        "host=127.0.0.1 port={port} user={} password={} dbname={} sslmode=disable",
        env.user, env.password, env.db
    );
    let err = rt
        .block_on(tokio_postgres::connect(&conninfo, tokio_postgres::NoTls))
        .err()
        .expect("a plain login is refused");
    let code = err.as_db_error().map(|d| d.code().code().to_owned());
    assert_eq!(code.as_deref(), Some("28000"), "{err}");
    let ok = psql_tls(
        &env,
        &format!(
            "host=localhost port={port} sslmode=verify-full sslrootcert={}",
            ca.cert_path.display()
        ),
    )
    .expect("a TLS login under --require-tls");
    assert!(ok.contains("over tls"));
}
