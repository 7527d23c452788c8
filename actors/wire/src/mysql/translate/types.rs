//! The type table: which MySQL column type a client is told for each PostgreSQL type, and
//! the ColumnDefinition41 payload that tells it.
//!
//! | PostgreSQL type (OID) | MySQL type (code) | flags | charset | length | decimals |
//! | --- | --- | --- | --- | --- | --- |
//! | `bool` (16) | `TINY` (1) | BINARY, NUM | 63 | 1 | 0 |
//! | `int2` (21) | `SHORT` (2) | BINARY, NUM | 63 | 6 | 0 |
//! | `int4` (23) | `LONG` (3) | BINARY, NUM | 63 | 11 | 0 |
//! | `int8` (20) | `LONGLONG` (8) | BINARY, NUM | 63 | 20 | 0 |
//! | `oid` (26) | `LONG` (3) | BINARY, NUM, UNSIGNED | 63 | 10 | 0 |
//! | `numeric` (1700) | `NEWDECIMAL` (246) | BINARY, NUM | 63 | 67 | 31 |
//! | `float4` (700) | `FLOAT` (4) | BINARY, NUM | 63 | 12 | 31 |
//! | `float8` (701) | `DOUBLE` (5) | BINARY, NUM | 63 | 22 | 31 |
//! | `text` (25), `varchar` (1043), `bpchar` (1042), `unknown` (705) | `VAR_STRING` (253) | | 45 | 4294967295 | 0 |
//! | `name` (19) | `VAR_STRING` (253) | | 45 | 252 | 0 |
//! | `"char"` (18) | `VAR_STRING` (253) | | 45 | 4 | 0 |
//! | `bytea` (17) | `BLOB` (252) | BINARY, BLOB | 63 | 4294967295 | 0 |
//! | `date` (1082) | `DATE` (10) | BINARY | 63 | 10 | 0 |
//! | `time` (1083) | `TIME` (11) | BINARY | 63 | 17 | 6 |
//! | `timestamp` (1114) | `DATETIME` (12) | BINARY | 63 | 26 | 6 |
//! | `timestamptz` (1184), shown in UTC | `TIMESTAMP` (7) | BINARY | 63 | 26 | 6 |
//! | `json` (114), `jsonb` (3802) | `JSON` (245) | BINARY, BLOB | 63 | 4294967295 | 0 |
//! | `uuid` (2950) | `VAR_STRING` (253) | | 45 | 36 | 0 |
//! | `interval` (1186), PostgreSQL's text | `VAR_STRING` (253) | | 45 | 255 | 0 |
//! | arrays of all the above but `unknown`, PostgreSQL's text (`{1,2,NULL}`) | `VAR_STRING` (253) | | 45 | 4294967295 | 0 |
//!
//! Charset 45 is `utf8mb4_general_ci`, 63 is `binary`. Decimals 31 means "not fixed":
//! a result column carries no typmod, so the scale is unknown. NOT_NULL is never set,
//! since a result column's nullability is unknown too. Lengths are MySQL's for the same
//! type (`TIME(6)`, `DATETIME(6)`, `DECIMAL(65,30)`), or 4294967295 when unbounded.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html>

use crate::mysql::codec::{put_lenenc_int, put_lenenc_str, put_uint_le};
use crate::mysql::consts::charset;

