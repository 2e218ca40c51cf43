//! Locks between real processes (and threads): dotlock races with both `dotlock_use_excl`
//! values, fcntl and flock exclusion, stale and dead-holder overrides, timeouts naming the
//! holder. The binary re-executes itself as the competing processes (`harness = false`).
//!
//! `cargo test --test fs_locks [NAME-SUBSTRING]`. With `COTE_FS_SHARED_MOUNTS="/mnt/g1
//! /mnt/g2"` (two mounts of one GlusterFS volume, see shared/sharedfs-setup.sh) the
//! `shared_*` tests also run the races across the mounts, one "host" per mount.

mod fs_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cote::fs::{
    ops, CreatePerms, DotLock, DotLockSettings, FileKind, FileLock, FsError, FsFile, FsPolicy,
    LockKind, LockMethod, LockProgress, LockRequest, RecordLock,
};
use fs_support::{child, role, run, wait_for_parent, Peer, Test};

const SHARED_MOUNTS_ENV: &str = "COTE_FS_SHARED_MOUNTS";

fn policy(method: &str, use_excl: bool) -> FsPolicy {
    FsPolicy {
        lock_method: match method {
            "fcntl" => LockMethod::Fcntl,
            "flock" => LockMethod::Flock,
            _ => LockMethod::Dotlock,
        },
        dotlock_use_excl: use_excl,
        ..FsPolicy::dovecot_defaults()
    }
}

/// A lock of any method held by a child role.
enum Held {
    File(FileLock),
    Dot(DotLock),
}

fn take_lock(
    method: &str,
    use_excl: bool,
    path: &Path,
    timeout: Duration,
) -> Result<Held, FsError> {
    let policy = policy(method, use_excl);
    if method.starts_with("dotlock") {
        let set = DotLockSettings::new(
            &policy,
            FileKind::Storage,
            timeout,
            Duration::from_secs(120),
        );
        return DotLock::acquire(path, &set).map(Held::Dot);
    }
    let file = FsFile::open_or_create(path, &CreatePerms::default())?;
    let request = LockRequest {
        kind: LockKind::Exclusive,
        timeout,
        stale_timeout: Duration::ZERO,
    };
    let lock = FileLock::acquire(&policy, FileKind::Index, &file, request)?;
    // The lock holds its own duplicate of the descriptor; ours may close.
    Ok(Held::File(lock))
}

fn release(held: Held) -> Result<(), FsError> {
    match held {
        Held::File(lock) => lock.release(),
        Held::Dot(lock) => lock.release_checked(),
    }
}

// ---- child roles --------------------------------------------------------------------------

/// `race METHOD USE_EXCL PATH ROUNDS`: take the lock ROUNDS times; inside, prove we are the
/// only holder (an O_EXCL marker) and increment a counter file.
fn role_race(args: &[String]) -> ExitCode {
    let [method, excl, path, rounds] = args else {
        return ExitCode::from(2);
    };
    let path = PathBuf::from(path);
    let use_excl = excl == "yes";
    let rounds: u32 = rounds.parse().unwrap_or(0);
    let inside = path.with_extension("inside");
    let counter = path.with_extension("count");
    let mut contended = 0;
    for _ in 0..rounds {
        // A first attempt that must not wait tells whether this round met a holder.
        let held = match take_lock(method, use_excl, &path, Duration::ZERO).or_else(|e| {
            if e.is_lock_timeout() {
                contended += 1;
            }
            take_lock(method, use_excl, &path, Duration::from_secs(120))
        }) {
            Ok(held) => held,
            Err(e) => {
                eprintln!("lock: {e}");
                return ExitCode::from(3);
            }
        };
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&inside)
        {
            eprintln!("two holders at once: {e}");
            return ExitCode::from(4);
        }
        // Hold it a moment, so that the others really wait for it.
        std::thread::sleep(Duration::from_micros(500));
        let n: u64 = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if std::fs::write(&counter, format!("{}\n", n + 1)).is_err()
            || std::fs::remove_file(&inside).is_err()
        {
            return ExitCode::from(5);
        }
        if let Err(e) = release(held) {
            eprintln!("release: {e}");
            return ExitCode::from(6);
        }
    }
    println!("contended {contended}");
    ExitCode::SUCCESS
}

