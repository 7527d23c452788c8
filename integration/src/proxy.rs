//! The `molt-lms` proxy as a child process: config file, ready handshake on stdout, logs, signals.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::bins::lms_bin;
use crate::{percent_encode, tail, TempDir};

/// The proxy prints `molt-lms ready sql=HOST:PORT admin=HOST:PORT` once both listeners are bound.
const READY_PREFIX: &str = "molt-lms ready ";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub source_url: String,
    pub target_url: String,
    /// `--source-dialect`; `postgres` by default.
    pub dialect: String,
    /// `--shadow-mode`; `none` by default.
    pub shadow_mode: String,
    pub extra_args: Vec<String>,
    /// Added to the inherited environment.
    pub env: Vec<(String, String)>,
}

impl ProxyConfig {
    pub fn new(source_url: impl Into<String>, target_url: impl Into<String>) -> Self {
        Self {
            source_url: source_url.into(),
            target_url: target_url.into(),
            dialect: "postgres".to_owned(),
            shadow_mode: "none".to_owned(),
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// A running `molt-lms`; killed on drop if still alive.
#[derive(Debug)]
pub struct ProxyProcess {
    child: Child,
    dir: TempDir,
    sql_addr: SocketAddr,
    admin_addr: SocketAddr,
    control_addr: SocketAddr,
}

/// Whether the test chose the control plane's credentials itself.
fn sets_control_auth(cfg: &ProxyConfig) -> bool {
    let flags = [
        "--control-token-file",
        "--insecure-control-plane",
        "--control-tls-ca",
    ];
    let vars = [
        "LMS_CONTROL_TOKEN_FILE",
        "LMS_INSECURE_CONTROL_PLANE",
        "LMS_CONTROL_TLS_CA",
    ];
    cfg.extra_args
        .iter()
        .any(|a| flags.iter().any(|f| a.starts_with(f)))
        || cfg.env.iter().any(|(k, _)| vars.contains(&k.as_str()))
}

impl ProxyProcess {
    /// Spawns `molt-lms` on ephemeral ports and waits for its ready line.
    pub fn start(cfg: ProxyConfig) -> ProxyProcess {
        let bin = lms_bin("molt-lms");
        let dir = TempDir::new("proxy");
        let config = dir.path().join("config.json");
        let json =
            serde_json::json!({ "INIT_SOURCE": cfg.source_url, "INIT_TARGET": cfg.target_url });
        std::fs::write(&config, json.to_string()).expect("write proxy config.json");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("create proxy stderr log");

        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(&config);
        cmd.args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]);
        cmd.args(["--control-listen", "127.0.0.1:0"]);
        if !sets_control_auth(&cfg) {
            cmd.arg("--control-token-file")
                .arg(crate::control_token_file());
        }
        cmd.arg("--source-dialect").arg(&cfg.dialect);
        cmd.arg("--shadow-mode").arg(&cfg.shadow_mode);
        cmd.args(&cfg.extra_args);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        cmd.envs(cfg.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn molt-lms");
        let lines = drain_lines(child.stdout.take().expect("molt-lms stdout is piped"));

        match wait_ready(&lines) {
            Ok((sql_addr, admin_addr, control_addr)) => ProxyProcess {
                child,
                dir,
                sql_addr,
                admin_addr,
                control_addr,
            },
            Err(why) => {
                let _ = child.kill();
                let status = child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                panic!(
                    "molt-lms did not become ready: {why} ({status})\n--- stderr tail ---\n{}",
                    tail(&stderr_path, 60)
                )
            }
        }
    }

    /// Spawns `molt-lms` with exactly `args`, stdout and stderr piped, for tests that expect
    /// start-up to fail and check the message and exit code.
    pub fn spawn_raw<I, S>(args: I, env: &[(String, String)]) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Command::new(lms_bin("molt-lms"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn molt-lms")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The proxy's memory in MiB: resident now (`VmRSS`) and the peak so far (`VmHWM`).
    pub fn memory_mib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the proxy's /proc status");
        let kib = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{key} in /proc status"))
        };
        (kib("VmRSS:") / 1024, kib("VmHWM:") / 1024)
    }

    pub fn sql_addr(&self) -> SocketAddr {
        self.sql_addr
    }

    /// The metrics port: /metrics, /healthz, /readyz.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The control API: /api/v1/... behind the control plane's credentials.
    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    pub fn sql_port(&self) -> u16 {
        self.sql_addr.port()
    }

    /// A `postgresql://` URL that reaches the database through the proxy.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        let (user, password, db) = (
            percent_encode(user),
            percent_encode(password),
            percent_encode(db),
        );
        format!("postgresql://{user}:{password}@{}/{db}", self.sql_addr)
    }

