//! What the index remembers of the past, read back from the transaction logs still on disk
//! (`cote.index.log` and the `.log.2` before it), as Dovecot reads its own log:
//!
//! - the UIDs expunged after a modseq ([`MailboxIndex::expunged_since`], for QRESYNC's
//!   `VANISHED (EARLIER)`, RFC 7162 §3.2.5). Once the logs no longer reach back that far the
//!   answer says so, and the caller answers with a superset (every UID the client knows that
//!   no longer exists), which the RFC allows: an expunged UID is never left out.
//! - the highest modseq an index about to be replaced gave out (`previous_highest_modseq`),
//!   so that a rebuilt index continues above it: modseqs never go backwards.

use std::path::Path;

use super::error::IndexError;
use super::log::file::{LogFile, LogOpenError};
use super::log::frame::scan;
use super::log::header::LOG_HEADER_LEN;
use super::log::record::Record;
use super::mailbox::MailboxIndex;
use super::settings::{IndexSettings, LOG2_NAME, LOG_NAME};
use super::snapshot;
use super::uidset::UidSet;
use crate::fs::NfsCache;

/// The UIDs expunged after some modseq.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpungedSince {
    pub uids: UidSet,
    /// Every expunge after the modseq is in `uids`. When false the logs on disk begin after
    /// it (rotated away, or the index was rebuilt since) and `uids` is only part of them.
    pub complete: bool,
}

/// The expunges of the transactions of `log` that end at or before `end` and carry a modseq
/// above `modseq`, added to `uids`. Whether every transaction up to `end` could be read
/// (false: the file is damaged or shorter than that).
fn collect_expunges(
    log: &LogFile,
    nfs: &NfsCache,
    end: u64,
    modseq: u64,
    uids: &mut UidSet,
) -> Result<bool, IndexError> {
    nfs.flush_read_cache(&log.file, false);
    let start = LOG_HEADER_LEN as u64;
    if end <= start {
        return Ok(end == start);
    }
    let bytes = log.file.read_from(start)?;
    let Ok(scanned) = scan(&bytes, start) else {
        return Ok(false);
    };
    let mut reached = false;
    for txn in scanned.transactions.iter().take_while(|t| t.end <= end) {
        reached = txn.end == end;
        if txn.modseq <= modseq {
            continue;
        }
        for record in &txn.records {
            if let Record::Expunge { uid, .. } = record {
                uids.insert(*uid);
            }
        }
    }
    Ok(reached)
}

impl MailboxIndex {
    /// The UIDs expunged by transactions with a modseq above `modseq`, up to what this
    /// handle has read (its [`state`](Self::state)).
    pub fn expunged_since(&self, modseq: u64) -> Result<ExpungedSince, IndexError> {
        let mut found = ExpungedSince::default();
        if modseq >= self.state.highest_modseq() {
            found.complete = true;
            return Ok(found);
        }
        let header = &self.log.header;
        if !collect_expunges(
            &self.log,
            &self.nfs,
            self.log.offset,
            modseq,
            &mut found.uids,
        )? {
            return Ok(found);
        }
        // Every transaction of a log has a modseq of at least its initial one.
        if header.initial_modseq <= modseq {
            found.complete = true;
            return Ok(found);
        }
        if header.prev_file_seq == 0 {
            // The index began (was created or rebuilt) after `modseq`.
            return Ok(found);
        }
        let prev = match LogFile::open(&self.dir.join(LOG2_NAME), &self.nfs) {
            Ok(prev) => prev,
            Err(LogOpenError::Missing | LogOpenError::BadHeader(_)) => return Ok(found),
            Err(LogOpenError::Fs(e)) => return Err(e.into()),
        };
        if prev.header.indexid != header.indexid || prev.header.file_seq != header.prev_file_seq {
            return Ok(found);
        }
        let read = collect_expunges(
            &prev,
            &self.nfs,
            header.prev_file_offset,
            modseq,
            &mut found.uids,
        )?;
        found.complete = read && prev.header.initial_modseq <= modseq;
        Ok(found)
    }
}

/// The highest modseq the index in `dir` has given out, as far as its files tell: the
/// snapshot's, the log's initial one and its transactions'. `exact`: the log was read whole
/// (no modseq above the answer can have been given out); otherwise a session may have seen
/// higher ones, in the part that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PreviousModseq {
    pub highest: u64,
    pub exact: bool,
    /// Some index files existed.
    pub existed: bool,
}

pub(crate) fn previous_highest_modseq(
    dir: &Path,
    settings: &IndexSettings,
    nfs: &NfsCache,
) -> PreviousModseq {
    let mut found = PreviousModseq {
        highest: 0,
        exact: false,
        existed: false,
    };
    if let Ok(Some(h)) = snapshot::file::read_header(dir, settings) {
        found.highest = h.highest_modseq;
        found.existed = true;
    }
    let log = match LogFile::open(&dir.join(LOG_NAME), nfs) {
        Ok(log) => log,
        Err(LogOpenError::Missing) => return found,
        Err(_) => {
            found.existed = true;
            return found;
        }
    };
    found.existed = true;
    found.highest = found.highest.max(log.header.initial_modseq);
    nfs.flush_read_cache(&log.file, false);
    let Ok(bytes) = log.file.read_from(LOG_HEADER_LEN as u64) else {
        return found;
    };
    if let Ok(scanned) = scan(&bytes, LOG_HEADER_LEN as u64) {
        if let Some(last) = scanned.transactions.last() {
            found.highest = found.highest.max(last.modseq);
        }
        found.exact = true;
    }
    found
}

#[cfg(test)]
mod tests;
