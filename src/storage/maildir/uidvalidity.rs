//! The UIDVALIDITY generator (`dovecot-uidvalidity` in the control root), race-free across
//! processes and hosts without a lock: whoever renames `dovecot-uidvalidity.<v>` to
//! `.<v+1>` owns `v+1` (Dovecot's `mailbox_uidvalidity_next()`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fs::{ops, CreatePerms, FsFile, FsResult};

/// The file's name in the control root.
pub const FILE_NAME: &str = "dovecot-uidvalidity";
/// Renames tried before giving up on the fast path.
const RETRY_COUNT: usize = 10;

/// The value in the main file: its first 8 bytes as hex, not 0.
pub fn parse_value(data: &[u8]) -> Option<u32> {
    let hex = std::str::from_utf8(data.get(..8)?).ok()?;
    parse_hex(hex).filter(|&v| v != 0)
}

/// The value of a marker file name `dovecot-uidvalidity.<hex>`.
pub fn parse_marker(name: &[u8], file_name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix(file_name.as_bytes())?
        .strip_prefix(b".")?;
    parse_hex(std::str::from_utf8(rest).ok()?)
}

fn parse_hex(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

fn marker(path: &Path, value: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{value:08x}"));
    PathBuf::from(name)
}

/// The value after `v` (0 is skipped).
fn successor(v: u32) -> u32 {
    v.wrapping_add(1).max(1)
}

/// When the files cannot be used: the current time, or one more than last time.
fn fallback() -> u32 {
    static LAST: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as u32;
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = if prev < now { now } else { successor(prev) };
        match LAST.compare_exchange(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

/// The next UIDVALIDITY for a new mailbox under `control_root` (whose files get `perms`).
/// Never fails: when the files are unusable, errors are logged and the time is used, as in
/// Dovecot.
pub fn next(control_root: &Path, perms: &CreatePerms) -> u32 {
    let path = control_root.join(FILE_NAME);
    let current = match FsFile::open_rw(&path) {
        Ok(file) => {
            let mut buf = [0u8; 8];
            match file.read_full_at(&mut buf, 0) {
                Ok(8) => parse_value(&buf).map(|v| (file, v)),
                Ok(_) => None,
                Err(e) => {
                    log::error!("{e}");
                    None
                }
            }
        }
        Err(e) => {
            if !e.is_not_found() {
                log::error!("{e}");
            }
            None
        }
    };
    let Some((file, value)) = current else {
        return rescan(&path, perms);
    };
    match rename_next(&path, value, false) {
        Some(v) => {
            if let Err(e) = file.write_all_at(format!("{v:08x}").as_bytes(), 0) {
                log::error!("{e}");
            }
            v
        }
        None => rescan(&path, perms),
    }
}

/// Renames the marker of `value` onward; the new value is ours.
fn rename_next(path: &Path, mut value: u32, log_enoent: bool) -> Option<u32> {
    let mut last_err = None;
    for _ in 0..RETRY_COUNT {
        let from = marker(path, value);
        value = successor(value);
        match ops::rename(&from, &marker(path, value)) {
            Ok(()) => return Some(value),
            // Someone else got this one: try the next value.
            Err(e) if e.is_not_found() => last_err = Some(e),
            Err(e) => {
                log::error!("{e}");
                return None;
            }
        }
    }
    if let (Some(e), true) = (last_err, log_enoent) {
        log::error!("{e}");
    }
    None
}

/// The slow path: find the markers, keep the highest, drop the lowest, go on from there.
/// Under contention the others may move the marker further than one [`rename_next`] follows
/// before this one renames it: the directory is read again then, since the time-based
/// fallback could hand out a value another caller also gets.
fn rescan(path: &Path, perms: &CreatePerms) -> u32 {
    for attempt in 1..=RETRY_COUNT {
        if let Some(v) = rescan_once(path, perms, attempt == RETRY_COUNT) {
            return v;
        }
    }
    fallback()
}

/// One look at the markers: `None` when others took every value tried.
fn rescan_once(path: &Path, perms: &CreatePerms, last: bool) -> Option<u32> {
    let Some(dir) = path.parent() else {
        return Some(fallback());
    };
    let entries = match ops::read_dir(dir) {
        Err(e) if e.is_not_found() => {
            ops::mkdir_parents(dir, perms).and_then(|()| ops::read_dir(dir))
        }
        other => other,
    };
    let entries = match entries {
        Ok(entries) => entries,
        Err(e) => {
            log::error!("{e}");
            return Some(fallback());
        }
    };
    let values: Vec<u32> = entries
        .iter()
        .filter_map(|e| parse_marker(e.name.as_encoded_bytes(), FILE_NAME))
        .collect();
    let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max()) else {
        return Some(create_first(path, perms));
    };
    if max == 0 {
        return Some(create_first(path, perms));
    }
    if min != max {
        if let Err(e) = ops::unlink_if_exists(&marker(path, min)) {
            log::error!("{e}");
        }
    }
    let v = rename_next(path, max, last)?;
    write_main(path, perms, v);
    Some(v)
}

/// No markers at all: start from the time, with an empty mode-0444 marker.
fn create_first(path: &Path, perms: &CreatePerms) -> u32 {
    let marker_perms = CreatePerms {
        file_mode: 0o444,
        gid: None,
        ..perms.clone()
    };
    let mut value = fallback();
    for _ in 0..RETRY_COUNT {
        match FsFile::create_excl(&marker(path, value), &marker_perms) {
            Ok(_) => {
                write_main(path, perms, value);
                return value;
            }
            Err(e) if e.is_exists() => value = fallback(),
            Err(e) => {
                log::error!("{e}");
                return value;
            }
        }
    }
    value
}

fn write_main(path: &Path, perms: &CreatePerms, value: u32) {
    let result: FsResult<()> = FsFile::open_or_create(path, perms)
        .and_then(|f| f.write_all_at(format!("{value:08x}").as_bytes(), 0));
    if let Err(e) = result {
        log::error!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(parse_value(b"6b0aebf1"), Some(0x6b0aebf1));
        assert_eq!(parse_value(b"6b0aebf1\n"), Some(0x6b0aebf1));
        assert_eq!(parse_value(b"6b0aeb"), None);
        assert_eq!(parse_value(b"00000000"), None);
        assert_eq!(parse_value(b"6b0aebfx"), None);
        assert_eq!(
            parse_marker(b"dovecot-uidvalidity.6b0aebf1", FILE_NAME),
            Some(0x6b0aebf1)
        );
        assert_eq!(parse_marker(b"dovecot-uidvalidity.", FILE_NAME), None);
        assert_eq!(parse_marker(b"dovecot-uidvalidity", FILE_NAME), None);
        assert_eq!(parse_marker(b"dovecot-uidvalidityx1", FILE_NAME), None);
        assert_eq!(successor(u32::MAX), 1);
    }

    #[test]
    fn sequence_and_repair() {
        let dir = tempfile::tempdir().unwrap();
        let perms = CreatePerms::default();
        let first = next(dir.path(), &perms);
        assert_eq!(next(dir.path(), &perms), first + 1);
        assert_eq!(next(dir.path(), &perms), first + 2);
        let main = dir.path().join(FILE_NAME);
        assert_eq!(
            std::fs::read(&main).unwrap(),
            format!("{:08x}", first + 2).into_bytes()
        );
        assert!(marker(&main, first + 2).exists());
        // a broken main file: the markers are scanned, the lowest of two removed
        std::fs::write(&main, b"junk").unwrap();
        std::fs::write(marker(&main, first + 100), b"").unwrap();
        assert_eq!(next(dir.path(), &perms), first + 101);
        assert!(!marker(&main, first + 2).exists());
        assert_eq!(
            std::fs::read(&main).unwrap(),
            format!("{:08x}", first + 101).into_bytes()
        );
    }

    #[test]
    fn concurrent_callers_get_distinct_values() {
        let dir = tempfile::tempdir().unwrap();
        let perms = CreatePerms::default();
        next(dir.path(), &perms);
        let values: Vec<u32> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..25)
                            .map(|_| next(dir.path(), &perms))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut sorted = values.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            values.len(),
            "duplicate UIDVALIDITY handed out"
        );
    }
}
