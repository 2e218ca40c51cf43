//! The IMAP session after login, as Dovecot 2.3's imap process runs it: commands read with
//! the limits of `imap_max_line_length`, checked by the typed parser, run against a
//! [`MailSession`], answered with Dovecot's texts and its `(n.nnn + n.nnn secs)` timing.
//!
//! States (RFC 3501 §3): the session starts *authenticated* (the not-authenticated state is
//! the login process's, `prelogin.rs`); SELECT/EXAMINE make it *selected*, CLOSE/UNSELECT (and a
//! failed SELECT) authenticated again; LOGOUT ends it. Commands of the selected state answer
//! `BAD No mailbox selected.` without a mailbox.
//!
//! Pipelining (RFC 3501 §5.5): a client may send commands without waiting for answers. cote
//! runs them one at a time, in order, which the RFC always allows: no command's answers mix
//! with another's and none can be ambiguous, so Dovecot's `* BAD [CLIENTBUG] Command pipelining
//! results in ambiguity.` never arises. (Dovecot starts a pipelined command while another
//! waits for output or input when their effects on sequence numbers cannot collide; the
//! answers are the same, only their interleaving differs.) Answers are flushed when no
//! further command is waiting in the input buffer.
//!
//! Untagged updates about the selected mailbox (EXPUNGE, EXISTS, RECENT, FETCH FLAGS, FLAGS)
//! are sent before each tagged OK. EXPUNGE is held back while answering FETCH, STORE and
//! SEARCH (RFC 3501 §7.4.1) and sent after a later command.

mod acl;
mod append;
mod commands;
mod compress;
mod fetch;
mod idle;
mod input;
mod metadata;
mod notify;
mod qresync;
mod quota;
mod rev2;
mod search;
mod search_update;
mod sort;
mod stats;
mod urlauth;
mod view;

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use crate::imap::mail_session::MailSession;
use crate::imap::parser::{
    parse_command, Arg, ArgsNeeded, CommandError, CommandName, CommandParser, HeadError, LineEnd,
    ParseContext, ParseError, ParserLimits, Progress,
};
use crate::imap::response::{tagged, untagged, Code, Status, Timing};
use crate::index::uidset::UidSet;
use crate::net::deflate::{DeflateWriter, InflateReader};
use crate::net::{LineError, LineReader, ResponseWriter};

use crate::net::counted::Counted;
pub use acl::CAPABILITIES as ACL_CAPABILITIES;
pub use compress::CAPABILITY as COMPRESS_CAPABILITY;
pub use input::{WaitInput, Wake};
pub use metadata::CAPABILITY as METADATA_CAPABILITY;
pub use notify::CAPABILITY as NOTIFY_CAPABILITY;
pub use quota::CAPABILITY as QUOTA_CAPABILITY;
pub use stats::SessionStats;

use view::View;

/// The commands of URLAUTH (RFC 4467): without `imap_urlauth_host` (or without
/// `mail_attribute_dict`) they answer `URLAUTH disabled.`.
const URLAUTH_COMMANDS: [&str; 3] = ["GENURLAUTH", "RESETKEY", "URLFETCH"];

/// Dovecot's `CLIENT_MAX_BAD_COMMANDS`: this many invalid commands in a row end the session.
pub const MAX_BAD_COMMANDS: u32 = 20;
/// Dovecot's default `imap_max_line_length`.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 65536;
/// Answers are written out at the latest when this much is pending.
const OUTPUT_FLUSH_AT: usize = 64 * 1024;
/// List nesting in one command. Dovecot has no limit after login; cote's bounds the parse
/// tree's depth.
const MAX_LIST_DEPTH: usize = 100;

