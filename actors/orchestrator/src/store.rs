//! Persistence of the orchestrator's state in the target database (`CRDB_URL`), in its
//! own schema: the current source of truth and epoch, every attempt and its per-proxy
//! rows, and the registered proxies. Plain SQL that PostgreSQL and CockroachDB both accept.

use super::attempt::{Attempt, Finish, Row};
use molt_lms_api::cutover::{
    CutoverStatus, PrepareOrder, Registration, ReplicationCheck, TimeoutAction,
};
use molt_lms_api::SourceOfTruth;
use molt_lms_common::pg_dial::PgDialer;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

const SCHEMA: &str = r#"
CREATE SCHEMA IF NOT EXISTS molt_lms;
CREATE TABLE IF NOT EXISTS molt_lms.state (
    singleton BOOL PRIMARY KEY DEFAULT true CHECK (singleton),
    source_of_truth TEXT NOT NULL,
    epoch INT8 NOT NULL,
    active_attempt INT8,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS molt_lms.cutover_attempts (
    id INT8 PRIMARY KEY,
    status TEXT NOT NULL,
    finish TEXT,
    finish_epoch INT8 NOT NULL,
    from_sot TEXT NOT NULL,
    to_sot TEXT NOT NULL,
    trigger_time TIMESTAMPTZ NOT NULL,
    traffic_paused_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    error TEXT NOT NULL,
    begin_timeout_ms INT8,
    timeout_action TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS molt_lms.cutover_proxies (
    attempt_id INT8 NOT NULL,
    lms_address TEXT NOT NULL,
    status TEXT NOT NULL,
    source_of_truth TEXT NOT NULL,
    trigger_time TIMESTAMPTZ NOT NULL,
    traffic_paused_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    error TEXT NOT NULL,
    PRIMARY KEY (attempt_id, lms_address)
);
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS begin_deadline TIMESTAMPTZ;
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS prepare_order INT8;
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS prepare_started_time TIMESTAMPTZ;
ALTER TABLE molt_lms.cutover_proxies ADD COLUMN IF NOT EXISTS prepared_time TIMESTAMPTZ;
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS write_version INT8 NOT NULL DEFAULT 0;
ALTER TABLE molt_lms.cutover_proxies ADD COLUMN IF NOT EXISTS write_version INT8 NOT NULL DEFAULT 0;
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS replication_lag_ms INT8;
ALTER TABLE molt_lms.cutover_attempts ADD COLUMN IF NOT EXISTS replication_check TEXT;
CREATE TABLE IF NOT EXISTS molt_lms.proxies (
    lms_address TEXT PRIMARY KEY,
    registration TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS molt_lms.verify_runs (
    id INT8 PRIMARY KEY,
    status TEXT NOT NULL,
    run TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO molt_lms.state (singleton, source_of_truth, epoch) VALUES (true, 'source', 0)
    ON CONFLICT (singleton) DO NOTHING;
"#;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the metadata tables do not exist yet: run `molt-lms-cli initialize`")]
    NotInitialized,
    #[error("cannot reach the metadata database: {0}")]
    Connect(String),
    #[error("metadata query failed: {0}")]
    Query(String),
    /// Another writer (a second orchestrator, a delayed retry) moved the epoch on.
    #[error(
        "the persisted state is at epoch {found}, not {expected}: another orchestrator changed it"
    )]
    Stale { expected: u64, found: u64 },
}

pub(crate) fn qerr(e: tokio_postgres::Error) -> StoreError {
    let code = e.as_db_error().map(|d| d.code());
    if code == Some(&SqlState::UNDEFINED_TABLE) || code == Some(&SqlState::INVALID_SCHEMA_NAME) {
        return StoreError::NotInitialized;
    }
    if code == Some(&SqlState::UNDEFINED_COLUMN) {
        return StoreError::Query(
            "the metadata tables are from an older version: run `molt-lms-cli initialize` again"
                .into(),
        );
    }
    StoreError::Query(
        e.as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
    )
}

/// The persisted desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub source_of_truth: SourceOfTruth,
    pub epoch: u64,
    pub active_attempt: Option<u64>,
}

fn sot_str(s: SourceOfTruth) -> &'static str {
    match s {
        SourceOfTruth::Source => "source",
        SourceOfTruth::Target => "target",
    }
}

