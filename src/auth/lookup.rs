//! The passdb and userdb chains (Dovecot's auth-request.c): passdbs tried in order with
//! `skip`, `deny`, `result_success`/`result_failure`/`result_internalfail`, master passdbs
//! for `user*master` logins, `default_fields`/`override_fields`, snapshot and rollback of the
//! fields each lookup set; credentials lookups for mechanisms that need the stored secret;
//! userdbs tried in order with their own rules.

use super::db::StoredPassword;
use super::engine::{Auth, Passdb, Userdb};
use super::fields::Fields;
use super::request::{AuthRequest, PassdbRef, PassdbResult, UserdbResult, PASSWORD_MISMATCH};
use super::scheme::{self, SchemeError};
use super::settings::{Rule, Skip};
use crate::log::Level;

/// The outcome of a credentials lookup: the result and the credentials (the wanted scheme's
/// raw form, e.g. 32 bytes of CRAM-MD5 context or `iter,salt,stored,server` for SCRAM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub result: PassdbResult,
    pub data: Vec<u8>,
}

/// The stored password can't be used (unknown scheme, bad data); already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnusablePassword;

/// Verifies a password against a stored one as a passdb does (Dovecot's
/// auth_request_password_verify): Ok(true) = matches, Ok(false) = mismatch.
pub fn password_verify(
    request: &AuthRequest,
    plain: &str,
    stored: &StoredPassword,
    log_mismatch: bool,
) -> Result<bool, UnusablePassword> {
    if request.skip_password_check {
        return Ok(true);
    }
    if request.in_deny_passdb {
        return Ok(false);
    }
    if request.extra_fields.contains("nopassword") {
        request.db_log_at(Level::Debug, "Allowing any password");
        return Ok(true);
    }
    let user = request.original_username.as_deref();
    match stored.as_scheme().verify(plain.as_bytes(), user) {
        Ok(true) => Ok(true),
        Ok(false) => {
            if log_mismatch {
                request.log_login_failure(PASSWORD_MISMATCH, request.more_dbs);
            }
            if request.settings.debug_passwords {
                request.db_log_at(
                    Level::Debug,
                    &format!("{}({plain}) != '{}'", stored.scheme, stored.data),
                );
            }
            Ok(false)
        }
        // The stored password can't be read: "Unknown scheme X", "Password data is not valid
        // for scheme X: why".
        Err(e @ (SchemeError::UnknownScheme(_) | SchemeError::InvalidEncoding { .. })) => {
            request.db_log_at(Level::Error, &e.to_string());
            Err(UnusablePassword)
        }
        Err(e) => {
            let shown = if request.settings.debug_passwords {
                format!(" '{}'", stored.data)
            } else {
                String::new()
            };
            request.db_log_at(
                Level::Error,
                &format!("Invalid password{shown} in passdb: {}", e.reason()),
            );
            Err(UnusablePassword)
        }
    }
}

/// A passdb found the user but no password (Dovecot's auth_request_password_missing).
pub fn password_missing(request: &AuthRequest) -> PassdbResult {
    if request.skip_password_check {
        return PassdbResult::Ok;
    }
    request.db_log_at(Level::Info, "No password returned (and no nopassword)");
    PassdbResult::PasswordMismatch
}

/// Dovecot's wildcard_match: `*` and `?`.
pub fn wildcard_match(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// username_filter: accepted unless excluded (`!pattern`); when include patterns exist, one
/// must match.
fn username_accepted(filter: &[String], username: &str) -> bool {
    let mut have_includes = false;
    let mut matched = false;
    for pattern in filter {
        let (exclude, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern.as_str()),
        };
        have_includes |= !exclude;
        if wildcard_match(username, pattern) {
            if exclude {
                return false;
            }
            matched = true;
        }
    }
    matched || !have_includes
}

/// What to do after one passdb lookup.
enum Next {
    /// Try this passdb next.
    Passdb(PassdbRef),
    /// The chain is done with this result.
    Done(PassdbResult),
}

impl Auth {
    fn passdb_list(&self, master: bool) -> &[Passdb] {
        if master {
            &self.masterdbs
        } else {
            &self.passdbs
        }
    }

