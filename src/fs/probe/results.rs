//! What the probes found: plain data, judged by `crate::fscheck` (recommendations, report).

use std::path::PathBuf;
use std::time::Duration;

/// When an observer noticed a change made through the other path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// This long after the change was complete (zero: at the first look).
    After(Duration),
    /// Not within the probe's wait.
    NotWithin(Duration),
    /// The observation itself failed (the text says how).
    Failed(String),
}

impl Seen {
    /// Seen at the first look.
    pub fn is_immediate(&self) -> bool {
        matches!(self, Seen::After(d) if d.is_zero())
    }

    /// Seen at all (within the wait).
    pub fn was_seen(&self) -> bool {
        matches!(self, Seen::After(_))
    }
}

/// What a second opener got when it tried to take a lock that a first one holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contention {
    /// The attempt was refused: the lock excludes.
    Blocked,
    /// The attempt succeeded: the lock does NOT exclude.
    Acquired,
    /// The attempt failed otherwise (ENOLCK, EINVAL, ...).
    Failed(String),
}

/// The three record-lock flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordLockMethod {
    /// fcntl open-file-description locks (`F_OFD_SETLK`): what cote takes.
    FcntlOfd,
    /// Classic per-process fcntl locks (`F_SETLK`): what Dovecot takes.
    FcntlClassic,
    /// BSD `flock()`.
    Flock,
}

impl RecordLockMethod {
    pub const ALL: [RecordLockMethod; 3] = [
        RecordLockMethod::FcntlOfd,
        RecordLockMethod::FcntlClassic,
        RecordLockMethod::Flock,
    ];

