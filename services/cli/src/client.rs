//! The HTTP client to the orchestrator's REST API: one method per endpoint, typed errors.

mod tls;

use crate::cli::GlobalArgs;
use crate::orchestrator_url::OrchestratorUrl;
use crate::CliError;
use molt_lms_api::check::CheckReport;
use molt_lms_api::cutover::{BeginRequest, CutoverAttempt, FinishRequest, OrchestratorStatus};
use molt_lms_api::proxy::ProxyStatusRow;
use molt_lms_api::roles::{RolesSyncReport, RolesSyncRequest};
use molt_lms_api::shadow::ShadowReport;
use molt_lms_api::verify::{VerifyRequest, VerifyRun};
use molt_lms_api::{ApiError, ConnectionInfo};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Applies to every request that does not set its own limit.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Commit and abort answer once every proxy confirmed, which may take a while.
const FINISH_TIMEOUT: Duration = Duration::from_secs(120);
/// The cutover check waits up to 20 s for each proxy; begin runs it first.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// A sync makes a few round trips per role to both databases.
const ROLES_SYNC_TIMEOUT: Duration = Duration::from_secs(150);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed. Messages name the orchestrator only by its redacted URL.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the orchestrator at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the orchestrator at {url} did not answer within {}", humantime::format_duration(*.after))]
    TimedOut { url: String, after: Duration },
    /// The orchestrator refused the request with an [`ApiError`] body.
    #[error("{}", .body.error)]
    Api { status: u16, body: ApiError },
    #[error("unexpected answer from the orchestrator (HTTP {status}): {detail}")]
    Unexpected { status: u16, detail: String },
    #[error("{0}")]
    Tls(String),
}

