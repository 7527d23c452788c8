//! Throw-away MariaDB servers: own data dir, ephemeral port, a unix socket for the
//! harness's own `mariadb` client, and a guardian shell that stops the server and deletes
//! the directory once the test process lets go of it (drop, exit or crash).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::pg::{chown_to, free_port, is_root, make_parents_traversable};
use crate::{fresh_dir, tail, wait_until};

/// A running MariaDB server.
#[derive(Debug)]
pub struct MariaDb {
    dir: PathBuf,
    port: u16,
    guard_stdin: Option<ChildStdin>,
    guardian: Child,
}

/// The server's arguments: small, fast and disposable.
fn server_args(dir: &Path, port: u16) -> Vec<String> {
    let d = dir.display();
    vec![
        "--no-defaults".into(),
        format!("--datadir={d}/data"),
        format!("--socket={d}/sock"),
        format!("--pid-file={d}/server.pid"),
        format!("--log-error={d}/server.log"),
        format!("--tmpdir={d}/tmp"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--user=mysql".into(),
        "--skip-name-resolve".into(),
        "--innodb-buffer-pool-size=32M".into(),
        "--innodb-flush-log-at-trx-commit=0".into(),
        "--max-connections=400".into(),
        // Room for the tests' values past 16 MiB (continuation packets).
        "--max-allowed-packet=64M".into(),
    ]
}

impl MariaDb {
    /// Initializes and starts a fresh server; panics with the server log's tail on failure.
    pub fn start(name: &str) -> MariaDb {
        let short: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        let dir = fresh_dir(&format!("my-{short}"));
        if is_root() {
            make_parents_traversable(&dir);
            chown_to(&dir, "mysql");
        }
        // A temporary directory of its own: servers bootstrapping at once in a shared /tmp
        // were seen to fail on each other's temporary tables.
        let tmp = dir.join("tmp");
        std::fs::create_dir(&tmp).expect("create the server's tmpdir");
        if is_root() {
            chown_to(&tmp, "mysql");
        }
        let install = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}/data", dir.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-install-db (apt install mariadb-server)");
        assert!(
            install.status.success(),
            "mariadb-install-db failed:\n{}",
            String::from_utf8_lossy(&install.stderr)
        );
        for _ in 0..5 {
            let port = free_port();
            let (guardian, stdin) = spawn_guardian(&dir, port);
            let mut server = MariaDb {
                dir: dir.clone(),
                port,
                guard_stdin: Some(stdin),
                guardian,
            };
            let up = wait_until(Duration::from_secs(60), || {
                server.sql_result("SELECT 1").is_ok() || server.exited()
            });
            if up && !server.exited() {
                return server;
            }
            let log = server.server_log();
            // Another process took the port between the probe and the server's bind.
            if log.contains("Can't start server: Bind") || log.contains("Address already in use") {
                server.guard_stdin.take();
                let _ = server.guardian.wait();
                continue;
            }
            panic!("MariaDB `{name}` failed to start:\n{log}");
        }
        panic!("MariaDB `{name}` found no free port")
    }

    fn exited(&mut self) -> bool {
        self.guardian.try_wait().ok().flatten().is_some()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn server_log(&self) -> String {
        tail(&self.dir.join("server.log"), 40)
    }

    /// Runs SQL as root over the unix socket; tab-separated rows without headers.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_result(sql)
            .unwrap_or_else(|e| panic!("SQL failed: {sql}\n{e}"))
    }

    pub fn sql_result(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}/sock", self.dir.display()))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run mariadb: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// A user who may log in over TCP from anywhere with `mysql_native_password`.
    pub fn create_user(&self, name: &str, password: &str) {
        self.sql(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{password}'); \
             GRANT ALL ON *.* TO '{name}'@'%'"
        ));
    }

    /// The user's stored `mysql_native_password` hash (`*` and 40 hex digits).
    pub fn stored_hash(&self, name: &str) -> String {
        self.sql(&format!(
            "SELECT authentication_string FROM mysql.user WHERE User = '{name}' AND Host = '%'"
        ))
    }
}

/// The `mariadb` command-line client over TCP to `addr` (`host:port`) as `user`, in
/// batch mode: tab-separated output, no prompt.
pub fn cli(addr: &str, user: &str, password: &str, database: &str) -> Command {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut c = Command::new("mariadb");
    c.arg("--no-defaults")
        .arg("--protocol=TCP")
        .arg(format!("--host={host}"))
        .arg(format!("--port={port}"))
        .arg(format!("--user={user}"))
        .arg(format!("--password={password}"))
        .arg("--batch");
    if !database.is_empty() {
        c.arg(format!("--database={database}"));
    }
    c
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.guard_stdin.take();
        let _ = self.guardian.wait();
    }
}

/// The server runs under a shell that also waits on its stdin: when that closes, the
/// shell stops the server and removes the directory. When the server ends on its own
/// (it could not bind its port, say), the shell ends too and keeps the directory, for a
/// retry on another port and for its log.
fn spawn_guardian(dir: &Path, port: u16) -> (Child, ChildStdin) {
    let script = r#"d=$1; shift
exec 3<&0
"$@" </dev/null & pid=$!
( read _ <&3; kill "$pid" 2>/dev/null ) &
reader=$!
wait "$pid"
if kill -0 "$reader" 2>/dev/null; then kill "$reader" 2>/dev/null; exit 1; fi
rm -rf "$d""#;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, "molt-lms-mariadb-guardian"]);
    cmd.arg(dir).arg("mariadbd").args(server_args(dir, port));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn the MariaDB guardian (sh)");
    let stdin = child.stdin.take().expect("guardian stdin is piped");
    (child, stdin)
}
