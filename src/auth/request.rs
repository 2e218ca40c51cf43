//! One authentication or user lookup: who is asking (service, addresses, TLS), the user name
//! as it changes (original, translated, master user), the fields passdbs and userdbs return,
//! and the bookkeeping of a passdb/userdb chain. Log lines carry Dovecot's prefixes:
//! `passwd-file(alice,127.0.0.1): unknown user`, `plain(?,127.0.0.1): invalid input`.

use crate::log::str_sanitize;
use std::net::IpAddr;
use std::sync::Arc;

use super::fields::{tab_escape, Fields};
use super::request_vars::no_escape;
use super::scheme::StoredPassword;
use super::settings::AuthSettings;
use crate::log::Level;

/// How the client connection is protected (`secured`, `secured=tls` in AUTH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Secured {
    #[default]
    No,
    /// Trusted network or loopback.
    Yes,
    Tls,
}

/// What one passdb lookup, or a whole passdb chain, found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassdbResult {
    InternalFailure,
    SchemeNotAvailable,
    UserUnknown,
    UserDisabled,
    PassExpired,
    /// `noauthenticate`: the passdb only added fields.
    Next,
    PasswordMismatch,
    Ok,
}

impl PassdbResult {
    pub fn name(self) -> &'static str {
        match self {
            PassdbResult::InternalFailure => "internal_failure",
            PassdbResult::SchemeNotAvailable => "scheme_not_available",
            PassdbResult::UserUnknown => "user_unknown",
            PassdbResult::UserDisabled => "user_disabled",
            PassdbResult::PassExpired => "pass_expired",
            PassdbResult::Next => "next",
            PassdbResult::PasswordMismatch => "password_mismatch",
            PassdbResult::Ok => "ok",
        }
    }

    pub fn parse(name: &str) -> Option<PassdbResult> {
        [
            PassdbResult::InternalFailure,
            PassdbResult::SchemeNotAvailable,
            PassdbResult::UserUnknown,
            PassdbResult::UserDisabled,
            PassdbResult::PassExpired,
            PassdbResult::Next,
            PassdbResult::PasswordMismatch,
            PassdbResult::Ok,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserdbResult {
    InternalFailure,
    UserUnknown,
    Ok,
}

impl UserdbResult {
    pub fn name(self) -> &'static str {
        match self {
            UserdbResult::InternalFailure => "internal_failure",
            UserdbResult::UserUnknown => "user_unknown",
            UserdbResult::Ok => "ok",
        }
    }

    pub fn parse(name: &str) -> Option<UserdbResult> {
        [
            UserdbResult::InternalFailure,
            UserdbResult::UserUnknown,
            UserdbResult::Ok,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

/// Which passdb a request is at: one of the normal passdbs or one of the master passdbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassdbRef {
    pub master: bool,
    pub index: usize,
}

/// The db a log line is about (set while a passdb/userdb lookup runs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DbLogContext {
    name: String,
    verbose: Option<bool>,
}

/// The log text for a password mismatch.
pub const PASSWORD_MISMATCH: &str = "Password mismatch";

#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub settings: Arc<AuthSettings>,
    /// The client's request id (AUTH id, or the master/userdb request id).
    pub id: u32,
    /// The login process's CPID; 0 for lookups that are not logins.
    pub client_pid: u32,
    /// The auth connection's CUID (APOP challenges name it).
    pub connect_uid: u32,
    pub mech: Option<&'static str>,
    pub service: String,
    pub user: Option<String>,
    pub original_username: Option<String>,
    pub translated_username: Option<String>,
    pub requested_login_user: Option<String>,
    pub master_user: Option<String>,
    pub realm: Option<String>,
    pub local_ip: Option<IpAddr>,
    pub remote_ip: Option<IpAddr>,
    pub local_port: u16,
    pub remote_port: u16,
    pub real_local_ip: Option<IpAddr>,
    pub real_remote_ip: Option<IpAddr>,
    pub real_local_port: u16,
    pub real_remote_port: u16,
    pub local_name: Option<String>,
    pub session_id: Option<String>,
    pub client_id: Option<String>,
    pub secured: Secured,
    pub valid_client_cert: bool,
    pub cert_username: bool,
    pub no_penalty: bool,
    pub final_resp_ok: bool,
    pub debug: bool,
    /// Authentication succeeded (the master REQUEST may pick it up).
    pub successful: bool,
    /// A passdb verified the password already (continue rules, master `pass`).
    pub skip_password_check: bool,
    pub extra_fields: Fields,
    pub userdb_reply: Option<Fields>,
    /// The password the current passdb returned, `{SCHEME}data`.
    pub passdb_password: Option<String>,
    /// The password the client gave.
    pub mech_password: Option<String>,
    /// Something inside a passdb lookup failed it (allow_nets, `fail` field).
    pub failed: bool,
    pub internal_failure: bool,
    pub passdb_success: bool,
    pub userdb_success: bool,
    pub passdb_result: PassdbResult,
    pub userdb_lookup: bool,
    pub userdb_lookup_tempfailed: bool,
    pub user_changed_by_lookup: bool,
    /// The scheme a credentials lookup wants; None = a plaintext verification.
    pub wanted_credentials_scheme: Option<String>,
    pub delayed_credentials: Option<Vec<u8>>,
    pub passdbs_seen_user_unknown: bool,
    pub passdbs_seen_internal_failure: bool,
    pub userdbs_seen_internal_failure: bool,
    pub passdb: Option<PassdbRef>,
    pub userdb: Option<usize>,
    pub session_pid: Option<u32>,
    /// Authentication only (auth-client socket): no master REQUEST will follow.
    pub auth_only: bool,
    pub userdb_prefetch_set: bool,
    /// The passdb being looked up has `deny = yes` (passwords are not checked).
    pub in_deny_passdb: bool,
    /// Another passdb (userdb) follows the one being looked up, for log lines.
    pub more_dbs: bool,
    db_log: Option<DbLogContext>,
}

impl AuthRequest {
    pub fn new(settings: Arc<AuthSettings>) -> AuthRequest {
        let debug = settings.debug;
        AuthRequest {
            settings,
            id: 0,
            client_pid: 0,
            connect_uid: 0,
            mech: None,
            service: String::new(),
            user: None,
            original_username: None,
            translated_username: None,
            requested_login_user: None,
            master_user: None,
            realm: None,
            local_ip: None,
            remote_ip: None,
            local_port: 0,
            remote_port: 0,
            real_local_ip: None,
            real_remote_ip: None,
            real_local_port: 0,
            real_remote_port: 0,
            local_name: None,
            session_id: None,
            client_id: None,
            secured: Secured::No,
            valid_client_cert: false,
            cert_username: false,
            no_penalty: false,
            final_resp_ok: false,
            debug,
            successful: false,
            skip_password_check: false,
            extra_fields: Fields::new(),
            userdb_reply: None,
            passdb_password: None,
            mech_password: None,
            failed: false,
            internal_failure: false,
            passdb_success: false,
            userdb_success: false,
            passdb_result: PassdbResult::InternalFailure,
            userdb_lookup: false,
            userdb_lookup_tempfailed: false,
            user_changed_by_lookup: false,
            wanted_credentials_scheme: None,
            delayed_credentials: None,
            passdbs_seen_user_unknown: false,
            passdbs_seen_internal_failure: false,
            userdbs_seen_internal_failure: false,
            passdb: None,
            userdb: None,
            session_pid: None,
            auth_only: false,
            userdb_prefetch_set: false,
            in_deny_passdb: false,
            more_dbs: false,
            db_log: None,
        }
    }

    /// The user name, `""` when not known yet.
    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }

    // ---- parameters from the protocols ------------------------------------------------

    /// Parameters any lookup may carry (service, addresses, session, ...).
    pub fn import_info(&mut self, key: &str, value: &str) -> bool {
        let ip = |v: &str| v.parse::<IpAddr>().ok();
        let port = |v: &str| v.parse::<u16>().ok();
        match key {
            "service" => self.service = value.to_string(),
            "lip" => {
                if let Some(a) = ip(value) {
                    self.local_ip = Some(a);
                    self.real_local_ip.get_or_insert(a);
                }
            }
            "rip" => {
                if let Some(a) = ip(value) {
                    self.remote_ip = Some(a);
                    self.real_remote_ip.get_or_insert(a);
                }
            }
            "lport" => {
                if let Some(p) = port(value) {
                    self.local_port = p;
                    if self.real_local_port == 0 {
                        self.real_local_port = p;
                    }
                }
            }
            "rport" => {
                if let Some(p) = port(value) {
                    self.remote_port = p;
                    if self.real_remote_port == 0 {
                        self.real_remote_port = p;
                    }
                }
            }
            "real_lip" => self.real_local_ip = ip(value).or(self.real_local_ip),
            "real_rip" => self.real_remote_ip = ip(value).or(self.real_remote_ip),
            "real_lport" => self.real_local_port = port(value).unwrap_or(self.real_local_port),
            "real_rport" => self.real_remote_port = port(value).unwrap_or(self.real_remote_port),
            "local_name" => self.local_name = Some(value.to_string()),
            "session" => self.session_id = Some(value.to_string()),
            "debug" => self.debug = true,
            "client_id" => self.client_id = Some(value.to_string()),
            "forward_fields" => {
                for arg in value.split('\t').filter(|a| !a.is_empty()) {
                    let (k, v) = super::fields::split_key_value(arg);
                    self.extra_fields.add(
                        &format!("forward_{k}"),
                        &super::fields::tab_unescape(v),
                        false,
                    );
                }
                self.extra_fields.snapshot();
            }
            _ => return false,
        }
        true
    }

    /// Parameters an authentication client may set (AUTH line).
    pub fn import_auth(&mut self, key: &str, value: &str) -> bool {
        if self.import_info(key, value) {
            return true;
        }
        match key {
            "secured" => {
                self.secured = if value == "tls" {
                    Secured::Tls
                } else {
                    Secured::Yes
                }
            }
            "final-resp-ok" => self.final_resp_ok = true,
            "no-penalty" => self.no_penalty = true,
            "valid-client-cert" => self.valid_client_cert = true,
            "cert_username" => {
                if self.settings.ssl_username_from_cert && !value.is_empty() {
                    self.user = Some(value.to_string());
                    self.cert_username = true;
                }
            }
            _ => return false,
        }
        true
    }

    /// The master REQUEST's parameters.
    pub fn import_master(&mut self, key: &str, value: &str) -> bool {
        match key {
            "session_pid" => {
                if let Ok(pid) = value.parse() {
                    self.session_pid = Some(pid);
                }
                true
            }
            "request_auth_token" => true,
            _ => false,
        }
    }

    // ---- user names --------------------------------------------------------------------

    /// Applies auth_default_realm, auth_username_translation, auth_username_chars and
    /// auth_username_format to a name the client gave.
    fn fix_username(&self, username: &str) -> Result<String, String> {
        let set = &self.settings;
        let mut user = if !set.default_realm.is_empty() && !username.contains('@') {
            format!("{username}@{}", set.default_realm)
        } else {
            username.to_string()
        };
        if !set.username_translation.is_empty() {
            user = user
                .chars()
                .map(|c| {
                    set.username_translation
                        .iter()
                        .find(|(from, _)| *from == c)
                        .map_or(c, |(_, to)| *to)
                })
                .collect();
        }
        if !set.username_chars.is_empty() {
            if let Some(bad) = user
                .bytes()
                .find(|b| !set.username_chars.as_bytes().contains(b))
            {
                return Err(format!(
                    "Username character disallowed by auth_username_chars: 0x{bad:02x} (username: {})",
                    str_sanitize(username.as_bytes(), 128)
                ));
            }
        }
        if !set.username_format.is_empty() {
            user = self
                .expand_for(&set.username_format, &user, no_escape)
                .map_err(|e| {
                    format!(
                        "Failed to expand username_format={}: {e}",
                        set.username_format
                    )
                })?;
        }
        if user.is_empty() {
            return Err("Empty username".to_string());
        }
        Ok(user)
    }

    /// Sets the user name the client authenticates as (Dovecot's auth_request_set_username):
    /// splits off a master user login (`user*master`), remembers the original name, applies
    /// the username settings. `masterdbs` says whether master passdbs exist.
    pub fn set_username(&mut self, username: &str, masterdbs: bool) -> Result<(), String> {
        let mut username = username.to_string();
        let mut login_username = None;
        if let (Some(sep), false) = (self.settings.master_user_separator, self.userdb_lookup) {
            if let Some(pos) = username.find(sep) {
                login_username = Some(username[..pos].to_string());
                username = username[pos + sep.len_utf8()..].to_string();
            }
        }
        if self.original_username.is_none() {
            self.original_username = Some(username.clone());
        }
        if self.cert_username {
            username = self.user.clone().unwrap_or_default();
        }
        match self.fix_username(&username) {
            Ok(fixed) => self.user = Some(fixed),
            Err(e) => {
                self.user = None;
                return Err(e);
            }
        }
        if self.translated_username.is_none() {
            self.translated_username = self.user.clone();
        }
        self.user_changed_by_lookup = true;
        if let Some(login) = login_username {
            self.set_login_username(&login, masterdbs)?;
        }
        Ok(())
    }

    /// A master user login: `username` is the user to log in as; the name set before is the
    /// master user, verified against the master passdbs.
    pub fn set_login_username(&mut self, username: &str, masterdbs: bool) -> Result<(), String> {
        if username.is_empty() {
            return Err("Master user login attempted to use empty login username".into());
        }
        if Some(username) == self.user.as_deref() {
            return Ok(());
        }
        if !masterdbs {
            return Err("Master user login attempted without master passdbs".into());
        }
        self.passdb = Some(PassdbRef {
            master: true,
            index: 0,
        });
        match self.fix_username(username) {
            Ok(fixed) => {
                self.debug_log(&format!(
                    "{}Master user lookup for login: {fixed}",
                    self.db_prefix()
                ));
                self.requested_login_user = Some(fixed);
                Ok(())
            }
            Err(e) => {
                self.requested_login_user = None;
                Err(e)
            }
        }
    }

    /// The master user's passdb lookup succeeded: from now on the request is the login user.
    pub fn master_user_login_finish(&mut self) {
        if self.failed {
            return;
        }
        let Some(login) = self.requested_login_user.take() else {
            return;
        };
        self.log(
            Level::Info,
            None,
            &format!("Master user logging in as {login}"),
        );
        self.master_user = self.user.take();
        self.user = Some(login.clone());
        self.translated_username = Some(login);
    }

    // ---- fields ------------------------------------------------------------------------

    fn set_password(&mut self, value: &str, default_scheme: Option<&str>, noscheme: bool) {
        if self.passdb_password.is_some() {
            self.db_log_at(Level::Error, "Multiple password values not supported");
            return;
        }
        let has_scheme = value.starts_with('{') && value.contains('}');
        self.passdb_password = Some(if has_scheme && !noscheme {
            value.to_string()
        } else {
            format!("{{{}}}{value}", default_scheme.unwrap_or("PLAIN"))
        });
    }

    fn try_update_username(&mut self, name: &str, value: &str) -> bool {
        let old = self.user().to_string();
        let new = match name {
            "user" => value.to_string(),
            "username" => {
                if value.contains('@') {
                    value.to_string()
                } else {
                    match old.find('@') {
                        Some(at) => format!("{value}{}", &old[at..]),
                        None => value.to_string(),
                    }
                }
            }
            "domain" => match old.find('@') {
                Some(at) => format!("{}{value}", &old[..=at]),
                None => format!("{old}@{value}"),
            },
            _ => return false,
        };
        if new.is_empty() {
            self.db_log_at(Level::Error, "username attempted to be changed to empty");
            self.failed = true;
            return true;
        }
        if new != old {
            self.db_log_at(Level::Debug, &format!("username changed {old} -> {new}"));
            self.user = Some(new);
            self.user_changed_by_lookup = true;
        }
        true
    }

    /// Sets a passdb field (Dovecot's auth_request_set_field): `password`, user name changes,
    /// `allow_nets`, `nopassword`, `userdb_*` for prefetching, `fail`, and anything else as
    /// an extra field for the client.
    pub fn set_field(&mut self, name: &str, value: &str, default_scheme: Option<&str>) {
        let mut name = name;
        if let Some(base) = name.strip_suffix(":protected") {
            if self.extra_fields.contains(base) {
                return;
            }
            name = base;
        } else if let Some(base) = name.strip_suffix(":remove") {
            self.extra_fields.remove(base);
            return;
        }
        match name {
            "password" => return self.set_password(value, default_scheme, false),
            "password_noscheme" => return self.set_password(value, default_scheme, true),
            _ => {}
        }
        if self.try_update_username(name, value) {
        } else if name == "login_user" {
            self.requested_login_user = Some(value.to_string());
        } else if name == "allow_nets" {
            self.validate_networks(name, value, self.remote_ip);
        } else if name == "allow_real_nets" {
            self.validate_networks(name, value, self.real_remote_ip);
        } else if name == "fail" {
            self.failed = true;
        } else if let Some(userdb_name) = name.strip_prefix("userdb_") {
            self.userdb_prefetch_set = true;
            if self.userdb_reply.is_none() {
                self.userdb_reply = Some(Fields::new());
            }
            if userdb_name == "userdb_import" {
                for arg in value.split('\t').filter(|a| !a.is_empty()) {
                    let (k, v) = super::fields::split_key_value(arg);
                    self.set_field(&format!("userdb_{k}"), v, default_scheme);
                }
                return;
            }
            self.set_userdb_field(userdb_name, value);
        } else if name == "noauthenticate" {
            self.extra_fields.add(name, value, false);
            self.extra_fields.add("nopassword", "", false);
            return;
        } else if name == "nopassword" {
            if let Some(pw) = &self.passdb_password {
                let data = StoredPassword::parse_prefixed(pw.as_bytes())
                    .map_or(pw.as_bytes(), |p| p.data());
                if !data.is_empty() && !self.extra_fields.contains("noauthenticate") {
                    self.db_log_at(Level::Error, "nopassword set but password is non-empty");
                    return;
                }
            }
            self.passdb_password = None;
            self.extra_fields.add(name, value, false);
            return;
        } else if name == "passdb_import" {
            for arg in value.split('\t').filter(|a| !a.is_empty()) {
                let (k, v) = super::fields::split_key_value(arg);
                self.set_field(k, v, default_scheme);
            }
            return;
        } else {
            self.extra_fields.add(name, value, false);
            return;
        }
        // Kept for the cache and workers, never shown to the client.
        self.extra_fields.add(name, value, true);
    }

    /// Sets `key[=value]` as a passdb field.
    pub fn set_field_keyvalue(&mut self, field: &str, default_scheme: Option<&str>) {
        let (k, v) = super::fields::split_key_value(field);
        if !k.is_empty() {
            self.set_field(k, v, default_scheme);
        }
    }

    /// Sets a userdb field (Dovecot's auth_request_set_userdb_field): `uid`/`gid` by number
    /// or name, user name changes, `tempfail`, `userdb_import`, `system_user`.
    pub fn set_userdb_field(&mut self, name: &str, value: &str) {
        let mut name = name;
        let reply = self.userdb_reply.get_or_insert_with(Fields::new);
        if let Some(base) = name.strip_suffix(":protected") {
            if reply.contains(base) {
                return;
            }
            name = base;
        } else if let Some(base) = name.strip_suffix(":remove") {
            reply.remove(base);
            return;
        }
        let mut value = value.to_string();
        match name {
            "uid" => match parse_uid(&value) {
                Ok(uid) => value = uid.to_string(),
                Err(e) => {
                    self.db_log_at(Level::Error, &e);
                    self.userdb_lookup_tempfailed = true;
                    return;
                }
            },
            "gid" => match parse_gid(&value) {
                Ok(gid) => value = gid.to_string(),
                Err(e) => {
                    self.db_log_at(Level::Error, &e);
                    self.userdb_lookup_tempfailed = true;
                    return;
                }
            },
            "tempfail" => {
                self.userdb_lookup_tempfailed = true;
                return;
            }
            "userdb_import" => {
                for arg in value.split('\t').filter(|a| !a.is_empty()) {
                    let (k, v) = super::fields::split_key_value(arg);
                    self.set_userdb_field(k, v);
                }
                return;
            }
            "" | "\tignore" => return,
            _ => {}
        }
        if self.try_update_username(name, &value) {
            return;
        }
        let name = if name == "system_user" {
            "system_groups_user"
        } else {
            name
        };
        self.userdb_reply
            .get_or_insert_with(Fields::new)
            .add(name, &value, false);
    }

    fn validate_networks(&mut self, name: &str, networks: &str, remote: Option<IpAddr>) {
        let mut found = false;
        for net in networks.split([' ', ',']).filter(|n| !n.is_empty()) {
            self.db_log_at(Level::Debug, &format!("{name}: Matching for network {net}"));
            if net == "local" {
                if remote.is_none() {
                    found = true;
                    break;
                }
            } else {
                match parse_net(net) {
                    None => {
                        self.db_log_at(Level::Info, &format!("{name}: Invalid network '{net}'"))
                    }
                    Some((ip, bits)) => {
                        if remote.is_some_and(|r| ip_in_net(r, ip, bits)) {
                            found = true;
                            break;
                        }
                    }
                }
            }
        }
        if found {
            return;
        }
        match remote {
            None => self.db_log_at(
                Level::Info,
                &format!("{name} check failed: Remote IP not known and 'local' missing"),
            ),
            Some(ip) => self.db_log_at(
                Level::Info,
                &format!("{name} check failed: IP {ip} not in allowed networks"),
            ),
        }
        self.failed = true;
    }

    // ---- logging ------------------------------------------------------------------------

    /// `name(user,rip[,master][,<session>]): `
    pub fn log_prefix(&self, name: &str) -> String {
        let mut s = format!("{name}(");
        match &self.user {
            Some(u) => s.push_str(&str_sanitize(u.as_bytes(), 64)),
            None => s.push('?'),
        }
        if let Some(ip) = self.remote_ip {
            s.push_str(&format!(",{ip}"));
        }
        if self.requested_login_user.is_some() {
            s.push_str(",master");
        }
        if let Some(session) = &self.session_id {
            s.push_str(&format!(",<{session}>"));
        }
        s.push_str("): ");
        s
    }

    /// The prefix of the db being looked up, empty outside a lookup.
    pub fn db_prefix(&self) -> String {
        match &self.db_log {
            Some(db) => self.log_prefix(&db.name),
            None => String::new(),
        }
    }

    /// The mechanism's prefix (`plain(?,1.2.3.4): `).
    pub fn mech_prefix(&self) -> String {
        self.log_prefix(&self.mech.unwrap_or("none").to_ascii_lowercase())
    }

    /// Marks the start of a passdb/userdb lookup: log lines get its prefix and verbosity.
    pub fn begin_db_log(&mut self, name: &str, verbose: Option<bool>) {
        self.db_log = Some(DbLogContext {
            name: name.to_string(),
            verbose,
        });
        self.debug_log(&format!(
            "{}Performing {} lookup",
            self.db_prefix(),
            if self.userdb_lookup {
                "userdb"
            } else {
                "passdb"
            }
        ));
    }

    pub fn end_db_log(&mut self, result: &str) {
        self.debug_log(&format!(
            "{}Finished {} lookup (result={result})",
            self.db_prefix(),
            if self.userdb_lookup {
                "userdb"
            } else {
                "passdb"
            }
        ));
        self.db_log = None;
    }

    fn verbose(&self) -> bool {
        self.db_log
            .as_ref()
            .and_then(|db| db.verbose)
            .unwrap_or(self.settings.verbose)
    }

    /// Writes a line at `level` with `prefix` (None = no prefix); Info only when verbose,
    /// Debug only when debugging.
    pub fn log(&self, level: Level, prefix: Option<&str>, message: &str) {
        let wanted = match level {
            Level::Debug => self.debug,
            Level::Info => self.verbose() || self.debug,
            _ => true,
        };
        if wanted {
            crate::log::emit(level, format_args!("{}{message}", prefix.unwrap_or("")));
        }
    }

    /// A line about the db being looked up.
    pub fn db_log_at(&self, level: Level, message: &str) {
        self.log(level, Some(&self.db_prefix()), message);
    }

    /// A line about the mechanism.
    pub fn mech_log_at(&self, level: Level, message: &str) {
        self.log(level, Some(&self.mech_prefix()), message);
    }

    fn debug_log(&self, message: &str) {
        self.log(Level::Debug, None, message);
    }

    /// `unknown user` / `Password mismatch` with the given password per
    /// auth_verbose_passwords, and `- trying the next passdb` where one follows.
    pub fn log_login_failure(&self, message: &str, more_dbs: bool) {
        let set = &self.settings.verbose_passwords;
        if set == "no" {
            self.db_log_at(Level::Info, message);
            return;
        }
        let (kind, max) = match set.split_once(':') {
            Some((k, m)) => (k, m.parse::<usize>().unwrap_or(1024)),
            None => (set.as_str(), 1024),
        };
        let mut line = format!("{message} ");
        if let Some(pw) = &self.mech_password {
            match kind {
                "plain" => line.push_str(&format!(
                    "(given password: {})",
                    pw.chars().take(max).collect::<String>()
                )),
                "sha1" => {
                    use sha1::Digest;
                    let digest = sha1::Sha1::digest(pw.as_bytes());
                    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                    line.push_str(&format!(
                        "(SHA1 of given password: {})",
                        hex.chars().take(max).collect::<String>()
                    ));
                }
                _ => {}
            }
        }
        if more_dbs {
            line.push_str(if self.userdb_lookup {
                " - trying the next userdb"
            } else {
                " - trying the next passdb"
            });
        }
        crate::log::emit(Level::Info, format_args!("{}{line}", self.db_prefix()));
    }

    // ---- workers ------------------------------------------------------------------------

    /// The request's state as TAB-separated `key=value` pairs, for an auth worker (Dovecot's
    /// auth_request_export plus the fields a worker may change).
    pub fn export(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut kv = |k: &str, v: &str| parts.push(format!("{k}={}", tab_escape(v)));
        kv("user", self.user());
        kv("service", &self.service);
        if let Some(m) = &self.master_user {
            kv("master-user", m);
        }
        if let Some(o) = &self.original_username {
            kv("original-username", o);
        }
        if let Some(l) = &self.requested_login_user {
            kv("requested-login-user", l);
        }
        for (k, ip) in [
            ("lip", self.local_ip),
            ("rip", self.remote_ip),
            ("real_lip", self.real_local_ip),
            ("real_rip", self.real_remote_ip),
        ] {
            if let Some(ip) = ip {
                kv(k, &ip.to_string());
            }
        }
        for (k, port) in [
            ("lport", self.local_port),
            ("rport", self.remote_port),
            ("real_lport", self.real_local_port),
            ("real_rport", self.real_remote_port),
        ] {
            if port != 0 {
                kv(k, &port.to_string());
            }
        }
        if let Some(n) = &self.local_name {
            kv("local_name", n);
        }
        if let Some(s) = &self.session_id {
            kv("session", s);
        }
        if let Some(m) = self.mech {
            kv("mech", m);
        }
        if let Some(c) = &self.client_id {
            kv("client_id", c);
        }
        if let Some(s) = &self.wanted_credentials_scheme {
            kv("wanted-scheme", s);
        }
        let mut flags = Vec::new();
        if self.debug {
            flags.push("debug".to_string());
        }
        match self.secured {
            Secured::No => {}
            Secured::Yes => flags.push("secured".to_string()),
            Secured::Tls => flags.push("secured=tls".to_string()),
        }
        if self.skip_password_check {
            flags.push("skip-password-check".to_string());
        }
        if self.delayed_credentials.is_some() {
            flags.push("delayed-credentials".to_string());
        }
        if self.valid_client_cert {
            flags.push("valid-client-cert".to_string());
        }
        if self.successful {
            flags.push("successful".to_string());
        }
        if self.userdb_lookup {
            flags.push("userdb-lookup".to_string());
        }
        parts.extend(flags);
        for (k, v, hidden) in self.extra_fields.iter() {
            let prefix = if hidden { "passdb-hidden_" } else { "passdb_" };
            parts.push(format!("{prefix}{k}={}", tab_escape(v)));
        }
        if let Some(reply) = &self.userdb_reply {
            for (k, v, _) in reply.iter() {
                parts.push(format!("userdb_{k}={}", tab_escape(v)));
            }
        }
        parts.join("\t")
    }

    /// Reads back what [`export`](Self::export) wrote (in an auth worker).
    pub fn import_exported(&mut self, line: &str) {
        for arg in line.split('\t').filter(|a| !a.is_empty()) {
            let (key, raw) = super::fields::split_key_value(arg);
            let value = super::fields::tab_unescape(raw);
            if self.import_auth(key, &value) {
                continue;
            }
            match key {
                "user" => self.user = Some(value),
                "master-user" => self.master_user = Some(value),
                "original-username" => self.original_username = Some(value),
                "requested-login-user" => self.requested_login_user = Some(value),
                "mech" => self.mech = super::mech::static_name(&value),
                "wanted-scheme" => self.wanted_credentials_scheme = Some(value),
                "skip-password-check" => self.skip_password_check = true,
                "delayed-credentials" => self.delayed_credentials = Some(vec![0]),
                "successful" => self.successful = true,
                "userdb-lookup" => self.userdb_lookup = true,
                _ => {
                    if let Some(k) = key.strip_prefix("passdb-hidden_") {
                        self.extra_fields.add(k, &value, true);
                    } else if let Some(k) = key.strip_prefix("passdb_") {
                        self.extra_fields.add(k, &value, false);
                    } else if let Some(k) = key.strip_prefix("userdb_") {
                        self.userdb_reply
                            .get_or_insert_with(Fields::new)
                            .add(k, &value, false);
                    }
                }
            }
        }
    }
}

