//! [`MailboxView`]: one session's view of an open mailbox, the part every backend's
//! [`Mailbox`](super::api::Mailbox) shares: the index kept current, the session's sequence
//! numbers and \Recent messages, the changes not yet returned by a sync, and the messages
//! expunged meanwhile that the session still numbers until it takes the expunges (shown as
//! they last were, as Dovecot's views keep showing them).
//!
//! The backend brings the index in line with its store (a Maildir's files, an mbox file);
//! the view turns what the index log says into the session's numbering.

use std::collections::HashMap;
use std::path::Path;

use crate::fs::ops;
use crate::index::cache::file::Fields;
use crate::index::mailbox::MailboxIndex;
use crate::index::settings::{IndexSettings, LOG_NAME};
use crate::index::state::{Change, MailboxState, MessageRecord};
use crate::index::transaction::IndexTransaction;
use crate::index::uidset::UidSet;
use crate::index::view::SeqMap;
use crate::index::writer::Committed;
use crate::storage::api::{MailboxStatus, MessageInfo};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::mail::Mail;
use crate::storage::maildir::mailbox::core::{keyword_names, mail_flags};

/// A session's view of one open mailbox (see the module documentation).
pub(crate) struct MailboxView {
    /// The name clients see (for log lines and errors).
    vname: String,
    index: MailboxIndex,
    seqs: SeqMap,
    /// SELECT (claims \Recent messages) rather than EXAMINE.
    claims_recent: bool,
    /// Changes seen since the last sync returned them.
    pending: Vec<Change>,
    /// The UIDVALIDITY the session opened (0 until numbered).
    uidvalidity: u32,
    gone: HashMap<u32, GoneMessage>,
}

/// A message expunged that the session still numbers: what it last knew of it, and what
/// the index cache held for it.
#[derive(Debug, Clone)]
struct GoneMessage {
    info: MessageInfo,
    cached: Fields,
}

impl MailboxView {
    /// A view on `index`, numbering nothing until [`number`](Self::number).
    pub fn new(vname: &str, index: MailboxIndex, claims_recent: bool) -> MailboxView {
        MailboxView {
            vname: vname.to_string(),
            index,
            seqs: SeqMap::default(),
            claims_recent,
            pending: Vec::new(),
            uidvalidity: 0,
            gone: HashMap::new(),
        }
    }

    /// A view on the index in `dir`; an index that is missing or damaged is made again by
    /// `rebuild`.
    pub fn open(
        vname: &str,
        dir: &Path,
        settings: IndexSettings,
        claims_recent: bool,
        rebuild: impl FnOnce() -> StorageResult<MailboxIndex>,
    ) -> StorageResult<MailboxView> {
        let index = match MailboxIndex::open(dir, settings) {
            Ok(index) => index,
            Err(e) => {
                let e = StorageError::from(e);
                if !e.needs_index_rebuild() {
                    return Err(e);
                }
                rebuild()?
            }
        };
        Ok(MailboxView::new(vname, index, claims_recent))
    }

    /// Numbers the mailbox for the session (after the backend's first sync): claims the
    /// \Recent messages when the view does; what happened before is not a change.
    pub fn number(&mut self) -> StorageResult<()> {
        self.index.refresh()?;
        self.index.take_changes();
        if self.index.state().is_deleted() {
            return Err(StorageError::not_found(&self.vname));
        }
        let mut claimed = UidSet::new();
        if self.claims_recent && self.index.state().recent_count() > 0 {
            let mut tx = IndexTransaction::new();
            tx.claim_recent();
            claimed = self.commit(&tx)?.claimed_recent;
            self.index.take_changes();
        } else if !self.claims_recent {
            claimed = self.unclaimed_recent();
        }
        self.seqs = SeqMap::new(self.index.state(), claimed);
        self.uidvalidity = self.index.state().uidvalidity();
        self.pending.clear();
        self.index.take_retired();
        self.gone.clear();
        Ok(())
    }

    /// The index, for what only reads it.
    pub fn index(&self) -> &MailboxIndex {
        &self.index
    }

