//! The replication catch-up gate. With traffic paused, nothing the applications write
//! reaches the source any more, so once a row written on the source *now* is visible on
//! the target, everything acknowledged before the pause is there too (for replication
//! that applies the source's changes in order, as PostgreSQL logical replication and
//! CockroachDB changefeeds into it do). The orchestrator writes a fresh token into a
//! one-row sentinel table on the source and polls the target until it appears; a commit
//! waits for that instead of an operator checking by hand.
//!
//! - `token`: the sentinel table on either kind of database (PostgreSQL or MySQL source).

mod token;

use crate::ends::{mysql_conn, SourceDb};
use molt_lms_api::SourceOfTruth;
use molt_lms_common::pg_dial::PgDialer;
use std::time::{Duration, Instant};
use thiserror::Error;
use token::{Layout, Session};

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
    source: SourceDb,
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

fn side_name(side: SourceOfTruth) -> &'static str {
    match side {
        SourceOfTruth::Source => "source",
        SourceOfTruth::Target => "target",
    }
}

impl Sentinel {
    pub fn new(source: SourceDb, target: PgDialer) -> Self {
        Self { source, target }
    }

    fn layout(&self) -> Layout {
        if self.source.is_mysql() {
            Layout::MySql
        } else {
            Layout::Pg
        }
    }

    /// The sentinel table's name on both databases (`initialize` creates it): replicate it
    /// with the application's tables.
    pub fn table(&self) -> &'static str {
        self.layout().table()
    }

    async fn pg(&self, side: &'static str, dialer: &PgDialer) -> Result<Session, GateError> {
        let client = dialer
            .service_client("molt-lms replication gate")
            .await
            .map_err(|message| GateError::Connect { side, message })?;
        Ok(Session::Pg {
            side,
            client,
            layout: self.layout(),
        })
    }

    async fn session(&self, which: SourceOfTruth) -> Result<Session, GateError> {
        let side = side_name(which);
        match (which, &self.source) {
            (SourceOfTruth::Target, _) => self.pg(side, &self.target).await,
            (SourceOfTruth::Source, SourceDb::Pg(dialer)) => self.pg(side, dialer).await,
            (SourceOfTruth::Source, SourceDb::MySql(url)) => Ok(Session::My {
                side,
                conn: mysql_conn(url)
                    .await
                    .map_err(|message| GateError::Connect { side, message })?,
            }),
        }
    }

    /// Creates the sentinel table on both databases; safe to run again.
    pub async fn create_tables(&self) -> Result<(), GateError> {
        for which in [SourceOfTruth::Source, SourceOfTruth::Target] {
            let mut s = self.session(which).await?;
            let created = s.create().await;
            s.close().await;
            created?;
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
        let mut writer = self.session(from).await?;
        let mut reader = match self.session(from.other()).await {
            Ok(r) => r,
            Err(e) => {
                writer.close().await;
                return Err(e);
            }
        };
        let result = poll_token(&mut writer, &mut reader, timeout, poll).await;
        writer.close().await;
        reader.close().await;
        result
    }
}

async fn poll_token(
    writer: &mut Session,
    reader: &mut Session,
    timeout: Duration,
    poll: Duration,
) -> Result<GateReport, GateError> {
    let token = format!("{:032x}", rand::random::<u128>());
    let written = Instant::now();
    writer.write(&token).await?;
    let mut polls = 0;
    loop {
        polls += 1;
        if reader.read().await?.as_deref() == Some(token.as_str()) {
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
