use super::*;
use crate::mysql::consts::capability::{CLIENT_PROTOCOL_41, CLIENT_TRANSACTIONS};
use crate::mysql::consts::status::SERVER_STATUS_AUTOCOMMIT;

const CAPS: u32 = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
const CAPS_NO_EOF: u32 = CAPS | CLIENT_DEPRECATE_EOF;
const AUTOCOMMIT: u16 = SERVER_STATUS_AUTOCOMMIT;

fn ok(status: u16) -> Vec<u8> {
    let [a, b] = status.to_le_bytes();
    vec![header::OK, 0, 0, a, b, 0, 0]
}
fn ok_fe(status: u16) -> Vec<u8> {
    let [a, b] = status.to_le_bytes();
    vec![header::EOF, 0, 0, a, b, 0, 0]
}
fn eof(status: u16) -> Vec<u8> {
    let [a, b] = status.to_le_bytes();
    vec![header::EOF, 0, 0, a, b]
}
fn err() -> Vec<u8> {
    let mut p = vec![header::ERR, 0x28, 0x04, b'#'];
    p.extend_from_slice(b"42000boom");
    p
}
fn column() -> Vec<u8> {
    // Starts with the catalog "def" as a length-encoded string.
    vec![
        3, b'd', b'e', b'f', 0, 0, 0, 1, b'a', 1, b'a', 0x0c, 0x21, 0, 0, 0, 0, 3, 0, 0, 0, 0,
    ]
}
fn text_row(v: &[u8]) -> Vec<u8> {
    let mut p = vec![v.len() as u8];
    p.extend_from_slice(v);
    p
}
fn binary_row() -> Vec<u8> {
    vec![0x00, 0x00, 7, 0, 0, 0]
}
fn prepare_ok(columns: u16, params: u16) -> Vec<u8> {
    let mut p = vec![header::OK, 1, 0, 0, 0];
    p.extend_from_slice(&columns.to_le_bytes());
    p.extend_from_slice(&params.to_le_bytes());
    p.extend_from_slice(&[0, 0, 0]);
    p
}

/// Feeds the server packets; every one but the last must be `More`.
fn answer(x: &mut Exchange, packets: &[Vec<u8>]) -> ServerStep {
    let (last, rest) = packets.split_last().expect("packets");
    for (i, p) in rest.iter().enumerate() {
        assert_eq!(x.from_server(p), Ok(ServerStep::More), "packet {i}: {p:?}");
    }
    x.from_server(last).expect("a valid answer")
}

#[test]
fn a_result_set_ends_at_the_eof_after_its_rows() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    assert_eq!(
        x.from_client(b"\x03SELECT a, b FROM t"),
        Ok(ClientStep::Command(COM_QUERY))
    );
    assert!(!x.idle());
    let end = answer(
        &mut x,
        &[
            vec![2],
            column(),
            column(),
            eof(AUTOCOMMIT),
            text_row(b"1"),
            text_row(b"2"),
            eof(AUTOCOMMIT | 1),
        ],
    );
    assert_eq!(end, ServerStep::Done(Some(AUTOCOMMIT | 1)));
    assert!(x.idle());
    assert!(x.in_transaction());
}

#[test]
fn without_eof_packets_the_rows_end_at_an_ok_led_by_0xfe() {
    let mut x = Exchange::new(CAPS_NO_EOF, AUTOCOMMIT);
    x.from_client(b"\x03SELECT a").expect("command");
    let end = answer(
        &mut x,
        &[vec![1], column(), text_row(b"x"), ok_fe(AUTOCOMMIT)],
    );
    assert_eq!(end, ServerStep::Done(Some(AUTOCOMMIT)));
    assert!(x.idle() && !x.in_transaction());
}

#[test]
fn a_row_whose_value_starts_like_an_eof_is_still_a_row() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    x.from_client(b"\x03SELECT a").expect("command");
    // A NULL (0xFB) and a 0xFE-led string of 9+ bytes are rows, not ends.
    let long = {
        let mut p = vec![0xFE];
        p.extend_from_slice(&[0; 8]);
        p
    };
    let end = answer(
        &mut x,
        &[
            vec![1],
            column(),
            eof(AUTOCOMMIT),
            vec![0xFB],
            long,
            eof(AUTOCOMMIT),
        ],
    );
    assert_eq!(end, ServerStep::Done(Some(AUTOCOMMIT)));
}

