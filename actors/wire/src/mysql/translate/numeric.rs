//! `numeric` from its binary form to the exact decimal text PostgreSQL prints: base-10000
//! digits, a weight (the power of 10000 of the first digit), a sign and a display scale
//! (the number of fractional decimal digits shown).
//!
//! Spec: `numeric_send` and `get_str_from_var` in PostgreSQL's
//! `src/backend/utils/adt/numeric.c`.

use super::pg_binary::Cursor;
use super::text::push_fmt;
use super::TranslateError;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
/// The largest display scale PostgreSQL stores.
const NUMERIC_DSCALE_MAX: u16 = 0x3FFF;
/// Digits are base 10000: four decimal digits each.
const NBASE_MAX_DIGIT: u16 = 9999;
const DEC_DIGITS: usize = 4;

pub(super) fn decode(bytes: &[u8]) -> Result<String, TranslateError> {
    let mut c = Cursor::new(bytes, "numeric");
    let ndigits = usize::try_from(c.i16()?).map_err(|_| c.malformed())?;
    let weight = i64::from(c.i16()?);
    let sign = c.u16()?;
    let dscale = c.u16()?;
    let digits = (0..ndigits)
        .map(|_| c.u16())
        .collect::<Result<Vec<u16>, _>>()?;
    c.finish()?;
    match sign {
        NUMERIC_NAN => return Ok("NaN".into()),
        NUMERIC_PINF => return Ok("Infinity".into()),
        NUMERIC_NINF => return Ok("-Infinity".into()),
        NUMERIC_POS | NUMERIC_NEG => {}
        _ => return Err(TranslateError::Malformed("numeric")),
    }
    if dscale > NUMERIC_DSCALE_MAX {
        return Err(TranslateError::Malformed("numeric"));
    }
    if digits.iter().any(|&d| d > NBASE_MAX_DIGIT) {
        return Err(TranslateError::Malformed("numeric"));
    }
    // The digit at index `d` (its power of 10000 is weight - d); zero outside the stored ones.
    let digit = |d: i64| {
        usize::try_from(d)
            .ok()
            .and_then(|d| digits.get(d))
            .copied()
            .unwrap_or(0)
    };

    let dscale = usize::from(dscale);
    let int_groups = usize::try_from(weight + 1).unwrap_or(0);
    let mut out = Vec::with_capacity(int_groups * DEC_DIGITS + dscale + 3);
    // PostgreSQL never sends a negative zero, but print one as it would read it back.
    if sign == NUMERIC_NEG && digits.iter().any(|&d| d != 0) {
        out.push(b'-');
    }
    let mut d = 0;
    if weight < 0 {
        out.push(b'0');
        d = weight + 1;
    } else {
        while d <= weight {
            let dig = digit(d);
            if d == 0 {
                push_fmt(&mut out, format_args!("{dig}"));
            } else {
                push_fmt(&mut out, format_args!("{dig:04}"));
            }
            d += 1;
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let end = out.len() + dscale;
        while out.len() < end {
            push_fmt(&mut out, format_args!("{:04}", digit(d)));
            d += 1;
        }
        out.truncate(end);
    }
    String::from_utf8(out).map_err(|_| TranslateError::Malformed("numeric"))
}

#[cfg(test)]
mod tests;
