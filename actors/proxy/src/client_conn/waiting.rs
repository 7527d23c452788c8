//! The sync shadow modes' queue of requests that the source of truth has not answered
//! yet: each is sent to the shadow once the source of truth answers it (see
//! `shadow_relay`).

use std::collections::VecDeque;

/// Sync modes: requests kept for the shadow until the source of truth answers them,
/// oldest first, in one buffer, so that a request costs no allocation of its own. Taking
/// the oldest request moves a start offset; the buffer is compacted only once half of it
/// is taken, so a deep pipeline costs each byte a bounded number of copies, not one per
/// answer.
#[derive(Default)]
pub(super) struct Waiting {
    bytes: Vec<u8>,
    /// Where the oldest request starts in `bytes`.
    head: usize,
    /// Each request's length in `bytes`.
    lens: VecDeque<usize>,
}

impl Waiting {
    pub(super) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    pub(super) fn start(&mut self, raw: &[u8]) {
        self.lens.push_back(raw.len());
        self.bytes.extend_from_slice(raw);
    }

    /// Adds to the newest request; false if there is none.
    pub(super) fn extend(&mut self, raw: &[u8]) -> bool {
        let Some(n) = self.lens.back_mut() else {
            return false;
        };
        *n += raw.len();
        self.bytes.extend_from_slice(raw);
        true
    }

    /// Removes the oldest request, appending its bytes to `to` if given; its length.
    pub(super) fn pop_front(&mut self, to: Option<&mut Vec<u8>>) -> Option<usize> {
        let n = self.lens.pop_front()?;
        let end = self.head + n;
        if let Some(to) = to {
            to.extend_from_slice(&self.bytes[self.head..end]);
        }
        self.head = end;
        if self.lens.is_empty() {
            self.bytes.clear();
            self.head = 0;
        } else if self.head >= self.bytes.len() / 2 {
            self.bytes.drain(..self.head);
            self.head = 0;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests;
