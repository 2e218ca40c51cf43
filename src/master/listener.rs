//! Listening sockets: resolving `listen`/`address`, binding inet and unix listeners the way
//! Dovecot does, and keeping bound sockets across a reload.

use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use nix::unistd::{Group, User};

use super::settings::UnixListenerSpec;

/// What identifies a bound socket, so a reload can keep it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListenerKey {
    Inet { addr: SocketAddr, reuse_port: bool },
    Unix(PathBuf),
}

#[derive(Debug)]
pub struct ListenError(pub String);

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a `listen`/`address` value ("*, ::", "127.0.0.1 ::1") and resolves each entry:
/// `*` is every IPv4 address, `::` (or `[::]`) every IPv6 address, anything else an IP or a
/// host name (all its addresses).
pub fn resolve(addresses: &str, port: u16) -> Result<Vec<SocketAddr>, ListenError> {
    let mut out = Vec::new();
    for entry in addresses.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
        let resolved: Vec<SocketAddr> = match entry {
            "*" => vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)],
            "::" | "[::]" => vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)],
            _ => {
                let bare = entry
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .unwrap_or(entry);
                match bare.parse::<IpAddr>() {
                    Ok(ip) => vec![SocketAddr::new(ip, port)],
                    Err(_) => (bare, port)
                        .to_socket_addrs()
                        .map_err(|e| ListenError(format!("Can't resolve address {entry}: {e}")))?
                        .collect(),
                }
            }
        };
        if resolved.is_empty() {
            return Err(ListenError(format!("No IPs for address: {entry}")));
        }
        for addr in resolved {
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    Ok(out)
}

fn check<T>(ret: libc::c_int, ok: T) -> io::Result<T> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ok)
    }
}

fn set_int_opt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(ret, ())
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn new_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2); on success we own the returned descriptor.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    // SAFETY: fd is a fresh descriptor nobody else owns.
    check(fd, ()).map(|()| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn listen(fd: &OwnedFd, backlog: u32) -> io::Result<()> {
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    // SAFETY: listen(2) on a descriptor we own.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) }, ())
}

/// Binds and listens on a TCP address with Dovecot's socket options (SO_REUSEADDR,
/// SO_KEEPALIVE, IPV6_V6ONLY so `*` and `::` can share a port, SO_REUSEPORT when asked).
pub fn bind_inet(addr: SocketAddr, reuse_port: bool, backlog: u32) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = new_socket(domain)?;
    let raw = fd.as_raw_fd();
    set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    set_int_opt(raw, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    if reuse_port {
        set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    if addr.is_ipv6() {
        set_int_opt(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    let (storage, len) = sockaddr(&addr);
    // SAFETY: bind(2) with a sockaddr of the given length.
    check(
        unsafe { libc::bind(raw, (&storage as *const libc::sockaddr_storage).cast(), len) },
        (),
    )?;
    listen(&fd, backlog)?;
    Ok(fd)
}

fn bind_unix_once(path: &Path, backlog: u32) -> io::Result<OwnedFd> {
    let fd = new_socket(libc::AF_UNIX)?;
    // SAFETY: sockaddr_un is plain data.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= sun.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path too long for a unix socket",
        ));
    }
    for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: bind(2) with an initialized sockaddr_un and a length within it.
    let ret = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len as libc::socklen_t,
        )
    };
    check(ret, ())?;
    listen(&fd, backlog)?;
    Ok(fd)
}

/// The uid and gid a unix listener's `user`/`group` name, or None where empty.
///
/// Only a master started as root changes owners. Not started as root, privilege changes are
/// skipped (DESIGN.md §1): the socket stays the running user's, with its configured mode, and
/// the names are not looked up, so a user that exists only on production machines does not
/// stop a developer's server. (Dovecot would try the chown and fail with EPERM; its rootless
/// setups configure their own user everywhere instead.)
fn owner(
    spec: &UnixListenerSpec,
    privileged: bool,
) -> Result<(Option<u32>, Option<u32>), ListenError> {
    if !privileged {
        return Ok((None, None));
    }
    let uid = if spec.user.is_empty() {
        None
    } else {
        match User::from_name(&spec.user) {
            Ok(Some(u)) => Some(u.uid.as_raw()),
            Ok(None) => return Err(ListenError(format!("User doesn't exist: {}", spec.user))),
            Err(e) => {
                return Err(ListenError(format!(
                    "getpwnam({}) failed: {}",
                    spec.user,
                    e.desc()
                )))
            }
        }
    };
    let gid = if spec.group.is_empty() {
        None
    } else {
        match Group::from_name(&spec.group) {
            Ok(Some(g)) => Some(g.gid.as_raw()),
            Ok(None) => return Err(ListenError(format!("Group doesn't exist: {}", spec.group))),
            Err(e) => {
                return Err(ListenError(format!(
                    "getgrnam({}) failed: {}",
                    spec.group,
                    e.desc()
                )))
            }
        }
    };
    Ok((uid, gid))
}