/// The settings a mail session's IMAP side uses.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// The post-login capability list (CAPABILITY).
    pub capability: String,
    /// `imap_max_line_length`: bytes of one command, literals (but not APPEND's messages)
    /// included; also the longest single argument.
    pub max_line_length: usize,
    /// `imap_literal_minus`.
    pub literal_minus: bool,
    /// `mail_max_keyword_length`.
    pub max_keyword_length: usize,
    /// `imap_idle_notify_interval`: `* OK Still here` while idling.
    pub idle_notify_interval: Duration,
    /// `imap_id_send`.
    pub id_send: String,
    /// `imap_id_log`.
    pub id_log: String,
    /// The largest message APPEND accepts (the quota plugin's `quota_max_mail_size`);
    /// `None`: no limit.
    pub max_mail_size: Option<u64>,
    /// The largest message CATENATE may compose: the imap service's memory limit
    /// (`vsz_limit`, else `default_vsz_limit`), since the message is held in memory until
    /// it is saved and a few bytes of URLs can name many copies of a large message; `None`:
    /// no limit.
    pub max_composed_size: Option<u64>,
    /// `imap_client_workarounds`.
    pub workarounds: ClientWorkarounds,
    /// COMPRESS=DEFLATE's level when `mail_plugins` loads `imap_zlib`; `None`: no COMPRESS.
    pub compress_level: Option<u32>,
    /// `mail_plugins` loads `imap_quota`: GETQUOTAROOT, GETQUOTA and SETQUOTA exist.
    pub quota: bool,
    /// `mail_plugins` loads `imap_acl`: the ACL commands exist.
    pub acl: bool,
    /// `imap_metadata`: METADATA reaches every attribute (otherwise only the validated
    /// internal ones, as Dovecot).
    pub metadata: bool,
    /// URLAUTH (RFC 4467): `imap_urlauth_host` and `imap_urlauth_port`, with the user
    /// filled in at login; `None` when not offered.
    pub urlauth: Option<crate::imap::urlauth::UrlAuthContext>,
    /// With `verbose_proctitle`: `alice 192.0.2.1`, shown with the running command in the
    /// process title (`[alice 192.0.2.1 IDLE]`).
    pub proctitle_who: Option<String>,
}

/// `imap_client_workarounds`: Dovecot's compatibility switches for broken clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientWorkarounds {
    /// `delay-newmail`: new messages and expunges are reported only after NOOP, CHECK and
    /// IDLE (Outlook Express and Netscape 4 lost them otherwise).
    pub delay_newmail: bool,
    /// `tb-extra-mailbox-sep`: a mailbox name's trailing hierarchy separator is dropped
    /// (Thunderbird sometimes adds one).
    pub tb_extra_mailbox_sep: bool,
    /// `tb-lsub-flags`: LSUB shows `\Noselect` and children flags (the LSUB request reaches
    /// storage with `returns.children` set).
    pub tb_lsub_flags: bool,
}

impl ClientWorkarounds {
    /// Parses the setting (names separated by spaces or commas, any case).
    pub fn parse(value: &str) -> Result<ClientWorkarounds, String> {
        let mut w = ClientWorkarounds::default();
        crate::config::parse_workarounds(
            "imap_client_workarounds",
            value,
            &mut [
                ("delay-newmail", &mut w.delay_newmail),
                ("tb-extra-mailbox-sep", &mut w.tb_extra_mailbox_sep),
                ("tb-lsub-flags", &mut w.tb_lsub_flags),
            ],
        )?;
        Ok(w)
    }
}

/// Settings the IMAP session cannot work with (Dovecot's texts).
#[derive(Debug)]
pub enum SessionConfigError {
    Config(crate::config::ConfigError),
    Invalid(String),
}

