//! The master-control verbs of `coteadm` (and `cote stop|reload`): they find the running
//! master through `base_dir/master.pid` and signal it, as doveadm does.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::instances::InstanceList;
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
    "mailbox list [-7|-8] [-s] [-u user] [<mailbox mask> ...]",
    "mailbox status [-t] [-f field] [-u user] <fields> <mailbox mask> ...",
    "mailbox create [-s] [-u user] <mailbox> ...",
    "mailbox delete [-e] [-r] [-s] [-u user] <mailbox> ...",
    "mailbox rename [-s] [-u user] <old name> <new name>",
    "mailbox subscribe|unsubscribe [-u user] <mailbox> ...",
    "force-resync [-f] [-u user] <mailbox mask>",
    "instance list [-c] [<name>]",
    "instance remove <name> | <base dir>",
    "who [-a <anvil socket path>] [-1] [<user mask>] [<ip/bits>]",
    "kick [-a <anvil socket path>] [-f] <user mask>|<ip/bits>",
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
    let mut text =
        format!("usage: {program} [-c <config file> | -i <instance name>] <command> [<args>]\n");
    for verb in VERBS {
        text.push_str(&format!("  {verb}\n"));
    }
    text
}

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

/// Runs `verb` against the master `config_path` describes; returns the exit code.
/// `prefix` starts each error line (`coteadm: `, `cote: `).
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

/// `instance list [-c] [NAME]` (`-c`: only the configuration paths) and
/// `instance remove NAME|BASE_DIR`.
#[derive(Debug, PartialEq, Eq)]
pub enum InstanceVerb {
    List {
        show_config: bool,
        name: Option<String>,
    },
    Remove(String),
}

impl InstanceVerb {
    /// `None` when `words` is not an instance verb.
    pub fn parse(words: &[String]) -> Option<Result<InstanceVerb, String>> {
        let (verb, rest) = match words {
            [a, b, rest @ ..] if a == "instance" => (b.as_str(), rest),
            _ => return None,
        };
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        Some(match (verb, rest.as_slice()) {
            ("list", args) => {
                let show_config = args.contains(&"-c");
                let names: Vec<&&str> = args.iter().filter(|a| **a != "-c").collect();
                match names.as_slice() {
                    [] => Ok(InstanceVerb::List {
                        show_config,
                        name: None,
                    }),
                    [name] if !name.starts_with('-') => Ok(InstanceVerb::List {
                        show_config,
                        name: Some(name.to_string()),
                    }),
                    _ => Err("usage: instance list [-c] [<name>]".to_string()),
                }
            }
            ("remove", [name]) => Ok(InstanceVerb::Remove(name.to_string())),
            ("remove", _) => Err("usage: instance remove <name> | <base dir>".to_string()),
            _ => Err(format!("Unknown command: {}", words.join(" "))),
        })
    }
}

/// Runs an instance verb on the list in the configuration's `state_dir`.
pub fn run_instance(verb: &InstanceVerb, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    let list = InstanceList::in_state_dir(Path::new(config.global().str("state_dir")));
    match verb {
        InstanceVerb::List { show_config, name } => {
            let instances = match list.read() {
                Ok(list) => list,
                Err(e) => {
                    print_stderr(prefix, Level::Error, &e.to_string());
                    return EX_TEMPFAIL;
                }
            };
            let shown = instances
                .iter()
                .filter(|i| name.as_ref().is_none_or(|n| *n == i.name));
            let text = if *show_config {
                shown
                    .map(|i| format!("{}\n", i.config_path.as_deref().unwrap_or("")))
                    .collect()
            } else {
                let rows: Vec<Vec<String>> = shown
                    .map(|i| {
                        let pid_path = pidfile::path(Path::new(&i.base_dir));
                        let running = matches!(pidfile::read(&pid_path), Ok(PidFile::Running(_)));
                        vec![
                            i.base_dir.clone(),
                            i.name.clone(),
                            crate::log::unixdate(i.last_used),
                            if running { "yes" } else { "no" }.to_string(),
                        ]
                    })
                    .collect();
                let headers = [
                    ("path", false),
                    ("name", false),
                    ("last used", false),
                    ("running", false),
                ];
                crate::mailadm::table_expanding(
                    &headers,
                    &rows,
                    crate::mailadm::terminal_columns(),
                    0,
                )
            };
            match out.write_all(text.as_bytes()) {
                Ok(()) => 0,
                Err(_) => EX_TEMPFAIL,
            }
        }
        InstanceVerb::Remove(name) => match list.remove(name) {
            Ok(true) => 0,
            Ok(false) => {
                print_stderr(prefix, Level::Error, "Instance already didn't exist");
                crate::mailadm::EX_NOTFOUND
            }
            Err(e) => {
                print_stderr(prefix, Level::Error, &e.to_string());
                print_stderr(prefix, Level::Error, "Failed to remove instance");
                EX_TEMPFAIL
            }
        },
    }
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

    #[test]
    fn parse_instance_verbs() {
        assert_eq!(InstanceVerb::parse(&args("stop")), None);
        assert_eq!(
            InstanceVerb::parse(&args("instance list -c main")),
            Some(Ok(InstanceVerb::List {
                show_config: true,
                name: Some("main".into())
            }))
        );
        assert_eq!(
            InstanceVerb::parse(&args("instance remove /run/x")),
            Some(Ok(InstanceVerb::Remove("/run/x".into())))
        );
        assert!(matches!(
            InstanceVerb::parse(&args("instance remove")),
            Some(Err(_))
        ));
        assert!(matches!(
            InstanceVerb::parse(&args("instance list a b")),
            Some(Err(_))
        ));
    }
}
