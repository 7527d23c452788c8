//! The one error a client is told about, whatever protocol it speaks. The connection
//! layer decides *what* went wrong (a kind and a message written for the client); each
//! protocol module decides how to say it: PostgreSQL maps the kind to a SQLSTATE in an
//! ErrorResponse (`pg::errors`), MySQL to an errno and SQLSTATE in an ERR packet
//! (`mysql::errors`). Messages name the database's role, never its host, and carry no secret.

use thiserror::Error;

/// What went wrong, as far as a client needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientErrorKind {
    /// The password or proof did not match.
    AuthFailed,
    /// The login asked for something that cannot be authorised (no user name, an
    /// authentication mechanism the proxy does not offer).
    AuthRejected,
    /// The client broke the protocol; its connection is closed.
    ProtocolViolation,
    /// A feature the proxy does not carry (replication connections).
    Unsupported,
    /// A database needed for the session could not be reached or refused the proxy.
    BackendUnreachable,
    /// The session's database went away mid-session.
    BackendLost,
    /// The proxy is shutting down: sessions are drained, new logins refused.
    ShuttingDown,
    /// The session was ended on purpose (a cutover's `--begin-timeout` with action
    /// `terminate`, or strict-sync losing its shadow).
    Terminated,
    /// A cutover's commit could not move this session to the new source of truth.
    SwitchFailed,
    /// A login while the proxy is shutting down: try another proxy.
    CannotConnectNow,
    /// A plain (unencrypted) login where TLS is required (`--require-tls`, `--ssl-ca`).
    TlsRequired,
    /// The proxy holds `--max-client-connections` already.
    TooManyConnections,
    /// A message the proxy must hold whole is past `--max-buffered-message`.
    MessageTooLarge,
    /// Holding the client's message would pass the process-wide `--buffer-budget`.
    OutOfMemory,
}

impl ClientErrorKind {
    /// Every kind, so the metric shows each at zero from the start.
    pub const ALL: [ClientErrorKind; 14] = [
        ClientErrorKind::AuthFailed,
        ClientErrorKind::AuthRejected,
        ClientErrorKind::ProtocolViolation,
        ClientErrorKind::Unsupported,
        ClientErrorKind::BackendUnreachable,
        ClientErrorKind::BackendLost,
        ClientErrorKind::ShuttingDown,
        ClientErrorKind::Terminated,
        ClientErrorKind::SwitchFailed,
        ClientErrorKind::CannotConnectNow,
        ClientErrorKind::TlsRequired,
        ClientErrorKind::TooManyConnections,
        ClientErrorKind::MessageTooLarge,
        ClientErrorKind::OutOfMemory,
    ];

    /// The `kind` label of `lms_client_errors_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientErrorKind::AuthFailed => "auth_failed",
            ClientErrorKind::AuthRejected => "auth_rejected",
            ClientErrorKind::ProtocolViolation => "protocol_violation",
            ClientErrorKind::Unsupported => "unsupported",
            ClientErrorKind::BackendUnreachable => "backend_unreachable",
            ClientErrorKind::BackendLost => "backend_lost",
            ClientErrorKind::ShuttingDown => "shutting_down",
            ClientErrorKind::Terminated => "terminated",
            ClientErrorKind::SwitchFailed => "switch_failed",
            ClientErrorKind::CannotConnectNow => "cannot_connect_now",
            ClientErrorKind::TlsRequired => "tls_required",
            ClientErrorKind::TooManyConnections => "too_many_connections",
            ClientErrorKind::MessageTooLarge => "message_too_large",
            ClientErrorKind::OutOfMemory => "out_of_memory",
        }
    }
}

/// An error for a client: its kind and a message safe to show it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub(crate) struct ClientError {
    pub kind: ClientErrorKind,
    pub message: String,
}

impl ClientError {
    pub(crate) fn new(kind: ClientErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A plain login refused because TLS is required.
    pub(crate) fn tls_required() -> Self {
        Self::new(
            ClientErrorKind::TlsRequired,
            "this molt-lms proxy requires TLS: connect with TLS (PostgreSQL clients: sslmode=require or stronger; MySQL clients: --ssl)",
        )
    }

    /// A connection refused because the proxy holds as many as it may.
    pub(crate) fn too_many_connections(max: usize) -> Self {
        Self::new(
            ClientErrorKind::TooManyConnections,
            format!("too many connections: this molt-lms proxy holds its maximum of {max} (LMS_MAX_CLIENT_CONNECTIONS)"),
        )
    }

    /// The message sent when the proxy's own shutdown ends a session.
    pub(crate) fn shutting_down() -> Self {
        Self::new(
            ClientErrorKind::ShuttingDown,
            "terminating connection because molt-lms is shutting down",
        )
    }
}

#[cfg(test)]
mod tests;
