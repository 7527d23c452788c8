//! PostgreSQL SQLSTATEs to the MySQL error numbers MySQL clients and their frameworks act
//! on (retry on a deadlock, report a duplicate key, …). The ERR packet keeps the original
//! SQLSTATE; only the number is MySQL's. A SQLSTATE not in the table falls back on its
//! class, then on 1105 (`ER_UNKNOWN_ERROR`); the number is never 0.
//!
//! | SQLSTATE | PostgreSQL condition | MySQL errno | MySQL name |
//! | --- | --- | --- | --- |
//! | 23505 | unique_violation | 1062 | ER_DUP_ENTRY |
//! | 23503 | foreign_key_violation | 1452 | ER_NO_REFERENCED_ROW_2 |
//! | 23502 | not_null_violation | 1048 | ER_BAD_NULL_ERROR |
//! | 23514 | check_violation | 3819 | ER_CHECK_CONSTRAINT_VIOLATED |
//! | 42P01 | undefined_table | 1146 | ER_NO_SUCH_TABLE |
//! | 42703 | undefined_column | 1054 | ER_BAD_FIELD_ERROR |
//! | 42601 | syntax_error | 1064 | ER_PARSE_ERROR |
//! | 42883 | undefined_function | 1305 | ER_SP_DOES_NOT_EXIST |
//! | 42P07 | duplicate_table | 1050 | ER_TABLE_EXISTS_ERROR |
//! | 42701 | duplicate_column | 1060 | ER_DUP_FIELDNAME |
//! | 42P04 | duplicate_database | 1007 | ER_DB_CREATE_EXISTS |
//! | 42P06 | duplicate_schema | 1007 | ER_DB_CREATE_EXISTS |
//! | 3D000 | invalid_catalog_name | 1049 | ER_BAD_DB_ERROR |
//! | 3F000 | invalid_schema_name | 1049 | ER_BAD_DB_ERROR |
//! | 42501 | insufficient_privilege | 1142 | ER_TABLEACCESS_DENIED_ERROR |
//! | 28000 | invalid_authorization_specification | 1045 | ER_ACCESS_DENIED_ERROR |
//! | 28P01 | invalid_password | 1045 | ER_ACCESS_DENIED_ERROR |
//! | 40P01 | deadlock_detected | 1213 | ER_LOCK_DEADLOCK |
//! | 40001 | serialization_failure | 1213 | ER_LOCK_DEADLOCK |
//! | 55P03 | lock_not_available | 1205 | ER_LOCK_WAIT_TIMEOUT |
//! | 57014 | query_canceled | 1317 | ER_QUERY_INTERRUPTED |
//! | 22012 | division_by_zero | 1365 | ER_DIVISION_BY_ZERO |
//! | 22001 | string_data_right_truncation | 1406 | ER_DATA_TOO_LONG |
//! | 22003 | numeric_value_out_of_range | 1264 | ER_WARN_DATA_OUT_OF_RANGE |
//! | 22P02 | invalid_text_representation | 1366 | ER_TRUNCATED_WRONG_VALUE_FOR_FIELD |
//! | 22007 | invalid_datetime_format | 1292 | ER_TRUNCATED_WRONG_VALUE |
//! | 22008 | datetime_field_overflow | 1292 | ER_TRUNCATED_WRONG_VALUE |
//! | 25P02 | in_failed_sql_transaction | 1105 | ER_UNKNOWN_ERROR |
//! | 25001 | active_sql_transaction | 1568 | ER_CANT_CHANGE_TX_CHARACTERISTICS |
//! | 25006 | read_only_sql_transaction | 1792 | ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION |
//! | 0A000 | feature_not_supported | 1235 | ER_NOT_SUPPORTED_YET |
//! | 53300 | too_many_connections | 1040 | ER_CON_COUNT_ERROR |
//! | 57P01 | admin_shutdown | 1053 | ER_SERVER_SHUTDOWN |
//! | 57P0x | other shutdowns and refusals | 1053 | ER_SERVER_SHUTDOWN |
//! | 08xxx | connection_exception | 1158 | ER_NET_READ_ERROR |
//! | 22xxx | data_exception | 1292 | ER_TRUNCATED_WRONG_VALUE |
//! | 42xxx | syntax_error_or_access_rule_violation | 1064 | ER_PARSE_ERROR |
//! | anything else | | 1105 | ER_UNKNOWN_ERROR |
//!
//! 25P02 has no MySQL counterpart: MySQL never aborts a transaction on an error, so no
//! client expects "commands ignored until end of transaction block"; it stays 1105 with
//! its SQLSTATE, which tells a client that reads it what happened.

