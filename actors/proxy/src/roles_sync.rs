//! `roles sync`: copies the password verifiers of the source's login roles to the target,
//! so the proxies can log every client in there at cutover.
//!
//! Verifiers are read with the proxy's own auth query and written as
//! `CREATE ROLE … LOGIN PASSWORD '<verifier>'` or `ALTER ROLE … PASSWORD '<verifier>'`;
//! PostgreSQL and CockroachDB store a pre-hashed password as given. Those statements carry
//! a verifier, so they go over a raw protocol session rather than tokio-postgres, which
//! logs statement text at debug level. No verifier reaches a log line, an error or a report.

use crate::auth::lookup::LookupError;
use crate::auth::{Credential, Verifier};
use crate::pg::backend::{Backend, BackendSession};
use crate::pg::io::read_message;
use crate::shared::Shared;
use bytes::BytesMut;
use molt_lms_api::roles::{RoleAction, RoleSync, RolesSyncRequest};
use molt_lms_api::SourceOfTruth;
use molt_lms_common::secret::Secret;
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::codec::{put_cstr, put_message};
use molt_lms_wire::pg::tag::{backend as be, frontend as fe};
use std::collections::HashMap;
use thiserror::Error;
use tokio::io::AsyncWriteExt;

/// `application_name` of the service sessions `roles sync` opens.
const APPLICATION_NAME: &str = "molt-lms roles sync";

/// Every login role on the source; `pg_`-prefixed ones are dropped afterwards.
const LIST_LOGIN_ROLES: &str = "SELECT rolname::text, rolcanlogin, rolsuper \
     FROM pg_catalog.pg_roles WHERE rolcanlogin ORDER BY 1";
/// The named roles, on either database.
const NAMED_ROLES: &str = "SELECT rolname::text, rolcanlogin, rolsuper \
     FROM pg_catalog.pg_roles WHERE rolname::text = ANY($1::text[]) ORDER BY 1";

#[derive(Debug, Error)]
pub enum RolesSyncError {
    /// The source speaks MySQL: its accounts' hashes are not PostgreSQL verifiers.
    #[error(
        "roles sync copies PostgreSQL password verifiers, and the source speaks MySQL; \
         create the target's roles with their passwords instead. Nothing was changed"
    )]
    MysqlSource,
    /// Roles named with `--role` that are not login roles on the source.
    #[error(
        "no login role named {} on the source database (it does not exist or lacks LOGIN); \
         nothing was changed",
        .0.join(", ")
    )]
    UnknownRoles(Vec<String>),
    #[error("cannot list the roles of the {db} database: {message}")]
    List { db: SourceOfTruth, message: String },
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot open a session on the target database to change roles: {0}")]
    Session(String),
    #[error(
        "{verb} ROLE {role} on the target database failed: {message}; {done} role(s) had \
         been changed before it, the rest were not tried"
    )]
    Apply {
        verb: &'static str,
        role: String,
        message: String,
        done: usize,
    },
}

impl RolesSyncError {
    /// The HTTP status: the caller's mistake, or a database that failed.
    pub fn status(&self) -> u16 {
        match self {
            RolesSyncError::UnknownRoles(_) => 400,
            RolesSyncError::MysqlSource => 409,
            _ => 502,
        }
    }

    /// The `ApiError` code.
    pub fn code(&self) -> &'static str {
        match self {
            RolesSyncError::UnknownRoles(_) => "unknown_role",
            RolesSyncError::MysqlSource => "unsupported_source",
            _ => "database_error",
        }
    }
}

/// A login role of the source, as `pg_roles` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRole {
    pub name: String,
    pub superuser: bool,
}

/// The service users of `INIT_SOURCE` and `INIT_TARGET`, whose passwords sync never touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUsers {
    pub source: String,
    pub target: String,
}

/// A role as the target stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRole {
    Missing,
    Present {
        can_login: bool,
        /// The stored verifier text (`None`: no row from the auth query, or NULL).
        verifier: Option<Secret>,
    },
}

/// What sync does to one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `CREATE ROLE … LOGIN PASSWORD …`.
    Create,
    /// `ALTER ROLE …` with `LOGIN` when it lacks it, and `PASSWORD` when the verifier differs.
    Update {
        login: bool,
        password: bool,
        had_verifier: bool,
    },
    Unchanged,
    Skip(String),
}

/// Why a role is left alone before any verifier is read, if it is.
pub fn pre_skip(role: &SourceRole, named: bool, service: &ServiceUsers) -> Option<String> {
    let of = if role.name == service.source {
        Some("INIT_SOURCE")
    } else if role.name == service.target {
        Some("INIT_TARGET")
    } else {
        None
    };
    if let Some(of) = of {
        return Some(format!(
            "the service user of {of}: changing its password would cut the proxy's own \
             service sessions; copy it by hand"
        ));
    }
    if role.superuser && !named {
        return Some(
            "a superuser on the source: copy it by hand, or name it with --role".to_owned(),
        );
    }
    None
}

