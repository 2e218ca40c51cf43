//! The auth master protocol 1.1 (`auth-master`, `auth-userdb`).
//!
//! ```text
//! S: VERSION 1 1 / SPID <pid>
//! C: VERSION 1 <minor>
//! C: REQUEST <id> <client-pid> <client-id> <cookie-hex> [session_pid=<pid>]   (auth-master only)
//! S: USER <id> <user> <userdb fields...> | NOTFOUND <id> | FAIL <id> [reason=]
//! C: USER <id> <user> service=<s> [...]   → USER / NOTFOUND / FAIL
//! C: PASS <id> <user> service=<s> [...]   → PASS <id> user=<u> [fields] / NOTFOUND / FAIL
//! C: LIST <id> [user=<mask>] [...]        → LIST <id> <user> ... DONE <id> [fail]
//! ```

use std::io::{BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::client::read_line;
use super::{peer_credentials, AuthService};
use crate::auth::fields::{split_key_value, split_tabescaped, tab_escape};
use crate::auth::request::{AuthRequest, PassdbResult, UserdbResult};
use crate::auth::scheme::{constant_time_eq, hex_decode};
use crate::log::str_sanitize;
use crate::log::Level;

/// Dovecot's MAX_INBUF_SIZE for master connections.
const MAX_LINE: usize = 1024;

struct MasterConnection<'a> {
    service: &'a Arc<AuthService>,
    writer: UnixStream,
    userdb_only: bool,
    path: String,
    /// A 0666 userdb socket used by another uid: only lookups returning that uid.
    restricted_uid: Option<u32>,
    created: Instant,
    handshake: Option<Instant>,
    peer_pid: Option<i32>,
}

impl MasterConnection<'_> {
    fn send(&mut self, line: &str) -> bool {
        let mut data = line.as_bytes().to_vec();
        data.push(b'\n');
        self.writer.write_all(&data).is_ok()
    }

    /// An error line with Dovecot's `auth-master client: ... (created N msecs ago...)`.
    fn error(&self, message: &str) {
        let created = self.created.elapsed().as_millis();
        let handshake = match self.handshake {
            Some(_) => format!(", handshake {created} msecs ago"),
            None => String::new(),
        };
        crate::log::emit(
            Level::Error,
            format_args!("auth-master client: {message} (created {created} msecs ago{handshake})"),
        );
    }
}

pub(super) fn serve(
    service: &Arc<AuthService>,
    stream: UnixStream,
    userdb_only: bool,
    path: &Path,
) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let peer = peer_credentials(&stream);
    let mut conn = MasterConnection {
        service,
        writer,
        userdb_only,
        path: path.display().to_string(),
        restricted_uid: None,
        created: Instant::now(),
        handshake: None,
        peer_pid: peer.map(|(pid, _, _)| pid),
    };
    if !conn.send(&format!("VERSION\t1\t1\nSPID\t{}", std::process::id())) {
        return;
    }
    if userdb_only {
        if let (Ok(meta), Some((_, uid, gid))) = (std::fs::metadata(path), peer) {
            // mode 0666: anyone may connect, so a peer that doesn't own the socket only
            // gets lookups of its own uid.
            if meta.mode() & 0o777 == 0o666 && uid != meta.uid() && gid != meta.gid() {
                conn.restricted_uid = Some(uid);
            }
        }
    }
    let mut reader = BufReader::new(stream);
    loop {
        let line = match read_line(&mut reader, MAX_LINE) {
            None => return,
            Some(Err(_)) => {
                conn.error(&format!("BUG: Master sent us more than {MAX_LINE} bytes"));
                return;
            }
            Some(Ok(line)) => line,
        };
        if conn.handshake.is_none() {
            let major = line
                .strip_prefix("VERSION\t")
                .map(|v| v.split('\t').next().unwrap_or(""));
            if major != Some("1") {
                conn.error("Master not compatible with this server (mixed old and new binaries?)");
                return;
            }
            conn.handshake = Some(Instant::now());
            continue;
        }
        if !handle_line(&mut conn, &line) {
            return;
        }
    }
}