use crate::mysql::consts::error_code::ER_UNKNOWN_ERROR;

/// Exact SQLSTATEs: SQLSTATE, MySQL errno, PostgreSQL condition name.
pub const TABLE: &[(&str, u16, &str)] = &[
    ("23505", 1062, "unique_violation"),
    // 1452 is the child-row insert or update; MySQL uses 1451 for a parent delete, which
    // PostgreSQL reports with the same SQLSTATE.
    ("23503", 1452, "foreign_key_violation"),
    ("23502", 1048, "not_null_violation"),
    ("23514", 3819, "check_violation"),
    ("42P01", 1146, "undefined_table"),
    ("42703", 1054, "undefined_column"),
    ("42601", 1064, "syntax_error"),
    ("42883", 1305, "undefined_function"),
    ("42P07", 1050, "duplicate_table"),
    ("42701", 1060, "duplicate_column"),
    ("42P04", 1007, "duplicate_database"),
    // A MySQL database is a PostgreSQL schema.
    ("42P06", 1007, "duplicate_schema"),
    ("3D000", 1049, "invalid_catalog_name"),
    ("3F000", 1049, "invalid_schema_name"),
    ("42501", 1142, "insufficient_privilege"),
    ("28000", 1045, "invalid_authorization_specification"),
    ("28P01", 1045, "invalid_password"),
    ("40P01", 1213, "deadlock_detected"),
    // MySQL clients retry on 1213, whose SQLSTATE is 40001.
    ("40001", 1213, "serialization_failure"),
    ("55P03", 1205, "lock_not_available"),
    ("57014", 1317, "query_canceled"),
    ("22012", 1365, "division_by_zero"),
    ("22001", 1406, "string_data_right_truncation"),
    ("22003", 1264, "numeric_value_out_of_range"),
    ("22P02", 1366, "invalid_text_representation"),
    ("22007", 1292, "invalid_datetime_format"),
    ("22008", 1292, "datetime_field_overflow"),
    // See the module doc.
    ("25P02", ER_UNKNOWN_ERROR, "in_failed_sql_transaction"),
    ("25001", 1568, "active_sql_transaction"),
    ("25006", 1792, "read_only_sql_transaction"),
    ("0A000", 1235, "feature_not_supported"),
    ("53300", 1040, "too_many_connections"),
    ("57P01", 1053, "admin_shutdown"),
];

/// SQLSTATE prefixes for the states [`TABLE`] does not list, most specific first.
pub const FALLBACKS: &[(&str, u16)] = &[
    // crash_shutdown, cannot_connect_now, database_dropped, idle_session_timeout.
    ("57P0", 1053),
    // 2013 (lost connection) would be truer, but it is a client-side error number.
    ("08", 1158),
    ("22", 1292),
    ("42", 1064),
];

/// The MySQL error number for a PostgreSQL SQLSTATE; never 0.
pub fn errno(sqlstate: &str) -> u16 {
    TABLE
        .iter()
        .find(|(state, _, _)| *state == sqlstate)
        .map(|(_, errno, _)| *errno)
        .or_else(|| {
            FALLBACKS
                .iter()
                .find(|(prefix, _)| sqlstate.starts_with(prefix))
                .map(|(_, errno)| *errno)
        })
        .unwrap_or(ER_UNKNOWN_ERROR)
}

#[cfg(test)]
mod tests;
