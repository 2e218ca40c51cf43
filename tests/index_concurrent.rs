//! Several processes on one mailbox index (`harness = false`: the binary runs the checks and
//! re-executes itself as the worker processes; nothing forks inside a threaded harness).
//!
//! - `hammer`: 8 processes append, change flags and expunge for a bounded time, under each
//!   `lock_method` and both `mmap_disable` values, with small rotation and rewrite thresholds
//!   so that log rotations and snapshot rewrites race with readers. Then: every acknowledged
//!   append is present exactly once (unless acknowledged as expunged), UIDs and modseqs are
//!   unique and increasing, no acknowledged flag change is lost, and every process's final
//!   state equals a fresh open's and a rebuild from scratch's.
//! - `crash`: a writer killed (SIGKILL) in the middle of writing a transaction leaves a tail
//!   that readers do not see and the next writer repairs, under each `lock_method`.
//!
//! Throughput per lock method is printed, never asserted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use cote::fs::{CreatePerms, LockMethod};
use cote::index::crc32c::crc32c;
use cote::index::flags::Flags;
use cote::index::mailbox::MailboxIndex;
use cote::index::settings::{IndexSettings, LOG_NAME};
use cote::index::snapshot::format::encode;
use cote::index::state::MailboxState;
use cote::index::transaction::{AppendMessage, FlagMode, IndexTransaction};
use cote::index::uidset::UidSet;

const WORKERS: usize = 8;
const RUN_TIME: Duration = Duration::from_millis(1500);
const UIDVALIDITY: u32 = 1_234_567;

fn settings(lock: &str, mmap_disable: bool) -> IndexSettings {
    let mut s = IndexSettings::dovecot_defaults(CreatePerms::default());
    s.fs.lock_method = match lock {
        "flock" => LockMethod::Flock,
        "dotlock" => LockMethod::Dotlock,
        _ => LockMethod::Fcntl,
    };
    s.fs.mmap_disable = mmap_disable;
    s.rewrite_min_log_bytes = 2 * 1024;
    s.rewrite_max_log_bytes = 8 * 1024;
    s.log_rotate_min_size = 8 * 1024;
    s.log_rotate_max_size = 32 * 1024;
    s
}

fn message(uid: u32, key: &str) -> AppendMessage {
    AppendMessage {
        uid,
        flags: Flags::NONE,
        keywords: Vec::new(),
        key: key.as_bytes().to_vec(),
        physical_size: Some(100),
        virtual_size: Some(102),
        internal_date: Some(1_700_000_000),
        save_date: None,
    }
}

/// A digest of everything a state holds (its snapshot encoding is deterministic).
fn digest(state: &MailboxState) -> u32 {
    crc32c(&encode(state, 1, 1, 0))
}

/// xorshift64*: deterministic per worker, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fail(what: impl std::fmt::Display) -> ExitCode {
    eprintln!("worker: {what}");
    ExitCode::from(3)
}

