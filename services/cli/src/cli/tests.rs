use super::*;
use crate::orchestrator_url::OrchestratorUrl;
use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn orchestrator_url_without_scheme_gets_http() {
    let url = OrchestratorUrl::parse("localhost:4200").expect("valid");
    assert_eq!(url.redacted(), "http://localhost:4200");
    assert_eq!(url.to_string(), "http://localhost:4200");
    assert!(!url.is_https());
    let url = OrchestratorUrl::parse(" https://orch:4200/ ").expect("valid");
    assert_eq!(url.redacted(), "https://orch:4200");
    assert!(url.is_https());
}

#[test]
fn orchestrator_url_rejects_other_schemes_and_empty_values() {
    assert!(OrchestratorUrl::parse("ftp://orch:21").is_err());
    assert!(OrchestratorUrl::parse("   ").is_err());
    assert!(OrchestratorUrl::parse("http://").is_err());
}

#[test]
fn orchestrator_url_never_shows_credentials() {
    let url = OrchestratorUrl::parse("https://admin:hunter2@orch:4200").expect("valid");
    assert_eq!(url.redacted(), "https://orch:4200");
    assert!(!format!("{url:?}").contains("hunter2"));
    let err = OrchestratorUrl::parse("http://admin:hunter2@[bad").expect_err("invalid");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn endpoints_keep_a_base_path() {
    let url = OrchestratorUrl::parse("http://gw:80/lms/").expect("valid");
    assert_eq!(
        url.endpoint("/api/v1/status").as_str(),
        "http://gw/lms/api/v1/status"
    );
    let url = OrchestratorUrl::parse("localhost:4200").expect("valid");
    assert_eq!(
        url.endpoint("/api/v1/cutover/3").as_str(),
        "http://localhost:4200/api/v1/cutover/3"
    );
}

#[test]
fn missing_orchestrator_url_is_a_usage_error() {
    let global = GlobalArgs {
        orchestrator_url: None,
        tls_ca_cert: None,
        tls_client_cert: None,
        tls_client_key: None,
        control_token_file: None,
    };
    let err = global.orchestrator_url().expect_err("required");
    assert!(err.to_string().contains("--orchestrator-url"));
}

#[test]
fn begin_flags_parse_after_the_subcommand() {
    let cli = Cli::try_parse_from([
        "molt-lms-cli",
        "cutover",
        "consistent",
        "begin",
        "--orchestrator-url",
        "localhost:4200",
        "--begin-timeout",
        "30s",
        "--begin-timeout-action",
        "terminate",
        "-l",
        "a:9043, b:9043,",
        "-o",
        "json",
    ])
    .expect("parses");
    assert_eq!(
        cli.global.orchestrator_url.as_deref(),
        Some("localhost:4200")
    );
    let Command::Cutover(CutoverCommand::Consistent(ConsistentCommand::Begin(args))) = cli.command
    else {
        panic!("not begin: {:?}", cli.command);
    };
    assert_eq!(args.begin_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        TimeoutAction::from(args.begin_timeout_action),
        TimeoutAction::Terminate
    );
    assert_eq!(args.abort_begin_timeout, Duration::from_secs(2));
    assert_eq!(args.lms.addresses(), ["a:9043", "b:9043"]);
    assert_eq!(args.output.output_type, OutputType::Json);
}

#[test]
fn get_metadata_keeps_the_reference_spelling() {
    let cli = Cli::try_parse_from(["molt-lms-cli", "cutover", "get_metadata", "--cutover-id=4"])
        .expect("parses");
    let Command::Cutover(CutoverCommand::GetMetadata(args)) = cli.command else {
        panic!("not get_metadata: {:?}", cli.command);
    };
    assert_eq!(args.cutover_id, 4);
    assert_eq!(args.output.output_type, OutputType::Table);
    assert!(Cli::try_parse_from(["molt-lms-cli", "cutover", "get_metadata"]).is_err());
}

#[test]
fn shadow_report_takes_the_list_flags() {
    let cli = Cli::try_parse_from([
        "molt-lms-cli",
        "shadow",
        "report",
        "-l",
        "a:9043,b:9043",
        "-o",
        "json",
    ])
    .expect("parses");
    let Command::Shadow(ShadowCommand::Report(args)) = cli.command else {
        panic!("not shadow report: {:?}", cli.command);
    };
    assert_eq!(args.lms.addresses(), ["a:9043", "b:9043"]);
    assert_eq!(args.output.output_type, OutputType::Json);
    assert!(Cli::try_parse_from(["molt-lms-cli", "shadow"]).is_err());
}

#[test]
fn roles_sync_takes_repeated_roles_and_dry_run() {
    let cli = Cli::try_parse_from([
        "molt-lms-cli",
        "roles",
        "sync",
        "--dry-run",
        "--role",
        "app",
        "--role",
        "ro",
        "-o",
        "json",
    ])
    .expect("parses");
    let Command::Roles(RolesCommand::Sync(args)) = cli.command else {
        panic!("not roles sync: {:?}", cli.command);
    };
    assert!(args.dry_run);
    assert_eq!(args.roles, ["app", "ro"]);
    assert_eq!(args.output.output_type, OutputType::Json);
    let cli = Cli::try_parse_from(["molt-lms-cli", "roles", "sync"]).expect("parses");
    let Command::Roles(RolesCommand::Sync(args)) = cli.command else {
        panic!("not roles sync: {:?}", cli.command);
    };
    assert!(!args.dry_run && args.roles.is_empty());
}

#[test]
fn cutover_check_and_begin_skip_check_parse() {
    let cli =
        Cli::try_parse_from(["molt-lms-cli", "cutover", "check", "-l", "a:9043"]).expect("parses");
    let Command::Cutover(CutoverCommand::Check(args)) = cli.command else {
        panic!("not cutover check: {:?}", cli.command);
    };
    assert_eq!(args.lms.addresses(), ["a:9043"]);
    assert_eq!(args.output.output_type, OutputType::Table);
    let cli = Cli::try_parse_from([
        "molt-lms-cli",
        "cutover",
        "consistent",
        "begin",
        "--skip-check",
    ])
    .expect("parses");
    let Command::Cutover(CutoverCommand::Consistent(ConsistentCommand::Begin(args))) = cli.command
    else {
        panic!("not begin: {:?}", cli.command);
    };
    assert!(args.skip_check);
}
