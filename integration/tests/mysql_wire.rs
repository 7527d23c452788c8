//! The MySQL protocol pieces against a real MariaDB: the wire codec reads and writes the
//! real handshake, and the `mysql_native_password` key that a client's proof reveals to
//! the proxy logs in to the server by itself, with no password.

use molt_lms_integration::mariadb::MariaDb;
use molt_lms_proxy_actors::auth::mysql_native::{
    client_token, key_from_password, parse_stored, stored_hash, verify, NativeKey,
};
use molt_lms_wire::mysql::consts::status::SERVER_STATUS_CURSOR_EXISTS;
use molt_lms_wire::mysql::consts::{auth_plugin, capability::*, header};
use molt_lms_wire::mysql::exchange::{ClientStep, Exchange, ServerStep};
use molt_lms_wire::mysql::{
    read_payload, write_payload, ErrPacket, HandshakeResponse41, HandshakeV10, OkPacket,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One blocking MySQL exchange over a socket, framed by the codec.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    seq: u8,
}

impl Conn {
    fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to MariaDB");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Conn {
            stream,
            buf: Vec::new(),
            seq: 0,
        }
    }

    fn read(&mut self) -> Vec<u8> {
        loop {
            if let Some(p) = read_payload(&self.buf, self.seq, 1 << 24).expect("well-framed") {
                let (bytes, used) = (p.bytes.into_owned(), p.consumed);
                self.seq = p.next_seq;
                self.buf.drain(..used);
                return bytes;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read from MariaDB");
            assert!(n > 0, "MariaDB closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn write(&mut self, payload: &[u8]) {
        let mut out = Vec::new();
        self.seq = write_payload(&mut out, payload, self.seq);
        self.stream.write_all(&out).expect("write to MariaDB");
    }

    /// A new command: sequence ids start again at 0.
    fn command(&mut self, payload: &[u8]) {
        self.seq = 0;
        self.write(payload);
    }
}

const CAPS: u32 = CLIENT_PROTOCOL_41
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_LONG_PASSWORD
    | CLIENT_TRANSACTIONS
    | CLIENT_DEPRECATE_EOF;
const CAPS_MULTI: u32 =
    CAPS | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS;

/// Logs in as `user` with `key`; the server's answer (OK or ERR payload).
fn login(db: &MariaDb, user: &str, key: &NativeKey) -> (Conn, Vec<u8>) {
    login_with(db, user, key, CAPS)
}

fn login_with(db: &MariaDb, user: &str, key: &NativeKey, caps: u32) -> (Conn, Vec<u8>) {
    login_ext(db, user, key, caps, 0)
}

/// Like [`login_with`], also asking for MariaDB extended capabilities `ext` (which a
/// MariaDB server reads when the client clears `CLIENT_MYSQL`).
fn login_ext(db: &MariaDb, user: &str, key: &NativeKey, caps: u32, ext: u32) -> (Conn, Vec<u8>) {
    let mut c = Conn::connect(&db.addr());
    let greeting = HandshakeV10::decode(&c.read()).expect("a v10 greeting");
    assert_eq!(
        greeting.auth_plugin_name,
        auth_plugin::MYSQL_NATIVE_PASSWORD
    );
    assert_eq!(greeting.auth_plugin_data.len(), 20);
    assert!(greeting.capabilities & CLIENT_PROTOCOL_41 != 0);
    let response = HandshakeResponse41 {
        capabilities: caps & greeting.capabilities,
        max_packet_size: 1 << 24,
        character_set: 45, // utf8mb4_general_ci
        mariadb_capabilities: ext,
        username: user.to_owned(),
        auth_response: client_token(key, &greeting.auth_plugin_data).to_vec(),
        database: String::new(),
        auth_plugin_name: auth_plugin::MYSQL_NATIVE_PASSWORD.to_owned(),
        connect_attrs: Vec::new(),
        zstd_compression_level: 0,
    };
    let mut payload = Vec::new();
    response.encode(&mut payload).expect("encodable response");
    c.write(&payload);
    let answer = c.read();
    (c, answer)
}

#[test]
fn the_proxys_native_password_hash_is_the_one_mariadb_stores() {
    let db = MariaDb::start("native-hash");
    db.create_user("app", "s3cret");
    let stored = db.stored_hash("app");
    assert_eq!(
        parse_stored(&stored),
        Some(stored_hash("s3cret")),
        "{stored}"
    );
}

#[test]
fn the_key_a_clients_proof_reveals_logs_in_to_mariadb_without_the_password() {
    let db = MariaDb::start("native-login");
    db.create_user("app", "s3cret");
    // The proxy's side: a client answers the proxy's own scramble with its password…
    let stored = parse_stored(&db.stored_hash("app")).expect("a native hash");
    let proxy_scramble: Vec<u8> = (0..20).map(|i| 33 + i * 3).collect();
    let proof = client_token(&key_from_password("s3cret"), &proxy_scramble);
    // …and checking it against the stored hash gives the proxy the key, not the password.
    let key = verify(&stored, &proxy_scramble, &proof).expect("the proof verifies");
    let (mut c, answer) = login(&db, "app", &key);
    assert_eq!(answer.first(), Some(&header::OK), "{answer:?}");
    let ok = OkPacket::decode(&answer, CAPS).expect("an OK packet");
    assert!(ok.status_flags & molt_lms_wire::mysql::consts::status::SERVER_STATUS_AUTOCOMMIT != 0);
    // The session works: a query answers with the user it logged in as.
    c.command(b"\x03SELECT CURRENT_USER()");
    let columns = c.read();
    assert_eq!(columns, [1], "one column");
    let _definition = c.read();
    let row = c.read();
    assert_eq!(&row[1..], b"app@%", "{row:?}");
    let end = c.read();
    assert!(molt_lms_wire::mysql::ends_rows(&end, CAPS), "{end:?}");
}

#[test]
fn a_wrong_key_is_refused_by_mariadb_with_access_denied() {
    let db = MariaDb::start("native-wrong");
    db.create_user("app", "s3cret");
    let (_c, answer) = login(&db, "app", &key_from_password("guess"));
    assert_eq!(answer.first(), Some(&header::ERR), "{answer:?}");
    let err = ErrPacket::decode(&answer, CAPS).expect("an ERR packet");
    assert_eq!(err.code, 1045, "{err:?}");
    assert_eq!(err.sql_state.as_ref(), Some(b"28000"));
}

/// Sends one command and reads its whole answer with the exchange tracker; the answer
/// must end exactly where the server stopped sending.
fn run(c: &mut Conn, x: &mut Exchange, command: &[u8]) -> Vec<Vec<u8>> {
    assert!(matches!(x.from_client(command), Ok(ClientStep::Command(_))));
    c.command(command);
    let mut packets = Vec::new();
    loop {
        let p = c.read();
        let step = x.from_server(&p).expect("a trackable answer");
        packets.push(p);
        match step {
            ServerStep::More => {}
            ServerStep::Done(_) => break,
            ServerStep::AwaitClient => panic!("no client data in this test"),
        }
    }
    // Nothing more may come: the next bytes would belong to no command.
    c.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut probe = [0u8; 1];
    let extra = c.stream.read(&mut probe);
    assert!(
        c.buf.is_empty() && extra.is_err(),
        "bytes after the end of the answer to {command:?}"
    );
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    packets
}

#[test]
fn the_exchange_tracker_finds_the_end_of_real_mariadb_answers() {
    let db = MariaDb::start("exchange");
    db.create_user("app", "s3cret");
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20)); \
            INSERT INTO shop.t VALUES (1, 'a'), (2, NULL), (3, 'c')",
    );
    for deprecate_eof in [false, true] {
        let caps = CAPS_MULTI
            & !if deprecate_eof {
                0
            } else {
                CLIENT_DEPRECATE_EOF
            };
        let (mut c, answer) = login_with(&db, "app", &key_from_password("s3cret"), caps);
        assert_eq!(answer.first(), Some(&header::OK));
        let status = OkPacket::decode(&answer, caps).expect("ok").status_flags;
        let mut x = Exchange::new(caps, status);
        run(&mut c, &mut x, b"\x02shop");
        let rows = run(&mut c, &mut x, b"\x03SELECT id, v FROM t ORDER BY id");
        assert_eq!(rows.len(), if deprecate_eof { 7 } else { 8 }, "{rows:?}");
        run(&mut c, &mut x, b"\x03START TRANSACTION");
        assert!(x.in_transaction());
        run(
            &mut c,
            &mut x,
            b"\x03UPDATE t SET v = 'b' WHERE id = 2; SELECT 1; SELECT id FROM t",
        );
        assert!(x.in_transaction());
        run(&mut c, &mut x, b"\x03SELECT nope FROM t");
        assert!(x.in_transaction(), "an error leaves the transaction open");
        run(&mut c, &mut x, b"\x03COMMIT");
        assert!(!x.in_transaction());
        // Prepared: two parameters, two columns, executed with values.
        let prepared = run(&mut c, &mut x, b"\x16SELECT ? + 1, v FROM t WHERE id = ?");
        let id = &prepared[0][1..5];
        let mut execute = vec![0x17];
        execute.extend_from_slice(id);
        execute.extend_from_slice(&[0, 1, 0, 0, 0, 0, 1, 0x08, 0, 0x08, 0]);
        execute.extend_from_slice(&41i64.to_le_bytes());
        execute.extend_from_slice(&3i64.to_le_bytes());
        run(&mut c, &mut x, &execute);
        // A cursor: the execute ends after the columns; fetch reads the rows.
        let prepared = run(&mut c, &mut x, b"\x16SELECT id FROM t");
        let id = prepared[0][1..5].to_vec();
        let mut execute = vec![0x17];
        execute.extend_from_slice(&id);
        execute.extend_from_slice(&[1, 1, 0, 0, 0]);
        run(&mut c, &mut x, &execute);
        assert!(x.status() & SERVER_STATUS_CURSOR_EXISTS != 0);
        let mut fetch = vec![0x1c];
        fetch.extend_from_slice(&id);
        fetch.extend_from_slice(&10u32.to_le_bytes());
        let fetched = run(&mut c, &mut x, &fetch);
        assert_eq!(fetched.len(), 4, "three rows and the end: {fetched:?}");
        assert!(matches!(
            x.from_client(b"\x19\x01\x00\x00\x00"),
            Ok(ClientStep::Unanswered(_))
        ));
        run(&mut c, &mut x, b"\x0e");
        run(&mut c, &mut x, b"\x09");
        assert!(x.idle());
    }
}