/// MySQL column type codes (`enum_field_types`).
pub const MYSQL_TYPE_DECIMAL: u8 = 0;
pub const MYSQL_TYPE_TINY: u8 = 1;
pub const MYSQL_TYPE_SHORT: u8 = 2;
pub const MYSQL_TYPE_LONG: u8 = 3;
pub const MYSQL_TYPE_FLOAT: u8 = 4;
pub const MYSQL_TYPE_DOUBLE: u8 = 5;
pub const MYSQL_TYPE_NULL: u8 = 6;
pub const MYSQL_TYPE_TIMESTAMP: u8 = 7;
pub const MYSQL_TYPE_LONGLONG: u8 = 8;
pub const MYSQL_TYPE_INT24: u8 = 9;
pub const MYSQL_TYPE_DATE: u8 = 10;
pub const MYSQL_TYPE_TIME: u8 = 11;
pub const MYSQL_TYPE_DATETIME: u8 = 12;
pub const MYSQL_TYPE_YEAR: u8 = 13;
pub const MYSQL_TYPE_VARCHAR: u8 = 15;
pub const MYSQL_TYPE_BIT: u8 = 16;
pub const MYSQL_TYPE_JSON: u8 = 245;
pub const MYSQL_TYPE_NEWDECIMAL: u8 = 246;
pub const MYSQL_TYPE_ENUM: u8 = 247;
pub const MYSQL_TYPE_SET: u8 = 248;
pub const MYSQL_TYPE_TINY_BLOB: u8 = 249;
pub const MYSQL_TYPE_MEDIUM_BLOB: u8 = 250;
pub const MYSQL_TYPE_LONG_BLOB: u8 = 251;
pub const MYSQL_TYPE_BLOB: u8 = 252;
pub const MYSQL_TYPE_VAR_STRING: u8 = 253;
pub const MYSQL_TYPE_STRING: u8 = 254;

/// Column definition flags.
pub const NOT_NULL_FLAG: u16 = 1;
pub const BLOB_FLAG: u16 = 16;
pub const UNSIGNED_FLAG: u16 = 32;
pub const BINARY_FLAG: u16 = 128;
pub const NUM_FLAG: u16 = 32768;

/// `decimals` of a column whose scale is not fixed.
pub const NOT_FIXED_DEC: u8 = 31;

/// The length of an unbounded column (`LONGTEXT`, `LONGBLOB`).
pub const UNBOUNDED: u32 = u32::MAX;

/// PostgreSQL type OIDs (`pg_type.oid`), fixed since the system catalogs were created.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// What a ColumnDefinition41 says about a column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnType {
    pub code: u8,
    pub flags: u16,
    pub charset: u16,
    pub length: u32,
    pub decimals: u8,
}

const BINARY: u16 = charset::BINARY as u16;
const UTF8MB4: u16 = charset::UTF8MB4_GENERAL_CI as u16;

const fn number(code: u8, length: u32, decimals: u8, extra_flags: u16) -> ColumnType {
    ColumnType {
        code,
        flags: BINARY_FLAG | NUM_FLAG | extra_flags,
        charset: BINARY,
        length,
        decimals,
    }
}

const fn temporal(code: u8, length: u32, decimals: u8) -> ColumnType {
    ColumnType {
        code,
        flags: BINARY_FLAG,
        charset: BINARY,
        length,
        decimals,
    }
}

const fn string(length: u32) -> ColumnType {
    ColumnType {
        code: MYSQL_TYPE_VAR_STRING,
        flags: 0,
        charset: UTF8MB4,
        length,
        decimals: 0,
    }
}

const fn binary(code: u8) -> ColumnType {
    ColumnType {
        code,
        flags: BINARY_FLAG | BLOB_FLAG,
        charset: BINARY,
        length: UNBOUNDED,
        decimals: 0,
    }
}

/// The column type of every PostgreSQL array in [`ARRAYS`]: its text form.
pub const ARRAY: ColumnType = string(UNBOUNDED);

