//! The recorded IMAP session cases of `t/imap/session/*.session` (Dovecot 2.3.19.1's answers,
//! recorded by `t/oracle/imap-session-probe`; format in `t/imap/session/README`): reading the
//! cases and the fixture INBOX, and checking a server's answers against a case. Shared by
//! `tests/imap_session.rs` (the session over a test double) and `tests/transcripts.rs` (the
//! live server).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("t/imap/session")
}

/// The `.session` files, in name order.
pub fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root())
        .expect("t/imap/session")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "session"))
        .collect();
    files.sort();
    files
}

/// Cases where cote deliberately answers otherwise than Dovecot, and why (over the test
/// double and on the live server alike).
pub const DIFFERENCES: &[(&str, &str)] = &[
    (
        "append date as atom",
        "Dovecot waits for the literal's first byte before answering; cote answers at once",
    ),
    (
        "append catenate bad part",
        "Dovecot then reads the rest of the line as a new command; cote skips it",
    ),
    (
        "search return nothing found",
        "Dovecot creates a keyword that SEARCH KEYWORD names; cote does not",
    ),
    (
        "fetch savedate",
        "the save date is the time of the probe's APPEND",
    ),
    ("fetch x-guid", "the GUID is Dovecot's Maildir file name"),
    (
        "fetch preview",
        "PREVIEW needs preview generation (issue 10)",
    ),
    (
        "fetch preview lazy",
        "PREVIEW needs preview generation (issue 10)",
    ),
    (
        "fetch snippet",
        "PREVIEW needs preview generation (issue 10)",
    ),
    ("search inthread", "INTHREAD needs THREAD (issue 10)"),
    (
        "enable imap4rev2",
        "cote offers IMAP4rev2 (RFC 9051), which Dovecot 2.3 does not: `* ENABLED IMAP4rev2`",
    ),
    (
        "copy huge number",
        "cote refuses a number beyond 4294967295; Dovecot wraps it around (to 1)",
    ),
];

/// What a case expects from the server, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `S:` with `{*}` wildcards.
    Line(String),
    /// `@recv`: exact bytes.
    Bytes(Vec<u8>),
    /// `@partial`: bytes without CRLF at the end.
    Partial(Vec<u8>),
}

#[derive(Debug, Default, Clone)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub line: usize,
    pub state: String,
    pub enable: Option<String>,
    pub input: Vec<u8>,
    pub expect: Vec<Expect>,
    pub eof: bool,
}

/// One message of the fixture INBOX (`t/imap/session/mailbox`).
#[derive(Debug, Clone)]
pub struct FixtureMessage {
    pub name: String,
    /// The flags as APPEND writes them (`\Seen $Label1`).
    pub flags: String,
    /// The INTERNALDATE as APPEND writes it.
    pub date: String,
    /// With CRLF line ends, as the probe APPENDed it.
    pub data: Vec<u8>,
}

/// The mailboxes besides INBOX the probe created, in its order (UTF-8 names).
pub const FIXTURE_MAILBOXES: &[&str] = &["Sent", "Trash", "Archive/2023", "Entwürfe"];

/// The fixture INBOX's messages, in name order.
pub fn fixture() -> Vec<FixtureMessage> {
    let dir = root().join("mailbox");
    let index = std::fs::read_to_string(dir.join("index")).expect("fixture index");
    let mut out = Vec::new();
    for line in index
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('|').collect();
        let [name, flags, date] = fields[..] else {
            panic!("bad fixture line {line:?}");
        };
        let raw = std::fs::read(dir.join(name)).expect("fixture message");
        let text = String::from_utf8_lossy(&raw)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        out.push(FixtureMessage {
            name: name.to_string(),
            flags: flags.to_string(),
            date: date.to_string(),
            data: text.into_bytes(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub fn unescape(s: &str) -> Vec<u8> {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("bytes must be quoted: {s}"));
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).expect("hex escape"));
            }
            other => panic!("bad escape {other:?} in {s}"),
        }
    }
    out
}

pub fn parse_cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).expect("session file");
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cases = Vec::new();
    let mut case: Option<Case> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if let Some(name) = line.strip_prefix("== ") {
            cases.extend(case.take());
            case = Some(Case {
                file: file.clone(),
                name: name.to_string(),
                line: i + 1,
                state: "authenticated".into(),
                ..Case::default()
            });
            continue;
        }
        let Some(case) = case.as_mut() else { continue };
        if let Some(state) = line.strip_prefix("@state ") {
            case.state = state.trim().to_string();
        } else if let Some(enable) = line.strip_prefix("@enable ") {
            case.enable = Some(enable.trim().to_string());
        } else if line == "C:" || line.starts_with("C: ") {
            case.input
                .extend_from_slice(line.get(3..).unwrap_or("").as_bytes());
            case.input.extend_from_slice(b"\r\n");
        } else if let Some(bytes) = line.strip_prefix("@send ") {
            case.input.extend(unescape(bytes));
        } else if let Some(rest) = line.strip_prefix("@repeat ") {
            let (count, bytes) = rest.split_once(' ').expect("@repeat N \"bytes\"");
            let bytes = unescape(bytes);
            for _ in 0..count.parse::<usize>().expect("count") {
                case.input.extend_from_slice(&bytes);
            }
        } else if line == "S:" || line.starts_with("S: ") {
            case.expect
                .push(Expect::Line(line.get(3..).unwrap_or("").to_string()));
        } else if let Some(bytes) = line.strip_prefix("@recv ") {
            case.expect.push(Expect::Bytes(unescape(bytes)));
        } else if let Some(bytes) = line.strip_prefix("@partial ") {
            case.expect.push(Expect::Partial(unescape(bytes)));
        } else if line == "@eof" {
            case.eof = true;
        }
    }
    cases.extend(case);
    cases
}

