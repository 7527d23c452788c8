use super::*;

#[test]
fn literals_become_placeholders() {
    assert_eq!(
        normalize("SELECT * FROM t WHERE id = 42 AND name = 'it''s' AND x > -1.5e3"),
        "select * from t where id = ? and name = ? and x > -?"
    );
    assert_eq!(
        Fingerprint::of("select 1").id,
        Fingerprint::of("SELECT   2;").id
    );
}

#[test]
fn identifiers_parameters_and_quotes_survive() {
    assert_eq!(
        normalize("UPDATE t1 SET \"Col2\" = $1 WHERE k = $2"),
        "update t1 set \"Col2\" = $1 where k = $2"
    );
    assert_eq!(normalize("select $$a 'b'$$, $x$y$x$"), "select ?, ?");
    assert_eq!(
        normalize("select E'a\\'b', e2 from t"),
        "select ?, e2 from t"
    );
}

#[test]
fn comments_and_whitespace_collapse() {
    assert_eq!(
        normalize("select /* hint */ a,\n\t b -- trailing\nfrom t"),
        "select a, b from t"
    );
}

#[test]
fn long_text_is_cut_but_keeps_a_full_id() {
    let long = format!("select '{}' , {}", "x", "a, ".repeat(1000));
    let f = Fingerprint::of(&long);
    assert!(f.text.len() <= MAX_TEXT + '…'.len_utf8());
    assert_ne!(f.id, Fingerprint::of(&long.replace("a, ", "b, ")).id);
}
