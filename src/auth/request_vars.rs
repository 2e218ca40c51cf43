//! A request's `%` variables (Dovecot's auth-request-var-expand.c): the table of Dovecot's
//! auth process (`%u %n %d %s %l %r %p %w %! %m %c %a %b %k`, `%{login_user}`,
//! `%{real_rip}`, `%{orig_user}`, ...) and the `%{passdb:..}`/`%{userdb:..}` functions, for
//! `config::var_expand`. Values from the client or a database go through an escape function
//! chosen by where the expansion goes (a file name, a lookup key, a cache key).

use std::net::IpAddr;

use super::request::{AuthRequest, Secured};
use crate::config::var_expand::{self, VarError, VarTable, Vars};

impl AuthRequest {
    /// The `%` variables of this request (Dovecot's auth_request_get_var_expand_table), in
    /// Dovecot's order, with `%u` being `username` and every value that comes from the
    /// client or a database passed through `escape`.
    pub fn var_list(&self, username: &str, escape: Escape) -> Vec<RequestVar> {
        let esc = |v: &str| escape(v);
        let ip = |a: Option<IpAddr>| a.map(|a| a.to_string());
        let orig = self.original_username.as_deref().unwrap_or(username);
        let auth_user = self.master_user.as_deref().unwrap_or(orig);
        let login = self.requested_login_user.as_deref();
        let secured = match self.secured {
            Secured::No => "",
            Secured::Yes => "secured",
            Secured::Tls => "TLS",
        };
        // `%!`: the number of the passdb (userdb) being looked up.
        let db_id = if self.userdb_lookup {
            self.userdb.map(|i| i + 1)
        } else {
            self.passdb.map(|p| p.index + 1)
        };
        let var = |short: Option<u8>, long: Option<&'static str>, value: Option<String>| {
            RequestVar { short, long, value }
        };
        let v = |short: u8, long: &'static str, value: Option<String>| {
            var(Some(short), Some(long), value)
        };
        let l = |long: &'static str, value: Option<String>| var(None, Some(long), value);
        vec![
            v(b'u', "user", Some(esc(username))),
            v(b'n', "username", Some(esc(cut_at(username)))),
            v(b'd', "domain", after_at(username).map(esc)),
            v(b's', "service", Some(esc(&self.service))),
            // No home directory in the auth process.
            v(b'h', "home", None),
            v(b'l', "lip", ip(self.local_ip)),
            v(b'r', "rip", ip(self.remote_ip)),
            v(b'p', "pid", Some(self.client_pid.to_string())),
            v(b'w', "password", self.mech_password.as_deref().map(esc)),
            var(
                Some(b'!'),
                None,
                Some(db_id.map_or(String::new(), |i| i.to_string())),
            ),
            v(b'm', "mech", Some(esc(self.mech.unwrap_or("")))),
            v(b'c', "secured", Some(secured.to_string())),
            v(b'a', "lport", Some(self.local_port.to_string())),
            v(b'b', "rport", Some(self.remote_port.to_string())),
            v(
                b'k',
                "cert",
                Some(if self.valid_client_cert { "valid" } else { "" }.to_string()),
            ),
            l("login_user", login.map(esc)),
            l("login_username", login.map(|u| esc(cut_at(u)))),
            l("login_domain", login.and_then(after_at).map(esc)),
            l("session", self.session_id.as_deref().map(esc)),
            l("real_lip", ip(self.real_local_ip)),
            l("real_rip", ip(self.real_remote_ip)),
            l("real_lport", Some(self.real_local_port.to_string())),
            l("real_rport", Some(self.real_remote_port.to_string())),
            l("domain_first", after_at(username).map(|d| esc(cut_at(d)))),
            l(
                "domain_last",
                username.rfind('@').map(|i| esc(&username[i + 1..])),
            ),
            l("master_user", self.master_user.as_deref().map(esc)),
            l("session_pid", self.session_pid.map(|p| p.to_string())),
            l("orig_user", Some(esc(orig))),
            l("orig_username", Some(esc(cut_at(orig)))),
            l("orig_domain", after_at(orig).map(esc)),
            l("auth_user", Some(esc(auth_user))),
            l("auth_username", Some(esc(cut_at(auth_user)))),
            l("auth_domain", after_at(auth_user).map(esc)),
            l("local_name", self.local_name.as_deref().map(esc)),
            l("client_id", self.client_id.as_deref().map(esc)),
            // Aliases.
            l("local_ip", ip(self.local_ip)),
            l("remote_ip", ip(self.remote_ip)),
            l("local_port", Some(self.local_port.to_string())),
            l("remote_port", Some(self.remote_port.to_string())),
            l("real_local_ip", ip(self.real_local_ip)),
            l("real_remote_ip", ip(self.real_remote_ip)),
            l("real_local_port", Some(self.real_local_port.to_string())),
            l("real_remote_port", Some(self.real_remote_port.to_string())),
            l("mechanism", Some(esc(self.mech.unwrap_or("")))),
            l("original_user", Some(esc(orig))),
            l("original_username", Some(esc(cut_at(orig)))),
            l("original_domain", after_at(orig).map(esc)),
        ]
    }

    /// Expands `template` with this request's variables and `%{passdb:..}`/`%{userdb:..}`,
    /// every value from the client or a database passed through `escape`.
    pub fn expand_escaped(&self, template: &str, escape: Escape) -> Result<String, VarError> {
        self.expand_for(template, self.user(), escape)
    }

    /// Expands `template` with `%u` being `username` (auth_username_format runs before the
    /// request has its user name).
    pub(super) fn expand_for(
        &self,
        template: &str,
        username: &str,
        escape: Escape,
    ) -> Result<String, VarError> {
        let table = RequestVars::new(self, username, escape);
        var_expand::expand(template, &table)
    }

    /// Expands `template` with this request's variables.
    pub fn expand(&self, template: &str) -> Result<String, String> {
        self.expand_escaped(template, no_escape)
            .map_err(|e| e.message)
    }
}

