//! Throw-away PostgreSQL clusters, torn down by a guardian process even if the test process dies.

use std::ffi::OsStr;
use std::fs::{OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

use crate::bins::pg_bin;
use crate::{fresh_dir, percent_encode, quote_ident, quote_literal, tail};

/// Password of the `postgres` superuser in every cluster.
pub const SUPERUSER_PASSWORD: &str = "postgres";
/// Members of this group log in over TCP with `md5`; everyone else needs SCRAM.
pub const MD5_GROUP: &str = "md5_users";

/// Settings for fast, disposable servers; the port is appended per start attempt.
const BASE_CONF: &str = "listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 400
password_encryption = 'scram-sha-256'
shared_buffers = 64MB
max_worker_processes = 48
max_logical_replication_workers = 40
max_replication_slots = 40
";
/// Room for every test of a process to replicate at once (tests run in parallel).
const LOGICAL_CONF: &str = "wal_level = logical
max_wal_senders = 40
";

#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    /// `wal_level=logical` with replication slots and WAL senders, for migration sources.
    pub logical: bool,
    /// `postgresql.conf` lines, appended after the harness's own so they win.
    pub extra_conf: Vec<String>,
    /// `pg_hba.conf` lines, placed before the default `host` lines so they match first.
    pub extra_hba: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMethod {
    Scram,
    Md5,
}

/// A running PostgreSQL server with its own data dir, port and unix socket directory.
#[derive(Debug)]
pub struct PgCluster {
    name: String,
    dir: PathBuf,
    port: u16,
    /// While this pipe is open the guardian waits; once it closes (drop, exit, crash) the
    /// guardian stops the server and deletes `dir`.
    guard_stdin: Option<ChildStdin>,
    guardian: Child,
}

impl PgCluster {
    /// Initializes and starts a fresh cluster; panics with the server log tail on failure.
    pub fn start(name: &str, opts: PgOptions) -> PgCluster {
        // Short names keep the unix socket path under its 107-byte limit.
        let short: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        let dir = fresh_dir(&format!("pg-{short}"));
        if is_root() {
            make_parents_traversable(&dir);
            chown_to(&dir, "postgres");
        }
        let (guardian, guard_stdin) = spawn_guardian(&dir);
        let guard_stdin = Some(guard_stdin);
        let mut cluster = PgCluster {
            name: name.to_owned(),
            dir,
            port: 0,
            guard_stdin,
            guardian,
        };
        cluster.init(&opts);
        let conf = cluster.data_dir().join("postgresql.conf");
        for _ in 0..5 {
            cluster.port = free_port();
            append(&conf, &format!("port = {}\n", cluster.port));
            let port_opt = format!("-p {}", cluster.port);
            match cluster.pg_ctl(&["-t", "60", "-o", &port_opt, "start"]) {
                Ok(_) => {
                    cluster.psql("postgres", &format!("CREATE ROLE {MD5_GROUP} NOLOGIN"));
                    return cluster;
                }
                // Another process took the port between our probe and the server's bind.
                Err(_) if cluster.server_log().contains("could not bind") => continue,
                Err(e) => panic!("`{name}` failed to start: {e}\n{}", cluster.server_log()),
            }
        }
        panic!("`{name}` failed to start:\n{}", cluster.server_log())
    }

    fn init(&self, opts: &PgOptions) {
        let pwfile = self.dir.join("pwfile");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).expect("write initdb password file");
        std::fs::set_permissions(&pwfile, Permissions::from_mode(0o644))
            .expect("chmod initdb password file");
        let mut initdb = as_postgres("initdb");
        initdb.arg("-D").arg(self.data_dir()).current_dir(&self.dir);
        initdb.args(["-A", "trust", "--auth-host=scram-sha-256", "-U", "postgres"]);
        initdb.args(["--no-sync", "-E", "UTF8", "--locale=C"]);
        initdb.arg(format!("--pwfile={}", pwfile.display()));
        if let Err(e) = output(&mut initdb) {
            panic!("initdb for `{}` failed:\n{e}", self.name);
        }
        let socket_dir = quote_literal(&self.dir.display().to_string());
        let mut conf = format!("{BASE_CONF}unix_socket_directories = {socket_dir}\n");
        if opts.logical {
            conf.push_str(LOGICAL_CONF);
        }
        for line in &opts.extra_conf {
            conf.push_str(&format!("{line}\n"));
        }
        append(&self.data_dir().join("postgresql.conf"), &conf);
        // The local trust line stays first: the harness's own psql must always get in.
        let mut hba = vec!["local all all trust".to_owned()];
        hba.extend(opts.extra_hba.iter().cloned());
        for net in ["127.0.0.1/32", "::1/128"] {
            hba.push(format!("host all +{MD5_GROUP} {net} md5"));
            hba.push(format!("host all all {net} scram-sha-256"));
        }
        std::fs::write(self.data_dir().join("pg_hba.conf"), hba.join("\n") + "\n")
            .expect("write pg_hba.conf");
    }

    /// Runs `pg_ctl -w -D <data> -l <log> <args>` as the server's owner.
    fn pg_ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = as_postgres("pg_ctl");
        cmd.arg("-w").arg("-D").arg(self.data_dir());
        cmd.arg("-l").arg(self.dir.join("server.log"));
        output(cmd.args(args).current_dir(&self.dir))
    }

    /// Stops the server (fast shutdown), e.g. to test how the proxy copes with an outage.
    pub fn stop_server(&self) {
        self.pg_ctl(&["-m", "fast", "stop"])
            .unwrap_or_else(|e| panic!("stop `{}`: {e}", self.name));
    }

    /// Starts a server stopped by [`Self::stop_server`] again, on the same port.
    pub fn start_server(&self) {
        self.pg_ctl(&["-t", "60", "start"])
            .unwrap_or_else(|e| panic!("restart `{}`: {e}\n{}", self.name, self.server_log()));
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The last 50 lines of the server log.
    pub fn server_log(&self) -> String {
        tail(&self.dir.join("server.log"), 50)
    }

    /// `postgresql://user:password@127.0.0.1:port/db`, with each part percent-encoded.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        let (user, pass, db) = (
            percent_encode(user),
            percent_encode(password),
            percent_encode(db),
        );
        format!(
            "postgresql://{user}:{pass}@{}:{}/{db}",
            self.host(),
            self.port
        )
    }

    pub fn superuser_url(&self, db: &str) -> String {
        self.url("postgres", SUPERUSER_PASSWORD, db)
    }

    /// Runs `sql` as superuser over the unix socket and returns trimmed unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.psql_result(db, sql)
            .unwrap_or_else(|e| panic!("psql on `{}` db `{db}` failed: {e}\nSQL: {sql}", self.name))
    }

    /// [`Self::psql`] that returns psql's stderr instead of panicking.
    pub fn psql_result(&self, db: &str, sql: &str) -> Result<String, String> {
        self.psql_session(db, &[sql])
    }

    /// Runs each statement as its own `-c`, in one session (so `SET` carries over).
    fn psql_session(&self, db: &str, statements: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(pg_bin("psql"));
        cmd.arg("-h")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-U", "postgres"]);
        cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", db]);
        for sql in statements {
            cmd.arg("-c").arg(sql);
        }
        output(&mut cmd)
    }

    pub fn create_database(&self, name: &str) {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        );
    }

    /// Creates a database owned by `owner`, who may then create tables in its `public` schema.
    pub fn create_database_owned(&self, name: &str, owner: &str) {
        let (name, owner) = (quote_ident(name), quote_ident(owner));
        self.psql("postgres", &format!("CREATE DATABASE {name} OWNER {owner}"));
    }

    /// Creates a `LOGIN CREATEDB` role whose password is stored with `method`.
    pub fn create_role(&self, name: &str, password: &str, method: PasswordMethod) {
        let encryption = match method {
            PasswordMethod::Scram => "SET password_encryption = 'scram-sha-256'",
            PasswordMethod::Md5 => "SET password_encryption = 'md5'",
        };
        let create = create_role_sql(name, password);
        self.psql_session("postgres", &[encryption, &create])
            .unwrap_or_else(|e| panic!("create role {name} on `{}`: {e}", self.name));
        if method == PasswordMethod::Md5 {
            self.psql(
                "postgres",
                &format!("GRANT {MD5_GROUP} TO {}", quote_ident(name)),
            );
        }
    }

    /// The stored password verifier (`SCRAM-SHA-256$…` or `md5…`) of `role`.
    pub fn role_verifier(&self, role: &str) -> String {
        let role = quote_literal(role);
        self.psql(
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = {role}"),
        )
    }

    /// Creates `role` on `other` with the same verifier (PostgreSQL stores a pre-hashed
    /// password as is), so the same password works on both servers.
    pub fn copy_role_to(&self, other: &PgCluster, role: &str) {
        let verifier = self.role_verifier(role);
        other.psql("postgres", &create_role_sql(role, &verifier));
        if verifier.starts_with("md5") {
            other.psql(
                "postgres",
                &format!("GRANT {MD5_GROUP} TO {}", quote_ident(role)),
            );
        }
    }

    /// A superuser client over TCP; its connection task runs on the current tokio runtime.
    pub async fn client(&self, db: &str) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.superuser_url(db), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connect to `{}` db `{db}`: {e}", self.name));
        tokio::spawn(connection);
        client
    }
}

