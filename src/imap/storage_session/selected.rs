//! The selected mailbox: the storage [`Mailbox`] opened by SELECT or EXAMINE, and what the
//! session needs on top of it.
//!
//! Storage reports every change through [`Mailbox::sync`], this session's own included. The
//! IMAP session reports its own STORE, EXPUNGE and MOVE from their results, so those are
//! taken out of the stream here: a flag change by the modseq it got, an expunge by its UID.
//! A change of the same message by someone else has another modseq and still comes through.
//!
//! FETCH leaves parsed ENVELOPE/BODYSTRUCTURE and sizes on the messages it read; they are
//! written to the index cache in batches (and at every sync), so the next FETCH, in this
//! session or another, does not read the file again.

use std::collections::HashMap;
use std::os::fd::BorrowedFd;

use crate::imap::mail_session::{
    FlagChange, MailError, MailErrorKind, MailboxChanges, SelectedMailbox, StoreResult, ViewTotals,
};
use crate::imap::parser::store::StoreMode;
use crate::index::cache::file::Fields;
use crate::index::uidset::UidSet;
use crate::storage::api::{
    Change, Copied, FlagMode, MailFlags, Mailbox, MessageInfo, StoreRequest, SyncFlags,
};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::mail::Mail;

use super::mail_error;
use super::message::StorageMessage;

/// Maildir has 26 keyword letters: with all of them used, no new keyword can be stored
/// (PERMANENTFLAGS then has no `\*`, as Dovecot's Maildir says).
const MAX_KEYWORDS: usize = 26;

/// Messages whose computed fields wait for a cache write; written at this many.
const CACHE_BATCH: usize = 16;

pub(super) struct Selected {
    vname: String,
    pub(super) mailbox: Box<dyn Mailbox>,
    read_only: bool,
    /// Flag changes this session made, by UID: the modseq each got.
    own_flags: HashMap<u32, u64>,
    /// Expunges this session made (and reported) that the change stream still has to show.
    own_expunges: UidSet,
    /// The highest UID the session has been given (new messages come above it).
    known_max: u32,
    /// Messages read by FETCH with fields to add to the cache.
    cache_queue: Vec<Mail>,
    /// The index was read since the command began (or the last sync).
    refreshed: bool,
    /// Changes read before the command's first message access, for the next sync.
    unreported: Vec<Change>,
    /// Messages others expunged that the client has not been told of yet, as they were
    /// last, with what the index cache held for them (FETCH and SEARCH still see them, as
    /// in Dovecot).
    gone: HashMap<u32, (MessageInfo, Fields)>,
}

impl Selected {
    /// The mailbox just opened, and how the client first sees it. `condstore`: the session
    /// has CONDSTORE enabled, which makes the mailbox track modseqs for everyone.
    pub fn open(
        vname: String,
        mut mailbox: Box<dyn Mailbox>,
        read_only: bool,
        condstore: bool,
    ) -> StorageResult<(Selected, SelectedMailbox)> {
        let status = mailbox.status()?;
        let modseq_tracking = if condstore {
            enable_modseq_tracking(&mut *mailbox);
            true
        } else {
            mailbox.modseq_tracking().unwrap_or_else(|e| {
                log::warn!("{e}");
                false
            })
        };
        // STATUS synced the mailbox: whatever that found is part of the first view.
        mailbox.take_expunges();
        let uids = mailbox.seqs().uids().to_vec();
        let recent: UidSet = uids
            .iter()
            .copied()
            .filter(|&uid| mailbox.seqs().is_recent(uid))
            .collect();
        let first_unseen_uid = uids.iter().copied().find(|&uid| {
            mailbox
                .info(uid)
                .is_some_and(|i| !i.flags.contains(MailFlags::SEEN))
        });
        let keywords = mailbox.keywords();
        let read_only = read_only || mailbox.is_read_only();
        let (changeable, keywords_changeable) = mailbox.changeable_flags();
        let mut denied_flags = MailFlags::ALL;
        denied_flags.remove(changeable);
        let first = SelectedMailbox {
            uids: uids.clone(),
            recent,
            first_unseen_uid,
            allow_new_keywords: keywords_changeable && keywords.len() < MAX_KEYWORDS,
            keywords,
            permanent_keywords: keywords_changeable,
            denied_flags,
            read_only,
            uid_validity: mailbox.uidvalidity(),
            uid_next: status.uidnext,
            highest_modseq: mailbox
                .modseqs_permanent()
                .then(|| mailbox.highest_modseq()),
            modseq_tracking,
        };
        let selected = Selected {
            vname,
            mailbox,
            read_only,
            own_flags: HashMap::new(),
            own_expunges: UidSet::new(),
            known_max: uids.last().copied().unwrap_or(0),
            cache_queue: Vec::new(),
            refreshed: true,
            unreported: Vec::new(),
            gone: HashMap::new(),
        };
        Ok((selected, first))
    }