/// `hold METHOD PATH`: take the lock, say "locked", keep it until stdin closes.
fn role_hold(args: &[String]) -> ExitCode {
    let [method, path] = args else {
        return ExitCode::from(2);
    };
    let held = match take_lock(method, true, Path::new(path), Duration::from_secs(30)) {
        Ok(held) => held,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    println!("locked");
    let _ = std::io::stdout().flush();
    wait_for_parent();
    match release(held) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(6),
    }
}

/// `leak-dotlock PATH`: take the dotlock and exit without releasing it.
fn role_leak(args: &[String]) -> ExitCode {
    let [path] = args else {
        return ExitCode::from(2);
    };
    match take_lock("dotlock", true, Path::new(path), Duration::from_secs(30)) {
        Ok(held) => {
            std::mem::forget(held);
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::from(3),
    }
}

// ---- tests ---------------------------------------------------------------------------------

fn race(
    method: &str,
    use_excl: bool,
    paths: &[PathBuf],
    procs: usize,
    rounds: u32,
    env: &[&[(&str, &str)]],
) {
    let mut children = Vec::new();
    let rounds_text = rounds.to_string();
    let excl = if use_excl { "yes" } else { "no" };
    for i in 0..procs {
        let path = paths[i % paths.len()].to_str().unwrap().to_string();
        let role = ["race", method, excl, &path, &rounds_text];
        let mut cmd = child(&role, env[i % env.len()]);
        cmd.stdout(std::process::Stdio::piped());
        children.push(cmd.spawn().expect("spawn"));
    }
    let mut contended = 0u64;
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{method} racer failed: {}",
            out.status
        );
        let text = String::from_utf8_lossy(&out.stdout);
        contended += text
            .trim()
            .strip_prefix("contended ")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    println!("  {procs} processes x {rounds} rounds; {contended} rounds found the lock held");
    let counter = paths[0].with_extension("count");
    let total: u64 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(total, procs as u64 * u64::from(rounds));
    assert!(!paths[0].with_extension("inside").exists());
}

fn dotlock_race_excl() {
    let dir = tempfile::tempdir().unwrap();
    race("dotlock", true, &[dir.path().join("box")], 4, 300, &[&[]]);
    assert!(!dir.path().join("box.lock").exists());
}

fn dotlock_race_link() {
    let dir = tempfile::tempdir().unwrap();
    race("dotlock", false, &[dir.path().join("box")], 4, 300, &[&[]]);
    // Neither the lock nor any link-mode temp file is left.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("box.count")]);
}

fn fcntl_race() {
    let dir = tempfile::tempdir().unwrap();
    race("fcntl", true, &[dir.path().join("log")], 4, 300, &[&[]]);
}

fn flock_race() {
    let dir = tempfile::tempdir().unwrap();
    race("flock", true, &[dir.path().join("log")], 4, 300, &[&[]]);
}

