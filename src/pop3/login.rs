//! The POP3 session before login, answering as Dovecot 2.3's pop3-login does: the greeting
//! (with an APOP challenge when APOP is offered), CAPA, STLS, QUIT, XCLIENT, and USER/PASS,
//! APOP and AUTH ([`super::login_auth`]); `-ERR Unknown command.` for anything else, the
//! third one in a row ending the session; the login timeout and input limits.
//!
//! The session knows nothing about processes: a successful login ends it with
//! [`LoginEnd::LoggedIn`], and the caller hands the connection to a mail process.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::auth::client::AuthClient;
use crate::login::mechanisms::advertised;
use crate::login::tls::{start_tls, TlsFailure};
use crate::login::{AuthAttempts, LoggedIn, LoginServices, LoginSettings, SaslMech};
use crate::net::conn::parse_ip;
use crate::net::{ClientStream, ConnInfo, DeadlineStream, LineError, LineReader, ResponseWriter};

/// Dovecot's login input buffer (`LOGIN_MAX_INBUF_SIZE`): a command line and its CRLF must
/// fit.
pub const LOGIN_INPUT_BUFFER_SIZE: usize = 1026;
/// The most a SASL response (initial or continued) may hold (`LOGIN_MAX_AUTH_BUF_SIZE`).
pub const MAX_AUTH_RESPONSE: usize = 8192;
/// pop3-login's deadline for logging in, counted from the connection.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Command names are read up to this many characters (`CLIENT_MAX_CMD_LEN`).
const MAX_COMMAND_NAME: usize = 8;
/// The third unknown command in a row ends the session (`CLIENT_MAX_BAD_COMMANDS`).
const MAX_BAD_COMMANDS: u32 = 3;
/// Answers are written out at the latest when this much is pending.
const OUTPUT_FLUSH_AT: usize = 4096;
/// Dovecot's limit on a session id from a trusted proxy (`LOGIN_MAX_SESSION_ID_LEN`).
const MAX_SESSION_ID_LEN: usize = 64;
/// The capabilities every CAPA lists first (`POP3_CAPABILITY_REPLY`).
pub const CAPABILITY_LINES: &[&str] = &[
    "CAPA",
    "TOP",
    "UIDL",
    "RESP-CODES",
    "PIPELINING",
    "AUTH-RESP-CODE",
];

/// Why a login session ended. `Display` is the reason in Dovecot's `Disconnected: <reason>
/// (no auth attempts in N secs)` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    ClientClosed,
    ReadFailed(String),
    WriteFailed(String),
    /// The client sent QUIT.
    Quit,
    TooManyBadCommands,
    InputBufferFull,
    Inactivity,
    AuthResponseTooLarge,
    TlsInitFailed,
    TlsHandshake(String),
    AuthServiceFailed,
    /// The auth connection changed since the APOP challenge was made.
    ApopReconnected,
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::ClientClosed => f.write_str("Connection closed"),
            Disconnect::ReadFailed(e) | Disconnect::WriteFailed(e) => {
                write!(f, "Connection closed: {e}")
            }
            Disconnect::Quit => f.write_str("Aborted login by logging out"),
            Disconnect::TooManyBadCommands => f.write_str("Disconnected: Too many bad commands"),
            Disconnect::InputBufferFull => f.write_str("Input buffer full"),
            Disconnect::Inactivity => f.write_str("Inactivity"),
            Disconnect::AuthResponseTooLarge => f.write_str("Authentication response too large"),
            Disconnect::TlsInitFailed => f.write_str("TLS initialization failed."),
            Disconnect::TlsHandshake(e) => write!(f, "TLS handshaking: {e}"),
            Disconnect::AuthServiceFailed => f.write_str("Auth process broken"),
            Disconnect::ApopReconnected => f.write_str("Reconnected to auth server, can't do APOP"),
        }
    }
}

