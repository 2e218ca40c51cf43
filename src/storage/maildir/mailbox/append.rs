//! Saving and copying (Dovecot's `maildir-save.c`, `maildir-copy.c`): each message is first
//! written into `tmp/` (in Dovecot's LF form, synced per `mail_fsync`, mtime = INTERNALDATE)
//! or hard-linked there from the source mailbox; then, under the uidlist lock, the files are
//! renamed into `new/` (no flags) or `cur/` (`:2,<flags>`), given UIDs in `dovecot-uidlist`
//! and appended to the index. Without the lock (a delivery that needs no UID when the lock
//! is busy), the files are only moved into place: a later sync gives them UIDs.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fs::{clock, ops, FsError, SyncPoint};
use crate::index::transaction::{AppendMessage, IndexTransaction};
use crate::index::uidset::UidSet;
use crate::index::writer::LockedIndex;
use crate::storage::error::{ErrorKind, StorageError, StorageResult, NO_QUOTA_TEXT};
use crate::storage::flags::MailFlags;
use crate::storage::maildir::filename;
use crate::storage::maildir::save::{dest_name, virtual_size, write_tmp};
use crate::storage::maildir::scan::{FileLoc, Subdir};
use crate::storage::maildir::sync_state::SyncState;
use crate::storage::maildir::uidlist_file::UidListLock;
use crate::storage::maildir::uidvalidity;

use super::core::{index_flags, Core};

/// A message in `tmp/`, waiting to be moved into place; removed if dropped before.
#[derive(Debug)]
pub(crate) struct TmpMail {
    pub tmp: PathBuf,
    /// The base name it gets (with `,S=` and `,W=`).
    pub base: String,
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    pub internal_date: i64,
    pub save_date: i64,
    pub physical_size: u64,
    pub virtual_size: u64,
    done: bool,
}

impl Drop for TmpMail {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = ops::unlink_if_exists(&self.tmp) {
                log::error!("{e}");
            }
        }
    }
}

fn secs_to_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

impl Core {
    fn save_err(&self, e: crate::storage::maildir::MaildirError) -> StorageError {
        StorageError::from_maildir(Some(&self.vname), &e)
    }

    /// Writes one message into `tmp/`.
    pub fn write_tmp(
        &mut self,
        data: &[u8],
        flags: MailFlags,
        keywords: Vec<String>,
        internal_date: Option<i64>,
    ) -> StorageResult<TmpMail> {
        let data = crate::mail::codec::to_lf(data);
        let now = clock::unix_secs(clock::wall_now());
        let date = internal_date.unwrap_or(now);
        let tmp = write_tmp(
            &self.dir,
            &mut self.namegen,
            &data,
            Some(secs_to_time(date)),
            &self.perms,
            &self.settings.fs,
        )
        .map_err(|e| self.save_err(e))?;
        let (psize, vsize) = (data.len() as u64, virtual_size(&data));
        Ok(TmpMail {
            tmp: tmp.path,
            base: filename::with_sizes(&tmp.base, Some(psize), Some(vsize)),
            flags,
            keywords,
            internal_date: date,
            save_date: now,
            physical_size: psize,
            virtual_size: vsize,
            done: false,
        })
    }

    /// Hard-links a message file into `tmp/` (a copy that shares the data). `Ok(None)`
    /// when linking is not possible here (another file system, permissions, a vanished
    /// source): the caller copies the data instead.
    ///
    /// The copy gets a fresh base name, not the source's (Dovecot keeps the source's, its
    /// GUID): a base name can still be listed in this mailbox's `dovecot-uidlist` under the
    /// UID of an expunged copy (expunged lines stay until the file is rewritten), and a
    /// file that appears under it before its own line is written — a crash between the two
    /// — would come back with that old UID.
    pub fn link_tmp(
        &mut self,
        src: &Path,
        flags: MailFlags,
        keywords: Vec<String>,
        internal_date: i64,
        physical_size: u64,
        virtual_size: u64,
    ) -> StorageResult<Option<TmpMail>> {
        let fresh = self.namegen.next(clock::wall_now());
        let tmp = self.dir.join("tmp").join(&fresh);
        match ops::link(src, &tmp, self.settings.fs.nfs_storage) {
            Ok(()) => {}
            Err(e) if e.is_no_space() => {
                return Err(StorageError::new(ErrorKind::NoQuota, NO_QUOTA_TEXT))
            }
            Err(e) if link_impossible(&e) => return Ok(None),
            Err(e) => return Err(self.fs_err(e)),
        }
        Ok(Some(TmpMail {
            tmp,
            base: filename::with_sizes(&fresh, Some(physical_size), Some(virtual_size)),
            flags,
            keywords,
            internal_date,
            save_date: clock::unix_secs(clock::wall_now()),
            physical_size,
            virtual_size,
            done: false,
        }))
    }

