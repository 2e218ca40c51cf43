//! The client connection of a login session, whatever the protocol: the stream with its line
//! reader and response writer under the login deadline, whether it counts as secured, the
//! auth service connection and the authentication history. It starts TLS (an implicit-TLS
//! listener, STARTTLS, STLS), reads lines, writes answers and last words, and hands the
//! client over after a login; the protocols decide what to say.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::TcpStream;
use std::time::Instant;

use crate::auth::client::{AuthClient, AuthParams};
use crate::auth::request::Secured;
use crate::net::{
    ClientStream, ConnInfo, DeadlineStream, LineError, LineReader, ResponseWriter, SslMode,
};

use super::proxy::Proxied;
use super::tls::{start_tls, TlsFailure};
use super::vars::{ClientLogLine, LoginLogFacts};
use super::{
    AuthAttempts, FailureKind, LoggedIn, LoginEnd, LoginServices, LoginSettings, ProxiedClient,
    SaslMech,
};

/// Answers are written out at the latest when this much is pending (`LOGIN_MAX_OUTBUF_SIZE`).
const OUTPUT_FLUSH_AT: usize = 4096;

/// Why a login session ended, for the reasons every protocol has; each protocol's
/// `Disconnect` adds its own. `Display` is the reason in Dovecot's `Disconnected: <reason>
/// (...)` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed the connection, between commands or in the middle of one.
    ClientClosed,
    /// Reading failed (`read(size=N) failed: <error>`).
    ReadFailed(String),
    /// Writing failed (`write(size=N) failed: <error>`).
    WriteFailed(String),
    /// The login timeout passed.
    Inactivity,
    /// TLS could not be started (no usable certificate): Dovecot's `TLS initialization failed.`
    TlsInitFailed,
    /// The TLS handshake failed (`TLS handshaking: SSL_accept() failed: ...`).
    TlsHandshake(String),
    /// The client logged out (LOGOUT, QUIT) before logging in.
    LoggedOut,
    /// A command did not fit in the login input buffer.
    InputBufferFull,
    /// A SASL response longer than Dovecot's 8 KiB.
    AuthResponseTooLarge,
    /// The auth service went away in the middle of an authentication.
    AuthServiceFailed,
    /// The user has `mail_max_userip_connections` (this number) sessions from the client's
    /// address already.
    UserIpLimit(u32),
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionEnd::ClientClosed => f.write_str("Connection closed"),
            SessionEnd::ReadFailed(e) | SessionEnd::WriteFailed(e) => {
                write!(f, "Connection closed: {e}")
            }
            SessionEnd::Inactivity => f.write_str("Inactivity"),
            SessionEnd::TlsInitFailed => f.write_str("TLS initialization failed."),
            SessionEnd::TlsHandshake(e) => write!(f, "TLS handshaking: {e}"),
            SessionEnd::LoggedOut => f.write_str("Aborted login by logging out"),
            SessionEnd::InputBufferFull => f.write_str("Input buffer full"),
            SessionEnd::AuthResponseTooLarge => f.write_str("Authentication response too large"),
            SessionEnd::AuthServiceFailed => f.write_str("Auth process broken"),
            SessionEnd::UserIpLimit(limit) => write!(
                f,
                "Maximum number of connections from user+IP exceeded \
                 (mail_max_userip_connections={limit})"
            ),
        }
    }
}

impl From<TlsFailure> for SessionEnd {
    fn from(failure: TlsFailure) -> Self {
        match failure {
            TlsFailure::InitFailed(_) => SessionEnd::TlsInitFailed,
            TlsFailure::Timeout => SessionEnd::Inactivity,
            TlsFailure::Handshake(e) => SessionEnd::TlsHandshake(e),
        }
    }
}

/// The settings that decide what a client may do before TLS, and what is logged about it.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    pub ssl: SslMode,
    pub disable_plaintext_auth: bool,
    /// `auth_verbose`: log why each failed login failed.
    pub auth_verbose: bool,
    /// `auth_ssl_require_client_cert`: for the disconnect reason when a client never
    /// started TLS.
    pub require_client_cert: bool,
    /// `mail_max_userip_connections`: sessions a user may have from one address; 0: any.
    pub userip_limit: u32,
    /// `login_proxy_*`.
    pub proxy: super::settings::ProxyPolicy,
}

