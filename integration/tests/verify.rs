//! `molt-lms-cli verify` against real databases: the orchestrator compares its SOURCE_URL
//! with its TARGET_URL table by table. A 100,000-row table with one row changed, one
//! deleted and one added on the target; identical tables; tables on one side only; a
//! restart of the orchestrator in the middle of a run; a MariaDB source.

use molt_lms_integration::cutover_env::{CutoverEnv, EnvSpec};
use molt_lms_integration::fixture::http_request;
use molt_lms_integration::mariadb::MariaDb;
use molt_lms_integration::orchestrator::OrchestratorProcess;
use molt_lms_integration::pg::shared;
use molt_lms_integration::{unique_name, wait_until};
use serde_json::Value;
use std::time::{Duration, Instant};

const ROWS: i64 = 100_000;

/// The same 100,000 rows on both databases: most column types, NULLs, unicode, bytes.
const ITEMS: &str = "CREATE TABLE items (
    id INT8 PRIMARY KEY, name TEXT, price NUMERIC(12,2), ratio FLOAT8, flag BOOL,
    created TIMESTAMPTZ, payload BYTEA, doc JSONB);
INSERT INTO items SELECT g, 'item ' || g || ' ü€', (g * 1.25)::numeric(12,2), g / 7.0,
    g % 2 = 0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
    decode(md5(g::text), 'hex'), CASE WHEN g % 10 = 0 THEN NULL ELSE jsonb_build_object('g', g) END
    FROM generate_series(1, 100000) AS g;
CREATE TABLE pairs (a INT4, b TEXT, v TEXT, PRIMARY KEY (a, b));
INSERT INTO pairs SELECT g % 50, 'k' || g, 'v' || g FROM generate_series(1, 2000) AS g;
CREATE TABLE events (msg TEXT);
INSERT INTO events SELECT 'event ' || g FROM generate_series(1, 10) AS g;";

fn env_with_tables() -> CutoverEnv {
    let (env, _) = CutoverEnv::start_spec(
        0,
        &[],
        EnvSpec {
            replication_gate: true,
            ..EnvSpec::default()
        },
    );
    for c in [&env.clusters.source, &env.clusters.target] {
        c.psql(&env.db, ITEMS);
    }
    env
}

