//! PostgreSQL's text output as MySQL's text protocol shows the same value. The simple
//! protocol (which serves `COM_QUERY`, multi-statements included, in one round trip)
//! returns text; most types read the same in both, and these do not:
//!
//! - `bool`: `t`/`f` become `1`/`0`, as a MySQL `BOOLEAN` (`TINYINT(1)`) reads;
//! - `bytea`: the hex form `\x0102` becomes the bytes themselves, as a `BLOB` reads;
//! - `timestamptz`: the session runs in UTC, so the `+00` offset PostgreSQL appends is
//!   dropped (MySQL's `TIMESTAMP` has none).
//!
//! Everything else (numbers, `numeric` with its scale, dates, times, `json`, `uuid`,
//! `interval`, arrays) is passed as PostgreSQL printed it.

use std::borrow::Cow;

const BOOL: u32 = 16;
const BYTEA: u32 = 17;
const TIMESTAMPTZ: u32 = 1184;

/// `value` (PostgreSQL text output of a value of type `oid`) as MySQL's text protocol.
pub fn to_mysql(oid: u32, value: &[u8]) -> Cow<'_, [u8]> {
    match oid {
        BOOL => Cow::Borrowed(match value {
            b"t" => b"1",
            b"f" => b"0",
            other => other,
        }),
        BYTEA => match value.strip_prefix(b"\\x").and_then(unhex) {
            Some(bytes) => Cow::Owned(bytes),
            None => Cow::Borrowed(value),
        },
        TIMESTAMPTZ => Cow::Borrowed(value.strip_suffix(b"+00").unwrap_or(value)),
        _ => Cow::Borrowed(value),
    }
}

fn unhex(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    hex.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests;
