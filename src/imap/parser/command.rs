//! Typed commands: every command's arguments checked and converted as Dovecot 2.3's imap
//! process does after login, with its error texts and in its order (which error a command with
//! several faults gets matters to clients and transcripts).
//!
//! A command is read in two steps. [`CommandName::lookup`] names the command and says how its
//! arguments are read ([`ArgsNeeded`]: Dovecot never parses the arguments of NOOP, and reads only
//! the first of CREATE), then [`parse_command`] turns the arguments into a [`Command`]. APPEND
//! streams its messages and has its own reader (`append.rs`).

use std::fmt;

use super::fetch::{parse_fetch, Fetch};
use super::list::{parse_list, parse_status, List, StatusCommand};
use super::search::{parse_search, parse_update_fetch, Search};
use super::select::{parse_select, Select};
use super::sort::{parse_sort, parse_thread, Sort, Thread};
use super::store::{parse_store, Store};
use super::Arg;
use crate::imap::id::{parse_id_params, IdParams};
use crate::imap::mailbox_name::NameEncoding;
use crate::imap::response::{Code, Status};
use crate::imap::seqset::SetArg;

/// What the session knows that decides how a command's arguments are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseContext {
    /// A mailbox is selected (or examined).
    pub selected: bool,
    /// Messages in the selected mailbox, as the client knows them (message sets are checked
    /// against it).
    pub messages: u32,
    /// The client enabled QRESYNC (RFC 7162).
    pub qresync: bool,
    /// The selected mailbox has no permanent modseqs (`[NOMODSEQ]`): CONDSTORE items fail.
    pub nonpermanent_modseqs: bool,
    /// How mailbox names are written.
    pub names: NameEncoding,
    /// `imap_client_workarounds = tb-extra-mailbox-sep`: drop this separator from the end of
    /// mailbox names.
    pub strip_separator: Option<char>,
    /// The client enabled IMAP4rev2 (RFC 9051): what it deprecated for rev2 clients (STATUS
    /// RECENT, SEARCH RECENT/NEW/OLD) is refused, STATUS DELETED is known.
    pub rev2: bool,
}

/// Why a command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// `BAD Error in IMAP command NAME: <text>`: the arguments are wrong. Counts toward the
    /// limit of invalid commands in a row.
    Bad(String),
    /// A tagged reply sent as it is (`BAD No mailbox selected.`, `NO [BADCHARSET] ...`).
    Reply {
        status: Status,
        code: Option<Code>,
        text: String,
    },
}

impl CommandError {
    pub fn bad(text: impl Into<String>) -> CommandError {
        CommandError::Bad(text.into())
    }

    pub fn no(code: Option<Code>, text: impl Into<String>) -> CommandError {
        CommandError::Reply {
            status: Status::No,
            code,
            text: text.into(),
        }
    }

    /// `BAD No mailbox selected.` (not a parameter error for Dovecot's counter).
    pub fn no_mailbox() -> CommandError {
        CommandError::Reply {
            status: Status::Bad,
            code: None,
            text: "No mailbox selected.".into(),
        }
    }

    /// `Invalid arguments.`
    pub fn invalid_arguments() -> CommandError {
        CommandError::bad("Invalid arguments.")
    }

