//! `roles sync`: copying the source's login roles' password verifiers to the target, so
//! the proxies can log every client in there at cutover.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/roles/sync` on the orchestrator (forwarded to one proxy).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RolesSyncRequest {
    /// Report what would change, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Only these roles; empty means every login role with a password verifier.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// What `roles sync` did (or, in a dry run, would do) to one role on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleAction {
    /// Missing on the target: created with LOGIN and the source's verifier, nothing else.
    Created,
    /// On the target with another (or no) verifier: its password set to the source's.
    Updated,
    /// The target stores the same verifier already.
    Unchanged,
    /// Left alone; `reason` says why.
    Skipped,
}

impl RoleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleAction::Created => "created",
            RoleAction::Updated => "updated",
            RoleAction::Unchanged => "unchanged",
            RoleAction::Skipped => "skipped",
        }
    }
}

/// One role's line. Never carries a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSync {
    pub role: String,
    pub action: RoleAction,
    #[serde(default)]
    pub reason: String,
}

/// The answer of `POST /api/v1/roles/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesSyncReport {
    pub dry_run: bool,
    /// The proxy whose service sessions read the source and wrote the target.
    pub lms_address: String,
    pub roles: Vec<RoleSync>,
}