impl ClientError {
    /// True when a retry may succeed: no answer, or a 503 while the orchestrator's
    /// coordinator restarts and reloads its persisted state.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::TimedOut { .. } => true,
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                *status == 503
            }
            ClientError::Tls(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResponse {
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitializeResponse {
    pub initialized: bool,
}

/// A connection to the orchestrator, built once per command from the global flags.
pub struct Client {
    http: reqwest::Client,
    base: OrchestratorUrl,
}

impl Client {
    pub fn new(global: &GlobalArgs) -> Result<Self, CliError> {
        let base = global.orchestrator_url()?;
        let builder = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("molt-lms-cli/", env!("CARGO_PKG_VERSION")));
        let builder = tls::configure(builder, global, &base)?;
        let builder = tls::token(builder, global)?;
        let http = builder
            .build()
            .map_err(|e| ClientError::Tls(format!("cannot set up TLS: {}", chain(&e))))?;
        Ok(Self { http, base })
    }

    pub async fn initialize(&self) -> Result<InitializeResponse, ClientError> {
        self.send(
            self.http.post(self.base.endpoint("/api/v1/initialize")),
            None,
        )
        .await
    }

    pub async fn status(&self) -> Result<OrchestratorStatus, ClientError> {
        self.get("/api/v1/status", &[]).await
    }

    pub async fn proxies_status(&self, lms: &[String]) -> Result<Vec<ProxyStatusRow>, ClientError> {
        self.get("/api/v1/proxies/status", lms).await
    }

    pub async fn connections(&self, lms: &[String]) -> Result<Vec<ConnectionInfo>, ClientError> {
        self.get("/api/v1/connections", lms).await
    }

    pub async fn shadow(&self, lms: &[String]) -> Result<ShadowReport, ClientError> {
        self.get("/api/v1/shadow", lms).await
    }

    pub async fn check(&self, lms: &[String]) -> Result<CheckReport, ClientError> {
        self.get_within("/api/v1/cutover/check", lms, Some(CHECK_TIMEOUT))
            .await
    }

    pub async fn roles_sync(&self, req: &RolesSyncRequest) -> Result<RolesSyncReport, ClientError> {
        self.post("/api/v1/roles/sync", req, ROLES_SYNC_TIMEOUT)
            .await
    }

    pub async fn version(&self) -> Result<VersionResponse, ClientError> {
        self.get("/api/v1/version", &[]).await
    }

    pub async fn verify_start(&self, req: &VerifyRequest) -> Result<VerifyRun, ClientError> {
        self.post("/api/v1/verify", req, DEFAULT_TIMEOUT).await
    }

    pub async fn verify_run(&self, id: u64) -> Result<VerifyRun, ClientError> {
        self.get(&format!("/api/v1/verify/{id}"), &[]).await
    }

    /// The newest runs, newest first.
    pub async fn verify_runs(&self) -> Result<Vec<VerifyRun>, ClientError> {
        self.get("/api/v1/verify", &[]).await
    }

    pub async fn attempt(&self, id: u64) -> Result<CutoverAttempt, ClientError> {
        self.get(&format!("/api/v1/cutover/{id}"), &[]).await
    }

    /// Begin runs the cutover check first unless `skip_check`, hence the check's limit.
    pub async fn begin(&self, req: &BeginRequest) -> Result<CutoverAttempt, ClientError> {
        self.post("/api/v1/cutover/begin", req, CHECK_TIMEOUT).await
    }

    /// `gate`: how long the orchestrator may first wait for replication.
    pub async fn commit(
        &self,
        req: &FinishRequest,
        gate: Duration,
    ) -> Result<CutoverAttempt, ClientError> {
        self.post("/api/v1/cutover/commit", req, FINISH_TIMEOUT + gate)
            .await
    }

    /// `limit` bounds the whole request; the Ctrl-C path of `begin` keeps it short.
    pub async fn abort(
        &self,
        req: &FinishRequest,
        limit: Option<Duration>,
    ) -> Result<CutoverAttempt, ClientError> {
        let limit = limit.unwrap_or(FINISH_TIMEOUT);
        self.post("/api/v1/cutover/abort", req, limit).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, lms: &[String]) -> Result<T, ClientError> {
        self.get_within(path, lms, None).await
    }

    /// A GET bounded by `limit` instead of the default timeout.
    async fn get_within<T: DeserializeOwned>(
        &self,
        path: &str,
        lms: &[String],
        limit: Option<Duration>,
    ) -> Result<T, ClientError> {
        let mut url = self.base.endpoint(path);
        if !lms.is_empty() {
            url.query_pairs_mut()
                .append_pair("lms_addresses", &lms.join(","));
        }
        let mut req = self.http.get(url);
        if let Some(limit) = limit {
            req = req.timeout(limit);
        }
        self.send(req, limit).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        limit: Duration,
    ) -> Result<T, ClientError> {
        let req = self.http.post(self.base.endpoint(path)).json(body);
        self.send(req.timeout(limit), Some(limit)).await
    }

    /// Sends, then decodes a 2xx body as `T` and anything else as an [`ApiError`].
    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        limit: Option<Duration>,
    ) -> Result<T, ClientError> {
        let transport = |e: reqwest::Error| self.transport_error(e, limit);
        let req = match crate::trace::current() {
            Some(tp) => req.header("traceparent", tp),
            None => req,
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(transport)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
                status,
                detail: format!("cannot decode the answer: {e}"),
            });
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(body) => Err(ClientError::Api { status, body }),
            Err(_) => Err(ClientError::Unexpected {
                status,
                detail: snippet(&bytes),
            }),
        }
    }

    fn transport_error(&self, e: reqwest::Error, limit: Option<Duration>) -> ClientError {
        let url = self.base.redacted();
        if e.is_timeout() && !e.is_connect() {
            let after = limit.unwrap_or(DEFAULT_TIMEOUT);
            return ClientError::TimedOut { url, after };
        }
        let reason = chain(&e.without_url());
        ClientError::Unreachable { url, reason }
    }
}

/// An error and its sources on one line; reqwest's own message alone says too little.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The start of a non-JSON error body, on one line.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::output::truncate(&line, 200)
}
