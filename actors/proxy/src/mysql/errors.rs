//! How a `ClientError` reads to a MySQL client: an ERR packet whose error number and
//! SQLSTATE are what a MySQL or MariaDB server sends in the same situation, so drivers
//! that reconnect on a lost connection (class 08) or back off on "too many connections"
//! do so here too.

use crate::client_error::{ClientError, ClientErrorKind};
use molt_lms_wire::mysql::consts::capability::CLIENT_PROTOCOL_41;
use molt_lms_wire::mysql::consts::error_code::*;
use molt_lms_wire::mysql::packet::put_packet;
use molt_lms_wire::mysql::ErrPacket;

/// The error number and SQLSTATE for each kind.
pub(crate) fn code(kind: ClientErrorKind) -> (u16, [u8; 5]) {
    match kind {
        ClientErrorKind::AuthFailed | ClientErrorKind::AuthRejected => {
            (ER_ACCESS_DENIED_ERROR, STATE_ACCESS_DENIED)
        }
        ClientErrorKind::ProtocolViolation => (ER_MALFORMED_PACKET, STATE_COMMUNICATION_LINK),
        ClientErrorKind::Unsupported => (ER_NOT_SUPPORTED_YET, STATE_SYNTAX_OR_ACCESS),
        ClientErrorKind::BackendUnreachable => (ER_UNKNOWN_ERROR, STATE_CLIENT_UNABLE_TO_CONNECT),
        ClientErrorKind::BackendLost | ClientErrorKind::SwitchFailed => {
            (ER_NET_READ_ERROR, STATE_COMMUNICATION_LINK)
        }
        ClientErrorKind::ShuttingDown => (ER_SERVER_SHUTDOWN, STATE_COMMUNICATION_LINK),
        ClientErrorKind::Terminated => (ER_CONNECTION_KILLED, STATE_INTERRUPTED),
        ClientErrorKind::CannotConnectNow | ClientErrorKind::TooManyConnections => {
            (ER_CON_COUNT_ERROR, STATE_CLIENT_UNABLE_TO_CONNECT)
        }
        ClientErrorKind::TlsRequired => (ER_SECURE_TRANSPORT_REQUIRED, STATE_GENERAL),
        ClientErrorKind::MessageTooLarge => (ER_NET_PACKET_TOO_LARGE, STATE_COMMUNICATION_LINK),
        ClientErrorKind::OutOfMemory => (ER_OUT_OF_RESOURCES, STATE_GENERAL),
    }
}

/// Appends the ERR packet for `e` with sequence id `seq`. Every client the proxy serves
/// speaks the 4.1 protocol, so the SQLSTATE is always there.
pub(crate) fn encode(e: &ClientError, seq: u8, out: &mut Vec<u8>) {
    let (errno, state) = code(e.kind);
    let err = ErrPacket::new(errno, state, e.message.clone());
    put_packet(out, seq, |o| err.encode(o, CLIENT_PROTOCOL_41));
}

#[cfg(test)]
mod tests;
