//! The state of one mailbox's index: what replaying the log onto a snapshot gives. Applying a
//! transaction checks that it makes sense for the state (UIDs only grow, keyword ids known,
//! modseqs strictly increasing...): a record that does not is corruption.

use std::collections::HashSet;

use super::codec::{malformed, Malformed};
use super::flags::Flags;
use super::keywords::KeywordSet;
use super::log::frame::Transaction;
use super::log::record::{FlagUpdate, HeaderUpdate, NewMessage, Record};

/// One message as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: KeywordSet,
    /// The modseq of the last change to this message's flags or keywords (or its append).
    pub modseq: u64,
    /// The storage's key (Maildir: the base file name).
    pub key: Box<[u8]>,
    pub physical_size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub internal_date: Option<i64>,
    pub save_date: Option<i64>,
    /// Offset of the message's newest record in `cote.index.cache` (0: none), valid for
    /// the state's cache reset id.
    pub cache_offset: u32,
}

/// A change to the mailbox, as the storage layer reports it to sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Appended {
        uid: u32,
    },
    Expunged {
        uid: u32,
    },
    /// Flags or keywords of the message changed; `modseq` is its new modseq.
    Flags {
        uid: u32,
        modseq: u64,
    },
    /// Only the message's modseq changed (a private flag of one viewer: IMAP tells others
    /// the new modseq alone, Dovecot's "hidden" change).
    Modseq {
        uid: u32,
        modseq: u64,
    },
    /// New keyword names exist (IMAP sends a new FLAGS list).
    KeywordNames,
    /// The mailbox was marked deleted (true) or undeleted (false).
    Deleted(bool),
}

/// The index state of a mailbox.
#[derive(Debug, Clone)]
pub struct MailboxState {
    pub(crate) uidvalidity: u32,
    pub(crate) next_uid: u32,
    pub(crate) highest_modseq: u64,
    pub(crate) first_recent_uid: u32,
    pub(crate) deleted: bool,
    pub(crate) backend_state: Vec<u8>,
    pub(crate) keywords: Vec<String>,
    pub(crate) cache_reset_id: u32,
    pub(crate) messages: Vec<MessageRecord>,
    pub(crate) seen_count: u32,
    pub(crate) deleted_count: u32,
    /// The records of the messages that applying transactions expunged since the last
    /// [`take_retired`](Self::take_retired): a session still shows such a message (its flags
    /// as they were last) until it reports the expunge. Not part of the state's value:
    /// equality ignores it, and a state loaded from a snapshot has none.
    pub(crate) retired: Vec<MessageRecord>,
}

impl PartialEq for MailboxState {
    fn eq(&self, other: &MailboxState) -> bool {
        self.uidvalidity == other.uidvalidity
            && self.next_uid == other.next_uid
            && self.highest_modseq == other.highest_modseq
            && self.first_recent_uid == other.first_recent_uid
            && self.deleted == other.deleted
            && self.backend_state == other.backend_state
            && self.keywords == other.keywords
            && self.cache_reset_id == other.cache_reset_id
            && self.messages == other.messages
            && self.seen_count == other.seen_count
            && self.deleted_count == other.deleted_count
    }
}

impl Eq for MailboxState {}

impl MailboxState {
    /// The empty state a new log file starts from.
    pub fn new(initial_modseq: u64) -> Self {
        MailboxState {
            uidvalidity: 0,
            next_uid: 1,
            highest_modseq: initial_modseq,
            first_recent_uid: 1,
            deleted: false,
            backend_state: Vec::new(),
            keywords: Vec::new(),
            cache_reset_id: 0,
            messages: Vec::new(),
            seen_count: 0,
            deleted_count: 0,
            retired: Vec::new(),
        }
    }

