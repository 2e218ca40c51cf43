//! `FakeMailSession`: an in-memory test double of the storage side of an IMAP session
//! (`cote::imap::mail_session::MailSession`), for the session tests only. It keeps mailboxes
//! and messages in memory and behaves, for the fixture mailbox of `t/imap/session/mailbox`, as
//! Dovecot 2.3's Maildir storage answered the probe that recorded `t/imap/session/*.session`.
//! It is not storage: no files, no concurrency, no durability.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use cote::imap::flags::FlagList;
use cote::imap::mail_session::{
    AppendResult, CopyResult, FlagChange, ListEntry, MailError, MailErrorKind, MailMessage,
    MailSession, MailboxChanges, MailboxStatus, Namespace, NamespaceKind, SelectedMailbox,
    StoreResult, ViewTotals,
};
use cote::imap::parser::append::MessageInfo;
use cote::imap::parser::list::{List, StatusItems};
use cote::imap::parser::store::StoreMode;
use cote::index::uidset::UidSet;
use cote::mail::date::parse_imap_datetime;
use cote::mail::Message;
use cote::storage::flags::MailFlags;

/// The modseq every fixture message has (what Dovecot reported for the probe's mailbox).
pub const FIXTURE_MODSEQ: u64 = 8;
/// A fixed "now" for save dates (the messages were saved at this time).
const SAVED_AT: i64 = 1_700_000_000;

#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub uid: u32,
    pub flags: FlagList,
    pub internal_date: i64,
    pub modseq: u64,
    pub message: Message,
}

#[derive(Debug, Clone)]
pub struct FakeMailbox {
    pub name: String,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub messages: Vec<FakeMessage>,
    /// Keywords in the order they were first used.
    pub keywords: Vec<String>,
    pub highest_modseq: u64,
    /// A CONDSTORE session has used the mailbox (SELECT then reports HIGHESTMODSEQ to all).
    pub modseq_tracking: bool,
    /// `\Recent` messages no session has claimed yet.
    pub unclaimed_recent: UidSet,
}

impl FakeMailbox {
    fn new(name: &str, uid_validity: u32) -> FakeMailbox {
        FakeMailbox {
            name: name.to_string(),
            uid_validity,
            uid_next: 1,
            messages: Vec::new(),
            keywords: Vec::new(),
            highest_modseq: 1,
            modseq_tracking: false,
            unclaimed_recent: UidSet::new(),
        }
    }

    fn add(&mut self, flags: FlagList, internal_date: i64, data: Vec<u8>) -> u32 {
        for k in &flags.keywords {
            if !self.keywords.contains(k) {
                self.keywords.push(k.clone());
            }
        }
        let uid = self.uid_next;
        self.uid_next += 1;
        self.highest_modseq += 1;
        self.messages.push(FakeMessage {
            uid,
            flags,
            internal_date,
            modseq: self.highest_modseq,
            message: Message::parse(data),
        });
        self.unclaimed_recent.insert(uid);
        uid
    }
}

/// An APPEND in progress.
#[derive(Debug, Default)]
struct AppendTx {
    mailbox: String,
    done: Vec<(MessageInfo, Vec<u8>)>,
    current: Option<(MessageInfo, Vec<u8>)>,
}

#[derive(Debug)]
struct Selected {
    name: String,
    read_only: bool,
    /// Changes others made, waiting for `sync`.
    changes: MailboxChanges,
}

/// A change another session makes to the selected mailbox.
#[derive(Debug, Clone)]
pub enum External {
    Flags(u32, MailFlags),
    Expunge(u32),
    Append(Vec<u8>),
}

/// The test double.
#[derive(Debug)]
pub struct FakeMailSession {
    /// In Dovecot's listing order for the fixture.
    pub mailboxes: Vec<FakeMailbox>,
    pub subscriptions: BTreeSet<String>,
    selected: Option<Selected>,
    append: Option<AppendTx>,
    next_uid_validity: u32,
    /// Changes made "by others" just before the n-th `sync` (counted from 1).
    scheduled: Vec<(usize, External)>,
    syncs: usize,
    condstore: bool,
}

