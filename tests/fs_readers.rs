//! Readers against a writer in another process: an atomic replace is never seen half
//! written, and the mmap and pread views of an index file agree with each other and with the
//! file while it is appended to and replaced. (`harness = false`: the binary re-executes
//! itself as the writer.)

mod fs_support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cote::fs::{
    ops, replace_file, CreatePerms, FileKind, FileView, FsFile, FsPolicy, Refresh, TempName,
    ViewMode,
};
use fs_support::{child, role, run, Test};

/// A self-checking file body: `len=L seq=S\n`, L bytes of a pattern, `end S\n`.
fn replacement(seq: u32) -> Vec<u8> {
    let len = (seq as usize * 7919) % 70_000;
    let mut out = format!("len={len} seq={seq}\n").into_bytes();
    out.extend((0..len).map(|i| b'a' + ((i + seq as usize) % 26) as u8));
    out.extend(format!("end {seq}\n").into_bytes());
    out
}

/// Whether `bytes` is one whole [`replacement`].
fn valid_replacement(bytes: &[u8]) -> bool {
    let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let Ok(header) = std::str::from_utf8(&bytes[..nl]) else {
        return false;
    };
    let Some(seq) = header
        .split_once(" seq=")
        .and_then(|(_, s)| s.parse::<u32>().ok())
    else {
        return false;
    };
    bytes == replacement(seq).as_slice()
}

