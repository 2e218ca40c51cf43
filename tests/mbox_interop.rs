//! mbox interop with Dovecot 2.3: a private Dovecot (`mail_location = mbox:...`) appends
//! messages with flags and keywords, changes flags, expunges; cote's mbox reader then finds
//! in the file the UIDVALIDITY, UIDNEXT, UIDs, flags, keywords and message bytes Dovecot's
//! own FETCH answers. And the bytes cote's writer appends are served by Dovecot with the
//! UIDs, flags, keywords and bodies cote meant.
//! Needs the oracle (`make oracle` or /opt/dovecot) and root; fails clearly without them.

mod maildir_support;

use std::collections::BTreeMap;

use cote::storage::flags::MailFlags;
use cote::storage::mbox::format::{append_message, assign_uids, parse_mbox, ImapBase, NewMessage};
use maildir_support::{chown_tree, Oracle};

const LOCATION: &str = "mbox:{dir}/mail/%u:INBOX={dir}/mail/%u/inbox";

/// One message as IMAP shows it: flags (sorted, no \Recent) and the full message.
type Messages = BTreeMap<u32, (Vec<String>, Vec<u8>)>;

#[derive(Debug, PartialEq, Eq)]
struct BoxState {
    uid_validity: u32,
    uid_next: u32,
    messages: Messages,
}

/// Python: `STATUS v n` then `MSG uid hexbody flags...` for every message of `mailbox`.
fn py_dump(mailbox: &str) -> String {
    format!(
        "import re\n\
         typ, st = c.status({mailbox:?}, '(UIDVALIDITY UIDNEXT)')\n\
         v = re.search(rb'UIDVALIDITY (\\d+)', st[0]).group(1).decode()\n\
         n = re.search(rb'UIDNEXT (\\d+)', st[0]).group(1).decode()\n\
         print('STATUS', v, n)\n\
         c.select({mailbox:?}, readonly=True)\n\
         typ, data = c.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[])')\n\
         for d in data:\n    \
             if not isinstance(d, tuple): continue\n    \
             uid = re.search(rb'UID (\\d+)', d[0]).group(1).decode()\n    \
             flags = re.search(rb'FLAGS \\(([^)]*)\\)', d[0]).group(1).decode().split()\n    \
             flags = sorted(f for f in flags if f != '\\\\Recent')\n    \
             print('MSG', uid, d[1].hex(), *flags)\n"
    )
}

fn parse_dump(lines: &[String]) -> BoxState {
    let mut state = BoxState {
        uid_validity: 0,
        uid_next: 0,
        messages: Messages::new(),
    };
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "STATUS" => {
                state.uid_validity = parts[1].parse().unwrap();
                state.uid_next = parts[2].parse().unwrap();
            }
            "MSG" => {
                let body = (0..parts[2].len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&parts[2][i..i + 2], 16).unwrap())
                    .collect();
                let flags = parts[3..].iter().map(|f| f.to_string()).collect();
                state
                    .messages
                    .insert(parts[1].parse().unwrap(), (flags, body));
            }
            _ => {}
        }
    }
    state
}

/// LF line ends as IMAP sends them (CRLF).
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 20);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// What cote's reader finds in an mbox file.
fn cote_read(path: &std::path::Path) -> BoxState {
    let data = std::fs::read(path).unwrap();
    let file = parse_mbox(&data).unwrap();
    let uids = assign_uids(&file);
    let known = file
        .base
        .as_ref()
        .map(|b| b.keywords.clone())
        .unwrap_or_default();
    let mut messages = Messages::new();
    for (m, uid) in file.messages.iter().zip(&uids.uids) {
        assert!(
            uid.in_file,
            "Dovecot wrote X-UID {} for every message",
            uid.uid
        );
        let mut flags: Vec<String> = m.meta.flags.names().map(str::to_string).collect();
        flags.extend(
            m.meta
                .keywords
                .iter()
                .filter(|k| known.contains(k))
                .cloned(),
        );
        flags.sort();
        messages.insert(uid.uid, (flags, crlf(&m.visible(&data))));
    }
    BoxState {
        uid_validity: uids.uid_validity.unwrap(),
        uid_next: uids.uid_next,
        messages,
    }
}

