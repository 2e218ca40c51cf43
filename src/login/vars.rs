//! The `%` variables of login settings (Dovecot's `login_set_var_expand_table`):
//! `login_greeting` and friends may use `%l %r %p %s` and `%{local_name}`.

use crate::config::var_expand::Vars;
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
