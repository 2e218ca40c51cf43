//! SORT and THREAD against Dovecot 2.3: the same messages APPENDed (with the same internal
//! dates) to a real `cote -F` and to a private Dovecot, the same commands sent to both —
//! SORT by every key alone, reversed, and every ordered pair of keys (the second also
//! reversed), with and without search keys, UID SORT, ESORT's RETURN options (with
//! SEARCHRES's SAVE); THREAD with each algorithm, on all
//! messages and on subsets — and the answers compared one by one.
//!
//! Two mailboxes: `generated`, the mail layer's differential corpus (tests/mail_corpus:
//! odd addresses, encoded words, broken dates), and `threads`, built here: message IDs,
//! References and In-Reply-To chains with missing parents, duplicates, loops and garbage,
//! subjects with `Re:`, `Fwd:`, blobs and `[fwd: ...]`, non-ASCII names, equal dates.
//!
//! Dovecot's answers are kept in t/imap/sort-thread.expected, so cote is checked against
//! them even where Dovecot cannot run; with the oracle (root and `make oracle`) the live
//! Dovecot is asked too and must still answer what the file says (COTE_SORT_ORACLE_REGEN=1
//! rewrites the file from the live answers).

// login_support and maildir_support each bring the port allocator (tests/port_support);
// the two copies claim ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod imap_client;
mod login_support;
#[path = "mail_corpus/mod.rs"]
mod mail_corpus;
mod maildir_support;

use std::path::{Path, PathBuf};

use cote::mail::date::format_imap_datetime;
use imap_client::{with_literal, Imap};
use login_support::Server;
use maildir_support::Oracle;

const NAMESPACE: &str = "namespace inbox {\n  inbox = yes\n  separator = /\n}\n";

/// The sort keys (RELEVANCY left out: without full-text search it orders nothing).
const KEYS: &[&str] = &[
    "ARRIVAL",
    "CC",
    "DATE",
    "FROM",
    "SIZE",
    "SUBJECT",
    "TO",
    "DISPLAYFROM",
    "DISPLAYTO",
];

/// The `threads` mailbox's messages, deterministically.
fn thread_corpus() -> Vec<Vec<u8>> {
    const BASES: &[&str] = &[
        "hello",
        "meeting notes",
        "\u{dc}n\u{ef}c\u{f6}d\u{e9} test",
        "=?UTF-8?B?w4TDlsOc?= umlauts",
        "=?ISO-8859-1?Q?caf=E9?=",
        "[list] topic",
        "",
        "Stra\u{df}e",
        "\u{1c4}igraph",
        "Vi\u{1ec7}t Nam",
        "\u{1d6} pinyin",
        "\u{1f80}\u{3b3}\u{3b1}\u{3b8}\u{3ac}",
        "\u{d55c}\u{ad6d}\u{c5b4}",
        "\u{212b}ngstr\u{f6}m",
        "\u{fb01}le",
    ];
    const WRAPS: &[&str] = &[
        "{}",
        "Re: {}",
        "RE: re: {}",
        "Fwd: {}",
        "[fwd: {}]",
        "Re[2]: {}",
        "[list] Re: {}",
        "{} (fwd)",
        "  re :   {}  ",
        "Fw: [x] Re: {}",
    ];
    const NAMES: &[&str] = &[
        "Alice Example <alice@example.com>",
        "\"\u{c9}mile Zola\" <zola@example.fr>",
        "=?UTF-8?Q?=C3=89lodie?= <elodie@example.fr>",
        "bob@example.org",
        "\"\" <empty@example.com>",
        "undisclosed-recipients:;",
        "Zed <zed@example.com>, Amy <amy@example.com>",
        "carol@EXAMPLE.net (Carol)",
        "",
        "\u{f6}rjan <orjan@example.se>",
        "\u{1c6}ura\u{111} <dj@example.hr>",
        "\"Nguy\u{1ec5}n\" <\u{1ec5}@example.vn>",
    ];
    const DATES: &[&str] = &[
        "Mon, 7 Feb 1994 21:52:25 -0800",
        "Tue, 1 Jul 2003 10:52:37 +0200",
        "Tue, 1 Jul 2003 08:52:37 +0000",
        "garbage",
        "",
        "Thu, 13 Feb 1969 23:32:54 -0330",
        "1 Jan 2000 00:00:00 GMT",
        "Wed, 2 Jan 2019 12:00:00 +0100",
    ];
    let count = 160;
    (0..count)
        .map(|i: usize| {
            let mut lines = Vec::new();
            let id = match i % 19 {
                0 => None,
                7 => Some("garbage-id".to_string()),
                11 => Some(format!("<m{}@example.com>", i.saturating_sub(3))),
                13 => Some(format!("<\"q {i}\"@example.com>")),
                17 => Some(format!("  <m{i}\n @example.com>")),
                _ => Some(format!("<m{i}@example.com>")),
            };
            if let Some(id) = id {
                lines.push(format!("Message-ID: {id}"));
            }
            if i > 0 && i % 6 != 0 {
                let depth = 1 + (i * 7) % 4;
                let mut refs = Vec::new();
                for d in (1..=depth).rev() {
                    let parent = i.saturating_sub(d * (1 + i % 3));
                    refs.push(match (i + d) % 23 {
                        0 => format!("<ghost{}@example.com>", i % 5),
                        5 => format!("<m{}@example.com>", i + 2),
                        9 => format!("<m{i}@example.com>"),
                        _ => format!("<m{parent}@example.com>"),
                    });
                }
                let sep = if i % 4 == 0 { "\n\t" } else { " " };
                lines.push(format!("References: {}", refs.join(sep)));
            }
            if i % 6 == 0 && i > 0 {
                lines.push(format!("In-Reply-To: <m{}@example.com> (a comment)", i / 2));
            }
            if i % 9 == 4 {
                lines.push("References: no ids here".to_string());
                lines.push(format!("In-Reply-To: <m{}@example.com>", i - 1));
            }
            let base = BASES[(i / 3) % BASES.len()];
            let wrap = WRAPS[(i * 5) % WRAPS.len()];
            if i % 29 != 3 {
                lines.push(format!("Subject: {}", wrap.replace("{}", base)));
            }
            lines.push(format!("From: {}", NAMES[(i * 3) % NAMES.len()]));
            if i % 4 != 1 {
                lines.push(format!("To: {}", NAMES[(i * 7 + 1) % NAMES.len()]));
            }
            if i % 3 == 0 {
                lines.push(format!("Cc: {}", NAMES[(i + 4) % NAMES.len()]));
            }
            if i % 11 != 5 {
                lines.push(format!("Date: {}", DATES[(i * 11) % DATES.len()]));
            }
            let mut text = lines
                .join("\r\n")
                .replace("\n\t", "\r\n\t")
                .replace("\n @", "\r\n @");
            text.push_str("\r\n\r\n");
            text.push_str(&"body line\r\n".repeat(i % 7));
            text.into_bytes()
        })
        .collect()
}

