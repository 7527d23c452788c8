//! One client connection as `connections list` shows it.

use crate::proxy::SourceOfTruth;
use serde::{Deserialize, Serialize};

/// Where a client session stands, from the backend's ReadyForQuery status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Negotiating TLS or authenticating.
    Startup,
    Idle,
    InQuery,
    InTransaction,
    FailedTransaction,
    /// Held by a cutover pause or a shutdown drain.
    Held,
}

/// A client connection. Field names follow the reference CLI's JSON output:
/// `remote_address` is the proxy instance, `source_address` the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub id: u64,
    pub remote_address: String,
    pub source_address: String,
    /// RFC 3339, UTC.
    pub connected_at: String,
    pub state: ConnectionState,
    pub user: String,
    pub database: String,
    pub last_query: String,
    pub error: String,
    pub source_of_truth: SourceOfTruth,
    /// Seconds the current transaction has been open, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_age_secs: Option<f64>,
}
