use super::*;

fn peer(addr: &str, tag: u16) -> Peer {
    Peer {
        lms_address: addr.to_owned(),
        cancel_tag: Some(tag),
    }
}

#[test]
fn a_key_carries_the_tag_and_the_connection_slot() {
    let p = Peers::with_tag(0x7ABC);
    let pid = p.key_pid(0x1_2345);
    assert!(pid > 0);
    assert_eq!(Peers::tag_of(pid), 0x7ABC);
    assert_eq!(Peers::slot_of(pid), 0x2345);
    assert!(p.owns(pid));
    assert!(!Peers::with_tag(1).owns(pid));
    // The tag is 15 bits: the id stays positive even for the highest tag.
    assert!(Peers::with_tag(0xFFFF).key_pid(0xFFFF) > 0);
}

#[test]
fn only_peers_with_the_keys_tag_are_asked_and_never_itself() {
    let p = Peers::with_tag(1);
    p.set(vec![
        peer("a:1", 7),
        peer("b:1", 8),
        peer("c:1", 7),
        peer("me:1", 7),
    ]);
    let pid = Peers::with_tag(7).key_pid(3);
    assert_eq!(
        p.owners_of(pid, "me:1"),
        vec!["a:1".to_owned(), "c:1".to_owned()]
    );
    assert!(p
        .owners_of(Peers::with_tag(9).key_pid(3), "me:1")
        .is_empty());
}
