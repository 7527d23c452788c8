//! COM_STMT_EXECUTE's parameters as PostgreSQL text-format parameters, and
//! COM_STMT_SEND_LONG_DATA's chunks. PostgreSQL parses each text value as the type it
//! inferred for the `$n`, so only the layout has to change, never the value.
//!
//! The client must not have negotiated `CLIENT_QUERY_ATTRIBUTES`, which changes the
//! packet's layout.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_execute.html>

use super::text::{push_fmt, push_year};
use super::types::{
    MYSQL_TYPE_BIT, MYSQL_TYPE_BLOB, MYSQL_TYPE_DATE, MYSQL_TYPE_DATETIME, MYSQL_TYPE_DECIMAL,
    MYSQL_TYPE_DOUBLE, MYSQL_TYPE_ENUM, MYSQL_TYPE_FLOAT, MYSQL_TYPE_INT24, MYSQL_TYPE_JSON,
    MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_MEDIUM_BLOB,
    MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_NULL, MYSQL_TYPE_SET, MYSQL_TYPE_SHORT, MYSQL_TYPE_STRING,
    MYSQL_TYPE_TIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_TINY, MYSQL_TYPE_TINY_BLOB,
    MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_YEAR,
};
use super::{float, TranslateError};
use crate::mysql::codec::Reader;
use crate::mysql::MysqlError;

/// The high byte of a parameter type: the value is unsigned.
const PARAM_UNSIGNED: u8 = 0x80;

/// A decoded COM_STMT_EXECUTE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute {
    pub stmt_id: u32,
    /// The cursor type (`CURSOR_TYPE_*`).
    pub flags: u8,
    /// Each parameter's PostgreSQL text form; `None` is SQL NULL.
    pub params: Vec<Option<Vec<u8>>>,
}

/// Decodes a COM_STMT_EXECUTE payload (after the command byte) for a statement with
/// `param_count` parameters. `bound_types` holds the statement's parameter types: the
/// client sends them on the first execute (or when they change) and MySQL keeps them
/// for the next ones, so the caller keeps this per statement. `long_data(i)` returns
/// what COM_STMT_SEND_LONG_DATA sent for parameter `i`, which then has no bytes here.
pub fn decode_execute(
    payload: &[u8],
    param_count: usize,
    bound_types: &mut Vec<(u8, bool)>,
    long_data: &mut dyn FnMut(usize) -> Option<Vec<u8>>,
) -> Result<Execute, TranslateError> {
    let mut r = Reader::new(payload, "COM_STMT_EXECUTE");
    let stmt_id = r.u32().map_err(malformed)?;
    let flags = r.u8().map_err(malformed)?;
    let _iteration_count = r.u32().map_err(malformed)?;
    if param_count == 0 {
        return Ok(Execute {
            stmt_id,
            flags,
            params: Vec::new(),
        });
    }
    let null_bitmap = r.bytes(param_count.div_ceil(8)).map_err(malformed)?;
    let new_params_bound = r.u8().map_err(malformed)?;
    if new_params_bound != 0 {
        let types_len = param_count
            .checked_mul(2)
            .ok_or(TranslateError::Malformed("COM_STMT_EXECUTE"))?;
        let types = r.bytes(types_len).map_err(malformed)?;
        bound_types.clear();
        bound_types.extend(types.chunks_exact(2).filter_map(|pair| match *pair {
            [ty, flag] => Some((ty, flag & PARAM_UNSIGNED != 0)),
            _ => None,
        }));
    }
    if bound_types.len() != param_count {
        return Err(TranslateError::Malformed(
            "COM_STMT_EXECUTE without parameter types",
        ));
    }
    let mut params = Vec::with_capacity(param_count);
    for (i, &(ty, unsigned)) in bound_types.iter().enumerate() {
        // As in MySQL, long data wins over the NULL bit.
        if let Some(data) = long_data(i) {
            params.push(Some(data));
            continue;
        }
        let is_null = null_bitmap
            .get(i / 8)
            .is_some_and(|byte| byte & (1 << (i % 8)) != 0);
        if is_null {
            params.push(None);
            continue;
        }
        params.push(value(&mut r, ty, unsigned)?);
    }
    Ok(Execute {
        stmt_id,
        flags,
        params,
    })
}

/// One parameter value of type `ty`, as PostgreSQL text.
fn value(r: &mut Reader<'_>, ty: u8, unsigned: bool) -> Result<Option<Vec<u8>>, TranslateError> {
    let mut out = Vec::new();
    match ty {
        MYSQL_TYPE_NULL => return Ok(None),
        MYSQL_TYPE_TINY => integer(&mut out, r.bytes(1).map_err(malformed)?, unsigned),
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
            integer(&mut out, r.bytes(2).map_err(malformed)?, unsigned)
        }
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
            integer(&mut out, r.bytes(4).map_err(malformed)?, unsigned)
        }
        MYSQL_TYPE_LONGLONG => integer(&mut out, r.bytes(8).map_err(malformed)?, unsigned),
        // Rust prints the shortest digits that read back to the same value.
        MYSQL_TYPE_FLOAT => {
            let v = f32::from_le_bytes(r.array().map_err(malformed)?);
            match float::special(v.is_nan(), v.is_infinite(), v.is_sign_negative()) {
                Some(s) => out.extend_from_slice(s),
                None => push_fmt(&mut out, format_args!("{v}")),
            }
        }
        MYSQL_TYPE_DOUBLE => {
            let v = f64::from_le_bytes(r.array().map_err(malformed)?);
            match float::special(v.is_nan(), v.is_infinite(), v.is_sign_negative()) {
                Some(s) => out.extend_from_slice(s),
                None => push_fmt(&mut out, format_args!("{v}")),
            }
        }
        MYSQL_TYPE_DATE => datetime(&mut out, r, false)?,
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => datetime(&mut out, r, true)?,
        MYSQL_TYPE_TIME => time(&mut out, r)?,
        MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BIT
        | MYSQL_TYPE_JSON
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING => out.extend_from_slice(r.lenenc_bytes().map_err(malformed)?),
        other => return Err(TranslateError::UnsupportedParamType(other)),
    }
    Ok(Some(out))
}