/// What differs between the protocols in how a connection is run.
#[derive(Debug, Clone, Copy)]
pub struct Wire {
    /// The service name (`imap`, `pop3`): for TLS settings filters and the auth service.
    pub service: &'static str,
    /// The longest line the reader takes, CRLF included.
    pub max_line: usize,
    /// What a last word starts with (`* BYE `, `-ERR `).
    pub last_word_prefix: &'static str,
}

/// A line the client sent.
#[derive(Debug)]
pub enum InputLine {
    Complete(Vec<u8>),
    /// Longer than [`Wire::max_line`]: its head only; the rest was not read.
    Truncated(Vec<u8>),
}

/// A login session's client connection (see the module doc).
pub struct LoginConnection<'a> {
    pub stream: ClientStream,
    pub conn: ConnInfo,
    pub services: LoginServices<'a>,
    pub policy: AuthPolicy,
    pub deadline: Option<Instant>,
    /// The client comes from `login_trusted_networks`.
    pub trusted: bool,
    /// TLS, a trusted network, or the same address on both ends (Dovecot's rule).
    pub secured: bool,
    pub reader: LineReader<DeadlineStream<ClientStream>>,
    writer: ResponseWriter<DeadlineStream<ClientStream>>,
    wire: Wire,
    /// The auth service connection, made when the session starts; `None` when there is no
    /// auth socket or it could not be reached.
    pub auth: Option<AuthClient>,
    /// What the disconnect line says about authentication.
    pub attempts: AuthAttempts,
}

impl<'a> LoginConnection<'a> {
    /// The connection `conn` over `stream` (TLS already started on an implicit-TLS
    /// listener) with its `settings`, connected to the auth service when there is one.
    pub fn new(
        stream: ClientStream,
        conn: ConnInfo,
        settings: &LoginSettings,
        services: LoginServices<'a>,
        wire: Wire,
        deadline: Option<Instant>,
    ) -> Self {
        let trusted = settings.trusts(&conn);
        let secured = conn.is_secured(trusted);
        let auth = services.auth_socket.and_then(|path| {
            match AuthClient::connect(path, std::process::id()) {
                Ok(client) => Some(client),
                Err(e) => {
                    log::error!("{}", crate::errtext::connect_error_text(path, &e));
                    None
                }
            }
        });
        LoginConnection {
            reader: LineReader::new(DeadlineStream::new(stream.clone(), deadline), wire.max_line),
            writer: ResponseWriter::new(
                DeadlineStream::new(stream.clone(), deadline),
                OUTPUT_FLUSH_AT,
            ),
            stream,
            conn,
            services,
            policy: settings.policy(),
            deadline,
            trusted,
            secured,
            wire,
            auth,
            attempts: AuthAttempts::default(),
        }
    }

    /// The mechanisms the auth service offers, in its order.
    pub fn mechanisms(&self) -> Vec<SaslMech> {
        SaslMech::offered_by(self.auth.as_ref())
    }

    /// Whether STARTTLS/STLS can be offered: TLS is configured and prepared.
    pub fn tls_enabled(&self) -> bool {
        self.policy.ssl != SslMode::No && self.services.tls.is_some()
    }

    /// Dovecot's `client_check_plaintext_auth`: whether a password may be sent in the clear
    /// on this connection.
    pub fn plaintext_allowed(&self) -> bool {
        self.secured
            || (!self.policy.disable_plaintext_auth && self.policy.ssl != SslMode::Required)
    }

    /// Counts an attempt refused because a password came in the clear where that is not
    /// allowed; `user` names the user when nothing else did.
    pub fn refuse_plaintext(&mut self, user: Option<&[u8]>) {
        self.verbose("Login failed: Plaintext authentication disabled");
        self.attempts.refused(FailureKind::PlaintextDisallowed);
        if self.attempts.user.is_empty() {
            if let Some(user) = user {
                self.attempts.user = String::from_utf8_lossy(user).into_owned();
            }
        }
    }