/// How a login session ended.
pub enum LoginEnd {
    Disconnected(Disconnect),
    LoggedIn(Box<LoggedIn>),
}

/// Dovecot's last word to a client whose login could not be handed to a mail process.
pub fn send_internal_failure(stream: &mut ClientStream) {
    let text =
        b"-ERR [SYS/TEMP] Internal login failure. Refer to server log for more information.\r\n";
    // Without waiting for a client that does not read: the connection is closed next.
    let _ = stream.with_tcp(|s| s.set_nonblocking(true));
    let _ = io::Write::write_all(stream, text);
}

/// Serves one client connection until it logs in, quits, misbehaves, times out or goes
/// away; a disconnect is logged with Dovecot's line. On an implicit-TLS listener
/// (`conn.tls`) the handshake comes first.
pub fn serve_login(
    stream: TcpStream,
    settings: &LoginSettings,
    conn: &ConnInfo,
    services: LoginServices<'_>,
) -> LoginEnd {
    let deadline = conn.accepted_at.checked_add(LOGIN_TIMEOUT);
    let stream = if conn.tls {
        match start_tls(stream, conn, services.tls, deadline, "pop3") {
            Ok(s) => s,
            Err(failure) => {
                let reason = tls_disconnect(failure);
                let info = conn.login_log_elements("", None, None, true);
                log::info!("Disconnected: {reason} (no auth attempts in 0 secs): {info}");
                return LoginEnd::Disconnected(reason);
            }
        }
    } else {
        ClientStream::plain(stream)
    };
    let mut session = Session::new(stream, settings, conn.clone(), services, deadline);
    match session.run() {
        Ok(logged_in) => LoginEnd::LoggedIn(logged_in),
        Err(reason) => {
            let cert_required = settings.auth_ssl_require_client_cert && !session.stream.is_tls();
            let suffix = session
                .attempts
                .disconnect_suffix(session.conn.accepted_at, cert_required);
            session.log(&format!("Disconnected: {reason} {suffix}"));
            LoginEnd::Disconnected(reason)
        }
    }
}

fn tls_disconnect(failure: TlsFailure) -> Disconnect {
    match failure {
        TlsFailure::InitFailed => Disconnect::TlsInitFailed,
        TlsFailure::Timeout => Disconnect::Inactivity,
        TlsFailure::Handshake(e) => Disconnect::TlsHandshake(e),
    }
}

/// Ends the session: `Err` carries the reason.
pub(super) type Step = Result<(), Disconnect>;

/// What one command did to the session.
pub(super) enum Outcome {
    Continue,
    LoggedIn(Box<LoggedIn>),
}

/// The APOP challenge of this session and the auth connection it was made for.
pub(super) struct ApopChallenge {
    pub text: String,
    pub server_pid: u32,
    pub connect_uid: u32,
}

pub(super) struct Session<'a> {
    pub(super) stream: ClientStream,
    pub(super) settings: &'a LoginSettings,
    pub(super) services: LoginServices<'a>,
    pub(super) conn: ConnInfo,
    pub(super) deadline: Option<Instant>,
    pub(super) trusted: bool,
    pub(super) secured: bool,
    reader: LineReader<DeadlineStream<ClientStream>>,
    writer: ResponseWriter<DeadlineStream<ClientStream>>,
    bad_commands: u32,
    /// The auth service connection, made when the session starts.
    pub(super) auth: Option<AuthClient>,
    pub(super) attempts: AuthAttempts,
    /// The user name of the last USER command.
    pub(super) last_user: Option<Vec<u8>>,
    pub(super) apop: Option<ApopChallenge>,
}

impl<'a> Session<'a> {
    fn new(
        stream: ClientStream,
        settings: &'a LoginSettings,
        conn: ConnInfo,
        services: LoginServices<'a>,
        deadline: Option<Instant>,
    ) -> Self {
        let trusted = settings.trusts(&conn);
        let secured = conn.is_secured(trusted);
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
        Session {
            reader: Self::reader(&stream, deadline),
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
            bad_commands: 0,
            auth,
            attempts: AuthAttempts::default(),
            last_user: None,
            apop: None,
        }
    }