    /// Moves the files into place and gives them UIDs, under both locks (a sync has just
    /// run). Returns the UIDs in the order of `files`, and with `claim_recent` (the saving
    /// session claims \Recent messages) the messages it claimed in the same commit: as in
    /// Dovecot, the session that saves a message sees it as \Recent, not another session
    /// that happens to sync between the save and the saver's next look. Once the UIDs are in
    /// the uidlist the save has happened: an index failure after that is logged (the next
    /// sync repairs it).
    pub fn commit_tmp_locked(
        &mut self,
        li: &mut LockedIndex<'_>,
        ul: &mut UidListLock,
        files: &mut [TmpMail],
        claim_recent: bool,
    ) -> StorageResult<(Vec<u32>, UidSet)> {
        self.keywords.refresh().map_err(|e| self.save_err(e))?;
        let letters: Vec<Vec<u8>> = files
            .iter()
            .map(|f| self.letters_for(&f.keywords))
            .collect();
        self.commit_keywords(ul)?;
        let moved = self.move_into_place(files, &letters)?;
        crate::storage::crash::point("save-moved");
        let names: Vec<Vec<u8>> = moved.iter().map(|l| l.name.clone()).collect();
        if self.uidlist.list().uid_validity() == li.state().uidvalidity() {
            self.uidlist.raise_next_uid(li.state().next_uid());
        }
        let (root, perms) = (self.control_root.clone(), self.perms.clone());
        let added = match self
            .uidlist
            .add_files(ul, names, || uidvalidity::next(&root, &perms))
        {
            Ok(added) => added,
            Err(e) => {
                // Not acknowledged: take the files back out, nobody has seen them with UIDs.
                for loc in &moved {
                    let _ = ops::unlink_if_exists(&loc.path(&self.dir));
                }
                return Err(self.save_err(e));
            }
        };
        crate::storage::crash::point("save-uid-assigned");
        let mut uids = Vec::with_capacity(files.len());
        let mut tx = IndexTransaction::new();
        let mut appends = Vec::new();
        let mut appended_new = 0u32;
        for (f, loc) in files.iter().zip(&moved) {
            let base = self.sep().base(&loc.name);
            let uid = added
                .iter()
                .find(|r| self.sep().base(&r.filename) == base)
                .map(|r| r.uid)
                .or_else(|| self.uidlist.list().uid_of(base))
                .unwrap_or(0);
            uids.push(uid);
            self.remember(loc.clone());
            if uid != 0 {
                appended_new += u32::from(loc.subdir == Subdir::New);
                appends.push(AppendMessage {
                    uid,
                    flags: index_flags(f.flags),
                    keywords: f.keywords.clone(),
                    key: base.to_vec(),
                    physical_size: Some(f.physical_size),
                    virtual_size: Some(f.virtual_size),
                    internal_date: Some(f.internal_date),
                    save_date: Some(f.save_date),
                });
            }
        }
        appends.sort_by_key(|a| a.uid);
        for a in appends {
            tx.append(a);
        }
        tx.set_next_uid(self.uidlist.list().next_uid());
        if li.state().uidvalidity() == 0 {
            tx.set_uidvalidity(self.uidlist.list().uid_validity());
        }
        let mut st = SyncState::decode(li.state().backend_state());
        let touched = [
            moved.iter().any(|l| l.subdir == Subdir::New),
            moved.iter().any(|l| l.subdir == Subdir::Cur),
        ];
        st.new_has_files |= touched[0];
        st.new_known += appended_new;
        match self
            .stamp_touched(&mut st, touched)
            .and_then(|()| self.uidlist_stamp())
        {
            Ok(stamp) => {
                st.uidlist = stamp;
                tx.set_backend_state(st.encode());
            }
            Err(e) => log::error!("Mailbox {}: {e}", self.vname),
        }
        if claim_recent {
            tx.claim_recent();
        }
        let claimed = match li.commit(&tx) {
            Ok(committed) => committed.claimed_recent,
            Err(e) => {
                log::error!(
                    "Mailbox {}: saved with UIDs {uids:?}, but the index commit failed (repaired by the next sync): {e}",
                    self.vname
                );
                UidSet::new()
            }
        };
        Ok((uids, claimed))
    }

    /// Moves the files into place without the lock (UIDs come with a later sync). Keywords
    /// without a letter yet are not written (the caller waits for the lock when there are
    /// such).
    pub fn commit_tmp_unlocked(&mut self, files: &mut [TmpMail]) -> StorageResult<()> {
        let letters: Vec<Vec<u8>> = files
            .iter()
            .map(|f| self.known_letters(&f.keywords))
            .collect();
        self.move_into_place(files, &letters).map(drop)
    }

    /// Renames each file from `tmp/` into `new/` or `cur/` and syncs the directories; on
    /// failure the files already moved are removed again (not acknowledged, no UID yet).
    fn move_into_place(
        &mut self,
        files: &mut [TmpMail],
        letters: &[Vec<u8>],
    ) -> StorageResult<Vec<FileLoc>> {
        let mut moved: Vec<FileLoc> = Vec::with_capacity(files.len());
        for (f, letters) in files.iter_mut().zip(letters) {
            let (sub, name) = dest_name(self.sep(), &f.base, f.flags, letters);
            let loc = FileLoc {
                subdir: if sub == "new" {
                    Subdir::New
                } else {
                    Subdir::Cur
                },
                name: name.into_bytes(),
            };
            let dest = self.dir.join(sub).join(OsStr::from_bytes(&loc.name));
            if let Err(e) = ops::rename(&f.tmp, &dest) {
                for l in &moved {
                    let _ = ops::unlink_if_exists(&l.path(&self.dir));
                }
                return Err(self.fs_err(e));
            }
            f.done = true;
            moved.push(loc);
        }
        for (sub, used) in [
            ("new", moved.iter().any(|l| l.subdir == Subdir::New)),
            ("cur", moved.iter().any(|l| l.subdir == Subdir::Cur)),
        ] {
            if used {
                ops::fsync_dir(&self.settings.fs, &self.dir.join(sub), SyncPoint::Durable)
                    .map_err(|e| self.fs_err(e))?;
            }
        }
        Ok(moved)
    }
}

/// link() errors that mean "copy the data instead" (Dovecot's EACCES, ECANTLINK, EEXIST).
fn link_impossible(e: &FsError) -> bool {
    matches!(
        e.errno(),
        Some(libc::ENOENT)
            | Some(libc::EXDEV)
            | Some(libc::EPERM)
            | Some(libc::EACCES)
            | Some(libc::EMLINK)
            | Some(libc::EEXIST)
            | Some(libc::ENOTSUP)
    )
}
