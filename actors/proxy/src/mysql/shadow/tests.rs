use super::*;
use molt_lms_wire::mysql::consts::capability::{CLIENT_DEPRECATE_EOF, CLIENT_PROTOCOL_41};

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_packet(&mut out, seq, |o| o.extend_from_slice(payload));
    out
}

#[test]
fn messages_are_packets_and_continuations_are_refused() {
    let p = packet(0, b"\x03SELECT 1");
    assert_eq!(
        MySqlShadow::next_message(&p).expect("frames"),
        Some(p.len())
    );
    assert_eq!(MySqlShadow::next_message(&p[..5]).expect("frames"), None);
    let big = [0xFF, 0xFF, 0xFF, 0];
    let e = MySqlShadow::next_message(&big).expect_err("continuation");
    assert!(e.is_too_large());
}

#[test]
fn commands_classify_as_requests() {
    let q = packet(0, b"\x03SELECT 1");
    assert_eq!(
        MySqlShadow::classify(&q).expect("query"),
        ClientMsg::Query("SELECT 1")
    );
    let p = prepare_as(7, b"SELECT ?");
    assert_eq!(
        MySqlShadow::classify(&p).expect("prepare"),
        ClientMsg::PrepareId {
            id: 7,
            text: "SELECT ?"
        }
    );
    let mut e = vec![COM_STMT_EXECUTE];
    e.extend_from_slice(&7u32.to_le_bytes());
    e.extend_from_slice(&[0, 1, 0, 0, 0]);
    assert_eq!(
        MySqlShadow::classify(&packet(0, &e)).expect("execute"),
        ClientMsg::ExecuteId { id: 7 }
    );
    let mut c = vec![COM_STMT_CLOSE];
    c.extend_from_slice(&7u32.to_le_bytes());
    assert_eq!(
        MySqlShadow::classify(&packet(0, &c)).expect("close"),
        ClientMsg::Other
    );
    assert_eq!(
        MySqlShadow::classify(&packet(0, &[COM_PING])).expect("ping"),
        ClientMsg::End
    );
    assert_eq!(
        MySqlShadow::classify(&packet(0, &[COM_QUIT])).expect("quit"),
        ClientMsg::Quit
    );
    assert!(MySqlShadow::classify(&packet(0, &[])).is_err());
    assert!(MySqlShadow::classify(&packet(0, &[COM_STMT_EXECUTE, 1])).is_err());
}

#[test]
fn the_framer_finds_each_answers_end_from_what_was_asked() {
    let mut f = MySqlShadow::framer((CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF, 0));
    f.request(&packet(0, b"\x03SELECT 1")).expect("query");
    f.request(&prepare_as(3, b"SELECT 2")).expect("prepare");
    // A one-column result set: count, definition, a row, the OK that ends it.
    let steps: Vec<AnswerStep> = [
        vec![1],
        {
            let mut d = Vec::new();
            for s in ["def", "", "", "", "1", ""] {
                molt_lms_wire::mysql::codec::put_lenenc_str(&mut d, s.as_bytes());
            }
            d.extend_from_slice(&[0x0c, 63, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            d
        },
        vec![1, b'1'],
        vec![0xFE, 0, 0, 2, 0, 0, 0],
    ]
    .iter()
    .map(|p| f.step(&packet(1, p)).expect("step"))
    .collect();
    assert_eq!(
        steps,
        vec![
            AnswerStep::Part { client_now: false },
            AnswerStep::Part { client_now: false },
            AnswerStep::Part { client_now: false },
            AnswerStep::End(crate::protocol::TxState::Idle),
        ]
    );
    // The prepare's answer: PREPARE_OK with no parameters or columns ends it.
    let ok = [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        f.step(&packet(1, &ok)).expect("step"),
        AnswerStep::End(crate::protocol::TxState::Idle)
    );
}

#[test]
fn a_cancelled_statement_is_known_by_either_number() {
    let cancelled = |code: &str| StmtResult {
        end: StmtEnd::Error {
            code: code.into(),
            message: String::new(),
            raw: Vec::new(),
        },
        ..StmtResult::default()
    };
    assert!(MySqlShadow::cancelled(&cancelled("1317")));
    assert!(!MySqlShadow::cancelled(&cancelled("1062")));
}
