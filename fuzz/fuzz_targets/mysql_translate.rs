//! Serving MySQL clients from a PostgreSQL-protocol database: PostgreSQL binary values of
//! every mapped type (and arrays of them) decoded, then written as MySQL text and binary
//! values; `COM_STMT_EXECUTE` payloads decoded into text parameters; statement texts
//! rewritten (`?` to `$n`, backticks) and split.
//!
//! Invariants: nothing panics; a value that decodes writes a binary value for its own
//! column type or a clear error, and a binary row leaves the buffer untouched on error;
//! a rewrite counts no more placeholders than the text has `?`s; a split never yields an
//! empty statement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lms_fuzz::take_u32;
use molt_lms_wire::mysql::translate::types::{column_type, ARRAYS, TABLE};
use molt_lms_wire::mysql::translate::{lexical, params, pg_binary, pg_text, values};

fuzz_target!(|data: &[u8]| {
    let (pick, rest) = take_u32(data);
    let oids: Vec<u32> = TABLE
        .iter()
        .map(|(oid, _, _)| *oid)
        .chain(ARRAYS.iter().map(|(oid, _)| *oid))
        .collect();
    let oid = oids[pick as usize % oids.len()];
    let _ = pg_text::to_mysql(oid, rest);
    if let (Ok(v), Some(t)) = (pg_binary::decode(oid, rest), column_type(oid)) {
        let mut text = Vec::new();
        values::put_text(&mut text, &v);
        let mut bin = Vec::new();
        let _ = values::put_binary(&mut bin, &t, &v);
        let mut row = vec![7u8];
        if values::encode_binary_row(&mut row, &[t], &[Some(v)]).is_err() {
            assert_eq!(row, vec![7u8], "a failed row leaves the buffer as it was");
        }
    }

    let mut bound = Vec::new();
    let count = (pick >> 24) as usize % 8;
    let _ = params::decode_execute(rest, count, &mut bound, &mut |i| {
        (i % 3 == 0).then(|| vec![b'x'; i])
    });
    let _ = params::decode_long_data(rest);

    if let Ok(sql) = std::str::from_utf8(rest) {
        let t = lexical::translate(sql);
        assert!(t.params <= sql.matches('?').count());
        for piece in lexical::split_statements(sql) {
            assert!(!piece.trim().is_empty());
        }
    }
});
