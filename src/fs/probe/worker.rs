//! Worker processes for the probes that need a second (or third) process: locks held by one
//! process never conflict with each other, and a race needs two contenders. A worker is a
//! fresh exec of the tool itself (`coteadm __fs-check-worker DIR`), driven by one-line
//! commands on its stdin and answering one line each on its stdout:
//!
//! | command | answer | what |
//! |---|---|---|
//! | `lock METHOD NAME` | `ok` / `err TEXT` / `busy` | take a record lock (`fcntl_ofd`, `fcntl_classic`, `flock`) and hold it |
//! | `dotlock excl\|link NAME` | `won` / `lost` / `err TEXT` | one dotlock attempt; a won lock is held |
//! | `release` | `ok` / `err TEXT` | drop what is held |
//! | `append NAME TAG N` | `ready`, then after `go`: `done` / `err TEXT` | N O_APPEND lines |
//! | `replace NAME N` | `done` / `err TEXT` | replace NAME N times by temp file + rename |
//!
//! NAME is relative to DIR and plain ASCII (the parent makes the names). A worker exits when
//! its stdin closes, so it never outlives the parent by more than a command.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::results::RecordLockMethod;
use super::ProbeError;
use crate::fs::lock::dotlock::{DotLock, DotLockSettings, DEFAULT_SUFFIX};
use crate::fs::{
    replace_file, CreatePerms, FlockLock, FsError, FsFile, FsPolicy, LockKind, RecordLock,
};

/// How to start a worker: the program and the arguments before the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// The hidden verb that makes `coteadm` a worker.
pub const WORKER_VERB: &str = "__fs-check-worker";

/// The line every append probe writes: `TAG NNNNNN xxx…` (59 bytes + newline).
pub fn append_line(tag: char, seq: u32) -> String {
    format!("{tag} {seq:06} {}\n", "x".repeat(50))
}

/// A running worker (parent side). Dropping it kills and reaps it.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    pending: Vec<u8>,
    name: &'static str,
}

impl Worker {
    /// Starts a worker working in `dir`; `name` identifies it in errors.
    pub fn spawn(
        command: &WorkerCommand,
        dir: &Path,
        name: &'static str,
    ) -> Result<Worker, ProbeError> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                ProbeError::Worker(format!(
                    "can't start {}: {}",
                    command.program.display(),
                    crate::errtext::os_error_text(&e)
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProbeError::Worker("worker has no pipes".into()));
        };
        Ok(Worker {
            child,
            stdin: Some(stdin),
            stdout,
            pending: Vec::new(),
            name,
        })
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) -> Result<(), ProbeError> {
        let name = self.name;
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| ProbeError::Worker(format!("worker {name} was stopped")))?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| {
                ProbeError::Worker(format!(
                    "worker {name} is gone ({})",
                    crate::errtext::os_error_text(&e)
                ))
            })
    }

    /// Reads one answer line, waiting at most `timeout`.
    pub fn receive(&mut self, timeout: Duration) -> Result<String, ProbeError> {
        self.try_receive(timeout)?.ok_or_else(|| {
            ProbeError::Worker(format!(
                "worker {} did not answer within {} s",
                self.name,
                timeout.as_secs()
            ))
        })
    }

    /// Reads one answer line if one comes within `timeout` (zero: only what is there now).
    pub fn try_receive(&mut self, timeout: Duration) -> Result<Option<String>, ProbeError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Ok(Some(String::from_utf8_lossy(&line[..end]).into_owned()));
            }
            super::check_interrupted()?;
            let left = deadline.saturating_duration_since(Instant::now());
            // Wake at least every 200 ms to notice an interruption.
            let slice = left.min(Duration::from_millis(200));
            let millis = u16::try_from(slice.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.stdout.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) if left.is_zero() => return Ok(None),
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(ProbeError::Worker(format!("poll failed: {}", e.desc()))),
            }
            let mut buf = [0u8; 4096];
            match io::Read::read(&mut self.stdout, &mut buf) {
                Ok(0) => {
                    return Err(ProbeError::Worker(format!(
                        "worker {} exited unexpectedly",
                        self.name
                    )))
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(ProbeError::Worker(format!(
                        "reading from worker {} failed: {}",
                        self.name,
                        crate::errtext::os_error_text(&e)
                    )))
                }
            }
        }
    }

    /// [`send`](Self::send) + [`receive`](Self::receive).
    pub fn request(&mut self, line: &str, timeout: Duration) -> Result<String, ProbeError> {
        self.send(line)?;
        self.receive(timeout)
    }

    /// SIGKILLs the worker (whatever it holds is released by the kernel) and reaps it.
    pub fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a worker holds between commands.
enum Held {
    Nothing,
    /// The open file too: closing any descriptor of it would drop a classic lock.
    Record(RecordLock, FsFile),
    Flock(FlockLock),
    Dot(DotLock),
}

