//! The sync shadow modes' queue of requests that the source of truth has not answered
//! yet: each is sent to the shadow once the source of truth answers it (see
//! `shadow_relay`).

use std::collections::VecDeque;

/// Sync modes: requests kept for the shadow until the source of truth answers them,
/// oldest first, in one buffer, so that a request costs no allocation of its own.
#[derive(Default)]
pub struct Waiting {
    bytes: Vec<u8>,
    /// Each request's length in `bytes`.
    lens: VecDeque<usize>,
}

impl Waiting {
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    pub fn start(&mut self, raw: &[u8]) {
        self.lens.push_back(raw.len());
        self.bytes.extend_from_slice(raw);
    }

    /// Adds to the newest request; false if there is none.
    pub fn extend(&mut self, raw: &[u8]) -> bool {
        let Some(n) = self.lens.back_mut() else {
            return false;
        };
        *n += raw.len();
        self.bytes.extend_from_slice(raw);
        true
    }

    /// Removes the oldest request, appending its bytes to `to` if given; its length.
    pub fn pop_front(&mut self, to: Option<&mut Vec<u8>>) -> Option<usize> {
        let n = self.lens.pop_front()?;
        if let Some(to) = to {
            to.extend_from_slice(&self.bytes[..n]);
        }
        self.bytes.drain(..n);
        Some(n)
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Waiting;

    #[test]
    fn requests_leave_whole_and_in_order() {
        let mut w = Waiting::default();
        assert!(!w.extend(b"orphan"), "no request to extend");
        w.start(b"P1");
        assert!(w.extend(b"S1"));
        w.start(b"Q2");
        let mut out = Vec::new();
        assert_eq!(w.pop_front(Some(&mut out)), Some(4));
        assert_eq!(out, b"P1S1");
        assert!(!w.is_empty());
        assert_eq!(w.pop_front(None), Some(2), "skipped, not sent");
        assert_eq!(out, b"P1S1");
        assert!(w.is_empty());
        assert_eq!(w.pop_front(Some(&mut out)), None);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut w = Waiting::default();
        w.start(b"Q1");
        w.clear();
        assert!(w.is_empty());
        w.start(b"Q2");
        let mut out = Vec::new();
        w.pop_front(Some(&mut out));
        assert_eq!(out, b"Q2");
    }
}
