//! Waking a dotlock waiter as soon as the lock file changes or disappears (inotify), as
//! Dovecot's `use_io_notify` does. inotify is blind to other NFS/FUSE clients, so every
//! wait still ends after its sleep interval.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

/// How a notified wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// The file changed, vanished meanwhile, or the interval passed.
    Done,
    /// inotify is unusable here: the caller should stop asking and just sleep.
    Unsupported,
}

/// Waits up to `interval` for `path` to change or vanish; returns at once if it is already
/// gone.
pub(super) fn wait_for_change(path: &Path, interval: Duration) -> Wake {
    let Ok(inotify) = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK) else {
        return Wake::Unsupported;
    };
    let flags = AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF;
    match inotify.add_watch(path, flags) {
        Ok(_) => {}
        Err(nix::errno::Errno::ENOENT) => return Wake::Done,
        Err(_) => return Wake::Unsupported,
    }
    let timeout = PollTimeout::try_from(interval).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
    // EINTR or an event: either way the caller re-checks the lock.
    let _ = poll(&mut fds, timeout);
    Wake::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_on_unlink_and_returns_for_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        assert_eq!(wait_for_change(&path, Duration::from_secs(5)), Wake::Done);
        std::fs::write(&path, b"1:h").unwrap();
        let p2 = path.clone();
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::remove_file(p2).unwrap();
        });
        assert_eq!(wait_for_change(&path, Duration::from_secs(20)), Wake::Done);
        remover.join().unwrap();
    }
}