    pub(crate) fn missing_arguments() -> CommandError {
        CommandError::bad("Missing arguments")
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Bad(text) => write!(f, "BAD {text}"),
            CommandError::Reply { status, code, text } => {
                write!(
                    f,
                    "{status} {}",
                    crate::imap::response::resp_text(code.as_ref(), text)
                )
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// How a command's arguments are read from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgsNeeded {
    /// Not at all: whatever follows the name is skipped unparsed (Dovecot's NOOP, CHECK, ...).
    None,
    /// The whole line.
    All,
    /// The first n arguments; the rest of the line is skipped unparsed.
    Count(usize),
    /// APPEND: the mailbox, then streamed messages.
    Append,
    /// SETMETADATA: the mailbox, then entries whose values are literals of any size.
    SetMetadata,
}

/// The commands of the mail session (after login), with their UID forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    Capability,
    Noop,
    Logout,
    Id,
    Enable,
    Idle,
    /// RFC 4978.
    Compress,
    Namespace,
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    List,
    Lsub,
    /// Apple's old LIST variant, answered as LIST.
    Xlist,
    Status,
    Append,
    Check,
    Close,
    Unselect,
    Expunge,
    UidExpunge,
    Search {
        uid: bool,
    },
    Fetch {
        uid: bool,
    },
    Store {
        uid: bool,
    },
    Copy {
        uid: bool,
    },
    Move {
        uid: bool,
    },
    Sort {
        uid: bool,
    },
    Thread {
        uid: bool,
    },
    /// RFC 5267: ends SEARCH/SORT RETURN (UPDATE) notifications.
    CancelUpdate,
    /// RFC 2087 (the `imap_quota` plugin).
    GetQuotaRoot,
    GetQuota,
    SetQuota,
    /// RFC 5464.
    GetMetadata,
    SetMetadata,
    /// RFC 4314 (the `imap_acl` plugin).
    SetAcl,
    DeleteAcl,
    GetAcl,
    ListRights,
    MyRights,
    /// RFC 5465.
    Notify,
    /// RFC 4467.
    GenUrlAuth,
    ResetKey,
    UrlFetch,
}

impl CommandName {
    /// The command a client named (`name` after an optional `UID`), any case; `None` for a
    /// command cote does not have ("Unknown command.").
    pub fn lookup(name: &str, uid: bool) -> Option<CommandName> {
        let upper = name.to_ascii_uppercase();
        let command = match (uid, upper.as_str()) {
            (false, "CAPABILITY") => CommandName::Capability,
            (false, "NOOP") => CommandName::Noop,
            (false, "LOGOUT") => CommandName::Logout,
            (false, "ID") => CommandName::Id,
            (false, "ENABLE") => CommandName::Enable,
            (false, "IDLE") => CommandName::Idle,
            (false, "COMPRESS") => CommandName::Compress,
            (false, "NAMESPACE") => CommandName::Namespace,
            (false, "SELECT") => CommandName::Select,
            (false, "EXAMINE") => CommandName::Examine,
            (false, "CREATE") => CommandName::Create,
            (false, "DELETE") => CommandName::Delete,
            (false, "RENAME") => CommandName::Rename,
            (false, "SUBSCRIBE") => CommandName::Subscribe,
            (false, "UNSUBSCRIBE") => CommandName::Unsubscribe,
            (false, "LIST") => CommandName::List,
            (false, "LSUB") => CommandName::Lsub,
            (false, "XLIST") => CommandName::Xlist,
            (false, "STATUS") => CommandName::Status,
            (false, "APPEND") => CommandName::Append,
            (false, "CHECK") => CommandName::Check,
            (false, "CLOSE") => CommandName::Close,
            (false, "UNSELECT") => CommandName::Unselect,
            (false, "EXPUNGE") => CommandName::Expunge,
            (true, "EXPUNGE") => CommandName::UidExpunge,
            (uid, "SEARCH") => CommandName::Search { uid },
            (uid, "FETCH") => CommandName::Fetch { uid },
            (uid, "STORE") => CommandName::Store { uid },
            (uid, "COPY") => CommandName::Copy { uid },
            (uid, "MOVE") => CommandName::Move { uid },
            (uid, "SORT") => CommandName::Sort { uid },
            (uid, "THREAD") => CommandName::Thread { uid },
            (false, "CANCELUPDATE") => CommandName::CancelUpdate,
            (false, "GETQUOTAROOT") => CommandName::GetQuotaRoot,
            (false, "GETQUOTA") => CommandName::GetQuota,
            (false, "SETQUOTA") => CommandName::SetQuota,
            (false, "GETMETADATA") => CommandName::GetMetadata,
            (false, "SETMETADATA") => CommandName::SetMetadata,
            (false, "SETACL") => CommandName::SetAcl,
            (false, "DELETEACL") => CommandName::DeleteAcl,
            (false, "GETACL") => CommandName::GetAcl,
            (false, "LISTRIGHTS") => CommandName::ListRights,
            (false, "MYRIGHTS") => CommandName::MyRights,
            (false, "NOTIFY") => CommandName::Notify,
            (false, "GENURLAUTH") => CommandName::GenUrlAuth,
            (false, "RESETKEY") => CommandName::ResetKey,
            (false, "URLFETCH") => CommandName::UrlFetch,
            _ => return None,
        };
        Some(command)
    }

