//! Intervals in PostgreSQL's default `IntervalStyle = postgres` (`1 year 2 mons 3 days
//! 04:05:06.5`, `-1 days +02:00:00`): MySQL has no interval type, so clients get the
//! text a PostgreSQL client would.
//!
//! Spec: `EncodeInterval` in PostgreSQL's `src/backend/utils/adt/datetime.c`.

use super::pg_binary::Interval;
use super::text::{push_fmt, push_fraction_trimmed};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;

/// Appends the interval's text.
pub(super) fn push_pg(out: &mut Vec<u8>, iv: &Interval) {
    // PostgreSQL 17's infinite intervals: every field at its extreme.
    if (iv.months, iv.days, iv.micros) == (i32::MAX, i32::MAX, i64::MAX) {
        out.extend_from_slice(b"infinity");
        return;
    }
    if (iv.months, iv.days, iv.micros) == (i32::MIN, i32::MIN, i64::MIN) {
        out.extend_from_slice(b"-infinity");
        return;
    }
    let mut parts = Parts {
        out,
        is_zero: true,
        is_before: false,
    };
    // Division truncates toward zero, as in C: every field takes the sign of its whole.
    parts.push(iv.months / 12, "year");
    parts.push(iv.months % 12, "mon");
    parts.push(iv.days, "day");
    if parts.is_zero || iv.micros != 0 {
        let Parts {
            out,
            is_zero,
            is_before,
        } = parts;
        if !is_zero {
            out.push(b' ');
        }
        if iv.micros < 0 {
            out.push(b'-');
        } else if is_before {
            out.push(b'+');
        }
        let abs = iv.micros.unsigned_abs();
        let hours = abs / MICROS_PER_HOUR.unsigned_abs();
        let minutes = abs / MICROS_PER_MINUTE.unsigned_abs() % 60;
        let seconds = abs / MICROS_PER_SECOND.unsigned_abs() % 60;
        push_fmt(out, format_args!("{hours:02}:{minutes:02}:{seconds:02}"));
        let micros = abs % MICROS_PER_SECOND.unsigned_abs();
        push_fraction_trimmed(out, u32::try_from(micros).unwrap_or_default());
    }
}

/// The day-and-larger fields, with the state `AddPostgresIntPart` threads through them.
struct Parts<'a> {
    out: &'a mut Vec<u8>,
    /// Nothing written yet.
    is_zero: bool,
    /// The previous field was negative: the next positive one gets a `+`.
    is_before: bool,
}

impl Parts<'_> {
    fn push(&mut self, value: i32, unit: &str) {
        if value == 0 {
            return;
        }
        if !self.is_zero {
            self.out.push(b' ');
        }
        if self.is_before && value > 0 {
            self.out.push(b'+');
        }
        let plural = if value == 1 { "" } else { "s" };
        push_fmt(self.out, format_args!("{value} {unit}{plural}"));
        self.is_before = value < 0;
        self.is_zero = false;
    }
}

#[cfg(test)]
mod tests;
