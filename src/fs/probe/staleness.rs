//! How long do attributes, names and data stay stale? Everything is first looked at through
//! the observer path (DIR2, or DIR itself) so that its caches hold the old state, then
//! changed through DIR; all observations are then polled together until each shows the new
//! state or the wait runs out, so the whole probe takes at most one wait.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::results::{Seen, StalenessResults};
use super::scratch::Scratch;
use super::{check_interrupted, wait_until, ProbeError, ProbeOptions, POLL_INTERVAL};
use crate::fs::{ops, CreatePerms, FsError, FsFile};

/// The mtime the probe sets: far from any "now", so a cached value can't match by chance.
const SET_MTIME_SECS: u64 = 1_000_000_000;
const DATA_SIZE: usize = 4096;

type Check<'a> = Box<dyn FnMut() -> Result<bool, FsError> + 'a>;

/// One pending observation: its check and when the change it waits for was complete.
struct Observation<'a> {
    check: Check<'a>,
    since: Instant,
    looked: bool,
    result: Option<Seen>,
}

fn write_new(scratch: &Scratch, name: &str, data: &[u8]) -> Result<(), FsError> {
    let file = FsFile::create_excl(&scratch.a.join(name), &CreatePerms::default())?;
    file.write_all_at(data, 0)?;
    file.sync_all_now()
}

fn exists(path: &Path) -> Result<bool, FsError> {
    Ok(ops::stat_if_exists(path)?.is_some())
}

fn read_all(path: &Path) -> Result<Vec<u8>, FsError> {
    FsFile::open_read(path)?.read_from(0)
}

fn listed(dir: &Path, name: &str) -> Result<bool, FsError> {
    Ok(ops::read_dir(dir)?.iter().any(|e| e.name == name))
}

/// Waits (up to `wait`) until the observer (through `dir`) sees what `check` wants; the
/// priming look that fills its caches.
fn prime(
    dir: &Path,
    wait: Duration,
    check: impl FnMut() -> Result<bool, FsError>,
) -> Result<(), ProbeError> {
    let reason = match wait_until(Instant::now(), wait, check)? {
        Seen::After(_) => return Ok(()),
        Seen::NotWithin(_) => "the probe's files never showed through this path".to_string(),
        Seen::Failed(e) => format!("the probe's files can't be read through this path: {e}"),
    };
    Err(ProbeError::Fs(FsError::Invalid {
        path: dir.to_path_buf(),
        reason,
    }))
}

/// Adds an observation of a change complete now.
fn observe<'a>(
    list: &mut Vec<(&'static str, Observation<'a>)>,
    name: &'static str,
    check: Check<'a>,
) {
    list.push((
        name,
        Observation {
            check,
            since: Instant::now(),
            looked: false,
            result: None,
        },
    ));
}