/// How variable values are escaped for where the expansion goes (a file name, a lookup key).
pub type Escape = fn(&str) -> String;

/// Values as they are.
pub fn no_escape(value: &str) -> String {
    value.to_string()
}

/// Dovecot's auth_request_str_escape, for lookup keys: a backslash before `"`, `'`, `\`.
pub fn str_escape(value: &str) -> String {
    String::from_utf8_lossy(&var_expand::str_escape(value.as_bytes())).into_owned()
}

/// One variable of a request: its letter and long name (either may be missing) and its
/// value (None: not known for this request, expanded as empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestVar {
    pub short: Option<u8>,
    pub long: Option<&'static str>,
    pub value: Option<String>,
}

/// A request's variables as a [`VarTable`], with the `passdb` and `userdb` functions
/// (`%{passdb:field[:default]}`: the passdb's extra fields, the userdb reply).
struct RequestVars<'a> {
    request: &'a AuthRequest,
    vars: Vars,
    escape: Escape,
}

impl<'a> RequestVars<'a> {
    fn new(request: &'a AuthRequest, username: &str, escape: Escape) -> RequestVars<'a> {
        let mut vars = Vars::new();
        for var in request.var_list(username, escape) {
            vars.set(var.short, var.long, var.value.as_deref());
        }
        RequestVars {
            request,
            vars,
            escape,
        }
    }
}

fn cut_at(s: &str) -> &str {
    s.split('@').next().unwrap_or("")
}

fn after_at(s: &str) -> Option<&str> {
    s.split_once('@').map(|(_, domain)| domain)
}

impl VarTable for RequestVars<'_> {
    fn short(&self, key: u8) -> Option<&str> {
        self.vars.short(key)
    }

    fn long(&self, name: &str) -> Option<&str> {
        self.vars.long(name)
    }

    fn func(&self, name: &str, data: &str) -> Option<String> {
        let fields = match name {
            "passdb" => Some(&self.request.extra_fields),
            "userdb" => self.request.userdb_reply.as_ref(),
            _ => return None,
        };
        let (key, default) = data.split_once(':').unwrap_or((data, ""));
        let value = fields.and_then(|f| f.get(key)).unwrap_or(default);
        Some((self.escape)(value))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::request::PassdbRef;
    use crate::auth::settings::AuthSettings;

    fn request() -> AuthRequest {
        AuthRequest::new(Arc::new(AuthSettings::with_dbs(Vec::new(), Vec::new())))
    }

    #[test]
    fn variables_as_dovecot_expands_them() {
        let mut r = request();
        r.set_username("Alice@Example.COM", false).unwrap();
        r.service = "imap".into();
        r.remote_ip = Some("192.0.2.7".parse().unwrap());
        r.mech = Some("PLAIN");
        r.secured = Secured::Tls;
        r.session_id = Some("sess".into());
        r.passdb = Some(PassdbRef {
            master: false,
            index: 1,
        });
        r.set_field("quota", "1G", None);
        r.set_userdb_field("home", "/home/a");
        let x = |t: &str| r.expand(t).unwrap();
        assert_eq!(
            x("%u|%n|%d|%s|%r"),
            "alice@example.com|alice|example.com|imap|192.0.2.7"
        );
        assert_eq!(
            x("%{rip}|%{mech}|%{secured}|%{session}|%!"),
            "192.0.2.7|PLAIN|TLS|sess|2"
        );
        assert_eq!(
            x("%{orig_user}|%{original_username}"),
            "Alice@Example.COM|Alice"
        );
        assert_eq!(
            x("%Ln|%Un|%1.3n|%{domain_first}"),
            "alice|ALICE|lic|example.com"
        );
        assert_eq!(
            x("%{passdb:quota}|%{passdb:none:dflt}|%{userdb:home}"),
            "1G|dflt|/home/a"
        );
        // No home directory in the auth process, and %{real_rip} is unknown here.
        assert_eq!(x("[%h][%{real_rip}][%l]"), "[][][]");
        assert_eq!(r.expand("%q").unwrap_err(), "Unknown variable '%q'");
        // Escaping applies to values from the client, not to the template.
        let slash: Escape = |v| v.replace('/', "_");
        r.user = Some("a/b".into());
        assert_eq!(
            r.expand_escaped("/x/%u/%r", slash).unwrap(),
            "/x/a_b/192.0.2.7"
        );
        assert_eq!(
            r.expand_escaped("%u %q", slash).unwrap_err().expanded,
            "a_b UNSUPPORTED_VARIABLE_q"
        );
        assert_eq!(str_escape("it's \\ \"q\""), "it\\'s \\\\ \\\"q\\\"");
        let env: Vec<_> = r
            .var_list("a/b", no_escape)
            .into_iter()
            .filter(|v| v.value.is_some())
            .filter_map(|v| v.long)
            .collect();
        assert!(env.contains(&"rip") && !env.contains(&"home") && !env.contains(&"lip"));
    }
}
