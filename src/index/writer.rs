//! Writing to a mailbox index: the log lock, commits, and what happens under the lock before
//! it is released (snapshot rewrite, log rotation). Also creating (rebuilding) an index.
//!
//! A writer takes the log lock (`lock_method`, 180 s capped by `mail_max_lock_timeout`),
//! makes sure the log it has open is still the log (a rotation may have replaced it while it
//! waited), reads the tail it has not seen, writes at the end of the last valid transaction
//! with `pwrite` (never O_APPEND), syncs per `mail_fsync`, and unlocks.
//!
//! The log lock is never on the log itself: an fcntl/flock lock is on `cote.index.lock`, a
//! dotlock is `cote.index.log.lock`. Rotations and rebuilds rename a new log over
//! `cote.index.log` while holding the lock, and CIFS refuses to rename over a file its client
//! holds locked ("Text file is busy").

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fs::{
    ops, DotLock, DotLockSettings, FileKind, FileLock, FsFile, LockKind, LockMethod, LockRequest,
    NfsCache,
};

use super::error::IndexError;
use super::history::previous_highest_modseq;
use super::log::frame::{encode_transaction, Transaction};
use super::log::header::{LogHeader, LOG_HEADER_LEN};
use super::log::record::{HeaderUpdate, Record};
use super::mailbox::{corrupted, open_log, MailboxIndex};
use super::settings::{
    IndexSettings, LOCK_NAME, LOG2_NAME, LOG_LOCK_STALE_TIMEOUT, LOG_LOCK_TIMEOUT, LOG_NAME,
};
use super::snapshot;
use super::state::MailboxState;
use super::transaction::IndexTransaction;
use super::uidset::UidSet;

/// A log lock wait this long is logged (as Dovecot does).
const SLOW_LOCK_WARNING: Duration = Duration::from_secs(30);

/// A writer follows a log replaced while it waited for the lock at least this often, and
/// after that for as long as a lock wait may last: each replacement is another writer's
/// progress (Dovecot loops until it holds the head log), so only a livelock that outlasts
/// the lock timeout is an error.
const MIN_LOCK_RETRIES: usize = 10;

/// How often a writer reopens `cote.index.lock` when it was deleted or replaced under it.
const MAX_LOCK_FILE_RETRIES: usize = 10;

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The highest modseq after the commit.
    pub modseq: u64,
    /// Messages the transaction claimed as \Recent for this session.
    pub claimed_recent: UidSet,
    /// Whether anything was written (a transaction that changes nothing is not).
    pub written: bool,
}

/// The index with its log locked. Sync with the backing store (e.g. a Maildir rescan) while
/// holding it: [`state`](Self::state) is current and no other writer can change it. Finish
/// with [`unlock`](Self::unlock); dropping it releases the lock without the upkeep.
#[derive(Debug)]
pub struct LockedIndex<'a> {
    index: &'a mut MailboxIndex,
    lock: Option<FileLock>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn log_lock_request() -> LockRequest {
    LockRequest {
        kind: LockKind::Exclusive,
        timeout: LOG_LOCK_TIMEOUT,
        stale_timeout: LOG_LOCK_STALE_TIMEOUT,
    }
}

/// Takes the log lock of the index in `dir`: the dotlock `cote.index.log.lock` (on `log`,
/// whose cached data it then flushes per `mail_nfs_index`), or an fcntl/flock lock on
/// `cote.index.lock` (kept open in `lock_file`). `None` only with `dotlock` and no log yet.
///
/// A lock on `cote.index.lock` is checked to be on the file the name still holds (someone
/// may have deleted the index files): else the name is opened again. The log's cached pages
/// are then revalidated as a lock on the log itself would have done on NFS.
fn acquire_log_lock(
    dir: &Path,
    settings: &IndexSettings,
    nfs: &NfsCache,
    log: Option<&FsFile>,
    lock_file: &mut Option<FsFile>,
) -> Result<Option<FileLock>, IndexError> {
    if settings.fs.lock_method == LockMethod::Dotlock {
        let Some(log) = log else {
            return Ok(None);
        };
        let lock = FileLock::acquire(&settings.fs, FileKind::Index, log, log_lock_request())?;
        return Ok(Some(lock));
    }
    let path = dir.join(LOCK_NAME);
    for _ in 0..MAX_LOCK_FILE_RETRIES {
        let file = match lock_file.take() {
            Some(file) => file,
            None => FsFile::open_or_create(&path, &settings.perms)?,
        };
        let lock = FileLock::acquire(&settings.fs, FileKind::Index, &file, log_lock_request())?;
        nfs.flush_dir_handles(&path);
        nfs.flush_attr(&path);
        let ours = file.metadata()?;
        let named = ops::stat_if_exists(&path)?;
        if named.is_some_and(|st| st.dev() == ours.dev() && st.ino() == ours.ino()) {
            *lock_file = Some(file);
            if let Some(log) = log {
                nfs.flush_read_cache(log, false);
            }
            return Ok(Some(lock));
        }
        lock.release()?;
    }
    Err(IndexError::Invalid(format!(
        "{} was replaced {MAX_LOCK_FILE_RETRIES} times while locking it",
        path.display()
    )))
}

