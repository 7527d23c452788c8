//! The replication catch-up gate. With traffic paused, nothing the applications write
//! reaches the source any more, so once a row written on the source *now* is visible on
//! the target, everything acknowledged before the pause is there too (for replication
//! that applies the source's changes in order, as PostgreSQL logical replication and
//! CockroachDB changefeeds into it do). The orchestrator writes a fresh token into a
//! one-row sentinel table on the source and polls the target until it appears; a commit
//! waits for that instead of an operator checking by hand.
//!
//! For PostgreSQL logical replication there is also a check that writes nothing: the
//! source's WAL position against what its replication slots confirmed.
//!
//! - `token`: the sentinel table on either kind of database (PostgreSQL or MySQL source).
//! - `lsn`: the LSN check.

pub(crate) mod lsn;
mod token;

use crate::ends::{mysql_conn, SourceDb};
pub use molt_lms_api::cutover::ReplicationCheck;
use molt_lms_api::SourceOfTruth;
use molt_lms_common::pg_dial::PgDialer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use token::{Layout, Session};

#[derive(Debug, Error)]
pub enum GateError {
    #[error("cannot reach the {side} database for the replication check: {message}")]
    Connect { side: &'static str, message: String },
    #[error("the {side} database refused the replication check: {message}")]
    Query { side: &'static str, message: String },
    /// The LSN check has no replication slot to wait for.
    #[error("the LSN check found nothing to wait for on the {side}: {message}")]
    NoSlot { side: &'static str, message: String },
    /// The check cannot run against these databases.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The target did not catch up in time: `what` did not happen (`detail` says more).
    #[error("{what} within {} ({polls} polls){detail}", humantime::format_duration(*.waited))]
    Timeout {
        what: String,
        waited: Duration,
        polls: u64,
        detail: String,
    },
}

/// How long the target took to catch up, and how many polls it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateReport {
    pub lag: Duration,
    pub polls: u64,
}

/// How many polls a running gate has made: it counts, others read while it waits.
#[derive(Debug, Default)]
pub struct Progress {
    polls: AtomicU64,
}

impl Progress {
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    fn polled(&self, polls: u64) {
        self.polls.store(polls, Ordering::Relaxed);
    }
}

/// The two ends of the replication the gate watches.
pub struct Sentinel {
    source: SourceDb,
    target: PgDialer,
    /// The slots the LSN check waits for; empty: every logical slot of the database.
    slots: Vec<String>,
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
        Self {
            source,
            target,
            slots: Vec::new(),
        }
    }

    /// The LSN check waits for these logical replication slots only.
    pub fn with_slots(mut self, slots: Vec<String>) -> Self {
        self.slots = slots;
        self
    }

    /// Why `check` cannot run against these databases, if it cannot.
    pub fn unsupported(&self, check: ReplicationCheck) -> Option<&'static str> {
        (check == ReplicationCheck::Lsn && self.source.is_mysql()).then_some(
            "the lsn check needs a PostgreSQL source (it reads the source's replication slots); a MySQL source takes the token check",
        )
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

    /// Waits, polling every `poll` for at most `timeout`, until the database traffic
    /// moves to has caught up with `from` (the source, or the target for a revert, which
    /// needs replication the other way), by `check`. Each poll is counted in `progress`.
    pub async fn wait(
        &self,
        from: SourceOfTruth,
        check: ReplicationCheck,
        timeout: Duration,
        poll: Duration,
        progress: &Progress,
    ) -> Result<GateReport, GateError> {
        if let Some(why) = self.unsupported(check) {
            return Err(GateError::Unsupported(why));
        }
        match check {
            ReplicationCheck::Token => self.wait_token(from, timeout, poll, progress).await,
            ReplicationCheck::Lsn => {
                let side = side_name(from);
                let dialer = match (from, &self.source) {
                    (SourceOfTruth::Source, SourceDb::Pg(d)) => d,
                    _ => &self.target,
                };
                let client = dialer
                    .service_client("molt-lms replication gate")
                    .await
                    .map_err(|message| GateError::Connect { side, message })?;
                lsn::wait(&client, side, &self.slots, timeout, poll, progress).await
            }
        }
    }

    /// The token check: a fresh token written on `from`, polled for on the other.
    async fn wait_token(
        &self,
        from: SourceOfTruth,
        timeout: Duration,
        poll: Duration,
        progress: &Progress,
    ) -> Result<GateReport, GateError> {
        let mut writer = self.session(from).await?;
        let mut reader = match self.session(from.other()).await {
            Ok(r) => r,
            Err(e) => {
                writer.close().await;
                return Err(e);
            }
        };
        let result = poll_token(&mut writer, &mut reader, timeout, poll, progress).await;
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
    progress: &Progress,
) -> Result<GateReport, GateError> {
    let token = format!("{:032x}", rand::random::<u128>());
    let written = Instant::now();
    writer.write(&token).await?;
    let mut polls = 0;
    loop {
        polls += 1;
        progress.polled(polls);
        if reader.read().await?.as_deref() == Some(token.as_str()) {
            return Ok(GateReport {
                lag: written.elapsed(),
                polls,
            });
        }
        if written.elapsed() >= timeout {
            return Err(GateError::Timeout {
                what: "the sentinel token has not been replicated".into(),
                waited: written.elapsed(),
                polls,
                detail: String::new(),
            });
        }
        tokio::time::sleep(poll.min(timeout.saturating_sub(written.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests;
