use super::*;

fn packets(payload: &[u8], seq: u8) -> Vec<u8> {
    let mut out = Vec::new();
    write_payload(&mut out, payload, seq);
    out
}

/// `(payload length, seq)` of each packet in `buf`, as a relay would walk them.
fn walk(mut buf: &[u8]) -> Vec<(usize, u8)> {
    let mut seen = Vec::new();
    while let Some(h) = next_packet(buf) {
        seen.push((h.payload_len, h.seq));
        buf = &buf[h.total_len()..];
    }
    assert!(buf.is_empty(), "trailing bytes");
    seen
}

#[test]
fn header_is_length_le24_then_sequence_id() {
    assert_eq!(next_packet(&[1, 0, 0]), None);
    let h = next_packet(&[0x03, 0x02, 0x01, 7, 0xAA]).expect("header");
    assert_eq!(
        h,
        PacketHeader {
            payload_len: 0x01_0203,
            seq: 7
        }
    );
    assert_eq!(h.total_len(), 0x01_0203 + 4);
    assert!(!h.continues());
    assert!(next_packet(&[0xFF, 0xFF, 0xFF, 0])
        .expect("header")
        .continues());
}

#[test]
fn small_payload_round_trips_borrowed() {
    let mut buf = packets(b"\x03select 1", 0);
    assert_eq!(buf, b"\x09\0\0\0\x03select 1");
    buf.extend(packets(b"\x0e", 0)); // a second command follows
    let p = read_payload(&buf, 0, 1024)
        .expect("valid")
        .expect("complete");
    assert!(matches!(p.bytes, Cow::Borrowed(_)));
    assert_eq!(&*p.bytes, b"\x03select 1");
    assert_eq!(p.consumed, 13);
    assert_eq!(p.next_seq, 1);
    let p = read_payload(&buf[13..], 0, 1024)
        .expect("valid")
        .expect("complete");
    assert_eq!(&*p.bytes, b"\x0e");
}

#[test]
fn empty_payload_is_one_empty_packet() {
    let buf = packets(b"", 3);
    assert_eq!(buf, [0, 0, 0, 3]);
    let p = read_payload(&buf, 3, 0).expect("valid").expect("complete");
    assert!(p.bytes.is_empty());
    assert_eq!((p.consumed, p.next_seq), (4, 4));
}

#[test]
fn payload_of_exactly_max_needs_an_empty_trailing_packet() {
    let payload = vec![0x5A; MAX_PAYLOAD];
    let buf = packets(&payload, 0);
    assert_eq!(walk(&buf), [(MAX_PAYLOAD, 0), (0, 1)]);
    assert_eq!(buf.len(), MAX_PAYLOAD + 2 * HEADER_LEN);
    let p = read_payload(&buf, 0, MAX_PAYLOAD)
        .expect("valid")
        .expect("complete");
    assert_eq!(p.bytes.len(), MAX_PAYLOAD);
    assert_eq!(&*p.bytes, &payload[..]);
    assert_eq!((p.consumed, p.next_seq), (buf.len(), 2));
    // Without the empty packet the payload is not complete yet.
    assert_eq!(
        read_payload(&buf[..buf.len() - 4], 0, MAX_PAYLOAD),
        Ok(None)
    );
}

#[test]
fn payloads_just_over_and_at_twice_max_split_as_documented() {
    let payload: Vec<u8> = (0..MAX_PAYLOAD + 1).map(|i| i as u8).collect();
    let buf = packets(&payload, 0);
    assert_eq!(walk(&buf), [(MAX_PAYLOAD, 0), (1, 1)]);
    let p = read_payload(&buf, 0, usize::MAX)
        .expect("valid")
        .expect("complete");
    assert!(matches!(p.bytes, Cow::Owned(_)));
    assert_eq!(&*p.bytes, &payload[..]);

    let payload = vec![1u8; 2 * MAX_PAYLOAD];
    let buf = packets(&payload, 0);
    assert_eq!(walk(&buf), [(MAX_PAYLOAD, 0), (MAX_PAYLOAD, 1), (0, 2)]);
    let p = read_payload(&buf, 0, usize::MAX)
        .expect("valid")
        .expect("complete");
    assert_eq!(p.bytes.len(), 2 * MAX_PAYLOAD);
    assert_eq!(p.next_seq, 3);
}

