//! Statement fingerprints: the query text with literals replaced by `?`, comments
//! dropped, whitespace collapsed and keywords lower-cased, so `WHERE id = 7` and
//! `WHERE id = 8` count as one statement in the shadow report.

/// Longest normalized text kept; longer statements are cut (their id still covers all).
const MAX_TEXT: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// 16 hex digits of a stable hash of the full normalized text (the metrics label).
    pub id: String,
    pub text: String,
}

impl Fingerprint {
    pub fn of(query: &str) -> Self {
        let text = normalize(query);
        let id = format!("{:016x}", fnv1a(text.as_bytes()));
        let text = cut(&text, MAX_TEXT);
        Fingerprint { id, text }
    }
}

/// FNV-1a: tiny and stable across builds and machines, so every proxy of a deployment
/// gives a statement the same id.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The normalized text. Understands PostgreSQL's lexical forms: '...' (with '' and E''
/// escapes), "identifiers", $tag$ dollar quotes $tag$, -- and /* */ comments, numbers
/// and $n parameters (kept).
pub fn normalize(q: &str) -> String {
    let b = q.as_bytes();
    let mut out = String::with_capacity(q.len().min(MAX_TEXT * 2));
    let mut i = 0;
    let mut space = false;
    let push = |out: &mut String, space: &mut bool, s: &str| {
        if *space && !out.is_empty() {
            out.push(' ');
        }
        *space = false;
        out.push_str(s);
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                space = true;
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                space = true;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = q[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                space = true;
            }
            b'\'' => {
                i = skip_string(b, i + 1, false);
                push(&mut out, &mut space, "?");
            }
            b'e' | b'E' if b.get(i + 1) == Some(&b'\'') && !ident_before(b, i) => {
                i = skip_string(b, i + 2, true);
                push(&mut out, &mut space, "?");
            }
            b'"' => {
                let end = q[i + 1..].find('"').map_or(b.len(), |p| i + 1 + p + 1);
                push(&mut out, &mut space, &q[i..end]);
                i = end;
            }
            b'$' => {
                // $1 parameter, or a $tag$ dollar quote.
                let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
                if digits > 0 {
                    push(&mut out, &mut space, &q[i..i + 1 + digits]);
                    i += 1 + digits;
                } else if let Some(tag_len) = q[i + 1..].find('$') {
                    let tag = &q[i..i + tag_len + 2];
                    let valid = tag[1..tag.len() - 1]
                        .bytes()
                        .all(|t| t.is_ascii_alphanumeric() || t == b'_');
                    if valid {
                        let body = i + tag.len();
                        i = q[body..]
                            .find(tag)
                            .map_or(b.len(), |p| body + p + tag.len());
                        push(&mut out, &mut space, "?");
                    } else {
                        push(&mut out, &mut space, "$");
                        i += 1;
                    }
                } else {
                    push(&mut out, &mut space, "$");
                    i += 1;
                }
            }
            b'0'..=b'9' if !ident_before(b, i) => {
                let mut j = i;
                while j < b.len()
                    && (b[j].is_ascii_digit()
                        || b[j] == b'.'
                        || b[j] == b'_'
                        || ((b[j] == b'e' || b[j] == b'E') && j > i)
                        || ((b[j] == b'+' || b[j] == b'-') && matches!(b[j - 1], b'e' | b'E')))
                {
                    j += 1;
                }
                push(&mut out, &mut space, "?");
                i = j;
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !ident_before(b, i) => {
                let j = i + 1 + b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
                push(&mut out, &mut space, "?");
                i = j;
            }
            _ => {
                let ch = q[i..].chars().next().unwrap_or(' ');
                let mut tmp = [0u8; 4];
                let lower = ch.to_ascii_lowercase();
                push(&mut out, &mut space, lower.encode_utf8(&mut tmp));
                i += ch.len_utf8();
            }
        }
    }
    if out.ends_with(';') {
        out.pop();
        out.truncate(out.trim_end().len());
    }
    out
}

/// Index just past a quoted string that starts at `i` (after the opening quote).
fn skip_string(b: &[u8], mut i: usize, backslash: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// True when the byte before `i` continues an identifier (`t1`, `x_2`), so a digit or
/// `e'` there is not a literal.
fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'$')
}

#[cfg(test)]
mod tests;
