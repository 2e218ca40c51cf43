//! LIST and LSUB (RFC 3501, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC
//! 6154) and STATUS (with RFC 7162's HIGHESTMODSEQ and RFC 8438's SIZE).

use super::command::{atom, decode_name, list, CommandError, ParseContext};
use super::Arg;

/// A LIST or LSUB command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// LSUB.
    pub lsub: bool,
    /// The reference, decoded when it is valid (Dovecot uses an invalid one as sent).
    pub reference: String,
    /// One pattern, or several in LIST-EXTENDED's `(a b)` form.
    pub patterns: Vec<String>,
    pub selection: ListSelection,
    pub returns: ListReturn,
    /// Any LIST-EXTENDED syntax was used (selection or return options, a pattern list):
    /// answers then follow RFC 5258 (`\NonExistent`, CHILDINFO).
    pub extended: bool,
}

/// LIST-EXTENDED selection options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListSelection {
    pub subscribed: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

/// LIST-EXTENDED return options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// LIST-STATUS: a STATUS response for each selectable mailbox.
    pub status: Option<StatusItems>,
}

/// The items a STATUS asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusItems {
    pub messages: bool,
    pub recent: bool,
    pub uid_next: bool,
    pub uid_validity: bool,
    pub unseen: bool,
    /// IMAP4rev2's DELETED: messages with `\Deleted` (only after `ENABLE IMAP4rev2`).
    pub deleted: bool,
    pub highest_modseq: bool,
    pub size: bool,
    /// Dovecot's X-SIZE (same as SIZE).
    pub x_size: bool,
    /// Dovecot's X-GUID: the mailbox GUID.
    pub x_guid: bool,
}

/// `STATUS mailbox (items)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCommand {
    pub mailbox: String,
    pub items: StatusItems,
}

/// LIST or LSUB (Dovecot's `cmd_list_full`).
pub fn parse_list(args: &[Arg], lsub: bool, ctx: &ParseContext) -> Result<List, CommandError> {
    let mut args = args;
    let mut selection = ListSelection::default();
    let mut extended = false;
    if !lsub {
        if let Some(options) = list(args.first()) {
            extended = true;
            selection = parse_selection(options)?;
            args = &args[1..];
        }
    }
    let reference = args
        .first()
        .and_then(Arg::as_astring)
        .ok_or_else(|| CommandError::bad("Invalid reference."))?;
    let reference = ctx.names.decode_pattern(reference);
    let patterns = match list(args.get(1)) {
        Some(items) => {
            extended = true;
            items
                .iter()
                .map(|p| p.as_astring().map(|p| ctx.names.decode_pattern(p)))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| CommandError::bad("Invalid pattern list."))?
        }
        None => {
            let pattern = args
                .get(1)
                .and_then(Arg::as_astring)
                .ok_or_else(|| CommandError::bad("Invalid pattern."))?;
            vec![ctx.names.decode_pattern(pattern)]
        }
    };
    args = &args[2..];
    let mut returns = ListReturn::default();
    if atom(args.first()).is_some_and(|a| a.eq_ignore_ascii_case("RETURN")) {
        if let Some(options) = list(args.get(1)) {
            extended = true;
            returns = parse_return(options, ctx)?;
            args = &args[2..];
        }
    }
    if !args.is_empty() {
        return Err(CommandError::bad("Extra arguments."));
    }
    Ok(List {
        lsub,
        reference,
        patterns,
        selection,
        returns,
        extended,
    })
}

fn parse_selection(options: &[Arg]) -> Result<ListSelection, CommandError> {
    let mut selection = ListSelection::default();
    for option in options {
        let name = atom(Some(option))
            .ok_or_else(|| CommandError::bad("List options contains non-atoms."))?;
        match name.to_ascii_uppercase().as_str() {
            "SUBSCRIBED" => selection.subscribed = true,
            "RECURSIVEMATCH" => selection.recursive_match = true,
            "SPECIAL-USE" => selection.special_use = true,
            // RFC 5258's REMOTE: there are no remote mailboxes.
            "REMOTE" => {}
            _ => return Err(CommandError::bad("Unknown select options")),
        }
    }
    if selection.recursive_match && !selection.subscribed && !selection.special_use {
        return Err(CommandError::bad(
            "RECURSIVEMATCH must not be the only selection.",
        ));
    }
    Ok(selection)
}

