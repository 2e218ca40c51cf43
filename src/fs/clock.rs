//! Clocks. Three different times matter on a shared disk:
//!
//! - the **file server's** time, which stamps every file's mtime/ctime: stale-lock decisions
//!   compare file times with it ([`server_now`]). We learn it from the mtime of a file we
//!   just wrote ([`note_server_time`]: dotlocks do this on every creation) or, the first time
//!   a directory matters, from a probe file ([`measure_skew`]). A skew over 1 s is logged
//!   once per directory with its value.
//! - the **monotonic** clock, for every timeout and deadline (`Instant`).
//! - the **local wall** clock, for times written into names and files (Maildir names,
//!   UIDVALIDITY). [`wall_now`] never goes backwards: a step back is logged with Dovecot's
//!   message, and (like Dovecot) we sleep through a step of up to 5 s; a larger step is
//!   logged and the last time handed out is repeated until the clock catches up, instead
//!   of Dovecot's suicide.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::error::{FsError, FsOp, FsResult};
use super::file::FsFile;
use super::perms::CreatePerms;
use super::{ops, random};

/// A skew over this is logged.
const SKEW_LOG_THRESHOLD: Duration = Duration::from_secs(1);
/// A measured skew is trusted this long before [`server_now`] probes again.
const SKEW_MAX_AGE: Duration = Duration::from_secs(3600);
/// Backward steps up to this are slept through (Dovecot's `MAX_TIME_BACKWARDS_SLEEP_MSECS`).
const MAX_BACKWARDS_SLEEP: Duration = Duration::from_secs(5);
/// Forward jumps beyond the monotonic clock's progress over this are logged.
const FORWARD_JUMP_LOG: Duration = Duration::from_secs(10);

/// How far the file server's clock is ahead of ours (negative: behind), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockSkew {
    pub nanos: i64,
}

