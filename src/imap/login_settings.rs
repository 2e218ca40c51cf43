//! What an IMAP login session takes from the configuration: [`PreloginSettings`], resolved
//! for one connection (its filters, the login `%` variables).

use std::fmt;
use std::time::Duration;

use crate::config::var_expand::{self, VarError, Vars};
use crate::config::{ConfigError, Settings};
use crate::net::conn::{parse_networks, InvalidNetwork};
use crate::net::{ConnInfo, IpNetwork, SslMode};

use super::prelogin::{LOGIN_MAX_LINE_LENGTH, LOGIN_TIMEOUT};

/// What the pre-login session needs from the configuration, already resolved for this
/// connection's filters.
#[derive(Debug, Clone)]
pub struct PreloginSettings {
    /// `login_greeting`, its `%` variables expanded for this connection.
    pub login_greeting: String,
    pub login_trusted_networks: Vec<IpNetwork>,
    pub imap_capability: String,
    pub imap_literal_minus: bool,
    pub imap_id_send: String,
    pub imap_id_log: String,
    pub ssl: SslMode,
    pub disable_plaintext_auth: bool,
    /// `auth_ssl_require_client_cert`: for the disconnect reason when a client never started TLS.
    pub auth_ssl_require_client_cert: bool,
    /// `auth_verbose`: log why each failed login failed.
    pub auth_verbose: bool,
    /// A client that has not logged in this long after connecting is disconnected.
    pub login_timeout: Duration,
    /// Bytes of one command, literals included.
    pub max_line_length: usize,
}

impl Default for PreloginSettings {
    /// Dovecot 2.3's defaults as Debian builds it.
    fn default() -> Self {
        PreloginSettings {
            login_greeting: "Dovecot (Debian) ready.".to_string(),
            login_trusted_networks: Vec::new(),
            imap_capability: String::new(),
            imap_literal_minus: false,
            imap_id_send: "name *".to_string(),
            imap_id_log: String::new(),
            ssl: SslMode::Yes,
            disable_plaintext_auth: true,
            auth_ssl_require_client_cert: false,
            auth_verbose: false,
            login_timeout: LOGIN_TIMEOUT,
            max_line_length: LOGIN_MAX_LINE_LENGTH,
        }
    }
}

impl PreloginSettings {
    /// The settings as connection `conn` sees them (`config.settings(&FilterQuery {
    /// protocol: Some("imap".into()), local_ip, remote_ip, local_name })`), with the login
    /// variables expanded as Dovecot's login processes do (`%l %r %p %s`, `%{local_name}`).
    /// imap-login's command length and login timeout are fixed in Dovecot, not settings.
    pub fn from_settings(
        settings: &Settings,
        conn: &ConnInfo,
    ) -> Result<Self, PreloginConfigError> {
        let login_greeting =
            var_expand::expand(&settings.read("login_greeting")?, &login_vars(conn, "imap"))
                .map_err(PreloginConfigError::Expand)?;
        let networks = settings.read("login_trusted_networks")?;
        let login_trusted_networks =
            parse_networks(&networks).map_err(PreloginConfigError::TrustedNetworks)?;
        let ssl = settings
            .str("ssl")
            .parse()
            .map_err(PreloginConfigError::Ssl)?;
        Ok(PreloginSettings {
            login_greeting,
            login_trusted_networks,
            imap_capability: settings.read("imap_capability")?,
            imap_literal_minus: settings.bool("imap_literal_minus"),
            imap_id_send: settings.read("imap_id_send")?,
            imap_id_log: settings.read("imap_id_log")?,
            ssl,
            disable_plaintext_auth: settings.bool("disable_plaintext_auth"),
            auth_ssl_require_client_cert: settings.bool("auth_ssl_require_client_cert"),
            auth_verbose: settings.bool("auth_verbose"),
            login_timeout: LOGIN_TIMEOUT,
            max_line_length: LOGIN_MAX_LINE_LENGTH,
        })
    }
}

/// Settings the pre-login session cannot work with.
#[derive(Debug)]
pub enum PreloginConfigError {
    /// A `key = <file` value could not be read.
    Config(ConfigError),
    TrustedNetworks(InvalidNetwork),
    Ssl(String),
    /// A `%` variable that does not exist in a login setting.
    Expand(VarError),
}

impl fmt::Display for PreloginConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreloginConfigError::Config(e) => e.fmt(f),
            PreloginConfigError::TrustedNetworks(e) => write!(f, "login_trusted_networks: {e}"),
            PreloginConfigError::Ssl(e) => f.write_str(e),
            PreloginConfigError::Expand(e) => write!(f, "Failed to expand settings: {e}"),
        }
    }
}