/// OFD locks exclude threads of one process, each with its own open file.
fn fcntl_excludes_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    std::fs::write(&path, b"").unwrap();
    let inside = Arc::new(AtomicBool::new(false));
    let overlaps = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (path, inside, overlaps) = (path.clone(), inside.clone(), overlaps.clone());
            std::thread::spawn(move || {
                let file = FsFile::open_rw(&path).unwrap();
                for _ in 0..300 {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    let lock = RecordLock::wait(&file, LockKind::Exclusive, deadline).unwrap();
                    assert!(lock.is_ofd(), "kernel without OFD locks");
                    if inside.swap(true, Ordering::SeqCst) {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                    inside.store(false, Ordering::SeqCst);
                    lock.unlock().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
}

fn record_lock_timeout_names_holder(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let mut holder = Peer::start(&["hold", method, path.to_str().unwrap()], &[]);
    assert_eq!(holder.line(), "locked");
    let file = FsFile::open_rw(&path).unwrap();
    let request = LockRequest {
        kind: LockKind::Exclusive,
        timeout: Duration::from_millis(300),
        stale_timeout: Duration::ZERO,
    };
    let err =
        FileLock::acquire(&policy(method, true), FileKind::Index, &file, request).unwrap_err();
    match &err {
        FsError::LockTimeout {
            holder: Some(h),
            waited,
            ..
        } => {
            assert_eq!(h.pid, Some(holder.pid()), "{err}");
            assert!(*waited >= Duration::from_millis(300));
        }
        other => panic!("expected a timeout naming the holder, got {other}"),
    }
    let shared = LockRequest {
        kind: LockKind::Shared,
        timeout: Duration::ZERO,
        ..request
    };
    assert!(
        FileLock::try_acquire(&policy(method, true), FileKind::Index, &file, shared)
            .unwrap()
            .is_none()
    );
    // Killed holder: the kernel frees its lock.
    holder.kill();
    FileLock::acquire(&policy(method, true), FileKind::Index, &file, request).unwrap();
}

fn fcntl_timeout_names_holder() {
    record_lock_timeout_names_holder("fcntl");
}

fn flock_timeout_names_holder() {
    record_lock_timeout_names_holder("flock");
}

fn dotlock_settings(timeout: Duration, stale: Duration) -> DotLockSettings {
    DotLockSettings::new(
        &FsPolicy::dovecot_defaults(),
        FileKind::Storage,
        timeout,
        stale,
    )
}

fn age(path: &Path, secs: u64) {
    ops::utime(path, Some(SystemTime::now() - Duration::from_secs(secs))).unwrap();
}

/// A live local holder is never overridden, however old its lock looks.
fn dotlock_live_holder_not_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot-uidlist");
    let mut holder = Peer::start(&["hold", "dotlock", path.to_str().unwrap()], &[]);
    assert_eq!(holder.line(), "locked");
    let lock_path = dir.path().join("dovecot-uidlist.lock");
    age(&lock_path, 100);
    std::fs::write(&path, b"3 V1 N1\n").unwrap();
    age(&path, 100);
    let mut progress = Vec::new();
    let err = DotLock::acquire_with_progress(
        &path,
        &dotlock_settings(Duration::from_secs(4), Duration::from_secs(1)),
        &mut |p| {
            progress.push(p);
            true
        },
    )
    .unwrap_err();
    let host = cote::hostname::hostname().unwrap();
    match &err {
        FsError::LockTimeout {
            holder: Some(h),
            path: p,
            ..
        } => {
            assert_eq!(p, &lock_path);
            assert_eq!(h.pid, Some(holder.pid()));
            assert_eq!(h.host.as_deref(), Some(host));
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("held by {}:{host}", holder.pid())),
        "{err}"
    );
    // The waiter reports once per second of waiting; whether a report says "locked" or
    // "stale, will override" depends on which seconds a loaded machine lets it observe
    // (utime() above made the lock's ctime "now"), so only the reporting itself is checked.
    assert!(
        progress
            .iter()
            .any(|p| matches!(p, LockProgress::Locked { .. } | LockProgress::Stale { .. })),
        "{progress:?}"
    );
    assert_eq!(holder.finish(), 0);
    // Released: free now.
    DotLock::acquire(
        &path,
        &dotlock_settings(Duration::from_secs(5), Duration::ZERO),
    )
    .unwrap()
    .release()
    .unwrap();
}

/// A lock whose local holder died is taken over without waiting for the stale timeout.
fn dotlock_dead_holder_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot-uidlist");
    let mut holder = Peer::start(&["hold", "dotlock", path.to_str().unwrap()], &[]);
    assert_eq!(holder.line(), "locked");
    let dead_pid = holder.pid();
    holder.kill();
    let lock_path = dir.path().join("dovecot-uidlist.lock");
    assert!(lock_path.exists());
    // The pid is only checked in locks older than 2 s.
    age(&lock_path, 10);
    // stale_timeout 0: only the dead-pid rule can take it over.
    let lock = DotLock::acquire(
        &path,
        &dotlock_settings(Duration::from_secs(10), Duration::ZERO),
    )
    .unwrap();
    let content = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        content.starts_with(&format!("{}:", std::process::id())),
        "{content}"
    );
    assert!(!content.starts_with(&format!("{dead_pid}:")));
    lock.release().unwrap();
}

