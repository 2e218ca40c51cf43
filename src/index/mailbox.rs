//! [`MailboxIndex`]: one process's handle on one mailbox's index files — the state replayed
//! from the snapshot and the log, kept current by reading what other writers append.
//!
//! Opening loads `cote.index` (if it is of the log's generation) and replays the log from
//! where the snapshot ends; refreshing reads only the bytes appended since, and follows a
//! rotation through the new log's previous-file link. Whatever does not fit together (a
//! damaged frame with valid data after it, an impossible record, a snapshot the log cannot
//! continue) is logged once and reported as [`IndexError::NeedsRebuild`]: the caller
//! rebuilds from the mailbox's truth with [`MailboxIndex::create`].

use std::path::{Path, PathBuf};

use crate::fs::{estale, ops, FileKind, FsFile, NfsCache};

use super::cache::file::CacheState;
use super::error::IndexError;
use super::log::file::{LogFile, LogOpenError, Read};
use super::log::header::LOG_HEADER_LEN;
use super::settings::{IndexSettings, LOG2_NAME, LOG_NAME, MODSEQ_TRACKING_NAME};
use super::snapshot;
use super::state::{Change, MailboxState};

/// One mailbox's index as this process sees it.
#[derive(Debug)]
pub struct MailboxIndex {
    pub(crate) dir: PathBuf,
    pub(crate) settings: IndexSettings,
    pub(crate) nfs: NfsCache,
    pub(crate) log: LogFile,
    pub(crate) state: MailboxState,
    /// The log position the snapshot on disk covers, as last seen or written.
    pub(crate) snapshot_pos: (u32, u64),
    /// Bytes after the last visible transaction at the last read (a write in progress or an
    /// interrupted one).
    pub(crate) invisible_tail: u64,
    /// Changes read or committed and not yet taken by the caller.
    pub(crate) changes: Vec<Change>,
    pub(crate) cache: CacheState,
    /// `cote.index.lock`, opened at the first fcntl/flock log lock and kept open (closing
    /// it would drop a classic POSIX lock of this process).
    pub(crate) lock_file: Option<FsFile>,
}

/// The pieces a full load produces.
struct Loaded {
    log: LogFile,
    state: MailboxState,
    snapshot_pos: (u32, u64),
    invisible_tail: u64,
}

