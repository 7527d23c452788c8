//! Test harness for molt-lms: real PostgreSQL servers, the proxy as a child process, polling helpers.
//!
//! # Layout
//! - [`bins`] finds PostgreSQL tools and this workspace's binaries.
//! - [`pg`] starts throw-away PostgreSQL clusters ([`PgCluster`], [`shared`]).
//! - [`proxy`] runs `molt-lms` and waits for its ready line ([`ProxyProcess`]).
//! - [`browser`] runs headless Chromium on the orchestrator's dashboard page.
//!
//! Tests poll with [`wait_until`] instead of sleeping: a sleep is either too short on a
//! loaded 2-core machine or wastes time everywhere else.

pub mod bins;
pub mod browser;
pub mod certs;
pub mod cutover_env;
pub mod fixture;
pub mod load;
pub mod mariadb;
pub mod mysql_client;
pub mod orchestrator;
pub mod otlp;
pub mod pg;
pub mod proxy;
pub mod raw;
pub mod relay;

pub use pg::{shared, Clusters, PasswordMethod, PgCluster, PgOptions};
pub use proxy::{ProxyConfig, ProxyProcess};

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often [`wait_until`] and [`wait_until_async`] re-check their condition.
const POLL: Duration = Duration::from_millis(20);

/// Polls `cond` every 20 ms until it holds (`true`) or `timeout` passes (`false`).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Async twin of [`wait_until`]; sleeps on the tokio timer so the runtime keeps working.
pub async fn wait_until_async<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Creates a new, empty, world-traversable (0755) directory under the system temp dir.
///
/// 0755 rather than `mktemp`'s 0700 so that servers running as another user can reach it.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("molt-lms-{prefix}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&path) {
            Ok(()) => {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .unwrap_or_else(|e| panic!("chmod 0755 {}: {e}", path.display()));
                return path;
            }
            // A leftover from an earlier process with the same pid: take the next number.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create a directory under {}: {e}", base.display()),
        }
    }
    panic!("no free directory name under {}", base.display())
}

/// A [`fresh_dir`] removed on drop, except while panicking so a failed test's logs survive.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        Self(fresh_dir(prefix))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The control-plane token every process the harness starts shares (tests of the
/// refusals send other credentials on purpose).
pub const TEST_CONTROL_TOKEN: &str = "integration-test-control-token-0123456789";

/// A file holding [`TEST_CONTROL_TOKEN`], written once per test process.
pub fn control_token_file() -> &'static Path {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let dir = fresh_dir("control-token");
        let path = dir.join("token");
        std::fs::write(&path, TEST_CONTROL_TOKEN).expect("write the test control token");
        path
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for URL user, password and path.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The last `lines` lines of a log file, or a note saying why it could not be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// `<prefix>_<pid>_<n>`: unique within the process and across concurrent test processes.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

/// An SQL string literal: `'…'` with quotes doubled (`standard_conforming_strings` is on).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An SQL identifier: `"…"` with double quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A TCP listener that accepts connections and never answers: a database that is up on
/// the network and stalled behind it. Sockets are held until the process exits.
pub fn stalled_listener() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a stalled listener");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    port
}
