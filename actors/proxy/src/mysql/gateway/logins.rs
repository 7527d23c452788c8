//! Who a MySQL client is on the PostgreSQL-protocol target. The proxy checks a MySQL
//! client's password against the hash the source stores, which says nothing a
//! PostgreSQL login could use; so a target login needs credentials of its own. They come
//! from a secret file (`--mysql-target-logins`, JSON), one entry per MySQL user and an
//! optional `"*"` for everyone else:
//!
//! ```json
//! { "app":  { "user": "app",      "password": "…" },
//!   "*":    { "user": "readonly", "password": "…" } }
//! ```
//!
//! Without the file, every MySQL client logs in to the target as the target URL's own
//! user (`INIT_TARGET`), as the reference's single `LMS_URL` user does. With it, a MySQL
//! user that has no entry (and no `"*"`) cannot be served from the target: `cutover
//! check` names it, and a commit that would move its session is refused before the
//! point of no return.

use molt_lms_common::secret::Secret;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LoginsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// serde_json's message names the line and column, never a value.
    #[error("{path} is not a JSON object of {{\"user\", \"password\"}} entries: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: the entry for {mysql_user:?} has an empty target user")]
    EmptyUser { path: String, mysql_user: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    user: String,
    password: String,
}

/// A target login: role name and password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetLogin {
    pub user: String,
    pub password: Secret,
}

/// The file's entries.
#[derive(Clone, Debug, Default)]
pub struct TargetLogins {
    by_user: HashMap<String, TargetLogin>,
    fallback: Option<TargetLogin>,
}

impl TargetLogins {
    pub fn load(path: &Path) -> Result<Self, LoginsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoginsError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, LoginsError> {
        let entries: HashMap<String, Entry> =
            serde_json::from_str(text).map_err(|e| LoginsError::Parse {
                path: path.to_owned(),
                // Line and column only: serde's message may quote the offending value.
                message: format!("line {} column {}", e.line(), e.column()),
            })?;
        let mut logins = Self::default();
        for (mysql_user, e) in entries {
            if e.user.is_empty() {
                return Err(LoginsError::EmptyUser {
                    path: path.to_owned(),
                    mysql_user,
                });
            }
            let login = TargetLogin {
                user: e.user,
                password: Secret::new(e.password),
            };
            if mysql_user == "*" {
                logins.fallback = Some(login);
            } else {
                logins.by_user.insert(mysql_user, login);
            }
        }
        Ok(logins)
    }

    /// The login for the MySQL user `user`, if the file gives one.
    pub fn get(&self, user: &str) -> Option<&TargetLogin> {
        self.by_user.get(user).or(self.fallback.as_ref())
    }
}

#[cfg(test)]
mod tests;
