//! One verification run. First presence and row counts of every table (quick, and the
//! ETA needs them), then each table's contents in primary-key ranges: the source's next
//! `batch_rows` rows after the last key, the target's rows in the same key range, a
//! checksum of each side, and only where they differ a row-by-row comparison. After each
//! range the counts and the cursor are saved together, so a restart resumes there.

use super::compare::{Kind, Layout};
use super::db::{Bounds, Db, DbError, Shape, TableName};
use super::{Cursor, Ends, Pair};
use crate::store::{rfc3339, Store};
use molt_lms_api::verify::{
    RowDiff, RowDiffKind, TableReport, TableStatus, VerifyRequest, VerifyRun, VerifyStatus,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

pub const DEFAULT_BATCH_ROWS: u64 = 5000;
/// Differing rows listed per table; the counts stay complete.
const MAX_ROWS_REPORTED: usize = 100;
/// `live`: re-reads of differing rows, 0.5 s, 1 s and 2 s apart.
const LIVE_RECHECKS: u32 = 3;
const LIVE_FIRST_DELAY: Duration = Duration::from_millis(500);
/// `live`: at most this many differing rows of one range are re-read.
const LIVE_MAX_KEYS: usize = 1000;

/// The run as the API reads it while it goes on.
pub type Shared = Arc<Mutex<VerifyRun>>;

/// A new run's first state.
pub fn new_run(id: u64, request: VerifyRequest) -> VerifyRun {
    VerifyRun {
        id,
        status: VerifyStatus::Running,
        request,
        started_at: rfc3339(SystemTime::now()),
        finished_at: None,
        error: String::new(),
        tables_total: 0,
        tables_done: 0,
        rows_checked: 0,
        rows_per_second: 0.0,
        eta_seconds: None,
        resumes: 0,
        tables: Vec::new(),
    }
}

fn empty_report(source: &str, target: &str, status: TableStatus) -> TableReport {
    TableReport {
        source_table: source.to_owned(),
        target_table: target.to_owned(),
        status,
        source_rows: None,
        target_rows: None,
        delta: None,
        rows_checked: 0,
        ranges_checked: 0,
        ranges_differing: 0,
        mismatched: 0,
        missing: 0,
        extra: 0,
        rows: Vec::new(),
        error: String::new(),
    }
}

/// How a column is compared, from its type on each side.
fn kind(source_type: &str, target_type: &str) -> Kind {
    let float = |t: &str| {
        matches!(
            t,
            "real" | "double precision" | "float" | "double" | "float4" | "float8"
        )
    };
    if float(source_type) || float(target_type) {
        Kind::Float
    } else if source_type == "boolean" || target_type == "boolean" {
        Kind::Bool
    } else if [source_type, target_type].iter().any(|t| {
        t.starts_with("timestamp") || t.starts_with("time ") || matches!(*t, "time" | "datetime")
    }) {
        Kind::Timestamp
    } else {
        Kind::Exact
    }
}

/// What the range loop needs of a table: the columns both sides have, key first.
struct Plan {
    layout: Layout,
    source_cols: Vec<String>,
    target_cols: Vec<String>,
    binary: Vec<bool>,
}

/// Lines up the two shapes. `Err` is a finding about the table, not a failure.
fn line_up(s: &Shape, t: &Shape, mysql: bool) -> Result<Plan, String> {
    let same = |a: &str, b: &str| {
        if mysql {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let find = |name: &str| t.columns.iter().find(|(n, _)| same(n, name));
    for k in &s.key {
        if find(k).is_none() {
            return Err(format!("primary-key column {k} is not on the target"));
        }
    }
    let ordered = s.key.iter().cloned().chain(
        s.columns
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| !s.key.contains(n)),
    );
    let mut plan = Plan {
        layout: Layout {
            names: Vec::new(),
            kinds: Vec::new(),
            key_len: s.key.len(),
        },
        source_cols: Vec::new(),
        target_cols: Vec::new(),
        binary: Vec::new(),
    };
    let mut only_source = Vec::new();
    for name in ordered {
        let s_type = s
            .columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, ty)| ty.as_str())
            .unwrap_or_default();
        match find(&name) {
            None => only_source.push(name),
            Some((t_name, t_type)) => {
                plan.layout.kinds.push(kind(s_type, t_type));
                plan.binary.push(mysql && Db::is_binary_type(s_type));
                plan.layout.names.push(name.clone());
                plan.source_cols.push(name);
                plan.target_cols.push(t_name.clone());
            }
        }
    }
    let only_target: Vec<_> = t
        .columns
        .iter()
        .filter(|(n, _)| !s.columns.iter().any(|(m, _)| same(n, m)))
        .map(|(n, _)| n.clone())
        .collect();
    if !only_source.is_empty() || !only_target.is_empty() {
        return Err(format!(
            "columns differ: only on the source [{}], only on the target [{}]",
            only_source.join(", "),
            only_target.join(", ")
        ));
    }
    Ok(plan)
}

