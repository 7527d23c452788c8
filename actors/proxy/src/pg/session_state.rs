//! Session state that lives only in the backend session and that PostgreSQL does not
//! report: the current role, the session authorization, `LISTEN` channels, session-level
//! advisory locks and temporary tables. A switch to another database must carry it or
//! refuse to drop it: a session that ran `SET ROLE tenant_x` and came back as `app` after
//! a cutover would have changed privileges without a word.
//!
//! It is learnt from the statement texts the client sends, so it is a conservative
//! reading, not the server's word:
//! - Role, session authorization and `LISTEN` are *carried*: the statements that set them
//!   are replayed on the new session, where a failure refuses the commit. A change counts
//!   once its request ends outside a transaction without an error. One whose outcome
//!   cannot be told (its request failed after a transaction statement, `ROLLBACK TO
//!   SAVEPOINT`, `RESET ALL`) makes the session a blocker instead.
//! - Session-level advisory locks and temporary tables cannot be moved: while a session
//!   may hold them it blocks the cutover. Locks are counted by the lock and unlock calls
//!   its statements name; `DISCARD ALL` and `pg_advisory_unlock_all()` clear them.
//!
//! Not seen: changes made inside functions (`set_config('role', …)`, `EXECUTE` in
//! PL/pgSQL). The hot path pays only a prefilter per statement text.

use std::collections::BTreeSet;

/// What a switch replays to rebuild the session (in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Carried {
    /// The last `SET SESSION AUTHORIZATION` that stands.
    authorization: Option<String>,
    /// The last `SET ROLE` that stands.
    role: Option<String>,
    /// Channels, as written after `LISTEN`.
    listening: BTreeSet<String>,
}

#[derive(Debug, Default)]
pub(crate) struct SessionState {
    carried: Carried,
    /// Changes of the current request or open transaction, applied when it ends well.
    staged: Option<Carried>,
    /// A `ROLLBACK` (to the start) was seen since `staged` began: it is dropped.
    rolled_back: bool,
    /// Transaction control inside the current request (a failure then leaves open
    /// whether an earlier part committed).
    tx_control: bool,
    /// Why a carried item's value cannot be told.
    uncertain: BTreeSet<&'static str>,
    advisory_locks: u32,
    temp_tables: bool,
    /// Something a switch looks at changed since the last `take_changed`.
    changed: bool,
}

/// Keywords that start a statement this module reads.
const LEADING: &[&str] = &["set", "reset", "listen", "unlisten", "discard", "create"];
/// Statements that start, end or rewind a transaction block.
const TX_CONTROL: &[&str] = &[
    "begin",
    "start",
    "commit",
    "end",
    "rollback",
    "abort",
    "savepoint",
    "release",
    "prepare",
];

impl SessionState {
    /// A session whose state is what `replay` rebuilds (after a switch).
    pub(crate) fn rebuilt(replay: &[String]) -> Self {
        let mut s = Self::default();
        for sql in replay {
            s.observe(sql);
        }
        s.request_done(true, false);
        s.changed = false;
        s
    }

    /// Reads one statement text the client sent (a Query, or a Parse's statement), in the
    /// session's client encoding. The statements read here are ASCII keywords, so a text
    /// in another encoding is read with its other bytes replaced; it is decoded only when
    /// the prefilter lets it through.
    pub(crate) fn observe(&mut self, sql: impl AsRef<[u8]>) {
        let sql = sql.as_ref();
        if !prefilter(sql, self.staged.is_some()) {
            return;
        }
        for stmt in statements(&String::from_utf8_lossy(sql)) {
            self.statement(stmt);
        }
    }

    /// The request ended: `idle` when no transaction is open after it, `error` when it
    /// failed or left its transaction failed (whose COMMIT then rolls back).
    pub(crate) fn request_done(&mut self, idle: bool, error: bool) {
        if error && self.staged.is_some() {
            if self.tx_control {
                self.uncertain
                    .insert("a request that changed the role, authorization or LISTEN channels failed after a transaction statement");
                self.changed = true;
            }
            self.rolled_back = true;
        }
        self.tx_control = false;
        if !idle {
            return;
        }
        if let Some(staged) = self.staged.take() {
            if !std::mem::take(&mut self.rolled_back) && staged != self.carried {
                self.carried = staged;
                self.changed = true;
            }
        }
        self.rolled_back = false;
    }

