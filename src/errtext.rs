//! Error texts as Dovecot prints them.

/// The C library's text for an OS error (`No such file or directory`), without Rust's
/// `(os error 2)` suffix; other errors as they display.
pub fn os_error_text(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

/// Dovecot's line for a unix socket that could not be connected to:
/// `net_connect_unix(<path>) failed: <error>`.
pub fn connect_error_text(path: &std::path::Path, err: &std::io::Error) -> String {
    format!(
        "net_connect_unix({}) failed: {}",
        path.display(),
        os_error_text(err)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_text_without_suffix() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os_error_text(&e), "No such file or directory");
        let e = std::io::Error::other("custom");
        assert_eq!(os_error_text(&e), "custom");
    }
}