/// Runs `verify` with `args` through the CLI: its exit code and JSON report.
fn verify(env: &CutoverEnv, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["verify", "-o", "json"];
    all.extend_from_slice(args);
    let out = env.orch.cli(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "verify output is not JSON ({e}):\n{stdout}\n{stderr}\n{}",
            env.orch.log()
        )
    });
    (out.status.code(), report, stderr)
}

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["source_table"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {report:#}"))
}

#[test]
fn verify_finds_exactly_the_rows_changed_on_the_target_and_nothing_on_identical_tables() {
    let env = env_with_tables();
    let started = Instant::now();
    let (code, report, stderr) = verify(&env, &[]);
    let took = started.elapsed();
    assert_eq!(code, Some(0), "identical databases: {report:#}\n{stderr}");
    assert_eq!(report["status"], "matched", "{report:#}");
    assert_eq!(report["rows_checked"], ROWS + 2000, "{report:#}");
    let items = table(&report, "public.items");
    assert_eq!(items["status"], "matched");
    assert_eq!(items["source_rows"], ROWS);
    assert_eq!(items["ranges_checked"], 20, "5000-row ranges: {items:#}");
    let events = table(&report, "public.events");
    assert_eq!(
        events["status"], "no_primary_key",
        "equal counts, contents not compared, not a difference: {events:#}"
    );
    eprintln!(
        "verify: {} rows in {:.2} s through the CLI ({} rows/s as the orchestrator measured)",
        report["rows_checked"],
        took.as_secs_f64(),
        report["rows_per_second"]
    );

    let target = &env.clusters.target;
    target.psql(
        &env.db,
        "UPDATE items SET name = 'changed' WHERE id = 4242; DELETE FROM items WHERE id = 77777; \
         INSERT INTO items (id, name) VALUES (100500, 'extra'); \
         UPDATE pairs SET v = NULL WHERE a = 7 AND b = 'k7';
         CREATE TABLE only_on_target (id INT PRIMARY KEY);",
    );
    env.clusters.source.psql(
        &env.db,
        "CREATE TABLE only_on_source (x INT); INSERT INTO only_on_source VALUES (1), (2); \
         INSERT INTO events VALUES ('only on the source');",
    );

    let (code, report, stderr) = verify(&env, &["--live"]);
    assert_eq!(code, Some(1), "differences must fail the command: {stderr}");
    assert!(stderr.contains("found differences in 5 tables"), "{stderr}");
    let events = table(&report, "public.events");
    assert_eq!(
        (&events["status"], &events["delta"]),
        (&Value::from("differences"), &Value::from(1)),
        "{events:#}"
    );
    assert_eq!(report["status"], "differences");
    let items = table(&report, "public.items");
    assert_eq!(items["status"], "differences");
    assert_eq!(
        (&items["mismatched"], &items["missing"], &items["extra"]),
        (&Value::from(1), &Value::from(1), &Value::from(1)),
        "{items:#}"
    );
    assert_eq!(items["delta"], 0, "one deleted and one added: {items:#}");
    let rows = items["rows"].as_array().expect("rows");
    let find = |kind: &str| {
        rows.iter()
            .find(|r| r["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} row in {items:#}"))
    };
    let m = find("mismatched");
    assert_eq!(m["key"], serde_json::json!([["id", "4242"]]));
    assert_eq!(
        m["columns"],
        serde_json::json!([{"column": "name", "source": "item 4242 ü€", "target": "changed"}])
    );
    assert_eq!(find("missing")["key"], serde_json::json!([["id", "77777"]]));
    assert_eq!(find("extra")["key"], serde_json::json!([["id", "100500"]]));
    let pairs = table(&report, "public.pairs");
    assert_eq!(pairs["mismatched"], 1, "{pairs:#}");
    assert_eq!(
        pairs["rows"][0]["key"],
        serde_json::json!([["a", "7"], ["b", "k7"]])
    );
    assert_eq!(pairs["rows"][0]["columns"][0]["target"], Value::Null);
    assert_eq!(
        table(&report, "public.only_on_source")["status"],
        "missing_on_target"
    );
    assert_eq!(table(&report, "public.only_on_source")["source_rows"], 2);
    assert_eq!(
        table(&report, "public.only_on_target")["status"],
        "extra_on_target"
    );

    // The table output names the rows too.
    let out = env.orch.cli(&["verify", "--table", "items"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    for want in [
        "mismatched",
        "id=4242",
        "missing on target",
        "id=77777",
        "extra on target",
        "1 of 1 tables differ",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}

#[test]
fn a_run_resumes_from_its_last_range_after_the_orchestrator_is_killed() {
    let mut env = env_with_tables();
    let (code, body) = http_request(
        env.orch.api_addr(),
        "POST",
        "/api/v1/verify",
        Some(r#"{"rows_per_second": 20000, "batch_rows": 2000}"#),
    );
    assert_eq!(code, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("run")["id"]
        .as_u64()
        .expect("id");
    let get = |env: &CutoverEnv| {
        let (code, body) = http_request(
            env.orch.api_addr(),
            "GET",
            &format!("/api/v1/verify/{id}"),
            None,
        );
        (code == 200).then(|| serde_json::from_str::<Value>(&body).expect("run"))
    };
    assert!(
        wait_until(Duration::from_secs(30), || get(&env)
            .is_some_and(|r| r["rows_checked"].as_u64() >= Some(20_000))),
        "no progress: {:?}",
        get(&env)
    );
    env.orch.restart();
    let run = {
        let mut last = None;
        assert!(
            wait_until(Duration::from_secs(60), || {
                last = get(&env);
                last.as_ref().is_some_and(|r| r["status"] != "running")
            }),
            "not finished: {last:?}\n{}",
            env.orch.log()
        );
        last.expect("run")
    };
    assert_eq!(run["status"], "matched", "{run:#}");
    assert_eq!(run["resumes"], 1, "{run:#}");
    // Every row counted once: the ranges saved before the kill were not read again.
    assert_eq!(run["rows_checked"], ROWS + 2000, "{run:#}");
    assert_eq!(table(&run, "public.items")["rows_checked"], ROWS);
    assert!(env
        .orch
        .full_log()
        .contains("resuming an unfinished verification"));
}

#[test]
fn a_second_run_is_refused_while_one_runs_and_bad_requests_name_the_field() {
    let env = env_with_tables();
    let post = |body: &str| http_request(env.orch.api_addr(), "POST", "/api/v1/verify", Some(body));
    let (code, body) = post(r#"{"batch_rows": 0}"#);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("batch_rows"), "{body}");
    let (code, body) = post(r#"{"tables": ["items"], "rows_per_second": 1000}"#);
    assert_eq!(code, 202, "{body}");
    let (code, body) = post("{}");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("verify_running"), "{body}");
    let status = || {
        let out = env
            .orch
            .cli(&["verify", "status", "--no-follow", "-o", "json"]);
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    let mut run = status();
    assert!(
        wait_until(Duration::from_secs(20), || {
            run = status();
            run["tables_total"] != 0
        }),
        "no table plan: {run:#}"
    );
    assert_eq!(run["status"], "running");
    assert_eq!(run["tables_total"], 1, "only the table asked for: {run:#}");
    let (code, _) = http_request(env.orch.api_addr(), "GET", "/api/v1/verify/999", None);
    assert_eq!(code, 404);
}

#[test]
fn a_mariadb_source_is_compared_with_the_postgresql_target_after_type_mapping() {
    let my = MariaDb::start("verify");
    let db = unique_name("vdb");
    let user = unique_name("v");
    my.create_user(&user, "pw");
    my.sql(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE Orders (id BIGINT PRIMARY KEY, note VARCHAR(40), amount DECIMAL(10,2),
           ratio DOUBLE, paid TINYINT(1), placed DATETIME(6), seen TIMESTAMP NULL, raw VARBINARY(16));
         INSERT INTO Orders VALUES
           (1, 'first ü', 10.50, 0.1, 1, '2024-05-06 07:08:09.123456', '2024-05-06 07:08:09', X'00ff10'),
           (2, NULL, -3.00, 1e-300, 0, '1999-12-31 23:59:59', NULL, NULL),
           (3, 'it''s', 0.00, -2.5, 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00', X'');"
    ));
    let target = &shared().target;
    let tdb = unique_name("vt");
    target.create_database(&tdb);
    target.psql(
        &tdb,
        "CREATE TABLE orders (id INT8 PRIMARY KEY, note TEXT, amount NUMERIC(10,2), ratio FLOAT8,
           paid BOOL, placed TIMESTAMP, seen TIMESTAMPTZ, raw BYTEA);
         INSERT INTO orders VALUES
           (1, 'first ü', 10.50, 0.1, true, '2024-05-06 07:08:09.123456', '2024-05-06 07:08:09+00', '\\x00ff10'),
           (2, NULL, -3.00, 1e-300, false, '1999-12-31 23:59:59', NULL, NULL),
           (3, 'it''s', 0.00, -2.5, true, '2024-01-01 00:00:00', '2024-01-01 00:00:00+00', '\\x');",
    );
    let meta = unique_name("vmeta");
    target.create_database(&meta);
    let config = serde_json::json!({
        "CRDB_URL": target.superuser_url(&meta),
        "SOURCE_URL": format!("mysql://{user}:pw@{}/{db}", my.addr()),
        "TARGET_URL": target.superuser_url(&tdb),
    });
    let orch = OrchestratorProcess::start_with_config(config, &[]);
    let (code, body) = http_request(orch.api_addr(), "POST", "/api/v1/initialize", None);
    assert_eq!(code, 200, "{body}");
    let run = |orch: &OrchestratorProcess| {
        let out = orch.cli(&["verify", "-o", "json"]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                orch.log()
            )
        });
        (out.status.code(), report)
    };
    let (code, report) = run(&orch);
    assert_eq!(code, Some(0), "{report:#}");
    let t = table(&report, &format!("{db}.Orders"));
    assert_eq!(t["target_table"], "public.orders");
    assert_eq!(
        (&t["status"], &t["rows_checked"]),
        (&Value::from("matched"), &Value::from(3))
    );

    target.psql(
        &tdb,
        "UPDATE orders SET paid = false, raw = '\\x00ff11' WHERE id = 1",
    );
    let (code, report) = run(&orch);
    assert_eq!(code, Some(1), "{report:#}");
    let t = table(&report, &format!("{db}.Orders"));
    assert_eq!(t["mismatched"], 1, "{t:#}");
    let cols: Vec<_> = t["rows"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (
                c["column"].clone(),
                c["source"].clone(),
                c["target"].clone(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        vec![
            ("paid".into(), "1".into(), "f".into()),
            ("raw".into(), "\\x00ff10".into(), "\\x00ff11".into()),
        ]
    );
}
