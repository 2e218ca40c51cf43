//! The authenticated state as this build has it: the mail process answers the login command
//! (`OK [CAPABILITY ...] Logged in`), then CAPABILITY, NOOP, ID and LOGOUT. Every command
//! that needs a mailbox gets `NO [UNAVAILABLE]`: mailbox access arrives with cote's IMAP server
//! (issue 5), which replaces this module.
//!
//! The process has already become the user when this runs (see `master::mail_login`).

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use crate::config::var_expand::{self, VarTable, Vars};
use crate::config::{ConfigError, Settings};
use crate::imap::capability::postlogin_capability;
use crate::imap::id::{id_log_text, id_reply, parse_id_params};
use crate::imap::parser::{
    Arg, ArgOptions, CommandParser, HeadError, LineEnd, ParseError, ParserLimits, Progress,
};
use crate::net::{LineError, LineReader, ResponseWriter, SocketTimeouts};

/// Dovecot's autologout for an idle authenticated client (`CLIENT_IDLE_TIMEOUT_MSECS`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Invalid commands tolerated after login (`CLIENT_MAX_BAD_COMMANDS`).
const MAX_BAD_COMMANDS: u32 = 20;
const OUTPUT_FLUSH_AT: usize = 64 * 1024;
const MAX_TAG_LEN: usize = 126;

/// The commands of IMAP4rev1 and the extensions Dovecot serves that need mailbox access:
/// known, but not available in this build.
const MAILBOX_COMMANDS: &[&str] = &[
    "APPEND",
    "CHECK",
    "CLOSE",
    "COPY",
    "CREATE",
    "DELETE",
    "ENABLE",
    "EXAMINE",
    "EXPUNGE",
    "FETCH",
    "GETMETADATA",
    "GETQUOTA",
    "GETQUOTAROOT",
    "IDLE",
    "LIST",
    "LSUB",
    "MOVE",
    "NAMESPACE",
    "NOTIFY",
    "RENAME",
    "SEARCH",
    "SELECT",
    "SETMETADATA",
    "SORT",
    "STATUS",
    "STORE",
    "SUBSCRIBE",
    "THREAD",
    "UID",
    "UNSELECT",
    "UNSUBSCRIBE",
    "GETACL",
    "SETACL",
    "DELETEACL",
    "LISTRIGHTS",
    "MYRIGHTS",
    "COMPRESS",
    "X-CANCEL",
    "REPLACE",
    "ESEARCH",
];

/// What the authenticated session needs from the configuration.
#[derive(Debug, Clone)]
pub struct PostloginSettings {
    pub imap_capability: String,
    pub imap_literal_minus: bool,
    pub imap_id_send: String,
    pub imap_id_log: String,
    pub imap_logout_format: String,
    pub imap_max_line_length: usize,
}

impl PostloginSettings {
    pub fn from_settings(settings: &Settings) -> Result<PostloginSettings, ConfigError> {
        Ok(PostloginSettings {
            imap_capability: settings.read("imap_capability")?,
            imap_literal_minus: settings.bool("imap_literal_minus"),
            imap_id_send: settings.read("imap_id_send")?,
            imap_id_log: settings.read("imap_id_log")?,
            imap_logout_format: settings.read("imap_logout_format")?,
            imap_max_line_length: usize::try_from(settings.size("imap_max_line_length"))
                .unwrap_or(usize::MAX)
                .max(1024),
        })
    }
}

/// How the login command is answered: its tag (none for a pre-authenticated session), and
/// whether the client asked CAPABILITY before logging in (it then gets the list untagged,
/// as Dovecot sends it to clients that ignore the response code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReply {
    pub tag: String,
    pub untagged_capability: bool,
}

impl LoginReply {
    /// The hand-off's protocol data (Dovecot's imap-login prefix): `0`/`1`, the tag, NUL.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![if self.untagged_capability { b'1' } else { b'0' }];
        out.extend_from_slice(self.tag.as_bytes());
        out.push(0);
        out
    }

    pub fn decode(data: &[u8]) -> Option<LoginReply> {
        let (flag, rest) = data.split_first()?;
        let tag = rest.strip_suffix(&[0])?;
        if tag.is_empty() || tag.contains(&0) || !matches!(flag, b'0' | b'1') {
            return None;
        }
        Some(LoginReply {
            tag: String::from_utf8(tag.to_vec()).ok()?,
            untagged_capability: *flag == b'1',
        })
    }
}

