//! doveadm's mail commands that `coteadm` has (`quota`, `mailbox`, `force-resync`), run as
//! the user (`-u`, or `$USER`) the userdb names, on the user's own storage — the same
//! `MailUser` a mail session builds — with doveadm's output and exit codes. Each verb family
//! is its own module; this one parses the options common to all and finds the user.

use std::io::Write;
use std::path::PathBuf;

use crate::auth::client::{MasterClient, UserReply};
use crate::config::var_expand::MailUserVars;
use crate::config::{Config, FilterQuery};
use crate::log::{print_stderr, Level};
use crate::master::mail_login::become_user;
use crate::storage::error::{ErrorKind, StorageError};
use crate::storage::user::{MailUser, MailUserInfo};

mod getopt;
mod mailbox;
mod print;
mod quota;
mod resync;
mod status;
mod table;

pub use getopt::{getopt, GetoptError};
pub use mailbox::MailboxVerb;
pub use print::Formatter;
pub use quota::QuotaVerb;
pub use resync::ResyncVerb;
pub use status::StatusVerb;
pub use table::{table, table_expanding, table_sized_by, terminal_columns};

/// What doveadm's usage lines of mail commands start with (after the verb).
pub(super) const MAIL_USAGE_PREFIX: &str = "[-u <user>|-A] [-S <socket_path>] ";

pub const EX_USAGE: u8 = 64;
pub const EX_DATAERR: u8 = 65;
pub const EX_NOUSER: u8 = 67;
pub const EX_NOTFOUND: u8 = 68;
pub const EX_CANTCREAT: u8 = 73;
pub const EX_TEMPFAIL: u8 = 75;
pub const EX_NOPERM: u8 = 77;

/// A parsed mail command: what to do, as which user, printed how (`-f` before the verb;
/// `None`: the verb's own default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailCommand {
    pub verb: MailVerb,
    pub user: String,
    pub formatter: Option<Formatter>,
}

/// The mail verbs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailVerb {
    Quota(QuotaVerb),
    Mailbox(MailboxVerb),
    Status(StatusVerb),
    ForceResync(ResyncVerb),
}

/// A mail command line doveadm refuses (exit code 64), as doveadm words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `Fatal: <text>`.
    Fatal(String),
    /// `Error: <text>` (doveadm's command-line parser: extraneous arguments).
    Error(String),
    /// getopt's complaint (an unknown option, a missing value), alone.
    Getopt(String),
    /// The verb's usage line (`doveadm_mail_help_name`), without the program name.
    Help(String),
}

impl UsageError {
    /// What goes to stderr; `program` replaces doveadm's name in usage lines.
    pub fn text(&self, program: &str) -> String {
        match self {
            UsageError::Fatal(text) => format!("Fatal: {text}\n"),
            UsageError::Error(text) => format!("Error: {text}\n"),
            UsageError::Getopt(text) => format!("{text}\n"),
            UsageError::Help(usage) => format!("{program} {usage}\n"),
        }
    }
}

/// What a verb family's parser found: the verb and the user's `-u`.
pub(super) type Parsed = (MailVerb, Option<String>);

impl MailCommand {
    /// Parses a mail command line; `None` when the words are not a mail command.
    /// `env_user`: `$USER`, used without `-u` as doveadm does.
    pub fn parse(
        words: &[String],
        env_user: Option<String>,
    ) -> Option<Result<MailCommand, UsageError>> {
        let parsed = quota::parse(words)
            .or_else(|| mailbox::parse(words))
            .or_else(|| status::parse(words))
            .or_else(|| resync::parse(words))?;
        let (verb, user) = match parsed {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        let Some(user) = user.or(env_user) else {
            return Some(Err(UsageError::Fatal(
                "USER environment is missing and -u option not used".into(),
            )));
        };
        Some(Ok(MailCommand {
            verb,
            user,
            formatter: None,
        }))
    }
}

/// A mail command's options, as doveadm's getopt finds them.
#[derive(Debug, Default)]
pub(super) struct Options {
    /// `-u <user>`.
    pub user: Option<String>,
    /// The verb's own options in order, with their values.
    pub flags: Vec<(char, Option<String>)>,
    /// The positional words.
    pub args: Vec<String>,
}

impl Options {
    /// See [`at_most`].
    pub fn at_most(&self, most: usize) -> Result<(), UsageError> {
        at_most(&self.args, most)
    }

