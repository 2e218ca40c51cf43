//! The settings every login protocol reads the same way, resolved for one connection (its
//! filters, the login `%` variables): [`LoginSettings`].

use std::fmt;
use std::time::Duration;

use crate::config::var_expand::{self, VarError};
use crate::config::{ConfigError, Settings};
use crate::net::conn::{parse_networks, InvalidNetwork};
use crate::net::{ConnInfo, IpNetwork, SslMode};

use super::connection::AuthPolicy;
use super::vars::login_vars;

/// What a login session of any protocol takes from the configuration.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// `login_greeting`, its `%` variables expanded for this connection.
    pub login_greeting: String,
    pub login_trusted_networks: Vec<IpNetwork>,
    pub ssl: SslMode,
    pub disable_plaintext_auth: bool,
    /// `auth_ssl_require_client_cert`: for the disconnect reason when a client never
    /// started TLS.
    pub auth_ssl_require_client_cert: bool,
    /// `auth_verbose`: log why each failed login failed.
    pub auth_verbose: bool,
    /// Sessions a user may have from one address (0: any).
    pub mail_max_userip_connections: u32,
    /// `login_proxy_*`: how proxied logins go.
    pub proxy: ProxyPolicy,
}

/// The `login_proxy_*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyPolicy {
    /// `login_proxy_timeout`: for connecting and logging in, unless `proxy_timeout` says.
    pub timeout: Duration,
    /// `login_proxy_max_reconnects`.
    pub max_reconnects: u32,
    /// `login_proxy_max_disconnect_delay`: when the backend goes away, its clients are
    /// disconnected spread over up to this long, so they do not all reconnect at once.
    pub max_disconnect_delay: Duration,
}

impl Default for ProxyPolicy {
    fn default() -> Self {
        ProxyPolicy {
            timeout: Duration::from_secs(30),
            max_reconnects: 3,
            max_disconnect_delay: Duration::ZERO,
        }
    }
}

impl LoginSettings {
    /// The settings as connection `conn` of `service` sees them (`settings` already filtered
    /// for the connection), with the login variables expanded as Dovecot's login processes
    /// do (`%l %r %p %s`, `%{local_name}`).
    pub fn from_settings(
        settings: &Settings,
        conn: &ConnInfo,
        service: &str,
    ) -> Result<LoginSettings, LoginConfigError> {
        let login_greeting = var_expand::expand(
            &settings.read("login_greeting")?,
            &login_vars(conn, service),
        )
        .map_err(LoginConfigError::Expand)?;
        let networks = settings.read("login_trusted_networks")?;
        let login_trusted_networks =
            parse_networks(&networks).map_err(LoginConfigError::TrustedNetworks)?;
        let ssl = settings.str("ssl").parse().map_err(LoginConfigError::Ssl)?;
        Ok(LoginSettings {
            login_greeting,
            login_trusted_networks,
            ssl,
            disable_plaintext_auth: settings.bool("disable_plaintext_auth"),
            auth_ssl_require_client_cert: settings.bool("auth_ssl_require_client_cert"),
            auth_verbose: settings.bool("auth_verbose"),
            mail_max_userip_connections: userip_limit(settings),
            proxy: ProxyPolicy {
                timeout: settings.time("login_proxy_timeout"),
                max_reconnects: u32::try_from(settings.uint("login_proxy_max_reconnects"))
                    .unwrap_or(u32::MAX),
                max_disconnect_delay: settings.time("login_proxy_max_disconnect_delay"),
            },
        })
    }

    /// What decides what a client may do before TLS, and what is logged about it.
    pub fn policy(&self) -> AuthPolicy {
        AuthPolicy {
            ssl: self.ssl,
            disable_plaintext_auth: self.disable_plaintext_auth,
            auth_verbose: self.auth_verbose,
            require_client_cert: self.auth_ssl_require_client_cert,
            userip_limit: self.mail_max_userip_connections,
            proxy: self.proxy,
        }
    }

    /// Whether the client comes from `login_trusted_networks`.
    pub fn trusts(&self, conn: &ConnInfo) -> bool {
        self.login_trusted_networks
            .iter()
            .any(|net| net.contains(conn.remote.ip()))
    }
}

/// `mail_max_userip_connections`; a value past what anyone could reach is no limit.
pub fn userip_limit(settings: &Settings) -> u32 {
    u32::try_from(settings.uint("mail_max_userip_connections")).unwrap_or(0)
}

impl Default for LoginSettings {
    /// Dovecot 2.3's defaults as Debian builds it.
    fn default() -> Self {
        LoginSettings {
            login_greeting: "Dovecot (Debian) ready.".to_string(),
            login_trusted_networks: Vec::new(),
            ssl: SslMode::Yes,
            disable_plaintext_auth: true,
            auth_ssl_require_client_cert: false,
            auth_verbose: false,
            mail_max_userip_connections: 10,
            proxy: ProxyPolicy::default(),
        }
    }
}

/// Settings a login session cannot work with.
#[derive(Debug)]
pub enum LoginConfigError {
    /// A `key = <file` value could not be read.
    Config(ConfigError),
    TrustedNetworks(InvalidNetwork),
    Ssl(String),
    /// A `%` variable that does not exist in a login setting.
    Expand(VarError),
}

impl fmt::Display for LoginConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginConfigError::Config(e) => e.fmt(f),
            LoginConfigError::TrustedNetworks(e) => write!(f, "login_trusted_networks: {e}"),
            LoginConfigError::Ssl(e) => f.write_str(e),
            LoginConfigError::Expand(e) => write!(f, "Failed to expand settings: {e}"),
        }
    }
}

impl std::error::Error for LoginConfigError {}

impl From<ConfigError> for LoginConfigError {
    fn from(e: ConfigError) -> Self {
        LoginConfigError::Config(e)
    }
}
