//! NOTIFY (RFC 5465) as Dovecot 2.3's imap answers it: which updates about the selected
//! mailbox are sent (and how), and LIST/STATUS responses about other mailboxes as they
//! change, while idling and between commands.
//!
//! Dovecot learns of other mailboxes' changes from its mailbox list index; cote keeps the
//! state it last reported of every mailbox NOTIFY covers (names, subscriptions, STATUS
//! values) and reports the differences. Storage's watch wakes the session on this host's
//! changes; other hosts' are found every `mailbox_idle_check_interval`. A rename is
//! recognised by the mailbox GUID (`LIST ... ("OLDNAME" (old))`); otherwise a vanished name
//! is a deletion (`\NonExistent`) and a new one a creation.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::idle::NOTIFY_DELAY;
use super::{Disconnect, Reply, Session, Step, WaitInput, Wake};
use crate::imap::mail_session::{MailErrorKind, MailSession, MailboxStatus, NamespaceKind};
use crate::imap::parser::list::{List, ListReturn, ListSelection, StatusItems};
use crate::imap::parser::notify::{
    EventGroup, Events, Filter, Notify, NotifySet, MAX_NAMES_PER_FILTER,
};
use crate::imap::response::{Code, Status};

/// Advertised when `mailbox_list_index = yes` (Dovecot's condition).
pub const CAPABILITY: &str = "NOTIFY";

/// Dovecot's `CLIENT_IDLE_TIMEOUT_MSECS`: how long a session waits between commands for
/// notifications before the connection's own inactivity limit applies again.
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Which updates about the selected mailbox are sent (Dovecot's `notify_count_changes`,
/// `notify_flag_changes`, `notify_immediate_expunges`). Without NOTIFY: all of them, and
/// expunges where RFC 3501 allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Updates {
    /// EXISTS, RECENT and EXPUNGE (MessageNew/MessageExpunge).
    pub counts: bool,
    /// FETCH FLAGS and MODSEQ (FlagChange).
    pub flags: bool,
    /// SELECTED (not -DELAYED): expunges are sent after every command.
    pub immediate_expunges: bool,
    /// NOTIFY is in force (`delay-newmail` no longer applies).
    pub notify: bool,
}

impl Default for Updates {
    fn default() -> Self {
        Updates {
            counts: true,
            flags: true,
            immediate_expunges: false,
            notify: false,
        }
    }
}

/// One mailbox as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    separator: Option<char>,
    subscribed: bool,
    /// The mailbox GUID, when MailboxName is wanted for it (renames are told by it).
    guid: Option<String>,
    /// `None` when not selectable (or its STATUS failed).
    status: Option<MailboxStatus>,
}

/// The NOTIFY in force for non-selected mailboxes.
#[derive(Debug)]
pub(super) struct NotifyState {
    set: NotifySet,
    known: BTreeMap<String, Known>,
    /// The private namespace's separator (subtree names).
    separator: char,
    /// The prefixes of the shared and public namespaces: PERSONAL leaves their mailboxes
    /// out.
    other_prefixes: Vec<String>,
}

impl NotifyState {
    /// The events the client wants for a mailbox (of all the groups that cover it).
    fn wanted(&self, name: &str, subscribed: bool) -> Events {
        let mut events = Events::default();
        for group in &self.set.groups {
            if covers(group, name, subscribed, self.separator)
                && !(group.filter == Filter::Personal
                    && self
                        .other_prefixes
                        .iter()
                        .any(|p| name.starts_with(p.as_str())))
            {
                events.insert(group.events);
            }
        }
        events
    }
}

/// Whether an event group's filter covers a mailbox (Dovecot's `imap_notify_match_mailbox`).
fn covers(group: &EventGroup, name: &str, subscribed: bool, sep: char) -> bool {
    match &group.filter {
        // Every mailbox of the private namespaces (the caller leaves the others out).
        Filter::Personal => true,
        Filter::Subscribed => subscribed,
        Filter::Subtree(names) => names.iter().any(|n| {
            n.is_empty()
                || name
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(sep))
        }),
        Filter::Mailboxes(names) => names.iter().any(|n| n == name),
    }
}

