//! The HTTP client one component uses to call another's control API: it presents the
//! token and, with TLS, its own certificate, and trusts only the configured CA. When
//! the credential files change the client is rebuilt before the next call.

use super::files::Stamp;
use super::{ControlAuth, ControlError};
use crate::tls::TlsError;
use reqwest::{Certificate, Identity, RequestBuilder};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ControlClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: ControlAuth,
    timeout: Duration,
    verify_hostnames: bool,
    built: Mutex<(Stamp, reqwest::Client)>,
}

fn tls_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Cert {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn build(
    auth: &ControlAuth,
    timeout: Duration,
    verify_hostnames: bool,
) -> Result<reqwest::Client, TlsError> {
    let mut b = reqwest::Client::builder().timeout(timeout);
    if let Some(t) = &auth.tls {
        if let Some(ca) = &t.ca {
            let pem = std::fs::read(ca).map_err(|e| tls_error(ca, e))?;
            let certs = Certificate::from_pem_bundle(&pem).map_err(|e| tls_error(ca, e))?;
            b = b.tls_certs_only(certs);
        }
        let mut pem = std::fs::read(&t.cert).map_err(|e| tls_error(&t.cert, e))?;
        pem.push(b'\n');
        pem.extend(std::fs::read(&t.key).map_err(|e| TlsError::Key {
            path: t.key.clone(),
            reason: e.to_string(),
        })?);
        let identity = Identity::from_pem(&pem).map_err(|e| tls_error(&t.cert, e))?;
        b = b
            .identity(identity)
            .tls_danger_accept_invalid_hostnames(!verify_hostnames);
    }
    b.build().map_err(|e| TlsError::Config(e.to_string()))
}

fn stamp(auth: &ControlAuth) -> Stamp {
    match &auth.tls {
        Some(t) => Stamp::of(
            [
                Some(t.cert.as_path()),
                Some(t.key.as_path()),
                t.ca.as_deref(),
            ]
            .into_iter()
            .flatten(),
        ),
        None => Stamp::of([]),
    }
}

impl ControlClient {
    /// `verify_hostnames: false` checks a peer's chain against the CA but not its name:
    /// the orchestrator calls proxies at pod addresses no certificate lists.
    pub fn new(
        auth: &ControlAuth,
        timeout: Duration,
        verify_hostnames: bool,
    ) -> Result<Self, ControlError> {
        let client =
            build(auth, timeout, verify_hostnames).map_err(|source| ControlError::Tls {
                key: "control-plane client",
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                auth: auth.clone(),
                timeout,
                verify_hostnames,
                built: Mutex::new((stamp(auth), client)),
            }),
        })
    }

    fn http(&self) -> reqwest::Client {
        let i = &self.inner;
        let mut built = i.built.lock().unwrap_or_else(|e| e.into_inner());
        let now = stamp(&i.auth);
        if now != built.0 {
            match build(&i.auth, i.timeout, i.verify_hostnames) {
                Ok(c) => {
                    tracing::info!("control-plane client certificate reloaded");
                    built.1 = c;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the previous control-plane client certificate")
                }
            }
            built.0 = now;
        }
        built.1.clone()
    }

    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.inner.auth.token {
            Some(t) => rb.bearer_auth(t.current().expose()),
            None => rb,
        }
    }

    pub fn get<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.authorize(self.http().get(url))
    }

    pub fn post<U: reqwest::IntoUrl>(&self, url: U) -> RequestBuilder {
        self.authorize(self.http().post(url))
    }
}
