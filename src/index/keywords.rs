//! Keywords: a per-mailbox name table (ids are positions, assigned in the order names were
//! first used, never reused) and per-message sets of ids.

use super::codec::{malformed, Malformed};

/// How many keyword names one mailbox index holds at most; keeps snapshot records bounded.
pub const MAX_KEYWORDS: usize = 1024;
/// The longest keyword name accepted, in bytes.
pub const MAX_KEYWORD_LEN: usize = 255;

/// Checks a keyword name: an IMAP atom (printable ASCII without atom-specials) not starting
/// with `\` (those are system flags).
pub fn check_keyword_name(name: &str) -> Result<(), Malformed> {
    if name.is_empty() || name.len() > MAX_KEYWORD_LEN {
        return Err(malformed(format!(
            "keyword name length {} not in 1..={MAX_KEYWORD_LEN}",
            name.len()
        )));
    }
    if name.starts_with('\\') {
        return Err(malformed(format!(
            "keyword {name:?} starts with a backslash"
        )));
    }
    let bad = |b: u8| b <= b' ' || b >= 0x7f || b"(){%*\"\\]".contains(&b);
    if name.bytes().any(bad) {
        return Err(malformed(format!("keyword {name:?} is not an IMAP atom")));
    }
    Ok(())
}

/// A set of keyword ids, as a bitmap that grows only as far as its highest id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct KeywordSet {
    words: Vec<u64>,
}

impl KeywordSet {
    pub fn new() -> Self {
        KeywordSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn contains(&self, id: u32) -> bool {
        let (word, bit) = (id as usize / 64, id % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    pub fn insert(&mut self, id: u32) {
        let (word, bit) = (id as usize / 64, id % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub fn remove(&mut self, id: u32) {
        let (word, bit) = (id as usize / 64, id % 64);
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1 << bit);
        }
        self.trim();
    }

    fn trim(&mut self) {
        while self.words.last() == Some(&0) {
            self.words.pop();
        }
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |bit| w & (1 << bit) != 0)
                .map(move |bit| i as u32 * 64 + bit)
        })
    }

    /// The highest id in the set plus one (0 when empty).
    pub fn bound(&self) -> u32 {
        self.iter().last().map_or(0, |id| id + 1)
    }

    /// The bitmap as `len` little-endian bytes (ids beyond `len * 8` must not be set).
    pub(crate) fn to_bitmap(&self, len: usize) -> Vec<u8> {
        let mut out: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        debug_assert!(out[len.min(out.len())..].iter().all(|&b| b == 0));
        out.resize(len, 0);
        out
    }

    /// Reads a bitmap; ids at or above `known` (the size of the name table) are refused.
    pub(crate) fn from_bitmap(bytes: &[u8], known: usize) -> Result<KeywordSet, Malformed> {
        let mut set = KeywordSet::new();
        for (i, &byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    let id = i * 8 + bit;
                    if id >= known {
                        return Err(malformed(format!("keyword id {id} but only {known} names")));
                    }
                    set.insert(id as u32);
                }
            }
        }
        Ok(set)
    }
}

impl FromIterator<u32> for KeywordSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut set = KeywordSet::new();
        for id in iter {
            set.insert(id);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_keyword_name("$Forwarded").is_ok());
        assert!(check_keyword_name("NonJunk").is_ok());
        for bad in ["", "\\Seen", "a b", "a(", "a]", "é", &"x".repeat(256)] {
            assert!(check_keyword_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn set_and_bitmap() {
        let mut s: KeywordSet = [0, 5, 64, 130].into_iter().collect();
        assert!(s.contains(64) && !s.contains(63));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 5, 64, 130]);
        assert_eq!(s.bound(), 131);
        let bm = s.to_bitmap(17);
        assert_eq!(KeywordSet::from_bitmap(&bm, 131).unwrap(), s);
        assert!(KeywordSet::from_bitmap(&bm, 130).is_err());
        s.remove(130);
        s.remove(64);
        assert_eq!(s.bound(), 6);
        assert_eq!(s, [0, 5].into_iter().collect());
    }
}
