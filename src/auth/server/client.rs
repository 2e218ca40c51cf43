//! The auth client protocol 1.2 (login processes, Postfix, coteadm auth test).
//!
//! ```text
//! S: VERSION 1 2 / MECH <name> [flags] ... / SPID <pid> / CUID <n> / COOKIE <hex> / DONE
//! C: VERSION 1 2 / CPID <pid>
//! C: AUTH <id> <mech> service=imap [lip= rip= lport= rport= secured ...] [resp=<b64>]
//! S: CONT <id> <b64> | OK <id> user=<u> [fields] | FAIL <id> [user=<u>] [code=] [reason=]
//! C: CONT <id> <b64> | CANCEL <id>
//! ```
//!
//! Every failure answer waits `auth_failure_delay` (unless the passdb set `nodelay`), and an
//! unknown user gets exactly the answer a wrong password gets.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AuthService;
use crate::auth::base64;
use crate::auth::engine::Auth;
use crate::auth::fields::{split_tabescaped, tab_escape};
use crate::auth::mech::{MechState, Step};
use crate::auth::random;
use crate::auth::request::{AuthRequest, PassdbResult};
use crate::auth::scheme::hex_encode;
use crate::log::str_sanitize;
use crate::log::Level;

/// Dovecot's AUTH_CLIENT_MAX_LINE_LENGTH.
pub const MAX_LINE_LENGTH: usize = 16384;
/// How long a request may wait for the client's next step, or for the master's REQUEST.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(150);
/// The most requests one connection may have open at once.
const MAX_REQUESTS: usize = 1000;

enum Slot {
    /// A step is running in its own thread.
    Busy(Instant),
    /// Waiting for the client's CONT.
    Continue {
        mech: Box<dyn MechState>,
        request: Box<AuthRequest>,
        auth: Arc<Auth>,
        since: Instant,
    },
    /// Succeeded, but the client must acknowledge the final data (no `final-resp-ok`).
    FinalResponse {
        request: Box<AuthRequest>,
        auth: Arc<Auth>,
        since: Instant,
    },
    /// Logged in; waits for the mail process's REQUEST.
    Finished {
        request: Box<AuthRequest>,
        auth: Arc<Auth>,
        since: Instant,
    },
}

impl Slot {
    fn since(&self) -> Instant {
        match self {
            Slot::Busy(t) => *t,
            Slot::Continue { since, .. }
            | Slot::FinalResponse { since, .. }
            | Slot::Finished { since, .. } => *since,
        }
    }
}

/// A successful login waiting for its REQUEST: the request and the engine that did it.
pub(super) type FinishedLogin = (Box<AuthRequest>, Arc<Auth>);

/// The request asked for has not finished successfully.
#[derive(Debug)]
pub(super) struct NotFinished;

/// One connection of an authentication client.
pub struct ClientConnection {
    writer: Mutex<UnixStream>,
    pub cookie: [u8; 16],
    /// The CUID sent in the handshake.
    connect_uid: u32,
    pid: Mutex<u32>,
    /// The client's protocol minor version (before 1.2 an empty `resp=` means none).
    minor_version: std::sync::atomic::AtomicU32,
    login_requests: bool,
    requests: Mutex<HashMap<u32, Slot>>,
    closed: AtomicBool,
}

