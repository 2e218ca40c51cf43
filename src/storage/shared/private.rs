//! [`PrivateFlagsMailbox`]: a mailbox of a namespace with `INDEXPVT=` in its location (a
//! shared or public namespace), whose `\Seen` is each viewer's own, as Dovecot 2.3 has it
//! (`mailbox_get_private_flags_mask`: `\Seen` whenever the list has a private index
//! directory; `index-sync-pvt.c`, `index_mail_update_flags`).
//!
//! - The flags a viewer sees are the shared ones with `\Seen` replaced by the viewer's own
//!   (kept in `cote.index.pvt`, [`crate::index::private`]): FETCH FLAGS, SEARCH, STATUS
//!   UNSEEN and `[UNSEEN]` all read them here.
//! - STORE of `\Seen` changes only the viewer's file; the message still takes a new modseq
//!   in the shared index (Dovecot's `MAIL_INDEX_MAIL_FLAG_UPDATE_MODSEQ`), so everyone's
//!   CONDSTORE sees a change. Other flags and keywords stay shared; `FLAGS (...)` replaces
//!   the shared ones without `\Seen` (so a shared `\Seen` goes, as in Dovecot).
//! - Messages saved or copied here with `\Seen` are seen by the viewer only.
//! - New messages start unseen in a shared namespace; in a public one they start with the
//!   shared `\Seen` (Dovecot copies it so that Sieve can set initial flags).
//! - Expunged messages leave the viewer's file at the next change or sync.

use crate::index::private::{PrivateFlags, PrivateState};
use crate::index::settings::IndexSettings;
use crate::index::state::Change;
use crate::index::transaction::FlagMode;
use crate::index::uidset::UidSet;
use crate::storage::api::{
    copy_then_expunge, Copied, LinkSource, Mailbox, MailboxStatus, MessageInfo, NewMessage, Saved,
    SeqMap, StoreRequest, StoreResult, SyncFlags,
};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::flags::MailFlags;
use crate::storage::mail::Mail;

/// The flags that are each viewer's own (Dovecot's mask).
const PRIVATE: MailFlags = MailFlags::SEEN;

/// A mailbox whose `\Seen` is the viewer's own.
pub struct PrivateFlagsMailbox {
    inner: Box<dyn Mailbox>,
    pvt: PrivateFlags,
    /// New messages start with the shared `\Seen` (a public namespace).
    copy_shared: bool,
}

impl PrivateFlagsMailbox {
    /// `inner` with the private flags kept in `dir` (the viewer's `INDEXPVT` directory of
    /// the mailbox); `public`: the mailbox is in a public namespace.
    pub fn open(
        inner: Box<dyn Mailbox>,
        dir: &std::path::Path,
        settings: IndexSettings,
        public: bool,
    ) -> StorageResult<PrivateFlagsMailbox> {
        let pvt = PrivateFlags::open(dir, settings)
            .map_err(|e| StorageError::from(e).finish(inner.vname()))?;
        Ok(PrivateFlagsMailbox {
            inner,
            pvt,
            copy_shared: public,
        })
    }

    fn err(&self, e: crate::index::error::IndexError) -> StorageError {
        StorageError::from(e).finish(self.inner.vname())
    }

    /// Whether the viewer has seen `uid`, whose shared flags are `shared`.
    fn seen(&self, uid: u32, shared: MailFlags) -> bool {
        let initial = self.copy_shared && shared.contains(MailFlags::SEEN);
        self.pvt.is_seen(self.inner.uidvalidity(), uid, initial)
    }

    /// The messages the session numbers and that still exist, in UID order.
    fn existing(&self) -> Vec<u32> {
        let seqs = self.inner.seqs();
        seqs.uids()
            .iter()
            .copied()
            .filter(|&uid| !seqs.is_expunged(uid))
            .collect()
    }

