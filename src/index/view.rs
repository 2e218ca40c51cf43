//! A session's view of a mailbox: its sequence numbers, its \Recent messages, and the
//! expunges it has not reported yet. IMAP cannot renumber messages in the middle of a
//! command, so expunges wait in the view until the session takes them; appended messages
//! get the next sequence numbers at once (the session announces them with EXISTS).

use super::error::IndexError;
use super::mailbox::MailboxIndex;
use super::state::{Change, MailboxState};
use super::transaction::IndexTransaction;
use super::uidset::{find_uid, UidSet};
use super::writer::Committed;

/// One session's view of a mailbox index: the index kept current, and the session's
/// numbering of it.
#[derive(Debug)]
pub struct View {
    index: MailboxIndex,
    seqs: SeqMap,
    /// SELECT (claims \Recent messages) rather than EXAMINE.
    claims_recent: bool,
}

impl View {
    /// Opens a view on `index`. With `claims_recent` (IMAP SELECT), the messages no session
    /// has seen yet become this session's \Recent messages.
    pub fn new(mut index: MailboxIndex, claims_recent: bool) -> Result<View, IndexError> {
        let mut recent = UidSet::new();
        if claims_recent && index.state().recent_count() > 0 {
            let mut tx = IndexTransaction::new();
            tx.claim_recent();
            recent = index.commit(&tx)?.claimed_recent;
        }
        // Changes up to here are part of the initial numbering.
        index.take_changes();
        let seqs = SeqMap::new(index.state(), recent);
        Ok(View {
            index,
            seqs,
            claims_recent,
        })
    }

    pub fn state(&self) -> &MailboxState {
        self.index.state()
    }

    pub fn seqs(&self) -> &SeqMap {
        &self.seqs
    }

    pub fn index(&self) -> &MailboxIndex {
        &self.index
    }

    /// The index, for committing or locking (changes made through it reach the numbering
    /// at the next [`refresh`](Self::refresh)).
    pub fn index_mut(&mut self) -> &mut MailboxIndex {
        &mut self.index
    }

    /// Reads new changes (by any session on any host), claims new \Recent messages when
    /// this view does, and applies them to the numbering: appends at once, expunges pending
    /// until [`take_expunges`](Self::take_expunges). Returns the changes for the session to
    /// report (EXISTS, EXPUNGE, FETCH FLAGS).
    pub fn refresh(&mut self) -> Result<Vec<Change>, IndexError> {
        let mut changes = self.index.refresh()?;
        let mut claimed = UidSet::new();
        if self.claims_recent && self.index.state().recent_count() > 0 {
            let mut tx = IndexTransaction::new();
            tx.claim_recent();
            claimed = self.index.commit(&tx)?.claimed_recent;
            changes.extend(self.index.take_changes());
        }
        self.seqs.apply(&changes, &claimed);
        Ok(changes)
    }

    /// Commits `tx` and applies the resulting changes (this session's and any read under
    /// the lock) to the numbering; returns them too.
    pub fn commit(
        &mut self,
        tx: &IndexTransaction,
    ) -> Result<(Committed, Vec<Change>), IndexError> {
        let committed = self.index.commit(tx)?;
        let changes = self.index.take_changes();
        self.seqs.apply(&changes, &committed.claimed_recent);
        Ok((committed, changes))
    }

    /// Applies pending expunges to the numbering; see [`SeqMap::take_expunges`].
    pub fn take_expunges(&mut self) -> Vec<(u32, u32)> {
        self.seqs.take_expunges()
    }
}

/// Sequence numbers ↔ UIDs for one session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeqMap {
    /// UIDs by sequence number − 1, ascending; includes expunged messages not yet reported.
    uids: Vec<u32>,
    pending_expunges: UidSet,
    recent: UidSet,
}

impl SeqMap {
    /// The numbering of `state`'s messages, with `recent` the messages this session claimed.
    pub fn new(state: &MailboxState, recent: UidSet) -> SeqMap {
        SeqMap {
            uids: state.messages().iter().map(|m| m.uid).collect(),
            pending_expunges: UidSet::new(),
            recent,
        }
    }

    /// How many messages the session sees (EXISTS), unreported expunges included.
    pub fn count(&self) -> u32 {
        self.uids.len() as u32
    }

    /// The UID of sequence number `seq` (1-based).
    pub fn uid(&self, seq: u32) -> Option<u32> {
        seq.checked_sub(1)
            .and_then(|i| self.uids.get(i as usize))
            .copied()
    }

    /// The sequence number of `uid`.
    pub fn seq(&self, uid: u32) -> Option<u32> {
        find_uid(&self.uids, uid, |&u| u).ok().map(|i| i as u32 + 1)
    }

