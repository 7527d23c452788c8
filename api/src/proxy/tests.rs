use super::*;

#[test]
fn shadow_mode_round_trips_in_json_and_flags() {
    for m in [
        ShadowMode::None,
        ShadowMode::Async,
        ShadowMode::Sync,
        ShadowMode::StrictSync,
    ] {
        let json = serde_json::to_string(&m).expect("serialize");
        assert_eq!(json, format!("\"{}\"", m.as_str()));
        assert_eq!(m.as_str().parse::<ShadowMode>(), Ok(m));
    }
    assert!("strict".parse::<ShadowMode>().is_err());
}

#[test]
fn dialect_parses_aliases_and_rejects_unknown() {
    assert_eq!("PostgreSQL".parse::<Dialect>(), Ok(Dialect::Postgres));
    assert_eq!("crdb".parse::<Dialect>(), Ok(Dialect::Cockroach));
    assert!("oracle".parse::<Dialect>().is_err());
}
