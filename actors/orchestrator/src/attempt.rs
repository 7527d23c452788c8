//! One cutover attempt as a plain state machine, fed by proxy reports and losses, and
//! the rules that say when one may begin, commit or abort.
//!
//! The rules are plain functions ([`decide_begin`], [`finish_target`],
//! [`Attempt::decide_finish`]) on facts the coordinator gathers, so each is unit-tested
//! without actix; the coordinator only does the I/O their answer calls for.
//!
//! Transitions (attempt status; each proxy row follows the same path on its own):
//! - `BeginStarted` → `TrafficPaused` once every proxy reports `Paused` for this attempt.
//! - `TrafficPaused` → `Preparing` on commit (phase one): every proxy opens, logs in and
//!   prepares each held session on the new source of truth; a row turns `Prepared`
//!   when its proxy reports the outcome.
//! - `Preparing` → `TrafficPaused` when any proxy failed to prepare a session, or did
//!   not answer in time: the commit is refused with every failure named, traffic stays
//!   paused, and abort or another commit may follow.
//! - `Preparing` → `CommitStarted` once every row is `Prepared` without a failure (phase
//!   two). **Point of no return**: the new source of truth is persisted before any proxy
//!   is told, and an attempt past this point cannot be aborted (a revert is a new
//!   attempt). The switch only swaps sessions that are already open.
//! - `CommitStarted` → `CommitCompleted` when every proxy serves the new source of
//!   truth, or `Error` if one failed or was lost.
//! - `BeginStarted` | `TrafficPaused` | `Preparing` | `Error` (before the point of no
//!   return) → `AbortStarted` on abort
//!   or begin-timeout → `AbortCompleted` when every reachable proxy serves again.
//! - A proxy lost while the attempt holds traffic turns its row and the attempt to `Error`;
//!   abort still releases the others.

use molt_lms_api::cutover::{CutoverStatus, ProxyPhase, ProxyReport, TimeoutAction};
use molt_lms_api::cutover::{PrepareOrder, ReplicationCheck};
use molt_lms_api::{ShadowMode, SourceOfTruth};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// How long an attempt's phases took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Durations {
    /// Begin until every proxy paused.
    pub pause: Option<Duration>,
    /// The latest preparation's start until the last proxy prepared.
    pub prepare: Option<Duration>,
    /// Begin until the attempt ended (committed or aborted everywhere).
    pub total: Option<Duration>,
}

/// Which way an attempt is being finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Commit,
    Abort,
}

/// One proxy's part in an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub status: CutoverStatus,
    pub source_of_truth: SourceOfTruth,
    pub trigger: SystemTime,
    pub paused: Option<SystemTime>,
    /// When the proxy reported its sessions prepared for the current order.
    pub prepared: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub error: String,
    pub report: Option<ProxyReport>,
}