/// Logs a damaged index file once and turns it into the rebuild request.
pub(crate) fn corrupted(path: &Path, what: &str, reason: &str) -> IndexError {
    log::error!("Corrupted {what} {}: {reason}", path.display());
    IndexError::NeedsRebuild {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn log_corrupted(log: &LogFile, reason: &str) -> IndexError {
    corrupted(
        &log.path,
        "transaction log file",
        &format!("seq {}: {reason}", log.header.file_seq),
    )
}

/// Opens the log at `path`; a missing or foreign one means the index must be (re)built.
/// A handle that is stale at once (the name still led to a file another host replaced) is
/// opened again after the directory's handles are flushed.
pub(crate) fn open_log(path: &Path, nfs: &NfsCache) -> Result<LogFile, IndexError> {
    let mut attempt = 1;
    let opened = loop {
        match LogFile::open(path, nfs) {
            Err(LogOpenError::Fs(e)) if e.is_stale() && attempt < estale::ESTALE_RETRY_COUNT => {
                nfs.flush_dir_handles(path);
                std::thread::sleep(estale::pause_after(attempt));
                attempt += 1;
            }
            other => break other,
        }
    };
    match opened {
        Ok(log) => Ok(log),
        Err(LogOpenError::Missing) => Err(IndexError::NeedsRebuild {
            path: path.to_path_buf(),
            reason: "missing".into(),
        }),
        Err(LogOpenError::BadHeader(why)) => Err(corrupted(path, "transaction log file", &why)),
        Err(LogOpenError::Fs(e)) => Err(e.into()),
    }
}

/// Reads and applies `log`'s transactions from its offset on. With `stop_at`, the log must
/// end exactly there (a rotated log's successor says where). Returns the invisible tail.
fn replay(
    log: &mut LogFile,
    state: &mut MailboxState,
    nfs: &NfsCache,
    locked: bool,
    changes: &mut Vec<Change>,
    stop_at: Option<u64>,
) -> Result<u64, IndexError> {
    let scan = match log.read_new(nfs, locked)? {
        Read::Scanned(scan) => scan,
        Read::Damaged { offset, reason } => {
            return Err(log_corrupted(log, &format!("{reason} (offset={offset})")));
        }
        Read::Shrunk { len } => {
            return Err(log_corrupted(
                log,
                &format!("file shrank to {len} bytes, {} were read", log.offset),
            ));
        }
    };
    for txn in &scan.transactions {
        if stop_at.is_some_and(|stop| txn.end > stop) {
            return Err(log_corrupted(
                log,
                &format!(
                    "transaction at offset {} continues past the rotation point",
                    txn.offset
                ),
            ));
        }
        if let Err(why) = state.apply(txn, changes) {
            return Err(log_corrupted(
                log,
                &format!("{why} (offset={})", txn.offset),
            ));
        }
        log.offset = txn.end;
    }
    if let Some(stop) = stop_at {
        if log.offset != stop {
            return Err(log_corrupted(
                log,
                &format!(
                    "ends at offset {} but its successor says {stop}",
                    log.offset
                ),
            ));
        }
    }
    Ok(scan.invisible_tail)
}

/// A snapshot's state and the log position (file seq, offset) it covers.
type Covered = ((u32, u64), MailboxState);

fn load(dir: &Path, settings: &IndexSettings, nfs: &NfsCache) -> Result<Loaded, IndexError> {
    let log = open_log(&dir.join(LOG_NAME), nfs)?;
    let snapshot = snapshot::file::read(dir, settings)?
        .filter(|(h, _)| h.indexid == log.header.indexid)
        .map(|(h, state)| ((h.log_file_seq, h.log_offset), state));
    load_from(dir, nfs, log, snapshot)
}

/// The state of `log`'s index: `snapshot` (of the same index) continued by the log.
fn load_from(
    dir: &Path,
    nfs: &NfsCache,
    mut log: LogFile,
    snapshot: Option<Covered>,
) -> Result<Loaded, IndexError> {
    let header = log.header.clone();
    let mut ignored = Vec::new();
    let (mut state, start, snapshot_pos) = match snapshot {
        Some(((seq, offset), state)) if seq == header.file_seq => (state, offset, (seq, offset)),
        Some(((seq, offset), mut state)) if seq == header.prev_file_seq => {
            let pos = (seq, offset);
            if offset != header.prev_file_offset {
                // The snapshot ends inside the previous log: replay its rest from `.log.2`.
                let mut prev = previous_log(dir, nfs, &header, offset)?;
                replay(
                    &mut prev,
                    &mut state,
                    nfs,
                    false,
                    &mut ignored,
                    Some(header.prev_file_offset),
                )?;
            }
            (state, LOG_HEADER_LEN as u64, pos)
        }
        _ if header.prev_file_seq == 0 => (
            MailboxState::new(header.initial_modseq),
            LOG_HEADER_LEN as u64,
            (0, 0),
        ),
        _ => {
            return Err(log_corrupted(
                &log,
                &format!(
                    "continues log seq {}, but no snapshot covers it",
                    header.prev_file_seq
                ),
            ));
        }
    };
    if start == LOG_HEADER_LEN as u64 && state.highest_modseq() != header.initial_modseq {
        return Err(log_corrupted(
            &log,
            &format!(
                "initial modseq {} but the state before it has {}",
                header.initial_modseq,
                state.highest_modseq()
            ),
        ));
    }
    if header.uidvalidity != 0
        && state.uidvalidity() != 0
        && header.uidvalidity != state.uidvalidity()
    {
        return Err(log_corrupted(
            &log,
            &format!(
                "uidvalidity {} but the snapshot has {}",
                header.uidvalidity,
                state.uidvalidity()
            ),
        ));
    }
    log.offset = start;
    let invisible_tail = replay(&mut log, &mut state, nfs, false, &mut ignored, None)?;
    Ok(Loaded {
        log,
        state,
        snapshot_pos,
        invisible_tail,
    })
}

/// `.log.2` positioned at `offset`, checked to be the predecessor `header` names.
fn previous_log(
    dir: &Path,
    nfs: &NfsCache,
    header: &super::log::header::LogHeader,
    offset: u64,
) -> Result<LogFile, IndexError> {
    let path = dir.join(LOG2_NAME);
    let mut prev = open_log(&path, nfs)?;
    if prev.header.indexid != header.indexid || prev.header.file_seq != header.prev_file_seq {
        return Err(corrupted(
            &path,
            "transaction log file",
            &format!(
                "is seq {} of index {:#x}, seq {} of {:#x} was needed",
                prev.header.file_seq, prev.header.indexid, header.prev_file_seq, header.indexid
            ),
        ));
    }
    prev.offset = offset;
    Ok(prev)
}

impl MailboxIndex {
    /// Opens the index in `dir` (the mailbox's `INDEX=` directory). A missing or damaged
    /// index is [`IndexError::NeedsRebuild`].
    pub fn open(dir: &Path, settings: IndexSettings) -> Result<MailboxIndex, IndexError> {
        let nfs = settings.fs.nfs(FileKind::Index);
        let loaded = load(dir, &settings, &nfs)?;
        Ok(MailboxIndex::loaded(dir, settings, nfs, loaded))
    }

    /// Opens the index this process has just created with `indexid` and the snapshot
    /// `created` (still in memory: reading back what was just written would hold it twice).
    /// If another process replaced the index meanwhile, that one is opened.
    pub(crate) fn open_created(
        dir: &Path,
        settings: IndexSettings,
        indexid: u32,
        created: Covered,
    ) -> Result<MailboxIndex, IndexError> {
        let nfs = settings.fs.nfs(FileKind::Index);
        let log = open_log(&dir.join(LOG_NAME), &nfs)?;
        if log.header.indexid != indexid {
            drop(created);
            return MailboxIndex::open(dir, settings);
        }
        let loaded = load_from(dir, &nfs, log, Some(created))?;
        Ok(MailboxIndex::loaded(dir, settings, nfs, loaded))
    }

    fn loaded(dir: &Path, settings: IndexSettings, nfs: NfsCache, loaded: Loaded) -> MailboxIndex {
        MailboxIndex {
            dir: dir.to_path_buf(),
            settings,
            nfs,
            log: loaded.log,
            state: loaded.state,
            snapshot_pos: loaded.snapshot_pos,
            invisible_tail: loaded.invisible_tail,
            changes: Vec::new(),
            cache: CacheState::default(),
            lock_file: None,
        }
    }

    /// The mailbox state as of the last refresh or commit.
    pub fn state(&self) -> &MailboxState {
        &self.state
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> &IndexSettings {
        &self.settings
    }

    /// The index generation (changes when the index is rebuilt).
    pub fn indexid(&self) -> u32 {
        self.log.header.indexid
    }

    /// Where this process has read the log to: (file sequence, offset).
    pub fn log_position(&self) -> (u32, u64) {
        (self.log.header.file_seq, self.log.offset)
    }

    /// Whether a client has used modseqs on this mailbox (`cote.index.modseq` exists): then
    /// every SELECT reports HIGHESTMODSEQ, as Dovecot does once its index tracks modseqs.
    /// (cote's index always keeps modseqs; this is only what clients are shown.)
    pub fn modseq_tracking(&self) -> Result<bool, IndexError> {
        let path = self.dir.join(MODSEQ_TRACKING_NAME);
        self.nfs.flush_attr(&path);
        Ok(ops::stat_if_exists(&path)?.is_some())
    }

    /// Marks the mailbox as one whose modseqs clients use (see
    /// [`modseq_tracking`](Self::modseq_tracking)); it stays so for as long as the index.
    pub fn enable_modseq_tracking(&self) -> Result<(), IndexError> {
        if self.modseq_tracking()? {
            return Ok(());
        }
        FsFile::open_or_create(&self.dir.join(MODSEQ_TRACKING_NAME), &self.settings.perms)?;
        Ok(())
    }

    /// Reads what other writers committed since the last look and returns every change not
    /// yet taken (theirs and this process's own commits, in log order). After an error the
    /// handle must not be used again: drop it (and rebuild on `NeedsRebuild`).
    pub fn refresh(&mut self) -> Result<Vec<Change>, IndexError> {
        match self.read_tail(false) {
            // The log was replaced by another host under our handle: followed below.
            Err(e) if e.is_stale() => log::debug!("{}: {e}", self.dir.display()),
            other => other?,
        }
        if self.log.replaced(&self.nfs)? {
            self.follow_replaced_log()?;
        }
        Ok(self.take_changes())
    }

    /// The records of messages expunged since the last call (see
    /// [`MailboxState::take_retired`]).
    pub fn take_retired(&mut self) -> Vec<super::state::MessageRecord> {
        self.state.take_retired()
    }

    /// The changes collected so far, without reading the log.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    pub(crate) fn read_tail(&mut self, locked: bool) -> Result<(), IndexError> {
        self.invisible_tail = replay(
            &mut self.log,
            &mut self.state,
            &self.nfs,
            locked,
            &mut self.changes,
            None,
        )?;
        Ok(())
    }

    /// The name now points at another log: the next one after a rotation (continue in it)
    /// or a rebuilt index (load it whole and report the difference).
    pub(crate) fn follow_replaced_log(&mut self) -> Result<(), IndexError> {
        // Whatever was committed to the old file before it was rotated; a handle gone stale
        // (the old file was deleted on another host) makes it a full reload.
        let old_read = match self.read_tail(false) {
            Err(e) if e.is_stale() => false,
            other => other.map(|()| true)?,
        };
        let next = open_log(&self.log.path, &self.nfs)?;
        let h = &next.header;
        let continues = old_read
            && h.indexid == self.log.header.indexid
            && h.prev_file_seq == self.log.header.file_seq
            && h.prev_file_offset == self.log.offset
            && h.initial_modseq == self.state.highest_modseq();
        if continues {
            self.log = next;
            self.invisible_tail = 0;
            return self.read_tail(false);
        }
        let loaded = load(&self.dir, &self.settings, &self.nfs)?;
        self.changes.extend(self.state.diff(&loaded.state));
        self.log = loaded.log;
        self.state = loaded.state;
        self.snapshot_pos = loaded.snapshot_pos;
        self.invisible_tail = loaded.invisible_tail;
        Ok(())
    }
}
