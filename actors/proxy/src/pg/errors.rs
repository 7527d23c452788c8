//! How a `ClientError` reads to a PostgreSQL client: a FATAL ErrorResponse whose SQLSTATE
//! is what PostgreSQL itself sends in the same situation, so drivers that retry on class
//! 08 (connection exception) or 57P01 (admin shutdown) do so here too.

use crate::client_error::{ClientError, ClientErrorKind};
use molt_lms_wire::pg::backend::{error_response, Severity};

/// SQLSTATEs the proxy reads in backend answers.
pub(crate) mod sqlstate {
    /// A statement stopped by a cancel request or `statement_timeout`.
    pub(crate) const QUERY_CANCELED: &str = "57014";
}

/// The SQLSTATE for each kind.
pub(crate) fn sqlstate(kind: ClientErrorKind) -> &'static str {
    match kind {
        ClientErrorKind::AuthFailed => "28P01",
        ClientErrorKind::AuthRejected => "28000",
        ClientErrorKind::ProtocolViolation => "08P01",
        ClientErrorKind::Unsupported => "0A000",
        ClientErrorKind::BackendUnreachable
        | ClientErrorKind::BackendLost
        | ClientErrorKind::SwitchFailed => "08006",
        ClientErrorKind::ShuttingDown | ClientErrorKind::Terminated => "57P01",
        ClientErrorKind::CannotConnectNow => "57P03",
        ClientErrorKind::TlsRequired => "28000",
        ClientErrorKind::TooManyConnections => "53300",
        ClientErrorKind::MessageTooLarge => "54000",
        ClientErrorKind::OutOfMemory => "53200",
    }
}

/// Appends the FATAL ErrorResponse for `e`.
pub(crate) fn encode_fatal(e: &ClientError, out: &mut Vec<u8>) {
    error_response(out, Severity::Fatal, sqlstate(e.kind), &e.message);
}

#[cfg(test)]
mod tests;
