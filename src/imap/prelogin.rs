//! The IMAP session before login, answering as Dovecot 2.3's imap-login does: the greeting,
//! CAPABILITY, NOOP, ID, ENABLE, LOGOUT, STARTTLS, LOGIN and AUTHENTICATE (`login_auth.rs`),
//! `BAD` for anything else, the login timeout and the limits on what a client may send before
//! it has authenticated.
//!
//! The session knows nothing about processes: a successful login ends it with
//! [`PreloginEnd::LoggedIn`], and the caller hands the connection to a mail process.

use std::fmt;
use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use crate::auth::client::AuthClient;
use crate::imap::capability::{prelogin_capability, CapabilityInputs};
use crate::imap::id::{id_log_text, id_reply, parse_id_params, IdParams};
use crate::imap::parser::{
    Arg, ArgOptions, CommandParser, HeadError, LineEnd, ParseError, ParserLimits, Progress,
};
use crate::login::tls::{self, TlsFailure};
use crate::login::{AuthAttempts, SaslMech};
use crate::net::conn::parse_ip;
use crate::net::tls::TlsServer;
use crate::net::{
    ClientStream, ConnInfo, DeadlineStream, LineError, LineReader, ResponseWriter, SslMode,
};

pub use super::login_settings::{PreloginConfigError, PreloginSettings};

/// Dovecot's imap-login reads commands through a 1026-byte input buffer
/// (`LOGIN_MAX_INBUF_SIZE`): no single argument may be larger.
pub const LOGIN_INPUT_BUFFER_SIZE: usize = 1026;
/// imap-login's command length limit (`IMAP_LOGIN_MAX_LINE_LENGTH`); `imap_max_line_length`
/// applies only after login.
pub const LOGIN_MAX_LINE_LENGTH: usize = 8192;
/// imap-login's deadline for logging in, counted from the connection (`CLIENT_LOGIN_TIMEOUT`).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Tags longer than this are refused (`IMAP_TAG_MAX_LEN`).
const MAX_TAG_LEN: usize = 126;
/// The third invalid command ends the session (`CLIENT_MAX_BAD_COMMANDS`).
const MAX_BAD_COMMANDS: u32 = 3;
/// Answers are written out at the latest when this much is pending (`LOGIN_MAX_OUTBUF_SIZE`).
const OUTPUT_FLUSH_AT: usize = 4096;
/// Dovecot's limit on `x-session-id` from a trusted proxy (`LOGIN_MAX_SESSION_ID_LEN`).
const MAX_SESSION_ID_LEN: usize = 64;
/// The most a SASL response (initial or continued) may hold (`LOGIN_MAX_AUTH_BUF_SIZE`).
pub const MAX_AUTH_RESPONSE: usize = 8192;

/// Why a pre-login session ended. `Display` is the reason in Dovecot's
/// `Disconnected: <reason> (no auth attempts in N secs)` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// The client closed the connection, between commands or in the middle of one.
    ClientClosed,
    /// Reading failed (`read(size=N) failed: <error>`).
    ReadFailed(String),
    /// Writing failed (`write(size=N) failed: <error>`).
    WriteFailed(String),
    /// The client sent LOGOUT.
    Logout,
    TooManyInvalidCommands,
    /// A command did not fit in the login input buffer.
    InputBufferFull,
    /// A literal larger than the command may be.
    LiteralTooLarge(ParseError),
    /// The login timeout passed.
    Inactivity,
    /// A SASL response longer than Dovecot's 8 KiB.
    AuthResponseTooLarge,
    /// TLS could not be started (no usable certificate): Dovecot's `TLS initialization failed.`
    TlsInitFailed,
    /// The TLS handshake failed (`TLS handshaking: SSL_accept() failed: ...`).
    TlsHandshake(String),
    /// The auth service went away in the middle of an authentication.
    AuthServiceFailed,
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::ClientClosed => f.write_str("Connection closed"),
            Disconnect::ReadFailed(e) | Disconnect::WriteFailed(e) => {
                write!(f, "Connection closed: {e}")
            }
            Disconnect::Logout => f.write_str("Aborted login by logging out"),
            Disconnect::TooManyInvalidCommands => f.write_str("Too many invalid commands"),
            Disconnect::InputBufferFull => f.write_str("Input buffer full"),
            Disconnect::LiteralTooLarge(e) => f.write_str(e.message()),
            Disconnect::Inactivity => f.write_str("Inactivity"),
            Disconnect::AuthResponseTooLarge => f.write_str("Authentication response too large"),
            Disconnect::TlsInitFailed => f.write_str("TLS initialization failed."),
            Disconnect::TlsHandshake(e) => write!(f, "TLS handshaking: {e}"),
            Disconnect::AuthServiceFailed => f.write_str("Auth process broken"),
        }
    }
}

