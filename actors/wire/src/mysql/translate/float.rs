//! Floats as PostgreSQL prints them (`extra_float_digits` = 1, the default since PG 12):
//! the shortest digits that read back to the same value, in fixed notation for decimal
//! exponents from -4 up to 14 (`float8`) or 5 (`float4`), otherwise as `1e+20`, `1e-05`.
//! Rust finds the same shortest digits; only the layout differs, so it is redone here.

use std::fmt::Write;

use super::text::StackText;

/// `float8` uses fixed notation below this decimal exponent (`DBL_DIG`).
const F8_FIXED_BELOW: i32 = 15;
/// `float4` uses fixed notation below this decimal exponent (printf's `%g` default).
const F4_FIXED_BELOW: i32 = 6;
/// Both use fixed notation from this exponent up.
const FIXED_FROM: i32 = -4;

pub(super) fn push_f64(out: &mut Vec<u8>, v: f64) {
    if let Some(s) = special(v.is_nan(), v.is_infinite(), v.is_sign_negative()) {
        out.extend_from_slice(s);
        return;
    }
    let mut sci = StackText::<48>::new();
    // `{:e}` of a finite f64 is at most 25 bytes (`-1.2345678901234567e-308`).
    let _ = write!(sci, "{v:e}");
    push_layout(out, sci.as_str(), F8_FIXED_BELOW);
}

pub(super) fn push_f32(out: &mut Vec<u8>, v: f32) {
    if let Some(s) = special(v.is_nan(), v.is_infinite(), v.is_sign_negative()) {
        out.extend_from_slice(s);
        return;
    }
    let mut sci = StackText::<48>::new();
    let _ = write!(sci, "{v:e}");
    push_layout(out, sci.as_str(), F4_FIXED_BELOW);
}

/// `NaN`, `Infinity`, `-Infinity`: the text PostgreSQL prints and reads.
pub(super) fn special(nan: bool, infinite: bool, negative: bool) -> Option<&'static [u8]> {
    match (nan, infinite, negative) {
        (true, _, _) => Some(b"NaN"),
        (false, true, false) => Some(b"Infinity"),
        (false, true, true) => Some(b"-Infinity"),
        _ => None,
    }
}

/// Lays out Rust's `{:e}` text (`-1.25e-7`: sign, shortest digits, exponent) the way
/// PostgreSQL does.
fn push_layout(out: &mut Vec<u8>, sci: &str, fixed_below: i32) {
    let parsed = sci.split_once('e').and_then(|(mantissa, exp)| {
        let exp: i32 = exp.parse().ok()?;
        Some((mantissa, exp))
    });
    let Some((mantissa, exp)) = parsed else {
        // Rust always writes an exponent; keep its text if that ever changes.
        out.extend_from_slice(sci.as_bytes());
        return;
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    if negative {
        out.push(b'-');
    }
    if !(FIXED_FROM..fixed_below).contains(&exp) {
        out.extend_from_slice(mantissa.as_bytes());
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        super::text::push_fmt(out, format_args!("{:02}", exp.unsigned_abs()));
        return;
    }
    let digits = mantissa.bytes().filter(|b| *b != b'.');
    if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', exp.unsigned_abs() as usize - 1));
        out.extend(digits);
        return;
    }
    // exp is 0..fixed_below here: that many digits go before the point after the first.
    let int_len = exp as usize + 1;
    let mut written = 0;
    for d in digits {
        if written == int_len {
            out.push(b'.');
        }
        out.push(d);
        written += 1;
    }
    out.extend(std::iter::repeat_n(b'0', int_len.saturating_sub(written)));
}

#[cfg(test)]
mod tests;