/// Every scalar row of the type table: OID, PostgreSQL name, MySQL column type.
pub const TABLE: &[(u32, &str, ColumnType)] = &[
    (oid::BOOL, "bool", number(MYSQL_TYPE_TINY, 1, 0, 0)),
    (oid::INT2, "int2", number(MYSQL_TYPE_SHORT, 6, 0, 0)),
    (oid::INT4, "int4", number(MYSQL_TYPE_LONG, 11, 0, 0)),
    (oid::INT8, "int8", number(MYSQL_TYPE_LONGLONG, 20, 0, 0)),
    (
        oid::OID,
        "oid",
        number(MYSQL_TYPE_LONG, 10, 0, UNSIGNED_FLAG),
    ),
    (
        oid::NUMERIC,
        "numeric",
        number(MYSQL_TYPE_NEWDECIMAL, 67, NOT_FIXED_DEC, 0),
    ),
    (
        oid::FLOAT4,
        "float4",
        number(MYSQL_TYPE_FLOAT, 12, NOT_FIXED_DEC, 0),
    ),
    (
        oid::FLOAT8,
        "float8",
        number(MYSQL_TYPE_DOUBLE, 22, NOT_FIXED_DEC, 0),
    ),
    (oid::TEXT, "text", string(UNBOUNDED)),
    (oid::VARCHAR, "varchar", string(UNBOUNDED)),
    (oid::BPCHAR, "bpchar", string(UNBOUNDED)),
    (oid::UNKNOWN, "unknown", string(UNBOUNDED)),
    // 63 bytes (NAMEDATALEN - 1), counted as MySQL does: characters × 4.
    (oid::NAME, "name", string(63 * 4)),
    (oid::CHAR, "\"char\"", string(4)),
    (oid::BYTEA, "bytea", binary(MYSQL_TYPE_BLOB)),
    (oid::DATE, "date", temporal(MYSQL_TYPE_DATE, 10, 0)),
    (oid::TIME, "time", temporal(MYSQL_TYPE_TIME, 17, 6)),
    (
        oid::TIMESTAMP,
        "timestamp",
        temporal(MYSQL_TYPE_DATETIME, 26, 6),
    ),
    (
        oid::TIMESTAMPTZ,
        "timestamptz",
        temporal(MYSQL_TYPE_TIMESTAMP, 26, 6),
    ),
    (oid::JSON, "json", binary(MYSQL_TYPE_JSON)),
    (oid::JSONB, "jsonb", binary(MYSQL_TYPE_JSON)),
    (oid::UUID, "uuid", string(36)),
    // Longer than any interval's text (about 70 bytes at the extremes).
    (oid::INTERVAL, "interval", string(255)),
];

/// Every array type the proxy serves: array OID, element OID. All use `,` as delimiter.
pub const ARRAYS: &[(u32, u32)] = &[
    (1000, oid::BOOL),
    (1001, oid::BYTEA),
    (1002, oid::CHAR),
    (1003, oid::NAME),
    (1005, oid::INT2),
    (1007, oid::INT4),
    (1009, oid::TEXT),
    (1014, oid::BPCHAR),
    (1015, oid::VARCHAR),
    (1016, oid::INT8),
    (1021, oid::FLOAT4),
    (1022, oid::FLOAT8),
    (1028, oid::OID),
    (199, oid::JSON),
    (1182, oid::DATE),
    (1183, oid::TIME),
    (1115, oid::TIMESTAMP),
    (1185, oid::TIMESTAMPTZ),
    (1187, oid::INTERVAL),
    (1231, oid::NUMERIC),
    (2951, oid::UUID),
    (3807, oid::JSONB),
];

/// The MySQL column type for a PostgreSQL type, `None` outside the table.
pub fn column_type(pg_oid: u32) -> Option<ColumnType> {
    TABLE
        .iter()
        .find(|(o, _, _)| *o == pg_oid)
        .map(|(_, _, t)| *t)
        .or_else(|| array_element(pg_oid).map(|_| ARRAY))
}

/// The element type of a served array type.
pub fn array_element(array_oid: u32) -> Option<u32> {
    ARRAYS
        .iter()
        .find(|(a, _)| *a == array_oid)
        .map(|(_, e)| *e)
}

/// Length of the fixed-length fields that follow the names in ColumnDefinition41.
const FIXED_FIELDS_LEN: u64 = 0x0c;

/// Appends a ColumnDefinition41 payload. The original table and column names repeat
/// `table` and `name`: a PostgreSQL result does not tell them apart from aliases.
pub fn encode_column_definition(
    out: &mut Vec<u8>,
    schema: &str,
    table: &str,
    name: &str,
    t: &ColumnType,
) {
    put_lenenc_str(out, b"def");
    put_lenenc_str(out, schema.as_bytes());
    put_lenenc_str(out, table.as_bytes());
    put_lenenc_str(out, table.as_bytes());
    put_lenenc_str(out, name.as_bytes());
    put_lenenc_str(out, name.as_bytes());
    put_lenenc_int(out, FIXED_FIELDS_LEN);
    put_uint_le(out, t.charset.into(), 2);
    put_uint_le(out, t.length.into(), 4);
    out.push(t.code);
    put_uint_le(out, t.flags.into(), 2);
    out.push(t.decimals);
    out.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests;
