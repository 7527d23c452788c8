//! `roles sync`: copy the source's login roles' password verifiers to the target.

use crate::cli::{OutputType, RolesSyncArgs};
use crate::client::Client;
use crate::output::{json, print, roles_table};
use crate::CliError;
use molt_lms_api::roles::RolesSyncRequest;

pub async fn run(client: &Client, args: &RolesSyncArgs) -> Result<(), CliError> {
    let req = RolesSyncRequest {
        dry_run: args.dry_run,
        roles: args.roles.clone(),
    };
    let report = client.roles_sync(&req).await?;
    let text = match args.output.output_type {
        OutputType::Table => roles_table(&report),
        OutputType::Json => json(&report)?,
    };
    print(&text)?;
    Ok(())
}
