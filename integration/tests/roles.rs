//! `molt-lms-cli roles sync` and `cutover check` against a real orchestrator, proxy and
//! the shared clusters: what is copied, what a dry run leaves alone, and that no verifier
//! ever shows up in an output or a log.
//!
//! The clusters are shared with tests running in parallel, so every role is fresh and
//! every sync that writes names its roles with --role.

use molt_lms_api::check::CheckReport;
use molt_lms_api::roles::{RoleAction, RolesSyncReport};
use molt_lms_integration::cutover_env::CutoverEnv;
use molt_lms_integration::{unique_name, PasswordMethod};
use std::process::Output;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `roles sync` with these flags, then `--role NAME` for each role.
fn sync_args<'a>(flags: &[&'a str], roles: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["roles", "sync"];
    args.extend_from_slice(flags);
    for r in roles {
        args.extend(["--role", r.as_str()]);
    }
    args
}

/// The report of a successful `-o json` run; panics with the output otherwise.
fn report(out: &Output) -> RolesSyncReport {
    let (o, e) = text(out);
    assert!(out.status.success(), "roles sync failed:\n{o}{e}");
    serde_json::from_str(&o).unwrap_or_else(|err| panic!("{err}: {o}"))
}

fn action(report: &RolesSyncReport, role: &str) -> RoleAction {
    report
        .roles
        .iter()
        .find(|r| r.role == role)
        .unwrap_or_else(|| panic!("no line for {role} in {report:#?}"))
        .action
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_sync_copies_verifiers_and_never_shows_them() {
    let mut env = CutoverEnv::start(0, &[]);
    // At debug level tokio-postgres logs the statements it sends: none may carry a verifier.
    env.add_proxy_with(|mut c| {
        c.env.push(("RUST_LOG".into(), "debug".into()));
        c
    });
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let fresh = unique_name("rs_new");
    src.create_role(&fresh, "pw-fresh-1", PasswordMethod::Scram);
    let md5 = unique_name("rs_md5");
    src.create_role(&md5, "pw-md5-1", PasswordMethod::Md5);
    // The same password on both, hashed apart: another salt, so another verifier.
    let differs = unique_name("rs_diff");
    src.create_role(&differs, "pw-diff-1", PasswordMethod::Scram);
    tgt.create_role(&differs, "pw-diff-1", PasswordMethod::Scram);
    let same = unique_name("rs_same");
    src.create_role(&same, "pw-same-1", PasswordMethod::Scram);
    src.copy_role_to(tgt, &same);
    let ghost = unique_name("rs_ghost");
    let roles = [fresh.clone(), md5.clone(), differs.clone(), same.clone()];

    let mut secrets: Vec<String> = roles.iter().map(|r| src.role_verifier(r)).collect();
    let old_target = tgt.role_verifier(&differs);
    assert!(old_target.starts_with("SCRAM-SHA-256$"), "{old_target}");
    assert_ne!(old_target, src.role_verifier(&differs));
    assert!(secrets[1].starts_with("md5"), "{}", secrets[1]);
    secrets.push(old_target.clone());
    let mut shown = String::new();
    let mut cli = |args: &[&str]| {
        let out = env.orch.cli(args);
        let (o, e) = text(&out);
        shown.push_str(&o);
        shown.push_str(&e);
        out
    };

    // A dry run says what would happen and changes nothing.
    let dry = report(&cli(&sync_args(&["--dry-run", "-o", "json"], &roles)));
    assert!(dry.dry_run);
    assert_eq!(dry.lms_address, env.proxies[0].sql_addr().to_string());
    assert_eq!(action(&dry, &fresh), RoleAction::Created);
    assert_eq!(action(&dry, &md5), RoleAction::Created);
    assert_eq!(action(&dry, &differs), RoleAction::Updated);
    assert_eq!(action(&dry, &same), RoleAction::Unchanged);
    assert_eq!(tgt.role_verifier(&fresh), "", "the dry run created {fresh}");
    assert_eq!(tgt.role_verifier(&md5), "", "the dry run created {md5}");
    assert_eq!(
        tgt.role_verifier(&differs),
        old_target,
        "the dry run changed it"
    );

    // Without --role a dry run covers every login role, and skips the service user.
    let all = report(&cli(&["roles", "sync", "--dry-run", "-o", "json"]));
    assert_eq!(action(&all, &fresh), RoleAction::Created);
    let postgres = all
        .roles
        .iter()
        .find(|r| r.role == "postgres")
        .expect("the service user is listed");
    assert_eq!(postgres.action, RoleAction::Skipped);
    assert!(postgres.reason.contains("service user"), "{postgres:?}");
    assert!(all.roles.iter().all(|r| !r.role.starts_with("pg_")));

    let out = cli(&sync_args(&["--dry-run"], &roles[..1]));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains(&fresh) && o.contains("created"), "{o}");
    assert!(
        o.contains("1 created, 0 updated, 0 unchanged, 0 skipped (dry run: nothing was changed)"),
        "{o}"
    );

    // A named role the source lacks fails the whole sync before anything changes.
    let bad = [differs.clone(), ghost.clone()];
    let out = cli(&sync_args(&[], &bad));
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(e.starts_with("error: ") && e.contains(&ghost), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(
        tgt.role_verifier(&differs),
        old_target,
        "a failed sync changed it"
    );

    // The real sync gives the target the source's verifiers.
    let done = report(&cli(&sync_args(&["-o", "json"], &roles)));
    assert!(!done.dry_run);
    assert_eq!(action(&done, &fresh), RoleAction::Created);
    assert_eq!(action(&done, &md5), RoleAction::Created);
    assert_eq!(action(&done, &differs), RoleAction::Updated);
    assert_eq!(action(&done, &same), RoleAction::Unchanged);
    for r in &roles {
        assert_eq!(tgt.role_verifier(r), src.role_verifier(r), "role {r}");
    }
    // The created role logs in to the target with its own password.
    let conninfo = format!(
        "host=127.0.0.1 port={} user={fresh} password=pw-fresh-1 dbname=postgres",
        tgt.port()
    );
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .expect("the created role logs in to the target");
    tokio::spawn(conn);
    client.simple_query("SELECT 1").await.expect("a query");

    let again = report(&cli(&sync_args(&["-o", "json"], &roles)));
    assert!(
        again
            .roles
            .iter()
            .all(|r| r.action == RoleAction::Unchanged),
        "{again:#?}"
    );
    let out = cli(&sync_args(&[], &roles));
    assert!(text(&out)
        .0
        .contains("0 created, 0 updated, 4 unchanged, 0 skipped\n"));

    let proxy_log = env.proxies[0].stderr_log();
    assert!(
        proxy_log.contains("tokio_postgres"),
        "the proxy did not log at debug level"
    );
    for (what, log) in [
        ("CLI output", &shown),
        ("orchestrator log", &env.orch.log()),
        ("proxy log", &proxy_log),
    ] {
        assert!(!log.contains("SCRAM-SHA-256$"), "a verifier in the {what}");
        for s in &secrets {
            assert!(!log.contains(s.as_str()), "a verifier in the {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_check_names_a_role_whose_verifier_differs_until_it_is_synced() {
    let env = CutoverEnv::start(1, &[]);
    let (src, tgt) = (&env.clusters.source, &env.clusters.target);
    let role = unique_name("chk");
    let password = "pw-check-1";
    src.create_role(&role, password, PasswordMethod::Scram);
    tgt.create_role(&role, password, PasswordMethod::Scram);
    let conninfo = format!(
        "host=127.0.0.1 port={} user={role} password={password} dbname={}",
        env.proxies[0].sql_port(),
        env.db
    );
    let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("log in via the proxy: {e}\n{}", env.proxies[0].stderr_log()));
    tokio::spawn(conn);
    client.simple_query("SELECT 1").await.expect("a query");

    let out = env.orch.cli(&["cutover", "check"]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(o.contains(&role) && o.contains("verifier differs"), "{o}");
    assert!(o.contains("check FAILED"), "{o}");
    assert!(e.starts_with("error: ") && e.lines().count() == 1, "{e}");

    let out = env.orch.cli(&["cutover", "check", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: CheckReport = serde_json::from_str(&text(&out).0).expect("check json");
    assert!(!report.passed);
    assert!(report.roles.iter().any(|r| r.role == role), "{report:#?}");

    // Begin refuses before pausing, with one error line that names the role.
    let out = env.orch.cli(&["cutover", "consistent", "begin"]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{e}");
    assert!(errors[0].contains("the cutover check failed"), "{e}");
    assert!(
        errors[0].contains(&role) && errors[0].contains("roles sync"),
        "{e}"
    );
    assert!(!env.status().transitioning, "begin paused traffic");
    client
        .simple_query("SELECT 1")
        .await
        .expect("traffic flows");

    let out = env.orch.cli(&["roles", "sync", "--role", &role]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = env.orch.cli(&["cutover", "check"]);
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}{e}");
    assert!(o.contains("check passed"), "{o}");
}
