//! Reading whole payloads outside the relay: start-up on both sides and the proxy's own
//! service sessions. The relay does not use this: it streams.

use bytes::{Buf, BytesMut};
use molt_lms_wire::mysql::packet::{next_packet, HEADER_LEN};
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

/// Reads one single-packet payload of at most `limit` bytes, consuming nothing past it:
/// after a client's SSLRequest the next bytes belong to the TLS handshake.
pub(crate) async fn read_packet_exact<S: AsyncRead + Unpin>(
    stream: &mut S,
    seq: u8,
    limit: usize,
) -> Result<(Vec<u8>, u8), ReadError> {
    let eof = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => ReadError::Closed,
        _ => ReadError::Io(e),
    };
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).await.map_err(eof)?;
    let h = next_packet(&header).ok_or(MysqlError::Truncated("packet header"))?;
    if h.seq != seq {
        return Err(MysqlError::OutOfOrder {
            expected: seq,
            got: h.seq,
        }
        .into());
    }
    if h.payload_len > limit {
        return Err(MysqlError::PayloadTooLarge {
            len: h.payload_len,
            limit,
        }
        .into());
    }
    let mut payload = vec![0u8; h.payload_len];
    stream.read_exact(&mut payload).await.map_err(eof)?;
    Ok((payload, seq.wrapping_add(1)))
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