/// Appends, flag changes and an expunge done by Dovecot.
const DOVECOT_WORK: &str = r#"
c.create('Box')
msgs = [
    (r'(\Seen $Work)', b'From: a@example.com\r\nSubject: one\r\n\r\nhello\r\nFrom the body line\r\n'),
    (r'()', b'Subject: two\r\nX-UID: 999\r\nStatus: RO\r\nX-Keywords: Forged\r\n\r\nno final newline'),
    (r'(\Answered \Flagged Later)', b'Subject: three\r\n\r\n\r\nFrom a@b Thu Nov 29 22:33:52 2001\r\n\r\n'),
    (r'(\Draft)', b'Subject: four\r\n\r\n'),
    (r'(\Deleted $Work Later)', b'Subject: five\r\n\r\nx\r\n'),
    (r'()', b'Subject: six\r\n\r\n>From quoted\r\n'),
]
for flags, m in msgs:
    c.append('Box', flags, None, m)
c.select('Box')
c.uid('STORE', '2', '+FLAGS', r'(\Seen Later)')
c.uid('STORE', '1', '-FLAGS', r'($Work)')
c.uid('STORE', '4', '+FLAGS', r'(\Deleted)')
c.uid('EXPUNGE', '4')
c.unselect()
c.create('Empty')
c.append('Empty', None, None, b'Subject: gone\r\n\r\nx\r\n')
c.select('Empty')
c.store('1', '+FLAGS', r'(\Deleted)')
c.expunge()
c.close()
"#;

#[test]
fn cote_reads_what_dovecot_wrote() {
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap("alice", DOVECOT_WORK);
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Box")));
    assert_eq!(dovecot.messages.len(), 5, "{dovecot:?}");
    let cote = cote_read(&oracle.path("mail/alice/Box"));
    assert_eq!(cote, dovecot);
    assert!(oracle.complaints().is_empty(), "{:?}", oracle.complaints());

    // an emptied mailbox keeps its UIDVALIDITY and next UID in the file
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Empty")));
    let data = std::fs::read(oracle.path("mail/alice/Empty")).unwrap();
    let file = parse_mbox(&data).unwrap();
    assert!(file.messages.is_empty());
    let uids = assign_uids(&file);
    assert_eq!(
        (uids.uid_validity, uids.uid_next),
        (Some(dovecot.uid_validity), dovecot.uid_next),
        "{}",
        String::from_utf8_lossy(&data)
    );
}

