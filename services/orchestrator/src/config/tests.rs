use super::*;
use clap::Parser;

fn args(flags: &[&str]) -> Args {
    Args::try_parse_from(std::iter::once("molt-lms-orchestrator").chain(flags.iter().copied()))
        .expect("flags")
}

fn url(raw: &str) -> BackendUrl {
    BackendUrl::parse(raw).expect("url")
}

#[test]
fn the_lsn_check_needs_a_postgresql_source_url() {
    let (pg, my) = (url("postgresql://u@db/app"), url("mysql://u@db/app"));
    let lsn = args(&["--replication-check", "lsn"]);
    assert!(lsn_settings(&args(&[]), None).is_ok());
    assert!(
        lsn_settings(&args(&[]), Some(&my)).is_ok(),
        "token: any source"
    );
    assert!(lsn_settings(&lsn, Some(&pg)).is_ok());
    for (a, source) in [(&lsn, None), (&lsn, Some(&my))] {
        let e = lsn_settings(a, source).expect_err("refused").to_string();
        assert!(e.starts_with("ORCH_REPLICATION_CHECK:"), "{e}");
    }
    let slots = args(&["--replication-slots", "sub_a,sub_b"]);
    assert_eq!(slots.replication_slots, ["sub_a", "sub_b"]);
    assert!(lsn_settings(&slots, Some(&pg)).is_ok());
    let e = lsn_settings(&slots, Some(&my))
        .expect_err("refused")
        .to_string();
    assert!(
        e.starts_with("ORCH_REPLICATION_SLOTS:") && e.contains("MySQL"),
        "{e}"
    );
}
