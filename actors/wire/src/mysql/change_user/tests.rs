use super::*;
use crate::mysql::consts::capability::{CLIENT_CONNECT_ATTRS, CLIENT_PROTOCOL_41};

const CAPS: u32 = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;

/// A COM_CHANGE_USER as libmariadb sends it.
fn packet(user: &str, proof: &[u8], db: &str, method: &str, attrs: &[u8]) -> Vec<u8> {
    let mut p = vec![COM_CHANGE_USER];
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(proof.len() as u8);
    p.extend_from_slice(proof);
    p.extend_from_slice(db.as_bytes());
    p.push(0);
    p.extend_from_slice(&33u16.to_le_bytes());
    p.extend_from_slice(method.as_bytes());
    p.push(0);
    p.extend_from_slice(attrs);
    p
}

#[test]
fn the_user_database_and_method_are_read_and_the_method_masked_in_place() {
    let mut p = packet(
        "app",
        &[7; 20],
        "shop",
        "mysql_native_password",
        b"\x03\x01a\x01b",
    );
    let len = p.len();
    let cu = ChangeUser::decode(&p, CAPS | CLIENT_CONNECT_ATTRS).expect("decode");
    assert_eq!((cu.user.as_str(), cu.database.as_str()), ("app", "shop"));
    assert!(cu.mask_method(&mut p));
    assert_eq!(p.len(), len, "same size");
    let again = ChangeUser::decode(&p, CAPS).expect("still a COM_CHANGE_USER");
    assert_eq!(again.user, "app");
    let name = &p[cu.method.clone()];
    assert_eq!(name, b"molt_lms_asks_the_ser");
    assert!(
        p.ends_with(b"\0\x03\x01a\x01b"),
        "what follows is untouched"
    );
}

#[test]
fn a_packet_without_a_method_is_read_and_left_as_it_is() {
    // Without CLIENT_PLUGIN_AUTH, and a client that stops after the database.
    let mut p = packet("app", &[1; 20], "", "ignored", b"");
    let cu = ChangeUser::decode(&p, CAPS & !CLIENT_PLUGIN_AUTH).expect("decode");
    let before = p.clone();
    assert!(!cu.mask_method(&mut p));
    assert_eq!(p, before);
    let short = [COM_CHANGE_USER, b'u', 0, 0];
    let cu = ChangeUser::decode(&short, CAPS).expect("decode");
    assert_eq!((cu.user.as_str(), cu.database.as_str()), ("u", ""));
}

#[test]
fn truncated_and_foreign_packets_are_errors_never_panics() {
    let p = packet("app", &[7; 20], "shop", "mysql_native_password", b"");
    for end in 0..p.len() - 1 {
        // Cut anywhere before the method's terminator: an error or a shorter read.
        let _ = ChangeUser::decode(&p[..end], CAPS);
    }
    assert!(ChangeUser::decode(&p[..5], CAPS).is_err());
    let mut other = p.clone();
    other[0] = 0x03;
    assert!(ChangeUser::decode(&other, CAPS).is_err());
    // A proof length past the end.
    assert!(ChangeUser::decode(&[COM_CHANGE_USER, b'u', 0, 200, 1, 2], CAPS).is_err());
}
