//! Connection URLs of the source and target databases (`INIT_SOURCE`, `INIT_TARGET`),
//! parsed once at start-up. The password is held as a [`Secret`]; everything that
//! displays a URL uses [`BackendUrl::redacted`].

use crate::secret::Secret;
use std::path::PathBuf;
use std::str::FromStr;
use thiserror::Error;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(UrlError::BadSslMode(other.to_owned())),
        })
    }
}

/// TLS settings from the URL's query string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SslOptions {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A parsed `postgresql://user:password@host:port/db?sslmode=…` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendUrl {
    pub scheme: String,
    pub user: String,
    pub password: Option<Secret>,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub ssl: SslOptions,
}

/// Why a URL was refused. Messages never contain the password.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UrlError {
    #[error("not a valid URL ({0})")]
    Syntax(String),
    #[error("unsupported scheme '{0}' (expected postgresql://, postgres:// or mysql://)")]
    Scheme(String),
    #[error("missing host")]
    MissingHost,
    #[error("missing user name")]
    MissingUser,
    #[error("invalid sslmode '{0}' (expected disable, allow, prefer, require, verify-ca or verify-full)")]
    BadSslMode(String),
    #[error("unknown parameter '{0}'")]
    UnknownParameter(String),
    #[error("sslcert and sslkey must be given together")]
    HalfClientCert,
}

impl BackendUrl {
    /// Parses a URL. A stray second `?` in the query (seen in copied examples) is read
    /// as `&` rather than rejected.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let fixed = match raw.split_once('?') {
            Some((head, query)) => format!("{head}?{}", query.replace('?', "&")),
            None => raw.to_owned(),
        };
        let url = url::Url::parse(&fixed).map_err(|e| UrlError::Syntax(e.to_string()))?;
        let scheme = url.scheme().to_owned();
        let default_port = match scheme.as_str() {
            "postgres" | "postgresql" => 5432,
            "mysql" => 3306,
            other => return Err(UrlError::Scheme(other.to_owned())),
        };
        let host = url.host_str().ok_or(UrlError::MissingHost)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let user = decode(url.username());
        if user.is_empty() {
            return Err(UrlError::MissingUser);
        }
        let password = url.password().map(|p| Secret::new(decode(p)));
        let database = decode(url.path().trim_start_matches('/'));
        let mut ssl = SslOptions::default();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "sslmode" => ssl.mode = v.parse()?,
                "sslrootcert" => ssl.root_cert = Some(PathBuf::from(v.as_ref())),
                "sslcert" => ssl.cert = Some(PathBuf::from(v.as_ref())),
                "sslkey" => ssl.key = Some(PathBuf::from(v.as_ref())),
                // Accepted for compatibility with libpq URLs; they do not change routing.
                "application_name" | "connect_timeout" | "options" => {}
                other => return Err(UrlError::UnknownParameter(other.to_owned())),
            }
        }
        if ssl.cert.is_some() != ssl.key.is_some() {
            return Err(UrlError::HalfClientCert);
        }
        Ok(Self {
            database: if database.is_empty() {
                user.clone()
            } else {
                database
            },
            scheme,
            user,
            password,
            host,
            port: url.port().unwrap_or(default_port),
            ssl,
        })
    }

    /// `host:port`, for status output and error messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        let pw = if self.password.is_some() { ":***" } else { "" };
        format!(
            "{}://{}{}@{}/{}",
            self.scheme,
            self.user,
            pw,
            self.address(),
            self.database
        )
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
