//! The Maildir mailbox against a real directory: saves, flag changes, expunges, copies,
//! what other sessions (and other writers) see, and the index as a rebuildable cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::storage::api::{
    Change, FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use crate::storage::error::ErrorKind;
use crate::storage::maildir::filename::InfoSeparator;
use crate::storage::namespace::NamespaceConfig;
use crate::storage::settings::StorageSettings;
use crate::storage::user::{MailUser, MailUserInfo};

pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub location: String,
    pub settings: StorageSettings,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_location_suffix("")
    }

    pub fn with_location_suffix(suffix: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let location = format!("maildir:{}/Maildir{suffix}", dir.path().display());
        let mut settings = StorageSettings::dovecot_defaults();
        settings.temp_dir = dir.path().to_path_buf();
        // Set (`make test-cifs-names`), the tests run with another Maildir info separator.
        if let Ok(text) = std::env::var("COTE_TEST_MAILDIR_INFO_SEPARATOR") {
            settings.maildir.info_separator = InfoSeparator::parse(&text).unwrap();
        }
        Fixture {
            dir,
            location,
            settings,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("Maildir")
    }

    /// The info separator the tests run with.
    pub fn sep(&self) -> InfoSeparator {
        self.settings.maildir.info_separator
    }

    /// A file name's info part with `letters`: `:2,Sa`.
    pub fn info(&self, letters: &str) -> String {
        format!("{}2,{letters}", char::from(self.sep().byte()))
    }

    pub fn user(&self) -> MailUser {
        let info = MailUserInfo {
            username: "u".into(),
            home: Some(self.dir.path().display().to_string()),
            service: "imap".into(),
            ..MailUserInfo::default()
        };
        MailUser::with_namespaces(
            info,
            Arc::new(self.settings.clone()),
            vec![NamespaceConfig::implicit_inbox()],
            &self.location,
            true,
        )
        .unwrap()
    }

    pub fn open(&self, name: &str, options: OpenOptions) -> Box<dyn Mailbox> {
        self.user().open(name, options).unwrap()
    }
}

impl Drop for Fixture {
    /// Run with another separator than `:`, no test may leave a name holding `:` (a share
    /// that refuses `:` could not hold the store).
    fn drop(&mut self) {
        if self.sep().byte() == b':' || std::thread::panicking() {
            return;
        }
        let mut dirs = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                assert!(
                    !entry.file_name().as_encoded_bytes().contains(&b':'),
                    "a name with ':': {}",
                    entry.path().display()
                );
                if entry.file_type().unwrap().is_dir() {
                    dirs.push(entry.path());
                }
            }
        }
    }
}

pub(crate) fn msg(text: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nSubject: {text}\r\n\r\nbody {text}\r\n").into_bytes()
}

pub(crate) fn save(mb: &mut dyn Mailbox, text: &str, flags: MailFlags, kw: &[&str]) -> u32 {
    let data = msg(text);
    let saved = mb
        .save(
            &[NewMessage {
                data: &data,
                flags,
                keywords: kw.iter().map(|s| s.to_string()).collect(),
                internal_date: Some(1_700_000_000),
            }],
            true,
        )
        .unwrap();
    saved.uids[0]
}

/// What CHECK and SELECT do: read directories even inside their dirty second (file times
/// are coarse: a change in the same clock tick as ours does not move the mtime).
const FULL: SyncFlags = SyncFlags {
    full: true,
    fast: false,
};

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
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