impl Row {
    fn done(&self) -> bool {
        matches!(
            self.status,
            CutoverStatus::CommitCompleted | CutoverStatus::AbortCompleted | CutoverStatus::Error
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub id: u64,
    pub from: SourceOfTruth,
    pub to: SourceOfTruth,
    pub status: CutoverStatus,
    pub finish: Option<Finish>,
    /// Epoch of the desired state that finishes the attempt.
    pub finish_epoch: u64,
    pub trigger: SystemTime,
    pub paused: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub error: String,
    pub begin_timeout: Option<Duration>,
    /// How long the replication gate took, when a commit waited for it, and its check.
    pub replication_lag: Option<Duration>,
    pub replication_check: Option<ReplicationCheck>,
    /// `trigger + begin_timeout`, persisted so a restarted orchestrator keeps it.
    pub begin_deadline: Option<SystemTime>,
    pub action: TimeoutAction,
    /// The running (or latest) commit preparation: its order and start.
    pub prepare: Option<(PrepareOrder, SystemTime)>,
    pub rows: BTreeMap<String, Row>,
}

impl Attempt {
    pub fn begin(
        id: u64,
        from: SourceOfTruth,
        proxies: impl IntoIterator<Item = String>,
        begin_timeout: Option<Duration>,
        action: TimeoutAction,
    ) -> Self {
        let now = SystemTime::now();
        let rows = proxies
            .into_iter()
            .map(|addr| (addr, Row::new(from, now)))
            .collect();
        Self {
            id,
            from,
            to: from.other(),
            status: CutoverStatus::BeginStarted,
            finish: None,
            finish_epoch: 0,
            trigger: now,
            paused: None,
            end: None,
            error: String::new(),
            begin_timeout,
            replication_lag: None,
            replication_check: None,
            // Checked: a timeout past the clock's range means no deadline, not a panic
            // of the coordinator (the API also refuses more than a year).
            begin_deadline: begin_timeout.and_then(|t| now.checked_add(t)),
            action,
            prepare: None,
            rows,
        }
    }

    /// The preparation order proxies must carry out now, while one runs.
    pub fn prepare_order(&self) -> Option<PrepareOrder> {
        match (self.status, self.prepare) {
            (CutoverStatus::Preparing, Some((order, _))) => Some(order),
            _ => None,
        }
    }

    /// Commit, phase one; the caller persists the result before anyone acts on it.
    pub fn start_prepare(&mut self, order: u64) {
        self.status = CutoverStatus::Preparing;
        self.error.clear();
        self.prepare = Some((PrepareOrder { order, to: self.to }, SystemTime::now()));
        for row in self.rows.values_mut() {
            row.prepared = None;
            if row.status == CutoverStatus::TrafficPaused {
                row.status = CutoverStatus::Preparing;
            }
        }
    }

    /// How the preparation ended: `None` while a proxy has not reported, `Ok` when every
    /// proxy prepared every session, `Err` with one line per failed session otherwise.
    pub fn prepare_outcome(&self) -> Option<Result<(), Vec<String>>> {
        let order = self.prepare_order()?;
        if !self
            .rows
            .values()
            .all(|r| r.status == CutoverStatus::Prepared)
        {
            return None;
        }
        let failures: Vec<String> = self
            .rows
            .iter()
            .flat_map(|(addr, r)| {
                r.report
                    .iter()
                    .filter_map(|p| p.prepare.as_ref())
                    .filter(move |p| p.order == order.order)
                    .flat_map(|p| p.failures.iter())
                    .map(move |f| format!("proxy {addr}: {f}"))
            })
            .collect();
        Some(if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        })
    }

    /// After a restart: a preparation's failures live in the proxies' reports, which are
    /// not persisted, so every row must report its preparation again.
    pub fn forget_prepared(&mut self) {
        for row in self.rows.values_mut() {
            if row.status == CutoverStatus::Prepared {
                row.status = CutoverStatus::Preparing;
            }
        }
    }

    /// The rows that have not reported their preparation.
    pub fn unprepared(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|(_, r)| r.status != CutoverStatus::Prepared)
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Refuses the commit before its point of no return: back to holding traffic.
    pub fn refuse_prepare(&mut self, why: String) {
        self.status = CutoverStatus::TrafficPaused;
        self.error = why;
        for row in self.rows.values_mut() {
            if matches!(
                row.status,
                CutoverStatus::Preparing | CutoverStatus::Prepared
            ) {
                row.status = CutoverStatus::TrafficPaused;
            }
        }
    }

    /// How long its phases took, as far as they went: for the orchestrator's metrics.
    pub fn durations(&self) -> Durations {
        let since = |from: SystemTime, to: SystemTime| to.duration_since(from).ok();
        Durations {
            pause: self.paused.and_then(|p| since(self.trigger, p)),
            prepare: self.prepare.and_then(|(_, started)| {
                let done = self
                    .rows
                    .values()
                    .map(|r| r.prepared)
                    .collect::<Option<Vec<_>>>()?;
                since(started, done.into_iter().max()?)
            }),
            total: self.end.and_then(|e| since(self.trigger, e)),
        }
    }

    /// True while the attempt holds traffic (not yet committed or aborted).
    pub fn holding(&self) -> bool {
        self.finish.is_none()
    }

    /// A proxy that (re-)registers during the pause joins it.
    pub fn join(&mut self, addr: &str) {
        if self.holding() {
            let row = self
                .rows
                .entry(addr.to_owned())
                .or_insert_with(|| Row::new(self.from, SystemTime::now()));
            if row.status == CutoverStatus::Error {
                *row = Row::new(self.from, SystemTime::now());
            }
            self.recompute();
        }
    }

    /// Applies a proxy's report; true if anything that is persisted changed.
    pub fn on_report(&mut self, addr: &str, report: &ProxyReport) -> bool {
        let order = self.prepare_order().map(|o| o.order);
        let Some(row) = self.rows.get_mut(addr) else {
            return false;
        };
        let before = (row.status, row.paused, row.prepared, row.error.clone());
        row.report = Some(report.clone());
        match (row.status, self.finish) {
            (CutoverStatus::TrafficPaused | CutoverStatus::Preparing, None)
                if order.is_some()
                    && report.attempt_id == Some(self.id)
                    && report.phase == ProxyPhase::Prepared
                    && report.prepare.as_ref().map(|p| p.order) == order =>
            {
                row.status = CutoverStatus::Prepared;
                row.prepared = Some(SystemTime::now());
            }
            (CutoverStatus::BeginStarted, None)
                if report.phase == ProxyPhase::Paused && report.attempt_id == Some(self.id) =>
            {
                row.status = CutoverStatus::TrafficPaused;
                row.paused = Some(
                    report
                        .paused_at
                        .as_deref()
                        .and_then(|t| humantime::parse_rfc3339(t).ok())
                        .unwrap_or_else(SystemTime::now),
                );
            }
            (_, Some(finish))
                if !row.done()
                    && report.epoch >= self.finish_epoch
                    && report.phase == ProxyPhase::Serving =>
            {
                row.end = Some(SystemTime::now());
                row.source_of_truth = report.source_of_truth;
                if !report.error.is_empty() {
                    row.status = CutoverStatus::Error;
                    row.error = report.error.clone();
                } else {
                    row.status = match finish {
                        Finish::Commit => CutoverStatus::CommitCompleted,
                        Finish::Abort => CutoverStatus::AbortCompleted,
                    };
                }
            }
            _ => {}
        }
        let changed = before != (row.status, row.paused, row.prepared, row.error.clone());
        self.recompute() || changed
    }

    /// A proxy stopped answering.
    pub fn on_lost(&mut self, addr: &str) -> bool {
        let Some(row) = self.rows.get_mut(addr) else {
            return false;
        };
        if row.done() {
            return false;
        }
        row.status = CutoverStatus::Error;
        row.error = "lost contact with the proxy".to_owned();
        if self.holding() && self.status != CutoverStatus::Error {
            self.status = CutoverStatus::Error;
            self.error =
                format!("proxy {addr} was lost during the pause; abort to release the others");
        }
        self.recompute();
        true
    }

    /// Starts finishing; the caller has persisted `epoch` as the new desired state.
    pub fn start_finish(&mut self, finish: Finish, epoch: u64) {
        self.finish = Some(finish);
        self.finish_epoch = epoch;
        self.status = match finish {
            Finish::Commit => CutoverStatus::CommitStarted,
            Finish::Abort => CutoverStatus::AbortStarted,
        };
        for row in self.rows.values_mut().filter(|r| !r.done()) {
            row.status = self.status;
        }
        self.recompute();
    }

    /// Derives the attempt status from its rows; true if it changed.
    fn recompute(&mut self) -> bool {
        let before = self.status;
        let all = |f: &dyn Fn(&Row) -> bool| self.rows.values().all(f);
        match self.finish {
            None if self.status == CutoverStatus::BeginStarted
                && all(&|r| r.status == CutoverStatus::TrafficPaused) =>
            {
                self.status = CutoverStatus::TrafficPaused;
                self.paused = self.rows.values().filter_map(|r| r.paused).max();
            }
            Some(finish)
                if all(&|r| r.done())
                    && !self.status.is_final()
                    && self.status != CutoverStatus::Error =>
            {
                self.end = Some(SystemTime::now());
                let failed: Vec<&String> = self
                    .rows
                    .iter()
                    .filter(|(_, r)| r.status == CutoverStatus::Error)
                    .map(|(a, _)| a)
                    .collect();
                self.status = match finish {
                    Finish::Commit if !failed.is_empty() => {
                        self.error = format!("proxies that did not confirm the switch: {failed:?}");
                        CutoverStatus::Error
                    }
                    Finish::Commit => CutoverStatus::CommitCompleted,
                    Finish::Abort => CutoverStatus::AbortCompleted,
                };
            }
            _ => {}
        }
        before != self.status
    }

    /// Done changing: every proxy confirmed (or failed) the finish.
    pub fn settled(&self) -> bool {
        self.finish.is_some() && self.rows.values().all(Row::done)
    }

    /// Whether a commit or an abort of this attempt may go ahead now, and how. Plain
    /// rules, no I/O: the coordinator acts on the answer and the REST layer turns a
    /// refusal into an HTTP answer.
    pub fn decide_finish(&self, finish: Finish) -> Result<FinishDecision, FinishRefusal> {
        match (finish, self.finish, self.status) {
            (Finish::Abort, Some(Finish::Commit), _) => Err(FinishRefusal::AlreadyCommitted),
            // Once settled there is nothing to finish; repeating the finish in progress
            // is harmless.
            (_, Some(_), _) if self.settled() => Err(FinishRefusal::Finished),
            (_, Some(done), _) if done == finish => Ok(FinishDecision::Repeat),
            (Finish::Commit, Some(Finish::Abort), _) => Err(FinishRefusal::BeingAborted),
            (Finish::Commit, None, CutoverStatus::BeginStarted) => Err(FinishRefusal::NotPaused),
            (Finish::Commit, None, CutoverStatus::Error) => Err(FinishRefusal::Failed),
            // Preparing already: if every proxy prepared and only the write of the point
            // of no return failed, that write is tried again.
            (Finish::Commit, None, CutoverStatus::Preparing) => {
                if matches!(self.prepare_outcome(), Some(Ok(()))) {
                    Ok(FinishDecision::RetryCommitPoint)
                } else {
                    Ok(FinishDecision::Repeat)
                }
            }
            _ => Ok(FinishDecision::Start),
        }
    }
}

/// What a commit or abort request does (see [`Attempt::decide_finish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishDecision {
    /// Start it: a commit's preparation, or an abort's release.
    Start,
    /// Already under way; nothing new to do.
    Repeat,
    /// Every proxy prepared; write the point of no return again.
    RetryCommitPoint,
}

