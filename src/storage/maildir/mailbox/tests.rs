//! The Maildir mailbox against a real directory: saves, flag changes, expunges, copies,
//! what other sessions (and other writers) see, and the index as a rebuildable cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::storage::api::{
    Change, FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use crate::storage::error::ErrorKind;
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
        Fixture {
            dir,
            location,
            settings,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("Maildir")
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
    assert!(cur[0].ends_with(":2,Sa"), "{cur:?}");
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
    assert!(cur.iter().any(|n| n.ends_with(":2,Fb")), "{cur:?}");
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