pub use crate::login::LoginServices;

/// A client that logged in: everything the mail process needs to take over.
pub struct LoggedIn {
    /// The connection; plain TCP, or TLS that the login process must keep serving.
    pub stream: ClientStream,
    pub conn: ConnInfo,
    pub secured: bool,
    /// The user name the auth service logged in.
    pub user: String,
    /// The SASL mechanism (`PLAIN` for LOGIN).
    pub mechanism: String,
    /// The auth connection, kept open until the mail process has verified the login.
    pub auth: AuthClient,
    /// The id of the successful request on that connection.
    pub auth_id: u32,
    /// The tag of the LOGIN/AUTHENTICATE command the mail process answers.
    pub tag: String,
    /// The client asked CAPABILITY before logging in: it gets the new list untagged.
    pub untagged_capability: bool,
    /// Client input read but not processed (pipelined after the login command).
    pub input: Vec<u8>,
}

/// Dovecot's last word to a client whose login could not be handed to a mail process.
pub fn send_internal_failure(stream: &mut ClientStream) {
    let bye =
        b"* BYE [UNAVAILABLE] Internal login failure. Refer to server log for more information.\r\n";
    // Without waiting for a client that does not read: the connection is closed next.
    let _ = stream.with_tcp(|s| s.set_nonblocking(true));
    let _ = io::Write::write_all(stream, bye);
}

/// How a pre-login session ended.
pub enum PreloginEnd {
    Disconnected(Disconnect),
    LoggedIn(Box<LoggedIn>),
}

/// Serves one client connection until it logs in, logs out, misbehaves, times out or goes
/// away; a disconnect is logged with Dovecot's line. `conn` describes the accepted
/// connection; on an implicit-TLS listener (`conn.tls`) the handshake comes first.
pub fn serve_prelogin(
    stream: std::net::TcpStream,
    settings: &PreloginSettings,
    conn: &ConnInfo,
    services: LoginServices<'_>,
) -> PreloginEnd {
    let deadline = conn.accepted_at.checked_add(settings.login_timeout);
    let stream = if conn.tls {
        match start_tls(stream, conn, services.tls, deadline) {
            Ok(s) => s,
            Err(reason) => {
                let info = conn.login_log_elements("", None, None, true);
                log::info!("Disconnected: {reason} (no auth attempts in 0 secs): {info}");
                return PreloginEnd::Disconnected(reason);
            }
        }
    } else {
        ClientStream::plain(stream)
    };
    let mut session = Session::new(stream, settings, conn.clone(), services, deadline);
    match session.run() {
        Ok(logged_in) => PreloginEnd::LoggedIn(logged_in),
        Err(reason) => {
            let suffix = session.disconnect_suffix();
            let line = format!("Disconnected: {reason} {suffix}");
            session.log(&line);
            PreloginEnd::Disconnected(reason)
        }
    }
}

/// The server side of a TLS handshake on `stream`, for the connection `conn`.
fn start_tls(
    stream: std::net::TcpStream,
    conn: &ConnInfo,
    tls: Option<&TlsServer>,
    deadline: Option<Instant>,
) -> Result<ClientStream, Disconnect> {
    tls::start_tls(stream, conn, tls, deadline, "imap").map_err(|e| match e {
        TlsFailure::InitFailed => Disconnect::TlsInitFailed,
        TlsFailure::Timeout => Disconnect::Inactivity,
        TlsFailure::Handshake(e) => Disconnect::TlsHandshake(e),
    })
}

/// Ends the session: `Err` carries the reason.
pub(super) type Step = Result<(), Disconnect>;

/// What one command did to the session.
pub(super) enum Outcome {
    Continue,
    LoggedIn(Box<LoggedIn>),
}

pub(super) struct Session<'a> {
    pub(super) stream: ClientStream,
    pub(super) settings: &'a PreloginSettings,
    pub(super) services: LoginServices<'a>,
    pub(super) conn: ConnInfo,
    pub(super) deadline: Option<Instant>,
    pub(super) trusted: bool,
    pub(super) secured: bool,
    pub(super) capability: String,
    pub(super) reader: LineReader<DeadlineStream<ClientStream>>,
    pub(super) writer: ResponseWriter<DeadlineStream<ClientStream>>,
    pub(super) parser: CommandParser,
    pub(super) bad_commands: u32,
    /// The first successful ID has been handled (logged, trusted fields taken).
    id_done: bool,
    /// The auth service connection, made when the session starts; `None` when there is no
    /// auth socket or it could not be reached.
    pub(super) auth: Option<AuthClient>,
    /// The client sent CAPABILITY: after login it gets the new list untagged.
    pub(super) capability_requested: bool,
    /// What the disconnect line says about authentication.
    pub(super) attempts: AuthAttempts,
}

