//! Comparing the source of truth's answer to a request with the shadow's, statement by
//! statement, and telling real differences from known benign ones.
//!
//! Benign differences (documented in the README):
//! - `float`: values in float columns (`real`, `double precision`) whose text differs
//!   but whose numbers agree to 1e-6 relative (servers print floats differently).
//! - `volatile`: any row difference in a statement that calls a function whose answer
//!   changes by call, server or time (`now()`, `random()`, `gen_random_uuid()`, …).

use super::result::{render_row, Column, Field, StmtEnd, StmtResult};
use molt_lms_api::shadow::ShadowOutcome;

/// PostgreSQL type OIDs of `real` and `double precision`.
const FLOAT_TYPES: [u32; 2] = [700, 701];

/// Whether `word`, called as a function, gives results that legitimately differ between
/// two databases: PostgreSQL's and CockroachDB's, and MySQL's own (for MySQL sessions
/// shadowed to the target).
fn volatile_call(word: &str) -> bool {
    matches!(
        word,
        "now"
            | "clock_timestamp"
            | "statement_timestamp"
            | "transaction_timestamp"
            | "timeofday"
            | "random"
            | "gen_random_uuid"
            | "uuid_generate_v4"
            | "txid_current"
            | "pg_backend_pid"
            | "inet_server_addr"
            | "inet_server_port"
            | "version"
            | "current_setting"
            | "unique_rowid"
            | "rand"
            | "uuid"
            | "uuid_short"
            | "sysdate"
            | "unix_timestamp"
            | "curdate"
            | "curtime"
            | "connection_id"
            | "last_insert_id"
    )
}

/// Volatile values named without parentheses (or with them).
fn volatile_word(word: &str) -> bool {
    matches!(
        word,
        "current_timestamp"
            | "current_date"
            | "current_time"
            | "localtimestamp"
            | "localtime"
            | "utc_timestamp"
            | "utc_date"
            | "utc_time"
    )
}

/// One pass over lower-case statement text: does it call a volatile function, or read a
/// MySQL `@@variable` (which the gateway answers from its own table)? Run once per
/// distinct statement text, which with literals inlined is once per request.
fn calls_volatile(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'@' && b.get(i + 1) == Some(&b'@') {
            return true;
        }
        if !(c.is_ascii_alphabetic() || c == b'_') {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let word = &text[start..i];
        if volatile_word(word) {
            return true;
        }
        let mut j = i;
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        if b.get(j) == Some(&b'(') && volatile_call(word) {
            return true;
        }
    }
    false
}

/// What one request's comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub outcome: ShadowOutcome,
    pub differed: &'static str,
    pub detail: String,
    pub sot_value: Option<String>,
    pub shadow_value: Option<String>,
    pub benign_reason: Option<&'static str>,
}

impl Comparison {
    fn matched() -> Self {
        Comparison {
            outcome: ShadowOutcome::Matched,
            differed: "",
            detail: String::new(),
            sot_value: None,
            shadow_value: None,
            benign_reason: None,
        }
    }

    fn differs(
        differed: &'static str,
        detail: String,
        sot: Option<String>,
        shadow: Option<String>,
    ) -> Self {
        Comparison {
            outcome: ShadowOutcome::Mismatched,
            differed,
            detail,
            sot_value: sot,
            shadow_value: shadow,
            benign_reason: None,
        }
    }
}

/// How the request's text says rows may be compared.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// The statement orders its rows (`ORDER BY`): compare in order.
    pub ordered: bool,
    /// The statement calls a volatile function: row differences are benign.
    pub volatile: bool,
}

impl Rules {
    pub fn for_query(text: &str) -> Self {
        let lower = text.to_ascii_lowercase();
        let squeezed: String = lower.split_whitespace().collect::<Vec<_>>().join(" ");
        Rules {
            ordered: squeezed.contains("order by"),
            volatile: calls_volatile(&squeezed),
        }
    }
}

fn error_text(end: &StmtEnd) -> Option<String> {
    match end {
        StmtEnd::Error { code, message, .. } => Some(format!("{code}: {message}")),
        _ => None,
    }
}

