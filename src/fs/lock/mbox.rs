//! The lock set an mbox file is read or written under, as `mbox_read_locks` and
//! `mbox_write_locks` list it: `dotlock`, `dotlock_try`, `fcntl`, `flock`, `lockf`, taken in
//! the order given, all within one deadline (`mbox_lock_timeout`, capped by
//! `mail_max_lock_timeout`), released in reverse order.
//!
//! Only the first lock of an attempt is waited for. A later one that is busy is not waited
//! for while the others are held (Dovecot does, and deadlocks until the dotlock goes stale,
//! two minutes, with a program that takes the same locks in the other order: procmail with
//! a `:0:` lockfile takes the dotlock and then waits for fcntl, while Debian's default
//! takes fcntl and then the dotlock). Everything is released, and the next attempt waits
//! for the lock that was busy first, then tries the rest in the order given.
//!
//! - `dotlock`: `<mbox>.lock`, Dovecot's algorithm, overridden once neither it nor the mbox
//!   changed for `mbox_dotlock_change_timeout`. Exclusive even in a read set. Where the
//!   directory refuses us (`/var/mail`), created and removed as `mail_privileged_group`
//!   (`crate::fs::privileged`).
//! - `dotlock_try`: the same, but a directory where we may not create it (EACCES, or no
//!   space) skips it instead of failing.
//! - `fcntl`: a classic per-process POSIX record lock, the kind the MTA and mail readers
//!   take (an open-file-description lock would conflict with our own `lockf`). Its hazard:
//!   closing ANY descriptor of the mbox in this process drops it, so the mbox is opened once,
//!   here, and read and written through [`MboxLock::file`] while the lock is held.
//! - `flock`: BSD `flock()` on the same descriptor (not through a duplicate, whose closing
//!   would drop the fcntl locks).
//! - `lockf`: what glibc's `lockf(F_TLOCK)` on offset 0 is, an exclusive classic record
//!   lock over the whole file (lockf has no shared mode, so it is exclusive in a read set
//!   too, as in Dovecot).
//!
//! The file is opened at the first record lock (or after all dotlocks), and once every
//! lock is held the path must still name the opened file: a file another program replaced
//! while we waited is locked afresh (Dovecot's "open latest").

use std::path::Path;
use std::time::{Duration, Instant};

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use super::super::error::{FsError, FsOp, FsResult};
use super::super::file::FsFile;
use super::super::policy::{FileKind, FsPolicy};
use super::super::privileged::with_privileged_group;
use super::dotlock::{DotLock, DotLockSettings};
use super::fcntl::RecordLock;
use super::{deadline_after, record_lock_backoff, timeout_error, LockKind};

/// One entry of `mbox_read_locks` / `mbox_write_locks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MboxLockMethod {
    Dotlock,
    DotlockTry,
    Fcntl,
    Flock,
    Lockf,
}

impl MboxLockMethod {
    pub fn name(self) -> &'static str {
        match self {
            MboxLockMethod::Dotlock => "dotlock",
            MboxLockMethod::DotlockTry => "dotlock_try",
            MboxLockMethod::Fcntl => "fcntl",
            MboxLockMethod::Flock => "flock",
            MboxLockMethod::Lockf => "lockf",
        }
    }

    /// A space-separated list, as Dovecot reads it: names in any case, no duplicates.
    /// `setting` names the setting in the error.
    pub fn parse_list(setting: &str, value: &str) -> Result<Vec<MboxLockMethod>, String> {
        const ALL: [MboxLockMethod; 5] = [
            MboxLockMethod::Dotlock,
            MboxLockMethod::DotlockTry,
            MboxLockMethod::Fcntl,
            MboxLockMethod::Flock,
            MboxLockMethod::Lockf,
        ];
        let mut out = Vec::new();
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let method = ALL
                .into_iter()
                .find(|m| m.name().eq_ignore_ascii_case(word))
                .ok_or_else(|| format!("{setting}: Invalid value {word}"))?;
            if out.contains(&method) {
                return Err(format!("{setting}: Duplicated value {word}"));
            }
            out.push(method);
        }
        Ok(out)
    }
}

