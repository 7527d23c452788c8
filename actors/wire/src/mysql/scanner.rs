//! A packet walker for a relay: finds packet boundaries in the bytes read so far, without
//! copying, and shows the caller each payload's start so it can follow the exchange. Small
//! payloads are shown whole once they have arrived; a large one (rows, long data, a long
//! query) is shown by its first bytes and streamed through, so the relay never buffers
//! it. Continuation packets (after a full 0xFFFFFF-byte packet) belong to the payload
//! before them: they are only checked for their sequence id.

use super::error::MysqlError;
use super::packet::{next_packet, PacketHeader, HEADER_LEN};

/// Payloads up to this size are shown whole. Every packet the proxy must read in full
/// (commands it inspects, OK/EOF/ERR, column counts, prepare answers) is far smaller.
pub const WHOLE_LIMIT: usize = 64 * 1024;

/// How much of a large payload is shown.
pub const PREFIX_LEN: usize = 64;

/// One payload as the scanner shows it. Mutable, so a relay can rewrite a field in
/// place before passing it on (an id the proxy maps), keeping its length.
#[derive(Debug, PartialEq, Eq)]
pub enum Shown<'a> {
    /// The whole payload (at most [`WHOLE_LIMIT`] bytes, in one packet).
    Whole(&'a mut [u8]),
    /// The first bytes of a payload larger than [`WHOLE_LIMIT`] (or continued over
    /// several packets); `len` is the first packet's payload length.
    Large { prefix: &'a mut [u8], len: usize },
}

impl Shown<'_> {
    /// The bytes shown: the whole payload or its prefix.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Shown::Whole(b) => b,
            Shown::Large { prefix, .. } => prefix,
        }
    }
}

/// What the caller wants done with the payload it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Stop before this payload: it is not forwarded and will be shown again later.
    HoldBefore,
}

/// Result of scanning one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Bytes from the start of the buffer that may be forwarded now.
    pub forward: usize,
    /// The caller asked to hold at `forward`.
    pub held: bool,
}

/// Walks one direction of a MySQL connection across reads.
#[derive(Debug, Default)]
pub struct PacketScanner {
    /// Bytes of the packet being streamed that are still to come.
    remaining: usize,
    /// The sequence id the next continuation packet must carry, while a payload goes on.
    continues: Option<u8>,
}

impl PacketScanner {
    /// True when the stream sits between two payloads.
    pub fn at_boundary(&self) -> bool {
        self.remaining == 0 && self.continues.is_none()
    }

    /// Scans `buf`; `on_payload(header, shown)` sees each new payload once. A callback that
    /// returns `HoldBefore` must not have changed any state: it is called again later.
    /// Continuation packets must carry consecutive sequence ids.
    pub fn scan(
        &mut self,
        buf: &mut [u8],
        mut on_payload: impl FnMut(PacketHeader, Shown<'_>) -> Result<Control, MysqlError>,
    ) -> Result<Scan, MysqlError> {
        let mut pos = self.remaining.min(buf.len());
        self.remaining -= pos;
        while pos < buf.len() {
            let rest = &mut buf[pos..];
            let Some(h) = next_packet(rest) else {
                break;
            };
            let avail = rest.len();
            if let Some(expected) = self.continues {
                if h.seq != expected {
                    return Err(MysqlError::OutOfOrder {
                        expected,
                        got: h.seq,
                    });
                }
            } else {
                let shown = if h.payload_len <= WHOLE_LIMIT && !h.continues() {
                    if avail < h.total_len() {
                        break;
                    }
                    Shown::Whole(&mut rest[HEADER_LEN..h.total_len()])
                } else {
                    // Enough of the payload to decide on, however it was cut by reads.
                    let want = HEADER_LEN + PREFIX_LEN;
                    if avail < want {
                        break;
                    }
                    Shown::Large {
                        prefix: &mut rest[HEADER_LEN..want],
                        len: h.payload_len,
                    }
                };
                if on_payload(h, shown)? == Control::HoldBefore {
                    return Ok(Scan {
                        forward: pos,
                        held: true,
                    });
                }
            }
            self.continues = h.continues().then(|| h.seq.wrapping_add(1));
            if avail >= h.total_len() {
                pos += h.total_len();
            } else {
                self.remaining = h.total_len() - avail;
                pos = buf.len();
            }
        }
        Ok(Scan {
            forward: pos,
            held: false,
        })
    }
}

#[cfg(test)]
mod tests;