/// Binds a unix listener with the configured mode and owner. A stale socket file (nobody
/// answering) is replaced; a live one is an error (Dovecot: `Socket already exists`).
pub fn bind_unix(
    path: &Path,
    spec: &UnixListenerSpec,
    backlog: u32,
) -> Result<OwnedFd, ListenError> {
    let (uid, gid) = owner(spec, nix::unistd::geteuid().is_root())?;
    // The mode is applied through the umask so the socket never exists with wider access;
    // the master is single-threaded, so changing the umask briefly is safe.
    // SAFETY: umask(2) has no preconditions.
    let old_umask = unsafe { libc::umask(!(spec.mode as libc::mode_t) & 0o777) };
    let result = (|| {
        for attempt in 0..3 {
            match bind_unix_once(path, backlog) {
                Ok(fd) => return Ok(fd),
                Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                    let live = match UnixStream::connect(path) {
                        Ok(_) => true,
                        Err(e) => e.raw_os_error() != Some(libc::ECONNREFUSED),
                    };
                    if live || attempt == 2 {
                        return Err(ListenError(format!(
                            "Socket already exists: {}",
                            path.display()
                        )));
                    }
                    if let Err(e) = std::fs::remove_file(path) {
                        if e.kind() != io::ErrorKind::NotFound {
                            return Err(ListenError(format!(
                                "unlink({}) failed: {}",
                                path.display(),
                                crate::errtext::os_error_text(&e)
                            )));
                        }
                    }
                }
                Err(e) => {
                    return Err(ListenError(format!(
                        "net_listen_unix({}) failed: {}",
                        path.display(),
                        crate::errtext::os_error_text(&e)
                    )))
                }
            }
        }
        Err(ListenError(format!(
            "Socket already exists: {}",
            path.display()
        )))
    })();
    // SAFETY: restoring the previous umask.
    unsafe { libc::umask(old_umask) };
    let fd = result?;
    // SAFETY: geteuid/getegid have no preconditions.
    let (my_uid, my_gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid.is_some_and(|u| u != my_uid) || gid.is_some_and(|g| g != my_gid) {
        let cpath = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| ListenError(format!("invalid path {}", path.display())))?;
        // SAFETY: chown(2) with a valid C string; -1 (as u32::MAX) leaves an id unchanged.
        let ret = unsafe {
            libc::chown(
                cpath.as_ptr(),
                uid.unwrap_or(u32::MAX),
                gid.unwrap_or(u32::MAX),
            )
        };
        if ret < 0 {
            return Err(ListenError(format!(
                "chown({}, {}, {}) failed: {}",
                path.display(),
                uid.map_or(-1, i64::from),
                gid.map_or(-1, i64::from),
                crate::errtext::os_error_text(&io::Error::last_os_error())
            )));
        }
    }
    Ok(fd)
}

/// The sockets (bound, listening, non-blocking) of one configuration generation, shared by
/// its services and handed to the next generation on reload.
#[derive(Debug, Default)]
pub struct SocketSet {
    sockets: HashMap<ListenerKey, Rc<OwnedFd>>,
}

impl SocketSet {
    /// The socket for `key`: taken from `previous` (the old generation's set) when bound there,
    /// bound now otherwise.
    pub fn get_or_bind(
        &mut self,
        key: &ListenerKey,
        previous: Option<&SocketSet>,
        bind: impl FnOnce() -> Result<OwnedFd, ListenError>,
    ) -> Result<Rc<OwnedFd>, ListenError> {
        if let Some(s) = self.sockets.get(key) {
            return Ok(Rc::clone(s));
        }
        let socket = match previous.and_then(|p| p.sockets.get(key)) {
            Some(s) => Rc::clone(s),
            None => Rc::new(bind()?),
        };
        self.sockets.insert(key.clone(), Rc::clone(&socket));
        Ok(socket)
    }
}