impl fmt::Display for SessionConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionConfigError::Config(e) => e.fmt(f),
            SessionConfigError::Invalid(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SessionConfigError {}

impl SessionSettings {
    /// The settings of a user's session (`config.settings(...)` for its protocol and
    /// addresses); `capability` is the post-login capability list, built by the login side.
    pub fn from_settings(
        settings: &crate::config::Settings,
        capability: String,
    ) -> Result<SessionSettings, SessionConfigError> {
        let workarounds = ClientWorkarounds::parse(settings.str("imap_client_workarounds"))
            .map_err(SessionConfigError::Invalid)?;
        let max_line_length = usize::try_from(settings.size("imap_max_line_length"))
            .unwrap_or(usize::MAX)
            // A limit too small for any command cannot work; Dovecot's imap_max_line_length
            // below a few bytes is equally unusable.
            .max(64);
        Ok(SessionSettings {
            capability,
            max_line_length,
            literal_minus: settings.bool("imap_literal_minus"),
            max_keyword_length: usize::try_from(settings.uint("mail_max_keyword_length"))
                .unwrap_or(usize::MAX),
            idle_notify_interval: settings.time("imap_idle_notify_interval"),
            id_send: settings
                .read("imap_id_send")
                .map_err(SessionConfigError::Config)?,
            id_log: settings
                .read("imap_id_log")
                .map_err(SessionConfigError::Config)?,
            max_mail_size: None,
            max_composed_size: imap_vsz_limit(settings),
            workarounds,
            compress_level: compress::compress_level(settings),
            quota: crate::storage::plugins::loaded(settings, "imap_quota"),
            acl: crate::storage::plugins::loaded(settings, "imap_acl"),
            metadata: settings.bool("imap_metadata"),
            urlauth: (!settings.str("imap_urlauth_host").is_empty()).then(|| {
                crate::imap::urlauth::UrlAuthContext {
                    host: settings.str("imap_urlauth_host").to_string(),
                    port: settings.port("imap_urlauth_port"),
                    user: String::new(),
                    apps: Vec::new(),
                    service: None,
                }
            }),
            proctitle_who: None,
        })
    }
}

/// Dovecot's `default_vsz_limit`.
const DEFAULT_VSZ_LIMIT: u64 = 256 * 1024 * 1024;

/// The imap service's `vsz_limit` as Dovecot applies it: the service's own value, unset
/// meaning `default_vsz_limit`; 0 is no limit.
fn imap_vsz_limit(settings: &crate::config::Settings) -> Option<u64> {
    let service = settings
        .sections("service")
        .into_iter()
        .find(|s| s.name() == "imap")
        .map_or(u64::MAX, |s| s.size("vsz_limit"));
    let limit = match service {
        u64::MAX => settings.size("default_vsz_limit"),
        limit => limit,
    };
    (limit > 0).then_some(limit)
}

impl Default for SessionSettings {
    /// Dovecot 2.3's defaults.
    fn default() -> Self {
        SessionSettings {
            capability: String::new(),
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            literal_minus: false,
            max_keyword_length: crate::imap::flags::DEFAULT_MAX_KEYWORD_LENGTH,
            idle_notify_interval: Duration::from_secs(120),
            id_send: "name *".to_string(),
            id_log: String::new(),
            max_mail_size: None,
            max_composed_size: Some(DEFAULT_VSZ_LIMIT),
            workarounds: ClientWorkarounds::default(),
            compress_level: None,
            quota: false,
            acl: false,
            metadata: false,
            urlauth: None,
            proctitle_who: None,
        }
    }
}

/// Why a session ended (`Display`: the reason Dovecot logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    Logout,
    ClientClosed,
    ReadFailed(String),
    WriteFailed(String),
    TooManyInvalidCommands,
    /// A literal larger than a command may be (`* BYE Literal size too large`).
    LiteralTooLarge(String),
    /// No command for too long (the stream's deadline).
    Inactivity,
    /// FETCH could not read a message (Dovecot's `imap_fetch_failure = disconnect-immediately`).
    FetchFailed(String),
    /// The selected mailbox changed under the session in a way IMAP cannot report (its
    /// UIDVALIDITY changed, or storage failed to sync).
    MailboxInconsistent(String),
    /// The process was told to terminate (SIGTERM: `coteadm kick`, shutdown).
    Shutdown,
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Logout => f.write_str("Logged out"),
            Disconnect::ClientClosed => f.write_str("Connection closed"),
            Disconnect::ReadFailed(e) | Disconnect::WriteFailed(e) => {
                write!(f, "Connection closed: {e}")
            }
            Disconnect::TooManyInvalidCommands => f.write_str("Too many invalid IMAP commands."),
            Disconnect::LiteralTooLarge(e) => f.write_str(e),
            Disconnect::Inactivity => f.write_str("Inactivity"),
            Disconnect::FetchFailed(e) => write!(f, "FETCH failed: {e}"),
            Disconnect::MailboxInconsistent(e) => f.write_str(e),
            Disconnect::Shutdown => f.write_str("Server shutting down."),
        }
    }
}

/// Whether the mailbox's changes are reported after `command` (Dovecot's commands that end
/// with a sync). The others (CAPABILITY, LIST, STATUS, CREATE, ...) say nothing about the
/// selected mailbox: its news wait for the next command that does.
fn reports_changes(command: CommandName) -> bool {
    matches!(
        command,
        CommandName::Noop
            | CommandName::Check
            | CommandName::Idle
            | CommandName::Append
            | CommandName::Expunge
            | CommandName::UidExpunge
            | CommandName::Copy { .. }
            | CommandName::Move { .. }
            | CommandName::Fetch { .. }
            | CommandName::Store { .. }
            | CommandName::Search { .. }
            | CommandName::Sort { .. }
            | CommandName::Thread { .. }
            | CommandName::Notify
    )
}

/// Ends the session with `Err`.
type Step<T = ()> = Result<T, Disconnect>;

/// What the client enabled (RFC 5161 ENABLE, or implicitly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Enabled {
    condstore: bool,
    qresync: bool,
    /// `ENABLE IMAP4rev2` (RFC 9051; see `rev2.rs` for what changes).
    rev2: bool,
}

/// QRESYNC's HIGHESTMODSEQ bookkeeping (RFC 7162 §3.2.10), as Dovecot keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ModseqReports {
    /// The highest modseq the client was told of with nothing held back.
    last_full: u64,
    /// The highest MODSEQ sent in FETCH responses since the last report.
    highest_fetched: u64,
}