    /// Whether replay or blockers changed since the last call.
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The statements that rebuild the carried state on a new session, in order.
    pub(crate) fn replay(&self) -> Vec<String> {
        let c = &self.carried;
        let mut out: Vec<String> = c.authorization.iter().chain(&c.role).cloned().collect();
        out.extend(c.listening.iter().map(|ch| format!("LISTEN {ch}")));
        out
    }

    /// Why the session cannot be moved, one reason each; empty when it can.
    pub(crate) fn blockers(&self) -> Vec<String> {
        let mut out: Vec<String> = self.uncertain.iter().map(|s| s.to_string()).collect();
        if self.advisory_locks > 0 {
            out.push("it may hold session-level advisory locks (pg_advisory_lock), which exist only on the old database".into());
        }
        if self.temp_tables {
            out.push(
                "it created temporary tables, which exist only in its session on the old database"
                    .into(),
            );
        }
        out
    }

    fn staged(&mut self) -> &mut Carried {
        self.staged.get_or_insert_with(|| self.carried.clone())
    }

    fn statement(&mut self, stmt: &str) {
        let w = words(stmt, 4);
        let word = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
        if stmt_mentions_advisory(stmt) {
            self.advisory(stmt);
        }
        match word(0) {
            k if TX_CONTROL.contains(&k) => {
                self.tx_control = true;
                if matches!(k, "rollback" | "abort") && self.staged.is_some() {
                    if word(1) == "to" || (word(1) == "transaction" && word(2) == "to") {
                        self.uncertain.insert(
                            "ROLLBACK TO SAVEPOINT after a change of role, authorization or LISTEN channels",
                        );
                        self.changed = true;
                    } else {
                        self.rolled_back = true;
                    }
                }
            }
            "set" => {
                let i = if word(1) == "session" { 2 } else { 1 };
                if word(1) == "local" {
                    // Ends with the transaction.
                } else if word(i) == "role" {
                    let value = resets(after_word(stmt, w.len().min(i + 1), i + 1));
                    self.staged().role = (!value).then(|| skip_blank(stmt).trim_end().to_owned());
                } else if word(i) == "authorization" && i == 2 {
                    let value = resets(after_word(stmt, w.len().min(3), 3));
                    let s = self.staged();
                    s.authorization = (!value).then(|| skip_blank(stmt).trim_end().to_owned());
                    s.role = None;
                }
            }
            "reset" => match (word(1), word(2)) {
                ("role", _) => self.staged().role = None,
                ("session", "authorization") => {
                    let s = self.staged();
                    s.authorization = None;
                    s.role = None;
                }
                ("all", _) => {
                    let c = &self.carried;
                    if c.role.is_some() || c.authorization.is_some() || self.staged.is_some() {
                        self.uncertain
                            .insert("RESET ALL after SET ROLE or SET SESSION AUTHORIZATION");
                        self.changed = true;
                    }
                }
                _ => {}
            },
            "listen" => {
                let ch = after_word(stmt, 1, 1).trim().to_owned();
                self.staged().listening.insert(ch);
            }
            "unlisten" => {
                let ch = after_word(stmt, 1, 1).trim();
                if ch == "*" {
                    self.staged().listening.clear();
                } else {
                    let ch = ch.to_owned();
                    self.staged().listening.remove(&ch);
                }
            }
            "discard" => match word(1) {
                "all" => {
                    self.carried = Carried::default();
                    self.staged = None;
                    self.uncertain.clear();
                    self.advisory_locks = 0;
                    self.temp_tables = false;
                    self.changed = true;
                }
                "temp" | "temporary" => {
                    self.changed |= std::mem::take(&mut self.temp_tables);
                }
                _ => {}
            },
            "create" => {
                let i = if matches!(word(1), "global" | "local") {
                    2
                } else {
                    1
                };
                if matches!(word(i), "temp" | "temporary")
                    && !stmt.to_ascii_lowercase().contains("on commit drop")
                {
                    self.changed |= !std::mem::replace(&mut self.temp_tables, true);
                }
            }
            _ => {}
        }
    }

