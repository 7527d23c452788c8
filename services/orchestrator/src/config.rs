//! The orchestrator's validated settings: errors name the key and never a password.

use crate::cli::{Args, CheckArg};
use molt_lms_common::backend_url::BackendUrl;
use molt_lms_common::config_file;
use molt_lms_common::control::{ControlAuth, Keys};
use thiserror::Error;

const FILE_KEYS: [&str; 4] = ["CRDB_URL", "LMS_URL", "SOURCE_URL", "TARGET_URL"];

#[derive(Debug, Error)]
#[error("{0}")]
pub struct ConfigError(String);

pub struct Settings {
    /// Where cutover metadata lives (the target database).
    pub crdb: BackendUrl,
    /// A SQL URL through the proxies, if given.
    pub lms: Option<BackendUrl>,
    /// The source database (SOURCE_URL, PostgreSQL or MySQL) and the target database it
    /// replicates into (TARGET_URL, default CRDB_URL): what `verify` compares and where
    /// the replication gate writes and reads its token. `None` without SOURCE_URL.
    pub ends: Option<(BackendUrl, BackendUrl)>,
    /// Who may call the API, and how the orchestrator calls the proxies.
    pub control: ControlAuth,
}

const CONTROL_KEYS: Keys = Keys {
    token: "ORCH_CONTROL_TOKEN_FILE",
    cert: "ORCH_TLS_CERT",
    key: "ORCH_TLS_KEY",
    ca: "ORCH_CA_TLS_CERT",
    insecure: "--insecure-control-plane (ORCH_INSECURE_CONTROL_PLANE=true)",
};

/// The lsn check (asked for by default, or given slots to wait for) reads the replication
/// slots of a PostgreSQL source.
fn lsn_settings(args: &Args, source: Option<&BackendUrl>) -> Result<(), ConfigError> {
    let key = if args.replication_check == CheckArg::Lsn {
        "ORCH_REPLICATION_CHECK"
    } else if !args.replication_slots.is_empty() {
        "ORCH_REPLICATION_SLOTS"
    } else {
        return Ok(());
    };
    match source {
        None => Err(ConfigError(format!(
            "{key}: the lsn check needs SOURCE_URL, whose replication slots it reads"
        ))),
        Some(s) if s.scheme == "mysql" => Err(ConfigError(format!(
            "{key}: the lsn check needs a PostgreSQL SOURCE_URL (it reads the source's replication slots); a MySQL source takes the token check"
        ))),
        Some(_) => Ok(()),
    }
}

pub fn load(args: &Args) -> Result<Settings, ConfigError> {
    let values = config_file::load(args.config.as_deref(), &FILE_KEYS)
        .map_err(|e| ConfigError(e.to_string()))?;
    let raw = values
        .get("CRDB_URL")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError("CRDB_URL: missing (set it in config.json via --config/ORCH_CONFIG, or as an environment variable)".into()))?;
    let crdb = BackendUrl::parse(raw.trim()).map_err(|e| ConfigError(format!("CRDB_URL: {e}")))?;
    molt_lms_common::tls::client_config(&crdb.ssl)
        .map_err(|e| ConfigError(format!("CRDB_URL: {e}")))?;
    // LMS_URL may be a MySQL DSN in the reference's form; only PostgreSQL URLs are parsed.
    let lms = match values
        .get("LMS_URL")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        Some(v) if v.starts_with("postgres") => {
            Some(BackendUrl::parse(v).map_err(|e| ConfigError(format!("LMS_URL: {e}")))?)
        }
        _ => None,
    };
    let url = |key: &str, mysql_ok: bool| -> Result<Option<BackendUrl>, ConfigError> {
        match values.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if v.starts_with("postgres") || (mysql_ok && v.starts_with("mysql://")) => {
                BackendUrl::parse(v)
                    .map(Some)
                    .map_err(|e| ConfigError(format!("{key}: {e}")))
            }
            Some(_) if mysql_ok => Err(ConfigError(format!(
                "{key}: must be a postgresql:// or mysql:// URL"
            ))),
            Some(_) => Err(ConfigError(format!(
                "{key}: must be a postgresql:// URL (the target speaks PostgreSQL's protocol)"
            ))),
        }
    };
    let ends = match (url("SOURCE_URL", true)?, url("TARGET_URL", false)?) {
        (Some(s), t) => Some((s, t.unwrap_or_else(|| crdb.clone()))),
        (None, Some(_)) => {
            return Err(ConfigError(
                "TARGET_URL: needs SOURCE_URL (the two ends of the replication gate)".into(),
            ))
        }
        (None, None) => None,
    };
    if ends.is_none() && args.wait_for_replication.is_some() {
        return Err(ConfigError(
            "ORCH_WAIT_FOR_REPLICATION: needs SOURCE_URL, where the gate writes its token".into(),
        ));
    }
    lsn_settings(args, ends.as_ref().map(|(s, _)| s))?;
    if args.proxy_lost_after <= args.heartbeat_interval {
        return Err(ConfigError(
            "ORCH_PROXY_LOST_AFTER: must be longer than ORCH_HEARTBEAT_INTERVAL".into(),
        ));
    }
    if args.forget_proxy_after <= args.proxy_lease {
        return Err(ConfigError(
            "ORCH_FORGET_PROXY_AFTER: must be longer than ORCH_PROXY_LEASE".into(),
        ));
    }
    if args.proxy_lease < args.proxy_lost_after {
        return Err(ConfigError(
            "ORCH_PROXY_LEASE: must be at least ORCH_PROXY_LOST_AFTER".into(),
        ));
    }
    let control = ControlAuth::new(
        CONTROL_KEYS,
        args.tls_cert.clone(),
        args.tls_key.clone(),
        args.tls_ca_cert.clone(),
        args.control_token_file.clone(),
        args.insecure_control_plane,
    )
    .map_err(|e| ConfigError(e.to_string()))?;
    Ok(Settings {
        crdb,
        lms,
        ends,
        control,
    })
}

#[cfg(test)]
mod tests;
