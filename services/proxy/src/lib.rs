//! The `molt-lms` proxy binary's library half: configuration, the admin API and `run`,
//! so tests and the binary start the proxy the same way.

pub mod admin;
pub mod cli;
pub mod config;

use actix::Actor;
use anyhow::Context;
use molt_lms_api::cutover::Registration;
use molt_lms_proxy_actors::orch_client::OrchestratorClient;
use molt_lms_proxy_actors::proxy_instance::{ProxyInstance, Shutdown};
use molt_lms_proxy_actors::settings::ProxySettings;
use molt_lms_proxy_actors::shared::Shared;
use std::io::Write;
use std::sync::Arc;

/// Accept queue of the SQL listener. The standard 128 overflows when many clients
/// connect at once (a pool filling up, every client reconnecting after a restart), and
/// each overflowed connect waits a one-second SYN retry. The kernel caps it at somaxconn.
const SQL_BACKLOG: u32 = 4096;
/// How long shutdown waits for a heartbeat under way before it deregisters.
const HEARTBEATS_STOP: std::time::Duration = std::time::Duration::from_secs(5);

fn bind_sql(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(SQL_BACKLOG)
}

/// Binds both listeners, serves until SIGTERM or SIGINT, then drains and returns.
/// Prints `molt-lms ready sql=ADDR admin=ADDR control=ADDR` on stdout once all listen.
pub async fn run(args: cli::Args, mut settings: ProxySettings) -> anyhow::Result<()> {
    let sql = bind_sql(args.listen)
        .with_context(|| format!("LMS_LISTEN: cannot listen on {}", args.listen))?;
    let sql_addr = sql.local_addr()?;
    let admin = std::net::TcpListener::bind(args.metrics_listen).with_context(|| {
        format!(
            "LMS_METRICS_LISTEN: cannot listen on {}",
            args.metrics_listen
        )
    })?;
    admin.set_nonblocking(true)?;
    let admin_addr = admin.local_addr()?;
    let control = std::net::TcpListener::bind(args.control_listen).with_context(|| {
        format!(
            "LMS_CONTROL_LISTEN: cannot listen on {}",
            args.control_listen
        )
    })?;
    control.set_nonblocking(true)?;
    let control_addr = control.local_addr()?;
    settings.advertise_address = config::advertise_address(&args, sql_addr);
    settings.admin_address = admin_addr.to_string();
    let shutdown_timeout = settings.shutdown_timeout;
    tracing::info!(
        // `target` would clash with the log line's own field in JSON.
        source_db = %settings.source.redacted(),
        target_db = %settings.target.redacted(),
        workers = settings.workers,
        control_plane = %settings.control.describe(),
        "starting"
    );
    if settings.control.insecure {
        tracing::warn!("the control API is unauthenticated (--insecure-control-plane): anyone who reaches it can switch this proxy's source of truth");
    }
    molt_lms_common::control::files::reload_on_sighup();
    let control_auth = settings.control.clone();
    let shared = Arc::new(Shared::new(settings).context("TLS configuration")?);
    let registration = Registration {
        lms_address: shared.settings.advertise_address.clone(),
        admin_url: format!(
            "{}://{}",
            shared.settings.control.scheme(),
            args.control_advertise_address.clone().unwrap_or_else(|| {
                config::advertise_address_of(&shared.settings.advertise_address, control_addr)
            })
        ),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        source_dialect: shared.settings.source_dialect,
        target_dialect: shared.settings.target_dialect,
        shadow_mode: shared.settings.shadow_mode,
        source_address: shared.settings.source.address(),
        target_address: shared.settings.target.address(),
        cancel_tag: Some(shared.peers.tag()),
    };
    // A proxy learns the source of truth (and any pause in progress) before it serves.
    let (orchestrator, directive) = match &args.orchestrator_url {
        Some(url) => {
            let client =
                OrchestratorClient::new(url, registration, &control_auth, shared.peers.clone())
                    .context("LMS_ORCHESTRATOR_URL")?;
            tracing::info!(orchestrator = %url, "registering");
            let directive = client.register_until_ok().await;
            tracing::info!(source_of_truth = %directive.desired.source_of_truth, epoch = directive.desired.epoch, "registered");
            (Some(client), Some(directive))
        }
        None => (None, None),
    };
    let instance = ProxyInstance::new(
        shared.clone(),
        sql,
        directive.as_ref().map(|d| d.desired.clone()),
    )
    .context("starting the worker threads")?
    .start();
    let leaving = orchestrator.clone();
    let (stop_heartbeats, stop) = tokio::sync::watch::channel(false);
    let heartbeats = match (orchestrator, directive) {
        (Some(client), Some(d)) => {
            let (instance, changes) = (instance.clone(), shared.report_changed.subscribe());
            Some(actix_rt::spawn(async move {
                client.run(instance, changes, &d, stop).await
            }))
        }
        _ => None,
    };
    let server = admin::metrics_server(admin, instance.clone(), shared.clone())?;
    let server_handle = server.handle();
    actix_rt::spawn(server);
    let control_server = admin::control_server(control, instance.clone(), shared, control_auth)?;
    let control_handle = control_server.handle();
    actix_rt::spawn(control_server);
    println!("molt-lms ready sql={sql_addr} admin={admin_addr} control={control_addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%sql_addr, %admin_addr, %control_addr, "listening");

    molt_lms_common::process::wait_for_signal().await;
    tracing::info!(timeout = ?shutdown_timeout, "shutting down");
    let _ = instance
        .send(Shutdown {
            timeout: shutdown_timeout,
        })
        .await;
    // Drained: no session is left for a cutover to wait for. Heartbeats stop first: one
    // answered "not registered" after the deregistration would register the proxy again.
    let _ = stop_heartbeats.send(true);
    if let Some(mut task) = heartbeats {
        if tokio::time::timeout(HEARTBEATS_STOP, &mut task)
            .await
            .is_err()
        {
            task.abort();
            tracing::warn!("the last heartbeat did not finish in time; deregistering anyway");
        }
    }
    if let Some(client) = leaving {
        client.deregister().await;
    }
    server_handle.stop(true).await;
    control_handle.stop(true).await;
    tracing::info!("stopped");
    Ok(())
}
