//! Single-process dotlock behaviour; races between processes are in tests/fs_dotlock.rs.

use super::attempt::{parse_content, ChangeInfo};
use super::*;
use crate::fs::error::LockHolder;

fn settings(timeout_ms: u64, stale_secs: u64, use_excl: bool) -> DotLockSettings {
    DotLockSettings {
        suffix: DEFAULT_SUFFIX.into(),
        timeout: Duration::from_millis(timeout_ms),
        stale_timeout: Duration::from_secs(stale_secs),
        use_excl,
        nfs_flush: false,
        use_notify: true,
        temp_prefix: None,
    }
}

#[test]
fn content_is_pid_colon_host() {
    for excl in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot-uidlist");
        let lock = DotLock::acquire(&path, &settings(1000, 120, excl)).unwrap();
        let content = std::fs::read_to_string(lock.lock_path()).unwrap();
        assert_eq!(content, ours());
        assert_eq!(lock.release().unwrap(), ReleaseOutcome::Released);
        // Only the protected name's directory entries remain: no lock, no temp file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn change_info_first_look_uses_file_times() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, b"x").unwrap();
    let st = std::fs::metadata(&f).unwrap();
    let mut info = ChangeInfo::default();
    let mut last = 0;
    let now = st.mtime() + 100;
    assert!(info.update(&st, &mut last, now, true));
    assert_eq!(last, st.ctime().max(st.mtime()).min(now));
    assert!(!info.update(&st, &mut last, now, true));
}

#[test]
fn parse_content_variants() {
    let h = parse_content(b"123:mx1\n").unwrap();
    assert_eq!((h.pid, h.host.as_deref()), (Some(123), Some("mx1")));
    assert!(parse_content(b"").is_none());
    assert!(parse_content(b"garbage").is_none());
    let h = parse_content(b"x:y").unwrap();
    assert_eq!(h.pid, None);
}

/// What a lock of ours holds: `pid:host` and the liveness mark (local filesystems have
/// open-file-description locks).
fn ours() -> String {
    liveness::content(std::process::id(), crate::fs::hostname().unwrap(), true)
}

fn age(path: &Path, secs: u64) {
    let t = SystemTime::now() - Duration::from_secs(secs);
    ops::utime(path, Some(t)).unwrap();
}

#[test]
fn timeout_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(dir.path().join("f.lock"), "4242:elsewhere").unwrap();
    let err = DotLock::acquire(&path, &settings(300, 0, true)).unwrap_err();
    match &err {
        FsError::LockTimeout { holder, .. } => {
            assert_eq!(
                holder.as_ref().unwrap(),
                &LockHolder {
                    pid: Some(4242),
                    host: Some("elsewhere".into())
                }
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("held by 4242:elsewhere"), "{err}");
    assert!(DotLock::try_acquire(&path, &settings(0, 0, true))
        .unwrap()
        .is_none());
}

#[test]
fn dead_local_holder_is_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let lock_path = dir.path().join("f.lock");
    // A pid that cannot exist (above pid_max's ceiling).
    std::fs::write(
        &lock_path,
        format!("{}:{}", 1 << 23, crate::fs::hostname().unwrap()),
    )
    .unwrap();
    age(&lock_path, 10);
    let lock = DotLock::acquire(&path, &settings(5000, 0, true)).unwrap();
    assert_eq!(lock.release().unwrap(), ReleaseOutcome::Released);
}

#[test]
fn foreign_stale_lock_is_overridden_only_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let lock_path = dir.path().join("f.lock");
    std::fs::write(&path, b"data").unwrap();
    std::fs::write(&lock_path, "1:otherhost").unwrap();
    // Fresh: a 1 s stale timeout does not pass within a 300 ms wait.
    assert!(DotLock::acquire(&path, &settings(300, 1, true))
        .unwrap_err()
        .is_lock_timeout());
    // Neither the lock nor the file changes: overridden once the stale timeout passed
    // (whole seconds, counted from the lock's ctime), after "stale" progress reports.
    age(&path, 10);
    let mut progress = Vec::new();
    let lock = DotLock::acquire_with_progress(&path, &settings(10_000, 1, true), &mut |p| {
        progress.push(p);
        true
    })
    .unwrap();
    assert!(
        progress
            .iter()
            .any(|p| matches!(p, LockProgress::Stale { .. })),
        "{progress:?}"
    );
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), ours());
    drop(lock);
    assert!(!lock_path.exists());
}

