//! PostgreSQL framing: `FrameScanner` over an arbitrary byte stream cut into arbitrary
//! reads, as the relay drives it (forward what it may, keep the rest, read more), with
//! each tag wanted by header, whole (up to a limit) or by a prefix of its body.
//!
//! Invariants: the scanner never claims more bytes than it was given; what it shows and
//! whether it fails do not depend on how the stream was cut; what it shows is what was
//! wanted (no body for a header, a whole body within its limit, at most the prefix); a
//! held scan sits at a message boundary; what it keeps back is an incomplete header or a
//! message whose wanted part has not all arrived; every body shown whole is fed to the
//! parsers of its tag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::{read_sizes, take_u32, take_u8};
use molt_lms_wire::pg::codec::{header, FrameScanner, ScanControl, HEADER_LEN, MAX_MESSAGE_LEN};
use molt_lms_wire::pg::{backend, frontend, ProtocolError, Want};

/// `(tag, body shown, shown whole)` of each message the scanner showed.
type Shown = (u8, Option<Vec<u8>>, bool);

struct Run {
    shown: Vec<Shown>,
    forwarded: usize,
    kept: Vec<u8>,
    error: Option<ProtocolError>,
    at_boundary: bool,
}

/// Feeds `stream` in reads of `sizes`; the callback holds before the first message
/// tagged `hold_tag`, once.
fn run(stream: &[u8], sizes: &[usize], want: impl Fn(u8) -> Want, hold_tag: u8) -> Run {
    let mut sc = FrameScanner::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut shown = Vec::new();
    let mut forwarded = 0;
    let mut held_once = false;
    let mut at = 0;
    for &n in sizes {
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        loop {
            let mut hold_now = false;
            let r = sc.scan(&buf, &want, |tag, body, whole| {
                match (want(tag), body) {
                    (Want::Header, None) => assert!(!whole),
                    (Want::Whole { max }, Some(b)) => {
                        assert!(whole && b.len() <= max && b.len() + 4 <= MAX_MESSAGE_LEN);
                    }
                    (Want::Prefix(n), Some(b)) => assert!(b.len() <= n && (whole || b.len() == n)),
                    (w, b) => panic!("wanted {w:?}, shown {:?} bytes", b.map(<[u8]>::len)),
                }
                if let (Some(b), true) = (body, whole) {
                    parse_body(tag, b);
                }
                if tag == hold_tag && !held_once {
                    hold_now = true;
                    return Ok(ScanControl::HoldBefore);
                }
                shown.push((tag, body.map(<[u8]>::to_vec), whole));
                Ok(ScanControl::Continue)
            });
            let s = match r {
                Ok(s) => s,
                Err(e) => {
                    return Run {
                        shown,
                        forwarded,
                        kept: buf,
                        error: Some(e),
                        at_boundary: sc.at_boundary(),
                    }
                }
            };
            assert!(s.forward <= buf.len(), "forwards more than it was given");
            assert_eq!(s.held, hold_now);
            forwarded += s.forward;
            buf.drain(..s.forward);
            if !s.held {
                break;
            }
            assert!(sc.at_boundary(), "held inside a message");
            assert!(!buf.is_empty(), "held with nothing left");
            held_once = true;
        }
    }
    Run {
        shown,
        forwarded,
        kept: buf,
        error: None,
        at_boundary: sc.at_boundary(),
    }
}

/// Each parser the relay or the proxy applies to a body of this tag, in either direction.
fn parse_body(tag: u8, body: &[u8]) {
    match tag {
        b'E' | b'N' => {
            let (code, message) = backend::error_fields(body);
            // Read in the client's encoding: a byte that is not UTF-8 becomes one replacement
            // character, so each character the fields hold took at least one byte of the body.
            assert!(code.chars().count() + message.chars().count() <= body.len());
        }
        b'S' => {
            if let Some((name, value)) = backend::parameter_status(body) {
                assert!(name.len() + value.len() + 2 <= body.len());
            }
        }
        b'T' => {
            let _ = backend::row_description(body);
        }
        b'D' => {
            let _ = backend::data_row_fields(body);
        }
        b'R' => {
            let _ = backend::authentication_code(body);
        }
        b'p' => {
            let _ = frontend::sasl_initial_response(body);
        }
        b'Q' => {
            let _ = frontend::query_text(body);
        }
        b'P' => {
            let _ = frontend::parse_statement(body);
        }
        b'B' => {
            let _ = frontend::bound_statement(body);
        }
        b'C' => {
            let _ = frontend::closed_statement(body);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let (seed, data) = take_u32(data);
    let (mask, data) = take_u8(data);
    let (limit, data) = take_u8(data);
    let (hold_tag, stream) = take_u8(data);
    // Which tags are wanted how varies with `mask`; the limits with `limit`.
    let max = usize::from(limit) * 8;
    let prefix = usize::from(limit & 0x3f);
    let want = |tag: u8| match (tag ^ mask) & 3 {
        0 => Want::Header,
        1 => Want::Whole { max },
        2 => Want::Prefix(prefix),
        _ => Want::Whole { max: usize::MAX },
    };

    if let Ok(Some((_, total))) = header(stream) {
        assert!((HEADER_LEN..=MAX_MESSAGE_LEN + 1).contains(&total));
    }

    let whole = run(stream, &[stream.len()], want, hold_tag);
    let cut = run(stream, &read_sizes(seed, stream.len()), want, hold_tag);
    assert_eq!(whole.shown, cut.shown, "what is shown depends on the reads");
    assert_eq!(whole.error, cut.error, "failing depends on the reads");
    if whole.error.is_none() {
        assert_eq!(whole.forwarded, cut.forwarded);
        assert_eq!(whole.kept, cut.kept);
        assert_eq!(whole.at_boundary, cut.at_boundary);
        assert_eq!(whole.forwarded + whole.kept.len(), stream.len());
        // Kept back: an incomplete header, or a message whose wanted part is incomplete.
        let kept = &whole.kept;
        if kept.len() >= HEADER_LEN {
            let (tag, total) = header(kept).expect("kept a bad header").expect("header");
            let body_len = total - HEADER_LEN;
            let needed = match want(tag) {
                Want::Header => 0,
                Want::Whole { .. } => body_len,
                Want::Prefix(n) => body_len.min(n),
            };
            assert!(
                kept.len() < HEADER_LEN + needed,
                "kept a message it could show"
            );
        }
        if !whole.at_boundary {
            assert!(kept.is_empty(), "kept bytes inside a pass-through message");
        }
    }
});