    fn reader(
        stream: &ClientStream,
        deadline: Option<Instant>,
    ) -> LineReader<DeadlineStream<ClientStream>> {
        // Long enough for AUTH with the largest initial response Dovecot takes.
        LineReader::new(
            DeadlineStream::new(stream.clone(), deadline),
            MAX_AUTH_RESPONSE + 64,
        )
    }

    /// The mechanisms the auth service offers, in its order.
    pub(super) fn mechanisms(&self) -> Vec<SaslMech> {
        SaslMech::offered_by(self.auth.as_ref())
    }

    /// The mechanisms this client may see (CAPA's SASL line, AUTH without arguments).
    pub(super) fn advertised_mechanisms(&self) -> Vec<String> {
        let mechanisms = self.mechanisms();
        advertised(
            &mechanisms,
            self.secured,
            self.settings.ssl,
            self.settings.disable_plaintext_auth,
        )
        .map(|m| m.name.clone())
        .collect()
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

    fn run(&mut self) -> Result<Box<LoggedIn>, Disconnect> {
        let mut greeting = String::from("+OK ");
        if self.trusted {
            // Dovecot's extension: a proxy learns it may send XCLIENT without asking CAPA.
            greeting.push_str("[XCLIENT] ");
        }
        greeting.push_str(&self.settings.login_greeting);
        self.apop = self.apop_challenge();
        if let Some(apop) = &self.apop {
            greeting.push(' ');
            greeting.push_str(&apop.text);
        }
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

    /// The APOP challenge, when the auth service offers APOP:
    /// `<auth-pid.connect-uid.time.random@host>` in hex, the random part base64.
    fn apop_challenge(&self) -> Option<ApopChallenge> {
        let auth = self.auth.as_ref()?;
        if !auth
            .mechanisms
            .iter()
            .any(|m| m.name.eq_ignore_ascii_case("APOP"))
        {
            return None;
        }
        let random = match crate::auth::random::bytes::<16>() {
            Ok(r) => r,
            Err(e) => {
                log::error!("{e}");
                return None;
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let host = crate::hostname::hostname().unwrap_or("localhost");
        Some(ApopChallenge {
            text: format!(
                "<{:x}.{:x}.{now:x}.{}@{host}>",
                auth.server_pid,
                auth.connect_uid,
                crate::auth::base64::encode(&random)
            ),
            server_pid: auth.server_pid,
            connect_uid: auth.connect_uid,
        })
    }

    /// Reads and answers one command.
    fn command(&mut self) -> Result<Outcome, Disconnect> {
        let line = self.read_line()?;
        let (name, args) = split_command(&line);
        if name == "AUTH" {
            if args.len() > MAX_AUTH_RESPONSE + MAX_COMMAND_NAME {
                return Err(Disconnect::AuthResponseTooLarge);
            }
            return self.auth_command(args);
        }
        if line.len() + 2 > LOGIN_INPUT_BUFFER_SIZE {
            return Err(self.buffer_full());
        }
        let args = args.to_vec();
        let known = match name.as_str() {
            "CAPA" => self.capa().map(|()| Outcome::Continue),
            "USER" => self.user(&args).map(|()| Outcome::Continue),
            "PASS" => self.pass(&args),
            "APOP" => self.apop(&args),
            "STLS" => self.stls().map(|()| Outcome::Continue),
            "QUIT" => {
                self.reply(true, "Logging out")?;
                self.flush()?;
                return Err(Disconnect::Quit);
            }
            "XCLIENT" => self.xclient(&args).map(|()| Outcome::Continue),
            // Zimbra's patched nginx sends the client's address alone.
            "XOIP" => {
                let mut with_key = b"ADDR=".to_vec();
                with_key.extend_from_slice(&args);
                self.xclient(&with_key).map(|()| Outcome::Continue)
            }
            _ => {
                self.reply(false, "Unknown command.")?;
                self.bad_commands += 1;
                if self.bad_commands >= MAX_BAD_COMMANDS {
                    self.reply(false, "Too many invalid bad commands.")?;
                    self.flush()?;
                    return Err(Disconnect::TooManyBadCommands);
                }
                return Ok(Outcome::Continue);
            }
        };
        self.bad_commands = 0;
        known
    }

    fn capa(&mut self) -> Step {
        let mut text = String::from("+OK\r\n");
        for cap in CAPABILITY_LINES {
            text.push_str(cap);
            text.push_str("\r\n");
        }
        if self.tls_enabled() && !self.stream.is_tls() {
            text.push_str("STLS\r\n");
        }
        if !self.settings.disable_plaintext_auth || self.secured {
            text.push_str("USER\r\n");
        }
        text.push_str("SASL");
        for mech in self.advertised_mechanisms() {
            text.push(' ');
            text.push_str(&mech);
        }
        text.push_str("\r\n.");
        self.line(text.as_bytes())
    }

    fn tls_enabled(&self) -> bool {
        self.settings.ssl != crate::net::SslMode::No && self.services.tls.is_some()
    }

    /// STLS: the OK goes out in plaintext, whatever the client sent after the command is
    /// thrown away (it was sent before TLS, so it must not pass for TLS input), and the
    /// session continues over TLS.
    fn stls(&mut self) -> Step {
        if self.stream.is_tls() {
            return self.reply(false, "TLS is already active.");
        }
        if !self.tls_enabled() {
            return self.reply(false, "TLS support isn't enabled.");
        }
        self.reply(true, "Begin TLS negotiation now.")?;
        self.flush()?;
        let discarded = self.reader.take_buffered();
        if !discarded.is_empty() {
            log::debug!(
                "STLS: discarded {} bytes sent after the command",
                discarded.len()
            );
        }
        let ClientStream::Plain(tcp) = &self.stream else {
            return Err(Disconnect::TlsInitFailed);
        };
        let tcp = tcp
            .try_clone()
            .map_err(|e| Disconnect::ReadFailed(crate::errtext::os_error_text(&e)))?;
        match start_tls(tcp, &self.conn, self.services.tls, self.deadline, "pop3") {
            Ok(stream) => {
                self.stream = stream.clone();
                self.reader = Self::reader(&stream, self.deadline);
                self.writer = ResponseWriter::new(
                    DeadlineStream::new(stream, self.deadline),
                    OUTPUT_FLUSH_AT,
                );
                self.conn.tls = true;
                self.secured = true;
                Ok(())
            }
            Err(failure) => Err(tls_disconnect(failure)),
        }
    }

    /// XCLIENT from a trusted proxy: the real client's address, port and session id.
    fn xclient(&mut self, args: &[u8]) -> Step {
        if !self.trusted {
            return self.reply(true, "You are not from trusted IP - ignoring");
        }
        let args = String::from_utf8_lossy(args).into_owned();
        let mut ok = true;
        let mut conn = self.conn.clone();
        for word in args.split(' ').filter(|w| !w.is_empty()) {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key.to_ascii_uppercase().as_str() {
                "ADDR" => match parse_ip(value) {
                    Some(ip) => conn.remote.set_ip(ip),
                    None => ok = false,
                },
                "PORT" => match value.parse::<u16>().ok().filter(|p| *p != 0) {
                    Some(port) => conn.remote.set_port(port),
                    None => ok = false,
                },
                "SESSION" if value.len() <= MAX_SESSION_ID_LEN => {
                    conn.session_id = value.to_string();
                }
                "TTL" => ok &= value.parse::<u32>().is_ok(),
                "FORWARD" => ok &= crate::auth::base64::decode(value).is_ok(),
                _ => {}
            }
        }
        if !ok {
            return self.reply(false, "Invalid parameters");
        }
        self.conn = conn;
        self.reply(true, "Updated")
    }

    fn buffer_full(&mut self) -> Disconnect {
        self.last_word(false, "Input buffer full, aborting");
        Disconnect::InputBufferFull
    }

    pub(super) fn read_line(&mut self) -> Result<Vec<u8>, Disconnect> {
        match self.reader.read_line() {
            Ok(Some(line)) => Ok(line.to_vec()),
            Ok(None) => Err(Disconnect::ClientClosed),
            Err(LineError::TooLong { .. }) => Err(self.buffer_full()),
            Err(LineError::Timeout) => {
                self.last_word(false, "Disconnected for inactivity.");
                Err(Disconnect::Inactivity)
            }
            Err(LineError::Eof { .. }) => Err(Disconnect::ClientClosed),
            Err(io @ LineError::Io { .. }) => Err(Disconnect::ReadFailed(io.to_string())),
        }
    }

    pub(super) fn line(&mut self, line: &[u8]) -> Step {
        let size = self.writer.pending() + line.len() + 2;
        let result = self.writer.write_line(line);
        result.map_err(|e| write_failed(size, &e))
    }

    /// `+OK text` or `-ERR text`.
    pub(super) fn reply(&mut self, ok: bool, text: &str) -> Step {
        let status = if ok { "+OK" } else { "-ERR" };
        self.line(format!("{status} {text}").as_bytes())
    }

    pub(super) fn flush(&mut self) -> Step {
        let size = self.writer.pending();
        let result = self.writer.flush();
        result.map_err(|e| write_failed(size, &e))
    }

    /// Sends a last reply with whatever else is pending, without waiting for a client that
    /// does not read.
    fn last_word(&mut self, ok: bool, text: &str) {
        self.writer.get_mut().set_deadline(None);
        let _ = self.stream.with_tcp(|s| s.set_nonblocking(true));
        // The connection is being closed: a failure to deliver the last word changes nothing.
        let _ = self.reply(ok, text);
        let _ = self.writer.flush();
    }

    /// What the session hands over after a login: the reader's unprocessed input goes with
    /// it, and what was answered before (USER's `+OK` in a pipeline) is sent first.
    pub(super) fn logged_in(
        &mut self,
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
            prefix: Vec::new(),
            input,
        }))
    }
}

/// Splits a command line as pop3-login reads it: the name is up to 8 characters, upper
/// case, ending at a space, NUL or the end (a longer name is cut and its tail starts the
/// arguments); one space after the name is skipped.
pub(super) fn split_command(line: &[u8]) -> (String, &[u8]) {
    let mut name = String::new();
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if c == b'\r' {
            i += 1;
            continue;
        }
        if c == b' ' || c == 0 || name.len() >= MAX_COMMAND_NAME {
            break;
        }
        name.push(char::from(c.to_ascii_uppercase()));
        i += 1;
    }
    let rest = &line[i.min(line.len())..];
    let args = if rest.first() == Some(&b' ') {
        &rest[1..]
    } else {
        rest
    };
    (name, args)
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

    #[test]
    fn command_names() {
        assert_eq!(split_command(b"user alice"), ("USER".into(), &b"alice"[..]));
        assert_eq!(split_command(b"CAPA"), ("CAPA".into(), &b""[..]));
        assert_eq!(
            split_command(b"CAPABILITY x"),
            ("CAPABILI".into(), &b"TY x"[..])
        );
        assert_eq!(split_command(b"PASS  two"), ("PASS".into(), &b" two"[..]));
        assert_eq!(split_command(b""), (String::new(), &b""[..]));
        assert_eq!(split_command(b"A\0B"), ("A".into(), &b"\0B"[..]));
    }
}
