//! The cutover check: before traffic is paused, can every session the proxies hold log
//! in to the database a commit switches to, and do their named statements parse there?

use serde::{Deserialize, Serialize};

/// Whether the proxies can log a role in to the new source of truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleVerdict {
    /// The new database stores the same verifier: logins will work.
    Ok,
    /// Both store a verifier of the same method, with a different salt or hash: the proxy
    /// cannot log in with what it holds. `roles sync` copies the verifier.
    VerifierDiffers,
    /// The role does not exist (or cannot log in) on the new database.
    RoleMissing,
    /// One database stores SCRAM-SHA-256, the other md5.
    MethodMismatch,
    /// The role's verifier could not be read on one of the databases.
    LookupFailed,
    /// The verifiers agree, but a trial login to the new database failed (a missing
    /// database, `pg_hba.conf`, a connection limit, the database being down).
    LoginFailed,
}

impl RoleVerdict {
    pub fn passed(self) -> bool {
        self == RoleVerdict::Ok
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoleVerdict::Ok => "ok",
            RoleVerdict::VerifierDiffers => "verifier differs",
            RoleVerdict::RoleMissing => "role missing",
            RoleVerdict::MethodMismatch => "method mismatch",
            RoleVerdict::LookupFailed => "lookup failed",
            RoleVerdict::LoginFailed => "login failed",
        }
    }
}

/// One role with sessions on a proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCheck {
    pub role: String,
    /// Sessions of this role (on this proxy, or summed over proxies once merged).
    pub sessions: u64,
    pub verdict: RoleVerdict,
    /// Why, in a sentence; never a verifier.
    pub detail: String,
}

/// Whether a named prepared statement a client holds parses on the new database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementVerdict {
    Ok,
    /// The new database refused it (Parse or Describe failed).
    Fails,
    /// Not tried: the role could not log in to the new database.
    Unchecked,
}

impl StatementVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementVerdict::Ok => "ok",
            StatementVerdict::Fails => "FAILS",
            StatementVerdict::Unchecked => "unchecked",
        }
    }
}

/// One distinct named statement, per role and database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementCheck {
    pub role: String,
    pub database: String,
    /// The client's name for the statement.
    pub name: String,
    /// Its text with literals replaced by `?`.
    pub query: String,
    pub verdict: StatementVerdict,
    /// The database's error (SQLSTATE: message), or why it was not tried.
    pub error: String,
}

/// A session whose state a commit cannot move: it may hold session-level advisory locks
/// or temporary tables, or changed its role in a way whose outcome the proxy cannot tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCheck {
    pub lms_address: String,
    pub connection_id: u64,
    pub role: String,
    pub database: String,
    /// Why, one sentence each.
    pub reasons: Vec<String>,
}

/// One proxy's check: `GET /api/v1/cutover/check` on its admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyCheck {
    pub lms_address: String,
    /// The database a commit would switch to.
    pub to: crate::SourceOfTruth,
    pub roles: Vec<RoleCheck>,
    pub statements: Vec<StatementCheck>,
    #[serde(default)]
    pub sessions: Vec<SessionCheck>,
}

impl ProxyCheck {
    pub fn passed(&self) -> bool {
        self.sessions.is_empty()
            && self.roles.iter().all(|r| r.verdict.passed())
            && self
                .statements
                .iter()
                .all(|s| s.verdict == StatementVerdict::Ok)
    }
}

/// The orchestrator's merged check: `GET /api/v1/cutover/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// True when a commit is expected to succeed: every role passes, every statement
    /// parses, no session holds what cannot move, and every proxy answered.
    pub passed: bool,
    pub proxies: Vec<String>,
    /// Proxies that did not answer, with why.
    pub unreachable: Vec<String>,
    pub roles: Vec<RoleCheck>,
    pub statements: Vec<StatementCheck>,
    #[serde(default)]
    pub sessions: Vec<SessionCheck>,
}

impl CheckReport {
    /// Merges proxies' checks: roles by name (sessions summed, worst verdict kept),
    /// statements by role, database, name and text.
    pub fn merge(checks: Vec<ProxyCheck>, unreachable: Vec<String>) -> Self {
        let mut roles: Vec<RoleCheck> = Vec::new();
        let mut statements: Vec<StatementCheck> = Vec::new();
        let mut sessions: Vec<SessionCheck> = Vec::new();
        let mut proxies = Vec::new();
        for c in checks {
            proxies.push(c.lms_address);
            sessions.extend(c.sessions);
            for r in c.roles {
                match roles.iter_mut().find(|x| x.role == r.role) {
                    Some(x) => {
                        x.sessions += r.sessions;
                        if r.verdict > x.verdict {
                            x.verdict = r.verdict;
                            x.detail = r.detail;
                        }
                    }
                    None => roles.push(r),
                }
            }
            for s in c.statements {
                let same = |x: &&mut StatementCheck| {
                    x.role == s.role
                        && x.database == s.database
                        && x.name == s.name
                        && x.query == s.query
                };
                match statements.iter_mut().find(same) {
                    Some(x) if s.verdict > x.verdict => *x = s,
                    Some(_) => {}
                    None => statements.push(s),
                }
            }
        }
        roles.sort_by(|a, b| b.verdict.cmp(&a.verdict).then(a.role.cmp(&b.role)));
        statements.sort_by(|a, b| {
            b.verdict
                .cmp(&a.verdict)
                .then(a.role.cmp(&b.role))
                .then(a.name.cmp(&b.name))
        });
        proxies.sort();
        sessions.sort_by(|a, b| {
            (&a.lms_address, a.connection_id).cmp(&(&b.lms_address, b.connection_id))
        });
        let passed = unreachable.is_empty()
            && sessions.is_empty()
            && roles.iter().all(|r| r.verdict.passed())
            && statements.iter().all(|s| s.verdict == StatementVerdict::Ok);
        Self {
            passed,
            proxies,
            unreachable,
            roles,
            statements,
            sessions,
        }
    }

    /// One line per problem, for an error message (empty when passed).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .unreachable
            .iter()
            .map(|u| format!("proxy {u} did not answer the check"))
            .collect();
        out.extend(self.roles.iter().filter(|r| !r.verdict.passed()).map(|r| {
            format!(
                "role {} ({} sessions): {}: {}",
                r.role,
                r.sessions,
                r.verdict.as_str(),
                r.detail
            )
        }));
        out.extend(
            self.statements
                .iter()
                .filter(|s| s.verdict != StatementVerdict::Ok)
                .map(|s| {
                    format!(
                        "statement {} of role {} in database {} ({}): {}",
                        s.name, s.role, s.database, s.query, s.error
                    )
                }),
        );
        out.extend(self.sessions.iter().map(|s| {
            format!(
                "session {} on {} (role {}, database {}) cannot be moved: {}",
                s.connection_id,
                s.lms_address,
                s.role,
                s.database,
                s.reasons.join("; ")
            )
        }));
        out
    }
}

#[cfg(test)]
mod tests;
