//! Index transactions as the storage layer builds them: changes named in the storage's
//! terms (keyword names, UIDs), resolved into log records against the current state only at
//! commit, under the log lock, so that keyword ids, expunge keys and "replace" flag changes
//! are computed from the state every writer agrees on.

use super::error::IndexError;
use super::flags::Flags;
use super::keywords::{check_keyword_name, KeywordSet, MAX_KEYWORDS};
use super::log::record::{
    FlagUpdate, HeaderUpdate, NewMessage, Record, MAX_CACHE_OFFSETS_PER_RECORD,
    MAX_NAMES_PER_RECORD,
};
use super::state::MailboxState;
use super::uidset::UidSet;

/// How a flag change combines with the flags a message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagMode {
    Add,
    Remove,
    /// The message ends up with exactly these flags and keywords.
    Replace,
}

/// A message to append, keywords by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub key: Vec<u8>,
    pub physical_size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub internal_date: Option<i64>,
    pub save_date: Option<i64>,
}

#[derive(Debug, Clone)]
struct FlagChange {
    uids: UidSet,
    mode: FlagMode,
    flags: Flags,
    keywords: Vec<String>,
}

/// Changes to commit to one mailbox index, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct IndexTransaction {
    uidvalidity: Option<u32>,
    appends: Vec<AppendMessage>,
    next_uid: Option<u32>,
    first_recent_uid: Option<u32>,
    flag_changes: Vec<FlagChange>,
    modseq_updates: UidSet,
    expunges: UidSet,
    claim_recent: bool,
    backend_state: Option<Vec<u8>>,
    deleted: Option<bool>,
    cache_reset: Option<u32>,
    cache_offsets: Vec<(u32, u32)>,
    cache_offsets_reset_id: u32,
}

/// What resolving a transaction against a state gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub records: Vec<Record>,
    /// The messages this transaction claims as \Recent for its session.
    pub claimed_recent: UidSet,
}

impl IndexTransaction {
    pub fn new() -> Self {
        IndexTransaction::default()
    }

    pub fn is_empty(&self) -> bool {
        self.uidvalidity.is_none()
            && self.appends.is_empty()
            && self.next_uid.is_none()
            && self.first_recent_uid.is_none()
            && self.flag_changes.is_empty()
            && self.modseq_updates.is_empty()
            && self.expunges.is_empty()
            && !self.claim_recent
            && self.backend_state.is_none()
            && self.deleted.is_none()
            && self.cache_reset.is_none()
            && self.cache_offsets.is_empty()
    }

    /// Sets the mailbox's UIDVALIDITY. Committing a different value than the index has fails
    /// with [`IndexError::UidValidityChanged`]: the index must be recreated.
    pub fn set_uidvalidity(&mut self, uidvalidity: u32) -> &mut Self {
        self.uidvalidity = Some(uidvalidity);
        self
    }

    /// Appends a message. UIDs are assigned by the storage (under its own lock); appends must
    /// reach the log in UID order, so commit while still holding that lock.
    pub fn append(&mut self, message: AppendMessage) -> &mut Self {
        self.appends.push(message);
        self
    }

    /// Raises the next UID (never lowers it).
    pub fn set_next_uid(&mut self, next_uid: u32) -> &mut Self {
        self.next_uid = Some(self.next_uid.map_or(next_uid, |n| n.max(next_uid)));
        self
    }

    /// No message below `uid` is \Recent any more, for any session (raises the first recent
    /// UID; never lowers it, nor past the next UID). mbox: a message whose `Status:` has `O`
    /// and every message before it.
    pub fn raise_first_recent_uid(&mut self, uid: u32) -> &mut Self {
        self.first_recent_uid = Some(self.first_recent_uid.map_or(uid, |n| n.max(uid)));
        self
    }

    /// Changes flags and keywords of the messages in `uids` (missing ones are skipped).
    pub fn update_flags(
        &mut self,
        uids: UidSet,
        mode: FlagMode,
        flags: Flags,
        keywords: Vec<String>,
    ) -> &mut Self {
        if !uids.is_empty() {
            self.flag_changes.push(FlagChange {
                uids,
                mode,
                flags,
                keywords,
            });
        }
        self
    }

