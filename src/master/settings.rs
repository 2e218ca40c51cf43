//! What the master needs from the configuration, as plain values: which services exist, their
//! limits and listeners, and the global settings the master acts on.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, FilterQuery, Section, Settings};
use crate::log::LogSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterSettings {
    pub base_dir: PathBuf,
    /// Where the instance list lives.
    pub state_dir: PathBuf,
    /// `protocols`, split.
    pub protocols: Vec<String>,
    /// `listen`: the addresses an inet listener without `address` binds.
    pub listen: String,
    pub shutdown_clients: bool,
    /// `ssl != no`: with `ssl = no`, listeners with `ssl = yes` are left out (as Dovecot).
    pub ssl: bool,
    pub log: LogSettings,
    pub services: Vec<ServiceSpec>,
    /// The user of the login services and their `group` (empty: the user's primary group):
    /// that group may enter base_dir/login and base_dir/token-login.
    pub login_user: String,
    pub login_group: String,
}

/// One `service NAME { }` with its limits resolved (`0` meaning "the default_* value" has
/// already been replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// What `ps` shows for its workers (`dovecot/imap-login`).
    pub title: String,
    /// The protocol the service belongs to; empty for services every protocol uses.
    pub protocol: String,
    pub process_limit: u32,
    pub client_limit: u32,
    /// Connections a process serves before exiting; 0 = unlimited.
    pub service_count: u32,
    pub process_min_avail: u32,
    /// How long an extra idle process lives; `None` = forever.
    pub idle_kill: Option<Duration>,
    /// Whether its processes write Debug lines: `auth_debug` for login services,
    /// `mail_debug` for the others, as the service's protocol sees them.
    pub debug: bool,
    pub inet_listeners: Vec<InetListenerSpec>,
    pub unix_listeners: Vec<UnixListenerSpec>,
    pub identity: ServiceIdentity,
}

/// Who a service's processes run as, with Dovecot's `$default_*` values already put in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceIdentity {
    /// Empty: the master's own user.
    pub user: String,
    /// The `default_*_user` setting `user` came from, for error messages.
    pub user_default: Option<&'static str>,
    pub group: String,
    pub extra_groups: String,
    pub privileged_group: String,
    /// Absolute, or relative to base_dir; empty for none.
    pub chroot: String,
    /// `type = login`: never runs as root.
    pub login: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetListenerSpec {
    pub name: String,
    /// Empty = the global `listen`.
    pub address: String,
    /// 0 = the listener is disabled.
    pub port: u16,
    pub ssl: bool,
    pub haproxy: bool,
    pub reuse_port: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixListenerSpec {
    /// Relative paths are under base_dir.
    pub path: PathBuf,
    pub mode: u32,
    /// Owner; empty = the master's.
    pub user: String,
    pub group: String,
}

/// The `default_*` settings a service's zero values fall back to.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefaults {
    pub process_limit: u32,
    pub client_limit: u32,
    pub idle_kill: Duration,
}

impl ServiceDefaults {
    /// Applies Dovecot's "0 means the default" rule. An idle_kill of 2^32-1 seconds (how
    /// Dovecot's built-in services say "never") or a zero default means no idle kill.
    pub fn resolve(
        &self,
        process_limit: u32,
        client_limit: u32,
        idle_kill: Duration,
    ) -> (u32, u32, Option<Duration>) {
        let pick = |value: u32, default: u32| if value == 0 { default } else { value };
        let idle_kill = if idle_kill.is_zero() {
            self.idle_kill
        } else {
            idle_kill
        };
        let never = idle_kill.is_zero() || idle_kill.as_secs() >= u64::from(u32::MAX);
        (
            pick(process_limit, self.process_limit).max(1),
            pick(client_limit, self.client_limit).max(1),
            (!never).then_some(idle_kill),
        )
    }
}

impl ServiceSpec {
    /// The client_limit in effect: never more than service_count (Dovecot's rule: a process
    /// that serves one connection in its life never has two at once).
    pub fn effective_client_limit(&self) -> u32 {
        let limit = self.client_limit.max(1);
        match self.service_count {
            0 => limit,
            count => limit.min(count),
        }
    }
}

