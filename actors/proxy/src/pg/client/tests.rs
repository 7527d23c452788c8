use super::*;

#[test]
fn affected_rows_reads_the_last_number_of_a_command_tag() {
    assert_eq!(affected_rows("INSERT 0 5"), 5);
    assert_eq!(affected_rows("UPDATE 2"), 2);
    assert_eq!(affected_rows("DELETE 0"), 0);
    assert_eq!(affected_rows("CREATE TABLE"), 0);
    assert_eq!(affected_rows(""), 0);
}

#[test]
fn parameter_types_reads_each_oid_and_survives_truncation() {
    let mut body = 2i16.to_be_bytes().to_vec();
    body.extend_from_slice(&23u32.to_be_bytes());
    body.extend_from_slice(&25u32.to_be_bytes());
    assert_eq!(parameter_types(&body), vec![23, 25]);
    assert_eq!(parameter_types(&body[..7]), vec![23]);
    assert_eq!(parameter_types(&[]), Vec::<u32>::new());
    assert_eq!(parameter_types(&(-3i16).to_be_bytes()), Vec::<u32>::new());
}
