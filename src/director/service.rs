//! `service director`: one process (Dovecot's `process_limit = 1`), a thread per
//! connection, the state behind a lock. What a connection is for comes from its listener's
//! name, as in Dovecot: `…-userdb` (LMTP and doveadm lookups, relayed to `auth-userdb`),
//! `…-admin` / `…-doveadm` (`coteadm director`), other unix sockets such as `login/director`
//! (login processes, relayed to `auth-login`). A relayed connection goes through untouched
//! except for the successful lookups that want a proxy and name no host: the director adds
//! the user's backend (`host=`) and `proxy_refresh=`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::auth::fields::{split_key_value, tab_unescape};
use crate::config::Config;
use crate::master::privileges::visible_path;
use crate::net::{Connection, Stream};

use super::session::{HANDSHAKE, KICK};
use super::settings::DirectorSettings;
use super::state::Director;

/// The longest line read from a client or the auth service.
const MAX_LINE: u64 = 65536;
/// A session's watcher only waits for its connection to close.
const SESSION_STACK: usize = 64 * 1024;

struct Service {
    director: Mutex<Director>,
    base_dir: PathBuf,
    master_user_separator: Option<char>,
}

static SERVICE: OnceLock<Service> = OnceLock::new();

/// The clock users expire by (unix seconds).
pub use crate::localtime::now;

/// The director process starts: its settings (checked again: the master checked them too).
pub fn init(config: &Config) -> Result<(), String> {
    let settings = DirectorSettings::from_config(config).map_err(|e| e.to_string())?;
    let mut director = Director::new(
        settings.mail_hosts,
        settings.user_expire,
        &settings.username_hash,
    );
    if settings.ring.is_some() {
        director.share_with_ring();
    }
    let _ = SERVICE.set(Service {
        director: Mutex::new(director),
        base_dir: PathBuf::from(config.global().str("base_dir")),
        master_user_separator: settings.master_user_separator,
    });
    if let Some(ring) = &settings.ring {
        super::ring::start(ring, settings.user_expire);
    }
    Ok(())
}

impl Service {
    /// Runs `f` on the state; what it changed goes to the other directors.
    fn with<T>(&self, f: impl FnOnce(&mut Director) -> T) -> T {
        let mut director = self.director.lock().unwrap_or_else(|p| p.into_inner());
        let result = f(&mut director);
        super::ring::broadcast(&director.take_outbox());
        result
    }
}

fn service() -> Option<&'static Service> {
    SERVICE.get()
}

/// Runs `f` on this process's director state (`None`: not initialized); changes go to the
/// other directors.
pub(super) fn with_director<T>(f: impl FnOnce(&mut Director) -> T) -> Option<T> {
    service().map(|s| s.with(f))
}

/// What a listener is for (Dovecot's `director_socket_type_get_from_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketKind {
    Auth,
    Userdb,
    Admin,
    Ring,
    Unsupported(&'static str),
}

fn socket_kind(name: &str, inet: bool) -> SocketKind {
    let base = name.rsplit('/').next().unwrap_or(name);
    let suffix = base.rsplit('-').next().unwrap_or(base);
    match suffix {
        "auth" => SocketKind::Auth,
        "userdb" => SocketKind::Userdb,
        "admin" | "doveadm" => SocketKind::Admin,
        "ring" => SocketKind::Ring,
        "authreply" => SocketKind::Unsupported("authreply"),
        "notify" => SocketKind::Unsupported("proxy-notify"),
        _ if inet => SocketKind::Ring,
        _ => SocketKind::Auth,
    }
}

/// `service director`: serves one connection.
pub fn serve_director(_config: &Config, conn: Connection) {
    let Some(service) = service() else {
        log::error!("BUG: the director was not initialized");
        return;
    };
    let inet = matches!(conn.stream, Stream::Tcp(_));
    match (socket_kind(&conn.listener.name, inet), conn.stream) {
        (SocketKind::Ring, Stream::Tcp(tcp)) => super::ring::serve_incoming(tcp),
        (SocketKind::Admin, Stream::Unix(stream)) => {
            if let Err(e) = super::admin::serve(stream) {
                log::error!("doveadm connection: {e}");
            }
        }
        (kind @ (SocketKind::Auth | SocketKind::Userdb), Stream::Unix(stream)) => {
            let userdb = kind == SocketKind::Userdb;
            let auth = service
                .base_dir
                .join(if userdb { "auth-userdb" } else { "auth-login" });
            if let Err(e) = relay_auth(service, stream, &visible_path(&auth), userdb) {
                log::error!("{e}");
            }
        }
        (SocketKind::Unsupported(what), _) => {
            log::error!(
                "{} listener {}: not supported by cote's director",
                what,
                conn.listener.name
            );
        }
        (kind, _) => log::error!(
            "{}: a {kind:?} listener must be a {} socket",
            conn.listener.name,
            if kind == SocketKind::Ring {
                "TCP"
            } else {
                "unix"
            }
        ),
    }
}