/// Why a commit or abort request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishRefusal {
    /// An abort after the point of no return.
    AlreadyCommitted,
    /// The attempt has finished.
    Finished,
    /// A commit while an abort is under way.
    BeingAborted,
    /// A commit before every proxy has paused.
    NotPaused,
    /// A commit of an attempt that failed (a proxy lost during the pause, say).
    Failed,
}

/// The attempt a commit or abort addresses: the current one, when the request names it
/// or names none.
pub fn finish_target(
    current: Option<&Attempt>,
    requested: Option<u64>,
) -> Result<&Attempt, NoTarget> {
    match (current, requested) {
        (Some(a), Some(id)) if id != a.id => Err(NoTarget::NotActive(id)),
        (Some(a), _) => Ok(a),
        (None, Some(id)) => Err(NoTarget::NotActive(id)),
        (None, None) => Err(NoTarget::NoAttempt),
    }
}

/// Why a commit or abort addresses no attempt (see [`finish_target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTarget {
    /// The request names an attempt that is not the current one.
    NotActive(u64),
    /// The request names none, and there is no attempt.
    NoAttempt,
}

/// What a begin is decided on: plain values the coordinator gathers from its registry.
#[derive(Debug, Clone)]
pub struct BeginFacts<'a> {
    /// Whether the metadata tables exist.
    pub initialized: bool,
    /// The current or most recent attempt.
    pub attempt: Option<&'a Attempt>,
    /// The proxies the request lists; empty means every live one.
    pub requested: &'a [String],
    /// Every registered proxy, by address.
    pub proxies: BTreeMap<String, BeginProxy>,
    /// How long after its last word a lost proxy surely holds its traffic by itself (its
    /// lease and a margin).
    pub lease_out: Duration,
}

