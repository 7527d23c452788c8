//! Arrays from PostgreSQL's binary format to the text PostgreSQL prints for them
//! (`{1,2,NULL}`, `{{"a b",c},{d,NULL}}`, `[0:1]={t,f}`): MySQL has no array type, so a
//! client gets the text a PostgreSQL client would.
//!
//! Spec: `array_send` and `array_out` in PostgreSQL's `src/backend/utils/adt/arrayfuncs.c`.

use super::calendar::{
    self, DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY,
};
use super::pg_binary::{decode as decode_value, Cursor, PgValue};
use super::text::{push_fmt, push_hex, push_uuid};
use super::types::oid;
use super::{float, interval, TranslateError};

/// PostgreSQL's `MAXDIM`.
const MAX_DIMENSIONS: i32 = 6;
/// An element length of -1 is a NULL element.
const NULL_LENGTH: i32 = -1;
/// Every element takes at least its 4-byte length.
const MIN_ELEMENT_BYTES: usize = 4;

/// Decodes a binary array whose elements are of type `element` into its text form.
pub(super) fn decode(element: u32, bytes: &[u8]) -> Result<String, TranslateError> {
    let mut c = Cursor::new(bytes, "array");
    let ndim = c.i32()?;
    let has_nulls = c.i32()?;
    let element_oid = c.u32()?;
    if !(0..=MAX_DIMENSIONS).contains(&ndim) || !matches!(has_nulls, 0 | 1) {
        return Err(c.malformed());
    }
    if element_oid != element {
        return Err(TranslateError::Malformed("array element type"));
    }
    let mut dims = Vec::new();
    let mut count: usize = 1;
    for _ in 0..ndim {
        let len = c.i32()?;
        let lower = c.i32()?;
        let len_usize = usize::try_from(len).map_err(|_| c.malformed())?;
        // The upper bound must be an i32 too, as PostgreSQL requires.
        let upper = match len {
            0 => lower,
            _ => lower.checked_add(len - 1).ok_or(c.malformed())?,
        };
        count = count.checked_mul(len_usize).ok_or(c.malformed())?;
        dims.push((len_usize, lower, upper));
    }
    if ndim == 0 || count == 0 {
        c.finish()?;
        return Ok("{}".into());
    }
    // Also bounds the work below by the input's size.
    if count > c.remaining() / MIN_ELEMENT_BYTES {
        return Err(c.malformed());
    }
    let mut out = Vec::new();
    if dims.iter().any(|&(_, lower, _)| lower != 1) {
        for &(_, lower, upper) in &dims {
            push_fmt(&mut out, format_args!("[{lower}:{upper}]"));
        }
        out.push(b'=');
    }
    let lens: Vec<usize> = dims.iter().map(|&(len, _, _)| len).collect();
    push_level(&mut out, &mut c, element, &lens)?;
    c.finish()?;
    String::from_utf8(out).map_err(|_| TranslateError::Malformed("array element text"))
}

/// One pair of braces: the elements (or sub-arrays) of the first of `lens`.
fn push_level(
    out: &mut Vec<u8>,
    c: &mut Cursor<'_>,
    element: u32,
    lens: &[usize],
) -> Result<(), TranslateError> {
    let Some((&len, inner)) = lens.split_first() else {
        return Err(c.malformed());
    };
    out.push(b'{');
    for i in 0..len {
        if i > 0 {
            out.push(b',');
        }
        if inner.is_empty() {
            push_element(out, c, element)?;
        } else {
            push_level(out, c, element, inner)?;
        }
    }
    out.push(b'}');
    Ok(())
}

fn push_element(out: &mut Vec<u8>, c: &mut Cursor<'_>, element: u32) -> Result<(), TranslateError> {
    let len = c.i32()?;
    if len == NULL_LENGTH {
        out.extend_from_slice(b"NULL");
        return Ok(());
    }
    let len = usize::try_from(len).map_err(|_| c.malformed())?;
    let bytes = c.take(len)?;
    let start = out.len();
    push_element_text(out, element, bytes)?;
    let needs_quotes = out.get(start..).is_some_and(needs_quotes);
    if needs_quotes {
        let text = out.split_off(start);
        out.push(b'"');
        for &b in &text {
            if matches!(b, b'"' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
    Ok(())
}

/// `array_out`'s rule: empty, `NULL` in any case, or holding a brace, the delimiter, a
/// quote, a backslash or white space.
fn needs_quotes(text: &[u8]) -> bool {
    text.is_empty()
        || text.eq_ignore_ascii_case(b"NULL")
        || text.iter().any(|b| {
            matches!(
                b,
                b'{' | b'}'
                    | b','
                    | b'"'
                    | b'\\'
                    | b' '
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | b'\x0B'
                    | b'\x0C'
            )
        })
}

/// An element's own text form, as its type's output function prints it.
fn push_element_text(out: &mut Vec<u8>, element: u32, bytes: &[u8]) -> Result<(), TranslateError> {
    if let Some(text) = infinity(element, bytes) {
        out.extend_from_slice(text);
        return Ok(());
    }
    match decode_value(element, bytes)? {
        PgValue::Int(v) => push_fmt(out, format_args!("{v}")),
        PgValue::Float4(v) => float::push_f32(out, v),
        PgValue::Float8(v) => float::push_f64(out, v),
        PgValue::Bool(v) => out.push(if v { b't' } else { b'f' }),
        PgValue::Text(t) | PgValue::Json(t) => out.extend_from_slice(t),
        PgValue::Bytes(b) => {
            out.extend_from_slice(b"\\x");
            push_hex(out, b);
        }
        PgValue::Numeric(n) => out.extend_from_slice(n.as_bytes()),
        PgValue::Date(d) => calendar::push_pg_date(out, &d),
        PgValue::Time(t) => calendar::push_pg_time(out, &t),
        PgValue::Timestamp(ts) => {
            calendar::push_pg_timestamp(out, &ts, element == oid::TIMESTAMPTZ)
        }
        PgValue::Interval(iv) => interval::push_pg(out, &iv),
        PgValue::Uuid(u) => push_uuid(out, &u),
        // No served array type has array elements.
        PgValue::Array(_) => return Err(TranslateError::Malformed("array element type")),
    }
    Ok(())
}

/// Infinite dates and timestamps, which have no calendar fields but do have a text form.
fn infinity(element: u32, bytes: &[u8]) -> Option<&'static [u8]> {
    let (positive, negative) = match element {
        oid::DATE => {
            let days = i32::from_be_bytes(bytes.try_into().ok()?);
            (days == DATE_INFINITY, days == DATE_NEG_INFINITY)
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(bytes.try_into().ok()?);
            (
                micros == TIMESTAMP_INFINITY,
                micros == TIMESTAMP_NEG_INFINITY,
            )
        }
        _ => return None,
    };
    match (positive, negative) {
        (true, _) => Some(b"infinity"),
        (_, true) => Some(b"-infinity"),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