fn newlock_settings(settings: &IndexSettings) -> DotLockSettings {
    DotLockSettings::new(
        &settings.fs,
        FileKind::Index,
        LOG_LOCK_TIMEOUT,
        LOG_LOCK_STALE_TIMEOUT,
    )
    .with_suffix(".newlock")
}

impl MailboxIndex {
    /// Takes the log lock and reads everything committed before it.
    pub fn lock(&mut self) -> Result<LockedIndex<'_>, IndexError> {
        let deadline = Instant::now() + self.settings.fs.lock_timeout(LOG_LOCK_TIMEOUT);
        let mut attempts = 0;
        while attempts < MIN_LOCK_RETRIES || Instant::now() < deadline {
            attempts += 1;
            let started = Instant::now();
            let lock = acquire_log_lock(
                &self.dir,
                &self.settings,
                &self.nfs,
                Some(&self.log.file),
                &mut self.lock_file,
            )?
            .ok_or_else(|| IndexError::Invalid("no log lock for an open log".into()))?;
            let waited = started.elapsed();
            if waited >= SLOW_LOCK_WARNING {
                log::warn!(
                    "Locking transaction log file {} took {} seconds",
                    self.log.path.display(),
                    waited.as_secs()
                );
            }
            if !self.log.replaced(&self.nfs)? {
                let locked = LockedIndex {
                    index: self,
                    lock: Some(lock),
                };
                locked.index.read_tail(true)?;
                return Ok(locked);
            }
            lock.release()?;
            self.follow_replaced_log()?;
        }
        Err(IndexError::Invalid(format!(
            "transaction log {} was replaced {attempts} times while waiting for its lock",
            self.log.path.display()
        )))
    }

    /// Commits `tx` in one locked write: lock, read the tail, resolve, write, unlock. Once
    /// the transaction is written the commit has succeeded: a failure of the upkeep or of
    /// the release after it is logged, not returned.
    pub fn commit(&mut self, tx: &IndexTransaction) -> Result<Committed, IndexError> {
        let mut locked = self.lock()?;
        let committed = locked.commit(tx)?;
        if let Err(e) = locked.unlock() {
            log::error!("After committing to {}: {e}", self.dir.display());
        }
        Ok(committed)
    }

    /// Creates the index in `dir` afresh — a new generation, replacing whatever is there —
    /// holding what `contents` says (built by the caller from the mailbox's truth), with
    /// modseqs continuing from at least `initial_modseq`.
    ///
    /// Modseqs never go backwards (RFC 7162 §3.1.1: a client's CONDSTORE/QRESYNC state
    /// stays valid under the same UIDVALIDITY): a rebuilt index starts above what the old
    /// one gave out — exactly above it when the old log reads whole, else (the old index is
    /// damaged or gone while the mailbox has had messages, e.g. a Maildir Dovecot served
    /// before) above the clock in microseconds (`modseq_floor`), which no modseq counted
    /// one per transaction reaches. Only a mailbox that never had a message and no index
    /// starts at 1.
    pub fn create(
        dir: &Path,
        settings: IndexSettings,
        contents: IndexTransaction,
        initial_modseq: u64,
    ) -> Result<MailboxIndex, IndexError> {
        ops::mkdir_parents(dir, &settings.perms)?;
        let log_path = dir.join(LOG_NAME);
        // Writers of the old log wait until it is replaced, then find the new one.
        let old_file = match FsFile::open_rw(&log_path) {
            Ok(file) => Some(file),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        let nfs = settings.fs.nfs(FileKind::Index);
        let mut lock_file = None;
        let old_lock = acquire_log_lock(dir, &settings, &nfs, old_file.as_ref(), &mut lock_file)?;
        let old_indexid = old_file
            .as_ref()
            .and_then(|f| {
                let mut head = [0u8; LOG_HEADER_LEN];
                let n = f.read_full_at(&mut head, 0).ok()?;
                LogHeader::decode(&head[..n]).ok()
            })
            .map_or(0, |h| h.indexid);

        let previous = previous_highest_modseq(dir, &settings, &nfs);
        let resolved = contents.resolve(&MailboxState::new(1))?;
        // Held once from here on: as the resolved records, then as the state.
        drop(contents);
        let had_messages = resolved.records.iter().any(|r| {
            matches!(
                r,
                Record::Append(_) | Record::Header(HeaderUpdate::NextUid(2..))
            )
        });
        let initial_modseq = if previous.exact {
            initial_modseq.max(previous.highest + 1)
        } else if previous.existed || had_messages {
            initial_modseq.max(previous.highest + 1).max(modseq_floor())
        } else {
            initial_modseq.max(1)
        };
        let mut state = MailboxState::new(initial_modseq);
        let modseq = state.next_modseq(&resolved.records);
        let body = encode_transaction(modseq, &resolved.records)
            .map_err(|why| IndexError::Invalid(why.0))?;
        let txn = Transaction {
            offset: LOG_HEADER_LEN as u64,
            end: (LOG_HEADER_LEN + body.len()) as u64,
            modseq,
            records: resolved.records,
        };
        state
            .apply(&txn, &mut Vec::new())
            .map_err(|why| IndexError::Invalid(why.0))?;
        let has_records = !txn.records.is_empty();
        drop(txn);
        let header = LogHeader {
            indexid: new_indexid(old_indexid),
            uidvalidity: state.uidvalidity(),
            file_seq: 1,
            prev_file_seq: 0,
            prev_file_offset: 0,
            initial_modseq,
            create_time: now_secs(),
        };
        let mut bytes = header.encode();
        if has_records {
            bytes.extend(body);
        }
        let newlock =
            DotLock::acquire_for_replace(&log_path, &newlock_settings(&settings), &settings.perms)?;
        let Some(file) = newlock.file() else {
            return Err(IndexError::Invalid("log lock has no file to write".into()));
        };
        file.write_all_at(&bytes, 0)?;
        let covered = (1, bytes.len() as u64);
        drop(bytes);
        // The snapshot first: the moment the new log appears, it has its snapshot.
        snapshot::file::write(dir, &settings, &state, header.indexid, covered.0, covered.1)?;
        newlock.replace(&settings.fs, true)?;
        ops::unlink_if_exists(&dir.join(LOG2_NAME))?;
        if let Some(lock) = old_lock {
            lock.release()?;
        }
        MailboxIndex::open_created(dir, settings, header.indexid, (covered, state))
    }

    /// Upkeep under the log lock: rewrite the snapshot when enough log has piled up after
    /// it, rotate the log when it is big or old enough.
    fn maintain(&mut self) -> Result<(), IndexError> {
        let s = &self.settings;
        let size = self.log.offset;
        let age = self.log.age_secs(now_secs());
        let rotate = size >= s.log_rotate_max_size
            || (size >= s.log_rotate_min_size && age >= s.log_rotate_min_age.as_secs());
        let seq = self.log.header.file_seq;
        let unreplayed = if self.snapshot_pos.0 == seq {
            size.saturating_sub(self.snapshot_pos.1)
        } else {
            size
        };
        let rewrite = rotate
            || unreplayed >= s.rewrite_max_log_bytes
            || (self.snapshot_pos.0 != seq && unreplayed >= s.rewrite_min_log_bytes);
        if rewrite {
            // Another writer may have rewritten it meanwhile.
            if let Some(h) = snapshot::file::read_header(&self.dir, &self.settings)? {
                if h.indexid == self.log.header.indexid {
                    self.snapshot_pos = (h.log_file_seq, h.log_offset);
                }
            }
            if self.snapshot_pos != (seq, size) {
                snapshot::file::write(
                    &self.dir,
                    &self.settings,
                    &self.state,
                    self.log.header.indexid,
                    seq,
                    size,
                )?;
                self.snapshot_pos = (seq, size);
            }
            self.remove_old_log2()?;
        }
        if rotate {
            self.rotate()?;
        }
        Ok(())
    }

    /// Removes `.log.2` once it is older than `mail_index_log2_max_age`.
    fn remove_old_log2(&self) -> Result<(), IndexError> {
        let path = self.dir.join(LOG2_NAME);
        if let Some(meta) = ops::stat_if_exists(&path)? {
            let old = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age > self.settings.log2_max_age);
            if old {
                ops::unlink_if_exists(&path)?;
            }
        }
        Ok(())
    }

    /// Starts the next log file: written into `.log.newlock`, the old log linked to
    /// `.log.2` (a link, so `.log` never disappears), then renamed over `.log`.
    fn rotate(&mut self) -> Result<(), IndexError> {
        let header = LogHeader {
            indexid: self.log.header.indexid,
            uidvalidity: self.state.uidvalidity(),
            file_seq: self.log.header.file_seq + 1,
            prev_file_seq: self.log.header.file_seq,
            prev_file_offset: self.log.offset,
            initial_modseq: self.state.highest_modseq(),
            create_time: now_secs(),
        };
        let log_path = self.dir.join(LOG_NAME);
        let log2_path = self.dir.join(LOG2_NAME);
        let newlock = DotLock::acquire_for_replace(
            &log_path,
            &newlock_settings(&self.settings),
            &self.settings.perms,
        )?;
        let Some(file) = newlock.file() else {
            return Err(IndexError::Invalid("log lock has no file to write".into()));
        };
        file.write_all_at(&header.encode(), 0)?;
        ops::unlink_if_exists(&log2_path)?;
        ops::link(&log_path, &log2_path, self.settings.fs.nfs_index)?;
        newlock.replace(&self.settings.fs, true)?;
        let next = open_log(&log_path, &self.nfs)?;
        if next.header != header {
            return Err(corrupted(
                &log_path,
                "transaction log file",
                "is not the file this process just rotated in",
            ));
        }
        self.log = next;
        self.invisible_tail = 0;
        Ok(())
    }
}

