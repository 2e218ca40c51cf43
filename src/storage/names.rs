//! Mailbox names: the user's name (UTF-8, namespace separator) ↔ the storage name (modified
//! UTF-7, the layout's separator), and the checks that keep a name from escaping the mail root.
//!
//! The rules and messages are Dovecot 2.3's (`mailbox_verify_name()`,
//! `mailbox_verify_create_name()`, `mailbox_list_is_valid_name()`). Names here are relative to
//! their namespace: the namespace layer strips its prefix first.

use std::fmt;

use super::mutf7;

/// Dovecot's `MAILBOX_LIST_NAME_MAX_LENGTH` (PATH_MAX on Linux): the longest new mailbox name.
pub const NAME_MAX_LENGTH: usize = 4096;
/// Dovecot's `MAILBOX_MAX_HIERARCHY_NAME_LENGTH`: the longest level of a new storage name.
pub const LEVEL_MAX_LENGTH: usize = 255;

/// How names map onto one mailbox list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRules {
    /// The namespace's hierarchy separator, as clients see it.
    pub ns_sep: char,
    /// The layout's separator on disk: `.` for Maildir++, `/` for `LAYOUT=fs`.
    pub list_sep: char,
    /// Whether this namespace holds the user's INBOX (`inbox = yes`): `inbox` in any case
    /// then means INBOX.
    pub has_inbox: bool,
    /// Whether the namespace has a prefix (an empty name then means its root).
    pub has_prefix: bool,
    /// `DIRNAME=`: a per-mailbox subdirectory name, reserved as a level name.
    pub dirname: Option<String>,
    /// Whether `cur`, `new` and `tmp` are reserved level names (Maildir with `LAYOUT=fs` and no
    /// `DIRNAME=`, where a folder of that name would collide with the mail directories).
    pub reserve_maildir_dirs: bool,
}

impl NameRules {
    /// The rules of a Maildir++ list (`.` on disk) under a namespace separator.
    pub fn maildir_plus_plus(ns_sep: char) -> NameRules {
        NameRules {
            ns_sep,
            list_sep: '.',
            has_inbox: true,
            has_prefix: false,
            dirname: None,
            reserve_maildir_dirs: false,
        }
    }

    /// The rules of a `LAYOUT=fs` Maildir list (`/` on disk).
    pub fn maildir_fs(ns_sep: char, dirname: Option<String>) -> NameRules {
        NameRules {
            ns_sep,
            list_sep: '/',
            has_inbox: true,
            has_prefix: false,
            reserve_maildir_dirs: dirname.is_none(),
            dirname,
        }
    }
}

/// Why a name was refused. Displays as Dovecot's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    BeginsWithSeparator,
    CharacterNotAllowed(char),
    AdjacentSeparators,
    EndsWithSeparator,
    Empty,
    HasSlash,
    BeginsWithSlash,
    BeginsWithTilde,
    AdjacentSlashes,
    DotPart,
    DotDotPart,
    ReservedName,
    ControlCharacters,
    TooLong,
    /// A storage name (from disk) that is not valid modified UTF-7.
    NotMutf7(mutf7::Mutf7Error),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let invalid =
            |f: &mut fmt::Formatter<'_>, why: &str| write!(f, "Invalid mailbox name: {why}");
        match self {
            NameError::BeginsWithSeparator => invalid(f, "Begins with hierarchy separator"),
            NameError::CharacterNotAllowed(c) => {
                write!(f, "Character not allowed in mailbox name: '{c}'")
            }
            NameError::AdjacentSeparators => invalid(f, "Has adjacent hierarchy separators"),
            NameError::EndsWithSeparator => invalid(f, "Ends with hierarchy separator"),
            NameError::Empty => invalid(f, "Name is empty"),
            NameError::HasSlash => invalid(f, "Name must not have '/' characters"),
            NameError::BeginsWithSlash => invalid(f, "Begins with '/'"),
            NameError::BeginsWithTilde => invalid(f, "Begins with '~'"),
            NameError::AdjacentSlashes => invalid(f, "Has adjacent '/' chars"),
            NameError::DotPart => invalid(f, "Contains '.' part"),
            NameError::DotDotPart => invalid(f, "Contains '..' part"),
            NameError::ReservedName => invalid(f, "Contains reserved name"),
            NameError::ControlCharacters => {
                f.write_str("Control characters not allowed in new mailbox names")
            }
            NameError::TooLong => f.write_str("Mailbox name too long"),
            NameError::NotMutf7(e) => write!(f, "Mailbox name on disk is not valid: {e}"),
        }
    }
}

impl std::error::Error for NameError {}

/// Whether `name` is the user's INBOX under `rules` (case-insensitively, as Dovecot).
pub fn is_inbox(rules: &NameRules, name: &str) -> bool {
    rules.has_inbox && name.eq_ignore_ascii_case("INBOX")
}

