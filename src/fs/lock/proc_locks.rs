//! `/proc/locks`: who holds a lock on a local file, when the lock call itself won't say (OFD
//! and flock locks have no pid in `F_GETLK`). Lines look like
//! `3: OFDLCK ADVISORY  WRITE 1234 08:02:5678 0 EOF`; blocked waiters have `->` after the
//! number and are skipped.

use super::super::error::LockHolder;
use super::super::host;

/// The first holder of a `kinds` lock (`POSIX`, `OFDLCK`, `FLOCK`) on the inode `(dev, ino)`.
pub(super) fn holder(dev: u64, ino: u64, kinds: &[&str]) -> Option<LockHolder> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    find(&text, dev, ino, kinds)
}

fn find(text: &str, dev: u64, ino: u64, kinds: &[&str]) -> Option<LockHolder> {
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        libc::major(dev as libc::dev_t),
        libc::minor(dev as libc::dev_t)
    );
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
            host: host::hostname().ok().map(str::to_string),
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
        let h = find(text, dev, 5678, &["POSIX", "OFDLCK"]).unwrap();
        assert_eq!(h.pid, Some(1234));
        assert!(find(text, dev, 5678, &["FLOCK"]).is_none());
        assert_eq!(find(text, dev, 1111, &["FLOCK"]).unwrap().pid, Some(777));
    }
}