/// The change that makes the target store the source's verifier.
pub fn decide(source: Option<&Secret>, target: &TargetRole) -> Change {
    let usable = source.is_some_and(|s| Verifier::parse(s.expose()).is_some());
    if !usable {
        return Change::Skip(
            "no SCRAM-SHA-256 or md5 password verifier on the source (no password, or \
             another format)"
                .to_owned(),
        );
    }
    match target {
        TargetRole::Missing => Change::Create,
        TargetRole::Present {
            can_login,
            verifier,
        } => {
            let password = verifier.as_ref() != source;
            if !password && *can_login {
                return Change::Unchanged;
            }
            Change::Update {
                login: !can_login,
                password,
                had_verifier: verifier.is_some(),
            }
        }
    }
}

impl Change {
    /// The report's line for `role`.
    pub fn line(&self, role: &str) -> RoleSync {
        let (action, reason) = match self {
            Change::Create => (
                RoleAction::Created,
                "missing on the target: created with LOGIN and the source's password verifier"
                    .to_owned(),
            ),
            Change::Update {
                login,
                password,
                had_verifier,
            } => {
                let mut parts = Vec::new();
                if *password && *had_verifier {
                    parts.push("the target stored another password verifier: set to the source's");
                } else if *password {
                    parts.push("the target stored no password verifier: set to the source's");
                }
                if *login {
                    parts.push("it could not log in on the target: LOGIN granted");
                }
                (RoleAction::Updated, parts.join("; "))
            }
            Change::Unchanged => (
                RoleAction::Unchanged,
                "the target stores the same password verifier".to_owned(),
            ),
            Change::Skip(why) => (RoleAction::Skipped, why.clone()),
        };
        RoleSync {
            role: role.to_owned(),
            action,
            reason,
        }
    }

    /// The statement that applies the change, with the verifier in it; `None` when there is
    /// nothing to do.
    pub fn statement(&self, role: &str, verifier: &Secret) -> Option<Secret> {
        let password = || format!(" PASSWORD {}", quote_literal(verifier.expose()));
        let sql = match self {
            Change::Create => format!("CREATE ROLE {} LOGIN{}", quote_ident(role), password()),
            Change::Update {
                login, password: p, ..
            } => format!(
                "ALTER ROLE {}{}{}",
                quote_ident(role),
                if *login { " LOGIN" } else { "" },
                if *p { password() } else { String::new() }
            ),
            Change::Unchanged | Change::Skip(_) => return None,
        };
        Some(Secret::new(sql))
    }

    fn verb(&self) -> &'static str {
        match self {
            Change::Create => "CREATE",
            _ => "ALTER",
        }
    }
}

/// An SQL identifier: `"…"` with embedded double quotes doubled.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// An SQL string literal: `'…'` with embedded quotes doubled (standard_conforming_strings).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One role's planned change, with the source's verifier when one is needed.
struct Planned {
    role: String,
    change: Change,
    verifier: Option<Secret>,
}

/// Plans, and unless `dry_run` applies, the changes that give the target the source's
/// verifiers. The lines say what was (or would be) done, role by role.
pub async fn sync(
    shared: &Shared,
    req: &RolesSyncRequest,
) -> Result<Vec<RoleSync>, RolesSyncError> {
    if shared.mysql.is_some() {
        return Err(RolesSyncError::MysqlSource);
    }
    let named = dedup(&req.roles);
    let roles = source_roles(shared, &named).await?;
    let on_target = target_roles(shared, &roles).await?;
    let service = ServiceUsers {
        source: shared.settings.source.user.clone(),
        target: shared.settings.target.user.clone(),
    };
    let mut plan = Vec::with_capacity(roles.len());
    for role in roles {
        if let Some(why) = pre_skip(&role, !named.is_empty(), &service) {
            plan.push(Planned {
                role: role.name,
                change: Change::Skip(why),
                verifier: None,
            });
            continue;
        }
        let verifier = shared
            .lookup(SourceOfTruth::Source)
            .stored_verifier(&role.name)
            .await?;
        let target = match on_target.get(&role.name) {
            None => TargetRole::Missing,
            Some(&can_login) => TargetRole::Present {
                can_login,
                verifier: shared
                    .lookup(SourceOfTruth::Target)
                    .stored_verifier(&role.name)
                    .await?,
            },
        };
        let change = decide(verifier.as_ref(), &target);
        plan.push(Planned {
            role: role.name,
            change,
            verifier,
        });
    }
    if !req.dry_run {
        apply(shared.backend(SourceOfTruth::Target), &plan).await?;
    }
    let lines: Vec<RoleSync> = plan.iter().map(|p| p.change.line(&p.role)).collect();
    for l in &lines {
        tracing::info!(role = %l.role, action = l.action.as_str(), dry_run = req.dry_run, "roles sync");
    }
    Ok(lines)
}

/// Names without blanks and repeats, in the order given.
fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    out
}

