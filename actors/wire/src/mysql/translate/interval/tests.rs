use super::*;

const HOUR: i64 = 3_600_000_000;
const MINUTE: i64 = 60_000_000;
const SECOND: i64 = 1_000_000;

fn text(months: i32, days: i32, micros: i64) -> String {
    let mut out = Vec::new();
    push_pg(
        &mut out,
        &Interval {
            months,
            days,
            micros,
        },
    );
    String::from_utf8(out).expect("ASCII")
}

#[test]
fn matches_postgres_output() {
    // (months, days, micros) as PostgreSQL stores the literal, and what it prints.
    let cases: &[(i32, i32, i64, &str)] = &[
        (0, 1, 0, "1 day"),                         // '1 day'
        (0, 0, 25 * HOUR, "25:00:00"),              // '25 hours'
        (1, -1, 0, "1 mon -1 days"),                // '1 mon -1 day'
        (0, 0, -(HOUR + 30 * MINUTE), "-01:30:00"), // '-1:30'
        (0, 0, 0, "00:00:00"),                      // '0'
        (
            14,
            3,
            4 * HOUR + 5 * MINUTE + 6 * SECOND + 500_000,
            "1 year 2 mons 3 days 04:05:06.5",
        ),
        (0, -1, 2 * HOUR, "-1 days +02:00:00"), // '-1 days 2 hours'
        (
            -14,
            3,
            -(4 * HOUR + 5 * MINUTE + 6 * SECOND),
            "-1 years -2 mons +3 days -04:05:06",
        ),
        (12, 0, 0, "1 year"),
        (24, 0, 0, "2 years"),
        (-1, 0, 0, "-1 mons"),
        (-13, 0, 0, "-1 years -1 mons"),
        (0, -1, 0, "-1 days"),
        (-1, 1, 0, "-1 mons +1 day"),
        (0, 1, -HOUR, "1 day -01:00:00"),
        (0, 2, 0, "2 days"),
        (0, 0, 500_000, "00:00:00.5"),
        (0, 0, -1, "-00:00:00.000001"),
        (0, 0, 90 * SECOND + 120_000, "00:01:30.12"),
        (0, 0, i64::MAX, "2562047788:00:54.775807"),
        (0, 0, i64::MIN, "-2562047788:00:54.775808"),
        (i32::MAX, i32::MAX, i64::MAX, "infinity"),
        (i32::MIN, i32::MIN, i64::MIN, "-infinity"),
        (
            i32::MIN,
            i32::MIN,
            i64::MIN + 1,
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775807",
        ),
    ];
    for &(months, days, micros, expected) in cases {
        assert_eq!(
            text(months, days, micros),
            expected,
            "{months} {days} {micros}"
        );
    }
}

#[test]
fn the_longest_text_fits_the_column_length() {
    let longest = text(i32::MIN, i32::MIN, i64::MIN + 1);
    let column =
        crate::mysql::translate::column_type(crate::mysql::translate::types::oid::INTERVAL)
            .expect("interval column");
    assert!(longest.len() <= column.length as usize);
}