fn end_text(end: &StmtEnd) -> String {
    match end {
        StmtEnd::Complete(tag) => tag.clone(),
        StmtEnd::Empty => "(empty query)".to_owned(),
        StmtEnd::Suspended => "(portal suspended)".to_owned(),
        StmtEnd::Open => "(no completion)".to_owned(),
        e => error_text(e).unwrap_or_default(),
    }
}

/// Compares two answers to the same request.
pub fn compare(sot: &[StmtResult], shadow: &[StmtResult], rules: Rules) -> Comparison {
    // An error on the shadow alone is the most useful thing to report, wherever it is.
    let sot_err = sot.iter().find_map(|s| error_text(&s.end));
    let shadow_err = shadow.iter().find_map(|s| error_text(&s.end));
    if let (None, Some(e)) = (&sot_err, &shadow_err) {
        return Comparison {
            outcome: ShadowOutcome::ShadowError,
            differed: "error",
            detail: "the shadow database returned an error; the source of truth did not".into(),
            sot_value: None,
            shadow_value: Some(e.clone()),
            benign_reason: None,
        };
    }
    let mut benign = None;
    for (i, (a, b)) in sot.iter().zip(shadow).enumerate() {
        let c = compare_statement(a, b, rules);
        match c.outcome {
            ShadowOutcome::Matched => {}
            ShadowOutcome::Benign => {
                benign.get_or_insert(c);
            }
            _ => {
                let mut c = c;
                if sot.len() > 1 {
                    c.detail = format!("statement {}: {}", i + 1, c.detail);
                }
                return c;
            }
        }
    }
    if sot.len() != shadow.len() {
        return Comparison::differs(
            "statements",
            format!(
                "the source of truth answered {} statement(s), the shadow {}",
                sot.len(),
                shadow.len()
            ),
            sot.last().map(|s| end_text(&s.end)),
            shadow.last().map(|s| end_text(&s.end)),
        );
    }
    benign.unwrap_or_else(Comparison::matched)
}

fn compare_statement(a: &StmtResult, b: &StmtResult, rules: Rules) -> Comparison {
    match (&a.end, &b.end) {
        (StmtEnd::Error { code: ca, .. }, StmtEnd::Error { code: cb, .. }) => {
            return if ca == cb {
                Comparison::matched()
            } else {
                Comparison::differs(
                    "error",
                    "both failed, with different SQLSTATEs".into(),
                    error_text(&a.end),
                    error_text(&b.end),
                )
            };
        }
        (StmtEnd::Error { .. }, _) => {
            return Comparison::differs(
                "error",
                "the source of truth failed but the shadow succeeded".into(),
                error_text(&a.end),
                Some(end_text(&b.end)),
            );
        }
        (_, StmtEnd::Error { .. }) => {
            return Comparison {
                outcome: ShadowOutcome::ShadowError,
                differed: "error",
                detail: "the shadow database returned an error".into(),
                sot_value: Some(end_text(&a.end)),
                shadow_value: error_text(&b.end),
                benign_reason: None,
            };
        }
        _ => {}
    }
    if a.columns != b.columns {
        return Comparison::differs(
            "columns",
            "result columns differ (name or type)".into(),
            a.columns.as_deref().map(columns_text),
            b.columns.as_deref().map(columns_text),
        );
    }
    if a.rows.count != b.rows.count {
        return Comparison::differs(
            "row_count",
            format!(
                "{} row(s) on the source of truth, {} on the shadow",
                a.rows.count, b.rows.count
            ),
            Some(end_text(&a.end)),
            Some(end_text(&b.end)),
        );
    }
    if a.end != b.end {
        return Comparison::differs(
            "command_tag",
            "command tags differ".into(),
            Some(end_text(&a.end)),
            Some(end_text(&b.end)),
        );
    }
    let same = if rules.ordered {
        a.rows.ordered == b.rows.ordered
    } else {
        a.rows.sum == b.rows.sum && a.rows.xor == b.rows.xor
    };
    if same {
        return Comparison::matched();
    }
    let (pairs, where_) = differing_rows(a, b, rules.ordered);
    let first = pairs.first();
    let mut c = Comparison::differs(
        "rows",
        where_,
        first.and_then(|(x, _)| x.map(|r| render_row(r))),
        first.and_then(|(_, y)| y.map(|r| render_row(r))),
    );
    let float_only = !pairs.is_empty()
        && pairs.iter().all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => floats_only_differ(x, y, a.columns.as_deref()),
            _ => false,
        });
    if rules.volatile {
        c.outcome = ShadowOutcome::Benign;
        c.benign_reason = Some("volatile");
    } else if float_only {
        c.outcome = ShadowOutcome::Benign;
        c.benign_reason = Some("float");
    }
    c
}

