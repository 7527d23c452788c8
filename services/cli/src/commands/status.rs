//! `status`: the orchestrator's settings and each proxy's status.

use crate::cli::{ListArgs, OutputType};
use crate::client::Client;
use crate::output::{json, print, status_table, status_view};
use crate::CliError;

pub async fn run(client: &Client, args: &ListArgs) -> Result<(), CliError> {
    let lms = args.lms.addresses();
    let (status, rows) = tokio::try_join!(client.status(), client.proxies_status(&lms))?;
    let view = status_view(&status, &rows);
    let text = match args.output.output_type {
        OutputType::Table => status_table(&view),
        OutputType::Json => json(&view)?,
    };
    print(&text)?;
    Ok(())
}
