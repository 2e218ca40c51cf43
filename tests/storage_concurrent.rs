//! Eight processes, each with its own index state, hammer one Maildir INBOX through the
//! storage API — saves, copies from another mailbox, flag and keyword changes, expunges —
//! for a bounded time under each `lock_method` and both `mmap_disable` values. Then:
//!
//! - every acknowledged save is present exactly once (unless its expunge was acknowledged),
//!   under the UID it was acknowledged with; every acknowledged copy is there; nothing else;
//! - `dovecot-uidlist` has strictly increasing UIDs and the UIDVALIDITY it started with;
//! - no flag change was lost: each worker owns one keyword (it alone sets and clears it, on
//!   any message, racing the others' renames of the same files) and `\Flagged` of the
//!   messages it saved, so the last acknowledged change decides each;
//! - every worker's own view, refreshed incrementally, equals a fresh session's;
//! - deleting `cote.index*` and rebuilding from the Maildir gives the same state.
//!
//! With `COTE_FS_SHARED_MOUNTS="/mnt/g1 /mnt/g2"` (two mounts of one GlusterFS volume, see
//! shared/sharedfs-setup.sh) the `shared_*` tests run the same hammer across the mounts:
//! half the workers on each, each mount a "host" (`DOVECOT_HOSTNAME`), with the settings
//! Dovecot recommends for several hosts (NFS flushes, `mmap_disable`, `mail_fsync=always`).
//!
//! `harness = false`: the binary re-executes itself as the workers. Time per configuration:
//! `COTE_STORAGE_HAMMER_MS` (default 6000). Throughput is printed, never asserted.