/// A uid by number or user name (Dovecot's userdb_parse_uid).
pub fn parse_uid(value: &str) -> Result<u32, String> {
    if let Ok(uid) = value.parse::<u32>() {
        return Ok(uid);
    }
    match super::db::nss::getpwnam(value) {
        Ok(Some(pw)) => Ok(pw.uid),
        Ok(None) => Err(format!("Invalid UID value '{value}'")),
        Err(e) => Err(format!(
            "getpwnam() failed: {}",
            crate::errtext::os_error_text(&e)
        )),
    }
}

/// A gid by number or group name (Dovecot's userdb_parse_gid).
pub fn parse_gid(value: &str) -> Result<u32, String> {
    if let Ok(gid) = value.parse::<u32>() {
        return Ok(gid);
    }
    match super::db::nss::getgrnam(value) {
        Ok(Some(gid)) => Ok(gid),
        Ok(None) => Err(format!("Invalid GID value '{value}'")),
        Err(e) => Err(format!(
            "getgrnam() failed: {}",
            crate::errtext::os_error_text(&e)
        )),
    }
}

/// `ip[/bits]`.
pub fn parse_net(net: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = match net.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (net, None),
    };
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max)?,
        None => max,
    };
    Some((ip, bits))
}

/// Whether `ip` is inside `net/bits` (an IPv4-mapped IPv6 address matches IPv4 networks).
pub fn ip_in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthRequest {
        let mut set = AuthSettings::with_dbs(Vec::new(), Vec::new());
        set.master_user_separator = Some('*');
        AuthRequest::new(Arc::new(set))
    }

    #[test]
    fn username_settings() {
        let mut r = request();
        r.set_username("Alice", false).unwrap();
        assert_eq!(r.user(), "alice");
        assert_eq!(r.original_username.as_deref(), Some("Alice"));
        let mut r = request();
        let err = r.set_username("Al ice", false).unwrap_err();
        assert_eq!(
            err,
            "Username character disallowed by auth_username_chars: 0x20 (username: Al ice)"
        );
        assert!(r.user.is_none());
        let mut r = request();
        assert_eq!(
            r.set_username("bob*admin", false).unwrap_err(),
            "Master user login attempted without master passdbs"
        );
        let mut r = request();
        r.set_username("bob*admin", true).unwrap();
        assert_eq!(r.user(), "admin");
        assert_eq!(r.requested_login_user.as_deref(), Some("bob"));
        assert_eq!(r.log_prefix("passwd-file"), "passwd-file(admin,master): ");
    }

    #[test]
    fn realm_and_translation() {
        let mut set = AuthSettings::with_dbs(Vec::new(), Vec::new());
        set.default_realm = "example.com".into();
        set.username_translation = vec![('%', '@')];
        let mut r = AuthRequest::new(Arc::new(set));
        // The realm is added before the translation, as Dovecot does.
        r.set_username("bob%other.org", false).unwrap();
        assert_eq!(r.user(), "bob@other.org@example.com");
        let mut r = AuthRequest::new(r.settings.clone());
        r.set_username("bob@x.org", false).unwrap();
        assert_eq!(r.user(), "bob@x.org");
        let mut r2 = AuthRequest::new(r.settings.clone());
        r2.set_username("carol", false).unwrap();
        assert_eq!(r2.user(), "carol@example.com");
    }

    #[test]
    fn fields_as_dovecot_sets_them() {
        let mut r = request();
        r.set_username("alice@a.org", false).unwrap();
        r.set_field("password", "secret", Some("CRYPT"));
        assert_eq!(r.passdb_password.as_deref(), Some("{CRYPT}secret"));
        r.set_field("userdb_mail", "maildir:~/M", None);
        r.set_field("nologin", "", None);
        r.set_field("username", "bob", None);
        assert_eq!(r.user(), "bob@a.org");
        assert_eq!(r.extra_fields.visible_line(), "nologin");
        assert_eq!(
            r.userdb_reply.as_ref().unwrap().get("mail"),
            Some("maildir:~/M")
        );
        r.set_userdb_field("uid", "root");
        assert_eq!(r.userdb_reply.as_ref().unwrap().get("uid"), Some("0"));
        r.set_userdb_field("uid", "cote-no-such-user");
        assert!(r.userdb_lookup_tempfailed);
    }

    #[test]
    fn networks() {
        let (net, bits) = parse_net("10.0.0.0/8").unwrap();
        assert!(ip_in_net("10.1.2.3".parse().unwrap(), net, bits));
        assert!(!ip_in_net("11.1.2.3".parse().unwrap(), net, bits));
        assert!(ip_in_net("::ffff:10.0.0.1".parse().unwrap(), net, bits));
        assert!(parse_net("10.0.0.0/33").is_none());
        let mut r = request();
        r.remote_ip = Some("192.168.1.1".parse().unwrap());
        r.set_field("allow_nets", "10.0.0.0/8,192.168.0.0/16", None);
        assert!(!r.failed);
        r.set_field("allow_nets", "local", None);
        assert!(r.failed);
    }

    #[test]
    fn export_round_trip() {
        let mut r = request();
        r.set_username("alice", false).unwrap();
        r.service = "imap".into();
        r.remote_ip = Some("127.0.0.1".parse().unwrap());
        r.secured = Secured::Tls;
        r.set_field("userdb_home", "/h\tx", None);
        r.set_field("reason", "a b", None);
        let mut back = AuthRequest::new(r.settings.clone());
        back.import_exported(&r.export());
        assert_eq!(back.user(), "alice");
        assert_eq!(back.service, "imap");
        assert_eq!(back.secured, Secured::Tls);
        assert_eq!(back.extra_fields.visible_line(), "reason=a b");
        assert_eq!(
            back.userdb_reply.as_ref().unwrap().get("home"),
            Some("/h\tx")
        );
    }
}
