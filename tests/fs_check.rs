//! `coteadm fs-check` on local temp directories: alone, and with DIR2 a bind mount of DIR
//! made in a private mount namespace (`unshare -m`, as root; otherwise DIR itself is given
//! again as DIR2). On a local disk the results are known: every lock excludes, mappings are
//! coherent, no O_APPEND line tears, ':' is allowed, and nothing is left behind. Also the
//! errors: missing DIR, DIR2 not the same directory, read-only DIR, bad usage. Under
//! `faketime` (installed by .ci/run) a clock 3 s ahead of the file server's is measured.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

const COTEADM: &str = env!("CARGO_BIN_EXE_coteadm");

fn run(args: &[&str]) -> Output {
    Command::new(COTEADM)
        .arg("fs-check")
        .args(args)
        .output()
        .expect("run coteadm")
}

/// Runs `script` (sh) in a private mount namespace; `None` when that is not possible here.
fn in_mount_namespace(script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --make-rprivate / && true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let full = format!("mount --make-rprivate / && {script}");
    Command::new("unshare")
        .args(["-m", "sh", "-c", &full])
        .output()
        .ok()
}

fn parse(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "fs-check failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn at(json: &Value, path: &[&str]) -> Value {
    json.pointer(&format!("/{}", path.join("/")))
        .unwrap_or_else(|| panic!("no {path:?} in {json:#}"))
        .clone()
}

fn str_at(json: &Value, path: &[&str]) -> String {
    at(json, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string"))
        .to_string()
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        dir.display()
    );
}

/// The results every local disk must give; `dir2`: the cross-mount fields were measured.
fn assert_local_disk(json: &Value, dir2: bool) {
    for method in ["fcntl_ofd", "fcntl_classic", "flock"] {
        assert_eq!(str_at(json, &["locks", method, "same_mount"]), "excludes");
        let other = at(json, &["locks", method, "other_mount"]);
        if dir2 {
            assert_eq!(other.as_str(), Some("excludes"), "{method}");
        } else {
            assert!(other.is_null());
        }
        assert_eq!(
            at(json, &["locks", method, "excludes"]).as_bool(),
            Some(true)
        );
    }
    assert_eq!(str_at(json, &["locks", "classic_blocks_ofd"]), "excludes");
    assert_eq!(str_at(json, &["locks", "ofd_blocks_classic"]), "excludes");
    for mode in ["excl", "link"] {
        let race = at(json, &["dotlocks", mode]);
        assert_eq!(
            race.get("excludes").and_then(Value::as_bool),
            Some(true),
            "{mode}: {race}"
        );
        assert_eq!(race.get("both_won").and_then(Value::as_i64), Some(0));
    }
    assert_eq!(str_at(json, &["mmap", "shared_map"]), "ok");
    let seen_at_once = |path: &[&str]| {
        let v = at(json, path);
        assert_eq!(v.get("seen_after_ms"), Some(&json!(0.0)), "{path:?}: {v}");
    };
    seen_at_once(&["mmap", "sees_same_mount_write"]);
    if dir2 {
        seen_at_once(&["mmap", "sees_other_mount_write"]);
    }
    for what in [
        "size",
        "mtime",
        "new_name",
        "readdir",
        "unlink",
        "rename",
        "reopen_read",
        "open_fd_read",
    ] {
        seen_at_once(&["staleness", what]);
    }
    for count in [
        "plain_estale",
        "plain_enoent",
        "plain_other_errors",
        "cote_failures",
        "mixed",
    ] {
        assert_eq!(
            at(json, &["replace", count]).as_i64(),
            Some(0),
            "replace {count}"
        );
    }
    assert!(at(json, &["replace", "cote_reads"]).as_i64() > Some(0));
    assert_eq!(at(json, &["append", "torn"]).as_i64(), Some(0));
    assert_eq!(
        at(json, &["append", "size"]),
        at(json, &["append", "expected_size"])
    );
    assert_eq!(at(json, &["names", "colon_allowed"]).as_bool(), Some(true));
    assert!(!at(json, &["timing", "fsync", "median_ms"]).is_null());
    let recommended = |name: &str| str_at(json, &["recommended", name, "value"]);
    assert_eq!(recommended("mmap_disable"), "no");
    assert_eq!(recommended("lock_method"), "fcntl");
    assert_eq!(recommended("dotlock_use_excl"), "yes");
    assert_eq!(recommended("mail_fsync"), "optimized");
    assert_eq!(recommended("mail_nfs_storage"), "no");
    assert_eq!(recommended("mail_nfs_index"), "no");
    assert_eq!(recommended("maildir_info_separator"), ":");
}

