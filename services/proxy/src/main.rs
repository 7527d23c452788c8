//! `molt-lms`: parse flags, load configuration, run the proxy.

use clap::Parser;
use molt_lms::{cli::Args, config};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    molt_lms_common::process::init_logging(args.log_format);
    let settings = match config::load(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("molt-lms: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match molt_lms_telemetry::init("molt-lms") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("molt-lms: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let system = actix_rt::System::new();
    let result = system.block_on(molt_lms::run(args, settings));
    // The actix system has stopped: flushing here cannot wait on its own thread.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("molt-lms: {e:#}");
            ExitCode::FAILURE
        }
    }
}