fn sot_parse(s: &str) -> SourceOfTruth {
    if s == "target" {
        SourceOfTruth::Target
    } else {
        SourceOfTruth::Source
    }
}

pub struct Store {
    backend: Arc<PgDialer>,
    client: Mutex<Option<Client>>,
}

impl Store {
    pub fn new(backend: Arc<PgDialer>) -> Self {
        Self {
            backend,
            client: Mutex::new(None),
        }
    }

    /// The metadata session, (re)connected on demand; held for one operation at a time.
    pub(crate) async fn client(&self) -> Result<MappedMutexGuard<'_, Client>, StoreError> {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            let client = self
                .backend
                .service_client("molt-lms orchestrator")
                .await
                .map_err(StoreError::Connect)?;
            *slot = Some(client);
        }
        MutexGuard::try_map(slot, Option::as_mut)
            .map_err(|_| StoreError::Connect("no session".into()))
    }

    /// Creates the schema and tables; safe to run again.
    pub async fn initialize(&self) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.batch_execute(SCHEMA).await.map_err(qerr)
    }

    pub async fn load_state(&self) -> Result<State, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT source_of_truth, epoch, active_attempt FROM molt_lms.state",
                &[],
            )
            .await
            .map_err(qerr)?;
        Ok(State {
            source_of_truth: sot_parse(row.get(0)),
            epoch: row.get::<_, i64>(1) as u64,
            active_attempt: row.get::<_, Option<i64>>(2).map(|v| v as u64),
        })
    }

    pub async fn next_attempt_id(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT COALESCE(max(id), 0) + 1 FROM molt_lms.cutover_attempts",
                &[],
            )
            .await
            .map_err(qerr)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Writes the desired state and the attempt in one transaction: a commit is durable
    /// before any proxy hears of it. Compare-and-set: the write happens only while the
    /// persisted epoch is still `expected`, so a stale writer cannot overwrite a newer one.
    pub async fn save(
        &self,
        state: State,
        expected: u64,
        attempt: &Attempt,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(qerr)?;
        let updated = tx.execute(
            "UPDATE molt_lms.state SET source_of_truth = $1, epoch = $2, active_attempt = $3, updated_at = now() WHERE epoch = $4",
            &[&sot_str(state.source_of_truth), &(state.epoch as i64), &state.active_attempt.map(|v| v as i64), &(expected as i64)],
        )
        .await
        .map_err(qerr)?;
        if updated != 1 {
            let found = tx
                .query_one("SELECT epoch FROM molt_lms.state", &[])
                .await
                .map_err(qerr)?
                .get::<_, i64>(0) as u64;
            return Err(StoreError::Stale { expected, found });
        }
        save_attempt(&tx, attempt, version).await?;
        tx.commit().await.map_err(qerr)
    }

    /// Writes an attempt's progress. `version` orders the writes: one older than what
    /// the rows hold changes nothing, so writes may land in any order.
    pub async fn save_attempt(&self, attempt: &Attempt, version: u64) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(qerr)?;
        save_attempt(&tx, attempt, version).await?;
        tx.commit().await.map_err(qerr)
    }

    /// The newest write version in the metadata, where this orchestrator's writes go on.
    pub async fn write_version(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT COALESCE(max(write_version), 0) FROM molt_lms.cutover_attempts",
                &[],
            )
            .await
            .map_err(qerr)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// The newest attempt, when it is past its point of no return and its switch was not
    /// seen to end (`CommitStarted`, `AbortStarted`). The persisted state no longer names
    /// it as active, but the proxies' reports must still complete it after a restart.
    pub async fn load_unfinished_attempt(&self) -> Result<Option<Attempt>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT id FROM (SELECT id, status FROM molt_lms.cutover_attempts \
                 ORDER BY id DESC LIMIT 1) AS newest WHERE status IN ($1, $2)",
                &[
                    &CutoverStatus::CommitStarted.as_str(),
                    &CutoverStatus::AbortStarted.as_str(),
                ],
            )
            .await
            .map_err(qerr)?;
        // The session is held while `c` lives; load_attempt takes it again.
        drop(c);
        match row {
            Some(r) => self.load_attempt(r.get::<_, i64>(0) as u64).await,
            None => Ok(None),
        }
    }

    pub async fn load_attempt(&self, id: u64) -> Result<Option<Attempt>, StoreError> {
        let c = self.client().await?;
        let Some(a) = c
            .query_opt(
                "SELECT status, finish, finish_epoch, from_sot, to_sot, trigger_time, traffic_paused_time, \
                 end_time, error, begin_timeout_ms, timeout_action, begin_deadline, prepare_order, \
                 prepare_started_time, replication_lag_ms, replication_check \
                 FROM molt_lms.cutover_attempts WHERE id = $1",
                &[&(id as i64)],
            )
            .await
            .map_err(qerr)?
        else {
            return Ok(None);
        };
        let mut rows = BTreeMap::new();
        for r in c
            .query(
                "SELECT lms_address, status, source_of_truth, trigger_time, traffic_paused_time, end_time, error, \
                 prepared_time FROM molt_lms.cutover_proxies WHERE attempt_id = $1",
                &[&(id as i64)],
            )
            .await
            .map_err(qerr)?
        {
            rows.insert(
                r.get::<_, String>(0),
                Row {
                    status: r.get::<_, String>(1).parse().unwrap_or(CutoverStatus::Error),
                    source_of_truth: sot_parse(r.get(2)),
                    trigger: r.get(3),
                    paused: r.get(4),
                    end: r.get(5),
                    error: r.get(6),
                    prepared: r.get(7),
                    report: None,
                },
            );
        }
        Ok(Some(Attempt {
            id,
            status: a
                .get::<_, String>(0)
                .parse()
                .unwrap_or(CutoverStatus::Error),
            finish: match a.get::<_, Option<String>>(1).as_deref() {
                Some("commit") => Some(Finish::Commit),
                Some("abort") => Some(Finish::Abort),
                _ => None,
            },
            finish_epoch: a.get::<_, i64>(2) as u64,
            from: sot_parse(a.get(3)),
            to: sot_parse(a.get(4)),
            trigger: a.get(5),
            paused: a.get(6),
            end: a.get(7),
            error: a.get(8),
            begin_timeout: a
                .get::<_, Option<i64>>(9)
                .map(|ms| Duration::from_millis(ms as u64)),
            action: if a.get::<_, String>(10) == "terminate" {
                TimeoutAction::Terminate
            } else {
                TimeoutAction::Abort
            },
            begin_deadline: a.get(11),
            replication_lag: a
                .get::<_, Option<i64>>(14)
                .map(|ms| Duration::from_millis(ms as u64)),
            replication_check: match a.get::<_, Option<String>>(15).as_deref() {
                Some("lsn") => Some(ReplicationCheck::Lsn),
                Some(_) => Some(ReplicationCheck::Token),
                None => None,
            },
            prepare: match (
                a.get::<_, Option<i64>>(12),
                a.get::<_, Option<SystemTime>>(13),
            ) {
                (Some(order), Some(started)) => Some((
                    PrepareOrder {
                        order: order as u64,
                        to: sot_parse(a.get(4)),
                    },
                    started,
                )),
                _ => None,
            },
            rows,
        }))
    }
}

