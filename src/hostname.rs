//! This host's name as Dovecot determines it: `DOVECOT_HOSTNAME` if set, else
//! `gethostname()`; empty names and names with `/`, CR, LF or TAB are refused. Dotlock
//! contents (`pid:host`), Maildir file names and `%{hostname}` use it.

use std::sync::OnceLock;

/// The environment variable that overrides the system host name (Dovecot's `MY_HOSTNAME_ENV`).
pub const HOSTNAME_ENV: &str = "DOVECOT_HOSTNAME";

static HOSTNAME: OnceLock<Result<String, String>> = OnceLock::new();

/// This host's name, determined once per process; the error is Dovecot's reason.
pub fn hostname() -> Result<&'static str, String> {
    let found = HOSTNAME.get_or_init(|| {
        let name = match std::env::var_os(HOSTNAME_ENV) {
            Some(value) => value.to_string_lossy().into_owned(),
            None => match nix::unistd::gethostname() {
                Ok(name) => name.to_string_lossy().into_owned(),
                Err(errno) => return Err(format!("gethostname() failed: {}", errno.desc())),
            },
        };
        check_hostname(&name).map(|()| name)
    });
    found.as_deref().map_err(String::clone)
}

/// Dovecot's rule: not empty, none of `/`, CR, LF, TAB. The error carries the name.
pub fn check_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['/', '\r', '\n', '\t']) {
        return Err(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_dovecots_disallowed_characters() {
        assert!(check_hostname("mx1.example.org").is_ok());
        for bad in ["", "a/b", "a\rb", "a\nb", "a\tb"] {
            assert_eq!(check_hostname(bad), Err(bad.to_string()));
        }
    }

    #[test]
    fn hostname_is_stable() {
        let a = hostname().unwrap();
        assert_eq!(a, hostname().unwrap());
        assert!(check_hostname(a).is_ok());
    }
}
