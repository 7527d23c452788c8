//! Serving MySQL-protocol clients from a PostgreSQL database: the column type table,
//! PostgreSQL binary result values to MySQL text- and binary-protocol values,
//! COM_STMT_EXECUTE parameters to PostgreSQL text parameters, SQLSTATEs to MySQL error
//! numbers, and the little SQL rewriting the proxy does. Pure functions over bytes: the
//! caller runs the statements (binary results, text parameters) and frames the packets.
//!
//! # Layout
//! - `types`: PostgreSQL type OID → MySQL column type, and the ColumnDefinition41 payload.
//! - `pg_binary`: PostgreSQL binary values → [`PgValue`].
//! - `pg_text`: PostgreSQL text output → MySQL text-protocol values (the simple
//!   protocol's results).
//! - `values`: [`PgValue`] → MySQL text- and binary-protocol values and rows.
//! - `params`: COM_STMT_EXECUTE and COM_STMT_SEND_LONG_DATA → PostgreSQL text parameters.
//! - `sqlstate`: PostgreSQL SQLSTATE → MySQL error number.
//! - `lexical`: `?` → `$n`, backtick identifiers → double quotes, statement splitting.
//!
//! Private helpers: `calendar` (days and microseconds to dates and times), `interval`,
//! `numeric`, `float` (PostgreSQL's text forms), `pg_array`, `text` (formatting into
//! byte buffers).

mod calendar;
mod float;
mod interval;
pub mod lexical;
mod numeric;
pub mod params;
mod pg_array;
pub mod pg_binary;
pub mod pg_text;
pub mod sqlstate;
mod text;
pub mod types;
pub mod values;

use thiserror::Error;

pub use pg_binary::{decode, Date, Interval, PgValue, Time, Timestamp};
pub use types::{column_type, ColumnType};

/// A value or packet this module cannot translate. Only the statement or row concerned
/// fails; the connection goes on. Messages name types and protocol elements, never
/// values, hosts or users, so a client may be shown them.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TranslateError {
    /// A PostgreSQL binary value or a MySQL packet that does not follow its format.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A valid value that the MySQL side cannot hold (an infinite date, year 10000).
    #[error("{what} cannot be represented in MySQL")]
    Unrepresentable { what: &'static str },
    /// A PostgreSQL type OID outside the type table.
    #[error("unsupported PostgreSQL type (OID {0})")]
    UnsupportedType(u32),
    /// A MySQL parameter type code COM_STMT_EXECUTE cannot carry here.
    #[error("unsupported MySQL parameter type {0}")]
    UnsupportedParamType(u8),
}
