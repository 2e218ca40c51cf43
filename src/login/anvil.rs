//! Sessions per user and IP across processes, for `mail_max_userip_connections`: Dovecot's
//! anvil service and its clients. A mail process registers its session (`CONNECT`) when it
//! takes a client over and unregisters it (`DISCONNECT`) when the session ends; a login
//! process asks (`LOOKUP`) before it hands a client over, and refuses the login when the
//! user already has that many sessions from the client's address.
//!
//! `service anvil` is one process, a thread per connection ([`serve_anvil`]). What a
//! connection registered goes when the connection closes, so a mail process that dies is
//! never counted again (Dovecot's master tells its anvil instead). The wire is Dovecot's:
//! TAB-separated lines, `CONNECT <pid> <ident>`, `DISCONNECT <pid> <ident>`, `LOOKUP
//! <ident>` (answered with the count); `<ident>` is `<service>/<ip>/<user>`, the user
//! TAB-escaped. cote's addition: CONNECT and DISCONNECT are answered `OK`, so a mail
//! process knows its session counts before it answers the login, and no longer counts
//! before the client sees its connection close (a client that reconnects at once is never
//! counted twice).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::auth::fields::tab_escape;
use crate::config::Config;
use crate::net::LineReader;
use crate::net::{Connection, Stream};

/// The longest request line the service reads.
const MAX_LINE: usize = 8192;
/// How long a client waits for the service.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The ident of a user's session of `service` from `ip`.
pub fn userip_ident(service: &str, ip: IpAddr, user: &str) -> String {
    format!("{service}/{}/{}", ip.to_canonical(), tab_escape(user))
}

/// Sessions per ident, over all connections to the service.
static SESSIONS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

fn with_sessions<T>(f: impl FnOnce(&mut HashMap<String, u32>) -> T) -> T {
    let mut guard = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

fn count(ident: &str) -> u32 {
    with_sessions(|s| s.get(ident).copied().unwrap_or(0))
}

fn add(ident: &str) {
    with_sessions(|s| *s.entry(ident.to_string()).or_insert(0) += 1);
}

fn remove(ident: &str) {
    with_sessions(|s| {
        if let Some(n) = s.get_mut(ident) {
            *n -= 1;
            if *n == 0 {
                s.remove(ident);
            }
        }
    });
}

/// `service anvil`: serves one connection until it closes, then forgets its sessions.
pub fn serve_anvil(_config: &Config, conn: Connection) {
    let Stream::Unix(stream) = conn.stream else {
        log::error!("anvil: inet listeners are not supported, only unix sockets");
        return;
    };
    if conn.listener.name != "anvil" {
        // Dovecot's auth penalty: cote's auth service does not use it.
        log::error!(
            "anvil: {} is not supported, only the anvil socket",
            conn.listener.name
        );
        return;
    }
    let mut registered = Vec::new();
    let result = serve_connection(stream, &mut registered);
    for ident in &registered {
        remove(ident);
    }
    if let Err(e) = result {
        log::error!("anvil: {e}");
    }
}

/// Answers requests; `registered` collects the idents this connection holds.
fn serve_connection(stream: UnixStream, registered: &mut Vec<String>) -> Result<(), String> {
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("dup() failed: {e}"))?;
    let mut reader = LineReader::new(stream, MAX_LINE);
    loop {
        let line = match reader.read_line() {
            Ok(Some(line)) => String::from_utf8_lossy(line).into_owned(),
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("read failed: {e}")),
        };
        let reply = answer(&line, registered)?;
        if let Some(reply) = reply {
            writer
                .write_all(format!("{reply}\n").as_bytes())
                .map_err(|e| format!("write failed: {e}"))?;
        }
    }
}

/// The reply to one request line (`None`: none is due).
fn answer(line: &str, registered: &mut Vec<String>) -> Result<Option<String>, String> {
    let args: Vec<&str> = line.split('\t').collect();
    match args.as_slice() {
        ["VERSION", ..] => Ok(None),
        ["CONNECT", pid, ident] if pid.parse::<u32>().is_ok() => {
            add(ident);
            registered.push(ident.to_string());
            Ok(Some("OK".into()))
        }
        ["DISCONNECT", pid, ident] if pid.parse::<u32>().is_ok() => {
            if let Some(i) = registered.iter().position(|r| r == ident) {
                registered.swap_remove(i);
                remove(ident);
            }
            Ok(Some("OK".into()))
        }
        ["LOOKUP", ident] => Ok(Some(count(ident).to_string())),
        _ => Err(format!("Unknown command: {line}")),
    }
}

/// A connection to the anvil service.
pub struct AnvilClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl AnvilClient {
    /// Connects to the service's socket at `path` (as root, before privileges are dropped:
    /// the socket is root's).
    pub fn connect(path: &Path) -> io::Result<AnvilClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(b"VERSION\tanvil\t1\t0\n")?;
        Ok(AnvilClient {
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn request(&mut self, line: &str) -> io::Result<String> {
        self.writer.write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        if self.reader.read_line(&mut reply)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "anvil closed the connection",
            ));
        }
        Ok(reply.trim_end().to_string())
    }

    /// How many sessions `ident` has.
    pub fn lookup(&mut self, ident: &str) -> io::Result<u32> {
        let reply = self.request(&format!("LOOKUP\t{ident}"))?;
        reply.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Received invalid reply from anvil: {reply}"),
            )
        })
    }

    /// The connection a mail process's session registers on (connected at `path` as root,
    /// before privileges are dropped): its own, or with `keep` (the process serves several
    /// sessions and cannot connect again once it is the mail user) the process's kept one.
    pub fn for_session(path: &Path, keep: bool) -> io::Result<SessionAnvil> {
        if !keep {
            return Ok(SessionAnvil(Arc::new(Mutex::new(AnvilClient::connect(
                path,
            )?))));
        }
        let mut kept = KEPT_MAIL_ANVIL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(shared) = kept.as_ref() {
            return Ok(SessionAnvil(Arc::clone(shared)));
        }
        let shared = Arc::new(Mutex::new(AnvilClient::connect(path)?));
        *kept = Some(Arc::clone(&shared));
        Ok(SessionAnvil(shared))
    }

    fn expect_ok(&mut self, line: &str) -> io::Result<()> {
        match self.request(line)?.as_str() {
            "OK" => Ok(()),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Received invalid reply from anvil: {other}"),
            )),
        }
    }
}

