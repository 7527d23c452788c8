//! The protocol's basic data types: fixed-length and length-encoded integers,
//! length-encoded and NUL-terminated strings, and a [`Reader`] that walks a payload
//! field by field and names the packet in its errors.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_data_types.html>

use super::error::MysqlError;

/// Values up to this are stored in the lenenc prefix byte itself.
pub const LENENC_MAX_1_BYTE: u64 = 0xFA;
/// In a text-protocol row this prefix is a NULL column, not a number.
pub const LENENC_NULL: u8 = 0xFB;
/// A 2-byte value follows.
pub const LENENC_2_BYTES: u8 = 0xFC;
/// A 3-byte value follows.
pub const LENENC_3_BYTES: u8 = 0xFD;
/// An 8-byte value follows (4 bytes before MySQL 4.0, which we do not speak).
pub const LENENC_8_BYTES: u8 = 0xFE;
/// Never a lenenc prefix: where one is expected, 0xFF starts an ERR packet.
pub const LENENC_INVALID: u8 = 0xFF;

const INT: &str = "fixed-length integer";
const LENENC_INT: &str = "length-encoded integer";
const LENENC_STR: &str = "length-encoded string";
const NUL_STR: &str = "NUL-terminated string";

/// Reads a `width`-byte little-endian unsigned integer (`int<width>`, width ≤ 8) at the
/// start of `buf`.
pub fn read_uint_le(buf: &[u8], width: usize) -> Result<u64, MysqlError> {
    if width > 8 {
        return Err(MysqlError::Malformed(INT));
    }
    let bytes = buf.get(..width).ok_or(MysqlError::Truncated(INT))?;
    Ok(bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Appends the low `width` bytes of `v` (width ≤ 8; wider is written as 8).
pub fn put_uint_le(out: &mut Vec<u8>, v: u64, width: usize) {
    let bytes = v.to_le_bytes();
    out.extend_from_slice(bytes.get(..width).unwrap_or(&bytes));
}

/// Reads a length-encoded integer at the start of `buf`: `(value, bytes consumed)`,
/// with `None` for the 0xFB NULL marker. A 0xFF prefix is malformed.
pub fn read_lenenc_int(buf: &[u8]) -> Result<(Option<u64>, usize), MysqlError> {
    let (&first, rest) = buf.split_first().ok_or(MysqlError::Truncated(LENENC_INT))?;
    let width = match first {
        LENENC_NULL => return Ok((None, 1)),
        LENENC_2_BYTES => 2,
        LENENC_3_BYTES => 3,
        LENENC_8_BYTES => 8,
        LENENC_INVALID => return Err(MysqlError::Malformed(LENENC_INT)),
        small => return Ok((Some(u64::from(small)), 1)),
    };
    let v = read_uint_le(rest, width).map_err(|_| MysqlError::Truncated(LENENC_INT))?;
    Ok((Some(v), 1 + width))
}

/// Largest value of a 3-byte lenenc integer.
const LENENC_MAX_3_BYTES: u64 = 0xFF_FFFF;

/// The prefix and width a value needs, `None` when it fits in the prefix byte.
fn lenenc_prefix(v: u64) -> Option<(u8, usize)> {
    if v <= LENENC_MAX_1_BYTE {
        None
    } else if v <= u64::from(u16::MAX) {
        Some((LENENC_2_BYTES, 2))
    } else if v <= LENENC_MAX_3_BYTES {
        Some((LENENC_3_BYTES, 3))
    } else {
        Some((LENENC_8_BYTES, 8))
    }
}

/// How many bytes [`put_lenenc_int`] writes for `v`.
pub fn lenenc_int_len(v: u64) -> usize {
    1 + lenenc_prefix(v).map_or(0, |(_, width)| width)
}

/// Appends `v` as a length-encoded integer in its shortest form.
pub fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    match lenenc_prefix(v) {
        None => put_uint_le(out, v, 1),
        Some((prefix, width)) => {
            out.push(prefix);
            put_uint_le(out, v, width);
        }
    }
}

/// Reads a length-encoded string at the start of `buf`: `(bytes, bytes consumed)`, with
/// `None` for a NULL column.
pub fn read_lenenc_str(buf: &[u8]) -> Result<(Option<&[u8]>, usize), MysqlError> {
    let (len, n) = read_lenenc_int(buf).map_err(|e| relabel(e, LENENC_STR))?;
    let Some(len) = len else {
        return Ok((None, n));
    };
    let len = usize::try_from(len).map_err(|_| MysqlError::Truncated(LENENC_STR))?;
    let end = n
        .checked_add(len)
        .ok_or(MysqlError::Truncated(LENENC_STR))?;
    let s = buf.get(n..end).ok_or(MysqlError::Truncated(LENENC_STR))?;
    Ok((Some(s), end))
}

/// Appends `s` as a length-encoded string.
pub fn put_lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Reads a NUL-terminated string at the start of `buf`: `(bytes without the NUL, bytes
/// consumed including it)`.
pub fn read_nul_str(buf: &[u8]) -> Result<(&[u8], usize), MysqlError> {
    let end = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or(MysqlError::Truncated(NUL_STR))?;
    let s = buf.get(..end).ok_or(MysqlError::Truncated(NUL_STR))?;
    Ok((s, end + 1))
}

/// Appends `s` and its NUL terminator. The caller makes sure `s` holds no NUL (see
/// [`check_no_nul`]); otherwise a reader would stop at the first one.
pub fn put_nul_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
    out.push(0);
}