fn parse_return(options: &[Arg], ctx: &ParseContext) -> Result<ListReturn, CommandError> {
    let mut returns = ListReturn::default();
    let mut i = 0;
    while i < options.len() {
        let name = atom(options.get(i))
            .ok_or_else(|| CommandError::bad("List options contains non-atoms."))?;
        match name.to_ascii_uppercase().as_str() {
            "SUBSCRIBED" => returns.subscribed = true,
            "CHILDREN" => returns.children = true,
            "SPECIAL-USE" => returns.special_use = true,
            "STATUS" if list(options.get(i + 1)).is_some() => {
                let items = list(options.get(i + 1)).unwrap_or_default();
                returns.status = Some(parse_status_items(items, ctx.rev2)?);
                i += 1;
            }
            _ => return Err(CommandError::bad("Unknown return options")),
        }
        i += 1;
    }
    Ok(returns)
}

/// `STATUS mailbox (items)`: the two arguments, the items, then the name.
pub fn parse_status(args: &[Arg], ctx: &ParseContext) -> Result<StatusCommand, CommandError> {
    if args.len() < 2 {
        return Err(CommandError::bad("Missing arguments"));
    }
    let (Some(mailbox), Some(items)) = (args[0].as_astring(), list(args.get(1))) else {
        return Err(CommandError::invalid_arguments());
    };
    let items = parse_status_items(items, ctx.rev2)?;
    Ok(StatusCommand {
        mailbox: decode_name(mailbox, ctx)?,
        items,
    })
}

