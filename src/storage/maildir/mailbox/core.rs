//! The Maildir side of an open mailbox: its directories, `dovecot-uidlist` and
//! `dovecot-keywords`, the file names last seen, and the helpers every operation uses
//! (locking, finding a message's file, keyword letters, directory stamps).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::{CreatePerms, FileKind, FsError, FsResult};
use crate::index::flags::Flags;
use crate::index::settings::IndexSettings;
use crate::index::state::{MailboxState, MessageRecord};
use crate::index::uidset::UidSet;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::maildir::filename::{BaseNameGenerator, InfoSeparator};
use crate::storage::maildir::keywords_file::KeywordsFile;
use crate::storage::maildir::scan::{self, find_file, FileLoc, Subdir};
use crate::storage::maildir::sync_state::{DirStamp, DirTimes, FileStamp};
use crate::storage::maildir::uidlist_file::{Refresh, UidListFile, UidListLock};
use crate::storage::settings::StorageSettings;

/// The Maildir side of one open mailbox.
pub(crate) struct Core {
    pub vname: String,
    /// The mailbox directory (holding `cur/ new/ tmp/`).
    pub dir: PathBuf,
    /// Where `dovecot-uidvalidity` lives (the control root).
    pub control_root: PathBuf,
    pub settings: Arc<StorageSettings>,
    pub index_settings: IndexSettings,
    /// Mode and group of new files in this mailbox.
    pub perms: CreatePerms,
    /// No changes by this session.
    pub read_only: bool,
    /// Move files from `new/` to `cur/` when syncing.
    pub move_new: bool,
    pub uidlist: UidListFile,
    pub keywords: KeywordsFile,
    /// Where each message file (by base name) was last seen.
    pub names: HashMap<Vec<u8>, FileLoc>,
    pub namegen: BaseNameGenerator,
}

impl Core {
    /// The info separator the store's file names are read and built with.
    pub fn sep(&self) -> InfoSeparator {
        self.settings.maildir.info_separator
    }