    pub fn vname(&self) -> &str {
        &self.vname
    }

    /// CONDSTORE was enabled while this mailbox is selected.
    pub fn enable_modseq_tracking(&mut self) {
        enable_modseq_tracking(&mut *self.mailbox);
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn keywords(&self) -> Vec<String> {
        self.mailbox.keywords()
    }

    pub fn highest_modseq(&self) -> u64 {
        self.mailbox.highest_modseq()
    }

    /// \Recent messages of this session (STATUS on the selected mailbox counts them).
    pub fn recent_count(&self) -> u32 {
        self.mailbox.seqs().recent_count()
    }

    /// Readable when this host changed the mailbox (storage's inotify), for IDLE.
    pub fn change_fd(&mut self) -> Option<BorrowedFd<'_>> {
        self.mailbox.change_fd()
    }

    /// What others changed since the last call (this session's own changes left out).
    /// New messages and expunges are read from the mailbox's numbering (what it has beyond
    /// the UIDs the session knows, and the expunges it holds), flag changes from the stream.
    pub fn sync(&mut self) -> StorageResult<MailboxChanges> {
        self.flush_cache();
        let mut changes = std::mem::take(&mut self.unreported);
        let fresh = self.mailbox.sync(SyncFlags::default())?;
        self.keep_gone(&fresh);
        changes.extend(fresh);
        self.refreshed = true;
        let mut out = MailboxChanges::default();
        // The session keeps its own numbering and holds expunges back itself.
        for (_, uid) in self.mailbox.take_expunges() {
            if uid > self.known_max {
                // Came and went before the session heard of it.
                continue;
            }
            if self.own_expunges.contains(uid) {
                self.own_expunges = without(&self.own_expunges, uid);
            } else {
                out.expunged.insert(uid);
            }
        }
        for change in changes {
            if let Change::Appended { uid } = change {
                out.last_uid = out.last_uid.max(uid);
            }
            let (uid, modseq, flags) = match change {
                Change::Flags { uid, modseq } => (uid, modseq, true),
                Change::Modseq { uid, modseq } => (uid, modseq, false),
                _ => continue,
            };
            match self.own_flags.get(&uid) {
                Some(&own) if own == modseq => {
                    self.own_flags.remove(&uid);
                }
                // A change older than this session's own: the session reported the
                // flags after both already.
                Some(&own) if own > modseq => {}
                _ => {
                    self.own_flags.remove(&uid);
                    if flags {
                        out.flags_changed.insert(uid);
                    } else {
                        out.modseq_changed.insert(uid);
                    }
                }
            }
        }
        let seqs = self.mailbox.seqs();
        let uids = seqs.uids();
        let first_new = uids.partition_point(|&uid| uid <= self.known_max);
        for &uid in &uids[first_new..] {
            out.new.push(uid);
            out.last_uid = out.last_uid.max(uid);
            if seqs.is_recent(uid) {
                out.new_recent.insert(uid);
            }
        }
        if let Some(&last) = uids.last() {
            self.known_max = self.known_max.max(last);
        }
        Ok(out)
    }

    /// Keeps what storage still shows of messages others expunged, before it lets them go:
    /// until the client is told, they are shown as they last were (and a STORE or a `\Seen`
    /// changes them here only, as in Dovecot's view).
    fn keep_gone(&mut self, changes: &[Change]) {
        for change in changes {
            if let Change::Expunged { uid } = *change {
                if uid <= self.known_max
                    && !self.own_expunges.contains(uid)
                    && !self.gone.contains_key(&uid)
                {
                    if let Some(info) = self.mailbox.info(uid) {
                        let cached = self.mailbox.gone_cached_fields(uid);
                        self.gone.insert(uid, (info, cached));
                    }
                }
            }
        }
    }

    /// STATUS on the selected mailbox: the unseen count and total size of `uids` as the
    /// last sync left them (no refresh: a change not synced yet is not counted, as in
    /// Dovecot's view).
    pub fn view_totals(&mut self, uids: &[u32]) -> StorageResult<ViewTotals> {
        let mut totals = ViewTotals::default();
        for &uid in uids {
            let gone = self.gone.get(&uid).map(|(info, _)| info.clone());
            let Some(info) = gone.or_else(|| self.mailbox.info(uid)) else {
                continue;
            };
            if !info.flags.contains(MailFlags::SEEN) {
                totals.unseen += 1;
            }
            if info.flags.contains(MailFlags::DELETED) {
                totals.deleted += 1;
            }
            totals.size += match info.virtual_size {
                Some(size) => size,
                None if self.gone.contains_key(&uid) => 0,
                None => self.mailbox.mail(uid)?.virtual_size()?,
            };
        }
        Ok(totals)
    }