impl ModseqReports {
    /// A MODSEQ was sent in a FETCH response.
    fn sent(&mut self, modseq: u64) {
        self.highest_fetched = self.highest_fetched.max(modseq);
    }
}

/// A command's tagged answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    status: Status,
    code: Option<Code>,
    text: String,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    fn ok_with(code: Code, text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Ok,
            code: Some(code),
            text: text.into(),
        }
    }

    fn no(code: Option<Code>, text: impl Into<String>) -> Reply {
        Reply {
            status: Status::No,
            code,
            text: text.into(),
        }
    }

    fn bad(text: impl Into<String>) -> Reply {
        Reply {
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    /// A storage error as `NO [CODE] text`.
    fn mail_error(e: &crate::imap::mail_session::MailError, nonexistent: bool) -> Reply {
        Reply::no(e.code(nonexistent), e.text.clone())
    }
}

/// The command being run.
struct Current {
    tag: String,
    /// For error texts: `FETCH`, `UID FETCH`.
    display_name: String,
    started: Instant,
    /// Time spent waiting for the client (literal data, IDLE).
    waited: Duration,
    /// EXPUNGE responses wait even though the command would allow them (a UID SEARCH with
    /// a sequence set, as Dovecot).
    hold_expunges: bool,
}

/// One IMAP session after login.
pub struct Session<'a, S: MailSession, R: Read + WaitInput, W: Write> {
    mail: &'a mut S,
    settings: &'a SessionSettings,
    /// Counted as the client sees it: inflated after COMPRESS.
    reader: LineReader<Counted<InflateReader<R>>>,
    writer: ResponseWriter<Counted<DeflateWriter<W>>>,
    parser: CommandParser,
    /// The selected mailbox as the client sees it.
    view: Option<View>,
    enabled: Enabled,
    modseqs: ModseqReports,
    /// SEARCHRES's `$`: UIDs.
    saved_result: Option<UidSet>,
    /// CONTEXT=SEARCH: the searches whose results are kept up to date for the client.
    search_updates: Vec<search_update::SearchUpdate>,
    /// Messages whose flags this session changed since the last sync (storage reports
    /// only others' changes; updated searches need both).
    own_flag_changes: UidSet,
    /// Messages whose `\Seen` a FETCH of this CONDSTORE session set since the last sync:
    /// the sync after it reports their new modseq alone (Dovecot's hidden change), as the
    /// FETCH response had their FLAGS but no MODSEQ.
    seen_by_fetch: UidSet,
    bad_commands: u32,
    id_logged: bool,
    current: Current,
    /// For the logout line (the byte counts live in the streams).
    stats: SessionStats,
    /// tb-extra-mailbox-sep: the separator to drop from the end of mailbox names.
    strip_separator: Option<char>,
    /// COMPRESS was answered OK: compression starts after the answer (at this level).
    compression_requested: Option<u32>,
    /// What the selected mailbox's untagged updates include (NOTIFY changes it).
    updates: notify::Updates,
    /// NOTIFY's events for mailboxes other than the selected one.
    notify: Option<notify::NotifyState>,
    /// NOTIFY SELECTED/SELECTED-DELAYED was given: the selected mailbox's changes are sent
    /// between commands too.
    notify_selected: bool,
    /// NOTIFY's MessageNew fetch-att list for the selected mailbox.
    notify_fetch: Option<Vec<crate::imap::parser::fetch::FetchItem>>,
}

impl<'a, S: MailSession, R: Read + WaitInput, W: Write> Session<'a, S, R, W> {
    pub fn new(mail: &'a mut S, input: R, output: W, settings: &'a SessionSettings) -> Self {
        let limits = ParserLimits {
            max_line: settings.max_line_length,
            max_token: settings.max_line_length,
            max_lists: 0,
            max_depth: MAX_LIST_DEPTH,
            max_tag: settings.max_line_length,
            literal_minus: settings.literal_minus,
        };
        Session {
            mail,
            settings,
            // Twice the line length: a line of many short arguments is read whole and found too
            // long by the parser, while one argument longer than the limit does not fit (Dovecot
            // parses as data arrives, so its buffer holds one argument, not one line).
            reader: LineReader::new(
                Counted::own(InflateReader::new(input)),
                settings.max_line_length.saturating_mul(2),
            ),
            writer: ResponseWriter::new(Counted::own(DeflateWriter::new(output)), OUTPUT_FLUSH_AT),
            parser: CommandParser::new(limits),
            view: None,
            enabled: Enabled::default(),
            modseqs: ModseqReports::default(),
            saved_result: None,
            search_updates: Vec::new(),
            own_flag_changes: UidSet::new(),
            seen_by_fetch: UidSet::new(),
            bad_commands: 0,
            id_logged: false,
            stats: SessionStats::default(),
            strip_separator: None,
            compression_requested: None,
            updates: notify::Updates::default(),
            notify: None,
            notify_selected: false,
            notify_fetch: None,
            current: Current {
                tag: String::new(),
                display_name: String::new(),
                started: Instant::now(),
                waited: Duration::ZERO,
                hold_expunges: false,
            },
        }
    }

