use super::*;

fn tr(sql: &str) -> (String, usize) {
    let t = translate(sql);
    (t.text, t.params)
}

fn same(sql: &str) {
    assert_eq!(tr(sql), (sql.to_string(), 0), "{sql}");
}

#[test]
fn placeholders_are_numbered() {
    assert_eq!(tr("SELECT ?"), ("SELECT $1".into(), 1));
    assert_eq!(
        tr("INSERT INTO t VALUES (?,?, ?)"),
        ("INSERT INTO t VALUES ($1,$2, $3)".into(), 3)
    );
    let many = ["?"; 12].join(",");
    let expected: Vec<String> = (1..=12).map(|i| format!("${i}")).collect();
    assert_eq!(tr(&many), (expected.join(","), 12));
    assert_eq!(tr("?"), ("$1".into(), 1));
    assert_eq!(tr(""), (String::new(), 0));
}

#[test]
fn question_marks_in_strings_and_comments_stay() {
    same("SELECT 'it''s ?'");
    assert_eq!(
        tr("SELECT 'it''s ?', ?"),
        ("SELECT 'it''s ?', $1".into(), 1)
    );
    same(r#"SELECT "a?""#);
    assert_eq!(tr("SELECT 1 -- ?\n, ?"), ("SELECT 1 -- ?\n, $1".into(), 1));
    assert_eq!(tr("/* ? */ ?"), ("/* ? */ $1".into(), 1));
    assert_eq!(tr("$$ ? $$ ?"), ("$$ ? $$ $1".into(), 1));
    assert_eq!(
        tr("$fn$ ? $x$ ? $fn$ ?"),
        ("$fn$ ? $x$ ? $fn$ $1".into(), 1)
    );
    same("-- ?");
}

#[test]
fn backslash_escapes_end_strings_where_mysql_ends_them() {
    // MySQL: the string is one quote, then a placeholder. PostgreSQL gets an E-string.
    assert_eq!(tr(r"SELECT '\'' ?"), (r"SELECT E'\'' $1".into(), 1));
    assert_eq!(tr(r"SELECT '\\' ?"), (r"SELECT E'\\' $1".into(), 1));
    assert_eq!(tr(r#"SELECT "\"?" ?"#), (r#"SELECT "\"?" $1"#.into(), 1));
    // An escaped quote cannot end the string early: no injection.
    assert_eq!(
        tr(r"SELECT * FROM t WHERE a = '\' OR 1=1 -- '"),
        (r"SELECT * FROM t WHERE a = E'\' OR 1=1 -- '".into(), 0)
    );
}

#[test]
fn mysql_escapes_keep_their_values_in_e_strings() {
    assert_eq!(
        tr(r#"SELECT 'a\nb\tc\rd\be\0f\Zg\%h\_i\"j\qk\\l''m'"#),
        (
            r#"SELECT E'a\nb\tc\rd\be\000f\x1Ag\\%h\\_i"jqk\\l''m'"#.into(),
            0
        )
    );
    // Bytes that PostgreSQL would read as octal, hex or Unicode escapes lose the
    // backslash, as MySQL reads them.
    assert_eq!(
        tr(r"SELECT '\1\x41\u0041'"),
        ("SELECT E'1x41u0041'".into(), 0)
    );
    assert_eq!(tr("SELECT '\\é'"), ("SELECT E'é'".into(), 0));
    // Strings without a backslash, or after a word, are left alone.
    same("SELECT 'plain'");
    same(r"SELECT N'a\'b'");
    same(r"SELECT _utf8mb4'a\\b'");
}

#[test]
fn backticks_become_double_quotes() {
    assert_eq!(
        tr("SELECT `id` FROM `t`"),
        (r#"SELECT "id" FROM "t""#.into(), 0)
    );
    assert_eq!(
        tr("SELECT `weird``name`"),
        (r#"SELECT "weird`name""#.into(), 0)
    );
    assert_eq!(tr(r#"SELECT `a"b`"#), (r#"SELECT "a""b""#.into(), 0));
    assert_eq!(tr("SELECT `?`, ?"), (r#"SELECT "?", $1"#.into(), 1));
    assert_eq!(tr("SELECT ``"), (r#"SELECT """#.into(), 0));
    assert_eq!(tr("SELECT `ünï`"), (r#"SELECT "ünï""#.into(), 0));
}

#[test]
fn comments_are_kept_in_forms_postgres_reads_the_same() {
    assert_eq!(tr("SELECT 1 # ?\n, ?"), ("SELECT 1 -- ?\n, $1".into(), 1));
    assert_eq!(tr("# only"), ("-- only".into(), 0));
    // MySQL reads `--` without a space after it as two minus signs.
    assert_eq!(tr("SELECT 1--1, ?"), ("SELECT 1- -1, $1".into(), 1));
    assert_eq!(tr("SELECT 1---1"), ("SELECT 1- - -1".into(), 0));
    assert_eq!(tr("SELECT 1--- c\n"), ("SELECT 1- -- c\n".into(), 0));
    assert_eq!(tr("SELECT 1 --\t?\n?"), ("SELECT 1 --\t?\n$1".into(), 1));
    // MySQL's block comments do not nest: it ends at the first `*/`.
    assert_eq!(tr("/* a /* b */ ?"), ("/* a / * b */ $1".into(), 1));
    assert_eq!(tr("/*/* /**/ ?"), ("/*/ * / **/ $1".into(), 1));
    same("/*! 40101 SET NAMES utf8 */");
}

#[test]
fn dollars_inside_words_and_parameters_are_not_quotes() {
    assert_eq!(tr("SELECT a$b$ ?"), ("SELECT a$b$ $1".into(), 1));
    assert_eq!(tr("SELECT $1, ?"), ("SELECT $1, $1".into(), 1));
    same("SELECT $ 1");
}

#[test]
fn unterminated_quotes_and_comments_run_to_the_end() {
    same("SELECT 'abc ?");
    same(r"SELECT 'abc\' ?");
    same("SELECT \"abc ?");
    same("SELECT `abc ?");
    same("SELECT $x$ ?");
    same("SELECT /* ?");
    same("SELECT 'ends with a backslash\\");
    assert_eq!(tr("SELECT ? # ?"), ("SELECT $1 -- ?".into(), 1));
}

#[test]
fn unicode_is_copied_whole() {
    assert_eq!(
        tr("SELECT 'é', ?, `ü`, \"日本\" -- ☃\n"),
        ("SELECT 'é', $1, \"ü\", \"日本\" -- ☃\n".into(), 1)
    );
}

#[test]
fn split_on_semicolons_outside_quotes_and_comments() {
    assert_eq!(
        split_statements("SELECT 1; SELECT 2"),
        ["SELECT 1", "SELECT 2"]
    );
    assert_eq!(
        split_statements("SELECT ';'; SELECT \";\" ; SELECT `a;b`;"),
        ["SELECT ';'", "SELECT \";\"", "SELECT `a;b`"]
    );
    assert_eq!(
        split_statements("SELECT 1 -- c;\n, 2; /* ; */ SELECT 3 # ;\n"),
        ["SELECT 1 -- c;\n, 2", "/* ; */ SELECT 3 # ;"]
    );
    assert_eq!(
        split_statements(
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2"
        ),
        [
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            "SELECT 2"
        ]
    );
    assert_eq!(
        split_statements(r"SELECT '\';'; SELECT 2"),
        [r"SELECT '\';'", "SELECT 2"]
    );
}

#[test]
fn empty_and_comment_only_pieces_are_dropped() {
    assert_eq!(split_statements(" ;; SELECT 1 ;\n\t; "), ["SELECT 1"]);
    assert_eq!(split_statements("SELECT 1; -- bye"), ["SELECT 1"]);
    assert_eq!(split_statements("SELECT 1; /* a */ # b\n"), ["SELECT 1"]);
    assert!(split_statements("").is_empty());
    assert!(split_statements("  ;  ").is_empty());
    assert_eq!(
        split_statements("SELECT 'unterminated; ?"),
        ["SELECT 'unterminated; ?"]
    );
}

#[test]
fn any_prefix_of_tricky_text_is_handled() {
    let tricky = "SELECT `a``b`, 'c''d\\'e', \"f\\\"g\", $t$ h $t$, /* i /* */ j -- k\n# l\n 1--1, ?, 'é'; ü";
    for (end, _) in tricky.char_indices() {
        let prefix = &tricky[..end];
        let t = translate(prefix);
        assert!(t.params <= 1, "{prefix}");
        for piece in split_statements(prefix) {
            assert!(prefix.contains(piece));
        }
    }
}