    pub fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }
    pub fn next_uid(&self) -> u32 {
        self.next_uid
    }
    pub fn highest_modseq(&self) -> u64 {
        self.highest_modseq
    }
    pub fn first_recent_uid(&self) -> u32 {
        self.first_recent_uid
    }
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }
    pub fn backend_state(&self) -> &[u8] {
        &self.backend_state
    }
    pub fn keyword_names(&self) -> &[String] {
        &self.keywords
    }
    /// The id of a keyword (names compare ASCII-case-insensitively, as IMAP flags do).
    pub fn keyword_id(&self, name: &str) -> Option<u32> {
        self.keywords
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name))
            .map(|i| i as u32)
    }
    pub fn cache_reset_id(&self) -> u32 {
        self.cache_reset_id
    }
    /// All messages, sorted by UID.
    pub fn messages(&self) -> &[MessageRecord] {
        &self.messages
    }
    pub fn message(&self, uid: u32) -> Option<&MessageRecord> {
        self.position(uid).ok().map(|i| &self.messages[i])
    }
    pub fn message_count(&self) -> u32 {
        self.messages.len() as u32
    }
    pub fn seen_count(&self) -> u32 {
        self.seen_count
    }
    pub fn unseen_count(&self) -> u32 {
        self.message_count() - self.seen_count
    }
    pub fn deleted_count(&self) -> u32 {
        self.deleted_count
    }
    /// Messages no session has claimed as \Recent yet.
    pub fn recent_count(&self) -> u32 {
        let first = self
            .messages
            .partition_point(|m| m.uid < self.first_recent_uid);
        (self.messages.len() - first) as u32
    }

    pub(crate) fn position(&self, uid: u32) -> Result<usize, usize> {
        crate::index::uidset::find_uid(&self.messages, uid, |m| m.uid)
    }

    fn count_flags(&mut self, flags: Flags, sign: i64) {
        let bump = |n: &mut u32, on: bool| {
            if on {
                *n = (i64::from(*n) + sign).clamp(0, i64::from(u32::MAX)) as u32;
            }
        };
        bump(&mut self.seen_count, flags.contains(Flags::SEEN));
        bump(&mut self.deleted_count, flags.contains(Flags::DELETED));
    }

    /// Recomputes the derived counts (after loading records from a snapshot).
    pub(crate) fn recount(&mut self) {
        self.seen_count = 0;
        self.deleted_count = 0;
        for i in 0..self.messages.len() {
            let flags = self.messages[i].flags;
            self.count_flags(flags, 1);
        }
    }

    /// The modseq a transaction of `records` must carry when applied to this state.
    pub fn next_modseq(&self, records: &[Record]) -> u64 {
        if records.iter().any(Record::changes_messages) {
            self.highest_modseq + 1
        } else {
            self.highest_modseq
        }
    }

    /// Applies a committed transaction, appending what changed to `changes`. On error the
    /// transaction does not fit this state (the log is corrupt, or was written for another
    /// state) and the state must be discarded: it may be half-applied.
    pub fn apply(&mut self, txn: &Transaction, changes: &mut Vec<Change>) -> Result<(), Malformed> {
        let expected = self.next_modseq(&txn.records);
        if txn.modseq != expected {
            return Err(malformed(format!(
                "transaction modseq {} where {expected} was due",
                txn.modseq
            )));
        }
        let mut expunged = HashSet::new();
        for record in &txn.records {
            self.apply_record(record, txn.modseq, &mut expunged, changes)?;
        }
        if !expunged.is_empty() {
            let (gone, kept) = std::mem::take(&mut self.messages)
                .into_iter()
                .partition(|m| expunged.contains(&m.uid));
            self.messages = kept;
            self.retired.extend::<Vec<MessageRecord>>(gone);
        }
        self.highest_modseq = txn.modseq;
        Ok(())
    }

    fn apply_record(
        &mut self,
        record: &Record,
        modseq: u64,
        expunged: &mut HashSet<u32>,
        changes: &mut Vec<Change>,
    ) -> Result<(), Malformed> {
        match record {
            Record::Append(m) => self.append(m, modseq, changes)?,
            Record::FlagUpdate(u) => self.update_flags(u, modseq, expunged, changes)?,
            Record::ModseqUpdate { uids } => {
                self.update_modseqs(uids, modseq, expunged, changes)?
            }
            Record::Expunge { uid, key } => {
                if *uid >= self.next_uid {
                    return Err(malformed(format!(
                        "expunge of uid {uid} at or above next uid {}",
                        self.next_uid
                    )));
                }
                // A message expunged twice is gone already: nothing to do.
                if let Ok(i) = self.position(*uid) {
                    if expunged.contains(uid) {
                        return Ok(());
                    }
                    if *self.messages[i].key != key[..] {
                        return Err(malformed(format!(
                            "expunge of uid {uid} names key {:?}, the index has {:?}",
                            String::from_utf8_lossy(key),
                            String::from_utf8_lossy(&self.messages[i].key)
                        )));
                    }
                    let flags = self.messages[i].flags;
                    self.count_flags(flags, -1);
                    expunged.insert(*uid);
                    changes.push(Change::Expunged { uid: *uid });
                }
            }
            Record::KeywordNames { first_id, names } => {
                if *first_id as usize != self.keywords.len() {
                    return Err(malformed(format!(
                        "keyword names from id {first_id}, but {} exist",
                        self.keywords.len()
                    )));
                }
                for name in names {
                    if self.keyword_id(name).is_some() {
                        return Err(malformed(format!("keyword {name:?} defined twice")));
                    }
                    self.keywords.push(name.clone());
                }
                changes.push(Change::KeywordNames);
            }
            Record::Header(h) => self.update_header(h)?,
            Record::IndexDeleted | Record::IndexUndeleted => {
                let deleted = matches!(record, Record::IndexDeleted);
                if self.deleted != deleted {
                    self.deleted = deleted;
                    changes.push(Change::Deleted(deleted));
                }
            }
            Record::CacheReset { reset_id } => {
                self.cache_reset_id = *reset_id;
                for m in &mut self.messages {
                    m.cache_offset = 0;
                }
            }
            Record::CacheOffsets { reset_id, entries } => {
                // Offsets into a cache file that has since been purged are stale: ignored.
                if *reset_id == self.cache_reset_id {
                    for &(uid, offset) in entries {
                        if let Ok(i) = self.position(uid) {
                            self.messages[i].cache_offset = offset;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn check_keywords(&self, set: &KeywordSet) -> Result<(), Malformed> {
        if set.bound() as usize > self.keywords.len() {
            return Err(malformed(format!(
                "keyword id {} unknown ({} names)",
                set.bound() - 1,
                self.keywords.len()
            )));
        }
        Ok(())
    }

    fn append(
        &mut self,
        m: &NewMessage,
        modseq: u64,
        changes: &mut Vec<Change>,
    ) -> Result<(), Malformed> {
        if m.uid < self.next_uid {
            return Err(malformed(format!(
                "append of uid {} below next uid {}",
                m.uid, self.next_uid
            )));
        }
        self.check_keywords(&m.keywords)?;
        self.messages.push(MessageRecord {
            uid: m.uid,
            flags: m.flags,
            keywords: m.keywords.clone(),
            modseq,
            key: m.key.clone().into_boxed_slice(),
            physical_size: m.physical_size,
            virtual_size: m.virtual_size,
            internal_date: m.internal_date,
            save_date: m.save_date,
            cache_offset: 0,
        });
        self.count_flags(m.flags, 1);
        self.next_uid = m.uid.saturating_add(1);
        changes.push(Change::Appended { uid: m.uid });
        Ok(())
    }

    fn update_flags(
        &mut self,
        u: &FlagUpdate,
        modseq: u64,
        expunged: &HashSet<u32>,
        changes: &mut Vec<Change>,
    ) -> Result<(), Malformed> {
        if u.uids.max().is_some_and(|max| max >= self.next_uid) {
            return Err(malformed(format!(
                "flag update up to uid {:?} at or above next uid {}",
                u.uids.max(),
                self.next_uid
            )));
        }
        self.check_keywords(&u.add_keywords)?;
        self.check_keywords(&u.remove_keywords)?;
        for &(first, last) in u.uids.ranges() {
            let start = self.messages.partition_point(|m| m.uid < first);
            let end = self.messages.partition_point(|m| m.uid <= last);
            for i in start..end {
                let uid = self.messages[i].uid;
                if expunged.contains(&uid) {
                    continue;
                }
                let old_flags = self.messages[i].flags;
                let new_flags = old_flags.difference(u.remove).union(u.add);
                let msg = &mut self.messages[i];
                let mut keywords = msg.keywords.clone();
                for id in u.remove_keywords.iter() {
                    keywords.remove(id);
                }
                for id in u.add_keywords.iter() {
                    keywords.insert(id);
                }
                if new_flags == old_flags && keywords == msg.keywords {
                    continue;
                }
                msg.flags = new_flags;
                msg.keywords = keywords;
                msg.modseq = modseq;
                self.count_flags(old_flags, -1);
                self.count_flags(new_flags, 1);
                changes.push(Change::Flags { uid, modseq });
            }
        }
        Ok(())
    }

    /// The messages of `uids` (those that exist) take `modseq`, their flags unchanged.
    fn update_modseqs(
        &mut self,
        uids: &super::uidset::UidSet,
        modseq: u64,
        expunged: &HashSet<u32>,
        changes: &mut Vec<Change>,
    ) -> Result<(), Malformed> {
        if uids.max().is_some_and(|max| max >= self.next_uid) {
            return Err(malformed(format!(
                "modseq update up to uid {:?} at or above next uid {}",
                uids.max(),
                self.next_uid
            )));
        }
        for &(first, last) in uids.ranges() {
            let start = self.messages.partition_point(|m| m.uid < first);
            let end = self.messages.partition_point(|m| m.uid <= last);
            for msg in &mut self.messages[start..end] {
                if expunged.contains(&msg.uid) {
                    continue;
                }
                msg.modseq = modseq;
                changes.push(Change::Modseq {
                    uid: msg.uid,
                    modseq,
                });
            }
        }
        Ok(())
    }

    fn update_header(&mut self, h: &HeaderUpdate) -> Result<(), Malformed> {
        match h {
            HeaderUpdate::UidValidity(v) => {
                if self.uidvalidity != 0 && self.uidvalidity != *v {
                    return Err(malformed(format!(
                        "uidvalidity changes from {} to {v}",
                        self.uidvalidity
                    )));
                }
                self.uidvalidity = *v;
            }
            HeaderUpdate::NextUid(v) => {
                if *v < self.next_uid {
                    return Err(malformed(format!(
                        "next uid goes back from {} to {v}",
                        self.next_uid
                    )));
                }
                self.next_uid = *v;
            }
            HeaderUpdate::FirstRecentUid(v) => {
                if *v < self.first_recent_uid || *v > self.next_uid {
                    return Err(malformed(format!(
                        "first recent uid {v} outside {}..={}",
                        self.first_recent_uid, self.next_uid
                    )));
                }
                self.first_recent_uid = *v;
            }
            HeaderUpdate::BackendState(blob) => self.backend_state = blob.clone(),
        }
        Ok(())
    }

    /// The records of the messages expunged since the last call (see `retired`).
    pub fn take_retired(&mut self) -> Vec<MessageRecord> {
        std::mem::take(&mut self.retired)
    }

    /// The changes that turn `self` into `newer` as a session sees them, for when a view has
    /// to jump to an unrelated state (index rebuilt, snapshot reloaded). Keywords compare by
    /// name, since ids differ between index generations.
    pub fn diff(&self, newer: &MailboxState) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.keywords.len() != newer.keywords.len()
            || newer.keywords.iter().any(|k| self.keyword_id(k).is_none())
        {
            changes.push(Change::KeywordNames);
        }
        let names = |state: &MailboxState, set: &KeywordSet| -> Vec<String> {
            let mut v: Vec<String> = set
                .iter()
                .filter_map(|id| state.keywords.get(id as usize))
                .map(|n| n.to_ascii_lowercase())
                .collect();
            v.sort();
            v
        };
        let (mut i, mut j) = (0, 0);
        let (old, new) = (&self.messages, &newer.messages);
        while i < old.len() || j < new.len() {
            match (old.get(i), new.get(j)) {
                (Some(a), Some(b)) if a.uid == b.uid => {
                    if a.flags != b.flags || names(self, &a.keywords) != names(newer, &b.keywords) {
                        changes.push(Change::Flags {
                            uid: b.uid,
                            modseq: b.modseq,
                        });
                    } else if a.modseq != b.modseq {
                        changes.push(Change::Modseq {
                            uid: b.uid,
                            modseq: b.modseq,
                        });
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a.uid < b.uid => {
                    changes.push(Change::Expunged { uid: a.uid });
                    i += 1;
                }
                (Some(a), None) => {
                    changes.push(Change::Expunged { uid: a.uid });
                    i += 1;
                }
                (_, Some(b)) => {
                    changes.push(Change::Appended { uid: b.uid });
                    j += 1;
                }
                (None, None) => break,
            }
        }
        if self.deleted != newer.deleted {
            changes.push(Change::Deleted(newer.deleted));
        }
        changes
    }
}

#[cfg(test)]
pub(crate) mod tests;
