//! Probes of a directory's file system for `coteadm fs-check DIR [DIR2]`: what locks, mmap,
//! caches, O_APPEND, names, the server's clock and fsync really do there, measured with the
//! same fs-layer calls cote makes. With DIR2 (a second mount of the same file system, as a
//! second server would see it) changes made through DIR are observed through DIR2.
//!
//! Every file lives in a private subdirectory ([`scratch`]) removed at the end, also on
//! error or interruption. Probes needing other processes drive workers ([`worker`]): fresh
//! execs of the tool. [`run`] runs every probe group; a group that fails as a whole records
//! its error and the others still run.
//!
//! Probe groups, one concept each: [`locks`] (fcntl OFD/classic, flock), [`dotlocks`]
//! (O_EXCL and link races), [`mmap`], [`staleness`] (attributes, names, data), [`replace`]
//! (reading a file another host replaces: ESTALE), [`append`],
//! [`names`] (`:` in file names), [`timing`] (clock skew, fsync and rename latency).

pub mod append;
pub mod dotlocks;
pub mod locks;
pub mod mmap;
pub mod names;
pub mod replace;
pub mod results;
pub mod scratch;
pub mod staleness;
pub mod timing;
pub mod worker;

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::FsError;
use super::ops;
pub use results::*;
use scratch::Scratch;
pub use worker::{WorkerCommand, WORKER_VERB};

/// How often observations are repeated while waiting for a change to show.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Set (by a signal handler) to stop a run early; every wait checks it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks a running probe to stop as soon as it can (async-signal-safe: one atomic store).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub(crate) fn check_interrupted() -> Result<(), ProbeError> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(ProbeError::Interrupted)
    } else {
        Ok(())
    }
}

/// What to probe and how hard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    pub dir: PathBuf,
    pub dir2: Option<PathBuf>,
    /// Longest wait for a change to show through the observer path (and for DIR2's marker).
    pub wait: Duration,
    /// Rounds of each dotlock race.
    pub dotlock_rounds: u32,
    /// Times the replace probe replaces its file.
    pub replace_rounds: u32,
    /// Lines each of the two O_APPEND writers writes.
    pub append_lines: u32,
    /// fsync and rename samples.
    pub latency_samples: u32,
    /// How to start a worker process.
    pub worker: WorkerCommand,
}

impl ProbeOptions {
    /// The defaults: bounded well under a minute even where every wait runs out.
    pub fn new(dir: PathBuf, dir2: Option<PathBuf>, worker: WorkerCommand) -> ProbeOptions {
        ProbeOptions {
            dir,
            dir2,
            wait: Duration::from_secs(8),
            dotlock_rounds: 100,
            replace_rounds: 200,
            append_lines: 1000,
            latency_samples: 20,
            worker,
        }
    }

    /// A quicker, coarser run (a few seconds where nothing is stale).
    pub fn quick(mut self) -> ProbeOptions {
        self.wait = Duration::from_secs(3);
        self.dotlock_rounds = 20;
        self.replace_rounds = 50;
        self.append_lines = 200;
        self.latency_samples = 5;
        self
    }
}

/// Why a run could not be done (single probe failures are results, not errors).
#[derive(Debug)]
pub enum ProbeError {
    NotFound(PathBuf),
    NotADirectory(PathBuf),
    NotWritable {
        path: PathBuf,
        source: FsError,
    },
    /// DIR2 did not show the marker written through DIR.
    NotSameFilesystem {
        dir: PathBuf,
        dir2: PathBuf,
        waited: Duration,
    },
    Fs(FsError),
    Worker(String),
    Interrupted,
}

