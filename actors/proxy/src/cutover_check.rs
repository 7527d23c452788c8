//! The proxy's part of `cutover check`, run before traffic is paused: for every role
//! with a session here, can the proxy log it in to the database a commit switches to
//! with what it holds; does every distinct named statement the clients hold parse
//! there; and does any session hold state that cannot move (advisory locks, temporary
//! tables). Each (role, database) gets one throwaway trial session, which executes
//! nothing: statements are only parsed and described.

use crate::auth::{Credential, Verifier};
use crate::client_conn::handoff::Identity;
use crate::client_conn::SketchData;
use crate::pg::backend::close as close_backend;
use crate::pg::backend::Backend;
use crate::pg::io::request_errors;
use crate::shadow::fingerprint::{cut, normalize};
use crate::shared::Shared;
use molt_lms_api::check::{
    ProxyCheck, RoleCheck, RoleVerdict, SessionCheck, StatementCheck, StatementVerdict,
};
use molt_lms_api::SourceOfTruth;
use molt_lms_wire::pg::codec::{cstr_bytes, put_cstr, put_message};
use molt_lms_wire::pg::frontend::parse_statement;
use molt_lms_wire::pg::tag::{frontend as fe, target};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long one trial session (log in, parse every statement) may take.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest statement text shown.
const STATEMENT_TEXT: usize = 200;

/// What the new database's auth query returned for a role.
#[derive(Debug)]
pub(crate) enum Stored {
    /// No row, or no password.
    Missing,
    /// A value that is not a verifier: CockroachDB's `pg_authid` shows `********`.
    Hidden,
    Verifier(Verifier),
}

impl Stored {
    pub(crate) fn from_text(text: Option<&str>) -> Self {
        match text {
            None => Stored::Missing,
            Some(t) => Verifier::parse(t).map_or(Stored::Hidden, Stored::Verifier),
        }
    }
}

/// Whether the credential a session holds logs in where `target` is stored. A hidden
/// verifier passes here: the trial login decides.
pub(crate) fn role_verdict(
    held: &Credential,
    target: &Stored,
    to: SourceOfTruth,
) -> (RoleVerdict, String) {
    let method = |v: &Verifier| match v {
        Verifier::Scram(_) => "SCRAM-SHA-256",
        Verifier::Md5(_) => "md5",
        Verifier::MysqlNative(_) => "mysql_native_password",
    };
    let target = match target {
        Stored::Hidden => {
            return (
                RoleVerdict::Ok,
                format!("the {to} database does not show its verifier (CockroachDB hides it); the trial login decides"),
            )
        }
        Stored::Missing => None,
        Stored::Verifier(v) => Some(v),
    };
    match (held, target) {
        (Credential::MysqlNative(_), _) => (
            RoleVerdict::MethodMismatch,
            // MySQL sessions are checked by `check_mysql`; a MySQL credential never logs
            // in to a PostgreSQL-protocol database itself.
            format!("a MySQL session (mysql_native_password) cannot log in to the {to} database with its own credential"),
        ),
        (_, None) => (
            RoleVerdict::RoleMissing,
            format!("no login role with a password of that name on the {to} database; `molt-lms-cli roles sync` copies it"),
        ),
        (Credential::ScramKey { keys, .. }, Some(Verifier::Scram(k))) if keys == k => {
            (RoleVerdict::Ok, format!("the {to} database stores the same verifier"))
        }
        (Credential::Md5Hash(h), Some(Verifier::Md5(m))) if h == m => {
            (RoleVerdict::Ok, format!("the {to} database stores the same verifier"))
        }
        (Credential::ScramKey { .. }, Some(v @ Verifier::Scram(_)))
        | (Credential::Md5Hash(_), Some(v @ Verifier::Md5(_))) => (
            RoleVerdict::VerifierDiffers,
            format!(
                "the {to} database stores another {} verifier (another salt, iteration count or password), so the proxy cannot log in there with the key it holds; `molt-lms-cli roles sync` copies the verifier",
                method(v)
            ),
        ),
        (Credential::ScramKey { .. }, Some(v)) | (Credential::Md5Hash(_), Some(v)) => (
            RoleVerdict::MethodMismatch,
            format!(
                "the session logged in with {} but the {to} database stores {}; `molt-lms-cli roles sync` copies the verifier",
                match held {
                    Credential::ScramKey { .. } => "SCRAM-SHA-256",
                    _ => "md5",
                },
                method(v)
            ),
        ),
        (Credential::Password(_), Some(_)) => (RoleVerdict::Ok, "logs in with a password".into()),

    }
}

