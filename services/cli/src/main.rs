//! `molt-lms-cli`: parse flags, run one command, turn its outcome into an exit code.

use clap::Parser;
use molt_lms_cli::{cli::Cli, CliError};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match molt_lms_telemetry::init("molt-lms-cli") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // reqwest's rustls backend needs a process-wide provider; a second install is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(molt_lms_cli::run(cli));
    // Off the runtime: the exporter flushes what is batched before the process ends.
    drop(runtime);
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The interrupted begin has already reported how its abort went.
        Err(CliError::Interrupted) => ExitCode::from(130),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