#[test]
fn local_dir_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let out = run(&["--json", "--quick", path]);
    let json = parse(&out);
    assert_local_disk(&json, false);
    assert_eq!(str_at(&json, &["dirs", "dir"]), path);
    assert!(at(&json, &["dirs", "dir2"]).is_null());
    assert_empty(dir.path());
    // stderr is not a terminal: a line per probe group.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for group in cote::fs::probe::GROUPS {
        assert!(
            stderr.contains(&format!("fs-check: {group}: done in")),
            "{stderr}"
        );
    }
}

#[test]
fn local_dir_text_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--quick", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Recommended settings",
        "lock_method = fcntl",
        "mmap_disable = no",
        "0 of 400 lines torn",
        "':' in file names: allowed",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    assert_empty(dir.path());
}

#[test]
fn local_dir_with_a_second_mount() {
    let dir = tempfile::tempdir().unwrap();
    let mount = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().to_str().unwrap(), mount.path().to_str().unwrap());
    let script = format!("mount --bind {a} {b} && exec {COTEADM} fs-check --json --quick {a} {b}");
    let (out, dir2) = match in_mount_namespace(&script) {
        Some(out) => (out, b),
        None => {
            eprintln!("no private mount namespace here: DIR itself serves as DIR2");
            (run(&["--json", "--quick", a, a]), a)
        }
    };
    let json = parse(&out);
    assert_local_disk(&json, true);
    assert_eq!(str_at(&json, &["dirs", "dir2"]), dir2);
    assert_eq!(at(&json, &["dirs", "same_device"]).as_bool(), Some(true));
    let notes = at(&json, &["notes"]);
    assert!(notes.to_string().contains("same device"), "{notes}");
    assert_empty(dir.path());
    assert_empty(mount.path());
}

#[test]
fn errors_have_exit_codes_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = run(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing: No such directory"), "{stderr}");

    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    assert_eq!(run(&[file.to_str().unwrap()]).status.code(), Some(66));

    let other = tempfile::tempdir().unwrap();
    let out = run(&[dir.path().to_str().unwrap(), other.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seen through another mount"), "{stderr}");
    assert_empty(other.path());
    std::fs::remove_file(&file).unwrap();
    assert_empty(dir.path());

    for usage in [&[][..], &["--nope", "/tmp"], &["/a", "/b", "/c"]] {
        assert_eq!(run(usage).status.code(), Some(64), "{usage:?}");
    }
}

#[test]
fn read_only_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().to_str().unwrap();
    let script = format!("mount --bind -o ro {a} {a} && exec {COTEADM} fs-check {a}");
    let Some(out) = in_mount_namespace(&script) else {
        eprintln!("no private mount namespace here: read-only case not run");
        return;
    };
    assert_eq!(out.status.code(), Some(73), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not writable"), "{stderr}");
    assert_empty(dir.path());
}

#[test]
fn clock_skew_under_faketime() {
    let dir = tempfile::tempdir().unwrap();
    let Ok(out) = Command::new("faketime")
        .args(["-f", "+3s", COTEADM, "fs-check", "--json", "--quick"])
        .arg(dir.path())
        .output()
    else {
        eprintln!("faketime is not installed: clock skew case not run");
        return;
    };
    let json = parse(&out);
    let skew = at(&json, &["timing", "clock_skew_ms"]).as_i64().unwrap();
    // The local clock is 3 s ahead: the server's is 3 s behind (less the probe's own time).
    assert!((-3500..=-2500).contains(&skew), "skew {skew} ms");
    let notes = at(&json, &["notes"]).to_string();
    assert!(notes.contains("3.0 s behind"), "{notes}");
    assert_empty(dir.path());
}
