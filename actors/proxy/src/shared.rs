//! What every connection of one proxy instance shares, across worker threads.

use crate::auth::lookup::AuthLookup;
use crate::metrics::ProxyMetrics;
use crate::pg::backend::Backend;
use crate::settings::ProxySettings;
use crate::shadow::ShadowLedger;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::tls::{self, TlsError};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub struct Shared {
    pub settings: ProxySettings,
    pub metrics: ProxyMetrics,
    pub tls: Option<TlsAcceptor>,
    /// Outcomes of shadowed requests (empty with shadow mode none).
    pub shadow: ShadowLedger,
    source: Arc<Backend>,
    target: Arc<Backend>,
    source_lookup: AuthLookup,
    target_lookup: AuthLookup,
    /// The source when it speaks MySQL (`--source-dialect mysql`): MySQL clients are
    /// relayed to it, and their accounts looked up there.
    pub(crate) mysql: Option<Arc<crate::mysql::backend::MySqlSource>>,
    /// Cancel requests per source address.
    pub(crate) cancel_limiter: crate::cancel_limit::CancelLimiter,
    /// Bytes client connections hold for large messages, over all of them.
    pub(crate) buffers: crate::buffer_budget::BufferBudget,
    /// Bytes shadowing sessions hold for their shadows, over all of them.
    pub(crate) shadow_buffers: crate::buffer_budget::BufferBudget,
    /// The source threads of this proxy's MySQL sessions, for `KILL <id>`.
    pub(crate) mysql_threads: crate::mysql::kill::Threads,
    /// MySQL sessions served from the target, with their cancel keys there.
    pub(crate) mysql_gateways: Arc<crate::mysql::gateway::Sessions>,
    /// Written only by the proxy instance actor, which owns the setting; connections
    /// read it when they open a session.
    sot: AtomicU8,
    next_id: AtomicU64,
    /// Open while new sessions may pick a backend; a cutover pause closes it.
    pub gate: watch::Sender<bool>,
    /// Bumped whenever the instance's cutover phase changes, so its report goes out now.
    pub report_changed: watch::Sender<u64>,
    /// Milliseconds after `started` before which no shadow session is tried again, after
    /// the shadow database could not be reached: logins then skip it at once instead of
    /// each waiting out a connect timeout.
    shadow_retry_at: AtomicU64,
    started: Instant,
    /// This proxy's cancel tag and its peers', for cancel requests that land here.
    pub peers: Arc<crate::peers::Peers>,
    /// Salts the mock authentication of roles that do not exist (`ScramServer::mock`).
    /// Derived from the source's service credentials, which every proxy of a deployment
    /// shares and no client knows, so all proxies answer an unknown role alike; random
    /// when the source URL has no password. A secret: never shown.
    pub(crate) mock_secret: [u8; 32],
}

/// The mock-salt secret for `url` (see [`Shared::mock_secret`]).
fn mock_secret(url: &molt_lms_common::backend_url::BackendUrl) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    match &url.password {
        Some(p) => Sha256::new()
            .chain_update(b"molt-lms mock secret\0")
            .chain_update(url.user.as_bytes())
            .chain_update(b"\0")
            .chain_update(p.expose().as_bytes())
            .finalize()
            .into(),
        None => rand::random(),
    }
}

/// How long logins skip an unreachable shadow database before trying it again.
const SHADOW_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Shared {
    /// Builds backends and TLS from settings; fails on unreadable certificate files.
    pub fn new(settings: ProxySettings) -> Result<Self, TlsError> {
        let timeout = settings.backend_login_timeout;
        let source = Arc::new(Backend::new(
            SourceOfTruth::Source,
            settings.source.clone(),
            timeout,
        )?);
        let target = Arc::new(Backend::new(
            SourceOfTruth::Target,
            settings.target.clone(),
            timeout,
        )?);
        let tls = match &settings.tls {
            Some(f) => Some(TlsAcceptor::from(tls::server_config(
                &f.cert,
                &f.key,
                f.client_ca.as_deref(),
            )?)),
            None => None,
        };
        let mock_secret = mock_secret(&settings.source);
        let mysql = match settings.source_dialect {
            molt_lms_api::Dialect::Mysql => {
                Some(Arc::new(crate::mysql::backend::MySqlSource::new(
                    SourceOfTruth::Source,
                    settings.source.clone(),
                    timeout,
                )?))
            }
            _ => None,
        };
        let metrics = ProxyMetrics::new(match settings.source_dialect {
            molt_lms_api::Dialect::Mysql => "mysql",
            _ => "postgresql",
        });
        let shadow = ShadowLedger::new(
            settings.shadow_mode,
            settings.advertise_address.clone(),
            settings.shadow_samples,
            metrics.shadow_requests.clone(),
        );
        Ok(Self {
            shadow,
            source_lookup: AuthLookup::new(source.clone(), settings.auth_query.clone()),
            target_lookup: AuthLookup::new(target.clone(), settings.auth_query.clone()),
            mysql,
            mysql_threads: Default::default(),
            mysql_gateways: Default::default(),
            cancel_limiter: crate::cancel_limit::CancelLimiter::new(settings.cancel_rate_limit),
            buffers: crate::buffer_budget::BufferBudget::new(
                settings.buffer_budget,
                metrics.buffered_bytes.clone(),
            ),
            shadow_buffers: crate::buffer_budget::BufferBudget::new(
                settings.shadow_budget,
                metrics.shadow_buffered_bytes.clone(),
            ),
            sot: AtomicU8::new(settings.initial_source_of_truth as u8),
            settings,
            metrics,
            tls,
            source,
            target,
            next_id: AtomicU64::new(1),
            gate: watch::channel(true).0,
            report_changed: watch::channel(0).0,
            shadow_retry_at: AtomicU64::new(0),
            started: Instant::now(),
            peers: Arc::new(crate::peers::Peers::new()),
            mock_secret,
        })
    }

    pub fn source_of_truth(&self) -> SourceOfTruth {
        if self.sot.load(Ordering::Acquire) == SourceOfTruth::Target as u8 {
            SourceOfTruth::Target
        } else {
            SourceOfTruth::Source
        }
    }

    /// Only the proxy instance actor, which owns the setting, calls this.
    pub(crate) fn set_source_of_truth(&self, sot: SourceOfTruth) {
        self.sot.store(sot as u8, Ordering::Release);
    }

    pub fn backend(&self, role: SourceOfTruth) -> &Arc<Backend> {
        match role {
            SourceOfTruth::Source => &self.source,
            SourceOfTruth::Target => &self.target,
        }
    }

    pub fn lookup(&self, role: SourceOfTruth) -> &AuthLookup {
        match role {
            SourceOfTruth::Source => &self.source_lookup,
            SourceOfTruth::Target => &self.target_lookup,
        }
    }

    /// False for a while after the shadow database was unreachable.
    pub fn shadow_worth_trying(&self) -> bool {
        self.started.elapsed().as_millis() as u64 >= self.shadow_retry_at.load(Ordering::Relaxed)
    }

    /// Records that the shadow database could not be reached.
    pub fn shadow_unreachable(&self) {
        let at = (self.started.elapsed() + SHADOW_RETRY_AFTER).as_millis() as u64;
        self.shadow_retry_at.store(at, Ordering::Relaxed);
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}