impl Drop for PgCluster {
    /// Stops the server now rather than at process exit, so servers do not pile up.
    fn drop(&mut self) {
        drop(self.guard_stdin.take());
        let _ = self.guardian.wait();
    }
}

/// The source (`logical: true`) and target servers shared by every test in the process.
#[derive(Debug)]
pub struct Clusters {
    pub source: PgCluster,
    pub target: PgCluster,
}

/// Starts the shared pair on first use; tests isolate themselves with [`unique_name`] objects.
pub fn shared() -> &'static Clusters {
    static SHARED: OnceLock<Clusters> = OnceLock::new();
    SHARED.get_or_init(|| {
        let logical = PgOptions {
            logical: true,
            ..PgOptions::default()
        };
        let source = PgCluster::start("source", logical);
        Clusters {
            source,
            target: PgCluster::start("target", PgOptions::default()),
        }
    })
}

/// Spawns `sh` in its own process group (a Ctrl-C to the tests does not reach it) that waits
/// for EOF on stdin, then stops the server and removes `dir`.
fn spawn_guardian(dir: &Path) -> (Child, ChildStdin) {
    let script = r#"read _; d=$1; t=$2; shift 2; "$@" -D "$d" -m immediate -w stop; rm -rf "$t""#;
    let stop = as_postgres("pg_ctl");
    let stop: Vec<&OsStr> = std::iter::once(stop.get_program())
        .chain(stop.get_args())
        .collect();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, "molt-lms-pg-guardian"]);
    cmd.arg(dir.join("data")).arg(dir).args(stop);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn the PostgreSQL guardian (sh)");
    let stdin = child.stdin.take().expect("guardian stdin is piped");
    (child, stdin)
}