#[test]
fn incomplete_input_asks_for_more_at_every_cut() {
    let payload = vec![9u8; MAX_PAYLOAD + 10];
    let buf = packets(&payload, 0);
    let second = MAX_PAYLOAD + HEADER_LEN;
    for cut in [
        0,
        1,
        3,
        4,
        5,
        second - 1,
        second,
        second + 3,
        second + 4,
        buf.len() - 1,
    ] {
        assert_eq!(
            read_payload(&buf[..cut], 0, usize::MAX),
            Ok(None),
            "cut {cut}"
        );
    }
    assert!(read_payload(&buf, 0, usize::MAX).expect("valid").is_some());
}

#[test]
fn sequence_ids_wrap_at_256() {
    let payload = vec![0u8; MAX_PAYLOAD + 2];
    let mut buf = Vec::new();
    let next = write_payload(&mut buf, &payload, 255);
    assert_eq!(next, 1);
    assert_eq!(walk(&buf), [(MAX_PAYLOAD, 255), (2, 0)]);
    let p = read_payload(&buf, 255, usize::MAX)
        .expect("valid")
        .expect("complete");
    assert_eq!(p.next_seq, 1);
    assert_eq!(
        read_payload(&packets(b"x", 255), 255, 8).map(|p| p.map(|p| p.next_seq)),
        Ok(Some(0))
    );
}

#[test]
fn sequence_mismatch_is_an_error_as_soon_as_the_header_shows_it() {
    assert_eq!(
        read_payload(&packets(b"abc", 2), 1, 1024),
        Err(MysqlError::OutOfOrder {
            expected: 1,
            got: 2
        })
    );
    // Header only: the payload has not arrived, the id is already wrong.
    assert_eq!(
        read_payload(&[3, 0, 0, 9], 0, 1024),
        Err(MysqlError::OutOfOrder {
            expected: 0,
            got: 9
        })
    );
    // A continuation packet that skips an id.
    let mut buf = packets(&vec![0u8; MAX_PAYLOAD + 1], 0);
    buf[MAX_PAYLOAD + HEADER_LEN + 3] = 5;
    assert_eq!(
        read_payload(&buf, 0, usize::MAX),
        Err(MysqlError::OutOfOrder {
            expected: 1,
            got: 5
        })
    );
}

#[test]
fn payloads_over_the_limit_are_refused_from_their_header() {
    // 1000 bytes announced, none arrived yet.
    assert_eq!(
        read_payload(&[0xE8, 0x03, 0, 0], 0, 999),
        Err(MysqlError::PayloadTooLarge {
            len: 1000,
            limit: 999
        })
    );
    assert_eq!(read_payload(&[0xE8, 0x03, 0, 0], 0, 1000), Ok(None));
    // A continued payload is refused once the total passes the limit.
    let buf = packets(&vec![0u8; MAX_PAYLOAD + 1], 0);
    assert_eq!(
        read_payload(&buf, 0, MAX_PAYLOAD),
        Err(MysqlError::PayloadTooLarge {
            len: MAX_PAYLOAD + 1,
            limit: MAX_PAYLOAD
        })
    );
}

#[test]
fn put_packet_frames_in_place_and_splits_large_bodies() {
    let mut out = vec![0xEE];
    let next = put_packet(&mut out, 4, |o| o.extend_from_slice(b"\x01\0\0\0"));
    assert_eq!(next, 5);
    assert_eq!(out, [0xEE, 4, 0, 0, 4, 1, 0, 0, 0]);

    let mut out = Vec::new();
    let next = put_packet(&mut out, 0, |o| o.resize(o.len() + MAX_PAYLOAD, 7));
    assert_eq!(next, 2);
    assert_eq!(walk(&out), [(MAX_PAYLOAD, 0), (0, 1)]);
}

#[test]
fn reassembly_survives_garbage() {
    let mut x: u64 = 1;
    for _ in 0..20_000 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let len = (x >> 59) as usize; // 0..32 bytes
        let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 56)) as u8).collect();
        let seq = (x >> 40) as u8;
        if let Ok(Some(p)) = read_payload(&bytes, seq, 1 << 10) {
            assert!(p.consumed <= bytes.len());
            assert!(p.bytes.len() < p.consumed);
        }
    }
}