#[test]
fn save_store_expunge_in_dovecot_formats() {
    let fx = Fixture::new();
    let mut saver = fx.open("INBOX", OpenOptions::ACCESS);
    assert!(fx.root().join("cur").is_dir(), "INBOX autocreated");
    let uv = saver.uidvalidity();
    assert_ne!(uv, 0);
    let a = save(&mut *saver, "one", MailFlags::empty(), &[]);
    let b = save(&mut *saver, "two", MailFlags::SEEN, &["$Junk"]);
    assert_eq!((a, b), (1, 2));
    let new = files(&fx.root().join("new"));
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].contains(",S=") && new[0].contains(",W="), "{new:?}");
    let cur = files(&fx.root().join("cur"));
    assert!(cur[0].ends_with(&fx.info("Sa")), "{cur:?}");
    // Stored in LF form: S= is the LF size, W= the CRLF one.
    let data = std::fs::read(fx.root().join("new").join(&new[0])).unwrap();
    assert!(!data.contains(&b'\r'));
    assert!(new[0].contains(&format!(",S={},", data.len())));
    let uidlist = std::fs::read_to_string(fx.root().join("dovecot-uidlist")).unwrap();
    assert!(uidlist.starts_with(&format!("3 V{uv} N")), "{uidlist}");
    assert_eq!(
        std::fs::read_to_string(fx.root().join("dovecot-keywords")).unwrap(),
        "0 $Junk\n"
    );
    let changes = saver.sync(SyncFlags::default()).unwrap();
    assert!(
        changes.contains(&Change::Appended { uid: 1 }),
        "{changes:?}"
    );
    assert_eq!(saver.seqs().count(), 2);
    // SELECT moves new/ to cur/ and claims both as \Recent.
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert!(files(&fx.root().join("new")).is_empty());
    assert_eq!(mb.seqs().recent_count(), 2);

    store(&mut *mb, a, FlagMode::Add, MailFlags::FLAGGED, &["Work"]);
    let info = mb.info(a).unwrap();
    assert_eq!(info.flags, MailFlags::FLAGGED);
    assert_eq!(info.keywords, vec!["Work"]);
    let cur = files(&fx.root().join("cur"));
    assert!(cur.iter().any(|n| n.ends_with(&fx.info("Fb"))), "{cur:?}");
    assert!(files(&fx.root().join("new")).is_empty());

    // Another session sees it all.
    let mut other = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(other.seqs().count(), 2);
    assert_eq!(other.info(a).unwrap().flags, MailFlags::FLAGGED);
    assert_eq!(other.info(b).unwrap().keywords, vec!["$Junk"]);

    let gone = mb.expunge(&UidSet::range(a, a)).unwrap();
    assert_eq!(gone, UidSet::range(a, a));
    assert_eq!(mb.take_expunges(), vec![(1, a)]);
    let changes = other.sync(SyncFlags::default()).unwrap();
    assert!(
        changes.contains(&Change::Expunged { uid: a }),
        "{changes:?}"
    );
    assert_eq!(other.take_expunges(), vec![(1, a)]);
    assert_eq!(files(&fx.root().join("cur")).len(), 1);

    let mut mail = mb.mail(b).unwrap();
    assert!(mail.raw().unwrap().starts_with(b"From: a@example.com\n"));
    assert_eq!(mail.internal_date().unwrap(), 1_700_000_000);
    assert_eq!(mail.virtual_size().unwrap(), msg("two").len() as u64);
    let env = mail.envelope().unwrap();
    assert!(String::from_utf8_lossy(&env).contains("\"two\""));
    mb.cache(&mut [mail]).unwrap();
    let mut again = mb.mail(b).unwrap();
    assert_eq!(again.envelope().unwrap(), env);
    assert!(again.computed().is_empty(), "served from the cache");
    let status = mb.status().unwrap();
    assert_eq!(status.messages, 1);
    assert_eq!(status.uidnext, 3);
    assert_eq!(status.uidvalidity, uv);
    assert_eq!(status.vsize, msg("two").len() as u64);
}

fn filenames_with_uids(fx: &Fixture) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fx.root().join("dovecot-uidlist")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (uid, name) = l.split_once(" :").unwrap();
            (uid.to_string(), name.to_string())
        })
        .collect()
}

/// Everything a client can see of a mailbox, for comparisons.
fn snapshot(mb: &dyn Mailbox) -> Vec<(u32, MailFlags, Vec<String>)> {
    mb.seqs()
        .uids()
        .iter()
        .filter_map(|&uid| mb.info(uid))
        .map(|i| {
            let mut kw: Vec<String> = i.keywords.iter().map(|k| k.to_lowercase()).collect();
            kw.sort();
            (i.uid, i.flags, kw)
        })
        .collect()
}