impl<'a> Session<'a> {
    fn new(
        stream: ClientStream,
        settings: &'a PreloginSettings,
        conn: ConnInfo,
        services: LoginServices<'a>,
        deadline: Option<Instant>,
    ) -> Self {
        let trusted = settings
            .login_trusted_networks
            .iter()
            .any(|net| net.contains(conn.remote.ip()));
        let secured = conn.is_secured(trusted);
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
        let auth = services.auth_socket.and_then(|path| {
            match AuthClient::connect(path, std::process::id()) {
                Ok(client) => Some(client),
                Err(e) => {
                    log::error!(
                        "net_connect_unix({}) failed: {}",
                        path.display(),
                        crate::errtext::os_error_text(&e)
                    );
                    None
                }
            }
        });
        let mut session = Session {
            reader: LineReader::new(
                DeadlineStream::new(stream.clone(), deadline),
                settings.max_line_length + LOGIN_INPUT_BUFFER_SIZE,
            ),
            writer: ResponseWriter::new(
                DeadlineStream::new(stream.clone(), deadline),
                OUTPUT_FLUSH_AT,
            ),
            stream,
            settings,
            services,
            conn,
            deadline,
            trusted,
            secured,
            capability: String::new(),
            parser: CommandParser::new(limits),
            bad_commands: 0,
            id_done: false,
            auth,
            capability_requested: false,
            attempts: AuthAttempts::default(),
        };
        session.capability = session.compute_capability();
        session
    }

    /// The mechanisms the auth service offers, in its order.
    pub(super) fn mechanisms(&self) -> Vec<SaslMech> {
        SaslMech::offered_by(self.auth.as_ref())
    }

    fn compute_capability(&self) -> String {
        let mechanisms = self.mechanisms();
        prelogin_capability(&CapabilityInputs {
            imap_capability: &self.settings.imap_capability,
            imap_literal_minus: self.settings.imap_literal_minus,
            ssl: self.settings.ssl,
            tls_available: self.services.tls.is_some(),
            tls_active: self.stream.is_tls(),
            secured: self.secured,
            disable_plaintext_auth: self.settings.disable_plaintext_auth,
            mechanisms: &mechanisms,
        })
    }

    pub(super) fn log(&self, message: &str) {
        log::info!(
            "{message}: {}",
            self.conn.login_log_elements(
                &self.attempts.user,
                self.attempts.mechanism.as_deref(),
                None,
                self.secured
            )
        );
    }

    /// Dovecot's parenthesized explanation after `Disconnected: <reason>`.
    fn disconnect_suffix(&self) -> String {
        let cert_required = self.settings.auth_ssl_require_client_cert && !self.stream.is_tls();
        self.attempts
            .disconnect_suffix(self.conn.accepted_at, cert_required)
    }

