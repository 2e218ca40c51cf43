//! What every login protocol (IMAP, POP3) does the same way before a client is handed to a
//! mail process — Dovecot's `login-common`: the client connection of a login session and
//! its life ([`connection`]), one authentication with its checks ([`authenticate`]), the
//! SASL mechanisms a connection may see ([`mechanisms`]), relaying SASL rounds to the auth
//! service ([`sasl`]), the authentication history behind the disconnect reasons
//! ([`attempts`]), starting TLS on a login connection ([`tls`]) and the `%` variables of
//! login settings ([`vars`]); sessions per user+IP across processes ([`anvil`]).
//!
//! The protocols keep their own wording: each turns these results into its replies.

pub mod anvil;
pub mod attempts;
pub mod authenticate;
pub mod connection;
pub mod mechanisms;
pub mod proxy;
pub mod proxy_state;
pub mod sasl;
pub mod settings;
pub mod tls;
pub mod vars;
pub mod who;

pub use attempts::{AuthAttempts, FailureKind};
pub use connection::{LoginConnection, SessionEnd};
pub use mechanisms::SaslMech;
pub use sasl::{SaslClient, SaslOutcome};
pub use settings::{LoginConfigError, LoginSettings};
pub use tls::TlsFailure;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::auth::client::AuthClient;
use crate::net::tls::TlsServer;
use crate::net::{ClientStream, ConnInfo};

/// Dovecot's login input buffer (`LOGIN_MAX_INBUF_SIZE`): a POP3 command line and its CRLF
/// must fit, and so must any single IMAP argument.
pub const LOGIN_INPUT_BUFFER_SIZE: usize = 1026;
/// The most a SASL response (initial or continued) may hold (`LOGIN_MAX_AUTH_BUF_SIZE`).
pub const MAX_AUTH_RESPONSE: usize = 8192;
/// The deadline for logging in, counted from the connection (`CLIENT_LOGIN_TIMEOUT`).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(180);
/// The third invalid command ends the session (`CLIENT_MAX_BAD_COMMANDS`).
pub const MAX_BAD_COMMANDS: u32 = 3;
/// The longest session id a trusted proxy may pass (`LOGIN_MAX_SESSION_ID_LEN`).
pub const MAX_SESSION_ID_LEN: usize = 64;

/// What a login session may use besides the client: the auth service and TLS.
#[derive(Clone, Copy)]
pub struct LoginServices<'a> {
    /// The auth service's socket for logins (`login/login`), as this process sees it. `None`:
    /// no authentication here (logins are refused as unavailable).
    pub auth_socket: Option<&'a Path>,
    /// TLS contexts prepared at startup; `None`: no TLS in this process.
    pub tls: Option<&'a TlsServer>,
    /// The anvil service, for `mail_max_userip_connections`; `None`: no limit is checked.
    pub anvil: Option<&'a Mutex<anvil::AnvilClient>>,
    /// How lines about this client are worded (`login_log_format`...).
    pub log_format: &'a vars::LoginLogFormat,
}

impl Default for LoginServices<'_> {
    /// No auth service, TLS or anvil; Dovecot's default log format.
    fn default() -> Self {
        static LOG_FORMAT: std::sync::OnceLock<vars::LoginLogFormat> = std::sync::OnceLock::new();
        LoginServices {
            auth_socket: None,
            tls: None,
            anvil: None,
            log_format: LOG_FORMAT.get_or_init(vars::LoginLogFormat::default),
        }
    }
}

/// A client that logged in, as the login process hands it to a mail process.
pub struct LoggedIn {
    /// The connection; plain TCP, or TLS that the login process must keep serving.
    pub stream: ClientStream,
    pub conn: ConnInfo,
    pub secured: bool,
    /// The user name the auth service logged in.
    pub user: String,
    /// The SASL mechanism (`PLAIN` for IMAP LOGIN and POP3 USER/PASS).
    pub mechanism: String,
    /// The auth connection, kept open until the mail process has verified the login.
    pub auth: AuthClient,
    /// The id of the successful request on that connection.
    pub auth_id: u32,
    /// The protocol's own data for the mail process (IMAP: the tag to answer).
    pub prefix: Vec<u8>,
    /// Client input read but not processed (pipelined after the login command).
    pub input: Vec<u8>,
}

/// A client whose login was proxied: what is left of its session is the relay.
pub struct ProxiedClient {
    pub proxied: Box<proxy::Proxied>,
    pub stream: ClientStream,
    /// What the client sent after its login command, for the backend.
    pub input: Vec<u8>,
}

impl ProxiedClient {
    /// Relays the client and the backend until either is done (the session must be gone:
    /// the client's stream is taken over).
    pub fn relay(self) {
        proxy::relay_session(*self.proxied, self.stream, self.input);
    }
}

/// How a login session that did not just end went on.
pub enum LoginEnd {
    /// Logged in here, for a mail process.
    Mail(Box<LoggedIn>),
    Proxied(Box<ProxiedClient>),
}