/// Dovecot's listen backlog: process_limit × client_limit, at least 4 (the kernel caps it at
/// net.core.somaxconn).
pub fn backlog(process_limit: u32, client_limit: u32) -> u32 {
    process_limit.saturating_mul(client_limit).max(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn resolve_handles_dovecot_forms() {
        let v4any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 143);
        let v6any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 143);
        assert_eq!(resolve("*, ::", 143).unwrap(), [v4any, v6any]);
        assert_eq!(resolve("[::]", 143).unwrap(), [v6any]);
        assert_eq!(
            resolve("127.0.0.1  127.0.0.2,127.0.0.1", 1).unwrap(),
            [
                "127.0.0.1:1".parse().unwrap(),
                "127.0.0.2:1".parse().unwrap()
            ] as [SocketAddr; 2]
        );
        assert_eq!(
            resolve("[::1]", 5).unwrap(),
            ["[::1]:5".parse().unwrap()] as [SocketAddr; 1]
        );
        assert!(resolve("", 5).unwrap().is_empty());
        let err = resolve("no-such-host.invalid", 5).unwrap_err().to_string();
        assert!(
            err.starts_with("Can't resolve address no-such-host.invalid: "),
            "{err}"
        );
    }

    #[test]
    fn inet_listener_accepts_and_v6only_allows_sharing() {
        let fd = bind_inet("127.0.0.1:0".parse().unwrap(), false, 4).unwrap();
        let listener = std::net::TcpListener::from(fd);
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        // A second bind to the same address fails with EADDRINUSE.
        let err = bind_inet(addr, false, 4).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
        // With SO_REUSEPORT on both, two sockets share the address.
        let a = bind_inet("127.0.0.1:0".parse().unwrap(), true, 4).unwrap();
        let port = std::net::TcpListener::from(a).local_addr().unwrap();
        assert!(bind_inet(port, true, 4).is_ok());
    }

    #[test]
    fn unix_listener_mode_stale_and_live() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let spec = UnixListenerSpec {
            path: path.clone(),
            mode: 0o600,
            user: String::new(),
            group: String::new(),
        };
        let fd = bind_unix(&path, &spec, 4).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A live socket is not stolen.
        let err = bind_unix(&path, &spec, 4).unwrap_err().to_string();
        assert_eq!(err, format!("Socket already exists: {}", path.display()));
        // A stale one (its owner closed it) is replaced.
        drop(fd);
        let spec = UnixListenerSpec {
            mode: 0o666,
            ..spec
        };
        let _fd = bind_unix(&path, &spec, 4).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666);
        UnixStream::connect(&path).unwrap();
    }

    #[test]
    fn unix_listener_owners_only_when_privileged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let spec = UnixListenerSpec {
            path: path.clone(),
            mode: 0o600,
            user: "no-such-user-cote".into(),
            group: String::new(),
        };
        let err = owner(&spec, true).unwrap_err().to_string();
        assert_eq!(err, "User doesn't exist: no-such-user-cote");
        // Not root: owners are neither looked up nor changed.
        assert_eq!(owner(&spec, false).unwrap(), (None, None));
        let group = UnixListenerSpec {
            user: String::new(),
            group: "no-such-group-cote".into(),
            ..spec
        };
        let err = owner(&group, true).unwrap_err().to_string();
        assert_eq!(err, "Group doesn't exist: no-such-group-cote");
        assert_eq!(
            owner(
                &UnixListenerSpec {
                    group: "root".into(),
                    ..group
                },
                true
            )
            .unwrap(),
            (None, Some(0))
        );
    }

    #[test]
    fn socket_set_reuses_previous_sockets() {
        let key = ListenerKey::Inet {
            addr: "127.0.0.1:0".parse().unwrap(),
            reuse_port: false,
        };
        let mut old = SocketSet::default();
        let a = old
            .get_or_bind(&key, None, || {
                bind_inet("127.0.0.1:0".parse().unwrap(), false, 4)
                    .map_err(|e| ListenError(e.to_string()))
            })
            .unwrap();
        let mut new = SocketSet::default();
        let b = new
            .get_or_bind(&key, Some(&old), || unreachable!("must reuse"))
            .unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        // A key the old set lacks is bound anew.
        let other = ListenerKey::Inet {
            addr: "127.0.0.1:1".parse().unwrap(),
            reuse_port: false,
        };
        let c = new
            .get_or_bind(&other, Some(&old), || {
                bind_inet("127.0.0.1:0".parse().unwrap(), false, 4)
                    .map_err(|e| ListenError(e.to_string()))
            })
            .unwrap();
        assert!(!Rc::ptr_eq(&a, &c));
    }

    #[test]
    fn backlog_is_dovecots() {
        assert_eq!(backlog(1, 1), 4);
        assert_eq!(backlog(10, 1000), 10_000);
        assert_eq!(backlog(u32::MAX, 2), u32::MAX);
    }
}
