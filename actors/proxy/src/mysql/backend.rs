//! The MySQL source: logging in to it on a client's behalf with the key the client's
//! proof revealed, and the proxy's own service session there (account lookups, the
//! server's greeting, `KILL QUERY`).

use super::io::{read_packet, ReadError};
use crate::auth::lookup::LookupError;
use crate::auth::mysql_native::{client_token, key_from_password, parse_stored, NativeKey};
use crate::auth::Verifier;
use crate::protocol::{BackendError, BackendKey};
use bytes::BytesMut;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::backend_url::{BackendUrl, SslMode};
use molt_lms_common::pg_dial::DialError;
use molt_lms_common::stream::Stream;
use molt_lms_common::tls::{self, TlsError};
use molt_lms_wire::mysql::codec::Reader;
use molt_lms_wire::mysql::consts::auth_plugin::MYSQL_NATIVE_PASSWORD;
use molt_lms_wire::mysql::consts::capability::*;
use molt_lms_wire::mysql::consts::{command, error_code, header};
use molt_lms_wire::mysql::packet::put_packet;
use molt_lms_wire::mysql::{
    ends_rows, AuthSwitchRequest, ErrPacket, HandshakeResponse41, HandshakeV10, OkPacket,
    SslRequest,
};
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// The largest packet the proxy's own logins announce (MySQL's `max_allowed_packet`
/// ceiling); the server's own limit applies anyway.
const MAX_PACKET: u32 = 1 << 30;

/// Capabilities that change what is on the wire after login: a client that negotiated
/// one with the proxy needs a backend session with the same, as its packets are relayed
/// unchanged.
pub(crate) const WIRE_CAPS: u32 = CLIENT_PROTOCOL_41
    | CLIENT_DEPRECATE_EOF
    | CLIENT_SESSION_TRACK
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_TRANSACTIONS;

/// What the source's greeting says about it, as last seen. The proxy greets MySQL
/// clients with the same version and collation, so drivers that adapt to the server
/// (`tx_isolation` on MariaDB, `transaction_isolation` on MySQL 8) do so correctly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Greeting {
    pub version: String,
    pub caps: u32,
    /// MariaDB's extended capabilities (0 from MySQL, which sets `CLIENT_MYSQL`).
    pub mariadb_caps: u32,
    pub charset: u8,
}

/// The extended capabilities a MariaDB greeting carries: only when it clears
/// `CLIENT_MYSQL`, as MariaDB servers do (MySQL leaves those bytes reserved).
pub(crate) fn server_mariadb_caps(hs: &HandshakeV10) -> u32 {
    if hs.capabilities & CLIENT_MYSQL == 0 {
        hs.mariadb_capabilities
    } else {
        0
    }
}

/// What a login on the source presents.
pub(crate) struct Login<'a> {
    pub user: &'a str,
    pub database: &'a str,
    /// Capabilities the client agreed with the proxy.
    pub caps: u32,
    /// MariaDB extended capabilities the client agreed with the proxy.
    pub mariadb_caps: u32,
    pub charset: u8,
    pub attrs: &'a [(String, String)],
    /// `None`: the empty password.
    pub key: Option<&'a NativeKey>,
}

/// An authenticated session on the source.
pub(crate) struct MySqlSession {
    pub stream: Stream,
    /// The server's connection id (what `CONNECTION_ID()` returns there).
    pub thread: u32,
    /// Status flags of the login's OK packet.
    pub status: u16,
}

impl crate::protocol::BackendSession for MySqlSession {
    fn key(&self) -> BackendKey {
        BackendKey::MySql {
            thread: self.thread,
        }
    }

    fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    fn into_stream(self) -> Stream {
        self.stream
    }
}

/// The proxy's own session on the source, as the URL's user.
struct Service {
    stream: Stream,
    buf: BytesMut,
    caps: u32,
}

/// One MySQL-protocol database.
pub(crate) struct MySqlSource {
    pub(crate) role: SourceOfTruth,
    pub(crate) url: BackendUrl,
    tls: Option<Arc<ClientConfig>>,
    /// How long connecting and logging in may take (`--backend-login-timeout`).
    login_timeout: Duration,
    seen: std::sync::Mutex<Option<Greeting>>,
    service: Mutex<Option<Service>>,
}