/// A little-endian integer of 1, 2, 4 or 8 bytes in decimal.
fn integer(out: &mut Vec<u8>, bytes: &[u8], unsigned: bool) {
    let raw = bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if unsigned {
        push_fmt(out, format_args!("{raw}"));
        return;
    }
    // Sign-extend from the value's width: (x ^ m) - m with m its sign bit.
    let signed = match bytes.len() {
        width @ 1..=7 => {
            let sign_bit = 1u64 << (8 * width - 1);
            (raw ^ sign_bit).wrapping_sub(sign_bit) as i64
        }
        _ => raw as i64,
    };
    push_fmt(out, format_args!("{signed}"));
}

/// DATE, DATETIME, TIMESTAMP: a length byte (0, 4, 7 or 11) and the fields present.
/// `YYYY-MM-DD`, with ` HH:MM:SS.ffffff` when `with_time`. Zero dates stay zero
/// (`0000-00-00`), for PostgreSQL to refuse as MySQL's strict mode would.
fn datetime(out: &mut Vec<u8>, r: &mut Reader<'_>, with_time: bool) -> Result<(), TranslateError> {
    let len = r.u8().map_err(malformed)?;
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err(TranslateError::Malformed("COM_STMT_EXECUTE date"));
    }
    let mut d = Reader::new(
        r.bytes(len.into()).map_err(malformed)?,
        "COM_STMT_EXECUTE date",
    );
    let (mut year, mut month, mut day) = (0, 0, 0);
    let (mut hour, mut minute, mut second, mut micro) = (0, 0, 0, 0);
    if len >= 4 {
        year = d.u16().map_err(malformed)?;
        month = d.u8().map_err(malformed)?;
        day = d.u8().map_err(malformed)?;
    }
    if len >= 7 {
        hour = d.u8().map_err(malformed)?;
        minute = d.u8().map_err(malformed)?;
        second = d.u8().map_err(malformed)?;
    }
    if len == 11 {
        micro = d.u32().map_err(malformed)?;
    }
    push_year(out, year.into());
    push_fmt(out, format_args!("-{month:02}-{day:02}"));
    if with_time {
        push_fmt(
            out,
            format_args!(" {hour:02}:{minute:02}:{second:02}.{micro:06}"),
        );
    }
    Ok(())
}

/// TIME: a length byte (0, 8 or 12), sign, days, hour, minute, second, microseconds, as
/// `[-]HH:MM:SS.ffffff` with the days counted into the hours.
fn time(out: &mut Vec<u8>, r: &mut Reader<'_>) -> Result<(), TranslateError> {
    let len = r.u8().map_err(malformed)?;
    if !matches!(len, 0 | 8 | 12) {
        return Err(TranslateError::Malformed("COM_STMT_EXECUTE time"));
    }
    let mut t = Reader::new(
        r.bytes(len.into()).map_err(malformed)?,
        "COM_STMT_EXECUTE time",
    );
    let (mut negative, mut hours, mut minute, mut second, mut micro) = (false, 0, 0, 0, 0);
    if len >= 8 {
        negative = t.u8().map_err(malformed)? != 0;
        hours = u64::from(t.u32().map_err(malformed)?) * 24 + u64::from(t.u8().map_err(malformed)?);
        minute = t.u8().map_err(malformed)?;
        second = t.u8().map_err(malformed)?;
    }
    if len == 12 {
        micro = t.u32().map_err(malformed)?;
    }
    if negative {
        out.push(b'-');
    }
    push_fmt(
        out,
        format_args!("{hours:02}:{minute:02}:{second:02}.{micro:06}"),
    );
    Ok(())
}

/// Decodes a COM_STMT_SEND_LONG_DATA payload (after the command byte): statement id,
/// parameter index, and the chunk, which the caller appends to that parameter's data.
pub fn decode_long_data(payload: &[u8]) -> Result<(u32, u16, &[u8]), TranslateError> {
    let mut r = Reader::new(payload, "COM_STMT_SEND_LONG_DATA");
    let stmt_id = r.u32().map_err(malformed)?;
    let param = r.u16().map_err(malformed)?;
    Ok((stmt_id, param, r.rest()))
}

/// A packet error from the shared reader, as this module's error.
fn malformed(e: MysqlError) -> TranslateError {
    match e {
        MysqlError::Truncated(what) | MysqlError::Malformed(what) => {
            TranslateError::Malformed(what)
        }
        _ => TranslateError::Malformed("packet"),
    }
}

#[cfg(test)]
mod tests;