impl From<FsError> for ProbeError {
    fn from(e: FsError) -> ProbeError {
        ProbeError::Fs(e)
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::NotFound(path) => write!(f, "{}: No such directory", path.display()),
            ProbeError::NotADirectory(path) => write!(f, "{}: Not a directory", path.display()),
            ProbeError::NotWritable { path, source } => {
                write!(f, "{} is not writable: {source}", path.display())
            }
            ProbeError::NotSameFilesystem { dir, dir2, waited } => {
                write!(
                    f,
                    "{} is not the directory {} seen through another mount: a marker file \
                     written through the second did not appear through the first",
                    dir2.display(),
                    dir.display()
                )?;
                if waited.is_zero() {
                    Ok(())
                } else {
                    write!(f, " within {:.1} s", waited.as_secs_f64())
                }
            }
            ProbeError::Fs(e) => write!(f, "{e}"),
            ProbeError::Worker(text) => write!(f, "probe worker: {text}"),
            ProbeError::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for ProbeError {}

/// What [`run`] tells its progress callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Group `index` (1-based) of `total` starts.
    Start {
        index: usize,
        total: usize,
        name: &'static str,
    },
    /// It ended after `elapsed`; `error` if it failed as a whole.
    Done {
        name: &'static str,
        elapsed: Duration,
        error: Option<String>,
    },
}

/// The probe groups in the order they run.
pub const GROUPS: [&str; 8] = [
    "locks",
    "dotlocks",
    "mmap",
    "staleness",
    "replace",
    "append",
    "names",
    "timing",
];

/// Runs every probe. Fails only when the run cannot start (DIR missing or not writable,
/// DIR2 not the same file system) or is interrupted; the private directory is removed
/// either way.
pub fn run(
    opts: &ProbeOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ProbeResults, ProbeError> {
    let start = Instant::now();
    let (mut scratch, same_device) = Scratch::create(&opts.dir, opts.dir2.as_deref(), opts.wait)?;
    let dirs = DirInfo {
        dir: opts.dir.clone(),
        dir2: opts.dir2.clone(),
        fs_type: fs_type(&opts.dir),
        fs_type2: opts.dir2.as_deref().map(fs_type),
        same_device,
    };
    let s = &scratch;
    let mut groups = GroupRunner { index: 0, progress };
    let outcome = (|| -> Result<ProbeResults, ProbeError> {
        Ok(ProbeResults {
            locks: groups.run("locks", || locks::probe(s, opts))?,
            dotlocks: groups.run("dotlocks", || dotlocks::probe(s, opts))?,
            mmap: groups.run("mmap", || mmap::probe(s, opts))?,
            staleness: groups.run("staleness", || staleness::probe(s, opts))?,
            replace: groups.run("replace", || replace::probe(s, opts))?,
            append: groups.run("append", || append::probe(s, opts))?,
            names: groups.run("names", || names::probe(s))?,
            timing: groups.run("timing", || timing::probe(s, opts))?,
            dirs,
            wait: opts.wait,
            elapsed: Duration::ZERO,
        })
    })();
    let removed = scratch.remove();
    let results = outcome?;
    removed?;
    Ok(ProbeResults {
        elapsed: start.elapsed(),
        ..results
    })
}

/// Runs probe groups in turn, telling the progress callback.
struct GroupRunner<'a> {
    index: usize,
    progress: &'a mut dyn FnMut(Progress),
}

impl GroupRunner<'_> {
    /// Runs one group: its failure becomes its result (as text), only an interruption
    /// stops the run.
    fn run<T>(
        &mut self,
        name: &'static str,
        probe: impl FnOnce() -> Result<T, ProbeError>,
    ) -> Result<Result<T, String>, ProbeError> {
        check_interrupted()?;
        self.index += 1;
        (self.progress)(Progress::Start {
            index: self.index,
            total: GROUPS.len(),
            name,
        });
        let start = Instant::now();
        let outcome = probe();
        (self.progress)(Progress::Done {
            name,
            elapsed: start.elapsed(),
            error: outcome.as_ref().err().map(ToString::to_string),
        });
        match outcome {
            Ok(v) => Ok(Ok(v)),
            Err(ProbeError::Interrupted) => Err(ProbeError::Interrupted),
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

/// Polls `seen` every [`POLL_INTERVAL`] until it is true or `wait` has passed since `since`.
pub(crate) fn wait_until(
    since: Instant,
    wait: Duration,
    mut seen: impl FnMut() -> Result<bool, FsError>,
) -> Result<Seen, ProbeError> {
    let mut first = true;
    loop {
        match seen() {
            Ok(true) => {
                return Ok(Seen::After(if first {
                    Duration::ZERO
                } else {
                    since.elapsed()
                }))
            }
            Ok(false) => {}
            Err(e) => return Ok(Seen::Failed(e.to_string())),
        }
        first = false;
        if since.elapsed() >= wait {
            return Ok(Seen::NotWithin(wait));
        }
        check_interrupted()?;
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The file-system type of `dir` as the mount table names it (`ext4`, `fuse.glusterfs`,
/// `nfs4`, `cifs`): the mount whose device number is `dir`'s.
pub fn fs_type(dir: &Path) -> String {
    let Ok(meta) = ops::stat(dir) else {
        return "unknown".into();
    };
    let dev = meta.dev();
    let wanted = format!(
        "{}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev)
    );
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return "unknown".into();
    };
    mountinfo_type(&table, &wanted).unwrap_or_else(|| "unknown".into())
}

/// The type field of the first mountinfo line for device `major:minor`.
fn mountinfo_type(table: &str, dev: &str) -> Option<String> {
    table.lines().find_map(|line| {
        let mut fields = line.split(' ');
        if fields.nth(2)? != dev {
            return None;
        }
        let (_, after) = line.split_once(" - ")?;
        after.split(' ').next().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_type_by_device() {
        let table = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                     40 22 0:45 / /mnt/g1 rw,relatime shared:20 - fuse.glusterfs 127.0.0.2:/v rw\n";
        assert_eq!(
            mountinfo_type(table, "0:45").as_deref(),
            Some("fuse.glusterfs")
        );
        assert_eq!(mountinfo_type(table, "8:1").as_deref(), Some("ext4"));
        assert_eq!(mountinfo_type(table, "9:9"), None);
    }

    #[test]
    fn waits_report_immediate_late_and_never() {
        let now = Instant::now();
        assert_eq!(
            wait_until(now, Duration::from_secs(1), || Ok(true)).unwrap(),
            Seen::After(Duration::ZERO)
        );
        let mut n = 0;
        let late = wait_until(now, Duration::from_secs(5), || {
            n += 1;
            Ok(n > 2)
        })
        .unwrap();
        assert!(late.was_seen() && !late.is_immediate());
        assert_eq!(
            wait_until(Instant::now(), Duration::from_millis(30), || Ok(false)).unwrap(),
            Seen::NotWithin(Duration::from_millis(30))
        );
    }

    #[test]
    fn missing_and_plain_file_dirs_are_refused_and_nothing_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = |dir: PathBuf, dir2: Option<PathBuf>| {
            ProbeOptions::new(
                dir,
                dir2,
                WorkerCommand {
                    program: PathBuf::from("/nonexistent"),
                    args: vec![],
                },
            )
        };
        let err = run(&opts(tmp.path().join("nope"), None), &mut |_| {}).unwrap_err();
        assert!(matches!(err, ProbeError::NotFound(_)), "{err}");
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = run(&opts(file, None), &mut |_| {}).unwrap_err();
        assert!(matches!(err, ProbeError::NotADirectory(_)), "{err}");
        // A DIR2 that is another directory never shows the marker.
        let other = tempfile::tempdir().unwrap();
        let mut o = opts(tmp.path().to_path_buf(), Some(other.path().to_path_buf()));
        o.wait = Duration::from_millis(50);
        let err = run(&o, &mut |_| {}).unwrap_err();
        assert!(matches!(err, ProbeError::NotSameFilesystem { .. }), "{err}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("file")]);
    }
}