#[test]
fn other_writers_changes_are_seen() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    let a = save(&mut *mb, "one", MailFlags::empty(), &[]);
    // A delivery by another program (no uidlist lock, straight into new/).
    let mut names =
        crate::storage::maildir::filename::BaseNameGenerator::new(4242, "other", fx.sep()).unwrap();
    let delivered = crate::storage::maildir::save::deliver(
        &fx.root(),
        &mut names,
        b"Subject: x\n\nhi\n",
        MailFlags::empty(),
        b"",
        &crate::fs::CreatePerms::default(),
        &fx.settings.fs,
    )
    .unwrap();
    let changes = mb.sync(FULL).unwrap();
    assert!(
        changes.contains(&Change::Appended { uid: a + 1 }),
        "{changes:?}"
    );
    // A MUA sets \Seen by renaming the file.
    let old = fx.root().join("new").join(&delivered.name);
    let new = fx
        .root()
        .join("cur")
        .join(format!("{}{}", delivered.name, fx.info("S")));
    std::fs::rename(&old, &new).unwrap();
    let changes = mb.sync(FULL).unwrap();
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::Flags { uid, .. } if *uid == a + 1)),
        "{changes:?}"
    );
    assert_eq!(mb.info(a + 1).unwrap().flags, MailFlags::SEEN);
    // ... and deletes the other one.
    let cur_or_new: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .flat_map(|d| std::fs::read_dir(fx.root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p != &new)
        .collect();
    assert_eq!(cur_or_new.len(), 1);
    std::fs::remove_file(&cur_or_new[0]).unwrap();
    let changes = mb.sync(FULL).unwrap();
    assert!(
        changes.contains(&Change::Expunged { uid: a }),
        "{changes:?}"
    );
}

#[test]
fn index_is_a_rebuildable_cache() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    for i in 0..5 {
        save(&mut *mb, &format!("m{i}"), MailFlags::empty(), &[]);
    }
    store(
        &mut *mb,
        2,
        FlagMode::Add,
        MailFlags::SEEN | MailFlags::FLAGGED,
        &["k1", "k2"],
    );
    store(&mut *mb, 4, FlagMode::Add, MailFlags::DELETED, &["k2"]);
    mb.expunge(&UidSet::range(3, 3)).unwrap();
    mb.sync(SyncFlags::default()).unwrap();
    mb.take_expunges();
    let before = snapshot(&*mb);
    let uv = mb.uidvalidity();
    drop(mb);
    for f in std::fs::read_dir(fx.root()).unwrap() {
        let f = f.unwrap();
        if f.file_name().to_string_lossy().starts_with("cote.index") {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    let mb = fx.open("INBOX", OpenOptions::ACCESS);
    assert_eq!(mb.uidvalidity(), uv);
    assert_eq!(snapshot(&*mb), before);
    // The uidlist lost instead: UIDs survive through the index.
    drop(mb);
    std::fs::remove_file(fx.root().join("dovecot-uidlist")).unwrap();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    mb.sync(SyncFlags {
        full: true,
        fast: false,
    })
    .unwrap();
    assert_eq!(mb.uidvalidity(), uv);
    assert_eq!(snapshot(&*mb), before);
    let list = filenames_with_uids(&fx);
    assert_eq!(
        list.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
        ["1", "2", "4", "5"]
    );
    assert_eq!(save(&mut *mb, "after", MailFlags::empty(), &[]), 6);
}

#[test]
fn a_recreated_mailbox_closes_sessions() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    save(&mut *mb, "x", MailFlags::empty(), &[]);
    let uv = mb.uidvalidity();
    // Someone recreated the uidlist with another UIDVALIDITY.
    let text = std::fs::read_to_string(fx.root().join("dovecot-uidlist")).unwrap();
    let text = text.replacen(&format!("V{uv}"), &format!("V{}", uv + 7), 1);
    std::fs::write(fx.root().join("dovecot-uidlist.new"), text).unwrap();
    std::fs::rename(
        fx.root().join("dovecot-uidlist.new"),
        fx.root().join("dovecot-uidlist"),
    )
    .unwrap();
    let err = mb
        .sync(SyncFlags {
            full: true,
            fast: false,
        })
        .unwrap_err();
    assert!(err.closes_mailbox(), "{err}");
    let mb = fx.open("INBOX", OpenOptions::SELECT);
    assert_eq!(mb.uidvalidity(), uv + 7);
    assert_eq!(mb.seqs().count(), 1);
}