    pub fn has(&self, letter: char) -> bool {
        self.flags.iter().any(|(c, _)| *c == letter)
    }

    pub fn values(&self, letter: char) -> impl Iterator<Item = &str> {
        self.flags
            .iter()
            .filter(move |(c, _)| *c == letter)
            .filter_map(|(_, v)| v.as_deref())
    }
}

/// doveadm's error for positional words past the `most` a command takes.
pub(super) fn at_most(args: &[String], most: usize) -> Result<(), UsageError> {
    match args.get(most..) {
        Some(extra) if !extra.is_empty() => Err(UsageError::Error(format!(
            "Extraneous arguments found: {}",
            extra.join(" ")
        ))),
        _ => Ok(()),
    }
}

/// doveadm's getopt for a mail command (`name`: the verb's words): the common `-u <user>`
/// (`-A`, `-F` and `-S` are refused as not supported yet) and the verb's own letters in
/// getopt's `spec` syntax (`g:` takes a value); options may follow positional words.
pub(super) fn mail_options(
    words: &[String],
    spec: &str,
    name: &str,
) -> Result<Options, UsageError> {
    // getopt names itself after the verb's last word, as doveadm's argv[0] is.
    let me = name.rsplit(' ').next().unwrap_or(name);
    let found = getopt(words, &format!("u:AF:S:{spec}"), true)
        .map_err(|e| UsageError::Getopt(format!("{me}: {}", e.text())))?;
    let mut out = Options {
        args: found.args,
        ..Options::default()
    };
    for (c, value) in found.flags {
        match c {
            'u' => out.user = value,
            'A' | 'F' | 'S' => {
                return Err(UsageError::Fatal(format!(
                    "-{c} is not supported by this build of cote yet"
                )))
            }
            _ => out.flags.push((c, value)),
        }
    }
    Ok(out)
}

/// doveadm's exit code for a storage error of `kind` (`doveadm_mail_failed_error`).
pub(super) fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Temp | ErrorKind::Unavailable | ErrorKind::Expunged => EX_TEMPFAIL,
        ErrorKind::NotPossible
        | ErrorKind::Exists
        | ErrorKind::InUse
        | ErrorKind::Limit
        | ErrorKind::NotImplemented => EX_DATAERR,
        ErrorKind::Params => EX_USAGE,
        ErrorKind::Perm => EX_NOPERM,
        ErrorKind::NoQuota => EX_CANTCREAT,
        ErrorKind::NotFound => EX_NOTFOUND,
    }
}

/// A command's exit code as doveadm keeps it over several failures: the first failure's,
/// unless a later one is a temporary failure.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExitCode(pub u8);

impl ExitCode {
    pub fn failed(&mut self, code: u8) {
        if self.0 == 0 || code == EX_TEMPFAIL {
            self.0 = code;
        }
    }

    /// Records `e` and prints `context: <its text>` as an error with `prefix`.
    pub fn storage_error(&mut self, prefix: &str, context: &str, e: &StorageError) {
        print_stderr(
            prefix,
            Level::Error,
            &format!("{context}: {}", storage_error_text(e)),
        );
        self.failed(exit_code(e.kind()));
    }
}

/// What doveadm prints for a storage error (`mailbox_get_last_internal_error`): the internal
/// text when there is one, else what a client would see.
pub(super) fn storage_error_text(e: &StorageError) -> &str {
    e.internal().unwrap_or(e.client_text())
}

