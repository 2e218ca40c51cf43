//! `cote-lda`: Dovecot's `dovecot-lda` — delivers one message read from stdin (or `-p
//! file`) into a user's mailbox, for an MTA's `mailbox_command` or a procmail-style setup:
//!
//! ```text
//! cote-lda [-c config] [-d user] [-a address] [-r address] [-f sender] [-m mailbox]
//!          [-p path] [-e] [-k]
//! ```
//!
//! Exit codes as dovecot-lda's: 0 delivered, 64 usage, 67 no such user (`-d`), 75 temporary
//! failure (the MTA retries), 77 rejected (with `-e`; cote does not send rejection mails).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use cote::auth::client::{MasterClient, UserReply};
use cote::config::cli::default_config_path;
use cote::config::var_expand::{self, MailUserVars, Vars};
use cote::config::{Config, FilterQuery, Settings};
use cote::delivery;
use cote::lmtp::address::parse_path;
use cote::log::Destinations;
use cote::master::mail_login::become_user;
use cote::master::privileges::is_root;
use cote::storage::error::ErrorKind;
use cote::storage::user::{MailUser, MailUserInfo};

const EX_OK: u8 = 0;
const EX_USAGE: u8 = 64;
const EX_NOUSER: u8 = 67;
const EX_TEMPFAIL: u8 = 75;
const EX_NOPERM: u8 = 77;

const USAGE: &str = "Usage: cote-lda [-c <config file>] [-d <username>] [-p <path>]\n\
                     [-m <mailbox>] [-e] [-k] [-f <envelope sender>]\n\
                     [-a <original envelope recipient>] [-r <final envelope recipient>]\n";

/// What the command line asked for.
#[derive(Debug, Default)]
struct Options {
    config: Option<PathBuf>,
    /// `-d`: the user, looked up in the userdb.
    user: Option<String>,
    mailbox: Option<String>,
    path: Option<PathBuf>,
    /// `-e`: a rejection is reported on stderr with EX_NOPERM.
    stderr_rejection: bool,
}

/// A failure that ends the program with `code`, after `message` on stderr.
struct Exit {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl Into<String>) -> Exit {
    Exit {
        code,
        message: message.into(),
    }
}

/// The option's argument: the rest of this word (`-duser`) or the next one.
fn option_value(
    word: &str,
    args: &mut impl Iterator<Item = String>,
    letter: char,
) -> Result<String, Exit> {
    let attached = &word[2..];
    if !attached.is_empty() {
        return Ok(attached.to_string());
    }
    args.next().ok_or_else(|| {
        fail(
            EX_USAGE,
            format!("option requires an argument -- '{letter}'\n{USAGE}"),
        )
    })
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, Exit> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(word) = args.next() {
        if word == "--" {
            if let Some(extra) = args.next() {
                return Err(fail(EX_USAGE, format!("Unknown argument: {extra}")));
            }
            break;
        }
        let mut letters = word.chars();
        let (Some('-'), Some(letter)) = (letters.next(), letters.next()) else {
            return Err(fail(EX_USAGE, format!("{USAGE}Unknown argument: {word}")));
        };
        match letter {
            'c' => options.config = Some(option_value(&word, &mut args, 'c')?.into()),
            'd' => options.user = Some(option_value(&word, &mut args, 'd')?),
            'm' => {
                let mailbox = option_value(&word, &mut args, 'm')?;
                // `-m ""` is ignored, so `-m ${extension}` works for mail without one.
                if !mailbox.is_empty() {
                    options.mailbox = Some(mailbox);
                }
            }
            'p' => options.path = Some(option_value(&word, &mut args, 'p')?.into()),
            'e' => options.stderr_rejection = true,
            // The environment is never cleared by cote-lda: -k changes nothing.
            'k' => {}
            'a' | 'r' => {
                let value = option_value(&word, &mut args, letter)?;
                check_address(&value, false)
                    .map_err(|e| fail(EX_USAGE, format!("Invalid -{letter} parameter: {e}")))?;
            }
            // The envelope sender only matters for rejection mails and Sieve, which cote
            // does not have; a broken one is no error (dovecot-lda uses <> then).
            'f' => {
                option_value(&word, &mut args, 'f')?;
            }
            'o' => {
                return Err(fail(
                    EX_TEMPFAIL,
                    "-o key=value is not implemented by cote-lda yet: set it in the configuration",
                ))
            }
            _ => return Err(fail(EX_USAGE, format!("Unknown option -{letter}\n{USAGE}"))),
        }
    }
    Ok(options)
}

