//! What a session did, for the logout line (`imap_logout_format`: `in=%i out=%o deleted=...`),
//! and the byte counters behind `%i` and `%o` (the session's streams are `net::counted::Counted`).

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::{WaitInput, Wake};
use crate::config::var_expand::Vars;
use crate::net::counted::Counted;

/// Dovecot's logout counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionStats {
    /// Bytes the client sent after login (`%i`).
    pub input: u64,
    /// Bytes sent to the client after login (`%o`).
    pub output: u64,
    /// Header data sent by FETCH (RFC822.HEADER, BODY[HEADER...], BODY[n.MIME]).
    pub fetch_hdr_count: u64,
    pub fetch_hdr_bytes: u64,
    /// Other message data sent by FETCH.
    pub fetch_body_count: u64,
    pub fetch_body_bytes: u64,
    /// Messages STORE gave `\Deleted`.
    pub deleted: u64,
    /// Messages EXPUNGE, UID EXPUNGE and CLOSE removed.
    pub expunged: u64,
    /// Messages copied or moved to a `\Trash` mailbox.
    pub trashed: u64,
    /// Messages saved by APPEND.
    pub appended: u64,
}

impl SessionStats {
    /// Adds the logout variables to `vars` (the caller adds the user's and `%{session}`;
    /// `%{autoexpunged}` is the storage's, added by the caller too).
    pub fn set_vars(&self, vars: &mut Vars) {
        let numbers: [(Option<u8>, &'static str, u64); 10] = [
            (Some(b'i'), "input", self.input),
            (Some(b'o'), "output", self.output),
            (None, "fetch_hdr_count", self.fetch_hdr_count),
            (None, "fetch_hdr_bytes", self.fetch_hdr_bytes),
            (None, "fetch_body_count", self.fetch_body_count),
            (None, "fetch_body_bytes", self.fetch_body_bytes),
            (None, "deleted", self.deleted),
            (None, "expunged", self.expunged),
            (None, "trashed", self.trashed),
            (None, "appended", self.appended),
        ];
        for (short, long, value) in numbers {
            vars.set(short, Some(long), Some(&value.to_string()));
        }
    }
}

impl<R: WaitInput> WaitInput for Counted<R> {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        self.get_ref().wait_input(timeout, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::var_expand::expand;
    use std::io::{Read, Write};

    #[test]
    fn counts_and_variables() {
        let mut input = Counted::own(&b"abc"[..]);
        let mut buf = [0u8; 8];
        assert_eq!(input.read(&mut buf).unwrap(), 3);
        let mut output = Counted::own(Vec::new());
        output.write_all(b"hello").unwrap();
        let stats = SessionStats {
            input: input.count(),
            output: output.count(),
            expunged: 2,
            ..SessionStats::default()
        };
        let mut vars = Vars::new();
        stats.set_vars(&mut vars);
        assert_eq!(
            expand(
                "in=%i out=%o expunged=%{expunged} trashed=%{trashed}",
                &vars
            )
            .unwrap(),
            "in=3 out=5 expunged=2 trashed=0"
        );
    }
}
