//! The token check's sessions: the sentinel table created, written and read on either
//! kind of database.
//!
//! With a PostgreSQL source both databases hold `molt_lms.replication_sentinel`. MySQL has
//! no schemas, so with a MySQL source the table is `molt_lms_replication_sentinel` in
//! SOURCE_URL's database and in the target's current schema (`public`), where replication
//! tools carry it as one more application table of the migrated database.

use super::{query_err, GateError};
use mysql_async::prelude::Queryable;

/// Where the sentinel lives: by the source's kind, on both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// A PostgreSQL source: `molt_lms.replication_sentinel`.
    Pg,
    /// A MySQL source: `molt_lms_replication_sentinel`, unqualified.
    MySql,
}

impl Layout {
    pub(super) fn table(self) -> &'static str {
        match self {
            Layout::Pg => "molt_lms.replication_sentinel",
            Layout::MySql => "molt_lms_replication_sentinel",
        }
    }

    /// The PostgreSQL-protocol side's DDL. With a MySQL source the columns are what
    /// DATETIME and VARCHAR map to, so a tool's own type mapping finds them alike.
    fn pg_ddl(self) -> &'static str {
        match self {
            Layout::Pg => {
                "CREATE SCHEMA IF NOT EXISTS molt_lms; \
                 CREATE TABLE IF NOT EXISTS molt_lms.replication_sentinel (\
                 id INT8 PRIMARY KEY, token TEXT NOT NULL, written_at TIMESTAMPTZ NOT NULL)"
            }
            Layout::MySql => {
                "CREATE TABLE IF NOT EXISTS molt_lms_replication_sentinel (\
                 id INT8 PRIMARY KEY, token VARCHAR(64) NOT NULL, written_at TIMESTAMP NOT NULL)"
            }
        }
    }

    fn pg_write(self) -> &'static str {
        match self {
            Layout::Pg => {
                "INSERT INTO molt_lms.replication_sentinel (id, token, written_at) VALUES (1, $1, now()) \
                 ON CONFLICT (id) DO UPDATE SET token = excluded.token, written_at = excluded.written_at"
            }
            Layout::MySql => {
                "INSERT INTO molt_lms_replication_sentinel (id, token, written_at) \
                 VALUES (1, $1, now() AT TIME ZONE 'UTC') \
                 ON CONFLICT (id) DO UPDATE SET token = excluded.token, written_at = excluded.written_at"
            }
        }
    }
}

const MYSQL_DDL: &str = "CREATE TABLE IF NOT EXISTS molt_lms_replication_sentinel (\
    id BIGINT PRIMARY KEY, token VARCHAR(64) NOT NULL, written_at DATETIME(6) NOT NULL)";
const MYSQL_WRITE: &str = "INSERT INTO molt_lms_replication_sentinel (id, token, written_at) \
    VALUES (1, ?, UTC_TIMESTAMP(6)) \
    ON DUPLICATE KEY UPDATE token = VALUES(token), written_at = VALUES(written_at)";
const MYSQL_READ: &str = "SELECT token FROM molt_lms_replication_sentinel WHERE id = 1";

/// A session on one end of the gate.
pub(super) enum Session {
    Pg {
        side: &'static str,
        client: tokio_postgres::Client,
        layout: Layout,
    },
    My {
        side: &'static str,
        conn: mysql_async::Conn,
    },
}

fn my_err(side: &'static str) -> impl Fn(mysql_async::Error) -> GateError {
    move |e| GateError::Query {
        side,
        message: e.to_string(),
    }
}

impl Session {
    /// Creates the sentinel table; safe to run again.
    pub(super) async fn create(&mut self) -> Result<(), GateError> {
        match self {
            Session::Pg {
                side,
                client,
                layout,
            } => client
                .batch_execute(layout.pg_ddl())
                .await
                .map_err(query_err(side)),
            Session::My { side, conn } => conn.query_drop(MYSQL_DDL).await.map_err(my_err(side)),
        }
    }

    /// Replaces the sentinel's one row with `token`.
    pub(super) async fn write(&mut self, token: &str) -> Result<(), GateError> {
        match self {
            Session::Pg {
                side,
                client,
                layout,
            } => client
                .execute(layout.pg_write(), &[&token])
                .await
                .map(drop)
                .map_err(query_err(side)),
            Session::My { side, conn } => conn
                .exec_drop(MYSQL_WRITE, (token,))
                .await
                .map_err(my_err(side)),
        }
    }

    /// The token the sentinel holds now, if any.
    pub(super) async fn read(&mut self) -> Result<Option<String>, GateError> {
        match self {
            Session::Pg {
                side,
                client,
                layout,
            } => Ok(client
                .query_opt(
                    &format!("SELECT token::text FROM {} WHERE id = 1", layout.table()),
                    &[],
                )
                .await
                .map_err(query_err(side))?
                .map(|r| r.get(0))),
            Session::My { side, conn } => conn.query_first(MYSQL_READ).await.map_err(my_err(side)),
        }
    }

    /// Ends a MySQL session politely; a PostgreSQL one ends when dropped.
    pub(super) async fn close(self) {
        if let Session::My { conn, .. } = self {
            let _ = conn.disconnect().await;
        }
    }
}