/// Counts the bytes that pass (`%i`/`%o` of `imap_logout_format`).
struct Counted<S> {
    inner: S,
    count: Rc<Cell<u64>>,
}

impl<S: Read> Read for Counted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<S: Write> Write for Counted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The client's input: what the login process had read already, then the socket.
struct Prefixed<S> {
    prefix: io::Cursor<Vec<u8>>,
    inner: S,
}

impl<S: Read> Read for Prefixed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.prefix.position() as usize) < self.prefix.get_ref().len() {
            return self.prefix.read(buf);
        }
        self.inner.read(buf)
    }
}

/// Why the session ended, for the `Disconnected:` log line.
enum End {
    LoggedOut,
    Closed,
    Inactivity,
    TooManyBad,
    Failed(String),
}

/// Serves an authenticated client: `reader` and `writer` are the two directions of its
/// socket, `input` what it had already sent. Logs Dovecot's `Disconnected:` line with
/// `imap_logout_format` expanded (with `vars`, the user's mail variables).
pub fn serve_postlogin<S: Read + Write + SocketTimeouts>(
    reader: S,
    writer: S,
    input: Vec<u8>,
    login: &LoginReply,
    settings: &PostloginSettings,
    vars: &Vars,
) {
    let _ = reader.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = writer.set_write_timeout(Some(IDLE_TIMEOUT));
    let bytes_in = Rc::new(Cell::new(0));
    let bytes_out = Rc::new(Cell::new(0));
    let capability = postlogin_capability(&settings.imap_capability, settings.imap_literal_minus);
    let mut session = Session {
        reader: LineReader::new(
            Counted {
                inner: Prefixed {
                    prefix: io::Cursor::new(input),
                    inner: reader,
                },
                count: Rc::clone(&bytes_in),
            },
            settings.imap_max_line_length,
        ),
        writer: ResponseWriter::new(
            Counted {
                inner: writer,
                count: Rc::clone(&bytes_out),
            },
            OUTPUT_FLUSH_AT,
        ),
        parser: CommandParser::new(ParserLimits {
            max_line: settings.imap_max_line_length,
            max_token: settings.imap_max_line_length,
            max_lists: 0,
            max_depth: 100,
            max_tag: MAX_TAG_LEN,
            literal_minus: settings.imap_literal_minus,
        }),
        settings,
        capability,
        bad_commands: 0,
    };
    let end = session.run(login);
    let reason = match &end {
        End::LoggedOut => "Logged out".to_string(),
        End::Closed => "Connection closed".to_string(),
        End::Inactivity => format!("Inactivity - no input for {} secs", IDLE_TIMEOUT.as_secs()),
        End::TooManyBad => "Too many invalid IMAP commands.".to_string(),
        End::Failed(e) => format!("Connection closed: {e}"),
    };
    let stats = logout_stats(
        &settings.imap_logout_format,
        vars,
        bytes_in.get(),
        bytes_out.get(),
    );
    log::info!("Disconnected: {reason} {stats}");
}

/// The logout variables first, then the user's (where `%i` is the uid).
struct LogoutVars<'a> {
    logout: Vars,
    user: &'a Vars,
}

impl VarTable for LogoutVars<'_> {
    fn short(&self, key: u8) -> Option<&str> {
        self.logout.short(key).or_else(|| self.user.short(key))
    }
    fn long(&self, name: &str) -> Option<&str> {
        self.logout.long(name).or_else(|| self.user.long(name))
    }
    fn func(&self, name: &str, data: &str) -> Option<String> {
        self.user.func(name, data)
    }
}

