use super::*;

const UNSIGNED: u8 = 0x80;

/// A COM_STMT_EXECUTE payload: statement 7, no cursor, one iteration, then the NULL
/// bitmap, the new-params-bound flag, the types (if bound) and the values.
fn execute(nulls: &[u8], types: Option<&[(u8, u8)]>, values: &[u8]) -> Vec<u8> {
    let mut p = vec![7, 0, 0, 0, 0, 1, 0, 0, 0];
    p.extend_from_slice(nulls);
    match types {
        Some(types) => {
            p.push(1);
            for &(ty, flag) in types {
                p.extend_from_slice(&[ty, flag]);
            }
        }
        None => p.push(0),
    }
    p.extend_from_slice(values);
    p
}

fn no_long_data(_: usize) -> Option<Vec<u8>> {
    None
}

/// Decodes a one-parameter execute and returns the parameter's text.
fn one(ty: u8, flag: u8, value: &[u8]) -> Result<Option<String>, TranslateError> {
    let payload = execute(&[0], Some(&[(ty, flag)]), value);
    let mut types = Vec::new();
    let e = decode_execute(&payload, 1, &mut types, &mut no_long_data)?;
    assert_eq!(types, [(ty, flag == UNSIGNED)]);
    let [param] = <[Option<Vec<u8>>; 1]>::try_from(e.params).expect("one parameter");
    Ok(param.map(|p| String::from_utf8(p).expect("UTF-8")))
}

fn text(ty: u8, flag: u8, value: &[u8]) -> String {
    one(ty, flag, value).expect("decodes").expect("not NULL")
}

#[test]
fn integers_signed_and_unsigned() {
    assert_eq!(text(MYSQL_TYPE_TINY, 0, &[0xFF]), "-1");
    assert_eq!(text(MYSQL_TYPE_TINY, UNSIGNED, &[0xFF]), "255");
    assert_eq!(text(MYSQL_TYPE_SHORT, 0, &[0x00, 0x80]), "-32768");
    assert_eq!(text(MYSQL_TYPE_SHORT, UNSIGNED, &[0x00, 0x80]), "32768");
    assert_eq!(text(MYSQL_TYPE_YEAR, 0, &2024u16.to_le_bytes()), "2024");
    assert_eq!(
        text(MYSQL_TYPE_LONG, 0, &(-70_000i32).to_le_bytes()),
        "-70000"
    );
    assert_eq!(
        text(MYSQL_TYPE_INT24, 0, &8_388_607i32.to_le_bytes()),
        "8388607"
    );
    assert_eq!(text(MYSQL_TYPE_LONG, UNSIGNED, &[0xFF; 4]), "4294967295");
    assert_eq!(
        text(MYSQL_TYPE_LONGLONG, 0, &i64::MIN.to_le_bytes()),
        "-9223372036854775808"
    );
    assert_eq!(
        text(MYSQL_TYPE_LONGLONG, 0, &i64::MAX.to_le_bytes()),
        "9223372036854775807"
    );
    assert_eq!(
        text(MYSQL_TYPE_LONGLONG, UNSIGNED, &[0xFF; 8]),
        "18446744073709551615"
    );
}

#[test]
fn floats_in_shortest_round_trip_form() {
    assert_eq!(text(MYSQL_TYPE_FLOAT, 0, &1.5f32.to_le_bytes()), "1.5");
    assert_eq!(text(MYSQL_TYPE_FLOAT, 0, &0.1f32.to_le_bytes()), "0.1");
    assert_eq!(text(MYSQL_TYPE_DOUBLE, 0, &0.1f64.to_le_bytes()), "0.1");
    assert_eq!(
        text(MYSQL_TYPE_DOUBLE, 0, &(-1e-7f64).to_le_bytes()),
        "-0.0000001"
    );
    assert_eq!(text(MYSQL_TYPE_DOUBLE, 0, &f64::NAN.to_le_bytes()), "NaN");
    assert_eq!(
        text(MYSQL_TYPE_DOUBLE, 0, &f64::INFINITY.to_le_bytes()),
        "Infinity"
    );
    assert_eq!(
        text(MYSQL_TYPE_FLOAT, 0, &f32::NEG_INFINITY.to_le_bytes()),
        "-Infinity"
    );
    let v: f64 = text(MYSQL_TYPE_DOUBLE, 0, &1e300f64.to_le_bytes())
        .parse()
        .expect("number");
    assert_eq!(v, 1e300);
}