    /// The index, for locking and committing (what is committed through it reaches the
    /// numbering at the next [`refresh`](Self::refresh)).
    pub fn index_mut(&mut self) -> &mut MailboxIndex {
        &mut self.index
    }

    pub fn state(&self) -> &MailboxState {
        self.index.state()
    }

    pub fn seqs(&self) -> &SeqMap {
        &self.seqs
    }

    pub fn claims_recent(&self) -> bool {
        self.claims_recent
    }

    /// The UIDVALIDITY the session opened.
    pub fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }

    /// Commits one index transaction (lock, commit, unlock).
    fn commit(&mut self, tx: &IndexTransaction) -> StorageResult<Committed> {
        let dir = self.index.dir().to_path_buf();
        let mut li = self.index.lock()?;
        remove_stale_newlock(&dir);
        let committed = li.commit(tx);
        if let Err(e) = li.unlock() {
            log::error!("Mailbox {}: {e}", self.vname);
        }
        Ok(committed?)
    }

    /// Reads what the index log got since the last look (this session's commits included),
    /// claims new \Recent messages when this view does, and numbers new messages.
    pub fn refresh(&mut self) -> StorageResult<()> {
        let mut changes = self.index.refresh()?;
        let mut claimed = UidSet::new();
        if self.claims_recent && self.index.state().recent_count() > 0 {
            let mut tx = IndexTransaction::new();
            tx.claim_recent();
            claimed = self.commit(&tx)?.claimed_recent;
            changes.extend(self.index.take_changes());
        } else if !self.claims_recent {
            claimed = self.unclaimed_recent();
        }
        self.seqs.apply(&changes, &claimed);
        self.pending.extend(changes);
        let retired = self.index.take_retired();
        let mut kept = Vec::new();
        for m in retired.iter().filter(|m| self.seqs.is_expunged(m.uid)) {
            let info = self.info_of(self.index.state(), m);
            // A cache that cannot be read leaves the message without cached fields.
            let cached = self.index.retired_cached_fields(m).unwrap_or_else(|e| {
                log::error!(
                    "Mailbox {}: reading the cache of expunged UID {}: {e}",
                    self.vname,
                    m.uid
                );
                Fields::new()
            });
            kept.push((info, cached));
        }
        self.keep_gone(kept);
        Ok(())
    }

    /// What a view that claims nothing (EXAMINE) sees as \Recent: the messages no session
    /// has claimed yet, as Dovecot's read-only views show them (left for the next SELECT).
    fn unclaimed_recent(&self) -> UidSet {
        let state = self.index.state();
        state
            .messages()
            .iter()
            .map(|m| m.uid)
            .filter(|&uid| uid >= state.first_recent_uid())
            .collect()
    }

    /// Messages this session claimed as \Recent while committing them itself.
    pub fn add_claimed(&mut self, claimed: &UidSet) {
        self.seqs.apply(&[], claimed);
    }

    /// Replaces the index with one rebuilt from the store: what differs shows as changes,
    /// and messages the new index lacks stay as they were until the session takes them.
    pub fn replace_index(&mut self, fresh: MailboxIndex) {
        let changes = self.index.state().diff(fresh.state());
        let old = self.index.state();
        let missing: Vec<MessageInfo> = old
            .messages()
            .iter()
            .filter(|m| fresh.state().message(m.uid).is_none())
            .map(|m| self.info_of(old, m))
            .collect();
        self.index = fresh;
        self.seqs.apply(&changes, &UidSet::new());
        self.pending.extend(changes);
        // The old index's cache offsets mean nothing to the rebuilt one.
        self.keep_gone(missing.into_iter().map(|info| (info, Fields::new())));
    }

    /// Keeps what the session knew of messages just expunged that it still numbers.
    fn keep_gone(&mut self, gone: impl IntoIterator<Item = (MessageInfo, Fields)>) {
        for (info, cached) in gone {
            if self.seqs.is_expunged(info.uid) {
                self.gone.insert(info.uid, GoneMessage { info, cached });
            }
        }
    }

    /// The session must close the mailbox when it was deleted or recreated; otherwise
    /// returns the changes seen since the last call.
    pub fn take_changes(&mut self) -> StorageResult<Vec<Change>> {
        let state = self.index.state();
        if state.is_deleted() {
            return Err(StorageError::mailbox_gone(
                &self.vname,
                "Mailbox was deleted under us",
            ));
        }
        if self.uidvalidity != 0 && state.uidvalidity() != self.uidvalidity {
            return Err(StorageError::mailbox_gone(
                &self.vname,
                "Mailbox UIDVALIDITY changed",
            ));
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// Renumbers after expunges; returns them as (seq, uid), highest seq first.
    pub fn take_expunges(&mut self) -> Vec<(u32, u32)> {
        let taken = self.seqs.take_expunges();
        for (_, uid) in &taken {
            self.gone.remove(uid);
        }
        taken
    }

    /// A message as the session sees it (`None`: no such UID, or expunged and taken).
    pub fn info(&self, uid: u32) -> Option<MessageInfo> {
        let state = self.index.state();
        match state.message(uid) {
            Some(m) => Some(self.info_of(state, m)),
            None => self.gone.get(&uid).map(|g| g.info.clone()),
        }
    }

    fn info_of(&self, state: &MailboxState, m: &MessageRecord) -> MessageInfo {
        MessageInfo {
            uid: m.uid,
            flags: mail_flags(m.flags),
            keywords: keyword_names(state, m),
            modseq: m.modseq,
            recent: self.seqs.is_recent(m.uid),
            physical_size: m.physical_size,
            virtual_size: m.virtual_size,
            internal_date: m.internal_date,
            save_date: m.save_date,
        }
    }

    /// What the index cache held for a message expunged meanwhile that the session still
    /// numbers.
    pub fn gone_cached_fields(&self, uid: u32) -> Fields {
        self.gone
            .get(&uid)
            .map(|g| g.cached.clone())
            .unwrap_or_default()
    }

    /// What the index cache holds for a message (empty when unreadable: logged).
    pub fn cached_fields(&mut self, uid: u32) -> Fields {
        self.index.cached_fields(uid).unwrap_or_else(|e| {
            log::error!(
                "Mailbox {}: reading the cache of UID {uid}: {e}",
                self.vname
            );
            Fields::new()
        })
    }

    /// Stores in the index cache what reading `mails` computed; best effort: a failure
    /// loses nothing the mailbox holds (logged).
    pub fn cache(&mut self, mails: &mut [Mail]) {
        let entries: Vec<(u32, Fields)> = mails
            .iter_mut()
            .map(|m| (m.uid, m.take_computed()))
            .filter(|(_, f)| !f.is_empty())
            .collect();
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self.index.cache_fields(&entries) {
            log::error!("Mailbox {}: writing the cache: {e}", self.vname);
        }
    }

    /// STATUS of `mb`'s mailbox as its view's index says after a sync; the sizes the index
    /// lacks are taken from messages `read` reads from the store (those expunged meanwhile
    /// are left out), and what reading computed goes to the cache.
    pub fn status_of<M>(
        mb: &mut M,
        view: fn(&mut M) -> &mut MailboxView,
        read: fn(&mut M, u32) -> StorageResult<Mail>,
    ) -> StorageResult<MailboxStatus> {
        let missing: Vec<u32> = view(mb)
            .state()
            .messages()
            .iter()
            .filter(|m| m.virtual_size.is_none() || m.physical_size.is_none())
            .map(|m| m.uid)
            .collect();
        let mut mails = Vec::new();
        for uid in missing {
            match read(mb, uid) {
                Ok(mail) => mails.push(mail),
                Err(e) if e.kind() == ErrorKind::Expunged => {}
                Err(e) => return Err(e),
            }
        }
        view(mb).status(&mut mails)
    }

    fn status(&mut self, read: &mut [Mail]) -> StorageResult<MailboxStatus> {
        let state = self.index.state();
        let mut vsize = 0u64;
        let mut psize = 0u64;
        for m in state.messages() {
            vsize += m.virtual_size.unwrap_or(0);
            psize += m.physical_size.unwrap_or(0);
        }
        for mail in read.iter_mut() {
            let known = state.message(mail.uid);
            let (kv, kp) = (
                known.and_then(|m| m.virtual_size),
                known.and_then(|m| m.physical_size),
            );
            match (mail.virtual_size(), mail.physical_size()) {
                (Ok(v), Ok(p)) => {
                    if kv.is_none() {
                        vsize += v;
                    }
                    if kp.is_none() {
                        psize += p;
                    }
                }
                (Err(e), _) | (_, Err(e)) if e.kind() == ErrorKind::Expunged => {}
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        let status = MailboxStatus {
            messages: state.message_count(),
            recent: if self.claims_recent {
                self.seqs.recent_count()
            } else {
                state.recent_count()
            },
            uidnext: state.next_uid(),
            uidvalidity: state.uidvalidity(),
            unseen: state.unseen_count(),
            deleted: state.deleted_count(),
            highest_modseq: state.highest_modseq(),
            vsize,
            psize,
            keywords: state.keyword_names().to_vec(),
        };
        self.cache(read);
        Ok(status)
    }
}

/// The [`Mailbox`](crate::storage::api::Mailbox) methods a backend answers from its
/// `view: MailboxView` field alone (used inside its `impl Mailbox`).
macro_rules! view_methods {
    () => {
        fn uidvalidity(&self) -> u32 {
            self.view.uidvalidity()
        }

        fn seqs(&self) -> &$crate::index::view::SeqMap {
            self.view.seqs()
        }

        fn take_expunges(&mut self) -> Vec<(u32, u32)> {
            self.view.take_expunges()
        }

        fn info(&self, uid: u32) -> Option<$crate::storage::api::MessageInfo> {
            self.view.info(uid)
        }

        fn gone_cached_fields(&self, uid: u32) -> Vec<(String, Vec<u8>)> {
            self.view.gone_cached_fields(uid)
        }

        fn keywords(&self) -> Vec<String> {
            self.view.state().keyword_names().to_vec()
        }

        fn highest_modseq(&self) -> u64 {
            self.view.state().highest_modseq()
        }

        fn modseq_tracking(&self) -> $crate::storage::error::StorageResult<bool> {
            self.view
                .index()
                .modseq_tracking()
                .map_err(|e| $crate::storage::error::StorageError::from(e).finish(self.vname()))
        }

        fn enable_modseq_tracking(&mut self) -> $crate::storage::error::StorageResult<()> {
            let vname = self.vname().to_string();
            self.view
                .index()
                .enable_modseq_tracking()
                .map_err(|e| $crate::storage::error::StorageError::from(e).finish(&vname))
        }

        fn cache(
            &mut self,
            mails: &mut [$crate::storage::mail::Mail],
        ) -> $crate::storage::error::StorageResult<()> {
            self.view.cache(mails);
            Ok(())
        }
    };
}
pub(crate) use view_methods;

/// A `cote.index.log.newlock` found while we hold the log lock is a rotation whose
/// process died (rotations happen only under the log lock). Its content is the new log, not
/// `pid:host`, so the dotlock rules could only override it after its 180 s stale timeout,
/// blocking every rotation until then. Workaround in the storage layer until the index
/// layer does this itself when it takes the log lock.
pub(crate) fn remove_stale_newlock(index_dir: &Path) {
    let path = index_dir.join(format!("{LOG_NAME}.newlock"));
    match ops::unlink_if_exists(&path) {
        Ok(true) => log::warn!("Removed a stale {} (its writer died)", path.display()),
        Ok(false) => {}
        Err(e) => log::error!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::CreatePerms;
    use crate::index::flags::Flags;
    use crate::index::transaction::tests::msg;

    fn contents(uidvalidity: u32, uids: &[u32]) -> IndexTransaction {
        let mut tx = IndexTransaction::new();
        tx.set_uidvalidity(uidvalidity);
        for &uid in uids {
            tx.append(msg(uid, Flags::NONE, &[]));
        }
        tx
    }

    fn settings() -> IndexSettings {
        IndexSettings::dovecot_defaults(CreatePerms::default())
    }

    fn view(dir: &Path, claims_recent: bool) -> MailboxView {
        let index = MailboxIndex::open(dir, settings()).unwrap();
        let mut view = MailboxView::new("INBOX", index, claims_recent);
        view.number().unwrap();
        view
    }

    fn commit(dir: &Path, tx: &IndexTransaction) {
        MailboxIndex::open(dir, settings())
            .unwrap()
            .commit(tx)
            .unwrap();
    }

    #[test]
    fn examining_shows_unclaimed_recent_and_selecting_claims_it() {
        let dir = tempfile::tempdir().unwrap();
        MailboxIndex::create(dir.path(), settings(), contents(7, &[1, 2]), 1).unwrap();
        let mut examined = view(dir.path(), false);
        assert_eq!(examined.seqs().recent_count(), 2);
        let mut selected = view(dir.path(), true);
        assert_eq!(selected.seqs().recent_count(), 2);
        assert!(selected.info(1).unwrap().recent);
        commit(dir.path(), &contents(7, &[3]));
        selected.refresh().unwrap();
        examined.refresh().unwrap();
        // Claimed by the selecting view first: not \Recent for anyone else (what a view
        // once showed as \Recent stays so for it).
        assert_eq!(selected.seqs().recent_count(), 3);
        assert_eq!(examined.seqs().recent_count(), 2);
        assert!(!examined.info(3).unwrap().recent);
        assert_eq!(
            examined.take_changes().unwrap(),
            vec![Change::Appended { uid: 3 }]
        );
        assert!(examined.take_changes().unwrap().is_empty());
    }

    #[test]
    fn a_message_expunged_elsewhere_stays_numbered_until_taken() {
        let dir = tempfile::tempdir().unwrap();
        MailboxIndex::create(dir.path(), settings(), contents(7, &[1, 2, 3]), 1).unwrap();
        let mut one = view(dir.path(), false);
        let before = one.info(2).unwrap();
        let mut tx = IndexTransaction::new();
        tx.expunge(&UidSet::range(2, 2));
        commit(dir.path(), &tx);
        one.refresh().unwrap();
        assert_eq!(one.seqs().count(), 3);
        assert_eq!(one.info(2), Some(before));
        assert!(one.gone_cached_fields(2).is_empty());
        assert_eq!(one.take_expunges(), vec![(2, 2)]);
        assert_eq!(one.info(2), None);
        assert_eq!(one.seqs().uids(), &[1, 3]);
    }

    #[test]
    fn a_rebuilt_index_keeps_what_it_lost_until_taken() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        MailboxIndex::create(dir.path(), settings(), contents(7, &[1, 2]), 1).unwrap();
        let mut one = view(dir.path(), false);
        let fresh = MailboxIndex::create(other.path(), settings(), contents(7, &[1, 3]), 5);
        one.replace_index(fresh.unwrap());
        assert_eq!(one.seqs().uids(), &[1, 2, 3]);
        assert_eq!(one.info(2).map(|i| i.physical_size), Some(Some(100)));
        assert_eq!(one.take_expunges(), vec![(2, 2)]);
        assert_eq!(one.info(2), None);
    }

    #[test]
    fn a_deleted_or_recreated_mailbox_must_be_closed() {
        let dir = tempfile::tempdir().unwrap();
        MailboxIndex::create(dir.path(), settings(), contents(7, &[1]), 1).unwrap();
        let mut recreated = view(dir.path(), false);
        let mut deleted = view(dir.path(), false);
        let other = tempfile::tempdir().unwrap();
        let fresh = MailboxIndex::create(other.path(), settings(), contents(8, &[1]), 1);
        recreated.replace_index(fresh.unwrap());
        let err = recreated.take_changes().unwrap_err();
        assert!(err.closes_mailbox(), "{err:?}");
        let mut tx = IndexTransaction::new();
        tx.set_deleted(true);
        commit(dir.path(), &tx);
        deleted.refresh().unwrap();
        let err = deleted.take_changes().unwrap_err();
        assert!(err.closes_mailbox(), "{err:?}");
    }
}
