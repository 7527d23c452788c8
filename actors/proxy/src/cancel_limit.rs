//! Cancel requests per source address, rate-limited. A cancel request carries no login: a
//! client guessing keys could otherwise try as fast as it can connect. Each address gets a
//! token bucket (`--cancel-rate-limit` per second, twice that as a burst); requests past it
//! are dropped, as PostgreSQL drops a cancel request with a wrong key: silently for the
//! sender, counted in `lms_cancel_requests_limited_total`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Addresses remembered at most; past it, the buckets that have refilled are dropped.
const MAX_ADDRESSES: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub(crate) struct CancelLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl CancelLimiter {
    pub(crate) fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec.max(1));
        Self {
            per_sec,
            burst: 2.0 * per_sec,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a cancel request from `ip` at `now` may go on.
    pub(crate) fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&ip) {
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < burst
            });
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec;
        b.tokens = (b.tokens + refill).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;
