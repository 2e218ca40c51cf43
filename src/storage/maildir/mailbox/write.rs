//! Flag changes and expunges, under both locks (after a sync, so names are current): the
//! file is renamed (flags) or unlinked (expunge) first, then the index transaction records
//! it with a new modseq. A rename that fails for lack of space keeps the change in the index
//! only ("dirty"), retried by later syncs; a file someone else removed is reported as
//! expunged.

use crate::fs::{ops, FileKind, FsError, FsOp};
use crate::index::flags::Flags;
use crate::index::keywords::check_keyword_name;
use crate::index::state::MailboxState;
use crate::index::transaction::{FlagMode, IndexTransaction};
use crate::index::uidset::UidSet;
use crate::index::writer::LockedIndex;
use crate::storage::api::{StoreRequest, StoreResult};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::maildir::filename::InfoSeparator;
use crate::storage::maildir::scan::{find_file, FileLoc, Subdir};
use crate::storage::maildir::sync_state::{SyncState, SYNC_SECS};
use crate::storage::maildir::uidlist_file::UidListLock;

use super::core::{index_flags, keyword_names, mail_flags, messages_in, same_keywords, Core};

/// The flags and keywords a message ends up with.
pub(crate) fn apply_change(
    req: &StoreRequest,
    flags: Flags,
    keywords: &[String],
) -> (Flags, Vec<String>) {
    let req_flags = index_flags(req.flags);
    let has = |list: &[String], k: &str| list.iter().any(|x| x.eq_ignore_ascii_case(k));
    match req.mode {
        FlagMode::Add => {
            let mut kw = keywords.to_vec();
            for k in &req.keywords {
                if !has(&kw, k) {
                    kw.push(k.clone());
                }
            }
            (flags.union(req_flags), kw)
        }
        FlagMode::Remove => {
            let kw = keywords
                .iter()
                .filter(|k| !has(&req.keywords, k))
                .cloned()
                .collect();
            (flags.difference(req_flags), kw)
        }
        FlagMode::Replace => {
            let mut kw: Vec<String> = Vec::new();
            for k in &req.keywords {
                if !has(&kw, k) {
                    kw.push(k.clone());
                }
            }
            (req_flags, kw)
        }
    }
}

/// Checks keyword names as the index would refuse them, with the text IMAP shows.
/// Whether a fresh read of the mailbox's directories finds the file of `base` under `loc`
/// (when the read fails, the caller's own check decides).
fn named_so_now(dir: &std::path::Path, base: &[u8], sep: InfoSeparator, loc: &FileLoc) -> bool {
    match find_file(dir, base, sep) {
        Ok(found) => found.as_ref() == Some(loc),
        Err(_) => true,
    }
}

pub(crate) fn check_keywords(keywords: &[String]) -> StorageResult<()> {
    for k in keywords {
        if check_keyword_name(k).is_err() {
            return Err(StorageError::params(format!("Invalid keyword: {k}")));
        }
    }
    Ok(())
}

