//! One open `cote.index.log` file: its header, how far it has been read, and positioned
//! reads and writes through the fs layer.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::frame::{scan, Scan};
use super::header::{LogHeader, LOG_HEADER_LEN};
use crate::fs::{FsError, FsFile, FsPolicy, NfsCache, SyncPoint, STALE_DATA_WAIT};
use crate::index::error::IndexError;
use crate::index::settings::TestHooks;

/// Between reads of a log that looked damaged on a shared mount.
const STALE_DAMAGE_PAUSE: Duration = Duration::from_millis(200);

/// An open log file.
#[derive(Debug)]
pub(crate) struct LogFile {
    pub path: PathBuf,
    pub file: FsFile,
    pub header: LogHeader,
    /// Where the next unread transaction starts (the end of the last one read).
    pub offset: u64,
    dev: u64,
    ino: u64,
}

/// Why a log file could not be opened.
pub(crate) enum LogOpenError {
    Missing,
    /// The file exists but its header is not a valid cote log header.
    BadHeader(String),
    Fs(FsError),
}

impl LogFile {
    /// Opens `path` for reading and writing (read-only when writing is not permitted: writes
    /// then fail when they lock), and checks its header.
    pub fn open(path: &Path, nfs: &NfsCache) -> Result<LogFile, LogOpenError> {
        nfs.flush_attr(path);
        let file = match FsFile::open_rw(path) {
            Err(e) if e.is_permission() => FsFile::open_read(path),
            other => other,
        };
        let file = match file {
            Ok(file) => file,
            Err(e) if e.is_not_found() => return Err(LogOpenError::Missing),
            Err(e) => return Err(LogOpenError::Fs(e)),
        };
        let mut head = [0u8; LOG_HEADER_LEN];
        let n = file.read_full_at(&mut head, 0).map_err(LogOpenError::Fs)?;
        let header = LogHeader::decode(&head[..n]).map_err(|e| LogOpenError::BadHeader(e.0))?;
        let meta = file.metadata().map_err(LogOpenError::Fs)?;
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            header,
            offset: LOG_HEADER_LEN as u64,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Whether `path` now names another file than the one open (rotated or recreated).
    pub fn replaced(&self, nfs: &NfsCache) -> Result<bool, IndexError> {
        nfs.flush_dir_handles(&self.path);
        nfs.flush_attr(&self.path);
        match crate::fs::ops::stat_if_exists(&self.path)? {
            Some(meta) => Ok(meta.dev() != self.dev
                || meta.ino() != self.ino
                || nfs.held_file_gone(&self.file)),
            None => Ok(true),
        }
    }

    /// Reads the transactions after `offset` (without moving it). `locked`: the caller holds
    /// the log lock, which already revalidated cached data on NFS; on a shared mount the
    /// server's length is then read whole (another host's transactions must not hide in a
    /// stale cache where our write would overwrite them). A damaged frame on a shared mount
    /// is read again after dropping the cached pages until [`STALE_DATA_WAIT`]: stale pages
    /// look like damage, and rebuilding an index for them would restart its modseqs.
    pub fn read_new(&self, nfs: &NfsCache, locked: bool) -> Result<Read, IndexError> {
        nfs.flush_read_cache(&self.file, locked);
        let started = Instant::now();
        loop {
            let len = if locked {
                nfs.fresh_len(&self.file)?
            } else {
                self.file.metadata()?.len()
            };
            if len < self.offset {
                return Ok(Read::Shrunk { len });
            }
            let bytes = nfs.read_to(&self.file, self.offset, len)?;
            match scan(&bytes, self.offset) {
                Ok(scan) => return Ok(Read::Scanned(scan)),
                Err(_) if nfs.enabled() && started.elapsed() < STALE_DATA_WAIT => {
                    self.file.drop_cached_pages();
                    std::thread::sleep(STALE_DAMAGE_PAUSE);
                }
                Err(damage) => {
                    return Ok(Read::Damaged {
                        offset: damage.offset,
                        reason: damage.reason,
                    })
                }
            }
        }
    }

    /// Writes an encoded transaction at `self.offset` (the end of the last valid one),
    /// first cutting off `invisible_tail` bytes of an earlier, incomplete write; syncs per
    /// `mail_fsync` and moves `offset` past it. The caller holds the log lock.
    pub fn write_transaction(
        &mut self,
        bytes: &[u8],
        invisible_tail: u64,
        policy: &FsPolicy,
        hooks: &TestHooks,
    ) -> Result<(), IndexError> {
        if invisible_tail > 0 {
            log::warn!(
                "Transaction log {}: discarding {invisible_tail} bytes of an incomplete transaction at offset {}",
                self.path.display(),
                self.offset
            );
            self.file.set_len(self.offset)?;
        }
        match hooks.pause_mid_write {
            Some(pause) => {
                let half = bytes.len() / 2;
                self.file.write_all_at(&bytes[..half], self.offset)?;
                self.file.sync_data_now()?;
                std::thread::sleep(pause);
                self.file
                    .write_all_at(&bytes[half..], self.offset + half as u64)?;
            }
            None => self.file.write_all_at(bytes, self.offset)?,
        }
        self.file.sync(policy, SyncPoint::Transaction)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// The log's age in seconds by its header's creation time.
    pub fn age_secs(&self, now_secs: u64) -> u64 {
        now_secs.saturating_sub(self.header.create_time)
    }
}

/// What reading new log bytes found.
pub(crate) enum Read {
    Scanned(Scan),
    /// A frame that cannot be valid, followed by valid data.
    Damaged {
        offset: u64,
        reason: String,
    },
    /// The file is shorter than what was already read from it.
    Shrunk {
        len: u64,
    },
}
