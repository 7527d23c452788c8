use super::*;

fn layout(kinds: &[Kind]) -> Layout {
    Layout {
        names: (0..kinds.len()).map(|i| format!("c{i}")).collect(),
        kinds: kinds.to_vec(),
        key_len: 1,
    }
}

fn row(vals: &[Option<&str>]) -> Row {
    vals.iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn equal_ranges_in_any_order_match_by_checksum() {
    let l = layout(&[Kind::Exact, Kind::Exact]);
    let a = vec![row(&[Some("1"), Some("x")]), row(&[Some("2"), None])];
    let b = vec![a[1].clone(), a[0].clone()];
    assert_eq!(l.compare_range(&a, &b), None);
}

#[test]
fn a_missing_an_extra_and_a_mismatched_row_are_each_named() {
    let l = layout(&[Kind::Exact, Kind::Exact]);
    let src = vec![
        row(&[Some("1"), Some("a")]),
        row(&[Some("2"), Some("b")]),
        row(&[Some("3"), Some("c")]),
    ];
    let tgt = vec![
        row(&[Some("1"), Some("a")]),
        row(&[Some("3"), Some("C")]),
        row(&[Some("4"), Some("d")]),
    ];
    let diffs = l.compare_range(&src, &tgt).expect("checksums differ");
    let kinds: Vec<_> = diffs.iter().map(|d| (d.kind, d.key[0].1.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            (RowDiffKind::Missing, Some("2".into())),
            (RowDiffKind::Mismatched, Some("3".into())),
            (RowDiffKind::Extra, Some("4".into())),
        ]
    );
    assert_eq!(
        diffs[1].columns,
        vec![ColumnDiff {
            column: "c1".into(),
            source: Some("c".into()),
            target: Some("C".into())
        }]
    );
}

#[test]
fn null_and_empty_text_differ() {
    let l = layout(&[Kind::Exact, Kind::Exact]);
    let diffs = l
        .compare_range(&[row(&[Some("1"), None])], &[row(&[Some("1"), Some("")])])
        .expect("differs");
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].kind, RowDiffKind::Mismatched);
}

#[test]
fn floats_within_the_tolerance_are_equal_and_beyond_it_differ() {
    let l = layout(&[Kind::Exact, Kind::Float]);
    let src = vec![
        row(&[Some("1"), Some("0.1")]),
        row(&[Some("2"), Some("3.5")]),
    ];
    let same = vec![
        row(&[Some("1"), Some("0.10000000000000001")]),
        row(&[Some("2"), Some("3.5")]),
    ];
    assert!(l.compare_range(&src, &same).is_none_or(|d| d.is_empty()));
    let other = vec![
        row(&[Some("1"), Some("0.1001")]),
        row(&[Some("2"), Some("3.5")]),
    ];
    assert_eq!(l.compare_range(&src, &other).expect("differs").len(), 1);
}

#[test]
fn a_checksum_match_implies_the_values_are_within_the_tolerance() {
    let l = layout(&[Kind::Float]);
    for (a, b) in [("1.0000004", "1.0000014"), ("123456.7", "123456.8")] {
        let (x, y): (f64, f64) = (a.parse().expect("float"), b.parse().expect("float"));
        let hashed_alike = l.checksum(&[row(&[Some(a)])]) == l.checksum(&[row(&[Some(b)])]);
        if hashed_alike {
            assert!(value_eq(Kind::Float, Some(a), Some(b)), "{a} {b}");
        }
        assert!(((x - y) / x).abs() < 1e-5);
    }
}

#[test]
fn mysql_booleans_and_utc_offsets_compare_equal_to_postgresql_text() {
    let l = layout(&[Kind::Exact, Kind::Bool, Kind::Timestamp]);
    let mysql = vec![row(&[
        Some("1"),
        Some("1"),
        Some("2024-01-02 03:04:05.000000"),
    ])];
    let pg = vec![row(&[Some("1"), Some("t"), Some("2024-01-02 03:04:05+00")])];
    assert_eq!(l.compare_range(&mysql, &pg), None);
    let pg_false = vec![row(&[Some("1"), Some("f"), Some("2024-01-02 03:04:05+00")])];
    assert_eq!(
        l.compare_range(&mysql, &pg_false).expect("differs").len(),
        1
    );
    let l = layout(&[Kind::Timestamp]);
    let a = vec![row(&[Some("2024-01-02 03:04:05.120000")])];
    assert_eq!(
        l.compare_range(&a, &[row(&[Some("2024-01-02 03:04:05.12+00")])]),
        None
    );
    assert!(l
        .compare_range(&a, &[row(&[Some("2024-01-02 03:04:05.1")])])
        .is_some());
}
