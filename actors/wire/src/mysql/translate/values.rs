//! [`PgValue`]s as MySQL result values: the text protocol's strings (COM_QUERY) and the
//! binary protocol's typed fields (COM_STMT_EXECUTE), and whole rows of each.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html>

use super::pg_binary::{Date, PgValue, Time};
use super::text::{push_fmt, push_uuid};
use super::types::{
    ColumnType, MYSQL_TYPE_DATE, MYSQL_TYPE_DATETIME, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_FLOAT,
    MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_SHORT, MYSQL_TYPE_TIME, MYSQL_TYPE_TIMESTAMP,
    MYSQL_TYPE_TINY, UNSIGNED_FLAG,
};
use super::{calendar, float, interval, TranslateError};
use crate::mysql::codec::{put_lenenc_int, put_uint_le, LENENC_NULL};

/// The first byte of a binary-protocol row.
const BINARY_ROW_HEADER: u8 = 0x00;
/// A binary row's NULL bitmap starts at bit 2 (bits 0 and 1 are reserved).
const BINARY_ROW_NULL_OFFSET: usize = 2;
/// The largest year a MySQL date can hold.
const MYSQL_MAX_YEAR: i32 = 9999;

/// Appends `v`'s text-protocol form, without the length prefix.
pub fn put_text(out: &mut Vec<u8>, v: &PgValue<'_>) {
    match v {
        PgValue::Int(i) => push_fmt(out, format_args!("{i}")),
        PgValue::Float4(f) => float::push_f32(out, *f),
        PgValue::Float8(f) => float::push_f64(out, *f),
        PgValue::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
        PgValue::Text(b) | PgValue::Bytes(b) | PgValue::Json(b) => out.extend_from_slice(b),
        PgValue::Numeric(s) | PgValue::Array(s) => out.extend_from_slice(s.as_bytes()),
        PgValue::Date(d) => calendar::push_mysql_date(out, d),
        PgValue::Time(t) => calendar::push_mysql_time(out, t),
        PgValue::Timestamp(ts) => calendar::push_mysql_datetime(out, ts),
        PgValue::Interval(iv) => interval::push_pg(out, iv),
        PgValue::Uuid(u) => push_uuid(out, u),
    }
}

/// Appends `v`'s text form as a length-encoded string.
fn put_lenenc_text(out: &mut Vec<u8>, v: &PgValue<'_>) {
    let start = out.len();
    put_text(out, v);
    // The length is known only now: slide its prefix in front of the text.
    let mut prefix = Vec::with_capacity(9);
    put_lenenc_int(&mut prefix, (out.len() - start) as u64);
    out.splice(start..start, prefix);
}