#[test]
fn another_hosts_marked_lock_is_overridden_once_its_record_lock_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let lock_path = dir.path().join("f.lock");
    std::fs::write(&path, b"data").unwrap();
    std::fs::write(&lock_path, liveness::content(1, "otherhost", true)).unwrap();
    age(&lock_path, 10);
    // Its holder lives (keeps the record lock, as a cote on another host would): waited for
    // even past a 1 s stale timeout... until that timeout is the only rule left.
    let holder = FsFile::open_rw(&lock_path).unwrap();
    let live = liveness::hold(&holder).unwrap();
    assert!(DotLock::acquire(&path, &settings(1500, 120, true))
        .unwrap_err()
        .is_lock_timeout());
    // The holder died: overridden at once, long before the 120 s stale timeout.
    drop(live);
    let start = Instant::now();
    let lock = DotLock::acquire(&path, &settings(5000, 120, true)).unwrap();
    assert!(start.elapsed() < Duration::from_secs(4));
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), ours());
    // Without the mark (a Dovecot holder) the same lock is only stale by age.
    drop(lock);
    std::fs::write(&lock_path, "1:otherhost").unwrap();
    age(&lock_path, 10);
    assert!(DotLock::acquire(&path, &settings(1500, 120, true))
        .unwrap_err()
        .is_lock_timeout());
}

#[test]
fn release_reports_deleted_and_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let lock = DotLock::acquire(&path, &settings(1000, 0, true)).unwrap();
    std::fs::remove_file(lock.lock_path()).unwrap();
    assert_eq!(lock.release().unwrap(), ReleaseOutcome::Deleted);
    let lock = DotLock::acquire(&path, &settings(1000, 0, true)).unwrap();
    // Moved away rather than deleted, so that the new lock cannot reuse its inode.
    std::fs::rename(lock.lock_path(), dir.path().join("old")).unwrap();
    std::fs::write(lock.lock_path(), "1:other").unwrap();
    let lock_path = lock.lock_path().to_path_buf();
    assert_eq!(lock.release().unwrap(), ReleaseOutcome::Overridden);
    // Someone else's lock is left alone.
    assert!(lock_path.exists());
}

#[test]
fn replace_mode_renames_the_lock_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot-keywords");
    std::fs::write(&path, b"old").unwrap();
    let perms = CreatePerms {
        file_mode: 0o640,
        ..CreatePerms::default()
    };
    let lock = DotLock::acquire_for_replace(&path, &settings(1000, 120, true), &perms).unwrap();
    lock.file().unwrap().write_all_at(b"0 $Junk\n", 0).unwrap();
    lock.replace(&FsPolicy::dovecot_defaults(), true).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"0 $Junk\n");
    assert!(!dir.path().join("dovecot-keywords.lock").exists());
    // Overridden meanwhile: the write is abandoned.
    let lock = DotLock::acquire_for_replace(&path, &settings(1000, 120, true), &perms).unwrap();
    std::fs::rename(lock.lock_path(), dir.path().join("old")).unwrap();
    std::fs::write(lock.lock_path(), "1:other").unwrap();
    let err = lock
        .replace(&FsPolicy::dovecot_defaults(), true)
        .unwrap_err();
    assert!(
        matches!(
            err,
            FsError::LockLost {
                overridden: true,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"0 $Junk\n");
}

#[test]
fn touch_refreshes_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut lock = DotLock::acquire(&path, &settings(1000, 0, false)).unwrap();
    age(lock.lock_path(), 100);
    lock.mtime = ops::lstat(lock.lock_path()).unwrap().mtime();
    lock.touch().unwrap();
    let m = ops::lstat(lock.lock_path()).unwrap().mtime();
    assert!(m >= unix_secs(SystemTime::now()) - 5);
    assert_eq!(lock.release().unwrap(), ReleaseOutcome::Released);
}
