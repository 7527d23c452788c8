//! Headless Chromium (Debian's `chromium` package) for tests of the dashboard page: the DOM
//! after the page's scripts ran, and screenshots kept as test artifacts.

use crate::{tail, wait_until, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long the page's scripts run, in the browser's virtual time, before the DOM is taken.
const VIRTUAL_TIME_BUDGET_MS: u32 = 5000;

/// How long one browser run may take in real time.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The `chromium` binary on `PATH`. Panics, with how to install it, when there is none: a
/// test that needs the browser fails rather than passing without having looked.
pub fn chromium() -> PathBuf {
    crate::bins::on_path("chromium").unwrap_or_else(|| {
        panic!(
            "`chromium` is not on PATH: the dashboard tests need headless Chromium \
             (Debian: apt-get install chromium; .ci/run installs it)"
        )
    })
}

/// The directory test artifacts (screenshots) are kept in: `test-artifacts/` in the cargo
/// target directory (`$CARGO_TARGET_DIR`, else the one this test executable was built in).
pub fn artifact_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the integration crate is in the workspace")
            .join(dir),
        // target/<profile>/deps/<test executable>
        None => std::env::current_exe()
            .expect("the running test executable")
            .ancestors()
            .nth(3)
            .expect("a test executable in target/<profile>/deps")
            .to_path_buf(),
    };
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// One headless run with a fresh profile (no cookies, no session storage) on `url`, with
/// `extra` arguments; its standard output.
fn run(url: &str, extra: &[String]) -> String {
    let dir = TempDir::new("chromium");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr.log"));
    let file = |p: &Path| std::fs::File::create(p).expect("chromium output file");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(file(&out))
        .stderr(file(&err))
        .spawn()
        .expect("start chromium");
    let mut status = None;
    let exited = wait_until(RUN_TIMEOUT, || {
        status = child.try_wait().expect("wait for chromium");
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "chromium did not finish within {RUN_TIMEOUT:?}:\n{}",
            tail(&err, 40)
        );
    }
    let status = status.expect("exited");
    assert!(status.success(), "chromium: {status}\n{}", tail(&err, 40));
    std::fs::read_to_string(&out).expect("chromium's output")
}

/// The page's DOM, serialized, once its scripts ran for the virtual time budget.
pub fn dump_dom(url: &str) -> String {
    run(url, &["--dump-dom".to_owned()])
}

/// A PNG of the page at `width`×`height` after the virtual time budget, written to `path`.
pub fn screenshot(url: &str, path: &Path, (width, height): (u32, u32)) {
    let _ = std::fs::remove_file(path);
    run(
        url,
        &[
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_owned(),
        ],
    );
    assert!(path.is_file(), "chromium wrote no {}", path.display());
}
