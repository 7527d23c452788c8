//! Noticing that a credential file changed: its modification time and length, or a
//! SIGHUP since it was last read.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Bumped by every SIGHUP; readers compare it with the generation they loaded.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What a loaded file looked like, to tell whether it must be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    files: Vec<(Option<SystemTime>, u64)>,
    generation: u64,
}

impl Stamp {
    /// The current stamp of `paths` (a missing file stamps as `(None, 0)`).
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let files = paths
            .into_iter()
            .map(|p| match std::fs::metadata(p) {
                Ok(m) => (m.modified().ok(), m.len()),
                Err(_) => (None, 0),
            })
            .collect();
        Self {
            files,
            generation: GENERATION.load(Ordering::Acquire),
        }
    }
}

/// Makes every credential file count as changed (SIGHUP).
pub fn force_reload() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Calls [`force_reload`] on every SIGHUP for the life of the process.
pub fn reload_on_sighup() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; credentials reload only when their files change");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading control-plane credentials");
            force_reload();
        }
    });
}