    /// Gives the messages of `uids` a new modseq without changing their flags (missing
    /// ones are skipped): a change only one viewer sees (a private flag) still counts for
    /// CONDSTORE, as in Dovecot.
    pub fn update_modseqs(&mut self, uids: &UidSet) -> &mut Self {
        for &(a, b) in uids.ranges() {
            self.modseq_updates.insert_range(a, b);
        }
        self
    }

    /// Expunges messages (ones already gone are skipped).
    pub fn expunge(&mut self, uids: &UidSet) -> &mut Self {
        for &(a, b) in uids.ranges() {
            self.expunges.insert_range(a, b);
        }
        self
    }

    /// Claims every message not yet claimed as \Recent by any session, for this one.
    pub fn claim_recent(&mut self) -> &mut Self {
        self.claim_recent = true;
        self
    }

    /// Records the backing store's sync state.
    pub fn set_backend_state(&mut self, state: Vec<u8>) -> &mut Self {
        self.backend_state = Some(state);
        self
    }

    /// Marks the mailbox deleted (or not): other sessions see it and close it.
    pub fn set_deleted(&mut self, deleted: bool) -> &mut Self {
        self.deleted = Some(deleted);
        self
    }

    /// Switches to a new cache file generation: every cache offset is forgotten.
    pub fn reset_cache(&mut self, reset_id: u32) -> &mut Self {
        self.cache_reset = Some(reset_id);
        self.cache_offsets_reset_id = reset_id;
        self.cache_offsets.clear();
        self
    }

    /// Records where a message's newest cache record is, in the cache file generation
    /// `reset_id`; dropped at commit when the cache has been reset since.
    pub fn set_cache_offset(&mut self, reset_id: u32, uid: u32, offset: u32) -> &mut Self {
        if reset_id != self.cache_offsets_reset_id {
            self.cache_offsets.clear();
            self.cache_offsets_reset_id = reset_id;
        }
        self.cache_offsets.push((uid, offset));
        self
    }

