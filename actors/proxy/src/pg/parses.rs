//! Which named statements a session really has. A Parse is recorded for a switch to replay
//! only once the server answers it with ParseComplete: a Parse that failed, or that the
//! server skipped after an earlier error in the same request, does not exist there, and
//! replaying it would fail the whole cutover's preparation.
//!
//! Answers come in request order, so the pending Parses sit in a queue with a marker for
//! the end of each request (Sync, Query, FunctionCall), which its ReadyForQuery clears.

use std::collections::VecDeque;

enum Entry {
    /// A Parse awaiting its ParseComplete: the name and the message, or `None` for the
    /// unnamed statement (kept only to stay in step with the answers).
    Parse(Option<(String, Vec<u8>)>),
    /// The end of a request.
    End,
}

#[derive(Default)]
pub(crate) struct PendingParses {
    queue: VecDeque<Entry>,
}

impl PendingParses {
    pub(crate) fn parse(&mut self, named: Option<(String, Vec<u8>)>) {
        self.queue.push_back(Entry::Parse(named));
    }

    /// A request ends (Sync, Query or FunctionCall): one ReadyForQuery will answer it.
    pub(crate) fn end(&mut self) {
        self.queue.push_back(Entry::End);
    }

    /// ParseComplete: the oldest pending Parse exists now; its name and message if named.
    pub(crate) fn parsed(&mut self) -> Option<(String, Vec<u8>)> {
        match self.queue.front() {
            Some(Entry::Parse(_)) => match self.queue.pop_front() {
                Some(Entry::Parse(named)) => named,
                _ => None,
            },
            _ => None,
        }
    }

    /// ErrorResponse: the server skips the rest of this request, Parses included.
    pub(crate) fn failed(&mut self) {
        while let Some(Entry::Parse(_)) = self.queue.front() {
            self.queue.pop_front();
        }
    }

    /// ReadyForQuery: the oldest request is over.
    pub(crate) fn ready(&mut self) {
        while let Some(e) = self.queue.pop_front() {
            if matches!(e, Entry::End) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;
