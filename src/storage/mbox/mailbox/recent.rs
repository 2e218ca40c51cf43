//! `Status: O`: which messages a session marks as no longer \Recent in the file, and when
//! it writes the mark, as Dovecot 2.3's mbox sync does (checked against it by
//! `tests/mbox_status.rs`).
//!
//! A SELECT session (one that takes \Recent) writes `O` into every header it writes for
//! any reason, and marks for `O` the messages Dovecot's sync reads in such a session: the
//! file's first message (always read for `X-IMAPbase:`) when the mailbox is opened, the
//! messages it takes \Recent from, and every message when the file had changed behind the
//! index (a full read). Marks are written with the session's next write or when it
//! closes the mailbox (Dovecot writes them lazily, at the latest at close). A session
//! whose index had not recorded the file yet marks nothing and writes no `O` in its first
//! sync (Dovecot's first sync of a new index keeps \Recent in the file, and its later
//! quick syncs within the same second do not read the file again).

use super::MboxMailbox;

impl MboxMailbox {
    /// Whether this session takes \Recent: headers it writes get `O`.
    pub(super) fn drop_recent(&self) -> bool {
        self.view.claims_recent() && !self.read_only && !self.opening_fresh
    }

    /// After a sync: marks what Dovecot's sync read in a SELECT session (`reread`: the file
    /// had changed and was read whole; `at_open`: the mailbox's first sync).
    pub(super) fn note_visited(&mut self, reread: bool, at_open: bool) {
        if !self.drop_recent() || self.fresh_index {
            return;
        }
        let seqs = self.view.seqs();
        let state = self.view.state();
        let recent = seqs
            .uids()
            .iter()
            .copied()
            .filter(|&uid| seqs.is_recent(uid));
        if reread {
            self.mark_old.extend(state.messages().iter().map(|m| m.uid));
        } else {
            let first = state.messages().first().map(|m| m.uid);
            let first = first.filter(|_| at_open);
            self.mark_old.extend(recent.chain(first));
        }
        self.forget_aged();
    }

    /// Drops the marks the file as last read already has (or whose messages are gone).
    pub(super) fn forget_aged(&mut self) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        self.mark_old.retain(|&uid| {
            loaded
                .position(uid)
                .is_some_and(|i| !loaded.file.messages[i].meta.old)
        });
    }
}