/// The source's login roles: the named ones (all of which must exist and log in), or all.
async fn source_roles(
    shared: &Shared,
    named: &[String],
) -> Result<Vec<SourceRole>, RolesSyncError> {
    let rows = query_roles(shared.backend(SourceOfTruth::Source), named).await?;
    let login: Vec<SourceRole> = rows
        .into_iter()
        .filter(|r| r.can_login && (!named.is_empty() || !r.name.starts_with("pg_")))
        .map(|r| SourceRole {
            name: r.name,
            superuser: r.superuser,
        })
        .collect();
    let unknown: Vec<String> = named
        .iter()
        .filter(|n| !login.iter().any(|r| &r.name == *n))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(RolesSyncError::UnknownRoles(unknown));
    }
    Ok(login)
}

/// Which of `roles` exist on the target, and whether each can log in there.
async fn target_roles(
    shared: &Shared,
    roles: &[SourceRole],
) -> Result<HashMap<String, bool>, RolesSyncError> {
    if roles.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
    let rows = query_roles(shared.backend(SourceOfTruth::Target), &names).await?;
    Ok(rows.into_iter().map(|r| (r.name, r.can_login)).collect())
}

struct RoleRow {
    name: String,
    can_login: bool,
    superuser: bool,
}

/// `pg_roles` rows of `names`, or of every login role when `names` is empty.
async fn query_roles(backend: &Backend, names: &[String]) -> Result<Vec<RoleRow>, RolesSyncError> {
    let db = backend.role;
    let failed = |message: String| RolesSyncError::List { db, message };
    let client = backend
        .service_client(APPLICATION_NAME)
        .await
        .map_err(failed)?;
    let rows = if names.is_empty() {
        client.query(LIST_LOGIN_ROLES, &[]).await
    } else {
        client.query(NAMED_ROLES, &[&names]).await
    }
    .map_err(|e| failed(db_message(&e)))?;
    rows.iter()
        .map(|r| {
            Ok(RoleRow {
                name: r.try_get(0)?,
                can_login: r.try_get(1)?,
                superuser: r.try_get(2)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(|e| failed(db_message(&e)))
}

/// The database's own message, or the client's for a failure without one.
fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// Runs the planned statements on the target, in order, over one session.
async fn apply(target: &Backend, plan: &[Planned]) -> Result<(), RolesSyncError> {
    let work: Vec<(&Planned, Secret)> = plan
        .iter()
        .filter_map(|p| {
            let verifier = p.verifier.as_ref()?;
            Some((p, p.change.statement(&p.role, verifier)?))
        })
        .collect();
    if work.is_empty() {
        return Ok(());
    }
    let mut session = AdminSession::open(target).await?;
    for (done, (p, sql)) in work.iter().enumerate() {
        if let Err(message) = session.execute(sql).await {
            return Err(RolesSyncError::Apply {
                verb: p.change.verb(),
                role: p.role.clone(),
                message: scrub(&message, p.verifier.as_ref()),
                done,
            });
        }
    }
    session.close().await;
    Ok(())
}

/// `message` with the verifier cut out, should a database ever echo one back.
fn scrub(message: &str, verifier: Option<&Secret>) -> String {
    match verifier.map(Secret::expose).filter(|v| !v.is_empty()) {
        Some(v) => message.replace(v, "***"),
        None => message.to_owned(),
    }
}

/// A simple-protocol session as the service user, opened with the proxy's own start-up
/// code: nothing on this path logs the statements it sends.
struct AdminSession {
    session: BackendSession,
    buf: BytesMut,
}

impl AdminSession {
    async fn open(backend: &Backend) -> Result<Self, RolesSyncError> {
        let params = [
            ("user", backend.url.user.as_str()),
            ("database", backend.url.database.as_str()),
            ("application_name", APPLICATION_NAME),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let credential = Credential::Password(backend.url.password.clone().unwrap_or_default());
        let session = backend
            .open_session(&params, &credential)
            .await
            .map_err(|e| RolesSyncError::Session(e.to_string()))?;
        Ok(Self {
            session,
            buf: BytesMut::with_capacity(1024),
        })
    }

    /// Runs one statement; on failure, the database's message and SQLSTATE.
    async fn execute(&mut self, sql: &Secret) -> Result<(), String> {
        let mut out = Vec::with_capacity(sql.expose().len() + 6);
        put_message(&mut out, fe::QUERY, |o| put_cstr(o, sql.expose()));
        let stream = &mut self.session.stream;
        stream.write_all(&out).await.map_err(|e| e.to_string())?;
        let mut error = None;
        loop {
            let (tag, body) = read_message(stream, &mut self.buf)
                .await
                .map_err(|e| e.to_string())?;
            match tag {
                be::ERROR_RESPONSE => {
                    let (code, message) = error_fields(&body);
                    error = Some(format!("{message} (SQLSTATE {code})"));
                }
                be::READY_FOR_QUERY => return error.map_or(Ok(()), Err),
                _ => {}
            }
        }
    }

    /// Sends Terminate; the server closes the session.
    async fn close(mut self) {
        let mut out = Vec::new();
        put_message(&mut out, fe::TERMINATE, |_| {});
        let _ = self.session.stream.write_all(&out).await;
        let _ = self.session.stream.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
