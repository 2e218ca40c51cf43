//! [`StorageSession`] over a real Maildir: two sessions on one user's store (as two processes
//! would have them) see each other's changes through storage, and their own only from the
//! commands' results.

use super::*;
use crate::config::Config;
use crate::imap::flags::FlagList;
use crate::imap::mail_session::MailMessage;
use crate::imap::parser::store::StoreMode;
use crate::storage::api::MailFlags;
use crate::storage::user::MailUserInfo;

fn user(dir: &std::path::Path) -> MailUser {
    let path = dir.join("cote.conf");
    std::fs::write(
        &path,
        format!(
            "mail_location = maildir:{}/mail\nnamespace inbox {{\n  inbox = yes\n  separator = /\n}}\n",
            dir.display()
        ),
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let info = MailUserInfo {
        username: "alice".into(),
        home: Some(dir.join("home").display().to_string()),
        service: "imap".into(),
        ..MailUserInfo::default()
    };
    MailUser::new(&config.global(), info).unwrap()
}

fn session(dir: &std::path::Path) -> StorageSession {
    StorageSession::new(user(dir), DEFAULT_IDLE_CHECK_INTERVAL)
}

fn append(s: &mut StorageSession, mailbox: &str, text: &[u8], flags: MailFlags) -> u32 {
    s.append_begin(mailbox).unwrap();
    s.append_message(&MessageInfo {
        flags: FlagList {
            system: flags,
            keywords: Vec::new(),
        },
        date: None,
        catenate: false,
    })
    .unwrap();
    s.append_data(&mut &text[..], false).unwrap();
    s.append_message_end().unwrap();
    let result = s.append_commit().unwrap();
    assert_eq!(result.uids.len(), 1);
    result.uids[0]
}

fn change(mode: StoreMode, flags: MailFlags) -> FlagChange {
    FlagChange {
        mode,
        flags: FlagList {
            system: flags,
            keywords: Vec::new(),
        },
        unchanged_since: None,
    }
}

fn uids(list: &[u32]) -> UidSet {
    list.iter().copied().collect()
}

const MESSAGE: &[u8] = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";

#[test]
fn another_sessions_changes_come_through_sync_and_own_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    let mut b = session(dir.path());
    let first = append(&mut a, "INBOX", MESSAGE, MailFlags::empty());
    let selected = a.select("INBOX", false).unwrap();
    assert_eq!(selected.uids, [first]);
    assert!(selected.recent.contains(first));
    b.select("INBOX", false).unwrap();

    // b appends: both see a new message (IMAP reports one's own APPEND with EXISTS too),
    // \Recent only for b, whose SELECT claimed it.
    let second = append(&mut b, "INBOX", MESSAGE, MailFlags::empty());
    let own = b.sync().unwrap();
    assert_eq!(own.new, [second]);
    assert!(own.new_recent.contains(second));
    let changes = a.sync().unwrap();
    assert_eq!(changes.new, [second]);
    assert!(changes.new_recent.is_empty());
    assert!(changes.expunged.is_empty() && changes.flags_changed.is_empty());

    // b stores \Seen on the first: a is told, b is not (it answered from the result).
    let stored = b
        .store(&uids(&[first]), &change(StoreMode::Add, MailFlags::SEEN))
        .unwrap();
    assert!(stored.changed.contains(first));
    assert!(b.sync().unwrap().flags_changed.is_empty());
    let changes = a.sync().unwrap();
    assert_eq!(changes.flags_changed, uids(&[first]));
    let flags = a.message(first).unwrap().flags().unwrap();
    assert!(flags.system.contains(MailFlags::SEEN));

    // a expunges the second: b is told, a is not.
    a.store(
        &uids(&[second]),
        &change(StoreMode::Add, MailFlags::DELETED),
    )
    .unwrap();
    assert_eq!(a.expunge(None).unwrap(), uids(&[second]));
    assert!(a.sync().unwrap().expunged.is_empty());
    let changes = b.sync().unwrap();
    assert_eq!(changes.expunged, uids(&[second]));
    // Nothing more for either.
    assert_eq!(a.sync().unwrap(), MailboxChanges::default());
    assert_eq!(b.sync().unwrap(), MailboxChanges::default());
}

