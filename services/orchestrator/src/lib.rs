//! The `molt-lms-orchestrator` binary's library half: configuration, routes and `run`.

pub mod api_metrics;
pub mod cli;
pub mod config;
pub mod routes;

use actix::{Actor, Addr, Supervisor};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use molt_lms_api::cutover::ReplicationCheck;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::control::{client::ControlClient, guard, server_tls, ControlAuth};
use molt_lms_common::pg_dial::PgDialer;
use molt_lms_common::rest;
use molt_lms_orchestrator_actors::coordinator::{Coordinator, CoordinatorSettings};
use molt_lms_orchestrator_actors::gate::Sentinel;
use molt_lms_orchestrator_actors::store::Store;
use molt_lms_orchestrator_actors::verifier::Verifier;
use molt_lms_orchestrator_actors::verify::{Ends, SourceDb};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// What every request handler shares.
pub struct AppState {
    pub coordinator: Addr<Coordinator>,
    /// Runs `verify` jobs.
    pub verifier: Addr<Verifier>,
    /// Calls the proxies' control endpoints with this side's credentials.
    pub http: ControlClient,
    pub finish_timeout: Duration,
    pub prepare_timeout: Duration,
    /// The replication gate's two databases, when SOURCE_URL is set.
    pub sentinel: Option<Arc<Sentinel>>,
    /// How long a commit waits for replication unless it says otherwise.
    pub wait_for_replication: Option<Duration>,
    /// The gate's check unless a request says otherwise.
    pub replication_check: ReplicationCheck,
    /// The last lag the gate measured, in milliseconds (`u64::MAX`: none yet).
    pub replication_lag_ms: std::sync::atomic::AtomicU64,
    /// API latency by route and status.
    pub api_metrics: api_metrics::ApiMetrics,
    /// The gate a commit waits for now, shown on its attempt.
    pub live_gate: std::sync::Mutex<Option<Arc<routes::cutover::LiveGate>>>,
}

/// The API's TLS configuration, if it serves HTTPS.
fn tls_config(control: &ControlAuth) -> anyhow::Result<Option<rustls::ServerConfig>> {
    control
        .tls
        .as_ref()
        .map(server_tls::server_config)
        .transpose()
        .context("ORCH_TLS_CERT")
}

