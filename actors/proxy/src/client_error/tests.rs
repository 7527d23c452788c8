use super::*;
use std::collections::HashSet;

#[test]
fn every_kind_has_its_own_label() {
    let labels: HashSet<_> = ClientErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(labels.len(), ClientErrorKind::ALL.len());
    assert!(labels
        .iter()
        .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
}

#[test]
fn the_client_sees_only_the_message() {
    let e = ClientError::new(ClientErrorKind::BackendLost, "lost the target");
    assert_eq!(e.to_string(), "lost the target");
}
