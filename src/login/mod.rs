//! What every login protocol (IMAP, POP3) does the same way before a client is handed to a
//! mail process — Dovecot's `login-common`: the SASL mechanisms a connection may see
//! ([`mechanisms`]), relaying SASL rounds to the auth service ([`sasl`]), the authentication
//! history behind the disconnect reasons ([`attempts`]), starting TLS on a login connection
//! ([`tls`]) and the `%` variables of login settings ([`vars`]).
//!
//! The protocols keep their own wording: each turns these results into its replies.

pub mod attempts;
pub mod mechanisms;
pub mod sasl;
pub mod settings;
pub mod tls;
pub mod vars;

pub use attempts::{AuthAttempts, FailureKind};
pub use mechanisms::SaslMech;
pub use sasl::{SaslClient, SaslOutcome};
pub use settings::{LoginConfigError, LoginSettings};
pub use tls::TlsFailure;

use std::path::Path;

use crate::auth::client::AuthClient;
use crate::net::tls::TlsServer;
use crate::net::{ClientStream, ConnInfo};

/// What a login session may use besides the client: the auth service and TLS.
#[derive(Clone, Copy, Default)]
pub struct LoginServices<'a> {
    /// The auth service's socket for logins (`login/login`), as this process sees it. `None`:
    /// no authentication here (logins are refused as unavailable).
    pub auth_socket: Option<&'a Path>,
    /// TLS contexts prepared at startup; `None`: no TLS in this process.
    pub tls: Option<&'a TlsServer>,
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
