//! STORE: `+FLAGS`, `-FLAGS`, `FLAGS`, `.SILENT`, and CONDSTORE's `(UNCHANGEDSINCE n)`.

use super::command::{atom, list, parse_set_arg, CommandError, ParseContext};
use super::select::number;
use super::Arg;
use crate::imap::flags::{parse_flags, FlagList};
use crate::imap::seqset::SetArg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub set: SetArg,
    pub uid: bool,
    pub mode: StoreMode,
    /// `.SILENT`: no untagged FETCH for the change itself.
    pub silent: bool,
    pub flags: FlagList,
    /// `UNCHANGEDSINCE` (RFC 7162).
    pub unchanged_since: Option<u64>,
}

/// Dovecot's `cmd_store` order: the set, modifiers, the item name, the flags.
pub fn parse_store(args: &[Arg], uid: bool, ctx: &ParseContext) -> Result<Store, CommandError> {
    let set = atom(args.first()).ok_or_else(CommandError::invalid_arguments)?;
    let set = parse_set_arg(set.as_bytes(), uid, ctx)?;
    let mut rest = &args[1..];
    let mut unchanged_since = None;
    if let Some(modifiers) = list(rest.first()) {
        unchanged_since = parse_modifiers(modifiers, ctx)?;
        rest = &rest[1..];
    }
    let item = rest
        .first()
        .and_then(Arg::as_astring)
        .ok_or_else(CommandError::invalid_arguments)?;
    let (mode, silent) = store_item(item).ok_or_else(CommandError::invalid_arguments)?;
    rest = &rest[1..];
    // `(flags)`, or the flags as the remaining arguments.
    let flags = match list(rest.first()) {
        Some(items) => parse_flags(items),
        None => parse_flags(rest),
    }
    .map_err(|e| CommandError::bad(e.to_string()))?;
    Ok(Store {
        set,
        uid,
        mode,
        silent,
        flags,
        unchanged_since,
    })
}

/// `[+-]FLAGS[.SILENT]`, any case.
fn store_item(item: &[u8]) -> Option<(StoreMode, bool)> {
    let (mode, rest) = match item.first() {
        Some(b'+') => (StoreMode::Add, &item[1..]),
        Some(b'-') => (StoreMode::Remove, &item[1..]),
        _ => (StoreMode::Replace, item),
    };
    if rest.eq_ignore_ascii_case(b"FLAGS") {
        Some((mode, false))
    } else if rest.eq_ignore_ascii_case(b"FLAGS.SILENT") {
        Some((mode, true))
    } else {
        None
    }
}

fn parse_modifiers(args: &[Arg], ctx: &ParseContext) -> Result<Option<u64>, CommandError> {
    let mut unchanged_since = None;
    for pair in args.chunks(2) {
        let (Some(name), Some(value)) = (atom(pair.first()), atom(pair.get(1))) else {
            return Err(CommandError::bad("Invalid STORE modifiers."));
        };
        if !name.eq_ignore_ascii_case("UNCHANGEDSINCE") {
            return Err(CommandError::bad("Unknown STORE modifier"));
        }
        if ctx.nonpermanent_modseqs {
            return Err(CommandError::bad(
                "STORE UNCHANGEDSINCE can't be used with non-permanent modseqs",
            ));
        }
        unchanged_since =
            Some(number::<u64>(value).ok_or_else(|| CommandError::bad("Invalid modseq"))?);
    }
    Ok(unchanged_since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::flags::MailFlags;

    fn a(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn l(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn ctx() -> ParseContext {
        ParseContext {
            selected: true,
            messages: 5,
            ..ParseContext::default()
        }
    }

    fn bad(args: &[Arg]) -> String {
        match parse_store(args, false, &ctx()) {
            Err(CommandError::Bad(text)) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forms() {
        let s = parse_store(
            &[a("1"), a("+flags.silent"), l(vec![a("\\Seen"), a("kw")])],
            false,
            &ctx(),
        )
        .unwrap();
        assert_eq!((s.mode, s.silent), (StoreMode::Add, true));
        assert_eq!(s.flags.system, MailFlags::SEEN);
        assert_eq!(s.flags.keywords, ["kw"]);
        let s = parse_store(
            &[a("1"), a("FLAGS"), a("\\Seen"), a("\\Draft")],
            false,
            &ctx(),
        )
        .unwrap();
        assert_eq!(s.mode, StoreMode::Replace);
        assert_eq!(s.flags.system, MailFlags::SEEN | MailFlags::DRAFT);
        // No flags at all is an empty change, as in Dovecot.
        let s = parse_store(&[a("1"), a("+FLAGS")], false, &ctx()).unwrap();
        assert_eq!(s.flags, FlagList::default());
        let s = parse_store(
            &[
                a("1"),
                l(vec![a("UNCHANGEDSINCE"), a("5")]),
                a("-FLAGS"),
                l(vec![]),
            ],
            false,
            &ctx(),
        )
        .unwrap();
        assert_eq!((s.mode, s.unchanged_since), (StoreMode::Remove, Some(5)));
        // Modifiers after the flags are ignored.
        assert!(parse_store(
            &[a("1"), a("+FLAGS"), l(vec![]), l(vec![a("X"), a("1")])],
            false,
            &ctx()
        )
        .is_ok());
    }

    #[test]
    fn errors_as_dovecot() {
        assert_eq!(bad(&[]), "Invalid arguments.");
        assert_eq!(bad(&[a("1")]), "Invalid arguments.");
        assert_eq!(bad(&[a("1"), a("FOO"), l(vec![])]), "Invalid arguments.");
        assert_eq!(
            bad(&[a("1"), a("+FLAGS.NOISY"), l(vec![])]),
            "Invalid arguments."
        );
        assert_eq!(bad(&[a("9"), a("+FLAGS"), l(vec![])]), "Invalid messageset");
        assert_eq!(
            bad(&[a("1"), a("+FLAGS"), l(vec![a("\\Recent")])]),
            "Invalid system flag \\RECENT"
        );
        assert_eq!(
            bad(&[a("1"), a("+FLAGS"), l(vec![Arg::Quoted(b"x".to_vec())])]),
            "Flags list contains non-atoms."
        );
        assert_eq!(
            bad(&[a("1"), l(vec![a("UNCHANGEDSINCE")]), a("+FLAGS")]),
            "Invalid STORE modifiers."
        );
        assert_eq!(
            bad(&[a("1"), l(vec![a("FOO"), a("1")]), a("+FLAGS")]),
            "Unknown STORE modifier"
        );
        assert_eq!(
            bad(&[a("1"), l(vec![a("UNCHANGEDSINCE"), a("x")]), a("+FLAGS")]),
            "Invalid modseq"
        );
    }
}
