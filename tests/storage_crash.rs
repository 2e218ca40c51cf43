//! Writers killed (SIGKILL) in the middle of Maildir writes: nothing acknowledged is lost,
//! the next open repairs what the crash left (stale locks, a uidlist ahead of the index,
//! renamed or unlinked files the index does not know about, a torn index log), and UIDs are
//! never duplicated.
//!
//! - `point_*`: a writer stops exactly at a named point (`COTE_STORAGE_CRASH_AT`, see
//!   `cote::storage::crash`) inside a save, an expunge, a flag change, a uidlist rewrite or
//!   a sync assigning UIDs; the next session must find the mailbox consistent.
//! - `random_kills`: a writer doing random saves, flag changes and expunges is killed at
//!   random moments, again and again (with tiny index log rotation thresholds and
//!   transactions written in two halves, so kills also land inside log writes and
//!   rotations); every acknowledged operation must hold at the end.
//!
//! `harness = false`: the binary re-executes itself as the writers.

mod fs_support;
mod storage_support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use cote::storage::api::{
    FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use cote::storage::settings::StorageSettings;
use fs_support::{child, crash_at, role, run, Test};
use storage_support::{
    check_cifs_names, fresh_snapshot, message, remove_index, settings, snapshot, token_of, uidlist,
    user, Rng,
};

const FULL: SyncFlags = SyncFlags {
    full: true,
    fast: false,
};

fn crash_settings(lock: &str, temp: &Path, split_writes: bool) -> StorageSettings {
    let mut s = settings(lock, lock == "dotlock", temp);
    s.index.rewrite_min_log_bytes = 512;
    s.index.rewrite_max_log_bytes = 2048;
    s.index.log_rotate_min_size = 1024;
    s.index.log_rotate_max_size = 4096;
    if split_writes {
        s.index.hooks.pause_mid_write = Some(Duration::from_millis(3));
    }
    s
}

fn save_one(mb: &mut dyn Mailbox, token: &str, flags: MailFlags) -> u32 {
    let data = message(token);
    mb.save(
        &[NewMessage {
            data: &data,
            flags,
            keywords: vec![],
            internal_date: None,
        }],
        true,
    )
    .expect("save")
    .uids[0]
}

fn store(mb: &mut dyn Mailbox, uids: UidSet, mode: FlagMode, flags: MailFlags, kw: &[&str]) {
    mb.store(
        &uids,
        &StoreRequest {
            mode,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            unchanged_since: None,
        },
    )
    .expect("store");
}

/// Writer: `op ROOT OP`: one operation that a crash point interrupts.
fn writer_op(args: &[String]) -> ExitCode {
    let [root, op] = args else {
        return ExitCode::from(2);
    };
    let root = PathBuf::from(root);
    let temp = root.parent().unwrap().to_path_buf();
    let mut user = user(&root, crash_settings("fcntl", &temp, false));
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
    match op.as_str() {
        "save" => {
            save_one(&mut *mb, "crash", MailFlags::SEEN);
        }
        "expunge" => {
            mb.expunge(&UidSet::range(2, 3)).expect("expunge");
        }
        "expunge-most" => {
            mb.expunge(&UidSet::range(1, 8)).expect("expunge");
        }
        "flags" => store(
            &mut *mb,
            UidSet::range(1, 10),
            FlagMode::Add,
            MailFlags::FLAGGED,
            &["k"],
        ),
        "sync" => {
            mb.sync(FULL).expect("sync");
        }
        _ => return ExitCode::from(2),
    }
    // Reaching here means the crash point was never reached.
    ExitCode::from(7)
}

/// A mailbox with ten messages (`m1`..`m10`, UIDs 1..10, \Seen on even UIDs).
fn setup(dir: &Path) -> PathBuf {
    let root = dir.join("Maildir");
    let mut user = user(&root, crash_settings("fcntl", dir, false));
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).unwrap();
    for i in 1..=10 {
        let flags = if i % 2 == 0 {
            MailFlags::SEEN
        } else {
            MailFlags::empty()
        };
        assert_eq!(save_one(&mut *mb, &format!("m{i}"), flags), i);
    }
    root
}

