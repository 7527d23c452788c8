//! Logins through the proxy: SCRAM and md5 roles with their own passwords, PostgreSQL's
//! own errors for bad ones, and no cleartext password ever requested.

use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::raw::RawConn;
use molt_lms_integration::{unique_name, PasswordMethod};
use molt_lms_wire::pg::backend::authentication_code;
use molt_lms_wire::pg::frontend::startup_message;

fn psql_login(env: &ProxyEnv, user: &str, password: &str, db: &str) -> Result<String, String> {
    let out = env
        .pg_command("psql", Via::Proxy)
        .env("PGUSER", user)
        .env("PGPASSWORD", password)
        .env("PGDATABASE", db)
        .args(["-X", "-At", "-c", "SELECT current_user"])
        .output()
        .expect("psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn scram_and_md5_roles_log_in_with_their_own_passwords() {
    let env = ProxyEnv::start();
    assert_eq!(
        psql_login(&env, &env.user, &env.password, &env.db),
        Ok(env.user.clone())
    );
    let md5_user = unique_name("md5user");
    env.clusters
        .source
        .create_role(&md5_user, "md5-pass", PasswordMethod::Md5);
    assert_eq!(
        psql_login(&env, &md5_user, "md5-pass", &env.db),
        Ok(md5_user.clone())
    );
    // The proxy asks for md5 (not cleartext) for an md5 role, and SASL for a SCRAM role.
    for (user, expected) in [(&md5_user, 5), (&env.user, 10)] {
        let mut c = RawConn::connect(env.proxy.sql_addr());
        c.send(&startup_message(&[
            ("user".into(), user.clone()),
            ("database".into(), env.db.clone()),
        ]));
        let (tag, body) = c.read_message().expect("auth request");
        assert_eq!(tag, b'R');
        assert_eq!(authentication_code(&body).map(|(c, _)| c), Some(expected));
    }
}

#[test]
fn wrong_password_and_unknown_role_get_28p01_and_nothing_else_breaks() {
    let env = ProxyEnv::start();
    let good =
        RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db).expect("login");
    let err = RawConn::login(env.proxy.sql_addr(), &env.user, "wrong", &env.db)
        .err()
        .expect("refused");
    assert_eq!(err.0, "28P01");
    assert_eq!(
        err.1,
        format!("password authentication failed for user \"{}\"", env.user)
    );
    let err = RawConn::login(env.proxy.sql_addr(), "no_such_role", "x", &env.db)
        .err()
        .expect("refused");
    assert_eq!(
        err,
        (
            "28P01".to_owned(),
            "password authentication failed for user \"no_such_role\"".to_owned()
        )
    );
    let stderr = psql_login(&env, &env.user, "wrong", &env.db).expect_err("psql refused");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    // The session opened before is unaffected, and so are new ones.
    let mut good = good;
    assert!(good.query("SELECT 1").is_ok());
    assert_eq!(
        psql_login(&env, &env.user, &env.password, &env.db),
        Ok(env.user.clone())
    );
}

#[test]
fn backend_errors_at_login_are_passed_on() {
    let env = ProxyEnv::start();
    let err = RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, "no_such_db")
        .err()
        .expect("refused");
    assert_eq!(
        err,
        (
            "3D000".to_owned(),
            "database \"no_such_db\" does not exist".to_owned()
        )
    );
}
