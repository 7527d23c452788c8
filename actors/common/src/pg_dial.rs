//! Dialling a PostgreSQL-protocol database: TCP, then TLS as the URL's `sslmode` asks
//! (PostgreSQL's SSLRequest first), within a deadline. The proxy opens client sessions
//! over it; the proxy and the orchestrator both open their own service sessions with it.

use crate::backend_url::{BackendUrl, SslMode};
use crate::stream::Stream;
use crate::tls::{self, TlsError};
use molt_lms_api::SourceOfTruth;
use molt_lms_wire::pg::frontend::ssl_request;
use molt_lms_wire::pg::tag::ssl_answer;
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
pub enum DialError {
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
}

impl DialError {
    /// A message safe to send to a client: no host names, no secrets.
    pub fn client_message(&self) -> String {
        match self {
            DialError::Connect { role, .. } | DialError::Timeout { role, .. } => {
                format!("molt-lms: the {role} database is unreachable")
            }
            DialError::TlsRefused { role, .. } | DialError::Tls(_, role) => {
                format!("molt-lms: TLS to the {role} database failed")
            }
        }
    }
}

/// One PostgreSQL-protocol database: which role it plays, where it is, and the TLS
/// client configuration its `sslmode` asks for.
pub struct PgDialer {
    pub role: SourceOfTruth,
    pub url: BackendUrl,
    tls: Option<Arc<ClientConfig>>,
}

impl PgDialer {
    pub fn new(role: SourceOfTruth, url: BackendUrl) -> Result<Self, TlsError> {
        let tls = tls::client_config(&url.ssl)?;
        Ok(Self { role, url, tls })
    }

    /// TCP connection with TLS negotiated as `sslmode` asks.
    pub async fn dial(&self) -> Result<Stream, DialError> {
        let (role, addr) = (self.role, self.url.address());
        let connect = async {
            let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
                .await
                .map_err(|source| DialError::Connect {
                    role,
                    addr: addr.clone(),
                    source,
                })?;
            let _ = tcp.set_nodelay(true);
            self.negotiate_tls(tcp).await
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| DialError::Timeout {
                role,
                addr: addr.clone(),
            })?
    }

    async fn negotiate_tls(&self, mut tcp: TcpStream) -> Result<Stream, DialError> {
        let (role, addr) = (self.role, self.url.address());
        let Some(cfg) = &self.tls else {
            return Ok(Stream::Tcp(tcp));
        };
        let io_err = |source| DialError::Connect {
            role,
            addr: addr.clone(),
            source,
        };
        tcp.write_all(&ssl_request()).await.map_err(io_err)?;
        let answer = tcp.read_u8().await.map_err(io_err)?;
        if answer != ssl_answer::ACCEPTED {
            return match self.url.ssl.mode {
                SslMode::Allow | SslMode::Prefer => Ok(Stream::Tcp(tcp)),
                _ => Err(DialError::TlsRefused { role, addr }),
            };
        }
        let name =
            tls::server_name(&self.url.host).map_err(|e| DialError::Tls(e.to_string(), role))?;
        let tls = tokio_rustls::TlsConnector::from(cfg.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| DialError::Tls(e.to_string(), role))?;
        Ok(Stream::ClientTls(Box::new(tls)))
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
}
