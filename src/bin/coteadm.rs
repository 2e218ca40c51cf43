//! `coteadm`: Dovecot's `doveadm` verbs. Implemented so far: `stop`, `reload`, `log reopen`,
//! `pw`, `auth test`, `auth lookup`, `user`, `quota get`, `quota recalc`, `mailbox list|status|
//! create|delete|rename|subscribe|unsubscribe`, `force-resync`, `instance list`,
//! `instance remove`, `director …`, `who`, `kick`, and cote's own `fs-check`. `-c FILE` or
//! `-i NAME` picks the configuration; `-f flow|tab|table` the mail commands' output format.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use cote::auth::admin::{self as auth_admin, AuthVerb};
use cote::auth::scheme::pw;
use cote::config::cli::default_config_path;
use cote::director::adm::{self as director_adm, DirectorCommand};
use cote::errtext::os_error_text;
use cote::fs::probe::{self, WorkerCommand, WORKER_VERB};
use cote::fscheck;
use cote::log::{print_stderr, Level};
use cote::login::who::{self, WhoCommand};
use cote::mailadm::{self, Formatter, MailCommand, UsageError};
use cote::master::admin::{self, InstanceVerb, Verb};
use cote::master::instances;

const PREFIX: &str = "coteadm: ";

fn usage_error(message: &str) -> ExitCode {
    print_stderr(PREFIX, Level::Fatal, message);
    eprint!("{}", admin::usage("coteadm"));
    ExitCode::from(admin::EX_USAGE)
}

fn main() -> ExitCode {
    // Arguments as the OS gives them: a password after `pw -p` need not be UTF-8.
    let mut args = std::env::args_os().skip(1).peekable();
    let mut config = None;
    let mut formatter = None;
    while let Some(arg) = args.next_if(|a| a.as_bytes().starts_with(b"-")) {
        let arg = arg.to_string_lossy().into_owned();
        match arg.as_str() {
            "-c" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return usage_error("option requires an argument -- 'c'"),
            },
            "-i" => match args.next() {
                Some(name) => match instances::config_for_option(&name.to_string_lossy()) {
                    Ok(path) => config = Some(path),
                    Err(e) => {
                        print_stderr(PREFIX, Level::Fatal, &e);
                        return ExitCode::from(admin::EX_CONFIG);
                    }
                },
                None => return usage_error("option requires an argument -- 'i'"),
            },
            "-f" => match args.next() {
                Some(name) => formatter = Some(name.to_string_lossy().into_owned()),
                None => return usage_error("option requires an argument -- 'f'"),
            },
            _ => match arg.strip_prefix("-c") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return usage_error(&format!("Unknown option: {arg}")),
            },
        }
    }
    if args.next_if(|a| a == "fs-check").is_some() {
        let rest: Vec<OsString> = args.collect();
        return match std::env::current_exe() {
            Ok(program) => {
                let worker = WorkerCommand {
                    program,
                    args: vec![OsString::from(WORKER_VERB)],
                };
                ExitCode::from(fscheck::main(&rest, worker, PREFIX))
            }
            Err(e) => {
                print_stderr(
                    PREFIX,
                    Level::Fatal,
                    &format!("Can't find this program's path: {}", os_error_text(&e)),
                );
                ExitCode::from(fscheck::EX_SOFTWARE)
            }
        };
    }
    // fs-check's probe worker (started by fs-check itself, not for users).
    if args.next_if(|a| a == WORKER_VERB).is_some() {
        let rest: Vec<OsString> = args.collect();
        return ExitCode::from(probe::worker::main(&rest));
    }
    if args.next_if(|a| a == "pw").is_some() {
        let rest: Vec<OsString> = args.collect();
        return ExitCode::from(pw::main(&rest));
    }
    let raw: Vec<OsString> = args.collect();
    let words: Vec<String> = raw
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // doveadm refuses a mailbox name that is not UTF-8 before anything else (here any word
    // of a mail command, a user name too).
    let not_utf8 = raw.iter().find(|a| a.to_str().is_none());
    if let (Some(bad), Some(_)) = (not_utf8, MailCommand::parse(&words, Some(String::new()))) {
        let mut line = b"Fatal: Mailbox name not valid UTF-8: ".to_vec();
        line.extend_from_slice(bad.as_bytes());
        line.push(b'\n');
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &line);
        return ExitCode::from(mailadm::EX_DATAERR);
    }
    let config_path = config.unwrap_or_else(default_config_path);
    // `-f`: doveadm's print formatter, which only the mail commands take here so far.
    if let Some(name) = formatter {
        let Some(parsed) = MailCommand::parse(&words, std::env::var("USER").ok()) else {
            return usage_error(&format!(
                "-f {name}: only the mail commands (quota, mailbox, force-resync) take a \
                 print formatter in this build of cote"
            ));
        };
        let formatter = match Formatter::parse(&name) {
            Ok(f) => f,
            Err((code, text)) => {
                print_stderr(PREFIX, Level::Fatal, &text);
                return ExitCode::from(code);
            }
        };
        return run_mail(
            parsed.map(|c| MailCommand {
                formatter: Some(formatter),
                ..c
            }),
            &config_path,
        );
    }
    if let Some(verb) = AuthVerb::parse(&words) {
        return with_config(verb, &config_path, |verb, config, out| {
            auth_admin::run(verb, config, out)
        });
    }
    if let Some(verb) = InstanceVerb::parse(&words) {
        return with_config(verb, &config_path, |verb, config, out| {
            admin::run_instance(verb, config, PREFIX, out)
        });
    }
    if let Some(command) = DirectorCommand::parse(&words) {
        return with_config(command, &config_path, |command, config, out| {
            director_adm::run(command, config, PREFIX, out)
        });
    }
    if let Some(command) = WhoCommand::parse(&words) {
        return with_config(command, &config_path, |command, config, out| {
            who::run(command, config, PREFIX, out)
        });
    }
    if let Some(command) = MailCommand::parse(&words, std::env::var("USER").ok()) {
        return run_mail(command, &config_path);
    }
    match Verb::parse(&words) {
        Ok(verb) => ExitCode::from(admin::run(verb, &config_path, PREFIX)),
        Err(e) => usage_error(&e.0),
    }
}

/// Runs a mail command, or prints its usage error as doveadm does (exit code 64).
fn run_mail(parsed: Result<MailCommand, UsageError>, path: &std::path::Path) -> ExitCode {
    match parsed {
        Ok(command) => with_config(Ok(command), path, |command, config, out| {
            mailadm::run(command, config, PREFIX, out)
        }),
        Err(e) => {
            eprint!("{}", e.text("coteadm"));
            ExitCode::from(mailadm::EX_USAGE)
        }
    }
}

/// Runs a parsed verb (or reports its usage error) with the configuration at `path`,
/// printing to stdout.
fn with_config<V>(
    parsed: Result<V, String>,
    path: &std::path::Path,
    run: impl FnOnce(&V, &cote::config::Config, &mut dyn std::io::Write) -> u8,
) -> ExitCode {
    let verb = match parsed {
        Ok(v) => v,
        Err(e) => return usage_error(&e),
    };
    match admin::load_config(path, PREFIX) {
        Ok(config) => ExitCode::from(run(&verb, &config, &mut std::io::stdout().lock())),
        Err(code) => ExitCode::from(code),
    }
}
