//! psql scripts through the proxy give exactly the output they give on the source.

use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::TempDir;
use std::fs;

/// Runs the same script via the proxy and directly; returns both outputs.
fn run_both(env: &ProxyEnv, script: &str) -> [(String, String); 2] {
    let dir = TempDir::new("psql-script");
    [Via::Proxy, Via::Direct].map(|via| {
        let path = dir.path().join(format!("{via:?}.sql"));
        let copy_file = dir.path().join(format!("{via:?}.copy"));
        fs::write(
            &path,
            script.replace("@COPY@", &copy_file.display().to_string()),
        )
        .expect("write script");
        let out = env.psql_file(via, &path);
        let copied = fs::read_to_string(&copy_file).unwrap_or_default();
        (
            format!(
                "{}\n--stderr--\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "SCRIPT")
            ),
            copied,
        )
    })
}

#[test]
fn simple_protocol_multi_statement_errors_and_notices_match_direct() {
    let env = ProxyEnv::start();
    let script = r#"
CREATE TEMP TABLE t (id int PRIMARY KEY, name text);
INSERT INTO t SELECT g, 'name ' || g FROM generate_series(1, 20) g;
SELECT count(*), sum(id) FROM t;
SELECT 1 AS one; SELECT 2 AS two; SELECT 'three' AS three;
BEGIN;
INSERT INTO t VALUES (100, 'in tx');
SELECT 1 / 0;
SELECT 'not run: transaction aborted';
ROLLBACK;
SELECT count(*) FROM t WHERE id = 100;
DO $$ BEGIN RAISE NOTICE 'hello from plpgsql %', 42; END $$;
SELECT * FROM missing_table;
SELECT name FROM t ORDER BY id DESC LIMIT 3;
\echo done
"#;
    let [(proxy, _), (direct, _)] = run_both(&env, script);
    assert_eq!(proxy, direct);
    for expected in [
        "division by zero",
        "current transaction is aborted",
        "NOTICE:  hello from plpgsql 42",
        "relation \"missing_table\" does not exist",
        "name 20",
        "done",
    ] {
        assert!(
            proxy.contains(expected),
            "missing {expected:?} in:\n{proxy}"
        );
    }
}

#[test]
fn copy_both_ways_matches_direct() {
    let env = ProxyEnv::start();
    let script = r#"
CREATE TEMP TABLE src AS SELECT g AS id, md5(g::text) AS h, now()::date - g AS d FROM generate_series(1, 5000) g;
\copy src TO '@COPY@'
CREATE TEMP TABLE dst (LIKE src);
\copy dst FROM '@COPY@'
SELECT count(*), md5(string_agg(h, ',' ORDER BY id)) FROM dst;
COPY (SELECT id, h FROM src WHERE id <= 3 ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER);
"#;
    let [(proxy, proxy_copy), (direct, direct_copy)] = run_both(&env, script);
    assert_eq!(proxy, direct);
    assert_eq!(proxy_copy.lines().count(), 5000);
    assert_eq!(proxy_copy, direct_copy);
    assert!(proxy.contains("COPY 5000"), "{proxy}");
    assert!(
        proxy.contains("id,h\n1,c4ca4238a0b923820dcc509a6f75849b"),
        "{proxy}"
    );
}

#[test]
fn large_result_sets_stream_through_unchanged() {
    let env = ProxyEnv::start();
    let sql = "SELECT g, md5(g::text), repeat('x', g % 50) FROM generate_series(1, 150000) g";
    let proxy = env.psql(Via::Proxy, sql);
    let direct = env.psql(Via::Direct, sql);
    assert_eq!(proxy.lines().count(), 150_000);
    assert!(
        proxy == direct,
        "150k-row result differs between proxy and direct"
    );
}
