//! Named protocol numbers: capability and status flags, command bytes, response headers,
//! auth plugin names and the error numbers the proxy sends. Named here so that no other
//! code spells a MySQL byte as a literal: 0xFE is EOF, an OK-as-EOF, an auth switch or a
//! lenenc prefix depending on where it stands, and a name says which one the code means.

/// Capability flags, the `u32` of the greeting and the handshake response. MySQL and
/// MariaDB share these bits; MariaDB's own flags sit in [`mariadb_capability`].
///
/// Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html>
pub mod capability {
    /// New, more secure passwords (MySQL). MariaDB names this bit `CLIENT_MYSQL`: a MariaDB
    /// server leaves it clear and then uses the reserved bytes for its extended flags.
    pub const CLIENT_LONG_PASSWORD: u32 = 1;
    /// MariaDB's name for bit 0.
    pub const CLIENT_MYSQL: u32 = CLIENT_LONG_PASSWORD;
    pub const CLIENT_FOUND_ROWS: u32 = 1 << 1;
    pub const CLIENT_LONG_FLAG: u32 = 1 << 2;
    pub const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
    pub const CLIENT_NO_SCHEMA: u32 = 1 << 4;
    pub const CLIENT_COMPRESS: u32 = 1 << 5;
    pub const CLIENT_ODBC: u32 = 1 << 6;
    pub const CLIENT_LOCAL_FILES: u32 = 1 << 7;
    pub const CLIENT_IGNORE_SPACE: u32 = 1 << 8;
    pub const CLIENT_PROTOCOL_41: u32 = 1 << 9;
    pub const CLIENT_INTERACTIVE: u32 = 1 << 10;
    pub const CLIENT_SSL: u32 = 1 << 11;
    pub const CLIENT_IGNORE_SIGPIPE: u32 = 1 << 12;
    pub const CLIENT_TRANSACTIONS: u32 = 1 << 13;
    /// The old 4.1 protocol flag, unused.
    pub const CLIENT_RESERVED: u32 = 1 << 14;
    /// 1-byte-length auth response; MySQL 8 calls it `CLIENT_RESERVED2`.
    pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
    pub const CLIENT_MULTI_STATEMENTS: u32 = 1 << 16;
    pub const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
    pub const CLIENT_PS_MULTI_RESULTS: u32 = 1 << 18;
    pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
    pub const CLIENT_CONNECT_ATTRS: u32 = 1 << 20;
    pub const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 1 << 21;
    pub const CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS: u32 = 1 << 22;
    pub const CLIENT_SESSION_TRACK: u32 = 1 << 23;
    pub const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;
    /// MySQL 8 only.
    pub const CLIENT_OPTIONAL_RESULTSET_METADATA: u32 = 1 << 25;
    /// MySQL 8 only: the handshake response ends with a zstd level byte.
    pub const CLIENT_ZSTD_COMPRESSION_ALGORITHM: u32 = 1 << 26;
    /// MySQL 8 only.
    pub const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;
    /// MySQL 8 only.
    pub const MULTI_FACTOR_AUTHENTICATION: u32 = 1 << 28;
    /// MySQL 8; MariaDB uses the bit for its obsolete `CLIENT_PROGRESS_OBSOLETE`.
    pub const CLIENT_CAPABILITY_EXTENSION: u32 = 1 << 29;
    pub const CLIENT_SSL_VERIFY_SERVER_CERT: u32 = 1 << 30;
    pub const CLIENT_REMEMBER_OPTIONS: u32 = 1 << 31;
}

/// MariaDB's extended capabilities: bits 32.. of its 64-bit set, carried as a `u32` in
/// the last 4 reserved bytes of the greeting and of the handshake response (only when
/// the server leaves `CLIENT_MYSQL` clear), so bit 32 is `1 << 0` here.
///
/// Spec: <https://mariadb.com/docs/server/reference/clientserver-protocol/1-connecting/connection>
pub mod mariadb_capability {
    pub const MARIADB_CLIENT_PROGRESS: u32 = 1;
    /// The removed COM_MULTI experiment.
    pub const MARIADB_CLIENT_RESERVED_1: u32 = 1 << 1;
    pub const MARIADB_CLIENT_STMT_BULK_OPERATIONS: u32 = 1 << 2;
    pub const MARIADB_CLIENT_EXTENDED_METADATA: u32 = 1 << 3;
    pub const MARIADB_CLIENT_CACHE_METADATA: u32 = 1 << 4;
    pub const MARIADB_CLIENT_BULK_UNIT_RESULTS: u32 = 1 << 5;
}

