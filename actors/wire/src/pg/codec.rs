//! Framing: message headers, and a scanner that walks a byte buffer message by message
//! without copying, so the relay can inspect a few message types and pass the rest on.

use super::error::ProtocolError;

/// PostgreSQL's own ceiling for one message (`PQ_LARGE_MESSAGE_LIMIT`, 1 GiB).
pub const MAX_MESSAGE_LEN: usize = 1 << 30;
/// PostgreSQL rejects startup packets longer than this (`MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_LEN: usize = 10_000;
/// Tag byte plus the 4-byte length.
pub const HEADER_LEN: usize = 5;

/// Reads a typed message header at the start of `buf`: `(tag, total length incl. tag)`.
/// `Ok(None)` means the header is not complete yet.
pub fn header(buf: &[u8]) -> Result<Option<(u8, usize)>, ProtocolError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if !(4..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(ProtocolError::BadLength(len));
    }
    Ok(Some((buf[0], len + 1)))
}

/// What the scanner's callback wants done with the message it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanControl {
    Continue,
    /// Stop before this message: it is not forwarded and will be shown again later.
    HoldBefore,
}

/// Result of scanning one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Bytes from the start of the buffer that may be forwarded now.
    pub forward: usize,
    /// The callback asked to hold at `forward`.
    pub held: bool,
}

/// How much of a message the scanner's caller must see before it decides on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The header only; the body streams through.
    Header,
    /// The whole body, held until complete; a body longer than `max` is an error, so
    /// what a peer can make the caller hold is bounded.
    Whole { max: usize },
    /// At most the first `n` bytes of the body: a longer body is shown by that prefix,
    /// then streams through.
    Prefix(usize),
}

/// Walks a stream of typed messages across reads. Messages are reported from their
/// header, or once as much of their body as the caller wants (`want`) has arrived; the
/// rest of every message streams through, however large, without being buffered.
#[derive(Debug, Default)]
pub struct FrameScanner {
    /// Bytes of the current pass-through message still to come.
    remaining: usize,
}

impl FrameScanner {
    /// True when the stream sits exactly between two messages.
    pub fn at_boundary(&self) -> bool {
        self.remaining == 0
    }

    /// Scans `buf`. `on_msg(tag, body, whole)` sees each new message once it can be
    /// decided on: `body` is `None` for [`Want::Header`], and `whole` says whether it is
    /// the entire body or a prefix. A callback that returns `HoldBefore` must not have
    /// changed any state: it is called again later.
    pub fn scan(
        &mut self,
        buf: &[u8],
        want: impl Fn(u8) -> Want,
        mut on_msg: impl FnMut(u8, Option<&[u8]>, bool) -> Result<ScanControl, ProtocolError>,
    ) -> Result<Scan, ProtocolError> {
        let mut pos = self.remaining.min(buf.len());
        self.remaining -= pos;
        while pos < buf.len() {
            let Some((tag, total)) = header(&buf[pos..])? else {
                break;
            };
            let avail = buf.len() - pos;
            let body_len = total - HEADER_LEN;
            let shown = match want(tag) {
                Want::Header => None,
                Want::Whole { max } if body_len > max => {
                    return Err(ProtocolError::TooLarge {
                        tag,
                        len: body_len,
                        max,
                    })
                }
                Want::Whole { .. } => Some(body_len),
                Want::Prefix(n) => Some(body_len.min(n)),
            };
            if let Some(n) = shown {
                if avail < HEADER_LEN + n {
                    break;
                }
                let body = &buf[pos + HEADER_LEN..pos + HEADER_LEN + n];
                if on_msg(tag, Some(body), n == body_len)? == ScanControl::HoldBefore {
                    return Ok(Scan {
                        forward: pos,
                        held: true,
                    });
                }
            } else if on_msg(tag, None, false)? == ScanControl::HoldBefore {
                return Ok(Scan {
                    forward: pos,
                    held: true,
                });
            }
            if avail >= total {
                pos += total;
            } else {
                self.remaining = total - avail;
                pos = buf.len();
            }
        }
        Ok(Scan {
            forward: pos,
            held: false,
        })
    }
}

/// Reads a NUL-terminated string at the start of `buf`: `(text, bytes consumed incl. NUL)`.
/// For texts the protocol defines as ASCII or UTF-8 (parameter names, SASL mechanisms);
/// what a client writes in its own encoding goes through [`cstr_bytes`].
pub fn cstr(buf: &[u8]) -> Option<(&str, usize)> {
    let (s, n) = cstr_bytes(buf)?;
    Some((std::str::from_utf8(s).ok()?, n))
}

/// Reads a NUL-terminated byte string at the start of `buf`: `(bytes, bytes consumed
/// incl. NUL)`. Query texts and statement names are in the session's `client_encoding`,
/// which need not be UTF-8 (LATIN1, SJIS, …): they are bytes to the protocol.
pub fn cstr_bytes(buf: &[u8]) -> Option<(&[u8], usize)> {
    let end = buf.iter().position(|&b| b == 0)?;
    Some((&buf[..end], end + 1))
}

/// Appends a typed message: tag, length, then whatever `body` writes.
pub fn put_message(out: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(tag);
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    body(out);
    let len = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Appends `s` and its NUL terminator.
pub fn put_cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

#[cfg(test)]
mod tests;