impl Core {
    /// STORE under the locks.
    pub fn store_locked(
        &mut self,
        li: &mut LockedIndex<'_>,
        ul: &UidListLock,
        uids: &UidSet,
        req: &StoreRequest,
    ) -> StorageResult<StoreResult> {
        check_keywords(&req.keywords)?;
        self.keywords
            .refresh()
            .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))?;
        let state: &MailboxState = li.state();
        let mut st = SyncState::decode(state.backend_state());
        let mut result = StoreResult::default();
        let mut updates: Vec<(u32, Flags, Vec<String>)> = Vec::new();
        let mut touched = [false; 2];
        let dir = self.dir.clone();
        let mut failure = None;
        for m in messages_in(state, uids) {
            if req.unchanged_since.is_some_and(|since| m.modseq > since) {
                result.modified.insert(m.uid);
                continue;
            }
            let old_kw = keyword_names(state, m);
            let (flags, kw) = apply_change(req, m.flags, &old_kw);
            if flags == m.flags && same_keywords(&kw, &old_kw) {
                continue;
            }
            let letters = self.letters_for(&kw);
            // A letter must be in dovecot-keywords before any file name uses it.
            self.commit_keywords(ul)?;
            let file_flags = mail_flags(flags);
            let candidates = self.candidates(m, state);
            let sep = self.sep();
            let shared = self.settings.fs.nfs(FileKind::Storage).enabled();
            let renamed = self.file_do(&m.key, candidates, |path, loc| {
                let name = sep.with_flags(&loc.name, file_flags, &letters);
                let to = FileLoc {
                    subdir: loc.subdir,
                    name,
                };
                if to.name == loc.name {
                    // Nothing to rename only if the file has this name now. On a shared
                    // mount the name cache can still answer for a name another host renamed
                    // away (to other flags): the change would reach the index but not the
                    // file name, which the next full sync takes back. Ask the directory.
                    if shared && !named_so_now(&dir, &m.key, sep, loc) {
                        let gone = std::io::Error::from_raw_os_error(libc::ENOENT);
                        return Err(FsError::io(FsOp::Stat, path, gone));
                    }
                    ops::stat(path).map(|_| to)
                } else {
                    ops::rename(path, &to.path(&dir)).map(|()| to)
                }
            });
            match renamed {
                Ok(Some((to, _))) => {
                    crate::storage::crash::point("flags-renamed");
                    touched[usize::from(to.subdir == Subdir::Cur)] = true;
                    self.remember(to);
                    updates.push((m.uid, flags, kw));
                }
                // Removed by someone else: the next sync expunges it from the index.
                Ok(None) => result.expunged.insert(m.uid),
                Err(e) if e.kind() == ErrorKind::NoQuota && st.dirty_has_room(m.uid) => {
                    st.dirty.insert(m.uid);
                    updates.push((m.uid, flags, kw));
                }
                Err(e) => {
                    failure = Some(e.for_uid(m.uid));
                    break;
                }
            }
        }
        if !updates.is_empty() {
            let mut tx = IndexTransaction::new();
            for (uid, flags, kw) in &updates {
                tx.update_flags(
                    UidSet::range(*uid, *uid),
                    FlagMode::Replace,
                    *flags,
                    kw.clone(),
                );
            }
            self.stamp_touched(&mut st, touched)?;
            st.uidlist = self.uidlist_stamp_after_change();
            tx.set_backend_state(st.encode());
            let committed = li.commit(&tx)?;
            result.changed = updates
                .iter()
                .map(|(uid, _, _)| (*uid, committed.modseq))
                .collect();
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }

    /// EXPUNGE under the locks; returns the UIDs now gone (ours and ones already removed).
    pub fn expunge_locked(
        &mut self,
        li: &mut LockedIndex<'_>,
        ul: &mut UidListLock,
        uids: &UidSet,
    ) -> StorageResult<UidSet> {
        let state: &MailboxState = li.state();
        let mut expunged = UidSet::new();
        let mut touched = [false; 2];
        let mut failure = None;
        let mut keys = Vec::new();
        let mut left_new = 0u32;
        for m in messages_in(state, uids) {
            let candidates = self.candidates(m, state);
            match self.file_do(&m.key, candidates, |path, loc| {
                ops::unlink(path).map(|()| loc.subdir)
            }) {
                Ok(found) => {
                    if let Some((subdir, _)) = found {
                        touched[usize::from(subdir == Subdir::Cur)] = true;
                        left_new += u32::from(subdir == Subdir::New);
                        crate::storage::crash::point("expunge-unlinked");
                    }
                    expunged.insert(m.uid);
                    keys.push(m.key.to_vec());
                }
                Err(e) => {
                    failure = Some(e.for_uid(m.uid));
                    break;
                }
            }
        }
        for key in keys {
            self.forget(&key);
        }
        if !expunged.is_empty() {
            let list: Vec<u32> = expunged.iter().collect();
            self.uidlist
                .expunge(ul, &list)
                .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))?;
            crate::storage::crash::point("expunge-uidlist-written");
            let mut st = SyncState::decode(li.state().backend_state());
            st.dirty = st.dirty.iter().filter(|&u| !expunged.contains(u)).collect();
            st.new_known = st.new_known.saturating_sub(left_new);
            self.stamp_touched(&mut st, touched)?;
            st.uidlist = self.uidlist_stamp_after_change();
            let mut tx = IndexTransaction::new();
            tx.expunge(&expunged);
            tx.set_backend_state(st.encode());
            li.commit(&tx)?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(expunged),
        }
    }

    /// After our own changes to `cur/` (`touched[1]`), which a sync had just brought up to
    /// date: its new time, read now — still "dirty", so it is read again once the sync
    /// window has passed, in case someone else changed it in the same clock tick (file
    /// times are coarse). A pending re-read is never postponed by our changes: the earliest
    /// check time is kept. `new/` (`touched[0]`) keeps its old stamp: it is small, and the
    /// next sync reads it.
    pub fn stamp_touched(&self, st: &mut SyncState, touched: [bool; 2]) -> StorageResult<()> {
        let _ = touched[0];
        if touched[1] {
            let old = st.cur;
            st.cur = self.restamp(Subdir::Cur)?;
            let pending = !old.is_unset() && old.check_time <= old.mtime + SYNC_SECS;
            if pending {
                st.cur.check_time = st.cur.check_time.min(old.check_time);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::flags::MailFlags;

    fn req(mode: FlagMode, flags: MailFlags, kw: &[&str]) -> StoreRequest {
        StoreRequest {
            mode,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            unchanged_since: None,
        }
    }

    #[test]
    fn flag_modes() {
        let old = vec!["$Junk".to_string(), "work".to_string()];
        let (f, k) = apply_change(
            &req(FlagMode::Add, MailFlags::SEEN, &["WORK", "new"]),
            Flags::FLAGGED,
            &old,
        );
        assert_eq!(f, Flags::FLAGGED.union(Flags::SEEN));
        assert_eq!(k, vec!["$Junk", "work", "new"]);
        let (f, k) = apply_change(
            &req(FlagMode::Remove, MailFlags::FLAGGED, &["$junk"]),
            Flags::FLAGGED.union(Flags::SEEN),
            &old,
        );
        assert_eq!(f, Flags::SEEN);
        assert_eq!(k, vec!["work"]);
        let (f, k) = apply_change(
            &req(FlagMode::Replace, MailFlags::DRAFT, &["a", "A"]),
            Flags::FLAGGED,
            &old,
        );
        assert_eq!(f, Flags::DRAFT);
        assert_eq!(k, vec!["a"]);
        assert!(check_keywords(&["ok".into()]).is_ok());
        assert_eq!(
            check_keywords(&["bad)".into()]).unwrap_err().kind(),
            ErrorKind::Params
        );
    }
}