/// The bytes of one append, after the From_ line, are Dovecot's (padding included).
/// What cote appends is what Dovecot appends, but for the From_ lines' dates: the headers it
/// drops, its own fields, the padding (less what the first message's keyword list in
/// `X-IMAPbase:` took), `Content-Length:`, an empty body saved as one LF.
#[test]
fn appends_byte_for_byte_like_dovecot() {
    let oracle = Oracle::start(LOCATION, "");
    let big = format!("{}\r\n", "y".repeat(100)).repeat(12);
    let messages: Vec<(MailFlags, Vec<String>, Vec<u8>)> = vec![
        (
            MailFlags::SEEN | MailFlags::FLAGGED | MailFlags::DRAFT,
            vec!["$Work".to_string()],
            b"From: a@example.com\r\nSubject: s\r\nStatus: RO\r\nX-UID: 77\r\n\r\nbody\r\nFrom x\r\nend"
                .to_vec(),
        ),
        (
            MailFlags::empty(),
            vec![],
            format!("Subject: big\r\n\r\n{big}").into_bytes(),
        ),
        (
            MailFlags::ANSWERED,
            vec![],
            b"Subject: empty body\r\n\r\n".to_vec(),
        ),
        (MailFlags::empty(), vec![], b"Subject: no body\r\n".to_vec()),
    ];
    let mut script = String::from("c.create('Fresh')\n");
    for (flags, keywords, message) in &messages {
        let mut list: Vec<String> = flags.names().map(str::to_string).collect();
        list.extend(keywords.iter().cloned());
        script.push_str(&format!(
            "c.append('Fresh', r'({})', None, bytes.fromhex('{}'))\n",
            list.join(" "),
            message
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
    }
    oracle.imap("alice", &script);
    let data = std::fs::read(oracle.path("mail/alice/Fresh")).unwrap();
    let file = parse_mbox(&data).unwrap();
    let base = file.base.clone().expect("X-IMAPbase");
    assert_eq!(base.keywords, ["$Work"]);
    let mut out = Vec::new();
    for (i, (flags, keywords, message)) in messages.iter().enumerate() {
        append_message(
            &mut out,
            &NewMessage {
                sender: "x",
                received: 0,
                local_offset_minutes: 0,
                uid: i as u32 + 1,
                flags: *flags,
                keywords,
                base: (i == 0).then_some(&base),
                message,
                delivery_id: None,
            },
        );
    }
    let without_from_lines = |d: &[u8]| {
        String::from_utf8_lossy(d)
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("From "))
            .collect::<String>()
    };
    assert_eq!(without_from_lines(&out), without_from_lines(&data));
}

#[test]
fn dovecot_serves_what_cote_wrote() {
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap("alice", "c.select('INBOX')");
    let keywords = vec!["$Work".to_string(), "Later".to_string()];
    let base = ImapBase {
        uid_validity: 1_700_000_123,
        last_uid: 3,
        keywords: keywords.clone(),
    };
    let messages: [(u32, MailFlags, &[String], &[u8]); 3] = [
        (
            1,
            MailFlags::SEEN,
            &keywords[..1],
            b"Subject: a\r\n\r\nFrom here\r\n",
        ),
        (
            2,
            MailFlags::ANSWERED | MailFlags::DRAFT,
            &[],
            b"Subject: b\r\nX-UID: 77\r\n\r\nbody",
        ),
        (
            3,
            MailFlags::FLAGGED | MailFlags::DELETED,
            &keywords,
            b"Subject: c\r\n\r\n",
        ),
    ];
    let mut out = Vec::new();
    let mut expected = Messages::new();
    for (uid, flags, kws, message) in messages {
        append_message(
            &mut out,
            &NewMessage {
                sender: "bob@example.com",
                received: 1_764_000_000,
                local_offset_minutes: 0,
                uid,
                flags,
                keywords: kws,
                base: (uid == 1).then_some(&base),
                message,
                delivery_id: None,
            },
        );
        let mut names: Vec<String> = flags.names().map(str::to_string).collect();
        names.extend(kws.iter().cloned());
        names.sort();
        let mut visible = message.to_vec();
        if uid == 2 {
            // the store's own headers are dropped, the body ends with a line feed
            visible = b"Subject: b\r\n\r\nbody\r\n".to_vec();
        }
        if uid == 3 {
            // an empty body is saved as one line feed, as Dovecot saves it
            visible = b"Subject: c\r\n\r\n\r\n".to_vec();
        }
        expected.insert(uid, (names, visible));
    }
    let path = oracle.path("mail/alice/Written");
    std::fs::write(&path, &out).unwrap();
    chown_tree(&path);
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Written")));
    assert_eq!(
        dovecot,
        BoxState {
            uid_validity: base.uid_validity,
            uid_next: 4,
            messages: expected
        }
    );
    assert!(oracle.complaints().is_empty(), "{:?}", oracle.complaints());
}

/// cote appends (under the same locks) to a file Dovecot wrote and keeps using: Dovecot
/// serves the new messages with the UIDs cote gave them, and its old ones untouched.
#[test]
fn dovecot_serves_what_cote_appended_to_its_file() {
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap(
        "alice",
        "c.create('Shared')\n\
         c.append('Shared', r'(\\Seen $Work)', None, b'Subject: d1\\r\\n\\r\\none\\r\\n')\n\
         c.append('Shared', None, None, b'Subject: d2\\r\\n\\r\\ntwo\\r\\n')\n",
    );
    let before = parse_dump(&oracle.imap("alice", &py_dump("Shared")));
    let path = oracle.path("mail/alice/Shared");
    let kws = vec!["$Work".to_string()];
    let policy = cote::fs::FsPolicy::dovecot_defaults();
    let locks = cote::fs::lock::mbox::MboxLockSettings::dovecot_defaults();
    let (validity, uids) = cote::storage::mbox::spool::append_messages(
        &policy,
        &locks,
        &path,
        &[NewMessage {
            sender: "carol@example.com",
            received: 1_764_000_000,
            local_offset_minutes: 0,
            uid: 0,
            flags: MailFlags::FLAGGED,
            keywords: &kws,
            base: None,
            message: b"Subject: c3\r\n\r\nFrom cote\r\n",
            delivery_id: None,
        }],
        1,
    )
    .unwrap();
    assert_eq!(validity, before.uid_validity);
    assert_eq!(uids, [before.uid_next]);
    let after = parse_dump(&oracle.imap("alice", &py_dump("Shared")));
    let mut expected = before.messages.clone();
    expected.insert(
        uids[0],
        (
            vec!["$Work".to_string(), "\\Flagged".to_string()],
            b"Subject: c3\r\n\r\nFrom cote\r\n".to_vec(),
        ),
    );
    assert_eq!(after.messages, expected);
    assert_eq!(after.uid_next, uids[0] + 1);
    assert!(oracle.complaints().is_empty(), "{:?}", oracle.complaints());
}

/// cote changes flags and keywords in place in a file Dovecot wrote (and has indexed):
/// Dovecot notices and serves the new flags, bodies unchanged.
#[test]
fn dovecot_sees_flags_cote_changed_in_place() {
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap(
        "alice",
        "c.create('Flags')\n\
         c.append('Flags', r'(\\Seen $Work)', None, b'Subject: f1\\r\\n\\r\\none\\r\\n')\n\
         c.append('Flags', r'(Later)', None, b'Subject: f2\\r\\n\\r\\nFrom two\\r\\n')\n\
         c.select('Flags')\nc.uid('FETCH', '1:*', '(FLAGS)')\nc.unselect()\n",
    );
    let before = parse_dump(&oracle.imap("alice", &py_dump("Flags")));
    let path = oracle.path("mail/alice/Flags");
    let policy = cote::fs::FsPolicy::dovecot_defaults();
    let locks = cote::fs::lock::mbox::MboxLockSettings::dovecot_defaults();
    let later = vec!["Later".to_string()];
    let both = vec!["$Work".to_string(), "Later".to_string()];
    let missing = cote::storage::mbox::spool::update_flags(
        &policy,
        &locks,
        &path,
        &[
            cote::storage::mbox::spool::FlagUpdate {
                uid: 1,
                flags: MailFlags::ANSWERED | MailFlags::DELETED,
                keywords: &later,
            },
            cote::storage::mbox::spool::FlagUpdate {
                uid: 2,
                flags: MailFlags::SEEN | MailFlags::FLAGGED | MailFlags::DRAFT,
                keywords: &both,
            },
        ],
    )
    .unwrap();
    assert!(missing.is_empty());
    let after = parse_dump(&oracle.imap("alice", &py_dump("Flags")));
    let flags = |uid: u32| after.messages[&uid].0.clone();
    assert_eq!(flags(1), ["Later", "\\Answered", "\\Deleted"]);
    assert_eq!(
        flags(2),
        ["$Work", "Later", "\\Draft", "\\Flagged", "\\Seen"]
    );
    for uid in [1, 2] {
        assert_eq!(after.messages[&uid].1, before.messages[&uid].1);
    }
    assert_eq!(
        (after.uid_validity, after.uid_next),
        (before.uid_validity, before.uid_next)
    );
    assert!(oracle.complaints().is_empty(), "{:?}", oracle.complaints());
}

/// A spool another program wrote (no Dovecot headers, `>From ` quoting, a wrong
/// Content-Length, body lines that look like From_ lines, forged X-UID and Status): cote
/// splits it into the same messages, with the same UIDs and flags, as Dovecot.
#[test]
fn foreign_spool_splits_like_dovecot() {
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap("alice", "c.select('INBOX')");
    let spool: &[u8] = b"From MAILER-DAEMON Thu Nov 29 22:33:52 2001\n\
Subject: one\nX-UID: 5\nStatus: RO\n\nbody\n>From quoted\nFrom here on, not a separator\n\n\
From bob@example.com  Fri Nov 30 01:02:03 2001\n\
Subject: two\nContent-Length: 3\nX-Status: AF\n\nabc\nFrom x\nstill two\n\n\
From \"a b\"@example.com Sat, 1 Dec 2001 10:00:00\n\
Subject: three\nContent-Length: 4\n\nabc\n\n\
From c@d Sun Dec  2 10:00 2001 +0200\nSubject: four\n\nFrom c@d Sun Dec  2 10:00 2001\n\n\
From e@f Mon Dec  3 11:00:00 2001\nSubject: five\n\nlast, no final newline";
    let path = oracle.path("mail/alice/inbox");
    std::fs::write(&path, spool).unwrap();
    chown_tree(&path);
    // cote reads the bytes as written (Dovecot will add its headers when it syncs)
    let file = parse_mbox(spool).unwrap();
    let uids = assign_uids(&file);
    let mut cote = Messages::new();
    for (m, uid) in file.messages.iter().zip(&uids.uids) {
        let mut flags: Vec<String> = m.meta.flags.names().map(str::to_string).collect();
        flags.sort();
        cote.insert(uid.uid, (flags, crlf(&m.visible(spool))));
    }
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("INBOX")));
    assert_eq!(cote, dovecot.messages);
    // the From_ line in message four's body splits it; Content-Length 3 is wrong
    assert_eq!(cote.len(), 6);
    assert_eq!(uids.uid_next, dovecot.uid_next);
    // and what Dovecot made of the file still reads the same
    let synced = cote_read(&path);
    assert_eq!(synced.messages, dovecot.messages);
}

