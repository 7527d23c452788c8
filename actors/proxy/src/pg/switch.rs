//! Moving a held session to another database at cutover, in two steps. `prepare` runs
//! while the client is still held and the old database is still the source of truth: a
//! new backend session with the same start-up parameters and credential, the statements
//! that rebuild its role, session authorization and `LISTEN` channels replayed, the
//! client's session parameters re-applied, its named prepared statements prepared again.
//! A session that may hold what cannot move (advisory locks, temporary tables) is refused
//! before any of that (see `session_state`). Nothing
//! is sent to the client, so a failure here changes nothing for it. `complete` runs after
//! the point of no return and only swaps sessions: it closes the old one and tells the
//! client which reported parameters changed.

use crate::client_conn::handoff::Identity;
use crate::client_conn::session::SessionCtl;
use crate::pg::backend::{Backend, BackendSession};
use crate::pg::io::request_errors;
use crate::protocol::{PrepareError, Prepared};
use crate::shadow::fingerprint::{cut, normalize};
use molt_lms_api::cutover::PrepareStage;
use molt_lms_common::stream::Stream;
use molt_lms_wire::pg::backend::parameter_status;
use molt_lms_wire::pg::codec::{put_cstr, put_message};
use molt_lms_wire::pg::frontend::parse_statement;
use molt_lms_wire::pg::tag::{backend as be, frontend as fe};
use tokio::io::AsyncWriteExt;

/// Reported parameters a session can set; the rest describe the server.
const SETTABLE: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "standard_conforming_strings",
    "default_transaction_read_only",
    "search_path",
];

/// Longest statement text a failure names.
const STATEMENT_TEXT: usize = 200;

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `name (normalized text)` of a raw Parse message, for a failure report.
fn describe_statement(raw: &[u8]) -> String {
    match raw.get(5..).and_then(parse_statement) {
        Some((name, query)) => format!(
            "{} ({})",
            String::from_utf8_lossy(name),
            cut(&normalize(&String::from_utf8_lossy(query)), STATEMENT_TEXT)
        ),
        None => "(unreadable Parse message)".to_owned(),
    }
}

/// One request of a preparation, for naming what failed.
enum Step<'a> {
    /// A statement that rebuilds session state (`SET ROLE`, `LISTEN`).
    Carry(&'a str),
    SessionParameters,
    Statement(&'a [u8]),
}

/// Opens and prepares a session on `backend` for a client whose session state is
/// `session`. Sends nothing to the client and changes nothing in `session`.
pub(crate) async fn prepare(
    backend: &Backend,
    identity: &Identity,
    session: &SessionCtl,
) -> Result<Prepared<BackendSession>, PrepareError> {
    let carry = session.carry();
    if !carry.blockers.is_empty() {
        return Err(PrepareError::new(
            PrepareStage::SessionState,
            format!(
                "the session cannot be moved: {}; end it (or release what it holds) and commit again",
                carry.blockers.join("; ")
            ),
        ));
    }
    let mut new = backend
        .open_session(&identity.params, &identity.credential)
        .await
        .map_err(|e| PrepareError::new(PrepareStage::Login, e.to_string()))?;
    let mut values = new.params.clone();
    let seen = session.reported_params();
    let mut sets = String::new();
    for (name, value) in &seen {
        let differs = values.iter().find(|(n, _)| n == name).map(|(_, v)| v) != Some(value);
        if differs && SETTABLE.contains(&name.as_str()) {
            sets.push_str(&format!("SET \"{name}\" = {};", quote_literal(value)));
        }
    }
    let statements = session.prepared_statements();
    // One request per statement, pipelined, so each error names its statement.
    let mut requests: Vec<Step<'_>> = Vec::new();
    let mut out = Vec::new();
    for sql in &carry.replay {
        put_message(&mut out, fe::QUERY, |o| put_cstr(o, sql));
        requests.push(Step::Carry(sql));
    }
    if !sets.is_empty() {
        put_message(&mut out, fe::QUERY, |o| put_cstr(o, &sets));
        requests.push(Step::SessionParameters);
    }
    for parse in &statements {
        out.extend_from_slice(parse);
        put_message(&mut out, fe::SYNC, |_| {});
        requests.push(Step::Statement(parse));
    }
    if !requests.is_empty() {
        let io = |e: std::io::Error| PrepareError::new(PrepareStage::Login, e.to_string());
        new.stream.write_all(&out).await.map_err(io)?;
        let errors = request_errors(&mut new.stream, requests.len(), |tag, body| {
            if let Some((n, v)) = (tag == be::PARAMETER_STATUS)
                .then(|| parameter_status(body))
                .flatten()
            {
                match values.iter_mut().find(|(k, _)| k == n) {
                    Some((_, old)) => *old = v.to_owned(),
                    None => values.push((n.to_owned(), v.to_owned())),
                }
            }
        })
        .await
        .map_err(|e| PrepareError::new(PrepareStage::Login, e.to_string()))?;
        let first = requests.iter().zip(errors).find_map(|(r, e)| Some((r, e?)));
        if let Some((request, message)) = first {
            let (stage, statement) = match request {
                Step::Carry(sql) => (
                    PrepareStage::SessionState,
                    Some(cut(&normalize(sql), STATEMENT_TEXT)),
                ),
                Step::SessionParameters => (PrepareStage::SessionParameters, None),
                Step::Statement(raw) => (
                    PrepareStage::PreparedStatement,
                    Some(describe_statement(raw)),
                ),
            };
            super::backend::close(&mut new.stream).await;
            return Err(PrepareError {
                stage,
                statement,
                message,
            });
        }
    }
    let changes = values
        .into_iter()
        .filter(|(name, value)| seen.iter().find(|(n, _)| n == name).map(|(_, v)| v) != Some(value))
        .collect();
    Ok(Prepared {
        session: new,
        changes,
        statements: statements.len(),
    })
}

/// Closes the old backend session and tells the client which reported parameters
/// changed (recording them as seen). Past the point of no return: nothing here asks
/// the new database anything.
pub(crate) async fn complete(
    client: &mut Stream,
    old: &mut Stream,
    changes: &[(String, String)],
    session: &SessionCtl,
) -> std::io::Result<()> {
    super::backend::close(old).await;
    if changes.is_empty() {
        return Ok(());
    }
    let mut to_client = Vec::new();
    for (name, value) in changes {
        put_message(&mut to_client, be::PARAMETER_STATUS, |o| {
            put_cstr(o, name);
            put_cstr(o, value);
        });
        session.note_param(name, value);
    }
    client.write_all(&to_client).await
}

#[cfg(test)]
mod tests;