    /// How Dovecot reads the command's arguments.
    pub fn args_needed(self) -> ArgsNeeded {
        match self {
            CommandName::Capability
            | CommandName::Noop
            | CommandName::Logout
            | CommandName::Idle
            | CommandName::Namespace
            | CommandName::Check
            | CommandName::Close
            | CommandName::Unselect
            | CommandName::Expunge => ArgsNeeded::None,
            CommandName::Create
            | CommandName::Delete
            | CommandName::Subscribe
            | CommandName::Unsubscribe
            | CommandName::UidExpunge
            | CommandName::GetQuotaRoot
            | CommandName::GetQuota
            | CommandName::GetAcl
            | CommandName::MyRights => ArgsNeeded::Count(1),
            CommandName::SetAcl => ArgsNeeded::Count(3),
            CommandName::Rename
            | CommandName::DeleteAcl
            | CommandName::ListRights
            | CommandName::Status
            | CommandName::Copy { .. }
            | CommandName::Move { .. } => ArgsNeeded::Count(2),
            CommandName::Append => ArgsNeeded::Append,
            CommandName::SetMetadata => ArgsNeeded::SetMetadata,
            _ => ArgsNeeded::All,
        }
    }

    /// Whether the command works on the selected mailbox (`BAD No mailbox selected.`
    /// without one).
    pub fn needs_selected(self) -> bool {
        matches!(
            self,
            CommandName::Check
                | CommandName::Close
                | CommandName::Unselect
                | CommandName::Expunge
                | CommandName::UidExpunge
                | CommandName::Search { .. }
                | CommandName::Fetch { .. }
                | CommandName::Store { .. }
                | CommandName::Copy { .. }
                | CommandName::Move { .. }
                | CommandName::Sort { .. }
                | CommandName::Thread { .. }
        )
    }

    /// Whether the command was given with `UID`.
    pub fn is_uid(self) -> bool {
        matches!(
            self,
            CommandName::UidExpunge
                | CommandName::Search { uid: true }
                | CommandName::Fetch { uid: true }
                | CommandName::Store { uid: true }
                | CommandName::Copy { uid: true }
                | CommandName::Move { uid: true }
                | CommandName::Sort { uid: true }
                | CommandName::Thread { uid: true }
        )
    }

    /// RFC 3501 §5.5: a command that may change sequence numbers (EXPUNGE responses are
    /// allowed after it), as Dovecot's `COMMAND_FLAG_BREAKS_SEQS`.
    pub fn breaks_sequences(self) -> bool {
        matches!(
            self,
            CommandName::Noop
                | CommandName::Append
                | CommandName::Check
                | CommandName::Expunge
                | CommandName::UidExpunge
                | CommandName::Idle
                | CommandName::Copy { .. }
                | CommandName::Move { .. }
                | CommandName::Search { uid: true }
                | CommandName::Fetch { uid: true }
                | CommandName::Store { uid: true }
                | CommandName::Sort { uid: true }
                | CommandName::Thread { uid: true }
        )
    }
}

/// A command with its arguments, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Capability,
    Noop,
    Logout,
    /// The parameters, `None` when they are not a valid ID list (the reply is the same; only
    /// what is logged differs).
    Id(Option<IdParams>),
    /// Upper-cased capability names (unknown ones are ignored by the session).
    Enable(Vec<String>),
    Idle,
    /// The mechanism as the client named it.
    Compress(String),
    Namespace,
    Select(Select),
    /// The name as given (UTF-8); a trailing hierarchy separator asks for a parent only.
    Create(String),
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    Subscribe(String),
    Unsubscribe(String),
    List(List),
    Status(StatusCommand),
    Check,
    Close,
    Unselect,
    Expunge,
    UidExpunge(SetArg),
    Search(Search),
    Fetch(Fetch),
    Store(Store),
    Copy {
        set: SetArg,
        uid: bool,
        mailbox: String,
        /// MOVE (RFC 6851).
        moving: bool,
    },
    Sort(Sort),
    Thread(Thread),
    /// The tags of the searches whose updates end.
    CancelUpdate(Vec<String>),
    /// The mailbox (UTF-8).
    GetQuotaRoot(String),
    /// The quota root's name.
    GetQuota(String),
    /// SETQUOTA with a root and a resource list (never done: see the session).
    SetQuota,
    GetMetadata(super::metadata::GetMetadata),
    /// RFC 4314: the mailbox (UTF-8) and the other arguments as given.
    SetAcl {
        mailbox: String,
        identifier: String,
        rights: String,
    },
    DeleteAcl {
        mailbox: String,
        identifier: String,
    },
    GetAcl(String),
    ListRights {
        mailbox: String,
        identifier: String,
    },
    MyRights(String),
    Notify(super::notify::Notify),
    GenUrlAuth(super::urlauth::GenUrlAuth),
    ResetKey(super::urlauth::ResetKey),
    UrlFetch(Vec<super::urlauth::FetchUrl>),
}

