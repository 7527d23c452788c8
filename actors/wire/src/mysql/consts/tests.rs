use super::*;

#[test]
fn capability_flags_are_distinct_single_bits() {
    use capability::*;
    let all = [
        CLIENT_LONG_PASSWORD,
        CLIENT_FOUND_ROWS,
        CLIENT_LONG_FLAG,
        CLIENT_CONNECT_WITH_DB,
        CLIENT_NO_SCHEMA,
        CLIENT_COMPRESS,
        CLIENT_ODBC,
        CLIENT_LOCAL_FILES,
        CLIENT_IGNORE_SPACE,
        CLIENT_PROTOCOL_41,
        CLIENT_INTERACTIVE,
        CLIENT_SSL,
        CLIENT_IGNORE_SIGPIPE,
        CLIENT_TRANSACTIONS,
        CLIENT_RESERVED,
        CLIENT_SECURE_CONNECTION,
        CLIENT_MULTI_STATEMENTS,
        CLIENT_MULTI_RESULTS,
        CLIENT_PS_MULTI_RESULTS,
        CLIENT_PLUGIN_AUTH,
        CLIENT_CONNECT_ATTRS,
        CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
        CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS,
        CLIENT_SESSION_TRACK,
        CLIENT_DEPRECATE_EOF,
        CLIENT_OPTIONAL_RESULTSET_METADATA,
        CLIENT_ZSTD_COMPRESSION_ALGORITHM,
        CLIENT_QUERY_ATTRIBUTES,
        MULTI_FACTOR_AUTHENTICATION,
        CLIENT_CAPABILITY_EXTENSION,
        CLIENT_SSL_VERIFY_SERVER_CERT,
        CLIENT_REMEMBER_OPTIONS,
    ];
    // Listed in bit order, one per bit, covering all 32.
    for (bit, flag) in all.iter().enumerate() {
        assert_eq!(*flag, 1u32 << bit, "bit {bit}");
    }
}

#[test]
fn documented_values_of_the_flags_the_proxy_reads() {
    assert_eq!(capability::CLIENT_PROTOCOL_41, 0x200);
    assert_eq!(capability::CLIENT_SSL, 0x800);
    assert_eq!(capability::CLIENT_SECURE_CONNECTION, 0x8000);
    assert_eq!(capability::CLIENT_PLUGIN_AUTH, 0x8_0000);
    assert_eq!(capability::CLIENT_DEPRECATE_EOF, 0x100_0000);
    assert_eq!(status::SERVER_STATUS_IN_TRANS, 0x0001);
    assert_eq!(status::SERVER_MORE_RESULTS_EXISTS, 0x0008);
    assert_eq!(status::SERVER_STATUS_IN_TRANS_READONLY, 0x2000);
    assert_eq!(status::SERVER_SESSION_STATE_CHANGED, 0x4000);
    assert_eq!(command::COM_QUERY, 0x03);
    assert_eq!(command::COM_STMT_PREPARE, 0x16);
    assert_eq!(command::COM_RESET_CONNECTION, 0x1F);
}