/// Worker: `hammer DIR LOCK MMAP ID MILLIS`. Prints one line per acknowledged commit:
/// `A uid key modseq`, `F uid modseq`, `E uid modseq`; then `DONE`, waits for a line on
/// stdin, refreshes and prints `S digest`.
fn worker_hammer(args: &[String]) -> ExitCode {
    let [dir, lock, mmap, id, millis] = args else {
        return ExitCode::from(2);
    };
    let s = settings(lock, mmap == "yes");
    let id: usize = id.parse().unwrap_or(0);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 7919));
    let deadline = Instant::now() + Duration::from_millis(millis.parse().unwrap_or(1000));
    let mut index = match MailboxIndex::open(Path::new(dir), s.clone()) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut mine: Vec<u32> = Vec::new();
    let mut last_modseq = 0u64;
    let mut n = 0u32;
    while Instant::now() < deadline {
        n += 1;
        let choice = rng.below(10);
        let line = if choice < 4 {
            // UIDs are assigned under the lock, as the storage does while syncing.
            let mut locked = match index.lock() {
                Ok(l) => l,
                Err(e) => return fail(e),
            };
            let uid = locked.state().next_uid();
            let key = format!("w{id}.{n}");
            let mut tx = IndexTransaction::new();
            tx.append(message(uid, &key));
            let committed = match locked.commit(&tx) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            if let Err(e) = locked.unlock() {
                return fail(e);
            }
            mine.push(uid);
            format!("A {uid} {key} {}", committed.modseq)
        } else if choice < 8 {
            let messages = index.state().messages();
            if messages.is_empty() {
                continue;
            }
            let uid = messages[rng.below(messages.len())].uid;
            let mut tx = IndexTransaction::new();
            tx.update_flags(
                UidSet::range(uid, uid),
                FlagMode::Add,
                Flags::FLAGGED,
                vec![format!("k{id}")],
            );
            match index.commit(&tx) {
                Ok(c) => format!("F {uid} {}", c.modseq),
                Err(e) => return fail(e),
            }
        } else {
            if mine.is_empty() {
                continue;
            }
            let uid = mine.swap_remove(rng.below(mine.len()));
            let mut tx = IndexTransaction::new();
            tx.expunge(&UidSet::range(uid, uid));
            match index.commit(&tx) {
                Ok(c) => format!("E {uid} {}", c.modseq),
                Err(e) => return fail(e),
            }
        };
        let modseq: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if modseq <= last_modseq {
            return fail(format!("modseq {modseq} after {last_modseq}"));
        }
        last_modseq = modseq;
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(4);
        }
        if n % 16 == 0 {
            // A fresh reader (racing snapshot rewrites and rotations) sees at least what
            // this process committed.
            match MailboxIndex::open(Path::new(dir), s.clone()) {
                Ok(fresh) if fresh.state().highest_modseq() >= last_modseq => {}
                Ok(fresh) => {
                    return fail(format!(
                        "fresh open at modseq {} after committing {last_modseq}",
                        fresh.state().highest_modseq()
                    ))
                }
                Err(e) => return fail(e),
            }
        }
        let before = index.state().highest_modseq();
        if let Err(e) = index.refresh() {
            return fail(e);
        }
        if index.state().highest_modseq() < before {
            return fail("highest modseq went back");
        }
    }
    let _ = writeln!(out, "DONE");
    let _ = out.flush();
    let mut go = String::new();
    let _ = std::io::stdin().read_line(&mut go);
    if let Err(e) = index.refresh() {
        return fail(e);
    }
    let _ = writeln!(out, "S {}", digest(index.state()));
    ExitCode::SUCCESS
}

/// Worker: `crash DIR LOCK`: commits one append whose write pauses half way (the parent
/// kills it there). Prints `WRITING` just before.
fn worker_crash(args: &[String]) -> ExitCode {
    let [dir, lock] = args else {
        return ExitCode::from(2);
    };
    let mut s = settings(lock, true);
    s.hooks.pause_mid_write = Some(Duration::from_secs(30));
    let mut index = match MailboxIndex::open(Path::new(dir), s) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let uid = index.state().next_uid();
    let mut tx = IndexTransaction::new();
    tx.append(message(uid, "never-acknowledged"));
    println!("WRITING");
    let _ = std::io::stdout().flush();
    match index.commit(&tx) {
        Ok(_) => fail("the commit was supposed to be killed"),
        Err(e) => fail(e),
    }
}

/// A worker process, killed and reaped when dropped (a failing check never leaves workers
/// behind).
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Worker {
    let child = Command::new(std::env::current_exe().expect("own path"))
        .env("COTE_INDEX_WORKER", "1")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker");
    Worker(child)
}

fn create(dir: &Path, s: &IndexSettings) -> MailboxIndex {
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(UIDVALIDITY);
    MailboxIndex::create(dir, s.clone(), tx, 1).expect("create")
}