/// A text argument (identifiers, rights): an astring in UTF-8.
fn text_arg(arg: &[u8]) -> Result<String, CommandError> {
    String::from_utf8(arg.to_vec()).map_err(|_| CommandError::invalid_arguments())
}

/// Builds the command `name` from its arguments, read as [`CommandName::args_needed`] says.
/// APPEND is not built here (`append.rs`).
pub fn parse_command(
    name: CommandName,
    args: &[Arg],
    ctx: &ParseContext,
) -> Result<Command, CommandError> {
    if name.needs_selected() && !ctx.selected {
        return Err(CommandError::no_mailbox());
    }
    match name {
        CommandName::Capability => Ok(Command::Capability),
        CommandName::Noop => Ok(Command::Noop),
        CommandName::Logout => Ok(Command::Logout),
        CommandName::Idle => Ok(Command::Idle),
        CommandName::Namespace => Ok(Command::Namespace),
        CommandName::Check => Ok(Command::Check),
        CommandName::Close => Ok(Command::Close),
        CommandName::Unselect => Ok(Command::Unselect),
        CommandName::Expunge => Ok(Command::Expunge),
        CommandName::Id => Ok(Command::Id(parse_id_params(args).ok())),
        CommandName::Enable => parse_enable(args),
        CommandName::Compress => match args {
            [Arg::Atom(mechanism)] => Ok(Command::Compress(mechanism.clone())),
            _ => Err(CommandError::invalid_arguments()),
        },
        CommandName::Select | CommandName::Examine => {
            parse_select(args, name == CommandName::Examine, ctx).map(Command::Select)
        }
        CommandName::Create => mailbox_arg(args, ctx).map(Command::Create),
        CommandName::Delete => mailbox_arg(args, ctx).map(Command::Delete),
        CommandName::Subscribe => mailbox_arg(args, ctx).map(Command::Subscribe),
        CommandName::Unsubscribe => mailbox_arg(args, ctx).map(Command::Unsubscribe),
        CommandName::Rename => {
            let [from, to] = string_args::<2>(args)?;
            Ok(Command::Rename {
                from: decode_name(from, ctx)?,
                to: decode_name(to, ctx)?,
            })
        }
        CommandName::List | CommandName::Xlist => parse_list(args, false, ctx).map(Command::List),
        CommandName::Lsub => parse_list(args, true, ctx).map(Command::List),
        CommandName::Status => parse_status(args, ctx).map(Command::Status),
        CommandName::UidExpunge => {
            let set = args.first().ok_or_else(CommandError::missing_arguments)?;
            let set = set
                .as_astring()
                .ok_or_else(CommandError::invalid_arguments)?;
            SetArg::parse(set)
                .map(Command::UidExpunge)
                .map_err(|_| CommandError::bad("Invalid uidset"))
        }
        CommandName::Copy { uid } | CommandName::Move { uid } => {
            let [set, mailbox] = string_args::<2>(args)?;
            let set = parse_set_arg(set, uid, ctx)?;
            Ok(Command::Copy {
                set,
                uid,
                mailbox: decode_name(mailbox, ctx)?,
                moving: matches!(name, CommandName::Move { .. }),
            })
        }
        CommandName::Search { uid } => {
            let mut search = parse_search(args, uid)?;
            refuse_recent_keys(&search.program, ctx)?;
            search.update_fetch = parse_update_fetch(args, ctx)?;
            Ok(Command::Search(search))
        }
        CommandName::Fetch { uid } => parse_fetch(args, uid, ctx).map(Command::Fetch),
        CommandName::Store { uid } => parse_store(args, uid, ctx).map(Command::Store),
        CommandName::Sort { uid } => {
            let mut sort = parse_sort(args, uid)?;
            refuse_recent_keys(&sort.program, ctx)?;
            sort.update_fetch = parse_update_fetch(args, ctx)?;
            Ok(Command::Sort(sort))
        }
        CommandName::Thread { uid } => {
            let thread = parse_thread(args, uid)?;
            refuse_recent_keys(&thread.program, ctx)?;
            Ok(Command::Thread(thread))
        }
        CommandName::CancelUpdate => parse_cancel_update(args),
        CommandName::GetQuotaRoot => mailbox_arg(args, ctx).map(Command::GetQuotaRoot),
        CommandName::GetAcl => mailbox_arg(args, ctx).map(Command::GetAcl),
        CommandName::MyRights => mailbox_arg(args, ctx).map(Command::MyRights),
        CommandName::ListRights => {
            let [mailbox, identifier] = string_args::<2>(args)?;
            Ok(Command::ListRights {
                mailbox: decode_name(mailbox, ctx)?,
                identifier: text_arg(identifier)?,
            })
        }
        CommandName::DeleteAcl => {
            let [mailbox, identifier] = string_args::<2>(args)?;
            Ok(Command::DeleteAcl {
                mailbox: decode_name(mailbox, ctx)?,
                identifier: text_arg(identifier)?,
            })
        }
        CommandName::SetAcl => {
            let [mailbox, identifier, rights] = string_args::<3>(args)?;
            Ok(Command::SetAcl {
                mailbox: decode_name(mailbox, ctx)?,
                identifier: text_arg(identifier)?,
                rights: text_arg(rights)?,
            })
        }
        CommandName::GetQuota => {
            let [root] = string_args::<1>(args)?;
            Ok(Command::GetQuota(
                String::from_utf8_lossy(root).into_owned(),
            ))
        }
        CommandName::SetQuota => match args {
            [root, Arg::List(_), ..] if root.as_astring().is_some() => Ok(Command::SetQuota),
            _ => Err(CommandError::invalid_arguments()),
        },
        CommandName::Notify => super::notify::parse_notify(args, ctx).map(Command::Notify),
        CommandName::GenUrlAuth => Ok(Command::GenUrlAuth(super::urlauth::parse_genurlauth(args))),
        CommandName::ResetKey => super::urlauth::parse_resetkey(args, ctx).map(Command::ResetKey),
        CommandName::UrlFetch => super::urlauth::parse_urlfetch(args).map(Command::UrlFetch),
        CommandName::GetMetadata => {
            super::metadata::parse_getmetadata(args, ctx).map(Command::GetMetadata)
        }
        CommandName::Append | CommandName::SetMetadata => {
            Err(CommandError::bad("this command is read by its own parser"))
        }
    }
}

