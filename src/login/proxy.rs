//! Login proxying (Dovecot's `login-proxy` and the proxy half of `client-common-auth`): when
//! the auth service's OK says `proxy`, the login process logs in to the backend it names
//! (`host`/`hostip`, `port`, `destuser`, `pass`, `master`, `ssl`/`starttls`,
//! `proxy_timeout`, `proxy_mech`, `proxy_not_trusted`, `forward_*`), retrying a failed
//! connection while time is left, and then relays bytes both ways until either side is done.
//! Each protocol speaks its own login dialogue ([`BackendDialogue`]) and answers the client in
//! its own words; the failure kinds and log lines are common and live here.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::director::session::{RegisteredSession, SessionGuard};

use crate::net::tls_proxy::{relay, RelayEnd};
use crate::net::{ClientStream, ConnInfo};

use super::vars::ClientLogLine;
use crate::net::backend::{Backend, BackendError};

/// Dovecot's answer for every proxy failure that is not the backend refusing the password.
pub const PROXY_FAILURE_MSG: &str = "Account is temporarily unavailable.";
/// Hops a login may still take through proxies (`LOGIN_PROXY_TTL`).
pub const PROXY_TTL: u32 = 5;
/// The wait before connecting again (`PROXY_CONNECT_RETRY_MSECS`).
const RETRY_DELAY: Duration = Duration::from_millis(1000);
/// No retry when less than this is left of `proxy_timeout`.
const RETRY_MIN_LEFT: Duration = Duration::from_millis(1100);

/// TLS toward the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendTls {
    No,
    /// From the start (`ssl=yes`).
    Implicit,
    /// After STARTTLS/STLS (`starttls=yes`).
    StartTls,
}

/// How to authenticate at the backend when not with the protocol's plain login command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMech {
    Plain,
    Login,
}

/// Where and as whom to log in, from the auth service's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// `host` as given (a name or an address), for TLS verification and the log.
    pub host: String,
    pub ip: IpAddr,
    pub port: u16,
    /// The user at the backend (`destuser`, else the user who logged in here).
    pub user: String,
    pub password: String,
    /// `master`: log in as this master user for `user` (SASL PLAIN with an authzid).
    pub master: Option<String>,
    pub mech: Option<ProxyMech>,
    pub tls: BackendTls,
    /// `any-cert`: the backend's certificate is not verified.
    pub any_cert: bool,
    /// For connecting and logging in (`proxy_timeout`, else `login_proxy_timeout`).
    pub timeout: Duration,
    /// `proxy_not_trusted`: the backend does not get the client's address (ID, XCLIENT).
    pub not_trusted: bool,
    /// `proxy_nopipelining`: one command at a time.
    pub nopipelining: bool,
    /// `forward_<name>` fields, passed on to the backend.
    pub forward: Vec<(String, String)>,
    /// `proxy_refresh`: a director placed the user; the session is registered with it.
    pub director_placed: bool,
}

/// The protocol's ports for a target without `port`.
#[derive(Debug, Clone, Copy)]
pub struct DefaultPorts {
    pub plain: u16,
    pub ssl: u16,
}

