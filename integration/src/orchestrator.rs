//! `molt-lms-orchestrator` as a child process, restartable on the same ports, and the
//! `molt-lms-cli` binary pointed at it.

use crate::bins::lms_bin;
use crate::proxy::{drain_lines, wait_ready_line};
use crate::{tail, TempDir};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};

pub struct OrchestratorProcess {
    child: Child,
    dir: TempDir,
    api: SocketAddr,
    metrics: SocketAddr,
    extra_args: Vec<String>,
}

impl OrchestratorProcess {
    /// Starts on ephemeral ports with `CRDB_URL` as its metadata database.
    pub fn start(crdb_url: &str, extra_args: &[&str]) -> Self {
        Self::start_with_config(serde_json::json!({ "CRDB_URL": crdb_url }), extra_args)
    }

    /// Starts on ephemeral ports with `json` as its config.json.
    pub fn start_with_config(json: serde_json::Value, extra_args: &[&str]) -> Self {
        let dir = TempDir::new("orch");
        std::fs::write(dir.path().join("config.json"), json.to_string())
            .expect("write orchestrator config");
        let extra: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        let (child, api, metrics) = spawn(&dir, "127.0.0.1:0", "127.0.0.1:0", &extra);
        Self {
            child,
            dir,
            api,
            metrics,
            extra_args: extra,
        }
    }

    /// `https://` when the orchestrator was started with `--tls-cert`.
    pub fn url(&self) -> String {
        let scheme = if self.extra_args.iter().any(|a| a == "--tls-cert") {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.api)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics
    }

    pub fn log(&self) -> String {
        tail(&self.dir.path().join("stderr.log"), 80)
    }

    /// Everything it has logged, across restarts.
    pub fn full_log(&self) -> String {
        let bytes = std::fs::read(self.dir.path().join("stderr.log")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// SIGKILL: the orchestrator gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same ports (the proxies know this URL).
    pub fn restart(&mut self) {
        self.kill();
        let (child, api, metrics) = spawn(
            &self.dir,
            &self.api.to_string(),
            &self.metrics.to_string(),
            &self.extra_args,
        );
        (self.child, self.api, self.metrics) = (child, api, metrics);
    }

    /// Runs `molt-lms-cli` against this orchestrator.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_command(args).output().expect("run molt-lms-cli")
    }

    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(lms_bin("molt-lms-cli"));
        cmd.env("CLI_ORCHESTRATOR_URL", self.url())
            .env("CLI_CONTROL_TOKEN_FILE", crate::control_token_file())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }
}

fn spawn(
    dir: &TempDir,
    api: &str,
    metrics: &str,
    extra: &[String],
) -> (Child, SocketAddr, SocketAddr) {
    let stderr_path = dir.path().join("stderr.log");
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&stderr_path)
        .expect("orchestrator log");
    let mut cmd = Command::new(lms_bin("molt-lms-orchestrator"));
    cmd.arg("--config")
        .arg(dir.path().join("config.json"))
        .args(["--listen", api, "--metrics-listen", metrics]);
    let chooses_auth = extra.iter().any(|a| {
        [
            "--control-token-file",
            "--insecure-control-plane",
            "--tls-cert",
        ]
        .iter()
        .any(|f| a.starts_with(f))
    });
    if !chooses_auth {
        cmd.arg("--control-token-file")
            .arg(crate::control_token_file());
    }
    cmd.args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "info");
    }
    let mut child = cmd.spawn().expect("spawn molt-lms-orchestrator");
    let lines = drain_lines(child.stdout.take().expect("stdout piped"));
    match wait_ready_line(&lines, "molt-lms-orchestrator ready ", "api", "metrics") {
        Ok((a, m)) => (child, a, m),
        Err(why) => {
            let _ = child.kill();
            panic!(
                "orchestrator did not become ready: {why}\n{}",
                tail(&stderr_path, 60)
            );
        }
    }
}

impl Drop for OrchestratorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
