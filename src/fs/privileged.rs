//! `mail_privileged_group`: the mail process keeps that group as its saved gid (see
//! `master::mail_login`), and takes it as its effective gid only for the moment it creates
//! or removes a file in a directory only that group may write: an mbox dotlock in
//! `/var/mail` (`root:mail`, mode 2775 on Debian), as Dovecot does.
//!
//! The switch is process-wide (glibc applies it to every thread); the mail processes that
//! use it do storage work on one thread.

use nix::unistd::{getresgid, setresgid, Gid};

/// Runs `f` with the saved gid as the effective gid, then switches back. `None` (and `f`
/// not run) when there is no other saved gid to switch to, or the switch failed (logged).
pub fn with_privileged_group<T>(f: impl FnOnce() -> T) -> Option<T> {
    let ids = match getresgid() {
        Ok(ids) => ids,
        Err(e) => {
            log::error!("getresgid() failed: {e}");
            return None;
        }
    };
    if ids.saved == ids.effective {
        return None;
    }
    let keep = Gid::from_raw(u32::MAX);
    if let Err(e) = setresgid(keep, ids.saved, keep) {
        log::error!("setegid({}) to the privileged group failed: {e}", ids.saved);
        return None;
    }
    let out = f();
    if let Err(e) = setresgid(keep, ids.effective, keep) {
        // Staying in the privileged group would give every later file its group: stop.
        log::error!(
            "setegid({}) back from the privileged group failed: {e}",
            ids.effective
        );
        std::process::abort();
    }
    Some(out)
}
