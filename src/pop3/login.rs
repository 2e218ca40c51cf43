//! The POP3 session before login, answering as Dovecot 2.3's pop3-login does: the greeting
//! (with an APOP challenge when APOP is offered), CAPA, STLS, QUIT, XCLIENT, and USER/PASS,
//! APOP and AUTH ([`super::login_auth`]); `-ERR Unknown command.` for anything else, the
//! third one in a row ending the session; the login timeout and input limits.
//!
//! The session knows nothing about processes: a successful login ends it with
//! [`LoginEnd::LoggedIn`], and the caller hands the connection to a mail process.

use std::fmt;
use std::net::TcpStream;
use std::time::Instant;

use crate::login::connection::{self, InputLine, LoginSession, Outcome, Wire};
use crate::login::mechanisms::advertised;
use crate::login::{
    self, LoggedIn, LoginConnection, LoginServices, LoginSettings, ProxiedClient, SessionEnd,
    LOGIN_INPUT_BUFFER_SIZE, LOGIN_TIMEOUT, MAX_AUTH_RESPONSE, MAX_BAD_COMMANDS,
    MAX_SESSION_ID_LEN,
};
use crate::net::conn::{parse_ip, parse_port};
use crate::net::{ClientStream, ConnInfo};

/// Command names are read up to this many characters (`CLIENT_MAX_CMD_LEN`).
const MAX_COMMAND_NAME: usize = 8;
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
    /// What ends any login session (see [`SessionEnd`]).
    Session(SessionEnd),
    TooManyBadCommands,
    /// The auth connection changed since the APOP challenge was made.
    ApopReconnected,
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Session(end) => end.fmt(f),
            Disconnect::TooManyBadCommands => f.write_str("Disconnected: Too many bad commands"),
            Disconnect::ApopReconnected => f.write_str("Reconnected to auth server, can't do APOP"),
        }
    }
}

impl From<SessionEnd> for Disconnect {
    fn from(end: SessionEnd) -> Self {
        Disconnect::Session(end)
    }
}

/// How a login session ended.
pub enum LoginEnd {
    Disconnected(Disconnect),
    LoggedIn(Box<LoggedIn>),
    /// Logged in at a backend: the relay is left to run.
    Proxied(Box<ProxiedClient>),
}

/// Dovecot's last word to a client whose login could not be handed to a mail process.
pub fn send_internal_failure(stream: &mut ClientStream) {
    connection::send_internal_failure(
        stream,
        b"-ERR [SYS/TEMP] Internal login failure. Refer to server log for more information.\r\n",
    );
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
    let wire = Wire {
        service: "pop3",
        // Long enough for AUTH with the largest initial response Dovecot takes.
        max_line: MAX_AUTH_RESPONSE + 64,
        last_word_prefix: "-ERR ",
    };
    let session = |stream| Session::new(stream, settings, conn.clone(), services, wire, deadline);
    match connection::serve(stream, conn, services, wire, deadline, session) {
        Ok(login::LoginEnd::Mail(logged_in)) => LoginEnd::LoggedIn(logged_in),
        Ok(login::LoginEnd::Proxied(proxied)) => LoginEnd::Proxied(proxied),
        Err(reason) => LoginEnd::Disconnected(reason),
    }
}

/// Ends the session: `Err` carries the reason.
pub(super) type Step = Result<(), Disconnect>;

/// The APOP challenge of this session and the auth connection it was made for.
pub(super) struct ApopChallenge {
    pub text: String,
    pub server_pid: u32,
    pub connect_uid: u32,
}

pub(super) struct Session<'a> {
    pub(super) c: LoginConnection<'a>,
    pub(super) settings: &'a LoginSettings,
    bad_commands: u32,
    /// The user name of the last USER command.
    pub(super) last_user: Option<Vec<u8>>,
    pub(super) apop: Option<ApopChallenge>,
}

