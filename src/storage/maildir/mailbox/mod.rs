//! [`MaildirMailbox`]: the [`Mailbox`] of a Maildir, with cote's index as the cache that
//! makes it fast and shares changes between sessions.
//!
//! Every change to the Maildir happens under `dovecot-uidlist.lock` (always a dotlock,
//! shared with Dovecot) and then the index log lock (`lock_method`), in that order: a sync
//! first (so file names and UIDs are current), then the operation, then one index commit.
//! Sessions see each other's changes (and Dovecot's, found by syncing) through the index
//! log. The index is a cache: missing, damaged or from another mailbox generation, it is
//! rebuilt from `dovecot-uidlist` and the file names.

mod access;
mod append;
pub(crate) mod core;
mod sync;
pub(crate) mod write;

use std::path::{Path, PathBuf};

use crate::fs::{ops, CreatePerms};
use crate::index::mailbox::MailboxIndex;
use crate::index::settings::{IndexSettings, LOG_NAME};
use crate::index::state::Change;
use crate::index::transaction::IndexTransaction;
use crate::index::uidset::UidSet;
use crate::index::writer::LockedIndex;
use crate::storage::api::{
    copy_then_expunge, Copied, LinkSource, Mailbox, MailboxStatus, NewMessage, Saved, StoreRequest,
    StoreResult, SyncFlags,
};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::mail::Mail;
use crate::storage::maildir::filename::BaseNameGenerator;
use crate::storage::maildir::keywords_file::KeywordsFile;
use crate::storage::maildir::sync_state::SyncState;
use crate::storage::maildir::uidlist_file::{UidListFile, UidListLock};
use crate::storage::maildir::{layout, scan};
use crate::storage::namespace::OpenRequest;
use crate::storage::view::{remove_stale_newlock, MailboxView};

use self::append::TmpMail;
use self::core::{messages_in, Core};
use self::sync::SyncOutcome;
use self::write::check_keywords;

/// Dovecot's `MAILDIR_TMP_DELETE_SECS`: files in `tmp/` untouched this long are stale.
const TMP_DELETE_SECS: i64 = 36 * 60 * 60;

/// An `INDEX=MEMORY` index: a private directory removed when the mailbox closes.
pub(crate) struct MemoryIndexDir(pub(crate) PathBuf);

impl Drop for MemoryIndexDir {
    fn drop(&mut self) {
        if let Err(e) = super::super::list::remove_tree(&self.0) {
            log::error!("Removing the in-memory index {}: {e}", self.0.display());
        }
    }
}

/// An open Maildir mailbox.
pub struct MaildirMailbox {
    core: Core,
    view: MailboxView,
    index_dir: PathBuf,
    /// The "can't lock, showing only old mails" warning was logged.
    sync_denied_logged: bool,
    /// inotify on `new/`, `cur/` and the index directory, once IDLE asked for it.
    watch: ChangeWatch,
    /// The `INDEX=MEMORY` directory (modseqs then last only as long as the session).
    memory_index: Option<MemoryIndexDir>,
}

/// Whether the mailbox's directories are watched (see [`Mailbox::change_fd`]).
#[derive(Debug)]
enum ChangeWatch {
    NotAsked,
    Watching(crate::fs::DirWatch),
    /// Starting failed (logged once): changes are seen by periodic syncs only.
    Failed,
}

