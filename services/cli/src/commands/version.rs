//! `version`: the CLI's version, checked against the orchestrator's.

use crate::cli::{GlobalArgs, OutputType};
use crate::client::Client;
use crate::output::{json, print};
use crate::CliError;
use serde::Serialize;

const CLI_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Serialize)]
struct VersionView {
    cli_version: &'static str,
    orchestrator_version: Option<String>,
    warning: Option<String>,
}

/// Never fails on the orchestrator's account: an unreachable one is only a warning.
pub async fn run(global: &GlobalArgs, output: OutputType) -> Result<(), CliError> {
    let orchestrator = match Client::new(global) {
        Ok(client) => client
            .version()
            .await
            .map(|v| v.version)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let (orchestrator_version, warning) = match orchestrator {
        Ok(v) if v == CLI_VERSION => (Some(v), None),
        Ok(v) => {
            let w = format!("the orchestrator runs version {v}; use a matching molt-lms-cli");
            (Some(v), Some(w))
        }
        Err(e) => (
            None,
            Some(format!("cannot check the orchestrator's version: {e}")),
        ),
    };
    let view = VersionView {
        cli_version: CLI_VERSION,
        orchestrator_version,
        warning,
    };
    match output {
        OutputType::Table => {
            let mut text = format!("molt-lms-cli {CLI_VERSION}\n");
            if let Some(v) = &view.orchestrator_version {
                text.push_str(&format!("orchestrator {v}\n"));
            }
            print(&text)?;
            if let Some(w) = &view.warning {
                eprintln!("warning: {w}");
            }
        }
        OutputType::Json => print(&json(&view)?)?,
    }
    Ok(())
}
