//! The instance's side of a cutover: which phase it is in for which attempt, which
//! sessions still block the pause, which are being prepared on the new source of truth,
//! and which still have to switch. Plain state; the actor feeds it events and carries
//! out what it returns.
//!
//! Phases (`ProxyPhase`), each entered from the orchestrator's desired state:
//! - `Serving` → `Pausing` on a hold order; → `Paused` once every session is quiet.
//! - `Paused` → `Preparing` when the hold order carries `prepare` (commit, phase
//!   one); → `Prepared` once every session's preparation ended, with its failures.
//! - `Preparing` | `Prepared` → `Paused` when the order drops `prepare` (the commit was
//!   refused) or names a newer one (then on to `Preparing` again): prepared sessions are
//!   closed.
//! - any holding phase → `Switching` when the source of truth changes (commit, phase
//!   two), → `Serving` once every session moved; → `Serving` on the same source of
//!   truth without a hold (abort).

use molt_lms_api::cutover::{DesiredState, PrepareFailure, PrepareReport, ProxyPhase};
use molt_lms_api::SourceOfTruth;
use std::collections::HashSet;
use std::time::{Instant, SystemTime};

/// What the actor must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Close the gate and tell every session to hold.
    HoldAll,
    /// Tell these blocking sessions to end.
    TerminateBlockers(Vec<u64>),
    /// Tell every session to prepare on `to` for this order.
    PrepareAll { order: u64, to: SourceOfTruth },
    /// Tell every session to close what it prepared.
    UnprepareAll,
    /// Open the gate and let every session run on the same database.
    ReleaseAll,
    /// Set the source of truth, open the gate, move every session.
    SwitchAll(SourceOfTruth),
    /// The phase changed: report to the orchestrator now.
    Report,
}

/// How one session's preparation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareOutcome {
    Ready {
        statements: usize,
    },
    Failed(PrepareFailure),
    /// Still in start-up: it prepares once logged in, if the order is still in force.
    NotLoggedIn,
}

/// A desired state older than one already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    pub current: u64,
}

/// One preparation's progress.
#[derive(Debug)]
pub struct Preparation {
    pub order: u64,
    pub attempt: u64,
    pub to: SourceOfTruth,
    /// Sessions whose preparation has not ended.
    pub pending: HashSet<u64>,
    pub sessions: u64,
    pub statements: u64,
    pub failures: Vec<PrepareFailure>,
    started: Instant,
    pub took: Option<std::time::Duration>,
}

impl Preparation {
    pub fn report(&self) -> PrepareReport {
        PrepareReport {
            attempt_id: self.attempt,
            order: self.order,
            to: self.to,
            done: self.took.is_some(),
            sessions: self.sessions,
            statements: self.statements,
            failures: self.failures.clone(),
            millis: self.took.map(|d| d.as_millis() as u64),
        }
    }
}

#[derive(Debug)]
pub struct CutoverState {
    pub epoch: u64,
    pub phase: ProxyPhase,
    pub attempt: Option<u64>,
    pub paused_at: Option<SystemTime>,
    /// Every open session, as of the last event.
    sessions: HashSet<u64>,
    /// Sessions that must still become quiet before the pause completes.
    pub waiting: HashSet<u64>,
    /// Sessions that must still move to the new source of truth.
    pub switching: HashSet<u64>,
    pub errors: Vec<String>,
    terminate_sent: bool,
    /// The hold order's preparation: `(order, database)`.
    wanted: Option<(u64, SourceOfTruth)>,
    /// The current (or latest, with its failures) preparation of this attempt.
    pub prepare: Option<Preparation>,
    /// The lease ran out: sessions hold whatever the phase says, until word comes.
    pub fenced: bool,
}