impl MySqlSource {
    pub(crate) fn new(
        role: SourceOfTruth,
        url: BackendUrl,
        login_timeout: Duration,
    ) -> Result<Self, TlsError> {
        let tls = tls::client_config(&url.ssl)?;
        Ok(Self {
            role,
            url,
            tls,
            login_timeout,
            seen: std::sync::Mutex::new(None),
            service: Mutex::new(None),
        })
    }

    /// The source's greeting, connecting once to learn it if no login has seen it yet.
    pub(crate) async fn greeting(&self) -> Result<Greeting, BackendError> {
        if let Some(g) = self.seen.lock().ok().and_then(|g| g.clone()) {
            return Ok(g);
        }
        drop(self.service_session().await?);
        self.seen
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .ok_or_else(|| self.read_error("no greeting".into()))
    }

    fn read_error(&self, message: String) -> BackendError {
        BackendError::Read {
            role: self.role,
            source: message.into(),
        }
    }

    /// Connects and logs in, within the login timeout.
    pub(crate) async fn open(&self, login: &Login<'_>) -> Result<MySqlSession, BackendError> {
        tokio::time::timeout(self.login_timeout, self.open_inner(login))
            .await
            .map_err(|_| BackendError::LoginTimeout {
                role: self.role,
                after: self.login_timeout,
            })?
    }

