//! mbox writers killed (SIGKILL) at every step of a write: nothing acknowledged is lost, no
//! message is lost or duplicated, untouched messages keep their UIDs, and mail another
//! program (the MTA) appended to the file after the crash, before any cote session
//! repaired it, is kept too.
//!
//! Each case: an INBOX mbox with six messages saved by cote (`m1`..`m6`, UIDs 1..6, \Seen
//! on even UIDs) and one delivered by the MTA (no Dovecot headers, so the next writer must
//! give it UID 7 in the file); a writer runs one operation with a crash point
//! (`COTE_STORAGE_CRASH_AT`) and must die there; the MTA appends `late`; a fresh session
//! must then see everything.
//!
//! `concurrent_writers_and_the_mta`: three cote sessions (processes) saving, changing flags
//! and expunging at once while the MTA appends under Debian's lock order (fcntl, then the
//! dotlock): every message saved or delivered and not expunged is there once, at the end.
//!
//! `harness = false`: the binary re-executes itself as the writers.

mod fs_support;
mod storage_support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use cote::storage::api::{
    FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use cote::storage::crash::POINTS;
use cote::storage::mbox::format::{assign_uids, parse_mbox};
use cote::storage::settings::StorageSettings;
use cote::storage::user::MailUser;
use fs_support::{child, crash_at, role, run, Test};
use storage_support::{message, snapshot, token_of, user_at};

fn inbox(home: &Path) -> PathBuf {
    home.join("spool")
}

fn mbox_user(home: &Path) -> MailUser {
    let mut settings = StorageSettings::dovecot_defaults();
    settings.temp_dir = home.to_path_buf();
    let location = format!(
        "mbox:{}/mail:INBOX={}",
        home.display(),
        inbox(home).display()
    );
    user_at(&location, home, settings)
}

fn mta_deliver(home: &Path, token: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(inbox(home))
        .unwrap();
    let text = format!(
        "From mta@example.com  Sun Nov 29 01:02:03 2026\nSubject: {token}\n\nbody {token}\n\n"
    );
    f.write_all(text.as_bytes()).unwrap();
}

/// Writer: `op HOME OP`: one operation that a crash point interrupts.
fn writer_op(args: &[String]) -> ExitCode {
    let [home, op] = args else {
        return ExitCode::from(2);
    };
    let home = PathBuf::from(home);
    let mut user = mbox_user(&home);
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
    let store = |mb: &mut dyn Mailbox, kw: &[&str]| {
        mb.store(
            &UidSet::range(1, 7),
            &StoreRequest {
                mode: FlagMode::Add,
                flags: MailFlags::FLAGGED,
                keywords: kw.iter().map(|s| s.to_string()).collect(),
                unchanged_since: None,
            },
        )
        .expect("store");
    };
    match op.as_str() {
        "save" => {
            let data = message("crash");
            let msg = NewMessage {
                data: &data,
                flags: MailFlags::SEEN,
                keywords: vec![],
                internal_date: None,
            };
            mb.save(&[msg], true).expect("save");
        }
        "expunge" => {
            mb.expunge(&UidSet::range(2, 3)).expect("expunge");
        }
        "expunge-first" => {
            mb.expunge(&UidSet::range(1, 1)).expect("expunge");
        }
        "flags" => store(&mut *mb, &[]),
        "flags-new-keyword" => store(&mut *mb, &["k"]),
        // opening synced already
        "sync" => {}
        _ => return ExitCode::from(2),
    }
    // Reaching here means the crash point was never reached.
    ExitCode::from(7)
}

/// Six messages by cote, then one by the MTA: given UID 7 in the file by a session unless
/// `leave_mta` (the operation under test is that sync).
fn setup(home: &Path, leave_mta: bool) {
    std::fs::create_dir_all(home.join("mail")).unwrap();
    let mut user = mbox_user(home);
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).unwrap();
    for i in 1..=6u32 {
        let data = message(&format!("m{i}"));
        let flags = if i % 2 == 0 {
            MailFlags::SEEN
        } else {
            MailFlags::empty()
        };
        let msg = NewMessage {
            data: &data,
            flags,
            keywords: vec![],
            internal_date: None,
        };
        assert_eq!(mb.save(&[msg], true).unwrap().uids, [i]);
    }
    drop(mb);
    mta_deliver(home, "mta");
    if !leave_mta {
        drop(user.open("INBOX", OpenOptions::ACCESS).unwrap());
    }
}

