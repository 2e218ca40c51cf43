//! Do record locks exclude? A worker holds an exclusive lock through DIR; this process tries
//! the same lock through DIR and through DIR2, then checks that the lock is free once the
//! holder releases it and once a holder is SIGKILLed. Also whether Dovecot's classic fcntl
//! locks and cote's OFD locks exclude each other (a mixed cluster needs it).

use std::path::Path;
use std::time::{Duration, Instant};

use super::results::{Contention, LockResults, RecordLockMethod, RecordLockProbe, Seen};
use super::scratch::Scratch;
use super::worker::Worker;
use super::{wait_until, ProbeError, ProbeOptions};
use crate::fs::lock::fcntl::ofd_locks_supported;
use crate::fs::{CreatePerms, FlockLock, FsError, FsFile, LockKind, RecordLock};

/// Longest wait for a worker's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for a released (or orphaned) lock to become free.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// One non-blocking exclusive attempt on `path` by this process; a lock got is dropped
/// at once.
pub fn contend(path: &Path, method: RecordLockMethod) -> Contention {
    let attempt = || -> Result<bool, FsError> {
        let file = FsFile::open_rw(path)?;
        Ok(match method {
            RecordLockMethod::FcntlOfd | RecordLockMethod::FcntlClassic => {
                let ofd = method == RecordLockMethod::FcntlOfd;
                RecordLock::try_lock_owned(&file, LockKind::Exclusive, ofd)?
                    .map(RecordLock::unlock)
                    .transpose()?
                    .is_some()
            }
            RecordLockMethod::Flock => FlockLock::try_lock(&file, LockKind::Exclusive)?
                .map(FlockLock::unlock)
                .transpose()?
                .is_some(),
        })
    };
    match attempt() {
        Ok(true) => Contention::Acquired,
        Ok(false) => Contention::Blocked,
        Err(e) => Contention::Failed(e.to_string()),
    }
}

/// Asks `worker` to take `method` on `name`; `Err(text)` when it could not.
fn hold(worker: &mut Worker, method: RecordLockMethod, name: &str) -> Result<(), ProbeError> {
    match worker.request(&format!("lock {} {name}", method.name()), ANSWER_WAIT)? {
        answer if answer == "ok" => Ok(()),
        answer => Err(ProbeError::Worker(
            answer.strip_prefix("err ").unwrap_or(&answer).to_string(),
        )),
    }
}

fn release(worker: &mut Worker) -> Result<(), ProbeError> {
    match worker.request("release", ANSWER_WAIT)? {
        answer if answer == "ok" => Ok(()),
        answer => Err(ProbeError::Worker(answer)),
    }
}

fn create(scratch: &Scratch, name: &str) -> Result<(), ProbeError> {
    FsFile::create_excl(&scratch.a.join(name), &CreatePerms::default())?;
    Ok(())
}

fn probe_method(
    scratch: &Scratch,
    worker: &mut Worker,
    method: RecordLockMethod,
) -> Result<RecordLockProbe, ProbeError> {
    let name = format!("lock-{}", method.name());
    create(scratch, &name)?;
    if let Err(e) = hold(worker, method, &name) {
        if matches!(e, ProbeError::Interrupted) {
            return Err(e);
        }
        let text = e.to_string();
        return Ok(RecordLockProbe {
            method,
            holder_error: Some(text.clone()),
            same_mount: Contention::Failed(text.clone()),
            other_mount: scratch.has_dir2.then(|| Contention::Failed(text.clone())),
            after_release: Seen::Failed(text),
        });
    }
    let same_mount = contend(&scratch.a.join(&name), method);
    let other_mount = scratch
        .has_dir2
        .then(|| contend(&scratch.b.join(&name), method));
    release(worker)?;
    let released = Instant::now();
    let after_release = wait_until(released, RELEASE_WAIT, || {
        Ok(contend(&scratch.b.join(&name), method) == Contention::Acquired)
    })?;
    Ok(RecordLockProbe {
        method,
        holder_error: None,
        same_mount,
        other_mount,
        after_release,
    })
}

/// A lock of `held` by the worker, `tried` by this process through the observer path.
fn cross(
    scratch: &Scratch,
    worker: &mut Worker,
    held: RecordLockMethod,
    tried: RecordLockMethod,
) -> Result<Contention, ProbeError> {
    let name = format!("lock-{}-vs-{}", held.name(), tried.name());
    create(scratch, &name)?;
    if let Err(e) = hold(worker, held, &name) {
        return match e {
            ProbeError::Interrupted => Err(e),
            e => Ok(Contention::Failed(format!("holder: {e}"))),
        };
    }
    let outcome = contend(&scratch.b.join(&name), tried);
    release(worker)?;
    Ok(outcome)
}

/// How soon the lock of a SIGKILLed holder is free through the observer path.
fn freed_when_killed(
    scratch: &Scratch,
    opts: &ProbeOptions,
    method: RecordLockMethod,
) -> Result<Seen, ProbeError> {
    let name = "lock-killed";
    create(scratch, name)?;
    let mut victim = Worker::spawn(&opts.worker, &scratch.a, "lock-holder-to-kill")?;
    if let Err(e) = hold(&mut victim, method, name) {
        return match e {
            ProbeError::Interrupted => Err(e),
            e => Ok(Seen::Failed(format!("holder: {e}"))),
        };
    }
    let path = scratch.b.join(name);
    match contend(&path, method) {
        Contention::Blocked => {}
        other => {
            return Ok(Seen::Failed(format!(
                "the lock did not exclude before the kill ({other:?})"
            )))
        }
    }
    victim.kill();
    let killed = Instant::now();
    wait_until(killed, RELEASE_WAIT, || {
        Ok(contend(&path, method) == Contention::Acquired)
    })
}

/// Runs the lock probes.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<LockResults, ProbeError> {
    let ofd_supported = {
        let probe_file = scratch.a.join("lock-ofd-support");
        let file = FsFile::create_excl(&probe_file, &CreatePerms::default())?;
        ofd_locks_supported(&file)
    };
    let mut worker = Worker::spawn(&opts.worker, &scratch.a, "lock-holder")?;
    let mut methods = Vec::new();
    for method in RecordLockMethod::ALL {
        methods.push(probe_method(scratch, &mut worker, method)?);
    }
    let classic_blocks_ofd = cross(
        scratch,
        &mut worker,
        RecordLockMethod::FcntlClassic,
        RecordLockMethod::FcntlOfd,
    )?;
    let ofd_blocks_classic = cross(
        scratch,
        &mut worker,
        RecordLockMethod::FcntlOfd,
        RecordLockMethod::FcntlClassic,
    )?;
    drop(worker);
    let kill_method = if ofd_supported {
        RecordLockMethod::FcntlOfd
    } else {
        RecordLockMethod::FcntlClassic
    };
    let freed_when_holder_killed = freed_when_killed(scratch, opts, kill_method)?;
    Ok(LockResults {
        ofd_supported,
        methods,
        classic_blocks_ofd,
        ofd_blocks_classic,
        freed_when_holder_killed,
    })
}
