//! The director's settings, checked as Dovecot's director checks them when it starts, but at
//! the master's startup: a director that cannot work must not start as a plain server.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs};

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
    /// `director_servers` naming other directors besides this one.
    pub ring: Option<RingSettings>,
}

/// This director and the others it shares the users with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingSettings {
    pub me: SocketAddr,
    pub peers: Vec<SocketAddr>,
}

/// Why the director settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectorConfigError {
    /// `director_mail_servers` with each problem found.
    MailServers(Vec<String>),
    UsernameHash(String),
    /// A `director_servers` entry that is not `host[:port]`, or a name that does not resolve.
    InvalidServer(String),
    UnknownServer(String),
    /// None of `director_servers` is this server.
    NotListed(Option<SocketAddr>),
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
            DirectorConfigError::InvalidServer(s) => {
                write!(f, "Invalid director host:port in '{s}'")
            }
            DirectorConfigError::UnknownServer(s) => write!(f, "Unknown director host: {s}"),
            DirectorConfigError::NotListed(None) => {
                f.write_str("director_servers doesn't list ourself")
            }
            DirectorConfigError::NotListed(Some(me)) => write!(
                f,
                "director_servers doesn't list ourself ({}:{})",
                me.ip(),
                me.port()
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
        let ring = ring_settings(config)?;
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
            ring,
        })
    }
}

/// `director_servers`: `None` for a director alone (the list empty, or only this server).
fn ring_settings(config: &Config) -> Result<Option<RingSettings>, DirectorConfigError> {
    let g = config.global();
    let entries: Vec<&str> = g.str("director_servers").split_whitespace().collect();
    if entries.is_empty() {
        return Ok(None);
    }
    // The ring listener: its address (else `listen`) and port.
    let listener = g
        .sections("service")
        .iter()
        .filter(|s| s.name() == "director")
        .flat_map(|s| s.sections("inet_listener"))
        .find(|l| l.port("port") != 0)
        .map(|l| (l.str("address").to_string(), l.port("port")));
    let Some((address, port)) = listener else {
        return Err(DirectorConfigError::NoRingListener);
    };
    let address = if address.is_empty() {
        g.str("listen").to_string()
    } else {
        address
    };
    let mut servers: Vec<SocketAddr> = Vec::new();
    for entry in entries {
        for addr in resolve_server(entry, port)? {
            if !servers.contains(&addr) {
                servers.push(addr);
            }
        }
    }
    // This server: the listener's own address, else the first listed one it can bind.
    let own_ip = address
        .split([',', ' '])
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|ip| !ip.is_unspecified());
    let own_ip = match own_ip {
        Some(ip) => ip,
        None => servers
            .iter()
            .map(|s| s.ip())
            .find(|ip| TcpListener::bind((*ip, 0)).is_ok())
            .ok_or(DirectorConfigError::NotListed(None))?,
    };
    let me = SocketAddr::new(own_ip, port);
    if !servers.contains(&me) {
        return Err(DirectorConfigError::NotListed(Some(me)));
    }
    let peers: Vec<SocketAddr> = servers.into_iter().filter(|s| *s != me).collect();
    Ok((!peers.is_empty()).then_some(RingSettings { me, peers }))
}

/// `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to `port`.
fn resolve_server(entry: &str, port: u16) -> Result<Vec<SocketAddr>, DirectorConfigError> {
    let invalid = || DirectorConfigError::InvalidServer(entry.to_string());
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, p)) => (host, p.parse::<u16>().map_err(|_| invalid())?),
        None => (entry, port),
    };
    if host.is_empty() || host.contains(':') {
        return Err(invalid());
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| DirectorConfigError::UnknownServer(host.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(DirectorConfigError::UnknownServer(host.to_string()));
    }
    Ok(addrs)
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
        let ring = "director_mail_servers = 10.0.0.5\n\
                    listen = 127.0.0.1\n\
                    service director {\n  inet_listener {\n    port = 9090\n  }\n}\n";
        assert_eq!(
            load(&format!("director_servers = 10.0.0.1 10.0.0.2\n{ring}")).unwrap_err(),
            "director_servers doesn't list ourself (127.0.0.1:9090)"
        );
        assert_eq!(
            load(&format!("director_servers = 127.0.0.1:x\n{ring}")).unwrap_err(),
            "Invalid director host:port in '127.0.0.1:x'"
        );
        assert_eq!(
            load(&format!("director_servers = nosuch.invalid\n{ring}")).unwrap_err(),
            "Unknown director host: nosuch.invalid"
        );
        let s = load(&format!(
            "director_servers = 127.0.0.1 127.0.0.4:9091 [::1]:9092 localhost:9090\n{ring}"
        ))
        .unwrap();
        let ring = s.ring.unwrap();
        assert_eq!(ring.me, "127.0.0.1:9090".parse().unwrap());
        assert!(ring.peers.contains(&"127.0.0.4:9091".parse().unwrap()));
        assert!(ring.peers.contains(&"[::1]:9092".parse().unwrap()));
        assert!(!ring.peers.contains(&ring.me));
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