/// What a fresh session sees: token → (uid, flags), checking that no token is there twice
/// and that the file then has every UID written.
fn check(home: &Path) -> BTreeMap<String, (u32, Vec<&'static str>)> {
    let mut user = mbox_user(home);
    let mut mb = user
        .open("INBOX", OpenOptions::ACCESS)
        .expect("open after the crash");
    mb.sync(SyncFlags::default()).expect("sync after the crash");
    let snap = snapshot(&*mb);
    let mut out = BTreeMap::new();
    for (uid, (flags, _)) in snap {
        let data = mb.mail(uid).unwrap().raw().unwrap().to_vec();
        let token = token_of(&data).unwrap();
        assert!(
            out.insert(token.clone(), (uid, flags)).is_none(),
            "{token} twice"
        );
    }
    let data = std::fs::read(inbox(home)).unwrap();
    let file = parse_mbox(&data).unwrap();
    assert!(assign_uids(&file).uids.iter().all(|u| u.in_file));
    // the mailbox works on: a save gets the next UID
    let data = message("after");
    let saved = mb
        .save(
            &[NewMessage {
                data: &data,
                flags: MailFlags::empty(),
                keywords: vec![],
                internal_date: None,
            }],
            true,
        )
        .unwrap();
    assert!(saved.uids[0] > out.values().map(|v| v.0).max().unwrap_or(0));
    out
}

/// The crash points of one rewrite, in order.
fn rewrite_points() -> Vec<&'static str> {
    POINTS
        .iter()
        .copied()
        .filter(|p| p.starts_with("mbox-rewrite-"))
        .collect()
}

/// Kills `op` at each of `points`, then checks: every message not asked to be expunged is
/// there with its UID (the MTA's as 7, `late` after it), and `expunged` ones are either
/// all there or all gone.
fn crash_everywhere(op: &str, points: &[&str], expunged: &[&str]) {
    for point in points {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        setup(home, op == "sync");
        crash_at(&["op", &home.display().to_string(), op], point);
        mta_deliver(home, "late");
        let seen = check(home);
        let mut want: Vec<(String, u32)> = (1..=6u32).map(|i| (format!("m{i}"), i)).collect();
        want.push(("mta".into(), 7));
        for (token, uid) in &want {
            if expunged.contains(&token.as_str()) {
                continue;
            }
            assert_eq!(
                seen.get(token).map(|v| v.0),
                Some(*uid),
                "{op} killed at {point}: {token} lost or renumbered: {seen:?}"
            );
        }
        let gone = expunged.iter().filter(|t| !seen.contains_key(**t)).count();
        assert!(
            gone == 0 || gone == expunged.len(),
            "{op} killed at {point}: half an expunge: {seen:?}"
        );
        let late = seen.get("late").map(|v| v.0);
        assert!(
            late.is_some_and(|uid| uid >= 8),
            "{op} killed at {point}: late mail lost: {seen:?}"
        );
        if op == "save" {
            // durable before the crash point
            assert_eq!(seen.get("crash").map(|v| v.0), Some(8), "{seen:?}");
        }
    }
}

fn sync_giving_uids() {
    // The MTA's message gets UID 7 written: a tail rewrite.
    crash_everywhere("sync", &rewrite_points(), &[]);
}

fn expunge_in_the_middle() {
    let mut points = rewrite_points();
    points.push("mbox-expunge-written");
    crash_everywhere("expunge", &points, &["m2", "m3"]);
}

fn expunge_the_first() {
    crash_everywhere("expunge-first", &rewrite_points(), &["m1"]);
}

