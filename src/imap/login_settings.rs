//! What an IMAP login session takes from the configuration: [`PreloginSettings`], resolved
//! for one connection (its filters, the login `%` variables).

use std::time::Duration;

use crate::config::Settings;
use crate::login::settings::LoginSettings;
use crate::net::ConnInfo;

use super::prelogin::{LOGIN_MAX_LINE_LENGTH, LOGIN_TIMEOUT};

/// What the pre-login session needs from the configuration, already resolved for this
/// connection's filters.
#[derive(Debug, Clone)]
pub struct PreloginSettings {
    /// What every login protocol reads.
    pub login: LoginSettings,
    pub imap_capability: String,
    pub imap_literal_minus: bool,
    pub imap_id_send: String,
    pub imap_id_log: String,
    /// A client that has not logged in this long after connecting is disconnected.
    pub login_timeout: Duration,
    /// Bytes of one command, literals included.
    pub max_line_length: usize,
}

impl Default for PreloginSettings {
    /// Dovecot 2.3's defaults as Debian builds it.
    fn default() -> Self {
        PreloginSettings {
            login: LoginSettings::default(),
            imap_capability: String::new(),
            imap_literal_minus: false,
            imap_id_send: "name *".to_string(),
            imap_id_log: String::new(),
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
        Ok(PreloginSettings {
            login: LoginSettings::from_settings(settings, conn, "imap")?,
            imap_capability: settings.read("imap_capability")?,
            imap_literal_minus: settings.bool("imap_literal_minus"),
            imap_id_send: settings.read("imap_id_send")?,
            imap_id_log: settings.read("imap_id_log")?,
            login_timeout: LOGIN_TIMEOUT,
            max_line_length: LOGIN_MAX_LINE_LENGTH,
        })
    }
}

/// Settings the pre-login session cannot work with.
pub use crate::login::settings::LoginConfigError as PreloginConfigError;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, FilterQuery};
    use crate::net::SslMode;

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
        assert_eq!(s.login.login_greeting, d.login.login_greeting);
        assert_eq!(s.imap_id_send, "name *");
        assert_eq!(s.login.ssl, SslMode::Yes);
        assert!(s.login.disable_plaintext_auth);
        assert_eq!(s.login_timeout, LOGIN_TIMEOUT);
        assert_eq!(s.max_line_length, LOGIN_MAX_LINE_LENGTH);
        assert!(s.login.login_trusted_networks.is_empty());
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
        assert_eq!(s.login.login_greeting, "IMAP here.");
        assert_eq!(s.imap_capability, "+XFOO");
        assert_eq!(s.imap_id_log, "*");
        assert_eq!(s.login.ssl, SslMode::No);
        assert!(!s.login.disable_plaintext_auth);
        assert!(s.imap_literal_minus);
        assert_eq!(s.login.login_trusted_networks.len(), 2);
        let other = PreloginSettings::from_settings(
            &config.settings(&imap_query("127.0.0.1")),
            &conn("127.0.0.1"),
        )
        .unwrap();
        assert!(other.login.disable_plaintext_auth);
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
            s.login.login_greeting,
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
