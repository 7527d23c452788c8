//! A proxy in front of the shared source and target clusters, with a fresh SCRAM role
//! (copied to the target with the same verifier) and a database it owns on both.

use crate::bins::pg_bin;
use crate::pg::{shared, Clusters, PasswordMethod};
use crate::proxy::{ProxyConfig, ProxyProcess};
use crate::unique_name;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};
use std::time::Duration;

pub struct ProxyEnv {
    pub clusters: &'static Clusters,
    pub proxy: ProxyProcess,
    pub user: String,
    pub password: String,
    pub db: String,
}

/// Where a client connects: through the proxy, or straight to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Proxy,
    Direct,
}

/// A fresh SCRAM role on the source, copied to the target with the same verifier, and a
/// database it owns on both: `(user, password, database)`.
pub fn provision(clusters: &Clusters) -> (String, String, String) {
    let user = unique_name("app");
    let password = format!("pw-{user}-S3cret!%");
    clusters
        .source
        .create_role(&user, &password, PasswordMethod::Scram);
    clusters.source.copy_role_to(&clusters.target, &user);
    let db = unique_name("db");
    clusters.source.create_database_owned(&db, &user);
    clusters.target.create_database_owned(&db, &user);
    (user, password, db)
}

/// Like [`provision`], but the role is created on the target on its own with the same
/// password: another salt, so another verifier, as every CockroachDB user gets.
pub fn provision_independent(clusters: &Clusters) -> (String, String, String) {
    let user = unique_name("app");
    let password = format!("pw-{user}-S3cret!%");
    for c in [&clusters.source, &clusters.target] {
        c.create_role(&user, &password, PasswordMethod::Scram);
    }
    let db = unique_name("db");
    clusters.source.create_database_owned(&db, &user);
    clusters.target.create_database_owned(&db, &user);
    (user, password, db)
}

impl ProxyEnv {
    pub fn start() -> Self {
        Self::start_with(|c| c)
    }

    /// Like [`ProxyEnv::start`], with a chance to change the proxy's configuration.
    pub fn start_with(configure: impl FnOnce(ProxyConfig) -> ProxyConfig) -> Self {
        let clusters = shared();
        let (user, password, db) = provision(clusters);
        let cfg = configure(ProxyConfig::new(
            clusters.source.superuser_url("postgres"),
            clusters.target.superuser_url("postgres"),
        ));
        let proxy = ProxyProcess::start(cfg);
        Self {
            clusters,
            proxy,
            user,
            password,
            db,
        }
    }

    pub fn port(&self, via: Via) -> u16 {
        match via {
            Via::Proxy => self.proxy.sql_port(),
            Via::Direct => self.clusters.source.port(),
        }
    }

    /// A libpq keyword/value connection string for this env's role.
    pub fn conninfo(&self, via: Via) -> String {
        format!(
            "host=127.0.0.1 port={} user={} password={} dbname={}",
            self.port(via),
            self.user,
            self.password,
            self.db
        )
    }

    /// A PostgreSQL client binary (`psql`, `pgbench`) set up to log in as this env's role.
    pub fn pg_command(&self, bin: &str, via: Via) -> Command {
        let mut cmd = Command::new(pg_bin(bin));
        cmd.env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port(via).to_string())
            .env("PGUSER", &self.user)
            .env("PGPASSWORD", &self.password)
            .env("PGDATABASE", &self.db)
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGSERVICE");
        cmd
    }

    /// Runs `psql -X` with a script on stdin-free `-f`, returning the whole output.
    pub fn psql_file(&self, via: Via, script: &std::path::Path) -> Output {
        self.pg_command("psql", via)
            .args(["-X", "-v", "ON_ERROR_STOP=0", "-f"])
            .arg(script)
            .output()
            .expect("run psql")
    }

    /// Runs one statement with `psql -XAt -c` and returns trimmed stdout; panics on failure.
    pub fn psql(&self, via: Via, sql: &str) -> String {
        let out = self
            .pg_command("psql", via)
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql via {via:?} failed: {}\nproxy log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.proxy.stderr_log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A tokio-postgres client; its connection task runs on the current runtime.
    pub async fn client(&self, via: Via) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.conninfo(via), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "connect via {via:?}: {e}\nproxy log:\n{}",
                    self.proxy.stderr_log()
                )
            });
        tokio::spawn(conn);
        client
    }

    /// `GET` on the proxy's admin API: `(status, body)`.
    /// `/api/...` paths go to the control API, the others to the metrics port.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        if path.starts_with("/api/") {
            http_get(self.proxy.control_addr(), path)
        } else {
            http_get(self.proxy.admin_addr(), path)
        }
    }
}

/// A minimal HTTP/1.0 GET, enough for JSON and metrics endpoints.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, None)
}

/// A minimal HTTP/1.0 request with an optional JSON body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> (u16, String) {
    http_request_as(addr, method, path, "application/json", json.unwrap_or(""))
}

/// Like [`http_request`], with any content type and body (to send what a browser form would).
/// Carries the harness's control token, as every component the harness starts does.
pub fn http_request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let auth = format!("Bearer {}", crate::TEST_CONTROL_TOKEN);
    http_request_with(addr, method, path, content_type, body, Some(&auth))
}

/// Any request, with `authorization` as the Authorization header's value (or none).
pub fn http_request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect HTTP API");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// The port of the database server a session runs on: which database answered.
pub async fn server_port(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT inet_server_port()", &[])
        .await
        .expect("server port")
        .get(0)
}

/// A proxy's shadow report, from its control API at `control`.
pub fn shadow_report(control: SocketAddr) -> molt_lms_api::shadow::ShadowReport {
    let (code, body) = http_get(control, "/api/v1/shadow");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("shadow report json")
}

/// The report's entry whose fingerprint starts with `prefix`.
pub fn shadow_entry(
    r: &molt_lms_api::shadow::ShadowReport,
    prefix: &str,
) -> Option<molt_lms_api::shadow::FingerprintReport> {
    r.fingerprints
        .iter()
        .find(|f| f.fingerprint.starts_with(prefix))
        .cloned()
}
