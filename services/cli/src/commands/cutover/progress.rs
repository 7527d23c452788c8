//! The live view of a pausing attempt on stderr: held connections per proxy, and the
//! sessions that still block the pause.

use crate::output::{connection_state_name, one_line, truncate};
use molt_lms_api::cutover::{Blocker, CutoverAttempt};
use std::time::{Duration, Instant};

/// Longest query shown for a blocker.
const QUERY_CHARS: usize = 80;
/// Blockers listed per proxy; the rest are counted, so a busy proxy stays readable.
const BLOCKERS_SHOWN: usize = 10;
/// A busy proxy changes its counts on every poll; print at most one block this often.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Decides when a new block is worth printing.
#[derive(Debug, Default)]
pub struct Progress {
    /// The last printed state without transaction ages, which grow on every poll.
    last_key: Option<String>,
    last_print: Option<Instant>,
}

impl Progress {
    /// The block to print for this poll, if the state changed (ages aside) and the last
    /// block is at least [`MIN_INTERVAL`] old. A change held back is shown by a later poll.
    pub fn update(&mut self, attempt: &CutoverAttempt, now: Instant) -> Option<String> {
        let key = render(attempt, false);
        if self.last_key.as_deref() == Some(key.as_str()) {
            return None;
        }
        if self
            .last_print
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_INTERVAL)
        {
            return None;
        }
        self.last_key = Some(key);
        self.last_print = Some(now);
        Some(render(attempt, true))
    }
}

/// One block: a heading, a line per proxy, and a line per blocker.
pub fn render(attempt: &CutoverAttempt, with_ages: bool) -> String {
    let mut out = format!(
        "Waiting for traffic to pause on {} LMS instance(s):\n",
        attempt.proxies.len()
    );
    for p in &attempt.proxies {
        out.push_str(&format!(
            "  {}: held {}/{} connections\n",
            p.lms_address, p.held, p.connections
        ));
        for b in p.blockers.iter().take(BLOCKERS_SHOWN) {
            out.push_str(&format!("    blocked by {}\n", blocker(b, with_ages)));
        }
        if p.blockers.len() > BLOCKERS_SHOWN {
            let more = p.blockers.len() - BLOCKERS_SHOWN;
            out.push_str(&format!("    … and {more} more blocking connection(s)\n"));
        }
    }
    out
}

fn blocker(b: &Blocker, with_ages: bool) -> String {
    let mut line = format!("{} ({}", b.client_address, connection_state_name(b.state));
    if let Some(age) = b.transaction_age_secs.filter(|_| with_ages) {
        // Whole seconds: sub-second precision is noise while waiting on a transaction.
        let age = Duration::from_secs(age.max(0.0).round() as u64);
        line.push_str(&format!(
            ", transaction open {}",
            humantime::format_duration(age)
        ));
    }
    line.push(')');
    let query = truncate(&one_line(&b.last_query), QUERY_CHARS);
    if !query.is_empty() {
        line.push_str(": ");
        line.push_str(&query);
    }
    line
}

#[cfg(test)]
mod tests;
