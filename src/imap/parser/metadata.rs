//! GETMETADATA and SETMETADATA (RFC 5464) arguments, with Dovecot 2.3's checks and texts
//! (`cmd-getmetadata.c`, `cmd-setmetadata.c`, `imap_metadata_verify_entry_name`). Entry
//! names are case-insensitive: they are kept lowercased, as Dovecot stores them.

use super::command::{decode_name, CommandError, ParseContext};
use super::Arg;

/// GETMETADATA's DEPTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

/// GETMETADATA's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMetadata {
    /// MAXSIZE (`u32::MAX` when not given, as Dovecot).
    pub max_size: u32,
    pub depth: Depth,
    /// UTF-8; empty for the server's entries; may hold `*` and `%` (mailboxes matching).
    pub mailbox: String,
    /// Lowercased entry names, checked.
    pub entries: Vec<Vec<u8>>,
}

/// Dovecot's `imap_metadata_verify_entry_name`.
pub fn verify_entry_name(name: &[u8]) -> Result<(), &'static str> {
    if name.first() != Some(&b'/') {
        return Err("Entry name must begin with '/'");
    }
    for (i, &c) in name.iter().enumerate() {
        match c {
            b'/' => {
                if i > 0 && name[i - 1] == b'/' {
                    return Err("Entry name can't contain consecutive '/'");
                }
                if i + 1 == name.len() {
                    return Err("Entry name can't end with '/'");
                }
            }
            b'*' => return Err("Entry name can't contain '*'"),
            b'%' => return Err("Entry name can't contain '%'"),
            c if c <= 0x19 => return Err("Entry name can't contain control chars"),
            _ => {}
        }
    }
    let first = match name[1..].iter().position(|&c| c == b'/') {
        Some(end) => &name[..end + 1],
        None => name,
    };
    if first.eq_ignore_ascii_case(b"/private") || first.eq_ignore_ascii_case(b"/shared") {
        Ok(())
    } else {
        Err("Entry name must begin with /private or /shared")
    }
}

fn parse_options(options: &[Arg], get: &mut GetMetadata) -> Result<(), CommandError> {
    let mut it = options.iter();
    while let Some(option) = it.next() {
        let atom = |arg: Option<&Arg>| match arg {
            Some(Arg::Atom(a)) => Some(a.clone()),
            _ => None,
        };
        match option {
            Arg::Atom(a) if a.eq_ignore_ascii_case("MAXSIZE") => {
                let value = atom(it.next())
                    .filter(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|v| v.parse::<u32>().ok());
                get.max_size =
                    value.ok_or_else(|| CommandError::bad("Invalid value for MAXSIZE option"))?;
            }
            Arg::Atom(a) if a.eq_ignore_ascii_case("DEPTH") => {
                get.depth = match atom(it.next()).as_deref() {
                    Some("0") => Depth::Zero,
                    Some("1") => Depth::One,
                    Some("infinity") => Depth::Infinity,
                    _ => return Err(CommandError::bad("Invalid value for DEPTH option")),
                };
            }
            _ => return Err(CommandError::bad("Unknown option")),
        }
    }
    Ok(())
}

/// `GETMETADATA [(options)] mailbox (entries)|entry`.
pub fn parse_getmetadata(args: &[Arg], ctx: &ParseContext) -> Result<GetMetadata, CommandError> {
    let mut get = GetMetadata {
        max_size: u32::MAX,
        depth: Depth::Zero,
        mailbox: String::new(),
        entries: Vec::new(),
    };
    let mut args = args;
    if let Some(Arg::List(options)) = args.first() {
        parse_options(options, &mut get)?;
        args = &args[1..];
    }
    let mailbox = args
        .first()
        .and_then(Arg::as_astring)
        .ok_or_else(CommandError::invalid_arguments)?;
    let entries: &[Arg] = match args.get(1) {
        Some(Arg::List(entries)) => entries,
        Some(entry) if entry.as_astring().is_some() && args.len() == 2 => &args[1..2],
        _ => return Err(CommandError::invalid_arguments()),
    };
    for entry in entries {
        let name = entry
            .as_astring()
            .ok_or_else(|| CommandError::bad("Entry isn't astring"))?;
        verify_entry_name(name).map_err(CommandError::bad)?;
        get.entries.push(name.to_ascii_lowercase());
    }
    if !mailbox.is_empty() {
        get.mailbox = decode_name(mailbox, ctx)?;
    }
    Ok(get)
}

/// One SETMETADATA entry: its lowercased name and new value (`None`: NIL, remove it).
pub type SetEntry = (Vec<u8>, Option<Vec<u8>>);