    fn run(&mut self) -> Result<Box<LoggedIn>, Disconnect> {
        let greeting = format!(
            "* OK [CAPABILITY {}] {}",
            self.capability, self.settings.login_greeting
        );
        self.line(greeting.as_bytes())?;
        self.flush()?;
        loop {
            if let Outcome::LoggedIn(done) = self.command()? {
                return Ok(done);
            }
            if !self.reader.has_buffered_line() {
                self.flush()?;
            }
        }
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
                return Err(Disconnect::Logout);
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

    /// STARTTLS: the OK goes out in plaintext, whatever the client sent after the command is
    /// thrown away (it was sent before TLS, so it must not pass for TLS input), and the
    /// session continues over TLS with the capability list recomputed.
    fn starttls(&mut self, tag: &str) -> Step {
        if self.stream.is_tls() {
            return self.tagged(tag, "BAD", "TLS is already active.");
        }
        if self.settings.ssl == SslMode::No || self.services.tls.is_none() {
            return self.tagged(tag, "BAD", "TLS support isn't enabled.");
        }
        self.tagged(tag, "OK", "Begin TLS negotiation now.")?;
        self.flush()?;
        let discarded = self.reader.take_buffered();
        if !discarded.is_empty() {
            log::debug!(
                "STARTTLS: discarded {} bytes sent after the command",
                discarded.len()
            );
        }
        let ClientStream::Plain(tcp) = &self.stream else {
            return Err(Disconnect::TlsInitFailed);
        };
        let tcp = match tcp.try_clone() {
            Ok(t) => t,
            Err(e) => return Err(Disconnect::ReadFailed(crate::errtext::os_error_text(&e))),
        };
        match start_tls(tcp, &self.conn, self.services.tls, self.deadline) {
            Ok(stream) => {
                self.stream = stream.clone();
                self.reader = LineReader::new(
                    DeadlineStream::new(stream.clone(), self.deadline),
                    self.settings.max_line_length + LOGIN_INPUT_BUFFER_SIZE,
                );
                self.writer = ResponseWriter::new(
                    DeadlineStream::new(stream, self.deadline),
                    OUTPUT_FLUSH_AT,
                );
                self.conn.tls = true;
                self.secured = true;
                self.capability = self.compute_capability();
                Ok(())
            }
            Err(Disconnect::TlsInitFailed) => {
                self.bye("[UNAVAILABLE] TLS initialization failed.");
                Err(Disconnect::TlsInitFailed)
            }
            Err(reason) => Err(reason),
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
                    if let Err(e) = self.reader.read_exact_into(size, &mut data) {
                        return Err(self.read_failed(e));
                    }
                    self.parser.provide_literal(data);
                    let (line, line_end) = self.read_line()?;
                    end = line_end;
                    progress = self.parser.continue_line(&line, end);
                }
                Err(ParseError::BufferFull) => return Err(self.buffer_full()),
                Err(e) if e.is_fatal() => {
                    self.bye(e.message());
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
            if self.trusted {
                self.take_proxy_fields(&params);
            }
            if matches!(args.first(), Some(Arg::List(_))) {
                if let Some(text) = id_log_text(&params, &self.settings.imap_id_log) {
                    self.log(&format!("ID sent: {text}"));
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
                        self.conn.remote.set_ip(ip);
                    }
                }
                "x-originating-port" => {
                    if let Some(port) = parse_port(value) {
                        self.conn.remote.set_port(port);
                    }
                }
                "x-connected-ip" => {
                    if let Some(ip) = parse_ip(value) {
                        self.conn.local.set_ip(ip);
                    }
                }
                "x-connected-port" => {
                    if let Some(port) = parse_port(value) {
                        self.conn.local.set_port(port);
                    }
                }
                "x-session-id" | "x-session-ext-id" if value.len() <= MAX_SESSION_ID_LEN => {
                    self.conn.session_id = value.to_string();
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
            self.bye("Too many invalid IMAP commands.");
            return Err(Disconnect::TooManyInvalidCommands);
        }
        self.tagged(tag, "BAD", "Error in IMAP command received by server.")
    }

    fn buffer_full(&mut self) -> Disconnect {
        self.bye(ParseError::BufferFull.message());
        Disconnect::InputBufferFull
    }

    pub(super) fn read_line(&mut self) -> Result<(Vec<u8>, LineEnd), Disconnect> {
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

    pub(super) fn line(&mut self, line: &[u8]) -> Step {
        let size = self.writer.pending() + line.len() + 2;
        let result = self.writer.write_line(line);
        result.map_err(|e| write_failed(size, &e))
    }

    pub(super) fn tagged(&mut self, tag: &str, status: &str, text: &str) -> Step {
        self.line(format!("{tag} {status} {text}").as_bytes())
    }

    pub(super) fn flush(&mut self) -> Step {
        let size = self.writer.pending();
        let result = self.writer.flush();
        result.map_err(|e| write_failed(size, &e))
    }

    /// Sends `* BYE <text>` with whatever else is pending, as a last word: without waiting
    /// for a client that does not read (Dovecot's output is non-blocking).
    pub(super) fn bye(&mut self, text: &str) {
        self.writer.get_mut().set_deadline(None);
        let _ = self.stream.with_tcp(|s| s.set_nonblocking(true));
        // The connection is being closed: a failure to deliver the last word changes nothing.
        let _ = self.line(format!("* BYE {text}").as_bytes());
        let _ = self.writer.flush();
    }

    /// What the session hands over after a login: the reader's unprocessed input goes with
    /// it, and the answers to commands pipelined before the login are sent first. (The
    /// reader and writer hold the stream's other handles; they go with the session.)
    pub(super) fn logged_in(
        &mut self,
        tag: &str,
        user: String,
        mechanism: String,
        auth: AuthClient,
        auth_id: u32,
    ) -> Result<Box<LoggedIn>, Disconnect> {
        self.flush()?;
        let input = self.reader.take_buffered();
        Ok(Box::new(LoggedIn {
            stream: self.stream.clone(),
            conn: self.conn.clone(),
            secured: self.secured,
            user,
            mechanism,
            auth,
            auth_id,
            tag: tag.to_string(),
            untagged_capability: self.capability_requested,
            input,
        }))
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

/// A port as Dovecot's `net_str2port` reads it: 1 to 65535.
fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p != 0)
}