impl FakeMailSession {
    /// The probe's mailboxes: INBOX with the fixture messages, and `Entwürfe`, `Archive/2023`
    /// (below the name-only `Archive`), `Trash` and `Sent`, in the order Dovecot listed them.
    pub fn fixture(dir: &Path) -> FakeMailSession {
        let mut inbox = FakeMailbox::new("INBOX", 1_700_000_001);
        let index = std::fs::read_to_string(dir.join("index")).expect("fixture index");
        for line in index
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut fields = line.split('|');
            let (Some(name), Some(flags), Some(date)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("bad fixture line {line:?}");
            };
            let mut list = FlagList::default();
            for word in flags.split_whitespace() {
                match cote::imap::flags::system_flag(word) {
                    Some(flag) => list.system.insert(flag),
                    None => list.keywords.push(word.to_string()),
                }
            }
            let (internal, _) = parse_imap_datetime(date.as_bytes()).expect("fixture date");
            let raw = std::fs::read(dir.join(name)).expect("fixture message");
            // The probe APPENDed the messages with CRLF line ends.
            let text = String::from_utf8_lossy(&raw)
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            inbox.add(list, internal, text.into_bytes());
        }
        for m in &mut inbox.messages {
            m.modseq = FIXTURE_MODSEQ;
        }
        inbox.highest_modseq = FIXTURE_MODSEQ;
        let mut mailboxes = vec![FakeMailbox::new("Entwürfe", 1_700_000_002)];
        mailboxes.push(FakeMailbox::new("Archive/2023", 1_700_000_003));
        mailboxes.push(FakeMailbox::new("Trash", 1_700_000_004));
        mailboxes.push(FakeMailbox::new("Sent", 1_700_000_005));
        mailboxes.push(inbox);
        FakeMailSession {
            mailboxes,
            subscriptions: BTreeSet::new(),
            selected: None,
            append: None,
            next_uid_validity: 1_700_000_100,
            scheduled: Vec::new(),
            syncs: 0,
            condstore: false,
        }
    }

    /// Another session makes `change` just before the session's `sync`-th sync.
    pub fn schedule(&mut self, sync: usize, change: External) {
        self.scheduled.push((sync, change));
    }

    fn find(&self, name: &str) -> Option<usize> {
        let name = canonical(name);
        self.mailboxes.iter().position(|m| m.name == name)
    }

    fn selected_index(&self) -> Result<usize, MailError> {
        let selected = self
            .selected
            .as_ref()
            .ok_or_else(|| MailError::new(MailErrorKind::NotPossible, "No mailbox selected"))?;
        self.find(&selected.name)
            .ok_or_else(|| MailError::new(MailErrorKind::NotFound, "Mailbox was deleted"))
    }

    /// Another session changes a message's flags.
    fn external_flags(&mut self, uid: u32, flags: MailFlags) {
        let Ok(i) = self.selected_index() else { return };
        let mailbox = &mut self.mailboxes[i];
        mailbox.highest_modseq += 1;
        let modseq = mailbox.highest_modseq;
        if let Some(m) = mailbox.messages.iter_mut().find(|m| m.uid == uid) {
            m.flags.system = flags;
            m.modseq = modseq;
        }
        if let Some(selected) = &mut self.selected {
            selected.changes.flags_changed.insert(uid);
        }
    }

    /// Another session expunges a message.
    fn external_expunge(&mut self, uid: u32) {
        let Ok(i) = self.selected_index() else { return };
        self.mailboxes[i].messages.retain(|m| m.uid != uid);
        if let Some(selected) = &mut self.selected {
            selected.changes.expunged.insert(uid);
        }
    }

    /// Another session delivers a message to the selected mailbox.
    fn external_append(&mut self, data: &[u8]) -> u32 {
        let Ok(i) = self.selected_index() else {
            return 0;
        };
        let uid = self.mailboxes[i].add(FlagList::default(), SAVED_AT, data.to_vec());
        if let Some(selected) = &mut self.selected {
            selected.changes.new.push(uid);
            selected.changes.last_uid = uid;
        }
        uid
    }
}

