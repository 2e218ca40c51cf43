//! Auth workers: blocking passdb/userdb lookups (PAM, shadow, passwd, checkpassword) run in
//! `service auth-worker` processes, never in the auth service. The auth service connects to
//! `base_dir/auth-worker` (the master's listener; `client_limit = 1`, so each connection is
//! one worker process, up to `process_limit`, Dovecot's 30 by default) and keeps idle
//! connections for the next lookups.
//!
//! The protocol is cote-internal, one line per request and reply, TAB-separated and
//! escaped:
//! - `ID PASSV master index password request-state` → `ID result changes...`
//! - `ID PASSL master index request-state` → `ID result changes... [stored={S}data]`
//! - `ID USER index request-state` → `ID result changes...`
//! - `ID LIST index request-state` → `ID LIST user`... then `ID DONE [fail]`
//!
//! where the request state is [`AuthRequest::export`] and the changes are what the lookup
//! changed: `user=`, `passdb_`/`passdb-hidden_`/`userdb_` fields, `password=`, `failed`,
//! `tempfail`.

use std::io::{BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::db::StoredPassword;
use super::engine::AuthSet;
use super::fields::{split_key_value, tab_escape, tab_unescape};
use super::request::{AuthRequest, PassdbRef, PassdbResult, UserdbResult};
use super::wire::{read_line, Line};
use crate::log::Level;

/// How long a lookup may take in a worker before it counts as failed.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest reply line read from a worker.
const MAX_LINE: usize = 1024 * 1024;

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<BufReader<UnixStream>>>,
    next_id: AtomicU32,
}

/// The auth service's side: sends lookups to workers.
#[derive(Clone)]
pub struct WorkerClient {
    pool: Arc<Pool>,
}

impl WorkerClient {
    pub fn new(path: PathBuf) -> WorkerClient {
        WorkerClient {
            pool: Arc::new(Pool {
                path,
                idle: Mutex::new(Vec::new()),
                next_id: AtomicU32::new(1),
            }),
        }
    }

    fn connect(&self) -> Result<BufReader<UnixStream>, String> {
        if let Some(conn) = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
        {
            return Ok(conn);
        }
        let stream = UnixStream::connect(&self.pool.path)
            .map_err(|e| crate::errtext::connect_error_text(&self.pool.path, &e))?;
        stream
            .set_read_timeout(Some(LOOKUP_TIMEOUT))
            .map_err(|e| e.to_string())?;
        Ok(BufReader::new(stream))
    }