impl ClientConnection {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn pid(&self) -> u32 {
        *self.pid.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, line: &str) {
        if self.is_closed() {
            return;
        }
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut data = line.as_bytes().to_vec();
        data.push(b'\n');
        if w.write_all(&data).is_err() {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Slot>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the login `id` for the master's REQUEST: None = no such request, Err = it has
    /// not finished successfully (it is dropped either way).
    pub(super) fn take_finished(&self, id: u32) -> Option<Result<FinishedLogin, NotFinished>> {
        let mut slots = self.slots();
        match slots.remove(&id)? {
            Slot::Finished { request, auth, .. } => Some(Ok((request, auth))),
            _ => Some(Err(NotFinished)),
        }
    }

    /// Whether this connection's logins wait for a master REQUEST.
    pub fn login_requests(&self) -> bool {
        self.login_requests
    }
}

/// Reads one line: None at EOF or on error, Err(()) if too long.
pub(super) fn read_line(
    reader: &mut BufReader<UnixStream>,
    max: usize,
) -> Option<Result<String, ()>> {
    match crate::auth::wire::read_line(reader, max) {
        crate::auth::wire::Line::Text(t) => Some(Ok(t)),
        crate::auth::wire::Line::Closed => None,
        crate::auth::wire::Line::TooLong => Some(Err(())),
    }
}

pub(super) fn serve(service: &Arc<AuthService>, stream: UnixStream, login_requests: bool) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let cookie = match random::bytes::<16>() {
        Ok(cookie) => cookie,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            return;
        }
    };
    let connect_uid = service.next_connect_uid.fetch_add(1, Ordering::Relaxed);
    let conn = Arc::new(ClientConnection {
        writer: Mutex::new(writer),
        cookie,
        connect_uid,
        pid: Mutex::new(0),
        minor_version: std::sync::atomic::AtomicU32::new(0),
        login_requests,
        requests: Mutex::new(HashMap::new()),
        closed: AtomicBool::new(false),
    });
    let auth = match service.auths.get("") {
        Ok(a) => a,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            return;
        }
    };
    let mut handshake = String::from("VERSION\t1\t2\n");
    for m in &auth.mechanisms {
        handshake.push_str("MECH\t");
        handshake.push_str(m.name);
        for word in m.flags.words() {
            handshake.push('\t');
            handshake.push_str(word);
        }
        handshake.push('\n');
    }
    handshake.push_str(&format!(
        "SPID\t{}\nCUID\t{connect_uid}\nCOOKIE\t{}\nDONE",
        std::process::id(),
        hex_encode(&conn.cookie)
    ));
    conn.send(&handshake);
    let mut reader = BufReader::new(stream);
    if !handshake_input(service, &conn, &mut reader) {
        conn.closed.store(true, Ordering::SeqCst);
        return;
    }
    loop {
        let line = match read_line(&mut reader, MAX_LINE_LENGTH) {
            None => break,
            Some(Err(())) => {
                crate::log::emit(
                    Level::Error,
                    format_args!(
                        "BUG: Auth client {} sent us more than {MAX_LINE_LENGTH} bytes",
                        conn.pid()
                    ),
                );
                break;
            }
            Some(Ok(line)) => line,
        };
        if !handle_line(service, &conn, &line) {
            break;
        }
    }
    conn.closed.store(true, Ordering::SeqCst);
    conn.slots().clear();
    let pid = conn.pid();
    if pid != 0 {
        service.unregister_client(pid, &conn);
    }
}

/// VERSION then CPID; false = close the connection.
fn handshake_input(
    service: &Arc<AuthService>,
    conn: &Arc<ClientConnection>,
    reader: &mut BufReader<UnixStream>,
) -> bool {
    let Some(Ok(version)) = read_line(reader, MAX_LINE_LENGTH) else {
        return false;
    };
    let parts: Vec<&str> = version.split('\t').collect();
    let valid = parts.len() >= 3
        && parts[0] == "VERSION"
        && parts[1].parse::<u32>().is_ok()
        && parts[2].parse::<u32>().is_ok();
    if !valid {
        crate::log::emit(
            Level::Error,
            format_args!("Authentication client sent invalid VERSION line: {version}"),
        );
        return false;
    }
    if parts[1] != "1" {
        crate::log::emit(
            Level::Error,
            format_args!(
                "Authentication client not compatible with this server (mixed old and new binaries?)"
            ),
        );
        return false;
    }
    conn.minor_version
        .store(parts[2].parse().unwrap_or(0), Ordering::SeqCst);
    let Some(Ok(cpid)) = read_line(reader, MAX_LINE_LENGTH) else {
        return false;
    };
    let Some(pid) = cpid.strip_prefix("CPID\t") else {
        crate::log::emit(
            Level::Error,
            format_args!(
                "BUG: Authentication client sent unknown handshake command: {}",
                str_sanitize(cpid.as_bytes(), 80)
            ),
        );
        return false;
    };
    let pid = match pid.parse::<u32>() {
        Ok(p) if p != 0 => p,
        _ => {
            crate::log::emit(
                Level::Error,
                format_args!("BUG: Authentication client said it's PID 0"),
            );
            return false;
        }
    };
    if conn.login_requests {
        if !service.register_client(pid, Arc::clone(conn)) {
            crate::log::emit(
                Level::Error,
                format_args!("BUG: Authentication client gave a PID {pid} of existing connection"),
            );
            return false;
        }
        *conn.pid.lock().unwrap_or_else(|p| p.into_inner()) = pid;
    }
    true
}

