//! Syncing a Maildir into its index, under the uidlist lock and the index log lock (in that
//! order, as Dovecot locks them): Dovecot's `maildir_sync_context()` and
//! `maildir_sync_index()`.
//!
//! - Which directories to read comes from the quick check ([`quick_check`]), plus: the
//!   uidlist has UIDs the index lacks (assigned by Dovecot or by a process that died before
//!   committing), files were left in `new/` and this session moves them, or the index is new.
//! - Files without a UID get one (appended to `dovecot-uidlist`), in Dovecot's order.
//! - Every uidlist record whose file was seen: appended to the index when new to it, its
//!   flags and keywords taken from the file name when they differ (keywords without a file
//!   letter — past the 26th — are index-only and kept), or, when the index had expunged
//!   it, "Expunged message reappeared" and a new UID.
//! - After a full read (`cur/` too), records whose file is gone are expunged from the index
//!   and the uidlist; a partial read (`new/` only) that misses a file it needs turns into a
//!   full one.
//! - A lost uidlist is restored from the index (UIDs survive); a lost index is rebuilt from
//!   the uidlist and the files; a uidlist whose UIDVALIDITY differs from the index's means
//!   the mailbox was recreated: the index is rebuilt and open sessions must close it.

use crate::index::state::{MailboxState, MessageRecord};
use crate::index::transaction::{AppendMessage, FlagMode, IndexTransaction};
use crate::index::uidset::UidSet;
use crate::index::writer::LockedIndex;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::maildir::scan::{self, FileLoc, Scan, ScanOptions, Subdir};
use crate::storage::maildir::sync_state::{quick_check, ScanNeed, SyncState};
use crate::storage::maildir::uidlist::UidList;
use crate::storage::maildir::uidlist_file::{new_guid, UidListLock};
use crate::storage::maildir::uidvalidity;

use super::core::{index_flags, keyword_names, mail_flags, same_keywords, Core};

/// What a locked sync found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncOutcome {
    /// The index is in line with the Maildir.
    Done,
    /// The uidlist's UIDVALIDITY differs from the index's: the index must be recreated.
    ValidityChanged,
}

enum Reconciled {
    Done(Box<IndexTransaction>),
    /// A file the index needs was not in `new/`: read `cur/` too.
    NeedFull,
    ValidityChanged,
}

impl Core {
    /// What must be read. `uidlist_current`: the in-memory uidlist was just read from the
    /// file (under the lock, or because its stamp changed), so what it holds counts.
    fn sync_need(
        &self,
        state: &MailboxState,
        st: &SyncState,
        full: bool,
        uidlist_current: bool,
    ) -> StorageResult<ScanNeed> {
        let times = self.dir_times()?;
        let now = scan::server_now(&self.dir);
        let mut need = quick_check(st, times, now, full, self.settings.maildir.very_dirty_syncs);
        if state.uidvalidity() == 0 {
            need = ScanNeed::ALL;
        }
        if uidlist_current {
            let list = self.uidlist.list();
            if list.header().is_none() {
                need = ScanNeed::ALL;
            }
            // UIDs the index has not got (assigned by Dovecot, or by a process that died
            // before committing them to the index).
            if list.next_uid() > state.next_uid() {
                need.new = true;
            }
        }
        if self.move_new && st.new_has_files {
            need.new = true;
        }
        Ok(need)
    }