    /// Sends `command` and reads reply lines until `done` says the reply is complete.
    fn call(
        &self,
        command: &str,
        mut done: impl FnMut(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let id = self.pool.next_id.fetch_add(1, Ordering::Relaxed);
        let mut conn = self.connect()?;
        let line = format!("{id}\t{command}\n");
        conn.get_mut().write_all(line.as_bytes()).map_err(|e| {
            format!(
                "auth-worker: write() failed: {}",
                crate::errtext::os_error_text(&e)
            )
        })?;
        let mut lines = Vec::new();
        loop {
            let text = match read_line(&mut conn, MAX_LINE) {
                Line::Text(t) => t,
                Line::TooLong => return Err("auth-worker: Reply line too long".into()),
                Line::Closed => return Err(
                    "auth-worker: Aborted: worker process died unexpectedly or lookup timed out"
                        .into(),
                ),
            };
            let Some(rest) = text.strip_prefix(&format!("{id}\t")) else {
                return Err(format!("auth-worker: Invalid reply: {text}"));
            };
            let rest = rest.to_string();
            let finished = done(&rest);
            lines.push(rest);
            if finished {
                break;
            }
        }
        self.pool
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        Ok(lines)
    }

    fn single(&self, request: &AuthRequest, command: String) -> Option<(String, Vec<String>)> {
        match self.call(&command, |_| true) {
            Ok(mut lines) => {
                let line = lines.pop().unwrap_or_default();
                let mut parts = line.split('\t').map(str::to_string);
                let result = parts.next().unwrap_or_default();
                Some((result, parts.collect()))
            }
            Err(e) => {
                request.db_log_at(Level::Error, &e);
                None
            }
        }
    }

    pub fn verify_plain(
        &self,
        request: &mut AuthRequest,
        at: PassdbRef,
        password: &str,
    ) -> PassdbResult {
        let command = format!(
            "PASSV\t{}\t{}\t{}\t{}",
            u8::from(at.master),
            at.index,
            tab_escape(password),
            request.export()
        );
        match self.single(request, command) {
            Some((result, changes)) => {
                apply_changes(request, &changes);
                PassdbResult::parse(&result).unwrap_or(PassdbResult::InternalFailure)
            }
            None => PassdbResult::InternalFailure,
        }
    }

    pub fn lookup_credentials(
        &self,
        request: &mut AuthRequest,
        at: PassdbRef,
    ) -> (PassdbResult, Option<StoredPassword>) {
        let command = format!(
            "PASSL\t{}\t{}\t{}",
            u8::from(at.master),
            at.index,
            request.export()
        );
        match self.single(request, command) {
            Some((result, changes)) => {
                let stored = apply_changes(request, &changes);
                let result = PassdbResult::parse(&result).unwrap_or(PassdbResult::InternalFailure);
                (result, stored)
            }
            None => (PassdbResult::InternalFailure, None),
        }
    }

    pub fn lookup_user(&self, request: &mut AuthRequest, index: usize) -> UserdbResult {
        let command = format!("USER\t{index}\t{}", request.export());
        match self.single(request, command) {
            Some((result, changes)) => {
                apply_changes(request, &changes);
                UserdbResult::parse(&result).unwrap_or(UserdbResult::InternalFailure)
            }
            None => UserdbResult::InternalFailure,
        }
    }

    pub fn list_users(
        &self,
        request: &AuthRequest,
        index: usize,
    ) -> Option<Result<Vec<String>, String>> {
        let command = format!("LIST\t{index}\t{}", request.export());
        match self.call(&command, |line| !line.starts_with("LIST\t")) {
            Err(e) => Some(Err(e)),
            Ok(lines) => {
                let mut users = Vec::new();
                for line in lines {
                    if let Some(user) = line.strip_prefix("LIST\t") {
                        users.push(tab_unescape(user));
                    } else if line == "DONE\tfail" {
                        return Some(Err("userdb iteration failed in auth worker".into()));
                    } else if line == "DONE\tnone" {
                        return None;
                    }
                }
                Some(Ok(users))
            }
        }
    }
}

/// Applies a worker's changes to the request; returns a stored password if one came back.
fn apply_changes(request: &mut AuthRequest, changes: &[String]) -> Option<StoredPassword> {
    let mut stored = None;
    for change in changes {
        let (key, raw) = split_key_value(change);
        let value = tab_unescape(raw);
        match key {
            "user" => request.user = Some(value),
            "password" => request.passdb_password = Some(value),
            "failed" => request.failed = true,
            "tempfail" => request.userdb_lookup_tempfailed = true,
            "stored" => {
                let (scheme, data) = value.split_once('\t').unwrap_or(("", &value));
                stored = Some(StoredPassword {
                    scheme: scheme.to_string(),
                    data: data.to_string(),
                });
            }
            _ => {
                if let Some(k) = key.strip_prefix("passdb-hidden_") {
                    request.extra_fields.add(k, &value, true);
                } else if let Some(k) = key.strip_prefix("passdb_") {
                    request.extra_fields.add(k, &value, false);
                } else if let Some(k) = key.strip_prefix("userdb_") {
                    request
                        .userdb_reply
                        .get_or_insert_with(Default::default)
                        .add(k, &value, false);
                }
            }
        }
    }
    stored
}

/// What the lookup changed, for the reply.
fn changes(request: &AuthRequest, user_before: &str) -> Vec<String> {
    let mut out = Vec::new();
    if request.user() != user_before {
        out.push(format!("user={}", tab_escape(request.user())));
    }
    if let Some(pw) = &request.passdb_password {
        out.push(format!("password={}", tab_escape(pw)));
    }
    if request.failed {
        out.push("failed".into());
    }
    if request.userdb_lookup_tempfailed {
        out.push("tempfail".into());
    }
    for (k, v, hidden) in request.extra_fields.changed() {
        let prefix = if hidden { "passdb-hidden_" } else { "passdb_" };
        out.push(format!("{prefix}{k}={}", tab_escape(v)));
    }
    if let Some(reply) = &request.userdb_reply {
        for (k, v, _) in reply.changed() {
            out.push(format!("userdb_{k}={}", tab_escape(v)));
        }
    }
    out
}

/// One request read by a worker; returns the reply lines.
pub fn handle_line(auths: &AuthSet, line: &str) -> Option<Vec<String>> {
    let mut parts = line.splitn(3, '\t');
    let id = parts.next()?;
    let command = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let mut args = rest.splitn(5, '\t');
    let reply = |body: String| Some(vec![format!("{id}\t{body}")]);
    let service_of = |state: &str| {
        state
            .split('\t')
            .find_map(|a| a.strip_prefix("service="))
            .map(tab_unescape)
            .unwrap_or_default()
    };
    let new_request = |state: &str| -> Option<(Arc<super::engine::Auth>, AuthRequest)> {
        let auth = match auths.get(&service_of(state)) {
            Ok(a) => a,
            Err(e) => {
                crate::log::emit(Level::Error, format_args!("{e}"));
                return None;
            }
        };
        let mut request = AuthRequest::new(Arc::clone(&auth.settings));
        request.import_exported(state);
        request.extra_fields.snapshot();
        if let Some(r) = &mut request.userdb_reply {
            r.snapshot();
        }
        Some((auth, request))
    };
    match command {
        "PASSV" | "PASSL" => {
            let master = args.next()? == "1";
            let index: usize = args.next()?.parse().ok()?;
            let password = if command == "PASSV" {
                Some(tab_unescape(args.next()?))
            } else {
                None
            };
            let state: String = args.collect::<Vec<_>>().join("\t");
            let Some((auth, mut request)) = new_request(&state) else {
                return reply("internal_failure".into());
            };
            let Some(passdb) = auth.passdb(PassdbRef { master, index }) else {
                return reply("internal_failure".into());
            };
            request.passdb = Some(PassdbRef { master, index });
            request.in_deny_passdb = passdb.settings.deny;
            request.begin_db_log(passdb.settings.log_name(), passdb.settings.auth_verbose);
            let user_before = request.user().to_string();
            let (result, stored) = match password {
                Some(pw) => {
                    request.mech_password = Some(pw.clone());
                    (passdb.driver.verify_plain(&mut request, &pw), None)
                }
                None => passdb.driver.lookup_credentials(&mut request),
            };
            let mut out = changes(&request, &user_before);
            if let Some(s) = stored {
                out.push(format!(
                    "stored={}",
                    tab_escape(&format!("{}\t{}", s.scheme, s.data))
                ));
            }
            let mut body = result.name().to_string();
            for c in out {
                body.push('\t');
                body.push_str(&c);
            }
            reply(body)
        }
        "USER" => {
            let index: usize = args.next()?.parse().ok()?;
            let state: String = args.collect::<Vec<_>>().join("\t");
            let Some((auth, mut request)) = new_request(&state) else {
                return reply("internal_failure".into());
            };
            let Some(userdb) = auth.userdbs.get(index) else {
                return reply("internal_failure".into());
            };
            request.userdb = Some(index);
            request.begin_db_log(userdb.settings.log_name(), userdb.settings.auth_verbose);
            let user_before = request.user().to_string();
            let result = userdb.driver.lookup(&mut request);
            let mut body = result.name().to_string();
            for c in changes(&request, &user_before) {
                body.push('\t');
                body.push_str(&c);
            }
            reply(body)
        }
        "LIST" => {
            let index: usize = args.next()?.parse().ok()?;
            let state: String = args.collect::<Vec<_>>().join("\t");
            let Some((auth, request)) = new_request(&state) else {
                return reply("DONE\tfail".into());
            };
            let Some(userdb) = auth.userdbs.get(index) else {
                return reply("DONE\tfail".into());
            };
            let mut lines = Vec::new();
            match userdb.driver.iterate(&request) {
                None => lines.push(format!("{id}\tDONE\tnone")),
                Some(Err(e)) => {
                    request.db_log_at(Level::Error, &e);
                    lines.push(format!("{id}\tDONE\tfail"));
                }
                Some(Ok(users)) => {
                    lines.extend(
                        users
                            .iter()
                            .map(|u| format!("{id}\tLIST\t{}", tab_escape(u))),
                    );
                    lines.push(format!("{id}\tDONE\t"));
                }
            }
            Some(lines)
        }
        _ => None,
    }
}

/// Serves one auth service connection in a worker process until it closes.
pub fn serve(auths: &AuthSet, stream: UnixStream) {
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let text = match read_line(&mut reader, MAX_LINE) {
            Line::Text(t) => t,
            Line::Closed => return,
            Line::TooLong => {
                crate::log::emit(
                    Level::Error,
                    format_args!("auth-worker: request line too long"),
                );
                return;
            }
        };
        let Some(replies) = handle_line(auths, &text) else {
            crate::log::emit(
                Level::Error,
                format_args!(
                    "BUG: Auth-worker received invalid request: {}",
                    crate::log::str_sanitize(text.as_bytes(), 80)
                ),
            );
            return;
        };
        let mut out = replies.join("\n");
        out.push('\n');
        if writer.write_all(out.as_bytes()).is_err() {
            return;
        }
        if auths.worker_restart_wanted() {
            // max_requests reached: this process exits; the master starts a fresh one.
            std::process::exit(0);
        }
    }
}