/// Appends `v` as the binary-protocol field of a column of type `t`. Numbers, dates and
/// times get their typed encodings; every other type is a length-encoded string of its
/// text form. A value that does not fit its column's type is an error, not a cast.
pub fn put_binary(
    out: &mut Vec<u8>,
    t: &ColumnType,
    v: &PgValue<'_>,
) -> Result<(), TranslateError> {
    let unsigned = t.flags & UNSIGNED_FLAG != 0;
    match (t.code, v) {
        (MYSQL_TYPE_TINY, PgValue::Bool(b)) => out.push(u8::from(*b)),
        (MYSQL_TYPE_TINY, PgValue::Int(i)) => put_int(out, *i, 1, unsigned)?,
        (MYSQL_TYPE_SHORT, PgValue::Int(i)) => put_int(out, *i, 2, unsigned)?,
        (MYSQL_TYPE_LONG, PgValue::Int(i)) => put_int(out, *i, 4, unsigned)?,
        (MYSQL_TYPE_LONGLONG, PgValue::Int(i)) => put_int(out, *i, 8, unsigned)?,
        (MYSQL_TYPE_FLOAT, PgValue::Float4(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (MYSQL_TYPE_DOUBLE, PgValue::Float8(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (MYSQL_TYPE_DOUBLE, PgValue::Float4(f)) => {
            out.extend_from_slice(&f64::from(*f).to_le_bytes())
        }
        (MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP, PgValue::Date(d)) => {
            put_datetime(out, d, &Time::default())?
        }
        (MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP, PgValue::Timestamp(ts)) => {
            put_datetime(out, &ts.date, &ts.time)?
        }
        (MYSQL_TYPE_TIME, PgValue::Time(tm)) => put_time(out, tm),
        (
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE | MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIME,
            _,
        ) => {
            return Err(TranslateError::Unrepresentable {
                what: "value of another type than its column",
            })
        }
        _ => put_lenenc_text(out, v),
    }
    Ok(())
}

/// Appends the low `width` bytes of `v` after checking that it fits.
fn put_int(out: &mut Vec<u8>, v: i64, width: usize, unsigned: bool) -> Result<(), TranslateError> {
    let bits = 8 * width as u32;
    let v = i128::from(v);
    let (min, max) = if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    };
    if !(min..=max).contains(&v) {
        return Err(TranslateError::Unrepresentable {
            what: "integer wider than its column",
        });
    }
    put_uint_le(out, v as u64, width);
    Ok(())
}

/// MySQL's `MYSQL_TIME` for DATE, DATETIME and TIMESTAMP: a length byte (0, 4, 7 or 11,
/// the shortest that holds the value), then year, month, day, hour, minute, second,
/// microseconds.
fn put_datetime(out: &mut Vec<u8>, d: &Date, t: &Time) -> Result<(), TranslateError> {
    let year = u16::try_from(d.year)
        .ok()
        .filter(|&y| i32::from(y) <= MYSQL_MAX_YEAR)
        .ok_or(TranslateError::Unrepresentable {
            what: "year outside 0..=9999",
        })?;
    let len: u8 = if t.micro != 0 {
        11
    } else if (t.hour, t.minute, t.second) != (0, 0, 0) {
        7
    } else if (year, d.month, d.day) != (0, 0, 0) {
        4
    } else {
        0
    };
    out.push(len);
    if len >= 4 {
        put_uint_le(out, year.into(), 2);
        out.extend_from_slice(&[d.month, d.day]);
    }
    if len >= 7 {
        out.extend_from_slice(&[t.hour, t.minute, t.second]);
    }
    if len == 11 {
        put_uint_le(out, t.micro.into(), 4);
    }
    Ok(())
}

/// MySQL's `MYSQL_TIME` for TIME: a length byte (0, 8 or 12), then the sign, days, hour,
/// minute, second, microseconds. `24:00:00` is one day.
fn put_time(out: &mut Vec<u8>, t: &Time) {
    let len: u8 = if t.micro != 0 {
        12
    } else if (t.hour, t.minute, t.second) != (0, 0, 0) {
        8
    } else {
        0
    };
    out.push(len);
    if len >= 8 {
        out.push(0); // is_negative: a PostgreSQL time of day never is.
        put_uint_le(out, u64::from(t.hour / 24), 4);
        out.extend_from_slice(&[t.hour % 24, t.minute, t.second]);
    }
    if len == 12 {
        put_uint_le(out, t.micro.into(), 4);
    }
}

/// Appends a binary-protocol row payload: header, NULL bitmap, the non-NULL values. On
/// an error `out` is left as it was.
pub fn encode_binary_row(
    out: &mut Vec<u8>,
    types: &[ColumnType],
    values: &[Option<PgValue<'_>>],
) -> Result<(), TranslateError> {
    if types.len() != values.len() {
        return Err(TranslateError::Malformed(
            "row with another number of values than columns",
        ));
    }
    let start = out.len();
    out.push(BINARY_ROW_HEADER);
    let bitmap = out.len();
    out.resize(bitmap + (values.len() + 7 + BINARY_ROW_NULL_OFFSET) / 8, 0);
    for (i, (t, v)) in types.iter().zip(values).enumerate() {
        let Some(v) = v else {
            let bit = i + BINARY_ROW_NULL_OFFSET;
            if let Some(byte) = out.get_mut(bitmap + bit / 8) {
                *byte |= 1 << (bit % 8);
            }
            continue;
        };
        if let Err(e) = put_binary(out, t, v) {
            out.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

/// Appends a text-protocol row payload: each value as a length-encoded string, NULL as
/// 0xFB.
pub fn encode_text_row(out: &mut Vec<u8>, values: &[Option<PgValue<'_>>]) {
    for v in values {
        match v {
            Some(v) => put_lenenc_text(out, v),
            None => out.push(LENENC_NULL),
        }
    }
}

#[cfg(test)]
mod tests;
