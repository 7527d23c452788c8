use super::*;

fn d(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

/// Hinnant's inverse, to check `civil_from_days` against.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - DAYS_0000_03_01_TO_2000_01_01
}

#[test]
fn known_dates() {
    let cases = [
        (0, d(2000, 1, 1)),
        (-1, d(1999, 12, 31)),
        (8825, d(2024, 2, 29)),
        (-730_119, d(1, 1, 1)),
        (2_921_939, d(9999, 12, 31)),
        (-10_957, d(1970, 1, 1)),
        (-36_465, d(1900, 3, 1)),
        (-730_120, d(0, 12, 31)),
    ];
    for (days, expected) in cases {
        assert_eq!(date(days), Ok(expected), "{days}");
    }
}

#[test]
fn every_day_round_trips_and_follows_the_previous_one() {
    let mut previous = civil_from_days(-1_000_001).expect("date");
    for days in -1_000_000..3_000_000i64 {
        let now = civil_from_days(days).expect("date");
        assert_eq!(
            days_from_civil(now.year.into(), now.month.into(), now.day.into()),
            days
        );
        let next_day = now.day == previous.day + 1 && now.month == previous.month;
        let next_month = now.day == 1 && (now.month == previous.month + 1 || now.month == 1);
        assert!(next_day || next_month, "{previous:?} then {now:?}");
        previous = now;
    }
}

#[test]
fn extreme_dates_do_not_overflow() {
    let last = date(i32::MAX - 1).expect("date");
    assert_eq!(
        days_from_civil(last.year.into(), last.month.into(), last.day.into()),
        i64::from(i32::MAX - 1)
    );
    let first = date(i32::MIN + 1).expect("date");
    assert_eq!(
        days_from_civil(first.year.into(), first.month.into(), first.day.into()),
        i64::from(i32::MIN + 1)
    );
    assert!(timestamp(i64::MAX - 1).is_ok());
    assert!(timestamp(i64::MIN + 1).is_ok());
}

#[test]
fn infinities_are_unrepresentable() {
    for days in [i32::MAX, i32::MIN] {
        assert!(matches!(
            date(days),
            Err(TranslateError::Unrepresentable { .. })
        ));
    }
    for micros in [i64::MAX, i64::MIN] {
        assert!(matches!(
            timestamp(micros),
            Err(TranslateError::Unrepresentable { .. })
        ));
    }
}

#[test]
fn times_of_day() {
    let t = |hour, minute, second, micro| Time {
        hour,
        minute,
        second,
        micro,
    };
    assert_eq!(time(0), Ok(t(0, 0, 0, 0)));
    assert_eq!(time(MICROS_PER_DAY), Ok(t(24, 0, 0, 0)));
    assert_eq!(
        time(((13 * 60 + 14) * 60 + 15) * MICROS_PER_SECOND + 16),
        Ok(t(13, 14, 15, 16))
    );
    assert_eq!(time(MICROS_PER_DAY - 1), Ok(t(23, 59, 59, 999_999)));
    assert_eq!(time(-1), Err(TranslateError::Malformed("time")));
    assert_eq!(
        time(MICROS_PER_DAY + 1),
        Err(TranslateError::Malformed("time"))
    );
}

#[test]
fn timestamps_before_2000_count_back_from_midnight() {
    let ts = timestamp(-1).expect("timestamp");
    assert_eq!(ts.date, d(1999, 12, 31));
    assert_eq!(
        ts.time,
        Time {
            hour: 23,
            minute: 59,
            second: 59,
            micro: 999_999
        }
    );
    let ts = timestamp(-MICROS_PER_DAY).expect("timestamp");
    assert_eq!((ts.date, ts.time), (d(1999, 12, 31), Time::default()));
}

fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    f(&mut out);
    String::from_utf8(out).expect("ASCII")
}

#[test]
fn mysql_text_forms() {
    let noon = Time {
        hour: 12,
        minute: 0,
        second: 0,
        micro: 0,
    };
    let half = Time {
        micro: 500_000,
        ..noon
    };
    assert_eq!(text(|o| push_mysql_date(o, &d(2024, 2, 29))), "2024-02-29");
    assert_eq!(text(|o| push_mysql_date(o, &d(1, 1, 1))), "0001-01-01");
    assert_eq!(text(|o| push_mysql_date(o, &d(-44, 3, 15))), "-0044-03-15");
    assert_eq!(text(|o| push_mysql_date(o, &d(12345, 1, 1))), "12345-01-01");
    assert_eq!(text(|o| push_mysql_time(o, &noon)), "12:00:00");
    assert_eq!(text(|o| push_mysql_time(o, &half)), "12:00:00.500000");
    let ts = Timestamp {
        date: d(1999, 12, 31),
        time: half,
    };
    assert_eq!(
        text(|o| push_mysql_datetime(o, &ts)),
        "1999-12-31 12:00:00.500000"
    );
}

#[test]
fn postgres_text_forms() {
    let half = Time {
        hour: 1,
        minute: 2,
        second: 3,
        micro: 450_000,
    };
    assert_eq!(text(|o| push_pg_date(o, &d(2024, 2, 29))), "2024-02-29");
    assert_eq!(text(|o| push_pg_date(o, &d(0, 12, 31))), "0001-12-31 BC");
    assert_eq!(text(|o| push_pg_date(o, &d(-43, 3, 15))), "0044-03-15 BC");
    assert_eq!(text(|o| push_pg_time(o, &half)), "01:02:03.45");
    let ts = Timestamp {
        date: d(0, 1, 1),
        time: half,
    };
    assert_eq!(
        text(|o| push_pg_timestamp(o, &ts, false)),
        "0001-01-01 01:02:03.45 BC"
    );
    assert_eq!(
        text(|o| push_pg_timestamp(o, &ts, true)),
        "0001-01-01 01:02:03.45+00 BC"
    );
}