/// PostgreSQL refuses to run as root, so as root its tools run as `postgres` via `runuser`.
fn as_postgres(tool: &str) -> Command {
    if !is_root() {
        return Command::new(pg_bin(tool));
    }
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(pg_bin(tool));
    cmd
}

/// The effective uid owns `/proc/self`; this avoids `unsafe` `geteuid()`.
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Hands `path` to `user` (a server that refuses to run as root runs as it).
pub(crate) fn chown_to(path: &Path, user: &str) {
    let status = Command::new("chown")
        .arg(format!("{user}:"))
        .arg(path)
        .status();
    let ok = status.is_ok_and(|s| s.success());
    assert!(
        ok,
        "chown {user} {}: is there a `{user}` user?",
        path.display()
    );
}

/// Adds search permission on every ancestor, so `postgres` can reach the dir.
pub(crate) fn make_parents_traversable(dir: &Path) {
    for parent in dir.ancestors().skip(1) {
        if let Ok(mode) = std::fs::metadata(parent).map(|m| m.permissions().mode()) {
            if mode & 0o001 == 0 {
                let _ = std::fs::set_permissions(parent, Permissions::from_mode(mode | 0o011));
            }
        }
    }
}

/// Runs `cmd` with stdin closed: its trimmed stdout on success, else its stderr.
fn output(cmd: &mut Command) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("spawn {program}: {e}"))?;
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        false => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
    }
}

fn create_role_sql(name: &str, password: &str) -> String {
    let (name, password) = (quote_ident(name), quote_literal(password));
    format!("CREATE ROLE {name} LOGIN CREATEDB PASSWORD {password}")
}

/// A port free right now; the server may still lose a race for it, so callers retry.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local addr of probe socket")
        .port()
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}