/// `replacer PATH N`: replace PATH N times, each with a different size.
fn role_replacer(args: &[String]) -> ExitCode {
    let [path, n] = args else {
        return ExitCode::from(2);
    };
    let policy = FsPolicy::dovecot_defaults();
    for seq in 1..=n.parse::<u32>().unwrap_or(0) {
        if let Err(e) = replace_file(
            Path::new(path),
            &replacement(seq),
            &CreatePerms::default(),
            &policy,
        ) {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    }
    ExitCode::SUCCESS
}

fn atomic_replace_never_partial() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot-keywords");
    replaced_whole(&path, &path);
    // Only the target is left: no temp files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// The reader on one mount, the replacer on another: with attribute caching, reads of a
/// name that was just replaced fail with ESTALE, which the reads retry.
fn shared_atomic_replace_across_mounts() {
    let mounts = std::env::var(SHARED_MOUNTS_ENV).unwrap_or_default();
    let mounts: Vec<&str> = mounts.split_whitespace().collect();
    let name = format!("cote-fs-replace.{}", std::process::id());
    let (read_dir, write_dir) = (
        Path::new(mounts[0]).join(&name),
        Path::new(mounts[1]).join(&name),
    );
    std::fs::create_dir(&read_dir).unwrap();
    replaced_whole(
        &read_dir.join("dovecot-keywords"),
        &write_dir.join("dovecot-keywords"),
    );
    std::fs::remove_dir_all(&read_dir).unwrap();
}

/// Reads `read_path` in a loop while a child replaces `write_path` (the same file) 300
/// times: every read is one whole version.
fn replaced_whole(read_path: &Path, write_path: &Path) {
    let path = read_path;
    std::fs::write(path, replacement(0)).unwrap();
    let mut writer = child(&["replacer", write_path.to_str().unwrap(), "300"], &[])
        .spawn()
        .unwrap();
    let mut reads = 0u32;
    let mut seen_new = false;
    loop {
        let done = writer.try_wait().unwrap().is_some();
        let bytes = ops::read_file(path).unwrap();
        assert!(
            valid_replacement(&bytes),
            "partial or mixed file of {} bytes",
            bytes.len()
        );
        seen_new |= bytes != replacement(0);
        reads += 1;
        if done {
            break;
        }
    }
    assert!(writer.wait().unwrap().success());
    assert!(seen_new);
    // Attribute caches may show the previous version a moment longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ops::read_file(path).unwrap() != replacement(300) {
        assert!(
            std::time::Instant::now() < deadline,
            "last version never seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    println!("  {reads} whole reads during 300 replacements");
}

/// `appender PATH RECORDS`: pwrite records at the end; every 100 records, replace the file
/// with a new generation (temp + rename), as a log rotation would.
fn role_appender(args: &[String]) -> ExitCode {
    let [path, n] = args else {
        return ExitCode::from(2);
    };
    let path = PathBuf::from(path);
    let policy = FsPolicy::dovecot_defaults();
    let perms = CreatePerms::default();
    let mut generation = 0;
    let Ok(mut file) = FsFile::open_rw(&path) else {
        return ExitCode::from(3);
    };
    for i in 0..n.parse::<u32>().unwrap_or(0) {
        if i > 0 && i % 100 == 0 {
            generation += 1;
            let Ok(mut next) =
                cote::fs::AtomicFile::create(&path, TempName::Unique, &perms, &policy)
            else {
                return ExitCode::from(4);
            };
            if next
                .write_all(format!("gen {generation}\n").as_bytes())
                .is_err()
                || next.commit().is_err()
            {
                return ExitCode::from(5);
            }
            file = match FsFile::open_rw(&path) {
                Ok(f) => f,
                Err(_) => return ExitCode::from(6),
            };
        }
        let Ok(meta) = file.metadata() else {
            return ExitCode::from(7);
        };
        let record = format!("rec {i} {}\n", "x".repeat((i % 50) as usize));
        if file.write_all_at(record.as_bytes(), meta.len()).is_err() {
            return ExitCode::from(8);
        }
        // Spread the writes so that the reader's refreshes land between them.
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    ExitCode::SUCCESS
}

/// Checks a log view: `gen G\n`, then consecutive `rec I x...\n` records; only the last
/// one may be cut short (written but not yet whole).
fn valid_log(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut lines = text.split_inclusive('\n');
    let header = lines.next().ok_or("empty")?;
    if !header.starts_with("gen ") {
        return Err(format!("bad header {header:?}"));
    }
    let mut expect: Option<u32> = None;
    for line in lines {
        if !line.ends_with('\n') {
            // The torn tail: a prefix of a record.
            return if "rec ".starts_with(line) || line.starts_with("rec ") {
                Ok(())
            } else {
                Err(format!("bad tail {line:?}"))
            };
        }
        let mut words = line.trim_end().split(' ');
        let i: u32 = match (words.next(), words.next()) {
            (Some("rec"), Some(i)) => i.parse().map_err(|_| format!("bad record {line:?}"))?,
            _ => return Err(format!("bad record {line:?}")),
        };
        if expect.is_some_and(|e| e != i) {
            return Err(format!("record {i} where {expect:?} was due"));
        }
        if words.next().unwrap_or("") != "x".repeat((i % 50) as usize) {
            return Err(format!("record {i} mangled"));
        }
        expect = Some(i + 1);
    }
    Ok(())
}

fn views_follow_appends_and_replacements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cote.index.log");
    views_follow_writer(&path, &path, FsPolicy::dovecot_defaults());
}

/// Readers on one mount of a shared volume, the writer on another
/// (`COTE_FS_SHARED_MOUNTS="/mnt/g1 /mnt/g2"`), with `mail_nfs_index` flushing.
fn shared_views_follow_writer_on_other_mount() {
    let mounts = std::env::var(SHARED_MOUNTS_ENV).unwrap_or_default();
    let mounts: Vec<&str> = mounts.split_whitespace().collect();
    let name = format!("cote-fs-view.{}", std::process::id());
    let (read_dir, write_dir) = (
        Path::new(mounts[0]).join(&name),
        Path::new(mounts[1]).join(&name),
    );
    std::fs::create_dir(&read_dir).unwrap();
    let policy = FsPolicy {
        nfs_index: true,
        fsync: cote::fs::FsyncMode::Always,
        ..FsPolicy::dovecot_defaults()
    };
    views_follow_writer(
        &read_dir.join("cote.index.log"),
        &write_dir.join("cote.index.log"),
        policy,
    );
    std::fs::remove_dir_all(&read_dir).unwrap();
}

/// A mapped view (unless the mount refuses mmap) and a buffered view of `read_path` follow
/// an appender writing through `write_path` (the same file).
fn views_follow_writer(read_path: &Path, write_path: &Path, base: FsPolicy) {
    let path = read_path;
    std::fs::write(path, b"gen 0\n").unwrap();
    let mapped_policy = FsPolicy {
        mmap_disable: false,
        ..base.clone()
    };
    let read_policy = FsPolicy {
        mmap_disable: true,
        ..base
    };
    let mut mapped =
        FileView::open(path, &mapped_policy, FileKind::Index, ViewMode::AppendOnly).unwrap();
    let mut buffered =
        FileView::open(path, &read_policy, FileKind::Index, ViewMode::AppendOnly).unwrap();
    let mut writer = child(&["appender", write_path.to_str().unwrap(), "1000"], &[])
        .spawn()
        .unwrap();
    let (mut appended, mut replaced) = (0, 0);
    loop {
        let done = writer.try_wait().unwrap().is_some();
        for view in [&mut mapped, &mut buffered] {
            match view.refresh().unwrap() {
                Refresh::Appended { .. } => appended += 1,
                Refresh::Replaced => replaced += 1,
                Refresh::Unchanged => {}
            }
            if let Err(e) = valid_log(view.bytes()) {
                panic!("view (mapped: {}) is inconsistent: {e}", view.is_mapped());
            }
        }
        if done {
            break;
        }
    }
    assert!(writer.wait().unwrap().success());
    let on_disk = ops::read_file(path).unwrap();
    mapped.refresh().unwrap();
    buffered.refresh().unwrap();
    assert!(!buffered.is_mapped());
    println!("  mapped view really mapped: {}", mapped.is_mapped());
    assert_eq!(mapped.bytes(), on_disk.as_slice());
    assert_eq!(buffered.bytes(), on_disk.as_slice());
    assert!(on_disk.starts_with(b"gen 9\n"));
    println!("  refreshes: {appended} appended, {replaced} replaced");
}

const SHARED_MOUNTS_ENV: &str = "COTE_FS_SHARED_MOUNTS";

const TESTS: &[Test] = &[
    ("atomic_replace_never_partial", atomic_replace_never_partial),
    (
        "views_follow_appends_and_replacements",
        views_follow_appends_and_replacements,
    ),
    (
        "shared_atomic_replace_across_mounts",
        shared_atomic_replace_across_mounts,
    ),
    (
        "shared_views_follow_writer_on_other_mount",
        shared_views_follow_writer_on_other_mount,
    ),
];

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("replacer") => role_replacer(&args[1..]),
            Some("appender") => role_appender(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let shared = std::env::var(SHARED_MOUNTS_ENV).is_ok_and(|m| m.split_whitespace().count() >= 2);
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