type Pair<'a> = (Option<&'a Vec<Field>>, Option<&'a Vec<Field>>);

/// The differing rows that were kept, paired, and where they are. An unpaired side is
/// `None` (not kept, or no counterpart).
fn differing_rows<'a>(
    a: &'a StmtResult,
    b: &'a StmtResult,
    ordered: bool,
) -> (Vec<Pair<'a>>, String) {
    let (ha, hb) = (&a.rows.hashes, &b.rows.hashes);
    if !a.rows.hashes_complete || !b.rows.hashes_complete {
        return (
            vec![(None, None)],
            "rows differ (beyond the comparison budget: row hashes only, first difference unknown)"
                .into(),
        );
    }
    if ordered {
        let idx: Vec<usize> = (0..ha.len()).filter(|&i| ha[i] != hb[i]).collect();
        let pairs = idx
            .iter()
            .map(|&i| (a.rows.kept.get(i), b.rows.kept.get(i)))
            .collect();
        let first = idx.first().copied().unwrap_or(0);
        return (
            pairs,
            format!(
                "{} row(s) differ; first at row {} (in order)",
                idx.len(),
                first + 1
            ),
        );
    }
    let only_a = unmatched(ha, hb);
    let only_b = unmatched(hb, ha);
    let mut ra: Vec<Option<&Vec<Field>>> = only_a.iter().map(|&i| a.rows.kept.get(i)).collect();
    let mut rb: Vec<Option<&Vec<Field>>> = only_b.iter().map(|&i| b.rows.kept.get(i)).collect();
    // Pair rows that agree outside float columns, so float-only differences line up.
    let key = |r: &Option<&Vec<Field>>| r.map(|r| non_float_key(r, a.columns.as_deref()));
    ra.sort_by_key(key);
    rb.sort_by_key(key);
    let n = ra.len().max(rb.len());
    let pairs = (0..n)
        .map(|i| (ra.get(i).copied().flatten(), rb.get(i).copied().flatten()))
        .collect();
    (
        pairs,
        format!(
            "{} row(s) only on the source of truth, {} only on the shadow (compared as a set: no ORDER BY)",
            only_a.len(),
            only_b.len()
        ),
    )
}

/// Indexes of rows in `x` with no counterpart in `y` (multiset difference).
fn unmatched(x: &[u64], y: &[u64]) -> Vec<usize> {
    let mut pool: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for h in y {
        *pool.entry(*h).or_default() += 1;
    }
    let mut out = Vec::new();
    for (i, h) in x.iter().enumerate() {
        match pool.get_mut(h) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(i),
        }
    }
    out
}

fn is_float(cols: Option<&[Column]>, i: usize) -> bool {
    cols.and_then(|c| c.get(i))
        .is_some_and(|c| FLOAT_TYPES.contains(&c.type_id))
}

fn non_float_key(row: &[Field], cols: Option<&[Column]>) -> Vec<Field> {
    row.iter()
        .enumerate()
        .filter(|(i, _)| !is_float(cols, *i))
        .map(|(_, f)| f.clone())
        .collect()
}

fn floats_only_differ(x: &[Field], y: &[Field], cols: Option<&[Column]>) -> bool {
    x.len() == y.len()
        && x.iter().zip(y).enumerate().all(|(i, (p, q))| {
            p == q
                || (is_float(cols, i)
                    && match (p, q) {
                        (Some(p), Some(q)) => floats_close(p, q),
                        _ => false,
                    })
        })
}

fn floats_close(p: &[u8], q: &[u8]) -> bool {
    let parse = |v: &[u8]| std::str::from_utf8(v).ok()?.trim().parse::<f64>().ok();
    match (parse(p), parse(q)) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-6 * x.abs().max(y.abs()),
        _ => false,
    }
}

fn columns_text(cols: &[Column]) -> String {
    cols.iter()
        .map(|c| format!("{}:{}", c.name, c.type_id))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
