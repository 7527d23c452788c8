//! Violations of the MySQL protocol by a peer, and values an encoder cannot represent.

use thiserror::Error;

use super::consts::error_code;

/// A peer sent bytes that are not a valid MySQL packet, or a caller asked to encode
/// something the protocol cannot carry. The connection concerned is closed (after an ERR
/// packet built from [`MysqlError::code`] and [`MysqlError::sql_state`]); nothing else is
/// affected. Messages name only protocol elements, never hosts, users or secrets, so a
/// client may be shown them.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MysqlError {
    /// A field runs past the end of its packet (decoders see whole payloads, so this is
    /// a malformed packet, not "need more bytes").
    #[error("truncated {0}")]
    Truncated(&'static str),
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// `len` is what the headers announced so far: the whole payload may be larger.
    #[error("packet of at least {len} bytes is larger than the {limit}-byte limit")]
    PayloadTooLarge { len: usize, limit: usize },
    #[error("packets out of order: expected sequence id {expected}, got {got}")]
    OutOfOrder { expected: u8, got: u8 },
    /// The server greeting is not `HandshakeV10`.
    #[error("unsupported handshake protocol version {0}")]
    UnsupportedProtocolVersion(u8),
    /// The client sent a pre-4.1 `HandshakeResponse320`.
    #[error("client does not support the 4.1 protocol")]
    Protocol41Required,
    /// An encoder was given a value its field cannot hold (a NUL inside a NUL-terminated
    /// string, an auth response over 255 bytes where its length is one byte, …).
    #[error("cannot encode {0}")]
    Unencodable(&'static str),
}

impl MysqlError {
    /// The server error number a client is sent for this error.
    pub fn code(&self) -> u16 {
        match self {
            Self::Truncated(_) | Self::Malformed(_) => error_code::ER_MALFORMED_PACKET,
            Self::PayloadTooLarge { .. } => error_code::ER_NET_PACKET_TOO_LARGE,
            Self::OutOfOrder { .. } => error_code::ER_NET_PACKETS_OUT_OF_ORDER,
            Self::UnsupportedProtocolVersion(_) => error_code::ER_HANDSHAKE_ERROR,
            Self::Protocol41Required => error_code::ER_NOT_SUPPORTED_AUTH_MODE,
            Self::Unencodable(_) => error_code::ER_UNKNOWN_ERROR,
        }
    }

    /// The SQLSTATE that goes with [`MysqlError::code`].
    pub fn sql_state(&self) -> [u8; 5] {
        match self {
            Self::Truncated(_) | Self::Malformed(_) | Self::Unencodable(_) => {
                error_code::STATE_GENERAL
            }
            Self::PayloadTooLarge { .. }
            | Self::OutOfOrder { .. }
            | Self::UnsupportedProtocolVersion(_) => error_code::STATE_COMMUNICATION_LINK,
            Self::Protocol41Required => error_code::STATE_CLIENT_UNABLE_TO_CONNECT,
        }
    }
}
