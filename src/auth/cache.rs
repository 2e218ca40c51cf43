//! The auth cache (`auth_cache_size`, `auth_cache_ttl`, `auth_cache_negative_ttl`): passdb
//! and userdb results per cache key (`%u` for most drivers), so repeated logins don't hit
//! the database. A cached password is verified like a fresh one; a mismatch against an entry
//! that last succeeded goes to the database (the password may have changed). Entries live
//! until their ttl; the cache holds at most `auth_cache_size` bytes, dropping the oldest.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::db::StoredPassword;
use super::engine::{Passdb, Userdb};
use super::request::{AuthRequest, PassdbResult, UserdbResult};
use super::settings::AuthSettings;
use crate::log::Level;

struct Entry {
    /// "" = user unknown; else the TAB-separated fields (a passdb entry starts with the
    /// `{SCHEME}password`, possibly empty).
    value: String,
    created: Instant,
    last_success: bool,
}

struct Inner {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
    bytes: u64,
}

pub struct AuthCache {
    max_bytes: u64,
    ttl: Duration,
    negative_ttl: Duration,
    inner: Mutex<Inner>,
}

impl AuthCache {
    /// None when the cache is off (`auth_cache_size = 0`).
    pub fn new(settings: &AuthSettings) -> Option<AuthCache> {
        (settings.cache_size > 0).then(|| AuthCache {
            max_bytes: settings.cache_size,
            ttl: settings.cache_ttl,
            negative_ttl: settings.cache_negative_ttl,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        })
    }

    /// Values are tab-escaped (the key's parts are tab-separated); unknown variables are
    /// fine, they only make the key more specific (as in Dovecot).
    fn key(request: &AuthRequest, kind: &str, name: &str, template: &str) -> String {
        let expanded = match request.expand_escaped(template, super::fields::tab_escape) {
            Ok(expanded) => expanded,
            Err(e) => e.expanded,
        };
        format!("{kind}:{name}\t{expanded}")
    }

    /// The entry's value when fresh enough.
    fn get(&self, key: &str) -> Option<(String, bool)> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = inner.entries.get(key)?;
        let ttl = if entry.value.is_empty() {
            self.negative_ttl
        } else {
            self.ttl
        };
        (entry.created.elapsed() < ttl).then(|| (entry.value.clone(), entry.last_success))
    }

    fn insert(&self, key: String, value: String, last_success: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let size = (key.len() + value.len() + 64) as u64;
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= (key.len() + old.value.len() + 64) as u64;
            inner.order.retain(|k| k != &key);
        }
        while inner.bytes + size > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= (oldest.len() + e.value.len() + 64) as u64;
            }
        }
        if size > self.max_bytes {
            return;
        }
        inner.bytes += size;
        inner.order.push_back(key.clone());
        inner.entries.insert(
            key,
            Entry {
                value,
                created: Instant::now(),
                last_success,
            },
        );
    }

    /// Removes every entry (or those of the given users); returns how many.
    pub fn clear(&self, users: &[String]) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let before = inner.entries.len();
        if users.is_empty() {
            inner.entries.clear();
            inner.order.clear();
            inner.bytes = 0;
        } else {
            let doomed: Vec<String> = inner
                .entries
                .keys()
                .filter(|k| {
                    let user = k.split_once('\t').map_or("", |(_, u)| u);
                    users.iter().any(|u| u == user)
                })
                .cloned()
                .collect();
            for k in doomed {
                if let Some(e) = inner.entries.remove(&k) {
                    inner.bytes -= (k.len() + e.value.len() + 64) as u64;
                }
                inner.order.retain(|o| o != &k);
            }
        }
        before - inner.entries.len()
    }

    /// Verifies `password` from the cache: None = not cached (or must be looked up again).
    pub fn verify_plain(
        &self,
        request: &mut AuthRequest,
        passdb: &Passdb,
        template: &str,
        password: &str,
    ) -> Option<PassdbResult> {
        let key = Self::key(request, "passdb", passdb.settings.log_name(), template);
        let Some((value, last_success)) = self.get(&key) else {
            request.db_log_at(Level::Debug, "cache miss");
            return None;
        };
        request.db_log_at(
            Level::Debug,
            &format!("cache hit: {}", hide_password(&value)),
        );
        if value.is_empty() {
            request.log_login_failure("unknown user", false);
            return Some(PassdbResult::UserUnknown);
        }
        let (stored, fields) = value.split_once('\t').unwrap_or((value.as_str(), ""));
        let stored = stored.to_string();
        let fields = fields.to_string();
        import_passdb_fields(request, &fields);
        if stored.is_empty() {
            // nopassword (or a passdb that verified without returning a password)
            return Some(if request.extra_fields.contains("nopassword") {
                PassdbResult::Ok
            } else {
                PassdbResult::PasswordMismatch
            });
        }
        let stored = StoredPassword::parse(
            &super::fields::tab_unescape(&stored),
            passdb.driver.default_scheme(),
        );
        match super::lookup::password_verify(request, password, &stored, !last_success) {
            Ok(true) => Some(PassdbResult::Ok),
            // Maybe the password changed since it last worked: ask the passdb.
            Ok(false) if last_success => {
                request.extra_fields.rollback();
                None
            }
            Ok(false) => Some(PassdbResult::PasswordMismatch),
            Err(_) => Some(PassdbResult::InternalFailure),
        }
    }

    /// Remembers a passdb result (Dovecot's auth_request_save_cache).
    pub fn save_passdb(
        &self,
        request: &mut AuthRequest,
        passdb: &Passdb,
        template: &str,
        result: PassdbResult,
    ) {
        let key = Self::key(request, "passdb", passdb.settings.log_name(), template);
        match result {
            PassdbResult::UserUnknown => self.insert(key, String::new(), false),
            PassdbResult::PasswordMismatch | PassdbResult::Ok => {
                let password = match &request.passdb_password {
                    Some(p) => super::fields::tab_escape(p),
                    None if request.extra_fields.contains("nopassword") => String::new(),
                    // No password from the passdb (PAM, checkpassword): keep a SHA1 of the
                    // verified one, as Dovecot does.
                    None => match (&request.mech_password, result) {
                        (Some(pw), PassdbResult::Ok) => {
                            match crate::auth::scheme::generate("SHA1.HEX", pw.as_bytes(), None, 0)
                            {
                                Ok(stored) => stored,
                                Err(_) => return,
                            }
                        }
                        _ => return,
                    },
                };
                let changed = request.extra_fields.changed_line();
                let value = if changed.is_empty() {
                    password
                } else {
                    format!("{password}\t{changed}")
                };
                self.insert(key, value, result == PassdbResult::Ok);
            }
            _ => {}
        }
    }

    /// A userdb result from the cache: None = not cached.
    pub fn lookup_user(
        &self,
        request: &mut AuthRequest,
        userdb: &Userdb,
        template: &str,
    ) -> Option<UserdbResult> {
        let key = Self::key(request, "userdb", userdb.settings.log_name(), template);
        let Some((value, _)) = self.get(&key) else {
            request.db_log_at(Level::Debug, "userdb cache miss");
            return None;
        };
        request.db_log_at(Level::Debug, &format!("userdb cache hit: {value}"));
        if value.is_empty() {
            return Some(UserdbResult::UserUnknown);
        }
        for arg in value
            .split('\t')
            .filter(|a| !a.is_empty() && *a != "\x01ignore")
        {
            let (k, v) = super::fields::split_key_value(arg);
            let v = super::fields::tab_unescape(v);
            if k == "user" {
                request.set_field("user", &v, None);
            } else {
                request.set_userdb_field(k, &v);
            }
        }
        Some(UserdbResult::Ok)
    }

    pub fn save_userdb(
        &self,
        request: &AuthRequest,
        userdb: &Userdb,
        template: &str,
        result: UserdbResult,
    ) {
        let key = Self::key(request, "userdb", userdb.settings.log_name(), template);
        let value = match result {
            UserdbResult::UserUnknown => String::new(),
            UserdbResult::Ok => {
                let mut value = request
                    .userdb_reply
                    .as_ref()
                    .map(|r| r.changed_line())
                    .unwrap_or_default();
                if request.user_changed_by_lookup {
                    if !value.is_empty() {
                        value.push('\t');
                    }
                    value.push_str(&format!(
                        "user={}",
                        super::fields::tab_escape(request.user())
                    ));
                }
                if value.is_empty() {
                    value.push_str("\x01ignore");
                }
                value
            }
            UserdbResult::InternalFailure => return,
        };
        self.insert(key, value, false);
    }
}

