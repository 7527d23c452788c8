//! TLS settings of the HTTP client from the `--tls-*` flags.

use super::ClientError;
use crate::cli::GlobalArgs;
use crate::orchestrator_url::OrchestratorUrl;
use crate::CliError;
use reqwest::{Certificate, ClientBuilder, Identity};
use std::path::Path;

/// A CA file replaces the system roots (the orchestrator's CA is usually private); a
/// client certificate and key together make the identity for mutual TLS.
pub(super) fn configure(
    mut builder: ClientBuilder,
    global: &GlobalArgs,
    base: &OrchestratorUrl,
) -> Result<ClientBuilder, CliError> {
    let any_tls_flag = global.tls_ca_cert.is_some()
        || global.tls_client_cert.is_some()
        || global.tls_client_key.is_some();
    if any_tls_flag && !base.is_https() {
        eprintln!("warning: the TLS flags only apply to an https:// orchestrator URL");
    }
    if let Some(path) = &global.tls_ca_cert {
        let pem = read(path, "CA certificate")?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|e| {
            ClientError::Tls(format!("invalid CA certificate in {}: {e}", path.display()))
        })?;
        if certs.is_empty() {
            let msg = format!("no certificate found in {}", path.display());
            return Err(ClientError::Tls(msg).into());
        }
        builder = builder.tls_certs_only(certs);
    }
    match (&global.tls_client_cert, &global.tls_client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert, "client certificate")?;
            pem.push(b'\n');
            pem.extend_from_slice(&read(key, "client key")?);
            // The message names the files, never their contents.
            let identity = Identity::from_pem(&pem).map_err(|e| {
                ClientError::Tls(format!(
                    "invalid client certificate {} or key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        (Some(_), None) => {
            let msg = "--tls-client-cert needs --tls-client-key (or CLI_TLS_CLIENT_KEY)";
            return Err(CliError::Usage(msg.to_owned()));
        }
        (None, Some(_)) => {
            let msg = "--tls-client-key needs --tls-client-cert (or CLI_TLS_CLIENT_CERT)";
            return Err(CliError::Usage(msg.to_owned()));
        }
        (None, None) => {}
    }
    Ok(builder)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path)
        .map_err(|e| ClientError::Tls(format!("cannot read the {what} {}: {e}", path.display())))
}