    /// Changes the viewer's file; `extra`: messages (just saved or copied) the session
    /// does not number yet.
    fn change_private(
        &mut self,
        extra: &[u32],
        change: impl FnOnce(&mut PrivateState),
    ) -> StorageResult<()> {
        let mut existing = self.existing();
        existing.extend_from_slice(extra);
        existing.sort_unstable();
        existing.dedup();
        let next_uid = existing.last().map_or(1, |uid| uid.saturating_add(1));
        let uidvalidity = self.inner.uidvalidity();
        let copy_shared = self.copy_shared;
        let inner = &self.inner;
        let initial = |uid: u32| {
            copy_shared
                && inner
                    .info(uid)
                    .is_some_and(|i| i.flags.contains(MailFlags::SEEN))
        };
        let result = self
            .pvt
            .update(uidvalidity, next_uid, &existing, initial, change);
        result.map_err(|e| self.err(e))
    }

    /// After a sync or an expunge: drops what the file holds of messages now gone, and (in
    /// a public namespace) records the initial `\Seen` of messages it has not met.
    fn keep_up(&mut self, changes: &[Change]) -> StorageResult<()> {
        let state = self.pvt.state();
        let current = state.uidvalidity == self.inner.uidvalidity();
        let gone = changes.iter().any(|c| match c {
            Change::Expunged { uid } => current && state.seen.contains(*uid),
            _ => false,
        });
        let unmet = self.copy_shared
            && self
                .existing()
                .last()
                .is_some_and(|&uid| !current || uid >= state.next_uid);
        if gone || unmet {
            self.change_private(&[], |_| {})?;
        }
        Ok(())
    }

    fn with_private(&self, mut info: MessageInfo) -> MessageInfo {
        let seen = self.seen(info.uid, info.flags);
        info.flags.remove(PRIVATE);
        if seen {
            info.flags.insert(MailFlags::SEEN);
        }
        info
    }
}

/// `flags` without the private ones, and whether they had `\Seen`.
fn split(flags: MailFlags) -> (MailFlags, bool) {
    let mut shared = flags;
    shared.remove(PRIVATE);
    (shared, flags.contains(MailFlags::SEEN))
}

impl Mailbox for PrivateFlagsMailbox {
    fn vname(&self) -> &str {
        self.inner.vname()
    }
    fn is_read_only(&self) -> bool {
        self.inner.is_read_only()
    }
    fn uidvalidity(&self) -> u32 {
        self.inner.uidvalidity()
    }

    fn sync(&mut self, flags: SyncFlags) -> StorageResult<Vec<Change>> {
        let mut changes = self.inner.sync(flags)?;
        // Another session of this viewer changed the file: what it changed is a flag change
        // here. (It gave the messages new modseqs too, which arrive with this sync or a
        // later one as modseq changes.)
        let before = self.pvt.state().clone();
        if self.pvt.refresh().map_err(|e| self.err(e))? {
            let uidvalidity = self.inner.uidvalidity();
            let mut changed: Vec<(u32, u64)> = Vec::new();
            for uid in self.existing() {
                let Some(info) = self.inner.info(uid) else {
                    continue;
                };
                let initial = self.copy_shared && info.flags.contains(MailFlags::SEEN);
                if before.is_seen(uidvalidity, uid, initial) != self.seen(uid, info.flags) {
                    changed.push((uid, info.modseq));
                }
            }
            let uids: UidSet = changed.iter().map(|(uid, _)| *uid).collect();
            let mut reported = UidSet::new();
            changes.retain(|c| match *c {
                Change::Modseq { uid, .. } => !uids.contains(uid),
                Change::Flags { uid, .. } => {
                    reported.insert(uid);
                    true
                }
                _ => true,
            });
            changes.extend(
                changed
                    .into_iter()
                    .filter(|(uid, _)| !reported.contains(*uid))
                    .map(|(uid, modseq)| Change::Flags { uid, modseq }),
            );
        }
        if !self.is_read_only() {
            self.keep_up(&changes)?;
        }
        Ok(changes)
    }

    fn seqs(&self) -> &SeqMap {
        self.inner.seqs()
    }
    fn take_expunges(&mut self) -> Vec<(u32, u32)> {
        self.inner.take_expunges()
    }