/// CANCELUPDATE: one or more strings (quoted or literal), the tags (Dovecot's
/// `cmd_cancelupdate`).
fn parse_cancel_update(args: &[Arg]) -> Result<Command, CommandError> {
    if args.is_empty() {
        return Err(CommandError::bad("Invalid parameters."));
    }
    args.iter()
        .map(|arg| {
            arg.as_string()
                .map(|tag| String::from_utf8_lossy(tag).into_owned())
                .ok_or_else(|| CommandError::bad("Invalid parameters."))
        })
        .collect::<Result<_, _>>()
        .map(Command::CancelUpdate)
}

/// After `ENABLE IMAP4rev2` the search keys of `\Recent` are refused: RFC 9051 deprecated
/// them with the flag, which a rev2 client is never shown (Appendix E item 12; a server
/// offering both revisions answers rev1-only requests only to rev1 clients, Appendix A).
fn refuse_recent_keys(
    program: &[super::search::SearchKey],
    ctx: &ParseContext,
) -> Result<(), CommandError> {
    if ctx.rev2 && program.iter().any(super::search::SearchKey::uses_recent) {
        return Err(CommandError::bad(
            "RECENT, NEW and OLD are not search keys of IMAP4rev2",
        ));
    }
    Ok(())
}

/// ENABLE: atoms only; names are upper-cased.
fn parse_enable(args: &[Arg]) -> Result<Command, CommandError> {
    args.iter()
        .map(|arg| match arg {
            Arg::Atom(atom) => Ok(atom.to_ascii_uppercase()),
            _ => Err(CommandError::invalid_arguments()),
        })
        .collect::<Result<_, _>>()
        .map(Command::Enable)
}

/// The first `N` arguments as astrings (Dovecot's `client_read_string_args`).
pub(crate) fn string_args<const N: usize>(args: &[Arg]) -> Result<[&[u8]; N], CommandError> {
    let mut out: [&[u8]; N] = [&[]; N];
    for (i, slot) in out.iter_mut().enumerate() {
        let arg = args.get(i).ok_or_else(CommandError::missing_arguments)?;
        *slot = arg
            .as_astring()
            .ok_or_else(CommandError::invalid_arguments)?;
    }
    Ok(out)
}