impl std::error::Error for PreloginConfigError {}

/// The variables of login settings (Dovecot's `login_set_var_expand_table`).
fn login_vars(conn: &ConnInfo, service: &str) -> Vars {
    let local = conn.local.ip().to_string();
    let remote = conn.remote.ip().to_string();
    let pid = std::process::id().to_string();
    let mut vars = Vars::new();
    vars.set(Some(b'l'), Some("lip"), Some(&local));
    vars.set(Some(b'r'), Some("rip"), Some(&remote));
    vars.set(Some(b'p'), Some("pid"), Some(&pid));
    vars.set(Some(b's'), Some("service"), Some(service));
    vars.set(None, Some("local_name"), None);
    vars.set(None, Some("local_ip"), Some(&local));
    vars.set(None, Some("remote_ip"), Some(&remote));
    vars
}

impl From<ConfigError> for PreloginConfigError {
    fn from(e: ConfigError) -> Self {
        PreloginConfigError::Config(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, FilterQuery};

    fn load(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }

    fn conn(remote: &str) -> ConnInfo {
        ConnInfo::new(
            "127.0.0.1:143".parse().unwrap(),
            format!("{remote}:50000").parse().unwrap(),
            false,
        )
    }

    fn imap_query(remote: &str) -> FilterQuery {
        FilterQuery {
            protocol: Some("imap".into()),
            local_ip: Some("127.0.0.1".parse().unwrap()),
            remote_ip: Some(remote.parse().unwrap()),
            local_name: None,
        }
    }

    #[test]
    fn defaults_from_an_empty_config() {
        let config = load("");
        let s = PreloginSettings::from_settings(
            &config.settings(&imap_query("127.0.0.1")),
            &conn("127.0.0.1"),
        )
        .unwrap();
        let d = PreloginSettings::default();
        assert_eq!(s.login_greeting, d.login_greeting);
        assert_eq!(s.imap_id_send, "name *");
        assert_eq!(s.ssl, SslMode::Yes);
        assert!(s.disable_plaintext_auth);
        assert_eq!(s.login_timeout, LOGIN_TIMEOUT);
        assert_eq!(s.max_line_length, LOGIN_MAX_LINE_LENGTH);
        assert!(s.login_trusted_networks.is_empty());
    }

    #[test]
    fn filters_apply() {
        let config = load(
            "ssl = no\n\
             login_trusted_networks = 10.0.0.0/8 192.168.0.1\n\
             imap_id_log = *\n\
             protocol imap {\n  login_greeting = IMAP here.\n  imap_capability = +XFOO\n}\n\
             remote 10.0.0.0/8 {\n  disable_plaintext_auth = no\n  imap_literal_minus = yes\n}\n",
        );
        let s = PreloginSettings::from_settings(
            &config.settings(&imap_query("10.1.2.3")),
            &conn("10.1.2.3"),
        )
        .unwrap();
        assert_eq!(s.login_greeting, "IMAP here.");
        assert_eq!(s.imap_capability, "+XFOO");
        assert_eq!(s.imap_id_log, "*");
        assert_eq!(s.ssl, SslMode::No);
        assert!(!s.disable_plaintext_auth);
        assert!(s.imap_literal_minus);
        assert_eq!(s.login_trusted_networks.len(), 2);
        let other = PreloginSettings::from_settings(
            &config.settings(&imap_query("127.0.0.1")),
            &conn("127.0.0.1"),
        )
        .unwrap();
        assert!(other.disable_plaintext_auth);
        assert!(!other.imap_literal_minus);
    }

    #[test]
    fn unsupported_or_bad_values_are_errors() {
        let config = load("login_greeting = %l for %{rip} via %s: %{nosuch} ready\n");
        let err = PreloginSettings::from_settings(&config.global(), &conn("10.0.0.9")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Failed to expand settings: Unknown variable '%nosuch'"
        );
        let config = load("login_greeting = %l for %{rip} via %s (%p) ready\n");
        let s = PreloginSettings::from_settings(&config.global(), &conn("10.0.0.9")).unwrap();
        assert_eq!(
            s.login_greeting,
            format!(
                "127.0.0.1 for 10.0.0.9 via imap ({}) ready",
                std::process::id()
            )
        );
        let config = load("login_trusted_networks = 10.0.0.0/99\n");
        let err =
            PreloginSettings::from_settings(&config.global(), &conn("127.0.0.1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "login_trusted_networks: Invalid network '10.0.0.0/99'"
        );
    }
}
