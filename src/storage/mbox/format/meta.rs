//! Dovecot's own mbox headers: what they say about a message, and which header fields are
//! hidden from clients (and dropped from incoming mail) because they belong to the store.

use crate::mail::header::HeaderField;
use crate::storage::flags::MailFlags;

/// The header fields Dovecot keeps for itself, hidden from every message clients see.
pub const DOVECOT_HEADERS: [&str; 7] = [
    "Content-Length",
    "Status",
    "X-IMAP",
    "X-IMAPbase",
    "X-Keywords",
    "X-Status",
    "X-UID",
];

/// `Status:` letters: `R` is \Seen, `O` marks a message some reader has already seen as not
/// new (Dovecot's "not \Recent").
pub const STATUS_SEEN: u8 = b'R';
pub const STATUS_OLD: u8 = b'O';
/// `X-Status:` letters and the flags they stand for, in the order Dovecot writes them.
pub const XSTATUS_FLAGS: [(u8, MailFlags); 4] = [
    (b'A', MailFlags::ANSWERED),
    (b'F', MailFlags::FLAGGED),
    (b'T', MailFlags::DRAFT),
    (b'D', MailFlags::DELETED),
];

/// Whether `name` is one of [`DOVECOT_HEADERS`].
pub fn is_dovecot_header(name: &[u8]) -> bool {
    DOVECOT_HEADERS
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
}

/// `X-IMAPbase:` (first message) or `X-IMAP:` (the pseudo message): the mailbox's
/// UIDVALIDITY, the last UID given out, and the keyword names in use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImapBase {
    pub uid_validity: u32,
    pub last_uid: u32,
    pub keywords: Vec<String>,
}

impl ImapBase {
    /// `<uidvalidity> <last uid> <keyword>...`; `None` unless both numbers parse and
    /// UIDVALIDITY is not zero.
    pub fn parse(value: &[u8]) -> Option<ImapBase> {
        let text = std::str::from_utf8(value).ok()?;
        let mut words = text.split_ascii_whitespace();
        let uid_validity: u32 = words.next()?.parse().ok()?;
        let last_uid: u32 = words.next()?.parse().ok()?;
        if uid_validity == 0 {
            return None;
        }
        let mut keywords: Vec<String> = Vec::new();
        for w in words {
            if !keywords.iter().any(|k| k.eq_ignore_ascii_case(w)) {
                keywords.push(w.to_string());
            }
        }
        Some(ImapBase {
            uid_validity,
            last_uid,
            keywords,
        })
    }

    /// The UID the next new message gets.
    pub fn uid_next(&self) -> u32 {
        self.last_uid.saturating_add(1)
    }

    /// The header value as Dovecot writes it (last UID in ten digits, so it can be
    /// rewritten in place).
    pub fn value(&self) -> String {
        let mut s = format!("{} {:010}", self.uid_validity, self.last_uid);
        for k in &self.keywords {
            s.push(' ');
            s.push_str(k);
        }
        s
    }
}

/// What Dovecot's headers of one message say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageMeta {
    /// `X-IMAPbase:` (only meaningful on the first message).
    pub imap_base: Option<ImapBase>,
    /// `X-IMAP:`: this message is Dovecot's pseudo message holding the mailbox data.
    pub pseudo: Option<ImapBase>,
    /// `X-UID:` as written (trusted only within the limits [`super::assign_uids`] applies).
    pub x_uid: Option<u32>,
    pub flags: MailFlags,
    /// `Status:` has `O`: not \Recent.
    pub old: bool,
    /// `Some` when the message has a `Status:` header: the bytes of its value that are not
    /// flag letters (Dovecot keeps them, before the letters, when it rewrites the value).
    pub status_other: Option<Vec<u8>>,
    /// The same for `X-Status:`.
    pub xstatus_other: Option<Vec<u8>>,
    /// `X-Keywords:` as written, in order, duplicates removed.
    pub keywords: Vec<String>,
    /// `Content-Length:` (the body's length in bytes).
    pub content_length: Option<u64>,
}