/// Another host's lock: never judged by its pid. One left by a dead cote holder (its record
/// lock gone with it) is overridden at once; one without the mark (Dovecot's) only once
/// stale, not before.
fn dotlock_foreign_host_stale_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subscriptions");
    std::fs::write(&path, b"").unwrap();
    let status = child(
        &["leak-dotlock", path.to_str().unwrap()],
        &[("DOVECOT_HOSTNAME", "otherhost")],
    )
    .status()
    .unwrap();
    assert!(status.success());
    let lock_path = dir.path().join("subscriptions.lock");
    let leaked = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        leaked
            .lines()
            .next()
            .is_some_and(|l| l.ends_with(":otherhost")),
        "{leaked}"
    );
    age(&lock_path, 10);
    age(&path, 10);
    let start = std::time::Instant::now();
    let lock = DotLock::acquire(
        &path,
        &dotlock_settings(Duration::from_secs(10), Duration::ZERO),
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    lock.release().unwrap();
    // Dovecot's content, no mark: only the stale timeout overrides it.
    std::fs::write(&lock_path, "12345:otherhost").unwrap();
    age(&lock_path, 10);
    age(&path, 10);
    let err = DotLock::acquire(
        &path,
        &dotlock_settings(Duration::from_secs(3), Duration::ZERO),
    )
    .unwrap_err();
    match &err {
        FsError::LockTimeout {
            holder: Some(h), ..
        } => {
            assert_eq!(h.host.as_deref(), Some("otherhost"));
        }
        other => panic!("expected a timeout, got {other}"),
    }
    // The lock's ctime is recent (utime changed it): overridden 1–2 s after the last change.
    let lock = DotLock::acquire(
        &path,
        &dotlock_settings(Duration::from_secs(20), Duration::from_secs(1)),
    )
    .unwrap();
    lock.release().unwrap();
}

/// The races across two mounts of one shared volume, each mount a "host".
fn shared_mounts() -> Option<Vec<PathBuf>> {
    let mounts = std::env::var(SHARED_MOUNTS_ENV).ok()?;
    let mounts: Vec<PathBuf> = mounts.split_whitespace().map(PathBuf::from).collect();
    (mounts.len() >= 2).then_some(mounts)
}

fn shared_race(method: &str, use_excl: bool, procs: usize, rounds: u32) {
    let mounts = shared_mounts().expect("listed only with shared mounts");
    let name = format!("cote-fs-test.{}.{method}", std::process::id());
    let dirs: Vec<PathBuf> = mounts.iter().map(|m| m.join(&name)).collect();
    std::fs::create_dir(&dirs[0]).unwrap();
    let paths: Vec<PathBuf> = dirs.iter().map(|d| d.join("box")).collect();
    let envs: Vec<Vec<(&str, &str)>> = (0..mounts.len())
        .map(|i| vec![("DOVECOT_HOSTNAME", if i == 0 { "node0" } else { "node1" })])
        .collect();
    let env_refs: Vec<&[(&str, &str)]> = envs.iter().map(|e| e.as_slice()).collect();
    let started = Instant::now();
    race(method, use_excl, &paths, procs, rounds, &env_refs);
    println!(
        "  {method} (use_excl={use_excl}) across {} mounts: {procs} processes x {rounds} rounds in {:.1}s",
        mounts.len(),
        started.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(&dirs[0]).unwrap();
}

fn shared_dotlock_race_excl() {
    shared_race("dotlock", true, 4, 50);
}

fn shared_dotlock_race_link() {
    shared_race("dotlock", false, 4, 50);
}

fn shared_fcntl_race() {
    shared_race("fcntl", true, 4, 200);
}

fn shared_flock_race() {
    shared_race("flock", true, 4, 200);
}

const TESTS: &[Test] = &[
    ("dotlock_race_excl", dotlock_race_excl),
    ("dotlock_race_link", dotlock_race_link),
    ("fcntl_race", fcntl_race),
    ("flock_race", flock_race),
    ("fcntl_excludes_threads", fcntl_excludes_threads),
    ("fcntl_timeout_names_holder", fcntl_timeout_names_holder),
    ("flock_timeout_names_holder", flock_timeout_names_holder),
    (
        "dotlock_live_holder_not_overridden",
        dotlock_live_holder_not_overridden,
    ),
    (
        "dotlock_dead_holder_overridden",
        dotlock_dead_holder_overridden,
    ),
    (
        "dotlock_foreign_host_stale_override",
        dotlock_foreign_host_stale_override,
    ),
    ("shared_dotlock_race_excl", shared_dotlock_race_excl),
    ("shared_dotlock_race_link", shared_dotlock_race_link),
    ("shared_fcntl_race", shared_fcntl_race),
    ("shared_flock_race", shared_flock_race),
];

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("race") => role_race(&args[1..]),
            Some("hold") => role_hold(&args[1..]),
            Some("leak-dotlock") => role_leak(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let shared = shared_mounts().is_some();
    if !shared {
        println!("{SHARED_MOUNTS_ENV} not set: the shared_* tests are not run");
    }
    let tests: Vec<Test> = TESTS
        .iter()
        .filter(|(name, _)| shared || !name.starts_with("shared_"))
        .copied()
        .collect();
    run(&tests)
}