/// One command; false = a protocol violation, close the connection.
fn handle_line(service: &Arc<AuthService>, conn: &Arc<ClientConnection>, line: &str) -> bool {
    if let Some(args) = line.strip_prefix("AUTH\t") {
        return auth_begin(service, conn, args);
    }
    if let Some(args) = line.strip_prefix("CONT\t") {
        return auth_continue(conn, args);
    }
    if let Some(args) = line.strip_prefix("CANCEL\t") {
        return match args.parse::<u32>() {
            Ok(id) => {
                conn.slots().remove(&id);
                true
            }
            Err(_) => {
                crate::log::emit(
                    Level::Error,
                    format_args!("BUG: Authentication client sent broken CANCEL"),
                );
                false
            }
        };
    }
    crate::log::emit(
        Level::Error,
        format_args!(
            "BUG: Authentication client sent unknown command: {}",
            str_sanitize(line.as_bytes(), 80)
        ),
    );
    false
}

fn auth_begin(service: &Arc<AuthService>, conn: &Arc<ClientConnection>, args: &str) -> bool {
    let list = split_tabescaped(args);
    let pid = conn.pid();
    let id = match list.first().map(|s| s.parse::<u32>()) {
        Some(Ok(id)) if id != 0 && list.len() >= 2 => id,
        _ => {
            crate::log::emit(
                Level::Error,
                format_args!("BUG: Authentication client {pid} sent broken AUTH request"),
            );
            return false;
        }
    };
    let global = match service.auths.get("") {
        Ok(a) => a,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            return false;
        }
    };
    let Some(mech) = global.mechanism(&list[1]) else {
        crate::log::emit(
            Level::Error,
            format_args!(
                "BUG: Authentication client {pid} requested unsupported authentication mechanism {}",
                str_sanitize(list[1].as_bytes(), 32)
            ),
        );
        return false;
    };
    let mut params = Vec::new();
    let mut initial = None;
    let mut after_resp = false;
    for item in &list[2..] {
        if initial.is_some() {
            after_resp = true;
            break;
        }
        let (k, v) = crate::auth::fields::split_key_value(item);
        if k == "resp" {
            initial = Some(v.to_string());
        } else {
            params.push((k.to_string(), v.to_string()));
        }
    }
    if after_resp {
        crate::log::emit(
            Level::Error,
            format_args!("BUG: Authentication client {pid} sent AUTH parameters after 'resp'"),
        );
        return false;
    }
    let service_name = params
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    let Some(service_name) = service_name else {
        crate::log::emit(
            Level::Error,
            format_args!("BUG: Authentication client {pid} didn't specify service in request"),
        );
        return false;
    };
    {
        let mut slots = conn.slots();
        if slots.contains_key(&id) {
            crate::log::emit(
                Level::Error,
                format_args!("BUG: Authentication client {pid} sent a duplicate ID {id}"),
            );
            return false;
        }
        slots.retain(|_, s| s.since().elapsed() < REQUEST_TIMEOUT);
        if slots.len() >= MAX_REQUESTS {
            drop(slots);
            conn.send(&format!(
                "FAIL\t{id}\tcode=temp_fail\treason=Too many requests"
            ));
            return true;
        }
        slots.insert(id, Slot::Busy(Instant::now()));
    }
    let auth = match service.auths.get(&service_name) {
        Ok(a) => a,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            global
        }
    };
    let mut request = AuthRequest::new(Arc::clone(&auth.settings));
    request.id = id;
    request.client_pid = pid;
    request.connect_uid = conn.connect_uid;
    request.mech = Some(mech.name);
    request.auth_only = !conn.login_requests;
    for (k, v) in &params {
        request.import_auth(k, v);
    }
    if auth.settings.ssl_require_client_cert && !request.valid_client_cert {
        fail_immediately(
            conn,
            &request,
            "",
            "Client didn't present valid SSL certificate",
        );
        return true;
    }
    if auth.settings.ssl_require_client_cert
        && auth.settings.ssl_username_from_cert
        && !request.cert_username
    {
        fail_immediately(
            conn,
            &request,
            "",
            "SSL certificate didn't contain username",
        );
        return true;
    }
    // Protocol 1.2: an empty resp= (or "=") is an empty initial response.
    let data = match initial.as_deref() {
        None => None,
        // Older clients (Exim) send an empty resp= for "no initial response".
        Some("") if conn.minor_version.load(Ordering::SeqCst) < 2 => None,
        Some("") | Some("=") => Some(Vec::new()),
        Some(b64) => match base64::decode(b64) {
            Ok(d) => Some(d),
            Err(_) => {
                fail_immediately(
                    conn,
                    &request,
                    "invalid_base64",
                    "Invalid base64 data in initial response",
                );
                return true;
            }
        },
    };
    let state = (mech.new)();
    let worker_conn = Arc::clone(conn);
    spawn_step(conn, id, move || {
        run_step(&worker_conn, state, request, auth, data, true);
    });
    true
}