/// cote's mailbox (through `MailUser`, as an IMAP session uses it) on the tree Dovecot
/// serves: `mbox:` with `INBOX=` like Debian's `mbox:~/mail:INBOX=/var/mail/%u`.
fn cote_user(oracle: &Oracle) -> cote::storage::user::MailUser {
    let mut settings = cote::storage::settings::StorageSettings::dovecot_defaults();
    settings.temp_dir = oracle.path("");
    let root = oracle.path("mail/alice");
    let location = format!(
        "mbox:{}:INBOX={}",
        root.display(),
        root.join("inbox").display()
    );
    cote::storage::user::MailUser::with_namespaces(
        cote::storage::user::MailUserInfo {
            username: "alice".into(),
            home: Some(oracle.path("home/alice").display().to_string()),
            service: "imap".into(),
            ..Default::default()
        },
        std::sync::Arc::new(settings),
        vec![cote::storage::namespace::NamespaceConfig::implicit_inbox()],
        &location,
        true,
    )
    .unwrap()
}

/// What a cote session serves: the same shape as [`py_dump`]'s.
fn cote_dump(user: &mut cote::storage::user::MailUser, mailbox: &str) -> BoxState {
    use cote::storage::api::OpenOptions;
    let status = user.status(mailbox).unwrap();
    let mut mb = user.open(mailbox, OpenOptions::EXAMINE).unwrap();
    let mut messages = Messages::new();
    for uid in mb.seqs().uids().to_vec() {
        let info = mb.info(uid).unwrap();
        let mut flags: Vec<String> = info.flags.names().map(str::to_string).collect();
        flags.extend(info.keywords.iter().cloned());
        flags.sort();
        let body = crlf(mb.mail(uid).unwrap().raw().unwrap());
        messages.insert(uid, (flags, body));
    }
    BoxState {
        uid_validity: status.uidvalidity,
        uid_next: status.uidnext,
        messages,
    }
}

