//! `/proc/locks`: who holds a lock on a local file, when the lock call itself won't say (OFD
//! and flock locks have no pid in `F_GETLK`). Lines look like
//! `3: FLOCK  ADVISORY  WRITE 1234 08:02:5678 0 EOF`; blocked waiters have `->` after the
//! number and are skipped. OFD locks show pid -1 there: their holder is found through the
//! `lock:` lines of `/proc/PID/fdinfo/FD` (readable for processes of our own user), only
//! when a wait timed out.

use super::super::error::LockHolder;

/// The first holder of a `kinds` lock (`POSIX`, `OFDLCK`, `FLOCK`) on the inode `(dev, ino)`.
pub(super) fn holder(dev: u64, ino: u64, kinds: &[&str]) -> Option<LockHolder> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let want = inode_key(dev, ino);
    let found = find(&text, &want, kinds)?;
    if found.pid.is_some() {
        return Some(found);
    }
    Some(LockHolder {
        pid: fdinfo_holder(&want),
        ..found
    })
}

/// How /proc/locks names an inode: `MAJOR:MINOR:INODE`, device numbers in hex.
fn inode_key(dev: u64, ino: u64) -> String {
    format!(
        "{:02x}:{:02x}:{ino}",
        libc::major(dev as libc::dev_t),
        libc::minor(dev as libc::dev_t)
    )
}

/// The first process (other than us) with an fd whose fdinfo lists a lock on `want`.
fn fdinfo_holder(want: &str) -> Option<i32> {
    let own = std::process::id() as i32;
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc_entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fdinfo")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(info) = std::fs::read_to_string(fd.path()) else {
                continue;
            };
            if info
                .lines()
                .any(|l| l.starts_with("lock:") && l.split_whitespace().any(|w| w == want))
            {
                return Some(pid);
            }
        }
    }
    None
}

fn find(text: &str, want: &str, kinds: &[&str]) -> Option<LockHolder> {
    text.lines().find_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let kind = fields.next()?;
        if kind == "->" || !kinds.contains(&kind) {
            return None;
        }
        let _advisory = fields.next()?;
        let _access = fields.next()?;
        let pid: i32 = fields.next()?.parse().ok()?;
        if fields.next()? != want {
            return None;
        }
        Some(LockHolder {
            pid: (pid > 0).then_some(pid),
            host: crate::fs::hostname().ok().map(str::to_string),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holders_and_skips_waiters() {
        let dev = libc::makedev(8, 2) as u64;
        let text = "1: -> POSIX  ADVISORY  WRITE 999 08:02:5678 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 777 08:02:1111 0 EOF\n\
                    3: OFDLCK ADVISORY  WRITE 1234 08:02:5678 0 EOF\n";
        let key = inode_key(dev, 5678);
        assert_eq!(key, "08:02:5678");
        let h = find(text, &key, &["POSIX", "OFDLCK"]).unwrap();
        assert_eq!(h.pid, Some(1234));
        assert!(find(text, &key, &["FLOCK"]).is_none());
        let other = inode_key(dev, 1111);
        assert_eq!(find(text, &other, &["FLOCK"]).unwrap().pid, Some(777));
    }
}