/// A login process's (or LMTP's) connection: either a proxied session's registration, or
/// an auth connection relayed to the auth service.
fn relay_auth(
    service: &Service,
    client: UnixStream,
    auth_path: &Path,
    userdb: bool,
) -> Result<(), String> {
    let mut reader = BufReader::new(
        client
            .try_clone()
            .map_err(|e| format!("dup() failed: {e}"))?,
    );
    let mut first = String::new();
    match (&mut reader).take(MAX_LINE).read_line(&mut first) {
        Ok(0) => return Ok(()),
        Ok(_) => {}
        Err(e) => return Err(format!("read(login connection) failed: {e}")),
    }
    if !userdb && first.trim_end() == HANDSHAKE {
        return watch_session(reader, client);
    }
    let auth = UnixStream::connect(auth_path).map_err(|e| {
        format!(
            "connect({}) failed: {}",
            auth_path.display(),
            crate::errtext::os_error_text(&e)
        )
    })?;
    let mut to_auth = auth.try_clone().map_err(|e| format!("dup() failed: {e}"))?;
    let mut ahead = first.into_bytes();
    ahead.extend_from_slice(reader.buffer());
    let mut client_rest = client
        .try_clone()
        .map_err(|e| format!("dup() failed: {e}"))?;
    // Client → auth as it comes; auth → client line by line, completing proxy lookups.
    let upstream = std::thread::spawn(move || {
        let result = to_auth
            .write_all(&ahead)
            .and_then(|()| io::copy(&mut client_rest, &mut to_auth).map(drop));
        let _ = to_auth.shutdown(Shutdown::Write);
        result
    });
    let result = relay_replies(service, auth, &client, userdb);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.join();
    result
}

fn relay_replies(
    service: &Service,
    auth: UnixStream,
    mut client: &UnixStream,
    userdb: bool,
) -> Result<(), String> {
    let mut lines = BufReader::new(auth);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut lines).take(MAX_LINE).read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("read(auth connection) failed: {e}")),
        }
        let text = line.trim_end_matches('\n');
        let reply = complete(service, text, userdb);
        let out = reply.as_deref().unwrap_or(text);
        if client.write_all(format!("{out}\n").as_bytes()).is_err() {
            return Ok(());
        }
    }
}

/// The fields of a successful lookup that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProxyRequest {
    proxy: bool,
    proxy_maybe: bool,
    host: bool,
    user: Option<String>,
    destuser: Option<String>,
    tag: String,
    local_ip: Option<IpAddr>,
    local_port: u16,
    port: u16,
}

fn parse_request<'a>(args: impl Iterator<Item = &'a str>) -> ProxyRequest {
    let mut r = ProxyRequest::default();
    for arg in args {
        let (key, value) = split_key_value(arg);
        match key {
            "proxy" => r.proxy = true,
            "director_proxy_maybe" => r.proxy_maybe = true,
            "host" => r.host = true,
            "lip" => r.local_ip = value.parse().ok(),
            "lport" => r.local_port = value.parse().unwrap_or(0),
            "port" => r.port = value.parse().unwrap_or(0),
            "destuser" => r.destuser = Some(tab_unescape(value)),
            "director_tag" => r.tag = tab_unescape(value),
            "user" => r.user = Some(tab_unescape(value)),
            _ => {}
        }
    }
    r
}

/// The line to send instead of the auth service's `line`, when it is a successful lookup
/// that wants a proxy without a host; `None`: the line goes as it is.
fn complete(service: &Service, line: &str, userdb: bool) -> Option<String> {
    let params = if userdb {
        line.strip_prefix("PASS\t")?
    } else {
        line.strip_prefix("OK\t")?
    };
    let mut args = params.split('\t');
    let id = args.next()?;
    let request = parse_request(args);
    if (!request.proxy && !request.proxy_maybe) || request.host {
        return None;
    }
    let mut username = request.destuser.or(request.user)?;
    if let Some(sep) = service.master_user_separator {
        if let Some((login, _)) = username.split_once(sep) {
            username = login.to_string();
        }
    }
    super::ring::wait_synced();
    let placed = service.with(|d| {
        d.request(&username, &request.tag, now())
            .map(|dest| (dest, d.user_expire / 2))
    });
    match placed {
        Err(e) => {
            log::error!("User {username} host lookup failed: {e}");
            Some(format!("FAIL\t{id}\tcode=temp_fail"))
        }
        Ok((dest, refresh)) => {
            let is_self = request.proxy_maybe
                && request.local_ip == Some(dest.ip)
                && (request.port == 0
                    || request.local_port == 0
                    || request.port == request.local_port);
            if is_self {
                return None;
            }
            Some(match dest.hostname {
                Some(name) => format!(
                    "{line}\tproxy_refresh={refresh}\thost={name}\thostip={}",
                    dest.ip
                ),
                None => format!("{line}\tproxy_refresh={refresh}\thost={}", dest.ip),
            })
        }
    }
}