/// A mailbox Dovecot wrote and changed is served by cote's mailbox with the same
/// UIDVALIDITY, UIDNEXT, UIDs, flags, keywords and bytes; then cote saves, changes flags
/// (one in place, one with a new keyword name, which rewrites the file) and expunges, and
/// Dovecot serves exactly what cote then serves.
#[test]
fn mailboxes_served_the_same_both_ways() {
    use cote::storage::api::{FlagMode, OpenOptions, StoreRequest, UidSet};
    let oracle = Oracle::start(LOCATION, "");
    oracle.imap("alice", DOVECOT_WORK);
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Box")));
    let mut user = cote_user(&oracle);
    assert_eq!(cote_dump(&mut user, "Box"), dovecot);

    let mut mb = user.open("Box", OpenOptions::SELECT).unwrap();
    let data = b"Subject: by cote\r\nX-UID: 3\r\n\r\nFrom cote\r\n";
    let saved = mb
        .save(
            &[cote::storage::api::NewMessage {
                data,
                flags: MailFlags::SEEN,
                keywords: vec!["Later".into()],
                internal_date: Some(1_764_000_000),
            }],
            true,
        )
        .unwrap();
    assert_eq!(saved.uids, [dovecot.uid_next]);
    let store = |mb: &mut Box<dyn cote::storage::api::Mailbox>, uid: u32, kw: &[&str]| {
        mb.store(
            &UidSet::range(uid, uid),
            &StoreRequest {
                mode: FlagMode::Add,
                flags: MailFlags::FLAGGED,
                keywords: kw.iter().map(|s| s.to_string()).collect(),
                unchanged_since: None,
            },
        )
        .unwrap();
    };
    store(&mut mb, 1, &[]);
    store(&mut mb, 2, &["NewName"]);
    mb.expunge(&UidSet::range(3, 3)).unwrap();
    drop(mb);
    chown_tree(&oracle.path("mail/alice"));
    let cote = cote_dump(&mut user, "Box");
    assert!(!cote.messages.contains_key(&3));
    assert!(cote.messages[&2].0.contains(&"NewName".to_string()));
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Box")));
    assert_eq!(dovecot, cote);
    // Dovecot's index still had the old offsets: its quick sync finds no From_ line where
    // it expected one, logs it, and reads the whole file again (as after mutt rewrote it).
    let complaints: Vec<String> = oracle
        .complaints()
        .into_iter()
        .filter(|c| !c.contains("Next message unexpectedly corrupted in mbox file"))
        .collect();
    assert!(complaints.is_empty(), "{complaints:?}");

    // mail Dovecot delivers meanwhile gets the next UID in cote's session too
    oracle.imap(
        "alice",
        "c.append('Box', r'(\\Draft)', None, b'Subject: later\\r\\n\\r\\nx\\r\\n')",
    );
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump("Box")));
    assert_eq!(cote_dump(&mut user, "Box"), dovecot);
}

