//! Builds the validated [`ProxySettings`] from flags, environment and `config.json`.
//! Every error names the key at fault and never contains a password.

use crate::cli::Args;
use molt_lms_api::{Dialect, ShadowMode, SourceOfTruth};
use molt_lms_common::backend_url::BackendUrl;
use molt_lms_common::config_file::{self, ConfigFileError};
use molt_lms_common::control::{ControlAuth, Keys};
use molt_lms_common::tls::{self, TlsError};
use molt_lms_proxy_actors::settings::{ProxySettings, ServerTlsFiles};
use std::collections::HashMap;
use thiserror::Error;

/// Keys `config.json` may hold.
const FILE_KEYS: [&str; 3] = ["INIT_SOURCE", "INIT_TARGET", "AUTH_QUERY"];

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{}{reason}", if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Invalid { key: String, reason: String },
    #[error("{key}: missing (set it in config.json via --config/LMS_CONFIG, or as an environment variable)")]
    Missing { key: &'static str },
    #[error("LMS_CONFIG: cannot read {path}: {reason}")]
    File { path: String, reason: String },
    /// Already names its key (the control plane's settings).
    #[error("{0}")]
    Control(String),
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The file's keys (upper-cased) with environment overrides applied.
type FileValues = HashMap<String, String>;

fn file_values(args: &Args) -> Result<FileValues, ConfigError> {
    config_file::load(args.config.as_deref(), &FILE_KEYS).map_err(|e| match e {
        ConfigFileError::Read { path, reason } => ConfigError::File { path, reason },
        other => ConfigError::Invalid {
            key: String::new(),
            reason: other.to_string(),
        },
    })
}

fn url(
    values: &FileValues,
    key: &'static str,
    dialect: Dialect,
) -> Result<BackendUrl, ConfigError> {
    let raw = values
        .get(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing { key })?;
    let url = BackendUrl::parse(raw.trim()).map_err(|e| invalid(key, e.to_string()))?;
    let pg_scheme = matches!(url.scheme.as_str(), "postgres" | "postgresql");
    if (dialect == Dialect::Mysql) == pg_scheme {
        return Err(invalid(
            key,
            format!(
                "{} URL does not match dialect '{dialect}' ({})",
                url.scheme,
                url.redacted()
            ),
        ));
    }
    Ok(url)
}

const CONTROL_KEYS: Keys = Keys {
    token: "LMS_CONTROL_TOKEN_FILE",
    cert: "LMS_CONTROL_TLS_CERT",
    key: "LMS_CONTROL_TLS_KEY",
    ca: "LMS_CONTROL_TLS_CA",
    insecure: "--insecure-control-plane (LMS_INSECURE_CONTROL_PLANE=true)",
};

/// Validates everything the proxy needs before it binds a port.
pub fn load(args: &Args) -> Result<ProxySettings, ConfigError> {
    if args.target_dialect == Dialect::Mysql {
        return Err(invalid(
            "LMS_TARGET_DIALECT",
            "the target must speak the PostgreSQL protocol (cockroach or postgres)",
        ));
    }
    if args.shadow_mode != ShadowMode::None && args.shadow_compare_budget < 1024 {
        return Err(invalid(
            "LMS_SHADOW_COMPARE_BUDGET",
            "must be at least 1KiB",
        ));
    }
    if let Some(u) = &args.orchestrator_url {
        url::Url::parse(u).map_err(|e| invalid("LMS_ORCHESTRATOR_URL", e.to_string()))?;
    }
    if args.workers == Some(0) {
        return Err(invalid("LMS_WORKERS", "must be at least 1"));
    }
    let cfg = file_values(args)?;
    let source = url(&cfg, "INIT_SOURCE", args.source_dialect)?;
    let target = url(&cfg, "INIT_TARGET", args.target_dialect)?;
    let auth_query = args
        .auth_query
        .clone()
        .or_else(|| cfg.get("AUTH_QUERY").cloned());
    let mysql_target_logins = match &args.mysql_target_logins {
        None => None,
        Some(_) if args.source_dialect != Dialect::Mysql => {
            return Err(invalid(
                "LMS_MYSQL_TARGET_LOGINS",
                "only applies with source dialect mysql",
            ))
        }
        Some(path) => Some(std::sync::Arc::new(
            molt_lms_proxy_actors::TargetLogins::load(path)
                .map_err(|e| invalid("LMS_MYSQL_TARGET_LOGINS", e.to_string()))?,
        )),
    };
    let tls = match (&args.ssl_cert, &args.ssl_key) {
        (Some(cert), Some(key)) => Some(ServerTlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.ssl_ca.clone(),
        }),
        (None, None) if args.ssl_ca.is_some() => {
            return Err(invalid("LMS_SSL_CA", "needs LMS_SSL_CERT and LMS_SSL_KEY"))
        }
        (None, None) => None,
        (Some(_), None) => return Err(invalid("LMS_SSL_KEY", "missing: LMS_SSL_CERT is set")),
        (None, Some(_)) => return Err(invalid("LMS_SSL_CERT", "missing: LMS_SSL_KEY is set")),
    };
    for (key, u) in [("INIT_SOURCE", &source), ("INIT_TARGET", &target)] {
        tls::client_config(&u.ssl).map_err(|e| invalid(key, e.to_string()))?;
    }
    if let Some(f) = &tls {
        tls::server_config(&f.cert, &f.key, f.client_ca.as_deref()).map_err(|e| {
            let key = match &e {
                TlsError::Cert { path, .. } if Some(path) == f.client_ca.as_ref() => "LMS_SSL_CA",
                TlsError::Key { .. } => "LMS_SSL_KEY",
                _ => "LMS_SSL_CERT",
            };
            invalid(key, e.to_string())
        })?;
    }
    if args.require_tls && tls.is_none() {
        return Err(invalid(
            "LMS_REQUIRE_TLS",
            "needs LMS_SSL_CERT and LMS_SSL_KEY (TLS with clients)",
        ));
    }
    if args.cancel_rate_limit == 0 {
        return Err(invalid("LMS_CANCEL_RATE_LIMIT", "must be at least 1"));
    }
    if args.max_client_connections == 0 {
        return Err(invalid("LMS_MAX_CLIENT_CONNECTIONS", "must be at least 1"));
    }
    if args.backend_login_timeout.is_zero() {
        return Err(invalid("LMS_BACKEND_LOGIN_TIMEOUT", "must be more than 0"));
    }
    if !(0.0..=1.0).contains(&args.trace_queries) {
        return Err(invalid("LMS_TRACE_QUERIES", "must be between 0 and 1"));
    }
    if args.client_login_timeout.is_zero() {
        return Err(invalid("LMS_CLIENT_LOGIN_TIMEOUT", "must be more than 0"));
    }
    if args.max_buffered_message < 64 * 1024 {
        return Err(invalid(
            "LMS_MAX_BUFFERED_MESSAGE",
            "must be at least 64KiB",
        ));
    }
    if args.buffer_budget < args.max_buffered_message {
        return Err(invalid(
            "LMS_BUFFER_BUDGET",
            "must be at least LMS_MAX_BUFFERED_MESSAGE, or no large message could ever be held",
        ));
    }
    let require_tls = args.require_tls || args.ssl_ca.is_some();
    let control = ControlAuth::new(
        CONTROL_KEYS,
        args.control_tls_cert
            .clone()
            .or_else(|| args.ssl_cert.clone()),
        args.control_tls_key
            .clone()
            .or_else(|| args.ssl_key.clone()),
        args.control_tls_ca.clone().or_else(|| args.ssl_ca.clone()),
        args.control_token_file.clone(),
        args.insecure_control_plane,
    )
    .map_err(|e| ConfigError::Control(e.to_string()))?;
    Ok(ProxySettings {
        control,
        source,
        target,
        source_dialect: args.source_dialect,
        target_dialect: args.target_dialect,
        shadow_mode: args.shadow_mode,
        shadow_compare_budget: args.shadow_compare_budget,
        shadow_samples: args.shadow_samples,
        advertise_address: String::new(),
        admin_address: String::new(),
        auth_query,
        mysql_target_logins,
        shutdown_timeout: args.shutdown_timeout,
        tls,
        require_tls,
        max_client_connections: args.max_client_connections,
        cancel_rate_limit: args.cancel_rate_limit,
        backend_login_timeout: args.backend_login_timeout,
        client_login_timeout: args.client_login_timeout,
        trace_queries: args.trace_queries,
        max_buffered_message: args.max_buffered_message,
        buffer_budget: args.buffer_budget,
        shadow_budget: args.shadow_budget,
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        initial_source_of_truth: SourceOfTruth::Source,
    })
}

/// The admin address to advertise: the SQL advertise host with the admin port.
pub fn advertise_address_of(sql_advertise: &str, admin: std::net::SocketAddr) -> String {
    match sql_advertise.rsplit_once(':') {
        Some((host, _))
            if !admin.ip().is_loopback() || host == "127.0.0.1" || host == "localhost" =>
        {
            format!("{host}:{}", admin.port())
        }
        _ => admin.to_string(),
    }
}

/// The address other components should use: the flag, else `POD_IP` with the bound
/// port, else the bound address (with the host name when bound to all interfaces).
pub fn advertise_address(args: &Args, bound: std::net::SocketAddr) -> String {
    if let Some(a) = &args.advertise_address {
        return a.clone();
    }
    if let Ok(ip) = std::env::var("POD_IP") {
        return format!("{ip}:{}", bound.port());
    }
    if bound.ip().is_unspecified() {
        if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            return format!("{}:{}", host.trim(), bound.port());
        }
    }
    bound.to_string()
}