/// The internal date of the i-th message: pairs share one (ARRIVAL ties).
fn internal_date(i: usize) -> String {
    format_imap_datetime(1_577_836_800 + (i as i64 / 2) * 3_700, 0)
}

/// Every command, for a mailbox.
fn commands() -> Vec<String> {
    let mut out = Vec::new();
    for key in KEYS {
        out.push(format!("SORT ({key}) UTF-8 ALL"));
        out.push(format!("SORT (REVERSE {key}) UTF-8 ALL"));
    }
    for first in KEYS {
        for second in KEYS.iter().filter(|k| *k != first) {
            out.push(format!("SORT ({first} {second}) UTF-8 ALL"));
            out.push(format!("SORT (REVERSE {first} REVERSE {second}) UTF-8 ALL"));
        }
    }
    out.extend(
        [
            "UID SORT (SUBJECT) UTF-8 ALL",
            "UID SORT (REVERSE DATE) UTF-8 ALL",
            "SORT (SUBJECT DATE FROM) UTF-8 ALL",
            "SORT (SUBJECT) UTF-8 2:100",
            "SORT (ARRIVAL) US-ASCII SUBJECT hello",
            "UID SORT (DATE FROM) UTF-8 OR SUBJECT re FROM example",
            "SORT (DISPLAYFROM) UTF-8 NOT FROM alice",
            "SORT (DATE) UTF-8 SUBJECT no-such-subject",
            "SORT (SIZE) UTF-8 LARGER 300",
            "SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL",
            "UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL",
            "SORT RETURN () (FROM DATE) UTF-8 ALL",
            "SORT RETURN (PARTIAL 5:20) (DATE) UTF-8 ALL",
            "UID SORT RETURN (MIN MAX) (DISPLAYTO) UTF-8 NOT SUBJECT hello",
            "SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT no-such-subject",
            "SORT RETURN (MIN ALL) (SIZE) UTF-8 SUBJECT no-such-subject",
            "SORT RETURN (SAVE) (SUBJECT) UTF-8 1:30",
            "SORT (DATE) UTF-8 $",
            "SORT RETURN (SAVE MIN MAX) (REVERSE SIZE) UTF-8 ALL",
            "UID SEARCH $",
        ]
        .map(String::from),
    );
    for algorithm in ["ORDEREDSUBJECT", "REFERENCES", "REFS"] {
        out.push(format!("THREAD {algorithm} UTF-8 ALL"));
        out.push(format!("UID THREAD {algorithm} UTF-8 ALL"));
        out.push(format!("THREAD {algorithm} UTF-8 1:80"));
        out.push(format!("THREAD {algorithm} UTF-8 NOT SUBJECT hello"));
        out.push(format!("THREAD {algorithm} UTF-8 SUBJECT no-such-subject"));
    }
    out
}

