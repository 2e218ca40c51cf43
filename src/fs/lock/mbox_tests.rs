use super::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

fn settings(read: &str, write: &str, timeout: Duration) -> MboxLockSettings {
    MboxLockSettings {
        read_locks: MboxLockMethod::parse_list("mbox_read_locks", read).unwrap(),
        write_locks: MboxLockMethod::parse_list("mbox_write_locks", write).unwrap(),
        lock_timeout: timeout,
        dotlock_change_timeout: Duration::from_secs(120),
    }
}

fn mbox_in(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("inbox");
    std::fs::write(&path, b"").unwrap();
    path
}

#[test]
fn lock_lists_parse_like_dovecot() {
    assert_eq!(
        MboxLockMethod::parse_list("x", " DotLock  fcntl lockf flock dotlock_try").unwrap(),
        [
            MboxLockMethod::Dotlock,
            MboxLockMethod::Fcntl,
            MboxLockMethod::Lockf,
            MboxLockMethod::Flock,
            MboxLockMethod::DotlockTry
        ]
    );
    assert_eq!(
        MboxLockMethod::parse_list("mbox_read_locks", "fcntl nope"),
        Err("mbox_read_locks: Invalid value nope".to_string())
    );
    assert_eq!(
        MboxLockMethod::parse_list("mbox_write_locks", "fcntl FCNTL"),
        Err("mbox_write_locks: Duplicated value FCNTL".to_string())
    );
    assert_eq!(MboxLockMethod::parse_list("x", ""), Ok(vec![]));
}

#[test]
fn defaults_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot.conf");
    std::fs::write(&path, "").unwrap();
    let config = crate::config::Config::load(&path).unwrap();
    let s = MboxLockSettings::from_settings(&config.global()).unwrap();
    assert_eq!(s, MboxLockSettings::dovecot_defaults());
}

#[test]
fn write_set_dotlocks_and_excludes_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = mbox_in(&dir);
    let policy = FsPolicy::dovecot_defaults();
    let set = settings("fcntl", "dotlock fcntl", Duration::ZERO);
    let lock = MboxLock::acquire(&policy, &set, &path, LockKind::Exclusive).unwrap();
    assert!(dir.path().join("inbox.lock").exists());
    lock.file().write_all_at(b"From x\n", 0).unwrap();
    let second = MboxLock::acquire(&policy, &set, &path, LockKind::Exclusive);
    assert!(
        matches!(second, Err(ref e) if e.is_lock_timeout()),
        "{second:?}"
    );
    // a read set without dotlock is not blocked by the dotlock (fcntl locks of one
    // process never conflict)
    MboxLock::acquire(&policy, &set, &path, LockKind::Shared)
        .unwrap()
        .release()
        .unwrap();
    lock.release().unwrap();
    assert!(!dir.path().join("inbox.lock").exists());
    MboxLock::acquire(&policy, &set, &path, LockKind::Exclusive)
        .unwrap()
        .release()
        .unwrap();
}

/// `python3 -c script` with piped stdin and stdout.
fn python(script: &str) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Another process holding a lock the way procmail/mutt/Postfix do (Python's
/// `fcntl.lockf`, a classic fcntl lock, or `fcntl.flock`) until its stdin closes.
struct Holder(std::process::Child);

impl Holder {
    fn start(path: &Path, call: &str) -> Holder {
        let script = format!(
            "import fcntl, sys\nf = open({:?}, 'r+')\n{call}\nprint('locked', flush=True)\nsys.stdin.read()\n",
            path.display().to_string()
        );
        let (child, mut out) = python(&script);
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        Holder(child)
    }

    fn stop(mut self) {
        let _ = self.0.stdin.take().map(|mut s| s.write_all(b""));
        self.0.wait().unwrap();
    }
}

#[test]
fn other_programs_locks_are_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = mbox_in(&dir);
    let policy = FsPolicy::dovecot_defaults();
    for (call, list) in [
        ("fcntl.lockf(f, fcntl.LOCK_EX)", "fcntl"),
        ("fcntl.lockf(f, fcntl.LOCK_EX)", "lockf"),
        ("fcntl.flock(f, fcntl.LOCK_EX)", "flock"),
        ("fcntl.lockf(f, fcntl.LOCK_SH)", "lockf"),
    ] {
        let holder = Holder::start(&path, call);
        let now = settings(list, list, Duration::ZERO);
        let busy = MboxLock::acquire(&policy, &now, &path, LockKind::Exclusive);
        assert!(
            matches!(busy, Err(ref e) if e.is_lock_timeout()),
            "{list}: {busy:?}"
        );
        holder.stop();
        let patient = settings(list, list, Duration::from_secs(30));
        MboxLock::acquire(&policy, &patient, &path, LockKind::Exclusive)
            .unwrap()
            .release()
            .unwrap();
    }
    // shared holders let readers in
    let holder = Holder::start(&path, "fcntl.lockf(f, fcntl.LOCK_SH)");
    let set = settings("fcntl flock", "fcntl", Duration::ZERO);
    MboxLock::acquire(&policy, &set, &path, LockKind::Shared)
        .unwrap()
        .release()
        .unwrap();
    holder.stop();
}

