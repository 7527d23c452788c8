use super::*;

fn vars() -> Vars {
    Vars {
        autocommit: true,
        database: "shop".into(),
        isolation: "READ-COMMITTED".into(),
        version: "10.11.6-MariaDB".into(),
        connection_id: 7,
    }
}

#[test]
fn driver_connect_queries_are_answered_locally() {
    let v = vars();
    assert_eq!(
        classify("select @@version_comment limit 1", &v),
        Some(Local::Row(vec![(
            "@@version_comment".into(),
            Some("molt-lms, serving from a PostgreSQL-protocol database".into())
        )]))
    );
    assert_eq!(
        classify(
            "SELECT @@session.autocommit AS ac, @@max_allowed_packet",
            &v
        ),
        Some(Local::Row(vec![
            ("ac".into(), Some("1".into())),
            ("@@max_allowed_packet".into(), Some("67108864".into())),
        ]))
    );
    assert_eq!(
        classify("SELECT @@no_such_thing", &v),
        Some(Local::Error(
            ER_UNKNOWN_SYSTEM_VARIABLE,
            "Unknown system variable 'no_such_thing'".into()
        ))
    );
    assert_eq!(
        classify("SELECT DATABASE()", &v),
        Some(Local::Row(vec![("DATABASE()".into(), Some("shop".into()))]))
    );
}

#[test]
fn set_statements_the_gateway_knows() {
    let v = vars();
    assert_eq!(classify("SET NAMES utf8mb4", &v), Some(Local::Ok));
    assert_eq!(
        classify("set autocommit=0", &v),
        Some(Local::Autocommit(false))
    );
    assert_eq!(
        classify("SET @@session.autocommit = ON;", &v),
        Some(Local::Autocommit(true))
    );
    assert_eq!(
        classify(
            "SET sql_mode='STRICT_TRANS_TABLES', time_zone = '+00:00'",
            &v
        ),
        Some(Local::Ok)
    );
    assert_eq!(
        classify("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", &v),
        Some(Local::Rewrite(
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED".into()
        ))
    );
    // Anything else goes to the database as written.
    assert_eq!(classify("SET search_path = app", &v), None);
    assert_eq!(classify("set autocommit = maybe", &v), None);
    assert_eq!(classify("SET @x = 1", &v), None);
}

#[test]
fn show_and_use() {
    let v = vars();
    assert_eq!(classify("SHOW WARNINGS", &v), Some(Local::Warnings));
    assert_eq!(
        classify("SHOW VARIABLES LIKE 'auto%'", &v),
        Some(Local::Variables(vec![
            ("auto_increment_increment".into(), "1".into()),
            ("auto_increment_offset".into(), "1".into()),
            ("autocommit".into(), "1".into()),
        ]))
    );
    assert_eq!(
        classify("SHOW SESSION VARIABLES LIKE 'tx\\_isolation'", &v),
        Some(Local::Variables(vec![(
            "tx_isolation".into(),
            "READ-COMMITTED".into()
        )]))
    );
    assert_eq!(
        classify("use `Shop`", &v),
        Some(Local::UseDatabase("Shop".into()))
    );
    assert_eq!(classify("SELECT 1", &v), None);
    assert_eq!(classify("SHOW TABLES", &v), None);
    assert_eq!(classify("", &v), None);
}