fn hammer(lock: &str, mmap_disable: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let s = settings(lock, mmap_disable);
    create(dir.path(), &s);
    let mmap = if mmap_disable { "yes" } else { "no" };
    let dir_arg = dir.path().to_string_lossy().to_string();
    let millis = RUN_TIME.as_millis().to_string();
    let started = Instant::now();
    let mut children: Vec<Worker> = (0..WORKERS)
        .map(|id| spawn(&["hammer", &dir_arg, lock, mmap, &id.to_string(), &millis]))
        .collect();
    let mut readers: Vec<_> = children
        .iter_mut()
        .map(|c| BufReader::new(c.0.stdout.take().expect("stdout")))
        .collect();
    let mut acks: Vec<Vec<String>> = vec![Vec::new(); WORKERS];
    for (id, reader) in readers.iter_mut().enumerate() {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!("worker {id} ended early"));
            }
            let line = line.trim_end().to_string();
            if line == "DONE" {
                break;
            }
            acks[id].push(line);
        }
    }
    let elapsed = started.elapsed();
    for child in &mut children {
        let stdin = child.0.stdin.as_mut().expect("stdin");
        writeln!(stdin, "go").map_err(|e| e.to_string())?;
    }
    let mut digests = BTreeSet::new();
    for (id, reader) in readers.iter_mut().enumerate() {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        match line.trim_end().strip_prefix("S ") {
            Some(d) => {
                digests.insert(d.to_string());
            }
            None => return Err(format!("worker {id}: no final state ({line:?})")),
        }
    }
    for (id, child) in children.iter_mut().enumerate() {
        let status = child.0.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("worker {id} failed: {status}"));
        }
    }

    let final_index = MailboxIndex::open(dir.path(), s.clone()).map_err(|e| e.to_string())?;
    let state = final_index.state();
    digests.insert(digest(state).to_string());
    if digests.len() != 1 {
        return Err(format!(
            "processes ended with different states: {digests:?}"
        ));
    }
    if state.uidvalidity() != UIDVALIDITY {
        return Err("uidvalidity changed".into());
    }

    let mut appended: BTreeMap<u32, String> = BTreeMap::new();
    let mut expunged = BTreeSet::new();
    let mut flagged: Vec<(u32, usize)> = Vec::new();
    let mut modseqs = BTreeSet::new();
    let mut total = 0usize;
    for (id, lines) in acks.iter().enumerate() {
        for line in lines {
            total += 1;
            let f: Vec<&str> = line.split(' ').collect();
            let uid: u32 = f.get(1).and_then(|u| u.parse().ok()).ok_or(line.clone())?;
            let modseq: u64 = f.last().and_then(|m| m.parse().ok()).ok_or(line.clone())?;
            if !modseqs.insert(modseq) {
                return Err(format!("modseq {modseq} acknowledged twice"));
            }
            match f[0] {
                "A" => {
                    if appended.insert(uid, f[2].to_string()).is_some() {
                        return Err(format!("uid {uid} appended twice"));
                    }
                }
                "E" => {
                    expunged.insert(uid);
                }
                "F" => flagged.push((uid, id)),
                _ => return Err(format!("bad line {line:?}")),
            }
        }
    }
    // Appends in UID order got increasing modseqs.
    let by_uid: Vec<u64> = acks
        .iter()
        .flatten()
        .filter(|l| l.starts_with("A "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[1].parse::<u32>().unwrap_or(0),
                f[3].parse::<u64>().unwrap_or(0),
            )
        })
        .collect::<BTreeMap<u32, u64>>()
        .into_values()
        .collect();
    if by_uid.windows(2).any(|w| w[0] >= w[1]) {
        return Err("modseqs of appends are not increasing with their UIDs".into());
    }
    let expected: Vec<(u32, &str)> = appended
        .iter()
        .filter(|(uid, _)| !expunged.contains(uid))
        .map(|(uid, key)| (*uid, key.as_str()))
        .collect();
    let got: Vec<(u32, &str)> = state
        .messages()
        .iter()
        .map(|m| (m.uid, std::str::from_utf8(&m.key).unwrap_or("?")))
        .collect();
    if got != expected {
        return Err(format!(
            "final messages differ: {} present, {} expected",
            got.len(),
            expected.len()
        ));
    }
    for (uid, id) in flagged {
        if let Some(m) = state.message(uid) {
            let kw = state.keyword_id(&format!("k{id}"));
            if !m.flags.contains(Flags::FLAGGED) || !kw.is_some_and(|k| m.keywords.contains(k)) {
                return Err(format!("flag change by worker {id} on uid {uid} lost"));
            }
        }
    }
    if state.highest_modseq()
        != modseqs
            .iter()
            .max()
            .copied()
            .unwrap_or(1)
            .max(state.highest_modseq())
    {
        return Err("highest modseq below an acknowledged one".into());
    }
    // The index deleted and rebuilt from "the truth" (here: the acknowledged appends and
    // the final flags) holds the same messages.
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(UIDVALIDITY);
    for m in state.messages() {
        let mut msg = message(m.uid, std::str::from_utf8(&m.key).unwrap_or("?"));
        msg.flags = m.flags;
        msg.keywords = m
            .keywords
            .iter()
            .map(|k| state.keyword_names()[k as usize].clone())
            .collect();
        tx.append(msg);
    }
    for name in ["cote.index", "cote.index.log", "cote.index.log.2"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let rebuilt = MailboxIndex::create(dir.path(), s.clone(), tx, state.highest_modseq() + 1)
        .map_err(|e| e.to_string())?;
    let uids = |st: &MailboxState| {
        st.messages()
            .iter()
            .map(|m| (m.uid, m.flags))
            .collect::<Vec<_>>()
    };
    if uids(rebuilt.state()) != uids(state) {
        return Err("rebuilt index differs".into());
    }
    println!(
        "hammer lock_method={lock} mmap_disable={mmap}: {total} transactions by {WORKERS} processes in {:.2} s = {:.0}/s; {} messages, log position {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        state.message_count(),
        final_index.log_position()
    );
    Ok(())
}