/// The status item list (Dovecot's `imap_status_parse_items`). After `ENABLE IMAP4rev2`
/// (`rev2`) RECENT is refused and DELETED known (RFC 9051 §6.3.11; Appendix E items 3, 12).
pub fn parse_status_items(args: &[Arg], rev2: bool) -> Result<StatusItems, CommandError> {
    if args.is_empty() {
        return Err(CommandError::bad("Empty status list."));
    }
    let mut items = StatusItems::default();
    for arg in args {
        let name = atom(Some(arg))
            .ok_or_else(|| CommandError::bad("Status list contains non-atoms."))?
            .to_ascii_uppercase();
        match name.as_str() {
            "MESSAGES" => items.messages = true,
            "RECENT" if !rev2 => items.recent = true,
            "DELETED" if rev2 => items.deleted = true,
            "UIDNEXT" => items.uid_next = true,
            "UIDVALIDITY" => items.uid_validity = true,
            "UNSEEN" => items.unseen = true,
            "HIGHESTMODSEQ" => items.highest_modseq = true,
            "SIZE" => items.size = true,
            "X-SIZE" => items.x_size = true,
            "X-GUID" => items.x_guid = true,
            _ => return Err(CommandError::bad(format!("Invalid status item {name}"))),
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn q(s: &str) -> Arg {
        Arg::Quoted(s.as_bytes().to_vec())
    }

    fn l(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn bad(result: Result<List, CommandError>) -> String {
        match result {
            Err(CommandError::Bad(text)) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_forms() {
        let ctx = ParseContext::default();
        let basic = parse_list(&[q(""), a("*")], false, &ctx).unwrap();
        assert_eq!(basic.patterns, ["*"]);
        assert!(!basic.extended);
        let ext = parse_list(
            &[
                l(vec![a("subscribed"), a("RECURSIVEMATCH")]),
                a("Archive"),
                l(vec![a("INBOX"), q("Entw&APw-rfe")]),
                a("RETURN"),
                l(vec![a("CHILDREN"), a("STATUS"), l(vec![a("MESSAGES")])]),
            ],
            false,
            &ctx,
        )
        .unwrap();
        assert!(ext.extended && ext.selection.subscribed && ext.selection.recursive_match);
        assert_eq!(ext.patterns, ["INBOX", "Entwürfe"]);
        assert!(ext.returns.children && ext.returns.status.unwrap().messages);
        // An invalid mUTF-7 pattern is used as sent.
        let raw = parse_list(&[q(""), q("a&b")], false, &ctx).unwrap();
        assert_eq!(raw.patterns, ["a&b"]);
    }

    #[test]
    fn list_errors_as_dovecot() {
        let ctx = ParseContext::default();
        assert_eq!(bad(parse_list(&[], false, &ctx)), "Invalid reference.");
        assert_eq!(bad(parse_list(&[q("")], false, &ctx)), "Invalid pattern.");
        assert_eq!(
            bad(parse_list(&[q(""), a("*"), a("extra")], false, &ctx)),
            "Extra arguments."
        );
        assert_eq!(
            bad(parse_list(&[l(vec![a("FOO")]), q(""), a("*")], false, &ctx)),
            "Unknown select options"
        );
        assert_eq!(
            bad(parse_list(&[l(vec![a("x")]), a("*")], false, &ctx)),
            "Unknown select options"
        );
        assert_eq!(
            bad(parse_list(
                &[l(vec![a("RECURSIVEMATCH")]), q(""), a("*")],
                false,
                &ctx
            )),
            "RECURSIVEMATCH must not be the only selection."
        );
        assert_eq!(
            bad(parse_list(
                &[q(""), a("*"), a("RETURN"), l(vec![a("FOO")])],
                false,
                &ctx
            )),
            "Unknown return options"
        );
        assert_eq!(
            bad(parse_list(
                &[
                    q(""),
                    a("%"),
                    a("RETURN"),
                    l(vec![a("STATUS"), l(vec![a("FOO")])])
                ],
                false,
                &ctx
            )),
            "Invalid status item FOO"
        );
        assert_eq!(
            bad(parse_list(
                &[q(""), l(vec![a("INBOX"), l(vec![])])],
                false,
                &ctx
            )),
            "Invalid pattern list."
        );
        // LSUB takes no selection options.
        assert_eq!(
            bad(parse_list(
                &[l(vec![a("SUBSCRIBED")]), q(""), a("*")],
                true,
                &ctx
            )),
            "Invalid reference."
        );
    }

    #[test]
    fn status_as_dovecot() {
        let ctx = ParseContext::default();
        let status = parse_status(&[a("INBOX"), l(vec![a("messages"), a("SIZE")])], &ctx).unwrap();
        assert!(status.items.messages && status.items.size && !status.items.unseen);
        let err = |args: &[Arg]| match parse_status(args, &ctx) {
            Err(e) => e.to_string(),
            Ok(s) => panic!("{s:?}"),
        };
        assert_eq!(err(&[]), "BAD Missing arguments");
        assert_eq!(err(&[a("INBOX"), a("MESSAGES")]), "BAD Invalid arguments.");
        assert_eq!(err(&[a("INBOX"), l(vec![])]), "BAD Empty status list.");
        assert_eq!(
            err(&[a("INBOX"), l(vec![a("FOO")])]),
            "BAD Invalid status item FOO"
        );
        assert_eq!(
            err(&[a("INBOX"), l(vec![q("MESSAGES")])]),
            "BAD Status list contains non-atoms."
        );
        // Items are checked before the name.
        assert_eq!(
            err(&[q("&AGE-"), l(vec![a("MESSAGES")])]),
            "NO Mailbox name is not valid mUTF-7"
        );
        // IMAP4rev1 has no DELETED (Dovecot 2.3's text for an unknown item).
        assert_eq!(
            err(&[a("INBOX"), l(vec![a("DELETED")])]),
            "BAD Invalid status item DELETED"
        );
    }

    /// After `ENABLE IMAP4rev2`: DELETED is an item, RECENT is not (RFC 9051 §6.3.11),
    /// names are UTF-8, in STATUS and in LIST's RETURN (STATUS) alike.
    #[test]
    fn status_under_imap4rev2() {
        let ctx = ParseContext {
            rev2: true,
            names: crate::imap::mailbox_name::NameEncoding::Utf8,
            ..ParseContext::default()
        };
        let status = parse_status(
            &[q("Entwürfe"), l(vec![a("deleted"), a("SIZE"), a("UNSEEN")])],
            &ctx,
        )
        .unwrap();
        assert_eq!(status.mailbox, "Entwürfe");
        assert!(status.items.deleted && status.items.size && status.items.unseen);
        assert!(!status.items.recent);
        assert_eq!(
            parse_status(&[a("INBOX"), l(vec![a("RECENT")])], &ctx).map_err(|e| e.to_string()),
            Err("BAD Invalid status item RECENT".to_string())
        );
        let listed = parse_list(
            &[
                q(""),
                a("*"),
                a("RETURN"),
                l(vec![a("STATUS"), l(vec![a("DELETED")])]),
            ],
            false,
            &ctx,
        )
        .unwrap();
        assert!(listed.returns.status.is_some_and(|s| s.deleted));
        let rev1 = ParseContext::default();
        assert!(parse_list(
            &[
                q(""),
                a("*"),
                a("RETURN"),
                l(vec![a("STATUS"), l(vec![a("DELETED")])])
            ],
            false,
            &rev1,
        )
        .is_err());
    }
}
