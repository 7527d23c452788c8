//! `molt-lms-orchestrator`: parse flags, load configuration, run.

use clap::Parser;
use molt_lms_orchestrator::{cli::Args, config};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let settings = match config::load(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("molt-lms-orchestrator: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match actix_rt::System::new().block_on(molt_lms_orchestrator::run(args, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("molt-lms-orchestrator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