/// Tokens by UID of what a fresh session sees, after checking the invariants every crash
/// must leave intact: UIDVALIDITY, increasing uidlist UIDs, no token twice, and an index
/// that a rebuild from the Maildir reproduces.
fn check(root: &Path, uidvalidity: u32) -> BTreeMap<u32, (String, Vec<&'static str>, Vec<String>)> {
    let temp = root.parent().unwrap();
    let mut user = user(root, crash_settings("fcntl", temp, false));
    let mut mb = user
        .open("INBOX", OpenOptions::ACCESS)
        .expect("open after the crash");
    mb.sync(FULL).expect("sync after the crash");
    mb.take_expunges();
    assert_eq!(mb.uidvalidity(), uidvalidity);
    let snap = snapshot(&*mb);
    let mut out = BTreeMap::new();
    let mut seen = HashSet::new();
    for (uid, (flags, kw)) in &snap {
        let data = mb.mail(*uid).unwrap().raw().unwrap().to_vec();
        let token = token_of(&data).unwrap();
        assert!(seen.insert(token.clone()), "{token} twice");
        out.insert(*uid, (token, flags.clone(), kw.clone()));
    }
    let (uv, uids) = uidlist(root);
    assert_eq!(uv, uidvalidity);
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "uidlist order: {uids:?}"
    );
    drop(mb);
    remove_index(root);
    assert_eq!(
        fresh_snapshot(&mut user, "INBOX"),
        snap,
        "rebuilt index differs"
    );
    out
}

fn point_test(
    point: &str,
    op: &str,
    verify: impl Fn(&BTreeMap<u32, (String, Vec<&'static str>, Vec<String>)>, &Path),
) {
    let dir = tempfile::tempdir().unwrap();
    let root = setup(dir.path());
    let (uv, _) = uidlist(&root);
    if op == "sync" {
        // A delivery by another program, waiting for a UID.
        std::fs::write(root.join("new/1.M1P1.elsewhere,S=20"), message("delivered")).unwrap();
    }
    crash_at(&["op", &root.display().to_string(), op], point);
    let state = check(&root, uv);
    verify(&state, &root);
    // The mailbox works on: a save gets the next UID.
    let mut user = user(&root, crash_settings("fcntl", dir.path(), false));
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).unwrap();
    let next = save_one(&mut *mb, "after", MailFlags::empty());
    assert!(next > *state.keys().last().unwrap_or(&0));
    check_cifs_names(dir.path());
}

fn tokens(state: &BTreeMap<u32, (String, Vec<&'static str>, Vec<String>)>) -> Vec<String> {
    state.values().map(|v| v.0.clone()).collect()
}

fn point_save_tmp_written() {
    point_test("save-tmp-written", "save", |s, root| {
        assert!(!tokens(s).contains(&"crash".to_string()));
        assert_eq!(
            std::fs::read_dir(root.join("tmp")).unwrap().count(),
            1,
            "stale tmp file"
        );
    });
}

fn point_save_moved() {
    point_test("save-moved", "save", |s, _| {
        // Moved into place but without a UID: the next sync gives it one.
        assert_eq!(s.get(&11).map(|v| v.0.as_str()), Some("crash"));
        assert_eq!(s[&11].1, ["\\Seen"]);
    });
}

fn point_save_uid_assigned() {
    point_test("save-uid-assigned", "save", |s, _| {
        // The uidlist had it, the index did not: the next session adds it.
        assert_eq!(s.get(&11).map(|v| v.0.as_str()), Some("crash"));
    });
}

fn point_expunge_unlinked() {
    point_test("expunge-unlinked", "expunge", |s, _| {
        assert!(!s.contains_key(&2));
        assert!(s.contains_key(&3));
        assert_eq!(s.len(), 9);
    });
}

fn point_expunge_uidlist_written() {
    point_test("expunge-uidlist-written", "expunge", |s, _| {
        assert!(!s.contains_key(&2) && !s.contains_key(&3));
        assert_eq!(s.len(), 8);
    });
}

fn point_flags_renamed() {
    point_test("flags-renamed", "flags", |s, _| {
        // The first file was renamed; the index learns it from the name.
        assert_eq!(s[&1].1, ["\\Flagged"]);
        assert_eq!(s[&1].2, ["k"]);
        assert!(s[&2].1 == ["\\Seen"] && s[&2].2.is_empty());
    });
}

fn point_uidlist_rewrite_written() {
    point_test("uidlist-rewrite-written", "expunge-most", |s, root| {
        // The files went before the rewrite; the old uidlist is still whole.
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), [9, 10]);
        let text = std::fs::read_to_string(root.join("dovecot-uidlist")).unwrap();
        assert!(text.lines().count() >= 2);
    });
}