/// INBOX in any case is INBOX.
fn canonical(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        name.to_string()
    }
}

/// IMAP LIST matching: `*` anything, `%` anything but the separator.
fn glob(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| glob(rest, &name[i..])),
        Some(('%', rest)) => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != '/')
            .any(|i| glob(rest, &name[i..])),
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

pub struct FakeMessageRef<'a> {
    message: &'a mut FakeMessage,
    keyword_order: &'a [String],
}

impl MailMessage for FakeMessageRef<'_> {
    fn uid(&self) -> u32 {
        self.message.uid
    }
    fn flags(&mut self) -> Result<FlagList, MailError> {
        let mut flags = self.message.flags.clone();
        let order = |k: &String| self.keyword_order.iter().position(|o| o == k);
        flags.keywords.sort_by_key(order);
        Ok(flags)
    }
    fn modseq(&mut self) -> Result<u64, MailError> {
        Ok(self.message.modseq)
    }
    fn internal_date(&mut self) -> Result<i64, MailError> {
        Ok(self.message.internal_date)
    }
    fn save_date(&mut self) -> Result<Option<i64>, MailError> {
        Ok(Some(SAVED_AT))
    }
    fn virtual_size(&mut self) -> Result<u64, MailError> {
        Ok(self.message.message.virtual_size())
    }
    fn guid(&mut self) -> Result<String, MailError> {
        Ok(format!("fake-guid-{}", self.message.uid))
    }
    fn parsed(&mut self) -> Result<&Message, MailError> {
        Ok(&self.message.message)
    }
}

impl MailSession for FakeMailSession {
    type Message<'a> = FakeMessageRef<'a>;

    fn namespaces(&self) -> Vec<Namespace> {
        vec![Namespace {
            prefix: String::new(),
            separator: Some('/'),
            kind: NamespaceKind::Private,
        }]
    }

    fn canonical_name(&self, name: &str) -> String {
        match name.get(..5) {
            Some(head) if head.eq_ignore_ascii_case("INBOX") => {
                let tail = &name[5..];
                if tail.is_empty() || tail.starts_with('/') {
                    return format!("INBOX{tail}");
                }
                name.to_string()
            }
            _ => name.to_string(),
        }
    }

