//! Opening sessions on a backend database: TCP, TLS as `sslmode` asks, start-up and
//! authentication with the credential the proxy holds for the client.

use crate::auth::scram::{ScramClient, ScramError, MECHANISM};
use crate::auth::{md5, Credential};
use crate::pg::io::{read_message, ReadError};
use crate::protocol::{BackendError, BackendKey};
use bytes::BytesMut;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::backend_url::BackendUrl;
use molt_lms_common::pg_dial::PgDialer;
use molt_lms_common::stream::Stream;
use molt_lms_common::tls::TlsError;
use molt_lms_wire::pg::backend::{self as be, auth};
use molt_lms_wire::pg::codec::{put_cstr, put_message};
use molt_lms_wire::pg::frontend::{cancel_request, startup_message};
use molt_lms_wire::pg::tag::{backend as tag_be, frontend as fe, tx_status};
use tokio::io::AsyncWriteExt;

/// One backend database: the dialer (where it is, TLS as `sslmode` asks) plus what the
/// proxy does there that the orchestrator never does: open a session for a client with
/// the credential the proxy holds, and forward cancel requests. `Deref` to the dialer, so
/// `role`, `url`, `dial` and `service_client` read the same on both.
pub struct Backend {
    dialer: PgDialer,
    /// How long a session's login may take once TCP is connected.
    pub login_timeout: std::time::Duration,
}

impl std::ops::Deref for Backend {
    type Target = PgDialer;
    fn deref(&self) -> &PgDialer {
        &self.dialer
    }
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

impl crate::protocol::BackendSession for BackendSession {
    fn key(&self) -> BackendKey {
        BackendKey::Pg {
            pid: self.pid,
            secret: self.secret,
        }
    }

    fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    fn into_stream(self) -> Stream {
        self.stream
    }
}

impl Backend {
    pub fn new(
        role: SourceOfTruth,
        url: BackendUrl,
        login_timeout: std::time::Duration,
    ) -> Result<Self, TlsError> {
        Ok(Self {
            dialer: PgDialer::new(role, url)?,
            login_timeout,
        })
    }

    /// Opens and authenticates a session with the client's start-up parameters, within
    /// the login timeout (on top of the dial's own connect timeout): a database that
    /// accepts TCP and then says nothing fails the login instead of stalling it.
    pub async fn open_session(
        &self,
        params: &[(String, String)],
        credential: &Credential,
    ) -> Result<BackendSession, BackendError> {
        let stream = self.dial().await?;
        tokio::time::timeout(self.login_timeout, self.login(stream, params, credential))
            .await
            .map_err(|_| BackendError::LoginTimeout {
                role: self.role,
                after: self.login_timeout,
            })?
    }

    async fn login(
        &self,
        mut stream: Stream,
        params: &[(String, String)],
        credential: &Credential,
    ) -> Result<BackendSession, BackendError> {
        let role = self.role;
        let read_err = |source: ReadError| BackendError::Read {
            role,
            source: Box::new(source),
        };
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
            status: tx_status::IDLE,
        };
        loop {
            let (tag, body) = read_message(&mut session.stream, &mut buf)
                .await
                .map_err(read_err)?;
            match tag {
                tag_be::BACKEND_KEY_DATA if body.len() == 8 => {
                    session.pid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    session.secret = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                }
                tag_be::PARAMETER_STATUS => {
                    if let Some((k, v)) = be::parameter_status(&body) {
                        session.params.push((k.to_owned(), v.to_owned()));
                    }
                    put_message(&mut session.greeting, tag, |o| o.extend_from_slice(&body));
                }
                tag_be::NOTICE_RESPONSE => {
                    put_message(&mut session.greeting, tag, |o| o.extend_from_slice(&body))
                }
                tag_be::ERROR_RESPONSE => return Err(self.rejected(&body)),
                tag_be::READY_FOR_QUERY => {
                    session.status = body.first().copied().unwrap_or(tx_status::IDLE);
                    return Ok(session);
                }
                _ => {}
            }
        }
    }

    fn rejected(&self, body: &[u8]) -> BackendError {
        let (code, message) = be::error_fields(body);
        let mut raw = Vec::new();
        put_message(&mut raw, tag_be::ERROR_RESPONSE, |o| {
            o.extend_from_slice(body)
        });
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
        let read_err = |source: ReadError| BackendError::Read {
            role,
            source: Box::new(source),
        };
        let auth_err = |what: String| BackendError::Auth { role, what };
        let mut scram: Option<ScramClient<'_>> = None;
        loop {
            let (tag, body) = read_message(stream, buf).await.map_err(read_err)?;
            if tag == tag_be::ERROR_RESPONSE {
                return Err(self.rejected(&body));
            }
            if tag != tag_be::AUTHENTICATION {
                return Err(auth_err(format!("unexpected message '{}'", tag as char)));
            }
            let (code, payload) = be::authentication_code(&body)
                .ok_or_else(|| auth_err("malformed authentication request".into()))?;
            let mut out = Vec::new();
            match code {
                auth::OK => return Ok(()),
                auth::CLEARTEXT => match credential {
                    Credential::Password(p) => {
                        put_message(&mut out, fe::PASSWORD, |o| put_cstr(o, p.expose()))
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
                        Credential::MysqlNative(_) => {
                            return Err(auth_err(
                                "md5, but the proxy holds a MySQL credential for this session".into(),
                            ))
                        }
                    };
                    let answer = md5::response(&hash, &salt);
                    put_message(&mut out, fe::PASSWORD, |o| put_cstr(o, &answer));
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
                    put_message(&mut out, fe::PASSWORD, |o| {
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
                    put_message(&mut out, fe::PASSWORD, |o| o.extend_from_slice(fin.as_bytes()));
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

    /// Forwards a cancel request for one of this backend's sessions.
    pub async fn cancel(&self, pid: i32, secret: i32) -> Result<(), BackendError> {
        let mut stream = self.dial().await?;
        let _ = stream.write_all(&cancel_request(pid, secret)).await;
        let _ = stream.shutdown().await;
        Ok(())
    }
}

/// A Terminate message, sent to a backend whose client left.
const TERMINATE: [u8; 5] = [fe::TERMINATE, 0, 0, 0, 4];

/// Ends a backend session politely: Terminate, then close.
pub(crate) async fn close(stream: &mut Stream) {
    let _ = stream.write_all(&TERMINATE).await;
    let _ = stream.shutdown().await;
}
