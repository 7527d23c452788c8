//! `connections list`: one row per client connection.

use super::{captioned, one_line, table, truncate, Dialects};
use molt_lms_api::{ConnectionInfo, ConnectionState, Dialect};
use serde::{Deserialize, Serialize};

/// Longest query shown in a table cell; JSON always carries the whole query.
const QUERY_CELL_CHARS: usize = 80;

/// A connection in `-o json`: every [`ConnectionInfo`] field (so the reference's
/// `remote_address` = proxy, `source_address` = client, `source_of_truth`, `last_query`,
/// `error`), plus the dialect of its source of truth, as `ProxyStatus` has it too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    #[serde(flatten)]
    pub info: ConnectionInfo,
    pub source_of_truth_dialect: Option<Dialect>,
}

pub fn connections_json(conns: &[ConnectionInfo], dialects: &Dialects) -> Vec<ConnectionView> {
    conns
        .iter()
        .map(|c| ConnectionView {
            info: c.clone(),
            source_of_truth_dialect: dialects.get(c.source_of_truth),
        })
        .collect()
}

pub fn connections_table(conns: &[ConnectionInfo], dialects: &Dialects) -> String {
    let rows = conns.iter().map(|c| {
        vec![
            c.remote_address.clone(),
            c.source_address.clone(),
            state_name(c.state).to_owned(),
            dialects.name(c.source_of_truth),
            c.user.clone(),
            c.database.clone(),
            truncate(&one_line(&c.last_query), QUERY_CELL_CHARS),
            c.error.clone(),
        ]
    });
    let t = table(
        &[
            "LMS ADDRESS",
            "CLIENT ADDRESS",
            "STATE",
            "SOURCE OF TRUTH",
            "USER",
            "DATABASE",
            "LAST QUERY",
            "ERROR",
        ],
        rows,
    );
    captioned(&t, "Connections Details.")
}

/// The same words as the JSON value, so table and JSON read alike.
pub fn state_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Startup => "startup",
        ConnectionState::Idle => "idle",
        ConnectionState::InQuery => "in_query",
        ConnectionState::InTransaction => "in_transaction",
        ConnectionState::FailedTransaction => "failed_transaction",
        ConnectionState::Held => "held",
    }
}

#[cfg(test)]
mod tests;