/// Checks a name for opening, deleting, renaming or subscribing (Dovecot's
/// `mailbox_verify_name`) and returns its storage name.
pub fn storage_name(rules: &NameRules, vname: &str) -> Result<String, NameError> {
    if is_inbox(rules, vname) {
        return Ok("INBOX".to_string());
    }
    if vname.starts_with(rules.ns_sep) {
        return Err(NameError::BeginsWithSeparator);
    }
    if rules.ns_sep != rules.list_sep && vname.contains(rules.list_sep) {
        return Err(NameError::CharacterNotAllowed(rules.list_sep));
    }
    check_separators(vname, rules.ns_sep)?;
    let storage = to_storage_name(rules, vname);
    check_fs_name(rules, &storage)?;
    Ok(storage)
}

/// Checks a name for CREATE (Dovecot's `mailbox_verify_create_name`): everything
/// [`storage_name`] checks, plus no control characters and Dovecot's length limits.
pub fn storage_name_for_create(rules: &NameRules, vname: &str) -> Result<String, NameError> {
    let storage = storage_name(rules, vname)?;
    if is_inbox(rules, vname) {
        return Ok(storage);
    }
    if vname.chars().any(|c| (c as u32) < 0x20) {
        return Err(NameError::ControlCharacters);
    }
    if vname.len() > NAME_MAX_LENGTH {
        return Err(NameError::TooLong);
    }
    if storage
        .split(rules.list_sep)
        .any(|level| level.len() > LEVEL_MAX_LENGTH)
    {
        return Err(NameError::TooLong);
    }
    Ok(storage)
}

/// A storage name (from disk or the subscriptions file) → the user's name.
pub fn vname(rules: &NameRules, storage: &[u8]) -> Result<String, NameError> {
    if storage == b"INBOX" && rules.has_inbox {
        return Ok("INBOX".to_string());
    }
    let mut out = String::with_capacity(storage.len());
    for (i, level) in storage
        .split(|&c| c as u32 == rules.list_sep as u32)
        .enumerate()
    {
        if i > 0 {
            out.push(rules.ns_sep);
        }
        out.push_str(&mutf7::decode(level).map_err(NameError::NotMutf7)?);
    }
    Ok(out)
}

/// Each level encoded in modified UTF-7, joined with the layout's separator.
fn to_storage_name(rules: &NameRules, vname: &str) -> String {
    let mut out = String::with_capacity(vname.len());
    for (i, level) in vname.split(rules.ns_sep).enumerate() {
        if i > 0 {
            out.push(rules.list_sep);
        }
        out.push_str(&mutf7::encode(level));
    }
    out
}

fn check_separators(vname: &str, sep: char) -> Result<(), NameError> {
    let mut prev_sep = false;
    for c in vname.chars() {
        if c == sep {
            if prev_sep {
                return Err(NameError::AdjacentSeparators);
            }
            prev_sep = true;
        } else {
            prev_sep = false;
        }
    }
    if prev_sep {
        return Err(NameError::EndsWithSeparator);
    }
    Ok(())
}