async fn save_attempt(
    tx: &tokio_postgres::Transaction<'_>,
    a: &Attempt,
    version: u64,
) -> Result<(), StoreError> {
    let finish = a.finish.map(|f| match f {
        Finish::Commit => "commit",
        Finish::Abort => "abort",
    });
    let action = match a.action {
        TimeoutAction::Abort => "abort",
        TimeoutAction::Terminate => "terminate",
    };
    tx.execute(
        "INSERT INTO molt_lms.cutover_attempts (id, status, finish, finish_epoch, from_sot, to_sot, trigger_time, \
         traffic_paused_time, end_time, error, begin_timeout_ms, timeout_action, begin_deadline, \
         prepare_order, prepare_started_time, write_version, replication_lag_ms, replication_check) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, finish = excluded.finish, \
         finish_epoch = excluded.finish_epoch, traffic_paused_time = excluded.traffic_paused_time, \
         end_time = excluded.end_time, error = excluded.error, prepare_order = excluded.prepare_order, \
         prepare_started_time = excluded.prepare_started_time, write_version = excluded.write_version, \
         replication_lag_ms = excluded.replication_lag_ms, replication_check = excluded.replication_check \
         WHERE molt_lms.cutover_attempts.write_version <= excluded.write_version",
        &[
            &(a.id as i64),
            &a.status.as_str(),
            &finish,
            &(a.finish_epoch as i64),
            &sot_str(a.from),
            &sot_str(a.to),
            &a.trigger,
            &a.paused,
            &a.end,
            &a.error,
            &a.begin_timeout.map(|d| d.as_millis() as i64),
            &action,
            &a.begin_deadline,
            &a.prepare.map(|(o, _)| o.order as i64),
            &a.prepare.map(|(_, t)| t),
            &(version as i64),
            &a.replication_lag.map(|d| d.as_millis() as i64),
            &a.replication_check.map(ReplicationCheck::as_str),
        ],
    )
    .await
    .map_err(qerr)?;
    for (addr, r) in &a.rows {
        tx.execute(
            "INSERT INTO molt_lms.cutover_proxies (attempt_id, lms_address, status, source_of_truth, trigger_time, \
             traffic_paused_time, end_time, error, prepared_time, write_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (attempt_id, lms_address) DO UPDATE SET status = excluded.status, \
             source_of_truth = excluded.source_of_truth, traffic_paused_time = excluded.traffic_paused_time, \
             end_time = excluded.end_time, error = excluded.error, prepared_time = excluded.prepared_time, \
             write_version = excluded.write_version \
             WHERE molt_lms.cutover_proxies.write_version <= excluded.write_version",
            &[
                &(a.id as i64),
                addr,
                &r.status.as_str(),
                &sot_str(r.source_of_truth),
                &r.trigger,
                &r.paused,
                &r.end,
                &r.error,
                &r.prepared,
                &(version as i64),
            ],
        )
        .await
        .map_err(qerr)?;
    }
    Ok(())
}

