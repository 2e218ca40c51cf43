//! Property tests across the tokenizer and the typed commands: generated SEARCH programs and
//! FETCH item lists, written as a client writes them, read back to the same command.

use proptest::prelude::*;

use super::fetch::parse_fetch;
use super::search::{parse_search, DateField, SearchKey};
use super::{Arg, CommandParser, LineEnd, ParseContext, ParserLimits, Progress};
use crate::imap::seqset::{SequenceSet, SetArg};
use crate::mail::date::{format_imap_datetime, utc_timestamp};
use crate::mail::quote::append_quoted;
use crate::mail::search::{DateMatch, HeaderMatch};
use crate::storage::flags::MailFlags;

/// The arguments of `wire` (a whole command line without CRLF), literals supplied inline.
fn tokenize(wire: &[u8]) -> Vec<Arg> {
    let limits = ParserLimits {
        max_line: 1 << 20,
        max_token: 1 << 20,
        max_lists: 0,
        max_depth: 200,
        max_tag: 100,
        literal_minus: false,
    };
    let mut parser = CommandParser::new(limits);
    parser.start(wire, LineEnd::Complete).unwrap();
    match parser.args().unwrap() {
        Progress::Done(args) => args,
        Progress::Literal { .. } => panic!("no literals are written"),
    }
}

fn set_text(set: &SetArg) -> String {
    match set {
        SetArg::Set(set) => set.to_string(),
        SetArg::SavedResult => "$".to_string(),
    }
}

fn write_key(key: &SearchKey, out: &mut Vec<u8>) {
    let word = |out: &mut Vec<u8>, s: &str| {
        if !out.is_empty() && !out.ends_with(b"(") {
            out.push(b' ');
        }
        out.extend_from_slice(s.as_bytes());
    };
    let string = |out: &mut Vec<u8>, s: &str| {
        out.push(b' ');
        append_quoted(out, s.as_bytes());
    };
    match key {
        SearchKey::All => word(out, "ALL"),
        SearchKey::Sequence(set) => word(out, &set_text(set)),
        SearchKey::Uid(set) => word(out, &format!("UID {}", set_text(set))),
        SearchKey::Flag(flag, set) => {
            let name = match *flag {
                f if f == MailFlags::SEEN => "SEEN",
                f if f == MailFlags::ANSWERED => "ANSWERED",
                f if f == MailFlags::DELETED => "DELETED",
                f if f == MailFlags::DRAFT => "DRAFT",
                _ => "FLAGGED",
            };
            word(out, &format!("{}{name}", if *set { "" } else { "UN" }));
        }
        SearchKey::Recent(set) => word(out, if *set { "RECENT" } else { "OLD" }),
        SearchKey::Keyword(k, set) => {
            word(out, &format!("{}KEYWORD {k}", if *set { "" } else { "UN" }))
        }
        SearchKey::Date(field, how, day) => {
            let prefix = match field {
                DateField::Internal => "",
                DateField::Sent => "SENT",
                DateField::Saved => "SAVED",
            };
            let rel = match how {
                DateMatch::Before => "BEFORE",
                DateMatch::On => "ON",
                DateMatch::Since => "SINCE",
            };
            let date = format_imap_datetime(*day, 0);
            word(out, &format!("{prefix}{rel} {}", &date[..11]));
        }
        SearchKey::Larger(n) => word(out, &format!("LARGER {n}")),
        SearchKey::Smaller(n) => word(out, &format!("SMALLER {n}")),
        SearchKey::Header { field, value, how } => {
            if *how == HeaderMatch::Plain {
                word(out, "HEADER");
                string(out, field);
            } else {
                word(out, &field.to_ascii_uppercase());
            }
            string(out, value);
        }
        SearchKey::Body(s) => {
            word(out, "BODY");
            string(out, s);
        }
        SearchKey::Text(s) => {
            word(out, "TEXT");
            string(out, s);
        }
        SearchKey::Younger(n) => word(out, &format!("YOUNGER {n}")),
        SearchKey::Older(n) => word(out, &format!("OLDER {n}")),
        SearchKey::Modseq { modseq, .. } => word(out, &format!("MODSEQ {modseq}")),
        SearchKey::Not(k) => {
            word(out, "NOT");
            write_key(k, out);
        }
        SearchKey::Or(a, b) => {
            word(out, "OR");
            write_key(a, out);
            write_key(b, out);
        }
        SearchKey::And(keys) => {
            word(out, "(");
            for key in keys {
                write_key(key, out);
            }
            out.push(b')');
        }
        other => panic!("not generated: {other:?}"),
    }
}

fn arb_set() -> impl Strategy<Value = SetArg> {
    prop_oneof![
        Just(SetArg::SavedResult),
        proptest::collection::vec((1u32..50, 0u32..5), 1..4).prop_map(|ranges| {
            let text: Vec<String> = ranges
                .iter()
                .map(|(a, n)| format!("{a}:{}", a + n))
                .collect();
            SetArg::Set(SequenceSet::parse(text.join(",").as_bytes()).unwrap())
        }),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .@-]{0,12}"
}

