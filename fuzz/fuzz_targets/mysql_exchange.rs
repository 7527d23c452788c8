//! MySQL command/answer tracking: an `Exchange` under arbitrary capabilities driven by an
//! arbitrary sequence of client and server packets.
//!
//! Invariants: a packet it refuses leaves the tracker as it was (the proxy closes the
//! connection then, but must not have acted on half a packet); it is idle exactly when
//! every answered command has been answered; a server packet with nothing outstanding is
//! refused; an answer that ends with a status leaves it as the tracker's status, one
//! that ends without leaves the status as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::{take_u32, take_u8};
use molt_lms_wire::mysql::consts::status::SERVER_STATUS_IN_TRANS;
use molt_lms_wire::mysql::exchange::{ClientStep, Exchange, ServerStep};

fuzz_target!(|data: &[u8]| {
    let (caps, data) = take_u32(data);
    let (mariadb_caps, data) = take_u32(data);
    let (status_lo, data) = take_u8(data);
    let (status_hi, mut ops) = take_u8(data);
    let status = u16::from_le_bytes([status_lo, status_hi]);
    let mut ex = Exchange::new(caps, status).with_mariadb_caps(mariadb_caps);
    // Commands sent and not yet answered, as this side counts them.
    let mut outstanding = 0usize;

    // Each op: a control byte (bit 0: from the server; bit 1 with it: a packet too large
    // to read whole), a length byte, then that many payload bytes (fewer at the end).
    while let Some((&op, rest)) = ops.split_first() {
        let (len, rest) = take_u8(rest);
        let n = usize::from(len).min(rest.len());
        let (payload, rest) = rest.split_at(n);
        ops = rest;

        let before = format!("{ex:?}");
        let status_before = ex.status();
        let from_server = op & 1 != 0;
        if !from_server {
            match ex.from_client(payload) {
                Ok(ClientStep::Command(c)) => {
                    assert_eq!(Some(&c), payload.first());
                    outstanding += 1;
                }
                Ok(ClientStep::Unanswered(c)) => assert_eq!(Some(&c), payload.first()),
                Ok(ClientStep::Data) => assert!(outstanding > 0, "data with no exchange"),
                Err(_) => assert_eq!(format!("{ex:?}"), before, "refusal changed state"),
            }
            assert_eq!(
                ex.status(),
                status_before,
                "a client packet changed the status"
            );
        } else {
            let idle = ex.idle();
            let step = if op & 2 != 0 {
                ex.from_server_large()
            } else {
                ex.from_server(payload)
            };
            match step {
                Ok(step) => {
                    assert!(!idle, "server packet accepted with no command outstanding");
                    if let ServerStep::Done(s) = step {
                        outstanding -= 1;
                        assert_eq!(ex.status(), s.unwrap_or(status_before));
                    }
                }
                Err(_) => assert_eq!(format!("{ex:?}"), before, "refusal changed state"),
            }
        }
        assert_eq!(ex.idle(), outstanding == 0);
        if ex.idle() {
            assert!(!ex.awaiting_prepare());
        }
        assert_eq!(
            ex.in_transaction(),
            ex.status() & SERVER_STATUS_IN_TRANS != 0
        );
    }
});