    /// `http://<admin_addr><path>`, or the control API's address for `/api/...` paths.
    pub fn admin_url(&self, path: &str) -> String {
        if path.starts_with("/api/") {
            format!("http://{}{path}", self.control_addr)
        } else {
            format!("http://{}{path}", self.admin_addr)
        }
    }

    /// The directory holding `config.json` and `stderr.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    /// Everything the proxy has written to stderr so far.
    pub fn stderr_log(&self) -> String {
        let bytes = std::fs::read(self.dir.path().join("stderr.log")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Sends SIGTERM (graceful shutdown); pair with [`Self::wait_exit`].
    pub fn terminate(&mut self) {
        // `kill` through sh: the workspace forbids the `unsafe` a libc::kill call needs.
        let status = Command::new("sh")
            .args([
                "-c",
                "kill -TERM \"$1\"",
                "sh",
                &self.child.id().to_string(),
            ])
            .status()
            .expect("spawn sh for kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Waits up to `timeout` for the proxy to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
        // A failing test shows what the proxy said: its directory is deleted next.
        if std::thread::panicking() {
            eprintln!(
                "--- molt-lms {} stderr tail ---\n{}",
                self.sql_addr,
                tail(&self.dir.path().join("stderr.log"), 60)
            );
        }
    }
}

/// Reads stdout lines on a thread for the child's whole life, so it never blocks on a full
/// pipe; lines nobody receives any more are dropped.
pub(crate) fn drain_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("molt-lms-stdout".to_owned())
        .spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let _ = tx.send(String::from_utf8_lossy(&line).trim_end().to_owned());
                line.clear();
            }
        })
        .expect("spawn stdout reader thread");
    rx
}

fn wait_ready(lines: &Receiver<String>) -> Result<(SocketAddr, SocketAddr, SocketAddr), String> {
    let line = wait_for_line(lines, READY_PREFIX)?;
    let rest = &line[READY_PREFIX.len()..];
    let (sql, admin) =
        parse_ready(rest, "sql", "admin").ok_or_else(|| format!("malformed ready line: {line}"))?;
    let (control, _) = parse_ready(rest, "control", "sql")
        .ok_or_else(|| format!("malformed ready line: {line}"))?;
    Ok((sql, admin, control))
}

/// The first line that starts with `prefix`.
fn wait_for_line(lines: &Receiver<String>, prefix: &str) -> Result<String, String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return Ok(line),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!("no ready line within {READY_TIMEOUT:?}"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err("stdout closed before the ready line".into())
            }
        }
    }
}

/// Waits for a `PREFIX k1=HOST:PORT k2=HOST:PORT` line (any order, extra keys ignored).
pub(crate) fn wait_ready_line(
    lines: &Receiver<String>,
    prefix: &str,
    k1: &str,
    k2: &str,
) -> Result<(SocketAddr, SocketAddr), String> {
    let line = wait_for_line(lines, prefix)?;
    parse_ready(&line[prefix.len()..], k1, k2)
        .ok_or_else(|| format!("malformed ready line: {line}"))
}

fn parse_ready(rest: &str, k1: &str, k2: &str) -> Option<(SocketAddr, SocketAddr)> {
    let (mut a, mut b) = (None, None);
    for (key, value) in rest.split_whitespace().filter_map(|kv| kv.split_once('=')) {
        if key == k1 {
            a = value.parse().ok();
        } else if key == k2 {
            b = value.parse().ok();
        }
    }
    Some((a?, b?))
}
