//! The only SQL rewriting the proxy does, with MySQL's lexical rules: `?` placeholders
//! become `$1`, `$2`, …; `` `identifiers` `` become `"identifiers"`. The other rewrites
//! keep PostgreSQL from reading the text differently: a `'string'` holding a backslash
//! becomes an `E'string'` with the same value, because MySQL reads backslash escapes and
//! PostgreSQL (`standard_conforming_strings = on`) does not, so a client's escaped quote
//! (`'it\'s'`) would end the string early, which turns escaping into injection; `#`
//! comments become `--` comments; `--` that MySQL reads as two minus signs becomes
//! `- -`; `/*` inside a block comment becomes `/ *` (PostgreSQL's comments nest). All
//! else, including `"…"` (a string in MySQL, an identifier in PostgreSQL), is copied as
//! is.
//!
//! Quotes and comments recognised: `'…'` and `"…"` (with doubled quotes and backslash
//! escapes), `` `…` `` (doubled backticks), `$tag$…$tag$`, `-- …` (MySQL needs white
//! space or a control character after `--`), `# …`, `/* … */`. An unterminated one runs
//! to the end of the text. A string right after a word (`N'…'`, `_utf8mb4'…'`) is left
//! alone. The `NO_BACKSLASH_ESCAPES` SQL mode is not supported.

use super::text::push_fmt;

/// A statement rewritten for PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub text: String,
    /// How many `?` were rewritten: the statement's parameter count.
    pub params: usize,
}

/// Rewrites a MySQL statement for PostgreSQL (see the module doc).
pub fn translate(sql: &str) -> Translated {
    let b = sql.as_bytes();
    let mut out = Vec::with_capacity(sql.len() + 16);
    let mut params = 0usize;
    // Bytes from `copied` to `i` are still to be copied as they are. Both only ever
    // stand on ASCII bytes or the end, so every copied run is whole UTF-8.
    let mut copied = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'?' {
            out.extend_from_slice(b.get(copied..i).unwrap_or_default());
            params += 1;
            push_fmt(&mut out, format_args!("${params}"));
            i += 1;
            copied = i;
            continue;
        }
        let Some(span) = span_at(b, i) else {
            // Not a comment (see `span_at`): MySQL reads `1--1` as `1 - -1`, PostgreSQL
            // would read a comment.
            if c == b'-' && b.get(i + 1) == Some(&b'-') {
                out.extend_from_slice(b.get(copied..=i).unwrap_or_default());
                out.push(b' ');
                copied = i + 1;
            }
            i += 1;
            continue;
        };
        let inner = b.get(i + 1..span.end.saturating_sub(1)).unwrap_or_default();
        let rewrite = match span.kind {
            Kind::Backtick if span.closed => Some(Rewrite::Identifier),
            Kind::Single if span.closed && inner.contains(&b'\\') && !after_word(b, i) => {
                Some(Rewrite::EscapeString)
            }
            Kind::Hash => Some(Rewrite::HashComment),
            Kind::Block if find(inner, 1, b"/*").is_some() => Some(Rewrite::BlockComment),
            _ => None,
        };
        if let Some(rewrite) = rewrite {
            out.extend_from_slice(b.get(copied..i).unwrap_or_default());
            let whole = b.get(i..span.end).unwrap_or_default();
            match rewrite {
                Rewrite::Identifier => push_identifier(&mut out, inner),
                Rewrite::EscapeString => push_escape_string(&mut out, inner),
                Rewrite::HashComment => {
                    out.extend_from_slice(b"--");
                    out.extend_from_slice(whole.get(1..).unwrap_or_default());
                }
                Rewrite::BlockComment => push_block_comment(&mut out, whole),
            }
            copied = span.end;
        }
        i = span.end;
    }
    out.extend_from_slice(b.get(copied..).unwrap_or_default());
    let text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Translated { text, params }
}

/// Splits a multi-statement text on the `;` outside quotes and comments. Pieces are
/// trimmed; pieces with nothing but white space and comments are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b';' {
            push_piece(&mut pieces, sql.get(start..i));
            i += 1;
            start = i;
            continue;
        }
        i = span_at(b, i).map_or(i + 1, |span| span.end);
    }
    push_piece(&mut pieces, sql.get(start..));
    pieces
}

fn push_piece<'a>(pieces: &mut Vec<&'a str>, piece: Option<&'a str>) {
    let Some(piece) = piece.map(str::trim) else {
        return;
    };
    if !is_blank(piece.as_bytes()) {
        pieces.push(piece);
    }
}

/// Only white space and comments.
fn is_blank(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match span_at(b, i) {
            Some(span) if matches!(span.kind, Kind::Line | Kind::Hash | Kind::Block) => {
                i = span.end;
            }
            _ => return false,
        }
    }
    true
}

enum Rewrite {
    Identifier,
    EscapeString,
    HashComment,
    BlockComment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    Double,
    Backtick,
    Dollar,
    Line,
    Hash,
    Block,
}

/// A quoted or commented stretch of the text: where it ends (exclusive), and whether
/// its closing delimiter was found.
#[derive(Debug, Clone, Copy)]
struct Span {
    kind: Kind,
    end: usize,
    closed: bool,
}