#[test]
fn strings_and_blobs_are_their_bytes() {
    let lenenc = |s: &[u8]| {
        let mut out = Vec::new();
        crate::mysql::codec::put_lenenc_str(&mut out, s);
        out
    };
    for ty in [
        MYSQL_TYPE_VAR_STRING,
        MYSQL_TYPE_STRING,
        MYSQL_TYPE_VARCHAR,
        MYSQL_TYPE_BLOB,
        MYSQL_TYPE_TINY_BLOB,
        MYSQL_TYPE_MEDIUM_BLOB,
        MYSQL_TYPE_LONG_BLOB,
        MYSQL_TYPE_JSON,
        MYSQL_TYPE_ENUM,
        MYSQL_TYPE_SET,
        MYSQL_TYPE_BIT,
        MYSQL_TYPE_DECIMAL,
        MYSQL_TYPE_NEWDECIMAL,
    ] {
        assert_eq!(
            text(ty, 0, &lenenc("héllo".as_bytes())),
            "héllo",
            "type {ty}"
        );
    }
    assert_eq!(text(MYSQL_TYPE_NEWDECIMAL, 0, &lenenc(b"-12.50")), "-12.50");
    assert_eq!(text(MYSQL_TYPE_STRING, 0, &lenenc(b"")), "");
    let all: Vec<u8> = (0..=255).collect();
    let payload = execute(&[0], Some(&[(MYSQL_TYPE_BLOB, 0)]), &lenenc(&all));
    let e = decode_execute(&payload, 1, &mut Vec::new(), &mut no_long_data).expect("decodes");
    assert_eq!(e.params, [Some(all)]);
}

#[test]
fn dates_and_datetimes() {
    assert_eq!(
        text(MYSQL_TYPE_DATE, 0, &[4, 0xE8, 0x07, 2, 29]),
        "2024-02-29"
    );
    assert_eq!(text(MYSQL_TYPE_DATE, 0, &[0]), "0000-00-00");
    assert_eq!(
        text(
            MYSQL_TYPE_DATETIME,
            0,
            &[11, 0xE8, 0x07, 2, 29, 12, 34, 56, 7, 0, 0, 0]
        ),
        "2024-02-29 12:34:56.000007"
    );
    assert_eq!(
        text(MYSQL_TYPE_DATETIME, 0, &[7, 0xCF, 0x07, 12, 31, 23, 59, 59]),
        "1999-12-31 23:59:59.000000"
    );
    assert_eq!(
        text(MYSQL_TYPE_TIMESTAMP, 0, &[4, 1, 0, 1, 1]),
        "0001-01-01 00:00:00.000000"
    );
    assert_eq!(
        text(MYSQL_TYPE_TIMESTAMP, 0, &[0]),
        "0000-00-00 00:00:00.000000"
    );
    assert_eq!(
        one(MYSQL_TYPE_DATE, 0, &[5, 0, 0, 0, 0, 0]),
        Err(TranslateError::Malformed("COM_STMT_EXECUTE date"))
    );
}

#[test]
fn times_count_days_into_hours() {
    assert_eq!(
        text(
            MYSQL_TYPE_TIME,
            0,
            &[12, 1, 1, 0, 0, 0, 12, 0, 0, 0x20, 0xA1, 0x07, 0]
        ),
        "-36:00:00.500000"
    );
    assert_eq!(
        text(MYSQL_TYPE_TIME, 0, &[8, 0, 34, 0, 0, 0, 22, 59, 59]),
        "838:59:59.000000"
    );
    assert_eq!(text(MYSQL_TYPE_TIME, 0, &[0]), "00:00:00.000000");
    assert_eq!(
        one(MYSQL_TYPE_TIME, 0, &[7, 0, 0, 0, 0, 0, 0, 0]),
        Err(TranslateError::Malformed("COM_STMT_EXECUTE time"))
    );
}

#[test]
fn nulls_by_bitmap_and_by_type() {
    assert_eq!(one(MYSQL_TYPE_NULL, 0, &[]), Ok(None));
    let payload = execute(
        &[0b0000_0101, 0b0000_0001],
        Some(&[(MYSQL_TYPE_LONG, 0); 9]),
        &[
            2, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0,
        ],
    );
    let e = decode_execute(&payload, 9, &mut Vec::new(), &mut no_long_data).expect("decodes");
    let texts: Vec<Option<&[u8]>> = e.params.iter().map(|p| p.as_deref()).collect();
    assert_eq!(
        texts,
        [
            None,
            Some(&b"2"[..]),
            None,
            Some(b"4"),
            Some(b"5"),
            Some(b"6"),
            Some(b"7"),
            Some(b"8"),
            None
        ]
    );
    assert_eq!((e.stmt_id, e.flags), (7, 0));
}