fn point_sync_uids_assigned() {
    point_test("sync-uids-assigned", "sync", |s, _| {
        assert_eq!(s.get(&11).map(|v| v.0.as_str()), Some("delivered"));
    });
}

/// Writer: `random ROOT LOCK SPLIT SEED LOG`: random operations, each logged with `B ...`
/// before and `A ...` once acknowledged, until killed.
fn writer_random(args: &[String]) -> ExitCode {
    let [root, lock, split, seed, log] = args else {
        return ExitCode::from(2);
    };
    let root = PathBuf::from(root);
    let temp = root.parent().unwrap().to_path_buf();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .expect("log");
    let mut line = |text: String| {
        log.write_all(format!("{text}\n").as_bytes()).expect("log");
    };
    let mut user = user(&root, crash_settings(lock, &temp, split == "yes"));
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
    let seed: u64 = seed.parse().unwrap_or(1);
    let mut rng = Rng::new(seed);
    println!("READY");
    let _ = std::io::stdout().flush();
    let mut n = 0;
    loop {
        n += 1;
        let uids = mb.seqs().uids().to_vec();
        match rng.below(10) {
            0..=4 => {
                let token = format!("r{seed}-{n}");
                line(format!("B S {token}"));
                let uid = save_one(&mut *mb, &token, MailFlags::empty());
                line(format!("A S {token} {uid}"));
            }
            5..=7 if !uids.is_empty() => {
                let uid = uids[rng.below(uids.len())];
                let kw = format!("k{}", rng.below(3));
                let on = rng.below(2) == 0;
                line(format!("B K {uid} {kw} {}", u8::from(on)));
                let mode = if on { FlagMode::Add } else { FlagMode::Remove };
                store(
                    &mut *mb,
                    UidSet::range(uid, uid),
                    mode,
                    MailFlags::empty(),
                    &[&kw],
                );
                line(format!("A K {uid} {kw} {}", u8::from(on)));
            }
            8 if !uids.is_empty() => {
                let uid = uids[rng.below(uids.len())];
                line(format!("B X {uid}"));
                mb.expunge(&UidSet::range(uid, uid)).expect("expunge");
                line(format!("A X {uid}"));
            }
            _ => {
                mb.sync(SyncFlags::default()).expect("sync");
                mb.take_expunges();
            }
        }
    }
}