/// Fills the two mailboxes and asks every command in both; returns `(label, answer)`.
fn run(port: u16, user: &str, password: &str) -> Vec<(String, Vec<String>)> {
    let mut imap = Imap::login(port, user, password);
    let generated: Vec<Vec<u8>> = mail_corpus::generated()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let mailboxes = [("generated", generated), ("threads", thread_corpus())];
    let mut answers = Vec::new();
    for (mailbox, messages) in &mailboxes {
        imap.ok(format!("CREATE {mailbox}"));
        for (i, message) in messages.iter().enumerate() {
            let command = format!("APPEND {mailbox} () \"{}\" ", internal_date(i));
            let answer = imap.command(with_literal(&command, message, ""));
            assert!(
                answer.last().is_some_and(|l| l.starts_with("OK")),
                "APPEND of message {i} to {mailbox}: {answer:?}"
            );
        }
        imap.ok(format!("SELECT {mailbox}"));
        for command in commands() {
            let answer = imap.command(&command);
            answers.push((format!("{mailbox}: {command}"), answer));
        }
    }
    answers
}

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("t/imap/sort-thread.expected")
}

/// `== label` lines, each followed by its answer's lines.
fn write_snapshot(answers: &[(String, Vec<String>)]) {
    let mut out = String::new();
    for (label, lines) in answers {
        out.push_str(&format!("== {label}\n"));
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(snapshot_path(), out).expect("write the snapshot");
}

fn read_snapshot() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(snapshot_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it with COTE_SORT_ORACLE_REGEN=1 (needs root and `make oracle`)",
            snapshot_path().display()
        )
    });
    let mut answers: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("== ") {
            Some(label) => answers.push((label.to_string(), Vec::new())),
            None => {
                if let Some(last) = answers.last_mut() {
                    last.1.push(line.to_string());
                }
            }
        }
    }
    answers
}

/// The differences between two answer lists, described.
fn differences(
    left_name: &str,
    left: &[(String, Vec<String>)],
    right_name: &str,
    right: &[(String, Vec<String>)],
) -> Vec<String> {
    let mut out = Vec::new();
    if left.len() != right.len() {
        out.push(format!(
            "{} answers from {left_name}, {} from {right_name}",
            left.len(),
            right.len()
        ));
    }
    for ((label, a), (other_label, b)) in left.iter().zip(right) {
        if label != other_label {
            out.push(format!("{label} asked, {other_label} recorded"));
        } else if a != b {
            out.push(format!(
                "{label}\n  {left_name}: {}\n  {right_name}: {}",
                a.join(" | "),
                b.join(" | ")
            ));
        }
    }
    out
}

/// Whether the private Dovecot can run here: root, and the unpacked packages.
fn oracle_available() -> Result<(), String> {
    if !login_support::is_root() {
        return Err("not root".into());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
    let mut roots = vec![
        PathBuf::from("/opt/dovecot"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dovecot-oracle"),
    ];
    roots.extend(std::env::var_os("COTE_DOVECOT_ROOT").map(PathBuf::from));
    let unpacked = roots
        .iter()
        .any(|root| root.join("usr/sbin/dovecot").is_file());
    if !script.is_file() || !unpacked {
        return Err("Debian's Dovecot is not unpacked (make oracle)".into());
    }
    Ok(())
}

#[test]
fn sort_and_thread_answer_as_dovecot() {
    let cote = Server::start(NAMESPACE);
    let ours = run(cote.imap, "alice", "secret");
    let regen = std::env::var_os("COTE_SORT_ORACLE_REGEN").is_some();
    match oracle_available() {
        Ok(()) => {
            let dovecot = Oracle::start("maildir:{dir}/mail/%u", NAMESPACE);
            let theirs = run(dovecot.port, "alice", "pw");
            if regen {
                write_snapshot(&theirs);
            }
            let live = differences("cote", &ours, "dovecot", &theirs);
            let recorded = differences("dovecot", &theirs, "recorded", &read_snapshot());
            assert!(
                live.is_empty() && recorded.is_empty(),
                "{} of {} answers differ from Dovecot's:\n{}\n\n{} of Dovecot's differ from \
                 t/imap/sort-thread.expected (COTE_SORT_ORACLE_REGEN=1 records them):\n{}",
                live.len(),
                ours.len(),
                live.join("\n"),
                recorded.len(),
                recorded.join("\n")
            );
        }
        Err(why) => {
            eprintln!(
                "sort_oracle: the live Dovecot is skipped ({why}); comparing with its \
                 recorded answers in t/imap/sort-thread.expected"
            );
            let recorded = differences("cote", &ours, "recorded", &read_snapshot());
            assert!(
                recorded.is_empty(),
                "{} of {} answers differ from Dovecot's recorded ones:\n{}",
                recorded.len(),
                ours.len(),
                recorded.join("\n")
            );
        }
    }
    println!("sort_oracle: {} SORT/THREAD answers identical", ours.len());
}