/// Runs the staleness probes.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<StalenessResults, ProbeError> {
    let (a, b) = (&scratch.a, &scratch.b);
    let perms = CreatePerms::default();
    let old = [b'A'; DATA_SIZE];
    let new = [b'B'; DATA_SIZE];
    write_new(scratch, "size", b"0123456789")?;
    write_new(scratch, "mtime", b"m")?;
    write_new(scratch, "gone", b"g")?;
    write_new(scratch, "data-reopen", &old)?;
    write_new(scratch, "data-fd", &old)?;
    for dir in ["listing", "tmp", "new"] {
        ops::mkdir(&a.join(dir), &perms)?;
    }
    write_new(scratch, "tmp/x", b"x")?;

    // The observer's first look: caches now hold the old state.
    let wait = opts.wait;
    prime(b, wait, || {
        Ok(ops::stat_if_exists(&b.join("size"))?.is_some_and(|m| m.len() == 10))
    })?;
    prime(b, wait, || exists(&b.join("mtime")))?;
    prime(b, wait, || exists(&b.join("gone")))?;
    prime(b, wait, || Ok(!exists(&b.join("new-name"))?))?;
    prime(b, wait, || Ok(!listed(&b.join("listing"), "f")?))?;
    prime(b, wait, || {
        Ok(exists(&b.join("tmp/x"))? && !exists(&b.join("new/x"))?)
    })?;
    prime(b, wait, || Ok(read_all(&b.join("data-reopen"))? == old))?;
    let held = FsFile::open_read(&b.join("data-fd"))?;
    let mut buf = vec![0u8; DATA_SIZE];
    prime(b, wait, || {
        held.read_full_at(&mut buf, 0)?;
        Ok(buf == old)
    })?;

    // The changes, each through DIR, each timed from its own completion.
    let mut observations: Vec<(&'static str, Observation)> = Vec::new();
    let appended = FsFile::open_rw(&a.join("size"))?;
    appended.write_all_at(b"abcdefghij", 10)?;
    drop(appended);
    observe(
        &mut observations,
        "size",
        Box::new(|| Ok(ops::stat(&b.join("size"))?.len() == 20)),
    );
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(SET_MTIME_SECS);
    ops::utime(&a.join("mtime"), Some(mtime))?;
    observe(
        &mut observations,
        "mtime",
        Box::new(move || Ok(ops::stat(&b.join("mtime"))?.modified().ok() == Some(mtime))),
    );
    write_new(scratch, "new-name", b"n")?;
    observe(
        &mut observations,
        "new_name",
        Box::new(|| exists(&b.join("new-name"))),
    );
    write_new(scratch, "listing/f", b"f")?;
    observe(
        &mut observations,
        "readdir",
        Box::new(|| listed(&b.join("listing"), "f")),
    );
    ops::unlink(&a.join("gone"))?;
    observe(
        &mut observations,
        "unlink",
        Box::new(|| Ok(!exists(&b.join("gone"))?)),
    );
    ops::rename(&a.join("tmp/x"), &a.join("new/x"))?;
    observe(
        &mut observations,
        "rename",
        Box::new(|| Ok(exists(&b.join("new/x"))? && !exists(&b.join("tmp/x"))?)),
    );
    for name in ["data-reopen", "data-fd"] {
        let file = FsFile::open_rw(&a.join(name))?;
        file.write_all_at(&new, 0)?;
        file.sync_all_now()?;
    }
    observe(
        &mut observations,
        "reopen_read",
        Box::new(|| Ok(read_all(&b.join("data-reopen"))? == new)),
    );
    let mut fd_buf = vec![0u8; DATA_SIZE];
    observe(
        &mut observations,
        "open_fd_read",
        Box::new(move || {
            held.read_full_at(&mut fd_buf, 0)?;
            Ok(fd_buf == new)
        }),
    );

    poll_all(&mut observations, wait)?;
    let mut take = |name: &str| {
        observations
            .iter_mut()
            .find(|(n, _)| *n == name)
            .and_then(|(_, o)| o.result.take())
            .unwrap_or_else(|| Seen::Failed("not observed".into()))
    };
    Ok(StalenessResults {
        size: take("size"),
        mtime: take("mtime"),
        new_name: take("new_name"),
        readdir: take("readdir"),
        unlink: take("unlink"),
        rename: take("rename"),
        reopen_read: take("reopen_read"),
        open_fd_read: take("open_fd_read"),
    })
}

/// Polls every observation without a result until each has one.
fn poll_all(
    observations: &mut [(&'static str, Observation)],
    wait: Duration,
) -> Result<(), ProbeError> {
    loop {
        let mut pending = false;
        for (_, o) in observations.iter_mut().filter(|(_, o)| o.result.is_none()) {
            let first = !o.looked;
            o.looked = true;
            o.result = match (o.check)() {
                Ok(true) if first => Some(Seen::After(Duration::ZERO)),
                Ok(true) => Some(Seen::After(o.since.elapsed())),
                Ok(false) if o.since.elapsed() >= wait => Some(Seen::NotWithin(wait)),
                Ok(false) => None,
                Err(e) => Some(Seen::Failed(e.to_string())),
            };
            pending |= o.result.is_none();
        }
        if !pending {
            return Ok(());
        }
        check_interrupted()?;
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_local_directory_is_never_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ProbeOptions::new(
            tmp.path().to_path_buf(),
            None,
            super::super::WorkerCommand {
                program: PathBuf::from("/nonexistent"),
                args: vec![],
            },
        );
        let (scratch, _) = Scratch::create(tmp.path(), None, opts.wait).unwrap();
        let r = probe(&scratch, &opts).unwrap();
        for (name, seen) in r.all() {
            assert!(seen.is_immediate(), "{name}: {seen:?}");
        }
    }
}