    /// Whether `user` has `mail_max_userip_connections` sessions from this client's address
    /// already (Dovecot's `anvil_check_too_many_connections`). When anvil cannot be asked,
    /// the login goes ahead, as in Dovecot.
    pub fn userip_limit_reached(&self, user: &str) -> bool {
        let (limit, Some(anvil)) = (self.policy.userip_limit, self.services.anvil) else {
            return false;
        };
        if limit == 0 {
            return false;
        }
        let ident = super::anvil::userip_ident(self.wire.service, self.conn.remote.ip(), user);
        let count = anvil
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lookup(&ident);
        match count {
            Ok(count) => count >= limit,
            Err(e) => {
                log::error!("anvil lookup failed: {e}");
                false
            }
        }
    }

    /// Logs `message` with the connection's login elements (`user=<...>, rip=...`).
    pub fn log(&self, message: &str) {
        log::info!("{}", self.log_line(message));
    }

    /// `message` as `login_log_format` words it for this connection.
    pub fn log_line(&self, message: &str) -> String {
        self.log_wording().line(message)
    }

    /// How lines about this client are worded, as it stands now.
    pub fn log_wording(&self) -> ClientLogLine {
        let tls_security = self.stream.tls_description();
        let facts = LoginLogFacts {
            user: &self.attempts.user,
            mechanism: self.attempts.mechanism.as_deref(),
            mail_pid: None,
            secured: self.secured,
            tls_security: tls_security.as_deref(),
        };
        self.services
            .log_format
            .client(&self.conn, self.wire.service, &facts)
    }

    /// Logs `message` when `auth_verbose` asks for the reasons of failed logins.
    pub fn verbose(&self, message: &str) {
        if self.policy.auth_verbose {
            self.log(message);
        }
    }

    /// Dovecot's parenthesized explanation after `Disconnected: <reason>`.
    pub fn disconnect_suffix(&self) -> String {
        let cert_required = self.policy.require_client_cert && !self.stream.is_tls();
        self.attempts
            .disconnect_suffix(self.conn.accepted_at, cert_required)
    }

    /// The next line from the client, without its line end.
    pub fn read_line(&mut self) -> Result<InputLine, SessionEnd> {
        match self.reader.read_line() {
            Ok(Some(line)) => Ok(InputLine::Complete(line.to_vec())),
            Ok(None) => Err(SessionEnd::ClientClosed),
            Err(LineError::TooLong { head, .. }) => Ok(InputLine::Truncated(head)),
            Err(e) => Err(self.read_failed(e)),
        }
    }

    /// Why a read ended the session; a timeout gets Dovecot's last word first.
    pub fn read_failed(&mut self, e: LineError) -> SessionEnd {
        match e {
            LineError::Timeout => {
                self.last_word("Disconnected for inactivity.");
                SessionEnd::Inactivity
            }
            LineError::Eof { .. } | LineError::TooLong { .. } => SessionEnd::ClientClosed,
            io @ LineError::Io { .. } => SessionEnd::ReadFailed(io.to_string()),
        }
    }

    /// Queues one answer line (CRLF added); written out when enough is pending.
    pub fn line(&mut self, line: &[u8]) -> Result<(), SessionEnd> {
        let size = self.writer.pending() + line.len() + 2;
        let result = self.writer.write_line(line);
        result.map_err(|e| write_failed(size, &e))
    }

    /// Queues `data` as it is (line ends included).
    pub fn raw(&mut self, data: &[u8]) -> Result<(), SessionEnd> {
        let size = self.writer.pending() + data.len();
        let result = self.writer.write(data);
        result.map_err(|e| write_failed(size, &e))
    }

    pub fn flush(&mut self) -> Result<(), SessionEnd> {
        let size = self.writer.pending();
        let result = self.writer.flush();
        result.map_err(|e| write_failed(size, &e))
    }

