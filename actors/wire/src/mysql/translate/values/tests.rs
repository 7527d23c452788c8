use super::*;
use crate::mysql::translate::pg_binary::{decode, Interval, Timestamp};
use crate::mysql::translate::types::{column_type, oid, ColumnType};

fn text(v: &PgValue<'_>) -> String {
    let mut out = Vec::new();
    put_text(&mut out, v);
    String::from_utf8(out).expect("UTF-8 text")
}

fn binary(pg: u32, v: &PgValue<'_>) -> Result<Vec<u8>, TranslateError> {
    let mut out = Vec::new();
    put_binary(&mut out, &column_type(pg).expect("mapped"), v)?;
    Ok(out)
}

fn lenenc(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    crate::mysql::codec::put_lenenc_str(&mut out, s.as_bytes());
    out
}

const DAY: i64 = 86_400_000_000;
const NOON: i64 = 12 * 3_600_000_000;

/// Every row of the type table: a PostgreSQL binary value, its MySQL text, and its
/// MySQL binary field (`None`: the length-encoded text).
type Row = (u32, Vec<u8>, &'static str, Option<Vec<u8>>);

fn rows() -> Vec<Row> {
    let uuid: Vec<u8> = (0..16).map(|i| i * 16 + i).collect();
    vec![
        (oid::BOOL, vec![1], "1", Some(vec![1])),
        (oid::BOOL, vec![0], "0", Some(vec![0])),
        (
            oid::INT2,
            (-2i16).to_be_bytes().to_vec(),
            "-2",
            Some(vec![0xFE, 0xFF]),
        ),
        (
            oid::INT4,
            70_000i32.to_be_bytes().to_vec(),
            "70000",
            Some(70_000i32.to_le_bytes().to_vec()),
        ),
        (
            oid::INT8,
            i64::MIN.to_be_bytes().to_vec(),
            "-9223372036854775808",
            Some(i64::MIN.to_le_bytes().to_vec()),
        ),
        (
            oid::INT8,
            i64::MAX.to_be_bytes().to_vec(),
            "9223372036854775807",
            Some(i64::MAX.to_le_bytes().to_vec()),
        ),
        (
            oid::OID,
            u32::MAX.to_be_bytes().to_vec(),
            "4294967295",
            Some(vec![0xFF; 4]),
        ),
        (
            oid::NUMERIC,
            vec![0, 2, 0, 0, 0x40, 0, 0, 4, 0, 123, 0x11, 0x94],
            "-123.4500",
            None,
        ),
        (
            oid::FLOAT4,
            0.1f32.to_be_bytes().to_vec(),
            "0.1",
            Some(0.1f32.to_le_bytes().to_vec()),
        ),
        (
            oid::FLOAT8,
            1e-7f64.to_be_bytes().to_vec(),
            "1e-07",
            Some(1e-7f64.to_le_bytes().to_vec()),
        ),
        (oid::TEXT, "naïve ☃".as_bytes().to_vec(), "naïve ☃", None),
        (oid::VARCHAR, b"v".to_vec(), "v", None),
        (oid::BPCHAR, b"b  ".to_vec(), "b  ", None),
        (oid::NAME, b"pg_class".to_vec(), "pg_class", None),
        (oid::CHAR, b"c".to_vec(), "c", None),
        (oid::UNKNOWN, b"u".to_vec(), "u", None),
        (oid::BYTEA, b"\x00\x01".to_vec(), "\u{0}\u{1}", None),
        (
            oid::DATE,
            8825i32.to_be_bytes().to_vec(),
            "2024-02-29",
            Some(vec![4, 0xE8, 0x07, 2, 29]),
        ),
        (
            oid::TIME,
            NOON.to_be_bytes().to_vec(),
            "12:00:00",
            Some(vec![8, 0, 0, 0, 0, 0, 12, 0, 0]),
        ),
        (
            oid::TIME,
            (NOON + 5).to_be_bytes().to_vec(),
            "12:00:00.000005",
            Some(vec![12, 0, 0, 0, 0, 0, 12, 0, 0, 5, 0, 0, 0]),
        ),
        (
            oid::TIME,
            DAY.to_be_bytes().to_vec(),
            "24:00:00",
            Some(vec![8, 0, 1, 0, 0, 0, 0, 0, 0]),
        ),
        (
            oid::TIME,
            0i64.to_be_bytes().to_vec(),
            "00:00:00",
            Some(vec![0]),
        ),
        (
            oid::TIMESTAMP,
            (8825 * DAY).to_be_bytes().to_vec(),
            "2024-02-29 00:00:00",
            Some(vec![4, 0xE8, 0x07, 2, 29]),
        ),
        (
            oid::TIMESTAMP,
            (8825 * DAY + NOON).to_be_bytes().to_vec(),
            "2024-02-29 12:00:00",
            Some(vec![7, 0xE8, 0x07, 2, 29, 12, 0, 0]),
        ),
        (
            oid::TIMESTAMPTZ,
            (-1i64).to_be_bytes().to_vec(),
            "1999-12-31 23:59:59.999999",
            Some(vec![
                11, 0xCF, 0x07, 12, 31, 23, 59, 59, 0x3F, 0x42, 0x0F, 0,
            ]),
        ),
        (
            oid::JSON,
            br#"{"a":[1,2]}"#.to_vec(),
            r#"{"a":[1,2]}"#,
            None,
        ),
        (
            oid::JSONB,
            b"\x01{\"a\": [1, 2]}".to_vec(),
            r#"{"a": [1, 2]}"#,
            None,
        ),
        (
            oid::UUID,
            uuid,
            "00112233-4455-6677-8899-aabbccddeeff",
            None,
        ),
        (
            oid::INTERVAL,
            [
                &0i64.to_be_bytes()[..],
                &(-1i32).to_be_bytes(),
                &1i32.to_be_bytes(),
            ]
            .concat(),
            "1 mon -1 days",
            None,
        ),
        (
            1009,
            [
                &1i32.to_be_bytes()[..],
                &1i32.to_be_bytes(),
                &oid::TEXT.to_be_bytes(),
                &2i32.to_be_bytes(),
                &1i32.to_be_bytes(),
                &3i32.to_be_bytes(),
                b"a b",
                &(-1i32).to_be_bytes(),
            ]
            .concat(),
            r#"{"a b",NULL}"#,
            None,
        ),
    ]
}

#[test]
fn every_mapping_row_in_text_and_binary() {
    for (pg, bytes, expected_text, expected_binary) in rows() {
        let v = decode(pg, &bytes).expect("fixture decodes");
        assert_eq!(text(&v), expected_text, "text of {pg}");
        let expected_binary = expected_binary.unwrap_or_else(|| lenenc(expected_text));
        assert_eq!(binary(pg, &v), Ok(expected_binary), "binary of {pg}");
    }
}

#[test]
fn bytea_text_is_the_raw_bytes() {
    let all: Vec<u8> = (0..=255).collect();
    let mut out = Vec::new();
    put_text(&mut out, &PgValue::Bytes(&all));
    assert_eq!(out, all);
    let mut field = Vec::new();
    put_binary(
        &mut field,
        &column_type(oid::BYTEA).expect("bytea"),
        &PgValue::Bytes(&all),
    )
    .expect("fits");
    assert_eq!(field[..3], [0xFC, 0x00, 0x01]);
    assert_eq!(field[3..], all[..]);
}

#[test]
fn long_text_gets_a_longer_length_prefix() {
    let long = "x".repeat(70_000);
    let mut out = vec![0xAA];
    put_binary(
        &mut out,
        &column_type(oid::TEXT).expect("text"),
        &PgValue::Text(long.as_bytes()),
    )
    .expect("fits");
    assert_eq!(out[..5], [0xAA, 0xFD, 0x70, 0x11, 0x01]);
    assert_eq!(out.len(), 5 + 70_000);
}

fn column(code: u8, flags: u16) -> ColumnType {
    ColumnType {
        code,
        flags,
        charset: 63,
        length: 0,
        decimals: 0,
    }
}

#[test]
fn integers_that_do_not_fit_their_column_are_refused() {
    let refused = |code, flags, v| {
        let mut out = Vec::new();
        let r = put_binary(&mut out, &column(code, flags), &PgValue::Int(v));
        matches!(r, Err(TranslateError::Unrepresentable { .. }))
    };
    assert!(refused(MYSQL_TYPE_TINY, 0, 128));
    assert!(refused(MYSQL_TYPE_TINY, UNSIGNED_FLAG, -1));
    assert!(refused(MYSQL_TYPE_SHORT, 0, 32_768));
    assert!(refused(MYSQL_TYPE_LONG, 0, i64::from(i32::MAX) + 1));
    assert!(refused(MYSQL_TYPE_LONG, UNSIGNED_FLAG, 1 << 32));
    assert!(refused(MYSQL_TYPE_LONGLONG, UNSIGNED_FLAG, -1));
    let mut out = Vec::new();
    put_binary(
        &mut out,
        &column(MYSQL_TYPE_TINY, UNSIGNED_FLAG),
        &PgValue::Int(255),
    )
    .expect("fits");
    put_binary(&mut out, &column(MYSQL_TYPE_TINY, 0), &PgValue::Int(-128)).expect("fits");
    put_binary(
        &mut out,
        &column(MYSQL_TYPE_SHORT, 0),
        &PgValue::Int(-32768),
    )
    .expect("fits");
    assert_eq!(out, [0xFF, 0x80, 0x00, 0x80]);
}

#[test]
fn a_value_of_another_type_than_its_column_is_refused() {
    let cases = [
        (MYSQL_TYPE_LONG, PgValue::Float8(1.0)),
        (MYSQL_TYPE_FLOAT, PgValue::Float8(1.0)),
        (MYSQL_TYPE_DATE, PgValue::Text(b"2024-01-01")),
        (MYSQL_TYPE_TIME, PgValue::Int(1)),
        (MYSQL_TYPE_DATE, PgValue::Time(Time::default())),
    ];
    for (code, v) in cases {
        let mut out = Vec::new();
        assert!(
            matches!(
                put_binary(&mut out, &column(code, 0), &v),
                Err(TranslateError::Unrepresentable { .. })
            ),
            "{code} {v:?}"
        );
    }
    // A float4 widens exactly into a DOUBLE column.
    let mut out = Vec::new();
    put_binary(
        &mut out,
        &column(MYSQL_TYPE_DOUBLE, 0),
        &PgValue::Float4(0.1),
    )
    .expect("widens");
    assert_eq!(out, f64::from(0.1f32).to_le_bytes());
}

fn d(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

#[test]
fn dates_mysql_cannot_hold_are_refused_in_binary_but_printed_in_text() {
    for year in [-1, 10_000, 294_276] {
        let v = PgValue::Date(d(year, 1, 1));
        assert!(matches!(
            binary(oid::DATE, &v),
            Err(TranslateError::Unrepresentable { .. })
        ));
        let ts = PgValue::Timestamp(Timestamp {
            date: d(year, 1, 1),
            time: Time::default(),
        });
        assert!(matches!(
            binary(oid::TIMESTAMP, &ts),
            Err(TranslateError::Unrepresentable { .. })
        ));
    }
    assert_eq!(text(&PgValue::Date(d(-1, 1, 1))), "-0001-01-01");
    assert_eq!(text(&PgValue::Date(d(10_000, 1, 1))), "10000-01-01");
    assert_eq!(
        binary(oid::DATE, &PgValue::Date(d(0, 1, 1))),
        Ok(vec![4, 0, 0, 1, 1])
    );
    assert_eq!(
        binary(oid::DATE, &PgValue::Date(d(9999, 12, 31))),
        Ok(vec![4, 0x0F, 0x27, 12, 31])
    );
    assert_eq!(
        binary(oid::DATE, &PgValue::Date(d(1, 1, 1))),
        Ok(vec![4, 1, 0, 1, 1])
    );
}

#[test]
fn other_edge_values_in_text() {
    assert_eq!(text(&PgValue::Numeric("NaN".into())), "NaN");
    assert_eq!(text(&PgValue::Float8(f64::NAN)), "NaN");
    assert_eq!(text(&PgValue::Float8(-0.0)), "-0");
    assert_eq!(text(&PgValue::Float4(f32::INFINITY)), "Infinity");
    assert_eq!(
        text(&PgValue::Interval(Interval {
            months: 0,
            days: 0,
            micros: 0
        })),
        "00:00:00"
    );
    assert_eq!(text(&PgValue::Int(-1)), "-1");
}

#[test]
fn binary_row_has_header_bitmap_and_values() {
    let types: Vec<ColumnType> = [oid::INT4, oid::TEXT, oid::INT2]
        .iter()
        .map(|&o| column_type(o).expect("mapped"))
        .collect();
    let mut out = Vec::new();
    encode_binary_row(
        &mut out,
        &types,
        &[Some(PgValue::Int(1)), None, Some(PgValue::Int(2))],
    )
    .expect("row");
    // Column 1 is NULL: bit 1 + 2 = 3.
    assert_eq!(out, [0x00, 0x08, 1, 0, 0, 0, 2, 0]);

    let types = vec![column_type(oid::TEXT).expect("text"); 7];
    let mut values = vec![Some(PgValue::Text(b"x")); 7];
    values[0] = None;
    values[6] = None;
    let mut out = Vec::new();
    encode_binary_row(&mut out, &types, &values).expect("row");
    // (7 + 9) / 8 = 2 bitmap bytes; column 0 is bit 2, column 6 is bit 8.
    assert_eq!(out[..3], [0x00, 0x04, 0x01]);
    assert_eq!(out[3..], [1, b'x', 1, b'x', 1, b'x', 1, b'x', 1, b'x']);

    let mut out = Vec::new();
    encode_binary_row(&mut out, &[], &[]).expect("empty row");
    assert_eq!(out, [0x00, 0x00]);
}

#[test]
fn binary_row_errors_leave_the_buffer_as_it_was() {
    let types = [
        column_type(oid::INT4).expect("int4"),
        column_type(oid::DATE).expect("date"),
    ];
    let mut out = vec![0xAA];
    let bad = [Some(PgValue::Int(1)), Some(PgValue::Date(d(10_000, 1, 1)))];
    assert!(encode_binary_row(&mut out, &types, &bad).is_err());
    assert_eq!(out, [0xAA]);
    assert_eq!(
        encode_binary_row(&mut out, &types, &bad[..1]),
        Err(TranslateError::Malformed(
            "row with another number of values than columns"
        ))
    );
    assert_eq!(out, [0xAA]);
}

#[test]
fn text_row_is_lenenc_values_with_null_markers() {
    let long = vec![b'y'; 300];
    let mut out = Vec::new();
    encode_text_row(
        &mut out,
        &[
            Some(PgValue::Int(42)),
            None,
            Some(PgValue::Bool(true)),
            Some(PgValue::Text(&long)),
            Some(PgValue::Text(b"")),
        ],
    );
    let mut expected = vec![2, b'4', b'2', 0xFB, 1, b'1', 0xFC, 0x2C, 0x01];
    expected.extend_from_slice(&long);
    expected.push(0);
    assert_eq!(out, expected);
}
