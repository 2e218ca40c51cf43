//! NOTIFY (RFC 5465): `NOTIFY NONE` and `NOTIFY SET [STATUS] (filter events) ...`, read as
//! Dovecot 2.3's `cmd_notify` reads them (its checks, its error texts, its limit of mailbox
//! names per filter).

use super::command::{decode_name, CommandError, ParseContext};
use super::fetch::{parse_fetch_att_list, FetchItem};
use super::Arg;

/// Dovecot's `IMAP_NOTIFY_MAX_NAMES_PER_NS`: more mailbox names in one filter answer
/// `NO [NOTIFICATIONOVERFLOW]`.
pub const MAX_NAMES_PER_FILTER: usize = 100;

/// A set of NOTIFY events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Events(u8);

impl Events {
    pub const MESSAGE_NEW: Events = Events(1);
    pub const MESSAGE_EXPUNGE: Events = Events(1 << 1);
    pub const FLAG_CHANGE: Events = Events(1 << 2);
    pub const ANNOTATION_CHANGE: Events = Events(1 << 3);
    pub const MAILBOX_NAME: Events = Events(1 << 4);
    pub const SUBSCRIPTION_CHANGE: Events = Events(1 << 5);
    pub const MAILBOX_METADATA_CHANGE: Events = Events(1 << 6);
    pub const SERVER_METADATA_CHANGE: Events = Events(1 << 7);
    /// The events Dovecot 2.3 refuses with `[BADEVENT]`.
    pub const UNSUPPORTED: Events = Events(
        Self::ANNOTATION_CHANGE.0
            | Self::MAILBOX_METADATA_CHANGE.0
            | Self::SERVER_METADATA_CHANGE.0,
    );
    /// The events about messages (STATUS is sent for mailboxes wanting any of them).
    pub const MESSAGE_EVENTS: Events = Events(
        Self::MESSAGE_NEW.0
            | Self::MESSAGE_EXPUNGE.0
            | Self::FLAG_CHANGE.0
            | Self::ANNOTATION_CHANGE.0,
    );

    /// The names, in Dovecot's (and RFC 5465's) order.
    const NAMES: [&'static str; 8] = [
        "MessageNew",
        "MessageExpunge",
        "FlagChange",
        "AnnotationChange",
        "MailboxName",
        "SubscriptionChange",
        "MailboxMetadataChange",
        "ServerMetadataChange",
    ];

    fn lookup(name: &str) -> Option<Events> {
        Self::NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .map(|i| Events(1 << i))
    }

    pub fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, other: Events) {
        self.0 |= other.0;
    }

    pub fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }

    pub fn intersection(self, other: Events) -> Events {
        Events(self.0 & other.0)
    }

    /// The events' names, in order (for `[BADEVENT ...]`).
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Which mailboxes an event group is about. INBOXES is PERSONAL, as in Dovecot ("we can't
/// currently know inboxes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Personal,
    Subscribed,
    /// These mailboxes and everything below them.
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

/// One event group of non-selected mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroup {
    pub filter: Filter,
    pub events: Events,
}

/// The events of the selected mailbox (`SELECTED` or `SELECTED-DELAYED`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectedEvents {
    /// SELECTED-DELAYED: expunges wait for a command that allows them.
    pub delayed: bool,
    /// Empty for `NONE`.
    pub events: Events,
    /// MessageNew's fetch-att list: new messages are sent with these.
    pub fetch: Option<Vec<FetchItem>>,
}

/// `NOTIFY SET`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifySet {
    /// `STATUS`: STATUS of every matching mailbox before the tagged OK.
    pub status: bool,
    pub selected: Option<SelectedEvents>,
    /// Groups with events (those with `NONE` are left out, as Dovecot ignores them).
    pub groups: Vec<EventGroup>,
}

impl NotifySet {
    /// Every event asked for (the selected mailbox's included).
    pub fn used_events(&self) -> Events {
        let mut used = self.selected.as_ref().map(|s| s.events).unwrap_or_default();
        for group in &self.groups {
            used.insert(group.events);
        }
        used
    }

