//! Who may drive the control plane: the orchestrator's API, the proxies' control
//! endpoints, and the calls between them. Each side is authenticated by mutual TLS (a
//! client certificate signed by the configured CA), by a shared token read from a file,
//! or by both; running with neither takes an explicit `--insecure-control-plane`.
//! Credentials are re-read from disk when their files change or on SIGHUP.

pub mod client;
pub mod files;
pub mod guard;
pub mod peer;
pub mod server_tls;
pub mod token;

use crate::tls::TlsError;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;
use token::{TokenError, TokenFile};

/// The names a component's settings go by, so that errors name the key the user set.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    pub token: &'static str,
    pub cert: &'static str,
    pub key: &'static str,
    pub ca: &'static str,
    pub insecure: &'static str,
}

#[derive(Debug, Error)]
pub enum ControlError {
    #[error("{key}: {source}")]
    Token {
        key: &'static str,
        #[source]
        source: TokenError,
    },
    #[error("{key}: {source}")]
    Tls {
        key: &'static str,
        #[source]
        source: TlsError,
    },
    #[error("{0}")]
    Incomplete(String),
    #[error(
        "the control plane has no credentials: set {token} (a shared token), or {cert}, {key} and {ca} \
         (mutual TLS); to run it unauthenticated anyway, pass {insecure}"
    )]
    Unauthenticated {
        token: &'static str,
        cert: &'static str,
        key: &'static str,
        ca: &'static str,
        insecure: &'static str,
    },
}

/// Certificate, key and (for mutual TLS) the CA that signs the peers' certificates.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: Option<PathBuf>,
}

/// A component's control-plane credentials, validated at start.
#[derive(Debug, Clone)]
pub struct ControlAuth {
    pub tls: Option<TlsFiles>,
    pub token: Option<Arc<TokenFile>>,
    /// Neither TLS with a CA nor a token, and the operator said that is fine.
    pub insecure: bool,
}

impl ControlAuth {
    /// Validates the settings: files readable, cert and key given together, and some
    /// authentication unless `insecure`.
    pub fn new(
        keys: Keys,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
        token: Option<PathBuf>,
        insecure: bool,
    ) -> Result<Self, ControlError> {
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key, ca }),
            (None, None) if ca.is_none() => None,
            (None, None) => {
                return Err(ControlError::Incomplete(format!(
                    "{}: a CA needs {} and {} too",
                    keys.ca, keys.cert, keys.key
                )))
            }
            (Some(_), None) => {
                return Err(ControlError::Incomplete(format!(
                    "{}: set without {}",
                    keys.cert, keys.key
                )))
            }
            (None, Some(_)) => {
                return Err(ControlError::Incomplete(format!(
                    "{}: set without {}",
                    keys.key, keys.cert
                )))
            }
        };
        if let Some(t) = &tls {
            let tls_err = |key| move |source| ControlError::Tls { key, source };
            crate::tls::certs(&t.cert).map_err(tls_err(keys.cert))?;
            crate::tls::key(&t.key).map_err(tls_err(keys.key))?;
            if let Some(ca) = &t.ca {
                crate::tls::roots(ca).map_err(tls_err(keys.ca))?;
            }
        }
        let token = token
            .map(|p| TokenFile::open(p).map(Arc::new))
            .transpose()
            .map_err(|source| ControlError::Token {
                key: keys.token,
                source,
            })?;
        let auth = Self {
            tls,
            token,
            insecure,
        };
        if !auth.authenticates() && !insecure {
            return Err(ControlError::Unauthenticated {
                token: keys.token,
                cert: keys.cert,
                key: keys.key,
                ca: keys.ca,
                insecure: keys.insecure,
            });
        }
        Ok(auth)
    }

    /// Whether a peer must prove who it is (a client certificate or the token).
    pub fn authenticates(&self) -> bool {
        self.token.is_some() || self.mutual_tls()
    }

    pub fn mutual_tls(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.ca.is_some())
    }

    /// `https` when this side serves TLS.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// What start-up logs about the control plane (never a secret).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.mutual_tls() {
            parts.push("mutual TLS");
        } else if self.tls.is_some() {
            parts.push("TLS");
        }
        if self.token.is_some() {
            parts.push("token");
        }
        if parts.is_empty() {
            "unauthenticated".to_owned()
        } else {
            parts.join(" + ")
        }
    }
}

#[cfg(test)]
mod tests;
