//! Violations of the PostgreSQL protocol by a peer.

use thiserror::Error;

/// A peer sent bytes that are not a valid PostgreSQL message. The connection that sent
/// them is closed with SQLSTATE 08P01; nothing else is affected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("invalid message length {0}")]
    BadLength(usize),
    #[error("invalid startup packet length {0}")]
    BadStartupLength(usize),
    #[error("unsupported frontend protocol {major}.{minor}")]
    UnsupportedProtocol { major: u16, minor: u16 },
    #[error("invalid frontend message type {0}")]
    UnknownFrontendMessage(u8),
    #[error("unexpected message type {0:?} during {1}")]
    Unexpected(char, &'static str),
    #[error("malformed {0} message")]
    Malformed(&'static str),
    /// PostgreSQL keeps the last value of a repeated parameter; a proxy that read the
    /// first would authenticate one user and log another in.
    #[error("startup parameter \"{0}\" given more than once")]
    DuplicateStartupParameter(String),
    /// A message that must be held whole to be understood is past the holder's limit.
    #[error("{} message of {len} bytes is larger than the {max} bytes allowed", char::from(*tag))]
    TooLarge { tag: u8, len: usize, max: usize },
}
