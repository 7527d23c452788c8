//! The source and target databases the orchestrator reads (`SOURCE_URL`, `TARGET_URL`)
//! for verification and the replication gate, and how a MySQL source is dialled.

use molt_lms_common::backend_url::{BackendUrl, SslMode};
use molt_lms_common::pg_dial::PgDialer;

/// The source database, in its own protocol.
pub enum SourceDb {
    Pg(PgDialer),
    MySql(BackendUrl),
}

impl SourceDb {
    pub fn is_mysql(&self) -> bool {
        matches!(self, SourceDb::MySql(_))
    }
}

/// A session on a MySQL source, in the URL's database. Without TLS: a URL that requires
/// it is refused rather than sent in clear.
pub async fn mysql_conn(url: &BackendUrl) -> Result<mysql_async::Conn, String> {
    if !matches!(
        url.ssl.mode,
        SslMode::Disable | SslMode::Allow | SslMode::Prefer
    ) {
        return Err(
            "TLS to a MySQL source is not supported yet (sslmode must be disable, allow or prefer)"
                .into(),
        );
    }
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port)
        .user(Some(url.user.clone()))
        .pass(url.password.as_ref().map(|p| p.expose().to_owned()))
        .db_name(Some(url.database.clone()));
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| e.to_string())
}