#[test]
fn examine_shows_unclaimed_messages_as_recent_and_leaves_them_to_select() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    let uid = append(&mut a, "INBOX", MESSAGE, MailFlags::empty());
    let examined = a.select("INBOX", true).unwrap();
    assert!(examined.read_only);
    assert!(examined.recent.contains(uid));
    a.close(false).unwrap();
    let mut b = session(dir.path());
    let selected = b.select("INBOX", false).unwrap();
    assert!(selected.recent.contains(uid), "EXAMINE claimed it");
    let again = a.select("INBOX", true).unwrap();
    assert!(again.recent.is_empty(), "claimed by the SELECT");
}

#[test]
fn copy_and_append_into_another_mailbox_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    a.create("Archive").unwrap();
    let uid = append(&mut a, "INBOX", MESSAGE, MailFlags::FLAGGED);
    a.select("INBOX", false).unwrap();
    let copied = a.copy(&uids(&[uid]), "Archive", false).unwrap();
    assert_eq!(copied.source, uids(&[uid]));
    assert_eq!(copied.destination.len(), 1);
    let items = StatusItems::default();
    let archive = a.status("Archive", &items).unwrap();
    assert_eq!(archive.messages, 1);
    assert_eq!(archive.uid_validity, copied.uid_validity);
    // STATUS of the selected mailbox counts the \Recent messages this session claimed.
    let inbox = a.status("inbox", &items).unwrap();
    assert_eq!((inbox.messages, inbox.recent), (1, 1));
    assert!(a.is_selected("inbox"));
    // Into a mailbox that does not exist: TRYCREATE's error kind.
    a.append_begin("Nope").unwrap_err();
    assert_eq!(
        a.copy(&uids(&[uid]), "Nope", false).unwrap_err().kind,
        MailErrorKind::NotFound
    );
}

#[test]
fn a_message_expunged_by_another_session_shows_as_it_was_last_until_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    let mut b = session(dir.path());
    let uid = append(&mut a, "INBOX", MESSAGE, MailFlags::SEEN);
    a.select("INBOX", false).unwrap();
    b.select("INBOX", false).unwrap();
    b.store(&uids(&[uid]), &change(StoreMode::Add, MailFlags::DELETED))
        .unwrap();
    b.expunge(None).unwrap();

    // A command of a's reads the newest flags, though nothing was reported yet.
    a.begin_command();
    let flags = a.message(uid).unwrap().flags().unwrap();
    assert_eq!(flags.system, MailFlags::SEEN | MailFlags::DELETED);
    let changes = a.sync().unwrap();
    assert_eq!(changes.flags_changed, uids(&[uid]));
    assert_eq!(changes.expunged, uids(&[uid]));
    // Until the client is told, the message keeps showing (its flags; its content is gone).
    a.begin_command();
    let mut message = a.message(uid).unwrap();
    assert!(message.flags().unwrap().system.contains(MailFlags::DELETED));
    assert_eq!(
        message.parsed().err().map(|e| e.kind),
        Some(MailErrorKind::Expunged)
    );
    drop(message);
    a.expunges_reported(&uids(&[uid]));
    assert_eq!(
        a.message(uid).err().map(|e| e.kind),
        Some(MailErrorKind::Expunged)
    );
}

/// What SORT and THREAD read of a message: the headers come from the index cache once a
/// command has read them, so a second SORT does not open the files again (here: their
/// content replaced behind the cache's back changes nothing).
#[test]
fn sort_and_thread_values_come_from_the_cache_the_second_time() {
    use crate::imap::parser::sort::SortKey;
    use crate::imap::sort::{header_value, sort_value};
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    let texts: [&[u8]; 2] = [
        b"From: Zed <zed@example.com>\r\nTo: b@c\r\nCc: d@e\r\nSubject: Re: lunch\r\n\
Date: Sun, 2 Jan 2000 10:00:00 +0000\r\nMessage-ID: <1@x>\r\nReferences: <0@x>\r\n\
In-Reply-To: <0@x>\r\n\r\nbody\r\n",
        b"From: amy@example.com\r\nSubject: apples\r\n\r\nbody\r\n",
    ];
    let uids: Vec<u32> = texts
        .iter()
        .map(|t| append(&mut a, "INBOX", t, MailFlags::empty()))
        .collect();
    let keys = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];
    let read = |s: &mut StorageSession| {
        let mut values = Vec::new();
        for &uid in &uids {
            let mut message = s.message(uid).unwrap();
            for key in keys {
                values.push(format!("{:?}", sort_value(&mut message, key).unwrap()));
            }
            for name in ["Message-ID", "References", "In-Reply-To"] {
                values.push(format!("{:?}", header_value(&mut message, name).unwrap()));
            }
        }
        values
    };
    a.select("INBOX", false).unwrap();
    let first = read(&mut a);
    let lunch = format!(
        "{:?}",
        crate::imap::sort::SortValue::Text(b"LUNCH".to_vec())
    );
    assert!(first.contains(&lunch), "{first:?}");
    a.close(false).unwrap();
    // Every message file now says something else (same size, so the names stay right).
    for sub in ["cur", "new"] {
        let Ok(entries) = std::fs::read_dir(dir.path().join("mail").join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            std::fs::write(&path, vec![b'x'; len]).unwrap();
        }
    }
    let mut b = session(dir.path());
    b.select("INBOX", false).unwrap();
    assert_eq!(read(&mut b), first);
}

