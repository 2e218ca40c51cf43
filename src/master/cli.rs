//! The `cote` command line, Dovecot's `dovecot` flags:
//! `cote [-F] [-c FILE | -i NAME] [-o key=value]... [-p]` starts the master (`-i` takes the
//! configuration instance NAME last ran with, `-o` overrides a setting, `-p` asks for the SSL
//! key password on the terminal); `-n`/`-a` print the configuration as
//! `coteconf` does (dovecot runs doveconf); `--version`, `--build-options`, `--hostdomain`,
//! `--help`; any other word (`stop`, `reload`, `log reopen`) is a `coteadm` verb.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::admin::{self, Verb};
use super::{Registry, StartOptions, FATAL_EXIT};
use crate::config::cli::default_config_path;
use crate::config::Config;
use crate::log::{self, print_stderr, Level};

const PREFIX: &str = "cote: ";

fn usage() -> String {
    "Usage: cote [-F] [-c <config file>] [-i <instance name>] [-p] [-n] [-a]\n       \
     [--help] [--version] [--build-options] [--hostdomain] [reload] [stop] [log reopen]\n"
        .to_string()
}

/// What `cote` was asked to do.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Start { foreground: bool },
    Dump(&'static str),
    Version,
    BuildOptions,
    HostDomain,
    Help,
    Admin(Vec<String>),
}

#[derive(Debug, PartialEq, Eq)]
struct Command {
    config: Option<PathBuf>,
    /// `-o key=value`, in order.
    overrides: Vec<String>,
    /// `-p`: ask for the SSL key password before starting.
    ask_key_password: bool,
    action: Action,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut config = None;
    let mut overrides = Vec::new();
    let mut foreground = false;
    let mut ask_key_password = false;
    let mut dump = None;
    let mut long = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "--" => {
                i += 1;
                break;
            }
            _ if arg.starts_with("--") => {
                long = Some(match &arg[2..] {
                    "version" => Action::Version,
                    "build-options" => Action::BuildOptions,
                    "hostdomain" => Action::HostDomain,
                    "help" => Action::Help,
                    _ => return Err(format!("Unknown argument: {arg}")),
                });
                break;
            }
            _ if arg.starts_with('-') && arg.len() > 1 => {
                // Bundled short flags, getopt style: -Fc FILE, -cFILE.
                let flags: Vec<char> = arg[1..].chars().collect();
                let mut j = 0;
                while j < flags.len() {
                    match flags[j] {
                        'F' => foreground = true,
                        'n' => dump = Some("-n"),
                        'a' => dump = Some("-a"),
                        'p' => ask_key_password = true,
                        flag @ ('c' | 'i' | 'o') => {
                            let rest: String = flags[j + 1..].iter().collect();
                            let value = if !rest.is_empty() {
                                rest
                            } else {
                                i += 1;
                                args.get(i).cloned().ok_or_else(|| {
                                    format!("option requires an argument -- '{flag}'")
                                })?
                            };
                            match flag {
                                'c' => config = Some(PathBuf::from(value)),
                                'i' => config = Some(super::instances::config_for_option(&value)?),
                                _ => overrides.push(value),
                            }
                            break;
                        }
                        other => return Err(format!("invalid option -- '{other}'")),
                    }
                    j += 1;
                }
            }
            _ => break,
        }
        i += 1;
    }
    let rest = &args[i.min(args.len())..];
    let action = if let Some(action) = long {
        action
    } else if !rest.is_empty() {
        Action::Admin(rest.to_vec())
    } else if let Some(flag) = dump {
        Action::Dump(flag)
    } else {
        Action::Start { foreground }
    };
    Ok(Command {
        config,
        overrides,
        ask_key_password,
        action,
    })
}

