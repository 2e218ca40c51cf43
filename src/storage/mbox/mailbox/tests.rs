//! The mbox mailbox against real files: Dovecot's files served with their UIDs and flags,
//! mail other programs append, saves, flag changes and expunges written into the file, and
//! the index reused while the file is unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use crate::storage::api::{
    Change, FlagMode, MailFlags, Mailbox, MailboxStatus, NewMessage, OpenOptions, StoreRequest,
    SyncFlags, UidSet,
};
use crate::storage::mbox::format::{assign_uids, parse_mbox};
use crate::storage::namespace::NamespaceConfig;
use crate::storage::settings::StorageSettings;
use crate::storage::user::{MailUser, MailUserInfo};

struct Fixture {
    dir: tempfile::TempDir,
}

/// Dovecot 2.3's file for two messages (reference §3.9), keyword `$Work` on the first.
const DOVECOT_FILE: &str = "From alice@vm  Sat Nov 28 15:09:59 2026\n\
From: a@example.com\n\
Subject: mbox test\n\
X-IMAPbase: 1795878599 0000000002 $Work\n\
X-UID: 1\n\
Status: R\n\
X-Keywords: $Work                                                           \n\
Content-Length: 25\n\
\n\
hello\n\
From the body line\n\
\n\
From alice@vm  Sat Nov 28 15:09:59 2026\n\
Subject: second\n\
X-UID: 2\n\
Status: \n\
X-Status: F\n\
X-Keywords:                                                                         \n\
Content-Length: 4\n\
\n\
two\n\
\n";

/// What Postfix `local` appends: a From_ line and the message, no Dovecot headers.
const MTA_MAIL: &str = "From bob@example.com  Sun Nov 29 01:02:03 2026\n\
Subject: from the MTA\n\
\n\
delivered\n\
\n";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mail")).unwrap();
        Fixture { dir }
    }

    fn inbox(&self) -> PathBuf {
        self.dir.path().join("spool-u")
    }

    fn user(&self) -> MailUser {
        self.user_with(StorageSettings::dovecot_defaults())
    }

    fn user_with(&self, mut settings: StorageSettings) -> MailUser {
        settings.temp_dir = self.dir.path().to_path_buf();
        let info = MailUserInfo {
            username: "u".into(),
            home: Some(self.dir.path().display().to_string()),
            service: "imap".into(),
            ..MailUserInfo::default()
        };
        let location = format!("mbox:~/mail:INBOX={}", self.inbox().display());
        MailUser::with_namespaces(
            info,
            Arc::new(settings),
            vec![NamespaceConfig::implicit_inbox()],
            &location,
            true,
        )
        .unwrap()
    }

    fn open(&self, name: &str, options: OpenOptions) -> Box<dyn Mailbox> {
        self.user().open(name, options).unwrap()
    }

    fn append_raw(&self, bytes: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.inbox())
            .unwrap();
        f.write_all(bytes.as_bytes()).unwrap();
    }
}

fn uids(mb: &dyn Mailbox) -> Vec<u32> {
    mb.seqs().uids().to_vec()
}

fn body(mb: &mut dyn Mailbox, uid: u32) -> String {
    String::from_utf8(mb.mail(uid).unwrap().raw().unwrap().to_vec()).unwrap()
}

fn save(mb: &mut dyn Mailbox, text: &str, flags: MailFlags, kw: &[&str]) -> u32 {
    let data = format!("Subject: {text}\r\nX-UID: 999\r\n\r\nbody {text}\r\n").into_bytes();
    mb.save(
        &[NewMessage {
            data: &data,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            internal_date: Some(1_700_000_000),
        }],
        true,
    )
    .unwrap()
    .uids[0]
}

fn store(mb: &mut dyn Mailbox, uid: u32, mode: FlagMode, flags: MailFlags, kw: &[&str]) {
    mb.store(
        &UidSet::range(uid, uid),
        &StoreRequest {
            mode,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            unchanged_since: None,
        },
    )
    .unwrap();
}

/// One message as the file says: (uid, flags, keywords).
type FileMessage = (u32, MailFlags, Vec<String>);

/// The file's UIDVALIDITY and messages as Dovecot would read them.
fn file_view(fx: &Fixture) -> (Option<u32>, Vec<FileMessage>) {
    let data = std::fs::read(fx.inbox()).unwrap();
    let file = parse_mbox(&data).unwrap();
    let uids = assign_uids(&file);
    assert!(
        uids.uids.iter().all(|u| u.in_file),
        "UIDs not all in the file"
    );
    (
        uids.uid_validity,
        file.messages
            .iter()
            .zip(&uids.uids)
            .map(|(m, u)| (u.uid, m.meta.flags, m.meta.keywords.clone()))
            .collect(),
    )
}