    fn want_skip_passdb(&self, request: &AuthRequest, passdb: &Passdb) -> bool {
        if let Some(mechs) = &passdb.settings.mechanisms {
            let accepted = match request.mech {
                None => mechs.iter().any(|m| m.eq_ignore_ascii_case("none")),
                Some(name) => mechs.iter().any(|m| m.eq_ignore_ascii_case(name)),
            };
            if !accepted {
                request.mech_log_at(Level::Debug, "skipping passdb: mechanism filtered");
                return true;
            }
        }
        if let Some(filter) = &passdb.settings.username_filter {
            if !username_accepted(filter, request.user()) {
                request.mech_log_at(Level::Debug, "skipping passdb: username filtered");
                return true;
            }
        }
        match passdb.settings.skip {
            Skip::Authenticated => request.skip_password_check,
            Skip::Unauthenticated => !request.skip_password_check,
            _ => false,
        }
    }

    /// From `start` on, the first passdb not skipped.
    fn first_passdb(&self, request: &AuthRequest, start: PassdbRef) -> Option<PassdbRef> {
        let list = self.passdb_list(start.master);
        (start.index..list.len())
            .find(|&i| !self.want_skip_passdb(request, &list[i]))
            .map(|index| PassdbRef {
                master: start.master,
                index,
            })
    }

    fn begin_passdb(&self, request: &mut AuthRequest, at: PassdbRef) -> &Passdb {
        let list = self.passdb_list(at.master);
        let passdb = &list[at.index];
        request.passdb = Some(at);
        request.in_deny_passdb = passdb.settings.deny;
        request.more_dbs = at.index + 1 < list.len();
        request.begin_db_log(passdb.settings.log_name(), passdb.settings.auth_verbose);
        passdb
    }

    /// Dovecot's auth_request_handle_passdb_callback: applies deny and the result rules,
    /// snapshot or rollback of fields, master user switch; says what comes next.
    fn after_passdb(&self, request: &mut AuthRequest, mut result: PassdbResult) -> Next {
        request.passdb_password = None;
        let Some(at) = request.passdb else {
            return Next::Done(PassdbResult::InternalFailure);
        };
        let passdb = &self.passdb_list(at.master)[at.index];
        if passdb.settings.deny && result != PassdbResult::UserUnknown {
            if result != PassdbResult::InternalFailure {
                request.db_log_at(Level::Info, "User found from deny passdb");
                result = PassdbResult::UserDisabled;
            }
            request.end_db_log(result.name());
            return Next::Done(result);
        }
        if request.failed {
            if result == PassdbResult::Ok {
                result = PassdbResult::UserUnknown;
            }
            request.failed = false;
        }
        request.end_db_log(result.name());
        let rule = match result {
            PassdbResult::UserDisabled => return Next::Done(result),
            PassdbResult::PassExpired => {
                request.set_field("reason", "Password expired", None);
                return Next::Done(result);
            }
            PassdbResult::Ok => passdb.settings.result_success,
            PassdbResult::InternalFailure => passdb.settings.result_internalfail,
            PassdbResult::Next => {
                request.log(
                    Level::Debug,
                    None,
                    "Not performing authentication (noauthenticate set)",
                );
                Rule::Continue
            }
            _ => passdb.settings.result_failure,
        };
        match rule {
            Rule::Return => {}
            Rule::ReturnOk => request.passdb_success = true,
            Rule::ReturnFail => request.passdb_success = false,
            Rule::Continue => {
                if result == PassdbResult::Ok {
                    request.skip_password_check = true;
                }
            }
            Rule::ContinueOk => {
                request.passdb_success = true;
                request.skip_password_check = true;
            }
            Rule::ContinueFail => request.passdb_success = false,
        }
        request.extra_fields.remove("nopassword");
        request.extra_fields.remove("noauthenticate");
        let next_start = if request.requested_login_user.is_some() && result == PassdbResult::Ok {
            request.master_user_login_finish();
            // The chain continues with the normal passdbs for the login user.
            PassdbRef {
                master: false,
                index: 0,
            }
        } else {
            PassdbRef {
                master: at.master,
                index: at.index + 1,
            }
        };
        let next = self.first_passdb(request, next_start);
        if matches!(result, PassdbResult::Ok | PassdbResult::Next) {
            request.extra_fields.snapshot();
            if let Some(reply) = &mut request.userdb_reply {
                reply.snapshot();
            }
        } else {
            request.extra_fields.rollback();
            if let Some(reply) = &mut request.userdb_reply {
                reply.rollback();
            }
        }
        if let (true, Some(next)) = (rule.continues(), next) {
            match result {
                PassdbResult::UserUnknown => request.passdbs_seen_user_unknown = true,
                PassdbResult::InternalFailure => request.passdbs_seen_internal_failure = true,
                _ => {}
            }
            return Next::Passdb(next);
        }
        if result == PassdbResult::Next {
            request.log(
                Level::Error,
                None,
                &format!(
                    "{}Last passdb had noauthenticate field, cannot authenticate user",
                    request.log_prefix(passdb.settings.log_name())
                ),
            );
            return Next::Done(PassdbResult::InternalFailure);
        }
        if request.passdb_success {
            return Next::Done(PassdbResult::Ok);
        }
        if request.passdbs_seen_internal_failure {
            return Next::Done(PassdbResult::InternalFailure);
        }
        Next::Done(result)
    }