/// Does a `--table` entry (`name` or `schema.name`) name this table?
fn selected(filter: &[String], t: &TableName) -> bool {
    filter.is_empty() || filter.iter().any(|f| *f == t.name || *f == t.to_string())
}

pub struct Job {
    pub ends: Arc<Ends>,
    pub store: Arc<Store>,
    pub shared: Shared,
}

/// Rate and ETA bookkeeping for the part of the run this process does.
struct Pace {
    started: Instant,
    rows_at_start: u64,
}

impl Job {
    fn update<R>(&self, f: impl FnOnce(&mut VerifyRun) -> R) -> R {
        let mut run = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut run)
    }

    fn snapshot(&self) -> VerifyRun {
        self.update(|r| r.clone())
    }

    /// Saves progress; a failed save only means a resume redoes more, so it is logged.
    async fn save(&self, cursor: Option<&Cursor>) {
        if let Err(e) = self.store.save_verify(&self.snapshot(), cursor).await {
            tracing::warn!(error = %e, "cannot save the verification run's progress");
        }
    }

    /// Runs to the end from `cursor` (none: from the start), then saves the outcome.
    pub async fn run(self, cursor: Option<Cursor>) {
        let id = self.snapshot().id;
        tracing::info!(
            verify = id,
            resumed = cursor.is_some(),
            "verification started"
        );
        let outcome = self.go(cursor).await;
        let run = self.update(|run| {
            run.tables_done = run.tables.iter().filter(|t| t.status.is_done()).count() as u64;
            run.eta_seconds = None;
            run.finished_at = Some(rfc3339(SystemTime::now()));
            run.status = match &outcome {
                Err(e) => {
                    run.error = e.to_string();
                    VerifyStatus::Failed
                }
                Ok(()) if run.differing_tables() > 0 => VerifyStatus::Differences,
                Ok(()) => VerifyStatus::Matched,
            };
            run.clone()
        });
        tracing::info!(verify = id, status = ?run.status, rows = run.rows_checked, differing_tables = run.differing_tables(), "verification finished");
        // The outcome must not be lost to one failed write: a run left `running` in
        // the store would be redone by the next orchestrator.
        for attempt in 0..5 {
            match self.store.save_verify(&run, None).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "cannot save the verification's outcome")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn go(&self, cursor: Option<Cursor>) -> Result<(), DbError> {
        let (mut src, mut tgt) = self.ends.connect().await?;
        let cursor = match cursor {
            Some(c) => c,
            None => {
                let plan = self.plan(&mut src, &mut tgt).await?;
                let c = Cursor {
                    plan,
                    table: 0,
                    after: None,
                };
                self.save(Some(&c)).await;
                c
            }
        };
        let pace = Pace {
            started: Instant::now(),
            rows_at_start: self.snapshot().rows_checked,
        };
        for i in cursor.table..cursor.plan.len() {
            let (Some(s), Some(t)) = (&cursor.plan[i].source, &cursor.plan[i].target) else {
                continue;
            };
            if self.update(|r| r.tables[i].status.is_done()) {
                continue;
            }
            self.update(|r| r.tables[i].status = TableStatus::Running);
            let result = self
                .table(&mut src, &mut tgt, &cursor, i, (s, t), &pace)
                .await;
            if let Err(e) = result {
                tracing::warn!(table = %s, error = %e, "verification of a table failed");
                self.update(|r| {
                    r.tables[i].status = TableStatus::Failed;
                    r.tables[i].error = e.to_string();
                });
                // The failure may have been the session's: go on with new ones.
                (src, tgt) = self.ends.connect().await?;
            }
            self.update(|r| {
                r.tables_done = r.tables.iter().filter(|t| t.status.is_done()).count() as u64;
            });
            self.save(Some(&Cursor {
                plan: cursor.plan.clone(),
                table: i + 1,
                after: None,
            }))
            .await;
        }
        Ok(())
    }

    /// The tables to compare, with presence and row counts recorded on the run.
    async fn plan(&self, src: &mut Db, tgt: &mut Db) -> Result<Vec<Pair>, DbError> {
        let filter = self.snapshot().request.tables;
        let mysql = src.is_mysql();
        let source_tables = src.tables().await?;
        let mut target_tables = tgt.tables().await?;
        if mysql {
            // A MySQL database's tables land in one schema of the target (`public`).
            let schema = tgt.current_schema().await?;
            target_tables.retain(|t| t.schema == schema);
        }
        let same = |s: &TableName, t: &TableName| {
            if mysql {
                s.name.eq_ignore_ascii_case(&t.name)
            } else {
                s == t
            }
        };
        let mut pairs = Vec::new();
        for s in source_tables.iter().filter(|s| selected(&filter, s)) {
            let target = target_tables.iter().find(|t| same(s, t)).cloned();
            pairs.push(Pair {
                source: Some(s.clone()),
                target,
            });
        }
        for t in target_tables.iter().filter(|t| selected(&filter, t)) {
            if !source_tables.iter().any(|s| same(s, t)) {
                pairs.push(Pair {
                    source: None,
                    target: Some(t.clone()),
                });
            }
        }
        let mut reports = Vec::new();
        for p in &pairs {
            let name = |t: &Option<TableName>| t.as_ref().map(|t| t.to_string());
            let mut r = empty_report(
                &name(&p.source)
                    .or_else(|| name(&p.target))
                    .unwrap_or_default(),
                &name(&p.target).unwrap_or_default(),
                match (&p.source, &p.target) {
                    (Some(_), None) => TableStatus::MissingOnTarget,
                    (None, _) => TableStatus::ExtraOnTarget,
                    _ => TableStatus::Pending,
                },
            );
            if let Some(s) = &p.source {
                r.source_rows = Some(src.count(s).await?);
            }
            if let Some(t) = &p.target {
                r.target_rows = Some(tgt.count(t).await?);
            }
            r.delta = Some(r.source_rows.unwrap_or(0) as i64 - r.target_rows.unwrap_or(0) as i64);
            reports.push(r);
        }
        for f in &filter {
            let named = |t: &Option<TableName>| {
                t.as_ref()
                    .is_some_and(|t| *f == t.name || *f == t.to_string())
            };
            if !pairs.iter().any(|p| named(&p.source) || named(&p.target)) {
                let mut r = empty_report(f, "", TableStatus::Failed);
                r.error = "no such table on the source or the target".into();
                reports.push(r);
            }
        }
        self.update(|run| {
            run.tables_total = reports.len() as u64;
            run.tables_done = reports.iter().filter(|t| t.status.is_done()).count() as u64;
            run.tables = reports;
        });
        Ok(pairs)
    }

    #[allow(clippy::too_many_arguments)]
    async fn table(
        &self,
        src: &mut Db,
        tgt: &mut Db,
        cursor: &Cursor,
        i: usize,
        (s, t): (&TableName, &TableName),
        pace: &Pace,
    ) -> Result<(), DbError> {
        // Only the table the cursor stopped in resumes part-way.
        let mut after = cursor.after.clone().filter(|_| i == cursor.table);
        let mysql = src.is_mysql();
        let (s_shape, t_shape) = (src.shape(s).await?, tgt.shape(t).await?);
        if s_shape.key.is_empty() {
            // Counts are all there is to compare: settled as at any table's end.
            let live = self.snapshot().request.live;
            self.settle_counts(src, tgt, (s, t), i, live).await?;
            self.update(|r| {
                let tr = &mut r.tables[i];
                if tr.status == TableStatus::Matched {
                    tr.status = TableStatus::NoPrimaryKey;
                } else {
                    tr.error = "no primary key: only the row counts were compared".into();
                }
            });
            return Ok(());
        }
        let plan = match line_up(&s_shape, &t_shape, mysql) {
            Ok(p) => p,
            Err(finding) => {
                self.update(|r| {
                    r.tables[i].status = TableStatus::Differences;
                    r.tables[i].error = finding;
                });
                return Ok(());
            }
        };
        let request = self.snapshot().request;
        let batch = request.batch_rows.unwrap_or(DEFAULT_BATCH_ROWS).max(1);
        let key_len = plan.layout.key_len;
        loop {
            let bounds = Bounds {
                after: after.as_deref(),
                upto: None,
            };
            let s_rows = src
                .range(
                    s,
                    &plan.source_cols,
                    &plan.binary,
                    key_len,
                    bounds,
                    Some(batch),
                )
                .await?;
            let full = s_rows.len() as u64 == batch;
            let upto: Option<Vec<Option<String>>> = s_rows.last().map(|r| r[..key_len].to_vec());
            let t_bounds = Bounds {
                after: after.as_deref(),
                upto: upto.as_deref(),
            };
            let t_rows = if upto.is_some() {
                tgt.range(t, &plan.target_cols, &plan.binary, key_len, t_bounds, None)
                    .await?
            } else {
                Vec::new()
            };
            let found = plan.layout.compare_range(&s_rows, &t_rows);
            let differing = found.is_some();
            let mut diffs = found.unwrap_or_default();
            if request.live && !diffs.is_empty() {
                diffs = self.recheck(src, tgt, s, t, &plan, diffs).await?;
            }
            self.record(i, s_rows.len() as u64, differing, diffs, pace);
            if upto.is_some() {
                after = upto;
            }
            if !full {
                // Past the source's last key, whatever the target holds is extra.
                self.tail(src, tgt, (s, t), &plan, after.clone(), batch, i, pace)
                    .await?;
                break;
            }
            self.save(Some(&Cursor {
                plan: cursor.plan.clone(),
                table: i,
                after: after.clone(),
            }))
            .await;
            self.throttle(pace, request.rows_per_second).await;
        }
        self.settle_counts(src, tgt, (s, t), i, request.live).await
    }

    /// The target's rows after the source's last key, a batch at a time.
    #[allow(clippy::too_many_arguments)]
    async fn tail(
        &self,
        src: &mut Db,
        tgt: &mut Db,
        (s, t): (&TableName, &TableName),
        plan: &Plan,
        mut after: Option<Vec<Option<String>>>,
        batch: u64,
        i: usize,
        pace: &Pace,
    ) -> Result<(), DbError> {
        let live = self.snapshot().request.live;
        loop {
            let bounds = Bounds {
                after: after.as_deref(),
                upto: None,
            };
            let rows = tgt
                .range(
                    t,
                    &plan.target_cols,
                    &plan.binary,
                    plan.layout.key_len,
                    bounds,
                    Some(batch),
                )
                .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut diffs = plan.layout.compare_range(&[], &rows).unwrap_or_default();
            if live {
                diffs = self.recheck(src, tgt, s, t, plan, diffs).await?;
            }
            self.record(i, 0, true, diffs, pace);
            if (rows.len() as u64) < batch {
                return Ok(());
            }
            after = rows.last().map(|r| r[..plan.layout.key_len].to_vec());
        }
    }

    /// Re-reads differing rows a few times, keeping those that still differ.
    async fn recheck(
        &self,
        src: &mut Db,
        tgt: &mut Db,
        s: &TableName,
        t: &TableName,
        plan: &Plan,
        mut diffs: Vec<RowDiff>,
    ) -> Result<Vec<RowDiff>, DbError> {
        let rest = diffs.split_off(diffs.len().min(LIVE_MAX_KEYS));
        let mut delay = LIVE_FIRST_DELAY;
        for _ in 0..LIVE_RECHECKS {
            if diffs.is_empty() {
                break;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
            let keys: Vec<Vec<Option<String>>> = diffs
                .iter()
                .map(|d| d.key.iter().map(|(_, v)| v.clone()).collect())
                .collect();
            let k = plan.layout.key_len;
            let s_rows = src
                .by_keys(s, &plan.source_cols, &plan.binary, k, &keys)
                .await?;
            let t_rows = tgt
                .by_keys(t, &plan.target_cols, &plan.binary, k, &keys)
                .await?;
            diffs = plan
                .layout
                .compare_range(&s_rows, &t_rows)
                .unwrap_or_default();
        }
        diffs.extend(rest);
        Ok(diffs)
    }

    /// Ends a table: counts read before its contents may have moved since; when they
    /// disagree they are read again, and the status follows the findings.
    async fn settle_counts(
        &self,
        src: &mut Db,
        tgt: &mut Db,
        (s, t): (&TableName, &TableName),
        i: usize,
        live: bool,
    ) -> Result<(), DbError> {
        let report = self.update(|r| r.tables[i].clone());
        let contents_differ = report.mismatched + report.missing + report.extra > 0;
        let (mut sc, mut tc) = (report.source_rows, report.target_rows);
        if sc != tc && (live || !contents_differ) {
            sc = Some(src.count(s).await?);
            tc = Some(tgt.count(t).await?);
        }
        self.update(|r| {
            let tr = &mut r.tables[i];
            tr.source_rows = sc;
            tr.target_rows = tc;
            tr.delta = Some(sc.unwrap_or(0) as i64 - tc.unwrap_or(0) as i64);
            tr.status = if contents_differ || sc != tc {
                TableStatus::Differences
            } else {
                TableStatus::Matched
            };
        });
        Ok(())
    }

    fn record(&self, i: usize, checked: u64, differing: bool, diffs: Vec<RowDiff>, pace: &Pace) {
        self.update(|run| {
            let t = &mut run.tables[i];
            t.rows_checked += checked;
            t.ranges_checked += u64::from(checked > 0);
            t.ranges_differing += u64::from(differing && !diffs.is_empty());
            for d in diffs {
                match d.kind {
                    RowDiffKind::Missing => t.missing += 1,
                    RowDiffKind::Extra => t.extra += 1,
                    RowDiffKind::Mismatched => t.mismatched += 1,
                }
                if t.rows.len() < MAX_ROWS_REPORTED {
                    t.rows.push(d);
                }
            }
            run.rows_checked += checked;
            let secs = pace.started.elapsed().as_secs_f64();
            let done_here = run.rows_checked.saturating_sub(pace.rows_at_start);
            run.rows_per_second = if secs > 0.0 {
                done_here as f64 / secs
            } else {
                0.0
            };
            let total: u64 = run
                .tables
                .iter()
                .filter(|t| {
                    matches!(
                        t.status,
                        TableStatus::Pending
                            | TableStatus::Running
                            | TableStatus::Matched
                            | TableStatus::Differences
                    )
                })
                .filter_map(|t| t.source_rows)
                .sum();
            let left = total.saturating_sub(run.rows_checked);
            run.eta_seconds =
                (run.rows_per_second > 0.0).then(|| left as f64 / run.rows_per_second);
        });
    }

    /// Keeps the rows read per second under the request's limit.
    async fn throttle(&self, pace: &Pace, limit: Option<u64>) {
        let Some(limit) = limit.filter(|l| *l > 0) else {
            return;
        };
        let done = self
            .snapshot()
            .rows_checked
            .saturating_sub(pace.rows_at_start);
        let due = Duration::from_secs_f64(done as f64 / limit as f64);
        if let Some(wait) = due.checked_sub(pace.started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests;