    /// The name used in the worker protocol, JSON and the report.
    pub fn name(self) -> &'static str {
        match self {
            RecordLockMethod::FcntlOfd => "fcntl_ofd",
            RecordLockMethod::FcntlClassic => "fcntl_classic",
            RecordLockMethod::Flock => "flock",
        }
    }

    pub fn from_name(name: &str) -> Option<RecordLockMethod> {
        RecordLockMethod::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One record-lock flavour: a child process holds it through DIR, this process tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLockProbe {
    pub method: RecordLockMethod,
    /// The holder's own lock failed: the method does not work here at all.
    pub holder_error: Option<String>,
    /// Contender through DIR.
    pub same_mount: Contention,
    /// Contender through DIR2 (none without DIR2).
    pub other_mount: Option<Contention>,
    /// How soon the contender got the lock once the holder unlocked.
    pub after_release: Seen,
}

impl RecordLockProbe {
    /// The lock excluded the contender on every path tried and was free after release.
    pub fn excludes(&self) -> bool {
        self.holder_error.is_none()
            && self.same_mount == Contention::Blocked
            && self
                .other_mount
                .as_ref()
                .is_none_or(|c| *c == Contention::Blocked)
            && self.after_release.was_seen()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockResults {
    /// The kernel has OFD locks (else cote falls back to classic ones).
    pub ofd_supported: bool,
    pub methods: Vec<RecordLockProbe>,
    /// A classic lock held by a child; an OFD lock tried through the other path (a mixed
    /// Dovecot/cote cluster needs this to block).
    pub classic_blocks_ofd: Contention,
    /// The reverse.
    pub ofd_blocks_classic: Contention,
    /// How soon an fcntl lock (OFD) held by a SIGKILLed process was free for the other path.
    pub freed_when_holder_killed: Seen,
}

/// Rounds of two processes (one per path) racing for the same fresh dotlock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DotlockRace {
    pub rounds: u32,
    /// Rounds in which both got the lock: exclusion broken.
    pub both_won: u32,
    /// Rounds in which neither got it (sshfs's link counts, errors).
    pub none_won: u32,
    pub a_wins: u32,
    pub b_wins: u32,
    /// Attempts that failed with an error, and the first error's text.
    pub errors: u32,
    pub first_error: Option<String>,
}

impl DotlockRace {
    /// Exactly one winner every round, no errors.
    pub fn clean(&self) -> bool {
        self.rounds > 0 && self.both_won == 0 && self.none_won == 0 && self.errors == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotlockResults {
    /// `dotlock_use_excl = yes`: O_CREAT|O_EXCL.
    pub excl: Result<DotlockRace, String>,
    /// `dotlock_use_excl = no`: temp file + link() + st_nlink == 2.
    pub link: Result<DotlockRace, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmapResults {
    /// A shared read-only mapping of a file (ENODEV on FUSE in direct-I/O mode).
    pub shared_map: Result<(), String>,
    /// A mapping through DIR sees a write made through DIR by `pwrite` (none if no mapping).
    pub sees_same_mount_write: Option<Seen>,
    /// A mapping through DIR2 sees a write made through DIR (none without DIR2 or mapping).
    pub sees_other_mount_write: Option<Seen>,
}

/// How long the observer path (DIR2, or DIR itself) shows the old state after a change made
/// through DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalenessResults {
    /// `stat` size after an append.
    pub size: Seen,
    /// `stat` mtime after `utime`.
    pub mtime: Seen,
    /// A new file found by name after a failed lookup of it (negative caching).
    pub new_name: Seen,
    /// A new file listed by readdir of a directory listed before.
    pub readdir: Seen,
    /// A removed file gone by name.
    pub unlink: Seen,
    /// `tmp/x` → `new/x`: the new name found and the old one gone.
    pub rename: Seen,
    /// Re-open + read after a same-size overwrite (data cache).
    pub reopen_read: Seen,
    /// `pread` through a descriptor opened before a same-size overwrite.
    pub open_fd_read: Seen,
}

impl StalenessResults {
    /// (name, result) in report order.
    pub fn all(&self) -> [(&'static str, &Seen); 8] {
        [
            ("size", &self.size),
            ("mtime", &self.mtime),
            ("new_name", &self.new_name),
            ("readdir", &self.readdir),
            ("unlink", &self.unlink),
            ("rename", &self.rename),
            ("reopen_read", &self.reopen_read),
            ("open_fd_read", &self.open_fd_read),
        ]
    }
}

/// Two processes (one per path) appending lines to one O_APPEND file at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    pub lines_per_writer: u32,
    /// Lines found whole and in their writer's order of numbers.
    pub intact: u32,
    /// Written lines not found whole (`2 * lines_per_writer - intact`).
    pub torn: u32,
    pub expected_size: u64,
    pub size: u64,
}

/// Reads through the observer path of a file replaced (temp + rename) through DIR meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplaceResult {
    pub replacements: u32,
    /// Plain `open` + `read`, no retries.
    pub plain_reads: u32,
    pub plain_estale: u32,
    pub plain_enoent: u32,
    pub plain_other_errors: u32,
    /// Reads through cote's fs layer (ESTALE retried).
    pub cote_reads: u32,
    pub cote_failures: u32,
    /// Reads (of either kind) that gave no whole version.
    pub mixed: u32,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameResults {
    /// Creating a file named with `:` (and finding it through the observer path).
    pub colon: Result<(), String>,
    /// When `:` is refused: other separators tried, and whether each worked.
    pub alternatives: Vec<(char, bool)>,
}

/// Samples of one operation's duration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Latency {
    pub samples: Vec<Duration>,
}

impl Latency {
    fn nearest_rank(&self, percent: usize) -> Option<Duration> {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let n = sorted.len();
        if n == 0 {
            return None;
        }
        let rank = (percent * n).div_ceil(100).clamp(1, n);
        Some(sorted[rank - 1])
    }

    pub fn median(&self) -> Option<Duration> {
        self.nearest_rank(50)
    }

    pub fn p90(&self) -> Option<Duration> {
        self.nearest_rank(90)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingResults {
    /// How far the file server's clock is ahead of ours (negative: behind), median of a few
    /// probe files; zero when the stamps fall within our own before/after window.
    pub clock_skew_ms: i64,
    /// `fsync` of a 4 KiB write.
    pub fsync: Latency,
    /// `rename` of a file within one directory.
    pub rename: Latency,
}

/// The directories probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirInfo {
    pub dir: PathBuf,
    pub dir2: Option<PathBuf>,
    /// File-system type names (`statfs`): "ext4", "fuse", "nfs", ...
    pub fs_type: String,
    pub fs_type2: Option<String>,
    /// DIR2 is on the same device number as DIR (a bind mount or the same mount: one client
    /// cache, so cross-mount figures show nothing about a second host).
    pub same_device: bool,
}

/// Everything one run found. A probe group that failed as a whole holds its error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResults {
    pub dirs: DirInfo,
    /// The observer path's wait for each staleness and coherence check.
    pub wait: Duration,
    pub locks: Result<LockResults, String>,
    pub dotlocks: Result<DotlockResults, String>,
    pub mmap: Result<MmapResults, String>,
    pub staleness: Result<StalenessResults, String>,
    pub replace: Result<ReplaceResult, String>,
    pub append: Result<AppendResult, String>,
    pub names: Result<NameResults, String>,
    pub timing: Result<TimingResults, String>,
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let ms = |v: &[u64]| Latency {
            samples: v.iter().map(|&m| Duration::from_millis(m)).collect(),
        };
        let l = ms(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(l.median(), Some(Duration::from_millis(5)));
        assert_eq!(l.p90(), Some(Duration::from_millis(9)));
        assert_eq!(ms(&[7]).p90(), Some(Duration::from_millis(7)));
        assert_eq!(ms(&[]).median(), None);
    }
}
