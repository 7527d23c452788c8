use super::*;

#[test]
fn the_types_that_read_differently_are_converted() {
    assert_eq!(&*to_mysql(16, b"t"), b"1");
    assert_eq!(&*to_mysql(16, b"f"), b"0");
    assert_eq!(&*to_mysql(17, b"\\x00ff10"), &[0u8, 0xff, 0x10][..]);
    assert_eq!(&*to_mysql(17, b"\\x"), b"");
    assert_eq!(
        &*to_mysql(1184, b"2024-02-29 23:59:59.5+00"),
        b"2024-02-29 23:59:59.5"
    );
}

#[test]
fn everything_else_is_passed_as_printed() {
    assert_eq!(&*to_mysql(1700, b"-123.4500"), b"-123.4500");
    assert_eq!(
        &*to_mysql(20, b"-9223372036854775808"),
        b"-9223372036854775808"
    );
    assert_eq!(&*to_mysql(1007, b"{1,NULL,3}"), b"{1,NULL,3}");
    // A bytea in another output format, or malformed hex, is left alone.
    assert_eq!(&*to_mysql(17, b"\\x0"), b"\\x0");
    assert_eq!(&*to_mysql(17, b"abc"), b"abc");
}
