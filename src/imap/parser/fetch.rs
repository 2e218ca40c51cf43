//! FETCH: message data items, the ALL/FAST/FULL macros, `BODY[section]<partial>`, BINARY
//! (RFC 3516), PREVIEW (RFC 8970) and the CHANGEDSINCE/VANISHED modifiers (RFC 7162).
//!
//! Item names are read as Dovecot reads them: the name is upper-cased, its leading run of
//! letters, digits and `-` picks the item, and only some items look at what follows (so
//! `FLAGS.FOO` is FLAGS, but `RFC822.FOO` is an error).

use std::borrow::Cow;

use super::command::{atom, list, parse_set_arg, CommandError, ParseContext};
use super::Arg;
use crate::imap::seqset::SetArg;
use crate::mail::Section;

/// `FETCH set items [(modifiers)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub set: SetArg,
    pub uid: bool,
    /// In the order asked, duplicates of the same item removed. `UID FETCH` starts with UID,
    /// CHANGEDSINCE adds MODSEQ.
    pub items: Vec<FetchItem>,
    pub changed_since: Option<u64>,
    /// `VANISHED` (QRESYNC): expunged UIDs of the set are reported as `* VANISHED (EARLIER)`.
    pub vanished: bool,
}

impl Fetch {
    /// Whether fetching sets `\Seen` (BODY[...], BINARY[...], RFC822, RFC822.TEXT).
    pub fn sets_seen(&self) -> bool {
        self.items.iter().any(FetchItem::sets_seen)
    }

    /// Whether FLAGS was asked for (otherwise FLAGS is sent only where `\Seen` was set).
    pub fn has_flags(&self) -> bool {
        self.items.contains(&FetchItem::Flags)
    }
}

/// One message data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Flags,
    InternalDate,
    Rfc822Size,
    Uid,
    Modseq,
    SaveDate,
    /// Dovecot's X-GUID.
    XGuid,
    /// Dovecot's X-MAILBOX (virtual mailboxes).
    XMailbox,
    XRealUid,
    XSaveDate,
    /// PREVIEW (RFC 8970) or Dovecot's older SNIPPET.
    Preview(Preview),
    Envelope,
    /// BODY without a section.
    Body,
    BodyStructure,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    /// `BODY[section]<partial>` and `BODY.PEEK[...]`.
    BodySection(SectionItem),
    /// `BINARY[section]<partial>` and `BINARY.PEEK[...]`.
    Binary(SectionItem),
    /// `BINARY.SIZE[section]`.
    BinarySize(SectionItem),
}

/// A section item: what to send and the name to send it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionItem {
    pub section: Section,
    /// `.PEEK`: do not set `\Seen`.
    pub peek: bool,
    /// What goes between the brackets in the reply (`HEADER.FIELDS ("FROM" SUBJECT)`).
    pub spec: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Preview {
    /// `(LAZY)`: only a cached preview, NIL otherwise.
    pub lazy: bool,
    /// Written as Dovecot's pre-RFC 8970 form: `SNIPPET`/`PREVIEW (FUZZY "...")`.
    pub fuzzy_form: bool,
    /// The reply item is SNIPPET.
    pub snippet: bool,
}

impl FetchItem {
    /// Items Dovecot writes before the others, whatever the order asked (its "buffered"
    /// handlers: short values that need no message body).
    pub fn is_early(&self) -> bool {
        matches!(
            self,
            FetchItem::Flags
                | FetchItem::InternalDate
                | FetchItem::Rfc822Size
                | FetchItem::Uid
                | FetchItem::Modseq
                | FetchItem::SaveDate
                | FetchItem::XGuid
                | FetchItem::XMailbox
                | FetchItem::XRealUid
                | FetchItem::XSaveDate
                | FetchItem::Preview(_)
        )
    }

    pub fn sets_seen(&self) -> bool {
        match self {
            FetchItem::Rfc822 | FetchItem::Rfc822Text => true,
            FetchItem::BodySection(item) | FetchItem::Binary(item) => !item.peek,
            _ => false,
        }
    }