impl ProxyTarget {
    /// The target the fields of an OK with `proxy` name for `user`, who connected to
    /// `local`. `Err`: Dovecot's log text for a reply that cannot be proxied.
    pub fn from_fields(
        user: &str,
        fields: &[(String, String)],
        ports: DefaultPorts,
        login_proxy_timeout: Duration,
        local: SocketAddr,
    ) -> Result<ProxyTarget, String> {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut port = None;
        let mut tls = BackendTls::No;
        let mut any_cert = false;
        if let Some(value) = field("port") {
            match value.parse::<u16>() {
                Ok(p) if p != 0 => port = Some(p),
                _ => log::error!("Auth service returned invalid port number: {value}"),
            }
        }
        if let Some(value) = field("ssl") {
            tls = BackendTls::Implicit;
            any_cert |= value == "any-cert";
            port = port.or(Some(ports.ssl));
        }
        if let Some(value) = field("starttls") {
            tls = BackendTls::StartTls;
            any_cert |= value == "any-cert";
        }
        let timeout = match field("proxy_timeout") {
            None => login_proxy_timeout,
            Some(v) => match v.parse::<u64>() {
                Ok(secs) => Duration::from_secs(secs),
                Err(_) => match crate::config::parse_time(v, true) {
                    Ok(ms) => Duration::from_millis(u64::from(ms)),
                    Err(e) => {
                        log::error!(
                            "BUG: Auth service returned invalid proxy_timeout value '{v}': {e}"
                        );
                        login_proxy_timeout
                    }
                },
            },
        };
        let Some(password) = field("pass") else {
            return Err("password not given".into());
        };
        let host = field("host").unwrap_or("");
        if host.is_empty() {
            return Err("host not given".into());
        }
        let ip = match field("hostip").filter(|h| !h.is_empty()) {
            Some(hostip) => hostip
                .parse::<IpAddr>()
                .map_err(|_| format!("Invalid hostip {hostip}"))?,
            None => host.parse::<IpAddr>().map_err(|_| {
                format!("BUG: host {host} is not an IP (auth should have changed it)")
            })?,
        };
        let master = field("master").filter(|m| !m.is_empty());
        let mech = match field("proxy_mech") {
            Some(m) if m.eq_ignore_ascii_case("PLAIN") => Some(ProxyMech::Plain),
            Some(m) if m.eq_ignore_ascii_case("LOGIN") => Some(ProxyMech::Login),
            Some(m) => return Err(format!("Unsupported SASL mechanism {m}")),
            // A master user needs an authzid: PLAIN.
            None if master.is_some() => Some(ProxyMech::Plain),
            None => None,
        };
        let port = port.unwrap_or(ports.plain);
        let destuser = field("destuser").unwrap_or(user);
        if port == local.port() && ip == local.ip() && destuser == user {
            return Err("Proxying loops to itself".into());
        }
        let director_placed = match field("proxy_refresh") {
            None => false,
            Some(v) if v.parse::<u32>().is_ok() => true,
            Some(v) => {
                log::error!("BUG: Auth service returned invalid proxy_refresh value: {v}");
                false
            }
        };
        Ok(ProxyTarget {
            director_placed,
            host: host.to_string(),
            ip,
            port,
            user: destuser.to_string(),
            password: password.to_string(),
            master: master.map(str::to_string),
            mech,
            tls,
            any_cert,
            timeout,
            not_trusted: field("proxy_not_trusted").is_some(),
            nopipelining: field("proxy_nopipelining").is_some(),
            forward: fields
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("forward_")?.to_string(), v.clone())))
                .collect(),
        })
    }

    /// The SASL PLAIN response for the backend: authzid, authcid, password.
    pub fn plain_response(&self) -> Vec<u8> {
        let (authzid, authcid) = match &self.master {
            Some(master) => (self.user.as_str(), master.as_str()),
            None => ("", self.user.as_str()),
        };
        let mut out = Vec::new();
        out.extend_from_slice(authzid.as_bytes());
        out.push(0);
        out.extend_from_slice(authcid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.as_bytes());
        out
    }
}

/// Dovecot's `login_proxy_failure_type`: what went wrong decides the client's answer,
/// the log line and whether to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Connect,
    Internal,
    InternalConfig,
    Remote,
    RemoteConfig,
    Protocol,
    /// The backend refused the login; the protocol has its answer in `client_reply`.
    Auth,
    /// The backend failed the login temporarily.
    AuthTempfail,
}

impl FailureKind {
    fn retries(self) -> bool {
        matches!(
            self,
            FailureKind::Connect
                | FailureKind::Remote
                | FailureKind::Protocol
                | FailureKind::AuthTempfail
        )
    }

    fn log_prefix(self) -> &'static str {
        match self {
            FailureKind::Internal => "Aborting due to internal error: ",
            FailureKind::Remote | FailureKind::RemoteConfig => "Aborting due to remote server: ",
            FailureKind::Protocol => "Remote server sent invalid input: ",
            _ => "",
        }
    }
}

