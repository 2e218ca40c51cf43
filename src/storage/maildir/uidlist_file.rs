//! `dovecot-uidlist` on disk: read without a lock (incrementally when the file only grew),
//! changed only under `dovecot-uidlist.lock` (Dovecot's dotlock: stale after 120 s, waited
//! for up to 122 s capped by `mail_max_lock_timeout`, touched every 10 s while held), either
//! by appending lines at the end we read or by writing `dovecot-uidlist.tmp` and renaming it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::filename::InfoSeparator;
use super::uidlist::{self, ReadReport, UidList, UidListError, UidListRecord};
use super::MaildirError;
use crate::fs::{
    estale, ops, AtomicFile, CreatePerms, DotLock, DotLockSettings, FileKind, FsError, FsFile,
    FsOp, FsPolicy, SyncPoint, TempName,
};

/// Dovecot's `MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT`.
pub const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a writer waits for the lock: the stale timeout plus 2 s.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(122);
/// How often a held lock is touched (`MAILDIR_LOCK_TOUCH_SECS`).
pub const LOCK_TOUCH_INTERVAL: Duration = Duration::from_secs(10);
/// Dovecot's `MAILDIR_DELETE_RETRY_COUNT`: tries to recreate a missing control directory.
const DELETE_RETRY_COUNT: usize = 3;
/// Re-reads after ESTALE (`NFS_ESTALE_RETRY_COUNT`).
const ESTALE_RETRY_COUNT: u32 = 10;

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// Same file, same size: nothing new.
    Unchanged,
    /// New lines (or a new file) were read.
    Read(ReadReport),
    /// There is no uidlist (a new mailbox, or one that lost it).
    Missing,
    /// The file was broken; as Dovecot does, it was logged and deleted so that it is rebuilt.
    Broken(UidListError),
}

/// The uidlist of one mailbox and what was last read of it.
#[derive(Debug)]
pub struct UidListFile {
    path: PathBuf,
    mailbox_dir: PathBuf,
    policy: FsPolicy,
    list: UidList,
    /// The file read, and how many bytes of it were read.
    read: Option<ReadFile>,
    /// Lines read so far (the next line's number is this plus one).
    lines_read: usize,
}

/// The uidlist file last read, kept open as Dovecot keeps its fd: while it is open its inode
/// number cannot go to another file (ext4 gives a freed number to the next file created in
/// the directory, so every other rewrite would otherwise bring the same number back), and the
/// same (dev, inode) under the name means the same file, which may only have grown.
#[derive(Debug)]
struct ReadFile {
    file: FsFile,
    dev: u64,
    ino: u64,
    /// Bytes of it read (or written) so far.
    len: u64,
}

impl ReadFile {
    fn is(&self, st: &std::fs::Metadata) -> bool {
        self.dev == st.dev() && self.ino == st.ino()
    }
}

/// The held `dovecot-uidlist.lock`. Dropping it releases it.
#[derive(Debug)]
pub struct UidListLock {
    lock: DotLock,
    touched: Instant,
}

impl UidListLock {
    /// Refreshes the lock's mtime when 10 s passed since the last touch, so that other
    /// processes do not take it for stale during a long operation.
    pub fn touch_if_due(&mut self) -> Result<(), MaildirError> {
        if self.touched.elapsed() >= LOCK_TOUCH_INTERVAL {
            self.lock.touch()?;
            self.touched = Instant::now();
        }
        Ok(())
    }

    /// Releases the lock, failing if someone deleted or overrode it meanwhile.
    pub fn release(self) -> Result<(), MaildirError> {
        self.lock.release_checked().map_err(MaildirError::from)
    }
}

