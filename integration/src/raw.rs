//! A bare-bones PostgreSQL client over a blocking socket, for tests that must send
//! exactly the bytes they choose (malformed messages, protocol edge cases).

use molt_lms_common::secret::Secret;
use molt_lms_proxy_actors::auth::scram::{ScramClient, MECHANISM};
use molt_lms_proxy_actors::auth::{md5, Credential};
use molt_lms_wire::pg::backend::{auth, authentication_code, error_fields};
use molt_lms_wire::pg::codec::{put_cstr, put_message};
use molt_lms_wire::pg::frontend::startup_message;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    /// The cancel key (process id, secret) BackendKeyData gave at login.
    pub key: Option<(i32, i32)>,
}

/// An ErrorResponse's `(SQLSTATE, message)`.
pub type PgError = (String, String);

impl RawConn {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        Self {
            stream,
            buf: Vec::new(),
            key: None,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        // The peer may already have closed; tests look at what comes back.
        let _ = self.stream.write_all(bytes);
    }

    /// Next typed message, or `None` once the peer closed the connection.
    pub fn read_message(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if self.buf.len() > len {
                    let msg: Vec<u8> = self.buf.drain(..len + 1).collect();
                    return Some((msg[0], msg[5..].to_vec()));
                }
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until ReadyForQuery; returns the messages before it, or the first error.
    pub fn until_ready(&mut self) -> Result<Vec<(u8, Vec<u8>)>, PgError> {
        let mut seen = Vec::new();
        loop {
            match self.read_message() {
                None => return Err(("closed".into(), "connection closed".into())),
                Some((b'E', body)) => return Err(error_fields(&body)),
                Some((b'Z', _)) => return Ok(seen),
                Some(m) => seen.push(m),
            }
        }
    }

    /// Logs in with a password, answering SCRAM or md5 as asked.
    pub fn login(
        addr: SocketAddr,
        user: &str,
        password: &str,
        db: &str,
    ) -> Result<RawConn, PgError> {
        let mut c = RawConn::connect(addr);
        c.send(&startup_message(&[
            ("user".into(), user.into()),
            ("database".into(), db.into()),
        ]));
        let cred = Credential::Password(Secret::new(password));
        let mut scram: Option<ScramClient<'_>> = None;
        loop {
            let (tag, body) = c
                .read_message()
                .ok_or(("closed".to_owned(), "closed during login".to_owned()))?;
            match tag {
                b'E' => return Err(error_fields(&body)),
                b'R' => {
                    let (code, payload) = authentication_code(&body).expect("auth body");
                    let mut out = Vec::new();
                    match code {
                        auth::OK => break,
                        auth::MD5 => {
                            let salt: [u8; 4] = payload[..4].try_into().expect("salt");
                            let answer = md5::response(&md5::verifier(user, password), &salt);
                            put_message(&mut out, b'p', |o| put_cstr(o, &answer));
                        }
                        auth::SASL => {
                            let client = ScramClient::new(&cred).expect("scram");
                            let first = client.client_first();
                            put_message(&mut out, b'p', |o| {
                                put_cstr(o, MECHANISM);
                                o.extend_from_slice(&(first.len() as i32).to_be_bytes());
                                o.extend_from_slice(first.as_bytes());
                            });
                            scram = Some(client);
                        }
                        auth::SASL_CONTINUE => {
                            let fin = scram
                                .as_mut()
                                .expect("started")
                                .client_final(payload)
                                .expect("final");
                            put_message(&mut out, b'p', |o| o.extend_from_slice(fin.as_bytes()));
                        }
                        auth::SASL_FINAL => continue,
                        other => panic!("unexpected authentication request {other}"),
                    }
                    c.send(&out);
                }
                _ => {}
            }
        }
        for (tag, body) in c.until_ready()? {
            if tag == b'K' && body.len() == 8 {
                let int = |i: usize| i32::from_be_bytes(body[i..i + 4].try_into().expect("4"));
                c.key = Some((int(0), int(4)));
            }
        }
        Ok(c)
    }

    /// Sends a simple Query and collects its messages up to ReadyForQuery.
    pub fn query(&mut self, sql: &str) -> Result<Vec<(u8, Vec<u8>)>, PgError> {
        let mut out = Vec::new();
        put_message(&mut out, b'Q', |o| put_cstr(o, sql));
        self.send(&out);
        self.until_ready()
    }
}