/// `mbox_read_locks`, `mbox_write_locks`, `mbox_lock_timeout`,
/// `mbox_dotlock_change_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxLockSettings {
    pub read_locks: Vec<MboxLockMethod>,
    pub write_locks: Vec<MboxLockMethod>,
    pub lock_timeout: Duration,
    pub dotlock_change_timeout: Duration,
}

impl MboxLockSettings {
    /// The settings of a loaded configuration; a bad lock list is an error naming the
    /// setting (Dovecot refuses to start on it).
    pub fn from_settings(
        settings: &crate::config::Settings<'_>,
    ) -> Result<MboxLockSettings, String> {
        Ok(MboxLockSettings {
            read_locks: MboxLockMethod::parse_list(
                "mbox_read_locks",
                settings.str("mbox_read_locks"),
            )?,
            write_locks: MboxLockMethod::parse_list(
                "mbox_write_locks",
                settings.str("mbox_write_locks"),
            )?,
            lock_timeout: settings.time("mbox_lock_timeout"),
            dotlock_change_timeout: settings.time("mbox_dotlock_change_timeout"),
        })
    }

    /// The list a lock of `kind` takes: the read list for `Shared`, the write list for
    /// `Exclusive`.
    pub fn methods(&self, kind: LockKind) -> &[MboxLockMethod] {
        match kind {
            LockKind::Shared => &self.read_locks,
            LockKind::Exclusive => &self.write_locks,
        }
    }

    /// The defaults of Debian's Dovecot 2.3 (what `doveconf -a` shows, and cote's
    /// configuration defaults): read `fcntl`, write `fcntl dotlock` (Debian Policy's order;
    /// upstream writes `dotlock fcntl`), 5 min, 2 min.
    pub fn dovecot_defaults() -> MboxLockSettings {
        MboxLockSettings {
            read_locks: vec![MboxLockMethod::Fcntl],
            write_locks: vec![MboxLockMethod::Fcntl, MboxLockMethod::Dotlock],
            lock_timeout: Duration::from_secs(300),
            dotlock_change_timeout: Duration::from_secs(120),
        }
    }
}

/// One held lock of the set.
#[derive(Debug)]
enum Held {
    /// `true`: created as `mail_privileged_group`, and removed as it.
    Dotlock(DotLock, bool),
    Record(RecordLock),
    /// `flock()` on [`MboxLock::file`] itself.
    Flock,
}

/// An mbox file locked by every method of its lock list, and the descriptor to use while
/// holding it. Dropping it releases everything (logging failures); [`MboxLock::release`]
/// reports them.
#[derive(Debug)]
pub struct MboxLock {
    // Field order matters on drop: the locks go before the file is closed.
    held: Vec<Held>,
    kind: LockKind,
    file: FsFile,
}

impl MboxLock {
    /// Locks `path` for reading (`Shared`, the read list) or writing (`Exclusive`, the
    /// write list), opening it read-only or read-write. Fails with
    /// [`FsError::LockTimeout`] once the deadline passes; nothing stays locked then.
    pub fn acquire(
        policy: &FsPolicy,
        settings: &MboxLockSettings,
        path: &Path,
        kind: LockKind,
    ) -> FsResult<MboxLock> {
        let start = Instant::now();
        let deadline = deadline_after(policy.lock_timeout(settings.lock_timeout));
        loop {
            let lock = MboxLock::acquire_once(policy, settings, path, kind, deadline, start)?;
            // A file replaced (renamed over) while we waited: lock the new one instead.
            let opened = lock.file.metadata()?;
            let current = super::super::ops::stat(path)?;
            if (opened.dev(), opened.ino()) == (current.dev(), current.ino()) {
                return Ok(lock);
            }
            lock.release()?;
            if Instant::now() >= deadline {
                return Err(timeout_error(path, None, start));
            }
        }
    }

    fn acquire_once(
        policy: &FsPolicy,
        settings: &MboxLockSettings,
        path: &Path,
        kind: LockKind,
        deadline: Instant,
        start: Instant,
    ) -> FsResult<MboxLock> {
        let mut first = 0;
        // (between attempts: two locks that other programs take turns holding would
        // otherwise have us spin)
        let mut backoff = record_lock_backoff();
        loop {
            match Self::attempt(policy, settings, path, kind, first, deadline, start)? {
                Ok(lock) => return Ok(lock),
                Err(busy) => {
                    if Instant::now() >= deadline {
                        return Err(timeout_error(path, None, start));
                    }
                    log::debug!(
                        "{}: {} busy while holding other mbox locks: released them to wait \
                         for it first",
                        path.display(),
                        settings.methods(kind)[busy].name()
                    );
                    first = busy;
                    backoff.sleep(deadline);
                }
            }
        }
    }

