//! MySQL framing and basic data types: `next_packet`, `read_payload`, `write_payload`,
//! `put_packet`, the length-encoded and NUL-terminated readers, and `PacketScanner` over
//! an arbitrary stream cut into arbitrary reads.
//!
//! Invariants: nothing reads past its input; a payload read back re-frames to exactly the
//! bytes it came from, and one byte less is "need more bytes"; what the writers frame
//! reads back; what the scanner shows and whether it fails do not depend on how the
//! stream was cut, and what it keeps back is an incomplete packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::{read_sizes, take_u32, take_u8};
use molt_lms_wire::mysql::codec::{
    lenenc_int_len, put_lenenc_int, read_lenenc_int, read_lenenc_str, read_nul_str, read_uint_le,
};
use molt_lms_wire::mysql::packet::{put_packet, HEADER_LEN};
use molt_lms_wire::mysql::scanner::{Control, PacketScanner, Shown, PREFIX_LEN, WHOLE_LIMIT};
use molt_lms_wire::mysql::{next_packet, read_payload, write_payload, MysqlError, MAX_PAYLOAD};

/// `(payload length, seq, whole?, bytes shown)` of each payload the scanner showed.
type Event = (usize, u8, bool, Vec<u8>);

struct Run {
    shown: Vec<Event>,
    forwarded: usize,
    kept: Vec<u8>,
    error: Option<MysqlError>,
    at_boundary: bool,
}

/// Feeds `stream` in reads of `sizes`; holds before the first payload with seq
/// `hold_seq`, once.
fn scan(stream: &[u8], sizes: &[usize], hold_seq: u8) -> Run {
    let mut sc = PacketScanner::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut shown = Vec::new();
    let (mut forwarded, mut at, mut held_once) = (0, 0, false);
    for &n in sizes {
        buf.extend_from_slice(&stream[at..at + n]);
        at += n;
        loop {
            let mut hold_now = false;
            let r = sc.scan(&mut buf, |h, s| {
                let whole = matches!(s, Shown::Whole(_));
                match &s {
                    Shown::Whole(b) => {
                        assert_eq!(b.len(), h.payload_len);
                        assert!(h.payload_len <= WHOLE_LIMIT);
                    }
                    Shown::Large { prefix, len } => {
                        assert_eq!(prefix.len(), PREFIX_LEN);
                        assert_eq!(*len, h.payload_len);
                        assert!(h.payload_len > WHOLE_LIMIT || h.continues());
                    }
                }
                if h.seq == hold_seq && !held_once {
                    hold_now = true;
                    return Ok(Control::HoldBefore);
                }
                shown.push((h.payload_len, h.seq, whole, s.bytes().to_vec()));
                Ok(Control::Continue)
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
            assert!(sc.at_boundary(), "held inside a payload");
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

fn data_types(data: &[u8]) {
    for width in 0..=9 {
        if let Ok(v) = read_uint_le(data, width) {
            assert!(width <= 8 && width <= data.len());
            assert!(width == 8 || v < 1u64 << (8 * width));
        }
    }
    if let Ok((v, n)) = read_lenenc_int(data) {
        assert!(n <= data.len() && [1, 3, 4, 9].contains(&n));
        if let Some(v) = v {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, v);
            assert_eq!(out.len(), lenenc_int_len(v));
            assert!(
                out.len() <= n,
                "a shorter form was read than the one written"
            );
            assert_eq!(read_lenenc_int(&out), Ok((Some(v), out.len())));
        }
    }
    if let Ok((s, n)) = read_lenenc_str(data) {
        assert!(n <= data.len());
        if let Some(s) = s {
            assert_eq!(s, &data[n - s.len()..n]);
        }
    }
    if let Ok((s, n)) = read_nul_str(data) {
        assert_eq!(n, s.len() + 1);
        assert_eq!(data[s.len()], 0);
    }
}

fuzz_target!(|data: &[u8]| {
    let (seed, data) = take_u32(data);
    let (limit, data) = take_u8(data);
    let (seq, stream) = take_u8(data);

    data_types(stream);

    if let Some(h) = next_packet(stream) {
        assert!(stream.len() >= HEADER_LEN && h.payload_len <= MAX_PAYLOAD);
    } else {
        assert!(stream.len() < HEADER_LEN);
    }

    // Reassembly, with the limit small enough to matter sometimes.
    let limit = usize::from(limit) * 4;
    match read_payload(stream, seq, limit) {
        Ok(Some(p)) => {
            assert!(p.consumed <= stream.len());
            assert!(p.bytes.len() <= limit);
            let mut again = Vec::new();
            let next = write_payload(&mut again, &p.bytes, seq);
            assert_eq!(next, p.next_seq);
            assert_eq!(
                again,
                &stream[..p.consumed],
                "payload re-frames differently"
            );
            assert_eq!(
                read_payload(&stream[..p.consumed - 1], seq, limit),
                Ok(None)
            );
        }
        Ok(None) | Err(_) => {}
    }

    // Writers: the stream as a payload, framed and read back.
    let mut out = Vec::new();
    let next = write_payload(&mut out, stream, seq);
    let mut out2 = Vec::new();
    assert_eq!(
        put_packet(&mut out2, seq, |o| o.extend_from_slice(stream)),
        next
    );
    assert_eq!(out, out2);
    let p = read_payload(&out, seq, usize::MAX)
        .expect("reads what was written")
        .expect("complete");
    assert_eq!(&p.bytes[..], stream);
    assert_eq!((p.consumed, p.next_seq), (out.len(), next));

    // The relay's scanner.
    let hold_seq = seq;
    let whole = scan(stream, &[stream.len()], hold_seq);
    let cut = scan(stream, &read_sizes(seed, stream.len()), hold_seq);
    assert_eq!(whole.shown, cut.shown, "what is shown depends on the reads");
    assert_eq!(whole.error, cut.error, "failing depends on the reads");
    if whole.error.is_none() {
        assert_eq!(whole.forwarded, cut.forwarded);
        assert_eq!(whole.kept, cut.kept);
        assert_eq!(whole.at_boundary, cut.at_boundary);
        assert_eq!(whole.forwarded + whole.kept.len(), stream.len());
        if let Some(h) = next_packet(&whole.kept) {
            assert!(whole.kept.len() < h.total_len(), "kept a complete packet");
        }
    }
});
