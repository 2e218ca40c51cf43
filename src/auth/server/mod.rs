//! The auth service: Dovecot's auth protocols on the unix sockets of `service auth`.
//!
//! - `auth-login`, `login/login` (login processes: successful logins wait for the mail
//!   process's REQUEST) and `auth-client` (authentication only: Postfix, `coteadm auth
//!   test`): the auth client protocol 1.2 (`client.rs`).
//! - `auth-master` (mail processes: REQUEST to verify a login they were handed, plus USER /
//!   PASS / LIST) and `auth-userdb` (LDA, LMTP, coteadm: USER / PASS / LIST only, with the
//!   uid check of a 0666 socket): the auth master protocol 1.1 (`master.rs`).
//!
//! The socket's kind comes from its name, as in Dovecot: a name ending in `login` is for
//! logins, `master` and `userdb` as said, anything else is an authentication client.
//!
//! Each connection is served by its own thread (the master runs the service with
//! `client_limit` threads in one process, `process_limit = 1`), and each authentication
//! step that may block (a passdb lookup, the failure delay) runs in a thread of its own, so
//! one slow lookup never holds up the other requests of a login process.

mod client;
mod master;

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, OnceLock};

use super::engine::AuthSet;
use super::worker::WorkerClient;
use crate::config::Config;
use crate::net::{Address, Connection, Stream};

pub use client::ClientConnection;

/// What a socket is for, from its name (Dovecot's auth_socket_type_get).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// Login processes (`auth-login`, `login/login`).
    Login,
    /// Authentication only (`auth-client`, Postfix's `private/auth`).
    Client,
    Master,
    Userdb,
}

impl SocketKind {
    pub fn of(path: &Path) -> SocketKind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let suffix = name.rsplit('-').next().unwrap_or(&name);
        match suffix {
            "login" => SocketKind::Login,
            "master" => SocketKind::Master,
            "userdb" => SocketKind::Userdb,
            _ => SocketKind::Client,
        }
    }
}

/// The state the connections of one auth service process share.
pub struct AuthService {
    pub auths: AuthSet,
    /// Login connections by the client's CPID, for the master REQUEST.
    clients: Mutex<HashMap<u32, Arc<ClientConnection>>>,
    next_connect_uid: AtomicU32,
}

impl AuthService {
    pub fn new(auths: AuthSet) -> AuthService {
        AuthService {
            auths,
            clients: Mutex::new(HashMap::new()),
            next_connect_uid: AtomicU32::new(1),
        }
    }

    /// Serves one accepted connection on a socket of `kind` until it closes.
    pub fn serve(self: &Arc<Self>, stream: UnixStream, kind: SocketKind, path: &Path) {
        match kind {
            SocketKind::Login | SocketKind::Client => {
                client::serve(self, stream, kind == SocketKind::Login)
            }
            SocketKind::Master | SocketKind::Userdb => {
                master::serve(self, stream, kind == SocketKind::Userdb, path)
            }
        }
    }

    fn register_client(&self, pid: u32, conn: Arc<ClientConnection>) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = clients.get(&pid) {
            if !old.is_closed() {
                return false;
            }
        }
        clients.insert(pid, conn);
        true
    }

    fn unregister_client(&self, pid: u32, conn: &Arc<ClientConnection>) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.get(&pid).is_some_and(|c| Arc::ptr_eq(c, conn)) {
            clients.remove(&pid);
        }
    }

    fn client(&self, pid: u32) -> Option<Arc<ClientConnection>> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.get(&pid).cloned()
    }
}

/// The process's service, made from the configuration on the first connection.
static SERVICE: OnceLock<Result<Arc<AuthService>, String>> = OnceLock::new();

fn service(config: &Config) -> Result<Arc<AuthService>, String> {
    SERVICE
        .get_or_init(|| {
            let settings = super::settings::AuthSettings::from_settings(&config.global())?;
            let workers = WorkerClient::new(settings.base_dir.join("auth-worker"));
            let auths = AuthSet::new(config.clone(), Some(workers));
            // Build the global engine now: a bad passdb is a startup error.
            auths.get("")?;
            Ok(Arc::new(AuthService::new(auths)))
        })
        .clone()
}

fn unix_path(conn: &Connection) -> PathBuf {
    match &conn.local {
        Address::Unix(Some(path)) => path.clone(),
        _ => PathBuf::from(&conn.listener.name),
    }
}

/// `service auth`: one connection on one of its unix listeners.
pub fn serve_auth(config: &Config, conn: Connection) {
    let path = unix_path(&conn);
    let Stream::Unix(stream) = conn.stream else {
        log::error!("auth: inet listeners are not supported, only unix sockets");
        return;
    };
    match service(config) {
        Ok(service) => service.serve(stream, SocketKind::of(&path), &path),
        Err(e) => {
            crate::log::emit(crate::log::Level::Fatal, format_args!("{e}"));
            std::process::exit(crate::master::FATAL_EXIT);
        }
    }
}

/// The auth worker side, made on the first connection.
static WORKER_AUTHS: OnceLock<AuthSet> = OnceLock::new();

/// `service auth-worker`: serves the auth service's blocking lookups on one connection.
pub fn serve_auth_worker(config: &Config, conn: Connection) {
    let Stream::Unix(stream) = conn.stream else {
        log::error!("auth-worker: inet listeners are not supported, only unix sockets");
        return;
    };
    let auths = WORKER_AUTHS.get_or_init(|| AuthSet::new(config.clone(), None));
    super::worker::serve(auths, stream);
}

/// Peer credentials of a unix socket (SO_PEERCRED): pid, uid, gid.
fn peer_credentials(stream: &UnixStream) -> Option<(i32, u32, u32)> {
    use std::os::fd::AsRawFd;
    // SAFETY: ucred is plain data; getsockopt writes at most its size.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: a valid socket and a pointer/length pair for ucred.
    let ret = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (ret == 0).then_some((cred.pid, cred.uid, cred.gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_kinds_as_dovecot() {
        let kind = |p: &str| SocketKind::of(Path::new(p));
        assert_eq!(kind("/run/dovecot/auth-login"), SocketKind::Login);
        assert_eq!(kind("/run/dovecot/login/login"), SocketKind::Login);
        assert_eq!(kind("/run/dovecot/auth-client"), SocketKind::Client);
        assert_eq!(kind("/var/spool/postfix/private/auth"), SocketKind::Client);
        assert_eq!(kind("/run/dovecot/auth-master"), SocketKind::Master);
        assert_eq!(kind("/run/dovecot/auth-userdb"), SocketKind::Userdb);
    }
}
