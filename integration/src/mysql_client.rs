//! A MySQL client written with the project's codec, for tests that need what a real
//! client hides: the greeting's connection id, exact sequence ids, broken packets.

use molt_lms_proxy_actors::auth::mysql_native::{client_token, key_from_password};
use molt_lms_wire::mysql::consts::capability::*;
use molt_lms_wire::mysql::consts::{auth_plugin, command, header};
use molt_lms_wire::mysql::{
    read_payload, write_payload, ErrPacket, HandshakeResponse41, HandshakeV10,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What the client asks for: protocol 4.1 without EOF packets.
pub const CAPS: u32 = CLIENT_PROTOCOL_41
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_TRANSACTIONS
    | CLIENT_DEPRECATE_EOF;

/// A client speaking the protocol by hand, through the proxy: sees the greeting's
/// connection id and can send broken packets.
pub struct MyClient {
    s: TcpStream,
    pub buf: Vec<u8>,
    pub greeting: HandshakeV10,
}

impl MyClient {
    pub fn connect(addr: &str) -> MyClient {
        let s = TcpStream::connect(addr).expect("connect to the proxy");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let mut r = MyClient {
            s,
            buf: Vec::new(),
            greeting: HandshakeV10::default(),
        };
        let (g, _) = r.read(0).expect("greeting");
        r.greeting = HandshakeV10::decode(&g).expect("a HandshakeV10");
        r
    }

    /// The next payload with sequence id `seq`; `None` once the proxy closed.
    pub fn read(&mut self, seq: u8) -> Option<(Vec<u8>, u8)> {
        loop {
            if let Some(p) = read_payload(&self.buf, seq, 1 << 24).expect("well-framed") {
                let out = (p.bytes.into_owned(), p.next_seq);
                self.buf.drain(..p.consumed);
                return Some(out);
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    pub fn send(&mut self, payload: &[u8], seq: u8) {
        let mut out = Vec::new();
        write_payload(&mut out, payload, seq);
        self.s.write_all(&out).expect("write to the proxy");
    }

    pub fn login(addr: &str, user: &str, password: &str) -> MyClient {
        let mut r = MyClient::connect(addr);
        let caps = CAPS;
        let token = client_token(
            &key_from_password(password),
            &r.greeting.auth_plugin_data[..20],
        );
        let resp = HandshakeResponse41 {
            capabilities: caps,
            max_packet_size: 1 << 24,
            character_set: 45,
            username: user.into(),
            auth_response: token.to_vec(),
            auth_plugin_name: auth_plugin::MYSQL_NATIVE_PASSWORD.into(),
            ..Default::default()
        };
        let mut p = Vec::new();
        resp.encode(&mut p).expect("encodable");
        r.send(&p, 1);
        let (ok, _) = r.read(2).expect("login answer");
        assert_eq!(
            ok[0],
            header::OK,
            "login refused: {:?}",
            ErrPacket::decode(&ok, caps)
        );
        r
    }

    /// Sends a query and reads its text result's first value (or the ERR).
    pub fn query_value(&mut self, sql: &str) -> Result<String, ErrPacket> {
        let mut p = vec![command::COM_QUERY];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p, 0);
        let (first, mut seq) = self.read(1).expect("answer");
        if first[0] == header::ERR {
            return Err(ErrPacket::decode(&first, CLIENT_PROTOCOL_41).expect("an ERR"));
        }
        let columns = first[0];
        for _ in 0..columns {
            seq = self.read(seq).expect("column").1;
        }
        let (row, s) = self.read(seq).expect("row");
        if row[0] == header::ERR {
            // An error in place of the row (a killed statement) ends the answer.
            return Err(ErrPacket::decode(&row, CLIENT_PROTOCOL_41).expect("an ERR"));
        }
        seq = s;
        let (_end, _) = self.read(seq).expect("end of rows");
        let len = row[0] as usize;
        Ok(text(&row[1..1 + len]))
    }
}

impl MyClient {
    /// Runs a statement that returns no rows (or whose rows are skipped): `Ok` with its
    /// OK packet's status flags, or the server's ERR.
    pub fn exec(&mut self, sql: &str) -> Result<u16, ErrPacket> {
        let mut p = vec![command::COM_QUERY];
        p.extend_from_slice(sql.as_bytes());
        self.send(&p, 0);
        let (mut packet, mut seq) = self.read(1).expect("answer");
        loop {
            match packet[0] {
                header::ERR => {
                    return Err(ErrPacket::decode(&packet, CLIENT_PROTOCOL_41).expect("an ERR"))
                }
                header::OK | header::EOF if packet.len() < 0xFF_FFFF => {
                    let ok = molt_lms_wire::mysql::OkPacket::decode(&packet, CAPS).expect("an OK");
                    return Ok(ok.status_flags);
                }
                _ => {
                    let next = self.read(seq).expect("more of the answer");
                    (packet, seq) = next;
                }
            }
        }
    }
}

/// `writers` threads that each log in to `addr` as `user` and commit two-row
/// transactions into `shop.ledger (writer, n, part)` in a loop until `stop`; each returns
/// how many it committed, or its first error. The load of the MySQL cutover tests.
pub fn ledger_writers(
    addr: &str,
    (user, password): (&str, &str),
    writers: usize,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<std::thread::JoinHandle<Result<usize, String>>> {
    (0..writers)
        .map(|w| {
            let (addr, user, password) = (addr.to_owned(), user.to_owned(), password.to_owned());
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = MyClient::login(&addr, &user, &password);
                let mut done = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for sql in [
                        "START TRANSACTION".to_owned(),
                        format!("INSERT INTO shop.ledger VALUES ({w}, {done}, 1)"),
                        format!("INSERT INTO shop.ledger VALUES ({w}, {done}, 2)"),
                        "COMMIT".to_owned(),
                    ] {
                        c.exec(&sql)
                            .map_err(|e| format!("writer {w}: {sql}: {} {}", e.code, e.message))?;
                    }
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect()
}

/// A `mysql_async` connection to a proxy on `port` that stays on TCP: by default the
/// driver asks the server for its unix socket and moves there, which would leave the
/// proxy.
pub async fn mysql_async_conn(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .db_name(Some(db))
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.expect("connect")
}
