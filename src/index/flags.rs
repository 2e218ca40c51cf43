//! System flags as the index stores them (the bits Dovecot uses, so a reader of either
//! format recognises them). `\Recent` is not a stored flag: it follows from
//! `first_recent_uid` and from which session claimed the message (see `view`).

use std::fmt;

/// A set of IMAP system flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    pub const ANSWERED: Flags = Flags(0x01);
    pub const FLAGGED: Flags = Flags(0x02);
    pub const DELETED: Flags = Flags(0x04);
    pub const SEEN: Flags = Flags(0x08);
    pub const DRAFT: Flags = Flags(0x10);
    pub const NONE: Flags = Flags(0);
    pub const ALL: Flags = Flags(0x1f);

    /// The flags of a stored byte; `None` when it has bits the index never writes.
    pub fn from_bits(bits: u8) -> Option<Flags> {
        (bits & !Self::ALL.0 == 0).then_some(Flags(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn difference(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    pub fn intersection(self, other: Flags) -> Flags {
        Flags(self.0 & other.0)
    }

    pub fn complement(self) -> Flags {
        Flags(!self.0 & Self::ALL.0)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Flags::ANSWERED, "\\Answered"),
            (Flags::FLAGGED, "\\Flagged"),
            (Flags::DELETED, "\\Deleted"),
            (Flags::SEEN, "\\Seen"),
            (Flags::DRAFT, "\\Draft"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_ops() {
        assert_eq!(Flags::from_bits(0x20), None);
        let f = Flags::SEEN.union(Flags::DELETED);
        assert!(f.contains(Flags::SEEN));
        assert_eq!(f.difference(Flags::SEEN), Flags::DELETED);
        assert_eq!(f.complement().intersection(f), Flags::NONE);
        assert_eq!(f.to_string(), "\\Deleted \\Seen");
    }
}
