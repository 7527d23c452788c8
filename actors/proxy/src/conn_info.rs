//! What the admin API shows of one client connection. The relay writes it in place
//! (atomics and short locks, no mailbox); the admin API reads a snapshot.

use crate::protocol::TxState;
use molt_lms_api::{ConnectionInfo, ConnectionState, SourceOfTruth};
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Instant, SystemTime};

/// Longest query text kept per connection.
const MAX_QUERY_TEXT: usize = 2048;

pub(crate) struct ConnInfo {
    pub id: u64,
    pub client_addr: SocketAddr,
    pub connected_at: SystemTime,
    state: AtomicU8,
    sot: AtomicU8,
    identity: Mutex<(String, String)>,
    /// In the client's encoding, as sent (cut at `MAX_QUERY_TEXT` bytes); decoded for
    /// display only when the admin API asks, so the relay neither validates nor converts.
    last_query: Mutex<Vec<u8>>,
    last_error: Mutex<String>,
    tx_started: Mutex<Option<Instant>>,
}

fn state_code(s: ConnectionState) -> u8 {
    s as u8
}

fn state_from(code: u8) -> ConnectionState {
    use ConnectionState::*;
    [
        Startup,
        Idle,
        InQuery,
        InTransaction,
        FailedTransaction,
        Held,
    ]
    .get(code as usize)
    .copied()
    .unwrap_or(Idle)
}

/// How much of `text` is kept: at most `MAX_QUERY_TEXT` bytes, and a cut UTF-8 text ends
/// before the character it would split: `text[end]`, the first byte left out, is not a
/// continuation byte (10xxxxxx; at most 3 per character). On a `str` that is a character
/// boundary.
fn kept_len(text: &[u8]) -> usize {
    let mut end = text.len().min(MAX_QUERY_TEXT);
    if end < text.len() {
        for _ in 0..3 {
            if text[end] & 0xC0 != 0x80 {
                break;
            }
            end -= 1;
        }
    }
    end
}

fn copy_bounded(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(&src[..kept_len(src.as_bytes())]);
}

impl ConnInfo {
    pub(crate) fn new(id: u64, client_addr: SocketAddr, sot: SourceOfTruth) -> Self {
        Self {
            id,
            client_addr,
            connected_at: SystemTime::now(),
            state: AtomicU8::new(state_code(ConnectionState::Startup)),
            sot: AtomicU8::new(sot as u8),
            identity: Mutex::new((String::new(), String::new())),
            last_query: Mutex::new(Vec::new()),
            last_error: Mutex::new(String::new()),
            tx_started: Mutex::new(None),
        }
    }

    /// The user the session runs as.
    pub(crate) fn user(&self) -> String {
        self.identity.lock().0.clone()
    }

    pub(crate) fn set_identity(&self, user: &str, database: &str) {
        *self.identity.lock() = (user.to_owned(), database.to_owned());
    }

    pub(crate) fn set_state(&self, s: ConnectionState) {
        self.state.store(state_code(s), Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> ConnectionState {
        state_from(self.state.load(Ordering::Relaxed))
    }

    /// Applies the transaction state the protocol reported at the end of an answer.
    pub(crate) fn ready(&self, tx: TxState) {
        let (state, in_tx) = match tx {
            TxState::InTransaction => (ConnectionState::InTransaction, true),
            TxState::Failed => (ConnectionState::FailedTransaction, true),
            TxState::Idle => (ConnectionState::Idle, false),
        };
        self.set_state(state);
        let mut started = self.tx_started.lock();
        match (in_tx, started.is_some()) {
            (true, false) => *started = Some(Instant::now()),
            (false, true) => *started = None,
            _ => {}
        }
    }

    pub(crate) fn set_source_of_truth(&self, sot: SourceOfTruth) {
        self.sot.store(sot as u8, Ordering::Relaxed);
    }

    pub(crate) fn source_of_truth(&self) -> SourceOfTruth {
        if self.sot.load(Ordering::Relaxed) == SourceOfTruth::Target as u8 {
            SourceOfTruth::Target
        } else {
            SourceOfTruth::Source
        }
    }

    /// Reuses the buffer, so steady-state queries do not allocate.
    pub(crate) fn set_last_query(&self, q: impl AsRef<[u8]>) {
        let q = q.as_ref();
        let mut last = self.last_query.lock();
        last.clear();
        last.extend_from_slice(&q[..kept_len(q)]);
    }

    pub(crate) fn set_last_error(&self, e: &str) {
        copy_bounded(&mut self.last_error.lock(), e);
    }

    pub(crate) fn snapshot(&self, instance_addr: &str) -> ConnectionInfo {
        let (user, database) = self.identity.lock().clone();
        ConnectionInfo {
            id: self.id,
            remote_address: instance_addr.to_owned(),
            source_address: self.client_addr.to_string(),
            connected_at: humantime::format_rfc3339_micros(self.connected_at).to_string(),
            state: self.state(),
            user,
            database,
            last_query: String::from_utf8_lossy(&self.last_query.lock()).into_owned(),
            error: self.last_error.lock().clone(),
            source_of_truth: self.source_of_truth(),
            transaction_age_secs: self.tx_started.lock().map(|t| t.elapsed().as_secs_f64()),
        }
    }
}

#[cfg(test)]
mod tests;