/// Runs a mail command against `config`; returns the exit code. Output goes to `out`,
/// errors to stderr with `prefix`.
pub fn run(command: &MailCommand, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    let mut user = match mail_user(config, &command.user) {
        Ok(u) => u,
        Err((code, text)) => return fail(prefix, code, &text),
    };
    // Errors about the user's mail carry the user, as doveadm's `doveadm(user): ` prefix.
    let program = prefix.trim_end().trim_end_matches(':');
    let user_prefix = format!("{program}({}): ", command.user);
    let formatter = command.formatter;
    match &command.verb {
        MailVerb::Quota(verb) => quota::run(*verb, &user, prefix, formatter, out),
        MailVerb::Mailbox(verb) => mailbox::run(verb, &mut user, &user_prefix, formatter, out),
        MailVerb::Status(verb) => status::run(verb, &mut user, &user_prefix, formatter, out),
        MailVerb::ForceResync(verb) => resync::run(verb, &mut user, &user_prefix),
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

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_lines() {
        assert_eq!(MailCommand::parse(&words(&["user", "x"]), None), None);
        assert_eq!(
            MailCommand::parse(&words(&["quota", "get", "-u", "alice"]), None),
            Some(Ok(MailCommand {
                verb: MailVerb::Quota(QuotaVerb::Get),
                user: "alice".into(),
                formatter: None,
            }))
        );
        assert_eq!(
            MailCommand::parse(&words(&["quota", "recalc"]), Some("bob".into())),
            Some(Ok(MailCommand {
                verb: MailVerb::Quota(QuotaVerb::Recalc),
                user: "bob".into(),
                formatter: None,
            }))
        );
        assert_eq!(
            MailCommand::parse(&words(&["quota", "get"]), None),
            Some(Err(UsageError::Fatal(
                "USER environment is missing and -u option not used".into()
            )))
        );
        assert!(matches!(
            MailCommand::parse(&words(&["quota"]), None),
            Some(Err(UsageError::Help(_)))
        ));
        assert_eq!(
            MailCommand::parse(&words(&["quota", "get", "x"]), Some("bob".into())),
            Some(Err(UsageError::Error(
                "Extraneous arguments found: x".into()
            )))
        );
        assert!(matches!(
            MailCommand::parse(&words(&["mailbox", "list"]), Some("bob".into())),
            Some(Ok(MailCommand {
                verb: MailVerb::Mailbox(_),
                ..
            }))
        ));
        assert!(matches!(
            MailCommand::parse(
                &words(&["mailbox", "status", "all", "*"]),
                Some("bob".into())
            ),
            Some(Ok(MailCommand {
                verb: MailVerb::Status(_),
                ..
            }))
        ));
        assert!(matches!(
            MailCommand::parse(&words(&["force-resync", "*"]), Some("bob".into())),
            Some(Ok(MailCommand {
                verb: MailVerb::ForceResync(_),
                ..
            }))
        ));
    }

    #[test]
    fn getopt_as_doveadm() {
        let o = mail_options(
            &words(&["a", "-sg", "x", "-ub", "c"]),
            "g:s",
            "mailbox create",
        )
        .unwrap();
        assert_eq!(o.user.as_deref(), Some("b"));
        assert_eq!(o.flags, [('s', None), ('g', Some("x".into()))]);
        assert_eq!(o.args, words(&["a", "c"]));
        let o = mail_options(&words(&["-gx", "--", "-u", "-"]), "g:", "x").unwrap();
        assert_eq!(o.flags, [('g', Some("x".into()))]);
        assert_eq!(o.args, words(&["-u", "-"]));
        assert_eq!(o.user, None);
        assert!(matches!(
            mail_options(&words(&["-u"]), "", "mailbox list"),
            Err(UsageError::Getopt(c)) if c == "list: option requires an argument -- 'u'"
        ));
        assert!(matches!(
            mail_options(&words(&["-:"]), "g:", "x"),
            Err(UsageError::Getopt(_))
        ));
        assert!(matches!(
            mail_options(&words(&["-S", "host:1"]), "", "x"),
            Err(UsageError::Fatal(t)) if t.contains("-S is not supported")
        ));
    }

    #[test]
    fn exit_codes_as_doveadm() {
        let mut code = ExitCode::default();
        code.failed(exit_code(ErrorKind::NotFound));
        code.failed(exit_code(ErrorKind::Exists));
        assert_eq!(code.0, EX_NOTFOUND);
        code.failed(exit_code(ErrorKind::Temp));
        assert_eq!(code.0, EX_TEMPFAIL);
        assert_eq!(exit_code(ErrorKind::Params), EX_USAGE);
    }
}