impl MasterSettings {
    /// Whether a service belongs to an enabled protocol (services of no protocol always do).
    pub fn protocol_enabled(&self, service: &ServiceSpec) -> bool {
        service.protocol.is_empty() || self.protocols.contains(&service.protocol)
    }
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The `default_*` users and group that built-in service settings name as `$variables`.
struct DefaultIds<'a> {
    login_user: &'a str,
    internal_user: &'a str,
    internal_group: &'a str,
}

impl DefaultIds<'_> {
    /// Dovecot's expand_user: the whole value is the variable, or it is a plain name.
    fn user(&self, value: &str) -> (String, Option<&'static str>) {
        match value {
            "$default_internal_user" => (
                self.internal_user.to_string(),
                Some("default_internal_user"),
            ),
            "$default_login_user" => (self.login_user.to_string(), Some("default_login_user")),
            other => (other.to_string(), None),
        }
    }

    fn group(&self, value: &str) -> String {
        match value {
            "$default_internal_group" => self.internal_group.to_string(),
            other => other.to_string(),
        }
    }
}

fn inet_listener(l: &Section<'_>) -> InetListenerSpec {
    InetListenerSpec {
        name: l.name().to_string(),
        address: l.str("address").to_string(),
        port: l.port("port"),
        ssl: l.bool("ssl"),
        haproxy: l.bool("haproxy"),
        reuse_port: l.bool("reuse_port"),
    }
}

fn unix_listener(l: &Section<'_>, ids: &DefaultIds<'_>) -> UnixListenerSpec {
    UnixListenerSpec {
        path: PathBuf::from(l.name()),
        mode: l.octal("mode"),
        user: ids.user(l.str("user")).0,
        group: ids.group(l.str("group")),
    }
}

fn identity(s: &Section<'_>, ids: &DefaultIds<'_>) -> ServiceIdentity {
    let (user, user_default) = ids.user(s.str("user"));
    ServiceIdentity {
        user,
        user_default,
        group: ids.group(s.str("group")),
        extra_groups: ids.group(s.str("extra_groups")),
        privileged_group: ids.group(s.str("privileged_group")),
        chroot: s.str("chroot").to_string(),
        login: s.str("type") == "login",
    }
}

fn service(
    config: &Config,
    s: &Section<'_>,
    defaults: &ServiceDefaults,
    ids: &DefaultIds<'_>,
) -> ServiceSpec {
    let (process_limit, client_limit, idle_kill) = defaults.resolve(
        clamp_u32(s.uint("process_limit")),
        clamp_u32(s.uint("client_limit")),
        s.time("idle_kill"),
    );
    let executable = match s.str("executable") {
        "" => s.name(),
        executable => executable,
    };
    ServiceSpec {
        name: s.name().to_string(),
        title: super::proctitle::service_title(config.global().str("instance_name"), executable),
        protocol: s.str("protocol").to_string(),
        debug: debug(config, s),
        process_limit,
        client_limit,
        service_count: clamp_u32(s.uint("service_count")),
        process_min_avail: min_avail(config, s),
        idle_kill,
        inet_listeners: s
            .sections("inet_listener")
            .iter()
            .map(inet_listener)
            .collect(),
        unix_listeners: s
            .sections("unix_listener")
            .iter()
            .map(|l| unix_listener(l, ids))
            .collect(),
        identity: identity(s, ids),
    }
}

/// `process_min_avail`; a director among several runs from the start, to connect to the
/// others before the first login needs it.
fn min_avail(config: &Config, s: &Section<'_>) -> u32 {
    let configured = clamp_u32(s.uint("process_min_avail"));
    let ring = config
        .global()
        .str("director_servers")
        .split_whitespace()
        .nth(1)
        .is_some();
    if s.name() == "director" && ring {
        configured.max(1)
    } else {
        configured
    }
}

fn debug(config: &Config, s: &Section<'_>) -> bool {
    let protocol = s.str("protocol");
    let query = FilterQuery {
        protocol: (!protocol.is_empty()).then(|| protocol.to_string()),
        ..FilterQuery::default()
    };
    let key = if s.str("type") == "login" {
        "auth_debug"
    } else {
        "mail_debug"
    };
    config.settings(&query).bool(key)
}

