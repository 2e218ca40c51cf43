//! The director's settings, checked as Dovecot's director checks them when it starts, but at
//! the master's startup: a director that cannot work must not start as a plain server.

use std::fmt;

use crate::config::Config;

use super::hash::user_hash;
use super::hosts::MailHosts;

#[derive(Debug, Clone)]
pub struct DirectorSettings {
    pub mail_hosts: MailHosts,
    /// `director_user_expire`, seconds.
    pub user_expire: i64,
    pub username_hash: String,
    /// `auth_master_user_separator`: a master login's name is cut there.
    pub master_user_separator: Option<char>,
}

/// Why the director settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectorConfigError {
    /// `director_mail_servers` with each problem found.
    MailServers(Vec<String>),
    UsernameHash(String),
    /// More than one director: the ring between directors is not implemented.
    Ring(usize),
    /// `director_servers` without an inet_listener in `service director`.
    NoRingListener,
}

impl fmt::Display for DirectorConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectorConfigError::MailServers(errors) => write!(
                f,
                "Invalid value for director_mail_servers setting: {}",
                errors.join(", ")
            ),
            DirectorConfigError::UsernameHash(e) => {
                write!(f, "Failed to expand director_username_hash: {e}")
            }
            DirectorConfigError::Ring(n) => write!(
                f,
                "director_servers lists {n} directors, but cote's director does not implement \
                 the ring between directors: list only this server in director_servers (or \
                 leave it empty) and run one director"
            ),
            DirectorConfigError::NoRingListener => f.write_str(
                "No inet_listeners defined for director service (for standalone keep \
                 director_servers empty)",
            ),
        }
    }
}

impl std::error::Error for DirectorConfigError {}

impl DirectorSettings {
    /// Whether the configuration asks for a director at all.
    pub fn wanted(config: &Config) -> bool {
        let g = config.global();
        ["director_servers", "director_mail_servers"]
            .iter()
            .any(|key| !g.str(key).trim().is_empty())
    }

    pub fn from_config(config: &Config) -> Result<DirectorSettings, DirectorConfigError> {
        let g = config.global();
        let servers = g.str("director_servers").split_whitespace().count();
        if servers > 1 {
            return Err(DirectorConfigError::Ring(servers));
        }
        if servers == 1 {
            let has_inet = g
                .sections("service")
                .iter()
                .filter(|s| s.name() == "director")
                .any(|s| {
                    s.sections("inet_listener")
                        .iter()
                        .any(|l| l.port("port") != 0)
                });
            if !has_inet {
                return Err(DirectorConfigError::NoRingListener);
            }
        }
        let mail_hosts = MailHosts::parse(g.str("director_mail_servers"))
            .map_err(DirectorConfigError::MailServers)?;
        let username_hash = g.str("director_username_hash").to_string();
        user_hash("user@domain", &username_hash).map_err(DirectorConfigError::UsernameHash)?;
        let expire = g.time("director_user_expire");
        Ok(DirectorSettings {
            mail_hosts,
            user_expire: i64::try_from(expire.as_secs()).unwrap_or(i64::MAX),
            username_hash,
            master_user_separator: g.str("auth_master_user_separator").chars().next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<DirectorSettings, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.conf");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).map_err(|e| e.to_string())?;
        DirectorSettings::from_config(&config).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_are_read() {
        let s = load(
            "director_mail_servers = 10.0.0.1-10.0.0.3 10.0.1.1@big\n\
             director_user_expire = 2 mins\n\
             director_username_hash = %Ln\n",
        )
        .unwrap();
        assert_eq!(s.mail_hosts.iter().count(), 4);
        assert_eq!(s.user_expire, 120);
        assert_eq!(s.username_hash, "%Ln");
        let s = load("director_mail_servers = 10.0.0.1\n").unwrap();
        assert_eq!((s.user_expire, s.username_hash.as_str()), (900, "%Lu"));
    }

    #[test]
    fn bad_settings_are_refused_with_dovecots_texts() {
        assert_eq!(
            load("director_mail_servers = 10.0.0.9-10.0.0.1\n").unwrap_err(),
            "Invalid value for director_mail_servers setting: IP addresses reversed: \
             10.0.0.9-10.0.0.1, No valid servers specified"
        );
        assert_eq!(
            load("director_servers = 127.0.0.1\n").unwrap_err(),
            "No inet_listeners defined for director service (for standalone keep \
             director_servers empty)"
        );
        assert!(
            load("director_servers = 10.0.0.1 10.0.0.2\ndirector_mail_servers = 10.0.0.5\n")
                .unwrap_err()
                .starts_with("director_servers lists 2 directors, but cote's director does not")
        );
        assert_eq!(
            load(
                "director_servers = 127.0.0.1\ndirector_mail_servers = 10.0.0.1\n\
                  service director {\n  inet_listener {\n    port = 9090\n  }\n}\n"
            )
            .map(|s| s.mail_hosts.iter().count()),
            Ok(1)
        );
        assert!(
            load("director_mail_servers = 10.0.0.1\ndirector_username_hash = %{nosuch}\n")
                .unwrap_err()
                .starts_with("Failed to expand director_username_hash: ")
        );
        assert!(load("director_user_expire = soon\n").is_err());
    }
}
