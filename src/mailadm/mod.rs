//! doveadm's mail commands that `coteadm` has (so far `quota get` and `quota recalc`), run as
//! the user (`-u`, or `$USER`) the userdb names, on the user's own storage — the same
//! `MailUser` a mail session builds — with doveadm's output and exit codes. Each verb family
//! is its own module; this one parses the words common to all (`-u`) and finds the user.

use std::io::Write;
use std::path::PathBuf;

use crate::auth::client::{MasterClient, UserReply};
use crate::config::var_expand::MailUserVars;
use crate::config::{Config, FilterQuery};
use crate::log::{print_stderr, Level};
use crate::master::mail_login::become_user;
use crate::storage::user::{MailUser, MailUserInfo};

mod quota;
mod table;

pub use quota::QuotaVerb;
pub use table::{table, table_expanding, table_sized_by, terminal_columns};

pub const EX_USAGE: u8 = 64;
pub const EX_NOUSER: u8 = 67;
pub const EX_NOTFOUND: u8 = 68;
pub const EX_TEMPFAIL: u8 = 75;

/// A parsed mail command: what to do, as which user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailCommand {
    pub verb: MailVerb,
    pub user: String,
}

/// The mail verbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailVerb {
    Quota(QuotaVerb),
}

impl MailCommand {
    /// Parses a mail command line; `None` when the words are not a mail command.
    /// `env_user`: `$USER`, used without `-u` as doveadm does.
    pub fn parse(
        words: &[String],
        env_user: Option<String>,
    ) -> Option<Result<MailCommand, String>> {
        let (verb, options) = match quota::parse(words)? {
            Ok(parsed) => parsed,
            Err(usage) => return Some(Err(usage)),
        };
        let (user, rest) = match user_option(options) {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        if let Some(other) = rest.first() {
            return Some(Err(format!("Unknown argument: {other}")));
        }
        let Some(user) = user.or(env_user) else {
            return Some(Err(
                "USER environment is missing and -u option not used".into()
            ));
        };
        Some(Ok(MailCommand { verb, user }))
    }
}

/// Takes doveadm's common mail-command options out of `options`: `-u <user>`; `-A`, `-F` and
/// `-S` are refused as not supported yet. Returns the user and the words left, in order.
fn user_option(options: &[String]) -> Result<(Option<String>, Vec<String>), String> {
    let mut user = None;
    let mut rest = Vec::new();
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match option.as_str() {
            "-u" => match options.next() {
                Some(u) => user = Some(u.clone()),
                None => return Err("option requires an argument -- 'u'".into()),
            },
            "-A" | "-F" | "-S" => {
                return Err(format!(
                    "{option} is not supported by this build of cote yet"
                ))
            }
            _ => rest.push(option.clone()),
        }
    }
    Ok((user, rest))
}

/// Runs a mail command against `config`; returns the exit code. Output goes to `out`,
/// errors to stderr with `prefix`.
pub fn run(command: &MailCommand, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    let user = match mail_user(config, &command.user) {
        Ok(u) => u,
        Err((code, text)) => return fail(prefix, code, &text),
    };
    match &command.verb {
        MailVerb::Quota(verb) => quota::run(*verb, &user, prefix, out),
    }
}

/// Prints `text` as an error and returns `code`.
fn fail(prefix: &str, code: u8, text: &str) -> u8 {
    print_stderr(prefix, Level::Error, text);
    code
}

/// The user's storage, as a doveadm mail command gets it: the userdb lookup (service
/// `doveadm`), this process becoming the user, the configuration for protocol doveadm.
fn mail_user(config: &Config, name: &str) -> Result<MailUser, (u8, String)> {
    let global = config.global();
    let socket = {
        let path = global.str("auth_socket_path");
        if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            PathBuf::from(global.str("base_dir")).join(path)
        }
    };
    let reply = MasterClient::connect(&socket).and_then(|mut c| c.user(name, "doveadm", &[]));
    let (user, fields) = match reply {
        Ok(UserReply::User { user, fields }) => (user, fields),
        Ok(UserReply::NotFound) => return Err((EX_NOUSER, format!("User doesn't exist: {name}"))),
        Ok(UserReply::Fail { reason }) => {
            return Err((
                EX_TEMPFAIL,
                format!(
                    "User lookup failed: {}",
                    reason.unwrap_or_else(|| "Internal error".into())
                ),
            ))
        }
        Err(e) => {
            return Err((
                EX_TEMPFAIL,
                format!(
                    "Couldn't connect to {}: {}",
                    socket.display(),
                    crate::errtext::os_error_text(&e)
                ),
            ))
        }
    };
    let settings = config.settings(&FilterQuery {
        protocol: Some("doveadm".into()),
        ..FilterQuery::default()
    });
    let mut vars = MailUserVars {
        user,
        service: "doveadm".into(),
        userdb_fields: Some(fields.clone()),
        ..MailUserVars::default()
    };
    become_user(&settings, &fields, &mut vars).map_err(|e| (EX_TEMPFAIL, e))?;
    let info = MailUserInfo::from_vars(&vars, &fields);
    MailUser::new(&settings, info).map_err(|e| {
        (
            EX_TEMPFAIL,
            e.internal().unwrap_or(e.client_text()).to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(MailCommand::parse(&words(&["user", "x"]), None), None);
        assert_eq!(
            MailCommand::parse(&words(&["quota", "get", "-u", "alice"]), None),
            Some(Ok(MailCommand {
                verb: MailVerb::Quota(QuotaVerb::Get),
                user: "alice".into()
            }))
        );
        assert_eq!(
            MailCommand::parse(&words(&["quota", "recalc"]), Some("bob".into())),
            Some(Ok(MailCommand {
                verb: MailVerb::Quota(QuotaVerb::Recalc),
                user: "bob".into()
            }))
        );
        assert!(matches!(
            MailCommand::parse(&words(&["quota", "get"]), None),
            Some(Err(e)) if e.contains("USER environment")
        ));
        assert!(matches!(
            MailCommand::parse(&words(&["quota"]), None),
            Some(Err(_))
        ));
    }
}