/// The log destinations a configuration names (also for tools that log on their own).
pub fn log_settings(g: &Settings<'_>) -> LogSettings {
    LogSettings {
        log_path: g.str("log_path").to_string(),
        info_log_path: g.str("info_log_path").to_string(),
        debug_log_path: g.str("debug_log_path").to_string(),
        log_timestamp: g.str("log_timestamp").to_string(),
        syslog_facility: g.str("syslog_facility").to_string(),
        instance_name: g.str("instance_name").to_string(),
    }
}

impl MasterSettings {
    /// The master's view of a loaded configuration (global settings; services come with
    /// Dovecot's built-in defaults merged in by the config layer).
    pub fn from_config(config: &Config) -> MasterSettings {
        let g = config.global();
        let defaults = ServiceDefaults {
            process_limit: clamp_u32(g.uint("default_process_limit")),
            client_limit: clamp_u32(g.uint("default_client_limit")),
            idle_kill: g.time("default_idle_kill"),
        };
        let ids = DefaultIds {
            login_user: g.str("default_login_user"),
            internal_user: g.str("default_internal_user"),
            internal_group: g.str("default_internal_group"),
        };
        let services = g.sections("service");
        // As Dovecot: the last login service's user and group.
        let (login_user, login_group) = services
            .iter()
            .rfind(|s| s.str("type") == "login")
            .map(|s| (ids.user(s.str("user")).0, ids.group(s.str("group"))))
            .unwrap_or_default();
        MasterSettings {
            base_dir: PathBuf::from(g.str("base_dir")),
            state_dir: PathBuf::from(g.str("state_dir")),
            protocols: g
                .str("protocols")
                .split_whitespace()
                .filter(|p| *p != "none")
                .map(str::to_string)
                .collect(),
            listen: g.str("listen").to_string(),
            shutdown_clients: g.bool("shutdown_clients"),
            ssl: g.str("ssl") != "no",
            log: log_settings(&g),
            services: services
                .iter()
                .map(|s| service(config, s, &defaults, &ids))
                .collect(),
            login_user,
            login_group,
        }
    }
}