fn save_before_the_last_uid_is_raised() {
    crash_everywhere("save", &["mbox-save-appended"], &[]);
}

fn flags_in_place() {
    crash_everywhere("flags", &["mbox-headers-in-place"], &[]);
}

fn flags_with_a_new_keyword() {
    crash_everywhere("flags-new-keyword", &rewrite_points(), &[]);
}

/// Writer: `hammer HOME ID N`: N saves of `wID-i`, a flag change on every second one, and
/// every third one expunged again; prints `saved TOKEN` and `expunged TOKEN` as it goes.
fn writer_hammer(args: &[String]) -> ExitCode {
    let [home, id, n] = args else {
        return ExitCode::from(2);
    };
    let home = PathBuf::from(home);
    let n: u32 = n.parse().unwrap_or(0);
    let mut user = mbox_user(&home);
    let mut mb = user.open("INBOX", OpenOptions::SELECT).expect("open");
    let mut out = std::io::stdout();
    for i in 0..n {
        let token = format!("w{id}-{i}");
        let data = message(&token);
        let msg = NewMessage {
            data: &data,
            flags: MailFlags::empty(),
            keywords: vec![],
            internal_date: None,
        };
        let uid = mb.save(&[msg], true).expect("save").uids[0];
        writeln!(out, "saved {token}").unwrap();
        if i % 2 == 0 {
            let request = StoreRequest {
                mode: FlagMode::Add,
                flags: MailFlags::FLAGGED,
                keywords: vec![format!("k{id}")],
                unchanged_since: None,
            };
            mb.store(&UidSet::range(uid, uid), &request).expect("store");
        }
        if i % 3 == 0 {
            mb.expunge(&UidSet::range(uid, uid)).expect("expunge");
            writeln!(out, "expunged {token}").unwrap();
        }
        mb.sync(SyncFlags::default()).expect("sync");
        mb.take_expunges();
    }
    ExitCode::SUCCESS
}

/// Appends as Postfix `local` does on Debian: fcntl lock, then `<mbox>.lock`, then the
/// message at the end of the file.
fn mta_locked_append(home: &Path, token: &str) {
    use std::os::fd::AsRawFd;
    let path = inbox(home);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .unwrap();
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as i16;
    fl.l_whence = libc::SEEK_SET as i16;
    // SAFETY: a valid descriptor and a zeroed flock filled in.
    assert_eq!(
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLKW, &fl) },
        0
    );
    let lock = home.join("spool.lock");
    while std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
        .is_err()
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let text = format!(
        "From mta@example.com  Sun Nov 29 01:02:03 2026\nSubject: {token}\n\nbody {token}\n\n"
    );
    let end = f.metadata().unwrap().len();
    std::os::unix::fs::FileExt::write_all_at(&f, text.as_bytes(), end).unwrap();
    f.sync_all().unwrap();
    std::fs::remove_file(&lock).unwrap();
    drop(f); // closing drops the fcntl lock
}

fn concurrent_writers_and_the_mta() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("mail")).unwrap();
    let writers: Vec<_> = (0..3)
        .map(|id| {
            child(
                &["hammer", &home.display().to_string(), &id.to_string(), "25"],
                &[],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn writer")
        })
        .collect();
    let mut delivered = Vec::new();
    for i in 0..20 {
        let token = format!("mta-{i}");
        mta_locked_append(home, &token);
        delivered.push(token);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut saved = Vec::new();
    let mut expunged = Vec::new();
    for w in writers {
        let out = w.wait_with_output().expect("writer");
        assert!(out.status.success(), "writer failed: {}", out.status);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match line.split_once(' ') {
                Some(("saved", t)) => saved.push(t.to_string()),
                Some(("expunged", t)) => expunged.push(t.to_string()),
                _ => {}
            }
        }
    }
    assert_eq!(saved.len(), 75);
    let seen = check(home);
    let mut want: Vec<String> = saved
        .into_iter()
        .filter(|t| !expunged.contains(t))
        .chain(delivered)
        .collect();
    want.sort();
    let mut got: Vec<String> = seen.keys().cloned().collect();
    got.sort();
    assert_eq!(got, want);
}