    /// Sends a SASL challenge, `+ <base64>`, and flushes.
    pub fn send_challenge(&mut self, data: &[u8]) -> Result<(), SessionEnd> {
        let challenge = format!("+ {}", crate::auth::base64::encode(data));
        self.line(challenge.as_bytes())?;
        self.flush()
    }

    /// Sends the protocol's last word (`* BYE text`, `-ERR text`) with whatever else is
    /// pending, without waiting for a client that does not read (Dovecot's output is
    /// non-blocking): the connection is being closed.
    pub fn last_word(&mut self, text: &str) {
        self.writer.get_mut().set_deadline(None);
        let _ = self.stream.with_tcp(|s| s.set_nonblocking(true));
        // A failure to deliver the last word changes nothing.
        let _ = self.line(format!("{}{text}", self.wire.last_word_prefix).as_bytes());
        let _ = self.writer.flush();
    }

    /// STARTTLS/STLS after its OK went out: whatever the client sent after `command` is
    /// thrown away (it was sent before TLS, so it must not pass for TLS input), then the
    /// handshake, and the session goes on over TLS, secured.
    pub fn start_tls(&mut self, command: &str) -> Result<(), SessionEnd> {
        let discarded = self.reader.take_buffered();
        if !discarded.is_empty() {
            log::debug!(
                "{command}: discarded {} bytes sent after the command",
                discarded.len()
            );
        }
        let ClientStream::Plain(tcp) = &self.stream else {
            return Err(SessionEnd::TlsInitFailed);
        };
        let tcp = tcp
            .try_clone()
            .map_err(|e| SessionEnd::ReadFailed(crate::errtext::os_error_text(&e)))?;
        let stream = start_tls(
            tcp,
            &self.conn,
            self.services.tls,
            self.deadline,
            self.wire.service,
        )
        .inspect_err(|failure| {
            if let TlsFailure::InitFailed(why) = failure {
                log::error!("{}", self.log_line(why));
            }
        })?;
        self.stream = stream.clone();
        self.reader = LineReader::new(
            DeadlineStream::new(stream.clone(), self.deadline),
            self.wire.max_line,
        );
        self.writer =
            ResponseWriter::new(DeadlineStream::new(stream, self.deadline), OUTPUT_FLUSH_AT);
        self.conn.tls = true;
        self.secured = true;
        Ok(())
    }

    /// What an authentication request tells the auth service about this connection.
    pub fn auth_params(&self) -> AuthParams {
        let (valid_client_cert, cert_username) = match &self.stream {
            ClientStream::Tls(tls) => {
                let tls = tls.borrow();
                (tls.has_valid_client_cert(), tls.cert_username())
            }
            ClientStream::Plain(_) => (false, None),
        };
        AuthParams {
            service: self.wire.service.into(),
            local_ip: Some(self.conn.local.ip()),
            remote_ip: Some(self.conn.remote.ip()),
            local_port: self.conn.local.port(),
            remote_port: self.conn.remote.port(),
            secured: if self.stream.is_tls() {
                Secured::Tls
            } else if self.secured {
                Secured::Yes
            } else {
                Secured::No
            },
            session: Some(self.conn.session_id.clone()),
            valid_client_cert,
            cert_username,
            ..AuthParams::default()
        }
    }

    /// What the session hands over after `user` logged in with `mechanism` (request
    /// `auth_id` on `auth`): the reader's unprocessed input goes with it, and the answers to
    /// commands pipelined before the login are sent first. `prefix` is the protocol's data
    /// for the mail process.
    pub fn logged_in(
        &mut self,
        user: String,
        mechanism: String,
        auth: AuthClient,
        auth_id: u32,
        prefix: Vec<u8>,
    ) -> Result<Box<LoggedIn>, SessionEnd> {
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
            prefix,
            input,
        }))
    }
}