impl<'a> LoginSession<'a> for Session<'a> {
    type Disconnect = Disconnect;

    fn greeting(&mut self) -> String {
        let mut greeting = String::from("+OK ");
        if self.c.trusted {
            // Dovecot's extension: a proxy learns it may send XCLIENT without asking CAPA.
            greeting.push_str("[XCLIENT] ");
        }
        greeting.push_str(&self.settings.login_greeting);
        self.apop = self.apop_challenge();
        if let Some(apop) = &self.apop {
            greeting.push(' ');
            greeting.push_str(&apop.text);
        }
        greeting
    }

    /// Reads and answers one command.
    fn command(&mut self) -> Result<Outcome, Disconnect> {
        let line = self.read_line()?;
        let (name, args) = split_command(&line);
        if name == "AUTH" {
            if args.len() > MAX_AUTH_RESPONSE + MAX_COMMAND_NAME {
                return Err(SessionEnd::AuthResponseTooLarge.into());
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
                return Err(SessionEnd::LoggedOut.into());
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

    fn connection(&mut self) -> &mut LoginConnection<'a> {
        &mut self.c
    }
}

impl<'a> Session<'a> {
    fn new(
        stream: ClientStream,
        settings: &'a LoginSettings,
        conn: ConnInfo,
        services: LoginServices<'a>,
        wire: Wire,
        deadline: Option<Instant>,
    ) -> Self {
        Session {
            c: LoginConnection::new(stream, conn, settings, services, wire, deadline),
            settings,
            bad_commands: 0,
            last_user: None,
            apop: None,
        }
    }

    /// The mechanisms this client may see (CAPA's SASL line, AUTH without arguments).
    pub(super) fn advertised_mechanisms(&self) -> Vec<String> {
        let mechanisms = self.c.mechanisms();
        advertised(
            &mechanisms,
            self.c.secured,
            self.settings.ssl,
            self.settings.disable_plaintext_auth,
        )
        .map(|m| m.name.clone())
        .collect()
    }

    /// The APOP challenge, when the auth service offers APOP:
    /// `<auth-pid.connect-uid.time.random@host>` in hex, the random part base64.
    fn apop_challenge(&self) -> Option<ApopChallenge> {
        let auth = self.c.auth.as_ref()?;
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

    fn capa(&mut self) -> Step {
        let mut text = String::from("+OK\r\n");
        for cap in CAPABILITY_LINES {
            text.push_str(cap);
            text.push_str("\r\n");
        }
        if self.c.tls_enabled() && !self.c.stream.is_tls() {
            text.push_str("STLS\r\n");
        }
        if !self.settings.disable_plaintext_auth || self.c.secured {
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

    /// STLS: the OK goes out in plaintext, then TLS (see [`LoginConnection::start_tls`]).
    fn stls(&mut self) -> Step {
        if self.c.stream.is_tls() {
            return self.reply(false, "TLS is already active.");
        }
        if !self.c.tls_enabled() {
            return self.reply(false, "TLS support isn't enabled.");
        }
        self.reply(true, "Begin TLS negotiation now.")?;
        self.flush()?;
        Ok(self.c.start_tls("STLS")?)
    }

    /// XCLIENT from a trusted proxy: the real client's address, port and session id.
    fn xclient(&mut self, args: &[u8]) -> Step {
        if !self.c.trusted {
            return self.reply(true, "You are not from trusted IP - ignoring");
        }
        let args = String::from_utf8_lossy(args).into_owned();
        let mut ok = true;
        let mut conn = self.c.conn.clone();
        for word in args.split(' ').filter(|w| !w.is_empty()) {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key.to_ascii_uppercase().as_str() {
                "ADDR" => match parse_ip(value) {
                    Some(ip) => conn.remote.set_ip(ip),
                    None => ok = false,
                },
                "PORT" => match parse_port(value) {
                    Some(port) => conn.remote.set_port(port),
                    None => ok = false,
                },
                "SESSION" if value.len() <= MAX_SESSION_ID_LEN => {
                    conn.session_id = value.to_string();
                }
                "TTL" => match value.parse::<u32>() {
                    Ok(ttl) => conn.proxy_ttl = ttl,
                    Err(_) => ok = false,
                },
                "FORWARD" => ok &= crate::auth::base64::decode(value).is_ok(),
                _ => {}
            }
        }
        if !ok {
            return self.reply(false, "Invalid parameters");
        }
        self.c.conn = conn;
        self.reply(true, "Updated")
    }

    fn buffer_full(&mut self) -> Disconnect {
        self.c.last_word("Input buffer full, aborting");
        SessionEnd::InputBufferFull.into()
    }

    pub(super) fn read_line(&mut self) -> Result<Vec<u8>, Disconnect> {
        match self.c.read_line()? {
            InputLine::Complete(line) => Ok(line),
            InputLine::Truncated(_) => Err(self.buffer_full()),
        }
    }

    pub(super) fn line(&mut self, line: &[u8]) -> Step {
        Ok(self.c.line(line)?)
    }

    /// `+OK text` or `-ERR text`.
    pub(super) fn reply(&mut self, ok: bool, text: &str) -> Step {
        let status = if ok { "+OK" } else { "-ERR" };
        self.line(format!("{status} {text}").as_bytes())
    }

    pub(super) fn flush(&mut self) -> Step {
        Ok(self.c.flush()?)
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
