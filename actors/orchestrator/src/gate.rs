//! The replication catch-up gate. With traffic paused, nothing the applications write
//! reaches the source any more, so once a row written on the source *now* is visible on
//! the target, everything acknowledged before the pause is there too (for replication
//! that applies the source's changes in order, as PostgreSQL logical replication and
//! CockroachDB changefeeds into it do). The orchestrator writes a fresh token into a
//! one-row sentinel table on the source and polls the target until it appears; a commit
//! waits for that instead of an operator checking by hand.

use molt_lms_api::SourceOfTruth;
use molt_lms_common::pg_dial::PgDialer;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Created on both databases by `initialize`; replicate it with the application's tables.
pub const SENTINEL_TABLE: &str = "molt_lms.replication_sentinel";

const DDL: &str = "CREATE SCHEMA IF NOT EXISTS molt_lms; \
    CREATE TABLE IF NOT EXISTS molt_lms.replication_sentinel (\
    id INT8 PRIMARY KEY, token TEXT NOT NULL, written_at TIMESTAMPTZ NOT NULL)";

#[derive(Debug, Error)]
pub enum GateError {
    #[error("cannot reach the {side} database for the replication check: {message}")]
    Connect { side: &'static str, message: String },
    #[error("the {side} database refused the replication check: {message}")]
    Query { side: &'static str, message: String },
    /// The token did not reach the target in time.
    #[error("the sentinel token has not been replicated within {} ({polls} polls)", humantime::format_duration(*.waited))]
    Timeout { waited: Duration, polls: u64 },
}

/// How long the token took, and how many reads of the target it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateReport {
    pub lag: Duration,
    pub polls: u64,
}

/// The two ends of the replication the gate watches.
pub struct Sentinel {
    source: PgDialer,
    target: PgDialer,
}

fn query_err(side: &'static str) -> impl Fn(tokio_postgres::Error) -> GateError {
    move |e| GateError::Query {
        side,
        message: e.as_db_error().map_or_else(
            || e.to_string(),
            |d| format!("{}: {}", d.code().code(), d.message()),
        ),
    }
}

impl Sentinel {
    pub fn new(source: PgDialer, target: PgDialer) -> Self {
        Self { source, target }
    }

    async fn client(&self, side: &'static str) -> Result<tokio_postgres::Client, GateError> {
        let dialer = if side == "source" {
            &self.source
        } else {
            &self.target
        };
        dialer
            .service_client("molt-lms replication gate")
            .await
            .map_err(|message| GateError::Connect { side, message })
    }

    /// Creates the sentinel table on both databases; safe to run again.
    pub async fn create_tables(&self) -> Result<(), GateError> {
        for side in ["source", "target"] {
            self.client(side)
                .await?
                .batch_execute(DDL)
                .await
                .map_err(query_err(side))?;
        }
        Ok(())
    }

    /// Writes a fresh token on the database traffic is leaving (`from`: the source, or
    /// the target for a revert, which needs replication the other way) and polls the
    /// other one every `poll` until it is there, for at most `timeout`.
    pub async fn wait(
        &self,
        from: SourceOfTruth,
        timeout: Duration,
        poll: Duration,
    ) -> Result<GateReport, GateError> {
        let (w, r) = match from {
            SourceOfTruth::Source => ("source", "target"),
            SourceOfTruth::Target => ("target", "source"),
        };
        let (source, target) = (self.client(w).await?, self.client(r).await?);
        let token = format!("{:032x}", rand::random::<u128>());
        let written = Instant::now();
        source
            .execute(
                "INSERT INTO molt_lms.replication_sentinel (id, token, written_at) VALUES (1, $1, now()) \
                 ON CONFLICT (id) DO UPDATE SET token = excluded.token, written_at = excluded.written_at",
                &[&token],
            )
            .await
            .map_err(query_err(w))?;
        let mut polls = 0;
        loop {
            polls += 1;
            let seen: Option<String> = target
                .query_opt(
                    "SELECT token FROM molt_lms.replication_sentinel WHERE id = 1",
                    &[],
                )
                .await
                .map_err(query_err(r))?
                .map(|r| r.get(0));
            if seen.as_deref() == Some(token.as_str()) {
                return Ok(GateReport {
                    lag: written.elapsed(),
                    polls,
                });
            }
            if written.elapsed() >= timeout {
                return Err(GateError::Timeout {
                    waited: written.elapsed(),
                    polls,
                });
            }
            tokio::time::sleep(poll.min(timeout.saturating_sub(written.elapsed()))).await;
        }
    }
}