    /// Whether a sync may find something (judged without locks; the locked sync judges
    /// again). The uidlist is read only when it changed since the index recorded it.
    pub fn sync_hint(
        &mut self,
        state: &MailboxState,
        st: &SyncState,
        full: bool,
    ) -> StorageResult<bool> {
        let changed = self.uidlist_stamp()? != st.uidlist;
        if changed {
            self.uidlist
                .refresh()
                .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))?;
        }
        Ok(self.sync_need(state, st, full, changed)?.any())
    }

    /// Syncs the Maildir into the locked index and commits what changed. With `full`,
    /// directories inside their dirty window are read now.
    pub fn sync_locked(
        &mut self,
        li: &mut LockedIndex<'_>,
        ul: &mut UidListLock,
        full: bool,
    ) -> StorageResult<SyncOutcome> {
        let mut st = SyncState::decode(li.state().backend_state());
        let need = self.sync_need(li.state(), &st, full, true)?;
        if !need.any() {
            return Ok(SyncOutcome::Done);
        }
        // cur/ is read whenever it may have changed; otherwise its recorded state is right.
        let mut read_cur = need.cur;
        loop {
            let scan = self.read(read_cur)?;
            match self.reconcile(li.state(), ul, &scan, &mut st)? {
                Reconciled::NeedFull => {
                    read_cur = true;
                    continue;
                }
                Reconciled::ValidityChanged => return Ok(SyncOutcome::ValidityChanged),
                Reconciled::Done(mut tx) => {
                    self.stamp_after_scan(&mut st, &scan)?;
                    st.uidlist = self.uidlist_stamp()?;
                    tx.set_backend_state(st.encode());
                    li.commit(&tx)?;
                    return Ok(SyncOutcome::Done);
                }
            }
        }
    }

    /// The whole contents of a new index built from the Maildir (the index was lost or
    /// damaged, or the mailbox was recreated): a full read reconciled against an empty
    /// state. `rebuilds` counts the rebuilds of an index that existed before.
    pub fn rebuild_contents(
        &mut self,
        ul: &mut UidListLock,
        rebuilds: u32,
    ) -> StorageResult<IndexTransaction> {
        let empty = MailboxState::new(1);
        let mut st = SyncState {
            rebuilds,
            ..SyncState::default()
        };
        let scan = self.read(true)?;
        match self.reconcile(&empty, ul, &scan, &mut st)? {
            Reconciled::Done(mut tx) => {
                self.stamp_after_scan(&mut st, &scan)?;
                st.uidlist = self.uidlist_stamp()?;
                tx.set_backend_state(st.encode());
                Ok(*tx)
            }
            // A full read against an empty state needs nothing more and cannot disagree
            // about UIDVALIDITY.
            Reconciled::NeedFull | Reconciled::ValidityChanged => Err(StorageError::critical(
                Some(&self.vname),
                "rebuilding the index: unexpected reconcile result",
            )),
        }
    }

    fn read(&mut self, read_cur: bool) -> StorageResult<Scan> {
        scan::scan(ScanOptions {
            mailbox_dir: &self.dir,
            move_new: self.move_new,
            read_cur,
            names: &mut self.namegen,
        })
        .map_err(|e| StorageError::from_maildir(Some(&self.vname), &e))
    }

    /// Records the directories as read, and as changed by our own moves (a `cur/` that was
    /// not read had not changed since its recorded state, or it would have been).
    fn stamp_after_scan(&self, st: &mut SyncState, scan: &Scan) -> StorageResult<()> {
        if scan.new_read {
            st.new = match (scan.moved, scan.new_stamp) {
                (0, Some(stamp)) => stamp,
                _ => self.restamp(Subdir::New)?,
            };
            st.new_has_files = scan.new_left;
        }
        st.cur = match (scan.moved, scan.cur_stamp) {
            (0, Some(stamp)) => stamp,
            (0, None) => st.cur,
            _ => self.restamp(Subdir::Cur)?,
        };
        Ok(())
    }

    /// Compares what was read with the uidlist and the index state; writes the uidlist (and
    /// keywords) changes and returns the index transaction.
    fn reconcile(
        &mut self,
        state: &MailboxState,
        ul: &mut UidListLock,
        scan: &Scan,
        st: &mut SyncState,
    ) -> StorageResult<Reconciled> {
        let full = scan.cur_read;
        let vname = self.vname.clone();
        let merr = |e| StorageError::from_maildir(Some(&vname), &e);
        // Letters in file names mean what dovecot-keywords says now.
        self.keywords.refresh().map_err(merr)?;
        if self.uidlist.list().header().is_none() && state.uidvalidity() != 0 {
            if !full {
                return Ok(Reconciled::NeedFull);
            }
            // The uidlist was lost but the index knows the UIDs: keep them.
            let records = state
                .messages()
                .iter()
                .filter(|m| scan.files.contains_key(&*m.key))
                .map(|m| (m.uid, m.key.to_vec()))
                .collect();
            let list = UidList::restore(
                self.sep(),
                state.uidvalidity(),
                new_guid(),
                state.next_uid(),
                records,
            );
            log::warn!(
                "Maildir {}: {} was lost, restored from the index",
                self.dir.display(),
                self.uidlist.path().display()
            );
            self.uidlist.restore(ul, list).map_err(merr)?;
        }
        let uidvalidity = self.uidlist.list().uid_validity();
        if uidvalidity != 0 && state.uidvalidity() != 0 && uidvalidity != state.uidvalidity() {
            log::warn!(
                "Maildir {}: UIDVALIDITY changed ({} -> {uidvalidity})",
                self.dir.display(),
                state.uidvalidity()
            );
            return Ok(Reconciled::ValidityChanged);
        }
        // Never a UID the index has seen, whatever the uidlist we read says.
        if uidvalidity == state.uidvalidity() {
            self.uidlist.raise_next_uid(state.next_uid());
        }
        // Files without a UID get one.
        let fresh: Vec<Vec<u8>> = scan
            .files
            .iter()
            .filter(|(base, _)| self.uidlist.list().uid_of(base).is_none())
            .map(|(_, loc)| loc.name.clone())
            .collect();
        if !fresh.is_empty() || self.uidlist.list().header().is_none() {
            let (root, perms) = (self.control_root.clone(), self.perms.clone());
            self.uidlist
                .add_files(ul, fresh, || uidvalidity::next(&root, &perms))
                .map_err(merr)?;
            crate::storage::crash::point("sync-uids-assigned");
        }
        let next = state.next_uid();
        let mut tx = IndexTransaction::new();
        let mut appends = Vec::new();
        let mut gone = Vec::new();
        let mut expunge = UidSet::new();
        let mut reappeared = Vec::new();
        let list = self.uidlist.list();
        let records: Vec<(u32, Vec<u8>)> = if full {
            list.records()
                .iter()
                .map(|r| (r.uid, self.sep().base(&r.filename).to_vec()))
                .collect()
        } else {
            // Only new/ was read: what matters are the files there and the records the
            // index has not got yet — unless indexed files left new/ (moved to cur/ or
            // expunged, which only a full read can tell).
            let known_in_new = scan
                .files
                .iter()
                .filter(|(b, l)| {
                    l.subdir == Subdir::New && list.uid_of(b).is_some_and(|uid| uid < next)
                })
                .count();
            if known_in_new < st.new_known as usize {
                return Ok(Reconciled::NeedFull);
            }
            let mut v: Vec<(u32, Vec<u8>)> = scan
                .files
                .keys()
                .filter_map(|b| list.uid_of(b).map(|uid| (uid, b.clone())))
                .collect();
            let tail = list.records().partition_point(|r| r.uid < next);
            v.extend(
                list.records()[tail..]
                    .iter()
                    .map(|r| (r.uid, self.sep().base(&r.filename).to_vec())),
            );
            v.sort();
            v.dedup();
            v
        };
        for (uid, base) in records {
            match scan.files.get(&base) {
                Some(loc) => {
                    self.remember(loc.clone());
                    if uid >= next {
                        appends.push(self.append_from_file(uid, loc));
                    } else if let Some(m) = state.message(uid) {
                        if st.dirty.contains(uid) {
                            self.retry_dirty(state, m, loc, st, ul)?;
                        } else if let Some((flags, kw)) = self.file_flags_differ(state, m, loc) {
                            tx.update_flags(UidSet::range(uid, uid), FlagMode::Replace, flags, kw);
                        }
                    } else {
                        reappeared.push((uid, loc.clone()));
                    }
                }
                None if full => {
                    gone.push(uid);
                    if state.message(uid).is_some() {
                        expunge.insert(uid);
                    }
                }
                None if uid >= next => return Ok(Reconciled::NeedFull),
                None => {}
            }
        }
        // The index has messages the uidlist lost: expunged (and the uidlist rewritten) by
        // someone who does not write this index. Their files went from cur/ (whose change
        // makes the read full) or from new/ (caught above).
        if full {
            for m in state.messages() {
                if self.uidlist.list().get(m.uid).is_none() {
                    expunge.insert(m.uid);
                }
            }
        }
        if !gone.is_empty() {
            for &uid in &gone {
                if let Some(rec) = self.uidlist.list().get(uid) {
                    let base = self.sep().base(&rec.filename).to_vec();
                    self.forget(&base);
                }
            }
            self.uidlist.expunge(ul, &gone).map_err(merr)?;
        }
        if !reappeared.is_empty() {
            self.give_new_uids(ul, &reappeared, &mut appends)?;
        }
        appends.sort_by_key(|a: &AppendMessage| a.uid);
        for a in appends {
            tx.append(a);
        }
        if state.uidvalidity() == 0 {
            tx.set_uidvalidity(self.uidlist.list().uid_validity());
        }
        tx.set_next_uid(self.uidlist.list().next_uid());
        tx.expunge(&expunge);
        st.new_known = scan
            .files
            .values()
            .filter(|l| l.subdir == Subdir::New)
            .count() as u32;
        self.commit_keywords(ul)?;
        Ok(Reconciled::Done(Box::new(tx)))
    }

    /// Files whose UID the index had expunged are back: they get new UIDs (Dovecot's
    /// `maildir_handle_uid_insertion`).
    fn give_new_uids(
        &mut self,
        ul: &mut UidListLock,
        reappeared: &[(u32, FileLoc)],
        appends: &mut Vec<AppendMessage>,
    ) -> StorageResult<()> {
        let vname = self.vname.clone();
        let merr = |e| StorageError::from_maildir(Some(&vname), &e);
        for (uid, loc) in reappeared {
            let name = String::from_utf8_lossy(&loc.name);
            let mh = if name.starts_with("msg.") {
                " (Your MDA is saving MH files into Maildir?)"
            } else {
                ""
            };
            log::warn!(
                "Maildir {}: Expunged message reappeared, giving a new UID (old uid={uid}, file={name}){mh}",
                self.dir.display()
            );
        }
        let old: Vec<u32> = reappeared.iter().map(|(uid, _)| *uid).collect();
        self.uidlist.expunge(ul, &old).map_err(merr)?;
        let names = reappeared.iter().map(|(_, l)| l.name.clone()).collect();
        let added = self.uidlist.add_files(ul, names, || 0).map_err(merr)?;
        // The old lines must go, or readers would see the file under two UIDs.
        self.uidlist.rewrite(ul).map_err(merr)?;
        for rec in added {
            if let Some((_, loc)) = reappeared
                .iter()
                .find(|(_, l)| self.sep().base(&l.name) == self.sep().base(&rec.filename))
            {
                appends.push(self.append_from_file(rec.uid, loc));
            }
        }
        Ok(())
    }

    /// An index record for a file found on disk.
    fn append_from_file(&mut self, uid: u32, loc: &FileLoc) -> AppendMessage {
        let (flags, letters) = self.sep().flags(&loc.name);
        let broken = self.settings.maildir.broken_filename_sizes;
        AppendMessage {
            uid,
            flags: index_flags(flags),
            keywords: self.names_for(&letters),
            key: self.sep().base(&loc.name).to_vec(),
            physical_size: self.sep().quick_size(&loc.name, false, broken),
            virtual_size: self.sep().quick_size(&loc.name, true, broken),
            internal_date: None,
            save_date: None,
        }
    }

    /// The flags and keywords to give the index when the file name says something else;
    /// index-only keywords (no file letter) are kept.
    fn file_flags_differ(
        &mut self,
        state: &MailboxState,
        m: &MessageRecord,
        loc: &FileLoc,
    ) -> Option<(crate::index::flags::Flags, Vec<String>)> {
        let (flags, letters) = self.sep().flags(&loc.name);
        let file_kw = self.names_for(&letters);
        let idx_kw = keyword_names(state, m);
        let kw = self.keywords.keywords();
        let (with_letter, index_only): (Vec<String>, Vec<String>) =
            idx_kw.into_iter().partition(|n| kw.letter_of(n).is_some());
        let flags = index_flags(flags);
        if flags == m.flags && same_keywords(&file_kw, &with_letter) {
            return None;
        }
        let mut all = file_kw;
        all.extend(index_only);
        Some((flags, all))
    }

    /// A message whose flag change could not be written to its file name (out of space):
    /// try again now.
    fn retry_dirty(
        &mut self,
        state: &MailboxState,
        m: &MessageRecord,
        loc: &FileLoc,
        st: &mut SyncState,
        ul: &UidListLock,
    ) -> StorageResult<()> {
        let names = keyword_names(state, m);
        let letters = self.letters_for(&names);
        self.commit_keywords(ul)?;
        let name = self
            .sep()
            .with_flags(&loc.name, mail_flags(m.flags), &letters);
        let done = |st: &mut SyncState| {
            st.dirty = st.dirty.iter().filter(|&u| u != m.uid).collect();
        };
        if name == loc.name {
            done(st);
            return Ok(());
        }
        let to = FileLoc {
            subdir: loc.subdir,
            name,
        };
        match crate::fs::ops::rename(&loc.path(&self.dir), &to.path(&self.dir)) {
            Ok(()) => {
                self.remember(to);
                done(st);
                Ok(())
            }
            Err(e) if e.is_not_found() || e.is_no_space() => Ok(()),
            Err(e) => Err(self.fs_err(e)),
        }
    }
}