#[test]
fn serves_dovecots_file_with_its_uids_and_flags() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let before = std::fs::read(fx.inbox()).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(mb.uidvalidity(), 1795878599);
    assert_eq!(uids(mb.as_ref()), [1, 2]);
    let first = mb.info(1).unwrap();
    assert_eq!(first.flags, MailFlags::SEEN);
    assert_eq!(first.keywords, ["$Work"]);
    assert_eq!(mb.info(2).unwrap().flags, MailFlags::FLAGGED);
    assert_eq!(mb.keywords(), ["$Work"]);
    assert_eq!(
        body(mb.as_mut(), 1),
        "From: a@example.com\nSubject: mbox test\n\nhello\nFrom the body line\n"
    );
    assert_eq!(body(mb.as_mut(), 2), "Subject: second\n\ntwo\n");
    let status = mb.status().unwrap();
    assert_eq!((status.messages, status.uidnext), (2, 3));
    // reading changed nothing
    assert_eq!(std::fs::read(fx.inbox()).unwrap(), before);
    assert!(fx.dir.path().join("mail/.imap/INBOX").is_dir());
}

#[test]
fn mail_another_program_appends_gets_the_next_uid() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    fx.append_raw(MTA_MAIL);
    let changes = mb.sync(SyncFlags::default()).unwrap();
    assert!(
        changes.contains(&Change::Appended { uid: 3 }),
        "{changes:?}"
    );
    assert_eq!(uids(mb.as_ref()), [1, 2, 3]);
    assert_eq!(body(mb.as_mut(), 3), "Subject: from the MTA\n\ndelivered\n");
    assert_eq!(mb.info(1).unwrap().flags, MailFlags::SEEN);
    // the UID was written into the file, X-IMAPbase follows
    let (validity, msgs) = file_view(&fx);
    assert_eq!(validity, Some(1795878599));
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 3]);
    // another session agrees
    let other = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(uids(other.as_ref()), [1, 2, 3]);
}

#[test]
fn a_spool_written_only_by_the_mta_gets_uids() {
    let fx = Fixture::new();
    fx.append_raw(MTA_MAIL);
    fx.append_raw(MTA_MAIL);
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2]);
    let validity = mb.uidvalidity();
    assert_ne!(validity, 0);
    assert_eq!(body(mb.as_mut(), 2), "Subject: from the MTA\n\ndelivered\n");
    let (v, msgs) = file_view(&fx);
    assert_eq!(v, Some(validity));
    assert_eq!(msgs.len(), 2);
}

#[test]
fn saves_stores_and_expunges_go_into_the_file() {
    let fx = Fixture::new();
    let mut settings = StorageSettings::dovecot_defaults();
    settings.mbox.lazy_writes = false;
    let mut mb = fx
        .user_with(settings)
        .open("INBOX", OpenOptions::SELECT)
        .unwrap();
    assert_eq!(uids(mb.as_ref()), Vec::<u32>::new());
    let a = save(mb.as_mut(), "a", MailFlags::SEEN, &["$Work"]);
    let b = save(mb.as_mut(), "b", MailFlags::empty(), &[]);
    let c = save(mb.as_mut(), "c", MailFlags::DRAFT, &["Later"]);
    assert_eq!((a, b, c), (1, 2, 3));
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(body(mb.as_mut(), 1), "Subject: a\n\nbody a\n");
    // in place (padding), and with a new keyword name (X-IMAPbase grows: a rewrite)
    store(mb.as_mut(), 2, FlagMode::Add, MailFlags::FLAGGED, &[]);
    store(
        mb.as_mut(),
        2,
        FlagMode::Add,
        MailFlags::ANSWERED,
        &["NewName"],
    );
    let (_, msgs) = file_view(&fx);
    assert_eq!(
        msgs[1],
        (
            2,
            MailFlags::FLAGGED | MailFlags::ANSWERED,
            vec!["NewName".to_string()]
        )
    );
    assert_eq!(msgs[2].2, ["Later"]);
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(mb.info(2).unwrap().keywords, ["NewName"]);
    let gone = mb.expunge(&UidSet::range(1, 1)).unwrap();
    assert_eq!(gone.iter().collect::<Vec<_>>(), [1]);
    mb.sync(SyncFlags::default()).unwrap();
    mb.take_expunges();
    assert_eq!(uids(mb.as_ref()), [2, 3]);
    let (_, msgs) = file_view(&fx);
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(body(mb.as_mut(), 3), "Subject: c\n\nbody c\n");
    drop(mb);
    // reopened (lazy writes, the default, from here on): same UIDs, next UID kept
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [2, 3]);
    assert_eq!(save(mb.as_mut(), "d", MailFlags::empty(), &[]), 4);
    // every message expunged: the pseudo message keeps the UIDs going
    mb.expunge(&UidSet::range(1, 10)).unwrap();
    let data = std::fs::read_to_string(fx.inbox()).unwrap();
    assert!(data.contains("X-IMAP: "), "{data}");
    mb.sync(SyncFlags::default()).unwrap();
    mb.take_expunges();
    assert_eq!(uids(mb.as_ref()), Vec::<u32>::new());
    assert_eq!(save(mb.as_mut(), "e", MailFlags::empty(), &[]), 5);
    assert_eq!(body(mb.as_mut(), 5), "Subject: e\n\nbody e\n");
}

