//! The protocol-neutral shapes a protocol module hands the connection layer: how a
//! connection opened, why start-up failed, a refusal, cancel keys, a backend session and
//! its preparation for a switch.

use super::Violation;
use crate::client_error::ClientError;
use bytes::BytesMut;
use molt_lms_api::cutover::PrepareStage;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::pg_dial::DialError;
use molt_lms_common::stream::Stream;
use std::error::Error;
use std::fmt;
use std::io;
use thiserror::Error;

/// The key a client presents to cancel its running request. The proxy issues its own
/// (PostgreSQL's BackendKeyData; the process id's upper half names the proxy, see
/// `peers`) and maps it to the backend's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub pid: i32,
    pub secret: i32,
}

/// A backend session's own cancel key, as its database issued it. One variant per
/// protocol: a MySQL session is cancelled by `KILL QUERY <thread id>` on another
/// connection and will carry its thread id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKey {
    Pg {
        pid: i32,
        secret: i32,
    },
    /// A MySQL session's connection (thread) id, as its server's greeting gave it.
    MySql {
        thread: u32,
    },
}

/// How a connection opened; `H` is the protocol's [`Protocol::Hello`](super::Protocol::Hello).
pub(crate) enum Opening<H> {
    /// A client that wants a session: its stream, bytes read past its start-up request,
    /// the start-up parameters (user, database, options…) and what the protocol keeps
    /// of the conversation so far.
    Session {
        stream: Stream,
        buf: BytesMut,
        params: Vec<(String, String)>,
        hello: H,
    },
    /// A connection that only carries a cancel request.
    Cancel(ClientKey),
}

/// Why start-up ended without a session.
#[derive(Debug, Error)]
pub(crate) enum StartupError {
    /// The client went away (psql does this to prompt for a password).
    #[error("client closed the connection during start-up")]
    Closed,
    #[error("i/o during start-up: {0}")]
    Io(#[from] io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    #[error("protocol violation during start-up: {0}")]
    Protocol(Violation),
    /// The proxy refused the connection itself (and told the client why).
    #[error("refused: {0}")]
    Refused(String),
}

/// A refusal answered with an error, then close.
#[derive(Debug, Error)]
pub(crate) enum Refusal {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The backend's own error message, passed on as it came (MySQL renumbers its
    /// packet for the client's sequence).
    #[error("backend refused the session")]
    Backend(Vec<u8>),
}

impl Refusal {
    pub(crate) fn client(
        kind: crate::client_error::ClientErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Refusal::Client(ClientError::new(kind, message))
    }
}

/// Opening a session on a backend failed.
#[derive(Debug, Error)]
pub enum BackendError {
    #[error(transparent)]
    Dial(#[from] DialError),
    /// The backend refused the login; `raw` is its error message, for the client.
    #[error("{role} database refused the session: {code} {message}")]
    Rejected {
        role: SourceOfTruth,
        code: String,
        message: String,
        raw: Vec<u8>,
    },
    #[error("{role} database asked for an authentication method the proxy cannot answer: {what}")]
    Auth { role: SourceOfTruth, what: String },
    /// Connected, but the login did not finish within `--backend-login-timeout`.
    #[error("{role} database did not finish the login within {}", humantime::format_duration(*.after))]
    LoginTimeout {
        role: SourceOfTruth,
        after: std::time::Duration,
    },
    #[error("{role} database: {source}")]
    Read {
        role: SourceOfTruth,
        source: Box<dyn Error + Send + Sync>,
    },
}

impl BackendError {
    /// A message safe to send to a client: no host names, no secrets.
    pub fn client_message(&self) -> String {
        match self {
            BackendError::Dial(e) => e.client_message(),
            BackendError::Rejected { message, .. } => message.clone(),
            BackendError::Auth { role, what } => {
                format!("molt-lms: cannot log in to the {role} database: {what}")
            }
            BackendError::Read { role, .. } => {
                format!("molt-lms: lost the connection to the {role} database during start-up")
            }
            BackendError::LoginTimeout { role, .. } => {
                format!("molt-lms: the {role} database did not answer the login in time")
            }
        }
    }
}

/// A session a protocol opened on a backend for a client.
pub(crate) trait BackendSession {
    /// Its cancel key, for forwarding the client's cancel requests.
    fn key(&self) -> BackendKey;
    fn stream_mut(&mut self) -> &mut Stream;
    fn into_stream(self) -> Stream;
}

/// A session opened and made ready on the new database while the client is held.
pub(crate) struct Prepared<S> {
    pub session: S,
    /// Session parameters whose value on the new session differs from what the client
    /// has been told; sent to it when the switch completes.
    pub changes: Vec<(String, String)>,
    /// Named statements prepared again.
    pub statements: usize,
}

/// Why a session could not be prepared: what failed, for which statement, and the
/// database's or the network's words. Carries no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrepareError {
    pub stage: PrepareStage,
    /// The statement's name and its text with literals replaced by `?`.
    pub statement: Option<String>,
    pub message: String,
}

impl PrepareError {
    pub(crate) fn new(stage: PrepareStage, message: impl Into<String>) -> Self {
        Self {
            stage,
            statement: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stage.as_str())?;
        if let Some(s) = &self.statement {
            write!(f, " {s}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Error for PrepareError {}
