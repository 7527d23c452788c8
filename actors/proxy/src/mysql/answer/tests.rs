use super::*;
use molt_lms_wire::mysql::codec::{put_lenenc_int, put_lenenc_str};
use molt_lms_wire::mysql::packet::put_packet;

const EOF41: u32 = CLIENT_PROTOCOL_41;
const DEPRECATE: u32 = CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF;

fn packet(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_packet(&mut out, 1, |o| o.extend_from_slice(payload));
    out
}

fn column_def(name: &str, code: u8, charset: u16, flags: u16) -> Vec<u8> {
    let mut o = Vec::new();
    for s in ["def", "db", "t", "t", name, name] {
        put_lenenc_str(&mut o, s.as_bytes());
    }
    put_lenenc_int(&mut o, 0x0c);
    o.extend_from_slice(&charset.to_le_bytes());
    o.extend_from_slice(&10u32.to_le_bytes());
    o.push(code);
    o.extend_from_slice(&flags.to_le_bytes());
    o.extend_from_slice(&[0, 0, 0]);
    o
}

fn read(caps: u32, packets: &[Vec<u8>]) -> Vec<StmtResult> {
    let mut a = MySqlAnswer::new(1 << 20, false, (caps, 0));
    for p in packets {
        a.observe_packet(&packet(p));
    }
    a.finish()
}

#[test]
fn ok_and_err_answers() {
    let r = read(DEPRECATE, &[vec![0, 3, 0, 2, 0, 0, 0]]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].end, StmtEnd::Complete("OK 3".into()));
    let mut err = vec![0xFF];
    err.extend_from_slice(&1062u16.to_le_bytes());
    err.extend_from_slice(b"#23505duplicate key");
    let r = read(DEPRECATE, &[err]);
    match &r[0].end {
        StmtEnd::Error { code, message, .. } => {
            assert_eq!(code, "1062", "errors compare by errno");
            assert_eq!(message, "(23505) duplicate key");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_rows_compare_by_class_and_normalized_value_with_and_without_eof() {
    let text_cols = |caps| {
        let mut packets = vec![vec![2]];
        packets.push(column_def("a", MYSQL_TYPE_LONG, 63, 0));
        packets.push(column_def("ts", MYSQL_TYPE_DATETIME, 63, 0));
        if caps == EOF41 {
            packets.push(vec![0xFE, 0, 0, 2, 0]);
        }
        let mut row = Vec::new();
        put_lenenc_str(&mut row, b"7");
        put_lenenc_str(&mut row, b"2024-01-01 00:00:00.500000");
        packets.push(row);
        packets.push(
            vec![0xFB]
                .into_iter()
                .chain({
                    let mut v = Vec::new();
                    put_lenenc_str(&mut v, b"2024-01-01 00:00:00");
                    v
                })
                .collect(),
        );
        packets.push(if caps == EOF41 {
            vec![0xFE, 0, 0, 2, 0]
        } else {
            vec![0xFE, 0, 0, 2, 0, 0, 0]
        });
        read(caps, &packets)
    };
    for caps in [EOF41, DEPRECATE] {
        let r = text_cols(caps);
        assert_eq!(r.len(), 1, "{r:?}");
        let cols: Vec<u32> = r[0]
            .columns
            .as_ref()
            .expect("columns")
            .iter()
            .map(|c| c.type_id)
            .collect();
        assert_eq!(cols, vec![INTEGER, DATETIME]);
        assert_eq!(r[0].rows.count, 2);
        assert_eq!(
            r[0].rows.kept[0],
            vec![Some(b"7".to_vec()), Some(b"2024-01-01 00:00:00.5".to_vec())]
        );
        assert_eq!(r[0].rows.kept[1][0], None);
        assert_eq!(r[0].end, StmtEnd::Complete("rows".into()));
    }
}

#[test]
fn binary_rows_are_decoded_by_column_type() {
    let mut packets = vec![vec![4]];
    packets.push(column_def("i", MYSQL_TYPE_LONGLONG, 63, 0));
    packets.push(column_def("u", MYSQL_TYPE_TINY, 63, UNSIGNED_FLAG));
    packets.push(column_def("d", MYSQL_TYPE_DATETIME, 63, 0));
    packets.push(column_def("s", MYSQL_TYPE_VAR_STRING, 45, 0));
    let mut row = vec![0, 0b0010_0000];
    row.extend_from_slice(&(-5i64).to_le_bytes());
    row.push(250);
    row.extend_from_slice(&[11, 0xE8, 0x07, 2, 29, 1, 2, 3]);
    row.extend_from_slice(&500_000u32.to_le_bytes());
    packets.push(row);
    packets.push(vec![0xFE, 0, 0, 2, 0, 0, 0]);
    let r = read(DEPRECATE, &packets);
    assert_eq!(
        r[0].rows.kept[0],
        vec![
            Some(b"-5".to_vec()),
            Some(b"250".to_vec()),
            Some(b"2024-02-29 01:02:03.5".to_vec()),
            None
        ]
    );
}

#[test]
fn a_prepared_statements_answer_is_one_result_whatever_its_definitions() {
    let mut ok = vec![0, 9, 0, 0, 0];
    ok.extend_from_slice(&1u16.to_le_bytes());
    ok.extend_from_slice(&2u16.to_le_bytes());
    ok.extend_from_slice(&[0, 0, 0]);
    let defs = vec![
        ok.clone(),
        column_def("?", MYSQL_TYPE_VAR_STRING, 63, 0),
        column_def("?", MYSQL_TYPE_VAR_STRING, 63, 0),
        vec![0xFE, 0, 0, 2, 0],
        column_def("c", MYSQL_TYPE_LONG, 63, 0),
        vec![0xFE, 0, 0, 2, 0],
    ];
    let r = read(EOF41, &defs);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].end, StmtEnd::Complete("prepared".into()));
    let r = read(
        DEPRECATE,
        &[
            ok,
            column_def("?", 253, 63, 0),
            column_def("?", 253, 63, 0),
            column_def("c", 3, 63, 0),
        ],
    );
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].end, StmtEnd::Complete("prepared".into()));
}

#[test]
fn multiple_results_and_garbage_never_panic() {
    let r = read(
        DEPRECATE,
        &[vec![0, 1, 0, 0x0A, 0, 0, 0], vec![0, 2, 0, 2, 0, 0, 0]],
    );
    assert_eq!(r.len(), 2);
    for junk in [
        vec![],
        vec![0xFE],
        vec![3, 1, 2],
        vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        let _ = read(EOF41, &[junk.clone(), junk.clone(), junk]);
    }
}
