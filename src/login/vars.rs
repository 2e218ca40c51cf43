//! The `%` variables of login settings (Dovecot's `login_set_var_expand_table`):
//! `login_greeting` and friends may use `%l %r %p %s` and `%{local_name}`.

use crate::config::var_expand::{self, Vars};
use crate::net::ConnInfo;

/// The variables for connection `conn` of `service` (`imap`, `pop3`).
pub fn login_vars(conn: &ConnInfo, service: &str) -> Vars {
    let local = conn.local.ip().to_string();
    let remote = conn.remote.ip().to_string();
    let pid = std::process::id().to_string();
    let mut vars = Vars::new();
    vars.set(Some(b'l'), Some("lip"), Some(&local));
    vars.set(Some(b'r'), Some("rip"), Some(&remote));
    vars.set(Some(b'p'), Some("pid"), Some(&pid));
    vars.set(Some(b's'), Some("service"), Some(service));
    vars.set(None, Some("local_name"), None);
    vars.set(None, Some("local_ip"), Some(&local));
    vars.set(None, Some("remote_ip"), Some(&remote));
    vars
}

/// `login_log_format` and `login_log_format_elements`: how a login process words the lines
/// it logs about a client (`Login: user=<alice>, method=PLAIN, rip=..., session=<...>`).
#[derive(Debug, Clone)]
pub struct LoginLogFormat {
    /// `login_log_format`: `%$` is the message, `%s` the elements.
    format: String,
    /// `login_log_format_elements`, split on spaces.
    elements: Vec<String>,
}

/// What a login log line can say about its client beyond the connection itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginLogFacts<'a> {
    /// The user name the client gave (or the auth service returned); may be empty.
    pub user: &'a str,
    /// The SASL mechanism, once the client tried one.
    pub mechanism: Option<&'a str>,
    /// The mail process that took the client over.
    pub mail_pid: Option<u32>,
    /// Dovecot's "secured" (TLS, loopback or a trusted network).
    pub secured: bool,
    /// `TLSv1.3 with cipher ...` once TLS is up.
    pub tls_security: Option<&'a str>,
}

impl Default for LoginLogFormat {
    /// Dovecot 2.3's defaults.
    fn default() -> Self {
        LoginLogFormat::new(
            "%$: %s",
            "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>",
        )
    }
}