/// The lowest first modseq of an index rebuilt without knowing what its predecessor gave
/// out: the time in microseconds. Transactions count modseqs one by one, each under a lock
/// with an fsync, so no index reaches the clock's count between two rebuilds.
fn modseq_floor() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX >> 1))
}

/// A new index generation id: the time mixed with the pid, never 0 nor `old`.
fn new_indexid(old: u32) -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut id = (now_secs() as u32) ^ nanos.rotate_left(13) ^ std::process::id().rotate_left(21);
    while id == 0 || id == old {
        id = id.wrapping_add(1);
    }
    id
}

impl LockedIndex<'_> {
    /// The current state (everything committed before the lock was taken, and this holder's
    /// own commits).
    pub fn state(&self) -> &MailboxState {
        &self.index.state
    }

    /// The index (directory, settings).
    pub fn index(&self) -> &MailboxIndex {
        self.index
    }

    /// Writes `tx` as one transaction.
    pub fn commit(&mut self, tx: &IndexTransaction) -> Result<Committed, IndexError> {
        let index = &mut *self.index;
        let resolved = tx.resolve(&index.state)?;
        if resolved.records.is_empty() {
            return Ok(Committed {
                modseq: index.state.highest_modseq(),
                claimed_recent: resolved.claimed_recent,
                written: false,
            });
        }
        let modseq = index.state.next_modseq(&resolved.records);
        let bytes = encode_transaction(modseq, &resolved.records)
            .map_err(|why| IndexError::Invalid(why.0))?;
        let offset = index.log.offset;
        index.log.write_transaction(
            &bytes,
            index.invisible_tail,
            &index.settings.fs,
            &index.settings.hooks,
        )?;
        index.invisible_tail = 0;
        let txn = Transaction {
            offset,
            end: index.log.offset,
            modseq,
            records: resolved.records,
        };
        if let Err(why) = index.state.apply(&txn, &mut index.changes) {
            // Resolved records always fit the state they were resolved against.
            return Err(corrupted(
                &index.log.path,
                "transaction log file",
                &format!("own transaction does not apply: {why}"),
            ));
        }
        Ok(Committed {
            modseq,
            claimed_recent: resolved.claimed_recent,
            written: true,
        })
    }

    /// Does the upkeep (snapshot rewrite, rotation) and releases the lock.
    pub fn unlock(mut self) -> Result<(), IndexError> {
        let upkeep = self.index.maintain();
        let released = match self.lock.take() {
            Some(lock) => lock.release().map_err(IndexError::from),
            None => Ok(()),
        };
        upkeep?;
        released
    }
}

impl Drop for LockedIndex<'_> {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            if let Err(e) = lock.release() {
                log::error!("{e}");
            }
        }
    }
}
