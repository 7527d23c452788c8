//! The proxy's link to the orchestrator: registration before it accepts clients, then a
//! heartbeat carrying its cutover report (sent early whenever its phase changes), whose
//! answer is the desired state the instance converges to.

use crate::peers::Peers;
use crate::proxy_instance::{ApplyDesired, Fence, GetReport, ProxyInstance};
use actix::Addr;
use molt_lms_api::cutover::{Deregistration, Directive, Heartbeat, ProxyReport, Registration};
use molt_lms_common::control::client::ControlClient;
use molt_lms_common::control::{ControlAuth, ControlError};
use std::sync::{Arc, Mutex};
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
    #[error(transparent)]
    Credentials(#[from] ControlError),
}

#[derive(Clone)]
pub struct OrchestratorClient {
    base: String,
    http: ControlClient,
    registration: Registration,
    /// The key the last registration issued; heartbeats and deregistration carry it.
    key: Arc<Mutex<String>>,
    /// Updated from every answer, for cancel requests meant for another proxy.
    peers: Arc<Peers>,
}

impl OrchestratorClient {
    pub fn new(
        base_url: &str,
        registration: Registration,
        auth: &ControlAuth,
        peers: Arc<Peers>,
    ) -> Result<Self, OrchError> {
        // The orchestrator has a stable name (its Service): its host name is checked.
        let http = ControlClient::new(auth, REQUEST_TIMEOUT, true)?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
            registration,
            key: Arc::new(Mutex::new(String::new())),
            peers,
        })
    }

    fn key(&self) -> String {
        self.key.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
        let d: Directive = resp
            .json()
            .await
            .map_err(|e| OrchError::Http(e.to_string()))?;
        self.peers.set(d.peers.clone());
        Ok(d)
    }

    /// Tells the orchestrator this proxy is gone (after a graceful drain); best effort.
    pub async fn deregister(&self) {
        let body = Deregistration {
            lms_address: self.registration.lms_address.clone(),
            proxy_key: self.key(),
        };
        let sent = self
            .http
            .post(format!("{}/api/v1/proxies/deregister", self.base))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!("deregistered from the orchestrator")
            }
            Ok(r) => {
                tracing::warn!(status = %r.status(), "the orchestrator refused the deregistration")
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "cannot deregister from the orchestrator")
            }
        }
    }

    pub async fn register(&self) -> Result<Directive, OrchError> {
        let d = self
            .post("/api/v1/proxies/register", &self.registration)
            .await?;
        if let Some(k) = &d.proxy_key {
            *self.key.lock().unwrap_or_else(|e| e.into_inner()) = k.clone();
        }
        Ok(d)
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
            proxy_key: self.key(),
        };
        self.post("/api/v1/proxies/heartbeat", &body).await
    }

    /// Heartbeats until `stop` fires (or the instance is gone), starting from the
    /// registration's directive. A stop never cuts an exchange short: one that is under
    /// way may still register again (its heartbeat found the registration gone), so the
    /// caller deregisters only after this returns.
    /// Losing the orchestrator leaves a paused instance paused until an answer says
    /// otherwise; once the lease of the last answer runs out, the instance holds new
    /// transactions too (a commit it never heard of may have happened), until an answer
    /// comes and is applied.
    pub async fn run(
        self,
        instance: Addr<ProxyInstance>,
        mut changes: watch::Receiver<u64>,
        first: &Directive,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut lease = Lease::new(first);
        let mut failing = false;
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(lease.interval) => {}
                r = changes.changed() => if r.is_err() { return },
                _ = lease.expiry() => lease.fence(&instance),
            }
            let Ok(report) = instance.send(GetReport).await else {
                return;
            };
            let exchange = async {
                match self.heartbeat(report).await {
                    Err(OrchError::NotRegistered) => self.register().await,
                    other => other,
                }
            };
            tokio::pin!(exchange);
            // The lease runs out on time even while a request hangs.
            let answer = loop {
                tokio::select! {
                    a = &mut exchange => break a,
                    _ = lease.expiry() => lease.fence(&instance),
                }
            };
            match answer {
                Ok(directive) => {
                    if failing {
                        tracing::info!("orchestrator reachable again");
                        failing = false;
                    }
                    if let Ok(Err(stale)) =
                        instance.send(ApplyDesired(directive.desired.clone())).await
                    {
                        tracing::warn!(current = stale.current, "ignored a stale desired state");
                    }
                    // Only after the desired state is applied: releasing first could let a
                    // held request run on a source of truth the answer just replaced.
                    lease.renew(&directive, &instance);
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

/// The proxy's side of the lease: when the last answer came, how long it stays good, and
/// whether the instance is fenced.
struct Lease {
    interval: Duration,
    length: Option<Duration>,
    renewed: tokio::time::Instant,
    fenced: bool,
}

impl Lease {
    fn new(d: &Directive) -> Self {
        Self {
            interval: Duration::from_millis(d.heartbeat_interval_ms.max(100)),
            length: (d.lease_ms > 0).then(|| Duration::from_millis(d.lease_ms)),
            renewed: tokio::time::Instant::now(),
            fenced: false,
        }
    }

    /// Resolves when the lease runs out (never, with no lease or once fenced).
    async fn expiry(&self) {
        match self.length.filter(|_| !self.fenced) {
            Some(l) => tokio::time::sleep_until(self.renewed + l).await,
            None => std::future::pending().await,
        }
    }

    fn fence(&mut self, instance: &Addr<ProxyInstance>) {
        self.fenced = true;
        instance.do_send(Fence(true));
    }

    fn renew(&mut self, d: &Directive, instance: &Addr<ProxyInstance>) {
        let fenced = self.fenced;
        *self = Self::new(d);
        if fenced {
            instance.do_send(Fence(false));
        }
    }
}
