//! Message flags on the wire: flag lists in STORE and APPEND, keyword names, and the
//! `(\Seen $Label1)` lists of FETCH FLAGS, FLAGS and PERMANENTFLAGS.

use std::fmt;

use crate::imap::parser::Arg;
use crate::storage::flags::MailFlags;

/// Dovecot's default `mail_max_keyword_length`.
pub const DEFAULT_MAX_KEYWORD_LENGTH: usize = 50;

/// The flags of a STORE or APPEND: system flags and keyword names, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagList {
    pub system: MailFlags,
    pub keywords: Vec<String>,
}

/// A flag list the command refuses (`BAD`, Dovecot's `client_parse_mail_flags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagError {
    /// A quoted string, literal or list among the flags.
    NonAtom,
    /// `\Recent` or an unknown `\Name`, upper-cased as Dovecot reports it.
    InvalidSystemFlag(String),
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagError::NonAtom => f.write_str("Flags list contains non-atoms."),
            FlagError::InvalidSystemFlag(name) => write!(f, "Invalid system flag {name}"),
        }
    }
}

impl std::error::Error for FlagError {}

/// A system flag by its IMAP name, any case; `\Recent` is not one a client may set.
pub fn system_flag(name: &str) -> Option<MailFlags> {
    match name.to_ascii_uppercase().as_str() {
        "\\ANSWERED" => Some(MailFlags::ANSWERED),
        "\\FLAGGED" => Some(MailFlags::FLAGGED),
        "\\DELETED" => Some(MailFlags::DELETED),
        "\\SEEN" => Some(MailFlags::SEEN),
        "\\DRAFT" => Some(MailFlags::DRAFT),
        _ => None,
    }
}

/// Reads flags from atoms (`NIL` is the keyword "NIL", as in Dovecot). Keyword names are only
/// checked when they are created ([`check_new_keyword`]), as Dovecot leaves that to storage.
pub fn parse_flags(args: &[Arg]) -> Result<FlagList, FlagError> {
    let mut list = FlagList::default();
    for arg in args {
        let Arg::Atom(atom) = arg else {
            return Err(FlagError::NonAtom);
        };
        if atom.starts_with('\\') {
            match system_flag(atom) {
                Some(flag) => list.system.insert(flag),
                None => return Err(FlagError::InvalidSystemFlag(atom.to_ascii_uppercase())),
            }
        } else if !list.keywords.contains(atom) {
            list.keywords.push(atom.clone());
        }
    }
    Ok(list)
}

/// An ATOM-CHAR: printable ASCII but `(){ %*"\]`.
pub fn is_atom_char(c: u8) -> bool {
    c > b' ' && c < 0x7f && !b"(){%*\"\\]".contains(&c)
}

/// Why a new keyword cannot be created (`NO [CANNOT] <text>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordError {
    Empty,
    InvalidCharacters,
    EightBit,
    TooLong,
}

impl fmt::Display for KeywordError {
    /// Dovecot's texts (`mailbox_keyword_is_valid`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeywordError::Empty => "Empty keywords not allowed",
            KeywordError::InvalidCharacters => "Invalid characters in keyword",
            KeywordError::EightBit => "8bit characters in keyword",
            KeywordError::TooLong => "Keyword length too long",
        })
    }
}

impl std::error::Error for KeywordError {}

/// Checks a keyword a mailbox does not have yet: atom characters only, at most
/// `max_length` bytes (`mail_max_keyword_length`). Existing keywords are never checked, so a
/// mailbox keeps working with names other software created.
pub fn check_new_keyword(name: &str, max_length: usize) -> Result<(), KeywordError> {
    if name.is_empty() {
        return Err(KeywordError::Empty);
    }
    if let Some(&bad) = name.as_bytes().iter().find(|&&c| !is_atom_char(c)) {
        return Err(if bad >= 0x80 {
            KeywordError::EightBit
        } else {
            KeywordError::InvalidCharacters
        });
    }
    if name.len() > max_length {
        return Err(KeywordError::TooLong);
    }
    Ok(())
}

/// Writes flags as IMAP lists them (without the parentheses): the system flags in
/// Dovecot's order, `\Recent` after them, then the keywords.
pub fn write_flags<'a>(
    out: &mut String,
    flags: MailFlags,
    recent: bool,
    keywords: impl IntoIterator<Item = &'a str>,
) {
    let system = flags.names().map(|name| -> &'a str { name });
    let words = system.chain(recent.then_some("\\Recent")).chain(keywords);
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(words: &[&str]) -> Vec<Arg> {
        words.iter().map(|w| Arg::Atom(w.to_string())).collect()
    }

    #[test]
    fn flag_lists_as_dovecot() {
        let list = parse_flags(&atoms(&["\\seen", "\\Draft", "foo", "NIL", "foo"])).unwrap();
        assert_eq!(list.system, MailFlags::SEEN | MailFlags::DRAFT);
        assert_eq!(list.keywords, ["foo", "NIL"]);
        assert_eq!(parse_flags(&[]).unwrap(), FlagList::default());
        let err = parse_flags(&atoms(&["\\Recent"])).unwrap_err();
        assert_eq!(err.to_string(), "Invalid system flag \\RECENT");
        let err = parse_flags(&atoms(&["\\*"])).unwrap_err();
        assert_eq!(err.to_string(), "Invalid system flag \\*");
        let err = parse_flags(&[Arg::Quoted(b"foo".to_vec())]).unwrap_err();
        assert_eq!(err.to_string(), "Flags list contains non-atoms.");
        assert_eq!(
            parse_flags(&[Arg::List(vec![])]).unwrap_err(),
            FlagError::NonAtom
        );
    }

    #[test]
    fn new_keywords() {
        assert_eq!(check_new_keyword("$Label1", 50), Ok(()));
        assert_eq!(check_new_keyword("NIL", 50), Ok(()));
        for bad in [
            "fo]o", "fo*o", "fo%o", "a\\b", "a b", "a\"b", "a(b", "a\x7fb",
        ] {
            assert_eq!(
                check_new_keyword(bad, 50),
                Err(KeywordError::InvalidCharacters),
                "{bad:?}"
            );
        }
        assert_eq!(check_new_keyword("ä", 50), Err(KeywordError::EightBit));
        assert_eq!(check_new_keyword("", 50), Err(KeywordError::Empty));
        let long = "k".repeat(51);
        assert_eq!(check_new_keyword(&long, 50), Err(KeywordError::TooLong));
        assert_eq!(check_new_keyword(&long, 51), Ok(()));
        assert_eq!(KeywordError::TooLong.to_string(), "Keyword length too long");
    }

    #[test]
    fn writing() {
        let mut out = String::new();
        write_flags(
            &mut out,
            MailFlags::DRAFT | MailFlags::ANSWERED,
            true,
            ["Junk"],
        );
        assert_eq!(out, "\\Answered \\Draft \\Recent Junk");
        out.clear();
        write_flags(&mut out, MailFlags::empty(), false, []);
        assert_eq!(out, "");
    }
}
