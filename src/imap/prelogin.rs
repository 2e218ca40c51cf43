//! The IMAP session before login, answering as Dovecot 2.3's imap-login does: the greeting,
//! CAPABILITY, NOOP, ID, ENABLE, LOGOUT, STARTTLS, LOGIN and AUTHENTICATE (`login_auth.rs`),
//! `BAD` for anything else, the login timeout and the limits on what a client may send before
//! it has authenticated.
//!
//! The session knows nothing about processes: a successful login ends it with
//! [`PreloginEnd::LoggedIn`], and the caller hands the connection to a mail process.

use std::fmt;
use std::time::Instant;

use crate::imap::capability::{prelogin_capability, CapabilityInputs};
use crate::imap::id::{id_log_text, id_reply, parse_id_params, IdParams};
use crate::imap::parser::{
    Arg, ArgOptions, CommandParser, HeadError, LineEnd, ParseError, ParserLimits, Progress,
};
use crate::imap::postlogin::LoginReply;
use crate::login::connection::{self, InputLine, LoginSession, Outcome, Wire};
use crate::login::{
    LoggedIn, LoginConnection, LoginEnd, LoginServices, ProxiedClient, SessionEnd,
    LOGIN_INPUT_BUFFER_SIZE, MAX_BAD_COMMANDS, MAX_SESSION_ID_LEN,
};
use crate::net::conn::{parse_ip, parse_port};
use crate::net::{ClientStream, ConnInfo};

pub use super::login_settings::{PreloginConfigError, PreloginSettings};
pub use crate::login::{LOGIN_TIMEOUT, MAX_AUTH_RESPONSE};

/// imap-login's command length limit (`IMAP_LOGIN_MAX_LINE_LENGTH`); `imap_max_line_length`
/// applies only after login.
pub const LOGIN_MAX_LINE_LENGTH: usize = 8192;
/// Tags longer than this are refused (`IMAP_TAG_MAX_LEN`).
const MAX_TAG_LEN: usize = 126;

/// Why a pre-login session ended. `Display` is the reason in Dovecot's
/// `Disconnected: <reason> (no auth attempts in N secs)` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// What ends any login session (see [`SessionEnd`]).
    Session(SessionEnd),
    TooManyInvalidCommands,
    /// A literal larger than the command may be.
    LiteralTooLarge(ParseError),
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Session(end) => end.fmt(f),
            Disconnect::TooManyInvalidCommands => f.write_str("Too many invalid commands"),
            Disconnect::LiteralTooLarge(e) => f.write_str(e.message()),
        }
    }
}

impl From<SessionEnd> for Disconnect {
    fn from(end: SessionEnd) -> Self {
        Disconnect::Session(end)
    }
}

/// Dovecot's last word to a client whose login could not be handed to a mail process.
pub fn send_internal_failure(stream: &mut ClientStream) {
    connection::send_internal_failure(
        stream,
        b"* BYE [UNAVAILABLE] Internal login failure. Refer to server log for more information.\r\n",
    );
}

/// How a pre-login session ended.
pub enum PreloginEnd {
    Disconnected(Disconnect),
    LoggedIn(Box<LoggedIn>),
    /// Logged in at a backend: the relay is left to run.
    Proxied(Box<ProxiedClient>),
}

/// Serves one client connection until it logs in, logs out, misbehaves, times out or goes
/// away; a disconnect is logged with Dovecot's line. `conn` describes the accepted
/// connection; on an implicit-TLS listener (`conn.tls`) the handshake comes first. A login
/// hands over the tag to answer and whether the client asked CAPABILITY (a
/// [`LoginReply`] in [`LoggedIn::prefix`]).
pub fn serve_prelogin(
    stream: std::net::TcpStream,
    settings: &PreloginSettings,
    conn: &ConnInfo,
    services: LoginServices<'_>,
) -> PreloginEnd {
    let deadline = conn.accepted_at.checked_add(settings.login_timeout);
    let wire = Wire {
        service: "imap",
        max_line: settings.max_line_length + LOGIN_INPUT_BUFFER_SIZE,
        last_word_prefix: "* BYE ",
    };
    let session = |stream| Session::new(stream, settings, conn.clone(), services, wire, deadline);
    match connection::serve(stream, conn, services, wire, deadline, session) {
        Ok(LoginEnd::Mail(logged_in)) => PreloginEnd::LoggedIn(logged_in),
        Ok(LoginEnd::Proxied(proxied)) => PreloginEnd::Proxied(proxied),
        Err(reason) => PreloginEnd::Disconnected(reason),
    }
}

