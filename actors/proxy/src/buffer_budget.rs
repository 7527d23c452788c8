//! A process-wide bound on the bytes client connections hold for messages that do not
//! fit one read. Most messages stream through a few KiB of buffer; only a message the
//! proxy must see whole (a PostgreSQL Parse, any request while shadowing) makes a buffer
//! grow, and a hundred clients each sending large ones could otherwise exhaust the pod.
//! Each connection charges what it holds past `FREE` and gives it back once the message
//! has gone on; a connection whose charge does not fit is closed, and the rest go on.

use prometheus::IntGauge;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes a connection holds without charge: a few reads' worth.
pub(crate) const FREE: usize = 64 * 1024;

pub(crate) struct BufferBudget {
    used: AtomicUsize,
    limit: usize,
    /// `lms_client_buffered_bytes`.
    gauge: IntGauge,
}

impl BufferBudget {
    pub(crate) fn new(limit: usize, gauge: IntGauge) -> Self {
        Self {
            used: AtomicUsize::new(0),
            limit,
            gauge,
        }
    }

    /// Charges `n` more bytes; `false`, with nothing charged, when that would pass the
    /// limit.
    fn try_charge(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= self.limit)
            })
            .inspect(|_| self.gauge.add(n as i64))
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
        self.gauge.sub(n as i64);
    }

    /// Bytes charged now, over all connections.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

/// One connection's share of the budget; released when dropped.
pub(crate) struct Charge<'a> {
    budget: &'a BufferBudget,
    held: usize,
}

impl<'a> Charge<'a> {
    pub(crate) fn new(budget: &'a BufferBudget) -> Self {
        Self { budget, held: 0 }
    }

    /// Makes the charge cover a buffer holding `len` bytes; `false` when the budget has
    /// no room for it (the charge is then unchanged).
    pub(crate) fn fit(&mut self, len: usize) -> bool {
        let want = len.saturating_sub(FREE);
        if want <= self.held {
            return true;
        }
        if !self.budget.try_charge(want - self.held) {
            return false;
        }
        self.held = want;
        true
    }

    /// Makes the charge cover exactly `len` bytes past `FREE`: giving back what shrank,
    /// or, when it grew, `false` (unchanged) if the budget has no room.
    pub(crate) fn resize(&mut self, len: usize) -> bool {
        let want = len.saturating_sub(FREE);
        if want < self.held {
            self.budget.release(self.held - want);
            self.held = want;
            return true;
        }
        self.fit(len)
    }

    /// Whether anything is charged (the buffer grew past `FREE`).
    pub(crate) fn is_charged(&self) -> bool {
        self.held > 0
    }

    /// Gives everything back (the buffer was replaced by a small one).
    pub(crate) fn reset(&mut self) {
        self.budget.release(std::mem::take(&mut self.held));
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.reset();
    }
}

#[cfg(test)]
mod tests;