/// An address given with or without angle brackets.
fn check_address(value: &str, allow_null: bool) -> Result<(), &'static str> {
    let bracketed = if value.starts_with('<') {
        value.to_string()
    } else {
        format!("<{value}>")
    };
    match parse_path(bracketed.as_bytes(), allow_null) {
        Ok((_, [])) => Ok(()),
        Ok(_) => Err("Invalid character in path"),
        Err(e) => Err(e),
    }
}

/// The message: a leading mbox `From ` line is dropped.
fn read_message(path: Option<&PathBuf>) -> Result<Vec<u8>, Exit> {
    let mut data = Vec::new();
    let read = match path {
        Some(p) => std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut data)),
        None => std::io::stdin().lock().read_to_end(&mut data),
    };
    if let Err(e) = read {
        let what = path.map_or("stdin".to_string(), |p| p.display().to_string());
        return Err(fail(
            EX_TEMPFAIL,
            format!("read({what}) failed: {}", cote::errtext::os_error_text(&e)),
        ));
    }
    if data.starts_with(b"From ") {
        let end = data
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| i + 1);
        data.drain(..end);
    }
    Ok(data)
}

/// The userdb's answer for `user` (`-d`).
fn lookup(config: &Config, user: &str) -> Result<(String, Vec<(String, String)>), Exit> {
    let socket = PathBuf::from(config.global().str("base_dir")).join("auth-userdb");
    let reply = MasterClient::connect(&socket).and_then(|mut c| c.user(user, "lda", &[]));
    match reply {
        Ok(UserReply::User { user, fields }) => Ok((user, fields)),
        Ok(UserReply::NotFound) => Err(fail(EX_NOUSER, format!("User doesn't exist: {user}"))),
        Ok(UserReply::Fail { reason }) => Err(fail(
            EX_TEMPFAIL,
            format!(
                "User lookup failed for {user}: {}",
                reason.unwrap_or_else(|| "Internal error".into())
            ),
        )),
        Err(e) => Err(fail(
            EX_TEMPFAIL,
            format!(
                "Failed to lookup user {user}: connect({}) failed: {}",
                socket.display(),
                cote::errtext::os_error_text(&e)
            ),
        )),
    }
}

/// Without `-d`: this process's user, from `$USER`/`$HOME` or the passwd entry of its uid.
fn process_user() -> Result<(String, Option<String>), Exit> {
    let home = std::env::var("HOME").ok();
    if let (Ok(user), Some(home)) = (std::env::var("USER"), &home) {
        return Ok((user, Some(home.clone())));
    }
    let uid = nix::unistd::geteuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(pw)) => Ok((pw.name, home.or_else(|| Some(pw.dir.display().to_string())))),
        Ok(None) => Err(fail(
            EX_USAGE,
            format!("Couldn't lookup our username (uid={uid})"),
        )),
        Err(e) => Err(fail(
            EX_TEMPFAIL,
            format!("getpwuid() failed: {}", e.desc()),
        )),
    }
}