    async fn open_inner(&self, login: &Login<'_>) -> Result<MySqlSession, BackendError> {
        let (role, addr) = (self.role, self.url.address());
        let io_err = |source| {
            BackendError::Dial(DialError::Connect {
                role,
                addr: addr.clone(),
                source,
            })
        };
        let read_err = |e: ReadError| match e {
            ReadError::Io(e) => io_err(e),
            other => self.read_error(other.to_string()),
        };
        let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(io_err)?;
        let _ = tcp.set_nodelay(true);
        let mut stream = Stream::Tcp(tcp);
        let mut buf = BytesMut::with_capacity(1024);
        let (payload, mut seq) = read_packet(&mut stream, &mut buf, 0)
            .await
            .map_err(read_err)?;
        if payload.first() == Some(&header::ERR) {
            return Err(self.rejected(&payload, 0));
        }
        let hs = HandshakeV10::decode(&payload).map_err(|e| self.read_error(e.to_string()))?;
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(Greeting {
                version: hs.server_version.clone(),
                caps: hs.capabilities,
                mariadb_caps: server_mariadb_caps(&hs),
                charset: hs.character_set,
            });
        }
        let mariadb_caps = login.mariadb_caps & server_mariadb_caps(&hs);
        let missing = login.caps & WIRE_CAPS & !hs.capabilities;
        if missing != 0 || mariadb_caps != login.mariadb_caps {
            return Err(BackendError::Auth {
                role,
                what: format!(
                    "capabilities {missing:#x} that the client negotiated (the server changed since the proxy greeted it)"
                ),
            });
        }
        let mut caps = (login.caps & hs.capabilities)
            | (hs.capabilities
                & (CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_LONG_PASSWORD));
        caps &= !(CLIENT_SSL | CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS | CLIENT_COMPRESS);
        if !login.database.is_empty() {
            caps |= CLIENT_CONNECT_WITH_DB;
        }
        if !login.attrs.is_empty() {
            caps |= hs.capabilities & CLIENT_CONNECT_ATTRS;
        }
        match &self.tls {
            Some(cfg) if hs.capabilities & CLIENT_SSL != 0 => {
                caps |= CLIENT_SSL;
                let req = SslRequest {
                    capabilities: caps,
                    max_packet_size: MAX_PACKET,
                    character_set: login.charset,
                    mariadb_capabilities: 0,
                };
                let mut out = Vec::new();
                seq = put_packet(&mut out, seq, |o| req.encode(o));
                stream.write_all(&out).await.map_err(io_err)?;
                let Stream::Tcp(tcp) = stream else {
                    unreachable!("a fresh connection is plain TCP")
                };
                let name = tls::server_name(&self.url.host)
                    .map_err(|e| BackendError::Dial(DialError::Tls(e.to_string(), role)))?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| BackendError::Dial(DialError::Tls(e.to_string(), role)))?;
                stream = Stream::ClientTls(Box::new(tls));
            }
            Some(_) if !matches!(self.url.ssl.mode, SslMode::Allow | SslMode::Prefer) => {
                return Err(BackendError::Dial(DialError::TlsRefused { role, addr }));
            }
            _ => {}
        }
        let scramble = hs
            .auth_plugin_data
            .get(..20)
            .unwrap_or(&hs.auth_plugin_data);
        let token = |scramble: &[u8]| {
            login
                .key
                .map(|k| client_token(k, scramble).to_vec())
                .unwrap_or_default()
        };
        let response = HandshakeResponse41 {
            capabilities: caps,
            max_packet_size: MAX_PACKET,
            character_set: login.charset,
            mariadb_capabilities: mariadb_caps,
            username: login.user.to_owned(),
            auth_response: token(scramble),
            database: login.database.to_owned(),
            auth_plugin_name: MYSQL_NATIVE_PASSWORD.to_owned(),
            connect_attrs: login.attrs.to_vec(),
            zstd_compression_level: 0,
        };
        let mut out = Vec::new();
        let mut encoded = Ok(());
        seq = put_packet(&mut out, seq, |o| encoded = response.encode(o));
        encoded.map_err(|e| self.read_error(e.to_string()))?;
        stream.write_all(&out).await.map_err(io_err)?;
        // At most one switch to mysql_native_password with a new scramble.
        for _ in 0..2 {
            let (payload, next) = read_packet(&mut stream, &mut buf, seq)
                .await
                .map_err(read_err)?;
            match payload.first() {
                Some(&header::OK) => {
                    let ok = OkPacket::decode(&payload, caps)
                        .map_err(|e| self.read_error(e.to_string()))?;
                    return Ok(MySqlSession {
                        stream,
                        thread: hs.connection_id,
                        status: ok.status_flags,
                    });
                }
                Some(&header::ERR) => return Err(self.rejected(&payload, caps)),
                Some(&header::AUTH_SWITCH) => {
                    let switch = AuthSwitchRequest::decode(&payload)
                        .map_err(|e| self.read_error(e.to_string()))?;
                    if switch.plugin_name != MYSQL_NATIVE_PASSWORD {
                        return Err(BackendError::Auth {
                            role,
                            what: format!(
                                "{} (the proxy logs in with mysql_native_password)",
                                switch.plugin_name
                            ),
                        });
                    }
                    let data = switch.data.get(..20).unwrap_or(&switch.data);
                    let mut out = Vec::new();
                    seq = put_packet(&mut out, next, |o| o.extend_from_slice(&token(data)));
                    stream.write_all(&out).await.map_err(io_err)?;
                }
                _ => {
                    return Err(BackendError::Auth {
                        role,
                        what:
                            "more authentication data (caching_sha2_password's full authentication)"
                                .into(),
                    })
                }
            }
        }
        Err(self.read_error("authentication did not end".into()))
    }

    /// The source's ERR as a refusal the client can be shown (renumbered later).
    fn rejected(&self, payload: &[u8], caps: u32) -> BackendError {
        let err = ErrPacket::decode(payload, caps | CLIENT_PROTOCOL_41)
            .unwrap_or_else(|_| ErrPacket::new(0, error_code::STATE_GENERAL, "login refused"));
        let mut raw = Vec::new();
        put_packet(&mut raw, 0, |o| o.extend_from_slice(payload));
        BackendError::Rejected {
            role: self.role,
            code: err.code.to_string(),
            message: err.message,
            raw,
        }
    }

    /// The service session, logged in now if there is none.
    async fn service_session(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Service>>, BackendError> {
        let mut slot = self.service.lock().await;
        if slot.is_none() {
            let password = self
                .url
                .password
                .as_ref()
                .map(|p| key_from_password(p.expose()));
            let caps = CLIENT_PROTOCOL_41
                | CLIENT_SECURE_CONNECTION
                | CLIENT_PLUGIN_AUTH
                | CLIENT_TRANSACTIONS
                | CLIENT_LONG_PASSWORD
                | CLIENT_DEPRECATE_EOF;
            let attrs = [("program_name".to_owned(), "molt-lms".to_owned())];
            let login = Login {
                user: &self.url.user,
                database: "",
                caps,
                mariadb_caps: 0,
                charset: molt_lms_wire::mysql::consts::charset::UTF8MB4_GENERAL_CI,
                attrs: &attrs,
                key: password.as_ref(),
            };
            let session = self.open(&login).await?;
            let caps = caps
                & self
                    .seen
                    .lock()
                    .ok()
                    .and_then(|g| g.clone())
                    .map_or(0, |g| g.caps);
            *slot = Some(Service {
                stream: session.stream,
                buf: BytesMut::new(),
                caps: caps | CLIENT_PROTOCOL_41,
            });
        }
        Ok(slot)
    }

    /// Runs `sql` on the service session: the rows of its result, each column as bytes
    /// (`None` for NULL), or the server's error message. One retry on a new session
    /// when the old one was closed.
    pub(crate) async fn query(&self, sql: &str) -> Result<Vec<Vec<Option<Vec<u8>>>>, String> {
        for attempt in 0..2 {
            let mut slot = self
                .service_session()
                .await
                .map_err(|e| e.client_message())?;
            let Some(service) = slot.as_mut() else {
                continue;
            };
            match run_query(service, sql).await {
                Ok(rows) => return rows,
                Err(e) => {
                    *slot = None;
                    if attempt == 1 {
                        return Err(format!("service session failed: {e}"));
                    }
                }
            }
        }
        Err("service session closed".into())
    }

    /// The account rows of `user` as a verifier: every `mysql_native_password` hash
    /// stored for it (one per host pattern). `None` when there is none: no such user,
    /// or only other authentication plugins.
    pub(crate) async fn verifier(&self, user: &str) -> Result<Option<Verifier>, LookupError> {
        // A hex literal carries any user name without quoting.
        let sql = format!(
            "SELECT plugin, authentication_string FROM mysql.user WHERE User = X'{}'",
            molt_lms_common::hex::hex(user.as_bytes())
        );
        let rows = self
            .query(&sql)
            .await
            .map_err(|message| LookupError::Query {
                role: self.role.to_string(),
                message,
            })?;
        let mut hashes = Vec::new();
        for row in rows {
            let text = |i: usize| {
                row.get(i)
                    .and_then(|v| v.as_deref())
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
            };
            let (plugin, stored) = (text(0), text(1));
            if !plugin.is_empty() && plugin != MYSQL_NATIVE_PASSWORD {
                tracing::debug!(%plugin, "account row with a plugin the proxy does not verify");
                continue;
            }
            if stored.is_empty() {
                hashes.push(None);
            } else if let Some(h) = parse_stored(&stored) {
                hashes.push(Some(h));
            }
        }
        Ok((!hashes.is_empty()).then_some(Verifier::MysqlNative(hashes)))
    }

    /// Stops the statement running on the source's connection `thread`.
    pub(crate) async fn kill_query(&self, thread: u32) -> Result<(), BackendError> {
        self.query(&format!("KILL QUERY {thread}"))
            .await
            .map(|_| ())
            .map_err(|e| self.read_error(e))
    }
}