    /// The item's name in the reply (`BODY[1]<0>`, `RFC822.SIZE`).
    pub fn reply_name(&self) -> Cow<'static, str> {
        let section = |prefix: &str, item: &SectionItem, partial: bool| {
            let mut name = format!("{prefix}[{}]", item.spec);
            if let (true, Some((offset, _))) = (partial, item.section.partial) {
                name.push_str(&format!("<{offset}>"));
            }
            Cow::Owned(name)
        };
        match self {
            FetchItem::Flags => "FLAGS".into(),
            FetchItem::InternalDate => "INTERNALDATE".into(),
            FetchItem::Rfc822Size => "RFC822.SIZE".into(),
            FetchItem::Uid => "UID".into(),
            FetchItem::Modseq => "MODSEQ".into(),
            FetchItem::SaveDate => "SAVEDATE".into(),
            FetchItem::XGuid => "X-GUID".into(),
            FetchItem::XMailbox => "X-MAILBOX".into(),
            FetchItem::XRealUid => "X-REAL-UID".into(),
            FetchItem::XSaveDate => "X-SAVEDATE".into(),
            FetchItem::Preview(p) if p.snippet => "SNIPPET".into(),
            FetchItem::Preview(_) => "PREVIEW".into(),
            FetchItem::Envelope => "ENVELOPE".into(),
            FetchItem::Body => "BODY".into(),
            FetchItem::BodyStructure => "BODYSTRUCTURE".into(),
            FetchItem::Rfc822 => "RFC822".into(),
            FetchItem::Rfc822Header => "RFC822.HEADER".into(),
            FetchItem::Rfc822Text => "RFC822.TEXT".into(),
            FetchItem::BodySection(item) => section("BODY", item, true),
            FetchItem::Binary(item) => section("BINARY", item, true),
            FetchItem::BinarySize(item) => section("BINARY.SIZE", item, false),
        }
    }
}

