//! Async helpers for the exchanges where whole messages are read one at a time: start-up,
//! and the proxy's own pipelined requests (a cutover's preparation, its check). The relay
//! does not use these: it streams.

use crate::protocol::{StartupError, Violation};
use bytes::{Buf, BytesMut};
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::codec::header;
use molt_lms_wire::pg::frontend::{decode_startup, StartupPacket};
use molt_lms_wire::pg::tag::backend as be;
use molt_lms_wire::pg::ProtocolError;
use std::io;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Start-up messages above this size are refused; only the relay carries big messages.
const MAX_STARTUP_PHASE_MESSAGE: usize = 1 << 20;

#[derive(Debug, Error)]
pub(crate) enum ReadError {
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

/// A client's messages during authentication are refused above this, as PostgreSQL
/// refuses them (`PG_MAX_AUTH_TOKEN_LENGTH`): before a login succeeds, nobody may make the
/// proxy buffer more.
pub(crate) const MAX_AUTH_MESSAGE: usize = 65_535;

/// Reads one typed message: `(tag, body)`.
pub(crate) async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<(u8, BytesMut), ReadError> {
    read_message_within(stream, buf, MAX_STARTUP_PHASE_MESSAGE).await
}

/// Reads one typed message of at most `limit` bytes.
pub(crate) async fn read_message_within<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<(u8, BytesMut), ReadError> {
    loop {
        if let Some((tag, total)) = header(buf)? {
            if total > limit {
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

/// Reads the answers to `requests` pipelined requests, each ending in ReadyForQuery: for
/// each, the first error as "SQLSTATE: message", if any. `on_other` sees every other
/// message (ParameterStatus and the like).
pub(crate) async fn request_errors<S: AsyncRead + Unpin>(
    stream: &mut S,
    requests: usize,
    mut on_other: impl FnMut(u8, &[u8]),
) -> Result<Vec<Option<String>>, ReadError> {
    let mut buf = BytesMut::with_capacity(4096);
    let mut errors = vec![None; requests];
    let mut answered = 0;
    while answered < requests {
        let (tag, body) = read_message(stream, &mut buf).await?;
        match tag {
            be::READY_FOR_QUERY => answered += 1,
            be::ERROR_RESPONSE => {
                let (code, msg) = error_fields(&body);
                errors[answered].get_or_insert(format!("{code}: {msg}"));
            }
            _ => on_other(tag, &body),
        }
    }
    Ok(errors)
}

/// Reads one untyped startup packet.
pub(crate) async fn read_startup<S: AsyncRead + Unpin>(
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

impl From<ReadError> for StartupError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Closed => StartupError::Closed,
            ReadError::Io(e) => StartupError::Io(e),
            ReadError::Protocol(p) => StartupError::Protocol(Violation::new(p)),
        }
    }
}
