use super::*;

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    put_message(&mut v, tag, |o| o.extend_from_slice(body));
    v
}

#[test]
fn header_rejects_lengths_below_four_and_above_the_limit() {
    assert_eq!(header(b"Q\0\0\0"), Ok(None));
    assert_eq!(header(b"Q\0\0\0\x03"), Err(ProtocolError::BadLength(3)));
    assert!(header(&[b'Q', 0x7f, 0xff, 0xff, 0xff]).is_err());
    assert_eq!(header(b"Q\0\0\0\x04"), Ok(Some((b'Q', 5))));
}

#[test]
fn scanner_streams_large_messages_and_waits_for_wanted_bodies() {
    let mut stream = msg(b'D', &[7u8; 100]);
    stream.extend(msg(b'Z', b"I"));
    let mut sc = FrameScanner::default();
    let mut seen = Vec::new();
    // First 50 bytes: the DataRow header is seen, its body streams through.
    let s = sc
        .scan(
            &stream[..50],
            |t| {
                if t == b'Z' {
                    Want::Whole { max: 100 }
                } else {
                    Want::Header
                }
            },
            |t, b, _| {
                seen.push((t, b.map(|b| b.to_vec())));
                Ok(ScanControl::Continue)
            },
        )
        .expect("scan");
    assert_eq!(s.forward, 50);
    assert!(!sc.at_boundary());
    // The rest, split inside the Z message: Z waits until complete.
    let rest = &stream[50..stream.len() - 1];
    let s = sc
        .scan(
            rest,
            |t| {
                if t == b'Z' {
                    Want::Whole { max: 100 }
                } else {
                    Want::Header
                }
            },
            |t, b, _| {
                seen.push((t, b.map(|b| b.to_vec())));
                Ok(ScanControl::Continue)
            },
        )
        .expect("scan");
    // 105-byte DataRow: 55 bytes of it remain; the 6-byte Z is one byte short.
    assert_eq!(s.forward, 55);
    assert!(sc.at_boundary());
    let tail = &stream[105..];
    let s = sc
        .scan(
            tail,
            |t| {
                if t == b'Z' {
                    Want::Whole { max: 100 }
                } else {
                    Want::Header
                }
            },
            |t, b, _| {
                seen.push((t, b.map(|b| b.to_vec())));
                Ok(ScanControl::Continue)
            },
        )
        .expect("scan");
    assert_eq!(s.forward, tail.len());
    assert_eq!(seen, vec![(b'D', None), (b'Z', Some(b"I".to_vec()))]);
}

#[test]
fn scanner_holds_before_a_message_and_shows_it_again() {
    let mut stream = msg(b'Q', b"select 1\0");
    stream.extend(msg(b'Q', b"select 2\0"));
    let mut sc = FrameScanner::default();
    let mut n = 0;
    let s = sc
        .scan(
            &stream,
            |_| Want::Whole { max: 100 },
            |_, _, _| {
                n += 1;
                Ok(if n == 2 {
                    ScanControl::HoldBefore
                } else {
                    ScanControl::Continue
                })
            },
        )
        .expect("scan");
    assert_eq!(
        s,
        Scan {
            forward: 14,
            held: true
        }
    );
    let s = sc
        .scan(
            &stream[14..],
            |_| Want::Whole { max: 100 },
            |_, b, whole| {
                assert!(whole);
                assert_eq!(b, Some(&b"select 2\0"[..]));
                Ok(ScanControl::Continue)
            },
        )
        .expect("scan");
    assert_eq!(
        s,
        Scan {
            forward: 14,
            held: false
        }
    );
}

#[test]
fn a_long_body_is_shown_by_its_prefix_and_streams() {
    let mut stream = msg(b'Q', &[b'x'; 1000]);
    stream.extend(msg(b'Q', b"short\0"));
    let want = |_| Want::Prefix(16);
    let mut sc = FrameScanner::default();
    let mut seen = Vec::new();
    let mut record = |t: u8, b: Option<&[u8]>, whole: bool| {
        seen.push((t, b.map(<[u8]>::len), whole));
        Ok(ScanControl::Continue)
    };
    // Fewer than 16 body bytes: nothing is decided yet.
    let s = sc.scan(&stream[..10], want, &mut record).expect("scan");
    assert_eq!(s.forward, 0);
    // The prefix is in: shown, and everything received goes on.
    let s = sc.scan(&stream[..300], want, &mut record).expect("scan");
    assert_eq!(s.forward, 300);
    let s = sc.scan(&stream[300..], want, &mut record).expect("scan");
    assert_eq!(s.forward, stream.len() - 300);
    assert_eq!(seen, vec![(b'Q', Some(16), false), (b'Q', Some(6), true)]);
}

#[test]
fn a_whole_body_past_its_limit_is_refused_from_the_header() {
    let stream = msg(b'P', &[0; 101]);
    let mut sc = FrameScanner::default();
    let e = sc
        .scan(
            &stream[..5],
            |_| Want::Whole { max: 100 },
            |_, _, _| Ok(ScanControl::Continue),
        )
        .expect_err("too large");
    assert_eq!(
        e,
        ProtocolError::TooLarge {
            tag: b'P',
            len: 101,
            max: 100
        }
    );
    assert!(e.to_string().starts_with("P message of 101 bytes"), "{e}");
}

#[test]
fn cstr_needs_a_terminator() {
    assert_eq!(cstr(b"abc\0def"), Some(("abc", 4)));
    assert_eq!(cstr(b"abc"), None);
}
