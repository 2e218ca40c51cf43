//! One acquisition attempt (Dovecot's `lock_info`): watching the lock for changes, deciding
//! when it is stale, overriding it, and creating it.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{liveness, DotLockSettings};
use crate::fs::error::{FsResult, LockHolder};
use crate::fs::file::FsFile;
use crate::fs::lock::fcntl::RecordLock;
use crate::fs::lock::notify::{self, Wake};
use crate::fs::nfs::NfsCache;
use crate::fs::ops;
use crate::fs::perms::{process_umask, CreatePerms};
use crate::fs::random;

/// A lock younger than this is not checked for a dead holder (it most likely lives).
const STALE_PID_CHECK_SECS: i64 = 2;

/// (inode, dev, size, mtime, ctime) of a file as last seen; `ctime == 0`: never seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ChangeInfo {
    dev: u64,
    ino: u64,
    size: u64,
    ctime: i64,
    mtime: i64,
}

impl ChangeInfo {
    /// Folds `st` in; returns whether anything changed, moving `last_change` forward.
    pub(super) fn update(
        &mut self,
        st: &Metadata,
        last_change: &mut i64,
        now: i64,
        check_ctime: bool,
    ) -> bool {
        let changed = self.ino != st.ino()
            || self.dev != st.dev()
            || (check_ctime && self.ctime != st.ctime())
            || self.mtime != st.mtime()
            || self.size != st.size();
        if !changed {
            return false;
        }
        let change_time = if self.ctime == 0 {
            // First look: the file's own change time. The mtime if it is newer but not in
            // the future (the mtime may carry metadata), else the ctime.
            if st.mtime() <= now && (st.mtime() > st.ctime() || !check_ctime) {
                st.mtime()
            } else {
                st.ctime()
            }
        } else {
            now
        };
        *last_change = (*last_change).max(change_time);
        *self = ChangeInfo {
            dev: st.dev(),
            ino: st.ino(),
            size: st.size(),
            ctime: st.ctime(),
            mtime: st.mtime(),
        };
        true
    }
}

/// State of one acquisition attempt (Dovecot's `lock_info`).
pub(super) struct Attempt<'a> {
    set: &'a DotLockSettings,
    path: &'a Path,
    pub(super) lock_path: PathBuf,
    pub(super) dir: PathBuf,
    nfs: NfsCache,
    lock_info: ChangeInfo,
    file_info: ChangeInfo,
    pub(super) last_change: i64,
    last_pid_check: i64,
    have_pid: bool,
    pid_read: bool,
    /// The lock's content carries the liveness mark ([`liveness`]).
    marked: bool,
    lock_stated: bool,
    use_notify: bool,
    /// The created lock (or, in link mode, our temp file until it is linked).
    pub(super) fd: Option<FsFile>,
    /// The record lock on it that tells waiters on other hosts we live ([`liveness`]).
    pub(super) live: Option<RecordLock>,
    temp_path: Option<PathBuf>,
    /// Mode and group of a replace-mode lock (which becomes the protected file).
    perms: Option<&'a CreatePerms>,
}

/// Whether the lock is there (and must be waited for) or gone (try to create it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Presence {
    Held,
    Absent,
}

impl<'a> Attempt<'a> {
    pub(super) fn new(
        path: &'a Path,
        set: &'a DotLockSettings,
        perms: Option<&'a CreatePerms>,
    ) -> Self {
        let lock_path = set.lock_path(path);
        let dir = match lock_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Attempt {
            set,
            path,
            lock_path,
            dir,
            nfs: NfsCache::new(set.nfs_flush),
            lock_info: ChangeInfo::default(),
            file_info: ChangeInfo::default(),
            last_change: 0,
            last_pid_check: 0,
            have_pid: false,
            pid_read: false,
            marked: false,
            lock_stated: false,
            use_notify: set.use_notify,
            fd: None,
            live: None,
            temp_path: None,
            perms,
        }
    }

    /// lstat()s the lock: `None` if it is gone, else whether it changed.
    fn update_lock_info(&mut self, now: i64) -> FsResult<Option<bool>> {
        // The first look needs no flush: if it is stale we are back here soon.
        if self.set.nfs_flush && self.lock_stated {
            self.nfs.flush_dir_handles(&self.lock_path);
            self.nfs.flush_attr(&self.lock_path);
        }
        self.lock_stated = true;
        let Some(st) = ops::lstat_if_exists(&self.lock_path)? else {
            return Ok(None);
        };
        Ok(Some(self.lock_info.update(
            &st,
            &mut self.last_change,
            now,
            !self.set.nfs_flush,
        )))
    }