fn mailbox_arg(args: &[Arg], ctx: &ParseContext) -> Result<String, CommandError> {
    let [name] = string_args::<1>(args)?;
    decode_name(name, ctx)
}

/// A mailbox name from the wire (`NO Mailbox name is not valid mUTF-7`).
pub(crate) fn decode_name(wire: &[u8], ctx: &ParseContext) -> Result<String, CommandError> {
    let mut name = ctx
        .names
        .decode(wire)
        .map_err(|e| CommandError::no(None, e.to_string()))?;
    if let Some(sep) = ctx.strip_separator {
        if name.len() > sep.len_utf8() && name.ends_with(sep) {
            name.pop();
        }
    }
    Ok(name)
}

/// A message set argument of FETCH, STORE, COPY and MOVE: `$`, a UID set, or a sequence set
/// that must fit the mailbox (Dovecot's `imap_search_get_anyset`).
pub(crate) fn parse_set_arg(
    set: &[u8],
    uid: bool,
    ctx: &ParseContext,
) -> Result<SetArg, CommandError> {
    match SetArg::parse(set) {
        Ok(SetArg::Set(seqs)) if !uid && !seqs.is_valid_for(ctx.messages) => {
            Err(CommandError::bad("Invalid messageset"))
        }
        Ok(set) => Ok(set),
        Err(_) if uid => Err(CommandError::bad("Invalid uidset")),
        Err(_) => Err(CommandError::bad("Invalid messageset")),
    }
}

/// An atom's text, if the argument is one (`NIL` included, as Dovecot's `imap_arg_get_atom`).
pub(crate) fn atom(arg: Option<&Arg>) -> Option<&str> {
    match arg {
        Some(Arg::Atom(a)) => Some(a),
        _ => None,
    }
}