/// STATUS on the selected mailbox: the view's counts as of the last sync, and the UIDNEXT a
/// message added and expunged elsewhere in between still moves.
#[test]
fn view_totals_and_last_uid_follow_the_last_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    let mut b = session(dir.path());
    let first = append(&mut a, "INBOX", MESSAGE, MailFlags::SEEN);
    let second = append(&mut a, "INBOX", MESSAGE, MailFlags::empty());
    a.select("INBOX", false).unwrap();
    b.select("INBOX", false).unwrap();
    let size = MESSAGE.len() as u64;
    let view = [first, second];
    let totals = a.view_totals(&view).unwrap();
    assert_eq!((totals.unseen, totals.size), (1, 2 * size));
    // b marks the second seen and expunges the first: a counts as before until it syncs.
    b.store(&uids(&[second]), &change(StoreMode::Add, MailFlags::SEEN))
        .unwrap();
    b.store(&uids(&[first]), &change(StoreMode::Add, MailFlags::DELETED))
        .unwrap();
    b.expunge(None).unwrap();
    let totals = a.view_totals(&view).unwrap();
    assert_eq!((totals.unseen, totals.size), (1, 2 * size));
    let changes = a.sync().unwrap();
    assert_eq!(changes.expunged, uids(&[first]));
    // The expunged one still counts (the client has not been told), with its last flags.
    let totals = a.view_totals(&view).unwrap();
    assert_eq!((totals.unseen, totals.size), (0, 2 * size));
    // Added and expunged elsewhere between two syncs: never new, but the last UID.
    let third = append(&mut b, "INBOX", MESSAGE, MailFlags::DELETED);
    b.expunge(None).unwrap();
    let changes = a.sync().unwrap();
    assert!(changes.new.is_empty());
    assert_eq!(changes.last_uid, third);
}

#[test]
fn a_condstore_session_makes_every_later_select_see_modseqs() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = session(dir.path());
    for name in ["Sel", "Stat", "App", "Copy", "Late"] {
        a.create(name).unwrap();
    }
    let uid = append(&mut a, "Sel", MESSAGE, MailFlags::empty());
    append(&mut a, "Stat", MESSAGE, MailFlags::empty());
    append(&mut a, "Late", MESSAGE, MailFlags::empty());
    let tracking = |s: &mut StorageSession, name: &str| {
        let selected = s.select(name, true).unwrap();
        s.close(false).unwrap();
        selected.modseq_tracking
    };
    // Sessions without CONDSTORE change nothing, whatever they do.
    let mut b = session(dir.path());
    b.select("Sel", false).unwrap();
    b.status("Stat", &StatusItems::default()).unwrap();
    b.copy(&uids(&[uid]), "Copy", false).unwrap();
    append(&mut b, "App", MESSAGE, MailFlags::empty());
    b.close(false).unwrap();
    for name in ["Sel", "Stat", "App", "Copy", "Late"] {
        assert!(!tracking(&mut a, name), "{name}");
    }
    // With CONDSTORE: what it opens (and what it has selected when enabling) is marked.
    b.select("Late", false).unwrap();
    b.enable_condstore();
    b.close(false).unwrap();
    b.select("Sel", true).unwrap();
    b.status("Stat", &StatusItems::default()).unwrap();
    b.copy(&uids(&[uid]), "Copy", false).unwrap();
    append(&mut b, "App", MESSAGE, MailFlags::empty());
    for name in ["Sel", "Stat", "App", "Copy", "Late"] {
        assert!(tracking(&mut a, name), "{name}");
    }
}