    /// The most mailbox names one filter kind with one event set holds, after duplicates
    /// and subtrees inside others are dropped (Dovecot's `global_max_mailbox_names`);
    /// `sep`: the hierarchy separator.
    pub fn max_names(&self, sep: char) -> usize {
        let mut buckets: Vec<(bool, Events, Vec<&str>)> = Vec::new();
        for group in &self.groups {
            let (subtree, names) = match &group.filter {
                Filter::Subtree(names) => (true, names),
                Filter::Mailboxes(names) => (false, names),
                Filter::Personal | Filter::Subscribed => continue,
            };
            let i = match buckets
                .iter()
                .position(|(s, e, _)| *s == subtree && *e == group.events)
            {
                Some(i) => i,
                None => {
                    buckets.push((subtree, group.events, Vec::new()));
                    buckets.len() - 1
                }
            };
            if let Some((_, _, bucket)) = buckets.get_mut(i) {
                for name in names {
                    add_name(bucket, name, subtree, sep);
                }
            }
        }
        let named = buckets.iter().map(|(_, _, b)| b.len()).max().unwrap_or(0);
        let rooted = self
            .groups
            .iter()
            .any(|g| matches!(g.filter, Filter::Personal | Filter::Subscribed));
        named.max(usize::from(rooted))
    }
}

/// Adds a name to a filter's list as Dovecot's `cmd_notify_add_mailbox` does: duplicates
/// are dropped, and for a subtree a name below another is dropped (or replaces its
/// children).
fn add_name<'a>(names: &mut Vec<&'a str>, name: &'a str, subtree: bool, sep: char) {
    let below = |child: &str, parent: &str| {
        child
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with(sep))
    };
    if names.contains(&name) {
        return;
    }
    if subtree {
        if names.iter().any(|n| below(name, n)) {
            return;
        }
        names.retain(|n| !below(n, name));
    }
    names.push(name);
}

/// The NOTIFY command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    None,
    Set(NotifySet),
}

fn invalid() -> CommandError {
    CommandError::Bad("Invalid arguments.".into())
}

pub fn parse_notify(args: &[Arg], ctx: &ParseContext) -> Result<Notify, CommandError> {
    let Some(Arg::Atom(word)) = args.first() else {
        return Err(invalid());
    };
    if word.eq_ignore_ascii_case("NONE") {
        // Dovecot ignores whatever follows.
        return Ok(Notify::None);
    }
    if !word.eq_ignore_ascii_case("SET") {
        return Err(invalid());
    }
    let mut rest = &args[1..];
    let mut set = NotifySet::default();
    if let Some(Arg::Atom(a)) = rest.first() {
        if a.eq_ignore_ascii_case("STATUS") {
            set.status = true;
            rest = &rest[1..];
        }
    }
    for arg in rest {
        let Arg::List(group) = arg else {
            return Err(invalid());
        };
        let Some(Arg::Atom(filter)) = group.first() else {
            return Err(invalid());
        };
        let filter = filter.to_ascii_uppercase();
        let mut events = &group[1..];
        if filter == "SELECTED" || filter == "SELECTED-DELAYED" {
            if set.selected.is_some() {
                return Err(CommandError::Bad("Duplicate selected filter".into()));
            }
            let mut selected = parse_selected(events, ctx)?;
            selected.delayed = filter == "SELECTED-DELAYED";
            set.selected = Some(selected);
            continue;
        }
        let mut names = Vec::new();
        if filter == "SUBTREE" || filter == "MAILBOXES" {
            let Some(mailboxes) = events.first() else {
                return Err(invalid());
            };
            events = &events[1..];
            names = match mailboxes {
                Arg::List(list) if list.is_empty() => return Err(invalid()),
                Arg::List(list) => list
                    .iter()
                    .map(|a| a.as_astring().ok_or_else(invalid))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![other.as_astring().ok_or_else(invalid)?],
            }
            .into_iter()
            .map(|wire| mailbox_name(wire, ctx))
            .collect();
        }
        if let Some(Arg::Atom(a)) = events.first() {
            if a.eq_ignore_ascii_case("NONE") {
                // The default: nothing to add (even for a filter Dovecot does not know).
                continue;
            }
        }
        let Some(Arg::List(list)) = events.first() else {
            return Err(invalid());
        };
        if list.is_empty() {
            return Err(invalid());
        }
        let mut mask = Events::default();
        for event in list {
            mask.insert(parse_event(event)?);
        }
        let filter = match filter.as_str() {
            "INBOXES" | "PERSONAL" => Filter::Personal,
            "SUBSCRIBED" => Filter::Subscribed,
            "SUBTREE" => Filter::Subtree(names),
            "MAILBOXES" => Filter::Mailboxes(names),
            _ => return Err(invalid()),
        };
        set.groups.push(EventGroup {
            filter,
            events: mask,
        });
    }
    Ok(Notify::Set(set))
}

