//! Locates PostgreSQL server tools and this workspace's own binaries.

use std::env;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const PG_INSTALL_HINT: &str = "set PG_BIN_DIR to the directory holding it, or install PostgreSQL \
     (Debian: apt-get install postgresql postgresql-contrib postgresql-client)";

/// Path of a PostgreSQL tool (`initdb`, `pg_ctl`, `postgres`, `psql`, `pgbench`, …).
///
/// Order: `$PG_BIN_DIR`, the newest `/usr/lib/postgresql/*/bin` holding `initdb`
/// (Debian keeps server tools off `PATH`), then `PATH`.
pub fn pg_bin(name: &str) -> PathBuf {
    if let Some(dir) = env::var_os("PG_BIN_DIR") {
        let path = Path::new(&dir).join(name);
        if path.is_file() {
            return path;
        }
        panic!(
            "PG_BIN_DIR={} has no `{name}`; {PG_INSTALL_HINT}",
            path.display()
        );
    }
    if let Some(path) = debian_pg_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
    {
        return path;
    }
    if let Some(path) = on_path(name) {
        return path;
    }
    panic!("PostgreSQL tool `{name}` not found; {PG_INSTALL_HINT}")
}

/// The newest `/usr/lib/postgresql/<version>/bin` that contains `initdb`, if any.
fn debian_pg_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let entries = std::fs::read_dir("/usr/lib/postgresql").ok()?;
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let version: Option<Vec<u32>> = e
                    .file_name()
                    .to_str()?
                    .split('.')
                    .map(|part| part.parse().ok())
                    .collect();
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version?, bin))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, bin)| bin)
    })
    .clone()
}

/// The first `name` in a `PATH` directory.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Path of one of this workspace's binaries (`molt-lms`, `molt-lms-orchestrator`, `molt-lms-cli`).
pub fn lms_bin(name: &str) -> PathBuf {
    let dir = lms_bin_dir();
    let path = dir.join(name);
    if path.is_file() {
        return path;
    }
    panic!(
        "`{name}` not found in {}: build it first with `cargo build --workspace` \
         (`make test` does this), or set LMS_BIN_DIR to the directory holding it",
        dir.display()
    )
}

/// `$LMS_BIN_DIR`, else the `target/<profile>` directory this test executable was built into.
///
/// Test executables live in `target/<profile>/deps/`; binaries one level up.
pub fn lms_bin_dir() -> PathBuf {
    if let Some(dir) = env::var_os("LMS_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = env::current_exe().expect("cannot locate the running test executable");
    let mut dir = exe
        .parent()
        .expect("test executable has no parent directory")
        .to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}