/// The Parse message of the same statement, unnamed, so a trial never collides.
fn unnamed_parse(raw: &[u8]) -> Option<Vec<u8>> {
    let body = raw.get(5..)?;
    let (_, n) = cstr_bytes(body)?;
    let mut out = Vec::with_capacity(raw.len());
    put_message(&mut out, fe::PARSE, |o| {
        put_cstr(o, "");
        o.extend_from_slice(&body[n..]);
    });
    Some(out)
}

/// `(name, normalized text)` of a raw Parse message.
fn statement_label(raw: &[u8]) -> (String, String) {
    match raw.get(5..).and_then(parse_statement) {
        Some((name, q)) => (
            String::from_utf8_lossy(name).into_owned(),
            cut(&normalize(&String::from_utf8_lossy(q)), STATEMENT_TEXT),
        ),
        None => ("?".into(), "(unreadable Parse message)".into()),
    }
}

/// Logs in on `backend` as the session did and parses each statement; per statement the
/// database's error, if any, or the login's error.
async fn trial(
    backend: &Backend,
    identity: &Identity,
    statements: &[&Vec<u8>],
) -> Result<Vec<Option<String>>, String> {
    let mut s = backend
        .open_session(&identity.params, &identity.credential)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for raw in statements {
        let parse = unnamed_parse(raw).ok_or("unreadable Parse message")?;
        out.extend_from_slice(&parse);
        put_message(&mut out, fe::DESCRIBE, |o| {
            o.push(target::STATEMENT);
            put_cstr(o, "");
        });
        put_message(&mut out, fe::SYNC, |_| {});
    }
    let mut results = vec![None; statements.len()];
    if !statements.is_empty() {
        s.stream.write_all(&out).await.map_err(|e| e.to_string())?;
        results = request_errors(&mut s.stream, statements.len(), |_, _| {})
            .await
            .map_err(|e| e.to_string())?;
    }
    close_backend(&mut s.stream).await;
    Ok(results)
}

/// Per (role, database): a representative session (its index) and the distinct raw Parse
/// messages of all its sessions.
type Group = (usize, BTreeSet<Vec<u8>>);

/// Runs the check for the sessions described by `sketches`.
pub(crate) async fn check(shared: &Shared, sketches: Vec<SketchData>) -> ProxyCheck {
    if shared.mysql.is_some() {
        return check_mysql(shared, sketches).await;
    }
    let to = shared.source_of_truth().other();
    let backend = shared.backend(to);
    let mut roles: BTreeMap<String, RoleCheck> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for (i, s) in sketches.iter().enumerate() {
        let who = &s.identity;
        if !roles.contains_key(&who.user) {
            let stored = shared.lookup(to).stored_verifier(&who.user).await;
            let (verdict, detail) = match stored {
                Ok(v) => role_verdict(
                    &who.credential,
                    &Stored::from_text(v.as_ref().map(|t| t.expose())),
                    to,
                ),
                Err(e) => (RoleVerdict::LookupFailed, e.to_string()),
            };
            roles.insert(
                who.user.clone(),
                RoleCheck {
                    role: who.user.clone(),
                    sessions: 0,
                    verdict,
                    detail,
                },
            );
        }
        if let Some(r) = roles.get_mut(&who.user) {
            r.sessions += 1;
        }
        let g = groups
            .entry((who.user.clone(), who.database.clone()))
            .or_insert((i, BTreeSet::new()));
        for st in &s.statements {
            g.1.insert(st.clone());
        }
    }
    let mut statements = Vec::new();
    for ((user, database), (rep, stmts)) in groups {
        let raws: Vec<&Vec<u8>> = stmts.iter().collect();
        let label = |raw: &Vec<u8>, verdict, error: String| {
            let (name, query) = statement_label(raw);
            StatementCheck {
                role: user.clone(),
                database: database.clone(),
                name,
                query,
                verdict,
                error,
            }
        };
        let Some(role) = roles.get_mut(&user).filter(|r| r.verdict.passed()) else {
            let why = format!("role {user} cannot log in to the {to} database");
            statements.extend(
                raws.iter()
                    .map(|r| label(r, StatementVerdict::Unchecked, why.clone())),
            );
            continue;
        };
        let outcome = tokio::time::timeout(
            TRIAL_TIMEOUT,
            trial(backend, &sketches[rep].identity, &raws),
        )
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the {to} database did not answer within {}",
                humantime::format_duration(TRIAL_TIMEOUT)
            ))
        });
        match outcome {
            Ok(results) => statements.extend(raws.iter().zip(results).map(|(r, res)| match res {
                None => label(r, StatementVerdict::Ok, String::new()),
                Some(e) => label(r, StatementVerdict::Fails, e),
            })),
            Err(e) => {
                role.verdict = RoleVerdict::LoginFailed;
                role.detail = format!(
                    "a trial login to database {database} on the {to} database failed: {e}"
                );
                let why = format!("the trial login failed: {e}");
                statements.extend(
                    raws.iter()
                        .map(|r| label(r, StatementVerdict::Unchecked, why.clone())),
                );
            }
        }
    }
    report(shared, to, roles, statements, &sketches)
}

