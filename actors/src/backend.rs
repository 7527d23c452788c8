//! Opening sessions on a backend database: TCP, TLS as `sslmode` asks, start-up and
//! authentication with the credential the proxy holds for the client.

use crate::auth::scram::{ScramClient, ScramError, MECHANISM};
use crate::auth::{md5, Credential};
use crate::backend_url::{BackendUrl, SslMode};
use crate::pgio::{read_message, ReadError};
use crate::stream::Stream;
use crate::tls::{self, TlsError};
use crate::wire::pg::backend::{self as be, auth};
use crate::wire::pg::codec::{put_cstr, put_message};
use crate::wire::pg::frontend::{cancel_request, ssl_request, startup_message};
use bytes::BytesMut;
use molt_lms_api::SourceOfTruth;
use rustls::ClientConfig;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long connecting (TCP plus TLS) to a backend may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("cannot connect to {role} database at {addr}: {source}")]
    Connect {
        role: SourceOfTruth,
        addr: String,
        source: io::Error,
    },
    #[error("timed out connecting to {role} database at {addr}")]
    Timeout { role: SourceOfTruth, addr: String },
    #[error("{role} database at {addr} refused TLS, which sslmode requires")]
    TlsRefused { role: SourceOfTruth, addr: String },
    #[error("TLS with {role} database: {0}", role = .1)]
    Tls(String, SourceOfTruth),
    /// The backend answered with an ErrorResponse; `raw` is that message, for the client.
    #[error("{role} database refused the session: {code} {message}")]
    Rejected {
        role: SourceOfTruth,
        code: String,
        message: String,
        raw: Vec<u8>,
    },
    #[error("{role} database asked for an authentication method the proxy cannot answer: {what}")]
    Auth { role: SourceOfTruth, what: String },
    #[error("{role} database: {source}")]
    Read {
        role: SourceOfTruth,
        source: ReadError,
    },
}

impl BackendError {
    /// A message safe to send to a client: no host names, no secrets.
    pub fn client_message(&self) -> String {
        match self {
            BackendError::Connect { role, .. } | BackendError::Timeout { role, .. } => {
                format!("molt-lms: the {role} database is unreachable")
            }
            BackendError::TlsRefused { role, .. } | BackendError::Tls(_, role) => {
                format!("molt-lms: TLS to the {role} database failed")
            }
            BackendError::Rejected { message, .. } => message.clone(),
            BackendError::Auth { role, what } => {
                format!("molt-lms: cannot log in to the {role} database: {what}")
            }
            BackendError::Read { role, .. } => {
                format!("molt-lms: lost the connection to the {role} database during start-up")
            }
        }
    }
}

/// One backend database: where it is and how to speak TLS to it.
pub struct Backend {
    pub role: SourceOfTruth,
    pub url: BackendUrl,
    tls: Option<Arc<ClientConfig>>,
}

/// An authenticated backend session, ready for queries.
pub struct BackendSession {
    pub stream: Stream,
    pub pid: i32,
    pub secret: i32,
    /// ParameterStatus and NoticeResponse messages of start-up, raw, to pass on.
    pub greeting: Vec<u8>,
    /// `(name, value)` of every ParameterStatus at start-up.
    pub params: Vec<(String, String)>,
    /// Transaction status of the first ReadyForQuery.
    pub status: u8,
}

impl Backend {
    pub fn new(role: SourceOfTruth, url: BackendUrl) -> Result<Self, TlsError> {
        let tls = tls::client_config(&url.ssl)?;
        Ok(Self { role, url, tls })
    }

    /// TCP connection with TLS negotiated as `sslmode` asks.
    pub async fn dial(&self) -> Result<Stream, BackendError> {
        let (role, addr) = (self.role, self.url.address());
        let connect = async {
            let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
                .await
                .map_err(|source| BackendError::Connect {
                    role,
                    addr: addr.clone(),
                    source,
                })?;
            let _ = tcp.set_nodelay(true);
            self.negotiate_tls(tcp).await
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| BackendError::Timeout {
                role,
                addr: addr.clone(),
            })?
    }

    async fn negotiate_tls(&self, mut tcp: TcpStream) -> Result<Stream, BackendError> {
        let (role, addr) = (self.role, self.url.address());
        let Some(cfg) = &self.tls else {
            return Ok(Stream::Tcp(tcp));
        };
        let io_err = |source| BackendError::Connect {
            role,
            addr: addr.clone(),
            source,
        };
        tcp.write_all(&ssl_request()).await.map_err(io_err)?;
        let answer = tcp.read_u8().await.map_err(io_err)?;
        if answer != b'S' {
            return match self.url.ssl.mode {
                SslMode::Allow | SslMode::Prefer => Ok(Stream::Tcp(tcp)),
                _ => Err(BackendError::TlsRefused { role, addr }),
            };
        }
        let name =
            tls::server_name(&self.url.host).map_err(|e| BackendError::Tls(e.to_string(), role))?;
        let tls = tokio_rustls::TlsConnector::from(cfg.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| BackendError::Tls(e.to_string(), role))?;
        Ok(Stream::ClientTls(Box::new(tls)))
    }

