//! PostgreSQL binary-format values (what `tokio-postgres` returns for every column) for
//! the types of the type table, decoded into [`PgValue`]. Every length is checked: any
//! input gives a value or an error, never a panic.
//!
//! Spec: the `*send` functions of PostgreSQL's `src/backend/utils/adt/`.

use super::types::{array_element, oid};
use super::{calendar, numeric, pg_array, TranslateError};

/// One decoded value. Borrowed variants point into the bytes given to [`decode`].
#[derive(Debug, Clone, PartialEq)]
pub enum PgValue<'a> {
    /// `int2`, `int4`, `int8` and `oid`.
    Int(i64),
    Float4(f32),
    Float8(f64),
    Bool(bool),
    /// `text`, `varchar`, `bpchar`, `name`, `"char"`, `unknown`: the server's encoding.
    Text(&'a [u8]),
    /// `bytea`.
    Bytes(&'a [u8]),
    /// The exact decimal text, as PostgreSQL prints it (`-0.50`, `NaN`).
    Numeric(String),
    Date(Date),
    Time(Time),
    /// `timestamp`, and `timestamptz` in UTC.
    Timestamp(Timestamp),
    Interval(Interval),
    Uuid([u8; 16]),
    /// `json`, and `jsonb` without its version byte.
    Json(&'a [u8]),
    /// PostgreSQL's text form of the array (`{1,2,NULL}`).
    Array(String),
}

/// A proleptic Gregorian date; `year` 0 is 1 BC, as in ISO 8601.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// A time of day; `24:00:00` is allowed, as in PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub date: Date,
    /// Never `24:00:00`.
    pub time: Time,
}

/// PostgreSQL keeps the three parts apart: a month and a day have no fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// Decodes one non-NULL binary value of type `oid`.
pub fn decode(oid: u32, bytes: &[u8]) -> Result<PgValue<'_>, TranslateError> {
    Ok(match oid {
        oid::INT2 => PgValue::Int(i16::from_be_bytes(exact(bytes, "int2")?).into()),
        oid::INT4 => PgValue::Int(i32::from_be_bytes(exact(bytes, "int4")?).into()),
        oid::INT8 => PgValue::Int(i64::from_be_bytes(exact(bytes, "int8")?)),
        oid::OID => PgValue::Int(u32::from_be_bytes(exact(bytes, "oid")?).into()),
        oid::FLOAT4 => PgValue::Float4(f32::from_be_bytes(exact(bytes, "float4")?)),
        oid::FLOAT8 => PgValue::Float8(f64::from_be_bytes(exact(bytes, "float8")?)),
        // PostgreSQL's boolrecv reads any non-zero byte as true.
        oid::BOOL => PgValue::Bool(exact::<1>(bytes, "bool")? != [0]),
        // A NUL "char" is PostgreSQL's empty "char", printed as nothing.
        oid::CHAR if bytes == [0] => PgValue::Text(&[]),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR | oid::UNKNOWN => {
            PgValue::Text(bytes)
        }
        oid::BYTEA => PgValue::Bytes(bytes),
        oid::NUMERIC => PgValue::Numeric(numeric::decode(bytes)?),
        oid::DATE => PgValue::Date(calendar::date(i32::from_be_bytes(exact(bytes, "date")?))?),
        oid::TIME => PgValue::Time(calendar::time(i64::from_be_bytes(exact(bytes, "time")?))?),
        oid::TIMESTAMP | oid::TIMESTAMPTZ => PgValue::Timestamp(calendar::timestamp(
            i64::from_be_bytes(exact(bytes, "timestamp")?),
        )?),
        oid::INTERVAL => PgValue::Interval(interval(bytes)?),
        oid::UUID => PgValue::Uuid(exact(bytes, "uuid")?),
        oid::JSON => PgValue::Json(bytes),
        oid::JSONB => match bytes.split_first() {
            Some((&JSONB_VERSION, text)) => PgValue::Json(text),
            _ => return Err(TranslateError::Malformed("jsonb")),
        },
        _ => match array_element(oid) {
            Some(element) => PgValue::Array(pg_array::decode(element, bytes)?),
            None => return Err(TranslateError::UnsupportedType(oid)),
        },
    })
}

/// The only jsonb binary format version.
const JSONB_VERSION: u8 = 1;

fn interval(bytes: &[u8]) -> Result<Interval, TranslateError> {
    let mut c = Cursor::new(bytes, "interval");
    let micros = c.i64()?;
    let days = c.i32()?;
    let months = c.i32()?;
    c.finish()?;
    Ok(Interval {
        months,
        days,
        micros,
    })
}

/// A fixed-size value: exactly `N` bytes.
fn exact<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], TranslateError> {
    bytes
        .try_into()
        .map_err(|_| TranslateError::Malformed(what))
}

/// A big-endian reader over one value that names the type in its errors.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    pub(super) fn malformed(&self) -> TranslateError {
        TranslateError::Malformed(self.what)
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], TranslateError> {
        if n > self.buf.len() {
            return Err(self.malformed());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TranslateError> {
        let what = self.what;
        exact(self.take(N)?, what)
    }

    pub(super) fn i16(&mut self) -> Result<i16, TranslateError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub(super) fn u16(&mut self) -> Result<u16, TranslateError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(super) fn i32(&mut self) -> Result<i32, TranslateError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, TranslateError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(super) fn i64(&mut self) -> Result<i64, TranslateError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// The value must end here: trailing bytes mean the format was misread.
    pub(super) fn finish(self) -> Result<(), TranslateError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

#[cfg(test)]
mod tests;