fn run(options: Options) -> Result<(), Exit> {
    let path = options.config.clone().unwrap_or_else(default_config_path);
    let config = Config::load(&path)
        .map_err(|e| fail(EX_TEMPFAIL, format!("Error reading configuration: {e}")))?;
    let settings = config.settings(&FilterQuery {
        protocol: Some("lda".into()),
        ..FilterQuery::default()
    });
    // Log where the configuration says (as the user, so a log file must be writable by
    // it); stderr when it can't be opened.
    if let Ok(destinations) = Destinations::open(cote::master::log_settings(&settings)) {
        cote::log::to_destinations(destinations);
    }
    let message = read_message(options.path.as_ref())?;
    let (name, fields, home) = match &options.user {
        Some(user) => {
            let (name, fields) = lookup(&config, user)?;
            (name, fields, None)
        }
        None if is_root() => {
            return Err(fail(
                EX_USAGE,
                "destination user parameter (-d user) not given",
            ))
        }
        None => {
            let (name, home) = process_user()?;
            (name, Vec::new(), home)
        }
    };
    let mut vars = MailUserVars {
        user: name.clone(),
        service: "lda".into(),
        home,
        userdb_fields: Some(fields.clone()),
        ..MailUserVars::default()
    };
    if options.user.is_some() {
        become_user(&settings, &fields, &mut vars).map_err(|e| fail(EX_TEMPFAIL, e))?;
    }
    let expanded = Vars::mail_user(&vars);
    if let Ok(prefix) = var_expand::expand(settings.str("mail_log_prefix"), &expanded) {
        cote::log::set_prefix(&prefix);
    }
    deliver(&settings, &options, vars, &fields, &message)
}

fn deliver(
    settings: &Settings,
    options: &Options,
    vars: MailUserVars,
    fields: &[(String, String)],
    message: &[u8],
) -> Result<(), Exit> {
    let info = MailUserInfo {
        username: vars.user.clone(),
        home: vars.home.clone(),
        uid: vars.uid,
        gid: vars.gid,
        mail: fields
            .iter()
            .find(|(k, _)| k == "mail")
            .map(|(_, v)| v.clone()),
        service: "lda".into(),
        session: None,
        local_ip: None,
        remote_ip: None,
        userdb_fields: Some(fields.to_vec()),
    };
    let mut user = MailUser::new(settings, info).map_err(|e| {
        fail(
            EX_TEMPFAIL,
            e.internal().unwrap_or(e.client_text()).to_string(),
        )
    })?;
    let mailbox = options.mailbox.as_deref().unwrap_or("INBOX");
    let autocreate = settings.bool("lda_mailbox_autocreate");
    match delivery::deliver(&mut user, mailbox, autocreate, message) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.client_text().to_string();
            match e.kind() {
                ErrorKind::NoQuota if settings.bool("quota_full_tempfail") => {
                    Err(fail(EX_TEMPFAIL, text))
                }
                ErrorKind::NoQuota | ErrorKind::Perm | ErrorKind::NotPossible => {
                    log::info!("rejected: {text}");
                    // dovecot-lda mails a rejection when not told -e; cote can't send mail.
                    let hint = if options.stderr_rejection {
                        ""
                    } else {
                        " (cote-lda sends no rejection mails: the MTA bounces it)"
                    };
                    Err(fail(EX_NOPERM, format!("{text}{hint}")))
                }
                _ => Err(fail(EX_TEMPFAIL, e.internal().unwrap_or(&text).to_string())),
            }
        }
    }
}

fn main() -> ExitCode {
    cote::log::init("lda: ");
    let result = parse_args(std::env::args().skip(1)).and_then(run);
    match result {
        Ok(()) => ExitCode::from(EX_OK),
        Err(exit) => {
            // The MTA logs what the LDA says on stderr.
            eprintln!("{}", exit.message);
            ExitCode::from(exit.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Result<Options, Exit> {
        parse_args(words.iter().map(|w| w.to_string()))
    }

    #[test]
    fn command_lines() {
        let o = args(&[
            "-d", "alice", "-mWork", "-e", "-k", "-f", "<>", "-a", "alice@x",
        ])
        .ok()
        .unwrap();
        assert_eq!(o.user.as_deref(), Some("alice"));
        assert_eq!(o.mailbox.as_deref(), Some("Work"));
        assert!(o.stderr_rejection);
        assert!(args(&["-m", ""]).ok().unwrap().mailbox.is_none());
        assert_eq!(args(&["-d"]).err().unwrap().code, EX_USAGE);
        assert_eq!(args(&["-x"]).err().unwrap().code, EX_USAGE);
        assert_eq!(args(&["extra"]).err().unwrap().code, EX_USAGE);
        assert_eq!(args(&["-a", "a@"]).err().unwrap().code, EX_USAGE);
        assert_eq!(args(&["-o", "k=v"]).err().unwrap().code, EX_TEMPFAIL);
        // A broken -f is not an error.
        assert!(args(&["-f", "<<<"]).is_ok());
    }
}
