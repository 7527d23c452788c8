//! One module per subcommand. Each fetches from the orchestrator, renders with
//! `output`, and prints; none of them exits the process itself.

mod connections;
mod cutover;
mod initialize;
mod roles;
mod shadow;
mod status;
mod verify;
mod version;

use crate::cli::{Cli, Command, ConnectionsCommand, RolesCommand, ShadowCommand};
use crate::client::Client;
use crate::CliError;

pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    // Built per command: `version` must still work when the flags cannot make a client.
    let client = || Client::new(&cli.global);
    match &cli.command {
        Command::Initialize(out) => initialize::run(&client()?, out.output_type).await,
        Command::Status(args) => status::run(&client()?, args).await,
        Command::Connections(ConnectionsCommand::List(args)) => {
            connections::run(&client()?, args).await
        }
        Command::Shadow(ShadowCommand::Report(args)) => shadow::run(&client()?, args).await,
        Command::Roles(RolesCommand::Sync(args)) => roles::run(&client()?, args).await,
        Command::Cutover(cmd) => cutover::run(&client()?, cmd).await,
        Command::Verify(args) => verify::run(&client()?, args).await,
        Command::Version(out) => version::run(&cli.global, out.output_type).await,
    }
}