/// FETCH's arguments (Dovecot's `cmd_fetch`).
pub fn parse_fetch(args: &[Arg], uid: bool, ctx: &ParseContext) -> Result<Fetch, CommandError> {
    // Like Dovecot: what follows a list of items, or the modifiers, is not looked at.
    let shape_ok = matches!(args.get(1), Some(Arg::List(_) | Arg::Atom(_)))
        && matches!(args.get(2), None | Some(Arg::List(_)));
    let set = match atom(args.first()) {
        Some(set) if shape_ok => set,
        _ => return Err(CommandError::invalid_arguments()),
    };
    let set = parse_set_arg(set.as_bytes(), uid, ctx)?;
    let mut items = ItemList::default();
    if uid {
        items.push(FetchItem::Uid);
    }
    let modifiers_at = match &args[1] {
        Arg::Atom(name) => {
            let name = name.to_ascii_uppercase();
            let macro_items: &[&str] = match name.as_str() {
                "ALL" => &["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
                "FAST" => &["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
                "FULL" => &["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
                _ => &[],
            };
            for name in macro_items {
                parse_item(name, &[], ctx, &mut items)?;
            }
            // A lone section item may take the arguments after it (`BODY[HEADER.FIELDS`,
            // `(FROM)`, `]`), as in Dovecot.
            let used = if macro_items.is_empty() {
                parse_item(&name, &args[2..], ctx, &mut items)?
            } else {
                0
            };
            2 + used
        }
        Arg::List(list_items) => {
            if list_items.is_empty() {
                return Err(CommandError::bad("FETCH list is empty."));
            }
            let mut rest = &list_items[..];
            while let Some(Arg::Atom(name)) = rest.first() {
                let name = name.to_ascii_uppercase();
                let used = parse_item(&name, &rest[1..], ctx, &mut items)?;
                rest = &rest[1 + used..];
            }
            if !rest.is_empty() {
                return Err(CommandError::bad("FETCH list contains non-atoms."));
            }
            2
        }
        _ => return Err(CommandError::invalid_arguments()),
    };
    let mut fetch = Fetch {
        set,
        uid,
        items: items.0,
        changed_since: None,
        vanished: false,
    };
    if let Some(modifiers) = list(args.get(modifiers_at)) {
        parse_modifiers(modifiers, ctx, &mut fetch)?;
    }
    Ok(fetch)
}

/// A fetch-att list outside FETCH (SEARCH RETURN (UPDATE (...)), Dovecot's
/// `imap_fetch_att_list_parse`): atoms, each an item as FETCH reads it (no macros), UID
/// only when asked. The error is Dovecot's text.
pub fn parse_fetch_att_list(list: &[Arg], ctx: &ParseContext) -> Result<Vec<FetchItem>, String> {
    let mut items = ItemList::default();
    let mut rest = list;
    while let Some(Arg::Atom(name)) = rest.first() {
        let name = name.to_ascii_uppercase();
        let used = parse_item(&name, &rest[1..], ctx, &mut items).map_err(|e| {
            let text = match e {
                CommandError::Bad(text) | CommandError::Reply { text, .. } => text,
            };
            format!("Invalid fetch-att list: {text}")
        })?;
        rest = &rest[1 + used..];
    }
    if !rest.is_empty() {
        return Err("fetch-att list contains non-atoms.".to_string());
    }
    Ok(items.0)
}

/// Items in order without duplicates (Dovecot drops a second handler for the same item;
/// sections may repeat).
#[derive(Default)]
struct ItemList(Vec<FetchItem>);

impl ItemList {
    fn push(&mut self, item: FetchItem) {
        let repeatable = matches!(
            item,
            FetchItem::BodySection(_)
                | FetchItem::Binary(_)
                | FetchItem::BinarySize(_)
                | FetchItem::Preview(_)
        );
        if repeatable || !self.0.contains(&item) {
            self.0.push(item);
        }
    }
}

/// One item named `name` (upper case); `following` are the arguments after it in a list.
/// Returns how many of them the item used (a header list and `]...` for sections, PREVIEW's
/// modifier list).
fn parse_item(
    name: &str,
    following: &[Arg],
    ctx: &ParseContext,
    items: &mut ItemList,
) -> Result<usize, CommandError> {
    let key_len = name
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    let rest = &name[key_len..];
    let item = match &name[..key_len] {
        "FLAGS" => FetchItem::Flags,
        "INTERNALDATE" => FetchItem::InternalDate,
        "UID" => FetchItem::Uid,
        "MODSEQ" => {
            if ctx.nonpermanent_modseqs {
                return Err(CommandError::bad(
                    "FETCH MODSEQ can't be used with non-permanent modseqs",
                ));
            }
            FetchItem::Modseq
        }
        "SAVEDATE" => FetchItem::SaveDate,
        "X-GUID" => FetchItem::XGuid,
        "X-MAILBOX" => FetchItem::XMailbox,
        "X-REAL-UID" => FetchItem::XRealUid,
        "X-SAVEDATE" => FetchItem::XSaveDate,
        "ENVELOPE" => FetchItem::Envelope,
        "BODYSTRUCTURE" => FetchItem::BodyStructure,
        "PREVIEW" | "SNIPPET" => {
            let snippet = &name[..key_len] == "SNIPPET";
            let (preview, used) = parse_preview(following, snippet)?;
            items.push(FetchItem::Preview(preview));
            return Ok(used);
        }
        "RFC822" => match rest {
            "" => FetchItem::Rfc822,
            ".SIZE" => FetchItem::Rfc822Size,
            ".HEADER" => FetchItem::Rfc822Header,
            ".TEXT" => FetchItem::Rfc822Text,
            _ => return Err(CommandError::bad(format!("Unknown parameter {name}"))),
        },
        "BODY" if rest.is_empty() => FetchItem::Body,
        "BODY" => {
            let (section, used) = parse_section(rest, following, Kind::Body)?;
            items.push(FetchItem::BodySection(section));
            return Ok(used);
        }
        "BINARY" => {
            let (kind, rest) = match rest.strip_prefix(".SIZE") {
                Some(rest) => (Kind::BinarySize, rest),
                None => (Kind::Binary, rest),
            };
            let (section, used) = parse_section(rest, following, kind)?;
            items.push(match kind {
                Kind::BinarySize => FetchItem::BinarySize(section),
                _ => FetchItem::Binary(section),
            });
            return Ok(used);
        }
        _ => return Err(CommandError::bad(format!("Unknown parameter: {name}"))),
    };
    items.push(item);
    Ok(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Body,
    Binary,
    BinarySize,
}

/// `[.PEEK][section]<partial>` after BODY or BINARY, `[section]` after BINARY.SIZE (whose
/// partial Dovecot ignores). `following` may start with HEADER.FIELDS' list and the atom
/// `]...` that closes it.
fn parse_section(
    name_rest: &str,
    following: &[Arg],
    kind: Kind,
) -> Result<(SectionItem, usize), CommandError> {
    let label = if kind == Kind::Body { "BODY" } else { "BINARY" };
    let param_error =
        |text: &str| CommandError::bad(format!("Invalid {label}[..] parameter: {text}"));
    let mut rest = name_rest;
    let mut peek = false;
    if kind != Kind::BinarySize {
        if let Some(after) = rest.strip_prefix(".PEEK") {
            peek = true;
            rest = after;
        }
    }
    let Some(rest) = rest.strip_prefix('[') else {
        return Err(param_error("Missing '['"));
    };
    let (spec, after_bracket, used) = match list(following.first()) {
        Some(names) => {
            let closing = match atom(following.get(1)) {
                Some(closing) if closing.starts_with(']') => closing,
                _ => return Err(param_error("Missing ']'")),
            };
            let mut spec = format!("{rest} (");
            for (i, header) in names.iter().enumerate() {
                let value = header
                    .as_astring()
                    .ok_or_else(|| param_error("Header list contains non-strings"))?;
                if i > 0 {
                    spec.push(' ');
                }
                let upper = String::from_utf8_lossy(value).to_ascii_uppercase();
                if matches!(header, Arg::Atom(_)) {
                    spec.push_str(&upper);
                } else {
                    let mut quoted = Vec::new();
                    crate::mail::quote::append_quoted(&mut quoted, upper.as_bytes());
                    spec.push_str(&String::from_utf8_lossy(&quoted));
                }
            }
            spec.push(')');
            (spec, closing[1..].to_string(), 2)
        }
        None => {
            let Some(end) = rest.find(']') else {
                return Err(param_error("Missing ']'"));
            };
            (rest[..end].to_string(), rest[end + 1..].to_string(), 0)
        }
    };
    let mut section = Section::parse(spec.as_bytes(), b"")
        .map_err(|_| CommandError::bad(format!("Invalid {label}[..] section")))?;
    if kind != Kind::BinarySize {
        section.partial = parse_partial(&after_bracket).map_err(param_error)?;
    }
    Ok((
        SectionItem {
            section,
            peek,
            spec,
        },
        used,
    ))
}

/// `<offset[.size]>` after the closing bracket (Dovecot's `body_parse_partial`).
fn parse_partial(s: &str) -> Result<Option<(u64, Option<u64>)>, &'static str> {
    if s.is_empty() {
        return Ok(None);
    }
    let Some(s) = s.strip_prefix('<') else {
        return Err("Unexpected data after ']'");
    };
    let (offset, s) = read_number(s).ok_or("Too big partial start")?;
    let (size, s) = match s.strip_prefix('.') {
        Some(tail) => {
            let (size, tail) = read_number(tail).ok_or("Too big partial end")?;
            (Some(size), tail)
        }
        None => (None, s),
    };
    let Some(s) = s.strip_prefix('>') else {
        return Err("Missing '>' in partial");
    };
    if !s.is_empty() {
        return Err("Unexpected data after '>'");
    }
    Ok(Some((offset, size)))
}

/// Leading digits as a number up to `i64::MAX` (an offset must fit `off_t`).
fn read_number(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits].parse().ok()?;
    (n <= i64::MAX as u64).then_some((n, &s[digits..]))
}

/// PREVIEW's optional `(LAZY)`-style list (Dovecot's `fetch_preview_init`).
///
/// Deliberate difference: Dovecot skips as many following items as the list has modifiers;
/// cote skips just the list.
fn parse_preview(following: &[Arg], snippet: bool) -> Result<(Preview, usize), CommandError> {
    let mut preview = Preview {
        lazy: false,
        fuzzy_form: snippet,
        snippet,
    };
    let Some(modifiers) = list(following.first()) else {
        return Ok((preview, 0));
    };
    for modifier in modifiers {
        let name =
            atom(Some(modifier)).ok_or_else(|| CommandError::bad("Invalid PREVIEW modifier"))?;
        match name.to_ascii_uppercase().as_str() {
            "LAZY" => preview.lazy = true,
            "LAZY=FUZZY" => {
                preview.lazy = true;
                preview.fuzzy_form = true;
            }
            "FUZZY" => preview.fuzzy_form = true,
            _ => {
                return Err(CommandError::bad(format!(
                    "'{name}' is not a supported PREVIEW modifier"
                )))
            }
        }
    }
    Ok((preview, 1))
}

/// `(CHANGEDSINCE n VANISHED)`.
fn parse_modifiers(
    args: &[Arg],
    ctx: &ParseContext,
    fetch: &mut Fetch,
) -> Result<(), CommandError> {
    let mut i = 0;
    while i < args.len() {
        let name = atom(args.get(i))
            .ok_or_else(|| CommandError::bad("FETCH modifiers contain non-atoms."))?
            .to_ascii_uppercase();
        i += 1;
        match name.as_str() {
            "CHANGEDSINCE" => {
                if ctx.nonpermanent_modseqs {
                    return Err(CommandError::bad(
                        "FETCH CHANGEDSINCE can't be used with non-permanent modseqs",
                    ));
                }
                let modseq = atom(args.get(i))
                    .and_then(super::select::number::<u64>)
                    .ok_or_else(|| CommandError::bad("Invalid CHANGEDSINCE modseq."))?;
                i += 1;
                fetch.changed_since = Some(modseq);
                if !fetch.items.contains(&FetchItem::Modseq) {
                    fetch.items.push(FetchItem::Modseq);
                }
            }
            "VANISHED" if fetch.uid => {
                if !ctx.qresync {
                    return Err(CommandError::bad("QRESYNC not enabled"));
                }
                fetch.vanished = true;
            }
            _ => return Err(CommandError::bad("Unknown FETCH modifier")),
        }
    }
    if fetch.vanished && fetch.changed_since.is_none() {
        return Err(CommandError::bad("VANISHED used without CHANGEDSINCE"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::SectionText;

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

    fn fetch(args: &[Arg]) -> Result<Fetch, CommandError> {
        parse_fetch(args, false, &ctx())
    }

    fn names(args: &[Arg]) -> Vec<String> {
        fetch(args)
            .unwrap()
            .items
            .iter()
            .map(|item| item.reply_name().into_owned())
            .collect()
    }

    fn bad(args: &[Arg]) -> String {
        match fetch(args) {
            Err(CommandError::Bad(text)) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn items_and_macros() {
        assert_eq!(
            names(&[a("1"), a("all")]),
            ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]
        );
        assert_eq!(names(&[a("1"), a("FULL")]).last().unwrap(), "BODY");
        assert_eq!(
            names(&[
                a("1"),
                l(vec![a("flags"), a("FLAGS"), a("uid"), a("rfc822.size")])
            ]),
            ["FLAGS", "UID", "RFC822.SIZE"]
        );
        // Dovecot picks the item by its leading name.
        assert_eq!(names(&[a("1"), a("FLAGS.FOO")]), ["FLAGS"]);
        assert_eq!(names(&[a("1"), a("UID[]")]), ["UID"]);
        // A section item without parentheses takes its header list from the arguments.
        assert_eq!(
            names(&[a("1"), a("BODY[HEADER.FIELDS"), l(vec![a("FROM")]), a("]")]),
            ["BODY[HEADER.FIELDS (FROM)]"]
        );
        let uid_fetch = parse_fetch(&[a("1"), l(vec![a("FLAGS")])], true, &ctx()).unwrap();
        assert_eq!(uid_fetch.items, [FetchItem::Uid, FetchItem::Flags]);
    }

    #[test]
    fn sections() {
        let f = fetch(&[
            a("1"),
            l(vec![
                a("BODY.PEEK[HEADER.FIELDS"),
                l(vec![Arg::Quoted(b"from".to_vec()), a("subject")]),
                a("]<0.10>"),
                a("BODY[1.MIME]"),
                a("BINARY.SIZE[2]<0.1>"),
                a("binary[]"),
            ]),
        ])
        .unwrap();
        assert_eq!(f.items.len(), 4);
        let FetchItem::BodySection(item) = &f.items[0] else {
            panic!()
        };
        assert!(item.peek);
        assert_eq!(item.spec, "HEADER.FIELDS (\"FROM\" SUBJECT)");
        assert_eq!(
            item.section.text,
            SectionText::HeaderFields(vec![b"FROM".to_vec(), b"SUBJECT".to_vec()])
        );
        assert_eq!(item.section.partial, Some((0, Some(10))));
        assert_eq!(
            f.items[0].reply_name(),
            "BODY[HEADER.FIELDS (\"FROM\" SUBJECT)]<0>"
        );
        assert_eq!(f.items[1].reply_name(), "BODY[1.MIME]");
        assert_eq!(f.items[2].reply_name(), "BINARY.SIZE[2]");
        assert_eq!(f.items[3].reply_name(), "BINARY[]");
        assert!(f.sets_seen() && !f.has_flags());
    }

    #[test]
    fn errors_as_dovecot() {
        let cases: Vec<(Vec<Arg>, &str)> = vec![
            (vec![a("1")], "Invalid arguments."),
            (vec![], "Invalid arguments."),
            (
                vec![a("1"), Arg::Quoted(b"FLAGS".to_vec())],
                "Invalid arguments.",
            ),
            (
                vec![Arg::Quoted(b"1".to_vec()), a("FLAGS")],
                "Invalid arguments.",
            ),
            (vec![a("1"), a("FLAGS"), a("UID")], "Invalid arguments."),
            (vec![a("1"), l(vec![])], "FETCH list is empty."),
            (vec![a("1"), a("FOO")], "Unknown parameter: FOO"),
            (vec![a("1"), l(vec![a("ALL")])], "Unknown parameter: ALL"),
            (vec![a("1"), a("BODYX")], "Unknown parameter: BODYX"),
            (
                vec![a("1"), a("RFC822.FOO")],
                "Unknown parameter RFC822.FOO",
            ),
            (
                vec![a("1"), l(vec![a("FLAGS"), Arg::Quoted(b"UID".to_vec())])],
                "FETCH list contains non-atoms.",
            ),
            (
                vec![a("1"), l(vec![l(vec![a("FLAGS")])])],
                "FETCH list contains non-atoms.",
            ),
            (vec![a("1:x"), a("FLAGS")], "Invalid messageset"),
            (vec![a("6"), a("FLAGS")], "Invalid messageset"),
            (
                vec![a("1"), a("BODY.PEEK[HEADER.FIELDS]")],
                "Invalid BODY[..] section",
            ),
            (
                vec![
                    a("1"),
                    l(vec![a("BODY.PEEK[HEADER.FIELDS"), l(vec![]), a("]")]),
                ],
                "Invalid BODY[..] section",
            ),
            (
                vec![
                    a("1"),
                    l(vec![
                        a("BODY.PEEK[HEADER.FIELDS"),
                        l(vec![l(vec![a("FROM")])]),
                        a("]"),
                    ]),
                ],
                "Invalid BODY[..] parameter: Header list contains non-strings",
            ),
            (
                vec![
                    a("1"),
                    l(vec![a("BODY.PEEK[HEADER.FIELDS"), l(vec![a("FROM")])]),
                ],
                "Invalid BODY[..] parameter: Missing ']'",
            ),
            (
                vec![
                    a("1"),
                    l(vec![
                        a("BODY.PEEK[HEADER.FIELDS"),
                        l(vec![a("FROM")]),
                        a("]x"),
                    ]),
                ],
                "Invalid BODY[..] parameter: Unexpected data after ']'",
            ),
            (
                vec![a("1"), a("BODY.PEEK[FOO]")],
                "Invalid BODY[..] section",
            ),
            (
                vec![a("1"), a("BODY.PEEK[MIME]")],
                "Invalid BODY[..] section",
            ),
            (
                vec![a("1"), a("BODY.PEEK[HEADER")],
                "Invalid BODY[..] parameter: Missing ']'",
            ),
            (
                vec![a("1"), a("BODY.PEEKHEADER]")],
                "Invalid BODY[..] parameter: Missing '['",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]<0.10")],
                "Invalid BODY[..] parameter: Missing '>' in partial",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]<0.10>x")],
                "Invalid BODY[..] parameter: Unexpected data after '>'",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]<x>")],
                "Invalid BODY[..] parameter: Too big partial start",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]<99999999999999999999>")],
                "Invalid BODY[..] parameter: Too big partial start",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]<1.x>")],
                "Invalid BODY[..] parameter: Too big partial end",
            ),
            (
                vec![a("1"), a("BODY.PEEK[]x")],
                "Invalid BODY[..] parameter: Unexpected data after ']'",
            ),
            (
                vec![a("1"), l(vec![a("BODY[]"), l(vec![a("FOO")])])],
                "Invalid BODY[..] parameter: Missing ']'",
            ),
            (
                vec![a("1"), a("BINARY.PEEK")],
                "Invalid BINARY[..] parameter: Missing '['",
            ),
            (
                vec![a("1"), l(vec![a("PREVIEW"), l(vec![a("FOO")])])],
                "'FOO' is not a supported PREVIEW modifier",
            ),
            (
                vec![a("1"), a("FLAGS"), l(vec![a("FOO"), a("1")])],
                "Unknown FETCH modifier",
            ),
            (
                vec![a("1"), a("FLAGS"), l(vec![a("CHANGEDSINCE"), a("x")])],
                "Invalid CHANGEDSINCE modseq.",
            ),
            (
                vec![a("1"), a("FLAGS"), l(vec![a("CHANGEDSINCE")])],
                "Invalid CHANGEDSINCE modseq.",
            ),
            (
                vec![a("1"), a("FLAGS"), l(vec![a("VANISHED")])],
                "Unknown FETCH modifier",
            ),
            (
                vec![
                    a("1"),
                    a("FLAGS"),
                    l(vec![Arg::Quoted(b"CHANGEDSINCE".to_vec()), a("1")]),
                ],
                "FETCH modifiers contain non-atoms.",
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(bad(&args), expected, "{args:?}");
        }
    }

    /// SEARCH RETURN (UPDATE (...))'s list, with Dovecot's texts.
    #[test]
    fn fetch_att_lists() {
        let items =
            parse_fetch_att_list(&[a("uid"), a("FLAGS"), a("BODY.PEEK[HEADER]")], &ctx()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], FetchItem::Uid);
        assert!(parse_fetch_att_list(&[], &ctx()).unwrap().is_empty());
        assert_eq!(
            parse_fetch_att_list(&[a("FOO")], &ctx()).unwrap_err(),
            "Invalid fetch-att list: Unknown parameter: FOO"
        );
        assert_eq!(
            parse_fetch_att_list(&[a("ALL")], &ctx()).unwrap_err(),
            "Invalid fetch-att list: Unknown parameter: ALL"
        );
        assert_eq!(
            parse_fetch_att_list(&[a("FLAGS"), l(vec![])], &ctx()).unwrap_err(),
            "fetch-att list contains non-atoms."
        );
    }

    #[test]
    fn modifiers() {
        let f = fetch(&[a("1:2"), a("FLAGS"), l(vec![a("changedsince"), a("7")])]).unwrap();
        assert_eq!(f.changed_since, Some(7));
        assert_eq!(f.items, [FetchItem::Flags, FetchItem::Modseq]);
        let uid = |qresync: bool, mods: Vec<Arg>| {
            let ctx = ParseContext { qresync, ..ctx() };
            parse_fetch(&[a("1"), a("FLAGS"), l(mods)], true, &ctx)
        };
        assert_eq!(
            uid(false, vec![a("VANISHED")]),
            Err(CommandError::bad("QRESYNC not enabled"))
        );
        assert_eq!(
            uid(true, vec![a("VANISHED")]),
            Err(CommandError::bad("VANISHED used without CHANGEDSINCE"))
        );
        assert!(
            uid(true, vec![a("CHANGEDSINCE"), a("1"), a("VANISHED")])
                .unwrap()
                .vanished
        );
    }
}
