//! `cote.index.cache` on disk: reading a message's fields through the offsets the index
//! holds, appending records under the short cache lock, and purging (rewriting compactly
//! under the log lock, with a new reset id logged so stale offsets are ignored).
//!
//! Caching is best effort: a record that does not check out is dropped (logged once), a
//! write that does not fit `mail_cache_max_size` or `mail_cache_record_max_size` is skipped,
//! and nothing the mailbox holds depends on the cache.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::{check_field_name, CacheHeader, CacheRecord, CACHE_HEADER_LEN};
use crate::fs::{
    AtomicFile, FileKind, FileLock, FsFile, LockKind, LockRequest, NfsCache, SyncPoint, TempName,
};
use crate::index::error::IndexError;
use crate::index::mailbox::MailboxIndex;
use crate::index::settings::{CACHE_LOCK_STALE_TIMEOUT, CACHE_LOCK_TIMEOUT, CACHE_NAME};
use crate::index::transaction::IndexTransaction;

/// The most records followed for one message (newest first).
const MAX_CHAIN: usize = 32;
/// The first read of a record: its header and the fields of a typical record (sizes,
/// dates, searched headers, ENVELOPE), so one `pread` serves most.
const RECORD_FIRST_READ: usize = 1024;

/// Fields of one message: (name, value) pairs.
pub type Fields = Vec<(String, Vec<u8>)>;

/// An open cache file of a known generation.
#[derive(Debug)]
pub(crate) struct CacheFile {
    path: PathBuf,
    file: FsFile,
    header: CacheHeader,
    dev: u64,
    ino: u64,
}

/// The cache side of a [`MailboxIndex`].
#[derive(Debug, Default)]
pub(crate) struct CacheState {
    file: Option<CacheFile>,
    /// Offsets of damaged records already logged.
    logged: HashSet<u32>,
}

/// What [`MailboxIndex::cache_fields`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheWrite {
    /// Messages whose fields were written.
    pub written: usize,
    /// Messages skipped: gone, record over `mail_cache_record_max_size`, or no room under
    /// `mail_cache_max_size` even after a purge.
    pub skipped: usize,
}

impl CacheFile {
    fn open(path: &Path, nfs: &NfsCache) -> Result<Option<CacheFile>, IndexError> {
        nfs.flush_attr(path);
        let file = match FsFile::open_rw(path) {
            Ok(file) => file,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut head = [0u8; CACHE_HEADER_LEN];
        let n = file.read_full_at(&mut head, 0)?;
        let header = match CacheHeader::decode(&head[..n]) {
            Ok(h) => h,
            Err(why) => {
                log::error!("Corrupted cache file {}: {why} (not used)", path.display());
                return Ok(None);
            }
        };
        let meta = file.metadata()?;
        Ok(Some(CacheFile {
            path: path.to_path_buf(),
            file,
            header,
            dev: meta.dev(),
            ino: meta.ino(),
        }))
    }

    fn read_record(
        &self,
        offset: u32,
        uid: u32,
    ) -> Result<Result<CacheRecord, String>, IndexError> {
        // One read takes the record's header and, for most records, all of it.
        let mut head = [0u8; RECORD_FIRST_READ];
        let n = self.file.read_full_at(&mut head, u64::from(offset))?;
        let len = match CacheRecord::declared_len(&head[..n]) {
            Ok(len) => len,
            Err(why) => return Ok(Err(why.0)),
        };
        if len <= n {
            return Ok(CacheRecord::decode(&head[..len], offset, uid).map_err(|why| why.0));
        }
        // A damaged length must not drive a big allocation: it cannot pass the file's end.
        let file_len = self.file.metadata()?.len();
        if u64::from(offset) + len as u64 > file_len {
            return Ok(Err(format!(
                "record of {len} bytes passes the end of the file"
            )));
        }
        let mut buf = vec![0u8; len];
        let n = self.file.read_full_at(&mut buf, u64::from(offset))?;
        Ok(CacheRecord::decode(&buf[..n], offset, uid).map_err(|why| why.0))
    }

    fn replaced(&self, nfs: &NfsCache) -> Result<bool, IndexError> {
        nfs.flush_dir_handles(&self.path);
        match crate::fs::ops::stat_if_exists(&self.path)? {
            Some(meta) => Ok(meta.dev() != self.dev
                || meta.ino() != self.ino
                || nfs.held_file_gone(&self.file)),
            None => Ok(true),
        }
    }
}

fn cache_lock_request() -> LockRequest {
    LockRequest {
        kind: LockKind::Exclusive,
        timeout: CACHE_LOCK_TIMEOUT,
        stale_timeout: CACHE_LOCK_STALE_TIMEOUT,
    }
}

impl MailboxIndex {
    /// The cache file of the state's generation, opened (again) if needed; `None` when
    /// there is none.
    fn cache_file(&mut self) -> Result<Option<&CacheFile>, IndexError> {
        let (indexid, reset_id) = (self.indexid(), self.state.cache_reset_id());
        let current = |f: &CacheFile| f.header.indexid == indexid && f.header.reset_id == reset_id;
        if !self.cache.file.as_ref().is_some_and(current) {
            let opened = CacheFile::open(&self.dir.join(CACHE_NAME), &self.nfs)?;
            self.cache.file = opened.filter(current);
        }
        Ok(self.cache.file.as_ref())
    }

