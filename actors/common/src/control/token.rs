//! The shared control token, read from a file (a mounted Kubernetes Secret) and read
//! again whenever the file changes, so a rotated Secret takes effect without a restart.

use super::files::Stamp;
use crate::secret::{constant_time_eq, Secret};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;

/// Short tokens can be guessed; 16 characters of a random token are plenty.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("cannot read the token file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("the token in {path} is {len} characters long; at least {MIN_TOKEN_LEN} are needed")]
    TooShort { path: PathBuf, len: usize },
    #[error("the token in {path} must be one line of printable ASCII")]
    NotPrintable { path: PathBuf },
}

#[derive(Debug)]
struct Loaded {
    stamp: Stamp,
    token: Secret,
}

/// The token and where it comes from. A file that turns unreadable or invalid keeps the
/// last good token, with a warning, so a half-written Secret never locks everyone out.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

fn read(path: &Path) -> Result<Secret, TokenError> {
    let raw = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let token = raw.trim();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::NotPrintable {
            path: path.to_owned(),
        });
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort {
            path: path.to_owned(),
            len: token.len(),
        });
    }
    Ok(Secret::new(token))
}

impl TokenFile {
    pub fn open(path: PathBuf) -> Result<Self, TokenError> {
        let stamp = Stamp::of([path.as_path()]);
        let token = read(&path)?;
        Ok(Self {
            path,
            loaded: Mutex::new(Loaded { stamp, token }),
        })
    }

    /// The token now, re-read if the file changed since it was last read.
    pub fn current(&self) -> Secret {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = Stamp::of([self.path.as_path()]);
        if stamp != loaded.stamp {
            match read(&self.path) {
                Ok(token) => {
                    if token != loaded.token {
                        tracing::info!(file = %self.path.display(), "control token reloaded");
                    }
                    loaded.token = token;
                }
                Err(e) => tracing::warn!(error = %e, "keeping the previous control token"),
            }
            loaded.stamp = stamp;
        }
        loaded.token.clone()
    }

    /// Whether `presented` is the token, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.current().expose().as_bytes(), presented.as_bytes())
    }
}