#[test]
fn expunged_message_reappearing_gets_a_new_uid() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    for i in 0..10 {
        save(&mut *mb, &format!("m{i}"), MailFlags::SEEN, &[]);
    }
    let path = mb.mail(1).unwrap().last_path().unwrap();
    let kept = std::fs::read(&path).unwrap();
    mb.expunge(&UidSet::range(1, 1)).unwrap();
    drop(mb);
    // Restored from a backup: the file is back; the uidlist still lists UID 1 for it
    // (expunged lines stay until the file is rewritten).
    std::fs::write(&path, kept).unwrap();
    assert!(filenames_with_uids(&fx).iter().any(|(u, _)| u == "1"));
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    mb.sync(SyncFlags {
        full: true,
        fast: false,
    })
    .unwrap();
    let uids = mb.seqs().uids().to_vec();
    assert_eq!(uids, (2..=11).collect::<Vec<u32>>());
    let list = filenames_with_uids(&fx);
    assert!(!list.iter().any(|(u, _)| u == "1"), "{list:?}");
}

#[test]
fn copies_link_or_copy_and_keep_flags() {
    for links in [true, false] {
        let mut fx = Fixture::new();
        fx.settings.maildir.copy_with_hardlinks = links;
        let mut user = fx.user();
        user.create("Archive").unwrap();
        let mut src = user.open("INBOX", OpenOptions::ACCESS).unwrap();
        save(&mut *src, "a", MailFlags::SEEN, &["$Junk"]);
        save(&mut *src, "b", MailFlags::empty(), &[]);
        let mut dest = user.open("Archive", OpenOptions::ACCESS).unwrap();
        let copied = dest.copy_from(&mut *src, &UidSet::range(1, 2)).unwrap();
        assert_eq!(copied.src_uids, vec![1, 2]);
        assert_eq!(copied.dest_uids, vec![1, 2]);
        assert_eq!(copied.uidvalidity, dest.uidvalidity());
        let info = dest.info(1).unwrap();
        assert_eq!(info.flags, MailFlags::SEEN);
        assert_eq!(info.keywords, vec!["$Junk"]);
        let src_path = src.mail(1).unwrap().last_path().unwrap();
        let dest_path = dest.mail(1).unwrap().last_path().unwrap();
        use std::os::unix::fs::MetadataExt;
        let same = std::fs::metadata(&src_path).unwrap().ino()
            == std::fs::metadata(&dest_path).unwrap().ino();
        assert_eq!(same, links, "hard link iff maildir_copy_with_hardlinks");
        {
            // A fresh base name, linked or not (see Core::link_tmp).
            assert_ne!(
                fx.sep()
                    .base(src_path.file_name().unwrap().as_encoded_bytes()),
                fx.sep()
                    .base(dest_path.file_name().unwrap().as_encoded_bytes())
            );
        }
        assert_eq!(
            dest.mail(2).unwrap().raw().unwrap(),
            src.mail(2).unwrap().raw().unwrap()
        );
        // Copying the same messages again makes new files, not overwrites.
        let again = dest.copy_from(&mut *src, &UidSet::range(1, 2)).unwrap();
        assert_eq!(again.dest_uids, vec![3, 4]);
        dest.sync(SyncFlags::default()).unwrap();
        assert_eq!(dest.seqs().count(), 4);
        // Move: copy, then the originals go.
        let moved = dest.move_from(&mut *src, &UidSet::range(1, 1)).unwrap();
        assert_eq!(moved.dest_uids, vec![5]);
        src.sync(SyncFlags::default()).unwrap();
        assert_eq!(src.take_expunges(), vec![(1, 1)]);
    }
}