#[test]
fn more_results_keep_the_answer_open_until_the_last_one() {
    let more = AUTOCOMMIT | SERVER_MORE_RESULTS_EXISTS;
    let mut x = Exchange::new(CAPS_NO_EOF, AUTOCOMMIT);
    x.from_client(b"\x03BEGIN; SELECT 1; INSERT INTO t VALUES (1)")
        .expect("command");
    let end = answer(
        &mut x,
        &[
            ok(more | 1),
            vec![1],
            column(),
            text_row(b"1"),
            ok_fe(more | 1),
            ok(AUTOCOMMIT | 1),
        ],
    );
    assert_eq!(end, ServerStep::Done(Some(AUTOCOMMIT | 1)));
    assert!(x.in_transaction());
}

#[test]
fn an_error_ends_the_answer_and_leaves_the_transaction_state_as_it_was() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT | 1);
    x.from_client(b"\x03SELECT nope").expect("command");
    assert_eq!(x.from_server(&err()), Ok(ServerStep::Done(None)));
    assert!(
        x.in_transaction(),
        "an error does not end a MySQL transaction"
    );
    // An error in the middle of the rows (a query killed while it streams).
    x.from_client(b"\x03SELECT a").expect("command");
    let end = answer(&mut x, &[vec![1], column(), eof(1), text_row(b"1"), err()]);
    assert_eq!(end, ServerStep::Done(None));
    assert!(x.idle());
}

#[test]
fn local_infile_waits_for_the_clients_data_then_its_answer() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    x.from_client(b"\x03LOAD DATA LOCAL INFILE 'f' INTO TABLE t")
        .expect("command");
    assert_eq!(x.from_server(b"\xFBf"), Ok(ServerStep::AwaitClient));
    assert_eq!(x.from_client(b"1\n2\n"), Ok(ClientStep::Data));
    assert_eq!(
        x.from_client(b"\x03looks like a command"),
        Ok(ClientStep::Data)
    );
    assert_eq!(
        x.from_client(b""),
        Ok(ClientStep::Data),
        "the empty packet ends the data"
    );
    assert_eq!(
        x.from_server(&ok(AUTOCOMMIT)),
        Ok(ServerStep::Done(Some(AUTOCOMMIT)))
    );
    assert!(x.idle());
}

#[test]
fn a_prepare_answer_ends_after_its_definitions() {
    for (caps, packets) in [
        (
            CAPS,
            vec![
                prepare_ok(1, 2),
                column(),
                column(),
                eof(0),
                column(),
                eof(0),
            ],
        ),
        (
            CAPS_NO_EOF,
            vec![prepare_ok(1, 2), column(), column(), column()],
        ),
        (CAPS, vec![prepare_ok(0, 0)]),
        (CAPS, vec![prepare_ok(1, 0), column(), eof(0)]),
        (CAPS, vec![prepare_ok(0, 1), column(), eof(0)]),
        (CAPS, vec![err()]),
    ] {
        let mut x = Exchange::new(caps, AUTOCOMMIT);
        x.from_client(b"\x16SELECT ? + ?").expect("command");
        assert_eq!(
            answer(&mut x, &packets),
            ServerStep::Done(None),
            "{packets:?}"
        );
        assert!(x.idle());
    }
}

#[test]
fn an_execute_with_a_cursor_ends_at_its_columns_and_fetch_reads_the_rows() {
    let cursor = AUTOCOMMIT | SERVER_STATUS_CURSOR_EXISTS;
    for caps in [CAPS, CAPS_NO_EOF] {
        let mut x = Exchange::new(caps, AUTOCOMMIT);
        x.from_client(b"\x17\x01\x00\x00\x00\x01\x01\x00\x00\x00")
            .expect("execute");
        let columns_end = if caps == CAPS {
            eof(cursor)
        } else {
            ok_fe(cursor)
        };
        let end = answer(&mut x, &[vec![1], column(), columns_end]);
        assert_eq!(end, ServerStep::Done(Some(cursor)));
        x.from_client(b"\x1c\x01\x00\x00\x00\x02\x00\x00\x00")
            .expect("fetch");
        let last = AUTOCOMMIT | SERVER_STATUS_CURSOR_EXISTS | 128;
        let rows_end = if caps == CAPS { eof(last) } else { ok_fe(last) };
        let end = answer(&mut x, &[binary_row(), binary_row(), rows_end]);
        assert_eq!(end, ServerStep::Done(Some(last)));
    }
}

