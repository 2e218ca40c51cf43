//! `coteadm`: Dovecot's `doveadm` verbs. Implemented so far: `stop`, `reload`, `log reopen`,
//! `pw`, `auth test`, `auth lookup`, `user`, `quota get`, `quota recalc`, `director …`,
//! and cote's own `fs-check`.

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
use cote::mailadm::{self, MailCommand};
use cote::master::admin::{self, Verb};

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
    while let Some(arg) = args.next_if(|a| a.as_bytes().starts_with(b"-")) {
        let arg = arg.to_string_lossy().into_owned();
        match arg.as_str() {
            "-c" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return usage_error("option requires an argument -- 'c'"),
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
    let words: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some(verb) = AuthVerb::parse(&words) {
        let verb = match verb {
            Ok(v) => v,
            Err(e) => return usage_error(&e),
        };
        let path = config.unwrap_or_else(default_config_path);
        return match admin::load_config(&path, PREFIX) {
            Ok(config) => ExitCode::from(auth_admin::run(
                &verb,
                &config,
                &mut std::io::stdout().lock(),
            )),
            Err(code) => ExitCode::from(code),
        };
    }
    if let Some(command) = DirectorCommand::parse(&words) {
        let command = match command {
            Ok(c) => c,
            Err(e) => return usage_error(&e),
        };
        let path = config.unwrap_or_else(default_config_path);
        return match admin::load_config(&path, PREFIX) {
            Ok(config) => ExitCode::from(director_adm::run(
                &command,
                &config,
                PREFIX,
                &mut std::io::stdout().lock(),
            )),
            Err(code) => ExitCode::from(code),
        };
    }
    if let Some(command) = MailCommand::parse(&words, std::env::var("USER").ok()) {
        let command = match command {
            Ok(c) => c,
            Err(e) => return usage_error(&e),
        };
        let path = config.unwrap_or_else(default_config_path);
        return match admin::load_config(&path, PREFIX) {
            Ok(config) => ExitCode::from(mailadm::run(
                &command,
                &config,
                PREFIX,
                &mut std::io::stdout().lock(),
            )),
            Err(code) => ExitCode::from(code),
        };
    }
    match Verb::parse(&words) {
        Ok(verb) => {
            let path = config.unwrap_or_else(default_config_path);
            ExitCode::from(admin::run(verb, &path, PREFIX))
        }
        Err(e) => usage_error(&e.0),
    }
}
