use super::*;

#[test]
fn the_mappings_clients_act_on() {
    let cases = [
        ("23505", 1062),
        ("23503", 1452),
        ("23502", 1048),
        ("23514", 3819),
        ("42P01", 1146),
        ("42703", 1054),
        ("42601", 1064),
        ("42883", 1305),
        ("42P07", 1050),
        ("42701", 1060),
        ("42P04", 1007),
        ("3D000", 1049),
        ("3F000", 1049),
        ("42501", 1142),
        ("28P01", 1045),
        ("28000", 1045),
        ("40P01", 1213),
        ("40001", 1213),
        ("55P03", 1205),
        ("57014", 1317),
        ("22012", 1365),
        ("22001", 1406),
        ("22003", 1264),
        ("22P02", 1366),
        ("22007", 1292),
        ("22008", 1292),
        ("25P02", 1105),
        ("25001", 1568),
        ("0A000", 1235),
        ("53300", 1040),
        ("57P01", 1053),
    ];
    for (state, expected) in cases {
        assert_eq!(errno(state), expected, "{state}");
    }
}

#[test]
fn class_fallbacks_and_the_default() {
    let cases = [
        ("57P02", 1053),
        ("57P03", 1053),
        ("08006", 1158),
        ("08P01", 1158),
        ("22023", 1292),
        ("42804", 1064),
        ("23000", 1105),
        ("40002", 1105),
        ("XX000", 1105),
        ("57000", 1105),
        ("", 1105),
        ("2", 1105),
        ("not a sqlstate", 1105),
    ];
    for (state, expected) in cases {
        assert_eq!(errno(state), expected, "{state:?}");
    }
}

#[test]
fn never_zero_and_no_duplicates() {
    for (i, (state, errno, name)) in TABLE.iter().enumerate() {
        assert_ne!(*errno, 0, "{state}");
        assert_eq!(state.len(), 5, "{state}");
        assert!(!name.is_empty(), "{state}");
        assert!(
            TABLE.iter().skip(i + 1).all(|(s, _, _)| s != state),
            "duplicate {state}"
        );
    }
    assert!(FALLBACKS.iter().all(|(_, errno)| *errno != 0));
}

#[test]
fn the_doc_table_lists_every_row() {
    let doc = include_str!("../sqlstate.rs");
    for (state, errno, name) in TABLE {
        let row = format!("//! | {state} | {name} | {errno} |");
        assert!(doc.lines().any(|l| l.starts_with(&row)), "{row}");
    }
}