#[test]
fn other_sessions_see_changes() {
    let fx = Fixture::new();
    let mut a = fx.open("INBOX", OpenOptions::SELECT);
    let mut b = fx.open("INBOX", OpenOptions::SELECT);
    save(a.as_mut(), "a", MailFlags::empty(), &[]);
    let changes = b.sync(SyncFlags::default()).unwrap();
    assert!(
        changes.contains(&Change::Appended { uid: 1 }),
        "{changes:?}"
    );
    store(a.as_mut(), 1, FlagMode::Add, MailFlags::SEEN, &[]);
    b.sync(SyncFlags::default()).unwrap();
    assert_eq!(b.info(1).unwrap().flags, MailFlags::SEEN);
}

#[test]
fn lists_files_as_mailboxes_and_directories_as_parents() {
    let fx = Fixture::new();
    let mut user = fx.user();
    user.create("Sent").unwrap();
    user.create("Work/Project").unwrap();
    assert!(fx.dir.path().join("mail/Sent").is_file());
    assert!(fx.dir.path().join("mail/Work").is_dir());
    let (list, _) = user.list_for("INBOX").unwrap();
    let mut got: Vec<(String, bool, bool)> = list
        .mailboxes()
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.selectable, m.has_children))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("INBOX".to_string(), true, false),
            ("Sent".to_string(), true, false),
            ("Work".to_string(), false, true),
            ("Work/Project".to_string(), true, false),
        ]
    );
    let mut mb = user.open("Work/Project", OpenOptions::SELECT).unwrap();
    save(mb.as_mut(), "x", MailFlags::empty(), &[]);
    drop(mb);
    assert!(fx.dir.path().join("mail/Work/.imap/Project").is_dir());
    user.set_subscribed("Sent", true).unwrap();
    assert_eq!(
        std::fs::read_to_string(fx.dir.path().join("mail/.subscriptions")).unwrap(),
        "V\t2\n\nSent\n"
    );
    user.rename("Sent", "Old").unwrap();
    assert!(fx.dir.path().join("mail/Old").is_file());
    user.delete("Old").unwrap();
    assert!(!fx.dir.path().join("mail/Old").exists());
}

#[test]
fn an_unchanged_file_is_not_read_again() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    let status = mb.status().unwrap();
    drop(mb);
    // Same inode, size and mtime, other bytes: only the index can answer now.
    let mtime = std::fs::metadata(fx.inbox()).unwrap().modified().unwrap();
    let garbage = vec![b'x'; DOVECOT_FILE.len()];
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.inbox())
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &garbage, 0).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2]);
    assert_eq!(mb.info(2).unwrap().flags, MailFlags::FLAGGED);
    assert_eq!(
        mb.status().unwrap(),
        MailboxStatus {
            recent: 0,
            ..status
        }
    );
    // a body needs the file, which is no mbox any more: an error, not a panic
    assert!(mb.mail(1).is_err());
}

#[test]
fn saved_mail_names_the_user_in_its_from_line() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    save(mb.as_mut(), "a", MailFlags::empty(), &[]);
    let data = std::fs::read_to_string(fx.inbox()).unwrap();
    assert!(data.starts_with("From u@"), "{data}");
}