#[test]
fn bound_types_persist_across_executes() {
    let mut types = Vec::new();
    let first = execute(&[0], Some(&[(MYSQL_TYPE_TINY, UNSIGNED)]), &[200]);
    decode_execute(&first, 1, &mut types, &mut no_long_data).expect("first");
    let second = execute(&[0], None, &[201]);
    let e = decode_execute(&second, 1, &mut types, &mut no_long_data).expect("second");
    assert_eq!(e.params, [Some(b"201".to_vec())]);
    assert_eq!(
        decode_execute(&second, 1, &mut Vec::new(), &mut no_long_data),
        Err(TranslateError::Malformed(
            "COM_STMT_EXECUTE without parameter types"
        ))
    );
}

#[test]
fn long_data_parameters_have_no_bytes_in_the_payload() {
    let payload = execute(
        &[0],
        Some(&[
            (MYSQL_TYPE_LONG, 0),
            (MYSQL_TYPE_BLOB, 0),
            (MYSQL_TYPE_LONG, 0),
        ]),
        &[1, 0, 0, 0, 3, 0, 0, 0],
    );
    let mut asked = Vec::new();
    let mut long_data = |i: usize| {
        asked.push(i);
        (i == 1).then(|| b"streamed".to_vec())
    };
    let e = decode_execute(&payload, 3, &mut Vec::new(), &mut long_data).expect("decodes");
    assert_eq!(
        e.params,
        [
            Some(b"1".to_vec()),
            Some(b"streamed".to_vec()),
            Some(b"3".to_vec())
        ]
    );
    assert_eq!(asked, [0, 1, 2]);
}

#[test]
fn no_parameters_means_just_the_header() {
    let e = decode_execute(
        &[9, 0, 0, 0, 1, 1, 0, 0, 0],
        0,
        &mut Vec::new(),
        &mut no_long_data,
    )
    .expect("decodes");
    assert_eq!(
        e,
        Execute {
            stmt_id: 9,
            flags: 1,
            params: Vec::new()
        }
    );
}

#[test]
fn unsupported_parameter_types() {
    for ty in [255, 17, 18, 19, 14, 20, 242, 100] {
        assert_eq!(
            one(ty, 0, &[0; 16]),
            Err(TranslateError::UnsupportedParamType(ty))
        );
    }
}

#[test]
fn every_truncation_is_malformed() {
    let payload = execute(
        &[0],
        Some(&[
            (MYSQL_TYPE_LONGLONG, 0),
            (MYSQL_TYPE_VAR_STRING, 0),
            (MYSQL_TYPE_DATETIME, 0),
        ]),
        &[
            1, 0, 0, 0, 0, 0, 0, 0, // LONGLONG 1
            3, b'a', b'b', b'c', // "abc"
            4, 0xE8, 0x07, 2, 29, // 2024-02-29
        ],
    );
    let mut types = Vec::new();
    assert!(decode_execute(&payload, 3, &mut types, &mut no_long_data).is_ok());
    for cut in 0..payload.len() {
        let r = decode_execute(&payload[..cut], 3, &mut Vec::new(), &mut no_long_data);
        assert!(
            matches!(r, Err(TranslateError::Malformed(_))),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn absurd_parameter_counts_are_malformed() {
    let payload = execute(&[0], Some(&[(MYSQL_TYPE_TINY, 0)]), &[1]);
    for count in [usize::MAX, usize::MAX / 2, 1 << 40] {
        assert!(matches!(
            decode_execute(&payload, count, &mut Vec::new(), &mut no_long_data),
            Err(TranslateError::Malformed(_))
        ));
    }
}

#[test]
fn long_data_header() {
    let payload = [5, 0, 0, 0, 2, 0, b'x', b'y'];
    assert_eq!(decode_long_data(&payload), Ok((5, 2, &b"xy"[..])));
    assert_eq!(decode_long_data(&payload[..6]), Ok((5, 2, &b""[..])));
    for cut in 0..6 {
        assert!(matches!(
            decode_long_data(&payload[..cut]),
            Err(TranslateError::Malformed(_))
        ));
    }
}