    /// The cached fields of message `uid`, the newest value of each name; empty when nothing
    /// is cached. Damaged records are dropped (logged once).
    pub fn cached_fields(&mut self, uid: u32) -> Result<Fields, IndexError> {
        match self.state.message(uid).map(|m| m.cache_offset) {
            Some(offset) => self.cached_fields_at(uid, offset, true),
            None => Ok(Vec::new()),
        }
    }

    /// The cached fields of a message the state no longer has (one just expunged, from
    /// [`take_retired`](MailboxIndex::take_retired)), while the cache file still holds them.
    /// A record that does not read back is not logged: the cache may have been purged
    /// since the message's offset was recorded.
    pub fn retired_cached_fields(
        &mut self,
        retired: &crate::index::state::MessageRecord,
    ) -> Result<Fields, IndexError> {
        self.cached_fields_at(retired.uid, retired.cache_offset, false)
    }

    fn cached_fields_at(
        &mut self,
        uid: u32,
        mut offset: u32,
        log_damage: bool,
    ) -> Result<Fields, IndexError> {
        let mut fields: Fields = Vec::new();
        if offset == 0 {
            return Ok(fields);
        }
        let Some(cache) = self.cache_file()? else {
            return Ok(fields);
        };
        let path = cache.path.clone();
        let mut damaged = Vec::new();
        for _ in 0..MAX_CHAIN {
            match cache.read_record(offset, uid)? {
                Ok(record) => {
                    for (name, value) in record.fields {
                        if !fields.iter().any(|(n, _)| *n == name) {
                            fields.push((name, value));
                        }
                    }
                    offset = record.prev_offset;
                }
                Err(why) => {
                    damaged.push((offset, why));
                    break;
                }
            }
            if offset == 0 {
                break;
            }
        }
        for (offset, why) in damaged {
            if log_damage && self.cache.logged.insert(offset) {
                log::error!(
                    "Corrupted cache record uid={uid} in {} at offset {offset}: {why} (dropped)",
                    path.display()
                );
            }
        }
        Ok(fields)
    }

    /// Caches fields for several messages: one write under the cache lock, then one log
    /// commit recording where each message's new record is. Fields already cached stay
    /// reachable through the new record's link to the previous one.
    pub fn cache_fields(&mut self, entries: &[(u32, Fields)]) -> Result<CacheWrite, IndexError> {
        let mut result = CacheWrite::default();
        for (_, fields) in entries {
            for (name, _) in fields {
                check_field_name(name).map_err(|why| IndexError::Invalid(why.0))?;
            }
        }
        if self.cache_file()?.is_none() {
            self.purge_cache()?;
        }
        for attempt in 0..2 {
            match self.append_cache_records(entries)? {
                Some(write) => return Ok(write),
                // No room: compact once, then try again.
                None if attempt == 0 => self.purge_cache()?,
                None => {}
            }
        }
        result.skipped = entries.len();
        Ok(result)
    }

