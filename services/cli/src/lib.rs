//! `molt-lms-cli`: inspects the molt-lms proxies and drives a consistent cutover by
//! talking JSON to the orchestrator's REST API.
//!
//! # Layout
//! - [`cli`]: the clap flags and subcommands, and the orchestrator URL normalization.
//! - `client`: one HTTP client to the orchestrator; every failure is a typed `ClientError`.
//! - `output`: pure rendering of tables and JSON, so it is tested without a network.
//! - `commands/*`: one file per subcommand; each fetches, renders and prints.
//! - `trace`: the command's span, and the `traceparent` its requests carry.
//! - [`CliError`]: what a command can fail with, and the exit code it maps to.

pub mod cli;
pub mod client;
mod commands;
mod error;
mod orchestrator_url;
mod output;
mod trace;

pub use error::CliError;

/// Runs one parsed command line to completion.
pub async fn run(cli: cli::Cli) -> Result<(), CliError> {
    let span = trace::start(&cli).await;
    let outcome = commands::dispatch(cli).await;
    trace::end(span, &outcome);
    outcome
}