    /// All UIDs in sequence order.
    pub fn uids(&self) -> &[u32] {
        &self.uids
    }

    /// Whether `uid` is expunged but still numbered because the session has not taken it.
    pub fn is_expunged(&self, uid: u32) -> bool {
        self.pending_expunges.contains(uid)
    }

    pub fn has_pending_expunges(&self) -> bool {
        !self.pending_expunges.is_empty()
    }

    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.contains(uid)
    }

    /// \Recent messages still in the view.
    pub fn recent_count(&self) -> u32 {
        self.uids
            .iter()
            .filter(|&&u| self.recent.contains(u))
            .count() as u32
    }

    /// Applies changes from a refresh; `claimed_recent` are messages this session claimed.
    pub fn apply(&mut self, changes: &[Change], claimed_recent: &UidSet) {
        for change in changes {
            match *change {
                Change::Appended { uid } => match self.uids.binary_search(&uid) {
                    Ok(_) => {}
                    Err(i) => self.uids.insert(i, uid),
                },
                Change::Expunged { uid } => {
                    if self.seq(uid).is_some() {
                        self.pending_expunges.insert(uid);
                    }
                }
                Change::Flags { .. }
                | Change::Modseq { .. }
                | Change::KeywordNames
                | Change::Deleted(_) => {}
            }
        }
        for &(a, b) in claimed_recent.ranges() {
            self.recent.insert_range(a, b);
        }
    }

    /// Removes the pending expunges from the numbering and returns them as (seq, uid), in
    /// descending sequence order: reported in that order, every number is still right when
    /// the client reads it.
    pub fn take_expunges(&mut self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for uid in self.pending_expunges.iter() {
            if let Some(seq) = self.seq(uid) {
                out.push((seq, uid));
            }
        }
        let gone = std::mem::take(&mut self.pending_expunges);
        self.uids.retain(|&u| !gone.contains(u));
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::log::frame::scan;
    use crate::index::state::tests::{arb_op, log_bytes, Model};
    use proptest::prelude::*;

    proptest! {
        /// A view fed the changes of every transaction, taking expunges at random points,
        /// ends up numbering exactly the state's messages.
        #[test]
        fn follows_the_state(ops in proptest::collection::vec(arb_op(), 0..25), takes in proptest::collection::vec(any::<bool>(), 25)) {
            let mut model = Model::new();
            let buf = log_bytes(&mut model, &ops);
            let scanned = scan(&buf, 0).unwrap();
            let mut state = MailboxState::new(1);
            let mut view = SeqMap::new(&state, UidSet::new());
            for (txn, take) in scanned.transactions.iter().zip(takes.iter().cycle()) {
                let before = view.clone();
                let mut changes = Vec::new();
                state.apply(txn, &mut changes).unwrap();
                view.apply(&changes, &UidSet::new());
                // Nothing already numbered moves until expunges are taken.
                prop_assert_eq!(&view.uids()[..before.uids().len()], before.uids());
                if *take {
                    let taken = view.take_expunges();
                    for w in taken.windows(2) {
                        prop_assert!(w[0].0 > w[1].0);
                    }
                    for (seq, uid) in taken {
                        prop_assert_eq!(before.seq(uid).or(Some(seq)), Some(seq));
                    }
                }
            }
            view.take_expunges();
            let uids: Vec<u32> = state.messages().iter().map(|m| m.uid).collect();
            prop_assert_eq!(view.uids(), &uids[..]);
            for (i, uid) in uids.iter().enumerate() {
                prop_assert_eq!(view.seq(*uid), Some(i as u32 + 1));
                prop_assert_eq!(view.uid(i as u32 + 1), Some(*uid));
            }
            prop_assert_eq!(view.uid(0), None);
        }
    }

    #[test]
    fn recent_and_expunges() {
        let mut view = SeqMap::default();
        let appended: Vec<Change> = (1..=5).map(|uid| Change::Appended { uid }).collect();
        view.apply(&appended, &UidSet::range(4, 5));
        assert_eq!(view.recent_count(), 2);
        view.apply(
            &[
                Change::Expunged { uid: 2 },
                Change::Expunged { uid: 4 },
                Change::Expunged { uid: 9 },
            ],
            &UidSet::new(),
        );
        assert_eq!(view.count(), 5);
        assert!(view.is_expunged(4));
        assert_eq!(view.take_expunges(), vec![(4, 4), (2, 2)]);
        assert_eq!(view.uids(), &[1, 3, 5]);
        assert_eq!(view.recent_count(), 1);
        assert!(view.take_expunges().is_empty());
    }
}
