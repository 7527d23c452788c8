//! The orchestrator's base URL: normalized once, and shown only without credentials.

use reqwest::Url;
use std::fmt;

/// A validated http(s) base URL. `Display` and `Debug` strip any user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct OrchestratorUrl {
    url: Url,
}

impl OrchestratorUrl {
    /// Accepts `host:port` without a scheme (as `http://host:port`), like the reference CLI.
    /// Errors never quote the input, which may hold a password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("the orchestrator URL is empty".to_owned());
        }
        // Without "://", `Url::parse("localhost:4200")` would read "localhost" as the scheme.
        let with_scheme = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| format!("the orchestrator URL is not valid: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the orchestrator URL has scheme {}; use http or https",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the orchestrator URL has no host".to_owned());
        }
        Ok(Self { url })
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The URL of an API path such as `/api/v1/status`, keeping any base path.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url.set_query(None);
        url
    }

    /// The URL as shown to people: no credentials, no trailing slash.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        // Both only fail for URLs that cannot carry credentials, which then have none.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string().trim_end_matches('/').to_owned()
    }
}

impl fmt::Display for OrchestratorUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for OrchestratorUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrchestratorUrl({})", self.redacted())
    }
}
