//! A protocol-independent summary of one statement's answer, built while the answer
//! streams past: command tag, columns, and the rows as hashes, with the first rows kept
//! whole for showing a difference. Memory is bounded by a per-statement budget; past
//! it, only order-sensitive and order-insensitive aggregates of the row hashes remain.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;

/// One result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The type's id (a PostgreSQL OID).
    pub type_id: u32,
}

/// How a statement's answer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtEnd {
    /// Command tag, e.g. `INSERT 0 1`.
    Complete(String),
    /// An empty query string.
    Empty,
    /// A portal stopped at its row limit.
    Suspended,
    Error {
        code: String,
        message: String,
        /// The error message as the client would receive it, to return it verbatim.
        raw: Vec<u8>,
    },
    /// No end seen before the request finished (a Describe, or an answer cut short).
    Open,
}

impl StmtEnd {
    pub fn is_error(&self) -> bool {
        matches!(self, StmtEnd::Error { .. })
    }
}

/// One field of a kept row; `None` is SQL NULL.
pub type Field = Option<Vec<u8>>;

/// The rows of one statement.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub count: u64,
    /// Order-sensitive combination of all row hashes.
    pub ordered: u64,
    /// Order-insensitive combinations (sum and xor) of all row hashes.
    pub sum: u64,
    pub xor: u64,
    /// Every row's hash while within budget.
    pub hashes: Vec<u64>,
    pub hashes_complete: bool,
    /// The first rows in full while within budget.
    pub kept: Vec<Vec<Field>>,
    kept_bytes: usize,
}

/// The answer to one statement.
#[derive(Debug, Clone)]
pub struct StmtResult {
    pub columns: Option<Vec<Column>>,
    pub rows: Rows,
    pub end: StmtEnd,
}

impl Default for StmtResult {
    fn default() -> Self {
        Self {
            columns: None,
            rows: Rows {
                hashes_complete: true,
                ..Rows::default()
            },
            end: StmtEnd::Open,
        }
    }
}

impl StmtResult {
    /// Nothing observed yet.
    pub fn is_blank(&self) -> bool {
        self.columns.is_none() && self.rows.count == 0 && self.end == StmtEnd::Open
    }
}

impl Rows {
    /// Adds one row. `budget` bounds the bytes this statement may keep: half for full
    /// rows, half for per-row hashes.
    pub fn push<'a>(
        &mut self,
        fields: impl Iterator<Item = Option<&'a [u8]>> + Clone,
        budget: usize,
    ) {
        let mut h = DefaultHasher::new();
        let mut size = 0;
        for f in fields.clone() {
            match f {
                Some(v) => {
                    h.write_u8(1);
                    h.write_usize(v.len());
                    h.write(v);
                    size += v.len() + 8;
                }
                None => h.write_u8(0),
            }
        }
        let hash = h.finish();
        self.count += 1;
        self.ordered = self
            .ordered
            .rotate_left(5)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ hash;
        self.sum = self.sum.wrapping_add(hash);
        self.xor ^= hash;
        if self.hashes_complete {
            if (self.hashes.len() + 1) * 8 <= budget / 2 {
                self.hashes.push(hash);
            } else {
                self.hashes_complete = false;
                self.hashes = Vec::new();
            }
        }
        if self.kept_bytes + size <= budget / 2 {
            self.kept_bytes += size;
            self.kept
                .push(fields.map(|f| f.map(<[u8]>::to_vec)).collect());
        }
    }
}

/// Renders a kept row for a report: `(1, 'abc', NULL)`; non-text values as hex.
pub fn render_row(row: &[Field]) -> String {
    let mut out = String::from("(");
    for (i, f) in row.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&render_field(f));
    }
    out.push(')');
    super::fingerprint::cut(&out, 1024)
}

fn render_field(f: &Field) -> String {
    match f {
        None => "NULL".to_owned(),
        Some(v) => match std::str::from_utf8(v) {
            Ok(s) if !s.chars().any(|c| c.is_control()) => {
                super::fingerprint::cut(&format!("'{s}'"), 200)
            }
            _ => {
                let hex: String = v.iter().take(100).map(|b| format!("{b:02x}")).collect();
                format!("\\x{hex}{}", if v.len() > 100 { "…" } else { "" })
            }
        },
    }
}