/// Ends the session: `Err` carries the reason.
pub(super) type Step = Result<(), Disconnect>;

pub(super) struct Session<'a> {
    pub(super) c: LoginConnection<'a>,
    pub(super) settings: &'a PreloginSettings,
    capability: String,
    parser: CommandParser,
    bad_commands: u32,
    /// The first successful ID has been handled (logged, trusted fields taken).
    id_done: bool,
    /// The client sent CAPABILITY: after login it gets the new list untagged.
    pub(super) capability_requested: bool,
    /// The tag of the LOGIN or AUTHENTICATE being run, for its answer.
    pub(super) auth_tag: String,
}

impl<'a> LoginSession<'a> for Session<'a> {
    type Disconnect = Disconnect;

    fn greeting(&mut self) -> String {
        format!(
            "* OK [CAPABILITY {}] {}",
            self.capability, self.settings.login.login_greeting
        )
    }

    /// Reads, parses and answers one command.
    fn command(&mut self) -> Result<Outcome, Disconnect> {
        let (line, end) = self.read_line()?;
        let head = match self.parser.start(&line, end) {
            Ok(head) => head,
            Err(HeadError::InvalidTag) => {
                self.invalid_command("*")?;
                self.rest(end)?;
                return Ok(Outcome::Continue);
            }
            Err(HeadError::InvalidName { tag }) => {
                self.invalid_command(&tag)?;
                self.rest(end)?;
                return Ok(Outcome::Continue);
            }
            Err(HeadError::BufferFull) => return Err(self.buffer_full()),
        };
        let name = head.name.to_ascii_uppercase();
        if name == "AUTHENTICATE" {
            // Its input is read raw: the SASL initial response may be far longer than any
            // IMAP argument may.
            let rest = line
                .get(head.tag.len() + 1 + head.name.len()..)
                .unwrap_or(&[]);
            return self.authenticate(&head.tag, rest, end);
        }
        let options = if name == "ID" {
            // Dovecot reads ID's parameter list one argument at a time, each allowed one
            // list, and ignores whatever follows the list.
            ArgOptions {
                max_lists: 0,
                max_depth: 2,
                first_only: true,
            }
        } else {
            self.parser.default_options()
        };
        let Some(args) = self.read_args(&head.tag, end, options)? else {
            return Ok(Outcome::Continue);
        };
        let tag = head.tag.as_str();
        match name.as_str() {
            "CAPABILITY" => {
                self.capability_requested = true;
                let caps = format!("* CAPABILITY {}", self.capability);
                self.line(caps.as_bytes())?;
                self.tagged(
                    tag,
                    "OK",
                    "Pre-login capabilities listed, post-login capabilities have more.",
                )?;
            }
            "NOOP" => self.tagged(tag, "OK", "NOOP completed.")?,
            "LOGOUT" => {
                self.line(b"* BYE Logging out")?;
                self.tagged(tag, "OK", "Logout completed.")?;
                self.flush()?;
                return Err(SessionEnd::LoggedOut.into());
            }
            "ENABLE" => {
                self.line(b"* ENABLED")?;
                self.tagged(tag, "OK", "ENABLE ignored in non-authenticated state.")?;
            }
            "ID" => self.id(tag, &args)?,
            "STARTTLS" => self.starttls(tag)?,
            "LOGIN" => {
                let (Some(user), Some(pass), 2) = (
                    args.first().and_then(Arg::as_astring),
                    args.get(1).and_then(Arg::as_astring),
                    args.len(),
                ) else {
                    self.invalid_command(tag)?;
                    return Ok(Outcome::Continue);
                };
                let (user, pass) = (user.to_vec(), pass.to_vec());
                return self.login(tag, &user, &pass);
            }
            _ if tag.eq_ignore_ascii_case("LOGIN") => self.tagged(
                tag,
                "BAD",
                "First parameter in line is IMAP's command tag, not the command name. \
                 Add that before the command, like: a login user pass",
            )?,
            _ => self.invalid_command(tag)?,
        }
        Ok(Outcome::Continue)
    }

    fn connection(&mut self) -> &mut LoginConnection<'a> {
        &mut self.c
    }
}