#[test]
fn the_exchange_tracker_follows_mariadbs_cached_metadata() {
    use molt_lms_wire::mysql::consts::mariadb_capability::MARIADB_CLIENT_CACHE_METADATA;
    let db = MariaDb::start("cachemeta");
    db.create_user("app", "s3cret");
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20)); \
            INSERT INTO shop.t VALUES (1, 'a'), (2, NULL), (3, 'c')",
    );
    for deprecate_eof in [false, true] {
        let caps = (CAPS_MULTI & !CLIENT_LONG_PASSWORD)
            & !if deprecate_eof {
                0
            } else {
                CLIENT_DEPRECATE_EOF
            };
        let (mut c, answer) = login_ext(
            &db,
            "app",
            &key_from_password("s3cret"),
            caps,
            MARIADB_CLIENT_CACHE_METADATA,
        );
        assert_eq!(answer.first(), Some(&header::OK));
        let status = OkPacket::decode(&answer, caps).expect("ok").status_flags;
        let mut x = Exchange::new(caps, status).with_mariadb_caps(MARIADB_CLIENT_CACHE_METADATA);
        run(&mut c, &mut x, b"\x02shop");
        let text = run(&mut c, &mut x, b"\x03SELECT id, v FROM t ORDER BY id");
        assert_eq!(text[0], [2, 1], "the column count and 'metadata follows'");
        let prepared = run(&mut c, &mut x, b"\x16SELECT id, v FROM t WHERE id > ?");
        let id = prepared[0][1..5].to_vec();
        let mut execute = vec![0x17];
        execute.extend_from_slice(&id);
        execute.extend_from_slice(&[0, 1, 0, 0, 0, 0, 1, 0x08, 0]);
        execute.extend_from_slice(&0i64.to_le_bytes());
        // The prepare's answer carried the definitions, so every execute leaves them out;
        // `run` checks that each answer ends exactly where the tracker says.
        for _ in 0..2 {
            let answer = run(&mut c, &mut x, &execute);
            assert_eq!(answer[0], [2, 0], "no metadata: {answer:?}");
            // The count, the EOF where the columns would end (without DEPRECATE_EOF),
            // three rows and the end.
            assert_eq!(
                answer.len(),
                1 + usize::from(!deprecate_eof) + 3 + 1,
                "{answer:?}"
            );
        }
        assert!(x.idle());
    }
}
