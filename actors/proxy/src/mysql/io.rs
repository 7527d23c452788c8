//! Reading whole payloads outside the relay: start-up on both sides and the proxy's own
//! service sessions. The relay does not use this: it streams.

use bytes::{Buf, BytesMut};
use molt_lms_wire::mysql::{read_payload, MysqlError};
use std::io;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Backend start-up and service payloads above this are refused; only the relay carries
/// big ones.
pub(crate) const MAX_STARTUP_PAYLOAD: usize = 1 << 20;

/// A client's start-up payloads (handshake response, auth answers) above this are
/// refused: before a login succeeds, nobody may make the proxy buffer more. MySQL caps
/// connection attributes at 64 KiB too.
pub(crate) const MAX_CLIENT_STARTUP_PAYLOAD: usize = 1 << 16;

#[derive(Debug, Error)]
pub(crate) enum ReadError {
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Protocol(#[from] MysqlError),
}

/// Reads the next payload, whose first packet must carry sequence id `seq`; returns it
/// and the sequence id that follows it.
pub(crate) async fn read_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    seq: u8,
) -> Result<(Vec<u8>, u8), ReadError> {
    read_packet_within(stream, buf, seq, MAX_STARTUP_PAYLOAD).await
}

/// Reads the next payload of at most `limit` bytes.
pub(crate) async fn read_packet_within<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    seq: u8,
    limit: usize,
) -> Result<(Vec<u8>, u8), ReadError> {
    loop {
        if let Some(p) = read_payload(buf, seq, limit)? {
            let (bytes, consumed, next) = (p.bytes.into_owned(), p.consumed, p.next_seq);
            buf.advance(consumed);
            return Ok((bytes, next));
        }
        buf.reserve(4096);
        if stream.read_buf(buf).await? == 0 {
            return Err(ReadError::Closed);
        }
    }
}
