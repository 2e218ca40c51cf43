//! The IMAP server on real storage, end to end: a real `cote -F`, sessions in separate mail
//! processes seeing each other's APPEND/STORE/EXPUNGE at the points RFC 3501 allows, IDLE
//! woken by another process's change (inotify, with the periodic check set far beyond the
//! test's patience so only inotify can wake it), and Python's imaplib doing what a mail
//! client does every day.

mod imap_client;
mod login_support;

use std::time::Instant;

use imap_client::Imap;
use login_support::{assert_lines_start, python, Server};

/// A server (users' Maildirs under its directory) with `/` as the separator.
fn start(extra: &str) -> Server {
    Server::start(&format!(
        "namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n{extra}"
    ))
}

/// `APPEND` of `message` to `mailbox`, which must answer OK.
fn append(imap: &mut Imap, mailbox: &str, message: &str) -> Vec<String> {
    imap.ok(imap_client::append(mailbox, message.as_bytes()))
}

const MESSAGE: &str =
    "From: bob@example.com\r\nTo: alice@example.com\r\nSubject: hello\r\n\r\nHi Alice.\r\n";

fn has(lines: &[String], wanted: impl Fn(&str) -> bool) -> bool {
    lines.iter().any(|l| wanted(l))
}

#[test]
fn two_processes_see_each_others_changes_at_the_allowed_points() {
    let server = start("");
    let mut a = Imap::login(server.imap, "alice", "secret");
    let mut b = Imap::login(server.imap, "alice", "secret");
    assert!(has(&a.ok("SELECT INBOX"), |l| l == "* 0 EXISTS"));
    b.ok("SELECT INBOX");

    // B's APPEND: B hears EXISTS with its answer, A at its next command.
    let appended = append(&mut b, "INBOX", MESSAGE);
    assert!(has(&appended, |l| l == "* 1 EXISTS"), "{appended:?}");
    let noop = a.ok("NOOP");
    assert!(has(&noop, |l| l == "* 1 EXISTS"), "{noop:?}");

    // B's STORE: A gets the new flags unasked.
    b.ok("STORE 1 +FLAGS (\\Flagged)");
    let noop = a.ok("NOOP");
    assert!(
        has(&noop, |l| l.starts_with("* 1 FETCH (FLAGS (")
            && l.contains("\\Flagged")),
        "{noop:?}"
    );

    // B's EXPUNGE: not reported to A during FETCH, STORE or SEARCH (RFC 3501 7.4.1), which
    // would shift the numbers the client is using; at NOOP it is.
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert!(has(&b.ok("EXPUNGE"), |l| l == "* 1 EXPUNGE"));
    for command in ["FETCH 1 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL"] {
        let lines = a.command(command);
        let expunge = |l: &str| l.starts_with("* ") && l.ends_with(" EXPUNGE");
        assert!(!has(&lines, expunge), "{command}: {lines:?}");
    }
    let noop = a.ok("NOOP");
    assert!(has(&noop, |l| l == "* 1 EXPUNGE"), "{noop:?}");
    assert!(a.ok("STATUS INBOX (MESSAGES)")[0].contains("MESSAGES 0"));
    a.ok("LOGOUT");
    b.ok("LOGOUT");
}

#[test]
fn idle_is_woken_by_another_process_through_inotify() {
    // The periodic check would take ten minutes: only inotify can wake IDLE within the
    // client's 30-second read timeout.
    let server = start("mailbox_idle_check_interval = 10 mins\n");
    let mut a = Imap::login(server.imap, "alice", "secret");
    let mut b = Imap::login(server.imap, "alice", "secret");
    a.ok("SELECT INBOX");
    b.ok("SELECT INBOX");
    let idle = a.send_command("IDLE");
    assert_eq!(a.line(), "+ idling");

    let started = Instant::now();
    append(&mut b, "INBOX", MESSAGE);
    a.until("* 1 EXISTS");
    let exists = started.elapsed();

    let started = Instant::now();
    b.ok("STORE 1 +FLAGS (\\Answered)");
    let fetch = a.until("* 1 FETCH (FLAGS (");
    assert!(fetch.last().unwrap().contains("\\Answered"), "{fetch:?}");
    let flags = started.elapsed();

    let started = Instant::now();
    b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)");
    b.ok("EXPUNGE");
    a.until("* 1 EXPUNGE");
    let expunge = started.elapsed();

    a.send(b"DONE\r\n");
    let done = a.until(&format!("{idle} "));
    assert!(
        done.last().unwrap().contains(" OK Idle completed"),
        "{done:?}"
    );
    // Figures for the record; speed is not asserted.
    println!(
        "IDLE woken after another process's APPEND in {:?}, STORE in {:?}, EXPUNGE in {:?}",
        exists, flags, expunge
    );
    a.ok("LOGOUT");
}

const IMAPLIB: &str = r#"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
assert m.login("alice", "secret")[0] == "OK"
typ, data = m.select("INBOX")
print("select", typ, data)
msg = b"From: bob@example.com\r\nSubject: one\r\n\r\nfirst body\r\n"
print("append", m.append("INBOX", r"(\Flagged)", None, msg)[0])
print("append", m.append("INBOX", None, None, msg.replace(b"one", b"two"))[0])
print("exists", m.response("EXISTS"))
typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("fetch", typ, data)
typ, data = m.fetch("2", "(BODY[TEXT])")
print("text", typ, data)
print("seen", m.fetch("2", "(FLAGS)"))
print("search", m.search(None, "SUBJECT", "two"))
print("store", m.store("1", "+FLAGS", r"(\Deleted)"))
print("expunge", m.expunge())
print("create", m.create("Work/Projects"))
typ, data = m.list()
print("list", typ, data)
print("copy", m.copy("1", "Work/Projects"))
print("status", m.status("Work/Projects", "(MESSAGES UIDNEXT)"))
print("close", m.close()[0])
print("logout", m.logout()[0])
"#;