impl CutoverState {
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            phase: ProxyPhase::Serving,
            attempt: None,
            paused_at: None,
            sessions: HashSet::new(),
            waiting: HashSet::new(),
            switching: HashSet::new(),
            errors: Vec::new(),
            terminate_sent: false,
            wanted: None,
            prepare: None,
            fenced: false,
        }
    }

    /// The lease ran out without word from the orchestrator: a commit this proxy never
    /// heard of may have happened, so nothing more may run on the source of truth it
    /// knows. Sessions finish their transactions and hold; new ones wait at the gate.
    pub fn fence(&mut self) -> Vec<Action> {
        if self.fenced {
            return Vec::new();
        }
        self.fenced = true;
        let mut actions = Vec::new();
        if !self.holding() && self.phase != ProxyPhase::Switching {
            actions.push(Action::HoldAll);
        }
        actions.push(Action::Report);
        actions
    }

    /// Word came again (and its desired state is applied): release what the fence held,
    /// unless the desired state holds or moves the sessions itself.
    pub fn unfence(&mut self) -> Vec<Action> {
        if !self.fenced {
            return Vec::new();
        }
        self.fenced = false;
        let mut actions = Vec::new();
        if self.phase == ProxyPhase::Serving {
            actions.push(Action::ReleaseAll);
        }
        actions.push(Action::Report);
        actions
    }

    /// True in every phase that holds traffic.
    pub fn holding(&self) -> bool {
        matches!(
            self.phase,
            ProxyPhase::Pausing | ProxyPhase::Paused | ProxyPhase::Preparing | ProxyPhase::Prepared
        )
    }

    /// The prepare order new connections must get, while one is running.
    pub fn prepare_order(&self) -> Option<(u64, SourceOfTruth)> {
        match (&self.prepare, self.phase) {
            (Some(p), ProxyPhase::Preparing | ProxyPhase::Prepared) => Some((p.order, p.to)),
            _ => None,
        }
    }

    /// Applies a desired state given the current source of truth and open sessions.
    pub fn apply(
        &mut self,
        desired: &DesiredState,
        current: SourceOfTruth,
        sessions: impl Iterator<Item = u64>,
    ) -> Result<Vec<Action>, Stale> {
        if desired.epoch < self.epoch {
            return Err(Stale {
                current: self.epoch,
            });
        }
        self.epoch = desired.epoch;
        self.sessions = sessions.collect();
        let mut actions = Vec::new();
        match &desired.hold {
            Some(hold) => {
                if !self.holding() || self.attempt != Some(hold.attempt_id) {
                    self.attempt = Some(hold.attempt_id);
                    self.phase = ProxyPhase::Pausing;
                    self.paused_at = None;
                    self.terminate_sent = false;
                    self.errors.clear();
                    self.prepare = None;
                    self.wanted = None;
                    self.waiting = self.sessions.clone();
                    actions.push(Action::HoldAll);
                    actions.push(Action::Report);
                }
                if hold.terminate_blockers
                    && self.phase == ProxyPhase::Pausing
                    && !self.terminate_sent
                {
                    self.terminate_sent = true;
                    let mut ids: Vec<u64> = self.waiting.iter().copied().collect();
                    ids.sort_unstable();
                    actions.push(Action::TerminateBlockers(ids));
                }
                let wanted = hold.prepare.map(|o| (o.order, o.to));
                if wanted != self.wanted {
                    // Called off, or replaced by a newer commit's order.
                    self.wanted = wanted;
                    if matches!(self.phase, ProxyPhase::Preparing | ProxyPhase::Prepared) {
                        // The last preparation stays in the report: it says why.
                        self.phase = ProxyPhase::Paused;
                        actions.push(Action::UnprepareAll);
                        actions.push(Action::Report);
                    }
                }
                self.check_paused(&mut actions);
            }
            None => {
                let holding = self.holding();
                let prepared = self.prepare_order().is_some();
                self.wanted = None;
                if desired.source_of_truth != current {
                    self.phase = ProxyPhase::Switching;
                    self.waiting.clear();
                    self.switching = self.sessions.clone();
                    actions.push(Action::SwitchAll(desired.source_of_truth));
                    actions.push(Action::Report);
                    self.check_switched(&mut actions);
                } else if holding {
                    self.phase = ProxyPhase::Serving;
                    self.attempt = None;
                    self.paused_at = None;
                    self.waiting.clear();
                    if prepared {
                        actions.push(Action::UnprepareAll);
                    }
                    actions.push(Action::ReleaseAll);
                    actions.push(Action::Report);
                }
            }
        }
        Ok(actions)
    }

    /// A connection was accepted.
    pub fn opened(&mut self, id: u64) {
        self.sessions.insert(id);
    }

    /// A session became quiet while holding.
    pub fn quiescent(&mut self, id: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.phase == ProxyPhase::Pausing && self.waiting.remove(&id) {
            self.check_paused(&mut actions);
        }
        actions
    }

    /// A logged-in session started preparing for `order` after the order went out (it
    /// was still in start-up then): the preparation waits for it too, if still running.
    pub fn prepare_started(&mut self, id: u64, order: u64) {
        if self.phase != ProxyPhase::Preparing {
            return;
        }
        if let Some(p) = self.prepare.as_mut().filter(|p| p.order == order) {
            p.pending.insert(id);
        }
    }

    /// A session's preparation for `order` ended.
    pub fn prepared(&mut self, id: u64, order: u64, outcome: PrepareOutcome) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(p) = self.prepare.as_mut().filter(|p| p.order == order) else {
            return actions;
        };
        match outcome {
            PrepareOutcome::Ready { statements } => {
                p.sessions += 1;
                p.statements += statements as u64;
            }
            PrepareOutcome::Failed(f) => p.failures.push(f),
            PrepareOutcome::NotLoggedIn => {}
        }
        if p.pending.remove(&id) {
            self.check_prepared(&mut actions);
        }
        actions
    }

    /// A session moved (or failed to).
    pub fn switched(&mut self, id: u64, error: Option<String>) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(e) = error {
            self.errors.push(format!("session {id}: {e}"));
        }
        if self.phase == ProxyPhase::Switching && self.switching.remove(&id) {
            self.check_switched(&mut actions);
        }
        actions
    }

    /// A session closed: it blocks nothing any more.
    pub fn closed(&mut self, id: u64) -> Vec<Action> {
        self.sessions.remove(&id);
        let mut actions = self.quiescent(id);
        if let Some(p) = self.prepare.as_mut() {
            if p.pending.remove(&id) {
                self.check_prepared(&mut actions);
            }
        }
        actions.extend(self.switched(id, None));
        actions
    }

    fn check_paused(&mut self, actions: &mut Vec<Action>) {
        if self.phase == ProxyPhase::Pausing && self.waiting.is_empty() {
            self.phase = ProxyPhase::Paused;
            self.paused_at = Some(SystemTime::now());
            actions.push(Action::Report);
        }
        if let (ProxyPhase::Paused, Some((order, to))) = (self.phase, self.wanted) {
            self.phase = ProxyPhase::Preparing;
            self.prepare = Some(Preparation {
                order,
                attempt: self.attempt.unwrap_or_default(),
                to,
                pending: self.sessions.clone(),
                sessions: 0,
                statements: 0,
                failures: Vec::new(),
                started: Instant::now(),
                took: None,
            });
            actions.push(Action::PrepareAll { order, to });
            actions.push(Action::Report);
            self.check_prepared(actions);
        }
    }

    fn check_prepared(&mut self, actions: &mut Vec<Action>) {
        let Some(p) = self.prepare.as_mut() else {
            return;
        };
        if self.phase == ProxyPhase::Preparing && p.pending.is_empty() {
            p.took = Some(p.started.elapsed());
            p.failures.sort_by_key(|f| f.connection_id);
            self.phase = ProxyPhase::Prepared;
            actions.push(Action::Report);
        }
    }

    fn check_switched(&mut self, actions: &mut Vec<Action>) {
        if self.phase == ProxyPhase::Switching && self.switching.is_empty() {
            self.phase = ProxyPhase::Serving;
            self.attempt = None;
            self.paused_at = None;
            actions.push(Action::Report);
        }
    }
}

#[cfg(test)]
mod tests;