/// A failure answered at once (bad input, not a failed login): no delay, a reason.
fn fail_immediately(conn: &ClientConnection, request: &AuthRequest, code: &str, reason: &str) {
    request.mech_log_at(Level::Info, reason);
    let mut line = format!("FAIL\t{}", request.id);
    if !code.is_empty() {
        line.push_str(&format!("\tcode={code}"));
    }
    line.push_str(&format!("\treason={}", tab_escape(reason)));
    conn.slots().remove(&request.id);
    conn.send(&line);
}

fn spawn_step(conn: &Arc<ClientConnection>, id: u32, step: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().spawn(step) {
        crate::log::emit(
            Level::Error,
            format_args!("Can't create a thread for an auth request: {e}"),
        );
        conn.slots().remove(&id);
        conn.send(&format!("FAIL\t{id}\tcode=temp_fail"));
    }
}

fn auth_continue(conn: &Arc<ClientConnection>, args: &str) -> bool {
    let Some((id, data)) = args.split_once('\t') else {
        crate::log::emit(
            Level::Error,
            format_args!("BUG: Authentication client sent broken CONT request"),
        );
        return false;
    };
    let Ok(id) = id.parse::<u32>() else {
        crate::log::emit(
            Level::Error,
            format_args!("BUG: Authentication client sent broken CONT request"),
        );
        return false;
    };
    let slot = {
        let mut slots = conn.slots();
        match slots.remove(&id) {
            None => None,
            Some(Slot::Busy(t)) => {
                slots.insert(id, Slot::Busy(t));
                Some(Err(()))
            }
            Some(Slot::Finished { .. }) => Some(Err(())),
            Some(other) => {
                slots.insert(id, Slot::Busy(Instant::now()));
                Some(Ok(other))
            }
        }
    };
    let slot = match slot {
        None => {
            conn.send(&format!(
                "FAIL\t{id}\treason=Authentication request timed out"
            ));
            return true;
        }
        Some(Err(())) => {
            conn.slots().remove(&id);
            conn.send(&format!("FAIL\t{id}\treason=Unexpected continuation"));
            return true;
        }
        Some(Ok(slot)) => slot,
    };
    let decoded = base64::decode(data);
    match slot {
        Slot::Continue {
            mech,
            request,
            auth,
            ..
        } => {
            let Ok(data) = decoded else {
                fail_immediately(
                    conn,
                    &request,
                    "invalid_base64",
                    "Invalid base64 data in continued response",
                );
                return true;
            };
            let conn = Arc::clone(conn);
            spawn_step(&Arc::clone(&conn), id, move || {
                run_step(&conn, mech, *request, auth, Some(data), false);
            });
        }
        Slot::FinalResponse { request, auth, .. } => {
            let conn = Arc::clone(conn);
            spawn_step(&Arc::clone(&conn), id, move || {
                finish_success(&conn, *request, auth, Vec::new());
            });
        }
        Slot::Busy(_) | Slot::Finished { .. } => {}
    }
    true
}

/// Runs one mechanism round (in its own thread) and answers.
fn run_step(
    conn: &Arc<ClientConnection>,
    mut mech: Box<dyn MechState>,
    mut request: AuthRequest,
    auth: Arc<Auth>,
    data: Option<Vec<u8>>,
    initial: bool,
) {
    let id = request.id;
    let allow_nuls = request
        .mech
        .and_then(crate::auth::mech::find)
        .is_some_and(|m| m.flags.allow_nuls);
    let step = if data.as_ref().is_some_and(|d| d.contains(&0)) && !allow_nuls {
        request.mech_log_at(Level::Debug, "Unexpected NUL in auth data");
        Step::Fail
    } else if initial {
        mech.initial(&auth, &mut request, data.as_deref())
    } else {
        mech.proceed(&auth, &mut request, data.as_deref().unwrap_or(&[]))
    };
    match step {
        Step::Continue(challenge) => {
            conn.slots().insert(
                id,
                Slot::Continue {
                    mech,
                    request: Box::new(request),
                    auth,
                    since: Instant::now(),
                },
            );
            conn.send(&format!("CONT\t{id}\t{}", base64::encode(&challenge)));
        }
        Step::Success(final_data) => {
            if request.failed || !request.passdb_success {
                // The password was right but something else failed the login.
                finish_failure(conn, request, &auth);
            } else if !final_data.is_empty() && !request.final_resp_ok {
                request.successful = true;
                conn.slots().insert(
                    id,
                    Slot::FinalResponse {
                        request: Box::new(request),
                        auth,
                        since: Instant::now(),
                    },
                );
                conn.send(&format!("CONT\t{id}\t{}", base64::encode(&final_data)));
            } else {
                finish_success(conn, request, auth, final_data);
            }
        }
        Step::Fail => finish_failure(conn, request, &auth),
        Step::InternalFail => {
            request.internal_failure = true;
            finish_failure(conn, request, &auth);
        }
    }
}

