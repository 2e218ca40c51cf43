//! Change notification on directories of this host (inotify), for IDLE: a descriptor that
//! becomes readable when a file is created, removed, renamed or written in a watched
//! directory. inotify sees only what this host's kernel does: other NFS/FUSE clients'
//! changes reach a session through its periodic sync (`mailbox_idle_check_interval`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::error::{FsError, FsOp, FsResult};

/// Watches some directories; readable while events wait to be [drained](Self::drain).
#[derive(Debug)]
pub struct DirWatch {
    inotify: Inotify,
}

impl DirWatch {
    /// Watches `dirs` (each must exist) for entries created, removed, renamed in or out, and
    /// files written.
    pub fn new(dirs: &[&Path]) -> FsResult<DirWatch> {
        Self::watch(dirs, false)
    }

    /// Like [`new`](Self::new), but directories that do not exist (or are not
    /// directories) are skipped.
    pub fn new_existing(dirs: &[&Path]) -> FsResult<DirWatch> {
        Self::watch(dirs, true)
    }

    fn watch(dirs: &[&Path], skip_missing: bool) -> FsResult<DirWatch> {
        let first = dirs.first().copied().unwrap_or(Path::new(""));
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| FsError::io(FsOp::Watch, first, io::Error::from(e)))?;
        let mask = AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_ONLYDIR;
        for dir in dirs {
            match inotify.add_watch(*dir, mask) {
                Ok(_) => {}
                Err(Errno::ENOENT | Errno::ENOTDIR) if skip_missing => {}
                Err(e) => return Err(FsError::io(FsOp::Watch, dir, io::Error::from(e))),
            }
        }
        Ok(DirWatch { inotify })
    }

    /// Reads every event waiting; returns whether there were any. Called before looking at
    /// the directories, so a change made after the look wakes the next wait.
    pub fn drain(&self) -> FsResult<bool> {
        let mut any = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) if events.is_empty() => return Ok(any),
                Ok(_) => any = true,
                Err(Errno::EAGAIN) => return Ok(any),
                Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(FsError::io(
                        FsOp::Watch,
                        Path::new("inotify"),
                        io::Error::from(e),
                    ))
                }
            }
        }
    }
}

impl AsFd for DirWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    fn readable(watch: &DirWatch, millis: u16) -> bool {
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(millis)).unwrap() > 0
    }

    #[test]
    fn readable_after_a_change_until_drained() {
        let dir = tempfile::tempdir().unwrap();
        let (new, cur) = (dir.path().join("new"), dir.path().join("cur"));
        std::fs::create_dir(&new).unwrap();
        std::fs::create_dir(&cur).unwrap();
        let watch = DirWatch::new(&[&new, &cur]).unwrap();
        assert!(!readable(&watch, 0));
        assert!(!watch.drain().unwrap());
        std::fs::write(new.join("1.host"), b"x").unwrap();
        std::fs::rename(new.join("1.host"), cur.join("1.host:2,S")).unwrap();
        // Generous: the event is queued synchronously by the kernel; the wait never ends early
        // for lack of it.
        assert!(readable(&watch, 10_000));
        assert!(watch.drain().unwrap());
        assert!(!readable(&watch, 0));
        // Outside the watched directories: nothing.
        std::fs::write(dir.path().join("other"), b"x").unwrap();
        assert!(!readable(&watch, 0));
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = DirWatch::new(&[&missing]).unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert_eq!(err.path(), Some(missing.as_path()));
    }
}