    /// The uidlist lock: waited for, or with `blocking = false` only taken when free
    /// (`None`). Refreshes the uidlist under it.
    pub fn lock_uidlist(&mut self, blocking: bool) -> StorageResult<Option<UidListLock>> {
        let result = if blocking {
            self.uidlist.lock().map(Some)
        } else {
            self.uidlist.try_lock()
        };
        match result {
            Ok(Some((lock, refresh))) => {
                if let Refresh::Broken(_) = refresh {
                    // Logged and removed by the uidlist layer: rebuilt from the index and
                    // the files by this sync.
                }
                Ok(Some(lock))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(StorageError::from_maildir(Some(&self.vname), &e)),
        }
    }

    /// The current times of `new/` and `cur/`.
    pub fn dir_times(&self) -> StorageResult<DirTimes> {
        DirTimes::read(&self.dir).map_err(|e| self.fs_err(e))
    }

    /// A stamp of `subdir` taken now (after our own changes to it).
    pub fn restamp(&self, subdir: Subdir) -> StorageResult<DirStamp> {
        let now = scan::server_now(&self.dir);
        scan::dir_stamp(&self.dir.join(subdir.name()), now).map_err(|e| self.fs_err(e))
    }

    pub fn fs_err(&self, e: FsError) -> StorageError {
        if e.is_not_found() {
            // new/ or cur/ vanished: the mailbox was deleted.
            if !crate::fs::ops::stat_if_exists(&self.dir)
                .ok()
                .flatten()
                .is_some_and(|st| st.is_dir())
            {
                return StorageError::mailbox_gone(&self.vname, "Mailbox was deleted under us");
            }
        }
        StorageError::from_fs(Some(&self.vname), &e)
    }

    /// The file-name letters of keywords (adding new ones to `dovecot-keywords`, which the
    /// caller commits under the uidlist lock); keywords past the 26th get none.
    pub fn letters_for(&mut self, names: &[String]) -> Vec<u8> {
        let kw = self.keywords.keywords_mut();
        let mut letters: Vec<u8> = names.iter().filter_map(|n| kw.letter_or_add(n)).collect();
        letters.sort_unstable();
        letters.dedup();
        letters
    }

    /// The letters of keywords that already have one (no lock needed).
    pub fn known_letters(&self, names: &[String]) -> Vec<u8> {
        let kw = self.keywords.keywords();
        let mut letters: Vec<u8> = names.iter().filter_map(|n| kw.letter_of(n)).collect();
        letters.sort_unstable();
        letters.dedup();
        letters
    }

    /// Keyword names for the letters of a file name (a letter `dovecot-keywords` lost gets
    /// Dovecot's `unknown-N` name, recorded in the file).
    pub fn names_for(&mut self, letters: &[u8]) -> Vec<String> {
        let kw = self.keywords.keywords_mut();
        letters
            .iter()
            .map(|&l| kw.name_of_letter_or_unknown(l))
            .collect()
    }

    /// Writes `dovecot-keywords` if keywords were added (uidlist lock held).
    pub fn commit_keywords(&mut self, lock: &UidListLock) -> StorageResult<()> {
        self.keywords
            .commit(lock, &self.perms)
            .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))
    }

    /// The names a message's file may have, best guess first: where we last saw it, the
    /// name its index flags give in `cur/`, its bare name in `new/`. On storage other hosts
    /// share, the index's name comes first: another host may have renamed the file since we
    /// saw it (its flag change is in the index we read under the lock), and the client's
    /// name cache can still answer for the old name (GlusterFS's md-cache does, for minutes).
    pub fn candidates(&self, m: &MessageRecord, state: &MailboxState) -> Vec<FileLoc> {
        let names: Vec<String> = m
            .keywords
            .iter()
            .filter_map(|id| state.keyword_names().get(id as usize).cloned())
            .collect();
        let letters = self.known_letters(&names);
        let flags = crate::storage::flags::MailFlags::from_bits_truncate(m.flags.bits());
        let predicted = FileLoc {
            subdir: Subdir::Cur,
            name: self.sep().with_flags(&m.key, flags, &letters),
        };
        let bare = FileLoc {
            subdir: Subdir::New,
            name: m.key.to_vec(),
        };
        let remembered = self.names.get(&*m.key).cloned();
        let shared = self.settings.fs.nfs(FileKind::Storage).enabled();
        let order = match shared {
            true => [Some(predicted), remembered, Some(bare)],
            false => [remembered, Some(predicted), Some(bare)],
        };
        let mut out: Vec<FileLoc> = Vec::with_capacity(3);
        for loc in order.into_iter().flatten() {
            if !out.contains(&loc) {
                out.push(loc);
            }
        }
        out
    }

    /// Runs `op` on the message's file (Dovecot's `maildir_file_do`): on the names we
    /// expect, then, if none exists, on the name a search of `cur/` and `new/` finds. `None`
    /// when the file is gone (expunged by someone else).
    pub fn file_do<T>(
        &mut self,
        base: &[u8],
        candidates: Vec<FileLoc>,
        mut op: impl FnMut(&Path, &FileLoc) -> FsResult<T>,
    ) -> StorageResult<Option<(T, FileLoc)>> {
        for loc in candidates {
            match op(&loc.path(&self.dir), &loc) {
                Ok(v) => return Ok(Some((v, loc))),
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(self.fs_err(e)),
            }
        }
        // A file renamed (its flags changed by another program, or another host) while a
        // directory is read may be missed by that read: "gone" only after two reads agree.
        let mut missing = 0;
        for _ in 0..4 {
            let found = find_file(&self.dir, base, self.sep())
                .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))?;
            let Some(loc) = found else {
                missing += 1;
                if missing < 2 {
                    continue;
                }
                self.forget(base);
                return Ok(None);
            };
            match op(&loc.path(&self.dir), &loc) {
                Ok(v) => return Ok(Some((v, loc))),
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(self.fs_err(e)),
            }
        }
        Ok(None)
    }

    /// Records where a message's file is now.
    pub fn remember(&mut self, loc: FileLoc) {
        let base = self.sep().base(&loc.name).to_vec();
        self.names.insert(base, loc);
    }

    /// Forgets a message file that is gone.
    pub fn forget(&mut self, base: &[u8]) {
        self.names.remove(base);
    }

    /// [`uidlist_stamp`](Self::uidlist_stamp) once a change is on disk and must not be
    /// reported as failed: a stamp that cannot be read is recorded as unknown (all zero),
    /// which makes the next sync read the uidlist again.
    pub fn uidlist_stamp_after_change(&self) -> FileStamp {
        self.uidlist_stamp().unwrap_or_else(|e| {
            log::error!("Mailbox {}: {e}", self.vname);
            FileStamp::default()
        })
    }

    /// `dovecot-uidlist` as it is now (all zero when it does not exist).
    pub fn uidlist_stamp(&self) -> StorageResult<FileStamp> {
        let path = self.uidlist.path();
        self.settings.fs.nfs(FileKind::Storage).flush_attr(path);
        let st = crate::fs::ops::stat_if_exists(path).map_err(|e| self.fs_err(e))?;
        Ok(st.map_or(FileStamp::default(), |st| {
            use std::os::unix::fs::MetadataExt;
            FileStamp {
                ino: st.ino(),
                size: st.size(),
                mtime_nsecs: st.mtime().saturating_mul(1_000_000_000) + st.mtime_nsec(),
            }
        }))
    }
}

/// Index flags → storage flags.
pub(crate) fn mail_flags(f: Flags) -> crate::storage::flags::MailFlags {
    crate::storage::flags::MailFlags::from_bits_truncate(f.bits())
}

/// Storage flags → index flags.
pub(crate) fn index_flags(f: crate::storage::flags::MailFlags) -> Flags {
    Flags::from_bits(f.bits()).unwrap_or(Flags::NONE)
}

/// The messages of `state` whose UIDs are in `uids`, in UID order.
pub(crate) fn messages_in<'a>(
    state: &'a MailboxState,
    uids: &'a UidSet,
) -> impl Iterator<Item = &'a MessageRecord> + 'a {
    let msgs = state.messages();
    uids.ranges().iter().flat_map(move |&(first, last)| {
        let start = msgs.partition_point(|m| m.uid < first);
        let end = msgs.partition_point(|m| m.uid <= last);
        msgs[start..end].iter()
    })
}

/// A message's keyword names.
pub(crate) fn keyword_names(state: &MailboxState, m: &MessageRecord) -> Vec<String> {
    m.keywords
        .iter()
        .filter_map(|id| state.keyword_names().get(id as usize).cloned())
        .collect()
}

/// Whether two keyword lists hold the same names (IMAP keywords compare ignoring ASCII
/// case).
pub(crate) fn same_keywords(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}
