//! Sessions per user and IP across processes, for `mail_max_userip_connections` and
//! `coteadm who`: Dovecot's
//! anvil service and its clients. A mail process registers its session (`CONNECT`) when it
//! takes a client over and unregisters it (`DISCONNECT`) when the session ends; a login
//! process asks (`LOOKUP`) before it hands a client over, and refuses the login when the
//! user already has that many sessions from the client's address.
//!
//! `service anvil` is one process, a thread per connection ([`serve_anvil`]). What a
//! connection registered goes when the connection closes, so a mail process that dies is
//! never counted again (Dovecot's master tells its anvil instead). The wire is Dovecot's:
//! TAB-separated lines, `CONNECT <pid> <ident>`, `DISCONNECT <pid> <ident>`, `LOOKUP
//! <ident>` (answered with the count), `CONNECT-DUMP` (every session per ident and pid, for
//! `coteadm who` and `kick`); `<ident>` is `<service>/<ip>/<user>`, the user
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

/// Sessions per ident and per registering process (Dovecot's `ident_pid_hash`), over all
/// connections to the service.
type Sessions = HashMap<String, HashMap<u32, u32>>;

static SESSIONS: Mutex<Option<Sessions>> = Mutex::new(None);

fn with_sessions<T>(f: impl FnOnce(&mut Sessions) -> T) -> T {
    let mut guard = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

fn count(ident: &str) -> u32 {
    with_sessions(|s| s.get(ident).map_or(0, |pids| pids.values().sum()))
}

fn add(ident: &str, pid: u32) {
    with_sessions(|s| {
        *s.entry(ident.to_string())
            .or_default()
            .entry(pid)
            .or_insert(0) += 1
    });
}

fn remove(ident: &str, pid: u32) {
    with_sessions(|s| {
        let Some(pids) = s.get_mut(ident) else {
            return;
        };
        if let Some(n) = pids.get_mut(&pid) {
            *n -= 1;
            if *n == 0 {
                pids.remove(&pid);
            }
        }
        if pids.is_empty() {
            s.remove(ident);
        }
    });
}

/// The answer to `CONNECT-DUMP` (Dovecot's `connect_limit_dump`): a line `<ident> TAB <pid>
/// TAB <sessions>` per ident and process, then an empty line. Idents are kept as their
/// TAB-escaped wire form, which is what Dovecot's escaping of the parsed ident gives back.
fn dump() -> String {
    let mut lines: Vec<(String, u32, u32)> = with_sessions(|s| {
        s.iter()
            .flat_map(|(ident, pids)| pids.iter().map(|(pid, n)| (ident.clone(), *pid, *n)))
            .collect()
    });
    lines.sort();
    let mut out = String::new();
    for (ident, pid, n) in lines {
        out.push_str(&format!("{ident}\t{pid}\t{n}\n"));
    }
    out
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
    for (ident, pid) in &registered {
        remove(ident, *pid);
    }
    if let Err(e) = result {
        log::error!("anvil: {e}");
    }
}

/// Answers requests; `registered` collects the sessions (ident, pid) this connection holds.
fn serve_connection(stream: UnixStream, registered: &mut Vec<(String, u32)>) -> Result<(), String> {
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
fn answer(line: &str, registered: &mut Vec<(String, u32)>) -> Result<Option<String>, String> {
    let args: Vec<&str> = line.split('\t').collect();
    let pid = |command: &str, s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{command}: Invalid pid"))
    };
    match args.as_slice() {
        ["VERSION", ..] => Ok(None),
        ["CONNECT", p, ident] => {
            let pid = pid("CONNECT", p)?;
            add(ident, pid);
            registered.push((ident.to_string(), pid));
            Ok(Some("OK".into()))
        }
        ["DISCONNECT", p, ident] => {
            let pid = pid("DISCONNECT", p)?;
            if let Some(i) = registered.iter().position(|(r, p)| r == ident && *p == pid) {
                registered.swap_remove(i);
                remove(ident, pid);
            }
            Ok(Some("OK".into()))
        }
        ["LOOKUP", ident] => Ok(Some(count(ident).to_string())),
        // The reply's lines end with an empty one, so nothing is added here.
        ["CONNECT-DUMP"] => Ok(Some(dump())),
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

    /// Every registered session (`CONNECT-DUMP`): `(ident, pid, sessions)` lines as the
    /// service sends them, TAB-separated and TAB-escaped, up to the empty line that ends them.
    pub fn connect_dump(&mut self) -> io::Result<Vec<String>> {
        self.writer.write_all(b"CONNECT-DUMP\n")?;
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "anvil closed the connection",
                ));
            }
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                return Ok(lines);
            }
            lines.push(line.to_string());
        }
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

    /// A client connected to a connection the service serves (in a thread, which forgets
    /// the connection's sessions when it closes, as `serve_anvil` does).
    fn served_connection() -> (AnvilClient, std::thread::JoinHandle<Result<(), String>>) {
        let (server, client) = UnixStream::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let mut registered = Vec::new();
            let result = serve_connection(server, &mut registered);
            for (ident, pid) in &registered {
                remove(ident, *pid);
            }
            result
        });
        let writer = client.try_clone().unwrap();
        let anvil = AnvilClient {
            reader: BufReader::new(client),
            writer,
        };
        (anvil, thread)
    }

    #[test]
    fn sessions_are_counted_until_disconnect_or_close() {
        let (mut anvil, thread) = served_connection();
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
    fn connect_dump_lists_sessions_per_ident_and_pid() {
        let (mut anvil, thread) = served_connection();
        let alice = "imap/192.0.2.9/dump-alice";
        let bob = "pop3/192.0.2.9/dump-b\u{1}tob";
        for line in [
            format!("CONNECT\t101\t{alice}"),
            format!("CONNECT\t101\t{alice}"),
            format!("CONNECT\t102\t{alice}"),
            format!("CONNECT\t103\t{bob}"),
        ] {
            anvil.expect_ok(&line).unwrap();
        }
        assert_eq!(anvil.lookup(alice).unwrap(), 3);
        // Other tests' sessions may be listed too (the table is the process's).
        let mine = |lines: Vec<String>| -> Vec<String> {
            lines.into_iter().filter(|l| l.contains("/dump-")).collect()
        };
        assert_eq!(
            mine(anvil.connect_dump().unwrap()),
            [
                format!("{alice}\t101\t2"),
                format!("{alice}\t102\t1"),
                format!("{bob}\t103\t1"),
            ]
        );
        // Another process's session of the same ident is not this one's to end.
        anvil
            .expect_ok(&format!("DISCONNECT\t103\t{alice}"))
            .unwrap();
        anvil
            .expect_ok(&format!("DISCONNECT\t101\t{alice}"))
            .unwrap();
        anvil
            .expect_ok(&format!("DISCONNECT\t102\t{alice}"))
            .unwrap();
        assert_eq!(
            mine(anvil.connect_dump().unwrap()),
            [format!("{alice}\t101\t1"), format!("{bob}\t103\t1")]
        );
        // The wire: lines, then an empty line.
        assert!(answer("CONNECT-DUMP", &mut Vec::new())
            .unwrap()
            .is_some_and(|d| d.is_empty() || d.ends_with('\n')));
        drop(anvil);
        thread.join().unwrap().unwrap();
        assert_eq!(count(alice), 0);
        assert!(!dump().contains("/dump-"));
    }

    #[test]
    fn bad_requests_end_the_connection() {
        let mut registered = Vec::new();
        assert!(answer("CONNECT\tx\tid", &mut registered).is_err());
        assert!(answer("CONNECT\t0\tid", &mut registered).is_err());
        assert!(answer("FOO", &mut registered).is_err());
        assert_eq!(answer("VERSION\tanvil\t1\t0", &mut registered), Ok(None));
        assert!(registered.is_empty());
    }
}
