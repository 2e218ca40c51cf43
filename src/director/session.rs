//! How a login process tells the director that it proxies a session of a user, so that the
//! user stays on its backend while the session lasts, and how the director ends such a
//! session (`coteadm director kick`, `move`, `flush`). Dovecot's login processes write the
//! user name to the `login/proxy-notify` fifo every `proxy_refresh` seconds and are kicked
//! through the ipc service; cote's keep one connection per proxied session on the
//! director's login socket instead, which says at once when the session ends (the connection
//! closes, even when the process dies) and carries the kick back.
//!
//! The wire: the login process sends `VERSION\tdirector-session\t1\t0` and
//! `SESSION\t<user>` (TAB-escaped); the director answers `KICK` when the session must end.

use std::io::{self, BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::auth::fields::tab_escape;

/// The handshake line's start, which tells a session connection from an auth client.
pub const HANDSHAKE: &str = "VERSION\tdirector-session\t1\t0";
pub const KICK: &str = "KICK";

/// A proxied session registered with the director.
pub struct RegisteredSession {
    stream: UnixStream,
}

impl RegisteredSession {
    /// Registers a session of `user` on the director's socket `path`.
    pub fn register(path: &Path, user: &str) -> io::Result<RegisteredSession> {
        let mut stream = UnixStream::connect(path)?;
        stream.write_all(format!("{HANDSHAKE}\nSESSION\t{}\n", tab_escape(user)).as_bytes())?;
        Ok(RegisteredSession { stream })
    }

    /// Runs `on_kick` in a thread of its own if the director kicks the session; the
    /// registration ends when the returned guard is dropped.
    pub fn watch(self, on_kick: impl FnOnce() + Send + 'static) -> io::Result<SessionGuard> {
        let reader = self.stream.try_clone()?;
        std::thread::spawn(move || {
            let mut line = String::new();
            // EOF or an error: the registration ended, there is no kick to act on.
            if BufReader::new(reader).read_line(&mut line).is_ok() && line.trim_end() == KICK {
                on_kick();
            }
        });
        Ok(SessionGuard {
            stream: self.stream,
        })
    }
}

/// Ends the registration (the director counts the session as over) when dropped.
pub struct SessionGuard {
    stream: UnixStream,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