/// One text-protocol query on a service session: `Ok(Err(message))` when the server
/// refused it, `Err` when the session broke.
async fn run_query(
    s: &mut Service,
    sql: &str,
) -> Result<Result<Vec<Vec<Option<Vec<u8>>>>, String>, ReadError> {
    let mut out = Vec::new();
    put_packet(&mut out, 0, |o| {
        o.push(command::COM_QUERY);
        o.extend_from_slice(sql.as_bytes());
    });
    s.stream.write_all(&out).await?;
    let (first, mut seq) = read_packet(&mut s.stream, &mut s.buf, 1).await?;
    match first.first() {
        Some(&header::OK) => return Ok(Ok(Vec::new())),
        Some(&header::ERR) => {
            let err = ErrPacket::decode(&first, s.caps)?;
            return Ok(Err(err.message));
        }
        _ => {}
    }
    let columns = Reader::new(&first, "column count").lenenc_int()?;
    let deprecate_eof = s.caps & CLIENT_DEPRECATE_EOF != 0;
    for _ in 0..columns + u64::from(!deprecate_eof) {
        seq = read_packet(&mut s.stream, &mut s.buf, seq).await?.1;
    }
    let mut rows = Vec::new();
    loop {
        let (p, next) = read_packet(&mut s.stream, &mut s.buf, seq).await?;
        seq = next;
        if ends_rows(&p, s.caps) {
            return Ok(Ok(rows));
        }
        if p.first() == Some(&header::ERR) {
            return Ok(Err(ErrPacket::decode(&p, s.caps)?.message));
        }
        let mut r = Reader::new(&p, "text row");
        let mut row = Vec::new();
        for _ in 0..columns {
            if r.remaining().first() == Some(&molt_lms_wire::mysql::codec::LENENC_NULL) {
                r.u8()?;
                row.push(None);
            } else {
                row.push(Some(r.lenenc_bytes()?.to_vec()));
            }
        }
        rows.push(row);
    }
}