    /// Opens and authenticates a session with the client's start-up parameters.
    pub async fn open_session(
        &self,
        params: &[(String, String)],
        credential: &Credential,
    ) -> Result<BackendSession, BackendError> {
        let mut stream = self.dial().await?;
        let role = self.role;
        let read_err = |source| BackendError::Read { role, source };
        stream
            .write_all(&startup_message(params))
            .await
            .map_err(|e| read_err(e.into()))?;
        let mut buf = BytesMut::with_capacity(4096);
        self.authenticate(&mut stream, &mut buf, credential).await?;
        let mut session = BackendSession {
            stream,
            pid: 0,
            secret: 0,
            greeting: Vec::new(),
            params: Vec::new(),
            status: b'I',
        };
        loop {
            let (tag, body) = read_message(&mut session.stream, &mut buf)
                .await
                .map_err(read_err)?;
            match tag {
                b'K' if body.len() == 8 => {
                    session.pid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    session.secret = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                }
                b'S' => {
                    if let Some((k, v)) = be::parameter_status(&body) {
                        session.params.push((k.to_owned(), v.to_owned()));
                    }
                    put_message(&mut session.greeting, tag, |o| o.extend_from_slice(&body));
                }
                b'N' => put_message(&mut session.greeting, tag, |o| o.extend_from_slice(&body)),
                b'E' => return Err(self.rejected(&body)),
                b'Z' => {
                    session.status = body.first().copied().unwrap_or(b'I');
                    return Ok(session);
                }
                _ => {}
            }
        }
    }

    fn rejected(&self, body: &[u8]) -> BackendError {
        let (code, message) = be::error_fields(body);
        let mut raw = Vec::new();
        put_message(&mut raw, b'E', |o| o.extend_from_slice(body));
        BackendError::Rejected {
            role: self.role,
            code,
            message,
            raw,
        }
    }

    async fn authenticate(
        &self,
        stream: &mut Stream,
        buf: &mut BytesMut,
        credential: &Credential,
    ) -> Result<(), BackendError> {
        let role = self.role;
        let read_err = |source| BackendError::Read { role, source };
        let auth_err = |what: String| BackendError::Auth { role, what };
        let mut scram: Option<ScramClient<'_>> = None;
        loop {
            let (tag, body) = read_message(stream, buf).await.map_err(read_err)?;
            if tag == b'E' {
                return Err(self.rejected(&body));
            }
            if tag != b'R' {
                return Err(auth_err(format!("unexpected message '{}'", tag as char)));
            }
            let (code, payload) = be::authentication_code(&body)
                .ok_or_else(|| auth_err("malformed authentication request".into()))?;
            let mut out = Vec::new();
            match code {
                auth::OK => return Ok(()),
                auth::CLEARTEXT => match credential {
                    Credential::Password(p) => {
                        put_message(&mut out, b'p', |o| put_cstr(o, p.expose()))
                    }
                    _ => {
                        return Err(auth_err(
                            "cleartext password (the proxy holds only a password verifier; use scram-sha-256 or md5 in pg_hba.conf)".into(),
                        ))
                    }
                },
                auth::MD5 => {
                    let salt: [u8; 4] = payload
                        .get(..4)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(|| auth_err("malformed md5 salt".into()))?;
                    let hash = match credential {
                        Credential::Md5Hash(h) => h.clone(),
                        Credential::Password(p) => md5::verifier(&self.url.user, p.expose()),
                        Credential::ScramKey { .. } => {
                            return Err(auth_err(
                                "md5, but the role's password is stored as SCRAM on the source of truth".into(),
                            ))
                        }
                    };
                    let answer = md5::response(&hash, &salt);
                    put_message(&mut out, b'p', |o| put_cstr(o, &answer));
                }
                auth::SASL => {
                    let offered = payload
                        .split(|&b| b == 0)
                        .any(|m| m == MECHANISM.as_bytes());
                    if !offered {
                        return Err(auth_err("a SASL mechanism other than SCRAM-SHA-256".into()));
                    }
                    let client = ScramClient::new(credential).map_err(|e| auth_err(e.to_string()))?;
                    let first = client.client_first();
                    put_message(&mut out, b'p', |o| {
                        put_cstr(o, MECHANISM);
                        o.extend_from_slice(&(first.len() as i32).to_be_bytes());
                        o.extend_from_slice(first.as_bytes());
                    });
                    scram = Some(client);
                }
                auth::SASL_CONTINUE => {
                    let client = scram
                        .as_mut()
                        .ok_or_else(|| auth_err("SASL continue before start".into()))?;
                    let fin = client
                        .client_final(payload)
                        .map_err(|e: ScramError| auth_err(e.to_string()))?;
                    put_message(&mut out, b'p', |o| o.extend_from_slice(fin.as_bytes()));
                }
                auth::SASL_FINAL => {
                    scram
                        .as_ref()
                        .ok_or_else(|| auth_err("SASL final before start".into()))?
                        .verify_server_final(payload)
                        .map_err(|e| auth_err(e.to_string()))?;
                    continue;
                }
                other => return Err(auth_err(format!("authentication method {other}"))),
            }
            stream
                .write_all(&out)
                .await
                .map_err(|e| read_err(e.into()))?;
        }
    }

    /// A tokio-postgres session as the URL's own (service) user, over `dial`, so it gets
    /// the same TLS handling as client sessions. Its connection task runs on the
    /// current runtime.
    pub async fn service_client(
        &self,
        application_name: &str,
    ) -> Result<tokio_postgres::Client, String> {
        let stream = self.dial().await.map_err(|e| e.to_string())?;
        let mut cfg = tokio_postgres::Config::new();
        cfg.user(&self.url.user)
            .dbname(&self.url.database)
            .application_name(application_name)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        if let Some(p) = &self.url.password {
            cfg.password(p.expose());
        }
        let (client, conn) = cfg
            .connect_raw(stream, tokio_postgres::NoTls)
            .await
            .map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Forwards a cancel request for one of this backend's sessions.
    pub async fn cancel(&self, pid: i32, secret: i32) -> Result<(), BackendError> {
        let mut stream = self.dial().await?;
        let _ = stream.write_all(&cancel_request(pid, secret)).await;
        let _ = stream.shutdown().await;
        Ok(())
    }
}
