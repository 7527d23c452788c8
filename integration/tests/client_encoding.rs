//! Clients whose `client_encoding` is not UTF-8 (LATIN1 here) send query texts and
//! statement names as bytes that are not UTF-8. The proxy relays them as the source takes
//! them: in every protocol, with the session staying open.

use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::proxy::ProxyConfig;
use molt_lms_integration::{wait_until_async, TempDir};
use std::fs;
use std::process::Output;
use std::time::Duration;
use tokio_postgres::NoTls;

/// 'café' in LATIN1: the 0xE9 alone is not UTF-8.
const CAFE_LATIN1: &[u8] = b"caf\xe9";

fn run(env: &ProxyEnv, bin: &str, via: Via, args: &[&str], script: &std::path::Path) -> Output {
    let out = env
        .pg_command(bin, via)
        .env("PGCLIENTENCODING", "LATIN1")
        .args(args)
        .arg(script)
        .output()
        .expect("run client");
    assert!(
        out.status.success(),
        "{bin} via {via:?} failed: {}{}\nproxy log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        env.proxy.stderr_log()
    );
    out
}

fn latin1_script(dir: &TempDir, name: &str, parts: &[&[u8]]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, parts.concat()).expect("write script");
    path
}

#[test]
fn latin1_query_texts_pass_in_the_simple_protocol_and_psql_output_matches_direct() {
    let env = ProxyEnv::start();
    let dir = TempDir::new("latin1");
    let script = latin1_script(
        &dir,
        "simple.sql",
        &[
            b"SELECT '",
            CAFE_LATIN1,
            b"' AS word, length('",
            CAFE_LATIN1,
            b"') AS chars;\nCREATE TEMP TABLE t (w text);\nINSERT INTO t VALUES ('",
            CAFE_LATIN1,
            b"');\nSELECT w, octet_length(convert_to(w, 'UTF8')) FROM t;\n\\echo still open\n",
        ],
    );
    let args = ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f"];
    let proxy = run(&env, "psql", Via::Proxy, &args, &script);
    let direct = run(&env, "psql", Via::Direct, &args, &script);
    assert_eq!(proxy.stdout, direct.stdout);
    // The answer comes back in LATIN1 too: the server converted both ways.
    let expected = [CAFE_LATIN1, b"|4\n", CAFE_LATIN1, b"|5\nstill open\n"].concat();
    assert_eq!(
        proxy.stdout,
        expected,
        "{}",
        String::from_utf8_lossy(&proxy.stdout)
    );
}

#[test]
fn latin1_statements_pass_in_the_extended_and_prepared_protocols() {
    let env = ProxyEnv::start();
    env.psql(
        Via::Direct,
        "CREATE TABLE IF NOT EXISTS latin1_words (mode text, w text)",
    );
    let dir = TempDir::new("latin1");
    for mode in ["extended", "prepared"] {
        let script = latin1_script(
            &dir,
            &format!("{mode}.sql"),
            &[
                b"INSERT INTO latin1_words VALUES ('",
                mode.as_bytes(),
                b"', '",
                CAFE_LATIN1,
                b"');\n",
            ],
        );
        let out = run(
            &env,
            "pgbench",
            Via::Proxy,
            &["-n", "-M", mode, "-c", "1", "-t", "3", "-f"],
            &script,
        );
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            report.contains("number of failed transactions: 0"),
            "{mode}: {report}"
        );
    }
    // Stored as the server understood them: 'café' in the database's UTF-8.
    assert_eq!(
        env.psql(
            Via::Direct,
            "SELECT string_agg(mode || '=' || count, ',' ORDER BY mode) FROM \
             (SELECT mode, count(*) FROM latin1_words WHERE w = 'café' GROUP BY mode) c",
        ),
        "extended=3,prepared=3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_statements_reach_the_shadow_database_too() {
    let env = ProxyEnv::start_with(|c| ProxyConfig {
        shadow_mode: "sync".to_owned(),
        ..c
    });
    let dir = TempDir::new("latin1");
    let script = latin1_script(
        &dir,
        "shadow.sql",
        &[
            b"CREATE TABLE shadow_words (w text);\nINSERT INTO shadow_words VALUES ('",
            CAFE_LATIN1,
            b"');\n",
        ],
    );
    run(
        &env,
        "psql",
        Via::Proxy,
        &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"],
        &script,
    );
    for cluster in [&env.clusters.source, &env.clusters.target] {
        let url = cluster.url(&env.user, &env.password, &env.db);
        let (c, conn) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
        tokio::spawn(conn);
        let stored = wait_until_async(Duration::from_secs(20), || async {
            c.query_one("SELECT count(*) FROM shadow_words WHERE w = 'café'", &[])
                .await
                .is_ok_and(|r| r.get::<_, i64>(0) == 1)
        })
        .await;
        assert!(stored, "'café' never landed on {url}");
    }
}