#[test]
fn python_imaplib_end_to_end() {
    let server = start("");
    let out = python(IMAPLIB, &[server.imap.to_string()]);
    let expect = [
        "select OK [b'0']",
        "append OK",
        "exists ('EXISTS', [b'0', b'1', b'2'])",
        "fetch OK [(b'1 (UID 1 FLAGS (\\\\Flagged \\\\Recent) RFC822.SIZE 51 BODY[HEADER.FIELDS (SUBJECT)] {16}', b'Subject: one\\r\\n\\r\\n'), b')', (b'2 (UID 2 FLAGS (\\\\Recent) RFC822.SIZE 51 BODY[HEADER.FIELDS (SUBJECT)] {16}', b'Subject: two\\r\\n\\r\\n'), b')']",
        "text OK [(b'2 (FLAGS (\\\\Seen \\\\Recent) BODY[TEXT] {12}', b'first body\\r\\n'), b')']",
        "seen ('OK', [b'2 (FLAGS (\\\\Seen \\\\Recent))'])",
        "search ('OK', [b'2'])",
        "store ('OK', [b'1 (FLAGS (\\\\Flagged \\\\Deleted \\\\Recent))'])",
        "expunge ('OK', [b'1'])",
        "create ('OK', [b'Create completed",
        "list OK [b'(\\\\HasNoChildren) \"/\" INBOX', b'(\\\\Noselect \\\\HasChildren) \"/\" Work', b'(\\\\HasNoChildren) \"/\" Work/Projects']",
        "copy ('OK', [b'[COPYUID ",
        "status ('OK', [b'Work/Projects (MESSAGES 1 UIDNEXT 2)'])",
        "close OK",
        "logout BYE",
    ];
    assert_lines_start(&out, &expect, &server);
}

/// NOTIFY (RFC 5465): with the periodic check far beyond the test's patience, another
/// process's changes reach the session through storage's watch alone — between commands
/// and while idling — as LIST, STATUS and the selected mailbox's updates with MessageNew's
/// fetch-att list; NOTIFY NONE silences the selected mailbox.
#[test]
fn notify_reports_another_process_changes_between_commands_and_in_idle() {
    let server = start("mailbox_idle_check_interval = 10 mins\n");
    let mut a = Imap::login(server.imap, "alice", "secret");
    let mut b = Imap::login(server.imap, "alice", "secret");
    a.ok("SELECT INBOX");
    a.ok("NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) \
         (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))");

    // Nothing asked: the LIST comes by itself.
    let started = Instant::now();
    b.ok("CREATE Work");
    a.until("* LIST () \"/\" Work");
    let created = started.elapsed();
    b.ok("SUBSCRIBE Work");
    a.until("* LIST (\\Subscribed) \"/\" Work");
    append(&mut b, "Work", MESSAGE);
    let status = a.until("* STATUS Work ");
    assert!(
        status
            .last()
            .unwrap()
            .contains("MESSAGES 1 UIDNEXT 2 UIDVALIDITY "),
        "{status:?}"
    );

    // While idling: a rename, and new mail in the selected mailbox with its UID.
    let idle = a.send_command("IDLE");
    assert_eq!(a.line(), "+ idling");
    b.ok("RENAME Work Play");
    a.until("* LIST () \"/\" Play (\"OLDNAME\" (Work))");
    append(&mut b, "INBOX", MESSAGE);
    a.until("* 1 EXISTS");
    a.until("* 1 FETCH (UID 1)");
    b.ok("DELETE Play");
    a.until("* LIST (\\NonExistent) \"/\" Play");
    a.send(b"DONE\r\n");
    let done = a.until(&format!("{idle} "));
    assert!(
        done.last().unwrap().contains(" OK Idle completed"),
        "{done:?}"
    );

    // NOTIFY NONE: the selected mailbox's news are not told (Dovecot's reading of RFC 5465).
    a.ok("NOTIFY NONE");
    append(&mut b, "INBOX", MESSAGE);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let noop = a.ok("NOOP");
    assert_eq!(noop.len(), 1, "{noop:?}");
    let fetch = a.ok("FETCH 1:* (UID)");
    assert!(has(&fetch, |l| l == "* 2 FETCH (UID 2)"), "{fetch:?}");
    println!("NOTIFY: another process's CREATE reported in {created:?}");
    a.ok("LOGOUT");
    b.ok("LOGOUT");
}

/// NOTIFY's refusals: Dovecot 2.3's unsupported events and its limit of 100 mailbox names.
#[test]
fn notify_refuses_unsupported_events_and_too_many_names() {
    let server = start("");
    let mut a = Imap::login(server.imap, "alice", "secret");
    let refused = a.command("NOTIFY SET (personal (MailboxMetadataChange MessageNew))");
    assert!(
        refused
            .last()
            .unwrap()
            .starts_with("NO [BADEVENT MailboxMetadataChange] Unsupported NOTIFY events"),
        "{refused:?}"
    );
    let names: Vec<String> = (0..101).map(|i| format!("box{i}")).collect();
    let overflow = a.command(format!(
        "NOTIFY SET (mailboxes ({}) (MessageNew))",
        names.join(" ")
    ));
    assert!(
        overflow
            .last()
            .unwrap()
            .starts_with("NO [NOTIFICATIONOVERFLOW] Too many mailbox names"),
        "{overflow:?}"
    );
    a.ok(format!(
        "NOTIFY SET (mailboxes ({}) (MessageNew))",
        names[..100].join(" ")
    ));
    a.ok("LOGOUT");
}
