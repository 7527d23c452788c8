use super::*;

fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

fn text(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> String {
    decode(&numeric(weight, sign, dscale, digits)).expect("valid numeric")
}

#[test]
fn exact_decimal_text_as_postgres_prints_it() {
    // (weight, sign, dscale, base-10000 digits) as numeric_send sends the value.
    let cases: &[(i16, u16, u16, &[u16], &str)] = &[
        (0, NUMERIC_POS, 0, &[], "0"),
        (0, NUMERIC_POS, 2, &[], "0.00"),
        (-1, NUMERIC_NEG, 2, &[5000], "-0.50"),
        (0, NUMERIC_POS, 0, &[1], "1"),
        (1, NUMERIC_POS, 0, &[1], "10000"),
        (0, NUMERIC_POS, 0, &[9999], "9999"),
        (1, NUMERIC_NEG, 0, &[1, 1], "-10001"),
        (
            4,
            NUMERIC_POS,
            3,
            &[1234, 5678, 9012, 3456, 7890, 1230],
            "12345678901234567890.123",
        ),
        (-1, NUMERIC_POS, 3, &[10], "0.001"),
        (0, NUMERIC_NEG, 4, &[123, 4500], "-123.4500"),
        (-5, NUMERIC_POS, 20, &[1], "0.00000000000000000001"),
        (
            10,
            NUMERIC_POS,
            0,
            &[1],
            "10000000000000000000000000000000000000000",
        ),
        (0, NUMERIC_POS, 6, &[3, 1415, 9265], "3.141592"),
        (0, NUMERIC_POS, 10, &[3, 1415], "3.1415000000"),
        (-2, NUMERIC_POS, 9, &[1234, 5000], "0.000012345"),
        // dscale below the stored digits: PostgreSQL prints only dscale digits.
        (0, NUMERIC_POS, 1, &[2, 5000], "2.5"),
    ];
    for &(weight, sign, dscale, digits, expected) in cases {
        assert_eq!(text(weight, sign, dscale, digits), expected, "{digits:?}");
    }
}

#[test]
fn special_values() {
    assert_eq!(text(0, NUMERIC_NAN, 0, &[]), "NaN");
    assert_eq!(text(0, NUMERIC_PINF, 0, &[]), "Infinity");
    assert_eq!(text(0, NUMERIC_NINF, 0, &[]), "-Infinity");
}

#[test]
fn a_negative_zero_prints_as_zero() {
    assert_eq!(text(0, NUMERIC_NEG, 1, &[]), "0.0");
    assert_eq!(text(0, NUMERIC_NEG, 0, &[0]), "0");
}

#[test]
fn huge_values_are_exact() {
    let digits = vec![9999u16; 1000];
    let s = text(999, NUMERIC_POS, 0, &digits);
    assert_eq!(s.len(), 4000);
    assert!(s.bytes().all(|b| b == b'9'));
    let s = text(i16::MAX, NUMERIC_POS, NUMERIC_DSCALE_MAX, &[1]);
    assert_eq!(s.len(), 1 + 4 * 32767 + 1 + 0x3FFF);
}

#[test]
fn malformed_inputs() {
    let bad = [
        numeric(0, 0x1234, 0, &[1]),
        numeric(0, NUMERIC_POS, 0, &[10000]),
        numeric(0, NUMERIC_POS, 0x4000, &[1]),
        [&(-1i16).to_be_bytes()[..], &[0; 6]].concat(),
        [numeric(0, NUMERIC_POS, 0, &[1]), vec![0]].concat(),
    ];
    for bytes in bad {
        assert_eq!(
            decode(&bytes),
            Err(TranslateError::Malformed("numeric")),
            "{bytes:?}"
        );
    }
    let good = numeric(1, NUMERIC_NEG, 2, &[12, 3456, 7800]);
    for cut in 0..good.len() {
        assert_eq!(
            decode(&good[..cut]),
            Err(TranslateError::Malformed("numeric"))
        );
    }
}
