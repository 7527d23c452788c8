//! The proxy's link to the orchestrator: registration before it accepts clients, then a
//! heartbeat carrying its cutover report (sent early whenever its phase changes), whose
//! answer is the desired state the instance converges to.

use crate::proxy_instance::{ApplyDesired, GetReport, ProxyInstance};
use actix::Addr;
use molt_lms_api::cutover::{Directive, Heartbeat, ProxyReport, Registration};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Error)]
pub enum OrchError {
    #[error("the orchestrator does not know this proxy")]
    NotRegistered,
    #[error("orchestrator request failed: {0}")]
    Http(String),
    #[error("orchestrator answered {status}: {body}")]
    Status { status: u16, body: String },
}

pub struct OrchestratorClient {
    base: String,
    http: reqwest::Client,
    registration: Registration,
}

impl OrchestratorClient {
    pub fn new(base_url: &str, registration: Registration) -> Result<Self, OrchError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| OrchError::Http(e.to_string()))?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
            registration,
        })
    }

    async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Directive, OrchError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| OrchError::Http(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Err(OrchError::NotRegistered);
        }
        if !(200..300).contains(&status) {
            let body = resp.text().await.unwrap_or_default();
            return Err(OrchError::Status { status, body });
        }
        resp.json()
            .await
            .map_err(|e| OrchError::Http(e.to_string()))
    }

    pub async fn register(&self) -> Result<Directive, OrchError> {
        self.post("/api/v1/proxies/register", &self.registration)
            .await
    }

    /// Registers, retrying until the orchestrator answers: a proxy must learn the
    /// source of truth before it serves anyone.
    pub async fn register_until_ok(&self) -> Directive {
        let mut logged = false;
        loop {
            match self.register().await {
                Ok(d) => return d,
                Err(e) => {
                    if !logged {
                        tracing::warn!(error = %e, "cannot register with the orchestrator yet; retrying");
                        logged = true;
                    }
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    async fn heartbeat(&self, report: ProxyReport) -> Result<Directive, OrchError> {
        let body = Heartbeat {
            lms_address: self.registration.lms_address.clone(),
            report,
        };
        self.post("/api/v1/proxies/heartbeat", &body).await
    }

    /// Heartbeats until the process ends. Losing the orchestrator changes nothing here:
    /// a paused instance stays paused until an answer says otherwise.
    pub async fn run(
        self,
        instance: Addr<ProxyInstance>,
        mut changes: watch::Receiver<u64>,
        interval: Duration,
    ) {
        let mut interval = interval;
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                r = changes.changed() => if r.is_err() { return },
            }
            let Ok(report) = instance.send(GetReport).await else {
                return;
            };
            let answer = match self.heartbeat(report).await {
                Err(OrchError::NotRegistered) => self.register().await,
                other => other,
            };
            match answer {
                Ok(directive) => {
                    if failing {
                        tracing::info!("orchestrator reachable again");
                        failing = false;
                    }
                    interval = Duration::from_millis(directive.heartbeat_interval_ms.max(100));
                    if let Ok(Err(stale)) = instance.send(ApplyDesired(directive.desired)).await {
                        tracing::warn!(current = stale.current, "ignored a stale desired state");
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "heartbeat to the orchestrator failed");
                        failing = true;
                    }
                }
            }
        }
    }
}
