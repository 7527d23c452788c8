//! The MySQL protocol pieces against a real MariaDB: the harness's server, the
//! `mysql_native_password` arithmetic, and (once the codec reads the greeting) a login
//! with only the key a client's proof reveals.

use molt_lms_integration::mariadb::MariaDb;
use molt_lms_proxy_actors::auth::mysql_native::{parse_stored, stored_hash};

#[test]
fn the_proxys_native_password_hash_is_the_one_mariadb_stores() {
    let db = MariaDb::start("native-hash");
    db.create_user("app", "s3cret");
    let stored = db.stored_hash("app");
    assert_eq!(
        parse_stored(&stored),
        Some(stored_hash("s3cret")),
        "{stored}"
    );
}