/// Server status flags of OK and EOF packets (`SERVER_STATUS_flags_enum`). Bit 2 is
/// unused since 4.1.
///
/// Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/mysql__com_8h.html>
pub mod status {
    /// A transaction is open: the proxy must not switch backends under it.
    pub const SERVER_STATUS_IN_TRANS: u16 = 1;
    pub const SERVER_STATUS_AUTOCOMMIT: u16 = 1 << 1;
    /// Another result set of a multi-statement or CALL follows.
    pub const SERVER_MORE_RESULTS_EXISTS: u16 = 1 << 3;
    pub const SERVER_QUERY_NO_GOOD_INDEX_USED: u16 = 1 << 4;
    pub const SERVER_QUERY_NO_INDEX_USED: u16 = 1 << 5;
    pub const SERVER_STATUS_CURSOR_EXISTS: u16 = 1 << 6;
    pub const SERVER_STATUS_LAST_ROW_SENT: u16 = 1 << 7;
    pub const SERVER_STATUS_DB_DROPPED: u16 = 1 << 8;
    pub const SERVER_STATUS_NO_BACKSLASH_ESCAPES: u16 = 1 << 9;
    pub const SERVER_STATUS_METADATA_CHANGED: u16 = 1 << 10;
    pub const SERVER_QUERY_WAS_SLOW: u16 = 1 << 11;
    pub const SERVER_PS_OUT_PARAMS: u16 = 1 << 12;
    pub const SERVER_STATUS_IN_TRANS_READONLY: u16 = 1 << 13;
    /// The OK packet carries session-state-change information.
    pub const SERVER_SESSION_STATE_CHANGED: u16 = 1 << 14;
}

/// The first byte of a command-phase packet from the client. Numbers 0–31 keep their
/// classic names; MySQL 8.4 renamed the retired ones `COM_UNUSED_n`, MariaDB still
/// serves `COM_PROCESS_KILL` and `COM_SHUTDOWN`.
///
/// Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/my__command_8h.html>
pub mod command {
    pub const COM_SLEEP: u8 = 0;
    pub const COM_QUIT: u8 = 1;
    pub const COM_INIT_DB: u8 = 2;
    pub const COM_QUERY: u8 = 3;
    pub const COM_FIELD_LIST: u8 = 4;
    pub const COM_CREATE_DB: u8 = 5;
    pub const COM_DROP_DB: u8 = 6;
    pub const COM_REFRESH: u8 = 7;
    pub const COM_SHUTDOWN: u8 = 8;
    pub const COM_STATISTICS: u8 = 9;
    pub const COM_PROCESS_INFO: u8 = 10;
    pub const COM_CONNECT: u8 = 11;
    pub const COM_PROCESS_KILL: u8 = 12;
    pub const COM_DEBUG: u8 = 13;
    pub const COM_PING: u8 = 14;
    pub const COM_TIME: u8 = 15;
    pub const COM_DELAYED_INSERT: u8 = 16;
    pub const COM_CHANGE_USER: u8 = 17;
    pub const COM_BINLOG_DUMP: u8 = 18;
    pub const COM_TABLE_DUMP: u8 = 19;
    pub const COM_CONNECT_OUT: u8 = 20;
    pub const COM_REGISTER_SLAVE: u8 = 21;
    pub const COM_STMT_PREPARE: u8 = 22;
    pub const COM_STMT_EXECUTE: u8 = 23;
    pub const COM_STMT_SEND_LONG_DATA: u8 = 24;
    pub const COM_STMT_CLOSE: u8 = 25;
    pub const COM_STMT_RESET: u8 = 26;
    pub const COM_SET_OPTION: u8 = 27;
    pub const COM_STMT_FETCH: u8 = 28;
    pub const COM_DAEMON: u8 = 29;
    pub const COM_BINLOG_DUMP_GTID: u8 = 30;
    pub const COM_RESET_CONNECTION: u8 = 31;
    /// MariaDB: execute a prepared statement over an array of parameter rows.
    pub const COM_STMT_BULK_EXECUTE: u8 = 0xFA;
}

