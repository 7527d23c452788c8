use super::*;

fn lenenc(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_lenenc_int(&mut out, v);
    out
}

#[test]
fn lenenc_int_boundaries_use_the_documented_prefixes() {
    let cases: [(u64, &[u8]); 8] = [
        (0, &[0x00]),
        (250, &[0xFA]),
        (251, &[0xFC, 0xFB, 0x00]),
        (0xFFFF, &[0xFC, 0xFF, 0xFF]),
        (0x1_0000, &[0xFD, 0x00, 0x00, 0x01]),
        (0xFF_FFFF, &[0xFD, 0xFF, 0xFF, 0xFF]),
        (0x100_0000, &[0xFE, 0, 0, 0, 0x01, 0, 0, 0, 0]),
        (
            u64::MAX,
            &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
    ];
    for (v, bytes) in cases {
        assert_eq!(lenenc(v), bytes, "encode {v:#x}");
        assert_eq!(lenenc_int_len(v), bytes.len(), "len {v:#x}");
        assert_eq!(
            read_lenenc_int(bytes),
            Ok((Some(v), bytes.len())),
            "decode {v:#x}"
        );
    }
}

#[test]
fn lenenc_int_null_invalid_and_truncated() {
    assert_eq!(read_lenenc_int(&[0xFB, 1]), Ok((None, 1)));
    assert!(matches!(
        read_lenenc_int(&[0xFF]),
        Err(MysqlError::Malformed(_))
    ));
    assert!(matches!(
        read_lenenc_int(&[]),
        Err(MysqlError::Truncated(_))
    ));
    for bytes in [&[0xFC, 1][..], &[0xFD, 1, 2], &[0xFE, 1, 2, 3, 4, 5, 6, 7]] {
        assert!(matches!(
            read_lenenc_int(bytes),
            Err(MysqlError::Truncated(_))
        ));
    }
    // A longer-than-needed encoding is accepted, as servers accept it.
    assert_eq!(read_lenenc_int(&[0xFC, 5, 0]), Ok((Some(5), 3)));
}

#[test]
fn lenenc_str_round_trips_at_the_prefix_boundaries() {
    for len in [0usize, 250, 251, 0xFFFF, 0x1_0000] {
        let s = vec![b'x'; len];
        let mut out = Vec::new();
        put_lenenc_str(&mut out, &s);
        out.push(0xAA); // trailing byte that is not part of the string
        let (got, n) = read_lenenc_str(&out).expect("valid");
        assert_eq!(got, Some(&s[..]));
        assert_eq!(n, out.len() - 1);
        assert!(read_lenenc_str(&out[..n - 1]).is_err());
    }
    assert_eq!(read_lenenc_str(&[0xFB]), Ok((None, 1)));
    // A length far past the buffer (or past usize on small targets) is an error.
    let huge = [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(matches!(
        read_lenenc_str(&huge),
        Err(MysqlError::Truncated(_))
    ));
}

#[test]
fn nul_str_needs_a_terminator() {
    assert_eq!(read_nul_str(b"abc\0def"), Ok((&b"abc"[..], 4)));
    assert_eq!(read_nul_str(b"\0"), Ok((&b""[..], 1)));
    assert!(read_nul_str(b"abc").is_err());
    let mut out = Vec::new();
    put_nul_str(&mut out, b"root");
    assert_eq!(out, b"root\0");
    assert!(check_no_nul(b"ro\0ot", "user name").is_err());
}

#[test]
fn fixed_length_ints_are_little_endian() {
    let mut out = Vec::new();
    put_uint_le(&mut out, 0x0102_0304_0506, 6);
    put_uint_le(&mut out, 0xABCDEF, 3);
    assert_eq!(out, [6, 5, 4, 3, 2, 1, 0xEF, 0xCD, 0xAB]);
    assert_eq!(read_uint_le(&out, 6), Ok(0x0102_0304_0506));
    assert_eq!(read_uint_le(&out[6..], 3), Ok(0xABCDEF));
    assert!(read_uint_le(&out[7..], 3).is_err());
    assert!(read_uint_le(&[0; 16], 9).is_err());
}

#[test]
fn reader_names_the_packet_in_its_errors() {
    let mut r = Reader::new(&[1, 2, 3, 0xFB], "test packet");
    assert_eq!(r.u16(), Ok(0x0201));
    assert_eq!(r.uint(1), Ok(3));
    assert_eq!(r.lenenc_int(), Err(MysqlError::Malformed("test packet")));
    assert_eq!(r.remaining(), &[0xFB]);
    assert_eq!(r.u32(), Err(MysqlError::Truncated("test packet")));
    assert_eq!(r.rest(), &[0xFB]);
    assert!(r.is_empty());
    assert_eq!(
        Reader::new(b"\xFF\0", "x").nul_string(),
        Err(MysqlError::Malformed("x"))
    );
}
