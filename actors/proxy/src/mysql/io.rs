//! Reading whole payloads outside the relay: start-up on both sides and the proxy's own
//! service sessions. The relay does not use this: it streams.

use bytes::{Buf, BytesMut};
use molt_lms_wire::mysql::{read_payload, MysqlError};
use std::io;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Start-up and service payloads above this are refused; only the relay carries big ones.
pub(crate) const MAX_STARTUP_PAYLOAD: usize = 1 << 20;

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
    loop {
        if let Some(p) = read_payload(buf, seq, MAX_STARTUP_PAYLOAD)? {
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