/// `imap_logout_format` for this session. The counters of mailbox work (`deleted`,
/// `expunged`, `trashed`, `fetch_*`, ...) are 0: this build does no mailbox work yet.
fn logout_stats(format: &str, user_vars: &Vars, bytes_in: u64, bytes_out: u64) -> String {
    let mut vars = Vars::new();
    let (input, output) = (bytes_in.to_string(), bytes_out.to_string());
    vars.set(Some(b'i'), Some("input"), Some(&input));
    vars.set(Some(b'o'), Some("output"), Some(&output));
    for name in [
        "fetch_hdr_count",
        "fetch_hdr_bytes",
        "fetch_body_count",
        "fetch_body_bytes",
        "deleted",
        "expunged",
        "autoexpunged",
        "trashed",
        "appended",
    ] {
        vars.set(None, Some(name), Some("0"));
    }
    let table = LogoutVars {
        logout: vars,
        user: user_vars,
    };
    var_expand::expand(format, &table).unwrap_or_else(|e| {
        log::error!("Failed to expand imap_logout_format={format}: {e}");
        format!("in={bytes_in} out={bytes_out}")
    })
}

type Reader<S> = LineReader<Counted<Prefixed<S>>>;
type Writer<S> = ResponseWriter<Counted<S>>;

struct Session<'a, S: Read + Write> {
    reader: Reader<S>,
    writer: Writer<S>,
    parser: CommandParser,
    settings: &'a PostloginSettings,
    capability: String,
    bad_commands: u32,
}