/// A failed proxy login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFailure {
    pub kind: FailureKind,
    /// For the log (and, for [`FailureKind::AuthTempfail`], the client).
    pub reason: String,
    /// The answer the protocol already chose for the client (the backend's refusal).
    pub client_reply: Option<String>,
}

impl ProxyFailure {
    pub fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        ProxyFailure {
            kind,
            reason: reason.into(),
            client_reply: None,
        }
    }
}

/// A protocol's login dialogue with a backend.
pub trait BackendDialogue {
    /// Logs in on `backend` (connected; TLS started when `ssl=yes`). `Ok`: the backend
    /// accepted; the bytes are the answer for the client.
    fn login(
        &mut self,
        backend: &mut Backend,
        target: &ProxyTarget,
    ) -> Result<Vec<u8>, DialogueError>;
    /// Where the dialogue is, for `Login timed out in state=...`.
    fn state(&self) -> String;
}

/// Why a dialogue stopped: the backend connection failed, or the protocol decided.
#[derive(Debug)]
pub enum DialogueError {
    Backend(BackendError),
    Failed(ProxyFailure),
}

impl From<BackendError> for DialogueError {
    fn from(e: BackendError) -> Self {
        DialogueError::Backend(e)
    }
}

impl From<ProxyFailure> for DialogueError {
    fn from(f: ProxyFailure) -> Self {
        DialogueError::Failed(f)
    }
}

/// The login's client, for the log lines.
pub struct ProxyClient<'a> {
    pub conn: &'a ConnInfo,
    /// The user who logged in here.
    pub user: &'a str,
    /// How lines about the client are worded (`login_log_format`).
    pub log: ClientLogLine,
    pub auth_verbose: bool,
    /// `login_proxy_max_reconnects`.
    pub max_reconnects: u32,
    /// `login_proxy_max_disconnect_delay`.
    pub max_disconnect_delay: Duration,
}

/// A backend that accepted the login.
pub struct Proxied {
    pub backend: Backend,
    /// The backend's answer for the client.
    pub reply: Vec<u8>,
    /// `proxy(user,ip:port): ` for the lines about this session.
    pub log_prefix: String,
    pub log: ClientLogLine,
    pub started: Instant,
    /// The backend's address, for the process's per-backend state.
    pub addr: SocketAddr,
    pub max_disconnect_delay: Duration,
    /// The session's registration with the director that placed the user.
    pub director: Option<RegisteredSession>,
}