impl LoginLogFormat {
    pub fn new(format: &str, elements: &str) -> LoginLogFormat {
        LoginLogFormat {
            format: format.to_string(),
            elements: elements
                .split(' ')
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// The format the connection's (filtered) settings give.
    pub fn from_settings(settings: &crate::config::Settings) -> LoginLogFormat {
        LoginLogFormat::new(
            settings.str("login_log_format"),
            settings.str("login_log_format_elements"),
        )
    }

    /// The line for `message` about connection `conn` of `service`, as Dovecot's
    /// `client_get_log_str` builds it.
    pub fn line(
        &self,
        message: &str,
        conn: &ConnInfo,
        service: &str,
        facts: &LoginLogFacts<'_>,
    ) -> String {
        self.client(conn, service, facts).line(message)
    }

    /// The wording of lines about the client as it is now: each element expanded and
    /// joined with `, `; an element whose variables are all empty is left out, unless it
    /// names the user.
    pub fn client(
        &self,
        conn: &ConnInfo,
        service: &str,
        facts: &LoginLogFacts<'_>,
    ) -> ClientLogLine {
        let vars = log_vars(conn, service, facts);
        let empty = empty_log_vars();
        let mut parts: Vec<String> = Vec::new();
        for element in &self.elements {
            let expanded = expand_logged(element, &vars, "login_log_format_elements");
            let names_user = var_expand::uses_var(element, b'u', "user")
                || var_expand::uses_var(element, b'n', "username");
            if !names_user {
                let bare = var_expand::expand(element, &empty).unwrap_or_else(|e| e.expanded);
                if expanded == bare {
                    continue;
                }
            }
            parts.push(expanded);
        }
        ClientLogLine {
            format: self.format.clone(),
            elements: parts.join(", "),
        }
    }
}

/// Lines about one client, its elements fixed (for a proxied session, whose lines come after
/// the login connection is gone).
#[derive(Debug, Clone)]
pub struct ClientLogLine {
    /// `login_log_format`.
    format: String,
    /// `login_log_format_elements`, expanded.
    elements: String,
}

impl ClientLogLine {
    /// `message` with the client's elements, as `login_log_format` puts them.
    pub fn line(&self, message: &str) -> String {
        let mut outer = Vars::new();
        outer.set(Some(b's'), None, Some(&self.elements));
        outer.set(Some(b'$'), None, Some(message));
        expand_logged(&self.format, &outer, "login_log_format")
    }
}

/// `template` expanded; an error is logged (once per process, as Dovecot) and the text
/// Dovecot produces anyway is used.
fn expand_logged(template: &str, vars: &Vars, setting: &str) -> String {
    static LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    var_expand::expand(template, vars).unwrap_or_else(|e| {
        if !LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            log::error!("Failed to expand {setting}={template}: {e}");
        }
        e.expanded
    })
}

/// Every variable of a login log line (Dovecot's `login_var_expand_empty_tab`), unset.
fn empty_log_vars() -> Vars {
    let mut vars = Vars::new();
    for (short, long) in LOG_VARS {
        vars.set(short, Some(long), None);
    }
    vars
}

/// The login log variables: letter and name, in Dovecot's order, then the long aliases.
const LOG_VARS: [(Option<u8>, &str); 37] = [
    (Some(b'u'), "user"),
    (Some(b'n'), "username"),
    (Some(b'd'), "domain"),
    (Some(b's'), "service"),
    (Some(b'h'), "home"),
    (Some(b'l'), "lip"),
    (Some(b'r'), "rip"),
    (Some(b'p'), "pid"),
    (Some(b'm'), "mech"),
    (Some(b'a'), "lport"),
    (Some(b'b'), "rport"),
    (Some(b'c'), "secured"),
    (Some(b'k'), "ssl_security"),
    (Some(b'e'), "mail_pid"),
    (None, "session"),
    (None, "real_lip"),
    (None, "real_rip"),
    (None, "real_lport"),
    (None, "real_rport"),
    (None, "orig_user"),
    (None, "orig_username"),
    (None, "orig_domain"),
    (None, "auth_user"),
    (None, "auth_username"),
    (None, "auth_domain"),
    (None, "listener"),
    (None, "local_name"),
    (None, "local_ip"),
    (None, "remote_ip"),
    (None, "local_port"),
    (None, "remote_port"),
    (None, "real_local_ip"),
    (None, "real_remote_ip"),
    (None, "real_local_port"),
    (None, "real_remote_port"),
    (None, "mechanism"),
    (None, "original_user"),
];

/// The values of [`LOG_VARS`] for one client. cote's login processes take no forwarded
/// addresses, so the `real_` ones are the connection's own; without master-user logins
/// the original and authenticating users are the user.
fn log_vars(conn: &ConnInfo, service: &str, facts: &LoginLogFacts<'_>) -> Vars {
    let (username, domain) = var_expand::split_user(facts.user);
    let local_ip = conn.local.ip().to_string();
    let remote_ip = conn.remote.ip().to_string();
    let local_port = conn.local.port().to_string();
    let remote_port = conn.remote.port().to_string();
    let pid = std::process::id().to_string();
    let mail_pid = facts.mail_pid.map(|p| p.to_string());
    let home = std::env::var("HOME").ok();
    let secured = if conn.tls {
        Some("TLS")
    } else {
        facts.secured.then_some("secured")
    };
    let value = |name: &str| -> Option<&str> {
        Some(match name {
            "user" | "orig_user" | "auth_user" | "original_user" => facts.user,
            "username" | "orig_username" | "auth_username" => username,
            "domain" | "orig_domain" | "auth_domain" => return domain,
            "service" => service,
            "home" => return home.as_deref(),
            "lip" | "real_lip" | "local_ip" | "real_local_ip" => &local_ip,
            "rip" | "real_rip" | "remote_ip" | "real_remote_ip" => &remote_ip,
            "lport" | "real_lport" | "local_port" | "real_local_port" => &local_port,
            "rport" | "real_rport" | "remote_port" | "real_remote_port" => &remote_port,
            "pid" => &pid,
            "mech" | "mechanism" => return facts.mechanism,
            "secured" => return secured,
            "ssl_security" => return facts.tls_security,
            "mail_pid" => return mail_pid.as_deref(),
            "session" => &conn.session_id,
            "listener" => &conn.listener,
            _ => return None,
        })
    };
    let mut vars = Vars::new();
    for (short, long) in LOG_VARS {
        vars.set(short, Some(long), value(long));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(local: &str, remote: &str, tls: bool) -> ConnInfo {
        let mut c = ConnInfo::new(local.parse().unwrap(), remote.parse().unwrap(), tls);
        c.session_id = "S".into();
        c.listener = "imap".into();
        c
    }

    #[test]
    fn default_elements_leave_out_empty_ones_but_the_user() {
        let format = LoginLogFormat::default();
        let c = conn("127.0.0.1:143", "127.0.0.1:50000", false);
        let facts = LoginLogFacts {
            secured: true,
            ..LoginLogFacts::default()
        };
        assert_eq!(
            format.line("Disconnected: Inactivity", &c, "imap", &facts),
            "Disconnected: Inactivity: user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<S>"
        );
        let c = conn("127.0.0.1:143", "127.0.0.2:50000", true);
        let facts = LoginLogFacts {
            user: "alice",
            mechanism: Some("PLAIN"),
            mail_pid: Some(42),
            secured: true,
            tls_security: Some("TLSv1.3 with cipher X (256/256 bits)"),
        };
        assert_eq!(
            format.line("Login", &c, "imap", &facts),
            "Login: user=<alice>, method=PLAIN, rip=127.0.0.2, lip=127.0.0.1, mpid=42, TLS, \
             session=<S>"
        );
    }

    #[test]
    fn custom_format_and_elements() {
        let format = LoginLogFormat::new(
            "%s -- %$",
            "u=%n d=%d port=%{rport} lsn=%{listener} k=%k %s pid=%e",
        );
        let c = conn("127.0.0.1:993", "127.0.0.9:40000", true);
        let facts = LoginLogFacts {
            user: "bob@example.org",
            tls_security: Some("TLSv1.3"),
            ..LoginLogFacts::default()
        };
        assert_eq!(
            format.line("Login", &c, "pop3", &facts),
            "u=bob, d=example.org, port=40000, lsn=imap, k=TLSv1.3, pop3 -- Login"
        );
    }

    #[test]
    fn an_element_of_unknown_variables_only_is_left_out_as_in_dovecot() {
        // It expands to the same `UNSUPPORTED_VARIABLE_` text with and without values.
        let format = LoginLogFormat::new("%$: %s", "x=%{nonsense} rip=%r");
        let c = conn("127.0.0.1:143", "127.0.0.2:1", false);
        let line = format.line("Login", &c, "imap", &LoginLogFacts::default());
        assert_eq!(line, "Login: rip=127.0.0.2");
    }
}
