//! Credentials of the HTTP client: TLS from the `--tls-*` flags, the control token from
//! `--control-token-file`.

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

/// The control token from `--control-token-file`, sent with every request. The header
/// is marked sensitive so it never shows in debug output; errors name the file only.
pub(super) fn token(
    builder: ClientBuilder,
    global: &GlobalArgs,
) -> Result<ClientBuilder, CliError> {
    let Some(path) = &global.control_token_file else {
        return Ok(builder);
    };
    let raw = std::fs::read_to_string(path).map_err(|e| {
        ClientError::Tls(format!(
            "cannot read the control token file {}: {e}",
            path.display()
        ))
    })?;
    let bad = || {
        ClientError::Tls(format!(
            "the control token in {} is not one printable line",
            path.display()
        ))
    };
    let token = raw.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad().into());
    }
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| bad())?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(builder.default_headers(headers))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path)
        .map_err(|e| ClientError::Tls(format!("cannot read the {what} {}: {e}", path.display())))
}
