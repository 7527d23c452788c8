//! PostgreSQL's date and time counts (days and microseconds since 2000-01-01, in the
//! proleptic Gregorian calendar) as calendar fields, and the two text forms of those:
//! MySQL's (`2024-02-29 12:00:00.500000`) and PostgreSQL's (`2024-02-29 12:00:00.5`).

use super::pg_binary::{Date, Time, Timestamp};
use super::text::{push_fmt, push_fraction_trimmed, push_year};
use super::TranslateError;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Days from 0000-03-01 (the start of the 400-year cycle the algorithm counts in) to
/// 2000-01-01.
const DAYS_0000_03_01_TO_2000_01_01: i64 = 730_425;
const DAYS_PER_ERA: i64 = 146_097;

/// PostgreSQL's `infinity` and `-infinity` dates and timestamps.
pub(super) const DATE_INFINITY: i32 = i32::MAX;
pub(super) const DATE_NEG_INFINITY: i32 = i32::MIN;
pub(super) const TIMESTAMP_INFINITY: i64 = i64::MAX;
pub(super) const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;

/// A `date`: days since 2000-01-01.
pub(super) fn date(days: i32) -> Result<Date, TranslateError> {
    if days == DATE_INFINITY || days == DATE_NEG_INFINITY {
        return Err(TranslateError::Unrepresentable {
            what: "infinite date",
        });
    }
    civil_from_days(days.into())
}

/// A `time`: microseconds since midnight, up to 24:00:00 inclusive.
pub(super) fn time(micros: i64) -> Result<Time, TranslateError> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err(TranslateError::Malformed("time"));
    }
    time_of_day(micros)
}

/// A `timestamp` or `timestamptz`: microseconds since 2000-01-01 00:00:00 (UTC).
pub(super) fn timestamp(micros: i64) -> Result<Timestamp, TranslateError> {
    if micros == TIMESTAMP_INFINITY || micros == TIMESTAMP_NEG_INFINITY {
        return Err(TranslateError::Unrepresentable {
            what: "infinite timestamp",
        });
    }
    Ok(Timestamp {
        date: civil_from_days(micros.div_euclid(MICROS_PER_DAY))?,
        time: time_of_day(micros.rem_euclid(MICROS_PER_DAY))?,
    })
}

/// `micros` is 0..=one day.
fn time_of_day(micros: i64) -> Result<Time, TranslateError> {
    let seconds = micros / MICROS_PER_SECOND;
    let field = |v: i64| u8::try_from(v).map_err(|_| TranslateError::Malformed("time"));
    Ok(Time {
        hour: field(seconds / 3600)?,
        minute: field(seconds / 60 % 60)?,
        second: field(seconds % 60)?,
        micro: u32::try_from(micros % MICROS_PER_SECOND)
            .map_err(|_| TranslateError::Malformed("time"))?,
    })
}

/// Howard Hinnant's `civil_from_days`, counted from 2000-01-01: exact for every day an
/// i64 of microseconds or an i32 of days can name.
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>
fn civil_from_days(days_since_2000: i64) -> Result<Date, TranslateError> {
    let z = days_since_2000 + DAYS_0000_03_01_TO_2000_01_01;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z.rem_euclid(DAYS_PER_ERA);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let bad = |_| TranslateError::Malformed("date");
    Ok(Date {
        year: i32::try_from(year).map_err(bad)?,
        month: u8::try_from(month).map_err(bad)?,
        day: u8::try_from(day).map_err(bad)?,
    })
}

/// MySQL's `YYYY-MM-DD` (years before 0 get a `-`).
pub(super) fn push_mysql_date(out: &mut Vec<u8>, d: &Date) {
    push_year(out, d.year);
    push_fmt(out, format_args!("-{:02}-{:02}", d.month, d.day));
}

/// MySQL's `HH:MM:SS`, with `.ffffff` (all six digits) when there are microseconds.
pub(super) fn push_mysql_time(out: &mut Vec<u8>, t: &Time) {
    push_fmt(
        out,
        format_args!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
    );
    if t.micro != 0 {
        push_fmt(out, format_args!(".{:06}", t.micro));
    }
}

/// MySQL's `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub(super) fn push_mysql_datetime(out: &mut Vec<u8>, ts: &Timestamp) {
    push_mysql_date(out, &ts.date);
    out.push(b' ');
    push_mysql_time(out, &ts.time);
}

/// PostgreSQL's ISO date: year 0 and before as `0001-… BC` and so on.
pub(super) fn push_pg_date(out: &mut Vec<u8>, d: &Date) {
    push_pg_date_fields(out, d);
    push_bc(out, d);
}

fn push_pg_date_fields(out: &mut Vec<u8>, d: &Date) {
    let year = if d.year > 0 {
        i64::from(d.year)
    } else {
        1 - i64::from(d.year)
    };
    push_fmt(out, format_args!("{year:04}-{:02}-{:02}", d.month, d.day));
}

fn push_bc(out: &mut Vec<u8>, d: &Date) {
    if d.year <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// PostgreSQL's `HH:MM:SS[.f]`, trailing zeros of the fraction dropped.
pub(super) fn push_pg_time(out: &mut Vec<u8>, t: &Time) {
    push_fmt(
        out,
        format_args!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
    );
    push_fraction_trimmed(out, t.micro);
}

/// PostgreSQL's ISO timestamp; `with_zone` adds the UTC offset (`+00`), as a session
/// with `TimeZone = UTC` prints a `timestamptz`.
pub(super) fn push_pg_timestamp(out: &mut Vec<u8>, ts: &Timestamp, with_zone: bool) {
    push_pg_date_fields(out, &ts.date);
    out.push(b' ');
    push_pg_time(out, &ts.time);
    if with_zone {
        out.extend_from_slice(b"+00");
    }
    push_bc(out, &ts.date);
}

#[cfg(test)]
mod tests;
