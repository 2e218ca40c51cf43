//! POSIX record locks on a whole file (`lock_method = fcntl`).
//!
//! Open-file-description locks (`F_OFD_SETLK`, Linux ≥ 3.15) belong to the open file, so two
//! threads (or two opens in one process) exclude each other and closing some other
//! descriptor of the file does not drop the lock. Where the kernel lacks them (probed once),
//! classic `F_SETLK` locks are used, with their per-process hazard: locks of one process
//! never conflict with each other, and closing ANY descriptor of the file releases them all;
//! cote's mail processes are single-threaded per session, which keeps that safe.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use nix::fcntl::{fcntl, FcntlArg};

use super::super::error::{FsError, FsOp, FsResult, LockHolder};
use super::super::file::FsFile;
use super::{proc_locks, record_lock_backoff, timeout_error, LockKind};

/// Whether the kernel has OFD locks; probed on the first lock.
static OFD_LOCKS: OnceLock<bool> = OnceLock::new();

fn ofd_supported(fd: &impl AsFd) -> bool {
    *OFD_LOCKS.get_or_init(|| {
        let mut probe = whole_file(libc::F_WRLCK);
        !matches!(
            fcntl(fd, FcntlArg::F_OFD_GETLK(&mut probe)),
            Err(nix::errno::Errno::EINVAL)
        )
    })
}

fn whole_file(l_type: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: l_type as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

fn lock_type(kind: LockKind) -> libc::c_int {
    match kind {
        LockKind::Shared => libc::F_RDLCK,
        LockKind::Exclusive => libc::F_WRLCK,
    }
}

/// A held whole-file record lock; dropping it unlocks.
#[derive(Debug)]
pub struct RecordLock {
    /// A duplicate of the locked descriptor (same open file description).
    fd: OwnedFd,
    path: PathBuf,
    ofd: bool,
    unlocked: bool,
}

impl RecordLock {
    /// One non-blocking attempt; `Ok(None)` when another holder conflicts.
    pub fn try_lock(file: &FsFile, kind: LockKind) -> FsResult<Option<RecordLock>> {
        let ofd = ofd_supported(&file.file());
        RecordLock::try_lock_owned(file, kind, ofd)
    }

    /// [`try_lock`](Self::try_lock) with the lock's owner chosen by the caller: an
    /// open-file-description lock (`ofd`, fails with EINVAL where the kernel lacks them) or
    /// a classic per-process one (what Dovecot takes), for `coteadm fs-check`'s probes.
    pub fn try_lock_owned(
        file: &FsFile,
        kind: LockKind,
        ofd: bool,
    ) -> FsResult<Option<RecordLock>> {
        let fd = file.file();
        let fl = whole_file(lock_type(kind));
        let result = if ofd {
            fcntl(fd, FcntlArg::F_OFD_SETLK(&fl))
        } else {
            fcntl(fd, FcntlArg::F_SETLK(&fl))
        };
        match result {
            Ok(_) => {}
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EACCES) => return Ok(None),
            Err(e) => return Err(FsError::io(FsOp::Fcntl, file.path(), io::Error::from(e))),
        }
        let dup = fd
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| FsError::io(FsOp::Fcntl, file.path(), e));
        match dup {
            Ok(fd) => Ok(Some(RecordLock {
                fd,
                path: file.path().to_path_buf(),
                ofd,
                unlocked: false,
            })),
            Err(e) => {
                let unlock = whole_file(libc::F_UNLCK);
                let _ = if ofd {
                    fcntl(fd, FcntlArg::F_OFD_SETLK(&unlock))
                } else {
                    fcntl(fd, FcntlArg::F_SETLK(&unlock))
                };
                Err(e)
            }
        }
    }

    /// Tries until `deadline`; on timeout the error names the holder if the kernel tells.
    pub fn wait(file: &FsFile, kind: LockKind, deadline: Instant) -> FsResult<RecordLock> {
        let start = Instant::now();
        let mut backoff = record_lock_backoff();
        loop {
            if let Some(lock) = RecordLock::try_lock(file, kind)? {
                return Ok(lock);
            }
            if Instant::now() >= deadline {
                return Err(timeout_error(file.path(), holder(file, kind), start));
            }
            backoff.sleep(deadline);
        }
    }

    /// The locked file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is an open-file-description lock (else a classic per-process one).
    pub fn is_ofd(&self) -> bool {
        self.ofd
    }

    /// Unlocks now, reporting a failure (dropping unlocks too, logging a failure).
    pub fn unlock(mut self) -> FsResult<()> {
        self.unlock_inner()
    }

    fn unlock_inner(&mut self) -> FsResult<()> {
        if self.unlocked {
            return Ok(());
        }
        self.unlocked = true;
        let fl = whole_file(libc::F_UNLCK);
        let result = if self.ofd {
            fcntl(&self.fd, FcntlArg::F_OFD_SETLK(&fl))
        } else {
            fcntl(&self.fd, FcntlArg::F_SETLK(&fl))
        };
        result
            .map(|_| ())
            .map_err(|e| FsError::io(FsOp::Fcntl, &self.path, io::Error::from(e)))
    }
}

impl Drop for RecordLock {
    fn drop(&mut self) {
        if let Err(e) = self.unlock_inner() {
            log::error!("{e}");
        }
    }
}

/// Whether this kernel has open-file-description locks (probed once, on `file`).
pub fn ofd_locks_supported(file: &FsFile) -> bool {
    ofd_supported(&file.file())
}

/// Whether a record lock held through another open file description (any process, any
/// host on a filesystem that shares locks) conflicts with `kind` on `file`; `None` when
/// the kernel or filesystem cannot tell (`F_OFD_GETLK` fails).
pub fn is_locked(file: &FsFile, kind: LockKind) -> Option<bool> {
    let mut fl = whole_file(lock_type(kind));
    fcntl(file.file(), FcntlArg::F_OFD_GETLK(&mut fl)).ok()?;
    Some(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Who holds a lock conflicting with `kind` on `file`: `F_OFD_GETLK`/`F_GETLK` give a pid
/// for classic locks (-1 for OFD ones); otherwise `/proc/locks` names local holders.
pub fn holder(file: &FsFile, kind: LockKind) -> Option<LockHolder> {
    let fd = file.file();
    let mut fl = whole_file(lock_type(kind));
    let result = if ofd_supported(&fd) {
        fcntl(fd, FcntlArg::F_OFD_GETLK(&mut fl))
    } else {
        fcntl(fd, FcntlArg::F_GETLK(&mut fl))
    };
    if result.is_ok() && fl.l_type != libc::F_UNLCK as libc::c_short && fl.l_pid > 0 {
        return Some(LockHolder {
            pid: Some(fl.l_pid),
            host: None,
        });
    }
    let meta = file.metadata().ok()?;
    proc_locks::holder(meta.dev(), meta.ino(), &["POSIX", "OFDLCK"])
}