/// A configuration that asks for a director must have settings the director can use: it
/// must not start as if it were a plain server, nor with a director that fails on its first
/// login.
fn check_director(config: &Config) -> Result<(), String> {
    if crate::director::DirectorSettings::wanted(config) {
        crate::director::DirectorSettings::from_config(config).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// cote runs every service itself: of an `executable` it acts only on a login service's
/// argument (the auth socket under `login/`, `director` behind a director).
fn executable_warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for s in config.global().sections("service") {
        let words: Vec<&str> = s.str("executable").split_whitespace().collect();
        let login_socket = s.str("type") == "login" && words.len() == 2;
        if s.is_set("executable") && words.len() > 1 && !login_socket {
            let place = match s.origin("executable") {
                Some((file, line)) => format!("{} line {line}", file.display()),
                None => "configuration".to_string(),
            };
            out.push(format!(
                "{place}: service {}: executable = {} is not implemented by cote yet, its \
                 arguments are ignored",
                s.name(),
                words.join(" ")
            ));
        }
    }
    out
}

impl super::MasterConfig for Config {
    fn load(path: &std::path::Path, overrides: &[String]) -> Result<Config, String> {
        let config = Config::load_with_overrides(path, overrides).map_err(|e| e.to_string())?;
        check_director(&config)?;
        Ok(config)
    }

    fn master_settings(&self) -> MasterSettings {
        MasterSettings::from_config(self)
    }

    fn warnings(&self) -> Vec<String> {
        let mut warnings = Config::warnings(self).to_vec();
        warnings.extend(executable_warnings(self));
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_config_resolves_services_and_listeners() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.conf");
        std::fs::write(
            &conf,
            "protocols = imap pop3\n\
             listen = 127.0.0.1\n\
             base_dir = /tmp/x\n\
             shutdown_clients = no\n\
             log_path = /tmp/x.log\n\
             default_process_limit = 7\n\
             default_idle_kill = 30 secs\n\
             default_internal_user = nobody\n\
             protocol imap {\n  auth_debug = yes\n}\n\
             service imap-login {\n\
               inet_listener imap {\n    port = 10143\n  }\n\
               process_min_avail = 2\n\
               unix_listener login/x {\n    mode = 0660\n  }\n\
             }\n",
        )
        .unwrap();
        let config = Config::load(&conf).unwrap();
        let m = MasterSettings::from_config(&config);
        assert_eq!(m.protocols, ["imap", "pop3"]);
        assert_eq!(m.listen, "127.0.0.1");
        assert_eq!(m.base_dir, PathBuf::from("/tmp/x"));
        assert!(!m.shutdown_clients);
        assert!(m.ssl);
        assert_eq!(m.log.log_path, "/tmp/x.log");
        assert_eq!(m.log.log_timestamp, "%b %d %H:%M:%S ");
        let login = m.services.iter().find(|s| s.name == "imap-login").unwrap();
        assert_eq!(login.protocol, "imap");
        assert_eq!(login.process_limit, 7);
        assert_eq!(login.client_limit, 1000);
        assert_eq!(login.service_count, 1);
        assert_eq!(login.process_min_avail, 2);
        assert_eq!(login.idle_kill, Some(Duration::from_secs(30)));
        assert!(login.debug, "auth_debug in protocol imap");
        let imap = m.services.iter().find(|s| s.name == "imap").unwrap();
        assert!(!imap.debug, "mail_debug is off");
        assert_eq!(imap.identity.user, "");
        assert_eq!(imap.identity.extra_groups, "dovecot");
        let pop3_login = m.services.iter().find(|s| s.name == "pop3-login").unwrap();
        assert!(!pop3_login.debug);
        let imap = login
            .inet_listeners
            .iter()
            .find(|l| l.name == "imap")
            .unwrap();
        assert_eq!(
            (imap.port, imap.ssl, imap.address.as_str()),
            (10143, false, "")
        );
        let imaps = login
            .inet_listeners
            .iter()
            .find(|l| l.name == "imaps")
            .unwrap();
        assert_eq!((imaps.port, imaps.ssl), (993, true));
        assert_eq!(login.unix_listeners.len(), 1);
        assert_eq!(login.unix_listeners[0].path, PathBuf::from("login/x"));
        assert_eq!(login.unix_listeners[0].mode, 0o660);
        assert_eq!(login.identity.user, "dovenull");
        assert_eq!(login.identity.user_default, Some("default_login_user"));
        assert_eq!(login.identity.chroot, "login");
        assert!(login.identity.login);
        // Built-in owners name the configured users and group.
        assert_eq!(
            (m.login_user.as_str(), m.login_group.as_str()),
            ("dovenull", "")
        );
        let auth = m.services.iter().find(|s| s.name == "auth").unwrap();
        let client = auth
            .unix_listeners
            .iter()
            .find(|l| l.path.as_os_str() == "auth-client")
            .unwrap();
        assert_eq!((client.user.as_str(), client.mode), ("nobody", 0o600));
        assert_eq!(auth.identity.user, "nobody");
        let dict = m.services.iter().find(|s| s.name == "dict").unwrap();
        assert_eq!(
            dict.unix_listeners[0].group, "dovecot",
            "default_internal_group"
        );
        // A built-in service that never idle-dies.
        let anvil = m.services.iter().find(|s| s.name == "anvil").unwrap();
        assert_eq!(anvil.idle_kill, None);
        assert!(m.protocol_enabled(anvil));
        let lmtp = m.services.iter().find(|s| s.name == "lmtp").unwrap();
        assert!(!m.protocol_enabled(lmtp));
    }

    #[test]
    fn zero_means_default() {
        let d = ServiceDefaults {
            process_limit: 100,
            client_limit: 1000,
            idle_kill: Duration::from_secs(60),
        };
        let minute = Some(Duration::from_secs(60));
        assert_eq!(d.resolve(0, 0, Duration::ZERO), (100, 1000, minute));
        let never = Duration::from_secs(u64::from(u32::MAX));
        assert_eq!(d.resolve(5, 1, never), (5, 1, None));
        let d = ServiceDefaults {
            idle_kill: Duration::ZERO,
            ..d
        };
        assert_eq!(d.resolve(1, 1, Duration::ZERO).2, None);
    }
}
