//! Verification: comparing the source and target databases table by table before a
//! cutover, as a job of the orchestrator that survives its restarts.
//!
//! - `compare`: one key range's rows from both sides, checksum then row by row (pure).
//! - `db`: reading tables from PostgreSQL-protocol and MySQL-protocol databases.
//! - `run`: the job: presence and counts first, then contents by key ranges.
//! - `store`: the job's progress in the metadata database, one write per range.

pub mod compare;
pub mod db;
pub mod run;
pub mod store;

pub use crate::ends::SourceDb;
use db::{Db, DbError, TableName};
use molt_lms_common::pg_dial::PgDialer;
use serde::{Deserialize, Serialize};

/// The two databases a verification compares.
pub struct Ends {
    pub source: SourceDb,
    pub target: PgDialer,
}

impl Ends {
    pub async fn connect(&self) -> Result<(Db, Db), DbError> {
        let source = match &self.source {
            SourceDb::Pg(d) => Db::connect_pg("source", d).await?,
            SourceDb::MySql(u) => Db::connect_mysql("source", u).await?,
        };
        Ok((source, Db::connect_pg("target", &self.target).await?))
    }
}

/// A table on either side or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub source: Option<TableName>,
    pub target: Option<TableName>,
}

/// Where a run goes on after a restart: the table plan made at its start, the table
/// being compared and the last key its finished ranges reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub plan: Vec<Pair>,
    /// Index into `plan` of the table being compared.
    pub table: usize,
    /// The key the last finished range ended at; none at a table's start.
    pub after: Option<Vec<Option<String>>>,
}