/// The unprivileged user and the privileged group of [`privileged_group_dotlocks`].
const USER_ID: u32 = 1000;
const MAIL_GID: u32 = 4242;

/// Writer: `privileged HOME`: as uid 1000 with `MAIL_GID` only as its saved gid (what the
/// master gives a mail process with `mail_privileged_group = mail`), saves to and expunges
/// from an INBOX in `HOME/spool-dir` (root:MAIL_GID, 2775, like Debian's `/var/mail`).
fn writer_privileged(args: &[String]) -> ExitCode {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let [home] = args else {
        return ExitCode::from(2);
    };
    let home = PathBuf::from(home);
    let user_gid = Gid::from_raw(USER_ID);
    setgroups(&[]).expect("setgroups");
    setresgid(user_gid, user_gid, Gid::from_raw(MAIL_GID)).expect("setresgid");
    let uid = Uid::from_raw(USER_ID);
    setresuid(uid, uid, uid).expect("setresuid");
    let mut settings = StorageSettings::dovecot_defaults();
    settings.temp_dir = home.clone();
    let location = format!(
        "mbox:{}/mail:INBOX={}/spool-dir/u",
        home.display(),
        home.display()
    );
    let mut user = user_at(&location, &home, settings);
    let mut mb = user.open("INBOX", OpenOptions::SELECT).expect("open");
    for token in ["p1", "p2"] {
        let data = message(token);
        let msg = NewMessage {
            data: &data,
            flags: MailFlags::empty(),
            keywords: vec![],
            internal_date: None,
        };
        mb.save(&[msg], true).expect("save");
    }
    mb.expunge(&UidSet::range(1, 1)).expect("expunge");
    ExitCode::SUCCESS
}

fn privileged_group_dotlocks() {
    use std::os::unix::fs::{chown, PermissionsExt};
    if !nix::unistd::geteuid().is_root() {
        println!("privileged_group_dotlocks: skipped, it needs root to switch users");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spool_dir = home.join("spool-dir");
    std::fs::create_dir(&spool_dir).unwrap();
    chown(&spool_dir, Some(0), Some(MAIL_GID)).unwrap();
    std::fs::set_permissions(&spool_dir, std::fs::Permissions::from_mode(0o2775)).unwrap();
    // the MTA created the spool file, the user's, group mail
    let spool = spool_dir.join("u");
    std::fs::write(&spool, b"").unwrap();
    chown(&spool, Some(USER_ID), Some(MAIL_GID)).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o660)).unwrap();
    std::fs::create_dir(home.join("mail")).unwrap();
    chown(home.join("mail"), Some(USER_ID), Some(USER_ID)).unwrap();
    let status = child(&["privileged", &home.display().to_string()], &[])
        .stdin(Stdio::null())
        .status()
        .expect("spawn writer");
    assert!(status.success(), "the unprivileged writer failed: {status}");
    assert!(!spool_dir.join("u.lock").exists(), "dotlock left behind");
    let data = std::fs::read_to_string(&spool).unwrap();
    assert!(
        !data.contains("Subject: p1") && data.contains("Subject: p2"),
        "{data}"
    );
}

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("op") => writer_op(&args[1..]),
            Some("hammer") => writer_hammer(&args[1..]),
            Some("privileged") => writer_privileged(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let tests: &[Test] = &[
        ("sync_giving_uids", sync_giving_uids),
        ("expunge_in_the_middle", expunge_in_the_middle),
        ("expunge_the_first", expunge_the_first),
        (
            "save_before_the_last_uid_is_raised",
            save_before_the_last_uid_is_raised,
        ),
        ("flags_in_place", flags_in_place),
        ("flags_with_a_new_keyword", flags_with_a_new_keyword),
        (
            "concurrent_writers_and_the_mta",
            concurrent_writers_and_the_mta,
        ),
        ("privileged_group_dotlocks", privileged_group_dotlocks),
    ];
    run(tests)
}