impl<'a> Session<'a> {
    fn new(
        stream: ClientStream,
        settings: &'a PreloginSettings,
        conn: ConnInfo,
        services: LoginServices<'a>,
        wire: Wire,
        deadline: Option<Instant>,
    ) -> Self {
        let limits = ParserLimits {
            max_line: settings.max_line_length,
            max_token: LOGIN_INPUT_BUFFER_SIZE,
            // Dovecot's imap-login allows one list per command (Debian's backport of the
            // 2.4 fix against memory exhaustion): "Too many '('" beyond.
            max_lists: 1,
            max_depth: 1,
            max_tag: MAX_TAG_LEN,
            literal_minus: settings.imap_literal_minus,
        };
        let c = LoginConnection::new(stream, conn, &settings.login, services, wire, deadline);
        let mut session = Session {
            c,
            settings,
            capability: String::new(),
            parser: CommandParser::new(limits),
            bad_commands: 0,
            id_done: false,
            capability_requested: false,
            auth_tag: String::new(),
        };
        session.capability = session.compute_capability();
        session
    }

    fn compute_capability(&self) -> String {
        let mechanisms = self.c.mechanisms();
        prelogin_capability(&CapabilityInputs {
            imap_capability: &self.settings.imap_capability,
            imap_literal_minus: self.settings.imap_literal_minus,
            ssl: self.settings.login.ssl,
            tls_available: self.c.services.tls.is_some(),
            tls_active: self.c.stream.is_tls(),
            secured: self.c.secured,
            disable_plaintext_auth: self.settings.login.disable_plaintext_auth,
            mechanisms: &mechanisms,
        })
    }

    /// STARTTLS: the OK goes out in plaintext, whatever the client sent after the command is
    /// thrown away (it was sent before TLS, so it must not pass for TLS input), and the
    /// session continues over TLS with the capability list recomputed.
    fn starttls(&mut self, tag: &str) -> Step {
        if self.c.stream.is_tls() {
            return self.tagged(tag, "BAD", "TLS is already active.");
        }
        if !self.c.tls_enabled() {
            return self.tagged(tag, "BAD", "TLS support isn't enabled.");
        }
        self.tagged(tag, "OK", "Begin TLS negotiation now.")?;
        self.flush()?;
        match self.c.start_tls("STARTTLS") {
            Ok(()) => {
                self.capability = self.compute_capability();
                Ok(())
            }
            Err(SessionEnd::TlsInitFailed) => {
                self.c.last_word("[UNAVAILABLE] TLS initialization failed.");
                Err(SessionEnd::TlsInitFailed.into())
            }
            Err(reason) => Err(reason.into()),
        }
    }

    /// The arguments of the command being read, reading literals and the lines after them.
    /// `Ok(None)`: the command was refused with BAD and the session goes on.
    fn read_args(
        &mut self,
        tag: &str,
        mut end: LineEnd,
        options: ArgOptions,
    ) -> Result<Option<Vec<Arg>>, Disconnect> {
        let mut progress = self.parser.args_with(options);
        loop {
            match progress {
                Ok(Progress::Done(args)) => return Ok(Some(args)),
                Ok(Progress::Literal { size, sync }) => {
                    if sync {
                        self.line(b"+ OK")?;
                        self.flush()?;
                    }
                    let mut data = Vec::with_capacity(size);
                    if let Err(e) = self.c.reader.read_exact_into(size, &mut data) {
                        return Err(self.c.read_failed(e).into());
                    }
                    self.parser.provide_literal(data);
                    let (line, line_end) = self.read_line()?;
                    end = line_end;
                    progress = self.parser.continue_line(&line, end);
                }
                Err(ParseError::BufferFull) => return Err(self.buffer_full()),
                Err(e) if e.is_fatal() => {
                    self.c.last_word(e.message());
                    return Err(Disconnect::LiteralTooLarge(e));
                }
                Err(e) => {
                    if e.continuation_sent() {
                        self.line(b"+ OK")?;
                    }
                    self.tagged(tag, "BAD", e.message())?;
                    self.rest(end)?;
                    return Ok(None);
                }
            }
        }
    }

    /// After a refused command: a line longer than the reader takes cannot be skipped within
    /// Dovecot's input buffer, which then overflows.
    ///
    /// Deliberate difference: Dovecot overflows already when the rest of a refused line is
    /// longer than its 1026-byte buffer; cote skips any refused line up to its limit.
    pub(super) fn rest(&mut self, end: LineEnd) -> Step {
        match end {
            LineEnd::Complete => Ok(()),
            LineEnd::Truncated => Err(self.buffer_full()),
        }
    }