    /// Where a chain starts: the master passdbs for a master login, else the first passdb.
    fn chain_start(&self, request: &AuthRequest) -> PassdbRef {
        request.passdb.unwrap_or(PassdbRef {
            master: false,
            index: 0,
        })
    }

    /// A master user login (`user*master`) with no master passdbs to check it: logged, and
    /// then the user is unknown.
    fn master_login_without_masterdbs(&self, request: &AuthRequest) -> bool {
        let Some(login) = &request.requested_login_user else {
            return false;
        };
        if !self.masterdbs.is_empty() {
            return false;
        }
        request.mech_log_at(
            Level::Info,
            &format!(
                "Attempted master login with no master passdbs (trying to log in as user: {login})"
            ),
        );
        true
    }

    /// Verifies the password the client gave (PLAIN, LOGIN, ...) through the passdb chain.
    pub fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        if request.mech_password.is_none() {
            request.mech_password = Some(password.to_string());
        }
        if self.master_login_without_masterdbs(request) {
            return self.finish_passdb(request, PassdbResult::UserUnknown);
        }
        if password.contains(['\x01', '\t', '\r', '\n']) {
            request.log(
                Level::Info,
                None,
                "Attempted login with password having illegal chars",
            );
            return self.finish_passdb(request, PassdbResult::UserUnknown);
        }
        let mut at = match self.first_passdb(request, self.chain_start(request)) {
            Some(at) => at,
            None => {
                request.mech_log_at(Level::Error, "All password databases were skipped");
                return self.finish_passdb(request, PassdbResult::InternalFailure);
            }
        };
        request.wanted_credentials_scheme = None;
        loop {
            request.user_changed_by_lookup = false;
            let passdb = self.begin_passdb(request, at);
            let mut result = match self.cached_verify(request, passdb, password) {
                Some(result) => result,
                None => {
                    let result = match passdb.default_fields.export_passdb(request) {
                        Err(e) => {
                            request.db_log_at(
                                Level::Error,
                                &format!("Failed to expand default_fields: {e}"),
                            );
                            PassdbResult::InternalFailure
                        }
                        Ok(()) => self.run_verify_plain(request, at, passdb, password),
                    };
                    let result = if result == PassdbResult::Ok
                        && request.extra_fields.contains("noauthenticate")
                    {
                        PassdbResult::Next
                    } else {
                        result
                    };
                    self.cache_passdb_result(request, passdb, result);
                    result
                }
            };
            if let Err(e) = passdb.override_fields.export_passdb(request) {
                request.db_log_at(
                    Level::Error,
                    &format!("Failed to expand override_fields: {e}"),
                );
                result = PassdbResult::InternalFailure;
            }
            match self.after_passdb(request, result) {
                Next::Passdb(next) => at = next,
                Next::Done(result) => return self.finish_passdb(request, result),
            }
        }
    }

    fn finish_passdb(&self, request: &mut AuthRequest, result: PassdbResult) -> PassdbResult {
        request.passdb_result = result;
        result
    }

    fn run_verify_plain(
        &self,
        request: &mut AuthRequest,
        at: PassdbRef,
        passdb: &Passdb,
        password: &str,
    ) -> PassdbResult {
        match (&self.workers, passdb.driver.blocking()) {
            (Some(workers), true) => workers.verify_plain(request, at, password),
            _ => passdb.driver.verify_plain(request, password),
        }
    }

    fn run_lookup_credentials(
        &self,
        request: &mut AuthRequest,
        at: PassdbRef,
        passdb: &Passdb,
    ) -> (PassdbResult, Option<StoredPassword>) {
        match (&self.workers, passdb.driver.blocking()) {
            (Some(workers), true) => workers.lookup_credentials(request, at),
            _ => passdb.driver.lookup_credentials(request),
        }
    }

    /// Looks up the stored credentials in `scheme` ("" = whatever is stored) through the
    /// passdb chain.
    pub fn lookup_credentials(&self, request: &mut AuthRequest, scheme: &str) -> Credentials {
        if request.wanted_credentials_scheme.is_none() {
            request.wanted_credentials_scheme = Some(scheme.to_string());
        }
        if self.master_login_without_masterdbs(request) {
            return self.finish_credentials(request, PassdbResult::UserUnknown, Vec::new());
        }
        let mut at = match self.first_passdb(request, self.chain_start(request)) {
            Some(at) => at,
            None => {
                request.mech_log_at(Level::Error, "All password databases were skipped");
                return self.finish_credentials(request, PassdbResult::InternalFailure, Vec::new());
            }
        };
        loop {
            request.user_changed_by_lookup = false;
            let passdb = self.begin_passdb(request, at);
            let (mut result, data) = if !passdb.driver.supports_credentials() {
                request.db_log_at(Level::Debug, "passdb doesn't support credential lookups");
                (PassdbResult::SchemeNotAvailable, Vec::new())
            } else if let Err(e) = passdb.default_fields.export_passdb(request) {
                request.db_log_at(
                    Level::Error,
                    &format!("Failed to expand default_fields: {e}"),
                );
                (PassdbResult::InternalFailure, Vec::new())
            } else {
                let (result, stored) = self.run_lookup_credentials(request, at, passdb);
                self.cache_passdb_result(request, passdb, result);
                self.handle_credentials(request, result, stored)
            };
            if let Err(e) = passdb.override_fields.export_passdb(request) {
                request.db_log_at(
                    Level::Error,
                    &format!("Failed to expand override_fields: {e}"),
                );
                result = PassdbResult::InternalFailure;
            }
            match self.after_passdb(request, result) {
                Next::Passdb(next) => {
                    if request.skip_password_check
                        && request.delayed_credentials.is_none()
                        && !data.is_empty()
                    {
                        request.delayed_credentials = Some(data);
                    }
                    at = next;
                }
                Next::Done(mut result) => {
                    let data = match (&request.delayed_credentials, data.is_empty()) {
                        (Some(delayed), true) => delayed.clone(),
                        _ => data,
                    };
                    if result == PassdbResult::SchemeNotAvailable
                        && request.passdbs_seen_user_unknown
                    {
                        result = PassdbResult::UserUnknown;
                    }
                    return self.finish_credentials(request, result, data);
                }
            }
        }
    }

    fn finish_credentials(
        &self,
        request: &mut AuthRequest,
        result: PassdbResult,
        data: Vec<u8>,
    ) -> Credentials {
        request.passdb_result = result;
        Credentials { result, data }
    }

    /// Dovecot's passdb_handle_credentials + passdb_get_credentials.
    fn handle_credentials(
        &self,
        request: &mut AuthRequest,
        result: PassdbResult,
        stored: Option<StoredPassword>,
    ) -> (PassdbResult, Vec<u8>) {
        if result != PassdbResult::Ok {
            return (result, Vec::new());
        }
        if request.extra_fields.contains("noauthenticate") {
            return (PassdbResult::Next, Vec::new());
        }
        let wanted = request
            .wanted_credentials_scheme
            .clone()
            .unwrap_or_default();
        let Some(stored) = stored else {
            if wanted.is_empty() || request.delayed_credentials.is_some() {
                return (PassdbResult::Ok, Vec::new());
            }
            request.db_log_at(
                Level::Info,
                &format!("Requested {wanted} scheme, but we have a NULL password"),
            );
            return (PassdbResult::SchemeNotAvailable, Vec::new());
        };
        let parsed = stored.as_scheme();
        let have = match parsed.decode() {
            Ok((have, _)) => have,
            Err(e) => {
                request.db_log_at(Level::Error, &e.to_string());
                return (PassdbResult::SchemeNotAvailable, Vec::new());
            }
        };
        if wanted.is_empty() {
            // Anything goes: say what we got, so that a blocking passdb knows.
            request.wanted_credentials_scheme =
                Some(stored.scheme.split('.').next().unwrap_or("").to_string());
        }
        let user = request.original_username.clone();
        match scheme::credentials(&parsed, &wanted, user.as_deref()) {
            Ok(data) => (PassdbResult::Ok, data),
            Err(SchemeError::UnknownScheme(_)) if have.is_plaintext() => {
                request.db_log_at(Level::Error, &format!("Requested unknown scheme {wanted}"));
                (PassdbResult::SchemeNotAvailable, Vec::new())
            }
            Err(SchemeError::UnknownScheme(_) | SchemeError::CredentialsUnavailable { .. }) => {
                let mut text = format!(
                    "Requested {wanted} scheme, but we have only {}",
                    stored.scheme
                );
                if request.settings.debug_passwords {
                    text.push_str(&format!(" (input: {})", stored.data));
                }
                request.db_log_at(Level::Info, &text);
                (PassdbResult::SchemeNotAvailable, Vec::new())
            }
            Err(e) => {
                request.db_log_at(Level::Error, &e.to_string());
                (PassdbResult::SchemeNotAvailable, Vec::new())
            }
        }
    }

    // ---- cache ------------------------------------------------------------------------

    fn cached_verify(
        &self,
        request: &mut AuthRequest,
        passdb: &Passdb,
        password: &str,
    ) -> Option<PassdbResult> {
        let cache = self.cache.as_ref()?;
        let key = passdb.driver.cache_key()?;
        cache.verify_plain(request, passdb, key, password)
    }

    fn cache_passdb_result(
        &self,
        request: &mut AuthRequest,
        passdb: &Passdb,
        result: PassdbResult,
    ) {
        if let (Some(cache), Some(key)) = (&self.cache, passdb.driver.cache_key()) {
            cache.save_passdb(request, passdb, key, result);
        }
    }

    // ---- userdb -------------------------------------------------------------------------

    /// Looks the user up in the userdb chain; the reply is in `request.userdb_reply`.
    pub fn lookup_user(&self, request: &mut AuthRequest) -> UserdbResult {
        request.userdb_lookup = true;
        let mut index = 0;
        loop {
            let Some(userdb) = self.userdbs.get(index) else {
                return UserdbResult::InternalFailure;
            };
            request.userdb = Some(index);
            request.user_changed_by_lookup = false;
            request.more_dbs = index + 1 < self.userdbs.len();
            if request.userdb_reply.is_none() {
                request.userdb_reply = Some(Fields::new());
            }
            if let Err(e) = userdb.default_fields.export_userdb(request) {
                request.log(
                    Level::Error,
                    Some(&request.log_prefix(userdb.settings.log_name())),
                    &format!("Failed to expand default_fields: {e}"),
                );
                return UserdbResult::InternalFailure;
            }
            request.begin_db_log(userdb.settings.log_name(), userdb.settings.auth_verbose);
            let result = match self.cached_user(request, userdb) {
                Some(result) => result,
                None => {
                    let result = self.run_userdb(request, index, userdb);
                    if let (Some(cache), Some(key)) = (&self.cache, userdb.driver.cache_key()) {
                        if result != UserdbResult::InternalFailure
                            && !request.userdb_lookup_tempfailed
                        {
                            cache.save_userdb(request, userdb, key, result);
                        }
                    }
                    result
                }
            };
            let rule = match result {
                UserdbResult::Ok => userdb.settings.result_success,
                UserdbResult::InternalFailure => userdb.settings.result_internalfail,
                UserdbResult::UserUnknown => userdb.settings.result_failure,
            };
            match rule {
                Rule::Return | Rule::Continue => {}
                Rule::ReturnOk | Rule::ContinueOk => request.userdb_success = true,
                Rule::ReturnFail | Rule::ContinueFail => request.userdb_success = false,
            }
            request.end_db_log(result.name());
            let next =
                (index + 1..self.userdbs.len()).find(|&i| match self.userdbs[i].settings.skip {
                    Skip::Found => !request.userdb_success,
                    Skip::NotFound => request.userdb_success,
                    _ => true,
                });
            if let (true, Some(next)) = (rule.continues(), next) {
                if result == UserdbResult::InternalFailure {
                    request.userdbs_seen_internal_failure = true;
                }
                let reply = request.userdb_reply.get_or_insert_with(Fields::new);
                if result == UserdbResult::Ok {
                    if let Err(e) = userdb.override_fields.export_userdb(request) {
                        request.log(
                            Level::Error,
                            Some(&request.log_prefix(userdb.settings.log_name())),
                            &format!("Failed to expand override_fields: {e}"),
                        );
                        return UserdbResult::InternalFailure;
                    }
                    if let Some(reply) = &mut request.userdb_reply {
                        reply.snapshot();
                    }
                } else {
                    reply.rollback();
                }
                index = next;
                continue;
            }
            let mut final_result = if request.userdb_success {
                match userdb.override_fields.export_userdb(request) {
                    Ok(()) => UserdbResult::Ok,
                    Err(e) => {
                        request.log(
                            Level::Error,
                            Some(&request.log_prefix(userdb.settings.log_name())),
                            &format!("Failed to expand override_fields: {e}"),
                        );
                        UserdbResult::InternalFailure
                    }
                }
            } else if request.userdbs_seen_internal_failure
                || result == UserdbResult::InternalFailure
            {
                UserdbResult::InternalFailure
            } else {
                if request.client_pid != 0 {
                    if self.userdbs.len() == 1 {
                        request.log(
                            Level::Error,
                            None,
                            &format!(
                                "{}user not found from userdb",
                                request.log_prefix(userdb.settings.log_name())
                            ),
                        );
                    } else {
                        request.mech_log_at(Level::Error, "user not found from any userdbs");
                    }
                }
                UserdbResult::UserUnknown
            };
            if request.userdb_lookup_tempfailed {
                final_result = UserdbResult::InternalFailure;
            }
            return final_result;
        }
    }

    fn run_userdb(&self, request: &mut AuthRequest, index: usize, userdb: &Userdb) -> UserdbResult {
        if userdb.driver.needs_passdb_lookup(request) {
            // A userdb-only lookup (static): ask the passdbs whether the user exists.
            request.userdb_lookup = false;
            let saved_passdb = request.passdb;
            let credentials = self.lookup_credentials(request, "");
            request.userdb_lookup = true;
            request.passdb = saved_passdb;
            request.begin_db_log(userdb.settings.log_name(), userdb.settings.auth_verbose);
            return match credentials.result {
                PassdbResult::Ok => userdb.driver.lookup(request),
                PassdbResult::UserUnknown
                | PassdbResult::UserDisabled
                | PassdbResult::PassExpired => UserdbResult::UserUnknown,
                PassdbResult::SchemeNotAvailable => {
                    request.db_log_at(
                        Level::Error,
                        "passdb doesn't support lookups, can't verify user's existence",
                    );
                    UserdbResult::InternalFailure
                }
                _ => UserdbResult::InternalFailure,
            };
        }
        match (&self.workers, userdb.driver.blocking()) {
            (Some(workers), true) => workers.lookup_user(request, index),
            _ => userdb.driver.lookup(request),
        }
    }

    fn cached_user(&self, request: &mut AuthRequest, userdb: &Userdb) -> Option<UserdbResult> {
        let cache = self.cache.as_ref()?;
        let key = userdb.driver.cache_key()?;
        cache.lookup_user(request, userdb, key)
    }

    /// Every user the userdbs can list (LIST), filtered by `mask` (wildcards).
    pub fn list_users(&self, request: &AuthRequest, mask: &str) -> (Vec<String>, bool) {
        let mut users = Vec::new();
        let mut failed = false;
        for (index, userdb) in self.userdbs.iter().enumerate() {
            let listed = match (&self.workers, userdb.driver.blocking()) {
                (Some(workers), true) => workers.list_users(request, index),
                _ => userdb.driver.iterate(request),
            };
            match listed {
                None => {}
                Some(Ok(list)) => users.extend(
                    list.into_iter()
                        .filter(|u| mask.is_empty() || wildcard_match(u, mask)),
                ),
                Some(Err(e)) => {
                    request.log(
                        Level::Error,
                        Some(&request.log_prefix(userdb.settings.log_name())),
                        &e,
                    );
                    failed = true;
                }
            }
        }
        (users, failed)
    }

    /// Whether any userdb can list users.
    pub fn can_list_users(&self) -> bool {
        self.userdbs.iter().any(|u| u.driver.can_iterate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("alice@example.com", "*@example.com"));
        assert!(wildcard_match("bob", "b?b"));
        assert!(!wildcard_match("bob", "a*"));
        assert!(wildcard_match("", "*"));
        assert!(username_accepted(
            &["*@a.org".into(), "!bad@a.org".into()],
            "x@a.org"
        ));
        assert!(!username_accepted(
            &["*@a.org".into(), "!bad@a.org".into()],
            "bad@a.org"
        ));
        assert!(!username_accepted(&["*@a.org".into()], "x@b.org"));
        assert!(username_accepted(&["!bad".into()], "x"));
    }
}