/// Connects to `target` and logs in there with a fresh `dialogue` per attempt, retrying
/// what can be retried while `proxy_timeout` allows. A failure is logged as Dovecot logs it.
pub fn login<D: BackendDialogue>(
    target: &ProxyTarget,
    client: &ProxyClient<'_>,
    mut dialogue: impl FnMut() -> D,
) -> Result<Proxied, ProxyFailure> {
    let prefix = format!("proxy({},{}:{}): ", client.user, target.ip, target.port);
    let started = Instant::now();
    let deadline = started + target.timeout;
    let mut reconnects = 0u32;
    loop {
        let mut d = dialogue();
        let failure = match attempt(target, deadline, &mut d) {
            Ok((backend, reply)) => {
                let mut line = format!("Started proxying to <{}>", target.ip);
                if target.host != target.ip.to_string() {
                    line.push_str(&format!(" (<{}>)", target.host));
                }
                line.push_str(&conn_info(client, target));
                let ms = started.elapsed().as_millis();
                line.push_str(&format!(" ({}.{:03} secs", ms / 1000, ms % 1000));
                if reconnects > 0 {
                    line.push_str(&format!(", {reconnects} reconnects"));
                }
                log::info!("{}", client.log.line(&format!("{prefix}{line})")));
                return Ok(Proxied {
                    backend,
                    reply,
                    log_prefix: prefix,
                    log: client.log.clone(),
                    started,
                    addr: SocketAddr::new(target.ip, target.port),
                    max_disconnect_delay: client.max_disconnect_delay,
                    director: None,
                });
            }
            Err((failure, local)) => match failure {
                DialogueError::Failed(f) => f,
                DialogueError::Backend(e) => {
                    backend_failure(e, &d.state(), started, reconnects, local, target)
                }
            },
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if failure.kind.retries() && reconnects < client.max_reconnects && left > RETRY_MIN_LEFT {
            reconnects += 1;
            log::debug!(
                "{prefix}{}{} - reconnecting (attempt #{reconnects})",
                failure.kind.log_prefix(),
                failure.reason
            );
            std::thread::sleep(RETRY_DELAY);
            continue;
        }
        match failure.kind {
            FailureKind::Auth | FailureKind::AuthTempfail => {
                if client.auth_verbose {
                    log::info!(
                        "{}",
                        client.log.line(&format!(
                            "{prefix}Login failed{}: {}",
                            conn_info(client, target),
                            failure.reason
                        ))
                    );
                }
            }
            kind => log::error!(
                "{}",
                client
                    .log
                    .line(&format!("{prefix}{}{}", kind.log_prefix(), failure.reason))
            ),
        }
        return Err(failure);
    }
}

/// ` as user X (master Y)` when the backend user differs.
fn conn_info(client: &ProxyClient<'_>, target: &ProxyTarget) -> String {
    let mut s = String::new();
    if client.user != target.user {
        s.push_str(&format!(" as user {}", target.user));
    }
    if let Some(master) = &target.master {
        s.push_str(&format!(" (master {master})"));
    }
    s
}

type Attempt = Result<(Backend, Vec<u8>), (DialogueError, Option<SocketAddr>)>;

fn attempt<D: BackendDialogue>(
    target: &ProxyTarget,
    deadline: Instant,
    dialogue: &mut D,
) -> Attempt {
    let addr = SocketAddr::new(target.ip, target.port);
    let mut backend = match Backend::connect(addr, deadline) {
        Ok(b) => b,
        Err((e, local)) => {
            let e = BackendError::Connect(crate::errtext::os_error_text(&e));
            return Err((e.into(), local));
        }
    };
    let local = backend.local;
    if target.tls == BackendTls::Implicit {
        if let Err(e) = backend.start_tls(&target.host, target.any_cert) {
            return Err((e.into(), local));
        }
    }
    match dialogue.login(&mut backend, target) {
        Ok(reply) => Ok((backend, reply)),
        Err(e) => Err((e, local)),
    }
}

/// What a backend connection error means, in Dovecot's words.
fn backend_failure(
    e: BackendError,
    state: &str,
    started: Instant,
    reconnects: u32,
    local: Option<SocketAddr>,
    target: &ProxyTarget,
) -> ProxyFailure {
    let mut after = format!(" (after {} secs", started.elapsed().as_secs());
    if reconnects > 0 {
        after.push_str(&format!(", {reconnects} reconnects"));
    }
    if let Some(local) = local {
        after.push_str(&format!(", local={local}"));
    }
    after.push(')');
    match e {
        BackendError::Connect(e) => ProxyFailure::new(
            FailureKind::Connect,
            format!("connect({}, {}) failed: {e}{after}", target.ip, target.port),
        ),
        BackendError::TimedOut => ProxyFailure::new(
            FailureKind::Connect,
            format!("Login timed out in state={state}{after}"),
        ),
        BackendError::Disconnected(reason) => ProxyFailure::new(
            FailureKind::Connect,
            format!(
                "Disconnected by server: {reason} (state={state}, duration={}s)",
                started.elapsed().as_secs()
            ),
        ),
        BackendError::TooLong => ProxyFailure::new(FailureKind::Protocol, "Too long input line"),
        BackendError::Tls(reason) => ProxyFailure::new(FailureKind::Remote, reason),
    }
}

/// Relays the client and the backend after the login until either is done, and logs how
/// it ended (Dovecot's `Disconnected by server|client (Ns idle, in=N, out=N)`). `pending`:
/// what the client sent after its login command, for the backend.
pub fn relay_session(proxied: Proxied, client: ClientStream, pending: Vec<u8>) {
    let Proxied {
        backend,
        log_prefix,
        log,
        addr,
        max_disconnect_delay,
        director,
        ..
    } = proxied;
    let (mut server, backend_pending) = backend.into_relay();
    let mut client: Box<dyn RelayEnd> = match client {
        ClientStream::Plain(tcp) => match std::rc::Rc::try_unwrap(tcp) {
            Ok(tcp) => Box::new(tcp),
            Err(shared) => match shared.try_clone() {
                Ok(tcp) => Box::new(tcp),
                Err(e) => {
                    log::error!("{log_prefix}{}", crate::errtext::os_error_text(&e));
                    return;
                }
            },
        },
        ClientStream::Tls(tls) => match std::rc::Rc::try_unwrap(tls) {
            Ok(tls) => Box::new(tls.into_inner().into_inner()),
            Err(_) => {
                log::error!("{log_prefix}BUG: the client's TLS stream is still shared");
                return;
            }
        },
    };
    // What either side sent ahead goes first, blocking: it is at most one buffer.
    if !pending.is_empty() && !write_all(&mut *server, &pending) {
        log::info!(
            "{}",
            log.line(&format!(
                "{log_prefix}Disconnected by server (0s idle, in=0, out=0)"
            ))
        );
        return;
    }
    if !backend_pending.is_empty() && !write_all(&mut *client, &backend_pending) {
        log::info!(
            "{}",
            log.line(&format!(
                "{log_prefix}Disconnected by client (0s idle, in=0, out=0)"
            ))
        );
        return;
    }
    let kicked = Arc::new(AtomicBool::new(false));
    // Dropped when the relay is over: the director counts the session as ended then.
    let _registration = director.and_then(|session| {
        watch_for_kick(session, &*client, &*server, kicked.clone(), &log_prefix)
    });
    let state = super::proxy_state::state();
    state.relaying(addr);
    let result = relay(&mut *client, &mut *server);
    if kicked.load(Ordering::SeqCst) {
        log::info!("{}", log.line(&format!("{log_prefix}Kicked by director")));
    }
    server.close();
    let stats = match result {
        Ok(stats) => stats,
        Err(e) => {
            state.client_closed(addr);
            client.close();
            log::error!("{log_prefix}proxy failed: {e}");
            return;
        }
    };
    let delay = if stats.server_closed {
        state.server_closed(addr, max_disconnect_delay)
    } else {
        state.client_closed(addr);
        Duration::ZERO
    };
    let side = if stats.server_closed {
        "server"
    } else {
        "client"
    };
    let mut line = format!(
        "{log_prefix}Disconnected by {side} ({}s idle, in={}, out={})",
        stats.last_io.elapsed().as_secs(),
        stats.from_client + pending.len() as u64,
        stats.to_client + backend_pending.len() as u64,
    );
    if !delay.is_zero() {
        line.push_str(&format!(
            " - disconnecting client in {}ms",
            delay.as_millis()
        ));
    }
    log::info!("{}", log.line(&line));
    if !delay.is_zero() {
        linger(&mut *client, delay);
        state.delay_over(addr);
    }
    client.close();
}

/// Ends the relay (both sockets shut down) when the director kicks the session.
fn watch_for_kick(
    session: RegisteredSession,
    client: &dyn RelayEnd,
    server: &dyn RelayEnd,
    kicked: Arc<AtomicBool>,
    log_prefix: &str,
) -> Option<SessionGuard> {
    let sockets = client
        .socket()
        .try_clone_to_owned()
        .and_then(|c| Ok((c, server.socket().try_clone_to_owned()?)));
    let (client, server) = match sockets {
        Ok(pair) => pair,
        Err(e) => {
            log::error!("{log_prefix}dup() failed: {e}");
            return None;
        }
    };
    let on_kick = move || {
        kicked.store(true, Ordering::SeqCst);
        for fd in [&client, &server] {
            let _ = nix::sys::socket::shutdown(fd.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        }
    };
    match session.watch(on_kick) {
        Ok(guard) => Some(guard),
        Err(e) => {
            log::error!("{log_prefix}director session: {e}");
            None
        }
    }
}

/// Keeps a client whose backend went away for `delay`, throwing away what it sends, unless
/// it leaves first.
fn linger(client: &mut dyn RelayEnd, delay: Duration) {
    use crate::net::tls_proxy::Io;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let until = Instant::now() + delay;
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match client.try_read(&mut buf) {
            Io::Moved(0) | Io::Failed => return,
            Io::Moved(_) => continue,
            Io::Blocked(_) => {}
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(client.socket(), PollFlags::POLLIN)];
        if let Err(e) = poll(&mut fds, PollTimeout::from(ms)) {
            if e != nix::Error::EINTR {
                return;
            }
        }
    }
}

/// Writes `data` to a blocking-mode end; false when it broke.
fn write_all(end: &mut dyn RelayEnd, mut data: &[u8]) -> bool {
    use crate::net::tls_proxy::Io;
    while !data.is_empty() {
        match end.try_write(data) {
            Io::Moved(n) => data = &data[n..],
            Io::Blocked(_) => std::thread::yield_now(),
            Io::Failed => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const PORTS: DefaultPorts = DefaultPorts {
        plain: 143,
        ssl: 993,
    };

    fn target(list: &[(&str, &str)]) -> Result<ProxyTarget, String> {
        let local: SocketAddr = "127.0.0.1:143".parse().unwrap();
        ProxyTarget::from_fields(
            "alice",
            &fields(list),
            PORTS,
            Duration::from_secs(30),
            local,
        )
    }

    #[test]
    fn fields_make_a_target() {
        let t = target(&[
            ("proxy", ""),
            ("host", "backend.example"),
            ("hostip", "10.0.0.2"),
            ("pass", "pw"),
            ("ssl", "any-cert"),
            ("destuser", "bob"),
            ("proxy_timeout", "5"),
            ("forward_x", "1"),
        ])
        .unwrap();
        assert_eq!((t.ip.to_string(), t.port), ("10.0.0.2".into(), 993));
        assert_eq!((t.tls, t.any_cert), (BackendTls::Implicit, true));
        assert_eq!(
            (t.user.as_str(), t.timeout),
            ("bob", Duration::from_secs(5))
        );
        assert_eq!(t.forward, vec![("x".to_string(), "1".to_string())]);
        let t = target(&[("host", "10.0.0.2"), ("pass", "pw"), ("starttls", "yes")]).unwrap();
        assert_eq!(
            (t.port, t.tls, t.any_cert),
            (143, BackendTls::StartTls, false)
        );
        assert_eq!(t.plain_response(), b"\0alice\0pw");
        let t = target(&[("host", "10.0.0.2"), ("pass", "pw"), ("master", "adm")]).unwrap();
        assert_eq!(t.mech, Some(ProxyMech::Plain));
        assert_eq!(t.plain_response(), b"alice\0adm\0pw");
    }

    #[test]
    fn unusable_fields_are_refused_with_dovecots_texts() {
        assert_eq!(
            target(&[("host", "10.0.0.2")]),
            Err("password not given".into())
        );
        assert_eq!(target(&[("pass", "x")]), Err("host not given".into()));
        assert_eq!(
            target(&[("host", "name"), ("pass", "x")]),
            Err("BUG: host name is not an IP (auth should have changed it)".into())
        );
        assert_eq!(
            target(&[("host", "127.0.0.1"), ("pass", "x")]),
            Err("Proxying loops to itself".into())
        );
        assert_eq!(
            target(&[
                ("host", "10.0.0.2"),
                ("pass", "x"),
                ("proxy_mech", "GSSAPI")
            ]),
            Err("Unsupported SASL mechanism GSSAPI".into())
        );
    }
}
