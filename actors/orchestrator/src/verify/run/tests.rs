use super::*;

fn shape(cols: &[(&str, &str)], key: &[&str]) -> Shape {
    Shape {
        columns: cols
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        key: key.iter().map(|k| k.to_string()).collect(),
    }
}

#[test]
fn the_key_comes_first_and_kinds_follow_both_types() {
    let s = shape(
        &[
            ("v", "double"),
            ("flag", "tinyint"),
            ("Id", "bigint"),
            ("b", "varbinary"),
        ],
        &["Id"],
    );
    let t = shape(
        &[
            ("id", "bigint"),
            ("v", "double precision"),
            ("flag", "boolean"),
            ("b", "bytea"),
        ],
        &["id"],
    );
    let p = line_up(&s, &t, true).expect("same columns");
    assert_eq!(p.source_cols, ["Id", "v", "flag", "b"]);
    assert_eq!(p.target_cols, ["id", "v", "flag", "b"]);
    assert_eq!(
        p.layout.kinds,
        [Kind::Exact, Kind::Float, Kind::Bool, Kind::Exact]
    );
    assert_eq!(p.binary, [false, false, false, true]);
    assert_eq!(p.layout.key_len, 1);
}

#[test]
fn postgresql_names_are_case_sensitive_and_differing_columns_are_a_finding() {
    let s = shape(&[("id", "integer"), ("Name", "text")], &["id"]);
    let t = shape(&[("id", "integer"), ("name", "text")], &["id"]);
    let err = line_up(&s, &t, false).err().expect("a finding");
    assert!(err.contains("only on the source [Name]"), "{err}");
    assert!(err.contains("only on the target [name]"), "{err}");
    let no_key = shape(&[("x", "integer")], &[]);
    let keyed = shape(&[("id", "integer")], &["id"]);
    assert!(line_up(&keyed, &no_key, false)
        .err()
        .expect("finding")
        .contains("primary-key column id"));
}

#[test]
fn table_filters_match_a_bare_or_a_qualified_name() {
    let t = TableName {
        schema: "public".into(),
        name: "orders".into(),
    };
    assert!(selected(&[], &t));
    assert!(selected(&["orders".into()], &t));
    assert!(selected(&["public.orders".into()], &t));
    assert!(!selected(&["other.orders".into()], &t));
    assert!(!selected(&["order".into()], &t));
}

#[test]
fn dates_and_times_of_both_kinds_are_compared_as_timestamps() {
    for (s, t) in [
        ("timestamp", "timestamp with time zone"),
        ("datetime", "timestamp without time zone"),
        ("time", "time without time zone"),
    ] {
        assert_eq!(kind(s, t), Kind::Timestamp, "{s} {t}");
    }
    assert_eq!(kind("date", "date"), Kind::Exact);
    assert_eq!(kind("real", "real"), Kind::Float);
    assert_eq!(kind("tinyint", "boolean"), Kind::Bool);
}