/// A registered proxy as persisted: its registration, the hash of the key it was issued,
/// and how long ago it was last heard from (by the metadata database's clock, written
/// every few seconds, so a little longer than the truth).
#[derive(Debug, Clone)]
pub struct StoredProxy {
    pub registration: Registration,
    pub key_hash: String,
    pub silent_for: Duration,
}

impl Store {
    /// Records a registration (a new key replaces the old one).
    pub async fn save_proxy(&self, reg: &Registration, key_hash: &str) -> Result<(), StoreError> {
        let json = serde_json::to_string(reg).map_err(|e| StoreError::Query(e.to_string()))?;
        let c = self.client().await?;
        c.execute(
            "INSERT INTO molt_lms.proxies (lms_address, registration, key_hash) VALUES ($1, $2, $3) \
             ON CONFLICT (lms_address) DO UPDATE SET registration = excluded.registration, \
             key_hash = excluded.key_hash, registered_at = now(), last_seen = now()",
            &[&reg.lms_address, &json, &key_hash],
        )
        .await
        .map_err(qerr)?;
        Ok(())
    }

    /// Marks these proxies as heard from now.
    pub async fn touch_proxies(&self, addresses: &[String]) -> Result<(), StoreError> {
        if addresses.is_empty() {
            return Ok(());
        }
        let c = self.client().await?;
        c.execute(
            "UPDATE molt_lms.proxies SET last_seen = now() WHERE lms_address = ANY($1)",
            &[&addresses],
        )
        .await
        .map_err(qerr)?;
        Ok(())
    }

    pub async fn delete_proxy(&self, address: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM molt_lms.proxies WHERE lms_address = $1",
            &[&address],
        )
        .await
        .map_err(qerr)?;
        Ok(())
    }

    /// Every registered proxy; rows that do not parse (written by another version) are
    /// skipped with a warning.
    pub async fn load_proxies(&self) -> Result<Vec<StoredProxy>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT registration, key_hash, \
                 GREATEST(EXTRACT(EPOCH FROM (now() - last_seen)), 0)::FLOAT8 FROM molt_lms.proxies",
                &[],
            )
            .await
            .map_err(qerr)?;
        let mut out = Vec::new();
        for r in rows {
            match serde_json::from_str::<Registration>(r.get(0)) {
                Ok(registration) => out.push(StoredProxy {
                    registration,
                    key_hash: r.get(1),
                    silent_for: Duration::from_secs_f64(r.get::<_, f64>(2)),
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a persisted proxy that does not parse")
                }
            }
        }
        Ok(out)
    }
}

/// Wall-clock time as RFC 3339 for API output.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}