/// SETMETADATA's entry-value pairs (the list's items), checked in order as Dovecot reads
/// them: the first wrong one is the answer.
pub fn parse_setmetadata_entries(items: &[Arg]) -> Result<Vec<SetEntry>, CommandError> {
    let mut out = Vec::new();
    let mut it = items.iter();
    while let Some(name) = it.next() {
        let name = name
            .as_astring()
            .ok_or_else(|| CommandError::bad("Entry name isn't astring"))?;
        let value = match it.next() {
            None => return Err(CommandError::bad("Entry value missing")),
            Some(Arg::List(_)) => return Err(CommandError::bad("Entry value can't be a list")),
            // Dovecot takes atoms as values too, though the RFC does not.
            Some(value) if value.is_nil() => None,
            Some(Arg::Atom(a)) => Some(a.as_bytes().to_vec()),
            Some(Arg::Quoted(v) | Arg::Literal(v)) => Some(v.clone()),
        };
        verify_entry_name(name).map_err(CommandError::bad)?;
        out.push((name.to_ascii_lowercase(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::default()
    }

    fn atom(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn bad(e: CommandError) -> String {
        match e {
            CommandError::Bad(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn entry_names_as_dovecot() {
        assert!(verify_entry_name(b"/private").is_ok());
        assert!(verify_entry_name(b"/SHARED/vendor/x").is_ok());
        for (name, err) in [
            (&b"foo"[..], "Entry name must begin with '/'"),
            (b"", "Entry name must begin with '/'"),
            (b"/private/", "Entry name can't end with '/'"),
            (b"/private//x", "Entry name can't contain consecutive '/'"),
            (b"/private/a*", "Entry name can't contain '*'"),
            (b"/private/a%", "Entry name can't contain '%'"),
            (b"/private/a\x19", "Entry name can't contain control chars"),
            (
                b"/privatex",
                "Entry name must begin with /private or /shared",
            ),
            (b"/foo", "Entry name must begin with /private or /shared"),
            (b"/", "Entry name can't end with '/'"),
        ] {
            assert_eq!(verify_entry_name(name), Err(err), "{name:?}");
        }
    }

    #[test]
    fn getmetadata_forms() {
        let g = parse_getmetadata(
            &[
                Arg::List(vec![
                    atom("MAXSIZE"),
                    atom("10"),
                    atom("depth"),
                    atom("infinity"),
                ]),
                atom("INBOX"),
                Arg::List(vec![
                    atom("/Private/Comment"),
                    Arg::Quoted(b"/shared".to_vec()),
                ]),
            ],
            &ctx(),
        )
        .unwrap();
        assert_eq!(g.max_size, 10);
        assert_eq!(g.depth, Depth::Infinity);
        assert_eq!(g.mailbox, "INBOX");
        assert_eq!(
            g.entries,
            [b"/private/comment".to_vec(), b"/shared".to_vec()]
        );
        let g = parse_getmetadata(&[Arg::Quoted(Vec::new()), atom("/shared/x")], &ctx()).unwrap();
        assert_eq!((g.mailbox.as_str(), g.max_size), ("", u32::MAX));
        let err = |args: &[Arg]| bad(parse_getmetadata(args, &ctx()).unwrap_err());
        assert_eq!(err(&[]), "Invalid arguments.");
        assert_eq!(err(&[atom("INBOX")]), "Invalid arguments.");
        assert_eq!(
            err(&[atom("INBOX"), atom("/shared/x"), atom("more")]),
            "Invalid arguments."
        );
        assert_eq!(
            err(&[
                Arg::List(vec![atom("DEPTH"), atom("2")]),
                atom("INBOX"),
                atom("/shared")
            ]),
            "Invalid value for DEPTH option"
        );
        assert_eq!(
            err(&[
                Arg::List(vec![atom("MAXSIZE"), atom("-1")]),
                atom("I"),
                atom("/shared")
            ]),
            "Invalid value for MAXSIZE option"
        );
        assert_eq!(
            err(&[Arg::List(vec![atom("FOO")]), atom("INBOX"), atom("/shared")]),
            "Unknown option"
        );
        assert_eq!(
            err(&[atom("INBOX"), Arg::List(vec![Arg::List(vec![])])]),
            "Entry isn't astring"
        );
    }

    proptest::proptest! {
        /// Any bytes as entry names and any atoms as options: an answer, never a panic;
        /// a name that passes is lowercased and keeps its /private or /shared root.
        #[test]
        fn any_arguments(
            name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            option in "[A-Za-z0-9]{0,12}",
            value in "[a-z0-9-]{0,12}",
        ) {
            let _ = verify_entry_name(&name);
            let args = [
                Arg::List(vec![atom(&option), atom(&value)]),
                atom("INBOX"),
                Arg::Literal(name.clone()),
            ];
            if let Ok(get) = parse_getmetadata(&args, &ctx()) {
                let entry = &get.entries[0];
                proptest::prop_assert!(entry.starts_with(b"/private") || entry.starts_with(b"/shared"));
            }
            let _ = parse_setmetadata_entries(&[Arg::Literal(name), Arg::Literal(value.into_bytes())]);
        }
    }

    #[test]
    fn setmetadata_pairs() {
        let pairs = parse_setmetadata_entries(&[
            atom("/Private/A"),
            Arg::Literal(b"x\0y".to_vec()),
            atom("/shared/b"),
            atom("nil"),
            atom("/shared/c"),
            atom("word"),
        ])
        .unwrap();
        assert_eq!(
            pairs,
            [
                (b"/private/a".to_vec(), Some(b"x\0y".to_vec())),
                (b"/shared/b".to_vec(), None),
                (b"/shared/c".to_vec(), Some(b"word".to_vec())),
            ]
        );
        let err = |args: &[Arg]| bad(parse_setmetadata_entries(args).unwrap_err());
        assert_eq!(err(&[atom("/private/x")]), "Entry value missing");
        assert_eq!(
            err(&[atom("/private/x"), Arg::List(vec![])]),
            "Entry value can't be a list"
        );
        assert_eq!(
            err(&[Arg::List(vec![]), atom("v")]),
            "Entry name isn't astring"
        );
        assert_eq!(
            err(&[atom("/foo"), atom("v")]),
            "Entry name must begin with /private or /shared"
        );
    }
}