impl UidListFile {
    /// The uidlist in `control_dir` of the mailbox at `mailbox_dir` (the same directory
    /// unless `CONTROL=` is set), whose file names use the info separator `sep`.
    pub fn new(
        mailbox_dir: &Path,
        control_dir: &Path,
        policy: &FsPolicy,
        sep: InfoSeparator,
    ) -> UidListFile {
        UidListFile {
            path: control_dir.join(uidlist::FILE_NAME),
            mailbox_dir: mailbox_dir.to_path_buf(),
            policy: policy.clone(),
            list: UidList::new(sep),
            read: None,
            lines_read: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was read (and changed since).
    pub fn list(&self) -> &UidList {
        &self.list
    }

    /// Brings the in-memory list up to date with the file.
    pub fn refresh(&mut self) -> Result<Refresh, MaildirError> {
        self.refresh_as(false)
    }

    /// [`UidListFile::refresh`]; `locked`: under our lock, where what is read decides the
    /// UIDs we write, so on a shared mount the name is looked up afresh (another host may
    /// have renamed a new file over it) and the file read to the server's length.
    fn refresh_as(&mut self, locked: bool) -> Result<Refresh, MaildirError> {
        let nfs = self.policy.nfs(FileKind::Storage);
        if locked {
            nfs.flush_dir_handles(&self.path);
        }
        nfs.flush_attr(&self.path);
        let mut incremental = true;
        for attempt in 1.. {
            let (file, st) = match self.open_current() {
                Ok(Some(opened)) => opened,
                Ok(None) => {
                    self.read = None;
                    self.lines_read = 0;
                    return Ok(Refresh::Missing);
                }
                Err(e) if e.is_stale() && attempt < ESTALE_RETRY_COUNT => {
                    std::thread::sleep(estale::pause_after(attempt));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let len = match locked {
                true => {
                    let fresh = nfs.fresh_metadata(&file)?;
                    // The name still led to a file another host has since renamed a new one
                    // over (its cached entry): look the name up again, never take the old
                    // file's contents for the list we write UIDs after.
                    if fresh.nlink() == 0 {
                        if attempt >= ESTALE_RETRY_COUNT {
                            // Better refused than UIDs given after a list that is not the
                            // file's any more.
                            let stale = std::io::Error::from_raw_os_error(libc::ESTALE);
                            return Err(FsError::io(FsOp::Fstat, &self.path, stale).into());
                        }
                        nfs.flush_dir_handles(&self.path);
                        std::thread::sleep(estale::pause_after(attempt));
                        continue;
                    }
                    fresh.len()
                }
                false => st.len(),
            };
            let grown_from = match &self.read {
                Some(read) if read.is(&st) && !nfs.held_file_gone(&read.file) => {
                    if len == read.len {
                        return Ok(Refresh::Unchanged);
                    }
                    (len > read.len).then_some(read.len)
                }
                _ => None,
            };
            let from = grown_from.filter(|_| incremental);
            let data = match nfs.read_to(&file, from.unwrap_or(0), len) {
                Err(e) if e.is_stale() && attempt < ESTALE_RETRY_COUNT => {
                    std::thread::sleep(estale::pause_after(attempt));
                    continue;
                }
                other => other?,
            };
            match self.parse(&data, from, file, &st) {
                Err(error) if from.is_some() => {
                    log::error!(
                        "Broken or unexpectedly changed file {} line {}: {} - re-reading from beginning",
                        self.path.display(),
                        error.line,
                        error.corruption
                    );
                    incremental = false;
                }
                Err(error) => {
                    log::error!(
                        "Broken file {} line {}: {}",
                        self.path.display(),
                        error.line,
                        error.corruption
                    );
                    ops::unlink_if_exists(&self.path)?;
                    self.read = None;
                    self.lines_read = 0;
                    return Ok(Refresh::Broken(error));
                }
                Ok(report) => return Ok(Refresh::Read(report)),
            }
        }
        unreachable!("the retry loop returns")
    }

    /// The file the name stands for now, open, with its attributes; `None` when missing.
    fn open_current(&self) -> crate::fs::FsResult<Option<(FsFile, std::fs::Metadata)>> {
        let file = match FsFile::open_read(&self.path) {
            Ok(file) => file,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let st = file.metadata()?;
        Ok(Some((file, st)))
    }

    /// Takes in `data`: the whole file, or what follows `from` when it only grew.
    fn parse(
        &mut self,
        data: &[u8],
        from: Option<u64>,
        file: FsFile,
        st: &std::fs::Metadata,
    ) -> Result<ReadReport, uidlist::UidListError> {
        let report = match from {
            Some(_) => self.list.read_appended(data, self.lines_read + 1),
            None => self.list.read_full(data),
        }?;
        let consumed = &data[..report.read_offset];
        let lines = consumed.iter().filter(|&&c| c == b'\n').count();
        self.lines_read = if from.is_some() {
            self.lines_read + lines
        } else {
            lines
        };
        let offset = from.unwrap_or(0);
        self.read = Some(ReadFile {
            file,
            dev: st.dev(),
            ino: st.ino(),
            len: offset + report.read_offset as u64,
        });
        for w in &report.warnings {
            log::warn!("{}: {w:?}", self.path.display());
        }
        Ok(report)
    }

    fn lock_settings(&self) -> DotLockSettings {
        DotLockSettings::new(
            &self.policy,
            FileKind::Storage,
            LOCK_TIMEOUT,
            LOCK_STALE_TIMEOUT,
        )
    }

    /// Takes the lock (waiting as Dovecot does) and refreshes under it.
    pub fn lock(&mut self) -> Result<(UidListLock, Refresh), MaildirError> {
        let lock = self.with_control_dir(DotLock::acquire)?;
        self.locked(lock)
    }

    /// Takes the lock only if it is free now; `None` when someone holds it.
    pub fn try_lock(&mut self) -> Result<Option<(UidListLock, Refresh)>, MaildirError> {
        match self.with_control_dir(DotLock::try_acquire)? {
            Some(lock) => self.locked(lock).map(Some),
            None => Ok(None),
        }
    }

    fn locked(&mut self, lock: DotLock) -> Result<(UidListLock, Refresh), MaildirError> {
        let lock = UidListLock {
            lock,
            touched: Instant::now(),
        };
        let refresh = self.refresh_as(true)?;
        Ok((lock, refresh))
    }

    /// Runs a lock attempt; a missing control directory is created (with the mailbox's
    /// permissions) unless the mailbox itself is gone.
    fn with_control_dir<T>(
        &self,
        attempt: impl Fn(&Path, &DotLockSettings) -> crate::fs::FsResult<T>,
    ) -> Result<T, MaildirError> {
        let set = self.lock_settings();
        for i in 0.. {
            match attempt(&self.path, &set) {
                Err(e) if e.is_not_found() && i < DELETE_RETRY_COUNT => {
                    self.create_control_dir()?
                }
                other => return other.map_err(MaildirError::from),
            }
        }
        unreachable!("the retry loop returns")
    }

    fn create_control_dir(&self) -> Result<(), MaildirError> {
        let Some(perms) = CreatePerms::from_path(&self.mailbox_dir)? else {
            return Err(MaildirError::MailboxDeleted(self.mailbox_dir.clone()));
        };
        if let Some(dir) = self.path.parent() {
            ops::mkdir_parents(dir, &perms)?;
        }
        Ok(())
    }

    /// Gives UIDs to new files (names as found in `new/` or `cur/`) and writes them: appended,
    /// or the whole file when Dovecot's rules want a rewrite. A mailbox without a uidlist
    /// gets one with the UIDVALIDITY `new_uid_validity` gives (and a new GUID).
    pub fn add_files(
        &mut self,
        lock: &mut UidListLock,
        names: Vec<Vec<u8>>,
        new_uid_validity: impl FnOnce() -> u32,
    ) -> Result<Vec<UidListRecord>, MaildirError> {
        if self.list.header().is_none() {
            self.list = UidList::create(self.list.separator(), new_uid_validity(), new_guid());
        }
        let added = self
            .list
            .assign_uids(names)
            .map_err(|_| MaildirError::UidsExhausted(self.path.clone()))?;
        if !added.is_empty() || self.read.is_none() {
            self.write(lock, &added)?;
        }
        Ok(added)
    }

    /// See [`UidList::raise_next_uid`].
    pub fn raise_next_uid(&mut self, next_uid: u32) {
        self.list.raise_next_uid(next_uid);
    }

    /// Replaces the list (e.g. one [`UidList::restore`]d from the index) and writes it
    /// whole.
    pub fn restore(&mut self, lock: &mut UidListLock, list: UidList) -> Result<(), MaildirError> {
        self.list = list;
        self.rewrite(lock)
    }

    /// Forgets expunged messages; the file is rewritten when Dovecot's compress rule says so
    /// (their lines stay until then).
    pub fn expunge(&mut self, lock: &mut UidListLock, uids: &[u32]) -> Result<(), MaildirError> {
        for &uid in uids {
            self.list.remove(uid);
        }
        if self.list.wants_compress(0) {
            self.rewrite(lock)?;
        }
        Ok(())
    }

    /// Gives a list without a mailbox GUID a new one and rewrites it (Dovecot's
    /// `maildir_uidlist_get_mailbox_guid`); returns the GUID. `None`: no uidlist yet.
    pub fn ensure_guid(
        &mut self,
        lock: &mut UidListLock,
    ) -> Result<Option<[u8; 16]>, MaildirError> {
        if self.list.header().is_none() {
            return Ok(None);
        }
        if let Some(guid) = self.list.guid() {
            return Ok(Some(guid));
        }
        let guid = new_guid();
        self.list.set_guid(guid);
        self.rewrite(lock)?;
        Ok(Some(guid))
    }

    /// Sets a record extension (`W` size, `G` GUID, ...): existing lines change only by a
    /// rewrite, which this does.
    pub fn set_extension(
        &mut self,
        lock: &mut UidListLock,
        uid: u32,
        key: u8,
        value: Option<&[u8]>,
    ) -> Result<bool, MaildirError> {
        if !self.list.set_extension(uid, key, value) {
            return Ok(false);
        }
        self.rewrite(lock)?;
        Ok(true)
    }

    /// Sets extension `key` of several records with one rewrite; records that are gone are
    /// skipped. Returns how many were set.
    pub fn set_extensions(
        &mut self,
        lock: &mut UidListLock,
        key: u8,
        values: &[(u32, &[u8])],
    ) -> Result<usize, MaildirError> {
        let set = values
            .iter()
            .filter(|(uid, value)| self.list.set_extension(*uid, key, Some(value)))
            .count();
        if set > 0 {
            self.rewrite(lock)?;
        }
        Ok(set)
    }

    /// Appends `added` (already in the list), or rewrites when a rewrite is due.
    fn write(
        &mut self,
        lock: &mut UidListLock,
        added: &[UidListRecord],
    ) -> Result<(), MaildirError> {
        if self.read.is_none()
            || self.list.rewrite_reason().is_some()
            || self.list.wants_compress(added.len())
        {
            return self.rewrite(lock);
        }
        lock.touch_if_due()?;
        // A stale handle (a file system that cached the name of the file we replaced last
        // time): write the whole list anew, which we may since we hold the lock and read
        // it under the lock.
        let opened = FsFile::open_rw(&self.path).and_then(|f| f.metadata().map(|st| (f, st)));
        let (file, st) = match opened {
            Ok(v) => v,
            Err(e) if e.is_stale() => return self.rewrite(lock),
            Err(e) => return Err(e.into()),
        };
        if self.read.as_ref().is_none_or(|read| !read.is(&st)) {
            // Replaced since our refresh under the lock: only a lock override does that.
            return Err(MaildirError::LockOverridden(self.path.clone()));
        }
        // Write at the end as the server has it (a cached size would put our lines over
        // another host's), never with O_APPEND (torn across hosts); we hold the lock, so it
        // stays the end.
        let data = self.list.append_bytes(added);
        let nfs = self.policy.nfs(FileKind::Storage);
        let end = nfs.fresh_len(&file)?;
        file.write_all_at(&data, end)?;
        file.sync(&self.policy, SyncPoint::Durable)?;
        let after = nfs.fresh_metadata(&file)?;
        if after.len() != end + data.len() as u64 {
            log::warn!(
                "{}: file size changed unexpectedly after write",
                self.path.display()
            );
            self.read = None;
        } else {
            self.read = Some(ReadFile {
                file,
                dev: after.dev(),
                ino: after.ino(),
                len: after.len(),
            });
            self.lines_read += added.len();
        }
        self.list.mark_appended(added.len());
        Ok(())
    }

    /// Writes the whole file as `dovecot-uidlist.tmp` and renames it over the uidlist.
    pub fn rewrite(&mut self, lock: &mut UidListLock) -> Result<(), MaildirError> {
        lock.touch_if_due()?;
        if self.list.header().is_none() {
            return Ok(());
        }
        let perms = CreatePerms::from_path(&self.mailbox_dir)?
            .ok_or_else(|| MaildirError::MailboxDeleted(self.mailbox_dir.clone()))?;
        self.list.mark_rewritten();
        let data = self.list.full_bytes();
        let mut tmp = AtomicFile::create(
            &self.path,
            TempName::Fixed(format!("{}.tmp", uidlist::FILE_NAME).into()),
            &perms,
            &self.policy,
        )?;
        tmp.write_all(&data)?;
        crate::storage::crash::point("uidlist-rewrite-written");
        if !lock.lock.is_ours()? {
            return Err(MaildirError::LockOverridden(self.path.clone()));
        }
        let meta = tmp.commit()?;
        self.lines_read = data.iter().filter(|&&c| c == b'\n').count();
        // Reopened to be held (the temp file is closed before its rename, for CIFS); we
        // hold the lock, so the name is still our file. Not held: the next refresh reads
        // the whole file.
        self.read = match FsFile::open_read(&self.path).and_then(|f| Ok((f.metadata()?, f))) {
            Ok((st, file)) if st.dev() == meta.dev() && st.ino() == meta.ino() => Some(ReadFile {
                file,
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
            }),
            Ok(_) | Err(_) => None,
        };
        Ok(())
    }
}

/// A new 128-bit mailbox GUID: random bytes from the kernel, or (should getrandom() fail)
/// time, pid and a counter, which is what Dovecot's GUIDs are made of.
pub fn new_guid() -> [u8; 16] {
    let mut guid = [0u8; 16];
    // SAFETY: the pointer and length describe `guid`.
    let n = unsafe { libc::getrandom(guid.as_mut_ptr().cast(), guid.len(), 0) };
    if n == guid.len() as isize {
        return guid;
    }
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    guid[..8].copy_from_slice(&now.as_nanos().to_le_bytes()[..8]);
    guid[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    guid[12..].copy_from_slice(&count.to_le_bytes());
    guid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, UidListFile) {
        let dir = tempfile::tempdir().unwrap();
        let policy = FsPolicy::dovecot_defaults();
        let file = UidListFile::new(dir.path(), dir.path(), &policy, InfoSeparator::DOVECOT);
        (dir, file)
    }

    fn names(n: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        n.map(|i| format!("17000000{i:02}.M1P1.h,S=1,W=2").into_bytes())
            .collect()
    }

    #[test]
    fn create_append_and_reread() {
        let (dir, mut file) = setup();
        assert_eq!(file.refresh().unwrap(), Refresh::Missing);
        let (mut lock, _) = file.lock().unwrap();
        assert!(dir.path().join("dovecot-uidlist.lock").exists());
        let added = file.add_files(&mut lock, names(0..3), || 1234).unwrap();
        assert_eq!(
            added.iter().map(|r| r.uid).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        let added = file
            .add_files(&mut lock, names(3..5), || unreachable!())
            .unwrap();
        assert_eq!(added.iter().map(|r| r.uid).collect::<Vec<_>>(), vec![4, 5]);
        lock.release().unwrap();
        assert!(!dir.path().join("dovecot-uidlist.lock").exists());
        let text = std::fs::read_to_string(dir.path().join("dovecot-uidlist")).unwrap();
        assert!(text.starts_with("3 V1234 N4 G"), "{text}");
        assert!(text.ends_with("4 :1700000003.M1P1.h,S=1,W=2\n5 :1700000004.M1P1.h,S=1,W=2\n"));
        // another reader sees it all, then only what was appended
        let policy = FsPolicy::dovecot_defaults();
        let mut other = UidListFile::new(dir.path(), dir.path(), &policy, InfoSeparator::DOVECOT);
        assert!(matches!(other.refresh().unwrap(), Refresh::Read(_)));
        assert_eq!(other.list().next_uid(), 6);
        assert_eq!(other.refresh().unwrap(), Refresh::Unchanged);
        let (mut lock, _) = file.lock().unwrap();
        file.add_files(&mut lock, names(5..6), || 0).unwrap();
        drop(lock);
        assert!(matches!(other.refresh().unwrap(), Refresh::Read(_)));
        assert_eq!(other.list().uid_of(b"1700000005.M1P1.h,S=1,W=2"), Some(6));
    }

    /// A reader that saw one version must see every later one, even when a rewrite gives the
    /// file the same size and the inode number of the version it read (ext4 hands the freed
    /// number back to the next rewrite's temp file).
    #[test]
    fn rewrites_of_the_same_size_are_seen() {
        let (dir, mut writer) = setup();
        let (mut lock, _) = writer.lock().unwrap();
        writer.add_files(&mut lock, names(0..4), || 9).unwrap();
        let policy = FsPolicy::dovecot_defaults();
        let mut reader = UidListFile::new(dir.path(), dir.path(), &policy, InfoSeparator::DOVECOT);
        for round in 0..6u8 {
            let value = [b'a' + round; 4];
            writer
                .set_extension(&mut lock, 2, b'P', Some(&value))
                .unwrap();
            if round % 2 == 1 {
                continue;
            }
            reader.refresh().unwrap();
            let seen = reader.list().get(2).and_then(|r| r.extension(b'P'));
            assert_eq!(seen, Some(&value[..]), "round {round}");
        }
    }

    #[test]
    fn expunges_compress_the_file() {
        let (dir, mut file) = setup();
        let (mut lock, _) = file.lock().unwrap();
        file.add_files(&mut lock, names(0..8), || 7).unwrap();
        file.expunge(&mut lock, &[1]).unwrap();
        let lines = |d: &Path| {
            std::fs::read_to_string(d.join("dovecot-uidlist"))
                .unwrap()
                .lines()
                .count()
        };
        assert_eq!(lines(dir.path()), 9);
        file.expunge(&mut lock, &[2]).unwrap();
        assert_eq!(lines(dir.path()), 7);
        assert!(!dir.path().join("dovecot-uidlist.tmp").exists());
    }

    #[test]
    fn broken_file_is_removed() {
        let (dir, mut file) = setup();
        std::fs::write(dir.path().join("dovecot-uidlist"), b"3 V1 N1\n2 :a\n1 :b\n").unwrap();
        match file.refresh().unwrap() {
            Refresh::Broken(e) => assert_eq!(e.line, 3),
            other => panic!("{other:?}"),
        }
        assert!(!dir.path().join("dovecot-uidlist").exists());
    }

    #[test]
    fn lock_waits_for_another_holder() {
        let (dir, mut file) = setup();
        let policy = FsPolicy::dovecot_defaults();
        let mut other = UidListFile::new(dir.path(), dir.path(), &policy, InfoSeparator::DOVECOT);
        let (held, _) = other.lock().unwrap();
        assert!(file.try_lock().unwrap().is_none());
        held.release().unwrap();
        assert!(file.try_lock().unwrap().is_some());
    }

    #[test]
    fn missing_control_dir_is_created_unless_the_mailbox_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let policy = FsPolicy::dovecot_defaults();
        let control = dir.path().join("ctl/.a");
        let mut file = UidListFile::new(dir.path(), &control, &policy, InfoSeparator::DOVECOT);
        let (lock, _) = file.lock().unwrap();
        assert!(control.is_dir());
        drop(lock);
        let mut gone = UidListFile::new(
            &dir.path().join("nope"),
            &dir.path().join("ctl2"),
            &policy,
            InfoSeparator::DOVECOT,
        );
        assert!(matches!(gone.lock(), Err(MaildirError::MailboxDeleted(_))));
    }
}
