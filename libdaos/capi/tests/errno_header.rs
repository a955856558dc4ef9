//! `include/daos_errno.h` lists the same error codes as the Rust table
//! (`daos_types::Der::ALL`): same names, same order, same descriptions, and values that
//! follow from the range bases — so C programs that expand `D_FOREACH_GURT_ERR` /
//! `D_FOREACH_DAOS_ERR` (pydaos builds its error table that way) agree with `d_errstr`
//! and `d_errdesc`.

use daos_types::der::DER_UNKNOWN;
use daos_types::Der;

/// One `ACTION(name, "description")` row of an X-macro.
#[derive(Debug, PartialEq)]
struct Row {
    name: String,
    desc: String,
}

fn header() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/daos_errno.h");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The body of `#define <name>(ACTION)`: its lines up to the first not continued by `\`.
fn macro_body(text: &str, name: &str) -> String {
    let start = format!("#define {name}(ACTION)");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&start));
    let mut body = String::new();
    let first = lines.next().unwrap_or_else(|| panic!("{start} not found"));
    let mut continued = first.trim_end().ends_with('\\');
    while continued {
        let line = lines.next().expect("macro ends after a continuation");
        continued = line.trim_end().ends_with('\\');
        body.push_str(line.trim_end().trim_end_matches('\\'));
        body.push('\n');
    }
    body
}

/// Parses a C string literal at the start of `s`; returns its value and the rest.
fn string_literal(s: &str) -> (String, &str) {
    let s = s.trim_start();
    assert!(
        s.starts_with('"'),
        "description is not a string literal: {s:.40}"
    );
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let value = String::from_utf8(out).expect("description is UTF-8");
                return (value, &s[i + 1..]);
            }
            b'\\' => {
                let escaped = match bytes.get(i + 1) {
                    Some(b'"') => b'"',
                    Some(b'\\') => b'\\',
                    Some(b'n') => b'\n',
                    other => panic!("unsupported escape in description: {other:?}"),
                };
                out.push(escaped);
                i += 2;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    panic!("unterminated string literal");
}

/// The `ACTION(name, "description")` rows of an X-macro body, in order.
fn rows(body: &str) -> Vec<Row> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("ACTION(") {
        let after = &rest[at + "ACTION(".len()..];
        let comma = after.find(',').expect("ACTION row without a comma");
        let name = after[..comma].trim().to_string();
        let (desc, tail) = string_literal(&after[comma + 1..]);
        let tail = tail.trim_start();
        assert!(
            tail.starts_with(')'),
            "row {name} does not end after its description"
        );
        out.push(Row { name, desc });
        rest = &tail[1..];
    }
    out
}

/// The bases of `D_FOREACH_ERR_RANGE`: `ACTION(GURT, 1000)`, `ACTION(DAOS, 2000)`.
fn range_bases(text: &str) -> Vec<(String, i32)> {
    let body = macro_body(text, "D_FOREACH_ERR_RANGE");
    body.split("ACTION(")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find(')').expect("range row without ')'")];
            let (name, base) = row.split_once(',').expect("range row without ','");
            (
                name.trim().to_string(),
                base.trim().parse().expect("range base is a number"),
            )
        })
        .collect()
}

#[test]
fn x_macros_list_der_all_in_order() {
    let text = header();
    let bases = range_bases(&text);
    assert_eq!(
        bases,
        vec![("GURT".to_string(), 1000), ("DAOS".to_string(), 2000)]
    );

    // Every row, with the value its position in its range gives it.
    let mut listed: Vec<(i32, Row)> = Vec::new();
    for (range, base) in &bases {
        let body = macro_body(&text, &format!("D_FOREACH_{range}_ERR"));
        for (i, row) in rows(&body).into_iter().enumerate() {
            listed.push((base + 1 + i as i32, row));
        }
    }

    let expected: Vec<(i32, Row)> = Der::ALL
        .iter()
        .map(|d| {
            (
                d.value(),
                Row {
                    name: d.name().to_string(),
                    desc: d.description().to_string(),
                },
            )
        })
        .collect();

    for (i, (got, want)) in listed.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "row {i} of the X-macros differs from Der::ALL");
    }
    assert_eq!(
        listed.len(),
        expected.len(),
        "the X-macros and Der::ALL differ in length"
    );
}

#[test]
fn unknown_and_alias_match() {
    let text = header();
    assert!(
        text.contains("DER_UNKNOWN = (DER_ERR_GURT_BASE + 500000)"),
        "DER_UNKNOWN is not defined as GURT base + 500000"
    );
    assert_eq!(1000 + 500_000, DER_UNKNOWN);
    assert!(text.contains("#define DER_EVICTED DER_EXCLUDED"));
    assert_eq!(Der::Excluded.name(), "DER_EXCLUDED");
}