#[test]
fn a_binary_result_set_without_a_cursor_streams_its_rows() {
    let mut x = Exchange::new(CAPS_NO_EOF, AUTOCOMMIT);
    x.from_client(b"\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00")
        .expect("execute");
    let end = answer(
        &mut x,
        &[vec![1], column(), binary_row(), ok_fe(AUTOCOMMIT)],
    );
    assert_eq!(end, ServerStep::Done(Some(AUTOCOMMIT)));
    // An execute that changes rows answers with a plain OK.
    x.from_client(b"\x17\x02\x00\x00\x00\x00\x01\x00\x00\x00")
        .expect("execute");
    assert_eq!(
        x.from_server(&ok(AUTOCOMMIT | 1)),
        Ok(ServerStep::Done(Some(AUTOCOMMIT | 1)))
    );
}

#[test]
fn pipelined_commands_are_answered_in_order_and_some_get_no_answer() {
    let mut x = Exchange::new(CAPS_NO_EOF, AUTOCOMMIT);
    assert_eq!(
        x.from_client(b"\x16SELECT ?"),
        Ok(ClientStep::Command(COM_STMT_PREPARE))
    );
    assert_eq!(
        x.from_client(b"\x18\x01\x00\x00\x00\x00\x00data"),
        Ok(ClientStep::Unanswered(COM_STMT_SEND_LONG_DATA))
    );
    assert_eq!(
        x.from_client(b"\x17\xff\xff\xff\xff"),
        Ok(ClientStep::Command(COM_STMT_EXECUTE))
    );
    assert_eq!(
        answer(&mut x, &[prepare_ok(1, 1), column(), column()]),
        ServerStep::Done(None)
    );
    assert!(!x.idle(), "the execute's answer is still to come");
    assert_eq!(
        answer(
            &mut x,
            &[vec![1], column(), binary_row(), ok_fe(AUTOCOMMIT)]
        ),
        ServerStep::Done(Some(AUTOCOMMIT))
    );
    assert!(x.idle());
    assert_eq!(
        x.from_client(b"\x19\x01\x00\x00\x00"),
        Ok(ClientStep::Unanswered(COM_STMT_CLOSE))
    );
    assert_eq!(x.from_client(b"\x01"), Ok(ClientStep::Unanswered(COM_QUIT)));
    assert!(x.idle());
}

#[test]
fn change_user_is_an_authentication_exchange() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    x.from_client(b"\x11app\x00").expect("change user");
    assert_eq!(
        x.from_server(b"\xFEmysql_native_password\x00scramble"),
        Ok(ServerStep::AwaitClient)
    );
    assert_eq!(
        x.from_client(&[0x00; 20]),
        Ok(ClientStep::Data),
        "the auth answer, not a command"
    );
    assert_eq!(
        x.from_server(&ok(AUTOCOMMIT)),
        Ok(ServerStep::Done(Some(AUTOCOMMIT)))
    );
    assert!(x.idle());
}

#[test]
fn single_packet_answers() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    for (command, answer) in [
        (&b"\x0e"[..], ok(AUTOCOMMIT)),
        (b"\x02db", err()),
        (b"\x09", b"Uptime: 5  Threads: 1".to_vec()),
        (b"\x1b\x01\x00", eof(AUTOCOMMIT)),
        (b"\x1f", ok(AUTOCOMMIT)),
    ] {
        x.from_client(command).expect("command");
        assert!(
            matches!(x.from_server(&answer), Ok(ServerStep::Done(_))),
            "{command:?}"
        );
        assert!(x.idle());
    }
}