#[test]
fn a_message_expunged_elsewhere_keeps_its_cached_fields_until_taken() {
    let fx = Fixture::new();
    let mut one = fx.open("INBOX", OpenOptions::ACCESS);
    let a = save(&mut *one, "one", MailFlags::empty(), &[]);
    one.sync(SyncFlags::default()).unwrap();
    // FETCH ENVELOPE of `a` puts it in the cache.
    let mut mail = one.mail(a).unwrap();
    let envelope = mail.envelope().unwrap();
    one.cache(&mut [mail]).unwrap();
    let mut other = fx.open("INBOX", OpenOptions::ACCESS);
    other.expunge(&UidSet::range(a, a)).unwrap();
    one.sync(SyncFlags::default()).unwrap();
    assert!(one.info(a).is_some());
    let cached = one.gone_cached_fields(a);
    assert!(
        cached.iter().any(
            |(name, value)| name == crate::storage::mail::field::ENVELOPE && *value == envelope
        ),
        "{cached:?}"
    );
    one.take_expunges();
    assert!(one.info(a).is_none());
    assert!(one.gone_cached_fields(a).is_empty());
}

/// Flips message 1's `Status: R` to `Status: O` in place (same size, like another
/// program's flag change), leaving the mtime moved on.
fn unsee_first_in_place(fx: &Fixture) {
    let data = std::fs::read(fx.inbox()).unwrap();
    let at = data.windows(10).position(|w| w == b"Status: R\n").unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.inbox())
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"Status: O\n", at as u64).unwrap();
}

/// Mail another program appended is found by reading the file from the last known message
/// on (`mbox_dirty_syncs`): an in-place change before it is not seen, as with Dovecot,
/// until the file is read whole; without dirty syncs it is read whole at once.
#[test]
fn dirty_syncs_read_only_the_grown_tail() {
    for dirty in [true, false] {
        let fx = Fixture::new();
        std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
        let mut settings = StorageSettings::dovecot_defaults();
        settings.mbox.dirty_syncs = dirty;
        let mut user = fx.user_with(settings);
        let mut mb = user.open("INBOX", OpenOptions::EXAMINE).unwrap();
        assert_eq!(body(mb.as_mut(), 2), "Subject: second\n\ntwo\n");
        unsee_first_in_place(&fx);
        fx.append_raw(MTA_MAIL);
        mb.sync(SyncFlags::default()).unwrap();
        assert_eq!(uids(mb.as_ref()), [1, 2, 3]);
        assert_eq!(body(mb.as_mut(), 3), "Subject: from the MTA\n\ndelivered\n");
        assert_eq!(body(mb.as_mut(), 2), "Subject: second\n\ntwo\n");
        let seen = mb.info(1).unwrap().flags.contains(MailFlags::SEEN);
        assert_eq!(seen, dirty, "dirty_syncs = {dirty}");
        // a change that moves the last known message is always found
        drop(mb);
        let mut mb = user.open("INBOX", OpenOptions::EXAMINE).unwrap();
        assert!(!mb.info(1).unwrap().flags.contains(MailFlags::SEEN));
        let data = std::fs::read(fx.inbox()).unwrap();
        let file = parse_mbox(&data).unwrap();
        let second = &file.messages[1];
        // another program drops message 1 and appends one (the file grows)
        let mut rewritten = data[..file.messages[0].header_offset].to_vec();
        rewritten.extend_from_slice(b"X-IMAPbase: 1795878599 0000000003 $Work\n");
        rewritten.extend_from_slice(&data[second.header_offset..]);
        rewritten.extend_from_slice(MTA_MAIL.replace("MTA", "MTA, later").as_bytes());
        std::fs::write(fx.inbox(), &rewritten).unwrap();
        mb.sync(SyncFlags::default()).unwrap();
        mb.take_expunges();
        // (the MTA's first mail has its UID in the index only: its header MD5 keeps it)
        assert_eq!(uids(mb.as_ref()), [2, 3, 5], "dirty_syncs = {dirty}");
        assert_eq!(body(mb.as_mut(), 2), "Subject: second\n\ntwo\n");
    }
}

