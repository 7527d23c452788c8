//! `KILL [QUERY | CONNECTION] <id>` through the proxy. Clients learn the proxy's own
//! connection id from its greeting (what `mysql_thread_id()` returns, and what the
//! `mysql` client and Connector/J send in `KILL QUERY` to cancel), not the source's
//! thread id, which the proxy cannot know before it greets. The relay rewrites the id in
//! place to the source thread it stands for, so the statement runs on the source under
//! the client's own account: the server checks whether that user may kill it. An id the
//! proxy cannot map becomes 0, which no server thread has, so a KILL never reaches a
//! thread it was not meant for.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;

/// Where the id of a `KILL` statement is: the digits' range in the statement, and their
/// value. `None` for any other statement (and for `KILL QUERY ID`, `KILL USER`, which
/// do not name a connection).
pub(crate) fn kill_target(sql: &[u8]) -> Option<(Range<usize>, u64)> {
    let mut i = skip_space(sql, 0);
    i = keyword(sql, i, b"kill")?;
    let after_kill = i;
    i = skip_space(sql, i);
    if i == after_kill {
        return None;
    }
    for modifier in [&b"query"[..], b"connection", b"hard", b"soft"] {
        if let Some(j) = keyword(sql, i, modifier) {
            let k = skip_space(sql, j);
            if k > j {
                i = k;
            }
        }
    }
    for modifier in [&b"query"[..], b"connection"] {
        if let Some(j) = keyword(sql, i, modifier) {
            let k = skip_space(sql, j);
            if k > j {
                i = k;
            }
        }
    }
    let start = i;
    while sql.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == start || i - start > 19 {
        return None;
    }
    let end = i;
    i = skip_space(sql, i);
    if sql.get(i) == Some(&b';') {
        i = skip_space(sql, i + 1);
    }
    if i != sql.len() {
        return None;
    }
    let id = std::str::from_utf8(&sql[start..end]).ok()?.parse().ok()?;
    Some((start..end, id))
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index after `word` at `i`, matched without regard to case and ending there.
fn keyword(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    let found = s.get(i..end)?.eq_ignore_ascii_case(word);
    let boundary = !s
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    (found && boundary).then_some(end)
}

/// Writes `id` into `digits` zero-padded to their width, or zeros when it does not fit
/// or is unknown.
pub(crate) fn write_id(digits: &mut [u8], id: Option<u32>) {
    let text = id.map(|t| t.to_string()).unwrap_or_default();
    digits.fill(b'0');
    if text.len() <= digits.len() {
        let at = digits.len() - text.len();
        digits[at..].copy_from_slice(text.as_bytes());
    }
}

/// The source threads of this proxy's MySQL sessions, by the connection id their
/// clients were given.
#[derive(Default)]
pub(crate) struct Threads(Mutex<HashMap<u32, u32>>);

impl Threads {
    pub(crate) fn insert(&self, client_id: u32, thread: u32) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(client_id, thread);
        }
    }

    pub(crate) fn remove(&self, client_id: u32) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(&client_id);
        }
    }

    /// The thread a KILL's id stands for: a client connection id of this proxy, or a
    /// source thread of one of its sessions (from `CONNECTION_ID()`), as is.
    pub(crate) fn resolve(&self, id: u64) -> Option<u32> {
        let id = u32::try_from(id).ok()?;
        let m = self.0.lock().ok()?;
        m.get(&id)
            .copied()
            .or_else(|| m.values().any(|&t| t == id).then_some(id))
    }
}

#[cfg(test)]
mod tests;
