//! The LSN check: the WAL insert position of the database traffic leaves, read once
//! traffic is paused, awaited in what the consumers of its logical replication slots
//! confirmed. Nothing is written, and only that one database is read.
//!
//! Why the publisher's `confirmed_flush_lsn`: a subscriber confirms a position once it
//! has applied (and flushed) every transaction before it, and when nothing is pending it
//! confirms the position of the walsender's keepalives, so a source with nothing to
//! replicate still passes. On the subscriber, `pg_replication_origin_status.remote_lsn`
//! moves only with applied transactions (an idle source would never pass), and
//! `pg_stat_subscription.latest_end_lsn` is what the walsender reported, not what was
//! applied. The *insert* position, not `pg_current_wal_lsn()` (the write position): a
//! commit acknowledged under `synchronous_commit = off` may not be written yet.
//!
//! Which slots: those named (ORCH_REPLICATION_SLOTS), or else every logical slot of the
//! database, table synchronisation slots included (a table still being copied has not
//! caught up either). A slot nobody consumes holds the check, and the refusal names it.

use super::{query_err, GateError, Progress};
use std::time::{Duration, Instant};

/// Every logical slot of the connected database, with its confirmed position against
/// `$1` (the position awaited).
const SLOTS: &str = "SELECT slot_name::text, active, confirmed_flush_lsn::text, \
    coalesce(confirmed_flush_lsn >= $1::text::pg_lsn, false), \
    pg_wal_lsn_diff($1::text::pg_lsn, confirmed_flush_lsn)::int8 \
    FROM pg_replication_slots \
    WHERE slot_type = 'logical' AND database = current_database() ORDER BY 1";

/// One logical replication slot as one poll saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) active: bool,
    /// `confirmed_flush_lsn`; none before its consumer confirmed anything.
    pub(crate) confirmed: Option<String>,
    pub(crate) caught_up: bool,
    /// Bytes of WAL from `confirmed` to the position awaited.
    pub(crate) behind: Option<i64>,
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.confirmed, self.behind) {
            (Some(at), Some(b)) => write!(f, "slot {} at {at} ({b} bytes behind", self.name)?,
            _ => write!(f, "slot {} (nothing confirmed yet", self.name)?,
        }
        if !self.active {
            f.write_str(", no consumer connected")?;
        }
        f.write_str(")")
    }
}

/// What one poll of the slots means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    CaughtUp,
    /// The slots still behind.
    Behind(Vec<Slot>),
    /// No slot to wait for: why, for the refusal.
    Missing(String),
}

/// The verdict on `slots` for the slots `wanted` (empty: every one of them).
pub(crate) fn verdict(slots: Vec<Slot>, wanted: &[String]) -> Verdict {
    if !wanted.is_empty() {
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !slots.iter().any(|s| &s.name == *w))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Verdict::Missing(format!(
                "no logical replication slot {} (ORCH_REPLICATION_SLOTS)",
                missing.join(", ")
            ));
        }
    } else if slots.is_empty() {
        return Verdict::Missing(
            "no logical replication slot: the LSN check needs a subscription (or another \
             logical replication consumer) reading from this database; use the token check otherwise"
                .into(),
        );
    }
    let behind: Vec<Slot> = slots
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.contains(&s.name))
        .filter(|s| !s.caught_up)
        .collect();
    if behind.is_empty() {
        Verdict::CaughtUp
    } else {
        Verdict::Behind(behind)
    }
}

/// Reads the insert position on `client` (the `side` database) and polls its slots every
/// `poll` until the ones `wanted` confirmed it, for at most `timeout`.
pub(super) async fn wait(
    client: &tokio_postgres::Client,
    side: &'static str,
    wanted: &[String],
    timeout: Duration,
    poll: Duration,
    progress: &Progress,
) -> Result<super::GateReport, GateError> {
    let row = client
        .query_one(
            "SELECT pg_current_wal_insert_lsn()::text, current_database()::text",
            &[],
        )
        .await
        .map_err(query_err(side))?;
    let (lsn, database): (String, String) = (row.get(0), row.get(1));
    let started = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        progress.polled(polls);
        let slots = client
            .query(SLOTS, &[&lsn])
            .await
            .map_err(query_err(side))?
            .iter()
            .map(|r| Slot {
                name: r.get(0),
                active: r.get(1),
                confirmed: r.get(2),
                caught_up: r.get(3),
                behind: r.get(4),
            })
            .collect();
        let behind = match verdict(slots, wanted) {
            Verdict::CaughtUp => {
                return Ok(super::GateReport {
                    lag: started.elapsed(),
                    polls,
                })
            }
            Verdict::Missing(why) => {
                return Err(GateError::NoSlot {
                    side,
                    message: format!("database {database}: {why}"),
                })
            }
            Verdict::Behind(b) => b,
        };
        if started.elapsed() >= timeout {
            let slots: Vec<String> = behind.iter().map(Slot::to_string).collect();
            return Err(GateError::Timeout {
                what: format!(
                    "the logical replication slots of database {database} on the {side} have not confirmed its WAL position {lsn}"
                ),
                waited: started.elapsed(),
                polls,
                detail: format!(": {}", slots.join("; ")),
            });
        }
        tokio::time::sleep(poll.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}
