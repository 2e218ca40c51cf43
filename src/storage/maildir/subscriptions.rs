//! The subscriptions file (`subscriptions` in the control root): version 2 as Dovecot 2.3
//! writes it, version 1 as older ones did (Dovecot's `subscription-file.c`).
//!
//! ```text
//! V<TAB>2<LF><LF>
//! Archive<TAB>2024<LF>        levels joined by TAB, each escaped with \001
//! ```
//!
//! Entries are storage names (modified UTF-7, the layout's separator). A version 1 file stays
//! version 1 when changed, as in Dovecot; a new file is version 2.

use std::fmt;

/// The default file name for Maildir (mbox uses `.subscriptions`).
pub const FILE_NAME: &str = "subscriptions";
const V2_HEADER: &[u8] = b"V\t2\n\n";
/// Dovecot refuses lines longer than the longest mailbox name.
const LINE_MAX: usize = crate::storage::names::NAME_MAX_LENGTH;

/// A line too long for Dovecot's reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong {
    pub line: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Subscription file contains lines longer than {LINE_MAX} characters (line {})",
            self.line
        )
    }
}

impl std::error::Error for LineTooLong {}

/// The file's lines as read (escaped), and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriptions {
    version: u8,
    lines: Vec<Vec<u8>>,
}

impl Default for Subscriptions {
    fn default() -> Subscriptions {
        Subscriptions::new()
    }
}

impl Subscriptions {
    /// No file yet: written as version 2.
    pub fn new() -> Subscriptions {
        Subscriptions {
            version: 2,
            lines: Vec::new(),
        }
    }

    /// Reads the file. A last line without LF counts (Dovecot reads partial lines here).
    pub fn parse(data: &[u8]) -> Result<Subscriptions, LineTooLong> {
        let (version, body) = match data.strip_prefix(V2_HEADER) {
            Some(body) => (2, body),
            None => (1, data),
        };
        let mut lines = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (mut line, next) = match rest.iter().position(|&c| c == b'\n') {
                Some(nl) => (&rest[..nl], &rest[nl + 1..]),
                None => (rest, &[][..]),
            };
            rest = next;
            line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(nul) = line.iter().position(|&c| c == 0) {
                line = &line[..nul];
            }
            if line.len() > LINE_MAX {
                return Err(LineTooLong {
                    line: lines.len() + 1,
                });
            }
            lines.push(line.to_vec());
        }
        Ok(Subscriptions { version, lines })
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    /// The subscribed storage names, levels joined with `list_sep`. Empty lines are skipped.
    pub fn names(&self, list_sep: u8) -> Vec<Vec<u8>> {
        self.lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| match self.version {
                1 => l.clone(),
                _ => unescape_levels(l, list_sep),
            })
            .collect()
    }

    /// Subscribes or unsubscribes a storage name (`INBOX` in any case is `INBOX`); returns
    /// whether the file changes. Lines are kept in order; a new one goes at the end.
    pub fn set(&mut self, storage_name: &[u8], list_sep: u8, subscribed: bool) -> bool {
        let name: &[u8] = if storage_name.eq_ignore_ascii_case(b"INBOX") {
            b"INBOX"
        } else {
            storage_name
        };
        let line = if self.version < 2 || name.is_empty() {
            name.to_vec()
        } else {
            escape_levels(name, list_sep)
        };
        let found = self.lines.contains(&line);
        if subscribed && !found {
            self.lines.push(line);
            true
        } else if !subscribed && found {
            self.lines.retain(|l| *l != line);
            true
        } else {
            false
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.version >= 2 {
            out.extend_from_slice(V2_HEADER);
        }
        for l in &self.lines {
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    }
}

/// Dovecot's tab escaping of one level: `\001` → `\0011`, TAB → `\001t`, CR → `\001r`,
/// LF → `\001n` (NUL → `\0010`).
fn escape_level(level: &[u8], out: &mut Vec<u8>) {
    for &c in level {
        let esc = match c {
            0 => b'0',
            1 => b'1',
            b'\t' => b't',
            b'\r' => b'r',
            b'\n' => b'n',
            _ => {
                out.push(c);
                continue;
            }
        };
        out.extend_from_slice(&[1, esc]);
    }
}

fn escape_levels(name: &[u8], list_sep: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 4);
    for (i, level) in name.split(|&c| c == list_sep).enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        escape_level(level, &mut out);
    }
    out
}

