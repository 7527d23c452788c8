//! `connections list`: every client connection of the selected proxies.

use crate::cli::{ListArgs, OutputType};
use crate::client::Client;
use crate::output::{connections_json, connections_table, json, print, Dialects};
use crate::CliError;

pub async fn run(client: &Client, args: &ListArgs) -> Result<(), CliError> {
    let lms = args.lms.addresses();
    let (conns, status) = tokio::join!(client.connections(&lms), client.status());
    let conns = conns?;
    // Only for naming the source of truth ("MySQL"); without it the role is shown.
    let dialects = status
        .map(|s| Dialects {
            source: s.source_dialect,
            target: s.target_dialect,
        })
        .unwrap_or_default();
    let text = match args.output.output_type {
        OutputType::Table => connections_table(&conns, &dialects),
        OutputType::Json => json(&connections_json(&conns, &dialects))?,
    };
    print(&text)?;
    Ok(())
}
