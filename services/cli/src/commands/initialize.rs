//! `initialize`: create the orchestrator's metadata tables.

use crate::cli::OutputType;
use crate::client::Client;
use crate::output::{json, print};
use crate::CliError;

pub async fn run(client: &Client, output: OutputType) -> Result<(), CliError> {
    let answer = client.initialize().await?;
    let text = match output {
        OutputType::Table => "Initialized the orchestrator's metadata tables.\n".to_owned(),
        OutputType::Json => json(&answer)?,
    };
    print(&text)?;
    Ok(())
}