#[test]
fn keywords_past_26_live_in_the_index() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    let uid = save(&mut *mb, "k", MailFlags::empty(), &[]);
    let names: Vec<String> = (0..30).map(|i| format!("kw{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    store(&mut *mb, uid, FlagMode::Add, MailFlags::empty(), &refs);
    let path = mb.mail(uid).unwrap().last_path().unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with(&fx.info("abcdefghijklmnopqrstuvwxyz")),
        "{name}"
    );
    assert_eq!(mb.info(uid).unwrap().keywords.len(), 30);
    // A full sync keeps the index-only ones.
    let mut other = fx.open("INBOX", OpenOptions::ACCESS);
    other
        .sync(SyncFlags {
            full: true,
            fast: false,
        })
        .unwrap();
    assert_eq!(other.info(uid).unwrap().keywords.len(), 30);
    // Removing a lettered one renames; the index-only ones stay.
    store(
        &mut *mb,
        uid,
        FlagMode::Remove,
        MailFlags::empty(),
        &["kw0", "kw29"],
    );
    let kw = mb.info(uid).unwrap().keywords;
    assert_eq!(kw.len(), 28);
    assert!(!kw.contains(&"kw0".to_string()) && kw.contains(&"kw28".to_string()));
}

#[test]
fn unchanged_since_skips_newer_messages() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    save(&mut *mb, "a", MailFlags::empty(), &[]);
    save(&mut *mb, "b", MailFlags::empty(), &[]);
    let base = mb.highest_modseq();
    store(&mut *mb, 2, FlagMode::Add, MailFlags::SEEN, &[]);
    let r = mb
        .store(
            &UidSet::range(1, 2),
            &StoreRequest {
                mode: FlagMode::Add,
                flags: MailFlags::FLAGGED,
                keywords: vec![],
                unchanged_since: Some(base),
            },
        )
        .unwrap();
    assert_eq!(r.modified, UidSet::range(2, 2));
    assert_eq!(r.changed.len(), 1);
    assert_eq!(r.changed[0].0, 1);
    assert!(r.changed[0].1 > base);
    assert_eq!(mb.info(2).unwrap().flags, MailFlags::SEEN);
}

#[test]
fn separate_and_memory_indexes() {
    let mut fx = Fixture::with_location_suffix(":INDEX=%h/idx");
    fx.location = fx
        .location
        .replace("%h", &fx.dir.path().display().to_string());
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    save(&mut *mb, "x", MailFlags::empty(), &[]);
    // Maildir++ under INDEX=: a directory per mailbox, INBOX's is `.INBOX`.
    assert!(fx.dir.path().join("idx/.INBOX/cote.index.log").exists());
    assert!(!fx.root().join("cote.index.log").exists());
    drop(mb);

    let fx = Fixture::with_location_suffix(":INDEX=MEMORY");
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    save(&mut *mb, "x", MailFlags::SEEN, &[]);
    let mut other = fx.open("INBOX", OpenOptions::ACCESS);
    assert_eq!(other.seqs().count(), 1);
    assert_eq!(other.info(1).unwrap().flags, MailFlags::SEEN);
    save(&mut *other, "y", MailFlags::empty(), &[]);
    mb.sync(SyncFlags::default()).unwrap();
    assert_eq!(mb.seqs().count(), 2);
    assert!(!fx.root().join("cote.index.log").exists());
    drop(mb);
    drop(other);
    let left: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("cote-memindex"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn stale_tmp_files_are_removed() {
    let mut fx = Fixture::new();
    fx.settings.temp_scan_interval = std::time::Duration::from_secs(1);
    drop(fx.open("INBOX", OpenOptions::ACCESS));
    let old = fx.root().join("tmp/1.M1P1.old");
    let fresh = fx.root().join("tmp/2.M1P1.fresh");
    std::fs::write(&old, b"x").unwrap();
    std::fs::write(&fresh, b"y").unwrap();
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 3600);
    let f = std::fs::File::options().write(true).open(&old).unwrap();
    f.set_times(
        std::fs::FileTimes::new()
            .set_accessed(long_ago)
            .set_modified(long_ago),
    )
    .unwrap();
    drop(f);
    // ctime can't be set back: a file whose ctime is recent is not stale (Dovecot checks
    // all times), so only a file untouched for 36 h goes. Check the rule, then the scan.
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    mb.sync(SyncFlags::default()).unwrap();
    assert!(fresh.exists());
    super::remove_stale_tmp(&fx.root().join("tmp"), i64::MAX).unwrap();
    assert!(!fresh.exists() && !old.exists());
}

#[test]
fn read_only_and_expunged_errors() {
    let fx = Fixture::new();
    let mut rw = fx.open("INBOX", OpenOptions::ACCESS);
    save(&mut *rw, "x", MailFlags::empty(), &[]);
    let mut ro = fx.open("INBOX", OpenOptions::EXAMINE);
    let err = ro.expunge(&UidSet::range(1, 1)).unwrap_err();
    assert_eq!(err.client_text(), "Mailbox is read-only");
    let mut mail = ro.mail(1).unwrap();
    rw.expunge(&UidSet::range(1, 1)).unwrap();
    let err = mail.raw().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expunged);
    assert_eq!(err.client_text(), "Message was expunged");
    assert!(fx.user().open("Nope", OpenOptions::ACCESS).is_err());
}

