//! `coteadm fs-check [--json] [--quick] [--wait SECS] DIR [DIR2]`: probes a directory (and a
//! second mount of the same file system) with [`crate::fs::probe`], prints what it found
//! and the settings to use ([`recommend`]), as text ([`report`]) or JSON ([`json`]). A
//! progress display goes to stderr while it runs: one updated line on a terminal, a line
//! per probe group otherwise.
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
use std::time::Duration;

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

/// stderr progress: one line rewritten in place on a terminal, else a line per group.
struct ProgressDisplay {
    tty: bool,
}

impl ProgressDisplay {
    fn show(&self, event: Progress) {
        let mut err = std::io::stderr().lock();
        let _ = match (&event, self.tty) {
            (Progress::Start { index, total, name }, true) => {
                write!(err, "\r\x1b[Kfs-check: [{index}/{total}] {name} ...")
            }
            (Progress::Start { .. }, false) => Ok(()),
            (Progress::Done { .. }, true) => write!(err, "\r\x1b[K"),
            (
                Progress::Done {
                    name,
                    elapsed,
                    error,
                },
                false,
            ) => match error {
                None => writeln!(
                    err,
                    "fs-check: {name}: done in {:.1} s",
                    elapsed.as_secs_f64()
                ),
                Some(e) => writeln!(err, "fs-check: {name}: failed: {e}"),
            },
        };
        let _ = err.flush();
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
    let display = ProgressDisplay {
        tty: std::io::stderr().is_terminal(),
    };
    let results = match probe::run(&opts, &mut |event| display.show(event)) {
        Ok(r) => r,
        Err(e) => {
            if display.tty {
                eprint!("\r\x1b[K");
            }
            eprintln!("{prefix}Fatal: fs-check: {e}");
            return exit_code(&e);
        }
    };
    let advice = recommend::advise(&results);
    let text = if request.json {
        json::render(&results, &advice).pretty() + "\n"
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