    /// Appends the records; `None` when they do not fit under `mail_cache_max_size`.
    fn append_cache_records(
        &mut self,
        entries: &[(u32, Fields)],
    ) -> Result<Option<CacheWrite>, IndexError> {
        let mut result = CacheWrite::default();
        let max_record = usize::try_from(self.settings.cache_record_max_size).unwrap_or(usize::MAX);
        let mut records = Vec::new();
        for (uid, fields) in entries {
            let Some(m) = self.state.message(*uid) else {
                result.skipped += 1;
                continue;
            };
            let record = CacheRecord {
                uid: *uid,
                prev_offset: m.cache_offset,
                fields: fields.clone(),
            };
            if fields.is_empty() || record.encoded_len() > max_record {
                result.skipped += 1;
                continue;
            }
            records.push(record);
        }
        if records.is_empty() {
            return Ok(Some(result));
        }
        let policy = self.settings.fs.clone();
        let nfs = self.nfs;
        let max_size = self.settings.cache_max_size;
        let Some(cache) = self.cache_file()? else {
            result.skipped += records.len();
            return Ok(Some(result));
        };
        let lock = FileLock::acquire(&policy, FileKind::Index, &cache.file, cache_lock_request())?;
        if cache.replaced(&nfs)? {
            // Purged meanwhile: these offsets would belong to the old generation.
            lock.release()?;
            result.skipped += records.len();
            return Ok(Some(result));
        }
        let end = cache.file.metadata()?.len();
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for record in &records {
            let offset = end + bytes.len() as u64;
            offsets.push((record.uid, offset));
            bytes.extend(record.encode());
        }
        if end + bytes.len() as u64 > max_size || end + bytes.len() as u64 > u64::from(u32::MAX) {
            lock.release()?;
            return Ok(None);
        }
        cache.file.write_all_at(&bytes, end)?;
        cache.file.sync(&policy, SyncPoint::Transaction)?;
        lock.release()?;
        let reset_id = cache.header.reset_id;
        let mut tx = IndexTransaction::new();
        for (uid, offset) in offsets {
            tx.set_cache_offset(reset_id, uid, offset as u32);
        }
        self.commit(&tx)?;
        result.written += records.len();
        Ok(Some(result))
    }

    /// Rewrites the cache with one record per message (the live fields only) as a new
    /// generation, under the log lock; the log's `CacheReset` makes every process drop
    /// offsets into the old file.
    pub fn purge_cache(&mut self) -> Result<(), IndexError> {
        let mut live: Vec<(u32, Fields)> = Vec::new();
        // Fields are read before the lock (reads take no lock); what changes meanwhile is
        // at worst not carried over, which a cache may do.
        let uids: Vec<u32> = self
            .state
            .messages()
            .iter()
            .filter(|m| m.cache_offset != 0)
            .map(|m| m.uid)
            .collect();
        for uid in uids {
            let fields = self.cached_fields(uid)?;
            if !fields.is_empty() {
                live.push((uid, fields));
            }
        }
        let path = self.dir.join(CACHE_NAME);
        let settings = self.settings.clone();
        let mut locked = self.lock()?;
        let state = locked.state();
        let reset_id = state.cache_reset_id().wrapping_add(1).max(1);
        let header = CacheHeader {
            indexid: locked.index().indexid(),
            reset_id,
            create_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let mut bytes = header.encode();
        let mut tx = IndexTransaction::new();
        tx.reset_cache(reset_id);
        for (uid, fields) in live {
            if state.message(uid).is_none() {
                continue;
            }
            let record = CacheRecord {
                uid,
                prev_offset: 0,
                fields,
            };
            if bytes.len() + record.encoded_len()
                > usize::try_from(settings.cache_max_size).unwrap_or(usize::MAX)
            {
                break;
            }
            tx.set_cache_offset(reset_id, uid, bytes.len() as u32);
            bytes.extend(record.encode());
        }
        let mut file = AtomicFile::create(&path, TempName::Unique, &settings.perms, &settings.fs)?;
        file.write_all(&bytes)?;
        file.commit()?;
        locked.commit(&tx)?;
        locked.unlock()?;
        self.cache.file = None;
        Ok(())
    }
}