impl ClockSkew {
    /// Seconds, signed.
    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// `local` shifted to the server's clock.
    pub fn to_server(self, local: SystemTime) -> SystemTime {
        let by = Duration::from_nanos(self.nanos.unsigned_abs());
        if self.nanos >= 0 {
            local + by
        } else {
            local.checked_sub(by).unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

struct DirSkew {
    skew: ClockSkew,
    measured: Instant,
    logged: bool,
}

static SKEWS: Mutex<Option<HashMap<PathBuf, DirSkew>>> = Mutex::new(None);

/// Records that a file in `dir` written between local times `before` and `after` got the
/// server timestamp `stamped`; logs the skew once per directory when it exceeds 1 s.
pub fn note_server_time(
    dir: &Path,
    stamped: SystemTime,
    before: SystemTime,
    after: SystemTime,
) -> ClockSkew {
    // The server stamped the file somewhere inside [before, after] of our clock if the
    // clocks agree: only a stamp outside that window is skew.
    let nanos = if stamped < before {
        -signed_nanos(before.duration_since(stamped).unwrap_or_default())
    } else if stamped > after {
        signed_nanos(stamped.duration_since(after).unwrap_or_default())
    } else {
        0
    };
    let skew = ClockSkew { nanos };
    let mut guard = SKEWS.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    let entry = map.entry(dir.to_path_buf()).or_insert(DirSkew {
        skew,
        measured: Instant::now(),
        logged: false,
    });
    entry.skew = skew;
    entry.measured = Instant::now();
    if !entry.logged && Duration::from_nanos(nanos.unsigned_abs()) > SKEW_LOG_THRESHOLD {
        entry.logged = true;
        log::warn!(
            "Clock skew between this host and the file server of {}: the server's clock is {:.3} seconds {} ours",
            dir.display(),
            skew.as_secs_f64().abs(),
            if nanos > 0 { "ahead of" } else { "behind" }
        );
    }
    skew
}

fn signed_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The last skew measured for `dir` (if fresh enough).
pub fn known_skew(dir: &Path) -> Option<ClockSkew> {
    let guard = SKEWS.lock().unwrap_or_else(|p| p.into_inner());
    let entry = guard.as_ref()?.get(dir)?;
    (entry.measured.elapsed() < SKEW_MAX_AGE).then_some(entry.skew)
}

/// Measures the skew of `dir`'s file server now: creates a probe file
/// (`.cote-clock.<host>.<pid>.<random>`), reads its mtime and removes it.
pub fn measure_skew(dir: &Path) -> FsResult<ClockSkew> {
    let name = format!(
        ".cote-clock.{}.{}.{}",
        super::hostname()?.replace([':', '/'], "_"),
        std::process::id(),
        random::hex(8)
    );
    let probe = dir.join(name);
    let before = SystemTime::now();
    let file = FsFile::create_excl(&probe, &CreatePerms::default())?;
    // Write a byte so that a server applying times on write/close has done so.
    let written = file.write_all_at(b"t", 0).and_then(|()| file.metadata());
    let after = SystemTime::now();
    drop(file);
    let removed = ops::unlink(&probe);
    let stamped = written?
        .modified()
        .map_err(|e| FsError::io(FsOp::Fstat, &probe, e))?;
    removed?;
    Ok(note_server_time(dir, stamped, before, after))
}

/// The file server's current time for files in `dir`: our wall clock plus the known skew,
/// measured with a probe when unknown or old. If the probe fails (read-only directory), the
/// local time is used and the failure logged at debug level.
pub fn server_now(dir: &Path) -> SystemTime {
    let skew = match known_skew(dir) {
        Some(skew) => skew,
        None => match measure_skew(dir) {
            Ok(skew) => skew,
            Err(e) => {
                log::debug!("Can't measure the file server's clock: {e}");
                remember_unmeasurable(dir);
                ClockSkew::default()
            }
        },
    };
    skew.to_server(SystemTime::now())
}

/// Don't retry a failed probe on every call: trust local time for this directory a while.
fn remember_unmeasurable(dir: &Path) {
    let mut guard = SKEWS.lock().unwrap_or_else(|p| p.into_inner());
    guard.get_or_insert_with(HashMap::new).insert(
        dir.to_path_buf(),
        DirSkew {
            skew: ClockSkew::default(),
            measured: Instant::now(),
            logged: true,
        },
    );
}

/// Seconds since the epoch, as file timestamps count them.
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[derive(Debug, Clone, Copy)]
struct WallState {
    last: SystemTime,
    at: Instant,
}

/// What one reading of the wall clock showed, compared with the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WallStep {
    Steady,
    /// The clock is this much behind the last time handed out.
    Backwards(Duration),
    /// The clock advanced this much more than the monotonic clock did.
    Forwards(Duration),
}

fn observe(state: &mut Option<WallState>, now: SystemTime, mono: Instant) -> WallStep {
    let Some(prev) = *state else {
        *state = Some(WallState {
            last: now,
            at: mono,
        });
        return WallStep::Steady;
    };
    if let Ok(back) = prev.last.duration_since(now) {
        if !back.is_zero() {
            // Keep `last`: nothing earlier than it is ever handed out.
            *state = Some(WallState {
                last: prev.last,
                at: mono,
            });
            return WallStep::Backwards(back);
        }
    }
    *state = Some(WallState {
        last: now,
        at: mono,
    });
    let wall_step = now.duration_since(prev.last).unwrap_or_default();
    match wall_step.checked_sub(mono.duration_since(prev.at)) {
        Some(jump) if jump > FORWARD_JUMP_LOG => WallStep::Forwards(jump),
        _ => WallStep::Steady,
    }
}

static WALL: Mutex<Option<WallState>> = Mutex::new(None);

/// The local wall-clock time, never earlier than any value it returned before in this
/// process. A backwards step is logged as Dovecot logs it; up to 5 s we sleep until the
/// clock is back (as Dovecot does), beyond that we keep returning the last time until the
/// clock catches up. A forward jump of more than 10 s beyond the monotonic clock's progress
/// is logged as a warning.
pub fn wall_now() -> SystemTime {
    let mut guard = WALL.lock().unwrap_or_else(|p| p.into_inner());
    let step = observe(&mut guard, SystemTime::now(), Instant::now());
    match step {
        WallStep::Steady => {}
        WallStep::Forwards(jump) => log::warn!(
            "Time jumped forwards {}.{:06} seconds",
            jump.as_secs(),
            jump.subsec_micros()
        ),
        WallStep::Backwards(back) => {
            let text = format!("{}.{:06}", back.as_secs(), back.subsec_micros());
            if back <= MAX_BACKWARDS_SLEEP {
                log::error!(
                    "Time just moved backwards by {text} seconds. I'll sleep now until we're back in present. http://wiki2.dovecot.org/TimeMovedBackwards"
                );
                std::thread::sleep(back);
                let _ = observe(&mut guard, SystemTime::now(), Instant::now());
            } else {
                log::error!(
                    "Time just moved backwards by {text} seconds. Timestamps stay at the last value until the clock catches up. http://wiki2.dovecot.org/TimeMovedBackwards"
                );
            }
        }
    }
    guard.map_or_else(SystemTime::now, |state| state.last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_only_outside_the_write_window() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let t1 = t0 + Duration::from_millis(10);
        let s = note_server_time(dir.path(), t0 + Duration::from_millis(5), t0, t1);
        assert_eq!(s.nanos, 0);
        let s = note_server_time(dir.path(), t1 + Duration::from_secs(3), t0, t1);
        assert_eq!(s.nanos, 3_000_000_000);
        let s = note_server_time(dir.path(), t0 - Duration::from_secs(2), t0, t1);
        assert_eq!(s.nanos, -2_000_000_000);
        assert_eq!(known_skew(dir.path()), Some(s));
        assert_eq!(s.to_server(t0), t0 - Duration::from_secs(2));
    }

    #[test]
    fn local_disk_has_no_real_skew() {
        let dir = tempfile::tempdir().unwrap();
        let s = measure_skew(dir.path()).unwrap();
        // ext4/tmpfs stamp with a coarse clock that may lag a few ms behind ours.
        assert!(s.nanos.abs() < 1_000_000_000, "{s:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let now = server_now(dir.path());
        assert!(unix_secs(now) > 1_600_000_000);
    }

    #[test]
    fn wall_steps_are_classified() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let m = Instant::now();
        let mut state = None;
        assert_eq!(observe(&mut state, t, m), WallStep::Steady);
        let t1 = t + Duration::from_secs(1);
        let m1 = m + Duration::from_secs(1);
        assert_eq!(observe(&mut state, t1, m1), WallStep::Steady);
        // Back by 3 s: reported, and the last time handed out stays.
        let back = t1 - Duration::from_secs(3);
        assert_eq!(
            observe(&mut state, back, m1 + Duration::from_millis(1)),
            WallStep::Backwards(Duration::from_secs(3))
        );
        assert_eq!(state.unwrap().last, t1);
        // Forward by 60 s while only 1 s passed on the monotonic clock.
        let m2 = m1 + Duration::from_secs(2);
        assert_eq!(
            observe(&mut state, t1 + Duration::from_secs(61), m2),
            WallStep::Forwards(Duration::from_secs(59) + Duration::from_millis(1))
        );
    }

    #[test]
    fn wall_now_never_goes_backwards() {
        let mut last = wall_now();
        for _ in 0..1000 {
            let now = wall_now();
            assert!(now >= last);
            last = now;
        }
    }
}
