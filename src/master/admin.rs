//! The master-control verbs of `coteadm` (and `cote stop|reload`): they find the running
//! master through `base_dir/master.pid` and signal it, as doveadm does.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::pidfile::{self, PidFile};
use crate::config::Config;
use crate::log::{print_stderr, Level};

/// doveadm's exit codes (sysexits.h).
pub const EX_USAGE: u8 = 64;
pub const EX_TEMPFAIL: u8 = 75;
pub const EX_CONFIG: u8 = 78;

/// The verbs implemented so far, as usage lines.
pub const VERBS: &[&str] = &[
    "log reopen",
    "reload",
    "stop",
    "pw [-l] [-p plaintext] [-r rounds] [-s scheme] [-t hash] [-u user] [-V]",
    "quota get|recalc [-u user]",
    crate::fscheck::USAGE,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Stop,
    Reload,
    LogReopen,
}

/// A command line that is not a known verb: what to tell the user.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownVerb(pub String);

impl Verb {
    pub fn parse(args: &[String]) -> Result<Verb, UnknownVerb> {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["stop"] => Ok(Verb::Stop),
            ["reload"] => Ok(Verb::Reload),
            ["log", "reopen"] => Ok(Verb::LogReopen),
            [] => Err(UnknownVerb("No command given".into())),
            _ => Err(UnknownVerb(format!("Unknown command: {}", words.join(" ")))),
        }
    }

    fn signal(self) -> Signal {
        match self {
            Verb::Stop => Signal::SIGTERM,
            Verb::Reload => Signal::SIGHUP,
            Verb::LogReopen => Signal::SIGUSR1,
        }
    }
}

/// The usage text listing the implemented verbs.
pub fn usage(program: &str) -> String {
    let mut text = format!("usage: {program} [-c <config file>] <command> [<args>]\n");
    for verb in VERBS {
        text.push_str(&format!("  {verb}\n"));
    }
    text
}

/// Runs `verb` against the master `config_path` describes; returns the exit code.
/// `prefix` starts each error line (`coteadm: `, `cote: `).
/// The configuration a command-line verb works with; on error, prints doveadm's message and
/// gives its exit code.
pub fn load_config(config_path: &Path, prefix: &str) -> Result<Config, u8> {
    Config::load(config_path).map_err(|e| {
        print_stderr(
            prefix,
            Level::Fatal,
            &format!("Error reading configuration: {e}"),
        );
        EX_CONFIG
    })
}

pub fn run(verb: Verb, config_path: &Path, prefix: &str) -> u8 {
    let config = match load_config(config_path, prefix) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let path = pidfile::path(Path::new(config.global().str("base_dir")));
    let pid = match pidfile::read(&path) {
        Ok(PidFile::Running(pid)) => pid,
        Ok(state) => {
            if state == PidFile::Empty {
                print_stderr(
                    prefix,
                    Level::Error,
                    &format!("Empty PID file in {}", path.display()),
                );
            }
            print_stderr(
                prefix,
                Level::Fatal,
                &format!("cote is not running (read from {})", path.display()),
            );
            return EX_TEMPFAIL;
        }
        Err(e) => {
            let text = format!(
                "open({}) failed: {}",
                path.display(),
                crate::errtext::os_error_text(&e)
            );
            print_stderr(prefix, Level::Fatal, &text);
            return EX_TEMPFAIL;
        }
    };
    let signal = verb.signal();
    if let Err(e) = kill(Pid::from_raw(pid), signal) {
        print_stderr(
            prefix,
            Level::Fatal,
            &format!("kill({pid}, {}) failed: {e}", signal as i32),
        );
        return EX_TEMPFAIL;
    }
    if verb == Verb::Stop {
        // Like doveadm: give the master up to about 3 seconds to finish.
        for _ in 0..30 {
            if !pidfile::alive(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parse_verbs() {
        assert_eq!(Verb::parse(&args("stop")), Ok(Verb::Stop));
        assert_eq!(Verb::parse(&args("reload")), Ok(Verb::Reload));
        assert_eq!(Verb::parse(&args("log reopen")), Ok(Verb::LogReopen));
        assert_eq!(
            Verb::parse(&args("log frob")),
            Err(UnknownVerb("Unknown command: log frob".into()))
        );
        assert_eq!(
            Verb::parse(&args("")),
            Err(UnknownVerb("No command given".into()))
        );
        assert!(usage("coteadm").contains("  log reopen\n  reload\n  stop\n"));
    }
}