/// Dovecot's `mailbox_list_is_valid_fs_name()` on the storage name: nothing that leaves the
/// root or names a Maildir's own directories.
fn check_fs_name(rules: &NameRules, storage: &str) -> Result<(), NameError> {
    if storage.is_empty() {
        return if rules.has_prefix {
            Ok(())
        } else {
            Err(NameError::Empty)
        };
    }
    if rules.list_sep != '/' && storage.contains('/') {
        return Err(NameError::HasSlash);
    }
    if storage.starts_with('/') {
        return Err(NameError::BeginsWithSlash);
    }
    if storage.starts_with('~') {
        return Err(NameError::BeginsWithTilde);
    }
    for level in storage.split('/') {
        match level {
            "" => return Err(NameError::AdjacentSlashes),
            "." => return Err(NameError::DotPart),
            ".." => return Err(NameError::DotDotPart),
            _ => {}
        }
        if rules.dirname.as_deref() == Some(level) {
            return Err(NameError::ReservedName);
        }
        if rules.reserve_maildir_dirs && matches!(level, "cur" | "new" | "tmp") {
            return Err(NameError::ReservedName);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn maildir_plus_plus_names() {
        let slash = NameRules::maildir_plus_plus('/');
        assert_eq!(storage_name(&slash, "inbox").unwrap(), "INBOX");
        assert_eq!(
            storage_name(&slash, "Archive/2024").unwrap(),
            "Archive.2024"
        );
        assert_eq!(storage_name(&slash, "Entwürfe").unwrap(), "Entw&APw-rfe");
        assert_eq!(
            storage_name(&slash, "a.b"),
            Err(NameError::CharacterNotAllowed('.'))
        );
        assert_eq!(
            storage_name(&slash, "/etc"),
            Err(NameError::BeginsWithSeparator)
        );
        assert_eq!(
            storage_name(&slash, "a//b"),
            Err(NameError::AdjacentSeparators)
        );
        assert_eq!(
            storage_name(&slash, "a/"),
            Err(NameError::EndsWithSeparator)
        );
        assert_eq!(storage_name(&slash, ""), Err(NameError::Empty));
        assert_eq!(
            storage_name(&slash, "~root"),
            Err(NameError::BeginsWithTilde)
        );
        // '.' parts cannot appear: '.' is refused first
        assert_eq!(
            storage_name(&slash, ".."),
            Err(NameError::CharacterNotAllowed('.'))
        );

        let dot = NameRules::maildir_plus_plus('.');
        assert_eq!(storage_name(&dot, "Archive.2024").unwrap(), "Archive.2024");
        assert_eq!(storage_name(&dot, "a/b"), Err(NameError::HasSlash));
        assert_eq!(
            storage_name(&dot, ".."),
            Err(NameError::BeginsWithSeparator)
        );
        assert_eq!(
            storage_name(&dot, "a..b"),
            Err(NameError::AdjacentSeparators)
        );
        // Maildir++ has no reserved level names: ".cur" is a folder like any other
        assert_eq!(storage_name(&dot, "cur").unwrap(), "cur");
        assert_eq!(vname(&slash, b"Archive.2024").unwrap(), "Archive/2024");
        assert_eq!(vname(&slash, b"Entw&APw-rfe").unwrap(), "Entwürfe");
        assert!(matches!(
            vname(&slash, b"bad&AGE-"),
            Err(NameError::NotMutf7(_))
        ));
    }

    #[test]
    fn fs_layout_names() {
        let fs = NameRules::maildir_fs('/', None);
        assert_eq!(storage_name(&fs, "a/b").unwrap(), "a/b");
        assert_eq!(storage_name(&fs, "a/../b"), Err(NameError::DotDotPart));
        assert_eq!(storage_name(&fs, "a/./b"), Err(NameError::DotPart));
        assert_eq!(storage_name(&fs, "a/cur"), Err(NameError::ReservedName));
        assert_eq!(storage_name(&fs, "new"), Err(NameError::ReservedName));
        let fs_dirname = NameRules::maildir_fs('/', Some("Maildir".into()));
        assert_eq!(storage_name(&fs_dirname, "a/cur").unwrap(), "a/cur");
        assert_eq!(
            storage_name(&fs_dirname, "x/Maildir"),
            Err(NameError::ReservedName)
        );
        let fs_dot = NameRules::maildir_fs('.', None);
        // with '.' as the namespace separator, '/' is the layout's and is refused
        assert_eq!(
            storage_name(&fs_dot, "a/b"),
            Err(NameError::CharacterNotAllowed('/'))
        );
        assert_eq!(storage_name(&fs_dot, "a.b").unwrap(), "a/b");
    }

    #[test]
    fn create_limits() {
        let r = NameRules::maildir_plus_plus('/');
        assert_eq!(
            storage_name_for_create(&r, "a\x01b"),
            Err(NameError::ControlCharacters)
        );
        assert!(storage_name(&r, "a\x01b").is_ok());
        let level = "x".repeat(LEVEL_MAX_LENGTH);
        assert!(storage_name_for_create(&r, &level).is_ok());
        assert_eq!(
            storage_name_for_create(&r, &format!("{level}x")),
            Err(NameError::TooLong)
        );
        // the level limit applies to the encoded name
        let umlauts = "ü".repeat(100);
        assert!(mutf7::encode(&umlauts).len() > LEVEL_MAX_LENGTH);
        assert_eq!(
            storage_name_for_create(&r, &umlauts),
            Err(NameError::TooLong)
        );
        let long = vec!["y".repeat(200); 21].join("/");
        assert!(long.len() > NAME_MAX_LENGTH);
        assert_eq!(storage_name_for_create(&r, &long), Err(NameError::TooLong));
        assert_eq!(
            NameError::DotDotPart.to_string(),
            "Invalid mailbox name: Contains '..' part"
        );
    }

    proptest! {
        /// Whatever is accepted maps to a storage name that stays inside the root and maps
        /// back to the same name.
        #[test]
        fn accepted_names_stay_inside(name in "[a-zA-Z0-9./~ &ü\\x01-]{0,20}", sep in prop::sample::select(vec!['/', '.'])) {
            for rules in [NameRules::maildir_plus_plus(sep), NameRules::maildir_fs(sep, None)] {
                if let Ok(storage) = storage_name(&rules, &name) {
                    prop_assert!(!storage.starts_with('/'));
                    prop_assert!(!storage.split('/').any(|l| l == ".." || l == "." || l.is_empty()));
                    if rules.list_sep == '.' {
                        prop_assert!(!storage.contains('/'));
                    }
                    if storage != "INBOX" {
                        prop_assert_eq!(vname(&rules, storage.as_bytes()).unwrap(), name.clone());
                    }
                }
            }
        }
    }
}
