//! Moving a held session to another database at cutover: a new backend session with
//! the same start-up parameters and credential, the client's session parameters
//! re-applied, and its named prepared statements prepared again, so the client sees
//! no error and its cached statements keep working.

use super::session::SessionCtl;
use crate::auth::Credential;
use crate::backend::{Backend, BackendSession};
use crate::pgio::read_message;
use crate::stream::Stream;
use crate::wire::pg::backend::{error_fields, parameter_status};
use crate::wire::pg::codec::{put_cstr, put_message};
use bytes::BytesMut;
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

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Opens and prepares the new backend session; returns it with the ParameterStatus
/// messages the client must be sent (values that differ from what it has seen).
pub async fn prepare_session(
    backend: &Backend,
    params: &[(String, String)],
    credential: &Credential,
    session: &SessionCtl,
) -> Result<(BackendSession, Vec<u8>), String> {
    let mut new = backend
        .open_session(params, credential)
        .await
        .map_err(|e| e.to_string())?;
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
    let mut out = Vec::new();
    let mut waits = 0;
    if !sets.is_empty() {
        put_message(&mut out, b'Q', |o| put_cstr(o, &sets));
        waits += 1;
    }
    if !statements.is_empty() {
        for parse in &statements {
            out.extend_from_slice(parse);
        }
        put_message(&mut out, b'S', |_| {});
        waits += 1;
    }
    if waits > 0 {
        new.stream
            .write_all(&out)
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = BytesMut::with_capacity(4096);
        let mut error = None;
        while waits > 0 {
            let (tag, body) = read_message(&mut new.stream, &mut buf)
                .await
                .map_err(|e| e.to_string())?;
            match tag {
                b'Z' => waits -= 1,
                b'E' => {
                    let (code, msg) = error_fields(&body);
                    error.get_or_insert(format!("{code}: {msg}"));
                }
                b'S' => {
                    if let Some((n, v)) = parameter_status(&body) {
                        match values.iter_mut().find(|(k, _)| k == n) {
                            Some((_, old)) => *old = v.to_owned(),
                            None => values.push((n.to_owned(), v.to_owned())),
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(format!("restoring session state failed: {e}"));
        }
    }
    let mut to_client = Vec::new();
    for (name, value) in &values {
        if seen.iter().find(|(n, _)| n == name).map(|(_, v)| v) != Some(value) {
            put_message(&mut to_client, b'S', |o| {
                put_cstr(o, name);
                put_cstr(o, value);
            });
            session.note_param(name, value);
        }
    }
    Ok((new, to_client))
}

/// Sends the client what changed and closes the old backend session.
pub async fn complete(
    client: &mut Stream,
    old: &mut Stream,
    to_client: &[u8],
) -> std::io::Result<()> {
    super::close_backend(old).await;
    if !to_client.is_empty() {
        client.write_all(to_client).await?;
    }
    Ok(())
}