/// A write planned over a dirty read checks the file first: another program moved message
/// 1's header/body boundary in place (same size, the last message where it was) and mail
/// was appended twice; a flag change on message 1 then plans over the file as it is, so
/// the new body is kept whole.
#[test]
fn a_write_after_a_dirty_read_checks_what_it_writes_over() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2]);
    fx.append_raw(MTA_MAIL);
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(uids(mb.as_ref()), [1, 2, 3]);
    // five bytes of padding become body bytes
    let data = std::fs::read(fx.inbox()).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    let moved = text
        .replacen("$Work      ", "$Work ", 1)
        .replacen("hello\n", "HELLO12345\n", 1);
    assert_eq!(moved.len(), data.len());
    std::fs::write(fx.inbox(), moved).unwrap();
    fx.append_raw(&MTA_MAIL.replace("MTA", "MTA again"));
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4]);
    store(mb.as_mut(), 1, FlagMode::Add, MailFlags::FLAGGED, &[]);
    drop(mb);
    let mut mb = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4]);
    assert!(mb.info(1).unwrap().flags.contains(MailFlags::FLAGGED));
    assert_eq!(
        body(mb.as_mut(), 1),
        "From: a@example.com\nSubject: mbox test\n\nHELLO12345\nFrom the body line\n"
    );
    assert_eq!(
        body(mb.as_mut(), 4),
        "Subject: from the MTA again\n\ndelivered\n"
    );
}

/// `mbox_lazy_writes`: a flag change is in the index at once (other sessions see it, a sync
/// reading the unchanged file does not undo it) and reaches the file with the next write
/// (here an expunge) or at close; a session that dies before leaves it in the index, and
/// the next writable session's close writes it.
#[test]
fn lazy_writes_keep_flags_in_the_index_until_the_file_is_written() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let before = std::fs::read(fx.inbox()).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    store(
        mb.as_mut(),
        2,
        FlagMode::Add,
        MailFlags::ANSWERED,
        &["Fresh"],
    );
    assert_eq!(std::fs::read(fx.inbox()).unwrap(), before);
    let other = fx.open("INBOX", OpenOptions::EXAMINE);
    let info = other.info(2).unwrap();
    assert_eq!(info.flags, MailFlags::FLAGGED | MailFlags::ANSWERED);
    assert_eq!(info.keywords, ["Fresh"]);
    drop(other);
    // mail another program appends makes the file change: still the index's flags
    fx.append_raw(MTA_MAIL);
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(mb.info(2).unwrap().keywords, ["Fresh"]);
    // an expunge writes the file, the pending flags with it
    mb.expunge(&UidSet::range(1, 1)).unwrap();
    let (_, msgs) = file_view(&fx);
    assert_eq!(
        msgs[0],
        (
            2,
            MailFlags::FLAGGED | MailFlags::ANSWERED,
            vec!["Fresh".to_string()]
        )
    );
    // a session that dies with a change not written: the index keeps it
    store(mb.as_mut(), 2, FlagMode::Remove, MailFlags::FLAGGED, &[]);
    let written = std::fs::read(fx.inbox()).unwrap();
    std::mem::forget(mb);
    assert_eq!(std::fs::read(fx.inbox()).unwrap(), written);
    let mb = fx.open("INBOX", OpenOptions::ACCESS);
    assert_eq!(mb.info(2).unwrap().flags, MailFlags::ANSWERED);
    drop(mb);
    let (_, msgs) = file_view(&fx);
    assert_eq!(msgs[0].1, MailFlags::ANSWERED);
}

/// `mbox_min_index_size`: a smaller file keeps no index files (the index lives in a
/// private directory while the mailbox is open); UIDs and flags stay in the file.
#[test]
fn small_files_keep_no_index() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let mut settings = StorageSettings::dovecot_defaults();
    settings.mbox.min_index_size = 1 << 20;
    let mut user = fx.user_with(settings);
    let mut mb = user.open("INBOX", OpenOptions::SELECT).unwrap();
    assert!(!mb.modseqs_permanent());
    fx.append_raw(MTA_MAIL);
    mb.sync(SyncFlags::default()).unwrap();
    store(mb.as_mut(), 3, FlagMode::Add, MailFlags::SEEN, &[]);
    mb.expunge(&UidSet::range(1, 1)).unwrap();
    drop(mb);
    let index = fx.dir.path().join("mail/.imap/INBOX");
    let left: Vec<_> = std::fs::read_dir(&index)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let temp: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cote-memindex"))
        .collect();
    assert!(temp.is_empty(), "{temp:?}");
    let (_, msgs) = file_view(&fx);
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(msgs[1].1, MailFlags::SEEN);
    let mb = user.open("INBOX", OpenOptions::EXAMINE).unwrap();
    assert_eq!(uids(mb.as_ref()), [2, 3]);
    assert_eq!(mb.info(3).unwrap().flags, MailFlags::SEEN);
}