    /// Whether `uid` was expunged by someone else and the client not yet told.
    pub fn is_gone(&self, uid: u32) -> bool {
        self.gone.contains_key(&uid)
    }

    /// The client was told of these expunges.
    pub fn forget(&mut self, uids: &UidSet) {
        for uid in uids.iter() {
            self.gone.remove(&uid);
        }
    }

    /// A command begins: its first message access reads the index anew.
    pub fn begin_command(&mut self) {
        self.refreshed = false;
    }

    /// Dovecot's views show messages with their newest flags, and messages expunged
    /// meanwhile as they last were, before the session reports either: so the first access
    /// in a command reads what changed (without waiting for the Maildir lock), and keeps
    /// it for the next [`sync`](Self::sync) to report.
    fn refresh_once(&mut self) -> StorageResult<()> {
        if self.refreshed {
            return Ok(());
        }
        self.refreshed = true;
        let quick = SyncFlags {
            full: false,
            fast: true,
        };
        let changes = self.mailbox.sync(quick)?;
        self.keep_gone(&changes);
        self.unreported.extend(changes);
        Ok(())
    }

    pub fn message(&mut self, uid: u32) -> Result<StorageMessage<'_>, MailError> {
        self.refresh_once().map_err(mail_error)?;
        if let Some((info, cached)) = self.gone.get(&uid) {
            let (info, cached) = (info.clone(), cached.clone());
            return Ok(StorageMessage::gone(self, info, cached));
        }
        let info = self
            .mailbox
            .info(uid)
            .ok_or_else(|| MailError::new(MailErrorKind::Expunged, "Message was expunged"))?;
        Ok(StorageMessage::new(self, info))
    }

    /// STORE. Messages others expunged (the client not told yet) change only as this
    /// session shows them, as in Dovecot.
    pub fn store(&mut self, uids: &UidSet, change: &FlagChange) -> StorageResult<StoreResult> {
        self.refresh_once()?;
        let (gone, live): (Vec<u32>, Vec<u32>) = uids.iter().partition(|uid| self.is_gone(*uid));
        let mut result = StoreResult::default();
        for uid in gone {
            let Some((info, _)) = self.gone.get_mut(&uid) else {
                continue;
            };
            if change
                .unchanged_since
                .is_some_and(|since| info.modseq > since)
            {
                result.modified.insert(uid);
            } else if apply_change(info, change) {
                result.changed.insert(uid);
            }
        }
        if live.is_empty() {
            return Ok(result);
        }
        let live: UidSet = live.into_iter().collect();
        let request = StoreRequest {
            mode: match change.mode {
                StoreMode::Replace => FlagMode::Replace,
                StoreMode::Add => FlagMode::Add,
                StoreMode::Remove => FlagMode::Remove,
            },
            flags: change.flags.system,
            keywords: change.flags.keywords.clone(),
            unchanged_since: change.unchanged_since,
        };
        let done = self.mailbox.store(&live, &request)?;
        for uid in done.modified.iter() {
            result.modified.insert(uid);
        }
        for (uid, modseq) in done.changed {
            self.own_flags.insert(uid, modseq);
            result.changed.insert(uid);
        }
        Ok(result)
    }

    /// Expunges the `\Deleted` messages (of `uids`, or all); returns the UIDs expunged.
    pub fn expunge(&mut self, uids: Option<&UidSet>) -> StorageResult<UidSet> {
        // The flags as of the last sync, as Dovecot's view has them: a change not synced
        // yet is not looked at (syncing here would take changes the client must be told).
        let deleted: UidSet = self
            .mailbox
            .seqs()
            .uids()
            .iter()
            .copied()
            .filter(|&uid| uids.is_none_or(|set| set.contains(uid)))
            .filter(|&uid| {
                self.mailbox
                    .info(uid)
                    .is_some_and(|i| i.flags.contains(MailFlags::DELETED))
            })
            .collect();
        if deleted.is_empty() {
            return Ok(deleted);
        }
        let expunged = self.mailbox.expunge(&deleted)?;
        for uid in expunged.iter() {
            self.own_expunges.insert(uid);
        }
        Ok(expunged)
    }

    /// COPY or MOVE into `dest` (another instance, also when it is this mailbox).
    pub fn copy_to(
        &mut self,
        dest: &mut dyn Mailbox,
        uids: &UidSet,
        moving: bool,
    ) -> StorageResult<Copied> {
        // Dovecot copies nothing when a message is gone: the client is to sync and retry.
        self.refresh_once()?;
        if uids.iter().any(|uid| self.is_gone(uid)) {
            return Err(StorageError::new(
                ErrorKind::Expunged,
                "Some of the requested messages no longer exist.",
            ));
        }
        let copied = if moving {
            dest.move_from(&mut *self.mailbox, uids)?
        } else {
            dest.copy_from(&mut *self.mailbox, uids)?
        };
        if moving {
            for &uid in &copied.src_uids {
                self.own_expunges.insert(uid);
            }
        }
        Ok(copied)
    }

    /// A message FETCH read, with fields for the cache.
    pub fn queue_cache(&mut self, mail: Mail) {
        self.cache_queue.push(mail);
        if self.cache_queue.len() >= CACHE_BATCH {
            self.flush_cache();
        }
    }

    /// Writes the queued fields to the cache. The cache is best effort: a failure loses
    /// nothing the mailbox holds, so it is logged and forgotten.
    pub fn flush_cache(&mut self) {
        if self.cache_queue.is_empty() {
            return;
        }
        let mut mails = std::mem::take(&mut self.cache_queue);
        if let Err(e) = self.mailbox.cache(&mut mails) {
            log::error!("Mailbox {}: caching fetched fields: {e}", self.vname);
        }
    }
}