    fn id(&mut self, tag: &str, args: &[Arg]) -> Step {
        let params = match parse_id_params(args) {
            Ok(params) => params,
            Err(_) => return self.tagged(tag, "BAD", "Invalid ID parameters"),
        };
        if !self.id_done {
            self.id_done = true;
            if self.c.trusted {
                self.take_proxy_fields(&params);
            }
            if matches!(args.first(), Some(Arg::List(_))) {
                if let Some(text) = id_log_text(&params, &self.settings.imap_id_log) {
                    self.c.log(&format!("ID sent: {text}"));
                }
            }
        }
        let mut reply = b"* ID ".to_vec();
        reply.extend_from_slice(&id_reply(&self.settings.imap_id_send));
        self.line(&reply)?;
        self.tagged(tag, "OK", "ID completed.")
    }

    /// A trusted proxy (`login_trusted_networks`) passes the real client's addresses and its
    /// session id in ID; they replace this connection's in the logs and the auth request.
    fn take_proxy_fields(&mut self, params: &IdParams) {
        for (key, value) in params {
            let Some(value) = value.as_deref().and_then(|v| std::str::from_utf8(v).ok()) else {
                continue;
            };
            let key = String::from_utf8_lossy(key).to_ascii_lowercase();
            match key.as_str() {
                "x-originating-ip" => {
                    if let Some(ip) = parse_ip(value) {
                        self.c.conn.remote.set_ip(ip);
                    }
                }
                "x-originating-port" => {
                    if let Some(port) = parse_port(value) {
                        self.c.conn.remote.set_port(port);
                    }
                }
                "x-connected-ip" => {
                    if let Some(ip) = parse_ip(value) {
                        self.c.conn.local.set_ip(ip);
                    }
                }
                "x-connected-port" => {
                    if let Some(port) = parse_port(value) {
                        self.c.conn.local.set_port(port);
                    }
                }
                "x-session-id" | "x-session-ext-id" if value.len() <= MAX_SESSION_ID_LEN => {
                    self.c.conn.session_id = value.to_string();
                }
                "x-proxy-ttl" => {
                    if let Ok(ttl) = value.parse() {
                        self.c.conn.proxy_ttl = ttl;
                    }
                }
                _ => {}
            }
        }
    }

    /// BAD for a command imap-login does not know or cannot parse; the third one ends the
    /// session.
    pub(super) fn invalid_command(&mut self, tag: &str) -> Step {
        self.bad_commands += 1;
        if self.bad_commands >= MAX_BAD_COMMANDS {
            self.c.last_word("Too many invalid IMAP commands.");
            return Err(Disconnect::TooManyInvalidCommands);
        }
        self.tagged(tag, "BAD", "Error in IMAP command received by server.")
    }

    fn buffer_full(&mut self) -> Disconnect {
        self.c.last_word(ParseError::BufferFull.message());
        SessionEnd::InputBufferFull.into()
    }

    pub(super) fn read_line(&mut self) -> Result<(Vec<u8>, LineEnd), Disconnect> {
        Ok(match self.c.read_line()? {
            InputLine::Complete(line) => (line, LineEnd::Complete),
            InputLine::Truncated(head) => (head, LineEnd::Truncated),
        })
    }

    pub(super) fn line(&mut self, line: &[u8]) -> Step {
        Ok(self.c.line(line)?)
    }

    pub(super) fn tagged(&mut self, tag: &str, status: &str, text: &str) -> Step {
        self.line(format!("{tag} {status} {text}").as_bytes())
    }

    pub(super) fn flush(&mut self) -> Step {
        Ok(self.c.flush()?)
    }

    /// The hand-over after a login (see [`LoginConnection::logged_in`]), with the tag the
    /// mail process answers.
    pub(super) fn logged_in(
        &mut self,
        tag: &str,
        user: String,
        mechanism: String,
        auth: crate::auth::client::AuthClient,
        auth_id: u32,
    ) -> Result<Box<LoggedIn>, Disconnect> {
        let reply = LoginReply {
            tag: tag.to_string(),
            untagged_capability: self.capability_requested,
        };
        Ok(self
            .c
            .logged_in(user, mechanism, auth, auth_id, reply.encode())?)
    }
}