#[test]
fn what_cannot_be_tracked_is_an_error() {
    let mut x = Exchange::new(CAPS, AUTOCOMMIT);
    assert!(x.from_server(&ok(0)).is_err(), "an answer to nothing");
    assert!(x.from_client(b"").is_err(), "an empty command");
    assert!(x.from_client(b"\x12").is_err(), "COM_BINLOG_DUMP");
    x.from_client(b"\x03SELECT").expect("command");
    assert!(x.from_server(&[0]).is_ok(), "an OK");
    x.from_client(b"\x03SELECT").expect("command");
    assert!(
        x.from_server(&[]).is_ok(),
        "an empty packet reads as OK, no panic"
    );
    x.from_client(b"\x16SELECT").expect("command");
    assert!(
        x.from_server(&[0, 1]).is_err(),
        "a truncated prepare answer"
    );
}

#[test]
fn an_oversized_packet_is_a_row_or_a_violation() {
    let mut x = Exchange::new(CAPS_NO_EOF, AUTOCOMMIT);
    assert_eq!(
        x.from_server_large(),
        Err(MysqlError::Malformed(
            "oversized packet outside a result set's rows"
        ))
    );
    x.from_client(&[COM_QUERY, b'x']).expect("accepted");
    assert!(
        x.from_server_large().is_err(),
        "where the OK or column count goes"
    );
    assert_eq!(x.from_server(&[1]).expect("accepted"), ServerStep::More);
    assert_eq!(
        x.from_server(&column()).expect("accepted"),
        ServerStep::More
    );
    assert_eq!(x.from_server_large().expect("accepted"), ServerStep::More);
    assert_eq!(
        x.from_server(&ok_fe(AUTOCOMMIT)).expect("accepted"),
        ServerStep::Done(Some(AUTOCOMMIT))
    );
    assert!(x.idle());
}

#[test]
fn mariadbs_cached_metadata_leaves_the_column_definitions_out() {
    use crate::mysql::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA as CACHE;
    for caps in [CAPS, CAPS_NO_EOF] {
        let eof_after_columns = caps & CLIENT_DEPRECATE_EOF == 0;
        // An execute whose answer sends no metadata: count 2, then 0.
        let mut x = Exchange::new(caps, AUTOCOMMIT).with_mariadb_caps(CACHE);
        x.from_client(&[COM_STMT_EXECUTE, 1, 0, 0, 0, 0, 1, 0, 0, 0])
            .expect("execute");
        assert_eq!(x.from_server(&[2, 0]).expect("count"), ServerStep::More);
        if eof_after_columns {
            assert_eq!(
                x.from_server(&eof(AUTOCOMMIT)).expect("eof"),
                ServerStep::More
            );
        }
        assert_eq!(x.from_server(&[0, 0, 1, 0]).expect("row"), ServerStep::More);
        let end = if eof_after_columns {
            eof(AUTOCOMMIT)
        } else {
            ok_fe(AUTOCOMMIT)
        };
        assert_eq!(
            x.from_server(&end).expect("end"),
            ServerStep::Done(Some(AUTOCOMMIT))
        );
        // A text query whose answer carries its metadata: count 1, then 1.
        x.from_client(&[COM_QUERY, b'x']).expect("query");
        assert_eq!(x.from_server(&[1, 1]).expect("count"), ServerStep::More);
        assert_eq!(x.from_server(&column()).expect("column"), ServerStep::More);
        if eof_after_columns {
            assert_eq!(
                x.from_server(&eof(AUTOCOMMIT)).expect("eof"),
                ServerStep::More
            );
        }
        assert_eq!(x.from_server(&[1, b'a']).expect("row"), ServerStep::More);
        assert_eq!(
            x.from_server(&end).expect("end"),
            ServerStep::Done(Some(AUTOCOMMIT))
        );
        assert!(x.idle());
        // Without the capability the same 0 is not read as a flag.
        let mut plain = Exchange::new(caps, AUTOCOMMIT);
        plain.from_client(&[COM_QUERY, b'x']).expect("query");
        assert_eq!(plain.from_server(&[1]).expect("count"), ServerStep::More);
        assert_eq!(
            plain.from_server(&column()).expect("column"),
            ServerStep::More
        );
    }
}