/// `{*}` matches any run of characters.
pub fn matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("{*}").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() || !line.ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Splits output at CRLF; the last element is what followed the last CRLF.
pub fn split_lines(output: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut lines = Vec::new();
    let mut rest = output;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(rest[..at].to_vec());
        rest = &rest[at + 2..];
    }
    (lines, rest.to_vec())
}

fn expect_matches(expect: &Expect, line: &[u8]) -> bool {
    match expect {
        // Dovecot 2.3's recordings have no IMAP4rev2 in their capability lists.
        Expect::Line(pattern) => std::str::from_utf8(line)
            .is_ok_and(|l| matches(pattern, &cote::imap::capability::as_dovecot_2_3(l))),
        Expect::Bytes(bytes) => line == bytes,
        Expect::Partial(_) => false,
    }
}

/// A LIST or LSUB answer line: their order is the directory's, not something a client may
/// rely on, so a run of them is compared as a set (each with the STATUS lines that follow it,
/// for `LIST ... RETURN (STATUS ...)`).
fn is_listing(expect: &Expect) -> bool {
    matches!(expect, Expect::Line(l) if l.starts_with("* LIST ") || l.starts_with("* LSUB "))
}

fn is_status(expect: &Expect) -> bool {
    matches!(expect, Expect::Line(l) if l.starts_with("* STATUS "))
}

/// Splits a run of listing lines into groups: a LIST or LSUB line and the STATUS lines
/// after it.
fn listing_groups<T>(items: &[T], starts_group: impl Fn(&T) -> bool) -> Vec<&[T]> {
    let mut groups = Vec::new();
    let mut from = 0;
    for i in 1..=items.len() {
        if i == items.len() || starts_group(&items[i]) {
            groups.push(&items[from..i]);
            from = i;
        }
    }
    groups
}

/// Compares a server's answer (its lines, what followed the last CRLF, whether the server
/// closed the connection) with what the case expects; `Err` describes the first mismatch.
pub fn check(case: &Case, lines: &[Vec<u8>], partial: &[u8], closed: bool) -> Result<(), String> {
    let shown = || {
        lines
            .iter()
            .map(|l| format!("    {}", String::from_utf8_lossy(l)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut at = 0;
    let mut i = 0;
    while i < case.expect.len() {
        let expect = &case.expect[i];
        if let Expect::Partial(bytes) = expect {
            if partial != bytes.as_slice() {
                return Err(format!("expected partial {bytes:?}, got {partial:?}"));
            }
            i += 1;
            continue;
        }
        if is_listing(expect) {
            let run = 1 + case.expect[i + 1..]
                .iter()
                .take_while(|e| is_listing(e) || is_status(e))
                .count();
            let got = lines.get(at..at + run).ok_or_else(|| {
                format!(
                    "expected {run} LIST lines from {expect:?}; all:\n{}",
                    shown()
                )
            })?;
            let starts = |l: &Vec<u8>| l.starts_with(b"* LIST ") || l.starts_with(b"* LSUB ");
            let mut unused = listing_groups(got, starts);
            for group in listing_groups(&case.expect[i..i + run], is_listing) {
                let same = |g: &&[Vec<u8>]| {
                    g.len() == group.len()
                        && group
                            .iter()
                            .zip(g.iter())
                            .all(|(e, l)| expect_matches(e, l))
                };
                let Some(pos) = unused.iter().position(same) else {
                    return Err(format!(
                        "expected {:?} among the LIST lines; all:\n{}",
                        group[0],
                        shown()
                    ));
                };
                unused.remove(pos);
            }
            at += run;
            i += run;
            continue;
        }
        let Some(line) = lines.get(at) else {
            return Err(format!(
                "expected {expect:?}, got nothing more; all:\n{}",
                shown()
            ));
        };
        if !expect_matches(expect, line) {
            return Err(format!(
                "expected {expect:?}\n       got {:?}\n  all:\n{}",
                String::from_utf8_lossy(line),
                shown()
            ));
        }
        at += 1;
        i += 1;
    }
    if let Some(extra) = lines.get(at) {
        return Err(format!(
            "unexpected {:?}\n  all:\n{}",
            String::from_utf8_lossy(extra),
            shown()
        ));
    }
    if closed != case.eof {
        return Err(format!(
            "the server closed the connection: {closed}; expected: {}\n  all:\n{}",
            case.eof,
            shown()
        ));
    }
    Ok(())
}
