//! Shared by the storage tests: a mail user on a temp Maildir with a chosen lock method and
//! mmap setting, message bodies carrying a token, a snapshot of what clients can see, the
//! uidlist as written, and a small deterministic RNG.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cote::fs::{FsPolicy, LockMethod};
use cote::storage::api::{MailFlags, Mailbox, OpenOptions, SyncFlags};
use cote::storage::maildir::filename::InfoSeparator;
use cote::storage::namespace::NamespaceConfig;
use cote::storage::settings::StorageSettings;
use cote::storage::user::{MailUser, MailUserInfo};

/// Set to a `maildir_info_separator` value (`;`), runs the storage tests with that separator
/// (`make test-cifs-names`); read only here and by the unit tests' fixture.
pub const INFO_SEPARATOR_ENV: &str = "COTE_TEST_MAILDIR_INFO_SEPARATOR";

/// The info separator the tests run with: [`INFO_SEPARATOR_ENV`]'s, else Dovecot's `:`.
pub fn test_info_separator() -> InfoSeparator {
    match std::env::var(INFO_SEPARATOR_ENV) {
        Ok(text) => InfoSeparator::parse(&text)
            .unwrap_or_else(|e| panic!("{INFO_SEPARATOR_ENV}={text:?}: {e}")),
        Err(_) => InfoSeparator::DOVECOT,
    }
}

/// Every path under `root` (`root` itself not included) whose name holds `byte`.
pub fn names_holding(root: &Path, byte: u8) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Removed meanwhile (a mailbox deleted by the test).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_name().as_encoded_bytes().contains(&byte) {
                found.push(entry.path());
            }
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    found
}

/// When the tests run with another info separator than `:` ([`INFO_SEPARATOR_ENV`]), fails if
/// any name under `root` holds a `:`: a share that refuses `:` could not hold the store.
pub fn check_cifs_names(root: &Path) {
    if test_info_separator().byte() != b':' {
        let colons = names_holding(root, b':');
        assert!(
            colons.is_empty(),
            "names with ':' under {}: {colons:?}",
            root.display()
        );
    }
}

/// The storage settings for a lock method (`fcntl`, `flock`, `dotlock`) and `mmap_disable`,
/// with small index rotation thresholds so that log rotations and snapshot rewrites happen
/// while others read, and the info separator of [`test_info_separator`].
pub fn settings(lock: &str, mmap_disable: bool, temp_dir: &Path) -> StorageSettings {
    let fs = FsPolicy {
        lock_method: match lock {
            "flock" => LockMethod::Flock,
            "dotlock" => LockMethod::Dotlock,
            _ => LockMethod::Fcntl,
        },
        mmap_disable,
        ..FsPolicy::dovecot_defaults()
    };
    let mut s = StorageSettings::dovecot_defaults().with_fs(fs);
    s.index.rewrite_min_log_bytes = 4 * 1024;
    s.index.rewrite_max_log_bytes = 16 * 1024;
    s.index.log_rotate_min_size = 16 * 1024;
    s.index.log_rotate_max_size = 64 * 1024;
    s.temp_dir = temp_dir.to_path_buf();
    s.maildir.info_separator = test_info_separator();
    s
}

/// The settings Dovecot recommends for several hosts on one FUSE/NFS store: NFS cache
/// flushes for storage and index files, `mmap_disable = yes`, `mail_fsync = always`.
pub fn shared_settings(lock: &str, temp_dir: &Path) -> StorageSettings {
    let mut s = settings(lock, true, temp_dir);
    let fs = FsPolicy {
        nfs_storage: true,
        nfs_index: true,
        fsync: cote::fs::FsyncMode::Always,
        ..s.fs.clone()
    };
    s = s.with_fs(fs);
    s
}

/// A user whose INBOX namespace is `maildir:<root>` (plus `extra` location options).
pub fn user(root: &Path, settings: StorageSettings) -> MailUser {
    user_at(&format!("maildir:{}", root.display()), root, settings)
}

pub fn user_at(location: &str, home: &Path, settings: StorageSettings) -> MailUser {
    MailUser::with_namespaces(
        MailUserInfo {
            username: "u".into(),
            home: Some(home.display().to_string()),
            service: "imap".into(),
            ..MailUserInfo::default()
        },
        Arc::new(settings),
        vec![NamespaceConfig::implicit_inbox()],
        location,
        true,
    )
    .expect("mail user")
}

/// A message whose subject and body carry `token`.
pub fn message(token: &str) -> Vec<u8> {
    format!(
        "From: test@example.com\r\nSubject: {token}\r\nMessage-ID: <{token}@test>\r\n\r\nbody {token}\r\n"
    )
    .into_bytes()
}

/// The token of a stored message (its Subject).
pub fn token_of(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .map(|s| s.trim().to_string())
}

/// One message as clients see it: flags (IMAP names) and keywords (lowercase, sorted).
pub type Seen = (Vec<&'static str>, Vec<String>);

/// Every message of an open mailbox by UID.
pub fn snapshot(mb: &dyn Mailbox) -> BTreeMap<u32, Seen> {
    mb.seqs()
        .uids()
        .iter()
        .filter_map(|&uid| mb.info(uid))
        .map(|i| {
            let mut kw: Vec<String> = i.keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
            kw.sort();
            kw.dedup();
            (i.uid, (i.flags.names().collect(), kw))
        })
        .collect()
}

/// A fresh session's full view of `mailbox` (a full sync first).
pub fn fresh_snapshot(user: &mut MailUser, mailbox: &str) -> BTreeMap<u32, Seen> {
    let mut mb = user.open(mailbox, OpenOptions::EXAMINE).expect("open");
    mb.sync(SyncFlags {
        full: true,
        fast: false,
    })
    .expect("sync");
    mb.take_expunges();
    snapshot(&*mb)
}

/// `dovecot-uidlist` as written: UIDVALIDITY and the UIDs of its records, in file order.
pub fn uidlist(dir: &Path) -> (u32, Vec<u32>) {
    let text = std::fs::read_to_string(dir.join("dovecot-uidlist")).expect("uidlist");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let uv = header
        .split(' ')
        .find_map(|f| f.strip_prefix('V'))
        .and_then(|v| v.parse().ok())
        .expect("V field");
    let uids = lines
        .map(|l| l.split(' ').next().unwrap().parse().expect("uid"))
        .collect();
    (uv, uids)
}

/// Removes `cote.index*` from `dir`.
pub fn remove_index(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("cote.index")
        {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

/// The flag set for `\Flagged` or nothing.
pub fn flagged(on: bool) -> MailFlags {
    if on {
        MailFlags::FLAGGED
    } else {
        MailFlags::empty()
    }
}

/// xorshift64*: deterministic per seed, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
