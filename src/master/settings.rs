//! What the master needs from the configuration, as plain values: which services exist, their
//! limits and listeners, and the global settings the master acts on.

use std::path::PathBuf;
use std::time::Duration;

use crate::log::LogSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterSettings {
    pub base_dir: PathBuf,
    /// `protocols`, split.
    pub protocols: Vec<String>,
    /// `listen`: the addresses an inet listener without `address` binds.
    pub listen: String,
    pub shutdown_clients: bool,
    /// `ssl != no`: with `ssl = no`, listeners with `ssl = yes` are left out (as Dovecot).
    pub ssl: bool,
    pub log: LogSettings,
    pub services: Vec<ServiceSpec>,
}

/// One `service NAME { }` with its limits resolved (`0` meaning "the default_* value" has
/// already been replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// The protocol the service belongs to; empty for services every protocol uses.
    pub protocol: String,
    pub process_limit: u32,
    pub client_limit: u32,
    /// Connections a process serves before exiting; 0 = unlimited.
    pub service_count: u32,
    pub process_min_avail: u32,
    /// How long an extra idle process lives; `None` = forever.
    pub idle_kill: Option<Duration>,
    pub inet_listeners: Vec<InetListenerSpec>,
    pub unix_listeners: Vec<UnixListenerSpec>,
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
    /// Applies Dovecot's "0 means the default" rule.
    pub fn resolve(
        &self,
        process_limit: u32,
        client_limit: u32,
        idle_kill: Duration,
    ) -> (u32, u32, Option<Duration>) {
        let process_limit = if process_limit == 0 {
            self.process_limit
        } else {
            process_limit
        };
        let client_limit = if client_limit == 0 {
            self.client_limit
        } else {
            client_limit
        };
        let idle_kill = if idle_kill.is_zero() {
            self.idle_kill
        } else {
            idle_kill
        };
        (
            process_limit.max(1),
            client_limit.max(1),
            (!idle_kill.is_zero()).then_some(idle_kill),
        )
    }
}

impl MasterSettings {
    /// Whether a service belongs to an enabled protocol (services of no protocol always do).
    pub fn protocol_enabled(&self, service: &ServiceSpec) -> bool {
        service.protocol.is_empty() || self.protocols.contains(&service.protocol)
    }
}