/// A registered proxy, as a begin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginProxy {
    /// Silent for longer than the orchestrator waits for a heartbeat.
    pub lost: bool,
    /// How long since it was last heard from; `None` if never.
    pub silent_for: Option<Duration>,
    pub shadow_mode: ShadowMode,
}

/// Whether a begin (a revert is a begin too) may go ahead, and the proxies that take
/// part: every live one. Checks run in a fixed order and the first failing one answers.
pub fn decide_begin(facts: &BeginFacts) -> Result<Vec<String>, BeginRefusal> {
    if !facts.initialized {
        return Err(BeginRefusal::NotInitialized);
    }
    if let Some(a) = facts.attempt.filter(|a| !a.settled()) {
        return Err(BeginRefusal::InProgress {
            id: a.id,
            status: a.status,
        });
    }
    for wanted in facts.requested {
        match facts.proxies.get(wanted) {
            None => return Err(BeginRefusal::UnknownProxy(wanted.clone())),
            Some(p) if p.lost => return Err(BeginRefusal::ProxyLost(wanted.clone())),
            Some(_) => {}
        }
    }
    // A lost proxy is left out once its lease has surely run out, so it holds its
    // traffic by itself: it could never acknowledge, and would wedge the attempt.
    // Until then begin waits for it. Every live one takes part: the source of truth is
    // one for all proxies.
    if let Some((addr, t)) = facts
        .proxies
        .iter()
        .filter(|(_, p)| p.lost)
        .filter_map(|(a, p)| p.silent_for.map(|t| (a, t)))
        .find(|(_, t)| *t <= facts.lease_out)
    {
        return Err(BeginRefusal::Unreachable {
            addr: addr.clone(),
            silent_for: t,
            until_out: facts.lease_out - t,
        });
    }
    let live: Vec<(&String, &BeginProxy)> = facts.proxies.iter().filter(|(_, p)| !p.lost).collect();
    if let Some((addr, _)) = live
        .iter()
        .find(|(a, _)| !facts.requested.is_empty() && !facts.requested.contains(a))
    {
        return Err(BeginRefusal::PartialCutover((*addr).clone()));
    }
    if live.is_empty() {
        return Err(BeginRefusal::NoProxies);
    }
    if let Some((addr, p)) = live.iter().find(|(_, p)| p.shadow_mode != ShadowMode::None) {
        return Err(BeginRefusal::Shadowing {
            addr: (*addr).clone(),
            mode: p.shadow_mode,
        });
    }
    Ok(live.into_iter().map(|(a, _)| a.clone()).collect())
}

/// Why a begin is refused (see [`decide_begin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginRefusal {
    /// The metadata tables do not exist yet.
    NotInitialized,
    /// Another attempt has not settled.
    InProgress { id: u64, status: CutoverStatus },
    /// The request lists an address no proxy registered.
    UnknownProxy(String),
    /// The request lists a proxy that stopped sending heartbeats.
    ProxyLost(String),
    /// A lost proxy may still be serving: its lease runs out in `until_out`.
    Unreachable {
        addr: String,
        silent_for: Duration,
        until_out: Duration,
    },
    /// A live proxy the request does not list.
    PartialCutover(String),
    /// No live proxy to cut over.
    NoProxies,
    /// A live proxy shadows traffic.
    Shadowing { addr: String, mode: ShadowMode },
}

impl Row {
    fn new(sot: SourceOfTruth, trigger: SystemTime) -> Self {
        Self {
            status: CutoverStatus::BeginStarted,
            source_of_truth: sot,
            trigger,
            paused: None,
            prepared: None,
            end: None,
            error: String::new(),
            report: None,
        }
    }
}

#[cfg(test)]
mod tests;