fn random_kills() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Maildir");
    let log = dir.path().join("ops.log");
    drop(
        user(&root, crash_settings("fcntl", dir.path(), false))
            .open("INBOX", OpenOptions::ACCESS)
            .unwrap(),
    );
    let (uv, _) = uidlist(&root);
    let mut rng = Rng::new(u64::from(std::process::id()));
    let rounds = 16;
    for round in 0..rounds {
        let lock = ["fcntl", "flock", "dotlock"][round % 3];
        let split = if round % 2 == 0 { "yes" } else { "no" };
        let args = [
            "random".to_string(),
            root.display().to_string(),
            lock.to_string(),
            split.to_string(),
            (round + 1).to_string(),
            log.display().to_string(),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut writer = child(&refs, &[])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut ready = String::new();
        BufReader::new(writer.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(
            ready.trim(),
            "READY",
            "round {round}: the writer did not start"
        );
        std::thread::sleep(Duration::from_millis(20 + rng.below(400) as u64));
        writer.kill().unwrap();
        let status = writer.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "round {round}: {status}"
        );
    }
    // What the log says must hold: acknowledged saves present exactly once (unless their
    // expunge was acknowledged or begun), acknowledged keyword states (unless a later
    // change of the same keyword was begun and not acknowledged).
    let text = std::fs::read_to_string(&log).unwrap();
    let mut saves: HashMap<String, u32> = HashMap::new();
    let mut begun_saves = HashSet::new();
    let mut expunged = HashSet::new();
    let mut maybe_expunged = HashSet::new();
    let mut keywords: HashMap<(u32, String), bool> = HashMap::new();
    let mut uncertain: HashSet<(u32, String)> = HashSet::new();
    let mut acked = 0;
    for l in text.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        match (f[0], f[1]) {
            ("B", "S") => {
                begun_saves.insert(f[2].to_string());
            }
            ("A", "S") => {
                acked += 1;
                saves.insert(f[2].to_string(), f[3].parse().unwrap());
            }
            ("B", "K") => {
                uncertain.insert((f[2].parse().unwrap(), f[3].to_string()));
            }
            ("A", "K") => {
                acked += 1;
                let key = (f[2].parse().unwrap(), f[3].to_string());
                uncertain.remove(&key);
                keywords.insert(key, f[4] == "1");
            }
            ("B", "X") => {
                maybe_expunged.insert(f[2].parse::<u32>().unwrap());
            }
            ("A", "X") => {
                acked += 1;
                expunged.insert(f[2].parse::<u32>().unwrap());
            }
            _ => {}
        }
    }
    let state = check(&root, uv);
    let by_token: HashMap<&str, u32> = state.iter().map(|(u, v)| (v.0.as_str(), *u)).collect();
    for (token, uid) in &saves {
        if expunged.contains(uid) {
            assert!(
                !state.contains_key(uid),
                "{token}: expunged UID {uid} is back"
            );
        } else if !maybe_expunged.contains(uid) {
            assert_eq!(
                by_token.get(token.as_str()),
                Some(uid),
                "acknowledged save {token}"
            );
        }
    }
    for token in by_token.keys() {
        assert!(begun_saves.contains(*token), "{token} was never saved");
    }
    for ((uid, kw), on) in &keywords {
        if let (Some(v), false) = (state.get(uid), uncertain.contains(&(*uid, kw.clone()))) {
            assert_eq!(v.2.contains(kw), *on, "{kw} on UID {uid}");
        }
    }
    check_cifs_names(dir.path());
    println!(
        "    {rounds} writers killed; {acked} acknowledged operations checked, {} messages at the end",
        state.len()
    );
}

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("op") => writer_op(&args[1..]),
            Some("random") => writer_random(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let tests: &[Test] = &[
        ("point_save_tmp_written", point_save_tmp_written),
        ("point_save_moved", point_save_moved),
        ("point_save_uid_assigned", point_save_uid_assigned),
        ("point_expunge_unlinked", point_expunge_unlinked),
        (
            "point_expunge_uidlist_written",
            point_expunge_uidlist_written,
        ),
        ("point_flags_renamed", point_flags_renamed),
        (
            "point_uidlist_rewrite_written",
            point_uidlist_rewrite_written,
        ),
        ("point_sync_uids_assigned", point_sync_uids_assigned),
        ("random_kills", random_kills),
    ];
    run(tests)
}
