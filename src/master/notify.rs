//! systemd's readiness protocol (sd_notify): datagrams like `READY=1` to the unix socket named
//! by `NOTIFY_SOCKET` (a leading `@` names an abstract socket).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`; without it (not under systemd) every notification is a no-op.
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|name| {
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
            let addr = match bytes.strip_prefix(b"@") {
                Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name).ok()?,
                None if bytes.starts_with(b"/") => {
                    SocketAddr::from_pathname(std::path::Path::new(&name)).ok()?
                }
                None => return None,
            };
            let socket = UnixDatagram::unbound().ok()?;
            Some((socket, addr))
        });
        Notifier { target }
    }

    /// Sends one state string (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=...`; several
    /// separated by LF). Failures are logged; systemd treats silence as a timeout anyway.
    pub fn send(&self, state: &str) {
        if let Some((socket, addr)) = &self.target {
            if let Err(e) = socket.send_to_addr(state.as_bytes(), addr) {
                log::error!("sd_notify({state}) failed: {e}");
            }
        }
    }
}