/// The quote or comment starting at `i`, if one does.
fn span_at(b: &[u8], i: usize) -> Option<Span> {
    let next = b.get(i + 1).copied();
    match b.get(i)? {
        b'\'' => Some(quoted(b, i, b'\'', Kind::Single, true)),
        b'"' => Some(quoted(b, i, b'"', Kind::Double, true)),
        b'`' => Some(quoted(b, i, b'`', Kind::Backtick, false)),
        b'$' => dollar_quoted(b, i),
        // MySQL's `--` comment needs white space or a control character after it
        // (or the end of the text); `1--1` is a subtraction.
        b'-' if next == Some(b'-') && b.get(i + 2).is_none_or(|&c| c <= b' ' || c == 0x7F) => {
            Some(to_line_end(b, i, Kind::Line))
        }
        b'#' => Some(to_line_end(b, i, Kind::Hash)),
        b'/' if next == Some(b'*') => {
            let end = find(b, i + 2, b"*/").map(|at| at + 2);
            Some(Span {
                kind: Kind::Block,
                end: end.unwrap_or(b.len()),
                closed: end.is_some(),
            })
        }
        _ => None,
    }
}

/// A quoted stretch: a doubled quote stands for one, and with `backslash` a backslash
/// escapes the byte after it.
fn quoted(b: &[u8], i: usize, quote: u8, kind: Kind, backslash: bool) -> Span {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        let escaped = c == b'\\' && backslash;
        let doubled = c == quote && b.get(j + 1) == Some(&quote);
        if escaped || doubled {
            j += 2;
        } else if c == quote {
            return Span {
                kind,
                end: j + 1,
                closed: true,
            };
        } else {
            j += 1;
        }
    }
    Span {
        kind,
        end: b.len(),
        closed: false,
    }
}

/// `$tag$…$tag$`, PostgreSQL's dollar quoting, where the tag is empty or an identifier.
/// A `$` inside a word (`a$b`) or before a digit (`$1`) starts none.
fn dollar_quoted(b: &[u8], i: usize) -> Option<Span> {
    if after_word(b, i) {
        return None;
    }
    let mut j = i + 1;
    if b.get(j)
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
    {
        while b
            .get(j)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
        {
            j += 1;
        }
    }
    if b.get(j) != Some(&b'$') {
        return None;
    }
    let tag = b.get(i..=j)?;
    let end = find(b, j + 1, tag).map(|at| at + tag.len());
    Some(Span {
        kind: Kind::Dollar,
        end: end.unwrap_or(b.len()),
        closed: end.is_some(),
    })
}

/// A comment to the end of the line, its newline included.
fn to_line_end(b: &[u8], i: usize, kind: Kind) -> Span {
    let end = find(b, i, b"\n").map(|at| at + 1);
    Span {
        kind,
        end: end.unwrap_or(b.len()),
        closed: end.is_some(),
    }
}

/// The first `needle` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| from + at)
}

/// The byte before `i` belongs to a word (identifier or number), so a quote or `$` at
/// `i` continues it rather than starting something (`N'…'`, `_utf8mb4'…'`, `a$b`).
fn after_word(b: &[u8], i: usize) -> bool {
    i.checked_sub(1)
        .and_then(|p| b.get(p))
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80)
}

/// A backtick identifier's inside as a PostgreSQL quoted identifier: a doubled backtick
/// is one backtick, a `"` is doubled.
fn push_identifier(out: &mut Vec<u8>, inner: &[u8]) {
    out.push(b'"');
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        match c {
            b'`' => {
                out.push(b'`');
                i += 2;
                continue;
            }
            b'"' => out.extend_from_slice(b"\"\""),
            _ => out.push(c),
        }
        i += 1;
    }
    out.push(b'"');
}

/// A MySQL `'…'` string's inside as a PostgreSQL `E'…'` string with the same value.
/// MySQL's escapes that mean something else in an E-string are spelled out; MySQL's
/// `\%` and `\_` keep their backslash (they are for LIKE patterns).
fn push_escape_string(out: &mut Vec<u8>, inner: &[u8]) {
    out.extend_from_slice(b"E'");
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = inner.get(i + 1) else {
            // Cannot happen in a closed string: its last backslash escapes something.
            out.extend_from_slice(b"\\\\");
            break;
        };
        match e {
            b'0' => out.extend_from_slice(b"\\000"),
            b'\'' | b'\\' | b'b' | b'n' | b'r' | b't' => out.extend_from_slice(&[b'\\', e]),
            b'Z' => out.extend_from_slice(b"\\x1A"),
            b'%' | b'_' => out.extend_from_slice(&[b'\\', b'\\', e]),
            // MySQL drops the backslash before any other byte (`\"` is `"`); the rest
            // of a multi-byte character follows as ordinary bytes.
            _ => out.push(e),
        }
        i += 2;
    }
    out.push(b'\'');
}

/// A block comment with `/*` inside: MySQL's comments do not nest, PostgreSQL's do, so
/// the inner openers are broken up (`/ *`) for the comment to end where MySQL ends it.
fn push_block_comment(out: &mut Vec<u8>, whole: &[u8]) {
    out.extend_from_slice(whole.get(..2).unwrap_or_default());
    let mut rest = whole.get(2..).unwrap_or_default();
    while let Some(at) = find(rest, 0, b"/*") {
        out.extend_from_slice(rest.get(..=at).unwrap_or_default());
        out.push(b' ');
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests;
