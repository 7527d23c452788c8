use super::*;

/// A binary array: `dims` as (length, lower bound), elements in row-major order.
fn array(element: u32, dims: &[(i32, i32)], elements: &[Option<&[u8]>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(dims.len() as i32).to_be_bytes());
    out.extend_from_slice(&i32::from(elements.iter().any(Option::is_none)).to_be_bytes());
    out.extend_from_slice(&element.to_be_bytes());
    for (len, lower) in dims {
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&lower.to_be_bytes());
    }
    for e in elements {
        match e {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    out
}

fn text(element: u32, dims: &[(i32, i32)], elements: &[Option<&[u8]>]) -> String {
    decode(element, &array(element, dims, elements)).expect("valid array")
}

fn int4(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

#[test]
fn one_dimension_with_nulls() {
    let (a, b) = (int4(1), int4(2));
    assert_eq!(
        text(oid::INT4, &[(3, 1)], &[Some(&a), Some(&b), None]),
        "{1,2,NULL}"
    );
}

#[test]
fn text_elements_are_quoted_as_array_out_does() {
    let elements: [&[u8]; 11] = [
        b"a b",
        b"c,d",
        b"q\"x",
        b"back\\slash",
        b"",
        b"NULL",
        b"null",
        b"{x}",
        b"plain",
        "é".as_bytes(),
        b"tab\there",
    ];
    let some: Vec<Option<&[u8]>> = elements.iter().map(|e| Some(*e)).collect();
    assert_eq!(
        text(oid::TEXT, &[(11, 1)], &some),
        r#"{"a b","c,d","q\"x","back\\slash","","NULL","null","{x}",plain,é,"tab	here"}"#
    );
    // NULLISH but not NULL needs no quotes.
    assert_eq!(text(oid::VARCHAR, &[(1, 1)], &[Some(b"NULLs")]), "{NULLs}");
}

#[test]
fn several_dimensions_nest_braces() {
    let v: Vec<[u8; 4]> = (1..=6).map(int4).collect();
    let e: Vec<Option<&[u8]>> = v.iter().map(|b| Some(&b[..])).collect();
    assert_eq!(text(oid::INT4, &[(2, 1), (3, 1)], &e), "{{1,2,3},{4,5,6}}");
    assert_eq!(
        text(oid::INT4, &[(3, 1), (2, 1)], &e),
        "{{1,2},{3,4},{5,6}}"
    );
    assert_eq!(
        text(oid::INT4, &[(2, 1), (1, 1), (3, 1)], &e),
        "{{{1,2,3}},{{4,5,6}}}"
    );
    let mut with_null = e.clone();
    with_null[4] = None;
    assert_eq!(
        text(oid::INT4, &[(2, 1), (3, 1)], &with_null),
        "{{1,2,3},{4,NULL,6}}"
    );
}

#[test]
fn lower_bounds_other_than_one_are_shown() {
    let (a, b) = (int4(1), int4(2));
    assert_eq!(
        text(oid::INT4, &[(2, 0)], &[Some(&a), Some(&b)]),
        "[0:1]={1,2}"
    );
    assert_eq!(
        text(oid::INT4, &[(2, 1), (1, -3)], &[Some(&a), Some(&b)]),
        "[1:2][-3:-3]={{1},{2}}"
    );
}

#[test]
fn empty_arrays() {
    assert_eq!(text(oid::INT4, &[], &[]), "{}");
    assert_eq!(text(oid::INT4, &[(0, 1)], &[]), "{}");
    assert_eq!(text(oid::INT4, &[(2, 1), (0, 1)], &[]), "{}");
}

#[test]
fn elements_use_their_types_text_forms() {
    let one = |e: u32, b: &[u8]| text(e, &[(1, 1)], &[Some(b)]);
    assert_eq!(
        text(oid::BOOL, &[(2, 1)], &[Some(&[1]), Some(&[0])]),
        "{t,f}"
    );
    assert_eq!(one(oid::BYTEA, &[1, 2]), r#"{"\\x0102"}"#);
    assert_eq!(one(oid::BYTEA, &[]), r#"{"\\x"}"#);
    assert_eq!(
        one(oid::INT8, &i64::MIN.to_be_bytes()),
        "{-9223372036854775808}"
    );
    assert_eq!(one(oid::INT2, &(-3i16).to_be_bytes()), "{-3}");
    assert_eq!(one(oid::OID, &u32::MAX.to_be_bytes()), "{4294967295}");
    assert_eq!(one(oid::FLOAT8, &1e20f64.to_be_bytes()), "{1e+20}");
    assert_eq!(one(oid::FLOAT8, &f64::NAN.to_be_bytes()), "{NaN}");
    assert_eq!(
        one(oid::FLOAT8, &f64::NEG_INFINITY.to_be_bytes()),
        "{-Infinity}"
    );
    assert_eq!(
        one(oid::FLOAT4, &1234567f32.to_be_bytes()),
        "{1.234567e+06}"
    );
    let half = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x13, 0x88];
    assert_eq!(one(oid::NUMERIC, &half), "{-0.50}");
    assert_eq!(one(oid::DATE, &8825i32.to_be_bytes()), "{2024-02-29}");
    assert_eq!(one(oid::DATE, &i32::MAX.to_be_bytes()), "{infinity}");
    assert_eq!(one(oid::DATE, &i32::MIN.to_be_bytes()), "{-infinity}");
    assert_eq!(
        one(oid::DATE, &(-730_120i32).to_be_bytes()),
        r#"{"0001-12-31 BC"}"#
    );
    let noon_and_a_half = 12 * 3_600_000_000i64 + 500_000;
    assert_eq!(
        one(oid::TIME, &noon_and_a_half.to_be_bytes()),
        "{12:00:00.5}"
    );
    let ts = 8825 * 86_400_000_000 + noon_and_a_half;
    assert_eq!(
        one(oid::TIMESTAMP, &ts.to_be_bytes()),
        r#"{"2024-02-29 12:00:00.5"}"#
    );
    assert_eq!(
        one(oid::TIMESTAMPTZ, &ts.to_be_bytes()),
        r#"{"2024-02-29 12:00:00.5+00"}"#
    );
    assert_eq!(
        one(oid::TIMESTAMPTZ, &i64::MIN.to_be_bytes()),
        "{-infinity}"
    );
    let day = [
        &0i64.to_be_bytes()[..],
        &1i32.to_be_bytes(),
        &0i32.to_be_bytes(),
    ]
    .concat();
    assert_eq!(one(oid::INTERVAL, &day), r#"{"1 day"}"#);
    let uuid: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(
        one(oid::UUID, &uuid),
        "{00010203-0405-0607-0809-0a0b0c0d0e0f}"
    );
    assert_eq!(one(oid::JSON, br#"{"a": 1}"#), r#"{"{\"a\": 1}"}"#);
    assert_eq!(one(oid::JSONB, b"\x01[1, 2]"), r#"{"[1, 2]"}"#);
    assert_eq!(one(oid::CHAR, b"x"), "{x}");
    assert_eq!(one(oid::NAME, b"pg_class"), "{pg_class}");
    assert_eq!(one(oid::BPCHAR, b"ab  "), r#"{"ab  "}"#);
}

#[test]
fn malformed_headers() {
    let a = int4(1);
    let good = array(oid::INT4, &[(1, 1)], &[Some(&a)]);
    let with = |at: usize, bytes: [u8; 4]| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&bytes);
        b
    };
    let cases = [
        with(0, 7i32.to_be_bytes()),      // more than MAXDIM dimensions
        with(0, (-1i32).to_be_bytes()),   // negative dimensions
        with(0, 2i32.to_be_bytes()),      // a dimension missing
        with(4, 2i32.to_be_bytes()),      // bad has-nulls flag
        with(12, (-1i32).to_be_bytes()),  // negative length
        with(12, 2i32.to_be_bytes()),     // an element missing
        with(16, i32::MAX.to_be_bytes()), // fine alone: upper bound i32::MAX
        with(20, (-2i32).to_be_bytes()),  // negative element length
        with(20, 5i32.to_be_bytes()),     // element runs past the end
        with(20, 3i32.to_be_bytes()),     // int4 of 3 bytes, then a trailing byte
        [good.clone(), vec![0]].concat(), // trailing bytes
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let result = decode(oid::INT4, bytes);
        if i == 6 {
            assert_eq!(result.as_deref(), Ok("[2147483647:2147483647]={1}"));
            continue;
        }
        assert!(
            matches!(result, Err(TranslateError::Malformed(_))),
            "case {i}: {result:?}"
        );
    }
    assert_eq!(
        decode(oid::INT8, &good),
        Err(TranslateError::Malformed("array element type"))
    );
}

#[test]
fn sizes_that_overflow_are_malformed_not_allocated() {
    let overflow = array(oid::INT4, &[(2, i32::MAX)], &[]);
    assert_eq!(
        decode(oid::INT4, &overflow),
        Err(TranslateError::Malformed("array"))
    );
    let huge = array(
        oid::INT4,
        &[
            (i32::MAX, 1),
            (i32::MAX, 1),
            (i32::MAX, 1),
            (i32::MAX, 1),
            (i32::MAX, 1),
            (i32::MAX, 1),
        ],
        &[],
    );
    assert_eq!(
        decode(oid::INT4, &huge),
        Err(TranslateError::Malformed("array"))
    );
    let many = array(oid::INT4, &[(1_000_000, 1)], &[None, None]);
    assert_eq!(
        decode(oid::INT4, &many),
        Err(TranslateError::Malformed("array"))
    );
}

#[test]
fn text_elements_must_be_utf8() {
    let bad = array(oid::TEXT, &[(1, 1)], &[Some(&[0xFF, 0xFE])]);
    assert_eq!(
        decode(oid::TEXT, &bad),
        Err(TranslateError::Malformed("array element text"))
    );
}

#[test]
fn truncations_are_malformed() {
    let a = int4(1);
    let good = array(oid::INT4, &[(2, 1), (1, 1)], &[Some(&a), None]);
    assert!(decode(oid::INT4, &good).is_ok());
    for cut in 0..good.len() {
        assert!(
            matches!(
                decode(oid::INT4, &good[..cut]),
                Err(TranslateError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
}