fn arb_key() -> impl Strategy<Value = SearchKey> {
    let flag = prop_oneof![
        Just(MailFlags::SEEN),
        Just(MailFlags::ANSWERED),
        Just(MailFlags::DELETED),
        Just(MailFlags::DRAFT),
        Just(MailFlags::FLAGGED),
    ];
    let field = prop_oneof![
        Just(DateField::Internal),
        Just(DateField::Sent),
        Just(DateField::Saved)
    ];
    let how = prop_oneof![
        Just(DateMatch::Before),
        Just(DateMatch::On),
        Just(DateMatch::Since)
    ];
    let leaf = prop_oneof![
        Just(SearchKey::All),
        arb_set()
            .prop_filter("$ alone is the sequence key", |s| *s != SetArg::SavedResult)
            .prop_map(SearchKey::Sequence),
        arb_set().prop_map(SearchKey::Uid),
        (flag, any::<bool>()).prop_map(|(f, s)| SearchKey::Flag(f, s)),
        any::<bool>().prop_map(SearchKey::Recent),
        ("[a-z$][a-z0-9]{0,8}", any::<bool>()).prop_map(|(k, s)| SearchKey::Keyword(k, s)),
        (field, how, 0i64..20_000).prop_map(|(f, h, d)| {
            SearchKey::Date(f, h, utc_timestamp(1980, 0, 1, 0, 0, 0) + d * 86_400)
        }),
        any::<u64>().prop_map(SearchKey::Larger),
        any::<u64>().prop_map(SearchKey::Smaller),
        ("[A-Z][A-Z-]{0,10}", arb_text()).prop_map(|(field, value)| SearchKey::Header {
            field,
            value,
            how: HeaderMatch::Plain
        }),
        arb_text().prop_map(|value| SearchKey::Header {
            field: "Subject".into(),
            value,
            how: HeaderMatch::CompressWhitespace
        }),
        arb_text().prop_map(SearchKey::Body),
        arb_text().prop_map(SearchKey::Text),
        (1u32..u32::MAX).prop_map(SearchKey::Younger),
        (1u32..u32::MAX).prop_map(SearchKey::Older),
        any::<u64>().prop_map(|modseq| SearchKey::Modseq {
            entry: None,
            modseq
        }),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 1..4).prop_map(SearchKey::And),
        ]
    })
}

/// FETCH items with the wire text that asks for them.
fn arb_fetch_item() -> impl Strategy<Value = (String, String)> {
    let simple = prop_oneof![
        Just("FLAGS"),
        Just("UID"),
        Just("INTERNALDATE"),
        Just("RFC822.SIZE"),
        Just("ENVELOPE"),
        Just("BODYSTRUCTURE"),
        Just("BODY"),
        Just("RFC822"),
        Just("RFC822.HEADER"),
        Just("RFC822.TEXT"),
        Just("MODSEQ"),
    ]
    .prop_map(|n| (n.to_string(), n.to_string()));
    let part = proptest::collection::vec(1u32..9, 0..3);
    let text = prop_oneof![
        Just(String::new()),
        Just("HEADER".to_string()),
        Just("TEXT".to_string()),
        Just("HEADER.FIELDS (FROM TO)".to_string()),
        Just("HEADER.FIELDS.NOT (X-A)".to_string()),
    ];
    let partial = proptest::option::of((0u64..1000, proptest::option::of(0u64..1000)));
    let section = (part, text, partial, 0u8..3).prop_map(|(part, text, partial, kind)| {
        let mut spec = part
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".");
        if !text.is_empty() {
            if !spec.is_empty() {
                spec.push('.');
            }
            spec.push_str(&text);
        }
        let (prefix, reply_prefix) = match kind {
            0 => ("BODY.PEEK", "BODY"),
            1 => ("BODY", "BODY"),
            _ => ("BINARY.PEEK", "BINARY"),
        };
        let (wire_partial, reply_partial) = match partial {
            None => (String::new(), String::new()),
            Some((offset, None)) => (format!("<{offset}>"), format!("<{offset}>")),
            Some((offset, Some(size))) => (format!("<{offset}.{size}>"), format!("<{offset}>")),
        };
        (
            format!("{prefix}[{spec}]{wire_partial}"),
            format!("{reply_prefix}[{spec}]{reply_partial}"),
        )
    });
    prop_oneof![simple, section]
}

proptest! {
    /// A generated program, written as a client would, reads back to itself.
    #[test]
    fn search_programs_round_trip(keys in proptest::collection::vec(arb_key(), 1..4)) {
        let mut wire = b"t SEARCH CHARSET UTF-8 ".to_vec();
        let mut program = Vec::new();
        for key in &keys {
            write_key(key, &mut program);
        }
        wire.extend_from_slice(&program);
        let args = tokenize(&wire);
        let search = parse_search(&args, false).unwrap();
        prop_assert_eq!(search.program, keys);
    }

    /// FETCH item lists read back to the items asked for, named as the reply names them.
    #[test]
    fn fetch_items_round_trip(items in proptest::collection::vec(arb_fetch_item(), 1..6)) {
        let list: Vec<&str> = items.iter().map(|(wire, _)| wire.as_str()).collect();
        let wire = format!("t FETCH 1:* ({})", list.join(" "));
        let args = tokenize(wire.as_bytes());
        let ctx = ParseContext { selected: true, messages: 3, ..ParseContext::default() };
        let fetch = parse_fetch(&args, false, &ctx).unwrap();
        let mut expected: Vec<String> = Vec::new();
        for (_, name) in &items {
            let repeatable = name.contains('[');
            if repeatable || !expected.contains(name) {
                expected.push(name.clone());
            }
        }
        let got: Vec<String> = fetch.items.iter().map(|item| item.reply_name().into_owned()).collect();
        prop_assert_eq!(got, expected);
    }
}
