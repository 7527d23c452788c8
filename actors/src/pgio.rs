//! Async helpers for the start-up phase, where whole messages are read one at a time.
//! The relay does not use these: it streams.

use crate::wire::pg::codec::header;
use crate::wire::pg::frontend::{decode_startup, StartupPacket};
use crate::wire::pg::ProtocolError;
use bytes::{Buf, BytesMut};
use std::io;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Start-up messages above this size are refused; only the relay carries big messages.
const MAX_STARTUP_PHASE_MESSAGE: usize = 1 << 20;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut BytesMut) -> Result<(), ReadError> {
    buf.reserve(4096);
    if stream.read_buf(buf).await? == 0 {
        return Err(ReadError::Closed);
    }
    Ok(())
}

/// Reads one typed message: `(tag, body)`.
pub async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<(u8, BytesMut), ReadError> {
    loop {
        if let Some((tag, total)) = header(buf)? {
            if total > MAX_STARTUP_PHASE_MESSAGE {
                return Err(ProtocolError::BadLength(total).into());
            }
            if buf.len() >= total {
                let mut msg = buf.split_to(total);
                msg.advance(5);
                return Ok((tag, msg));
            }
        }
        fill(stream, buf).await?;
    }
}

/// Reads one untyped startup packet.
pub async fn read_startup<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<StartupPacket, ReadError> {
    loop {
        if let Some((packet, n)) = decode_startup(buf)? {
            buf.advance(n);
            return Ok(packet);
        }
        fill(stream, buf).await?;
    }
}