/// `mbox_read_locks =` (empty): the file is opened, nothing is locked.
#[test]
fn an_empty_lock_list_locks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = mbox_in(&dir);
    let set = settings("", "", Duration::ZERO);
    for kind in [LockKind::Shared, LockKind::Exclusive] {
        let lock = MboxLock::acquire(&FsPolicy::dovecot_defaults(), &set, &path, kind).unwrap();
        assert!(!dir.path().join("inbox.lock").exists());
        lock.release().unwrap();
    }
}

#[test]
fn missing_mbox_fails_and_leaves_no_dotlock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none");
    let set = settings("fcntl", "dotlock fcntl", Duration::ZERO);
    let err = MboxLock::acquire(
        &FsPolicy::dovecot_defaults(),
        &set,
        &path,
        LockKind::Exclusive,
    )
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!dir.path().join("none.lock").exists());
}

#[test]
fn a_replaced_file_is_the_one_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = mbox_in(&dir);
    let policy = FsPolicy::dovecot_defaults();
    // another program holds fcntl on the mbox while we wait for it, and renames a new file
    // over the mbox before it lets go
    let set = settings("fcntl", "fcntl", Duration::from_secs(30));
    let holder = Holder::start(&path, "fcntl.lockf(f, fcntl.LOCK_EX)");
    let replacer = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(dir.join("new"), b"From x Thu Nov 29 22:33:52 2001\n\n").unwrap();
            std::fs::rename(dir.join("new"), dir.join("inbox")).unwrap();
            holder.stop();
        })
    };
    let lock = MboxLock::acquire(&policy, &set, &path, LockKind::Exclusive).unwrap();
    replacer.join().unwrap();
    assert_eq!(
        lock.file().metadata().unwrap().ino(),
        std::fs::metadata(&path).unwrap().ino()
    );
    lock.release().unwrap();
}

/// procmail with a `:0:` lockfile takes the dotlock, then waits for fcntl; Debian's write
/// order is fcntl, then the dotlock. Holding fcntl while waiting for the dotlock would
/// deadlock until the dotlock goes stale (two minutes; the lock timeout here is shorter):
/// cote lets go of fcntl, and both get their turn.
#[test]
fn the_other_lock_order_does_not_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let path = mbox_in(&dir);
    let script = format!(
        "import fcntl, os, sys, time\npath = {:?}\n\
         fd = os.open(path + '.lock', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o444)\n\
         os.write(fd, b'0')\nos.close(fd)\nprint('dotlocked', flush=True)\n\
         sys.stdin.readline()\ntime.sleep(0.5)\n\
         f = open(path, 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nf.write('delivered\\n')\nf.flush()\n\
         fcntl.lockf(f, fcntl.LOCK_UN)\nos.unlink(path + '.lock')\nprint('done', flush=True)\n",
        path.display().to_string()
    );
    let (mut child, mut out) = python(&script);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "dotlocked");
    // the other program goes for fcntl half a second after we asked for the set
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let policy = FsPolicy::dovecot_defaults();
    let mut set = settings("fcntl", "fcntl dotlock", Duration::from_secs(30));
    set.dotlock_change_timeout = Duration::from_secs(120);
    let lock = MboxLock::acquire(&policy, &set, &path, LockKind::Exclusive).unwrap();
    let data = std::fs::read_to_string(&path).unwrap();
    assert!(data.ends_with("delivered\n"), "{data:?}");
    lock.release().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "done");
    assert!(child.wait().unwrap().success());
}