    /// What the session did so far (for `imap_logout_format`).
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            input: self.reader.get_ref().count(),
            output: self.writer.get_ref().count(),
            ..self.stats
        }
    }

    /// Sends the answer to the login command (the first thing the client hears from the
    /// mail process).
    pub fn login_reply(&mut self, reply: &[u8]) -> Result<(), Disconnect> {
        self.line(reply)?;
        self.flush()
    }

    /// Whether the capability list advertises `name` (ENABLE enables only those).
    fn advertises(&self, name: &str) -> bool {
        self.settings
            .capability
            .split(' ')
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Serves commands until the client logs out, misbehaves or goes away. The caller has
    /// sent the tagged OK of the login.
    pub fn run(&mut self) -> Disconnect {
        if self.settings.workarounds.tb_extra_mailbox_sep {
            self.strip_separator = self
                .mail
                .namespaces()
                .iter()
                .find(|ns| ns.kind == crate::imap::mail_session::NamespaceKind::Private)
                .and_then(|ns| ns.separator);
        }
        loop {
            if let Err(reason) = self.notify_wait().and_then(|()| self.command()) {
                // SIGTERM ends the client's input: Dovecot's words at shutdown.
                if matches!(reason, Disconnect::ClientClosed | Disconnect::ReadFailed(_))
                    && crate::master::terminate::killed()
                {
                    self.bye("Server shutting down.");
                    return Disconnect::Shutdown;
                }
                // The connection ends: whatever could not be delivered changes nothing.
                let _ = self.writer.flush();
                return reason;
            }
            if !self.reader.has_buffered_line() {
                if let Err(reason) = self.flush() {
                    return reason;
                }
            }
        }
    }

    /// Reads, checks and runs one command.
    fn command(&mut self) -> Step {
        let (line, end) = self.read_line()?;
        self.current = Current {
            tag: String::new(),
            display_name: String::new(),
            started: Instant::now(),
            waited: Duration::ZERO,
            hold_expunges: false,
        };
        let head = match self.parser.start(&line, end) {
            Ok(head) => head,
            Err(HeadError::InvalidTag) => return self.param_error("Invalid tag."),
            Err(HeadError::InvalidName { tag }) => {
                self.current.tag = tag;
                return self.param_error("Invalid command name.");
            }
            Err(HeadError::BufferFull) => return self.param_error("Too long argument."),
        };
        self.current.tag = head.tag;
        let uid = head.name.eq_ignore_ascii_case("UID");
        let name = if uid {
            match self.parser.next_name() {
                Ok(name) => name,
                Err(HeadError::BufferFull) => {
                    self.current.display_name = "UID".into();
                    return self.param_error("Too long argument.");
                }
                Err(_) => return self.param_error("Invalid command name."),
            }
        } else {
            head.name
        };
        let upper = name.to_ascii_uppercase();
        self.current.display_name = if uid { format!("UID {upper}") } else { upper };
        // COMPRESS exists only with the imap_zlib plugin, the QUOTA commands only with
        // imap_quota, as in Dovecot.
        let Some(command) = CommandName::lookup(&name, uid).filter(|c| match c {
            CommandName::Compress => self.settings.compress_level.is_some(),
            CommandName::GetQuotaRoot | CommandName::GetQuota | CommandName::SetQuota => {
                self.settings.quota
            }
            CommandName::SetAcl
            | CommandName::DeleteAcl
            | CommandName::GetAcl
            | CommandName::ListRights
            | CommandName::MyRights => self.settings.acl,
            CommandName::GenUrlAuth | CommandName::ResetKey | CommandName::UrlFetch => {
                self.settings.urlauth.is_some()
            }
            _ => true,
        }) else {
            // Without URLAUTH its commands answer as Dovecot's do, before their arguments
            // are read.
            if !uid && URLAUTH_COMMANDS.contains(&name.to_ascii_uppercase().as_str()) {
                return self.param_error("URLAUTH disabled.");
            }
            return self.param_error("Unknown command.");
        };
        let count = match command.args_needed() {
            ArgsNeeded::Append => {
                return match self.append(end)? {
                    Some(reply) => self.finish(command, reply),
                    None => Ok(()),
                }
            }
            ArgsNeeded::SetMetadata => {
                return match self.setmetadata()? {
                    Some(reply) => self.finish(command, reply),
                    None => Ok(()),
                }
            }
            ArgsNeeded::None => Some(0),
            ArgsNeeded::All => None,
            ArgsNeeded::Count(n) => Some(n),
        };
        let args = if count == Some(0) {
            Vec::new()
        } else {
            match self.read_args(count, end)? {
                Some((args, _)) => args,
                None => return Ok(()),
            }
        };
        let ctx = self.parse_context();
        let parsed = parse_command(command, &args, &ctx);
        let search_saves = parsed.is_err()
            && matches!(command, CommandName::Search { .. })
            && crate::imap::parser::search::parse_return_if_found(&args)
                .is_ok_and(|(ret, _)| ret.is_some_and(|r| r.save));
        drop(args);
        let cmd = match parsed {
            Ok(cmd) => cmd,
            Err(e) => {
                if matches!(command, CommandName::Select | CommandName::Examine) {
                    self.close_selected()?;
                }
                return match e {
                    CommandError::Bad(text) => self.param_error(&text),
                    CommandError::Reply { status, code, text } => {
                        // A SEARCH ... RETURN (SAVE) that failed other than on its syntax
                        // (BADCHARSET) empties `$` (RFC 5182 §2.1, as Dovecot).
                        if search_saves {
                            self.saved_result = None;
                        }
                        self.tagged(Reply { status, code, text })
                    }
                };
            }
        };
        self.mail.begin_command();
        self.show_command(Some(&self.current.display_name));
        let reply = self.execute(command, cmd);
        self.show_command(None);
        self.finish(command, reply?)?;
        self.start_requested_compression()
    }

    /// With `verbose_proctitle`, puts the running command (`SELECT`) in the process title,
    /// or takes it out.
    fn show_command(&self, command: Option<&str>) {
        if let Some(who) = &self.settings.proctitle_who {
            let detail = match command {
                Some(command) => format!("[{who} {command}]"),
                None => format!("[{who}]"),
            };
            crate::master::proctitle::set_detail(Some(&detail));
        }
    }

    /// Sends the tagged reply, after the mailbox updates an OK allows.
    fn finish(&mut self, command: CommandName, mut reply: Reply) -> Step {
        // SELECT and EXAMINE have just told the client everything.
        let fresh = matches!(command, CommandName::Select | CommandName::Examine);
        // A COPY refused for expunged messages reports them first, so that a retry works.
        let answered = reply.status == Status::Ok || reply.code == Some(Code::ExpungeIssued);
        if answered && self.view.is_some() && !fresh && reports_changes(command) {
            let expunges = self.updates.immediate_expunges
                || (!self.current.hold_expunges && command.breaks_sequences())
                || !matches!(
                    command,
                    CommandName::Fetch { .. }
                        | CommandName::Store { .. }
                        | CommandName::Search { .. }
                        | CommandName::Sort { .. }
                        | CommandName::Thread { .. }
                );
            // delay-newmail: new messages and expunges wait for a command that asks for them.
            let safe = matches!(
                command,
                CommandName::Noop
                    | CommandName::Check
                    | CommandName::Idle
                    | CommandName::Append
                    | CommandName::Copy { .. }
                    | CommandName::Move { .. }
                    | CommandName::Notify
            );
            // NOTIFY turns delay-newmail off, as in Dovecot.
            let new_mail = safe || self.updates.notify || !self.settings.workarounds.delay_newmail;
            self.sync(
                expunges && new_mail,
                new_mail,
                command.is_uid() && matches!(command, CommandName::Store { .. }),
            )?;
            if self.enabled.qresync {
                self.report_highest_modseq(&mut reply)?;
            }
        }
        if fresh && reply.status == Status::Ok {
            self.notify_rewatch();
            self.modseqs = ModseqReports {
                last_full: self.mail.highest_modseq(),
                highest_fetched: 0,
            };
        }
        self.tagged(reply)
    }

    /// Under QRESYNC, a HIGHESTMODSEQ the client cannot know from the MODSEQs it was sent
    /// (expunges and new messages raise it): in the tagged OK if it has no code yet, else
    /// untagged.
    fn report_highest_modseq(&mut self, reply: &mut Reply) -> Step {
        if let Some(modseq) = self.highest_modseq_to_report() {
            if reply.status == Status::Ok && reply.code.is_none() {
                reply.code = Some(Code::HighestModseq(modseq));
            } else {
                self.untagged(Status::Ok, Some(&Code::HighestModseq(modseq)), "Highest")?;
            }
        }
        Ok(())
    }

    /// The HIGHESTMODSEQ to report after a sync, if any. While expunges are held back, the
    /// one from before them, so that a client that resynchronizes later does not miss them
    /// (Dovecot's rules).
    fn highest_modseq_to_report(&mut self) -> Option<u64> {
        if self.view.as_ref().is_none_or(|v| v.no_modseq) {
            return None;
        }
        let delayed = self
            .view
            .as_ref()
            .is_some_and(|v| !v.pending_expunges.is_empty());
        let highest = self.mail.highest_modseq();
        let ModseqReports {
            last_full,
            highest_fetched,
        } = self.modseqs;
        let send = if delayed && highest_fetched > last_full {
            Some(last_full)
        } else if !delayed && highest > last_full && highest > highest_fetched {
            Some(highest)
        } else {
            None
        };
        if !delayed {
            self.modseqs.last_full = highest;
        }
        self.modseqs.highest_fetched = 0;
        send
    }

    /// A MODSEQ was sent in a FETCH response.
    fn modseq_sent(&mut self, modseq: u64) {
        self.modseqs.sent(modseq);
    }

    fn parse_context(&self) -> ParseContext {
        ParseContext {
            selected: self.view.is_some(),
            messages: self.view.as_ref().map_or(0, |v| v.messages()),
            qresync: self.enabled.qresync,
            nonpermanent_modseqs: self.view.as_ref().is_some_and(|v| v.no_modseq),
            names: self.names(),
            strip_separator: self.strip_separator,
            rev2: self.enabled.rev2,
        }
    }

    /// The arguments, all of them or the first `count`, with how the last line read ended;
    /// `None` when the command was answered (a parse error).
    fn read_args(
        &mut self,
        count: Option<usize>,
        mut end: LineEnd,
    ) -> Step<Option<(Vec<Arg>, LineEnd)>> {
        let mut progress = match count {
            None => self.parser.args(),
            Some(n) => self.parser.args_counted(n),
        };
        loop {
            match progress {
                Ok(Progress::Done(args)) => return Ok(Some((args, end))),
                Ok(Progress::Literal { size, sync }) => {
                    let data = self.read_literal(size, sync)?;
                    self.parser.provide_literal(data);
                    let (line, line_end) = self.read_line()?;
                    end = line_end;
                    progress = self.parser.continue_line(&line, end);
                }
                Err(e) => {
                    self.parse_error(e)?;
                    return Ok(None);
                }
            }
        }
    }

    /// Answers a tokenizer error: `BAD`, or `* BYE` and the end for a literal too large.
    fn parse_error(&mut self, e: ParseError) -> Step {
        match e {
            // Dovecot skips the rest of the line and goes on.
            ParseError::BufferFull => self.param_error("Too long argument."),
            e if e.is_fatal() => {
                self.bye(e.message());
                Err(Disconnect::LiteralTooLarge(e.message().to_string()))
            }
            e => {
                if e.continuation_sent() {
                    self.line(b"+ OK")?;
                }
                self.param_error(e.message())
            }
        }
    }

    /// Reads a literal's data (after `+ OK` for a synchronizing one).
    fn read_literal(&mut self, size: usize, sync: bool) -> Step<Vec<u8>> {
        if sync {
            self.line(b"+ OK")?;
            self.flush()?;
        }
        let waiting = Instant::now();
        let mut data = Vec::with_capacity(size.min(64 * 1024));
        let result = self.reader.read_exact_into(size, &mut data);
        self.current.waited += waiting.elapsed();
        result.map_err(|e| self.read_failed(e))?;
        Ok(data)
    }

    fn read_line(&mut self) -> Step<(Vec<u8>, LineEnd)> {
        match self.reader.read_line() {
            Ok(Some(line)) => Ok((line.to_vec(), LineEnd::Complete)),
            Ok(None) => Err(Disconnect::ClientClosed),
            Err(LineError::TooLong { head, .. }) => Ok((head, LineEnd::Truncated)),
            Err(e) => Err(self.read_failed(e)),
        }
    }

    fn read_failed(&mut self, e: LineError) -> Disconnect {
        match e {
            LineError::Timeout => {
                self.bye("Disconnected for inactivity.");
                Disconnect::Inactivity
            }
            LineError::Eof { .. } | LineError::TooLong { .. } => Disconnect::ClientClosed,
            io @ LineError::Io { .. } => Disconnect::ReadFailed(io.to_string()),
        }
    }

    /// `BAD Error in IMAP command NAME: <text>` (or `... in IMAP tag`/`IMAP command:` when the
    /// tag or the name could not be read); the limit of invalid commands in a row ends the
    /// session.
    fn param_error(&mut self, text: &str) -> Step {
        let message = if self.current.tag.is_empty() {
            format!("Error in IMAP tag: {text}")
        } else if self.current.display_name.is_empty() {
            format!("Error in IMAP command: {text}")
        } else {
            format!(
                "Error in IMAP command {}: {text}",
                self.current.display_name
            )
        };
        self.write_tagged(&Reply::bad(message))?;
        self.bad_commands += 1;
        if self.bad_commands >= MAX_BAD_COMMANDS {
            self.bye("Too many invalid IMAP commands.");
            return Err(Disconnect::TooManyInvalidCommands);
        }
        Ok(())
    }

    /// The tagged reply of a command that ran (its arguments were right): the invalid
    /// command count starts again.
    fn tagged(&mut self, reply: Reply) -> Step {
        self.bad_commands = 0;
        self.write_tagged(&reply)
    }

    fn write_tagged(&mut self, reply: &Reply) -> Step {
        let elapsed = self.current.started.elapsed();
        let timing = Timing {
            running: elapsed.saturating_sub(self.current.waited),
            waiting: self.current.waited,
            since_last_run: Duration::ZERO,
        };
        let line = tagged(
            &self.current.tag,
            reply.status,
            reply.code.as_ref(),
            &reply.text,
            Some(&timing),
        );
        self.line(&line)
    }

    fn untagged(&mut self, status: Status, code: Option<&Code>, text: &str) -> Step {
        self.line(&untagged(status, code, text))
    }

    fn line(&mut self, line: &[u8]) -> Step {
        let size = self.writer.pending() + line.len() + 2;
        let result = self.writer.write_line(line);
        result.map_err(|e| write_failed(size, &e))
    }

    fn flush(&mut self) -> Step {
        let size = self.writer.pending();
        let result = self.writer.flush();
        result.map_err(|e| write_failed(size, &e))
    }

    /// `* BYE <text>`, as the last word.
    fn bye(&mut self, text: &str) {
        // The connection is being closed: a failure to deliver it changes nothing.
        let _ = self.untagged(Status::Bye, None, text);
        let _ = self.writer.flush();
    }
}

