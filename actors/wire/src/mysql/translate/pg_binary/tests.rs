use super::*;
use crate::mysql::translate::types::{column_type, ARRAYS, TABLE};
use crate::mysql::translate::values;

fn ok(oid: u32, bytes: &[u8]) -> PgValue<'_> {
    decode(oid, bytes).expect("decodes")
}

fn date(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

#[test]
fn integers_at_their_limits() {
    assert_eq!(ok(oid::INT2, &i16::MIN.to_be_bytes()), PgValue::Int(-32768));
    assert_eq!(ok(oid::INT2, &[0x7F, 0xFF]), PgValue::Int(32767));
    assert_eq!(ok(oid::INT4, &(-5i32).to_be_bytes()), PgValue::Int(-5));
    assert_eq!(
        ok(oid::INT8, &i64::MIN.to_be_bytes()),
        PgValue::Int(i64::MIN)
    );
    assert_eq!(
        ok(oid::INT8, &i64::MAX.to_be_bytes()),
        PgValue::Int(i64::MAX)
    );
    assert_eq!(ok(oid::OID, &[0xFF; 4]), PgValue::Int(4_294_967_295));
}

#[test]
fn floats_and_bools() {
    assert_eq!(ok(oid::FLOAT4, &1.5f32.to_be_bytes()), PgValue::Float4(1.5));
    assert_eq!(
        ok(oid::FLOAT8, &(-0.1f64).to_be_bytes()),
        PgValue::Float8(-0.1)
    );
    assert!(matches!(ok(oid::FLOAT8, &f64::NAN.to_be_bytes()), PgValue::Float8(v) if v.is_nan()));
    assert_eq!(ok(oid::BOOL, &[1]), PgValue::Bool(true));
    assert_eq!(ok(oid::BOOL, &[0]), PgValue::Bool(false));
    assert_eq!(ok(oid::BOOL, &[2]), PgValue::Bool(true));
}

#[test]
fn text_and_bytes_are_borrowed_as_they_are() {
    let unicode = "héllo, 世界 🦀".as_bytes();
    for pg in [
        oid::TEXT,
        oid::VARCHAR,
        oid::BPCHAR,
        oid::NAME,
        oid::UNKNOWN,
    ] {
        assert_eq!(ok(pg, unicode), PgValue::Text(unicode));
        assert_eq!(ok(pg, b""), PgValue::Text(b""));
    }
    assert_eq!(ok(oid::CHAR, b"x"), PgValue::Text(b"x"));
    assert_eq!(ok(oid::CHAR, &[0]), PgValue::Text(b""));
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(ok(oid::BYTEA, &all), PgValue::Bytes(&all));
    assert_eq!(ok(oid::JSON, br#"{"a":1}"#), PgValue::Json(br#"{"a":1}"#));
    assert_eq!(
        ok(oid::JSONB, b"\x01{\"a\": 1}"),
        PgValue::Json(b"{\"a\": 1}")
    );
}

#[test]
fn jsonb_needs_version_1() {
    for bad in [&b""[..], b"\x02{}", b"{}"] {
        assert_eq!(
            decode(oid::JSONB, bad),
            Err(TranslateError::Malformed("jsonb"))
        );
    }
}

#[test]
fn dates() {
    let cases = [
        (0, date(2000, 1, 1)),
        (-1, date(1999, 12, 31)),
        (8825, date(2024, 2, 29)),
        (-730_119, date(1, 1, 1)),
        (2_921_939, date(9999, 12, 31)),
    ];
    for (days, expected) in cases {
        assert_eq!(
            ok(oid::DATE, &i32::to_be_bytes(days)),
            PgValue::Date(expected)
        );
    }
    for inf in [i32::MAX, i32::MIN] {
        assert_eq!(
            decode(oid::DATE, &inf.to_be_bytes()),
            Err(TranslateError::Unrepresentable {
                what: "infinite date"
            })
        );
    }
}

#[test]
fn times_and_timestamps() {
    let micros = ((12 * 60 + 34) * 60 + 56) * 1_000_000 + 789;
    let t = Time {
        hour: 12,
        minute: 34,
        second: 56,
        micro: 789,
    };
    assert_eq!(ok(oid::TIME, &i64::to_be_bytes(micros)), PgValue::Time(t));
    assert_eq!(
        ok(oid::TIME, &i64::to_be_bytes(86_400_000_000)),
        PgValue::Time(Time {
            hour: 24,
            ..Time::default()
        })
    );
    let ts = 8825 * 86_400_000_000 + micros;
    for pg in [oid::TIMESTAMP, oid::TIMESTAMPTZ] {
        assert_eq!(
            ok(pg, &i64::to_be_bytes(ts)),
            PgValue::Timestamp(Timestamp {
                date: date(2024, 2, 29),
                time: t
            })
        );
        assert!(matches!(
            decode(pg, &i64::MAX.to_be_bytes()),
            Err(TranslateError::Unrepresentable { .. })
        ));
    }
    // 1969-07-20 20:17:40 UTC.
    let moon = -(11_122 * 86_400 - (20 * 3600 + 17 * 60 + 40)) * 1_000_000;
    assert_eq!(
        ok(oid::TIMESTAMPTZ, &i64::to_be_bytes(moon)),
        PgValue::Timestamp(Timestamp {
            date: date(1969, 7, 20),
            time: Time {
                hour: 20,
                minute: 17,
                second: 40,
                micro: 0
            }
        })
    );
}

#[test]
fn interval_uuid_numeric() {
    let bytes = [
        &(-1_500_000i64).to_be_bytes()[..],
        &3i32.to_be_bytes(),
        &(-14i32).to_be_bytes(),
    ]
    .concat();
    assert_eq!(
        ok(oid::INTERVAL, &bytes),
        PgValue::Interval(Interval {
            months: -14,
            days: 3,
            micros: -1_500_000
        })
    );
    let uuid: [u8; 16] = std::array::from_fn(|i| i as u8 * 17);
    assert_eq!(ok(oid::UUID, &uuid), PgValue::Uuid(uuid));
    // 1.5: one digit before the point, one after; weight 0, dscale 1.
    let numeric = [0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88];
    assert_eq!(ok(oid::NUMERIC, &numeric), PgValue::Numeric("1.5".into()));
}

#[test]
fn arrays_decode_to_their_text() {
    let bytes = [
        &1i32.to_be_bytes()[..],
        &0i32.to_be_bytes(),
        &oid::INT2.to_be_bytes(),
        &2i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &2i32.to_be_bytes(),
        &7i16.to_be_bytes(),
        &2i32.to_be_bytes(),
        &(-7i16).to_be_bytes(),
    ]
    .concat();
    assert_eq!(ok(1005, &bytes), PgValue::Array("{7,-7}".into()));
}

#[test]
fn unknown_types_are_unsupported() {
    for pg in [600, 1017, 0, u32::MAX] {
        assert_eq!(decode(pg, b""), Err(TranslateError::UnsupportedType(pg)));
    }
}

/// A valid binary value of every fixed-layout type.
fn fixtures() -> Vec<(u32, Vec<u8>)> {
    vec![
        (oid::INT2, vec![0, 1]),
        (oid::INT4, vec![0, 0, 0, 1]),
        (oid::INT8, vec![0; 8]),
        (oid::OID, vec![0; 4]),
        (oid::FLOAT4, vec![0; 4]),
        (oid::FLOAT8, vec![0; 8]),
        (oid::BOOL, vec![1]),
        (oid::DATE, vec![0; 4]),
        (oid::TIME, vec![0; 8]),
        (oid::TIMESTAMP, vec![0; 8]),
        (oid::TIMESTAMPTZ, vec![0; 8]),
        (oid::INTERVAL, vec![0; 16]),
        (oid::UUID, vec![0; 16]),
        (oid::JSONB, vec![1]),
        (oid::NUMERIC, vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 1]),
        (
            1007,
            [
                &1i32.to_be_bytes()[..],
                &1i32.to_be_bytes(),
                &oid::INT4.to_be_bytes(),
                &1i32.to_be_bytes(),
                &1i32.to_be_bytes(),
                &(-1i32).to_be_bytes(),
            ]
            .concat(),
        ),
    ]
}

#[test]
fn every_truncation_is_malformed() {
    for (pg, bytes) in fixtures() {
        assert!(decode(pg, &bytes).is_ok(), "fixture {pg}");
        for cut in 0..bytes.len() {
            assert!(
                matches!(decode(pg, &bytes[..cut]), Err(TranslateError::Malformed(_))),
                "{pg} cut at {cut}"
            );
        }
    }
}

#[test]
fn fixed_sizes_refuse_extra_bytes() {
    for (pg, mut bytes) in fixtures() {
        if matches!(pg, oid::JSONB) {
            continue;
        }
        bytes.push(0);
        assert!(
            matches!(decode(pg, &bytes), Err(TranslateError::Malformed(_))),
            "{pg}"
        );
    }
}

#[test]
fn arbitrary_bytes_never_panic_in_decoding_or_encoding() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let oids: Vec<u32> = TABLE
        .iter()
        .map(|(o, _, _)| *o)
        .chain(ARRAYS.iter().map(|(a, _)| *a))
        .collect();
    for _ in 0..20_000 {
        let pg = oids[(next() % oids.len() as u64) as usize];
        let len = (next() % 48) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Often make it look like an array header of the right element type.
        if let (Some(element), true) = (array_element(pg), next() % 2 == 0) {
            let header = [
                &((next() % 3) as i32).to_be_bytes()[..],
                &((next() % 2) as i32).to_be_bytes(),
                &element.to_be_bytes(),
            ]
            .concat();
            bytes.splice(0..0, header);
        }
        // Whatever decodes must also encode, in both protocols, without a panic.
        if let (Ok(v), Some(t)) = (decode(pg, &bytes), column_type(pg)) {
            let mut out = Vec::new();
            values::put_text(&mut out, &v);
            let _ = values::put_binary(&mut out, &t, &v);
        }
    }
}