#[test]
fn a_message_deleted_from_new_is_expunged_for_a_fresh_session() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    save(&mut *mb, "a", MailFlags::empty(), &[]);
    save(&mut *mb, "b", MailFlags::empty(), &[]);
    drop(mb);
    // Another program (or a writer that died right after its unlink) removes one.
    let victim = files(&fx.root().join("new")).remove(0);
    std::fs::remove_file(fx.root().join("new").join(victim)).unwrap();
    // A fresh process knows nothing of what was in new/ but what the index recorded.
    let mut mb = fx.open("INBOX", OpenOptions::ACCESS);
    mb.sync(SyncFlags::default()).unwrap();
    mb.take_expunges();
    assert_eq!(mb.seqs().count(), 1);
    let uid = mb.seqs().uids()[0];
    assert!(mb.mail(uid).unwrap().raw().is_ok());
}

#[test]
fn a_message_expunged_elsewhere_keeps_its_cached_fields_until_taken() {
    let fx = Fixture::new();
    let mut one = fx.open("INBOX", OpenOptions::ACCESS);
    let a = save(&mut *one, "one", MailFlags::empty(), &[]);
    let b = save(&mut *one, "two", MailFlags::empty(), &[]);
    one.sync(FULL).unwrap();
    // FETCH ENVELOPE of `a` puts it in the cache.
    let mut mail = one.mail(a).unwrap();
    let envelope = mail.envelope().unwrap();
    one.cache(&mut [mail]).unwrap();
    let mut other = fx.open("INBOX", OpenOptions::ACCESS);
    other.sync(FULL).unwrap();
    other.expunge(&UidSet::range(a, b)).unwrap();
    one.sync(FULL).unwrap();
    // Still numbered: what it was, and the cached envelope (none for `b`).
    assert!(one.info(a).is_some());
    let cached = one.gone_cached_fields(a);
    assert!(
        cached.iter().any(
            |(name, value)| name == crate::storage::mail::field::ENVELOPE && *value == envelope
        ),
        "{cached:?}"
    );
    assert!(one.gone_cached_fields(b).is_empty());
    one.take_expunges();
    assert!(one.info(a).is_none());
    assert!(one.gone_cached_fields(a).is_empty());
}