/// One proxy's check: its roles and statements as checked, and the sessions that cannot be
/// moved whatever the databases say.
fn report(
    shared: &Shared,
    to: SourceOfTruth,
    roles: BTreeMap<String, RoleCheck>,
    statements: Vec<StatementCheck>,
    sketches: &[SketchData],
) -> ProxyCheck {
    let sessions = sketches
        .iter()
        .filter(|s| !s.blockers.is_empty())
        .map(|s| SessionCheck {
            lms_address: shared.settings.advertise_address.clone(),
            connection_id: s.connection_id,
            role: s.identity.user.clone(),
            database: s.identity.database.clone(),
            reasons: s.blockers.clone(),
        })
        .collect();
    ProxyCheck {
        lms_address: shared.settings.advertise_address.clone(),
        to,
        roles: roles.into_values().collect(),
        statements,
        sessions,
    }
}

/// The check for MySQL sessions moving to the target: per user, the PostgreSQL login
/// the gateway will use and a trial of it that prepares every distinct statement the
/// user's sessions hold. A MySQL session moves back to a MySQL source only without
/// prepared statements (see `mysql::prepare`).
async fn check_mysql(shared: &Shared, sketches: Vec<SketchData>) -> ProxyCheck {
    let to = shared.source_of_truth().other();
    let mut roles: BTreeMap<String, RoleCheck> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), (usize, BTreeSet<String>)> = BTreeMap::new();
    for (i, s) in sketches.iter().enumerate() {
        let user = s.identity.user.clone();
        let texts = s
            .statements
            .iter()
            .filter_map(|e| crate::mysql::tracker::read_replay_entry(e))
            .map(|(_, t)| t);
        let role = roles.entry(user.clone()).or_insert_with(|| RoleCheck {
            role: user.clone(),
            sessions: 0,
            verdict: RoleVerdict::Ok,
            detail: String::new(),
        });
        role.sessions += 1;
        groups
            .entry((user, s.identity.database.clone()))
            .or_insert((i, BTreeSet::new()))
            .1
            .extend(texts);
    }
    let mut statements = Vec::new();
    for ((user, database), (rep, texts)) in groups {
        let texts: Vec<String> = texts.into_iter().collect();
        let role = roles
            .get_mut(&user)
            .expect("every group's user has a role entry");
        let label = |text: &str, verdict, error: String| StatementCheck {
            role: user.clone(),
            database: database.clone(),
            name: String::new(),
            query: cut(&normalize(text), STATEMENT_TEXT),
            verdict,
            error,
        };
        if to == SourceOfTruth::Source {
            role.detail = "logs in to the MySQL source with the key its password proof gave".into();
            if !texts.is_empty() {
                role.verdict = RoleVerdict::MethodMismatch;
                role.detail =
                    "holds prepared statements, which cannot move back to a MySQL source yet"
                        .into();
            }
            continue;
        }
        match crate::mysql::gateway::login_source(shared, &user) {
            Ok(d) => role.detail = d,
            Err(e) => {
                role.verdict = RoleVerdict::RoleMissing;
                role.detail = e.clone();
                statements.extend(
                    texts
                        .iter()
                        .map(|t| label(t, StatementVerdict::Unchecked, e.clone())),
                );
                continue;
            }
        }
        let outcome = tokio::time::timeout(
            TRIAL_TIMEOUT,
            crate::mysql::gateway::trial(shared, &sketches[rep].identity, &texts),
        )
        .await
        .unwrap_or_else(|_| Err(format!("the {to} database did not answer in time")));
        match outcome {
            Ok(results) => statements.extend(texts.iter().zip(results).map(|(t, r)| match r {
                None => label(t, StatementVerdict::Ok, String::new()),
                Some(e) => label(t, StatementVerdict::Fails, e),
            })),
            Err(e) => {
                role.verdict = RoleVerdict::LoginFailed;
                role.detail = format!("a trial login to the {to} database failed: {e}");
                let why = format!("the trial login failed: {e}");
                statements.extend(
                    texts
                        .iter()
                        .map(|t| label(t, StatementVerdict::Unchecked, why.clone())),
                );
            }
        }
    }
    report(shared, to, roles, statements, &sketches)
}

#[cfg(test)]
mod tests;