/// The first byte of a server packet, by what it means where it stands.
///
/// Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_response_packets.html>
pub mod header {
    pub const OK: u8 = 0x00;
    /// An EOF packet (payload shorter than 9 bytes), or an OK packet ending a result set
    /// under `CLIENT_DEPRECATE_EOF`.
    pub const EOF: u8 = 0xFE;
    pub const ERR: u8 = 0xFF;
    /// The answer to `LOAD DATA LOCAL INFILE`: the server asks for a file.
    pub const LOCAL_INFILE: u8 = 0xFB;
    /// During authentication: switch to another plugin.
    pub const AUTH_SWITCH: u8 = 0xFE;
    /// During authentication: more data for the current plugin.
    pub const AUTH_MORE_DATA: u8 = 0x01;
}

/// Authentication plugin names as they appear in the greeting, the handshake response
/// and auth switch requests.
pub mod auth_plugin {
    pub const MYSQL_NATIVE_PASSWORD: &str = "mysql_native_password";
    pub const CACHING_SHA2_PASSWORD: &str = "caching_sha2_password";
    pub const MYSQL_CLEAR_PASSWORD: &str = "mysql_clear_password";
}

/// The single bytes `caching_sha2_password` exchanges inside AuthMoreData and the
/// client's replies.
///
/// Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/page_caching_sha2_authentication_exchanges.html>
pub mod caching_sha2 {
    /// Client asks for the server's RSA public key.
    pub const REQUEST_PUBLIC_KEY: u8 = 2;
    pub const FAST_AUTH_SUCCESS: u8 = 3;
    /// The scramble was not in the server's cache: the client must send the password
    /// (over TLS, or RSA-encrypted).
    pub const PERFORM_FULL_AUTHENTICATION: u8 = 4;
}

/// Collation ids for the greeting's character set byte.
pub mod charset {
    pub const UTF8MB4_GENERAL_CI: u8 = 45;
    pub const BINARY: u8 = 63;
    /// MySQL 8's default.
    pub const UTF8MB4_0900_AI_CI: u8 = 255;
}

/// Server error numbers and SQLSTATEs of the ERR packets the proxy builds itself.
///
/// Spec: <https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html>
pub mod error_code {
    pub const ER_CON_COUNT_ERROR: u16 = 1040;
    pub const ER_OUT_OF_RESOURCES: u16 = 1041;
    pub const ER_HANDSHAKE_ERROR: u16 = 1043;
    pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;
    pub const ER_UNKNOWN_COM_ERROR: u16 = 1047;
    pub const ER_SERVER_SHUTDOWN: u16 = 1053;
    pub const ER_UNKNOWN_ERROR: u16 = 1105;
    pub const ER_NET_PACKET_TOO_LARGE: u16 = 1153;
    pub const ER_NET_PACKETS_OUT_OF_ORDER: u16 = 1156;
    pub const ER_NET_READ_ERROR: u16 = 1158;
    pub const ER_NOT_SUPPORTED_YET: u16 = 1235;
    pub const ER_NOT_SUPPORTED_AUTH_MODE: u16 = 1251;
    pub const ER_MALFORMED_PACKET: u16 = 1835;
    /// "Connections using insecure transport are prohibited" (`require_secure_transport`).
    pub const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
    /// MariaDB's "Connection was killed".
    pub const ER_CONNECTION_KILLED: u16 = 1927;

    /// `HY000`: general error.
    pub const STATE_GENERAL: [u8; 5] = *b"HY000";
    /// `08S01`: communication link failure.
    pub const STATE_COMMUNICATION_LINK: [u8; 5] = *b"08S01";
    /// `08004`: the server rejected the connection.
    pub const STATE_CLIENT_UNABLE_TO_CONNECT: [u8; 5] = *b"08004";
    /// `28000`: invalid authorization.
    pub const STATE_ACCESS_DENIED: [u8; 5] = *b"28000";
    /// `42000`: syntax error or access rule violation (also "not supported yet").
    pub const STATE_SYNTAX_OR_ACCESS: [u8; 5] = *b"42000";
    /// `70100`: the operation was interrupted (a killed connection).
    pub const STATE_INTERRUPTED: [u8; 5] = *b"70100";
}

#[cfg(test)]
mod tests;