/// Flags set on mail an MTA delivered (no Dovecot headers, one `Status:` already there, one
/// body over 1024 bytes): cote's sync writes the fields Dovecot's writes, in the same places
/// (existing fields stay where they are, missing ones follow them in Dovecot's order,
/// `Content-Length:` only for the large body). Only the amount of padding may differ.
#[test]
fn sync_writes_headers_where_dovecot_does() {
    use cote::storage::api::{FlagMode, OpenOptions, StoreRequest, UidSet};
    let oracle = Oracle::start(LOCATION, "");
    let large = "z".repeat(70) + "\n";
    let spool = format!(
        "From mta@example.com  Thu Nov 29 22:33:52 2001\nReceived: from x\nSubject: one\n\
         Message-ID: <1@x>\n\nbody one\n\n\
         From mta@example.com  Thu Nov 29 22:33:52 2001\nSubject: two\nStatus: RO\n\nbody two\n\n\
         From mta@example.com  Thu Nov 29 22:33:52 2001\nSubject: three\nX-Status: A\n\n{}\n",
        large.repeat(20)
    );
    std::fs::create_dir_all(oracle.path("mail/alice")).unwrap();
    for name in ["Dovecot", "Cote"] {
        std::fs::write(oracle.path(&format!("mail/alice/{name}")), &spool).unwrap();
    }
    chown_tree(&oracle.path("mail/alice"));
    let changes: [(u32, MailFlags, &[&str]); 3] = [
        (1, MailFlags::FLAGGED, &["$Label1"]),
        (2, MailFlags::SEEN, &[]),
        (3, MailFlags::DRAFT, &[]),
    ];
    let mut script = String::from("c.select('Dovecot')\n");
    for (uid, flags, keywords) in changes {
        let mut list: Vec<String> = flags.names().map(str::to_string).collect();
        list.extend(keywords.iter().map(|k| k.to_string()));
        script.push_str(&format!(
            "c.uid('STORE', '{uid}', '+FLAGS', r'({})')\n",
            list.join(" ")
        ));
    }
    script.push_str("c.close()\n");
    oracle.imap("alice", &script);

    let mut user = cote_user(&oracle);
    let mut mb = user.open("Cote", OpenOptions::SELECT).unwrap();
    for (uid, flags, keywords) in changes {
        mb.store(
            &UidSet::range(uid, uid),
            &StoreRequest {
                mode: FlagMode::Add,
                flags,
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
                unchanged_since: None,
            },
        )
        .unwrap();
    }
    // (closing writes the changes, as Dovecot's CLOSE does)
    drop(mb);
    // each line without its padding; X-IMAPbase without the UIDVALIDITY
    let layout = |name: &str| -> Vec<String> {
        let data = std::fs::read(oracle.path(&format!("mail/alice/{name}"))).unwrap();
        String::from_utf8_lossy(&data)
            .lines()
            .map(|l| match l.strip_prefix("X-IMAPbase: ") {
                Some(v) => format!("X-IMAPbase: * {}", v.split_once(' ').map_or("", |p| p.1)),
                None => l.trim_end().to_string(),
            })
            .collect()
    };
    let dovecot = layout("Dovecot");
    assert_eq!(layout("Cote"), dovecot);
    assert!(
        dovecot.contains(&"Content-Length: 1420".to_string()),
        "{dovecot:?}"
    );
    assert!(oracle.complaints().is_empty(), "{:?}", oracle.complaints());
}
