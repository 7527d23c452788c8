//! Reading tables for verification from either kind of database: PostgreSQL-protocol
//! ones (PostgreSQL, CockroachDB) with tokio-postgres, MySQL-protocol ones with
//! mysql_async. Every read is a text-protocol query, so values come back as the server
//! prints them, as the proxy's shadow comparison sees them.
//!
//! Key bounds are sent as quoted literals, not parameters: the text protocol has none,
//! and a literal of unknown type takes the key column's type on both kinds of server.

use super::compare::Row;
use molt_lms_common::backend_url::BackendUrl;
use molt_lms_common::pg_dial::PgDialer;
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_postgres::SimpleQueryMessage;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("cannot reach the {side} database: {message}")]
    Connect { side: &'static str, message: String },
    #[error("the {side} database refused a verification query: {message}")]
    Query { side: &'static str, message: String },
}

/// A table as `schema.name` (a MySQL database is its schema).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// A table's columns (name, data type, lowercase) and primary key, in order.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub columns: Vec<(String, String)>,
    pub key: Vec<String>,
}

/// MySQL binary column types: their values are shown as PostgreSQL shows `bytea`.
const MYSQL_BINARY: [&str; 6] = [
    "binary",
    "varbinary",
    "tinyblob",
    "blob",
    "mediumblob",
    "longblob",
];

pub enum Db {
    Pg {
        side: &'static str,
        client: tokio_postgres::Client,
    },
    My {
        side: &'static str,
        conn: mysql_async::Conn,
    },
}

/// The bounds of one key range: rows with key > `after` and key <= `upto`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds<'a> {
    pub after: Option<&'a [Option<String>]>,
    pub upto: Option<&'a [Option<String>]>,
}

fn pg_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn my_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

fn literal(v: &Option<String>, binary: bool) -> String {
    match v {
        None => "NULL".into(),
        Some(v) if binary => match v.strip_prefix("\\x") {
            Some(hex) => format!("X'{hex}'"),
            None => format!("'{}'", v.replace('\'', "''")),
        },
        Some(v) => format!("'{}'", v.replace('\'', "''")),
    }
}

impl Db {
    pub async fn connect_pg(side: &'static str, dialer: &PgDialer) -> Result<Self, DbError> {
        let client = dialer
            .service_client("molt-lms verify")
            .await
            .map_err(|message| DbError::Connect { side, message })?;
        let mut db = Db::Pg { side, client };
        // UTC, so timestamps print alike on both sides; hex bytea, as the MySQL side
        // renders binary columns; standard strings, so quoting a literal needs only ''.
        db.execute(
            "SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET standard_conforming_strings = on",
        )
        .await?;
        Ok(db)
    }

    pub async fn connect_mysql(side: &'static str, url: &BackendUrl) -> Result<Self, DbError> {
        let conn = crate::ends::mysql_conn(url)
            .await
            .map_err(|message| DbError::Connect { side, message })?;
        let mut db = Db::My { side, conn };
        for stmt in [
            "SET NAMES utf8mb4",
            "SET time_zone = '+00:00'",
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
        ] {
            db.execute(stmt).await?;
        }
        Ok(db)
    }

    pub fn is_mysql(&self) -> bool {
        matches!(self, Db::My { .. })
    }