impl Drop for Selected {
    fn drop(&mut self) {
        self.flush_cache();
    }
}

/// A STORE applied to a message's flags as this session shows them; whether they changed.
fn apply_change(info: &mut MessageInfo, change: &FlagChange) -> bool {
    let before = (info.flags, info.keywords.clone());
    let flags = change.flags.system;
    let keywords = &change.flags.keywords;
    match change.mode {
        StoreMode::Replace => {
            info.flags = flags;
            info.keywords = keywords.clone();
        }
        StoreMode::Add => {
            info.flags.insert(flags);
            for keyword in keywords {
                if !info.keywords.contains(keyword) {
                    info.keywords.push(keyword.clone());
                }
            }
        }
        StoreMode::Remove => {
            info.flags.remove(flags);
            info.keywords.retain(|k| !keywords.contains(k));
        }
    }
    (info.flags, &info.keywords) != (before.0, &before.1)
}

/// `set` without `uid`.
fn without(set: &UidSet, uid: u32) -> UidSet {
    set.iter().filter(|&u| u != uid).collect()
}

/// Storage's errors as the session's (for the message module).
pub(super) fn message_error(e: StorageError) -> MailError {
    mail_error(e)
}

/// Marks `mailbox` as tracking modseqs for every session. Failing (a read-only index
/// directory) only costs other sessions their HIGHESTMODSEQ at SELECT: logged, and the
/// command goes on, as in Dovecot.
pub(super) fn enable_modseq_tracking(mailbox: &mut dyn Mailbox) {
    if !mailbox.modseqs_permanent() {
        return;
    }
    if let Err(e) = mailbox.enable_modseq_tracking() {
        log::warn!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::flags::FlagList;

    fn change(mode: StoreMode, system: MailFlags, keywords: &[&str]) -> FlagChange {
        FlagChange {
            mode,
            flags: FlagList {
                system,
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
            },
            unchanged_since: None,
        }
    }

    #[test]
    fn a_gone_message_changes_as_the_session_shows_it() {
        let mut info = MessageInfo {
            uid: 3,
            flags: MailFlags::DELETED,
            keywords: vec!["$Junk".into()],
            modseq: 9,
            recent: true,
            physical_size: None,
            virtual_size: None,
            internal_date: None,
            save_date: None,
        };
        assert!(apply_change(
            &mut info,
            &change(StoreMode::Add, MailFlags::SEEN, &["x"])
        ));
        assert!(info.flags.contains(MailFlags::SEEN) && info.flags.contains(MailFlags::DELETED));
        assert_eq!(info.keywords, ["$Junk", "x"]);
        // Adding what is there changes nothing (no FETCH for it).
        assert!(!apply_change(
            &mut info,
            &change(StoreMode::Add, MailFlags::SEEN, &["x"])
        ));
        assert!(apply_change(
            &mut info,
            &change(StoreMode::Remove, MailFlags::DELETED, &["$Junk"])
        ));
        assert_eq!(
            (info.flags, info.keywords.clone()),
            (MailFlags::SEEN, vec!["x".to_string()])
        );
        assert!(apply_change(
            &mut info,
            &change(StoreMode::Replace, MailFlags::FLAGGED, &[])
        ));
        assert_eq!((info.flags, info.keywords.len()), (MailFlags::FLAGGED, 0));
    }
}