fn unescape_levels(line: &[u8], list_sep: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b'\t' => out.push(list_sep),
            1 => {
                i += 1;
                match line.get(i) {
                    Some(b'0') => out.push(0),
                    Some(b'1') => out.push(1),
                    Some(b't') => out.push(b'\t'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b'n') => out.push(b'\n'),
                    Some(&other) => out.push(other),
                    // A trailing escape byte means nothing.
                    None => {}
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn version_2() {
        let s = Subscriptions::parse(b"V\t2\n\nArchive\t2024\nINBOX\nTr\x01tash\n").unwrap();
        assert_eq!(s.version(), 2);
        assert_eq!(
            s.names(b'.'),
            vec![
                b"Archive.2024".to_vec(),
                b"INBOX".to_vec(),
                b"Tr\tash".to_vec()
            ]
        );
        let mut s = Subscriptions::new();
        assert!(s.set(b"Archive.2024", b'.', true));
        assert!(!s.set(b"Archive.2024", b'.', true));
        assert!(s.set(b"inbox", b'.', true));
        assert!(s.set(b"a\x01b\rc", b'.', true));
        assert_eq!(
            s.to_bytes(),
            b"V\t2\n\nArchive\t2024\nINBOX\na\x011b\x01rc\n".to_vec()
        );
        assert!(s.set(b"INBOX", b'.', false));
        assert!(!s.set(b"nope", b'.', false));
        assert_eq!(
            s.to_bytes(),
            b"V\t2\n\nArchive\t2024\na\x011b\x01rc\n".to_vec()
        );
    }

    #[test]
    fn version_1_stays_version_1() {
        let mut s = Subscriptions::parse(b"Archive.2024\nSent\n").unwrap();
        assert_eq!(s.version(), 1);
        assert_eq!(
            s.names(b'.'),
            vec![b"Archive.2024".to_vec(), b"Sent".to_vec()]
        );
        assert!(s.set(b"Drafts", b'.', true));
        assert!(s.set(b"Sent", b'.', false));
        assert_eq!(s.to_bytes(), b"Archive.2024\nDrafts\n".to_vec());
        // a partial last line is read
        let s = Subscriptions::parse(b"a\nb").unwrap();
        assert_eq!(s.names(b'/'), vec![b"a".to_vec(), b"b".to_vec()]);
        // an empty file is version 1
        assert_eq!(Subscriptions::parse(b"").unwrap().version(), 1);
    }

    #[test]
    fn long_lines() {
        let long = vec![b'x'; LINE_MAX + 1];
        assert_eq!(Subscriptions::parse(&long), Err(LineTooLong { line: 1 }));
        assert!(Subscriptions::parse(&long[1..]).is_ok());
    }

    proptest! {
        #[test]
        fn round_trip(names in proptest::collection::vec(proptest::collection::vec(prop::sample::select(vec![b'a', b'.', b'\t', 1, b'\r', b'&', b'-', 0xc3]), 1..8), 0..8)) {
            let mut s = Subscriptions::new();
            let mut want: Vec<Vec<u8>> = Vec::new();
            for n in &names {
                if n.eq_ignore_ascii_case(b"INBOX") { continue; }
                if s.set(n, b'.', true) {
                    want.push(n.clone());
                }
            }
            let reread = Subscriptions::parse(&s.to_bytes()).unwrap();
            prop_assert_eq!(reread.names(b'.'), want);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(mut s) = Subscriptions::parse(&data) {
                let _ = s.names(b'/');
                s.set(b"x/y", b'/', true);
            }
        }
    }
}
