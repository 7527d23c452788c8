use super::*;

#[test]
fn client_ids_are_the_proxys_and_map_to_the_servers() {
    let mut s = Statements::default();
    let a = s.prepared(700);
    let b = s.prepared(701);
    assert_eq!((a, b), (1, 2));
    assert_eq!(s.server_id(a), 700);
    assert_eq!(s.server_id(b), 701);
    s.closed(a);
    assert_eq!(s.server_id(a), 0, "a closed id reaches no statement");
    assert_eq!(s.server_id(99), 0, "nor does one never given");
    assert_eq!(s.server_id(LAST_PREPARED), LAST_PREPARED);
    assert_eq!(s.len(), 1);
    s.clear();
    assert_eq!(s.server_id(b), 0);
}

#[test]
fn ids_skip_zero_the_pipeline_marker_and_ids_in_use() {
    let mut s = Statements {
        last: u32::MAX - 2,
        ..Statements::default()
    };
    s.ids.insert(1, 5);
    assert_eq!(s.prepared(10), u32::MAX - 1);
    assert_eq!(s.prepared(11), 2, "skips u32::MAX, 0 and 1 (in use)");
}

#[test]
fn ids_are_read_and_written_in_place() {
    let mut p = vec![23, 1, 0, 0, 0, 0, 1, 0, 0, 0];
    assert_eq!(read_id(&p, 1), Some(1));
    write_id(&mut p, 1, 0x0102_0304);
    assert_eq!(&p[1..5], &[4, 3, 2, 1]);
    assert_eq!(read_id(&p[..3], 1), None);
}

#[test]
fn an_id_is_reserved_when_the_prepare_is_sent_and_kept_or_freed_by_its_answer() {
    let mut s = Statements::default();
    let first = s.reserve();
    let second = s.reserve();
    assert_eq!((first, second), (1, 2));
    // Answers come in order: the first prepare fails, the second succeeds.
    s.refused();
    assert_eq!(
        s.prepared(900),
        2,
        "the second prepare keeps its reserved id"
    );
    assert_eq!(s.server_id(2), 900);
    assert_eq!(s.server_id(1), 0);
    // Without a reservation (a relay that frames nothing ahead), an id is allocated.
    assert_eq!(s.prepared(901), 3);
}