mod fs_support;
mod storage_support;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use cote::storage::api::{
    FlagMode, MailFlags, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use fs_support::{child, role, run, Test};
use storage_support::{
    check_cifs_names, flagged, fresh_snapshot, message, remove_index, settings, shared_settings,
    snapshot, token_of, uidlist, user, Rng, Seen,
};

const SHARED_MOUNTS_ENV: &str = "COTE_FS_SHARED_MOUNTS";

/// The test's settings: local (`lock`, `mmap_disable`) or shared across mounts.
fn config(
    lock: &str,
    mmap_disable: bool,
    shared: bool,
    temp: &Path,
) -> cote::storage::settings::StorageSettings {
    if shared {
        shared_settings(lock, temp)
    } else {
        settings(lock, mmap_disable, temp)
    }
}

const WORKERS: usize = 8;
const SOURCE_MESSAGES: usize = 20;

fn hammer_ms() -> u64 {
    std::env::var("COTE_STORAGE_HAMMER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6000)
}

/// A digest of a snapshot, for comparing views across processes.
fn digest(snap: &BTreeMap<u32, Seen>) -> String {
    let mut out = String::new();
    for (uid, (flags, kw)) in snap {
        out.push_str(&format!("{uid}:{}:{};", flags.join(","), kw.join(",")));
    }
    format!("{:016x}-{}", fnv(out.as_bytes()), snap.len())
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

struct Log(std::fs::File);

impl Log {
    fn line(&mut self, text: &str) {
        // One write per line (O_APPEND, local file): the parent reads whole lines.
        self.0
            .write_all(format!("{text}\n").as_bytes())
            .expect("log write");
    }
}

/// Worker: `hammer ROOT LOCK MMAP SHARED ID MILLIS LOG`. Logs every acknowledged operation:
/// `S token uid`, `C srcuid destuid`, `K uid 0|1` (its keyword), `F uid 0|1` (\Flagged of
/// its own message), `X uid`; then `DONE`; waits for ROOT/../verify, syncs and logs
/// `V digest`.
fn worker(args: &[String]) -> ExitCode {
    let [root, lock, mmap, shared, id, millis, log] = args else {
        return ExitCode::from(2);
    };
    let root = PathBuf::from(root);
    let id: u64 = id.parse().unwrap_or(0);
    let mut log = Log(std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .expect("log"));
    let temp = root.parent().unwrap().to_path_buf();
    let mut user = user(&root, config(lock, mmap == "yes", shared == "yes", &temp));
    let mut inbox = user.open("INBOX", OpenOptions::ACCESS).expect("open INBOX");
    let mut source = user
        .open("Source", OpenOptions::ACCESS)
        .expect("open Source");
    let mut rng = Rng::new(id + 1 + u64::from(std::process::id()));
    let keyword = format!("w{id}");
    let deadline = Instant::now() + Duration::from_millis(millis.parse().unwrap_or(1000));
    let mut mine: Vec<u32> = Vec::new();
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let choice = rng.below(100);
        if choice < 35 {
            let token = format!("w{id}-{n}");
            let data = message(&token);
            let flags = flagged(rng.below(4) == 0);
            let saved = inbox
                .save(
                    &[NewMessage {
                        data: &data,
                        flags,
                        keywords: Vec::new(),
                        internal_date: None,
                    }],
                    true,
                )
                .expect("save");
            let uid = saved.uids[0];
            log.line(&format!("S {token} {uid}"));
            if !flags.is_empty() {
                log.line(&format!("F {uid} 1"));
            }
            mine.push(uid);
        } else if choice < 50 {
            let src = rng.below(SOURCE_MESSAGES) as u32 + 1;
            let copied = inbox
                .copy_from(&mut *source, &UidSet::range(src, src))
                .expect("copy");
            log.line(&format!("C {src} {}", copied.dest_uids[0]));
        } else if choice < 75 {
            let uids = inbox.seqs().uids().to_vec();
            if uids.is_empty() {
                continue;
            }
            let uid = uids[rng.below(uids.len())];
            let on = rng.below(2) == 0;
            let result = inbox
                .store(
                    &UidSet::range(uid, uid),
                    &StoreRequest {
                        mode: if on { FlagMode::Add } else { FlagMode::Remove },
                        flags: MailFlags::empty(),
                        keywords: vec![keyword.clone()],
                        unchanged_since: None,
                    },
                )
                .expect("store keyword");
            if !result.expunged.contains(uid) {
                log.line(&format!("K {uid} {}", u8::from(on)));
            }
        } else if choice < 87 {
            if mine.is_empty() {
                continue;
            }
            let uid = mine[rng.below(mine.len())];
            let on = rng.below(2) == 0;
            let result = inbox
                .store(
                    &UidSet::range(uid, uid),
                    &StoreRequest {
                        mode: if on { FlagMode::Add } else { FlagMode::Remove },
                        flags: MailFlags::FLAGGED,
                        keywords: Vec::new(),
                        unchanged_since: None,
                    },
                )
                .expect("store flag");
            if !result.expunged.contains(uid) {
                log.line(&format!("F {uid} {}", u8::from(on)));
            }
        } else if choice < 95 {
            if mine.is_empty() {
                continue;
            }
            let uid = mine.swap_remove(rng.below(mine.len()));
            let gone = inbox.expunge(&UidSet::range(uid, uid)).expect("expunge");
            assert!(gone.contains(uid), "own message {uid} was not there");
            log.line(&format!("X {uid}"));
        } else {
            inbox.sync(SyncFlags::default()).expect("sync");
            inbox.take_expunges();
        }
    }
    log.line("DONE");
    let go = root.parent().unwrap().join("verify");
    let parent = nix::unistd::getppid();
    let give_up = Instant::now() + Duration::from_secs(300);
    while !go.exists() {
        // The parent failed (we were reparented) or forgot us: don't linger.
        if nix::unistd::getppid() != parent || Instant::now() > give_up {
            return ExitCode::from(5);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    inbox
        .sync(SyncFlags {
            full: true,
            fast: false,
        })
        .expect("final sync");
    inbox.take_expunges();
    log.line(&format!("V {}", digest(&snapshot(&*inbox))));
    ExitCode::SUCCESS
}

/// Worker processes, killed (by pid) if the test fails before they finish.
struct Workers(Vec<std::process::Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// What the workers' logs say must be true.
#[derive(Default)]
struct Expected {
    /// token → acknowledged UID.
    saves: HashMap<String, u32>,
    /// dest UID → source UID.
    copies: HashMap<u32, u32>,
    expunged: std::collections::HashSet<u32>,
    /// (uid, worker) → keyword set.
    keywords: HashMap<(u32, usize), bool>,
    /// uid → \Flagged.
    flagged: HashMap<u32, bool>,
    views: Vec<String>,
    ops: usize,
}

fn read_logs(dir: &Path) -> Expected {
    let mut e = Expected::default();
    for id in 0..WORKERS {
        let text = std::fs::read_to_string(dir.join(format!("w{id}.log"))).unwrap();
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let num = |i: usize| f[i].parse::<u32>().unwrap();
            e.ops += 1;
            match f[0] {
                "S" => {
                    assert!(
                        e.saves.insert(f[1].to_string(), num(2)).is_none(),
                        "token saved twice"
                    );
                }
                "C" => {
                    assert!(
                        e.copies.insert(num(2), num(1)).is_none(),
                        "UID {} acknowledged twice",
                        f[2]
                    );
                }
                "K" => {
                    e.keywords.insert((num(1), id), f[2] == "1");
                }
                "F" => {
                    e.flagged.insert(num(1), f[2] == "1");
                }
                "X" => {
                    e.expunged.insert(num(1));
                }
                "V" => e.views.push(f[1].to_string()),
                _ => e.ops -= 1,
            }
        }
    }
    e
}

/// Where the workers run: a local temp dir, or one directory seen through each shared
/// mount (workers alternate between them).
struct Place {
    _local: Option<tempfile::TempDir>,
    /// The test directory through each mount (one entry when local).
    dirs: Vec<PathBuf>,
}

impl Place {
    fn new(shared: bool, tag: &str) -> Place {
        if !shared {
            let dir = tempfile::tempdir().unwrap();
            let dirs = vec![dir.path().to_path_buf()];
            if std::env::var_os("COTE_KEEP_TEST_DIR").is_some() {
                println!("    keeping {}", dir.path().display());
                return Place {
                    _local: None,
                    dirs: vec![dir.keep()],
                };
            }
            return Place {
                _local: Some(dir),
                dirs,
            };
        }
        let mounts = std::env::var(SHARED_MOUNTS_ENV).expect("shared mounts");
        let name = format!("cote-storage.{}.{tag}", std::process::id());
        let dirs: Vec<PathBuf> = mounts
            .split_whitespace()
            .map(|m| Path::new(m).join(&name))
            .collect();
        std::fs::create_dir(&dirs[0]).unwrap();
        Place { _local: None, dirs }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if self._local.is_none() && std::env::var_os("COTE_KEEP_TEST_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dirs[0]);
        }
    }
}

fn run_config(lock: &str, mmap_disable: bool) {
    run_place(lock, mmap_disable, false);
}

fn run_place(lock: &str, mmap_disable: bool, shared: bool) {
    let place = Place::new(shared, lock);
    let dir = &place.dirs[0];
    let root = dir.join("Maildir");
    let mut setup = user(&root, config(lock, mmap_disable, shared, dir));
    setup.create("Source").unwrap();
    let mut source = setup.open("Source", OpenOptions::ACCESS).unwrap();
    let mut source_tokens = HashMap::new();
    for k in 1..=SOURCE_MESSAGES {
        let token = format!("src-{k}");
        let data = message(&token);
        let saved = source
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
        source_tokens.insert(saved.uids[0], token);
    }
    let uidvalidity = setup
        .open("INBOX", OpenOptions::ACCESS)
        .unwrap()
        .uidvalidity();
    drop(source);

    // Through every mount, the mailboxes must be visible before the workers start (mounts
    // that cache lookups may remember them as missing for a while).
    for d in &place.dirs {
        let until = Instant::now() + Duration::from_secs(60);
        while !(d.join("Maildir/cur").is_dir() && d.join("Maildir/.Source/cur").is_dir()) {
            assert!(
                Instant::now() < until,
                "{} never showed the mailboxes",
                d.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let millis = hammer_ms();
    let started = Instant::now();
    let mut children = Workers(Vec::new());
    for id in 0..WORKERS {
        let log = dir.join(format!("w{id}.log"));
        let mount = id % place.dirs.len();
        let host = format!("node{mount}");
        let args = [
            "hammer".to_string(),
            place.dirs[mount].join("Maildir").display().to_string(),
            lock.to_string(),
            if mmap_disable { "yes" } else { "no" }.to_string(),
            if shared { "yes" } else { "no" }.to_string(),
            id.to_string(),
            millis.to_string(),
            log.display().to_string(),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = if shared {
            vec![("DOVECOT_HOSTNAME", host.as_str())]
        } else {
            vec![]
        };
        children.0.push(
            child(&refs, &env)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn worker"),
        );
    }
    // All done, then all verify their views at once.
    let wait_until = Instant::now() + Duration::from_millis(millis) + Duration::from_secs(120);
    loop {
        let done = (0..WORKERS)
            .filter(|id| {
                std::fs::read_to_string(dir.join(format!("w{id}.log")))
                    .is_ok_and(|t| t.contains("DONE\n"))
            })
            .count();
        if done == WORKERS {
            break;
        }
        for c in &mut children.0 {
            if let Ok(Some(status)) = c.try_wait() {
                assert!(status.success(), "a worker failed: {status}");
            }
        }
        assert!(Instant::now() < wait_until, "workers did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let hammer_time = started.elapsed();
    std::fs::write(dir.join("verify"), b"").unwrap();
    for c in &mut children.0 {
        let status = c.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }
    let e = read_logs(dir);

    let mut checker = user(&root, config(lock, mmap_disable, shared, dir));
    let mut inbox = checker.open("INBOX", OpenOptions::EXAMINE).unwrap();
    inbox
        .sync(SyncFlags {
            full: true,
            fast: false,
        })
        .unwrap();
    let snap = snapshot(&*inbox);
    // Messages: exactly the acknowledged saves (minus acknowledged expunges) and copies.
    let mut by_uid = HashMap::new();
    for &uid in snap.keys() {
        let data = inbox.mail(uid).unwrap().raw().unwrap().to_vec();
        by_uid.insert(uid, token_of(&data).expect("token"));
    }
    for (token, &uid) in &e.saves {
        if e.expunged.contains(&uid) {
            assert!(!snap.contains_key(&uid), "expunged {uid} is back");
        } else {
            assert_eq!(by_uid.get(&uid), Some(token), "save {token} at UID {uid}");
        }
    }
    for (&dest, src) in &e.copies {
        assert_eq!(
            by_uid.get(&dest),
            source_tokens.get(src),
            "copy at UID {dest}"
        );
    }
    let live_saves = e.saves.values().filter(|u| !e.expunged.contains(u)).count();
    assert_eq!(snap.len(), live_saves + e.copies.len(), "no other messages");
    let mut tokens: Vec<&String> = by_uid.values().filter(|t| !t.starts_with("src-")).collect();
    tokens.sort();
    let before = tokens.len();
    tokens.dedup();
    assert_eq!(before, tokens.len(), "a save is present twice");

    // dovecot-uidlist: same UIDVALIDITY, UIDs strictly increasing.
    let (uv, uids) = uidlist(&root);
    assert_eq!(uv, uidvalidity);
    assert!(
        uids.windows(2).all(|w| w[0] < w[1]),
        "uidlist UIDs not increasing"
    );
    assert_eq!(inbox.uidvalidity(), uidvalidity);

    // No flag change lost.
    for (uid, (flags, kw)) in &snap {
        let want_flagged = e.flagged.get(uid).copied().unwrap_or(false);
        assert_eq!(
            flags.contains(&"\\Flagged"),
            want_flagged,
            "\\Flagged of {uid}"
        );
        for id in 0..WORKERS {
            let want = e.keywords.get(&(*uid, id)).copied().unwrap_or(false);
            assert_eq!(
                kw.contains(&format!("w{id}")),
                want,
                "w{id} on {uid}: {kw:?}"
            );
        }
    }

    // Every worker's incrementally refreshed view equals a fresh one.
    let fresh = digest(&snap);
    assert_eq!(e.views.len(), WORKERS);
    for v in &e.views {
        assert_eq!(v, &fresh, "a worker's view differs");
    }

    // The index is a cache: rebuilt from the Maildir, the state is the same.
    drop(inbox);
    remove_index(&root);
    let rebuilt = fresh_snapshot(&mut checker, "INBOX");
    assert_eq!(rebuilt, snap, "state after rebuilding the index");
    let reopened = checker.open("INBOX", OpenOptions::EXAMINE).unwrap();
    assert_eq!(reopened.uidvalidity(), uidvalidity);
    check_cifs_names(dir);

    println!(
        "    {}lock_method={lock} mmap_disable={}: {} acknowledged operations in {:.1}s ({:.0}/s), {} messages at the end",
        if shared { "shared mounts, " } else { "" },
        if mmap_disable { "yes" } else { "no" },
        e.ops,
        hammer_time.as_secs_f64(),
        e.ops as f64 / hammer_time.as_secs_f64(),
        snap.len()
    );
}

fn hammer_fcntl_mmap() {
    run_config("fcntl", false);
}
fn hammer_fcntl_nommap() {
    run_config("fcntl", true);
}
fn hammer_flock_mmap() {
    run_config("flock", false);
}
fn hammer_flock_nommap() {
    run_config("flock", true);
}
fn hammer_dotlock_mmap() {
    run_config("dotlock", false);
}
fn hammer_dotlock_nommap() {
    run_config("dotlock", true);
}

fn shared_hammer_fcntl() {
    run_place("fcntl", true, true);
}
fn shared_hammer_dotlock() {
    run_place("dotlock", true, true);
}

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("hammer") => worker(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let tests: &[Test] = &[
        ("hammer_fcntl_mmap", hammer_fcntl_mmap),
        ("hammer_fcntl_nommap", hammer_fcntl_nommap),
        ("hammer_flock_mmap", hammer_flock_mmap),
        ("hammer_flock_nommap", hammer_flock_nommap),
        ("hammer_dotlock_mmap", hammer_dotlock_mmap),
        ("hammer_dotlock_nommap", hammer_dotlock_nommap),
    ];
    let shared = std::env::var(SHARED_MOUNTS_ENV).is_ok_and(|m| m.split_whitespace().count() >= 2);
    if !shared {
        println!("{SHARED_MOUNTS_ENV} not set: the shared_* tests are not run");
        return run(tests);
    }
    let mut all = tests.to_vec();
    all.push(("shared_hammer_fcntl", shared_hammer_fcntl));
    all.push(("shared_hammer_dotlock", shared_hammer_dotlock));
    run(&all)
}