/// The worker's main loop (`coteadm __fs-check-worker DIR`); returns the exit code.
pub fn main(args: &[OsString]) -> u8 {
    let [dir] = args else {
        eprintln!("usage: {WORKER_VERB} DIR");
        return 64;
    };
    let dir = PathBuf::from(dir);
    let mut input = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut held = Held::Nothing;
    loop {
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(_) => return 74,
        }
        let line = line.trim_end_matches('\n');
        let words: Vec<&str> = line.split(' ').collect();
        let answer = match words.as_slice() {
            ["lock", method, name] => match RecordLockMethod::from_name(method) {
                Some(method) => {
                    held = Held::Nothing;
                    match take_record_lock(&dir.join(name), method) {
                        Ok(Some(h)) => {
                            held = h;
                            "ok".to_string()
                        }
                        Ok(None) => "busy".to_string(),
                        Err(e) => format!("err {e}"),
                    }
                }
                None => format!("err unknown lock method {method}"),
            },
            ["dotlock", mode, name] => {
                held = Held::Nothing;
                match try_dotlock(&dir.join(name), *mode == "excl") {
                    Ok(Some(lock)) => {
                        held = Held::Dot(lock);
                        "won".to_string()
                    }
                    Ok(None) => "lost".to_string(),
                    Err(e) => format!("err {e}"),
                }
            }
            ["release"] => match std::mem::replace(&mut held, Held::Nothing) {
                Held::Dot(lock) => match lock.release_checked() {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("err {e}"),
                },
                Held::Record(lock, _file) => match lock.unlock() {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("err {e}"),
                },
                Held::Flock(lock) => match lock.unlock() {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("err {e}"),
                },
                Held::Nothing => "ok".to_string(),
            },
            ["replace", name, count] => match count.parse::<u32>() {
                Ok(count) => match replace(&dir.join(name), count) {
                    Ok(()) => "done".to_string(),
                    Err(e) => format!("err {e}"),
                },
                Err(_) => format!("err bad count {count}"),
            },
            ["append", name, tag, count] => {
                match append(&dir.join(name), tag, count, &mut input, &mut stdout) {
                    Ok(()) => "done".to_string(),
                    Err(e) => format!("err {e}"),
                }
            }
            _ => format!("err unknown command {line}"),
        };
        // One line per answer; no newline can be inside (error texts are one line).
        let answer = answer.replace('\n', " ");
        if writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return 74;
        }
    }
}

fn take_record_lock(path: &Path, method: RecordLockMethod) -> Result<Option<Held>, FsError> {
    let file = FsFile::open_rw(path)?;
    Ok(match method {
        RecordLockMethod::FcntlOfd | RecordLockMethod::FcntlClassic => {
            let ofd = method == RecordLockMethod::FcntlOfd;
            RecordLock::try_lock_owned(&file, LockKind::Exclusive, ofd)?
                .map(|lock| Held::Record(lock, file))
        }
        RecordLockMethod::Flock => {
            FlockLock::try_lock(&file, LockKind::Exclusive)?.map(Held::Flock)
        }
    })
}

/// One attempt as `dotlock_use_excl` says, never overriding a live holder, with NFS
/// flushing (what a shared store is configured with).
fn try_dotlock(path: &Path, use_excl: bool) -> Result<Option<DotLock>, FsError> {
    let settings = DotLockSettings {
        suffix: DEFAULT_SUFFIX.to_string(),
        timeout: Duration::ZERO,
        stale_timeout: Duration::ZERO,
        use_excl,
        nfs_flush: true,
        use_notify: false,
        temp_prefix: None,
    };
    DotLock::try_acquire(path, &settings)
}

/// The content of the `round`th version of a replaced file: one byte repeated, so a reader
/// can tell a whole version from a mix.
pub fn replaced_content(round: u32) -> Vec<u8> {
    vec![b'0' + (round % 10) as u8; 4096]
}

/// Replaces `path` `count` times the way cote rewrites files (temp file, fsync, rename over
/// it, directory fsync).
fn replace(path: &Path, count: u32) -> Result<(), FsError> {
    let policy = FsPolicy::dovecot_defaults();
    for round in 1..=count {
        replace_file(
            path,
            &replaced_content(round),
            &CreatePerms::default(),
            &policy,
        )?;
    }
    Ok(())
}

/// Opens `path` with O_APPEND (cote itself never writes that way: this measures what other
/// tools relying on it would get), says `ready`, waits for `go`, writes `count` lines.
fn append(
    path: &Path,
    tag: &str,
    count: &str,
    input: &mut impl BufRead,
    stdout: &mut impl Write,
) -> Result<(), String> {
    let tag = match tag.chars().collect::<Vec<_>>().as_slice() {
        [c] => *c,
        _ => return Err(format!("bad tag {tag}")),
    };
    let count: u32 = count.parse().map_err(|_| format!("bad count {count}"))?;
    let mut file = OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| FsError::io(crate::fs::FsOp::Open, path, e).to_string())?;
    writeln!(stdout, "ready")
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    let mut go = String::new();
    input.read_line(&mut go).map_err(|e| e.to_string())?;
    if go.trim_end() != "go" {
        return Err(format!("expected go, got {go:?}"));
    }
    for seq in 0..count {
        // One write() per line: what an O_APPEND writer relies on to keep lines whole.
        file.write_all(append_line(tag, seq).as_bytes())
            .map_err(|e| FsError::io(crate::fs::FsOp::Write, path, e).to_string())?;
    }
    Ok(())
}
