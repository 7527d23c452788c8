//! `cutover check`: whether a commit could log every session in and prepare every
//! statement on the database it switches to. Fails (exit 1) when it could not.

use crate::cli::{ListArgs, OutputType};
use crate::client::Client;
use crate::output::{check_table, json, print};
use crate::CliError;

pub async fn run(client: &Client, args: &ListArgs) -> Result<(), CliError> {
    let report = client.check(&args.lms.addresses()).await?;
    let text = match args.output.output_type {
        OutputType::Table => check_table(&report),
        OutputType::Json => json(&report)?,
    };
    print(&text)?;
    if !report.passed {
        return Err(CliError::CheckFailed {
            problems: report.problems().len(),
        });
    }
    Ok(())
}
