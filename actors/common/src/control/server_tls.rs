//! The control plane's TLS server side, with its certificate, key and client CA re-read
//! when their files change (or on SIGHUP): certificates rotate without a restart.

use super::files::Stamp;
use super::TlsFiles;
use crate::tls::{self, TlsError};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A rustls server configuration for these files; mutual TLS when they name a CA.
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let certs = Arc::new(ReloadingCert::new(files.cert.clone(), files.key.clone())?);
    let builder = ServerConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let cfg = match &files.ca {
        Some(ca) => builder
            .with_client_cert_verifier(Arc::new(ReloadingVerifier::new(ca.clone())?))
            .with_cert_resolver(certs),
        None => builder.with_no_client_auth().with_cert_resolver(certs),
    };
    Ok(cfg)
}

/// Loads the certificate chain and key, checking that they belong together.
fn certified_key(cert: &std::path::Path, key: &std::path::Path) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(tls::certs(cert)?, tls::key(key)?, &tls::provider())
        .map_err(|e| TlsError::Config(format!("{} and {}: {e}", cert.display(), key.display())))
}

#[derive(Debug)]
struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<(Stamp, Arc<CertifiedKey>)>,
}

impl ReloadingCert {
    fn new(cert: PathBuf, key: PathBuf) -> Result<Self, TlsError> {
        let stamp = Stamp::of([cert.as_path(), key.as_path()]);
        let loaded = Arc::new(certified_key(&cert, &key)?);
        Ok(Self {
            cert,
            key,
            current: Mutex::new((stamp, loaded)),
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = Stamp::of([self.cert.as_path(), self.key.as_path()]);
        if stamp != current.0 {
            // A certificate written before its key fails to load; the next handshake
            // after both are in place picks them up.
            match certified_key(&self.cert, &self.key) {
                Ok(k) => {
                    tracing::info!(cert = %self.cert.display(), "control-plane certificate reloaded");
                    *current = (stamp, Arc::new(k));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the previous control-plane certificate")
                }
            }
        }
        Some(current.1.clone())
    }
}

fn verifier(ca: &std::path::Path) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    WebPkiClientVerifier::builder_with_provider(Arc::new(tls::roots(ca)?), tls::provider())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// Requires a client certificate signed by the CA in `ca`, re-read when it changes.
#[derive(Debug)]
struct ReloadingVerifier {
    ca: PathBuf,
    current: Mutex<(Stamp, Arc<dyn ClientCertVerifier>)>,
}

impl ReloadingVerifier {
    fn new(ca: PathBuf) -> Result<Self, TlsError> {
        let stamp = Stamp::of([ca.as_path()]);
        let v = verifier(&ca)?;
        Ok(Self {
            ca,
            current: Mutex::new((stamp, v)),
        })
    }

    fn get(&self) -> Arc<dyn ClientCertVerifier> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = Stamp::of([self.ca.as_path()]);
        if stamp != current.0 {
            match verifier(&self.ca) {
                Ok(v) => {
                    tracing::info!(ca = %self.ca.display(), "control-plane client CA reloaded");
                    *current = (stamp, v);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the previous control-plane client CA")
                }
            }
        }
        current.1.clone()
    }
}

impl ClientCertVerifier for ReloadingVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Hints are optional; clients of the control plane hold exactly one certificate.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.get()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.get().supported_verify_schemes()
    }
}