    /// One look at the lock (Dovecot's `check_lock`); overrides it when its holder is dead
    /// or it is stale.
    pub(super) fn check(&mut self, now: i64) -> FsResult<Presence> {
        let Some(changed) = self.update_lock_info(now)? else {
            return Ok(Presence::Absent);
        };
        let mut pid = None;
        if changed || !self.pid_read {
            // New lock (or first look): a very young one surely has a live holder.
            self.marked = false;
            if self.lock_info.mtime >= now - STALE_PID_CHECK_SECS {
                self.pid_read = false;
            } else {
                let seen = read_holder(&self.lock_path);
                pid = seen.local_pid;
                self.marked = seen.marked;
                self.pid_read = true;
            }
            self.have_pid = pid.is_some();
        } else if self.have_pid {
            if self.last_pid_check == now {
                return Ok(Presence::Held);
            }
            // Same times and inode, but the content may still have changed if locks are
            // recreated quickly.
            pid = read_holder(&self.lock_path).local_pid;
            self.have_pid = pid.is_some();
        }
        if let Some(pid) = pid {
            self.last_pid_check = now;
            let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                .map_or_else(|e| e != nix::errno::Errno::ESRCH, |()| true);
            if alive && pid != std::process::id() as i32 {
                return Ok(Presence::Held);
            }
            // Dead (or ours, left over): override unless it changed meanwhile.
            return self.override_unless_changed(now);
        }
        // Another host's lock: a cote holder keeps a record lock on it while it lives.
        if self.marked && self.last_pid_check != now {
            self.last_pid_check = now;
            if self.marked_holder_dead()? {
                return self.override_unless_changed(now);
            }
        }
        let stale = self.set.stale_timeout.as_secs() as i64;
        if stale == 0 {
            return Ok(Presence::Held);
        }
        if now > self.last_change + stale {
            // Maybe stale: the protected file's changes count too.
            if self.set.nfs_flush {
                self.nfs.flush_dir_handles(self.path);
                self.nfs.flush_attr_maybe_locked(self.path);
            }
            if let Some(st) = ops::stat_if_exists(self.path)? {
                self.file_info
                    .update(&st, &mut self.last_change, now, !self.set.nfs_flush);
            }
        }
        if now > self.last_change + stale {
            return self.override_lock();
        }
        Ok(Presence::Held)
    }

    /// A dead holder's lock is overridden, unless it changed since we looked (then it is
    /// someone else's, and a new look decides).
    fn override_unless_changed(&mut self, now: i64) -> FsResult<Presence> {
        match self.update_lock_info(now)? {
            None => Ok(Presence::Absent),
            Some(false) => self.override_lock(),
            Some(true) => Ok(Presence::Absent),
        }
    }