impl LoginConnection<'_> {
    /// What the session leaves after a proxied login: the client, what it sent after its
    /// login command (for the backend), and the backend.
    pub fn proxied(&mut self, proxied: Box<Proxied>) -> Result<LoginEnd, SessionEnd> {
        self.flush()?;
        Ok(LoginEnd::Proxied(Box::new(ProxiedClient {
            proxied,
            stream: self.stream.clone(),
            input: self.reader.take_buffered(),
        })))
    }
}

fn write_failed(size: usize, e: &io::Error) -> SessionEnd {
    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        return SessionEnd::Inactivity;
    }
    SessionEnd::WriteFailed(format!(
        "write(size={size}) failed: {}",
        crate::errtext::os_error_text(e)
    ))
}

/// What one command did to a login session.
pub enum Outcome {
    Continue,
    /// Done: logged in here, or proxied.
    Finished(LoginEnd),
}

/// A login protocol's session over a [`LoginConnection`].
pub trait LoginSession<'a> {
    /// Why a session ends, in the protocol's words.
    type Disconnect: fmt::Display + From<SessionEnd>;
    /// The greeting line, computed when the session starts.
    fn greeting(&mut self) -> String;
    /// Reads and answers one command.
    fn command(&mut self) -> Result<Outcome, Self::Disconnect>;
    fn connection(&mut self) -> &mut LoginConnection<'a>;
}

/// Greets the client and serves commands until it logs in or the session ends. Answers go
/// out when no further command is waiting (pipelined commands are answered together).
fn run<'a, S: LoginSession<'a>>(session: &mut S) -> Result<LoginEnd, S::Disconnect> {
    let greeting = session.greeting();
    let connection = session.connection();
    connection.line(greeting.as_bytes())?;
    connection.flush()?;
    loop {
        if let Outcome::Finished(done) = session.command()? {
            return Ok(done);
        }
        let connection = session.connection();
        if !connection.reader.has_buffered_line() {
            connection.flush()?;
        }
    }
}

/// Serves one client connection of `wire.service` until it logs in, logs out, misbehaves,
/// times out or goes away; a disconnect is logged with Dovecot's line. `conn` describes the
/// accepted connection; on an implicit-TLS listener (`conn.tls`) the handshake comes first.
/// `session` makes the protocol's session over the (maybe TLS) stream.
pub fn serve<'a, S: LoginSession<'a>>(
    stream: TcpStream,
    conn: &ConnInfo,
    services: LoginServices<'a>,
    wire: Wire,
    deadline: Option<Instant>,
    session: impl FnOnce(ClientStream) -> S,
) -> Result<LoginEnd, S::Disconnect> {
    let stream = if conn.tls {
        match start_tls(stream, conn, services.tls, deadline, wire.service) {
            Ok(s) => s,
            Err(failure) => {
                let facts = LoginLogFacts {
                    secured: true,
                    ..LoginLogFacts::default()
                };
                let line = |message: &str| {
                    services
                        .log_format
                        .line(message, conn, wire.service, &facts)
                };
                if let TlsFailure::InitFailed(why) = &failure {
                    log::error!("{}", line(why));
                }
                let reason = S::Disconnect::from(SessionEnd::from(failure));
                log::info!(
                    "{}",
                    line(&format!(
                        "Disconnected: {reason} (no auth attempts in 0 secs)"
                    ))
                );
                return Err(reason);
            }
        }
    } else {
        ClientStream::plain(stream)
    };
    let mut session = session(stream);
    run(&mut session).inspect_err(|reason| {
        let connection = session.connection();
        match connection.disconnect_suffix() {
            suffix if suffix.is_empty() => connection.log(&format!("Disconnected: {reason}")),
            suffix => connection.log(&format!("Disconnected: {reason} {suffix}")),
        }
    })
}

/// The last word to a client whose login could not be handed to a mail process: `line`
/// (with its CRLF), without waiting for a client that does not read.
pub fn send_internal_failure(stream: &mut ClientStream, line: &[u8]) {
    let _ = stream.with_tcp(|s| s.set_nonblocking(true));
    // The connection is closed next: a failure to deliver changes nothing.
    let _ = io::Write::write_all(stream, line);
}
