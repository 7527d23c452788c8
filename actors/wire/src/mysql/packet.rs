//! Framing: the 4-byte packet header, reassembly of payloads split over several packets,
//! the writer that splits them, and a header scanner for a relay that forwards packets
//! without copying them.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html>

use std::borrow::Cow;

use super::codec::read_uint_le;
use super::error::MysqlError;

/// 3-byte little-endian payload length, then the sequence id.
pub const HEADER_LEN: usize = 4;
/// Largest payload one packet carries. A packet this full is continued by the next one;
/// a payload of an exact multiple of it ends with an empty packet.
pub const MAX_PAYLOAD: usize = 0xFF_FFFF;
/// Width of the length field of the header.
const LENGTH_LEN: usize = 3;

/// One packet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    pub payload_len: usize,
    /// Counts packets within one command's exchange, wrapping at 256; the client's
    /// command packet has 0.
    pub seq: u8,
}

impl PacketHeader {
    /// Header plus payload.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// The payload goes on in the next packet.
    pub fn continues(&self) -> bool {
        self.payload_len == MAX_PAYLOAD
    }
}

/// The header of the packet at the start of `buf`, from its first 4 bytes alone, so a
/// relay learns where the packet ends (`total_len`) before its payload has arrived and
/// can stream a large one through. `None` until 4 bytes are there.
pub fn next_packet(buf: &[u8]) -> Option<PacketHeader> {
    let len = read_uint_le(buf, LENGTH_LEN).ok()?;
    let seq = *buf.get(LENGTH_LEN)?;
    Some(PacketHeader {
        payload_len: usize::try_from(len).ok()?,
        seq,
    })
}

/// One logical payload reassembled from the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload<'a> {
    /// Borrowed from the buffer when it came in one packet, joined otherwise.
    pub bytes: Cow<'a, [u8]>,
    /// Bytes of the buffer it took, headers included.
    pub consumed: usize,
    /// The sequence id the next packet of this exchange must carry.
    pub next_seq: u8,
}

/// Reads the next logical payload from `buf`, whose first packet must carry sequence id
/// `seq` and each following one the next id (mod 256). `Ok(None)` means more bytes are
/// needed. Errors as soon as a header shows a wrong id or takes the payload past `limit`
/// bytes, before that payload is buffered: the caller closes the connection.
pub fn read_payload(buf: &[u8], seq: u8, limit: usize) -> Result<Option<Payload<'_>>, MysqlError> {
    let (mut pos, mut expected, mut len, mut packets) = (0usize, seq, 0usize, 0usize);
    loop {
        let Some(h) = buf.get(pos..).and_then(next_packet) else {
            return Ok(None);
        };
        if h.seq != expected {
            return Err(MysqlError::OutOfOrder {
                expected,
                got: h.seq,
            });
        }
        len = len.saturating_add(h.payload_len);
        if len > limit {
            return Err(MysqlError::PayloadTooLarge { len, limit });
        }
        if buf.len() - pos < h.total_len() {
            return Ok(None);
        }
        pos += h.total_len();
        expected = expected.wrapping_add(1);
        packets += 1;
        if !h.continues() {
            break;
        }
    }
    let bytes = if packets == 1 {
        Cow::Borrowed(buf.get(HEADER_LEN..pos).unwrap_or_default())
    } else {
        Cow::Owned(join_payloads(buf.get(..pos).unwrap_or_default(), len))
    };
    Ok(Some(Payload {
        bytes,
        consumed: pos,
        next_seq: expected,
    }))
}

/// Concatenates the payloads of the complete packets in `buf`.
fn join_payloads(mut buf: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while let Some(h) = next_packet(buf) {
        let Some(payload) = buf.get(HEADER_LEN..h.total_len()) else {
            break;
        };
        out.extend_from_slice(payload);
        buf = buf.get(h.total_len()..).unwrap_or_default();
    }
    out
}

/// The header of a packet of `payload_len` (≤ [`MAX_PAYLOAD`]) bytes.
fn header_bytes(payload_len: usize, seq: u8) -> [u8; HEADER_LEN] {
    let [b0, b1, b2, _] = (payload_len as u32).to_le_bytes();
    [b0, b1, b2, seq]
}

/// Appends `payload` as packets numbered from `seq`, splitting it at [`MAX_PAYLOAD`]
/// (a payload of a multiple of it, or an empty one, ends with an empty packet).
/// Returns the sequence id for the next packet.
pub fn write_payload(out: &mut Vec<u8>, payload: &[u8], seq: u8) -> u8 {
    let mut seq = seq;
    let mut chunks = payload.chunks(MAX_PAYLOAD);
    loop {
        let chunk = chunks.next().unwrap_or_default();
        out.extend_from_slice(&header_bytes(chunk.len(), seq));
        out.extend_from_slice(chunk);
        seq = seq.wrapping_add(1);
        if chunk.len() < MAX_PAYLOAD {
            return seq;
        }
    }
}

/// Appends the payload `body` writes as packets numbered from `seq`, without copying it
/// when it fits one packet. Returns the sequence id for the next packet.
pub fn put_packet(out: &mut Vec<u8>, seq: u8, body: impl FnOnce(&mut Vec<u8>)) -> u8 {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    body(out);
    let len = out.len() - start - HEADER_LEN;
    if len < MAX_PAYLOAD {
        if let Some(slot) = out.get_mut(start..start + HEADER_LEN) {
            slot.copy_from_slice(&header_bytes(len, seq));
        }
        return seq.wrapping_add(1);
    }
    let payload = out.split_off(start + HEADER_LEN);
    out.truncate(start);
    write_payload(out, &payload, seq)
}

#[cfg(test)]
mod tests;