fn handle_line(conn: &mut MasterConnection<'_>, line: &str) -> bool {
    if let Some(args) = line.strip_prefix("USER\t") {
        return input_user(conn, args);
    }
    if let Some(args) = line.strip_prefix("PASS\t") {
        return input_pass(conn, args);
    }
    if let Some(args) = line.strip_prefix("LIST\t") {
        return input_list(conn, args);
    }
    if !conn.userdb_only {
        if let Some(args) = line.strip_prefix("REQUEST\t") {
            return input_request(conn, args);
        }
        if let Some(args) = line.strip_prefix("CACHE-FLUSH\t") {
            return input_cache_flush(conn, args);
        }
        if line.starts_with("CPID\t") {
            conn.error("Authentication client trying to connect to master socket");
            return false;
        }
    }
    conn.error(&format!(
        "BUG: Unknown command in {} socket: {}",
        if conn.userdb_only { "userdb" } else { "master" },
        str_sanitize(line.as_bytes(), 80)
    ));
    false
}

fn input_request(conn: &mut MasterConnection<'_>, args: &str) -> bool {
    let list = split_tabescaped(args);
    let parsed = (
        list.first().and_then(|v| v.parse::<u32>().ok()),
        list.get(1).and_then(|v| v.parse::<u32>().ok()),
        list.get(2).and_then(|v| v.parse::<u32>().ok()),
    );
    let (Some(id), Some(client_pid), Some(client_id), true) =
        (parsed.0, parsed.1, parsed.2, list.len() >= 4)
    else {
        conn.error("BUG: Master sent broken REQUEST");
        return false;
    };
    let Some(cookie) = hex_decode(list[3].as_bytes()).filter(|c| c.len() == 16) else {
        conn.error("BUG: Master sent broken REQUEST cookie");
        return false;
    };
    let fail = |conn: &mut MasterConnection<'_>| conn.send(&format!("FAIL\t{id}"));
    let Some(client) = conn.service.client(client_pid) else {
        conn.error(&format!(
            "Master requested auth for nonexistent client {client_pid}"
        ));
        return fail(conn);
    };
    if !constant_time_eq(&client.cookie, &cookie) {
        conn.error(&format!(
            "Master requested auth for client {client_pid} with invalid cookie"
        ));
        return fail(conn);
    }
    if !client.login_requests() {
        conn.error(&format!(
            "Master requested auth for non-login client {client_pid}"
        ));
        return fail(conn);
    }
    let (mut request, auth) = match client.take_finished(client_id) {
        None => {
            conn.error(&format!(
                "Master request {client_pid}.{client_id} not found"
            ));
            return fail(conn);
        }
        Some(Err(_)) => {
            conn.error(&format!(
                "Master requested unfinished authentication request {client_pid}.{client_id}"
            ));
            return fail(conn);
        }
        Some(Ok(found)) => found,
    };
    for item in &list[4..] {
        let (k, v) = split_key_value(item);
        request.import_master(k, v);
    }
    if let (Some(session_pid), Some(peer)) = (request.session_pid, conn.peer_pid) {
        if i64::from(session_pid) != i64::from(peer) {
            conn.error(&format!(
                "Session pid {session_pid} provided by master for request {client_pid}.{client_id} did not match peer credentials (pid={peer})"
            ));
            return fail(conn);
        }
    }
    request.id = id;
    let result = auth.lookup_user(&mut request);
    let line = match result {
        UserdbResult::InternalFailure => {
            let mut line = format!("FAIL\t{id}");
            if request.userdb_lookup_tempfailed {
                if let Some(reason) = request.userdb_reply.as_ref().and_then(|r| r.get("reason")) {
                    line.push_str(&format!("\treason={}", tab_escape(reason)));
                }
            }
            line
        }
        UserdbResult::UserUnknown => format!("NOTFOUND\t{id}"),
        UserdbResult::Ok => {
            let mut line = format!("USER\t{id}\t{}\t", tab_escape(request.user()));
            if let Some(reply) = &request.userdb_reply {
                line.push_str(&reply.visible_line());
            }
            if let Some(master) = &request.master_user {
                if !request
                    .userdb_reply
                    .as_ref()
                    .is_some_and(|r| r.contains("master_user"))
                {
                    line.push_str(&format!("\tmaster_user={}", tab_escape(master)));
                }
            }
            line.push_str(&format!("\tauth_mech={}", request.mech.unwrap_or("")));
            if !request.settings.anonymous_username.is_empty()
                && request.user() == request.settings.anonymous_username
            {
                line.push_str("\tanonymous");
            }
            if let Some(master) = &request.master_user {
                line.push_str(&format!("\tauth_user={}", tab_escape(master)));
            } else if let Some(orig) = &request.original_username {
                if orig != request.user() {
                    line.push_str(&format!("\tauth_user={}", tab_escape(orig)));
                }
            }
            line
        }
    };
    conn.send(&line)
}

