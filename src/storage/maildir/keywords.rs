//! `dovecot-keywords`: which keyword each file-name letter `a`–`z` stands for.
//!
//! ```text
//! 0 $Junk
//! 1 NonJunk
//! ```
//!
//! Read as Dovecot's `maildir_keywords_sync()` reads it (bad lines skipped, gaps allowed,
//! names matched case-insensitively); written whole, under `dovecot-keywords.lock`, while the
//! uidlist lock is held (`keywords_file` does that). Keywords past the 26th have no letter and
//! live only in the index.

use super::filename::{KEYWORD_FIRST, MAX_KEYWORDS};

/// The file's name in the control directory.
pub const FILE_NAME: &str = "dovecot-keywords";

/// The keyword table: slot `i` is letter `a + i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    slots: Vec<Option<String>>,
    changed: bool,
}

impl Keywords {
    pub fn new() -> Keywords {
        Keywords::default()
    }

    /// Parses the file. Lines without a space, with a bad or too large index, an empty name,
    /// or a name already taken (in any case) are skipped, as Dovecot does; a last line
    /// without LF is not read.
    pub fn parse(data: &[u8]) -> Keywords {
        let mut kw = Keywords::new();
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&c| c == b'\n') {
            let mut line = &rest[..nl];
            rest = &rest[nl + 1..];
            line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(nul) = line.iter().position(|&c| c == 0) {
                line = &line[..nul];
            }
            let Some(sp) = line.iter().position(|&c| c == b' ') else {
                continue;
            };
            let (idx, name) = (&line[..sp], &line[sp + 1..]);
            let Some(idx) = std::str::from_utf8(idx)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&i| i < MAX_KEYWORDS)
            else {
                continue;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            if name.is_empty() || kw.index_of(&name).is_some() {
                continue;
            }
            kw.put(idx, name);
        }
        kw.changed = false;
        kw
    }

    fn put(&mut self, idx: usize, name: String) {
        if self.slots.len() <= idx {
            self.slots.resize(idx + 1, None);
        }
        self.slots[idx] = Some(name);
        self.changed = true;
    }

    /// The keyword of slot `idx` (letter `a + idx`).
    pub fn name(&self, idx: usize) -> Option<&str> {
        self.slots.get(idx).and_then(|s| s.as_deref())
    }

    /// The keyword a file-name letter stands for.
    pub fn name_of_letter(&self, letter: u8) -> Option<&str> {
        letter
            .checked_sub(KEYWORD_FIRST)
            .and_then(|i| self.name(usize::from(i)))
    }

    /// The slot of a keyword, matched case-insensitively.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The file-name letter of a keyword.
    pub fn letter_of(&self, name: &str) -> Option<u8> {
        self.index_of(name).map(|i| KEYWORD_FIRST + i as u8)
    }

    /// The letter for `name`, adding it in the first free slot (gaps first) when new.
    /// `None` when all 26 letters are taken: the keyword then lives only in the index. Only
    /// call while holding the uidlist lock, and write the file before releasing it.
    pub fn letter_or_add(&mut self, name: &str) -> Option<u8> {
        if let Some(letter) = self.letter_of(name) {
            return Some(letter);
        }
        let free = self
            .slots
            .iter()
            .position(Option::is_none)
            .or((self.slots.len() < MAX_KEYWORDS).then_some(self.slots.len()))?;
        self.put(free, name.to_string());
        Some(KEYWORD_FIRST + free as u8)
    }

    /// The keyword for a letter found in a file name; when the file lost it, Dovecot's
    /// `unknown-<n>` (with `?` appended until unique) is recorded in its place.
    pub fn name_of_letter_or_unknown(&mut self, letter: u8) -> String {
        if let Some(name) = self.name_of_letter(letter) {
            return name.to_string();
        }
        let idx = usize::from(letter.saturating_sub(KEYWORD_FIRST)).min(MAX_KEYWORDS - 1);
        let mut name = format!("unknown-{idx}");
        while self.index_of(&name).is_some() {
            name.push('?');
        }
        self.put(idx, name.clone());
        name
    }

    /// Whether something was added since parsing (the file must be written).
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The file's bytes: `<index> <name>` per used slot.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(name) = slot {
                out.extend_from_slice(format!("{i} {name}\n").as_bytes());
            }
        }
        out
    }

    /// After the file was written.
    pub fn mark_written(&mut self) {
        self.changed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_dovecots_file() {
        let kw = Keywords::parse(b"0 $Junk\n1 NonJunk\n");
        assert_eq!(kw.name_of_letter(b'a'), Some("$Junk"));
        assert_eq!(kw.letter_of("nonjunk"), Some(b'b'));
        assert_eq!(kw.letter_of("$junk"), Some(b'a'));
        assert_eq!(kw.letter_of("other"), None);
        assert!(!kw.changed());
        assert_eq!(kw.to_bytes(), b"0 $Junk\n1 NonJunk\n");
    }

    #[test]
    fn bad_lines_and_gaps() {
        let kw = Keywords::parse(
            b"x\n3 Later\n26 TooFar\n-1 Neg\nq Q\n4 \n5 later\n0 First\r\n7 NoNewline",
        );
        assert_eq!(kw.name(0), Some("First"));
        assert_eq!(kw.name(1), None);
        assert_eq!(kw.name(3), Some("Later"));
        assert_eq!(kw.name(5), None); // case-insensitive duplicate skipped
        assert_eq!(kw.name(7), None); // not terminated
        assert_eq!(kw.to_bytes(), b"0 First\n3 Later\n");
        // names with spaces keep them
        assert_eq!(Keywords::parse(b"2 a b\n").name(2), Some("a b"));
    }

    #[test]
    fn adding_fills_gaps_then_stops_at_26() {
        let mut kw = Keywords::parse(b"0 a0\n2 a2\n");
        assert_eq!(kw.letter_or_add("A0"), Some(b'a'));
        assert!(!kw.changed());
        assert_eq!(kw.letter_or_add("new1"), Some(b'b'));
        assert_eq!(kw.letter_or_add("new3"), Some(b'd'));
        assert!(kw.changed());
        for i in 4..26 {
            assert_eq!(kw.letter_or_add(&format!("k{i}")), Some(b'a' + i as u8));
        }
        assert_eq!(kw.letter_or_add("one-too-many"), None);
        assert_eq!(Keywords::parse(&kw.to_bytes()), {
            let mut k = kw.clone();
            k.mark_written();
            k
        });
    }

    #[test]
    fn lost_names_become_unknown() {
        let mut kw = Keywords::parse(b"0 unknown-2\n");
        assert_eq!(kw.name_of_letter_or_unknown(b'c'), "unknown-2?");
        assert_eq!(kw.name_of_letter_or_unknown(b'c'), "unknown-2?");
        assert_eq!(kw.name_of_letter_or_unknown(b'd'), "unknown-3");
        assert!(kw.changed());
    }

    proptest! {
        #[test]
        fn round_trip(names in proptest::collection::vec("[A-Za-z$][A-Za-z0-9_]{0,10}", 0..30)) {
            let mut kw = Keywords::new();
            for n in &names {
                kw.letter_or_add(n);
            }
            let mut reread = Keywords::parse(&kw.to_bytes());
            kw.mark_written();
            reread.mark_written();
            prop_assert_eq!(&reread, &kw);
            for n in &names {
                if let Some(l) = kw.letter_of(n) {
                    prop_assert!(reread.name_of_letter(l).unwrap().eq_ignore_ascii_case(n));
                }
            }
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut kw = Keywords::parse(&data);
            let _ = kw.name_of_letter_or_unknown(b'z');
            let _ = kw.letter_or_add("x");
        }
    }
}