    fn side(&self) -> &'static str {
        match self {
            Db::Pg { side, .. } | Db::My { side, .. } => side,
        }
    }

    fn err(&self, message: String) -> DbError {
        DbError::Query {
            side: self.side(),
            message,
        }
    }

    async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.rows(sql).await.map(drop)
    }

    /// Every row of a text-protocol query.
    async fn rows(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Pg { client, side } => {
                let msgs = client.simple_query(sql).await.map_err(|e| DbError::Query {
                    side,
                    message: e.as_db_error().map_or_else(
                        || e.to_string(),
                        |d| format!("{}: {}", d.code().code(), d.message()),
                    ),
                })?;
                Ok(msgs
                    .into_iter()
                    .filter_map(|m| match m {
                        SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                        }
                        _ => None,
                    })
                    .collect())
            }
            Db::My { conn, side } => {
                let rows: Vec<mysql_async::Row> =
                    conn.query(sql).await.map_err(|e| DbError::Query {
                        side,
                        message: e.to_string(),
                    })?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        r.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                mysql_async::Value::NULL => None,
                                mysql_async::Value::Bytes(b) => {
                                    Some(String::from_utf8_lossy(&b).into_owned())
                                }
                                other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    fn ident(&self, s: &str) -> String {
        if self.is_mysql() {
            my_ident(s)
        } else {
            pg_ident(s)
        }
    }

    fn table(&self, t: &TableName) -> String {
        format!("{}.{}", self.ident(&t.schema), self.ident(&t.name))
    }

    /// The user's tables: every base table outside the system schemas and this service's
    /// own (PostgreSQL, CockroachDB); the connected database's (MySQL). The replication
    /// gate's sentinel of a MySQL source (`molt_lms_replication_sentinel`, among the
    /// user's tables on both sides) is the service's too, and left out.
    pub async fn tables(&mut self) -> Result<Vec<TableName>, DbError> {
        let sql = if self.is_mysql() {
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' AND table_schema = DATABASE() \
             AND table_name <> 'molt_lms_replication_sentinel' ORDER BY 2"
        } else {
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' AND table_schema NOT IN \
             ('pg_catalog', 'information_schema', 'crdb_internal', 'pg_extension', 'molt_lms') \
             AND table_schema NOT LIKE 'pg\\_%' \
             AND table_name <> 'molt_lms_replication_sentinel' ORDER BY 1, 2"
        };
        let rows = self.rows(sql).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match (r.first().cloned()?, r.get(1).cloned()?) {
                (Some(schema), Some(name)) => Some(TableName { schema, name }),
                _ => None,
            })
            .collect())
    }

    /// The schema unqualified names resolve to (PostgreSQL: usually `public`).
    pub async fn current_schema(&mut self) -> Result<String, DbError> {
        let sql = if self.is_mysql() {
            "SELECT DATABASE()"
        } else {
            "SELECT current_schema()"
        };
        let rows = self.rows(sql).await?;
        rows.into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .ok_or_else(|| self.err("no current schema".into()))
    }

    pub async fn shape(&mut self, t: &TableName) -> Result<Shape, DbError> {
        let (schema, name) = (
            literal(&Some(t.schema.clone()), false),
            literal(&Some(t.name.clone()), false),
        );
        let type_col = if self.is_mysql() {
            "lower(data_type)"
        } else {
            "data_type"
        };
        let columns = self
            .rows(&format!(
                "SELECT column_name, {type_col} FROM information_schema.columns \
                 WHERE table_schema = {schema} AND table_name = {name} ORDER BY ordinal_position"
            ))
            .await?
            .into_iter()
            .filter_map(|r| Some((r.first().cloned()??, r.get(1).cloned()??)))
            .collect();
        let key_sql = if self.is_mysql() {
            format!(
                "SELECT column_name FROM information_schema.key_column_usage \
                 WHERE table_schema = {schema} AND table_name = {name} \
                 AND constraint_name = 'PRIMARY' ORDER BY ordinal_position"
            )
        } else {
            format!(
                "SELECT k.column_name FROM information_schema.table_constraints c \
                 JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
                 AND k.table_schema = c.table_schema AND k.table_name = c.table_name \
                 WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = {schema} \
                 AND c.table_name = {name} ORDER BY k.ordinal_position"
            )
        };
        let key = self
            .rows(&key_sql)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        Ok(Shape { columns, key })
    }

    pub async fn count(&mut self, t: &TableName) -> Result<u64, DbError> {
        let sql = format!("SELECT count(*) FROM {}", self.table(t));
        let rows = self.rows(&sql).await?;
        rows.into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| self.err(format!("no count for {t}")))
    }

    fn tuple(&self, cols: &[String]) -> String {
        let names: Vec<_> = cols.iter().map(|c| self.ident(c)).collect();
        format!("({})", names.join(", "))
    }

    /// A key as a row of literals; hex ones as MySQL's `X'…'` there (PostgreSQL reads
    /// `'\x…'` as bytea by itself).
    fn values(&self, key: &[Option<String>], binary: &[bool]) -> String {
        let my = self.is_mysql();
        let vals: Vec<_> = key
            .iter()
            .zip(binary.iter().chain(std::iter::repeat(&false)))
            .map(|(v, b)| literal(v, *b && my))
            .collect();
        format!("({})", vals.join(", "))
    }

    /// Rows in key order within `bounds`, at most `limit`. `columns` starts with the key's
    /// `key_len` columns; `binary` marks the columns shown as hex.
    pub async fn range(
        &mut self,
        t: &TableName,
        columns: &[String],
        binary: &[bool],
        key_len: usize,
        bounds: Bounds<'_>,
        limit: Option<u64>,
    ) -> Result<Vec<Row>, DbError> {
        let key = self.tuple(&columns[..key_len]);
        let mut conds = Vec::new();
        if let Some(a) = bounds.after {
            conds.push(format!("{key} > {}", self.values(a, binary)));
        }
        if let Some(u) = bounds.upto {
            conds.push(format!("{key} <= {}", self.values(u, binary)));
        }
        let sql = format!(
            "SELECT {} FROM {}{}{} ORDER BY {}{}",
            self.select_list(columns, binary),
            self.table(t),
            if conds.is_empty() { "" } else { " WHERE " },
            conds.join(" AND "),
            key.trim_matches(|c| c == '(' || c == ')'),
            limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default(),
        );
        self.rows(&sql).await
    }

    /// The rows with these keys, in no particular order.
    pub async fn by_keys(
        &mut self,
        t: &TableName,
        columns: &[String],
        binary: &[bool],
        key_len: usize,
        keys: &[Vec<Option<String>>],
    ) -> Result<Vec<Row>, DbError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<_> = keys.iter().map(|k| self.values(k, binary)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} IN ({})",
            self.select_list(columns, binary),
            self.table(t),
            self.tuple(&columns[..key_len]),
            list.join(", ")
        );
        self.rows(&sql).await
    }

    /// The select list: MySQL binary columns as `\x` and lowercase hex, as PostgreSQL
    /// prints `bytea`.
    fn select_list(&self, columns: &[String], binary: &[bool]) -> String {
        columns
            .iter()
            .zip(binary.iter().chain(std::iter::repeat(&false)))
            .map(|(c, b)| {
                let id = self.ident(c);
                if *b && self.is_mysql() {
                    // NO_BACKSLASH_ESCAPES is on: '\x' is a backslash and an x.
                    format!(
                        "CASE WHEN {id} IS NULL THEN NULL ELSE CONCAT('\\x', LOWER(HEX({id}))) END"
                    )
                } else {
                    id
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// True for a MySQL column type shown as hex.
    pub fn is_binary_type(data_type: &str) -> bool {
        MYSQL_BINARY.contains(&data_type) || data_type == "bytea"
    }
}
