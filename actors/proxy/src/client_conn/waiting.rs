//! The sync shadow modes' queue of requests that the source of truth has not answered
//! yet: each is sent to the shadow once the source of truth answers it (see
//! `shadow_relay`).

use std::collections::VecDeque;

/// Sync modes: requests kept for the shadow until the source of truth answers them,
/// oldest first, in one buffer, so that a request costs no allocation of its own.
#[derive(Default)]
pub(super) struct Waiting {
    bytes: Vec<u8>,
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
        if let Some(to) = to {
            to.extend_from_slice(&self.bytes[..n]);
        }
        self.bytes.drain(..n);
        Some(n)
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
    }
}

#[cfg(test)]
mod tests;