fn import_passdb_fields(request: &mut AuthRequest, fields: &str) {
    for arg in fields.split('\t').filter(|a| !a.is_empty()) {
        let (k, v) = super::fields::split_key_value(arg);
        let v = super::fields::tab_unescape(v);
        request.set_field(k, &v, None);
    }
}

fn hide_password(value: &str) -> String {
    match value.split_once('\t') {
        Some((_, rest)) => format!("<hidden>\t{rest}"),
        None if value.is_empty() => String::new(),
        None => "<hidden>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_bytes: u64, ttl: Duration) -> AuthCache {
        AuthCache {
            max_bytes,
            ttl,
            negative_ttl: Duration::ZERO,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    #[test]
    fn size_limit_drops_the_oldest() {
        // Each entry: key 1 + value 1 + 64 bytes of overhead.
        let c = cache(3 * 66, Duration::from_secs(3600));
        for key in ["a", "b", "c", "d"] {
            c.insert(key.into(), "v".into(), true);
        }
        assert_eq!(c.get("a"), None);
        assert_eq!(c.get("d"), Some(("v".into(), true)));
        assert_eq!(c.inner.lock().unwrap().bytes, 3 * 66);
        // Replacing an entry accounts for its old size.
        c.insert("d".into(), "w".into(), false);
        assert_eq!(c.get("d"), Some(("w".into(), false)));
        assert_eq!(c.inner.lock().unwrap().bytes, 3 * 66);
        assert_eq!(c.clear(&[]), 3);
        // An entry larger than the whole cache is not kept.
        c.insert("big".into(), "x".repeat(300), true);
        assert_eq!(c.get("big"), None);
    }

    #[test]
    fn entries_expire_with_their_ttl() {
        let c = cache(1 << 20, Duration::ZERO);
        c.insert("a".into(), "v".into(), true);
        assert_eq!(c.get("a"), None);
        // Negative entries ("" = unknown user) use the negative ttl.
        let c = AuthCache {
            negative_ttl: Duration::from_secs(3600),
            ..cache(1 << 20, Duration::ZERO)
        };
        c.insert("u".into(), String::new(), false);
        assert_eq!(c.get("u"), Some((String::new(), false)));
    }
}
