//! The mail layer never panics, whatever the bytes: random input and mutations of the
//! corpus messages go through every entry point. The shortcuts the storage takes (the root
//! header alone, one header's lines alone) answer as the whole message does.

use cote::mail::search::HeaderMatch;
use cote::mail::{codec, parser, section, Message, Section};
use proptest::prelude::*;

fn exercise(data: Vec<u8>) {
    shortcuts_agree(&data);
    let msg = Message::parse(data);
    let _ = msg.imap_envelope();
    let _ = msg.imap_bodystructure();
    let _ = msg.imap_body();
    let _ = msg.virtual_size();
    for (spec, partial) in [
        ("", ""),
        ("HEADER", ""),
        ("TEXT", "<3.10>"),
        ("1", ""),
        ("1.MIME", ""),
        ("2", "<1>"),
        ("1.1", ""),
        ("2.HEADER", ""),
        ("2.TEXT", ""),
        ("HEADER.FIELDS (FROM SUBJECT)", ""),
        ("1.HEADER.FIELDS.NOT (TO)", ""),
    ] {
        let section = Section::parse(spec.as_bytes(), partial.as_bytes()).unwrap();
        let _ = msg.body_section(&section);
        let _ = msg.binary_section(&section);
        let _ = msg.binary_size(&section);
    }
    let _ = msg.search_text("needle");
    let _ = msg.search_body("é");
    let _ = msg.search_header("From", "a", cote::mail::search::HeaderMatch::Address);
    let _ = msg.sent_date();
}

/// What the storage answers from the root header alone, or from one header's cached lines,
/// equals what the whole message gives.
fn shortcuts_agree(data: &[u8]) {
    let msg = Message::parse(data.to_vec());
    let header_end = parser::root_body_offset(data);
    assert_eq!(header_end, msg.root().body_offset);
    let header_only = Message::parse(data[..header_end].to_vec());
    for spec in [
        "",
        "HEADER",
        "HEADER.FIELDS (FROM SUBJECT)",
        "HEADER.FIELDS.NOT (TO)",
    ] {
        let wanted = Section::parse(spec.as_bytes(), b"").unwrap();
        let full = section::body_section(data, msg.root(), &wanted);
        assert_eq!(msg.body_section(&wanted), full, "BODY[{spec}]");
        if !spec.is_empty() {
            assert_eq!(header_only.body_section(&wanted), full, "BODY[{spec}]");
        }
    }
    assert_eq!(header_only.imap_envelope(), msg.imap_envelope());
    for (name, how) in [
        ("From", HeaderMatch::Address),
        ("To", HeaderMatch::Address),
        ("Subject", HeaderMatch::CompressWhitespace),
        ("Date", HeaderMatch::Plain),
    ] {
        let lines = Message::parse(msg.header_lines(name));
        for key in ["", "a", "x y", "é"] {
            let want = msg.search_header(name, key, how);
            assert_eq!(lines.search_header(name, key, how), want, "{name} {key}");
            assert_eq!(
                header_only.search_header(name, key, how),
                want,
                "{name} {key}"
            );
        }
    }
    let dates = Message::parse(msg.header_lines("Date"));
    assert_eq!(dates.sent_date(), msg.sent_date());
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("t/mail");
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        exercise(data);
    }

    #[test]
    fn mime_shaped(lines in proptest::collection::vec(prop_oneof![
        Just("--b".to_string()), Just("--b--".to_string()), Just("--c".to_string()),
        Just(String::new()), Just("Content-Type: multipart/mixed; boundary=b".to_string()),
        Just("Content-Type: multipart/digest; boundary=c".to_string()),
        Just("Content-Type: message/rfc822".to_string()), Just(" folded".to_string()),
        Just("Content-Transfer-Encoding: base64".to_string()),
        Just("Content-Transfer-Encoding: quoted-printable".to_string()),
        Just("From: a@b, \"x\" <y@z>, g: h@i;".to_string()), Just("=?utf-8?q?x?= =ZZ".to_string()),
        "[ -~]{0,20}",
    ], 0..60), crlf in any::<bool>()) {
        let sep = if crlf { "\r\n" } else { "\n" };
        exercise(lines.join(sep).into_bytes());
    }

    #[test]
    fn mutated_corpus(index in 0usize..1000, edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..20)) {
        let corpus = corpus();
        let mut data = corpus[index % corpus.len()].clone();
        for (pos, byte, op) in edits {
            let pos = if data.is_empty() { 0 } else { pos % data.len() };
            match op {
                0 if !data.is_empty() => data[pos] = byte,
                1 => data.insert(pos, byte),
                _ if !data.is_empty() => { data.remove(pos); }
                _ => {}
            }
        }
        exercise(codec::to_lf(&data));
        exercise(data);
    }
}

#[test]
fn corpus_shortcuts_agree() {
    for data in corpus() {
        shortcuts_agree(&data);
        shortcuts_agree(&codec::to_lf(&data));
    }
}

#[test]
fn deep_nesting_stops_at_dovecots_limit() {
    let mut data = Vec::new();
    for _ in 0..150 {
        data.extend_from_slice(b"Content-Type: message/rfc822\n\n");
    }
    data.extend_from_slice(b"body\n");
    let msg = Message::parse(data);
    let mut depth = 0;
    let mut part = msg.root();
    while let Some(child) = part.children.first() {
        depth += 1;
        part = child;
    }
    assert_eq!(depth, cote::mail::parser::MAX_NESTED_PARTS - 1);
    assert!(msg.imap_bodystructure().is_ok());
}
