//! The CLI's span: one per command, the root of its trace, or for `commit` and `abort`
//! a child of the cutover attempt's trace (its `traceparent` is on the attempt), so a
//! cutover's begin, commit and everything between them are one trace. Its context goes
//! out with every request as the W3C `traceparent` header.

use crate::cli::{Cli, Command, ConsistentCommand, CutoverCommand};
use crate::client::Client;
use molt_lms_telemetry::context::{from_traceparent, traceparent};
use molt_lms_telemetry::{enabled, tracer, Context, KeyValue, Status, TraceContextExt, Tracer};
use std::sync::OnceLock;

/// The `traceparent` every request of this process carries, once the span exists.
static TRACEPARENT: OnceLock<String> = OnceLock::new();

pub fn current() -> Option<&'static str> {
    TRACEPARENT.get().map(String::as_str)
}

/// The span's name: the command as typed, without its flags.
fn name(cli: &Cli) -> &'static str {
    match &cli.command {
        Command::Initialize(_) => "molt-lms-cli initialize",
        Command::Status(_) => "molt-lms-cli status",
        Command::Connections(_) => "molt-lms-cli connections list",
        Command::Shadow(_) => "molt-lms-cli shadow report",
        Command::Roles(_) => "molt-lms-cli roles sync",
        Command::Cutover(CutoverCommand::Check(_)) => "molt-lms-cli cutover check",
        Command::Cutover(CutoverCommand::GetMetadata(_)) => "molt-lms-cli cutover get_metadata",
        Command::Cutover(CutoverCommand::Consistent(ConsistentCommand::Begin(_))) => {
            "molt-lms-cli cutover consistent begin"
        }
        Command::Cutover(CutoverCommand::Consistent(ConsistentCommand::Commit(_))) => {
            "molt-lms-cli cutover consistent commit"
        }
        Command::Cutover(CutoverCommand::Consistent(ConsistentCommand::Abort(_))) => {
            "molt-lms-cli cutover consistent abort"
        }
        Command::Verify(_) => "molt-lms-cli verify",
        Command::Version(_) => "molt-lms-cli version",
    }
}

/// The attempt a commit or abort will finish, if it can be found: its trace is the parent.
async fn attempt_parent(cli: &Cli) -> Option<String> {
    let id = match &cli.command {
        Command::Cutover(CutoverCommand::Consistent(
            ConsistentCommand::Commit(crate::cli::CommitArgs { finish, .. })
            | ConsistentCommand::Abort(finish),
        )) => finish.cutover_id,
        _ => return None,
    };
    let client = Client::new(&cli.global).ok()?;
    let id = match id {
        Some(id) => id,
        None => client.status().await.ok()?.active_attempt?,
    };
    client.attempt(id).await.ok()?.traceparent
}

/// Starts the command's span; `None` while traces are off.
pub async fn start(cli: &Cli) -> Option<Context> {
    if !enabled() {
        return None;
    }
    let parent = from_traceparent(attempt_parent(cli).await.as_deref());
    let t = tracer();
    let span = t
        .span_builder(name(cli))
        .with_kind(molt_lms_telemetry::SpanKind::Client)
        .start_with_context(&t, &parent);
    let cx = Context::current_with_span(span);
    if let Some(tp) = traceparent(&cx) {
        let _ = TRACEPARENT.set(tp);
    }
    Some(cx)
}

/// Ends the span with the command's outcome (its error message, which names no secret).
pub fn end(cx: Option<Context>, outcome: &Result<(), crate::CliError>) {
    let Some(cx) = cx else {
        return;
    };
    let span = cx.span();
    match outcome {
        Ok(()) => span.set_status(Status::Ok),
        Err(e) => {
            span.set_attribute(KeyValue::new("cli.exit_code", i64::from(e.exit_code())));
            span.set_status(Status::error(e.to_string()));
        }
    }
    span.end();
}
