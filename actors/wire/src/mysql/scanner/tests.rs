use super::*;
use crate::mysql::packet::{write_payload, MAX_PAYLOAD};

fn packets(payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        write_payload(&mut out, p, 0);
    }
    out
}

/// Scans `buf` fed in pieces of `step` bytes, as reads would deliver it; returns what was
/// shown (`W` + whole bytes or `L` + length) and the bytes forwarded.
fn feed(buf: &[u8], step: usize) -> (Vec<String>, usize) {
    let mut s = PacketScanner::default();
    let (mut seen, mut pending, mut forwarded) = (Vec::new(), Vec::new(), 0);
    for chunk in buf.chunks(step) {
        pending.extend_from_slice(chunk);
        let scan = s
            .scan(&mut pending, |_, shown| {
                seen.push(match shown {
                    Shown::Whole(b) => format!("W{}", String::from_utf8_lossy(b)),
                    Shown::Large { len, .. } => format!("L{len}"),
                });
                Ok(Control::Continue)
            })
            .expect("ok");
        forwarded += scan.forward;
        pending.drain(..scan.forward);
    }
    (seen, forwarded)
}

#[test]
fn small_payloads_are_shown_whole_however_the_reads_cut_them() {
    let buf = packets(&[b"\x03select 1", b"\x0e", b""]);
    for step in [1, 2, 3, 5, 7, buf.len()] {
        let (seen, fwd) = feed(&buf, step);
        assert_eq!(seen, ["W\x03select 1", "W\x0e", "W"], "step {step}");
        assert_eq!(fwd, buf.len());
    }
}

#[test]
fn a_large_payload_is_shown_by_its_prefix_and_streamed() {
    let big = vec![b'x'; WHOLE_LIMIT + 1];
    let buf = packets(&[&big, b"\x0e"]);
    for step in [1000, 4096, buf.len()] {
        let (seen, fwd) = feed(&buf, step);
        assert_eq!(seen, [format!("L{}", WHOLE_LIMIT + 1), "W\x0e".into()]);
        assert_eq!(fwd, buf.len());
    }
    // Streaming: with only the header and prefix in, all of it goes on at once.
    let mut s = PacketScanner::default();
    let scan = s
        .scan(&mut buf.clone()[..HEADER_LEN + PREFIX_LEN], |_, _| {
            Ok(Control::Continue)
        })
        .expect("ok");
    assert_eq!(scan.forward, HEADER_LEN + PREFIX_LEN);
    assert!(!s.at_boundary());
}

#[test]
fn continuation_packets_belong_to_their_payload() {
    let huge = vec![7u8; MAX_PAYLOAD + 10];
    let buf = packets(&[&huge, b"\x01"]);
    let (seen, fwd) = feed(&buf, 1 << 20);
    assert_eq!(seen, [format!("L{MAX_PAYLOAD}"), "W\x01".into()]);
    assert_eq!(fwd, buf.len());
}

#[test]
fn a_continuation_out_of_order_is_refused() {
    let mut buf = Vec::new();
    write_payload(&mut buf, &vec![7u8; MAX_PAYLOAD + 10], 0);
    buf[HEADER_LEN + MAX_PAYLOAD + 3] = 5; // the second packet's id should be 1
    let mut s = PacketScanner::default();
    let err = s
        .scan(&mut buf, |_, _| Ok(Control::Continue))
        .expect_err("an error");
    assert_eq!(
        err,
        MysqlError::OutOfOrder {
            expected: 1,
            got: 5
        }
    );
}

#[test]
fn hold_before_stops_ahead_of_the_payload_and_shows_it_again() {
    let mut buf = packets(&[b"\x0e", b"\x03select 2"]);
    let mut s = PacketScanner::default();
    let mut calls = 0;
    let scan = s
        .scan(&mut buf, |_, shown| {
            calls += 1;
            Ok(if shown.bytes().starts_with(b"\x03") {
                Control::HoldBefore
            } else {
                Control::Continue
            })
        })
        .expect("ok");
    assert_eq!(calls, 2);
    assert_eq!(
        scan,
        Scan {
            forward: HEADER_LEN + 1,
            held: true
        }
    );
    assert!(s.at_boundary());
    let scan = s
        .scan(&mut buf[scan.forward..], |_, shown| {
            assert_eq!(shown.bytes(), b"\x03select 2");
            Ok(Control::Continue)
        })
        .expect("ok");
    assert_eq!(scan.forward, buf.len() - HEADER_LEN - 1);
}

#[test]
fn a_callback_error_stops_the_scan() {
    let mut buf = packets(&[b"\x99"]);
    let mut s = PacketScanner::default();
    let err = s
        .scan(&mut buf, |_, _| Err(MysqlError::Malformed("command")))
        .expect_err("an error");
    assert_eq!(err, MysqlError::Malformed("command"));
}