fn crash(lock: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let s = settings(lock, true);
    let mut index = create(dir.path(), &s);
    let mut tx = IndexTransaction::new();
    tx.append(message(1, "first"));
    index.commit(&tx).map_err(|e| e.to_string())?;
    let log: PathBuf = dir.path().join(LOG_NAME);
    let size = std::fs::metadata(&log).map_err(|e| e.to_string())?.len();
    let dir_arg = dir.path().to_string_lossy().to_string();
    let mut child = spawn(&["crash", &dir_arg, lock]);
    let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.trim_end() != "WRITING" {
        return Err(format!("crash worker said {line:?}"));
    }
    // Kill it once half the transaction is on disk.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&log).map_err(|e| e.to_string())?.len() == size {
        if Instant::now() > deadline {
            return Err("the worker never wrote".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.0.kill().map_err(|e| e.to_string())?;
    child.0.wait().map_err(|e| e.to_string())?;
    let torn = std::fs::metadata(&log).map_err(|e| e.to_string())?.len();

    let mut reader = MailboxIndex::open(dir.path(), s.clone()).map_err(|e| e.to_string())?;
    if reader.state().message_count() != 1 {
        return Err("the torn transaction is visible".into());
    }
    // The next writer (after the dead holder's lock is gone) writes over the torn bytes.
    let mut tx = IndexTransaction::new();
    tx.append(message(2, "second"));
    index.commit(&tx).map_err(|e| e.to_string())?;
    let changes = reader.refresh().map_err(|e| e.to_string())?;
    if reader.state().message_count() != 2 || changes.len() != 1 {
        return Err(format!("after repair: {changes:?}"));
    }
    let fresh = MailboxIndex::open(dir.path(), s.clone()).map_err(|e| e.to_string())?;
    if fresh.state() != reader.state() || fresh.state() != index.state() {
        return Err("states differ after the repair".into());
    }
    println!("crash lock_method={lock}: killed mid-write at {torn} bytes (from {size}); repaired");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os("COTE_INDEX_WORKER").is_some() {
        return match args.first().map(String::as_str) {
            Some("hammer") => worker_hammer(&args[1..]),
            Some("crash") => worker_crash(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    // libtest-style filtering: `cargo test --test index_concurrent -- crash`.
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    type Test = Box<dyn Fn() -> Result<(), String>>;
    let mut tests: Vec<(String, Test)> = Vec::new();
    for lock in ["fcntl", "flock", "dotlock"] {
        for mmap_disable in [false, true] {
            tests.push((
                format!("hammer_{lock}_mmap_disable_{mmap_disable}"),
                Box::new(move || hammer(lock, mmap_disable)),
            ));
        }
        tests.push((format!("crash_{lock}"), Box::new(move || crash(lock))));
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in &tests {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        match test() {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
