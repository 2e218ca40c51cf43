//! IMAP system flags as storage keeps them (`\Recent` is a session state, not stored).

use std::fmt;

/// A set of IMAP system flags.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MailFlags(u8);

impl MailFlags {
    pub const ANSWERED: MailFlags = MailFlags(0x01);
    pub const FLAGGED: MailFlags = MailFlags(0x02);
    pub const DELETED: MailFlags = MailFlags(0x04);
    pub const SEEN: MailFlags = MailFlags(0x08);
    pub const DRAFT: MailFlags = MailFlags(0x10);
    pub const ALL: MailFlags = MailFlags(0x1f);

    pub const fn empty() -> MailFlags {
        MailFlags(0)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The flags in `bits`; unknown bits are dropped.
    pub const fn from_bits_truncate(bits: u8) -> MailFlags {
        MailFlags(bits & MailFlags::ALL.0)
    }

    pub const fn contains(self, other: MailFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, other: MailFlags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: MailFlags) {
        self.0 &= !other.0;
    }

    /// The IMAP names, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (MailFlags::ANSWERED, "\\Answered"),
            (MailFlags::FLAGGED, "\\Flagged"),
            (MailFlags::DELETED, "\\Deleted"),
            (MailFlags::SEEN, "\\Seen"),
            (MailFlags::DRAFT, "\\Draft"),
        ]
        .into_iter()
        .filter(move |(f, _)| self.contains(*f))
        .map(|(_, n)| n)
    }
}

impl std::ops::BitOr for MailFlags {
    type Output = MailFlags;
    fn bitor(self, rhs: MailFlags) -> MailFlags {
        MailFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for MailFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