    fn list(&mut self, request: &List) -> Result<Vec<ListEntry>, MailError> {
        if !request.extended && !request.lsub && request.patterns.iter().all(String::is_empty) {
            return Ok(vec![ListEntry {
                name: String::new(),
                separator: Some('/'),
                attributes: vec!["\\Noselect".into()],
                child_info: Vec::new(),
                selectable: false,
            }]);
        }
        // Every name with the parents that exist only as names.
        let mut names: Vec<(String, bool)> = Vec::new();
        for mailbox in &self.mailboxes {
            let mut parent = String::new();
            let parts: Vec<&str> = mailbox.name.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                if !parent.is_empty() {
                    parent.push('/');
                }
                parent.push_str(part);
                if !names.iter().any(|(n, _)| *n == parent) && self.find(&parent).is_none() {
                    names.push((parent.clone(), false));
                }
            }
            names.push((mailbox.name.clone(), true));
        }
        let mut entries = Vec::new();
        for (name, exists) in &names {
            let chars: Vec<char> = name.chars().collect();
            let matched = request.patterns.iter().any(|p| {
                let pattern: Vec<char> = format!("{}{p}", request.reference).chars().collect();
                glob(&pattern, &chars)
            });
            let subscribed = self.subscriptions.contains(name);
            if !matched
                || ((request.lsub || request.selection.subscribed) && !subscribed)
                || request.selection.special_use
            {
                continue;
            }
            let has_children = names
                .iter()
                .any(|(n, _)| n.starts_with(&format!("{name}/")));
            let mut attributes = Vec::new();
            if !exists {
                attributes.push(
                    if request.extended {
                        "\\NonExistent"
                    } else {
                        "\\Noselect"
                    }
                    .to_string(),
                );
            }
            let children = if request.lsub {
                request.returns.children
            } else {
                !request.extended || request.returns.children
            };
            if children {
                attributes.push(
                    if has_children {
                        "\\HasChildren"
                    } else {
                        "\\HasNoChildren"
                    }
                    .to_string(),
                );
            }
            if subscribed && (request.returns.subscribed || request.selection.subscribed) {
                attributes.push("\\Subscribed".into());
            }
            entries.push(ListEntry {
                name: name.clone(),
                separator: Some('/'),
                attributes,
                child_info: Vec::new(),
                selectable: *exists,
            });
        }
        Ok(entries)
    }

    fn create(&mut self, name: &str) -> Result<(), MailError> {
        let name = canonical(name.strip_suffix('/').unwrap_or(name));
        if name.is_empty() {
            return Err(MailError::new(
                MailErrorKind::Params,
                "Invalid mailbox name: Name is empty",
            ));
        }
        if self.find(&name).is_some() {
            return Err(MailError::new(
                MailErrorKind::Exists,
                "Mailbox already exists",
            ));
        }
        self.next_uid_validity += 1;
        self.mailboxes
            .push(FakeMailbox::new(&name, self.next_uid_validity));
        Ok(())
    }

    fn delete(&mut self, name: &str) -> Result<(), MailError> {
        let i = self
            .find(name)
            .ok_or_else(|| MailError::mailbox_not_found(name))?;
        self.mailboxes.remove(i);
        Ok(())
    }

    /// Dovecot's Maildir rules: INBOX cannot be renamed; children move along, and a name
    /// that is only a parent of others can be renamed too.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), MailError> {
        if from.eq_ignore_ascii_case("INBOX") {
            return Err(MailError::new(
                MailErrorKind::NotPossible,
                "Renaming INBOX isn't supported",
            ));
        }
        let (from, to) = (canonical(from), canonical(to));
        let children = format!("{from}/");
        let moving: Vec<usize> = (0..self.mailboxes.len())
            .filter(|&i| {
                let name = &self.mailboxes[i].name;
                *name == from || name.starts_with(&children)
            })
            .collect();
        if moving.is_empty() {
            return Err(MailError::mailbox_not_found(&from));
        }
        if self.find(&to).is_some() {
            return Err(MailError::new(
                MailErrorKind::Exists,
                "Target mailbox already exists",
            ));
        }
        for i in moving {
            let name = &mut self.mailboxes[i].name;
            *name = format!("{to}{}", &name[from.len()..]);
        }
        Ok(())
    }

    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), MailError> {
        if subscribed {
            self.subscriptions.insert(canonical(name));
        } else {
            self.subscriptions.remove(&canonical(name));
        }
        Ok(())
    }

    fn status(&mut self, name: &str, _items: &StatusItems) -> Result<MailboxStatus, MailError> {
        let i = self
            .find(name)
            .ok_or_else(|| MailError::mailbox_not_found(name))?;
        let mailbox = &self.mailboxes[i];
        Ok(MailboxStatus {
            messages: mailbox.messages.len() as u32,
            recent: mailbox.unclaimed_recent.len() as u32,
            uid_next: mailbox.uid_next,
            uid_validity: mailbox.uid_validity,
            unseen: mailbox
                .messages
                .iter()
                .filter(|m| !m.flags.system.contains(MailFlags::SEEN))
                .count() as u32,
            deleted: mailbox
                .messages
                .iter()
                .filter(|m| m.flags.system.contains(MailFlags::DELETED))
                .count() as u32,
            highest_modseq: mailbox.highest_modseq,
            size: mailbox
                .messages
                .iter()
                .map(|m| m.message.virtual_size())
                .sum(),
            guid: format!("fake-mailbox-guid-{}", mailbox.uid_validity),
        })
    }

    fn enable_condstore(&mut self) {
        self.condstore = true;
        let selected = self.selected.as_ref().map(|s| s.name.clone());
        if let Some(i) = selected.and_then(|name| self.find(&name)) {
            self.mailboxes[i].modseq_tracking = true;
        }
    }

    fn select(&mut self, name: &str, read_only: bool) -> Result<SelectedMailbox, MailError> {
        self.selected = None;
        let i = self
            .find(name)
            .ok_or_else(|| MailError::mailbox_not_found(name))?;
        let mailbox = &mut self.mailboxes[i];
        mailbox.modseq_tracking |= self.condstore;
        let recent = if read_only {
            mailbox.unclaimed_recent.clone()
        } else {
            std::mem::take(&mut mailbox.unclaimed_recent)
        };
        let selected = SelectedMailbox {
            uids: mailbox.messages.iter().map(|m| m.uid).collect(),
            recent,
            first_unseen_uid: mailbox
                .messages
                .iter()
                .find(|m| !m.flags.system.contains(MailFlags::SEEN))
                .map(|m| m.uid),
            keywords: mailbox.keywords.clone(),
            permanent_keywords: true,
            allow_new_keywords: true,
            denied_flags: MailFlags::empty(),
            read_only,
            uid_validity: mailbox.uid_validity,
            uid_next: mailbox.uid_next,
            highest_modseq: Some(mailbox.highest_modseq),
            modseq_tracking: mailbox.modseq_tracking,
        };
        self.selected = Some(Selected {
            name: mailbox.name.clone(),
            read_only,
            changes: MailboxChanges::default(),
        });
        Ok(selected)
    }

    fn close(&mut self, expunge: bool) -> Result<UidSet, MailError> {
        let expunged = if expunge {
            self.expunge(None)?
        } else {
            UidSet::new()
        };
        self.selected = None;
        Ok(expunged)
    }

    fn is_selected(&self, name: &str) -> bool {
        self.selected
            .as_ref()
            .is_some_and(|s| s.name == canonical(name))
    }

    fn is_selected_by_name(&self, name: &str) -> bool {
        self.selected.as_ref().is_some_and(|s| {
            s.name == name || (s.name == "INBOX" && name.eq_ignore_ascii_case("INBOX"))
        })
    }

    fn sync(&mut self) -> Result<MailboxChanges, MailError> {
        self.syncs += 1;
        let due: Vec<External> = self
            .scheduled
            .iter()
            .filter(|(at, _)| *at == self.syncs)
            .map(|(_, change)| change.clone())
            .collect();
        for change in due {
            match change {
                External::Flags(uid, flags) => self.external_flags(uid, flags),
                External::Expunge(uid) => self.external_expunge(uid),
                External::Append(data) => {
                    self.external_append(&data);
                }
            }
        }
        Ok(self
            .selected
            .as_mut()
            .map(|s| std::mem::take(&mut s.changes))
            .unwrap_or_default())
    }

    /// Others' changes happen at `sync` here, so the messages are as the last sync left
    /// them (one expunged meanwhile is left out).
    fn view_totals(&mut self, uids: &[u32]) -> Result<ViewTotals, MailError> {
        let i = self.selected_index()?;
        let mut totals = ViewTotals::default();
        for m in self.mailboxes[i]
            .messages
            .iter()
            .filter(|m| uids.contains(&m.uid))
        {
            if !m.flags.system.contains(MailFlags::SEEN) {
                totals.unseen += 1;
            }
            if m.flags.system.contains(MailFlags::DELETED) {
                totals.deleted += 1;
            }
            totals.size += m.message.virtual_size();
        }
        Ok(totals)
    }

    fn keywords(&self) -> Vec<String> {
        self.selected_index()
            .map(|i| self.mailboxes[i].keywords.clone())
            .unwrap_or_default()
    }

    fn highest_modseq(&self) -> u64 {
        self.selected_index()
            .map(|i| self.mailboxes[i].highest_modseq)
            .unwrap_or(0)
    }

    fn message(&mut self, uid: u32) -> Result<FakeMessageRef<'_>, MailError> {
        let i = self.selected_index()?;
        let mailbox = &mut self.mailboxes[i];
        let message = mailbox
            .messages
            .iter_mut()
            .find(|m| m.uid == uid)
            .ok_or_else(|| MailError::new(MailErrorKind::Expunged, "Message was expunged"))?;
        Ok(FakeMessageRef {
            message,
            keyword_order: &mailbox.keywords,
        })
    }

    fn store(&mut self, uids: &UidSet, change: &FlagChange) -> Result<StoreResult, MailError> {
        let i = self.selected_index()?;
        let mailbox = &mut self.mailboxes[i];
        for k in &change.flags.keywords {
            if !mailbox.keywords.contains(k) {
                mailbox.keywords.push(k.clone());
            }
        }
        let mut result = StoreResult::default();
        let next_modseq = mailbox.highest_modseq + 1;
        for message in mailbox.messages.iter_mut().filter(|m| uids.contains(m.uid)) {
            if change
                .unchanged_since
                .is_some_and(|max| message.modseq > max)
            {
                result.modified.insert(message.uid);
                continue;
            }
            let before = message.flags.clone();
            let flags = &mut message.flags;
            match change.mode {
                StoreMode::Replace => {
                    flags.system = change.flags.system;
                    flags.keywords = change.flags.keywords.clone();
                }
                StoreMode::Add => {
                    flags.system.insert(change.flags.system);
                    for k in &change.flags.keywords {
                        if !flags.keywords.contains(k) {
                            flags.keywords.push(k.clone());
                        }
                    }
                }
                StoreMode::Remove => {
                    flags.system.remove(change.flags.system);
                    flags
                        .keywords
                        .retain(|k| !change.flags.keywords.contains(k));
                }
            }
            let mut sorted_before = before.keywords.clone();
            sorted_before.sort();
            let mut sorted_after = flags.keywords.clone();
            sorted_after.sort();
            if before.system != flags.system || sorted_before != sorted_after {
                message.modseq = next_modseq;
                result.changed.insert(message.uid);
            }
        }
        if !result.changed.is_empty() {
            mailbox.highest_modseq = next_modseq;
        }
        Ok(result)
    }

    fn expunge(&mut self, uids: Option<&UidSet>) -> Result<UidSet, MailError> {
        let i = self.selected_index()?;
        if self.selected.as_ref().is_some_and(|s| s.read_only) {
            return Ok(UidSet::new());
        }
        let mailbox = &mut self.mailboxes[i];
        let expunged: UidSet = mailbox
            .messages
            .iter()
            .filter(|m| m.flags.system.contains(MailFlags::DELETED))
            .filter(|m| uids.is_none_or(|set| set.contains(m.uid)))
            .map(|m| m.uid)
            .collect();
        mailbox.messages.retain(|m| !expunged.contains(m.uid));
        if !expunged.is_empty() {
            mailbox.highest_modseq += 1;
        }
        Ok(expunged)
    }

    fn copy(&mut self, uids: &UidSet, to: &str, moving: bool) -> Result<CopyResult, MailError> {
        let from = self.selected_index()?;
        let to_index = self
            .find(to)
            .ok_or_else(|| MailError::mailbox_not_found(to))?;
        let copies: Vec<FakeMessage> = self.mailboxes[from]
            .messages
            .iter()
            .filter(|m| uids.contains(m.uid))
            .cloned()
            .collect();
        let mut result = CopyResult {
            uid_validity: self.mailboxes[to_index].uid_validity,
            destination_is_trash: self.mailboxes[to_index].name == "Trash",
            ..CopyResult::default()
        };
        for m in copies {
            let uid = self.mailboxes[to_index].add(
                m.flags.clone(),
                m.internal_date,
                m.message.data().to_vec(),
            );
            result.source.insert(m.uid);
            result.destination.push(uid);
            if self.is_selected(to) {
                // Copied by this session: \Recent here.
                if let Some(selected) = &mut self.selected {
                    selected.changes.new.push(uid);
                    selected.changes.last_uid = uid;
                    selected.changes.new_recent.insert(uid);
                }
                let unclaimed = &mut self.mailboxes[to_index].unclaimed_recent;
                *unclaimed = unclaimed.iter().filter(|&u| u != uid).collect();
            }
        }
        if moving {
            self.mailboxes[from]
                .messages
                .retain(|m| !result.source.contains(m.uid));
        }
        Ok(result)
    }

    fn check(&mut self) -> Result<(), MailError> {
        Ok(())
    }

    fn append_begin(&mut self, mailbox: &str) -> Result<(), MailError> {
        self.find(mailbox)
            .ok_or_else(|| MailError::mailbox_not_found(mailbox))?;
        self.append = Some(AppendTx {
            mailbox: canonical(mailbox),
            ..AppendTx::default()
        });
        Ok(())
    }

    fn append_message(&mut self, info: &MessageInfo) -> Result<(), MailError> {
        let tx = self.append.as_mut().ok_or_else(no_append)?;
        tx.current = Some((info.clone(), Vec::new()));
        Ok(())
    }

    fn append_data(&mut self, data: &mut dyn Read, _binary: bool) -> Result<(), MailError> {
        let tx = self.append.as_mut().ok_or_else(no_append)?;
        let (_, buf) = tx.current.as_mut().ok_or_else(no_append)?;
        data.read_to_end(buf)
            .map_err(|e| MailError::new(MailErrorKind::Temp, e.to_string()))?;
        Ok(())
    }

    fn append_url(&mut self, url: &[u8]) -> Result<u64, MailError> {
        Err(MailError::new(
            MailErrorKind::NotPossible,
            format!(
                "[BADURL {}] CATENATE URLs are not supported by the test double",
                String::from_utf8_lossy(url)
            ),
        ))
    }

    fn append_message_end(&mut self) -> Result<(), MailError> {
        let tx = self.append.as_mut().ok_or_else(no_append)?;
        let current = tx.current.take().ok_or_else(no_append)?;
        tx.done.push(current);
        Ok(())
    }

    fn append_commit(&mut self) -> Result<AppendResult, MailError> {
        let tx = self.append.take().ok_or_else(no_append)?;
        let i = self
            .find(&tx.mailbox)
            .ok_or_else(|| MailError::mailbox_not_found(&tx.mailbox))?;
        let mut result = AppendResult {
            uid_validity: self.mailboxes[i].uid_validity,
            uids: Vec::new(),
        };
        let selected = self.is_selected(&tx.mailbox);
        for (info, data) in tx.done {
            let date = info.date.map_or(SAVED_AT, |(ts, _)| ts);
            let uid = self.mailboxes[i].add(info.flags, date, data);
            result.uids.push(uid);
            if selected {
                if let Some(s) = &mut self.selected {
                    s.changes.new.push(uid);
                    s.changes.new_recent.insert(uid);
                    self.mailboxes[i].unclaimed_recent = self.mailboxes[i]
                        .unclaimed_recent
                        .iter()
                        .filter(|&u| u != uid)
                        .collect();
                }
            }
        }
        Ok(result)
    }

    fn append_abort(&mut self) {
        self.append = None;
    }
}

fn no_append() -> MailError {
    MailError::new(MailErrorKind::NotPossible, "no APPEND in progress")
}
