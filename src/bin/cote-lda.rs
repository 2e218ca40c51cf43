//! `cote-lda`: Dovecot's `dovecot-lda` — delivers one message read from stdin (or `-p
//! file`) into a user's mailbox, for an MTA's `mailbox_command` or a procmail-style setup:
//!
//! ```text
//! cote-lda [-c config] [-d user] [-a address] [-r address] [-f sender] [-m mailbox]
//!          [-p path] [-e] [-k] [-o key=value]...
//! ```
//!
//! Exit codes as dovecot-lda's: 0 delivered (or refused and a rejection mail sent to the
//! sender through `sendmail_path`), 64 usage, 67 no such user (`-d`), 75 temporary failure
//! (the MTA retries), 77 refused with `-e` (the reason on stderr, the MTA bounces). A message
//! larger than 128 KiB is spooled to `mail_temp_dir` while it is read.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cote::auth::client::{MasterClient, UserReply};
use cote::config::cli::default_config_path;
use cote::config::var_expand::{self, MailUserVars, Vars};
use cote::config::{Config, FilterQuery, Settings};
use cote::delivery::rejection::{self, Rejection};
use cote::delivery::{self, MessageBuffer, MessageData};
use cote::lmtp::address::{parse_path, Address};
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
                     [-a <original envelope recipient>] [-r <final envelope recipient>]\n\
                     [-o <setting>=<value>]\n";

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
    /// `-f`: the envelope sender (`Some("")`: the null sender; a broken one is `None`).
    mail_from: Option<String>,
    /// `-a` and `-r`: the original and final recipient.
    original_rcpt: Option<String>,
    final_rcpt: Option<String>,
    /// `-o key=value`, in order.
    overrides: Vec<String>,
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
                let address = parse_address(&value, false)
                    .map_err(|e| fail(EX_USAGE, format!("Invalid -{letter} parameter: {e}")))?;
                let encoded = address.map(|a| a.encode());
                if letter == 'a' {
                    options.original_rcpt = encoded;
                } else {
                    options.final_rcpt = encoded;
                }
            }
            // A broken sender is no error: there is none then (rejections go to the
            // message's Return-Path).
            'f' => {
                let value = option_value(&word, &mut args, 'f')?;
                options.mail_from = parse_address(&value, true)
                    .ok()
                    .map(|a| a.map(|a| a.encode()).unwrap_or_default());
            }
            'o' => options.overrides.push(option_value(&word, &mut args, 'o')?),
            _ => return Err(fail(EX_USAGE, format!("Unknown option -{letter}\n{USAGE}"))),
        }
    }
    Ok(options)
}

/// An address given with or without angle brackets (`None`: the null path).
fn parse_address(value: &str, allow_null: bool) -> Result<Option<Address>, &'static str> {
    let bracketed = if value.starts_with('<') {
        value.to_string()
    } else {
        format!("<{value}>")
    };
    match parse_path(bracketed.as_bytes(), allow_null) {
        Ok((address, [])) => Ok(address),
        Ok(_) => Err("Invalid character in path"),
        Err(e) => Err(e),
    }
}

/// The message read from `path` or stdin into a buffer that spools to `temp_dir`; a leading
/// mbox `From ` line is dropped, its sender returned.
fn read_message(
    path: Option<&PathBuf>,
    temp_dir: &Path,
) -> Result<(MessageData, Option<String>), Exit> {
    let what = || path.map_or("stdin".to_string(), |p| p.display().to_string());
    let read_failed = |e: std::io::Error| {
        format!(
            "read({}) failed: {}",
            what(),
            cote::errtext::os_error_text(&e)
        )
    };
    let mut input: Box<dyn Read> = match path {
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| fail(EX_TEMPFAIL, read_failed(e)))?),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut buffer = MessageBuffer::new(temp_dir, "lda");
    let mut chunk = vec![0u8; 64 * 1024];
    let mut first = true;
    let mut sender = None;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(EX_TEMPFAIL, read_failed(e))),
        };
        let data = &chunk[..n];
        if first {
            first = false;
            // The From_ line is read whole first (it is short).
            if data.starts_with(b"From ") {
                let mut line = data.to_vec();
                while !line.contains(&b'\n') {
                    let mut more = [0u8; 1024];
                    match input.read(&mut more) {
                        Ok(0) => break,
                        Ok(m) => line.extend_from_slice(&more[..m]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(fail(EX_TEMPFAIL, read_failed(e))),
                    }
                }
                let end = line
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(line.len(), |i| i + 1);
                sender = from_line_sender(&line[..end]);
                buffer
                    .write(&line[end..])
                    .map_err(|e| fail(EX_TEMPFAIL, e))?;
                continue;
            }
        }
        buffer.write(data).map_err(|e| fail(EX_TEMPFAIL, e))?;
    }
    let message = buffer.finish().map_err(|e| fail(EX_TEMPFAIL, e))?;
    Ok((message, sender))
}

