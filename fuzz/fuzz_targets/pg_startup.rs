//! The PostgreSQL start-up decoder, `pg::frontend::decode_startup`, on arbitrary bytes.
//!
//! Invariants: a decoded packet's length is within the protocol's bounds and the input;
//! one byte less is "need more bytes", not an error or another packet; each packet kind
//! re-encodes (`startup_message`, `cancel_request`, `ssl_request`) to bytes that decode
//! to the same packet, byte for byte when the input was in the encoder's own form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_wire::pg::codec::MAX_STARTUP_LEN;
use molt_lms_wire::pg::frontend::{
    cancel_request, decode_startup, ssl_request, startup_message, StartupPacket, PROTOCOL_V3,
};
use molt_lms_wire::pg::ProtocolError;

fuzz_target!(|data: &[u8]| {
    match decode_startup(data) {
        Ok(Some((packet, len))) => {
            assert!((8..=MAX_STARTUP_LEN).contains(&len));
            assert!(len <= data.len());
            assert_eq!(decode_startup(&data[..len - 1]), Ok(None));
            assert_eq!(
                decode_startup(&data[..len]),
                Ok(Some((packet.clone(), len)))
            );
            let encoded = match &packet {
                StartupPacket::SslRequest => ssl_request().to_vec(),
                StartupPacket::GssEncRequest => return,
                StartupPacket::Cancel { pid, secret } => cancel_request(*pid, *secret).to_vec(),
                StartupPacket::Startup { params } => {
                    let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
                    names.sort_unstable();
                    names.dedup();
                    assert_eq!(names.len(), params.len(), "duplicate parameter accepted");
                    assert!(params.iter().all(|(n, _)| !n.is_empty()));
                    startup_message(params)
                }
            };
            assert!(encoded.len() <= len);
            assert_eq!(
                decode_startup(&encoded),
                Ok(Some((packet.clone(), encoded.len())))
            );
            let code = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            let own_form = match packet {
                StartupPacket::Startup { .. } => code == PROTOCOL_V3,
                _ => true,
            };
            if own_form && encoded.len() == len {
                assert_eq!(encoded, &data[..len]);
            }
        }
        Ok(None) => {
            if data.len() >= 4 {
                let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
                assert!(data.len() < len, "complete packet reported as incomplete");
            }
        }
        Err(ProtocolError::DuplicateStartupParameter(name)) => {
            assert!(name.chars().count() <= 64);
        }
        Err(_) => {}
    }
});
