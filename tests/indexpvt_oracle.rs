//! Private flags of shared mailboxes (`INDEXPVT=` in a shared namespace's location)
//! against Dovecot 2.3: the same command sequence, by alice (the owner, in her own INBOX
//! namespace) and bob and carol (through `shared/alice/`), in several sessions at once, on
//! two stores prepared alike by Dovecot; one store served by Dovecot, the other by a real
//! `cote -F`. Every answer must be the same: FETCH FLAGS and MODSEQ, SEARCH SEEN/UNSEEN,
//! STATUS UNSEEN, SELECT's `[UNSEEN]`, the untagged FETCH others get when a private flag
//! changes (the message takes a new modseq), the `\Seen` a body FETCH sets, APPEND with
//! `\Seen`, `FLAGS (...)` replacing
//! the shared flags, EXPUNGE, and a new session reading what the last one stored.
//!
//! Only what clients see is compared: cote keeps the private flags in `cote.index.pvt`, not
//! in Dovecot's `dovecot.index.pvt`.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// login_support, maildir_support and acl_support each bring the port allocator (and
// acl_support the login client); the copies claim ports through the same lock files.
#![allow(clippy::duplicate_mod)]

mod acl_support;
mod login_support;
mod maildir_support;

use std::collections::BTreeMap;

use acl_support::{append, command, login, Conn};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, shared_dict_dir, Oracle};

fn config(dict: &std::path::Path) -> String {
    format!(
        "mail_plugins = $mail_plugins acl\n\
         protocol imap {{\n  mail_plugins = $mail_plugins imap_acl\n}}\n\
         namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
         namespace shared {{\n  type = shared\n  separator = /\n  prefix = shared/%%u/\n\
           location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u\n\
           subscriptions = no\n  list = children\n}}\n\
         plugin {{\n  acl = vfile\n  acl_shared_dict = file:{}\n}}\n",
        dict.display()
    )
}

/// A store prepared by Dovecot: alice shares Team (two messages, the first seen by her)
/// and her INBOX (one message) with bob, and Team with carol.
fn prepared() -> (tempfile::TempDir, Oracle, String) {
    let (db, dict) = shared_dict_dir();
    let conf = config(&dict);
    let oracle = Oracle::start("maildir:~/Maildir", &conf);
    let mut alice = login(oracle.port, "alice");
    for c in [
        "CREATE Team",
        "SETACL Team bob lrwstei",
        "SETACL Team carol lrwstei",
        "SETACL INBOX bob lrws",
    ] {
        assert!(command(&mut alice, c)[0].starts_with("OK"), "{c}");
    }
    // No session selects anything yet: \Recent is in each server's own index.
    let seen = command(&mut alice, "APPEND Team (\\Seen) {12+}\r\nSubject: x\r\n");
    assert_eq!(seen, ["OK Append completed."]);
    for mailbox in ["Team", "INBOX"] {
        assert_eq!(append(&mut alice, mailbox), ["OK Append completed."]);
    }
    command(&mut alice, "LOGOUT");
    // carol's home exists.
    command(&mut login(oracle.port, "carol"), "STATUS INBOX (MESSAGES)");
    chown_tree(&oracle.path("home"));
    chown_tree(db.path());
    (db, oracle, conf)
}