/// A registered session: kept until the login process closes the connection.
fn watch_session(mut reader: BufReader<UnixStream>, client: UnixStream) -> Result<(), String> {
    let mut line = String::new();
    if (&mut reader).take(MAX_LINE).read_line(&mut line).is_err() {
        return Ok(());
    }
    let Some(user) = line.trim_end().strip_prefix("SESSION\t").map(tab_unescape) else {
        return Err(format!(
            "login process sent an invalid session line: {}",
            line.trim_end()
        ));
    };
    let kicker = client
        .try_clone()
        .map_err(|e| format!("dup() failed: {e}"))?;
    // Never blocks the director (its state is locked while it kicks).
    let kick = Box::new(move || {
        let line = format!("{KICK}\n");
        let _ = nix::sys::socket::send(
            kicker.as_raw_fd(),
            line.as_bytes(),
            nix::sys::socket::MsgFlags::MSG_DONTWAIT | nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        );
    });
    let id = match with_director(|d| d.session_started(&user, kick)) {
        Some(id) => id?,
        None => return Ok(()),
    };
    // The session is over when the connection is. Watched by a small thread of its own, so
    // that sessions do not count against the process's client_limit: only logins do.
    let wait = move || {
        let _ = io::copy(&mut reader, &mut io::sink());
        with_director(|d| d.session_ended(id, now()));
    };
    if let Err(e) = std::thread::Builder::new()
        .stack_size(SESSION_STACK)
        .spawn(wait)
    {
        log::error!("Can't watch the session of {user}: {e}");
        with_director(|d| d.session_ended(id, now()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::director::hosts::MailHosts;

    fn service(separator: Option<char>) -> Service {
        Service {
            director: Mutex::new(Director::new(
                MailHosts::parse("10.0.0.1").unwrap(),
                900,
                "%Lu",
            )),
            base_dir: PathBuf::new(),
            master_user_separator: separator,
        }
    }

    #[test]
    fn socket_kinds_follow_the_listener_names() {
        assert_eq!(socket_kind("login/director", false), SocketKind::Auth);
        assert_eq!(socket_kind("director-userdb", false), SocketKind::Userdb);
        assert_eq!(socket_kind("director-admin", false), SocketKind::Admin);
        assert_eq!(socket_kind("", true), SocketKind::Ring);
        assert_eq!(
            socket_kind("login/proxy-notify", false),
            SocketKind::Unsupported("proxy-notify")
        );
    }

    #[test]
    fn proxy_lookups_without_host_get_the_users_backend() {
        let s = service(Some('*'));
        assert_eq!(
            complete(&s, "OK\t1\tuser=alice\tproxy", false).as_deref(),
            Some("OK\t1\tuser=alice\tproxy\tproxy_refresh=450\thost=10.0.0.1")
        );
        assert_eq!(
            complete(&s, "PASS\t7\tuser=alice*admin\tproxy=y", true).as_deref(),
            Some("PASS\t7\tuser=alice*admin\tproxy=y\tproxy_refresh=450\thost=10.0.0.1")
        );
        // Not for the director: no proxy, a host already, another reply, the other socket.
        for (line, userdb) in [
            ("OK\t1\tuser=alice", false),
            ("OK\t1\tuser=alice\tproxy\thost=10.9.9.9", false),
            ("FAIL\t1\tuser=alice\tproxy", false),
            ("OK\t1\tuser=alice\tproxy", true),
            ("CONT\t1\tabc", false),
        ] {
            assert_eq!(complete(&s, line, userdb), None, "{line}");
        }
        // director_proxy_maybe toward the backend the user is on: logs in here.
        assert_eq!(
            complete(
                &s,
                "OK\t2\tuser=bob\tdirector_proxy_maybe\tlip=10.0.0.1\tlport=143",
                false
            ),
            None
        );
        let nohost = service(None);
        nohost
            .director
            .lock()
            .unwrap()
            .host_remove("10.0.0.1".parse().unwrap(), 1)
            .unwrap();
        assert_eq!(
            complete(&nohost, "OK\t3\tuser=carol\tproxy", false).as_deref(),
            Some("FAIL\t3\tcode=temp_fail")
        );
    }
}