/// Runs `cote` with the process's arguments and the binary's service handlers.
pub fn main(registry: Registry<Config>) -> ExitCode {
    log::init(PREFIX);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", usage());
            print_stderr(PREFIX, Level::Fatal, &e);
            return ExitCode::from(FATAL_EXIT as u8);
        }
    };
    let config_path = command.config.clone().unwrap_or_else(default_config_path);
    match command.action {
        Action::Version => {
            println!("{} (cote)", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Action::BuildOptions => {
            print!("{}", build_options());
            ExitCode::SUCCESS
        }
        Action::HostDomain => {
            println!("{}", crate::hostname::hostdomain());
            ExitCode::SUCCESS
        }
        Action::Help => {
            eprint!("{}", usage());
            ExitCode::SUCCESS
        }
        Action::Dump(flag) => dump(flag, &config_path),
        Action::Admin(words) => match Verb::parse(&words) {
            Ok(verb) => ExitCode::from(admin::run(verb, &config_path, PREFIX)),
            Err(e) => {
                print_stderr(PREFIX, Level::Fatal, &e.0);
                eprint!("{}", admin::usage("cote"));
                ExitCode::from(admin::EX_USAGE)
            }
        },
        Action::Start { foreground } => {
            // Before anything could start a thread: workers' titles need the argv area.
            super::proctitle::init();
            let mut overrides = command.overrides;
            if command.ask_key_password {
                match ask_password("Give the password for SSL keys: ") {
                    Ok(password) => overrides.push(format!("ssl_key_password={password}")),
                    Err(e) => {
                        print_stderr(PREFIX, Level::Fatal, &e);
                        return ExitCode::from(FATAL_EXIT as u8);
                    }
                }
            }
            let options = StartOptions {
                config_path,
                overrides,
                foreground,
            };
            match super::run(registry, &options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    for line in &e.errors {
                        print_stderr(PREFIX, Level::Error, line);
                    }
                    print_stderr(PREFIX, Level::Fatal, &e.fatal);
                    ExitCode::from(u8::try_from(e.exit_code).unwrap_or(u8::MAX))
                }
            }
        }
    }
}

/// What this build has, in `dovecot --build-options` form.
fn build_options() -> String {
    "Build options: ioloop=poll notify=none\nPassdb:\nUserdb:\n".to_string()
}

/// Reads a password from the controlling terminal without echoing it (Dovecot's
/// `t_askpass`).
fn ask_password(prompt: &str) -> Result<String, String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            format!(
                "open(/dev/tty) failed: {}",
                crate::errtext::os_error_text(&e)
            )
        })?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios calls on the terminal we just opened; the old mode is put back.
    let saved = unsafe {
        let mut mode: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut mode) != 0 {
            return Err("tcgetattr(/dev/tty) failed: not a terminal".into());
        }
        let saved = mode;
        mode.c_lflag &= !libc::ECHO;
        libc::tcsetattr(fd, libc::TCSAFLUSH, &mode);
        saved
    };
    let _ = (&tty).write_all(prompt.as_bytes());
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &saved) };
    let _ = (&tty).write_all(b"\n");
    read.map_err(|e| {
        format!(
            "read(/dev/tty) failed: {}",
            crate::errtext::os_error_text(&e)
        )
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `cote -n|-a`: what `coteconf -n|-a -c FILE` prints (dovecot runs doveconf for these).
fn dump(flag: &str, config_path: &Path) -> ExitCode {
    let args = [
        flag.into(),
        "-c".into(),
        config_path.as_os_str().to_os_string(),
    ];
    let code = crate::config::cli::run("coteconf", &args);
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Result<Command, String> {
        let args: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        parse(&args)
    }

    #[test]
    fn parses_dovecot_flags() {
        assert_eq!(cmd("").unwrap().action, Action::Start { foreground: false });
        let c = cmd("-F -c /x.conf").unwrap();
        assert_eq!(c.config, Some(PathBuf::from("/x.conf")));
        assert_eq!(c.action, Action::Start { foreground: true });
        let c = cmd("-Fc /y").unwrap();
        assert_eq!(
            (c.config, c.action),
            (
                Some(PathBuf::from("/y")),
                Action::Start { foreground: true }
            )
        );
        assert_eq!(cmd("-c/z -n").unwrap().action, Action::Dump("-n"));
        assert_eq!(cmd("-a").unwrap().action, Action::Dump("-a"));
        assert_eq!(cmd("--version").unwrap().action, Action::Version);
        assert_eq!(cmd("--build-options").unwrap().action, Action::BuildOptions);
        assert_eq!(cmd("--hostdomain").unwrap().action, Action::HostDomain);
        assert_eq!(cmd("-c /x --help").unwrap().action, Action::Help);
        assert_eq!(
            cmd("-c /x stop").unwrap().action,
            Action::Admin(vec!["stop".into()])
        );
        assert_eq!(
            cmd("log reopen").unwrap().action,
            Action::Admin(vec!["log".into(), "reopen".into()])
        );
        assert_eq!(cmd("--bogus").unwrap_err(), "Unknown argument: --bogus");
        assert_eq!(cmd("-x").unwrap_err(), "invalid option -- 'x'");
        assert_eq!(cmd("-c").unwrap_err(), "option requires an argument -- 'c'");
        assert_eq!(cmd("-o").unwrap_err(), "option requires an argument -- 'o'");
    }

    #[test]
    fn overrides_and_key_password() {
        let c = cmd("-F -o mail_debug=yes -omail_fsync=never -p").unwrap();
        assert_eq!(c.overrides, vec!["mail_debug=yes", "mail_fsync=never"]);
        assert!(c.ask_key_password);
        assert_eq!(c.action, Action::Start { foreground: true });
    }
}