/// `mbox_md5`: mail without `X-UID:` that only read-only sessions saw has its UIDs in the
/// index alone; when another program drops one of those messages, the others are
/// recognised by their header MD5 and keep their UIDs (counting from `X-IMAPbase:` would
/// give the second the first's UID).
#[test]
fn messages_without_x_uid_are_recognised_by_their_header_md5() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let first = MTA_MAIL.replace("Subject: from the MTA", "Message-ID: <one@x>\nSubject: one");
    let second = MTA_MAIL.replace("Subject: from the MTA", "Message-ID: <two@x>\nSubject: two");
    fx.append_raw(&first);
    fx.append_raw(&second);
    let mut mb = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4]);
    assert!(body(mb.as_mut(), 4).contains("Subject: two"));
    drop(mb);
    // another program drops "one" (the file is rewritten: it shrinks)
    let data = std::fs::read_to_string(fx.inbox()).unwrap();
    std::fs::write(fx.inbox(), data.replacen(&first, "", 1)).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(uids(mb.as_ref()), [1, 2, 4]);
    assert!(body(mb.as_mut(), 4).contains("Subject: two"));
    drop(mb);
    // mail arriving now gets a UID no message had
    fx.append_raw(&first.replace("one", "three"));
    let mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2, 4, 5]);
    drop(mb);
    let (_, msgs) = file_view(&fx);
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 4, 5]);
}

/// Messages read by mutt (or an older index) before cote's index existed.
const READ_SPOOL: &str = "From a@example.com  Sun Nov 29 01:02:03 2026\nMessage-ID: <1@x>\n\n1\n\n\
From a@example.com  Sun Nov 29 01:02:03 2026\nMessage-ID: <2@x>\nStatus: RO\n\n2\n\n\
From a@example.com  Sun Nov 29 01:02:03 2026\nMessage-ID: <3@x>\nStatus: R\n\n3\n\n\
From a@example.com  Sun Nov 29 01:02:03 2026\nMessage-ID: <4@x>\n\n4\n\n";

fn recent(mb: &dyn Mailbox) -> Vec<u32> {
    let seqs = mb.seqs();
    (seqs.uids().iter().copied())
        .filter(|&uid| seqs.is_recent(uid))
        .collect()
}

#[test]
fn a_fresh_index_takes_recent_only_after_the_last_old_message() {
    let fx = Fixture::new();
    fx.append_raw(READ_SPOOL);
    // EXAMINE leaves them for the next SELECT, which takes them
    let mb = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4]);
    assert_eq!(recent(mb.as_ref()), [3, 4]);
    drop(mb);
    let mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4]);
    assert_eq!(recent(mb.as_ref()), [3, 4]);
    drop(mb);
    // mail delivered already read hides what came before it from a later SELECT
    let mail = |n: u32, status: &str| {
        format!(
            "From a@example.com  Sun Nov 29 01:02:03 2026\nMessage-ID: <{n}@x>\n{status}\n{n}\n\n"
        )
    };
    fx.append_raw(&(mail(5, "") + &mail(6, "Status: O\n") + &mail(7, "")));
    let mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(uids(mb.as_ref()), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(recent(mb.as_ref()), [7]);
}

/// doveadm's `force-resync`: flags only the index had (lazy writes) go into the file first,
/// then the index is built again from the file; UIDs and flags stay. A read-only session
/// can't (the file is the truth it would have to write first).
#[test]
fn force_resync_writes_pending_flags_then_rebuilds_from_the_file() {
    let fx = Fixture::new();
    std::fs::write(fx.inbox(), DOVECOT_FILE).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    store(
        mb.as_mut(),
        2,
        FlagMode::Add,
        MailFlags::ANSWERED,
        &["Fresh"],
    );
    mb.force_resync().unwrap();
    let (validity, msgs) = file_view(&fx);
    assert_eq!(validity, Some(1795878599));
    assert_eq!(
        msgs[1],
        (
            2,
            MailFlags::FLAGGED | MailFlags::ANSWERED,
            vec!["Fresh".to_string()]
        )
    );
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(uids(mb.as_ref()), [1, 2]);
    assert_eq!(mb.info(1).unwrap().keywords, ["$Work"]);
    assert_eq!(
        mb.info(2).unwrap().flags,
        MailFlags::FLAGGED | MailFlags::ANSWERED
    );
    let mut examine = fx.open("INBOX", OpenOptions::EXAMINE);
    assert!(examine.force_resync().is_err());
}