    fn info(&self, uid: u32) -> Option<MessageInfo> {
        self.inner.info(uid).map(|info| self.with_private(info))
    }

    fn gone_cached_fields(&self, uid: u32) -> Vec<(String, Vec<u8>)> {
        self.inner.gone_cached_fields(uid)
    }
    fn keywords(&self) -> Vec<String> {
        self.inner.keywords()
    }
    fn highest_modseq(&self) -> u64 {
        self.inner.highest_modseq()
    }
    fn modseqs_permanent(&self) -> bool {
        self.inner.modseqs_permanent()
    }
    fn modseq_tracking(&self) -> StorageResult<bool> {
        self.inner.modseq_tracking()
    }
    fn enable_modseq_tracking(&mut self) -> StorageResult<()> {
        self.inner.enable_modseq_tracking()
    }
    fn expunged_since(&mut self, modseq: u64) -> StorageResult<Option<UidSet>> {
        self.inner.expunged_since(modseq)
    }

    /// UNSEEN counts what the viewer has not seen (Dovecot's
    /// `index_storage_count_pvt_unseen`).
    fn status(&mut self) -> StorageResult<MailboxStatus> {
        let mut status = self.inner.status()?;
        self.pvt.refresh().map_err(|e| self.err(e))?;
        let unseen = self
            .existing()
            .into_iter()
            .filter(|&uid| {
                self.inner
                    .info(uid)
                    .is_some_and(|i| !self.seen(uid, i.flags))
            })
            .count();
        status.unseen = u32::try_from(unseen).unwrap_or(u32::MAX);
        Ok(status)
    }