    /// Whether the holder of a lock marked as kept under a record lock is gone: nobody holds
    /// that record lock any more.
    fn marked_holder_dead(&self) -> FsResult<bool> {
        let file = match FsFile::open_read(&self.lock_path) {
            Ok(file) => file,
            // Gone already: the next look sees it absent.
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(liveness::holder_alive(&file) == Some(false))
    }

    fn override_lock(&mut self) -> FsResult<Presence> {
        ops::unlink_if_exists(&self.lock_path)?;
        // With notify, every waiter wakes at once: pause so that another overrider does not
        // delete the lock we are about to create.
        if self.use_notify {
            std::thread::sleep(random::between(
                Duration::from_millis(100),
                Duration::from_millis(200),
            ));
        }
        Ok(Presence::Held)
    }

    /// Tries to create the lock; `Ok(false)` when someone else got there first.
    pub(super) fn try_create(&mut self, write_pid: bool, now: i64) -> FsResult<bool> {
        if self.set.use_excl {
            self.try_create_excl(write_pid)
        } else {
            self.try_create_link(write_pid, now)
        }
    }

    fn lock_perms(&self) -> CreatePerms {
        match self.perms {
            Some(perms) => perms.clone(),
            None => CreatePerms {
                file_mode: 0o666 & !process_umask(),
                ..CreatePerms::default()
            },
        }
    }

    fn try_create_excl(&mut self, write_pid: bool) -> FsResult<bool> {
        let perms = self.lock_perms();
        let created = if write_pid {
            // The pid goes in with the name: a holder killed right after creating the lock
            // must not leave an empty one that only the stale timeout clears.
            let host = crate::fs::hostname()?;
            let live = &mut self.live;
            FsFile::create_excl_filled(
                &self.lock_path,
                &perms,
                &mut |file| holder_content(file, host, live),
                self.set.nfs_flush,
            )
        } else {
            FsFile::create_excl(&self.lock_path, &perms)
        };
        let file = match created {
            Ok(file) => file,
            Err(e) if e.is_exists() => return Ok(false),
            Err(e) => return Err(e),
        };
        self.fd = Some(file);
        Ok(true)
    }

    fn try_create_link(&mut self, write_pid: bool, now: i64) -> FsResult<bool> {
        match &self.temp_path {
            None => {
                let temp = self.temp_name()?;
                let perms = self.lock_perms();
                let file = if write_pid {
                    let host = crate::fs::hostname()?;
                    let live = &mut self.live;
                    FsFile::create_excl_filled(
                        &temp,
                        &perms,
                        &mut |file| holder_content(file, host, live),
                        self.set.nfs_flush,
                    )?
                } else {
                    FsFile::create_excl(&temp, &perms)?
                };
                self.fd = Some(file);
                self.temp_path = Some(temp);
            }
            Some(temp) => {
                // Waiting a while: keep our temp file from looking abandoned.
                if let Some(file) = &self.fd {
                    if file.metadata()?.ctime() < now {
                        if let Err(e) = ops::utime(temp, None) {
                            log::error!("{e}");
                        }
                    }
                }
            }
        }
        let Some(temp) = self.temp_path.clone() else {
            return Ok(false);
        };
        match link_counting(&temp, &self.lock_path) {
            Ok(()) => {}
            Err(e) if e.is_exists() => return Ok(false),
            Err(e) => return Err(e),
        }
        if let Err(e) = ops::unlink(&temp) {
            log::error!("{e}");
        }
        self.temp_path = None;
        Ok(true)
    }

    fn temp_name(&self) -> FsResult<PathBuf> {
        let prefix = match &self.set.temp_prefix {
            Some(prefix) if prefix.starts_with('/') => PathBuf::from(prefix),
            Some(prefix) => self.dir.join(prefix),
            // Temp names never hold ':' (CIFS refuses it), whatever the host is called.
            None => self.dir.join(
                format!(".temp.{}.{}.", crate::fs::hostname()?, std::process::id())
                    .replace(':', "_"),
            ),
        };
        let mut name = prefix.into_os_string();
        name.push(random::hex(16));
        Ok(PathBuf::from(name))
    }

    /// Sleeps before the next check: until the lock changes (inotify) or `interval` ends.
    pub(super) fn wait(&mut self, interval: Duration) {
        if self.use_notify {
            match notify::wait_for_change(&self.lock_path, interval) {
                Wake::Done => return,
                Wake::Unsupported => self.use_notify = false,
            }
        }
        std::thread::sleep(interval);
    }

    /// Who holds the lock now, from its content.
    pub(super) fn holder(&self) -> Option<LockHolder> {
        let content = ops::read_file(&self.lock_path).ok()?;
        parse_content(&content)
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp_path {
            if let Err(e) = ops::unlink(temp) {
                log::error!("{e}");
            }
        }
    }
}

/// `link(temp, lock)` where `temp` has exactly one link: an EEXIST whose temp file now has
/// two links was our own link with a lost reply.
fn link_counting(temp: &Path, lock: &Path) -> FsResult<()> {
    match ops::link(temp, lock, false) {
        Err(e) if e.is_exists() => {
            if ops::stat(temp)?.nlink() > 1 {
                Ok(())
            } else {
                Err(e)
            }
        }
        other => other,
    }
}

/// A new lock's content, `<pid>:<host>` (with the liveness mark when the record lock on
/// `file` could be taken: kept in `live` while the lock is ours).
fn holder_content(file: &FsFile, host: &str, live: &mut Option<RecordLock>) -> Vec<u8> {
    *live = liveness::hold(file);
    liveness::content(std::process::id(), host, live.is_some()).into_bytes()
}

/// `pid:host` of a lock's content (its first line; a trailing newline tolerated).
pub(super) fn parse_content(content: &[u8]) -> Option<LockHolder> {
    let text = std::str::from_utf8(content.get(..content.len().min(511))?).ok()?;
    let first = text.split('\n').next().unwrap_or(text);
    let (pid, host) = first.split_once(':')?;
    Some(LockHolder {
        pid: pid.parse().ok().filter(|p: &i32| *p > 0),
        host: Some(host.to_string()),
    })
}

/// What a lock's content tells a waiter.
#[derive(Debug, Default, PartialEq, Eq)]
struct SeenHolder {
    /// The holder's pid, if its host is ours.
    local_pid: Option<i32>,
    /// The holder keeps a record lock on the lock file ([`liveness`]).
    marked: bool,
}

fn read_holder(lock_path: &Path) -> SeenHolder {
    let Ok(content) = ops::read_file(lock_path) else {
        return SeenHolder::default();
    };
    let marked =
        std::str::from_utf8(&content).is_ok_and(|text| text.lines().nth(1) == Some(liveness::MARK));
    let ours = crate::fs::hostname().ok();
    let local_pid = parse_content(&content)
        .filter(|holder| ours.is_some() && holder.host.as_deref() == ours)
        .and_then(|holder| holder.pid);
    SeenHolder { local_pid, marked }
}
