//! This host's name as Dovecot determines it: `DOVECOT_HOSTNAME` if set, else
//! `gethostname()`; empty names and names with `/`, CR, LF or TAB are refused. Dotlock
//! contents (`pid:host`), Maildir file names and `%{hostname}` use it. [`hostdomain`] is the
//! fully qualified name (`dovecot --hostdomain`).

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

/// This host's fully qualified name as Dovecot's `my_hostdomain()` finds it:
/// `DOVECOT_HOSTDOMAIN`, else the canonical name the resolver gives the host name, else the
/// host name.
pub fn hostdomain() -> String {
    if let Some(name) = std::env::var_os("DOVECOT_HOSTDOMAIN") {
        return name.to_string_lossy().into_owned();
    }
    let host = hostname().unwrap_or_default().to_string();
    canonical_name(&host).unwrap_or(host)
}

/// The canonical name (`ai_canonname`) of `host`, as gethostbyname's `h_name`.
fn canonical_name(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: getaddrinfo with a zeroed hints struct asking only for AI_CANONNAME; the
    // result list is freed before returning and only read while it lives.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        let mut result: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut result) != 0 {
            return None;
        }
        let name = (!result.is_null() && !(*result).ai_canonname.is_null())
            .then(|| std::ffi::CStr::from_ptr((*result).ai_canonname))
            .map(|n| n.to_string_lossy().into_owned());
        libc::freeaddrinfo(result);
        name.filter(|n| !n.is_empty())
    }
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