/// The extra fields a client gets with OK/FAIL (Dovecot's auth_str_append_extra_fields).
fn append_extra_fields(request: &AuthRequest, line: &mut String) {
    if !request.extra_fields.is_empty() {
        line.push('\t');
        line.push_str(&request.extra_fields.visible_line());
    }
    if let Some(orig) = &request.original_username {
        if Some(orig.as_str()) != request.user.as_deref()
            && !request.extra_fields.contains("original_user")
        {
            line.push_str(&format!("\toriginal_user={}", tab_escape(orig)));
        }
    }
    if let Some(master) = &request.master_user {
        if !request.extra_fields.contains("auth_user") {
            line.push_str(&format!("\tauth_user={}", tab_escape(master)));
        }
    }
    if !request.settings.anonymous_username.is_empty()
        && request.user.as_deref() == Some(request.settings.anonymous_username.as_str())
    {
        line.push_str("\tanonymous");
    }
    if !request.auth_only && request.extra_fields.contains("proxy") {
        if !request.extra_fields.contains("pass") {
            if let Some(pw) = &request.mech_password {
                line.push_str(&format!("\tpass={}", tab_escape(pw)));
            }
        }
        if let Some(master) = &request.master_user {
            if !request.extra_fields.contains("master") && !master.is_empty() {
                line.push_str(&format!("\tmaster={}", tab_escape(master)));
            }
        }
    }
}

fn finish_success(
    conn: &Arc<ClientConnection>,
    mut request: AuthRequest,
    auth: Arc<Auth>,
    final_data: Vec<u8>,
) {
    let id = request.id;
    if crate::auth::proxy::finish(&mut request).is_err() {
        request.internal_failure = true;
        finish_failure(conn, request, &auth);
        return;
    }
    request.successful = true;
    if !final_data.is_empty() {
        request
            .extra_fields
            .add("resp", &base64::encode(&final_data), false);
    }
    request.extra_fields.booleanize("nologin");
    request.extra_fields.booleanize("proxy");
    let mut line = format!("OK\t{id}\tuser={}", tab_escape(request.user()));
    append_extra_fields(&request, &mut line);
    let waits_for_master = conn.login_requests
        && !request.extra_fields.contains("nologin")
        && !request.extra_fields.contains("proxy");
    if waits_for_master {
        conn.slots().insert(
            id,
            Slot::Finished {
                request: Box::new(request),
                auth,
                since: Instant::now(),
            },
        );
    } else {
        conn.slots().remove(&id);
    }
    conn.send(&line);
}

fn finish_failure(conn: &Arc<ClientConnection>, mut request: AuthRequest, auth: &Auth) {
    let id = request.id;
    conn.slots().remove(&id);
    request.extra_fields.remove("nologin");
    let mut line = format!("FAIL\t{id}");
    if let Some(user) = request.user.as_ref().or(request.original_username.as_ref()) {
        line.push_str(&format!("\tuser={}", tab_escape(user)));
    }
    let code = if request.internal_failure {
        Some("temp_fail")
    } else if request.master_user.is_some() {
        Some("authz_fail")
    } else {
        match request.passdb_result {
            PassdbResult::UserDisabled => Some("user_disabled"),
            PassdbResult::PassExpired => Some("pass_expired"),
            _ => None,
        }
    };
    let nodelay = request.extra_fields.contains("nodelay");
    if nodelay {
        line.push_str("\tnodelay");
    }
    if let Some(code) = code {
        line.push_str(&format!("\tcode={code}"));
    }
    append_extra_fields(&request, &mut line);
    if !nodelay {
        // Every failure waits the same, so the answer tells nothing about why it failed,
        // and a guessing client is slowed down.
        std::thread::sleep(auth.settings.failure_delay);
    }
    conn.send(&line);
}
