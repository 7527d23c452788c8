//! Comparing one primary-key range of a table as read from both databases: a checksum
//! of each side first, and only when they differ a row-by-row comparison naming the
//! missing, extra and mismatched rows. Pure: rows in, findings out.
//!
//! Values are compared as text after the normalization the shadow comparison applies
//! (floats agree to 1e-6 relative), plus what a MySQL source needs against a
//! PostgreSQL-protocol target: booleans as `1`/`0`, and timestamps without a UTC `+00`
//! offset (both sessions run in UTC) or trailing zeros in their fraction.

use molt_lms_api::verify::{ColumnDiff, RowDiff, RowDiffKind};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// How a column's text is normalized before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Exact,
    /// `real`, `double precision`, MySQL `float`/`double`.
    Float,
    /// `boolean`; MySQL's `tinyint(1)` answers `1`/`0` for the same values.
    Bool,
    /// Timestamps and times: a UTC offset at the end is dropped, and trailing zeros of
    /// the fraction (MySQL's `DATETIME(6)` prints `.000000`, PostgreSQL nothing).
    Timestamp,
}

/// A row as read: one text value per column (None for NULL), primary-key columns first.
pub type Row = Vec<Option<String>>;

/// The columns of a compared table, in the order rows carry them.
#[derive(Debug, Clone)]
pub struct Layout {
    pub names: Vec<String>,
    pub kinds: Vec<Kind>,
    /// The first `key_len` columns are the primary key.
    pub key_len: usize,
}

/// Relative tolerance for floats, as in the shadow comparison.
const FLOAT_TOLERANCE: f64 = 1e-6;

fn canon(kind: Kind, v: &str) -> Cow<'_, str> {
    match kind {
        Kind::Exact => Cow::Borrowed(v),
        Kind::Bool => Cow::Borrowed(match v {
            "t" | "true" | "1" => "1",
            "f" | "false" | "0" => "0",
            other => other,
        }),
        Kind::Timestamp => {
            let v = ["+00:00", "+00", "Z"]
                .iter()
                .find_map(|s| v.strip_suffix(s))
                .unwrap_or(v);
            Cow::Borrowed(match v.rfind('.') {
                Some(dot) if v[dot + 1..].bytes().all(|b| b.is_ascii_digit()) => {
                    v.trim_end_matches('0').trim_end_matches('.')
                }
                _ => v,
            })
        }
        // Seven significant digits: two values that round alike differ by less than the
        // tolerance, so a checksum that matches never hides a real difference.
        Kind::Float => match v.parse::<f64>() {
            Ok(f) if f.is_finite() => Cow::Owned(format!("{f:.6e}")),
            _ => Cow::Borrowed(v),
        },
    }
}

fn value_eq(kind: Kind, a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            if kind == Kind::Float {
                if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
                    let scale = x.abs().max(y.abs());
                    return x == y || (x - y).abs() <= FLOAT_TOLERANCE * scale;
                }
            }
            canon(kind, a) == canon(kind, b)
        }
        _ => false,
    }
}

impl Layout {
    /// The normalized primary key, for matching rows across the two sides.
    pub fn key_of(&self, row: &Row) -> Vec<String> {
        row[..self.key_len]
            .iter()
            .zip(&self.kinds)
            .map(|(v, k)| {
                v.as_deref()
                    .map_or_else(String::new, |v| canon(*k, v).into_owned())
            })
            .collect()
    }

    fn row_hash(&self, row: &Row) -> u64 {
        let mut h = DefaultHasher::new();
        for (v, k) in row.iter().zip(&self.kinds) {
            match v {
                None => 0u8.hash(&mut h),
                Some(v) => {
                    1u8.hash(&mut h);
                    canon(*k, v).hash(&mut h);
                }
            }
        }
        h.finish()
    }

    /// An order-independent checksum of a side's rows: the databases may order equal
    /// keys' neighbours differently, never the set.
    pub fn checksum(&self, rows: &[Row]) -> (u64, u64, usize) {
        rows.iter().fold((0u64, 0u64, 0), |(sum, xor, n), r| {
            let h = self.row_hash(r);
            (sum.wrapping_add(h), xor ^ h, n + 1)
        })
    }

    fn key_pairs(&self, row: &Row) -> Vec<(String, Option<String>)> {
        self.names[..self.key_len]
            .iter()
            .cloned()
            .zip(row[..self.key_len].iter().cloned())
            .collect()
    }

    /// The columns whose values differ, or none when the rows agree.
    pub fn column_diffs(&self, source: &Row, target: &Row) -> Vec<ColumnDiff> {
        (0..self.names.len())
            .filter(|&i| !value_eq(self.kinds[i], source[i].as_deref(), target[i].as_deref()))
            .map(|i| ColumnDiff {
                column: self.names[i].clone(),
                source: source[i].clone(),
                target: target[i].clone(),
            })
            .collect()
    }

    /// Compares one range: `None` when the checksums agree; otherwise the differing rows,
    /// in the source's order, then the target's extra rows in the target's order.
    pub fn compare_range(&self, source: &[Row], target: &[Row]) -> Option<Vec<RowDiff>> {
        if self.checksum(source) == self.checksum(target) {
            return None;
        }
        let mut on_target: HashMap<Vec<String>, &Row> =
            target.iter().map(|r| (self.key_of(r), r)).collect();
        let mut diffs = Vec::new();
        for s in source {
            match on_target.remove(&self.key_of(s)) {
                None => diffs.push(RowDiff {
                    kind: RowDiffKind::Missing,
                    key: self.key_pairs(s),
                    columns: Vec::new(),
                }),
                Some(t) => {
                    let columns = self.column_diffs(s, t);
                    if !columns.is_empty() {
                        diffs.push(RowDiff {
                            kind: RowDiffKind::Mismatched,
                            key: self.key_pairs(s),
                            columns,
                        });
                    }
                }
            }
        }
        diffs.extend(
            target
                .iter()
                .filter(|t| on_target.contains_key(&self.key_of(t)))
                .map(|t| RowDiff {
                    kind: RowDiffKind::Extra,
                    key: self.key_pairs(t),
                    columns: Vec::new(),
                }),
        );
        Some(diffs)
    }
}

#[cfg(test)]
mod tests;