    fn save(&mut self, messages: &[NewMessage<'_>], assign_uids: bool) -> StorageResult<Saved> {
        let mut seen = Vec::with_capacity(messages.len());
        let shared: Vec<NewMessage<'_>> = messages
            .iter()
            .map(|m| {
                let (flags, s) = split(m.flags);
                seen.push(s);
                NewMessage { flags, ..m.clone() }
            })
            .collect();
        let saved = self.inner.save(&shared, assign_uids)?;
        let new_seen: Vec<u32> = saved
            .uids
            .iter()
            .zip(&seen)
            .filter(|(_, s)| **s)
            .map(|(uid, _)| *uid)
            .collect();
        if saved.uids.is_empty() && seen.iter().any(|s| *s) {
            // Without UIDs (a busy Maildir lock, LMTP) there is nothing to record \Seen of.
            log::warn!(
                "Mailbox {}: saved messages lost their private \\Seen (no UIDs yet)",
                self.inner.vname()
            );
        }
        if !new_seen.is_empty() {
            self.change_private(&saved.uids, |s| {
                for uid in &new_seen {
                    s.seen.insert(*uid);
                }
            })?;
        }
        Ok(saved)
    }

    /// The flags the source shows are copied; its `\Seen` becomes the viewer's here.
    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let copied = self.inner.copy_from(src, uids)?;
        let seen: UidSet = copied
            .src_uids
            .iter()
            .zip(&copied.dest_uids)
            .filter(|(s, _)| {
                src.info(**s)
                    .is_some_and(|i| i.flags.contains(MailFlags::SEEN))
            })
            .map(|(_, d)| *d)
            .collect();
        if !seen.is_empty() {
            self.change_private(&copied.dest_uids, |s| {
                for uid in seen.iter() {
                    s.seen.insert(uid);
                }
            })?;
            let request = StoreRequest {
                mode: FlagMode::Remove,
                flags: PRIVATE,
                keywords: Vec::new(),
                unchanged_since: None,
            };
            self.inner.store(&seen, &request)?;
        }
        Ok(copied)
    }

    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        copy_then_expunge(self, src, uids)
    }

    /// Dovecot's `index_mail_update_flags`: `\Seen` goes to the viewer's file, the rest to
    /// the shared index; a message whose private flags changed takes a new modseq.
    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult> {
        let (shared_flags, want_seen) = split(request.flags);
        let mut modified = UidSet::new();
        let mut private: Vec<(u32, bool)> = Vec::new();
        for uid in self.existing() {
            if !uids.contains(uid) {
                continue;
            }
            let Some(info) = self.inner.info(uid) else {
                continue;
            };
            if request.unchanged_since.is_some_and(|s| info.modseq > s) {
                modified.insert(uid);
                continue;
            }
            let old = self.seen(uid, info.flags);
            let new = match request.mode {
                FlagMode::Add => old || want_seen,
                FlagMode::Remove => old && !want_seen,
                FlagMode::Replace => want_seen,
            };
            if new != old {
                private.push((uid, new));
            }
        }
        let shared_request = StoreRequest {
            flags: shared_flags,
            ..request.clone()
        };
        let mut result = if request.mode == FlagMode::Replace
            || !shared_flags.is_empty()
            || !request.keywords.is_empty()
        {
            self.inner.store(uids, &shared_request)?
        } else {
            StoreResult {
                modified,
                ..StoreResult::default()
            }
        };
        private
            .retain(|(uid, _)| !result.expunged.contains(*uid) && !result.modified.contains(*uid));
        if private.is_empty() {
            return Ok(result);
        }
        let add: UidSet = private.iter().filter(|p| p.1).map(|p| p.0).collect();
        let remove: UidSet = private.iter().filter(|p| !p.1).map(|p| p.0).collect();
        self.change_private(&[], |s| {
            s.seen = s.seen.difference(&remove);
            for &(a, b) in add.ranges() {
                s.seen.insert_range(a, b);
            }
        })?;
        let shared_changed: UidSet = result.changed.iter().map(|c| c.0).collect();
        let bump: UidSet = private
            .iter()
            .map(|(uid, _)| *uid)
            .filter(|uid| !shared_changed.contains(*uid))
            .collect();
        if !bump.is_empty() {
            result.changed.extend(self.inner.update_modseqs(&bump)?);
            result.changed.sort_unstable();
        }
        Ok(result)
    }

    fn update_modseqs(&mut self, uids: &UidSet) -> StorageResult<Vec<(u32, u64)>> {
        self.inner.update_modseqs(uids)
    }

    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        let expunged = self.inner.expunge(uids)?;
        let state = self.pvt.state();
        if state.uidvalidity == self.inner.uidvalidity()
            && expunged.iter().any(|uid| state.seen.contains(uid))
        {
            let gone = expunged.clone();
            // Failing to tidy the file loses nothing: the next change does it.
            if let Err(e) = self.change_private(&[], |s| s.seen = s.seen.difference(&gone)) {
                log::error!("{}", e.internal().unwrap_or(e.client_text()));
            }
        }
        Ok(expunged)
    }

    fn mail(&mut self, uid: u32) -> StorageResult<Mail> {
        let mut mail = self.inner.mail(uid)?;
        let seen = self.seen(uid, mail.flags);
        mail.flags.remove(PRIVATE);
        if seen {
            mail.flags.insert(MailFlags::SEEN);
        }
        Ok(mail)
    }
    fn cache(&mut self, mails: &mut [Mail]) -> StorageResult<()> {
        self.inner.cache(mails)
    }
    fn link_source(&mut self, uid: u32) -> StorageResult<Option<LinkSource>> {
        self.inner.link_source(uid)
    }
    fn save_pop3_uidls(&mut self, uidls: &[(u32, String)]) -> StorageResult<()> {
        self.inner.save_pop3_uidls(uidls)
    }
    fn change_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.inner.change_fd()
    }
    fn changeable_flags(&self) -> (MailFlags, bool) {
        self.inner.changeable_flags()
    }
    fn may_expunge(&self) -> bool {
        self.inner.may_expunge()
    }
    fn watch_dirs(&self) -> Vec<std::path::PathBuf> {
        self.inner.watch_dirs()
    }
    fn guid(&mut self) -> StorageResult<[u8; 16]> {
        self.inner.guid()
    }
    fn force_resync(&mut self) -> StorageResult<()> {
        // The private flags are kept by UID apart from the index: they stay as they are.
        self.inner.force_resync()
    }
}