/// A USER/PASS lookup about to run: its id, request, engine, and whether the user name
/// was acceptable.
type LookupStart = (
    u32,
    AuthRequest,
    Arc<crate::auth::engine::Auth>,
    Result<(), String>,
);

/// Parses `<id> <user> [params]` of USER/PASS; None = a broken command (close).
fn lookup_request(conn: &MasterConnection<'_>, args: &str, command: &str) -> Option<LookupStart> {
    let list = split_tabescaped(args);
    let (Some(id), Some(user)) = (
        list.first().and_then(|v| v.parse::<u32>().ok()),
        list.get(1),
    ) else {
        conn.error(&format!("BUG: Master sent broken {command}"));
        return None;
    };
    let service = list[2..]
        .iter()
        .find_map(|i| i.strip_prefix("service="))
        .map(str::to_string);
    let Some(service) = service else {
        conn.error(&format!(
            "BUG: Master sent {command} request without service"
        ));
        return None;
    };
    let auth = match conn.service.auths.get(&service) {
        Ok(a) => a,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            return None;
        }
    };
    let mut request = AuthRequest::new(Arc::clone(&auth.settings));
    request.id = id;
    for item in &list[2..] {
        let (k, v) = split_key_value(item);
        request.import_info(k, v);
    }
    let set = request.set_username(user, !auth.masterdbs.is_empty());
    Some((id, request, auth, set))
}

fn input_user(conn: &mut MasterConnection<'_>, args: &str) -> bool {
    let Some((id, mut request, auth, set)) = lookup_request(conn, args, "USER") else {
        return false;
    };
    let mut result = match set {
        Err(e) => {
            request.log(Level::Info, Some(&request.log_prefix("userdb")), &e);
            UserdbResult::UserUnknown
        }
        Ok(()) => auth.lookup_user(&mut request),
    };
    if result == UserdbResult::Ok {
        if let Some(restricted) = conn.restricted_uid {
            let uid = request.userdb_reply.as_ref().and_then(|r| r.get("uid"));
            let reason = match uid {
                None => Some("userdb reply doesn't contain uid".to_string()),
                Some(u) => match u.parse::<u32>() {
                    Err(_) => Some("userdb reply contains invalid uid".to_string()),
                    Ok(u) if u != restricted => Some(format!(
                        "userdb uid ({u}) doesn't match peer uid ({restricted})"
                    )),
                    Ok(_) => None,
                },
            };
            if let Some(reason) = reason {
                request.log(
                    Level::Error,
                    Some(&request.log_prefix("userdb")),
                    &format!(
                        "client doesn't have lookup permissions for this user: {reason} (to bypass this check, set: service auth {{ unix_listener {} {{ mode=0777 }} }})",
                        conn.path
                    ),
                );
                result = UserdbResult::InternalFailure;
            }
        }
    }
    let line = match result {
        UserdbResult::InternalFailure => {
            let mut line = format!("FAIL\t{id}");
            if request.userdb_lookup_tempfailed {
                if let Some(reason) = request.userdb_reply.as_ref().and_then(|r| r.get("reason")) {
                    line.push_str(&format!("\treason={reason}"));
                }
            }
            line
        }
        UserdbResult::UserUnknown => format!("NOTFOUND\t{id}"),
        UserdbResult::Ok => format!(
            "USER\t{id}\t{}\t{}",
            tab_escape(request.user()),
            request
                .userdb_reply
                .as_ref()
                .map(|r| r.visible_line())
                .unwrap_or_default()
        ),
    };
    conn.send(&line)
}