/// Serves until SIGTERM/SIGINT. Prints `molt-lms-orchestrator ready api=ADDR metrics=ADDR`.
pub async fn run(args: cli::Args, settings: config::Settings) -> anyhow::Result<()> {
    let api = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("ORCH_LISTEN: cannot listen on {}", args.listen))?;
    let metrics = std::net::TcpListener::bind(args.metrics_listen).with_context(|| {
        format!(
            "ORCH_METRICS_LISTEN: cannot listen on {}",
            args.metrics_listen
        )
    })?;
    let (api_addr, metrics_addr) = (api.local_addr()?, metrics.local_addr()?);
    tracing::info!(metadata = %settings.crdb.redacted(), lms = ?settings.lms.as_ref().map(|u| u.redacted()), control_plane = %settings.control.describe(), "starting");
    if settings.control.insecure {
        tracing::warn!("the control plane is unauthenticated (--insecure-control-plane): anyone who reaches the API can pause, switch or resume every proxy");
    }
    molt_lms_common::control::files::reload_on_sighup();
    let (sentinel, verify_ends) = match settings.ends {
        Some((source, target)) => {
            let target_dialer =
                || PgDialer::new(SourceOfTruth::Target, target.clone()).context("TARGET_URL");
            let source_db = || -> anyhow::Result<SourceDb> {
                Ok(if source.scheme == "mysql" {
                    SourceDb::MySql(source.clone())
                } else {
                    SourceDb::Pg(
                        PgDialer::new(SourceOfTruth::Source, source.clone())
                            .context("SOURCE_URL")?,
                    )
                })
            };
            let sentinel = Sentinel::new(source_db()?, target_dialer()?)
                .with_slots(args.replication_slots.clone());
            let ends = Ends {
                source: source_db()?,
                target: target_dialer()?,
            };
            (Some(Arc::new(sentinel)), Some(Arc::new(ends)))
        }
        None => (None, None),
    };
    let backend =
        Arc::new(PgDialer::new(SourceOfTruth::Target, settings.crdb).context("CRDB_URL")?);
    let store = Arc::new(Store::new(backend));
    // Proxies are called at pod addresses no certificate names: their chain is checked
    // against the CA, not their host name.
    let http = ControlClient::new(&settings.control, Duration::from_secs(5), false)?;
    let coord_settings = CoordinatorSettings {
        heartbeat_interval: args.heartbeat_interval,
        lost_after: args.proxy_lost_after,
        lease: args.proxy_lease,
        prepare_timeout: args.prepare_timeout,
        forget_after: args.forget_proxy_after,
    };
    let coordinator = {
        let (store, http) = (store.clone(), http.clone());
        Supervisor::start(move |_| Coordinator::new(store, coord_settings, http))
    };
    let verifier = Verifier::new(store.clone(), verify_ends).start();
    let state = web::Data::new(AppState {
        coordinator,
        verifier,
        http,
        finish_timeout: args.finish_timeout,
        prepare_timeout: args.prepare_timeout,
        sentinel,
        wait_for_replication: args.wait_for_replication,
        replication_check: args.replication_check.into(),
        replication_lag_ms: std::sync::atomic::AtomicU64::new(u64::MAX),
        api_metrics: api_metrics::ApiMetrics::new(),
        live_gate: std::sync::Mutex::new(None),
    });
    let s = state.clone();
    let auth = web::Data::new(settings.control.clone());
    let api_server = HttpServer::new(move || {
        use routes::{check, cutover, dashboard, proxies, roles, status, verify};
        let control = web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(guard::require))
            .route("/initialize", web::post().to(cutover::initialize))
            .route("/status", web::get().to(status::status))
            .route("/proxies/register", web::post().to(proxies::register))
            .route("/proxies/deregister", web::post().to(proxies::deregister))
            .route("/proxies/heartbeat", web::post().to(proxies::heartbeat))
            .route("/proxies/status", web::get().to(proxies::proxy_status))
            .route("/connections", web::get().to(proxies::connections))
            .route("/shadow", web::get().to(proxies::shadow))
            .route("/roles/sync", web::post().to(roles::sync))
            .route("/cutover/check", web::get().to(check::check))
            .route("/cutover/begin", web::post().to(cutover::begin))
            .route("/cutover/commit", web::post().to(cutover::commit))
            .route("/cutover/abort", web::post().to(cutover::abort))
            .route("/cutover/{id}", web::get().to(cutover::get))
            .route("/verify", web::post().to(verify::start))
            .route("/verify", web::get().to(verify::list))
            .route("/verify/{id}", web::get().to(verify::get))
            .default_service(web::to(rest::not_found));
        App::new()
            .app_data(s.clone())
            .app_data(auth.clone())
            .app_data(rest::json_errors(256 * 1024))
            .app_data(routes::path_errors())
            .app_data(routes::query_errors())
            // Public: what a probe or a curious client may know without credentials.
            .route("/api/v1/version", web::get().to(status::version))
            .route("/api/v1/openapi.json", web::get().to(status::openapi))
            .route("/healthz", web::get().to(status::healthz))
            // The dashboard page carries no data: its script reads the guarded API.
            .route("/", web::get().to(dashboard::index))
            .route("/dashboard/app.js", web::get().to(dashboard::app_js))
            .route("/dashboard/style.css", web::get().to(dashboard::style_css))
            .service(control)
            .default_service(web::to(rest::not_found))
            .wrap(actix_web::middleware::from_fn(api_metrics::measure))
    })
    .on_connect(molt_lms_common::control::peer::on_connect)
    .workers(2)
    .disable_signals()
    .shutdown_timeout(2);
    let api_server = match tls_config(&settings.control)? {
        Some(cfg) => api_server.listen_rustls_0_23(api, cfg)?,
        None => api_server.listen(api)?,
    }
    .run();
    let m = state.clone();
    let metrics_server = HttpServer::new(move || {
        use routes::status;
        App::new()
            .app_data(m.clone())
            .route("/metrics", web::get().to(status::metrics))
            .route("/healthz", web::get().to(status::healthz))
            .route("/readyz", web::get().to(status::readyz))
            .default_service(web::to(rest::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(metrics)?
    .run();
    let (h1, h2) = (api_server.handle(), metrics_server.handle());
    actix_rt::spawn(api_server);
    actix_rt::spawn(metrics_server);
    println!("molt-lms-orchestrator ready api={api_addr} metrics={metrics_addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%api_addr, %metrics_addr, "listening");
    // A coordinator that stopped (a panic in a handler is a bug) would leave every control
    // endpoint answering 503 while the process looks alive: exit instead, so a supervisor
    // restarts it and the state is reloaded from the metadata database.
    let coordinator_gone = {
        let c = state.coordinator.clone();
        async move {
            while c.connected() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    tokio::select! {
        () = molt_lms_common::process::wait_for_signal() => {}
        () = coordinator_gone => {
            tracing::error!("the coordinator stopped unexpectedly; exiting so a restart reloads the state");
            h1.stop(false).await;
            h2.stop(false).await;
            anyhow::bail!("the coordinator stopped unexpectedly");
        }
    }
    tracing::info!("stopping");
    h1.stop(true).await;
    h2.stop(true).await;
    Ok(())
}
