//! The instance's side of a cutover: which phase it is in for which attempt, which
//! sessions still block the pause, and which still have to switch. Plain state; the
//! actor feeds it events and carries out what it returns.

use molt_lms_api::cutover::{DesiredState, ProxyPhase};
use molt_lms_api::SourceOfTruth;
use std::collections::HashSet;
use std::time::SystemTime;

/// What the actor must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Close the gate and tell every session to hold.
    HoldAll,
    /// Tell these blocking sessions to end.
    TerminateBlockers(Vec<u64>),
    /// Open the gate and let every session run on the same database.
    ReleaseAll,
    /// Set the source of truth, open the gate, move every session.
    SwitchAll(SourceOfTruth),
    /// The phase changed: report to the orchestrator now.
    Report,
}

/// A desired state older than one already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    pub current: u64,
}

#[derive(Debug)]
pub struct CutoverState {
    pub epoch: u64,
    pub phase: ProxyPhase,
    pub attempt: Option<u64>,
    pub paused_at: Option<SystemTime>,
    /// Sessions that must still become quiet before the pause completes.
    pub waiting: HashSet<u64>,
    /// Sessions that must still move to the new source of truth.
    pub switching: HashSet<u64>,
    pub errors: Vec<String>,
    terminate_sent: bool,
}

impl CutoverState {
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            phase: ProxyPhase::Serving,
            attempt: None,
            paused_at: None,
            waiting: HashSet::new(),
            switching: HashSet::new(),
            errors: Vec::new(),
            terminate_sent: false,
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
        let mut actions = Vec::new();
        match &desired.hold {
            Some(hold) => {
                let holding = matches!(self.phase, ProxyPhase::Pausing | ProxyPhase::Paused);
                if !holding || self.attempt != Some(hold.attempt_id) {
                    self.attempt = Some(hold.attempt_id);
                    self.phase = ProxyPhase::Pausing;
                    self.paused_at = None;
                    self.terminate_sent = false;
                    self.errors.clear();
                    self.waiting = sessions.collect();
                    actions.push(Action::HoldAll);
                    actions.push(Action::Report);
                    self.check_paused(&mut actions);
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
            }
            None => {
                let holding = matches!(self.phase, ProxyPhase::Pausing | ProxyPhase::Paused);
                if desired.source_of_truth != current {
                    self.phase = ProxyPhase::Switching;
                    self.waiting.clear();
                    self.switching = sessions.collect();
                    actions.push(Action::SwitchAll(desired.source_of_truth));
                    actions.push(Action::Report);
                    self.check_switched(&mut actions);
                } else if holding {
                    self.phase = ProxyPhase::Serving;
                    self.attempt = None;
                    self.paused_at = None;
                    self.waiting.clear();
                    actions.push(Action::ReleaseAll);
                    actions.push(Action::Report);
                }
            }
        }
        Ok(actions)
    }

    /// A session became quiet while holding.
    pub fn quiescent(&mut self, id: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.phase == ProxyPhase::Pausing && self.waiting.remove(&id) {
            self.check_paused(&mut actions);
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
        let mut actions = self.quiescent(id);
        actions.extend(self.switched(id, None));
        actions
    }

    fn check_paused(&mut self, actions: &mut Vec<Action>) {
        if self.phase == ProxyPhase::Pausing && self.waiting.is_empty() {
            self.phase = ProxyPhase::Paused;
            self.paused_at = Some(SystemTime::now());
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
#[path = "cutover_tests.rs"]
mod tests;