impl<S: Read + Write> Session<'_, S> {
    fn run(&mut self, login: &LoginReply) -> End {
        let reply = if login.untagged_capability {
            format!(
                "* CAPABILITY {}\r\n{} OK Logged in",
                self.capability, login.tag
            )
        } else {
            format!(
                "{} OK [CAPABILITY {}] Logged in",
                login.tag, self.capability
            )
        };
        if let Err(e) = self.line(&reply).and_then(|()| self.flush()) {
            return e;
        }
        loop {
            if let Err(end) = self.command() {
                let _ = self.flush();
                return end;
            }
            if !self.reader.has_buffered_line() {
                if let Err(end) = self.flush() {
                    return end;
                }
            }
        }
    }

    fn command(&mut self) -> Result<(), End> {
        let (line, end) = match self.reader.read_line() {
            Ok(Some(line)) => (line.to_vec(), LineEnd::Complete),
            Ok(None) => return Err(End::Closed),
            Err(LineError::TooLong { head, .. }) => (head, LineEnd::Truncated),
            Err(LineError::Timeout) => {
                self.line("* BYE Disconnected for inactivity.")?;
                return Err(End::Inactivity);
            }
            Err(LineError::Eof { .. }) => return Err(End::Closed),
            Err(e) => return Err(End::Failed(e.to_string())),
        };
        let head = match self.parser.start(&line, end) {
            Ok(head) => head,
            Err(HeadError::InvalidTag) | Err(HeadError::BufferFull) => {
                return self.bad("*", "Error in IMAP command received by server.")
            }
            Err(HeadError::InvalidName { tag }) => {
                return self.bad(&tag, "Error in IMAP command received by server.")
            }
        };
        let name = head.name.to_ascii_uppercase();
        let options = if name == "ID" {
            ArgOptions {
                max_lists: 0,
                max_depth: 2,
                first_only: true,
            }
        } else {
            self.parser.default_options()
        };
        let Some(args) = self.args(&head.tag, &name, end, options)? else {
            return Ok(());
        };
        let tag = head.tag.as_str();
        match name.as_str() {
            "CAPABILITY" => {
                let caps = format!("* CAPABILITY {}", self.capability);
                self.line(&caps)?;
                self.line(&format!("{tag} OK Capability completed."))
            }
            "NOOP" => self.line(&format!("{tag} OK NOOP completed.")),
            "LOGOUT" => {
                self.line("* BYE Logging out")?;
                self.line(&format!("{tag} OK Logout completed."))?;
                Err(End::LoggedOut)
            }
            "ID" => self.id(tag, &args),
            "LOGIN" | "AUTHENTICATE" => self.line(&format!(
                "{tag} BAD Error in IMAP command {name}: Already logged in."
            )),
            "STARTTLS" => self.line(&format!("{tag} BAD TLS is already active.")),
            n if MAILBOX_COMMANDS.contains(&n) => self.line(&format!(
                "{tag} NO [UNAVAILABLE] {name} is not available yet: mailbox access arrives \
                 with cote's IMAP server."
            )),
            _ => self.bad(
                tag,
                &format!("Error in IMAP command {name}: Unknown command."),
            ),
        }
    }

    /// The command's arguments (literals included); `None` when they did not parse (the
    /// client got BAD).
    fn args(
        &mut self,
        tag: &str,
        name: &str,
        mut end: LineEnd,
        options: ArgOptions,
    ) -> Result<Option<Vec<Arg>>, End> {
        let mut progress = self.parser.args_with(options);
        loop {
            match progress {
                Ok(Progress::Done(args)) => return Ok(Some(args)),
                Ok(Progress::Literal { size, sync }) => {
                    if sync {
                        self.line("+ OK")?;
                        self.flush()?;
                    }
                    let mut data = Vec::with_capacity(size.min(64 * 1024));
                    if let Err(e) = self.reader.read_exact_into(size, &mut data) {
                        return Err(match e {
                            LineError::Timeout => End::Inactivity,
                            LineError::Io { .. } => End::Failed(e.to_string()),
                            _ => End::Closed,
                        });
                    }
                    self.parser.provide_literal(data);
                    let (line, line_end) = match self.reader.read_line() {
                        Ok(Some(line)) => (line.to_vec(), LineEnd::Complete),
                        Ok(None) | Err(LineError::Eof { .. }) => return Err(End::Closed),
                        Err(LineError::TooLong { head, .. }) => (head, LineEnd::Truncated),
                        Err(LineError::Timeout) => return Err(End::Inactivity),
                        Err(e) => return Err(End::Failed(e.to_string())),
                    };
                    end = line_end;
                    progress = self.parser.continue_line(&line, end);
                }
                Err(e) if e.is_fatal() || matches!(e, ParseError::BufferFull) => {
                    self.line(&format!("* BYE {}", e.message()))?;
                    return Err(End::Failed(e.message().to_string()));
                }
                Err(e) => {
                    let text = format!("Error in IMAP command {name}: {}", e.message());
                    self.bad(tag, &text)?;
                    if end == LineEnd::Truncated {
                        return Err(End::Failed("Too long line".into()));
                    }
                    return Ok(None);
                }
            }
        }
    }

    fn id(&mut self, tag: &str, args: &[Arg]) -> Result<(), End> {
        let params = match parse_id_params(args) {
            Ok(p) => p,
            Err(_) => return self.bad(tag, "Invalid ID parameters"),
        };
        if matches!(args.first(), Some(Arg::List(_))) {
            if let Some(text) = id_log_text(&params, &self.settings.imap_id_log) {
                log::info!("ID sent: {text}");
            }
        }
        let mut reply = b"* ID ".to_vec();
        reply.extend_from_slice(&id_reply(&self.settings.imap_id_send));
        self.raw_line(&reply)?;
        self.line(&format!("{tag} OK ID completed."))
    }

    /// BAD, counting towards the limit of invalid commands.
    fn bad(&mut self, tag: &str, text: &str) -> Result<(), End> {
        self.bad_commands += 1;
        if self.bad_commands >= MAX_BAD_COMMANDS {
            self.line("* BYE Too many invalid IMAP commands.")?;
            return Err(End::TooManyBad);
        }
        self.line(&format!("{tag} BAD {text}"))
    }

    fn line(&mut self, text: &str) -> Result<(), End> {
        self.raw_line(text.as_bytes())
    }

    fn raw_line(&mut self, line: &[u8]) -> Result<(), End> {
        self.writer.write_line(line).map_err(|e| {
            End::Failed(format!(
                "write failed: {}",
                crate::errtext::os_error_text(&e)
            ))
        })
    }

    fn flush(&mut self) -> Result<(), End> {
        self.writer.flush().map_err(|e| {
            End::Failed(format!(
                "write failed: {}",
                crate::errtext::os_error_text(&e)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn settings() -> PostloginSettings {
        PostloginSettings {
            imap_capability: String::new(),
            imap_literal_minus: false,
            imap_id_send: "name *".into(),
            imap_id_log: String::new(),
            imap_logout_format: "in=%i out=%o deleted=%{deleted}".into(),
            imap_max_line_length: 65536,
        }
    }

    /// Runs a session over a socketpair with `input` pre-read and `client` sent after; returns
    /// everything the server wrote.
    fn converse(login: LoginReply, input: &[u8], client: &[u8]) -> String {
        let (server, mut peer) = UnixStream::pair().unwrap();
        let writer = server.try_clone().unwrap();
        let input = input.to_vec();
        let handle = std::thread::spawn(move || {
            serve_postlogin(server, writer, input, &login, &settings(), &Vars::new())
        });
        peer.write_all(client).unwrap();
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = String::new();
        peer.read_to_string(&mut out).unwrap();
        handle.join().unwrap();
        out
    }

    #[test]
    fn login_reply_then_commands() {
        let login = LoginReply {
            tag: "a1".into(),
            untagged_capability: false,
        };
        let out = converse(
            login,
            b"b CAPABILITY\r\n",
            b"c NOOP\r\nd SELECT INBOX\r\ne FOO\r\nf ID NIL\r\ng LOGOUT\r\n",
        );
        let caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID LITERAL+";
        assert_eq!(
            out,
            format!(
                "a1 OK [CAPABILITY {caps}] Logged in\r\n\
                 * CAPABILITY {caps}\r\nb OK Capability completed.\r\n\
                 c OK NOOP completed.\r\n\
                 d NO [UNAVAILABLE] SELECT is not available yet: mailbox access arrives with \
                 cote's IMAP server.\r\n\
                 e BAD Error in IMAP command FOO: Unknown command.\r\n\
                 * ID (\"name\" \"cote\")\r\nf OK ID completed.\r\n\
                 * BYE Logging out\r\ng OK Logout completed.\r\n"
            )
        );
    }

    #[test]
    fn untagged_capability_for_clients_that_asked_before() {
        let login = LoginReply {
            tag: "x".into(),
            untagged_capability: true,
        };
        let out = converse(login, b"", b"y LOGOUT\r\n");
        assert!(
            out.starts_with(
                "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID LITERAL+\r\nx OK Logged in\r\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn literals_are_read_and_bad_commands_counted() {
        let login = LoginReply {
            tag: "a".into(),
            untagged_capability: false,
        };
        let out = converse(login, b"", b"b APPEND INBOX {3+}\r\nabc\r\n");
        assert!(out.contains("b NO [UNAVAILABLE] APPEND"), "{out}");
        let login = LoginReply {
            tag: "a".into(),
            untagged_capability: false,
        };
        let out = converse(login, b"", &b"x BOGUS\r\n".repeat(25));
        assert_eq!(out.matches("BAD").count(), 19);
        assert!(
            out.ends_with("* BYE Too many invalid IMAP commands.\r\n"),
            "{out}"
        );
    }

    #[test]
    fn prefix_round_trip() {
        let r = LoginReply {
            tag: "a.1".into(),
            untagged_capability: true,
        };
        assert_eq!(r.encode(), b"1a.1\0");
        assert_eq!(LoginReply::decode(&r.encode()), Some(r));
        assert_eq!(LoginReply::decode(b"2a\0"), None);
        assert_eq!(LoginReply::decode(b"0\0"), None);
        assert_eq!(LoginReply::decode(b"0a"), None);
    }

    #[test]
    fn logout_format_counters() {
        let vars = Vars::mail_user(&var_expand::MailUserVars {
            user: "alice".into(),
            uid: Some(1000),
            ..Default::default()
        });
        assert_eq!(
            logout_stats("in=%i out=%o deleted=%{deleted} u=%u", &vars, 12, 34),
            "in=12 out=34 deleted=0 u=alice"
        );
    }
}