/// A mailbox name of a filter: decoded from mUTF-7 when it is valid (Dovecot takes the
/// name as given). The session puts it in storage's form (INBOX in any case).
fn mailbox_name(wire: &[u8], ctx: &ParseContext) -> String {
    decode_name(wire, ctx).unwrap_or_else(|_| String::from_utf8_lossy(wire).into_owned())
}

fn parse_event(arg: &Arg) -> Result<Events, CommandError> {
    match arg {
        Arg::Atom(name) => Events::lookup(name).ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// The events of SELECTED / SELECTED-DELAYED: `NONE`, or a list where MessageNew may be
/// followed by its fetch-att list.
fn parse_selected(events: &[Arg], ctx: &ParseContext) -> Result<SelectedEvents, CommandError> {
    let mut selected = SelectedEvents::default();
    match events {
        [Arg::Atom(a)] if a.eq_ignore_ascii_case("NONE") => return Ok(selected),
        [Arg::List(list)] if !list.is_empty() => {
            let mut i = 0;
            while let Some(arg) = list.get(i) {
                let event = parse_event(arg)?;
                selected.events.insert(event);
                if event == Events::MESSAGE_NEW {
                    if let Some(Arg::List(atts)) = list.get(i + 1) {
                        if atts.is_empty() {
                            return Err(invalid());
                        }
                        let items = parse_fetch_att_list(atts, ctx).map_err(CommandError::Bad)?;
                        selected.fetch = Some(items);
                        i += 1;
                    }
                }
                i += 1;
            }
        }
        _ => return Err(invalid()),
    }
    let new_or_expunge = Events(Events::MESSAGE_NEW.0 | Events::MESSAGE_EXPUNGE.0);
    if selected.events.intersects(new_or_expunge) && !selected.events.contains(new_or_expunge) {
        return Err(CommandError::Bad(
            "MessageNew and MessageExpunge must be together".into(),
        ));
    }
    let flag_events = Events(Events::FLAG_CHANGE.0 | Events::ANNOTATION_CHANGE.0);
    if selected.events.intersects(flag_events) && !selected.events.contains(Events::MESSAGE_EXPUNGE)
    {
        return Err(CommandError::Bad(
            "FlagChange requires MessageNew and MessageExpunge".into(),
        ));
    }
    Ok(selected)
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

    fn list(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn parse(args: Vec<Arg>) -> Result<Notify, CommandError> {
        parse_notify(&args, &ctx())
    }

    fn bad(text: &str) -> Result<Notify, CommandError> {
        Err(CommandError::Bad(text.into()))
    }

    #[test]
    fn none_and_empty_set() {
        assert_eq!(parse(vec![atom("none")]), Ok(Notify::None));
        assert_eq!(
            parse(vec![atom("SET")]),
            Ok(Notify::Set(NotifySet::default()))
        );
        assert_eq!(parse(vec![]), bad("Invalid arguments."));
        assert_eq!(parse(vec![atom("GET")]), bad("Invalid arguments."));
        assert_eq!(
            parse(vec![Arg::Quoted(b"SET".to_vec())]),
            bad("Invalid arguments.")
        );
    }

    #[test]
    fn selected_with_fetch_attributes() {
        let got = parse(vec![
            atom("SET"),
            atom("STATUS"),
            list(vec![
                atom("selected-delayed"),
                list(vec![
                    atom("MessageNew"),
                    list(vec![atom("UID"), atom("FLAGS")]),
                    atom("messageexpunge"),
                    atom("FlagChange"),
                ]),
            ]),
        ]);
        let Ok(Notify::Set(set)) = got else {
            panic!("{got:?}")
        };
        assert!(set.status);
        let selected = set.selected.unwrap();
        assert!(selected.delayed);
        assert_eq!(selected.fetch, Some(vec![FetchItem::Uid, FetchItem::Flags]));
        assert!(selected.events.contains(Events::FLAG_CHANGE));
        assert!(set.groups.is_empty());
    }

    #[test]
    fn selected_rules() {
        let sel = |events: Vec<Arg>| {
            parse(vec![
                atom("SET"),
                list(std::iter::once(atom("SELECTED")).chain(events).collect()),
            ])
        };
        assert_eq!(
            sel(vec![list(vec![atom("MessageNew")])]),
            bad("MessageNew and MessageExpunge must be together")
        );
        assert_eq!(
            sel(vec![list(vec![atom("FlagChange")])]),
            bad("FlagChange requires MessageNew and MessageExpunge")
        );
        assert_eq!(sel(vec![list(vec![])]), bad("Invalid arguments."));
        assert_eq!(sel(vec![]), bad("Invalid arguments."));
        assert_eq!(
            sel(vec![atom("NONE"), atom("NONE")]),
            bad("Invalid arguments.")
        );
        assert_eq!(
            sel(vec![list(vec![
                atom("MessageNew"),
                list(vec![]),
                atom("MessageExpunge")
            ])]),
            bad("Invalid arguments.")
        );
        assert!(matches!(
            sel(vec![list(vec![
                atom("MessageNew"),
                list(vec![atom("BOGUS")]),
                atom("MessageExpunge")
            ])]),
            Err(CommandError::Bad(t)) if t.starts_with("Invalid fetch-att list")
        ));
        assert!(sel(vec![atom("none")]).is_ok());
        let twice = parse(vec![
            atom("SET"),
            list(vec![atom("SELECTED"), atom("NONE")]),
            list(vec![atom("SELECTED-DELAYED"), atom("NONE")]),
        ]);
        assert_eq!(twice, bad("Duplicate selected filter"));
    }

    #[test]
    fn filters_and_events() {
        let got = parse(vec![
            atom("SET"),
            list(vec![
                atom("personal"),
                list(vec![atom("MessageNew"), atom("MailboxName")]),
            ]),
            list(vec![
                atom("SUBTREE"),
                list(vec![atom("inbox"), Arg::Quoted(b"a/b".to_vec())]),
                list(vec![atom("SubscriptionChange")]),
            ]),
            list(vec![atom("MAILBOXES"), atom("x"), atom("NONE")]),
            list(vec![atom("frobnicate"), atom("NONE")]),
            list(vec![
                atom("inboxes"),
                list(vec![atom("ServerMetadataChange")]),
            ]),
        ]);
        let Ok(Notify::Set(set)) = got else {
            panic!("{got:?}")
        };
        assert_eq!(set.groups.len(), 3);
        assert_eq!(set.groups[0].filter, Filter::Personal);
        assert_eq!(
            set.groups[1].filter,
            Filter::Subtree(vec!["inbox".into(), "a/b".into()])
        );
        assert_eq!(
            set.used_events().intersection(Events::UNSUPPORTED).names(),
            vec!["ServerMetadataChange"]
        );
        let one = |group: Vec<Arg>| parse(vec![atom("SET"), list(group)]);
        assert_eq!(
            one(vec![atom("frobnicate"), list(vec![atom("MessageNew")])]),
            bad("Invalid arguments.")
        );
        assert_eq!(
            one(vec![atom("personal"), list(vec![atom("Bogus")])]),
            bad("Invalid arguments.")
        );
        assert_eq!(
            one(vec![atom("personal"), list(vec![])]),
            bad("Invalid arguments.")
        );
        assert_eq!(
            one(vec![atom("subtree"), list(vec![]), atom("NONE")]),
            bad("Invalid arguments.")
        );
        assert_eq!(one(vec![atom("subtree")]), bad("Invalid arguments."));
        assert_eq!(
            parse(vec![atom("SET"), atom("personal")]),
            bad("Invalid arguments.")
        );
    }

    #[test]
    fn names_per_filter() {
        let names: Vec<Arg> = (0..=MAX_NAMES_PER_FILTER)
            .map(|i| atom(&format!("box{i}")))
            .collect();
        let set = |names: Vec<Arg>, kind: &str| {
            let Ok(Notify::Set(set)) = parse(vec![
                atom("SET"),
                list(vec![
                    atom(kind),
                    list(names),
                    list(vec![atom("MessageNew")]),
                ]),
            ]) else {
                panic!()
            };
            set
        };
        assert_eq!(
            set(names.clone(), "MAILBOXES").max_names('/'),
            MAX_NAMES_PER_FILTER + 1
        );
        // Duplicates and subtrees within subtrees count once.
        let same: Vec<Arg> = (0..200).map(|_| atom("a")).collect();
        assert_eq!(set(same, "MAILBOXES").max_names('/'), 1);
        let nested = vec![atom("a/b"), atom("a"), atom("a/c"), atom("b")];
        assert_eq!(set(nested, "SUBTREE").max_names('/'), 2);
    }
}