/// The envelope sender of an mbox `From sender date` line (`""`: the null sender).
fn from_line_sender(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let word = text.strip_prefix("From ")?.split_whitespace().next()?;
    if word == "MAILER-DAEMON" {
        return Some(String::new());
    }
    parse_address(word, true)
        .ok()
        .map(|a| a.map(|a| a.encode()).unwrap_or_default())
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
    let config = Config::load_with_overrides(&path, &options.overrides)
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
    let expand = |key: &str| {
        var_expand::expand(settings.str(key), &expanded)
            .map_err(|e| fail(EX_TEMPFAIL, format!("Failed to expand {key}: {e}")))
    };
    // Read as the user, into the user's mail_temp_dir, as dovecot-lda does.
    let temp_dir = PathBuf::from(expand("mail_temp_dir")?);
    let (message, from_line_sender) = read_message(options.path.as_ref(), &temp_dir)?;
    let envelope = Envelope {
        mail_from: options.mail_from.clone().or(from_line_sender),
        rcpt_to: options
            .final_rcpt
            .clone()
            .or_else(|| options.original_rcpt.clone())
            .unwrap_or_else(|| name.clone()),
        postmaster: expand("postmaster_address")?,
        sendmail_path: expand("sendmail_path")?,
        submission_host: expand("submission_host")?,
    };
    deliver(&settings, &options, vars, &fields, &message, &envelope)
}

/// The envelope and where rejections go.
struct Envelope {
    /// The sender (`-f`, else the `From_` line); `Some("")`: the null sender.
    mail_from: Option<String>,
    /// The recipient (`-r`, `-a`, else the user).
    rcpt_to: String,
    postmaster: String,
    sendmail_path: String,
    submission_host: String,
}

fn deliver(
    settings: &Settings,
    options: &Options,
    vars: MailUserVars,
    fields: &[(String, String)],
    message: &[u8],
    envelope: &Envelope,
) -> Result<(), Exit> {
    let info = MailUserInfo::from_vars(&vars, fields);
    let mut user = MailUser::new(settings, info).map_err(|e| {
        fail(
            EX_TEMPFAIL,
            e.internal().unwrap_or(e.client_text()).to_string(),
        )
    })?;
    let mailbox = options.mailbox.as_deref().unwrap_or("INBOX");
    let autocreate = settings.bool("lda_mailbox_autocreate");
    let e = match delivery::deliver(&mut user, mailbox, autocreate, message) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let text = e.client_text().to_string();
    let mailbox_full = match e.kind() {
        ErrorKind::NoQuota if settings.bool("quota_full_tempfail") => {
            return Err(fail(EX_TEMPFAIL, text))
        }
        ErrorKind::NoQuota => true,
        ErrorKind::Perm | ErrorKind::NotPossible => false,
        _ => return Err(fail(EX_TEMPFAIL, e.internal().unwrap_or(&text).to_string())),
    };
    log::info!("rejected: {text}");
    if options.stderr_rejection {
        return Err(fail(EX_NOPERM, text));
    }
    send_rejection(settings, envelope, message, &text, mailbox_full)
}

/// dovecot-lda without `-e`: the refusal is mailed to the sender (never to a null sender or
/// for an automatic message), and the MTA is told the message was taken care of.
fn send_rejection(
    settings: &Settings,
    envelope: &Envelope,
    message: &[u8],
    reason: &str,
    mailbox_full: bool,
) -> Result<(), Exit> {
    let msgid = delivery::message_id(message).unwrap_or_default();
    if rejection::is_auto_submitted(message) {
        log::info!("msgid={msgid}: Auto-submitted message discarded: {reason}");
        return Ok(());
    }
    let Some(to) = rejection::return_address(envelope.mail_from.as_deref(), message) else {
        log::info!("msgid={msgid}: Return-Path missing, rejection reason: {reason}");
        return Ok(());
    };
    if !envelope.submission_host.is_empty() {
        return Err(fail(
            EX_TEMPFAIL,
            "Can't send a rejection: submission_host is not implemented by cote-lda \
             (use sendmail_path)",
        ));
    }
    let hostname = match settings.str("hostname") {
        "" => cote::hostname::hostname()
            .unwrap_or("localhost")
            .to_string(),
        name => name.to_string(),
    };
    let now = cote::localtime::now();
    let new_id = format!(
        "<dovecot-{now}-{}-0@{hostname}>",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros())
    );
    let mail = rejection::compose(
        &Rejection {
            message,
            recipient: &envelope.rcpt_to,
            reason,
            to: &to,
            from: &envelope.postmaster,
            hostname: &hostname,
            rejection_subject: settings.str("rejection_subject"),
            rejection_reason: settings.str("rejection_reason"),
            mailbox_full,
        },
        now,
        &new_id,
    );
    match rejection::send_with_sendmail(&envelope.sendmail_path, &to, &mail) {
        Ok(()) => Ok(()),
        Err(e) => {
            log::error!("msgid={msgid}: Temporarily failed to send rejection: {e}");
            Err(fail(EX_TEMPFAIL, e))
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
        let o = args(&["-o", "mail_fsync=never", "-omail_debug=yes", "-r", "<b@x>"])
            .ok()
            .unwrap();
        assert_eq!(o.overrides, ["mail_fsync=never", "mail_debug=yes"]);
        assert_eq!(o.final_rcpt.as_deref(), Some("b@x"));
        // A broken -f is not an error: there is no sender then.
        assert!(args(&["-f", "<<<"]).ok().unwrap().mail_from.is_none());
        assert_eq!(
            args(&["-f", "<>"]).ok().unwrap().mail_from.as_deref(),
            Some("")
        );
        assert_eq!(
            from_line_sender(b"From s@x  Sat Nov 28 21:00:00 2026\n").as_deref(),
            Some("s@x")
        );
        assert_eq!(
            from_line_sender(b"From MAILER-DAEMON Sat\n").as_deref(),
            Some("")
        );
    }
}