fn input_pass(conn: &mut MasterConnection<'_>, args: &str) -> bool {
    let Some((id, mut request, auth, set)) = lookup_request(conn, args, "PASS") else {
        return false;
    };
    let result = match set {
        Err(e) => {
            request.log(Level::Info, Some(&request.log_prefix("passdb")), &e);
            PassdbResult::UserUnknown
        }
        Ok(()) if conn.restricted_uid.is_some() => {
            request.log(
                Level::Error,
                Some(&request.log_prefix("passdb")),
                &format!(
                    "Auth client doesn't have permissions to do a PASS lookup: {}",
                    restricted_reason(conn)
                ),
            );
            PassdbResult::InternalFailure
        }
        Ok(()) => match auth.lookup_credentials(&mut request, "").result {
            PassdbResult::Ok if crate::auth::proxy::finish(&mut request).is_err() => {
                PassdbResult::InternalFailure
            }
            result => result,
        },
    };
    let line = match result {
        PassdbResult::Ok if request.failed || !request.passdb_success => format!("FAIL\t{id}"),
        PassdbResult::Ok => {
            let mut line = format!("PASS\t{id}\tuser={}", tab_escape(request.user()));
            if !request.extra_fields.is_empty() {
                line.push('\t');
                line.push_str(&request.extra_fields.visible_line());
            }
            line
        }
        PassdbResult::UserUnknown | PassdbResult::UserDisabled | PassdbResult::PassExpired => {
            format!("NOTFOUND\t{id}")
        }
        PassdbResult::SchemeNotAvailable => {
            format!("FAIL\t{id}\treason=Configured passdbs don't support credentials lookups")
        }
        _ => format!("FAIL\t{id}"),
    };
    conn.send(&line)
}

fn restricted_reason(conn: &MasterConnection<'_>) -> String {
    let uid = conn.restricted_uid.unwrap_or(0);
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| format!("({})", u.name))
        .unwrap_or_default();
    format!("{} mode=0666, but not owned by UID {uid}{name}", conn.path)
}

fn input_list(conn: &mut MasterConnection<'_>, args: &str) -> bool {
    let list = split_tabescaped(args);
    let Some(id) = list.first().and_then(|v| v.parse::<u32>().ok()) else {
        conn.error("BUG: Master sent broken LIST");
        return false;
    };
    if conn.restricted_uid.is_some() {
        conn.error(&format!(
            "Auth client doesn't have permissions to list users: {}",
            restricted_reason(conn)
        ));
        return conn.send(&format!("DONE\t{id}\tfail"));
    }
    let mut service = String::new();
    let mut mask = String::new();
    for item in &list[1..] {
        let (k, v) = split_key_value(item);
        match k {
            "service" => service = v.to_string(),
            "user" => mask = v.to_string(),
            _ => {}
        }
    }
    let auth = match conn.service.auths.get(&service) {
        Ok(a) => a,
        Err(e) => {
            crate::log::emit(Level::Error, format_args!("{e}"));
            return conn.send(&format!("DONE\t{id}\tfail"));
        }
    };
    if !auth.can_list_users() {
        conn.error("Trying to iterate users, but userdbs don't support it");
        return conn.send(&format!("DONE\t{id}\tfail"));
    }
    let mut request = AuthRequest::new(Arc::clone(&auth.settings));
    request.id = id;
    request.service = service;
    for item in &list[1..] {
        let (k, v) = split_key_value(item);
        request.import_info(k, v);
    }
    let (users, failed) = auth.list_users(&request, &mask);
    for user in users {
        if !conn.send(&format!("LIST\t{id}\t{}", tab_escape(&user))) {
            return false;
        }
    }
    conn.send(&format!("DONE\t{id}\t{}", if failed { "fail" } else { "" }))
}

fn input_cache_flush(conn: &mut MasterConnection<'_>, args: &str) -> bool {
    let list = split_tabescaped(args);
    let Some(id) = list.first() else {
        conn.error("BUG: doveadm sent broken CACHE-FLUSH");
        return false;
    };
    let count = match conn.service.auths.get("") {
        Ok(auth) => auth.cache.as_ref().map_or(0, |c| c.clear(&list[1..])),
        Err(_) => 0,
    };
    conn.send(&format!("OK\t{id}\t{count}"))
}
