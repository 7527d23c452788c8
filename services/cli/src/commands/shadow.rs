//! `shadow report`: how the statements mirrored to the shadow database compared.

use crate::cli::{ListArgs, OutputType};
use crate::client::Client;
use crate::output::{json, print, shadow_table};
use crate::CliError;

pub async fn run(client: &Client, args: &ListArgs) -> Result<(), CliError> {
    let report = client.shadow(&args.lms.addresses()).await?;
    let text = match args.output.output_type {
        OutputType::Table => shadow_table(&report),
        OutputType::Json => json(&report)?,
    };
    print(&text)?;
    Ok(())
}