impl MessageMeta {
    /// Reads Dovecot's headers among `fields`; other fields are ignored, and a value that
    /// does not parse counts as absent (it is untrusted input, not an error).
    pub fn from_fields(fields: &[HeaderField<'_>]) -> MessageMeta {
        let mut meta = MessageMeta::default();
        for f in fields {
            let value = f.value_oneline();
            let trimmed = value.trim_ascii();
            if f.is("X-IMAPbase") {
                meta.imap_base = meta.imap_base.or_else(|| ImapBase::parse(trimmed));
            } else if f.is("X-IMAP") {
                meta.pseudo = meta.pseudo.or_else(|| ImapBase::parse(trimmed));
            } else if f.is("X-UID") {
                meta.x_uid = meta.x_uid.or_else(|| parse_number(trimmed));
            } else if f.is("Status") {
                let mut other = Vec::new();
                for &c in &value {
                    match c {
                        STATUS_SEEN => meta.flags.insert(MailFlags::SEEN),
                        STATUS_OLD => meta.old = true,
                        _ => other.push(c),
                    }
                }
                meta.status_other.get_or_insert(other);
            } else if f.is("X-Status") {
                let mut other = Vec::new();
                for &c in &value {
                    match XSTATUS_FLAGS.iter().find(|(l, _)| *l == c) {
                        Some((_, flag)) => meta.flags.insert(*flag),
                        None => other.push(c),
                    }
                }
                meta.xstatus_other.get_or_insert(other);
            } else if f.is("X-Keywords") {
                let text = String::from_utf8_lossy(trimmed);
                for w in text.split_ascii_whitespace() {
                    if !meta.keywords.iter().any(|k| k.eq_ignore_ascii_case(w)) {
                        meta.keywords.push(w.to_string());
                    }
                }
            } else if f.is("Content-Length") {
                meta.content_length = meta.content_length.or_else(|| parse_number(trimmed));
            }
        }
        meta
    }
}

/// A decimal number without sign or junk.
fn parse_number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// `Status: ` + letters, and `X-Status: ` + letters when any of its flags is set: the lines
/// Dovecot's save writes for `flags` (`old`: not \Recent any more).
pub fn status_lines(flags: MailFlags, old: bool) -> String {
    let empty = Some(Vec::new());
    let mut out = Vec::new();
    status_fields(&mut out, flags, old, empty.as_deref(), None);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the `Status:` and `X-Status:` lines Dovecot's sync writes for a message whose
/// header had them (`Some`: the value's bytes that are not flag letters, kept before the
/// letters) or not: a line is written when the header was there or has a letter to hold.
pub fn status_fields(
    out: &mut Vec<u8>,
    flags: MailFlags,
    old: bool,
    status_other: Option<&[u8]>,
    xstatus_other: Option<&[u8]>,
) {
    status_field(out, flags, old, status_other);
    xstatus_field(out, flags, xstatus_other);
}

/// The `Status:` line of [`status_fields`].
pub fn status_field(out: &mut Vec<u8>, flags: MailFlags, old: bool, other: Option<&[u8]>) {
    let mut letters = Vec::new();
    if flags.contains(MailFlags::SEEN) {
        letters.push(STATUS_SEEN);
    }
    if old {
        letters.push(STATUS_OLD);
    }
    push_field(out, "Status: ", other, &letters);
}

/// The `X-Status:` line of [`status_fields`].
pub fn xstatus_field(out: &mut Vec<u8>, flags: MailFlags, other: Option<&[u8]>) {
    let letters: Vec<u8> = XSTATUS_FLAGS
        .iter()
        .filter(|(_, f)| flags.contains(*f))
        .map(|(c, _)| *c)
        .collect();
    push_field(out, "X-Status: ", other, &letters);
}

fn push_field(out: &mut Vec<u8>, name: &str, other: Option<&[u8]>, letters: &[u8]) {
    if other.is_none() && letters.is_empty() {
        return;
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(other.unwrap_or_default());
    out.extend_from_slice(letters);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::header::fields;

    #[test]
    fn reads_dovecot_headers() {
        let h = b"From: a@b\nX-IMAPbase: 1795878599 0000000002 $Work Other\nX-UID: 1\n\
                  Status: RO\nX-Status: AFD\nX-Keywords: $Work  Other $work   \n\
                  Content-Length: 25\n\n";
        let meta = MessageMeta::from_fields(&fields(h, 0, h.len()));
        let base = meta.imap_base.clone().unwrap();
        assert_eq!((base.uid_validity, base.last_uid), (1795878599, 2));
        assert_eq!(base.keywords, ["$Work", "Other"]);
        assert_eq!(base.uid_next(), 3);
        assert_eq!(base.value(), "1795878599 0000000002 $Work Other");
        assert_eq!(meta.x_uid, Some(1));
        assert!(meta.old);
        assert_eq!(
            meta.flags,
            MailFlags::SEEN | MailFlags::ANSWERED | MailFlags::FLAGGED | MailFlags::DELETED
        );
        assert_eq!(meta.keywords, ["$Work", "Other"]);
        assert_eq!(meta.content_length, Some(25));
        assert_eq!(meta.pseudo, None);
    }

    #[test]
    fn bad_values_count_as_absent() {
        let h = b"X-UID: 1x\nContent-Length: -4\nX-IMAPbase: 0 5\nX-IMAP: abc\n\n";
        let meta = MessageMeta::from_fields(&fields(h, 0, h.len()));
        assert_eq!(meta, MessageMeta::default());
        assert!(ImapBase::parse(b"1 99999999999").is_none());
    }

    #[test]
    fn status_lines_as_dovecot_writes_them() {
        assert_eq!(status_lines(MailFlags::empty(), false), "Status: \n");
        assert_eq!(
            status_lines(
                MailFlags::SEEN | MailFlags::DRAFT | MailFlags::ANSWERED,
                true
            ),
            "Status: RO\nX-Status: AT\n"
        );
        let mut out = Vec::new();
        status_fields(&mut out, MailFlags::SEEN, true, Some(b"U "), Some(b""));
        assert_eq!(out, b"Status: U RO\nX-Status: \n");
        let mut out = Vec::new();
        status_fields(&mut out, MailFlags::empty(), false, None, None);
        assert!(out.is_empty());
        assert!(is_dovecot_header(b"x-uid"));
        assert!(!is_dovecot_header(b"X-UIDx"));
    }
}