/// QRESYNC's history: the UIDs expunged after a modseq come from the index log, exactly;
/// once the index is rebuilt (its files removed, or damaged), modseqs continue above every
/// one given out before, and the history no longer reaches back (the session then answers
/// with a superset).
#[test]
fn expunge_history_and_modseqs_across_rebuilds() {
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    for text in ["a", "b", "c", "d"] {
        save(&mut *mb, text, MailFlags::empty(), &[]);
    }
    mb.sync(FULL).unwrap();
    let before = mb.highest_modseq();
    store(&mut *mb, 2, FlagMode::Add, MailFlags::DELETED, &[]);
    mb.expunge(&UidSet::range(2, 2)).unwrap();
    mb.sync(FULL).unwrap();
    assert_eq!(
        mb.expunged_since(before).unwrap(),
        Some(UidSet::range(2, 2))
    );
    let highest = mb.highest_modseq();
    assert_eq!(mb.expunged_since(highest).unwrap(), Some(UidSet::new()));
    assert!(mb.modseqs_permanent());
    drop(mb);

    // The index directory removed (an administrator, a restore from backup).
    for name in [
        "cote.index",
        "cote.index.log",
        "cote.index.log.2",
        "cote.index.cache",
    ] {
        let _ = std::fs::remove_file(fx.root().join(name));
    }
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    assert!(mb.highest_modseq() > highest, "modseqs went back");
    assert!(
        [1, 3, 4]
            .iter()
            .all(|&uid| mb.info(uid).unwrap().modseq > highest),
        "a message's modseq is not above the client's: its flags would not be resent"
    );
    assert_eq!(mb.expunged_since(highest).unwrap(), None);
    let rebuilt = mb.highest_modseq();
    drop(mb);

    // A damaged log: rebuilt again, above again.
    let log = fx.root().join("cote.index.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let intact = bytes[56..].to_vec();
    let at = bytes.len() - 6;
    bytes[at] ^= 0x55;
    bytes.extend_from_slice(&intact);
    std::fs::write(&log, &bytes).unwrap();
    let mb = fx.open("INBOX", OpenOptions::SELECT);
    assert!(mb.highest_modseq() > rebuilt);
    assert_eq!(mb.info(2), None);
}

/// doveadm's `force-resync`: the index is built again from the uidlist and the file names,
/// whatever it held; UIDs, flags and keywords stay, a file another program put in `cur/`
/// gets the next UID, and the session's numbering follows.
#[test]
fn force_resync_rebuilds_the_index_from_the_files() {
    use std::os::unix::fs::MetadataExt;
    let fx = Fixture::new();
    let mut mb = fx.open("INBOX", OpenOptions::SELECT);
    let a = save(mb.as_mut(), "a", MailFlags::SEEN, &[]);
    let b = save(mb.as_mut(), "b", MailFlags::empty(), &["Work"]);
    store(mb.as_mut(), a, FlagMode::Add, MailFlags::FLAGGED, &[]);
    mb.expunge(&UidSet::range(a, a)).unwrap();
    let c = save(mb.as_mut(), "c", MailFlags::ANSWERED, &[]);
    mb.sync(FULL).unwrap();
    mb.take_expunges();
    let log = fx.root().join("cote.index.log");
    let before = std::fs::metadata(&log).unwrap().ino();
    std::fs::write(
        fx.root().join(format!("cur/1.M9P9.other{}", fx.info("S"))),
        msg("d"),
    )
    .unwrap();
    mb.force_resync().unwrap();
    assert_ne!(std::fs::metadata(&log).unwrap().ino(), before, "rebuilt");
    mb.sync(SyncFlags::default()).unwrap();
    let seen: Vec<(u32, MailFlags, Vec<String>)> = mb
        .seqs()
        .uids()
        .iter()
        .map(|&uid| {
            let info = mb.info(uid).unwrap();
            (uid, info.flags, info.keywords)
        })
        .collect();
    assert_eq!(
        seen,
        [
            (b, MailFlags::empty(), vec!["Work".to_string()]),
            (c, MailFlags::ANSWERED, vec![]),
            (c + 1, MailFlags::SEEN, vec![]),
        ]
    );
    let other = fx.open("INBOX", OpenOptions::EXAMINE);
    assert_eq!(other.seqs().uids(), [b, c, c + 1]);
}
