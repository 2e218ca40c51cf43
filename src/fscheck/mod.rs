//! `coteadm fs-check [--json] [--quick] [--wait SECS] DIR [DIR2]`: probes a directory (and a
//! second mount of the same file system) with [`crate::fs::probe`], prints what it found
//! and the settings to use ([`recommend`]), as text ([`report`]) or JSON ([`json`]). A
//! progress display goes to stderr while it runs: one updated line with a ticking clock on a
//! terminal, a line per probe group otherwise.
//!
//! Exit codes (sysexits): 0 done (even if single probes failed: the report says which),
//! 64 usage, 65 DIR2 is not the same file system, 66 a directory is missing or not one,
//! 73 DIR is not writable, 74 another I/O error, 70 a probe worker failed, 130 interrupted.

pub mod json;
pub mod recommend;
pub mod report;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fs::probe::{self, ProbeError, ProbeOptions, Progress, WorkerCommand};

pub const EX_USAGE: u8 = 64;
pub const EX_DATAERR: u8 = 65;
pub const EX_NOINPUT: u8 = 66;
pub const EX_SOFTWARE: u8 = 70;
pub const EX_CANTCREAT: u8 = 73;
pub const EX_IOERR: u8 = 74;
pub const EX_INTERRUPTED: u8 = 130;

/// The usage line.
pub const USAGE: &str = "fs-check [--json] [--quick] [--wait <secs>] <dir> [<dir2>]";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub dir: PathBuf,
    pub dir2: Option<PathBuf>,
    pub json: bool,
    pub quick: bool,
    pub wait: Option<Duration>,
}

/// Parses the arguments after `fs-check`.
pub fn parse_args(args: &[OsString]) -> Result<Request, String> {
    let mut dirs = Vec::new();
    let mut json = false;
    let mut quick = false;
    let mut wait = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("--json") => json = true,
            Some("--quick") => quick = true,
            Some("--wait") => {
                let value = iter.next().ok_or("--wait needs a number of seconds")?;
                let secs = value
                    .to_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                    .ok_or_else(|| {
                        format!(
                            "--wait: not a number of seconds (0-600): {}",
                            value.to_string_lossy()
                        )
                    })?;
                wait = Some(Duration::from_secs_f64(secs));
            }
            Some(opt) if opt.starts_with('-') && opt.len() > 1 => {
                return Err(format!("Unknown option: {opt}"))
            }
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    let mut dirs = dirs.into_iter();
    let dir = dirs.next().ok_or("fs-check needs a directory")?;
    let dir2 = dirs.next();
    if dirs.next().is_some() {
        return Err("fs-check takes at most two directories".into());
    }
    Ok(Request {
        dir,
        dir2,
        json,
        quick,
        wait,
    })
}

/// The exit code for a run that could not be done.
pub fn exit_code(e: &ProbeError) -> u8 {
    match e {
        ProbeError::NotFound(_) | ProbeError::NotADirectory(_) => EX_NOINPUT,
        ProbeError::NotWritable { .. } => EX_CANTCREAT,
        ProbeError::NotSameFilesystem { .. } => EX_DATAERR,
        ProbeError::Fs(_) => EX_IOERR,
        ProbeError::Worker(_) => EX_SOFTWARE,
        ProbeError::Interrupted => EX_INTERRUPTED,
    }
}

/// stderr progress: on a terminal one line rewritten in place, with the running group's
/// elapsed time ticking (a helper thread repaints it: some probes wait seconds); otherwise a
/// line per finished group.
struct ProgressDisplay {
    /// The running group's label and start, shared with the ticker.
    current: Arc<Mutex<Option<(String, Instant)>>>,
    ticker: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

const TICK: Duration = Duration::from_millis(250);

fn paint(current: &Mutex<Option<(String, Instant)>>) {
    let guard = current.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr().lock();
    let _ = match &*guard {
        Some((label, start)) => write!(
            err,
            "\r\x1b[Kfs-check: {label} ... {:.1} s",
            start.elapsed().as_secs_f64()
        ),
        None => write!(err, "\r\x1b[K"),
    };
    let _ = err.flush();
}

impl ProgressDisplay {
    fn new(tty: bool) -> ProgressDisplay {
        let current = Arc::new(Mutex::new(None));
        let ticker = tty.then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let (stop2, current2) = (Arc::clone(&stop), Arc::clone(&current));
            let thread = std::thread::spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    if current2.lock().map(|c| c.is_some()).unwrap_or(false) {
                        paint(&current2);
                    }
                }
            });
            (stop, thread)
        });
        ProgressDisplay { current, ticker }
    }

    fn show(&self, event: Progress) {
        let tty = self.ticker.is_some();
        match event {
            Progress::Start { index, total, name } => {
                if tty {
                    *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((format!("[{index}/{total}] {name}"), Instant::now()));
                    paint(&self.current);
                }
            }
            Progress::Done {
                name,
                elapsed,
                error,
            } => {
                if tty {
                    *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    paint(&self.current);
                } else {
                    let mut err = std::io::stderr().lock();
                    let _ = match error {
                        None => writeln!(
                            err,
                            "fs-check: {name}: done in {:.1} s",
                            elapsed.as_secs_f64()
                        ),
                        Some(e) => writeln!(err, "fs-check: {name}: failed: {e}"),
                    };
                }
            }
        }
    }

    /// Stops the ticker and clears its line.
    fn finish(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
            paint(&self.current);
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    probe::interrupt();
}

/// Stops the probes cleanly (removing their directory) on SIGINT, SIGTERM and SIGHUP.
fn catch_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// Runs `coteadm fs-check ARGS`; `worker` starts a probe worker. Returns the exit code;
/// errors go to stderr prefixed with `prefix`.
pub fn main(args: &[OsString], worker: WorkerCommand, prefix: &str) -> u8 {
    let request = match parse_args(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{prefix}Fatal: {e}\nusage: coteadm {USAGE}");
            return EX_USAGE;
        }
    };
    let mut opts = ProbeOptions::new(request.dir, request.dir2, worker);
    if request.quick {
        opts = opts.quick();
    }
    if let Some(wait) = request.wait {
        opts.wait = wait;
    }
    catch_signals();
    let mut display = ProgressDisplay::new(std::io::stderr().is_terminal());
    let outcome = probe::run(&opts, &mut |event| display.show(event));
    display.finish();
    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{prefix}Fatal: fs-check: {e}");
            return exit_code(&e);
        }
    };
    let advice = recommend::advise(&results);
    let text = if request.json {
        format!("{:#}\n", json::render(&results, &advice))
    } else {
        report::render(&results, &advice)
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return EX_IOERR;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn arguments_in_any_order() {
        let r = parse_args(&args(&["--json", "/a", "--wait", "2.5", "/b", "--quick"])).unwrap();
        assert_eq!(r.dir, PathBuf::from("/a"));
        assert_eq!(r.dir2, Some(PathBuf::from("/b")));
        assert!(r.json && r.quick);
        assert_eq!(r.wait, Some(Duration::from_millis(2500)));
        let r = parse_args(&args(&["/a"])).unwrap();
        assert_eq!((r.dir2, r.json, r.wait), (None, false, None));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for bad in [
            &[][..],
            &["--json"],
            &["/a", "/b", "/c"],
            &["--wait"],
            &["--wait", "x", "/a"],
            &["--wait", "-1", "/a"],
            &["--bogus", "/a"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