/// The STATUS items of a mailbox's snapshot (its GUID tells renames).
const SNAPSHOT_ITEMS: StatusItems = StatusItems {
    messages: true,
    recent: false,
    uid_next: true,
    uid_validity: true,
    unseen: true,
    deleted: false,
    highest_modseq: true,
    size: false,
    x_size: false,
    x_guid: false,
};

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// NOTIFY NONE / NOTIFY SET.
    pub(super) fn notify(&mut self, notify: Notify) -> Step<Reply> {
        let mut set = match notify {
            Notify::None => NotifySet::default(),
            Notify::Set(set) => set,
        };
        let unsupported = set.used_events().intersection(Events::UNSUPPORTED);
        if !unsupported.is_empty() {
            let code = format!("BADEVENT {}", unsupported.names().join(" "));
            return Ok(Reply::no(
                Some(Code::Other(code)),
                "Unsupported NOTIFY events.",
            ));
        }
        let namespaces = self.mail.namespaces();
        let other_prefixes = namespaces
            .iter()
            .filter(|ns| ns.kind != NamespaceKind::Private && !ns.prefix.is_empty())
            .map(|ns| ns.prefix.clone())
            .collect();
        let separator = namespaces
            .iter()
            .find(|ns| ns.kind == NamespaceKind::Private)
            .and_then(|ns| ns.separator)
            .unwrap_or('/');
        if set.max_names(separator) > MAX_NAMES_PER_FILTER {
            return Ok(Reply::no(
                Some(Code::Other("NOTIFICATIONOVERFLOW".into())),
                "Too many mailbox names",
            ));
        }
        for group in &mut set.groups {
            if let Filter::Subtree(names) | Filter::Mailboxes(names) = &mut group.filter {
                for name in names.iter_mut() {
                    *name = self.mail.canonical_name(name);
                }
            }
        }
        let selected = set.selected.clone().unwrap_or_default();
        self.updates = Updates {
            counts: selected.events.contains(Events::MESSAGE_NEW),
            flags: selected.events.contains(Events::FLAG_CHANGE),
            immediate_expunges: set.selected.as_ref().is_some_and(|s| !s.delayed),
            notify: true,
        };
        self.notify_fetch = selected.fetch;
        self.notify_selected = set.selected.is_some();
        let status = set.status;
        let modseqs = set
            .used_events()
            .intersects(Events::FLAG_CHANGE.union(Events::ANNOTATION_CHANGE));
        if set.groups.is_empty() {
            self.notify = None;
            self.mail.notify_unwatch();
        } else {
            let mut state = NotifyState {
                set,
                known: BTreeMap::new(),
                separator,
                other_prefixes,
            };
            state.known = match self.look(&state) {
                Ok(known) => known,
                Err(e) => return Ok(Reply::mail_error(&e, false)),
            };
            if status {
                self.send_initial_status(&state, modseqs)?;
            }
            self.watch(&state);
            self.notify = Some(state);
        }
        Ok(Reply::ok("NOTIFY completed."))
    }

    /// `NOTIFY SET STATUS`: STATUS of each mailbox that wants message events, the selected
    /// one aside.
    fn send_initial_status(&mut self, state: &NotifyState, modseqs: bool) -> Step {
        let items = StatusItems {
            messages: true,
            uid_next: true,
            uid_validity: true,
            unseen: true,
            highest_modseq: modseqs,
            ..StatusItems::default()
        };
        if !state
            .set
            .groups
            .iter()
            .any(|g| g.events.intersects(Events::MESSAGE_EVENTS))
        {
            return Ok(());
        }
        for (name, known) in &state.known {
            let Some(values) = &known.status else {
                continue;
            };
            if self.mail.is_selected(name) || state.wanted(name, known.subscribed).is_empty() {
                continue;
            }
            self.send_status(name, &items, values)?;
        }
        Ok(())
    }

    /// After SELECT/EXAMINE: the new selected mailbox is watched too.
    pub(super) fn notify_rewatch(&mut self) {
        if let Some(state) = self.notify.take() {
            self.watch(&state);
            self.notify = Some(state);
        }
    }

    /// Watches the mailboxes known and the selected one.
    fn watch(&mut self, state: &NotifyState) {
        let mut names: Vec<String> = state.known.keys().cloned().collect();
        if let Some(view) = self.view.as_ref() {
            names.push(view.name.clone());
        }
        self.mail.notify_watch(&names);
    }

    /// The mailboxes NOTIFY covers as they are now.
    fn look(
        &mut self,
        state: &NotifyState,
    ) -> Result<BTreeMap<String, Known>, crate::imap::mail_session::MailError> {
        let request = List {
            lsub: false,
            reference: String::new(),
            patterns: vec!["*".into()],
            selection: ListSelection::default(),
            returns: ListReturn {
                subscribed: true,
                ..ListReturn::default()
            },
            extended: true,
        };
        let mut known = BTreeMap::new();
        for entry in self.mail.list(&request)? {
            let subscribed = entry.attributes.iter().any(|a| a == "\\Subscribed");
            let wanted = state.wanted(&entry.name, subscribed);
            if wanted.is_empty() {
                continue;
            }
            let guid = match state.known.get(&entry.name) {
                Some(Known {
                    guid: Some(guid), ..
                }) => Some(guid.clone()),
                _ if entry.selectable && wanted.contains(Events::MAILBOX_NAME) => {
                    self.mail.mailbox_guid(&entry.name)
                }
                _ => None,
            };
            let status = if entry.selectable {
                match self.mail.status(&entry.name, &SNAPSHOT_ITEMS) {
                    Ok(values) => Some(values),
                    Err(e) if e.kind == MailErrorKind::NotFound => continue,
                    Err(e) => {
                        log::error!("NOTIFY: STATUS {}: {e}", entry.name);
                        None
                    }
                }
            } else {
                None
            };
            known.insert(
                entry.name,
                Known {
                    separator: entry.separator,
                    subscribed,
                    guid,
                    status,
                },
            );
        }
        Ok(known)
    }

    /// Reports what changed in the mailboxes NOTIFY covers since the last look.
    pub(super) fn notify_check(&mut self) -> Step {
        let Some(mut state) = self.notify.take() else {
            return Ok(());
        };
        self.mail.notify_drain();
        let mut now = match self.look(&state) {
            Ok(now) => now,
            Err(e) => {
                self.notify = Some(state);
                let text = format!("NOTIFY error, some events may have got lost ({e})");
                return self.untagged(Status::No, None, &text);
            }
        };
        let result = self.report_changes(&state, &mut now);
        let renamed = now.keys().ne(state.known.keys());
        state.known = now;
        if renamed {
            self.watch(&state);
        }
        self.notify = Some(state);
        result
    }

    /// Reports the differences between what was known and `now`. A mailbox created since
    /// is kept with UIDVALIDITY 0 until its first change, as Dovecot's list index has it
    /// until the mailbox is first synced (that change's STATUS then includes UIDVALIDITY).
    fn report_changes(&mut self, state: &NotifyState, now: &mut BTreeMap<String, Known>) -> Step {
        let guid = |k: &Known| k.guid.clone();
        let gone: Vec<(&String, &Known)> = state
            .known
            .iter()
            .filter(|(n, _)| !now.contains_key(*n))
            .collect();
        let mut renamed_from: Vec<&String> = Vec::new();
        for (name, new) in now.iter_mut() {
            let wanted = state.wanted(name, new.subscribed);
            let Some(old) = state.known.get(name) else {
                let old_name = gone
                    .iter()
                    .find(|(_, k)| guid(k).is_some() && guid(k) == guid(new))
                    .map(|(n, _)| *n);
                match old_name {
                    Some(old_name) => renamed_from.push(old_name),
                    None => {
                        if let Some(status) = new.status.as_mut() {
                            status.uid_validity = 0;
                        }
                    }
                }
                if !wanted.contains(Events::MAILBOX_NAME) {
                    continue;
                }
                self.send_list(name, new.separator, false, old_name.map(String::as_str))?;
                continue;
            };
            if old.subscribed != new.subscribed && wanted.contains(Events::SUBSCRIPTION_CHANGE) {
                self.send_list(name, new.separator, new.subscribed, None)?;
            }
            if let (Some(before), Some(after)) = (&old.status, new.status.as_mut()) {
                let unchanged = MailboxStatus {
                    uid_validity: 0,
                    ..after.clone()
                } == *before;
                if before.uid_validity == 0 && unchanged {
                    after.uid_validity = 0;
                } else if !self.mail.is_selected(name) {
                    self.send_status_change(before, after, wanted, name)?;
                }
            }
        }
        for (name, old) in gone {
            if renamed_from.contains(&name)
                || !state
                    .wanted(name, old.subscribed)
                    .contains(Events::MAILBOX_NAME)
            {
                continue;
            }
            let mut line = b"* LIST (\\NonExistent) ".to_vec();
            super::commands::write_separator(&mut line, old.separator);
            line.push(b' ');
            self.names().append(&mut line, name);
            self.line(&line)?;
        }
        Ok(())
    }

    /// `* LIST () "sep" name [("OLDNAME" (old))]`, or `(\Subscribed)` for a subscription.
    /// Dovecot writes the flags its mailbox list index keeps, which for a created or
    /// renamed mailbox are none.
    fn send_list(
        &mut self,
        name: &str,
        separator: Option<char>,
        subscribed: bool,
        old_name: Option<&str>,
    ) -> Step {
        let attributes = if subscribed { "\\Subscribed" } else { "" };
        let mut line = format!("* LIST ({attributes}) ").into_bytes();
        super::commands::write_separator(&mut line, separator);
        line.push(b' ');
        let names = self.names();
        names.append(&mut line, name);
        if let Some(old) = old_name {
            line.extend_from_slice(b" (\"OLDNAME\" (");
            names.append(&mut line, old);
            line.extend_from_slice(b"))");
        }
        self.line(&line)
    }

    /// A STATUS for a mailbox whose messages changed, with the items Dovecot's
    /// `imap_notify_status` picks for what happened, when the client wants to hear of it.
    fn send_status_change(
        &mut self,
        before: &MailboxStatus,
        after: &MailboxStatus,
        wanted: Events,
        name: &str,
    ) -> Step {
        let uidvalidity = before.uid_validity != after.uid_validity;
        let added = after.uid_next.saturating_sub(before.uid_next);
        let appends = !uidvalidity && added > 0;
        let expunges = !uidvalidity && after.messages < before.messages.saturating_add(added);
        let seen = after.unseen != before.unseen;
        let modseq = after.highest_modseq != before.highest_modseq;
        let matched = (uidvalidity
            && wanted.intersects(
                Events::MESSAGE_NEW
                    .union(Events::MESSAGE_EXPUNGE)
                    .union(Events::FLAG_CHANGE),
            ))
            || (appends && wanted.contains(Events::MESSAGE_NEW))
            || (expunges && wanted.contains(Events::MESSAGE_EXPUNGE))
            || ((seen || modseq) && wanted.contains(Events::FLAG_CHANGE));
        if !matched {
            return Ok(());
        }
        let mut items = StatusItems {
            highest_modseq: self.enabled.condstore,
            ..StatusItems::default()
        };
        if uidvalidity || appends || expunges {
            items.uid_validity = uidvalidity;
            items.uid_next = true;
            items.messages = true;
            items.unseen = true;
        }
        if seen {
            items.unseen = true;
        }
        if items == StatusItems::default() {
            return Ok(());
        }
        self.send_status(name, &items, after)
    }

    /// Waits for the next command while NOTIFY is in force, sending what changes meanwhile
    /// (Dovecot sends NOTIFY's responses whenever they happen).
    pub(super) fn notify_wait(&mut self) -> Step {
        if !self.updates.notify || self.reader.has_buffered_line() {
            return Ok(());
        }
        let started = Instant::now();
        while started.elapsed() < WAIT_LIMIT {
            let check = self.mail.idle_check_interval();
            let wake = self.wait_notify(check)?;
            match wake {
                Wake::Input => return Ok(()),
                Wake::Change => {
                    let delay = self.wait_input_only(NOTIFY_DELAY)?;
                    if delay == Wake::Input {
                        return Ok(());
                    }
                }
                Wake::Timeout => {}
            }
            self.notify_updates()?;
            self.flush()?;
        }
        Ok(())
    }

    /// What happened since the last look, between commands: the selected mailbox's changes
    /// (with SELECTED or SELECTED-DELAYED; expunges only with SELECTED) and the other
    /// mailboxes'.
    fn notify_updates(&mut self) -> Step {
        self.mail.notify_drain();
        if self.view.is_some() && self.notify_selected {
            let expunges = self.updates.immediate_expunges;
            self.sync(expunges, true, false)?;
        }
        if self.notify.is_some() {
            self.notify_check()?;
        }
        Ok(())
    }

    /// Waits for input or for a change NOTIFY (or, without it, the selected mailbox)
    /// watches.
    pub(super) fn wait_notify(&mut self, timeout: Duration) -> Step<Wake> {
        let fd = if self.notify.is_some() {
            self.mail.notify_fd()
        } else {
            None
        };
        let result = match fd {
            Some(fd) => self.reader.get_ref().wait_input(timeout, Some(fd)),
            None => {
                let fd = self.mail.change_fd();
                self.reader.get_ref().wait_input(timeout, fd)
            }
        };
        result.map_err(|e| Disconnect::ReadFailed(crate::errtext::os_error_text(&e)))
    }

    fn wait_input_only(&mut self, timeout: Duration) -> Step<Wake> {
        self.reader
            .get_ref()
            .wait_input(timeout, None)
            .map_err(|e| Disconnect::ReadFailed(crate::errtext::os_error_text(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(filter: Filter) -> EventGroup {
        EventGroup {
            filter,
            events: Events::MESSAGE_NEW,
        }
    }

    #[test]
    fn filters_cover_mailboxes_as_dovecot_matches_them() {
        let subtree = group(Filter::Subtree(vec!["a/b".into()]));
        assert!(covers(&subtree, "a/b", false, '/'));
        assert!(covers(&subtree, "a/b/c", false, '/'));
        assert!(!covers(&subtree, "a/bc", false, '/'));
        assert!(!covers(&subtree, "a", false, '/'));
        let exact = group(Filter::Mailboxes(vec!["a".into()]));
        assert!(covers(&exact, "a", false, '/') && !covers(&exact, "a/b", false, '/'));
        let subscribed = group(Filter::Subscribed);
        assert!(covers(&subscribed, "x", true, '/') && !covers(&subscribed, "x", false, '/'));
        let state = NotifyState {
            set: NotifySet {
                groups: vec![group(Filter::Personal)],
                ..NotifySet::default()
            },
            known: BTreeMap::new(),
            separator: '/',
            other_prefixes: vec!["shared/".into()],
        };
        assert_eq!(state.wanted("INBOX", false), Events::MESSAGE_NEW);
        assert!(state.wanted("shared/bob/INBOX", false).is_empty());
    }
}
