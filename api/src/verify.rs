//! Verification: the orchestrator compares the source and target databases table by
//! table (presence, row counts, contents by primary-key ranges) as a resumable job.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/verify`: what to compare and how fast.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Tables to compare, as `table` or `schema.table`; empty compares every table.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Upper bound on rows read per second from each database; none means as fast as
    /// the databases answer.
    #[serde(default)]
    pub rows_per_second: Option<u64>,
    /// Rows per primary-key range (default 5000).
    #[serde(default)]
    pub batch_rows: Option<u64>,
    /// Re-read differing rows a few times before reporting them, so rows still in flight
    /// through replication are not reported.
    #[serde(default)]
    pub live: bool,
}

/// Where a verification run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    Running,
    /// Finished; every table matched.
    Matched,
    /// Finished; at least one table differs, is missing, or could not be compared.
    Differences,
    /// Stopped by an error that is not about one table (a database unreachable).
    Failed,
}

/// One table's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Pending,
    Running,
    Matched,
    Differences,
    /// On the source, not on the target.
    MissingOnTarget,
    /// On the target, not on the source.
    ExtraOnTarget,
    /// Counts compared and equal; contents not (no primary key to range over). Unequal
    /// counts make such a table `Differences`.
    NoPrimaryKey,
    /// This table could not be read (the error says why); the others go on.
    Failed,
}

impl TableStatus {
    /// True once the table needs no more work.
    pub fn is_done(self) -> bool {
        !matches!(self, TableStatus::Pending | TableStatus::Running)
    }

    /// True when the table is a finding the run must report.
    pub fn is_difference(self) -> bool {
        !matches!(
            self,
            TableStatus::Pending
                | TableStatus::Running
                | TableStatus::Matched
                | TableStatus::NoPrimaryKey
        )
    }
}

/// How a row differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowDiffKind {
    /// On the source, not on the target.
    Missing,
    /// On the target, not on the source.
    Extra,
    /// On both, with different values.
    Mismatched,
}

/// One column's two values in a mismatched row (text; `null` for SQL NULL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDiff {
    pub column: String,
    pub source: Option<String>,
    pub target: Option<String>,
}

/// One differing row, named by its primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowDiff {
    pub kind: RowDiffKind,
    /// Primary-key column and value pairs, in key order.
    pub key: Vec<(String, Option<String>)>,
    /// For `mismatched`: the columns that differ.
    #[serde(default)]
    pub columns: Vec<ColumnDiff>,
}

/// One table's comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    /// `schema.table` (PostgreSQL) or `database.table` (MySQL) on the source; on the
    /// target for a table only the target has.
    pub source_table: String,
    /// `schema.table` on the target.
    pub target_table: String,
    pub status: TableStatus,
    pub source_rows: Option<u64>,
    pub target_rows: Option<u64>,
    /// Source rows minus target rows; negative means the target holds more.
    pub delta: Option<i64>,
    /// Source rows read in primary-key ranges so far.
    pub rows_checked: u64,
    pub ranges_checked: u64,
    /// Ranges whose checksums differed and were compared row by row.
    pub ranges_differing: u64,
    pub mismatched: u64,
    pub missing: u64,
    pub extra: u64,
    /// The first differing rows (at most 100 per table; the counts above are complete).
    #[serde(default)]
    pub rows: Vec<RowDiff>,
    #[serde(default)]
    pub error: String,
}

/// A verification run, as `GET /api/v1/verify/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRun {
    pub id: u64,
    pub status: VerifyStatus,
    pub request: VerifyRequest,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: String,
    pub tables_total: u64,
    pub tables_done: u64,
    pub rows_checked: u64,
    /// Rows checked per second since the run (or its last resumption) started.
    pub rows_per_second: f64,
    /// Seconds left at that rate, from the source's row counts; none before they are known.
    pub eta_seconds: Option<f64>,
    /// How many times an orchestrator restart resumed this run.
    pub resumes: u64,
    pub tables: Vec<TableReport>,
}

impl VerifyRun {
    /// Tables with findings, for an exit code or a summary line.
    pub fn differing_tables(&self) -> usize {
        self.tables
            .iter()
            .filter(|t| t.status.is_difference())
            .count()
    }
}