    /// One attempt: waits for `methods[first]`, then tries the others in their order.
    /// `Ok(Err(i))`: `methods[i]` was busy, and everything taken was released.
    fn attempt(
        policy: &FsPolicy,
        settings: &MboxLockSettings,
        path: &Path,
        kind: LockKind,
        first: usize,
        deadline: Instant,
        start: Instant,
    ) -> FsResult<Result<MboxLock, usize>> {
        let methods = settings.methods(kind);
        // (an empty list — `mbox_read_locks =` — takes no lock at all)
        let order = std::iter::once(first)
            .chain((0..methods.len()).filter(|&i| i != first))
            .filter(|&i| i < methods.len());
        let mut held = Vec::with_capacity(methods.len());
        let mut file = None;
        for i in order {
            let method = methods[i];
            let wait = i == first;
            let got = match method {
                MboxLockMethod::Dotlock | MboxLockMethod::DotlockTry => {
                    let dot = DotLockSettings::new(
                        policy,
                        FileKind::Storage,
                        deadline.saturating_duration_since(Instant::now()),
                        settings.dotlock_change_timeout,
                    );
                    match take_dotlock(path, &dot, wait) {
                        Ok(got) => got.map(|(lock, privileged)| Held::Dotlock(lock, privileged)),
                        Err(e)
                            if method == MboxLockMethod::DotlockTry
                                && (e.is_permission() || e.is_no_space()) =>
                        {
                            log::debug!("{}: dotlock_try skipped: {e}", path.display());
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                MboxLockMethod::Fcntl | MboxLockMethod::Lockf | MboxLockMethod::Flock => {
                    let f = match &file {
                        Some(f) => f,
                        None => file.insert(open(path, kind, methods)?),
                    };
                    if wait {
                        Some(wait_record(f, method, kind, deadline, start)?)
                    } else {
                        try_record(f, method, kind)?
                    }
                }
            };
            match got {
                Some(h) => held.push(h),
                None => {
                    drop_held(&mut held, path, file.as_ref());
                    return Ok(Err(i));
                }
            }
        }
        let file = match file {
            Some(f) => f,
            None => open(path, kind, methods)?,
        };
        // With NFS flushing, a dotlock alone does not revalidate cached data; a record or
        // flock lock did already (and no flush may run then: its lock-and-close would drop
        // our classic fcntl locks).
        let record_locked = held.iter().any(|h| !matches!(h, Held::Dotlock(..)));
        policy
            .nfs(FileKind::Storage)
            .flush_read_cache(&file, record_locked);
        Ok(Ok(MboxLock { held, kind, file }))
    }

    /// The mbox, opened after the dotlocks were taken; read and write only through it.
    pub fn file(&self) -> &FsFile {
        &self.file
    }

    pub fn kind(&self) -> LockKind {
        self.kind
    }

    /// Refreshes the dotlocks' mtime, so a long rewrite is not taken for a stale lock.
    pub fn touch(&mut self) -> FsResult<()> {
        for h in &mut self.held {
            if let Held::Dotlock(d, _) = h {
                d.touch()?;
            }
        }
        Ok(())
    }

    /// Releases everything in reverse order; the first failure is returned (a dotlock
    /// that was overridden meanwhile is [`FsError::LockLost`]), the rest are still released.
    pub fn release(mut self) -> FsResult<()> {
        let mut result = Ok(());
        while let Some(h) = self.held.pop() {
            let r = match h {
                Held::Dotlock(d, true) => with_privileged_group(|| d.release_checked())
                    .unwrap_or_else(|| {
                        Err(FsError::Invalid {
                            path: self.file.path().to_path_buf(),
                            reason: "can't switch to mail_privileged_group to remove the \
                                     dotlock"
                                .into(),
                        })
                    }),
                Held::Dotlock(d, false) => d.release_checked(),
                Held::Record(r) => r.unlock(),
                Held::Flock => unflock(&self.file),
            };
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

impl Drop for MboxLock {
    fn drop(&mut self) {
        drop_held(&mut self.held, self.file.path(), Some(&self.file));
    }
}

/// Releases `held` in reverse order, logging failures (each lock's own Drop logs its own).
fn drop_held(held: &mut Vec<Held>, path: &Path, file: Option<&FsFile>) {
    while let Some(h) = held.pop() {
        match h {
            Held::Flock => {
                if let Some(Err(e)) = file.map(unflock) {
                    log::error!("{e}");
                }
            }
            Held::Dotlock(d, true) => {
                let removed = with_privileged_group(|| drop(d));
                if removed.is_none() {
                    log::error!(
                        "{}: can't switch to mail_privileged_group to remove the dotlock",
                        path.display()
                    );
                }
            }
            _ => {}
        }
    }
}

/// The dotlock of `path`, waited for (`wait`) or tried once; `true` with it when it was
/// created as `mail_privileged_group` (a directory only that group may write: `/var/mail`).
fn take_dotlock(
    path: &Path,
    set: &DotLockSettings,
    wait: bool,
) -> FsResult<Option<(DotLock, bool)>> {
    let take = || {
        if wait {
            DotLock::acquire(path, set).map(Some)
        } else {
            DotLock::try_acquire(path, set)
        }
    };
    match take() {
        Err(e) if e.is_permission() => match with_privileged_group(take) {
            Some(r) => r.map(|l| l.map(|l| (l, true))),
            None => Err(e),
        },
        r => r.map(|l| l.map(|l| (l, false))),
    }
}

/// One fcntl, lockf or flock lock, not waited for: `None` when busy.
fn try_record(file: &FsFile, method: MboxLockMethod, kind: LockKind) -> FsResult<Option<Held>> {
    Ok(match method {
        MboxLockMethod::Flock => try_flock(file, kind)?.then_some(Held::Flock),
        MboxLockMethod::Lockf => {
            RecordLock::try_lock_owned(file, LockKind::Exclusive, false)?.map(Held::Record)
        }
        _ => RecordLock::try_lock_owned(file, kind, false)?.map(Held::Record),
    })
}

/// Read-only for a read set, unless it holds `lockf` (an exclusive record lock needs a
/// descriptor open for writing).
fn open(path: &Path, kind: LockKind, methods: &[MboxLockMethod]) -> FsResult<FsFile> {
    if kind == LockKind::Exclusive || methods.contains(&MboxLockMethod::Lockf) {
        FsFile::open_rw(path)
    } else {
        FsFile::open_read(path)
    }
}

/// One non-blocking `flock()` on the mbox's own descriptor. (The flock module's locks hold
/// a duplicate descriptor, and closing one after a failed attempt would drop this process's
/// fcntl locks on the file.)
fn try_flock(file: &FsFile, kind: LockKind) -> FsResult<bool> {
    let op = match kind {
        LockKind::Shared => libc::LOCK_SH,
        LockKind::Exclusive => libc::LOCK_EX,
    };
    // SAFETY: flock on a descriptor we own for the duration of the call.
    let r = unsafe { libc::flock(file.file().as_raw_fd(), op | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(FsError::io(FsOp::Flock, file.path(), e))
}

fn unflock(file: &FsFile) -> FsResult<()> {
    // SAFETY: flock on a descriptor we own for the duration of the call.
    let r = unsafe { libc::flock(file.file().as_raw_fd(), libc::LOCK_UN) };
    if r == 0 {
        Ok(())
    } else {
        Err(FsError::io(
            FsOp::Flock,
            file.path(),
            std::io::Error::last_os_error(),
        ))
    }
}

/// Waits for one fcntl, lockf or flock lock until `deadline`.
fn wait_record(
    file: &FsFile,
    method: MboxLockMethod,
    kind: LockKind,
    deadline: Instant,
    start: Instant,
) -> FsResult<Held> {
    let mut backoff = record_lock_backoff();
    loop {
        if let Some(h) = try_record(file, method, kind)? {
            return Ok(h);
        }
        if Instant::now() >= deadline {
            let holder = super::fcntl::holder(file, kind);
            return Err(timeout_error(file.path(), holder, start));
        }
        backoff.sleep(deadline);
    }
}

#[cfg(test)]
#[path = "mbox_tests.rs"]
mod tests;