/// Who says what, in order: several sessions at once (`bob2` is bob's second).
const SCRIPT: &[(&str, &str)] = &[
    ("carol", "ENABLE CONDSTORE"),
    ("carol", "SELECT shared/alice/Team"),
    ("alice", "ENABLE CONDSTORE"),
    ("alice", "SELECT Team"),
    ("bob", "SELECT shared/alice/Team"),
    ("bob", "FETCH 1:* (FLAGS)"),
    ("bob", "STORE 1 +FLAGS (\\Seen)"),
    ("bob", "FETCH 1:* (FLAGS)"),
    ("bob", "SEARCH SEEN"),
    ("bob", "SEARCH UNSEEN"),
    ("carol", "NOOP"),
    ("carol", "FETCH 1:* (FLAGS)"),
    ("carol", "SEARCH SEEN"),
    ("alice", "NOOP"),
    ("alice", "FETCH 1:* (FLAGS)"),
    ("bob", "ENABLE CONDSTORE"),
    ("bob", "FETCH 1:* (FLAGS MODSEQ)"),
    ("bob", "STORE 2 +FLAGS (\\Seen)"),
    ("bob", "STORE 2 -FLAGS (\\Seen)"),
    ("bob", "STORE 2 +FLAGS (\\Seen \\Flagged)"),
    ("bob", "STORE 2 +FLAGS (\\Seen)"),
    ("bob", "FETCH 1:* (FLAGS MODSEQ)"),
    ("bob2", "STATUS shared/alice/Team (MESSAGES UNSEEN)"),
    ("bob2", "STATUS shared/alice/INBOX (MESSAGES UNSEEN)"),
    ("carol", "STATUS shared/alice/INBOX (MESSAGES UNSEEN)"),
    ("carol", "NOOP"),
    ("carol", "FETCH 1:* (FLAGS MODSEQ)"),
    ("alice", "NOOP"),
    ("alice", "STORE 2 +FLAGS (\\Seen)"),
    ("bob", "NOOP"),
    ("carol", "NOOP"),
    ("carol", "STORE 1 FLAGS (\\Answered)"),
    // Reading a message sets the reader's own \Seen; the reader's other session is told
    // of a flag change, others of a modseq. (A session without CONDSTORE reads: with it,
    // Dovecot follows any FETCH that sets \Seen with `FETCH (MODSEQ)`, cote does not.)
    ("carol2", "SELECT shared/alice/Team"),
    ("carol2", "FETCH 2 (BODY[])"),
    ("carol2", "FETCH 2 (FLAGS)"),
    ("carol", "NOOP"),
    ("alice", "NOOP"),
    ("alice", "FETCH 1:* (FLAGS MODSEQ)"),
    ("bob", "NOOP"),
    ("bob", "FETCH 1:* (FLAGS MODSEQ)"),
    (
        "bob",
        "APPEND shared/alice/Team (\\Seen) {12+}\r\nSubject: y\r\n",
    ),
    ("bob", "NOOP"),
    ("bob", "FETCH 1:* (FLAGS)"),
    ("carol", "NOOP"),
    ("carol", "FETCH 1:* (FLAGS)"),
    ("alice", "NOOP"),
    ("alice", "FETCH 1:* (FLAGS)"),
    // A copy of what bob has seen is seen by bob alone.
    ("bob", "COPY 1:2 shared/alice/Team"),
    ("bob", "NOOP"),
    ("bob", "FETCH 4:* (FLAGS)"),
    ("carol", "NOOP"),
    ("carol", "FETCH 4:* (FLAGS)"),
    ("alice", "NOOP"),
    ("alice", "FETCH 4:* (FLAGS)"),
    ("alice", "LOGOUT"),
    ("bob", "STORE 1 +FLAGS.SILENT (\\Deleted)"),
    ("bob", "EXPUNGE"),
    ("carol", "NOOP"),
    ("bob", "LOGOUT"),
    ("bob2", "SELECT shared/alice/Team"),
    ("bob2", "FETCH 1:* (FLAGS)"),
    ("bob2", "SEARCH UNSEEN"),
    ("bob2", "EXAMINE shared/alice/INBOX"),
    ("carol", "SELECT shared/alice/Team"),
    ("carol", "FETCH 1:* (FLAGS)"),
];

/// Plays [`SCRIPT`] against the server on `port`; returns every answer, named by its
/// command. Modseqs are numbered by first appearance (the servers count from different
/// starts; which answers share a modseq, and their order, must agree).
fn play(port: u16) -> Vec<String> {
    let mut sessions: BTreeMap<&str, Conn> = BTreeMap::new();
    let mut modseqs: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (who, c) in SCRIPT {
        let conn = sessions
            .entry(who)
            .or_insert_with(|| login(port, who.trim_end_matches('2')));
        out.push(format!("{who}: {c}"));
        for line in command(conn, c) {
            if line.starts_with("* BYE") {
                continue;
            }
            out.push(format!(
                "    {}",
                number_modseqs(&without_copyuid_validity(&line), &mut modseqs)
            ));
        }
    }
    out
}

/// `line` without the UIDVALIDITY of a COPYUID (the stores were made at other times).
fn without_copyuid_validity(line: &str) -> String {
    match line.split_once("[COPYUID ") {
        Some((head, tail)) => match tail.split_once(' ') {
            Some((_, rest)) => format!("{head}[COPYUID v {rest}"),
            None => line.to_string(),
        },
        None => line.to_string(),
    }
}

/// `line` with each modseq (after `MODSEQ (` or `HIGHESTMODSEQ `) replaced by `m<n>`, `n`
/// its rank of first appearance.
fn number_modseqs(line: &str, seen: &mut BTreeMap<String, usize>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = ["MODSEQ (", "HIGHESTMODSEQ "]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| i + m.len()))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let next = seen.len() + 1;
        let n = *seen.entry(rest[..digits].to_string()).or_insert(next);
        out.push_str(&format!("m{n}"));
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[test]
fn private_seen_flags_answer_as_dovecot() {
    if !login_support::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (_db1, dovecot, _) = prepared();
    let expected = play(dovecot.port);
    let complaints = dovecot.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");

    let (_db2, store, conf) = prepared();
    let homes = store.path("home");
    let users = passwd_users(&["alice", "bob", "carol"], &homes);
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{conf}"),
    );
    let got = play(cote.imap);
    if got != expected {
        let mut diff = String::new();
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            let mark = if g == e { " " } else { "!" };
            diff.push_str(&format!("{mark}{i:3} cote: {g}\n{mark}    dovecot: {e}\n"));
        }
        panic!(
            "answers differ ({} vs {} lines):\n{diff}",
            got.len(),
            expected.len()
        );
    }
    // The viewers' \Seen never reached the Maildir file names: only alice's own.
    let cur = homes.join("alice/Maildir/.Team/cur");
    let mut names: Vec<String> = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let flags: Vec<&str> = names
        .iter()
        .map(|n| n.rsplit_once(":2,").map_or("?", |(_, f)| f))
        .collect();
    assert_eq!(flags, ["FS", "", "R", "F"], "{names:?}");
    assert!(homes
        .join("bob/Maildir/shared/alice/.Team/cote.index.pvt")
        .is_file());
}
