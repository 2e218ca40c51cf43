//! `mbox_lazy_writes`: a flag change is committed to the index only, with its UID among the
//! index's unwritten messages (`recorded::Recorded::unwritten`, in the same commit, so a
//! crash leaves the index with the change and the knowledge that the file lags). Whoever
//! writes the file next (an expunge, a save of new keyword names, UID headers for new
//! mail, the close of any writable session) writes them too; until then the index is the
//! truth for them, also against what a sync reads from the file (as Dovecot's dirty
//! records).

use crate::index::uidset::UidSet;
use crate::storage::api::{StoreRequest, StoreResult};
use crate::storage::error::StorageResult;
use crate::storage::maildir::mailbox::core::{keyword_names, messages_in};
use crate::storage::maildir::mailbox::write::apply_change;
use crate::storage::mbox::edit::Edits;

use super::recorded::Recorded;
use super::{MboxMailbox, Wrote};

impl MboxMailbox {
    /// STORE with lazy writes: into the index, the file later.
    pub(super) fn store_lazily(
        &mut self,
        uids: &UidSet,
        req: &StoreRequest,
    ) -> StorageResult<StoreResult> {
        // the index must know the file's messages and flags first
        self.sync_file(false)?;
        let mut li = self.view.index_mut().lock()?;
        let state = li.state();
        let mut result = StoreResult::default();
        let mut tx = crate::index::transaction::IndexTransaction::new();
        let mut changed = UidSet::new();
        for m in messages_in(state, uids) {
            if req.unchanged_since.is_some_and(|since| m.modseq > since) {
                result.modified.insert(m.uid);
                continue;
            }
            let old_kw = keyword_names(state, m);
            let (flags, kw) = apply_change(req, m.flags, &old_kw);
            if flags == m.flags && kw.len() == old_kw.len() && kw == old_kw {
                continue;
            }
            tx.update_flags(
                UidSet::range(m.uid, m.uid),
                crate::index::transaction::FlagMode::Replace,
                flags,
                kw,
            );
            changed.insert(m.uid);
        }
        let committed = if changed.is_empty() {
            Ok(0)
        } else {
            let mut recorded = Recorded::decode(state.backend_state()).unwrap_or_default();
            for uid in changed.iter() {
                recorded.unwritten.insert(uid);
            }
            tx.set_backend_state(recorded.encode());
            li.commit(&tx).map(|c| c.modseq)
        };
        if let Err(e) = li.unlock() {
            log::error!("Mailbox {}: {e}", self.vname);
        }
        let modseq = committed?;
        // (messages the session still numbers that the file no longer has)
        let state = self.view.state();
        result.expunged = self
            .view
            .seqs()
            .uids()
            .iter()
            .copied()
            .filter(|&uid| uids.contains(uid) && state.message(uid).is_none())
            .collect();
        if let Err(e) = self.view.refresh() {
            log::error!("Mailbox {}: after the change: {e}", self.vname);
        }
        result.changed = changed.iter().map(|uid| (uid, modseq)).collect();
        Ok(result)
    }

    /// Writes what the index has and the file not yet (flags of lazy writes, `Status: O`
    /// marks): at close, and for `mbox_lazy_writes = no` sessions never needed.
    pub(super) fn write_pending(&mut self) -> StorageResult<()> {
        // (a file gone meanwhile is not made again for flags of messages it took along)
        if self.read_only || self.stat_ident()?.is_none() {
            return Ok(());
        }
        let unwritten = self.has_unwritten();
        let marks = self.drop_recent() && !self.mark_old.is_empty();
        if !unwritten && !marks {
            return Ok(());
        }
        if !unwritten {
            self.load()?;
            self.forget_aged();
            if self.mark_old.is_empty() {
                return Ok(());
            }
        }
        self.change(|mb, lock, loaded| {
            mb.write_edits(lock, loaded, &Edits::default())?;
            Ok(((), Wrote::Edited))
        })?;
        Ok(())
    }
}

impl Drop for MboxMailbox {
    fn drop(&mut self) {
        if let Err(e) = self.write_pending() {
            log::error!(
                "Mailbox {}: writing pending changes at close: {e}",
                self.vname
            );
        }
    }
}
