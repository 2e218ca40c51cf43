//! One configuration generation: the configuration, the services it runs, their sockets, and
//! the pipes its workers share with the master. A reload builds a new generation (taking over
//! the sockets that did not change) and retires the old one.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;

use nix::fcntl::OFlag;

use super::listener::{self, ListenerKey, SocketSet};
use super::privileges::{self, Restrict};
use super::registry::{Handler, InitHook, Registry};
use super::service::{Service, ServiceSocket};
use super::settings::{MasterSettings, ServiceSpec};
use super::status::StatusReader;
use crate::net::accepted::ListenerInfo;

pub struct Generation<C> {
    pub config: Arc<C>,
    pub settings: MasterSettings,
    pub sockets: SocketSet,
    pub services: Vec<Service>,
    /// `handlers[i]` serves `services[i]`; `inits[i]` prepares its processes.
    pub handlers: Vec<Handler<C>>,
    pub inits: Vec<Option<InitHook<C>>>,
    /// What `services[i]`'s processes become (None: not started as root, no change).
    pub identities: Vec<Option<Restrict>>,
    pub status_read: OwnedFd,
    pub status_write: OwnedFd,
    pub status: StatusReader,
    /// Workers poll the read end; closing the write end tells them to stop accepting.
    pub alive_read: OwnedFd,
    pub alive_write: Option<OwnedFd>,
}

/// What building a generation found worth a warning, and what made it fail.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    /// An error that is the whole story (a service's user does not exist).
    pub fatal: Option<String>,
}

fn inet_sockets(
    spec: &ServiceSpec,
    settings: &MasterSettings,
    sockets: &mut SocketSet,
    previous: Option<&SocketSet>,
    report: &mut BuildReport,
) -> Vec<ServiceSocket> {
    let backlog = listener::backlog(spec.process_limit, spec.effective_client_limit());
    let mut out = Vec::new();
    for l in spec.inet_listeners.iter().filter(|l| l.port != 0) {
        // With ssl = no, implicit-TLS listeners are silently left out (as Dovecot).
        if l.ssl && !settings.ssl {
            continue;
        }
        let addresses = if l.address.is_empty() {
            &settings.listen
        } else {
            &l.address
        };
        let addrs = match listener::resolve(addresses, l.port) {
            Ok(a) => a,
            Err(e) => {
                report.errors.push(format!("service({}): {e}", spec.name));
                continue;
            }
        };
        for addr in addrs {
            let key = ListenerKey::Inet {
                addr,
                reuse_port: l.reuse_port,
            };
            let bound = sockets.get_or_bind(&key, previous, || {
                listener::bind_inet(addr, l.reuse_port, backlog).map_err(|e| {
                    let shown = match addr.ip() {
                        ip if ip.is_unspecified() && ip.is_ipv4() => "*".to_string(),
                        ip if ip.is_unspecified() => "::".to_string(),
                        ip => ip.to_string(),
                    };
                    listener::ListenError(format!(
                        "listen({shown}, {}) failed: {}",
                        l.port,
                        crate::errtext::os_error_text(&e)
                    ))
                })
            });
            match bound {
                Ok(socket) => out.push(ServiceSocket {
                    socket,
                    info: ListenerInfo {
                        name: l.name.clone(),
                        ssl: l.ssl,
                        haproxy: l.haproxy,
                    },
                    unix_path: None,
                }),
                Err(e) => report.errors.push(format!("service({}): {e}", spec.name)),
            }
        }
    }
    out
}

fn unix_sockets(
    spec: &ServiceSpec,
    base_dir: &Path,
    sockets: &mut SocketSet,
    previous: Option<&SocketSet>,
    report: &mut BuildReport,
) -> Vec<ServiceSocket> {
    let backlog = listener::backlog(spec.process_limit, spec.effective_client_limit());
    let mut out = Vec::new();
    for l in &spec.unix_listeners {
        let path = base_dir.join(&l.path);
        let key = ListenerKey::Unix(path.clone());
        match sockets.get_or_bind(&key, previous, || listener::bind_unix(&path, l, backlog)) {
            Ok(socket) => out.push(ServiceSocket {
                socket,
                info: ListenerInfo {
                    name: l.path.to_string_lossy().into_owned(),
                    ssl: false,
                    haproxy: false,
                },
                unix_path: Some(path),
            }),
            Err(e) => report.errors.push(format!("service({}): {e}", spec.name)),
        }
    }
    out
}

impl<C> Generation<C> {
    /// Binds the sockets of every service this binary can run (taking sockets `previous`
    /// already has) and prepares the pipes. `Err` carries every error found.
    pub fn build(
        config: Arc<C>,
        settings: MasterSettings,
        registry: &Registry<C>,
        previous: Option<&SocketSet>,
    ) -> Result<(Generation<C>, BuildReport), BuildReport> {
        let mut report = BuildReport::default();
        let mut sockets = SocketSet::default();
        let mut services = Vec::new();
        let mut handlers = Vec::new();
        let mut inits = Vec::new();
        let mut identities = Vec::new();
        let mut missing: Vec<(String, Vec<String>)> = Vec::new();
        for spec in settings
            .services
            .iter()
            .filter(|s| settings.protocol_enabled(s))
        {
            let Some(handler) = registry.handler(&spec.name) else {
                if !spec.protocol.is_empty() {
                    match missing.iter_mut().find(|(p, _)| *p == spec.protocol) {
                        Some((_, names)) => names.push(spec.name.clone()),
                        None => missing.push((spec.protocol.clone(), vec![spec.name.clone()])),
                    }
                }
                continue;
            };
            let identity = if privileges::is_root() {
                match privileges::service_restrict(&spec.name, &spec.identity, &settings.base_dir) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        report.fatal = Some(format!("service({}): {e}", spec.name));
                        return Err(report);
                    }
                }
            } else {
                None
            };
            let mut socks = inet_sockets(spec, &settings, &mut sockets, previous, &mut report);
            socks.extend(unix_sockets(
                spec,
                &settings.base_dir,
                &mut sockets,
                previous,
                &mut report,
            ));
            services.push(Service::new(spec.clone(), socks));
            handlers.push(handler);
            inits.push(registry.init(&spec.name));
            identities.push(identity);
        }
        for (protocol, names) in missing {
            report.warnings.push(format!(
                "protocol {protocol}: service {} not implemented by cote yet, not started",
                names.join(", ")
            ));
        }
        if !report.errors.is_empty() {
            return Err(report);
        }
        let pipes = (|| -> nix::Result<_> {
            let (status_read, status_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            set_nonblocking(&status_read)?;
            let (alive_read, alive_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            Ok((status_read, status_write, alive_read, alive_write))
        })();
        let (status_read, status_write, alive_read, alive_write) = match pipes {
            Ok(p) => p,
            Err(e) => {
                report.errors.push(format!("pipe() failed: {e}"));
                return Err(report);
            }
        };
        Ok((
            Generation {
                config,
                settings,
                sockets,
                services,
                handlers,
                inits,
                identities,
                status_read,
                status_write,
                status: StatusReader::default(),
                alive_read,
                alive_write: Some(alive_write),
            },
            report,
        ))
    }
}

fn set_nonblocking(fd: &OwnedFd) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(|_| ())
}