/// Refuses a value that cannot be sent as a NUL-terminated string.
pub fn check_no_nul(s: &[u8], what: &'static str) -> Result<(), MysqlError> {
    if s.contains(&0) {
        return Err(MysqlError::Unencodable(what));
    }
    Ok(())
}

/// Moves a data-type error onto the packet (or field) being decoded.
fn relabel(e: MysqlError, what: &'static str) -> MysqlError {
    match e {
        MysqlError::Truncated(_) => MysqlError::Truncated(what),
        MysqlError::Malformed(_) => MysqlError::Malformed(what),
        other => other,
    }
}

/// A cursor over one complete payload. Every read either returns a field and moves on
/// or fails with an error naming `what` (the packet), so decoders never index by hand.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// `what` names the packet in errors, e.g. `"OK packet"`.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `Truncated` for this packet.
    pub fn truncated(&self) -> MysqlError {
        MysqlError::Truncated(self.what)
    }

    /// `Malformed` for this packet.
    pub fn malformed(&self) -> MysqlError {
        MysqlError::Malformed(self.what)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], MysqlError> {
        if n > self.buf.len() {
            return Err(self.truncated());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], MysqlError> {
        let b = self.bytes(N)?;
        b.try_into().map_err(|_| self.truncated())
    }

    pub fn u8(&mut self) -> Result<u8, MysqlError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub fn u16(&mut self) -> Result<u16, MysqlError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, MysqlError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// `int<width>` for the odd widths (3, 6).
    pub fn uint(&mut self, width: usize) -> Result<u64, MysqlError> {
        let v = read_uint_le(self.buf, width).map_err(|e| relabel(e, self.what))?;
        self.bytes(width)?;
        Ok(v)
    }

    /// A length-encoded integer; the NULL marker is malformed here.
    pub fn lenenc_int(&mut self) -> Result<u64, MysqlError> {
        let (v, n) = read_lenenc_int(self.buf).map_err(|e| relabel(e, self.what))?;
        let v = v.ok_or(self.malformed())?;
        self.bytes(n)?;
        Ok(v)
    }

    /// A length-encoded string; the NULL marker is malformed here.
    pub fn lenenc_bytes(&mut self) -> Result<&'a [u8], MysqlError> {
        let (s, n) = read_lenenc_str(self.buf).map_err(|e| relabel(e, self.what))?;
        let s = s.ok_or(self.malformed())?;
        self.bytes(n)?;
        Ok(s)
    }

    /// A NUL-terminated string, without its NUL.
    pub fn nul_bytes(&mut self) -> Result<&'a [u8], MysqlError> {
        let (s, n) = read_nul_str(self.buf).map_err(|e| relabel(e, self.what))?;
        self.bytes(n)?;
        Ok(s)
    }

    /// A NUL-terminated string that must be UTF-8 (names, versions).
    pub fn nul_string(&mut self) -> Result<String, MysqlError> {
        let s = self.nul_bytes()?;
        self.utf8(s)
    }

    /// A length-encoded string that must be UTF-8.
    pub fn lenenc_string(&mut self) -> Result<String, MysqlError> {
        let s = self.lenenc_bytes()?;
        self.utf8(s)
    }

    /// Everything left (`string<EOF>`).
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    fn utf8(&self, s: &[u8]) -> Result<String, MysqlError> {
        String::from_utf8(s.to_vec()).map_err(|_| self.malformed())
    }
}

#[cfg(test)]
mod tests;