/// A list's items, if the argument is one.
pub(crate) fn list(arg: Option<&Arg>) -> Option<&[Arg]> {
    match arg {
        Some(Arg::List(items)) => Some(items),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::seqset::SequenceSet;

    fn atom_arg(s: &str) -> Arg {
        Arg::Atom(s.to_string())
    }

    fn selected(messages: u32) -> ParseContext {
        ParseContext {
            selected: true,
            messages,
            ..ParseContext::default()
        }
    }

    /// RECENT, NEW and OLD are refused after `ENABLE IMAP4rev2`, nested too, in SEARCH,
    /// SORT and THREAD; before it they are search keys as in Dovecot.
    #[test]
    fn imap4rev2_refuses_recent_search_keys() {
        let rev2 = ParseContext {
            rev2: true,
            ..selected(3)
        };
        let words = |s: &str| -> Vec<Arg> { s.split(' ').map(atom_arg).collect() };
        let sort_args = |key: &str| {
            let mut args = vec![Arg::List(vec![atom_arg("ARRIVAL")]), atom_arg("UTF-8")];
            args.extend(words(key));
            args
        };
        let refused = "BAD RECENT, NEW and OLD are not search keys of IMAP4rev2";
        for key in [
            "RECENT",
            "NEW",
            "OLD",
            "NOT OLD",
            "OR SEEN RECENT",
            "FUZZY NEW",
        ] {
            let search = CommandName::Search { uid: false };
            let err = parse_command(search, &words(key), &rev2).map(|_| ());
            assert_eq!(err.map_err(|e| e.to_string()), Err(refused.into()), "{key}");
            assert!(
                parse_command(search, &words(key), &selected(3)).is_ok(),
                "{key}"
            );
            let sort = CommandName::Sort { uid: true };
            let err = parse_command(sort, &sort_args(key), &rev2).map(|_| ());
            assert_eq!(err.map_err(|e| e.to_string()), Err(refused.into()), "{key}");
            let mut thread_args = words("REFERENCES UTF-8");
            thread_args.extend(words(key));
            let thread = CommandName::Thread { uid: false };
            let err = parse_command(thread, &thread_args, &rev2).map(|_| ());
            assert_eq!(err.map_err(|e| e.to_string()), Err(refused.into()), "{key}");
        }
        for key in ["ALL", "UNSEEN", "DELETED", "1:2 UNDELETED"] {
            let search = CommandName::Search { uid: false };
            assert!(parse_command(search, &words(key), &rev2).is_ok(), "{key}");
        }
    }

    #[test]
    fn lookup_and_reading_rules() {
        assert_eq!(
            CommandName::lookup("fetch", true),
            Some(CommandName::Fetch { uid: true })
        );
        assert_eq!(
            CommandName::lookup("EXPUNGE", true),
            Some(CommandName::UidExpunge)
        );
        assert_eq!(CommandName::lookup("NOOP", true), None);
        assert_eq!(CommandName::lookup("LOGIN", false), None);
        assert_eq!(CommandName::lookup("STARTTLS", false), None);
        assert_eq!(CommandName::Noop.args_needed(), ArgsNeeded::None);
        assert_eq!(CommandName::Create.args_needed(), ArgsNeeded::Count(1));
        assert_eq!(CommandName::Status.args_needed(), ArgsNeeded::Count(2));
        assert!(CommandName::Close.needs_selected());
        assert!(!CommandName::Status.needs_selected());
        assert!(CommandName::Fetch { uid: true }.breaks_sequences());
        assert!(!CommandName::Fetch { uid: false }.breaks_sequences());
    }

    #[test]
    fn simple_commands() {
        let ctx = ParseContext::default();
        assert_eq!(
            parse_command(CommandName::Create, &[atom_arg("a")], &ctx),
            Ok(Command::Create("a".into()))
        );
        assert_eq!(
            parse_command(CommandName::Create, &[], &ctx),
            Err(CommandError::bad("Missing arguments"))
        );
        assert_eq!(
            parse_command(CommandName::Create, &[Arg::List(vec![])], &ctx),
            Err(CommandError::bad("Invalid arguments."))
        );
        assert_eq!(
            parse_command(CommandName::Create, &[Arg::Quoted(b"a&b".to_vec())], &ctx),
            Err(CommandError::no(None, "Mailbox name is not valid mUTF-7"))
        );
        assert_eq!(
            parse_command(CommandName::Rename, &[atom_arg("a")], &ctx),
            Err(CommandError::bad("Missing arguments"))
        );
        assert_eq!(
            parse_command(
                CommandName::Enable,
                &[atom_arg("condstore"), atom_arg("X")],
                &ctx
            ),
            Ok(Command::Enable(vec!["CONDSTORE".into(), "X".into()]))
        );
        assert_eq!(
            parse_command(CommandName::Enable, &[Arg::Quoted(b"X".to_vec())], &ctx),
            Err(CommandError::bad("Invalid arguments."))
        );
        assert_eq!(
            parse_command(CommandName::Check, &[], &ctx),
            Err(CommandError::no_mailbox())
        );
    }

    #[test]
    fn copy_and_uid_expunge() {
        let ctx = selected(5);
        let copy = |args: &[Arg]| parse_command(CommandName::Copy { uid: false }, args, &ctx);
        assert_eq!(
            copy(&[atom_arg("1:2"), atom_arg("Trash")]),
            Ok(Command::Copy {
                set: SetArg::Set(SequenceSet::parse(b"1:2").unwrap()),
                uid: false,
                mailbox: "Trash".into(),
                moving: false
            })
        );
        // The set may be a quoted string, as Dovecot reads both as astrings.
        assert!(copy(&[Arg::Quoted(b"1".to_vec()), atom_arg("Trash")]).is_ok());
        for bad in ["9", "0", "x", "1:4294967296"] {
            assert_eq!(
                copy(&[atom_arg(bad), atom_arg("Trash")]),
                Err(CommandError::bad("Invalid messageset"))
            );
        }
        assert_eq!(
            copy(&[atom_arg("1")]),
            Err(CommandError::bad("Missing arguments"))
        );
        let uid_copy = parse_command(
            CommandName::Copy { uid: true },
            &[atom_arg("99"), atom_arg("Trash")],
            &ctx,
        );
        assert!(uid_copy.is_ok());
        let expunge = |args: &[Arg]| parse_command(CommandName::UidExpunge, args, &ctx);
        assert_eq!(expunge(&[]), Err(CommandError::bad("Missing arguments")));
        assert_eq!(
            expunge(&[atom_arg("x")]),
            Err(CommandError::bad("Invalid uidset"))
        );
        assert_eq!(
            expunge(&[Arg::List(vec![])]),
            Err(CommandError::bad("Invalid arguments."))
        );
    }
}
