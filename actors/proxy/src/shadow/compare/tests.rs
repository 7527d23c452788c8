use super::*;

const BUDGET: usize = 1 << 20;

fn stmt(cols: &[(&str, u32)], rows: &[&[Option<&str>]], tag: &str) -> StmtResult {
    let mut s = StmtResult {
        columns: Some(
            cols.iter()
                .map(|(n, t)| Column {
                    name: (*n).into(),
                    type_id: *t,
                })
                .collect(),
        ),
        ..StmtResult::default()
    };
    for r in rows {
        s.rows.push(r.iter().map(|f| f.map(str::as_bytes)), BUDGET);
    }
    s.end = StmtEnd::Complete(tag.into());
    s
}

fn err(code: &str) -> StmtResult {
    StmtResult {
        end: StmtEnd::Error {
            code: code.into(),
            message: format!("failed with {code}"),
            raw: Vec::new(),
        },
        ..StmtResult::default()
    }
}

const COLS: &[(&str, u32)] = &[("id", 23), ("v", 25)];

#[test]
fn identical_answers_match() {
    let a = stmt(
        COLS,
        &[&[Some("1"), Some("a")], &[Some("2"), None]],
        "SELECT 2",
    );
    let c = compare(
        std::slice::from_ref(&a),
        std::slice::from_ref(&a),
        Rules::default(),
    );
    assert_eq!(c.outcome, ShadowOutcome::Matched);
}

#[test]
fn without_order_by_rows_compare_as_a_set() {
    let a = stmt(
        COLS,
        &[&[Some("1"), Some("a")], &[Some("2"), Some("b")]],
        "SELECT 2",
    );
    let b = stmt(
        COLS,
        &[&[Some("2"), Some("b")], &[Some("1"), Some("a")]],
        "SELECT 2",
    );
    assert_eq!(
        compare(
            std::slice::from_ref(&a),
            std::slice::from_ref(&b),
            Rules::default()
        )
        .outcome,
        ShadowOutcome::Matched
    );
    let ordered = Rules::for_query("select * from t ORDER  BY id");
    let c = compare(&[a], &[b], ordered);
    assert_eq!(c.outcome, ShadowOutcome::Mismatched);
    assert_eq!(c.differed, "rows");
    assert_eq!(c.sot_value.as_deref(), Some("('1', 'a')"));
    assert_eq!(c.shadow_value.as_deref(), Some("('2', 'b')"));
}

#[test]
fn one_differing_row_is_shown_from_both_sides() {
    let a = stmt(
        COLS,
        &[&[Some("1"), Some("a")], &[Some("2"), Some("b")]],
        "SELECT 2",
    );
    let b = stmt(
        COLS,
        &[&[Some("1"), Some("a")], &[Some("2"), Some("B")]],
        "SELECT 2",
    );
    let c = compare(&[a], &[b], Rules::default());
    assert_eq!(c.outcome, ShadowOutcome::Mismatched);
    assert_eq!(c.sot_value.as_deref(), Some("('2', 'b')"));
    assert_eq!(c.shadow_value.as_deref(), Some("('2', 'B')"));
    assert!(
        c.detail.contains("1 row(s) only on the source of truth"),
        "{}",
        c.detail
    );
}

#[test]
fn tags_counts_and_columns_are_compared() {
    let a = stmt(COLS, &[], "UPDATE 1");
    let b = stmt(COLS, &[], "UPDATE 0");
    assert_eq!(
        compare(&[a], &[b], Rules::default()).differed,
        "command_tag"
    );
    let a = stmt(COLS, &[&[Some("1"), None]], "SELECT 1");
    let b = stmt(COLS, &[], "SELECT 0");
    assert_eq!(
        compare(std::slice::from_ref(&a), &[b], Rules::default()).differed,
        "row_count"
    );
    let b = stmt(&[("id", 20), ("v", 25)], &[&[Some("1"), None]], "SELECT 1");
    assert_eq!(compare(&[a], &[b], Rules::default()).differed, "columns");
}

#[test]
fn errors_follow_the_documented_matrix() {
    let ok = stmt(COLS, &[], "INSERT 0 1");
    assert_eq!(
        compare(std::slice::from_ref(&ok), &[err("23514")], Rules::default()).outcome,
        ShadowOutcome::ShadowError
    );
    let c = compare(&[err("23514")], &[ok], Rules::default());
    assert_eq!(
        (c.outcome, c.differed),
        (ShadowOutcome::Mismatched, "error")
    );
    assert_eq!(
        compare(&[err("42P01")], &[err("42P01")], Rules::default()).outcome,
        ShadowOutcome::Matched
    );
    assert_eq!(
        compare(&[err("42P01")], &[err("42703")], Rules::default()).outcome,
        ShadowOutcome::Mismatched
    );
}

#[test]
fn float_text_and_volatile_functions_are_benign() {
    let cols = &[("id", 23), ("f", 701)];
    let a = stmt(cols, &[&[Some("1"), Some("0.1")]], "SELECT 1");
    let b = stmt(
        cols,
        &[&[Some("1"), Some("0.10000000000000001")]],
        "SELECT 1",
    );
    let c = compare(std::slice::from_ref(&a), &[b], Rules::default());
    assert_eq!(
        (c.outcome, c.benign_reason),
        (ShadowOutcome::Benign, Some("float"))
    );
    let b = stmt(cols, &[&[Some("1"), Some("0.2")]], "SELECT 1");
    assert_eq!(
        compare(
            std::slice::from_ref(&a),
            std::slice::from_ref(&b),
            Rules::default()
        )
        .outcome,
        ShadowOutcome::Mismatched
    );
    let c = compare(
        std::slice::from_ref(&a),
        std::slice::from_ref(&b),
        Rules::for_query("select 1, random() from t"),
    );
    assert_eq!(
        (c.outcome, c.benign_reason),
        (ShadowOutcome::Benign, Some("volatile"))
    );
    // MySQL's own, for MySQL sessions.
    for q in [
        "SELECT UUID()",
        "select rand() from t",
        "SELECT @@version",
        "SELECT SYSDATE()",
    ] {
        assert!(Rules::for_query(q).volatile, "{q}");
    }
    let c = compare(
        &[a],
        &[b],
        Rules::for_query("SELECT id, UNIX_TIMESTAMP() FROM t"),
    );
    assert_eq!(c.benign_reason, Some("volatile"));
}

#[test]
fn past_the_budget_only_hashes_are_compared() {
    let mut a = StmtResult::default();
    let mut b = StmtResult::default();
    for i in 0..100 {
        let v = i.to_string();
        a.rows.push([Some(v.as_bytes())].into_iter(), 64);
        let w = if i == 50 { "x".to_owned() } else { v.clone() };
        b.rows.push([Some(w.as_bytes())].into_iter(), 64);
    }
    assert!(!a.rows.hashes_complete);
    let c = compare(&[a], &[b], Rules::default());
    assert_eq!(c.outcome, ShadowOutcome::Mismatched);
    assert!(c.detail.contains("budget"), "{}", c.detail);
}

#[test]
fn volatile_functions_are_whole_words_called() {
    for q in [
        "select now ( )",
        "select now()",
        "SELECT CURRENT_DATE",
        "select version()",
        "select random() * 2",
        "select @@session.time_zone",
    ] {
        assert!(Rules::for_query(q).volatile, "{q}");
    }
    for q in [
        "select nowhere() from t",
        "select t.version from t",
        "select * from t_current_date",
        "select id from uuids where uuid = $1",
        "select a from t where a @ b",
    ] {
        assert!(!Rules::for_query(q).volatile, "{q}");
    }
}
