//! A verification run's persistence: the run as the API shows it and its cursor, written
//! together after every key range, so a restarted orchestrator resumes from the last
//! finished range and its counts include exactly the ranges before it.

use super::Cursor;
use crate::store::{qerr, Store, StoreError};
use molt_lms_api::verify::{VerifyRun, VerifyStatus};

fn status_str(s: VerifyStatus) -> &'static str {
    match s {
        VerifyStatus::Running => "running",
        VerifyStatus::Matched => "matched",
        VerifyStatus::Differences => "differences",
        VerifyStatus::Failed => "failed",
    }
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Query(format!("a stored verification run does not parse: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("verification types serialize")
}

impl Store {
    pub async fn next_verify_id(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT COALESCE(max(id), 0) + 1 FROM molt_lms.verify_runs",
                &[],
            )
            .await
            .map_err(qerr)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Inserts or overwrites a run with its cursor (none before the table plan exists).
    pub async fn save_verify(
        &self,
        run: &VerifyRun,
        cursor: Option<&Cursor>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO molt_lms.verify_runs (id, status, run, cursor, updated_at) \
             VALUES ($1, $2, $3, $4, now()) ON CONFLICT (id) DO UPDATE SET \
             status = excluded.status, run = excluded.run, cursor = excluded.cursor, updated_at = now()",
            &[
                &(run.id as i64),
                &status_str(run.status),
                &encode(run),
                &encode(&cursor),
            ],
        )
        .await
        .map_err(qerr)?;
        Ok(())
    }

    pub async fn load_verify(&self, id: u64) -> Result<Option<VerifyRun>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT run FROM molt_lms.verify_runs WHERE id = $1",
                &[&(id as i64)],
            )
            .await
            .map_err(qerr)?;
        row.map(|r| decode(r.get(0))).transpose()
    }

    /// The newest runs first, at most `limit`.
    pub async fn list_verify(&self, limit: i64) -> Result<Vec<VerifyRun>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT run FROM molt_lms.verify_runs ORDER BY id DESC LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(qerr)?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    /// The run an earlier orchestrator left running, with its cursor, to resume.
    pub async fn load_running_verify(
        &self,
    ) -> Result<Option<(VerifyRun, Option<Cursor>)>, StoreError> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT run, cursor FROM molt_lms.verify_runs WHERE status = 'running' \
                 ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(qerr)?;
        row.map(|r| Ok((decode(r.get(0))?, decode(r.get(1))?)))
            .transpose()
    }
}
