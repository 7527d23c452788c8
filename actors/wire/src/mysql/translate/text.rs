//! Formatting into the byte buffers packets are built in, without a `String` per value.

use std::fmt::{self, Write};

/// Lets `write!` append to a `Vec<u8>`.
struct Sink<'a>(&'a mut Vec<u8>);

impl Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends formatted text. Appending to a `Vec` cannot fail, so there is no result.
pub(super) fn push_fmt(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    // Only a `Display` impl returning an error could fail here, and ours never do.
    let _ = Sink(out).write_fmt(args);
}

/// A fixed buffer for short formatted text (a float's digits): no allocation. Text that
/// does not fit is an error, and callers size it so that it always fits.
pub(super) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    pub(super) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    pub(super) fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl<const N: usize> Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends a year as at least four digits, with a `-` before years before year 0.
pub(super) fn push_year(out: &mut Vec<u8>, year: i32) {
    if year < 0 {
        out.push(b'-');
    }
    push_fmt(out, format_args!("{:04}", year.unsigned_abs()));
}

/// Appends `.` and the microseconds with trailing zeros dropped, nothing for zero: how
/// PostgreSQL prints fractional seconds.
pub(super) fn push_fraction_trimmed(out: &mut Vec<u8>, micros: u32) {
    if micros == 0 {
        return;
    }
    let mut digits = micros;
    let mut width = 6;
    while width > 1 && digits.is_multiple_of(10) {
        digits /= 10;
        width -= 1;
    }
    push_fmt(out, format_args!(".{digits:0width$}"));
}

/// Appends a UUID in its canonical lower-case 8-4-4-4-12 form.
pub(super) fn push_uuid(out: &mut Vec<u8>, uuid: &[u8; 16]) {
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        push_fmt(out, format_args!("{b:02x}"));
    }
}

/// Appends bytes as lower-case hex digits.
pub(super) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        push_fmt(out, format_args!("{b:02x}"));
    }
}
