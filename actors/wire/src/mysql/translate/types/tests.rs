use super::*;

fn t(oid: u32) -> ColumnType {
    column_type(oid).expect("mapped type")
}

#[test]
fn integers_map_to_their_widths_with_num_and_binary_charset() {
    let cases = [
        (oid::BOOL, MYSQL_TYPE_TINY, 1),
        (oid::INT2, MYSQL_TYPE_SHORT, 6),
        (oid::INT4, MYSQL_TYPE_LONG, 11),
        (oid::INT8, MYSQL_TYPE_LONGLONG, 20),
    ];
    for (pg, code, length) in cases {
        let ct = t(pg);
        assert_eq!(ct.code, code, "oid {pg}");
        assert_eq!(ct.length, length, "oid {pg}");
        assert_eq!(ct.flags, BINARY_FLAG | NUM_FLAG, "oid {pg}");
        assert_eq!(ct.charset, 63, "oid {pg}");
        assert_eq!(ct.decimals, 0, "oid {pg}");
    }
}

#[test]
fn oid_is_an_unsigned_long() {
    let ct = t(oid::OID);
    assert_eq!(ct.code, MYSQL_TYPE_LONG);
    assert_eq!(ct.flags, BINARY_FLAG | NUM_FLAG | UNSIGNED_FLAG);
}

#[test]
fn numeric_and_floats_have_no_fixed_scale() {
    for (pg, code) in [
        (oid::NUMERIC, MYSQL_TYPE_NEWDECIMAL),
        (oid::FLOAT4, MYSQL_TYPE_FLOAT),
        (oid::FLOAT8, MYSQL_TYPE_DOUBLE),
    ] {
        let ct = t(pg);
        assert_eq!(ct.code, code, "oid {pg}");
        assert_eq!(ct.decimals, NOT_FIXED_DEC, "oid {pg}");
        assert_ne!(ct.flags & NUM_FLAG, 0, "oid {pg}");
        assert_eq!(ct.charset, 63, "oid {pg}");
    }
}

#[test]
fn character_types_are_utf8mb4_var_strings() {
    for pg in [
        oid::TEXT,
        oid::VARCHAR,
        oid::BPCHAR,
        oid::NAME,
        oid::CHAR,
        oid::UNKNOWN,
        oid::UUID,
        oid::INTERVAL,
    ] {
        let ct = t(pg);
        assert_eq!(ct.code, MYSQL_TYPE_VAR_STRING, "oid {pg}");
        assert_eq!(ct.charset, 45, "oid {pg}");
        assert_eq!(ct.flags, 0, "oid {pg}");
    }
    assert_eq!(t(oid::UUID).length, 36);
    assert_eq!(t(oid::TEXT).length, u32::MAX);
}

#[test]
fn bytea_is_a_binary_blob_and_json_is_json() {
    let bytea = t(oid::BYTEA);
    assert_eq!(bytea.code, MYSQL_TYPE_BLOB);
    assert_eq!(bytea.flags, BINARY_FLAG | BLOB_FLAG);
    assert_eq!(bytea.charset, 63);
    for pg in [oid::JSON, oid::JSONB] {
        let ct = t(pg);
        assert_eq!(ct.code, MYSQL_TYPE_JSON, "oid {pg}");
        assert_eq!(ct.charset, 63, "oid {pg}");
    }
}

#[test]
fn dates_and_times() {
    let cases = [
        (oid::DATE, MYSQL_TYPE_DATE, 0),
        (oid::TIME, MYSQL_TYPE_TIME, 6),
        (oid::TIMESTAMP, MYSQL_TYPE_DATETIME, 6),
        (oid::TIMESTAMPTZ, MYSQL_TYPE_TIMESTAMP, 6),
    ];
    for (pg, code, decimals) in cases {
        let ct = t(pg);
        assert_eq!(ct.code, code, "oid {pg}");
        assert_eq!(ct.decimals, decimals, "oid {pg}");
        assert_eq!(ct.charset, 63, "oid {pg}");
        assert_eq!(ct.flags, BINARY_FLAG, "oid {pg}");
    }
}

#[test]
fn every_array_is_its_text() {
    for &(array, element) in ARRAYS {
        assert_eq!(column_type(array), Some(ARRAY), "oid {array}");
        assert!(column_type(element).is_some(), "element {element}");
        assert_eq!(array_element(array), Some(element));
    }
    for array in [
        1005, 1007, 1016, 1009, 1015, 1000, 1021, 1022, 1231, 1182, 1115, 1185, 2951, 199, 3807,
        1001,
    ] {
        assert_eq!(column_type(array), Some(ARRAY), "oid {array}");
    }
    assert_eq!(ARRAY.code, MYSQL_TYPE_VAR_STRING);
    assert_eq!(ARRAY.charset, 45);
}

#[test]
fn unmapped_types_are_none() {
    // point, point[], money, the array of unknown that does not exist.
    for pg in [600, 1017, 790, 0, u32::MAX] {
        assert_eq!(column_type(pg), None, "oid {pg}");
        assert_eq!(array_element(pg), None, "oid {pg}");
    }
}

#[test]
fn table_has_no_duplicates_and_the_doc_lists_every_row() {
    let doc = include_str!("../types.rs");
    for (i, (pg, name, ct)) in TABLE.iter().enumerate() {
        assert!(
            TABLE.iter().skip(i + 1).all(|(o, _, _)| o != pg),
            "duplicate {pg}"
        );
        let row = doc
            .lines()
            .find(|l| l.starts_with("//! |") && l.contains(&format!("({pg})")))
            .unwrap_or_else(|| panic!("doc row for {name}"));
        assert!(row.contains(&format!("({})", ct.code)), "{name}: {row}");
        assert!(
            row.contains(&format!(
                "| {} | {} | {} |",
                ct.charset, ct.length, ct.decimals
            )),
            "{name}: {row}"
        );
    }
}

#[test]
fn column_definition_layout() {
    let mut out = Vec::new();
    encode_column_definition(&mut out, "db", "t", "id", &t(oid::INT4));
    let expected: Vec<u8> = [
        &[3][..],
        b"def",
        &[2],
        b"db",
        &[1],
        b"t",
        &[1],
        b"t",
        &[2],
        b"id",
        &[2],
        b"id",
        &[0x0c],
        &[63, 0],
        &[11, 0, 0, 0],
        &[MYSQL_TYPE_LONG],
        &(BINARY_FLAG | NUM_FLAG).to_le_bytes(),
        &[0],
        &[0, 0],
    ]
    .concat();
    assert_eq!(out, expected);
}

#[test]
fn column_definition_with_empty_names_and_unbounded_length() {
    let mut out = vec![0xAA];
    encode_column_definition(&mut out, "", "", "", &t(oid::TEXT));
    let expected: Vec<u8> = [
        &[0xAA, 3][..],
        b"def",
        &[0, 0, 0, 0, 0],
        &[
            0x0c,
            45,
            0,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            MYSQL_TYPE_VAR_STRING,
            0,
            0,
            0,
            0,
            0,
        ],
    ]
    .concat();
    assert_eq!(out, expected);
}