    /// Turns the transaction into records for `state`, or says why it cannot be committed.
    pub fn resolve(&self, state: &MailboxState) -> Result<Resolved, IndexError> {
        let mut records = Vec::new();
        let mut names = Names::new(state);
        for m in &self.appends {
            names.intern(&m.keywords)?;
        }
        for c in &self.flag_changes {
            if c.mode != FlagMode::Remove {
                names.intern(&c.keywords)?;
            }
        }
        records.extend(names.records());

        if let Some(v) = self.uidvalidity {
            if v == 0 {
                return Err(IndexError::invalid("uidvalidity 0"));
            }
            if state.uidvalidity() != 0 && state.uidvalidity() != v {
                return Err(IndexError::UidValidityChanged {
                    index: state.uidvalidity(),
                    storage: v,
                });
            }
            if state.uidvalidity() != v {
                records.push(Record::Header(HeaderUpdate::UidValidity(v)));
            }
        }

        let mut next_uid = state.next_uid();
        for m in &self.appends {
            if m.uid < next_uid {
                return Err(IndexError::UidOrder {
                    uid: m.uid,
                    next_uid,
                });
            }
            records.push(Record::Append(NewMessage {
                uid: m.uid,
                flags: m.flags,
                keywords: names.ids(&m.keywords),
                key: m.key.clone(),
                physical_size: m.physical_size,
                virtual_size: m.virtual_size,
                internal_date: m.internal_date,
                save_date: m.save_date,
            }));
            next_uid = m.uid.saturating_add(1);
        }
        if let Some(v) = self.next_uid {
            if v > next_uid {
                records.push(Record::Header(HeaderUpdate::NextUid(v)));
                next_uid = v;
            }
        }

        for c in &self.flag_changes {
            // UIDs the index has never had cannot change; the rest may be gone already.
            let uids = c.uids.below(next_uid);
            if uids.is_empty() {
                continue;
            }
            let ids = names.ids(&c.keywords);
            let update = match c.mode {
                FlagMode::Add => FlagUpdate {
                    uids,
                    add: c.flags,
                    add_keywords: ids,
                    ..FlagUpdate::default()
                },
                FlagMode::Remove => FlagUpdate {
                    uids,
                    remove: c.flags,
                    remove_keywords: ids,
                    ..FlagUpdate::default()
                },
                FlagMode::Replace => FlagUpdate {
                    uids,
                    add: c.flags,
                    remove: c.flags.complement(),
                    remove_keywords: (0..names.count()).filter(|id| !ids.contains(*id)).collect(),
                    add_keywords: ids,
                },
            };
            records.push(Record::FlagUpdate(update));
        }

        let touched: UidSet = self
            .modseq_updates
            .below(next_uid)
            .iter()
            .filter(|&uid| state.message(uid).is_some())
            .collect();
        if !touched.is_empty() {
            records.push(Record::ModseqUpdate { uids: touched });
        }

        for uid in self.expunges.below(next_uid).iter() {
            if let Some(m) = state.message(uid) {
                records.push(Record::Expunge {
                    uid,
                    key: m.key.to_vec(),
                });
            }
        }

        let mut first_recent = state.first_recent_uid();
        if let Some(v) = self.first_recent_uid.map(|v| v.min(next_uid)) {
            if v > first_recent {
                records.push(Record::Header(HeaderUpdate::FirstRecentUid(v)));
                first_recent = v;
            }
        }

        let mut claimed_recent = UidSet::new();
        if self.claim_recent && next_uid > first_recent {
            let first = first_recent;
            let appended = self.appends.iter().map(|m| m.uid);
            let existing = state.messages().iter().map(|m| m.uid);
            // An expunged message is nobody's recent message.
            claimed_recent = existing
                .filter(|&uid| uid >= first)
                .chain(appended)
                .filter(|&uid| !self.expunges.contains(uid))
                .collect();
            records.push(Record::Header(HeaderUpdate::FirstRecentUid(next_uid)));
        }

        if let Some(blob) = &self.backend_state {
            if blob[..] != *state.backend_state() {
                records.push(Record::Header(HeaderUpdate::BackendState(blob.clone())));
            }
        }
        if let Some(deleted) = self.deleted {
            if deleted != state.is_deleted() {
                records.push(if deleted {
                    Record::IndexDeleted
                } else {
                    Record::IndexUndeleted
                });
            }
        }
        if let Some(reset_id) = self.cache_reset {
            records.push(Record::CacheReset { reset_id });
        }
        let cache_generation = self.cache_reset.unwrap_or(state.cache_reset_id());
        if !self.cache_offsets.is_empty() && self.cache_offsets_reset_id == cache_generation {
            for chunk in self.cache_offsets.chunks(MAX_CACHE_OFFSETS_PER_RECORD) {
                records.push(Record::CacheOffsets {
                    reset_id: cache_generation,
                    entries: chunk.to_vec(),
                });
            }
        }
        for record in &records {
            record
                .check_limits()
                .map_err(|why| IndexError::invalid(why.0))?;
        }
        Ok(Resolved {
            records,
            claimed_recent,
        })
    }
}

/// Keyword names resolved to ids, new names appended after the state's.
struct Names<'a> {
    state: &'a MailboxState,
    new: Vec<String>,
}

impl<'a> Names<'a> {
    fn new(state: &'a MailboxState) -> Self {
        Names {
            state,
            new: Vec::new(),
        }
    }

    fn count(&self) -> u32 {
        (self.state.keyword_names().len() + self.new.len()) as u32
    }

    fn lookup(&self, name: &str) -> Option<u32> {
        self.state.keyword_id(name).or_else(|| {
            self.new
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
                .map(|i| (self.state.keyword_names().len() + i) as u32)
        })
    }

    fn intern(&mut self, names: &[String]) -> Result<(), IndexError> {
        for name in names {
            check_keyword_name(name).map_err(|why| IndexError::invalid(why.0))?;
            if self.lookup(name).is_none() {
                if self.count() as usize >= MAX_KEYWORDS {
                    return Err(IndexError::invalid(format!(
                        "more than {MAX_KEYWORDS} keywords in one mailbox"
                    )));
                }
                self.new.push(name.clone());
            }
        }
        Ok(())
    }

    /// Ids of known names; unknown ones (only possible when removing) are left out.
    fn ids(&self, names: &[String]) -> KeywordSet {
        names.iter().filter_map(|n| self.lookup(n)).collect()
    }

    fn records(&self) -> Vec<Record> {
        let first = self.state.keyword_names().len();
        self.new
            .chunks(MAX_NAMES_PER_RECORD)
            .enumerate()
            .map(|(i, chunk)| Record::KeywordNames {
                first_id: (first + i * MAX_NAMES_PER_RECORD) as u32,
                names: chunk.to_vec(),
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