fn write_failed(size: usize, e: &io::Error) -> Disconnect {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        return Disconnect::Inactivity;
    }
    Disconnect::WriteFailed(format!(
        "write(size={size}) failed: {}",
        crate::errtext::os_error_text(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }

    #[test]
    fn settings_from_the_configuration() {
        let config = load("");
        let s = SessionSettings::from_settings(&config.global(), "IMAP4rev1".into()).unwrap();
        let d = SessionSettings::default();
        assert_eq!(s.max_line_length, d.max_line_length);
        assert_eq!(s.max_keyword_length, 50);
        assert_eq!(s.idle_notify_interval, Duration::from_secs(120));
        assert_eq!(s.id_send, "name *");
        assert_eq!(s.workarounds, ClientWorkarounds::default());
        let config = load(
            "imap_max_line_length = 1k\nmail_max_keyword_length = 10\n\
             imap_idle_notify_interval = 5 secs\nimap_literal_minus = yes\n\
             imap_client_workarounds = delay-newmail,TB-EXTRA-MAILBOX-SEP\n",
        );
        let s = SessionSettings::from_settings(&config.global(), String::new()).unwrap();
        assert_eq!(s.max_line_length, 1024);
        assert_eq!(s.max_keyword_length, 10);
        assert_eq!(s.idle_notify_interval, Duration::from_secs(5));
        assert!(s.literal_minus && s.workarounds.delay_newmail);
        assert!(s.workarounds.tb_extra_mailbox_sep && !s.workarounds.tb_lsub_flags);
        assert_eq!(s.max_composed_size, Some(256 * 1024 * 1024));
        let config = load("service imap {\n  vsz_limit = 1G\n}\n");
        let s = SessionSettings::from_settings(&config.global(), String::new()).unwrap();
        assert_eq!(s.max_composed_size, Some(1024 * 1024 * 1024));
        let config = load("default_vsz_limit = 0\n");
        let s = SessionSettings::from_settings(&config.global(), String::new()).unwrap();
        assert_eq!(s.max_composed_size, None);
        // The configuration refuses unknown names already when it is loaded; the same text.
        assert_eq!(
            ClientWorkarounds::parse("delay-newmail frobnicate").unwrap_err(),
            "imap_client_workarounds: Unknown workaround: frobnicate"
        );
    }
}