impl MaildirMailbox {
    /// Opens (and syncs) a mailbox; `autocreate` creates a missing one.
    pub fn open(req: OpenRequest<'_>) -> StorageResult<MaildirMailbox> {
        let vname = req.vname.clone();
        let fin = |e: StorageError| e.finish(&vname);
        let paths = req.location.mailbox_paths(&req.storage_name);
        let exists = layout::is_maildir(&paths.mailbox).map_err(|e| fin(e.into()))?;
        if !exists {
            if !req.autocreate {
                return Err(StorageError::not_found(&vname));
            }
            match layout::create_mailbox(req.location, &req.storage_name) {
                Ok(_) => {}
                Err(e) => return Err(fin(e.into())),
            }
        }
        let perms = CreatePerms::from_path(&paths.mailbox)
            .map_err(|e| fin(e.into()))?
            .ok_or_else(|| StorageError::not_found(&vname))?;
        let control_root = req
            .location
            .control_root()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| paths.mailbox.clone());
        let (index_dir, memory) = match &paths.index {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = memory_index_dir(&req.settings.temp_dir).map_err(fin)?;
                (dir.clone(), Some(MemoryIndexDir(dir)))
            }
        };
        let mut index_settings: IndexSettings = req.settings.index.clone();
        index_settings.perms = perms.clone();
        let read_only = req.options.read_only;
        let move_new = !read_only && (req.options.claim_recent || req.settings.maildir.empty_new);
        let sep = req.settings.maildir.info_separator;
        let namegen = BaseNameGenerator::for_this_process(sep).map_err(|e| fin(e.into()))?;
        let mut core = Core {
            vname: vname.clone(),
            dir: paths.mailbox.clone(),
            control_root,
            uidlist: UidListFile::new(&paths.mailbox, &paths.control, &req.settings.fs, sep),
            keywords: KeywordsFile::new(&paths.control, &req.settings.fs),
            settings: req.settings.clone(),
            index_settings: index_settings.clone(),
            perms,
            read_only,
            move_new,
            names: Default::default(),
            namegen,
        };
        let claims_recent = req.options.claim_recent && !read_only;
        let view = MailboxView::open(&vname, &index_dir, index_settings, claims_recent, || {
            build_index(&mut core, &index_dir, None, false)
        })
        .map_err(fin)?;
        let mut mb = MaildirMailbox {
            core,
            view,
            index_dir,
            sync_denied_logged: false,
            watch: ChangeWatch::NotAsked,
            memory_index: memory,
        };
        mb.run(|mb| mb.open_view()).map_err(fin)?;
        Ok(mb)
    }

    /// The first sync and the session's numbering.
    fn open_view(&mut self) -> StorageResult<()> {
        self.sync_maildir(SyncFlags::default())?;
        self.view.number()
    }

    /// Runs `f`; when it finds the index damaged, rebuilds the index and runs it again.
    fn run<T>(&mut self, mut f: impl FnMut(&mut Self) -> StorageResult<T>) -> StorageResult<T> {
        match f(self) {
            Err(e) if e.needs_index_rebuild() => {
                self.rebuild_index(None)?;
                f(self)
            }
            other => other,
        }
    }

    /// Rebuilds the index from the Maildir; the session's numbering follows (what changed
    /// shows as changes). `uidvalidity`: the new mailbox generation, when it changed.
    fn rebuild_index(&mut self, uidvalidity: Option<u32>) -> StorageResult<()> {
        let fresh = build_index(&mut self.core, &self.index_dir, uidvalidity, false)?;
        self.view.replace_index(fresh);
        Ok(())
    }

    /// Takes the uidlist lock (waiting, or only if free) and then the index lock, runs `op`
    /// with both, and releases them. `None`: the lock was busy and not waited for.
    fn with_locks<T>(
        &mut self,
        blocking: bool,
        op: impl FnOnce(&mut Core, &mut LockedIndex<'_>, &mut UidListLock) -> StorageResult<T>,
    ) -> StorageResult<Option<T>> {
        let Some(mut ul) = self.core.lock_uidlist(blocking)? else {
            return Ok(None);
        };
        let result = match self.view.index_mut().lock() {
            Ok(mut li) => {
                remove_stale_newlock(&self.index_dir);
                let r = op(&mut self.core, &mut li, &mut ul);
                if let Err(e) = li.unlock() {
                    log::error!("Mailbox {}: {e}", self.core.vname);
                }
                r
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = ul.release() {
            log::error!("Mailbox {}: {e}", self.core.vname);
        }
        result.map(Some)
    }

    /// The Maildir part of a sync: if a quick look says something may have changed, read
    /// it under the locks and commit it to the index.
    fn sync_maildir(&mut self, flags: SyncFlags) -> StorageResult<()> {
        let st = SyncState::decode(self.view.state().backend_state());
        let need = self.core.sync_hint(self.view.state(), &st, flags.full)?;
        if need {
            let locked = self.with_locks(!flags.fast, |core, li, ul| {
                core.sync_locked(li, ul, flags.full)
            });
            let outcome = match locked {
                // A Maildir we may read but not lock (Dovecot: "showing only old mails").
                Err(e) if e.kind() == ErrorKind::Perm => {
                    if !self.sync_denied_logged {
                        self.sync_denied_logged = true;
                        log::warn!(
                            "Mailbox {}: can't lock it to sync ({}), showing only old mails",
                            self.core.vname,
                            e.internal().unwrap_or(e.client_text())
                        );
                    }
                    None
                }
                other => other?,
            };
            if outcome == Some(SyncOutcome::ValidityChanged) {
                let uv = self.core.uidlist.list().uid_validity();
                self.rebuild_index(Some(uv))?;
            }
        }
        self.clean_tmp_if_due()?;
        // File names of messages are predicted from their flags and keyword letters: the
        // letters must be the current ones.
        self.core
            .keywords
            .refresh()
            .map_err(|e| StorageError::from_maildir(Some(&self.core.vname), &e))?;
        Ok(())
    }

    fn sync_inner(&mut self, flags: SyncFlags) -> StorageResult<Vec<Change>> {
        self.view.refresh()?;
        self.sync_maildir(flags)?;
        self.view.refresh()?;
        self.view.take_changes()
    }

    /// Removes stale files from `tmp/` every `mail_temp_scan_interval`.
    fn clean_tmp_if_due(&mut self) -> StorageResult<()> {
        let interval = self.core.settings.temp_scan_interval.as_secs() as i64;
        if self.core.read_only || interval == 0 {
            return Ok(());
        }
        let st = SyncState::decode(self.view.state().backend_state());
        let now = scan::server_now(&self.core.dir);
        if st.last_tmp_scan + interval > now {
            return Ok(());
        }
        remove_stale_tmp(&self.core.dir.join("tmp"), now - TMP_DELETE_SECS)
            .map_err(|e| self.core.fs_err(e))?;
        let mut li = self.view.index_mut().lock()?;
        remove_stale_newlock(&self.index_dir);
        let mut st = SyncState::decode(li.state().backend_state());
        st.last_tmp_scan = now;
        let mut tx = IndexTransaction::new();
        tx.set_backend_state(st.encode());
        let result = li.commit(&tx);
        if let Err(e) = li.unlock() {
            log::error!("Mailbox {}: {e}", self.core.vname);
        }
        result.map(drop).map_err(StorageError::from)
    }

    /// Moves files from `tmp/` into place and gives them UIDs; waits for the lock when UIDs
    /// are wanted or keywords need new letters.
    /// A damaged index found before the files moved is rebuilt and the commit tried again
    /// (the files are still in `tmp/`). Once they are in place with UIDs the save has
    /// happened: a failure to refresh the session's view afterwards is logged, not
    /// returned (the client would save again).
    fn commit_files(&mut self, mut files: Vec<TmpMail>, assign_uids: bool) -> StorageResult<Saved> {
        crate::storage::crash::point("save-tmp-written");
        let needs_lock = assign_uids
            || files
                .iter()
                .any(|f| self.core.known_letters(&f.keywords).len() < f.keywords.len().min(26));
        let claim_recent = self.view.claims_recent();
        let done = self.run(|mb| {
            mb.with_locks(needs_lock, |core, li, ul| {
                core.sync_locked(li, ul, false)?;
                core.commit_tmp_locked(li, ul, &mut files, claim_recent)
            })
        })?;
        let uids = match done {
            Some((uids, claimed)) => {
                self.view.add_claimed(&claimed);
                uids
            }
            None => {
                self.core.commit_tmp_unlocked(&mut files)?;
                Vec::new()
            }
        };
        if let Err(e) = self.run(|mb| mb.view.refresh()) {
            log::error!("Mailbox {}: after saving: {e}", self.core.vname);
        }
        Ok(Saved {
            uidvalidity: self.core.uidlist.list().uid_validity(),
            uids,
        })
    }

    /// Runs a change of messages (`op`, under both locks after a sync of the Maildir), then
    /// refreshes the view.
    fn change<T>(
        &mut self,
        mut op: impl FnMut(&mut Core, &mut LockedIndex<'_>, &mut UidListLock) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let vname = self.core.vname.clone();
        let result = (|| {
            self.writable()?;
            let done = self.run(|mb| {
                mb.with_locks(true, |core, li, ul| {
                    if core.sync_locked(li, ul, false)? == SyncOutcome::ValidityChanged {
                        return Err(StorageError::mailbox_gone(
                            &core.vname,
                            "Mailbox UIDVALIDITY changed",
                        ));
                    }
                    op(core, li, ul)
                })
            })?;
            // The change is made: a failure to refresh the view now is logged, not returned.
            if let Err(e) = self.run(|mb| mb.view.refresh()) {
                log::error!("Mailbox {}: after the change: {e}", self.core.vname);
            }
            done.ok_or_else(|| StorageError::critical(None, "uidlist lock not taken"))
        })();
        result.map_err(|e| e.finish(&vname))
    }

    fn writable(&self) -> StorageResult<()> {
        if self.core.read_only {
            Err(StorageError::read_only(&self.core.vname))
        } else {
            Ok(())
        }
    }
}

/// Opens the index if someone else built it meanwhile (with the expected UIDVALIDITY),
/// else builds it from the Maildir, holding the uidlist lock.
/// The mailbox's index: the one in `index_dir` when it opens (of generation `uidvalidity`
/// when given) and `force` is not set, else one built afresh from the Maildir.
fn build_index(
    core: &mut Core,
    index_dir: &Path,
    uidvalidity: Option<u32>,
    force: bool,
) -> StorageResult<MailboxIndex> {
    let Some(mut ul) = core.lock_uidlist(true)? else {
        return Err(StorageError::critical(
            Some(&core.vname),
            "uidlist lock not taken",
        ));
    };
    let result = (|| {
        let existed = ops::stat_if_exists(&index_dir.join(LOG_NAME))?.is_some();
        if existed && !force {
            if let Ok(index) = MailboxIndex::open(index_dir, core.index_settings.clone()) {
                let uv = index.state().uidvalidity();
                if uidvalidity.is_none_or(|want| want == uv) {
                    return Ok(index);
                }
            }
        }
        let rebuilds = u32::from(existed);
        let contents = core.rebuild_contents(&mut ul, rebuilds)?;
        let index = MailboxIndex::create(index_dir, core.index_settings.clone(), contents, 1)?;
        if existed && !force {
            log::warn!(
                "Mailbox {}: index {} rebuilt from the Maildir (modseqs continue above the old ones)",
                core.vname,
                index_dir.display()
            );
        }
        Ok(index)
    })();
    if let Err(e) = ul.release() {
        log::error!("Mailbox {}: {e}", core.vname);
    }
    result
}

/// A private directory for an `INDEX=MEMORY` index.
pub(crate) fn memory_index_dir(temp_dir: &Path) -> StorageResult<PathBuf> {
    let name = format!(
        "cote-memindex.{}.{:x}",
        std::process::id(),
        u64::from(crate::storage::maildir::uidlist_file::new_guid()[0])
            | (u64::from(crate::storage::maildir::uidlist_file::new_guid()[1]) << 8)
            | (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as u64)
                << 16)
    );
    let dir = temp_dir.join(name);
    ops::mkdir(&dir, &CreatePerms::default())?;
    Ok(dir)
}

/// Removes files in `tmp/` older than `min_time` by every timestamp (Dovecot's
/// `unlink_old_files`).
fn remove_stale_tmp(tmp: &Path, min_time: i64) -> Result<(), crate::fs::FsError> {
    use std::os::unix::fs::MetadataExt;
    for entry in ops::read_dir(tmp)? {
        let path = tmp.join(&entry.name);
        let Some(st) = ops::lstat_if_exists(&path)? else {
            continue;
        };
        if st.is_dir() {
            continue;
        }
        if st.mtime() < min_time && st.ctime() < min_time && st.atime() < min_time {
            ops::unlink_if_exists(&path)?;
            log::debug!("Removed stale temporary file {}", path.display());
        }
    }
    Ok(())
}

impl Mailbox for MaildirMailbox {
    fn vname(&self) -> &str {
        &self.core.vname
    }

    fn is_read_only(&self) -> bool {
        self.core.read_only
    }

    crate::storage::view::view_methods!();

    fn sync(&mut self, flags: SyncFlags) -> StorageResult<Vec<Change>> {
        let vname = self.core.vname.clone();
        // Emptied before looking, so a change made after the look wakes the next wait.
        if let ChangeWatch::Watching(watch) = &self.watch {
            if let Err(e) = watch.drain() {
                log::error!("Mailbox {vname}: {e}");
                self.watch = ChangeWatch::Failed;
            }
        }
        self.run(|mb| mb.sync_inner(flags))
            .map_err(|e| e.finish(&vname))
    }

    fn modseqs_permanent(&self) -> bool {
        self.memory_index.is_none()
    }

    fn expunged_since(&mut self, modseq: u64) -> StorageResult<Option<UidSet>> {
        let found = self
            .view
            .index_mut()
            .expunged_since(modseq)
            .map_err(|e| StorageError::from(e).finish(&self.core.vname))?;
        Ok(found.complete.then_some(found.uids))
    }

    fn status(&mut self) -> StorageResult<MailboxStatus> {
        let vname = self.core.vname.clone();
        self.run(|mb| mb.status_inner())
            .map_err(|e| e.finish(&vname))
    }

    fn save(&mut self, messages: &[NewMessage<'_>], assign_uids: bool) -> StorageResult<Saved> {
        let vname = self.core.vname.clone();
        let result = (|| {
            self.writable()?;
            let mut files = Vec::with_capacity(messages.len());
            for m in messages {
                check_keywords(&m.keywords)?;
                files.push(self.core.write_tmp(
                    m.data,
                    m.flags,
                    m.keywords.clone(),
                    m.internal_date,
                )?);
            }
            self.commit_files(files, assign_uids)
        })();
        result.map_err(|e| e.finish(&vname))
    }

    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let vname = self.core.vname.clone();
        self.copy_inner(src, uids).map_err(|e| e.finish(&vname))
    }

    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult> {
        self.change(|core, li, ul| core.store_locked(li, ul, uids, request))
    }

    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        self.change(|core, li, ul| core.expunge_locked(li, ul, uids))
    }

    fn update_modseqs(&mut self, uids: &UidSet) -> StorageResult<Vec<(u32, u64)>> {
        self.change(|_, li, _| {
            let present: UidSet = messages_in(li.state(), uids).map(|m| m.uid).collect();
            if present.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = IndexTransaction::new();
            tx.update_modseqs(&present);
            let committed = li.commit(&tx)?;
            Ok(present.iter().map(|uid| (uid, committed.modseq)).collect())
        })
    }

    fn mail(&mut self, uid: u32) -> StorageResult<Mail> {
        let vname = self.core.vname.clone();
        self.mail_inner(uid).map_err(|e| e.finish(&vname))
    }

    fn save_pop3_uidls(&mut self, uidls: &[(u32, String)]) -> StorageResult<()> {
        let vname = self.core.vname.clone();
        let result = (|| {
            self.writable()?;
            let values: Vec<(u32, &[u8])> =
                uidls.iter().map(|(uid, u)| (*uid, u.as_bytes())).collect();
            self.run(|mb| {
                mb.with_locks(true, |core, _, ul| {
                    core.uidlist
                        .set_extensions(ul, b'P', &values)
                        .map_err(|e| StorageError::from_maildir(Some(&core.vname), &e))
                })
            })?
            .ok_or_else(|| StorageError::critical(None, "uidlist lock not taken"))
            .map(drop)
        })();
        result.map_err(|e| e.finish(&vname))
    }

    fn force_resync(&mut self) -> StorageResult<()> {
        let vname = self.core.vname.clone();
        (|| {
            // A full read of the Maildir reconciled with the uidlist (new files get their
            // UIDs there) makes the new index; the old one is not looked at.
            let fresh = build_index(&mut self.core, &self.index_dir, None, true)?;
            self.view.replace_index(fresh);
            self.view.refresh()
        })()
        .map_err(|e| e.finish(&vname))
    }

    fn guid(&mut self) -> StorageResult<[u8; 16]> {
        if let Some(guid) = self.core.uidlist.list().guid() {
            return Ok(guid);
        }
        let vname = self.core.vname.clone();
        let guid = self
            .with_locks(true, |core, _, ul| {
                core.uidlist
                    .ensure_guid(ul)
                    .map_err(|e| StorageError::from_maildir(Some(&core.vname), &e))
            })
            .and_then(|found| {
                found.flatten().ok_or_else(|| {
                    StorageError::critical(None, "dovecot-uidlist missing after sync")
                })
            });
        guid.map_err(|e| e.finish(&vname))
    }

    fn watch_dirs(&self) -> Vec<std::path::PathBuf> {
        vec![
            self.core.dir.join("new"),
            self.core.dir.join("cur"),
            self.index_dir.clone(),
        ]
    }

    fn change_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
        if let ChangeWatch::NotAsked = self.watch {
            let dirs = self.watch_dirs();
            let dirs: Vec<&std::path::Path> =
                dirs.iter().map(std::path::PathBuf::as_path).collect();
            self.watch = match crate::fs::DirWatch::new(&dirs) {
                Ok(watch) => ChangeWatch::Watching(watch),
                Err(e) => {
                    // Like Dovecot past its inotify limits: IDLE still sees changes, later.
                    log::warn!(
                        "Mailbox {}: {e}: changes are noticed every \
                         mailbox_idle_check_interval only",
                        self.core.vname
                    );
                    ChangeWatch::Failed
                }
            };
        }
        match &self.watch {
            ChangeWatch::Watching(watch) => Some(std::os::fd::AsFd::as_fd(watch)),
            ChangeWatch::NotAsked | ChangeWatch::Failed => None,
        }
    }

    fn link_source(&mut self, uid: u32) -> StorageResult<Option<LinkSource>> {
        let vname = self.core.vname.clone();
        let state = self.view.state();
        let Some(m) = state.message(uid) else {
            return Ok(None);
        };
        let candidates = self.core.candidates(m, state);
        let key = m.key.to_vec();
        let found = self
            .core
            .file_do(&key, candidates, |path, _| ops::stat(path).map(drop))
            .map_err(|e| e.finish(&vname))?;
        Ok(found.map(|((), loc)| {
            let path = loc.path(&self.core.dir);
            self.core.remember(loc);
            LinkSource {
                path,
                perms: self.core.perms.clone(),
            }
        }))
    }

    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        copy_then_expunge(self, src, uids)
    }

    fn changeable_flags(&self) -> (crate::storage::flags::MailFlags, bool) {
        (crate::storage::flags::MailFlags::ALL, true)
    }

    fn may_expunge(&self) -> bool {
        true
    }
}

#[cfg(test)]
pub(crate) mod tests;