    /// Counts the session-level advisory lock and unlock calls a statement names.
    fn advisory(&mut self, stmt: &str) {
        let lower = stmt.to_ascii_lowercase();
        let before = self.advisory_locks;
        for (at, _) in lower.match_indices("advisory_") {
            let rest = &lower[at + "advisory_".len()..];
            if rest.starts_with("unlock_all") {
                self.advisory_locks = 0;
            } else if rest.starts_with("unlock") {
                self.advisory_locks = self.advisory_locks.saturating_sub(1);
            } else if rest.starts_with("lock") {
                self.advisory_locks = self.advisory_locks.saturating_add(1);
            }
            // `advisory_xact_lock…`: released with its transaction.
        }
        self.changed |= (before > 0) != (self.advisory_locks > 0);
    }
}

/// Cheap test on the whole text: can it hold a statement this module reads? It runs
/// for every Query and Parse, so it uses SIMD searches and looks at the first word only.
/// Transaction statements matter only while a change is staged.
fn prefilter(b: &[u8], staged: bool) -> bool {
    // One SIMD pass for both: "advisory" anywhere (found by its rare `y`), and a second
    // statement after a semicolon.
    for i in memchr::memchr3_iter(b';', b'y', b'Y', b) {
        let hit = if b[i] == b';' {
            b[i + 1..].iter().any(|c| !c.is_ascii_whitespace())
        } else {
            advisory_ends_at(b, i)
        };
        if hit {
            return true;
        }
    }
    // A leading comment: read it all.
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let rest = &b[start..];
    if rest.starts_with(b"--") || rest.starts_with(b"/*") {
        return true;
    }
    let end = rest
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let first = &rest[..end];
    let is = |k: &&str| k.as_bytes().eq_ignore_ascii_case(first);
    (3..=8).contains(&first.len())
        && (LEADING.iter().any(is) || (staged && TX_CONTROL.iter().any(is)))
}

/// Whether `s` contains "advisory" in any case. Scans for the rare `y` with SIMD and
/// checks the seven bytes before each: far cheaper on short texts than a substring search.
fn stmt_mentions_advisory(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr2_iter(b'y', b'Y', b).any(|i| advisory_ends_at(b, i))
}

/// Whether the `y` at `i` ends the word "advisory" (any case).
fn advisory_ends_at(b: &[u8], i: usize) -> bool {
    i >= 7 && b[i - 7..i].eq_ignore_ascii_case(b"advisor")
}

/// Whether a `SET ROLE` / `SET SESSION AUTHORIZATION` value resets it.
fn resets(value: &str) -> bool {
    let v = value.trim().trim_start_matches('=').trim();
    let v = v
        .strip_prefix("to ")
        .or_else(|| v.strip_prefix("TO "))
        .unwrap_or(v)
        .trim();
    v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("default")
}

/// The top-level statements of a text, split at semicolons outside quotes, comments and
/// dollar quotes; empty ones dropped.
fn statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut start) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E');
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 1;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'$' => {
                // `$tag$ … $tag$`; a `$1` parameter has no closing dollar after digits.
                let tag_end = b[i + 1..]
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
                    .map(|n| i + 1 + n);
                if let Some(e) = tag_end.filter(|&e| b[e] == b'$') {
                    let tag = &b[i..=e];
                    let body = e + 1;
                    let close = b[body..]
                        .windows(tag.len())
                        .position(|w| w == tag)
                        .map_or(b.len(), |p| body + p + tag.len());
                    i = close;
                    continue;
                }
            }
            b';' => {
                out.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&sql[start.min(sql.len())..]);
    out.retain(|s| !s.trim().is_empty());
    out
}

/// Skips whitespace and comments at the start of `s`.
fn skip_blank(s: &str) -> &str {
    let mut s = s;
    loop {
        let t = s.trim_start();
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.find('\n').map_or("", |n| &rest[n..]);
        } else if let Some(rest) = t.strip_prefix("/*") {
            s = rest.find("*/").map_or("", |n| &rest[n + 2..]);
        } else {
            return t;
        }
    }
}

/// The first `n` words of a statement, lower-cased (letters and `_` only).
fn words(stmt: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = skip_blank(stmt);
    while out.len() < n {
        let end = s
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(s.len());
        if end == 0 {
            break;
        }
        out.push(s[..end].to_ascii_lowercase());
        s = skip_blank(&s[end..]);
    }
    out
}

/// The text of a statement after its first `n` words (`have` of them were found).
fn after_word(stmt: &str, have: usize, n: usize) -> &str {
    if have < n {
        return "";
    }
    let mut s = skip_blank(stmt);
    for _ in 0..n {
        let end = s
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(s.len());
        s = skip_blank(&s[end..]);
    }
    s
}

#[cfg(test)]
mod tests;
