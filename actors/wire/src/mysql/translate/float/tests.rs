use super::*;

fn f8(v: f64) -> String {
    let mut out = Vec::new();
    push_f64(&mut out, v);
    String::from_utf8(out).expect("ASCII")
}

fn f4(v: f32) -> String {
    let mut out = Vec::new();
    push_f32(&mut out, v);
    String::from_utf8(out).expect("ASCII")
}

#[test]
fn float8_as_postgres_prints_it() {
    let cases: [(f64, &str); 20] = [
        (1e15, "1e+15"),
        (123456789012345.0, "123456789012345"),
        (100000000000000.0, "100000000000000"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.000123, "0.000123"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.0, "0"),
        (100.0, "100"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-123.456, "-123.456"),
        (1e100, "1e+100"),
        (-1.5e-7, "-1.5e-07"),
        (1.2345e20, "1.2345e+20"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (1234567.0, "1234567"),
    ];
    for (v, text) in cases {
        assert_eq!(f8(v), text, "{v:e}");
    }
}

#[test]
fn float4_switches_to_exponents_sooner() {
    let cases: [(f32, &str); 10] = [
        (1234567.0, "1.234567e+06"),
        (123456.0, "123456"),
        (999999.0, "999999"),
        (1e6, "1e+06"),
        (0.1, "0.1"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (f32::MAX, "3.4028235e+38"),
        (-2.5, "-2.5"),
        (-0.0, "-0"),
    ];
    for (v, text) in cases {
        assert_eq!(f4(v), text, "{v:e}");
    }
}

#[test]
fn special_values() {
    assert_eq!(f8(f64::NAN), "NaN");
    assert_eq!(f8(-f64::NAN), "NaN");
    assert_eq!(f8(f64::INFINITY), "Infinity");
    assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
    assert_eq!(f4(f32::NAN), "NaN");
    assert_eq!(f4(f32::INFINITY), "Infinity");
    assert_eq!(f4(f32::NEG_INFINITY), "-Infinity");
}

#[test]
fn the_text_reads_back_to_the_same_value() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if v.is_finite() {
            assert_eq!(f8(v).parse::<f64>().expect("parses"), v, "{v:e}");
        }
        let v = f32::from_bits(x as u32);
        if v.is_finite() {
            assert_eq!(f4(v).parse::<f32>().expect("parses"), v, "{v:e}");
        }
    }
}