/// The anvil connection of a mail process that serves several sessions (see
/// [`AnvilClient::for_session`]); its sessions register and unregister on it.
static KEPT_MAIL_ANVIL: Mutex<Option<Arc<Mutex<AnvilClient>>>> = Mutex::new(None);

fn locked(anvil: &Mutex<AnvilClient>) -> std::sync::MutexGuard<'_, AnvilClient> {
    anvil.lock().unwrap_or_else(|p| p.into_inner())
}

/// An anvil connection for one session of a mail process.
pub struct SessionAnvil(Arc<Mutex<AnvilClient>>);

impl SessionAnvil {
    /// Registers a session of `ident` until the returned guard is dropped. `client` (the
    /// session's client socket) is kept open until then.
    pub fn register(self, ident: String, client: Option<OwnedFd>) -> io::Result<AnvilSession> {
        let line = format!("CONNECT\t{}\t{ident}", std::process::id());
        if let Err(e) = locked(&self.0).expect_ok(&line) {
            // A kept connection that failed is not used again.
            let mut kept = KEPT_MAIL_ANVIL.lock().unwrap_or_else(|p| p.into_inner());
            if kept.as_ref().is_some_and(|k| Arc::ptr_eq(k, &self.0)) {
                *kept = None;
            }
            return Err(e);
        }
        Ok(AnvilSession {
            anvil: self.0,
            ident,
            _client: client,
        })
    }
}

/// A registered session: unregistered when dropped, before the client socket it holds is
/// closed.
pub struct AnvilSession {
    anvil: Arc<Mutex<AnvilClient>>,
    ident: String,
    _client: Option<OwnedFd>,
}

impl Drop for AnvilSession {
    fn drop(&mut self) {
        let line = format!("DISCONNECT\t{}\t{}", std::process::id(), self.ident);
        if let Err(e) = locked(&self.anvil).expect_ok(&line) {
            // The service forgets the session when this connection closes (next, or with
            // the process when it is kept).
            log::error!("anvil: DISCONNECT failed: {e}");
        }
    }
}

/// The login process's anvil connection, made before it chroots.
static LOGIN_ANVIL: OnceLock<Option<Mutex<AnvilClient>>> = OnceLock::new();

/// Connects this login process to the anvil service (at init, as root, before the chroot)
/// when any protocol's `mail_max_userip_connections` may need it.
pub fn prepare_login(config: &Config) {
    LOGIN_ANVIL.get_or_init(|| {
        let path = Path::new(config.global().str("base_dir")).join("anvil");
        match AnvilClient::connect(&path) {
            Ok(client) => Some(Mutex::new(client)),
            Err(e) => {
                log::error!("{}", crate::errtext::connect_error_text(&path, &e));
                None
            }
        }
    });
}

/// The login process's anvil connection, if [`prepare_login`] made one.
pub fn login_anvil() -> Option<&'static Mutex<AnvilClient>> {
    LOGIN_ANVIL.get().and_then(Option::as_ref)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        let ip: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(userip_ident("imap", ip, "a\tb"), "imap/127.0.0.1/a\u{1}tb");
    }

    #[test]
    fn sessions_are_counted_until_disconnect_or_close() {
        let (server, client) = UnixStream::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let mut registered = Vec::new();
            let result = serve_connection(server, &mut registered);
            for ident in &registered {
                remove(ident);
            }
            result
        });
        let writer = client.try_clone().unwrap();
        let mut anvil = AnvilClient {
            reader: BufReader::new(client),
            writer,
        };
        let ident = "imap/192.0.2.7/test-sessions";
        assert_eq!(anvil.lookup(ident).unwrap(), 0);
        anvil.expect_ok(&format!("CONNECT\t1\t{ident}")).unwrap();
        anvil.expect_ok(&format!("CONNECT\t1\t{ident}")).unwrap();
        assert_eq!(anvil.lookup(ident).unwrap(), 2);
        anvil.expect_ok(&format!("DISCONNECT\t1\t{ident}")).unwrap();
        assert_eq!(anvil.lookup(ident).unwrap(), 1);
        // Not registered here: changes nothing.
        anvil.expect_ok("DISCONNECT\t1\tpop3/192.0.2.7/x").unwrap();
        // The connection goes: so does its last session.
        drop(anvil);
        thread.join().unwrap().unwrap();
        assert_eq!(count(ident), 0);
    }

    #[test]
    fn bad_requests_end_the_connection() {
        let mut registered = Vec::new();
        assert!(answer("CONNECT\tx\tid", &mut registered).is_err());
        assert!(answer("FOO", &mut registered).is_err());
        assert_eq!(answer("VERSION\tanvil\t1\t0", &mut registered), Ok(None));
        assert!(registered.is_empty());
    }
}
